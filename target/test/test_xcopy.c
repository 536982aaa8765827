/*
 * test_xcopy.c — EXTENDED COPY and RECEIVE COPY RESULTS
 * (scsi/xcopy.c).
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

/* ------------------------------------------------- EXTENDED COPY */

/* A second LU (index 8) and a session of another initiator that maps it. */
struct xc_other {
	struct bs_dev *bs;
	struct scsi_lu *lu;
	struct scsi_sess *sess;
};

static void xc_other_new(struct xc_other *o)
{
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "d2",
				  .size_bytes = 1u << 20,
				  .block_size = BS};
	struct scsi_nexus_id id = {0};

	assert_int_equal(bs_mem_open(&p, &o->bs), 0);
	o->lu = scsi_lu_new(&stub_env, NULL, o->bs, 8);
	assert_non_null(o->lu);
	strcpy(id.initiator_name, "iqn.1994-05.com.example:other");
	o->sess = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(o->sess, 0, o->lu, false), 0);
}

/* Header, ntgt identification descriptors naming the 16-byte NAA naa[i],
 * one block-to-block segment 0 -> dst_index of nblocks. */
static uint32_t xc_list(uint8_t *b, const uint8_t (*naa)[16], unsigned int ntgt,
			uint16_t dst_index, uint16_t nblocks)
{
	uint8_t *d = b + 16;

	memset(b, 0, 16 + 32 * ntgt + 28);
	b[0] = 1; /* LIST IDENTIFIER */
	put_be16(b + 2, (uint16_t)(32 * ntgt));
	put_be32(b + 8, 28);
	for (unsigned int i = 0; i < ntgt; i++, d += 32) {
		d[0] = 0xe4;
		d[4] = 1; /* binary */
		d[5] = 3; /* LU, NAA */
		d[7] = 16;
		memcpy(d + 8, naa[i], 16);
		put_be24(d + 29, BS);
	}
	d[0] = 0x02;
	put_be16(d + 2, 24);
	put_be16(d + 6, dst_index);
	put_be16(d + 10, nblocks);
	put_be64(d + 20, 64); /* destination LBA */
	return 16 + 32 * ntgt + 28;
}

static void naa_of(const struct scsi_lu *lu, uint8_t naa[16])
{
	put_be64(naa, lu->naa_hi);
	put_be64(naa + 8, lu->naa_lo);
}

static struct scsi_cmd *run_xcopy(struct fx *f, uint32_t plen)
{
	uint8_t cdb[16] = {0x83};

	put_be32(cdb + 10, plen);
	return run(f, cdb, 16, plen, plen);
}

/* CVE-2020-28374: a designator naming an LU of this target that is not
 * mapped for this nexus, or no LU here at all, is COPY ABORTED, COPY
 * TARGET DEVICE NOT REACHABLE, and nothing is copied; once mapped, the
 * same list copies. */
static void xcopy_reaches_only_lus_mapped_for_this_nexus(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, true);
	struct xc_other o;
	uint8_t naa[2][16];
	uint32_t len;
	(void)state;

	xc_other_new(&o);
	naa_of(f->lu, naa[0]);
	naa_of(o.lu, naa[1]);
	write_blocks(f, 0, 4, 0xab);
	len = xc_list(f->buf, naa, 2, 1, 4);
	expect_sense(run_xcopy(f, len), SK_COPY_ABORTED,
		     ASC_COPY_TARGET_NOT_REACHABLE);
	naa[1][15] ^= 0xff; /* a foreign device */
	len = xc_list(f->buf, naa, 2, 1, 4);
	expect_sense(run_xcopy(f, len), SK_COPY_ABORTED,
		     ASC_COPY_TARGET_NOT_REACHABLE);
	naa[1][15] ^= 0xff;
	assert_int_equal(scsi_sess_map(f->sess, 1, o.lu, false), 0);
	len = xc_list(f->buf, naa, 2, 1, 4);
	expect_good(run_xcopy(f, len));
	fx_free(f);
	scsi_sess_free(o.sess);
	scsi_lu_free(o.lu);
	bs_close(o.bs);
}

/* SPC-4 §6.4.3: descriptors the header claims but the list does not
 * carry are PARAMETER LIST LENGTH ERROR; at exactly the length, GOOD. */
