#!/usr/bin/env bash
# make coverage: how much of target/ everything we run reaches.
#   ci/coverage.sh [STEP...]     steps: unit scenarios explore daemon
#                                control conformance rbd fuzz (default:
#                                all; rbd where ceph-mon is installed)
# Builds the target, its unit tests, the daemon and the simulator with
# gcc --coverage into build/cov, zeroes the counters, runs each step,
# replays the fuzz corpora through the gcc --coverage fuzz builds
# (build/fuzz/cov, as fuzz/coverage does), then merges both with lcov and
# renders HTML into build/coverage/.  Prints line, function and branch
# coverage of target/ (env_real/ included, target/test/ excluded) and
# the part each step alone reaches (build/coverage/steps.txt).
# The sources must not change while it runs (a rebuilt object no longer
# matches the counters of a binary built before it): run it in a tree of
# its own.  -O1 rather than -O0: the explore and conformance steps run
# several times faster, and lines stay attributed.
# COVERAGE_SEEDS: explore seeds (default 2000).  COVERAGE_KEEP=1 keeps
# the counters of an earlier run (to add a step to it).  Needs lcov.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
cov=build/cov
fz=build/fuzz/cov
out=build/coverage
seeds=${COVERAGE_SEEDS:-2000}
steps=${*:-unit scenarios explore daemon control conformance rbd fuzz}
command -v lcov >/dev/null || { echo "coverage: lcov is not installed (apt-get install lcov)"; exit 2; }
rc_br=(--rc lcov_branch_coverage=1)
mk() {
	nice -n 10 make --no-print-directory -j2 BUILD=$cov \
		EXTRA_CFLAGS="-O1 --coverage -DUT_COVERAGE" \
		EXTRA_LDFLAGS="--coverage" "$@"
}
echo "coverage: building target/, tests, daemon and simulator with --coverage in $cov"
mk all $cov/utarget-sim >/dev/null || {
	echo "coverage: the --coverage build failed"; exit 2; }
mkdir -p "$out"
rm -f "$out"/step-*.info
# build/cov/test: a unit test that includes a target/ source (test_pdu.c
# includes crc32c.c) counts it in its own object (captured with the unit
# step's counters).
mkdir -p "$cov/test"
[ -n "${COVERAGE_KEEP:-}" ] || lcov -q --zerocounters -d "$cov/obj" -d "$cov/test"

# capture NAME: the counters so far, as the cumulative NAME.info.
capture() {
	local dirs=(-d "$cov/obj")
	[ "$1" = unit ] && dirs+=(-d "$cov/test")
	lcov -q --capture "${dirs[@]}" -b "$root" -o "$out/step-$1.info" \
		"${rc_br[@]}" >/dev/null 2>&1
}

