#!/usr/bin/env bash
# make vmtest: the coverage matrix (tests/vmtest/guest.sh) for every hook backend, on Debian's own
# kernels booted in qemu (TCG: this machine's /dev/kvm cannot run a stock kernel, see
# ../shared/notes/vmtest.md). Kernels are resolved at run time from the mirror named in the
# machine's own apt sources (never written here): 5.10 (bullseye), 6.1 (bookworm), 6.12
# (bookworm-security), and sid's newest (advisory: sid moves under us). Each boot is bounded by
# timeout; the result is qemu's exit status (isa-debug-exit) and the RESULT lines of the serial log.
# usage: tests/vmtest/run.sh STATIC-KEYWATCH STATIC-KWTRIG QEXIT
set -u
cd "$(dirname "$0")/../.." || exit 1
KW=$(realpath "$1")
TRIG=$(realpath "$2")
QEXIT=$(realpath "$3")
VM=.output/vmtest
APT=$VM/apt
BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-240}
say() { printf 'vmtest: %s\n' "$*"; }
die() {
	say "$*" >&2
	echo "vmtest: 0 passed, 1 failed"
	exit 1
}
mkdir -p "$VM/kernels" "$APT/lists/partial" "$APT/cache/archives/partial" || die "mkdir"

# ---- tools
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	inst() {
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends \
			"${need[@]}" >>"$VM/apt-install.log" 2>&1
	}
	inst || { timeout 300 apt-get update -qq >>"$VM/apt-install.log" 2>&1 && inst; } ||
		die "apt-get install ${need[*]} failed: $(tail -n2 "$VM/apt-install.log")"
fi

