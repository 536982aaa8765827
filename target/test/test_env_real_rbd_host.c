/*
 * test_env_real_rbd_host.c — the Ceph RBD backstore as an initiator sees
 * it and through its life, against the fake librbd (rbd_rig.h):
 *   - the sense of each cluster error through the SCSI layer over an rbd
 *     LU, MISCOMPARE of COMPARE AND WRITE, and CAPACITY DATA HAS CHANGED
 *     after the image is resized;
 *   - being fenced (-ESHUTDOWN): requests fail with -ENOTCONN while the
 *     control thread waits for those in flight and connects again;
 *   - closing with requests in flight, on the reactor (a job), and with
 *     the reactor freed before the job's answer ran; an asynchronous open.
 * test_env_real_rbd.c holds opening, requests and loading librbd.
 */
#include "rbd_rig.h"

/* ----------------------------------------------- what the host sees */

struct lu_rig {
	struct env *e;
	struct bs_dev *d;
	struct scsi_lu *lu;
	struct scsi_sess *sess;
	struct scsi_cmd cmd;
	uint8_t buf[8192];
	int done_calls;
	bool in_exec;
	int resized_calls;
	pthread_t reactor;
	bool resized_on_reactor;
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

static void lu_resized(struct bs_dev *bs, void *arg)
{
	struct lu_rig *g = arg;

	g->resized_calls++;
	g->resized_on_reactor = pthread_equal(pthread_self(), g->reactor);
	scsi_lu_set_capacity(g->lu, bs->size_bytes / bs->block_size);
	env_real_stop(g->e);
}

static void lu_rig_new(struct lu_rig *g, struct env *e)
{
	struct bs_dev_params p = rbd_params();
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0};

