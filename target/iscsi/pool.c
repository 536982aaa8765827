/*
 * pool.c — size-class buffer pool and object free lists (see pool.h).
 *
 * Invariants (asserted): a buffer is put back with the capacity its get
 * gave (a size class); the bytes cached never pass ISCSI_POOL_CACHE_BYTES
 * and always equal what the free lists hold; every get is paired with one
 * put (out and out_bytes count what is handed out); an object is never
 * put back twice (slow: the free list is walked).
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/pool.h"
#include "ut_assert.h"

static bool is_class_size(uint32_t cap)
{
	return cap >= (1u << ISCSI_POOL_MIN_SHIFT) &&
	       cap <= (1u << ISCSI_POOL_MAX_SHIFT) && (cap & (cap - 1)) == 0;
}

static unsigned int buf_class(uint32_t len, uint32_t *cap)
{
	unsigned int shift = ISCSI_POOL_MIN_SHIFT;

	while (shift < ISCSI_POOL_MAX_SHIFT && (1u << shift) < len)
		shift++;
	*cap = 1u << shift;
	ut_assert(shift - ISCSI_POOL_MIN_SHIFT < ISCSI_POOL_CLASSES);
	ut_assert(*cap >= len || len > (1u << ISCSI_POOL_MAX_SHIFT));
	return shift - ISCSI_POOL_MIN_SHIFT;
}

void *pool_buf_get(struct iscsi_buf_pool *p, uint32_t len, uint32_t *cap)
{
	unsigned int cls;
	struct pool_node *n;
	void *b;

	if (len > (1u << ISCSI_POOL_MAX_SHIFT))
		return NULL;
	cls = buf_class(len, cap);
	ut_assert(is_class_size(*cap));
	n = p->free[cls];
	if (n) {
		ut_assert(p->cached_bytes >= *cap);
		p->free[cls] = n->next;
		p->cached_bytes -= *cap;
		p->hits++;
		p->out_bytes += *cap;
		return n;
	}
	p->misses++;
	b = malloc(*cap);
	if (b)
		p->out_bytes += *cap;
	return b;
}

void pool_buf_put(struct iscsi_buf_pool *p, void *buf, uint32_t cap)
{
	uint32_t c2;
	unsigned int cls;
	struct pool_node *n = buf;

	if (!buf)
		return;
	/* Pairing: back with the capacity pool_buf_get() gave. */
	ut_assert(is_class_size(cap));
	ut_assert(p->out_bytes >= cap);
	p->out_bytes -= cap;
	cls = buf_class(cap, &c2);
	ut_assert(c2 == cap);
	if (p->cached_bytes + cap > ISCSI_POOL_CACHE_BYTES) {
		free(buf);
		return;
	}
	n->next = p->free[cls];
	p->free[cls] = n;
	p->cached_bytes += cap;
	ut_assert(p->cached_bytes <= ISCSI_POOL_CACHE_BYTES);
}

void pool_buf_forget(struct iscsi_buf_pool *p, uint32_t cap)
{
	ut_assert(p->out_bytes >= cap);
	p->out_bytes -= cap;
}

void pool_buf_drain(struct iscsi_buf_pool *p)
{
	uint64_t freed = 0;

	ut_assert(p->cached_bytes <= ISCSI_POOL_CACHE_BYTES);
	for (unsigned int i = 0; i < ISCSI_POOL_CLASSES; i++) {
		while (p->free[i]) {
			struct pool_node *n = p->free[i];

			p->free[i] = n->next;
			free(n);
			freed += 1ull << (i + ISCSI_POOL_MIN_SHIFT);
		}
	}
	/* the cache counted exactly what the free lists held */
	ut_assert(freed == p->cached_bytes);
	p->cached_bytes = 0;
}

bool pool_obj_is_free(const struct iscsi_obj_pool *p, const void *obj)
{
	for (const struct pool_node *n = p->free; n; n = n->next)
		if ((const void *)n == obj)
			return true;
	return false;
}

void *pool_obj_get(struct iscsi_obj_pool *p)
{
	struct pool_node *n = p->free;

	ut_assert(p->obj_size >= sizeof(struct pool_node));
	if (!n) {
		ut_assert(p->count == 0);
		n = calloc(1, p->obj_size);
		if (n)
			p->out++;
		return n;
	}
	ut_assert(p->count > 0);
	p->free = n->next;
	p->count--;
	p->out++;
	memset(n, 0, p->obj_size);
	return n;
}

void pool_obj_put(struct iscsi_obj_pool *p, void *obj)
{
	struct pool_node *n = obj;

	if (!obj)
		return;
	ut_assert(p->out > 0);
	ut_assert_slow(!pool_obj_is_free(p, obj)); /* not put back twice */
	p->out--;
	if (p->count >= ISCSI_POOL_OBJ_CACHE) {
		free(obj);
		return;
	}
	n->next = p->free;
	p->free = n;
	p->count++;
	ut_assert(p->count <= ISCSI_POOL_OBJ_CACHE);
}

void pool_obj_forget(struct iscsi_obj_pool *p)
{
	ut_assert(p->out > 0);
	p->out--;
}

void pool_obj_drain(struct iscsi_obj_pool *p)
{
	uint32_t freed = 0;

	while (p->free) {
		struct pool_node *n = p->free;

		p->free = n->next;
		free(n);
		freed++;
	}
	ut_assert(freed == p->count);
	p->count = 0;
}
