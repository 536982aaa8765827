/*
 * chap.c — CHAP for the login's security stage (RFC 7143 §12.1.3,
 * RFC 1994).  The exchange, as a state machine per login:
 *
 *   OFF            no IncomingUser: AuthMethod answers None; CHAP_* keys
 *                  fail the login
 *   WANT_METHOD  --AuthMethod lists CHAP-->  WANT_ALG   (else 0x0201)
 *   WANT_ALG     --CHAP_A names one of ours-->  WANT_RESPONSE
 *                  we send CHAP_A, CHAP_I and a fresh CHAP_C
 *   WANT_RESPONSE --CHAP_N/CHAP_R match an IncomingUser-->  DONE
 *                  with CHAP_I/CHAP_C too: mutual, we answer with the
 *                  OutgoingUser's CHAP_N/CHAP_R
 *   DONE           any further AuthMethod or CHAP_* key fails the login:
 *                  one exchange per login
 *
 * A key that arrives out of order, a malformed or oversized value, an
 * unknown user, a wrong response, a mutual request without OutgoingUser
 * and a reflected challenge all fail the login with 0x0201.  Values are
 * length-checked before they are decoded; nothing is copied unchecked.
 *
 * No secret, response or challenge is ever logged: callers get a fixed
 * reason string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "iscsi/chap.h"
#include "iscsi/text.h"
#include "ut_assert.h"

size_t iscsi_chap_digest_len(enum chap_alg alg)
{
	switch (alg) {
	case CHAP_ALG_MD5:
		return 16;
	case CHAP_ALG_SHA1:
		return 20;
	case CHAP_ALG_SHA256:
	case CHAP_ALG_SHA3_256:
		return 32;
	case CHAP_ALG_NONE:
		break;
	}
	return 0; /* none, or not one of ours (a caller's test) */
}

int iscsi_chap_response(enum chap_alg alg, uint8_t id, const void *secret,
			size_t secret_len, const uint8_t *challenge,
			size_t challenge_len, uint8_t *out)
{
	struct iscsi_hash h;

	if (iscsi_hash_init(&h, alg))
		return -1;
	/* RFC 1994 §4.1: the hash of Identifier, secret, Challenge Value. */
	iscsi_hash_update(&h, &id, 1);
	iscsi_hash_update(&h, secret, secret_len);
	iscsi_hash_update(&h, challenge, challenge_len);
	iscsi_hash_final(&h, out);
	return 0;
}

/* Our preference: the strongest first. */
static const enum chap_alg chap_preference[] = {
	CHAP_ALG_SHA3_256,
	CHAP_ALG_SHA256,
	CHAP_ALG_SHA1,
	CHAP_ALG_MD5,
};

/* Does the comma-separated list name algorithm alg?  -1 if malformed. */
static int alg_list_has(const char *list, enum chap_alg alg)
{
	const char *p = list;
	int found = 0;

	ut_assert(list != NULL);
	ut_assert(alg != CHAP_ALG_NONE); /* only ours are looked for */
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char tok[24];
		uint64_t v;

		if (len == 0 || len >= sizeof(tok))
			return -1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (iscsi_parse_num(tok, 0, UINT32_MAX, &v))
			return -1;
		if (v == (uint64_t)alg)
			found = 1;
		if (!comma)
			return found;
		p = comma + 1;
	}
}

