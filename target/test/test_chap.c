/*
 * test_chap.c — CHAP logins (RFC 7143 §12.1.3) through the fake
 * environment: one-way, mutual, discovery, and every way an exchange must
 * fail with 0x0201.  The digests and value codecs are test_chap_values.c's.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chap_fmt.h"
#include "iscsi/chap.h"
#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:chap"
#define TGT_ONEWAY "iqn.2026-11.org.utarget:oneway"
#define TGT_OPEN "iqn.2026-11.org.utarget:open"
#define INI "iqn.2026-11.org.utarget:ini"
#define ALICE_SECRET "alice-secret-1"
#define BOB_SECRET "bob-secret-22"
#define TGT_SECRET "tgt-secret-333"

#define DEVS                                                                    \
	"HANDLER vdisk_mem {\n DEVICE d0 { size 1M }\n DEVICE d1 { size 1M }\n" \
	" DEVICE d2 { size 1M }\n}\n"

static const char conf_chap[] = DEVS
	"TARGET_DRIVER iscsi {\n"
	" TARGET " TGT " {\n"
	"  LUN 0 d0\n"
	"  IncomingUser \"alice " ALICE_SECRET "\"\n"
	"  IncomingUser \"bob " BOB_SECRET "\"\n"
	"  OutgoingUser \"tgt-user " TGT_SECRET "\"\n"
	" }\n"
	" TARGET " TGT_ONEWAY " {\n"
	"  LUN 0 d1\n"
	"  IncomingUser \"alice " ALICE_SECRET "\"\n"
	" }\n"
	" TARGET " TGT_OPEN " {\n"
	"  LUN 0 d2\n"
	" }\n"
	"}\n";

static const char conf_discovery_chap[] = DEVS
	"TARGET_DRIVER iscsi {\n"
	" IncomingUser \"disco disco-secret-4444\"\n"
	" OutgoingUser \"disco-tgt disco-tgt-secret-5\"\n"
	" TARGET " TGT_OPEN " {\n"
	"  LUN 0 d2\n"
	" }\n"
	"}\n";

/* ------------------------------------------------------------- helpers */

static bool log_has(const struct rig *r, const char *s)
{
	return strstr(r->log, s) != NULL;
}

/* -------------------------------------------------------------- logins */

/* What the target's challenge was. */
struct chal {
	enum chap_alg alg;
	uint8_t id;
	uint8_t c[CHAP_CHALLENGE_MAX_BYTES];
	int clen;
};

/* Security stage up to the target's challenge: AuthMethod (with T=1, to
 * check the target holds the stage), then CHAP_A. */
static void chap_begin(struct rig *r, const char *ini, const char *tgt,
		       const char *algs, struct chal *ch)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	const char *v;

	rig_connect(r);
	rig_text_identity(&t, ini, tgt);
	rig_text_add(&t, "AuthMethod", "CHAP,None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	assert_string_equal(iscsi_kv_get(&rsp.kv, "AuthMethod"), "CHAP");
	if (rsp.transit)
		fail_msg("RFC 7143 §6.2: the target must not leave the "
			 "security stage before CHAP is done");
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);

	rig_text_add(&t, "CHAP_A", algs);
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, false, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	v = iscsi_kv_get(&rsp.kv, "CHAP_A");
	assert_non_null(v);
	ch->alg = (enum chap_alg)atoi(v);
	v = iscsi_kv_get(&rsp.kv, "CHAP_I");
	assert_non_null(v);
	assert_int_equal(iscsi_chap_parse_id(v, &ch->id), 0);
	v = iscsi_kv_get(&rsp.kv, "CHAP_C");
	assert_non_null(v);
	ch->clen = iscsi_chap_decode(v, ch->c, sizeof(ch->c));
	assert_true(ch->clen >= CHAP_CHALLENGE_MIN_BYTES);
	assert_true((size_t)ch->clen >= iscsi_chap_digest_len(ch->alg));
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
}

