#!/usr/bin/env bash
#
# gen-layout.sh - generate a throwaway kubeadm-like node filesystem for tests
# and the demo.
#
# Usage: tests/gen-layout.sh [-k control-plane|joined|worker] [-a rsa|ecdsa]
#                            [-n NODENAME] DIR
#
#   -k KIND   control-plane (kubeadm init, default), joined
#             (kubeadm join --control-plane) or worker (kubeadm join)
#   -a ALGO   rsa (RSA-2048, PKCS#1 keys, default) or ecdsa (ECDSA P-256,
#             SEC1 keys): the kubeadm encryptionAlgorithm. kubelet.key is
#             always RSA and CSR-issued kubelet client keys are always ECDSA.
#   -n NAME   node name (default node1)
#   DIR       created if missing; acts as the node's "/" (so files land in
#             DIR/etc/kubernetes/pki/ca.key etc.)
#
# Layout follows the kubeadm v1.31 file set (see the kubeadm-pki.md notes):
# /etc/kubernetes/{pki,manifests,*.conf}, /var/lib/kubelet/{config.yaml,
# kubeadm-flags.env,pki/}, the kubelet systemd drop-in, and empty /root,
# /home, /tmp. Every key is generated fresh with the openssl CLI; nothing
# secret is committed. Paths written *inside* files (manifest flags,
# kubelet.conf, the kubelet-client-current.pem symlink target) are node paths
# and are NOT prefixed with DIR: consumers must re-root them.
#
# Meant for a fresh DIR; re-running over one regenerates every file and
# replaces the old kubelet-client pems. Prints nothing on success; errors go
# to stderr and the exit status is non-zero. Scratch files (openssl config,
# every key and cert before it is placed, the worker's CA key, the kubelet's
# throwaway serving CA key) live in a mktemp -d dir removed on exit.
#
set -euo pipefail

prog=${0##*/}

usage() {
	echo "usage: $prog [-k control-plane|joined|worker] [-a rsa|ecdsa] [-n NODENAME] DIR" >&2
	exit 2
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

KIND=control-plane
ALGO=rsa
NODE=node1
while getopts ':k:a:n:h' opt; do
	case $opt in
	k) KIND=$OPTARG ;;
	a) ALGO=$OPTARG ;;
	n) NODE=$OPTARG ;;
	h) usage ;;
	:) echo "$prog: option -$OPTARG needs an argument" >&2; usage ;;
	*) echo "$prog: unknown option -$OPTARG" >&2; usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage

case $KIND in control-plane | joined | worker) ;; *) die "bad kind '$KIND'" ;; esac
case $ALGO in rsa | ecdsa) ;; *) die "bad algorithm '$ALGO'" ;; esac
# RFC 1123 subdomain, as Kubernetes requires for node names.
if ! [[ $NODE =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]] ||
	[ ${#NODE} -gt 253 ]; then
	die "bad node name '$NODE'"
fi

command -v openssl >/dev/null || die "openssl not found"

# ---------------------------------------------------------------------------
# Fixed, fake cluster parameters.
CLUSTER=kubernetes
DNS_DOMAIN=cluster.local
SERVICE_CIDR=10.96.0.0/12
SERVICE_IP=10.96.0.1    # first IP of SERVICE_CIDR (apiserver SAN)
CLUSTER_DNS=10.96.0.10  # 10th service IP
POD_CIDR=10.244.0.0/16
ENDPOINT_IP=10.0.0.100  # controlPlaneEndpoint (load balancer VIP)
API_PORT=6443
ENDPOINT="https://$ENDPOINT_IP:$API_PORT"
K8S_VERSION=v1.31.0
ETCD_IMAGE=registry.k8s.io/etcd:3.5.15-0
PAUSE_IMAGE=registry.k8s.io/pause:3.10
CRI_SOCKET=unix:///var/run/containerd/containerd.sock
INIT_NODE_IP=10.0.0.10  # the kubeadm-init node (existing etcd member on join)
INIT_NODE=cp0
[ "$NODE" != "$INIT_NODE" ] || INIT_NODE=cp1
case $KIND in
control-plane) ADVERTISE=$INIT_NODE_IP ;;
joined) ADVERTISE=10.0.0.11 ;;
worker) ADVERTISE=10.0.0.21 ;;
esac
LOCAL_API="https://$ADVERTISE:$API_PORT"

