#!/usr/bin/env python3
"""Every line of a --format falco output, checked field by field against what Falcosidekick
decodes (its types.FalcoPayload): uuid (string, optional), output (string), priority (a
types.Priority name), rule (string), time (time.Time: RFC 3339), output_fields
(map[string]interface{}), source (string), tags ([]string), hostname (string).

usage: falcosidekick.py FILE   prints one line per bad event; exit 1 if any (or none at all).
"""
import json
import re
import sys

# Falcosidekick's types.Priority accepts these names (case-insensitive) and "info".
PRIORITIES = {"emergency", "alert", "critical", "error", "warning", "notice",
              "informational", "info", "debug"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
FIELDS = {"output": str, "priority": str, "rule": str, "time": str, "output_fields": dict,
          "source": str, "tags": list, "hostname": str}


def bad_event(e):
    if not isinstance(e, dict):
        return "not an object"
    for k, t in FIELDS.items():
        if k not in e:
            return "missing " + k
        if not isinstance(e[k], t):
            return "%s is %s, not %s" % (k, type(e[k]).__name__, t.__name__)
    if "uuid" in e and not isinstance(e["uuid"], str):
        return "uuid not a string"
    if e["priority"].lower() not in PRIORITIES:
        return "priority %r is not one Falcosidekick knows" % e["priority"]
    if not RFC3339.match(e["time"]):
        return "time %r is not RFC 3339" % e["time"]
    if not all(isinstance(t, str) for t in e["tags"]):
        return "a tag is not a string"
    for k, v in e["output_fields"].items():
        if not re.match(r"^[a-z_]+(\.[a-zA-Z0-9_\[\]]+)+$", k):
            return "output_fields key %r is not a field name" % k
        if isinstance(v, dict):
            return "output_fields[%r] is an object" % k
        if isinstance(v, list) and not all(isinstance(x, (str, int, float, bool)) for x in v):
            return "output_fields[%r] holds a non-scalar" % k
    return None


def main():
    n = bad = 0
    for line in open(sys.argv[1], "rb"):
        line = line.strip()
        if not line:
            continue
        n += 1
        try:
            why = bad_event(json.loads(line.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as err:
            why = "not JSON: %s" % err
        if why:
            bad += 1
            print("event %d: %s" % (n, why))
    print("%d events, %d bad" % (n, bad))
    sys.exit(1 if bad or not n else 0)


if __name__ == "__main__":
    main()
