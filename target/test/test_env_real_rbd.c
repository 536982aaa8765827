/*
 * test_env_real_rbd.c — the Ceph RBD backstore (env_real/disk_rbd.c,
 * disk_rbd_cluster.c)
 * against a fake librbd (build/test/rbd/librbd_fake.so,
 * target/test/rbd/librbd_fake.c), loaded through the backstore's own
 * dlopen path (UTARGET_LIBRBD), without a cluster:
 *
 *   - opening: the client, configuration and bounded timeouts it asks
 *     librados for, every step that can fail (named in the log, nothing
 *     left allocated in the library), paths that are not POOL/IMAGE;
 *   - requests: data through each librbd call, those refused before
 *     librbd sees them, librbd's errors, FUA with the writeback cache,
 *     COMPARE AND WRITE within a sector and beyond;
 *   - what an initiator sees: the sense of each cluster error through the
 *     SCSI layer over an rbd LU, and CAPACITY DATA HAS CHANGED after the
 *     image is resized;
 *   - being fenced (-ESHUTDOWN): requests fail with -ENOTCONN while the
 *     control thread waits for those in flight and connects again;
 *   - closing with requests in flight, on the reactor (a job), and with
 *     the reactor freed before the job's answer ran.
 *
 * Every completion must come on the reactor, never inside submit, once;
 * every librbd completion created must be released, and no request may
 * reach an image after its rbd_close().
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
#include "rbd/librbd_fake.h"
#include "scsi/scsi_int.h"

#define MIB (1ull << 20)

/* ------------------------------------------------------- the fake */

static struct {
	fake_rbd_stats_fn stats;
	fake_rbd_reset_fn reset;
	fake_rbd_fail_fn fail_call;
	fake_rbd_fail_conf_fn fail_conf;
	fake_rbd_no_addrs_fn no_addrs;
	fake_rbd_result_fn result;
	fake_rbd_hold_fn hold;
	fake_rbd_release_fn release;
	fake_rbd_set_size_fn set_size;
	fake_rbd_fire_watch_fn fire_watch;
	fake_rbd_pending_fn pending;
	fake_rbd_mem_fn mem;
} F;

/* build/test/rbd/librbd_fake.so, beside this test's binary: loaded here
 * first, so that disk_rbd_cluster.c's dlopen of the same path shares it. */
