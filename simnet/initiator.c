/*
 * initiator.c — the initiator actor's side of RFC 7143.
 *
 * Connection life (one connection per session, ErrorRecoveryLevel 0):
 *
 *   DOWN --connect--> CONNECTING --TCP up--> LOGIN
 *   LOGIN: SecurityNegotiation (AuthMethod=None, T, NSG=1; with CHAP
 *          credentials AuthMethod=CHAP, CHAP_A, then CHAP_N/CHAP_R and for
 *          mutual CHAP our CHAP_I/CHAP_C, checking the target's answer)
 *          -> LoginOperationalNegotiation (our keys, T, NSG=3)
 *          -> FFP when a Login Response has T=1 and NSG=3 (§6.3)
 *   FFP:   commands gated by the CmdSN window [ExpCmdSN, MaxCmdSN]
 *          (§4.2.2.1); immediate PDUs (TMF, NOP, logout) carry CmdSN
 *          without advancing it
 *   LOGOUT: after a Logout Request, until the target closes
 *   any state --connection lost--> DOWN, every op DROPPED
 *
 * Write data (§4.2.5): immediate data with the command up to
 * min(FirstBurstLength, MaxRecvDataSegmentLength of the target) when
 * ImmediateData=Yes; unsolicited Data-Out (TTT 0xffffffff) up to
 * FirstBurstLength when InitialR2T=No; the rest only as R2Ts ask.
 *
 * Receive framing reads BHS, AHS, header digest, data, padding and data
 * digest from the byte stream, however it is chunked.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initiator.h"
#include "iscsi/chap.h"

#define TX_FLUSH_MAX (1u << 20)
#define RX_DATA_MAX (16u << 20)
#define MY_MRDSL 262144u
#define LOGIN_KEYS_MAX 4096

struct ini {
	struct sim *sim;
	struct sim_host *host;
	char actor[32];
	char iqn[224];
	char target[224];
	char portal[64];
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	bool discovery;
	enum ini_state state;
	int login_stage; /* CSG we are in */
	struct env_conn *c;
	uint64_t conn_id;

	/* transmit: bytes not yet accepted by the link */
	uint8_t *tx;
	size_t tx_off, tx_len, tx_cap;

	/* receive framing */
	uint8_t rbhs[ISCSI_BHS_LEN];
	uint32_t rpos;	/* bytes of the current PDU read */
	uint32_t rneed; /* total bytes of the current PDU */
	uint8_t *rdata;
	uint32_t rdata_cap;
	struct iscsi_bhs rh;
	bool rhave_bhs;

	/* sequence numbers */
	uint32_t cmdsn, exp_cmdsn, max_cmdsn;
	uint32_t exp_statsn;
	bool statsn_valid;
	uint32_t next_itt;
	uint64_t send_seq; /* order in which PDUs went out */

	struct ini_params neg;
	char keys[LOGIN_KEYS_MAX]; /* scenario overrides, NUL separated */
	size_t keys_len;
	struct ini_chap chap; /* credentials; name empty = none */
	enum {
		CHAP_S_IDLE = 0, /* no exchange (yet) on this login */
		CHAP_S_METHOD,	 /* AuthMethod offered */
		CHAP_S_ALG,	 /* CHAP_A sent */
		CHAP_S_RESPONSE, /* CHAP_N/CHAP_R (+ I/C) sent */
		CHAP_S_DONE,
	} chap_st;
	enum chap_alg chap_alg;
	uint8_t chap_id; /* our CHAP_I and CHAP_C (mutual) */
	uint8_t chap_chal[CHAP_DIGEST_MAX_BYTES];
	size_t chap_chal_len;
	bool ignore_nopin;
	bool auto_logout;
	bool digests_live; /* FFP reached: digests as negotiated */

	struct ini_op_list ops;	  /* sent, awaiting an answer */
	struct ini_op_list waitq; /* waiting for the CmdSN window */
	struct ini_op_list doneq; /* finished, done() pending */
	struct sim_ev done_ev;
	struct sim_ev probe_ev; /* window closed with commands waiting */
	struct ini_op *login_op;
	char *text_acc; /* login/text response keys */
	uint32_t text_acc_len;

	ini_violation_fn violation;
	ini_event_fn event;
	void *hook_arg;
};

static void ini_pump(struct ini *ini);
static void done_fire(struct sim_ev *ev);
static void probe_fire(struct sim_ev *ev);
static void ini_conn_lost(struct ini *ini, const char *why);

static const char *const opnames[64] = {
	[ISCSI_OP_NOP_OUT] = "NOP-Out",
	[ISCSI_OP_SCSI_CMD] = "SCSI-Cmd",
	[ISCSI_OP_TMF_REQ] = "TMF-Req",
	[ISCSI_OP_LOGIN_REQ] = "Login-Req",
	[ISCSI_OP_TEXT_REQ] = "Text-Req",
	[ISCSI_OP_DATA_OUT] = "Data-Out",
	[ISCSI_OP_LOGOUT_REQ] = "Logout-Req",
	[ISCSI_OP_SNACK_REQ] = "SNACK",
	[ISCSI_OP_NOP_IN] = "NOP-In",
	[ISCSI_OP_SCSI_RSP] = "SCSI-Rsp",
	[ISCSI_OP_TMF_RSP] = "TMF-Rsp",
	[ISCSI_OP_LOGIN_RSP] = "Login-Rsp",
	[ISCSI_OP_TEXT_RSP] = "Text-Rsp",
	[ISCSI_OP_DATA_IN] = "Data-In",
	[ISCSI_OP_LOGOUT_RSP] = "Logout-Rsp",
	[ISCSI_OP_R2T] = "R2T",
	[ISCSI_OP_ASYNC_MSG] = "Async",
	[ISCSI_OP_REJECT] = "Reject",
};

const char *ini_opcode_name(uint8_t op)
{
	op &= ISCSI_OPCODE_MASK;
	return opnames[op] ? opnames[op] : "Unknown";
}

