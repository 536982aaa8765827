/*
 * test_scsi.c — the SCSI layer driven through scsi_cmd_exec() on mem and
 * null logical units, with a stub environment.
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

#include "env.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------ stub env */

static uint64_t stub_now_ns(struct env *e)
{
	return 0;
}
static uint64_t stub_random_u64(struct env *e)
{
	return 0x1234;
}
static void stub_log(struct env *e, enum ut_log_level l, const char *line)
{
}

/* durable state: one slot is enough for the APTPL tests */
static char state_key_saved[128];
static uint8_t state_saved[1 << 15];
static ssize_t state_len = -ENOENT;
static int state_puts;

static int stub_state_put(struct env *e, const char *key, const void *data,
			  size_t len)
{
	snprintf(state_key_saved, sizeof(state_key_saved), "%s", key);
	if (len > sizeof(state_saved))
		return -ENOSPC;
	if (len)
		memcpy(state_saved, data, len);
	state_len = len ? (ssize_t)len : -ENOENT;
	state_puts++;
	return 0;
}

static bool state_broken; /* no state directory configured */

static ssize_t stub_state_get(struct env *e, const char *key, void *buf,
			      size_t cap)
{
	if (state_broken)
		return -ENOTSUP;
	if (state_len < 0 || strcmp(key, state_key_saved) != 0)
		return -ENOENT;
	if ((size_t)state_len > cap)
		return -ENOSPC;
	memcpy(buf, state_saved, (size_t)state_len);
	return state_len;
}

/* timers: armed ones fire from stub_run_timers(), in arming order */
struct env_timer {
	env_timer_fn fn;
	void *arg;
	bool armed;
};
#define STUB_TIMERS 8
static struct env_timer *stub_timers[STUB_TIMERS];

static struct env_timer *stub_timer_new(struct env *e, env_timer_fn fn,
					void *arg)
{
	for (unsigned int i = 0; i < STUB_TIMERS; i++) {
		if (!stub_timers[i]) {
			stub_timers[i] = calloc(1, sizeof(struct env_timer));
			stub_timers[i]->fn = fn;
			stub_timers[i]->arg = arg;
			return stub_timers[i];
		}
	}
	return NULL;
}
static void stub_timer_arm(struct env_timer *t, uint64_t deadline_ns)
{
	t->armed = true;
}
static void stub_timer_cancel(struct env_timer *t)
{
	t->armed = false;
}
static void stub_timer_free(struct env_timer *t)
{
	for (unsigned int i = 0; i < STUB_TIMERS; i++)
		if (stub_timers[i] == t)
			stub_timers[i] = NULL;
	free(t);
}
static bool stub_hold_timers; /* run() leaves armed timers alone */

/* Fire armed timers until none is armed; returns how many fired. */
static unsigned int stub_run_timers(void)
{
	unsigned int fired = 0;
	bool any = true;

	while (any) {
		any = false;
		for (unsigned int i = 0; i < STUB_TIMERS; i++) {
			struct env_timer *t = stub_timers[i];

			if (t && t->armed) {
				t->armed = false;
				t->fn(t->arg);
				fired++;
				any = true;
			}
		}
	}
	return fired;
}

static const struct env_ops stub_ops = {
	.now_ns = stub_now_ns,
	.timer_new = stub_timer_new,
	.timer_arm = stub_timer_arm,
	.timer_cancel = stub_timer_cancel,
	.timer_free = stub_timer_free,
	.random_u64 = stub_random_u64,
	.log = stub_log,
	.state_put = stub_state_put,
	.state_get = stub_state_get,
};
static struct env stub_env = {.ops = &stub_ops, .log_level = UT_LOG_ERROR};

/* ------------------------------------------------------ fixture */

#define DISK_BYTES (128ull << 20)
#define BS 512u
#define NBLOCKS (DISK_BYTES / BS)

struct fx {
	struct bs_dev *bs;
	struct scsi_lu *lu;
	struct scsi_sess *sess;
	struct scsi_cmd cmd;
	int done_calls;
	uint8_t *buf; /* 17 MiB: one transfer past the limit */
};

#define BUF_BYTES (SCSI_MAX_XFER_BYTES + (1u << 20))

static void on_done(struct scsi_cmd *cmd)
{
	struct fx *f = cmd->transport;

	f->done_calls++;
}

static bool fx_thin = true; /* the next fx_new()'s provisioning */

static struct fx *fx_new(struct ut_dev_cfg *dev, uint64_t size, bool clear_ua)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "d",
				  .size_bytes = size,
				  .block_size = BS,
				  .thin = fx_thin};
	struct scsi_nexus_id id = {0};

	assert_non_null(f);
	assert_int_equal(bs_mem_open(&p, &f->bs), 0);
	f->lu = scsi_lu_new(&stub_env, dev, f->bs, 7);
	assert_non_null(f->lu);
	strcpy(id.initiator_name, "iqn.1994-05.com.example:init");
	strcpy(id.target_name, "iqn.2026-11.org.utarget:t");
	id.tpgt = 1;
	id.rel_tgt_port_id = 1;
	f->sess = scsi_sess_new(&stub_env, &id);
	assert_non_null(f->sess);
	assert_int_equal(scsi_sess_map(f->sess, 0, f->lu, false), 0);
	f->buf = calloc(1, BUF_BYTES);
	assert_non_null(f->buf);
	if (clear_ua) {
		uint8_t tur[6] = {0};
		struct scsi_cmd *c = &f->cmd;

		memset(c, 0, sizeof(*c));
		c->sess = f->sess;
		memcpy(c->cdb, tur, 6);
		c->cdb_len = 6;
		c->done = on_done;
		c->transport = f;
		scsi_cmd_exec(c);
	}
	return f;
}

static int setup(void **state)
{
	*state = fx_new(NULL, DISK_BYTES, true);
	return 0;
}

