/*
 * heap.c — the binary min-heap of heap.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "heap.h"
#include "ut_assert.h"

static bool node_before(const struct ut_heap_node *a,
			const struct ut_heap_node *b)
{
	if (a->at_ns != b->at_ns)
		return a->at_ns < b->at_ns;
	return a->seq < b->seq;
}

static void heap_set(struct ut_heap *h, size_t i, struct ut_heap_node *n)
{
	ut_assert(i < h->len);
	h->v[i] = n;
	n->idx = i;
}

static void sift_up(struct ut_heap *h, size_t i)
{
	struct ut_heap_node *n = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!node_before(n, h->v[parent]))
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, n);
}

static void sift_down(struct ut_heap *h, size_t i)
{
	struct ut_heap_node *n = h->v[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len &&
		    node_before(h->v[child + 1], h->v[child]))
			child++;
		if (!node_before(h->v[child], n))
			break;
		heap_set(h, i, h->v[child]);
		i = child;
	}
	heap_set(h, i, n);
}

void ut_heap_init(struct ut_heap *h)
{
	h->v = NULL;
	h->len = 0;
	h->cap = 0;
}

void ut_heap_fini(struct ut_heap *h)
{
	for (size_t i = 0; i < h->len; i++) {
		ut_assert(h->v[i]->idx == i);
		h->v[i]->idx = UT_HEAP_NONE;
	}
	free(h->v);
	ut_heap_init(h);
}

int ut_heap_reserve(struct ut_heap *h, size_t n)
{
	size_t cap = h->cap ? h->cap : 64;
	struct ut_heap_node **v;

	if (n <= h->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	v = realloc(h->v, cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

void ut_heap_push(struct ut_heap *h, struct ut_heap_node *n)
{
	ut_assert(n->idx == UT_HEAP_NONE);
	ut_assert(h->len < h->cap); /* room comes from ut_heap_reserve */
	h->len++;
	heap_set(h, h->len - 1, n);
	sift_up(h, h->len - 1);
}

void ut_heap_remove(struct ut_heap *h, struct ut_heap_node *n)
{
	size_t i = n->idx;
	struct ut_heap_node *last;

	ut_assert(i < h->len);
	ut_assert(h->v[i] == n);
	n->idx = UT_HEAP_NONE;
	last = h->v[--h->len];
	if (i == h->len)
		return;
	heap_set(h, i, last);
	if (i > 0 && node_before(last, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}
