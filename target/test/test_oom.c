/*
 * test_oom.c — out of memory never loses an answer silently.
 *
 * The policy (iscsi_conn_fail_soon() in conn.c): a PDU the target must
 * send but cannot allocate -- a SCSI Response, Data-In, R2T, NOP-In, Text
 * or TMF response, Reject, Login response, Async logout request -- closes
 * the connection at the next flush, a safe point, and nothing more is sent
 * on it.  The initiator recovers from a dropped connection; from an answer
 * that silently never comes it recovers only after its own timeouts, if
 * at all (issue 12).
 *
 * This binary links libutarget_oom.a: the target library with malloc,
 * calloc, realloc and strdup renamed to oom_* (objcopy --redefine-sym, see
 * the Makefile), so that a test makes the target's own allocations fail
 * while the fake environment and cmocka allocate as usual.
 */
#include <errno.h>
#include <execinfo.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"
#include "scsi_rig.h"

#include "iscsi/iscsi_int.h"

#define TGT "iqn.2026-11.org.utarget:oom"
#define INI "iqn.2026-11.org.test:oom"

static const char sendtargets_all[] = "SendTargets=All";

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			   "}\n";

/* ------------------------------------------- the target's allocator */

static bool oom_on;	   /* failing allocations */
static size_t oom_size;	   /* ... of this size only (0: any) */
static long oom_countdown; /* > 0: fail once this many have passed */
static unsigned long oom_failed;

static bool oom_fail(size_t n)
{
	if (oom_countdown > 0) {
		if (--oom_countdown > 0)
			return false;
		oom_failed++;
		if (getenv("OOM_DEBUG")) {
			void *bt[16];
			int k = backtrace(bt, 16);

			fprintf(stderr, "failing an allocation of %zu bytes\n",
				n);
			backtrace_symbols_fd(bt, k, 2);
		}
		return true; /* one failure, then allocations work again */
	}
	if (!oom_on || (oom_size && n != oom_size))
		return false;
	oom_failed++;
	return true;
}

void *oom_malloc(size_t n)
{
	return oom_fail(n) ? NULL : malloc(n);
}

void *oom_calloc(size_t k, size_t n)
{
	return oom_fail(k * n) ? NULL : calloc(k, n);
}

void *oom_realloc(void *p, size_t n)
{
	return oom_fail(n) ? NULL : realloc(p, n);
}

char *oom_strdup(const char *s)
{
	return oom_fail(strlen(s) + 1) ? NULL : strdup(s);
}

static void oom_off(void)
{
	oom_on = false;
	oom_size = 0;
	oom_countdown = 0;
}

/* ------------------------------------------------------------ rig */

static struct rig *oom_rig(void)
{
	struct rig *r;

	oom_off();
	oom_failed = 0;
	r = rig_new(conf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	return r;
}

/* Empty the reactor's recycled PDUs, tasks and buffers, so that what the
 * target sends next allocates. */
static void drain_pools(struct rig *r)
{
	iscsi_pools_drain(iscsi_server_reactor(r->srv, r->env));
}

static void expect_closed_and_clean(struct rig *r)
{
	struct iscsi_server_stats st;
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	fake_env_advance(r->env, 0); /* the flush timer's safe point */
	assert_true(fake_conn_closed(r->c));
	/* nothing was sent once the answer could not be */
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), -1);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	assert_int_equal(st.owed, 0);
}

/* ---------------------------------------------------- one PDU each */

/* RFC 7143 §11.18: a NOP-Out with a valid ITT asks for a NOP-In.  Before
 * issue 12 a NOP-In that could not be allocated was dropped and the
 * connection stayed up: the initiator's ping went unanswered. */
static void nop_in_without_memory_closes_the_connection(void **state)
{
	struct rig *r = oom_rig();

	(void)state;
	drain_pools(r);
	oom_on = true;
	oom_size = sizeof(struct iscsi_txpdu);
	rig_nop_out(r, "ping", 4);
	oom_off();
	assert_true(oom_failed > 0);
	expect_closed_and_clean(r);
	rig_free(r);
}

/* RFC 7143 §11.5: every TMF request gets a TMF response. */
static void tmf_response_without_memory_closes_the_connection(void **state)
{
	struct rig *r = oom_rig();

	(void)state;
	drain_pools(r);
	oom_on = true;
	oom_size = sizeof(struct iscsi_txpdu);
	rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, 0x4242, r->cmdsn - 1);
	oom_off();
	assert_true(oom_failed > 0);
	expect_closed_and_clean(r);
	rig_free(r);
}

