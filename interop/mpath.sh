# interop/mpath.sh — the multipath steps of interop/checks.sh (sourced;
# POSIX sh): dm-multipath with the ALUA prioritizer over two paths to one
# target, through two portal groups (ALUA target port groups "east", 1,
# active/optimized and preferred; "west", 2, active/non-optimized).
#
# $MPATH is "ADDR:PORT,ADDR:PORT": path A (portal group 1) and path B
# (portal group 2), each through a proxy on the host that stalls or resets
# it on request.  The host does two things for us over $INTEROP_CTL:
#   @FAULT stall|rst|pass 1|2   -> @FAULTED   (the proxy, per path)
#   @ALUA TARGET_GROUP STATE    -> @ALUA-DONE (utargetctl alua set)
#
# The story: one map with two paths whose priorities follow ALUA (50 and
# 10); ext4 on it; path A stops answering, then resets: writes go on
# through B (whose group the kernel's ALUA handler makes optimized with a
# SET TARGET PORT GROUPS of its own); A comes back and carries I/O again;
# sg_stpg makes B optimized and A non-optimized: I/O moves to B only; B
# stops answering: writes go on through A; B comes back and carries I/O
# again; utargetctl sets A optimized and B non-optimized: I/O on A only.
# The checksums of everything written are checked after each step.

MP_CONF=/etc/multipath.conf
MP_MNT=/mnt/mpath

# mp_fail MESSAGE: fail, with what multipath saw in the log.  Names the
# open-iscsi 2.1.8 reopen bug when iscsid's log shows it (see
# tools/ut-faultproxy.c: a path then never comes back, whatever the target
# does).
mp_fail() {
	if grep -q "can't bind conn .* retcode -107" /tmp/iscsid.log 2>/dev/null; then
		set -- "$* (iscsid: \"can't bind conn ... retcode -107\" in a loop: open-iscsi 2.1.8's reopen bug, fixed upstream by 9f20745)"
	fi
	{
		echo "--- multipath -ll; multipathd show paths; its log"
		multipath -ll 2>&1
		multipathd show paths format "%d %p %t %T %s" 2>&1
		tail -n 40 /tmp/multipathd.log
		echo "--- iscsid's log"
		tail -n 60 /tmp/iscsid.log
		echo "--- the kernel's"
		dmesg | tail -n 30
	} >&2
	fail "$@"
}

# mp_ask MESSAGE ANSWER: one request to the host; fails without an answer.
mp_ask() {
	[ -n "${INTEROP_CTL:-}" ] || skip "no host helper (INTEROP_CTL) for '$1'"
	echo "$1" >"$INTEROP_CTL"
	ack=
	read -r -t 30 ack <"$INTEROP_CTL"
	[ "$ack" = "$2" ] || fail "the host did not do '$1' (got '$ack')"
}

# mp_paths: "DEV PRIO DMSTATE CHECKER" per path of the map, from multipathd.
mp_paths() {
	multipathd show paths format "%d %p %t %T" 2>/dev/null | awk 'NR > 1'
}

# mp_path DEV: that path's line.
mp_path() { mp_paths | awk -v d="$1" '$1 == d'; }

# mp_now: seconds since boot.
mp_now() { cut -d' ' -f1 /proc/uptime; }

# mp_wait SECONDS CONDITION: poll the shell condition until it holds or
# SECONDS have passed (by the clock: a poll may itself take a while).
mp_wait() {
	end=$(echo "$(mp_now) $1" | awk '{ print $1 + $2 }')
	while :; do
		eval "$2" && return 0
		[ "$(echo "$(mp_now) $end" | awk '{ print ($1 > $2) }')" = 1 ] && return 1
		sleep 0.5
	done
}

# mp_active: the path(s) of the map's active path group.
mp_active() {
	multipath -ll "$MP_NAME" 2>/dev/null | awk '
		/status=/ { act = ($0 ~ /status=active/) }
		/ [0-9]+:[0-9]+:[0-9]+:[0-9]+ / { if (act) for (i = 1; i <= NF; i++) if ($i ~ /^sd/) print $i }'
}

# mp_prio DEV: the path's priority.
mp_prio() { mp_path "$1" | awk '{ print $2 }'; }

