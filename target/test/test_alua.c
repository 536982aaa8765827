/*
 * test_alua.c — asymmetric logical unit access (SPC-4 §5.15) through
 * scsi_cmd_exec(): a device group of one or two mem LUs with two target
 * port groups (group 1 = relative port 1, group 2 = relative port 2) and a
 * session through each port.
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
#include "scsi/alua.h"
#include "scsi/scsi_int.h"

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
static ssize_t stub_state_get(struct env *e, const char *key, void *buf,
			      size_t cap)
{
	return -ENOENT;
}
static int stub_state_put(struct env *e, const char *key, const void *data,
			  size_t len)
{
	return 0;
}

static const struct env_ops stub_ops = {
	.now_ns = stub_now_ns,
	.random_u64 = stub_random_u64,
	.log = stub_log,
	.state_put = stub_state_put,
	.state_get = stub_state_get,
};
static struct env stub_env = {.ops = &stub_ops, .log_level = UT_LOG_ERROR};

/* ------------------------------------------------------ fixture */

#define DISK_BYTES (8ull << 20)
#define BS 512u
#define BUF_BYTES (64u << 10)

struct fx {
	struct scsi_alua_group *g;
	struct bs_dev *bs[2];
	struct scsi_lu *lu[2];
	struct scsi_sess *sess[2]; /* through relative ports 1 and 2 */
	struct scsi_cmd cmd;
	uint8_t buf[BUF_BYTES];
	int done_calls;
};

static void on_done(struct scsi_cmd *cmd)
{
	struct fx *f = cmd->transport;

	f->done_calls++;
}

static struct scsi_sess *sess_on_port(uint16_t rel_port, const char *ini)
{
	struct scsi_nexus_id id = {0};

	snprintf(id.initiator_name, sizeof(id.initiator_name), "%s", ini);
	strcpy(id.target_name, "iqn.2026-11.org.utarget:t");
	id.tpgt = rel_port;
	id.rel_tgt_port_id = rel_port;
	return scsi_sess_new(&stub_env, &id);
}

/* Run one command on LUN lun of session s. */
static struct scsi_cmd *run_on(struct fx *f, struct scsi_sess *s, uint32_t lun,
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
	assert_int_equal(f->done_calls, before + 1);
	return c;
}

static uint8_t sense_key(const struct scsi_cmd *c)
{
	return c->sense[2] & 0xf;
}
static uint16_t sense_asc(const struct scsi_cmd *c)
{
	return (uint16_t)(c->sense[12] << 8 | c->sense[13]);
}

static void expect_sense(const struct scsi_cmd *c, uint8_t key, uint16_t asc,
			 const char *what)
{
	if (c->status != SCSI_STATUS_CHECK_CONDITION || sense_key(c) != key ||
	    sense_asc(c) != asc)
		fail_msg("%s: expected CHECK CONDITION %x/%04x, got status "
			 "%02x sense %x/%04x",
			 what, key, asc, c->status, sense_key(c), sense_asc(c));
}

static void expect_good(const struct scsi_cmd *c, const char *what)
{
	if (c->status != SCSI_STATUS_GOOD)
		fail_msg("%s: expected GOOD, got status %02x sense %x/%04x",
			 what, c->status, sense_key(c), sense_asc(c));
}

static struct scsi_cmd *tur(struct fx *f, int port)
{
	uint8_t cdb[6] = {0};

	return run_on(f, f->sess[port], 0, cdb, 6, 0, 0);
}

/* Every pending unit attention of session `port` on LUN lun, counted. */
static unsigned int drain_ua(struct fx *f, int port, uint32_t lun,
			     uint16_t want)
{
	uint8_t cdb[6] = {0};
	unsigned int n = 0;

	for (;;) {
		struct scsi_cmd *c =
			run_on(f, f->sess[port], lun, cdb, 6, 0, 0);

		if (c->status == SCSI_STATUS_GOOD ||
		    sense_key(c) != SK_UNIT_ATTENTION)
			return n;
		if (sense_asc(c) == want)
			n++;
	}
}

