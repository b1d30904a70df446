#!/usr/bin/env bash
#
# run.sh - `make bench`: what keywatch costs the node, side by side with what an operator would
# pick instead (auditd, bpftrace, a fanotify watcher), and how fast an alert arrives.
#
# Usage: tests/bench/run.sh KEYWATCH KWBENCH
#
# Configurations: none (no monitor), keywatch (run --root DIR --output FILE --heartbeat 0),
# auditd (auditd -n, started here without systemd, with "-w DIR/etc/kubernetes/pki -p r"),
# bpftrace (tracepoint:syscalls:sys_enter_openat, filename looked up in a map of the watched
# paths, one printf line per match) and fanotify (tests/bench/fanwatch.c: FAN_OPEN inode marks on
# the same files keywatch watches, one line per event). The watched set for bpftrace and fanwatch
# is keywatch's own (keywatch scan --json), re-rooted under DIR.
#
# Method: ROUNDS rounds; in each, every configuration in turn (the order rotated by one per
# round: A B C D E, B C D E A, ...) is started, waited for until ready (bounded), runs every
# workload (kwbench.c) once, and is stopped by pid. The tables show, per configuration and
# workload, the median over rounds and its ratio to the no-monitor median. Workloads:
#   open      open+close of an unwatched file in the watched pki dir (ca.crt), 1 thread
#   open2     the same with 2 threads (each pinned to its own CPU; two unwatched files)
#   enoent    a failed open (ENOENT) in the pki dir
#   getppid   a non-open syscall
#   watched   an unexpected process opening a watched key (ca.key) in a tight loop; every open
#             must be accounted for (an event for its pid, or counted as lost)
#   etcd      an expected reader: a copy of kwbench at /usr/local/bin/etcd (private mount
#             namespace, tmpfs over the directory) opening etcd/server.key at a high rate;
#             keywatch runs without --log-expected, so the expected reads should produce no
#             output at all: the monitor's output bytes during the workload are measured
#   forkexec  fork + exec /bin/true + wait
# Per slot and workload the monitor's CPU (utime+stime of its pids, /proc/PID/stat; auditd's
# row adds the kauditd kernel thread) and output bytes are recorded; per slot its peak RSS
# (VmHWM) and time from launch to ready (keywatch: the watch-started event's @timestamp;
# fanwatch: its "ready" line; auditd and bpftrace: the first line reporting a probe open of the
# key). Open-to-alert latency (kwbench latency: the monitor spawned by kwbench, lines read from
# a pipe) is sampled each round for keywatch and fanotify, and in ALT_LAT_ROUNDS rounds for
# bpftrace (it compiles for seconds at each start). Then: scale curves (keywatch with 10 ->
# 10,000 extra watched files against no monitor: start time, CPU, RSS, unwatched-open ratio;
# keywatch seeing 1,000 -> 100,000 short-lived processes, each opening ca.key once: CPU, RSS),
# keywatch's BPF map memory (bpftool, the maps of its programs), which open routes each monitor
# reports (round 1), and user-space instructions per event under callgrind.
#
# auditd: installed with apt-get when missing (so are bpftrace and gnuplot-nox), started with a
# config of its own (log in the work dir). Its kernel state is restored afterwards: the watch
# rule deleted, auditd stopped, `auditctl -e`, the backlog limit and wait time set back. Note:
# the kernel's audit_ever_enabled is sticky: once audit has been enabled, every task forked
# afterwards gets an audit context and pays the syscall-audit slow path (~+80 ns per getppid here)
# until reboot, unless an "-a never,task" rule exists. So the other configurations run with
# "-a never,task" in place (a node without auditd audits no task), and if new tasks were not
# audited before the run, the rule is left in place at the end (said so on stdout); otherwise
# it is removed. The audit state of new tasks is read with bpftrace (curtask->audit_context).
#
# A benchmark reports, it does not assert: PASS/MISS against each target is printed, and the exit
# status is 0 whatever they say. It is 1 only when something could not be measured at all.
#
# Environment (defaults sized for 5-8 minutes on a 2-CPU machine):
#   KW_BENCH_ROUNDS (9), KW_BENCH_CONFIGS ("none keywatch auditd bpftrace fanotify"),
#   KW_BENCH_OPEN_ITERS (250000), KW_BENCH_OPEN2_ITERS (150000 per thread),
#   KW_BENCH_ENOENT_ITERS (400000), KW_BENCH_GETPPID_ITERS (4000000),
#   KW_BENCH_WATCHED_ITERS (20000), KW_BENCH_ETCD_ITERS (100000), KW_BENCH_FORK_ITERS (400),
#   KW_BENCH_BUDGET_MS (700: a loop run does fewer iterations when they would take longer, e.g.
#   under auditd; the watched loop always does all of its own),
#   KW_BENCH_LAT_SAMPLES (300 per round and monitor), KW_BENCH_ALT_LAT_ROUNDS ("1 4 7"),
#   KW_BENCH_SCALE ("10 100 1000 10000"), KW_BENCH_SCALE_ROUNDS (3), KW_BENCH_CALLGRIND (1),
#   KW_BENCH_PROCS ("1000 10000 100000"), KW_BENCH_README (unset: rewrite README.md's generated
#   performance block from the results; 0: leave README.md alone),
#   KW_BENCH_NO_INSTALL (unset: install missing packages with apt-get),
#   KW_BENCH_RESULTS_DIR (tests/bench/results), KW_BENCH_RESULTS (.output/bench/results.md, a copy),
#   KW_BENCH_KEEP (set: keep the work directory, for debugging).
#
# Per-round values are kept as space-separated number lists and split on purpose (SC2086);
# the report's row helpers are called by name (SC2317).
# shellcheck disable=SC2086,SC2317
set -uo pipefail