NOW=$(date +%s)
TS1=$(date -d "@$NOW" +%Y-%m-%d-%H-%M-%S)
TS2=$(date -d "@$((NOW + 1))" +%Y-%m-%d-%H-%M-%S)

# ---------------------------------------------------------------------------
umask 077
(umask 022 && mkdir -p -- "$1") || die "cannot create $1"
ROOT=$(cd -- "$1" && pwd -P)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gen-layout.XXXXXX")
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
K=$TMP/k # keys, certs
mkdir "$K"
# Minimal config: no default extensions, only what -addext asks for.
cat >"$TMP/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
EOF

PKI=$ROOT/etc/kubernetes/pki
KPKI=$ROOT/var/lib/kubelet/pki

# mkdirs MODE DIR... : create (relative to ROOT) and force the mode.
mkdirs() {
	local mode=$1 d
	shift
	for d in "$@"; do
		mkdir -p -- "$ROOT/$d"
		chmod "$mode" -- "$ROOT/$d"
	done
}

# put MODE DEST: write stdin to DEST with MODE.
put() {
	cat >"$2"
	chmod "$1" -- "$2"
}

# place MODE SRC DEST: copy a generated file into the tree with MODE.
place() {
	cat -- "$2" >"$3"
	chmod "$1" -- "$3"
}

# genkey_bg ALGO OUT: start generating a PKCS#1 RSA-2048 or SEC1 P-256 key
# (the formats of keyutil.MarshalPrivateKeyToPEM) in the background; the
# openssl process itself is the job, so cleanup() can kill it.
genkey_bg() {
	case $1 in
	rsa) openssl genrsa -traditional -out "$2" 2048 & ;;
	ecdsa) openssl ecparam -name prime256v1 -genkey -noout -out "$2" & ;;
	esac
}

