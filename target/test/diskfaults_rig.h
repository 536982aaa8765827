/*
 * diskfaults_rig.h — what the disk and state fault tests
 * (test_env_real_diskfaults.c, test_env_real_openfaults.c) share: an
 * environment and file backstore whose system calls fail on cue
 * (env_real_faults.h), and requests run through it.  One test binary
 * includes it once.
 */
#ifndef UT_TEST_DISKFAULTS_RIG_H
#define UT_TEST_DISKFAULTS_RIG_H

#include <errno.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "env_real_rig.h"

/* ------------------------------------------------------------ rig */

struct io_ctx {
	struct env *e;
	int pending;
};

struct io_req {
	struct bs_req req;
	struct io_ctx *ctx;
	int status;
	bool done;
	struct iovec iov[2];
};

static inline void io_done(struct bs_req *req, int status)
{
	struct io_req *r = (struct io_req *)req;

	r->status = status;
	r->done = true;
	if (--r->ctx->pending == 0)
		env_real_stop(r->ctx->e);
}

static inline void io_submit(struct io_ctx *c, struct bs_dev *d,
			     struct io_req *r, enum bs_op op, uint32_t flags,
			     uint64_t off, uint64_t len, void *buf)
{
	memset(r, 0, sizeof(*r));
	r->ctx = c;
	r->req.op = op;
	r->req.flags = flags;
	r->req.offset_bytes = off;
	r->req.length_bytes = len;
	r->req.done = io_done;
	if (buf) {
		r->iov[0].iov_base = buf;
		r->iov[0].iov_len = len / 2;
		r->iov[1].iov_base = (char *)buf + len / 2;
		r->iov[1].iov_len = len - len / 2;
		r->req.iov = r->iov;
		r->req.iovcnt = 2;
	}
	c->pending++;
	d->ops->submit(d, &r->req);
}

static inline int io_sync(struct io_ctx *c, struct bs_dev *d, enum bs_op op,
			  uint32_t flags, uint64_t off, uint64_t len, void *buf)
{
	struct io_req r;

	io_submit(c, d, &r, op, flags, off, len, buf);
	assert_false(r.done);
	run_bounded(c->e);
	assert_true(r.done);
	return r.status;
}

static inline void fill(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static inline bool all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

struct dt {
	char *dir;
	char path[512];
	struct env *e;
	struct io_ctx c;
	struct bs_dev *d;
	uint8_t *w, *r;
	int fds;
};

#define DT_SIZE (4u << 20)
#define DT_BUF (256u * 1024u)

/* A 4 MiB file LU (thin or not) on a new environment, with the rules
 * armed so far kept (they may be for the set-up itself); log level WARN
 * unless o says more. */
static inline void dt_setup_armed(struct dt *t, struct env_real_opts o,
				  bool thin)
{
	t->fds = sf_open_fds();
	t->dir = make_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/lun.img", t->dir);
	if (o.log_level < UT_LOG_WARN)
		o.log_level = UT_LOG_WARN;
	t->e = env_real_new(&o);
	assert_non_null(t->e);
	t->c = (struct io_ctx){.e = t->e};
	t->d = open_file(t->e, t->path, DT_SIZE, true, thin, false);
	t->w = malloc(DT_BUF);
	t->r = malloc(DT_BUF);
	assert_non_null(t->w);
	assert_non_null(t->r);
}

static inline void dt_setup(struct dt *t, struct env_real_opts o, bool thin)
{
	sf_clear();
	dt_setup_armed(t, o, thin);
}

static inline void dt_teardown(struct dt *t)
{
	sf_clear();
	if (t->d)
		bs_close(t->d);
	env_real_free(t->e);
	remove_tmpdir(t->dir);
	free(t->w);
	free(t->r);
	assert_int_equal(sf_open_fds(), t->fds);
}

static inline int dt_io(struct dt *t, enum bs_op op, uint32_t flags,
			uint64_t off, uint64_t len, void *buf)
{
	return io_sync(&t->c, t->d, op, flags, off, len, buf);
}

/* Write a pattern, then a faulted read of it must still return it. */
static inline void dt_pattern(struct dt *t, uint64_t off, uint64_t len,
			      uint8_t seed)
{
	fill(t->w, len, seed);
	assert_int_equal(dt_io(t, BS_OP_WRITE, 0, off, len, t->w), 0);
}

#endif
