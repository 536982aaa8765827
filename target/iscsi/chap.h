/*
 * chap.h — CHAP authentication for the login's security stage
 * (RFC 7143 §12.1.3, RFC 1994), one-way and mutual.
 *
 * The exchange, target side (I = initiator, T = target):
 *
 *   I: AuthMethod=CHAP,None        T: AuthMethod=CHAP
 *   I: CHAP_A=<a1,a2,...>          T: CHAP_A=<a>  CHAP_I=<id>  CHAP_C=<chal>
 *   I: CHAP_N=<name> CHAP_R=<rsp>  [CHAP_I=<id'> CHAP_C=<chal'>]  (mutual)
 *                                  T: [CHAP_N=<our name> CHAP_R=<rsp'>]
 *
 * where rsp = H(id || secret || chal) with H the digest of algorithm a
 * (5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256; RFC 7143 §12.1.3 and the IANA
 * "PPP Authentication Algorithms" registry).  The hashes are our own
 * (chap_hash.c), written from RFC 1321, FIPS 180-4 and FIPS 202.
 *
 * Everything here is a pure function of its inputs except
 * iscsi_chap_start(), which draws the challenge from the environment.
 */
#ifndef UT_ISCSI_CHAP_H
#define UT_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct env;
struct iscsi_kvlist;

enum chap_alg {
	CHAP_ALG_NONE = 0,
	CHAP_ALG_MD5 = 5,
	CHAP_ALG_SHA1 = 6,
	CHAP_ALG_SHA256 = 7,
	CHAP_ALG_SHA3_256 = 8,
};

/* Limits on what an initiator can send (CVE-2018-14633 was an unchecked
 * CHAP_R length in LIO): every one is checked before any byte is copied. */
#define CHAP_DIGEST_MAX_BYTES 32      /* SHA-256 and SHA3-256 */
#define CHAP_CHALLENGE_MAX_BYTES 1024 /* initiator's CHAP_C, decoded */
#define CHAP_NAME_MAX_BYTES 255	      /* CHAP_N */
#define CHAP_CHALLENGE_MIN_BYTES 16   /* the challenges we send */

/* Who may authenticate: IncomingUser lines (any of them may log in) and
 * the one OutgoingUser we answer mutual CHAP with (name empty = none). */
struct iscsi_auth_cfg {
	struct ut_user_cfg *incoming;
	size_t incoming_count;
	struct ut_user_cfg outgoing;
};

/* Where one login's CHAP exchange stands. */
enum chap_stage {
	CHAP_OFF = 0,	    /* no IncomingUser: AuthMethod None */
	CHAP_WANT_METHOD,   /* waiting for AuthMethod with CHAP */
	CHAP_WANT_ALG,	    /* AuthMethod=CHAP agreed; waiting for CHAP_A */
	CHAP_WANT_RESPONSE, /* challenge sent; waiting for CHAP_N/CHAP_R */
	CHAP_DONE,	    /* authenticated; no second exchange */
};

struct iscsi_chap {
	enum chap_stage stage;
	enum chap_alg alg;
	uint8_t id;				  /* our CHAP_I */
	uint8_t challenge[CHAP_DIGEST_MAX_BYTES]; /* our CHAP_C */
	size_t challenge_len;
	bool mutual;   /* we answered CHAP_I/CHAP_C */
	bool verified; /* the initiator's CHAP_N/CHAP_R matched an
			* IncomingUser (login.c asserts it before full
			* feature phase when CHAP is required) */
};

/* An incremental digest of one algorithm (chap_hash.c). */
struct iscsi_hash {
	enum chap_alg alg;
	uint64_t total_bytes;
	union {
		uint32_t h32[8];  /* MD5, SHA-1, SHA-256 chaining */
		uint64_t a64[25]; /* Keccak state */
	} u;
	uint8_t buf[136]; /* one block (SHA3-256 rate) */
	size_t buf_len;
};

/* 0, or -1 for an algorithm we do not implement. */
int iscsi_hash_init(struct iscsi_hash *h, enum chap_alg alg);
void iscsi_hash_update(struct iscsi_hash *h, const void *data, size_t len);
/* Writes iscsi_chap_digest_len() bytes and wipes the context. */
void iscsi_hash_final(struct iscsi_hash *h, uint8_t *out);

/* Digest length of an algorithm, 0 if we do not implement it. */
size_t iscsi_chap_digest_len(enum chap_alg alg);

/* response = H(id || secret || challenge).  0, or -1 if alg is unknown.
 * out holds CHAP_DIGEST_MAX_BYTES. */
int iscsi_chap_response(enum chap_alg alg, uint8_t id, const void *secret,
			size_t secret_len, const uint8_t *challenge,
			size_t challenge_len, uint8_t *out);

/* Our choice from a CHAP_A list: the first of our preference order
 * (SHA3-256, SHA-256, SHA-1, MD5) that the list names.  CHAP_ALG_NONE if
 * none, or if the list is malformed (empty members, non-numeric values). */
enum chap_alg iscsi_chap_select_alg(const char *list);

/* Decode a CHAP binary value (RFC 7143 §6.1): "0x" + an even number of
 * hex digits, or "0b" + base64 with correct padding.  At most cap bytes.
 * Returns the decoded length, or -1 if malformed, empty or too long. */
int iscsi_chap_decode(const char *value, uint8_t *out, size_t cap);

/* "0x" + lowercase hex of len bytes into out (2 * len + 3 bytes). */
void iscsi_chap_encode_hex(const uint8_t *bytes, size_t len, char *out);

/* CHAP_I: a number 0..255 (decimal, or 0x hex as RFC 7143 §6.1 allows). */
int iscsi_chap_parse_id(const char *value, uint8_t *out);

/* Constant-time comparison of two equal-length byte strings. */
bool iscsi_chap_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* Is a key one of the CHAP exchange's (CHAP_A/I/C/N/R)? */
bool iscsi_chap_key(const char *key);

/* Run one security-stage request's AuthMethod and CHAP_* keys through the
 * exchange.  Answers go to resp.  Returns 0, or -1 when authentication
 * fails (*why says why, without any secret or CHAP value); the login must
 * then end with status 0x0201. */
int iscsi_chap_step(struct iscsi_chap *st, struct env *env,
		    const struct iscsi_auth_cfg *auth,
		    const struct iscsi_kvlist *req, struct iscsi_kvlist *resp,
		    const char **why);
/* *why when the exchange failed for want of the target's own memory
 * (an answer it could not build): not the initiator's credentials, so
 * the login ends 0x0302, out of resources, not 0x0201. */
extern const char iscsi_chap_oom[];

/* Wipe the exchange's challenge state. */
void iscsi_chap_clear(struct iscsi_chap *st);

#endif
