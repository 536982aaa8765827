/*
 * test_sbc.c — SBC-4 block commands (scsi/sbc.c, sbc_cmp.c,
 * sbc_unit.c): READ CAPACITY, READ and WRITE in every size, VERIFY,
 * SYNCHRONIZE CACHE, COMPARE AND WRITE and its friends, START STOP UNIT
 * and PREVENT ALLOW MEDIUM REMOVAL.
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

/* ------------------------------------------------- READ CAPACITY */

static void read_capacity10_reports_last_lba_and_block_size(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x25};
	struct scsi_cmd *c;

	c = run(f, cdb, 10, 8, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
	assert_int_equal(get_be32(f->buf), NBLOCKS - 1);
	assert_int_equal(get_be32(f->buf + 4), BS);
}

static void read_capacity10_lba_without_pmi_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x25, 0, 0, 0, 0, 1};

	expect_sense(run(f, cdb, 10, 8, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void read_capacity10_saturates_beyond_32_bits(void **state)
{
	struct bs_dev_params p = {
		.kind = BS_NULL, .size_bytes = 3ull << 40, .block_size = 512};
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_nexus_id id = {0};
	uint8_t cdb[16] = {0x25};

	assert_int_equal(bs_open(&stub_env, &p, &f->bs), 0);
	f->lu = scsi_lu_new(&stub_env, NULL, f->bs, 1);
	f->sess = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(f->sess, 0, f->lu, false), 0);
	f->buf = calloc(1, 4096);
	expect_sense(run(f, cdb, 10, 8, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	expect_good(run(f, cdb, 10, 8, 0));
	assert_int_equal(get_be32(f->buf), 0xffffffffu);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x9e;
	cdb[1] = 0x10;
	put_be32(cdb + 10, 32);
	expect_good(run(f, cdb, 16, 32, 0));
	assert_int_equal(get_be64(f->buf), (3ull << 40) / 512 - 1);
	fx_free(f);
}

static void read_capacity16_reports_lbpme_lbprz_when_thin(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x9e, 0x10};
	struct scsi_cmd *c;

	put_be32(cdb + 10, 32);
	c = run(f, cdb, 16, 32, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 32);
	assert_int_equal(get_be64(f->buf), NBLOCKS - 1);
	assert_int_equal(get_be32(f->buf + 8), BS);
	assert_int_equal(f->buf[13] & 0x0f, 0);	   /* 1 LB per PB */
	assert_int_equal(f->buf[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */
}

static void read_capacity16_alloc_len_truncates_0_to_32(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x9e, 0x10};

	for (uint32_t len = 0; len <= 33; len++) {
		struct scsi_cmd *c;

		put_be32(cdb + 10, len);
		c = run(f, cdb, 16, len, 0);
		expect_good(c);
		assert_int_equal(c->data_in_len, len < 32 ? len : 32);
	}
}

static void service_action_in_unknown_sa_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x9e, 0x1f};

	expect_sense(run(f, cdb, 16, 32, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* -------------------------------------------------- READ / WRITE */

static void round_trip(struct fx *f, const uint8_t *wcdb, const uint8_t *rcdb,
		       size_t len, uint32_t bytes, uint8_t seed)
{
	uint8_t *copy = malloc(bytes);

	fill(f->buf, bytes, seed);
	memcpy(copy, f->buf, bytes);
	expect_good(run(f, wcdb, len, bytes, bytes));
	memset(f->buf, 0, bytes);
	struct scsi_cmd *c = run(f, rcdb, len, bytes, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, bytes);
	assert_int_equal(c->xfer_len, bytes);
	assert_memory_equal(f->buf, copy, bytes);
	free(copy);
}

static void write_then_read_round_trip_6_10_12_16(void **state)
{
	struct fx *f = *state;
	uint8_t w[16], r[16];

	cdb_rw6(w, 0x0a, 100, 3);
	cdb_rw6(r, 0x08, 100, 3);
	round_trip(f, w, r, 6, 3 * BS, 1);
	cdb_rw10(w, 0x2a, 2047, 5); /* crosses a 1 MiB chunk */
	cdb_rw10(r, 0x28, 2047, 5);
	round_trip(f, w, r, 10, 5 * BS, 2);
	cdb_rw12(w, 0xaa, 4000, 9);
	cdb_rw12(r, 0xa8, 4000, 9);
	round_trip(f, w, r, 12, 9 * BS, 3);
	cdb_rw16(w, 0x8a, NBLOCKS - 4, 4);
	cdb_rw16(r, 0x88, NBLOCKS - 4, 4);
	round_trip(f, w, r, 16, 4 * BS, 4);
}

static void read_of_unwritten_blocks_returns_zeros(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	memset(f->buf, 0xee, BS);
	cdb_rw10(cdb, 0x28, 50000, 1);
	expect_good(run(f, cdb, 10, BS, 0));
	for (uint32_t i = 0; i < BS; i++)
		assert_int_equal(f->buf[i], 0);
}

static void read10_last_lba_is_good(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, NBLOCKS - 1, 1);
	expect_good(run(f, cdb, 10, BS, 0));
}

static void read10_past_last_lba_is_lba_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, NBLOCKS, 1);
	expect_sense(run(f, cdb, 10, BS, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	cdb_rw10(cdb, 0x28, NBLOCKS - 1, 2);
	expect_sense(run(f, cdb, 10, 2 * BS, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void read10_zero_blocks_past_end_is_lba_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, NBLOCKS + 1, 0);
	expect_sense(run(f, cdb, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void
read16_lba_plus_length_overflowing_64_bits_is_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x88, UINT64_MAX, 2);
	expect_sense(run(f, cdb, 16, 2 * BS, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	cdb_rw16(cdb, 0x88, 1ull << 63, 1);
	expect_sense(run(f, cdb, 16, BS, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void write16_past_last_lba_is_lba_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x8a, NBLOCKS, 1);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void read6_length_zero_means_256_blocks(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_rw6(cdb, 0x08, 0, 0);
	c = run(f, cdb, 6, 256 * BS, 0);
	expect_good(c);
	assert_int_equal(c->xfer_len, 256 * BS);
	assert_int_equal(c->data_in_len, 256 * BS);
}

static void read10_zero_length_is_good_without_data(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	cdb_rw10(cdb, 0x28, 0, 0);
	c = run(f, cdb, 10, 0, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
	assert_int_equal(c->xfer_len, 0);
}

static void read10_edtl_shorter_than_cdb_moves_edtl_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	fill(f->buf, 2 * BS, 9);
	cdb_rw10(cdb, 0x2a, 10, 2);
	expect_good(run(f, cdb, 10, 2 * BS, 2 * BS));
	memset(f->buf, 0, 2 * BS);
	cdb_rw10(cdb, 0x28, 10, 2);
	c = run(f, cdb, 10, 200, 0); /* inside the first block */
	expect_good(c);
	assert_int_equal(c->data_in_len, 200);
	assert_int_equal(c->xfer_len, 2 * BS);
	assert_int_equal(f->buf[199], (uint8_t)(9 + 199 * 7));
	assert_int_equal(f->buf[200], 0); /* nothing past EDTL */
	c = run(f, cdb, 10, BS, 0);	  /* on a block boundary */
	expect_good(c);
	assert_int_equal(c->data_in_len, BS);
	c = run(f, cdb, 10, 0, 0); /* EDTL 0 */
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
	assert_int_equal(c->xfer_len, 2 * BS);
}

static void write10_edtl_shorter_than_cdb_writes_only_edtl_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	write_blocks(f, 20, 2, 'a');
	memset(f->buf, 'b', 2 * BS);
	cdb_rw10(cdb, 0x2a, 20, 2);
	c = run(f, cdb, 10, BS, BS); /* one block of two */
	expect_good(c);
	assert_int_equal(c->xfer_len, 2 * BS);
	read_blocks(f, 20, 2);
	assert_int_equal(f->buf[BS - 1], 'b');
	assert_int_equal(f->buf[BS], 'a');
	write_blocks(f, 20, 2, 'a');
	memset(f->buf, 'b', 2 * BS);
	c = run(f, cdb, 10, 200, 200); /* inside a block */
	expect_good(c);
	read_blocks(f, 20, 2);
	assert_int_equal(f->buf[199], 'b');
	assert_int_equal(f->buf[200], 'a');
	assert_int_equal(f->buf[BS], 'a');
	write_blocks(f, 20, 2, 'a');
	cdb_rw10(cdb, 0x2a, 20, 2);
	c = run(f, cdb, 10, 0, 0); /* nothing at all */
	expect_good(c);
	read_blocks(f, 20, 1);
	assert_int_equal(f->buf[0], 'a');
}

static void write_atomic_shorter_edtl_is_invalid_field_in_iu(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16] = {0x9c};

	put_be16(cdb + 12, 2);
	memset(f->buf, 1, BS);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
}

static void write10_more_data_than_cdb_writes_cdb_length(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	memset(f->buf, 'b', 2 * BS);
	cdb_rw10(cdb, 0x2a, 30, 1);
	c = run(f, cdb, 10, 2 * BS, 2 * BS);
	expect_good(c);
	assert_int_equal(c->xfer_len, BS);
	cdb_rw10(cdb, 0x28, 30, 2);
	expect_good(run(f, cdb, 10, 2 * BS, 0));
	assert_int_equal(f->buf[BS - 1], 'b');
	assert_int_equal(f->buf[BS], 0);
}

static void read10_rdprotect_without_pi_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	for (uint8_t p = 1; p < 8; p++) {
		cdb_rw10(cdb, 0x28, 0, 1);
		cdb[1] = (uint8_t)(p << 5);
		expect_sense(run(f, cdb, 10, BS, 0), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB);
		cdb[0] = 0x2a;
		expect_sense(run(f, cdb, 10, BS, BS), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB);
	}
}

static void read_dpo_fua_are_accepted(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x88, 0, 1);
	cdb[1] = 0x18;
	expect_good(run(f, cdb, 16, BS, 0));
	cdb[0] = 0x8a;
	expect_good(run(f, cdb, 16, BS, BS));
}

static void
transfer_at_max_transfer_length_ok_one_block_more_invalid(void **state)
{
	struct fx *f = *state;
	uint32_t max = SCSI_MAX_XFER_BYTES / BS;
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x88, 0, max);
	expect_good(run(f, cdb, 16, max * BS, 0));
	cdb_rw16(cdb, 0x88, 0, max + 1);
	struct scsi_cmd *c = run(f, cdb, 16, (max + 1) * BS, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 10); /* length field */
}

static void write_to_read_only_lu_is_write_protected(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;
	uint8_t cdb[10];

	strcpy(dev.name, "ro");
	dev.read_only = true;
	f = fx_new(&dev, DISK_BYTES, true);
	cdb_rw10(cdb, 0x2a, 0, 1);
	expect_sense(run(f, cdb, 10, BS, BS), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
	cdb_rw10(cdb, 0x28, 0, 1);
	expect_good(run(f, cdb, 10, BS, 0));
	fx_free(f);
}

static void write_to_read_only_mapping_is_write_protected(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10], ms[6] = {0x1a, 0, 0x3f, 0, 255, 0};

	assert_int_equal(scsi_sess_map(f->sess, 3, f->lu, true), 0);
	expect_sense(run_lun(f, 3, ms, 6, 255, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	expect_good(run_lun(f, 3, ms, 6, 255, 0));
	assert_int_equal(f->buf[2] & 0x80, 0x80); /* WP */
	expect_good(run_lun(f, 0, ms, 6, 255, 0));
	assert_int_equal(f->buf[2] & 0x80, 0);
	cdb_rw10(cdb, 0x2a, 0, 1);
	expect_sense(run_lun(f, 3, cdb, 10, BS, BS), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
	expect_good(run_lun(f, 0, cdb, 10, BS, BS));
}

/* ---------------------------------------------------- VERIFY, SYNC */

static void verify10_bytchk_matching_data_is_good(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];

	fill(f->buf, 4 * BS, 5);
	cdb_rw10(cdb, 0x2a, 300, 4);
	expect_good(run(f, cdb, 10, 4 * BS, 4 * BS));
	cdb_rw10(cdb, 0x2f, 300, 4);
	cdb[1] = 0x02;
	expect_good(run(f, cdb, 10, 4 * BS, 4 * BS));
}

static void verify10_bytchk_mismatch_reports_offset_of_first_byte(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	fill(f->buf, 4 * BS, 5);
	cdb_rw10(cdb, 0x2a, 300, 4);
	expect_good(run(f, cdb, 10, 4 * BS, 4 * BS));
	f->buf[2 * BS + 17] ^= 0xff;
	cdb_rw10(cdb, 0x2f, 300, 4);
	cdb[1] = 0x02;
	c = run(f, cdb, 10, 4 * BS, 4 * BS);
	expect_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	assert_int_equal(c->sense[0], 0xf0); /* VALID */
	assert_int_equal(get_be32(c->sense + 3), 2 * BS + 17);
}

static void verify16_without_bytchk_past_end_is_lba_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x8f, NBLOCKS - 1, 1);
	expect_good(run(f, cdb, 16, 0, 0));
	cdb_rw16(cdb, 0x8f, NBLOCKS - 1, 2);
	expect_sense(run(f, cdb, 16, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void sync_cache_in_range_good_past_end_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw10(cdb, 0x35, 0, 0);
	expect_good(run(f, cdb, 10, 0, 0));
	cdb_rw16(cdb, 0x91, NBLOCKS - 1, 1);
	expect_good(run(f, cdb, 16, 0, 0));
	cdb_rw16(cdb, 0x91, NBLOCKS - 1, 2);
	expect_sense(run(f, cdb, 16, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

/* -------------------------------------- COMPARE AND WRITE and friends */

static void compare_and_write_writes_when_data_matches(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	write_blocks(f, 8, 2, 'A');
	memset(f->buf, 'A', 2 * BS);
	memset(f->buf + 2 * BS, 'B', 2 * BS);
	cdb_caw(cdb, 8, 2);
	expect_good(run(f, cdb, 16, 4 * BS, 4 * BS));
	read_blocks(f, 8, 2);
	assert_int_equal(f->buf[0], 'B');
	assert_int_equal(f->buf[2 * BS - 1], 'B');
}

static void
compare_and_write_miscompare_reports_offset_and_writes_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];
	struct scsi_cmd *c;

	write_blocks(f, 8, 1, 'A');
	memset(f->buf, 'A', BS);
	f->buf[77] = 'Z';
	memset(f->buf + BS, 'B', BS);
	cdb_caw(cdb, 8, 1);
	c = run(f, cdb, 16, 2 * BS, 2 * BS);
	expect_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	assert_int_equal(get_be32(c->sense + 3), 77);
	read_blocks(f, 8, 1);
	assert_int_equal(f->buf[0], 'A');
}

static void compare_and_write_wrong_data_out_size_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	memset(f->buf, 0, 4 * BS);
	cdb_caw(cdb, 0, 1);
	expect_sense(run(f, cdb, 16, 4 * BS, 4 * BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	cdb_caw(cdb, NBLOCKS, 1);
	expect_sense(run(f, cdb, 16, 2 * BS, 2 * BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
	cdb_caw(cdb, 0, 0);
	expect_good(run(f, cdb, 16, 0, 0));
	/* 256 blocks wrap to 0 in the CDB: the data says otherwise */
	expect_sense(run(f, cdb, 16, 2 * BS, 2 * BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void orwrite_ors_data_into_the_medium(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	write_blocks(f, 20, 2, 0x0f);
	memset(f->buf, 0x30, 2 * BS);
	cdb_rw16(cdb, 0x8b, 20, 2);
	expect_good(run(f, cdb, 16, 2 * BS, 2 * BS));
	read_blocks(f, 20, 2);
	assert_int_equal(f->buf[0], 0x3f);
	assert_int_equal(f->buf[2 * BS - 1], 0x3f);
	cdb_rw16(cdb, 0x8b, NBLOCKS, 1);
	expect_sense(run(f, cdb, 16, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void verify16_bytchk3_compares_every_block_with_one(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];
	struct scsi_cmd *c;

	write_blocks(f, 60, 3, 0x5c);
	cdb_rw16(cdb, 0x8f, 60, 3);
	cdb[1] = 0x06;
	memset(f->buf, 0x5c, BS);
	c = run(f, cdb, 16, BS, BS);
	expect_good(c);
	assert_int_equal(c->xfer_len, BS);
	write_blocks(f, 62, 1, 0x5d);
	memset(f->buf, 0x5c, BS);
	c = run(f, cdb, 16, BS, BS);
	expect_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	assert_int_equal(get_be32(c->sense + 3), 2 * BS);
}

static void write_and_verify_writes_then_compares(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12];

	fill(f->buf, 4 * BS, 7);
	cdb_rw12(cdb, 0xae, 70, 4);
	cdb[1] = 0x02;
	expect_good(run(f, cdb, 12, 4 * BS, 4 * BS));
	cdb_rw10(cdb, 0x2e, 80, 1);
	expect_good(run(f, cdb, 10, BS, BS));
	read_blocks(f, 70, 4);
	assert_int_equal(f->buf[4 * BS - 1], (uint8_t)(7 + (4 * BS - 1) * 7));
	cdb_rw10(cdb, 0x2e, 0, 1);
	cdb[1] = 0x04; /* BYTCHK 10b */
	expect_sense(run(f, cdb, 10, BS, BS), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

/* The LU's backstore, wrapped: WRITEs complete with 0 and change
 * nothing (a disk that acknowledges what it loses). */
static const struct bs_ops *lying_real;
static struct bs_ops lying_ops;

static void lying_submit(struct bs_dev *dev, struct bs_req *req)
{
	if (req->op == BS_OP_WRITE) {
		req->done(req, 0);
		return;
	}
	lying_real->submit(dev, req);
}

/*
 * SBC-4 §5.44: WRITE AND VERIFY with BYTCHK 01b compares the data
 * transferred with what the medium holds after the write.  Cut short by
 * EDTL inside a block (700 of 1024 bytes), the 700 bytes that arrived
 * are written and compared: a disk that loses them gives MISCOMPARE at
 * byte 0, a sound one GOOD with the rest of the last block kept.
 * Before: the truncated path wrote and never read back (GOOD).
 */
static void write_and_verify_cut_inside_a_block_still_compares(void **st)
{
	struct fx *f = *st;
	uint8_t cdb[10];
	struct scsi_cmd *c;

	write_blocks(f, 90, 2, 0x11);
	cdb_rw10(cdb, 0x2e, 90, 2);
	cdb[1] = 0x02; /* BYTCHK 01b */
	lying_real = f->bs->ops;
	lying_ops = *lying_real;
	lying_ops.submit = lying_submit;
	f->bs->ops = &lying_ops;
	memset(f->buf, 0x77, 2 * BS);
	c = run(f, cdb, 10, 2 * BS, 2 * BS); /* whole blocks: compared */
	expect_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	memset(f->buf, 0x77, 2 * BS);
	c = run(f, cdb, 10, 700, 700);
	if (c->status != SCSI_STATUS_CHECK_CONDITION ||
	    sense_key(c) != SK_MISCOMPARE)
		fail_msg("SBC-4 §5.44: BYTCHK 01b compares the 700 bytes that "
			 "arrived with the medium, which lost them; got status "
			 "%02x sense %x/%04x",
			 c->status, sense_key(c), sense_asc(c));
	assert_int_equal(get_be32(c->sense + 3), 0); /* the first byte */
	f->bs->ops = lying_real;
	memset(f->buf, 0x77, 2 * BS);
	expect_good(run(f, cdb, 10, 700, 700));
	read_blocks(f, 90, 2);
	assert_int_equal(f->buf[699], 0x77);
	assert_int_equal(f->buf[700], 0x11); /* the rest of LBA 91 kept */
	cdb[1] = 0; /* BYTCHK 0: written, nothing read back */
	memset(f->buf, 0x78, 2 * BS);
	expect_good(run(f, cdb, 10, 700, 700));
}

static void write_atomic16_up_to_max_atomic_length(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	memset(cdb, 0, 16);
	cdb[0] = 0x9c;
	put_be64(cdb + 2, 0);
	put_be16(cdb + 12, SCSI_MAX_ATOMIC_BLOCKS);
	memset(f->buf, 0x21, SCSI_MAX_ATOMIC_BLOCKS * BS);
	expect_good(run(f, cdb, 16, SCSI_MAX_ATOMIC_BLOCKS * BS,
			SCSI_MAX_ATOMIC_BLOCKS * BS));
	put_be16(cdb + 12, SCSI_MAX_ATOMIC_BLOCKS + 1);
	expect_sense(run(f, cdb, 16, (SCSI_MAX_ATOMIC_BLOCKS + 1) * BS,
			 (SCSI_MAX_ATOMIC_BLOCKS + 1) * BS),
		     SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	read_blocks(f, SCSI_MAX_ATOMIC_BLOCKS - 1, 1);
	assert_int_equal(f->buf[0], 0x21);
}

/* SBC-4 §5.48: an ATOMIC BOUNDARY past the Block Limits page's MAXIMUM
 * ATOMIC BOUNDARY SIZE (0: a WRITE ATOMIC is written whole) is INVALID
 * FIELD IN CDB, its field pointer at byte 10, and nothing is written. */
static void
write_atomic16_with_an_atomic_boundary_is_invalid_field(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;
	uint8_t cdb[16], inq[6];

	cdb_inquiry(inq, true, 0xb0, 255);
	expect_good(run(f, inq, 6, 255, 0));
	assert_int_equal(get_be32(f->buf + 60), 0); /* MAX ATOMIC BOUNDARY */
	memset(cdb, 0, 16);
	cdb[0] = 0x9c;
	put_be64(cdb + 2, 5);
	put_be16(cdb + 12, 2);
	memset(f->buf, 0x5a, 2 * BS);
	expect_good(run(f, cdb, 16, 2 * BS, 2 * BS));
	put_be16(cdb + 10, 1); /* ATOMIC BOUNDARY */
	memset(f->buf, 0x6b, 2 * BS);
	c = run(f, cdb, 16, 2 * BS, 2 * BS);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 10);
	read_blocks(f, 5, 2);
	assert_int_equal(f->buf[0], 0x5a);
	assert_int_equal(f->buf[2 * BS - 1], 0x5a);
}

static void prefetch_in_range_is_good_past_end_out_of_range(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	cdb_rw10(cdb, 0x34, NBLOCKS - 1, 1);
	cdb[1] = 0x02;
	expect_good(run(f, cdb, 10, 0, 0));
	cdb_rw16(cdb, 0x90, NBLOCKS - 1, 2);
	expect_sense(run(f, cdb, 16, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LBA_OUT_OF_RANGE);
}

static void vpd_block_limits_and_lbp_advertise_provisioning(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, true, 0xb0, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_int_equal(f->buf[5], SCSI_MAX_CAW_BLOCKS);
	assert_int_equal(get_be32(f->buf + 20), SCSI_MAX_UNMAP_BLOCKS);
	assert_int_equal(get_be32(f->buf + 24), SCSI_MAX_UNMAP_DESC);
	assert_int_equal(get_be64(f->buf + 36), SCSI_MAX_WS_BLOCKS);
	assert_int_equal(get_be32(f->buf + 44), SCSI_MAX_ATOMIC_BLOCKS);
	cdb_inquiry(cdb, true, 0xb2, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_int_equal(f->buf[5] & 0xe0, 0xe0); /* LBPU LBPWS LBPWS10 */
}

/* ------------------------------------- START STOP UNIT, PREVENT */

static void cdb_ssu(uint8_t *cdb, bool loej, bool start, uint8_t pc)
{
	memset(cdb, 0, 6);
	cdb[0] = 0x1b;
	cdb[4] = (uint8_t)(pc << 4 | (loej ? 2 : 0) | (start ? 1 : 0));
}

static struct fx *fx_removable(void)
{
	struct ut_dev_cfg dev = {0};

	strcpy(dev.name, "cdrom");
	dev.removable = true;
	return fx_new(&dev, DISK_BYTES, true);
}

static void eject_makes_medium_commands_not_ready_until_load(void **state)
{
	struct fx *f = fx_removable();
	uint8_t cdb[16], tur[6] = {0}, inq[6];

	cdb_ssu(cdb, true, false, 0);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_NOT_READY,
		     ASC_MEDIUM_NOT_PRESENT);
	cdb_rw10(cdb, 0x28, 0, 1);
	expect_sense(run(f, cdb, 10, BS, 0), SK_NOT_READY,
		     ASC_MEDIUM_NOT_PRESENT);
	cdb_inquiry(inq, false, 0, 96);
	expect_good(run(f, inq, 6, 96, 0));
	cdb_ssu(cdb, true, true, 0);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

static void ssu_without_loej_or_with_power_condition_keeps_medium(void **state)
{
	struct fx *f = fx_removable();
	uint8_t cdb[6], tur[6] = {0};

	cdb_ssu(cdb, false, false, 0);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
	cdb_ssu(cdb, true, false, 3);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

static void prevent_blocks_eject_and_load_for_every_nexus(void **state)
{
	struct fx *f = fx_removable();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2;
	uint8_t cdb[6], prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	uint8_t allow[6] = {0x1e}, tur[6] = {0};

	strcpy(id.initiator_name, "iqn.x:two");
	s2 = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	expect_good(run(f, prevent, 6, 0, 0));
	cdb_ssu(cdb, true, false, 0);
	expect_sense(run(f, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_MEDIUM_REMOVAL_PREVENTED);
	expect_sense(run_on(f, s2, 0, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_MEDIUM_REMOVAL_PREVENTED);
	expect_good(run(f, tur, 6, 0, 0));
	expect_good(run(f, allow, 6, 0, 0));
	expect_good(run(f, cdb, 6, 0, 0));
	/* prevent with no medium blocks loading too */
	expect_good(run(f, prevent, 6, 0, 0));
	cdb_ssu(cdb, true, true, 0);
	expect_sense(run(f, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_MEDIUM_REMOVAL_PREVENTED);
	/* a logical unit reset clears PREVENT */
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0, NULL), 0);
	scsi_ua_clear(f->sess->lun_map[0]);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
	prevent[4] = 2;
	expect_sense(run(f, prevent, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	scsi_sess_free(s2);
	fx_free(f);
}

static void prevent_ends_with_the_nexus(void **state)
{
	struct fx *f = fx_removable();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2;
	uint8_t cdb[6], prevent[6] = {0x1e, 0, 0, 0, 1, 0};

	s2 = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	expect_good(run_on(f, s2, 0, prevent, 6, 0, 0));
	cdb_ssu(cdb, true, false, 0);
	expect_sense(run(f, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_MEDIUM_REMOVAL_PREVENTED);
	scsi_sess_free(s2);
	expect_good(run(f, cdb, 6, 0, 0));
	fx_free(f);
}

static void stop_and_eject_on_fixed_disk_change_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6], tur[6] = {0};

	cdb_ssu(cdb, true, false, 0);
	expect_good(run(f, cdb, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
}

static void read_defect_data_returns_an_empty_list(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0x37, 0, 0x18 | 5};
	struct scsi_cmd *c;

	put_be16(cdb + 7, 32);
	c = run(f, cdb, 10, 32, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 4);
	assert_int_equal(f->buf[1], 0x1d);
	assert_int_equal(get_be16(f->buf + 2), 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xb7;
	cdb[1] = 0x08 | 4;
	put_be32(cdb + 6, 32);
	c = run(f, cdb, 12, 32, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
	assert_int_equal(get_be32(f->buf + 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(read_capacity10_reports_last_lba_and_block_size),
		T(read_capacity10_lba_without_pmi_is_invalid_field),
		cmocka_unit_test(read_capacity10_saturates_beyond_32_bits),
		T(read_capacity16_reports_lbpme_lbprz_when_thin),
		T(read_capacity16_alloc_len_truncates_0_to_32),
		T(service_action_in_unknown_sa_is_invalid_field),
		T(write_then_read_round_trip_6_10_12_16),
		T(read_of_unwritten_blocks_returns_zeros),
		T(read10_last_lba_is_good),
		T(read10_past_last_lba_is_lba_out_of_range),
		T(read10_zero_blocks_past_end_is_lba_out_of_range),
		T(read16_lba_plus_length_overflowing_64_bits_is_out_of_range),
		T(write16_past_last_lba_is_lba_out_of_range),
		T(read6_length_zero_means_256_blocks),
		T(read10_zero_length_is_good_without_data),
		T(read10_edtl_shorter_than_cdb_moves_edtl_bytes),
		T(write10_edtl_shorter_than_cdb_writes_only_edtl_bytes),
		T(write_atomic_shorter_edtl_is_invalid_field_in_iu),
		T(write10_more_data_than_cdb_writes_cdb_length),
		T(read10_rdprotect_without_pi_is_invalid_field),
		T(read_dpo_fua_are_accepted),
		T(transfer_at_max_transfer_length_ok_one_block_more_invalid),
		cmocka_unit_test(write_to_read_only_lu_is_write_protected),
		T(write_to_read_only_mapping_is_write_protected),
		T(verify10_bytchk_matching_data_is_good),
		T(verify10_bytchk_mismatch_reports_offset_of_first_byte),
		T(verify16_without_bytchk_past_end_is_lba_out_of_range),
		T(sync_cache_in_range_good_past_end_out_of_range),
		T(compare_and_write_writes_when_data_matches),
		T(compare_and_write_miscompare_reports_offset_and_writes_nothing),
		T(compare_and_write_wrong_data_out_size_is_refused),
		T(orwrite_ors_data_into_the_medium),
		T(verify16_bytchk3_compares_every_block_with_one),
		T(write_and_verify_writes_then_compares),
		T(write_and_verify_cut_inside_a_block_still_compares),
		T(write_atomic16_up_to_max_atomic_length),
		T(write_atomic16_with_an_atomic_boundary_is_invalid_field),
		T(prefetch_in_range_is_good_past_end_out_of_range),
		T(vpd_block_limits_and_lbp_advertise_provisioning),
		cmocka_unit_test(
			eject_makes_medium_commands_not_ready_until_load),
		cmocka_unit_test(
			ssu_without_loej_or_with_power_condition_keeps_medium),
		cmocka_unit_test(prevent_blocks_eject_and_load_for_every_nexus),
		cmocka_unit_test(prevent_ends_with_the_nexus),
		T(stop_and_eject_on_fixed_disk_change_nothing),
		T(read_defect_data_returns_an_empty_list),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