prog=${0##*/}
die() {
	echo "$prog: $*" >&2
	exit 1
}
note() { echo "$prog: $*" >&2; }

[ $# = 2 ] || {
	echo "usage: $prog KEYWATCH KWBENCH" >&2
	exit 2
}
KEYWATCH=$(realpath "$1") || die "$1: not found"
KWBENCH=$(realpath "$2") || die "$2: not found"
if [ ! -x "$KEYWATCH" ] || [ ! -x "$KWBENCH" ]; then
	die "$KEYWATCH and $KWBENCH must be executable"
fi
[ "$(id -u)" = 0 ] || die "must run as root (the agent loads BPF programs)"
command -v jq >/dev/null || die "jq is required (make deps)"
command -v bpftool >/dev/null || die "bpftool is required (make deps)"

ROUNDS=${KW_BENCH_ROUNDS:-9}
[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "KW_BENCH_ROUNDS must be at least 1"
CONFIGS=${KW_BENCH_CONFIGS:-none keywatch auditd bpftrace fanotify}
OPEN_ITERS=${KW_BENCH_OPEN_ITERS:-250000}
OPEN2_ITERS=${KW_BENCH_OPEN2_ITERS:-150000}
ENOENT_ITERS=${KW_BENCH_ENOENT_ITERS:-400000}
GETPPID_ITERS=${KW_BENCH_GETPPID_ITERS:-4000000}
WATCHED_ITERS=${KW_BENCH_WATCHED_ITERS:-20000}
ETCD_ITERS=${KW_BENCH_ETCD_ITERS:-100000}
FORK_ITERS=${KW_BENCH_FORK_ITERS:-400}
BUDGET_MS=${KW_BENCH_BUDGET_MS:-700}
LAT_SAMPLES=${KW_BENCH_LAT_SAMPLES:-300}
ALT_LAT_ROUNDS=${KW_BENCH_ALT_LAT_ROUNDS:-1 4 7}
SCALE_SIZES=${KW_BENCH_SCALE:-10 100 1000 10000}
SCALE_ROUNDS=${KW_BENCH_SCALE_ROUNDS:-3}
PROC_SIZES=${KW_BENCH_PROCS:-1000 10000 100000}
CALLGRIND=${KW_BENCH_CALLGRIND:-1}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
RESULTS_DIR=${KW_BENCH_RESULTS_DIR:-$SRCDIR/tests/bench/results}
RESULTS_COPY=${KW_BENCH_RESULTS:-$SRCDIR/.output/bench/results.md}
HELPERS=$(dirname "$KWBENCH") # fanwatch and vgshim.so are built next to kwbench
WORKLOADS="open open2 enoent getppid watched etcd forkexec"
ETCD_BIN=/usr/local/bin/etcd

WORK=
KWB_PID=
MON_PID=       # the running monitor (keywatch, bpftrace, fanwatch, auditd)
MON_CFG=
AUDIT_RULE=    # the -w path while our watch rule is in the kernel
AUDIT_MANAGED= # 1 once the audit state was saved (restore it at exit)
NEVER_IN=      # 1 while an "-a never,task" rule is in the kernel
AUDITD_USED=   # 1 once auditd ran (audit_ever_enabled is now set)
TRACEFS_OURS=  # 1 when we mounted tracefs

# ---- cleanup ----------------------------------------------------------------------------------

# stop_pid PID SIGNAL BOUND_S: signal, bounded wait, SIGKILL. Returns the exit status.
stop_pid() {
	local pid=$1 sig=$2 bound=$3 i rc
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 1 $((bound * 50))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "pid $pid ignored SIG$sig for $bound s, killed"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	trap - INT TERM
	if [ -n "$KWB_PID" ] && kill -0 "$KWB_PID" 2>/dev/null; then
		stop_pid "$KWB_PID" TERM 5
	fi
	KWB_PID=
	[ -n "$MON_PID" ] && mon_stop
	[ -n "$AUDIT_MANAGED" ] && audit_restore
	if [ -n "$TRACEFS_OURS" ] && mountpoint -q /sys/kernel/tracing; then
		umount /sys/kernel/tracing 2>/dev/null || note "could not unmount tracefs (busy)"
	fi
	TRACEFS_OURS=
	[ -n "${ETCD_CG_BASE:-}" ] && [ -d "$ETCD_CG_BASE" ] &&
		find "$ETCD_CG_BASE" -depth -type d -exec rmdir {} + 2>/dev/null
	if [ -n "${KW_BENCH_KEEP:-}" ]; then
		[ -n "$WORK" ] && echo "$prog: work dir kept: $WORK"
	else
		[ -n "$WORK" ] && rm -rf "$WORK"
	fi
	WORK=
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

START_S=$(date +%s)
# A short prefix: bpftrace 0.17 takes string literals of at most 64 bytes (see kw.bt below).
WORK=$(mktemp -d /tmp/kwb.XXXXXX) || die "mktemp failed"
chmod 0755 "$WORK"
# Run a snapshot of the agent: a rebuild during the run must not mix binaries between rounds.
cp "$KEYWATCH" "$WORK/keywatch" || die "cannot copy $KEYWATCH"
KEYWATCH_SRC=$KEYWATCH
KEYWATCH=$WORK/keywatch

# ---- tools ------------------------------------------------------------------------------------

declare -A UNAVAIL # config or row -> why it was not measured

# need_pkg CMD PACKAGE: CMD present, or installed with apt-get (unless KW_BENCH_NO_INSTALL).
need_pkg() {
	command -v "$1" >/dev/null && return 0
	if [ -n "${KW_BENCH_NO_INSTALL:-}" ]; then
		return 1
	fi
	echo "installing $2 (apt-get)"
	if [ -z "${APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
		>"$WORK/apt.log" 2>&1 || {
		note "apt-get install $2 failed: $(tail -n1 "$WORK/apt.log")"
		return 1
	}
	command -v "$1" >/dev/null
}

has_cfg() { [[ " $CONFIGS " == *" $1 "* ]]; }
drop_cfg() {
	UNAVAIL[$1]=$2
	CONFIGS=$(tr ' ' '\n' <<<"$CONFIGS" | grep -vx "$1" | tr '\n' ' ')
	note "$1 not measured: $2"
}

if has_cfg auditd && ! { need_pkg auditctl auditd && command -v auditd >/dev/null; }; then
	drop_cfg auditd "auditd/auditctl not installed"
fi
if has_cfg bpftrace; then
	need_pkg bpftrace bpftrace || drop_cfg bpftrace "bpftrace not installed"
fi
need_pkg gnuplot gnuplot-nox || UNAVAIL[plot]="gnuplot not installed"
command -v valgrind >/dev/null || need_pkg valgrind valgrind || UNAVAIL[callgrind]="no valgrind"

# The helpers, built next to kwbench unless a build there is newer than the source (the Makefile
# may build them).
CFLAGS_H=(-D_GNU_SOURCE -O2 -g -Wall -Wextra)
FANWATCH=$HELPERS/fanwatch
VGSHIM=$HELPERS/vgshim.so
# build SRC OUT CC-ARGS...: cc SRC -o OUT when OUT is missing or older than SRC.
build() {
	local src=$SRCDIR/tests/bench/$1 out=$2
	shift 2
	[ -x "$out" ] && [ "$out" -nt "$src" ] && return 0
	cc "${CFLAGS_H[@]}" "$@" "$src" -o "$out" 2>"$WORK/cc.err"
}
if has_cfg fanotify && ! build fanwatch.c "$FANWATCH"; then
	drop_cfg fanotify "fanwatch.c did not build: $(head -n1 "$WORK/cc.err")"
fi
if [ "$CALLGRIND" = 1 ] && [ -z "${UNAVAIL[callgrind]:-}" ] &&
	! build vgshim.c "$VGSHIM" -shared -fPIC -ldl; then
	UNAVAIL[callgrind]="vgshim.c did not build: $(head -n1 "$WORK/cc.err")"
fi

# ensure_tracefs: bpftrace needs tracefs to find tracepoints; mounted here if absent (keywatch
# mounts it itself when absent, and then unmounts it at exit).
ensure_tracefs() {
	[ -e /sys/kernel/tracing/events ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && TRACEFS_OURS=1
	[ -e /sys/kernel/tracing/events ]
}

# ---- layout -----------------------------------------------------------------------------------

ROOT=$WORK/n
"$SRCDIR/tests/gen-layout.sh" "$ROOT" || die "tests/gen-layout.sh failed"
PKI=$ROOT/etc/kubernetes/pki
UNWATCHED=$PKI/ca.crt
UNWATCHED2=$PKI/front-proxy-ca.crt
KEY=$PKI/ca.key
ETCD_KEY=$PKI/etcd/server.key
MISSING=$PKI/no-such-file.key
for f in "$UNWATCHED" "$UNWATCHED2" "$KEY" "$ETCD_KEY"; do
	[ -f "$f" ] || die "unexpected layout under $ROOT: no $f"
done
[ -e "$MISSING" ] && die "unexpected layout under $ROOT: $MISSING exists"
"$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" -n >/dev/null || die "the agent rejects the layout"
# etcd runs as a static pod: its cgroup laid out as the kubelet does, and the pod's log directory
# (the agent checks a component's placement, README "Reader identity").
ETCD_UID=e7cd0a1b2c3d4e5f60718293a4b5c6d7
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || die "no cgroup v2 hierarchy to place the etcd-like reader in"
ETCD_CG_BASE=$CG2/kwb-$$
ETCD_CG=$ETCD_CG_BASE/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$ETCD_UID.slice/cri-containerd-$(printf 'e%.0s' $(seq 1 64)).scope
mkdir -p "$ETCD_CG" "$ROOT/var/log/pods/kube-system_etcd-node1_$ETCD_UID" || die "cannot make the etcd placement"
export KWBENCH_CGROUP=$ETCD_CG

# The watched set, from keywatch itself (scan --json), re-rooted: bpftrace and fanwatch watch
# the same files.
"$KEYWATCH" scan --root "$ROOT" --json >"$WORK/scan.json" 2>/dev/null
jq -r --arg r "$ROOT" '.files[].path | $r + .' "$WORK/scan.json" >"$WORK/watched.list" 2>/dev/null
NWATCHED=$(grep -c . "$WORK/watched.list")
[ "$NWATCHED" -gt 0 ] || die "keywatch scan listed no file"
grep -qxF "$KEY" "$WORK/watched.list" || die "$KEY is not in keywatch's watched set"
grep -qxF "$ETCD_KEY" "$WORK/watched.list" || die "$ETCD_KEY is not in keywatch's watched set"

# bpftrace: a map of the watched paths, looked up with str(args->filename). bpftrace 0.17 refuses
# string literals over 64 bytes, so paths that long are left out (on a real node every kubeadm
# path fits; here the work-dir prefix makes a few too long): BT_LEFT_OUT counts them. No workload
# opens them.
BT_LEFT_OUT=0
{
	echo "BEGIN {"
	while read -r p; do
		if [ ${#p} -gt 63 ]; then
			BT_LEFT_OUT=$((BT_LEFT_OUT + 1))
			continue
		fi
		printf '\t@k["%s"] = 1;\n' "$p"
	done <"$WORK/watched.list"
	echo "}"
	echo 'tracepoint:syscalls:sys_enter_openat /@k[str(args->filename)]/ {'
	printf '\tprintf("pid=%%d path=%%s\\n", pid, str(args->filename));\n'
	echo "}"
	echo "END { clear(@k); }"
} >"$WORK/kw.bt"

# ---- audit state ------------------------------------------------------------------------------

audit_status() { auditctl -s 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }

# new_tasks_audited: 1 when a task forked now gets an audit context, 0 when not, "" unknown.
new_tasks_audited() {
	command -v bpftrace >/dev/null || return 0
	timeout 60 bpftrace -e 'BEGIN { printf("ctx=%d\n", curtask->audit_context != 0); exit(); }' \
		2>/dev/null | sed -n 's/^ctx=//p'
}

# audit_quiet: tasks forked from now on get no audit context (a node without auditd): an
# "-a never,task" rule in the kernel. audit_loud: none (auditd's slot; a rule that was there
# before the run is taken out for the slot too). NEVER_IN: the rule is in the kernel now.
audit_quiet() {
	[ -n "$AUDIT_MANAGED" ] && [ -z "$NEVER_IN" ] || return 0
	auditctl -a never,task >/dev/null 2>&1 && NEVER_IN=1
}
audit_loud() {
	[ -n "$AUDIT_MANAGED" ] && [ -n "$NEVER_IN" ] || return 0
	auditctl -d never,task >/dev/null 2>&1 && NEVER_IN=
}

# audit_restore: our watch rule deleted, auditd stopped (mon_stop), enabled/backlog restored, and
# "-a never,task" left only when the run made new tasks audited that were not before.
AUDIT_NOTE=
audit_restore() {
	[ -n "$AUDIT_MANAGED" ] || return 0
	if [ -n "$AUDIT_RULE" ]; then
		auditctl -W "$AUDIT_RULE" -p r -k kwbench >/dev/null 2>&1
		AUDIT_RULE=
	fi
	[ -n "$A_BACKLOG0" ] && auditctl -b "$A_BACKLOG0" >/dev/null 2>&1
	[ -n "$A_WAIT0" ] && auditctl --backlog_wait_time "$A_WAIT0" >/dev/null 2>&1
	[ -n "$A_EN0" ] && auditctl -e "$A_EN0" >/dev/null 2>&1
	if [ -n "$A_NEVER0" ]; then
		audit_quiet # it was there before the run
	elif [ -n "$AUDITD_USED" ] && [ "${A_TASKS0:-0}" != 1 ]; then
		# audit_ever_enabled is now set for good: keep new tasks unaudited, as before.
		audit_quiet
		AUDIT_NOTE="left '-a never,task' in the audit rules: auditd's run set the kernel's sticky audit_ever_enabled, and without that rule every task forked from now on (until reboot) would pay the syscall-audit slow path; before the run new tasks were ${A_TASKS0:+not }audited${A_TASKS0:-: unknown (no bpftrace), assumed not}. Remove with: auditctl -d never,task"
		echo "$prog: note: $AUDIT_NOTE"
	else
		audit_loud
	fi
	AUDIT_MANAGED=
}

A_EN0='' A_BACKLOG0='' A_WAIT0='' A_NEVER0='' A_TASKS0=
if has_cfg auditd; then
	A_EN0=$(audit_status enabled)
	A_PID0=$(audit_status pid)
	if [ -z "$A_EN0" ]; then
		drop_cfg auditd "the kernel has no audit support (auditctl -s: $(auditctl -s 2>&1 |
			head -n1))"
	elif [ "$A_EN0" = 2 ]; then
		drop_cfg auditd "audit configuration is locked (auditctl -e 2)"
	elif [ "${A_PID0:-0}" != 0 ]; then
		drop_cfg auditd "an audit daemon already runs (pid $A_PID0): not touching it"
	fi
fi
if has_cfg auditd; then
	A_BACKLOG0=$(audit_status backlog_limit)
	A_WAIT0=$(audit_status backlog_wait_time)
	auditctl -l >"$WORK/audit-rules.before" 2>&1
	A_NEVER0=
	grep -qx -- '-a never,task' "$WORK/audit-rules.before" && A_NEVER0=1
	NEVER_IN=$A_NEVER0
	A_TASKS0=$(new_tasks_audited)
	[ -n "$A_TASKS0" ] || note "could not tell whether new tasks are audited (bpftrace)"
	AUDIT_MANAGED=1
	AUDIT_DIR=$WORK/audit
	mkdir -p "$AUDIT_DIR/plugins"
	sed -e "s|^log_file = .*|log_file = $AUDIT_DIR/audit.log|" \
		-e "s|^plugin_dir = .*|plugin_dir = $AUDIT_DIR/plugins|" \
		-e "s|^max_log_file_action = .*|max_log_file_action = IGNORE|" \
		-e "s|^space_left_action = .*|space_left_action = IGNORE|" \
		-e "s|^admin_space_left_action = .*|admin_space_left_action = IGNORE|" \
		-e "s|^disk_full_action = .*|disk_full_action = IGNORE|" \
		/etc/audit/auditd.conf >"$AUDIT_DIR/auditd.conf" 2>/dev/null ||
		printf 'log_file = %s/audit.log\nlog_format = ENRICHED\nflush = INCREMENTAL_ASYNC\nfreq = 50\nplugin_dir = %s/plugins\n' \
			"$AUDIT_DIR" "$AUDIT_DIR" >"$AUDIT_DIR/auditd.conf"
	chmod 0640 "$AUDIT_DIR/auditd.conf"
	audit_quiet
fi

# ---- monitors ---------------------------------------------------------------------------------

MON_OUT=  # the monitor's output file (auditd: its log)
MON_PIDS= # pids whose CPU counts as the monitor's
MON_READY_MS=

# wait_line FILE PATTERN BOUND_S [PROBE]: until grep -E PATTERN matches FILE; with PROBE, open
# the key (cat) before each check. 0 when found, 1 on timeout or when the monitor died.
wait_line() {
	local file=$1 pat=$2 bound=$3 probe=${4:-} i
	for i in $(seq 1 $((bound * 20))); do
		[ -n "$probe" ] && cat "$KEY" >/dev/null 2>&1
		grep -qE -m1 "$pat" "$file" 2>/dev/null && return 0
		kill -0 "$MON_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

kauditd_pid() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = kauditd ] && {
			echo "${d#/proc/}"
			return
		}
	done
}

# mon_start CFG: start CFG's monitor, wait until ready. Sets MON_PID, MON_OUT, MON_PIDS,
# MON_READY_MS. Returns 1 when it did not become ready.
mon_start() {
	local cfg=$1 t0 ts
	MON_CFG=$cfg MON_PID='' MON_OUT=$WORK/mon.$cfg.out MON_PIDS='' MON_READY_MS=
	rm -f "$MON_OUT" "$MON_OUT.err"
	case $cfg in
	none)
		audit_quiet
		return 0
		;;
	keywatch)
		audit_quiet
		t0=$(date +%s%N)
		# Repeats summed every second (issue 5): the watched loop is one alert + counted repeats.
		"$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" --output "$MON_OUT" --heartbeat 0 \
			--aggregate 1 2>"$MON_OUT.err" &
		MON_PID=$!
		if ! wait_line "$MON_OUT" '"action":"watch-started"' 10; then
			MON_ERR="no watch-started within 10 s: $(tail -n2 "$MON_OUT.err" | tr '\n' ' ')"
			mon_stop
			return 1
		fi
		ts=$(head -n1 "$MON_OUT" | jq -r '."@timestamp"' 2>/dev/null)
		MON_READY_MS=$(awk -v a="$(date -d "$ts" +%s%N 2>/dev/null)" -v b="$t0" \
			'BEGIN { if (a > 0) printf "%.1f", (a - b) / 1e6 }')
		;;
	auditd)
		audit_loud
		t0=$(date +%s%N)
		rm -f "$AUDIT_DIR/audit.log"
		MON_OUT=$AUDIT_DIR/audit.log
		auditd -n -s enable -c "$AUDIT_DIR" >"$WORK/auditd.stdout" 2>&1 &
		MON_PID=$!
		AUDITD_USED=1
		local i
		for i in $(seq 1 200); do
			[ "$(audit_status pid)" = "$MON_PID" ] && break
			kill -0 "$MON_PID" 2>/dev/null || break
			sleep 0.05
		done
		if [ "$(audit_status pid)" != "$MON_PID" ]; then
			MON_ERR="auditd did not register within 10 s: $(tail -n2 "$WORK/auditd.stdout" |
				tr '\n' ' ')"
			mon_stop
			return 1
		fi
		# Debian's audit.rules defaults (auditd started by hand skips augenrules).
		auditctl -b 8192 >/dev/null 2>&1
		auditctl --backlog_wait_time 60000 >/dev/null 2>&1
		if ! auditctl -w "$PKI" -p r -k kwbench >"$WORK/auditctl.out" 2>&1; then
			MON_ERR="auditctl -w failed: $(head -n1 "$WORK/auditctl.out")"
			mon_stop
			return 1
		fi
		AUDIT_RULE=$PKI
		if ! wait_line "$MON_OUT" '^type=SYSCALL.*key="kwbench"' 15 probe; then
			MON_ERR="no audit record for a probe open within 15 s"
			mon_stop
			return 1
		fi
		MON_PIDS=$(kauditd_pid)
		;;
	bpftrace)
		audit_quiet
		ensure_tracefs || {
			MON_ERR="tracefs not available"
			return 1
		}
		t0=$(date +%s%N)
		# stdout, not -o: -B none unbuffers stdout only, -o's file is written when its buffer
		# fills.
		bpftrace -B none "$WORK/kw.bt" >"$MON_OUT" 2>"$MON_OUT.err" &
		MON_PID=$!
		if ! wait_line "$MON_OUT" '^pid=' 40 probe; then
			MON_ERR="no line for a probe open within 40 s: $(grep -v RLIMIT "$MON_OUT.err" |
				tail -n2 | tr '\n' ' ')"
			mon_stop
			return 1
		fi
		;;
	fanotify)
		audit_quiet
		t0=$(date +%s%N)
		mapfile -t files <"$WORK/watched.list"
		"$FANWATCH" -o "$MON_OUT" "${files[@]}" 2>"$MON_OUT.err" &
		MON_PID=$!
		if ! wait_line "$MON_OUT" '^ready' 10; then
			MON_ERR="no ready line within 10 s: $(tail -n2 "$MON_OUT.err" | tr '\n' ' ')"
			mon_stop
			return 1
		fi
		;;
	esac
	[ -n "$MON_READY_MS" ] || MON_READY_MS=$(awk -v a="$(date +%s%N)" -v b="$t0" \
		'BEGIN { printf "%.1f", (a - b) / 1e6 }')
	MON_PIDS="$MON_PID $MON_PIDS"
	return 0
}