static void use_fake_librbd(void)
{
	char exe[512], so[600];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	void *h;

	if (F.stats)
		return;
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(so, sizeof(so), "%s/rbd/librbd_fake.so", exe);
	setenv("UTARGET_LIBRBD", so, 1);
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("cannot load the fake librbd: %s", dlerror());
#define FAKE_SYM(f)                                                         \
	do {                                                                \
		*(void **)&F.f = dlsym(h, "fake_rbd_" #f);                  \
		if (!F.f)                                                   \
			fail_msg("the fake librbd has no fake_rbd_%s", #f); \
	} while (0)
	FAKE_SYM(stats);
	FAKE_SYM(reset);
	FAKE_SYM(fail_call);
	FAKE_SYM(fail_conf);
	FAKE_SYM(no_addrs);
	FAKE_SYM(result);
	FAKE_SYM(hold);
	FAKE_SYM(release);
	FAKE_SYM(set_size);
	FAKE_SYM(fire_watch);
	FAKE_SYM(pending);
	FAKE_SYM(mem);
#undef FAKE_SYM
}

/* What a test leaves in the library: every completion released, every
 * cluster handle shut down, nothing on a closed image. */
static void expect_library_clean(void)
{
	struct fake_rbd_stats *s = F.stats();

	assert_int_equal(s->aio_created, s->aio_released);
	assert_int_equal(s->creates, s->shutdowns);
	assert_int_equal(s->ioctxs, s->ioctx_destroys);
	assert_int_equal(s->opens + s->opens_ro, s->closes);
	assert_int_equal(s->watches, s->unwatches);
	assert_int_equal(s->aio_on_closed, 0);
	assert_int_equal(F.pending(), 0);
}

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

/* A real environment whose log lines the test reads (level: the lines
 * kept; LOG_* below it are not even formatted). */
static struct env *rbd_env(enum ut_log_level level)
{
	struct env *e = new_env(true, NULL);

	use_fake_librbd();
	cap_ops = *e->ops;
	cap_ops.log = cap_log;
	e->ops = &cap_ops;
	e->log_level = level;
	log_clear();
	return e;
}

/* Run the reactor until a log line holds s, at most ms. */
static bool wait_for_log(struct env *e, const char *s, unsigned int ms)
{
	for (unsigned int t = 0; t < ms && !log_has(s); t += 10)
		run_for_ms(e, 10);
	return log_has(s);
}

/* ------------------------------------------------------- requests */

static struct bs_dev_params rbd_params(void)
{
	return (struct bs_dev_params){
		.kind = BS_RBD,
		.name = "lun0",
		.path = "pool1/img1",
		.block_size = 512,
	};
}

static int rbd_open(struct env *e, const struct bs_dev_params *p,
		    struct bs_dev **d)
{
	*d = NULL;
	return e->ops->disk_open(e, p, d);
}

struct io_req {
	struct bs_req req;
	struct env *e;
	int status;
	int done_calls;
	bool in_submit;
	bool done_inside_submit;
	pthread_t reactor;
	bool on_reactor;
	bool stop_when_done;
	struct iovec iov[20];
};

static void io_done(struct bs_req *req, int status)
{
	struct io_req *r = (struct io_req *)req;

	r->done_calls++;
	r->status = status;
	r->done_inside_submit = r->in_submit;
	r->on_reactor = pthread_equal(pthread_self(), r->reactor);
	if (r->stop_when_done)
		env_real_stop(r->e);
}

/* Fill r for op over [off, off+len) with buf as one iovec (or two
 * halves: split). */
static void io_prep(struct io_req *r, struct env *e, enum bs_op op,
		    uint32_t flags, uint64_t off, uint64_t len, void *buf,
		    size_t buf_len, bool split)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	r->reactor = pthread_self();
	r->stop_when_done = true;
	r->req.op = op;
	r->req.flags = flags;
	r->req.offset_bytes = off;
	r->req.length_bytes = len;
	r->req.done = io_done;
	r->req.iov = r->iov;
	if (buf && split) {
		r->iov[0] = (struct iovec){buf, buf_len / 2};
		r->iov[1] = (struct iovec){(uint8_t *)buf + buf_len / 2,
					   buf_len - buf_len / 2};
		r->req.iovcnt = 2;
	} else if (buf) {
		r->iov[0] = (struct iovec){buf, buf_len};
		r->req.iovcnt = 1;
	}
}

/* Submit (straight to the implementation: some requests break
 * bs_submit's contract on purpose) and run until the completion. */
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

	io_prep(&r, e, op, flags, off, len, buf, buf ? len : 0, true);
	return io_run(e, d, &r);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* -------------------------------------------------------- opening */

static bool conf_is(const char *key, const char *value)
{
	struct fake_rbd_stats *s = F.stats();

	for (int i = 0; i < s->nconf; i++)
		if (!strcmp(s->conf[i][0], key))
			return !strcmp(s->conf[i][1], value);
	return false;
}

/* The client, its configuration, the pool and image; every wait on the
 * cluster bounded by timeout=; data through each librbd call. */
static void rbd_open_configures_the_client_and_serves_data(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t *w = malloc(16 * 512), *r = malloc(16 * 512);
	uint8_t *img;
	struct bs_dev *d;
	int writes;

	(void)state;
	F.reset(8 * MIB, 4 * MIB);
	s = F.stats();
	p.conf = "/etc/ceph/test.conf";
	p.client_id = "iscsi";
	p.timeout_s = 7;
	assert_int_equal(rbd_open(e, &p, &d), 0);
	assert_non_null(d);
	assert_int_equal(d->kind, BS_RBD);
	assert_int_equal(d->size_bytes, 8 * MIB);
	assert_int_equal(d->block_size, 512);
	assert_true(d->thin); /* discards read back as zeros */
	assert_false(d->write_cache);
	assert_int_equal(d->caps, BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE);
	assert_string_equal(s->user, "client.iscsi");
	assert_string_equal(s->conf_file, "/etc/ceph/test.conf");
	assert_string_equal(s->pool, "pool1");
	assert_string_equal(s->image, "img1");
	assert_int_equal(s->opens, 1);
	assert_int_equal(s->opens_ro, 0);
	assert_true(conf_is("client_mount_timeout", "7"));
	assert_true(conf_is("rados_mon_op_timeout", "7"));
	assert_true(conf_is("rados_osd_op_timeout", "7"));
	assert_true(conf_is("rbd_non_blocking_aio", "true"));
	assert_true(conf_is("rbd_skip_partial_discard", "false"));
	assert_true(conf_is("rbd_cache", "false"));
	assert_true(conf_is("rbd_cache_writethrough_until_flush", "false"));
	assert_int_equal(s->watches, 1);
	expect_log("lun0: connected as client.iscsi, address "
		   "127.0.0.1:0/4242");
	assert_int_equal(s->addrs_freed, 1);
	expect_log("lun0: rbd pool1/img1, 8388608 bytes in 512-byte blocks, "
		   "4194304-byte objects, timeout 7 s");

	/* WRITE and READ through rbd_aio_writev/readv, two iovecs each */
	fill(w, 16 * 512, 3);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 64 * 512, 16 * 512, w),
			 0);
	img = F.mem();
	assert_memory_equal(img + 64 * 512, w, 16 * 512);
	memset(r, 0, 16 * 512);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 64 * 512, 16 * 512, r),
			 0);
	assert_memory_equal(r, w, 16 * 512);
	assert_int_equal(s->writev, 1);
	assert_int_equal(s->readv, 1);
	/* FUA without the writeback cache: durable when librbd completes,
	 * no flush */
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, 16 * 512, w),
			 0);
	assert_int_equal(s->flush, 0);
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	assert_int_equal(s->flush, 1);
	/* UNMAP and WRITE ZEROES: zeros where the data was */
	assert_int_equal(io_sync(e, d, BS_OP_UNMAP, 0, 64 * 512, 8 * 512, NULL),
			 0);
	assert_int_equal(s->discard, 1);
	assert_true(img[64 * 512] == 0 && img[72 * 512 - 1] == 0);
	assert_int_equal(img[72 * 512], w[8 * 512]);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE_ZEROES, 0, 72 * 512, 8 * 512,
				 NULL),
			 0);
	assert_int_equal(s->write_zeroes, 1);
	assert_int_equal(img[72 * 512], 0);
	/* WRITE SAME: one block over the range, in one librbd request */
	{
		struct io_req q;

		fill(w, 512, 90);
		io_prep(&q, e, BS_OP_WRITE_SAME, 0, 4 * MIB, 8 * 512, w, 512,
			false);
		assert_int_equal(io_run(e, d, &q), 0);
		assert_int_equal(s->writesame, 1);
		for (int i = 0; i < 8; i++)
			assert_memory_equal(img + 4 * MIB + i * 512, w, 512);
	}
	/* nothing to do: success without librbd */
	writes = s->writev;
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 0, NULL), 0);
	assert_int_equal(s->writev, writes);

	bs_close(d);
	assert_int_equal(s->closes, 1);
	assert_int_equal(s->unwatches, 1);
	expect_library_clean();
	free(w);
	free(r);
	env_real_free(e);
}

