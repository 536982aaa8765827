/*
 * test_reactors.c — the target with its connections on two reactors.
 *
 * fake_env_new_reactors() gives one world with two struct env faces:
 * connections accepted "on reactor 1" carry info.env = the second face, so
 * the target treats them as another thread's: work on them from reactor 0
 * goes through env_post(), which the fake queues until the next
 * fake_env_advance().  The fake's mutexes abort on a nested or unbalanced
 * lock, so every test here also checks the lock discipline.
 *
 * What crosses reactors: session reinstatement, a LOGICAL UNIT RESET
 * ending another session's task that waits for Data-Out, TARGET COLD
 * RESET, shutdown's Async logout requests, and the statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:mt"
#define INI "iqn.2026-11.org.test:ini"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n"
			   "  InitialR2T Yes\n  ImmediateData No\n }\n"
			   "}\n";

/* One initiator connection of the test: what the rig needs to talk on it. */
struct client {
	struct fake_conn *c;
	uint32_t cmdsn, itt;
	uint16_t isid_low;
};

static struct env *second;

static struct rig *rig_new_reactors(void)
{
	struct env *e = fake_env_new_reactors(&second);

	return rig_new_on(conf, e, second);
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

/* Log in on `reactor` (NULL: reactor 0) with ISID low bits isid_low. */
static void client_login(struct rig *r, struct client *cl, struct env *reactor,
			 uint16_t isid_low)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	memset(cl, 0, sizeof(*cl));
	cl->c = fake_connect_on(r->env, reactor);
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
	rig_login_finish(r);
	keep(r, cl);
}

static void client_tur(struct rig *r, struct client *cl, struct rig_scsi *out)
{
	use(r, cl);
	rig_tur(r, 0, out);
	keep(r, cl);
}

static void stats(struct rig *r, struct iscsi_server_stats *st)
{
	iscsi_server_get_stats(r->srv, st);
}

static void sessions_on_both_reactors_serve_the_same_lu(void **state)
{
	struct rig *r = rig_new_reactors();
	struct client a, b;
	struct rig_scsi out;
	struct iscsi_server_stats st;

	(void)state;
	client_login(r, &a, NULL, 1);
	client_login(r, &b, second, 2);
	client_tur(r, &a, &out);
	assert_int_equal(out.status, 0);
	client_tur(r, &b, &out);
	assert_int_equal(out.status, 0);
	stats(r, &st);
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.sessions, 2);
	assert_true(st.scsi_cmds >= 2); /* counted on both reactors */
	/* Both hang up: each session ends on its own reactor. */
	fake_conn_hangup(a.c);
	fake_conn_hangup(b.c);
	fake_env_advance(r->env, 0);
	stats(r, &st);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	rig_free(r);
}

/* RFC 7143 §6.3.5: a login with the ISID of a live session of the other
 * reactor closes that session there, and completes only once it has
 * ended (its tasks terminated, its nexus gone): the answer to the final
 * login request waits for the posts there and back. */
static void reinstatement_closes_the_old_session_on_its_reactor(void **state)
{
	struct rig *r = rig_new_reactors();
	struct client a, b;
	struct iscsi_server_stats st;
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct iscsi_bhs in;
	uint8_t *data = NULL;
	unsigned int posts;

	(void)state;
	client_login(r, &a, second, 7); /* old session: reactor 1 */
	posts = fake_env_posts_run(r->env);
	/* same ISID from reactor 0: security, then the final request */
	memset(&b, 0, sizeof(b));
	b.c = fake_connect_on(r->env, NULL);
	assert_non_null(b.c);
	b.cmdsn = 1;
	b.itt = 0x100;
	b.isid_low = 7;
	use(r, &b);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	memset(&t, 0, sizeof(t));
	rig_text_add(&t, "HeaderDigest", "None");
	rig_text_add(&t, "DataDigest", "None");
	rig_text_add(&t, "MaxRecvDataSegmentLength", "8192");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	/* The old connection closes on its own reactor: not yet; nor is
	 * the new login answered. */
	assert_int_equal(rsp.status, 0xffff);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	assert_false(fake_conn_closed(a.c));
	fake_env_advance(r->env, 0);
	assert_true(fake_env_posts_run(r->env) > posts);
	assert_true(fake_conn_closed(a.c));
	assert_false(fake_conn_closed(b.c));
	/* the old session gone, the login completes */
	assert_int_equal(fake_conn_pop_pdu(b.c, &in, &data), 0);
	assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
	assert_int_equal(in.w36 >> 16, 0);
	assert_true(in.flags & ISCSI_LOGIN_F_TRANSIT);
	free(data);
	keep(r, &b);
	stats(r, &st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.connections, 1);
	rig_free(r);
}