enum chap_alg iscsi_chap_select_alg(const char *list)
{
	for (size_t i = 0;
	     i < sizeof(chap_preference) / sizeof(chap_preference[0]); i++) {
		int has = alg_list_has(list, chap_preference[i]);

		if (has < 0)
			return CHAP_ALG_NONE;
		if (has)
			return chap_preference[i];
	}
	return CHAP_ALG_NONE;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int decode_hex(const char *s, size_t len, uint8_t *out, size_t cap)
{
	ut_assert(out != NULL);
	if (len == 0 || len % 2 != 0 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* RFC 4648 §4 base64, padded to a multiple of 4, canonical (the unused
 * bits of the last group are zero). */
static int decode_base64(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t pad = 0, n, o = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n == 0 || n > cap)
		return -1;
	ut_assert(pad <= 2);
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			bool is_pad = last && j >= 4 - (int)pad;

			v[j] = is_pad ? 0 : b64_value(s[i + (size_t)j]);
			if (v[j] < 0)
				return -1;
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (last && pad == 2) {
			if (v[1] & 0x0f)
				return -1;
			break;
		}
		out[o++] = (uint8_t)((v[1] & 0x0f) << 4 | v[2] >> 2);
		if (last && pad == 1) {
			if (v[2] & 0x03)
				return -1;
			break;
		}
		out[o++] = (uint8_t)((v[2] & 0x03) << 6 | v[3]);
	}
	/* exactly the length computed (and checked against cap) above */
	ut_assert(o == n);
	return (int)o;
}

int iscsi_chap_decode(const char *value, uint8_t *out, size_t cap)
{
	size_t len = strlen(value);

	if (len < 2 || value[0] != '0')
		return -1;
	if (value[1] == 'x' || value[1] == 'X')
		return decode_hex(value + 2, len - 2, out, cap);
	if (value[1] == 'b' || value[1] == 'B')
		return decode_base64(value + 2, len - 2, out, cap);
	return -1;
}

void iscsi_chap_encode_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	/* our own digests and challenges only */
	ut_assert(len > 0);
	ut_assert(len <= CHAP_DIGEST_MAX_BYTES);
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[2 + 2 * i] = digits[bytes[i] >> 4];
		out[3 + 2 * i] = digits[bytes[i] & 0x0f];
	}
	out[2 + 2 * len] = '\0';
}

int iscsi_chap_parse_id(const char *value, uint8_t *out)
{
	uint64_t v;

	if (iscsi_parse_num(value, 0, 255, &v))
		return -1;
	*out = (uint8_t)v;
	return 0;
}

bool iscsi_chap_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	volatile uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

bool iscsi_chap_key(const char *key)
{
	return !strcmp(key, "CHAP_A") || !strcmp(key, "CHAP_I") ||
	       !strcmp(key, "CHAP_C") || !strcmp(key, "CHAP_N") ||
	       !strcmp(key, "CHAP_R");
}

void iscsi_chap_clear(struct iscsi_chap *st)
{
	explicit_bzero(st->challenge, sizeof(st->challenge));
	st->challenge_len = 0;
}

/* A list of values: is word one of its comma-separated members? */
static bool method_list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l == wl && strncmp(p, word, l) == 0)
			return true;
		if (!comma)
			return false;
		p = comma + 1;
	}
}

/* RFC 7143 §12.1: AuthMethod.  With IncomingUser configured only CHAP
 * will do; an initiator that offers None alone (or anything else) fails
 * authentication rather than getting an unauthenticated session. */
static int chap_method(struct iscsi_chap *st, const char *value,
		       struct iscsi_kvlist *resp, const char **why)
{
	if (st->stage == CHAP_OFF) {
		/* RFC 7143 §6.2: no common value is answered Reject. */
		if (iscsi_kv_add(resp, "AuthMethod",
				 method_list_has(value, "None") ? "None"
								: "Reject")) {
			*why = iscsi_chap_oom;
			return -1;
		}
		return 0;
	}
	if (st->stage != CHAP_WANT_METHOD) {
		*why = "AuthMethod sent twice";
		return -1;
	}
	ut_assert(!st->verified);
	if (!method_list_has(value, "CHAP")) {
		*why = "CHAP is required but the initiator does not offer it";
		return -1;
	}
	st->stage = CHAP_WANT_ALG; /* the one way out of WANT_METHOD */
	ut_assert(st->challenge_len == 0);
	if (iscsi_kv_add(resp, "AuthMethod", "CHAP")) {
		*why = iscsi_chap_oom;
		return -1;
	}
	return 0;
}