/* Without name, conf, id, timeout or block size: the path names the
 * device, client.admin, librados' own search, 30 s, 512-byte blocks;
 * stat answering no object size: 4 MiB. */
static void rbd_open_defaults(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = {.kind = BS_RBD, .path = "rbd/vm1"};
	struct fake_rbd_stats *s;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rbd_open(e, &p, &d), 0);
	assert_string_equal(s->user, "client.admin");
	assert_string_equal(s->conf_file, ""); /* NULL: the default search */
	assert_true(conf_is("rados_osd_op_timeout", "30"));
	assert_int_equal(d->block_size, 512);
	expect_log("rbd/vm1: rbd rbd/vm1, 1048576 bytes in 512-byte blocks, "
		   "4194304-byte objects, timeout 30 s");
	bs_close(d);
	/* an empty client id is no id */
	F.reset(MIB, 0);
	p.client_id = "";
	p.block_size = 4096;
	assert_int_equal(rbd_open(e, &p, &d), 0);
	assert_string_equal(s->user, "client.admin");
	assert_int_equal(d->block_size, 4096);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* ro: rbd_open_read_only, and writes refused with -EROFS before librbd;
 * an image size not a multiple of the block size is cut down. */
static void rbd_read_only_opens_read_only_and_refuses_writes(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[1024];
	struct bs_dev *d;
	static const enum bs_op writes[] = {BS_OP_WRITE, BS_OP_UNMAP,
					    BS_OP_WRITE_ZEROES};

	(void)state;
	F.reset(MIB + 100, 0);
	s = F.stats();
	p.read_only = true;
	assert_int_equal(rbd_open(e, &p, &d), 0);
	assert_int_equal(s->opens_ro, 1);
	assert_int_equal(s->opens, 0);
	assert_true(d->read_only);
	assert_int_equal(d->size_bytes, MIB);
	expect_log(", read-only");
	for (size_t i = 0; i < sizeof(writes) / sizeof(*writes); i++)
		assert_int_equal(io_sync(e, d, writes[i], 0, 0, sizeof(buf),
					 writes[i] == BS_OP_WRITE ? buf : NULL),
				 -EROFS);
	assert_int_equal(s->aio_created, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, sizeof(buf), buf), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* cache: librbd's writeback cache on, WCE reported, and a FUA write
 * followed by rbd_aio_flush; a failing write is not flushed, a failing
 * flush fails the write. */
static void rbd_cache_flushes_after_fua_writes(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[4096];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	p.cache = true;
	assert_int_equal(rbd_open(e, &p, &d), 0);
	assert_true(d->write_cache);
	assert_true(conf_is("rbd_cache", "true"));
	expect_log(", writeback cache");
	fill(buf, sizeof(buf), 1);
	assert_int_equal(
		io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf), buf), 0);
	assert_int_equal(s->writev, 1);
	assert_int_equal(s->flush, 1);
	/* not after a read, not without FUA */
	assert_int_equal(
		io_sync(e, d, BS_OP_READ, BS_F_FUA, 0, sizeof(buf), buf), 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, sizeof(buf), buf), 0);
	assert_int_equal(s->flush, 1);
	/* FUA on a flush: the flush once */
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, BS_F_FUA, 0, 0, NULL), 0);
	assert_int_equal(s->flush, 2);
	/* the write fails: no flush, its error */
	F.result(-EIO, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf),
				 buf),
			 -EIO);
	assert_int_equal(s->flush, 2);
	/* the write lands, the flush fails: the request fails */
	F.fail_call(FR_AIO_SUBMIT, -ETIMEDOUT, 1, 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf),
				 buf),
			 -ETIMEDOUT);
	assert_int_equal(s->writev, 4);
	/* FUA on a WRITE SAME: flushed too */
	{
		struct io_req q;
		int flushes = s->flush;

		io_prep(&q, e, BS_OP_WRITE_SAME, BS_F_FUA, 0, 4096, buf, 512,
			false);
		assert_int_equal(io_run(e, d, &q), 0);
		assert_int_equal(s->flush, flushes + 1);
	}
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* rbd:POOL/IMAGE only: one slash, both parts, each within its bound. */
static void rbd_path_that_is_not_pool_slash_image_is_refused(void **state)
{
	char long_pool[200], long_image[300];
	const struct {
		const char *path;
		int rc;
	} cases[] = {
		{NULL, -EINVAL},
		{"pool", -EINVAL},
		{"/image", -EINVAL},
		{"pool/", -EINVAL},
		{"a/b/c", -EINVAL},
		{long_pool, -ENAMETOOLONG},
		{long_image, -ENAMETOOLONG},
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	F.reset(MIB, 0);
	memset(long_pool, 'p', 128);
	strcpy(long_pool + 128, "/img");
	strcpy(long_image, "pool/");
	memset(long_image + 5, 'i', 256);
	long_image[5 + 256] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bs_dev_params p = {.kind = BS_RBD,
					  .path = cases[i].path};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(rbd_open(e, &p, &d), cases[i].rc);
		assert_null(d);
		/* no name: the path names it, or with no path either "rbd" */
		expect_log(cases[i].path ? "' is not POOL/IMAGE"
					 : "rbd: '' is not POOL/IMAGE");
	}
	assert_int_equal(F.stats()->creates, 0);
	env_real_free(e);
}

