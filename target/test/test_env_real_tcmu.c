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
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "env_real/env_real_int.h"
#include "env_real/tcmu_abi.h"
#include "scsi/scsi_int.h"
#include "tcmu/handler_fake.h"

/* The plugin-facing entry points (tcmu_api.c), as plugins declare them. */
int tcmur_register_handler(struct tcmur_handler *h);
bool tcmur_unregister_handler(struct tcmur_handler *h);
int tcmur_dev_update_size(struct tcmu_device *dev, uint64_t new_size);
void *tcmu_dev_get_private(struct tcmu_device *dev);
void tcmu_dev_set_private(struct tcmu_device *dev, void *priv);
void *tcmur_dev_get_private(struct tcmu_device *dev);
void tcmur_dev_set_private(struct tcmu_device *dev, void *priv);
char *tcmu_dev_get_cfgstring(struct tcmu_device *dev);
void tcmu_dev_set_num_lbas(struct tcmu_device *dev, uint64_t n);
uint64_t tcmu_dev_get_num_lbas(struct tcmu_device *dev);
void tcmu_dev_set_block_size(struct tcmu_device *dev, uint32_t bs);
uint32_t tcmu_dev_get_block_size(struct tcmu_device *dev);
uint64_t tcmu_lba_to_byte(struct tcmu_device *dev, uint64_t lba);
uint64_t tcmu_byte_to_lba(struct tcmu_device *dev, uint64_t byte);
void tcmu_dev_set_max_xfer_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device *dev);
void tcmu_dev_set_opt_xcopy_rw_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_opt_xcopy_rw_len(struct tcmu_device *dev);
void tcmu_dev_set_max_unmap_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device *dev);
void tcmu_dev_set_opt_unmap_gran(struct tcmu_device *dev, uint32_t len,
				 bool split);
uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device *dev);
void tcmu_dev_set_unmap_gran_align(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device *dev);
void tcmu_dev_set_write_cache_enabled(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_write_cache_enabled(struct tcmu_device *dev);
void tcmu_dev_set_solid_state_media(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_solid_state_media(struct tcmu_device *dev);
void tcmu_dev_set_unmap_enabled(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_unmap_enabled(struct tcmu_device *dev);
uint64_t tcmu_cfgfs_dev_get_info_u64(struct tcmu_device *dev, const char *name,
				     int *fn_ret);
int tcmu_cfgfs_dev_get_attr_int(struct tcmu_device *dev, const char *name);
char *tcmu_cfgfs_dev_get_wwn(struct tcmu_device *dev);
int tcmu_cdb_get_length(uint8_t *cdb);
uint64_t tcmu_cdb_get_lba(uint8_t *cdb);
uint32_t tcmu_cdb_get_xfer_length(uint8_t *cdb);
off_t tcmu_iovec_compare(void *mem, struct iovec *iovec, size_t size);
size_t tcmu_iovec_seek(struct iovec *iovec, size_t count);
void tcmu_cmd_seek(struct tcmulib_cmd *cmd, size_t count);
size_t tcmu_iovec_length(struct iovec *iovec, size_t iov_cnt);
void tcmu_iovec_zero(struct iovec *iovec, size_t iov_cnt);
bool tcmu_iovec_zeroed(struct iovec *iovec, size_t iov_cnt);
size_t tcmu_memcpy_into_iovec(struct iovec *iovec, size_t iov_cnt, void *src,
			      size_t len);
size_t tcmu_memcpy_from_iovec(void *dest, size_t len, struct iovec *iovec,
			      size_t iov_cnt);
void __tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq);
int tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq);
void tcmu_sense_set_info(uint8_t *sense_buf, uint32_t info);
void tcmu_sense_set_key_specific_info(uint8_t *sense_buf, uint16_t info);
void tcmu_set_thread_name(const char *prefix, struct tcmu_device *dev);
void tcmu_notify_lock_lost(struct tcmu_device *dev);
void tcmu_notify_conn_lost(struct tcmu_device *dev);
void tcmu_notify_cmd_timed_out(struct tcmu_device *dev);
void tcmu_err_message(struct tcmu_device *dev, const char *funcname, int linenr,
		      const char *fmt, ...);
void tcmu_crit_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_warn_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_info_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_dbg_message(struct tcmu_device *dev, const char *funcname, int linenr,
		      const char *fmt, ...);
void tcmu_dbg_scsi_cmd_message(struct tcmu_device *dev, const char *funcname,
			       int linenr, const char *fmt, ...);

#define MIB (1ull << 20)

/* ------------------------------------------------------- log lines */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[16384];
static size_t log_len;
static struct env_ops cap_ops;

static void cap_log(struct env *e, enum ut_log_level level, const char *line)
{
	(void)e;
	(void)level;
	pthread_mutex_lock(&log_lock);
	log_len += (size_t)snprintf(log_buf + log_len,
				    sizeof(log_buf) - log_len, "%s\n", line);
	if (log_len >= sizeof(log_buf))
		log_len = sizeof(log_buf) - 1;
	pthread_mutex_unlock(&log_lock);
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&log_lock);
	has = strstr(log_buf, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return has;
}

#define expect_log(s)                                                       \
	do {                                                                \
		if (!log_has(s))                                            \
			fail_msg("expected a log line with '%s'; got:\n%s", \
				 (s), log_buf);                             \
	} while (0)

/* ------------------------------------------------------ the plugins */

static char plugin_dir[600], bad_dir[600];

static void plugin_dirs(void)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/tcmu", exe);
	snprintf(bad_dir, sizeof(bad_dir), "%s/tcmu-bad", exe);
}

