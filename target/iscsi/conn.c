/*
 * conn.c — one iSCSI connection: its life (accept, login clock,
 * keepalive, close) and receive framing.  conn_tx.c holds the transmit
 * queue.
 *
 * Receive (RFC 7143 §11.2): the byte stream is cut into PDUs by a small
 * state machine; every stage knows exactly how many bytes it needs, so a
 * PDU may arrive one byte at a time or many PDUs at once.
 *
 *     RX_BHS(48) -> RX_AHS(TotalAHSLength*4) -> RX_HDIGEST(4)
 *       -> [header checks; choose where the data goes]
 *       -> RX_DATA(DataSegmentLength) -> RX_PAD(0..3) -> RX_DDIGEST(4)
 *       -> [dispatch] -> RX_BHS
 *
 * Lengths are validated at the header, before a single data byte is
 * accepted: the data segment goes either straight into a task's buffer at
 * an offset checked against its size, or into the connection's buffer of
 * at most MaxRecvDataSegmentLength bytes.
 *
 * Connection states:  LOGIN -> FFP -> LOGOUT -> CLOSED
 *                       \------> CLOSED (error, peer gone, timeout)
 *                       \------> LOGOUT (login refused)
 * (conn.h; every change is checked against that table).
 *
 * Invariants asserted here: the receive stages take exactly the bytes
 * they asked for and a data segment lands inside the buffer chosen for
 * it; the keepalive timer always comes back, no later than the NOP-In or
 * idle limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void conn_on_readable(void *ctx);
static void conn_on_writable(void *ctx);
static void conn_on_closed(void *ctx, int err);

static const struct env_conn_handler conn_handler = {
	.on_readable = conn_on_readable,
	.on_writable = conn_on_writable,
	.on_closed = conn_on_closed,
};

static bool conn_step_ok(enum iscsi_conn_state from, enum iscsi_conn_state to)
{
	switch (from) {
	case CONN_LOGIN:
		return to == CONN_FFP || to == CONN_LOGOUT || to == CONN_CLOSED;
	case CONN_FFP:
		return to == CONN_LOGOUT || to == CONN_CLOSED;
	case CONN_LOGOUT:
		return to == CONN_CLOSED;
	case CONN_CLOSED:
		return false;
	}
	return false;
}

void iscsi_conn_set_state(struct iscsi_conn *c, enum iscsi_conn_state to)
{
	ut_assert(conn_step_ok(c->state, to));
	ut_assert(!c->closing || to == CONN_CLOSED);
	c->state = to;
}

static void conn_login_timeout(void *arg)
{
	struct iscsi_conn *c = arg;

	iscsi_conn_close(c, "login did not complete in time");
}

static void rx_expect(struct iscsi_conn *c, enum rx_stage st, uint32_t n)
{
	/* each stage fits the buffer rx_dst() gives it */
	ut_assert(st != RX_BHS || n == ISCSI_BHS_LEN || n == 0);
	ut_assert(st != RX_AHS || n <= ISCSI_MAX_AHS_BYTES);
	c->rx_stage = st;
	c->rx_got = 0;
	c->rx_need = n;
}

struct iscsi_conn *iscsi_conn_new(struct env *env, struct iscsi_reactor *r,
				  struct env_conn *ec,
				  const struct env_conn_info *info, uint32_t id,
				  const struct iscsi_conn_phase *phase,
				  void (*closed)(struct iscsi_conn *c))
{
	struct iscsi_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		env->ops->conn_close(ec);
		return NULL;
	}
	c->id = id;
	c->env = env;
	c->r = r;
	c->ec = ec;
	c->info = *info;
	c->phase = phase;
	c->closed = closed;
	c->state = CONN_LOGIN;
	c->max_recv_dsl = ISCSI_LOGIN_MRDSL;
	c->max_xmit_dsl = ISCSI_LOGIN_MRDSL;
	TAILQ_INIT(&c->txq);
	c->tx_wait_since_ns = UINT64_MAX;
	rx_expect(c, RX_BHS, ISCSI_BHS_LEN);
	ut_assert(c->state == CONN_LOGIN);
	ut_assert(!c->closing);
	return c;
}

/* The owner has listed the connection (and its phase its state): start
 * the login clock and take bytes. */
