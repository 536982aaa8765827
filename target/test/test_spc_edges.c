/*
 * test_spc_edges.c — SPC-4 commands at their edges (scsi/spc.c): the
 * default values of the mode pages (PC 10b), subpages, reserved CDB bits
 * of MODE SENSE(6), MODE SELECT and REQUEST SENSE, MODE SELECT parameter
 * lists that name a page we do not have, set SPF, or arrive shorter
 * than announced (nothing changes).  Through scsi_cmd_exec() on a mem
 * LU (scsi_rig.h).
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

/* MODE SENSE(10), DBD=1: the page lands at f->buf + 8. */
static struct scsi_cmd *mode_sense10(struct fx *f, uint8_t pc, uint8_t page,
				     uint8_t subpage)
{
	uint8_t cdb[10] = {0x5a, 0x08, (uint8_t)(pc << 6 | page), subpage};

	put_be16(cdb + 7, 256);
	return run(f, cdb, 10, 256, 0);
}

/* SPC-4 §7.5.8, §7.5.5: PC 10b reports the default values: the Control
 * page's TAS 1, QUEUE ALGORITHM MODIFIER 1 and BUSY TIMEOUT unlimited
 * with D_SENSE and SWP 0, the Caching page's WCE 1 -- whatever the
 * current values are. */
static void mode_sense_reports_default_values(void **state)
{
	struct fx *f = *state;
	uint8_t *pg = f->buf + 8;

	expect_good(mode_sense10(f, 2, 0x0a, 0));
	assert_int_equal(pg[0], 0x0a);
	assert_int_equal(pg[1], 0x0a);
	assert_int_equal(pg[2], 0x00);
	assert_int_equal(pg[3], 0x10);
	assert_int_equal(pg[4], 0x40);
	assert_int_equal(get_be16(pg + 8), 0xffff);
	expect_good(mode_sense10(f, 2, 0x08, 0));
	assert_int_equal(pg[0], 0x08);
	assert_int_equal(pg[2] & 0x04, 0x04);
	/* subpage 0xff of page 0x0a: every subpage, which is page 0 here */
	expect_good(mode_sense10(f, 0, 0x0a, 0xff));
	assert_int_equal(pg[0], 0x0a);
	/* a subpage we do not have */
	expect_sense(mode_sense10(f, 0, 0x0a, 0x05), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* Reserved bits of byte 1 are INVALID FIELD IN CDB (SPC-4 §4.3.1):
 * MODE SENSE(6) past DBD, REQUEST SENSE past DESC, MODE SELECT past PF
 * (SP=1, saving, is refused pointing at bit 0). */
static void reserved_cdb_bits_are_refused(void **state)
{
	struct fx *f = *state;
	uint8_t ms6[6] = {0x1a, 0x10, 0x3f, 0, 255};
	uint8_t rs[6] = {0x03, 0x02, 0, 0, 252};
	uint8_t sel10[10] = {0x55, 0x11};
	struct scsi_cmd *c;

	c = run(f, ms6, 6, 255, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 1);
	expect_sense(run(f, rs, 6, 252, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	c = run(f, sel10, 10, 0, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 1);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 0); /* BPV, bit 0 */
}

/* A MODE SELECT(10) of one page after an 8-byte header (no block
 * descriptors); data_out bytes of it sent. */
static struct scsi_cmd *mode_select10(struct fx *f, const uint8_t *page,
				      uint32_t page_len, uint32_t data_out)
{
	uint8_t cdb[10] = {0x55, 0x10};

	memset(f->buf, 0, 8);
	memcpy(f->buf + 8, page, page_len);
	put_be16(cdb + 7, (uint16_t)(8 + page_len));
	return run(f, cdb, 10, data_out, data_out);
}

/* SPC-4 §6.10: a page we do not have, a page with SPF set (no subpages
 * here) and a list shorter than its PARAMETER LIST LENGTH are refused,
 * pointing at the page (bit 6 for SPF); nothing changes (the Caching
 * page's WCE keeps its value); an empty list is GOOD. */
static void mode_select_refuses_pages_it_cannot_take(void **state)
{
	struct fx *f = *state;
	uint8_t caching[20] = {0x08, 0x12, 0x00};
	uint8_t unknown[8] = {0x15, 0x06}; /* no page 15h here */
	uint8_t spf[20] = {0x48, 0x12, 0x00};
	uint8_t cdb0[10] = {0x55, 0x10};
	struct scsi_cmd *c;

	expect_good(mode_sense10(f, 0, 0x08, 0));
	assert_int_equal(f->buf[8 + 2] & 0x04, 0x04); /* WCE 1 */
	c = mode_select10(f, unknown, sizeof(unknown), 16);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(get_be16(c->sense + 16), 8);
	c = mode_select10(f, spf, sizeof(spf), 28);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(get_be16(c->sense + 16), 8);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 6);
	c = mode_select10(f, caching, sizeof(caching), 20);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
	expect_good(run(f, cdb0, 10, 0, 0)); /* PARAMETER LIST LENGTH 0 */
	expect_good(mode_sense10(f, 0, 0x08, 0));
	assert_int_equal(f->buf[8 + 2] & 0x04, 0x04); /* unchanged */
	/* the whole page, WCE cleared: taken */
	expect_good(mode_select10(f, caching, sizeof(caching), 28));
	expect_good(mode_sense10(f, 0, 0x08, 0));
	assert_int_equal(f->buf[8 + 2] & 0x04, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(mode_sense_reports_default_values),
		T(reserved_cdb_bits_are_refused),
		T(mode_select_refuses_pages_it_cannot_take),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
