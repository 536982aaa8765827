#!/usr/bin/env bash
# interop/qemu-tools.sh URL DIR — QEMU's own iSCSI client (the block
# driver of Debian's qemu-block-extra, built on libiscsi) against a
# utarget serving LUN 0 (512-byte blocks, thin, at least 64 MiB) and LUN 1
# (4096-byte blocks, thin, at least 128 MiB) at URL (iscsi://HOST:PORT/IQN).
# DIR holds scratch files.  THE DATA ON BOTH LUNS IS OVERWRITTEN.
#
# One line per check on stdout (PASS|FAIL NAME: REASON), details on
# stderr:
#   qemu-img info          the driver sees both LUNs and their sizes
#   qemu-img convert       48 MiB of random data onto LUN 1, qemu-img
#                          compare identical, and back into a file, cmp
#   qemu-img convert qcow2 a sparse qcow2 onto LUN 1, compare identical
#   qemu-io patterns       write/read -P at aligned and odd offsets,
#                          writev/readv, on LUN 0
#   qemu-io aio and flush  aio_write x2, aio_flush, aio_read, flush
#   qemu-io discard        written, discarded (UNMAP), reads zeros, and
#                          qemu-img map (GET LBA STATUS) calls it a hole
#   qemu-io write-zeroes   write -z and write -z -u read back zeros
set -uo pipefail
url=${1:?usage: qemu-tools.sh URL DIR}
dir=${2:?usage: qemu-tools.sh URL DIR}

pass() { echo "PASS $1: $2"; }
fail() { echo "FAIL $1: $2"; }

# qio NAME CMD...: qemu-io on LUN 0 with the -c commands given; the output
# must have no failure and every read must verify its pattern.
qio() {
	local name=$1 args=() c out
	shift
	for c in "$@"; do args+=(-c "$c"); done
	echo "+ qemu-io $url/0 $*" >&2
	out=$(qemu-io -f raw --cache none "${args[@]}" "$url/0" 2>&1)
	echo "$out" >&2
	if grep -qi 'fail\|error\|mismatch' <<<"$out"; then
		fail "$name" "$(grep -i -m1 'fail\|error\|mismatch' <<<"$out")"
		return 1
	fi
	return 0
}

# 1. The driver opens both LUNs.
if out=$(qemu-img info -f raw "$url/0" 2>&1) && s0=$(sed -n 's/^virtual size: .*(\([0-9]*\) bytes)/\1/p' <<<"$out") &&
	out1=$(qemu-img info -f raw "$url/1" 2>&1) && s1=$(sed -n 's/^virtual size: .*(\([0-9]*\) bytes)/\1/p' <<<"$out1") &&
	[ -n "$s0" ] && [ -n "$s1" ]; then
	pass "qemu-img info" "LUN 0 $((s0 >> 20)) MiB, LUN 1 $((s1 >> 20)) MiB"
else
	fail "qemu-img info" "$(tail -n 1 <<<"$out${out1:-}")"
	exit 0
fi
echo "$out" "$out1" >&2

# 2. Random data onto LUN 1 and back.
head -c 48M /dev/urandom >"$dir/rand.raw"
if qemu-img convert -n -f raw -O raw "$dir/rand.raw" "$url/1" >&2 2>&1 &&
	cmp_out=$(qemu-img compare -f raw -F raw "$dir/rand.raw" "$url/1" 2>&1); then
	echo "$cmp_out" >&2
	# "Warning: Image size mismatch!" (48 MiB against the LUN's size),
	# then the verdict on the common part and the LUN's zero remainder.
	cmp_out=$(tail -n 1 <<<"$cmp_out")
	if qemu-img convert -f raw -O raw "$url/1" "$dir/back.raw" >&2 2>&1 &&
		cmp -n $((48 << 20)) "$dir/rand.raw" "$dir/back.raw" >&2 &&
		[ "$(stat -c %s "$dir/back.raw")" = "$s1" ]; then
		pass "qemu-img convert and compare" "48 MiB of random data onto LUN 1 (4096-byte blocks), qemu-img compare: \"$cmp_out\"; converted back to a file of $((s1 >> 20)) MiB, cmp identical"
	else
		fail "qemu-img convert and compare" "converting LUN 1 back into a file differs or failed"
	fi
