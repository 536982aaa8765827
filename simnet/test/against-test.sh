#!/usr/bin/env bash
# simnet/test/against-test.sh [tgt|utarget|both] [FILE.scn...] — the
# scenario set run with `utarget-sim run --against ... --compare` against a
# real target on a free 127.0.0.1 port:
#
#   tgt      Debian's tgtd (1.0.85 here), one daemon for the whole set,
#            a fresh target per scenario: the scenario's `lun` lines as
#            LUNs 1.. on sparse files (tgt's LUN 0 is its controller, so
#            the URL ends in /1), its `param` lines as target parameters,
#            its IncomingUser/OutgoingUser lines as CHAP accounts;
#   utarget  build/utarget, a fresh daemon per scenario with the same LUNs
#            (mem:) and parameters: the control.  Its answers over real
#            TCP must be the simulated utarget's answers.
#
# Each run's report (SKIP/NOTE/DIFF lines and the table of answers that
# differ) goes to $OUT/against-TARGET/NAME.txt, the tables of all of them
# to $OUT/against-TARGET.txt.  Checks (each can fail):
#   - every scenario runs to its end against both (no syntax error, no
#     hang: each run has a time limit);
#   - against the utarget daemon, every scenario whose lines all ran
#     (nothing skipped but `target stats`, which changes nothing) gives
#     the simulated utarget's answers, answer for answer;
#   - against tgt, the scenarios of simnet/test/against/tgt-same.txt give
#     utarget's answers, and every difference of
#     simnet/test/against/tgt-known.txt is found (docs/differential.md
#     says what each is and who is right).  Differences that depend on
#     timing (races the skipped disk latencies decided in the simulator)
#     are in neither list.
# Needs root (tgtd's control socket is in /var/run/tgtd).  The daemons
# are killed when the script ends, and tgtd runs under timeout(1).
set -uo pipefail
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
sim=${SIM:-$top/build/utarget-sim}
utarget=${UTARGET:-$top/build/utarget}
out=${OUT:-$top/build}
which=${1:-both}
shift || true
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$top"/scenarios/*.scn)
known=$top/simnet/test/against/tgt-known.txt
same_list=$top/simnet/test/against/tgt-same.txt
# the simulator's own target name when a scenario names none
default_iqn=iqn.2026-11.org.utarget:sim
run_limit_s=${AGAINST_RUN_LIMIT_S:-120}
pass=0
fail=0
tmp=$(mktemp -d)
pids=()
cleanup() {
	# a daemon under timeout(1) is its child: both go
	for p in "${pids[@]}"; do
		pkill -9 -P "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "against-test: ok: $*"; pass=$((pass + 1)); }
bad() { echo "against-test: FAIL: $*"; fail=$((fail + 1)); }

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
free_ctl() { # a tgtd control number nobody uses
	local c
	while :; do
		c=$((1000 + RANDOM % 30000))
		[ -e "/var/run/tgtd/socket.$c" ] || { echo "$c"; return; }
	done
}
wait_port() { # PORT PID
	for _ in $(seq 100); do
		ss -Htln "sport = :$1" | grep -q . && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# The scenario's LUNs, one "N SIZE BLOCK RO THIN" line each (16M LUN 0
# when it declares none, as the runner does).
luns_of() {
	awk '$1 == "lun" {
		size = "16M"; block = 512; ro = 0; thin = 0
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^size=/) size = substr($i, 6)
			else if ($i ~ /^block=/) block = substr($i, 7)
			else if ($i == "ro") ro = 1
			else if ($i == "thin") thin = 1
		}
		print $2, size, block, ro, thin; n++
	}
	END { if (!n) print 0, "16M", 512, 0, 0 }' "$1"
}
# The scenario's target name (`target IQN`), and its `target add IQN`s.
iqn_of() {
	awk -v dflt="$2" '$1 == "target" && NF == 2 && $2 ~ /^(iqn|eui|naa)\./ { print $2; found = 1; exit }
		END { if (!found) print dflt }' "$1"
}
extra_iqns_of() { awk '$1 == "target" && $2 == "add" { print $3 }' "$1"; }
# KEY VALUE lines of its `param` lines.
params_of() {
	awk '$1 == "param" { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); print kv[1], kv[2] } }' "$1"
}

