/*
 * text.c — key=value text data and operational parameter negotiation.
 *
 * RFC 7143 §6.2: a negotiation is an offer from one side and an answer
 * from the other.  For each key the result is a function of both values:
 *
 *   list        first value in the offer that the responder supports
 *   boolean-AND ImmediateData, OFMarker, IFMarker
 *   boolean-OR  InitialR2T, DataPDUInOrder, DataSequenceInOrder
 *   min         MaxConnections, MaxBurstLength, FirstBurstLength,
 *               MaxOutstandingR2T, DefaultTime2Retain, ErrorRecoveryLevel
 *   max         DefaultTime2Wait
 *   declarative MaxRecvDataSegmentLength (each side states its own)
 *
 * An unknown key is answered NotUnderstood; a value out of range or of
 * the wrong syntax is answered Reject (RFC 7143 §6.2.1).  In a discovery
 * session the session-only operational keys are Irrelevant (§13).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "iscsi/iscsi_int.h"
#include "iscsi/text.h"
#include "ut_assert.h"

void iscsi_kvlist_init(struct iscsi_kvlist *l)
{
	memset(l, 0, sizeof(*l));
	l->max_pairs = ISCSI_TEXT_MAX_PAIRS;
}

void iscsi_kvlist_init_max(struct iscsi_kvlist *l, uint32_t max_pairs)
{
	iscsi_kvlist_init(l);
	l->max_pairs = max_pairs;
}

void iscsi_kvlist_free(struct iscsi_kvlist *l)
{
	uint32_t max_pairs = l->max_pairs;

	for (uint32_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	iscsi_kvlist_init_max(l, max_pairs);
}

static int kv_add_n(struct iscsi_kvlist *l, const char *key, size_t klen,
		    const char *value, size_t vlen)
{
	struct iscsi_kv *kv;

	ut_assert(l->n <= l->cap);
	ut_assert(klen > 0); /* a key has a name (RFC 7143 §6.1) */
	/* A zeroed list (never initialised) takes the request limit. */
	if (l->n >= (l->max_pairs ? l->max_pairs : ISCSI_TEXT_MAX_PAIRS))
		return TEXT_ERR_TOO_MANY;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct iscsi_kv *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return TEXT_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	kv = &l->v[l->n];
	kv->key = strndup(key, klen);
	kv->value = strndup(value, vlen);
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return TEXT_ERR_NOMEM;
	}
	l->n++;
	l->bytes += (uint32_t)(klen + vlen + 2);
	/* bytes is what iscsi_text_encode() writes: "key=value\0" each */
	ut_assert(l->bytes >= l->n * 3u);
	return TEXT_OK;
}

int iscsi_kv_add(struct iscsi_kvlist *l, const char *key, const char *value)
{
	return kv_add_n(l, key, strlen(key), value, strlen(value));
}

int iscsi_kv_addf(struct iscsi_kvlist *l, const char *key, const char *fmt, ...)
{
	char v[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return iscsi_kv_add(l, key, v);
}

const char *iscsi_kv_get(const struct iscsi_kvlist *l, const char *key)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

bool iscsi_kv_has(const struct iscsi_kvlist *l, const char *key)
{
	return iscsi_kv_get(l, key) != NULL;
}

/* RFC 7143 §6.1: key names use letters, digits, '.', '-', '+', '@', '_'. */
static bool key_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	       ch == '+' || ch == '@' || ch == '_';
}

/* RFC 7143 §13.5.2 (RFC 4850): public extension keys are X#<name>, such
 * as X#NodeArchitecture: the one '#' a key name may hold. */
static bool key_is_public_ext(const char *key, size_t i)
{
	return i == 1 && key[0] == 'X' && key[1] == '#';
}

static bool key_is_binary(const char *key, size_t klen)
{
	return klen > 5 && strncmp(key, "CHAP_", 5) == 0;
}

int iscsi_text_parse(const uint8_t *data, uint32_t len,
		     struct iscsi_kvlist *out)
{
	uint32_t pos = 0;

