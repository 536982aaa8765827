/*
 * test_env_real_tcmu.c — tcmu-runner handler plugins in utarget
 * (env_real/disk_tcmu.c, tcmu_api.c) beyond the data path that
 * test_env_real_disk checks: through the fake plugins of
 * build/test/tcmu/handler_fake.so, whose answers the test scripts
 * (fake_ctl, handler_fake.h), and the broken ones of
 * build/test/tcmu-bad/ (handler_bad.c):
 *
 *   - each status a plugin answers, as the request's -errno and as the
 *     sense an initiator sees; completions later from a plugin's thread;
 *   - what is refused before the plugin sees it; the CDBs a handle_cmd
 *     plugin gets for large devices;
 *   - opening: a spec that is not HANDLER/CFGSTRING, a plugin without I/O
 *     callouts, check_config refusing, open refusing, the size read from
 *     the image when none is configured;
 *   - loading: plugins that cannot load, lack handler_init, fail it or
 *     their global init, register another handler; a directory scanned
 *     twice initialising each plugin once; the handler table's bounds;
 *   - the libtcmu entry points plugins call (CDB, iovec and sense helpers,
 *     device attributes, events, log lines).
 */
#include "tcmu_rig.h"

/* ------------------------------------------------------- requests */

struct io_req {
	struct bs_req req;
	struct env *e;
	int status;
	int done_calls;
	bool in_submit;
	bool done_inside_submit;
	pthread_t reactor;
	bool on_reactor;
	struct iovec iov[20];
};

static void io_done(struct bs_req *req, int status)
{
	struct io_req *r = (struct io_req *)req;

	r->done_calls++;
	r->status = status;
	r->done_inside_submit = r->in_submit;
	r->on_reactor = pthread_equal(pthread_self(), r->reactor);
	env_real_stop(r->e);
}

static void io_prep(struct io_req *r, struct env *e, enum bs_op op,
		    uint32_t flags, uint64_t off, uint64_t len, void *buf,
		    size_t buf_len)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	r->reactor = pthread_self();
	r->req.op = op;
	r->req.flags = flags;
	r->req.offset_bytes = off;
	r->req.length_bytes = len;
	r->req.done = io_done;
	r->req.iov = r->iov;
	if (buf) {
		r->iov[0] = (struct iovec){buf, buf_len};
		r->req.iovcnt = 1;
	}
}

static int io_run(struct env *e, struct bs_dev *d, struct io_req *r)
{
	unsigned int inflight = er_reactor_of(e)->remote_inflight;

	r->in_submit = true;
	d->ops->submit(d, &r->req);
	r->in_submit = false;
	if (!r->done_calls)
		run_bounded(e);
	assert_int_equal(r->done_calls, 1);
	assert_false(r->done_inside_submit);
	assert_true(r->on_reactor);
	/* counted while librbd (the plugin) had it, no longer */
	assert_int_equal(er_reactor_of(e)->remote_inflight, inflight);
	return r->status;
}

static int io_sync(struct env *e, struct bs_dev *d, enum bs_op op,
		   uint32_t flags, uint64_t off, uint64_t len, void *buf)
{
	struct io_req r;

	io_prep(&r, e, op, flags, off, len, buf, buf ? len : 0);
	return io_run(e, d, &r);
}

/* Each TCMU_STS_* a plugin answers, as the request's -errno
 * (disk_tcmu.c tcmu_sts_errno; sense.c maps those). */
