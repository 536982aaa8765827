# interop/steps.sh — the steps of interop/checks.sh (sourced; POSIX sh).
# Each step_NAME runs in its own process under a timeout, with the helpers
# checks.sh defines: reason/fail/skip (verdict text to fd 3), x and out
# (run and log a command; out keeps the output in $state/out), need (state
# variables from earlier steps), setvar (record one), rd (md5 of a direct
# read), zeros_md5; $PATTERN is a file of pseudo-random bytes (24 MiB by
# default) that every data check cuts its data from.

PR_KEY=0x1234abcd

step_discovery() {
	out iscsiadm -m discovery -t sendtargets -p "$PORTAL" ||
		fail "iscsiadm -m discovery: $(tail -n 1 "$state/out")"
	line=$(awk -v t="$TARGET" '$2 == t { print $1; exit }' "$state/out")
	[ -n "$line" ] || fail "$TARGET is not in the SendTargets answer ($(head -n 1 "$state/out"))"
	addr=${line%,*}
	if [ "$addr" != "$PORTAL" ]; then
		# The target names the address it listens on; behind NAT (QEMU's
		# user network maps 10.0.2.2 to the host's 127.0.0.1) that is not
		# the address we reach it at.  Record a node for the one we use.
		x iscsiadm -m node -o new -T "$TARGET" -p "$PORTAL" || fail "iscsiadm -m node -o new failed"
		reason "$TARGET at $line (reached through $PORTAL)"
	else
		reason "$TARGET at $line"
	fi
}

step_login() {
	out iscsiadm -m node -T "$TARGET" -p "$PORTAL" --login ||
		fail "iscsiadm --login: $(grep -i 'iscsiadm:' "$state/out" | tail -n 1)"
	out iscsiadm -m session -P 2 || fail "iscsiadm -m session failed after login"
	grep -q "Target: $TARGET" "$state/out" || fail "no session for $TARGET"
	sid=$(sed -n 's/.*SID: *\([0-9]*\).*/\1/p' "$state/out" | head -n 1)
	setvar SID "$sid"
	p() { sed -n "s/^[[:space:]]*$1: *//p" "$state/out" | head -n 1; }
	reason "session $sid: HeaderDigest=$(p HeaderDigest) DataDigest=$(p DataDigest)" \
		"MaxRecvDataSegmentLength=$(p MaxRecvDataSegmentLength) MaxXmitDataSegmentLength=$(p MaxXmitDataSegmentLength)" \
		"FirstBurstLength=$(p FirstBurstLength) MaxBurstLength=$(p MaxBurstLength)" \
		"ImmediateData=$(p ImmediateData) InitialR2T=$(p InitialR2T) MaxOutstandingR2T=$(p MaxOutstandingR2T)"
}

