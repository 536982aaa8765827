#!/usr/bin/env bash
# The environment seam, enforced: the target core library (target/ without
# env_real/ and main.c) may not reference any function that reaches the
# world directly.  We inspect the undefined symbols of the library's
# objects (nm -u), which also catches calls hidden behind macros; the
# sources are not grepped.
set -euo pipefail
lib=${1:-build/libutarget.a}
forbidden='^(socket|bind|listen|accept|accept4|connect|send|sendmsg|sendto|recv|recvmsg|recvfrom|read|write|readv|writev|pread|pread64|pwrite|pwrite64|preadv|preadv2|pwritev|pwritev2|open|open64|openat|openat64|creat|close|fopen|fopen64|fdopen|fread|fwrite|fclose|fsync|fdatasync|fallocate|fallocate64|ftruncate|ftruncate64|lseek|lseek64|stat|fstat|mmap|time|gettimeofday|clock_gettime|clock|rand|random|srand|srandom|rand_r|drand48|getrandom|getentropy|arc4random|pthread_[a-z_]+|usleep|nanosleep|sleep|select|poll|ppoll|epoll_[a-z_]+|io_uring_[a-z_]+|fork|system|popen|signal|sigaction|printf|puts|putchar|fprintf|fputs|perror|abort_handler)$'
bad=$(nm -u "$lib" 2>/dev/null | awk '{print $2}' | sed 's/@.*//' | sort -u | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
	echo "seam-check: target/ core calls the world directly:" >&2
	for s in $bad; do
		echo "  $s, referenced by:" >&2
		nm -A -u "$lib" | awk -v s="$s" '$NF==s || $NF ~ "^"s"@" {print "    " $1}' >&2
	done
	echo "seam-check: route these through target/env.h (the environment)." >&2
	exit 1
fi
echo "seam-check: OK (no world calls in $(basename "$lib"))"
