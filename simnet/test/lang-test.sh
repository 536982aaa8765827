#!/usr/bin/env bash
# The scenario language refuses what it cannot send as written (part of
# make import-test): each case is a small scenario that must stop with a
# syntax error (exit 2) naming the line and why, or run.
#   - `cdb HEX` of 33 bytes: at most 32 (16 in the BHS, 16 in an Extended
#     CDB AHS; lane dupcmd19: the 33rd byte was cut silently before);
#   - `cdb HEX` of exactly 32 bytes runs (refused by the target: INVALID
#     COMMAND OPERATION CODE);
#   - `hold` with `cmdsn=dup` (a held command takes its own CmdSN).
set -uo pipefail
cd "$(dirname "$0")/../.."
SIM=${SIM:-build/utarget-sim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "lang-test: ok: $*"; pass=$((pass + 1)); }
bad() { echo "lang-test: FAIL: $*"; fail=$((fail + 1)); }
head='lun 0 disk0 size=1M
initiator A
A login
A tur expect sense=6/29'
# refused: the scenario's last line, the message it must give
refused() {
	printf '%s\n%s\n' "$head" "$1" >"$tmp/t.scn"
	out=$("$SIM" run "$tmp/t.scn" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -q "t.scn:5: syntax: $2" <<<"$out"; then
		ok "refused: $1"
	else
		bad "not refused with \"$2\" (exit $rc): $1: $out"
	fi
}
runs() {
	printf '%s\n%s\n' "$head" "$1" >"$tmp/t.scn"
	if out=$("$SIM" run "$tmp/t.scn" 2>&1); then
		ok "runs: $1"
	else
		bad "does not run: $1: $out"
	fi
}
c32=7f00000000000018000900000000000000000000000000000000000000000001
refused "A cdb ${c32}00 expect any" "cdb HEX: at most 32 bytes"
refused "A cdb ${c32}${c32} expect any" "cdb HEX: at most 32 bytes"
runs "A cdb $c32 in=512 expect sense=5/20/00"
refused "A read lba=0 blocks=1 hold cmdsn=dup & expect none" \
	"hold and cmdsn= do not go together"
echo "lang-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
