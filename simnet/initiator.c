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
#include <sys/mman.h>
#include <string.h>

#include "bhs.h"
#include "digest.h"
#include "initiator_int.h"

static void on_closed(void *ctx, int err);
static void on_readable(void *ctx);
static void done_fire(struct sim_ev *ev);

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

void ini_violation(struct ini *ini, const char *fmt, ...)
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
	ini->start_cmdsn = 1;
	ini->auto_logout = true;
	TAILQ_INIT(&ini->ops);
	TAILQ_INIT(&ini->waitq);
	TAILQ_INIT(&ini->heldq);
	TAILQ_INIT(&ini->doneq);
	sim_ev_init(&ini->done_ev, done_fire);
	sim_ev_init(&ini->probe_ev, ini_probe_fire);
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
bool ini_tx_frozen(const struct ini *ini)
{
	return ini->tx_frozen;
}
uint16_t ini_tsih(const struct ini *ini)
{
	return ini->tsih;
}
const uint8_t *ini_isid(const struct ini *ini)
{
	return ini->isid;
}
enum ini_state ini_state(const struct ini *ini)
{
	return ini->state;
}
void ini_set_lun_base(struct ini *ini, uint64_t base)
{
	ini->lun_base = base;
}

struct sim_host *ini_host(struct ini *ini)
{
	return ini->host;
}
const struct ini_params *ini_params(const struct ini *ini)
{
	return &ini->neg;
}
int32_t ini_login_tpgt(const struct ini *ini)
{
	return ini->login_tpgt;
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

void ini_set_hold_r2t(struct ini *ini, bool on)
{
	ini->hold_r2t = on;
}

void ini_set_target_params(struct ini *ini, const struct ut_iscsi_params *p)
{
	ini->tgt_params = p;
}

void ini_set_ignore_nopin(struct ini *ini, bool ignore)
{
	ini->ignore_nopin = ignore;
}

void ini_set_auto_logout(struct ini *ini, bool on)
{
	ini->auto_logout = on;
}

void ini_expect_logout_within(struct ini *ini, uint16_t s)
{
	ini->logout_within_s = s;
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
	TAILQ_FOREACH (op, &ini->heldq, link)
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
	op->logout_cid = -1;		/* a logout names our own connection */
	sim_ev_init(&op->r2t_ev, NULL); /* hold-r2t */
	return op;
}

void ini_op_free(struct ini_op *op)
{
	if (op == NULL)
		return;
	if (op->ini != NULL)
		sim_ev_cancel(op->ini->sim, &op->r2t_ev);
	free(op->out);
	if (op->in_map_len > 0)
		munmap(op->in, op->in_map_len);
	else
		free(op->in);
	free(op->raw);
	free(op->text);
	free(op->text_req);
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

/* The target's promise about its task buffer budget (iscsi_int.h,
 * task.c task_alloc_buf): a command is answered TASK SET FULL only when
 * its session's buffers with it would pass SessionBufferLimit, or all
 * sessions' the 1 GiB budget.  What the session's tasks hold when the
 * command arrives is at most what its initiator sent before it (the
 * connection keeps their order) and had not seen answered when it sent
 * it (a task gives its buffer back before its answer leaves).  What all
 * sessions' tasks hold then is at most what every initiator had
 * outstanding when it was sent, plus everything sent by anyone since
 * (other initiators' commands may arrive first), plus what ended without
 * an answer (its task may live on: counted for good).  A TASK SET FULL
 * below both bounds is certainly wrong -- unless one of the target's
 * allocations failed while the command was out (`target oom`: a buffer
 * it cannot get is all buffers in use, task.c).  And the bookkeeping of
 * an op that ends. */
static void ini_buf_judge(struct ini *ini, struct ini_op *op,
			  enum ini_outcome outcome)
{
	uint64_t limit, all;

	if (!op->buf_counted)
		return;
	op->buf_counted = false;
	assert(ini->buf_bytes >= op->edtl);
	assert(ini->sim->ini_buf_bytes >= op->edtl);
	ini->buf_bytes -= op->edtl;
	ini->sim->ini_buf_bytes -= op->edtl;
	if (outcome == INI_REJECTED)
		ini->buf_limbo += op->edtl;
	if (outcome != INI_DONE && outcome != INI_ABORTED)
		ini->sim->ini_buf_lost += op->edtl;
	if (outcome != INI_DONE || op->status != 0x28 /* TASK SET FULL */ ||
	    ini->tgt_params == NULL || ini->sim->oom.failed > op->oom_mark)
		return;
	limit = ini->tgt_params->session_buffer_limit
			? ini->tgt_params->session_buffer_limit
			: 256ull << 20;
	all = op->buf_all_before + (ini->sim->ini_buf_sent - op->buf_sent_mark);
	if (op->buf_own_before + op->edtl <= limit && all <= 1ull << 30)
		ini_violation(ini,
			      "TASK SET FULL for ITT 0x%x (EDTL %u) though its "
			      "session held at most %llu bytes of its "
			      "SessionBufferLimit %llu and all sessions at "
			      "most %llu of the 1 GiB budget",
			      op->itt, op->edtl,
			      (unsigned long long)op->buf_own_before,
			      (unsigned long long)limit,
			      (unsigned long long)(all - op->edtl));
}

/* Finish op (already unlinked): done() runs from an event. */
void ini_op_finish(struct ini *ini, struct ini_op *op, enum ini_outcome outcome)
{
	ini_buf_judge(ini, op, outcome);
	/* answered: every PDU sent before it on its connection reached the
	 * target (one connection, in order); a Logout ended with its
	 * connection was not answered */
	if (outcome == INI_DONE && op->sent && op->kind != INI_OP_LOGOUT &&
	    op->send_seq > ini->answered_seq)
		ini->answered_seq = op->send_seq;
	op->outcome = outcome;
	op->done_ns = ini->sim->now_ns;
	TAILQ_INSERT_TAIL(&ini->doneq, op, link);
	if (!sim_ev_pending(&ini->done_ev))
		sim_ev_at(ini->sim, &ini->done_ev, ini->sim->now_ns);
}

struct ini_op *ini_op_by_itt(struct ini *ini, uint32_t itt)
{
	struct ini_op *op;

	TAILQ_FOREACH (op, &ini->ops, link)
		if (op->itt == itt)
			return op;
	return NULL;
}

void ini_set_start(struct ini *ini, uint32_t cmdsn, uint32_t expstatsn,
		   uint32_t itt)
{
	ini->start_cmdsn = cmdsn;
	ini->start_expstatsn = expstatsn;
	ini->next_itt = itt;
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
	while ((op = TAILQ_FIRST(&ini->heldq)) != NULL) {
		TAILQ_REMOVE(&ini->heldq, op, link);
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
	free(ini->req_rest);
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

uint64_t ini_tx_stream(const struct ini *ini)
{
	return ini->tx_stream;
}

void ini_tx_put(struct ini *ini, const void *p, size_t n)
{
	/* a PDU was left half sent on purpose (stall-pdu): what follows
	 * would complete it with other bytes */
	if (ini->tx_frozen)
		return;
	ini->tx_stream += n;
	tx_reserve(ini, n);
	memcpy(ini->tx + ini->tx_off + ini->tx_len, p, n);
	ini->tx_len += n;
}

void ini_tx_flush(struct ini *ini)
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
	uint32_t d = sim_digest(p, n);
	uint8_t b[4] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16),
			(uint8_t)(d >> 24)};

	ini_tx_put(ini, b, 4);
}

/* Queue one PDU: BHS (the data length and TotalAHSLength are filled in
 * here), ahs_len bytes of AHS (a multiple of 4, at most 1020), data,
 * padding and digests as negotiated (the header digest covers the BHS and
 * the AHS, RFC 7143 §11.2). */
void ini_send_pdu_ahs(struct ini *ini, struct iscsi_bhs *h, const void *ahs,
		      uint32_t ahs_len, const void *data, uint32_t len)
{
	uint8_t raw[ISCSI_BHS_LEN + ISCSI_MAX_AHS_BYTES];
	static const uint8_t zero[4];
	uint32_t hlen = ISCSI_BHS_LEN + ahs_len;

	assert(ahs_len % 4 == 0 && ahs_len <= ISCSI_MAX_AHS_BYTES);
	h->data_len = len;
	h->total_ahs_len = (uint8_t)(ahs_len / 4);
	sim_bhs_encode(h, raw);
	if (ahs_len > 0)
		memcpy(raw + ISCSI_BHS_LEN, ahs, ahs_len);
	if (!ini->tx_frozen) {
		/* where it goes in our stream (corruption in flight) */
		unsigned int k = ini->txlog_n++ % INI_TXLOG;
		bool hd = ini->neg.header_digest && ini->digests_live;
		bool dd = ini->neg.data_digest && ini->digests_live;

		ini->txlog[k].start = ini->tx_stream;
		ini->txlog[k].hlen = hlen + (hd ? 4u : 0u);
		ini->txlog[k].len =
			(uint32_t)sim_pdu_wire_len(ahs_len / 4, len, hd, dd);
		ini->txlog[k].itt = h->itt;
		ini->txlog[k].dlen = len;
		ini->txlog[k].opcode = h->opcode;
	}
	SIM_TRACE(ini->sim, "%s -> %-10s itt=%08x sn=%u exp=%u len=%u",
		  ini->actor, ini_opcode_name(h->opcode), h->itt, h->w24,
		  h->w28, len);
	ini_tx_put(ini, raw, hlen);
	if (ini->neg.header_digest && ini->digests_live)
		put_digest(ini, raw, hlen);
	if (len > 0) {
		uint32_t pad = sim_pad4(len);

		ini_tx_put(ini, data, len);
		ini_tx_put(ini, zero, pad);
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

void ini_send_pdu(struct ini *ini, struct iscsi_bhs *h, const void *data,
		  uint32_t len)
{
	ini_send_pdu_ahs(ini, h, NULL, 0, data, len);
}

/* ------------------------------------------------------- connection */

static void on_writable(void *ctx)
{
	ini_tx_flush(ctx);
}

static const struct env_conn_handler ini_handler = {on_readable, on_writable,
						    on_closed};

/* A bit flipped in flight on our connection (sim_conn_corrupt): in the
 * target's stream, remembered until its PDU arrives; in ours, the op
 * whose command PDU it hit is marked (scenario_wire.c judges its end). A
 * Data-Out's op may have been answered before its Data-Out arrived, so
 * only command PDUs mark. */
static void corrupt_hook(void *arg, unsigned int dir, uint64_t off)
{
	struct ini *ini = arg;
	bool first;

	if (dir == SIM_FROM_TARGET) {
		if (ini->rx_flip_n <
		    sizeof(ini->rx_flips) / sizeof(ini->rx_flips[0]))
			ini->rx_flips[ini->rx_flip_n++] = off;
		return;
	}
	first = ini->tx_flips++ == 0;
	for (unsigned int i = ini->txlog_n;
	     i-- > 0 && ini->txlog_n - i <= INI_TXLOG;) {
		const unsigned int k = i % INI_TXLOG;
		struct ini_op *op;
		bool hdr;

		if (off < ini->txlog[k].start ||
		    off >= ini->txlog[k].start + ini->txlog[k].len)
			continue;
		hdr = off < ini->txlog[k].start + ini->txlog[k].hlen;
		if (!hdr)
			ini->data_flips++;
		op = ini->txlog[k].itt == ISCSI_RESERVED_TAG
			     ? NULL
			     : ini_op_by_itt(ini, ini->txlog[k].itt);
		SIM_TRACE(ini->sim,
			  "%s: the flip hit the %s of a PDU of itt %08x",
			  ini->actor, hdr ? "header" : "data",
			  ini->txlog[k].itt);
		/* (a data segment past the target's MaxRecvDataSegmentLength
		 * is refused at its header, before a byte of it is read:
		 * Reject 04h, RFC 7143 §13.12) */
		if (!hdr && ini->txlog[k].dlen > ini->neg.max_send_dsl)
			return;
		if (op != NULL && !hdr &&
		    ini->txlog[k].opcode == ISCSI_OP_DATA_OUT)
			op->data_out_flipped = true;
		if (op != NULL && ini->txlog[k].opcode != ISCSI_OP_DATA_OUT) {
			op->first_flip = op->corrupted == 0 && first;
			op->corrupted |= hdr ? INI_CORRUPT_HEADER
					     : INI_CORRUPT_DATA;
		}
		return;
	}
}

bool ini_corrupt(struct ini *ini, unsigned int dirs, unsigned int count)
{
	if (ini->c == NULL || ini->state != INI_S_FFP || !ini->digests_live ||
	    !ini->neg.header_digest || !ini->neg.data_digest)
		return false;
	sim_conn_corrupt(ini->c, dirs, count);
	return true;
}

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
		ini_login_done(ini, INI_DROPPED);
		return;
	}
	ini->c = c;
	ini->conn_id = sim_conn_id(c);
	ini->state = INI_S_LOGIN;
	ini->cold_done = false;
	ini->txlog_n = 0;
	ini->tx_stream = ini->rx_stream = ini->rx_pdu_start = 0;
	ini->rx_flip_n = 0;
	ini->data_flips = 0;
	ini->tx_flips = 0;
	sim_conn_set_corrupt_hook(c, corrupt_hook, ini);
	if (ini->login_op != NULL)
		ini->login_op->conn_up_ns = ini->sim->now_ns;
	sim_conn_set_handler(c, &ini_handler, ini);
	ini_login_security(ini);
}

void ini_login(struct ini *ini, struct ini_op *op, const char *portal,
	       const char *target, bool discovery)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->state != INI_S_DOWN || ini->login_op != NULL) {
		ini_op_finish(ini, op, INI_NOT_SENT);
		return;
	}
	snprintf(ini->portal, sizeof(ini->portal), "%s", portal);
	snprintf(ini->target, sizeof(ini->target), "%s", target ? target : "");
	ini->discovery = discovery;
	ini->login_tpgt = -1;
	ini->login_op = op;
	op->itt = ini->next_itt++;
	if (op->itt == ISCSI_RESERVED_TAG)
		op->itt = ini->next_itt++;
	op->sent = true;
	ini->state = INI_S_CONNECTING;
	ini->tsih = 0; /* a new session; same ISID reinstates */
	ini->statsn_valid = false;
	ini->exp_statsn = ini->start_expstatsn;
	ini->cmdsn = ini->start_cmdsn;
	ini->exp_cmdsn = ini->start_cmdsn;
	ini->max_cmdsn = ini->start_cmdsn;
	ini->rpos = 0;
	ini->rhave_bhs = false;
	ini->tx_len = ini->tx_off = 0;
	ini->text_acc_len = 0;
	ini->digests_live = false;
	ini->tx_frozen = false;
	ini_params_default(&ini->neg);
	SIM_TRACE(ini->sim, "%s connects to %s (%s%s)", ini->actor, portal,
		  discovery ? "discovery" : "target ",
		  discovery ? "" : ini->target);
	sim_connect(ini->sim, ini->host, portal, connected, ini);
}

