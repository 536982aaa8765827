#!/bin/sh
# interop/opswalk.sh PORTAL TARGET — the guest's half of interop/ops-walk:
# an administrator changes a running utarget (installed from its .deb)
# while the Linux kernel initiator keeps a filesystem busy on it.
# POSIX sh (busybox ash in the guest).
#
# The target serves LUN 0 (a file, 512-byte blocks, >= 256 MiB) and LUN 1
# (a file of 256 MiB).  The host does what the guest asks on the control
# channel ($INTEROP_CTL, the second serial port):
#   @CTL ARGS...     run `utargetctl ARGS...`; answers @OK or @ERR TEXT
#   @RESTART term    stop the service (SIGTERM) and start it again as its
#                    unit does; answers @RESTARTED
# The walk (one PASS/FAIL line per step on stdout):
#   1. discovery, login (session SID), LUNs 0 and 1 appear;
#   2. ext4 on LUN 0, mounted, a writer keeps it busy (files cut from the
#      pattern, each synced, their checksums listed);
#   3. lun add LUN 2 (64 MiB) on the host; iscsiadm -m session --rescan;
#      the new disk appears with 64 MiB and takes data;
#   4. lun resize LUN 1 to 384 MiB; rescan; /sys/block/*/size follows;
#   5. the same session SID, LOGGED_IN, no connection error in the kernel
#      log since the login; the writer never failed;
#   6. save and reload on the host: the session stays as it was;
#   7. the writer stops; umount, e2fsck -fn clean, every checksum matches;
#   8. restart of the service (SIGTERM, start): the session recovers (the
#      one reconnect of the walk), LUN 2 (from the saved file) still holds
#      its data, LUN 1 is still 384 MiB, fsck and checksums again;
#   9. logout.
PORTAL=${1:?usage: opswalk.sh PORTAL TARGET}
TARGET=${2:?usage: opswalk.sh PORTAL TARGET}
ctl=${INTEROP_CTL:?no INTEROP_CTL}
log=${INTEROP_LOG:-/dev/stderr}
PATTERN=${INTEROP_PATTERN:-/interop/pattern}
st=/tmp/opswalk
mkdir -p $st /mnt/busy
npass=0 nfail=0

