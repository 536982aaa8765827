/*
 * test_server_edges.c — the server at its edges (iscsi/server.c,
 * registry.c, login.c):
 *   - CHAP secrets that RFC 7143 §12.1.3 advises against (shorter than
 *     96 bits, one secret for both directions, an OutgoingUser without an
 *     IncomingUser) are warned about by user name, never shown;
 *   - a portal that cannot listen fails the start, naming it, and the
 *     listeners opened before it are closed;
 *   - a login naming a TSIH (adding a connection to a session) is refused:
 *     TOO MANY CONNECTIONS when the session exists (MaxConnections=1),
 *     SESSION DOES NOT EXIST otherwise (RFC 7143 §11.13.5);
 *   - a server freed with commands still inside (a READ at the backstore,
 *     a WRITE waiting for Data-Out) frees them, every pool balanced, once
 *     the store gave the READ back; a store that keeps a request is
 *     counted (the caller keeps the server) until it gives it back.
 * On servers in the fake environment (rig.h).
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

#include "bytes.h"
#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:se"
#define INI "iqn.2026-11.org.test:se"

static const char plain[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			    "TARGET_DRIVER iscsi {\n"
			    " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			    "}\n";

/* RFC 7143 §12.1.3: warnings name the user and the rule; the secrets
 * never reach the log. */
static void weak_secrets_are_warned_about_by_name_only(void **state)
{
	static const char conf[] =
		"HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" IncomingUser disco shortdisco\n"
		" OutgoingUser dout shortdout\n"
		" TARGET " TGT " {\n  LUN 0 d0\n"
		"  IncomingUser alice samesecret1234\n"
		"  OutgoingUser tgt samesecret1234\n }\n"
		" TARGET " TGT "2 {\n  LUN 0 d0\n"
		"  OutgoingUser lonely lonelysecret99\n }\n"
		"}\n";
	struct rig *r = rig_new(conf);

	(void)state;
	assert_non_null(strstr(r->log, "discovery: IncomingUser disco has a "
				       "secret shorter than 12 bytes (RFC "
				       "7143 12.1.3)"));
	assert_non_null(strstr(r->log, "discovery: OutgoingUser dout has a "
				       "secret shorter than 12 bytes"));
	assert_non_null(strstr(r->log, "IncomingUser alice and OutgoingUser "
				       "tgt share a secret; mutual CHAP needs "
				       "two"));
	assert_non_null(strstr(r->log, "OutgoingUser without IncomingUser is "
				       "never used"));
	/* alice's secret is long enough: no length warning for her */
	assert_null(strstr(r->log, "IncomingUser alice has a secret"));
	assert_null(strstr(r->log, "shortdisco"));
	assert_null(strstr(r->log, "shortdout"));
	assert_null(strstr(r->log, "samesecret1234"));
	assert_null(strstr(r->log, "lonelysecret99"));
	rig_free(r);
}

/* Five portals where the environment has room for four listeners: the
 * start fails with the environment's error, the log names the portal,
 * and the four opened are closed again (no connection reaches them). */
static void a_portal_that_cannot_listen_fails_the_start(void **state)
{
	struct rig *r = rig_new(plain); /* one listener of the fake's four */
	char *portals[] = {"10.0.0.1:3260", "10.0.0.2:3260", "10.0.0.3:3260",
			   "10.0.0.4:3260"};
	struct iscsi_server *srv;
	struct ut_config cfg;
	int err = 0;

	(void)state;
	ut_config_init(&cfg);
	assert_int_equal(ut_config_copy(&cfg, iscsi_server_config(r->srv)), 0);
	assert_int_equal(ut_config_set_portals(&cfg, portals, 4), 0);
	srv = iscsi_server_new(r->env, &cfg, &err);
	assert_non_null(srv);
	assert_int_equal(iscsi_server_start(srv), -EADDRINUSE);
	assert_non_null(strstr(r->log, "cannot listen on 10.0.0.4:3260: "
				       "Address already in use"));
	for (unsigned int i = 1; i < 4; i++)
		assert_null(fake_connect_to(r->env, i, NULL));
	/* the first server's listener still takes connections */
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	iscsi_server_free(srv);
	ut_config_free(&cfg);
	rig_free(r);
}

