#!/usr/bin/env bash
# Runs cmocka unit test binaries (plain and sanitized) from the repo root; prints a summary.
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
for t in "$@"; do
	out=$(timeout 120 "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED|  OK  ) \]|^\[ +FAILED +\]|ERROR|runtime error|Sanitizer' | grep -v '^\[       OK \]'
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ "$rc" != 0 ] && [ -z "$f" ]; then
		echo "$t: exited $rc"
		fail=$((fail + 1))
	fi
done
printf 'unit: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" = 0 ]