	ut_assert(data != NULL || len == 0);
	while (pos < len) {
		const char *s = (const char *)data + pos;
		const char *end = memchr(s, '\0', len - pos);
		size_t slen = end ? (size_t)(end - s) : len - pos;
		const char *eq;
		size_t klen, vlen;
		int rc;

		if (slen == 0) { /* stray NUL padding: skip */
			pos++;
			continue;
		}
		eq = memchr(s, '=', slen);
		if (!eq)
			return TEXT_ERR_FORMAT;
		klen = (size_t)(eq - s);
		vlen = slen - klen - 1;
		if (klen == 0)
			return TEXT_ERR_FORMAT;
		if (klen > ISCSI_KEY_MAX)
			return TEXT_ERR_TOO_LONG;
		for (size_t i = 0; i < klen; i++)
			if (!key_char_ok(s[i]) && !key_is_public_ext(s, i))
				return TEXT_ERR_FORMAT;
		if (vlen > (key_is_binary(s, klen) ? ISCSI_BINARY_VALUE_MAX
						   : ISCSI_VALUE_MAX))
			return TEXT_ERR_TOO_LONG;
		for (uint32_t i = 0; i < out->n; i++)
			if (strlen(out->v[i].key) == klen &&
			    memcmp(out->v[i].key, s, klen) == 0)
				return TEXT_ERR_DUPLICATE;
		rc = kv_add_n(out, s, klen, eq + 1, vlen);
		if (rc)
			return rc;
		/* the pair parsed lies inside the text */
		ut_assert(pos + slen <= len);
		pos += (uint32_t)slen + 1;
	}
	return TEXT_OK;
}

int iscsi_text_encode(const struct iscsi_kvlist *l, uint8_t **out,
		      uint32_t *len)
{
	uint8_t *buf = malloc(l->bytes ? l->bytes : 1);
	uint32_t pos = 0;

	if (!buf)
		return TEXT_ERR_NOMEM;
	for (uint32_t i = 0; i < l->n; i++) {
		size_t k = strlen(l->v[i].key), v = strlen(l->v[i].value);

		/* bytes counted every pair (kv_add_n()) */
		ut_assert(pos + k + v + 2 <= l->bytes);
		memcpy(buf + pos, l->v[i].key, k);
		buf[pos + k] = '=';
		memcpy(buf + pos + k + 1, l->v[i].value, v);
		buf[pos + k + 1 + v] = '\0';
		pos += (uint32_t)(k + v + 2);
	}
	ut_assert(pos == l->bytes);
	*out = buf;
	*len = pos;
	return TEXT_OK;
}

int iscsi_parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "Yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "No") == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

/* RFC 7143 §6.1: numerical values are decimal or hex (0x); at most 64
 * bits.  We refuse leading signs, spaces and trailing garbage. */
int iscsi_parse_num(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	int base = 10;
	const char *p = v;

	ut_assert(min <= max);
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (*p == '\0' || strlen(p) > 20)
		return -1;
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			return -1;
		if (n > (UINT64_MAX - d) / (uint64_t)base)
			return -1;
		n = n * (uint64_t)base + d;
	}
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* ------------------------------------------------------- negotiation */

enum key_kind {
	K_LIST_DIGEST,
	K_BOOL_AND,
	K_BOOL_OR,
	K_MIN,
	K_MAX,
	K_DECLARE_MRDSL,
	K_MARKER,  /* OFMarker/IFMarker: we only do No */
	K_MARKINT, /* OFMarkInt/IFMarkInt: Irrelevant */
	K_TASK_REPORTING,
	K_PROTOCOL_LEVEL,
	K_AUTH_METHOD,
	K_NOT_ALLOWED, /* target-declared keys sent by initiator */
};

struct key_def {
	const char *name;
	enum key_kind kind;
	uint64_t min, max;
	bool session_only; /* Irrelevant in discovery sessions */
	bool login_only;   /* LO/IO keys: not in FFP Text */
};