/* explicit_ok: SET TARGET PORT GROUPS allowed; nlus: 1 or 2. */
static struct fx *fx_new(bool explicit_ok, unsigned int nlus)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "d",
				  .size_bytes = DISK_BYTES,
				  .block_size = BS,
				  .thin = true};

	assert_non_null(f);
	f->g = scsi_alua_group_new(&stub_env, "dg", 7, 4);
	assert_non_null(f->g);
	assert_int_equal(scsi_alua_tpg_add(f->g, 1, SCSI_ALUA_OPTIMIZED, true),
			 0);
	assert_int_equal(
		scsi_alua_tpg_add(f->g, 2, SCSI_ALUA_NON_OPTIMIZED, false), 0);
	assert_int_equal(scsi_alua_tpg_add_port(f->g, 1, 1), 0);
	assert_int_equal(scsi_alua_tpg_add_port(f->g, 2, 2), 0);
	for (unsigned int i = 0; i < nlus; i++) {
		assert_int_equal(bs_mem_open(&p, &f->bs[i]), 0);
		f->lu[i] = scsi_lu_new(&stub_env, NULL, f->bs[i], i);
		assert_non_null(f->lu[i]);
		assert_int_equal(
			scsi_alua_group_add_lu(f->g, f->lu[i], explicit_ok), 0);
	}
	for (int s = 0; s < 2; s++) {
		f->sess[s] = sess_on_port((uint16_t)(s + 1),
					  s ? "iqn.1994-05.com.example:b"
					    : "iqn.1994-05.com.example:a");
		assert_non_null(f->sess[s]);
		for (unsigned int i = 0; i < nlus; i++) {
			assert_int_equal(scsi_sess_map(f->sess[s], i, f->lu[i],
						       false),
					 0);
			/* the power-on unit attention */
			drain_ua(f, s, i, 0);
		}
	}
	return f;
}

static void fx_free(struct fx *f)
{
	for (int s = 0; s < 2; s++)
		scsi_sess_free(f->sess[s]);
	for (unsigned int i = 0; i < 2; i++) {
		if (!f->lu[i])
			continue;
		scsi_lu_free(f->lu[i]);
		bs_close(f->bs[i]);
	}
	scsi_alua_group_free(f->g);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new(true, 1);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* CDBs */
static struct scsi_cmd *rtpg(struct fx *f, int port, uint8_t format,
			     uint32_t alloc)
{
	uint8_t cdb[12] = {0xa3, (uint8_t)(format << 5 | 0x0a)};

	put_be32(cdb + 6, alloc);
	return run_on(f, f->sess[port], 0, cdb, 12, alloc, 0);
}

/* SET TARGET PORT GROUPS with n (state, group) descriptors. */
static struct scsi_cmd *stpg(struct fx *f, int port, const uint8_t *states,
			     const uint16_t *groups, unsigned int n)
{
	uint8_t cdb[12] = {0xa4, 0x0a};
	uint32_t len = n ? 4 + 4 * n : 0;

	memset(f->buf, 0, 4);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = f->buf + 4 + 4 * i;

		memset(d, 0, 4);
		d[0] = states[i];
		put_be16(d + 2, groups[i]);
	}
	put_be32(cdb + 6, len);
	return run_on(f, f->sess[port], 0, cdb, 12, len, len);
}

static enum scsi_alua_state state_of(struct fx *f, uint16_t tpg)
{
	enum scsi_alua_state st;

	assert_int_equal(scsi_alua_get_state(f->g, tpg, &st), 0);
	return st;
}

/* ------------------------------------------------------- INQUIRY */

