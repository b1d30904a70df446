#!/usr/bin/env python3
"""Strict RFC 5424 check of keywatch's syslog lines (one message per line), MSG must be JSON.

usage: rfc5424.py FILE [--octet-counted]   prints one line per bad message; exit 1 if any.
With --octet-counted, FILE is an RFC 6587 stream ("LEN SP MSG" repeated).
"""
import json
import re
import sys

PRINTUS = rb"[\x21-\x7e]"
HEADER = re.compile(
    rb"<(\d{1,3})>1 "
    rb"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) "
    rb"(" + PRINTUS + rb"{1,255}) (" + PRINTUS + rb"{1,48}) (" + PRINTUS + rb"{1,128}) ("
    + PRINTUS + rb"{1,32}) "
)


def sd_end(b, i):
    """Index after the structured data starting at b[i], or -1."""
    if b[i:i + 1] == b"-":
        return i + 1
    if b[i:i + 1] != b"[":
        return -1
    while b[i:i + 1] == b"[":
        m = re.compile(rb'\[([^= \]"\x00-\x20\x7f-\xff]{1,32})').match(b, i)
        if not m:
            return -1
        i = m.end()
        while b[i:i + 1] == b" ":
            m = re.compile(rb'([^= \]"\x00-\x20\x7f-\xff]{1,32})="').match(b, i + 1)
            if not m:
                return -1
            i = m.end()
            val = bytearray()
            while True:
                c = b[i:i + 1]
                if not c:
                    return -1
                if c == b"\\" and b[i + 1:i + 2] in (b'"', b"\\", b"]"):
                    val += b[i + 1:i + 2]
                    i += 2
                    continue
                if c in (b'"',):
                    i += 1
                    break
                if c == b"]":
                    return -1  # must be escaped
                val += c
                i += 1
            try:
                val.decode("utf-8")
            except UnicodeDecodeError:
                return -1
        if b[i:i + 1] != b"]":
            return -1
        i += 1
    return i


def check(msg):
    m = HEADER.match(msg)
    if not m:
        return "header"
    if int(m.group(1)) > 191:
        return "PRI"
    i = sd_end(msg, m.end())
    if i < 0:
        return "structured data"
    if msg[i:i + 1] != b" ":
        return "no SP before MSG"
    body = msg[i + 1:]
    if b"\n" in body or b"\r" in body or b"\x00" in body:
        return "raw control byte in MSG"
    try:
        json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return "MSG is not JSON: %s" % e
    return None


def main():
    data = open(sys.argv[1], "rb").read()
    msgs = []
    if "--octet-counted" in sys.argv:
        i = 0
        while i < len(data):
            sp = data.index(b" ", i)
            n = int(data[i:sp])
            msgs.append(data[sp + 1:sp + 1 + n])
            i = sp + 1 + n
    else:
        msgs = [l for l in data.split(b"\n") if l]
    bad = 0
    for k, msg in enumerate(msgs):
        why = check(msg)
        if why:
            bad += 1
            print("message %d: %s: %r" % (k + 1, why, msg[:200]))
    print("%d messages, %d bad" % (len(msgs), bad))
    sys.exit(1 if bad or not msgs else 0)


if __name__ == "__main__":
    main()
