/*
 * test_login_refusals.c — Login Requests that break the login phase's
 * rules (iscsi/login.c, RFC 7143 §6, §11.12): a first request outside
 * stages 0 and 1; ISID, TSIH, ITT or CID changed between the requests of
 * one login (§11.12.5-6); T and C both set (§11.12.2); a CSG that is not
 * the current stage; a transit to the reserved stage 2 or backwards
 * (§11.12.3); an InitiatorName that is empty or of 224 bytes (§4.2.7.2:
 * at most 223).  Each is answered INITIATOR ERROR (02h/00h) and the
 * connection closed.  On a server in the fake environment (rig.h).
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

#define TGT "iqn.2026-11.org.utarget:lr"
#define INI "iqn.2026-11.org.test:lr"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			   "}\n";

/* One Login Request: flags (T, C, CSG, NSG), ISID low bits, TSIH, ITT,
 * CID, text.  Returns the response's status, or 0xffff when nothing came
 * back. */
static uint16_t login_req(struct rig *r, uint8_t flags, uint16_t isid_low,
			  uint16_t tsih, uint32_t itt, uint16_t cid,
			  const struct rig_text *t)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = flags;
	h.lun = (0x400001370000ull | isid_low) << 16 | tsih;
	h.itt = itt;
	h.w20 = (uint32_t)cid << 16;
	h.w24 = 1;
	rig_send(r, &h, t ? t->buf : NULL, t ? (uint32_t)t->len : 0);
	if (fake_conn_pop_pdu(r->c, &in, &d) != 0)
		return 0xffff;
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
	return (uint16_t)(in.w36 >> 16);
}

#define F_T ISCSI_LOGIN_F_TRANSIT
#define F_C ISCSI_LOGIN_F_CONTINUE
#define CSG(s) ((uint8_t)((s) << 2))

/* A first request of the security stage without T (stays there), then a
 * second one with one field changed: INITIATOR ERROR, closed. */
static void second_request(struct rig *r, uint8_t flags, uint16_t isid_low,
			   uint16_t tsih, uint32_t itt, uint16_t cid,
			   const char *what)
{
	struct rig_text t = {0};
	uint16_t st;

	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "None");
	assert_int_equal(login_req(r, CSG(0), 1, 0, 7, 1, &t), 0);
	rig_text_free(&t);
	st = login_req(r, flags, isid_low, tsih, itt, cid, NULL);
	if (st != ISCSI_LS_INIT_ERR)
		fail_msg("%s: status %04x, expected 0200 (RFC 7143 §11.13.5)",
			 what, st);
	assert_true(fake_conn_closed(r->c));
}

static void a_login_breaking_the_phase_rules_is_an_initiator_error(void **state)
{
	struct rig *r = rig_new(conf);
	struct rig_text t = {0};

	(void)state;
	/* the first request in full feature phase */
	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	assert_int_equal(login_req(r, CSG(3), 1, 0, 7, 1, &t),
			 ISCSI_LS_INIT_ERR);
	assert_true(fake_conn_closed(r->c));
	rig_text_free(&t);
	second_request(r, CSG(0), 2, 0, 7, 1, "ISID changed");
	second_request(r, CSG(0), 1, 5, 7, 1, "TSIH changed");
	second_request(r, CSG(0), 1, 0, 8, 1, "ITT changed");
	second_request(r, CSG(0), 1, 0, 7, 2, "CID changed");
	second_request(r, CSG(0) | F_T | F_C | 1, 1, 0, 7, 1,
		       "T and C both set");
	second_request(r, CSG(1), 1, 0, 7, 1, "CSG not the current stage");
	second_request(r, CSG(0) | F_T | 2, 1, 0, 7, 1,
		       "transit to the reserved stage 2");
	second_request(r, CSG(0) | F_T | 0, 1, 0, 7, 1,
		       "transit to the current stage");
	assert_non_null(strstr(r->log, "ISID, TSIH, ITT or CID changed"));
	assert_non_null(strstr(r->log, "T and C both set"));
	assert_non_null(strstr(r->log, "CSG is not the current stage"));
	assert_non_null(strstr(r->log, "invalid NSG"));
	assert_non_null(strstr(r->log, "login must start in stage 0 or 1"));
	/* a login by the rules still works */
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_free(r);
}

static void an_initiator_name_empty_or_of_224_bytes_is_refused(void **state)
{
	struct rig *r = rig_new(conf);
	char name[230];

	(void)state;
	assert_int_not_equal(rig_login_plain(r, "", TGT), 0);
	assert_true(fake_conn_closed(r->c));
	memset(name, 'a', sizeof(name));
	memcpy(name, "iqn.x:", 6);
	name[224] = '\0';
	assert_int_not_equal(rig_login_plain(r, name, TGT), 0);
	assert_true(fake_conn_closed(r->c));
	name[223] = '\0'; /* 223 bytes: the longest name */
	assert_int_equal(rig_login_plain(r, name, TGT), 0);
	rig_free(r);
}

/* The first request of the security stage with n keys in all: identity
 * (three keys),
 * AuthMethod and private keys the target does not know. */
static uint16_t login_with_keys(struct rig *r, unsigned int n)
{
	struct rig_text t = {0};
	uint16_t st;

	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "None");
	for (unsigned int i = 4; i < n; i++) {
		char key[16];

		snprintf(key, sizeof(key), "X-k%03u", i);
		rig_text_add(&t, key, "1");
	}
	st = login_req(r, CSG(0), 1, 0, 7, 1, &t);
	rig_text_free(&t);
	return st;
}

/* 128 keys a request is a limit of ours, not of RFC 7143: one key more is
 * answered OUT OF RESOURCES (03h/02h), as more than 64 KiB of text is,
 * not INITIATOR ERROR (which a key longer than §6.1 allows gets). */
static void more_keys_than_the_target_holds_is_out_of_resources(void **state)
{
	struct rig *r = rig_new(conf);

	(void)state;
	assert_int_equal(login_with_keys(r, 128), 0);
	assert_false(fake_conn_closed(r->c));
	assert_int_equal(login_with_keys(r, 129), ISCSI_LS_OUT_OF_RESOURCES);
	assert_true(fake_conn_closed(r->c));
	assert_non_null(strstr(r->log, "too many keys"));
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_login_breaking_the_phase_rules_is_an_initiator_error),
		cmocka_unit_test(
			an_initiator_name_empty_or_of_224_bytes_is_refused),
		cmocka_unit_test(
			more_keys_than_the_target_holds_is_out_of_resources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