/* Drop every op: the connection is gone.  Ops waiting for the window
 * or held back (a CmdSN gap) were never sent: they are dropped too (the
 * session is gone).  by_target: the target's FIN ended it (the ops in
 * flight record it: the wire oracle's Reject-before-drop). */
static void conn_lost(struct ini *ini, const char *why, bool by_target)
{
	struct ini_op *op;

	SIM_TRACE(ini->sim, "%s connection c%llu lost: %s", ini->actor,
		  (unsigned long long)ini->conn_id, why);
	if (ini->c != NULL) {
		sim_conn_set_corrupt_hook(ini->c, NULL, NULL);
		sim_conn_close(ini->c);
		ini->c = NULL;
	}
	ini->state = INI_S_DOWN;
	ini->tx_len = ini->tx_off = 0;
	ini->tx_frozen = false;
	free(ini->req_rest);
	ini->req_rest = NULL;
	ini->req_rest_len = ini->req_rest_off = 0;
	ini->rpos = 0;
	ini->rhave_bhs = false;
	ini_login_done(ini, INI_DROPPED);
	while ((op = TAILQ_FIRST(&ini->ops)) != NULL) {
		const struct ini_op *h = ini_first_gap(ini);

		TAILQ_REMOVE(&ini->ops, op, link);
		op->closed_by_target = by_target;
		op->behind_gap = op->kind == INI_OP_SCSI && h != NULL &&
				 !ini_op_misnumbered(op) &&
				 op->imm_over_sent == 0 &&
				 sna_lt(h->cmdsn, op->cmdsn);
		ini_op_finish(ini, op,
			      op->kind == INI_OP_LOGOUT ? INI_DONE
							: INI_DROPPED);
	}
	while ((op = TAILQ_FIRST(&ini->waitq)) != NULL) {
		TAILQ_REMOVE(&ini->waitq, op, link);
		ini_op_finish(ini, op, INI_DROPPED);
	}
	while ((op = TAILQ_FIRST(&ini->heldq)) != NULL) {
		TAILQ_REMOVE(&ini->heldq, op, link);
		ini_op_finish(ini, op, INI_DROPPED);
	}
	/* the session is gone (ErrorRecoveryLevel 0): what its tasks
	 * still hold counts for all sessions (sim->ini_buf_lost) */
	assert(ini->buf_bytes == 0);
	ini->buf_limbo = 0;
}

