/*
 * test_reconf_targets.c — live changes of targets (iscsi/reconfig.c):
 * a second change while one is in progress is refused (-EBUSY, nothing
 * changed); disabling a target refuses new logins and keeps its
 * sessions, and with force asks them to log out (Async Message, RFC 7143
 * §11.9.1) and closes them after the grace; removing a target closes
 * its sessions and a later change adding it back serves logins again;
 * a LUN removed under a running command aborts it after drain_ms.
 * Through iscsi_server_reconfigure() on a server in the fake
 * environment (rig.h).
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

#define TGT "iqn.2026-11.org.utarget:rc"
#define INI "iqn.2026-11.org.test:rc"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
			   " DEVICE d1 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			   " TARGET " TGT "2 {\n  LUN 0 d1\n }\n"
			   "}\n";

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

/* The running configuration, copied, for a test to edit. */
static void running(struct rig *r, struct ut_config *cfg)
{
	ut_config_init(cfg);
	assert_int_equal(ut_config_copy(cfg, iscsi_server_config(r->srv)), 0);
}

static int start(struct rig *r, struct ut_config *cfg,
		 const struct iscsi_reconf_opts *o,
		 struct iscsi_reconf_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	res->status = 1; /* no answer yet */
	assert_int_equal(ut_config_validate(cfg, NULL, NULL), 0);
	return iscsi_server_reconfigure(r->srv, cfg, o, reconf_done, res, err,
					errlen);
}

static void wait_done(struct rig *r, struct iscsi_reconf_result *res)
{
	for (int i = 0; i < 100 && res->status == 1; i++)
		fake_env_advance(r->env, 100000000ull);
	assert_int_equal(res->status, 0);
	assert_true(res->applied);
}

static struct ut_target_cfg *target(struct ut_config *cfg, const char *iqn)
{
	struct ut_target_cfg *t = ut_config_find_target(cfg, iqn);

	assert_non_null(t);
	return t;
}

/* One change at a time: a second one asked for before the first has
 * answered is refused with -EBUSY and a message, and changes nothing;
 * asked again afterwards, it applies. */
