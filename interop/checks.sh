#!/bin/sh
# interop/checks.sh PORTAL TARGET — the interop sequence against utarget
# through the Linux kernel initiator (open-iscsi + iscsi_tcp), sg3_utils,
# e2fsprogs and xfsprogs.  POSIX sh (runs under busybox ash in the guest).
#
# Prints one line per check on stdout: PASS|FAIL|SKIP <name>: <reason>.
# Details (every command and its output) go to $INTEROP_LOG (default
# stderr).  Every check runs under its own timeout.
#
# The target must serve two LUNs (see docs/interop.md):
#   LUN 0  file, thin, 512-byte blocks, at least 256 MiB
#   LUN 1  file, thin, 4096-byte blocks, at least 320 MiB (xfs minimum)
# THE CHECKS DESTROY THE DATA ON BOTH LUNS.
#
# INTEROP_PATTERN=FILE: the pseudo-random data to write (default: 24 MiB
# from /dev/urandom, made at the start).
#
# INTEROP_COMBOS=FILE: after the checks, one check per line of FILE (the
# output of interop/matrix-combos): log in with those parameters, fio
# verify, ext4 (interop/matrix.sh; FIO_MIB and FS_MIB size it).
# INTEROP_MATRIX_ONLY=1: discovery and the combinations, no other check.
#
# Restarting the target mid-I/O needs a helper:
#   INTEROP_CTL=DEV          (in the VM) write "@RESTART" to DEV and wait for
#                            "@RESTARTED" from interop/run on the host;
#   INTEROP_RESTART_CMD=CMD  (on a real host) run CMD, e.g.
#                            "ssh storage systemctl restart utarget";
# with neither, the restart check is skipped.
# (Shell built-ins where they do: under TCG every fork and exec costs tens
# of milliseconds of CPU, and the matrix runs 2016 steps.)
case $0 in
/*) self=$0 ;;
*/*) self=$PWD/$0 ;;
*) self=$(command -v "$0") ;;
esac
state=${INTEROP_STATE:-/tmp/interop-state}
log=${INTEROP_LOG:-/dev/stderr}

. "${self%/*}/steps.sh"
. "${self%/*}/matrix.sh"
. "${self%/*}/mpath.sh"

# --- one step, run as "checks.sh --step NAME PORTAL TARGET" ---------------
# A step writes its reason to fd 3 and exits 0 (PASS), 77 (SKIP) or other
# (FAIL).
if [ "${1:-}" = --step ]; then
	step=$2 PORTAL=$3 TARGET=$4
	[ -f "$state/env" ] && . "$state/env"
	reason() { echo "$*" >&3; }
	fail() { echo "$*" >&3; exit 1; }
	skip() { echo "$*" >&3; exit 77; }
	# x CMD...: show and run a command; its output goes to the log.
	x() { read -r up _ </proc/uptime; echo "+ [$up] $*" >&2; "$@" >&2; }
	# out CMD...: run a command, keep its output in $state/out and the log.
	out() {
		read -r up _ </proc/uptime
		echo "+ [$up] $*" >&2
		"$@" >"$state/out" 2>&1
		r=$?
		while IFS= read -r l; do printf '%s\n' "$l"; done <"$state/out" >&2
		return $r
	}
	need() { for v in "$@"; do eval "[ -n \"\${$v:-}\" ]" || fail "no $v (an earlier check failed)"; done; }
	setvar() { echo "$1=$2" >>"$state/env"; }
	zeros_md5() { head -c "$1" /dev/zero | md5sum | cut -d' ' -f1; }
	# rd DEV BS SKIP COUNT: md5 of a direct read
	rd() { dd if="$1" bs="$2" skip="$3" count="$4" iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }
	# pmd5 BS SKIP COUNT: md5 of a piece of the pattern
	pmd5() { dd if="$PATTERN" bs="$1" skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1; }
	"step_$step"
	exit 0
fi

PORTAL=${1:?usage: checks.sh PORTAL TARGET}
TARGET=${2:?usage: checks.sh PORTAL TARGET}
rm -rf "$state"
mkdir -p "$state"
: >"$state/env"
npass=0 nfail=0 nskip=0
if [ -n "${INTEROP_PATTERN:-}" ]; then
	echo "PATTERN=$INTEROP_PATTERN" >>"$state/env"
else
	head -c 25165824 /dev/urandom >"$state/pattern"
	echo "PATTERN=$state/pattern" >>"$state/env"
