/*
 * test_sanitize_refusals.c — what SANITIZE refuses before it starts
 * (scsi/sbc_sanitize.c, SBC-4 §5.30): AUSE and the reserved CDB bytes,
 * an OVERWRITE parameter list with OVERWRITE COUNT 0 or a TEST value, a
 * Data-Out shorter than the list; each with its sense-key specific
 * pointer, and the medium untouched (no sanitize started: a READ right
 * after is GOOD and returns the data written before).  Through
 * scsi_cmd_exec() on a mem LU (scsi_rig.h).
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

/* Block 0 still holds the bytes v written before, and no sanitize runs
 * (a READ would be NOT READY, SANITIZE IN PROGRESS). */
static void medium_untouched(struct fx *f, uint8_t v)
{
	read_blocks(f, 0, 1);
	for (unsigned int i = 0; i < BS; i++)
		if (f->buf[i] != v)
			fail_msg("byte %u of block 0 is %02x, not %02x", i,
				 f->buf[i], v);
}

static uint16_t pointer(const struct scsi_cmd *c)
{
	assert_true(c->sense[15] & 0x80); /* SKSV */
	return get_be16(c->sense + 16);
}

/* SBC-4 §5.30.2: AUSE (byte 1 bit 6) is not supported, bytes 2..6 are
 * reserved. */
static void sanitize_cdb_refusals_point_at_the_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x48, 0x02}; /* BLOCK ERASE */
	struct scsi_cmd *c;

	write_blocks(f, 0, 1, 0x77);
	cdb[1] = 0x02 | 0x40;
	c = run(f, cdb, 10, 0, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(pointer(c), 1);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 6); /* BPV, bit 6 */
	for (int i = 2; i <= 6; i++) {
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x48;
		cdb[1] = 0x02;
		cdb[i] = 0x01;
		c = run(f, cdb, 10, 0, 0);
		expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		assert_int_equal(pointer(c), i);
	}
	medium_untouched(f, 0x77);
}

/* SBC-4 §5.30.3.2: OVERWRITE COUNT 0, or a TEST field other than 00b,
 * is INVALID FIELD IN PARAMETER LIST at byte 0 (bits 4 and 6); a
 * Data-Out shorter than the PARAMETER LIST LENGTH is INVALID FIELD IN
 * INFORMATION UNIT. */
static void sanitize_overwrite_list_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x48, 0x01}; /* OVERWRITE */
	struct scsi_cmd *c;

	write_blocks(f, 0, 1, 0x66);
	put_be16(cdb + 7, 8);
	memset(f->buf, 0, 8);
	put_be16(f->buf + 2, 4); /* a 4-byte pattern */
	f->buf[0] = 0x00;	 /* OVERWRITE COUNT 0 */
	c = run(f, cdb, 10, 8, 8);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(pointer(c), 0);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 4);
	memset(f->buf, 0, 8);
	put_be16(f->buf + 2, 4);
	f->buf[0] = 0x21; /* TEST 01b, one pass */
	c = run(f, cdb, 10, 8, 8);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(pointer(c), 0);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 6);
	memset(f->buf, 0, 8);
	put_be16(f->buf + 2, 4);
	f->buf[0] = 0x01;
	expect_sense(run(f, cdb, 10, 6, 6), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	medium_untouched(f, 0x66);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(sanitize_cdb_refusals_point_at_the_field),
		T(sanitize_overwrite_list_refusals),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
