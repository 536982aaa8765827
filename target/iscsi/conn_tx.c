/*
 * conn_tx.c — a connection's transmit queue (the connection layer's other
 * half; conn.c receives): PDUs taken from the reactor's pool, given their
 * data, queued with their header, digests and padding built, and sent.
 *
 * The queue is gathered into one send call of up to ISCSI_TX_IOV_MAX
 * iovecs.  A partial send leaves the rest queued until the environment
 * reports the connection writable.  Inside a receive callback the queue
 * is sent once, when the callback ends; after asynchronous completions
 * the flush waits for a timer due "now" (iscsi_conn_kick()).  A data
 * segment that is also a file range (iscsi_txpdu_set_file(), where the
 * environment has conn_send_file) ends a gather: the iovecs before it
 * and the range go in one conn_send_file call.
 *
 * Out of memory for a PDU the target must send closes the connection at
 * the next flush (iscsi_conn_fail_soon()): the one policy for every PDU.
 *
 * Invariants asserted here: the transmit queue's counters (PDUs, PDUs of
 * no task and their bytes) match the queue; in full feature phase the
 * StatSN, ExpCmdSN and MaxCmdSN of the PDUs queued never go back (RFC
 * 7143 §4.2.2.1, §4.2.2.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* Every PDU the target sends is owed to the initiator: a response, a
 * ping it must answer, a Reject that ends a request.  When one cannot be
 * allocated the connection is closed (at the next flush), whatever the
 * PDU: the initiator recovers from a dropped connection (it retries on a
 * new session), never from an answer that silently did not come. */
struct iscsi_txpdu *iscsi_txpdu_new(struct iscsi_conn *c, uint8_t opcode)
{
	struct iscsi_txpdu *t;

	if (c->closing || c->close_why)
		return NULL; /* going anyway: nothing more is sent */
	t = pool_obj_get(&c->r->pdu_pool);
	if (!t)
		iscsi_conn_fail_soon(c,
				     opcode == ISCSI_OP_DATA_IN
					     ? "out of memory for a Data-In PDU"
					     : "out of memory for a PDU");
	ut_assert(!t || !t->queued);
	ut_assert(!t || (!t->task && !t->owned)); /* zeroed by the pool */
	ut_assert(c->state != CONN_CLOSED);
	return t;
}

void iscsi_conn_fail_soon(struct iscsi_conn *c, const char *why)
{
	if (c->closing || c->close_why)
		return;
	c->close_why = why;
	c->r->stats.conns_dropped++;
	LOG_WARN(c->env, "event=conn-error conn=%u reason=\"%s\"", c->id, why);
	/* The flush timer is due now; inside a receive callback the
	 * callback's own flush comes first. */
	iscsi_conn_kick(c);
}

void iscsi_pools_drain(struct iscsi_reactor *r)
{
	pool_buf_drain(&r->bufs);
	pool_obj_drain(&r->task_pool);
	pool_obj_drain(&r->pdu_pool);
}

void iscsi_txpdu_set_data(struct iscsi_txpdu *t, const uint8_t *data,
			  uint32_t len, uint8_t *owned)
{
	t->data = data;
	t->data_len = len;
	t->owned = owned;
}

void iscsi_txpdu_set_file(struct iscsi_conn *c, struct iscsi_txpdu *t, int fd,
			  uint64_t off)
{
	ut_assert(!t->queued && !t->file);
	/* the same bytes, in memory too, borrowed */
	ut_assert(t->data_len > 0 && t->data && t->owned == NULL);
	ut_assert(fd >= 0 || fd == ENV_FD_ZEROS);
	if (!c->env->ops->conn_send_file || c->data_digest)
		return;
	t->file = true;
	t->file_fd = fd;
	t->file_off = off;
}

int iscsi_txpdu_copy_data(struct iscsi_txpdu *t, const void *data, uint32_t len)
{
	uint8_t *d;

	if (len == 0)
		return 0;
	ut_assert(!t->queued);
	ut_assert(t->owned == NULL); /* data given once */
	if (len <= sizeof(t->inl)) { /* Rejects, short texts and pings */
		memcpy(t->inl, data, len);
		iscsi_txpdu_set_data(t, t->inl, len, NULL);
		return 0;
	}
	d = malloc(len);
	if (!d)
		return -ENOMEM;
	memcpy(d, data, len);
	iscsi_txpdu_set_data(t, d, len, d);
	return 0;
}

