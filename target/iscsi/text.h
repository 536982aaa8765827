/*
 * text.h — iSCSI text key=value data (RFC 7143 §6) and the operational
 * parameter negotiation (RFC 7143 §6.2, §13).
 *
 * A text data segment is a sequence of "key=value" strings, each ending in
 * a NUL.  Limits (RFC 7143 §6.1): a key is at most 63 bytes; a value at
 * most 255 bytes, except binary values (CHAP) which we cap at 8192 bytes
 * of encoding.  A negotiation carries at most ISCSI_TEXT_MAX_PAIRS pairs.
 */
#ifndef UT_ISCSI_TEXT_H
#define UT_ISCSI_TEXT_H

#include <stdbool.h>
#include <stdint.h>

struct ut_iscsi_params;
struct iscsi_params;

#define ISCSI_KEY_MAX 63
#define ISCSI_VALUE_MAX 255
#define ISCSI_BINARY_VALUE_MAX 8192
#define ISCSI_TEXT_MAX_PAIRS 128

struct iscsi_kv {
	char *key;
	char *value;
};

struct iscsi_kvlist {
	struct iscsi_kv *v;
	uint32_t n;
	uint32_t cap;
	uint32_t bytes;	    /* encoded size: key=value\0 each */
	uint32_t max_pairs; /* 0: ISCSI_TEXT_MAX_PAIRS */
};

enum iscsi_text_err {
	TEXT_OK = 0,
	TEXT_ERR_FORMAT = -1,	/* no '=', empty key, bad characters */
	TEXT_ERR_TOO_LONG = -2, /* key or value over its limit */
	TEXT_ERR_TOO_MANY = -3, /* more than ISCSI_TEXT_MAX_PAIRS */
	TEXT_ERR_NOMEM = -4,
	TEXT_ERR_DUPLICATE = -5, /* one key twice in one negotiation */
};

void iscsi_kvlist_init(struct iscsi_kvlist *l);
/* A list that may hold max_pairs pairs (an answer we build, such as a
 * SendTargets response, rather than a request we parse). */
void iscsi_kvlist_init_max(struct iscsi_kvlist *l, uint32_t max_pairs);
void iscsi_kvlist_free(struct iscsi_kvlist *l);
/* Parse len bytes of complete text data (the caller reassembles C-bit
 * continuations first).  A final pair without its NUL is accepted.
 * Returns TEXT_OK or an iscsi_text_err. */
int iscsi_text_parse(const uint8_t *data, uint32_t len,
		     struct iscsi_kvlist *out);
int iscsi_kv_add(struct iscsi_kvlist *l, const char *key, const char *value);
int iscsi_kv_addf(struct iscsi_kvlist *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *iscsi_kv_get(const struct iscsi_kvlist *l, const char *key);
bool iscsi_kv_has(const struct iscsi_kvlist *l, const char *key);
/* Encode into a new heap buffer (*out, *len); 0 or TEXT_ERR_NOMEM. */
int iscsi_text_encode(const struct iscsi_kvlist *l, uint8_t **out,
		      uint32_t *len);

/* Value syntax helpers (RFC 7143 §6.1). */
int iscsi_parse_bool(const char *v, bool *out);
/* decimal or 0x-hex numeric, within [min, max] */
int iscsi_parse_num(const char *v, uint64_t min, uint64_t max, uint64_t *out);

/* Negotiation context for one login or text exchange. */
struct iscsi_neg {
	const struct ut_iscsi_params *cfg; /* what the target offers */
	struct iscsi_params *p;		   /* result, updated in place */
	bool discovery;
	bool login;	 /* in login (vs. FFP Text) */
	int stage;	 /* ISCSI_STAGE_* */
	bool sent_mrdsl; /* our MaxRecvDataSegmentLength sent */
};

/* Is key one of the keys of RFC 7143 §13 (or RFC 7144) that the
 * negotiation knows (answered, even if only with Reject)? */
bool iscsi_key_known(const char *key);

/* Answer one key of the initiator's (not the name/session keys, which the
 * login code handles).  Appends the answer to resp.  Returns 0, or -1 on a
 * protocol error that must fail the login (*why set). */
int iscsi_negotiate_key(struct iscsi_neg *n, const char *key, const char *value,
			struct iscsi_kvlist *resp, const char **why);

/* After a whole request: keep FirstBurstLength <= MaxBurstLength, in the
 * parameters and in the answer (RFC 7143 §13.14). */
void iscsi_negotiate_finish(struct iscsi_neg *n, struct iscsi_kvlist *resp);

#endif