static void tcmu_plugin_statuses_reach_the_request(void **state)
{
	static const struct {
		int sts;
		int rc;
	} cases[] = {
		{TCMU_STS_OK, 0},
		{TCMU_STS_NO_RESOURCE, -ENOMEM},
		{TCMU_STS_BUSY, -ENOTCONN},
		{TCMU_STS_FENCED, -ENOTCONN},
		{TCMU_STS_TRANSITION, -ENOTCONN},
		{TCMU_STS_TIMEOUT, -ETIMEDOUT},
		{TCMU_STS_RANGE, -EINVAL},
		{TCMU_STS_INVALID_CDB, -EINVAL},
		{TCMU_STS_INVALID_CMD, -EINVAL},
		{TCMU_STS_NOT_HANDLED, -EOPNOTSUPP},
		{TCMU_STS_RD_ERR, -EIO},
		{TCMU_STS_WR_ERR, -EIO},
		{TCMU_STS_HW_ERR, -EIO},
		{TCMU_STS_PASSTHROUGH_ERR, -EIO},
		{TCMU_STS_CAPACITY_CHANGED, -EIO},
	};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *d = tcmu_open_ok(e, "fakests/mem");
	struct fake_ctl *c = ctl();
	uint8_t buf[2 * BS];
	struct io_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int calls = c->calls;

		c->sts = cases[i].sts;
		assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf),
				 cases[i].rc);
		assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, BS, BS, buf),
				 cases[i].rc);
		assert_int_equal(c->calls, calls + 2);
	}
	/* later, from the plugin's thread: ASYNC_HANDLED, then its status */
	c->sts = TCMU_STS_ASYNC_HANDLED;
	c->async_sts = TCMU_STS_OK;
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf), 0);
	c->async_sts = TCMU_STS_TIMEOUT;
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, 0, 0, 0, NULL), -ETIMEDOUT);
	/* COMPARE AND WRITE: MISCOMPARE with the offset the plugin put in
	 * INFORMATION (or none); refused by the plugin (INVALID CDB): the
	 * SCSI layer emulates it */
	c->sts = TCMU_STS_MISCOMPARE;
	c->miscompare_at = 123;
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, buf, sizeof(buf));
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 123);
	c->miscompare_no_info = true;
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, buf, sizeof(buf));
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 0);
	c->miscompare_no_info = false;
	c->sts = TCMU_STS_INVALID_CDB;
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, buf, sizeof(buf));
	assert_int_equal(io_run(e, d, &r), -EOPNOTSUPP);
	/* ... but one refused before the plugin (no compare half) stays
	 * refused */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, buf, BS);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	c->sts = TCMU_STS_OK;
	bs_close(d);
	env_real_free(e);
}

/* The other callouts: unmap (the backstore has it, though a tcmu LUN is
 * not thin), writesame with the request's block or, for WRITE ZEROES,
 * a zero block; what the backstore refuses before the plugin. */
static void tcmu_callouts_and_refusals(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *d = tcmu_open_ok(e, "fakests/mem");
	struct bs_dev *plain = tcmu_open_ok(e, "fake/mem");
	struct bs_dev *many = tcmu_open_ok(e, "fakemany/mem");
	struct fake_ctl *c = ctl();
	uint8_t *buf = calloc(1, 32 * BS);
	struct io_req r;
	int calls;

	(void)state;
	c->sts = TCMU_STS_OK;
	assert_false(d->thin);
	assert_int_equal(d->caps, BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE);
	assert_int_equal(plain->caps, BS_CAP_COMPARE_AND_WRITE);
	assert_int_equal(io_sync(e, d, BS_OP_UNMAP, 0, 4 * BS, 8 * BS, NULL),
			 0);
	assert_int_equal(c->unmap_off, 4 * BS);
	assert_int_equal(c->unmap_len, 8 * BS);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE_ZEROES, 0, 0, 8 * BS, NULL),
			 0);
	assert_int_equal(c->ws_iov_len, BS);
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 8 * BS, buf, BS);
	assert_int_equal(io_run(e, d, &r), 0);
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 8 * BS, buf, 2 * BS);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* a plugin without unmap or writesame */
	assert_int_equal(io_sync(e, plain, BS_OP_UNMAP, 0, 0, 8 * BS, NULL),
			 -EOPNOTSUPP);
	assert_int_equal(io_sync(e, plain, BS_OP_WRITE_ZEROES, 0, 0, 8 * BS,
				 NULL),
			 -EOPNOTSUPP);
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 8 * BS, buf, BS);
	assert_int_equal(io_run(e, plain, &r), -EINVAL);
	/* nor caw, nor flush: COMPARE AND WRITE refused, FLUSH has nothing
	 * to do */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, buf, 2 * BS);
	assert_int_equal(io_run(e, many, &r), -EINVAL);
	assert_int_equal(io_sync(e, many, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	/* data through the many threads (at most TCMU_MAX_THREADS) */
	memset(buf, 0x5a, 8 * BS);
	assert_int_equal(io_sync(e, many, BS_OP_WRITE, 0, 0, 8 * BS, buf), 0);
	memset(buf, 0, 8 * BS);
	assert_int_equal(io_sync(e, many, BS_OP_READ, 0, 0, 8 * BS, buf), 0);
	assert_int_equal(buf[8 * BS - 1], 0x5a);
	/* before the plugin: past the end, misaligned, more pieces than
	 * a request carries, a buffer short of the length */
	calls = c->calls;
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, MIB, BS, buf), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 100, BS, buf), -EINVAL);
	io_prep(&r, e, BS_OP_WRITE, 0, 0, 17 * BS, buf, 0);
	for (int i = 0; i < 17; i++)
		r.iov[i] = (struct iovec){buf + i * BS, BS};
	r.req.iovcnt = 17;
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	io_prep(&r, e, BS_OP_READ, 0, 0, 4 * BS, buf, 2 * BS);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* nothing to do: success without the plugin */
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 0, NULL), 0);
	assert_int_equal(c->calls, calls);
	bs_close(many);
	bs_close(plain);
	bs_close(d);
	free(buf);
	env_real_free(e);
}