/* RFC 7143 §11.10: a Text request gets a Text response. */
static void text_response_without_memory_closes_the_connection(void **state)
{
	struct rig *r = oom_rig();

	(void)state;
	drain_pools(r);
	oom_on = true;
	oom_size = sizeof(struct iscsi_txpdu);
	rig_text_send(r, sendtargets_all, sizeof(sendtargets_all));
	oom_off();
	assert_true(oom_failed > 0);
	expect_closed_and_clean(r);
	rig_free(r);
}

/* A READ whose Data-In PDU cannot be allocated: the connection closes,
 * and the task and its buffer are freed once (the old close, made in the
 * middle of task_respond(), freed the task under it). */
static void data_in_without_memory_closes_and_frees_the_task(void **state)
{
	struct rig *r = oom_rig();
	uint8_t cdb[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8}; /* READ(10) */
	struct rig_scsi out;

	(void)state;
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	drain_pools(r);
	oom_on = true;
	oom_size = sizeof(struct iscsi_txpdu);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, 8 * 512, NULL, 0);
	oom_off();
	assert_true(oom_failed > 0);
	expect_closed_and_clean(r);
	rig_free(r);
}

static int shutdown_done;

static void on_shutdown_done(void *arg)
{
	(void)arg;
	shutdown_done++;
}

/* RFC 7143 §11.9.1: at shutdown each initiator is asked to log out.  One
 * that cannot be asked (no PDU) is closed at once instead of waiting out
 * the grace period for a request it never got. */
static void async_logout_without_memory_closes_the_connection(void **state)
{
	struct rig *r = oom_rig();

	(void)state;
	shutdown_done = 0;
	drain_pools(r);
	oom_on = true;
	oom_size = sizeof(struct iscsi_txpdu);
	iscsi_server_shutdown(r->srv, 3000, on_shutdown_done, NULL);
	oom_off();
	assert_true(oom_failed > 0);
	fake_env_advance(r->env, 1000000); /* 1 ms: long before the grace */
	assert_true(fake_conn_closed(r->c));
	assert_int_equal(shutdown_done, 1);
	rig_free(r);
}

/* ---------------------------------------------------------- a sweep */

/* Read PDUs until the one that answers itt; false if the connection
 * closed first (and nothing is left to read). */
static bool answered(struct rig *r, uint32_t itt, uint8_t opcode)
{
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	fake_env_advance(r->env, 0);
	if (getenv("OOM_DEBUG"))
		fprintf(stderr, "step: itt 0x%x opcode 0x%02x\n", itt, opcode);
	while (fake_conn_pop_pdu(r->c, &in, &d) == 0) {
		struct iscsi_bhs rejected = {0};
		bool reject_of_it;

		if (in.opcode == ISCSI_OP_REJECT && d &&
		    in.data_len >= ISCSI_BHS_LEN)
			iscsi_bhs_decode(d, &rejected);
		reject_of_it = in.opcode == ISCSI_OP_REJECT &&
			       rejected.itt == itt;

		free(d);
		d = NULL;
		/* RFC 7143 §11.17: a Reject (out of resources, say) ends
		 * the request too */
		if (reject_of_it)
			return true;
		if (in.itt != itt)
			continue;
		if (in.opcode == opcode && (opcode != ISCSI_OP_DATA_IN ||
					    (in.flags & ISCSI_DATAIN_F_STATUS)))
			return true;
		/* a READ may end in a SCSI Response (TASK SET FULL) */
		if (opcode == ISCSI_OP_DATA_IN &&
		    in.opcode == ISCSI_OP_SCSI_RSP)
			return true;
	}
	/* Not answered: then the connection must be closed -- never a
	 * request left hanging on a live connection. */
	assert_true(fake_conn_closed(r->c));
	return false;
}

/* The n-th allocation of the target after login fails, for every n from
 * the first until a whole exchange passes without one: each request is
 * answered, or the connection closes, and nothing leaks. */