void iscsi_conn_start(struct iscsi_conn *c)
{
	struct env *env = c->env;

	ut_assert(c->state == CONN_LOGIN);
	ut_assert(c->login_timer == NULL); /* started once */
	c->login_timer = env_timer_new(env, conn_login_timeout, c);
	c->flush_timer = env_timer_new(env, iscsi_conn_flush_timer, c);
	if (!c->login_timer || !c->flush_timer) {
		/* Both bound what the connection may hold us to, and the
		 * flush timer is the safe point of iscsi_conn_fail_soon(). */
		iscsi_conn_close(c, "out of memory: no timers");
		return;
	}
	env_timer_arm(env, c->login_timer,
		      env_now_ns(env) + ISCSI_LOGIN_TIMEOUT_NS);
	env->ops->conn_set_handler(c->ec, &conn_handler, c);
	LOG_INFO(env, "event=conn-accepted conn=%u peer=%s portal=%s", c->id,
		 c->info.peer_addr, c->info.local_addr);
}

static bool rx_partial(const struct iscsi_conn *c)
{
	return c->rx_stage != RX_BHS || c->rx_got > 0;
}

/* NOP-In ping (RFC 7143 §11.19): ITT 0xffffffff, a fresh TTT, StatSN
 * not advanced.  The initiator must answer with a NOP-Out echoing the
 * TTT; any PDU from it counts as a sign of life. */
static void conn_send_ping(struct iscsi_conn *c)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_NOP_IN);
	struct iscsi_bhs h = {0};

	ut_assert(c->state == CONN_FFP);
	ut_assert(c->ping_outstanding); /* one ping at a time */
	if (!p)
		return;
	c->ping_ttt = (uint32_t)env_random_u64(c->env) & 0x7fffffff;
	h.opcode = ISCSI_OP_NOP_IN;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = ISCSI_RESERVED_TAG;
	h.ttt = c->ping_ttt;
	h.stat_sn = c->stat_sn;
	c->phase->fill_sn(c, &h);
	p->ping = true;
	c->ping_queued = true;
	iscsi_conn_queue(c, p, &h);
	iscsi_conn_kick(c);
}

static void conn_ka_arm(struct iscsi_conn *c, uint64_t at_ns)
{
	c->ka_due_ns = at_ns;
	env_timer_arm(c->env, c->ka_timer, at_ns);
}

/* Queued bytes have waited idle_ns with none sent: the initiator does
 * not read.  Its answers are queued, so nothing is owed (RspTimeout does
 * not see it), and an initiator that keeps sending never gets a NOP-In
 * ping due; without this it would hold its tasks' buffers for as long as
 * it kept sending. */
static bool conn_tx_stalled(const struct iscsi_conn *c, uint64_t now)
{
	return c->tx_wait_since_ns != UINT64_MAX &&
	       now - c->tx_wait_since_ns >= c->idle_ns;
}

/* After the Logout response is queued only the transmit stall is
 * watched: the connection closes once the response is sent. */
static void conn_ka_logout(struct iscsi_conn *c, uint64_t now)
{
	ut_assert(c->state == CONN_LOGOUT);
	if (conn_tx_stalled(c, now)) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "the initiator does not read: the Logout "
				    "response stalled");
		return;
	}
	conn_ka_arm(c, c->tx_wait_since_ns != UINT64_MAX
			       ? c->tx_wait_since_ns + c->idle_ns
			       : now + c->idle_ns);
}

/* One timer watches the connection's health:
 *  - an answer owed for RspTimeout (a task or TMF the target accepted and
 *    has not answered): drop the connection, the initiator's recovery
 *    (session_liveness in session.c);
 *  - no PDU for NopInInterval: send a NOP-In ping;
 *  - no answer (no bytes at all) within NopInTimeout of the ping's
 *    leaving: drop the connection, which ends its session and tasks
 *    (ERL 0).  A ping queued behind responses the initiator reads
 *    slowly is not timed until it has left (it cannot be answered
 *    before); the transmit stall limit below bounds that wait;
 *  - a PDU begun but stalled for idle_ns: drop the connection;
 *  - queued bytes not sent for idle_ns (the initiator does not read,
 *    also after a Logout response): drop the connection. */