/* CHAP_R for secret over the target's challenge, hex-encoded. */
static void chap_r(const struct chal *ch, const char *secret, char *hex)
{
	uint8_t d[CHAP_DIGEST_MAX_BYTES];

	assert_int_equal(iscsi_chap_response(ch->alg, ch->id, secret,
					     strlen(secret), ch->c,
					     (size_t)ch->clen, d),
			 0);
	tohex(d, iscsi_chap_digest_len(ch->alg), hex);
}

/* Send the final security request (T=1 to operational) with t. */
static void chap_answer(struct rig *r, const struct rig_text *t,
			struct rig_login_rsp *rsp)
{
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, t,
		  rsp);
}

static void expect_auth_failure(struct rig_login_rsp *rsp, const char *rule)
{
	if (rsp->status != ISCSI_LS_AUTH_FAILED)
		fail_msg("%s: expected login status 0x0201 (authentication "
			 "failure), got 0x%04x",
			 rule, rsp->status);
	if (!rsp->closed)
		fail_msg("%s: the connection must end after the failure", rule);
	rig_login_rsp_free(rsp);
}

/* A complete one-way login as alice; returns once in full feature. */
static void login_as(struct rig *r, const char *tgt, const char *user,
		     const char *secret, const char *algs)
{
	struct chal ch;
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3];

	chap_begin(r, INI, tgt, algs, &ch);
	chap_r(&ch, secret, hex);
	rig_text_add(&t, "CHAP_N", user);
	rig_text_add(&t, "CHAP_R", hex);
	chap_answer(r, &t, &rsp);
	assert_int_equal(rsp.status, 0);
	assert_true(rsp.transit);
	assert_int_equal(rsp.nsg, ISCSI_STAGE_OPERATIONAL);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_login_finish(r);
}

static void one_way_chap_logs_in_with_each_algorithm(void **state)
{
	static const char *const algs[] = {"5", "6", "7", "8"};
	struct rig *r = rig_new(conf_chap);
	struct rig_scsi out;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct chal ch;

		login_as(r, TGT, "alice", ALICE_SECRET, algs[i]);
		rig_tur(r, 0, &out);
		assert_int_equal(out.status, 0);
		/* the algorithm picked is the one offered */
		chap_begin(r, INI, TGT, algs[i], &ch);
		assert_int_equal(ch.alg, atoi(algs[i]));
	}
	rig_free(r);
}

static void any_incoming_user_may_log_in(void **state)
{
	struct rig *r = rig_new(conf_chap);

	(void)state;
	login_as(r, TGT, "bob", BOB_SECRET, "7");
	login_as(r, TGT, "alice", ALICE_SECRET, "5,6,7,8");
	rig_free(r);
}

static void mutual_chap_answers_with_the_outgoing_user(void **state)
{
	struct rig *r = rig_new(conf_chap);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct chal ch;
	uint8_t mychal[16], want[CHAP_DIGEST_MAX_BYTES],
		got[CHAP_DIGEST_MAX_BYTES];
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3], chex[40];
	const char *v;

	(void)state;
	for (int i = 0; i < 16; i++)
		mychal[i] = (uint8_t)(0xa0 + i);
	tohex(mychal, sizeof(mychal), chex);
	for (int alg = 5; alg <= 8; alg++) {
		char algs[4];

		snprintf(algs, sizeof(algs), "%d", alg);
		chap_begin(r, INI, TGT, algs, &ch);
		chap_r(&ch, ALICE_SECRET, hex);
		rig_text_add(&t, "CHAP_N", "alice");
		rig_text_add(&t, "CHAP_R", hex);
		rig_text_add(&t, "CHAP_I", "77");
		rig_text_add(&t, "CHAP_C", chex);
		chap_answer(r, &t, &rsp);
		assert_int_equal(rsp.status, 0);
		assert_true(rsp.transit);
		assert_string_equal(iscsi_kv_get(&rsp.kv, "CHAP_N"),
				    "tgt-user");
		v = iscsi_kv_get(&rsp.kv, "CHAP_R");
		assert_non_null(v);
		assert_int_equal(iscsi_chap_decode(v, got, sizeof(got)),
				 (int)iscsi_chap_digest_len(ch.alg));
		assert_int_equal(iscsi_chap_response(ch.alg, 77, TGT_SECRET,
						     strlen(TGT_SECRET), mychal,
						     sizeof(mychal), want),
				 0);
		if (memcmp(got, want, iscsi_chap_digest_len(ch.alg)))
			fail_msg(
				"RFC 7143 §12.1.3: the target's CHAP_R must be "
				"H(CHAP_I, OutgoingUser secret, CHAP_C)");
		rig_login_rsp_free(&rsp);
		rig_text_free(&t);
		rig_login_finish(r);
	}
	rig_free(r);
}

