#!/usr/bin/env bash
# End-to-end: the watch set follows the layout while the agent runs (issue 3 "Live"), and the
# operator policy's maintenance windows. usage: tests/e2e/live.sh KEYWATCH-BINARY
set -u
cd "$(dirname "$0")/../.." || exit 1
KEYWATCH=$(realpath "$1")
. tests/e2e/lib.sh
need_root

WORK=$(mktemp -d /tmp/kw-live.XXXXXX)
chmod 755 "$WORK"
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	cg_cleanup
	[ -n "${KUBELET_COPY:-}" ] && rm -f /usr/bin/kubelet
	rm -rf "$WORK"
}
trap cleanup EXIT
NODE=$WORK/node
tests/gen-layout.sh "$NODE" || { echo "gen-layout failed"; exit 1; }
placements "$NODE" || { echo "placements failed"; exit 1; }
PKI=$NODE/etc/kubernetes/pki
KPKI=$NODE/var/lib/kubelet/pki
OUT=$WORK/events.json

# wait_update JQ-FILTER — the first watch-updated event matching the filter, within 5 s.
wait_update() {
	local i line
	for i in $(seq 1 50); do
		line=$(jq -c "select(.event.action == \"watch-updated\") | select($1)" "$OUT" 2>/dev/null | head -n1)
		[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
		sleep 0.1
	done
	return 1
}
now_ns() { date +%s%N; }
# latency_ok EVENT T0-NS — the event's @timestamp is within 1 s of T0.
latency_ms() {
	local ts
	ts=$(printf '%s\n' "$1" | jq -r '.["@timestamp"]')
	echo $((($(date -d "$ts" +%s%N) - $2) / 1000000))
}

POLICY=$WORK/policy.yaml
FUTURE=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
cat >"$POLICY" <<POL
readers:
  - file: /etc/kubernetes/pki/front-proxy-ca.key
    component: kubeadm
    binary: /usr/bin/kubeadm
    expires: $FUTURE
  - role: etcd-ca-key
    component: kubeadm
    binary: /usr/bin/kubeadm
    expires: 2020-01-01T00:00:00Z
POL
chmod 600 "$POLICY"

agent_start "$OUT" --root "$NODE" --policy "$POLICY" --log-expected --heartbeat 0 ||
	{ not_ok "agent starts" "see above"; e2e_summary; exit 1; }

# ---- policy: a maintenance window open, one expired
trig as /usr/bin/kubeadm "$PKI/front-proxy-ca.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "policy window open: kubeadm reading front-proxy-ca.key → expected" "$ev" \
	'.event.kind == "event"' '.keywatch.verdict == "expected"' \
	"(.keywatch.reason | contains(\"$POLICY:2\"))"
trig as /usr/bin/kubeadm "$PKI/etcd/ca.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "policy window expired: kubeadm reading etcd/ca.key → alert naming the expiry" "$ev" \
	'.event.kind == "alert"' '(.keywatch.reason | contains("expired"))' \
	'.keywatch.failed_check == "expiry"'

# ---- kubelet client rotation: new timestamped pem, then the symlink swap client-go does
old_pem=$(readlink "$KPKI/kubelet-client-current.pem")
new_name=kubelet-client-2099-01-01-00-00-00.pem
t0=$(now_ns)
cp "$NODE$old_pem" "$KPKI/$new_name.tmp" && chmod 600 "$KPKI/$new_name.tmp" && mv "$KPKI/$new_name.tmp" "$KPKI/$new_name"
ln -s "/var/lib/kubelet/pki/$new_name" "$KPKI/kubelet-client-updated.pem"
rm "$KPKI/kubelet-client-current.pem"
mv "$KPKI/kubelet-client-updated.pem" "$KPKI/kubelet-client-current.pem"
ev=$(wait_update ".keywatch.added | index(\"/var/lib/kubelet/pki/$new_name\")")
ms=$([ -n "$ev" ] && latency_ms "$ev" "$t0" || echo 99999)
expect "kubelet rotation → watch-updated adds the new pem (${ms} ms)" "$ev" \
	"($ms <= 1000)" '.keywatch.files | map(select(.path | test("2099"))) | length == 1'
trig open "$KPKI/$new_name"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "open of the rotated pem → alert on the new file" "$ev" '.event.kind == "alert"' \
	"(.file.path == \"/var/lib/kubelet/pki/$new_name\")" \
	'.keywatch.key.role == "kubelet-client-credential"' '.keywatch.key.expected_readers == ["kubelet"]'
host_kubelet && TRIG_BIN=/usr/bin/kubelet component $KUBELET_CG open "$KPKI/$new_name"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "the kubelet (host, kubelet.service) reading its rotated pem → expected" "$ev" \
	'.keywatch.verdict == "expected"' '.keywatch.placement.kind == "host-service"' \
	'.keywatch.placement.unit == "kubelet.service"'

# ---- kubeadm certs renew: key and cert rewritten in place (same inodes)
ino_before=$(stat -c %i "$PKI/apiserver.key")
# The new key and certificate are made outside the pki dir first: the time measured is the
# agent's, not RSA key generation's (which alone can take a second on this machine).
openssl genrsa -traditional 2048 2>/dev/null >"$WORK/new.key"
openssl req -new -key "$WORK/new.key" -subj /CN=kube-apiserver 2>/dev/null |
	openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days 365 2>/dev/null >"$WORK/new.crt"
t0=$(now_ns)
cat "$WORK/new.key" >"$PKI/apiserver.key" # O_TRUNC rewrite, as os.WriteFile does
cat "$WORK/new.crt" >"$PKI/apiserver.crt"
ev=$(wait_update '.keywatch.changed | index("/etc/kubernetes/pki/apiserver.key")')
ms=$([ -n "$ev" ] && latency_ms "$ev" "$t0" || echo 99999)
expect "certs renew (in place) → watch-updated lists apiserver.key as changed (${ms} ms)" "$ev" \
	"($ms <= 1000)" "($(stat -c %i "$PKI/apiserver.key") == $ino_before)"
trig open "$PKI/apiserver.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "renewed key (same inode) still alerts" "$ev" '.event.kind == "alert"' \
	'.file.path == "/etc/kubernetes/pki/apiserver.key"'

# ---- a key replaced by rename: the new inode is watched, the old one stays watched
ln "$PKI/ca.key" "$WORK/old-ca.key.link"
t0=$(now_ns)
cp "$PKI/ca.key" "$PKI/.ca.key.tmp" && chmod 600 "$PKI/.ca.key.tmp"
mv "$PKI/.ca.key.tmp" "$PKI/ca.key"
ev=$(wait_update '(.keywatch.added | index("/etc/kubernetes/pki/ca.key")) and (.keywatch.removed | index("/etc/kubernetes/pki/ca.key"))')
ms=$([ -n "$ev" ] && latency_ms "$ev" "$t0" || echo 99999)
expect "rename-replace → watch-updated adds the new and retires the old ca.key (${ms} ms)" "$ev" "($ms <= 1000)"
trig open "$PKI/ca.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "the new ca.key alerts" "$ev" '.file.path == "/etc/kubernetes/pki/ca.key"' \
	"(.file.inode == \"$(stat -c %i "$PKI/ca.key")\")" '.keywatch.file_state == null'
trig open "$WORK/old-ca.key.link"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "the old ca.key inode (through a hard link) still alerts, marked replaced" "$ev" \
	'.file.path == "/etc/kubernetes/pki/ca.key"' '(.keywatch.file_state | test("replaced"))'

# ---- a manifest flag changed: kube-controller-manager no longer reads ca.key
sed -i '/--cluster-signing-key-file/d' "$NODE/etc/kubernetes/manifests/kube-controller-manager.yaml"
ev=$(wait_update '.keywatch.changed | index("/etc/kubernetes/pki/ca.key")')
expect "manifest flag removed → watch-updated lists ca.key as changed" "$ev" \
	'.keywatch.files | map(select(.path == "/etc/kubernetes/pki/ca.key")) | .[0].expected_readers == []'
component $KCM_CG as /usr/local/bin/kube-controller-manager "$PKI/ca.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "kube-controller-manager reading ca.key after the flag is gone → alert" "$ev" \
	'.event.kind == "alert"' '(.keywatch.reason | test("no component reads"))'

# ---- a new key dropped into the pki directory is picked up by structure
openssl genrsa -traditional 2048 2>/dev/null >"$PKI/stolen-backup.pem"
chmod 600 "$PKI/stolen-backup.pem"
ev=$(wait_update '.keywatch.added | index("/etc/kubernetes/pki/stolen-backup.pem")')
expect "a new PEM private key in the pki dir → watched as unknown-private-key" "$ev" \
	'.keywatch.files | map(select(.path == "/etc/kubernetes/pki/stolen-backup.pem")) | .[0].role == "unknown-private-key"'

# ---- a key written seconds after its file was created (the directory saw only the creation)
exec 3>"$PKI/slow-written"
sleep 1.5
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 2>/dev/null >&3
exec 3>&-
ev=$(wait_update '.keywatch.added | index("/etc/kubernetes/pki/slow-written")')
expect "a file created empty, its key written 1.5 s later → watched" "$ev" \
	'.keywatch.files | map(select(.path == "/etc/kubernetes/pki/slow-written")) | .[0].role == "unknown-private-key"'

# ---- posture: a key's mode, owner or links changed, or the key left its path. The tracepoint
# backend notices through inotify (no actor); each is an alert of its own.
posture() { # JQ-CONDITION — the first key-posture-changed alert matching it, within 5 s
	wait_first "$OUT" 50 "select(.event.action == \"key-posture-changed\" and ($1))"
}
SA=/etc/kubernetes/pki/sa.key
chmod 644 "$PKI/sa.key"
ev=$(posture ".file.path == \"$SA\" and .keywatch.posture.mode_after == \"0644\"")
expect "chmod 644 of sa.key → key-posture-changed, critical" "$ev" '.event.kind == "alert"' \
	'.keywatch.posture.mode_before == "0600"' '.keywatch.posture.changed == ["mode"]' \
	'.event.severity == 99' '.keywatch.key.role == "service-account-signing-key"'
chmod 600 "$PKI/sa.key"
chown 65534 "$PKI/sa.key"
ev=$(posture ".file.path == \"$SA\" and .keywatch.posture.owner_after == \"65534:0\"")
expect "chown nobody of sa.key → key-posture-changed (owner 0:0 → 65534:0)" "$ev" \
	'.keywatch.posture.owner_before == "0:0"' '(.keywatch.posture.changed | index("owner"))'
chown 0 "$PKI/sa.key"
ln "$PKI/sa.key" "$WORK/sa.key.stolen"
ev=$(posture ".file.path == \"$SA\" and .keywatch.posture.links_after == 2")
expect "a hard link of sa.key made outside the layout → key-posture-changed (links 1 → 2)" "$ev" \
	'.keywatch.posture.links_before == 1' '(.message | test("hard link was made elsewhere"))'
mv "$PKI/front-proxy-client.key" "$WORK/fpc.key"
ev=$(posture '.file.path == "/etc/kubernetes/pki/front-proxy-client.key"')
expect "front-proxy-client.key renamed out of the layout → key-posture-changed (left its path)" "$ev" \
	'.keywatch.posture.changed == ["path"]' '.keywatch.posture.mode_after == null'
trig open "$WORK/fpc.key"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "… and the key at its new place still alerts on read" "$ev" '.event.kind == "alert"' \
	'.file.path == "/etc/kubernetes/pki/front-proxy-client.key"' '(.keywatch.file_state | test("replaced"))'

agent_stop
[ "$AGENT_RC" = 0 ] && ok "agent exits 0 after the live changes" || not_ok "agent exit" "rc=$AGENT_RC"
bad=$(while IFS= read -r l; do printf '%s\n' "$l" | jq -e . >/dev/null 2>&1 || echo bad; done <"$OUT" | wc -l)
[ "$bad" = 0 ] && ok "all output lines valid JSON" || not_ok "valid JSON" "$bad bad lines"

# ---- the configuration file (--config): flags win, SIGHUP applies it again, a bad one is refused
CONF=$WORK/keywatch.yaml
OUT7=$WORK/events7.json
write_conf() { printf '%s' "$1" >"$CONF.tmp" && chmod 600 "$CONF.tmp" && mv "$CONF.tmp" "$CONF"; }
# wait_err PATTERN — the agent's stderr shows PATTERN within 5 s.
wait_err() {
	for _ in $(seq 1 50); do
		grep -q "$1" "$OUT7.err" && return 0
		sleep 0.1
	done
	return 1
}
write_conf "root: $NODE
heartbeat: 1
log-expected: false
watch:
  - /etc/kubernetes/pki/ca.crt
"
if agent_start "$OUT7" --config "$CONF" --heartbeat 0; then
	expect "--config: root and watch list from the file" "$(head -n1 "$OUT7")" \
		"(.keywatch.root == \"$NODE\")" \
		'.keywatch.files | map(.path) | index("/etc/kubernetes/pki/ca.crt") != null'
	component $KAS_CG as /usr/local/bin/kube-apiserver "$PKI/sa.key"
	p1=$TRIG_PID
	sleep 1.5
	n=$(grep -c '"action":"heartbeat"' "$OUT7")
	[ "$n" = 0 ] && ok "--heartbeat 0 on the command line wins over heartbeat: 1 in the file" ||
		not_ok "flags win over the file" "$n heartbeats"
	n=$(jq -c --argjson p "$p1" 'select(.process.pid == $p)' "$OUT7" | wc -l)
	[ "$n" = 0 ] && ok "log-expected: false in the file → an expected read is not logged" ||
		not_ok "log-expected: false" "$n lines"
	# SIGHUP applies the edited file: expected reads are now logged.
	write_conf "root: $NODE
log-expected: true
watch:
  - /etc/kubernetes/pki/ca.crt
"
	kill -HUP "$AGENT_PID"
	wait_err "reload: $CONF applied" && ok "SIGHUP: the edited configuration is applied" ||
		not_ok "SIGHUP reload" "$(tail -n2 "$OUT7.err")"
	component $KAS_CG as /usr/local/bin/kube-apiserver "$PKI/sa.key"
	ev=$(wait_event "$OUT7" "$TRIG_PID" key-open)
	expect "after SIGHUP, log-expected: true → the expected read is logged" "$ev" \
		'.event.kind == "event"' '.keywatch.verdict == "expected"'
	# A broken file on SIGHUP: config-invalid naming file:line:col; the settings stay.
	write_conf "root: $NODE
log-expected: maybe
"
	kill -HUP "$AGENT_PID"
	ev=$(wait_action "$OUT7" config-invalid)
	expect "SIGHUP with a broken file → config-invalid with file:line:col" "$ev" \
		'.event.kind == "alert"' \
		"(.keywatch.reason == \"$CONF:2:15: log-expected: 'maybe' is not true or false\")"
	component $KAS_CG as /usr/local/bin/kube-apiserver "$PKI/sa.key"
	ev=$(wait_event "$OUT7" "$TRIG_PID" key-open)
	expect "… and the previous settings stay in force (expected reads still logged)" "$ev" \
		'.event.kind == "event"'
	# Options only a restart can apply are kept, with a warning naming them.
	write_conf "root: /
log-expected: true
"
	kill -HUP "$AGENT_PID"
	wait_err "root changed in $CONF: takes effect at the next start" &&
		ok "SIGHUP: a changed root is kept until restart, with a warning" ||
		not_ok "restart-only option" "$(tail -n2 "$OUT7.err")"
	trig open "$PKI/sa.key"
	ev=$(wait_event "$OUT7" "$TRIG_PID" key-open)
	expect "… and the agent keeps watching the same layout" "$ev" '.event.kind == "alert"'
	agent_stop
	[ "$AGENT_RC" = 0 ] && ok "agent with --config exits 0" || not_ok "agent exit" "rc=$AGENT_RC"
else
	not_ok "agent starts with --config" "see above"
fi
write_conf "root: $NODE
ringbuf-bytes: 3000
"
msg=$("$KEYWATCH" run --config "$CONF" -n 2>&1)
rc=$?
if [ "$rc" = 2 ] && printf '%s' "$msg" | grep -qF "$CONF:2:16: ringbuf-bytes: '3000' is not a whole number from 4096"; then
	ok "run -n with a bad configuration → exit 2 with file:line:col"
else
	not_ok "run -n with a bad configuration" "rc=$rc msg=$msg"
fi
write_conf "root: $NODE
"
msg=$("$KEYWATCH" run --config "$CONF" -n 2>&1)
rc=$?
[ "$rc" = 0 ] && printf '%s' "$msg" | grep -q "configuration OK" &&
	ok "run -n with a good configuration → exit 0, configuration OK" ||
	not_ok "run -n good configuration" "rc=$rc msg=$msg"

# Rotations, renewals, reloads and cache clears above are the agent's own changes to its maps:
# none of them may look like tampering.
n=$(cat "$OUT" "$OUT7" 2>/dev/null | grep -c '"bpf-state-tampered"')
[ "$n" = 0 ] && ok "no bpf-state-tampered alert through the live changes" ||
	not_ok "false tamper alerts in live changes" "$n"

# ---- a bad policy is refused with file:line:col, exit 2
printf 'readers:\n  - file: /etc/kubernetes/pki/ca.key\n    binry: /x\n' >"$WORK/bad.yaml"
chmod 600 "$WORK/bad.yaml"
msg=$("$KEYWATCH" run --root "$NODE" --policy "$WORK/bad.yaml" -n 2>&1)
rc=$?
if [ "$rc" = 2 ] && printf '%s' "$msg" | grep -q "bad.yaml:3:5: unknown key 'binry'"; then
	ok "bad policy → exit 2 with file:line:col"
else
	not_ok "bad policy → exit 2 with file:line:col" "rc=$rc msg=$msg"
fi

e2e_summary
