#!/usr/bin/env bash
# The seam check checked (ci/check-seam.sh): it reads the undefined
# symbols of the objects, so a world function named in a comment or a
# string, or a function whose name only begins like one, is no call and
# passes; a real call fails, named with its object, and so does a call
# hidden behind a macro.  Each case is a small object of its own.
# Usage: ci/check-seam-test.sh   (CC: the compiler, default cc)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

cat >"$tmp/words.c" <<'EOF'
/* One large recv() into the staging buffer; what we accept (rx()). */
long recv_message(int fd); /* ours, not the world's */
const char *seam_words(int fd);
const char *seam_words(int fd)
{
	return recv_message(fd) ? "recv(fd, buf, len, 0)" : "time(NULL)";
}
EOF
cat >"$tmp/calls.c" <<'EOF'
#include <sys/socket.h>
long seam_calls(int fd, void *b);
long seam_calls(int fd, void *b)
{
	return recv(fd, b, 1, 0);
}
EOF
cat >"$tmp/macro.c" <<'EOF'
#include <unistd.h>
#define TAKE_ONE(fd, b) read((fd), (b), 1)
long seam_macro(int fd, void *b);
long seam_macro(int fd, void *b)
{
	return TAKE_ONE(fd, b);
}
EOF
for f in words calls macro; do
	"$cc" -O0 -c "$tmp/$f.c" -o "$tmp/$f.o"
done

# expect NAME WANT-RC PATTERN OBJECTS...: check-seam.sh on an archive of
# OBJECTS exits WANT-RC and prints PATTERN.
expect() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 3
	rm -f "$tmp/lib.a"
	(cd "$tmp" && ar rcs lib.a "$@")
	"$here/check-seam.sh" "$tmp/lib.a" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" "$tmp/out"; then
		echo "check-seam-test: $name: want exit $want and /$pat/, got exit $rc:" >&2
		sed 's/^/    /' "$tmp/out" >&2
		fail=1
	fi
}
expect "world functions in a comment, a string and a longer name are no calls" \
	0 '^seam-check: OK' words.o
expect "a real recv() call is caught, with its object" \
	1 'lib\.a:calls\.o:' words.o calls.o
expect "a real call names the function" 1 '^  recv, referenced by:' calls.o
expect "a call behind a macro is caught" 1 '^  read, referenced by:' words.o macro.o
[ $fail = 0 ] || exit 1
echo "check-seam-test: OK (comments, strings and longer names pass; real calls, direct or by macro, fail)"
