#!/usr/bin/env bash
# End-to-end: delivery to a SIEM (issue 5). A real rsyslog (Debian rsyslog + rsyslog-openssl) on
# loopback with a throwaway CA: RFC 5424 over TLS (RFC 5425) with octet counting (RFC 6587),
# refused peers, mutual TLS, plain TCP only when asked, outages with and without an agent
# restart, a full spool, metrics checked by promtool, hostile strings in every format.
# usage: tests/e2e/siem.sh KEYWATCH-BINARY   (SIEM_OUTAGE=0 skips the two 30 s outages)
set -u
cd "$(dirname "$0")/../.." || exit 1
KEYWATCH=$(realpath "$1")
. tests/e2e/lib.sh
. tests/e2e/collector.sh
need_root
# The two 30 s outages test timing, not memory: the sanitizer run skips them.
[ "$(basename "$KEYWATCH")" = keywatch-san ] && SIEM_OUTAGE=${SIEM_OUTAGE:-0}
for c in rsyslogd promtool curl python3; do
	if ! command -v "$c" >/dev/null && [ ! -x "/usr/sbin/$c" ]; then
		echo "siem: $c missing (make deps installs rsyslog, rsyslog-openssl, prometheus, curl)" >&2
		exit 1
	fi
done

WORK=$(mktemp -d /tmp/kw-siem.XXXXXX)
chmod 755 "$WORK"
AGENT_PID=
COLS=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	for d in $COLS; do collector_stop "$d"; done
	cg_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT
NODE=$WORK/node
tests/gen-layout.sh "$NODE" >/dev/null || exit 1
CA=$NODE/etc/kubernetes/pki/ca.key
PKI=$WORK/pki
mkdir -p "$PKI"
collector_certs "$PKI" || { not_ok "throwaway CA" "openssl failed"; e2e_summary; exit 1; }

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}
# col NAME MODE — a collector in $WORK/NAME; sets its port in PORT_<NAME>.
col() {
	local d=$WORK/$1 p
	mkdir -p "$d"
	cp "$PKI"/*.pem "$PKI"/*.key "$d"/
	p=$(free_port)
	collector_start "$d" "$p" "$2" >/dev/null || return 1
	COLS="$COLS $d"
	eval "PORT_$1=$p"
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# net_agent LOG COLDIR ARGS... — an agent sending to a collector; waits for its watch-started
# to arrive there (10 s).
net_agent() {
	local log=$1 cd=$2 before i
	shift 2
	before=$(lines "$cd/msg")
	"$KEYWATCH" run --state "$WORK/learned" --aggregate 1 --root "$NODE" "$@" 2>"$log" &
	AGENT_PID=$!
	for i in $(seq 1 100); do
		tail -n +$((before + 1)) "$cd/msg" 2>/dev/null | grep -q '"action":"watch-started"' && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.1
	done
	cat "$log" >&2
	return 1
}
# arrived COLDIR PID [TENTHS] — the collector's first MSG for an open by PID (compact JSON).
# (A TLS client's hello sent to a plain-text collector lands there as garbage lines: only the
# JSON lines are read.)
arrived() {
	local i line
	for i in $(seq 1 "${3:-100}"); do
		line=$(grep -a '^{"' "$1/msg" 2>/dev/null | jq -c --argjson pid "$2" \
			'select(.process.pid == $pid and .event.action == "key-open")' 2>/dev/null | head -n1)
		[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
		sleep 0.1
	done
	return 1
}
TLS_ARGS=(--tls-ca "$PKI/ca.pem" --tls-server-name collector.keywatch.test)

# ---------------------------------------------------------------- TLS to rsyslog
col c1 tls || { not_ok "rsyslog with a TLS listener starts" "see above"; e2e_summary; exit 1; }
MPORT=$(free_port)
if net_agent "$WORK/a1.err" "$WORK/c1" --output "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" \
	--spool "$WORK/spool1" --metrics "127.0.0.1:$MPORT" --heartbeat 1; then
	ok "agent → rsyslog over TLS: watch-started arrives"
	trig open "$CA"
	ev=$(arrived "$WORK/c1" "$TRIG_PID")
	expect "an alert arrives at the collector, whole" "$ev" '.event.kind == "alert"' \
		'.file.path == "/etc/kubernetes/pki/ca.key"' '.keywatch.verdict == "unexpected"' \
		'(.event.id | test("^[0-9a-f]{16}-[0-9]+$"))'
	# A reader gone before the agent looks (the agent frozen meanwhile): its argv is the kernel's
	# copy from its exec.
	kill -STOP "$AGENT_PID"
	trig open "$CA"
	kill -CONT "$AGENT_PID"
	ev2=$(arrived "$WORK/c1" "$TRIG_PID")
	expect "a reader gone before the agent looks still has its argv (kept at exec)" "$ev2" \
		'.process.args[1] == "open"' "(.process.args[2] | endswith(\"pki/ca.key\"))" \
		'.process.args_count == 3' '.process.args_source == "exec"'
	id=$(printf '%s' "$ev" | jq -r .event.id)
	# The collector's raw message is what crossed the wire; its MSG is the JSON byte for byte.
	python3 - "$WORK/c1" "$id" <<'EOF' && ok "MSG is the JSON byte for byte (raw wire message vs rsyslog's %msg%)" || not_ok "MSG byte-identical" "see above"
import sys
d, id = sys.argv[1], sys.argv[2].encode()
raw = [l for l in open(d + "/raw", "rb").read().split(b"\n") if b'"id":"' + id + b'"' in l]
msg = [l for l in open(d + "/msg", "rb").read().split(b"\n") if b'"id":"' + id + b'"' in l]
assert len(raw) == 1 and len(msg) == 1, (len(raw), len(msg))
body = raw[0][raw[0].index(b"] {") + 2:]
assert body == msg[0], (body[:80], msg[0][:80])
EOF
	f=$(grep -F "id=\"$id\"" "$WORK/c1/fields" | head -n1)
	printf '%s\n' "$f" | awk -F'\t' '{ exit !($1 == 81 && $2 == 1 && $5 == "keywatch" && $7 == "key-open") }' &&
		printf '%s\n' "$f" | grep -q 'role="cluster-ca-key" verdict="unexpected"' &&
		ok "rsyslog parsed the header and structured data: PRI 81 (authpriv.alert), MSGID key-open, role and verdict" ||
		not_ok "header and SD as rsyslog parsed them" "$f"
	grep -q "connected, TLSv1.[23], server verified as collector.keywatch.test" "$WORK/a1.err" &&
		ok "the agent logs the verified TLS connection" || not_ok "TLS connection logged" "$(cat "$WORK/a1.err")"
	python3 tests/e2e/rfc5424.py "$WORK/c1/raw" >"$WORK/v1" && ok "every message is valid RFC 5424 with JSON MSG ($(tail -n1 "$WORK/v1"))" ||
		not_ok "RFC 5424" "$(head -n3 "$WORK/v1")"
	st=$(stat -c '%a' "$WORK/spool1" "$WORK/spool1/spool" | tr '\n' ' ')
	[ "$st" = "700 600 " ] && ok "spool directory 0700, spool file 0600" || not_ok "spool modes" "$st"
	# One process hammering a key: one alert, then counted repeats.
	trig loop 40 "$CA"
	for i in $(seq 1 60); do
		[ "$(opens_of "$WORK/c1/msg" "$TRIG_PID")" = 40 ] && break
		sleep 0.1
	done
	n1=$(jq -c --argjson p "$TRIG_PID" 'select(.process.pid == $p and .keywatch.aggregate == null)' "$WORK/c1/msg" | wc -l)
	[ "$(opens_of "$WORK/c1/msg" "$TRIG_PID")" = 40 ] && [ "$n1" = 1 ] &&
		ok "40 opens by one process: one alert, 39 repeats counted (event.kind alert, aggregate.count)" ||
		not_ok "repeats" "$(opens_of "$WORK/c1/msg" "$TRIG_PID") opens, $n1 alerts"
	hb=$(wait_first "$WORK/c1/msg" 30 'select(.event.action == "heartbeat")')
	expect "heartbeats carry delivery counters" "$hb" '.keywatch.counters.spool_records >= 0' \
		'.keywatch.counters.delivery_errors == 0' '.keywatch.counters.collector_connected == true'
	curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$WORK/metrics.txt"
	promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 &&
		ok "--metrics: promtool check metrics passes ($(wc -l <"$WORK/metrics.txt") lines)" ||
		not_ok "promtool check metrics" "$(head -n5 "$WORK/promtool.out")"
	grep -q '^keywatch_collector_connected 1$' "$WORK/metrics.txt" &&
		grep -q '^keywatch_events_total{kind="alert",rule="Unexpected reader of a Kubernetes secret"} [1-9]' "$WORK/metrics.txt" &&
		grep -q '^keywatch_watched_files [1-9]' "$WORK/metrics.txt" &&
		grep -q '^keywatch_spool_records ' "$WORK/metrics.txt" &&
		grep -q '^keywatch_kernel_lost_events_total 0$' "$WORK/metrics.txt" &&
		ok "metrics: events by kind and rule, spool, connection, watched files, kernel losses" ||
		not_ok "metrics content" "$(grep -v '^#' "$WORK/metrics.txt" | head -n 20)"
	agent_stop
	[ "$AGENT_RC" = 0 ] && ok "agent with a TLS output stops cleanly" || not_ok "stop" "rc=$AGENT_RC"
else
	not_ok "agent → rsyslog over TLS" "no watch-started at the collector"
fi

# ---------------------------------------------------------------- refused peers, no fallback
# refused NAME ARGS... — the agent must refuse the collector, say why, deliver nothing.
refused() {
	local name=$1 cd=$2 pat=$3 before i
	shift 3
	before=$(cat "$cd/msg" 2>/dev/null | grep -ac '"event":')
	"$KEYWATCH" run --state "$WORK/learned" --root "$NODE" --heartbeat 0 "$@" 2>"$WORK/r.err" &
	AGENT_PID=$!
	for i in $(seq 1 150); do grep -q "$pat" "$WORK/r.err" && break; sleep 0.1; done
	trig open "$CA"
	sleep 1
	agent_stop
	if [ "$(cat "$cd/msg" 2>/dev/null | grep -ac '"event":')" = "$before" ] && grep -q "$pat" "$WORK/r.err"; then
		ok "$name: refused and logged ($(grep -o "$pat[^;]*" "$WORK/r.err" | head -n1))"
	else
		not_ok "$name" "events: $before → $(cat "$cd/msg" 2>/dev/null | grep -ac '"event":'); log: $(grep -v libbpf "$WORK/r.err" | tail -c 600)"
	fi
}
refused "wrong CA" "$WORK/c1" "certificate was refused" --output "tls://127.0.0.1:$PORT_c1" \
	--tls-ca "$PKI/other-ca.pem" --tls-server-name collector.keywatch.test --spool "$WORK/spool2"
REFUSED_PID=$TRIG_PID
sz=$(stat -c %s "$WORK/spool2/spool" 2>/dev/null || echo 0)
[ "$sz" -gt 1000 ] && ok "what the refused collector could not take stays spooled ($sz bytes)" ||
	not_ok "spooled while refused" "$sz bytes"
refused "wrong server name" "$WORK/c1" "expected name wrong.keywatch.test" --output "tls://127.0.0.1:$PORT_c1" \
	--tls-ca "$PKI/ca.pem" --tls-server-name wrong.keywatch.test --spool "$WORK/spool3"
# The spool of the refused run goes out once the agent trusts the collector.
before=$(lines "$WORK/c1/msg")
if net_agent "$WORK/a2.err" "$WORK/c1" --output "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" \
	--spool "$WORK/spool2" --heartbeat 0; then
	ev=$(arrived "$WORK/c1" "$REFUSED_PID" 50)
	expect "the alert spooled while the collector was refused is delivered by the next run" "$ev" \
		'.event.kind == "alert"'
	agent_stop
else
	not_ok "agent on the spool of a refused run" "no watch-started"
fi
col c2 tcp || not_ok "plain TCP rsyslog starts" "see above"
refused "TLS agent at a plain-text collector (no fallback)" "$WORK/c2" "TLS handshake" \
	--output "tls://127.0.0.1:$PORT_c2" "${TLS_ARGS[@]}" --spool "$WORK/spool4"
"$KEYWATCH" run --root "$NODE" --output "tcp://127.0.0.1:$PORT_c2" --tls-ca "$PKI/ca.pem" -n \
	>/dev/null 2>"$WORK/n.err"
rc=$?
"$KEYWATCH" run --root "$NODE" --output "udp://127.0.0.1:$PORT_c2" >/dev/null 2>&1
rc2=$?
[ "$rc" = 2 ] && [ "$rc2" = 2 ] && ok "tcp:// with --tls-ca, and an unknown scheme → exit 2" ||
	not_ok "bad transport options" "$rc $rc2: $(cat "$WORK/n.err")"
if net_agent "$WORK/a3.err" "$WORK/c2" --output "tcp://127.0.0.1:$PORT_c2" --spool "$WORK/spool5" \
	--heartbeat 0; then
	trig open "$CA"
	ev=$(arrived "$WORK/c2" "$TRIG_PID")
	expect "plain TCP when asked for (tcp://): the alert arrives" "$ev" '.event.kind == "alert"'
	grep -q "plain TCP, as configured" "$WORK/a3.err" && ok "plain TCP is logged as such" ||
		not_ok "plain TCP logged" "$(cat "$WORK/a3.err")"
	agent_stop
else
	not_ok "agent over plain TCP" "no watch-started"
fi

# ---------------------------------------------------------------- mutual TLS
col c3 mtls || not_ok "rsyslog with mutual TLS starts" "see above"
if net_agent "$WORK/a4.err" "$WORK/c3" --output "tls://127.0.0.1:$PORT_c3" "${TLS_ARGS[@]}" \
	--tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key" --spool "$WORK/spool6" --heartbeat 0; then
	trig open "$CA"
	ev=$(arrived "$WORK/c3" "$TRIG_PID")
	expect "mutual TLS with the agent's client certificate: the alert arrives" "$ev" '.event.kind == "alert"'
	agent_stop
else
	not_ok "agent with a client certificate" "no watch-started"
fi
refused "mutual TLS without a client certificate" "$WORK/c3" "certificate required" \
	--output "tls://127.0.0.1:$PORT_c3" "${TLS_ARGS[@]}" --spool "$WORK/spool7"

# ---------------------------------------------------------------- a full spool
# 16 KiB holds a handful of alerts. Heartbeats first fill it while the collector is down; then
# 30 alerts: the heartbeats go first, then the alerts that no longer fit. Once the collector is
# back, an events-dropped alert says exactly how many of each, and every other alert arrives.
col c4 tls || not_ok "collector for the full-spool test" "see above"
if net_agent "$WORK/a5.err" "$WORK/c4" --output "tls://127.0.0.1:$PORT_c4" "${TLS_ARGS[@]}" \
	--spool "$WORK/spool8" --spool-max-bytes 16384 --heartbeat 1; then
	collector_stop "$WORK/c4"
	sleep 3
	pids=
	for i in $(seq 1 30); do trig open "$CA"; pids="$pids $TRIG_PID"; done
	collector_start "$WORK/c4" "$PORT_c4" tls >/dev/null
	rep=$(wait_first "$WORK/c4/msg" 150 'select(.event.action == "events-dropped")')
	expect "full spool: an events-dropped alert once delivery resumes, with counts by class" "$rep" \
		'.event.kind == "alert"' '.keywatch.dropped.alerts > 0' '.keywatch.dropped.expected_and_heartbeats > 0'
	sleep 3
	dropped=$(printf '%s' "$rep" | jq '.keywatch.dropped.alerts')
	got=0
	for p in $pids; do
		[ -n "$(jq -c --argjson p "$p" 'select(.process.pid == $p)' "$WORK/c4/msg" | head -n1)" ] && got=$((got + 1))
	done
	prefix=1 seen_gap=0
	for p in $pids; do
		if [ -n "$(jq -c --argjson p "$p" 'select(.process.pid == $p)' "$WORK/c4/msg" | head -n1)" ]; then
			[ "$seen_gap" = 1 ] && prefix=0
		else
			seen_gap=1
		fi
	done
	[ $((got + dropped)) = 30 ] && [ "$got" -gt 0 ] && [ "$prefix" = 1 ] &&
		ok "every alert delivered or counted: $got delivered + $dropped dropped = 30 (the oldest kept)" ||
		not_ok "full spool accounting" "$got delivered + $dropped dropped != 30"
	agent_stop
else
	not_ok "agent for the full-spool test" "no watch-started"
fi

# ---------------------------------------------------------------- volume, rotation, reopen
# An expected reader that re-reads its key (etcd on every handshake): one event, then counted.
placements "$NODE" || not_ok "placements" "cgroups"
OUTV=$WORK/volume.json
if agent_start "$OUTV" --root "$NODE" --heartbeat 0 --log-expected; then
	component "$KCM_CG" aslink /usr/local/bin/kube-controller-manager /usr/local/bin/kcm-link "$CA" 25
	for i in $(seq 1 40); do
		n=$(jq -s '[.[] | select(.event.kind == "event" and .event.action == "key-open" and
			.process.executable == "/usr/local/bin/kube-controller-manager") |
			(.keywatch.aggregate.count // 1)] | add // 0' "$OUTV")
		[ "$n" = 25 ] && break
		sleep 0.1
	done
	e1=$(jq -c 'select(.event.kind == "event" and .event.action == "key-open" and .keywatch.aggregate == null)' "$OUTV" | wc -l)
	ag=$(jq -c 'select(.keywatch.aggregate != null and .event.kind == "event")' "$OUTV" | head -n1)
	[ "$n" = 25 ] && [ "$e1" = 1 ] &&
		ok "25 reads by an expected reader: one event, then $((n - 1)) summed (counted in the kernel)" ||
		not_ok "expected reads aggregated" "$n reads reported, $e1 events"
	expect "the summary names the reader, the key, the count and the event it follows" "$ag" \
		'.keywatch.verdict == "expected"' '.keywatch.component == "kube-controller-manager"' \
		'.file.path == "/etc/kubernetes/pki/ca.key"' '.keywatch.aggregate.count >= 1' \
		'(.keywatch.aggregate.first_event_id | test("-[0-9]+$"))' '.keywatch.aggregate.interval_s == 1'
	agent_stop
else
	not_ok "agent for expected-read aggregation" "see above"
fi
# Size-based rotation keeps a bounded number of files, each 0600; SIGHUP reopens after a move.
OUTR=$WORK/rot/events.json
mkdir -p "$WORK/rot"
RPORT=$(free_port)
if agent_start "$OUTR" --root "$NODE" --heartbeat 0 --output-max-bytes 8K --output-keep 2 \
	--metrics "127.0.0.1:$RPORT"; then
	for i in $(seq 1 12); do trig open "$CA"; done
	sleep 0.5
	files=$(cd "$WORK/rot" && ls | grep -v '\.err$' | sort | tr '\n' ' ')
	modes=$(cd "$WORK/rot" && stat -c %a events.json events.json.[0-9] | grep -v '^600$' | wc -l)
	big=$(cd "$WORK/rot" && for f in events.json events.json.1 events.json.2; do
		[ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 8192 ] && echo "$f"; done)
	bad=$(cat "$WORK/rot"/events.json "$WORK/rot"/events.json.[0-9] | while IFS= read -r l; do printf '%s\n' "$l" | jq -e . >/dev/null 2>&1 || echo x; done | wc -l)
	[ "$files" = "events.json events.json.1 events.json.2 " ] && [ "$modes" = 0 ] && [ -z "$big" ] && [ "$bad" = 0 ] &&
		ok "--output-max-bytes 8K --output-keep 2: events.json, .1, .2 — each ≤ 8 KiB, 0600, whole lines" ||
		not_ok "rotation" "files: $files; modes not 600: $modes; too big: $big; bad lines: $bad"
	rt=$(curl -s --max-time 5 "http://127.0.0.1:$RPORT/metrics" | awk '$1 == "keywatch_output_last_rotation_timestamp_seconds" { print $2 }')
	[ "${rt:-0}" -gt 0 ] 2>/dev/null && ok "metrics: the last rotation's time ($rt)" || not_ok "last rotation metric" "${rt:-none}"
	mv "$OUTR" "$WORK/rot/moved.json"
	kill -HUP "$AGENT_PID"
	sleep 0.5
	trig open "$CA"
	ev=$(wait_event "$OUTR" "$TRIG_PID" key-open)
	expect "SIGHUP reopens the output file after it was moved (logrotate create)" "$ev" '.event.kind == "alert"'
	[ "$(stat -c %a "$OUTR" 2>/dev/null)" = 600 ] && ok "the reopened file is 0600" || not_ok "reopen mode" "$(stat -c %a "$OUTR")"
	agent_stop
else
	not_ok "agent with rotation" "see above"
fi

# ---------------------------------------------------------------- hostile strings, every format
# comm, the path a process passes and its argv carry quotes, backslashes, ']', newlines, control
# bytes, invalid UTF-8 and 4 KiB: every format stays valid (JSON, RFC 5424 + JSON).
H="$WORK/h"
mkdir -p "$H"
d=$H
for i in $(seq 1 12); do
	seg=$(printf 'q"b\\s]n\nc\001u\377%0240d' "$i")
	d="$d/$seg"
done
mkdir -p "$d" 2>/dev/null
ln -sf "$CA" "$d/k\"]\\.key" 2>/dev/null
HPATH="$d/k\"]\\.key"
HCOMM=$(printf 'x"]\\\n\001\377')
HARG=$(printf 'arg "]\\\n\001\377 %04000d' 0)
hostile() { # FILE FORMAT-ARGS...
	local out=$1
	shift
	"$KEYWATCH" run --state "$WORK/learned" --aggregate 1 --root "$NODE" --heartbeat 0 --output "$out" "$@" 2>"$WORK/hostile.err" &
	AGENT_PID=$!
	sleep 1.5
	KWTRIG_LINGER_MS=800 "$TRIG" comm "$HCOMM" "$HPATH" "$HARG" >/dev/null 2>&1
	sleep 1
	agent_stop
}
json_ok() { # FILE — every line valid JSON with the hostile argument decoded
	python3 - "$1" "$2" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1], "rb").read().split(b"\n") if l]
found = False
for l in lines:
    if sys.argv[2] == "syslog":
        l = l[l.index(b"] {") + 2:]
    e = json.loads(l.decode("utf-8"))
    args = e.get("process", {}).get("args") or e.get("output_fields", {}).get("proc.args") or []
    if any(a.startswith('arg "]\\\n\x01\ufffd 0000') and len(a) > 4000 for a in args):
        found = True
print(len(lines), "lines", "hostile argv found" if found else "hostile argv NOT found")
sys.exit(0 if found and lines else 1)
EOF
}
for fmt in ecs falco syslog; do
	hostile "$WORK/hostile-$fmt.out" --format "$fmt"
	r=$(json_ok "$WORK/hostile-$fmt.out" "$fmt" 2>&1) && ok "hostile comm/path/argv, --format $fmt: every line valid ($r)" ||
		not_ok "hostile strings, --format $fmt" "$r"
done
python3 tests/e2e/falcosidekick.py "$WORK/hostile-falco.out" >"$WORK/v4" &&
	ok "hostile strings, --format falco: every event has Falcosidekick's fields and types ($(tail -n1 "$WORK/v4"))" ||
	not_ok "Falcosidekick fields" "$(head -n3 "$WORK/v4")"
python3 tests/e2e/rfc5424.py "$WORK/hostile-syslog.out" >"$WORK/v2" && ok "hostile strings, --format syslog: valid RFC 5424 ($(tail -n1 "$WORK/v2"))" ||
	not_ok "hostile RFC 5424" "$(head -n3 "$WORK/v2")"
before=$(lines "$WORK/c1/raw")
hostile "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" --spool "$WORK/spool9"
tail -n +$((before + 1)) "$WORK/c1/raw" >"$WORK/hostile-tls.raw"
r=$(json_ok "$WORK/hostile-tls.raw" syslog 2>&1) && python3 tests/e2e/rfc5424.py "$WORK/hostile-tls.raw" >"$WORK/v3" &&
	ok "hostile strings over TLS through rsyslog: valid RFC 5424 and JSON ($r)" ||
	not_ok "hostile strings over TLS" "$r $(head -n3 "$WORK/v3" 2>/dev/null)"

# ---------------------------------------------------------------- acknowledged is not delivered
# A collector that stops reading (SIGSTOP) still has its kernel acknowledge what arrives; killed
# then, it loses what sat in its socket buffer. The agent counts a message delivered only once the
# connection stayed up 2 s after the acknowledgement, so those go again on the next connection.
if net_agent "$WORK/k.err" "$WORK/c1" --output "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" \
	--spool "$WORK/spool-k" --heartbeat 0; then
	cpid=$(cat "$WORK/c1/rsyslog.pid")
	kill -STOP "$cpid"
	kpids=
	for i in 1 2 3; do trig open "$CA"; kpids="$kpids $TRIG_PID"; done
	sleep 0.3
	kill -KILL "$cpid"
	collector_stop "$WORK/c1" 2>/dev/null # (bash reports the killed job)
	lost_then=0
	for p in $kpids; do
		[ -n "$(grep -a '^{"' "$WORK/c1/msg" | jq -c --argjson p "$p" 'select(.process.pid == $p)' 2>/dev/null)" ] ||
			lost_then=$((lost_then + 1))
	done
	collector_start "$WORK/c1" "$PORT_c1" tls >/dev/null
	missing=0
	for p in $kpids; do arrived "$WORK/c1" "$p" 150 >/dev/null || missing=$((missing + 1)); done
	[ "$missing" = 0 ] && [ "$lost_then" = 3 ] &&
		ok "a collector frozen, then killed with 3 acknowledged alerts unread: all 3 sent again and delivered" ||
		not_ok "acknowledged but unread" "$lost_then of 3 were not at the collector when it died; $missing missing after"
	agent_stop
else
	not_ok "agent for the frozen-collector test" "no watch-started"
fi

# ---------------------------------------------------------------- outages (30 s each)
if [ "${SIEM_OUTAGE:-1}" = 1 ]; then
	outage() { # NAME RESTART(0|1)
		local name=$1 restart=$2 pids= i p missing=0 dup=0 t0
		if ! net_agent "$WORK/o.err" "$WORK/c1" --output "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" \
			--spool "$WORK/spool-o$restart" --heartbeat 5; then
			not_ok "$name" "no watch-started"
			return
		fi
		collector_stop "$WORK/c1"
		t0=$(date +%s)
		for i in $(seq 1 10); do
			trig open "$CA"
			pids="$pids $TRIG_PID"
			if [ "$restart" = 1 ] && [ "$i" = 5 ]; then
				agent_stop
				"$KEYWATCH" run --state "$WORK/learned" --aggregate 1 --root "$NODE" --heartbeat 5 \
					--output "tls://127.0.0.1:$PORT_c1" "${TLS_ARGS[@]}" --spool "$WORK/spool-o$restart" \
					2>>"$WORK/o.err" &
				AGENT_PID=$!
				sleep 1
			fi
			sleep 2.5
		done
		while [ $(($(date +%s) - t0)) -lt 30 ]; do sleep 0.5; done
		collector_start "$WORK/c1" "$PORT_c1" tls >/dev/null
		for p in $pids; do
			arrived "$WORK/c1" "$p" 150 >/dev/null || missing=$((missing + 1))
			n=$(jq -r --argjson p "$p" 'select(.process.pid == $p and .event.action == "key-open") | .event.id' "$WORK/c1/msg" | sort -u | wc -l)
			[ "$n" -gt 1 ] && dup=$((dup + 1))
		done
		copies=$(for p in $pids; do jq -c --argjson p "$p" 'select(.process.pid == $p and .event.action == "key-open")' "$WORK/c1/msg"; done | wc -l)
		[ "$missing" = 0 ] && [ "$dup" = 0 ] &&
			ok "$name: 10 of 10 alerts arrive after 30 s down ($copies copies, duplicates only with the same event.id)" ||
			not_ok "$name" "$missing missing, $dup with differing ids"
		echo "# $name: $((10 - missing))/10 alerts delivered, $copies copies received" >&2
		agent_stop
	}
	outage "collector down 30 s" 0
	outage "collector down 30 s, agent restarted during the outage" 1
fi

e2e_summary