static struct env *tcmu_env(enum ut_log_level level, const char *dir)
{
	struct env *e = new_env(true, NULL);

	plugin_dirs();
	setenv("UTARGET_TCMU_DIR", dir ? dir : plugin_dir, 1);
	cap_ops = *e->ops;
	cap_ops.log = cap_log;
	e->ops = &cap_ops;
	e->log_level = level;
	log_clear();
	return e;
}

/* A symbol of a loaded plugin. */
static void *plugin_sym(const char *dir, const char *file, const char *sym)
{
	char so[700];
	void *h, *p;

	snprintf(so, sizeof(so), "%s/%s", dir, file);
	h = dlopen(so, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		fail_msg("%s is not loaded", so);
	p = dlsym(h, sym);
	assert_non_null(p);
	dlclose(h); /* the NOLOAD reference only */
	return p;
}

static struct fake_ctl *ctl(void)
{
	return plugin_sym(plugin_dir, "handler_fake.so", "fake_ctl");
}

static int tcmu_open_p(struct env *e, const char *path, uint64_t size,
		       uint32_t bs, bool ro, struct bs_dev **d)
{
	struct bs_dev_params p = {
		.kind = BS_TCMU,
		.name = "lun0",
		.path = path,
		.size_bytes = size,
		.block_size = bs,
		.read_only = ro,
	};

	*d = NULL;
	return e->ops->disk_open(e, &p, d);
}

static struct bs_dev *tcmu_open_ok(struct env *e, const char *path)
{
	struct bs_dev *d;

	assert_int_equal(tcmu_open_p(e, path, MIB, BS, false, &d), 0);
	assert_non_null(d);
	return d;
}

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

/* --------------------------------------------------------- opening */

/* What stops an open, and the reason the log gives. */
static void tcmu_open_refusals_say_why(void **state)
{
	static const struct {
		const char *path;
		int rc;
		const char *why;
	} cases[] = {
		{"", -EINVAL,
		 "lun0: tcmu handler ?: expected HANDLER/CFGSTRING"},
		{"noslash", -EINVAL, "expected HANDLER/CFGSTRING"},
		{"/mem", -EINVAL, "expected HANDLER/CFGSTRING"},
		{"a123456789b123456789c123456789d123456789/x", -EINVAL,
		 "expected HANDLER/CFGSTRING"},
		{"fakenorw/mem", -EINVAL,
		 "lun0: tcmu handler fakenorw: the plugin has neither "
		 "read/write nor handle_cmd callouts"},
		{"fakenowr/mem", -EINVAL, "neither read/write nor handle_cmd"},
		{"fakenoopen/mem", -EINVAL,
		 "neither read/write nor handle_cmd"},
		{"fakests/refuse", -EINVAL,
		 "configuration '/refuse' refused: the fake refuses it"},
		{"fakests/refuse-quietly", -EINVAL,
		 "configuration '/refuse-quietly' refused: no reason given"},
		{"fake/fail", -EIO,
		 "cannot open '/fail': the plugin refused (-1)"},
		{"fake/fail-errno", -EACCES,
		 "cannot open '/fail-errno': Permission denied (-13)"},
	};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, cases[i].path, MIB, BS, false,
					     &d),
				 cases[i].rc);
		assert_null(d);
		expect_log(cases[i].why);
	}
	/* no path at all */
	{
		struct bs_dev_params p = {.kind = BS_TCMU, .name = "lun0"};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
		expect_log("lun0: tcmu handler ?: expected HANDLER/CFGSTRING");
	}
	/* no name: the path names the device in the log */
	{
		struct bs_dev_params p = {.kind = BS_TCMU,
					  .path = "fake/fail",
					  .size_bytes = MIB};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(e->ops->disk_open(e, &p, &d), -EIO);
		expect_log("fake/fail: tcmu handler fake: cannot open");
	}
	env_real_free(e);
}

