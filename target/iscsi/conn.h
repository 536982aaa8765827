/*
 * conn.h — the connection layer (conn.c, conn_tx.c): one TCP
 * connection's byte streams.  Receive framing cuts the stream into PDUs; the transmit queue
 * sends PDUs built by the layers above.  It knows nothing of logins,
 * sessions or servers: it tells the layer that handles its PDUs (its
 * phase: login.c, then session.c) through struct iscsi_conn_phase, and
 * its owner (server.c) through the closed callback.  Included by
 * iscsi_int.h, after the limits.
 */
#ifndef UT_ISCSI_CONN_H
#define UT_ISCSI_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "env.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "iscsi/pool.h"
#include "queue_compat.h"
#include "scsi/scsi.h"

struct iscsi_conn;
struct iscsi_login_state;
struct iscsi_sess;
struct iscsi_server;
struct iscsi_task;

/* What one reactor owns of the server (env.h, "Several reactors"): the
 * recycled memory of its data path and its counters.  Only that reactor
 * touches it, so none of it is locked. */
struct iscsi_reactor {
	struct env *env;
	struct iscsi_buf_pool bufs;
	struct iscsi_obj_pool task_pool;
	struct iscsi_obj_pool pdu_pool;
	struct iscsi_server_stats stats; /* counters; connections/sessions
					  * are the server's */
};

/* One outgoing PDU. */
struct iscsi_txpdu {
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint32_t hdr_len;    /* 48 or 52 */
	const uint8_t *data; /* data segment or NULL */
	uint32_t data_len;
	uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* pad + data digest */
	uint32_t trailer_len;
	/* The data segment is also data_len bytes of file_fd from file_off
	 * (or zeros: ENV_FD_ZEROS), sent from there by the environment's
	 * conn_send_file (iscsi_txpdu_set_file()). */
	bool file;
	int file_fd;
	uint64_t file_off;
	uint64_t sent;			 /* bytes of this PDU already sent */
	uint8_t *owned;			 /* heap data to free with the PDU */
	uint8_t inl[2 + SCSI_SENSE_MAX]; /* small data: sense, echoes */
	struct iscsi_task *task; /* tied: holds a tx_ref while queued (the
				  * phase's tx_untie lets it go) */
	bool close_after;	 /* close the connection once sent */
	bool ping;		 /* our NOP-In ping: its clock starts when
				  * its last byte leaves (conn.c) */
	bool queued;		 /* in a connection's txq */
	TAILQ_ENTRY(iscsi_txpdu) link;
};

TAILQ_HEAD(iscsi_tx_list, iscsi_txpdu);

/* Connection states.  The changes allowed (iscsi_conn_set_state()
 * checks every one):
 *   LOGIN -> FFP       the login completed (iscsi_conn_enter_ffp())
 *   LOGIN -> LOGOUT    a login refused: what else arrives is dropped
 *   FFP -> LOGOUT      a Logout response is queued
 *   any but CLOSED -> CLOSED   iscsi_conn_close() */
enum iscsi_conn_state {
	CONN_LOGIN = 0,	 /* login phase (security/operational) */
	CONN_FFP = 1,	 /* full feature phase */
	CONN_LOGOUT = 2, /* logout response queued; closing after */
	CONN_CLOSED = 3, /* torn down, waiting for tasks to drain */
};

enum rx_stage {
	RX_BHS = 0,
	RX_AHS = 1,
	RX_HDIGEST = 2,
	RX_DATA = 3,
	RX_PAD = 4,
	RX_DDIGEST = 5,
};

/*
 * What a connection tells the layer handling its PDUs: login.c's
 * iscsi_login_phase during login, session.c's iscsi_ffp_phase in full
 * feature phase.  These are the connection layer's only calls upward.
 */
struct iscsi_conn_phase {
	/* A header is complete (digest checked, DataSegmentLength within
	 * MaxRecvDataSegmentLength): point c->rx_data_dst where its data
	 * segment goes, or set c->rx_reject or c->rx_ignore.  NULL, or
	 * leaving rx_data_dst NULL: the connection's own buffer. */
	void (*rx_header)(struct iscsi_conn *c);
	/* A whole PDU has arrived: c->rx_h, its data at c->rx_data_dst. */
	void (*rx_pdu)(struct iscsi_conn *c);
	/* ExpCmdSN and MaxCmdSN of a PDU the connection builds itself (a
	 * Reject, a NOP-In ping). */
	void (*fill_sn)(struct iscsi_conn *c, struct iscsi_bhs *h);
	/* A PDU tied to a task (t->task) leaves the queue, sent or not. */
	void (*tx_untie)(struct iscsi_txpdu *t);
	/* RspTimeout: the arrival of the oldest answer owed (UINT64_MAX:
	 * none); whether it has waited timeout_ns by now (it logs what
	 * waited; the connection then closes).  NULL: nothing is owed. */
	uint64_t (*owed_since)(struct iscsi_conn *c);
	bool (*owed_overdue)(struct iscsi_conn *c, uint64_t now_ns,
			     uint64_t timeout_ns);
	/* The connection is closing: let go of it. */
	void (*closing)(struct iscsi_conn *c);
};