step_disks() {
	need SID
	sdir=/sys/class/iscsi_session/session$SID
	[ -d "$sdir" ] || fail "no $sdir"
	dev=$(readlink -f "$sdir/device")
	i=0
	while :; do
		n=0
		for lun in 0 1; do
			d=$(ls -d "$dev"/target*/*:*:*:$lun 2>/dev/null | head -n 1)
			[ -n "$d" ] && [ -n "$(ls "$d/block" 2>/dev/null)" ] &&
				[ -n "$(ls "$d/scsi_generic" 2>/dev/null)" ] && n=$((n + 1))
		done
		[ $n -eq 2 ] && break
		i=$((i + 1))
		[ $i -gt 100 ] && fail "after 20 s, $n of 2 LUNs have a disk and an sg device: $(ls "$dev"/target*/ 2>&1 | tr '\n' ' ')"
		sleep 0.2
	done
	msg=
	for lun in 0 1; do
		d=$(ls -d "$dev"/target*/*:*:*:$lun | head -n 1)
		b=$(ls "$d/block")
		g=$(ls "$d/scsi_generic")
		i=0
		while [ ! -b "/dev/$b" ] || [ ! -c "/dev/$g" ]; do
			i=$((i + 1)); [ $i -gt 50 ] && fail "no /dev/$b or /dev/$g"
			sleep 0.1
		done
		size=$(($(cat "/sys/block/$b/size") * 512))
		lbs=$(cat "/sys/block/$b/queue/logical_block_size")
		setvar DEV$lun "/dev/$b"
		setvar SG$lun "/dev/$g"
		setvar SIZE$lun "$size"
		setvar LBS$lun "$lbs"
		msg="$msg${msg:+; }LUN $lun = /dev/$b and /dev/$g, $((size / 1048576)) MiB in $lbs-byte blocks"
	done
	. "$state/env"
	[ "$LBS0" = 512 ] || fail "LUN 0 has $LBS0-byte blocks, want 512 ($msg)"
	[ "$LBS1" = 4096 ] || fail "LUN 1 has $LBS1-byte blocks, want 4096 ($msg)"
	reason "$msg"
}

# INTEROP_MODE=qemu: LUN 0 still holds the boot disk interop/mkbootdisk
# made (a FAT boot sector with SYSLINUX, label UTBOOT), and the kernel
# command line is the one its syslinux.cfg gives (QEMU had no -kernel).
step_booted() {
	grep -q 'interop.mode=qemu' /proc/cmdline || fail "not booted with the boot disk's command line: $(cat /proc/cmdline)"
	for b in /sys/block/sd*; do
		[ "$(cat "$b/device/vendor" 2>/dev/null | tr -d ' ')" = UTARGET ] || continue
		[ "$(cat "$b/queue/logical_block_size")" = 512 ] || continue
		dd if="/dev/${b##*/}" bs=512 count=1 2>/dev/null >"$state/sector0"
		grep -q SYSLINUX "$state/sector0" && grep -q UTBOOT "$state/sector0" &&
			reason "/dev/${b##*/} (LUN 0) begins with the SYSLINUX boot sector of volume UTBOOT; kernel command line from its syslinux.cfg" &&
			exit 0
	done
	fail "no UTARGET disk of 512-byte blocks starts with the SYSLINUX boot sector"
}

