#!/usr/bin/env bash
# tgt-for-interop.sh UTARGET --listen ADDR:PORT ... --target IQN ... — serve
# tgt (Debian's tgtd) where interop/run would start utarget, to capture the
# Linux kernel initiator against tgt (kernel-tgt.pcap; capture.sh says how):
#   INTEROP_MATRIX=none INTEROP_UTARGET_WRAP=$PWD/simnet/test/import/tgt-for-interop.sh interop/run
# It takes utarget's arguments, ignores all but the address and the target
# name, and becomes tgtd (exec: interop/run's kill of "utarget" ends it)
# with two thin LUNs like interop's: LUN 1 of 1 GiB in 512-byte blocks and
# LUN 2 of 512 MiB in 4096-byte blocks (LUN 0 is tgt's controller).  Only
# the beginning of such a run is of use: the checks expect utarget's LUN
# numbers and fail after the kernel's scan.  Needs root.
set -u
shift
listen= iqn=
while [ $# -gt 0 ]; do
	case $1 in
	--listen) listen=$2; shift 2 ;;
	--target) iqn=$2; shift 2 ;;
	*) shift ;;
	esac
done
# tgtd's control number names its socket and must be below 32768
while :; do
	ctl=$((1000 + RANDOM % 30000))
	[ -e "/var/run/tgtd/socket.$ctl" ] || break
done
dir=$(mktemp -d /tmp/tgt-for-interop.XXXXXX)
truncate -s 1G "$dir/lun1.img"
truncate -s 512M "$dir/lun2.img"
mkdir -p /var/run/tgtd
(
	adm=(tgtadm -C "$ctl" --lld iscsi)
	for _ in $(seq 50); do
		"${adm[@]}" --op show --mode target >/dev/null 2>&1 && break
		sleep 0.1
	done
	"${adm[@]}" --op new --mode target --tid 1 -T "$iqn" &&
		"${adm[@]}" --op new --mode logicalunit --tid 1 --lun 1 --bstype rdwr \
			-b "$dir/lun1.img" &&
		"${adm[@]}" --op new --mode logicalunit --tid 1 --lun 2 --bstype rdwr \
			-b "$dir/lun2.img" --blocksize 4096 &&
		"${adm[@]}" --op update --mode logicalunit --tid 1 --lun 1 \
			--params thin_provisioning=1 &&
		"${adm[@]}" --op update --mode logicalunit --tid 1 --lun 2 \
			--params thin_provisioning=1 &&
		"${adm[@]}" --op bind --mode target --tid 1 -I ALL &&
		echo "utarget: serving iscsi://$listen/$iqn/1 (tgt $(tgtd -V 2>/dev/null))"
	# the image files go when tgtd does
	while "${adm[@]}" --op show --mode sys >/dev/null 2>&1; do sleep 1; done
	rm -rf "$dir"
) &
exec tgtd -f -C "$ctl" --iscsi "portal=$listen"
