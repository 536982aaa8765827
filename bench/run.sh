#!/usr/bin/env bash
# bench/run.sh — utarget against tgt, side by side, in one run (`make bench`).
#
# Starts build/utarget and tgtd on 127.0.0.1 (different ports), serving the
# same LUNs:
#   file  one 1 GiB backing file (page cache warm), utarget file: / tgt rdwr
#   mem   utarget mem:1G          / tgt rdwr on a 1 GiB file in /dev/shm
#   null  utarget null:1T         / tgt bstype null (1 TiB)
# and runs every benchmark row against each target in turn (the order
# alternates from row to row), measuring the target process's CPU time
# (utime+stime of all its threads, /proc/PID/stat) around each client run.
# Reads run through libiscsi's iscsi-perf (IOPS, MB/s, CPU) followed by a
# shorter ut-load run of the same shape for the latency percentiles; writes
# and mixes run through bench/ut-load.  iperf3 over 127.0.0.1 is the ceiling.
#
# Environment:
#   BENCH_QUICK=1              a few seconds per point (development)
#   BENCH_TIME / BENCH_LAT_TIME  seconds per point / per latency run
#   BENCH_UTARGET_ARGS         extra utarget options (e.g. --reactors 2)
#   BENCH_UTARGET_SCALE_ARGS   if set, a second utarget with these options
#                              also runs the single/multi-session rows,
#                              labelled "utarget+" (e.g. --reactors 2)
#   BENCH_DOC                  where to write the report (docs/performance.md;
#                              "none" to skip), BENCH_PLOT likewise
#   BENCH_OUT                  work directory (build/bench)
#   BENCH_PORT_BASE            first of the TCP ports used (default 3291)
#   BENCH_ONLY                 regex of row ids to run (development; from
#                              make, write $$ for a regex's $)
#   BENCH_NICE                 e.g. -10: renice the whole bench (servers and
#                              clients alike) against other load on the host
#   BENCH_NAGLE=0              skip the adaptive-Nagle rows (two more
#                              utargets pinned to CPU 1, --adaptive-nagle
#                              on and off, 512-byte reads QD 1..128)
#   BENCH_NAGLE_RUNS, BENCH_NAGLE_TIME  runs per side and queue depth (6)
#                              and seconds per run (1.5): on and off
#                              alternate in pairs, ABBA (docs/performance.md,
#                              "Adaptive Nagle")
#   BENCH_NAGLE_TOL_IOPS, BENCH_NAGLE_TOL_CPU  the check's margins (0.05,
#                              0.05): on passes at a queue depth if the
#                              median of the pairs' on/off IOPS ratios is
#                              >= 1 - TOL_IOPS and that of their CPU per I/O
#                              ratios <= 1 + TOL_CPU (the spread of an A/A
#                              run, off against off, on this host)
#   BENCH_NAGLE_ON_UTARGET, BENCH_NAGLE_ON_ARGS  the "on" side's binary and
#                              options (build/utarget, --adaptive-nagle on):
#                              to check the check with a planted slowdown,
#                              or an A/A run with "--adaptive-nagle off"
#                              (bench/nagle-plant.sh does the former)
#   BENCH_FLOOR=0              skip the floor rows: build/bench/floor-target
#                              (bench/floor-target.c, the least an iSCSI
#                              target can do), zeros and --file, on the rows
#                              of issue 17's bars, same clients and CPU
#                              accounting as utarget's ("Floor of this
#                              host" under the bars; about a minute);
#                              BENCH_FLOOR_TARGET: its path
#   BENCH_DIGEST_RUNS, BENCH_DIGEST_TIME  the digest check: pairs of ut-dload
#                              runs without and with both digests against
#                              the utarget pinned to CPU 1 (6), seconds per
#                              run (2), one pair per round of the Nagle rows
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
UTARGET=${BENCH_UTARGET:-$ROOT/build/utarget}
UTDIR=$(cd "$(dirname "$UTARGET")/.." && pwd)   # the tree it was built from
LOAD=${BENCH_LOAD:-$OUT/ut-load}
DLOAD=${BENCH_DLOAD:-$OUT/ut-dload}
WARM=${BENCH_WARM:-$OUT/cache-warm}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}
PLOT=${BENCH_PLOT:-$ROOT/docs/perf-qd.png}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
	T=${BENCH_TIME:-2}; TLAT=${BENCH_LAT_TIME:-1}; QDS="1 8 32"
else
	T=${BENCH_TIME:-8}; TLAT=${BENCH_LAT_TIME:-3}; QDS="1 2 4 8 16 32"
fi
UT_ARGS=${BENCH_UTARGET_ARGS:-}
UT2_ARGS=${BENCH_UTARGET_SCALE_ARGS:-}
ONLY=${BENCH_ONLY:-}
PB=${BENCH_PORT_BASE:-3291}
UT_PORT=$PB; TGT_PORT=$((PB + 1)); UT2_PORT=$((PB + 2)); IPERF_PORT=$((PB + 3))
NON_PORT=$((PB + 6)); NOFF_PORT=$((PB + 7))   # (PB + 5: bench/profile.sh)
UTP_PORT=$((PB + 8))   # utarget pinned to CPU 1: the digest rows
FLZ_PORT=$((PB + 9)); FLF_PORT=$((PB + 12))   # floor-target: zeros, --file
FLOOR=${BENCH_FLOOR:-1}
FLOOR_BIN=${BENCH_FLOOR_TARGET:-$OUT/floor-target}
# the rows of issue 17's bars, and their null-LUN twins, run on the floor
FLOOR_ROWS=" rr4k-qd32 rr4k-qd1 sr128k-qd8 null-rr4k-qd32 null-sr128k-qd8 "
NAGLE=${BENCH_NAGLE:-1}
if [ -n "$QUICK" ]; then NQDS="1 16 128"; else NQDS="1 2 4 8 16 32 64 128"; fi
NRUNS=${BENCH_NAGLE_RUNS:-6}
NT=${BENCH_NAGLE_TIME:-$([ -n "$QUICK" ] && echo 1 || echo 1.5)}
NTOL_IOPS=${BENCH_NAGLE_TOL_IOPS:-0.05}
NTOL_CPU=${BENCH_NAGLE_TOL_CPU:-0.05}
NON_UTARGET=${BENCH_NAGLE_ON_UTARGET:-$UTARGET}
NON_ARGS=${BENCH_NAGLE_ON_ARGS:---adaptive-nagle on}
CTL=${BENCH_UTARGETCTL:-$(dirname "$UTARGET")/utargetctl}
DRUNS=${BENCH_DIGEST_RUNS:-6}   # digest check: pairs of runs, ABBA
DT=${BENCH_DIGEST_TIME:-$([ -n "$QUICK" ] && echo 1 || echo 2)}
TGT_CTL=$((PB + 4))          # tgtd control "port": /var/run/tgtd/socket.$TGT_CTL
UT_IQN=iqn.2026-11.org.utarget:bench
TGT_IQN=iqn.2026-11.org.utarget:bench-tgt
HZ=$(getconf CLK_TCK)
SIZE=1073741824
BACKING=$OUT/backing.img
SHM=/dev/shm/utarget-bench-$$.img

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for tool in tgtd tgtadm iscsi-perf iperf3 gnuplot; do
	command -v $tool >/dev/null ||
		die "$tool is missing: apt-get install tgt libiscsi-bin iperf3 gnuplot-nox libiscsi-dev"