/* A mutual request with CHAP_C = challenge (hex or base64 text). */
static void mutual_with(struct rig *r, const char *tgt, const char *id,
			const char *chal_text, const char *i_key,
			const char *c_key, struct rig_login_rsp *rsp)
{
	struct rig_text t = {0};
	struct chal ch;
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3];

	chap_begin(r, INI, tgt, "7", &ch);
	chap_r(&ch, ALICE_SECRET, hex);
	rig_text_add(&t, "CHAP_N", "alice");
	rig_text_add(&t, "CHAP_R", hex);
	if (i_key)
		rig_text_add(&t, i_key, id);
	if (c_key)
		rig_text_add(&t, c_key, chal_text);
	chap_answer(r, &t, rsp);
	rig_text_free(&t);
}

/* ------------------------------------------------- failures, as a table */

/*
 * Every way a CHAP exchange must fail: each row is one login on a fresh
 * connection that must end with 0x0201 (RFC 7143 §11.13.5, AUTHENTICATION
 * FAILURE), a closed connection and no CHAP_R of ours.
 *
 * With algs set, the exchange first runs up to the target's challenge
 * (chap_begin); without, the identity keys go into the first request.
 * pre, when set, is one request (T=0) that must succeed first.  A value
 * is literal text or computed from the target's challenge:
 *   $R:SECRET       CHAP_R for SECRET, in hex
 *   $R:SECRET:-1    the same, one byte short (:+1 one byte long)
 *   $R64:SECRET     the same, in base64
 *   $C:hex, $C:b64  the target's own CHAP_C, reflected
 *   $X:N:hex|b64    N bytes of a pattern (a challenge of our own)
 *   $A:N            "0x" followed by N times 'a'
 *   $N:N            N times 'n' (a name)
 * The boundary tests below (CHAP_C, CHAP_R and CHAP_N lengths, oversized
 * values) run their refused side through the same runner, next to the
 * accepted side.
 */
struct chap_fail {
	const char *rule; /* what requires the failure */
	const char *tgt;
	const char *algs;   /* CHAP_A of chap_begin, or NULL */
	bool operational;   /* the request starts in the operational stage */
	bool hold;	    /* T=0 on the failing request */
	const char *pre[8]; /* key, value, ..., NULL */
	const char *pre_answer; /* a key=value pre's answer must hold */
	const char *keys[10];	/* key, value, ..., NULL */
};

#define CHAL16 "0x00112233445566778899aabbccddeeff"

