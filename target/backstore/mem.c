/*
 * mem.c — a RAM disk, sparse in 1 MiB chunks.
 *
 * The chunk table (one pointer per MiB of capacity) is allocated at open;
 * a chunk is allocated on the first write that puts a non-zero byte in it,
 * so a 1 GiB disk costs 8 KiB until it is written.  Unallocated chunks
 * read as zeros.  UNMAP and WRITE ZEROES free the chunks they cover
 * entirely and zero the covered part of the others.  Every request
 * completes synchronously (backstore.h allows it).
 *
 * Sessions on several reactors share the disk: a request runs under the
 * disk's mutex (from bs_open's environment), so that no read copies out of
 * a chunk that an UNMAP frees.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "env.h"

#define MEM_CHUNK_BYTES (1u << 20)

struct mem_disk {
	uint8_t **chunks;
	uint64_t nchunks;
	uint64_t allocated; /* chunks currently allocated */
	struct env *env;    /* NULL, or the mutex's */
	struct env_mutex *lock;
};

/* Buffer accounting: `allocated` counts the chunks that exist, all of
 * them inside the table (walks the table: for ut_assert_slow). */
static bool mem_accounting_ok(const struct mem_disk *m)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < m->nchunks; i++)
		n += m->chunks[i] != NULL;
	return n == m->allocated;
}

/* The table covers the capacity, one chunk per MiB, no more. */
static bool mem_table_ok(const struct bs_dev *dev, const struct mem_disk *m)
{
	return m->nchunks ==
	       (dev->size_bytes + MEM_CHUNK_BYTES - 1) / MEM_CHUNK_BYTES;
}

/* A position inside a request's iovec array. */
struct iov_cur {
	const struct iovec *iov;
	int cnt;
	int i;
	size_t off;
};

/* Move n bytes between the cursor and a flat buffer: to_iov copies src
 * into the iovecs (src NULL: zeros), otherwise the iovecs into dst. */