	memset(g, 0, sizeof(*g));
	g->e = e;
	g->reactor = pthread_self();
	assert_int_equal(rig_rbd_open(e, &p, &g->d), 0);
	g->lu = scsi_lu_new(e, NULL, g->d, 3);
	assert_non_null(g->lu);
	g->d->resized = lu_resized;
	g->d->resized_arg = g;
	strcpy(id.initiator_name, "iqn.1994-05.com.example:init");
	strcpy(id.target_name, "iqn.2026-11.org.utarget:rbd");
	id.tpgt = 1;
	id.rel_tgt_port_id = 1;
	g->sess = scsi_sess_new(e, &id);
	assert_non_null(g->sess);
	assert_int_equal(scsi_sess_map(g->sess, 0, g->lu, false), 0);
	/* the power-on unit attention, once */
	expect_sense(lu_run(g, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	assert_int_equal(lu_run(g, tur, 6, 0, 0)->status, SCSI_STATUS_GOOD);
}

static void lu_rig_free(struct lu_rig *g)
{
	assert_int_equal(scsi_sess_busy(g->sess), 0);
	scsi_sess_free(g->sess);
	scsi_lu_free(g->lu);
	bs_close(g->d);
}

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

/* docs/remote.md, "Cluster errors as sense data": each librbd result as
 * the initiator's CHECK CONDITION. */
static void rbd_cluster_errors_as_sense_data(void **state)
{
	static const struct {
		uint8_t op;
		int ret;
		uint8_t key;
		uint16_t asc;
	} cases[] = {
		{0x2a, -ETIMEDOUT, SK_ABORTED_COMMAND, ASC_LU_COMM_TIMEOUT},
		{0x28, -ETIMEDOUT, SK_ABORTED_COMMAND, ASC_LU_COMM_TIMEOUT},
		{0x2a, -ENOSPC, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WP},
		{0x2a, -EDQUOT, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WP},
		{0x2a, -EROFS, SK_DATA_PROTECT, ASC_WRITE_PROTECTED},
		{0x2a, -EIO, SK_MEDIUM_ERROR, ASC_WRITE_ERROR},
		{0x28, -EIO, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ},
		/* last: the client is fenced and connects again */
		{0x28, -ESHUTDOWN, SK_NOT_READY, ASC_BECOMING_READY},
	};
	struct env *e = rbd_env(UT_LOG_WARN);
	struct lu_rig *g = malloc(sizeof(*g));
	uint8_t cdb[16];

	(void)state;
	F.reset(MIB, 0);
	lu_rig_new(g, e);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cdb10(cdb, cases[i].op, 8, 2);
		F.result(cases[i].ret, 1, 0);
		expect_sense(lu_run(g, cdb, 10, 1024,
				    cases[i].op == 0x2a ? 1024 : 0),
			     cases[i].key, cases[i].asc);
	}
	lu_rig_free(g);
	free(g);
	expect_library_clean();
	env_real_free(e);
}

/* COMPARE AND WRITE of one 512-byte block (VMware's ATS) at the OSD:
 * GOOD when equal, MISCOMPARE with the offset in INFORMATION when not. */
static void rbd_ats_miscompare_as_sense_data(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct lu_rig *g = malloc(sizeof(*g));
	struct scsi_cmd *c;
	uint8_t cdb[16] = {0x89};
	uint8_t *img;

	(void)state;
	F.reset(MIB, 0);
	img = F.mem();
	lu_rig_new(g, e);
	fill(img + 10 * 512, 512, 9);
	cdb[13] = 1; /* one block at LBA 10 */
	cdb[9] = 10;
	memcpy(g->buf, img + 10 * 512, 512);
	fill(g->buf + 512, 512, 200);
	c = lu_run(g, cdb, 16, 1024, 1024);
	assert_int_equal(c->status, SCSI_STATUS_GOOD);
	assert_memory_equal(img + 10 * 512, g->buf + 512, 512);
	assert_int_equal(F.stats()->caw, 1);
	/* again: the medium now holds the write half */
	fill(g->buf, 512, 9);
	memcpy(g->buf, img + 10 * 512, 17);
	c = lu_run(g, cdb, 16, 1024, 1024);
	expect_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	/* INFORMATION (fixed format, VALID): the offset of the first
	 * differing byte (SBC-4 §5.3) */
	assert_int_equal(c->sense[0], 0xf0);
	assert_int_equal((uint32_t)c->sense[3] << 24 | c->sense[4] << 16 |
				 c->sense[5] << 8 | c->sense[6],
			 17);
	assert_int_equal(F.stats()->caw, 2);
	lu_rig_free(g);
	free(g);
	expect_library_clean();
	env_real_free(e);
}

/* rbd resize: the update watch wakes the control thread, the size
 * reaches the LU on its reactor, and the host hears CAPACITY DATA HAS
 * CHANGED and the new capacity. */
static void rbd_resize_reaches_the_host(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct lu_rig *g = malloc(sizeof(*g));
	uint8_t rc16[16] = {0x9e, 0x10};
	uint8_t tur[6] = {0};
	struct scsi_cmd *c;
	uint64_t last_lba = 0;

	(void)state;
	F.reset(MIB, 0);
	lu_rig_new(g, e);
	F.set_size(2 * MIB + 100); /* cut to whole blocks */
	assert_true(F.fire_watch());
	run_bounded(e); /* until lu_resized */
	assert_int_equal(g->resized_calls, 1);
	assert_true(g->resized_on_reactor);
	assert_int_equal(g->d->size_bytes, 2 * MIB);
	expect_log("lun0: image resized from 1048576 to 2097152 bytes");
	expect_sense(lu_run(g, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_CAPACITY_CHANGED);
	rc16[13] = 32;
	c = lu_run(g, rc16, 16, 32, 0);
	assert_int_equal(c->status, SCSI_STATUS_GOOD);
	for (int i = 0; i < 8; i++)
		last_lba = last_lba << 8 | g->buf[i];
	assert_int_equal(last_lba, 2 * MIB / 512 - 1);
	/* a header update that changes no size: nothing; one the size of
	 * which cannot be read: a warning, nothing */
	assert_true(F.fire_watch());
	F.fail_call(FR_GET_SIZE, -ETIMEDOUT, 0, 1);
	assert_true(F.fire_watch());
	if (!wait_for_log(e,
			  "lun0: cannot read the image size: Connection "
			  "timed out",
			  3000))
		fail_msg("no warning:\n%s", log_buf);
	assert_int_equal(g->resized_calls, 1);
	/* an image that reads as empty is not a resize to nothing */
	F.set_size(0);
	assert_true(F.fire_watch());
	run_for_ms(e, 200);
	assert_int_equal(g->resized_calls, 1);
	assert_int_equal(g->d->size_bytes, 2 * MIB);
	F.set_size(2 * MIB);
	lu_rig_free(g);
	free(g);
	expect_library_clean();
	env_real_free(e);
}

/* ----------------------------------------------------- being fenced */

/* -ESHUTDOWN (the cluster blocklisted this client): new requests fail at
 * once with -ENOTCONN; the control thread waits for the request still
 * using the old image, closes it, connects again (after a failed try,
 * 0.5 s later), watches again, and reads the size that changed
 * meanwhile; requests then go to the new image. */
static void rbd_fenced_client_connects_again(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t a[512], b[512];
	struct io_req held, r;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	/* one request held in librbd, one fenced */
	F.hold(true);
	io_prep(&held, e, BS_OP_WRITE, 0, 0, 512, a, 512, false);
	held.stop_when_done = false;
	fill(a, 512, 1);
	d->ops->submit(d, &held.req);
	F.hold(false);
	F.fail_call(FR_CONNECT, -ETIMEDOUT, 0, 1);
	F.result(-ESHUTDOWN, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 512, 512, b), -ESHUTDOWN);
	/* said by the control thread, which takes over */
	if (!wait_for_log(e,
			  "lun0: the cluster fenced this client "
			  "(blocklisted); connecting again",
			  3000))
		fail_msg("no fence in the log:\n%s", log_buf);
	/* down: at once, without librbd */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 512, 512, b), -ENOTCONN);
	/* the old image stays while a request uses it */
	run_for_ms(e, 50);
	assert_int_equal(s->closes, 0);
	assert_int_equal(held.done_calls, 0);
	F.set_size(2 * MIB);
	F.release();
	for (int i = 0; i < 100 && !held.done_calls; i++)
		run_for_ms(e, 10);
	assert_int_equal(held.done_calls, 1);
	assert_int_equal(held.status, 0);
	assert_true(held.on_reactor);
	if (!wait_for_log(e, "lun0: connected again", 3000))
		fail_msg("not connected again:\n%s", log_buf);
	expect_log("lun0: cannot connect to the cluster: Connection timed "
		   "out; again in 500 ms");
	assert_int_equal(s->closes, 1);
	assert_int_equal(s->shutdowns, 2); /* the old, the failed try */
	assert_int_equal(s->connects, 2);
	assert_int_equal(s->watches, 2);
	/* the size read after connecting again */
	for (int i = 0; i < 100 && d->size_bytes != 2 * MIB; i++)
		run_for_ms(e, 10);
	assert_int_equal(d->size_bytes, 2 * MIB);
	/* served again, by the new image */
	io_prep(&r, e, BS_OP_READ, 0, 0, 512, b, 512, false);
	assert_int_equal(io_run(e, d, &r), 0);
	assert_memory_equal(b, a, 512);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* Two requests fenced at once: both fail, the second normally finding
 * the device already down; it connects again and serves. */