static void every_failed_allocation_answers_or_closes(void **state)
{
	uint8_t tur[16] = {0}, rd[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8};
	uint8_t wr[16] = {0x2a, 0, 0, 0, 0, 8, 0, 0, 4};
	uint8_t data[4 * 512];
	long n;

	(void)state;
	memset(data, 0x5a, sizeof(data));
	for (n = 1;; n++) {
		struct rig *r = oom_rig();
		struct iscsi_server_stats st;
		bool up = true;
		long left;

		if (getenv("OOM_DEBUG"))
			fprintf(stderr, "allocation %ld fails\n", n);
		rig_tur(r, 0, &(struct rig_scsi){0});
		drain_pools(r);
		oom_countdown = n;
		rig_scsi_send(r, 0, tur, 0, 0, NULL, 0);
		up = answered(r, r->itt, ISCSI_OP_SCSI_RSP);
		if (up) {
			rig_scsi_send(r, 0, wr, ISCSI_CMD_F_WRITE, sizeof(data),
				      data, sizeof(data));
			up = answered(r, r->itt, ISCSI_OP_SCSI_RSP);
		}
		if (up) {
			rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 8 * 512, NULL,
				      0);
			up = answered(r, r->itt, ISCSI_OP_DATA_IN);
		}
		if (up) {
			rig_nop_out(r, "ping", 4);
			up = answered(r, r->itt, ISCSI_OP_NOP_IN);
		}
		if (up) {
			rig_text_send(r, sendtargets_all,
				      sizeof(sendtargets_all));
			up = answered(r, r->itt, ISCSI_OP_TEXT_RSP);
		}
		if (up) {
			rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, 0x4242,
				     r->cmdsn - 1);
			up = answered(r, r->itt, ISCSI_OP_TMF_RSP);
		}
		if (up) {
			rig_logout_send(r);
			up = answered(r, r->itt, ISCSI_OP_LOGOUT_RSP);
			fake_env_advance(r->env, 0);
		}
		left = oom_countdown; /* > 0: the n-th allocation never came */
		oom_off();
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.tasks, 0);
		assert_int_equal(st.buffer_bytes, 0);
		assert_int_equal(st.owed, 0);
		assert_int_equal(st.sessions, 0);
		rig_free(r);
		if (left > 0)
			break; /* every allocation of the exchange was failed */
	}
	assert_true(n > 5); /* the exchange does allocate */
}

/* ------------------------------------------- a reconfiguration sweep */

/* d0 grown, d1 added, LUN 1 added to the target, a second target. */
static const char conf_next[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 8M }\n"
				" DEVICE d1 { size 4M }\n}\n"
				"TARGET_DRIVER iscsi {\n"
				" TARGET " TGT
				" {\n  LUN 0 d0\n  LUN 1 d1\n }\n"
				" TARGET " TGT "2 {\n  LUN 0 d1\n }\n"
				"}\n";

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

/* Reconfigure to cfg: -errno refused at once, or the operation's answer
 * (res) once it came (res->status 1: none within 10 s). */
static int reconfigure(struct rig *r, const struct ut_config *cfg,
		       struct iscsi_reconf_result *res)
{
	char err[256];
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = 1; /* no answer yet */
	rc = iscsi_server_reconfigure(r->srv, cfg, NULL, reconf_done, res, err,
				      sizeof(err));
	for (int i = 0; !rc && i < 100 && res->status == 1; i++)
		fake_env_advance(r->env, 100000000ull);
	return rc;
}

/* The running configuration is the old one (one target, LUN 0 on d0) or
 * the new one, whole: never a mix. */
static bool running_is_new(struct rig *r)
{
	const struct ut_config *c = iscsi_server_config(r->srv);

	if (c->target_count == 1) {
		assert_int_equal(c->targets[0].lun_count, 1);
		assert_int_equal(c->dev_count, 1);
		return false;
	}
	assert_int_equal(c->target_count, 2);
	assert_int_equal(c->targets[0].lun_count, 2);
	assert_int_equal(c->dev_count, 2);
	return true;
}

/* The n-th allocation of a reconfiguration (a device grown, one added, a
 * LUN and a target added) fails, for every n until one passes without
 * any: the change is refused with nothing changed, or applied whole; the
 * session keeps answering on LUN 0; a refused change applies when asked
 * again with memory; nothing leaks (unit-asan). */