static void inquiry_tpgs_says_implicit_and_explicit(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96};
	struct fx *imp = fx_new(false, 1);
	struct scsi_cmd *c;

	c = run_on(f, f->sess[0], 0, cdb, 6, 96, 0);
	expect_good(c, "INQUIRY");
	/* SPC-4 §6.6.2: TPGS 11b, implicit and explicit ALUA */
	assert_int_equal(f->buf[5] & 0x30, 0x30);
	c = run_on(imp, imp->sess[0], 0, cdb, 6, 96, 0);
	expect_good(c, "INQUIRY");
	assert_int_equal(imp->buf[5] & 0x30, 0x10);
	fx_free(imp);
}

static void inquiry_without_device_group_has_no_tpgs(void **state)
{
	struct fx *f = *state;
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "plain",
				  .size_bytes = DISK_BYTES,
				  .block_size = BS};
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96};
	uint8_t rt[12] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0};
	struct bs_dev *bs;
	struct scsi_lu *lu;
	struct scsi_cmd *c;

	assert_int_equal(bs_mem_open(&p, &bs), 0);
	lu = scsi_lu_new(&stub_env, NULL, bs, 9);
	assert_non_null(lu);
	assert_int_equal(scsi_sess_map(f->sess[0], 5, lu, false), 0);
	c = run_on(f, f->sess[0], 5, cdb, 6, 96, 0);
	expect_good(c, "INQUIRY");
	assert_int_equal(f->buf[5] & 0x30, 0);
	drain_ua(f, 0, 5, 0);
	/* REPORT TARGET PORT GROUPS needs TPGS != 00b */
	c = run_on(f, f->sess[0], 5, rt, 12, 256, 0);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB,
		     "RTPG without ALUA");
	/* unmap before freeing: the session outlives this LU (through the
	 * layer, which keeps the LU's count of nexuses with its list) */
	assert_int_equal(scsi_sess_unmap(f->sess[0], 5), 0);
	scsi_lu_free(lu);
	bs_close(bs);
}

/* Find the designator of type `type` and association 1 (target port) in
 * VPD page 83h; returns its value, -1 if absent. */
static int vpd83_port_value(const uint8_t *b, uint8_t type)
{
	uint32_t len = 4 + get_be16(b + 2);

	for (uint32_t off = 4; off + 4 <= len; off += 4u + b[off + 3]) {
		const uint8_t *d = b + off;

		if ((d[1] & 0x0f) == type && ((d[1] >> 4) & 3) == 1)
			return get_be16(d + 6);
	}
	return -1;
}

static void vpd83_names_relative_port_and_port_group(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x12, 1, 0x83, 0x04, 0};
	struct scsi_cmd *c;

	for (int s = 0; s < 2; s++) {
		c = run_on(f, f->sess[s], 0, cdb, 6, 1024, 0);
		expect_good(c, "INQUIRY VPD 83h");
		/* SPC-4 §7.8.6.6 (type 4) and §7.8.6.7 (type 5) */
		assert_int_equal(vpd83_port_value(f->buf, 4), s + 1);
		assert_int_equal(vpd83_port_value(f->buf, 5), s + 1);
	}
}

/* ------------------------------------ REPORT TARGET PORT GROUPS */

static void rtpg_length_only_format(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rtpg(f, 1, 0, 1024);
	const uint8_t *d;

	expect_good(c, "RTPG format 000b");
	/* RETURN DATA LENGTH: the bytes after the field (SPC-4 §6.36.2) */
	assert_int_equal(get_be32(f->buf), 2 * (8 + 4));
	assert_int_equal(c->data_in_len, 4 + 2 * (8 + 4));
	d = f->buf + 4;
	assert_int_equal(d[0], 0x80 | SCSI_ALUA_OPTIMIZED); /* PREF */
	assert_int_equal(d[1], 0xcf); /* T O U S AN AO supported */
	assert_int_equal(get_be16(d + 2), 1);
	assert_int_equal(d[5], 0x00); /* no status */
	assert_int_equal(d[7], 1);    /* one port */
	assert_int_equal(get_be16(d + 8 + 2), 1);
	d += 12;
	assert_int_equal(d[0], SCSI_ALUA_NON_OPTIMIZED);
	assert_int_equal(get_be16(d + 2), 2);
	assert_int_equal(get_be16(d + 8 + 2), 2);
}

