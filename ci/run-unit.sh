#!/usr/bin/env bash
# Run every unit-test binary; print one line per binary and a total.
set -u
pass=0; fail=0
for t in "$@"; do
	if out=$("$t" 2>&1); then
		n=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		echo "unit: PASS $(basename "$t") (${n:-?} tests)"
		pass=$((pass + ${n:-0}))
	else
		printf '%s\n' "$out" | grep -E 'FAILED|Error|error|failure' | head -20
		n=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		echo "unit: FAIL $(basename "$t")"
		fail=$((fail + ${n:-1}))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