# INTEROP_MODE=qemu: the two LUNs are scsi-block devices at LUN 0 and 1 of
# one virtio-scsi target: found by vendor and logical unit number.
step_disks_qemu() {
	i=0
	while :; do
		n=0
		for lun in 0 1; do
			d=$(ls -d /sys/bus/scsi/devices/*:*:*:$lun 2>/dev/null | head -n 1)
			[ -n "$d" ] && [ "$(tr -d ' ' <"$d/vendor")" = UTARGET ] &&
				[ -n "$(ls "$d/block" 2>/dev/null)" ] &&
				[ -n "$(ls "$d/scsi_generic" 2>/dev/null)" ] && n=$((n + 1))
		done
		[ $n -eq 2 ] && break
		i=$((i + 1))
		[ $i -gt 100 ] && fail "after 20 s, $n of 2 UTARGET LUNs have a disk and an sg device"
		sleep 0.2
	done
	msg=
	for lun in 0 1; do
		d=$(ls -d /sys/bus/scsi/devices/*:*:*:$lun | head -n 1)
		b=$(ls "$d/block")
		g=$(ls "$d/scsi_generic")
		size=$(($(cat "/sys/block/$b/size") * 512))
		lbs=$(cat "/sys/block/$b/queue/logical_block_size")
		setvar DEV$lun "/dev/$b"
		setvar SG$lun "/dev/$g"
		setvar SIZE$lun "$size"
		setvar LBS$lun "$lbs"
		msg="$msg${msg:+; }LUN $lun = /dev/$b and /dev/$g, $((size / 1048576)) MiB in $lbs-byte blocks"
	done
	. "$state/env"
	[ "$LBS0" = 512 ] || fail "LUN 0 has $LBS0-byte blocks, want 512 ($msg)"
	[ "$LBS1" = 4096 ] || fail "LUN 1 has $LBS1-byte blocks, want 4096 ($msg)"
	reason "$msg"
}

step_inq() {
	need SG0
	out sg_inq "$SG0" || fail "sg_inq: $(tail -n 1 "$state/out")"
	v=$(sed -n 's/^ *Vendor identification: *//p' "$state/out" | sed 's/ *$//')
	p=$(sed -n 's/^ *Product identification: *//p' "$state/out" | sed 's/ *$//')
	r=$(sed -n 's/^ *Product revision level: *//p' "$state/out" | sed 's/ *$//')
	grep -q 'Peripheral device type: disk' "$state/out" || fail "not a disk: $(grep 'device type' "$state/out")"
	[ "$v" = UTARGET ] || fail "vendor '$v', want UTARGET"
	reason "disk, vendor '$v', product '$p', revision '$r'"
}

# readcap ARGS LUN: READ CAPACITY through sg_readcap, checked against sysfs.
readcap() {
	eval sg=\$SG$2 size=\$SIZE$2 lbs=\$LBS$2
	out sg_readcap $1 "$sg" || fail "sg_readcap $1 $sg: $(tail -n 1 "$state/out")"
	n=$(sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p' "$state/out")
	bl=$(sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p' "$state/out")
	[ -n "$n" ] && [ -n "$bl" ] || fail "could not parse the sg_readcap output"
	[ "$bl" = "$lbs" ] || fail "LUN $2: block length $bl, the kernel uses $lbs"
	[ $((n * bl)) = "$size" ] || fail "LUN $2: $n blocks of $bl bytes, the kernel sees $size bytes"
	echo "LUN $2: $n x $bl"
}

step_readcap10() {
	need SG0 SG1
	a=$(readcap "" 0) || exit 1
	b=$(readcap "" 1) || exit 1
	reason "$a; $b"
}

step_readcap16() {
	need SG0 SG1
	a=$(readcap --16 0) || exit 1
	grep -q 'lbpme=1' "$state/out" || fail "LUN 0 is thin but READ CAPACITY 16 has LBPME=0"
	lbp=$(sed -n 's/.*Logical block provisioning: *//p' "$state/out")
	b=$(readcap --16 1) || exit 1
	reason "$a ($lbp); $b"
}

# vpd PAGE: sg_vpd of LUN 0; fails when sg_vpd does.
vpd() {
	need SG0
	out sg_vpd -p "$1" "$SG0" || fail "sg_vpd -p $1: $(tail -n 1 "$state/out")"
}
field() { sed -n "s/^ *$1 *//p" "$state/out" | head -n 1; }

step_vpd_0x00() {
	vpd 0x00
	out sg_vpd -p 0x00 -H "$SG0" || fail "sg_vpd -p 0x00 -H failed"
	pages=$(sed -n 's/^ *[0-9a-f][0-9a-f]  *//p' "$state/out" | tr -s ' ' '\n' | tail -n +5 | tr '\n' ' ')
	for p in 00 80 83 b0 b1 b2; do
		case " $pages" in *" $p "*) ;; *) fail "page 0x$p not listed (pages: $pages)" ;; esac
	done
	reason "pages $pages"
}

step_vpd_0x80() {
	vpd 0x80
	s=$(field 'Unit serial number:')
	[ -n "$s" ] || fail "no serial number"
	reason "serial '$s'"
}

step_vpd_0x83() {
	vpd 0x83
	n=$(grep -c 'designator type:' "$state/out")
	[ "$n" -gt 0 ] || fail "no designation descriptors"
	naa=$(grep -A1 'designator type: NAA' "$state/out" | sed -n 's/^ *\(0x[0-9a-f]*\)$/\1/p' | head -n 1)
	[ -n "$naa" ] || fail "no NAA designator for the logical unit"
	types=$(sed -n 's/^ *designator type: *\([^,]*\),.*/\1/p' "$state/out" | tr '\n' ',' | sed -e 's/,$//' -e 's/,/, /g')
	reason "$n designators ($types); NAA $naa"
}

step_vpd_0xb0() {
	vpd 0xb0
	m=$(field 'Maximum transfer length:')
	u=$(field 'Maximum unmap LBA count:')
	[ -n "$m" ] || fail "no maximum transfer length"
	reason "maximum transfer length $m; maximum unmap LBA count $u"
}

step_vpd_0xb1() {
	vpd 0xb1
	# SBC-4 table 236: 0001h is a non-rotating medium, which sg_vpd
	# prints as "Non-rotating medium" (rbd:, tcmu:, mem: LUNs).
	r=$(grep -i -e 'rotation rate' -e 'non-rotating' "$state/out" | head -n 1 | sed 's/^ *//')
	[ -n "$r" ] || fail "no medium rotation rate field"
	reason "$r; $(grep -i 'form factor' "$state/out" | head -n 1 | sed 's/^ *//')"
}

step_vpd_0xb2() {
	vpd 0xb2
	grep -q 'Unmap command supported (LBPU): 1' "$state/out" || fail "LBPU not set on a thin LUN"
	reason "LBPU $(field 'Unmap command supported (LBPU):'), LBPWS $(field 'Write same (16) with unmap bit supported (LBPWS):'), LBPWS10 $(field 'Write same (10) with unmap bit supported (LBPWS10):'), provisioning type $(field 'Provisioning type:')"
}

step_luns() {
	need SG0
	out sg_luns "$SG0" || fail "sg_luns: $(tail -n 1 "$state/out")"
	l=$(sed -n 's/^ *\([0-9a-f]\{16\}\).*/\1/p' "$state/out" | tr '\n' ' ')
	case "$l" in "0000000000000000 0001000000000000 ") ;; *) fail "LUN list '$l', want 0 and 1" ;; esac
	reason "LUNs $l"
}