/* The plugin's counters (handler_fake.c). */
struct fake_stats {
	int reads, writes, flushes, caws, cmds, async_done;
	int opens, closes;
};

struct on_loop {
	struct env *e;
	struct bs_dev *d;
	struct io_req r;
	uint8_t buf[BS];
};

static void submit_on_loop(void *arg)
{
	struct on_loop *o = arg;

	io_prep(&o->r, o->e, BS_OP_READ, 0, 0, BS, o->buf, BS);
	o->d->ops->submit(o->d, &o->r.req);
}

/* FUA as the plugin left its write cache: off, a FUA write needs no
 * flush; on, it is followed by one; FUA on a read or a flush adds none.
 * More refusals before the plugin; a request submitted on the reactor
 * completes there. */
static void tcmu_fua_follows_the_plugins_write_cache(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *nc = tcmu_open_ok(e, "fake/nocache");
	struct bs_dev *d = tcmu_open_ok(e, "fake/mem");
	struct fake_stats *st =
		plugin_sym(plugin_dir, "handler_fake.so", "fake_stats");
	struct on_loop *o = calloc(1, sizeof(*o));
	uint8_t buf[2 * BS] = {0};
	struct env_timer *t;
	struct io_req r;
	int flushes = st->flushes;

	(void)state;
	assert_false(nc->write_cache);
	assert_true(d->write_cache);
	assert_int_equal(io_sync(e, nc, BS_OP_WRITE, BS_F_FUA, 0, BS, buf), 0);
	assert_int_equal(st->flushes, flushes);
	assert_int_equal(io_sync(e, d, BS_OP_READ, BS_F_FUA, 0, BS, buf), 0);
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, BS_F_FUA, 0, 0, NULL), 0);
	assert_int_equal(st->flushes, flushes + 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, BS, buf), 0);
	assert_int_equal(st->flushes, flushes + 2);
	/* a length not of whole blocks, an offset past the end, an
	 * operation that does not exist */
	io_prep(&r, e, BS_OP_READ, 0, 0, 100, buf, sizeof(buf));
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, MIB + BS, BS, buf),
			 -EINVAL);
	io_prep(&r, e, (enum bs_op)7, 0, 0, BS, buf, BS);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* more buffer pieces than the request needs: cut */
	io_prep(&r, e, BS_OP_WRITE, 0, 0, BS, buf, BS);
	r.iov[1] = (struct iovec){buf + BS, BS};
	r.req.iovcnt = 2;
	assert_int_equal(io_run(e, d, &r), 0);
	/* on the reactor */
	o->e = e;
	o->d = d;
	t = env_timer_new(e, submit_on_loop, o);
	env_timer_arm(e, t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(o->r.done_calls, 1);
	assert_int_equal(o->r.status, 0);
	assert_true(o->r.on_reactor);
	env_timer_free(e, t);
	free(o);
	bs_close(nc);
	bs_close(d);
	env_real_free(e);
}

/* A read-only tcmu LUN refuses writes as every backstore does: -EROFS
 * (DATA PROTECT), not a plugin's write error (MEDIUM ERROR); reads and
 * flushes go on. */