static void conn_ka_fire(void *arg)
{
	struct iscsi_conn *c = arg;
	struct env *env = c->env;
	uint64_t now = env_now_ns(env), next, owed_since;

	if (c->closing)
		return;
	if (c->state == CONN_LOGOUT) {
		conn_ka_logout(c, now);
		return;
	}
	if (c->state != CONN_FFP)
		return;
	if (c->phase->owed_overdue &&
	    c->phase->owed_overdue(c, now, c->rsp_timeout_ns)) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "RspTimeout: an answer owed too long");
		return;
	}
	if (c->ping_outstanding && c->last_rx_ns > c->ping_sent_ns)
		c->ping_outstanding = false;
	if (c->ping_outstanding && !c->ping_queued &&
	    now >= c->ping_sent_ns + c->nop_timeout_ns) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "NOP-In timeout: the initiator is gone");
		return;
	}
	if (rx_partial(c) && now >= c->last_rx_ns + c->idle_ns) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "a PDU stalled half-received");
		return;
	}
	if (conn_tx_stalled(c, now)) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "the initiator does not read: the transmit "
				    "queue stalled");
		return;
	}
	/* one ping in the queue at a time: one answered by other bytes
	 * while still queued is not followed by another until it left */
	if (!c->ping_outstanding && !c->ping_queued && c->nop_interval_ns &&
	    now >= c->last_rx_ns + c->nop_interval_ns) {
		c->ping_outstanding = true;
		c->ping_sent_ns = now;
		conn_send_ping(c);
		if (c->closing)
			return;
	}
	next = c->last_rx_ns + c->idle_ns;
	if (c->ping_queued)
		; /* iscsi_conn_ping_left() arms the ping's timeout */
	else if (c->ping_outstanding)
		next = c->ping_sent_ns + c->nop_timeout_ns;
	else if (c->nop_interval_ns &&
		 c->last_rx_ns + c->nop_interval_ns < next)
		next = c->last_rx_ns + c->nop_interval_ns;
	if (next <= now)
		next = now + c->idle_ns;
	owed_since = c->phase->owed_since ? c->phase->owed_since(c)
					  : UINT64_MAX;
	if (owed_since != UINT64_MAX && owed_since + c->rsp_timeout_ns < next)
		next = owed_since + c->rsp_timeout_ns;
	if (c->tx_wait_since_ns != UINT64_MAX &&
	    c->tx_wait_since_ns + c->idle_ns < next)
		next = c->tx_wait_since_ns + c->idle_ns;
	/* the timer always comes back: in the future, and no later than
	 * the NOP-In or idle limit (liveness of the connection itself) */
	ut_assert(next > now);
	ut_assert(next <= now + c->idle_ns);
	conn_ka_arm(c, next);
}

void iscsi_conn_owed_from(struct iscsi_conn *c, uint64_t since_ns)
{
	uint64_t due = since_ns + c->rsp_timeout_ns;

	if (c->closing || !c->ka_timer || due >= c->ka_due_ns)
		return;
	conn_ka_arm(c, due);
}

/* The task whose data segment is arriving was freed (a reset, an abort,
 * the session's end): the rest of the segment goes to scratch space and
 * the PDU is dropped when complete. */
void iscsi_conn_rx_task_gone(struct iscsi_conn *c, struct iscsi_task *t)
{
	/* a task of this connection's session */
	ut_assert(t != NULL);
	ut_assert(t->sess == c->sess);
	if (c->rx_task != t)
		return;
	c->rx_task = NULL;
	c->rx_ignore = true;
	c->rx_discard = true;
}

void iscsi_conn_ping_left(struct iscsi_conn *c)
{
	uint64_t due;

	ut_assert(c->ping_queued); /* one ping in the queue at a time */
	c->ping_queued = false;
	if (!c->ping_outstanding)
		return; /* bytes came meanwhile: answered already */
	c->ping_sent_ns = env_now_ns(c->env);
	due = c->ping_sent_ns + c->nop_timeout_ns;
	if (!c->closing && c->ka_timer && due < c->ka_due_ns)
		conn_ka_arm(c, due);
}

void iscsi_conn_ping_answered(struct iscsi_conn *c, uint32_t ttt)
{
	if (c->ping_outstanding && ttt == c->ping_ttt)
		c->ping_outstanding = false;
}

