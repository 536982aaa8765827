/*
 * test_mode_select_params.c — MODE SELECT parameter lists at their edges
 * (scsi/spc.c, SPC-4 §6.9, §6.10, §7.5.3-5): block descriptors of 8
 * bytes, of 16 (LONGLBA, MODE SELECT(10) only) or none; a descriptor
 * length of any other size, or a block length other than the LU's (0
 * keeps it), is INVALID FIELD IN PARAMETER LIST pointing at the field; a
 * page cut short by the list is PARAMETER LIST LENGTH ERROR; a page
 * length not ours points at byte 1 of the page; a field that is not
 * changeable, changed, points at that byte; and nothing changes unless
 * the whole list is valid.  Through scsi_cmd_exec() on a mem LU
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

/* MODE SELECT(6) or (10), PF=1, of the plen bytes in f->buf. */
static struct scsi_cmd *mode_select(struct fx *f, bool ten, uint32_t plen)
{
	uint8_t cdb[10] = {ten ? 0x55 : 0x15, 0x10};

	if (ten)
		put_be16(cdb + 7, (uint16_t)plen);
	else
		cdb[4] = (uint8_t)plen;
	return run(f, cdb, ten ? 10 : 6, plen, plen);
}

static void expect_param_field(struct scsi_cmd *c, uint16_t byte)
{
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c->sense[15] & 0xc0, 0x80); /* SKSV, C/D 0 */
	assert_int_equal(get_be16(c->sense + 16), byte);
}

/* The Caching page's WCE as MODE SENSE(6) reports it now. */
static bool wce(struct fx *f)
{
	uint8_t cdb[6] = {0x1a, 0x08, 0x08, 0, 64};

	expect_good(run(f, cdb, 6, 64, 0));
	return f->buf[4 + 2] & 0x04;
}

/* A Caching page (20 bytes) with WCE off at off; its other bytes as MODE
 * SENSE gives them (current values). */
static void caching_page_off(struct fx *f, uint8_t *out)
{
	uint8_t cdb[6] = {0x1a, 0x08, 0x08, 0, 64};

	expect_good(run(f, cdb, 6, 64, 0));
	memcpy(out, f->buf + 4, 20);
	out[0] &= 0x3f; /* PS is reserved in MODE SELECT */
	out[2] &= (uint8_t)~0x04;
}

static void block_descriptors_of_each_length(void **state)
{
	struct fx *f = *state;
	uint8_t page[20];
	uint8_t *p = f->buf;

	caching_page_off(f, page);
	/* (10) with a 16-byte LONGLBA descriptor of our block length */
	memset(p, 0, 64);
	put_be16(p + 6, 16);
	put_be32(p + 8 + 12, BS);
	memcpy(p + 24, page, 20);
	expect_good(mode_select(f, true, 44));
	assert_false(wce(f));
	/* (6) with an 8-byte descriptor whose block length is 0 (kept) */
	caching_page_off(f, page);
	page[2] |= 0x04;
	memset(p, 0, 64);
	p[3] = 8;
	memcpy(p + 12, page, 20);
	expect_good(mode_select(f, false, 32));
	assert_true(wce(f));
	/* (6) with 16 bytes of descriptors: refused, pointing at byte 3 */
	caching_page_off(f, page);
	memset(p, 0, 64);
	p[3] = 16;
	memcpy(p + 20, page, 20);
	expect_param_field(mode_select(f, false, 40), 3);
	/* (10) with 12: byte 6 */
	memset(p, 0, 64);
	put_be16(p + 6, 12);
	memcpy(p + 20, page, 20);
	expect_param_field(mode_select(f, true, 40), 6);
	/* another block length: the descriptor's BLOCK LENGTH field */
	memset(p, 0, 64);
	p[3] = 8;
	put_be24(p + 4 + 5, 4096);
	memcpy(p + 12, page, 20);
	expect_param_field(mode_select(f, false, 32), 4 + 8 - 3);
	memset(p, 0, 64);
	put_be16(p + 6, 16);
	put_be32(p + 8 + 12, 4096);
	memcpy(p + 24, page, 20);
	expect_param_field(mode_select(f, true, 44), 8 + 16 - 3);
	assert_true(wce(f)); /* none of the refused lists changed it */
}

static void pages_cut_short_too_long_or_changing_a_fixed_field(void **state)
{
	struct fx *f = *state;
	uint8_t page[20];
	uint8_t *p = f->buf;

	caching_page_off(f, page);
	/* one byte of a page header past the descriptors */
	memset(p, 0, 64);
	p[4] = page[0];
	expect_sense(mode_select(f, false, 5), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	/* a page whose length runs past the list */
	memset(p, 0, 64);
	memcpy(p + 4, page, 20);
	expect_sense(mode_select(f, false, 20), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	/* PAGE LENGTH not the Caching page's 18 */
	memset(p, 0, 64);
	memcpy(p + 4, page, 20);
	p[4 + 1] = 10;
	expect_param_field(mode_select(f, false, 4 + 12), 4 + 1);
	/* a byte that is not changeable (the Caching page's byte 3,
	 * demand read/write retention priorities) */
	memset(p, 0, 64);
	memcpy(p + 4, page, 20);
	p[4 + 3] ^= 0x11;
	expect_param_field(mode_select(f, false, 24), 4 + 3);
	assert_true(wce(f)); /* unchanged */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(block_descriptors_of_each_length),
		T(pages_cut_short_too_long_or_changing_a_fixed_field),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