# mon_stop: stop the running monitor by pid (bpftrace: SIGINT, its documented way out; the
# others SIGTERM), bounded. auditd: the watch rule goes first. Sets MON_RC.
mon_stop() {
	MON_RC=0
	if [ "$MON_CFG" = auditd ] && [ -n "$AUDIT_RULE" ]; then
		auditctl -W "$AUDIT_RULE" -p r -k kwbench >/dev/null 2>&1
		AUDIT_RULE=
	fi
	if [ -n "$MON_PID" ]; then
		case $MON_CFG in
		bpftrace) stop_pid "$MON_PID" INT 15 ;;
		*) stop_pid "$MON_PID" TERM 10 ;;
		esac
		MON_RC=$?
	fi
	if [ "$MON_CFG" = auditd ]; then
		[ -n "$A_BACKLOG0" ] && auditctl -b "$A_BACKLOG0" >/dev/null 2>&1
		[ -n "$A_WAIT0" ] && auditctl --backlog_wait_time "$A_WAIT0" >/dev/null 2>&1
		auditctl -e "$A_EN0" >/dev/null 2>&1
		audit_quiet
	fi
	MON_PID=
}

# cpu_ticks PID...: utime+stime (clock ticks) summed over the pids (fields 14 and 15; the
# comm field is skipped first).
cpu_ticks() {
	local t=0 p v
	for p in "$@"; do
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${v:-0}))
	done
	echo $t
}
HZ=$(getconf CLK_TCK)

out_size() { stat -c %s "$MON_OUT" 2>/dev/null || echo 0; }

# settle: the monitor's output has stopped growing (200 ms), bounded 8 s; keywatch first gets
# 300 ms so its 100 ms events-lost check has run.
settle() {
	local a b i
	[ -n "$MON_PID" ] || return 0
	[ "$MON_CFG" = keywatch ] && sleep 1.2 # past the next one-second aggregate
	a=$(out_size)
	for i in $(seq 1 40); do
		sleep 0.2
		b=$(out_size)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
}

# segment FROM TO: the monitor's output bytes [FROM, TO).
segment() { tail -c +$(($1 + 1)) "$MON_OUT" | head -c $(($2 - $1)); }

# note_foreign: other sys_exit_openat BPF programs besides the one keywatch slot's own (another
# agent, a test suite): they tax every configuration, so the report says so.
FOREIGN_SEEN=0
note_foreign() {
	local n own=0
	[ "$MON_CFG" = keywatch ] && own=1
	n=$(bpftool prog show 2>/dev/null | grep -c 'name sys_exit_openat ') || true
	[ "${n:-0}" -gt "$own" ] && FOREIGN_SEEN=$((FOREIGN_SEEN + 1))
	return 0
}

# ---- kwbench ----------------------------------------------------------------------------------

PIN_NOTE=
# kwb OUTFILE ARGS...: kwbench in the background (so a signal's trap runs at once), waited for.
kwb() {
	local out=$1 rc
	shift
	"$KWBENCH" "$@" >"$out" 2>"$out.err" &
	KWB_PID=$!
	wait "$KWB_PID"
	rc=$?
	KWB_PID=
	if [ -z "$PIN_NOTE" ]; then
		PIN_NOTE=$(grep -m1 '^kwbench: .*pinned' "$out.err" | sed 's/^kwbench: //')
	fi
	return $rc
}

is_number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

declare -A VALS   # "cfg workload" -> ns/op per round
declare -A CPUMS  # "cfg workload" -> monitor CPU ms per round
declare -A BYTES  # "cfg workload" -> monitor output bytes per round
declare -A SLOT   # "cfg key" -> per-round values: ready_ms, rss_kib, cpu_ms (whole slot)
declare -A ACC    # "cfg key" -> watched loop: opens, events, lost, other, rounds
declare -A NOTE   # "cfg" -> problems seen
declare -A COVER  # "cfg route" -> yes/no
add() {
	# shellcheck disable=SC2178 # a nameref to an associative array
	local -n arr=$1
	arr["$2"]="${arr["$2"]:-} $3"
}
addn() {
	# shellcheck disable=SC2178
	local -n arr=$1
	arr["$2"]=$((${arr["$2"]:-0} + $3))
}
add_note() {
	NOTE[$1]="${NOTE[$1]:-}$2; "
}

