/*
 * initiator_login.c — the initiator actor's login (RFC 7143 §6.3): the
 * security stage (AuthMethod=None, or CHAP with CHAP_A, CHAP_N/CHAP_R and
 * for mutual CHAP our CHAP_I/CHAP_C, checking the target's answer), then
 * the operational stage with our keys, until T=1 and NSG=3.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "digest.h"
#include "initiator_int.h"

/* ------------------------------------------------------------ login */

struct kv {
	const char *key;
	const char *val;
};

static const struct kv default_op_keys[] = {
	{"HeaderDigest", "None"},
	{"DataDigest", "None"},
	{"MaxRecvDataSegmentLength", "262144"},
	{"InitialR2T", "No"},
	{"ImmediateData", "Yes"},
	{"FirstBurstLength", "262144"},
	{"MaxBurstLength", "1048576"},
	{"MaxOutstandingR2T", "1"},
	{"MaxConnections", "1"},
	{"DefaultTime2Wait", "2"},
	{"DefaultTime2Retain", "0"},
	{"ErrorRecoveryLevel", "0"},
	{"DataPDUInOrder", "Yes"},
	{"DataSequenceInOrder", "Yes"},
	{"IFMarker", "No"},
	{"OFMarker", "No"},
};

/* Scenario override for key, or NULL. */
static const char * override(const struct ini *ini, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < ini->keys_len;) {
		const char *kv = ini->keys + i;
		size_t n = strlen(kv);

		if (n > klen && strncmp(kv, key, klen) == 0 && kv[klen] == '=')
			return kv + klen + 1;
		i += n + 1;
	}
	return NULL;
}

/* During login both sides receive 8192 bytes of data per PDU, the
 * default MaxRecvDataSegmentLength (RFC 7143 §13.12; docs/architecture.md
 * "Limits"): a longer text goes in pieces with C=1. */
#define LOGIN_PIECE_BYTES 8192u
/* A request text: bad=text-long sends more than 64 KiB. */
#define TEXTBUF_MAX 81920u

struct textbuf {
	char b[TEXTBUF_MAX];
	uint32_t len;
};

static const char *const bad_names[INI_LB_N] = {
	[INI_LB_NONE] = "none",
	[INI_LB_VERSION] = "version",
	[INI_LB_STAGE] = "stage",
	[INI_LB_T_AND_C] = "t-and-c",
	[INI_LB_ISID] = "isid",
	[INI_LB_TSIH_CHANGED] = "tsih-changed",
	[INI_LB_ITT] = "itt",
	[INI_LB_CID] = "cid",
	[INI_LB_CSG] = "csg",
	[INI_LB_NSG] = "nsg",
	[INI_LB_NO_NAME] = "no-name",
	[INI_LB_BAD_NAME] = "bad-name",
	[INI_LB_SESSION_TYPE] = "session-type",
	[INI_LB_NO_TARGET] = "no-target",
	[INI_LB_TSIH] = "tsih",
	[INI_LB_PDUS] = "pdus",
	[INI_LB_TEXT_LONG] = "text-long",
	[INI_LB_CHAP_LONG] = "chap-long",
	[INI_LB_CONT_TEXT] = "cont-text",
	[INI_LB_NON_LOGIN] = "non-login",
	[INI_LB_STALL] = "stall",
	[INI_LB_CHAP_LATE] = "chap-late",
	[INI_LB_AUTH_LATE] = "auth-late",
	[INI_LB_DECLARED_KEY] = "declared-key",
	[INI_LB_KEYS_MANY] = "keys-many",
	[INI_LB_NAME_LONG] = "name-long",
};

const char *ini_login_bad_name(unsigned int bad)
{
	return bad < INI_LB_N ? bad_names[bad] : "?";
}

unsigned int ini_login_bad_parse(const char *name)
{
	for (unsigned int i = 1; i < INI_LB_N; i++)
		if (strcmp(bad_names[i], name) == 0)
			return i;
	return INI_LB_NONE;
}

/* RFC 7143 §11.13.5 (and, for the limits RFC 7143 leaves to the target,
 * docs/architecture.md "Limits": 64 login PDUs, 64 KiB of text and 128
 * keys, out of resources). */
uint16_t ini_login_bad_status(unsigned int bad, bool chap_required)
{
	switch (bad) {
	case INI_LB_CHAP_LATE:
		return ISCSI_LS_AUTH_FAILED;
	case INI_LB_AUTH_LATE:
		/* RFC 7143 §12.1 (login.c): a target that requires CHAP
		 * refuses a login that skipped the security stage before it
		 * reads a key */
		return chap_required ? ISCSI_LS_AUTH_FAILED : ISCSI_LS_INIT_ERR;
	case INI_LB_VERSION:
		return ISCSI_LS_UNSUPPORTED_VERSION;
	case INI_LB_NO_NAME:
	case INI_LB_NO_TARGET:
		return ISCSI_LS_MISSING_PARAMETER;
	case INI_LB_SESSION_TYPE:
		return ISCSI_LS_SESSION_TYPE_UNSUPPORTED;
	case INI_LB_TSIH:
		return ISCSI_LS_SESSION_DOES_NOT_EXIST;
	case INI_LB_PDUS:
	case INI_LB_TEXT_LONG:
	case INI_LB_KEYS_MANY:
		return ISCSI_LS_OUT_OF_RESOURCES;
	case INI_LB_CHAP_LONG:
		return ISCSI_LS_AUTH_FAILED;
	case INI_LB_NON_LOGIN:
		return ISCSI_LS_INVALID_DURING_LOGIN;
	case INI_LB_NONE:
	case INI_LB_STALL:
		return ISCSI_LS_SUCCESS;
	default:
		return ISCSI_LS_INIT_ERR;
	}
}

static unsigned int login_bad(const struct ini *ini)
{
	return ini->login_op ? ini->login_op->login_bad : INI_LB_NONE;
}

static void text_add(struct textbuf *t, const char *key, const char *val)
{
	int n = snprintf(t->b + t->len, sizeof(t->b) - t->len, "%s=%s", key,
			 val);

	if (n > 0 && t->len + (uint32_t)n + 1 < sizeof(t->b))
		t->len += (uint32_t)n + 1;
}