# A step whose programs wrote no counters measured nothing (a binary
# not of this build, a daemon killed before exit): that fails the run.
silent=""
for s in $steps; do
	t0=$(date +%s)
	touch "$out/.stamp"
	case $s in
	unit)
		mk unit | tail -n 1 ;;
	scenarios)
		n=0 f_=0
		for f in scenarios/*.scn scenarios/regress/*.scn; do
			if nice -n 10 $cov/utarget-sim run "$f" >/dev/null 2>&1; then
				n=$((n + 1))
			else
				f_=$((f_ + 1)); echo "coverage: scenario $f failed"
			fi
		done
		echo "scenarios: $n passed, $f_ failed" ;;
	explore)
		nice -n 10 $cov/utarget-sim explore --seeds "$seeds" --start 1 \
			--jobs 2 --out "$out/failures" 2>/dev/null | tail -n 1 ;;
	daemon)
		# its initiators (ut-io, ut-hostile) are not target code
		nice -n 10 make --no-print-directory build/ut-io build/ut-hostile >/dev/null
		UTARGET=$root/$cov/utarget nice -n 10 conformance/daemon-test 2>&1 |
			tail -n 2 ;;
	control)
		# utargetctl and live reconfiguration under I/O (the control
		# socket, reconfig.c, ctl.c); its tools are not target code
		nice -n 10 make --no-print-directory build/utargetctl build/ut-live \
			build/bench/ut-load >/dev/null
		UTARGET=$root/$cov/utarget nice -n 10 conformance/control-test 2>&1 |
			tail -n 2 ;;
	conformance)
		UTARGET=$root/$cov/utarget nice -n 10 conformance/run 2>&1 |
			tail -n 3 ;;
	rbd)
		# The remote backstores (env_real/disk_rbd.c, tcmu_api.c,
		# disk_tcmu.c, open_async.c) against make test-rbd's
		# throw-away Ceph cluster and tcmu-runner's plugins; skipped
		# where ceph-mon is not installed (rbd/test's own deps).
		if ! command -v ceph-mon >/dev/null ||
			[ ! -d /usr/lib/$(gcc -print-multiarch)/tcmu-runner ]; then
			echo "coverage: step rbd skipped (no ceph-mon or tcmu-runner; apt-get install ceph-mon ceph-osd tcmu-runner)"
			continue
		fi
		nice -n 10 make --no-print-directory build/ut-io build/ut-outage \
			build/ut-live build/utargetctl >/dev/null
		UTARGET=$root/$cov/utarget nice -n 10 rbd/test 2>&1 |
			tail -n 1 ;;
	fuzz)
		# The corpora run through their own gcc --coverage builds.
		nice -n 10 make --no-print-directory -j2 \
			$(for h in config scsi login pdu_stream control; do echo $fz/bin/$h; done) >/dev/null ||
			{ echo "coverage: fuzz cov build failed"; continue; }
		nice -n 10 fuzz/coverage $fz "$out/fuzz" config scsi login pdu_stream control |
			grep -v '^coverage: report' | sed 's/^/fuzz alone: /' ;;
	*)
		echo "coverage: unknown step $s"; exit 2 ;;
	esac
	capture "$s"
	d=$cov/obj
	[ "$s" = fuzz ] && d=$fz
	n=$(find "$d" -name '*.gcda' -newer "$out/.stamp" | wc -l)
	[ "$n" -gt 0 ] || { echo "coverage: step $s wrote no counters"; silent="$silent $s"; }
	echo "coverage: step $s done ($(($(date +%s) - t0)) s, $n counter files)"
done
rm -f "$out/.stamp"

# Merge: the simulator/daemon/test build and the fuzz build.
set --
for i in "$out"/step-*.info "$out/fuzz/all.info"; do
	[ -s "$i" ] && set -- "$@" -a "$i"
done
last=""
for s in $steps; do
	[ "$s" != fuzz ] && [ -s "$out/step-$s.info" ] && last=$s
done
args=()
[ -n "$last" ] && [ -s "$out/step-$last.info" ] && args+=(-a "$out/step-$last.info")
# the unit step's alone holds build/cov/test's counters
[ "$last" != unit ] && [ -s "$out/step-unit.info" ] && args+=(-a "$out/step-unit.info")
[ -s "$out/fuzz/all.info" ] && args+=(-a "$out/fuzz/all.info")
lcov -q "${args[@]}" -o "$out/all.info" "${rc_br[@]}" 2>/dev/null
lcov -q --extract "$out/all.info" "$root/target/*" -o "$out/target.info" "${rc_br[@]}" 2>/dev/null
lcov -q --remove "$out/target.info" "$root/target/test/*" -o "$out/target.info" "${rc_br[@]}" 2>/dev/null
genhtml -q --branch-coverage --title "utarget: coverage of target/ by unit tests, scenarios, explore, daemon tests, conformance and fuzz corpora" \
	-o "$out" "$out/target.info" 2>/dev/null
# What each step had reached by itself (cumulative, in the order run).
: >"$out/steps.txt"
for s in $steps; do
	i=$out/step-$s.info
	[ "$s" = fuzz ] && i=$out/fuzz/target.info
	[ -s "$i" ] || continue
	lcov -q --extract "$i" "$root/target/*" -o "$out/x.info" "${rc_br[@]}" 2>/dev/null
	lcov -q --remove "$out/x.info" "$root/target/test/*" -o "$out/x.info" "${rc_br[@]}" 2>/dev/null
	printf '%-12s %s\n' "$s" "$(lcov --summary "$out/x.info" "${rc_br[@]}" 2>&1 |
		grep -E 'lines|branches' | sed 's/\.*:/:/' | tr -s ' ' | tr '\n' ' ')" >>"$out/steps.txt"
done
rm -f "$out/x.info"
echo "coverage: cumulative after each step (fuzz: the corpora alone):"
sed 's/^/  /' "$out/steps.txt"
echo "coverage of target/ (env_real/ included, target/test/ excluded):"
lcov --summary "$out/target.info" "${rc_br[@]}" 2>&1 | grep -E 'lines|functions|branches'
# The branches of a line holding an assertion include its failing side,
# never taken while the target is right (ut_assert.h): how many of the
# branches not reached are those, and the figure of the others.
echo "coverage: branches on lines with an assertion, and the others:"
awk '
	/^SF:/ { f = substr($0, 4); n = 0; delete src
		while ((getline l < f) > 0) src[++n] = l; close(f) }
	/^BRDA:/ { split(substr($0, 6), a, ","); hit = a[4] != "-" && a[4] != "0"
		if (src[a[1]] ~ /(ut_assert[a-z_]*|ut_unreachable|assert)[ \t]*\(/) {
			at++; ah += hit
		} else { ot++; oh += hit } }
	END { printf "  on assertion lines: %d of %d reached (%d not)\n", ah, at, at - ah
		printf "  elsewhere: %.1f%% (%d of %d)\n", ot ? 100 * oh / ot : 100, oh, ot }' \
	"$out/target.info"
# Per file: lines and branches not reached, the largest gaps first.
awk -F'[:,]' -v root="$root/" '
	/^SF:/ { f = substr($0, 4); sub(root, "", f); lf = lh = bf = bh = 0 }
	/^LF:/ { lf = $2 } /^LH:/ { lh = $2 }
	/^BRF:/ { bf = $2 } /^BRH:/ { bh = $2 }
	/^end_of_record/ { printf "%6d %6d %6.1f%% %6.1f%%  %s\n", lf - lh,
		bf - bh, lf ? 100 * lh / lf : 100, bf ? 100 * bh / bf : 100, f }' \
	"$out/target.info" | sort -k1,1nr -k2,2nr >"$out/files.txt"
echo "coverage: largest gaps (lines and branches not reached, lines %, branches %; all in $out/files.txt):"
head -n 15 "$out/files.txt" | sed 's/^/  /'
echo "coverage: report in $out/index.html"
if [ -n "$silent" ]; then
	echo "coverage: FAIL: step(s)$silent wrote no counters"
	exit 1
fi