struct iscsi_conn {
	struct env *env; /* the reactor that owns it */
	struct iscsi_reactor *r;
	struct env_conn *ec;
	struct env_conn_info info;
	enum iscsi_conn_state state;
	uint32_t id; /* for logs */
	uint16_t cid;
	const struct iscsi_conn_phase *phase;
	/* Its owner, told before the connection is freed. */
	void (*closed)(struct iscsi_conn *c);
	/* The layers above (conn.c never looks at them). */
	struct iscsi_server *srv;
	struct iscsi_login_state *login; /* during login */
	struct iscsi_sess *sess;	 /* in full feature phase */
	/* Its login reinstates the session of this TSIH and completes once
	 * that session has ended (0: none).  Under the server's lock, which
	 * other reactors take to find it (registry.c). */
	uint16_t reinst_tsih;
	/* negotiated transport properties */
	bool header_digest;
	bool data_digest;
	uint32_t max_recv_dsl;
	uint32_t max_xmit_dsl;
	uint32_t stat_sn;
	uint32_t exp_stat_sn;
	/* What the last PDU queued in full feature phase carried, to check
	 * that StatSN, ExpCmdSN and MaxCmdSN never go back (conn.c). */
	bool tx_statsn_valid, tx_cmdsn_valid;
	uint32_t tx_last_statsn, tx_last_exp_cmdsn, tx_last_max_cmdsn;
	/* receive framing */
	enum rx_stage rx_stage;
	uint8_t rx_bhs[ISCSI_BHS_LEN];
	uint8_t rx_ahs[ISCSI_MAX_AHS_BYTES];
	uint8_t rx_digest[ISCSI_DIGEST_LEN];
	uint8_t rx_pad[4];
	uint32_t rx_got;  /* bytes of the current stage */
	uint32_t rx_need; /* bytes the current stage needs */
	struct iscsi_bhs rx_h;
	uint8_t *rx_data_dst; /* where the data segment goes */
	uint8_t *rx_buf;      /* connection's own data buffer */
	uint32_t rx_buf_cap;
	struct iscsi_task *rx_task; /* Data-Out/immediate data target */
	uint8_t rx_reject;	    /* reason to Reject this PDU, 0 = ok */
	bool rx_ignore;		    /* drop silently (CmdSN window) */
	bool rx_discard;	    /* data segment read but dropped */
	uint8_t rx_scratch[4096];   /* where discarded data goes */
	uint8_t *rxs;		    /* receive staging (conn.c) */
	uint32_t rxs_off, rxs_len;
	/* transmit */
	struct iscsi_tx_list txq;
	uint32_t tx_queued;	 /* PDUs in txq */
	uint32_t tx_untied_pdus; /* of those, PDUs of no task */
	uint64_t tx_untied_bytes;
	bool tx_overflow;	       /* limit passed: close at next flush */
	const char *close_why;	       /* close at the next flush (a PDU
					* could not be allocated) */
	struct env_timer *flush_timer; /* deferred flush after a batch */
	bool flush_pending;
	bool want_write;
	bool tx_more; /* told the environment: more follows (corked) */
	/* Since when queued bytes have waited with none sent (the last
	 * flush that moved some, or that found the socket full); UINT64_MAX
	 * while the queue is empty or moving.  An initiator that does not
	 * read is dropped after idle_ns of it (conn.c). */
	uint64_t tx_wait_since_ns;
	/* Stream position: bytes of the connection accepted by the
	 * environment so far (conn_tx.c). */
	uint64_t tx_pos;
	/* Read references whose Data-In went from a file and whose last
	 * such byte (at stream position end) the peer has not acknowledged
	 * yet: their LBA ranges stay held until it has (conn_ack.c). */
	struct iscsi_ack_wait {
		struct bs_ref *ref;
		uint64_t end;
	} * ack_waits;
	uint32_t ack_n, ack_cap;
	struct env_timer *ack_timer;   /* re-checks while any waits */
	struct env_timer *login_timer; /* accept to full feature phase */
	/* keepalive (NOP-In) and the half-received-PDU idle limit */
	struct env_timer *ka_timer;
	uint64_t last_rx_ns;	  /* when bytes last arrived */
	uint64_t ping_sent_ns;	  /* queued; once it left, when it left */
	uint64_t nop_interval_ns; /* 0 = no pings */
	uint64_t nop_timeout_ns;
	uint64_t idle_ns;	 /* a PDU may stall this long */
	uint64_t rsp_timeout_ns; /* RspTimeout: an answer owed this long
				  * closes the connection */
	uint64_t ka_due_ns;	 /* when ka_timer fires next */
	uint32_t ping_ttt;
	bool ping_outstanding;
	bool ping_queued; /* the ping waits in txq behind other PDUs: the
			   * initiator cannot answer it yet */
	/* the Text exchange in full feature phase (text_ffp.c's; freed with
	 * the connection) */
	uint8_t *text_in; /* request text so far (C=1 pieces) */
	uint32_t text_in_len;
	uint8_t *text_out; /* answer not yet sent, from text_out_off */
	uint32_t text_out_len, text_out_off;
	uint32_t text_out_ttt; /* the TTT the next request must carry */
	uint32_t text_itt;     /* the exchange's Initiator Task Tag */
	bool text_open;	       /* we wait for a request with text_out_ttt */
	bool text_final;       /* the request being answered had F=1 */
	bool closing;
	bool in_callback;
	bool dead;		      /* freed when callbacks unwind */
	TAILQ_ENTRY(iscsi_conn) link; /* the owner's list */
};

