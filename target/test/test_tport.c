/*
 * test_tport.c — target ports and ALUA through the whole target (the rig):
 * one target in two portal groups is two SCSI target ports with their own
 * relative identifiers; sessions through each are separate I_T nexuses
 * (RFC 7143 §4.4.3: the session identifier includes the TPGT); the access
 * state of each port's group filters commands; SendTargets names each
 * portal's group; iscsi_server_alua_set() and SET TARGET PORT GROUPS
 * change states with their unit attentions.
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

#include "control/ctl.h"
#include "iscsi/iscsi_int.h"
#include "rig.h"
#include "scsi/alua.h"

#define IQN "iqn.2026-11.org.utarget:ha"
#define INI "iqn.1994-05.com.example:host"

static const char conf[] =
	"HANDLER vdisk_mem {\n"
	"\tDEVICE d0 {\n\t\tsize 4M\n\t\texpl_alua 1\n\t}\n"
	"}\n"
	"TARGET_DRIVER iscsi {\n"
	"\tportal 10.0.0.1:3260\n"
	"\tPORTAL_GROUP 7 {\n\t\tportal 10.0.1.1:3260\n\t}\n"
	"\tTARGET " IQN " {\n\t\tLUN 0 d0\n\t}\n"
	"}\n"
	"DEVICE_GROUP dg {\n"
	"\tDEVICE d0\n"
	"\tTARGET_GROUP a {\n\t\tgroup_id 11\n\t\tstate active\n"
	"\t\tTARGET " IQN ",t,0x1\n\t}\n"
	"\tTARGET_GROUP b {\n\t\tgroup_id 22\n\t\tstate standby\n"
	"\t\tTARGET " IQN ",t,0x7\n\t}\n"
	"}\n";

/* Two initiator sessions of one rig: each side's connection and
 * sequence numbers, swapped in and out of the rig. */
struct side {
	struct fake_conn *c;
	uint32_t cmdsn, itt;
};

static void side_save(struct rig *r, struct side *s)
{
	s->c = r->c;
	s->cmdsn = r->cmdsn;
	s->itt = r->itt;
}

static void side_use(struct rig *r, const struct side *s)
{
	r->c = s->c;
	r->cmdsn = s->cmdsn;
	r->itt = s->itt;
}

/* Log in through listener l with the ISID of the previous login when
 * same_isid (a multipath host's second path). */
static void login_via(struct rig *r, unsigned int l, bool same_isid,
		      struct side *s)
{
	r->listener = l;
	if (same_isid)
		r->isid_low--;
	assert_int_equal(rig_login_plain(r, INI, IQN), 0);
	side_save(r, s);
}

static int vpd83_port_value(const uint8_t *b, uint8_t type)
{
	uint32_t len = 4 + (uint32_t)(b[2] << 8 | b[3]);

	for (uint32_t off = 4; off + 4 <= len; off += 4u + b[off + 3]) {
		const uint8_t *d = b + off;

		if ((d[1] & 0x0f) == type && ((d[1] >> 4) & 3) == 1)
			return d[6] << 8 | d[7];
	}
	return -1;
}

static void two_portal_groups_are_two_target_ports(void **state)
{
	struct rig *r = rig_new(conf);
	uint8_t vpd[16] = {0x12, 1, 0x83, 0x04, 0};
	struct side a, b;
	struct rig_scsi out;
	struct iscsi_server_stats st;

	login_via(r, 0, false, &a);
	/* the same initiator port through the other portal group: a second
	 * session, not a reinstatement of the first */
	login_via(r, 1, true, &b);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.sessions, 2);

	side_use(r, &a);
	rig_tur(r, 0, &out);
	rig_scsi(r, 0, vpd, 1024, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(vpd83_port_value(out.data, 4), 1);  /* rel port */
	assert_int_equal(vpd83_port_value(out.data, 5), 11); /* group */
	side_save(r, &a);

	side_use(r, &b);
	/* standby: INQUIRY runs (SPC-4 §5.15.2.4.4), before any attention */
	rig_scsi(r, 0, vpd, 1024, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(vpd83_port_value(out.data, 4), 2);
	assert_int_equal(vpd83_port_value(out.data, 5), 22);
	rig_free(r);
}

static void standby_port_refuses_reads_with_not_ready(void **state)
{
	struct rig *r = rig_new(conf);
	uint8_t rd[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	struct side a, b;
	struct rig_scsi out;

	login_via(r, 0, false, &a);
	login_via(r, 1, false, &b);
	side_use(r, &a);
	rig_tur(r, 0, &out);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.status, 0);
	side_save(r, &a);
	side_use(r, &b);
	rig_tur(r, 0, &out);
	/* SPC-4 §5.15.2.4.4: TEST UNIT READY is not a standby command */
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x2);
	assert_int_equal(out.asc, 0x040b);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.sense_key, 0x2);
	assert_int_equal(out.asc, 0x040b);
	side_save(r, &b);

	/* an implicit change (utargetctl's path) moves the roles */
	assert_int_equal(iscsi_server_alua_set(r->srv, NULL, 22, "active"), 0);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg", 11, "standby"), 0);
	assert_int_equal(iscsi_server_alua_set(r->srv, "nope", 11, "standby"),
			 -ENOENT);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg", 11, "sleepy"),
			 -EINVAL);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg", 99, "standby"),
			 -ENOENT);
	side_use(r, &b);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.sense_key, 0x6); /* ASYMMETRIC ACCESS STATE */
	assert_int_equal(out.asc, 0x2a06);    /* CHANGED */
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.status, 0);
	side_save(r, &b);
	side_use(r, &a);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x2a06);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x040b);
	rig_free(r);
}

