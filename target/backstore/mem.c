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
 *
 * Zero-copy reads (bs_mem_refs(), the daemon's --zero-copy on): a READ of
 * MEM_REF_MIN_BYTES or more inside one chunk, asked for by reference
 * (BS_F_MAY_REF), completes with a reference into the chunk (or into the
 * disk's zero chunk where none is allocated) instead of a copy.  The rule
 * that keeps it safe: a referenced chunk's bytes never change and its
 * memory never goes while a reference is out.
 *   - A write, a partial UNMAP / WRITE ZEROES or a resize that would
 *     change a referenced chunk copies it first (copy on write): the new
 *     copy takes its place in the table, the old one is retired.
 *   - An UNMAP or a shrink that frees a referenced chunk, and closing the
 *     disk, retire it instead.
 *   - A retired chunk is freed with its last reference; a closed disk
 *     with its last reference (struct mem_disk lives until then).
 * So a read by reference sends exactly the bytes a copying read would
 * have copied at its completion, whatever is written meanwhile (WRITE
 * ATOMIC stays all or nothing to every reader), at the price of a chunk
 * copy when a write lands in a chunk a read is still sending from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "env.h"

#define MEM_CHUNK_BYTES (1u << 20)
/* Zero-copy reads from this size on: below it the copy costs less than
 * the reference (an allocation, the lock again at its release) and the
 * chance that a write must copy a whole chunk. */
#define MEM_REF_MIN_BYTES (64u * 1024u)

/* One chunk: its bytes and the references into them. */
struct mem_chunk {
	uint64_t refs; /* zero-copy reads pointing into data */
	bool retired;  /* out of the table: freed with its last reference */
	_Alignas(64) uint8_t data[];
};

struct mem_disk {
	struct mem_chunk **chunks;
	uint64_t nchunks;
	uint64_t allocated; /* chunks currently allocated */
	struct env *env;    /* NULL, or the mutex's */
	struct env_mutex *lock;
	/* Zero-copy reads (the top of this file): allowed, references out
	 * (into any chunk, retired ones and zero included), chunks copied
	 * on write because of them, the chunk unallocated reads point into
	 * (made on first use), and the disk closed (freed with its last
	 * reference). */
	bool refs_on;
	uint64_t refs;
	uint64_t cow_copies;
	struct mem_chunk *zero;
	bool closed;
};

/* A reference handed out: which chunk it pins. */
struct mem_ref {
	struct bs_ref ref;
	struct mem_disk *m;
	struct mem_chunk *c;
};

/* Buffer accounting: `allocated` counts the chunks that exist, all of
 * them inside the table (walks the table: for ut_assert_slow); none of
 * them retired, and no more references into them than are out. */
static bool mem_accounting_ok(const struct mem_disk *m)
{
	uint64_t n = 0, refs = m->zero ? m->zero->refs : 0;

	for (uint64_t i = 0; i < m->nchunks; i++) {
		n += m->chunks[i] != NULL;
		if (m->chunks[i] && m->chunks[i]->retired)
			return false;
		refs += m->chunks[i] ? m->chunks[i]->refs : 0;
	}
	return n == m->allocated && refs <= m->refs;
}

static struct mem_chunk *chunk_alloc(size_t len, bool zeroed)
{
	return zeroed ? calloc(1, sizeof(struct mem_chunk) + len)
		      : malloc(sizeof(struct mem_chunk) + len);
}

/* A chunk leaves the table: freed now, or by its last reference. */
static void chunk_retire(struct mem_chunk *c)
{
	ut_assert(c && !c->retired);
	if (c->refs == 0) {
		free(c);
		return;
	}
	c->retired = true;
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

/* Chunk idx, about to change (len bytes of it exist): a referenced one
 * is copied first and the copy takes its place (copy on write, the top
 * of this file).  NULL: no memory for the copy. */
static struct mem_chunk *chunk_writable(struct mem_disk *m, uint64_t idx,
					size_t len)
{
	struct mem_chunk *c = m->chunks[idx], *copy;

	ut_assert(c && !c->retired);
	if (c->refs == 0)
		return c;
	copy = chunk_alloc(len, false);
	if (!copy)
		return NULL;
	copy->refs = 0;
	copy->retired = false;
	memcpy(copy->data, c->data, len);
	m->chunks[idx] = copy;
	m->cow_copies++;
	chunk_retire(c);
	/* the readers keep the old bytes, the table has the same ones */
	ut_assert(c->retired && copy->refs == 0);
	return copy;
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
		const struct mem_chunk *chunk = m->chunks[idx];

		ut_assert(idx < m->nchunks);
		cur_move(&c, NULL, chunk ? chunk->data + in : NULL, n, true);
	}
	return 0;
}

static void mem_ref_release(struct bs_ref *ref);

/* A READ asked for by reference (BS_F_MAY_REF): answered with one into
 * its chunk when the disk allows it, the read is large enough and inside
 * one chunk; false: copy it. */
static bool mem_read_ref(struct mem_disk *m, struct bs_req *req)
{
	uint64_t idx = req->offset_bytes / MEM_CHUNK_BYTES;
	size_t in = (size_t)(req->offset_bytes % MEM_CHUNK_BYTES);
	struct mem_chunk *c;
	struct mem_ref *r;

	ut_assert(req->op == BS_OP_READ && req->ref == NULL);
	if (!m->refs_on || !(req->flags & BS_F_MAY_REF) ||
	    req->length_bytes < MEM_REF_MIN_BYTES ||
	    req->length_bytes > MEM_CHUNK_BYTES - in)
		return false;
	ut_assert(idx < m->nchunks);
	c = m->chunks[idx];
	if (!c) {
		if (!m->zero)
			m->zero = chunk_alloc(MEM_CHUNK_BYTES, true);
		c = m->zero;
	}
	r = c ? malloc(sizeof(*r)) : NULL;
	if (!r)
		return false; /* the copying path needs no memory */
	r->m = m;
	r->c = c;
	r->ref.mem = c->data + in;
	r->ref.length_bytes = req->length_bytes;
	r->ref.release = mem_ref_release;
	/* not from a file: a write copies the chunk first, which the
	 * kernel's reference to pages handed to it could not see */
	r->ref.fd = BS_REF_NO_FD;
	r->ref.fd_off = 0;
	r->ref.live = false; /* a write copies the chunk first */
	c->refs++;
	m->refs++;
	ut_assert(c->refs <= m->refs && !c->retired);
	req->ref = &r->ref;
	return true;
}

static int mem_write(struct bs_dev *dev, struct bs_req *req)
{
	struct mem_disk *m = dev->priv;
	struct iov_cur c = {req->iov, req->iovcnt, 0, 0};
	uint64_t idx;
	size_t in, n;

	ut_assert(req->op == BS_OP_WRITE && !dev->read_only);
	FOR_EACH_PIECE (req->offset_bytes, req->length_bytes, idx, in, n) {
		struct mem_chunk *chunk = m->chunks[idx];

		ut_assert(idx < m->nchunks);
		if (!chunk) {
			if (cur_is_zero(&c, n)) {
				cur_skip(&c, n);
				continue;
			}
			chunk = chunk_alloc(chunk_len(dev, idx), true);
			if (!chunk)
				return -ENOSPC;
			m->chunks[idx] = chunk;
			m->allocated++;
			ut_assert(m->allocated <= m->nchunks);
		} else if (!(chunk = chunk_writable(m, idx,
						    chunk_len(dev, idx)))) {
			return -ENOSPC;
		}
		cur_move(&c, chunk->data + in, NULL, n, false);
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
			chunk_retire(m->chunks[idx]);
			m->chunks[idx] = NULL;
			m->allocated--;
		} else {
			struct mem_chunk *c =
				chunk_writable(m, idx, chunk_len(dev, idx));

			if (!c)
				return -ENOSPC;
			memset(c->data + in, 0, n);
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
			if (!mem_read_ref(m, req))
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

/* The disk's memory, once closed and no reference is out. */
static void mem_free(struct mem_disk *m)
{
	ut_assert(m->closed && m->refs == 0);
	ut_assert(!m->zero || m->zero->refs == 0);
	free(m->zero);
	if (m->lock)
		env_mutex_free(m->env, m->lock);
	free(m);
}

static void mem_ref_release(struct bs_ref *ref)
{
	struct mem_ref *r = (struct mem_ref *)ref;
	struct mem_disk *m = r->m;
	struct mem_chunk *c = r->c;
	bool last;

	if (m->lock)
		env_mutex_lock(m->env, m->lock);
	/* released once, and counted when made (pair: mem_read_ref) */
	ut_assert(c->refs > 0 && m->refs >= c->refs);
	c->refs--;
	m->refs--;
	if (c->refs == 0 && c->retired)
		free(c);
	last = m->closed && m->refs == 0;
	if (m->lock)
		env_mutex_unlock(m->env, m->lock);
	free(r);
	if (last)
		mem_free(m);
}

static void mem_close(struct bs_dev *dev)
{
	struct mem_disk *m = dev->priv;
	bool last;

	/* References may still be released on other reactors. */
	if (m->lock)
		env_mutex_lock(m->env, m->lock);
	ut_assert(mem_table_ok(dev, m));
	ut_assert_slow(mem_accounting_ok(m));
	for (uint64_t i = 0; i < m->nchunks; i++) {
		if (m->chunks[i])
			chunk_retire(m->chunks[i]);
	}
	free(m->chunks);
	m->chunks = NULL;
	m->nchunks = 0;
	m->allocated = 0;
	m->closed = true;
	last = m->refs == 0;
	if (m->lock)
		env_mutex_unlock(m->env, m->lock);
	free(dev);
	if (last)
		mem_free(m);
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
	/* What can fail comes first, while the table still matches the
	 * old size: the partial last chunk's new length, the copy of a
	 * referenced chunk about to be cut, the longer table. */
	if (size > old && old % MEM_CHUNK_BYTES) {
		uint64_t idx = (old - 1) / MEM_CHUNK_BYTES;
		uint64_t base = idx * MEM_CHUNK_BYTES;
		size_t have = (size_t)(old - base);
		size_t want = (size_t)(size - base < MEM_CHUNK_BYTES
					       ? size - base
					       : MEM_CHUNK_BYTES);
		struct mem_chunk *c = m->chunks[idx], *grown;

		if (c && c->refs > 0) {
			/* referenced: a longer copy (copy on write) */
			grown = chunk_alloc(want, true);
			if (!grown)
				return -ENOMEM;
			memcpy(grown->data, c->data, have);
			m->cow_copies++;
			chunk_retire(c);
			m->chunks[idx] = grown;
		} else if (c) {
			grown = realloc(c, sizeof(*c) + want);
			if (!grown)
				return -ENOMEM;
			memset(grown->data + have, 0, want - have);
			m->chunks[idx] = grown;
		}
	}
	if (size < old && size % MEM_CHUNK_BYTES && m->chunks[n - 1] &&
	    !chunk_writable(m, n - 1, chunk_len(dev, n - 1)))
		return -ENOMEM;
	if (n > m->nchunks) {
		struct mem_chunk **t = realloc(m->chunks, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + m->nchunks, 0, (n - m->nchunks) * sizeof(*t));
		m->chunks = t;
		m->nchunks = n;
	}
	if (size < old) {
		for (uint64_t i = n; i < m->nchunks; i++) {
			if (m->chunks[i]) {
				m->allocated--;
				chunk_retire(m->chunks[i]);
			}
			m->chunks[i] = NULL;
		}
		m->nchunks = n;
		if (size % MEM_CHUNK_BYTES && m->chunks[n - 1]) {
			uint64_t base = (n - 1) * MEM_CHUNK_BYTES;
			size_t keep = (size_t)(size - base);
			size_t had = (size_t)(old - base < MEM_CHUNK_BYTES
						      ? old - base
						      : MEM_CHUNK_BYTES);

			/* unreferenced now (copied above if it was) */
			ut_assert(m->chunks[n - 1]->refs == 0);
			memset(m->chunks[n - 1]->data + keep, 0, had - keep);
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

void bs_mem_refs(struct bs_dev *dev, bool on)
{
	struct mem_disk *m = dev->priv;

	ut_assert(dev->kind == BS_MEM && dev->ops == &mem_ops);
	m->refs_on = on;
}

uint64_t bs_mem_cow_copies(const struct bs_dev *dev)
{
	const struct mem_disk *m = dev->priv;

	ut_assert(dev->kind == BS_MEM && dev->ops == &mem_ops);
	return m->cow_copies;
}
