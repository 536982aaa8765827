/*
 * scsi_rig.c — the rig of the SCSI unit tests (test_scsi.c, test_spc.c,
 * test_sbc*.c, test_pr.c, test_xcopy.c): a stub environment (no network,
 * one durable-state slot, timers that fire when the test says), a fixture
 * with one mem LU mapped at LUN 0 to one session, and helpers that run a
 * command and check its status and sense.
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

uint64_t stub_clock_ns; /* moves only when a timer fires (below) */

static uint64_t stub_now_ns(struct env *e)
{
	return stub_clock_ns;
}

static uint64_t stub_random_u64(struct env *e)
{
	return 0x1234;
}

static void stub_log(struct env *e, enum ut_log_level l, const char *line)
{
}

/* durable state: one slot is enough for the APTPL tests */
char state_key_saved[128];

static uint8_t state_saved[1 << 15];

ssize_t state_len = -ENOENT;

int state_put_fail;

static int stub_state_put(struct env *e, const char *key, const void *data,
			  size_t len)
{
	if (state_put_fail)
		return state_put_fail;
	snprintf(state_key_saved, sizeof(state_key_saved), "%s", key);
	if (len > sizeof(state_saved))
		return -ENOSPC;
	if (len)
		memcpy(state_saved, data, len);
	state_len = len ? (ssize_t)len : -ENOENT;
	return 0;
}

bool state_broken; /* no state directory configured */

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

/* timers: armed ones fire from stub_run_timers(), in arming order; the
 * clock jumps to a timer's deadline when it fires, so that what paces
 * itself by timers (SANITIZE) can be timed */