static void fx_free(struct fx *f)
{
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	scsi_sess_free(f->sess);
	scsi_lu_free(f->lu);
	bs_close(f->bs);
	free(f->buf);
	free(f);
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* Run one command; Data-In room = edtl; data_out bytes taken from buf. */
static struct scsi_cmd *run_on(struct fx *f, struct scsi_sess *s, uint64_t lun,
			       const uint8_t *cdb, size_t cdb_len,
			       uint32_t edtl, uint32_t data_out_len)
{
	struct scsi_cmd *c = &f->cmd;
	int before = f->done_calls;

	memset(c, 0, sizeof(*c));
	c->sess = s;
	c->lun = lun;
	memcpy(c->cdb, cdb, cdb_len);
	c->cdb_len = (uint8_t)cdb_len;
	c->edtl = edtl;
	c->buf = f->buf;
	c->buf_cap = edtl;
	c->data_out_len = data_out_len;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
	if (!stub_hold_timers)
		stub_run_timers(); /* background work (SANITIZE) ends */
	assert_int_equal(f->done_calls, before + 1);
	return c;
}

static struct scsi_cmd *run_lun(struct fx *f, uint64_t lun, const uint8_t *cdb,
				size_t cdb_len, uint32_t edtl,
				uint32_t data_out_len)
{
	return run_on(f, f->sess, lun, cdb, cdb_len, edtl, data_out_len);
}

static struct scsi_cmd *run(struct fx *f, const uint8_t *cdb, size_t cdb_len,
			    uint32_t edtl, uint32_t data_out_len)
{
	return run_lun(f, 0, cdb, cdb_len, edtl, data_out_len);
}

static void read_blocks(struct fx *f, uint64_t lba, uint32_t n);
static void write_blocks(struct fx *f, uint64_t lba, uint32_t n, uint8_t v);

static uint8_t sense_key(const struct scsi_cmd *c)
{
	return (c->sense[0] & 0x7f) == 0x72 ? c->sense[1] & 0xf
					    : c->sense[2] & 0xf;
}

static uint16_t sense_asc(const struct scsi_cmd *c)
{
	if ((c->sense[0] & 0x7f) == 0x72)
		return (uint16_t)(c->sense[2] << 8 | c->sense[3]);
	return (uint16_t)(c->sense[12] << 8 | c->sense[13]);
}

static void expect_sense(const struct scsi_cmd *c, uint8_t key, uint16_t asc)
{
	if (c->status != SCSI_STATUS_CHECK_CONDITION || sense_key(c) != key ||
	    sense_asc(c) != asc)
		fail_msg("expected CHECK CONDITION %x/%04x, got status %02x "
			 "sense %x/%04x",
			 key, asc, c->status, sense_key(c), sense_asc(c));
	assert_int_equal(c->data_in_len, 0);
}

static void expect_good(const struct scsi_cmd *c)
{
	if (c->status != SCSI_STATUS_GOOD)
		fail_msg("expected GOOD, got status %02x sense %x/%04x",
			 c->status, sense_key(c), sense_asc(c));
}

/* CDB builders */
static void cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

static void cdb_rw12(uint8_t *cdb, uint8_t op, uint32_t lba, uint32_t n)
{
	memset(cdb, 0, 12);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be32(cdb + 6, n);
}

static void cdb_rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
}

static void cdb_rw6(uint8_t *cdb, uint8_t op, uint32_t lba, uint8_t n)
{
	memset(cdb, 0, 6);
	cdb[0] = op;
	put_be24(cdb + 1, lba & 0x1fffff);
	cdb[4] = n;
}

static void cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc)
{
	memset(cdb, 0, 6);
	cdb[0] = 0x12;
	cdb[1] = evpd ? 1 : 0;
	cdb[2] = page;
	put_be16(cdb + 3, alloc);
}

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

static void tur_on_unmapped_lun_is_lu_not_supported(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0};

	expect_sense(run_lun(f, 5, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LU_NOT_SUPPORTED);
}

static void request_sense_on_unmapped_lun_returns_lu_not_supported(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x03, 0, 0, 0, 252, 0};
	struct scsi_cmd *c;

	c = run_lun(f, 9, cdb, 6, 252, 0);
	expect_good(c);
	assert_int_equal(f->buf[2] & 0xf, SK_ILLEGAL_REQUEST);
	assert_int_equal(f->buf[12], 0x25);
}

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

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

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