static const struct chap_fail chap_fails[] = {
	/* the response */
	{"RFC 7143 §12.1.3: a wrong CHAP_R", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:alice-secret-2"}},
	{"a response must match the named user", TGT, "7",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" BOB_SECRET}},
	{"an unknown CHAP_N", TGT, "7",
	 .keys = {"CHAP_N", "mallory", "CHAP_R", "$R:" ALICE_SECRET}},
	{"a wrong response (zeros)", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", CHAL16}},
	{"malformed CHAP_R: bad hex digit", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0x0g"}},
	{"malformed CHAP_R: no 0x or 0b prefix", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "12345678"}},
	{"malformed CHAP_R: odd hex length", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0x123"}},
	{"malformed CHAP_R: bad base64 character", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0bA*=="}},
	{"malformed CHAP_R: truncated base64", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0bAQ="}},
	{"malformed CHAP_R: empty", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", ""}},
	{"malformed CHAP_R: 0x alone", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0x"}},
	{"malformed CHAP_R: 0b alone", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "0b"}},
	{"malformed CHAP_R: unknown prefix", TGT, "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R",
		  "0z00000000000000000000000000000000"}},
	/* mutual CHAP */
	{"mutual CHAP needs an OutgoingUser", TGT_ONEWAY, "7",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_I",
		  "1", "CHAP_C", CHAL16}},
	{"CHAP_I without CHAP_C", TGT, "7",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_I",
		  "1"}},
	{"CHAP_C without CHAP_I", TGT, "7",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_C",
		  CHAL16}},
	{"CHAP_I above 255", TGT, "7",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_I",
		  "256", "CHAP_C", CHAL16}},
	{"reflection: the initiator's CHAP_C equals the target's (hex)", TGT,
	 "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_I",
		  "9", "CHAP_C", "$C:hex"}},
	{"reflection: the initiator's CHAP_C equals the target's (base64)", TGT,
	 "5",
	 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET, "CHAP_I",
		  "9", "CHAP_C", "$C:b64"}},
	/* which methods a target accepts */
	{"IncomingUser set: AuthMethod=None alone", TGT,
	 .keys = {"AuthMethod", "None"}},
	{"IncomingUser set: no AuthMethod", TGT, .algs = NULL},
	{"IncomingUser set: login from stage 1", TGT, .operational = true},
	{"CHAP keys after AuthMethod=None", TGT_OPEN,
	 .pre = {"AuthMethod", "CHAP,None"}, .pre_answer = "AuthMethod=None",
	 .keys = {"CHAP_A", "5"}},
	/* the order of the exchange */
	{"a second CHAP_A after authentication", TGT, "5",
	 .pre = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET},
	 .keys = {"CHAP_A", "5"}},
	{"CHAP_A twice", TGT, "5", .keys = {"CHAP_A", "5"}},
	{"CHAP_R before CHAP_A", TGT,
	 .keys = {"AuthMethod", "CHAP", "CHAP_N", "alice", "CHAP_R", CHAL16}},
	{"CHAP_A before AuthMethod", TGT, .hold = true,
	 .keys = {"CHAP_A", "5"}},
	{"CHAP_A with no supported algorithm", TGT, .hold = true,
	 .keys = {"AuthMethod", "CHAP", "CHAP_A", "128,129"}},
	{"CHAP keys outside the security stage", TGT_OPEN, .operational = true,
	 .keys = {"CHAP_A", "5"}},
};