static void violation(struct ini *ini, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void violation(struct ini *ini, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	SIM_TRACE(ini->sim, "%s VIOLATION: %s", ini->actor, msg);
	if (ini->violation)
		ini->violation(ini->hook_arg, ini, msg);
}

/* ------------------------------------------------------------ basics */

struct ini *ini_new(struct sim *sim, const char *actor, const char *iqn,
		    unsigned int index)
{
	struct ini *ini = calloc(1, sizeof(*ini));

	if (ini == NULL)
		abort();
	ini->sim = sim;
	snprintf(ini->actor, sizeof(ini->actor), "%s", actor);
	snprintf(ini->iqn, sizeof(ini->iqn), "%s", iqn);
	ini->host = sim_host_new(sim, actor);
	/* ISID: type 0x80 (random), then the actor's index. */
	ini->isid[0] = 0x80;
	ini->isid[1] = 0x00;
	ini->isid[2] = 0x53; /* 'S' */
	ini->isid[3] = 0x49; /* 'I' */
	ini->isid[4] = (uint8_t)(index >> 8);
	ini->isid[5] = (uint8_t)index;
	ini->next_itt = 0x1000 * (index + 1);
	ini->auto_logout = true;
	TAILQ_INIT(&ini->ops);
	TAILQ_INIT(&ini->waitq);
	TAILQ_INIT(&ini->doneq);
	sim_ev_init(&ini->done_ev, done_fire);
	sim_ev_init(&ini->probe_ev, probe_fire);
	return ini;
}

const char *ini_actor(const struct ini *ini)
{
	return ini->actor;
}
const char *ini_iqn(const struct ini *ini)
{
	return ini->iqn;
}
enum ini_state ini_state(const struct ini *ini)
{
	return ini->state;
}
struct sim_host *ini_host(struct ini *ini)
{
	return ini->host;
}
const struct ini_params *ini_params(const struct ini *ini)
{
	return &ini->neg;
}
bool ini_connected(const struct ini *ini)
{
	return ini->c != NULL;
}
uint64_t ini_conn_id(const struct ini *ini)
{
	return ini->conn_id;
}
struct env_conn *ini_conn(struct ini *ini)
{
	return ini->c;
}

void ini_set_hooks(struct ini *ini, ini_violation_fn v, ini_event_fn e,
		   void *arg)
{
	ini->violation = v;
	ini->event = e;
	ini->hook_arg = arg;
}

void ini_set_ignore_nopin(struct ini *ini, bool ignore)
{
	ini->ignore_nopin = ignore;
}

void ini_set_auto_logout(struct ini *ini, bool on)
{
	ini->auto_logout = on;
}

void ini_set_isid(struct ini *ini, const uint8_t isid[6])
{
	memcpy(ini->isid, isid, 6);
}

void ini_set_login_keys(struct ini *ini, const char *keys)
{
	size_t n = 0;

	for (const char *p = keys; *p != '\0' && n + 2 < sizeof(ini->keys); p++)
		ini->keys[n++] = *p == ' ' ? '\0' : *p;
	ini->keys[n++] = '\0';
	ini->keys_len = n;
}

void ini_set_chap(struct ini *ini, const struct ini_chap *chap)
{
	if (chap == NULL)
		memset(&ini->chap, 0, sizeof(ini->chap));
	else
		ini->chap = *chap;
}

unsigned int ini_pending(const struct ini *ini)
{
	unsigned int n = 0;
	struct ini_op *op;

	TAILQ_FOREACH (op, &ini->ops, link)
		n++;
	TAILQ_FOREACH (op, &ini->waitq, link)
		n++;
	return n + (ini->login_op != NULL);
}

struct ini_op *ini_op_new(struct ini *ini, enum ini_op_kind kind,
			  ini_done_fn done, void *arg)
{
	struct ini_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		abort();
	op->ini = ini;
	op->kind = kind;
	op->done = done;
	op->arg = arg;
	op->itt = ISCSI_RESERVED_TAG;
	return op;
}

void ini_op_free(struct ini_op *op)
{
	if (op == NULL)
		return;
	free(op->out);
	free(op->in);
	free(op->raw);
	free(op->text);
	free(op);
}

static void done_fire(struct sim_ev *ev)
{
	struct ini *ini = SIM_CONTAINER_OF(ev, struct ini, done_ev);
	struct ini_op *op;

	while ((op = TAILQ_FIRST(&ini->doneq)) != NULL) {
		TAILQ_REMOVE(&ini->doneq, op, link);
		if (op->done == NULL)
			ini_op_free(op); /* internal (auto logout) */
		else
			op->done(op->arg, op);
	}
}

/* Finish op (already unlinked): done() runs from an event. */
static void op_finish(struct ini *ini, struct ini_op *op,
		      enum ini_outcome outcome)
{
	op->outcome = outcome;
	op->done_ns = ini->sim->now_ns;
	TAILQ_INSERT_TAIL(&ini->doneq, op, link);
	if (!sim_ev_pending(&ini->done_ev))
		sim_ev_at(ini->sim, &ini->done_ev, ini->sim->now_ns);
}

static struct ini_op *op_by_itt(struct ini *ini, uint32_t itt)
{
	struct ini_op *op;

	TAILQ_FOREACH (op, &ini->ops, link)
		if (op->itt == itt)
			return op;
	return NULL;
}

void ini_free(struct ini *ini)
{
	struct ini_op *op;

	if (ini->c != NULL)
		sim_conn_close(ini->c);
	sim_ev_cancel(ini->sim, &ini->done_ev);
	sim_ev_cancel(ini->sim, &ini->probe_ev);
	while ((op = TAILQ_FIRST(&ini->ops)) != NULL) {
		TAILQ_REMOVE(&ini->ops, op, link);
		ini_op_free(op);
	}
	while ((op = TAILQ_FIRST(&ini->waitq)) != NULL) {
		TAILQ_REMOVE(&ini->waitq, op, link);
		ini_op_free(op);
	}
	while ((op = TAILQ_FIRST(&ini->doneq)) != NULL) {
		TAILQ_REMOVE(&ini->doneq, op, link);
		ini_op_free(op);
	}
	ini_op_free(ini->login_op);
	free(ini->tx);
	free(ini->rdata);
	free(ini->text_acc);
	free(ini);
}

/* --------------------------------------------------------- transmit */

static void tx_reserve(struct ini *ini, size_t n)
{
	if (ini->tx_off > 0 && ini->tx_off + ini->tx_len + n > ini->tx_cap) {
		memmove(ini->tx, ini->tx + ini->tx_off, ini->tx_len);
		ini->tx_off = 0;
	}
	if (ini->tx_len + n > ini->tx_cap) {
		size_t cap = ini->tx_cap ? ini->tx_cap : 16384;

		while (cap < ini->tx_len + n)
			cap *= 2;
		ini->tx = realloc(ini->tx, cap);
		if (ini->tx == NULL)
			abort();
		ini->tx_cap = cap;
	}
}

static void tx_put(struct ini *ini, const void *p, size_t n)
{
	tx_reserve(ini, n);
	memcpy(ini->tx + ini->tx_off + ini->tx_len, p, n);
	ini->tx_len += n;
}

static void tx_flush(struct ini *ini)
{
	while (ini->c != NULL && ini->tx_len > 0) {
		struct iovec v = {ini->tx + ini->tx_off,
				  ini->tx_len < TX_FLUSH_MAX ? ini->tx_len
							     : TX_FLUSH_MAX};
		ssize_t n = sim_conn_send(ini->c, &v, 1);

		if (n <= 0)
			break;
		ini->tx_off += (size_t)n;
		ini->tx_len -= (size_t)n;
	}
	if (ini->tx_len == 0)
		ini->tx_off = 0;
	if (ini->c != NULL)
		sim_conn_want_write(ini->c, ini->tx_len > 0);
}

static void put_digest(struct ini *ini, const void *p, size_t n)
{
	uint32_t d = iscsi_digest(p, n);
	uint8_t b[4] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16),
			(uint8_t)(d >> 24)};

	tx_put(ini, b, 4);
}

