#!/usr/bin/env bash
# End-to-end: pinned state, restart without a blind window, status, SIGHUP reload (issue 8).
# usage: tests/e2e/restart.sh KEYWATCH-BINARY
set -u
cd "$(dirname "$0")/../.." || exit 1
KEYWATCH=$(realpath "$1")
. tests/e2e/lib.sh
need_root

WORK=$(mktemp -d /tmp/kw-restart.XXXXXX)
chmod 755 "$WORK"
PIN=/sys/fs/bpf/keywatch-test-$$
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	"$KEYWATCH" run --unpin --pin-dir "$PIN" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
NODE=$WORK/node
tests/gen-layout.sh "$NODE" || exit 1
CA=$NODE/etc/kubernetes/pki/ca.key
POLICY=$WORK/policy.yaml
printf 'watch:\n  - /etc/kubernetes/pki/ca.crt\n' >"$POLICY"
chmod 600 "$POLICY"

agent_start "$WORK/a.json" --root "$NODE" --pin-dir "$PIN" --policy "$POLICY" --heartbeat 0 ||
	{ not_ok "pinned agent starts" "see above"; e2e_summary; exit 1; }
n=$(ls "$PIN" | grep -c '^link_')
[ "$n" = 7 ] && ok "7 links and the maps pinned in $PIN" || not_ok "links pinned" "$(ls "$PIN")"
"$KEYWATCH" status --pin-dir "$PIN" --json >"$WORK/status.json"
rc=$?
expect "status: attached, watching, healthy, exit 0" "$(cat "$WORK/status.json")" "($rc == 0)" \
	'.attached == 7' '.watched == 19' '.healthy == true' '.agent_last_seen_ms < 5000'

# SIGHUP with a broken policy: the old one stays, and an alert says why
printf 'watch: [\n' >"$POLICY"
kill -HUP "$AGENT_PID"
for i in $(seq 1 50); do grep -q '"config-invalid"' "$WORK/a.json" && break; sleep 0.1; done
ev=$(jq -c 'select(.event.action == "config-invalid")' "$WORK/a.json" | head -n1)
expect "SIGHUP with a bad policy → config-invalid alert naming file:line:col" "$ev" \
	'.event.kind == "alert"' "(.keywatch.reason | contains(\"$POLICY:\"))"
trig open "$NODE/etc/kubernetes/pki/ca.crt"
ev=$(wait_event "$WORK/a.json" "$TRIG_PID" key-open)
expect "the previous policy's extra file is still watched" "$ev" '.file.path == "/etc/kubernetes/pki/ca.crt"'
printf 'watch:\n  - /etc/kubernetes/pki/ca.crt\n' >"$POLICY"

"$KEYWATCH" status --pin-dir "$PIN" --json >"$WORK/status2.json"
expect "status after events: counts them and says when the last one was" "$(cat "$WORK/status2.json")" \
	'.events >= 1' '.last_event_ms_ago < 10000'

# Stop the agent; the pinned programs keep recording.
agent_stop
[ "$AGENT_RC" = 0 ] && ok "pinned agent stops cleanly" || not_ok "stop" "rc=$AGENT_RC"
"$KEYWATCH" status --pin-dir "$PIN" >/dev/null
[ $? = 1 ] && ok "status while the agent is down: attached but not healthy (exit 1)" ||
	not_ok "status while down" "exit 0"
"$TRIG" loop 50 "$CA" >"$WORK/trig.out" 2>&1
down_pid=$(sed -n 's/^pid=//p' "$WORK/trig.out")
trig denied "$CA"
denied_pid=$TRIG_PID

# A new agent on the same pins drains what happened while it was down.
agent_start "$WORK/b.json" --root "$NODE" --pin-dir "$PIN" --policy "$POLICY" --heartbeat 0 ||
	{ not_ok "second agent starts" "see above"; e2e_summary; exit 1; }
for i in $(seq 1 50); do
	[ "$(opens_of "$WORK/b.json" "$down_pid")" -ge 50 ] && break
	sleep 0.1
done
got=$(opens_of "$WORK/b.json" "$down_pid")
n1=$(jq -c --argjson p "$down_pid" 'select(.process.pid == $p and .event.action == "key-open" and .keywatch.aggregate == null)' "$WORK/b.json" | wc -l)
[ "$got" = 50 ] && [ "$n1" = 1 ] &&
	ok "all 50 opens made while the agent was down are reported after restart (one alert, the repeats counted)" ||
	not_ok "opens while down" "$got of 50 reported, $n1 alerts"