step_turs() {
	need SG0
	out sg_turs -n 5 "$SG0" || fail "sg_turs: $(tail -n 2 "$state/out" | tr '\n' ' ')"
	reason "5 x TEST UNIT READY, ready"
}

step_sync() {
	need SG0
	out sg_sync "$SG0" || fail "sg_sync: $(tail -n 1 "$state/out")"
	out sg_sync --lba=1000 --count=64 "$SG0" || fail "sg_sync --lba=1000 --count=64: $(tail -n 1 "$state/out")"
	reason "SYNCHRONIZE CACHE(10) of the whole LUN and of a range"
}

# pr ARGS...: sg_persist on LUN 0; a SKIP when utarget answers that the
# command is not supported (sg3_utils exit status 9, invalid opcode).
pr() {
	need SG0
	out sg_persist "$@" "$SG0"
	r=$?
	if [ $r -eq 9 ] || grep -qi 'invalid opcode\|command not supported' "$state/out"; then
		skip "PERSISTENT RESERVE is not implemented by utarget yet (sg_persist: $(tail -n 1 "$state/out"))"
	fi
	[ $r -eq 0 ] || fail "sg_persist $*: $(tail -n 1 "$state/out")"
}

step_pr_register() {
	pr --out --register --param-sark=$PR_KEY
	pr --in --read-keys
	grep -q "$PR_KEY" "$state/out" || fail "key $PR_KEY not listed after REGISTER: $(tr '\n' ' ' <"$state/out")"
	reason "key $PR_KEY registered"
}

step_pr_reserve() {
	pr --out --reserve --param-rk=$PR_KEY --prout-type=1
	pr --in --read-reservation
	grep -q "Key=$PR_KEY" "$state/out" || fail "no reservation with key $PR_KEY: $(tr '\n' ' ' <"$state/out")"
	reason "Write Exclusive reservation held"
}

step_pr_read() {
	pr --in --read-keys
	k=$(sed -n 's/^ *\(0x[0-9a-f]*\)$/\1/p' "$state/out" | tr '\n' ' ')
	[ "$k" = "$PR_KEY " ] || fail "keys '$k', want $PR_KEY"
	pr --in --read-reservation
	t=$(sed -n 's/.*scope:.*type: *//p' "$state/out")
	grep -q "Key=$PR_KEY" "$state/out" || fail "no reservation with key $PR_KEY"
	[ "$t" = "Write Exclusive" ] || fail "reservation type '$t', want Write Exclusive"
	pr --in --read-full-status
	reason "keys: $k; reservation: $(sed -n 's/^ *\(scope:.*\)/\1/p' "$state/out" | head -n 1)$(grep -q "Key=$PR_KEY" "$state/out" && echo "; full status lists the key")"
}

