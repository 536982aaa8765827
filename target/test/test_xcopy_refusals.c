/*
 * test_xcopy_refusals.c — what EXTENDED COPY (LID1) refuses, SPC-4
 * §6.4 (scsi/xcopy.c): each field of one valid parameter list (a header,
 * one identification target descriptor, one block-to-block segment
 * descriptor), made wrong alone, is refused with the sense the standard
 * gives it -- ILLEGAL REQUEST with the field pointer for a field we do
 * not take, UNSUPPORTED TARGET/SEGMENT DESCRIPTOR TYPE CODE, PARAMETER
 * LIST LENGTH ERROR, TOO MANY SEGMENT DESCRIPTORS, COPY ABORTED with
 * COPY TARGET DEVICE NOT REACHABLE for a target descriptor naming no LU
 * of this nexus (§6.4.6.2), COPY ABORTED for a segment past the end,
 * DATA PROTECT toward a write-protected LU -- and
 * nothing is copied.  Reserved CDB bits of EXTENDED COPY and an unknown
 * RECEIVE COPY RESULTS service action are INVALID FIELD IN CDB.
 * Through scsi_cmd_exec() on mem LUs (scsi_rig.h).
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

#define TD 16u	       /* the target descriptor */
#define SD (16u + 32u) /* the segment descriptor */
#define LEN (SD + 28u) /* the whole list */
#define DST_LBA 64u

/* Header, one target descriptor naming this LU, one segment copying 4
 * blocks from LBA 0 to DST_LBA of it. */
static void valid_list(struct fx *f, uint8_t *b)
{
	memset(b, 0, LEN + 64);
	b[0] = 1; /* LIST IDENTIFIER */
	put_be16(b + 2, 32);
	put_be32(b + 8, 28);
	b[TD] = 0xe4;
	b[TD + 4] = 1; /* binary */
	b[TD + 5] = 3; /* LU, NAA */
	b[TD + 7] = 16;
	put_be64(b + TD + 8, f->lu->naa_hi);
	put_be64(b + TD + 16, f->lu->naa_lo);
	put_be24(b + TD + 29, BS);
	b[SD] = 0x02;
	put_be16(b + SD + 2, 24);
	put_be16(b + SD + 10, 4);
	put_be64(b + SD + 20, DST_LBA);
}

static struct scsi_cmd *run_xcopy(struct fx *f, uint8_t byte1, uint32_t plen)
{
	uint8_t cdb[16] = {0x83, byte1};

	put_be32(cdb + 10, plen);
	return run(f, cdb, 16, plen + 64, plen);
}

/* One edit of the valid list, its length, and the answer it must get. */
struct refusal {
	const char *what;
	void (*edit)(struct fx *f, uint8_t *b, uint32_t *plen);
	uint8_t key;
	uint16_t asc;
	int field; /* field pointer into the list, or -1: none checked */
};

static void tgt_type(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[TD] = 0xe0; /* Fibre Channel N_Port_Name */
}

static void tgt_device_type(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[TD + 1] = 0x05; /* a CD/DVD device */
}

static void tgt_code_set(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[TD + 4] = 2; /* ASCII */
}

static void tgt_designator_type(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[TD + 5] = 0x02; /* EUI-64 */
}

static void tgt_designator_length(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[TD + 7] = 8;
}

static void tgt_block_length(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	put_be24(b + TD + 29, 4096);
}

static void seg_type(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	b[SD] = 0x0a; /* stream to block */
}

static void seg_length(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	put_be16(b + SD + 2, 20);
}

static void seg_list_tail(struct fx *f, uint8_t *b, uint32_t *plen)
{
	/* three bytes after the descriptor: not one more descriptor */
	(void)f;
	put_be32(b + 8, 28 + 3);
	*plen += 3;
}

static void seg_too_many(struct fx *f, uint8_t *b, uint32_t *plen)
{
	/* 17 segments (RECEIVE COPY RESULTS reports 16), 476 bytes */
	(void)f;
	for (unsigned int i = 1; i < 17; i++)
		memcpy(b + SD + 28 * i, b + SD, 28);
	put_be32(b + 8, 28 * 17);
	*plen = SD + 28 * 17;
}

static void seg_source_index(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	put_be16(b + SD + 4, 1); /* of one target descriptor */
}

static void seg_past_the_end(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	put_be64(b + SD + 12, NBLOCKS - 2); /* 4 blocks from there */
}

static void inline_data(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f, (void)plen;
	put_be32(b + 12, 4);
}

static void tgt_list_not_whole(struct fx *f, uint8_t *b, uint32_t *plen)
{
	(void)f;
	put_be16(b + 2, 33);
	*plen += 1;
}

static void lists_past_the_limit(struct fx *f, uint8_t *b, uint32_t *plen)
{
	/* 1024 bytes of descriptors at most (RECEIVE COPY RESULTS) */
	(void)f, (void)plen;
	put_be32(b + 8, 1024 - 32 + 28);
}