# watched_count CFG PID SEGFILE: "events lost other" for the watched loop in SEGFILE.
watched_count() {
	local cfg=$1 pid=$2 seg=$3
	case $cfg in
	keywatch)
		jq -rn --argjson pid "$pid" '
			reduce inputs as $e ({k: 0, l: 0, o: 0};
				if $e.event.action == "key-open" and $e.process.pid == $pid then
					.k += ($e.keywatch.aggregate.count // 1)
				elif $e.event.action == "key-open" then .o += 1
				elif $e.event.action == "events-lost" then .l += ($e.keywatch.lost // 0)
				else . end) | "\(.k) \(.l) \(.o)"' "$seg" 2>/dev/null
		;;
	auditd)
		awk -v pid="$pid" '/^type=SYSCALL/ && /key="kwbench"/ {
				if ($0 ~ (" pid=" pid " ")) k++; else o++ }
			END { printf "%d %d %d\n", k, 0, o }' "$seg"
		;;
	bpftrace | fanotify)
		awk -v p="pid=$pid " 'index($0, p) == 1 { k++; next }
			/^Lost [0-9]+ events/ { l += $2; next }
			/^overflow/ { ov++; next }
			/^pid=/ { o++ }
			END { printf "%d %d %d %d\n", k, l, o, ov }' "$seg"
		;;
	esac
}

# run_workload CFG W: one kwbench run under the running monitor.
run_workload() {
	local cfg=$1 w=$2 out=$WORK/kwb.out args c0 c1 o0 o1 v pid line opens cnt k l o ov lost0 lost1
	case $w in
	open) args=(loop open "$UNWATCHED" "$OPEN_ITERS" -T "$BUDGET_MS") ;;
	open2) args=(loop open "$UNWATCHED:$UNWATCHED2" "$OPEN2_ITERS" -t 2 -T "$BUDGET_MS") ;;
	enoent) args=(loop enoent "$MISSING" "$ENOENT_ITERS" -T "$BUDGET_MS") ;;
	getppid) args=(loop getppid - "$GETPPID_ITERS" -T "$BUDGET_MS") ;;
	watched) args=(watched "$KEY" "$WATCHED_ITERS") ;;
	etcd) args=(as "$ETCD_BIN" loop open "$ETCD_KEY" "$ETCD_ITERS" -T "$BUDGET_MS") ;;
	forkexec) args=(loop forkexec /bin/true "$FORK_ITERS" -T "$BUDGET_MS") ;;
	esac
	c0=$(cpu_ticks $MON_PIDS)
	o0=$(out_size)
	[ "$cfg" = auditd ] && lost0=$(audit_status lost)
	if ! kwb "$out" "${args[@]}"; then
		add_note "$cfg" "$w: kwbench failed: $(grep -v 'pinned\|pid=' "$out.err" | tail -n1)"
		ROUND_LINE+=" $w=ERR"
		[ "$w" = watched ] || return
	fi
	case $w in watched | etcd) settle ;; esac
	c1=$(cpu_ticks $MON_PIDS)
	o1=$(out_size)
	add CPUMS "$cfg $w" $(((c1 - c0) * 1000 / HZ))
	add BYTES "$cfg $w" $((o1 - o0))
	if [ "$w" = watched ]; then
		line=$(cat "$out")
		v=$(sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p' <<<"$line")
		pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line")
		opens=$(sed -n 's/.*opens=\([0-9]*\).*/\1/p' <<<"$line")
		[ "${opens:-0}" = "$WATCHED_ITERS" ] || v=
		if [ "$cfg" != none ] && [ -n "$pid" ]; then
			segment "$o0" "$o1" >"$WORK/seg"
			cnt=$(watched_count "$cfg" "$pid" "$WORK/seg")
			read -r k l o ov <<<"$cnt"
			if [ "$cfg" = auditd ]; then
				lost1=$(audit_status lost)
				l=$((${lost1:-0} - ${lost0:-0}))
			fi
			addn ACC "$cfg opens" "${opens:-0}"
			addn ACC "$cfg events" "${k:-0}"
			addn ACC "$cfg lost" "${l:-0}"
			addn ACC "$cfg other" "${o:-0}"
			addn ACC "$cfg overflow" "${ov:-0}"
			addn ACC "$cfg runs" 1
			[ $((${k:-0} + ${l:-0})) = "${opens:-0}" ] || addn ACC "$cfg badruns" 1
			ROUND_LINE+=" watched=${v:-ERR}(${k:-?}+${l:-?}lost/${opens:-?})"
		else
			ROUND_LINE+=" watched=${v:-ERR}"
		fi
	else
		v=$(cat "$out")
		ROUND_LINE+=" $w=$v"
	fi
	if is_number "${v:-}"; then
		add VALS "$cfg $w" "$v"
	else
		add_note "$cfg" "$w: kwbench printed '${v:-}'"
	fi
}

# map_memlock PROG_IDS...: bytes_memlock summed over the unique maps of these programs.
map_memlock() {
	local id ids=
	for id in "$@"; do
		ids+=" $(bpftool -j prog show id "$id" 2>/dev/null | jq -r '.map_ids[]?' 2>/dev/null)"
	done
	for id in $(tr ' ' '\n' <<<"$ids" | grep . | sort -un); do
		bpftool -j map show id "$id" 2>/dev/null | jq -r '.bytes_memlock // 0'
	done | awk '{ s += $1 } END { print s + 0 }'
}

# map_breakdown PROG_IDS...: "name type max_entries memlock" of each map, one a line.
MAP_BREAKDOWN=
map_breakdown() {
	local id ids=
	for id in "$@"; do
		ids+=" $(bpftool -j prog show id "$id" 2>/dev/null | jq -r '.map_ids[]?' 2>/dev/null)"
	done
	for id in $(tr ' ' '\n' <<<"$ids" | grep . | sort -un); do
		bpftool -j map show id "$id" 2>/dev/null |
			jq -r '"\(.name) (\(.type), \(.max_entries)) \(.bytes_memlock // 0)"'
	done | sort -k4 -gr | awk '{ printf "%s%s %s %.0f KiB", (NR > 1 ? "; " : ""), $1, $2 " " $3, $4 / 1024 }'
}

# fd_map_memlock PID: bytes_memlock of the maps PID holds (for bpftrace, whose programs are
# not named by any output).
fd_map_memlock() {
	grep -h '^map_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un |
		while read -r id; do
			bpftool -j map show id "$id" 2>/dev/null | jq -r '.bytes_memlock // 0'
		done | awk '{ s += $1 } END { print s + 0 }'
}

# coverage CFG: which open routes of the key the running monitor reports (round 1 only).
ROUTES="plain relative hardlink symlink proc-root bind-mount openat2 denied-eacces"
coverage() {
	local cfg=$1 r pid o0 o1 seg=$WORK/cov.seg
	declare -A rp
	o0=$(out_size)
	mkdir -p "$WORK/cov"
	ln -f "$KEY" "$WORK/cov/hard.key" 2>/dev/null
	ln -sf "$KEY" "$WORK/cov/sym.key"
	for r in $ROUTES; do
		case $r in
		plain) cat "$KEY" >/dev/null 2>&1 & ;;
		relative) (cd "$PKI" && exec cat ./ca.key >/dev/null 2>&1) & ;;
		hardlink) cat "$WORK/cov/hard.key" >/dev/null 2>&1 & ;;
		symlink) cat "$WORK/cov/sym.key" >/dev/null 2>&1 & ;;
		proc-root) cat "/proc/self/root$KEY" >/dev/null 2>&1 & ;;
		bind-mount)
			unshare -m sh -c "mount --make-rprivate / && mount --bind '$PKI' '$WORK/cov' &&
				exec cat '$WORK/cov/ca.key'" >/dev/null 2>&1 &
			;;
		openat2) "$KWBENCH" openat2 "$KEY" >/dev/null 2>&1 & ;;
		denied-eacces)
			setpriv --reuid=65534 --regid=65534 --clear-groups cat "$KEY" >/dev/null 2>&1 &
			;;
		esac
		rp[$r]=$!
		wait "${rp[$r]}" 2>/dev/null
	done
	settle
	o1=$(out_size)
	segment "$o0" "$o1" >"$seg"
	for r in $ROUTES; do
		pid=${rp[$r]}
		case $cfg in
		keywatch) grep -q "\"process\":{\"pid\":$pid," "$seg" ;;
		auditd) grep -q "^type=SYSCALL.* pid=$pid .*key=\"kwbench\"" "$seg" ;;
		*) grep -q "^pid=$pid " "$seg" ;;
		esac && COVER["$cfg $r"]=yes || COVER["$cfg $r"]=no
	done
}

# slot CFG: start, every workload, collect, stop.
slot() {
	local cfg=$1 w c0 c1 hwm mem
	MON_ERR=
	if ! mon_start "$cfg"; then
		add_note "$cfg" "round $ROUND: did not start: $MON_ERR"
		ROUND_LINE+=" | $cfg: NOT STARTED"
		return
	fi
	ROUND_LINE+=" | $cfg:"
	[ "$cfg" = none ] || add SLOT "$cfg ready_ms" "$MON_READY_MS"
	note_foreign
	c0=$(cpu_ticks $MON_PIDS)
	for w in $WORKLOADS; do
		run_workload "$cfg" "$w"
	done
	c1=$(cpu_ticks $MON_PIDS)
	if [ "$cfg" != none ]; then
		add SLOT "$cfg cpu_ms" $(((c1 - c0) * 1000 / HZ))
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$MON_PID/status" 2>/dev/null)
		[ -n "$hwm" ] && add SLOT "$cfg rss_kib" "$hwm"
		hwm=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status" 2>/dev/null)
		[ -n "$hwm" ] && add SLOT "$cfg vmrss_kib" "$hwm"
		case $cfg in
		keywatch)
			# shellcheck disable=SC2046 # one argument per program id
			mem=$(map_memlock $(head -n1 "$MON_OUT" | jq -r '.keywatch.programs[].id'))
			add SLOT "$cfg mapmem" "$mem"
			MAP_BREAKDOWN=$(map_breakdown $(head -n1 "$MON_OUT" | jq -r '.keywatch.programs[].id'))
			;;
		bpftrace) add SLOT "$cfg mapmem" "$(fd_map_memlock "$MON_PID")" ;;
		esac
		[ "$ROUND" = 1 ] && coverage "$cfg"
	fi
	mon_stop
	if [ "$cfg" = keywatch ] && [ "$MON_RC" != 0 ]; then
		add_note keywatch "round $ROUND: agent exit status $MON_RC"
	fi
	[ "$cfg" = auditd ] && rm -f "$AUDIT_DIR/audit.log"
}