static void unknown_opcode_is_invalid_command_operation_code(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0xc7};

	expect_sense(run(f, cdb, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_OPCODE);
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

/* ------------------------------------------------ unit attention */

static void ua_after_map_is_reported_once_then_cleared(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t tur[6] = {0};

	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

static void inquiry_and_report_luns_neither_blocked_nor_clear_ua(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t inq[6], rl[12] = {0xa0}, tur[6] = {0};

	cdb_inquiry(inq, false, 0, 96);
	expect_good(run(f, inq, 6, 96, 0));
	put_be32(rl + 6, 64);
	expect_good(run(f, rl, 12, 64, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	fx_free(f);
}

static void request_sense_returns_and_clears_ua(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0}, tur[6] = {0};
	struct scsi_cmd *c;

	c = run(f, rs, 6, 18, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 18);
	assert_int_equal(f->buf[0], 0x70);
	assert_int_equal(f->buf[2], SK_UNIT_ATTENTION);
	assert_int_equal(f->buf[12], 0x29);
	expect_good(run(f, tur, 6, 0, 0));
	c = run(f, rs, 6, 18, 0);
	expect_good(c);
	assert_int_equal(f->buf[2], SK_NO_SENSE);
	assert_int_equal(f->buf[12], 0);
	fx_free(f);
}

static void request_sense_desc_bit_returns_descriptor_format(void **state)
{
	struct fx *f = *state;
	uint8_t rs[6] = {0x03, 0x01, 0, 0, 252, 0};
	struct scsi_cmd *c;

	c = run(f, rs, 6, 252, 0);
	expect_good(c);
	assert_int_equal(f->buf[0], 0x72);
	assert_int_equal(c->data_in_len, 8);
}

static void ua_queue_keeps_oldest_when_full_and_reset_supersedes(void **state)
{
	struct fx *f = *state;
	struct scsi_itl *itl = f->sess->lun_map[0];
	uint8_t tur[6] = {0};
	uint16_t asc;

	for (unsigned int i = 0; i < SCSI_UA_QUEUE_MAX + 4; i++)
		scsi_ua_add(itl, (uint16_t)(0x3f00 + i));
	scsi_ua_add(itl, 0x3f00); /* duplicate: not queued */
	assert_int_equal(itl->ua_count, SCSI_UA_QUEUE_MAX);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION, 0x3f00);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION, 0x3f01);
	scsi_ua_add(itl, ASC_BUS_DEVICE_RESET);
	assert_int_equal(itl->ua_count, 1);
	assert_true(scsi_ua_pop(itl, &asc));
	assert_int_equal(asc, ASC_BUS_DEVICE_RESET);
	assert_false(scsi_ua_pop(itl, &asc));
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
	assert_int_equal(p[2] & 0x04, 0); /* D_SENSE off */
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

/* --------------------------------------------- backstore failures */

/* A backstore that holds requests until the test completes them. */
struct held {
	struct bs_req *req;
	int fail_status;
};
static struct held held;

static void hold_submit(struct bs_dev *dev, struct bs_req *req)
{
	if (held.fail_status) {
		req->done(req, held.fail_status);
		return;
	}
	held.req = req;
}
static void hold_close(struct bs_dev *dev)
{
	free(dev);
}
static const struct bs_ops hold_ops = {.submit = hold_submit,
				       .close = hold_close};

static struct fx *fx_hold(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0};

	f->bs = calloc(1, sizeof(*f->bs));
	f->bs->ops = &hold_ops;
	f->bs->size_bytes = DISK_BYTES;
	f->bs->block_size = BS;
	f->lu = scsi_lu_new(&stub_env, NULL, f->bs, 2);
	f->sess = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(f->sess, 0, f->lu, false);
	f->buf = calloc(1, 1 << 20);
	run(f, tur, 6, 0, 0);
	memset(&held, 0, sizeof(held));
	return f;
}

static void backstore_errors_map_to_sense(void **state)
{
	struct fx *f = fx_hold();
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, 8, 1);
	held.fail_status = -EIO;
	expect_sense(run(f, cdb, 10, BS, 0), SK_MEDIUM_ERROR,
		     ASC_UNRECOVERED_READ);
	assert_int_equal(get_be32(f->cmd.sense + 3), 8);
	cdb[0] = 0x2a;
	expect_sense(run(f, cdb, 10, BS, BS), SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	held.fail_status = -ENOSPC;
	expect_sense(run(f, cdb, 10, BS, BS), SK_DATA_PROTECT,
		     ASC_SPACE_ALLOC_FAILED_WP);
	held.fail_status = -ENOMEM;
	expect_sense(run(f, cdb, 10, BS, BS), SK_HARDWARE_ERROR,
		     ASC_INTERNAL_TARGET_FAILURE);
	fx_free(f);
}

static void lu_reset_aborts_in_flight_command_and_sets_ua(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t cdb[10], tur[6] = {0};

	cdb_rw10(cdb, 0x2a, 0, 1);
	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	memcpy(c->cdb, cdb, 10);
	c->cdb_len = 10;
	c->tag = 77;
	c->buf = f->buf;
	c->buf_cap = c->edtl = c->data_out_len = BS;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
	assert_non_null(held.req);
	assert_int_equal(f->done_calls, 1); /* only the setup TUR */
	assert_int_equal(scsi_sess_busy(f->sess), 1);
	assert_int_equal(scsi_tmf_abort_task(f->sess, 0, 76), 0);
	assert_false(c->aborted);
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0), 0);
	assert_true(c->aborted);
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 4), 9);
	held.req->done(held.req, 0);
	assert_int_equal(f->done_calls, 2);
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	fx_free(f);
}

static void abort_task_marks_only_that_tag(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t tur[6] = {0};

	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	cdb_rw10(c->cdb, 0x28, 0, 1);
	c->cdb_len = 10;
	c->tag = 5;
	c->buf = f->buf;
	c->buf_cap = c->edtl = BS;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
	assert_int_equal(scsi_tmf_abort_task(f->sess, 0, 5), 0);
	assert_true(c->aborted);
	held.req->done(held.req, 0);
	assert_int_equal(c->data_in_len, 0);
	/* no UA for the nexus that aborted its own task */
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

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

static void read_blocks(struct fx *f, uint64_t lba, uint32_t n)
{
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x88, lba, n);
	expect_good(run(f, cdb, 16, n * BS, 0));
}

static void write_blocks(struct fx *f, uint64_t lba, uint32_t n, uint8_t v)
{
	uint8_t cdb[16];

	memset(f->buf, v, n * BS);
	cdb_rw16(cdb, 0x8a, lba, n);
	expect_good(run(f, cdb, 16, n * BS, n * BS));
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

/* -------------------------------------- COMPARE AND WRITE and friends */

static void cdb_caw(uint8_t *cdb, uint64_t lba, uint8_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	put_be64(cdb + 2, lba);
	cdb[13] = n;
}

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

/* --------------------------------------------------- LBA range locks */

static void cmd_init(struct fx *f, struct scsi_cmd *c, const uint8_t *cdb,
		     size_t len, uint8_t *buf, uint32_t bytes)
{
	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	memcpy(c->cdb, cdb, len);
	c->cdb_len = (uint8_t)len;
	c->buf = buf;
	c->buf_cap = c->edtl = c->data_out_len = bytes;
	c->done = on_done;
	c->transport = f;
}

static void write_overlapping_compare_and_write_waits_for_it(void **state)
{
	struct fx *f = fx_hold();
	static uint8_t caw_buf[2 * BS], w_buf[BS], r_buf[BS];
	struct scsi_cmd caw, w, r;
	uint8_t cdb[16];
	struct bs_req *req;

	memset(caw_buf, 0, BS);
	memset(caw_buf + BS, 'B', BS);
	cdb_caw(cdb, 4, 1);
	cmd_init(f, &caw, cdb, 16, caw_buf, 2 * BS);
	scsi_cmd_exec(&caw);
	req = held.req; /* CAW's read */
	assert_int_equal(req->op, BS_OP_READ);
	/* a read of the range is not blocked */
	cdb_rw10(cdb, 0x28, 4, 1);
	cmd_init(f, &r, cdb, 10, r_buf, BS);
	scsi_cmd_exec(&r);
	assert_ptr_not_equal(held.req, req);
	held.req->done(held.req, 0);
	held.req = req;
	/* an overlapping write waits */
	cdb_rw10(cdb, 0x2a, 3, 2);
	cmd_init(f, &w, cdb, 10, w_buf, 2 * BS);
	w.data_out_len = 2 * BS;
	w.buf_cap = w.edtl = 2 * BS;
	w.buf = f->buf;
	held.req = NULL;
	scsi_cmd_exec(&w);
	assert_null(held.req);
	assert_int_equal(scsi_sess_busy(f->sess), 2);
	memset(req->iov[0].iov_base, 0, BS);
	req->done(req, 0); /* CAW read done */
	req = held.req;
	assert_non_null(req);
	assert_int_equal(req->op, BS_OP_WRITE); /* CAW's write */
	held.req = NULL;
	req->done(req, 0); /* CAW complete: w runs */
	expect_good(&caw);
	assert_non_null(held.req);
	assert_int_equal(held.req->op, BS_OP_WRITE);
	assert_int_equal(held.req->offset_bytes, 3 * BS);
	held.req->done(held.req, 0);
	expect_good(&w);
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	fx_free(f);
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

static void rsoc_all_lists_every_command_table_entry(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rsoc(f, 0, 0, 0, 65535);
	uint32_t len;

	expect_good(c);
	len = get_be32(f->buf);
	assert_int_equal(len, 8 * scsi_opcode_count);
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
	assert_int_equal(get_be32(f->buf), 20 * scsi_opcode_count);
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
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0), 0);
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

/* -------------------------------------------- SPC-2 RESERVE/RELEASE */

static struct scsi_sess *sess2(struct fx *f, const char *name, uint8_t isid0)
{
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s;

	snprintf(id.initiator_name, sizeof(id.initiator_name), "%s", name);
	id.isid[0] = isid0;
	id.rel_tgt_port_id = 1;
	s = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(s, 0, f->lu, false), 0);
	scsi_ua_clear(s->lun_map[0]);
	return s;
}

