/*
 * test_tport_live.c — ALUA groups of a running server (iscsi/tport.c;
 * SPC-4 §5.15): a group is found by name (by no name only when there is
 * one), a state is set by group, target port group and state name
 * (unknown group, state or target port group refused), the running
 * configuration shows the states as they are now, a relative target
 * port identifier names its port (a local one as "iqn,t,0xN", another
 * node's as its TARGET_GROUP line gives it), and a reload that changes
 * only a target port group's state sets it at once, with no restart
 * note, and the initiator hears ASYMMETRIC ACCESS STATE CHANGED (2Ah/06h).
 * On a server in the fake environment (rig.h).
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

#include "rig.h"
#include "scsi/alua.h"

#define TGT "iqn.2026-11.org.utarget:tp"
#define INI "iqn.2026-11.org.test:tp"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
			   " DEVICE d1 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n  LUN 1 d1\n }\n"
			   "}\n"
			   "DEVICE_GROUP dg1 {\n DEVICE d0\n"
			   " TARGET_GROUP a {\n  group_id 1\n"
			   "  TARGET " TGT "\n }\n"
			   " TARGET_GROUP b {\n  group_id 2\n  state standby\n"
			   "  TARGET iqn.x:peer,t,0x1 {\n   rel_tgt_id 9\n"
			   "  }\n }\n"
			   "}\n"
			   "DEVICE_GROUP dg2 {\n DEVICE d1\n"
			   " TARGET_GROUP c {\n  group_id 3\n"
			   "  TARGET " TGT "\n }\n"
			   "}\n";

static enum scsi_alua_state state_of(struct rig *r, const char *g, uint16_t id)
{
	enum scsi_alua_state st;

	assert_int_equal(scsi_alua_get_state(iscsi_server_alua_group(r->srv, g),
					     id, &st),
			 0);
	return st;
}

static const struct ut_tgt_group_cfg *tg_cfg(struct rig *r, size_t g, size_t k)
{
	const struct ut_config *cfg = iscsi_server_config(r->srv);

	assert_true(g < cfg->dgroup_count);
	assert_true(k < cfg->dgroups[g].tgroup_count);
	return &cfg->dgroups[g].tgroups[k];
}

static void groups_are_found_and_set_by_name(void **state)
{
	struct rig *r = rig_new(conf);
	char name[64];

	(void)state;
	assert_int_equal(iscsi_server_alua_count(r->srv), 2);
	/* no name names the group only when there is one */
	assert_null(iscsi_server_alua_group(r->srv, NULL));
	assert_null(iscsi_server_alua_group(r->srv, ""));
	assert_null(iscsi_server_alua_group(r->srv, "dg3"));
	assert_ptr_equal(iscsi_server_alua_group(r->srv, "dg2"),
			 iscsi_server_alua_at(r->srv, 1));
	assert_null(iscsi_server_alua_at(r->srv, 2));
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg3", 1, "standby"),
			 -ENOENT);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg1", 1, "sideways"),
			 -EINVAL);
	assert_int_not_equal(
		iscsi_server_alua_set(r->srv, "dg1", 77, "standby"), 0);
	assert_int_equal(state_of(r, "dg1", 2), SCSI_ALUA_STANDBY);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg1", 2, "unavailable"),
			 0);
	assert_int_equal(state_of(r, "dg1", 2), SCSI_ALUA_UNAVAILABLE);
	/* the running configuration shows the state as it is now */
	assert_int_equal(tg_cfg(r, 0, 1)->state, SCSI_ALUA_UNAVAILABLE);
	assert_int_equal(tg_cfg(r, 1, 0)->state, SCSI_ALUA_OPTIMIZED);
	/* ports by relative target port identifier */
	assert_int_equal(iscsi_server_port_name(r->srv, 1, name, sizeof(name)),
			 0);
	assert_string_equal(name, TGT ",t,0x0001");
	assert_int_equal(iscsi_server_port_name(r->srv, 9, name, sizeof(name)),
			 0);
	assert_string_equal(name, "iqn.x:peer,t,0x1");
	assert_int_equal(iscsi_server_port_name(r->srv, 77, name, sizeof(name)),
			 -ENOENT);
	rig_free(r);
}

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

/* A reload whose only change is a target port group's state: applied
 * live (SPC-4 §5.15.2.2, implicit transition), no "next start" note;
 * the nexus of the LU in that group hears 2Ah/06h, the other LU's does
 * not. */