void ini_conn_lost(struct ini *ini, const char *why)
{
	conn_lost(ini, why, false);
}

static void on_closed(void *ctx, int err)
{
	struct ini *ini = ctx;

	conn_lost(ini, err ? "reset" : "closed by target", err == 0);
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
	sim_conn_set_corrupt_hook(ini->c, NULL, NULL);
	sim_conn_vanish(ini->c);
	ini->c = NULL;
	ini_conn_lost(ini, "initiator vanished");
}

void ini_half_close(struct ini *ini)
{
	if (ini->c != NULL)
		sim_conn_shutdown_write(ini->c);
}

/* ------------------------------------------------------- rx framing */

static uint32_t pdu_len(const struct ini *ini, const struct iscsi_bhs *h)
{
	bool ffp = ini->digests_live;

	return (uint32_t)sim_pdu_wire_len(h->total_ahs_len, h->data_len,
					  ffp && ini->neg.header_digest,
					  ffp && ini->neg.data_digest);
}

/* Did a flip in flight hit the target's stream in [from, from + len)?
 * Those before from + len are forgotten: we are past them. */
static bool rx_flipped(struct ini *ini, uint64_t from, uint64_t len)
{
	bool hit = false;
	unsigned int keep = 0;

	for (unsigned int i = 0; i < ini->rx_flip_n; i++) {
		if (ini->rx_flips[i] >= from && ini->rx_flips[i] < from + len)
			hit = true;
		if (ini->rx_flips[i] >= from + len)
			ini->rx_flips[keep++] = ini->rx_flips[i];
	}
	ini->rx_flip_n = keep;
	return hit;
}