void iscsi_txpdu_discard(struct iscsi_conn *c, struct iscsi_txpdu *t)
{
	ut_assert(!t->queued); /* never queued: nothing counts it */
	free(t->owned);
	pool_obj_put(&c->r->pdu_pool, t);
}

static void txpdu_free(struct iscsi_conn *c, struct iscsi_txpdu *t)
{
	if (!t->task && t->queued) {
		ut_assert(c->tx_untied_pdus > 0);
		ut_assert(c->tx_untied_bytes >= t->data_len);
		c->tx_untied_pdus--;
		c->tx_untied_bytes -= t->data_len;
	}
	if (t->task)
		c->phase->tx_untie(t);
	free(t->owned);
	pool_obj_put(&c->r->pdu_pool, t);
}

/* RFC 7143 §4.2.2.1-2: in full feature phase the PDUs we queue carry
 * ExpCmdSN and MaxCmdSN that never go back, and a StatSN (every PDU but
 * a Data-In without status) that never goes back and never passes the
 * next one to give. */
static void conn_check_tx_sn(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	bool has_statsn = h->opcode != ISCSI_OP_DATA_IN ||
			  (h->flags & ISCSI_DATAIN_F_STATUS);

	if (c->tx_cmdsn_valid) {
		ut_assert(sna_le(c->tx_last_exp_cmdsn, h->exp_cmdsn));
		ut_assert(sna_le(c->tx_last_max_cmdsn, h->max_cmdsn));
	}
	c->tx_cmdsn_valid = true;
	c->tx_last_exp_cmdsn = h->exp_cmdsn;
	c->tx_last_max_cmdsn = h->max_cmdsn;
	if (!has_statsn)
		return;
	ut_assert(sna_le(h->stat_sn, c->stat_sn));
	if (c->tx_statsn_valid)
		ut_assert(sna_le(c->tx_last_statsn, h->stat_sn));
	c->tx_statsn_valid = true;
	c->tx_last_statsn = h->stat_sn;
}

/* Build the header bytes, digests and padding, then queue. */
void iscsi_conn_queue(struct iscsi_conn *c, struct iscsi_txpdu *t,
		      const struct iscsi_bhs *h)
{
	struct iscsi_bhs hh = *h;
	uint32_t pad;

	ut_assert(!t->queued); /* queued once */
	ut_assert(!t->task || t->data_len > 0);
	if (c->closing || c->close_why) {
		txpdu_free(c, t);
		return;
	}
	if (c->state == CONN_FFP || c->state == CONN_LOGOUT)
		conn_check_tx_sn(c, h);
	hh.data_len = t->data_len;
	iscsi_bhs_encode(&hh, t->hdr);
	t->hdr_len = ISCSI_BHS_LEN;
	if (c->header_digest) {
		uint32_t d = iscsi_digest(t->hdr, ISCSI_BHS_LEN);

		memcpy(t->hdr + ISCSI_BHS_LEN, &d, 4);
		t->hdr_len += ISCSI_DIGEST_LEN;
	}
	pad = iscsi_pad4(t->data_len);
	memset(t->trailer, 0, sizeof(t->trailer));
	t->trailer_len = t->data_len ? pad : 0;
	if (t->data_len && c->data_digest) {
		uint32_t crc = crc32c(~0u, t->data, t->data_len);
		uint32_t d;

		crc = crc32c(crc, t->trailer, pad);
		d = ~crc;
		memcpy(t->trailer + pad, &d, 4);
		t->trailer_len += ISCSI_DIGEST_LEN;
	}
	ut_assert(t->hdr_len <= sizeof(t->hdr));
	ut_assert(t->trailer_len <= sizeof(t->trailer));
	TAILQ_INSERT_TAIL(&c->txq, t, link);
	t->queued = true;
	c->tx_queued++;
	c->r->stats.pdus_tx++;
	/* PDUs that belong to no task (NOP-In echoes, Rejects, Text and TMF
	 * responses) are not bounded by the CmdSN window: a peer that keeps
	 * sending and never reads would grow this queue without end. */
	if (!t->task) {
		c->tx_untied_pdus++;
		c->tx_untied_bytes += t->data_len;
		if (c->tx_untied_pdus > ISCSI_TX_UNTIED_PDUS_MAX ||
		    c->tx_untied_bytes > ISCSI_TX_UNTIED_BYTES_MAX)
			c->tx_overflow = true;
	}
	/* No flush here: the caller may still hold pointers into c.  The
	 * queue is sent at the end of the receive callback, or by whoever
	 * queued from outside one (iscsi_conn_kick()). */
}

