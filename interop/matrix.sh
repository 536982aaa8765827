# interop/matrix.sh — the parameter matrix step of interop/checks.sh
# (sourced; POSIX sh; the helpers are those of steps.sh).
#
# step_matrix takes one combination from $MATRIX (a line of
# interop/matrix-combos: HeaderDigest DataDigest InitialR2T ImmediateData
# FirstBurstLength MaxBurstLength MaxRecvDataSegmentLength) and:
#   1. logs out, sets the node record to those values (iscsiadm -o
#      update; MaxXmitDataSegmentLength too, so that the initiator's
#      Data-Out PDUs are as short as the target's Data-In PDUs), logs in
#      and checks that the session negotiated exactly them (the target
#      serves the largest lengths, so the initiator's offer is the result);
#   2. runs fio on LUN 0 with direct I/O, libaio at queue depth 8 and
#      verify=crc32c, block sizes 512 B..1 MiB (bssplit), four jobs: a
#      sequential write and a random write (at once, each on a region of
#      its own), each reading back and verifying what it wrote, then
#      (once both ended) a sequential and a random read-only pass
#      (verify_only) over the same two regions, at once too;
#   3. makes an ext4 of $FS_MIB MiB on LUN 0, writes files cut from the
#      pattern, unmounts, e2fsck -fn, mounts again and compares checksums;
#   4. logs out.
# $FIO_MIB (MiB per region, default 2) and $FS_MIB (default 16) size it.
#
# $MATRIX_TARGET (default $TARGET) is the target the step logs in to and
# $MATRIX_SLOT (default empty) names its mount point: with
# interop.slots=K, interop/checks.sh runs K combinations at once, each
# slot on a target of its own (TARGET-m1 .. TARGET-mK, one LUN each), so
# that each has a node record of its own settings and a disk of its own.

# (Built-ins where they do: under TCG a fork and exec costs tens of
# milliseconds of CPU, and the full matrix has 2016 steps.)

# session_of IQN: sets sid to the SID of the session with target IQN;
# false if there is none (sysfs, no iscsiadm: other slots have sessions
# of their own).
session_of() {
	for f in /sys/class/iscsi_session/session*/targetname; do
		[ -e "$f" ] || continue
		name=
		read -r name <"$f"
		[ "$name" = "$1" ] || continue
		f=${f%/targetname}
		sid=${f##*session}
		return 0
	done
	return 1
}

# lun0_dev SID: sets dev to the block device of LUN 0 of a session, once
# it is there (looked for every 100 ms, at most 20 s).
lun0_dev() {
	n=0
	while :; do
		for b in /sys/class/iscsi_session/session$1/device/target*/*:*:*:0/block/*; do
			[ -b "/dev/${b##*/}" ] && dev=/dev/${b##*/} && return 0
		done
		n=$((n + 1))
		[ $n -gt 200 ] && return 1
		usleep 100000
	done
}

# now_s: sets now to the whole seconds since boot.
now_s() {
	read -r now _ </proc/uptime
	now=${now%.*}
}

matrix_fio() {
	dev=$1 mib=$2
	while IFS= read -r l; do printf '%s\n' "$l"; done >"$state/matrix.fio" <<EOF
[global]
filename=$dev
thread
direct=1
ioengine=libaio
iodepth=8
bssplit=512/20:4k/20:64k/20:256k/20:1m/20
size=${mib}m
verify=crc32c
verify_fatal=1
verify_dump=0
randrepeat=1
group_reporting=0

[seq-write]
rw=write
offset=0

[rand-write]
rw=randwrite
offset=${mib}m

[seq-read]
stonewall
rw=write
verify_only=1
offset=0

[rand-read]
rw=randwrite
verify_only=1
offset=${mib}m
EOF
	out fio --output="$state/fio.out" "$state/matrix.fio"
	r=$?
	while IFS= read -r l; do printf '%s\n' "$l"; done <"$state/fio.out" >&2
	[ $r -eq 0 ] || fail "fio: exit $r: $(grep -i 'verify\|err' "$state/fio.out" "$state/out" | head -n 3 | tr '\n' ' ')"
	n=$(grep -c 'err= 0' "$state/fio.out")
	[ "$n" -eq 4 ] || fail "fio: $n of 4 jobs report err= 0: $(grep 'err=' "$state/fio.out" | tr '\n' ' ')"
}

matrix_fs() {
	dev=$1 mib=$2
	mnt=/mnt/matrix${MATRIX_SLOT:-}
	[ -d "$mnt" ] || mkdir -p "$mnt"
	out mkfs.ext4 -F -q -E nodiscard "$dev" "${mib}M" || fail "mkfs.ext4: $(tail -n 1 "$state/out")"
	x mount -t ext4 "$dev" "$mnt" || fail "mount failed: $(dmesg | tail -n 1)"
	mkdir -p "$mnt/d"
	i=1
	while [ $i -le 8 ]; do
		dd if="$PATTERN" of="$mnt/d/f$i" bs=64k iflag=skip_bytes,count_bytes \
			skip=$((i * 100003)) count=$((i * 37 * 1024 + i * 7)) 2>/dev/null
		i=$((i + 1))
	done
	dd if="$PATTERN" of="$mnt/big" bs=1M skip=3 count=1 2>/dev/null
	md5sum "$mnt/big" "$mnt"/d/f* >"$state/sums.matrix"
	x umount "$mnt" || fail "umount failed"
	out e2fsck -fn "$dev" || fail "e2fsck -fn: $(tail -n 2 "$state/out" | tr '\n' ' ')"
	x mount -t ext4 "$dev" "$mnt" || fail "second mount failed: $(dmesg | tail -n 1)"
	out md5sum -c "$state/sums.matrix" ||
		{ umount "$mnt"; fail "checksums differ: $(grep -v ': OK' "$state/out" | head -n 3 | tr '\n' ' ')"; }
	x umount "$mnt" || fail "umount failed"
}