/* One Login Request PDU, with what bad= changes in its header. */
static void send_login_pdu(struct ini *ini, uint8_t flags, const void *data,
			   uint32_t len)
{
	struct iscsi_bhs h;
	unsigned int bad = login_bad(ini), n = ini->login_pdus++;
	uint8_t isid[6];
	uint16_t tsih = ini->tsih;

	memcpy(isid, ini->isid, 6);
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.itt = ini->login_op ? ini->login_op->itt : 0;
	h.w20 = (uint32_t)ini->cid << 16;
	if (n == 0 && bad == INI_LB_VERSION)
		h.b2 = h.b3 = 1; /* VersionMax, VersionMin */
	else if (n == 0 && bad == INI_LB_STAGE)
		flags = ISCSI_STAGE_FULL_FEATURE << 2;
	else if (n == 0 && bad == INI_LB_T_AND_C)
		flags |= ISCSI_LOGIN_F_TRANSIT | ISCSI_LOGIN_F_CONTINUE;
	else if (n == 0 && bad == INI_LB_NSG)
		flags = ISCSI_LOGIN_F_TRANSIT | 2; /* NSG 2 is reserved */
	else if (n == 0 && bad == INI_LB_TSIH && ini->login_op) {
		tsih = ini->login_op->bad_tsih;
		memcpy(isid, ini->login_op->bad_isid, 6);
	} else if (n == 1 && bad == INI_LB_ISID)
		isid[5] ^= 0x01;
	else if (n == 1 && bad == INI_LB_TSIH_CHANGED)
		tsih = 0x1234;
	else if (n == 1 && bad == INI_LB_ITT)
		h.itt++;
	else if (n == 1 && bad == INI_LB_CID)
		h.w20 = (uint32_t)(ini->cid + 1u) << 16;
	else if (n == 1 && bad == INI_LB_CSG)
		flags = ISCSI_LOGIN_F_TRANSIT | ISCSI_STAGE_FULL_FEATURE;
	if (n == 1 && bad == INI_LB_NON_LOGIN) {
		/* RFC 7143 §6.3: only Login Requests until full feature
		 * phase */
		h.opcode = ISCSI_OP_NOP_OUT;
		h.flags = ISCSI_FLAG_FINAL;
		h.ttt = ISCSI_RESERVED_TAG;
		flags = h.flags;
	}
	h.flags = flags;
	h.lun = (uint64_t)isid[0] << 56 | (uint64_t)isid[1] << 48 |
		(uint64_t)isid[2] << 40 | (uint64_t)isid[3] << 32 |
		(uint64_t)isid[4] << 24 | (uint64_t)isid[5] << 16 | tsih;
	if (h.opcode == ISCSI_OP_NOP_OUT)
		h.lun = 0;
	h.w24 = ini->cmdsn;
	h.w28 = ini->exp_statsn;
	ini_send_pdu(ini, &h, data, len);
	ini_tx_flush(ini);
}

/* The next piece of a request text: C=1 while more follows. */
static void send_login_piece(struct ini *ini)
{
	uint32_t left = ini->req_rest_len - ini->req_rest_off;
	uint32_t n = left > LOGIN_PIECE_BYTES ? LOGIN_PIECE_BYTES : left;
	const uint8_t *p = ini->req_rest + ini->req_rest_off;
	uint8_t flags = ini->req_flags;

	ini->req_rest_off += n;
	if (ini->req_rest_off < ini->req_rest_len)
		flags = (uint8_t)((flags & 0x0c) | ISCSI_LOGIN_F_CONTINUE);
	send_login_pdu(ini, flags, p, n);
	if (ini->req_rest_off == ini->req_rest_len) {
		free(ini->req_rest);
		ini->req_rest = NULL;
		ini->req_rest_len = ini->req_rest_off = 0;
	}
}

static void send_login(struct ini *ini, int csg, int nsg, bool transit,
		       const struct textbuf *t)
{
	uint8_t flags = (uint8_t)((transit ? ISCSI_LOGIN_F_TRANSIT : 0) |
				  csg << 2 | (transit ? nsg : 0));

	free(ini->req_rest);
	ini->req_rest = NULL;
	ini->req_rest_len = ini->req_rest_off = 0;
	if (t == NULL || t->len <= LOGIN_PIECE_BYTES) {
		send_login_pdu(ini, flags, t ? t->b : NULL, t ? t->len : 0);
		return;
	}
	ini->req_rest = malloc(t->len);
	if (ini->req_rest == NULL)
		abort();
	memcpy(ini->req_rest, t->b, t->len);
	ini->req_rest_len = t->len;
	ini->req_flags = flags;
	send_login_piece(ini);
}

/* Filler text for bad=text-long: more than the 64 KiB a target holds. */
static void text_fill(struct textbuf *t, uint32_t upto)
{
	while (t->len < upto && t->len < sizeof(t->b))
		t->b[t->len++] = 'a';
}

static void add_op_keys(struct ini *ini, struct textbuf *t);

/* skip-security, or a misbehaviour that needs it */
static bool skips_security(const struct ini *ini)
{
	unsigned int bad = login_bad(ini);

	return (ini->login_op && ini->login_op->login_skip_security) ||
	       bad == INI_LB_CHAP_LATE || bad == INI_LB_AUTH_LATE;
}