static void a_reload_changing_only_a_state_sets_it_at_once(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_result res = {.status = 1};
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	rig_tur(r, 1, &out);
	assert_int_equal(out.status, 0);
	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	cfg.dgroups[0].tgroups[0].state = SCSI_ALUA_NON_OPTIMIZED;
	assert_true(ut_config_alua_equal(iscsi_server_config(r->srv), &cfg));
	assert_int_equal(iscsi_server_reconfigure(r->srv, &cfg, NULL,
						  reconf_done, &res, err,
						  sizeof(err)),
			 0);
	for (int i = 0; i < 50 && res.status == 1; i++)
		fake_env_advance(r->env, 10000000ull);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_null(strstr(res.msg, "ALUA"));
	assert_int_equal(state_of(r, "dg1", 1), SCSI_ALUA_NON_OPTIMIZED);
	assert_int_equal(state_of(r, "dg2", 3), SCSI_ALUA_OPTIMIZED);
	{
		uint8_t tur[16] = {0};

		rig_scsi(r, 0, tur, 0, &out);
		assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
		assert_int_equal(out.sense_key, 0x6);
		assert_int_equal(out.asc, 0x2a06);
		rig_scsi(r, 1, tur, 0, &out);
		assert_int_equal(out.status, 0);
	}
	ut_config_free(&cfg);
	rig_free(r);
}

/* Whether VPD page 83h names a target port group (a TARGET PORT GROUP
 * designator: association 01b, type 5; SPC-4 §7.8.6.7). */
static bool vpd83_names_a_group(const struct rig_scsi *out)
{
	uint32_t len = (uint32_t)(out->data[2] << 8 | out->data[3]) + 4;

	assert_true(len <= out->data_len);
	for (uint32_t o = 4; o + 4 <= len; o += 4u + out->data[o + 3]) {
		assert_true(o + 4u + out->data[o + 3] <= len);
		if ((out->data[o + 1] & 0x3f) == 0x15)
			return true;
	}
	return false;
}

/* What one LU says of ALUA, all of it one answer (SPC-4 §5.15): TPGS in
 * standard INQUIRY (§6.6.2), the group designator of VPD 83h, REPORT
 * TARGET PORT GROUPS served or refused as not supported. */
static void expect_alua(struct rig *r, uint64_t lun, uint8_t tpgs)
{
	uint8_t inq[16] = {0x12, 0, 0, 0, 96};
	uint8_t vpd[16] = {0x12, 1, 0x83, 0, 255};
	uint8_t rtpg[16] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 4, 0};
	struct rig_scsi out;

	rig_scsi(r, lun, inq, 96, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data[5] & 0x30, tpgs);
	rig_scsi(r, lun, vpd, 255, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(vpd83_names_a_group(&out), tpgs != 0);
	rig_scsi(r, lun, rtpg, 1024, &out);
	if (tpgs != 0) {
		assert_int_equal(out.status, 0);
		return;
	}
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x5);
	assert_int_equal(out.asc, 0x2400); /* INVALID FIELD IN CDB */
}

/* A LUN added live on a device that no DEVICE_GROUP names has no ALUA,
 * and says so everywhere alike: TPGS 00b, no target port group in VPD
 * 83h, REPORT TARGET PORT GROUPS not supported (the documented rule,
 * docs/configuration.md: as a device in no group at start); the LUs of
 * the device groups keep theirs. */
static void a_lun_added_live_in_no_device_group_has_no_alua(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_result res = {.status = 1};
	struct rig_scsi out;
	struct ut_config cfg;
	struct ut_dev_cfg d;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "d2");
	d.kind = BS_MEM;
	d.size_bytes = 4 << 20;
	d.block_size = 512;
	ut_dev_cfg_finish(&d);
	assert_non_null(ut_config_add_dev(&cfg, &d));
	assert_non_null(ut_lun_add(ut_config_find_target(&cfg, TGT), NULL, 2,
				   "d2", false));
	assert_int_equal(iscsi_server_reconfigure(r->srv, &cfg, NULL,
						  reconf_done, &res, err,
						  sizeof(err)),
			 0);
	for (int i = 0; i < 50 && res.status == 1; i++)
		fake_env_advance(r->env, 10000000ull);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	rig_tur(r, 2, &out);
	assert_int_equal(out.status, 0);
	expect_alua(r, 2, 0x00);
	rig_tur(r, 0, &out);
	expect_alua(r, 0, 0x10);
	ut_config_free(&cfg);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(groups_are_found_and_set_by_name),
		cmocka_unit_test(
			a_reload_changing_only_a_state_sets_it_at_once),
		cmocka_unit_test(
			a_lun_added_live_in_no_device_group_has_no_alua),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