static void reserve6_conflicts_other_nexus_until_release(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);
	uint8_t res[6] = {0x16}, rel[6] = {0x17}, tur[6] = {0}, inq[6];
	struct scsi_cmd *c;

	expect_good(run(f, res, 6, 0, 0));
	expect_good(run(f, res, 6, 0, 0)); /* again: fine */
	c = run_on(f, s2, 0, res, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(c->sense_len, 0);
	c = run_on(f, s2, 0, tur, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	cdb_inquiry(inq, false, 0, 96);
	expect_good(run_on(f, s2, 0, inq, 6, 96, 0));
	expect_good(run_on(f, s2, 0, rel, 6, 0, 0)); /* no-op */
	c = run_on(f, s2, 0, tur, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	expect_good(run(f, rel, 6, 0, 0));
	expect_good(run_on(f, s2, 0, res, 6, 0, 0));
	expect_good(run_on(f, s2, 0, rel, 6, 0, 0));
	scsi_sess_free(s2);
}

static void reserve6_is_released_by_nexus_loss_and_lu_reset(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);
	uint8_t res10[10] = {0x56}, tur[6] = {0};

	expect_good(run_on(f, s2, 0, res10, 10, 0, 0));
	assert_int_equal(run(f, tur, 6, 0, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	scsi_sess_free(s2);
	expect_good(run(f, tur, 6, 0, 0));
	expect_good(run(f, res10, 10, 0, 0));
	s2 = sess2(f, "iqn.x:b", 0);
	assert_int_equal(run_on(f, s2, 0, tur, 6, 0, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(scsi_tmf_lu_reset(s2, 0), 0);
	scsi_ua_clear(s2->lun_map[0]);
	scsi_ua_clear(f->sess->lun_map[0]);
	expect_good(run_on(f, s2, 0, tur, 6, 0, 0));
	res10[1] = 0x10; /* 3RDPTY */
	expect_sense(run(f, res10, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	scsi_sess_free(s2);
}

/* ------------------------------------------- persistent reservations */

static struct scsi_cmd *prout(struct fx *f, struct scsi_sess *s, uint8_t sa,
			      uint8_t type, uint64_t key, uint64_t sark,
			      uint8_t flags)
{
	uint8_t cdb[10] = {0x5f, sa, type};

	put_be32(cdb + 5, 24);
	memset(f->buf, 0, 24);
	put_be64(f->buf, key);
	put_be64(f->buf + 8, sark);
	f->buf[20] = flags;
	return run_on(f, s, 0, cdb, 10, 24, 24);
}

static struct scsi_cmd *prin(struct fx *f, struct scsi_sess *s, uint8_t sa,
			     uint16_t alloc)
{
	uint8_t cdb[10] = {0x5e, sa};

	put_be16(cdb + 7, alloc);
	return run_on(f, s, 0, cdb, 10, alloc, 0);
}

static void expect_conflict(const struct scsi_cmd *c)
{
	if (c->status != SCSI_STATUS_RESERVATION_CONFLICT)
		fail_msg("expected RESERVATION CONFLICT, got %02x %x/%04x",
			 c->status, sense_key(c), sense_asc(c));
}

static void pr_register_read_keys_and_unregister(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;
	uint32_t gen;

	c = prin(f, f->sess, 0, 64);
	expect_good(c);
	gen = get_be32(f->buf);
	assert_int_equal(get_be32(f->buf + 4), 0);
	expect_good(prout(f, f->sess, 6, 0, 0, 0xabc, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf), gen + 1);
	assert_int_equal(get_be32(f->buf + 4), 8);
	assert_int_equal(get_be64(f->buf + 8), 0xabc);
	/* REGISTER with a wrong key conflicts; with the right one changes */
	expect_conflict(prout(f, f->sess, 0, 0, 0x111, 0x222, 0));
	expect_good(prout(f, f->sess, 0, 0, 0xabc, 0xdef, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be64(f->buf + 8), 0xdef);
	expect_good(prout(f, f->sess, 0, 0, 0xdef, 0, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	/* an unregistered nexus REGISTERing with a non-zero key conflicts */
	expect_conflict(prout(f, f->sess, 0, 0, 0x5, 0x6, 0));
}

static void pr_read_keys_truncated_keeps_additional_length(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x77, 0));
	c = prin(f, f->sess, 0, 8);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
	assert_int_equal(get_be32(f->buf + 4), 8);
}

static void pr_in_unknown_service_action_is_invalid_field(void **state)
{
	struct fx *f = *state;

	for (uint8_t sa = 0; sa < 4; sa++)
		expect_good(prin(f, f->sess, sa, 512));
	for (uint8_t sa = 4; sa < 0x20; sa++)
		expect_sense(prin(f, f->sess, sa, 512), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB);
}

static void pr_report_capabilities_lists_all_types(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = prin(f, f->sess, 2, 8);

	expect_good(c);
	assert_int_equal(get_be16(f->buf), 8);
	assert_int_equal(f->buf[2] & 0x0d, 0x0d); /* SIP ATP PTPL */
	assert_int_equal(f->buf[4], 0xea);
	assert_int_equal(f->buf[5], 0x01);
}

/* reads/writes from s2 (registered or not) under each type */
struct access_row {
	uint8_t type;
	bool reg_read, reg_write, unreg_read, unreg_write;
};

static bool can(struct fx *f, struct scsi_sess *s, bool write)
{
	uint8_t cdb[10];

	cdb_rw10(cdb, write ? 0x2a : 0x28, 0, 1);
	memset(f->buf, 0, BS);
	return run_on(f, s, 0, cdb, 10, BS, write ? BS : 0)->status ==
	       SCSI_STATUS_GOOD;
}

static void pr_reservation_types_block_what_spc4_says(void **state)
{
	static const struct access_row rows[] = {
		{1, true, false, true, false}, {3, false, false, false, false},
		{5, true, true, true, false},  {6, true, true, false, false},
		{7, true, true, true, false},  {8, true, true, false, false},
	};
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct access_row *r = &rows[i];

		expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
		expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
		expect_good(prout(f, f->sess, 1, r->type, 0x1, 0, 0));
		prin(f, f->sess, 1, 64);
		assert_int_equal(get_be32(f->buf + 4), 16);
		assert_int_equal(get_be64(f->buf + 8), r->type >= 7 ? 0 : 0x1);
		assert_int_equal(f->buf[21], r->type);
		assert_true(can(f, f->sess, false) && can(f, f->sess, true));
		assert_int_equal(can(f, s2, false), r->reg_read);
		assert_int_equal(can(f, s2, true), r->reg_write);
		expect_good(prout(f, s2, 0, 0, 0x2, 0, 0));
		scsi_ua_clear(s2->lun_map[0]);
		assert_int_equal(can(f, s2, false), r->unreg_read);
		assert_int_equal(can(f, s2, true), r->unreg_write);
		expect_good(prout(f, f->sess, 2, r->type, 0x1, 0, 0));
		expect_good(prout(f, f->sess, 0, 0, 0x1, 0, 0));
		scsi_ua_clear(s2->lun_map[0]);
		scsi_ua_clear(f->sess->lun_map[0]);
	}
	scsi_sess_free(s2);
}

static void pr_reserve_by_other_nexus_conflicts(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));     /* same */
	expect_conflict(prout(f, f->sess, 1, 3, 0x1, 0, 0)); /* other */
	expect_conflict(prout(f, s2, 1, 1, 0x2, 0, 0));
	expect_conflict(prout(f, s2, 1, 1, 0x9, 0, 0)); /* bad key */
	/* release by a non-holder does nothing; wrong type is refused */
	expect_good(prout(f, s2, 2, 1, 0x2, 0, 0));
	expect_sense(prout(f, f->sess, 2, 3, 0x1, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_RELEASE_OF_PR);
	expect_sense(prout(f, f->sess, 1, 2, 0x1, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB); /* type 2 */
	/* SPC-2 RESERVE is refused while registrations exist */
	uint8_t res[6] = {0x16};
	expect_conflict(run(f, res, 6, 0, 0));
	scsi_sess_free(s2);
}

static void pr_preempt_removes_registration_and_bumps_generation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:a", 1); /* same name */
	uint8_t tur[6] = {0};
	uint32_t gen;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 16);
	gen = get_be32(f->buf);
	expect_good(prout(f, s2, 4, 3, 0x2, 0x1, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_REGISTRATIONS_PREEMPTED);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf), gen + 1);
	assert_int_equal(get_be32(f->buf + 4), 8);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	/* no reservation was created by preempting without one */
	prin(f, f->sess, 1, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	/* preempting a key nobody has conflicts; key 0 is invalid */
	expect_conflict(prout(f, s2, 4, 3, 0x2, 0x99, 0));
	expect_sense(prout(f, s2, 4, 3, 0x2, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	scsi_sess_free(s2);
}

static void pr_preempt_takes_the_reservation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 3, 0x1, 0, 0));
	assert_false(can(f, s2, false));
	expect_good(prout(f, s2, 5, 1, 0x2, 0x1, 0)); /* and abort */
	prin(f, s2, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	assert_int_equal(f->buf[21], 1);
	assert_true(can(f, s2, true));
	scsi_ua_clear(f->sess->lun_map[0]);
	assert_false(can(f, f->sess, true)); /* f is gone */
	scsi_sess_free(s2);
}

static void pr_clear_removes_everything_and_tells_others(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);
	uint8_t tur[6] = {0};

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	expect_conflict(prout(f, s2, 3, 0, 0x7, 0, 0)); /* wrong key */
	expect_good(prout(f, s2, 3, 0, 0x2, 0, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_RESERVATIONS_PREEMPTED);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	assert_true(can(f, s2, true) && can(f, f->sess, true));
	scsi_sess_free(s2);
}

static void pr_out_parameter_list_must_be_24_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, 6};

	memset(f->buf, 0, 32);
	put_be32(cdb + 5, 23);
	expect_sense(run(f, cdb, 10, 23, 23), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	put_be32(cdb + 5, 32);
	expect_sense(run(f, cdb, 10, 32, 32), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	cdb[1] = 9;
	expect_sense(run(f, cdb, 10, 32, 32), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static uint32_t put_tid(uint8_t *t, const char *s)
{
	uint32_t n = (uint32_t)strlen(s) + 1, len = (n + 3) & ~3u;

	memset(t, 0, 4 + len);
	t[0] = 0x40 | 5;
	put_be16(t + 2, (uint16_t)len);
	memcpy(t + 4, s, n);
	return 4 + len;
}

static void pr_spec_i_pt_registers_named_nexus(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0x23);
	uint8_t cdb[10] = {0x5f, 0};
	uint32_t tl;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	tl = put_tid(f->buf + 28, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	expect_good(run(f, cdb, 10, 28 + tl, 28 + tl));
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 16);
	/* s2 is registered with the same key: it may reserve */
	expect_good(prout(f, s2, 1, 1, 0x10, 0, 0));
	prin(f, f->sess, 3, 1024);
	assert_int_equal(get_be32(f->buf + 4), 2 * 24 + 52 + 32);
	scsi_sess_free(s2);
}

static void pr_register_and_move_hands_over_the_reservation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0x23);
	uint8_t cdb[10] = {0x5f, 7, 1};
	uint32_t tl;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	memset(f->buf, 0, 64);
	put_be64(f->buf, 0x1);
	put_be64(f->buf + 8, 0x55);
	f->buf[17] = 0x02; /* UNREG */
	put_be16(f->buf + 18, 1);
	tl = put_tid(f->buf + 24, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 20, tl);
	put_be32(cdb + 5, 24 + tl);
	expect_good(run(f, cdb, 10, 24 + tl, 24 + tl));
	prin(f, f->sess, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x55);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 8); /* f unregistered */
	assert_true(can(f, s2, true));
	assert_false(can(f, f->sess, true));
	scsi_sess_free(s2);
}

static void pr_aptpl_state_survives_a_new_lu(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;

	strcpy(dev.name, "aptpl");
	state_len = -ENOENT;
	f = fx_new(&dev, DISK_BYTES, true);
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0x01));
	expect_good(prout(f, f->sess, 1, 3, 0x42, 0, 0));
	assert_string_equal(state_key_saved, "pr-aptpl");
	assert_true(state_len > 0);
	fx_free(f);
	f = fx_new(&dev, DISK_BYTES, true); /* "restart" */
	prin(f, f->sess, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x42);
	assert_int_equal(f->buf[21], 3);
	prin(f, f->sess, 2, 8);
	assert_int_equal(f->buf[3] & 0x01, 0x01); /* PTPL_A */
	/* the same initiator port is still the holder */
	assert_true(can(f, f->sess, true));
	/* registering with APTPL=0 drops the saved copy */
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0));
	assert_true(state_len < 0);
	fx_free(f);
	state_len = -ENOENT;
}

