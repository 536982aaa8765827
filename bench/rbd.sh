#!/usr/bin/env bash
# bench/rbd.sh — the RBD rows of `make bench`: one Ceph RBD image served
# three ways, on the same throw-away single-node cluster (rbd/cluster):
#
#   utarget       rbd:rbd/bench            the native backstore (librbd aio)
#   utarget tcmu  tcmu:rbd/rbd/bench2      tcmu-runner's handler_rbd.so
#   tgt           --bstype rbd rbd/bench3  tgt's bs_rbd (Debian tgt-rbd)
#
# each on its own image of the same size, prefilled, and measures with
# bench/ut-load: 4 KiB random reads and writes at QD1 and QD32, IOPS,
# latency (p50, p99) and the target process's CPU time per I/O
# (utime+stime of all its threads, /proc/PID/stat, librbd's threads
# included).  Writes the table into docs/performance.md between the
# markers <!-- bench-rbd:begin --> and <!-- bench-rbd:end -->.
#
# Environment: BENCH_QUICK=1 (3 s per point; default 10 s),
# BENCH_RBD_SIZE_MB (image size, 1024), BENCH_DOC
# ("none" to skip the report), BENCH_OUT (build/bench), BENCH_PORT_BASE
# (3391).  Needs root (tgtd) and ci/deps.sh rbd.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
UTARGET=${BENCH_UTARGET:-$ROOT/build/utarget}
LOAD=${BENCH_LOAD:-$OUT/ut-load}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}
T=10
[ "${BENCH_QUICK:-0}" != 0 ] && T=3
PB=${BENCH_PORT_BASE:-3391}
UT_PORT=$PB; UT_TCMU_PORT=$((PB + 1)); TGT_PORT=$((PB + 2)); TGT_CTL=$((PB + 3))
IQN=iqn.2026-11.org.utarget:bench-rbd
CDIR=$OUT/ceph
HZ=$(getconf CLK_TCK)
SIZE_MB=${BENCH_RBD_SIZE_MB:-1024}

die() { echo "bench-rbd: $*" >&2; exit 1; }
log() { echo "bench-rbd: $*" >&2; }

[ -x "$UTARGET" ] || die "$UTARGET missing (make)"
[ -x "$LOAD" ] || die "$LOAD missing (make bench builds it)"
[ "$(id -u)" = 0 ] || die "tgtd needs root"
command -v tgtd >/dev/null || die "tgtd missing: ci/deps.sh rbd"
[ -e /usr/lib/tgt/backing-store/bs_rbd.so ] ||
	die "tgt's bs_rbd missing: apt-get install tgt-rbd"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$OUT" /var/run/tgtd

PIDS=()
cleanup() {
	tgtadm -C $TGT_CTL --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1
	tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 1
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f /var/run/tgtd/socket.$TGT_CTL /var/run/tgtd/socket.$TGT_CTL.lock
	"$ROOT/rbd/cluster" destroy "$CDIR" >/dev/null 2>&1
	[ -n "${CTLDIR:-}" ] && rm -rf "$CTLDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # port pid
	for _ in $(seq 300); do
		kill -0 "$2" 2>/dev/null || return 1
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/$1/stat; }

log "starting a single-node Ceph cluster in $CDIR"
"$ROOT/rbd/cluster" destroy "$CDIR" >/dev/null 2>&1
conf=$("$ROOT/rbd/cluster" start "$CDIR" 2>"$OUT/rbd-cluster.log" | tail -1) ||
	die "the cluster did not start: $(tail -3 "$OUT/rbd-cluster.log")"
for img in bench bench2 bench3; do
	timeout 120 rbd -c "$conf" create "rbd/$img" --size ${SIZE_MB}M ||
		die "rbd create $img failed"
	# Prefilled, so that reads read data (not holes librbd answers
	# without asking an OSD).
	timeout 600 rbd -c "$conf" bench --io-type write --io-size 4M \
		--io-total ${SIZE_MB}M --io-pattern seq "rbd/$img" >/dev/null 2>&1 ||
		die "filling $img failed"
done

# Each daemon has a control socket of its own (not the default
# /run/utarget/utarget.sock, which a utarget serving on this host holds).
CTLDIR=$(mktemp -d /tmp/utarget-bench-ctl.XXXXXX) || die "mktemp"
"$UTARGET" --listen 127.0.0.1:$UT_PORT --target $IQN \
	--lun "rbd:rbd/bench,conf=$conf" --log-level warn --control "$CTLDIR/$UT_PORT.sock" \
	>"$OUT/utarget-rbd.log" 2>&1 &
UT_PID=$!; PIDS+=($UT_PID)
wait_port $UT_PORT $UT_PID || die "utarget did not start: $(tail -3 "$OUT/utarget-rbd.log")"
"$UTARGET" --listen 127.0.0.1:$UT_TCMU_PORT --target $IQN \
	--lun "tcmu:rbd/rbd/bench2;conf=$conf,size=${SIZE_MB}M" --log-level warn \
	--control "$CTLDIR/$UT_TCMU_PORT.sock" \
	>"$OUT/utarget-tcmu-rbd.log" 2>&1 &