fi

# check NAME TIMEOUT STEP: run one step under a timeout and print its line.
# INTEROP_STEPS=ERE runs only the steps whose names match (e.g. 'mp_.*').
check() {
	name=$1 t=$2 s=$3
	if [ -n "${INTEROP_STEPS:-}" ] && ! echo "$s" | grep -qE "^($INTEROP_STEPS)\$"; then
		return 0
	fi
	read -r up _ </proc/uptime
	echo "=== $up $name (step $s, timeout ${t}s)" >>"$log"
	t0=${up%.*}
	timeout -s KILL "$t" sh "$self" --step "$s" "$PORTAL" "$TARGET" \
		3>"$state/reason" >>"$log" 2>&1
	rc=$?
	r=
	while IFS= read -r l; do r=$l; done <"$state/reason"
	read -r up _ </proc/uptime
	dt=$((${up%.*} - t0))
	case $rc in
	0) echo "PASS $name: ${r:-ok} (${dt}s)"; npass=$((npass + 1)) ;;
	77) echo "SKIP $name: $r"; nskip=$((nskip + 1)) ;;
	137) echo "FAIL $name: timed out after ${t}s${r:+ ($r)}"; nfail=$((nfail + 1)) ;;
	*) echo "FAIL $name: ${r:-exit $rc}"; nfail=$((nfail + 1)) ;;
	esac
}

# INTEROP_MODE=qemu: the VM booted from LUN 0 and QEMU's own iSCSI client
# serves both LUNs as SCSI disks (interop/run, INTEROP_QEMU_DRIVER=1): no
# discovery, login or logout of the guest's own.
mode=${INTEROP_MODE:-kernel}
if [ -n "${INTEROP_MATRIX_ONLY:-}" ]; then
	# The full matrix's runs (interop/run): discovery makes the node
	# record the combinations log in with; the checks ran elsewhere.
	check "SendTargets discovery" 20 discovery
elif [ "$mode" = qemu ]; then
	check "booted from LUN 0 through QEMU's iSCSI driver" 15 booted
	check "LUNs appear as SCSI disks (virtio-scsi, scsi-block)" 30 disks_qemu
else
	check "SendTargets discovery" 20 discovery
	check "login" 30 login
	check "LUNs appear as SCSI disks" 30 disks
fi
if [ -z "${INTEROP_MATRIX_ONLY:-}" ]; then
	check "sg_inq" 15 inq
	check "sg_readcap (READ CAPACITY 10)" 15 readcap10
	check "sg_readcap --16 (READ CAPACITY 16)" 15 readcap16
	for p in 0x00 0x80 0x83 0xb0 0xb1 0xb2; do
		check "sg_vpd -p $p" 15 "vpd_$p"
	done
	check "sg_luns" 15 luns
	check "sg_turs" 15 turs
	check "sg_sync" 15 sync
	check "sg_persist register" 15 pr_register
	check "sg_persist reserve" 15 pr_reserve
	check "sg_persist read keys and reservation" 15 pr_read
	check "sg_persist release" 15 pr_release
	check "sg_persist unregister" 15 pr_unregister
	check "sg_unmap on the thin LUN reads back zeros" 30 unmap
	check "sg_write_same --unmap on the thin LUN reads back zeros" 30 write_same_unmap
	check "direct-I/O integrity, pseudo-random pattern, LUN 0" 60 dio0
	check "direct-I/O integrity, pseudo-random pattern, LUN 1 (4096-byte blocks)" 60 dio1
	check "ext4: mkfs, mount, write, sync, umount, fsck clean" 90 ext4_make
	check "ext4: remount and verify checksums" 30 ext4_verify
	check "xfs: mkfs, mount, write, sync, umount, xfs_repair -n clean" 90 xfs_make
	check "xfs: remount and verify checksums" 30 xfs_verify
	check "utarget killed (SIGKILL) and restarted mid-I/O: session recovers, I/O completes" 90 restart_kill
	check "utarget stopped (SIGTERM) and restarted mid-I/O: session recovers, I/O completes" 90 restart_term
	[ "$mode" = qemu ] || check "logout" 30 logout
fi