static void stpg_through_one_port_tells_the_other(void **state)
{
	struct rig *r = rig_new(conf);
	uint8_t cdb[16] = {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 12};
	uint8_t list[12] = {
		0, 0, 0, 0, SCSI_ALUA_STANDBY, 0, 0, 11, SCSI_ALUA_OPTIMIZED,
		0, 0, 22};
	uint8_t rtpg[16] = {0xa3, 0x2a, 0, 0, 0, 0, 0, 0, 1, 0};
	struct side a, b;
	struct rig_scsi out;
	struct iscsi_bhs in;
	const struct ut_config *cfg;
	uint8_t *d = NULL;

	login_via(r, 0, false, &a);
	login_via(r, 1, false, &b);
	side_use(r, &a);
	rig_tur(r, 0, &out);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_WRITE, sizeof(list), list,
		      sizeof(list));
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(in.b3, 0);
	free(d);
	/* extended REPORT TARGET PORT GROUPS shows the new states */
	rig_scsi(r, 0, rtpg, 256, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data[4] & 0x70, 0x10);
	assert_int_equal(out.data[8] & 0x0f, SCSI_ALUA_STANDBY);
	assert_int_equal(out.data[8 + 5], 0x01); /* by STPG */
	assert_int_equal(out.data[8 + 12] & 0x0f, SCSI_ALUA_OPTIMIZED);
	side_save(r, &a);
	side_use(r, &b);
	rig_tur(r, 0, &out); /* power on, then the state change */
	assert_int_equal(out.status, 0);
	/* the running configuration shows them (utargetctl save keeps them) */
	cfg = iscsi_server_config(r->srv);
	assert_int_equal(cfg->dgroups[0].tgroups[0].state, SCSI_ALUA_STANDBY);
	assert_int_equal(cfg->dgroups[0].tgroups[1].state, SCSI_ALUA_OPTIMIZED);
	rig_free(r);
}

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

static void reconfigure(struct rig *r, struct ut_config *cfg,
			struct iscsi_reconf_result *res)
{
	char err[256];

	memset(res, 0, sizeof(*res));
	res->status = 1; /* no answer yet */
	assert_int_equal(ut_config_validate(cfg, NULL, NULL), 0);
	assert_int_equal(iscsi_server_reconfigure(r->srv, cfg, NULL,
						  reconf_done, res, err,
						  sizeof(err)),
			 0);
	for (int i = 0; i < 100 && res->status == 1; i++)
		fake_env_advance(r->env, 100000000ull);
	assert_int_equal(res->status, 0);
}

/* A reconfiguration (an edited file reloaded) that changes a target port
 * group's state sets it at once, with its unit attention; a device
 * removed leaves its device group, which is no change to note. */
static void reconfiguration_sets_states_removal_leaves_group(void **state)
{
	struct rig *r = rig_new(conf);
	uint8_t rd[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	struct iscsi_reconf_result res;
	struct ut_config cfg, first;
	struct rig_scsi out;
	enum scsi_alua_state st;
	struct side b;

	ut_config_init(&first);
	assert_int_equal(ut_config_copy(&first, iscsi_server_config(r->srv)),
			 0);
	login_via(r, 1, false, &b);
	rig_tur(r, 0, &out); /* power on */
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x040b); /* standby */

	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	cfg.dgroups[0].tgroups[1].state = SCSI_ALUA_NON_OPTIMIZED;
	reconfigure(r, &cfg, &res);
	assert_null(strstr(res.msg, "ALUA"));
	assert_int_equal(
		scsi_alua_get_state(iscsi_server_alua_group(r->srv, "dg"), 22,
				    &st),
		0);
	assert_int_equal(st, SCSI_ALUA_NON_OPTIMIZED);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x2a06);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.status, 0);
	ut_config_free(&cfg);

	/* lun remove: the device goes, and out of its group */
	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	assert_int_equal(ut_lun_remove(&cfg.targets[0], NULL, 0), 0);
	assert_false(ut_config_dev_used(&cfg, "d0"));
	assert_int_equal(ut_config_remove_dev(&cfg, "d0"), 0);
	assert_int_equal(cfg.dgroups[0].dev_count, 0);
	reconfigure(r, &cfg, &res);
	assert_null(strstr(res.msg, "ALUA"));
	assert_int_equal(iscsi_server_config(r->srv)->dgroups[0].dev_count, 0);
	ut_config_free(&cfg);

	/* the first file again: d0 comes back into the group, b standby */
	reconfigure(r, &first, &res);
	assert_null(strstr(res.msg, "ALUA"));
	rig_scsi(r, 0, rd, 512, &out); /* a new I_T nexus */
	assert_int_equal(out.asc, 0x2900);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x040b);
	ut_config_free(&first);
	rig_free(r);
}

