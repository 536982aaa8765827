/*
 * test_text_ffp.c — Text Requests in full feature phase (text_ffp.c):
 * what unknown keys, bad values and wrongly cased keys get, SendTargets
 * with All, a name and nothing in discovery and normal sessions, and long
 * answers continued over several Text Responses, fetched to the end or
 * abandoned.  docs/text-requests.md explains the choices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/iscsi_int.h"
#include "rig.h"

#define PFX "iqn.2026-11.org.utarget:"
#define T_A PFX "a"
#define T_B PFX "b"
#define INI "iqn.2026-11.org.example:ini"
#define RESERVED 0xffffffffu

/* Two targets, so that "All" and a name can be told apart. */
static const char conf_two[] = "HANDLER vdisk_mem { DEVICE d0 { size 1M } }\n"
			       "TARGET_DRIVER iscsi {\n"
			       " TARGET " T_A " { LUN 0 d0 }\n"
			       " TARGET " T_B " { LUN 0 d0 }\n"
			       "}\n";

/* One Text Response or Reject as the test sees it. */
struct rsp {
	struct iscsi_bhs h;
	uint8_t *data;
};

static void rsp_free(struct rsp *p)
{
	free(p->data);
	p->data = NULL;
}

/* Send a Text Request (immediate, so that the CmdSN does not matter). */
static void text_send(struct rig *r, uint32_t itt, uint32_t ttt, uint8_t flags,
		      const void *data, uint32_t len)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_TEXT_REQ;
	h.immediate = true;
	h.flags = flags;
	h.itt = itt;
	h.w20 = ttt;
	h.w24 = r->cmdsn;
	rig_send(r, &h, data, len);
}

static void text_send_str(struct rig *r, uint32_t itt, const char *kv)
{
	/* kv may hold several NUL-separated pairs: send through the last
	 * NUL of the literal, which the caller passes in full. */
	text_send(r, itt, RESERVED, ISCSI_FLAG_FINAL, kv,
		  (uint32_t)strlen(kv) + 1);
}

static void expect(struct rig *r, uint8_t opcode, struct rsp *p)
{
	p->data = NULL;
	assert_int_equal(fake_conn_pop_pdu(r->c, &p->h, &p->data), 0);
	if (p->h.opcode != opcode)
		fail_msg("expected opcode 0x%02x, got 0x%02x (reason 0x%02x)",
			 opcode, p->h.opcode, p->h.b2);
}

/* RFC 7143 §11.17: a Reject carries the rejected header; this one must
 * be our Text Request's (its ITT), with the given reason. */
static void expect_reject(struct rig *r, uint32_t itt, uint8_t reason)
{
	struct rsp p;

	expect(r, ISCSI_OP_REJECT, &p);
	if (p.h.b2 != reason)
		fail_msg("Reject reason 0x%02x, want 0x%02x", p.h.b2, reason);
	assert_int_equal(p.h.data_len, ISCSI_BHS_LEN);
	assert_int_equal(p.data[0] & 0x3f, ISCSI_OP_TEXT_REQ);
	assert_int_equal(get_be32(p.data + 16), itt);
	rsp_free(&p);
	assert_false(fake_conn_closed(r->c));
}

/* The keys of a final (F=1) Text Response, each "key=value". */
static int count_key(const struct rsp *p, const char *key, const char *value)
{
	size_t kl = strlen(key);
	int n = 0;

	for (uint32_t i = 0; p->data && i < p->h.data_len;) {
		const char *kv = (const char *)p->data + i;
		size_t len = strnlen(kv, p->h.data_len - i);

		if (strncmp(kv, key, kl) == 0 && kv[kl] == '=' &&
		    (!value || strcmp(kv + kl + 1, value) == 0))
			n++;
		i += (uint32_t)len + 1;
	}
	return n;
}