static void
every_failed_allocation_of_a_reconfiguration_refuses_or_applies(void **state)
{
	unsigned int refused = 0, applied = 0;
	long n;

	(void)state;
	for (n = 1;; n++) {
		struct rig *r = oom_rig();
		struct iscsi_reconf_result res;
		struct iscsi_server_stats st;
		struct ut_config cfg;
		struct rig_scsi out;
		long left;
		int rc;

		ut_config_init(&cfg);
		assert_int_equal(ut_config_parse(&cfg, "next.conf", conf_next,
						 strlen(conf_next), NULL, NULL),
				 0);
		assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
		rig_tur(r, 0, &out);
		assert_int_equal(out.status, 0);
		oom_countdown = n;
		rc = reconfigure(r, &cfg, &res);
		left = oom_countdown; /* > 0: the n-th allocation never came */
		oom_off();
		if (rc == 0)
			assert_int_not_equal(res.status, 1); /* answered */
		if (rc == 0 && res.status == 0)
			assert_true(res.applied);
		if (running_is_new(r)) {
			assert_true(rc == 0 && res.applied);
			applied++;
		} else {
			assert_true(rc != 0 || !res.applied);
			refused++;
			/* nothing half-done stands in the way of a retry */
			assert_int_equal(reconfigure(r, &cfg, &res), 0);
			assert_int_equal(res.status, 0);
			assert_true(running_is_new(r));
		}
		/* the session answers (after its unit attentions) */
		rig_tur(r, 0, &out);
		assert_int_equal(out.status, 0);
		assert_false(fake_conn_closed(r->c));
		ut_config_free(&cfg);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.sessions, 1);
		rig_free(r);
		if (left > 0)
			break; /* every allocation of the change was failed */
	}
	assert_true(n > 5);	  /* the change does allocate */
	assert_true(refused > 0); /* and failing it refuses it */
	assert_true(applied > 0); /* the last run at least */
}

/* ------------------------------------------- the configuration sweep */

/* Every kind of block and attribute the configuration holds. */
static const char conf_full[] =
	"HANDLER vdisk_fileio {\n"
	"  DEVICE disk0 {\n    filename \"/srv/with space/d0.img\"\n"
	"    size 4G\n    blocksize 4096\n    lb_per_pb_exp 1\n"
	"    thin_provisioned 1\n    t10_vendor_id ACME\n"
	"    prod_id \"quoted \\\"prod\\\"\"\n    usn abc123\n  }\n"
	"}\n"
	"HANDLER vdisk_blockio { DEVICE blk { filename /dev/sdz\n"
	"  write_through 1\n nv_cache 1\n removable 1 } }\n"
	"HANDLER vdisk_nullio { DEVICE z { size 1T\n read_only 1 } }\n"
	"HANDLER vdisk_mem { DEVICE m { size 64M\n t10_dev_id other\n"
	"  sanitize_rate 1G\n expl_alua 1 } }\n"
	"TARGET_DRIVER iscsi {\n"
	"  enabled 1\n  portal 127.0.0.1:3260\n  portal [::1]:3261\n"
	"  PORTAL_GROUP 2 {\n    portal 10.0.1.1:3260\n  }\n"
	"  IncomingUser disco discosecret12\n"
	"  OutgoingUser dout \"secret with blanks\"\n"
	"  MaxBurstLength 524288\n  FirstBurstLength 65536\n"
	"  HeaderDigest CRC32C\n  InitialR2T Yes\n"
	"  TARGET iqn.2026-11.org.utarget:a {\n"
	"    enabled 0\n    alias \"the a target\"\n"
	"    allowed_portal 127.0.0.*\n"
	"    IncomingUser alice alicesecret12\n"
	"    IncomingUser bob bobsecret1234\n"
	"    OutgoingUser tgt targetsecret1\n"
	"    QueuedCommands 64\n    MaxSessions 7\n    ImmediateData No\n"
	"    DataDigest None,CRC32C\n"
	"    LUN 0 disk0\n    LUN 3 z { read_only 1 }\n"
	"    GROUP hosts {\n      INITIATOR iqn.1993-08.org.debian:*\n"
	"      INITIATOR !iqn.1993-08.org.debian:01:bad\n"
	"      LUN 0 m\n      LUN 1 blk { read_only 1 }\n    }\n"
	"    GROUP empty { }\n"
	"  }\n"
	"  TARGET iqn.2026-11.org.utarget:b { LUN 0 m }\n"
	"}\n"
	"DEVICE_GROUP dg {\n  DEVICE m\n  implicit_transition_time 9\n"
	"  TARGET_GROUP east {\n    group_id 10\n    state active\n"
	"    preferred 1\n    TARGET iqn.2026-11.org.utarget:b,t,0x0001\n"
	"    TARGET iqn.2026-11.org.utarget:a,t,0x0001\n"
	"  }\n"
	"  TARGET_GROUP west {\n    group_id 20\n    state nonoptimized\n"
	"    TARGET iqn.2026-11.org.utarget:b,t,0x2\n"
	"    TARGET iqn.2026-11.org.utarget:a,t,0x2\n"
	"    TARGET iqn.x:peer,t,0x1 {\n      rel_tgt_id 9\n    }\n"
	"  }\n"
	"}\n";