/* Without size=: a qcow2 header's virtual size, a plain file's size
 * (after zbc/fbo-style "opts@" before the file); nothing readable: the
 * open says to give size=. */
static void tcmu_size_comes_from_the_image(void **state)
{
	char *dir = make_tmpdir();
	char qcow[300], bad[300], plain[300], raw[300], spec[700];
	struct env *e = tcmu_env(UT_LOG_INFO, NULL);
	uint8_t hdr[32] = {'Q', 'F', 'I', 0xfb};
	struct bs_dev *d;
	int fd;

	(void)state;
	snprintf(qcow, sizeof(qcow), "%s/vm.qcow2", dir);
	snprintf(bad, sizeof(bad), "%s/bad.qcow2", dir);
	snprintf(plain, sizeof(plain), "%s/disk.img", dir);
	snprintf(raw, sizeof(raw), "%s/raw.qcow2", dir);
	hdr[24 + 5] = 0x20; /* 2 MiB, big-endian at byte 24 */
	fd = open(qcow, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	close(fd);
	fd = open(bad, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, "QFI", 3), 3); /* short, no magic */
	close(fd);
	fd = open(raw, O_CREAT | O_WRONLY, 0600); /* 32 bytes, no magic */
	assert_int_equal(write(fd, hdr + 4, 28), 28);
	assert_int_equal(write(fd, "QFI!", 4), 4);
	close(fd);
	fd = open(plain, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(ftruncate(fd, (off_t)MIB), 0);
	close(fd);

	snprintf(spec, sizeof(spec), "qcow%s", qcow);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, 2 * MIB);
	expect_log("lun0: tcmu handler qcow (fake, as qcow), '");
	expect_log("2097152 bytes in 512-byte blocks, blocking callouts on "
		   "threads");
	bs_close(d);
	snprintf(spec, sizeof(spec), "fake%s", plain);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, MIB);
	bs_close(d);
	snprintf(spec, sizeof(spec), "fake/model-HM/zsize-2@%s", plain);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, MIB);
	bs_close(d);
	/* nothing to read a size from */
	{
		const char *none[] = {bad, raw, dir, "/nonexistent/x.img"};

		for (size_t i = 0; i < 4; i++) {
			snprintf(spec, sizeof(spec), "%s%s",
				 i < 2 ? "qcow" : "fake", none[i]);
			log_clear();
			assert_int_equal(tcmu_open_p(e, spec, 0, 512, false,
						     &d),
					 -EINVAL);
			expect_log("the size is unknown: give size=");
		}
	}
	/* asynchronous and handle_cmd plugins say so */
	log_clear();
	d = tcmu_open_ok(e, "fakeasync/mem");
	expect_log("asynchronous callouts");
	bs_close(d);
	log_clear();
	d = tcmu_open_ok(e, "fakebig/x");
	expect_log("tcmu handler fakebig (?)");
	expect_log(", through handle_cmd");
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* --------------------------------------------------------- loading */

/* Plugins that cannot serve: each open fails, naming the plugin and
 * why; a plugin whose global init failed leaves no handler behind. */
