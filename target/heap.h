/*
 * heap.h — one binary min-heap of intrusive nodes, ordered by (at_ns,
 * seq): the timers of the real environment (env_real/reactor.c) and the
 * event scheduler of the simulation (simnet/sim_env.c).
 *
 * A node lives inside its owner (a timer, an event) and is in at most one
 * heap at a time.  The owner sets at_ns and seq before ut_heap_push();
 * seq is the owner's arming counter, so that two nodes due at the same
 * time come out in the order they were armed, never in pointer order (the
 * simulation's determinism depends on it).  Each node knows its index,
 * which makes removal O(log n).  Pushing never allocates: ut_heap_reserve()
 * makes room beforehand, where failing is still allowed.
 */
#ifndef UT_HEAP_H
#define UT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UT_HEAP_NONE SIZE_MAX

struct ut_heap_node {
	uint64_t at_ns; /* due time, in the owner's clock */
	uint64_t seq;	/* tie-break: arming order */
	size_t idx;	/* position in the heap; UT_HEAP_NONE when out */
};

struct ut_heap {
	struct ut_heap_node **v;
	size_t len; /* nodes in the heap */
	size_t cap; /* room in v */
};

void ut_heap_init(struct ut_heap *h);
/* Free the array; nodes still in the heap are left out of it. */
void ut_heap_fini(struct ut_heap *h);
/* Room for n nodes in all: 0 or -ENOMEM (the heap is unchanged then). */
int ut_heap_reserve(struct ut_heap *h, size_t n);
/* Insert n (not in a heap) into h, which must have room for it. */
void ut_heap_push(struct ut_heap *h, struct ut_heap_node *n);
/* Take n (which must be in h) out of h. */
void ut_heap_remove(struct ut_heap *h, struct ut_heap_node *n);

static inline void ut_heap_node_init(struct ut_heap_node *n)
{
	n->at_ns = 0;
	n->seq = 0;
	n->idx = UT_HEAP_NONE;
}

static inline bool ut_heap_node_queued(const struct ut_heap_node *n)
{
	return n->idx != UT_HEAP_NONE;
}

/* The earliest node, or NULL when the heap is empty. */
static inline struct ut_heap_node *ut_heap_top(const struct ut_heap *h)
{
	return h->len > 0 ? h->v[0] : NULL;
}

#endif