# rand_serial: random positive serial below 2^63 (kubeadm style).
rand_serial() {
	local v
	v=$(od -An -N8 -td8 /dev/urandom)
	v=${v//[[:space:]]/}
	echo $(((v & 0x7fffffffffffffff) | 1))
}

# sortsan DNSNAME...: kubeadm de-duplicates and sorts DNS SANs.
sortsan() {
	printf '%s\n' "$@" | LC_ALL=C sort -u | sed 's/^/DNS:/' | paste -sd, -
}

# cert NAME SUBJ ISSUER DAYS SERIAL EXT... : sign $K/NAME.key into
# $K/NAME.crt. ISSUER is "self" or the name of a CA in $K.
cert() {
	local name=$1 subj=$2 issuer=$3 days=$4 serial=$5 e
	shift 5
	local -a args=(req -new -x509 -config "$TMP/openssl.cnf" -sha256
		-key "$K/$name.key" -subj "$subj" -days "$days" -out "$K/$name.crt")
	[ -z "$serial" ] || args+=(-set_serial "$serial")
	[ "$issuer" = self ] || args+=(-CA "$K/$issuer.crt" -CAkey "$K/$issuer.key")
	for e in "$@"; do args+=(-addext "$e"); done
	openssl "${args[@]}"
}

# kubeadm CA: CN=X, SAN DNS:X, KU digitalSignature|keyEncipherment|certSign.
ca_cert() {
	cert "$1" "/CN=$2" self 3650 "$(rand_serial)" \
		"basicConstraints=critical,CA:TRUE" \
		"keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
		"subjectKeyIdentifier=hash" \
		"subjectAltName=DNS:$2"
}

# leaf_cert NAME SUBJ ISSUER EKU [SAN]: kubeadm leaf, 1 year.
leaf_cert() {
	local -a ext=("basicConstraints=critical,CA:FALSE"
		"keyUsage=critical,digitalSignature,keyEncipherment"
		"extendedKeyUsage=$4"
		"authorityKeyIdentifier=keyid"
		"subjectKeyIdentifier=none") # Go adds an SKI only to CAs
	[ -z "${5:-}" ] || ext+=("subjectAltName=$5")
	cert "$1" "$2" "$3" 365 "$(rand_serial)" "${ext[@]}"
}

# ---------------------------------------------------------------------------
# 1. Keys, generated in parallel.
declare -A KEYALG=()
if [ "$KIND" = worker ]; then
	KEYALG[ca]=$ALGO # signs the kubelet client cert; stays in $TMP
else
	for n in ca apiserver apiserver-kubelet-client front-proxy-ca \
		front-proxy-client apiserver-etcd-client sa etcd-ca etcd-server \
		etcd-peer etcd-healthcheck-client admin controller-manager scheduler; do
		KEYALG[$n]=$ALGO
	done
fi
if [ "$KIND" = control-plane ]; then
	KEYALG[super-admin]=$ALGO
	KEYALG[kubelet-client-1]=$ALGO # kubeadm's kubelet.conf credential
fi
KEYALG[kubelet-client-2]=ecdsa  # CSR-issued by the kubelet: always P-256
KEYALG[kubelet-serving-ca]=rsa  # certutil.GenerateSelfSignedCertKey: RSA
KEYALG[kubelet-serving]=rsa

pids=()
for n in "${!KEYALG[@]}"; do
	genkey_bg "${KEYALG[$n]}" "$K/$n.key"
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || die "key generation failed"
done

# ---------------------------------------------------------------------------
# 2. Certificates.
ca_cert ca kubernetes
if [ "$KIND" != worker ]; then
	ca_cert front-proxy-ca front-proxy-ca
	ca_cert etcd-ca etcd-ca

	leaf_cert apiserver /CN=kube-apiserver ca serverAuth \
		"$(sortsan "$NODE" kubernetes kubernetes.default kubernetes.default.svc \
			"kubernetes.default.svc.$DNS_DOMAIN"),IP:$SERVICE_IP,IP:$ADVERTISE,IP:$ENDPOINT_IP"
	leaf_cert apiserver-kubelet-client \
		"/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" ca clientAuth
	leaf_cert front-proxy-client /CN=front-proxy-client front-proxy-ca clientAuth
	leaf_cert apiserver-etcd-client /CN=kube-apiserver-etcd-client etcd-ca clientAuth
	etcd_san="$(sortsan "$NODE" localhost),IP:$ADVERTISE,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"
	leaf_cert etcd-server "/CN=$NODE" etcd-ca serverAuth,clientAuth "$etcd_san"
	leaf_cert etcd-peer "/CN=$NODE" etcd-ca serverAuth,clientAuth "$etcd_san"
	leaf_cert etcd-healthcheck-client /CN=kube-etcd-healthcheck-client etcd-ca clientAuth

	# kubeconfig client credentials
	leaf_cert admin "/O=kubeadm:cluster-admins/CN=kubernetes-admin" ca clientAuth
	leaf_cert controller-manager /CN=system:kube-controller-manager ca clientAuth
	leaf_cert scheduler /CN=system:kube-scheduler ca clientAuth
	openssl pkey -in "$K/sa.key" -pubout -out "$K/sa.pub"
fi
if [ "$KIND" = control-plane ]; then
	leaf_cert super-admin "/O=system:masters/CN=kubernetes-super-admin" ca clientAuth
	leaf_cert kubelet-client-1 "/O=system:nodes/CN=system:node:$NODE" ca clientAuth
fi
# CSR signed by kube-controller-manager (kubernetes.io/kube-apiserver-client-kubelet):
# ECDSA key, so usages are digital signature + client auth only.
cert kubelet-client-2 "/O=system:nodes/CN=system:node:$NODE" ca 365 "" \
	"basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=clientAuth" \
	"authorityKeyIdentifier=keyid" \
	"subjectKeyIdentifier=none"
# kubelet self-signed serving pair (cert/cert.go GenerateSelfSignedCertKey):
# CA "<host>-ca@<unix>" serial 1 signs leaf "<host>@<unix>" serial 2.
cert kubelet-serving-ca "/CN=$NODE-ca@$NOW" self 365 1 \
	"basicConstraints=critical,CA:TRUE" \
	"keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
	"subjectKeyIdentifier=hash"
cert kubelet-serving "/CN=$NODE@$NOW" kubelet-serving-ca 365 2 \
	"basicConstraints=critical,CA:FALSE" \
	"keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=serverAuth" \
	"authorityKeyIdentifier=keyid" \
	"subjectKeyIdentifier=none" \
	"subjectAltName=DNS:$NODE"

# ---------------------------------------------------------------------------
# 3. Directories.
mkdirs 0755 etc etc/kubernetes etc/kubernetes/pki etc/kubernetes/manifests \
	var var/lib var/lib/kubelet var/lib/kubelet/pki \
	usr usr/lib usr/lib/systemd usr/lib/systemd/system \
	usr/lib/systemd/system/kubelet.service.d home
mkdirs 0700 root
mkdirs 1777 tmp
if [ "$KIND" != worker ]; then
	mkdirs 0755 etc/kubernetes/pki/etcd
	mkdirs 0700 var/lib/etcd
fi

# ---------------------------------------------------------------------------
# 4. /etc/kubernetes/pki
place 0644 "$K/ca.crt" "$PKI/ca.crt"
if [ "$KIND" != worker ]; then
	place 0600 "$K/ca.key" "$PKI/ca.key"
	for n in apiserver apiserver-kubelet-client front-proxy-ca front-proxy-client \
		apiserver-etcd-client; do
		place 0644 "$K/$n.crt" "$PKI/$n.crt"
		place 0600 "$K/$n.key" "$PKI/$n.key"
	done
	for n in ca server peer healthcheck-client; do
		place 0644 "$K/etcd-$n.crt" "$PKI/etcd/$n.crt"
		place 0600 "$K/etcd-$n.key" "$PKI/etcd/$n.key"
	done
	place 0600 "$K/sa.key" "$PKI/sa.key"
	# init writes sa.pub with keyutil.WriteKey (0600); join downloads it
	# and writes it with certutil.WriteCert (0644).
	if [ "$KIND" = control-plane ]; then
		place 0600 "$K/sa.pub" "$PKI/sa.pub"
	else
		place 0644 "$K/sa.pub" "$PKI/sa.pub"
	fi
fi

# ---------------------------------------------------------------------------
# 5. kubeconfigs (clientcmd.WriteToFile layout, 0600)
b64() { base64 -w0 -- "$1"; }

# kubeconfig FILE USER SERVER KEYNAME: embedded client cert/key.
kubeconfig() {
	put 0600 "$ROOT/etc/kubernetes/$1" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$K/ca.crt")
    server: $3
  name: $CLUSTER
contexts:
- context:
    cluster: $CLUSTER
    user: $2
  name: $2@$CLUSTER
current-context: $2@$CLUSTER
kind: Config
preferences: {}
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$K/$4.crt")
    client-key-data: $(b64 "$K/$4.key")
EOF
}

if [ "$KIND" != worker ]; then
	kubeconfig admin.conf kubernetes-admin "$ENDPOINT" admin
	kubeconfig controller-manager.conf system:kube-controller-manager "$LOCAL_API" controller-manager
	kubeconfig scheduler.conf system:kube-scheduler "$LOCAL_API" scheduler
fi
CURRENT_PEM=/var/lib/kubelet/pki/kubelet-client-current.pem
if [ "$KIND" = control-plane ]; then
	kubeconfig super-admin.conf kubernetes-super-admin "$ENDPOINT" super-admin
	# kubelet.conf after "kubelet-finalize enable-client-cert-rotation".
	put 0600 "$ROOT/etc/kubernetes/kubelet.conf" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$K/ca.crt")
    server: $ENDPOINT
  name: $CLUSTER
contexts:
- context:
    cluster: $CLUSTER
    user: system:node:$NODE
  name: system:node:$NODE@$CLUSTER
current-context: system:node:$NODE@$CLUSTER
kind: Config
preferences: {}
users:
- name: system:node:$NODE
  user:
    client-certificate: $CURRENT_PEM
    client-key: $CURRENT_PEM
EOF
else
	# kubelet.conf written by the kubelet after TLS bootstrap.
	put 0600 "$ROOT/etc/kubernetes/kubelet.conf" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$K/ca.crt")
    server: $ENDPOINT
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
preferences: {}
users:
- name: default-auth
  user:
    client-certificate: $CURRENT_PEM
    client-key: $CURRENT_PEM
EOF
fi

# ---------------------------------------------------------------------------
# 6. Static pod manifests (0600)
# pod_head NAME [ANNOTATION]
pod_head() {
	echo "apiVersion: v1"
	echo "kind: Pod"
	echo "metadata:"
	if [ -n "${2:-}" ]; then
		echo "  annotations:"
		echo "    $2"
	fi
	cat <<EOF
  creationTimestamp: null
  labels:
    component: $1
    tier: control-plane
  name: $1
  namespace: kube-system
spec:
  containers:
  - command:
    - $1
EOF
}

# flags --a=b ...: kubeadm sorts the arguments by flag name.
flags() {
	printf '%s\n' "$@" | LC_ALL=C sort -t= -k1,1 | sed 's/^/    - /'
}

# probe KIND HOST PATH PORT SCHEME
probe() {
	local threshold=8 delay="      initialDelaySeconds: 10" period=10
	case $1 in
	readinessProbe) threshold=3 delay="" period=1 ;;
	startupProbe) threshold=24 ;;
	esac
	echo "    $1:"
	echo "      failureThreshold: $threshold"
	cat <<EOF
      httpGet:
        host: $2
        path: $3
        port: $4
        scheme: $5