/* Queue one PDU: BHS (the data length is filled in here), data, padding
 * and digests as negotiated. */
static void send_pdu(struct ini *ini, struct iscsi_bhs *h, const void *data,
		     uint32_t len)
{
	uint8_t raw[ISCSI_BHS_LEN];
	static const uint8_t zero[4];

	h->data_len = len;
	iscsi_bhs_encode(h, raw);
	SIM_TRACE(ini->sim, "%s -> %-10s itt=%08x sn=%u exp=%u len=%u",
		  ini->actor, ini_opcode_name(h->opcode), h->itt, h->w24,
		  h->w28, len);
	tx_put(ini, raw, sizeof(raw));
	if (ini->neg.header_digest && ini->digests_live)
		put_digest(ini, raw, sizeof(raw));
	if (len > 0) {
		uint32_t pad = iscsi_pad4(len);

		tx_put(ini, data, len);
		tx_put(ini, zero, pad);
		if (ini->neg.data_digest && ini->digests_live) {
			uint8_t *tmp = malloc(len + pad);

			if (tmp == NULL)
				abort();
			memcpy(tmp, data, len);
			memset(tmp + len, 0, pad);
			put_digest(ini, tmp, len + pad);
			free(tmp);
		}
	}
}

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

struct textbuf {
	char b[LOGIN_KEYS_MAX];
	uint32_t len;
};

static void text_add(struct textbuf *t, const char *key, const char *val)
{
	int n = snprintf(t->b + t->len, sizeof(t->b) - t->len, "%s=%s", key,
			 val);

	if (n > 0 && t->len + (uint32_t)n + 1 < sizeof(t->b))
		t->len += (uint32_t)n + 1;
}

static void send_login(struct ini *ini, int csg, int nsg, bool transit,
		       const struct textbuf *t)
{
	struct iscsi_bhs h;

	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = (uint8_t)((transit ? ISCSI_LOGIN_F_TRANSIT : 0) | csg << 2 |
			    (transit ? nsg : 0));
	h.b2 = 0; /* VersionMax */
	h.b3 = 0; /* VersionMin */
	h.lun = (uint64_t)ini->isid[0] << 56 | (uint64_t)ini->isid[1] << 48 |
		(uint64_t)ini->isid[2] << 40 | (uint64_t)ini->isid[3] << 32 |
		(uint64_t)ini->isid[4] << 24 | (uint64_t)ini->isid[5] << 16 |
		ini->tsih;
	h.itt = ini->login_op->itt;
	h.w20 = (uint32_t)ini->cid << 16;
	h.w24 = ini->cmdsn;
	h.w28 = ini->exp_statsn;
	send_pdu(ini, &h, t ? t->b : NULL, t ? t->len : 0);
	tx_flush(ini);
}

static void login_security(struct ini *ini)
{
	struct textbuf t = {.len = 0};
	const char *m;

	text_add(&t, "InitiatorName", ini->iqn);
	text_add(&t, "SessionType", ini->discovery ? "Discovery" : "Normal");
	if (!ini->discovery)
		text_add(&t, "TargetName", ini->target);
	m = override(ini, "AuthMethod");
	if (m == NULL || strcmp(m, "-") != 0) /* "-": no AuthMethod */
		text_add(&t, "AuthMethod",
			 m		     ? m
			 : ini->chap.name[0] ? "CHAP"
					     : "None");
	ini->login_stage = ISCSI_STAGE_SECURITY;
	ini->chap_st = ini->chap.name[0] ? CHAP_S_METHOD : CHAP_S_IDLE;
	ini->chap_alg = CHAP_ALG_NONE;
	send_login(ini, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true,
		   &t);
}

static void login_operational(struct ini *ini)
{
	struct textbuf t = {.len = 0};

	for (size_t i = 0;
	     i < sizeof(default_op_keys) / sizeof(default_op_keys[0]); i++) {
		const char *k = default_op_keys[i].key;
		const char *v = override(ini, k);

		if (ini->discovery && strcmp(k, "HeaderDigest") != 0 &&
		    strcmp(k, "DataDigest") != 0 &&
		    strcmp(k, "MaxRecvDataSegmentLength") != 0)
			continue;
		if (v != NULL && strcmp(v, "-") == 0)
			continue; /* scenario asks not to send it */
		text_add(&t, k, v ? v : default_op_keys[i].val);
	}
	ini->login_stage = ISCSI_STAGE_OPERATIONAL;
	send_login(ini, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		   &t);
}

static void params_default(struct ini_params *p)
{
	memset(p, 0, sizeof(*p));
	p->initial_r2t = true;
	p->immediate_data = true;
	p->max_send_dsl = 8192;
	p->max_recv_dsl = MY_MRDSL;
	p->first_burst = 65536;
	p->max_burst = 262144;
	p->max_r2t = 1;
}

static uint32_t parse_u32(const char *v, uint32_t dflt)
{
	char *end;
	unsigned long x = strtoul(v, &end, 0);

	return end == v ? dflt : (uint32_t)x;
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
	}
}

static void text_acc_add(struct ini *ini, const uint8_t *p, uint32_t len)
{
	ini->text_acc = realloc(ini->text_acc, ini->text_acc_len + len + 1);
	if (ini->text_acc == NULL)
		abort();
	memcpy(ini->text_acc + ini->text_acc_len, p, len);
	ini->text_acc_len += len;
	ini->text_acc[ini->text_acc_len] = '\0';
}

