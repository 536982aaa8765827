/*
 * disk_io_rig.h — requests to a backstore of the real environment, as
 * the file backstore's tests make them (test_env_real_disk.c, and the
 * fault tests through diskfaults_rig.h): submitted straight to the
 * device, run until complete, with a check that no completion comes
 * inside the submit call (backstore.h's completion rule); and the data
 * patterns they write and check.
 */
#ifndef UT_TEST_DISK_IO_RIG_H
#define UT_TEST_DISK_IO_RIG_H

#include "env_real_rig.h"

struct io_ctx {
	struct env *e;
	int pending;
	bool in_submit;
	bool completed_inside_submit;
};

struct io_req {
	struct bs_req req;
	struct io_ctx *ctx;
	int status;
	bool done;
	struct iovec iov[4];
};

static inline void io_done(struct bs_req *req, int status)
{
	struct io_req *r = (struct io_req *)req;

	if (r->ctx->in_submit)
		r->ctx->completed_inside_submit = true;
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
		/* split into two iovecs to exercise gathering */
		r->iov[0].iov_base = buf;
		r->iov[0].iov_len = len / 2;
		r->iov[1].iov_base = (char *)buf + len / 2;
		r->iov[1].iov_len = len - len / 2;
		r->req.iov = r->iov;
		r->req.iovcnt = 2;
	}
	c->pending++;
	c->in_submit = true;
	/* Straight to the implementation, not bs_submit(): some requests
	 * here break the caller's contract on purpose (misaligned, past
	 * the end), which bs_submit() asserts, to check that the file
	 * backstore still refuses them. */
	d->ops->submit(d, &r->req);
	c->in_submit = false;
}

/* Submit one request and run until it completes; returns its status. */
static inline int io_sync(struct io_ctx *c, struct bs_dev *d, enum bs_op op,
			  uint32_t flags, uint64_t off, uint64_t len, void *buf)
{
	struct io_req r;

	io_submit(c, d, &r, op, flags, off, len, buf);
	assert_false(r.done); /* never inside bs_submit */
	run_bounded(c->e);
	assert_true(r.done);
	assert_false(c->completed_inside_submit);
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

#endif
