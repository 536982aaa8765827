/*
 * cache-warm.c — put a file in the page cache in a known shape, for the
 * benchmarks: cache-warm FILE
 *
 * The shape matters for 4 KiB writes.  Linux (6.16 and later on ext4)
 * caches a file read sequentially (cat, readahead) or written in large
 * pieces in large folios, up to 2 MiB; a 4 KiB write into such a folio
 * walks all its buffer heads (512 for 2 MiB), about 25 us of kernel time
 * per write, under the inode lock.  A benchmark of 4 KiB random writes
 * then measures that walk, the same for every target, and not the targets.
 * A random workload leaves small folios behind, so this tool does what such
 * a workload would: it writes the dirty pages back, drops the file's
 * clean pages (POSIX_FADV_DONTNEED) and reads the whole file again with
 * readahead off (POSIX_FADV_RANDOM), which caches it in 4 KiB folios.
 *
 * cache-warm --top-up FILE reads the file again without dropping it
 * first, readahead off: pages still cached stay as they are, pages the
 * kernel evicted meanwhile come back in 4 KiB folios.  bench/run.sh does
 * this before every run on the file LUN, because a machine may evict
 * idle page cache on its own (DAMON's pageout scheme evicts what was not
 * touched for about a minute), and a file-LUN row would then measure disk
 * reads where it means the page cache.
 *
 * Prints one line: the bytes read and the time taken.  Exit status 0, or 1
 * with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[CHUNK];
	unsigned long long total = 0;
	double t0 = now_s();
	int fd, rc = 0;
	int top_up = argc == 3 && strcmp(argv[1], "--top-up") == 0;
	const char *path = argv[argc - 1];

	if ((argc != 2 && !top_up) || path[0] == '-') {
		fprintf(stderr, "usage: cache-warm [--top-up] FILE\n"
				"Caches FILE in 4 KiB page-cache folios (see "
				"bench/cache-warm.c).\n");
		return 1;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "cache-warm: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!top_up && fdatasync(fd) < 0) {
		fprintf(stderr, "cache-warm: fdatasync %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (!top_up)
		rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (rc == 0)
		rc = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (rc != 0) {
		fprintf(stderr, "cache-warm: posix_fadvise %s: %s\n", path,
			strerror(rc));
		return 1;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "cache-warm: read %s at %llu: %s\n",
				path, total, strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		total += (unsigned long long)n;
	}
	close(fd);
	printf("cache-warm: %s: %llu bytes %s in %.1f s\n", path, total,
	       top_up ? "topped up" : "cached", now_s() - t0);
	return 0;
}