/* CHAP_A: pick the algorithm and send the challenge. */
static int chap_challenge(struct iscsi_chap *st, struct env *env,
			  const char *list, struct iscsi_kvlist *resp,
			  const char **why)
{
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3];

	if (st->stage != CHAP_WANT_ALG) {
		*why = st->stage == CHAP_DONE ? "a second CHAP exchange"
					      : "CHAP_A out of order";
		return -1;
	}
	st->alg = iscsi_chap_select_alg(list);
	if (st->alg == CHAP_ALG_NONE) {
		*why = "CHAP_A names no algorithm we support";
		return -1;
	}
	/* The challenge is as long as the digest, at least 16 bytes, and
	 * comes from the environment's random source. */
	st->challenge_len = iscsi_chap_digest_len(st->alg);
	if (st->challenge_len < CHAP_CHALLENGE_MIN_BYTES)
		st->challenge_len = CHAP_CHALLENGE_MIN_BYTES;
	/* RFC 7143 §12.1.3: at least 16 bytes; it fits our buffer */
	ut_assert(st->challenge_len >= CHAP_CHALLENGE_MIN_BYTES);
	ut_assert(st->challenge_len <= sizeof(st->challenge));
	st->id = (uint8_t)env_random_u64(env);
	env_random_bytes(env, st->challenge, st->challenge_len);
	iscsi_chap_encode_hex(st->challenge, st->challenge_len, hex);
	st->stage = CHAP_WANT_RESPONSE;
	if (iscsi_kv_addf(resp, "CHAP_A", "%d", (int)st->alg) ||
	    iscsi_kv_addf(resp, "CHAP_I", "%u", st->id) ||
	    iscsi_kv_add(resp, "CHAP_C", hex)) {
		*why = iscsi_chap_oom;
		return -1;
	}
	return 0;
}

/* Does (name, response) match any IncomingUser?  Every user is tried,
 * so the time taken does not say which name exists. */
static bool chap_user_ok(const struct iscsi_chap *st,
			 const struct iscsi_auth_cfg *auth, const char *name,
			 const uint8_t *rsp)
{
	size_t dlen = iscsi_chap_digest_len(st->alg);
	bool ok = false;

	/* our challenge is out and the algorithm chosen */
	ut_assert(st->stage == CHAP_WANT_RESPONSE);
	ut_assert(dlen > 0 && st->challenge_len > 0);
	for (size_t i = 0; i < auth->incoming_count; i++) {
		const struct ut_user_cfg *u = &auth->incoming[i];
		uint8_t want[CHAP_DIGEST_MAX_BYTES];
		bool match;

		if (iscsi_chap_response(st->alg, st->id, u->secret,
					strlen(u->secret), st->challenge,
					st->challenge_len, want))
			continue;
		match = iscsi_chap_equal(want, rsp, dlen);
		explicit_bzero(want, sizeof(want));
		if (match && strcmp(u->name, name) == 0)
			ok = true;
	}
	return ok;
}

/* Mutual CHAP: the initiator's CHAP_I/CHAP_C, answered with our
 * OutgoingUser.  Only called once the initiator has authenticated, so
 * that nobody can use us to compute responses over our secret. */
static int chap_mutual(struct iscsi_chap *st, const struct iscsi_auth_cfg *auth,
		       const char *id_s, const char *chal_s,
		       struct iscsi_kvlist *resp, const char **why)
{
	uint8_t chal[CHAP_CHALLENGE_MAX_BYTES];
	uint8_t rsp[CHAP_DIGEST_MAX_BYTES];
	char hex[2 * CHAP_DIGEST_MAX_BYTES + 3];
	uint8_t id;
	int clen, rc = -1;

	/* only after the initiator has authenticated (see above) */
	ut_assert(st->stage == CHAP_WANT_RESPONSE);
	ut_assert(!st->mutual);
	if (iscsi_chap_parse_id(id_s, &id)) {
		*why = "malformed CHAP_I";
		return -1;
	}
	clen = iscsi_chap_decode(chal_s, chal, sizeof(chal));
	if (clen < 0) {
		*why = "malformed or oversized CHAP_C";
		return -1;
	}
	/* A reflection attack: our own challenge sent back, so that our
	 * answer would be the response the initiator owes us. */
	if ((size_t)clen == st->challenge_len &&
	    iscsi_chap_equal(chal, st->challenge, st->challenge_len)) {
		*why = "initiator reflected our CHAP challenge";
		goto out;
	}
	if (!auth->outgoing.name[0]) {
		*why = "mutual CHAP requested but no OutgoingUser is set";
		goto out;
	}
	if (iscsi_chap_response(st->alg, id, auth->outgoing.secret,
				strlen(auth->outgoing.secret), chal,
				(size_t)clen, rsp)) {
		*why = "unknown algorithm";
		goto out;
	}
	iscsi_chap_encode_hex(rsp, iscsi_chap_digest_len(st->alg), hex);
	if (iscsi_kv_add(resp, "CHAP_N", auth->outgoing.name) ||
	    iscsi_kv_add(resp, "CHAP_R", hex)) {
		*why = iscsi_chap_oom;
		goto out;
	}
	st->mutual = true;
	rc = 0;
out:
	explicit_bzero(rsp, sizeof(rsp));
	explicit_bzero(hex, sizeof(hex));
	return rc;
}

