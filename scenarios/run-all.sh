#!/usr/bin/env bash
# Run every scenario twice (same seed): each must pass both times with the
# same trace hash (regress/ holds explorer seeds that once failed, as they
# were generated then).  Then a few hundred explorer seeds.
# Usage: scenarios/run-all.sh [SIM] [SEEDS]
set -u
sim=${1:-build/utarget-sim}
seeds=${2:-300}
dir=$(dirname "$0")
fail=0; pass=0
hash_of() { sed -n 's/^trace-hash: //p' <<<"$1"; }
for f in "$dir"/*.scn "$dir"/regress/*.scn; do
	a=$("$sim" run "$f" 2>&1); ra=$?
	b=$("$sim" run "$f" 2>&1); rb=$?
	ha=$(hash_of "$a"); hb=$(hash_of "$b")
	if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then
		echo "scenarios: FAIL $(basename "$f")"; grep -E '^FAIL' <<<"$a" | sed 's/^/  /'
		fail=$((fail + 1))
	elif [ -z "$ha" ] || [ "$ha" != "$hb" ]; then
		echo "scenarios: NONDETERMINISTIC $(basename "$f"): $ha vs $hb"
		fail=$((fail + 1))
	else
		echo "scenarios: PASS $(basename "$f") ($ha)"
		pass=$((pass + 1))
	fi
done
echo "scenarios: $pass passed twice with equal hashes, $fail failed"
out=$(mktemp -d)
if ! "$sim" explore --seeds "$seeds" --jobs 2 --out "$out"; then
	echo "scenarios: explore failed; replayable scenarios in $out"
	fail=$((fail + 1))
else
	rm -rf "$out"
fi
[ $fail -eq 0 ]