static const struct key_def key_defs[] = {
	{"HeaderDigest", K_LIST_DIGEST, 0, 0, false, true},
	{"DataDigest", K_LIST_DIGEST, 0, 0, false, true},
	{"MaxConnections", K_MIN, 1, 65535, true, true},
	{"InitialR2T", K_BOOL_OR, 0, 0, true, true},
	{"ImmediateData", K_BOOL_AND, 0, 0, true, true},
	{"MaxRecvDataSegmentLength", K_DECLARE_MRDSL, 512, 16777215, false,
	 false},
	{"MaxBurstLength", K_MIN, 512, 16777215, true, true},
	{"FirstBurstLength", K_MIN, 512, 16777215, true, true},
	{"DefaultTime2Wait", K_MAX, 0, 3600, false, true},
	{"DefaultTime2Retain", K_MIN, 0, 3600, false, true},
	{"MaxOutstandingR2T", K_MIN, 1, 65535, true, true},
	{"DataPDUInOrder", K_BOOL_OR, 0, 0, true, true},
	{"DataSequenceInOrder", K_BOOL_OR, 0, 0, true, true},
	{"ErrorRecoveryLevel", K_MIN, 0, 2, false, true},
	{"OFMarker", K_MARKER, 0, 0, false, true},
	{"IFMarker", K_MARKER, 0, 0, false, true},
	{"OFMarkInt", K_MARKINT, 0, 0, false, true},
	{"IFMarkInt", K_MARKINT, 0, 0, false, true},
	{"TaskReporting", K_TASK_REPORTING, 0, 0, true, true},
	{"iSCSIProtocolLevel", K_PROTOCOL_LEVEL, 0, 31, false, true},
	{"AuthMethod", K_AUTH_METHOD, 0, 0, false, true},
	{"TargetAlias", K_NOT_ALLOWED, 0, 0, false, false},
	{"TargetAddress", K_NOT_ALLOWED, 0, 0, false, false},
	{"TargetPortalGroupTag", K_NOT_ALLOWED, 0, 0, false, false},
};

static const struct key_def *key_find(const char *key)
{
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++)
		if (strcmp(key_defs[i].name, key) == 0)
			return &key_defs[i];
	return NULL;
}

bool iscsi_key_known(const char *key)
{
	return key_find(key) != NULL;
}

/* The digest list: answer the first value of the offer that our
 * configured preference allows. */
static int negotiate_digest(struct iscsi_neg *n, const char *key,
			    const char *value, struct iscsi_kvlist *resp)
{
	bool is_header = strcmp(key, "HeaderDigest") == 0;
	const enum ut_digest *allowed = is_header ? n->cfg->header_digest
						  : n->cfg->data_digest;
	int count = is_header ? n->cfg->header_digest_count
			      : n->cfg->data_digest_count;
	char buf[ISCSI_VALUE_MAX + 1];
	char *save = NULL;

	/* a value within ISCSI_VALUE_MAX (iscsi_text_parse()) is whole */
	ut_assert(strlen(value) < sizeof(buf));
	ut_assert(count >= 0);
	snprintf(buf, sizeof(buf), "%s", value);
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		enum ut_digest d;

		if (strcmp(tok, "None") == 0)
			d = UT_DIGEST_NONE;
		else if (strcmp(tok, "CRC32C") == 0)
			d = UT_DIGEST_CRC32C;
		else
			continue;
		for (int i = 0; i < count; i++) {
			if (allowed[i] != d)
				continue;
			if (is_header)
				n->p->header_digest = d == UT_DIGEST_CRC32C;
			else
				n->p->data_digest = d == UT_DIGEST_CRC32C;
			return iscsi_kv_add(resp, key, tok);
		}
	}
	return iscsi_kv_add(resp, key, "Reject");
}

static uint32_t *param_slot(struct iscsi_params *p, const char *key)
{
	if (!strcmp(key, "MaxBurstLength"))
		return &p->max_burst;
	if (!strcmp(key, "FirstBurstLength"))
		return &p->first_burst;
	if (!strcmp(key, "DefaultTime2Wait"))
		return &p->default_time2wait;
	if (!strcmp(key, "DefaultTime2Retain"))
		return &p->default_time2retain;
	if (!strcmp(key, "MaxOutstandingR2T"))
		return &p->max_outstanding_r2t;
	if (!strcmp(key, "ErrorRecoveryLevel"))
		return &p->error_recovery_level;
	return NULL;
}