/* Completions arrive in batches (a ring's worth of CQEs per reactor
 * iteration): rather than one send call per completed command, the flush
 * is deferred to a timer due "now", which the environment fires after the
 * batch.  32 reads completing together leave in one sendmsg. */
void iscsi_conn_flush_timer(void *arg)
{
	struct iscsi_conn *c = arg;

	c->flush_pending = false;
	iscsi_conn_flush(c);
}

void iscsi_conn_kick(struct iscsi_conn *c)
{
	struct env *env = c->env;

	if (c->in_callback || c->flush_pending || c->closing)
		return;
	if (!c->flush_timer) {
		iscsi_conn_flush(c);
		return;
	}
	c->flush_pending = true;
	env_timer_arm(env, c->flush_timer, env_now_ns(env));
}

/* A data segment sent from a file, after the iovecs gathered. */
struct tx_file {
	int fd;
	uint64_t off, len; /* len 0: none */
};

/* Gather up to ISCSI_TX_IOV_MAX iovecs of queued, unsent bytes, up to
 * and including the first data segment that goes from a file (*file);
 * *all says whether that is the whole queue. */
static int tx_gather(struct iscsi_conn *c, struct iovec *iov, bool *all,
		     struct tx_file *file)
{
	int n = 0;
	struct iscsi_txpdu *t;

	*all = true;
	file->len = 0;
	TAILQ_FOREACH (t, &c->txq, link) {
		const uint8_t *part[3] = {t->hdr, t->data, t->trailer};
		uint64_t len[3] = {t->hdr_len, t->data_len, t->trailer_len};
		uint64_t skip = t->sent;

		if (n + 3 > ISCSI_TX_IOV_MAX) {
			*all = false;
			break;
		}
		for (int i = 0; i < 3 && file->len == 0; i++) {
			if (skip >= len[i]) {
				skip -= len[i];
				continue;
			}
			if (i == 1 && t->file) {
				/* the rest of the segment, from the file;
				 * the gather ends with it */
				file->fd = t->file_fd;
				file->off = t->file_off + skip;
				file->len = len[i] - skip;
				skip = 0;
				break;
			}
			iov[n].iov_base = (void *)(part[i] + skip);
			iov[n].iov_len = (size_t)(len[i] - skip);
			skip = 0;
			n++;
		}
		/* a PDU in the queue has bytes left to send */
		ut_assert(skip == 0);
		if (file->len) {
			*all = t->trailer_len == 0 && !TAILQ_NEXT(t, link);
			break;
		}
		/* the connection closes once it has left (a Logout or
		 * TARGET COLD RESET response, a login refusal): nothing
		 * queued after it may go (explore seed 216586154050: a
		 * SCSI Response sent behind a cold reset's FUNCTION
		 * COMPLETE in the same send) */
		if (t->close_after)
			break;
	}
	/* a queue with bytes to send gathers at least one piece */
	ut_assert(n > 0 || file->len > 0 || TAILQ_EMPTY(&c->txq));
	ut_assert(n <= ISCSI_TX_IOV_MAX);
	return n;
}

static void conn_set_more(struct iscsi_conn *c, bool more)
{
	if (more == c->tx_more)
		return;
	c->tx_more = more;
	c->env->ops->conn_set_more(c->ec, more);
}

static uint64_t txpdu_len(const struct iscsi_txpdu *t)
{
	return (uint64_t)t->hdr_len + t->data_len + t->trailer_len;
}