/* Each step of connecting that fails stops the open with its error,
 * named in the log with the configuration, and leaves nothing behind. */
static void rbd_open_failing_at_each_step_says_which(void **state)
{
	static const struct {
		enum fake_rbd_fn fn;
		int rc;
		const char *what;
	} cases[] = {
		{FR_CREATE2, -ENOMEM, "cannot create a cluster handle"},
		{FR_CONF_READ_FILE, -ENOENT, "cannot read the configuration"},
		{FR_CONNECT, -ETIMEDOUT, "cannot connect to the cluster"},
		{FR_IOCTX_CREATE, -ENOENT, "cannot open the pool"},
		{FR_OPEN, -ENOENT, "cannot open the image"},
		{FR_STAT, -EIO, "lun0: rbd pool1/img1: Input/output error"},
		{FR_GET_SIZE, -EACCES, "lun0: rbd pool1/img1: Permission"},
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (int ro = 0; ro < 2; ro++) {
			struct bs_dev_params p = rbd_params();
			struct bs_dev *d;

			F.reset(MIB, 0);
			F.fail_call(cases[i].fn, cases[i].rc, 0, 1);
			log_clear();
			p.read_only = ro;
			p.conf = ro ? "/c.conf" : NULL;
			assert_int_equal(rbd_open(e, &p, &d), cases[i].rc);
			assert_null(d);
			expect_log(cases[i].what);
			if (cases[i].fn < FR_STAT)
				expect_log(ro ? "(conf /c.conf, client.admin, "
						"timeout 30 s)"
					      : "(conf default, client.admin, "
						"timeout 30 s)");
			expect_library_clean();
		}
	}
	env_real_free(e);
}

