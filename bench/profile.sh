#!/usr/bin/env bash
# bench/profile.sh — where utarget spends its time under 4 KiB random reads
# at QD32 (`make bench-profile`).  Starts its own utarget on 127.0.0.1 with
# the bench's file LUN and, while ut-load loads it:
#   1. perf stat   (task-clock, context switches, faults) -> CPU-µs per I/O
#   2. perf record (cpu-clock samples with DWARF call graphs) -> hot symbols
#   3. strace -c   (separate ut-load run; syscall counts per I/O)
# Output: build/bench/profile.txt (and perf.data).
#
# Environment: BENCH_UTARGET_ARGS, BENCH_UTARGET, BENCH_OUT, BENCH_PORT_BASE,
#   PROFILE_TIME (seconds of perf record, default 4), PROFILE_LUN (file|mem|null),
#   PROFILE_LOAD (ut-load options, default "-q 32 -b 4096 -r -w 0"; e.g.
#   "-q 32 -b 4096 -r -w 100" for random writes, "-q 8 -b 131072" for 128K
#   sequential reads)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
UTARGET=${BENCH_UTARGET:-$ROOT/build/utarget}
LOAD=${BENCH_LOAD:-$OUT/ut-load}
WARM=${BENCH_WARM:-$OUT/cache-warm}
UT_ARGS=${BENCH_UTARGET_ARGS:-}
D=${PROFILE_TIME:-4}
KIND=${PROFILE_LUN:-file}
LOADARGS=${PROFILE_LOAD:--q 32 -b 4096 -r -w 0}
PORT=$((${BENCH_PORT_BASE:-3291} + 5))
IQN=iqn.2026-11.org.utarget:bench
SIZE=1073741824
BACKING=$OUT/backing.img
REPORT=${PROFILE_REPORT:-$OUT/profile.txt}

die() { echo "profile: $*" >&2; exit 1; }
command -v perf >/dev/null || die "perf is missing: apt-get install linux-perf"
[ -x "$LOAD" ] || die "$LOAD missing (make bench-profile builds it)"
mkdir -p "$OUT"
if [ ! -f "$BACKING" ] || [ "$(stat -c %s "$BACKING")" != $SIZE ]; then
	head -c $SIZE /dev/urandom >"$BACKING.tmp" && mv "$BACKING.tmp" "$BACKING" || die "cannot create $BACKING"
fi
[ -x "$WARM" ] || die "$WARM missing (make bench-profile builds it)"
"$WARM" "$BACKING" >/dev/null || die "cannot warm the page cache with $BACKING"

PID=; PERF_PID=; CTLDIR=
cleanup() {
	[ -n "$PERF_PID" ] && kill -TERM "$PERF_PID" 2>/dev/null
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "$CTLDIR" ] && rm -rf "$CTLDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A control socket of its own, not the default one a serving utarget holds.
CTLDIR=$(mktemp -d /tmp/utarget-bench-ctl.XXXXXX) || die "mktemp"
# shellcheck disable=SC2086
"$UTARGET" --listen 127.0.0.1:$PORT --target $IQN --lun "file:$BACKING" \
	--lun mem:1G --lun null:1T --shutdown-grace 1 --log-level warn \
	--control "$CTLDIR/$PORT.sock" $UT_ARGS \
	>"$OUT/utarget-profile.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
	kill -0 $PID 2>/dev/null || die "utarget did not start: $(tail -3 "$OUT/utarget-profile.log")"
	sleep 0.05
done
case $KIND in file) LUN=0 ;; mem) LUN=1 ;; null) LUN=2 ;; *) die "PROFILE_LUN=$KIND?" ;; esac
URL=iscsi://127.0.0.1:$PORT/$IQN/$LUN

load_iops() { sed -nE 's/^RESULT .* iops=([^ ]+).*/\1/p' "$1"; }

{
	echo "utarget profile: ut-load $LOADARGS, 1 session, $KIND LUN, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "utarget options: ${UT_ARGS:-none}; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo

	# 1. perf stat over D seconds in the middle of a D+2 s run
	# shellcheck disable=SC2086
	"$LOAD" $LOADARGS -t $((D + 2)) "$URL" >"$OUT/profile-stat.out" 2>&1 &
	LOADER=$!
	sleep 1
	perf stat -p $PID -e task-clock,context-switches,cpu-migrations,page-faults -- sleep "$D" 2>"$OUT/perf-stat.txt"
	wait $LOADER
	IOPS=$(load_iops "$OUT/profile-stat.out")
	echo "== perf stat ($D s, ut-load average $IOPS IOPS)"
	grep -E 'task-clock|context-switches|cpu-migrations|page-faults' "$OUT/perf-stat.txt"
	awk -v iops="$IOPS" -v d="$D" '
		/task-clock/ { gsub(/,/, "", $1); tc = $1 }
		/context-switches/ { gsub(/,/, "", $1); cs = $1 }
		END { if (iops > 0) printf "=> %.2f CPU-us per I/O, %.3f context switches per I/O\n", tc * 1000 / (iops * d), cs / (iops * d) }' "$OUT/perf-stat.txt"
	echo

	# 2. perf record: where the CPU goes
	# shellcheck disable=SC2086
	"$LOAD" $LOADARGS -t $((D + 2)) "$URL" >"$OUT/profile-record.out" 2>&1 &
	LOADER=$!
	sleep 1
	perf record -q -o "$OUT/perf.data" -F 1999 --call-graph dwarf,8192 -p $PID -- sleep "$D" >/dev/null 2>&1
	wait $LOADER
	echo "== perf record: self time by DSO"
	perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -8
	echo
	echo "== perf record: self time by symbol (top 40)"
	perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -40
	echo
	echo "== perf record: inclusive time (children), utarget and syscall entry points (top 40)"
	perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -40
	echo

	# 3. syscalls per I/O (strace slows the target; only the counts matter)
	if command -v strace >/dev/null; then
		strace -c -f -p $PID -o "$OUT/strace.txt" &
		ST=$!
		sleep 0.5
		# shellcheck disable=SC2086
		R=$("$LOAD" $LOADARGS -t 2 "$URL" | grep '^RESULT')
		kill -INT $ST; wait $ST 2>/dev/null
		N=$(sed -E 's/.*RESULT ios=([0-9]+).*/\1/' <<<"$R")
		echo "== strace -c during a 2 s ut-load run ($N I/Os; counts per I/O)"
		awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 { name = $NF; calls = $4; if (calls ~ /^[0-9]+$/ && n > 0) printf "%-20s %10d  %.3f per I/O\n", name, calls, calls / n }' "$OUT/strace.txt" | sort -k2 -n -r | head -15
	fi
} 2>&1 | tee "$REPORT"
echo "profile: $REPORT; perf report -i $OUT/perf.data for more" >&2
