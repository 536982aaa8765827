/*
 * test_alua_api.c — the device group API's refusals and limits
 * (scsi/alua.c, alua.h): state names both ways, a target port group
 * added twice, with a state that is none, past SCSI_ALUA_MAX_TPGS;
 * ports of no group, port 0, a port in two groups, past
 * SCSI_ALUA_MAX_TPG_PORTS; an LU in two groups or past the group's
 * max_lus; states set and read of a group that does not exist.  Each
 * refusal leaves the group as it was (checked through
 * scsi_alua_tpg_info).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

#include "scsi/alua.h"

static unsigned int tpg_count(const struct scsi_alua_group *g)
{
	struct scsi_alua_tpg_info info;
	unsigned int n = 0;

	while (scsi_alua_tpg_info(g, n, &info))
		n++;
	return n;
}

/* SCST's six names and the two aliases parse; anything else is -EINVAL;
 * a value that is no state prints as "?". */
static void state_names_both_ways(void **state)
{
	static const char *const names[] = {"active",	 "nonoptimized",
					    "standby",	 "unavailable",
					    "offline",	 "transitioning",
					    "optimized", "non-optimized",
					    "ACTIVE"};
	enum scsi_alua_state st;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(scsi_alua_state_parse(names[i], &st), 0);
		if (i < 6)
			assert_string_equal(scsi_alua_state_name(st), names[i]);
	}
	assert_int_equal(scsi_alua_state_parse("sleepy", &st), -EINVAL);
	assert_string_equal(scsi_alua_state_name((enum scsi_alua_state)9), "?");
}

static void target_port_group_refusals(void **state)
{
	struct scsi_alua_group *g = scsi_alua_group_new(&stub_env, "dg", 0, 4);
	struct scsi_alua_tpg_info info;
	enum scsi_alua_state st;

	(void)state;
	assert_non_null(g);
	assert_string_equal(scsi_alua_group_name(g), "dg");
	assert_int_equal(scsi_alua_tpg_add(g, 1, SCSI_ALUA_OPTIMIZED, true), 0);
	assert_int_equal(scsi_alua_tpg_add(g, 1, SCSI_ALUA_STANDBY, false),
			 -EEXIST);
	assert_int_equal(scsi_alua_tpg_add(g, 2, (enum scsi_alua_state)5,
					   false),
			 -EINVAL);
	for (uint16_t id = 2; id <= SCSI_ALUA_MAX_TPGS; id++)
		assert_int_equal(
			scsi_alua_tpg_add(g, id, SCSI_ALUA_STANDBY, false), 0);
	assert_int_equal(scsi_alua_tpg_add(g, 99, SCSI_ALUA_STANDBY, false),
			 -ENOSPC);
	assert_int_equal(tpg_count(g), SCSI_ALUA_MAX_TPGS);
	assert_false(scsi_alua_tpg_info(g, SCSI_ALUA_MAX_TPGS, &info));
	/* ports */
	assert_int_equal(scsi_alua_tpg_add_port(g, 77, 1), -ENOENT);
	assert_int_equal(scsi_alua_tpg_add_port(g, 1, 0), -EINVAL);
	assert_int_equal(scsi_alua_tpg_add_port(g, 1, 5), 0);
	assert_int_equal(scsi_alua_tpg_add_port(g, 2, 5), -EEXIST);
	for (uint16_t p = 100; p < 100 + SCSI_ALUA_MAX_TPG_PORTS - 1; p++)
		assert_int_equal(scsi_alua_tpg_add_port(g, 1, p), 0);
	assert_int_equal(scsi_alua_tpg_add_port(g, 1, 999), -ENOSPC);
	assert_true(scsi_alua_tpg_info(g, 0, &info));
	assert_int_equal(info.tpg_id, 1);
	assert_int_equal(info.port_count, SCSI_ALUA_MAX_TPG_PORTS);
	assert_true(info.preferred);
	/* states of groups that exist and do not */
	assert_int_equal(scsi_alua_set_state(g, 77, SCSI_ALUA_STANDBY),
			 -ENOENT);
	assert_int_equal(scsi_alua_set_state(g, 1, (enum scsi_alua_state)6),
			 -EINVAL);
	assert_int_equal(scsi_alua_get_state(g, 77, &st), -ENOENT);
	assert_int_equal(scsi_alua_get_state(g, 1, &st), 0);
	assert_int_equal(st, SCSI_ALUA_OPTIMIZED);
	assert_int_equal(scsi_alua_set_state(g, 1, SCSI_ALUA_TRANSITIONING), 0);
	assert_int_equal(scsi_alua_get_state(g, 1, &st), 0);
	assert_int_equal(st, SCSI_ALUA_TRANSITIONING);
	scsi_alua_group_free(g);
}

/* An unmapped LU (members join before any session maps them). */
static struct scsi_lu *lu_new(struct bs_dev **bs)
{
	struct bs_dev_params p = {.kind = BS_MEM,
				  .name = "m",
				  .size_bytes = 1 << 20,
				  .block_size = BS};
	struct scsi_lu *lu;

	assert_int_equal(bs_mem_open(&p, bs), 0);
	lu = scsi_lu_new(&stub_env, NULL, *bs, 3);
	assert_non_null(lu);
	return lu;
}

/* An LU is in one device group; a group holds max_lus of them; an LU
 * that left may join another. */
static void lu_membership_refusals(void **state)
{
	struct scsi_alua_group *g = scsi_alua_group_new(&stub_env, "a", 0, 0);
	struct scsi_alua_group *h = scsi_alua_group_new(&stub_env, "b", 0, 1);
	struct scsi_alua_group *k = scsi_alua_group_new(&stub_env, "c", 0, 1);
	struct bs_dev *bs1, *bs2;
	struct scsi_lu *lu1 = lu_new(&bs1), *lu2 = lu_new(&bs2);

	(void)state;
	assert_non_null(g);
	assert_non_null(h);
	assert_non_null(k);
	/* max_lus 0: no room at all */
	assert_int_equal(scsi_alua_group_add_lu(g, lu1, false), -ENOSPC);
	assert_int_equal(scsi_alua_group_add_lu(h, lu1, true), 0);
	assert_int_equal(scsi_alua_group_add_lu(h, lu1, true), -EEXIST);
	assert_int_equal(scsi_alua_group_add_lu(k, lu1, true), -EEXIST);
	assert_int_equal(scsi_alua_group_add_lu(h, lu2, true), -ENOSPC);
	scsi_alua_lu_leave(lu1);
	scsi_alua_lu_leave(lu1); /* in none any more: nothing */
	assert_int_equal(scsi_alua_group_add_lu(k, lu1, false), 0);
	assert_int_equal(scsi_alua_group_add_lu(h, lu2, false), 0);
	scsi_alua_lu_leave(lu1);
	scsi_alua_lu_leave(lu2);
	scsi_lu_free(lu1);
	scsi_lu_free(lu2);
	bs_close(bs1);
	bs_close(bs2);
	scsi_alua_group_free(g);
	scsi_alua_group_free(h);
	scsi_alua_group_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_names_both_ways),
		cmocka_unit_test(target_port_group_refusals),
		cmocka_unit_test(lu_membership_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
