#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS from a seed corpus generated from kubeadm layouts
# (tests/gen-layout.sh; throwaway keys, kept under .output, never committed). Prints one line per
# target and fails if any target crashed, leaked or timed out.
# usage: tests/fuzz/run.sh SECONDS FUZZ-BINARY...
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=$1
shift
out=.output/fuzz
seeds=$out/seeds
if [ ! -d "$seeds" ]; then
	tmp=$(mktemp -d)
	tests/gen-layout.sh -k control-plane -a rsa "$tmp/rsa" && tests/gen-layout.sh -k worker -a ecdsa "$tmp/ecdsa" || exit 1
	mkdir -p "$seeds"/pem "$seeds"/config "$seeds"/policy
	find "$tmp" -type f \( -name '*.crt' -o -name '*.key' -o -name '*.pem' -o -name 'sa.pub' \) |
		head -n 40 | while read -r f; do cp "$f" "$seeds/pem/$(echo "$f" | md5sum | cut -c1-12)"; done
	find "$tmp" -type f \( -name '*.yaml' -o -name '*.conf' -o -name '*.env' \) |
		while read -r f; do cp "$f" "$seeds/config/$(echo "$f" | md5sum | cut -c1-12)"; done
	cp docs/policy.example.yaml "$seeds/policy/example"
	rm -rf "$tmp"
fi
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	kind=${name#fuzz_}
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	[ -d "$seeds/$kind" ] && cp -n "$seeds/$kind"/* "$corpus"/ 2>/dev/null
	log=$out/$name.log
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
	units=$(ls "$corpus" | wc -l)
	if [ "$rc" = 0 ]; then
		printf 'fuzz %-14s ok    %6ss %10s runs  %s  corpus %s\n' "$name" "$secs" "${runs:-?}" "$cov" "$units"
	else
		printf 'fuzz %-14s FAIL  exit %s, see %s\n' "$name" "$rc" "$log"
		grep -m5 -E 'ERROR|SUMMARY|Test unit written' "$log"
		fail=$((fail + 1))
	fi
done
printf 'fuzz: %d passed, %d failed\n' $(($# - fail)) "$fail"
[ "$fail" = 0 ]