static void rtpg_extended_format_has_transition_time(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rtpg(f, 0, 1, 1024);

	expect_good(c, "RTPG format 001b");
	assert_int_equal(get_be32(f->buf), 4 + 2 * (8 + 4));
	assert_int_equal(f->buf[4] & 0x70, 0x10); /* FORMAT TYPE 001b */
	assert_int_equal(f->buf[5], 7);		  /* IMPLICIT TRANSITION TIME */
	assert_int_equal(get_be16(f->buf + 8 + 2), 1);
	assert_int_equal(get_be16(f->buf + 8 + 12 + 2), 2);
}

static void rtpg_truncates_to_allocation_length(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = rtpg(f, 0, 0, 6);

	/* SPC-4 §4.2.5.6: truncation is not an error */
	expect_good(c, "RTPG alloc 6");
	assert_int_equal(c->data_in_len, 6);
	assert_int_equal(get_be32(f->buf), 2 * (8 + 4));
}

static void rtpg_reserved_format_is_invalid_field(void **state)
{
	struct fx *f = *state;

	for (uint8_t fmt = 2; fmt < 8; fmt++)
		expect_sense(rtpg(f, 0, fmt, 1024), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB, "RTPG reserved format");
}

/* ------------------------------------------------ command filter */

struct filter_case {
	const char *name;
	uint8_t cdb[16];
	uint8_t len;
	uint32_t edtl;
	/* allowed in: bit 0 standby, 1 unavailable, 2 transitioning,
	 * 3 offline */
	uint8_t allowed;
};

