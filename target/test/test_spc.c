/*
 * test_spc.c — SPC-4 commands of every device (scsi/spc.c,
 * opcodes.c, sense.c): INQUIRY and its VPD pages, REPORT LUNS, MODE SENSE
 * and MODE SELECT, sense format, REPORT SUPPORTED OPERATION CODES.
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

/* ------------------------------------------------------ INQUIRY */

static void inquiry_standard_reports_spc4_disk_with_identity(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_inquiry(cdb, false, 0, 255);
	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 96);
	assert_int_equal(f->buf[0], 0x00); /* PQ 0, disk */
	assert_int_equal(f->buf[1], 0x00); /* not removable */
	assert_int_equal(f->buf[2], 0x06); /* SPC-4 */
	assert_int_equal(f->buf[3], 0x12); /* HISUP, format 2 */
	assert_int_equal(f->buf[4], 96 - 5);
	assert_int_equal(f->buf[7] & 0x02, 0x02); /* CMDQUE */
	assert_memory_equal(f->buf + 8, "UTARGET ", 8);
	assert_memory_equal(f->buf + 16, "utarget disk    ", 16);
	assert_int_equal(get_be16(f->buf + 62), 0x0460); /* SPC-4 */
}

static void inquiry_uses_configured_vendor_and_removable(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;
	uint8_t cdb[6];

	strcpy(dev.name, "disk1");
	strcpy(dev.t10_vendor_id, "ACME");
	strcpy(dev.prod_id, "Anvil");
	dev.removable = true;
	f = fx_new(&dev, DISK_BYTES, true);
	cdb_inquiry(cdb, false, 0, 96);
	expect_good(run(f, cdb, 6, 96, 0));
	assert_int_equal(f->buf[1], 0x80); /* RMB */
	assert_memory_equal(f->buf + 8, "ACME    ", 8);
	assert_memory_equal(f->buf + 16, "Anvil           ", 16);
	fx_free(f);
}

static void inquiry_alloc_len_truncates_on_both_sides(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = {0, 1, 5, 35, 36, 95, 96, 97, 4096};
	uint8_t cdb[6];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct scsi_cmd *c;
		uint32_t want = lens[i] < 96 ? lens[i] : 96;

		cdb_inquiry(cdb, false, 0, lens[i]);
		c = run(f, cdb, 6, lens[i], 0);
		expect_good(c);
		assert_int_equal(c->data_in_len, want);
		assert_int_equal(c->xfer_len, want);
	}
}

static void inquiry_edtl_smaller_than_alloc_len_fills_edtl(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_inquiry(cdb, false, 0, 255);
	c = run(f, cdb, 6, 10, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 10);
	assert_int_equal(c->xfer_len, 96); /* transport: overflow 86 */
}

static void inquiry_evpd0_with_page_code_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_inquiry(cdb, false, 0x80, 255);
	c = run(f, cdb, 6, 255, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* fixed format: SKSV, C/D, field pointer = byte 2 */
	assert_int_equal(c->sense[15], 0xc0);
	assert_int_equal(get_be16(c->sense + 16), 2);
}

