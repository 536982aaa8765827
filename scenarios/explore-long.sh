#!/usr/bin/env bash
# Explore for hours: rounds of fresh seeds (a random start seed per round,
# printed), every failure kept with its shrunk form, progress after every
# round.  Usage: scenarios/explore-long.sh [HOURS] [DIR]
#   DIR (default failures/) gets seed-S.scn (the failing scenario, with the
#   failure and trace hash in its header), seed-S.min.scn (shrunk) and
#   log.txt (every round's closing line and failure lines).
# Environment: SIM (default build/utarget-sim), JOBS (default: all cores),
# ROUND (seeds per round, default 50000).
set -u
hours=${1:-1}
dir=${2:-failures}
sim=${SIM:-build/utarget-sim}
jobs=${JOBS:-$(nproc)}
round=${ROUND:-50000}
mkdir -p "$dir"
log="$dir/log.txt"
t0=$(date +%s)
end=$(awk -v t="$t0" -v h="$hours" 'BEGIN { printf "%d", t + h * 3600 }')
total=0; failed=0; rounds=0
echo "explore-long: $hours h on $jobs workers, $round seeds a round, failures in $dir/" | tee -a "$log"
while [ "$(date +%s)" -lt "$end" ]; do
	rounds=$((rounds + 1))
	# The explorer draws the start seed and prints it; keep its output.
	out=$("$sim" explore --seeds "$round" --start random --jobs "$jobs" \
		--out "$dir" --shrink --shrink-max-s 300 2>/dev/null)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(explore: seed|  replay|shrink:)' | tee -a "$log"
	last=$(printf '%s\n' "$out" | grep -E '^explore: [0-9]+ seeds from start seed .*failures' | tail -1)
	if [ -z "$last" ]; then
		echo "explore-long: round $rounds: the explorer stopped (exit $rc) without its closing line" | tee -a "$log"
		exit 2
	fi
	echo "$last" >>"$log"
	n=$(sed -E 's/^explore: ([0-9]+) seeds.*/\1/' <<<"$last")
	f=$(sed -E 's/.* ([0-9]+) failures.*/\1/' <<<"$last")
	total=$((total + n)); failed=$((failed + f))
	el=$(( $(date +%s) - t0 ))
	printf 'explore-long: round %d (%s): %d seeds explored in %dh%02dm, %d failures (%s per 100,000)\n' \
		"$rounds" "$(sed -E 's/.*(start seed [0-9]+).*/\1/' <<<"$last")" \
		"$total" $((el / 3600)) $((el % 3600 / 60)) "$failed" \
		"$(awk -v f="$failed" -v n="$total" 'BEGIN { printf "%.1f", n ? 100000 * f / n : 0 }')" | tee -a "$log"
done
echo "explore-long: done: $total seeds, $failed failures; scenarios in $dir/" | tee -a "$log"
[ "$failed" -eq 0 ]