static void a_second_change_while_one_runs_is_refused(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_result res, res2;
	struct ut_config a, b;
	char err[256] = "";

	(void)state;
	running(r, &a);
	target(&a, TGT)->alias[0] = 'x';
	running(r, &b);
	assert_int_equal(ut_config_remove_target(&b, TGT "2"), 0);
	assert_int_equal(start(r, &a, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(start(r, &b, NULL, &res2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "another change is still in progress"));
	wait_done(r, &res);
	assert_int_equal(res2.status, 1); /* never answered: refused */
	assert_int_equal(iscsi_server_config(r->srv)->target_count, 2);
	assert_int_equal(start(r, &b, NULL, &res2, err, sizeof(err)), 0);
	wait_done(r, &res2);
	assert_int_equal(iscsi_server_config(r->srv)->target_count, 1);
	ut_config_free(&a);
	ut_config_free(&b);
	rig_free(r);
}

/* Disabling a target without force: its session goes on, a new login
 * to it is refused; enabling it again admits logins. */
static void
a_disabled_target_keeps_its_sessions_and_refuses_logins(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_result res;
	struct fake_conn *first;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	first = r->c;
	running(r, &cfg);
	target(&cfg, TGT)->enabled = false;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_done(r, &res);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	assert_false(fake_conn_closed(first));
	assert_int_not_equal(rig_login_plain(r, INI, TGT), 0);
	target(&cfg, TGT)->enabled = true;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_done(r, &res);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	ut_config_free(&cfg);
	rig_free(r);
}

/* With force, the target's session gets an Async Message asking it to
 * log out (AsyncEvent 1, Parameter3 the grace in seconds) and is closed
 * when the grace (3 s) has passed without a logout. */
static void a_forced_disable_asks_for_logout_then_closes(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_opts o = {.force = true};
	struct iscsi_reconf_result res;
	struct iscsi_bhs h;
	struct ut_config cfg;
	uint8_t *d = NULL;
	char err[256];
	bool asked = false;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	running(r, &cfg);
	target(&cfg, TGT)->enabled = false;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	fake_env_advance(r->env, 0);
	while (fake_conn_pop_pdu(r->c, &h, &d) == 0) {
		if (h.opcode == ISCSI_OP_ASYNC_MSG)
			asked = true;
		free(d);
		d = NULL;
	}
	assert_true(asked);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 3500000000ull);
	assert_true(fake_conn_closed(r->c));
	wait_done(r, &res);
	ut_config_free(&cfg);
	rig_free(r);
}

/* Removing a target closes its sessions (the other target's stay); a
 * change that adds it back (its slot reused) serves logins again. */
static void a_removed_target_closes_its_sessions_and_can_come_back(void **state)
{
	struct rig *r = rig_new(conf);
	struct iscsi_reconf_result res;
	struct fake_conn *one, *two;
	struct ut_config without, with;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	one = r->c;
	assert_int_equal(rig_login_plain(r, INI, TGT "2"), 0);
	two = r->c;
	running(r, &with);
	running(r, &without);
	assert_int_equal(ut_config_remove_target(&without, TGT), 0);
	assert_int_equal(ut_config_remove_dev(&without, "d0"), 0);
	assert_int_equal(start(r, &without, NULL, &res, err, sizeof(err)), 0);
	wait_done(r, &res);
	assert_true(fake_conn_closed(one));
	assert_false(fake_conn_closed(two));
	assert_non_null(strstr(r->log, "event=target-removed"));
	assert_int_not_equal(rig_login_plain(r, INI, TGT), 0);
	assert_int_equal(start(r, &with, NULL, &res, err, sizeof(err)), 0);
	wait_done(r, &res);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	ut_config_free(&with);
	ut_config_free(&without);
	rig_free(r);
}

/* A LUN removed while a command of it runs (a SANITIZE OVERWRITE paced
 * at 1 MiB/s over 64 MiB, IMMED=0): the change waits drain_ms (100) for
 * it, then aborts it -- answered TASK ABORTED -- and reports it aborted;
 * the device goes once nothing uses it. */
static void a_removed_lun_aborts_what_still_runs_after_the_drain(void **state)
{
	static const char slow[] =
		"HANDLER vdisk_mem {\n DEVICE d0 { size 64M\n"
		"  sanitize_rate 1M }\n DEVICE d1 { size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n  LUN 1 d1\n }\n"
		"}\n";
	struct rig *r = rig_new(slow);
	struct iscsi_reconf_opts o = {.drain_ms = 100};
	struct iscsi_reconf_result res;
	uint8_t ow[16] = {0x48, 0x01, 0, 0, 0, 0, 0, 0, 8};
	uint8_t list[8] = {0x01, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};
	struct ut_config cfg;
	struct iscsi_bhs h;
	uint8_t *d = NULL;
	char err[256];
	bool answered = false;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	rig_scsi_send(r, 0, ow, ISCSI_CMD_F_WRITE, sizeof(list), list,
		      sizeof(list));
	fake_env_advance(r->env, 1000000ull);
	assert_int_equal(fake_conn_pop_pdu(r->c, &h, &d), -1); /* running */
	running(r, &cfg);
	assert_int_equal(ut_lun_remove(target(&cfg, TGT), NULL, 0), 0);
	assert_int_equal(ut_config_remove_dev(&cfg, "d0"), 0);
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	for (int i = 0; i < 200 && res.status == 1; i++) {
		fake_env_advance(r->env, 50000000ull);
		while (fake_conn_pop_pdu(r->c, &h, &d) == 0) {
			if (h.opcode == ISCSI_OP_SCSI_RSP && h.itt == r->itt) {
				assert_int_equal(h.b3, 0x40); /* TASK ABORTED */
				answered = true;
			}
			free(d);
			d = NULL;
		}
	}
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_int_equal(res.aborted, 1);
	assert_true(res.waited_ms >= 100);
	assert_true(answered);
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 1);
	ut_config_free(&cfg);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_second_change_while_one_runs_is_refused),
		cmocka_unit_test(
			a_disabled_target_keeps_its_sessions_and_refuses_logins),
		cmocka_unit_test(a_forced_disable_asks_for_logout_then_closes),
		cmocka_unit_test(
			a_removed_target_closes_its_sessions_and_can_come_back),
		cmocka_unit_test(
			a_removed_lun_aborts_what_still_runs_after_the_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
