/*
 * test_one_reactor.c — the target in an environment of one reactor
 * without mutexes (env.h: "Mutexes: NULL (and every operation a no-op)
 * with one reactor"; fake_env_new_unlocked()).  Every lock of the server,
 * its sessions and its LUs is then a no-op, and the server's work on
 * other sessions runs in place instead of through env_post: sessions
 * serve the same LU, a login with a live session's ISID reinstates it
 * (RFC 7143 §6.3.5), a LOGICAL UNIT RESET ends another session's task
 * waiting for Data-Out (TASK ABORTED, SAM-5 §5.6) and leaves a unit
 * attention on its nexus, TARGET COLD RESET ends every session (also
 * when its issuer's connection closed before it ended), a
 * session is listed and closed by TSIH (utargetctl), a live change
 * reaches the sessions (3Fh/0Eh), and shutdown asks for logouts and
 * ends the connections after the grace.
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

#define TGT "iqn.2026-11.org.utarget:one"
#define INI "iqn.2026-11.org.test:one"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
			   " DEVICE d1 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n  LUN 1 d1\n"
			   "  InitialR2T Yes\n  ImmediateData No\n }\n"
			   "}\n";

struct client {
	struct fake_conn *c;
	uint32_t cmdsn, itt;
	uint16_t isid_low;
};

static struct rig *rig_unlocked(void)
{
	return rig_new_on(conf, fake_env_new_unlocked(), NULL);
}

static void use(struct rig *r, const struct client *cl)
{
	r->c = cl->c;
	r->cmdsn = cl->cmdsn;
	r->itt = cl->itt;
	r->isid_low = cl->isid_low;
}

static void keep(const struct rig *r, struct client *cl)
{
	cl->cmdsn = r->cmdsn;
	cl->itt = r->itt;
}

/* Security stage of a login with ISID low bits isid_low. */
static void client_start(struct rig *r, struct client *cl, uint16_t isid_low)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	memset(cl, 0, sizeof(*cl));
	cl->c = fake_connect(r->env);
	assert_non_null(cl->c);
	cl->cmdsn = 1;
	cl->itt = 0x100;
	cl->isid_low = isid_low;
	use(r, cl);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
}

static void client_login(struct rig *r, struct client *cl, uint16_t isid_low)
{
	client_start(r, cl, isid_low);
	rig_login_finish(r);
	keep(r, cl);
}

static void client_scsi(struct rig *r, struct client *cl, uint64_t lun,
			uint8_t op, struct rig_scsi *out)
{
	uint8_t cdb[16] = {op};

	use(r, cl);
	rig_scsi(r, lun, cdb, op == 0x25 ? 8 : 0, out);
	keep(r, cl);
}

/* TEST UNIT READY until the power-on unit attention is gone. */
static void client_ready(struct rig *r, struct client *cl, uint64_t lun)
{
	struct rig_scsi out;

	use(r, cl);
	rig_tur(r, lun, &out);
	keep(r, cl);
	assert_int_equal(out.status, 0);
}

static void expect_ua(struct rig *r, struct client *cl, uint64_t lun,
		      uint8_t asc, uint8_t ascq)
{
	struct rig_scsi out;

	client_scsi(r, cl, lun, 0x00, &out);
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x6);
	assert_int_equal(out.asc, asc << 8 | ascq);
}

static void stats(struct rig *r, struct iscsi_server_stats *st)
{
	iscsi_server_get_stats(r->srv, st);
}

/* A WRITE(10) of 8 blocks at LBA 0 that waits for Data-Out (InitialR2T
 * Yes, no immediate data); *r2t is the R2T asking for it. */
static void client_write_waiting(struct rig *r, struct client *cl,
				 struct iscsi_bhs *r2t)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	use(r, cl);
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.flags = ISCSI_FLAG_FINAL | SCSI_TASK_SIMPLE | ISCSI_CMD_F_WRITE;
	h.lun = iscsi_lun_encode(0);
	h.itt = ++r->itt;
	h.w20 = 4096;
	h.w24 = r->cmdsn++;
	h.cdb[0] = 0x2a;
	h.cdb[8] = 8;
	rig_send(r, &h, NULL, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_R2T);
	free(d);
	*r2t = in;
	keep(r, cl);
}

