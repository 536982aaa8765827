/*
 * pool.c — size-class buffer pool and object free lists (see pool.h).
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/pool.h"

static unsigned int buf_class(uint32_t len, uint32_t *cap)
{
	unsigned int shift = ISCSI_POOL_MIN_SHIFT;

	while (shift < ISCSI_POOL_MAX_SHIFT && (1u << shift) < len)
		shift++;
	*cap = 1u << shift;
	return shift - ISCSI_POOL_MIN_SHIFT;
}

void *pool_buf_get(struct iscsi_buf_pool *p, uint32_t len, uint32_t *cap)
{
	unsigned int cls;
	struct pool_node *n;

	if (len > (1u << ISCSI_POOL_MAX_SHIFT))
		return NULL;
	cls = buf_class(len, cap);
	n = p->free[cls];
	if (n) {
		p->free[cls] = n->next;
		p->cached_bytes -= *cap;
		p->hits++;
		return n;
	}
	p->misses++;
	return malloc(*cap);
}

void pool_buf_put(struct iscsi_buf_pool *p, void *buf, uint32_t cap)
{
	uint32_t c2;
	unsigned int cls;
	struct pool_node *n = buf;

	if (!buf)
		return;
	cls = buf_class(cap, &c2);
	if (c2 != cap || p->cached_bytes + cap > ISCSI_POOL_CACHE_BYTES) {
		free(buf);
		return;
	}
	n->next = p->free[cls];
	p->free[cls] = n;
	p->cached_bytes += cap;
}

void pool_buf_drain(struct iscsi_buf_pool *p)
{
	for (unsigned int i = 0; i < ISCSI_POOL_CLASSES; i++) {
		while (p->free[i]) {
			struct pool_node *n = p->free[i];

			p->free[i] = n->next;
			free(n);
		}
	}
	p->cached_bytes = 0;
}

void *pool_obj_get(struct iscsi_obj_pool *p)
{
	struct pool_node *n = p->free;

	if (!n)
		return calloc(1, p->obj_size);
	p->free = n->next;
	p->count--;
	memset(n, 0, p->obj_size);
	return n;
}

void pool_obj_put(struct iscsi_obj_pool *p, void *obj)
{
	struct pool_node *n = obj;

	if (!obj)
		return;
	if (p->count >= ISCSI_POOL_OBJ_CACHE) {
		free(obj);
		return;
	}
	n->next = p->free;
	p->free = n;
	p->count++;
}

void pool_obj_drain(struct iscsi_obj_pool *p)
{
	while (p->free) {
		struct pool_node *n = p->free;

		p->free = n->next;
		free(n);
	}
	p->count = 0;
}