/* The first Login Request with TSIH (bytes 14-15) set. */
static uint16_t login_with_tsih(struct rig *r, uint16_t isid_low, uint16_t tsih)
{
	struct rig_text t = {0};
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	r->c = fake_connect(r->env);
	assert_non_null(r->c);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "None");
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = ISCSI_LOGIN_F_TRANSIT | ISCSI_STAGE_OPERATIONAL;
	h.lun = (0x400001370000ull | isid_low) << 16 | tsih;
	h.itt = 1;
	h.w24 = 1;
	rig_send(r, &h, t.buf, (uint32_t)t.len);
	rig_text_free(&t);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
	return (uint16_t)(in.w36 >> 16);
}

/* RFC 7143 §11.13.5: a connection for an existing session (its ISID and
 * TSIH) exceeds MaxConnections=1: 02h/06h TOO MANY CONNECTIONS; a TSIH
 * naming no session (another ISID, or a TSIH never given): 02h/0Ah
 * SESSION DOES NOT EXIST.  The first session is untouched. */
static void a_login_naming_a_tsih_is_refused(void **state)
{
	struct rig *r = rig_new(plain);
	struct iscsi_session_info info;
	struct fake_conn *first;
	struct rig_scsi out;
	uint16_t isid_low, tsih;
	uint32_t cmdsn, itt;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	first = r->c;
	isid_low = r->isid_low;
	cmdsn = r->cmdsn;
	itt = r->itt;
	assert_int_equal(iscsi_server_sessions(r->srv, &info, 1), 1);
	tsih = info.tsih;
	assert_int_not_equal(tsih, 0);
	assert_int_equal(login_with_tsih(r, isid_low, tsih),
			 ISCSI_LS_TOO_MANY_CONNECTIONS);
	assert_true(fake_conn_closed(r->c));
	assert_int_equal(login_with_tsih(r, (uint16_t)(isid_low + 9), tsih),
			 ISCSI_LS_SESSION_DOES_NOT_EXIST);
	assert_int_equal(login_with_tsih(r, isid_low, (uint16_t)(tsih ^ 0x40)),
			 ISCSI_LS_SESSION_DOES_NOT_EXIST);
	assert_non_null(strstr(r->log, "MaxConnections is 1"));
	assert_non_null(strstr(r->log, "TSIH names no session"));
	r->c = first;
	r->cmdsn = cmdsn;
	r->itt = itt;
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	assert_false(fake_conn_closed(first));
	rig_free(r);
}

/* A server freed (the daemon's exit) while a READ waits at the backstore
 * and a WRITE waits for its Data-Out: the tasks are dropped with their
 * session; iscsi_server_free's checks (every task, PDU and buffer back in
 * its pool, the buffer budget at 0) hold, and the backstore is closed
 * with the READ never answered. */
static void a_server_freed_with_commands_inside_frees_them(void **state)
{
	static const char conf[] =
		"HANDLER vdisk_fileio {\n"
		" DEVICE d0 { filename fake-hold:d0\n size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n  InitialR2T Yes\n"
		"  ImmediateData No\n }\n"
		"}\n";
	struct iscsi_server_stats st;
	uint8_t rd[16] = {0x88}, wr[16] = {0x8a};
	struct iscsi_bhs in;
	uint8_t *d = NULL;
	struct rig *r;
	unsigned int dropped;

	(void)state;
	fake_env_hold_disks(true);
	dropped = fake_held_dropped();
	r = rig_new(conf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	put_be32(rd + 10, 8);
	rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 4096, NULL, 0);
	assert_int_equal(fake_held_pending(), 1);
	put_be64(wr + 2, 64);
	put_be32(wr + 10, 8);
	rig_scsi_send(r, 0, wr, ISCSI_CMD_F_WRITE, 4096, NULL, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_R2T);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 2);
	assert_true(st.buffer_bytes > 0);
	rig_free(r);
	assert_int_equal(fake_held_dropped(), dropped + 1);
	assert_int_equal(fake_held_pending(), 0);
	assert_int_equal(fake_held_disks_live(), 0);
	fake_env_hold_disks(false);
}

/* One session holds at most SessionBufferLimit (default 256 MiB) of the
 * server's 1 GiB budget of task buffers.  A sends sixteen WRITEs of
 * 64 MiB (EDTL) and never sends their Data-Out: the four that fit its
 * share wait for data, each holding its buffer; the rest are answered
 * TASK SET FULL.  B's READ still gets a buffer.  Before, A's sixteen
 * writes took the whole budget and B's READ was answered TASK SET FULL. */