static void client_answer_r2t(struct rig *r, struct client *cl,
			      const struct iscsi_bhs *r2t)
{
	static const uint8_t zeros[4096];
	struct iscsi_bhs h = {0};

	assert_true(r2t->w44 <= sizeof(zeros));
	use(r, cl);
	h.opcode = ISCSI_OP_DATA_OUT;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = iscsi_lun_encode(0);
	h.itt = r2t->itt;
	h.w20 = r2t->w20;
	h.w40 = r2t->w40;
	rig_send(r, &h, zeros, r2t->w44);
	keep(r, cl);
}

static uint8_t client_tmf(struct rig *r, struct client *cl, uint8_t fn)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	use(r, cl);
	h.opcode = ISCSI_OP_TMF_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | fn;
	h.lun = iscsi_lun_encode(0);
	h.itt = ++r->itt;
	h.w20 = ISCSI_RESERVED_TAG;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
	free(d);
	keep(r, cl);
	return in.b2;
}

/* Two sessions serve the same LUs; the server's lists and statistics
 * count them; hung up, both end. */
static void sessions_serve_and_are_counted_without_mutexes(void **state)
{
	struct rig *r = rig_unlocked();
	struct iscsi_session_info info[4];
	struct iscsi_server_stats st;
	struct client a, b;

	(void)state;
	client_login(r, &a, 1);
	client_login(r, &b, 2);
	client_ready(r, &a, 0);
	client_ready(r, &b, 1);
	stats(r, &st);
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.sessions, 2);
	assert_true(st.scsi_cmds >= 2);
	assert_int_equal(iscsi_server_sessions(r->srv, info, 4), 2);
	assert_string_equal(info[0].initiator, INI);
	assert_string_equal(info[0].target, TGT);
	assert_int_not_equal(info[0].tsih, info[1].tsih);
	fake_conn_hangup(a.c);
	fake_conn_hangup(b.c);
	fake_env_advance(r->env, 0);
	stats(r, &st);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.tasks, 0);
	rig_free(r);
}

/* RFC 7143 §6.3.5: a login with the ISID of a live session ends that
 * session; the final login response comes once it has ended. */
static void reinstatement_ends_the_old_session_first(void **state)
{
	struct rig *r = rig_unlocked();
	struct iscsi_server_stats st;
	struct client a, b;

	(void)state;
	client_login(r, &a, 7);
	client_ready(r, &a, 0);
	client_start(r, &b, 7);
	rig_login_finish(r);
	keep(r, &b);
	assert_true(fake_conn_closed(a.c));
	assert_false(fake_conn_closed(b.c));
	stats(r, &st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.connections, 1);
	/* a new nexus: its power-on unit attention (SAM-5 §6.3.1) */
	expect_ua(r, &b, 0, 0x29, 0x00);
	rig_free(r);
}

static const char conf_held[] =
	"HANDLER vdisk_fileio {\n DEVICE d0 { filename fake-hold:d0\n"
	" size 4M }\n}\n"
	"TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 d0\n }\n}\n";

/* ... and a session whose connection has gone but whose tasks have not
 * (closing, a READ held at the disk) is waited for the same way: the
 * login with its ISID completes once that READ has ended.  Before, it
 * completed at once, and an old WRITE still at the disk landed after
 * the new session's writes (scenario session_reinstatement_waits_for_a_
 * closing_sessions_tasks). */