EOF
	[ -z "$delay" ] || echo "$delay"
	echo "      periodSeconds: $period"
	echo "      timeoutSeconds: 15"
}

# mount NAME PATH [rw]
mount_() {
	echo "    - mountPath: $2"
	echo "      name: $1"
	[ "${3:-}" = rw ] || echo "      readOnly: true"
}

# volume NAME PATH TYPE
volume() {
	cat <<EOF
  - hostPath:
      path: $2
      type: $3
    name: $1
EOF
}

pod_tail() {
	cat <<'EOF'
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
EOF
}

# Host CA bundle directories kubeadm mounts on a Debian host.
ca_mounts() {
	case $1 in
	a) mount_ ca-certs /etc/ssl/certs
	   mount_ etc-ca-certificates /etc/ca-certificates ;;
	b) mount_ usr-local-share-ca-certificates /usr/local/share/ca-certificates
	   mount_ usr-share-ca-certificates /usr/share/ca-certificates ;;
	esac
}
ca_volumes() {
	case $1 in
	a) volume ca-certs /etc/ssl/certs DirectoryOrCreate
	   volume etc-ca-certificates /etc/ca-certificates DirectoryOrCreate ;;
	b) volume usr-local-share-ca-certificates /usr/local/share/ca-certificates DirectoryOrCreate
	   volume usr-share-ca-certificates /usr/share/ca-certificates DirectoryOrCreate ;;
	esac
}