/* CHAP_N/CHAP_R (and, for mutual CHAP, CHAP_I/CHAP_C). */
static int chap_verify(struct iscsi_chap *st, const struct iscsi_auth_cfg *auth,
		       const struct iscsi_kvlist *req,
		       struct iscsi_kvlist *resp, const char **why)
{
	const char *n = iscsi_kv_get(req, "CHAP_N");
	const char *r = iscsi_kv_get(req, "CHAP_R");
	const char *i = iscsi_kv_get(req, "CHAP_I");
	const char *c = iscsi_kv_get(req, "CHAP_C");
	uint8_t rsp[CHAP_DIGEST_MAX_BYTES];
	size_t dlen = iscsi_chap_digest_len(st->alg);
	int rc = -1;

	ut_assert(!st->verified); /* one exchange per login */
	ut_assert(dlen <= sizeof(rsp));
	if (st->stage != CHAP_WANT_RESPONSE) {
		*why = st->stage == CHAP_DONE ? "a second CHAP exchange"
					      : "CHAP response out of order";
		return -1;
	}
	if (!n || !r) {
		*why = "CHAP_N or CHAP_R missing";
		goto out;
	}
	if (!!i != !!c) {
		*why = "CHAP_I without CHAP_C or CHAP_C without CHAP_I";
		goto out;
	}
	if (n[0] == '\0' || strlen(n) > CHAP_NAME_MAX_BYTES) {
		*why = "CHAP_N empty or longer than 255 bytes";
		goto out;
	}
	/* CHAP_R must be exactly one digest: decoding into a buffer of that
	 * size refuses anything longer before a byte is written. */
	if (iscsi_chap_decode(r, rsp, dlen) != (int)dlen) {
		*why = "malformed CHAP_R or not one digest long";
		goto out;
	}
	if (!chap_user_ok(st, auth, n, rsp)) {
		*why = "CHAP response does not match any IncomingUser";
		goto out;
	}
	if (i && chap_mutual(st, auth, i, c, resp, why))
		goto out;
	st->verified = true;
	rc = 0;
out:
	/* One exchange per login, whatever its outcome. */
	st->stage = CHAP_DONE;
	iscsi_chap_clear(st);
	explicit_bzero(rsp, sizeof(rsp));
	return rc;
}

const char iscsi_chap_oom[] = "out of memory";

int iscsi_chap_step(struct iscsi_chap *st, struct env *env,
		    const struct iscsi_auth_cfg *auth,
		    const struct iscsi_kvlist *req, struct iscsi_kvlist *resp,
		    const char **why)
{
	const char *method = iscsi_kv_get(req, "AuthMethod");
	const char *alg = iscsi_kv_get(req, "CHAP_A");
	bool answer =
		iscsi_kv_has(req, "CHAP_N") || iscsi_kv_has(req, "CHAP_R") ||
		iscsi_kv_has(req, "CHAP_I") || iscsi_kv_has(req, "CHAP_C");

	if (st->stage == CHAP_OFF && (alg || answer)) {
		*why = "CHAP keys but no IncomingUser is configured";
		return -1;
	}
	if (method && chap_method(st, method, resp, why))
		return -1;
	if (alg && chap_challenge(st, env, alg, resp, why))
		return -1;
	if (answer && chap_verify(st, auth, req, resp, why))
		return -1;
	/* verified exactly when the exchange is done and succeeded */
	ut_assert(!st->verified || st->stage == CHAP_DONE);
	ut_assert(st->stage != CHAP_OFF || !st->verified);
	return 0;
}