/* ------------------------------------------------ more TMF and PR */

static void clear_task_set_tells_the_other_nexus(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2;
	struct scsi_cmd c2;
	static uint8_t b2[BS];
	uint8_t cdb[10], tur[6] = {0};

	strcpy(id.initiator_name, "iqn.x:two");
	s2 = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	cdb_rw10(cdb, 0x28, 0, 1);
	cmd_init(f, &c2, cdb, 10, b2, BS);
	c2.sess = s2;
	c2.data_out_len = 0;
	scsi_cmd_exec(&c2);
	assert_non_null(held.req);
	/* ABORT TASK SET of the first nexus leaves s2's task alone */
	assert_int_equal(scsi_tmf_abort_task_set(f->sess, 0), 0);
	assert_false(c2.aborted);
	assert_int_equal(scsi_tmf_clear_task_set(f->sess, 0), 0);
	assert_true(c2.aborted);
	held.req->done(held.req, 0);
	assert_int_equal(c2.data_in_len, 0);
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_COMMANDS_CLEARED_BY_OTHER);
	expect_good(run(f, tur, 6, 0, 0));
	assert_int_equal(scsi_tmf_abort_task_set(f->sess, 9), 9);
	assert_int_equal(scsi_tmf_target_reset(f->sess), 0);
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	scsi_sess_free(s2);
	fx_free(f);
}