if [ "$KIND" != worker ]; then
	P=/etc/kubernetes/pki
	M=$ROOT/etc/kubernetes/manifests

	{
		pod_head kube-apiserver \
			"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: $ADVERTISE:$API_PORT"
		flags \
			--advertise-address="$ADVERTISE" \
			--allow-privileged=true \
			--authorization-mode=Node,RBAC \
			--client-ca-file=$P/ca.crt \
			--enable-admission-plugins=NodeRestriction \
			--enable-bootstrap-token-auth=true \
			--etcd-cafile=$P/etcd/ca.crt \
			--etcd-certfile=$P/apiserver-etcd-client.crt \
			--etcd-keyfile=$P/apiserver-etcd-client.key \
			--etcd-servers=https://127.0.0.1:2379 \
			--kubelet-client-certificate=$P/apiserver-kubelet-client.crt \
			--kubelet-client-key=$P/apiserver-kubelet-client.key \
			--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname \
			--proxy-client-cert-file=$P/front-proxy-client.crt \
			--proxy-client-key-file=$P/front-proxy-client.key \
			--requestheader-allowed-names=front-proxy-client \
			--requestheader-client-ca-file=$P/front-proxy-ca.crt \
			--requestheader-extra-headers-prefix=X-Remote-Extra- \
			--requestheader-group-headers=X-Remote-Group \
			--requestheader-username-headers=X-Remote-User \
			--secure-port=$API_PORT \
			--service-account-issuer=https://kubernetes.default.svc.$DNS_DOMAIN \
			--service-account-key-file=$P/sa.pub \
			--service-account-signing-key-file=$P/sa.key \
			--service-cluster-ip-range=$SERVICE_CIDR \
			--tls-cert-file=$P/apiserver.crt \
			--tls-private-key-file=$P/apiserver.key
		echo "    image: registry.k8s.io/kube-apiserver:$K8S_VERSION"
		echo "    imagePullPolicy: IfNotPresent"
		probe livenessProbe "$ADVERTISE" /livez $API_PORT HTTPS
		echo "    name: kube-apiserver"
		probe readinessProbe "$ADVERTISE" /readyz $API_PORT HTTPS
		printf '    resources:\n      requests:\n        cpu: 250m\n'
		probe startupProbe "$ADVERTISE" /livez $API_PORT HTTPS
		echo "    volumeMounts:"
		ca_mounts a
		mount_ k8s-certs $P
		ca_mounts b
		pod_tail
		ca_volumes a
		volume k8s-certs $P DirectoryOrCreate
		ca_volumes b
		echo "status: {}"
	} | put 0600 "$M/kube-apiserver.yaml"

	KCM_CONF=/etc/kubernetes/controller-manager.conf
	FLEX=/usr/libexec/kubernetes/kubelet-plugins/volume/exec
	{
		pod_head kube-controller-manager
		flags \
			--allocate-node-cidrs=true \
			--authentication-kubeconfig=$KCM_CONF \
			--authorization-kubeconfig=$KCM_CONF \
			--bind-address=127.0.0.1 \
			--client-ca-file=$P/ca.crt \
			--cluster-cidr=$POD_CIDR \
			--cluster-name=$CLUSTER \
			--cluster-signing-cert-file=$P/ca.crt \
			--cluster-signing-key-file=$P/ca.key \
			'--controllers=*,bootstrapsigner,tokencleaner' \
			--kubeconfig=$KCM_CONF \
			--leader-elect=true \
			--requestheader-client-ca-file=$P/front-proxy-ca.crt \
			--root-ca-file=$P/ca.crt \
			--service-account-private-key-file=$P/sa.key \
			--service-cluster-ip-range=$SERVICE_CIDR \
			--use-service-account-credentials=true
		echo "    image: registry.k8s.io/kube-controller-manager:$K8S_VERSION"
		echo "    imagePullPolicy: IfNotPresent"
		probe livenessProbe 127.0.0.1 /healthz 10257 HTTPS
		echo "    name: kube-controller-manager"
		printf '    resources:\n      requests:\n        cpu: 200m\n'
		probe startupProbe 127.0.0.1 /healthz 10257 HTTPS
		echo "    volumeMounts:"
		ca_mounts a
		mount_ flexvolume-dir $FLEX rw
		mount_ k8s-certs $P
		mount_ kubeconfig $KCM_CONF
		ca_mounts b
		pod_tail
		ca_volumes a
		volume flexvolume-dir $FLEX DirectoryOrCreate
		volume k8s-certs $P DirectoryOrCreate
		volume kubeconfig $KCM_CONF FileOrCreate
		ca_volumes b
		echo "status: {}"
	} | put 0600 "$M/kube-controller-manager.yaml"

	SCHED_CONF=/etc/kubernetes/scheduler.conf
	{
		pod_head kube-scheduler
		flags \
			--authentication-kubeconfig=$SCHED_CONF \
			--authorization-kubeconfig=$SCHED_CONF \
			--bind-address=127.0.0.1 \
			--kubeconfig=$SCHED_CONF \
			--leader-elect=true
		echo "    image: registry.k8s.io/kube-scheduler:$K8S_VERSION"
		echo "    imagePullPolicy: IfNotPresent"
		probe livenessProbe 127.0.0.1 /healthz 10259 HTTPS
		echo "    name: kube-scheduler"
		printf '    resources:\n      requests:\n        cpu: 100m\n'
		probe startupProbe 127.0.0.1 /healthz 10259 HTTPS
		echo "    volumeMounts:"
		mount_ kubeconfig $SCHED_CONF
		pod_tail
		volume kubeconfig $SCHED_CONF FileOrCreate
		echo "status: {}"
	} | put 0600 "$M/kube-scheduler.yaml"

	if [ "$KIND" = control-plane ]; then
		etcd_cluster=(--initial-cluster="$NODE=https://$ADVERTISE:2380")
	else
		etcd_cluster=(--initial-cluster="$INIT_NODE=https://$INIT_NODE_IP:2380,$NODE=https://$ADVERTISE:2380"
			--initial-cluster-state=existing)
	fi
	{
		pod_head etcd "kubeadm.kubernetes.io/etcd.advertise-client-urls: https://$ADVERTISE:2379"
		flags \
			--advertise-client-urls="https://$ADVERTISE:2379" \
			--cert-file=$P/etcd/server.crt \
			--client-cert-auth=true \
			--data-dir=/var/lib/etcd \
			--experimental-initial-corrupt-check=true \
			--experimental-watch-progress-notify-interval=5s \
			--initial-advertise-peer-urls="https://$ADVERTISE:2380" \
			"${etcd_cluster[@]}" \
			--key-file=$P/etcd/server.key \
			--listen-client-urls="https://127.0.0.1:2379,https://$ADVERTISE:2379" \
			--listen-metrics-urls=http://127.0.0.1:2381 \
			--listen-peer-urls="https://$ADVERTISE:2380" \
			--name="$NODE" \
			--peer-cert-file=$P/etcd/peer.crt \
			--peer-client-cert-auth=true \
			--peer-key-file=$P/etcd/peer.key \
			--peer-trusted-ca-file=$P/etcd/ca.crt \
			--snapshot-count=10000 \
			--trusted-ca-file=$P/etcd/ca.crt
		echo "    image: $ETCD_IMAGE"
		echo "    imagePullPolicy: IfNotPresent"
		probe livenessProbe 127.0.0.1 '/health?exclude=NOSPACE&serializable=true' 2381 HTTP
		echo "    name: etcd"
		printf '    resources:\n      requests:\n        cpu: 100m\n        memory: 100Mi\n'
		probe startupProbe 127.0.0.1 '/health?serializable=false' 2381 HTTP
		echo "    volumeMounts:"
		mount_ etcd-data /var/lib/etcd rw
		mount_ etcd-certs $P/etcd rw
		pod_tail
		volume etcd-certs $P/etcd DirectoryOrCreate
		volume etcd-data /var/lib/etcd DirectoryOrCreate
		echo "status: {}"
	} | put 0600 "$M/etcd.yaml"