static const struct filter_case filter_cases[] = {
	{"INQUIRY", {0x12, 0, 0, 0, 96}, 6, 96, 0xf},
	{"REPORT LUNS", {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 12, 256, 0xf},
	{"REQUEST SENSE", {0x03, 0, 0, 0, 18}, 6, 18, 0xf},
	{"REPORT TARGET PORT GROUPS",
	 {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0},
	 12,
	 256,
	 0xf},
	{"REPORT SUPPORTED OPERATION CODES",
	 {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 16, 0},
	 12,
	 4096,
	 0xf},
	{"READ CAPACITY (10)", {0x25}, 10, 8, 0x3},
	{"READ CAPACITY (16)",
	 {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32},
	 16,
	 32,
	 0x3},
	{"MODE SENSE (6)", {0x1a, 0, 0x3f, 0, 255}, 6, 255, 0x1},
	{"MODE SENSE (10)", {0x5a, 0, 0x3f, 0, 0, 0, 0, 1, 0}, 10, 256, 0x1},
	{"PERSISTENT RESERVE IN", {0x5e, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 256, 0x1},
	{"TEST UNIT READY", {0x00}, 6, 0, 0},
	{"READ (10)", {0x28, 0, 0, 0, 0, 0, 0, 0, 1}, 10, 512, 0},
	{"READ (16)", {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16, 512, 0},
	{"SYNCHRONIZE CACHE (10)", {0x35}, 10, 0, 0},
	{"GET LBA STATUS",
	 {0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32},
	 16,
	 32,
	 0},
	{"RESERVE (6)", {0x16}, 6, 0, 0},
	{"START STOP UNIT", {0x1b, 0, 0, 0, 1}, 6, 0, 0},
};

static const struct {
	enum scsi_alua_state st;
	uint16_t asc;
	uint8_t bit;
} refusing_states[] = {
	{SCSI_ALUA_STANDBY, ASC_ALUA_STANDBY, 0x1},
	{SCSI_ALUA_UNAVAILABLE, ASC_ALUA_UNAVAILABLE, 0x2},
	{SCSI_ALUA_TRANSITIONING, ASC_ALUA_TRANSITION, 0x4},
	{SCSI_ALUA_OFFLINE, ASC_LU_OFFLINE, 0x8},
};

/* SPC-4 §5.15.2.4.4-.6, §5.15.2.5: what each state lets through, and the
 * sense of what it refuses; the other port's group is unaffected. */
static void each_state_filters_commands_with_its_sense(void **state)
{
	struct fx *f = *state;
	char what[128];

	for (size_t s = 0;
	     s < sizeof(refusing_states) / sizeof(refusing_states[0]); s++) {
		assert_int_equal(
			scsi_alua_set_state(f->g, 2, refusing_states[s].st), 0);
		drain_ua(f, 0, 0, 0);
		drain_ua(f, 1, 0, 0);
		for (size_t i = 0;
		     i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
			const struct filter_case *k = &filter_cases[i];
			struct scsi_cmd *c;

			snprintf(what, sizeof(what), "%s in %s", k->name,
				 scsi_alua_state_name(refusing_states[s].st));
			c = run_on(f, f->sess[1], 0, k->cdb, k->len, k->edtl,
				   0);
			if (k->allowed & refusing_states[s].bit) {
				if (c->status == SCSI_STATUS_CHECK_CONDITION &&
				    sense_key(c) == SK_NOT_READY)
					fail_msg("%s: allowed by SPC-4, got "
						 "NOT READY %04x",
						 what, sense_asc(c));
			} else {
				expect_sense(c, SK_NOT_READY,
					     refusing_states[s].asc, what);
			}
			/* the optimized port runs everything */
			c = run_on(f, f->sess[0], 0, k->cdb, k->len, k->edtl,
				   0);
			if (c->status == SCSI_STATUS_CHECK_CONDITION &&
			    sense_key(c) == SK_NOT_READY)
				fail_msg("%s through the optimized port: NOT "
					 "READY %04x",
					 k->name, sense_asc(c));
			/* RESERVE(6) above: let it go again */
			if (k->cdb[0] == 0x16) {
				uint8_t rel[6] = {0x17};

				run_on(f, f->sess[0], 0, rel, 6, 0, 0);
			}
		}
	}
}

static void active_non_optimized_runs_everything(void **state)
{
	struct fx *f = *state;
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t wr[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1};

	assert_int_equal(state_of(f, 2), SCSI_ALUA_NON_OPTIMIZED);
	expect_good(run_on(f, f->sess[1], 0, wr, 10, 512, 512), "WRITE");
	expect_good(run_on(f, f->sess[1], 0, rd, 10, 512, 0), "READ");
	expect_good(tur(f, 1), "TEST UNIT READY");
}

/* SAM-5 §5.14: a pending unit attention is reported before NOT READY. */
static void unit_attention_comes_before_not_ready(void **state)
{
	struct fx *f = *state;
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	struct scsi_cmd *c;

	assert_int_equal(scsi_alua_set_state(f->g, 2, SCSI_ALUA_STANDBY), 0);
	c = run_on(f, f->sess[1], 0, rd, 10, 512, 0);
	expect_sense(c, SK_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_CHANGED,
		     "first READ after the change");
	c = run_on(f, f->sess[1], 0, rd, 10, 512, 0);
	expect_sense(c, SK_NOT_READY, ASC_ALUA_STANDBY, "second READ");
}

/* ------------------------------------------- unit attentions */

static void implicit_change_gives_every_nexus_a_unit_attention(void **state)
{
	struct fx *f = fx_new(false, 2);

	assert_int_equal(scsi_alua_set_state(f->g, 1, SCSI_ALUA_STANDBY), 0);
	/* SPC-4 §5.15.2.?: every I_T nexus, both LUs, both ports */
	for (int s = 0; s < 2; s++)
		for (uint32_t lun = 0; lun < 2; lun++)
			if (drain_ua(f, s, lun,
				     ASC_ASYMMETRIC_ACCESS_CHANGED) != 1)
				fail_msg("session %d LUN %u: no ASYMMETRIC "
					 "ACCESS STATE CHANGED",
					 s, lun);
	/* the same state again changes nothing: no new attention */
	assert_int_equal(scsi_alua_set_state(f->g, 1, SCSI_ALUA_STANDBY), 0);
	assert_int_equal(drain_ua(f, 0, 0, ASC_ASYMMETRIC_ACCESS_CHANGED), 0);
	assert_int_equal(drain_ua(f, 1, 1, ASC_ASYMMETRIC_ACCESS_CHANGED), 0);
	fx_free(f);
}

static void set_state_rejects_unknown_group_and_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(scsi_alua_set_state(f->g, 3, SCSI_ALUA_STANDBY),
			 -ENOENT);
	assert_int_equal(scsi_alua_set_state(f->g, 1, 4), -EINVAL);
	assert_int_equal(state_of(f, 1), SCSI_ALUA_OPTIMIZED);
}

/* -------------------------------------- SET TARGET PORT GROUPS */

static void stpg_changes_states_and_spares_the_sender(void **state)
{
	struct fx *f = *state;
	uint8_t st[2] = {SCSI_ALUA_STANDBY, SCSI_ALUA_OPTIMIZED};
	uint16_t tg[2] = {1, 2};
	struct scsi_cmd *c;

	c = stpg(f, 0, st, tg, 2);
	expect_good(c, "STPG");
	assert_int_equal(state_of(f, 1), SCSI_ALUA_STANDBY);
	assert_int_equal(state_of(f, 2), SCSI_ALUA_OPTIMIZED);
	/* SPC-4 §5.15.2.?: not the nexus that sent it, every other one */
	assert_int_equal(drain_ua(f, 0, 0, ASC_ASYMMETRIC_ACCESS_CHANGED), 0);
	assert_int_equal(drain_ua(f, 1, 0, ASC_ASYMMETRIC_ACCESS_CHANGED), 1);
	/* STATUS CODE 01h: altered by SET TARGET PORT GROUPS */
	c = rtpg(f, 1, 0, 1024);
	expect_good(c, "RTPG");
	assert_int_equal(f->buf[4] & 0x0f, SCSI_ALUA_STANDBY);
	assert_int_equal(f->buf[4 + 5], 0x01);
	assert_int_equal(f->buf[16] & 0x0f, SCSI_ALUA_OPTIMIZED);
	/* the sender's port is now standby: STPG still runs there */
	st[0] = SCSI_ALUA_OPTIMIZED;
	st[1] = SCSI_ALUA_NON_OPTIMIZED;
	expect_good(stpg(f, 0, st, tg, 2), "STPG through a standby port");
	assert_int_equal(state_of(f, 1), SCSI_ALUA_OPTIMIZED);
}

static void stpg_checks_the_whole_list_before_changing(void **state)
{
	struct fx *f = *state;
	uint8_t st[2] = {SCSI_ALUA_STANDBY, SCSI_ALUA_TRANSITIONING};
	uint16_t tg[2] = {1, 2};
	uint16_t dup[2] = {2, 2};
	uint16_t unknown[2] = {1, 9};
	uint8_t ok[2] = {SCSI_ALUA_STANDBY, SCSI_ALUA_STANDBY};
	uint8_t offline[1] = {SCSI_ALUA_OFFLINE};

	/* transitioning and offline cannot be asked for (SPC-4 §6.44.2) */
	expect_sense(stpg(f, 0, st, tg, 2), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM, "STPG transitioning");
	expect_sense(stpg(f, 0, offline, tg, 1), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM, "STPG offline");
	expect_sense(stpg(f, 0, ok, unknown, 2), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM, "STPG unknown group");
	expect_sense(stpg(f, 0, ok, dup, 2), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM, "STPG group twice");
	/* nothing changed, nobody told */
	assert_int_equal(state_of(f, 1), SCSI_ALUA_OPTIMIZED);
	assert_int_equal(state_of(f, 2), SCSI_ALUA_NON_OPTIMIZED);
	assert_int_equal(drain_ua(f, 1, 0, ASC_ASYMMETRIC_ACCESS_CHANGED), 0);
}

static void stpg_parameter_list_length_boundaries(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa4, 0x0a};
	struct scsi_cmd *c;

	/* 0: nothing to do; 4: a header alone */
	expect_good(stpg(f, 0, NULL, NULL, 0), "STPG length 0");
	memset(f->buf, 0, sizeof(f->buf));
	put_be32(cdb + 6, 4);
	expect_good(run_on(f, f->sess[0], 0, cdb, 12, 4, 4), "STPG length 4");
	/* not a header plus whole descriptors */
	for (uint32_t len = 1; len < 12; len++) {
		if (len == 4 || len == 8)
			continue;
		put_be32(cdb + 6, len);
		c = run_on(f, f->sess[0], 0, cdb, 12, len, len);
		expect_sense(c, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH,
			     "STPG odd length");
	}
	/* every group once at most: 16 descriptors pass the length check
	 * (and fail on the duplicates), 17 do not */
	put_be32(cdb + 6, 4 + 4 * SCSI_ALUA_MAX_TPGS);
	c = run_on(f, f->sess[0], 0, cdb, 12, 4 + 4 * SCSI_ALUA_MAX_TPGS,
		   4 + 4 * SCSI_ALUA_MAX_TPGS);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM,
		     "STPG 16 descriptors of group 0");
	put_be32(cdb + 6, 4 + 4 * (SCSI_ALUA_MAX_TPGS + 1));
	c = run_on(f, f->sess[0], 0, cdb, 12, 4 + 4 * (SCSI_ALUA_MAX_TPGS + 1),
		   4 + 4 * (SCSI_ALUA_MAX_TPGS + 1));
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH,
		     "STPG 17 descriptors");
	/* less Data-Out than the list length */
	put_be32(cdb + 6, 8);
	c = run_on(f, f->sess[0], 0, cdb, 12, 4, 4);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU,
		     "STPG short Data-Out");
}

