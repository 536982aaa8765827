/*
 * test_lu_stats.c — per-LU I/O statistics (scsi/lu_stats.c), what
 * utargetctl's device statistics print: the latency histogram (units of
 * 1024 ns, one bucket per unit below 8, then 8 per power of two) holds
 * every latency in the bucket whose bounds enclose it, and its
 * percentiles (p50, p99, p99.9) are the upper bound of the bucket that
 * holds the rank asked for; each command counts once by kind, with its
 * bytes only when it succeeded.  Through scsi_cmd_exec() on a mem LU
 * (scsi_rig.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

/* Every latency lies in [low(b), low(b + 1)) of its bucket b, below the
 * last; buckets grow with the latency; below 8 units, one per unit. */
static void each_latency_falls_in_the_bucket_that_encloses_it(void **state)
{
	unsigned int prev = 0;

	(void)state;
	for (unsigned int b = 0; b < 8; b++) {
		assert_int_equal(scsi_lat_bucket(b * SCSI_LAT_UNIT_NS), b);
		assert_int_equal(scsi_lat_bucket_low_ns(b),
				 (uint64_t)b * SCSI_LAT_UNIT_NS);
	}
	for (uint64_t ns = 1; ns < (1ull << 40); ns = ns * 3 / 2 + 1) {
		unsigned int b = scsi_lat_bucket(ns);

		assert_true(b >= prev);
		prev = b;
		assert_true(scsi_lat_bucket_low_ns(b) <= ns);
		if (b + 1 < SCSI_LAT_BUCKETS)
			assert_true(ns < scsi_lat_bucket_low_ns(b + 1));
	}
	/* 8 buckets per power of two from 8 units on: 8..15 units apart
	 * by one, 16..31 by two */
	assert_int_equal(scsi_lat_bucket(9 * SCSI_LAT_UNIT_NS), 9);
	assert_int_equal(scsi_lat_bucket(16 * SCSI_LAT_UNIT_NS), 16);
	assert_int_equal(scsi_lat_bucket(17 * SCSI_LAT_UNIT_NS), 16);
	assert_int_equal(scsi_lat_bucket(18 * SCSI_LAT_UNIT_NS), 17);
	/* past the last bucket: the last */
	assert_int_equal(scsi_lat_bucket(UINT64_MAX), SCSI_LAT_BUCKETS - 1);
}

/* Percentiles: the upper bound of the bucket holding the sample of rank
 * ceil(n * permille / 1000); 0 for an empty histogram. */
static void percentiles_are_the_bound_of_the_bucket_of_their_rank(void **state)
{
	static struct scsi_io_stats st;
	unsigned int fast = scsi_lat_bucket(100000);   /* 100 us */
	unsigned int slow = scsi_lat_bucket(10000000); /* 10 ms */

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(scsi_lat_percentile_ns(&st, 500), 0);
	st.lat[fast] = 990;
	st.lat[slow] = 10;
	assert_int_equal(scsi_lat_percentile_ns(&st, 500),
			 scsi_lat_bucket_low_ns(fast + 1));
	/* rank 990 of 1000: still the fast bucket; rank 999: the slow */
	assert_int_equal(scsi_lat_percentile_ns(&st, 990),
			 scsi_lat_bucket_low_ns(fast + 1));
	assert_int_equal(scsi_lat_percentile_ns(&st, 999),
			 scsi_lat_bucket_low_ns(slow + 1));
	/* permille 0: the first sample */
	assert_int_equal(scsi_lat_percentile_ns(&st, 0),
			 scsi_lat_bucket_low_ns(fast + 1));
	/* a sample in the last bucket: its own low bound */
	memset(&st, 0, sizeof(st));
	st.lat[SCSI_LAT_BUCKETS - 1] = 1;
	assert_int_equal(scsi_lat_percentile_ns(&st, 1000),
			 scsi_lat_bucket_low_ns(SCSI_LAT_BUCKETS - 1));
}

/* A READ, a WRITE and a TEST UNIT READY count once each by kind; bytes
 * only for the good ones; a refused WRITE (LBA out of range) is an
 * error with no bytes; READ and WRITE latencies enter the histogram,
 * other commands do not. */
static void commands_count_by_kind_with_the_bytes_they_moved(void **state)
{
	struct fx *f = *state;
	struct scsi_io_stats st;
	uint8_t cdb[16];
	uint64_t n = 0;

	write_blocks(f, 0, 4, 0x11);
	read_blocks(f, 0, 2);
	memset(cdb, 0, sizeof(cdb));
	expect_good(run(f, cdb, 6, 0, 0)); /* TEST UNIT READY */
	cdb_rw16(cdb, 0x8a, NBLOCKS, 1);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	scsi_lu_get_stats(f->lu, &st);
	assert_int_equal(st.reads, 1);
	assert_int_equal(st.read_bytes, 2 * BS);
	assert_int_equal(st.writes, 2);
	assert_int_equal(st.write_bytes, 4 * BS);
	/* the fixture's TEST UNIT READY (answered with the power-on UA)
	 * and ours */
	assert_int_equal(st.others, 2);
	/* that UA's CHECK CONDITION and the refused WRITE */
	assert_int_equal(st.errors, 2);
	for (unsigned int i = 0; i < SCSI_LAT_BUCKETS; i++)
		n += st.lat[i];
	assert_int_equal(n, 3); /* the READ and both WRITEs */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			each_latency_falls_in_the_bucket_that_encloses_it),
		cmocka_unit_test(
			percentiles_are_the_bound_of_the_bucket_of_their_rank),
		cmocka_unit_test_setup_teardown(
			commands_count_by_kind_with_the_bytes_they_moved, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
