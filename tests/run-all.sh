#!/usr/bin/env bash
# make test: unit tests (plain + ASan/UBSan), then end-to-end tests against the real BPF programs
# (plain + ASan/UBSan agent), then the kernel matrix in qemu. Each stage is time-bounded. Last line: the combined summary.
set -u
cd "$(dirname "$0")/.." || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

stage() { # NAME TIMEOUT CMD...
	local name=$1 t=$2
	shift 2
	echo "== $name"
	timeout "$t" "$@" 2>&1 | tee -a "$log"
	local rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "== $name: FAILED (exit $rc)"
		status=1
	fi
}

stage "format" 60 make --no-print-directory check-format
stage "unit" 600 make --no-print-directory unit
stage "e2e" 900 make --no-print-directory e2e
stage "fuzz smoke" 300 make --no-print-directory fuzz FUZZ_SECONDS=10
stage "deploy" 180 make --no-print-directory deploy-check
# The kernel matrix: Debian's 5.10, 6.1, 6.12 and sid kernels in qemu, every backend (sid advisory).
stage "vmtest" 900 make --no-print-directory vmtest

read -r p f < <(awk '/^(unit|e2e|fuzz|deploy|vmtest)[^:]*: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i - 1); if ($(i) ~ /^failed/) f += $(i - 1) }
} END { print p + 0, f + 0 }' "$log")
if [ "$status" != 0 ] && [ "$f" = 0 ]; then
	f=1 # a stage failed without counting a test: still a failure
fi
echo
echo "all: $p passed, $f failed"
[ "$status" = 0 ] && [ "$f" = 0 ]