void iscsi_conn_flush(struct iscsi_conn *c)
{
	struct env *env = c->env;
	bool moved = false;

	if (c->tx_overflow && !c->closing) {
		c->r->stats.conns_dropped++;
		iscsi_conn_close(c, "the initiator does not read its responses "
				    "(transmit queue limit)");
		return;
	}
	if (c->close_why && !c->closing) {
		iscsi_conn_close(c, c->close_why);
		return;
	}

	while (!c->closing && !TAILQ_EMPTY(&c->txq)) {
		struct iovec iov[ISCSI_TX_IOV_MAX];
		struct tx_file file;
		bool all;
		int n = tx_gather(c, iov, &all, &file);
		ssize_t sent;

		ut_assert(n > 0 || file.len > 0);
		/* Adaptive Nagle: the rest of the queue follows at once, so
		 * this part may wait for it in the kernel (MSG_MORE) and
		 * leave in full segments; the last part goes uncorked and
		 * pushes the burst.  A lone response is never corked. */
		conn_set_more(c, !all);
		c->r->stats.send_calls++;
		if (file.len) {
			/* only PDUs marked by iscsi_txpdu_set_file() */
			ut_assert(env->ops->conn_send_file != NULL);
			c->r->stats.file_sends++;
			sent = env->ops->conn_send_file(c->ec, iov, n, file.fd,
							file.off, file.len);
		} else {
			sent = env->ops->conn_send(c->ec, iov, n);
		}
		if (sent < 0) {
			iscsi_conn_close(c, "send failed");
			return;
		}
		if (sent == 0)
			break;
		moved = true;
		while (sent > 0) {
			struct iscsi_txpdu *t = TAILQ_FIRST(&c->txq);
			uint64_t left;
			bool close_after;

			/* never more sent than was gathered from the queue */
			ut_assert(t != NULL);
			ut_assert(t->sent < txpdu_len(t));
			left = txpdu_len(t) - t->sent;

			if ((uint64_t)sent < left) {
				t->sent += (uint64_t)sent;
				c->tx_pos += (uint64_t)sent;
				break;
			}
			sent -= (ssize_t)left;
			c->tx_pos += left;
			/* a data segment sent from a file: its task's
			 * reference is released once the peer has its last
			 * byte (conn_ack.c) */
			if (t->file && t->task) {
				t->task->file_sent = true;
				t->task->file_conn = c->id;
				t->task->file_end = c->tx_pos - t->trailer_len;
			}
			TAILQ_REMOVE(&c->txq, t, link);
			ut_assert(c->tx_queued > 0);
			c->tx_queued--;
			close_after = t->close_after;
			if (t->ping)
				iscsi_conn_ping_left(c);
			txpdu_free(c, t);
			if (close_after) {
				iscsi_conn_close(c, "logout complete");
				return;
			}
		}
	}
	if (c->closing)
		return;
	/* The burst is over, sent or waiting for room: uncorked either
	 * way (what the kernel holds is pushed). */
	conn_set_more(c, false);
	ut_assert((c->tx_queued == 0) == TAILQ_EMPTY(&c->txq));
	bool want = !TAILQ_EMPTY(&c->txq);

	/* The stall clock (conn.c's keepalive reads it): it starts when
	 * bytes are left waiting for room, and again whenever some leave. */
	if (!want)
		c->tx_wait_since_ns = UINT64_MAX;
	else if (moved || c->tx_wait_since_ns == UINT64_MAX)
		c->tx_wait_since_ns = env_now_ns(env);
	ut_assert(want == (c->tx_wait_since_ns != UINT64_MAX));

	if (want != c->want_write) {
		c->want_write = want;
		env->ops->conn_want_write(c->ec, want);
	}
}

/* RFC 7143 §11.17: a Reject carries the rejected PDU's header. */
void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bhs)
{
	struct iscsi_txpdu *t = iscsi_txpdu_new(c, ISCSI_OP_REJECT);
	struct iscsi_bhs h = {0};

	ut_assert(reason != 0);
	ut_assert(bhs != NULL);
	if (!t)
		return;
	if (iscsi_txpdu_copy_data(t, bhs, ISCSI_BHS_LEN)) {
		iscsi_txpdu_discard(c, t);
		iscsi_conn_fail_soon(c, "out of memory for a PDU's data");
		return;
	}
	h.opcode = ISCSI_OP_REJECT;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = reason;
	h.itt = ISCSI_RESERVED_TAG;
	h.stat_sn = c->stat_sn++;
	c->phase->fill_sn(c, &h);
	c->r->stats.rejects_tx++;
	LOG_DEBUG(c->env, "conn %u: reject reason 0x%02x opcode 0x%02x", c->id,
		  reason, bhs[0] & ISCSI_OPCODE_MASK);
	iscsi_conn_queue(c, t, &h);
}

/* The connection closes: free what is still queued, unsent. */
void iscsi_conn_tx_drop(struct iscsi_conn *c)
{
	struct iscsi_txpdu *t;

	while ((t = TAILQ_FIRST(&c->txq))) {
		TAILQ_REMOVE(&c->txq, t, link);
		ut_assert(c->tx_queued > 0);
		c->tx_queued--;
		txpdu_free(c, t);
	}
	/* the queue and its counters are empty together */
	ut_assert(c->tx_queued == 0);
	ut_assert(c->tx_untied_pdus == 0);
	ut_assert(c->tx_untied_bytes == 0);
}
