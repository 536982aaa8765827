/*
 * rbd_rig.h — what the RBD backstore's tests (test_env_real_rbd.c,
 * test_env_real_rbd_host.c) share: the fake librbd loaded in librbd's
 * place (UTARGET_LIBRBD) and its knobs, the log captured, an environment,
 * and requests run through the backstore.  One test binary includes it
 * once (static state).
 */
#ifndef UT_TEST_RBD_RIG_H
#define UT_TEST_RBD_RIG_H

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "env_real/disk_rbd.h"
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
static inline void use_fake_librbd(void)
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
static inline void expect_library_clean(void)
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

#include "log_capture.h"

/* A real environment whose log lines the test reads (level: the lines
 * kept; LOG_* below it are not even formatted). */
static inline struct env *rbd_env(enum ut_log_level level)
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
static inline bool wait_for_log(struct env *e, const char *s, unsigned int ms)
{
	for (unsigned int t = 0; t < ms && !log_has(s); t += 10)
		run_for_ms(e, 10);
	return log_has(s);
}

/* ------------------------------------------------------- requests */

static inline struct bs_dev_params rbd_params(void)
{
	return (struct bs_dev_params){
		.kind = BS_RBD,
		.name = "lun0",
		.path = "pool1/img1",
		.block_size = 512,
	};
}

static inline int rig_rbd_open(struct env *e, const struct bs_dev_params *p,
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

static inline void io_done(struct bs_req *req, int status)
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
static inline void io_prep(struct io_req *r, struct env *e, enum bs_op op,
			   uint32_t flags, uint64_t off, uint64_t len,
			   void *buf, size_t buf_len, bool split)
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
static inline int io_run(struct env *e, struct bs_dev *d, struct io_req *r)
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

static inline int io_sync(struct env *e, struct bs_dev *d, enum bs_op op,
			  uint32_t flags, uint64_t off, uint64_t len, void *buf)
{
	struct io_req r;

	io_prep(&r, e, op, flags, off, len, buf, buf ? len : 0, true);
	return io_run(e, d, &r);
}

static inline void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

#endif