struct env_timer {
	env_timer_fn fn;
	void *arg;
	bool armed;
	uint64_t deadline_ns;
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
	t->deadline_ns = deadline_ns;
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

bool stub_hold_timers; /* run() leaves armed timers alone */

unsigned int stub_run_timers(void)
{
	unsigned int fired = 0;
	bool any = true;

	while (any) {
		any = false;
		for (unsigned int i = 0; i < STUB_TIMERS; i++) {
			struct env_timer *t = stub_timers[i];

			if (t && t->armed) {
				t->armed = false;
				if (t->deadline_ns > stub_clock_ns)
					stub_clock_ns = t->deadline_ns;
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

struct env stub_env = {.ops = &stub_ops, .log_level = UT_LOG_ERROR};

void on_done(struct scsi_cmd *cmd)
{
	struct fx *f = cmd->transport;

	f->done_calls++;
}

bool fx_thin = true; /* the next fx_new()'s provisioning */

struct fx *fx_new(struct ut_dev_cfg *dev, uint64_t size, bool clear_ua)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "d",
				  .size_bytes = size,
				  .block_size = BS,
				  .thin = fx_thin};
	struct scsi_nexus_id id = {0};

	assert_non_null(f);
	stub_clock_ns = 0;
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

int setup(void **state)
{
	*state = fx_new(NULL, DISK_BYTES, true);
	return 0;
}

void fx_free(struct fx *f)
{
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	scsi_sess_free(f->sess);
	scsi_lu_free(f->lu);
	bs_close(f->bs);
	free(f->buf);
	free(f);
}

int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

struct scsi_cmd *run_on(struct fx *f, struct scsi_sess *s, uint64_t lun,
			const uint8_t *cdb, size_t cdb_len, uint32_t edtl,
			uint32_t data_out_len)
{
	return run_on_buf(f, s, lun, cdb, cdb_len, f->buf, edtl, data_out_len);
}

struct scsi_cmd *run_on_buf(struct fx *f, struct scsi_sess *s, uint64_t lun,
			    const uint8_t *cdb, size_t cdb_len, uint8_t *buf,
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
	c->buf = buf;
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

struct scsi_cmd *run_lun(struct fx *f, uint64_t lun, const uint8_t *cdb,
			 size_t cdb_len, uint32_t edtl, uint32_t data_out_len)
{
	return run_on(f, f->sess, lun, cdb, cdb_len, edtl, data_out_len);
}

struct scsi_cmd *run(struct fx *f, const uint8_t *cdb, size_t cdb_len,
		     uint32_t edtl, uint32_t data_out_len)
{
	return run_lun(f, 0, cdb, cdb_len, edtl, data_out_len);
}

uint8_t sense_key(const struct scsi_cmd *c)
{
	return (c->sense[0] & 0x7f) == 0x72 ? c->sense[1] & 0xf
					    : c->sense[2] & 0xf;
}

uint16_t sense_asc(const struct scsi_cmd *c)
{
	if ((c->sense[0] & 0x7f) == 0x72)
		return (uint16_t)(c->sense[2] << 8 | c->sense[3]);
	return (uint16_t)(c->sense[12] << 8 | c->sense[13]);
}

void expect_sense(const struct scsi_cmd *c, uint8_t key, uint16_t asc)
{
	if (c->status != SCSI_STATUS_CHECK_CONDITION || sense_key(c) != key ||
	    sense_asc(c) != asc)
		fail_msg("expected CHECK CONDITION %x/%04x, got status %02x "
			 "sense %x/%04x",
			 key, asc, c->status, sense_key(c), sense_asc(c));
	assert_int_equal(c->data_in_len, 0);
}

void expect_good(const struct scsi_cmd *c)
{
	if (c->status != SCSI_STATUS_GOOD)
		fail_msg("expected GOOD, got status %02x sense %x/%04x",
			 c->status, sense_key(c), sense_asc(c));
}

void cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

void cdb_rw12(uint8_t *cdb, uint8_t op, uint32_t lba, uint32_t n)
{
	memset(cdb, 0, 12);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be32(cdb + 6, n);
}

void cdb_rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
}

void cdb_rw6(uint8_t *cdb, uint8_t op, uint32_t lba, uint8_t n)
{
	memset(cdb, 0, 6);
	cdb[0] = op;
	put_be24(cdb + 1, lba & 0x1fffff);
	cdb[4] = n;
}

void cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc)
{
	memset(cdb, 0, 6);
	cdb[0] = 0x12;
	cdb[1] = evpd ? 1 : 0;
	cdb[2] = page;
	put_be16(cdb + 3, alloc);
}

void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

void read_blocks(struct fx *f, uint64_t lba, uint32_t n)
{
	uint8_t cdb[16];

	cdb_rw16(cdb, 0x88, lba, n);
	expect_good(run(f, cdb, 16, n * BS, 0));
}

void write_blocks(struct fx *f, uint64_t lba, uint32_t n, uint8_t v)
{
	uint8_t cdb[16];

	memset(f->buf, v, n * BS);
	cdb_rw16(cdb, 0x8a, lba, n);
	expect_good(run(f, cdb, 16, n * BS, n * BS));
}

void cdb_caw(uint8_t *cdb, uint64_t lba, uint8_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	put_be64(cdb + 2, lba);
	cdb[13] = n;
}

/* ------------------------------------------- reservations (test_pr*) */

struct scsi_sess *sess_named(struct fx *f, const char *name, uint8_t isid0,
			     uint16_t rtp)
{
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s;

	snprintf(id.initiator_name, sizeof(id.initiator_name), "%s", name);
	id.isid[0] = isid0;
	id.rel_tgt_port_id = rtp;
	s = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(s, 0, f->lu, false), 0);
	scsi_ua_clear(s->lun_map[0]);
	return s;
}

struct scsi_cmd *prout(struct fx *f, struct scsi_sess *s, uint8_t sa,
		       uint8_t type, uint64_t key, uint64_t sark, uint8_t flags)
{
	uint8_t cdb[10] = {0x5f, sa, type};

	put_be32(cdb + 5, 24);
	memset(f->buf, 0, 24);
	put_be64(f->buf, key);
	put_be64(f->buf + 8, sark);
	f->buf[20] = flags;
	return run_on(f, s, 0, cdb, 10, 24, 24);
}

uint32_t put_tid(uint8_t *t, const char *s)
{
	uint32_t n = (uint32_t)strlen(s) + 1, len = (n + 3) & ~3u;

	memset(t, 0, 4 + len);
	t[0] = 0x40 | 5;
	put_be16(t + 2, (uint16_t)len);
	memcpy(t + 4, s, n);
	return 4 + len;
}