UTT_PID=$!; PIDS+=($UTT_PID)
wait_port $UT_TCMU_PORT $UTT_PID || die "utarget (tcmu) did not start: $(tail -3 "$OUT/utarget-tcmu-rbd.log")"
tgtd -f -C $TGT_CTL --iscsi portal=127.0.0.1:$TGT_PORT >"$OUT/tgtd-rbd.log" 2>&1 &
TGT_PID=$!; PIDS+=($TGT_PID)
wait_port $TGT_PORT $TGT_PID || die "tgtd did not start: $(tail -3 "$OUT/tgtd-rbd.log")"
tgtadm -C $TGT_CTL --lld iscsi --op new --mode target --tid 1 -T $IQN || die "tgtadm target"
tgtadm -C $TGT_CTL --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
	--bstype rbd --backing-store rbd/bench3 --bsopts "conf=$conf" ||
	die "tgtadm: bs_rbd refused rbd/bench3"
tgtadm -C $TGT_CTL --lld iscsi --op bind --mode target --tid 1 -I 127.0.0.1 || die "tgtadm bind"

url_of() {
	case $1 in
	utarget) echo "iscsi://127.0.0.1:$UT_PORT/$IQN/0" ;;
	tcmu) echo "iscsi://127.0.0.1:$UT_TCMU_PORT/$IQN/0" ;;
	tgt) echo "iscsi://127.0.0.1:$TGT_PORT/$IQN/1" ;;
	esac
}
pid_of() {
	case $1 in utarget) echo $UT_PID ;; tcmu) echo $UTT_PID ;; tgt) echo $TGT_PID ;; esac
}

declare -A R
# run ID TARGET QD WRITE%: one point; fills R[ID,TARGET].
run() {
	local id=$1 tg=$2 qd=$3 w=$4 pid c0 c1 res
	pid=$(pid_of "$tg")
	c0=$(cpu_ticks "$pid")
	res=$("$LOAD" -q "$qd" -b 4096 -r -w "$w" -t "$T" "$(url_of "$tg")" 2>"$OUT/rbd-$id-$tg.err" | grep '^RESULT')
	c1=$(cpu_ticks "$pid")
	if [ -z "$res" ]; then
		log "$id $tg: ut-load failed: $(tail -c 200 "$OUT/rbd-$id-$tg.err")"
		R[$id,$tg]="| failed | | | |"
		return
	fi
	R[$id,$tg]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		cpu = v["ios"] > 0 ? c / hz * 1e6 / v["ios"] : 0
		printf "| %d | %d | %d | %.1f |", v["iops"], v["p50_us"], v["p99_us"], cpu
	}' <<<"$res")
	log "$id $tg: ${R[$id,$tg]}"
}

ROWS="rr1 rr32 rw1 rw32"
for id in $ROWS; do
	case $id in
	rr1) qd=1 w=0 ;; rr32) qd=32 w=0 ;; rw1) qd=1 w=100 ;; rw32) qd=32 w=100 ;;
	esac
	for tg in utarget tcmu tgt; do run $id $tg $qd $w; done
done

[ "$DOC" = none ] && exit 0
GEN=$OUT/rbd-report.md
{
	echo "<!-- bench-rbd:begin (generated by bench/rbd.sh; edits here are overwritten) -->"
	echo "## Ceph RBD: utarget's rbd: backstore, tcmu-runner's handler_rbd, tgt's bs_rbd"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null),"
	echo "$(nproc) vCPUs shared with other work (load average before the run: $LOAD_BEFORE)."
	echo "One single-node cluster on loopback (rbd/cluster: one mon, one OSD on a"
	echo "BlueStore file, replication 1), three prefilled ${SIZE_MB} MiB images, one per"
	echo "target; ut-load, 4 KiB random, one session, ${T} s per point.  CPU: the"
	echo "target process's utime+stime (librbd's threads included) per I/O."
	echo "The cluster's own CPU is the same for all three and not counted."
	echo "The OSD and the mon share the vCPUs with the targets (and with other"
	echo "work on a shared machine): with a load average well above the vCPU"
	echo "count, differences of a few tens of percent are noise; the CPU column"
	echo "is the steadier comparison."
	echo
	echo "| row | utarget rbd: IOPS | p50 µs | p99 µs | CPU µs/IO | utarget tcmu:rbd IOPS | p50 µs | p99 µs | CPU µs/IO | tgt bs_rbd IOPS | p50 µs | p99 µs | CPU µs/IO |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for id in $ROWS; do
		case $id in
		rr1) name="4K random read QD1" ;; rr32) name="4K random read QD32" ;;
		rw1) name="4K random write QD1" ;; rw32) name="4K random write QD32" ;;
		esac
		line="| $name ${R[$id,utarget]} ${R[$id,tcmu]} ${R[$id,tgt]}"
		echo "${line//| |/|}"
	done
	echo
	echo "Reproduce: \`make bench\` (or \`bash bench/rbd.sh\` after it built"
	echo "build/utarget and build/bench/ut-load); tgt: \`tgtadm ... --bstype rbd"
	echo "--backing-store rbd/bench3 --bsopts conf=CEPH.CONF\`."
	echo "<!-- bench-rbd:end -->"
} >"$GEN"
if [ -f "$DOC" ] && grep -q '<!-- bench-rbd:begin' "$DOC"; then
	awk -v gen="$GEN" '
		/<!-- bench-rbd:begin/ { while ((getline l < gen) > 0) print l; skip = 1; next }
		/<!-- bench-rbd:end/ { skip = 0; next }
		!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
else
	{ echo; cat "$GEN"; } >>"$DOC"
fi
log "report: $DOC"
