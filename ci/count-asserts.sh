#!/usr/bin/env bash
# Count the target's assertions (target/ut_assert.h), per folder, so that
# the figures in docs/architecture.md can be checked.
#
#   ci/count-asserts.sh            one line per folder of target/
#   ci/count-asserts.sh --below N [DIR...]
#                                  also list the non-trivial functions with
#                                  fewer than N assertions (default 2)
#
# An assertion is one use of ut_assert(), ut_assert_slow() or
# ut_unreachable() in a .c or .h file (target/test/ excluded; the macros'
# own definitions excluded).  A function is found the kernel-style way: a
# line that is exactly "{" after a signature that begins at column 0, up
# to the line that is exactly "}".  It is non-trivial when its body holds
# more than 8 lines that are neither blank nor only a comment or a brace.
# Predicates that exist for assertions (names ending in _ok or _valid, such
# as scsi_lu_task_set_ok) are not counted as functions that need their own.
set -euo pipefail
cd "$(dirname "$0")/.."
below=0
if [ "${1:-}" = "--below" ]; then
	below=${2:-2}
	shift 2 || shift $#
fi
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	dirs=(target/iscsi target/scsi target/backstore target/config
		target/env_real target)
fi

count_dir() {
	local dir=$1 depth=()
	# target itself: its own files only (the folders have their lines).
	[ "$dir" = target ] && depth=(-maxdepth 1)
	find "$dir" "${depth[@]}" \( -name '*.c' -o -name '*.h' \) \
		-not -path 'target/test/*' -not -name ut_assert.h -print0 |
		sort -z | xargs -0 awk -v below="$below" -v dir="$dir" '
	function flush() {
		if (fn == "")
			return;
		nfn++;
		# A predicate written for an assertion (scsi_lu_task_set_ok)
		# is the body of an assertion, not a function needing its own.
		if (fn ~ /_(ok|valid)$/) {
			fn = "";
			return;
		}
		if (body > 8) {
			big++;
			if (fa >= 2)
				big2++;
			else if (below > 0 && fa < below)
				weak[nweak++] = sprintf("  %s: %s() %d lines, %d assertions",
					FILENAME, fn, body, fa);
		}
		fn = "";
	}
	FNR == 1 { flush(); sig = ""; infn = 0 }
	{
		lines++;
		line = $0;
		n1 = gsub(/ut_assert\(/, "&", line);
		n2 = gsub(/ut_assert_slow\(/, "&", line);
		n3 = gsub(/ut_unreachable\(/, "&", line);
		n4 = gsub(/(^|[^_a-z])assert\(/, "&", line);
		n5 = gsub(/_Static_assert\(|static_assert\(/, "&", line);
		a1 += n1; a2 += n2; a3 += n3; a4 += n4; a5 += n5;
		if (infn) {
			if ($0 == "}") {
				infn = 0;
				flush();
				next;
			}
			fa += n1 + n2 + n3 + n4;
			t = $0;
			sub(/^[ \t]+/, "", t);
			if (t != "" && t !~ /^(\/\*|\*|\/\/)/ && t !~ /^[{}];?$/)
				body++;
			next;
		}
		if ($0 == "{" && sig ~ /^[A-Za-z_].*\(/ && sig !~ /^(struct|enum|union|typedef)[^(]*$/ && sig !~ /=/) {
			s = sig;
			sub(/\(.*/, "", s);
			n = split(s, w, /[ \t*]+/);
			fn = w[n];
			infn = 1; fa = 0; body = 0;
			sig = "";
			next;
		}
		if ($0 ~ /^[A-Za-z_]/)
			sig = $0;
		else if ($0 ~ /^[ \t]/ && sig != "")
			sig = sig " " $0;
		else
			sig = "";
		if ($0 ~ /;[ \t]*$/ || $0 ~ /^#/)
			sig = "";
	}
	END {
		flush();
		total = a1 + a2 + a3;
		printf "%-18s %6d %5d %5d %5d %6d %6d %5d %6d %5.2f %4d %4d\n",
			dir, lines, nfn, big, big2, a1, a2, a3, total,
			lines ? 100.0 * total / lines : 0, a4, a5;
		for (i = 0; i < nweak; i++)
			print weak[i] > "/dev/stderr";
	}'
}

printf '%-18s %6s %5s %5s %5s %6s %6s %5s %6s %5s %4s %4s\n' folder lines \
	fns big big2+ assert slow unrch total /100L libc stat
for d in "${dirs[@]}"; do
	count_dir "$d"
done
cat <<'EOF'
  fns: functions; big: non-trivial (more than 8 lines of body); big2+: those
  with at least two assertions; assert/slow/unrch: ut_assert, ut_assert_slow,
  ut_unreachable; total: the three; /100L: per 100 lines; libc: plain
  assert() left; stat: _Static_assert (compile time, not in total).
EOF