# run_one TARGET FILE URL: the compare run, its report kept.
run_one() {
	local target=$1 f=$2 url=$3 name rc
	name=$(basename "$f" .scn)
	mkdir -p "$out/against-$target"
	timeout -s KILL "$run_limit_s" "$sim" run "$f" --against "$url" \
		--compare >"$out/against-$target/$name.txt" 2>&1
	rc=$?
	if [ $rc -ge 2 ]; then
		bad "$target: $name: the run did not end normally (exit $rc): $(tail -2 "$out/against-$target/$name.txt" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# The table rows of a report, each prefixed by the scenario's name.
rows_of() { # NAME REPORT
	sed -n '/^--- answers that differ/,/^compare:/p' "$2" |
		sed -e '1d' -e '$d' | sed "s/^/$1 /"
}

# The rows that are not identity: an INQUIRY answer whose only difference
# is its bytes' CRC is the vendor and product names (the simulated LUNs
# are "UTARGET utarget sim", the daemon's its defaults).
behaviour_rows() {
	awk -F'|' '{
		split($1, w, " ")
		a = $2; b = $3
		if (w[4] == "inquiry") { gsub(/ crc [0-9a-f]+/, "", a); gsub(/ crc [0-9a-f]+/, "", b) }
		gsub(/^ +| +$/, "", a); gsub(/^ +| +$/, "", b)
		if (a != b) print
	}'
}

# --- tgt ---------------------------------------------------------------
run_tgt() {
	local port ctl tid=0 pid f name url
	command -v tgtd >/dev/null || { bad "tgtd missing (apt-get install tgt)"; return; }
	[ "$(id -u)" = 0 ] || { bad "tgtd needs root"; return; }
	mkdir -p /var/run/tgtd
	port=$(free_port)
	# tgtd's control "port" names its socket (/var/run/tgtd/socket.N) and
	# must be below 32768
	ctl=$(free_ctl)
	# tgtd does not stop on SIGTERM while it serves a target: KILL, at
	# the latest when the limit of the whole set is over.
	timeout -s KILL 1800 tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$port" \
		>"$tmp/tgtd.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_port "$port" "$pid" || { bad "tgtd did not start: $(tail -3 "$tmp/tgtd.log")"; return; }
	local adm=(tgtadm -C "$ctl" --lld iscsi)
	mkdir -p "$out"
	: >"$out/against-tgt.txt"
	for f in "${files[@]}"; do
		name=$(basename "$f" .scn)
		tid=$((tid + 1))
		local iqn x=0
		iqn=$(iqn_of "$f" "$default_iqn")
		"${adm[@]}" --op new --mode target --tid $tid -T "$iqn" || { bad "tgtadm: new target"; continue; }
		# more targets, without LUNs: for SendTargets
		while read -r xiqn; do
			x=$((x + 1))
			"${adm[@]}" --op new --mode target --tid $((10000 + x)) -T "$xiqn" &&
				"${adm[@]}" --op bind --mode target --tid $((10000 + x)) -I ALL
		done < <(extra_iqns_of "$f")
		while read -r n size block ro thin; do
			truncate -s "$size" "$tmp/tgt-$tid-$n.img"
			"${adm[@]}" --op new --mode logicalunit --tid $tid \
				--lun $((n + 1)) --bstype rdwr -b "$tmp/tgt-$tid-$n.img" \
				--blocksize "$block" || bad "tgtadm: lun $n of $name"
			[ "$ro" = 1 ] && "${adm[@]}" --op update --mode logicalunit --tid $tid \
				--lun $((n + 1)) --params readonly=1
			[ "$thin" = 1 ] && "${adm[@]}" --op update --mode logicalunit --tid $tid \
				--lun $((n + 1)) --params thin_provisioning=1
		done < <(luns_of "$f")
		while read -r k v; do
			"${adm[@]}" --op update --mode target --tid $tid --name "$k" \
				--value "$v" 2>/dev/null ||
				echo "NOTE: tgt has no target parameter $k" >>"$tmp/notes.$tid"
		done < <(params_of "$f")
		# CHAP of normal sessions: IncomingUser/OutgoingUser NAME SECRET
		# (tgt has no CHAP for discovery sessions: those lines are not
		# given to it)
		while read -r kind uname secret; do
			"${adm[@]}" --mode account --op new --user "$uname" --password "$secret" 2>/dev/null
			if [ "$kind" = OutgoingUser ]; then
				"${adm[@]}" --mode account --op bind --tid $tid --user "$uname" --outgoing
			else
				"${adm[@]}" --mode account --op bind --tid $tid --user "$uname"
			fi
		done < <(awk '$1 == "IncomingUser" || $1 == "OutgoingUser" { print $1, $2, $3 }' "$f")
		"${adm[@]}" --op bind --mode target --tid $tid -I ALL
		url=iscsi://127.0.0.1:$port/$iqn/1
		run_one tgt "$f" "$url" && rows_of "$name" "$out/against-tgt/$name.txt" >>"$out/against-tgt.txt"
		[ -e "$tmp/notes.$tid" ] && cat "$tmp/notes.$tid" >>"$out/against-tgt/$name.txt"
		"${adm[@]}" --op delete --mode target --tid $tid --force >/dev/null 2>&1
		for ((; x > 0; x--)); do
			"${adm[@]}" --op delete --mode target --tid $((10000 + x)) --force >/dev/null 2>&1
		done
		while read -r uname; do
			"${adm[@]}" --mode account --op delete --user "$uname" >/dev/null 2>&1
		done < <(awk '$1 == "IncomingUser" || $1 == "OutgoingUser" { print $2 }' "$f")
		rm -f "$tmp"/tgt-$tid-*.img
	done
	pkill -9 -P "$pid" 2>/dev/null
	kill -9 "$pid" 2>/dev/null
	ok "tgt: $(wc -l <"$out/against-tgt.txt") answers differ over ${#files[@]} scenarios ($out/against-tgt.txt)"
	local name_ n_same=0 n_known=0 row
	while read -r name_; do
		case $name_ in '' | '#'*) continue ;; esac
		[ -e "$out/against-tgt/$name_.txt" ] || continue
		if grep -q '^compare: 0 answers differ' "$out/against-tgt/$name_.txt"; then
			n_same=$((n_same + 1))
		else
			bad "tgt: $name_: expected tgt's answers to be utarget's:"
			rows_of "$name_" "$out/against-tgt/$name_.txt" | sed 's/^/    /'
		fi
	done <"$same_list"
	# a known row: NAME LINE ACTOR VERB | utarget's answer | tgt's answer
	# (spaces squeezed, CRCs left out)
	local squeeze='s/ crc [0-9a-f]*//g; s/  */ /g'
	sed "$squeeze" "$out/against-tgt.txt" >"$tmp/tgt-rows.txt"
	while IFS= read -r row; do
		case $row in '' | '#'*) continue ;; esac
		[ -e "$out/against-tgt/${row%% *}.txt" ] || continue
		if grep -qxF -- "$row" "$tmp/tgt-rows.txt"; then
			n_known=$((n_known + 1))
		else
			bad "tgt: a known difference was not found: $row"
		fi
	done < <(sed "$squeeze" "$known")
	ok "tgt: $n_same scenarios gave utarget's answers, $n_known known differences found"
}