static void reinstatement_waits_for_a_closing_sessions_tasks(void **state)
{
	uint8_t cdb[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8}; /* READ(10) */
	struct iscsi_server_stats st;
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct iscsi_bhs in;
	struct client a, b;
	uint8_t *d = NULL;
	struct rig *r;

	(void)state;
	fake_env_hold_disks(true);
	r = rig_new_on(conf_held, fake_env_new_unlocked(), NULL);
	client_login(r, &a, 7);
	client_ready(r, &a, 0);
	use(r, &a);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, 4096, NULL, 0);
	keep(r, &a);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_held_pending(), 1);
	fake_conn_hangup(a.c);
	fake_env_advance(r->env, 0);
	stats(r, &st);
	assert_int_equal(st.sessions, 1); /* closing: its READ is out */
	client_start(r, &b, 7);
	rig_text_add(&t, "HeaderDigest", "None");
	rig_text_add(&t, "DataDigest", "None");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	rig_text_free(&t);
	assert_false(rsp.transit); /* no answer yet */
	rig_login_rsp_free(&rsp);
	fake_env_advance(r->env, 1000000);
	assert_int_equal(fake_conn_pending(b.c), 0);
	assert_false(fake_conn_closed(b.c));
	/* the READ ends: the old session with it, and the login goes on */
	assert_int_equal(fake_held_complete(1), 1);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(b.c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
	assert_int_equal(in.w36 >> 16, 0);
	assert_true(in.flags & ISCSI_LOGIN_F_TRANSIT);
	keep(r, &b);
	stats(r, &st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.connections, 1);
	expect_ua(r, &b, 0, 0x29, 0x00);
	rig_free(r);
	fake_env_hold_disks(false);
}

/* A LOGICAL UNIT RESET from b ends a's WRITE waiting for Data-Out: TASK
 * ABORTED (TAS=1) once the Data-Out is in, and 29h on a's nexus. */
static void lu_reset_ends_another_sessions_waiting_task(void **state)
{
	struct rig *r = rig_unlocked();
	struct iscsi_server_stats st;
	struct iscsi_bhs r2t, in;
	struct client a, b;
	uint8_t *d = NULL;

	(void)state;
	client_login(r, &a, 1);
	client_login(r, &b, 2);
	client_ready(r, &a, 0);
	client_ready(r, &b, 0);
	client_write_waiting(r, &a, &r2t);
	assert_int_equal(client_tmf(r, &b, ISCSI_TMF_LOGICAL_UNIT_RESET),
			 ISCSI_TMF_RSP_COMPLETE);
	stats(r, &st);
	assert_int_equal(st.tasks, 1);
	client_answer_r2t(r, &a, &r2t);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(a.c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(in.b3, SCSI_STATUS_TASK_ABORTED);
	stats(r, &st);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	expect_ua(r, &a, 0, 0x29, 0x00);
	rig_free(r);
}

static void cold_reset_ends_every_session(void **state)
{
	struct rig *r = rig_unlocked();
	struct iscsi_server_stats st;
	struct client a, b;

	(void)state;
	client_login(r, &a, 1);
	client_login(r, &b, 2);
	assert_int_equal(client_tmf(r, &a, ISCSI_TMF_TARGET_COLD_RESET),
			 ISCSI_TMF_RSP_COMPLETE);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_closed(a.c));
	assert_true(fake_conn_closed(b.c));
	stats(r, &st);
	assert_int_equal(st.sessions, 0);
	rig_free(r);
}

/* ... also when the issuer's connection has closed before the reset
 * ends (its response is never sent): the reset was done, b's READ ended
 * by it, and RFC 7143 §11.5.1 has the target close every connection of
 * the target all the same.  Before, b's session stayed (round of
 * devattr21, scenario a_target_cold_reset_whose_issuer_left_still_
 * closes_the_other_sessions). */
static void cold_reset_of_a_closed_issuer_still_ends_every_session(void **state)
{
	uint8_t cdb[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8}; /* READ(10) */
	struct iscsi_server_stats st;
	struct iscsi_bhs h = {0};
	struct client a, b;
	struct rig *r;

	(void)state;
	fake_env_hold_disks(true);
	r = rig_new_on(conf_held, fake_env_new_unlocked(), NULL);
	client_login(r, &a, 1);
	client_login(r, &b, 2);
	client_ready(r, &a, 0);
	client_ready(r, &b, 0);
	use(r, &b);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, 4096, NULL, 0);
	keep(r, &b);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_held_pending(), 1);
	/* a's TARGET COLD RESET waits for b's READ */
	use(r, &a);
	h.opcode = ISCSI_OP_TMF_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | ISCSI_TMF_TARGET_COLD_RESET;
	h.itt = ++r->itt;
	h.w20 = ISCSI_RESERVED_TAG;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
	keep(r, &a);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(a.c), 0);
	fake_conn_hangup(a.c);
	fake_env_advance(r->env, 0);
	assert_false(fake_conn_closed(b.c));
	/* the READ ends (TASK ABORTED), and with it the reset */
	assert_int_equal(fake_held_complete(1), 1);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_closed(b.c));
	stats(r, &st);
	assert_int_equal(st.sessions, 0);
	rig_free(r);
	fake_env_hold_disks(false);
}

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