static bool *bool_slot(struct iscsi_params *p, const char *key)
{
	if (!strcmp(key, "InitialR2T"))
		return &p->initial_r2t;
	if (!strcmp(key, "ImmediateData"))
		return &p->immediate_data;
	if (!strcmp(key, "DataPDUInOrder"))
		return &p->data_pdu_in_order;
	if (!strcmp(key, "DataSequenceInOrder"))
		return &p->data_seq_in_order;
	return NULL;
}

/* The target's own value for a numeric key. */
static uint64_t target_num(const struct iscsi_neg *n, const char *key)
{
	const struct ut_iscsi_params *c = n->cfg;

	if (!strcmp(key, "MaxConnections"))
		return 1;
	if (!strcmp(key, "MaxBurstLength"))
		return c->max_burst_length;
	if (!strcmp(key, "FirstBurstLength"))
		return c->first_burst_length;
	if (!strcmp(key, "DefaultTime2Wait"))
		return c->default_time2wait;
	if (!strcmp(key, "DefaultTime2Retain"))
		return c->default_time2retain;
	if (!strcmp(key, "MaxOutstandingR2T"))
		return c->max_outstanding_r2t;
	if (!strcmp(key, "ErrorRecoveryLevel"))
		return 0; /* ERL 0 only, as SCST */
	return 0;
}

static bool target_bool(const struct iscsi_neg *n, const char *key)
{
	if (!strcmp(key, "InitialR2T"))
		return n->cfg->initial_r2t;
	if (!strcmp(key, "ImmediateData"))
		return n->cfg->immediate_data;
	return true; /* DataPDUInOrder, DataSequenceInOrder: Yes only */
}

static int negotiate_numeric(struct iscsi_neg *n, const struct key_def *d,
			     const char *value, struct iscsi_kvlist *resp)
{
	uint64_t v, ours = target_num(n, d->name), res;
	uint32_t *slot = param_slot(n->p, d->name);

	ut_assert(d->kind == K_MIN || d->kind == K_MAX);
	if (iscsi_parse_num(value, d->min, d->max, &v))
		return iscsi_kv_add(resp, d->name, "Reject");
	res = d->kind == K_MIN ? (v < ours ? v : ours) : (v > ours ? v : ours);
	/* RFC 7143 §6.2.2: the result is inside the key's range */
	ut_assert(res <= d->max);
	if (slot)
		*slot = (uint32_t)res;
	return iscsi_kv_addf(resp, d->name, "%llu", (unsigned long long)res);
}

static int negotiate_bool(struct iscsi_neg *n, const struct key_def *d,
			  const char *value, struct iscsi_kvlist *resp)
{
	bool v, ours = target_bool(n, d->name), res;
	bool *slot = bool_slot(n->p, d->name);

	ut_assert(d->kind == K_BOOL_AND || d->kind == K_BOOL_OR);
	if (iscsi_parse_bool(value, &v))
		return iscsi_kv_add(resp, d->name, "Reject");
	res = d->kind == K_BOOL_AND ? (v && ours) : (v || ours);
	if (slot)
		*slot = res;
	return iscsi_kv_add(resp, d->name, res ? "Yes" : "No");
}

/* A list of values: is word one of its comma-separated members? */
static bool list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l == wl && strncmp(p, word, l) == 0)
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

int iscsi_negotiate_key(struct iscsi_neg *n, const char *key, const char *value,
			struct iscsi_kvlist *resp, const char **why)
{
	const struct key_def *d = key_find(key);
	uint64_t v;

	ut_assert(n->cfg != NULL);
	ut_assert(n->p != NULL);
	if (!d)
		return iscsi_kv_add(resp, key, "NotUnderstood");
	if (!n->login && d->login_only) {
		/* RFC 7143 §13: LO/IO keys may not be renegotiated in FFP. */
		return iscsi_kv_add(resp, key, "Reject");
	}
	if (n->discovery && d->session_only)
		return iscsi_kv_add(resp, key, "Irrelevant");
	if (strcmp(value, "NotUnderstood") == 0 ||
	    strcmp(value, "Irrelevant") == 0 || strcmp(value, "Reject") == 0)
		return 0; /* an answer to our offer: nothing to say */

