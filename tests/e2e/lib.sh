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
	# Learned digests in the test's own state file, unless the test names one.
	case " $* " in *" --state "*) ;; *) set -- --state "$WORK/learned-digests" "$@" ;; esac
	# Repeats summed every second (the default minute is too long for a test to wait).
	case " $* " in *" --aggregate "*) ;; *) set -- --aggregate 1 "$@" ;; esac
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
	"${TRIG_BIN:-$TRIG}" "$@" >"$WORK/trig.out" 2>"$WORK/trig.err"
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

# opens_of FILE PID [ACTION] — the opens a process made as reported: its events plus the
# repeats summed into aggregates (issue 5: one alert, then counted repeats).
opens_of() {
	jq -s --argjson p "$2" --arg a "${3:-key-open}" '[.[] | select(.process.pid == $p and
		.event.action == $a) | (.keywatch.aggregate.count // 1)] | add // 0' "$1"
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

# ---- placements (issue 4): cgroups laid out as the kubelet and systemd lay them out, under a
# per-run directory of the cgroup v2 hierarchy, removed by cg_cleanup. kwtrig joins one when
# KWTRIG_CGROUP names it.
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG_BASE=${CG2:+$CG2/kw-e2e-$$} # set here: the helpers below run in $(...) subshells
cg_base() {
	if [ -z "$CG2" ]; then
		echo "e2e: no cgroup v2 hierarchy mounted" >&2
		return 1
	fi
	mkdir -p "$CG_BASE"
}
# static_pod_cgroup POD-UID CONTAINER-ID — a static pod container's cgroup (systemd driver)
static_pod_cgroup() {
	cg_base || return 1
	local d="$CG_BASE/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$1.slice/cri-containerd-$2.scope"
	mkdir -p "$d" && printf '%s\n' "$d"
}
# pod_cgroup_fs POD-UID CONTAINER-ID — the cgroupfs driver's form
pod_cgroup_fs() {
	cg_base || return 1
	local d="$CG_BASE/kubepods/burstable/pod$1/$2"
	mkdir -p "$d" && printf '%s\n' "$d"
}
# unit_cgroup UNIT — a host systemd service's cgroup
unit_cgroup() {
	cg_base || return 1
	local d="$CG_BASE/system.slice/$1"
	mkdir -p "$d" && printf '%s\n' "$d"
}
cg_cleanup() {
	[ -n "$CG_BASE" ] && [ -d "$CG_BASE" ] && find "$CG_BASE" -depth -type d -exec rmdir {} + 2>/dev/null
	return 0
}
# static_pod_logs NODE NAMESPACE POD-NAME POD-UID — the kubelet's log directory for a pod
static_pod_logs() {
	mkdir -p "$1/var/log/pods/$2_$3_$4"
}
# The placements the tests' components run in: the control plane as static pods (32-hex UIDs,
# the kubelet's hash of a manifest), the kubelet as kubelet.service.
KCM_UID=5b1e2f0c9a8d7e6f5a4b3c2d1e0f9a8b
KAS_UID=0a1b2c3d4e5f60718293a4b5c6d7e8f9
placements() { # NODE — makes the cgroups and log dirs; sets KCM_CG, KAS_CG, KUBELET_CG
	KCM_CG=$(static_pod_cgroup "$KCM_UID" "$(printf 'c%.0s' $(seq 1 64))") || return 1
	KAS_CG=$(static_pod_cgroup "$KAS_UID" "$(printf 'a%.0s' $(seq 1 64))") || return 1
	KUBELET_CG=$(unit_cgroup kubelet.service) || return 1
	static_pod_logs "$1" kube-system kube-controller-manager-node1 "$KCM_UID"
	static_pod_logs "$1" kube-system kube-apiserver-node1 "$KAS_UID"
}
# component CGROUP KWTRIG-ARGS... — trig as a component runs: in its cgroup, and lingering a
# moment after its open as a daemon would (the agent hashes its binary through /proc).
component() {
	local cg=$1
	shift
	KWTRIG_CGROUP=$cg KWTRIG_LINGER_MS=${KWTRIG_LINGER_MS:-300} trig "$@"
}

# host_kubelet — a copy of kwtrig at the host's /usr/bin/kubelet: the kubelet runs in the host's
# mount namespace, so no private mount can stand in for it. Never replaces a real kubelet; the
# suite's cleanup removes the copy (KUBELET_COPY).
host_kubelet() {
	if [ -e /usr/bin/kubelet ] && [ -z "${KUBELET_COPY:-}" ]; then
		echo "e2e: /usr/bin/kubelet exists: not replacing a real kubelet" >&2
		return 1
	fi
	KUBELET_COPY=1
	cp "$TRIG" /usr/bin/kubelet
}
