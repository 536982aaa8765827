/*
 * null.c — the null backstore: reads return zeros, writes are discarded,
 * every request completes synchronously with success.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"

/* Zero-copy reads (bs_null_refs(), the daemon's --zero-copy on): a READ
 * of NULL_REF_MIN_BYTES up to NULL_REF_MAX_BYTES asked for by reference
 * is answered with one into null_zeros, which nothing ever writes (its
 * pages stay the kernel's zero page), and marked as zeros (ENV_FD_ZEROS)
 * for an environment that sends them from a file of its own. */
#define NULL_REF_MIN_BYTES (64u * 1024u)
#define NULL_REF_MAX_BYTES (1024u * 1024u)

static uint8_t null_zeros[NULL_REF_MAX_BYTES];
/* References made and not yet released, every null disk of the process
 * (bs_null_refs_out: a leak check's, the simulator's) */
static uint64_t null_refs_out;

struct null_dev {
	struct bs_dev dev; /* first: null_close frees it */
	bool refs_on;
};

static void null_ref_release(struct bs_ref *ref)
{
	/* released once: counted when made */
	ut_assert(__atomic_load_n(&null_refs_out, __ATOMIC_RELAXED) > 0);
	__atomic_sub_fetch(&null_refs_out, 1, __ATOMIC_RELAXED);
	free(ref);
}

uint64_t bs_null_refs_out(void)
{
	return __atomic_load_n(&null_refs_out, __ATOMIC_RELAXED);
}

static bool null_read_ref(struct null_dev *n, struct bs_req *req)
{
	struct bs_ref *ref;

	ut_assert(req->op == BS_OP_READ && req->ref == NULL);
	if (!n->refs_on || !(req->flags & BS_F_MAY_REF) ||
	    req->length_bytes < NULL_REF_MIN_BYTES ||
	    req->length_bytes > NULL_REF_MAX_BYTES)
		return false;
	ref = malloc(sizeof(*ref));
	if (!ref)
		return false; /* the copying path needs no memory */
	ref->mem = null_zeros;
	ref->length_bytes = req->length_bytes;
	ref->release = null_ref_release;
	ref->fd = ENV_FD_ZEROS;
	ref->fd_off = 0;
	ref->live = false; /* zeros, never written */
	__atomic_add_fetch(&null_refs_out, 1, __ATOMIC_RELAXED);
	req->ref = ref;
	return true;
}

static void null_submit(struct bs_dev *dev, struct bs_req *req)
{
	int status = 0;

	ut_assert(dev->kind == BS_NULL);
	ut_assert(dev->size_bytes % dev->block_size == 0);
	if (req->op != BS_OP_FLUSH &&
	    (req->offset_bytes > dev->size_bytes ||
	     req->length_bytes > dev->size_bytes - req->offset_bytes)) {
		status = -EINVAL;
	} else if (req->op == BS_OP_READ) {
		if (null_read_ref((struct null_dev *)dev, req))
			goto out;
		for (int i = 0; i < req->iovcnt; i++)
			memset(req->iov[i].iov_base, 0, req->iov[i].iov_len);
	} else if (req->op != BS_OP_FLUSH && dev->read_only) {
		status = -EROFS;
	}
out:
	req->done(req, status);
}

static void null_close(struct bs_dev *dev)
{
	free(dev);
}

static int null_resize(struct bs_dev *dev, uint64_t size_bytes)
{
	if (size_bytes == 0 || size_bytes % dev->block_size)
		return -EINVAL;
	ut_assert(dev->kind == BS_NULL);
	dev->size_bytes = size_bytes;
	ut_assert(dev->size_bytes % dev->block_size == 0);
	return 0;
}

static const struct bs_ops null_ops = {
	.submit = null_submit,
	.lba_status = NULL,
	.close = null_close,
	.resize = null_resize,
};

int bs_null_open(const struct bs_dev_params *p, struct bs_dev **out)
{
	struct null_dev *n;
	struct bs_dev *dev;
	uint32_t bs = p->block_size ? p->block_size : 512;

	*out = NULL;
	if (bs != 512 && bs != 4096)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	dev = &n->dev;
	dev->ops = &null_ops;
	dev->kind = BS_NULL;
	dev->block_size = bs;
	dev->size_bytes = p->size_bytes / bs * bs;
	dev->read_only = p->read_only;
	dev->thin = false;
	dev->write_cache = true;
	ut_assert(dev->size_bytes % bs == 0 &&
		  dev->size_bytes <= p->size_bytes);
	*out = dev;
	return 0;
}

void bs_null_refs(struct bs_dev *dev, bool on)
{
	ut_assert(dev->kind == BS_NULL);
	((struct null_dev *)dev)->refs_on = on;
}