static void login_done(struct ini *ini, enum ini_outcome outcome)
{
	struct ini_op *op = ini->login_op;

	ini->login_op = NULL;
	if (op != NULL)
		op_finish(ini, op, outcome);
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

/* Our answer to the target's CHAP_A/CHAP_I/CHAP_C. */
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
	    iscsi_chap_digest_len((enum chap_alg)alg) == 0) {
		chap_refuse(ini, "the target chose a CHAP_A we did not offer");
		return;
	}
	ini->chap_alg = (enum chap_alg)alg;
	if (ini->login_op != NULL)
		ini->login_op->chap_alg = (uint8_t)alg;
	clen = iscsi_chap_decode(c, chal, sizeof(chal));
	if (iscsi_chap_parse_id(i, &id) != 0 || clen < 1) {
		chap_refuse(ini, "malformed CHAP_I or CHAP_C from the target");
		return;
	}
	iscsi_chap_response(ini->chap_alg, id, ini->chap.secret,
			    strlen(ini->chap.secret), chal, (size_t)clen, rsp);
	iscsi_chap_encode_hex(rsp, iscsi_chap_digest_len(ini->chap_alg), hex);
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
		ini->chap_chal_len = iscsi_chap_digest_len(ini->chap_alg);
		if (ini->chap_chal_len < CHAP_CHALLENGE_MIN_BYTES)
			ini->chap_chal_len = CHAP_CHALLENGE_MIN_BYTES;
		for (size_t k = 0; k < ini->chap_chal_len; k++)
			ini->chap_chal[k] = (uint8_t)sim_rand(ini->sim);
		snprintf(idbuf, sizeof(idbuf), "%u", ini->chap_id);
		iscsi_chap_encode_hex(ini->chap_chal, ini->chap_chal_len, hex);
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
	size_t dlen = iscsi_chap_digest_len(ini->chap_alg);
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
	if (iscsi_chap_decode(r, got, dlen) != (int)dlen) {
		chap_refuse(ini,
			    "mutual CHAP: malformed CHAP_R from the target");
		return false;
	}
	iscsi_chap_response(ini->chap_alg, ini->chap_id,
			    ini->chap.target_secret,
			    strlen(ini->chap.target_secret), ini->chap_chal,
			    ini->chap_chal_len, want);
	if (!iscsi_chap_equal(got, want, dlen)) {
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

static void rx_login_rsp(struct ini *ini, const struct iscsi_bhs *h,
			 const uint8_t *data)
{
	struct ini_op *op = ini->login_op;
	uint16_t st = (uint16_t)(h->w36 >> 16); /* bytes 36-37 */
	bool transit = (h->flags & ISCSI_LOGIN_F_TRANSIT) != 0;
	bool cont = (h->flags & ISCSI_LOGIN_F_CONTINUE) != 0;

	if (op == NULL || ini->state != INI_S_LOGIN) {
		violation(ini, "Login Response outside login (itt %08x)",
			  h->itt);
		return;
	}
	op->login_status = st;
	ini->exp_statsn = h->w24 + 1;
	ini->statsn_valid = true;
	ini->exp_cmdsn = h->w28;
	ini->max_cmdsn = h->w32;
	if (st != ISCSI_LS_SUCCESS) {
		/* RFC 7143 §11.13.5: the target closes after a failed login. */
		ini->state = INI_S_LOGOUT;
		login_done(ini, INI_DONE);
		return;
	}
	ini->tsih = (uint16_t)h->lun;
	text_acc_add(ini, data, h->data_len);
	if (cont) {
		struct textbuf t = {.len = 0};

		send_login(ini, ini->login_stage, 0, false, &t);
		return;
	}
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
		violation(ini,
			  "negotiated FirstBurstLength %u > MaxBurstLength %u",
			  ini->neg.first_burst, ini->neg.max_burst);
		ini->neg.first_burst = ini->neg.max_burst;
	}
	if (transit && ISCSI_LOGIN_NSG(h->flags) == ISCSI_STAGE_FULL_FEATURE) {
		ini->state = INI_S_FFP;
		ini->digests_live = true;
		ini->cmdsn = ini->exp_cmdsn;
		SIM_TRACE(
			ini->sim,
			"%s logged in: tsih=%u ImmediateData=%d InitialR2T=%d "
			"FirstBurst=%u MaxBurst=%u MaxR2T=%u MaxXmitDSL=%u",
			ini->actor, ini->tsih, ini->neg.immediate_data,
			ini->neg.initial_r2t, ini->neg.first_burst,
			ini->neg.max_burst, ini->neg.max_r2t,
			ini->neg.max_send_dsl);
		login_done(ini, INI_DONE);
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

/* ------------------------------------------------------- connection */

static void on_readable(void *ctx);
static void on_writable(void *ctx)
{
	tx_flush(ctx);
}
static void on_closed(void *ctx, int err);

static const struct env_conn_handler ini_handler = {on_readable, on_writable,
						    on_closed};

static void connected(void *arg, struct env_conn *c, int err)
{
	struct ini *ini = arg;

	if (ini->state != INI_S_CONNECTING) {
		if (c != NULL)
			sim_conn_close(c);
		return;
	}
	if (c == NULL) {
		ini->state = INI_S_DOWN;
		SIM_TRACE(ini->sim, "%s connect failed: %d", ini->actor, err);
		login_done(ini, INI_DROPPED);
		return;
	}
	ini->c = c;
	ini->conn_id = sim_conn_id(c);
	ini->state = INI_S_LOGIN;
	sim_conn_set_handler(c, &ini_handler, ini);
	login_security(ini);
}

void ini_login(struct ini *ini, struct ini_op *op, const char *portal,
	       const char *target, bool discovery)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->state != INI_S_DOWN || ini->login_op != NULL) {
		op_finish(ini, op, INI_NOT_SENT);
		return;
	}
	snprintf(ini->portal, sizeof(ini->portal), "%s", portal);
	snprintf(ini->target, sizeof(ini->target), "%s", target ? target : "");
	ini->discovery = discovery;
	ini->login_op = op;
	op->itt = ini->next_itt++;
	op->sent = true;
	ini->state = INI_S_CONNECTING;
	ini->tsih = 0; /* a new session; same ISID reinstates */
	ini->statsn_valid = false;
	ini->exp_statsn = 0;
	ini->cmdsn = 1;
	ini->exp_cmdsn = 1;
	ini->max_cmdsn = 1;
	ini->rpos = 0;
	ini->rhave_bhs = false;
	ini->tx_len = ini->tx_off = 0;
	ini->text_acc_len = 0;
	ini->digests_live = false;
	params_default(&ini->neg);
	SIM_TRACE(ini->sim, "%s connects to %s (%s%s)", ini->actor, portal,
		  discovery ? "discovery" : "target ",
		  discovery ? "" : ini->target);
	sim_connect(ini->sim, ini->host, portal, connected, ini);
}

/* Drop every op: the connection is gone.  Ops waiting for the window
 * were never sent: they are dropped too (the session is gone). */
static void ini_conn_lost(struct ini *ini, const char *why)
{
	struct ini_op *op;

	SIM_TRACE(ini->sim, "%s connection c%llu lost: %s", ini->actor,
		  (unsigned long long)ini->conn_id, why);
	if (ini->c != NULL) {
		sim_conn_close(ini->c);
		ini->c = NULL;
	}
	ini->state = INI_S_DOWN;
	ini->tx_len = ini->tx_off = 0;
	ini->rpos = 0;
	ini->rhave_bhs = false;
	login_done(ini, INI_DROPPED);
	while ((op = TAILQ_FIRST(&ini->ops)) != NULL) {
		TAILQ_REMOVE(&ini->ops, op, link);
		op_finish(ini, op,
			  op->kind == INI_OP_LOGOUT ? INI_DONE : INI_DROPPED);
	}
	while ((op = TAILQ_FIRST(&ini->waitq)) != NULL) {
		TAILQ_REMOVE(&ini->waitq, op, link);
		op_finish(ini, op, INI_DROPPED);
	}
}