/* A row's value (see chap_fails), malloc'd. */
static char *chap_fail_value(const char *spec, const struct chal *ch)
{
	size_t n = strlen(spec) + 1;
	char *v;

	if (spec[0] != '$')
		return strdup(spec);
	if (strncmp(spec, "$A:", 3) == 0 || strncmp(spec, "$N:", 3) == 0) {
		bool name = spec[1] == 'N';

		n = strtoul(spec + 3, NULL, 10);
		v = malloc(n + 3);
		assert_non_null(v);
		memcpy(v, "0x", name ? 0 : 2);
		memset(v + (name ? 0 : 2), name ? 'n' : 'a', n);
		v[n + (name ? 0 : 2)] = '\0';
		return v;
	}
	v = malloc(4 * CHAP_CHALLENGE_MAX_BYTES + 16);
	assert_non_null(v);
	if (strncmp(spec, "$R", 2) == 0) {
		bool b64 = strncmp(spec, "$R64:", 5) == 0;
		char secret[64];
		const char *colon;
		uint8_t d[CHAP_DIGEST_MAX_BYTES + 1] = {0};
		int delta = 0;

		spec += b64 ? 5 : 3;
		colon = strchr(spec, ':');
		n = colon ? (size_t)(colon - spec) : strlen(spec);
		assert_true(n < sizeof(secret));
		memcpy(secret, spec, n);
		secret[n] = '\0';
		if (colon)
			delta = atoi(colon + 1);
		assert_int_equal(iscsi_chap_response(ch->alg, ch->id, secret,
						     strlen(secret), ch->c,
						     (size_t)ch->clen, d),
				 0);
		n = (size_t)((int)iscsi_chap_digest_len(ch->alg) + delta);
		if (b64)
			tob64(d, n, v);
		else
			tohex(d, n, v);
	} else if (strncmp(spec, "$C:", 3) == 0) {
		if (strcmp(spec + 3, "b64") == 0)
			tob64(ch->c, (size_t)ch->clen, v);
		else
			tohex(ch->c, (size_t)ch->clen, v);
	} else if (strncmp(spec, "$X:", 3) == 0) {
		uint8_t big[CHAP_CHALLENGE_MAX_BYTES + 1];

		n = strtoul(spec + 3, NULL, 10);
		assert_true(n <= sizeof(big));
		for (size_t i = 0; i < n; i++)
			big[i] = (uint8_t)(i ^ 0x5a);
		if (strstr(spec + 3, ":b64"))
			tob64(big, n, v);
		else
			tohex(big, n, v);
	} else {
		fail_msg("unknown value '%s' in the CHAP failure table", spec);
	}
	return v;
}

static void chap_fail_keys(struct rig_text *t, const char *const *kv,
			   const struct chal *ch)
{
	for (size_t i = 0; kv[i] != NULL; i += 2) {
		char *v = chap_fail_value(kv[i + 1], ch);

		rig_text_add(t, kv[i], v);
		free(v);
	}
}

/* One row of the table on a fresh connection of r. */
static void chap_fail_run(struct rig *r, const struct chap_fail *f)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct chal ch = {0};
	int csg = f->operational ? ISCSI_STAGE_OPERATIONAL
				 : ISCSI_STAGE_SECURITY;

	if (f->algs != NULL) {
		chap_begin(r, INI, f->tgt, f->algs, &ch);
	} else {
		rig_connect(r);
		rig_text_identity(&t, INI, f->tgt);
	}
	if (f->pre[0] != NULL) {
		chap_fail_keys(&t, f->pre, &ch);
		rig_login(r, csg, ISCSI_STAGE_OPERATIONAL, false, &t, &rsp);
		if (rsp.status != 0)
			fail_msg("%s: the request before the failing one "
				 "must succeed, got 0x%04x",
				 f->rule, rsp.status);
		if (f->pre_answer != NULL) {
			const char *eq = strchr(f->pre_answer, '=');
			char key[64];
			const char *got;

			snprintf(key, sizeof(key), "%.*s",
				 (int)(eq - f->pre_answer), f->pre_answer);
			got = iscsi_kv_get(&rsp.kv, key);
			if (got == NULL || strcmp(got, eq + 1) != 0)
				fail_msg("%s: expected %s before the failing "
					 "request, got %s",
					 f->rule, f->pre_answer,
					 got ? got : "nothing");
		}
		rig_login_rsp_free(&rsp);
		rig_text_free(&t);
	}
	chap_fail_keys(&t, f->keys, &ch);
	rig_login(r, csg,
		  f->operational ? ISCSI_STAGE_FULL_FEATURE
				 : ISCSI_STAGE_OPERATIONAL,
		  !f->hold, &t, &rsp);
	if (iscsi_kv_has(&rsp.kv, "CHAP_R"))
		fail_msg("%s: a failed exchange must not be answered with a "
			 "CHAP_R of the target",
			 f->rule);
	expect_auth_failure(&rsp, f->rule);
	rig_text_free(&t);
}

