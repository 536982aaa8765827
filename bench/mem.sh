#!/usr/bin/env bash
# bench/mem.sh — the daemon's memory (`make bench-mem`, issue 17): RSS
# per idle session (SESSIONS sessions held by tools/ut-many with no I/O,
# default 1,024) and per outstanding 4 KiB and 128 KiB read (one session,
# QD commands in flight through ut-load against the file LUN; the buffer
# pools keep what a run took, so the RSS after it minus before, over QD,
# is what a command in flight costs).  Prints one line per figure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
UTARGET=${BENCH_UTARGET:-$ROOT/build/utarget}
LOAD=${BENCH_LOAD:-$OUT/ut-load}
MANY=${BENCH_MANY:-$ROOT/build/ut-many}
N=${1:-1024}
QD=${MEM_QD:-128}
IQN=iqn.2026-11.org.utarget:bench
tmp=$(mktemp -d)
chmod 0700 "$tmp"
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ -x "$MANY" ] && [ -x "$LOAD" ] || { echo "bench-mem: build $MANY and $LOAD first" >&2; exit 1; }
port=$(( 20000 + (RANDOM % 20000) ))
start() {
	"$UTARGET" --listen 127.0.0.1:$port --target $IQN --lun "file:$tmp/disk.img,size=256M" \
		--shutdown-grace 1 --log-level warn --control "$tmp/$port.sock" \
		>"$tmp/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0; sleep 0.05; done
	echo "bench-mem: utarget did not start: $(tail -2 "$tmp/daemon.log")" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=; port=$((port + 1)); }
# The daemon's own memory: anonymous (heap, pools, stacks) plus shared
# memory, not RssFile: since zero-copy reads (--zero-copy) the pages of a
# file LUN that Data-In was sent from stay mapped, and they are the page
# cache's, counted once for the machine whoever maps them.
rss() { awk '/^RssAnon|^RssShmem/ {k += $2} END {print k}' /proc/$pid/status; }
rss_file() { awk '/^RssFile/ {print $2}' /proc/$pid/status; }
URL=iscsi://127.0.0.1:$port/$IQN/0

# idle sessions
start; URL=iscsi://127.0.0.1:$port/$IQN/0
before=$(rss)
READY_FILE=$tmp/ready STOP_FILE=$tmp/stop "$MANY" "$URL" "$N" 1 0 >"$tmp/many.out" 2>&1 &
mpid=$!
for _ in $(seq 1200); do [ -e "$tmp/ready" ] && break; kill -0 $mpid 2>/dev/null || break; sleep 0.1; done
sleep 1
held=$(rss)
touch "$tmp/stop"; wait $mpid
echo "bench-mem: $N idle sessions: RSS $before KiB before, $held KiB with them: $(( (held - before) * 1024 / N )) bytes per session"
stop

# outstanding commands, 4 KiB and 128 KiB reads
for bs in 4096 131072; do
	start; URL=iscsi://127.0.0.1:$port/$IQN/0
	"$LOAD" -q 1 -b "$bs" -r -t 0.5 "$URL" >/dev/null 2>&1   # a session's fixed costs first
	before=$(rss)
	"$LOAD" -q "$QD" -b "$bs" -r -t 2 "$URL" >"$tmp/load.out" 2>&1
	after=$(rss)
	echo "bench-mem: $bs-byte reads, $QD in flight: RSS $before KiB before, $after KiB after (pools keep their buffers): $(( (after - before) * 1024 / QD )) bytes per outstanding command ($(grep -o 'iops=[0-9.]*' "$tmp/load.out"); page cache mapped for zero-copy reads: $(rss_file) KiB)"
	stop
done