static void tcmu_broken_plugins_are_refused_with_the_reason(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	const struct {
		const char *path;
		const char *why;
	} cases[] = {
		{"junk/x", "handler_junk.so: "},
		{"noinit/x", "handler_noinit.so has no handler_init"},
		{"initfail/x", "handler_initfail.so failed: Operation not "
			       "permitted"},
		{"ginit/x", "init of handler ginit failed: Input/output "
			    "error"},
		{"other/x", "handler_other.so registers no handler other"},
	};

	(void)state;
	setenv("UTARGET_TCMU_DIR", bad_dir, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (int again = 0; again < 2; again++) {
			struct bs_dev *d;

			log_clear();
			assert_int_equal(tcmu_open_p(e, cases[i].path, MIB, BS,
						     false, &d),
					 -ENOENT);
			assert_null(d);
			expect_log(cases[i].why);
		}
	}
	/* the handler of the plugin whose init failed is not left to use */
	assert_null(tcmu_api_find("ginit"));
	assert_non_null(tcmu_api_find("otherx"));
	/* the directory cannot be read */
	setenv("UTARGET_TCMU_DIR", "/nonexistent-tcmu-dir", 1);
	{
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, "zzz/x", MIB, BS, false, &d),
				 -ENOENT);
		expect_log("lun0: tcmu handler zzz: cannot read "
			   "/nonexistent-tcmu-dir: No such file or directory "
			   "(apt-get install tcmu-runner)");
		/* empty or unset: the built-in directory (UT_TCMU_DIR) */
		for (int unset = 0; unset < 2; unset++) {
			if (unset)
				unsetenv("UTARGET_TCMU_DIR");
			else
				setenv("UTARGET_TCMU_DIR", "", 1);
			log_clear();
			assert_int_equal(tcmu_open_p(e, "zzz/x", MIB, BS, false,
						     &d),
					 -ENOENT);
			expect_log("lun0: tcmu handler zzz: ");
			assert_false(log_has("nonexistent-tcmu-dir"));
		}
	}
	env_real_free(e);
}

/* A handler no file is named after: every plugin of the directory is
 * tried; scanning again (another open of it) does not initialise the
 * plugins loaded the first time again, nor register their handlers
 * twice. */
static void tcmu_directory_scan_initialises_each_plugin_once(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	char want[800];
	int *inits;

	(void)state;
	setenv("UTARGET_TCMU_DIR", bad_dir, 1);
	snprintf(want, sizeof(want),
		 "lun0: tcmu handler nosuch: no plugin in %s registers "
		 "handler nosuch",
		 bad_dir);
	for (int i = 0; i < 3; i++) {
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, "nosuch/x", MIB, BS, false, &d),
				 -ENOENT);
		expect_log(want);
	}
	inits = plugin_sym(bad_dir, "handler_count.so", "count_inits");
	assert_int_equal(*inits, 1);
	assert_non_null(tcmu_api_find("counted"));
	/* registered once: unregistered once */
	{
		struct tcmur_handler *h =
			(struct tcmur_handler *)tcmu_api_find("counted");

		assert_true(tcmur_unregister_handler(h));
		assert_false(tcmur_unregister_handler(h));
		assert_null(tcmu_api_find("counted"));
		assert_int_equal(tcmur_register_handler(h), 0);
	}
	env_real_free(e);
}

/* The handler table: a subtype names one handler; NULL or nameless ones
 * are refused; it holds a bounded number. */