/* The n-th allocation of parsing, validating, copying and writing a
 * configuration fails, for every n until the whole passes without one:
 * the step that met it fails (nothing is silently dropped), and whatever
 * succeeded is right (the copy equal to the original, the text written
 * parsing back into an equal configuration); nothing leaks (unit-asan). */
static void every_failed_allocation_of_a_configuration_is_an_error(void **state)
{
	unsigned int failed_runs = 0;
	long n;

	(void)state;
	for (n = 1;; n++) {
		struct ut_config a, b, c;
		char *text = NULL;
		size_t len = 0;
		unsigned long failed;
		long left;
		int rc;

		ut_config_init(&a);
		ut_config_init(&b);
		ut_config_init(&c);
		oom_failed = 0;
		oom_countdown = n;
		rc = ut_config_parse(&a, "oom.conf", conf_full,
				     strlen(conf_full), NULL, NULL);
		if (!rc)
			rc = ut_config_validate(&a, NULL, NULL);
		if (!rc)
			rc = ut_config_copy(&b, &a);
		if (!rc)
			rc = ut_config_write(&b, &text, &len);
		left = oom_countdown; /* > 0: the n-th allocation never came */
		failed = oom_failed;
		oom_off();
		if (failed) {
			if (rc == 0)
				fail_msg("allocation %ld failed unnoticed", n);
			failed_runs++;
		} else {
			assert_int_equal(rc, 0);
			assert_true(ut_config_equal(&a, &b));
			assert_int_equal(strlen(text), len);
			assert_int_equal(ut_config_parse(&c, "w.conf", text,
							 len, NULL, NULL),
					 0);
			assert_true(ut_config_equal(&c, &a));
		}
		free(text);
		ut_config_free(&a);
		ut_config_free(&b);
		ut_config_free(&c);
		if (left > 0)
			break; /* every allocation of the whole was failed */
	}
	assert_true(failed_runs > 20); /* the whole does allocate */
}

/* ------------------------------------------------- the login sweep */

/* One login request from csg to nsg (transit) with text t; the status
 * of the response (class << 8 | detail), or 0xffff when none came.  The
 * response's text is not parsed: that would allocate in the target's
 * library, where the n-th allocation is to fail. */
static uint16_t login_step(struct rig *r, int csg, int nsg,
			   const struct rig_text *t)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;
	uint16_t st = 0xffff;

	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = (uint8_t)(csg << 2 | ISCSI_LOGIN_F_TRANSIT | nsg);
	h.lun = (0x400001370000ull | r->isid_low) << 16;
	h.itt = 1;
	h.w24 = r->cmdsn;
	rig_send(r, &h, t->buf, (uint32_t)t->len);
	fake_env_advance(r->env, 0);
	while (fake_conn_pop_pdu(r->c, &in, &d) == 0) {
		free(d);
		d = NULL;
		assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
		st = (uint16_t)(in.w36 >> 16);
	}
	return st;
}

/* The n-th allocation of the target from a connection's arrival to a
 * command answered in full feature phase fails, for every n until the
 * whole passes: the login is answered (an error status, or on to full
 * feature phase) or the connection closed -- never left waiting on an
 * open connection; the server takes a new login afterwards; nothing
 * leaks (unit-asan). */