void iscsi_conn_enter_ffp(struct iscsi_conn *c,
			  const struct iscsi_conn_phase *phase,
			  const struct ut_iscsi_params *p)
{
	struct env *env = c->env;

	ut_assert(c->ka_timer == NULL);
	ut_assert(c->sess != NULL); /* full feature phase has its session */
	c->phase = phase;
	iscsi_conn_set_state(c, CONN_FFP);
	if (c->login_timer)
		env_timer_cancel(env, c->login_timer);
	c->nop_interval_ns = (uint64_t)p->nop_in_interval_s * 1000000000ull;
	c->nop_timeout_ns =
		(uint64_t)(p->nop_in_timeout_s ? p->nop_in_timeout_s : 30) *
		1000000000ull;
	c->idle_ns = c->nop_timeout_ns;
	c->rsp_timeout_ns =
		(uint64_t)(p->rsp_timeout_s ? p->rsp_timeout_s : 90) *
		1000000000ull;
	c->last_rx_ns = env_now_ns(env);
	c->ka_timer = env_timer_new(env, conn_ka_fire, c);
	if (!c->ka_timer) {
		/* without it nothing bounds a dead peer or an owed answer */
		iscsi_conn_fail_soon(c, "out of memory: no keepalive timer");
		return;
	}
	conn_ka_arm(c,
		    c->last_rx_ns + (c->nop_interval_ns && c->nop_interval_ns <
								   c->idle_ns
					     ? c->nop_interval_ns
					     : c->idle_ns));
}

static void conn_on_writable(void *ctx)
{
	struct iscsi_conn *c = ctx;

	iscsi_conn_flush(c);
}

/* -------------------------------------------------------------- receive */

static void conn_free(struct iscsi_conn *c)
{
	ut_assert(c->ack_n == 0 && c->ack_timer == NULL);
	free(c->ack_waits);
	free(c->rxs);
	free(c->rx_buf);
	free(c->text_in);
	free(c->text_out);
	free(c);
}

void iscsi_conn_close(struct iscsi_conn *c, const char *why)
{
	struct env *env = c->env;

	if (c->closing)
		return;
	iscsi_conn_set_state(c, CONN_CLOSED);
	c->closing = true;
	LOG_INFO(env, "event=conn-closed conn=%u reason=\"%s\"", c->id, why);
	env_timer_free(env, c->login_timer);
	c->login_timer = NULL;
	env_timer_free(env, c->ka_timer);
	c->ka_timer = NULL;
	env_timer_free(env, c->flush_timer);
	c->flush_timer = NULL;
	iscsi_conn_tx_drop(c);
	env->ops->conn_close(c->ec);
	c->ec = NULL;
	/* The environment reset it if bytes from a file were still
	 * unacknowledged (env.h): none will arrive, their ranges may go --
	 * before the session hears of it (its end wants every range of its
	 * nexuses given back: scsi_sess_free). */
	iscsi_conn_acks_check(c, true);
	env_timer_free(env, c->ack_timer);
	c->ack_timer = NULL;
	c->phase->closing(c);
	c->closed(c);
	if (c->in_callback)
		c->dead = true;
	else
		conn_free(c);
}

static void conn_on_closed(void *ctx, int err)
{
	struct iscsi_conn *c = ctx;

	iscsi_conn_close(c, err ? "connection reset" : "peer closed");
}

/* A fatal framing or protocol error: drop the connection. */
static void conn_fail(struct iscsi_conn *c, const char *why)
{
	c->r->stats.conns_dropped++;
	iscsi_conn_close(c, why);
}

static int rx_buf_reserve(struct iscsi_conn *c, uint32_t len)
{
	uint8_t *b;

	/* a data segment within the limit rx_header_done() checked */
	ut_assert(len <= (c->max_recv_dsl > ISCSI_LOGIN_MRDSL
				  ? c->max_recv_dsl
				  : ISCSI_LOGIN_MRDSL));
	if (len <= c->rx_buf_cap)
		return 0;
	b = realloc(c->rx_buf, len);
	if (!b)
		return -ENOMEM;
	c->rx_buf = b;
	c->rx_buf_cap = len;
	ut_assert(c->rx_buf_cap >= len);
	return 0;
}

/* The header is complete (and its digest checked): validate lengths and
 * decide where the data segment goes. */