static void tcmu_handler_registry_bounds(void **state)
{
	static struct tcmur_handler hs[20];
	static char names[20][16];
	struct tcmur_handler dup = {.subtype = "fake"};
	struct tcmur_handler nameless = {.name = "x"};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *d = tcmu_open_ok(e, "fake/mem"); /* loaded */
	int n = 0, rc = 0;

	(void)state;
	assert_int_equal(tcmur_register_handler(NULL), -EINVAL);
	assert_int_equal(tcmur_register_handler(&nameless), -EINVAL);
	assert_int_equal(tcmur_register_handler(&dup), -EEXIST);
	assert_true(tcmu_api_find("fake") != &dup);
	while (n < 20) {
		snprintf(names[n], sizeof(names[n]), "reg%d", n);
		hs[n].subtype = names[n];
		rc = tcmur_register_handler(&hs[n]);
		if (rc < 0)
			break;
		n++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(n >= 1 && n < 16);
	for (int i = 0; i < n; i++) {
		assert_non_null(tcmu_api_find(names[i]));
		assert_true(tcmur_unregister_handler(&hs[i]));
	}
	assert_false(tcmur_unregister_handler(&hs[0]));
	assert_null(tcmu_api_find("reg0"));
	bs_close(d);
	env_real_free(e);
}

/* ------------------------------------------------ entry points */

/* SPC-4 §4.2.5.1: the CDB's length from its group code; LBA and
 * transfer length from where each length puts them. */
static void tcmu_cdb_helpers_follow_the_group_code(void **state)
{
	uint8_t c6[6] = {0x08, 0x1f, 0x34, 0x56, 0x80};
	uint8_t c10[10] = {0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x02};
	uint8_t c12[12] = {0xa8, 0, 0, 0, 0, 9, 0, 0, 0x10, 0};
	uint8_t c16[16] = {0x88, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0};
	uint8_t c32[32] = {0x7f, 0, 0, 0, 0, 0, 0, 0x18};
	uint8_t bad[16] = {0x60};

	(void)state;
	assert_int_equal(tcmu_cdb_get_length(c6), 6);
	assert_int_equal(tcmu_cdb_get_length(c10), 10);
	c10[0] = 0x48; /* group 2 */
	assert_int_equal(tcmu_cdb_get_length(c10), 10);
	c10[0] = 0x28;
	assert_int_equal(tcmu_cdb_get_length(c12), 12);
	assert_int_equal(tcmu_cdb_get_length(c16), 16);
	assert_int_equal(tcmu_cdb_get_length(c32), 32);
	assert_int_equal(tcmu_cdb_get_length(bad), -EINVAL); /* group 3 */
	bad[0] = 0xc0;					     /* group 6 */
	assert_int_equal(tcmu_cdb_get_length(bad), -EINVAL);
	assert_int_equal(tcmu_cdb_get_lba(c6), 0x1f3456);
	assert_int_equal(tcmu_cdb_get_lba(c10), 0x12345678);
	assert_int_equal(tcmu_cdb_get_lba(c12), 9);
	assert_int_equal(tcmu_cdb_get_lba(c16), (1ull << 32) + 2);
	assert_int_equal(tcmu_cdb_get_lba(bad), 0);
	assert_int_equal(tcmu_cdb_get_xfer_length(c6), 0x80);
	assert_int_equal(tcmu_cdb_get_xfer_length(c10), 0x102);
	assert_int_equal(tcmu_cdb_get_xfer_length(c12), 0x1000);
	assert_int_equal(tcmu_cdb_get_xfer_length(c16), 0x100);
	assert_int_equal(tcmu_cdb_get_xfer_length(bad), 0);
	assert_int_equal(tcmu_cdb_get_xfer_length(c32), 0);
}

static void tcmu_iovec_helpers(void **state)
{
	uint8_t a[8], b[8], mem[16], out[16];
	struct iovec v[2];
	struct tcmulib_cmd cmd = {0};

	(void)state;
	for (int i = 0; i < 16; i++)
		mem[i] = (uint8_t)i;
	memcpy(a, mem, 8);
	memcpy(b, mem + 8, 8);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	assert_int_equal(tcmu_iovec_compare(mem, v, 16), -1);
	b[3] ^= 1;
	assert_int_equal(tcmu_iovec_compare(mem, v, 16), 11);
	assert_int_equal(tcmu_iovec_compare(mem, v, 11), -1);
	assert_int_equal(tcmu_iovec_length(v, 2), 16);
	assert_false(tcmu_iovec_zeroed(v, 2));
	/* seek: past the first entry and into the second */
	assert_int_equal(tcmu_iovec_seek(v, 10), 1);
	assert_int_equal(v[0].iov_len, 0);
	assert_ptr_equal(v[1].iov_base, b + 2);
	assert_int_equal(v[1].iov_len, 6);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	cmd.iovec = v;
	cmd.iov_cnt = 2;
	tcmu_cmd_seek(&cmd, 8);
	assert_int_equal(cmd.iov_cnt, 1);
	/* copies use the iovec up, and stop where it ends */
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	assert_int_equal(tcmu_memcpy_into_iovec(v, 2, mem, 12), 12);
	assert_memory_equal(a, mem, 8);
	assert_memory_equal(b, mem + 8, 4);
	assert_int_equal(v[1].iov_len, 4);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	memset(out, 0xee, sizeof(out));
	assert_int_equal(tcmu_memcpy_from_iovec(out, 16, v, 1), 8);
	assert_memory_equal(out, mem, 8);
	assert_int_equal(out[8], 0xee);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	tcmu_iovec_zero(v, 2);
	assert_true(tcmu_iovec_zeroed(v, 2));
}

/* Fixed-format sense as the plugins build it (SPC-4 §4.5.3). */
static void tcmu_sense_helpers_build_fixed_format(void **state)
{
	uint8_t s[TCMU_SENSE_BYTES];

	(void)state;
	memset(s, 0xff, sizeof(s));
	assert_int_equal(tcmu_sense_set_data(s, SK_MEDIUM_ERROR, 0x1100),
			 TCMU_STS_PASSTHROUGH_ERR);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], SK_MEDIUM_ERROR);
	assert_int_equal(s[7], 0x0a);
	assert_int_equal(s[12], 0x11);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[20], 0); /* cleared */
	tcmu_sense_set_info(s, 0x01020304);
	assert_int_equal(s[0], 0x80);
	assert_int_equal(s[3], 1);
	assert_int_equal(s[6], 4);
	__tcmu_sense_set_data(s, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(s[0], 0xf0); /* VALID kept */
	assert_int_equal(s[6], 4);
	assert_int_equal(s[2], SK_MISCOMPARE);
	tcmu_sense_set_key_specific_info(s, 0x1234);
	assert_int_equal(s[15], 0x80);
	assert_int_equal(s[16], 0x12);
	assert_int_equal(s[17], 0x34);
	assert_int_equal(s[0], 0);
}

