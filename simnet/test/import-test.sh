#!/usr/bin/env bash
# make import-test: `utarget-sim import` on the committed captures
# (simnet/test/import/, made by capture.sh: libiscsi's tools against tgt
# 1.0.85 and against utarget, on loopback; kernel-utarget.pcap: the Linux
# kernel initiator of make interop against utarget, kernel-tgt.pcap the
# same against tgt, see capture.sh) and on
# the hand-made ones of
# test_import (build/test/import/, written by make unit).
#
#   - each capture imports (the target port found from the first SYN),
#     with no gap and no undecodable byte;
#   - --loose: the scenario passes in the simulator against utarget (the
#     same statuses as both captured targets gave);
#   - --exact: the answers that differ are exactly the ones listed in
#     simnet/test/import/*.diffs (what differs between tgt, or utarget's
#     daemon on a file, and utarget in the simulator; docs/scenarios.md
#     says why each one does);
#   - a capture with a gap says so in the scenario's header.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIM=${SIM:-build/utarget-sim}
dir=simnet/test/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "import-test: ok: $*"; pass=$((pass + 1)); }
bad() { echo "import-test: FAIL: $*"; fail=$((fail + 1)); }

for cap in "$dir"/tgt-libiscsi.pcap "$dir"/utarget-libiscsi.pcapng \
	"$dir"/kernel-utarget.pcap "$dir"/kernel-tgt.pcap; do
	name=$(basename "${cap%.*}")
	if "$SIM" import "$cap" --loose >"$tmp/$name.loose.scn" 2>"$tmp/$name.err"; then
		ok "$name: imported ($(tail -1 "$tmp/$name.err" | sed 's/^utarget-sim import: //'))"
	else
		bad "$name: import failed: $(cat "$tmp/$name.err")"
		continue
	fi
	grep -q ' 0 gaps (0 bytes)' "$tmp/$name.loose.scn" && ! grep -q 'no whole PDU' "$tmp/$name.err" &&
		ok "$name: no gap, every byte a PDU" || bad "$name: gaps or undecodable bytes"
	if out=$("$SIM" run "$tmp/$name.loose.scn"); then
		ok "$name --loose replays against utarget: $(head -1 <<<"$out" | cut -c1-100)"
	else
		bad "$name --loose: $out"
	fi
	"$SIM" import "$cap" --exact >"$tmp/$name.exact.scn" 2>/dev/null
	"$SIM" run "$tmp/$name.exact.scn" --keep-going | sed -n 's/^DIFF [^:]*:/line /p' |
		sed 's/ (seed [0-9]*)//' >"$tmp/$name.diffs" || true
	if diff -u "$dir/$name.diffs" "$tmp/$name.diffs" >"$tmp/d"; then
		ok "$name --exact: the $(wc -l <"$tmp/$name.diffs") known differences, no other"
	else
		bad "$name --exact: differences changed:"
		cat "$tmp/d"
	fi
done

gap=build/test/import/gap.pcap
if [ -f "$gap" ]; then
	"$SIM" import "$gap" >"$tmp/gap.scn" 2>"$tmp/gap.err" || true
	grep -q "200 bytes missing from the capture" "$tmp/gap.err" &&
		ok "a gap is reported: $(grep -m1 'missing' "$tmp/gap.err")" ||
		bad "the gap of $gap is not reported: $(cat "$tmp/gap.err")"
else
	echo "import-test: (no $gap: make unit writes it)"
fi
echo "import-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
