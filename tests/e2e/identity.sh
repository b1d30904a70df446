#!/usr/bin/env bash
# End-to-end tests of reader identity (issue 4): placement (cgroups laid out as the kubelet and
# systemd do, mount namespaces), digests pinned by learning and persisted, identity captured at
# exec for readers that are gone before the agent looks, threads and io_uring workers.
# usage: tests/e2e/identity.sh KEYWATCH-BINARY
set -u
cd "$(dirname "$0")/../.." || exit 1
KEYWATCH=$(realpath "$1")
. tests/e2e/lib.sh
need_root

WORK=$(mktemp -d /tmp/kw-id.XXXXXX)
chmod 755 "$WORK"
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -CONT "$AGENT_PID" 2>/dev/null
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
CA=$PKI/ca.key
STATE=$WORK/state/learned-digests
TRIG_EXE=$(realpath "$TRIG")
TRIG_SHA=$(sha256sum "$TRIG_EXE" | cut -d' ' -f1)
sha_salted() { (cat "$TRIG_EXE"; printf '%s' "$1") | sha256sum | cut -d' ' -f1; }
OUT=$WORK/events.json

agent_start "$OUT" --root "$NODE" --state "$STATE" --log-expected --heartbeat 0 ||
	{ not_ok "agent starts" "see above"; e2e_summary; exit 1; }