/* A connection on ec, accepted on reactor r (env), handled by phase and
 * owned by whoever passes closed; NULL if out of memory (ec is then
 * closed).  Nothing happens on it before iscsi_conn_start(). */
struct iscsi_conn *iscsi_conn_new(struct env *env, struct iscsi_reactor *r,
				  struct env_conn *ec,
				  const struct env_conn_info *info, uint32_t id,
				  const struct iscsi_conn_phase *phase,
				  void (*closed)(struct iscsi_conn *c));
/* The owner has listed c and its phase is ready: start the login clock
 * and take bytes (or close c if out of memory). */
void iscsi_conn_start(struct iscsi_conn *c);
void iscsi_conn_close(struct iscsi_conn *c, const char *why);
/* Move c to state to, one of the changes enum iscsi_conn_state allows. */
void iscsi_conn_set_state(struct iscsi_conn *c, enum iscsi_conn_state to);
/* Login is over: full feature phase with phase, its keepalive and
 * RspTimeout from p (NopInInterval, NopInTimeout, RspTimeout). */
void iscsi_conn_enter_ffp(struct iscsi_conn *c,
			  const struct iscsi_conn_phase *phase,
			  const struct ut_iscsi_params *p);

/* Transmit.  A PDU is taken from the reactor's pool, given its data, and
 * queued with its header; the queue is sent by iscsi_conn_flush() or
 * iscsi_conn_kick(). */
struct iscsi_txpdu *iscsi_txpdu_new(struct iscsi_conn *c, uint8_t opcode);
void iscsi_txpdu_set_data(struct iscsi_txpdu *t, const uint8_t *data,
			  uint32_t len, uint8_t *owned);
/* The data given to t (by reference, never owned) is also a range of a
 * file: where the environment can (conn_send_file) and no DataDigest
 * needs the bytes, they go from there without a copy.  Otherwise the
 * data pointer serves. */
void iscsi_txpdu_set_file(struct iscsi_conn *c, struct iscsi_txpdu *t, int fd,
			  uint64_t off);
/* Give t a private copy of data (inline when it fits); 0 or -ENOMEM. */
int iscsi_txpdu_copy_data(struct iscsi_txpdu *t, const void *data,
			  uint32_t len);
/* Release a PDU that was never queued. */
void iscsi_txpdu_discard(struct iscsi_conn *c, struct iscsi_txpdu *t);
void iscsi_conn_queue(struct iscsi_conn *c, struct iscsi_txpdu *t,
		      const struct iscsi_bhs *h);
void iscsi_conn_flush(struct iscsi_conn *c);
/* Have the queue sent: at the end of the receive callback when inside
 * one, otherwise once the current batch of events is over.  Call as the
 * last action of an asynchronous event. */
void iscsi_conn_kick(struct iscsi_conn *c);
void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason,
		       const uint8_t *bhs);
/* The task receiving the current data segment is gone. */
void iscsi_conn_rx_task_gone(struct iscsi_conn *c, struct iscsi_task *t);
/* A NOP-Out answered our NOP-In ping with this TTT. */
void iscsi_conn_ping_answered(struct iscsi_conn *c, uint32_t ttt);
/* Our NOP-In ping has left (its last byte is sent): NopInTimeout runs
 * from now. */
void iscsi_conn_ping_left(struct iscsi_conn *c);
/* The session owes an answer again, to work that arrived at since_ns:
 * have the keepalive timer check RspTimeout in time. */
void iscsi_conn_owed_from(struct iscsi_conn *c, uint64_t since_ns);
/* Out of memory for a PDU the connection must send: close it at the next
 * flush (a safe point), and send nothing more on it until then.  The one
 * policy for every PDU (RFC 7143 has no way to say "answer lost"). */
void iscsi_conn_fail_soon(struct iscsi_conn *c, const char *why);
/* Return the data path's cached memory (at server free). */
void iscsi_pools_drain(struct iscsi_reactor *r);

/* A read's reference (ref), whose Data-In went from a file up to stream
 * position end, is released once the peer has acknowledged that byte
 * (conn_ack.c): at once if the environment cannot tell, or if c is
 * closing. */
void iscsi_conn_release_acked(struct iscsi_conn *c, struct bs_ref *ref,
			      uint64_t end);
/* Release what the peer has acknowledged (an event of c: bytes came);
 * all == true: everything, c closes. */
void iscsi_conn_acks_check(struct iscsi_conn *c, bool all);

/* Between conn.c and conn_tx.c: the flush timer's callback, and the
 * queue freed unsent when the connection closes. */
void iscsi_conn_flush_timer(void *arg);
void iscsi_conn_tx_drop(struct iscsi_conn *c);

#endif
