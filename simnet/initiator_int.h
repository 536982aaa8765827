/*
 * initiator_int.h — what the three files of the initiator actor share:
 *
 *   initiator.c        the actor, its operations, the connection's life,
 *                      transmit and receive framing
 *   initiator_login.c  login: security (CHAP) and operational stages
 *   initiator_ffp.c    full feature phase: commands in the CmdSN window,
 *                      Data-Out and R2Ts, what the target answers
 */
#ifndef UT_SIM_INITIATOR_INT_H
#define UT_SIM_INITIATOR_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "initiator.h"
#include "iscsi/chap.h"

#define TX_FLUSH_MAX (1u << 20)
#define RX_DATA_MAX (16u << 20)
#define MY_MRDSL 262144u
#define LOGIN_KEYS_MAX 4096
#define INI_TXLOG 1024 /* PDUs remembered for corruption in flight */

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
	uint64_t lun_base; /* added to every LUN sent (ini_set_lun_base) */
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
	/* where a login starts CmdSN and ExpStatSN (ini_set_start) */
	uint32_t start_cmdsn, start_expstatsn;
	/* this session: the CmdSN of the last non-immediate PDU that took
	 * one and went out (last_sent_valid: there was one), what a
	 * `cmdsn=dup` request carries; and the highest CmdSN sent by a
	 * misnumbered PDU that the target may have taken (forced_hi_valid):
	 * the target's ExpCmdSN never passes it + 1, nor our next CmdSN */
	bool last_sent_valid, forced_hi_valid;
	/* the highest send_seq of an op answered: every PDU sent before it
	 * on its connection reached the target (ini_op_behind_gap) */
	uint64_t answered_seq;
	uint32_t last_sent_cmdsn, forced_hi;
	uint64_t send_seq; /* order in which PDUs went out */

	struct ini_params neg;
	/* the target's configured operational keys, or NULL (a real
	 * target): each negotiated result is checked against them */
	const struct ut_iscsi_params *tgt_params;
	/* the EDTL of this session's SCSI commands sent and not yet
	 * answered, and of those a Reject ended (the target may still hold
	 * them until the connection goes): what its tasks can hold */
	uint64_t buf_bytes;
	uint64_t buf_limbo;
	/* TargetPortalGroupTag of this login's responses; -1: none yet */
	int32_t login_tpgt;
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
	/* The last challenge the target sent us (the freshness oracle,
	 * initiator_login.c chap_fresh) */
	uint8_t tgt_chal[CHAP_CHALLENGE_MAX_BYTES];
	size_t tgt_chal_len;
	bool ignore_nopin;
	bool hold_r2t;
	bool auto_logout;
	/* The seconds a Logout request (Async event 1) must give in its
	 * Parameter3 (RFC 7143 §11.9.1), 0: not judged */
	uint16_t logout_within_s;
	bool digests_live; /* FFP reached: digests as negotiated */

	struct ini_op_list ops;	  /* sent, awaiting an answer */
	struct ini_op_list waitq; /* waiting for the CmdSN window */
	/* holding their CmdSN, not sent (op->hold): a gap in the sequence
	 * until ini_release(); in CmdSN order */
	struct ini_op_list heldq;
	struct ini_op_list doneq; /* finished, done() pending */
	struct sim_ev done_ev;
	struct sim_ev probe_ev; /* window closed with commands waiting */
	struct ini_op *login_op;
	/* the login's request text not yet sent: a text longer than a
	 * login PDU takes goes in pieces with C=1 (RFC 7143 §11.12.2),
	 * each after the target's empty answer to the one before */
	uint8_t *req_rest;
	uint32_t req_rest_len, req_rest_off;
	uint8_t req_flags;	 /* T, CSG, NSG of the last piece */
	unsigned int login_pdus; /* Login PDUs sent on this connection */
	bool tx_frozen; /* a PDU left half sent: nothing more goes out */
	/* the answer FUNCTION COMPLETE to our TARGET COLD RESET came on this
	 * connection: the target closes it next, nothing more may come
	 * (RFC 7143 §11.5.1; scenario_cold.c) */
	bool cold_done;
	/* corruption in flight (sim_conn_corrupt), this connection: the
	 * PDUs we sent, where each began in our stream and how long its
	 * header part is (BHS, header digest), so that a flipped byte names
	 * its PDU; where the PDU we are receiving began; the flipped bytes
	 * of the target's stream not yet met; whether a data part of ours
	 * was hit (a Reject for a data digest error is owed only then) */
	struct {
		uint64_t start;
		uint32_t hlen, len, itt, dlen;
		uint8_t opcode;
	} txlog[INI_TXLOG];
	unsigned int txlog_n;
	uint64_t tx_stream, rx_stream, rx_pdu_start;
	uint64_t rx_flips[8];
	unsigned int rx_flip_n;
	unsigned int data_flips;
	unsigned int tx_flips; /* flips in our stream, any part of a PDU */
	char *text_acc;	       /* login/text response keys */
	uint32_t text_acc_len;

	ini_violation_fn violation;
	ini_event_fn event;
	void *hook_arg;
};

/* The first command held back that still makes a gap (heldq is in CmdSN
 * order; one an ABORT TASK named does not), or NULL. */
static inline const struct ini_op *ini_first_gap(const struct ini *ini)
{
	const struct ini_op *op;

	TAILQ_FOREACH (op, &ini->heldq, link)
		if (!op->gap_aborted)
			return op;
	return NULL;
}

/* initiator.c */
/* A breach of RFC 7143 by the target: traced, and reported through the
 * scenario's hook. */
void ini_violation(struct ini *ini, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ini_op_finish(struct ini *ini, struct ini_op *op,
		   enum ini_outcome outcome);
struct ini_op *ini_op_by_itt(struct ini *ini, uint32_t itt);
void ini_tx_put(struct ini *ini, const void *p, size_t n);
void ini_tx_flush(struct ini *ini);
void ini_send_pdu_ahs(struct ini *ini, struct iscsi_bhs *h, const void *ahs,
		      uint32_t ahs_len, const void *data, uint32_t len);
void ini_send_pdu(struct ini *ini, struct iscsi_bhs *h, const void *data,
		  uint32_t len);
void ini_conn_lost(struct ini *ini, const char *why);

/* initiator_login.c */
void ini_login_security(struct ini *ini);
void ini_params_default(struct ini_params *p);
void ini_text_acc_add(struct ini *ini, const uint8_t *p, uint32_t len);
void ini_login_done(struct ini *ini, enum ini_outcome outcome);
void ini_rx_login_rsp(struct ini *ini, const struct iscsi_bhs *h,
		      const uint8_t *data);

/* initiator_ffp.c */
void ini_pump(struct ini *ini);
void ini_probe_fire(struct sim_ev *ev);
void ini_rx_pdu(struct ini *ini, const struct iscsi_bhs *h,
		const uint8_t *data);

#endif