fi

# ---------------------------------------------------------------------------
# 7. kubelet configuration
put 0644 "$ROOT/var/lib/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
clusterDNS:
- $CLUSTER_DNS
clusterDomain: $DNS_DOMAIN
containerRuntimeEndpoint: ""
cpuManagerReconcilePeriod: 0s
evictionPressureTransitionPeriod: 0s
fileCheckFrequency: 0s
healthzBindAddress: 127.0.0.1
healthzPort: 10248
httpCheckFrequency: 0s
imageMaximumGCAge: 0s
imageMinimumGCAge: 0s
kind: KubeletConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
memorySwap: {}
nodeStatusReportFrequency: 0s
nodeStatusUpdateFrequency: 0s
resolvConf: /run/systemd/resolve/resolv.conf
rotateCertificates: true
runtimeRequestTimeout: 0s
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
staticPodPath: /etc/kubernetes/manifests
streamingConnectionIdleTimeout: 0s
syncFrequency: 0s
volumeStatsAggPeriod: 0s
EOF

put 0644 "$ROOT/var/lib/kubelet/kubeadm-flags.env" <<EOF
KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=$CRI_SOCKET --pod-infra-container-image=$PAUSE_IMAGE"
EOF

# Debian package drop-in (kubernetes/release kubeadm template).
put 0644 "$ROOT/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'EOF'
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
EOF

# ---------------------------------------------------------------------------
# 8. /var/lib/kubelet/pki
cat -- "$K/kubelet-serving.crt" "$K/kubelet-serving-ca.crt" | put 0644 "$KPKI/kubelet.crt"
place 0600 "$K/kubelet-serving.key" "$KPKI/kubelet.key"

# A re-run over an existing DIR replaces the client pems of the earlier run.
rm -f -- "$KPKI"/kubelet-client-*.pem
if [ "$KIND" = control-plane ]; then
	# #1: kubeadm's kubelet.conf credential seeded into the store;
	# #2: the immediate CSR rotation, one second later.
	cat -- "$K/kubelet-client-1.crt" "$K/kubelet-client-1.key" |
		put 0600 "$KPKI/kubelet-client-$TS1.pem"
	NEWEST=$TS2
else
	NEWEST=$TS1
fi
cat -- "$K/kubelet-client-2.crt" "$K/kubelet-client-2.key" |
	put 0600 "$KPKI/kubelet-client-$NEWEST.pem"
# Absolute node path on purpose (not re-rooted under DIR).
ln -sfn -- "/var/lib/kubelet/pki/kubelet-client-$NEWEST.pem" "$KPKI/kubelet-client-current.pem"