static void on_closed(void *ctx, int err)
{
	struct ini *ini = ctx;

	ini_conn_lost(ini, err ? "reset" : "closed by target");
}

void ini_disconnect(struct ini *ini)
{
	if (ini->c != NULL)
		ini_conn_lost(ini, "initiator closes");
}

void ini_reset(struct ini *ini)
{
	if (ini->c == NULL)
		return;
	sim_conn_reset(ini->c);
	ini_conn_lost(ini, "initiator RST");
}

void ini_vanish(struct ini *ini)
{
	if (ini->c == NULL)
		return;
	sim_conn_vanish(ini->c);
	ini->c = NULL;
	ini_conn_lost(ini, "initiator vanished");
}

void ini_half_close(struct ini *ini)
{
	if (ini->c != NULL)
		sim_conn_shutdown_write(ini->c);
}

/* ------------------------------------------------------ FFP sending */

static bool window_open(const struct ini *ini)
{
	return sna_le(ini->cmdsn, ini->max_cmdsn);
}

static void fill_common(struct ini *ini, struct iscsi_bhs *h, uint8_t opcode,
			bool immediate, uint32_t itt)
{
	memset(h, 0, sizeof(*h));
	h->opcode = opcode;
	h->immediate = immediate;
	h->itt = itt;
	h->w28 = ini->exp_statsn;
}

static void send_data_out(struct ini *ini, struct ini_op *op, uint32_t ttt,
			  uint32_t offset, uint32_t len)
{
	uint32_t datasn = 0;
	uint32_t seg = ini->neg.max_send_dsl ? ini->neg.max_send_dsl : 8192;

	while (len > 0) {
		uint32_t n = len < seg ? len : seg;
		struct iscsi_bhs h;

		fill_common(ini, &h, ISCSI_OP_DATA_OUT, false, op->itt);
		h.flags = n == len ? ISCSI_FLAG_FINAL : 0;
		h.lun = iscsi_lun_encode(op->lun);
		h.w20 = ttt;
		h.w36 = datasn++;
		h.w40 = offset;
		send_pdu(ini, &h, op->out + offset, n);
		offset += n;
		len -= n;
	}
}

static void send_scsi(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;
	uint32_t imm = 0, unsol = 0;

	fill_common(ini, &h, ISCSI_OP_SCSI_CMD, false, op->itt);
	if (op->dir_write && op->edtl > 0) {
		uint32_t fb = ini->neg.first_burst < op->edtl
				      ? ini->neg.first_burst
				      : op->edtl;

		if (ini->neg.immediate_data) {
			imm = fb < ini->neg.max_send_dsl
				      ? fb
				      : ini->neg.max_send_dsl;
		}
		if (!ini->neg.initial_r2t)
			unsol = fb - imm;
	}
	h.flags = (uint8_t)((unsol == 0 ? ISCSI_FLAG_FINAL : 0) |
			    (op->dir_read ? ISCSI_CMD_F_READ : 0) |
			    (op->dir_write ? ISCSI_CMD_F_WRITE : 0) | 1);
	h.lun = iscsi_lun_encode(op->lun);
	h.w20 = op->edtl;
	/* A misplaced CmdSN (misbehaviour) does not use up a number: the
	 * target must ignore it, and the next command takes the slot. */
	op->cmdsn = (uint32_t)((int64_t)ini->cmdsn + op->cmdsn_delta);
	if (op->cmdsn_delta == 0)
		ini->cmdsn++;
	h.w24 = op->cmdsn;
	memcpy(h.cdb, op->cdb, 16);
	send_pdu(ini, &h, op->out, imm);
	op->unsol_sent = imm + unsol;
	if (unsol > 0)
		send_data_out(ini, op, ISCSI_RESERVED_TAG, imm, unsol);
}

static void op_send(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	op->sent = true;
	op->send_seq = ++ini->send_seq;
	switch (op->kind) {
	case INI_OP_SCSI:
		send_scsi(ini, op);
		break;
	case INI_OP_TEXT: {
		static const char st[] = "SendTargets=All";

		fill_common(ini, &h, ISCSI_OP_TEXT_REQ, false, op->itt);
		h.flags = ISCSI_FLAG_FINAL;
		h.w20 = ISCSI_RESERVED_TAG;
		op->cmdsn = ini->cmdsn++;
		h.w24 = op->cmdsn;
		send_pdu(ini, &h, st, sizeof(st));
		break;
	}
	default:
		assert(0);
	}
}

/* Issue what the CmdSN window allows, in order. */
static void ini_pump(struct ini *ini)
{
	struct ini_op *op;

	while (ini->state == INI_S_FFP &&
	       (op = TAILQ_FIRST(&ini->waitq)) != NULL &&
	       (window_open(ini) || op->cmdsn_delta != 0)) {
		TAILQ_REMOVE(&ini->waitq, op, link);
		TAILQ_INSERT_TAIL(&ini->ops, op, link);
		op_send(ini, op);
	}
	tx_flush(ini);
	/* Commands wait for a window that only an answer can open; if the
	 * target's answers are gone (tasks a reset of another session ended
	 * silently), ask with an immediate NOP-Out after a second, as real
	 * initiators' NOP-Out pings do (RFC 7143 §11.18). */
	if (ini->state == INI_S_FFP && !TAILQ_EMPTY(&ini->waitq) &&
	    !window_open(ini) && !sim_ev_pending(&ini->probe_ev))
		sim_ev_at(ini->sim, &ini->probe_ev,
			  ini->sim->now_ns + SIM_NS_PER_S);
}

static void probe_fire(struct sim_ev *ev)
{
	struct ini *ini = SIM_CONTAINER_OF(ev, struct ini, probe_ev);

	if (ini->state != INI_S_FFP || TAILQ_EMPTY(&ini->waitq) ||
	    window_open(ini))
		return;
	SIM_TRACE(ini->sim,
		  "%s: CmdSN window closed with commands waiting: "
		  "NOP-Out ping",
		  ini->actor);
	ini_nop(ini, ini_op_new(ini, INI_OP_NOP, NULL, NULL));
	ini_pump(ini);
}

static bool ffp_or_fail(struct ini *ini, struct ini_op *op)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->state != INI_S_FFP || ini->c == NULL) {
		op_finish(ini, op, INI_NOT_SENT);
		return false;
	}
	op->itt = ini->next_itt++;
	if (op->itt == ISCSI_RESERVED_TAG)
		op->itt = ini->next_itt++;
	return true;
}

void ini_scsi(struct ini *ini, struct ini_op *op)
{
	if (!ffp_or_fail(ini, op))
		return;
	if (op->dir_read && op->in == NULL && op->edtl > 0) {
		op->in = calloc(1, op->edtl);
		if (op->in == NULL)
			abort();
	}
	TAILQ_INSERT_TAIL(&ini->waitq, op, link);
	ini_pump(ini);
}