static void chap_failures_are_authentication_failures(void **state)
{
	struct rig *r = rig_new(conf_chap);

	(void)state;
	for (size_t i = 0; i < sizeof(chap_fails) / sizeof(chap_fails[0]); i++)
		chap_fail_run(r, &chap_fails[i]);
	/* and the target still serves, with and without CHAP */
	login_as(r, TGT, "alice", ALICE_SECRET, "5");
	login_as(r, TGT_ONEWAY, "alice", ALICE_SECRET, "5");
	assert_int_equal(rig_login_plain(r, INI, TGT_OPEN), 0);
	rig_free(r);
}
static void chap_c_limit_is_1024_bytes(void **state)
{
	static const struct chap_fail over[] = {
		{"CHAP_C of 1025 bytes (hex)", TGT, "7",
		 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET,
			  "CHAP_I", "3", "CHAP_C", "$X:1025:hex"}},
		{"CHAP_C of 1025 bytes (base64)", TGT, "7",
		 .keys = {"CHAP_N", "alice", "CHAP_R", "$R:" ALICE_SECRET,
			  "CHAP_I", "3", "CHAP_C", "$X:1025:b64"}},
	};
	struct rig *r = rig_new(conf_chap);
	struct rig_login_rsp rsp;
	uint8_t big[CHAP_CHALLENGE_MAX_BYTES];
	char enc[2 * sizeof(big) + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ 0x5a);
	/* exactly at the limit: accepted, hex and base64 */
	tohex(big, CHAP_CHALLENGE_MAX_BYTES, enc);
	mutual_with(r, TGT, "3", enc, "CHAP_I", "CHAP_C", &rsp);
	assert_int_equal(rsp.status, 0);
	assert_true(iscsi_kv_has(&rsp.kv, "CHAP_R"));
	rig_login_rsp_free(&rsp);
	tob64(big, CHAP_CHALLENGE_MAX_BYTES, enc);
	mutual_with(r, TGT, "3", enc, "CHAP_I", "CHAP_C", &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	/* one past it: refused */
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		chap_fail_run(r, &over[i]);
	rig_free(r);
}