ev=$(wait_event "$WORK/b.json" "$denied_pid" key-open-attempt)
expect "the denied attempt made while down is reported too" "$ev" '.event.outcome == "failure"' \
	'.file.path == "/etc/kubernetes/pki/ca.key"'
lost=$(jq -c 'select(.event.action == "events-lost")' "$WORK/b.json" | wc -l)
[ "$lost" = 0 ] && ok "no events lost across the restart" || not_ok "no loss" "$lost events-lost"
n=$(ls "$PIN" | grep -c '^link_')
[ "$n" = 7 ] && ok "the new agent's links replaced the old ones (still 7 pinned)" || not_ok "links" "$n"
# Exactly one generation reports: a fresh open appears once.
trig open "$CA"
wait_event "$WORK/b.json" "$TRIG_PID" key-open >/dev/null
sleep 0.3
c=$(jq -c --argjson p "$TRIG_PID" 'select(.process.pid == $p)' "$WORK/b.json" | wc -l)
[ "$c" = 1 ] && ok "an open after the restart is reported exactly once" || not_ok "once" "$c times"

# An overlapping upgrade (surge): a third agent takes over the pins while the second still runs.
# The second sees its generation word replaced by the agent that now holds the pinned links: it
# steps down (exit 0), without calling that tampering and without taking the word back.
B_PID=$AGENT_PID
agent_start "$WORK/d.json" --root "$NODE" --pin-dir "$PIN" --policy "$POLICY" --heartbeat 0 ||
	{ not_ok "third agent starts" "see above"; }
for i in $(seq 1 60); do
	kill -0 "$B_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$B_PID" 2>/dev/null; then
	not_ok "the superseded agent steps down" "still running after 6 s"
	kill -TERM "$B_PID"
fi
wait "$B_PID"
rc=$?
n=$(grep -c '"bpf-state-tampered"' "$WORK/b.json")
[ "$rc" = 0 ] && [ "$n" = 0 ] && grep -q "a newer agent took over" "$WORK/b.json.err" &&
	ok "an agent whose pins a newer one took over steps down: exit 0, no tamper alert" ||
	not_ok "superseded agent" "rc=$rc tamper=$n err=$(tail -n1 "$WORK/b.json.err")"
trig open "$CA"
ev=$(wait_event "$WORK/d.json" "$TRIG_PID" key-open)
expect "… and the newer agent reports" "$ev" '.event.kind == "alert"'
agent_stop

# A service user after attach: same three capabilities, uid switched, still alerting.
agent_start "$WORK/c.json" --root "$NODE" --heartbeat 0 --user nobody ||
	{ not_ok "agent with --user nobody starts" "see above"; }
if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
	st=/proc/$AGENT_PID/status
	v="$(awk '/^Uid:/{print $2,$3,$4}' "$st") $(sed -n 's/^CapEff:\s*//p' "$st")"
	trig open "$CA"
	ev=$(wait_event "$WORK/c.json" "$TRIG_PID" key-open)
	expect "--user nobody: uid 65534, caps kept, still alerting ($v)" "$ev" \
		"(\"$v\" == \"65534 65534 65534 0000008000080004\")" '.event.kind == "alert"'
	agent_stop
fi

# --unpin removes everything: the pinned links' programs are gone afterwards.
ids=$(for l in "$PIN"/link_*; do bpftool link show pinned "$l" -j 2>/dev/null | jq -r .prog_id; done)
"$KEYWATCH" run --unpin --pin-dir "$PIN"
rc=$?
# The kernel frees a program after its last reference asynchronously: wait up to 3 s.
for i in $(seq 1 30); do
	left=0
	for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
	[ "$left" = 0 ] && break
	sleep 0.1
done
[ "$rc" = 0 ] && [ ! -e "$PIN" ] && [ -n "$ids" ] && [ "$left" = 0 ] &&
	ok "--unpin removes the pinned state and unloads the programs ($(echo $ids | wc -w) ids)" ||
	not_ok "--unpin" "rc=$rc exists=$([ -e "$PIN" ] && echo yes) ids=[$ids] left=$left"

e2e_summary