# latency CFG: open-to-line latency, kwbench spawning the monitor on a pipe.
declare -A LAT_LINES
latency() {
	local cfg=$1 out=$WORK/lat.out line
	local -a cmd
	case $cfg in
	keywatch) cmd=(-- "$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" --output - --heartbeat 0) ;;
	bpftrace)
		ensure_tracefs || return
		cmd=(--text -- bpftrace -B none "$WORK/kw.bt")
		;;
	fanotify) mapfile -t files <"$WORK/watched.list" && cmd=(--text -- "$FANWATCH" "${files[@]}") ;;
	esac
	audit_quiet
	if KWBENCH_RAW=$WORK/lat.$cfg.raw kwb "$out" latency "$KEY" "$LAT_SAMPLES" "${cmd[@]}"; then
		line=$(cat "$out")
		LAT_LINES[$cfg]+="round $ROUND: $line"$'\n'
		ROUND_LINE+=" | lat $cfg p50=$(sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p' <<<"$line")"
		LAT_TIMEOUTS[$cfg]=$((${LAT_TIMEOUTS[$cfg]:-0} + $(sed -n 's/.*timeouts=\([0-9]*\).*/\1/p' <<<"$line")))
	else
		LAT_LINES[$cfg]+="round $ROUND: failed: $(cat "$out") $(grep -v 'pinned\|pid=' "$out.err" | tail -n2 | tr '\n' ' ')"$'\n'
		add_note "$cfg" "latency round $ROUND failed"
	fi
}
declare -A LAT_TIMEOUTS

# ---- statistics -------------------------------------------------------------------------------

median() {
	tr ' ' '\n' <<<"$*" | grep . | sort -g |
		awk '{ a[NR] = $1 } END { if (!NR) print ""; else if (NR % 2) print a[(NR + 1) / 2];
			else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxof() { tr ' ' '\n' <<<"$*" | grep . | sort -g | tail -n1; }

# pct P COLUMN FILE: nearest-rank percentile of the numbers in COLUMN of FILE ("-" skipped).
pct() {
	[ -s "$3" ] || return 0
	awk -v c="$2" '$c != "-" && $c != "" { print $c }' "$3" | sort -g |
		awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) exit;
			r = p / 100 * NR; k = int(r); if (k < r) k++; if (k < 1) k = 1; print a[k] }'
}

ratio() {
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'
}

# ratio_range CFG W: min-max over rounds of the per-round CFG/none ratio.
ratio_range() {
	local a b
	read -ra a <<<"${VALS["none $2"]:-}"
	read -ra b <<<"${VALS["$1 $2"]:-}"
	[ "${#a[@]}" = "${#b[@]}" ] && [ "${#a[@]}" -gt 0 ] || return 0
	paste <(printf '%s\n' "${a[@]}") <(printf '%s\n' "${b[@]}") |
		awk '{ r = $2 / $1; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
			END { printf "%.2f-%.2f", lo, hi }'
}

verdict() {
	[ -n "$1" ] || {
		echo "MISS (not measured)"
		return
	}
	awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "PASS" : "MISS" }'
}