static void rx_header_done(struct iscsi_conn *c)
{
	struct iscsi_bhs *h = &c->rx_h;
	uint32_t limit = c->state == CONN_FFP ? c->max_recv_dsl
					      : ISCSI_LOGIN_MRDSL;

	ut_assert(c->rx_got == c->rx_need);
	ut_assert(c->rx_stage != RX_DATA && c->rx_stage != RX_PAD &&
		  c->rx_stage != RX_DDIGEST);
	c->r->stats.pdus_rx++;
	c->rx_task = NULL;
	c->rx_discard = false;
	c->rx_data_dst = NULL;
	if (h->data_len > limit) {
		/* RFC 7143 §13.12: a PDU longer than MaxRecvDataSegmentLength
		 * is a protocol error; we cannot resynchronise safely. */
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->rx_bhs);
		iscsi_conn_flush(c);
		conn_fail(c,
			  "data segment longer than MaxRecvDataSegmentLength");
		return;
	}
	if (c->state == CONN_FFP && c->phase->rx_header)
		c->phase->rx_header(c);
	if (c->closing)
		return;
	if (!c->rx_data_dst && h->data_len > 0) {
		if (rx_buf_reserve(c, h->data_len)) {
			conn_fail(c, "out of memory");
			return;
		}
		c->rx_data_dst = c->rx_buf;
	}
	/* a task's buffer was chosen only with room for the segment
	 * (task.c checks it against the buffer) */
	ut_assert(h->data_len == 0 || c->rx_data_dst != NULL);
	ut_assert(c->rx_data_dst != c->rx_buf || h->data_len <= c->rx_buf_cap);
	if (h->data_len > 0)
		rx_expect(c, RX_DATA, h->data_len);
	else
		rx_expect(c, RX_BHS, 0); /* PDU complete */
}

static void rx_pdu_done(struct iscsi_conn *c)
{
	/* After a Logout response is queued, what arrives is dropped. */
	if (c->state == CONN_LOGIN || c->state == CONN_FFP)
		c->phase->rx_pdu(c);
	c->rx_task = NULL; /* the PDU no longer points anywhere */
	/* The layers above copied what they keep of the segment: a buffer
	 * grown for a large one goes, or a peer could make every
	 * connection hold MaxRecvDataSegmentLength for its whole life. */
	if (c->rx_buf_cap > ISCSI_RX_BUF_KEEP) {
		free(c->rx_buf);
		c->rx_buf = NULL;
		c->rx_buf_cap = 0;
		c->rx_data_dst = NULL;
	}
	if (!c->closing)
		rx_expect(c, RX_BHS, ISCSI_BHS_LEN);
}

static bool rx_data_digest_ok(struct iscsi_conn *c)
{
	uint32_t crc = crc32c(~0u, c->rx_data_dst, c->rx_h.data_len);
	uint32_t want;

	crc = crc32c(crc, c->rx_pad, iscsi_pad4(c->rx_h.data_len));
	memcpy(&want, c->rx_digest, 4);
	return ~crc == want;
}

/* A stage finished: move to the next one. */
static void rx_stage_done(struct iscsi_conn *c)
{
	uint32_t pad;

	ut_assert(c->rx_got == c->rx_need); /* the stage is complete */
	ut_assert(!c->closing);
	switch (c->rx_stage) {
	case RX_BHS:
		iscsi_bhs_decode(c->rx_bhs, &c->rx_h);
		if (c->rx_h.total_ahs_len) {
			rx_expect(c, RX_AHS, c->rx_h.total_ahs_len * 4u);
			return;
		}
		/* fall through */
	case RX_AHS:
		if (c->header_digest) {
			rx_expect(c, RX_HDIGEST, ISCSI_DIGEST_LEN);
			return;
		}
		break;
	case RX_HDIGEST: {
		uint32_t crc = crc32c(~0u, c->rx_bhs, ISCSI_BHS_LEN), want;

		crc = ~crc32c(crc, c->rx_ahs, c->rx_h.total_ahs_len * 4u);
		memcpy(&want, c->rx_digest, 4);
		if (crc != want) {
			/* RFC 7143 §7.8: a header digest error at ERL 0 ends
			 * the connection; nothing in the header is trusted. */
			conn_fail(c, "header digest error");
			return;
		}
		break;
	}
	case RX_DATA:
		pad = iscsi_pad4(c->rx_h.data_len);
		if (pad) {
			rx_expect(c, RX_PAD, pad);
			return;
		}
		/* fall through */
	case RX_PAD:
		if (c->data_digest) {
			rx_expect(c, RX_DDIGEST, ISCSI_DIGEST_LEN);
			return;
		}
		rx_pdu_done(c);
		return;
	case RX_DDIGEST:
		/* A discarded segment went to scratch space and cannot be
		 * checked; its header was, and nothing uses its bytes. */
		if (!c->rx_discard && !rx_data_digest_ok(c)) {
			/* RFC 7143 §7.8: discard the PDU and Reject it; at
			 * ERL 0 a lost Data-Out or command cannot be
			 * recovered, so the connection goes too. */
			uint8_t op = c->rx_h.opcode;

			iscsi_send_reject(c, ISCSI_REJECT_DATA_DIGEST,
					  c->rx_bhs);
			if (op == ISCSI_OP_DATA_OUT ||
			    op == ISCSI_OP_SCSI_CMD || c->state != CONN_FFP) {
				iscsi_conn_flush(c);
				conn_fail(c, "data digest error");
			} else {
				rx_expect(c, RX_BHS, ISCSI_BHS_LEN);
			}
			return;
		}
		rx_pdu_done(c);
		return;
	}
	rx_header_done(c);
	if (!c->closing && c->rx_stage == RX_BHS && c->rx_need == 0)
		rx_pdu_done(c);
}