void ini_login_security(struct ini *ini)
{
	struct textbuf t = {.len = 0};
	const char *m;
	unsigned int bad = login_bad(ini);

	ini->login_pdus = 0;
	if (bad == INI_LB_BAD_NAME) {
		text_add(&t, "InitiatorName",
			 "iqn.2026-11.org.utarget:bad/name");
	} else if (bad == INI_LB_NAME_LONG) {
		/* our name, then ".x..." to 224 bytes: each character one a
		 * name may hold, the length one past RFC 7143's 223 (a
		 * target that took it would cut or misname it: mutant
		 * 598) */
		char name[225];
		size_t n = strlen(ini->iqn);

		if (n > 200)
			n = 200;
		memcpy(name, ini->iqn, n);
		name[n] = '.';
		memset(name + n + 1, 'x', 224 - n - 1);
		name[224] = '\0';
		text_add(&t, "InitiatorName", name);
	} else if (bad != INI_LB_NO_NAME) {
		text_add(&t, "InitiatorName", ini->iqn);
	}
	text_add(&t, "SessionType",
		 bad == INI_LB_SESSION_TYPE ? "Bogus"
		 : ini->discovery	    ? "Discovery"
					    : "Normal");
	if (!ini->discovery && bad != INI_LB_NO_TARGET)
		text_add(&t, "TargetName", ini->target);
	if (skips_security(ini)) {
		/* RFC 7143 §6.3: the first request in the operational
		 * stage, its identity keys with the operational ones */
		ini->chap_st = CHAP_S_IDLE;
		ini->chap_alg = CHAP_ALG_NONE;
		add_op_keys(ini, &t);
		ini->login_stage = ISCSI_STAGE_OPERATIONAL;
		send_login(ini, ISCSI_STAGE_OPERATIONAL,
			   ISCSI_STAGE_FULL_FEATURE, true, &t);
		return;
	}
	m = override(ini, "AuthMethod");
	if (m == NULL || strcmp(m, "-") != 0) /* "-": no AuthMethod */
		text_add(&t, "AuthMethod",
			 m		     ? m
			 : ini->chap.name[0] ? "CHAP"
					     : "None");
	if (bad == INI_LB_CHAP_LONG) {
		/* RFC 7143 §6.1: binary values of 8192 bytes at most; one
		 * more hex pair is an authentication failure */
		char v[2 + 2 * 8193 + 1];

		v[0] = '0';
		v[1] = 'x';
		for (size_t i = 2; i < sizeof(v) - 1; i++)
			v[i] = "0123456789abcdef"[i % 16];
		v[sizeof(v) - 1] = '\0';
		text_add(&t, "CHAP_C", v);
	}
	ini->login_stage = ISCSI_STAGE_SECURITY;
	ini->chap_st = ini->chap.name[0] ? CHAP_S_METHOD : CHAP_S_IDLE;
	ini->chap_alg = CHAP_ALG_NONE;
	if (bad == INI_LB_TEXT_LONG) {
		/* nine pieces: the ninth passes 64 KiB */
		text_fill(&t, 9 * LOGIN_PIECE_BYTES);
		t.b[t.len - 1] = '\0';
	}
	if (bad == INI_LB_PDUS) {
		/* the text in one piece with C=1, then empty pieces */
		send_login_pdu(
			ini, ISCSI_STAGE_SECURITY << 2 | ISCSI_LOGIN_F_CONTINUE,
			t.b, t.len);
		return;
	}
	send_login(ini, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true,
		   &t);
}

/* bad=keys-many: private keys enough to pass the 128 a target holds
 * whatever else the request carries. */
#define INI_KEYS_MANY 129u

/* The name of private key i of extra-keys=N: 63 characters, the longest
 * a key may be (RFC 7143 §6.1). */
static void extra_key_name(unsigned int i, char name[64])
{
	int n = snprintf(name, 64, "X-org.utarget.sim.key%04u.", i);

	for (; n < 63; n++)
		name[n] = (char)('a' + n % 26);
	name[63] = '\0';
}

/* RFC 7143 §13.12: what we declare we receive bounds every PDU the
 * target sends us in full feature phase (the Data-In check, the ping
 * echo): the value we send, MY_MRDSL by default, 8192 when we send none
 * (the key's default).  A value outside 512..2^24-1 leaves it as it
 * was: the login is to fail on it. */
static void declare_mrdsl(struct ini *ini, const char *v)
{
	unsigned long n;

	if (v == NULL) {
		ini->neg.max_recv_dsl = MY_MRDSL;
		return;
	}
	if (strcmp(v, "-") == 0) {
		ini->neg.max_recv_dsl = 8192;
		return;
	}
	/* RFC 7143 §6.1: decimal, or hex after 0x or 0X (digits of either
	 * case: a scenario may write it so, round of blind20) */
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		n = strtoul(v + 2, NULL, 16);
	else
		n = strtoul(v, NULL, 10);
	if (n >= 512 && n <= 16777215)
		ini->neg.max_recv_dsl = (uint32_t)n;
}

/* The scenario's keys that are none of ours (default_op_keys) nor the
 * security stage's: TaskReporting, X#NodeArchitecture, X-... (their
 * answers: check_scenario_keys()). */
static bool scenario_key(const char *kv)
{
	size_t klen = strcspn(kv, "=");

	if (kv[klen] != '=' || (klen == 10 && !strncmp(kv, "AuthMethod", 10)))
		return false;
	for (size_t i = 0;
	     i < sizeof(default_op_keys) / sizeof(default_op_keys[0]); i++)
		if (strlen(default_op_keys[i].key) == klen &&
		    strncmp(default_op_keys[i].key, kv, klen) == 0)
			return false;
	return true;
}

static void add_op_keys(struct ini *ini, struct textbuf *t)
{
	unsigned int bad = login_bad(ini);
	unsigned int extra = bad == INI_LB_KEYS_MANY ? INI_KEYS_MANY
			     : ini->login_op ? ini->login_op->login_extra_keys
					     : 0;

	for (size_t i = 0;
	     i < sizeof(default_op_keys) / sizeof(default_op_keys[0]); i++) {
		const char *k = default_op_keys[i].key;
		const char *v = override(ini, k);

		if (ini->discovery && strcmp(k, "HeaderDigest") != 0 &&
		    strcmp(k, "DataDigest") != 0 &&
		    strcmp(k, "MaxRecvDataSegmentLength") != 0)
			continue;
		if (strcmp(k, "MaxRecvDataSegmentLength") == 0)
			declare_mrdsl(ini, v);
		if (v != NULL && strcmp(v, "-") == 0)
			continue; /* scenario asks not to send it */
		text_add(t, k, v ? v : default_op_keys[i].val);
	}
	for (unsigned int i = 0; i < extra; i++) {
		char name[64];

		extra_key_name(i, name);
		text_add(t, name, "1");
	}
	for (size_t i = 0; i < ini->keys_len;) {
		const char *kv = ini->keys + i;
		size_t n = strlen(kv);

		if (n && scenario_key(kv) && t->len + n + 1 < sizeof(t->b)) {
			memcpy(t->b + t->len, kv, n + 1);
			t->len += (uint32_t)n + 1;
		}
		i += n + 1;
	}
	/* misbehaving: a security key, or a key only a target declares,
	 * in the operational stage */
	if (bad == INI_LB_CHAP_LATE)
		text_add(t, "CHAP_A", "5");
	else if (bad == INI_LB_AUTH_LATE)
		text_add(t, "AuthMethod", "None");
	else if (bad == INI_LB_DECLARED_KEY)
		text_add(t, "TargetAlias", "sim");
}

static void login_operational(struct ini *ini)
{
	struct textbuf t = {.len = 0};

	add_op_keys(ini, &t);
	ini->login_stage = ISCSI_STAGE_OPERATIONAL;
	send_login(ini, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		   &t);
}

