#!/usr/bin/env bash
# simnet/test/import/capture.sh OUTDIR — make the capture fixtures of
# `utarget-sim import` (simnet/test/import/*.pcap): tcpdump on loopback
# while libiscsi's tools (iscsi-inq, iscsi-ls, ut-io, a few iscsi-test-cu
# tests) talk to tgt (Debian's tgtd, 1.0.85 here) and to build/utarget,
# each on a free loopback port.  Needs root (tgtd's control socket,
# tcpdump) and build/utarget, build/ut-io.  Not run by make test: the
# captures are committed (small), and this says how they were made.
#
#   tgt-libiscsi.pcap       iscsi-inq, iscsi-ls -s, ut-io write+check,
#                           iscsi-test-cu (SUITE below) against tgt
#   utarget-libiscsi.pcapng the same against utarget (editcap makes it
#                           pcapng: tcpdump writes pcap only)
#
# kernel-utarget.pcap is not made here: it is the Linux kernel initiator
# (open-iscsi, iscsi_tcp, the guest of make interop) against utarget,
# captured on the tap device in interop/run's network namespace while
# `INTEROP_MATRIX=none interop/run` ran:
#   ip netns exec utarget-interop-PID tcpdump -i tap0 -s 0 -U -c 600 -w k.pcap tcp
# and cut to its first 300 packets (editcap -r k.pcap kernel-utarget.pcap
# 1-300: 70 KB): SendTargets discovery, the login, the kernel's SCSI scan
# of both LUNs (INQUIRY and VPD pages, READ CAPACITY, MODE SENSE, REPORT
# LUNS, partition table reads), the first sg_* checks (PERSISTENT RESERVE
# OUT included); the capture ends with commands whose answers it lacks.
# kernel-tgt.pcap is the same against tgt 1.0.85: interop/run with
# INTEROP_UTARGET_WRAP=simnet/test/import/tgt-for-interop.sh (tgtd instead
# of utarget, LUNs 1 and 2 thin like interop's), 300 packets (66 KB), cut
# short by tcpdump -c 300: discovery, login and the scan (the checks
# after it fail: they expect utarget's LUN numbers).
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$top/build/captures}
mkdir -p "$out" /var/run/tgtd
tmp=$(mktemp -d)
pids=()
cleanup() {
	# tgtd does not stop on SIGTERM while it serves a target
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# small tests: the fixtures must stay tens of KB
SUITE=${SUITE:-SCSI.TestUnitReady.Simple,SCSI.ReadCapacity10.Simple,SCSI.Inquiry.Standard,SCSI.ModeSense6.AllPages,SCSI.Reserve6.Simple}

free_port() { # a loopback port nobody listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
wait_port() { # PORT
	for _ in $(seq 100); do
		ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# session URL IQN PORT: the tools' conversation with one target
session() {
	local url=iscsi://127.0.0.1:$2/$1
	iscsi-inq "$url/1" >/dev/null || true
	iscsi-ls -s "iscsi://127.0.0.1:$2" >/dev/null || true
	"$top/build/ut-io" write "$url/1" 64 8 7 || true
	"$top/build/ut-io" check "$url/1" 64 8 7 || true
	iscsi-test-cu --dataloss -t "$SUITE" "$url/1" >"$tmp/cu.$2.log" 2>&1 || true
}

capture() { # FILE PORT FORMAT-FLAG... then the session
	local file=$1 port=$2
	shift 2
	tcpdump -i lo -s 0 -U "$@" -w "$file" "tcp port $port" \
		>"$tmp/tcpdump.log" 2>&1 &
	local td=$!
	pids+=("$td")
	# tcpdump says when it listens (a loaded machine may take seconds)
	for _ in $(seq 200); do
		grep -q "listening on" "$tmp/tcpdump.log" && break
		sleep 0.1
	done
	sleep 0.2
}
stop_capture() {
	sleep 1
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
}

# --- tgt -------------------------------------------------------------
TGT_PORT=$(free_port)
# tgtd's control number names its socket and must be below 32768
TGT_CTL=$((1000 + RANDOM % 30000))
TGT_IQN=iqn.2026-12.org.utarget:tgt-capture
truncate -s 64M "$tmp/tgt.img"
tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$tmp/tgtd.log" 2>&1 &
pids+=($!)
wait_port "$TGT_PORT"
tgtadm -C "$TGT_CTL" --lld iscsi --op new --mode target --tid 1 -T "$TGT_IQN"
tgtadm -C "$TGT_CTL" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
	--bstype rdwr -b "$tmp/tgt.img"
tgtadm -C "$TGT_CTL" --lld iscsi --op bind --mode target --tid 1 -I ALL
capture "$out/tgt-libiscsi.pcap" "$TGT_PORT"
session "$TGT_IQN" "$TGT_PORT"
stop_capture

# --- utarget ---------------------------------------------------------
UT_PORT=$(free_port)
UT_IQN=iqn.2026-11.org.utarget:capture
truncate -s 64M "$tmp/ut.img"
# LUN 0 and LUN 1, so that the tools' /1 URL means the same as on tgt
"$top/build/utarget" --listen "127.0.0.1:$UT_PORT" --target "$UT_IQN" \
	--lun mem:16M --lun "file:$tmp/ut.img" >"$tmp/ut.log" 2>&1 &
pids+=($!)
wait_port "$UT_PORT"
capture "$tmp/ut.pcap" "$UT_PORT"
session "$UT_IQN" "$UT_PORT"
stop_capture
# tcpdump writes pcap only; the importer must read pcapng too
editcap -F pcapng "$tmp/ut.pcap" "$out/utarget-libiscsi.pcapng"
ls -l "$out"