static void every_failed_allocation_of_a_login_answers_or_closes(void **state)
{
	uint8_t tur[16] = {0};
	unsigned int refused = 0;
	long n;

	(void)state;
	for (n = 1;; n++) {
		struct rig_text sec = {0}, op = {0};
		struct iscsi_server_stats st;
		struct rig *r;
		uint16_t status;
		bool up;
		long left;

		oom_off();
		r = rig_new(conf);
		rig_text_identity(&sec, INI, TGT);
		rig_text_add(&sec, "AuthMethod", "None");
		rig_text_add(&op, "HeaderDigest", "None");
		rig_text_add(&op, "DataDigest", "None");
		rig_text_add(&op, "MaxRecvDataSegmentLength", "8192");
		rig_text_add(&op, "MaxBurstLength", "65536");
		rig_text_add(&op, "InitialR2T", "No");
		rig_text_add(&op, "ImmediateData", "Yes");
		rig_text_add(&op, "X-com.example.unknown", "1");
		oom_countdown = n;
		rig_connect(r);
		status = login_step(r, ISCSI_STAGE_SECURITY,
				    ISCSI_STAGE_OPERATIONAL, &sec);
		if (status == 0)
			status = login_step(r, ISCSI_STAGE_OPERATIONAL,
					    ISCSI_STAGE_FULL_FEATURE, &op);
		up = status == 0 && !fake_conn_closed(r->c);
		if (up) {
			rig_scsi_send(r, 0, tur, 0, 0, NULL, 0);
			up = answered(r, r->itt, ISCSI_OP_SCSI_RSP);
		}
		left = oom_countdown; /* > 0: the n-th allocation never came */
		oom_off();
		fake_env_advance(r->env, 0);
		if (!up) {
			/* answered with an error, or closed: never silent */
			assert_true(status != 0xffff || fake_conn_closed(r->c));
			refused++;
		}
		/* the server takes the next login */
		assert_int_equal(rig_login_plain(r, INI, TGT), 0);
		rig_tur(r, 0, &(struct rig_scsi){0});
		rig_logout(r);
		fake_env_advance(r->env, 0);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.tasks, 0);
		assert_int_equal(st.owed, 0);
		rig_text_free(&sec);
		rig_text_free(&op);
		rig_free(r);
		if (left > 0)
			break; /* every allocation of the whole was failed */
	}
	assert_true(refused > 5); /* the login does allocate */
}

/* ------------------------------------------ a sweep of SCSI commands */

struct oom_cmd {
	const char *what;
	uint8_t cdb[16];
	uint8_t flags;	   /* ISCSI_CMD_F_READ / _WRITE */
	uint32_t edtl;	   /* expected data transfer length */
	uint32_t data_len; /* immediate Data-Out from data */
	uint8_t data[64];
};

/* Commands whose service allocates: reservations (REGISTER, READ FULL
 * STATUS, RESERVE), the reporting commands, provisioning and the atomic
 * ones. */
static const struct oom_cmd oom_cmds[] = {
	{"PR OUT REGISTER, APTPL",
	 {0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24},
	 ISCSI_CMD_F_WRITE,
	 24,
	 24,
	 {[15] = 0x42, [20] = 0x01}},
	{"PR OUT RESERVE",
	 {0x5f, 0x01, 0x01, 0, 0, 0, 0, 0, 24},
	 ISCSI_CMD_F_WRITE,
	 24,
	 24,
	 {[7] = 0x42}},
	{"PR IN READ FULL STATUS",
	 {0x5e, 0x03, 0, 0, 0, 0, 0, 0x04, 0},
	 ISCSI_CMD_F_READ,
	 1024,
	 0,
	 {0}},
	{"PR IN READ RESERVATION",
	 {0x5e, 0x01, 0, 0, 0, 0, 0, 0, 64},
	 ISCSI_CMD_F_READ,
	 64,
	 0,
	 {0}},
	{"PR OUT RELEASE",
	 {0x5f, 0x02, 0x01, 0, 0, 0, 0, 0, 24},
	 ISCSI_CMD_F_WRITE,
	 24,
	 24,
	 {[7] = 0x42}},
	{"REPORT SUPPORTED OPCODES, timeouts",
	 {0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0},
	 ISCSI_CMD_F_READ,
	 4096,
	 0,
	 {0}},
	{"REPORT SUPPORTED TMFS",
	 {0xa3, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 16},
	 ISCSI_CMD_F_READ,
	 16,
	 0,
	 {0}},
	{"REPORT LUNS",
	 {0xa0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0},
	 ISCSI_CMD_F_READ,
	 256,
	 0,
	 {0}},
	{"INQUIRY device identification",
	 {0x12, 0x01, 0x83, 0x01, 0},
	 ISCSI_CMD_F_READ,
	 256,
	 0,
	 {0}},
	{"MODE SENSE(10) all pages",
	 {0x5a, 0, 0x3f, 0, 0, 0, 0, 0x10, 0},
	 ISCSI_CMD_F_READ,
	 4096,
	 0,
	 {0}},
	{"WRITE SAME(16) UNMAP",
	 {0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 8},
	 ISCSI_CMD_F_WRITE,
	 512,
	 512,
	 {0}},
	{"UNMAP",
	 {0x42, 0, 0, 0, 0, 0, 0, 0, 24},
	 ISCSI_CMD_F_WRITE,
	 24,
	 24,
	 {0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 8}},
	{"GET LBA STATUS",
	 {0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64},
	 ISCSI_CMD_F_READ,
	 64,
	 0,
	 {0}},
	{"READ CAPACITY(16)",
	 {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32},
	 ISCSI_CMD_F_READ,
	 32,
	 0,
	 {0}},
	{"SYNCHRONIZE CACHE(10)", {0x35}, 0, 0, 0, {0}},
};