static void rx_complete(struct ini *ini)
{
	struct iscsi_bhs h = ini->rh;
	uint32_t doff = ISCSI_BHS_LEN + h.total_ahs_len * 4u;
	bool ffp = ini->digests_live;
	bool flipped = rx_flipped(ini, ini->rx_pdu_start, ini->rneed);
	bool bad = false;

	if (ffp && ini->neg.header_digest) {
		uint8_t tmp[ISCSI_BHS_LEN + ISCSI_MAX_AHS_BYTES];
		uint32_t d;

		memcpy(tmp, ini->rbhs, ISCSI_BHS_LEN);
		memcpy(tmp + ISCSI_BHS_LEN, ini->rdata, doff - ISCSI_BHS_LEN);
		d = sim_digest(tmp, doff);
		if (memcmp(&ini->rdata[doff - ISCSI_BHS_LEN], &d, 4) != 0) {
			if (!flipped)
				ini_violation(ini,
					      "bad header digest from target");
			bad = true;
		}
		doff += 4;
	}
	if (ffp && ini->neg.data_digest && h.data_len > 0) {
		/* RFC 7143 §7.2: the data digest covers the data and its
		 * padding. */
		const uint8_t *data = ini->rdata + (doff - ISCSI_BHS_LEN);
		uint32_t n = h.data_len + sim_pad4(h.data_len);
		uint32_t d = sim_digest(data, n);

		if (memcmp(data + n, &d, 4) != 0) {
			if (!flipped)
				ini_violation(
					ini, "bad data digest from target (%s)",
					ini_opcode_name(h.opcode));
			bad = true;
		}
	}
	if (flipped && !bad)
		ini_violation(ini,
			      "a %s corrupted in flight passed its digests",
			      ini_opcode_name(h.opcode));
	if (bad) {
		/* RFC 7143 §7.8 at ErrorRecoveryLevel 0: the PDU is lost,
		 * and with it the connection */
		ini_conn_lost(ini, flipped ? "a PDU corrupted in flight "
					     "failed its digest"
					   : "bad digest from target");
		return;
	}
	ini_rx_pdu(ini, &h, ini->rdata + (doff - ISCSI_BHS_LEN));
}