static void rbd_two_fenced_requests_then_connected_again(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t a[512], b[512];
	struct io_req r1, r2;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	F.hold(true);
	F.result(-ESHUTDOWN, 2, 0);
	io_prep(&r1, e, BS_OP_READ, 0, 0, 512, a, 512, false);
	io_prep(&r2, e, BS_OP_READ, 0, 512, 512, b, 512, false);
	r1.stop_when_done = false;
	d->ops->submit(d, &r1.req);
	d->ops->submit(d, &r2.req);
	F.hold(false);
	F.release();
	for (int i = 0; i < 300 && !(r1.done_calls && r2.done_calls); i++)
		run_for_ms(e, 10);
	assert_int_equal(r1.status, -ESHUTDOWN);
	assert_int_equal(r2.status, -ESHUTDOWN);
	if (!wait_for_log(e, "lun0: connected again", 3000))
		fail_msg("not connected again:\n%s", log_buf);
	/* each reconnection closed the image before */
	assert_true(s->connects >= 2);
	assert_int_equal(s->closes, s->connects - 1);
	/* served again (a second reconnection may still be under way) */
	for (int i = 0; i < 300; i++) {
		if (io_sync(e, d, BS_OP_READ, 0, 0, 512, a) != -ENOTCONN)
			break;
		run_for_ms(e, 10);
	}
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 512, a), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* Closed while connecting again (the cluster does not answer): the
 * control thread gives up at once instead of trying on. */
static void rbd_closed_while_connecting_again(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	uint8_t b[512];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	F.fail_call(FR_CONNECT, -ETIMEDOUT, 0, -1);
	F.result(-ESHUTDOWN, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 512, b), -ESHUTDOWN);
	if (!wait_for_log(e, "again in 500 ms", 2000))
		fail_msg("no failed reconnection:\n%s", log_buf);
	bs_close(d); /* within its 0.5 s sleep: wakes it */
	assert_false(log_has("connected again"));
	F.fail_call(FR_CONNECT, 0, 0, 0);
	expect_library_clean();
	env_real_free(e);
}

/* ---------------------------------------------------------- closing */

/* At exit, the reactors stopped (backstore.h abandon): a request still
 * in librbd's hands is waited for until the deadline, then counted and
 * said in the log; once librbd completed it, its completion, sent to the
 * stopped reactor, is taken back: the request's done never runs, and
 * the device closes with nothing in flight. */