static void inquiry_cmddt_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, false, 0, 255);
	cdb[1] = 0x02;
	expect_sense(run(f, cdb, 6, 255, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void inquiry_vpd_supported_pages_lists_all_sorted(void **state)
{
	struct fx *f = *state;
	static const uint8_t want[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_inquiry(cdb, true, 0x00, 255);
	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(f->buf[1], 0x00);
	assert_int_equal(f->buf[3], sizeof(want));
	assert_memory_equal(f->buf + 4, want, sizeof(want));
	assert_int_equal(c->data_in_len, 4 + sizeof(want));
}

static void inquiry_vpd_every_listed_page_answers(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6], pages[16];
	unsigned int n;

	cdb_inquiry(cdb, true, 0x00, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	n = f->buf[3];
	memcpy(pages, f->buf + 4, n);
	for (unsigned int i = 0; i < n; i++) {
		struct scsi_cmd *c;

		cdb_inquiry(cdb, true, pages[i], 255);
		c = run(f, cdb, 6, 255, 0);
		expect_good(c);
		assert_int_equal(f->buf[1], pages[i]);
		assert_int_equal(c->data_in_len, 4 + get_be16(f->buf + 2));
	}
}

static void inquiry_vpd_unit_serial_is_stable_ascii(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	char first[64];
	size_t n;

	cdb_inquiry(cdb, true, 0x80, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	n = f->buf[3];
	assert_true(n > 0 && n < 64);
	for (size_t i = 0; i < n; i++)
		assert_true(f->buf[4 + i] >= 0x20 && f->buf[4 + i] < 0x7f);
	memcpy(first, f->buf + 4, n);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_memory_equal(first, f->buf + 4, n);
}

static const uint8_t *find_designator(const uint8_t *page, uint8_t assoc,
				      uint8_t type)
{
	uint32_t len = 4 + get_be16(page + 2);

	for (uint32_t off = 4; off + 4 <= len; off += 4 + page[off + 3]) {
		const uint8_t *d = page + off;

		if (((d[1] >> 4) & 3) == assoc && (d[1] & 0xf) == type)
			return d;
	}
	return NULL;
}

static void inquiry_vpd_devid_has_naa_t10_and_port_designators(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	const uint8_t *d;

	cdb_inquiry(cdb, true, 0x83, 1024);
	expect_good(run(f, cdb, 6, 1024, 0));
	d = find_designator(f->buf, 0, 3); /* NAA */
	assert_non_null(d);
	assert_int_equal(d[3], 16);
	assert_int_equal(d[4] >> 4, 6);
	d = find_designator(f->buf, 0, 1); /* T10 vendor ID */
	assert_non_null(d);
	assert_int_equal(d[0] & 0xf, 2); /* ASCII */
	assert_memory_equal(d + 4, "UTARGET ", 8);
	d = find_designator(f->buf, 1, 4); /* relative port */
	assert_non_null(d);
	assert_int_equal(d[0] >> 4, 5);	     /* iSCSI */
	assert_int_equal(d[1] & 0x80, 0x80); /* PIV */
	assert_int_equal(get_be16(d + 6), 1);
	d = find_designator(f->buf, 1, 8); /* port name */
	assert_non_null(d);
	assert_string_equal((const char *)d + 4,
			    "iqn.2026-11.org.utarget:t,t,0x0001");
	assert_int_equal(d[3] % 4, 0);
	d = find_designator(f->buf, 2, 8); /* device name */
	assert_non_null(d);
	assert_string_equal((const char *)d + 4, "iqn.2026-11.org.utarget:t");
}

static void inquiry_vpd_block_limits_reports_max_transfer(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, true, 0xb0, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_int_equal(get_be16(f->buf + 2), 0x3c);
	assert_int_equal(get_be32(f->buf + 8), SCSI_MAX_XFER_BYTES / BS);
}

static void inquiry_vpd_bdc_reports_non_rotating(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, true, 0xb1, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_int_equal(get_be16(f->buf + 4), 1);
}

static void inquiry_vpd_lbp_reports_thin_and_lbprz(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, true, 0xb2, 255);
	expect_good(run(f, cdb, 6, 255, 0));
	assert_int_equal(f->buf[5] & 0x04, 0x04); /* LBPRZ */
	assert_int_equal(f->buf[6] & 0x07, 0x02); /* thin */
}

static void inquiry_unsupported_vpd_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, true, 0x87, 255);
	expect_sense(run(f, cdb, 6, 255, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void inquiry_vpd_alloc_len_truncates(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];
	struct scsi_cmd *c;

	cdb_inquiry(cdb, true, 0xb0, 3);
	c = run(f, cdb, 6, 3, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 3);
	cdb_inquiry(cdb, true, 0xb0, 0);
	c = run(f, cdb, 6, 0, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
}

static void inquiry_unmapped_lun_reports_pq3_type1f(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6];

	cdb_inquiry(cdb, false, 0, 96);
	expect_good(run_lun(f, 5, cdb, 6, 96, 0));
	assert_int_equal(f->buf[0], 0x7f);
}

/* ----------------------------------------------------- REPORT LUNS */

static void report_luns_alloc_below_16_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa0};

	put_be32(cdb + 6, 15);
	expect_sense(run(f, cdb, 12, 15, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	put_be32(cdb + 6, 16);
	expect_good(run(f, cdb, 12, 16, 0));
}

static void report_luns_lists_mapped_luns(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa0};
	struct scsi_cmd *c;

	assert_int_equal(scsi_sess_map(f->sess, 2, f->lu, false), 0);
	assert_int_equal(scsi_sess_map(f->sess, 2, f->lu, false), -EEXIST);
	assert_int_equal(scsi_sess_map(f->sess, 256, f->lu, false), -EINVAL);
	put_be32(cdb + 6, 4096);
	c = run(f, cdb, 12, 4096, 0);
	expect_good(c);
	assert_int_equal(get_be32(f->buf), 16);
	assert_int_equal(c->data_in_len, 24);
	assert_int_equal(get_be16(f->buf + 8), 0);
	assert_int_equal(get_be16(f->buf + 16), 2);
	/* SELECT REPORT 1: the well-known REPORT LUNS LU only */
	cdb[2] = 1;
	c = run(f, cdb, 12, 4096, 0);
	expect_good(c);
	assert_int_equal(get_be32(f->buf), 8);
	assert_int_equal(get_be16(f->buf + 8), 0xc101);
	cdb[2] = 3;
	expect_sense(run(f, cdb, 12, 4096, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void report_luns_works_on_unmapped_lun(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa0};

	put_be32(cdb + 6, 16);
	expect_good(run_lun(f, 77, cdb, 12, 16, 0));
	assert_int_equal(get_be32(f->buf), 8);
}

/* ------------------------------------------------------ MODE SENSE */

static const uint8_t *ms_find_page(const uint8_t *b, uint32_t len, uint32_t hdr,
				   uint8_t code)
{
	uint32_t off = hdr;

	while (off + 2 <= len) {
		if ((b[off] & 0x3f) == code)
			return b + off;
		off += 2 + b[off + 1];
	}
	return NULL;
}

static void mode_sense6_caching_page_reflects_wce(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0x08, 0x08, 0, 255, 0};
	struct scsi_cmd *c;
	const uint8_t *p;

	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(f->buf[0] + 1, c->data_in_len);
	assert_int_equal(f->buf[3], 0);		  /* DBD */
	assert_int_equal(f->buf[2] & 0x10, 0x10); /* DPOFUA */
	p = ms_find_page(f->buf, c->data_in_len, 4, 0x08);
	assert_non_null(p);
	assert_int_equal(p[1], 0x12);
	assert_int_equal(p[2] & 0x04, 0x04); /* WCE */
}

static void mode_sense_write_through_device_has_wce_off(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;
	uint8_t cdb[6] = {0x1a, 0x08, 0x08, 0, 255, 0};
	struct scsi_cmd *c;

	dev.write_through = true;
	f = fx_new(&dev, DISK_BYTES, true);
	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(ms_find_page(f->buf, c->data_in_len, 4, 8)[2] & 4, 0);
	fx_free(f);
}

static void mode_sense6_block_descriptor_and_control_page(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0, 0x0a, 0, 255, 0};
	struct scsi_cmd *c;
	const uint8_t *p;

	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(f->buf[3], 8);
	assert_int_equal(get_be32(f->buf + 4), NBLOCKS);
	assert_int_equal(get_be24(f->buf + 9), BS);
	p = ms_find_page(f->buf, c->data_in_len, 12, 0x0a);
	assert_non_null(p);
	assert_int_equal(p[1], 0x0a);
	assert_int_equal(p[2] & 0x04, 0);    /* D_SENSE off */
	assert_int_equal(p[4] & 0x40, 0x40); /* TAS: SAM-5 §5.6 */
}

static void mode_sense_all_pages_returns_every_page(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5a, 0x08, 0x3f};
	struct scsi_cmd *c;

	put_be16(cdb + 7, 1024);
	c = run(f, cdb, 10, 1024, 0);
	expect_good(c);
	assert_int_equal(get_be16(f->buf) + 2, c->data_in_len);
	assert_int_equal(get_be16(f->buf + 6), 0);
	assert_non_null(ms_find_page(f->buf, c->data_in_len, 8, 0x08));
	assert_non_null(ms_find_page(f->buf, c->data_in_len, 8, 0x0a));
	assert_non_null(ms_find_page(f->buf, c->data_in_len, 8, 0x1c));
}

static void mode_sense10_llbaa_gives_long_block_descriptor(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5a, 0x10, 0x08};

	put_be16(cdb + 7, 1024);
	expect_good(run(f, cdb, 10, 1024, 0));
	assert_int_equal(f->buf[4] & 1, 1);
	assert_int_equal(get_be16(f->buf + 6), 16);
	assert_int_equal(get_be64(f->buf + 8), NBLOCKS);
	assert_int_equal(get_be32(f->buf + 8 + 12), BS);
}