static void on_readable(void *ctx)
{
	struct ini *ini = ctx;
	uint8_t buf[65536];
	ssize_t n = 0;

	while (ini->c != NULL &&
	       (n = sim_conn_recv(ini->c, buf, sizeof(buf))) > 0) {
		uint32_t i = 0;
		uint64_t base = ini->rx_stream;

		ini->rx_stream += (uint64_t)n;
		while (i < (uint32_t)n && ini->c != NULL) {
			if (!ini->rhave_bhs && ini->rpos == 0)
				ini->rx_pdu_start = base + i;
			if (!ini->rhave_bhs) {
				uint32_t take = ISCSI_BHS_LEN - ini->rpos;

				if (take > (uint32_t)n - i)
					take = (uint32_t)n - i;
				memcpy(ini->rbhs + ini->rpos, buf + i, take);
				ini->rpos += take;
				i += take;
				if (ini->rpos < ISCSI_BHS_LEN)
					break;
				if (ini->digests_live &&
				    ini->neg.header_digest &&
				    rx_flipped(ini, ini->rx_pdu_start,
					       ISCSI_BHS_LEN)) {
					/* its lengths cannot be trusted: the
					 * header digest will fail (§7.8) */
					ini_conn_lost(ini, "a BHS corrupted in "
							   "flight");
					return;
				}
				sim_bhs_decode(ini->rbhs, &ini->rh);
				ini->rhave_bhs = true;
				ini->rneed = pdu_len(ini, &ini->rh);
				if (ini->rneed - ISCSI_BHS_LEN > RX_DATA_MAX) {
					ini_violation(ini, "PDU of %u bytes",
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