	switch (d->kind) {
	case K_LIST_DIGEST:
		return negotiate_digest(n, key, value, resp);
	case K_BOOL_AND:
	case K_BOOL_OR:
		return negotiate_bool(n, d, value, resp);
	case K_MIN:
	case K_MAX:
		return negotiate_numeric(n, d, value, resp);
	case K_DECLARE_MRDSL:
		if (iscsi_parse_num(value, d->min, d->max, &v))
			return iscsi_kv_add(resp, key, "Reject");
		/* What the initiator can receive bounds what we send. */
		n->p->max_xmit_dsl = (uint32_t)v;
		if (n->p->max_xmit_dsl > n->cfg->max_xmit_data_segment_length)
			n->p->max_xmit_dsl =
				n->cfg->max_xmit_data_segment_length;
		/* RFC 7143 §13.12: 512 at least, 2^24 - 1 at most */
		ut_assert(n->p->max_xmit_dsl >= 512);
		ut_assert(n->p->max_xmit_dsl <= ISCSI_MAX_DSL);
		if (!n->sent_mrdsl) {
			n->sent_mrdsl = true;
			n->p->max_recv_dsl =
				n->cfg->max_recv_data_segment_length;
			return iscsi_kv_addf(resp, key, "%u",
					     n->p->max_recv_dsl);
		}
		return 0;
	case K_MARKER:
		if (strcmp(value, "Yes") && strcmp(value, "No"))
			return iscsi_kv_add(resp, key, "Reject");
		return iscsi_kv_add(resp, key, "No");
	case K_MARKINT:
		return iscsi_kv_add(resp, key, "Irrelevant");
	case K_TASK_REPORTING:
		return iscsi_kv_add(resp, key,
				    list_has(value, "RFC3720") ? "RFC3720"
							       : "Reject");
	case K_PROTOCOL_LEVEL:
		if (iscsi_parse_num(value, 0, 31, &v))
			return iscsi_kv_add(resp, key, "Reject");
		/* RFC 7144 §2.1: we implement RFC 7143, level 1. */
		return iscsi_kv_addf(resp, key, "%llu",
				     (unsigned long long)(v < 1 ? v : 1));
	case K_AUTH_METHOD:
		/* The security stage answers AuthMethod itself (login.c
		 * login_security, chap.c) and never hands it here; in Text
		 * it is login-only (Reject above).  So here it came in the
		 * operational stage: a protocol error (RFC 7143 §6.3). */
		ut_assert(n->login && n->stage != ISCSI_STAGE_SECURITY);
		*why = "AuthMethod outside the security stage";
		return -1;
	case K_NOT_ALLOWED:
		*why = "initiator sent a target-declared key";
		return -1;
	}
	return 0;
}

/* RFC 7143 §13.14: FirstBurstLength must not exceed MaxBurstLength.  The
 * two keys are negotiated independently (and in any order), so once a
 * request has been answered the pair is made consistent, and the answer
 * already written for FirstBurstLength is corrected with it. */
void iscsi_negotiate_finish(struct iscsi_neg *n, struct iscsi_kvlist *resp)
{
	ut_assert(n->p->max_burst >= 512); /* RFC 7143 §13.13 range */
	if (n->p->first_burst <= n->p->max_burst)
		return;
	n->p->first_burst = n->p->max_burst;
	for (uint32_t i = 0; i < resp->n; i++) {
		char v[16];

		if (strcmp(resp->v[i].key, "FirstBurstLength") != 0)
			continue;
		char *nv;

		snprintf(v, sizeof(v), "%u", n->p->first_burst);
		nv = strdup(v);
		if (!nv)
			return; /* the old answer stays; p is still clamped */
		ut_assert(resp->bytes >= strlen(resp->v[i].value));
		resp->bytes -= (uint32_t)strlen(resp->v[i].value);
		resp->bytes += (uint32_t)strlen(nv);
		free(resp->v[i].value);
		resp->v[i].value = nv;
	}
	/* RFC 7143 §13.14: FirstBurstLength <= MaxBurstLength */
	ut_assert(n->p->first_burst <= n->p->max_burst);
}
