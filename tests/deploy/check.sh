#!/usr/bin/env bash
# tests/deploy/check.sh [KEYWATCH] - checks of the packaging (issue 8): deploy/kubernetes,
# deploy/docker, deploy/systemd, deploy/etc, deploy/logrotate, deploy/sysusers, docs/keywatch.8,
# and `make install`. Static checks parse every file; as root, the real agent (KEYWATCH, default
# ./keywatch) is then run with exactly the capabilities the DaemonSet and the unit grant.
#
# Prints "ok - ..." / "not ok - ..." lines, then "deploy: N passed, N failed"; exits non-zero on
# any failure. Missing tools are installed with apt-get when running as root; in CI (CI=true)
# nothing is skipped: what cannot run fails. Finishes in well under 2 minutes.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
KEYWATCH=${1:-./keywatch}
case $KEYWATCH in
/*) ;;
*) KEYWATCH=$ROOT/${KEYWATCH#./} ;;
esac
PY="python3 tests/deploy/deploycheck.py"
DS=deploy/kubernetes/keywatch.yaml
UNPIN=deploy/kubernetes/unpin.yaml
UNIT=deploy/systemd/keywatch.service
DOCKERFILE=deploy/docker/Dockerfile
DOCKERIGNORE=deploy/docker/Dockerfile.dockerignore
MAN=docs/keywatch.8
CI=${CI:-}

pass=0 fail=0
ok() {
	echo "ok - $1"
	pass=$((pass + 1))
}
not_ok() {
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
	fail=$((fail + 1))
}
# A check that cannot run here: a failure in CI, a skip elsewhere.
cannot() {
	if [ "$CI" = true ]; then
		not_ok "$1" "$2 (CI=true: not skipped)"
	else
		echo "ok - $1 # SKIP $2"
	fi
}
# Echo the TAP lines of a helper and count them.
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok - "*) pass=$((pass + 1)) ;;
		"not ok - "*) fail=$((fail + 1)) ;;
		esac
	done
}
verdict() { # STATUS NAME [DETAIL...]: ok when STATUS is 0
	local rc=$1 name=$2
	shift 2
	if [ "$rc" = 0 ]; then ok "$name"; else not_ok "$name" "$@"; fi
}
expect_ok() { # NAME CMD...: ok when CMD exits 0, else its output as detail
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

WORK=$(mktemp -d /tmp/keywatch-deploy.XXXXXX)
# bpffs refuses names with a dot.
PIN=/sys/fs/bpf/keywatch-deploycheck-$$
MOUNTED=()
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -d "$PIN" ] && "$KEYWATCH" run --unpin --pin-dir "$PIN" >/dev/null 2>&1
	local m
	# Lazily if busy: a released perf event can hold tracefs for a moment.
	for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- tools ------------------------------------------------------------------------------------
# command -> Debian package. Installed when missing (as root), never skipped in CI.
declare -A TOOLS=(
	[python3]=python3 [systemd-analyze]=systemd [systemd-sysusers]=systemd [man]=man-db
	[groff]=groff-base [kill]=procps [readelf]=binutils [logrotate]=logrotate
	[setpriv]=util-linux [openssl]=openssl [make]=make
)
missing=()
for c in "${!TOOLS[@]}"; do
	command -v "$c" >/dev/null 2>&1 || missing+=("${TOOLS[$c]}")
done
python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "# installing: ${missing[*]}"
		if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				"${missing[@]}"; } >"$WORK/apt.log" 2>&1; then
			not_ok "tools: apt-get install ${missing[*]}" "$(tail -n 5 "$WORK/apt.log")"
		fi
	else
		cannot "tools: ${missing[*]}" "not root: cannot install them"
	fi
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
	not_ok "python3 with yaml (python3-yaml)" "the manifest checks cannot run"
	echo "deploy: $pass passed, $((fail + 1)) failed"
	exit 1
fi

# ---- no registry host, no URL in the packaging -----------------------------------------------
mapfile -t files < <(find deploy -type f | sort)
tally < <($PY hosts "${files[@]}" "$MAN")

# ---- Kubernetes -------------------------------------------------------------------------------
tally < <($PY manifest "$DS" "$UNPIN" user/main.c)

# The agent itself accepts the DaemonSet's command line and the ConfigMap's policy (-n: parse
# and derive, no BPF). --root and --policy point at test copies.
mkdir -p "$WORK/emptyroot"
have_bin=false
[ -x "$KEYWATCH" ] && have_bin=true
policy_copy() { # SRC DEST: the agent refuses a group/other-writable policy; git may check out 0664
	cat >"$2" && chmod 0644 "$2"
}
run_args() { # FILE-WITH-ARGS: rewrite --root/--policy/--output/--pin-dir/--user for this test
	local a prev=
	while IFS= read -r a; do
		case $prev in
		--root) a=${ARG_ROOT-$a} ;;
		--policy) a=${ARG_POLICY-$a} ;;
		--output) a=${ARG_OUTPUT-$a} ;;
		--pin-dir) a=${ARG_PIN-$a} ;;
		--user) a=${ARG_USER-$a} ;;
		esac
		printf '%s\n' "$a"
		prev=$a
	done <"$1"
}
if $have_bin; then
	$PY configmap "$DS" policy.yaml | policy_copy - "$WORK/cm-policy.yaml"
	expect_ok "manifest: the ConfigMap's policy is valid (keywatch run -n)" \
		"$KEYWATCH" run -n --root "$WORK/emptyroot" --policy "$WORK/cm-policy.yaml"
	policy_copy - "$WORK/etc-policy.yaml" <deploy/etc/policy.yaml
	expect_ok "config: deploy/etc/policy.yaml is valid (keywatch run -n)" \
		"$KEYWATCH" run -n --root "$WORK/emptyroot" --policy "$WORK/etc-policy.yaml"
	# The configuration files themselves, as `keywatch run --config` reads them (flags win:
	# --root and --policy point at the test copies).
	$PY configmap "$DS" keywatch.yaml | policy_copy - "$WORK/cm-keywatch.yaml"
	expect_ok "manifest: the ConfigMap's keywatch.yaml is valid (keywatch run --config -n)" \
		"$KEYWATCH" run -n --config "$WORK/cm-keywatch.yaml" --root "$WORK/emptyroot" \
		--policy "$WORK/cm-policy.yaml"
	policy_copy - "$WORK/etc-keywatch.yaml" <deploy/etc/keywatch.yaml
	expect_ok "config: deploy/etc/keywatch.yaml is valid (keywatch run --config -n)" \
		"$KEYWATCH" run -n --config "$WORK/etc-keywatch.yaml" --root "$WORK/emptyroot" \
		--policy "$WORK/etc-policy.yaml"
	$PY args "$DS" >"$WORK/ds.args"
	ARG_ROOT=$WORK/emptyroot ARG_POLICY=$WORK/cm-policy.yaml ARG_OUTPUT=- ARG_PIN=$PIN \
		ARG_USER=65532 run_args "$WORK/ds.args" >"$WORK/ds-n.args"
	mapfile -t a <"$WORK/ds-n.args"
	expect_ok "manifest: keywatch accepts the DaemonSet's args (run -n)" "$KEYWATCH" run -n "${a[@]}"
	$PY execstart "$UNIT" >"$WORK/unit.args"
	ARG_POLICY=$WORK/etc-policy.yaml ARG_OUTPUT=$WORK/unit-n.json ARG_PIN=$PIN ARG_USER=65534 \
		run_args "$WORK/unit.args" >"$WORK/unit-n.args"
	mapfile -t a <"$WORK/unit-n.args"
	expect_ok "unit: keywatch accepts ExecStart's args (run -n)" \
		"$KEYWATCH" run -n --root "$WORK/emptyroot" "${a[@]}"
else
	not_ok "the agent binary $KEYWATCH (build it: make)" "the args and policy checks need it"
fi

# ---- systemd ----------------------------------------------------------------------------------
tally < <($PY unit "$UNIT" deploy/etc/keywatch.yaml user/main.c)
mkdir -p "$WORK/unit" "$WORK/man/man8"
cp "$MAN" "$WORK/man/man8/keywatch.8"
# The unit as installed, but running the binary under test: verify checks that every Exec*
# binary exists and (with MANPATH) that Documentation=man:keywatch(8) resolves.
sed "s|/usr/bin/keywatch|$KEYWATCH|g" "$UNIT" >"$WORK/unit/keywatch.service"
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$WORK" && MANPATH=$WORK/man systemd-analyze verify "$WORK/unit/keywatch.service" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		ok "unit: systemd-analyze verify (no warning)"
	else
		not_ok "unit: systemd-analyze verify (no warning)" "exit $rc" "$out"
	fi
	out=$(systemd-analyze security --offline=yes --threshold=40 "$WORK/unit/keywatch.service" 2>&1)
	rc=$?
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ $rc = 0 ]; then
		ok "unit: systemd-analyze security: exposure ${level:-?} (at most 4.0)"
	else
		not_ok "unit: systemd-analyze security: exposure ${level:-?} (at most 4.0)" \
			"$(printf '%s\n' "$out" | grep '✗' | head -n 20)"
	fi
	mkdir -p "$WORK/sysroot/etc"
	if out=$(systemd-sysusers --root="$WORK/sysroot" "$ROOT/deploy/sysusers/keywatch.conf" 2>&1) &&
		grep -q '^keywatch:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$WORK/sysroot/etc/passwd"; then
		ok "sysusers: deploy/sysusers/keywatch.conf creates the keywatch system user"
	else
		not_ok "sysusers: deploy/sysusers/keywatch.conf creates the keywatch system user" "$out"
	fi
else
	not_ok "unit: systemd-analyze (package systemd)" "not installed"
fi
if command -v logrotate >/dev/null; then
	# logrotate ignores a config writable by group or others: check the mode it is installed with.
	install -m 0644 deploy/logrotate/keywatch "$WORK/logrotate.conf"
	out=$(logrotate --debug --state "$WORK/logrotate.state" "$WORK/logrotate.conf" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -qi 'error'; then
		ok "logrotate: deploy/logrotate/keywatch parses (copytruncate)"
	else
		not_ok "logrotate: deploy/logrotate/keywatch parses (copytruncate)" "$out"
	fi
else
	not_ok "logrotate (package logrotate)" "not installed"
fi

# ---- man page ---------------------------------------------------------------------------------
out=$(groff -man -t -ww -z "$MAN" 2>&1) && [ -z "$out" ]
verdict $? "man: groff -man -ww renders without warnings" "$out"
out=$(man --warnings -l "$MAN" 2>&1 >/dev/null) && [ -z "$out" ]
verdict $? "man: man --warnings -l renders without warnings" "$out"
tally < <($PY man "$MAN" user/main.c user/scan.c user/status.c user/output.c)

# ---- Docker -----------------------------------------------------------------------------------
# Which Debian package provides each library the built binary links (on this Debian 12).
libs=()
if $have_bin && command -v readelf >/dev/null; then
	while read -r so; do
		path=$(ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
		libs+=("$so=${pkg:-unknown}")
	done < <(readelf -d "$KEYWATCH" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
fi
tally < <($PY dockerfile "$DOCKERFILE" "$DOCKERIGNORE" "$ROOT" "${libs[@]}")
# Docker can't run here: build what the build stage builds, from exactly the files the
# .dockerignore lets into the context, the way its RUN line does.
$PY context "$DOCKERIGNORE" "$ROOT" "$WORK/ctx" >/dev/null
if out=$(cd "$WORK/ctx" && timeout 90 make -j"$(nproc)" keywatch 2>&1) &&
	v=$("$WORK/ctx/keywatch" --version 2>&1); then
	ok "docker: the build stage's make succeeds on the build context alone ($v)"
else
	not_ok "docker: the build stage's make succeeds on the build context alone" \
		"$(printf '%s\n' "$out" | tail -n 15)"
fi

# ---- make install -----------------------------------------------------------------------------
if make -n install >/dev/null 2>&1; then
	D=$WORK/dest
	if out=$(make --no-print-directory install DESTDIR="$D" PREFIX=/usr 2>&1); then
		bad=()
		[ -x "$D/usr/bin/keywatch" ] || bad+=("no /usr/bin/keywatch")
		[ -f "$D/usr/share/man/man8/keywatch.8" ] || bad+=("no keywatch(8)")
		u=$D/usr/lib/systemd/system/keywatch.service
		[ -f "$u" ] && grep -q '^ExecStart=/usr/bin/keywatch run ' "$u" || bad+=("unit: $u")
		[ -f "$D/usr/lib/sysusers.d/keywatch.conf" ] || bad+=("no sysusers.d/keywatch.conf")
		[ -f "$D/etc/logrotate.d/keywatch" ] || bad+=("no /etc/logrotate.d/keywatch")
		for f in policy.yaml keywatch.yaml; do
			m=$(stat -c %a "$D/etc/keywatch/$f" 2>/dev/null)
			[ "$m" = 644 ] || bad+=("/etc/keywatch/$f: mode ${m:-missing}, want 644")
		done
		# The operator's policy survives a reinstall.
		echo "# mine" >>"$D/etc/keywatch/policy.yaml"
		make --no-print-directory install DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
		grep -q '^# mine$' "$D/etc/keywatch/policy.yaml" || bad+=("reinstall replaced the policy")
		if [ ${#bad[@]} = 0 ]; then
			ok "make install DESTDIR PREFIX=/usr: binary, unit, man page, sysusers, logrotate, config"
		else
			not_ok "make install DESTDIR PREFIX=/usr: binary, unit, man page, sysusers, logrotate, config" "${bad[@]}"
		fi
		D2=$WORK/dest2
		make --no-print-directory install DESTDIR="$D2" >/dev/null 2>&1
		u=$D2/usr/local/lib/systemd/system/keywatch.service
		if [ -x "$D2/usr/local/bin/keywatch" ] && grep -q '^ExecStart=/usr/local/bin/keywatch run ' "$u" &&
			grep -q '^ExecReload=/usr/local/bin/keywatch run -n ' "$u"; then
			ok "make install honours PREFIX (default /usr/local: the unit runs /usr/local/bin/keywatch)"
		else
			not_ok "make install honours PREFIX (default /usr/local)" "$(find "$D2" | head -n 20)"
		fi
		# Installed for real under a scratch PREFIX and SYSCONFDIR (no DESTDIR, no user created):
		# the unit's rewritten paths must exist and its man page resolve.
		P=$WORK/prefix
		if out=$(make --no-print-directory install PREFIX="$P" SYSCONFDIR="$P/etc" SYSUSERS= 2>&1) &&
			u=$P/lib/systemd/system/keywatch.service &&
			grep -q "^ExecStart=$P/bin/keywatch run --policy $P/etc/keywatch/policy.yaml " "$u" &&
			out=$(cd "$WORK" && MANPATH=$P/share/man systemd-analyze verify "$u" 2>&1) && [ -z "$out" ]; then
			ok "make install PREFIX SYSCONFDIR: the installed unit verifies (paths rewritten, man page found)"
		else
			not_ok "make install PREFIX SYSCONFDIR: the installed unit verifies" "$out"
		fi
	else
		not_ok "make install DESTDIR PREFIX=/usr" "$out"
	fi
else
	not_ok "make install: the Makefile has no install target" \
		"paste the install rules from the issue 8 report into the Makefile"
fi

# ---- the real agent, with exactly the capabilities each deployment grants -------------------
runtime() {
	if [ "$(id -u)" != 0 ]; then
		cannot "runtime: the agent under the DaemonSet's and the unit's capabilities" "not root"
		return
	fi
	if ! $have_bin; then
		not_ok "runtime: the agent binary $KEYWATCH" "not built"
		return
	fi
	# What a node provides (the host mounts them; the agent must not have to).
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf && MOUNTED+=(/sys/fs/bpf)
	fi
	if [ ! -d /sys/kernel/tracing/events/syscalls ] && [ ! -d /sys/kernel/debug/tracing/events/syscalls ]; then
		mount -t tracefs tracefs /sys/kernel/tracing && MOUNTED=(/sys/kernel/tracing "${MOUNTED[@]}")
	fi
	if ! out=$(tests/gen-layout.sh "$WORK/node" 2>&1); then
		not_ok "runtime: a generated node layout (tests/gen-layout.sh)" "$out"
		return
	fi
	local key=$WORK/node/etc/kubernetes/pki/sa.key
	$PY configmap "$DS" policy.yaml | policy_copy - "$WORK/rt-policy.yaml"

	run_as() { # NAME CAPS ARGS-FILE USER PROBE: start, check, stop
		local name=$1 caps=$2 argsf=$3 user=$4 probe=$5 ev=$WORK/$1.json st v rc
		ARG_ROOT=$WORK/node ARG_POLICY=$WORK/rt-policy.yaml ARG_OUTPUT=$ev ARG_PIN=$PIN \
			ARG_USER=$user run_args "$argsf" >"$WORK/$name.rt.args"
		mapfile -t a <"$WORK/$name.rt.args"
		# The unit's ExecStart has no --root (the host's /): point it at the test layout.
		grep -qx -- --root "$WORK/$name.rt.args" || a=(--root "$WORK/node" "${a[@]}")
		setpriv --inh-caps=-all --bounding-set="$caps" \
			"$KEYWATCH" run "${a[@]}" --heartbeat 0 2>"$WORK/$name.err" &
		AGENT=$!
		for _ in $(seq 100); do
			grep -q '"watch-started"' "$ev" 2>/dev/null && break
			kill -0 "$AGENT" 2>/dev/null || break
			sleep 0.2
		done
		if ! grep -q '"watch-started"' "$ev" 2>/dev/null; then
			not_ok "$name: the agent attaches with exactly these capabilities ($caps)" \
				"$(tail -n 5 "$WORK/$name.err")"
			kill "$AGENT" 2>/dev/null
			wait "$AGENT" 2>/dev/null
			AGENT=
			return
		fi
		ok "$name: the agent attaches with exactly these capabilities ($caps)"
		st=/proc/$AGENT/status
		v="$(awk '/^Uid:/{print $2}' "$st") $(sed -n 's/^CapEff:\s*//p' "$st") $(sed -n 's/^NoNewPrivs:\s*//p' "$st")"
		[ "$v" = "$user 0000008000080004 1" ]
		verdict $? "$name: once attached: uid $user, CAP_BPF CAP_DAC_READ_SEARCH CAP_SYS_PTRACE, no_new_privs" \
			"uid, CapEff, NoNewPrivs: $v"
		head -c 1 "$key" >/dev/null
		for _ in $(seq 50); do
			grep -q '"action":"key-open"' "$ev" && break
			sleep 0.1
		done
		grep -q '"kind":"alert","action":"key-open"' "$ev"
		verdict $? "$name: an unexpected read of sa.key is reported" "$(tail -n 3 "$ev")"
		if [ "$probe" = probe ]; then
			# The liveness probe is exec'd in the container: the pod's capabilities, uid 0.
			out=$(setpriv --inh-caps=-all --bounding-set="$caps" "$KEYWATCH" status --pin-dir "$PIN" 2>&1)
			rc=$?
			verdict $rc "$name: the liveness probe (keywatch status) passes with the pod's capabilities" \
				"exit $rc" "$out"
		fi
		kill -TERM "$AGENT"
		wait "$AGENT"
		rc=$?
		AGENT=
		[ $rc = 0 ] && [ -e "$PIN/events" ]
		verdict $? "$name: SIGTERM: exit 0, programs left pinned for the next agent" "exit $rc" \
			"pinned: $(find "$PIN" -mindepth 1 -printf '%f ' 2>&1)"
	}
	run_as daemonset "$($PY caps "$DS")" "$WORK/ds.args" 65532 probe
	# The unit runs --user keywatch; the switch is the same with a number (no user needed here).
	run_as unit "$($PY caps "$UNIT")" "$WORK/unit.args" 65534 noprobe
	# deploy/kubernetes/unpin.yaml: no capability at all.
	out=$(setpriv --inh-caps=-all --bounding-set=-all "$KEYWATCH" run --unpin --pin-dir "$PIN" 2>&1)
	rc=$?
	[ $rc = 0 ] && [ ! -e "$PIN" ]
	verdict $? "unpin: keywatch run --unpin detaches with no capability (deploy/kubernetes/unpin.yaml)" \
		"exit $rc" "$out"
}
runtime

echo "deploy: $pass passed, $fail failed"
[ "$fail" = 0 ]