step_pr_release() {
	pr --out --release --param-rk=$PR_KEY --prout-type=1
	pr --in --read-reservation
	grep -qi 'no reservation' "$state/out" || fail "reservation still held: $(tr '\n' ' ' <"$state/out")"
	reason "no reservation held"
}

step_pr_unregister() {
	pr --out --register --param-rk=$PR_KEY --param-sark=0
	pr --in --read-keys
	grep -qi 'no registered reservation keys' "$state/out" || fail "keys still registered: $(tr '\n' ' ' <"$state/out")"
	reason "no keys registered"
}

# unmapped LBA COUNT HOW...: fill 1 MiB at LBA with a pattern, deallocate it
# with the command HOW, and read zeros back.
unmapped() {
	lba=$1 num=$2
	shift 2
	need SG0 DEV0
	mb=$((lba * 512 / 1048576))
	x dd if="$PATTERN" of="$DEV0" bs=1M skip=$mb seek=$mb count=1 oflag=direct || fail "writing the pattern failed"
	[ "$(rd "$DEV0" 64k $((mb * 16)) 16)" = "$(pmd5 1M $mb 1)" ] || fail "the pattern did not read back"
	out "$@" --lba=$lba --num=$num "$SG0" || fail "$*: $(tail -n 1 "$state/out")"
	[ "$(rd "$DEV0" 64k $((mb * 16)) 16)" = "$(zeros_md5 1048576)" ] || fail "LBA $lba+$num does not read back as zeros after $*"
	out sg_get_lba_status --lba=$lba "$SG0"
	st=$(grep -i 'deallocated\|unmapped\|mapped' "$state/out" | head -n 1 | tr -s ' ')
	echo "$num blocks at LBA $lba read back as zeros; GET LBA STATUS:${st:- (none)}"
}

step_unmap() {
	a=$(unmapped 4096 2048 sg_unmap --force) || exit 1
	reason "$a"
}

step_write_same_unmap() {
	a=$(unmapped 8192 2048 sg_write_same --unmap) || exit 1
	b=$(unmapped 12288 2048 sg_write_same --unmap --16) || exit 1
	reason "WRITE SAME(10): $a; WRITE SAME(16): ${b%%;*}"
}