static void read_partial_block_completes_asynchronously(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, 3, 1);
	cmd_init(f, c, cdb, 10, f->buf, 100);
	c->data_out_len = 0;
	scsi_cmd_exec(c);
	assert_non_null(held.req);
	assert_int_equal(held.req->length_bytes, BS);
	memset(held.req->iov[0].iov_base, 0x3c, BS);
	held.req->done(held.req, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 100);
	assert_int_equal(f->buf[99], 0x3c);
	assert_int_equal(f->buf[100], 0);
	fx_free(f);
}

static void pr_all_tg_pt_registration_covers_every_port(void **state)
{
	struct fx *f = *state;
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2;

	/* same initiator port, another target port */
	id = f->sess->id;
	id.rel_tgt_port_id = 2;
	s2 = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	expect_good(prout(f, f->sess, 6, 0, 0, 0x31, 0x04));
	/* s2 is the same registrant: it may RESERVE with that key */
	expect_good(prout(f, s2, 1, 1, 0x31, 0, 0));
	prin(f, f->sess, 3, 512);
	assert_int_equal(f->buf[8 + 12], 0x03); /* ALL_TG_PT, holder */
	assert_int_equal(f->buf[8 + 13], 1);
	scsi_sess_free(s2);
}

static void pr_release_of_registrants_only_tells_the_others(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);
	uint8_t tur[6] = {0};

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 5, 0x1, 0, 0));
	expect_good(prout(f, f->sess, 2, 5, 0x1, 0, 0));
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_RESERVATIONS_RELEASED);
	expect_good(run(f, tur, 6, 0, 0));
	scsi_sess_free(s2);
}

static void pr_all_registrants_survives_until_the_last_unregisters(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0);
	struct scsi_sess *s3 = sess2(f, "iqn.x:c", 0);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 8, 0x1, 0, 0));
	assert_false(can(f, s3, false));
	expect_good(prout(f, f->sess, 0, 0, 0x1, 0, 0)); /* leave */
	assert_false(can(f, s3, false));		 /* s2 still holds */
	expect_good(prout(f, s2, 0, 0, 0x2, 0, 0));
	assert_true(can(f, s3, true));
	/* preempt with key 0 under all-registrants takes it over */
	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 7, 0x1, 0, 0));
	expect_good(prout(f, s2, 4, 1, 0x2, 0, 0));
	prin(f, s2, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 8);
	prin(f, s2, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	assert_int_equal(f->buf[21], 1);
	scsi_sess_free(s3);
	scsi_sess_free(s2);
}

static void pr_registrations_survive_the_nexus(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 5);

	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, s2, 1, 3, 0x2, 0, 0));
	scsi_sess_free(s2);
	assert_false(can(f, f->sess, false));
	s2 = sess2(f, "iqn.x:b", 5); /* reconnects */
	assert_true(can(f, s2, true));
	expect_good(prout(f, s2, 3, 0, 0x2, 0, 0)); /* CLEAR */
	scsi_sess_free(s2);
}