# --- utarget (the control) ---------------------------------------------
run_utarget() {
	local f name port pid url specs n size block ro thin spec iqn xiqn same=0
	[ -x "$utarget" ] || { bad "no $utarget (make)"; return; }
	mkdir -p "$out"
	: >"$out/against-utarget.txt"
	for f in "${files[@]}"; do
		name=$(basename "$f" .scn)
		specs=()
		while read -r n size block ro thin; do
			spec=mem:$size,blocksize=$block
			[ "$ro" = 1 ] && spec+=,ro
			[ "$thin" = 1 ] && spec+=,thin
			specs+=(--lun "$spec")
		done < <(luns_of "$f")
		# parameters and discovery CHAP users at the driver level, the
		# target's CHAP users in its block (docs/configuration.md)
		local conf=$tmp/ut.conf
		iqn=$(iqn_of "$f" "$default_iqn")
		(
			umask 077
			echo "TARGET_DRIVER iscsi {"
			params_of "$f" | sed 's/^/\t/'
			awk '$1 == "discovery" && $2 ~ /User$/ { print "\t" $2 " \"" $3 " " $4 "\"" }' "$f"
			echo "	TARGET $iqn {"
			awk '$1 ~ /^(Incoming|Outgoing)User$/ { print "\t\t" $1 " \"" $2 " " $3 "\"" }' "$f"
			echo "	}"
			extra_iqns_of "$f" | while read -r xiqn; do
				printf '\tTARGET %s {\n\t}\n' "$xiqn"
			done
			echo "}"
		) >"$conf"
		# a free port may be taken by someone else before we listen: try
		# another
		for _ in 1 2 3 4 5; do
			port=$(free_port)
			"$utarget" -c "$conf" --listen "127.0.0.1:$port" --control none \
				"${specs[@]}" >"$tmp/ut.log" 2>&1 &
			pid=$!
			pids+=("$pid")
			wait_port "$port" "$pid" && break
			grep -q "Address already in use" "$tmp/ut.log" || break
		done
		if ! kill -0 "$pid" 2>/dev/null; then
			bad "utarget did not start for $name: $(tail -3 "$tmp/ut.log")"
			continue
		fi
		url=iscsi://127.0.0.1:$port/$iqn
		if run_one utarget "$f" "$url"; then
			rows_of "$name" "$out/against-utarget/$name.txt" >>"$out/against-utarget.txt"
			if ! grep '^SKIP' "$out/against-utarget/$name.txt" | grep -qv ': target stats: '; then
				if [ -z "$(rows_of "$name" "$out/against-utarget/$name.txt" | behaviour_rows)" ]; then
					same=$((same + 1))
				else
					bad "utarget: $name: the daemon answers otherwise than the simulated utarget:"
					rows_of "$name" "$out/against-utarget/$name.txt" | sed 's/^/    /'
				fi
			fi
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ok "utarget: $same scenarios without skipped lines gave the simulated utarget's answers over TCP"
}