/* utargetctl: a session closed by its TSIH (another TSIH: -ENOENT); a
 * live change removing LUN 1 reaches the other session (3Fh/0Eh). */
static void a_session_closed_by_tsih_and_a_live_change(void **state)
{
	struct rig *r = rig_unlocked();
	struct iscsi_session_info info[2];
	struct iscsi_reconf_result res = {.status = 1};
	struct ut_config cfg;
	struct client a, b;
	char err[128];
	uint16_t tsih_a;

	(void)state;
	client_login(r, &a, 1);
	client_login(r, &b, 2);
	client_ready(r, &b, 0);
	assert_int_equal(iscsi_server_sessions(r->srv, info, 2), 2);
	tsih_a = info[0].isid[5] == 1 ? info[0].tsih : info[1].tsih;
	assert_int_equal(iscsi_server_close_session(
				 r->srv, (uint16_t)(info[0].tsih ^
						    info[1].tsih ^ 0x5a5a)),
			 -ENOENT);
	assert_int_equal(iscsi_server_close_session(r->srv, tsih_a), 0);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_closed(a.c));
	assert_false(fake_conn_closed(b.c));
	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	assert_int_equal(
		ut_lun_remove(ut_config_find_target(&cfg, TGT), NULL, 1), 0);
	assert_int_equal(iscsi_server_reconfigure(r->srv, &cfg, NULL,
						  reconf_done, &res, err,
						  sizeof(err)),
			 0);
	for (int i = 0; i < 50 && res.status == 1; i++)
		fake_env_advance(r->env, 10000000ull);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	expect_ua(r, &b, 0, 0x3f, 0x0e);
	ut_config_free(&cfg);
	rig_free(r);
}

static void shutdown_done(void *arg)
{
	*(int *)arg = 1;
}

/* Shutdown with a grace: an Async logout request to each session
 * (RFC 7143 §11.9.1), the connections ended when the grace is over. */
static void shutdown_asks_for_logouts_then_ends_connections(void **state)
{
	struct rig *r = rig_unlocked();
	struct client cl[2];
	struct iscsi_bhs in;
	uint8_t *d = NULL;
	int done = 0;

	(void)state;
	client_login(r, &cl[0], 1);
	client_login(r, &cl[1], 2);
	iscsi_server_shutdown(r->srv, 5000, shutdown_done, &done);
	fake_env_advance(r->env, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fake_conn_pop_pdu(cl[i].c, &in, &d), 0);
		assert_int_equal(in.opcode, ISCSI_OP_ASYNC_MSG);
		assert_int_equal(in.w36 >> 24, ISCSI_ASYNC_LOGOUT_REQUEST);
		free(d);
		d = NULL;
	}
	assert_false(done);
	fake_env_advance(r->env, 6000000000ull);
	assert_true(fake_conn_closed(cl[0].c));
	assert_true(fake_conn_closed(cl[1].c));
	assert_true(done);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			sessions_serve_and_are_counted_without_mutexes),
		cmocka_unit_test(reinstatement_ends_the_old_session_first),
		cmocka_unit_test(
			reinstatement_waits_for_a_closing_sessions_tasks),
		cmocka_unit_test(lu_reset_ends_another_sessions_waiting_task),
		cmocka_unit_test(cold_reset_ends_every_session),
		cmocka_unit_test(
			cold_reset_of_a_closed_issuer_still_ends_every_session),
		cmocka_unit_test(a_session_closed_by_tsih_and_a_live_change),
		cmocka_unit_test(
			shutdown_asks_for_logouts_then_ends_connections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
