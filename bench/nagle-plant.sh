#!/usr/bin/env bash
# bench/nagle-plant.sh — check the adaptive-Nagle check (bench/run.sh):
# build utarget from HEAD with a slowdown planted in the "on" path, then
# run only the Nagle rows with that binary as the on side.  The check
# must fail; on the real code (make bench) it must pass.
#
# The plant: every send call of a connection whose hint is honoured
# (--adaptive-nagle on) first sets TCP_NODELAY again, one system call
# more per send, as an implementation that pushed by setsockopt each
# time would (env_real/net.c, er_conn_send).  It is active at every queue
# depth; a slowdown only "when corked" would never run in these rows,
# whose bursts stay far below one send call (their table shows PDUs per
# send; docs/performance.md, "Adaptive Nagle").
#
# Environment: BENCH_OUT (build/bench), and bench/run.sh's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
SRC=$OUT/plant-src
rm -rf "$SRC"; mkdir -p "$SRC"
git -C "$ROOT" archive HEAD | tar -x -C "$SRC"
awk '
	/^\tif \(c->more\)$/ && !done {
		print "\tif (!c->r->no_cork) { /* PLANTED by bench/nagle-plant.sh */"
		print "\t\tint one = 1;"
		print ""
		print "\t\tsetsockopt(c->w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));"
		print "\t}"
		done = 1
	}
	{ print }
	END { if (!done) exit 1 }' "$ROOT/target/env_real/net.c" >"$SRC/target/env_real/net.c" ||
	{ echo "nagle-plant: the anchor in er_conn_send is gone; update the plant" >&2; exit 1; }
nice -n 10 make -C "$SRC" -j2 build/utarget >"$OUT/plant-build.log" 2>&1 ||
	{ tail -20 "$OUT/plant-build.log" >&2; exit 1; }
BENCH_ONLY='^nagle' BENCH_DOC=none BENCH_PLOT=none BENCH_UTARGET_SCALE_ARGS='' \
	BENCH_NAGLE_ON_UTARGET="$SRC/build/utarget" BENCH_OUT="$OUT" \
	"$ROOT/bench/run.sh" | tee "$OUT/plant.out"
if grep -q '^- \[ \] adaptive Nagle' "$OUT/plant.out"; then
	echo "nagle-plant: the check failed on the planted slowdown, as it must"
elif grep -q '^- \[x\] adaptive Nagle' "$OUT/plant.out"; then
	echo "nagle-plant: the check PASSED with the slowdown planted: it cannot see it" >&2
	exit 1
else
	echo "nagle-plant: no adaptive-Nagle check in the output" >&2
	exit 1
fi
