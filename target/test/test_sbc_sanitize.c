/*
 * test_sbc_sanitize.c — SANITIZE (scsi/sbc_sanitize.c): parameter
 * lists, the patterns written, and what runs while it is in progress.
 * Driven through scsi_cmd_exec() on mem logical units with the stub
 * environment of scsi_rig.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

/* ------------------------------------------------------ SANITIZE */

/* SANITIZE OVERWRITE with a parameter list of plen bytes: count passes,
 * a pattern-length field of ilen, the pattern bytes 0x5a. */
static struct scsi_cmd *run_overwrite(struct fx *f, uint16_t plen,
				      uint8_t count, uint16_t ilen, bool immed)
{
	uint8_t cdb[10] = {0x48, (uint8_t)(0x01 | (immed ? 0x80 : 0))};

	memset(f->buf, 0x5a, plen);
	if (plen >= 4) {
		f->buf[0] = count;
		f->buf[1] = 0;
		put_be16(f->buf + 2, ilen);
	}
	put_be16(cdb + 7, plen);
	return run(f, cdb, 10, plen, plen);
}

/* SBC-4 §5.30.3.2: the list is 5 .. block length + 4 bytes, else the CDB
 * is invalid (PARAMETER LIST LENGTH field, byte 7). */
static void sanitize_overwrite_list_length_both_sides(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	c = run_overwrite(f, 4, 1, 0, false);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(c->sense[15], 0xc0); /* SKSV, C/D: CDB */
	assert_int_equal(c->sense[17], 7);
	expect_good(run_overwrite(f, 5, 1, 1, true));
	stub_run_timers();
	expect_good(run_overwrite(f, BS + 4, 1, BS, true));
	stub_run_timers();
	expect_sense(run_overwrite(f, BS + 5, 1, BS, false), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* A pattern length claiming more bytes than the list carries, 0, or more
 * than a block: INVALID FIELD IN PARAMETER LIST at byte 2. */
static void sanitize_overwrite_pattern_longer_than_list_is_invalid(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	c = run_overwrite(f, 8, 1, 5, false); /* list holds 4 */
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c->sense[15], 0x80); /* SKSV, C/D: parameter */
	assert_int_equal(c->sense[17], 2);
	expect_sense(run_overwrite(f, 8, 1, 0, false), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	expect_sense(run_overwrite(f, BS + 4, 1, BS + 1, false),
		     SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	expect_sense(run_overwrite(f, 8, 0, 4, false), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);      /* OVERWRITE COUNT 0 */
	expect_good(run_overwrite(f, 8, 1, 4, false)); /* exactly 4 */
}

static void sanitize_overwrite_writes_pattern_everywhere(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	write_blocks(f, NBLOCKS - 1, 1, 0x11);
	c = run_overwrite(f, 4 + 3, 1, 3, false);
	expect_good(c);
	read_blocks(f, NBLOCKS - 1, 1);
	for (unsigned int i = 0; i < BS; i++)
		assert_int_equal(f->buf[i], 0x5a);
}

/* SBC-4 §4.11.2: while it runs, TEST UNIT READY is NOT READY, SANITIZE
 * IN PROGRESS; INQUIRY runs; REQUEST SENSE reports the progress. */
static void sanitize_in_progress_refuses_all_but_inquiry(void **state)
{
	struct fx *f = *state;
	uint8_t tur[6] = {0}, inq[6] = {0x12, 0, 0, 0, 36};
	uint8_t rs[6] = {0x03, 0, 0, 0, 18};
	uint8_t erase[10] = {0x48, 0x80 | 0x02};
	struct scsi_cmd *c;

	stub_hold_timers = true;
	expect_good(run(f, erase, 10, 0, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_NOT_READY,
		     ASC_SANITIZE_IN_PROGRESS);
	expect_good(run(f, inq, 6, 36, 0));
	c = run(f, rs, 6, 18, 0);
	expect_good(c);
	assert_int_equal(c->buf[2] & 0xf, SK_NOT_READY);
	assert_int_equal(c->buf[12] << 8 | c->buf[13],
			 ASC_SANITIZE_IN_PROGRESS);
	assert_int_equal(c->buf[15] & 0x80, 0x80); /* SKSV: progress */
	stub_hold_timers = false;
	stub_run_timers();
	expect_good(run(f, tur, 6, 0, 0));
}

/* Only OVERWRITE takes a parameter list; other service actions invalid. */
static void sanitize_erase_with_parameter_list_is_invalid_cdb(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x48, 0x02, 0, 0, 0, 0, 0, 0, 8};

	expect_sense(run(f, cdb, 10, 8, 8), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	cdb[1] = 0x04;
	cdb[8] = 0;
	expect_sense(run(f, cdb, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	cdb[1] = 0x02;
	cdb[4] = 1; /* reserved byte */
	expect_sense(run(f, cdb, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void sanitize_block_erase_reads_zeros(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x48, 0x02};

	write_blocks(f, 0, 8, 0x77);
	expect_good(run(f, cdb, 10, 0, 0));
	read_blocks(f, 0, 8);
	for (unsigned int i = 0; i < 8 * BS; i++)
		assert_int_equal(f->buf[i], 0);
}

/* ------------------------------------------------------ the pace */

/* A fixture whose LU overwrites at rate bytes per second. */
static struct fx *fx_paced(uint64_t rate)
{
	struct ut_dev_cfg dev = {0};

	strcpy(dev.name, "paced");
	dev.sanitize_bytes_per_s = rate;
	return fx_new(&dev, DISK_BYTES, true);
}

/* The stub clock, in ms, after an OVERWRITE of count passes that ran to
 * its end (IMMED=0: the command completes with the operation). */
static uint64_t overwrite_ms(struct fx *f, uint8_t count)
{
	uint64_t t0 = stub_clock_ns;

	expect_good(run_overwrite(f, 8, count, 4, false));
	return (stub_clock_ns - t0) / 1000000u;
}

/* 128 MiB at 32 MiB/s is 4 s, twice for two passes; the default pace
 * (256 MiB/s) takes 0.5 s; 0 means no pacing at all. */
static void sanitize_overwrite_takes_size_over_rate(void **state)
{
	struct fx *f = fx_paced(32u << 20);

	assert_int_equal(overwrite_ms(f, 1), 4000);
	assert_int_equal(overwrite_ms(f, 2), 8000);
	fx_free(f);
	f = fx_paced(0);
	assert_int_equal(overwrite_ms(f, 3), 0);
	fx_free(f);
	f = fx_new(NULL, DISK_BYTES, true);
	assert_int_equal(overwrite_ms(f, 1),
			 DISK_BYTES * 1000 / UT_SANITIZE_BYTES_PER_S);
	fx_free(f);
}

/* The pace is a schedule from the start, not a pause after each write:
 * a backstore that took 3 s over the first chunk does not make a 4 s
 * OVERWRITE take 7 s (a pause after every completion did, and on a disk
 * writing at 4.6 MiB/s it turned 8 s into 64 s). */
static void sanitize_overwrite_slow_writes_do_not_add_to_the_pace(void **state)
{
	struct fx *f = fx_paced(32u << 20);
	uint8_t tur[6] = {0};

	stub_hold_timers = true;
	expect_good(run_overwrite(f, 8, 1, 4, true)); /* IMMED */
	stub_clock_ns += 3000000000ull;		      /* a slow first write */
	stub_hold_timers = false;
	stub_run_timers();
	assert_int_equal(stub_clock_ns / 1000000u, 4000);
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(sanitize_overwrite_list_length_both_sides),
		T(sanitize_overwrite_pattern_longer_than_list_is_invalid),
		T(sanitize_overwrite_writes_pattern_everywhere),
		T(sanitize_in_progress_refuses_all_but_inquiry),
		T(sanitize_erase_with_parameter_list_is_invalid_cdb),
		T(sanitize_block_erase_reads_zeros),
#undef T
		cmocka_unit_test(sanitize_overwrite_takes_size_over_rate),
		cmocka_unit_test(
			sanitize_overwrite_slow_writes_do_not_add_to_the_pace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