void ini_text_sendtargets(struct ini *ini, struct ini_op *op)
{
	if (!ffp_or_fail(ini, op))
		return;
	TAILQ_INSERT_TAIL(&ini->waitq, op, link);
	ini_pump(ini);
}

void ini_tmf(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_TMF_REQ, true, op->itt);
	h.flags = (uint8_t)(ISCSI_FLAG_FINAL | op->tmf_fn);
	h.lun = iscsi_lun_encode(op->lun);
	h.w20 = op->tmf_fn == ISCSI_TMF_ABORT_TASK ? op->ref_itt
						   : ISCSI_RESERVED_TAG;
	h.w24 = ini->cmdsn;
	h.w32 = op->ref_cmdsn;
	op->sent = true;
	op->send_seq = ++ini->send_seq;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	send_pdu(ini, &h, NULL, 0);
	tx_flush(ini);
}

void ini_nop(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_NOP_OUT, true, op->itt);
	h.flags = ISCSI_FLAG_FINAL;
	h.w20 = ISCSI_RESERVED_TAG;
	h.w24 = ini->cmdsn;
	op->sent = true;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	send_pdu(ini, &h, NULL, 0);
	tx_flush(ini);
}

void ini_logout(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_LOGOUT_REQ, true, op->itt);
	h.flags = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	h.w20 = (uint32_t)ini->cid << 16;
	h.w24 = ini->cmdsn;
	op->sent = true;
	ini->state = INI_S_LOGOUT;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	send_pdu(ini, &h, NULL, 0);
	tx_flush(ini);
}

/* A raw PDU: sent byte for byte, in any state with a connection.  Its
 * ITT (bytes 16-19) is what an answer or a Reject will name. */
void ini_raw(struct ini *ini, struct ini_op *op)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->c == NULL) {
		op_finish(ini, op, INI_NOT_SENT);
		return;
	}
	op->itt = op->raw_len >= 20 ? be32_get(op->raw + 16)
				    : ISCSI_RESERVED_TAG;
	op->sent = true;
	SIM_TRACE(ini->sim, "%s -> raw %u bytes (opcode 0x%02x itt=%08x)",
		  ini->actor, op->raw_len, op->raw_len ? op->raw[0] & 0x3f : 0,
		  op->itt);
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	tx_put(ini, op->raw, op->raw_len);
	tx_flush(ini);
}

/* ------------------------------------------------------ FFP receive */

/* RFC 7143 §4.2.2.1: ExpCmdSN and MaxCmdSN advance; on one connection
 * they arrive in order, so going back is a target bug. */
static void update_window(struct ini *ini, const struct iscsi_bhs *h)
{
	uint32_t exp = h->w28, max = h->w32;

	if (sna_lt(exp, ini->exp_cmdsn))
		violation(ini, "%s: ExpCmdSN went back from %u to %u",
			  ini_opcode_name(h->opcode), ini->exp_cmdsn, exp);
	if (sna_lt(max + 1, exp))
		violation(ini, "%s: MaxCmdSN %u < ExpCmdSN-1 (%u)",
			  ini_opcode_name(h->opcode), max, exp);
	if (sna_lt(ini->exp_cmdsn, exp))
		ini->exp_cmdsn = exp;
	if (sna_lt(ini->max_cmdsn, max))
		ini->max_cmdsn = max;
}

/* StatSN: status-bearing PDUs carry exactly ExpStatSN (§4.2.2.2). */
static void take_statsn(struct ini *ini, const struct iscsi_bhs *h,
			bool advances)
{
	uint32_t sn = h->w24;

	if (!ini->statsn_valid) {
		ini->exp_statsn = sn + (advances ? 1 : 0);
		ini->statsn_valid = true;
		return;
	}
	if (advances) {
		if (sn != ini->exp_statsn)
			violation(ini, "%s itt=%08x: StatSN %u, expected %u",
				  ini_opcode_name(h->opcode), h->itt, sn,
				  ini->exp_statsn);
		if (!sna_lt(sn, ini->exp_statsn))
			ini->exp_statsn = sn + 1;
	} else if (sna_lt(sn, ini->exp_statsn)) {
		violation(ini, "%s: StatSN %u went back (expected %u)",
			  ini_opcode_name(h->opcode), sn, ini->exp_statsn);
	}
}

static void check_sense(struct ini *ini, struct ini_op *op)
{
	if (op->response != 0)
		return;
	if (op->status == 0x02 && op->sense_len < 8)
		violation(ini, "itt=%08x CHECK CONDITION without sense data",
			  op->itt);
	if (op->status != 0x02 && op->sense_len > 0)
		violation(ini, "itt=%08x sense data with status 0x%02x",
			  op->itt, op->status);
	if (op->sense_len >= 8 && (op->sense[0] & 0x7e) != 0x70 &&
	    (op->sense[0] & 0x7e) != 0x72)
		violation(ini, "itt=%08x bad sense response code 0x%02x",
			  op->itt, op->sense[0]);
}

static void scsi_finish(struct ini *ini, struct ini_op *op, uint8_t flags,
			uint32_t residual)
{
	op->rsp_flags = flags;
	op->residual = residual;
	check_sense(ini, op);
	TAILQ_REMOVE(&ini->ops, op, link);
	op_finish(ini, op, INI_DONE);
}

static void rx_scsi_rsp(struct ini *ini, const struct iscsi_bhs *h,
			const uint8_t *data)
{
	struct ini_op *op = op_by_itt(ini, h->itt);

	take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI) {
		violation(ini, "SCSI Response for unknown itt %08x", h->itt);
		return;
	}
	op->response = h->b2;
	op->status = h->b3;
	if (h->data_len >= 2) {
		uint16_t sl = be16_get(data);

		if (sl > h->data_len - 2 || sl > sizeof(op->sense)) {
			violation(ini,
				  "itt=%08x SenseLength %u exceeds segment %u",
				  h->itt, sl, h->data_len);
			sl = 0;
		}
		memcpy(op->sense, data + 2, sl);
		op->sense_len = sl;
	}
	scsi_finish(ini, op, h->flags, h->w44);
}