static void mode_sense_saved_values_is_saving_not_supported(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0, 0xc0 | 0x3f, 0, 255, 0};

	expect_sense(run(f, cdb, 6, 255, 0), SK_ILLEGAL_REQUEST,
		     ASC_SAVING_NOT_SUPPORTED);
}

static void mode_sense_changeable_shows_wce_and_d_sense(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0x08, 0x40 | 0x3f, 0, 255, 0};
	struct scsi_cmd *c;

	c = run(f, cdb, 6, 255, 0);
	expect_good(c);
	assert_int_equal(ms_find_page(f->buf, c->data_in_len, 4, 8)[2], 0x04);
	assert_int_equal(ms_find_page(f->buf, c->data_in_len, 4, 0xa)[2], 0x04);
}

static void mode_sense_unknown_page_is_invalid_field(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0, 0x19, 0, 255, 0};

	expect_sense(run(f, cdb, 6, 255, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	cdb[2] = 0x08;
	cdb[3] = 0x01;
	expect_sense(run(f, cdb, 6, 255, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void mode_sense6_alloc_len_4_returns_header_only(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x1a, 0, 0x3f, 0, 4, 0};
	struct scsi_cmd *c;

	c = run(f, cdb, 6, 4, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 4);
	assert_true(f->buf[0] > 3);
}

/* ------------------------------------------------------ sense format */

static void d_sense_switches_errors_to_descriptor_format(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];
	struct scsi_cmd *c;

	cdb_rw16(cdb, 0x88, UINT64_MAX, 1);
	c = run(f, cdb, 16, BS, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(c->sense[0], 0x70);
	assert_int_equal(c->sense_len, 18);
	scsi_lu_set_d_sense(f->lu, true);
	c = run(f, cdb, 16, BS, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(c->sense[0], 0x72);
	uint8_t ms[6] = {0x1a, 0x08, 0x0a, 0, 255, 0};
	c = run(f, ms, 6, 255, 0);
	expect_good(c);
	assert_int_equal(ms_find_page(f->buf, c->data_in_len, 4, 0xa)[2] & 4,
			 4);
	/* descriptor sense carries the field pointer in an SKS descriptor */
	cdb_inquiry(cdb, true, 0x42, 255);
	c = run(f, cdb, 6, 255, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(c->sense[8], 0x02);
	assert_int_equal(c->sense[12], 0xc0);
	assert_int_equal(get_be16(c->sense + 13), 2);
}

/* ------------------------------------- REPORT SUPPORTED OPCODES */

static struct scsi_cmd *rsoc(struct fx *f, uint8_t opts, uint8_t op,
			     uint16_t sa, uint32_t alloc)
{
	uint8_t cdb[12] = {0xa3, 0x0c, opts, op};

	put_be16(cdb + 4, sa);
	put_be32(cdb + 6, alloc);
	return run(f, cdb, 12, alloc, 0);
}

/* Rows an LU without ALUA reports: all but REPORT and SET TARGET PORT
 * GROUPS (test_alua.c checks those). */
static unsigned int rsoc_rows_without_alua(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < scsi_opcode_count; i++) {
		const struct scsi_opcode_desc *d = &scsi_opcodes[i];

		if (!(d->opcode == 0xa4 ||
		      (d->opcode == 0xa3 && d->sa == 0x0a)))
			n++;
	}
	return n;
}

static void rsoc_all_lists_every_command_table_entry(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rsoc(f, 0, 0, 0, 65535);
	uint32_t len;

	expect_good(c);
	len = get_be32(f->buf);
	assert_int_equal(len, 8 * rsoc_rows_without_alua());
	for (uint32_t off = 4; off < 4 + len; off += 8) {
		const uint8_t *d = f->buf + off;

		assert_non_null(scsi_cmd_lookup(d[0]));
		assert_int_equal(get_be16(d + 6), scsi_cdb_length(d[0]));
		if (!(d[5] & 1))
			assert_int_equal(get_be16(d + 2), 0);
	}
	/* every dispatched opcode is reported */
	for (unsigned int op = 0; op < 256; op++) {
		bool found = false;

		if (!scsi_cmd_lookup((uint8_t)op))
			continue;
		for (unsigned int i = 0; i < scsi_opcode_count; i++)
			found |= scsi_opcodes[i].opcode == op;
		if (!found)
			fail_msg("opcode %02x dispatched but not reported", op);
	}
}

static void rsoc_rctd_adds_timeout_descriptors(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rsoc(f, 0x80, 0, 0, 65535);

	expect_good(c);
	assert_int_equal(get_be32(f->buf), 20 * rsoc_rows_without_alua());
	assert_int_equal(f->buf[4 + 5] & 0x02, 0x02); /* CTDP */
	assert_int_equal(get_be16(f->buf + 4 + 8), 0x0a);
}

static void rsoc_one_command_follows_servactv_rules(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	c = rsoc(f, 1, 0x28, 0, 512);
	expect_good(c);
	assert_int_equal(f->buf[1] & 0x07, 0x03);
	assert_int_equal(get_be16(f->buf + 2), 10);
	assert_int_equal(f->buf[4], 0x28);
	assert_int_equal(f->buf[5] & 0x18, 0x18); /* DPO FUA used */
	/* 001b on an opcode with service actions, 010b on one without */
	expect_sense(rsoc(f, 1, 0x9e, 0x10, 512), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	expect_sense(rsoc(f, 2, 0x28, 0, 512), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	c = rsoc(f, 2, 0x9e, 0x10, 512);
	expect_good(c);
	assert_int_equal(get_be16(f->buf + 2), 16);
	c = rsoc(f, 1, 0xc7, 0, 512);
	expect_good(c);
	assert_int_equal(f->buf[1] & 0x07, 0x01); /* not supported */
	expect_sense(rsoc(f, 5, 0, 0, 512), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void every_reported_opcode_is_not_an_invalid_opcode(void **state)
{
	struct fx *f = *state;

	for (unsigned int i = 0; i < scsi_opcode_count; i++) {
		uint8_t cdb[16] = {0};
		struct scsi_cmd *c;

		cdb[0] = scsi_opcodes[i].opcode;
		if (scsi_opcodes[i].has_sa)
			cdb[1] = (uint8_t)scsi_opcodes[i].sa;
		c = run(f, cdb, scsi_opcodes[i].cdb_len, 0, 0);
		if (c->status == SCSI_STATUS_CHECK_CONDITION &&
		    sense_asc(c) == ASC_INVALID_OPCODE)
			fail_msg("%02x/%02x reported but invalid",
				 scsi_opcodes[i].opcode, scsi_opcodes[i].sa);
		/* undo side effects (RESERVE) */
		if (cdb[0] == 0x16 || cdb[0] == 0x56) {
			uint8_t rel[6] = {0x17};

			run(f, rel, 6, 0, 0);
		}
	}
}

static void report_supported_tmfs_lists_abort_and_resets(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa3, 0x0d};
	struct scsi_cmd *c;

	put_be32(cdb + 6, 16);
	c = run(f, cdb, 12, 16, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 4);
	assert_int_equal(f->buf[0], 0xda);
	cdb[2] = 0x80;
	c = run(f, cdb, 12, 16, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 16);
	assert_int_equal(f->buf[3], 0x0c);
}

/* -------------------------------------------------------- MODE SELECT */

/* Read a page with MODE SENSE(6) into buf as a MODE SELECT(6) list. */
static uint32_t ms_select_list(struct fx *f, uint8_t page)
{
	uint8_t cdb[6] = {0x1a, 0x08, page, 0, 255, 0};
	struct scsi_cmd *c = run(f, cdb, 6, 255, 0);
	uint32_t len;

	expect_good(c);
	len = c->data_in_len;
	f->buf[0] = 0; /* mode data length is reserved */
	f->buf[2] = 0;
	return len;
}

static struct scsi_cmd *mode_select6(struct fx *f, uint8_t flags, uint32_t len)
{
	uint8_t cdb[6] = {0x15, flags, 0, 0, (uint8_t)len, 0};

	return run(f, cdb, 6, len, len);
}

static void mode_select_turns_write_cache_off(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x08);

	f->buf[4 + 2] &= (uint8_t)~0x04;
	expect_good(mode_select6(f, 0x10, len));
	assert_false(f->lu->mode.wce);
	len = ms_select_list(f, 0x08);
	assert_int_equal(f->buf[4 + 2] & 0x04, 0);
}

static void mode_select_d_sense_switches_sense_format(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x0a);
	uint8_t cdb[16];

	f->buf[4 + 2] |= 0x04;
	expect_good(mode_select6(f, 0x10, len));
	cdb_rw16(cdb, 0x88, UINT64_MAX, 1);
	assert_int_equal(run(f, cdb, 16, BS, 0)->sense[0], 0x72);
}

static void mode_select_swp_write_protects_the_lu(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x0a);
	uint8_t cdb[10];

	f->buf[4 + 4] |= 0x08;
	expect_good(mode_select6(f, 0x10, len));
	cdb_rw10(cdb, 0x2a, 0, 1);
	expect_sense(run(f, cdb, 10, BS, BS), SK_DATA_PROTECT,
		     ASC_WRITE_PROTECTED);
	cdb_rw10(cdb, 0x28, 0, 1);
	expect_good(run(f, cdb, 10, BS, 0));
}

static void mode_select_unchangeable_field_is_invalid_param(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x0a);
	struct scsi_cmd *c;

	f->buf[4 + 3] ^= 0x10; /* QUEUE ALGORITHM MODIFIER */
	c = mode_select6(f, 0x10, len);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(get_be16(c->sense + 16), 4 + 3);
}

static void mode_select_changes_give_other_nexus_a_ua(void **state)
{
	struct fx *f = *state;
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2 = scsi_sess_new(&stub_env, &id);
	uint8_t tur[6] = {0};
	uint32_t len;

	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	len = ms_select_list(f, 0x08);
	expect_good(mode_select6(f, 0x10, len)); /* no change */
	expect_good(run_on(f, s2, 0, tur, 6, 0, 0));
	f->buf[4 + 2] &= (uint8_t)~0x04;
	expect_good(mode_select6(f, 0x10, len));
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_MODE_PARAMS_CHANGED);
	expect_good(run(f, tur, 6, 0, 0)); /* not the changer */
	scsi_sess_free(s2);
}

static void mode_select_save_pages_and_bad_lengths_are_refused(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x08);

	expect_sense(mode_select6(f, 0x11, len), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	expect_sense(mode_select6(f, 0x10, 3), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	expect_sense(mode_select6(f, 0x10, len - 1), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	len = ms_select_list(f, 0x08);
	f->buf[4 + 8 + 1] = 0x10; /* page length */
	expect_sense(mode_select6(f, 0x10, len), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	len = ms_select_list(f, 0x08);
	put_be24(f->buf + 4 + 5, 4096); /* block length */
	expect_sense(mode_select6(f, 0x10, len), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	expect_good(mode_select6(f, 0x10, 0));
}

/* SAM-5 §6.3.3 d): a logical unit reset returns the MODE SELECT
 * parameters to their saved values, or, none being saved (SP=1 is
 * refused), to their defaults; the 29h unit attention tells of it. */
static void lu_reset_returns_mode_parameters_to_defaults(void **state)
{
	struct fx *f = *state;
	uint32_t len = ms_select_list(f, 0x08);
	uint8_t cdb[16];

	f->buf[4 + 2] &= (uint8_t)~0x04; /* WCE=0 */
	expect_good(mode_select6(f, 0x10, len));
	len = ms_select_list(f, 0x0a);
	f->buf[4 + 2] |= 0x04; /* D_SENSE=1 */
	f->buf[4 + 4] |= 0x08; /* SWP=1 */
	expect_good(mode_select6(f, 0x10, len));
	assert_false(f->lu->mode.wce);
	assert_true(f->lu->mode.d_sense && f->lu->mode.swp);
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0, NULL), 0);
	scsi_ua_clear(f->sess->lun_map[0]);
	len = ms_select_list(f, 0x08);
	assert_int_equal(f->buf[4 + 2] & 0x04, 0x04); /* WCE back to 1 */
	len = ms_select_list(f, 0x0a);
	assert_int_equal(f->buf[4 + 2] & 0x04, 0); /* D_SENSE 0 */
	assert_int_equal(f->buf[4 + 4] & 0x08, 0); /* SWP 0 */
	cdb_rw16(cdb, 0x88, UINT64_MAX, 1);
	assert_int_equal(run(f, cdb, 16, BS, 0)->sense[0], 0x70);
	(void)len;
}

/* The defaults are the configured ones: a write-through LU's WCE is 0
 * after a reset too, and its default values page says so. */
static void lu_reset_keeps_a_write_through_lu_write_through(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;
	uint8_t def[6] = {0x1a, 0x08, 0x88, 0, 255, 0};
	struct scsi_cmd *c;
	uint32_t len;

	(void)state;
	dev.write_through = true;
	f = fx_new(&dev, DISK_BYTES, true);
	len = ms_select_list(f, 0x08);
	f->buf[4 + 2] |= 0x04; /* WCE=1 */
	expect_good(mode_select6(f, 0x10, len));
	assert_true(f->lu->mode.wce);
	assert_int_equal(scsi_tmf_target_reset(f->sess, NULL), 0);
	assert_false(f->lu->mode.wce);
	scsi_ua_clear(f->sess->lun_map[0]);
	c = run(f, def, 6, 255, 0);
	expect_good(c);
	assert_int_equal(ms_find_page(f->buf, c->data_in_len, 4, 8)[2] & 4, 0);
	fx_free(f);
}

/* A RESERVE whose turn comes after its LUN was unmapped from the session
 * (a LUN removed while the command waited in the task set, explore seed
 * 399029629952): its nexus is gone, so it holds nothing.  It took the LU
 * for the detached nexus, and freeing that nexus then failed the
 * assertion that no reservation outlives its holder (a use-after-free
 * without it: the LU kept pointing at the freed nexus). */
static void reserve_through_an_unmapped_nexus_holds_nothing(void **state)
{
	struct fx *f = *state;
	struct scsi_itl *itl = f->sess->lun_map[0];
	struct scsi_cmd c = {.cdb = {0x16}, .cdb_len = 6};
	uint8_t tur[6] = {0};

	assert_non_null(itl);
	scsi_itl_get(itl); /* the RESERVE still waits in the task set */
	assert_int_equal(scsi_sess_unmap(f->sess, 0), 0);
	c.lu = itl->lu;
	c.itl = itl;
	c.status = SCSI_STATUS_GOOD;
	assert_int_equal(spc_reserve(&c), SCSI_RC_DONE);
	assert_int_equal(c.status, SCSI_STATUS_GOOD);
	assert_null(f->lu->spc2_holder);
	scsi_itl_put(itl); /* the last use: the nexus is freed */
	/* the LU is free for the next session that maps it */
	assert_int_equal(scsi_sess_map(f->sess, 0, f->lu, false), 0);
	run(f, tur, 6, 0, 0); /* its unit attention, if any */
	expect_good(run(f, tur, 6, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(inquiry_standard_reports_spc4_disk_with_identity),
		cmocka_unit_test(inquiry_uses_configured_vendor_and_removable),
		T(inquiry_alloc_len_truncates_on_both_sides),
		T(inquiry_edtl_smaller_than_alloc_len_fills_edtl),
		T(inquiry_evpd0_with_page_code_is_invalid_field),
		T(inquiry_cmddt_is_invalid_field),
		T(inquiry_vpd_supported_pages_lists_all_sorted),
		T(inquiry_vpd_every_listed_page_answers),
		T(inquiry_vpd_unit_serial_is_stable_ascii),
		T(inquiry_vpd_devid_has_naa_t10_and_port_designators),
		T(inquiry_vpd_block_limits_reports_max_transfer),
		T(inquiry_vpd_bdc_reports_non_rotating),
		T(inquiry_vpd_lbp_reports_thin_and_lbprz),
		T(inquiry_unsupported_vpd_is_invalid_field),
		T(inquiry_vpd_alloc_len_truncates),
		T(inquiry_unmapped_lun_reports_pq3_type1f),
		T(report_luns_alloc_below_16_is_invalid_field),
		T(report_luns_lists_mapped_luns),
		T(report_luns_works_on_unmapped_lun),
		T(mode_sense6_caching_page_reflects_wce),
		cmocka_unit_test(mode_sense_write_through_device_has_wce_off),
		T(mode_sense6_block_descriptor_and_control_page),
		T(mode_sense_all_pages_returns_every_page),
		T(mode_sense10_llbaa_gives_long_block_descriptor),
		T(mode_sense_saved_values_is_saving_not_supported),
		T(mode_sense_changeable_shows_wce_and_d_sense),
		T(mode_sense_unknown_page_is_invalid_field),
		T(mode_sense6_alloc_len_4_returns_header_only),
		T(d_sense_switches_errors_to_descriptor_format),
		T(rsoc_all_lists_every_command_table_entry),
		T(rsoc_rctd_adds_timeout_descriptors),
		T(rsoc_one_command_follows_servactv_rules),
		T(every_reported_opcode_is_not_an_invalid_opcode),
		T(report_supported_tmfs_lists_abort_and_resets),
		T(mode_select_turns_write_cache_off),
		T(mode_select_d_sense_switches_sense_format),
		T(mode_select_swp_write_protects_the_lu),
		T(mode_select_unchangeable_field_is_invalid_param),
		T(mode_select_changes_give_other_nexus_a_ua),
		T(mode_select_save_pages_and_bad_lengths_are_refused),
		T(lu_reset_returns_mode_parameters_to_defaults),
		cmocka_unit_test(
			lu_reset_keeps_a_write_through_lu_write_through),
		T(reserve_through_an_unmapped_nexus_holds_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