# dio LUN MiB AT_MiB SMALL_BS SMALL_AT SMALL_COUNT: a pseudo-random pattern
# written with O_DIRECT in 1 MiB requests, read back in 64 KiB requests,
# then read through the page cache; and a run of small requests at an odd
# block address.
dio() {
	lun=$1 mib=$2 at=$3 sbs=$4 sat=$5 scount=$6
	eval dev=\$DEV$lun
	need DEV$lun
	want=$(pmd5 1M $lun $mib)
	x dd if="$PATTERN" of="$dev" bs=1M skip=$lun count=$mib seek=$at oflag=direct || fail "write of $mib MiB failed"
	got=$(rd "$dev" 64k $((at * 16)) $((mib * 16)))
	[ "$got" = "$want" ] || fail "direct read of $mib MiB at $at MiB differs (md5 $got, want $want)"
	echo 3 >/proc/sys/vm/drop_caches
	got=$(dd if="$dev" bs=1M skip=$at count=$mib 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "buffered read of $mib MiB at $at MiB differs"
	x dd if="$PATTERN" of="$dev" bs=$sbs skip=7 seek=$sat count=$scount oflag=direct || fail "small writes failed"
	want2=$(pmd5 $sbs 7 $scount)
	got=$(rd "$dev" $sbs $sat $scount)
	[ "$got" = "$want2" ] || fail "$scount x $sbs bytes at block $sat differ"
	echo "$mib MiB at $at MiB (1 MiB writes, 64 KiB direct and buffered reads, md5 $want) and $scount x $sbs-byte requests at block $sat read back identical"
}

step_dio0() { a=$(dio 0 8 64 512 300001 200) || exit 1; reason "$a"; }
step_dio1() { a=$(dio 1 8 16 4096 50001 100) || exit 1; reason "$a"; }

# mkfiles DIR SUMS: a tree of files cut from the pattern, and their
# checksums.
mkfiles() {
	mkdir -p "$1/d"
	i=1
	while [ $i -le 40 ]; do
		dd if="$PATTERN" of="$1/d/f$i" bs=64k iflag=skip_bytes,count_bytes \
			skip=$((i * 100003)) count=$((i * 7919)) 2>/dev/null
		i=$((i + 1))
	done
	dd if="$PATTERN" of="$1/big" bs=1M skip=20 count=4 2>/dev/null
	(cd "$1" && find . -type f | sort | xargs md5sum) >"$2"
}

step_ext4_make() {
	need DEV0
	mkdir -p /mnt/ext4
	out mkfs.ext4 -F -q "$DEV0" || fail "mkfs.ext4: $(tail -n 1 "$state/out")"
	x mount -t ext4 "$DEV0" /mnt/ext4 || fail "mount failed: $(dmesg | tail -n 1)"
	mkfiles /mnt/ext4 "$state/sums.ext4"
	x sync
	x umount /mnt/ext4 || fail "umount failed"
	out e2fsck -fn "$DEV0" || fail "e2fsck -fn: $(tail -n 2 "$state/out" | tr '\n' ' ')"
	reason "$(wc -l <"$state/sums.ext4") files written; e2fsck: $(tail -n 1 "$state/out")"
}

step_ext4_verify() {
	need DEV0
	[ -f "$state/sums.ext4" ] || fail "no checksums (the previous check failed)"
	x mount -t ext4 "$DEV0" /mnt/ext4 || fail "mount failed: $(dmesg | tail -n 1)"
	out sh -c 'cd /mnt/ext4 && md5sum -c "$0"' "$state/sums.ext4" ||
		{ umount /mnt/ext4; fail "checksums differ: $(grep -v ': OK' "$state/out" | head -n 3 | tr '\n' ' ')"; }
	n=$(grep -c ': OK' "$state/out")
	out fstrim -v /mnt/ext4 || { umount /mnt/ext4; fail "fstrim: $(tail -n 1 "$state/out")"; }
	t=$(tail -n 1 "$state/out")
	x umount /mnt/ext4 || fail "umount failed"
	reason "$n files match; $t"
}

step_xfs_make() {
	need DEV1
	mkdir -p /mnt/xfs
	out mkfs.xfs -f -q "$DEV1" || fail "mkfs.xfs: $(tail -n 1 "$state/out")"
	x mount -t xfs "$DEV1" /mnt/xfs || fail "mount failed: $(dmesg | tail -n 1)"
	mkfiles /mnt/xfs "$state/sums.xfs"
	x sync
	x umount /mnt/xfs || fail "umount failed"
	out xfs_repair -n "$DEV1" || fail "xfs_repair -n: $(tail -n 2 "$state/out" | tr '\n' ' ')"
	reason "$(wc -l <"$state/sums.xfs") files written; xfs_repair -n found nothing to fix"
}

step_xfs_verify() {
	need DEV1
	[ -f "$state/sums.xfs" ] || fail "no checksums (the previous check failed)"
	x mount -t xfs "$DEV1" /mnt/xfs || fail "mount failed: $(dmesg | tail -n 1)"
	out sh -c 'cd /mnt/xfs && md5sum -c "$0"' "$state/sums.xfs" ||
		{ umount /mnt/xfs; fail "checksums differ: $(grep -v ': OK' "$state/out" | head -n 3 | tr '\n' ' ')"; }
	n=$(grep -c ': OK' "$state/out")
	out fstrim -v /mnt/xfs || { umount /mnt/xfs; fail "fstrim: $(tail -n 1 "$state/out")"; }
	t=$(tail -n 1 "$state/out")
	x umount /mnt/xfs || fail "umount failed"
	reason "$n files match; $t"
}

# restart HOW: write the whole pattern with O_DIRECT while the target is restarted
# (HOW = kill or term), then check the write completed, the data is intact
# and the same session is logged in.
restart() {
	need DEV0
	[ "${INTEROP_MODE:-}" = qemu ] || need SID
	if [ -n "${INTEROP_CTL:-}" ]; then
		:
	elif [ -n "${INTEROP_RESTART_CMD:-}" ]; then
		:
	else
		skip "set INTEROP_RESTART_CMD to a command that restarts the target"
	fi
	# 8 MiB in 256 KiB direct writes: long enough to be in flight when
	# the host restarts the target, short enough to read back through
	# QEMU's user-mode network (about 1 MiB/s towards the guest under TCG).
	# QEMU's own driver (INTEROP_MODE=qemu) writes far faster than the
	# guest's network: 24 MiB in 16 KiB writes there.
	mib=8 at=256 kib=256
	[ "${INTEROP_MODE:-}" = qemu ] && mib=24 kib=16
	[ "$1" = term ] && at=512
	want=$(pmd5 1M 0 $mib)
	errs0=$(dmesg | grep -c 'detected conn error')
	resets0=$(dmesg | grep -c 'Power-on or device reset')
	t0=$(date +%s)
	dd if="$PATTERN" of="$DEV0" bs=${kib}k count=$((mib * 1024 / kib)) \
		seek=$((at * 1024 / kib)) oflag=direct 2>"$state/dd.err" &
	ddpid=$!
	if [ -n "${INTEROP_CTL:-}" ]; then
		echo "@RESTART $1" >"$INTEROP_CTL"
		ack=
		read -r -t 60 ack <"$INTEROP_CTL"
		[ "$ack" = "@RESTARTED" ] || fail "the host did not confirm the restart (got '$ack')"
	else
		x sh -c "$INTEROP_RESTART_CMD" || fail "INTEROP_RESTART_CMD failed"
	fi
	t1=$(date +%s)
	midio=no
	kill -0 $ddpid 2>/dev/null && midio=yes
	wait $ddpid
	rc=$?
	t2=$(date +%s)
	cat "$state/dd.err" >&2
	[ $rc -eq 0 ] || fail "dd failed across the restart: $(tail -n 1 "$state/dd.err")"
	[ $midio = yes ] || fail "dd finished before the target came back: not mid-I/O (make the write longer)"
	got=$(rd "$DEV0" 64k $((at * 16)) $((mib * 16)))
	[ "$got" = "$want" ] || fail "data written across the restart differs (md5 $got, want $want)"
	if [ "${INTEROP_MODE:-}" = qemu ]; then
		# The session is QEMU's (libiscsi reconnects it on the host).
		reason "dd of $mib MiB was in flight across the restart (target back after $((t1 - t0)) s), completed $((t2 - t1)) s later, data identical; QEMU's iSCSI driver logged in again"
		exit 0
	fi
	out iscsiadm -m session -r "$SID" -P 1 || fail "session $SID is gone"
	st=$(sed -n 's/.*iSCSI Session State: *//p' "$state/out")
	[ "$st" = LOGGED_IN ] || fail "session $SID is $st"
	errs=$(($(dmesg | grep -c 'detected conn error') - errs0))
	resets=$(($(dmesg | grep -c 'Power-on or device reset') - resets0))
	dmesg | tail -n 20 >&2
	reason "dd of $mib MiB was in flight across the restart (target back after $((t1 - t0)) s), completed $((t2 - t1)) s later, data identical; session $SID logged in again (kernel: $errs connection error(s), $resets power-on unit attention(s))"
}

step_restart_kill() { restart kill; }
step_restart_term() { restart term; }

step_logout() {
	need DEV0
	out iscsiadm -m node -T "$TARGET" -p "$PORTAL" --logout || fail "iscsiadm --logout: $(tail -n 1 "$state/out")"
	i=0
	while [ -e "/sys/block/${DEV0#/dev/}" ]; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "${DEV0} still present 5 s after logout"
		sleep 0.1
	done
	iscsiadm -m session >/dev/null 2>&1
	[ $? -eq 21 ] || fail "sessions remain: $(iscsiadm -m session 2>&1 | tr '\n' ' ')"
	reason "logged out; disks removed"
}