static void rx_data_in(struct ini *ini, const struct iscsi_bhs *h,
		       const uint8_t *data)
{
	struct ini_op *op = op_by_itt(ini, h->itt);
	uint32_t off = h->w40;
	bool status = (h->flags & ISCSI_DATAIN_F_STATUS) != 0;

	if (status)
		take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI || !op->dir_read) {
		violation(ini, "Data-In for unknown or non-read itt %08x",
			  h->itt);
		return;
	}
	if (h->w36 != op->next_datasn)
		violation(ini, "itt=%08x DataSN %u, expected %u", h->itt,
			  h->w36, op->next_datasn);
	op->next_datasn = h->w36 + 1;
	if (h->data_len > ini->neg.max_recv_dsl)
		violation(ini, "Data-In of %u bytes > our MaxRecvDSL %u",
			  h->data_len, ini->neg.max_recv_dsl);
	if ((uint64_t)off + h->data_len > op->edtl) {
		violation(ini, "itt=%08x Data-In [%u,+%u) beyond EDTL %u",
			  h->itt, off, h->data_len, op->edtl);
	} else if (h->data_len > 0) {
		memcpy(op->in + off, data, h->data_len);
		if (off + h->data_len > op->in_len)
			op->in_len = off + h->data_len;
	}
	if (status) {
		op->response = 0;
		op->status = h->b3;
		scsi_finish(ini, op, h->flags, h->w44);
	}
}

static void rx_r2t(struct ini *ini, const struct iscsi_bhs *h)
{
	struct ini_op *op = op_by_itt(ini, h->itt);
	uint32_t off = h->w40, len = h->w44;

	take_statsn(ini, h, false);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI || !op->dir_write) {
		violation(ini, "R2T for unknown or non-write itt %08x", h->itt);
		return;
	}
	if (op->vanish_at_r2t) {
		SIM_TRACE(ini->sim, "%s vanishes at R2T for itt=%08x",
			  ini->actor, op->itt);
		ini_vanish(ini);
		return;
	}
	if (len > ini->neg.max_burst)
		violation(ini, "R2T asks %u bytes > MaxBurstLength %u", len,
			  ini->neg.max_burst);
	if ((uint64_t)off + len > op->edtl || len == 0) {
		violation(ini, "R2T [%u,+%u) outside EDTL %u", off, len,
			  op->edtl);
		return;
	}
	if (off < op->unsol_sent)
		violation(ini, "R2T offset %u inside unsolicited data (%u)",
			  off, op->unsol_sent);
	send_data_out(ini, op, h->w20, off, len);
	tx_flush(ini);
}

static void rx_nop_in(struct ini *ini, const struct iscsi_bhs *h)
{
	update_window(ini, h);
	if (h->itt != ISCSI_RESERVED_TAG) {
		struct ini_op *op = op_by_itt(ini, h->itt);

		take_statsn(ini, h, true);
		if (op == NULL || op->kind != INI_OP_NOP) {
			violation(ini, "NOP-In for unknown itt %08x", h->itt);
			return;
		}
		TAILQ_REMOVE(&ini->ops, op, link);
		op_finish(ini, op, INI_DONE);
		return;
	}
	take_statsn(ini, h, false);
	if (h->w20 == ISCSI_RESERVED_TAG)
		return; /* no answer wanted */
	if (ini->event)
		ini->event(ini->hook_arg, ini, "nop-in");
	if (ini->ignore_nopin) {
		SIM_TRACE(ini->sim, "%s ignores NOP-In ttt=%08x", ini->actor,
			  h->w20);
		return;
	}
	{
		struct iscsi_bhs o;

		fill_common(ini, &o, ISCSI_OP_NOP_OUT, true,
			    ISCSI_RESERVED_TAG);
		o.flags = ISCSI_FLAG_FINAL;
		o.lun = h->lun;
		o.w20 = h->w20;
		o.w24 = ini->cmdsn;
		send_pdu(ini, &o, NULL, 0);
		tx_flush(ini);
	}
}

/* Ops a completed TMF aborted get no response of their own (RFC 7143
 * §11.5.1): finish them as ABORTED here. */
static void tmf_aborts(struct ini *ini, const struct ini_op *tmf)
{
	struct ini_op *op, *next;

	if (tmf->response != ISCSI_TMF_RSP_COMPLETE)
		return;
	for (op = TAILQ_FIRST(&ini->ops); op != NULL; op = next) {
		bool hit = false;

		next = TAILQ_NEXT(op, link);
		/* Only tasks sent before the TMF are in its scope. */
		if (op->kind != INI_OP_SCSI || op->send_seq > tmf->send_seq)
			continue;
		switch (tmf->tmf_fn) {
		case ISCSI_TMF_ABORT_TASK:
			hit = op->itt == tmf->ref_itt;
			break;
		case ISCSI_TMF_ABORT_TASK_SET:
		case ISCSI_TMF_CLEAR_TASK_SET:
		case ISCSI_TMF_LOGICAL_UNIT_RESET:
			hit = op->lun == tmf->lun;
			break;
		case ISCSI_TMF_TARGET_WARM_RESET:
		case ISCSI_TMF_TARGET_COLD_RESET:
			hit = true;
			break;
		}
		if (hit) {
			TAILQ_REMOVE(&ini->ops, op, link);
			op_finish(ini, op, INI_ABORTED);
		}
	}
}

static void rx_simple_rsp(struct ini *ini, const struct iscsi_bhs *h,
			  const uint8_t *data)
{
	struct ini_op *op = op_by_itt(ini, h->itt);

	take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL) {
		violation(ini, "%s for unknown itt %08x",
			  ini_opcode_name(h->opcode), h->itt);
		return;
	}
	op->response = h->b2;
	op->rsp_opcode = h->opcode;
	if (h->opcode == ISCSI_OP_TEXT_RSP) {
		text_acc_add(ini, data, h->data_len);
		if (h->flags & ISCSI_TEXT_F_CONTINUE) {
			struct iscsi_bhs o;

			fill_common(ini, &o, ISCSI_OP_TEXT_REQ, false, op->itt);
			o.flags = ISCSI_FLAG_FINAL;
			o.w20 = h->w20;
			o.w24 = ini->cmdsn;
			send_pdu(ini, &o, NULL, 0);
			tx_flush(ini);
			return;
		}
		op->text = malloc(ini->text_acc_len + 1);
		if (op->text == NULL)
			abort();
		memcpy(op->text, ini->text_acc ? ini->text_acc : "",
		       ini->text_acc_len);
		op->text[ini->text_acc_len] = '\0';
		op->text_len = ini->text_acc_len;
		ini->text_acc_len = 0;
	}
	TAILQ_REMOVE(&ini->ops, op, link);
	if (h->opcode == ISCSI_OP_TMF_RSP)
		tmf_aborts(ini, op);
	op_finish(ini, op, INI_DONE);
	/* RFC 7143 §11.15: after the Logout Response the connection is
	 * done; the initiator closes its side. */
	if (h->opcode == ISCSI_OP_LOGOUT_RSP)
		ini_conn_lost(ini, "logged out");
}

static void rx_reject(struct ini *ini, const struct iscsi_bhs *h,
		      const uint8_t *data)
{
	uint32_t itt = h->data_len >= ISCSI_BHS_LEN ? be32_get(data + 16)
						    : ISCSI_RESERVED_TAG;
	struct ini_op *op = op_by_itt(ini, itt);

	take_statsn(ini, h, true);
	update_window(ini, h);
	SIM_TRACE(ini->sim, "%s <- Reject reason 0x%02x for itt=%08x",
		  ini->actor, h->b2, itt);
	if (op == NULL) {
		if (ini->event)
			ini->event(ini->hook_arg, ini, "reject");
		return;
	}
	op->reject_reason = h->b2;
	TAILQ_REMOVE(&ini->ops, op, link);
	op_finish(ini, op, INI_REJECTED);
}