static void cdb_decode_data_out_of_other_commands(void **state)
{
	struct scsi_cdb_info in;
	uint8_t cdb[16] = {0x89};

	cdb[13] = 3; /* COMPARE AND WRITE */
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_int_equal(in.xfer_bytes, 2 * 3 * 512);
	memset(cdb, 0, 16);
	cdb[0] = 0x93; /* WRITE SAME(16) */
	put_be32(cdb + 10, 100);
	assert_int_equal(scsi_cdb_decode(cdb, 4096, &in), 0);
	assert_int_equal(in.xfer_bytes, 4096);
	cdb[1] = 0x01; /* NDOB */
	assert_int_equal(scsi_cdb_decode(cdb, 4096, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_NONE);
	memset(cdb, 0, 16);
	cdb[0] = 0x5f; /* PR OUT */
	put_be32(cdb + 5, 24);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_int_equal(in.xfer_bytes, 24);
	memset(cdb, 0, 16);
	cdb[0] = 0x42; /* UNMAP */
	put_be16(cdb + 7, 24);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.xfer_bytes, 24);
	memset(cdb, 0, 16);
	cdb[0] = 0x9e; /* SERVICE ACTION IN */
	cdb[1] = 0x10;
	put_be32(cdb + 10, 32);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_READ);
	assert_int_equal(in.xfer_bytes, 32);
}

static void pr_aptpl_refused_without_durable_state(void **state)
{
	struct fx *f;

	state_broken = true;
	f = fx_new(NULL, DISK_BYTES, true);
	state_broken = false;
	prin(f, f->sess, 2, 8);
	assert_int_equal(f->buf[2] & 0x01, 0); /* PTPL_C */
	expect_sense(prout(f, f->sess, 6, 0, 0, 0x42, 0x01), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0));
	fx_free(f);
}

/* ---------------------------------------------------- CDB decoding */

static void cdb_length_follows_group_code(void **state)
{
	assert_int_equal(scsi_cdb_length(0x00), 6);
	assert_int_equal(scsi_cdb_length(0x1f), 6);
	assert_int_equal(scsi_cdb_length(0x28), 10);
	assert_int_equal(scsi_cdb_length(0x5a), 10);
	assert_int_equal(scsi_cdb_length(0x7f), 0); /* variable */
	assert_int_equal(scsi_cdb_length(0x60), 0); /* reserved */
	assert_int_equal(scsi_cdb_length(0x88), 16);
	assert_int_equal(scsi_cdb_length(0xa0), 12);
	assert_int_equal(scsi_cdb_length(0xc0), 0); /* vendor */
	assert_int_equal(scsi_cdb_length(0xff), 0);
}

static void cdb_decode_read_write_family(void **state)
{
	struct scsi_cdb_info in;
	uint8_t cdb[16];

	cdb_rw6(cdb, 0x08, 0x1fffff, 0);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 6);
	assert_int_equal(in.dir, SCSI_DIR_READ);
	assert_int_equal(in.lba, 0x1fffff);
	assert_int_equal(in.nblocks, 256);
	assert_int_equal(in.xfer_bytes, 256 * 512);
	cdb_rw10(cdb, 0x2a, 0xdeadbeef, 8);
	cdb[1] = 0x08;
	assert_int_equal(scsi_cdb_decode(cdb, 4096, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_true(in.fua);
	assert_int_equal(in.lba, 0xdeadbeef);
	assert_int_equal(in.xfer_bytes, 8 * 4096);
	cdb_rw12(cdb, 0xa8, 7, 0x10000);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 12);
	assert_int_equal(in.nblocks, 0x10000);
	cdb_rw16(cdb, 0x8a, 0x123456789abcull, 3);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 16);
	assert_int_equal(in.lba, 0x123456789abcull);
	assert_int_equal(in.xfer_bytes, 3 * 512);
	cdb_rw10(cdb, 0x2f, 0, 4); /* VERIFY BYTCHK 0 */
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_NONE);
	cdb[1] = 0x02;
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_int_equal(in.xfer_bytes, 4 * 512);
}

static void cdb_decode_allocation_length_commands(void **state)
{
	struct scsi_cdb_info in;
	uint8_t cdb[16] = {0};

	cdb_inquiry(cdb, false, 0, 0x1234);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_READ);
	assert_int_equal(in.xfer_bytes, 0x1234);
	memset(cdb, 0, 16);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0); /* TUR */
	assert_int_equal(in.dir, SCSI_DIR_NONE);
	cdb[0] = 0xa0;
	put_be32(cdb + 6, 0x100);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.xfer_bytes, 0x100);
	cdb[0] = 0xc7;
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), -1);
}

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

/* ------------------------------------- bad parameters at their limits */

/* SPC-4 §7.6.4.6: the iSCSI name of a TransportID is NUL-terminated.  A
 * name filling its ADDITIONAL LENGTH without a NUL is INVALID FIELD IN
 * PARAMETER LIST pointing at the TransportID; with the NUL, GOOD. */
static void pr_spec_i_pt_transport_id_without_nul_is_invalid(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess2(f, "iqn.x:b", 0x23);
	const char *name = "iqn.x:b,i,0x230000000000"; /* 24 bytes */
	uint8_t cdb[10] = {0x5f, 0};
	struct scsi_cmd *c;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	f->buf[28] = 0x40 | 5;
	put_be16(f->buf + 30, 24);
	memcpy(f->buf + 32, name, 24);
	put_be32(f->buf + 24, 28);
	put_be32(cdb + 5, 56);
	c = run(f, cdb, 10, 56, 56);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(get_be16(c->sense + 16), 28);
	put_be16(f->buf + 30, 28); /* room for the NUL */
	put_be32(f->buf + 24, 32);
	put_be32(cdb + 5, 60);
	expect_good(run(f, cdb, 10, 60, 60));
	scsi_sess_free(s2);
}

/* A TRANSPORTID PARAMETER DATA LENGTH claiming more than the list
 * carries, and a basic list one byte short of 24: PARAMETER LIST LENGTH
 * ERROR. */