/* A WRITE whose data the target will ask for with an R2T. */
/* A WRITE that waits for Data-Out; *r2t is the R2T that asks for it. */
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
	h.cdb[0] = 0x2a; /* WRITE(10) of 8 blocks at LBA 0 */
	h.cdb[8] = 8;
	rig_send(r, &h, NULL, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_R2T);
	free(d);
	*r2t = in;
	keep(r, cl);
}

/* Send, in one Data-Out, the zeros an R2T asks for. */
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

/* A reset whose other sessions are on the other reactor: RFC 7143
 * §11.5.1, its response follows the work posted there (which ends their
 * waiting tasks), so nothing comes back before the posts run. */
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
	assert_int_equal(fake_conn_pending(r->c), 0);
	fake_env_advance(r->env, 0); /* the posts, and the release back */
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
	free(d);
	keep(r, cl);
	return in.b2;
}

static void lu_reset_ends_a_waiting_task_of_the_other_reactor(void **state)
{
	struct rig *r = rig_new_reactors();
	struct client a, b;
	struct rig_scsi out;
	struct iscsi_server_stats st;
	struct iscsi_bhs r2t, in;
	uint8_t *d = NULL;

	(void)state;
	client_login(r, &a, NULL, 1);
	client_login(r, &b, second, 2);
	client_tur(r, &a, &out);
	client_tur(r, &b, &out);
	client_write_waiting(r, &a, &r2t); /* reactor 0 waits for data */
	stats(r, &st);
	assert_int_equal(st.tasks, 1);
	/* the abort posted to reactor 0 runs before the response */
	assert_int_equal(client_tmf(r, &b, ISCSI_TMF_LOGICAL_UNIT_RESET),
			 ISCSI_TMF_RSP_COMPLETE);
	/* SAM-5 §5.6, TAS=1: the write ends with TASK ABORTED once the
	 * Data-Out its R2T asked for is in. */
	stats(r, &st);
	assert_int_equal(st.tasks, 1);
	assert_int_equal(fake_conn_pending(a.c), 0);
	client_answer_r2t(r, &a, &r2t);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(a.c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(in.b3, SCSI_STATUS_TASK_ABORTED);
	stats(r, &st);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	/* The reset reached a's nexus as a unit attention. */
	use(r, &a);
	{
		uint8_t cdb[16] = {0};

		rig_scsi(r, 0, cdb, 0, &out);
	}
	keep(r, &a);
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x6);
	assert_int_equal(out.asc >> 8, 0x29);
	rig_free(r);
}

static void cold_reset_ends_the_sessions_of_both_reactors(void **state)
{
	struct rig *r = rig_new_reactors();
	struct client a, b;
	struct iscsi_server_stats st;

	(void)state;
	client_login(r, &a, NULL, 1);
	client_login(r, &b, second, 2);
	assert_int_equal(client_tmf(r, &a, ISCSI_TMF_TARGET_COLD_RESET),
			 ISCSI_TMF_RSP_COMPLETE);
	fake_env_advance(r->env, 0); /* the close posted to reactor 1 */
	assert_true(fake_conn_closed(a.c));
	assert_true(fake_conn_closed(b.c));
	stats(r, &st);
	assert_int_equal(st.sessions, 0);
	rig_free(r);
}

static void shutdown_done(void *arg)
{
	*(int *)arg = 1;
}

static void shutdown_asks_initiators_of_both_reactors_to_log_out(void **state)
{
	struct rig *r = rig_new_reactors();
	struct client cl[2];
	struct iscsi_bhs in;
	uint8_t *d = NULL;
	int done = 0;

	(void)state;
	client_login(r, &cl[0], NULL, 1);
	client_login(r, &cl[1], second, 2);
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
	/* Nobody logs out: the grace period ends every connection. */
	fake_env_advance(r->env, 6000000000ull);
	assert_true(fake_conn_closed(cl[0].c));
	assert_true(fake_conn_closed(cl[1].c));
	assert_true(done);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sessions_on_both_reactors_serve_the_same_lu),
		cmocka_unit_test(
			reinstatement_closes_the_old_session_on_its_reactor),
		cmocka_unit_test(
			lu_reset_ends_a_waiting_task_of_the_other_reactor),
		cmocka_unit_test(cold_reset_ends_the_sessions_of_both_reactors),
		cmocka_unit_test(
			shutdown_asks_initiators_of_both_reactors_to_log_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
