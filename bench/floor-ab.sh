#!/usr/bin/env bash
# bench/floor-ab.sh — build/bench/floor-target against build/utarget, side
# by side, pairs in ABBA order, for the three bars of issue 17
# (docs/performance.md, "The floor of this host").  Take the bench lock:
#   flock /work/coord/bench.lock bench/floor-ab.sh
#
# Every run is measured as bench/run.sh measures its rows: CPU = utime +
# stime of the server (/proc/PID/stat, all threads) around the client,
# divided by the I/Os (iscsi-perf: its average IOPS x seconds; ut-load:
# its ios).  The rows, each floor against utarget:
#   qd32        iscsi-perf -t T -m 32 -b 8 -r, servers unpinned (the bench row)
#               zeros against the null LUN, --file against the file LUN
#   qd32-pin    the same, server taskset -c 1 and client taskset -c 0,
#               both nice -n -10
#   qd1         ut-load -q 1 -b 4096 -r -w 0 -t TLAT on the file LUN: floor
#               sleeping, floor --poll-us 50, utarget (three sides, the
#               order rotating from pair to pair)
#   sr128k      iscsi-perf -t T -m 8 -b 256 (sequential; the bench row),
#               zeros against null, --file against file
#   map         floor --file --mmap (Data-In from a mapping: one copy,
#               as utarget's file LUN for reads of 64 KiB and more)
#               against the file LUN, qd32 and sr128k as above
#   qd1-pin     qd1, each server pinned (taskset -c 1, nice -n -10; the
#               polling floor too) and ut-load on CPU 0
#   poll        floor zeros --poll-us 50 (utarget's default polls up to
#               50 us, adaptively) against the null LUN, qd32 and sr128k
# Environment: FLOOR_AB_PAIRS (3), FLOOR_AB_T (5 s), FLOOR_AB_TLAT (3 s),
# FLOOR_AB_ONLY (regex of qd32, qd32-pin, qd1, qd1-pin, sr128k, map,
# poll), FLOOR_AB_PORT (3301, 10 ports).
# Prints one line per run, then the pairs; raw lines in build/bench/floor-ab.txt.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
PAIRS=${FLOOR_AB_PAIRS:-3}
T=${FLOOR_AB_T:-5}
TLAT=${FLOOR_AB_TLAT:-3}
ONLY=${FLOOR_AB_ONLY:-}
PB=${FLOOR_AB_PORT:-3301}
FLOOR=$OUT/floor-target
UTARGET=$ROOT/build/utarget
LOAD=$OUT/ut-load
BACKING=$OUT/backing.img
IQN=iqn.2026-11.org.utarget:bench
HZ=$(getconf CLK_TCK)
RES=$OUT/floor-ab.txt

die() { echo "floor-ab: $*" >&2; exit 1; }
for f in "$FLOOR" "$UTARGET" "$LOAD" "$OUT/cache-warm"; do
	[ -x "$f" ] || die "$f missing (make bench builds it)"
done
[ -f "$BACKING" ] || die "$BACKING missing (make bench creates it)"
"$OUT/cache-warm" "$BACKING" >&2 || die "cache-warm failed"

PIDS=()
CTL=$(mktemp -d /tmp/floor-ab.XXXXXX)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$CTL"
}
trap cleanup EXIT
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.05
	done
	die "nothing listens on $1"
}
declare -A PORT PID
# name port pin(-|1) command...
server() {
	local name=$1 port=$2 pin=$3 pre=()
	shift 3
	[ "$pin" = 1 ] && pre=(nice -n -10 taskset -c 1)
	"${pre[@]}" "$@" >"$OUT/floor-ab-$name.log" 2>&1 &
	PID[$name]=$!; PORT[$name]=$port; PIDS+=($!)
	wait_port "$port"
}
ut_args=(--target $IQN --lun "file:$BACKING" --lun mem:1G --lun null:1T
	--shutdown-grace 1 --log-level warn)
server utarget $PB - "$UTARGET" --listen 127.0.0.1:$PB "${ut_args[@]}" --control "$CTL/a.sock"
server utarget-pin $((PB + 1)) 1 "$UTARGET" --listen 127.0.0.1:$((PB + 1)) "${ut_args[@]}" --control "$CTL/b.sock"
server floor $((PB + 2)) - "$FLOOR" --listen 127.0.0.1:$((PB + 2))
server floor-file $((PB + 3)) - "$FLOOR" --listen 127.0.0.1:$((PB + 3)) --file "$BACKING"
server floor-pin $((PB + 4)) 1 "$FLOOR" --listen 127.0.0.1:$((PB + 4))
server floor-file-pin $((PB + 5)) 1 "$FLOOR" --listen 127.0.0.1:$((PB + 5)) --file "$BACKING"
server floor-file-map $((PB + 7)) - "$FLOOR" --listen 127.0.0.1:$((PB + 7)) --file "$BACKING" --mmap
server floor-poll $((PB + 8)) - "$FLOOR" --listen 127.0.0.1:$((PB + 8)) --poll-us 50
server floor-file-poll-pin $((PB + 9)) 1 "$FLOOR" --listen 127.0.0.1:$((PB + 9)) --file "$BACKING" --poll-us 50
server floor-file-poll $((PB + 6)) - "$FLOOR" --listen 127.0.0.1:$((PB + 6)) --file "$BACKING" --poll-us 50