static void xcopy_list_shorter_than_header_is_length_error(void **state)
{
	struct fx *f = *state;
	uint8_t naa[1][16];
	uint32_t len;

	naa_of(f->lu, naa[0]);
	len = xc_list(f->buf, naa, 1, 0, 1);
	expect_sense(run_xcopy(f, len - 1), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	expect_sense(run_xcopy(f, 15), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	expect_good(run_xcopy(f, len));
	expect_good(run_xcopy(f, 0)); /* nothing to do */
}

/* The limits RECEIVE COPY RESULTS reports: 8 target descriptors pass,
 * 9 are TOO MANY TARGET DESCRIPTORS. */
static void xcopy_target_descriptor_count_both_sides(void **state)
{
	struct fx *f = *state;
	uint8_t naa[9][16];
	uint32_t len;

	for (unsigned int i = 0; i < 9; i++)
		naa_of(f->lu, naa[i]);
	len = xc_list(f->buf, naa, 8, 0, 1);
	expect_good(run_xcopy(f, len));
	len = xc_list(f->buf, naa, 9, 0, 1);
	expect_sense(run_xcopy(f, len), SK_ILLEGAL_REQUEST,
		     ASC_TOO_MANY_TARGET_DESC);
}

/*
 * A segment between 4096-byte LUs, sent to a 512-byte LU (and one between
 * LUs of different block lengths, which is refused).  The copy
 * buffer was cut in blocks of the addressed LU (2048 blocks of 512 bytes
 * per 1 MiB chunk) and then filled with 4096-byte source blocks: 512 of
 * them, 2 MiB into the 1 MiB buffer (found by the assertion on the chunk
 * size in copy_step).  Each chunk is now cut in the segment's own blocks
 * and the copy arrives whole.
 */
static void xcopy_between_4k_lus_sent_to_a_512_byte_lu_copies_whole(void **st)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, true);
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "d4k",
				  .size_bytes = 8u << 20,
				  .block_size = 4096};
	const uint32_t nblocks = 512, bytes = nblocks * 4096;
	struct bs_dev *bs4k;
	struct scsi_lu *lu4k;
	uint8_t naa[1][16], cdb[16] = {0};
	uint32_t len;
	(void)st;

	assert_int_equal(bs_mem_open(&p, &bs4k), 0);
	lu4k = scsi_lu_new(&stub_env, NULL, bs4k, 9);
	assert_non_null(lu4k);
	assert_int_equal(scsi_sess_map(f->sess, 1, lu4k, false), 0);
	expect_sense(run_lun(f, 1, cdb, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	fill(f->buf, bytes, 3);
	cdb_rw16(cdb, 0x8a, 0, nblocks); /* source: LBAs 0..511 */
	expect_good(run_lun(f, 1, cdb, 16, bytes, bytes));
	naa_of(lu4k, naa[0]);
	len = xc_list(f->buf, naa, 1, 0, (uint16_t)nblocks);
	put_be24(f->buf + 16 + 29, 4096); /* DISK BLOCK LENGTH of lu4k */
	expect_good(run_xcopy(f, len));	  /* to LBA 64 of the same LU */
	cdb_rw16(cdb, 0x88, 64, nblocks);
	expect_good(run_lun(f, 1, cdb, 16, bytes, 0));
	for (uint32_t i = 0; i < bytes; i++)
		if (f->buf[i] != (uint8_t)(3 + i * 7))
			fail_msg("byte %u of the copy differs from the source",
				 i);
	/* From the 4096-byte LU to the 512-byte one: NUMBER OF BLOCKS
	 * cannot count both; refused, nothing written. */
	{
		uint8_t two[2][16];

		naa_of(lu4k, two[0]);
		naa_of(f->lu, two[1]);
		len = xc_list(f->buf, two, 2, 1, 8);
		put_be24(f->buf + 16 + 29, 4096);
		expect_sense(run_xcopy(f, len), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_PARAM);
	}
	fx_free(f);
	scsi_lu_free(lu4k);
	bs_close(bs4k);
}

/* Allocation lengths 0, 1 and 0xFFFFFFFF: truncation, never an error. */
static void receive_copy_results_allocation_lengths(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x84, 0x03};
	struct scsi_cmd *c;

	c = run(f, cdb, 16, 64, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
	put_be32(cdb + 10, 1);
	c = run(f, cdb, 16, 64, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 1);
	assert_int_equal(c->buf[0], 0);
	put_be32(cdb + 10, 0xffffffffu);
	c = run(f, cdb, 16, 64, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 46);
	assert_int_equal(get_be16(c->buf + 8), 8); /* max target descs */
	cdb[1] = 0x00;				   /* COPY STATUS */
	cdb[2] = 77;				   /* never used */
	expect_sense(run(f, cdb, 16, 64, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* ------------------------------------------ copy target device failure */

/* The LU's backstore, wrapped: a request of op covering byte fail_at
 * fails with -EIO; everything else goes to the mem backstore. */
static const struct bs_ops *real_ops;
static struct bs_ops faulty_ops;
static enum bs_op fail_op;
static uint64_t fail_at;

static void faulty_submit(struct bs_dev *dev, struct bs_req *req)
{
	if (req->op == fail_op && req->offset_bytes <= fail_at &&
	    fail_at < req->offset_bytes + req->length_bytes) {
		req->done(req, -EIO);
		return;
	}
	real_ops->submit(dev, req);
}

static void faulty_wrap(struct fx *f, enum bs_op op, uint64_t lba)
{
	real_ops = f->bs->ops;
	faulty_ops = *real_ops;
	faulty_ops.submit = faulty_submit;
	f->bs->ops = &faulty_ops;
	fail_op = op;
	fail_at = lba * BS;
}

/* Two segments on LU 0: 0 -> 64 (4 blocks), then 8 -> 100 (4 blocks). */
static uint32_t xc_two_segments(struct fx *f)
{
	uint8_t naa[1][16], *d;
	uint32_t len;

	naa_of(f->lu, naa[0]);
	len = xc_list(f->buf, naa, 1, 0, 4);
	d = f->buf + len;
	memset(d, 0, 28);
	d[0] = 0x02;
	put_be16(d + 2, 24);
	put_be16(d + 10, 4);
	put_be64(d + 12, 8);
	put_be64(d + 20, 100);
	put_be32(f->buf + 8, 2 * 28);
	return len + 28;
}

/* COPY STATUS of list identifier 1: status, segments processed. */
static void expect_copy_status(struct fx *f, uint8_t status, uint16_t segs)
{
	uint8_t cdb[16] = {0x84, 0x00, 1};
	struct scsi_cmd *c;

	put_be32(cdb + 10, 12);
	c = run(f, cdb, 16, 12, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 12);
	assert_int_equal(c->buf[4], status);
	assert_int_equal(get_be16(c->buf + 5), segs);
}

/* The sense of a copy manager whose copy target device failed (SPC-5
 * §5.17.7.4, "errors detected during processing of segment
 * descriptors"; SPC-4 has the same subclause): COPY ABORTED, THIRD PARTY DEVICE
 * FAILURE; the segment number in the third and fourth bytes of
 * COMMAND-SPECIFIC INFORMATION (fixed format bytes 10..11; the first two
 * stay 0: no device sense follows); INFORMATION the segment's residual,
 * VALID only if some of it was written; SKSV 1, SD 0, FIELD POINTER the
 * failing device's CSCD descriptor (16: the list's only one). */
static void expect_copy_aborted(const struct scsi_cmd *c, uint16_t seg,
				bool info_valid, uint32_t residual)
{
	expect_sense(c, SK_COPY_ABORTED, ASC_THIRD_PARTY_DEVICE_FAILURE);
	if (get_be16(c->sense + 10) != seg || get_be16(c->sense + 8) != 0)
		fail_msg("SPC-5 §5.17.7.4 b): the segment number, %u, goes to "
			 "the third and fourth bytes of COMMAND-SPECIFIC "
			 "INFORMATION; got %08x (INFORMATION %u, VALID %d)",
			 seg, get_be32(c->sense + 8), get_be32(c->sense + 3),
			 (c->sense[0] & 0x80) != 0);
	assert_int_equal((c->sense[0] & 0x80) != 0, info_valid);
	if (info_valid)
		assert_int_equal(get_be32(c->sense + 3), residual);
	else
		assert_int_equal(get_be32(c->sense + 3), 0);
	assert_int_equal(c->sense[15], 0x80); /* SKSV, SD 0, no bit */
	assert_int_equal(get_be16(c->sense + 16), 16);
}

/*
 * A copy target device that fails ends EXTENDED COPY with the copy
 * manager's sense (expect_copy_aborted), never the sense of the LU read
 * or written.  Before: INFORMATION the segment number, COMMAND-SPECIFIC
 * INFORMATION 0, no segment pointer (and before that MEDIUM ERROR with
 * INFORMATION 100, an LBA the initiator reads as one of its own LU).
 */
static void xcopy_device_failure_is_copy_aborted_naming_the_segment(void **st)
{
	struct fx *f = *st;
	struct scsi_cmd *c;
	uint32_t len;

	write_blocks(f, 0, 16, 0xab);
	faulty_wrap(f, BS_OP_WRITE, 101); /* segment 1's destination */
	len = xc_two_segments(f);
	c = run_xcopy(f, len);
	expect_copy_aborted(c, 1, false, 0); /* its only chunk failed */
	expect_copy_status(f, 0x02, 1);	     /* ended with errors, after one */
	f->bs->ops = real_ops;
	read_blocks(f, 64, 4); /* segment 0 was copied whole */
	for (unsigned int i = 0; i < 4 * BS; i++)
		if (f->buf[i] != 0xab)
			fail_msg("segment 0 processed before the failure was "
				 "not copied (byte %u)",
				 i);

	/* A read of the first segment's source: segment 0. */
	faulty_wrap(f, BS_OP_READ, 2);
	len = xc_two_segments(f);
	c = run_xcopy(f, len);
	expect_copy_aborted(c, 0, false, 0);
	expect_copy_status(f, 0x02, 0);
	f->bs->ops = real_ops;
	len = xc_two_segments(f);
	expect_good(run_xcopy(f, len));
	expect_copy_status(f, 0x01, 2);
}

/* A segment of three 1 MiB chunks whose second chunk's write fails: one
 * chunk (2,048 blocks) was written, so INFORMATION (VALID 1) is the
 * residual, 4,096 blocks; with the read of the third chunk failing, two
 * were written: 2,048.  Descriptor format carries the same in a 01h
 * descriptor (the CSI field's third and fourth bytes: 6..7 of it). */
static void xcopy_device_failure_reports_the_segments_residual(void **st)
{
	struct fx *f = *st;
	uint8_t naa[1][16];
	struct scsi_cmd *c;
	uint32_t len, n = 3 * 2048;

	naa_of(f->lu, naa[0]);
	faulty_wrap(f, BS_OP_WRITE, 100000 + 2048);
	len = xc_list(f->buf, naa, 1, 0, n);
	put_be64(f->buf + len - 8, 100000); /* the destination LBA */
	c = run_xcopy(f, len);
	expect_copy_aborted(c, 0, true, n - 2048);
	f->bs->ops = real_ops;
	faulty_wrap(f, BS_OP_READ, 2 * 2048);
	len = xc_list(f->buf, naa, 1, 0, n);
	put_be64(f->buf + len - 8, 100000);
	c = run_xcopy(f, len);
	expect_copy_aborted(c, 0, true, n - 2 * 2048);
	f->bs->ops = real_ops;
	scsi_lu_set_d_sense(f->lu, true);
	faulty_wrap(f, BS_OP_WRITE, 100000 + 2048);
	len = xc_list(f->buf, naa, 1, 0, n);
	put_be64(f->buf + len - 8, 100000);
	c = run_xcopy(f, len);
	f->bs->ops = real_ops;
	assert_int_equal(c->sense[0], 0x72);
	assert_int_equal(c->sense[1], SK_COPY_ABORTED);
	/* information 00h (12), command-specific 01h (12), sks 02h (8) */
	assert_int_equal(c->sense[7], 32);
	assert_int_equal(c->sense[8], 0x00);
	assert_int_equal(get_be64(c->sense + 12), n - 2048);
	assert_int_equal(c->sense[20], 0x01);
	assert_int_equal(c->sense[21], 0x0a);
	assert_int_equal(get_be16(c->sense + 24 + 2), 0); /* segment 0 */
	assert_int_equal(c->sense[32], 0x02);
	assert_int_equal(c->sense[36], 0x80);
	assert_int_equal(get_be16(c->sense + 37), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		cmocka_unit_test(xcopy_reaches_only_lus_mapped_for_this_nexus),
		T(xcopy_list_shorter_than_header_is_length_error),
		T(xcopy_target_descriptor_count_both_sides),
		T(receive_copy_results_allocation_lengths),
		T(xcopy_device_failure_is_copy_aborted_naming_the_segment),
		T(xcopy_device_failure_reports_the_segments_residual),
		cmocka_unit_test(
			xcopy_between_4k_lus_sent_to_a_512_byte_lu_copies_whole),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