static void stpg_needs_explicit_alua(void **state)
{
	struct fx *f = fx_new(false, 1);
	uint8_t st[1] = {SCSI_ALUA_STANDBY};
	uint16_t tg[1] = {1};

	expect_sense(stpg(f, 0, st, tg, 1), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB, "STPG with TPGS 01b");
	assert_int_equal(state_of(f, 1), SCSI_ALUA_OPTIMIZED);
	fx_free(f);
}

/* REPORT SUPPORTED OPERATION CODES lists what TPGS promises. */
static bool rsoc_lists(struct fx *f, uint8_t op, uint16_t sa)
{
	uint8_t cdb[12] = {0xa3, 0x0c, 0x02, op};
	struct scsi_cmd *c;

	put_be16(cdb + 4, sa);
	put_be32(cdb + 6, 64);
	c = run_on(f, f->sess[0], 0, cdb, 12, 64, 0);
	expect_good(c, "RSOC one command");
	return (f->buf[1] & 0x07) == 0x03;
}

static void rsoc_lists_the_alua_commands(void **state)
{
	struct fx *f = *state;
	struct fx *imp = fx_new(false, 1);

	assert_true(rsoc_lists(f, 0xa3, 0x0a));
	assert_true(rsoc_lists(f, 0xa4, 0x0a));
	assert_true(rsoc_lists(imp, 0xa3, 0x0a));
	assert_false(rsoc_lists(imp, 0xa4, 0x0a));
	fx_free(imp);
}