static void rbd_abandon_waits_for_librbd_then_takes_back(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	uint8_t b[512];
	struct io_req r;
	struct bs_dev *d;
	uint64_t t0;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	F.hold(true);
	io_prep(&r, e, BS_OP_READ, 0, 0, 512, b, 512, false);
	d->ops->submit(d, &r.req);
	assert_int_equal(F.pending(), 1);
	t0 = env_now_ns(e);
	assert_int_equal(bs_abandon(d, t0 + MS(30)), 1);
	assert_true(env_now_ns(e) - t0 >= MS(30));
	expect_log("lun0: 1 requests still in librbd's hands");
	F.hold(false);
	F.release();
	assert_int_equal(bs_abandon(d, env_now_ns(e) + MS(5000)), 0);
	assert_int_equal(F.pending(), 0);
	bs_close(d);
	run_for_ms(e, 20);
	assert_int_equal(r.done_calls, 0);
	expect_library_clean();
	env_real_free(e);
}

/* Closed on its reactor (a LUN removed from a running server): the
 * cluster is released on a helper thread, the device freed back on the
 * reactor; or, when the reactor is freed first, there. */
struct close_on_loop {
	struct env *e;
	struct bs_dev *d;
	bool stop;
};

static void close_on_loop_fn(void *arg)
{
	struct close_on_loop *c = arg;

	bs_close(c->d);
	if (c->stop)
		env_real_stop(c->e);
}

static void rbd_close_on_the_reactor_releases_off_it(void **state)
{
	for (int abandon = 0; abandon < 2; abandon++) {
		struct env *e = rbd_env(UT_LOG_WARN);
		struct bs_dev_params p = rbd_params();
		struct close_on_loop c = {.e = e, .stop = abandon};
		struct fake_rbd_stats *s;
		struct env_timer *t;

		(void)state;
		F.reset(MIB, 0);
		s = F.stats();
		assert_int_equal(rig_rbd_open(e, &p, &c.d), 0);
		t = env_timer_new(e, close_on_loop_fn, &c);
		env_timer_arm(e, t, env_now_ns(e));
		if (abandon) {
			/* stopped with the job's answer not run: freeing
			 * the reactor joins and finishes it */
			run_bounded(e);
			env_timer_free(e, t);
			env_real_free(e);
			assert_int_equal(s->closes, 1);
			expect_library_clean();
			continue;
		}
		for (int i = 0; i < 200 && s->shutdowns == 0; i++)
			run_for_ms(e, 5);
		run_for_ms(e, 20); /* the job's answer */
		assert_int_equal(s->closes, 1);
		assert_true(TAILQ_EMPTY(&er_reactor_of(e)->jobs));
		expect_library_clean();
		env_timer_free(e, t);
		env_real_free(e);
	}
}

/* An rbd LUN added to a running server opens off the reactor: its conf
 * and client id copied for the helper thread. */
struct opened {
	struct env *e;
	int calls, rc;
	struct bs_dev *dev;
};

static void on_opened(void *arg, int rc, struct bs_dev *dev)
{
	struct opened *o = arg;

	o->calls++;
	o->rc = rc;
	o->dev = dev;
	env_real_stop(o->e);
}

static void rbd_open_async_copies_its_parameters(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct opened o = {.e = e};
	struct fake_rbd_stats *s;
	char conf[32], id[16];

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	strcpy(conf, "/etc/ceph/async.conf");
	strcpy(id, "async");
	{
		struct bs_dev_params p = rbd_params();

		p.conf = conf;
		p.client_id = id;
		assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o),
				 0);
	}
	/* the caller's strings may go at once */
	memset(conf, 'x', sizeof(conf) - 1);
	memset(id, 'y', sizeof(id) - 1);
	run_bounded(e);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.rc, 0);
	assert_non_null(o.dev);
	assert_string_equal(s->conf_file, "/etc/ceph/async.conf");
	assert_string_equal(s->user, "client.async");
	expect_log("lun0: opening off the reactor");
	bs_close(o.dev);
	/* without a name */
	{
		struct bs_dev_params p = rbd_params();

		p.name = NULL;
		o.calls = 0;
		assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o),
				 0);
		run_bounded(e);
		assert_int_equal(o.calls, 1);
		assert_int_equal(o.rc, 0);
		expect_log("device: opening off the reactor");
		bs_close(o.dev);
	}
	expect_library_clean();
	env_real_free(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rbd_cluster_errors_as_sense_data),
		cmocka_unit_test(rbd_ats_miscompare_as_sense_data),
		cmocka_unit_test(rbd_resize_reaches_the_host),
		cmocka_unit_test(rbd_fenced_client_connects_again),
		cmocka_unit_test(rbd_two_fenced_requests_then_connected_again),
		cmocka_unit_test(rbd_closed_while_connecting_again),
		cmocka_unit_test(rbd_abandon_waits_for_librbd_then_takes_back),
		cmocka_unit_test(rbd_close_on_the_reactor_releases_off_it),
		cmocka_unit_test(rbd_open_async_copies_its_parameters),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