static void cur_move(struct iov_cur *c, uint8_t *flat, const uint8_t *src,
		     size_t n, bool to_iov)
{
	while (n > 0 && c->i < c->cnt) {
		uint8_t *base = c->iov[c->i].iov_base;
		size_t room = c->iov[c->i].iov_len - c->off;
		size_t k = n < room ? n : room;

		if (to_iov) {
			if (src) {
				memcpy(base + c->off, src, k);
				src += k;
			} else {
				memset(base + c->off, 0, k);
			}
		} else {
			memcpy(flat, base + c->off, k);
			flat += k;
		}
		n -= k;
		c->off += k;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	/* mem_check() made sure the iovecs hold the whole request. */
	ut_assert(n == 0);
	ut_assert(c->i <= c->cnt);
}

static void cur_skip(struct iov_cur *c, size_t n)
{
	while (n > 0 && c->i < c->cnt) {
		size_t room = c->iov[c->i].iov_len - c->off;
		size_t k = n < room ? n : room;

		n -= k;
		c->off += k;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	ut_assert(n == 0); /* as in cur_move */
	ut_assert(c->i <= c->cnt);
}

/* Are the next n bytes zero?  The cursor does not move. */
static bool cur_is_zero(const struct iov_cur *c0, size_t n)
{
	struct iov_cur c = *c0;

	while (n > 0 && c.i < c.cnt) {
		const uint8_t *base = c.iov[c.i].iov_base;
		size_t room = c.iov[c.i].iov_len - c.off;
		size_t k = n < room ? n : room;

		for (size_t j = 0; j < k; j++) {
			if (base[c.off + j])
				return false;
		}
		n -= k;
		c.i++;
		c.off = 0;
	}
	ut_assert(n == 0); /* every byte looked at */
	return true;
}

static size_t chunk_len(const struct bs_dev *dev, uint64_t idx)
{
	uint64_t start = idx * MEM_CHUNK_BYTES;
	uint64_t left = dev->size_bytes - start;

	ut_assert(start < dev->size_bytes); /* a chunk of this disk */
	ut_assert(left > 0);
	return left < MEM_CHUNK_BYTES ? (size_t)left : MEM_CHUNK_BYTES;
}

static uint64_t iov_total(const struct bs_req *req)
{
	uint64_t t = 0;

	for (int i = 0; i < req->iovcnt; i++)
		t += req->iov[i].iov_len;
	return t;
}

/* Walk [offset, offset+len) chunk by chunk: idx, offset in chunk, bytes. */
#define FOR_EACH_PIECE(off, len, idx, in, n)                       \
	for (uint64_t pos_ = (off), end_ = (off) + (len);          \
	     pos_ < end_ &&                                        \
	     ((idx) = pos_ / MEM_CHUNK_BYTES,                      \
	     (in) = (size_t)(pos_ % MEM_CHUNK_BYTES),              \
	     (n) = (size_t)((end_ - pos_) < MEM_CHUNK_BYTES - (in) \
				    ? (end_ - pos_)                \
				    : MEM_CHUNK_BYTES - (in)),     \
	     1);                                                   \
	     pos_ += (n))

static int mem_read(struct bs_dev *dev, struct bs_req *req)
{
	struct mem_disk *m = dev->priv;
	struct iov_cur c = {req->iov, req->iovcnt, 0, 0};
	uint64_t idx;
	size_t in, n;

	ut_assert(req->op == BS_OP_READ);
	ut_assert(req->offset_bytes + req->length_bytes <= dev->size_bytes);
	FOR_EACH_PIECE (req->offset_bytes, req->length_bytes, idx, in, n) {
		const uint8_t *chunk = m->chunks[idx];

		ut_assert(idx < m->nchunks);
		cur_move(&c, NULL, chunk ? chunk + in : NULL, n, true);
	}
	return 0;
}

static int mem_write(struct bs_dev *dev, struct bs_req *req)
{
	struct mem_disk *m = dev->priv;
	struct iov_cur c = {req->iov, req->iovcnt, 0, 0};
	uint64_t idx;
	size_t in, n;

	ut_assert(req->op == BS_OP_WRITE && !dev->read_only);
	FOR_EACH_PIECE (req->offset_bytes, req->length_bytes, idx, in, n) {
		uint8_t *chunk = m->chunks[idx];

		ut_assert(idx < m->nchunks);
		if (!chunk) {
			if (cur_is_zero(&c, n)) {
				cur_skip(&c, n);
				continue;
			}
			chunk = calloc(1, chunk_len(dev, idx));
			if (!chunk)
				return -ENOSPC;
			m->chunks[idx] = chunk;
			m->allocated++;
			ut_assert(m->allocated <= m->nchunks);
		}
		cur_move(&c, chunk + in, NULL, n, false);
	}
	return 0;
}

static int mem_discard(struct bs_dev *dev, struct bs_req *req)
{
	struct mem_disk *m = dev->priv;
	uint64_t idx;
	size_t in, n;

	ut_assert(req->op == BS_OP_UNMAP || req->op == BS_OP_WRITE_ZEROES);
	FOR_EACH_PIECE (req->offset_bytes, req->length_bytes, idx, in, n) {
		ut_assert(idx < m->nchunks);
		if (!m->chunks[idx])
			continue;
		if (in == 0 && n == chunk_len(dev, idx)) {
			ut_assert(m->allocated > 0); /* pair: mem_write */
			free(m->chunks[idx]);
			m->chunks[idx] = NULL;
			m->allocated--;
		} else {
			memset(m->chunks[idx] + in, 0, n);
		}
	}
	return 0;
}

static int mem_check(const struct bs_dev *dev, const struct bs_req *req)
{
	if (req->op == BS_OP_FLUSH)
		return 0;
	if (req->offset_bytes > dev->size_bytes ||
	    req->length_bytes > dev->size_bytes - req->offset_bytes)
		return -EINVAL;
	if ((req->op == BS_OP_READ || req->op == BS_OP_WRITE) &&
	    iov_total(req) < req->length_bytes)
		return -EINVAL;
	if (req->op != BS_OP_READ && dev->read_only)
		return -EROFS;
	return 0;
}

static void mem_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct mem_disk *m = dev->priv;
	int status;

	/* The size may change (mem_resize): checked under the lock too. */
	if (m->lock)
		env_mutex_lock(m->env, m->lock);
	ut_assert(mem_table_ok(dev, m));
	status = mem_check(dev, req);
	if (status == 0) {
		switch (req->op) {
		case BS_OP_READ:
			status = mem_read(dev, req);
			break;
		case BS_OP_WRITE:
			status = mem_write(dev, req);
			break;
		case BS_OP_UNMAP:
		case BS_OP_WRITE_ZEROES:
			status = mem_discard(dev, req);
			break;
		case BS_OP_FLUSH:
			break;
		default:
			ut_unreachable("a backstore op outside enum bs_op");
		}
	}
	ut_assert(status <= 0);
	ut_assert_slow(mem_accounting_ok(m));
	if (m->lock)
		env_mutex_unlock(m->env, m->lock);
	req->done(req, status);
}

static uint64_t mem_lba_status(struct bs_dev *dev, uint64_t offset_bytes,
			       uint64_t len_bytes, bool *mapped)
{
	struct mem_disk *m = dev->priv;
	uint64_t idx = offset_bytes / MEM_CHUNK_BYTES;
	uint64_t end, pos;
	bool state;

	if (offset_bytes >= dev->size_bytes || len_bytes == 0) {
		*mapped = false;
		return 0;
	}
	if (len_bytes > dev->size_bytes - offset_bytes)
		len_bytes = dev->size_bytes - offset_bytes;
	end = offset_bytes + len_bytes;
	if (m->lock)
		env_mutex_lock(m->env, m->lock);
	ut_assert(idx < m->nchunks);
	ut_assert((end - 1) / MEM_CHUNK_BYTES < m->nchunks);
	state = m->chunks[idx] != NULL;
	pos = (idx + 1) * MEM_CHUNK_BYTES;
	while (pos < end && (m->chunks[pos / MEM_CHUNK_BYTES] != NULL) == state)
		pos += MEM_CHUNK_BYTES;
	if (m->lock)
		env_mutex_unlock(m->env, m->lock);
	*mapped = state;
	return (pos < end ? pos : end) - offset_bytes;
}

static void mem_close(struct bs_dev *dev)
{
	struct mem_disk *m = dev->priv;

	ut_assert(mem_table_ok(dev, m));
	ut_assert_slow(mem_accounting_ok(m));
	for (uint64_t i = 0; i < m->nchunks; i++)
		free(m->chunks[i]);
	free(m->chunks);
	if (m->lock)
		env_mutex_free(m->env, m->lock);
	free(m);
	free(dev);
}

int bs_mem_share(struct bs_dev *dev, struct env *env)
{
	struct mem_disk *m = dev->priv;

	ut_assert(m->lock == NULL); /* shared once */
	if (!env->ops->mutex_new)
		return 0; /* one reactor */
	m->lock = env_mutex_new(env);
	if (!m->lock)
		return -ENOMEM;
	m->env = env;
	ut_assert(m->env != NULL);
	return 0;
}

/* Grow: the chunk table grows and a partial last chunk is extended with
 * zeros.  Shrink: chunks past the end are freed and the tail of a partial
 * last chunk is zeroed, so that growing again reads zeros there. */
static int mem_resize_locked(struct bs_dev *dev, struct mem_disk *m,
			     uint64_t size)
{
	uint64_t old = dev->size_bytes;
	uint64_t n = (size + MEM_CHUNK_BYTES - 1) / MEM_CHUNK_BYTES;

	ut_assert(size > 0 && size % dev->block_size == 0); /* mem_resize */
	ut_assert(mem_table_ok(dev, m));
	if (n > m->nchunks) {
		uint8_t **t = realloc(m->chunks, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + m->nchunks, 0, (n - m->nchunks) * sizeof(*t));
		m->chunks = t;
		m->nchunks = n;
	}
	if (size > old && old % MEM_CHUNK_BYTES) {
		uint64_t idx = (old - 1) / MEM_CHUNK_BYTES;
		uint64_t base = idx * MEM_CHUNK_BYTES;
		size_t have = (size_t)(old - base);
		size_t want = (size_t)(size - base < MEM_CHUNK_BYTES
					       ? size - base
					       : MEM_CHUNK_BYTES);
		uint8_t *c = m->chunks[idx];

		if (c) {
			c = realloc(c, want);
			if (!c)
				return -ENOMEM;
			memset(c + have, 0, want - have);
			m->chunks[idx] = c;
		}
	}
	if (size < old) {
		for (uint64_t i = n; i < m->nchunks; i++) {
			if (m->chunks[i])
				m->allocated--;
			free(m->chunks[i]);
			m->chunks[i] = NULL;
		}
		m->nchunks = n;
		if (size % MEM_CHUNK_BYTES && m->chunks[n - 1]) {
			uint64_t base = (n - 1) * MEM_CHUNK_BYTES;
			size_t keep = (size_t)(size - base);
			size_t had = (size_t)(old - base < MEM_CHUNK_BYTES
						      ? old - base
						      : MEM_CHUNK_BYTES);

			memset(m->chunks[n - 1] + keep, 0, had - keep);
		}
	}
	dev->size_bytes = size;
	ut_assert(mem_table_ok(dev, m));
	ut_assert_slow(mem_accounting_ok(m));
	return 0;
}

static int mem_resize(struct bs_dev *dev, uint64_t size_bytes)
{
	struct mem_disk *m = dev->priv;
	int rc;

	if (size_bytes == 0 || size_bytes % dev->block_size)
		return -EINVAL;
	if (m->lock)
		env_mutex_lock(m->env, m->lock);
	rc = mem_resize_locked(dev, m, size_bytes);
	if (m->lock)
		env_mutex_unlock(m->env, m->lock);
	return rc;
}

static const struct bs_ops mem_ops = {
	.submit = mem_submit,
	.lba_status = mem_lba_status,
	.close = mem_close,
	.resize = mem_resize,
};

int bs_mem_open(const struct bs_dev_params *p, struct bs_dev **out)
{
	uint32_t bs = p->block_size ? p->block_size : 512;
	struct bs_dev *dev;
	struct mem_disk *m;

	*out = NULL;
	if (bs != 512 && bs != 4096)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	m = calloc(1, sizeof(*m));
	if (!dev || !m)
		goto nomem;
	dev->size_bytes = p->size_bytes / bs * bs;
	m->nchunks = (dev->size_bytes + MEM_CHUNK_BYTES - 1) / MEM_CHUNK_BYTES;
	if (m->nchunks) {
		m->chunks = calloc(m->nchunks, sizeof(*m->chunks));
		if (!m->chunks)
			goto nomem;
	}
	dev->ops = &mem_ops;
	dev->kind = BS_MEM;
	dev->block_size = bs;
	dev->read_only = p->read_only;
	dev->thin = p->thin; /* storage is sparse either way */
	dev->rotational = false;
	dev->write_cache = true;
	dev->priv = m;
	ut_assert(dev->size_bytes % bs == 0);
	ut_assert(mem_table_ok(dev, m) && m->allocated == 0);
	*out = dev;
	return 0;
nomem:
	free(m);
	free(dev);
	return -ENOMEM;
}
