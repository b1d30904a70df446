#!/usr/bin/env bash
# keywatch scan on generated layouts (control-plane, joined, worker) and on deliberately broken
# trees: inventory, allowlist sources, findings and exit codes. usage: tests/e2e/scan.sh KEYWATCH
set -u
cd "$(dirname "$0")/../.." || exit 1
KEYWATCH=$(realpath "$1")
. tests/e2e/lib.sh
WORK=$(mktemp -d /tmp/kw-scan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

scan() { "$KEYWATCH" scan --json "$@" 2>"$WORK/scan.err"; }

# ---- control-plane: the full inventory and where each reader comes from
N=$WORK/cp
tests/gen-layout.sh -k control-plane "$N"
js=$(scan --root "$N")
rc=$?
expect "control-plane scan: exit 0, 18 files, no findings" "$js" "($rc == 0)" \
	'.files | length == 18' '.findings == []' ".root == \"$(realpath "$N")\""
f() { printf '%s\n' "$js" | jq -c --arg p "$1" '.files[] | select(.path == $p)'; }
expect "ca.key: role, severity, cert, reader from the KCM manifest line" "$(f /etc/kubernetes/pki/ca.key)" \
	'.role == "cluster-ca-key"' '.severity == "critical"' '.kind == "private-key"' \
	'.certificate.subject == "CN=kubernetes"' '.certificate.chains_to_ca == true' \
	'(.certificate.sha256 | test("^[0-9a-f]{64}$"))' '.mode == "0600"' '.owner == "root:root"' \
	'.expected_readers | length == 1' '.expected_readers[0].component == "kube-controller-manager"' \
	'.expected_readers[0].binary == "/usr/local/bin/kube-controller-manager"' \
	"(.expected_readers[0].source == \"/etc/kubernetes/manifests/kube-controller-manager.yaml:$(grep -n -- '--cluster-signing-key-file' "$N/etc/kubernetes/manifests/kube-controller-manager.yaml" | cut -d: -f1) --cluster-signing-key-file\")"
expect "sa.key: read by the apiserver and the controller-manager" "$(f /etc/kubernetes/pki/sa.key)" \
	'[.expected_readers[].component] | sort == ["kube-apiserver","kube-controller-manager"]' \
	'.certificate == null'
for k in front-proxy-ca.key etcd/ca.key etcd/healthcheck-client.key; do
	expect "$k: no runtime reader" "$(f /etc/kubernetes/pki/$k)" '.expected_readers == []'
done
expect "super-admin.conf: critical, system:masters, no reader" "$(f /etc/kubernetes/super-admin.conf)" \
	'.severity == "critical"' '.kind == "kubeconfig"' '.expected_readers == []' \
	'(.certificate.subject | contains("O=system:masters"))'
pem=$(readlink "$N/var/lib/kubelet/pki/kubelet-client-current.pem")
expect "kubelet-client-current.pem: listed as its target, with the link, read via kubelet.conf" "$(f "$pem")" \
	'.kind == "combined-pem"' '.links == ["/var/lib/kubelet/pki/kubelet-client-current.pem"]' \
	'(.expected_readers[0].source | test("kubelet.conf:[0-9]+ client-key \\(via .*10-kubeadm.conf:[0-9]+ --kubeconfig\\)"))'
expect "etcd/server.key chains to the etcd CA" "$(f /etc/kubernetes/pki/etcd/server.key)" \
	'.certificate.ca == "/etc/kubernetes/pki/etcd/ca.crt"' '.certificate.chains_to_ca == true' \
	'.expected_readers[0].component == "etcd"'

expect "etcd/ca.key: visible to three containers (etcd read-write), read by none" "$(f /etc/kubernetes/pki/etcd/ca.key)" \
	'[.visible_to[].component] | sort == ["etcd","kube-apiserver","kube-controller-manager"]' \
	'.visible_to | map(select(.component == "etcd")) | .[0].read_only == false' \
	'.expected_readers == []' '(.certificate.key_usage | contains("keyCertSign"))' '.certificate.is_ca == true'

# ---- joined control plane and worker
tests/gen-layout.sh -k joined -a ecdsa "$WORK/joined"
js=$(scan --root "$WORK/joined")
expect "joined: no super-admin.conf, keys ECDSA, no findings" "$js" \
	'[.files[].path] | index("/etc/kubernetes/super-admin.conf") == null' \
	'.files | map(select(.path == "/etc/kubernetes/pki/ca.key")) | .[0].certificate.key_type == "EC-P-256"' \
	'.findings == []'
tests/gen-layout.sh -k worker "$WORK/worker"
js=$(scan --root "$WORK/worker")
expect "worker: only the kubelet's credentials" "$js" \
	'[.files[].role] | sort == ["kubelet-client-credential","kubelet-serving-key"]' '.findings == []'

# ---- a broken tree: every finding, and exit codes
B=$WORK/broken
tests/gen-layout.sh -k control-plane "$B"
chmod 644 "$B/etc/kubernetes/pki/etcd/peer.key"
chown 1000:1000 "$B/var/lib/kubelet/pki/kubelet.key"
rm "$B/etc/kubernetes/pki/front-proxy-client.crt"
# apiserver.crt re-signed by the etcd CA: does not chain to the cluster CA
openssl req -new -key "$B/etc/kubernetes/pki/apiserver.key" -subj /CN=kube-apiserver 2>/dev/null |
	openssl x509 -req -CA "$B/etc/kubernetes/pki/etcd/ca.crt" -CAkey "$B/etc/kubernetes/pki/etcd/ca.key" \
		-days 365 2>/dev/null >"$B/etc/kubernetes/pki/apiserver.crt"
# a certificate that expires tomorrow (the CLI cannot backdate one into the past)
openssl req -x509 -key "$B/etc/kubernetes/pki/apiserver-kubelet-client.key" -subj /CN=expired \
	-days 1 2>/dev/null >"$B/etc/kubernetes/pki/apiserver-kubelet-client.crt"
# the scheduler's key pair no longer matches
openssl genrsa -traditional 2048 2>/dev/null >"$B/etc/kubernetes/pki/etcd/server.key"
cp "$B/etc/kubernetes/admin.conf" "$B/home/admin.conf"
mkdir -p "$B/tmp/x" && cp "$B/etc/kubernetes/pki/sa.key" "$B/tmp/x/backup"
js=$(scan --root "$B" --verify-keys)
rc=$?
has() { printf '%s\n' "$js" | jq -e --arg id "$1" --arg p "$2" '.findings | map(select(.id == $id and .path == $p)) | length == 1' >/dev/null; }
for spec in "key-mode /etc/kubernetes/pki/etcd/peer.key" "key-owner /var/lib/kubelet/pki/kubelet.key" \
	"key-without-cert /etc/kubernetes/pki/front-proxy-client.key" "cert-chain /etc/kubernetes/pki/apiserver.crt" \
	"key-mismatch /etc/kubernetes/pki/etcd/server.key" "stray-secret /home/admin.conf" "stray-secret /tmp/x/backup"; do
	set -- $spec
	has "$1" "$2" && ok "finding $1 on $2" || not_ok "finding $1 on $2" "$(printf '%s' "$js" | jq -c .findings)"
done
if printf '%s\n' "$js" | jq -e '.findings | map(select(.id == "cert-expired" or .id == "cert-expiring")) | length >= 1' >/dev/null; then
	ok "finding cert-expired/expiring"
else
	not_ok "finding cert-expired/expiring" "none"
fi
[ "$rc" = 3 ] && ok "findings at or above high → exit 3" || not_ok "exit 3" "rc=$rc"
scan --root "$B" --fail-on critical >/dev/null
rc=$?
[ "$rc" = 0 ] && ok "--fail-on critical with only high findings → exit 0" || not_ok "--fail-on critical" "rc=$rc"
scan --root "$B" --fail-on bogus >/dev/null 2>&1
[ $? = 2 ] && ok "bad --fail-on → exit 2" || not_ok "bad --fail-on" "exit not 2"
# the table form never prints key bytes
"$KEYWATCH" scan --root "$B" --verify-keys >"$WORK/table.txt" 2>&1
grep -q "PRIVATE KEY" "$WORK/table.txt" && not_ok "table output has no key material" "found" ||
	ok "table output has no key material"
grep -rq -- "$(sed -n 2p "$B/etc/kubernetes/pki/ca.key")" <(printf '%s' "$js") && not_ok "JSON has no key bytes" "found" ||
	ok "JSON output has no key bytes"

# ---- hostile layout inputs: clear diagnostics naming file:line, never a crash
H=$WORK/hostile
tests/gen-layout.sh -k worker "$H"
mkdir -p "$H/etc/kubernetes/manifests" "$H/etc/kubernetes/pki"
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n' >"$H/etc/kubernetes/manifests/broken.yaml"
head -c 100000 /dev/urandom >"$H/etc/kubernetes/manifests/garbage.yaml"
python3 -c 'print("a: " + "["*5000)' >"$H/etc/kubernetes/manifests/deep.yaml" 2>/dev/null ||
	printf 'a: %s\n' "$(printf '[%.0s' $(seq 1 5000))" >"$H/etc/kubernetes/manifests/deep.yaml"
printf -- '-----BEGIN RSA PRIVATE KEY-----\nnot base64 !!\n' >"$H/etc/kubernetes/pki/trunc.key"
ln -s loop1 "$H/etc/kubernetes/pki/loop2.key"; ln -s loop2.key "$H/etc/kubernetes/pki/loop1"
js=$(timeout 30 "$KEYWATCH" scan --root "$H" --json 2>"$WORK/h.err")
rc=$?
expect "hostile layout: scan completes, reports diagnostics with file:line" "$js" "($rc == 0 or $rc == 3)" \
	'.diagnostics | map(select(test("broken.yaml:[0-9]+:[0-9]+: "))) | length == 1' \
	'.diagnostics | map(select(test("deep.yaml:[0-9]+:[0-9]+: "))) | length == 1'

e2e_summary