/* What a plugin reads and sets on its device; configfs answered from
 * the configuration; size changes refused; events counted and logged;
 * log lines with and without a device, by level. */
static void tcmu_device_attributes_events_and_log(void **state)
{
	struct env *e = tcmu_env(UT_LOG_INFO, NULL);
	struct tcmu_device *dev = calloc(1, sizeof(*dev));
	char name[16] = "";
	char *wwn;
	int ret = 1;

	(void)state;
	dev->env = e;
	snprintf(dev->name, sizeof(dev->name), "lun7");
	snprintf(dev->wwn, sizeof(dev->wwn), "wwn-7");
	dev->cfgstring = "fake//x";
	dev->size_bytes = 4 * MIB;
	dev->priv = &dev->runner;
	tcmu_dev_set_block_size(dev, 4096);
	assert_int_equal(tcmu_dev_get_block_size(dev), 4096);
	tcmu_dev_set_num_lbas(dev, 1024);
	assert_int_equal(tcmu_dev_get_num_lbas(dev), 1024);
	assert_int_equal(tcmu_lba_to_byte(dev, 3), 3 * 4096);
	assert_int_equal(tcmu_byte_to_lba(dev, 3 * 4096 + 5), 3);
	tcmu_dev_set_max_xfer_len(dev, 64);
	assert_int_equal(tcmu_dev_get_max_xfer_len(dev), 64);
	tcmu_dev_set_opt_xcopy_rw_len(dev, 32);
	assert_int_equal(tcmu_dev_get_opt_xcopy_rw_len(dev), 32);
	tcmu_dev_set_max_unmap_len(dev, 16);
	assert_int_equal(tcmu_dev_get_max_unmap_len(dev), 16);
	tcmu_dev_set_opt_unmap_gran(dev, 8, true);
	assert_int_equal(tcmu_dev_get_opt_unmap_gran(dev), 8);
	tcmu_dev_set_unmap_gran_align(dev, 4);
	assert_int_equal(tcmu_dev_get_unmap_gran_align(dev), 4);
	tcmu_dev_set_write_cache_enabled(dev, true);
	assert_true(tcmu_dev_get_write_cache_enabled(dev));
	tcmu_dev_set_solid_state_media(dev, true);
	assert_true(tcmu_dev_get_solid_state_media(dev));
	tcmu_dev_set_unmap_enabled(dev, true);
	assert_true(tcmu_dev_get_unmap_enabled(dev));
	assert_string_equal(tcmu_dev_get_cfgstring(dev), "fake//x");
	assert_ptr_equal(tcmu_dev_get_private(dev), &dev->runner);
	tcmu_dev_set_private(dev, NULL);
	assert_null(tcmu_dev_get_private(dev));
	tcmur_dev_set_private(dev, &ret);
	assert_ptr_equal(tcmur_dev_get_private(dev), &ret);
	assert_int_equal(tcmu_cfgfs_dev_get_info_u64(dev, "Size", &ret),
			 4 * MIB);
	assert_int_equal(ret, 0);
	assert_int_equal(tcmu_cfgfs_dev_get_info_u64(dev, "Other", &ret), 0);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "hw_block_size"),
			 4096);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "hw_max_sectors"),
			 64);
	assert_int_equal(
		tcmu_cfgfs_dev_get_attr_int(dev, "emulate_write_cache"), 1);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "nosuch"), -EINVAL);
	wwn = tcmu_cfgfs_dev_get_wwn(dev);
	assert_string_equal(wwn, "wwn-7");
	free(wwn);
	assert_int_equal(tcmur_dev_update_size(dev, 8 * MIB), -EOPNOTSUPP);
	expect_log("lun7: the plugin asks for size 8388608; not supported");
	/* events: counted (handler_rbd reports them), logged */
	tcmu_notify_lock_lost(dev);
	tcmu_notify_conn_lost(dev);
	tcmu_notify_conn_lost(dev);
	tcmu_notify_cmd_timed_out(dev);
	assert_int_equal(dev->runner.lock_lost_cnt, 1);
	assert_int_equal(dev->runner.conn_lost_cnt, 2);
	assert_int_equal(dev->runner.cmd_timed_out_cnt, 1);
	expect_log("lun7: tcmu handler reports its lock lost");
	expect_log("lun7: tcmu handler reports its connection lost");
	expect_log("lun7: tcmu handler reports a command timed out");
	/* without a device: the environment of the last open, if any */
	tcmu_api_set_env(e);
	tcmu_notify_conn_lost(NULL);
	expect_log("?: tcmu handler reports its connection lost");
	tcmu_err_message(NULL, "f", 1, "no device %d\n\n", 3);
	expect_log("tcmu: no device 3\n");
	assert_false(log_has("no device 3\n\n"));
	tcmu_crit_message(dev, "f", 1, "crit %s", "x");
	tcmu_warn_message(dev, "f", 1, "warn");
	tcmu_info_message(dev, "f", 1, "info");
	expect_log("lun7: tcmu: crit x");
	expect_log("lun7: tcmu: warn");
	expect_log("lun7: tcmu: info");
	/* below the level: not even formatted */
	tcmu_dbg_message(dev, "f", 1, "debug");
	tcmu_dbg_scsi_cmd_message(dev, "f", 1, "trace");
	assert_false(log_has("debug"));
	assert_false(log_has("trace"));
	e->log_level = UT_LOG_TRACE;
	tcmu_dbg_scsi_cmd_message(dev, "f", 1, "trace");
	expect_log("lun7: tcmu: trace");
	/* no environment at all: nowhere to log, nothing happens */
	tcmu_api_set_env(NULL);
	log_clear();
	tcmu_notify_lock_lost(NULL);
	tcmu_err_message(NULL, "f", 1, "lost");
	assert_int_equal(log_len, 0);
	/* the thread's name, as tcmu-runner names its threads */
	tcmu_set_thread_name("io", dev);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	assert_string_equal(name, "tcmu-io");
	tcmu_set_thread_name(NULL, dev);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	assert_string_equal(name, "tcmu-");
	pthread_setname_np(pthread_self(), "test_env_real_t");
	free(dev);
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
		cmocka_unit_test(tcmu_open_refusals_say_why),
		cmocka_unit_test(tcmu_size_comes_from_the_image),
		cmocka_unit_test(
			tcmu_broken_plugins_are_refused_with_the_reason),
		cmocka_unit_test(
			tcmu_directory_scan_initialises_each_plugin_once),
		cmocka_unit_test(tcmu_handler_registry_bounds),
		cmocka_unit_test(tcmu_cdb_helpers_follow_the_group_code),
		cmocka_unit_test(tcmu_iovec_helpers),
		cmocka_unit_test(tcmu_sense_helpers_build_fixed_format),
		cmocka_unit_test(tcmu_device_attributes_events_and_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