# ---- the rounds -------------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -ra CFG_ARR <<<"$CONFIGS"
NCFG=${#CFG_ARR[@]}
has_cfg none || die "KW_BENCH_CONFIGS must include none (the reference)"
echo "keywatch bench: $ROUNDS rounds of [$CONFIGS] (order rotated per round), workloads:" \
	"$WORKLOADS; $NWATCHED watched files; latency $LAT_SAMPLES samples/round"
BENCH_T0=$(date +%s)
for ROUND in $(seq 1 "$ROUNDS"); do
	order=()
	for i in $(seq 0 $((NCFG - 1))); do
		order+=("${CFG_ARR[$(((i + ROUND - 1) % NCFG))]}")
	done
	ROUND_LINE="round $ROUND/$ROUNDS (${order[*]}):"
	for cfg in "${order[@]}"; do
		slot "$cfg"
	done
	for cfg in keywatch fanotify bpftrace; do
		has_cfg "$cfg" || continue
		if [ "$cfg" = bpftrace ] && [[ " $ALT_LAT_ROUNDS " != *" $ROUND "* ]]; then
			continue
		fi
		latency "$cfg"
	done
	echo "$ROUND_LINE"
done
ROUNDS_S=$(($(date +%s) - BENCH_T0))

# ---- scale curves: keywatch with N extra watched files ----------------------------------------

# Extra files: N <= 256 by --watch (KW_MAX_WATCH_ARGS is 256), N <= 4096 by the policy's
# watch: list (POLICY_MAX_WATCH), above that as PEM private-key files dropped in
# /var/lib/kubelet/pki (found by structure). Each size: SCALE_ROUNDS pairs of (no monitor,
# keywatch) around the unwatched-open loop, order alternating.
declare -A SC # "N key" -> per-round values
scale_files() {
	local n=$1 dir=$2 i
	mkdir -p "$dir"
	for i in $(seq -f '%05g' 1 "$n"); do
		printf -- '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA%05dAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n' \
			"$((10#$i))" >"$dir/bench-$i.key"
	done
}
SCALE_T0=$(date +%s)
if [ -n "$SCALE_SIZES" ] && [ "$SCALE_ROUNDS" -gt 0 ]; then
	echo "scale: keywatch with extra watched files: $SCALE_SIZES"
	scale_files 256 "$ROOT/srv/bench-keys"
	for n in $SCALE_SIZES; do
		args=()
		method=
		if [ "$n" -le 256 ]; then
			method="--watch"
			for i in $(seq -f '%05g' 1 "$n"); do
				args+=(--watch "/srv/bench-keys/bench-$i.key")
			done
		elif [ "$n" -le 4096 ]; then
			method="policy watch:"
			scale_files "$n" "$ROOT/srv/bench-keys"
			{
				echo "apiVersion: keywatch.io/v1"
				echo "watch:"
				for i in $(seq -f '%05g' 1 "$n"); do
					echo "  - /srv/bench-keys/bench-$i.key"
				done
			} >"$WORK/policy.yaml"
			chmod 0644 "$WORK/policy.yaml"
			args=(--policy "$WORK/policy.yaml")
		else
			method="PEM files in /var/lib/kubelet/pki"
			scale_files "$n" "$ROOT/var/lib/kubelet/pki"
		fi
		SC["$n method"]=$method
		line="scale $n ($method):"
		for r in $(seq 1 "$SCALE_ROUNDS"); do
			if [ $((r % 2)) = 1 ]; then order=(none keywatch); else order=(keywatch none); fi
			for st in "${order[@]}"; do
				if [ "$st" = keywatch ]; then
					out=$WORK/scale.json
					rm -f "$out"
					t0=$(date +%s%N)
					MON_CFG=keywatch MON_OUT=$out
					"$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" --output "$out" --heartbeat 0 \
						"${args[@]}" 2>"$out.err" &
					MON_PID=$!
					if ! wait_line "$out" '"action":"watch-started"' 60; then
						SC["$n error"]="no watch-started: $(tail -n1 "$out.err")"
						mon_stop
						continue
					fi
					ts=$(head -n1 "$out" | jq -r '."@timestamp"')
					SC["$n watched"]=$(head -n1 "$out" | jq -r '.keywatch.watched')
					SC["$n ready_ms"]+=" $(awk -v a="$(date -d "$ts" +%s%N)" -v b="$t0" \
						'BEGIN { printf "%.1f", (a - b) / 1e6 }')"
					c0=$(cpu_ticks "$MON_PID")
					SC["$n start_cpu_ms"]+=" $((c0 * 1000 / HZ))"
				fi
				if kwb "$WORK/kwb.out" loop open "$UNWATCHED" "$OPEN_ITERS" -T "$BUDGET_MS"; then
					SC["$n $st"]+=" $(cat "$WORK/kwb.out")"
				fi
				if [ "$st" = keywatch ] && [ -n "$MON_PID" ]; then
					c1=$(cpu_ticks "$MON_PID")
					SC["$n run_cpu_ms"]+=" $(((c1 - c0) * 1000 / HZ))"
					SC["$n rss_kib"]+=" $(awk '/^VmHWM:/ { print $2 }' "/proc/$MON_PID/status")"
					mon_stop
				fi
			done
		done
		sa=$(median ${SC["$n none"]:-})
		sb=$(median ${SC["$n keywatch"]:-})
		echo "$line watched ${SC["$n watched"]:-?}, ready $(median ${SC["$n ready_ms"]:-}) ms," \
			"RSS $(maxof ${SC["$n rss_kib"]:-}) KiB, open $sa -> $sb ns ($(ratio "$sa" "$sb")x)"
		if [ "$n" -gt 4096 ]; then
			rm -f "$ROOT"/var/lib/kubelet/pki/bench-*.key
		fi
	done
fi
SCALE_S=$(($(date +%s) - SCALE_T0))

# ---- scale curve: keywatch with N processes seen ----------------------------------------------

# N short-lived processes one after another, each opening ca.key once (an alert each): every one
# is a new entry for the agent's per-process caches (the kernel's exe_announced LRU, the agent's
# exe-path and container-id caches). One agent per size; after the last process, wait until its
# output has every alert or a count of lost events (bounded), then read its CPU and memory.
declare -A PS # "N key" -> value
PROCS_T0=$(date +%s)
if [ -n "$PROC_SIZES" ]; then
	echo "scale: keywatch with N processes seen: $PROC_SIZES"
	for n in $PROC_SIZES; do
		out=$WORK/procs.json
		rm -f "$out"
		MON_CFG=keywatch MON_OUT=$out
		"$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" --output "$out" --heartbeat 0 2>"$out.err" &
		MON_PID=$!
		if ! wait_line "$out" '"action":"watch-started"' 60; then
			PS["$n error"]="no watch-started: $(tail -n1 "$out.err")"
			mon_stop
			continue
		fi
		PS["$n rss0_kib"]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status")
		c0=$(cpu_ticks "$MON_PID")
		t0=$(date +%s%N)
		"$KWBENCH" procs "$KEY" "$n" >"$WORK/procs.out" 2>"$WORK/procs.err" ||
			PS["$n error"]="kwbench procs: $(tail -n1 "$WORK/procs.err")"
		PS["$n run_s"]=$(awk -v a="$(date +%s%N)" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1e9 }')
		for i in $(seq 1 600); do
			ev=$(grep -c '"action":"key-open"' "$out")
			lost=$(grep -o '"keywatch.lost":[0-9]*' "$out" | awk -F: '{ s += $2 } END { print s + 0 }')
			[ $((ev + lost)) -ge "$n" ] && break
			sleep 0.1
		done
		PS["$n events"]=$ev
		PS["$n lost"]=$lost
		c1=$(cpu_ticks "$MON_PID")
		PS["$n cpu_ms"]=$(((c1 - c0) * 1000 / HZ))
		PS["$n rss_kib"]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status")
		PS["$n hwm_kib"]=$(awk '/^VmHWM:/ { print $2 }' "/proc/$MON_PID/status")
		mon_stop
		echo "procs $n: ${PS["$n run_s"]} s, agent CPU ${PS["$n cpu_ms"]} ms," \
			"RSS ${PS["$n rss0_kib"]} -> ${PS["$n rss_kib"]} KiB (peak ${PS["$n hwm_kib"]})," \
			"alerts $ev + lost $lost of $n${PS["$n error"]:+; ${PS["$n error"]}}"
		rm -f "$out"
	done
fi
PROCS_S=$(($(date +%s) - PROCS_T0))

# ---- callgrind: user-space instructions per event ---------------------------------------------

# Two runs of the agent under callgrind, with CG_N1 and CG_N2 paced events (kwbench latency:
# one open, then its alert, 1 ms apart): (Ir2 - Ir1) / (alerts2 - alerts1) is the agent's
# instructions per event, start-up and idle polling cancelled out (to the extent the two runs'
# idle time differs: ~1 ms per extra event of 100 ms-timer wakeups).
CG_N1=100
CG_N2=600
CG_IPE=
CG_T0=$(date +%s)
callgrind_run() {
	local n=$1 f=$WORK/cg.$1.out
	rm -f "$f"
	if ! kwb "$WORK/cg.$n.lat" latency "$KEY" "$n" -- env LD_PRELOAD="$VGSHIM" valgrind \
		--tool=callgrind --callgrind-out-file="$f" "$KEYWATCH" run --state "$WORK/learned-digests" --root "$ROOT" \
		--output - --heartbeat 0; then
		echo "kwbench: $(cat "$WORK/cg.$n.lat") $(grep -v 'pinned\|pid=' "$WORK/cg.$n.lat.err" | tail -n3 | tr '\n' ' ')"
		return 1
	fi
	sleep 0.5
	[ -s "$f" ] || {
		echo "no callgrind output"
		return 1
	}
	echo "$(sed -n 's/^samples=\([0-9]*\).*/\1/p' "$WORK/cg.$n.lat") $(awk '/^(summary|totals):/ { print $2; exit }' "$f")"
}
if [ "$CALLGRIND" = 1 ] && [ -z "${UNAVAIL[callgrind]:-}" ]; then
	echo "callgrind: agent under valgrind with $CG_N1 and $CG_N2 events"
	r2=
	if r1=$(callgrind_run $CG_N1) && r2=$(callgrind_run $CG_N2); then
		read -r s1 i1 <<<"$r1"
		read -r s2 i2 <<<"$r2"
		if [ -n "$i1" ] && [ -n "$i2" ] && [ "$s2" -gt "$s1" ]; then
			CG_IPE=$(awk -v a="$i1" -v b="$i2" -v x="$s1" -v y="$s2" \
				'BEGIN { printf "%.0f", (b - a) / (y - x) }')
			CG_DETAIL="Ir $i1 with $s1 events, $i2 with $s2 events, plus 3 warm-up events each"
		else
			UNAVAIL[callgrind]="unusable callgrind totals: '$r1' / '$r2'"
		fi
	else
		UNAVAIL[callgrind]="${r2:-$r1}"
	fi
elif [ "$CALLGRIND" != 1 ]; then
	UNAVAIL[callgrind]="skipped (KW_BENCH_CALLGRIND=$CALLGRIND)"
fi
CG_S=$(($(date +%s) - CG_T0))

# The audit state goes back now, so the report can say what was left.
audit_restore

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------

declare -A LABEL=(
	[open]="open+close, unwatched file (pki dir), 1 thread"
	[open2]="open+close, unwatched file (pki dir), 2 threads"
	[enoent]="failed open (ENOENT)"
	[getppid]="non-open syscall (getppid)"
	[watched]="watched key opened in a tight loop (unexpected process)"
	[etcd]="etcd-like expected reader (/usr/local/bin/etcd)"
	[forkexec]="fork+exec+wait /bin/true"
)
declare -A TARGET=([open]=1.15 [open2]=1.15 [enoent]=1.10 [getppid]=1.03 [watched]=2 [etcd]=1.3)
ALL_CFGS="none keywatch auditd bpftrace fanotify"
shown_cfgs() {
	local c
	for c in $ALL_CFGS; do
		has_cfg "$c" || [ -n "${UNAVAIL[$c]:-}" ] && echo "$c"
	done
}
mapfile -t SHOWN < <(shown_cfgs)

cell() { # cfg w -> "ns (ratio×)"
	local a b
	if [ -n "${UNAVAIL[$1]:-}" ]; then
		echo "unavailable"
		return
	fi
	b=$(median ${VALS["$1 $2"]:-})
	[ -n "$b" ] || {
		echo "n/a"
		return
	}
	[ "$1" = none ] && {
		echo "$b"
		return
	}
	a=$(median ${VALS["none $2"]:-})
	echo "$b ($(ratio "$a" "$b")×)"
}
kw_ratio() { ratio "$(median ${VALS["none $1"]:-})" "$(median ${VALS["$2 $1"]:-})"; }

declare -A RESULT
table_main() {
	local w c hdr sep res
	hdr="| workload (ns/op, median of $ROUNDS; ratio to none) |"
	sep="|---|"
	for c in "${SHOWN[@]}"; do
		hdr+=" $c |"
		sep+="---:|"
	done
	echo "$hdr target (keywatch) | result |"
	echo "$sep---|---|"
	for w in $WORKLOADS; do
		printf '| %s |' "${LABEL[$w]}"
		for c in "${SHOWN[@]}"; do
			printf ' %s |' "$(cell "$c" "$w")"
		done
		if [ -n "${TARGET[$w]:-}" ]; then
			res=$(verdict "$(kw_ratio "$w" keywatch)" "${TARGET[$w]}")
			RESULT[$w]=$res
			printf ' ≤ %s× | %s |\n' "${TARGET[$w]}" "$res"
		else
			printf ' (none) | |\n'
		fi
	done
}

acc_cell() { # cfg -> watched loop accounting
	local c=$1 op ev lo un ov
	[ -n "${UNAVAIL[$c]:-}" ] && {
		echo "unavailable"
		return
	}
	op=${ACC["$c opens"]:-0}
	[ "$op" -gt 0 ] || {
		echo "n/a"
		return
	}
	ev=${ACC["$c events"]:-0}
	lo=${ACC["$c lost"]:-0}
	ov=${ACC["$c overflow"]:-0}
	un=$((op - ev - lo))
	[ "$un" -lt 0 ] && un=0
	printf '%s events + %s counted lost of %s opens; unaccounted %s' "$ev" "$lo" "$op" "$un"
	[ "$ov" -gt 0 ] && printf ' (%s overflow notices)' "$ov"
	echo
}

slot_med() { median ${SLOT["$1 $2"]:-}; }
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

table_agent() {
	local c hdr sep v
	hdr="| per configuration |"
	sep="|---|"
	for c in "${SHOWN[@]}"; do
		[ "$c" = none ] && continue
		hdr+=" $c |"
		sep+="---|"
	done
	echo "$hdr"
	echo "$sep"
	row() { # label function
		local label=$1 fn=$2 c
		printf '| %s |' "$label"
		for c in "${SHOWN[@]}"; do
			[ "$c" = none ] && continue
			if [ -n "${UNAVAIL[$c]:-}" ]; then
				printf ' unavailable |'
			else
				printf ' %s |' "$($fn "$c")"
			fi
		done
		echo
	}
	f_ready() { echo "$(slot_med "$1" ready_ms) ms"; }
	f_cpu() { awk -v m="$(slot_med "$1" cpu_ms)" 'BEGIN { printf "%.2f s", m / 1000 }'; }
	f_cpuw() { echo "$(median ${CPUMS["$1 $W"]:-}) ms"; }
	f_rss() { echo "$(mib "$(maxof ${SLOT["$1 rss_kib"]:-})") MiB"; }
	f_vmrss() { echo "$(mib "$(median ${SLOT["$1 vmrss_kib"]:-})") MiB"; }
	f_bytes() { echo "$(median ${BYTES["$1 etcd"]:-}) B (max $(maxof ${BYTES["$1 etcd"]:-}))"; }
	f_wbytes() { echo "$(median ${BYTES["$1 watched"]:-}) B"; }
	f_acc() { acc_cell "$1"; }
	f_lat() {
		local f=$WORK/lat.$1.raw
		if [ -s "$f" ]; then
			echo "$(pct 50 1 "$f") / $(pct 99 1 "$f") µs ($(grep -c . "$f") samples)"
		else
			echo "n/a"
		fi
	}
	f_mem() {
		local m
		m=$(slot_med "$1" mapmem)
		[ -n "$m" ] && echo "$(mib $((m / 1024))) MiB" || echo "n/a"
	}
	row "start → ready (median)" f_ready
	row "agent CPU per slot (all 7 workloads, median)" f_cpu
	for W in watched etcd open forkexec; do
		row "agent CPU during $W (median)" f_cpuw
	done
	row "agent peak RSS (VmHWM, max)" f_rss
	row "agent RSS after the workloads (VmRSS, median)" f_vmrss
	row "output bytes during the etcd-like expected reader (median)" f_bytes
	row "output bytes during the watched loop (median)" f_wbytes
	row "watched loop: events vs lost (all rounds)" f_acc
	row "open-to-line latency p50 / p99" f_lat
	row "BPF map memory (memlock)" f_mem
}

table_scale() {
	local n a b
	echo "| extra watched files (method) | watched in all | start → watch-started | agent CPU at start | agent CPU during open loop | peak RSS | unwatched open: none → keywatch (ns/op) | ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for n in $SCALE_SIZES; do
		a=$(median ${SC["$n none"]:-})
		b=$(median ${SC["$n keywatch"]:-})
		printf '| %s (%s) | %s | %s ms | %s ms | %s ms | %s MiB | %s → %s | %s× |%s\n' "$n" \
			"${SC["$n method"]:-}" "${SC["$n watched"]:-?}" "$(median ${SC["$n ready_ms"]:-})" \
			"$(median ${SC["$n start_cpu_ms"]:-})" "$(median ${SC["$n run_cpu_ms"]:-})" \
			"$(mib "$(maxof ${SC["$n rss_kib"]:-})")" "${a:-n/a}" "${b:-n/a}" \
			"$(ratio "$a" "$b")" "${SC["$n error"]:+ error: ${SC["$n error"]}}"
	done
}

table_procs() {
	local n
	echo "| processes seen (each opens ca.key once) | time for all | agent CPU | CPU per process | RSS before → after | peak RSS (VmHWM) | alerts + counted lost |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	for n in $PROC_SIZES; do
		printf '| %s | %s s | %s ms | %s µs | %s → %s MiB | %s MiB | %s + %s of %s |%s\n' "$n" \
			"${PS["$n run_s"]:-n/a}" "${PS["$n cpu_ms"]:-n/a}" \
			"$(awk -v c="${PS["$n cpu_ms"]:-0}" -v n="$n" 'BEGIN { printf "%.1f", c * 1000 / n }')" \
			"$(mib "${PS["$n rss0_kib"]:-}")" "$(mib "${PS["$n rss_kib"]:-}")" \
			"$(mib "${PS["$n hwm_kib"]:-}")" "${PS["$n events"]:-?}" "${PS["$n lost"]:-?}" "$n" \
			"${PS["$n error"]:+ error: ${PS["$n error"]}}"
	done
}

table_cover() {
	local c r hdr sep
	hdr="| open route of ca.key (round 1) |"
	sep="|---|"
	for c in "${SHOWN[@]}"; do
		[ "$c" = none ] && continue
		hdr+=" $c |"
		sep+="---|"
	done
	echo "$hdr"
	echo "$sep"
	for r in $ROUTES; do
		printf '| %s |' "$r"
		for c in "${SHOWN[@]}"; do
			[ "$c" = none ] && continue
			printf ' %s |' "${COVER["$c $r"]:-n/a}"
		done
		echo
	done
}

targets() {
	local p50 p99 rss ready acc bytes lost w worse rows c kr cr un
	p50=$(pct 50 1 "$WORK/lat.keywatch.raw")
	p99=$(pct 99 1 "$WORK/lat.keywatch.raw")
	rss=$(maxof ${SLOT["keywatch rss_kib"]:-})
	ready=$(slot_med keywatch ready_ms)
	echo "| target | measured | result |"
	echo "|---|---|---|"
	for w in open open2 enoent getppid; do
		printf '| %s ≤ %s× | %s× (rounds %s) | %s |\n' "${LABEL[$w]}" "${TARGET[$w]}" \
			"$(kw_ratio "$w" keywatch)" "$(ratio_range keywatch "$w")" "${RESULT[$w]:-MISS}"
	done
	un=$((${ACC["keywatch opens"]:-0} - ${ACC["keywatch events"]:-0} - ${ACC["keywatch lost"]:-0}))
	if [ "${RESULT[watched]:-}" = PASS ] && [ "${ACC["keywatch runs"]:-0}" -gt 0 ] &&
		[ "$un" = 0 ] && [ "${ACC["keywatch badruns"]:-0}" = 0 ]; then
		acc=PASS
	else
		acc=MISS
	fi
	printf '| watched-key loop ≤ 2× with zero unaccounted opens | %s×; %s | %s |\n' \
		"$(kw_ratio watched keywatch)" "$(acc_cell keywatch)" "$acc"
	bytes=$(maxof ${BYTES["keywatch etcd"]:-})
	if [ "${RESULT[etcd]:-}" = PASS ] && [ "${bytes:-1}" = 0 ]; then res=PASS; else res=MISS; fi
	printf '| etcd-like expected reader ≤ 1.3× with constant (zero) output | %s×, output %s B max per run | %s |\n' \
		"$(kw_ratio etcd keywatch)" "${bytes:-n/a}" "$res"
	printf '| open-to-alert latency p50 ≤ 20 µs | %s µs | %s |\n' "${p50:-n/a}" "$(verdict "$p50" 20)"
	printf '| open-to-alert latency p99 ≤ 250 µs | %s µs | %s |\n' "${p99:-n/a}" "$(verdict "$p99" 250)"
	local pn prss
	pn=$(tr ' ' '\n' <<<"$PROC_SIZES" | grep . | sort -g | tail -n1)
	prss=${PS["$pn rss_kib"]:-}
	printf '| agent RSS ≤ 16 MiB at 100,000 cached processes | %s MiB after %s processes (VmRSS; peak %s MiB VmHWM, the transient of loading the kernel BTF); %s MiB peak in the comparison rounds | %s |\n' \
		"$(mib "$prss")" "${pn:-n/a}" "$(mib "${PS["$pn hwm_kib"]:-}")" "$(mib "$rss")" \
		"$(verdict "$(mib "$prss")" 16)"
	printf '| start to watch-started ≤ 300 ms | %s ms | %s |\n' "${ready:-n/a}" \
		"$(verdict "$ready" 300)"
	# beats auditd and bpftrace on every row: lower ns/op ratio on every workload, lower CPU,
	# lower RSS, lower latency (bpftrace).
	worse=
	rows=0
	for c in auditd bpftrace; do
		[ -n "${UNAVAIL[$c]:-}" ] && {
			worse+=" ($c unavailable)"
			continue
		}
		for w in $WORKLOADS; do
			kr=$(kw_ratio "$w" keywatch)
			cr=$(kw_ratio "$w" "$c")
			if [ -z "$kr" ] || [ -z "$cr" ]; then
				continue
			fi
			rows=$((rows + 1))
			if ! awk -v a="$kr" -v b="$cr" 'BEGIN { exit !(a < b) }'; then
				worse+=" $w vs $c ($kr× vs $cr×; per-round ranges $(ratio_range keywatch "$w")"
				worse+=" vs $(ratio_range "$c" "$w"));"
			fi
		done
		kr=$(slot_med keywatch cpu_ms)
		cr=$(slot_med "$c" cpu_ms)
		if [ -n "$kr" ] && [ -n "$cr" ]; then
			rows=$((rows + 1))
			awk -v a="$kr" -v b="$cr" 'BEGIN { exit !(a < b) }' ||
				worse+=" agent CPU vs $c (${kr} vs ${cr} ms);"
		fi
		kr=$(maxof ${SLOT["keywatch rss_kib"]:-})
		cr=$(maxof ${SLOT["$c rss_kib"]:-})
		if [ -n "$kr" ] && [ -n "$cr" ]; then
			rows=$((rows + 1))
			[ "$kr" -lt "$cr" ] || worse+=" RSS vs $c ($kr vs $cr KiB);"
		fi
	done
	if [ "$rows" -gt 0 ] && [ -z "$worse" ]; then res=PASS; else res=MISS; fi
	printf '| beats auditd and bpftrace on every row (ns/op ratio per workload, agent CPU, RSS) | %s rows compared;%s | %s |\n' \
		"$rows" "${worse:- keywatch lower on all}" "$res"
}

facts() {
	local cpu c w
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ'); host: $(hostname); kernel: $(uname -r);" \
		"nproc: $(nproc); CPU: ${cpu:-unknown}; memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- CPU mitigations: $(for v in spectre_v2 spec_rstack_overflow retbleed; do
		f=/sys/devices/system/cpu/vulnerabilities/$v
		[ -r "$f" ] && printf '%s: %s; ' "$v" "$(cat "$f")"
	done | sed 's/; $//')"
	echo "- versions: keywatch $("$KEYWATCH" --version 2>/dev/null | awk '{ print $2 }')" \
		"($KEYWATCH_SRC, sha256 $(sha256sum "$KEYWATCH" | cut -c1-12), git $(git -C "$SRCDIR" \
		describe --always --dirty 2>/dev/null || echo -));" \
		"$(bpftrace --version 2>/dev/null || echo 'bpftrace -');" \
		"auditd $(dpkg-query -W -f='${Version}' auditd 2>/dev/null || echo -);" \
		"$(valgrind --version 2>/dev/null || echo 'valgrind -')"
	echo "- method: $ROUNDS rounds; per round each configuration started once, every workload" \
		"run under it, stopped; order rotated per round; ns/op = median over rounds (each run:" \
		"median of 31 batches after a warm-up, iterations cut to fit ~$BUDGET_MS ms when a" \
		"configuration is slow; watched loop: one timed pass of all its opens, no warm-up);" \
		"ratio = configuration / none. kwbench pinned (${PIN_NOTE:-pinning unknown}); the" \
		"monitors are not pinned. Iterations per run: open $OPEN_ITERS, open2 $OPEN2_ITERS per" \
		"thread, enoent $ENOENT_ITERS, getppid $GETPPID_ITERS, watched $WATCHED_ITERS, etcd" \
		"$ETCD_ITERS, forkexec $FORK_ITERS"
	echo "- watched set: $NWATCHED files (keywatch's); bpftrace: sys_enter_openat, str(filename)" \
		"looked up in a map of their absolute paths, -B none ($BT_LEFT_OUT path(s) over" \
		"bpftrace's 64-byte literal limit left out; none is opened by a workload); fanotify: FAN_OPEN inode marks on" \
		"each (tests/bench/fanwatch.c, default queue); auditd: -w $PKI -p r (the whole pki" \
		"directory, so ca.crt opens are audited too), log_format ENRICHED, flush" \
		"INCREMENTAL_ASYNC, -b 8192 --backlog_wait_time 60000 (Debian's audit.rules)"
	echo "- per-round ratio range (min-max), keywatch: $(for w in $WORKLOADS; do
		printf '%s %s, ' "$w" "$(ratio_range keywatch "$w")"
	done | sed 's/, $//')"
	for c in keywatch fanotify bpftrace; do
		[ -s "$WORK/lat.$c.raw" ] || continue
		echo "- latency $c: $(grep -c . "$WORK/lat.$c.raw") samples, max" \
			"$(pct 100 1 "$WORK/lat.$c.raw") µs, timeouts ${LAT_TIMEOUTS[$c]:-0}$([ "$c" = keywatch ] &&
				echo "; kernel event → line read (by @timestamp): p50 $(pct 50 2 "$WORK/lat.$c.raw") µs, p99 $(pct 99 2 "$WORK/lat.$c.raw") µs")"
	done
	echo "- latency: 1 ms between samples, each waits for its line; bpftrace in round(s)" \
		"$ALT_LAT_ROUNDS only (each start compiles for seconds)"
	if [ -n "$CG_IPE" ]; then
		echo "- callgrind (user-space instructions per key-open event, agent under valgrind with" \
			"tests/bench/vgshim.c for openat2): $CG_IPE ($CG_DETAIL)"
	fi
	echo "- phases: rounds ${ROUNDS_S} s, scale ${SCALE_S} s, processes ${PROCS_S} s, callgrind ${CG_S} s; total" \
		"$(($(date +%s) - START_S)) s"
	echo "- load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END"
	[ -n "$MAP_BREAKDOWN" ] && echo "- keywatch's BPF maps (memlock): $MAP_BREAKDOWN"
	echo "- agent CPU: utime+stime from /proc/PID/stat, $HZ ticks/s (10 ms resolution at 100):" \
		"0 ms means less than a tick; auditd's figures include the kauditd kernel thread"
	echo "- watched loop: keywatch counts key-open alerts for the loop's pid plus the counts in" \
		"its events-lost alerts; auditd: SYSCALL records for the pid (lost: auditctl -s lost" \
		"delta); bpftrace: lines for the pid plus 'Lost N events'; fanotify: lines for the pid." \
		"fanotify merges an event into an identical one still queued (same pid, file, mask), so" \
		"a tight loop yields fewer events than opens with no overflow notice: those opens are" \
		"counted unaccounted"
	echo "- open routes (round 1; each one process, its pid looked up in the monitor's output):" \
		"keywatch matches (device, inode) at syscall exit, failed EACCES/EPERM opens by name;" \
		"auditd's -w on the directory is path-based (a hard link elsewhere is missed);" \
		"bpftrace compares the string passed to openat at entry (any other spelling, and" \
		"openat2/open/creat, is missed; a denied attempt is seen); fanotify inode marks see" \
		"every successful open, never a failed one"
	[ "$FOREIGN_SEEN" != 0 ] && echo "- warning: another sys_exit_openat BPF program (another" \
		"agent, a test suite) was loaded during $FOREIGN_SEEN slot(s): it taxes every" \
		"configuration, so ratios understate each monitor's own cost"
	[ -n "$AUDIT_NOTE" ] && echo "- audit: $AUDIT_NOTE"
	for c in "${!UNAVAIL[@]}"; do
		echo "- not measured: $c: ${UNAVAIL[$c]}"
	done
	for c in "${!NOTE[@]}"; do
		echo "- problem: $c: ${NOTE[$c]}"
	done
}