/* A complete response's keys: none twice (RFC 7143 §6.2: a key is
 * answered once), and each of our private keys answered NotUnderstood
 * exactly once (§6.2: the answer to a key not understood). */
static void check_response_keys(struct ini *ini, bool operational)
{
	unsigned int extra = operational && ini->login_op
				     ? ini->login_op->login_extra_keys
				     : 0;
	const char *p = ini->text_acc;
	uint32_t len = ini->text_acc_len;

	for (uint32_t i = 0; i < len;) {
		const char *kv = p + i;
		size_t l = strnlen(kv, len - i);
		const char *eq = memchr(kv, '=', l);

		i += (uint32_t)l + 1;
		if (eq == NULL)
			continue;
		for (uint32_t j = i; j < len;) {
			const char *kv2 = p + j;
			size_t l2 = strnlen(kv2, len - j);

			j += (uint32_t)l2 + 1;
			if (l2 > (size_t)(eq - kv) &&
			    memcmp(kv2, kv, (size_t)(eq - kv) + 1) == 0) {
				ini_violation(ini,
					      "key %.*s answered twice in one "
					      "Login Response (RFC 7143 §6.2)",
					      (int)(eq - kv), kv);
				return;
			}
		}
	}
	for (unsigned int k = 0; k < extra; k++) {
		char name[64], want[80];
		unsigned int seen = 0;

		extra_key_name(k, name);
		snprintf(want, sizeof(want), "%s=NotUnderstood", name);
		for (uint32_t i = 0; i < len;) {
			const char *kv = p + i;
			size_t l = strnlen(kv, len - i);

			i += (uint32_t)l + 1;
			if (l > 63 && strncmp(kv, name, 63) == 0 &&
			    kv[63] == '=') {
				seen++;
				if (strcmp(kv, want) != 0)
					ini_violation(ini,
						      "private key %s answered "
						      "%s, not NotUnderstood "
						      "(RFC 7143 §6.2)",
						      name, kv + 64);
			}
		}
		if (seen != 1) {
			ini_violation(ini,
				      "private key %u of %u answered %u times "
				      "in the Login Response (RFC 7143 §6.2: "
				      "once)",
				      k, extra, seen);
			return;
		}
	}
}

void ini_params_default(struct ini_params *p)
{
	memset(p, 0, sizeof(*p));
	p->initial_r2t = true;
	p->immediate_data = true;
	p->max_send_dsl = 8192;
	p->max_recv_dsl = MY_MRDSL;
	p->first_burst = 65536;
	p->max_burst = 262144;
	p->max_r2t = 1;
	p->time2wait = 2;
	p->time2retain = 20;
	p->erl = 0;
	p->pdu_in_order = true;
	p->seq_in_order = true;
}

static uint32_t parse_u32(const char *v, uint32_t dflt)
{
	char *end;
	unsigned long x = strtoul(v, &end, 0);

	return end == v ? dflt : (uint32_t)x;
}

/*
 * The negotiation oracle: RFC 7143 §6.2.2 and §13 fix each operational
 * key's result from the two values: boolean OR (InitialR2T,
 * DataPDUInOrder, DataSequenceInOrder), boolean AND (ImmediateData), the
 * minimum (MaxBurstLength, FirstBurstLength, MaxOutstandingR2T,
 * MaxConnections, DefaultTime2Retain, ErrorRecoveryLevel) or the maximum
 * (DefaultTime2Wait).  The target's values are its configuration
 * (ERL 0, MaxConnections 1, the in-order keys Yes only); FirstBurstLength
 * is also at most the negotiated MaxBurstLength (§13.14).  Keys we did
 * not offer, or offered out of their range (answered Reject), are not
 * judged.
 */
enum neg_rule { NEG_OR, NEG_AND, NEG_MIN, NEG_MAX };

static const struct neg_key {
	const char *key;
	enum neg_rule rule;
	uint64_t min, max;
} neg_keys[] = {
	{"InitialR2T", NEG_OR, 0, 1},
	{"ImmediateData", NEG_AND, 0, 1},
	{"DataPDUInOrder", NEG_OR, 0, 1},
	{"DataSequenceInOrder", NEG_OR, 0, 1},
	{"MaxBurstLength", NEG_MIN, 512, 16777215},
	{"FirstBurstLength", NEG_MIN, 512, 16777215},
	{"MaxOutstandingR2T", NEG_MIN, 1, 65535},
	{"MaxConnections", NEG_MIN, 1, 65535},
	{"DefaultTime2Retain", NEG_MIN, 0, 3600},
	{"ErrorRecoveryLevel", NEG_MIN, 0, 2},
	{"DefaultTime2Wait", NEG_MAX, 0, 3600},
};

static uint64_t neg_target_value(const struct ut_iscsi_params *tp,
				 const char *key)
{
	if (strcmp(key, "InitialR2T") == 0)
		return tp->initial_r2t;
	if (strcmp(key, "ImmediateData") == 0)
		return tp->immediate_data;
	if (strcmp(key, "MaxBurstLength") == 0)
		return tp->max_burst_length;
	if (strcmp(key, "FirstBurstLength") == 0)
		return tp->first_burst_length;
	if (strcmp(key, "MaxOutstandingR2T") == 0)
		return tp->max_outstanding_r2t;
	if (strcmp(key, "DefaultTime2Retain") == 0)
		return tp->default_time2retain;
	if (strcmp(key, "DefaultTime2Wait") == 0)
		return tp->default_time2wait;
	if (strcmp(key, "MaxConnections") == 0 ||
	    strcmp(key, "DataPDUInOrder") == 0 ||
	    strcmp(key, "DataSequenceInOrder") == 0)
		return 1;
	return 0; /* ErrorRecoveryLevel */
}

/* A value of the key's kind: Yes/No or a number in range. */
static bool neg_value(const struct neg_key *k, const char *v, uint64_t *out)
{
	char *end;

	if (k->rule == NEG_OR || k->rule == NEG_AND) {
		if (strcmp(v, "Yes") != 0 && strcmp(v, "No") != 0)
			return false;
		*out = strcmp(v, "Yes") == 0;
		return true;
	}
	if (v[0] < '0' || v[0] > '9')
		return false;
	*out = strtoull(v, &end, 0);
	return *end == '\0' && *out >= k->min && *out <= k->max;
}