static void chap_r_must_be_exactly_one_digest(void **state)
{
	static const struct chap_fail off_by_one[] = {
		{"CHAP_R one byte short", TGT, "6",
		 .keys = {"CHAP_N", "alice", "CHAP_R",
			  "$R:" ALICE_SECRET ":-1"}},
		{"CHAP_R one byte long", TGT, "6",
		 .keys = {"CHAP_N", "alice", "CHAP_R",
			  "$R:" ALICE_SECRET ":+1"}},
	};
	struct rig *r = rig_new(conf_chap);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct chal ch;
	char *v;

	(void)state;
	for (size_t i = 0; i < 2; i++)
		chap_fail_run(r, &off_by_one[i]);
	/* exactly one digest, and in base64 as good as in hex */
	chap_begin(r, INI, TGT, "6", &ch);
	v = chap_fail_value("$R64:" ALICE_SECRET, &ch);
	rig_text_add(&t, "CHAP_N", "alice");
	rig_text_add(&t, "CHAP_R", v);
	chap_answer(r, &t, &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	free(v);
	rig_free(r);
}

static void chap_n_limit_is_255_bytes(void **state)
{
	static const struct chap_fail bad_names[] = {
		{"CHAP_N of 256 bytes", TGT, "8",
		 .keys = {"CHAP_N", "$N:256", "CHAP_R", "$R:long-name-secret"}},
		{"empty CHAP_N", TGT, "8",
		 .keys = {"CHAP_N", "", "CHAP_R", "$R:long-name-secret"}},
	};
	char name[256], conf[2048];
	struct rig *r;

	(void)state;
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(conf, sizeof(conf),
		 DEVS "TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 d0\n"
		      "  IncomingUser \"%s long-name-secret\"\n }\n}\n",
		 name);
	r = rig_new(conf);
	/* 255 bytes: the user logs in */
	login_as(r, TGT, name, "long-name-secret", "8");
	/* 256 bytes: refused before any user is looked up; an empty name
	 * is no name */
	chap_fail_run(r, &bad_names[0]);
	assert_true(log_has(r, "CHAP_N empty or longer than 255 bytes"));
	chap_fail_run(r, &bad_names[1]);
	rig_free(r);
}

/* CVE-2018-14633: LIO copied CHAP_R into a fixed buffer unchecked.  Any
 * size, up to what the text layer takes and beyond, is a clean 0x0201. */
static void oversized_values_fail_cleanly(void **state)
{
	static const size_t sizes[] = {
		ISCSI_BINARY_VALUE_MAX - 2, /* "0x" + 8190: text takes it */
		ISCSI_BINARY_VALUE_MAX - 1, /* odd: not hex either */
		ISCSI_BINARY_VALUE_MAX + 1, /* over the text limit */
		60000,			    /* within the 64 KiB login text */
	};
	struct rig *r = rig_new(conf_chap);
	struct iscsi_server_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char big[32], rule[3][96];
		struct chap_fail rows[3] = {
			{rule[0], TGT, "5",
			 .keys = {"CHAP_N", "alice", "CHAP_R", big}},
			{rule[1], TGT, "5",
			 .keys = {"CHAP_N", "alice", "CHAP_R",
				  "$R:" ALICE_SECRET, "CHAP_I", "1", "CHAP_C",
				  big}},
			{rule[2], TGT, "5",
			 .keys = {"CHAP_N", big, "CHAP_R", "$R:" ALICE_SECRET}},
		};
		static const char *const keys[] = {"CHAP_R", "CHAP_C",
						   "CHAP_N"};

		snprintf(big, sizeof(big), "$A:%zu", sizes[i]);
		for (size_t k = 0; k < 3; k++) {
			snprintf(rule[k], sizeof(rule[k]),
				 "CVE-2018-14633: %s of %zu bytes", keys[k],
				 sizes[i] + 2);
			chap_fail_run(r, &rows[k]);
		}
	}
	/* and the target still serves */
	login_as(r, TGT, "alice", ALICE_SECRET, "8");
	iscsi_server_get_stats(r->srv, &st);
	assert_true(st.sessions >= 1);
	rig_free(r);
}

/* A transit request in the middle of an exchange is held, not refused:
 * RFC 7143 §6.2, the target answers T=0 until CHAP is done. */
static void transit_mid_exchange_is_held(void **state)
{
	struct rig *r = rig_new(conf_chap);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	(void)state;
	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "AuthMethod", "CHAP");
	rig_text_add(&t, "CHAP_A", "7");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	assert_false(rsp.transit);
	assert_true(iscsi_kv_has(&rsp.kv, "CHAP_C"));
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_free(r);
}