done
[ -x "$UTARGET" ] || die "$UTARGET missing (make)"
[ -x "$LOAD" ] || die "$LOAD missing (make bench builds it)"
[ -x "$DLOAD" ] || die "$DLOAD missing (make bench builds it)"
[ -x "$WARM" ] || die "$WARM missing (make bench builds it)"
[ -x "$CTL" ] || die "$CTL missing (make bench builds it)"
[ "$(id -u)" = 0 ] || die "tgtd needs root (its control socket lives in /var/run/tgtd)"
mkdir -p "$OUT" /var/run/tgtd
if [ -n "${BENCH_NICE:-}" ]; then
	renice -n "$BENCH_NICE" -p $$ >/dev/null || die "renice $BENCH_NICE failed"
fi
[ -e /var/run/tgtd/socket.$TGT_CTL ] && pgrep -x tgtd >/dev/null &&
	die "a tgtd already uses control port $TGT_CTL (set BENCH_PORT_BASE)"

# --- the servers ------------------------------------------------------------
UT_PID=; UT2_PID=; TGT_PID=; IPERF_PID=; NON_PID=; NOFF_PID=; NCTL=; UTP_PID=
FLZ_PID=; FLF_PID=
cleanup() {
	local p
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		tgtadm -C $TGT_CTL --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1
		tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
	fi
	for p in $UT_PID $UT2_PID $IPERF_PID $NON_PID $NOFF_PID $UTP_PID $FLZ_PID $FLF_PID; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		local alive=
		for p in $UT_PID $UT2_PID $TGT_PID $IPERF_PID $NON_PID $NOFF_PID $UTP_PID $FLZ_PID $FLF_PID; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in $UT_PID $UT2_PID $TGT_PID $IPERF_PID $NON_PID $NOFF_PID $UTP_PID $FLZ_PID $FLF_PID; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$SHM" /var/run/tgtd/socket.$TGT_CTL /var/run/tgtd/socket.$TGT_CTL.lock
	[ -n "${NCTL:-}" ] && rm -rf "$NCTL"
	UT_PID=; UT2_PID=; TGT_PID=; IPERF_PID=; NON_PID=; NOFF_PID=; UTP_PID=
	FLZ_PID=; FLF_PID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # port pid
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || return 1
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

if [ ! -f "$BACKING" ] || [ "$(stat -c %s "$BACKING")" != $SIZE ]; then
	log "creating $BACKING (1 GiB of random data)"
	head -c $SIZE /dev/urandom >"$BACKING.tmp" && mv "$BACKING.tmp" "$BACKING" || die "cannot create $BACKING"
fi
# Warm the page cache (both targets read memory) in 4 KiB folios, as a
# random workload leaves it: see bench/cache-warm.c for why it matters.
"$WARM" "$BACKING" >&2 || die "cannot warm the page cache with $BACKING"
truncate -s $SIZE "$SHM" || die "cannot create $SHM"

# Every daemon has a control socket of its own, $NCTL/PORT.sock: on the
# default path only the first would get one, and a utarget serving on
# this host would be taken for it (utargetctl --control NCTL/PORT.sock
# status answers for the Nagle daemons' PDUs per send call).
NCTL=$(mktemp -d /tmp/utarget-bench-ctl.XXXXXX) || die "mktemp"
start_utarget() { # port [--bin PATH] [--pin CPU] args... ; echoes the pid
	local port=$1 pin=() bin=$UTARGET; shift
	if [ "${1:-}" = --bin ]; then bin=$2; shift 2; fi
	if [ "${1:-}" = --pin ]; then pin=(taskset -c "$2"); shift 2; fi
	# shellcheck disable=SC2086
	"${pin[@]}" "$bin" --listen 127.0.0.1:$port --target $UT_IQN \
		--lun "file:$BACKING" --lun mem:1G --lun null:1T \
		--shutdown-grace 1 --log-level warn --control "$NCTL/$port.sock" "$@" \
		>>"$OUT/utarget-$port.log" 2>&1 &
	echo $!
}

: >"$OUT/utarget-$UT_PORT.log"
# shellcheck disable=SC2086
UT_PID=$(start_utarget $UT_PORT $UT_ARGS)
wait_port $UT_PORT "$UT_PID" || die "utarget did not start: $(tail -3 "$OUT/utarget-$UT_PORT.log")"
if [ -n "$UT2_ARGS" ]; then
	: >"$OUT/utarget-$UT2_PORT.log"
	# shellcheck disable=SC2086
	UT2_PID=$(start_utarget $UT2_PORT $UT2_ARGS)
	wait_port $UT2_PORT "$UT2_PID" || die "utarget ($UT2_ARGS) did not start"
fi

# The digest rows (ut-dload): utarget pinned to CPU 1 and the client to
# CPU 0, as the Nagle rows.  Unpinned, the scheduler's placement decided
# them: client and target on one CPU took turns, 32 commands per receive
# call, on two CPUs ~16, and CPU per read moved by 1.8x between runs of
# the same build (docs/performance.md, "Digests").
if [ "$(nproc)" -ge 2 ]; then
	: >"$OUT/utarget-$UTP_PORT.log"
	# shellcheck disable=SC2086
	UTP_PID=$(start_utarget $UTP_PORT --pin 1 $UT_ARGS)
	wait_port $UTP_PORT "$UTP_PID" || die "utarget (pinned) did not start"
fi

# SCST usermode's workload for the adaptive Nagle: one utarget with it on,
# one with it off, both pinned to CPU 1 (the client runs on CPU 0)
if [ "$NAGLE" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	: >"$OUT/utarget-$NON_PORT.log"; : >"$OUT/utarget-$NOFF_PORT.log"
	# shellcheck disable=SC2086
	NON_PID=$(start_utarget $NON_PORT --bin "$NON_UTARGET" --pin 1 $UT_ARGS $NON_ARGS)
	# shellcheck disable=SC2086
	NOFF_PID=$(start_utarget $NOFF_PORT --pin 1 $UT_ARGS --adaptive-nagle off)
	wait_port $NON_PORT "$NON_PID" || die "utarget (adaptive Nagle on) did not start"
	wait_port $NOFF_PORT "$NOFF_PID" || die "utarget (adaptive Nagle off) did not start"
else
	NAGLE=0
fi

# The floor (bench/floor-target.c): one thread, epoll, one recv and one
# sendmsg per turn, READs from a zero buffer (against utarget's null LUN)
# or pread from the bench's file (--file, against the file LUN)
if [ "$FLOOR" = 1 ] && [ ! -x "$FLOOR_BIN" ]; then
	log "$FLOOR_BIN missing (make bench builds it): no floor rows"
	FLOOR=0
fi
if [ "$FLOOR" = 1 ]; then
	"$FLOOR_BIN" --listen 127.0.0.1:$FLZ_PORT >"$OUT/floor-$FLZ_PORT.log" 2>&1 &
	FLZ_PID=$!
	"$FLOOR_BIN" --listen 127.0.0.1:$FLF_PORT --file "$BACKING" >"$OUT/floor-$FLF_PORT.log" 2>&1 &
	FLF_PID=$!
	wait_port $FLZ_PORT "$FLZ_PID" && wait_port $FLF_PORT "$FLF_PID" ||
		die "floor-target did not start: $(tail -3 "$OUT/floor-$FLZ_PORT.log" "$OUT/floor-$FLF_PORT.log")"
fi

tgtd -f -C $TGT_CTL --iscsi portal=127.0.0.1:$TGT_PORT >"$OUT/tgtd.log" 2>&1 &
TGT_PID=$!
wait_port $TGT_PORT "$TGT_PID" || die "tgtd did not start: $(tail -3 "$OUT/tgtd.log")"
tgtctl() { tgtadm -C $TGT_CTL --lld iscsi "$@" || die "tgtadm $*"; }
tgtctl --op new --mode target --tid 1 -T $TGT_IQN
tgtctl --op new --mode logicalunit --tid 1 --lun 1 --bstype rdwr -b "$BACKING"
tgtctl --op new --mode logicalunit --tid 1 --lun 2 --bstype rdwr -b "$SHM"
tgtctl --op new --mode logicalunit --tid 1 --lun 3 --bstype null -b /dev/null
tgtctl --op bind --mode target --tid 1 -I 127.0.0.1
# digests offered as utarget offers them (tgt's default is None only,
# which would make its digest rows run without digests)
tgtctl --op update --mode target --tid 1 -n HeaderDigest -v CRC32C,None
tgtctl --op update --mode target --tid 1 -n DataDigest -v CRC32C,None

declare -A URL PID
URL[utarget]=iscsi://127.0.0.1:$UT_PORT/$UT_IQN
URL[utarget+]=iscsi://127.0.0.1:$UT2_PORT/$UT_IQN
URL[tgt]=iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN
URL[nagle-on]=iscsi://127.0.0.1:$NON_PORT/$UT_IQN
URL[nagle-off]=iscsi://127.0.0.1:$NOFF_PORT/$UT_IQN
URL[utarget-pinned]=iscsi://127.0.0.1:$UTP_PORT/$UT_IQN
PID[utarget-pinned]=$UTP_PID
# the digest check's two sides: the pinned utarget, without and with
URL[dig-none]=${URL[utarget-pinned]}; URL[dig-crc]=${URL[utarget-pinned]}
PID[dig-none]=$UTP_PID; PID[dig-crc]=$UTP_PID
PID[utarget]=$UT_PID; PID[utarget+]=$UT2_PID; PID[tgt]=$TGT_PID
PID[nagle-on]=$NON_PID; PID[nagle-off]=$NOFF_PID
lun_url() { # target kind
	local n
	case $1:$2 in
	floor:file) echo "iscsi://127.0.0.1:$FLF_PORT/$UT_IQN/0"; return ;;
	floor:*) echo "iscsi://127.0.0.1:$FLZ_PORT/$UT_IQN/0"; return ;;
	utarget*:file | nagle*:file) n=0 ;; utarget*:mem | nagle*:mem | dig*:mem) n=1 ;;
	utarget*:null | nagle*:null) n=2 ;;
	tgt:file) n=1 ;; tgt:mem) n=2 ;; tgt:null) n=3 ;;
	esac
	echo "${URL[$1]}/$n"
}