# --- the command line --------------------------------------------------
# Malformed URLs are refused (exit 2), a refused connection is a failed
# run (exit 1), not a hang; an IPv6 portal works.
run_cli() {
	local f=$top/scenarios/immediate_and_unsolicited_data_out.scn u rc port pid
	for u in http://127.0.0.1/iqn.x:y iscsi://127.0.0.1:1/ iscsi://[::1/iqn.x:y \
		iscsi://127.0.0.1/iqn.x:y/abc iscsi:///iqn.x:y; do
		timeout 20 "$sim" run "$f" --against "$u" >"$tmp/cli.txt" 2>&1
		rc=$?
		[ $rc -eq 2 ] && grep -q 'expected iscsi://HOST' "$tmp/cli.txt" ||
			bad "cli: --against $u: exit $rc, expected 2 and a usage line"
	done
	timeout 20 "$sim" run "$f" --compare >/dev/null 2>&1
	[ $? -eq 2 ] || bad "cli: --compare without --against was not refused"
	port=$(free_port)
	timeout 30 "$sim" run "$f" --against "iscsi://127.0.0.1:$port/iqn.x:y" >"$tmp/cli.txt" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q '^FAIL .*login' "$tmp/cli.txt" ||
		bad "cli: a refused connection: exit $rc: $(head -c 300 "$tmp/cli.txt")"
	if [ -x "$utarget" ]; then
		port=$(free_port)
		"$utarget" --listen "[::1]:$port" --control none --target "$default_iqn" \
			--lun mem:8M >"$tmp/ut6.log" 2>&1 &
		pid=$!
		pids+=("$pid")
		if wait_port "$port" "$pid"; then
			# --compare: the daemon over TCP answers as utarget in the
			# simulator, and the table is empty
			timeout 60 "$sim" run "$f" --against "iscsi://[::1]:$port/$default_iqn" \
				--compare >"$tmp/cli.txt" 2>&1 &&
				grep -q '^compare: 0 answers differ (9 answers from utarget, 9 from' "$tmp/cli.txt" ||
				bad "cli: --compare over IPv6: $(tail -3 "$tmp/cli.txt" | tr '\n' ' ')"
		else
			echo "against-test: no IPv6 loopback here: $(tail -1 "$tmp/ut6.log")"
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ $fail -eq 0 ] && ok "cli: bad URLs refused, a refused connection fails the run, --compare with the daemon over IPv6"
}

case $which in
tgt) run_cli; run_tgt ;;
utarget) run_cli; run_utarget ;;
both) run_cli; run_utarget; run_tgt ;;
cli) run_cli ;;
*) echo "usage: $0 [tgt|utarget|both|cli] [FILE.scn...]" >&2; exit 2 ;;
esac
echo "against-test: $pass passed, $fail failed"
[ $fail -eq 0 ]