/* Each configuration key librados refuses stops the open (-EINVAL),
 * naming the key and value. */
static void rbd_open_refused_configuration_names_the_key(void **state)
{
	static const char *const keys[] = {
		"client_mount_timeout",
		"rados_mon_op_timeout",
		"rados_osd_op_timeout",
		"rbd_non_blocking_aio",
		"rbd_skip_partial_discard",
		"rbd_cache",
		"rbd_cache_writethrough_until_flush",
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		struct bs_dev_params p = rbd_params();
		struct fake_rbd_stats *s;
		char want[128];
		struct bs_dev *d;

		F.reset(MIB, 0);
		s = F.stats();
		F.fail_conf(keys[i], -ENOENT);
		log_clear();
		assert_int_equal(rbd_open(e, &p, &d), -EINVAL);
		assert_null(d);
		snprintf(want, sizeof(want), "lun0: cannot set %s=", keys[i]);
		expect_log(want);
		expect_log("cannot configure the client");
		/* the keys after it were not tried */
		assert_int_equal(s->nconf, (int)i + 1);
		assert_int_equal(s->connects, 0);
		expect_library_clean();
	}
	env_real_free(e);
}

/* An image smaller than one block is refused; no address, or no update
 * watch, is not a reason to refuse (resizes are then not followed). */