static const struct refusal refusals[] = {
	{"an unsupported target descriptor type", tgt_type, SK_ILLEGAL_REQUEST,
	 ASC_UNSUPPORTED_TARGET_DESC, -1},
	{"a peripheral device type not 0", tgt_device_type, SK_ILLEGAL_REQUEST,
	 ASC_INVALID_FIELD_IN_PARAM, TD + 1},
	{"a designator in ASCII", tgt_code_set, SK_COPY_ABORTED,
	 ASC_COPY_TARGET_NOT_REACHABLE, -1},
	{"a designator not an NAA", tgt_designator_type, SK_COPY_ABORTED,
	 ASC_COPY_TARGET_NOT_REACHABLE, -1},
	{"a designator of 8 bytes", tgt_designator_length, SK_COPY_ABORTED,
	 ASC_COPY_TARGET_NOT_REACHABLE, -1},
	{"a disk block length not the LU's", tgt_block_length, SK_COPY_ABORTED,
	 ASC_COPY_TARGET_NOT_REACHABLE, -1},
	{"an unsupported segment descriptor type", seg_type, SK_ILLEGAL_REQUEST,
	 ASC_UNSUPPORTED_SEGMENT_DESC, -1},
	{"a segment descriptor length not 24", seg_length, SK_ILLEGAL_REQUEST,
	 ASC_PARAM_LIST_LENGTH, -1},
	{"a segment list with 3 bytes left over", seg_list_tail,
	 SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, -1},
	{"17 segment descriptors", seg_too_many, SK_ILLEGAL_REQUEST,
	 ASC_TOO_MANY_SEGMENT_DESC, -1},
	{"a source index past the target descriptors", seg_source_index,
	 SK_COPY_ABORTED, ASC_COPY_TARGET_NOT_REACHABLE, -1},
	{"a segment past the end of the LU", seg_past_the_end, SK_COPY_ABORTED,
	 ASC_NO_ADDITIONAL, -1},
	{"inline data", inline_data, SK_ILLEGAL_REQUEST,
	 ASC_INVALID_FIELD_IN_PARAM, 12},
	{"a target descriptor list not of whole descriptors",
	 tgt_list_not_whole, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM, 2},
	{"descriptor lists past 1024 bytes", lists_past_the_limit,
	 SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, -1},
};

/* The destination still holds zeros: nothing was copied. */
static void expect_nothing_copied(struct fx *f, const char *what)
{
	read_blocks(f, DST_LBA, 4);
	for (unsigned int i = 0; i < 4 * BS; i++)
		if (f->buf[i] != 0)
			fail_msg("%s: the copy wrote its destination", what);
}

static void each_wrong_field_is_refused_and_copies_nothing(void **state)
{
	struct fx *f = *state;

	write_blocks(f, 0, 4, 0x5c);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		uint32_t plen = LEN;
		struct scsi_cmd *c;

		valid_list(f, f->buf);
		r->edit(f, f->buf, &plen);
		c = run_xcopy(f, 0, plen);
		if (c->status != SCSI_STATUS_CHECK_CONDITION ||
		    sense_key(c) != r->key || sense_asc(c) != r->asc)
			fail_msg("%s: status %02x sense %x/%04x, expected "
				 "%x/%04x",
				 r->what, c->status, sense_key(c), sense_asc(c),
				 r->key, r->asc);
		if (r->field >= 0) {
			/* SKSV, C/D 0 (parameter data), the byte */
			assert_int_equal(c->sense[15] & 0xc0, 0x80);
			assert_int_equal(get_be16(c->sense + 16), r->field);
		}
		expect_nothing_copied(f, r->what);
	}
	/* the valid list itself copies */
	valid_list(f, f->buf);
	expect_good(run_xcopy(f, 0, LEN));
	read_blocks(f, DST_LBA, 4);
	for (unsigned int i = 0; i < 4 * BS; i++)
		assert_int_equal(f->buf[i], 0x5c);
}

/* SPC-4 §6.4.5.5: a destination the nexus may not write (a read-only
 * mapping) is DATA PROTECT, WRITE PROTECTED; nothing is copied. */
static void a_write_protected_destination_is_data_protect(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, true);
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "ro",
				  .size_bytes = 1u << 20,
				  .block_size = BS};
	struct bs_dev *bs;
	struct scsi_lu *ro;
	uint8_t *b = f->buf;

	(void)state;
	assert_int_equal(bs_mem_open(&p, &bs), 0);
	ro = scsi_lu_new(&stub_env, NULL, bs, 9);
	assert_non_null(ro);
	assert_int_equal(scsi_sess_map(f->sess, 1, ro, true), 0);
	scsi_ua_clear(f->sess->lun_map[1]);
	write_blocks(f, 0, 4, 0x77);
	valid_list(f, b);
	/* a second target descriptor: the read-only LU, the destination */
	memmove(b + SD + 32, b + SD, 28);
	memcpy(b + SD, b + TD, 32);
	put_be64(b + SD + 8, ro->naa_hi);
	put_be64(b + SD + 16, ro->naa_lo);
	put_be16(b + 2, 64);
	put_be16(b + SD + 32 + 6, 1);
	expect_sense(run_xcopy(f, 0, LEN + 32), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
	expect_nothing_copied(f, "a write-protected destination");
	fx_free(f); /* its session's nexus to ro first */
	scsi_lu_free(ro);
	bs_close(bs);
}

/* Reserved bits of EXTENDED COPY byte 1 (a LID4 service action we do
 * not have), and RECEIVE COPY RESULTS service actions other than COPY
 * STATUS (00h) and OPERATING PARAMETERS (03h): INVALID FIELD IN CDB,
 * pointing at byte 1. */
static void unknown_service_actions_are_invalid_fields(void **state)
{
	struct fx *f = *state;
	uint8_t rcr[16] = {0x84, 0x04};
	struct scsi_cmd *c;

	valid_list(f, f->buf);
	c = run_xcopy(f, 0x01, LEN);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(c->sense[15] & 0xc0, 0xc0); /* SKSV, C/D 1 */
	assert_int_equal(get_be16(c->sense + 16), 1);
	put_be32(rcr + 10, 64);
	c = run(f, rcr, 16, 64, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 1);
	assert_int_equal(c->data_in_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(each_wrong_field_is_refused_and_copies_nothing),
		cmocka_unit_test(a_write_protected_destination_is_data_protect),
		T(unknown_service_actions_are_invalid_fields),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