/* SPC-4 §6.35.2: "all commands" lists every supported command, with its
 * timeouts descriptor when RCTD is set.  With the ALUA rows an LU has 66;
 * the RCTD answer had room for 64 and quietly left the last two out
 * (found by the assertion on the buffer in rsoc_all). */
static void rsoc_all_with_timeouts_lists_as_many_rows_as_without(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[12] = {0xa3, 0x0c, 0x00};
	uint32_t rows, rows_rctd;

	put_be32(cdb + 6, 65535);
	expect_good(run_on(f, f->sess[0], 0, cdb, 12, 65535, 0), "RSOC all");
	rows = get_be32(f->buf) / 8;
	cdb[2] = 0x80; /* RCTD */
	expect_good(run_on(f, f->sess[0], 0, cdb, 12, 65535, 0),
		    "RSOC all with RCTD");
	rows_rctd = get_be32(f->buf) / 20;
	assert_true(rows > 64);
	assert_int_equal(rows_rctd, rows);
}

/* -------------------------------------------------- construction */

static void group_construction_limits(void **state)
{
	struct scsi_alua_group *g = scsi_alua_group_new(&stub_env, "x", 0, 1);
	enum scsi_alua_state st;

	assert_non_null(g);
	for (uint16_t i = 1; i <= SCSI_ALUA_MAX_TPGS; i++)
		assert_int_equal(
			scsi_alua_tpg_add(g, i, SCSI_ALUA_STANDBY, false), 0);
	assert_int_equal(scsi_alua_tpg_add(g, 100, SCSI_ALUA_STANDBY, false),
			 -ENOSPC);
	assert_int_equal(scsi_alua_tpg_add(g, 1, SCSI_ALUA_STANDBY, false),
			 -EEXIST);
	for (uint16_t p = 1; p <= SCSI_ALUA_MAX_TPG_PORTS; p++)
		assert_int_equal(scsi_alua_tpg_add_port(g, 1, p), 0);
	assert_int_equal(scsi_alua_tpg_add_port(g, 1, 1000), -ENOSPC);
	assert_int_equal(scsi_alua_tpg_add_port(g, 2, 5), -EEXIST);
	assert_int_equal(scsi_alua_tpg_add_port(g, 2, 0), -EINVAL);
	assert_int_equal(scsi_alua_tpg_add_port(g, 99, 500), -ENOENT);
	assert_int_equal(scsi_alua_get_state(g, 99, &st), -ENOENT);
	scsi_alua_group_free(g);
}