static void rbd_open_edge_cases(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	struct bs_dev *d;

	(void)state;
	F.reset(511, 0);
	assert_int_equal(rbd_open(e, &p, &d), -EINVAL);
	assert_null(d);
	expect_log("lun0: rbd pool1/img1: image smaller than one block");
	expect_library_clean();
	/* rados_getaddrs failing, or answering nothing: no address line */
	for (int i = 0; i < 2; i++) {
		F.reset(MIB, 0);
		s = F.stats();
		if (i == 0)
			F.fail_call(FR_GETADDRS, -EINVAL, 0, 1);
		else
			F.no_addrs(true);
		log_clear();
		assert_int_equal(rbd_open(e, &p, &d), 0);
		assert_false(log_has("connected as"));
		assert_int_equal(s->addrs_freed, 0);
		bs_close(d);
		expect_library_clean();
		F.no_addrs(false);
	}
	/* no update watch */
	F.reset(MIB, 0);
	s = F.stats();
	F.fail_call(FR_UPDATE_WATCH, -EOPNOTSUPP, 0, 1);
	log_clear();
	assert_int_equal(rbd_open(e, &p, &d), 0);
	expect_log("lun0: no update watch (Operation not supported): "
		   "resizes are not followed");
	assert_false(F.fire_watch());
	bs_close(d);
	assert_int_equal(s->unwatches, 0);
	expect_library_clean();
	env_real_free(e);
}

/* ------------------------------------------------------- requests */

/* What the backstore refuses itself, before librbd: each completes
 * later on the reactor, with no librbd completion made. */
static void rbd_requests_refused_before_librbd(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t *buf = calloc(1, 64 * 512);
	struct io_req r;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rbd_open(e, &p, &d), 0);
	/* an operation that does not exist */
	io_prep(&r, e, (enum bs_op)7, 0, 0, 512, buf, 512, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* not whole blocks; past the end */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 100, 512, buf), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 700, buf), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, MIB + 512, 512, buf),
			 -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, MIB - 512, 1024, buf),
			 -EINVAL);
	/* buffers shorter than the request */
	io_prep(&r, e, BS_OP_READ, 0, 0, 2048, buf, 1024, true);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* more pieces than librbd is given at once */
	io_prep(&r, e, BS_OP_WRITE, 0, 0, 17 * 512, buf, 0, false);
	for (int i = 0; i < 17; i++)
		r.iov[i] = (struct iovec){buf + i * 512, 512};
	r.req.iovcnt = 17;
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* ... but 16 are, and longer buffers are cut to the request */
	r.req.iovcnt = 16;
	r.req.length_bytes = 15 * 512;
	r.done_calls = 0;
	assert_int_equal(io_run(e, d, &r), 0);
	/* WRITE SAME: one block of data, exactly */
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 4096, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 4096, NULL, 0, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* COMPARE AND WRITE: both halves needed */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 512, buf, 512, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 512, NULL, 0, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* ... and within one 512-byte sector, which librbd can do: beyond,
	 * the SCSI layer emulates it */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 1024, buf, 2048, false);
	assert_int_equal(io_run(e, d, &r), -EOPNOTSUPP);
	assert_int_equal(s->aio_created, 1); /* the 16-piece write only */
	expect_log("lun0: op 1 at 0+8704: Invalid argument");
	bs_close(d);
	expect_library_clean();
	free(buf);
	env_real_free(e);
}

/* librbd refusing a request or failing it: the error is the request's;
 * the completion made for it is released either way. */
static void rbd_librbd_errors_reach_the_request(void **state)
{
	static const int results[] = {-ETIMEDOUT, -ENOSPC, -EDQUOT, -EIO,
				      -EROFS};
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[4096];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rbd_open(e, &p, &d), 0);
	F.fail_call(FR_AIO_CREATE, -ENOMEM, 0, 1);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), -ENOMEM);
	assert_int_equal(s->aio_created, 0);
	F.fail_call(FR_AIO_SUBMIT, -EINVAL, 0, 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf), -EINVAL);
	assert_int_equal(s->aio_created, 1);
	assert_int_equal(s->aio_released, 1);
	for (size_t i = 0; i < sizeof(results) / sizeof(*results); i++) {
		F.result(results[i], 1, 0);
		assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf),
				 results[i]);
	}
	/* -EILSEQ on a WRITE is its error, not a miscompare */
	{
		struct io_req r;

		F.result(-EILSEQ, 1, 0);
		io_prep(&r, e, BS_OP_WRITE, 0, 0, 4096, buf, 4096, false);
		r.req.miscompare_bytes = 77;
		assert_int_equal(io_run(e, d, &r), -EILSEQ);
		assert_int_equal(r.req.miscompare_bytes, 77);
	}
	/* still serving */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* COMPARE AND WRITE within one sector goes to librbd: equal, the write
 * half lands; different, -EILSEQ with the offset of the first differing
 * byte from the request's start (0 when librbd names one before it). */
