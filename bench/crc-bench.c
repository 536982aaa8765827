/*
 * crc-bench — CRC32C implementations side by side (make bench-crc;
 * docs/performance.md, "Digests"): the target's crc32c() (three streams of
 * the crc32 instruction folded with PCLMULQDQ), its single-stream loop
 * (crc32c_1way), the slicing-by-8 table, and ISA-L's crc32_iscsi (Debian
 * libisal-dev).  Prints nanoseconds per call and GB/s per buffer size,
 * the best of several rounds (the machine is shared: the minimum is the
 * cost, the rest is other load), after checking that all agree.
 */
#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "iscsi/crc32c.c"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint32_t isal(uint32_t crc, const void *p, size_t len)
{
	return crc32_iscsi((unsigned char *)p, (int)len, crc);
}

struct impl {
	const char *name;
	uint32_t (*fn)(uint32_t, const void *, size_t);
};

static uint32_t table(uint32_t crc, const void *p, size_t len)
{
	return crc32c_sw(crc, p, len);
}

int main(void)
{
	static const size_t sizes[] = {48, 512, 4096, 8192, 65536, 262144};
	static const struct impl impls[] = {
		{"crc32c (3 streams)", crc32c},
		{"crc32c_1way", crc32c_1way},
		{"ISA-L crc32_iscsi", isal},
		{"slicing-by-8", table},
	};
	const size_t n_impl = sizeof(impls) / sizeof(impls[0]);
	uint8_t *buf = malloc(262144 + 64);
	volatile uint32_t sink = 0;

	if (!buf)
		return 1;
	for (size_t i = 0; i < 262144 + 64; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 11));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t k = 1; k < n_impl; k++)
			if (impls[k].fn(~0u, buf, sizes[s]) !=
			    impls[0].fn(~0u, buf, sizes[s])) {
				fprintf(stderr, "%s disagrees at %zu bytes\n",
					impls[k].name, sizes[s]);
				return 1;
			}
	printf("%-20s", "bytes");
	for (size_t k = 0; k < n_impl; k++)
		printf(" | %-24s", impls[k].name);
	printf("\n");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t len = sizes[s];
		unsigned int reps = (unsigned int)(4000000 / (len + 64)) + 1;

		printf("%-20zu", len);
		for (size_t k = 0; k < n_impl; k++) {
			double best = 1e30;

			for (int round = 0; round < 15; round++) {
				double t0 = now_ns();

				for (unsigned int i = 0; i < reps; i++)
					sink ^= impls[k].fn(~0u, buf, len);
				double t = (now_ns() - t0) / reps;

				if (t < best)
					best = t;
			}
			printf(" | %8.1f ns %6.2f GB/s  ", best, len / best);
		}
		printf("\n");
	}
	(void)sink;
	free(buf);
	return 0;
}