/* The n-th allocation of the target while it serves a list of commands
 * (one session) fails, for every n until the list passes: every command
 * is answered (GOOD, CHECK CONDITION or TASK SET FULL) or the connection
 * closes; nothing is left over (tasks, buffers, owed answers). */
static void
every_failed_allocation_of_scsi_commands_answers_or_closes(void **state)
{
	const size_t ncmds = sizeof(oom_cmds) / sizeof(oom_cmds[0]);
	unsigned int closed = 0;
	long n;

	(void)state;
	for (n = 1;; n++) {
		struct rig *r = oom_rig();
		struct iscsi_server_stats st;
		bool up = true;
		long left;

		rig_tur(r, 0, &(struct rig_scsi){0});
		drain_pools(r);
		oom_countdown = n;
		for (size_t i = 0; up && i < ncmds; i++) {
			const struct oom_cmd *c = &oom_cmds[i];
			uint8_t data[512] = {0};

			memcpy(data, c->data, sizeof(c->data));
			if (getenv("OOM_DEBUG"))
				fprintf(stderr, "command: %s\n", c->what);
			rig_scsi_send(r, 0, c->cdb, c->flags, c->edtl,
				      c->data_len ? data : NULL, c->data_len);
			up = answered(r, r->itt,
				      (c->flags & ISCSI_CMD_F_READ)
					      ? ISCSI_OP_DATA_IN
					      : ISCSI_OP_SCSI_RSP);
		}
		left = oom_countdown; /* > 0: the n-th allocation never came */
		oom_off();
		if (!up)
			closed++;
		else
			rig_logout_send(r),
				up = answered(r, r->itt, ISCSI_OP_LOGOUT_RSP);
		fake_env_advance(r->env, 0);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.tasks, 0);
		assert_int_equal(st.buffer_bytes, 0);
		assert_int_equal(st.owed, 0);
		rig_free(r);
		if (left > 0)
			break; /* every allocation of the list was failed */
	}
	assert_true(n > 5);	 /* the commands do allocate */
	assert_true(closed > 0); /* and some failures close */
}

/* ------------------------------------------- the SCSI layer's waits */

/* A backstore that holds requests until the test ends them, and refuses
 * a COMPARE AND WRITE of its own (as rbd does across two objects). */
static struct bs_req *held_req;

static void held_submit(struct bs_dev *dev, struct bs_req *req)
{
	(void)dev;
	if (req->op == BS_OP_COMPARE_AND_WRITE) {
		req->done(req, -EOPNOTSUPP);
		return;
	}
	held_req = req;
}

static void held_close(struct bs_dev *dev)
{
	free(dev);
}

static const struct bs_ops held_ops = {.submit = held_submit,
				       .close = held_close};

static struct fx *fx_held(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0};

	oom_off();
	f->bs = calloc(1, sizeof(*f->bs));
	f->bs->ops = &held_ops;
	f->bs->size_bytes = DISK_BYTES;
	f->bs->block_size = BS;
	f->bs->caps = BS_CAP_COMPARE_AND_WRITE;
	f->lu = scsi_lu_new(&stub_env, NULL, f->bs, 2);
	f->sess = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(f->sess, 0, f->lu, false);
	f->buf = calloc(1, 1 << 20);
	run(f, tur, 6, 0, 0);
	held_req = NULL;
	return f;
}

static struct {
	int holds, releases, lost;
} tmf_hook_calls;

static void hook_hold(void *arg)
{
	(void)arg;
	tmf_hook_calls.holds++;
}

static void hook_release(void *arg)
{
	(void)arg;
	tmf_hook_calls.releases++;
}

static void hook_lost(void *arg)
{
	(void)arg;
	tmf_hook_calls.lost++;
}

