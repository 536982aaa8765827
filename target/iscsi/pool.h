/*
 * pool.h — recycled memory for the data path: task data buffers in
 * power-of-two size classes, and fixed-size objects (tasks, PDUs) on free
 * lists.  After warm-up a READ or WRITE allocates nothing.
 *
 * Every pool is owned by one reactor and used from it only.  Cached
 * memory is bounded (ISCSI_POOL_CACHE_BYTES); what is freed beyond that
 * goes back to the allocator.
 */
#ifndef UT_ISCSI_POOL_H
#define UT_ISCSI_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_POOL_MIN_SHIFT 9	/* 512 bytes */
#define ISCSI_POOL_MAX_SHIFT 26 /* 64 MiB, SCSI_MAX_XFER_BYTES */
#define ISCSI_POOL_CLASSES (ISCSI_POOL_MAX_SHIFT - ISCSI_POOL_MIN_SHIFT + 1)
#define ISCSI_POOL_CACHE_BYTES (64u << 20)
#define ISCSI_POOL_OBJ_CACHE 1024 /* objects kept per free list */

struct pool_node {
	struct pool_node *next;
};

struct iscsi_buf_pool {
	struct pool_node *free[ISCSI_POOL_CLASSES];
	uint64_t cached_bytes;
	uint64_t hits, misses;
	uint64_t out_bytes; /* handed out and not put back (pairing) */
};

struct iscsi_obj_pool {
	struct pool_node *free;
	size_t obj_size;
	uint32_t count;
	uint64_t out; /* objects handed out and not put back (pairing) */
};

/* A buffer of at least len bytes (len <= 64 MiB); *cap gets its real
 * size, which pool_buf_put() needs back.  NULL if out of memory. */
void *pool_buf_get(struct iscsi_buf_pool *p, uint32_t len, uint32_t *cap);
void pool_buf_put(struct iscsi_buf_pool *p, void *buf, uint32_t cap);
void pool_buf_drain(struct iscsi_buf_pool *p);

/* Zeroed objects of p->obj_size bytes.  Every get is paired with one
 * put (or the object is dropped whole with its owner at server free,
 * which counts it back with pool_obj_forget()). */
void *pool_obj_get(struct iscsi_obj_pool *p);
void pool_obj_put(struct iscsi_obj_pool *p, void *obj);
void pool_obj_drain(struct iscsi_obj_pool *p);
/* An object (buffer) of the pool freed directly, not put back. */
void pool_obj_forget(struct iscsi_obj_pool *p);
void pool_buf_forget(struct iscsi_buf_pool *p, uint32_t cap);
/* Is obj on p's free list?  (A walk: for slow assertions.) */
bool pool_obj_is_free(const struct iscsi_obj_pool *p, const void *obj);

#endif