static uint8_t *rx_dst(struct iscsi_conn *c)
{
	ut_assert(c->rx_got < c->rx_need); /* room left in the stage */
	switch (c->rx_stage) {
	case RX_BHS:
		return c->rx_bhs + c->rx_got;
	case RX_AHS:
		return c->rx_ahs + c->rx_got;
	case RX_HDIGEST:
	case RX_DDIGEST:
		return c->rx_digest + c->rx_got;
	case RX_DATA:
		return c->rx_discard ? c->rx_scratch
				     : c->rx_data_dst + c->rx_got;
	case RX_PAD:
		return c->rx_pad + c->rx_got;
	}
	ut_unreachable("a receive stage outside enum rx_stage");
}

/*
 * Receive staging: small pieces (headers, short data) are served from one
 * large recv() into c->rxs, so that a burst of 32 commands costs a couple
 * of system calls rather than 64.  A large data segment with nothing
 * staged goes straight from the socket into the task buffer.
 */
#define RX_STAGE_BYTES 65536
#define RX_DIRECT_MIN 8192

/* Get up to room bytes into dst; 0 = nothing more now, < 0 = dead. */
static ssize_t rx_fill(struct iscsi_conn *c, uint8_t *dst, uint32_t room)
{
	struct env *env = c->env;
	ssize_t n;

	ut_assert(room > 0);
	ut_assert(c->rxs_off <= c->rxs_len);
	if (c->rxs_off < c->rxs_len) {
		uint32_t avail = c->rxs_len - c->rxs_off;
		uint32_t take = avail < room ? avail : room;

		memcpy(dst, c->rxs + c->rxs_off, take);
		c->rxs_off += take;
		return take;
	}
	if (room >= RX_DIRECT_MIN ||
	    (!c->rxs && !(c->rxs = malloc(RX_STAGE_BYTES)))) {
		n = env->ops->conn_recv(c->ec, dst, room);
		c->r->stats.recv_calls += n > 0;
		return n;
	}
	n = env->ops->conn_recv(c->ec, c->rxs, RX_STAGE_BYTES);
	if (n <= 0)
		return n;
	c->r->stats.recv_calls++;
	c->rxs_off = 0;
	c->rxs_len = (uint32_t)n;
	return rx_fill(c, dst, room);
}

static void conn_on_readable(void *ctx)
{
	struct iscsi_conn *c = ctx;
	struct env *env = c->env;
	bool got_bytes = false;

	ut_assert(!c->in_callback); /* callbacks do not nest */
	ut_assert(!c->dead);
	c->in_callback = true;
	while (!c->closing && !c->close_why) {
		uint32_t room = c->rx_need - c->rx_got;
		ssize_t n;

		if (c->rx_stage == RX_DATA && c->rx_discard &&
		    room > sizeof(c->rx_scratch))
			room = sizeof(c->rx_scratch);
		n = rx_fill(c, rx_dst(c), room);
		if (n == 0)
			break;
		if (n < 0) {
			iscsi_conn_close(c, "receive failed");
			break;
		}
		c->rx_got += (uint32_t)n;
		ut_assert(c->rx_got <= c->rx_need); /* never past the stage */
		got_bytes = true;
		if (c->rx_got == c->rx_need)
			rx_stage_done(c);
	}
	if (got_bytes && !c->closing)
		c->last_rx_ns = env_now_ns(env);
	/* the initiator's bytes carry its acks */
	if (got_bytes && !c->closing)
		iscsi_conn_acks_check(c, false);
	c->in_callback = false;
	if (c->dead) {
		conn_free(c);
		return;
	}
	iscsi_conn_flush(c);
}
