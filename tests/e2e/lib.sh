# shellcheck shell=bash
# Shared helpers for the end-to-end tests: start/stop the agent, wait (bounded) for events,
# assert with jq. Sourced by tests/e2e/*.sh.

E2E_PASS=0
E2E_FAIL=0
TRIG=${TRIG:-.output/tests/kwtrig}

ok() { E2E_PASS=$((E2E_PASS + 1)); printf 'ok - %s\n' "$1"; }
not_ok() {
	E2E_FAIL=$((E2E_FAIL + 1))
	printf 'not ok - %s: %s\n' "$1" "$2"
}

# Root and BPF are required; in CI a missing prerequisite is a failure, never a skip.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "e2e: must run as root in CI" >&2
			exit 1
		fi
		echo "e2e: skipped, not root (run make test as root)"
		exit 0
	fi
}

# agent_start OUTFILE ARGS... — starts the agent in the background, waits for watch-started.
agent_start() {
	local out=$1
	shift
	rm -f "$out"
	"$KEYWATCH" run --output "$out" "$@" 2>"$out.err" &
	AGENT_PID=$!
	local i
	for i in $(seq 1 100); do
		if grep -qE '"action":"watch-started"|"keywatch.action":"watch-started"' "$out" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$AGENT_PID" 2>/dev/null; then
			echo "agent exited early:" >&2
			cat "$out.err" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "agent did not report watch-started within 10 s" >&2
	cat "$out.err" >&2
	return 1
}

# agent_stop — SIGTERM, bounded wait; sets AGENT_RC.
agent_stop() {
	kill -TERM "$AGENT_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -KILL "$AGENT_PID"
		AGENT_RC=137
	fi
	wait "$AGENT_PID"
	AGENT_RC=$?
}

# trig ARGS... — run kwtrig; its pid in TRIG_PID, its status in TRIG_RC.
trig() {
	"$TRIG" "$@" >"$WORK/trig.out" 2>"$WORK/trig.err"
	TRIG_RC=$?
	TRIG_PID=$(sed -n 's/^pid=//p' "$WORK/trig.out" | head -n1)
	TRIG_PID=${TRIG_PID:-0}
}

# wait_first FILE TENTHS JQ-ARGS... — the first line jq selects (compact JSON), polling every
# 0.1 s for at most TENTHS tenths of a second, or nothing (status 1).
wait_first() {
	local file=$1 n=$2 i line
	shift 2
	for i in $(seq 1 "$n"); do
		line=$(jq -c "$@" "$file" 2>/dev/null | head -n1)
		if [ -n "$line" ]; then
			printf '%s\n' "$line"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_event FILE PID ACTION — the first matching event within 5 s.
wait_event() {
	wait_first "$1" 50 --argjson pid "$2" --arg a "$3" \
		'select(.process.pid == $pid and .event.action == $a)'
}

# wait_action FILE ACTION — the first event with that event.action within 6 s.
wait_action() {
	wait_first "$1" 60 --arg a "$2" 'select(.event.action == $a)'
}

# expect NAME JSON JQ-FILTER... — every filter must be true on the event.
expect() {
	local name=$1 ev=$2 f
	shift 2
	if [ -z "$ev" ]; then
		not_ok "$name" "no event"
		return
	fi
	for f in "$@"; do
		if ! printf '%s\n' "$ev" | jq -e "$f" >/dev/null 2>&1; then
			not_ok "$name" "failed: $f in $ev"
			return
		fi
	done
	ok "$name"
}

e2e_summary() {
	printf 'e2e (%s): %d passed, %d failed\n' "$(basename "$KEYWATCH")" "$E2E_PASS" "$E2E_FAIL"
	[ "$E2E_FAIL" = 0 ]
}