static void pr_out_list_shorter_than_header_is_length_error(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, 0};
	uint32_t tl;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	tl = put_tid(f->buf + 28, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl + 4);
	put_be32(cdb + 5, 28 + tl);
	expect_sense(run(f, cdb, 10, 28 + tl, 28 + tl), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	put_be32(cdb + 5, 23);
	expect_sense(run(f, cdb, 10, 23, 23), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	put_be32(cdb + 5, 24);
	expect_good(run(f, cdb, 10, 24, 24));
}

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

/* PERSISTENT RESERVE IN allocation lengths 0, 1 and 0xFFFF (its field is
 * 16 bits): truncation only. */
static void pr_in_allocation_lengths_0_1_and_max(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	c = prin(f, f->sess, 0, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
	c = prin(f, f->sess, 0, 1);
	expect_good(c);
	assert_int_equal(c->data_in_len, 1);
	c = prin(f, f->sess, 0, 0xffff);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
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
		T(tur_on_unmapped_lun_is_lu_not_supported),
		T(request_sense_on_unmapped_lun_returns_lu_not_supported),
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
		T(unknown_opcode_is_invalid_command_operation_code),
		cmocka_unit_test(write_to_read_only_lu_is_write_protected),
		T(write_to_read_only_mapping_is_write_protected),
		cmocka_unit_test(ua_after_map_is_reported_once_then_cleared),
		cmocka_unit_test(
			inquiry_and_report_luns_neither_blocked_nor_clear_ua),
		cmocka_unit_test(request_sense_returns_and_clears_ua),
		T(request_sense_desc_bit_returns_descriptor_format),
		T(ua_queue_keeps_oldest_when_full_and_reset_supersedes),
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
		T(verify10_bytchk_matching_data_is_good),
		T(verify10_bytchk_mismatch_reports_offset_of_first_byte),
		T(verify16_without_bytchk_past_end_is_lba_out_of_range),
		T(sync_cache_in_range_good_past_end_out_of_range),
		cmocka_unit_test(backstore_errors_map_to_sense),
		cmocka_unit_test(lu_reset_aborts_in_flight_command_and_sets_ua),
		cmocka_unit_test(abort_task_marks_only_that_tag),
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
		T(compare_and_write_writes_when_data_matches),
		T(compare_and_write_miscompare_reports_offset_and_writes_nothing),
		T(compare_and_write_wrong_data_out_size_is_refused),
		T(orwrite_ors_data_into_the_medium),
		T(verify16_bytchk3_compares_every_block_with_one),
		T(write_and_verify_writes_then_compares),
		T(write_atomic16_up_to_max_atomic_length),
		T(prefetch_in_range_is_good_past_end_out_of_range),
		T(vpd_block_limits_and_lbp_advertise_provisioning),
		cmocka_unit_test(
			write_overlapping_compare_and_write_waits_for_it),
		T(rsoc_all_lists_every_command_table_entry),
		T(rsoc_rctd_adds_timeout_descriptors),
		T(rsoc_one_command_follows_servactv_rules),
		T(every_reported_opcode_is_not_an_invalid_opcode),
		T(sanitize_overwrite_list_length_both_sides),
		T(sanitize_overwrite_pattern_longer_than_list_is_invalid),
		T(sanitize_overwrite_writes_pattern_everywhere),
		T(sanitize_in_progress_refuses_all_but_inquiry),
		T(sanitize_erase_with_parameter_list_is_invalid_cdb),
		T(sanitize_block_erase_reads_zeros),
		cmocka_unit_test(xcopy_reaches_only_lus_mapped_for_this_nexus),
		T(xcopy_list_shorter_than_header_is_length_error),
		T(xcopy_target_descriptor_count_both_sides),
		T(receive_copy_results_allocation_lengths),
		T(pr_spec_i_pt_transport_id_without_nul_is_invalid),
		T(pr_out_list_shorter_than_header_is_length_error),
		cmocka_unit_test(
			write_same_byte_count_overflowing_32_bits_is_invalid),
		T(pr_in_allocation_lengths_0_1_and_max),
		T(report_supported_tmfs_lists_abort_and_resets),
		cmocka_unit_test(
			eject_makes_medium_commands_not_ready_until_load),
		cmocka_unit_test(
			ssu_without_loej_or_with_power_condition_keeps_medium),
		cmocka_unit_test(prevent_blocks_eject_and_load_for_every_nexus),
		cmocka_unit_test(prevent_ends_with_the_nexus),
		T(stop_and_eject_on_fixed_disk_change_nothing),
		T(read_defect_data_returns_an_empty_list),
		T(mode_select_turns_write_cache_off),
		T(mode_select_d_sense_switches_sense_format),
		T(mode_select_swp_write_protects_the_lu),
		T(mode_select_unchangeable_field_is_invalid_param),
		T(mode_select_changes_give_other_nexus_a_ua),
		T(mode_select_save_pages_and_bad_lengths_are_refused),
		T(reserve6_conflicts_other_nexus_until_release),
		T(reserve6_is_released_by_nexus_loss_and_lu_reset),
		T(pr_register_read_keys_and_unregister),
		T(pr_read_keys_truncated_keeps_additional_length),
		T(pr_in_unknown_service_action_is_invalid_field),
		T(pr_report_capabilities_lists_all_types),
		T(pr_reservation_types_block_what_spc4_says),
		T(pr_reserve_by_other_nexus_conflicts),
		T(pr_preempt_removes_registration_and_bumps_generation),
		T(pr_preempt_takes_the_reservation),
		T(pr_clear_removes_everything_and_tells_others),
		T(pr_out_parameter_list_must_be_24_bytes),
		T(pr_spec_i_pt_registers_named_nexus),
		T(pr_register_and_move_hands_over_the_reservation),
		cmocka_unit_test(pr_aptpl_state_survives_a_new_lu),
		cmocka_unit_test(clear_task_set_tells_the_other_nexus),
		cmocka_unit_test(read_partial_block_completes_asynchronously),
		T(pr_all_tg_pt_registration_covers_every_port),
		T(pr_release_of_registrants_only_tells_the_others),
		T(pr_all_registrants_survives_until_the_last_unregisters),
		T(pr_registrations_survive_the_nexus),
		cmocka_unit_test(cdb_decode_data_out_of_other_commands),
		cmocka_unit_test(pr_aptpl_refused_without_durable_state),
		cmocka_unit_test(cdb_length_follows_group_code),
		cmocka_unit_test(cdb_decode_read_write_family),
		cmocka_unit_test(cdb_decode_allocation_length_commands),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