static void tcmu_read_only_refuses_writes_with_erofs(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct fake_ctl *c;
	uint8_t buf[BS];
	struct bs_dev *d;

	(void)state;
	assert_int_equal(tcmu_open_p(e, "fakests/mem", MIB, BS, true, &d), 0);
	c = ctl();
	c->sts = TCMU_STS_OK;
	assert_true(d->read_only);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, BS, buf), -EROFS);
	assert_int_equal(io_sync(e, d, BS_OP_UNMAP, 0, 0, BS, NULL), -EROFS);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf), 0);
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	bs_close(d);
	env_real_free(e);
}

/* A queuing plugin (nr_threads 0): OK and ASYNC_HANDLED mean "later,
 * through tcmur_cmd_complete"; any other status is the answer now. */
static void tcmu_queuing_plugin_answers_now_or_later(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *d = tcmu_open_ok(e, "fakeq/mem");
	struct fake_ctl *c = ctl();
	uint8_t buf[BS];

	(void)state;
	c->sts = TCMU_STS_OK;
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf), 0);
	c->sts = TCMU_STS_ASYNC_HANDLED;
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf), 0);
	c->sts = TCMU_STS_BUSY;
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, BS, buf), -ENOTCONN);
	c->sts = TCMU_STS_OK;
	bs_close(d);
	env_real_free(e);
}

/* A handle_cmd plugin on a device beyond 2^32 blocks: READ/WRITE(16)
 * where LBA or length outgrow the 10-byte CDB, (10) otherwise. */
static void tcmu_handle_cmd_gets_16_byte_cdbs_when_needed(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	uint64_t lba = (1ull << 32) + 5;
	uint8_t *buf = calloc(1, 65536 * 512);
	struct fake_ctl *c;
	struct bs_dev *d;
	uint64_t got = 0;

	(void)state;
	assert_int_equal(
		tcmu_open_p(e, "fakebig/x", 1ull << 42, 512, false, &d), 0);
	c = ctl();
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, lba * 512, 512, buf), 0);
	assert_int_equal(c->cdb[0], 0x88);
	for (int i = 2; i < 10; i++)
		got = got << 8 | c->cdb[i];
	assert_int_equal(got, lba);
	assert_int_equal(c->cdb[13], 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, lba * 512, 512, buf), 0);
	assert_int_equal(c->cdb[0], 0x8a);
	/* 65536 blocks: past READ(10)'s 16-bit length */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 65536 * 512, buf), 0);
	assert_int_equal(c->cdb[0], 0x88);
	assert_int_equal(c->cdb[11], 1); /* 0x00010000 */
	assert_int_equal(c->cdb[12], 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 512, 65535 * 512, buf),
			 0);
	assert_int_equal(c->cdb[0], 0x28);
	assert_int_equal(c->cdb[7], 0xff);
	assert_int_equal(c->cdb[8], 0xff);
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	assert_int_equal(c->cdb[0], 0x35);
	bs_close(d);
	free(buf);
	env_real_free(e);
}

/* ----------------------------------------------- what the host sees */

struct lu_rig {
	struct env *e;
	struct bs_dev *d;
	struct scsi_lu *lu;
	struct scsi_sess *sess;
	struct scsi_cmd cmd;
	uint8_t buf[4 * BS];
	int done_calls;
	bool in_exec;
};

static void lu_cmd_done(struct scsi_cmd *c)
{
	struct lu_rig *g = c->transport;

	g->done_calls++;
	if (!g->in_exec) /* else a stop left for the next run */
		env_real_stop(g->e);
}

static struct scsi_cmd *lu_run(struct lu_rig *g, const uint8_t *cdb,
			       size_t cdb_len, uint32_t edtl,
			       uint32_t data_out_len)
{
	struct scsi_cmd *c = &g->cmd;
	int before = g->done_calls;

	memset(c, 0, sizeof(*c));
	c->sess = g->sess;
	memcpy(c->cdb, cdb, cdb_len);
	c->cdb_len = (uint8_t)cdb_len;
	c->edtl = edtl;
	c->buf = g->buf;
	c->buf_cap = edtl;
	c->data_out_len = data_out_len;
	c->done = lu_cmd_done;
	c->transport = g;
	g->in_exec = true;
	scsi_cmd_exec(c);
	g->in_exec = false;
	if (g->done_calls == before)
		run_bounded(g->e);
	assert_int_equal(g->done_calls, before + 1);
	return c;
}