cpu_ticks() { # pid -> utime+stime of every thread, in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/$1/stat
}

# PDUs received, receive calls, PDUs sent, send calls of a Nagle daemon
# (its control socket), "- - - -" if it does not answer
nagle_io() { # nagle-on|nagle-off
	local port=$NON_PORT
	[ "$1" = nagle-off ] && port=$NOFF_PORT
	"$CTL" --control "$NCTL/$port.sock" --json status 2>/dev/null |
		jq -r '"\(.pdus_received) \(.recv_calls) \(.pdus_sent) \(.send_calls)"' 2>/dev/null ||
		echo "- - - -"
}

# --- one measurement ---------------------------------------------------------
# run_row ID TARGET KIND TOOL QD BYTES PATTERN WRITE% SESSIONS
# appends "target id iops mbps p50 p99 p999 cpu_us_per_io ios" to results
# (the Nagle rows add "pdus_per_recv pdus_per_send"); RUN_T overrides the
# seconds of the run
RESULTS=$OUT/results.txt
run_row() {
	local id=$1 tg=$2 kind=$3 tool=$4 qd=$5 bs=$6 pat=$7 wp=$8 ns=$9
	local url pid c0 c1 iops=0 mbps=0 ios=0 p50=- p99=- p999=- rnd= lat r k
	local T=${RUN_T:-$T}
	local blocks=$((bs / 512)) tmo=$((${T%.*} + 60)) hd= pin=() io0= io1= batch=
	[ "$tool" = loadhd ] && hd=-H
	# ut-dload (raw iSCSI, digests): the same flags, and the capacity
	# where its offsets are drawn (the LUNs of both targets hold 1 GiB)
	local dl=()
	case $tool in
	dload) dl=("$DLOAD") ;;
	dloadhd) dl=("$DLOAD" -H -D) ;;
	esac
	# the ut-dload rows: the client on CPU 0, and utarget's side is the
	# utarget pinned to CPU 1 (tgtd stays as it is: its threads)
	if [ ${#dl[@]} -gt 0 ] && [ -n "$UTP_PID" ]; then
		pin=(taskset -c 0)
		[ "$tg" = utarget ] && tg=utarget-pinned
	fi
	# the adaptive-Nagle rows: target on CPU 1 (pinned at start), client
	# on CPU 0
	[ "$tool" = pinned ] && pin=(taskset -c 0)
	url=$(lun_url "$tg" "$kind"); pid=${PID[$tg]:-}
	if [ "$tg" = floor ]; then
		pid=$FLZ_PID; [ "$kind" = file ] && pid=$FLF_PID
	fi
	kill -0 "$pid" 2>/dev/null || die "$tg (pid $pid) is gone; see $OUT"
	[ "$pat" = rand ] && rnd=-r
	[ "$tool" = pinned ] && io0=$(nagle_io "$tg")
	# the file LUN's pages back in the page cache: this machine may have
	# evicted them while other rows ran (bench/cache-warm.c, --top-up)
	if [ "$kind" = file ]; then
		"$WARM" --top-up "$BACKING" >/dev/null || die "cannot top up the page cache with $BACKING"
	fi
	c0=$(cpu_ticks "$pid")
	if [ "$tool" = perf ]; then
		local pids=()
		for k in $(seq "$ns"); do
			# shellcheck disable=SC2086
			timeout $tmo iscsi-perf -i "iqn.2026-11.org.utarget:perf-$k" -t $T \
				-m "$qd" -b $blocks $rnd "$url" >"$OUT/run-$id-$tg-$k.out" 2>&1 &
			pids+=($!)
		done
		wait "${pids[@]}"
		c1=$(cpu_ticks "$pid")
		for k in $(seq "$ns"); do
			r=$(tr '\r' '\n' <"$OUT/run-$id-$tg-$k.out" | awk '/^iops average/ { v = $3; m = $4 } END { gsub(/\(/, "", m); print v + 0, m + 0 }')
			[ "${r%% *}" = 0 ] && { log "$id $tg: iscsi-perf failed: $(tail -c 300 "$OUT/run-$id-$tg-$k.out")"; }
			iops=$((iops + ${r%% *})); mbps=$((mbps + ${r##* }))
		done
		ios=$((iops * T))
		mbps=$(awk -v i=$iops -v b=$bs 'BEGIN { printf "%.1f", i * b / 1e6 }')
		# latency companion: the same shape through ut-load
		lat=$(timeout $tmo "$LOAD" -q "$qd" -b "$bs" $rnd -w 0 -t $TLAT -s "$ns" "$url" 2>>"$OUT/errors.log" | grep '^RESULT')
		if [ -n "$lat" ]; then
			p50=$(sed -E 's/.* p50_us=([^ ]+).*/\1/' <<<"$lat")
			p99=$(sed -E 's/.* p99_us=([^ ]+).*/\1/' <<<"$lat")
			p999=$(sed -E 's/.* p999_us=([^ ]+).*/\1/' <<<"$lat")
		fi
	else
		if [ ${#dl[@]} -gt 0 ]; then
			# iscsi://HOST:PORT/IQN/LUN -> HOST PORT IQN LUN
			# shellcheck disable=SC2046
			timeout $tmo "${pin[@]}" "${dl[@]}" -q "$qd" -b "$bs" -S 1073741824 -t $T \
				$(sed -E 's|^iscsi://([^:/]+):([0-9]+)/([^/]+)/([0-9]+)$|\1 \2 \3 \4|' <<<"$url") \
				>"$OUT/run-$id-$tg.out" 2>&1
		else
			# shellcheck disable=SC2086
			timeout $tmo "${pin[@]}" "$LOAD" -q "$qd" -b "$bs" $rnd $hd -w "$wp" -t $T -s "$ns" "$url" \
				>"$OUT/run-$id-$tg.out" 2>&1
		fi
		c1=$(cpu_ticks "$pid")
		[ "$tool" = pinned ] && io1=$(nagle_io "$tg") &&
			batch=$(awk -v a="$io0" -v b="$io1" 'BEGIN { split(a, x); split(b, y)
				if (x[1] == "-" || y[1] == "-" || y[2] == x[2] || y[4] == x[4]) { print "- -"; exit }
				printf "%.2f %.2f", (y[1] - x[1]) / (y[2] - x[2]), (y[3] - x[3]) / (y[4] - x[4]) }')
		r=$(grep '^RESULT' "$OUT/run-$id-$tg.out")
		if [ -z "$r" ]; then
			log "$id $tg: ut-load failed: $(tail -c 300 "$OUT/run-$id-$tg.out")"
		else
			ios=$(sed -E 's/.*RESULT ios=([0-9]+).*/\1/' <<<"$r")
			iops=$(sed -E 's/.* iops=([^ ]+).*/\1/' <<<"$r")
			mbps=$(sed -E 's/.* mbps=([^ ]+).*/\1/' <<<"$r")
			p50=$(sed -E 's/.* p50_us=([^ ]+).*/\1/' <<<"$r")
			p99=$(sed -E 's/.* p99_us=([^ ]+).*/\1/' <<<"$r")
			p999=$(sed -E 's/.* p999_us=([^ ]+).*/\1/' <<<"$r")
			grep -q ' errors=0$' <<<"$r" || log "$id $tg: errors: $r"
		fi
	fi
	local cpu
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$ios" \
		'BEGIN { if (n > 0) printf "%.2f", (b - a) * 1e6 / hz / n; else print "-" }')
	[ "$tg" = utarget-pinned ] && tg=utarget   # (its column in the table)
	echo "$tg $id $iops $mbps $p50 $p99 $p999 $cpu $ios${batch:+ $batch}" >>"$RESULTS"
	printf 'bench: %-14s %-9s %8s IOPS %8s MB/s  p50 %7s p99 %7s p99.9 %7s us  %6s CPU-us/IO\n' \
		"$id" "$tg" "$iops" "$mbps" "$p50" "$p99" "$p999" "$cpu" >&2
}

# --- the rows ------------------------------------------------------------------
# id|label|kind|tool|qd|bytes|pattern|write%|sessions|scale
ROWS=()
for qd in $QDS; do
	ROWS+=("rr4k-qd$qd|4K random read QD$qd (file)|file|perf|$qd|4096|rand|0|1|$([ "$qd" = 32 ] && echo y)")
done
ROWS+=(
	"sr128k-qd8|128K seq read QD8 (file)|file|perf|8|131072|seq|0|1|"
	"rw4k-qd1|4K random write QD1 (file)|file|load|1|4096|rand|100|1|"
	"rw4k-qd32|4K random write QD32 (file)|file|load|32|4096|rand|100|1|"
	"mix4k-qd32|4K random 70/30 r/w QD32 (file)|file|load|32|4096|rand|30|1|"
	"sw128k-qd8|128K seq write QD8 (file)|file|load|8|131072|seq|100|1|"
	"rr4k-qd32-s2|4K random read QD32 x 2 sessions (file)|file|perf|32|4096|rand|0|2|y"
	"rr4k-qd32-s4|4K random read QD32 x 4 sessions (file)|file|perf|32|4096|rand|0|4|y"
	"mix4k-qd32-s4|4K random 70/30 r/w QD32 x 4 sessions (file)|file|load|32|4096|rand|30|4|y"
	"mem-rr4k-qd32|4K random read QD32 (mem)|mem|perf|32|4096|rand|0|1|"
	"mem-rr4k-qd1|4K random read QD1 (mem)|mem|perf|1|4096|rand|0|1|"
	"mem-rw4k-qd32|4K random write QD32 (mem)|mem|load|32|4096|rand|100|1|"
	"mem-sr128k-qd8|128K seq read QD8 (mem)|mem|perf|8|131072|seq|0|1|"
	"null-rr4k-qd32|4K random read QD32 (null)|null|perf|32|4096|rand|0|1|"
	"null-sr128k-qd8|128K seq read QD8 (null)|null|perf|8|131072|seq|0|1|"
	# digests: the same client (ut-load) without and with HeaderDigest
	# CRC32C (libiscsi offers no DataDigest; docs/performance.md)
	"nd-rr4k-qd32|4K random read QD32 (mem), ut-load, no digest|mem|load|32|4096|rand|0|1|"
	"hd-rr4k-qd32|4K random read QD32 (mem), ut-load, HeaderDigest CRC32C|mem|loadhd|32|4096|rand|0|1|"
	"nd-rr4k-qd1|4K random read QD1 (mem), ut-load, no digest|mem|load|1|4096|rand|0|1|"
	"hd-rr4k-qd1|4K random read QD1 (mem), ut-load, HeaderDigest CRC32C|mem|loadhd|1|4096|rand|0|1|"
	# both digests: bench/ut-dload, a raw iSCSI client, without and with
	# HeaderDigest and DataDigest CRC32C (it checks every digest)
	"dn-rr4k-qd32|4K random read QD32 (mem), ut-dload, no digest, pinned|mem|dload|32|4096|rand|0|1|"
	"dd-rr4k-qd32|4K random read QD32 (mem), ut-dload, HeaderDigest+DataDigest CRC32C, pinned|mem|dloadhd|32|4096|rand|0|1|"
	"dn-rr4k-qd1|4K random read QD1 (mem), ut-dload, no digest, pinned|mem|dload|1|4096|rand|0|1|"
	"dd-rr4k-qd1|4K random read QD1 (mem), ut-dload, HeaderDigest+DataDigest CRC32C, pinned|mem|dloadhd|1|4096|rand|0|1|"
)
# the digest check: the pinned utarget without and with both digests,
# DRUNS pairs of short runs, ABBA (targets dig-none, dig-crc)
[ -n "$UTP_PID" ] && ROWS+=("dig-qd32|4K random read QD32 (mem), ut-dload, pinned, digests off/on|mem|digpair|32|4096|rand|0|1|")
# adaptive Nagle on/off (targets nagle-on, nagle-off; not in the table above)
if [ "$NAGLE" = 1 ]; then
	for qd in $NQDS; do
		ROWS+=("nagle-qd$qd|512B random read QD$qd (null), one session, target pinned|null|pinned|$qd|512|rand|0|1|")
	done
fi

: >"$RESULTS"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

# iperf3 loopback ceiling (single stream, like one iSCSI connection); the
# best of three short runs, since the ceiling is what the machine can do
iperf_once() {
	iperf3 -s -1 -B 127.0.0.1 -p $IPERF_PORT >"$OUT/iperf3-server.log" 2>&1 &
	IPERF_PID=$!
	# (a probe connection would count as iperf3's one test: watch its log)
	for _ in $(seq 100); do
		grep -q 'listening' "$OUT/iperf3-server.log" 2>/dev/null && break
		kill -0 "$IPERF_PID" 2>/dev/null || die "iperf3 -s did not start"
		sleep 0.05
	done
	iperf3 -c 127.0.0.1 -p $IPERF_PORT -t $IPERF_T -J >"$OUT/iperf3-$1.json" 2>&1
	wait "$IPERF_PID" 2>/dev/null; IPERF_PID=
	jq -r '.end.sum_received.bits_per_second / 8e6 | floor' "$OUT/iperf3-$1.json" 2>/dev/null ||
		python3 -c 'import json,sys; print("%d" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 8e6))' "$OUT/iperf3-$1.json" 2>/dev/null ||
		echo 0
}
IPERF_T=$([ -n "$QUICK" ] && echo 1 || echo 3)
IPERF_ALL=
for n in 1 2 3; do IPERF_ALL="$IPERF_ALL $(iperf_once $n)"; done
IPERF_MBPS=$(tr ' ' '\n' <<<"$IPERF_ALL" | sort -n | tail -1)
log "iperf3 127.0.0.1, 1 stream, 3 x ${IPERF_T} s:$IPERF_ALL MB/s; ceiling $IPERF_MBPS MB/s"

TARGETS=(utarget tgt)
NROWS=(); DROW=
i=0
for row in "${ROWS[@]}"; do
	IFS='|' read -r id label kind tool qd bs pat wp ns scale <<<"$row"
	[ -n "$ONLY" ] && ! [[ $id =~ $ONLY ]] && continue
	order=("${TARGETS[@]}")
	[ $((i % 2)) = 1 ] && order=(tgt utarget)
	if [ "$tool" = digpair ]; then
		DROW=$row   # run in the rounds below
		continue
	fi
	if [[ $id == nagle-* ]]; then
		NROWS+=("$row")   # run in rounds below
		continue
	fi
	[ -n "$UT2_PID" ] && [ "$scale" = y ] && order+=(utarget+)
	# the floor: first or last, alternating like utarget and tgt
	if [ "$FLOOR" = 1 ] && [[ $FLOOR_ROWS == *" $id "* ]]; then
		if [ $((i % 2)) = 1 ]; then order=(floor "${order[@]}"); else order+=(floor); fi
	fi
	for tg in "${order[@]}"; do
		run_row "$id" "$tg" "$kind" "$tool" "$qd" "$bs" "$pat" "$wp" "$ns"
	done
	i=$((i + 1))
done
# The adaptive-Nagle rows: NRUNS rounds, each a pair of short runs (on,
# off) at every queue depth in turn, the side that goes first alternating
# from pair to pair (ABBA) and from depth to depth.  A depth's pairs are
# spread over the whole section, so a burst of other load on the host (a
# build: its stalls show as p99 in milliseconds) spoils one pair of a
# depth rather than all of them, and a daemon's state left by its
# previous run falls on both sides alike.
# The digest check's pairs run in the same rounds, one pair at the start
# of each, for the same reason.
R=$NRUNS; [ "$DRUNS" -gt "$R" ] && R=$DRUNS
for k in $(seq "$R"); do
	if [ -n "$DROW" ] && [ "$k" -le "$DRUNS" ]; then
		IFS='|' read -r id label kind tool qd bs pat wp ns scale <<<"$DROW"
		order=(dig-none dig-crc)
		[ $((k % 2)) = 0 ] && order=(dig-crc dig-none)
		for tg in "${order[@]}"; do
			t=dload; [ "$tg" = dig-crc ] && t=dloadhd
			RUN_T=$DT run_row "$id.$k" "$tg" "$kind" "$t" "$qd" "$bs" "$pat" "$wp" "$ns"
		done
	fi
	[ "$k" -le "$NRUNS" ] || continue
	j=0
	for row in "${NROWS[@]}"; do
		IFS='|' read -r id label kind tool qd bs pat wp ns scale <<<"$row"
		order=(nagle-on nagle-off)
		[ $(((j + k) % 2)) = 0 ] && order=(nagle-off nagle-on)
		for tg in "${order[@]}"; do
			RUN_T=$NT run_row "$id.$k" "$tg" "$kind" "$tool" "$qd" "$bs" "$pat" "$wp" "$ns"
		done
		j=$((j + 1))
	done
done
ELAPSED=$(($(date +%s) - T0))
[ -s "$RESULTS" ] || die "no row ran (BENCH_ONLY='$ONLY'?)"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup

# --- the report ---------------------------------------------------------------
val() { # target id field(1-based after target,id)
	awk -v t="$1" -v id="$2" -v f="$3" '$1 == t && $2 == id { print $(f + 2); exit }' "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a != "" && b != "-" && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
# one line per queue depth of the Nagle rows: qd verdict, medians of on
# and off IOPS, median / lowest / highest pair ratio on/off of IOPS, p50
# and p99 on and off, CPU per I/O on and off, median / lowest / highest pair
# ratio of CPU per I/O, PDUs per send call on and off.  The verdict:
# pass, fail, or noisy (a failure while B, the control, had a median p99
# over 10x its p50 or over 2 ms above it: other load stalled the runs)
pair_stats() { # id side-A side-B iops-margin cpu-margin label: A against B
	awk -v id="$1" -v sa="$2" -v sb="$3" -v ti="$4" -v tc="$5" -v qd="$6" '
		function med(a, n,   i, j, t) {
			if (n == 0) return "-"
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
		function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
		function put(arr, n, v) { arr[n] = v }
		{ split($2, p, "."); if (p[1] != id) next; k = p[2]; s = ($1 == sa) ? "on" : ($1 == sb) ? "off" : ""
		  if (s == "" || $3 + 0 <= 0 || $8 == "-") next
		  I[s, k] = $3; C[s, k] = $8; P50[s, k] = $5; P99[s, k] = $6; PS[s, k] = $11; K[k] = 1 }
		END {
			n = 0; nr = 0
			for (k in K) {
				for (si = 1; si <= 2; si++) {
					s = si == 1 ? "on" : "off"
					if ((s, k) in I) { cnt[s]++; ii[s, cnt[s]] = I[s, k]; cc[s, cnt[s]] = C[s, k]; q5[s, cnt[s]] = P50[s, k]; q9[s, cnt[s]] = P99[s, k]; ps[s, cnt[s]] = PS[s, k] }
				}
				if ((("on", k) in I) && (("off", k) in I)) { nr++; ri[nr] = I["on", k] / I["off", k]; rc[nr] = C["on", k] / C["off", k] }
			}
			for (si = 1; si <= 2; si++) {
				s = si == 1 ? "on" : "off"; m = cnt[s] + 0
				delete t; for (j = 1; j <= m; j++) t[j] = ii[s, j]; mi[s] = med(t, m)
				delete t; for (j = 1; j <= m; j++) t[j] = cc[s, j]; mc[s] = med(t, m)
				delete t; for (j = 1; j <= m; j++) t[j] = q5[s, j]; m5[s] = med(t, m)
				delete t; for (j = 1; j <= m; j++) t[j] = q9[s, j]; m9[s] = med(t, m)
				delete t; for (j = 1; j <= m; j++) if (ps[s, j] != "-" && ps[s, j] != "") t[++mp] = ps[s, j]; mps[s] = med(t, mp); mp = 0
			}
			if (nr == 0) { print qd, "fail", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"; exit }
			lri = lo(ri, nr); hri = hi(ri, nr); lrc = lo(rc, nr); hrc = hi(rc, nr)
			mri = med(ri, nr); mrc = med(rc, nr)
			ok = (mri >= 1 - ti && mrc <= 1 + tc) ? "pass" : "fail"
			# the control side itself stalled for milliseconds (other
			# load on the host): a failure there decides nothing
			if (ok == "fail" && (m9["off"] > 10 * m5["off"] || m9["off"] > m5["off"] + 2000)) ok = "noisy"
			printf "%s %s %.0f %.0f %.2f %.2f %.2f %.1f %.1f %.1f %.1f %.2f %.2f %.2f %.2f %.2f %s %s\n", qd, ok,
				mi["on"], mi["off"], mri, lri, hri, m5["on"], m9["on"], m5["off"], m9["off"],
				mc["on"], mc["off"], mrc, lrc, hrc,
				mps["on"] == "-" ? "-" : sprintf("%.1f", mps["on"]), mps["off"] == "-" ? "-" : sprintf("%.1f", mps["off"])
		}' "$RESULTS"
}
nagle_stats() { # qd
	pair_stats "nagle-qd$1" nagle-on nagle-off "$NTOL_IOPS" "$NTOL_CPU" "$1"
}
# The floor rows under the bars: the same field of utarget's and the
# floor's line of one row, and where the floor falls against the bar
against_bar() { # value bar
	awk -v f="$1" -v b="$2" 'BEGIN {
		if (f == "-" || f == "" || b == "-" || b == "") print "-"
		else if (f + 0 <= b + 0) printf "below (%+.2f)", f - b
		else printf "**above** (%+.2f)", f - b }'
}
floor_row() { # bar-text row-text id field bar
	local u f
	u=$(val utarget "$3" "$4"); f=$(val floor "$3" "$4")
	[ -z "$f" ] && return 0
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "${u:--}" "$f" \
		"$(against_bar "${u:--}" "$5")" "$(against_bar "$f" "$5")"
}
floor_table() {
	[ "$FLOOR" = 1 ] || return 0
	[ -n "$(val floor rr4k-qd32 1)$(val floor null-rr4k-qd32 1)$(val floor rr4k-qd1 1)$(val floor sr128k-qd8 1)" ] || return 0
	echo
	echo "Floor of this host, this run: \`build/bench/floor-target\` (bench/floor-target.c), the least an iSCSI target can do over TCP (one thread, epoll, one recv and one sendmsg per turn, no polling, no SCSI beyond reads), on the rows of the bars with the same clients and CPU accounting as utarget's; zeros against utarget's null LUN, \`--file build/bench/backing.img\` (pread) against its file LUN. A bar the floor is above, a target of its shape (sleeping between turns) does not meet on this host; where utarget comes under the floor, its adaptive polling saved wake-ups the floor pays: the floor is the least code, not the least CPU (docs/performance.md, \"The floor of this host\"):"
	echo
	echo "| bar | row | utarget | floor | utarget against the bar | floor against the bar |"
	echo "|---|---|---:|---:|---|---|"
	floor_row "CPU per 4K random read QD32 ≤ 2.0 µs" "file LUN / --file" rr4k-qd32 6 2.0
	floor_row "CPU per 4K random read QD32 ≤ 2.0 µs" "null LUN / zeros" null-rr4k-qd32 6 2.0
	floor_row "QD1 p50 ≤ 18 µs (ut-load)" "file LUN / --file" rr4k-qd1 3 18
	floor_row "QD1 CPU per I/O ≤ tgt's ($(val tgt rr4k-qd1 6) µs)" "file LUN / --file" rr4k-qd1 6 "$(val tgt rr4k-qd1 6)"
	floor_row "CPU per 128K sequential read ≤ 20 µs" "file LUN / --file" sr128k-qd8 6 20
	floor_row "CPU per 128K sequential read ≤ 20 µs" "null LUN / zeros" null-sr128k-qd8 6 20
}
TABLE=$OUT/table.md
{
	echo "| benchmark | utarget IOPS | tgt IOPS | ratio | utarget MB/s | tgt MB/s | utarget p50 / p99 / p99.9 µs | tgt p50 / p99 / p99.9 µs | utarget CPU-µs/IO | tgt CPU-µs/IO | CPU ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r id label kind tool qd bs pat wp ns scale <<<"$row"
		[ -z "$(val utarget "$id" 1)" ] && continue
		for tg in utarget utarget+; do
			[ -z "$(val $tg "$id" 1)" ] && continue
			l=$label; [ $tg = utarget+ ] && l="$label, utarget $UT2_ARGS"
			printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s | %s | %s |\n' \
				"$l" "$(val $tg "$id" 1)" "$(val tgt "$id" 1)" \
				"$(ratio "$(val $tg "$id" 1)" "$(val tgt "$id" 1)")" \
				"$(val $tg "$id" 2)" "$(val tgt "$id" 2)" \
				"$(val $tg "$id" 3)" "$(val $tg "$id" 4)" "$(val $tg "$id" 5)" \
				"$(val tgt "$id" 3)" "$(val tgt "$id" 4)" "$(val tgt "$id" 5)" \
				"$(val $tg "$id" 6)" "$(val tgt "$id" 6)" \
				"$(ratio "$(val $tg "$id" 6)" "$(val tgt "$id" 6)")"
		done
	done
	echo
	echo "iperf3 over 127.0.0.1 (one stream, best of 3 x ${IPERF_T} s:$IPERF_ALL MB/s): **$IPERF_MBPS MB/s**."
	echo
	# the issue's bar
	check() { # text ok
		if [ "$2" = 1 ]; then echo "- [x] $1"; else echo "- [ ] $1"; fi
	}
	ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "-" && a != "" && a + 0 >= b + 0) ? 1 : 0 }'; }
	le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "-" && a != "" && a + 0 <= b + 0) ? 1 : 0 }'; }
	r32=$(ratio "$(val utarget rr4k-qd32 1)" "$(val tgt rr4k-qd32 1)")
	r1=$(ratio "$(val utarget rr4k-qd1 1)" "$(val tgt rr4k-qd1 1)")
	rw=$(ratio "$(val utarget rw4k-qd32 1)" "$(val tgt rw4k-qd32 1)")
	sq=$(ratio "$(val utarget sr128k-qd8 2)" "$IPERF_MBPS")
	cr=$(ratio "$(val utarget rr4k-qd32 6)" "$(val tgt rr4k-qd32 6)")
	echo "The bar of issue 7, this run:"
	echo
	check "4K random read QD32 ≥ 1.5× tgt: ${r32}×" "$(ge "$r32" 1.5)"
	check "4K random read QD1 ≥ 1.3× tgt: ${r1}×" "$(ge "$r1" 1.3)"
	check "4K random write QD32 ≥ 1.5× tgt: ${rw}×" "$(ge "$rw" 1.5)"
	check "128K sequential read ≥ 80% of iperf3: $(awk -v r="$sq" 'BEGIN { if (r == "-") print "-"; else printf "%.0f%%", r * 100 }')" "$(ge "$sq" 0.8)"
	check "CPU-µs per 4K I/O (random read QD32) ≤ ½ tgt's: ${cr}×" "$(le "$cr" 0.5)"
	echo
	# issue 17
	c32=$(val utarget rr4k-qd32 6); c1=$(val utarget rr4k-qd1 6); t1=$(val tgt rr4k-qd1 6)
	p1=$(val utarget rr4k-qd1 3); c128=$(val utarget sr128k-qd8 6)
	hd=$(ratio "$(val utarget hd-rr4k-qd32 6)" "$(val utarget nd-rr4k-qd32 6)")
	echo "The bar of issue 17, this run:"
	echo
	check "CPU per 4K random read at QD32 ≤ 2.0 µs: ${c32} µs" "$(le "$c32" 2.0)"
	check "QD1: CPU per I/O not above tgt's (${c1} vs ${t1} µs) and p50 ≤ 18 µs (${p1} µs)" \
		"$(awk -v a="$(le "$c1" "$t1")" -v b="$(le "$p1" 18)" 'BEGIN { print a && b }')"
	check "CPU per 128K sequential read ≤ 20 µs: ${c128} µs" "$(le "$c128" 20)"
	check "HeaderDigest CRC32C: CPU per 4K read at QD32 within 10 % of without: ${hd}×" "$(le "$hd" 1.10)"
	# HeaderDigest and DataDigest: decided by the pairs alone (the
	# single-run dn/dd rows of the table are not a check: one run each,
	# they can disagree with the pairs)
	dg=$(pair_stats dig-qd32 dig-crc dig-none 1 0.10 32)
	if [ -n "$dg" ] && [ "$(cut -d' ' -f14 <<<"$dg")" != - ]; then
		read -r _ dv di dni _ _ _ _ _ _ _ dc dnc dr drl drh _ <<<"$dg"
		check "HeaderDigest and DataDigest CRC32C, pinned, median of $DRUNS ABBA pairs of $DT s: CPU per 4K read at QD32 within 10 % of without: ${dr}× [pairs ${drl}-${drh}×; ${dc} against ${dnc} CPU-µs, ${di} against ${dni} IOPS]$([ "$dv" = noisy ] && echo "; not decided: the runs without digests had p99 over 10× p50 or 2 ms above it, the host was busy")" \
			"$([ "$dv" = pass ] && echo 1 || echo 0)"
	else
		check "HeaderDigest and DataDigest CRC32C, pinned, ABBA pairs: CPU per 4K read at QD32 within 10 % of without: not measured (no pair ran: one CPU, or BENCH_ONLY left out dig-qd32)" 0
	fi
	if [ "$NAGLE" = 1 ]; then
		for qd in $NQDS; do nagle_stats "$qd"; done >"$OUT/nagle.txt"
		nfail=$(awk '$2 == "fail" { printf "%s QD%s", sep, $1; sep = "," }' "$OUT/nagle.txt")
		nnoisy=$(awk '$2 == "noisy" { printf "%s QD%s", sep, $1; sep = "," }' "$OUT/nagle.txt")
		nlow=$(awk '$5 != "-" && (m == "" || $5 < m) { m = $5; q = $1 } END { if (m != "") printf "%s at QD%s", m, q; else print "-" }' "$OUT/nagle.txt")
		nhigh=$(awk '$14 != "-" && (m == "" || $14 > m) { m = $14; q = $1 } END { if (m != "") printf "%s at QD%s", m, q; else print "-" }' "$OUT/nagle.txt")
		check "adaptive Nagle on at least as good as off at every queue depth (512-byte reads; median of $NRUNS ABBA pairs of $NT s per depth: on/off IOPS ≥ $(awk -v t="$NTOL_IOPS" 'BEGIN { print 1 - t }') and CPU per I/O ≤ $(awk -v t="$NTOL_CPU" 'BEGIN { print 1 + t }')): lowest IOPS ratio ${nlow}, highest CPU ratio ${nhigh}${nfail:+; fails at$nfail}${nnoisy:+; not decided at$nnoisy: the p99 of off itself was over 10× its p50 or 2 ms above it, the host was busy, run again}" \
			"$(awk 'NF { n++; if ($2 != "pass") bad = 1 } END { print (n > 0 && !bad) ? 1 : 0 }' "$OUT/nagle.txt")"
	fi
	floor_table
	if [ "$NAGLE" = 1 ]; then
		echo
		echo "Adaptive Nagle (\`$NON_ARGS\` against \`--adaptive-nagle off\`$([ "$NON_UTARGET" != "$UTARGET" ] && echo "; the on side runs $NON_UTARGET")): 512-byte random reads of the null LUN, one session, each target pinned to CPU 1 and ut-load to CPU 0; $NRUNS rounds over the queue depths, each a pair of $NT s runs per depth, on and off alternating ABBA; medians over the runs, the on/off ratios are the medians of the pairs' ratios [lowest, highest pair]:"
		echo
		echo "| QD | on IOPS | off IOPS | on/off IOPS [range] | on p50 / p99 µs | off p50 / p99 µs | on CPU-µs/IO | off CPU-µs/IO | on/off CPU [range] | PDUs per send on / off | check |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
		awk '{ printf "| %s | %s | %s | %s [%s, %s] | %s / %s | %s / %s | %s | %s | %s [%s, %s] | %s / %s | %s |\n",
			$1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $2 }' "$OUT/nagle.txt"
	fi
} >"$TABLE"

echo
cat "$TABLE"
echo
log "done in ${ELAPSED}s; raw results in $RESULTS, client output in $OUT/run-*.out"

# --- plot: IOPS against queue depth (4K random read, file LUN) -----------------
if [ "$PLOT" != none ]; then
	for tg in utarget tgt; do
		for qd in $QDS; do
			v=$(val $tg rr4k-qd$qd 1); c=$(val $tg rr4k-qd$qd 6)
			[ -n "$v" ] && echo "$qd $v $c"
		done >"$OUT/qd-$tg.dat"
	done
	# the Nagle curves: the medians of the runs (nagle_stats)
	: >"$OUT/qd-nagle-on.dat"; : >"$OUT/qd-nagle-off.dat"
	if [ -s "$OUT/nagle.txt" ]; then
		awk '$3 != "-" { print $1, $3, $12 }' "$OUT/nagle.txt" >"$OUT/qd-nagle-on.dat"
		awk '$4 != "-" { print $1, $4, $13 }' "$OUT/nagle.txt" >"$OUT/qd-nagle-off.dat"
	fi
	NPLOT=; NAGLE_GP=
	if [ -s "$OUT/qd-nagle-on.dat" ]; then
		NPLOT=1
		NAGLE_GP="set xtics ($(echo $NQDS | sed 's/ /, /g'))
set xrange [0.8:$(echo $NQDS | awk '{ print $NF * 1.25 }')]
set key bottom right
set title \"512 B random read, null LUN, target pinned to one CPU: IOPS (median of $NRUNS runs)\"
set ylabel \"IOPS\"
plot \"$OUT/qd-nagle-on.dat\" using 1:2 with linespoints lw 2 pt 7 title \"adaptive Nagle on\", \"$OUT/qd-nagle-off.dat\" using 1:2 with linespoints lw 2 pt 5 title \"adaptive Nagle off\"
set key top right
set title \"512 B random read, null LUN: target CPU per I/O\"
set ylabel \"CPU-µs per I/O\"
plot \"$OUT/qd-nagle-on.dat\" using 1:3 with linespoints lw 2 pt 7 title \"adaptive Nagle on\", \"$OUT/qd-nagle-off.dat\" using 1:3 with linespoints lw 2 pt 5 title \"adaptive Nagle off\""
	fi
	gnuplot <<-EOF || log "gnuplot failed"
		set terminal pngcairo size 1000,$([ -n "$NPLOT" ] && echo 900 || echo 450) font ",10"
		set output "$PLOT"
		set multiplot layout $([ -n "$NPLOT" ] && echo 2 || echo 1),2 title "127.0.0.1, $STARTED"
		set xlabel "queue depth"
		set logscale x 2
		set xtics ($(echo $QDS | sed 's/ /, /g'))
		set xrange [0.8:$(echo $QDS | awk '{ print $NF * 1.25 }')]
		set yrange [0:*]
		set key top left
		set grid
		set title "4 KiB random read, 1 GiB file LUN (iscsi-perf): IOPS"
		set ylabel "IOPS"
		plot "$OUT/qd-utarget.dat" using 1:2 with linespoints lw 2 pt 7 title "utarget", \
		     "$OUT/qd-tgt.dat" using 1:2 with linespoints lw 2 pt 5 title "tgt $(tgtd -V)"
		set title "4 KiB random read, 1 GiB file LUN: target CPU per I/O"
		set ylabel "CPU-µs per I/O"
		set key top right
		plot "$OUT/qd-utarget.dat" using 1:3 with linespoints lw 2 pt 7 title "utarget", \
		     "$OUT/qd-tgt.dat" using 1:3 with linespoints lw 2 pt 5 title "tgt $(tgtd -V)"
		$NAGLE_GP
		unset multiplot
	EOF
	log "plot: $PLOT"
fi

# --- docs/performance.md: the generated part lives between the markers ---------
if [ "$DOC" != none ]; then
	GEN=$OUT/generated.md
	{
		echo "<!-- bench:begin (generated by make bench; edits here are overwritten) -->"
		echo "## Latest run"
		echo
		echo "- date: $STARTED, ${ELAPSED} s of measurement$([ -n "$QUICK" ] && echo ", **quick mode** (BENCH_QUICK=1)")"
		echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
		echo "- utarget $("$UTARGET" --version 2>&1 | head -1 | awk '{print $NF}') $(if git -C "$UTDIR" rev-parse --short HEAD >/dev/null 2>&1; then echo "at commit $(git -C "$UTDIR" rev-parse --short HEAD)$(git -C "$UTDIR" diff --quiet HEAD -- target || echo " + uncommitted target/ changes")"; else echo "built in $UTDIR${BENCH_UTARGET_REV:+ from commit $BENCH_UTARGET_REV}"; fi), options: \`${UT_ARGS:-none}\`$([ -n "$UT2_ARGS" ] && echo "; utarget+ options: \`$UT2_ARGS\`")"
		echo "- tgt $(tgtd -V) (Debian), default options (16 rdwr threads); libiscsi $(dpkg-query -W -f '${Version}' libiscsi-bin 2>/dev/null); iperf3 $(iperf3 -v | head -1 | awk '{print $2}')"
		echo "- $T s per point, $TLAT s per latency run; load average before $LOAD0, after $LOAD1 (client and target share the machine's CPUs)${BENCH_NICE:+; the bench ran at nice $BENCH_NICE}"
		echo
		cat "$TABLE"
		echo
		echo "![IOPS and CPU per I/O against queue depth; adaptive Nagle on and off](perf-qd.png)"
		echo
		echo "### Commands of this run"
		echo
		echo '```sh'
		echo "# the page cache, before both targets start: 4 KiB folios (bench/cache-warm.c); before every file-LUN run, what was evicted meanwhile"
		echo "build/bench/cache-warm build/bench/backing.img"
		echo "build/bench/cache-warm --top-up build/bench/backing.img"
		echo "# utarget"
		echo "build/utarget --listen 127.0.0.1:$UT_PORT --target $UT_IQN --lun file:build/bench/backing.img --lun mem:1G --lun null:1T --shutdown-grace 1 --log-level warn --control DIR/$UT_PORT.sock ${UT_ARGS}   # every utarget: --control DIR/PORT.sock"
		[ -n "$UT2_ARGS" ] && echo "build/utarget --listen 127.0.0.1:$UT2_PORT ... $UT2_ARGS   # utarget+"
		[ -n "$UTP_PORT" ] && [ "$(nproc)" -ge 2 ] && echo "taskset -c 1 build/utarget --listen 127.0.0.1:$UTP_PORT ...   # the ut-dload rows and the digest check (clients: taskset -c 0, for tgt too)"
		[ "$NAGLE" = 1 ] && echo "taskset -c 1 build/utarget --listen 127.0.0.1:$NON_PORT ... $NON_ARGS   # and on $NOFF_PORT with --adaptive-nagle off; per QD $NRUNS pairs, ABBA: taskset -c 0 build/bench/ut-load -q QD -b 512 -r -w 0 -t $NT URL/2"
		[ "$FLOOR" = 1 ] && echo "build/bench/floor-target --listen 127.0.0.1:$FLZ_PORT   # the floor, zeros; and on $FLF_PORT with --file build/bench/backing.img (rows:$FLOOR_ROWS)"
		echo "# tgt"
		echo "tgtd -f -C $TGT_CTL --iscsi portal=127.0.0.1:$TGT_PORT"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op new --mode target --tid 1 -T $TGT_IQN"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 --bstype rdwr -b build/bench/backing.img"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op new --mode logicalunit --tid 1 --lun 2 --bstype rdwr -b /dev/shm/utarget-bench-PID.img  # 1 GiB tmpfs"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op new --mode logicalunit --tid 1 --lun 3 --bstype null -b /dev/null"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op bind --mode target --tid 1 -I 127.0.0.1"
		echo "tgtadm -C $TGT_CTL --lld iscsi --op update --mode target --tid 1 -n HeaderDigest -v CRC32C,None   # and DataDigest"
		echo "# ceiling"
		echo "iperf3 -s -1 -B 127.0.0.1 -p $IPERF_PORT & iperf3 -c 127.0.0.1 -p $IPERF_PORT -t $IPERF_T   # 3 times, the best counts"
		echo "# per row and target (URL = iscsi://127.0.0.1:PORT/IQN/LUN; LUN file/mem/null = 0/1/2 on utarget, 1/2/3 on tgt)"
		echo "iscsi-perf -i iqn.2026-11.org.utarget:perf-K -t $T -m QD -b BLOCKS [-r] URL      # reads; K = 1..sessions, in parallel"
		echo "build/bench/ut-load -q QD -b BYTES [-r] -w 0 -t $TLAT -s SESSIONS URL          # reads: latency percentiles"
		echo "build/bench/ut-load -q QD -b BYTES [-r] -w WRITE% -t $T -s SESSIONS URL        # writes and mixes"
		echo "build/bench/ut-load -q QD -b 4096 -r [-H] -w 0 -t $T URL                       # the digest rows (-H: HeaderDigest CRC32C)"
		echo "taskset -c 0 build/bench/ut-dload -q QD -b 4096 -S 1073741824 -t $T [-H -D] HOST PORT IQN LUN  # the DataDigest rows (raw iSCSI; random reads); the check: $DRUNS pairs of -t $DT, ABBA"
		echo "# CPU: utime+stime (fields 14+15 of /proc/PID/stat, all threads) before and after the client, / I/Os"
		echo '```'
		echo "<!-- bench:end -->"
	} >"$GEN"
	if [ -f "$DOC" ] && grep -q '<!-- bench:begin' "$DOC"; then
		awk -v gen="$GEN" '
			/<!-- bench:begin/ { while ((getline l < gen) > 0) print l; skip = 1; next }
			/<!-- bench:end/ { skip = 0; next }
			!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	else
		mkdir -p "$(dirname "$DOC")"
		{ echo "# Performance"; echo; echo "Measured by \`make bench\` (bench/run.sh)."; echo; cat "$GEN"; } >"$DOC"
	fi
	log "report: $DOC"
fi