step_matrix() {
	set -- $MATRIX
	[ $# -eq 7 ] || fail "bad combination '$MATRIX'"
	hd=$1 dd=$2 ir=$3 id=$4 fb=$5 mb=$6 mr=$7
	fio_mib=${FIO_MIB:-2} fs_mib=${FS_MIB:-16}
	tgt=${MATRIX_TARGET:-$TARGET}
	# A check killed by its timeout may have left a filesystem mounted
	# on the LUN this step overwrites (and, on the checks' own target,
	# one of theirs), or its session logged in.
	if [ -n "${MATRIX_SLOT:-}" ]; then
		umount "/mnt/matrix$MATRIX_SLOT" 2>/dev/null
	else
		for m in /mnt/ext4 /mnt/xfs /mnt/matrix; do
			umount "$m" 2>/dev/null
		done
	fi
	session_of "$tgt" &&
		iscsiadm -m node -T "$tgt" -p "$PORTAL" --logout >/dev/null 2>&1
	# One iscsiadm for all eight (each costs a third of a second here).
	x iscsiadm -m node -T "$tgt" -p "$PORTAL" -o update \
		-n 'node.conn[0].iscsi.HeaderDigest' -v "$hd" \
		-n 'node.conn[0].iscsi.DataDigest' -v "$dd" \
		-n node.session.iscsi.InitialR2T -v "$ir" \
		-n node.session.iscsi.ImmediateData -v "$id" \
		-n node.session.iscsi.FirstBurstLength -v "$fb" \
		-n node.session.iscsi.MaxBurstLength -v "$mb" \
		-n 'node.conn[0].iscsi.MaxRecvDataSegmentLength' -v "$mr" \
		-n 'node.conn[0].iscsi.MaxXmitDataSegmentLength' -v "$mr" ||
		fail "iscsiadm -o update failed"
	now_s
	t0=$now
	out iscsiadm -m node -T "$tgt" -p "$PORTAL" --login ||
		fail "login: $(grep -i 'iscsiadm:' "$state/out" | tail -n 1)"
	session_of "$tgt" || fail "no session of $tgt after login"
	out iscsiadm -m session -r "$sid" -P 2 || fail "iscsiadm -m session -r $sid failed after login"
	# The eight values in that order, with one process (a fork costs
	# tens of milliseconds under TCG).
	got=$(awk 'BEGIN { n = split("HeaderDigest DataDigest InitialR2T ImmediateData FirstBurstLength MaxBurstLength MaxRecvDataSegmentLength MaxXmitDataSegmentLength", k, " ") }
		{ sub(/^[ \t]*/, ""); i = index($0, ": "); if (i) { key = substr($0, 1, i - 1); if (!(key in v)) { val = substr($0, i + 2); sub(/^ */, "", val); v[key] = val } } }
		END { for (j = 1; j <= n; j++) printf "%s%s", (j > 1 ? " " : ""), v[k[j]] }' "$state/out")
	[ "$got" = "$hd $dd $ir $id $fb $mb $mr $mr" ] ||
		fail "negotiated '$got', want '$hd $dd $ir $id $fb $mb $mr $mr' (HeaderDigest DataDigest InitialR2T ImmediateData FirstBurstLength MaxBurstLength MaxRecvDataSegmentLength MaxXmitDataSegmentLength)"
	lun0_dev "$sid" || fail "LUN 0 of session $sid has no disk after 20 s"
	# Under TCG, with other slots busy, a 1 MiB WRITE at MaxBurstLength
	# 512 (2048 R2T round trips) may outlast the 30 s SCSI timeout: the
	# kernel would abort and resend it until it gave up.
	echo 600 >"/sys/block/${dev#/dev/}/device/timeout" || fail "cannot set the SCSI timeout of $dev"
	now_s
	t1=$now
	matrix_fio "$dev" "$fio_mib"
	now_s
	t2=$now
	matrix_fs "$dev" "$fs_mib"
	now_s
	t3=$now
	out iscsiadm -m node -T "$tgt" -p "$PORTAL" --logout || fail "logout: $(tail -n 1 "$state/out")"
	reason "negotiated as asked; fio verify=crc32c 512 B..1 MiB: $((2 * fio_mib)) MiB written and read back twice, seq+rand, no error ($((t2 - t1)) s); ext4 of $fs_mib MiB: 9 files, e2fsck clean, checksums match ($((t3 - t2)) s); login $((t1 - t0)) s${MATRIX_SLOT:+; slot $MATRIX_SLOT}"
}