# dm-multipath over two portal groups of the target (interop/mpath.sh).
if [ -n "${MPATH:-}" ]; then
	echo "MPATH=$MPATH" >>"$state/env"
	check "multipath: two portals, one map, priorities from ALUA (alua prioritizer)" 120 mp_login
	check "sg_rtpg: the configured target port groups and states" 20 mp_rtpg
	check "multipath: ext4 written through the map" 90 mp_fs
	# A loss waits up to 2 x 60 s and two host requests of up to 30 s
	# (interop/mpath.sh mp_lose): 210 s lets those waits fail with
	# multipathd's, iscsid's and the kernel's state on a slow machine
	# rather than be killed silently.
	check "multipath: path A stops answering, then resets: writes go on through B" 210 mp_lose_a
	check "multipath: path A back, used again" 120 mp_back_a
	check "multipath: SET TARGET PORT GROUPS (sg_stpg) moves I/O to path B" 120 mp_stpg
	check "multipath: path B stops answering, then resets: writes go on through A" 210 mp_lose_b
	check "multipath: path B back, used again" 120 mp_back_b
	check "multipath: utargetctl alua set moves I/O back to path A" 120 mp_flip
	check "multipath: e2fsck clean, every checksum after remount" 90 mp_verify
	check "multipath: logout" 30 mp_logout
fi

# matrix_check I: the check of line I of $INTEROP_COMBOS ($mdir/q/I).
matrix_check() {
	read -r line <"$mdir/q/$1"
	set -- $line
	export MATRIX="$*"
	check "matrix $i/$n HeaderDigest=$1 DataDigest=$2 InitialR2T=$3 ImmediateData=$4 FirstBurstLength=$5 MaxBurstLength=$6 MaxRecvDataSegmentLength=$7" \
		"${MATRIX_TIMEOUT:-300}" matrix
}

# matrix_claim: sets i to the next line nobody has taken; false when none
# is left.  A line is taken by making the directory $mdir/c/I (mkdir is
# atomic: one slot gets it); a slot goes on from the last it saw taken.
matrix_claim() {
	while [ "$k" -lt "$n" ]; do
		k=$((k + 1))
		mkdir "$mdir/c/$k" 2>/dev/null && i=$k && return 0
	done
	return 1
}

# matrix_slot J: a slot's loop.  It logs in to TARGET-mJ (LUN 0 of its
# own) with the settings of each line it takes; its checks have their own
# state directory and mount point.
matrix_slot() {
	export MATRIX_SLOT=$1 MATRIX_TARGET=$TARGET-m$1
	state=$mdir/slot$1
	export INTEROP_STATE=$state
	mkdir -p "$state"
	cp "$mdir/../env" "$state/env"
	# Discovery made the node records where the target is reached
	# directly; through a NAT (the user network) it named another portal.
	iscsiadm -m node -T "$MATRIX_TARGET" -p "$PORTAL" >/dev/null 2>&1 ||
		iscsiadm -m node -o new -T "$MATRIX_TARGET" -p "$PORTAL" >>"$log" 2>&1
	mkdir -p "/mnt/matrix$1"
	k=0
	while matrix_claim; do
		matrix_check "$i" >"$state/line"
		read -r line <"$state/line"
		# Each line whole, in one write (echo is built in), on the
		# shared serial port and in the count.
		echo "$line"
		echo "$line" >>"$mdir/lines"
	done
}

# The combinations: one after the other on TARGET, or with MATRIX_SLOTS=K
# (interop.slots=K) K at once, slot J on target TARGET-mJ.
if [ -n "${INTEROP_COMBOS:-}" ]; then
	# One file per line, read with a built-in.
	mdir=$state/matrix
	mkdir -p "$mdir/q" "$mdir/c"
	n=0
	while read -r line; do
		[ -n "$line" ] || continue
		n=$((n + 1))
		echo "$line" >"$mdir/q/$n"
	done <"$INTEROP_COMBOS"
	slots=${MATRIX_SLOTS:-1}
	if [ "$slots" -le 1 ]; then
		i=0
		while [ $i -lt "$n" ]; do
			i=$((i + 1))
			matrix_check "$i"
		done
	else
		: >"$mdir/lines"
		j=1
		while [ $j -le "$slots" ]; do
			matrix_slot "$j" &
			j=$((j + 1))
		done
		wait
		npass=$((npass + $(grep -c '^PASS' "$mdir/lines")))
		nfail=$((nfail + $(grep -c '^FAIL' "$mdir/lines")))
		nskip=$((nskip + $(grep -c '^SKIP' "$mdir/lines")))
	fi
fi

echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
