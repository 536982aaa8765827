/*
 * conn_ack.c — a read's reference held until the initiator acknowledged
 * the bytes sent from it (--send-file on).
 *
 * sendfile(2) hands the socket references to the file's cached pages;
 * the socket keeps them until the peer acknowledged the bytes, and a
 * segment lost on the way is resent from the pages as they are then.  A
 * READ answered by reference keeps its LBA range (shared, task_set.c
 * scsi_range_hold) so that no exclusive writer (WRITE ATOMIC, COMPARE
 * AND WRITE) lands while its bytes may still be read from the pages:
 * that is until they are acknowledged, not until sendfile took them.
 *
 * conn_tx.c counts the connection's stream (tx_pos) and notes, for a
 * task whose Data-In went from a file, the stream position of the end
 * of its last such segment; when the task ends, its reference comes
 * here with that position.  The environment tells how many accepted
 * bytes are still unacknowledged (env.h conn_unacked, SIOCOUTQ):
 * everything before tx_pos - unacked has arrived.  Acks make no event,
 * so the check runs on each receive callback of the connection (the
 * initiator's PDUs carry its acks) and on a timer every
 * ISCSI_ACK_POLL_NS while any reference waits: one ioctl per check,
 * never a busy poll, and a writer kept at most that long past the ack.
 *
 * Bounds: a peer that stops acknowledging also stops answering the
 * keepalive (NOP-In: NopInTimeout), and its queued responses fill the
 * socket (the idle limit): the connection closes, and closing releases
 * every reference at once, after the environment reset the connection
 * if bytes from a file were still unacknowledged (env.h conn_close: they
 * never arrive, so nothing can show a later write).
 */
#include <errno.h>
#include <stdlib.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void ack_timer_fire(void *arg)
{
	iscsi_conn_acks_check(arg, false);
}

void iscsi_conn_acks_check(struct iscsi_conn *c, bool all)
{
	struct env *env = c->env;
	uint64_t acked = c->tx_pos;
	uint32_t keep = 0, n = c->ack_n;
	struct iscsi_ack_wait *w = c->ack_waits;

	if (n == 0)
		return;
	if (!all && c->ec) {
		ssize_t un = env->ops->conn_unacked(c->ec);

		/* An error (the connection is going: its close releases), or
		 * more than was ever accepted (the kernel's word, so no
		 * assertion): nothing is known acknowledged. */
		acked = un >= 0 && (uint64_t)un <= c->tx_pos
				? c->tx_pos - (uint64_t)un
				: 0;
	}
	/* keep those not yet acknowledged; release the rest (a release may
	 * wake writers, never back into this connection's list) */
	c->ack_n = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!all && w[i].end > acked) {
			w[keep++] = w[i];
			continue;
		}
		bs_ref_release(w[i].ref);
	}
	ut_assert(c->ack_n == 0);
	c->ack_n = keep;
	if (!c->ack_timer)
		return;
	if (keep > 0)
		env_timer_arm(env, c->ack_timer,
			      env_now_ns(env) + ISCSI_ACK_POLL_NS);
	else
		env_timer_cancel(env, c->ack_timer);
}

void iscsi_conn_release_acked(struct iscsi_conn *c, struct bs_ref *ref,
			      uint64_t end)
{
	struct env *env = c->env;

	ut_assert(ref != NULL);
	ut_assert(end <= c->tx_pos);
	/* (while closing, until the environment has reset the connection:
	 * iscsi_conn_close releases them right after) */
	if (!ref->live || !c->ec || !env->ops->conn_unacked) {
		bs_ref_release(ref);
		return;
	}
	if (!c->ack_timer) {
		c->ack_timer = env_timer_new(env, ack_timer_fire, c);
		if (!c->ack_timer) {
			bs_ref_release(ref);
			iscsi_conn_fail_soon(c, "out of memory for a timer");
			return;
		}
	}
	if (c->ack_n == c->ack_cap) {
		uint32_t cap = c->ack_cap ? 2 * c->ack_cap : 8;
		struct iscsi_ack_wait *w =
			realloc(c->ack_waits, cap * sizeof(*w));

		if (!w) {
			/* closing resets the connection: the bytes never
			 * arrive, and the range may go now */
			bs_ref_release(ref);
			iscsi_conn_fail_soon(c,
					     "out of memory for an ack wait");
			return;
		}
		c->ack_waits = w;
		c->ack_cap = cap;
	}
	c->ack_waits[c->ack_n].ref = ref;
	c->ack_waits[c->ack_n].end = end;
	c->ack_n++;
	if (c->ack_n == 1)
		env_timer_arm(env, c->ack_timer,
			      env_now_ns(env) + ISCSI_ACK_POLL_NS);
}
