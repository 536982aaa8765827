/*
 * null.c — the null backstore: reads return zeros, writes are discarded,
 * every request completes synchronously with success.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"

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
		for (int i = 0; i < req->iovcnt; i++)
			memset(req->iov[i].iov_base, 0, req->iov[i].iov_len);
	} else if (req->op != BS_OP_FLUSH && dev->read_only) {
		status = -EROFS;
	}
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
	struct bs_dev *dev;
	uint32_t bs = p->block_size ? p->block_size : 512;

	*out = NULL;
	if (bs != 512 && bs != 4096)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
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