/* Our offer of key in this login (NULL: not offered). */
static const char *neg_offered(const struct ini *ini, const char *key)
{
	const char *v = override(ini, key);

	if (v != NULL)
		return strcmp(v, "-") == 0 ? NULL : v;
	for (size_t i = 0;
	     i < sizeof(default_op_keys) / sizeof(default_op_keys[0]); i++)
		if (strcmp(default_op_keys[i].key, key) == 0)
			return default_op_keys[i].val;
	return NULL;
}

/* What RFC 7143 gives for key from our offer; false: not judged. */
static bool neg_expected(const struct ini *ini, const struct neg_key *k,
			 uint64_t *out)
{
	const char *offer = neg_offered(ini, k->key);
	uint64_t o, t = neg_target_value(ini->tgt_params, k->key);

	if (offer == NULL || !neg_value(k, offer, &o))
		return false;
	switch (k->rule) {
	case NEG_OR:
		*out = o || t;
		break;
	case NEG_AND:
		*out = o && t;
		break;
	case NEG_MIN:
		*out = o < t ? o : t;
		break;
	default:
		*out = o > t ? o : t;
		break;
	}
	if (strcmp(k->key, "FirstBurstLength") == 0) {
		uint64_t mbl;

		if (!neg_expected(ini, &neg_keys[4], &mbl))
			return false; /* clamped to a MaxBurstLength unknown */
		if (*out > mbl)
			*out = mbl;
	}
	return true;
}

static void neg_check(struct ini *ini, const char *key, const char *val)
{
	uint64_t want, got;

	if (ini->tgt_params == NULL || ini->discovery)
		return;
	for (size_t i = 0; i < sizeof(neg_keys) / sizeof(neg_keys[0]); i++) {
		const struct neg_key *k = &neg_keys[i];

		if (strcmp(k->key, key) != 0 || !neg_expected(ini, k, &want))
			continue;
		if (!neg_value(k, val, &got) || got != want)
			ini_violation(ini,
				      "negotiated %s=%s, but RFC 7143 gives "
				      "%llu from our offer %s and the "
				      "target's configured %llu (§13: %s)",
				      key, val, (unsigned long long)want,
				      neg_offered(ini, key),
				      (unsigned long long)neg_target_value(
					      ini->tgt_params, key),
				      k->rule == NEG_OR	   ? "boolean OR"
				      : k->rule == NEG_AND ? "boolean AND"
				      : k->rule == NEG_MIN ? "the minimum"
							   : "the maximum");
	}
}

/* Apply the target's answers (key=value pairs) to the negotiated set. */
static void login_apply_keys(struct ini *ini, const char *p, uint32_t len)
{
	struct ini_params *n = &ini->neg;
	uint32_t i = 0;

	while (i < len) {
		const char *kv = p + i;
		size_t l = strnlen(kv, len - i);
		const char *eq = memchr(kv, '=', l);
		char key[64], val[256];

		i += (uint32_t)l + 1;
		if (eq == NULL || (size_t)(eq - kv) >= sizeof(key))
			continue;
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		snprintf(val, sizeof(val), "%.*s",
			 (int)(l - (size_t)(eq - kv) - 1), eq + 1);
		neg_check(ini, key, val);
		if (strcmp(key, "HeaderDigest") == 0)
			n->header_digest = strcmp(val, "CRC32C") == 0;
		else if (strcmp(key, "DataDigest") == 0)
			n->data_digest = strcmp(val, "CRC32C") == 0;
		else if (strcmp(key, "InitialR2T") == 0)
			n->initial_r2t = strcmp(val, "Yes") == 0;
		else if (strcmp(key, "ImmediateData") == 0)
			n->immediate_data = strcmp(val, "Yes") == 0;
		else if (strcmp(key, "MaxRecvDataSegmentLength") == 0)
			n->max_send_dsl = parse_u32(val, 8192);
		else if (strcmp(key, "FirstBurstLength") == 0)
			n->first_burst = parse_u32(val, 65536);
		else if (strcmp(key, "MaxBurstLength") == 0)
			n->max_burst = parse_u32(val, 262144);
		else if (strcmp(key, "MaxOutstandingR2T") == 0)
			n->max_r2t = parse_u32(val, 1);
		else if (strcmp(key, "DefaultTime2Wait") == 0)
			n->time2wait = parse_u32(val, 2);
		else if (strcmp(key, "DefaultTime2Retain") == 0)
			n->time2retain = parse_u32(val, 20);
		else if (strcmp(key, "ErrorRecoveryLevel") == 0)
			n->erl = parse_u32(val, 0);
		else if (strcmp(key, "DataPDUInOrder") == 0)
			n->pdu_in_order = strcmp(val, "Yes") == 0;
		else if (strcmp(key, "DataSequenceInOrder") == 0)
			n->seq_in_order = strcmp(val, "Yes") == 0;
	}
}

void ini_text_acc_add(struct ini *ini, const uint8_t *p, uint32_t len)
{
	ini->text_acc = realloc(ini->text_acc, ini->text_acc_len + len + 1);
	if (ini->text_acc == NULL)
		abort();
	memcpy(ini->text_acc + ini->text_acc_len, p, len);
	ini->text_acc_len += len;
	ini->text_acc[ini->text_acc_len] = '\0';
}

void ini_login_done(struct ini *ini, enum ini_outcome outcome)
{
	struct ini_op *op = ini->login_op;

	ini->login_op = NULL;
	if (op != NULL)
		ini_op_finish(ini, op, outcome);
}

/* ------------------------------------------------------------- CHAP */

/* Value of key in the accumulated login response keys, or NULL. */
static const char *acc_get(const struct ini *ini, const char *key)
{
	size_t klen = strlen(key);

	for (uint32_t i = 0; i < ini->text_acc_len;) {
		const char *kv = ini->text_acc + i;
		size_t n = strnlen(kv, ini->text_acc_len - i);

		if (n > klen && strncmp(kv, key, klen) == 0 && kv[klen] == '=')
			return kv + klen + 1;
		i += (uint32_t)n + 1;
	}
	return NULL;
}

/* Is alg one of the comma-separated numbers in list? */
static bool alg_offered(const char *list, enum chap_alg alg)
{
	for (const char *p = list; *p != '\0';) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end != p && v == (long)alg && (*end == ',' || *end == '\0'))
			return true;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

