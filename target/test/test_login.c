/*
 * test_login.c — login phase framing: a Login Response longer than the
 * 8192 bytes an initiator takes during login goes out in pieces with the
 * C bit (RFC 7143 §11.13.1), each asked for by an empty Login Request.
 * fuzz/h_login.c found the target sending one 8200-byte response to a
 * request of 120 unknown keys (regression: fuzz/regress/login/).
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

#define TGT "iqn.2026-11.org.utarget:login"
#define INI "iqn.2026-11.org.test:ini"
#define NKEYS 120 /* under the 128-key limit */

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 1M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			   "}\n";

/* Identity plus NKEYS keys the target does not know, each answered with
 * NotUnderstood: about 9.4 KB of response. */
static void long_request(struct rig_text *t)
{
	char key[80];

	rig_text_identity(t, INI, TGT);
	rig_text_add(t, "AuthMethod", "None");
	for (int i = 0; i < NKEYS; i++) {
		snprintf(
			key, sizeof(key),
			"Y%03dqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
			i);
		rig_text_add(t, key, "1");
	}
}

/* Send text in 8192-byte pieces (C=1 on all but the last), consuming the
 * target's empty acknowledgements; the last piece has T=1 to stage 1. */
static void send_request(struct rig *r, const struct rig_text *t)
{
	struct iscsi_bhs h, in;
	uint8_t *d = NULL;
	size_t off = 0;

	while (off < t->len) {
		uint32_t n = t->len - off > 8192 ? 8192
						 : (uint32_t)(t->len - off);
		bool more = off + n < t->len;

		memset(&h, 0, sizeof(h));
		h.opcode = ISCSI_OP_LOGIN_REQ;
		h.immediate = true;
		h.flags = more ? ISCSI_LOGIN_F_CONTINUE
			       : ISCSI_LOGIN_F_TRANSIT |
					  ISCSI_STAGE_OPERATIONAL;
		h.lun = (0x400001370000ull | r->isid_low) << 16;
		h.itt = 1;
		h.w24 = r->cmdsn;
		rig_send(r, &h, t->buf + off, n);
		off += n;
		if (more) {
			assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
			assert_int_equal(in.data_len, 0);
			assert_int_equal(in.w36 >> 16, 0);
			free(d);
			d = NULL;
		}
	}
}

/* An empty Login Request asking for the rest of the response. */
static void send_empty(struct rig *r, uint32_t len)
{
	struct iscsi_bhs h = {0};
	char junk[8] = "X=1";

	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = ISCSI_LOGIN_F_TRANSIT | ISCSI_STAGE_OPERATIONAL;
	h.lun = (0x400001370000ull | r->isid_low) << 16;
	h.itt = 1;
	h.w24 = r->cmdsn;
	rig_send(r, &h, junk, len);
}

static void long_response_goes_out_in_pieces(void **state)
{
	struct rig *r = rig_new(conf);
	struct rig_text t = {0};
	struct iscsi_kvlist kv;
	struct iscsi_bhs in;
	uint8_t *text = NULL, *d = NULL;
	size_t text_len = 0;
	int pieces = 0, not_understood = 0;

	(void)state;
	rig_connect(r);
	long_request(&t);
	send_request(r, &t);
	for (;;) {
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
		assert_int_equal(in.w36 >> 16, 0);
		assert_true(in.data_len <= 8192);
		text = realloc(text, text_len + in.data_len);
		assert_non_null(text);
		memcpy(text + text_len, d, in.data_len);
		text_len += in.data_len;
		free(d);
		d = NULL;
		pieces++;
		if (!(in.flags & ISCSI_LOGIN_F_CONTINUE))
			break;
		/* A C=1 response never transits and is a full piece. */
		assert_false(in.flags & ISCSI_LOGIN_F_TRANSIT);
		assert_int_equal(in.data_len, 8192);
		assert_int_equal(ISCSI_LOGIN_CSG(in.flags),
				 ISCSI_STAGE_SECURITY);
		send_empty(r, 0);
	}
	assert_int_equal(pieces, 2);
	/* The last piece carries the transition that was asked for. */
	assert_true(in.flags & ISCSI_LOGIN_F_TRANSIT);
	assert_int_equal(ISCSI_LOGIN_NSG(in.flags), ISCSI_STAGE_OPERATIONAL);
	iscsi_kvlist_init(&kv);
	assert_int_equal(iscsi_text_parse(text, (uint32_t)text_len, &kv),
			 TEXT_OK);
	for (uint32_t i = 0; i < kv.n; i++)
		if (strcmp(kv.v[i].value, "NotUnderstood") == 0)
			not_understood++;
	assert_int_equal(not_understood, NKEYS);
	assert_true(iscsi_kv_has(&kv, "TargetPortalGroupTag"));
	iscsi_kvlist_free(&kv);
	free(text);
	/* The login goes on to full feature phase and serves commands. */
	rig_login_finish(r);
	rig_text_free(&t);
	rig_free(r);
}

static void text_while_response_is_pending_is_an_initiator_error(void **state)
{
	struct rig *r = rig_new(conf);
	struct rig_text t = {0};
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	(void)state;
	rig_connect(r);
	long_request(&t);
	send_request(r, &t);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_true(in.flags & ISCSI_LOGIN_F_CONTINUE);
	free(d);
	d = NULL;
	send_empty(r, 4); /* text instead of an empty request */
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
	assert_int_equal(in.w36 >> 16, 0x0200);
	free(d);
	assert_true(fake_conn_closed(r->c));
	rig_text_free(&t);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_response_goes_out_in_pieces),
		cmocka_unit_test(
			text_while_response_is_pending_is_an_initiator_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