static uint8_t c_key(const struct scsi_cmd *c)
{
	return (c->sense[0] & 0x7f) == 0x72 ? c->sense[1] & 0xf
					    : c->sense[2] & 0xf;
}

static uint16_t c_asc(const struct scsi_cmd *c)
{
	if ((c->sense[0] & 0x7f) == 0x72)
		return (uint16_t)(c->sense[2] << 8 | c->sense[3]);
	return (uint16_t)(c->sense[12] << 8 | c->sense[13]);
}

#define expect_sense(c, key, asc)                                         \
	do {                                                              \
		const struct scsi_cmd *c_ = (c);                          \
		if (c_->status != SCSI_STATUS_CHECK_CONDITION ||          \
		    c_key(c_) != (key) || c_asc(c_) != (asc))             \
			fail_msg("expected CHECK CONDITION %x/%04x, got " \
				 "status %02x sense %x/%04x",             \
				 (key), (asc), c_->status, c_key(c_),     \
				 c_asc(c_));                              \
	} while (0)

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(n >> 8);
	cdb[8] = (uint8_t)n;
}

/* A plugin's failures as the initiator's CHECK CONDITION: a timeout is
 * retried (ABORTED COMMAND), a plugin busy failing over is NOT READY,
 * its read and write errors are MEDIUM ERRORs. */
static void tcmu_plugin_failures_as_sense_data(void **state)
{
	static const struct {
		uint8_t op;
		int sts;
		uint8_t key;
		uint16_t asc;
	} cases[] = {
		{0x28, TCMU_STS_TIMEOUT, SK_ABORTED_COMMAND,
		 ASC_LU_COMM_TIMEOUT},
		{0x2a, TCMU_STS_BUSY, SK_NOT_READY, ASC_BECOMING_READY},
		{0x28, TCMU_STS_RD_ERR, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ},
		{0x2a, TCMU_STS_WR_ERR, SK_MEDIUM_ERROR, ASC_WRITE_ERROR},
	};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct lu_rig *g = calloc(1, sizeof(*g));
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0}, cdb[10];
	struct fake_ctl *c;

	(void)state;
	g->e = e;
	g->d = tcmu_open_ok(e, "fakests/mem");
	c = ctl();
	c->sts = TCMU_STS_OK;
	g->lu = scsi_lu_new(e, NULL, g->d, 4);
	assert_non_null(g->lu);
	strcpy(id.initiator_name, "iqn.1994-05.com.example:init");
	strcpy(id.target_name, "iqn.2026-11.org.utarget:tcmu");
	id.tpgt = 1;
	id.rel_tgt_port_id = 1;
	g->sess = scsi_sess_new(e, &id);
	assert_int_equal(scsi_sess_map(g->sess, 0, g->lu, false), 0);
	expect_sense(lu_run(g, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	cdb10(cdb, 0x28, 1, 1);
	assert_int_equal(lu_run(g, cdb, 10, BS, 0)->status, SCSI_STATUS_GOOD);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		c->sts = cases[i].sts;
		cdb10(cdb, cases[i].op, 2, 1);
		expect_sense(lu_run(g, cdb, 10, BS,
				    cases[i].op == 0x2a ? BS : 0),
			     cases[i].key, cases[i].asc);
	}
	c->sts = TCMU_STS_OK;
	assert_int_equal(scsi_sess_busy(g->sess), 0);
	scsi_sess_free(g->sess);
	scsi_lu_free(g->lu);
	bs_close(g->d);
	free(g);
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcmu_plugin_statuses_reach_the_request),
		cmocka_unit_test(tcmu_callouts_and_refusals),
		cmocka_unit_test(tcmu_fua_follows_the_plugins_write_cache),
		cmocka_unit_test(tcmu_read_only_refuses_writes_with_erofs),
		cmocka_unit_test(tcmu_queuing_plugin_answers_now_or_later),
		cmocka_unit_test(tcmu_handle_cmd_gets_16_byte_cdbs_when_needed),
		cmocka_unit_test(tcmu_plugin_failures_as_sense_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