/* We will not go on with this target: close, the login fails. */
static void chap_refuse(struct ini *ini, const char *why)
{
	struct ini_op *op = ini->login_op;

	SIM_TRACE(ini->sim, "%s refuses the target's authentication: %s",
		  ini->actor, why);
	if (op != NULL) {
		op->auth_refused = true;
		snprintf(op->auth_why, sizeof(op->auth_why), "%s", why);
	}
	ini->chap_st = CHAP_S_DONE;
	ini_conn_lost(ini, "initiator refused the target's CHAP");
}

/* A binary value as RFC 7143 §6.1 writes it: 0x and hex digits, or 0b
 * and base64 (RFC 4648 §4, padded), the prefix's letter in either case;
 * INI_CHAP_B64_BAD spoils the first character.  out holds 2 + 2 * len + 1 bytes (hex is the longer). */
static void chap_encode(uint8_t enc, const uint8_t *b, size_t len, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 2;

	if (enc == INI_CHAP_HEX || enc == INI_CHAP_HEX_UP) {
		sim_chap_encode_hex(b, len, out);
		/* 0X and the digits a-f in capitals too */
		for (size_t k = 1; enc == INI_CHAP_HEX_UP && out[k]; k++)
			out[k] = (char)toupper((unsigned char)out[k]);
		return;
	}
	out[0] = '0';
	out[1] = enc == INI_CHAP_B64_UP ? 'B' : 'b';
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < len)
			v |= b[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < len ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? a[v & 63] : '=';
	}
	out[o] = '\0';
	if (enc == INI_CHAP_B64_BAD)
		out[2] = '*';
}

/*
 * The freshness oracle of the target's CHAP_C (RFC 1994 §2.3: a
 * challenge must be globally and temporally unique, and unpredictable;
 * RFC 7143 §12.1.3): none of its 8-byte words repeats another of them,
 * and it is not the challenge this initiator got last.  The target
 * draws its challenges from the environment's random source, here the
 * simulator's 64-bit PRNG: two equal draws, the only way a correct
 * target fails this, have a probability of 2^-64 per pair, so a
 * failure is a challenge built from less entropy than its length
 * (mutant 504: one word repeated).  Round of blind19.
 */
static void chap_fresh(struct ini *ini, const uint8_t *chal, size_t len)
{
	for (size_t a = 0; a + 16 <= len; a += 8)
		for (size_t b = a + 8; b + 8 <= len; b += 8)
			if (memcmp(chal + a, chal + b, 8) == 0) {
				ini_violation(ini,
					      "the target's CHAP_C of %zu "
					      "bytes repeats its bytes %zu-%zu "
					      "at %zu: a challenge of less "
					      "entropy than its length",
					      len, a, a + 7, b);
				return;
			}
	if (len == ini->tgt_chal_len && len > 0 &&
	    memcmp(chal, ini->tgt_chal, len) == 0)
		ini_violation(ini, "the target's CHAP_C repeats the "
				   "challenge it sent at our last login");
	ini->tgt_chal_len = len < sizeof(ini->tgt_chal) ? len
							: sizeof(ini->tgt_chal);
	memcpy(ini->tgt_chal, chal, ini->tgt_chal_len);
}

/* CHAP_I, a numerical value (RFC 7143 §6.1: decimal or 0x hex) of 0-255,
 * read here rather than with the target's iscsi_chap_parse_id(). */
static int chap_id_parse(const char *v, uint8_t *id)
{
	unsigned long n;
	char *end;
	int base = 10;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		v += 2;
	}
	if (v[0] == '\0' ||
	    v[strspn(v, base == 16 ? "0123456789abcdefABCDEF" : "0123456789")])
		return -1;
	errno = 0;
	n = strtoul(v, &end, base);
	if (errno != 0 || *end != '\0' || n > 255)
		return -1;
	*id = (uint8_t)n;
	return 0;
}

/* Our answer to the target's CHAP_A/CHAP_I/CHAP_C.  Every CHAP value is
 * read and written with the simulator's own codec (digest.c), not the
 * target's: a bug the two shared would pass every login (mutant 602). */
static void chap_answer(struct ini *ini)
{
	const char *a = acc_get(ini, "CHAP_A");
	const char *i = acc_get(ini, "CHAP_I");
	const char *c = acc_get(ini, "CHAP_C");
	const char *algs = ini->chap.algs[0] ? ini->chap.algs : "8,7,6,5";
	uint8_t chal[CHAP_CHALLENGE_MAX_BYTES];
	uint8_t rsp[CHAP_DIGEST_MAX_BYTES];
	char hex[2 * CHAP_CHALLENGE_MAX_BYTES + 3];
	char idbuf[8];
	struct textbuf t = {.len = 0};
	uint8_t id;
	int clen;
	char *end;
	long alg;

	if (a == NULL || i == NULL || c == NULL) {
		chap_refuse(ini,
			    "no CHAP_A, CHAP_I and CHAP_C from the target");
		return;
	}
	alg = strtol(a, &end, 10);
	if (end == a || *end != '\0' || alg < 0 || alg > 255 ||
	    !alg_offered(algs, (enum chap_alg)alg) ||
	    sim_chap_digest_len((unsigned int)alg) == 0) {
		chap_refuse(ini, "the target chose a CHAP_A we did not offer");
		return;
	}
	ini->chap_alg = (enum chap_alg)alg;
	if (ini->login_op != NULL)
		ini->login_op->chap_alg = (uint8_t)alg;
	clen = sim_chap_decode(c, chal, sizeof(chal));
	if (chap_id_parse(i, &id) != 0 || clen < 1) {
		chap_refuse(ini, "malformed CHAP_I or CHAP_C from the target");
		return;
	}
	chap_fresh(ini, chal, (size_t)clen);
	(void)sim_chap_response((unsigned int)ini->chap_alg, id,
				ini->chap.secret, strlen(ini->chap.secret),
				chal, (size_t)clen, rsp);
	chap_encode(ini->chap.enc, rsp, sim_chap_digest_len(ini->chap_alg),
		    hex);
	text_add(&t, "CHAP_N", ini->chap.name);
	text_add(&t, "CHAP_R", hex);
	if (ini->chap.reflect) {
		/* Misbehaving: the target's challenge as ours. */
		ini->chap_id = id;
		ini->chap_chal_len = (size_t)clen < sizeof(ini->chap_chal)
					     ? (size_t)clen
					     : sizeof(ini->chap_chal);
		memcpy(ini->chap_chal, chal, ini->chap_chal_len);
		text_add(&t, "CHAP_I", i);
		text_add(&t, "CHAP_C", c);
	} else if (ini->chap.target_secret[0]) {
		/* Mutual: a fresh challenge as long as the digest (at least
		 * 16 bytes), from the simulation's seeded PRNG. */
		ini->chap_id = (uint8_t)sim_rand(ini->sim);
		ini->chap_chal_len = sim_chap_digest_len(ini->chap_alg);
		if (ini->chap_chal_len < CHAP_CHALLENGE_MIN_BYTES)
			ini->chap_chal_len = CHAP_CHALLENGE_MIN_BYTES;
		for (size_t k = 0; k < ini->chap_chal_len; k++)
			ini->chap_chal[k] = (uint8_t)sim_rand(ini->sim);
		snprintf(idbuf, sizeof(idbuf), "%u", ini->chap_id);
		chap_encode(ini->chap.enc == INI_CHAP_B64_BAD ? INI_CHAP_B64
							      : ini->chap.enc,
			    ini->chap_chal, ini->chap_chal_len, hex);
		text_add(&t, "CHAP_I", idbuf);
		text_add(&t, "CHAP_C", hex);
	}
	ini->chap_st = CHAP_S_RESPONSE;
	send_login(ini, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true,
		   &t);
}

