/*
 * test_sbc_lbp.c — logical block provisioning (scsi/sbc_lbp.c):
 * WRITE SAME, UNMAP and GET LBA STATUS.
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

/* ------------------------------------------------------- WRITE SAME */

static void cdb_ws16(uint8_t *cdb, uint8_t flags, uint64_t lba, uint32_t n)
{
	cdb_rw16(cdb, 0x93, lba, n);
	cdb[1] = flags;
}

static void cdb_ws10(uint8_t *cdb, uint8_t flags, uint32_t lba, uint16_t n)
{
	cdb_rw10(cdb, 0x41, lba, n);
	cdb[1] = flags;
}

static void write_same10_writes_the_block_to_every_lba(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	const uint32_t n = 1100; /* more than one pattern buffer */

	fill(f->buf, BS, 3);
	cdb_ws10(cdb, 0, 1000, n);
	expect_good(run(f, cdb, 10, BS, BS));
	assert_int_equal(f->cmd.xfer_len, BS);
	read_blocks(f, 1000, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(f->buf[i * BS + 5], (uint8_t)(3 + 5 * 7));
	read_blocks(f, 1000 + n, 1);
	assert_int_equal(f->buf[5], 0);
}

static void write_same16_zero_blocks_means_to_the_last_lba(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	memset(f->buf, 0x77, BS);
	cdb_ws16(cdb, 0, NBLOCKS - 10, 0);
	expect_good(run(f, cdb, 16, BS, BS));
	read_blocks(f, NBLOCKS - 10, 10);
	assert_int_equal(f->buf[0], 0x77);
	assert_int_equal(f->buf[10 * BS - 1], 0x77);
}

static void write_same_past_end_is_lba_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	memset(f->buf, 0, BS);
	cdb_ws16(cdb, 0, NBLOCKS - 1, 2);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	cdb_ws16(cdb, 0, NBLOCKS + 1, 0);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	cdb_ws10(cdb, 0, 0xffffffffu, 1);
	expect_sense(run(f, cdb, 10, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void write_same_beyond_max_length_is_invalid_field(void **state)
{
	struct fx *f =
		fx_new(NULL, (uint64_t)(SCSI_MAX_WS_BLOCKS + 8) * BS, true);
	uint8_t cdb[16];
	struct scsi_cmd *c;

	memset(f->buf, 0, BS);
	cdb_ws16(cdb, 0x08, 0, SCSI_MAX_WS_BLOCKS + 1);
	c = run(f, cdb, 16, BS, BS);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 10);
	cdb_ws16(cdb, 0x08, 0, 0); /* to the end: also too many */
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	cdb_ws16(cdb, 0x08, 8, 0); /* exactly the maximum */
	expect_good(run(f, cdb, 16, BS, BS));
	fx_free(f);
}

static void write_same_anchor_wrprotect_lbdata_are_invalid_field(void **state)
{
	struct fx *f = *state;
	static const uint8_t bad[] = {0x10, 0x18, 0x20, 0xe0, 0x02, 0x04};
	uint8_t cdb[10];

	memset(f->buf, 0, BS);
	for (size_t i = 0; i < sizeof(bad); i++) {
		cdb_ws10(cdb, bad[i], 0, 1);
		expect_sense(run(f, cdb, 10, BS, BS), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB);
	}
}

static void write_same_data_out_not_one_block_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	memset(f->buf, 0xa6, 2 * BS);
	cdb_ws10(cdb, 0x08, 0, 1);
	expect_sense(run(f, cdb, 10, BS / 2, BS / 2), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	expect_sense(run(f, cdb, 10, 2 * BS, 2 * BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	read_blocks(f, 0, 1);
	assert_int_equal(f->buf[0], 0);
}

static uint8_t lba_status(struct fx *f, uint64_t lba, uint32_t *extent)
{
	uint8_t cdb[16] = {0x9e, 0x12};
	struct scsi_cmd *c;

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, 24);
	c = run(f, cdb, 16, 24, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 24);
	assert_int_equal(get_be64(f->buf + 8), lba);
	if (extent)
		*extent = get_be32(f->buf + 16);
	return f->buf[8 + 12];
}

static void write_same_unmap_of_zeros_deallocates(void **state)
{
	struct fx *f = *state;
	const uint32_t chunk = (1u << 20) / BS;
	uint8_t cdb[16];

	write_blocks(f, chunk, chunk, 0xff);
	assert_int_equal(lba_status(f, chunk, NULL), 0); /* mapped */
	memset(f->buf, 0, BS);
	cdb_ws16(cdb, 0x08, chunk, chunk);
	expect_good(run(f, cdb, 16, BS, BS));
	assert_int_equal(lba_status(f, chunk, NULL), 1); /* deallocated */
	read_blocks(f, chunk, 4);
	assert_int_equal(f->buf[0], 0);
}

static void write_same_unmap_deallocates_even_with_nonzero_data(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	write_blocks(f, 10, 3, 0x11);
	memset(f->buf, 0x42, BS);
	cdb_ws10(cdb, 0x08, 10, 3);
	expect_good(run(f, cdb, 10, BS, BS));
	read_blocks(f, 10, 3);
	assert_int_equal(f->buf[0], 0);
	assert_int_equal(f->buf[3 * BS - 1], 0);
}

static void write_same16_ndob_unmaps_without_data(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];
	struct scsi_cmd *c;

	write_blocks(f, 40, 2, 0x99);
	cdb_ws16(cdb, 0x08 | 0x01, 40, 2);
	c = run(f, cdb, 16, 0, 0);
	expect_good(c);
	assert_int_equal(c->xfer_len, 0);
	read_blocks(f, 40, 2);
	assert_int_equal(f->buf[0], 0);
}

static void write_same_unmap_on_thick_lu_is_invalid_field(void **state)
{
	struct fx *f;
	uint8_t cdb[16];

	fx_thin = false;
	f = fx_new(NULL, DISK_BYTES, true);
	fx_thin = true;
	memset(f->buf, 0, BS);
	cdb_ws16(cdb, 0x08, 0, 1);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	cdb_ws16(cdb, 0, 0, 1);
	expect_good(run(f, cdb, 16, BS, BS));
	fx_free(f);
}

static void write_same_to_read_only_lu_is_write_protected(void **state)
{
	struct fx *f = *state;
	struct ut_dev_cfg dev = {0};
	struct fx *thick;
	uint8_t cdb[16];

	/* even UNMAP=1 on a fully provisioned read-only LU */
	dev.read_only = true;
	fx_thin = false;
	thick = fx_new(&dev, DISK_BYTES, true);
	fx_thin = true;
	memset(thick->buf, 0, BS);
	cdb_ws16(cdb, 0x08, 0, 1);
	expect_sense(run(thick, cdb, 16, BS, BS), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
	fx_free(thick);

	assert_int_equal(scsi_sess_map(f->sess, 1, f->lu, true), 0);
	scsi_ua_clear(f->sess->lun_map[1]);
	memset(f->buf, 0, BS);
	cdb_ws16(cdb, 0x08, 0, 1);
	expect_sense(run_lun(f, 1, cdb, 16, BS, BS), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
}

/* ------------------------------------------------------------ UNMAP */

static uint32_t unmap_list(uint8_t *p, const uint64_t *lba, const uint32_t *n,
			   unsigned int count)
{
	memset(p, 0, 8 + 16 * count);
	put_be16(p, (uint16_t)(6 + 16 * count));
	put_be16(p + 2, (uint16_t)(16 * count));
	for (unsigned int i = 0; i < count; i++) {
		put_be64(p + 8 + 16 * i, lba[i]);
		put_be32(p + 8 + 16 * i + 8, n[i]);
	}
	return 8 + 16 * count;
}

static struct scsi_cmd *run_unmap(struct fx *f, uint32_t plen)
{
	uint8_t cdb[10] = {0x42};

	put_be16(cdb + 7, (uint16_t)plen);
	return run(f, cdb, 10, plen, plen);
}

static void unmap_deallocates_every_descriptor(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {5, 100};
	uint32_t n[] = {2, 0};

	write_blocks(f, 0, 200, 0x11);
	n[1] = 50;
	expect_good(run_unmap(f, unmap_list(f->buf, lba, n, 2)));
	read_blocks(f, 0, 200);
	assert_int_equal(f->buf[4 * BS], 0x11);
	assert_int_equal(f->buf[5 * BS], 0);
	assert_int_equal(f->buf[7 * BS - 1], 0);
	assert_int_equal(f->buf[7 * BS], 0x11);
	assert_int_equal(f->buf[100 * BS], 0);
	assert_int_equal(f->buf[150 * BS - 1], 0);
	assert_int_equal(f->buf[150 * BS], 0x11);
}

static void unmap_zero_length_list_and_zero_blocks_are_good(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {NBLOCKS};
	uint32_t n[] = {0};

	expect_good(run_unmap(f, 0));
	expect_good(run_unmap(f, unmap_list(f->buf, lba, n, 0)));
	expect_good(run_unmap(f, unmap_list(f->buf, lba, n, 1)));
}

static void unmap_list_shorter_than_8_is_param_list_length_error(void **state)
{
	struct fx *f = *state;

	memset(f->buf, 0, 8);
	expect_sense(run_unmap(f, 7), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	expect_good(run_unmap(f, 8));
}

static void unmap_header_claiming_more_than_list_is_length_error(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {0, 8};
	uint32_t n[] = {1, 1};
	uint32_t len = unmap_list(f->buf, lba, n, 2);

	/* block descriptor data length says 2, the list carries 1 */
	expect_sense(run_unmap(f, len - 16), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	unmap_list(f->buf, lba, n, 2);
	put_be16(f->buf, (uint16_t)(len - 2 + 1)); /* data length */
	expect_sense(run_unmap(f, len), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
}

static void unmap_trailing_partial_descriptor_is_ignored(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {0};
	uint32_t n[] = {1};
	uint32_t len;

	write_blocks(f, 0, 1, 0x33);
	len = unmap_list(f->buf, lba, n, 1);
	put_be16(f->buf + 2, 16 + 8);
	put_be16(f->buf, (uint16_t)(len + 8 - 2));
	expect_good(run_unmap(f, len + 8));
	read_blocks(f, 0, 1);
	assert_int_equal(f->buf[0], 0);
}

static void unmap_too_many_descriptors_is_invalid_param(void **state)
{
	struct fx *f = *state;
	static uint64_t lba[SCSI_MAX_UNMAP_DESC + 1];
	static uint32_t n[SCSI_MAX_UNMAP_DESC + 1];

	expect_good(
		run_unmap(f, unmap_list(f->buf, lba, n, SCSI_MAX_UNMAP_DESC)));
	expect_sense(run_unmap(f, unmap_list(f->buf, lba, n,
					     SCSI_MAX_UNMAP_DESC + 1)),
		     SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
}

static void unmap_too_many_blocks_is_invalid_param(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {0};
	uint32_t n[] = {SCSI_MAX_UNMAP_BLOCKS + 1};
	struct scsi_cmd *c;

	c = run_unmap(f, unmap_list(f->buf, lba, n, 1));
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c->sense[15], 0x80); /* SKSV, C/D = 0 */
	assert_int_equal(get_be16(c->sense + 16), 16);
}

static void unmap_past_end_is_lba_out_of_range_and_unmaps_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t lba[] = {0, NBLOCKS - 1};
	uint32_t n[] = {1, 2};

	write_blocks(f, 0, 1, 0x44);
	expect_sense(run_unmap(f, unmap_list(f->buf, lba, n, 2)),
		     SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	read_blocks(f, 0, 1);
	assert_int_equal(f->buf[0], 0x44);
}

static void unmap_on_thick_lu_is_invalid_opcode_unless_read_only(void **state)
{
	struct fx *f;

	fx_thin = false;
	f = fx_new(NULL, DISK_BYTES, true);
	fx_thin = true;
	memset(f->buf, 0, 8);
	expect_sense(run_unmap(f, 8), SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	fx_free(f);
	/* ... unless it is read-only: write protection comes first */
	struct ut_dev_cfg dev = {0};

	dev.read_only = true;
	fx_thin = false;
	f = fx_new(&dev, DISK_BYTES, true);
	fx_thin = true;
	memset(f->buf, 0, 8);
	expect_sense(run_unmap(f, 8), SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	fx_free(f);
}

static void unmap_anchor_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x42, 0x01};

	put_be16(cdb + 7, 8);
	memset(f->buf, 0, 8);
	expect_sense(run(f, cdb, 10, 8, 8), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* --------------------------------------------------- GET LBA STATUS */

static void get_lba_status_reports_mapped_and_deallocated_extents(void **state)
{
	struct fx *f = *state;
	const uint32_t chunk = (1u << 20) / BS;
	uint32_t extent;

	assert_int_equal(lba_status(f, 0, &extent), 1);
	assert_int_equal(extent, NBLOCKS);
	write_blocks(f, 3 * chunk + 7, 1, 0x1);
	assert_int_equal(lba_status(f, 0, &extent), 1);
	assert_int_equal(extent, 3 * chunk);
	assert_int_equal(lba_status(f, 3 * chunk + 5, &extent), 0);
	assert_int_equal(extent, chunk - 5);
	assert_int_equal(lba_status(f, NBLOCKS - 1, &extent), 1);
	assert_int_equal(extent, 1);
}

static void get_lba_status_past_last_lba_is_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x9e, 0x12};

	put_be32(cdb + 10, 24);
	put_be64(cdb + 2, NBLOCKS);
	expect_sense(run(f, cdb, 16, 24, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	put_be64(cdb + 2, UINT64_MAX);
	expect_sense(run(f, cdb, 16, 24, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void get_lba_status_fills_the_allocation_length(void **state)
{
	struct fx *f = *state;
	const uint32_t chunk = (1u << 20) / BS;
	uint8_t cdb[16] = {0x9e, 0x12};
	struct scsi_cmd *c;

	write_blocks(f, chunk, 1, 1);
	put_be32(cdb + 10, 8 + 3 * 16);
	c = run(f, cdb, 16, 1024, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8 + 3 * 16);
	assert_int_equal(get_be32(f->buf), 4 + 3 * 16);
	assert_int_equal(f->buf[8 + 12], 1);
	assert_int_equal(f->buf[8 + 16 + 12], 0);
	assert_int_equal(get_be64(f->buf + 8 + 32), 2 * chunk);
}

/* SBC-4 §5.8.2: the parameter data holds the descriptors from the
 * STARTING LOGICAL BLOCK ADDRESS on, as many as the allocation length
 * takes, and the largest allocation lengths take the most.  Regression:
 * the descriptor count (alloc - 8 + 15) / 16 was computed in 32 bits, so
 * an allocation length of 0xfffffff9 or more wrapped it to 0 and the
 * answer held no descriptor at all. */
static void get_lba_status_with_the_largest_allocation_lengths(void **state)
{
	struct fx *f = *state;
	const uint32_t chunk = (1u << 20) / BS;
	uint8_t cdb[16] = {0x9e, 0x12};

	write_blocks(f, chunk, 1, 1);
	put_be64(cdb + 2, 5);
	for (uint32_t alloc = 0xfffffff0u; alloc != 0; alloc++) {
		struct scsi_cmd *c;

		put_be32(cdb + 10, alloc);
		c = run(f, cdb, 16, 1024, 0);
		expect_good(c);
		/* three extents: deallocated, mapped, deallocated */
		if (get_be32(f->buf) != 4 + 3 * 16)
			fail_msg("allocation length %#x: PARAMETER DATA "
				 "LENGTH %u, want %u (three descriptors)",
				 alloc, get_be32(f->buf), 4 + 3 * 16);
		assert_int_equal(c->data_in_len, 8 + 3 * 16);
		assert_int_equal(get_be64(f->buf + 8), 5);
		assert_int_equal(get_be64(f->buf + 8 + 16), chunk);
		assert_int_equal(get_be64(f->buf + 8 + 32), 2 * chunk);
	}
}

/* ------------------------------------- bad parameters at their limits */

/* WRITE SAME(16) of 2^23 blocks of 512 bytes moves 2^32 bytes, which
 * wraps a 32-bit count to 0: on an 8 GiB LU (so that capacity does not
 * answer first) it is over MAXIMUM WRITE SAME LENGTH (2^22) and INVALID
 * FIELD IN CDB, as is one block past the limit; at the limit, GOOD. */
static void write_same_byte_count_overflowing_32_bits_is_invalid(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, true);
	struct bs_dev_params p = {.kind = BS_NULL,
				  .name = "n",
				  .size_bytes = 8ull << 30,
				  .block_size = BS};
	struct bs_dev *bs;
	struct scsi_lu *lu;
	uint8_t cdb[16] = {0x93}, tur[6] = {0};
	(void)state;

	assert_int_equal(bs_null_open(&p, &bs), 0);
	lu = scsi_lu_new(&stub_env, NULL, bs, 9);
	assert_int_equal(scsi_sess_map(f->sess, 2, lu, false), 0);
	run_lun(f, 2, tur, 6, 0, 0); /* the power-on UA */
	memset(f->buf, 0x11, BS);
	put_be32(cdb + 10, 1u << 23);
	expect_sense(run_lun(f, 2, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	put_be32(cdb + 10, (1u << 23) + 1);
	expect_sense(run_lun(f, 2, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	put_be32(cdb + 10, SCSI_MAX_WS_BLOCKS + 1);
	expect_sense(run_lun(f, 2, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	put_be32(cdb + 10, SCSI_MAX_WS_BLOCKS);
	expect_good(run_lun(f, 2, cdb, 16, BS, BS));
	fx_free(f);
	scsi_lu_free(lu);
	bs_close(bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(write_same10_writes_the_block_to_every_lba),
		T(write_same16_zero_blocks_means_to_the_last_lba),
		T(write_same_past_end_is_lba_out_of_range),
		cmocka_unit_test(write_same_beyond_max_length_is_invalid_field),
		T(write_same_anchor_wrprotect_lbdata_are_invalid_field),
		T(write_same_data_out_not_one_block_is_refused),
		T(write_same_unmap_of_zeros_deallocates),
		T(write_same_unmap_deallocates_even_with_nonzero_data),
		T(write_same16_ndob_unmaps_without_data),
		cmocka_unit_test(write_same_unmap_on_thick_lu_is_invalid_field),
		T(write_same_to_read_only_lu_is_write_protected),
		T(unmap_deallocates_every_descriptor),
		T(unmap_zero_length_list_and_zero_blocks_are_good),
		T(unmap_list_shorter_than_8_is_param_list_length_error),
		T(unmap_header_claiming_more_than_list_is_length_error),
		T(unmap_trailing_partial_descriptor_is_ignored),
		T(unmap_too_many_descriptors_is_invalid_param),
		T(unmap_too_many_blocks_is_invalid_param),
		T(unmap_past_end_is_lba_out_of_range_and_unmaps_nothing),
		cmocka_unit_test(
			unmap_on_thick_lu_is_invalid_opcode_unless_read_only),
		T(unmap_anchor_is_invalid_field),
		T(get_lba_status_reports_mapped_and_deallocated_extents),
		T(get_lba_status_past_last_lba_is_out_of_range),
		T(get_lba_status_fills_the_allocation_length),
		T(get_lba_status_with_the_largest_allocation_lengths),
		cmocka_unit_test(
			write_same_byte_count_overflowing_32_bits_is_invalid),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