static void rbd_compare_and_write_in_one_sector(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[1024];
	struct io_req r;
	struct bs_dev *d;
	uint8_t *img;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	img = F.mem();
	assert_int_equal(rbd_open(e, &p, &d), 0);
	fill(img + 4096, 512, 5);
	memcpy(buf, img + 4096, 512);
	fill(buf + 512, 512, 77);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), 0);
	assert_memory_equal(img + 4096, buf + 512, 512);
	assert_int_equal(s->caw, 1);
	/* now the medium holds the write half: compare the old data again */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 0);
	buf[300] = img[4096 + 300] ^ 0xff;
	memcpy(buf, img + 4096, 300);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 300);
	/* librbd naming an offset before the request's start */
	F.result(-EILSEQ, 1, 100);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* Submitted on the reactor (from a callback) rather than from outside
 * the loop: the completion comes back to the same reactor. */
struct on_loop {
	struct env *e;
	struct bs_dev *d;
	struct io_req r;
	uint8_t buf[512];
};

static void submit_on_loop(void *arg)
{
	struct on_loop *o = arg;

	io_prep(&o->r, o->e, BS_OP_READ, 0, 0, 512, o->buf, 512, false);
	o->d->ops->submit(o->d, &o->r.req);
}

static void rbd_request_submitted_on_the_reactor(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct on_loop o = {.e = e};
	struct env_timer *t;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rbd_open(e, &p, &o.d), 0);
	t = env_timer_new(e, submit_on_loop, &o);
	env_timer_arm(e, t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(o.r.done_calls, 1);
	assert_int_equal(o.r.status, 0);
	assert_true(o.r.on_reactor);
	assert_int_equal(er_reactor_of(e)->remote_inflight, 0);
	env_timer_free(e, t);
	bs_close(o.d);
	expect_library_clean();
	env_real_free(e);
}

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
	assert_int_equal(rbd_open(e, &p, &g->d), 0);
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
	assert_int_equal(rbd_open(e, &p, &d), 0);
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
	assert_int_equal(rbd_open(e, &p, &d), 0);
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
	assert_int_equal(rbd_open(e, &p, &d), 0);
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

/* Closed (at exit, the reactors stopped) with a request still in
 * librbd's hands: said in the log; librbd's completion, sent to the
 * reactor, is taken back: the request's done never runs. */
static void rbd_close_with_requests_in_flight(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	uint8_t b[512];
	struct io_req r;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rbd_open(e, &p, &d), 0);
	F.hold(true);
	io_prep(&r, e, BS_OP_READ, 0, 0, 512, b, 512, false);
	d->ops->submit(d, &r.req);
	assert_int_equal(F.pending(), 1);
	bs_close(d); /* rbd_close completes it first, as librbd does */
	F.hold(false);
	expect_log("lun0: closed with 1 requests in flight");
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
		assert_int_equal(rbd_open(e, &p, &c.d), 0);
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

/* ------------------------------------------------ loading librbd */

/* The child's side (main with --open-with LIB): in a process of its own,
 * since librbd is loaded once per process, open an rbd LUN with LIB as
 * librbd and print the result and the log. */