static void one_session_cannot_take_the_whole_buffer_budget(void **state)
{
	static const char conf[] = "HANDLER vdisk_nullio {\n"
				   " DEVICE d0 { size 4M }\n}\n"
				   "TARGET_DRIVER iscsi {\n"
				   " TARGET " TGT
				   " {\n  LUN 0 d0\n  InitialR2T Yes\n"
				   "  ImmediateData No\n }\n"
				   "}\n";
	struct iscsi_server_stats st;
	uint8_t wr[16] = {0x8a}, rd[16] = {0x88};
	struct rig *r = rig_new(conf);
	struct fake_conn *a;
	struct rig_scsi out;
	struct iscsi_bhs in;
	unsigned int r2ts = 0, full = 0;
	uint8_t *d = NULL;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	a = r->c;
	rig_tur(r, 0, &out);
	put_be32(wr + 10, 8);
	for (int i = 0; i < 16; i++) {
		put_be64(wr + 2, (uint64_t)i * 8);
		rig_scsi_send(r, 0, wr, ISCSI_CMD_F_WRITE, 64u << 20, NULL, 0);
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		free(d);
		d = NULL;
		if (in.opcode == ISCSI_OP_R2T) {
			r2ts++;
		} else {
			assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
			/* the status byte: TASK SET FULL */
			assert_int_equal(in.b3, 0x28);
			full++;
		}
	}
	assert_int_equal(r2ts, 4);
	assert_int_equal(full, 12);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.buffer_bytes, 256u << 20);
	/* another session reads */
	assert_int_equal(rig_login_plain(r, INI ":b", TGT), 0);
	assert_ptr_not_equal(r->c, a);
	rig_tur(r, 0, &out);
	put_be32(rd + 10, 8);
	rig_scsi(r, 0, rd, 4096, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data_len, 4096);
	rig_free(r);
}

/* At exit the stores give back the requests in flight before the tasks
 * that own them are freed (iscsi_server_take_back_io, backstore.h
 * abandon).  A store that keeps one (a system call stuck in a hung file
 * system) is counted: the caller must keep the server (the daemon exits
 * without freeing it, main.c); once the store gives it back, the free is
 * safe.  The held disk reads each request it drops (make unit-asan: a
 * request freed before it was taken back fails here). */
static void a_store_that_keeps_its_requests_is_counted(void **state)
{
	static const char conf[] =
		"HANDLER vdisk_fileio {\n"
		" DEVICE d0 { filename fake-hold:d0\n size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n }\n"
		"}\n";
	struct iscsi_server_stats st;
	uint8_t rd[16] = {0x88};
	unsigned int dropped;
	struct rig *r;

	(void)state;
	fake_env_hold_disks(true);
	dropped = fake_held_dropped();
	r = rig_new(conf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0}); /* the power-on attention */
	put_be32(rd + 10, 8);
	rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 4096, NULL, 0);
	assert_int_equal(fake_held_pending(), 1);
	fake_held_stuck(1);
	assert_int_equal(iscsi_server_take_back_io(r->srv, 0), 1);
	/* kept: its task is still there, nothing was dropped */
	assert_int_equal(fake_held_dropped(), dropped);
	assert_int_equal(fake_held_pending(), 1);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 1);
	assert_int_equal(st.connections, 0); /* closed first */
	fake_held_stuck(0);
	assert_int_equal(iscsi_server_take_back_io(r->srv, 0), 0);
	assert_int_equal(fake_held_pending(), 0);
	assert_int_equal(fake_held_dropped(), dropped + 1);
	rig_free(r);
	assert_int_equal(fake_held_dropped(), dropped + 1);
	assert_int_equal(fake_held_disks_live(), 0);
	fake_env_hold_disks(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weak_secrets_are_warned_about_by_name_only),
		cmocka_unit_test(a_portal_that_cannot_listen_fails_the_start),
		cmocka_unit_test(a_login_naming_a_tsih_is_refused),
		cmocka_unit_test(
			a_server_freed_with_commands_inside_frees_them),
		cmocka_unit_test(a_store_that_keeps_its_requests_is_counted),
		cmocka_unit_test(
			one_session_cannot_take_the_whole_buffer_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