else
	fail "qemu-img convert and compare" "$(tail -n 1 <<<"${cmp_out:-convert failed}")"
fi
rm -f "$dir/back.raw"

# 3. A sparse qcow2 onto LUN 1: its holes must read back as zeros there.
if qemu-img create -q -f qcow2 "$dir/sparse.qcow2" 96M >&2 &&
	qemu-io -f qcow2 -c 'write -P 0x5a 1M 3M' -c 'write -P 0xa5 90M 1M' "$dir/sparse.qcow2" >&2 &&
	qemu-img convert -n -f qcow2 -O raw "$dir/sparse.qcow2" "$url/1" >&2 2>&1 &&
	cmp_out=$(qemu-img compare -f qcow2 -F raw "$dir/sparse.qcow2" "$url/1" 2>&1); then
	echo "$cmp_out" >&2
	cmp_out=$(tail -n 1 <<<"$cmp_out")
	pass "qemu-img convert of a sparse qcow2" "96 MiB with 4 MiB of data onto LUN 1, qemu-img compare: \"$cmp_out\" (the 48 MiB of random data written before are zeros again)"
else
	fail "qemu-img convert of a sparse qcow2" "$(tail -n 1 <<<"${cmp_out:-convert failed}")"
fi
rm -f "$dir/rand.raw" "$dir/sparse.qcow2"

# 4. qemu-io: patterns at aligned and odd offsets, vectors.
qio "qemu-io write/read patterns" \
	'write -P 0xab 0 1M' 'read -P 0xab 0 1M' \
	'write -P 0x11 4608 3584' 'read -P 0x11 4608 3584' 'read -P 0xab 8192 1040384' \
	'writev -P 0x22 2M 64k 128k 4k' 'readv -P 0x22 2M 64k 128k 4k' \
	'write -P 0x23 3M 512' 'read -P 0x23 3M 512' &&
	pass "qemu-io write/read patterns" "1 MiB at 0, 3584 bytes at 4608 (and the rest of the first MiB intact), a 196 KiB writev/readv, one 512-byte block: every pattern verified"

# 5. aio and flush.
qio "qemu-io aio and flush" \
	'aio_write -P 0x33 8M 1M' 'aio_write -P 0x44 9M 1M' 'aio_write -P 0x45 10M 64k' 'aio_flush' \
	'aio_read -P 0x33 8M 1M' 'aio_read -P 0x44 9M 1M' 'aio_read -P 0x45 10M 64k' 'aio_flush' 'flush' &&
	pass "qemu-io aio and flush" "three aio_write in flight together, aio_flush, three aio_read verified, flush (SYNCHRONIZE CACHE)"

# 6. discard: UNMAP on the thin LUN; zeros, and a hole in GET LBA STATUS.
if qio "qemu-io discard" 'write -P 0x55 16M 1M' 'read -P 0x55 16M 1M' 'discard 16M 1M' 'read -P 0 16M 1M'; then
	map=$(qemu-img map -f raw --output=json "$url/0" 2>&1)
	echo "$map" >&2
	# The extent holding 16 MiB must be reported without data (zero).
	hole=$(tr -d ' \n' <<<"$map" | grep -o '{[^}]*}' | awk -F'[:,}]' '
		{ for (i = 1; i < NF; i++) { if ($i ~ /"start"/) s = $(i+1); if ($i ~ /"length"/) l = $(i+1); if ($i ~ /"data"/) d = $(i+1) } }
		s <= 16777216 && 16777216 < s + l { print d; exit }')
	if [ "$hole" = false ]; then
		pass "qemu-io discard" "1 MiB written, discarded (UNMAP), reads back as zeros, and qemu-img map (GET LBA STATUS) reports it without data"
	else
		fail "qemu-io discard" "qemu-img map reports data=$hole at 16 MiB after the discard"
	fi
fi

# 7. write-zeroes, with and without unmap (WRITE SAME).
qio "qemu-io write-zeroes" \
	'write -P 0x66 20M 1M' 'write -z 20M 1M' 'read -P 0 20M 1M' \
	'write -P 0x77 24M 1M' 'write -z -u 24M 1M' 'read -P 0 24M 1M' \
	'read -P 0xab 0 4096' &&
	pass "qemu-io write-zeroes" "write -z and write -z -u (may unmap) over 1 MiB of pattern each read back as zeros; other data untouched"
exit 0