/*
 * SAM-5 §7.1: a LOGICAL UNIT RESET is complete only once every command
 * it aborted has ended.  One that cannot allocate its wait for another
 * nexus's command must say so (the hook's lost: the transport closes the
 * connection rather than answer); before (session 21) it only logged,
 * and the transport answered FUNCTION COMPLETE while the command still
 * ran.
 */
static void reset_without_memory_for_its_wait_says_it_is_lost(void **state)
{
	struct fx *f = fx_held();
	struct scsi_nexus_id id = {0};
	struct scsi_tmf_hook hook = {hook_hold, hook_release, NULL, hook_lost};
	static uint8_t wbuf[BS];
	uint8_t wcdb[10], tur[6] = {0};
	struct scsi_sess *b;
	struct scsi_cmd w;

	(void)state;
	snprintf(id.initiator_name, sizeof(id.initiator_name), "iqn.x:b");
	b = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(b, 0, f->lu, false), 0);
	run_on(f, b, 0, tur, 6, 0, 0); /* its power-on UA */
	cdb_rw10(wcdb, 0x2a, 0, 1);
	memset(&w, 0, sizeof(w));
	w.sess = b;
	memcpy(w.cdb, wcdb, 10);
	w.cdb_len = 10;
	w.buf = wbuf;
	w.buf_cap = w.edtl = w.data_out_len = BS;
	w.done = on_done;
	w.transport = f;
	scsi_cmd_exec(&w);
	assert_non_null(held_req); /* B's write at the backstore */
	memset(&tmf_hook_calls, 0, sizeof(tmf_hook_calls));
	oom_failed = 0;
	oom_countdown = 1; /* the reset's first allocation: its wait */
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0, &hook), 0);
	oom_off();
	assert_true(oom_failed > 0);
	assert_int_equal(tmf_hook_calls.lost, 1);
	assert_int_equal(tmf_hook_calls.holds, 0);
	f->done_calls = 0;
	held_req->done(held_req, 0);
	assert_int_equal(f->done_calls, 1);
	assert_true(w.aborted); /* TASK ABORTED: the reset ended it */
	scsi_sess_free(b);
	fx_free(f);
}

/* A COMPARE AND WRITE the backstore refuses to do itself is emulated
 * (read, compare, write); out of memory for the emulation it ends with
 * INTERNAL TARGET FAILURE -- and ends: before (session 21's explore with
 * `target oom`, seed 16) it was failed but never completed, unanswered,
 * its task held until the session ended. */
static void compare_and_write_emulation_without_memory_completes(void **state)
{
	struct fx *f = fx_held();
	static uint8_t buf[2 * BS];
	uint8_t cdb[16];
	struct scsi_cmd c;

	(void)state;
	cdb_caw(cdb, 4, 1);
	memset(&c, 0, sizeof(c));
	c.sess = f->sess;
	memcpy(c.cdb, cdb, 16);
	c.cdb_len = 16;
	c.buf = buf;
	c.buf_cap = c.edtl = c.data_out_len = 2 * BS;
	c.done = on_done;
	c.transport = f;
	f->done_calls = 0;
	oom_failed = 0;
	oom_on = true;
	oom_size = sizeof(struct sbc_chain);
	scsi_cmd_exec(&c);
	oom_off();
	assert_true(oom_failed > 0);
	assert_int_equal(f->done_calls, 1);
	expect_sense(&c, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	assert_null(held_req); /* nothing read or written */
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nop_in_without_memory_closes_the_connection),
		cmocka_unit_test(
			tmf_response_without_memory_closes_the_connection),
		cmocka_unit_test(
			text_response_without_memory_closes_the_connection),
		cmocka_unit_test(
			data_in_without_memory_closes_and_frees_the_task),
		cmocka_unit_test(
			async_logout_without_memory_closes_the_connection),
		cmocka_unit_test(every_failed_allocation_answers_or_closes),
		cmocka_unit_test(
			every_failed_allocation_of_a_reconfiguration_refuses_or_applies),
		cmocka_unit_test(
			every_failed_allocation_of_a_configuration_is_an_error),
		cmocka_unit_test(
			every_failed_allocation_of_a_login_answers_or_closes),
		cmocka_unit_test(
			every_failed_allocation_of_scsi_commands_answers_or_closes),
		cmocka_unit_test(
			reset_without_memory_for_its_wait_says_it_is_lost),
		cmocka_unit_test(
			compare_and_write_emulation_without_memory_completes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