static void expect_final(struct rig *r, uint32_t itt, struct rsp *p)
{
	expect(r, ISCSI_OP_TEXT_RSP, p);
	assert_int_equal(p->h.itt, itt);
	/* §11.11.1: F=1 carries TTT 0xffffffff */
	assert_true(p->h.flags & ISCSI_FLAG_FINAL);
	assert_int_equal(p->h.w20, RESERVED);
	assert_false(p->h.flags & ISCSI_TEXT_F_CONTINUE);
}

/* A TEST UNIT READY still works: the connection and session survived. */
static void session_still_serves(struct rig *r)
{
	struct rig_scsi out;

	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
}

/* ----------------------------------------------- unknown keys, bad values */

/* An unknown key that is not an X- extension key, and a SendTargets in
 * the wrong case (§6.1: keys are case sensitive), get a Reject (Protocol
 * Error) for the request, and the session goes on: libiscsi drops the
 * connection at key=NotUnderstood in a Text Response. */
static void unknown_and_wrongly_cased_keys_are_rejected(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	text_send_str(r, 10, "SendTargetsPlease=All");
	expect_reject(r, 10, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 11, "sENDtARGETS=aLL");
	expect_reject(r, 11, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 12, "sendtargets=All");
	expect_reject(r, 12, ISCSI_REJECT_PROTOCOL_ERROR);
	session_still_serves(r);
	text_send_str(r, 13, "SendTargets=All");
	expect_final(r, 13, &p);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	rsp_free(&p);
	rig_free(r);
}

/* A SendTargets value that is neither All, nothing, nor an iSCSI name
 * (§4.2.7.2) is Rejected: Appendix C allows no key but TargetName and
 * TargetAddress in the answer, so SendTargets=Reject is not one, and an
 * empty answer would say "no targets".  A well-formed name of no target
 * gets the empty answer. */