/* Mutual CHAP: did the target prove it knows target_secret? */
static bool chap_target_ok(struct ini *ini)
{
	const char *n = acc_get(ini, "CHAP_N");
	const char *r = acc_get(ini, "CHAP_R");
	size_t dlen = sim_chap_digest_len(ini->chap_alg);
	uint8_t got[CHAP_DIGEST_MAX_BYTES], want[CHAP_DIGEST_MAX_BYTES];

	if (n == NULL || r == NULL) {
		chap_refuse(ini,
			    "mutual CHAP: no CHAP_N/CHAP_R from the target");
		return false;
	}
	if (ini->chap.target_name[0] && strcmp(n, ini->chap.target_name) != 0) {
		chap_refuse(ini, "mutual CHAP: the target's CHAP_N is not the "
				 "expected name");
		return false;
	}
	if (sim_chap_decode(r, got, dlen) != (int)dlen) {
		chap_refuse(ini,
			    "mutual CHAP: malformed CHAP_R from the target");
		return false;
	}
	(void)sim_chap_response((unsigned int)ini->chap_alg, ini->chap_id,
				ini->chap.target_secret,
				strlen(ini->chap.target_secret), ini->chap_chal,
				ini->chap_chal_len, want);
	if (memcmp(got, want, dlen) != 0) {
		chap_refuse(ini, "mutual CHAP: wrong CHAP_R from the target");
		return false;
	}
	return true;
}

/* One complete security-stage answer while CHAP is under way.  Returns
 * true when it was handled here (next request sent, or login refused);
 * false to go on as without CHAP. */
static bool chap_rx(struct ini *ini, bool transit)
{
	const char *m;

	switch (ini->chap_st) {
	case CHAP_S_METHOD:
		m = acc_get(ini, "AuthMethod");
		if (m != NULL && strcmp(m, "CHAP") == 0) {
			struct textbuf t = {.len = 0};

			text_add(&t, "CHAP_A",
				 ini->chap.algs[0] ? ini->chap.algs
						   : "8,7,6,5");
			ini->chap_st = CHAP_S_ALG;
			send_login(ini, ISCSI_STAGE_SECURITY,
				   ISCSI_STAGE_OPERATIONAL, true, &t);
			return true;
		}
		if (ini->chap.target_secret[0] && transit) {
			chap_refuse(ini, "mutual CHAP wanted, the target chose "
					 "no authentication");
			return true;
		}
		ini->chap_st = CHAP_S_DONE;
		return false;
	case CHAP_S_ALG:
		chap_answer(ini);
		return true;
	case CHAP_S_RESPONSE:
		if (ini->chap.target_secret[0] && !ini->chap.reflect &&
		    !chap_target_ok(ini))
			return true;
		ini->chap_st = CHAP_S_DONE;
		return false;
	default:
		return false;
	}
}

/* Is word a member of the comma-separated list?  Its position (from 1)
 * in *at. */
static bool list_member(const char *list, const char *word, size_t *at)
{
	size_t wl = strlen(word), i = 1;

	for (const char *p = list;; i++) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l == wl && strncmp(p, word, l) == 0) {
			*at = i;
			return true;
		}
		if (!comma)
			return false;
		p = comma + 1;
	}
}

/* The answers to the scenario's keys of the operational stage
 * (scenario_key()), in the complete response that moves to full feature
 * phase:
 * (a key answered in an earlier response of the stage is not looked
 * for again):
 * - a key of an extension, X#NAME (RFC 7143 §13.5.2, public, such as
 *   RFC 4850's X#NodeArchitecture) or X-NAME (private): the target
 *   implements none, so each is answered NotUnderstood, once (§6.2);
 * - TaskReporting, a list (RFC 7144 §2.3): the answer is one of the
 *   values offered, the first the target supports (RFC 7143 §6.2.1);
 *   every target supports RFC3720, the default, so with RFC3720 in the
 *   list the answer is it or a value offered before it, never Reject.
 *   Irrelevant only in a discovery session (a session-wide key). */
static void check_scenario_keys(struct ini *ini)
{
	for (size_t i = 0; i < ini->keys_len;) {
		const char *kv = ini->keys + i;
		size_t n = strlen(kv), klen = strcspn(kv, "="), at, at3720;
		char key[64];
		const char *got, *offer = kv + klen + 1;

		i += n + 1;
		if (!n || !scenario_key(kv) || klen >= sizeof(key))
			continue;
		memcpy(key, kv, klen);
		key[klen] = '\0';
		got = acc_get(ini, key);
		if (got == NULL) /* (answered in an earlier response) */
			continue;
		if ((key[0] == 'X' && (key[1] == '#' || key[1] == '-'))) {
			if (strcmp(got, "NotUnderstood") != 0)
				ini_violation(ini,
					      "extension key %s answered %s, "
					      "not NotUnderstood (RFC 7143 "
					      "§6.2, §13.5.2)",
					      key, got);
			continue;
		}
		if (strcmp(key, "TaskReporting") != 0)
			continue;
		if (ini->discovery && strcmp(got, "Irrelevant") == 0)
			continue;
		if (list_member(offer, "RFC3720", &at3720)
			    ? !list_member(offer, got, &at) || at > at3720
			    : strcmp(got, "Reject") != 0 &&
				      !list_member(offer, got, &at))
			ini_violation(ini,
				      "TaskReporting=%s answered %s: the "
				      "first value offered that the target "
				      "supports, RFC3720 at the latest "
				      "(RFC 7143 §6.2.1, RFC 7144 §2.3)",
				      offer, got);
	}
}