static void sendtargets_names_each_portal_group(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_kvlist kv;
	struct side a;
	size_t n = 0;

	login_via(r, 0, false, &a);
	rig_sendtargets(r, "All", &kv);
	for (size_t i = 0; i < kv.n; i++) {
		if (strcmp(kv.v[i].key, "TargetAddress"))
			continue;
		n++;
		if (!strcmp(kv.v[i].value, "10.0.0.1:3260,1") ||
		    !strcmp(kv.v[i].value, "10.0.1.1:3260,7"))
			continue;
		fail_msg("TargetAddress %s", kv.v[i].value);
	}
	assert_int_equal(n, 2);
	iscsi_kvlist_free(&kv);
	rig_free(r);
}

/* ------------------------------------------------ the control socket */

static char reply_line[8192];

static void on_reply(void *arg, const char *line)
{
	snprintf(reply_line, sizeof(reply_line), "%s", line ? line : "");
}

static const char *ctl(struct ctl *c, const char *req)
{
	reply_line[0] = '\0';
	ctl_request(c, req, strlen(req), on_reply, NULL);
	return reply_line;
}

#define expect_in(hay, needle)                                              \
	do {                                                                \
		if (!strstr((hay), (needle)))                               \
			fail_msg("expected \"%s\" in %s", (needle), (hay)); \
	} while (0)

/* utargetctl alua / alua set: the groups, their states and port names;
 * a change is an implicit transition (ASYMMETRIC ACCESS STATE CHANGED)
 * and shows in the running configuration. */
static void control_alua_query_and_set(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);
	uint8_t rd[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	struct rig_scsi out;
	struct side a;
	const char *rep;
	char *text;
	size_t len;

	assert_non_null(c);
	login_via(r, 1, false, &a);
	rig_tur(r, 0, &out); /* standby: NOT READY after the power-on UA */
	assert_int_equal(out.asc, 0x040b);

	rep = ctl(c, "{\"version\":1,\"command\":\"alua\"}");
	expect_in(rep, "\"ok\":true");
	expect_in(rep, "\"name\":\"dg\"");
	expect_in(rep, "\"devices\":[\"d0\"]");
	expect_in(rep, "{\"id\":11,\"name\":\"a\",\"state\":\"active\"");
	expect_in(rep, "{\"id\":22,\"name\":\"b\",\"state\":\"standby\"");
	expect_in(rep, "{\"rel_tgt_id\":2,\"name\":\"" IQN ",t,0x0007\"}");

	/* by TARGET_GROUP name, the only device group implied */
	rep = ctl(c, "{\"version\":1,\"command\":\"alua set\",\"args\":"
		     "{\"tpg\":\"b\",\"state\":\"nonoptimized\"}}");
	expect_in(rep, "\"ok\":true");
	expect_in(rep, "\"state\":\"nonoptimized\"");
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.asc, 0x2a06);
	rig_scsi(r, 0, rd, 512, &out);
	assert_int_equal(out.status, 0);
	/* the running configuration follows */
	assert_int_equal(
		ut_config_write(iscsi_server_config(r->srv), &text, &len), 0);
	expect_in(text, "state nonoptimized");
	free(text);

	rep = ctl(c, "{\"version\":1,\"command\":\"alua set\",\"args\":"
		     "{\"group\":\"dg\",\"tpg\":33,\"state\":\"active\"}}");
	expect_in(rep, "has no target port group 33");
	rep = ctl(c, "{\"version\":1,\"command\":\"alua set\",\"args\":"
		     "{\"tpg\":11,\"state\":\"lba-dependent\"}}");
	expect_in(rep, "is not one of");
	rep = ctl(c, "{\"version\":1,\"command\":\"alua set\",\"args\":"
		     "{\"group\":\"x\",\"tpg\":11,\"state\":\"active\"}}");
	expect_in(rep, "no device group 'x'");
	rep = ctl(c, "{\"version\":1,\"command\":\"alua\",\"args\":"
		     "{\"group\":\"x\"}}");
	expect_in(rep, "\"ok\":false");
	ctl_free(c);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_portal_groups_are_two_target_ports),
		cmocka_unit_test(standby_port_refuses_reads_with_not_ready),
		cmocka_unit_test(stpg_through_one_port_tells_the_other),
		cmocka_unit_test(sendtargets_names_each_portal_group),
		cmocka_unit_test(control_alua_query_and_set),
		cmocka_unit_test(
			reconfiguration_sets_states_removal_leaves_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