static void discovery_sessions_use_the_driver_level_users(void **state)
{
	struct rig *r = rig_new(conf_discovery_chap);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct iscsi_kvlist st;
	struct chal ch;
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3];

	(void)state;
	/* discovery without CHAP is refused */
	assert_int_equal(rig_login_plain(r, INI, NULL), ISCSI_LS_AUTH_FAILED);
	/* with the discovery user, mutually */
	chap_begin(r, INI, NULL, "7,5", &ch);
	assert_int_equal(ch.alg, CHAP_ALG_SHA256);
	chap_r(&ch, "disco-secret-4444", hex);
	rig_text_add(&t, "CHAP_N", "disco");
	rig_text_add(&t, "CHAP_R", hex);
	rig_text_add(&t, "CHAP_I", "5");
	rig_text_add(&t, "CHAP_C", "0x0102030405060708090a0b0c0d0e0f10");
	chap_answer(r, &t, &rsp);
	assert_int_equal(rsp.status, 0);
	assert_string_equal(iscsi_kv_get(&rsp.kv, "CHAP_N"), "disco-tgt");
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_login_finish(r);
	rig_sendtargets(r, "All", &st);
	assert_string_equal(iscsi_kv_get(&st, "TargetName"), TGT_OPEN);
	iscsi_kvlist_free(&st);
	/* the target's own (empty) user list governs normal sessions */
	assert_int_equal(rig_login_plain(r, INI, TGT_OPEN), 0);
	rig_free(r);
}

static void secrets_and_chap_values_never_reach_the_log(void **state)
{
	struct rig *r = rig_new(conf_chap);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct chal ch;
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3], chex[2 * 64 + 3];
	char *seen[8];
	size_t nseen = 0;
	const char *v;

	(void)state;
	/* mutual success: our challenge, the initiator's response, the
	 * initiator's challenge and our response all cross the wire */
	chap_begin(r, INI, TGT, "8", &ch);
	tohex(ch.c, (size_t)ch.clen, chex);
	seen[nseen++] = strdup(chex + 2);
	chap_r(&ch, ALICE_SECRET, hex);
	seen[nseen++] = strdup(hex + 2);
	rig_text_add(&t, "CHAP_N", "alice");
	rig_text_add(&t, "CHAP_R", hex);
	rig_text_add(&t, "CHAP_I", "200");
	rig_text_add(&t, "CHAP_C", "0xfeedfacecafebeef0011223344556677");
	chap_answer(r, &t, &rsp);
	assert_int_equal(rsp.status, 0);
	v = iscsi_kv_get(&rsp.kv, "CHAP_R");
	assert_non_null(v);
	seen[nseen++] = strdup(v + 2);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_login_finish(r);
	/* a failure with a wrong secret */
	chap_begin(r, INI, TGT, "6", &ch);
	chap_r(&ch, "not-the-secret", hex);
	seen[nseen++] = strdup(hex + 2);
	rig_text_add(&t, "CHAP_N", "bob");
	rig_text_add(&t, "CHAP_R", hex);
	chap_answer(r, &t, &rsp);
	expect_auth_failure(&rsp, "wrong secret");
	rig_text_free(&t);

	assert_true(r->log_len > 0);
	assert_true(log_has(r, "event=login-failed") &&
		    log_has(r, "status=0x0201"));
	assert_false(log_has(r, ALICE_SECRET));
	assert_false(log_has(r, BOB_SECRET));
	assert_false(log_has(r, TGT_SECRET));
	assert_false(log_has(r, "not-the-secret"));
	assert_false(log_has(r, "feedfacecafebeef"));
	for (size_t i = 0; i < nseen; i++) {
		char lower[200];

		for (size_t j = 0; j <= strlen(seen[i]); j++)
			lower[j] = (char)tolower((unsigned char)seen[i][j]);
		if (log_has(r, seen[i]) || log_has(r, lower))
			fail_msg("a CHAP value reached the log");
		free(seen[i]);
	}
	rig_free(r);
}

#define T(f) cmocka_unit_test(f)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(one_way_chap_logs_in_with_each_algorithm),
		T(any_incoming_user_may_log_in),
		T(mutual_chap_answers_with_the_outgoing_user),
		T(chap_failures_are_authentication_failures),
		T(chap_c_limit_is_1024_bytes),
		T(chap_r_must_be_exactly_one_digest),
		T(chap_n_limit_is_255_bytes),
		T(oversized_values_fail_cleanly),
		T(transit_mid_exchange_is_held),
		T(discovery_sessions_use_the_driver_level_users),
		T(secrets_and_chap_values_never_reach_the_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