static void bad_sendtargets_values_are_rejected(void **state)
{
	static const char *const bad[] = {
		"Alle",
		"A",
		"all",
		"iqn.2026-1.org.x",	  /* month of one digit */
		"iqn.2026-11",		  /* nothing after the date */
		"eui.0123456789abcde",	  /* 15 hex digits */
		"eui.0123456789abcdefg",  /* not hex */
		"naa.0123456789abcdef01", /* 18 digits */
		"iqn.2026-11.org.x y",	  /* a blank */
	};
	struct rig *r = rig_new(conf_two);
	char buf[128];
	struct rsp p;
	uint32_t itt = 20;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "SendTargets=%s", bad[i]);
		text_send_str(r, itt, buf);
		expect_reject(r, itt++, ISCSI_REJECT_PROTOCOL_ERROR);
	}
	/* well-formed, but no such target: zero target records */
	text_send_str(r, itt, "SendTargets=eui.0123456789ABCDEF");
	expect_final(r, itt++, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	text_send_str(r, itt,
		      "SendTargets=naa.0123456789abcdef0123456789abcdef");
	expect_final(r, itt++, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	text_send_str(r, itt, "SendTargets=iqn.2026-11.org.example:none");
	expect_final(r, itt++, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	rig_free(r);
}

/* Appendix C: a SendTargets request holds exactly one key. */
static void sendtargets_with_another_key_is_rejected(void **state)
{
	static const char two[] =
		"SendTargets=All\0MaxRecvDataSegmentLength=8192";
	struct rig *r = rig_new(conf_two);

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	text_send(r, 30, RESERVED, ISCSI_FLAG_FINAL, two, sizeof(two));
	expect_reject(r, 30, ISCSI_REJECT_PROTOCOL_ERROR);
	session_still_serves(r);
	rig_free(r);
}

/* In a normal session: an X- (vendor) key we do not know is answered
 * NotUnderstood (§6.2), a key only login may negotiate Reject (§13), a
 * malformed MaxRecvDataSegmentLength Reject, a good one is declared. */
static void normal_session_keys_get_their_negotiation_answers(void **state)
{
	static const char keys[] = "X-com.example.feature=1\0"
				   "InitialR2T=Yes\0"
				   "MaxRecvDataSegmentLength=16384";
	struct rig *r = rig_new(conf_two);
	struct rsp p;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	text_send(r, 40, RESERVED, ISCSI_FLAG_FINAL, keys, sizeof(keys));
	expect_final(r, 40, &p);
	assert_int_equal(
		count_key(&p, "X-com.example.feature", "NotUnderstood"), 1);
	assert_int_equal(count_key(&p, "InitialR2T", "Reject"), 1);
	rsp_free(&p);
	text_send_str(r, 41, "MaxRecvDataSegmentLength=100");
	expect_final(r, 41, &p);
	assert_int_equal(count_key(&p, "MaxRecvDataSegmentLength", "Reject"),
			 1);
	rsp_free(&p);
	text_send_str(r, 42, "X#org.example.public=Yes");
	expect_final(r, 42, &p);
	assert_int_equal(count_key(&p, "X#org.example.public", "NotUnderstood"),
			 1);
	rsp_free(&p);
	session_still_serves(r);
	rig_free(r);
}

/* RFC 7143 §4.3: a discovery session accepts only Text Requests with
 * SendTargets; anything else is Rejected, negotiable keys included. */
static void discovery_session_rejects_all_but_sendtargets(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	text_send_str(r, 50, "SendTargetsPlease=All");
	expect_reject(r, 50, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 51, "sENDtARGETS=aLL");
	expect_reject(r, 51, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 52, "MaxRecvDataSegmentLength=8192");
	expect_reject(r, 52, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 53, "X-com.example.feature=1");
	expect_reject(r, 53, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send_str(r, 54, "SendTargets=All");
	expect_final(r, 54, &p);
	assert_int_equal(count_key(&p, "TargetName", NULL), 2);
	rsp_free(&p);
	rig_free(r);
}

/* ----------------------------------------------- SendTargets values */

/* Appendix C in a discovery session: All lists every target, a name that
 * one, nothing nothing (no target is logged in to). */
static void discovery_sendtargets_all_name_and_empty(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	text_send_str(r, 60, "SendTargets=All");
	expect_final(r, 60, &p);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	assert_int_equal(count_key(&p, "TargetName", T_B), 1);
	assert_int_equal(count_key(&p, "TargetAddress", NULL), 2);
	rsp_free(&p);
	text_send_str(r, 61, "SendTargets=" T_B);
	expect_final(r, 61, &p);
	assert_int_equal(count_key(&p, "TargetName", NULL), 1);
	assert_int_equal(count_key(&p, "TargetName", T_B), 1);
	assert_int_equal(count_key(&p, "TargetAddress", NULL), 1);
	rsp_free(&p);
	text_send_str(r, 62, "SendTargets=");
	expect_final(r, 62, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	rig_free(r);
}

/* Appendix C in a normal session: nothing names the session's target;
 * All, which "MUST NOT be supported on an operational session", answers
 * the same and never shows the other target; a name answers only for the
 * session's own target. */
static void normal_sendtargets_all_name_and_empty(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	text_send_str(r, 70, "SendTargets=");
	expect_final(r, 70, &p);
	assert_int_equal(count_key(&p, "TargetName", NULL), 1);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	assert_int_equal(count_key(&p, "TargetAddress", NULL), 1);
	rsp_free(&p);
	text_send_str(r, 71, "SendTargets=All");
	expect_final(r, 71, &p);
	assert_int_equal(count_key(&p, "TargetName", NULL), 1);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	rsp_free(&p);
	text_send_str(r, 72, "SendTargets=" T_A);
	expect_final(r, 72, &p);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	rsp_free(&p);
	text_send_str(r, 73, "SendTargets=" T_B);
	expect_final(r, 73, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	session_still_serves(r);
	rig_free(r);
}

/* ----------------------------------------------- long answers */

#define MANY 40 /* targets: an answer of some 3 KiB */

static struct rig *rig_many(void)
{
	size_t cap = 4096 + MANY * 128, n;
	char *conf = malloc(cap);
	struct rig *r;

	assert_non_null(conf);
	n = (size_t)snprintf(conf, cap,
			     "HANDLER vdisk_mem { DEVICE d0 { size 1M } }\n"
			     "TARGET_DRIVER iscsi {\n");
	for (int i = 0; i < MANY; i++)
		n += (size_t)snprintf(conf + n, cap - n,
				      " TARGET " PFX
				      "a-rather-long-target-name-%02d "
				      "{ LUN 0 d0 }\n",
				      i);
	snprintf(conf + n, cap - n, "}\n");
	r = rig_new(conf);
	free(conf);
	return r;
}

/* A discovery login declaring MaxRecvDataSegmentLength=512, the
 * smallest the RFC allows (§13.12), so that the answer needs pieces. */
static void login_discovery_512(struct rig *r)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	rig_connect(r);
	rig_text_identity(&t, INI, NULL);
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	t = (struct rig_text){0};
	rig_text_add(&t, "MaxRecvDataSegmentLength", "512");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
}

/* Fetch a whole answer to SendTargets=All (ITT itt): every piece but the
 * last has F=0 and a TTT, none has C, each ends on a key=value boundary
 * and fits 512 bytes; returns the number of pieces and the TargetName
 * count in *names. */
static int fetch_all(struct rig *r, uint32_t itt, int *names)
{
	int pieces = 0;
	struct rsp p;

	*names = 0;
	text_send_str(r, itt, "SendTargets=All");
	for (;;) {
		expect(r, ISCSI_OP_TEXT_RSP, &p);
		pieces++;
		assert_int_equal(p.h.itt, itt);
		assert_true(p.h.data_len > 0 && p.h.data_len <= 512);
		assert_int_equal(p.data[p.h.data_len - 1], '\0');
		assert_false(p.h.flags & ISCSI_TEXT_F_CONTINUE);
		*names += count_key(&p, "TargetName", NULL);
		if (p.h.flags & ISCSI_FLAG_FINAL) {
			assert_int_equal(p.h.w20, RESERVED);
			rsp_free(&p);
			return pieces;
		}
		assert_true(p.h.w20 != RESERVED);
		/* §11.10.4: an empty request with the TTT asks for more */
		text_send(r, itt, p.h.w20, ISCSI_FLAG_FINAL, NULL, 0);
		rsp_free(&p);
	}
}

static void long_answer_comes_in_pieces_of_whole_pairs(void **state)
{
	struct rig *r = rig_many();
	int names, pieces;

	(void)state;
	login_discovery_512(r);
	pieces = fetch_all(r, 80, &names);
	assert_int_equal(names, MANY);
	assert_true(pieces >= 5);
	/* and again: the exchange left nothing behind */
	assert_int_equal(fetch_all(r, 81, &names), pieces);
	assert_int_equal(names, MANY);
	rig_logout(r);
	rig_free(r);
}

/* An initiator that stops fetching: a new request (TTT 0xffffffff)
 * starts afresh, the abandoned TTT is no longer good, and a connection
 * that ends with an answer half sent leaks nothing (ASan, unit-asan). */
static void abandoned_long_answer_is_dropped(void **state)
{
	struct rig *r = rig_many();
	struct rsp p;
	uint32_t old_ttt;
	int names;

	(void)state;
	login_discovery_512(r);
	text_send_str(r, 90, "SendTargets=All");
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_false(p.h.flags & ISCSI_FLAG_FINAL);
	old_ttt = p.h.w20;
	rsp_free(&p);
	/* abandoned: a new request, another ITT, gets the whole answer */
	assert_int_equal(fetch_all(r, 91, &names) >= 5, 1);
	assert_int_equal(names, MANY);
	/* the old continuation is no longer an exchange of ours */
	text_send(r, 90, old_ttt, ISCSI_FLAG_FINAL, NULL, 0);
	expect_reject(r, 90, ISCSI_REJECT_INVALID_PDU_FIELD);
	/* abandoned for good: the session logs out with the answer half
	 * sent */
	text_send_str(r, 92, "SendTargets=All");
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_false(p.h.flags & ISCSI_FLAG_FINAL);
	rsp_free(&p);
	rig_logout(r);
	/* and a connection that just goes away with one pending */
	login_discovery_512(r);
	text_send_str(r, 93, "SendTargets=All");
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_false(p.h.flags & ISCSI_FLAG_FINAL);
	rsp_free(&p);
	rig_free(r);
}

/* A continuation that carries text, or a TTT or ITT that is not the
 * exchange's, is refused; the exchange of a wrong ITT is not disturbed
 * for the next good continuation... but a protocol error ends it. */
static void bad_continuations_are_rejected(void **state)
{
	struct rig *r = rig_many();
	struct rsp p;
	uint32_t ttt;

	(void)state;
	login_discovery_512(r);
	text_send_str(r, 100, "SendTargets=All");
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	ttt = p.h.w20;
	rsp_free(&p);
	text_send(r, 100, ttt + 1, ISCSI_FLAG_FINAL, NULL, 0);
	expect_reject(r, 100, ISCSI_REJECT_INVALID_PDU_FIELD);
	text_send(r, 101, ttt, ISCSI_FLAG_FINAL, NULL, 0); /* wrong ITT */
	expect_reject(r, 101, ISCSI_REJECT_INVALID_PDU_FIELD);
	/* still open: the right continuation gets the next piece */
	text_send(r, 100, ttt, ISCSI_FLAG_FINAL, NULL, 0);
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_int_equal(p.h.itt, 100);
	ttt = p.h.w20;
	rsp_free(&p);
	/* asking for the next piece with text in the request */
	text_send(r, 100, ttt, ISCSI_FLAG_FINAL, "SendTargets=All", 16);
	expect_reject(r, 100, ISCSI_REJECT_PROTOCOL_ERROR);
	text_send(r, 100, ttt, ISCSI_FLAG_FINAL, NULL, 0); /* ended */
	expect_reject(r, 100, ISCSI_REJECT_INVALID_PDU_FIELD);
	rig_free(r);
}

/* ----------------------------------------------- F and C bits */

/* §11.11.1: a Text Response with F=1 to a request with F=0 is a protocol
 * error; the answer is F=0 with a TTT, and the initiator's empty F=1
 * request with that TTT ends the exchange. */
static void request_without_f_gets_an_open_answer(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;
	uint32_t ttt;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	text_send(r, 110, RESERVED, 0, "SendTargets=", 13);
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_false(p.h.flags & ISCSI_FLAG_FINAL);
	assert_true(p.h.w20 != RESERVED);
	assert_int_equal(count_key(&p, "TargetName", T_A), 1);
	ttt = p.h.w20;
	rsp_free(&p);
	text_send(r, 110, ttt, ISCSI_FLAG_FINAL, NULL, 0);
	expect_final(r, 110, &p);
	assert_int_equal(p.h.data_len, 0);
	rsp_free(&p);
	rig_free(r);
}

/* §6.2: request text may span PDUs (C=1), even inside a key; each C=1
 * piece is answered with an empty F=0 response whose TTT the next piece
 * carries.  C=1 with F=1 is a protocol error. */
static void request_text_continued_over_pdus(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;
	uint32_t ttt;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	text_send(r, 120, RESERVED, ISCSI_TEXT_F_CONTINUE, "SendTar", 7);
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_int_equal(p.h.data_len, 0);
	assert_false(p.h.flags & ISCSI_FLAG_FINAL);
	assert_true(p.h.w20 != RESERVED);
	ttt = p.h.w20;
	rsp_free(&p);
	text_send(r, 120, ttt, ISCSI_TEXT_F_CONTINUE, "gets=A", 6);
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_int_equal(p.h.data_len, 0);
	ttt = p.h.w20;
	rsp_free(&p);
	text_send(r, 120, ttt, ISCSI_FLAG_FINAL, "ll", 3);
	expect_final(r, 120, &p);
	assert_int_equal(count_key(&p, "TargetName", NULL), 2);
	rsp_free(&p);
	text_send(r, 121, RESERVED, ISCSI_TEXT_F_CONTINUE | ISCSI_FLAG_FINAL,
		  "SendTargets=All", 16);
	expect_reject(r, 121, ISCSI_REJECT_PROTOCOL_ERROR);
	rig_free(r);
}

/* ISCSI_TEXT_MAX_BYTES bounds the request text a C=1 sequence may pile
 * up: exactly the limit is taken, one byte more is Rejected. */
static void request_text_of_64_kib_is_the_limit(void **state)
{
	struct rig *r = rig_new(conf_two);
	uint8_t *chunk = malloc(8192);
	struct rsp p;
	uint32_t ttt = RESERVED;

	(void)state;
	assert_non_null(chunk);
	memset(chunk, 'a', 8192);
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	for (int i = 0; i < ISCSI_TEXT_MAX_BYTES / 8192; i++) {
		text_send(r, 130, ttt, ISCSI_TEXT_F_CONTINUE, chunk, 8192);
		expect(r, ISCSI_OP_TEXT_RSP, &p);
		ttt = p.h.w20;
		rsp_free(&p);
	}
	text_send(r, 130, ttt, ISCSI_FLAG_FINAL, chunk, 1);
	expect_reject(r, 130, ISCSI_REJECT_OUT_OF_RESOURCES);
	free(chunk);
	rig_free(r);
}

/* A request of n private keys X-k000..: its text (NUL-separated pairs)
 * and length. */
static char *private_keys(unsigned int n, uint32_t *len)
{
	char *t = malloc(n * 16u);
	uint32_t l = 0;

	assert_non_null(t);
	for (unsigned int i = 0; i < n; i++)
		l += (uint32_t)snprintf(t + l, 16, "X-k%03u=1", i) + 1;
	*len = l;
	return t;
}

/* ISCSI_TEXT_MAX_PAIRS bounds the keys of a request: 128 private keys are
 * each answered NotUnderstood; one more is a limit of ours, not a
 * protocol error: Rejected out of resources, as too much text is. */
static void request_of_128_keys_is_the_limit(void **state)
{
	struct rig *r = rig_new(conf_two);
	struct rsp p;
	uint32_t len;
	char *t;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, T_A), 0);
	t = private_keys(ISCSI_TEXT_MAX_PAIRS, &len);
	text_send(r, 140, RESERVED, ISCSI_FLAG_FINAL, t, len);
	free(t);
	expect(r, ISCSI_OP_TEXT_RSP, &p);
	assert_int_equal(count_key(&p, "X-k127", "NotUnderstood"), 1);
	rsp_free(&p);
	t = private_keys(ISCSI_TEXT_MAX_PAIRS + 1, &len);
	text_send(r, 141, RESERVED, ISCSI_FLAG_FINAL, t, len);
	free(t);
	expect_reject(r, 141, ISCSI_REJECT_OUT_OF_RESOURCES);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_and_wrongly_cased_keys_are_rejected),
		cmocka_unit_test(bad_sendtargets_values_are_rejected),
		cmocka_unit_test(sendtargets_with_another_key_is_rejected),
		cmocka_unit_test(
			normal_session_keys_get_their_negotiation_answers),
		cmocka_unit_test(discovery_session_rejects_all_but_sendtargets),
		cmocka_unit_test(discovery_sendtargets_all_name_and_empty),
		cmocka_unit_test(normal_sendtargets_all_name_and_empty),
		cmocka_unit_test(long_answer_comes_in_pieces_of_whole_pairs),
		cmocka_unit_test(abandoned_long_answer_is_dropped),
		cmocka_unit_test(bad_continuations_are_rejected),
		cmocka_unit_test(request_without_f_gets_an_open_answer),
		cmocka_unit_test(request_text_continued_over_pdus),
		cmocka_unit_test(request_text_of_64_kib_is_the_limit),
		cmocka_unit_test(request_of_128_keys_is_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