/* TargetPortalGroupTag in a response's text, whatever the stage (the
 * first response is often the security stage's, its CHAP keys read by
 * chap_rx()). */
static void note_tpgt(struct ini *ini, const char *p, uint32_t len)
{
	static const char key[] = "TargetPortalGroupTag=";

	for (uint32_t i = 0; i < len;) {
		const char *kv = p + i;
		size_t l = strnlen(kv, len - i);

		i += (uint32_t)l + 1;
		if (l > sizeof(key) - 1 &&
		    strncmp(kv, key, sizeof(key) - 1) == 0)
			ini->login_tpgt =
				(int32_t)parse_u32(kv + sizeof(key) - 1, 0);
	}
}

void ini_rx_login_rsp(struct ini *ini, const struct iscsi_bhs *h,
		      const uint8_t *data)
{
	struct ini_op *op = ini->login_op;
	uint16_t st = (uint16_t)(h->w36 >> 16); /* bytes 36-37 */
	bool transit = (h->flags & ISCSI_LOGIN_F_TRANSIT) != 0;
	bool cont = (h->flags & ISCSI_LOGIN_F_CONTINUE) != 0;
	unsigned int bad = login_bad(ini);

	if (op == NULL || ini->state != INI_S_LOGIN) {
		ini_violation(ini, "Login Response outside login (itt %08x)",
			      h->itt);
		return;
	}
	if (h->data_len > LOGIN_PIECE_BYTES)
		ini_violation(ini,
			      "Login Response of %u data bytes: during login "
			      "8192 at most (RFC 7143 §13.12, the default "
			      "MaxRecvDataSegmentLength)",
			      h->data_len);
	op->login_status = st;
	ini->exp_statsn = h->w24 + 1;
	ini->statsn_valid = true;
	ini->exp_cmdsn = h->w28;
	ini->max_cmdsn = h->w32;
	if (st != ISCSI_LS_SUCCESS) {
		/* RFC 7143 §11.13.5: the target closes after a failed login. */
		ini->state = INI_S_LOGOUT;
		free(ini->req_rest);
		ini->req_rest = NULL;
		ini->req_rest_len = ini->req_rest_off = 0;
		ini_login_done(ini, INI_DONE);
		return;
	}
	if (ini->req_rest != NULL || bad == INI_LB_PDUS) {
		/* RFC 7143 §11.13: a request with C=1 is answered by an
		 * empty response in the same stage; then the next piece */
		if (cont || transit || h->data_len ||
		    ISCSI_LOGIN_CSG(h->flags) != ini->login_stage)
			ini_violation(ini, "a Login Request with C=1 answered "
					   "with more than an empty Login "
					   "Response (RFC 7143 §11.13)");
		if (bad == INI_LB_PDUS) {
			send_login_pdu(ini,
				       (uint8_t)(ini->login_stage << 2 |
						 ISCSI_LOGIN_F_CONTINUE),
				       NULL, 0);
			return;
		}
		send_login_piece(ini);
		return;
	}
	ini->tsih = (uint16_t)h->lun;
	ini_text_acc_add(ini, data, h->data_len);
	if (cont) {
		struct textbuf t = {.len = 0};

		if (transit)
			ini_violation(ini, "Login Response with T and C both "
					   "set (RFC 7143 §11.13.1)");
		if (bad == INI_LB_CONT_TEXT)
			text_add(&t, "X-org.utarget.sim.late", "1");
		send_login(ini, ini->login_stage, 0, false, &t);
		return;
	}
	if (bad == INI_LB_STALL) {
		/* the login goes no further: the target's login timer */
		SIM_TRACE(ini->sim, "%s stalls its login", ini->actor);
		ini->text_acc_len = 0;
		return;
	}
	check_response_keys(ini, ini->login_stage == ISCSI_STAGE_OPERATIONAL);
	if (ini->login_stage == ISCSI_STAGE_OPERATIONAL)
		check_scenario_keys(ini);
	note_tpgt(ini, ini->text_acc, ini->text_acc_len);
	if (ini->login_stage == ISCSI_STAGE_SECURITY &&
	    ini->chap_st != CHAP_S_IDLE && ini->chap_st != CHAP_S_DONE &&
	    chap_rx(ini, transit)) {
		ini->text_acc_len = 0;
		return;
	}
	login_apply_keys(ini, ini->text_acc, ini->text_acc_len);
	ini->text_acc_len = 0;
	if (ini->neg.first_burst > ini->neg.max_burst) {
		/* RFC 7143 §13.14: FirstBurstLength MUST NOT exceed
		 * MaxBurstLength. */
		ini_violation(
			ini,
			"negotiated FirstBurstLength %u > MaxBurstLength %u",
			ini->neg.first_burst, ini->neg.max_burst);
		ini->neg.first_burst = ini->neg.max_burst;
	}
	if (transit && ISCSI_LOGIN_NSG(h->flags) == ISCSI_STAGE_FULL_FEATURE) {
		ini->state = INI_S_FFP;
		ini->digests_live = true;
		ini->cmdsn = ini->exp_cmdsn;
		ini->last_sent_valid = ini->forced_hi_valid = false;
		SIM_TRACE(
			ini->sim,
			"%s logged in: tsih=%u ImmediateData=%d InitialR2T=%d "
			"FirstBurst=%u MaxBurst=%u MaxR2T=%u MaxXmitDSL=%u",
			ini->actor, ini->tsih, ini->neg.immediate_data,
			ini->neg.initial_r2t, ini->neg.first_burst,
			ini->neg.max_burst, ini->neg.max_r2t,
			ini->neg.max_send_dsl);
		ini_login_done(ini, INI_DONE);
		ini_pump(ini);
		return;
	}
	if (transit && ISCSI_LOGIN_NSG(h->flags) == ISCSI_STAGE_OPERATIONAL) {
		login_operational(ini);
		return;
	}
	/* The target wants another round in this stage: ask to move on. */
	{
		struct textbuf t = {.len = 0};

		send_login(ini, ini->login_stage,
			   ini->login_stage == ISCSI_STAGE_SECURITY
				   ? ISCSI_STAGE_OPERATIONAL
				   : ISCSI_STAGE_FULL_FEATURE,
			   true, &t);
	}
}
