/*
 * test_heap.c — the binary min-heap of heap.h shared by the real
 * environment's timers and the simulation's scheduler: order by (at_ns,
 * seq), removal from anywhere, room reserved before pushing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "heap.h"

#define NODES 1000

static struct ut_heap_node nodes[NODES];

/* A small xorshift: the same sequence on every run. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void pop_all_in_order(struct ut_heap *h, size_t expect)
{
	struct ut_heap_node *prev = NULL, *n;
	size_t popped = 0;

	while ((n = ut_heap_top(h)) != NULL) {
		if (prev != NULL &&
		    (n->at_ns < prev->at_ns ||
		     (n->at_ns == prev->at_ns && n->seq <= prev->seq)))
			fail_msg("popped (%llu, %llu) after (%llu, %llu): the "
				 "heap must yield (at_ns, seq) in order",
				 (unsigned long long)n->at_ns,
				 (unsigned long long)n->seq,
				 (unsigned long long)prev->at_ns,
				 (unsigned long long)prev->seq);
		ut_heap_remove(h, n);
		assert_false(ut_heap_node_queued(n));
		prev = n;
		popped++;
	}
	assert_int_equal(popped, expect);
}

/* Many equal deadlines: the tie-break is the arming order (seq), which
 * the simulation's determinism depends on. */
static void equal_deadlines_come_out_in_arming_order(void **state)
{
	struct ut_heap h;

	ut_heap_init(&h);
	assert_int_equal(ut_heap_reserve(&h, NODES), 0);
	for (size_t i = 0; i < NODES; i++) {
		ut_heap_node_init(&nodes[i]);
		nodes[i].at_ns = next_rand() % 8; /* many ties */
		nodes[i].seq = i;
		ut_heap_push(&h, &nodes[i]);
	}
	pop_all_in_order(&h, NODES);
	ut_heap_fini(&h);
}

/* Removing nodes from the middle keeps the order of the rest. */
static void removal_from_anywhere_keeps_the_order(void **state)
{
	struct ut_heap h;
	size_t left = NODES;

	ut_heap_init(&h);
	assert_int_equal(ut_heap_reserve(&h, NODES), 0);
	for (size_t i = 0; i < NODES; i++) {
		ut_heap_node_init(&nodes[i]);
		nodes[i].at_ns = next_rand() % 100000;
		nodes[i].seq = i;
		ut_heap_push(&h, &nodes[i]);
		assert_true(ut_heap_node_queued(&nodes[i]));
	}
	for (size_t i = 0; i < NODES; i += 3) {
		ut_heap_remove(&h, &nodes[i]);
		left--;
	}
	assert_int_equal(h.len, left);
	pop_all_in_order(&h, left);
	ut_heap_fini(&h);
}

/* Reserving is the only allocation: room for n stays room for n, and
 * fini leaves the nodes still inside out of any heap. */
static void reserve_makes_room_and_fini_detaches(void **state)
{
	struct ut_heap h;
	struct ut_heap_node **v;

	ut_heap_init(&h);
	assert_null(ut_heap_top(&h));
	assert_int_equal(ut_heap_reserve(&h, 3), 0);
	assert_true(h.cap >= 3);
	v = h.v;
	for (size_t i = 0; i < 3; i++) {
		ut_heap_node_init(&nodes[i]);
		nodes[i].at_ns = 10 - i;
		nodes[i].seq = i;
		ut_heap_push(&h, &nodes[i]);
	}
	assert_ptr_equal(h.v, v); /* no reallocation while pushing */
	assert_ptr_equal(ut_heap_top(&h), &nodes[2]);
	assert_int_equal(ut_heap_reserve(&h, 2), 0); /* already room */
	assert_ptr_equal(h.v, v);
	ut_heap_fini(&h);
	for (size_t i = 0; i < 3; i++)
		assert_false(ut_heap_node_queued(&nodes[i]));
	assert_int_equal(h.len, 0);
	assert_null(h.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_deadlines_come_out_in_arming_order),
		cmocka_unit_test(removal_from_anywhere_keeps_the_order),
		cmocka_unit_test(reserve_makes_room_and_fini_detaches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