# ---- kernels, from the machine's own Debian mirror
uris() {
	grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{ for (i = 2; i <= NF; i++) print $i }'
	grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
}
MAIN=$(uris | grep -E '/debian/?$' | head -n1)
SEC=$(uris | grep -E '/debian-security/?$' | head -n1)
[ -n "$MAIN" ] || die "no Debian mirror in the machine's apt sources"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
{
	for s in bullseye bookworm sid; do echo "deb [signed-by=$KEYRING] $MAIN $s main"; done
	[ -n "$SEC" ] && echo "deb [signed-by=$KEYRING] $SEC bookworm-security main"
} >"$APT/sources.list"
ALT=(-o "Dir::Etc::SourceList=$PWD/$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$PWD/$APT/lists" -o "Dir::Cache=$PWD/$APT/cache")
t0=$(date +%s)
timeout 300 apt-get "${ALT[@]}" update >"$VM/apt-update.log" 2>&1 || die "apt-get update (private lists) failed: $(tail -n2 "$VM/apt-update.log")"
newest() { apt-cache "${ALT[@]}" pkgnames "$1" 2>/dev/null | grep -E "$2" | sort -V | tail -n1; }
declare -A PKG=(
	[5.10]=$(newest linux-image-5.10 '^linux-image-5\.10\.0-[0-9]+-cloud-amd64-unsigned$')
	[6.1]=$(newest linux-image-6.1 '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$')
	[6.12]=$(newest linux-image-6.12 '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$')
	[sid]=$(newest linux-binary- '^linux-binary-[0-9.]+\+deb[0-9]+-cloud-amd64$')
)
KERNELS=()
for k in ${VMTEST_KERNELS:-5.10 6.1 6.12 sid}; do
	p=${PKG[$k]}
	if [ -z "$p" ]; then
		say "$k: no cloud kernel package found"
		[ "$k" = sid ] && continue
		die "$k: no cloud kernel package in the archive"
	fi
	f=$VM/kernels/$p.vmlinuz
	if [ ! -s "$f" ]; then
		(cd "$APT/cache" && rm -f ./*.deb && timeout 300 apt-get "${ALT[@]}" download "$p" >/dev/null 2>&1) ||
			{ say "$k: download of $p failed"; [ "$k" = sid ] && continue; die "download $p"; }
		deb=$(ls "$APT"/cache/*.deb | head -n1)
		member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -E '(^|/)vmlinuz' | head -n1)
		dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$member" >"$f.tmp" && mv "$f.tmp" "$f"
		rm -f "$deb"
		[ -s "$f" ] || die "$k: no vmlinuz in $p"
	fi
	KERNELS+=("$k:$p")
done
say "kernels ready in $(($(date +%s) - t0)) s: ${KERNELS[*]}"
[ -n "${VMTEST_FETCH_ONLY:-}" ] && exit 0

# ---- initramfs: busybox, the static agent and trigger, a generated node layout
R=$VM/root
rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp} || die "mkdir root"
cp /bin/busybox "$R/bin/" && cp "$KW" "$R/keywatch" && cp "$TRIG" "$R/kwtrig" &&
	cp "$QEXIT" "$R/qexit" && cp tests/vmtest/guest.sh "$R/guest.sh" || die "copy into the initramfs"
tests/gen-layout.sh "$R/node" >/dev/null 2>&1 || die "gen-layout"
# an operator-watched file, for creat(2) (which truncates: never a real key)
mkdir -p "$R/node/srv" && echo "operator secret" >"$R/node/srv/secret.txt" && chmod 600 "$R/node/srv/secret.txt"
mknod "$R/dev/console" c 5 1
cat >"$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
sh /guest.sh
rc=$?
echo "VMTEST_RC=$rc"
/qexit $rc
poweroff -f
INIT
chmod 755 "$R/init" "$R/guest.sh"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$VM/initramfs.gz" || die "cpio"

# ---- boot, two at a time (2 cores)
boot() { # K:PKG
	local k p log rc t
	k=${1%%:*}
	p=${1#*:}
	log=$VM/$k.log
	t=$(date +%s)
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G -nographic \
		-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$VM/kernels/$p.vmlinuz" -initrd "$VM/initramfs.gz" \
		-append "console=ttyS0 quiet rdinit=/init panic=-1 lsm=lockdown,capability,landlock,bpf" \
		</dev/null >"$log" 2>&1
	rc=$?
	echo "$rc $(($(date +%s) - t))" >"$log.rc"
}
t0=$(date +%s)
pids=()
for kp in "${KERNELS[@]}"; do
	boot "$kp" &
	pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
wait
total=$(($(date +%s) - t0))

pass=0
fail=0
advisory=0
for kp in "${KERNELS[@]}"; do
	k=${kp%%:*}
	log=$VM/$k.log
	read -r rc secs <"$log.rc"
	np=$(grep -c '^RESULT .* \(PASS\|GAP\)' "$log")
	nf=$(grep -c '^RESULT .* FAIL' "$log")
	# Every cell must have reported: a guest that stopped early is no pass.
	[ "$rc" = 1 ] && [ "$np" -lt "${VMTEST_MIN_CELLS:-75}" ] && rc=short
	case $rc in
	1) verdict=PASS ;;
	short) verdict="FAIL (only $np cells reported)" ;;
	3) verdict="FAIL ($nf cells failed)" ;;
	124 | 137) verdict="FAIL (timeout after ${BOOT_TIMEOUT} s)" ;;
	*) verdict="FAIL (qemu exit $rc: no result)" ;;
	esac
	say "$k ($(grep -a -o -m1 'INFO kernel [^ ]*' "$log" | cut -d' ' -f3)): $verdict, $np cells passed, ${secs} s"
	grep '^RESULT .* FAIL' "$log" | sed 's/^/  /'
	if [ "$k" = sid ] && [ "$rc" != 1 ]; then
		advisory=$((advisory + 1))
		say "sid is advisory: not counted as a failure"
		pass=$((pass + np))
		continue
	fi
	pass=$((pass + np))
	[ "$rc" = 1 ] || fail=$((fail + (nf > 0 ? nf : 1)))
done
say "matrix booted in $total s"
echo "vmtest: $pass passed, $fail failed"
[ "$fail" = 0 ]