# ---------------------------------------------------------------- the component, and learning
component "$KCM_CG" as /usr/local/bin/kube-controller-manager "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "kube-controller-manager at its path, in its static pod, first sight → expected" "$ev" \
	'.event.kind == "event"' '.keywatch.verdict == "expected"' \
	'.keywatch.placement.kind == "static-pod"' '.keywatch.placement.host_mount_namespace == false' \
	"(.process.hash.sha256 == \"$TRIG_SHA\")" "(.kubernetes.pod.uid == \"$KCM_UID\")" \
	'.kubernetes.pod.name == "kube-controller-manager-node1"' '.kubernetes.namespace == "kube-system"' \
	'(.container.id | length) == 64' '.keywatch.identity_source == "exec"'
printf '%s\n' "$ev" >"$WORK/expected-event.json"
ev=$(wait_first "$OUT" 30 'select(.event.action == "watch-updated" and .keywatch.digest_learned != null)')
expect "… its digest is learned: watch-updated says so" "$ev" \
	'.keywatch.digest_learned.component == "kube-controller-manager"' \
	"(.keywatch.digest_learned.sha256 == \"$TRIG_SHA\")" \
	'.keywatch.digest_learned.reason == "first sight in its placement"' \
	'(.keywatch.digest_learned.image | startswith("registry.k8s.io/kube-controller-manager:"))'
mode=$(stat -c '%a' "$STATE" 2>/dev/null)
if [ "$mode" = 600 ] && grep -q "^$TRIG_SHA [0-9]* kube-controller-manager .* /usr/local/bin/kube-controller-manager\$" "$STATE"; then
	ok "… and persisted in the state file (0600)"
else
	not_ok "learned digest persisted" "mode=$mode $(cat "$STATE" 2>&1)"
fi

# The cgroupfs driver's layout is a static pod too.
CGFS=$(pod_cgroup_fs "$KCM_UID" "$(printf 'f%.0s' $(seq 1 64))")
component "$CGFS" as /usr/local/bin/kube-controller-manager "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "the same in the cgroupfs driver's layout (kubepods/burstable/pod<uid>/<id>) → expected" "$ev" \
	'.keywatch.verdict == "expected"' '.keywatch.placement.kind == "static-pod"'

# ---------------------------------------------------------------- borrowed identities
# A fake container: own mount and pid namespaces, its own /usr/local/bin/kube-controller-manager
# (another binary), the host's pki directory bind-mounted in; not in a pod's cgroup. It stays a
# moment, as a container does: its rootfs dies with its last process, and with it the binary the
# agent hashes (a one-shot reader there fails closed: digest-unavailable).
mkdir -p "$WORK/rootfs"
KWTRIG_SALT=fake KWTRIG_LINGER_MS=300 trig container "$WORK/rootfs" "$PKI" /etc/kubernetes/pki/ca.key
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "fake container with its own kube-controller-manager, pki bind-mounted → alert (placement)" "$ev" \
	'.event.kind == "alert"' '.keywatch.failed_check == "placement"' \
	'.process.executable == "/usr/local/bin/kube-controller-manager"' \
	'.keywatch.opened_path == "/etc/kubernetes/pki/ca.key"' '.file.path == "/etc/kubernetes/pki/ca.key"' \
	'(.keywatch.reason | test("not in a static pod container"))' \
	"(.process.hash.sha256 == \"$(sha_salted fake)\")"
# The same fake container placed in the component's own pod cgroup (a root attacker can make
# one): the path and placement hold, the digest does not.
KWTRIG_CGROUP=$KCM_CG KWTRIG_SALT=fake KWTRIG_LINGER_MS=300 trig container "$WORK/rootfs" "$PKI" /etc/kubernetes/pki/ca.key
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "fake container in the static pod's cgroup → alert (binary-changed: not the learned digest)" "$ev" \
	'.event.kind == "alert"' '.keywatch.failed_check == "binary-changed"' \
	"(.keywatch.learned_digest.sha256 == \"$TRIG_SHA\")" '.keywatch.placement.kind == "static-pod"' \
	'(.keywatch.ancestry | length) >= 1'
# In another component's static pod: the kubelet's pod log directory names the pod.
component "$KAS_CG" as /usr/local/bin/kube-controller-manager "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "kube-controller-manager's binary in kube-apiserver's static pod → alert (placement)" "$ev" \
	'.event.kind == "alert"' '.keywatch.failed_check == "placement"' \
	'(.keywatch.reason | test("kube-system/kube-apiserver-node1"))'
# The real component binary copied to /tmp.
cp "$TRIG_EXE" "$WORK/kube-controller-manager"
TRIG_BIN=$WORK/kube-controller-manager component "$KCM_CG" open "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "the component's binary copied elsewhere, even in its pod's cgroup → alert (path)" "$ev" \
	'.event.kind == "alert"' '.keywatch.failed_check == "path"' \
	"(.process.executable == \"$WORK/kube-controller-manager\")" "(.process.hash.sha256 == \"$TRIG_SHA\")"
# An arbitrary binary naming itself after a component.
trig comm kube-apiserver "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "prctl(PR_SET_NAME, kube-apiserver) in an arbitrary binary → alert with comm_mismatch" "$ev" \
	'.event.kind == "alert"' '.process.name == "kube-apiserver"' \
	'.keywatch.comm_mismatch.claims == "kube-apiserver"' "(.process.executable == \"$TRIG_EXE\")"
# The kubelet's binary run from a shell, not from kubelet.service.
if host_kubelet; then
	TRIG_BIN=/usr/bin/kubelet trig open "$NODE/var/lib/kubelet/pki/kubelet.key"
	ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
	expect "the kubelet's binary started outside kubelet.service → alert (placement)" "$ev" \
		'.event.kind == "alert"' '.keywatch.failed_check == "placement"' \
		'(.keywatch.reason | test("kubelet.service"))'
	TRIG_BIN=/usr/bin/kubelet component "$KUBELET_CG" open "$NODE/var/lib/kubelet/pki/kubelet.key"
	ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
	expect "the kubelet in kubelet.service, host mount namespace → expected" "$ev" \
		'.keywatch.verdict == "expected"' '.keywatch.placement.unit == "kubelet.service"' \
		'.keywatch.placement.host_mount_namespace == true'
else
	not_ok "kubelet placement" "no /usr/bin/kubelet could be provided"
fi

# ---------------------------------------------------------------- a binary replaced
# Another binary at the component's path, in its placement: not the learned digest.
KWTRIG_SALT=trojan component "$KCM_CG" as /usr/local/bin/kube-controller-manager "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "a different binary at the component's path and placement → binary-changed alert" "$ev" \
	'.event.kind == "alert"' '.keywatch.failed_check == "binary-changed"' \
	'(.keywatch.reason | test("replaced"))' "(.process.hash.sha256 == \"$(sha_salted trojan)\")"
printf '%s\n' "$ev" >"$WORK/alert-event.json"

# ---------------------------------------------------------------- short-lived readers
# Both the reader and its parent exit before the agent looks (it is stopped meanwhile): the
# identity captured at exec still names them, and the digest is read through the host path.
kill -STOP "$AGENT_PID"
sh -c '"$0" open "$1"; true' "$TRIG" "$CA" >"$WORK/short.out" 2>&1 &
spid=$!
wait "$spid"
kill -CONT "$AGENT_PID"
rpid=$(sed -n 's/^pid=//p' "$WORK/short.out" | head -n1)
ev=$(wait_event "$OUT" "${rpid:-0}" key-open)
gone=no
[ -n "$rpid" ] && ! kill -0 "$rpid" 2>/dev/null && gone=yes
expect "a reader gone before the agent read its event (gone=$gone): executable, digest, parent" "$ev" \
	"(.process.executable == \"$TRIG_EXE\")" "(.process.hash.sha256 == \"$TRIG_SHA\")" \
	'.keywatch.identity_source == "exec"' '.keywatch.digest_source == "host-path"' \
	'.process.parent.name == "sh"' '.process.parent.executable == "/usr/bin/dash"' \
	'.keywatch.ancestry[0].source == "exec"'
# The same for a parent that exits first: sh -c '( reader & ); exit'.
kill -STOP "$AGENT_PID"
sh -c "(\"$TRIG\" open \"$CA\" >\"$WORK/short2.out\" 2>&1 &); exit 0"
for _ in $(seq 1 50); do grep -q pid= "$WORK/short2.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.2
kill -CONT "$AGENT_PID"
rpid=$(sed -n 's/^pid=//p' "$WORK/short2.out" | head -n1)
ev=$(wait_event "$OUT" "${rpid:-0}" key-open)
expect "… and a reader whose parent exited first: attributed all the same" "$ev" \
	"(.process.executable == \"$TRIG_EXE\")" "(.process.hash.sha256 == \"$TRIG_SHA\")"

# ---------------------------------------------------------------- threads and io_uring workers
trig thread "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "a second thread opens the key → attributed to the process" "$ev" \
	"(.process.pid == $TRIG_PID)" "(.process.thread.id != $TRIG_PID)" \
	"(.process.executable == \"$TRIG_EXE\")" "(.process.hash.sha256 == \"$TRIG_SHA\")"
trig uring async "$CA"
ev=$(wait_event "$OUT" "$TRIG_PID" key-open)
expect "an io_uring worker (iou-wrk) opens the key → attributed to the process that owns the ring" "$ev" \
	"(.process.pid == $TRIG_PID)" '.keywatch.io_uring_worker == true' '.process.name == "kwtrig"' \
	"(.process.executable == \"$TRIG_EXE\")" "(.process.hash.sha256 == \"$TRIG_SHA\")"

agent_stop

# ---------------------------------------------------------------- learned digests persist
OUT2=$WORK/events2.json
if agent_start "$OUT2" --root "$NODE" --state "$STATE" --heartbeat 0; then
	# In place: the component reads (judged expected, counted in the kernel), then its binary is
	# rewritten (same inode, dentry and generation) and reads again: not taken for the judged one.
	KWTRIG_SALT=inplace component "$KCM_CG" asrewrite /usr/local/bin/kube-controller-manager "$CA" 3
	ev=$(wait_event "$OUT2" "$TRIG_PID" key-open)
	expect "after a restart, the learned digest still holds: binary rewritten in place → binary-changed" "$ev" \
		'.event.kind == "alert"' '.keywatch.failed_check == "binary-changed"' \
		"(.process.hash.sha256 == \"$(sha_salted inplace)\")"
	n=$(jq -c 'select(.event.action == "watch-updated" and .keywatch.digest_learned != null)' "$OUT2" | wc -l)
	[ "$n" = 0 ] && ok "… and nothing is re-learned" || not_ok "nothing re-learned" "$n learned"

	# The kubelet has no manifest: a new kubelet binary is binary-changed until the operator
	# removes its line from the state file and sends SIGHUP.
	if [ -n "${KUBELET_COPY:-}" ]; then
		rm -f /usr/bin/kubelet
		(cat "$TRIG_EXE"; printf 'kubelet-1.32') >/usr/bin/kubelet && chmod 755 /usr/bin/kubelet
		TRIG_BIN=/usr/bin/kubelet component "$KUBELET_CG" open "$NODE/var/lib/kubelet/pki/kubelet.key"
		ev=$(wait_event "$OUT2" "$TRIG_PID" key-open)
		expect "a new kubelet binary in kubelet.service → binary-changed (no manifest to say upgrade)" "$ev" \
			'.event.kind == "alert"' '.keywatch.failed_check == "binary-changed"'
		sed -i '/ kubelet .* \/usr\/bin\/kubelet$/d' "$STATE"
		kill -HUP "$AGENT_PID"
		sleep 0.5
		TRIG_BIN=/usr/bin/kubelet component "$KUBELET_CG" open "$NODE/var/lib/kubelet/pki/kubelet.key"
		ev=$(wait_first "$OUT2" 50 'select(.event.action == "watch-updated" and .keywatch.digest_learned.component == "kubelet")')
		expect "… accepted by removing its line from the state file and SIGHUP: learned anew" "$ev" \
			"(.keywatch.digest_learned.sha256 == \"$(sha_salted kubelet-1.32)\")"
	fi

	# An upgrade: the manifest's image changes, then the new binary is seen → re-learned.
	sed -i 's|image: registry.k8s.io/kube-controller-manager:.*|image: registry.k8s.io/kube-controller-manager:v9.9.9|' \
		"$NODE/etc/kubernetes/manifests/kube-controller-manager.yaml"
	ev=$(wait_first "$OUT2" 60 'select(.event.action == "watch-updated" and (.keywatch.changed | index("/etc/kubernetes/pki/ca.key")))')
	expect "the manifest's image changed → watch-updated lists the files it reads" "$ev" \
		'.keywatch.files | map(select(.path == "/etc/kubernetes/pki/ca.key")) | .[0].expected_readers[0].image == "registry.k8s.io/kube-controller-manager:v9.9.9"'
	KWTRIG_SALT=v9 component "$KCM_CG" as /usr/local/bin/kube-controller-manager "$CA"
	ev=$(wait_first "$OUT2" 50 'select(.event.action == "watch-updated" and .keywatch.digest_learned.component == "kube-controller-manager")')
	expect "… the upgraded binary is re-learned, and watch-updated says so" "$ev" \
		'.keywatch.digest_learned.reason == "upgrade: the static pod manifest'"'"'s image changed"' \
		"(.keywatch.digest_learned.sha256 == \"$(sha_salted v9)\")" \
		"(.keywatch.digest_learned.previous_sha256 == \"$TRIG_SHA\")" \
		'.keywatch.digest_learned.image == "registry.k8s.io/kube-controller-manager:v9.9.9"'
	n=$(jq -c --argjson p "$TRIG_PID" 'select(.process.pid == $p and .event.kind == "alert")' "$OUT2" | wc -l)
	[ "$n" = 0 ] && ok "… and its read is not an alert" || not_ok "upgrade read" "$n alerts"
	agent_stop
else
	not_ok "second agent starts" "see above"
fi

# ---------------------------------------------------------------- a broken state file
printf 'keywatch-learned-digests 1\nnot a digest line\n' >"$WORK/bad-state"
msg=$("$KEYWATCH" run --root "$NODE" --state "$WORK/bad-state" --output "$WORK/x.json" 2>&1 >/dev/null)
rc=$?
[ $rc = 2 ] && printf '%s' "$msg" | grep -q "$WORK/bad-state:2:" &&
	ok "a malformed state file → exit 2 naming file:line" ||
	not_ok "malformed state file" "rc=$rc msg=$msg"

e2e_summary