url() { # server lun(file|null)
	local n=0
	[[ $1 == utarget* ]] && [ "$2" = null ] && n=2
	echo "iscsi://127.0.0.1:${PORT[$1]}/$IQN/$n"
}
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/$1/stat; }

# run ROW PAIR SERVER LUN TOOL(perf|load) PINNED(0|1) ARGS...
run() {
	local row=$1 k=$2 sv=$3 lun=$4 tool=$5 pin=$6 c0 c1 ios=0 iops p50=- out
	shift 6
	local pre=()
	[ "$pin" = 1 ] && pre=(nice -n -10 taskset -c 0)
	[ "$lun" = file ] && { "$OUT/cache-warm" --top-up "$BACKING" >/dev/null || die "top-up"; }
	out=$OUT/floor-ab-run.out
	c0=$(ticks "${PID[$sv]}")
	if [ "$tool" = perf ]; then
		timeout $((T + 60)) "${pre[@]}" iscsi-perf -i iqn.2026-11.org.utarget:perf-1 -t "$T" "$@" "$(url "$sv" "$lun")" >"$out" 2>&1
		c1=$(ticks "${PID[$sv]}")
		iops=$(tr '\r' '\n' <"$out" | awk '/^iops average/ { v = $3 } END { print v + 0 }')
		ios=$((iops * T))
	else
		timeout $((TLAT + 60)) "${pre[@]}" "$LOAD" "$@" -t "$TLAT" "$(url "$sv" "$lun")" >"$out" 2>&1
		c1=$(ticks "${PID[$sv]}")
		local r
		r=$(grep '^RESULT' "$out")
		ios=$(sed -E 's/.*RESULT ios=([0-9]+).*/\1/' <<<"$r")
		iops=$(sed -E 's/.* iops=([^ ]+).*/\1/' <<<"$r")
		p50=$(sed -E 's/.* p50_us=([^ ]+).*/\1/' <<<"$r")
		grep -q ' errors=0$' <<<"$r" || echo "floor-ab: $row $sv: errors: $r" >&2
	fi
	local cpu
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="${ios:-0}" \
		'BEGIN { if (n > 0) printf "%.2f", (b - a) * 1e6 / hz / n; else print "-" }')
	echo "$row $k $sv $iops $p50 $cpu" | tee -a "$RES"
}

: >"$RES"
echo "# $(date -u '+%F %T UTC') load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES"
for k in $(seq "$PAIRS"); do
	# the side that goes first alternates from pair to pair (ABBA)
	ab() { if [ $((k % 2)) = 1 ]; then echo "$1 $2"; else echo "$2 $1"; fi; }
	want() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }
	if want qd32; then
		for sv in $(ab floor utarget); do run qd32-zero "$k" "$sv" null perf 0 -m 32 -b 8 -r; done
		for sv in $(ab floor-file utarget); do run qd32-file "$k" "$sv" file perf 0 -m 32 -b 8 -r; done
	fi
	if want qd32-pin; then
		for sv in $(ab floor-pin utarget-pin); do run qd32-pin-zero "$k" "$sv" null perf 1 -m 32 -b 8 -r; done
		for sv in $(ab floor-file-pin utarget-pin); do run qd32-pin-file "$k" "$sv" file perf 1 -m 32 -b 8 -r; done
	fi
	if want qd1; then
		case $((k % 3)) in
		1) o="floor-file floor-file-poll utarget" ;;
		2) o="utarget floor-file-poll floor-file" ;;
		0) o="floor-file-poll utarget floor-file" ;;
		esac
		for sv in $o; do run qd1 "$k" "$sv" file load 0 -q 1 -b 4096 -r -w 0; done
	fi
	if want qd1-pin; then
		case $((k % 3)) in
		1) o="floor-file-pin floor-file-poll-pin utarget-pin" ;;
		2) o="utarget-pin floor-file-poll-pin floor-file-pin" ;;
		0) o="floor-file-poll-pin utarget-pin floor-file-pin" ;;
		esac
		for sv in $o; do run qd1-pin "$k" "$sv" file load 1 -q 1 -b 4096 -r -w 0; done
	fi
	if want sr128k; then
		for sv in $(ab floor utarget); do run sr128k-zero "$k" "$sv" null perf 0 -m 8 -b 256; done
		for sv in $(ab floor-file utarget); do run sr128k-file "$k" "$sv" file perf 0 -m 8 -b 256; done
	fi
	if want map; then
		for sv in $(ab floor-file-map utarget); do run qd32-map "$k" "$sv" file perf 0 -m 32 -b 8 -r; done
		for sv in $(ab floor-file-map utarget); do run sr128k-map "$k" "$sv" file perf 0 -m 8 -b 256; done
	fi
	if want poll; then
		for sv in $(ab floor-poll utarget); do run qd32-zero-poll "$k" "$sv" null perf 0 -m 32 -b 8 -r; done
		for sv in $(ab floor-poll utarget); do run sr128k-zero-poll "$k" "$sv" null perf 0 -m 8 -b 256; done
	fi
done
echo "# $(date -u '+%F %T UTC') load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RES"