pass() { echo "PASS $*"; npass=$((npass + 1)); }
# fail: the walk cannot go on without this step.
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); finish; }
bad() { echo "FAIL $*"; nfail=$((nfail + 1)); }
x() { echo "+ [$(cut -d' ' -f1 /proc/uptime)] $*" >>"$log"; "$@" >>"$log" 2>&1; }
finish() {
	[ -n "${wpid:-}" ] && { touch $st/stop; wait "$wpid"; }
	umount /mnt/busy 2>/dev/null
	iscsiadm -m node -T "$TARGET" -p "$PORTAL" --logout >>"$log" 2>&1
	echo "$npass passed, $nfail failed, 0 skipped"
	exit 0
}
# host ARGS...: have the host run utargetctl ARGS; its answer in $answer.
host() {
	echo "@CTL $*" >"$ctl"
	answer=
	read -r -t 120 answer <"$ctl"
	echo "host: utargetctl $*: $answer" >>"$log"
	[ "$answer" = "@OK" ]
}
# dev_of LUN: the block device of a LUN of session $SID (waits 30 s).
dev_of() {
	i=0
	while :; do
		d=$(ls -d "$sdev"/target*/*:*:*:$1 2>/dev/null | head -n 1)
		b=$(ls "$d/block" 2>/dev/null | head -n 1)
		[ -n "$b" ] && [ -b "/dev/$b" ] && { echo "$b"; return 0; }
		i=$((i + 1))
		[ $i -gt 150 ] && return 1
		sleep 0.2
	done
}
bytes_of() { echo $(($(cat /sys/block/$1/size) * 512)); }
# Connection trouble: the kernel's errors, and iscsid's recoveries (a
# target's Async logout request ends in a recovery without a kernel error).
conn_errors() {
	echo $(($(dmesg | grep -c -e 'detected conn error' -e 'session recovery' -e 'connection[0-9:]* error') +
		$(grep -c -e 'after recovery' -e 'requests logout' /tmp/iscsid.log 2>/dev/null)))
}
session_ok() {
	iscsiadm -m session -r "$SID" -P 1 >$st/sess 2>&1 &&
		grep -q 'iSCSI Session State: LOGGED_IN' $st/sess
}
pmd5() { dd if="$PATTERN" bs="$1" skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1; }

# --- 1. log in ------------------------------------------------------------------
x iscsiadm -m discovery -t sendtargets -p "$PORTAL" || fail "SendTargets discovery of $PORTAL"
x iscsiadm -m node -o new -T "$TARGET" -p "$PORTAL"
x iscsiadm -m node -T "$TARGET" -p "$PORTAL" --login || fail "login to $TARGET"
iscsiadm -m session -P 1 >$st/sess 2>&1
SID=$(sed -n 's/.*SID: *\([0-9]*\).*/\1/p' $st/sess | head -n 1)
sdev=$(readlink -f /sys/class/iscsi_session/session$SID/device)
DEV0=$(dev_of 0) && DEV1=$(dev_of 1) || fail "LUNs 0 and 1 did not appear"
size1=$(bytes_of "$DEV1")
pass "discovery and login: session $SID, LUN 0 /dev/$DEV0 ($(bytes_of "$DEV0") bytes), LUN 1 /dev/$DEV1 ($size1 bytes)"
errs0=$(conn_errors)

# --- 2. a busy filesystem ------------------------------------------------------------
x mkfs.ext4 -F -q "/dev/$DEV0" 256M || fail "mkfs.ext4 on LUN 0"
x mount -t ext4 "/dev/$DEV0" /mnt/busy || fail "mount LUN 0"
# The writer: 1 MiB files cut from the pattern at moving offsets, each
# synced, its checksum listed once it is on disk; the oldest go when 64
# are there, so the filesystem never fills.  It stops when $st/stop exists.
: >$st/sums
rm -f $st/stop $st/writer.err
(
	i=0
	while [ ! -e $st/stop ]; do
		f=/mnt/busy/f$i
		dd if="$PATTERN" of=$f bs=64k skip=$((i % 300)) count=16 conv=fsync 2>/dev/null ||
			{ echo "write $f failed" >$st/writer.err; break; }
		echo "$(pmd5 64k $((i % 300)) 16)  f$i" >>$st/sums
		[ $i -ge 64 ] && rm -f /mnt/busy/f$((i - 64))
		i=$((i + 1))
	done
	echo $i >$st/written
) &
wpid=$!
sleep 3
[ -e $st/writer.err ] && fail "the writer failed: $(cat $st/writer.err)"
pass "ext4 on LUN 0, a writer keeps it busy (1 MiB synced files, $(wc -l <$st/sums) so far)"

# --- 3. lun add ------------------------------------------------------------------------
n0=$(wc -l <$st/sums)
if host lun add "$TARGET" 2 "file:/var/lib/utarget/lun2.img,size=64M"; then
	x iscsiadm -m session -r "$SID" --rescan
	if DEV2=$(dev_of 2); then
		s=$(bytes_of "$DEV2")
		want=$(pmd5 1M 5 4)
		x dd if="$PATTERN" of="/dev/$DEV2" bs=1M skip=5 count=4 oflag=direct
		got=$(dd if="/dev/$DEV2" bs=1M count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
		if [ "$s" = 67108864 ] && [ "$got" = "$want" ]; then
			pass "utargetctl lun add of LUN 2 (64 MiB) under the busy filesystem: after iscsiadm --rescan /dev/$DEV2 has $s bytes and takes 4 MiB of data"
		else
			bad "the added LUN 2: /dev/$DEV2 has $s bytes (want 67108864), data md5 $got (want $want)"
		fi
	else
		bad "the added LUN 2 did not appear within 30 s of iscsiadm -m session --rescan"
	fi
else
	bad "utargetctl lun add: $answer"
fi

# --- 4. lun resize -----------------------------------------------------------------------
if host lun resize "$TARGET" 1 384M; then
	x iscsiadm -m session -r "$SID" --rescan
	i=0
	while [ "$(bytes_of "$DEV1")" != 402653184 ] && [ $i -lt 100 ]; do
		i=$((i + 1)); sleep 0.3
	done
	s=$(bytes_of "$DEV1")
	if [ "$s" = 402653184 ]; then
		pass "utargetctl lun resize of LUN 1 from $size1 to 384 MiB: after iscsiadm --rescan /sys/block/$DEV1/size says $s bytes"
	else
		bad "LUN 1 after the resize and a rescan: /sys/block/$DEV1/size says $s bytes (want 402653184)"
	fi
else
	bad "utargetctl lun resize: $answer"
fi

# --- 5. the session ---------------------------------------------------------------------
n1=$(wc -l <$st/sums)
errs=$(($(conn_errors) - errs0))
if session_ok && [ $errs -eq 0 ] && [ ! -e $st/writer.err ] && [ $n1 -gt $n0 ]; then
	pass "no session drop: session $SID still LOGGED_IN, no connection error in the kernel log and no recovery in iscsid's since the login; the writer went on ($((n1 - n0)) files during the add and resize)"
else
	bad "the session: $(grep 'Session State' $st/sess | tr -s ' '), $errs connection error(s) in dmesg, writer $([ -e $st/writer.err ] && cat $st/writer.err || echo ok), $((n1 - n0)) files"
fi

# --- 6. save, reload ---------------------------------------------------------------------
errs0=$(conn_errors)
if host save && host reload; then
	sleep 2
	errs=$(($(conn_errors) - errs0))
	if session_ok && [ $errs -eq 0 ] && [ "$(bytes_of "$DEV1")" = 402653184 ] && [ -b "/dev/${DEV2:-none}" ]; then
		pass "utargetctl save, then reload: session $SID unchanged, LUN 1 384 MiB, LUN 2 present, no connection error or recovery"
	else
		bad "after save and reload: $(grep 'Session State' $st/sess | tr -s ' '), $errs connection error(s)"
	fi
else
	bad "utargetctl save / reload: $answer"
fi

# --- 7. fsck, checksums -------------------------------------------------------------------
# verify_fs: stop the writer (if running), umount, fsck, mount, compare.
verify_fs() {
	if [ -n "${wpid:-}" ]; then
		touch $st/stop
		wait "$wpid"
		wpid=
	fi
	[ -e $st/writer.err ] && { bad "the writer failed: $(cat $st/writer.err)"; return 1; }
	x umount /mnt/busy || { bad "umount LUN 0"; return 1; }
	x e2fsck -fn "/dev/$DEV0" || { bad "e2fsck -fn of LUN 0 reports problems"; return 1; }
	x mount -t ext4 "/dev/$DEV0" /mnt/busy || { bad "mount LUN 0 again"; return 1; }
	# The files still there (the last 64) must match their listed sums.
	(cd /mnt/busy && ls f* | while read -r f; do grep "  $f\$" $st/sums; done) >$st/check
	n=$(wc -l <$st/check)
	if (cd /mnt/busy && md5sum -c $st/check >>"$log" 2>&1) && [ "$n" -gt 0 ]; then
		x umount /mnt/busy
		checked=$n
		return 0
	fi
	bad "checksums of the files on LUN 0 differ"
	umount /mnt/busy
	return 1
}
verify_fs && pass "the writer stopped after $(cat $st/written) files; umount, e2fsck -fn clean, the $checked files left match their checksums"

# --- 8. restart -----------------------------------------------------------------------------
errs0=$(conn_errors)
echo "@RESTART term" >"$ctl"
answer=
read -r -t 120 answer <"$ctl"
if [ "$answer" = "@RESTARTED" ]; then
	# The kernel notices at its next command or nop: read until it is
	# back (replacement_timeout is 60 s).
	i=0
	until dd if="/dev/$DEV0" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null && session_ok; do
		i=$((i + 1)); [ $i -gt 60 ] && break; sleep 1
	done
	errs=$(($(conn_errors) - errs0))
	got=$(dd if="/dev/${DEV2:-none}" bs=1M count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	s1=$(bytes_of "$DEV1")
	if session_ok && [ "$got" = "$(pmd5 1M 5 4)" ] && [ "$s1" = 402653184 ]; then
		pass "service restarted (SIGTERM, then its ExecStart again, from the saved file): session $SID recovered (the walk's one reconnect: $errs kernel error and iscsid recovery line(s): $(grep -e 'after recovery' -e 'requests logout' /tmp/iscsid.log | sed 's/.*connection[0-9:]* //' | tr '\n' ';')), LUN 2 kept its data, LUN 1 is 384 MiB"
	else
		bad "after the restart: session $(grep 'Session State' $st/sess | tr -s ' '), LUN 2 md5 $got, LUN 1 $s1 bytes"
	fi
	x mount -t ext4 "/dev/$DEV0" /mnt/busy && x umount /mnt/busy
	x e2fsck -fn "/dev/$DEV0" && x mount -t ext4 "/dev/$DEV0" /mnt/busy &&
		(cd /mnt/busy && md5sum -c $st/check >>"$log" 2>&1) &&
		pass "after the restart: e2fsck -fn of LUN 0 clean, the $checked files match" ||
		bad "after the restart: fsck or checksums of LUN 0"
	umount /mnt/busy 2>/dev/null
else
	bad "the host did not restart the service (got '$answer')"
fi

# --- 9. logout -------------------------------------------------------------------------------
x iscsiadm -m node -T "$TARGET" -p "$PORTAL" --logout && pass "logout" || bad "logout"
echo "$npass passed, $nfail failed, 0 skipped"