static void rx_async(struct ini *ini, const struct iscsi_bhs *h)
{
	uint8_t event = (uint8_t)(h->w36 >> 24);

	take_statsn(ini, h, true);
	update_window(ini, h);
	SIM_TRACE(ini->sim, "%s <- Async event %u", ini->actor, event);
	if (ini->event)
		ini->event(ini->hook_arg, ini, "async");
	if (event == ISCSI_ASYNC_LOGOUT_REQUEST && ini->auto_logout &&
	    ini->state == INI_S_FFP) {
		struct ini_op *op = ini_op_new(ini, INI_OP_LOGOUT, NULL, NULL);

		op->user = UINT64_MAX; /* internal: freed on completion */
		ini_logout(ini, op);
	}
}

/* A RAW op answered by a PDU with its ITT. */
static bool rx_raw_answer(struct ini *ini, const struct iscsi_bhs *h)
{
	struct ini_op *op = op_by_itt(ini, h->itt);

	if (op == NULL || op->kind != INI_OP_RAW)
		return false;
	op->rsp_opcode = h->opcode;
	op->response = h->b2;
	op->status = h->b3;
	TAILQ_REMOVE(&ini->ops, op, link);
	op_finish(ini, op, INI_DONE);
	return true;
}

static void rx_pdu(struct ini *ini, const struct iscsi_bhs *h,
		   const uint8_t *data)
{
	SIM_TRACE(ini->sim,
		  "%s <- %-10s itt=%08x sn=%u exp=%u max=%u len=%u "
		  "b2=%02x b3=%02x",
		  ini->actor, ini_opcode_name(h->opcode), h->itt, h->w24,
		  h->w28, h->w32, h->data_len, h->b2, h->b3);
	if (h->opcode == ISCSI_OP_LOGIN_RSP) {
		rx_login_rsp(ini, h, data);
		return;
	}
	if (ini->state == INI_S_LOGIN) {
		violation(ini, "%s during login", ini_opcode_name(h->opcode));
		return;
	}
	if (h->opcode != ISCSI_OP_REJECT && rx_raw_answer(ini, h))
		return;
	switch (h->opcode) {
	case ISCSI_OP_SCSI_RSP:
		rx_scsi_rsp(ini, h, data);
		break;
	case ISCSI_OP_DATA_IN:
		rx_data_in(ini, h, data);
		break;
	case ISCSI_OP_R2T:
		rx_r2t(ini, h);
		break;
	case ISCSI_OP_NOP_IN:
		rx_nop_in(ini, h);
		break;
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_LOGOUT_RSP:
		rx_simple_rsp(ini, h, data);
		break;
	case ISCSI_OP_REJECT:
		rx_reject(ini, h, data);
		break;
	case ISCSI_OP_ASYNC_MSG:
		rx_async(ini, h);
		break;
	default:
		violation(ini, "unexpected opcode 0x%02x from target",
			  h->opcode);
		break;
	}
}

/* ------------------------------------------------------- rx framing */

static uint32_t pdu_len(const struct ini *ini, const struct iscsi_bhs *h)
{
	bool ffp = ini->digests_live;

	return (uint32_t)iscsi_pdu_wire_len(h->total_ahs_len, h->data_len,
					    ffp && ini->neg.header_digest,
					    ffp && ini->neg.data_digest);
}

static void rx_complete(struct ini *ini)
{
	struct iscsi_bhs h = ini->rh;
	uint32_t doff = ISCSI_BHS_LEN + h.total_ahs_len * 4u;
	bool ffp = ini->digests_live;

	if (ffp && ini->neg.header_digest) {
		uint8_t tmp[ISCSI_BHS_LEN + ISCSI_MAX_AHS_BYTES];
		uint32_t d;

		memcpy(tmp, ini->rbhs, ISCSI_BHS_LEN);
		memcpy(tmp + ISCSI_BHS_LEN, ini->rdata, doff - ISCSI_BHS_LEN);
		d = iscsi_digest(tmp, doff);
		if (memcmp(&ini->rdata[doff - ISCSI_BHS_LEN], &d, 4) != 0)
			violation(ini, "bad header digest from target");
		doff += 4;
	}
	rx_pdu(ini, &h, ini->rdata + (doff - ISCSI_BHS_LEN));
}

static void on_readable(void *ctx)
{
	struct ini *ini = ctx;
	uint8_t buf[65536];
	ssize_t n = 0;

	while (ini->c != NULL &&
	       (n = sim_conn_recv(ini->c, buf, sizeof(buf))) > 0) {
		uint32_t i = 0;

		while (i < (uint32_t)n && ini->c != NULL) {
			if (!ini->rhave_bhs) {
				uint32_t take = ISCSI_BHS_LEN - ini->rpos;

				if (take > (uint32_t)n - i)
					take = (uint32_t)n - i;
				memcpy(ini->rbhs + ini->rpos, buf + i, take);
				ini->rpos += take;
				i += take;
				if (ini->rpos < ISCSI_BHS_LEN)
					break;
				iscsi_bhs_decode(ini->rbhs, &ini->rh);
				ini->rhave_bhs = true;
				ini->rneed = pdu_len(ini, &ini->rh);
				if (ini->rneed - ISCSI_BHS_LEN > RX_DATA_MAX) {
					violation(ini, "PDU of %u bytes",
						  ini->rneed);
					ini_conn_lost(ini, "oversized PDU");
					return;
				}
				if (ini->rneed - ISCSI_BHS_LEN >
				    ini->rdata_cap) {
					ini->rdata_cap = ini->rneed;
					ini->rdata = realloc(ini->rdata,
							     ini->rdata_cap);
					if (ini->rdata == NULL)
						abort();
				}
			}
			if (ini->rpos < ini->rneed) {
				uint32_t take = ini->rneed - ini->rpos;

				if (take > (uint32_t)n - i)
					take = (uint32_t)n - i;
				memcpy(ini->rdata + (ini->rpos - ISCSI_BHS_LEN),
				       buf + i, take);
				ini->rpos += take;
				i += take;
			}
			if (ini->rpos == ini->rneed) {
				ini->rpos = 0;
				ini->rhave_bhs = false;
				rx_complete(ini);
			}
		}
	}
	if (ini->c != NULL && n < 0) {
		ini_conn_lost(ini, "receive error");
		return;
	}
	/* Answers move MaxCmdSN: issue what waited for the window. */
	if (ini->c != NULL && !TAILQ_EMPTY(&ini->waitq))
		ini_pump(ini);
}