# mp_writes DEV: write requests completed (the 5th field of its stat).
mp_writes() { awk '{ print $5 }' "/sys/block/$1/stat"; }

# mp_put NAME MIB SKIP: write MIB MiB of the pattern from SKIP MiB into the
# file system, O_DIRECT, and record its checksum.
mp_put() {
	dd if="$PATTERN" of="$MP_MNT/$1" bs=1M count="$2" skip="$3" \
		oflag=direct conv=fsync 2>/dev/null || return 1
	echo "$(pmd5 1M "$3" "$2")  $MP_MNT/$1" >>"$state/mp.md5"
}

mp_verify() {
	md5sum -c "$state/mp.md5" >&2 || fail "checksums differ: $(md5sum -c "$state/mp.md5" 2>&1 | grep -v ': OK' | head -n 3)"
}

step_mp_login() {
	[ -n "${MPATH:-}" ] || skip "no second portal (the host starts ut-faultproxy for these)"
	MP_A=${MPATH%,*} MP_B=${MPATH#*,}
	setvar MP_A "$MP_A"
	setvar MP_B "$MP_B"
	# udevd gives multipathd the device database it enumerates (it runs
	# for these checks only) and device-mapper its nodes.
	mkdir -p /run/udev /etc/udev /etc/multipath
	pidof systemd-udevd >/dev/null || x /lib/systemd/systemd-udevd --daemon --resolve-names=never ||
		fail "systemd-udevd did not start"
	cat >"$MP_CONF" <<'EOF'
defaults {
	user_friendly_names yes
	find_multipaths no
	polling_interval 1
	max_polling_interval 2
	path_checker tur
	prio alua
	path_grouping_policy group_by_prio
	failback immediate
	no_path_retry queue
}
blacklist {
	devnode "^(ram|loop|fd|md|dm-|sr|scd|st|vd)[0-9]*"
}
EOF
	for p in "$MP_A" "$MP_B"; do
		x iscsiadm -m node -o new -T "$TARGET" -p "$p" || fail "iscsiadm -m node -o new -p $p"
		# Multipath timeouts: a dead path is given up in seconds, so
		# that its I/O goes to the other path (RFC 7143 NOP-Out ping).
		for kv in node.session.timeo.replacement_timeout=5 \
			node.conn[0].timeo.noop_out_interval=2 \
			node.conn[0].timeo.noop_out_timeout=4 \
			node.conn[0].timeo.login_timeout=5; do
			x iscsiadm -m node -T "$TARGET" -p "$p" -o update -n "${kv%%=*}" -v "${kv#*=}" ||
				fail "iscsiadm: cannot set ${kv%%=*}"
		done
		out iscsiadm -m node -T "$TARGET" -p "$p" --login ||
			fail "login through $p: $(grep -i 'iscsiadm:' "$state/out" | tail -n 1)"
	done
	# LUN 0 through each session: its sd and sg devices.
	for p in A B; do
		eval "addr=\$MP_$p"
		sid=$(iscsiadm -m session | awk -v a="${addr}," 'index($3, a) == 1 { gsub(/[][]/, "", $2); print $2; exit }')
		[ -n "$sid" ] || fail "no session through $addr: $(iscsiadm -m session 2>&1 | tr '\n' ' ')"
		dev=$(readlink -f "/sys/class/iscsi_session/session$sid/device")
		mp_wait 20 "d=\$(ls -d $dev/target*/*:*:*:0 2>/dev/null | head -n 1); [ -n \"\$d\" ] && [ -n \"\$(ls \$d/block 2>/dev/null)\" ]" ||
			fail "no disk for LUN 0 through $addr"
		d=$(ls -d "$dev"/target*/*:*:*:0 | head -n 1)
		setvar "SD_$p" "$(ls "$d/block")"
		setvar "SG_$p" "$(ls "$d/scsi_generic")"
	done
	. "$state/env"
	x udevadm settle -t 20
	multipathd -d -s -v3 >/tmp/multipathd.log 2>&1 &
	# The map: the dm device both LUN 0 paths are slaves of.
	mp_wait 60 "[ \$(mp_paths | awk '\$1 == \"$SD_A\" || \$1 == \"$SD_B\"' | grep -c active) -eq 2 ]" ||
		fail "multipathd did not make a map of $SD_A and $SD_B: $(tail -n 3 /tmp/multipathd.log | tr '\n' ' ')"
	dm=$(ls -d /sys/block/dm-*/slaves/"$SD_A" 2>/dev/null | head -n 1 | cut -d/ -f4)
	[ -n "$dm" ] && [ -e "/sys/block/$dm/slaves/$SD_B" ] || fail "$SD_A and $SD_B are not in one map"
	name=$(cat "/sys/block/$dm/dm/name")
	x udevadm settle -t 20
	node=/dev/mapper/$name
	[ -b "$node" ] || node=/dev/$dm
	setvar MP_DM "$dm"
	setvar MP_NAME "$name"
	setvar MP_DEV "$node"
	out multipath -ll "$name"
	grep -q "hwhandler='1 alua'" "$state/out" || fail "the map has no ALUA handler: $(head -n 2 "$state/out" | tr '\n' ' ')"
	pa=$(mp_path "$SD_A" | awk '{ print $2 }')
	pb=$(mp_path "$SD_B" | awk '{ print $2 }')
	# multipath-tools' alua prioritizer: 50 active/optimized, 10
	# active/non-optimized (and 80 more for a PREF group that is not
	# optimized: the groups here have no PREF, so states alone decide).
	[ "$pa" = 50 ] && [ "$pb" = 10 ] || fail "priorities $SD_A=$pa $SD_B=$pb, want 50 and 10 (ALUA states of groups east and west)"
	[ "$(grep -c 'policy=' "$state/out")" -eq 2 ] || fail "want two path groups: $(grep policy= "$state/out" | tr '\n' ' ')"
	reason "map $name ($dm, $(sed -n 's/.*\(hwhandler=[^ ]*\).*/\1/p' "$state/out")): $SD_A via $MP_A prio $pa, $SD_B via $MP_B prio $pb, two path groups"
}

step_mp_rtpg() {
	need SG_A SG_B
	out sg_rtpg -e -d "/dev/$SG_A" || mp_fail "sg_rtpg failed: $(tail -n 1 "$state/out")"
	for want in "Implicit transition time: 10" \
		"target port group id : 0x1 , Pref=0" \
		"target port group asymmetric access state : 0x00 (active/optimized)" \
		"target port group id : 0x2 , Pref=0" \
		"target port group asymmetric access state : 0x01 (active/non optimized)"; do
		grep -qF "$want" "$state/out" || mp_fail "sg_rtpg: no '$want'"
	done
	ports=$(awk '/Relative target port ids:/ { getline; print $1 }' "$state/out" | tr '\n' ' ')
	[ "$ports" = "0x01 0x02 " ] || mp_fail "relative target ports '$ports', want 0x01 0x02"
	reason "group 0x1 active/optimized (port 0x01), group 0x2 active/non optimized (port 0x02), implicit transition time 10 s"
}

step_mp_fs() {
	need MP_DEV
	x mkfs.ext4 -q -F "$MP_DEV" || mp_fail "mkfs.ext4 $MP_DEV failed"
	mkdir -p "$MP_MNT"
	x mount "$MP_DEV" "$MP_MNT" || mp_fail "mount $MP_DEV failed"
	: >"$state/mp.md5"
	for i in 0 1 2 3; do
		mp_put "base$i" 2 $((i * 2)) || mp_fail "writing base$i failed"
	done
	sync
	mp_verify
	reason "ext4 on $MP_DEV, 8 MiB in 4 files, checksums match"
}

# mp_lose PATH(1|2) DEAD_DEV LIVE_DEV FILE SKIP: the path stops answering
# while a writer runs, then resets; the writer must finish through the
# other path with no error.
mp_lose() {
	w_live=$(mp_writes "$3")
	t0=$(cut -d' ' -f1 /proc/uptime)
	mp_ask "@FAULT stall $1" @FAULTED
	( mp_put "$4" 8 "$5"; echo $? >"$state/mp.rc" ) &
	wpid=$!
	# The initiator notices the silence (NOP-Out timeout), gives the
	# session up (replacement_timeout) and dm-multipath fails the path.
	mp_wait 60 "mp_path $2 | grep -q failed" ||
		mp_fail "$2 was not failed by multipathd after 60 s: $(mp_path "$2")"
	t1=$(cut -d' ' -f1 /proc/uptime)
	mp_ask "@FAULT rst $1" @FAULTED
	mp_wait 60 "! kill -0 $wpid 2>/dev/null" || mp_fail "the writer is still blocked 60 s after the path failed"
	wait "$wpid"
	[ "$(cat "$state/mp.rc")" = 0 ] || mp_fail "the writer failed (an I/O error reached the file system)"
	dmesg | grep -q "EXT4-fs error" && mp_fail "ext4 reported an error: $(dmesg | grep 'EXT4-fs error' | tail -n 1)"
	mp_verify
	w=$(($(mp_writes "$3") - w_live))
	[ "$w" -gt 0 ] || mp_fail "no write went through $3"
	reason "$2 failed after $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s of silence, then reset; 8 MiB written through $3 ($w write requests), checksums match"
}

# mp_back PATH DEV: the path answers again; multipathd reinstates it.
mp_back() {
	mp_ask "@FAULT pass $1" @FAULTED
	t0=$(cut -d' ' -f1 /proc/uptime)
	mp_wait 90 "mp_path $2 | grep -q 'active ready'" ||
		mp_fail "$2 not back 90 s after its path healed: $(mp_path "$2")"
	echo "$(echo "$(cut -d' ' -f1 /proc/uptime) $t0" | awk '{ printf "%.1f", $1 - $2 }')"
}

# mp_goes_to DEV OTHER FILE SKIP: once DEV's group is the active one, I/O
# written goes through DEV only.
mp_goes_to() {
	mp_wait 30 "[ \"\$(mp_active)\" = $1 ]" ||
		mp_fail "the active path group is not $1's: $(mp_active | tr '\n' ' ')"
	wd=$(mp_writes "$1")
	wo=$(mp_writes "$2")
	mp_put "$3" 4 "$4" || mp_fail "writing $3 failed"
	sync
	d=$(($(mp_writes "$1") - wd))
	o=$(($(mp_writes "$2") - wo))
	[ "$d" -gt 0 ] && [ "$o" -eq 0 ] || mp_fail "4 MiB went $d write requests through $1 and $o through $2; want all through $1"
	mp_verify
	echo "$d"
}

step_mp_lose_a() {
	need SD_A SD_B MP_DEV
	mp_lose 1 "$SD_A" "$SD_B" lose_a 8
}

# mp_used DEV FILE SKIP: DEV is in the active path group again; 4 MiB
# written through the map go (at least in part) through it.  While the
# other path was the only one, the kernel's ALUA handler (scsi_dh_alua)
# made its group active/optimized with a SET TARGET PORT GROUPS of its own
# (explicit ALUA: it activates a non-optimized group that way), so both
# groups may be optimized now and share one path group: then the I/O is
# spread over both (service-time), and DEV must carry some of it.
mp_used() {
	mp_wait 30 "mp_active | grep -qx $1" ||
		mp_fail "$1 is not in the active path group: $(mp_active | tr '\n' ' ')"
	act=$(mp_active | tr '\n' ' ')
	w0=$(mp_writes "$1")
	mp_put "$2" 4 "$3" || mp_fail "writing $2 failed"
	sync
	d=$(($(mp_writes "$1") - w0))
	[ "$d" -gt 0 ] || mp_fail "4 MiB written, none through $1 (active group: $act)"
	mp_verify
	echo "$d requests through $1 (active group: ${act% })"
}

# mp_states: the groups' states as sg_rtpg reports them, briefly.
mp_states() {
	sg_rtpg -d "/dev/$1" 2>/dev/null | awk '
		/target port group id/ { id = $6 }
		/asymmetric access state/ {
			s = $0; sub(/.*\(/, "", s); sub(/\).*/, "", s)
			printf "%sgroup %s %s", sep, id, s; sep = ", "
		}'
}

step_mp_back_a() {
	need SD_A SD_B SG_A
	dt=$(mp_back 1 "$SD_A") || exit 1
	mp_wait 20 "[ \"\$(mp_prio $SD_A)\" = 50 ]" || mp_fail "$SD_A has priority $(mp_prio "$SD_A"), want 50"
	n=$(mp_used "$SD_A" back_a 16) || exit 1
	reason "$SD_A active again $dt s after the path healed, priority 50 ($(mp_states "$SG_A")); 4 MiB: $n; checksums match"
}

step_mp_stpg() {
	need SD_A SD_B SG_B
	# SET TARGET PORT GROUPS through path B: group 1 active/non-optimized,
	# group 2 active/optimized (explicit ALUA).
	x sg_stpg --tp=1,2 --state=an,ao "/dev/$SG_B" || mp_fail "sg_stpg failed"
	out sg_rtpg -d "/dev/$SG_B"
	grep -q "0x01 (active/non optimized)" "$state/out" || mp_fail "group 1 is not active/non-optimized after sg_stpg"
	mp_wait 30 "[ \"\$(mp_prio $SD_B)\" = 50 ] && [ \"\$(mp_prio $SD_A)\" = 10 ]" ||
		mp_fail "priorities did not follow: $SD_A=$(mp_prio "$SD_A") $SD_B=$(mp_prio "$SD_B")"
	n=$(mp_goes_to "$SD_B" "$SD_A" stpg 20) || exit 1
	reason "sg_stpg: group 2 optimized, group 1 non-optimized; priorities $SD_B=50 $SD_A=10; 4 MiB through $SD_B ($n requests), none through $SD_A; checksums match"
}

step_mp_lose_b() {
	need SD_A SD_B MP_DEV
	mp_lose 2 "$SD_B" "$SD_A" lose_b 0
}

step_mp_back_b() {
	need SD_A SD_B SG_B
	dt=$(mp_back 2 "$SD_B") || exit 1
	mp_wait 20 "[ \"\$(mp_prio $SD_B)\" = 50 ]" || mp_fail "$SD_B has priority $(mp_prio "$SD_B"), want 50"
	n=$(mp_used "$SD_B" back_b 4) || exit 1
	reason "$SD_B active again $dt s after the path healed, priority 50 ($(mp_states "$SG_B")); 4 MiB: $n; checksums match"
}

step_mp_flip() {
	need SD_A SD_B
	# utargetctl on the host: an implicit transition, with ASYMMETRIC
	# ACCESS STATE CHANGED on both paths.
	mp_ask "@ALUA east active" @ALUA-DONE
	mp_ask "@ALUA west nonoptimized" @ALUA-DONE
	mp_wait 30 "[ \"\$(mp_prio $SD_A)\" = 50 ] && [ \"\$(mp_prio $SD_B)\" = 10 ]" ||
		mp_fail "priorities did not follow: $SD_A=$(mp_prio "$SD_A") $SD_B=$(mp_prio "$SD_B")"
	n=$(mp_goes_to "$SD_A" "$SD_B" flip 12) || exit 1
	reason "utargetctl alua set: east active, west nonoptimized; priorities $SD_A=50 $SD_B=10; 4 MiB through $SD_A ($n requests), none through $SD_B; checksums match"
}

step_mp_verify() {
	need MP_DEV
	x umount "$MP_MNT" || mp_fail "umount failed"
	out e2fsck -fn "$MP_DEV" || mp_fail "e2fsck: $(tail -n 2 "$state/out" | tr '\n' ' ')"
	x mount "$MP_DEV" "$MP_MNT" || mp_fail "remount failed"
	mp_verify
	x umount "$MP_MNT"
	reason "e2fsck clean; $(wc -l <"$state/mp.md5") files, every checksum matches after the remount"
}

step_mp_logout() {
	need MP_A MP_B
	x multipathd shutdown
	sleep 1
	x multipath -F
	for p in "$MP_A" "$MP_B"; do
		out iscsiadm -m node -T "$TARGET" -p "$p" --logout || mp_fail "logout from $p failed"
	done
	pkill systemd-udevd 2>/dev/null
	reason "maps flushed, both sessions logged out"
}