static void state_names_round_trip(void **state)
{
	static const enum scsi_alua_state all[] = {
		SCSI_ALUA_OPTIMIZED, SCSI_ALUA_NON_OPTIMIZED,
		SCSI_ALUA_STANDBY,   SCSI_ALUA_UNAVAILABLE,
		SCSI_ALUA_OFFLINE,   SCSI_ALUA_TRANSITIONING,
	};
	enum scsi_alua_state st;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(scsi_alua_state_parse(
					 scsi_alua_state_name(all[i]), &st),
				 0);
		assert_int_equal(st, all[i]);
	}
	assert_int_equal(scsi_alua_state_parse("Active", &st), 0);
	assert_int_equal(st, SCSI_ALUA_OPTIMIZED);
	assert_int_equal(scsi_alua_state_parse("non-optimized", &st), 0);
	assert_int_equal(st, SCSI_ALUA_NON_OPTIMIZED);
	assert_int_equal(scsi_alua_state_parse("lba-dependent", &st), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(inquiry_tpgs_says_implicit_and_explicit),
		T(inquiry_without_device_group_has_no_tpgs),
		T(vpd83_names_relative_port_and_port_group),
		T(rtpg_length_only_format),
		T(rtpg_extended_format_has_transition_time),
		T(rtpg_truncates_to_allocation_length),
		T(rtpg_reserved_format_is_invalid_field),
		T(each_state_filters_commands_with_its_sense),
		T(active_non_optimized_runs_everything),
		T(unit_attention_comes_before_not_ready),
		cmocka_unit_test(
			implicit_change_gives_every_nexus_a_unit_attention),
		T(set_state_rejects_unknown_group_and_state),
		T(stpg_changes_states_and_spares_the_sender),
		T(stpg_checks_the_whole_list_before_changing),
		T(stpg_parameter_list_length_boundaries),
		cmocka_unit_test(stpg_needs_explicit_alua),
		T(rsoc_lists_the_alua_commands),
		T(rsoc_all_with_timeouts_lists_as_many_rows_as_without),
		cmocka_unit_test(group_construction_limits),
		cmocka_unit_test(state_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