plot() {
	local png=$1 dat=$WORK/ratios.dat sdat=$WORK/scale.dat pdat=$WORK/procs.dat c w r
	[ -z "${UNAVAIL[plot]:-}" ] || return 1
	local -a pc=()
	for c in "${SHOWN[@]}"; do
		[ "$c" = none ] && continue
		for w in $WORKLOADS; do
			if [ -n "$(kw_ratio "$w" "$c")" ]; then
				pc+=("$c")
				break
			fi
		done
	done
	[ "${#pc[@]}" -gt 0 ] || return 1
	{
		echo "workload ${pc[*]}"
		for w in $WORKLOADS; do
			printf '%s' "$w"
			for c in "${pc[@]}"; do
				r=$(kw_ratio "$w" "$c")
				printf ' %s' "${r:-NaN}"
			done
			echo
		done
	} >"$dat"
	{
		for n in $SCALE_SIZES; do
			echo "$n ${SC["$n watched"]:-NaN} $(mib "$(maxof ${SC["$n rss_kib"]:-})" || echo NaN)" \
				"$(median ${SC["$n start_cpu_ms"]:-} || true) $(ratio "$(median ${SC["$n none"]:-})" "$(median ${SC["$n keywatch"]:-})" || echo NaN)" \
				"$(median ${SC["$n ready_ms"]:-} || true)"
		done
	} | awk 'NF == 6' >"$sdat"
	for n in $PROC_SIZES; do
		[ -n "${PS["$n rss_kib"]:-}" ] || continue
		echo "$n $(mib "${PS["$n rss_kib"]}") $(mib "${PS["$n hwm_kib"]}")" \
			"$(awk -v c="${PS["$n cpu_ms"]:-0}" -v n="$n" 'BEGIN { printf "%.1f", c * 1000 / n }')"
	done >"$pdat"
	local ncol=${#pc[@]}
	gnuplot 2>"$WORK/gnuplot.err" <<EOF || return 1
set terminal pngcairo size 2300,620 font "sans,10"
set output "$png"
set multiplot layout 1,4 title "keywatch bench $(date -u +%Y-%m-%d) — $(uname -r), $(nproc) CPUs"
set title "ns/op ratio to no monitor (median of $ROUNDS rounds)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.8:*]
set grid ytics
set xtics rotate by -25
set key top left
set ylabel "ratio (log scale)"
plot for [i=2:$((ncol + 1))] "$dat" using i:xtic(1) title columnheader(i), 1 with lines lc "black" dt 2 notitle
unset logscale y
unset style
set xtics norotate
set title "keywatch vs extra watched files: memory, start"
set logscale x 10
set xrange [10:30000]
set xlabel "watched files (total)"
set ylabel "peak RSS (MiB)"
set y2label "ms"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key bottom right
plot "$sdat" using 2:3 with linespoints lw 2 title "peak RSS (MiB, left)", \
     "$sdat" using 2:6 axes x1y2 with linespoints title "start → watch-started (ms, right)", \
     "$sdat" using 2:4 axes x1y2 with linespoints title "CPU at start (ms, right)"
unset y2tics
unset y2label
set ytics mirror
set title "keywatch vs extra watched files: unwatched open"
set ylabel "ratio to no monitor"
set yrange [0.8:*]
set key bottom right
plot "$sdat" using 2:5 with linespoints lw 2 title "open+close of an unwatched file", \
     1 with lines lc "black" dt 2 notitle
set title "keywatch vs processes seen (each opens ca.key once)"
set xrange [500:200000]
set xlabel "processes"
set ylabel "MiB"
set y2label "µs of agent CPU per process"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key bottom right
plot "$pdat" using 1:2 with linespoints lw 2 title "RSS after (MiB, left)", \
     "$pdat" using 1:3 with linespoints title "peak RSS (MiB, left)", \
     "$pdat" using 1:4 axes x1y2 with linespoints title "CPU per process (µs, right)"
unset multiplot
EOF
}

# ---- write ------------------------------------------------------------------------------------

STAMP=$(date -u +%Y-%m-%d-%H%M)
mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
MD=$RESULTS_DIR/$STAMP.md
PNG=$RESULTS_DIR/$STAMP.png
if plot "$PNG"; then
	PLOT_OK=1
else
	PLOT_OK=
	[ -n "${UNAVAIL[plot]:-}" ] || UNAVAIL[plot]="gnuplot failed: $(head -n2 "$WORK/gnuplot.err" | tr '\n' ' ')"
fi
{
	echo "# keywatch bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "keywatch against what an operator would pick instead, side by side in one run" \
		"(\`make bench\`, tests/bench/run.sh). Machine: $(nproc) CPUs," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r)."
	echo
	[ -n "$PLOT_OK" ] && echo "![ratios and scale curves]($STAMP.png)" && echo
	echo "## Cost per operation"
	echo
	table_main
	echo
	echo "## The monitors themselves"
	echo
	table_agent
	echo
	echo "## Targets (issue 7)"
	echo
	targets
	echo
	echo "## Scale: keywatch with more watched files"
	echo
	table_scale
	echo
	echo "## Scale: keywatch with more processes seen"
	echo
	table_procs
	echo
	echo "## Which opens each monitor reports"
	echo
	table_cover
	echo
	echo "## Facts"
	echo
	facts
	echo
	echo "### Latency per round"
	echo
	for c in keywatch fanotify bpftrace; do
		[ -n "${LAT_LINES[$c]:-}" ] || continue
		printf '%s\n' "${LAT_LINES[$c]}" | grep . | sed "s/^/- $c /"
	done
} >"$MD.tmp" && mv "$MD.tmp" "$MD"
cp "$MD" "$RESULTS_DIR/latest.md"
sed -i "s|($STAMP.png)|(latest.png)|" "$RESULTS_DIR/latest.md"
[ -n "$PLOT_OK" ] && cp "$PNG" "$RESULTS_DIR/latest.png"
mkdir -p "$(dirname "$RESULTS_COPY")" && cp "$MD" "$RESULTS_COPY"

# README.md's performance figures are this run's: the block between the markers is replaced by
# the targets, the comparison and the process curve from the results just written.
readme_block() {
	local md=$1
	section() { awk -v h="## $1" '$0 == h { f = 1; next } /^## / { f = 0 } f' "$md"; }
	echo "Generated by \`make bench\` on $(date -u '+%Y-%m-%d'), $(nproc) CPUs" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r);" \
		"all tables, the plot and the machine facts: [tests/bench/results/latest.md](tests/bench/results/latest.md)."
	echo
	echo "**Targets (issue 7)**"
	section "Targets (issue 7)"
	echo "**Cost per operation, side by side**"
	section "Cost per operation"
	echo "**The monitors themselves**"
	section "The monitors themselves"
	echo "**keywatch with more processes seen**"
	section "Scale: keywatch with more processes seen"
}
README=$SRCDIR/README.md
BEGIN_MARK='<!-- bench:begin: generated by tests/bench/run.sh, do not edit -->'
END_MARK='<!-- bench:end -->'
if [ "${KW_BENCH_README:-1}" != 0 ] && grep -qxF "$BEGIN_MARK" "$README" &&
	grep -qxF "$END_MARK" "$README"; then
	readme_block "$RESULTS_DIR/latest.md" >"$WORK/readme.block"
	awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v blk="$WORK/readme.block" '
		$0 == b { print; while ((getline l < blk) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$README" >"$WORK/README.md" && cat "$WORK/README.md" >"$README" &&
		echo "README.md: performance block rewritten from $RESULTS_DIR/latest.md"
fi
echo
cat "$MD"
echo
echo "(written to $MD${PLOT_OK:+ and $PNG}; copied to $RESULTS_DIR/latest.md)"
# A benchmark: exit 1 only when the reference comparison could not be measured at all.
if [ -z "$(median ${VALS["none open"]:-})" ] ||
	{ has_cfg keywatch && [ -z "$(median ${VALS["keywatch open"]:-})" ]; }; then
	note "nothing measured for keywatch against no monitor"
	exit 1
fi
exit 0