static int child_open_with(const char *lib)
{
	struct env_real_opts o = {.log_level = UT_LOG_WARN,
				  .disable_uring = true};
	struct bs_dev_params p = rbd_params();
	struct bs_dev *d = NULL;
	struct env *e;
	int rc;

	setenv("UTARGET_LIBRBD", lib, 1);
	e = env_real_new(&o);
	if (!e)
		return 2;
	cap_ops = *e->ops;
	cap_ops.log = cap_log;
	e->ops = &cap_ops;
	rc = e->ops->disk_open(e, &p, &d);
	printf("rc %d\n%s", rc, log_buf);
	bs_close(d);
	env_real_free(e);
	return 0;
}

/* Run this binary with --open-with lib; its output in out. */
static void open_in_child(const char *lib, char *out, size_t cap)
{
	char exe[512], cmd[1400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len = 0;
	FILE *f;

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' --open-with '%s'", exe, lib);
	out[0] = '\0';
	f = popen(cmd, "r");
	assert_non_null(f);
	while (len + 1 < cap && fgets(out + len, (int)(cap - len), f))
		len = strlen(out);
	assert_int_equal(pclose(f), 0);
}

/* No librbd: the LUN is refused (-ENOSYS), saying what to install; a
 * librbd without one of the calls we use: refused, naming it. */
static void rbd_librbd_missing_or_too_old_is_refused(void **state)
{
	static const char *const calls[] = {
#define CALL_NAME(f) #f,
		FAKE_RBD_CALLS(CALL_NAME)
#undef CALL_NAME
	};
	char out[4096], lib[700], want[800];
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	open_in_child("/nonexistent/librbd.so.1", out, sizeof(out));
	if (!strstr(out, "rc -38\n") ||
	    !strstr(out, "lun0: cannot load librbd (apt-get install "
			 "librbd1): /nonexistent/librbd.so.1: cannot open"))
		fail_msg("without librbd: %s", out);
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		snprintf(lib, sizeof(lib), "%s/rbd/no-%s.so", exe, calls[i]);
		open_in_child(lib, out, sizeof(out));
		snprintf(want, sizeof(want),
			 "lun0: %s has no %s (librbd too old?)", lib, calls[i]);
		if (!strstr(out, "rc -38\n") || !strstr(out, want))
			fail_msg("librbd without %s: %s", calls[i], out);
	}
	/* the fake whole: it opens */
	snprintf(lib, sizeof(lib), "%s/rbd/librbd_fake.so", exe);
	open_in_child(lib, out, sizeof(out));
	if (!strstr(out, "rc 0\n"))
		fail_msg("with the whole fake: %s", out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rbd_librbd_missing_or_too_old_is_refused),
		cmocka_unit_test(
			rbd_open_configures_the_client_and_serves_data),
		cmocka_unit_test(rbd_open_defaults),
		cmocka_unit_test(
			rbd_read_only_opens_read_only_and_refuses_writes),
		cmocka_unit_test(rbd_cache_flushes_after_fua_writes),
		cmocka_unit_test(
			rbd_path_that_is_not_pool_slash_image_is_refused),
		cmocka_unit_test(rbd_open_failing_at_each_step_says_which),
		cmocka_unit_test(rbd_open_refused_configuration_names_the_key),
		cmocka_unit_test(rbd_open_edge_cases),
		cmocka_unit_test(rbd_requests_refused_before_librbd),
		cmocka_unit_test(rbd_librbd_errors_reach_the_request),
		cmocka_unit_test(rbd_compare_and_write_in_one_sector),
		cmocka_unit_test(rbd_request_submitted_on_the_reactor),
		cmocka_unit_test(rbd_cluster_errors_as_sense_data),
		cmocka_unit_test(rbd_ats_miscompare_as_sense_data),
		cmocka_unit_test(rbd_resize_reaches_the_host),
		cmocka_unit_test(rbd_fenced_client_connects_again),
		cmocka_unit_test(rbd_two_fenced_requests_then_connected_again),
		cmocka_unit_test(rbd_closed_while_connecting_again),
		cmocka_unit_test(rbd_close_with_requests_in_flight),
		cmocka_unit_test(rbd_close_on_the_reactor_releases_off_it),
		cmocka_unit_test(rbd_open_async_copies_its_parameters),
	};

	if (argc == 3 && !strcmp(argv[1], "--open-with"))
		return child_open_with(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
