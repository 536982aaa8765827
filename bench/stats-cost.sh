#!/usr/bin/env bash
# bench/stats-cost.sh — what the per-LUN statistics cost (make bench-stats,
# run at the end of make bench; BENCH_STATS=0 skips it).
#
# Two daemons side by side, each with one reactor and a mem:1G LUN:
# build/utarget (statistics on) and the same tree built with
# -DUT_NO_IO_STATS (build/nostats/utarget; the counters and their two clock
# reads compiled out).  For 4 KiB random reads at queue depth 1 and 32
# (bench/ut-load), ROUNDS rounds of T seconds each, the two daemons in
# alternating order; per run the daemon's CPU time comes from the
# nanosecond run times of its threads (/proc/PID/task/*/schedstat), so
# CPU-µs per I/O does not depend on the clock tick.  Reports the median
# (and the range) per build, and the load average before and after.
#
# Environment: BENCH_OUT (build/bench), BENCH_STATS_TIME (5 s a run),
# BENCH_STATS_ROUNDS (5), BENCH_DOC (docs/performance.md; "none": do not
# write), BENCH_PORT_BASE (3291; this uses base+10 and base+11).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
ON=${BENCH_STATS_ON:-$ROOT/build/utarget}
OFF=${BENCH_STATS_OFF:-$ROOT/build/nostats/utarget}
LOAD=${BENCH_LOAD:-$OUT/ut-load}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}
T=${BENCH_STATS_TIME:-5}
ROUNDS=${BENCH_STATS_ROUNDS:-5}
PB=${BENCH_PORT_BASE:-3291}
IQN=iqn.2026-11.org.utarget:stats
mkdir -p "$OUT"
for b in "$ON" "$OFF" "$LOAD"; do
	[ -x "$b" ] || { echo "stats-cost: no $b (make bench-stats builds them)"; exit 2; }
done

declare -A PID PORT
pids=()
# Control sockets of their own, not the default one a serving utarget holds.
CTLDIR=$(mktemp -d /tmp/utarget-bench-ctl.XXXXXX) || exit 2
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	rm -rf "$CTLDIR"
}
trap cleanup EXIT
start() { # name binary port
	"$2" --listen "127.0.0.1:$3" --reactors 1 --target "$IQN" --lun mem:1G \
		--log-level warn --control "$CTLDIR/$3.sock" >"$OUT/stats-$1.log" 2>&1 &
	PID[$1]=$!
	PORT[$1]=$3
	pids+=($!)
	for _ in $(seq 100); do
		iscsi-inq "iscsi://127.0.0.1:$3/$IQN/0" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "stats-cost: $1 did not start: $(tail -3 "$OUT/stats-$1.log")"
	exit 1
}
cpu_ns() { # pid -> run time of all its threads, ns
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start on "$ON" $((PB + 10))
start off "$OFF" $((PB + 11))
# warm both (the LUN's memory is touched on first write; reads of a
# fresh mem LUN read zeros from pages never written, which is what both
# see).
for n in on off; do
	"$LOAD" -q 32 -b 4096 -r -t 1 "iscsi://127.0.0.1:${PORT[$n]}/$IQN/0" >/dev/null 2>&1
done
res=$OUT/stats-cost.txt
: >"$res"
for qd in 1 32; do
	for r in $(seq "$ROUNDS"); do
		order="on off"
		[ $((r % 2)) = 0 ] && order="off on"
		for n in $order; do
			c0=$(cpu_ns "${PID[$n]}")
			out=$("$LOAD" -q "$qd" -b 4096 -r -t "$T" "iscsi://127.0.0.1:${PORT[$n]}/$IQN/0" 2>&1 | grep '^RESULT')
			c1=$(cpu_ns "${PID[$n]}")
			ios=$(sed -E 's/.*RESULT ios=([0-9]+).*/\1/' <<<"$out")
			iops=$(sed -E 's/.* iops=([^ ]+).*/\1/' <<<"$out")
			[ -n "$ios" ] && [ "$ios" -gt 0 ] || { echo "stats-cost: ut-load failed against $n: $out"; exit 1; }
			cpu=$(awk -v a="$c0" -v b="$c1" -v n="$ios" 'BEGIN { printf "%.2f", (b - a) / 1000 / n }')
			echo "$qd $n $r $iops $cpu" >>"$res"
			printf 'stats-cost: QD%-2s %-3s round %s: %8s IOPS %7s CPU-us/IO\n' "$qd" "$n" "$r" "$iops" "$cpu"
		done
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# median and range of column COL for QD and build
stat() {
	awk -v qd="$1" -v n="$2" -v col="$3" '$1 == qd && $2 == n { v[++k] = $col }
	END {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		printf "%s (%s–%s)", v[int((k + 1) / 2)], v[1], v[k]
	}' "$res"
}
med() { stat "$@" | cut -d' ' -f1; }
lo() { stat "$@" | sed -E 's/.*\(([^–]*)–.*/\1/'; }
table() {
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench-stats\` (bench/stats-cost.sh):"
	echo "4 KiB random reads of a mem:1G LUN through bench/ut-load, one reactor,"
	echo "$ROUNDS runs of $T s per cell in alternating order, CPU from"
	echo "/proc/PID/task/*/schedstat; median (range).  Load average before"
	echo "$load0, after $load1 ($(nproc) CPUs; the client shares them)."
	echo
	echo "| 4K random read | stats on: CPU-µs/IO | stats off: CPU-µs/IO | difference of the medians | of the minima | stats on: IOPS | stats off: IOPS |"
	echo "|---|---|---|---|---|---|---|"
	for qd in 1 32; do
		d=$(awk -v a="$(med $qd on 5)" -v b="$(med $qd off 5)" 'BEGIN { printf "%+.2f µs (%+.1f %%)", a - b, (a - b) * 100 / b }')
		m=$(awk -v a="$(lo $qd on 5)" -v b="$(lo $qd off 5)" 'BEGIN { printf "%+.2f µs (%+.1f %%)", a - b, (a - b) * 100 / b }')
		echo "| QD$qd | $(stat $qd on 5) | $(stat $qd off 5) | $d | $m | $(stat $qd on 4) | $(stat $qd off 4) |"
	done
	echo
	echo "A run whose client or daemon waited for the CPU does fewer I/Os for the"
	echo "same fixed costs (wake-ups), so on a loaded machine the minima are the"
	echo "better estimate; every run is in build/bench/stats-cost.txt."
}
table | tee "$OUT/stats-cost.md"
if [ "$DOC" != none ] && grep -q '^<!-- bench-stats:begin -->$' "$DOC"; then
	awk -v t="$OUT/stats-cost.md" '
		/^<!-- bench-stats:begin -->$/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
		/^<!-- bench-stats:end -->$/ { skip = 0 }
		!skip { print }' "$DOC" >"$DOC.new" && mv "$DOC.new" "$DOC"
	echo "stats-cost: $DOC updated"
fi
