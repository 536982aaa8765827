/*
 * initiator.h — a scriptable iSCSI initiator actor living in the
 * simulation, with its own client side of RFC 7143 built on pdu.h.
 *
 * Behaving: login (security -> operational -> full feature phase, with
 * key negotiation), discovery (SendTargets), SCSI commands with data in
 * both directions (immediate data, unsolicited Data-Out, R2T-solicited
 * Data-Out), task management, NOP-Out pings and NOP-In replies, logout,
 * reconnection and session reinstatement (same ISID, TSIH 0).
 *
 * Misbehaving: raw PDUs, CmdSN outside the window, vanishing
 * mid-transfer, ignoring NOP-In.
 *
 * Every operation is an `ini_op`; its done callback runs exactly once,
 * from an event, when the answer arrives, the connection drops, or (TMF)
 * the task was aborted.  The actor also checks what it receives
 * (StatSN and ExpCmdSN monotone, sense consistent with status, answers
 * in the negotiated limits) and reports breaches through `violation`.
 */
#ifndef UT_SIM_INITIATOR_H
#define UT_SIM_INITIATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "iscsi/pdu.h"
#include "sim.h"

struct ini;

enum ini_op_kind {
	INI_OP_LOGIN,
	INI_OP_TEXT, /* a Text Request: text_req, or SendTargets=All */
	INI_OP_SCSI,
	INI_OP_TMF,
	INI_OP_NOP,
	INI_OP_LOGOUT,
	INI_OP_RAW,
};

enum ini_outcome {
	INI_PENDING = 0,
	INI_DONE,     /* the answer arrived */
	INI_DROPPED,  /* the connection went before the answer */
	INI_REJECTED, /* a Reject PDU answered it */
	INI_ABORTED,  /* a TMF we sent aborted it */
	INI_NOT_SENT, /* no connection / not logged in */
};

/* A write's first Data-Out out of sequence (`dataout-bad=`). */
enum ini_dataout_bad {
	INI_DOBAD_NONE = 0,
	INI_DOBAD_DATASN, /* DataSN one too high (§11.7.5) */
	INI_DOBAD_OFFSET, /* Buffer Offset 512 bytes off (§11.7.6) */
};

/* Logins that break a rule of RFC 7143 (`login bad=NAME`); each is
 * answered with one Login Response status (ini_login_bad_status), or, for
 * INI_LB_STALL, by the target closing the connection at its login
 * timeout. */
enum ini_login_bad {
	INI_LB_NONE = 0,
	INI_LB_VERSION,	     /* VersionMin 1 (§11.12.4): 0205 */
	INI_LB_STAGE,	     /* the first PDU in stage 3: 0200 */
	INI_LB_T_AND_C,	     /* T and C both set (§11.12.2): 0200 */
	INI_LB_ISID,	     /* the ISID changes in the 2nd PDU: 0200 */
	INI_LB_TSIH_CHANGED, /* the TSIH changes in the 2nd PDU: 0200 */
	INI_LB_ITT,	     /* the ITT changes in the 2nd PDU: 0200 */
	INI_LB_CID,	     /* the CID changes in the 2nd PDU: 0200 */
	INI_LB_CSG,	     /* the 2nd PDU in stage 0 again: 0200 */
	INI_LB_NSG,	     /* T with NSG 2 (reserved): 0200 */
	INI_LB_NO_NAME,	     /* no InitiatorName (§13.6): 0207 */
	INI_LB_BAD_NAME,     /* a malformed InitiatorName: 0200 */
	INI_LB_SESSION_TYPE, /* SessionType=Bogus: 0209 */
	INI_LB_NO_TARGET,    /* a normal session without TargetName: 0207 */
	INI_LB_TSIH,	     /* a TSIH naming no session: 020a (0206 when it
			      * names a live one: MaxConnections=1) */
	INI_LB_PDUS,	     /* more than 64 login PDUs (C=1): 0302 */
	INI_LB_TEXT_LONG,    /* more than 64 KiB of login text: 0302 */
	INI_LB_CHAP_LONG,    /* a CHAP_C of more than 8192 bytes: 0201 */
	INI_LB_CONT_TEXT,    /* text sent while the target's response is
			      * in pieces (§11.13.1): 0200 */
	INI_LB_NON_LOGIN,    /* a NOP-Out during login: 020b */
	INI_LB_STALL,	     /* the login never completes: closed at 30 s */
	/* (after STALL: the explorer's wire_step draws the kinds before it) */
	INI_LB_CHAP_LATE,    /* the security stage skipped, CHAP_A in the
			      * operational stage (§12.1): 0201 */
	INI_LB_AUTH_LATE,    /* the security stage skipped, AuthMethod in
			      * the operational stage (§13.2: a security
			      * key): 0200 (0201 where CHAP is required) */
	INI_LB_DECLARED_KEY, /* TargetAlias sent by the initiator (§13.4: a
			      * target's declaration): 0200 */
	INI_LB_KEYS_MANY,    /* 129 private keys in the operational stage,
			      * more than the 128 a target holds: 0302 */
	INI_LB_NAME_LONG,    /* an InitiatorName of 224 bytes, one past the
			      * 223 of RFC 7143 §4.2.7.1: 0200 */
	INI_LB_N
};
const char *ini_login_bad_name(unsigned int bad);
/* The kind named, or INI_LB_NONE. */
unsigned int ini_login_bad_parse(const char *name);
/* The Login Response status (class << 8 | detail) the kind must get,
 * from a target that requires CHAP of this session type or not. */
uint16_t ini_login_bad_status(unsigned int bad, bool chap_required);

#define INI_CORRUPT_HEADER 1u
#define INI_CORRUPT_DATA 2u

struct ini_op;
typedef void (*ini_done_fn)(void *arg, struct ini_op *op);

#define INI_HOLD_R2T_MAX 16

struct ini_op {
	enum ini_op_kind kind;
	enum ini_outcome outcome;
	uint32_t itt;
	uint32_t cmdsn;
	bool sent;
	uint64_t send_seq;

	/* SCSI */
	uint64_t lun;
	uint8_t cdb[16];
	/* CDB bytes beyond 16 (cdb_ext_len of them, at most 16), sent in an
	 * Extended CDB AHS (RFC 7143 §11.2.2.3); 0: none */
	uint8_t cdb_ext[16];
	uint8_t cdb_ext_len;
	bool dir_read, dir_write;
	/* RFC 7143 ATTR sent (1 Simple, 2 Ordered, 3 Head of Queue, 4 ACA,
	 * 0 Untagged); 0 here sends 1 */
	uint8_t task_attr;
	uint32_t edtl;
	uint8_t *out;	   /* Data-Out bytes (NOP: ping data), edtl long */
	uint8_t *in;	   /* Data-In bytes, edtl long */
	size_t in_map_len; /* in is an anonymous mapping this long (ini_scsi) */
	uint32_t in_len;   /* highest byte received */
	uint32_t unsol_sent; /* immediate + unsolicited bytes */
	uint32_t next_datasn;
	uint32_t seq_bytes;   /* Data-In bytes of the current sequence */
	uint32_t datain_pdus; /* Data-In PDUs received (ExpDataSN) */
	/* hold-r2t: R2Ts answered only after 2 ms without a new one */
	struct sim_ev r2t_ev;
	uint32_t r2t_held;
	struct {
		uint32_t ttt, off, len;
	} r2t_hold[INI_HOLD_R2T_MAX];

	/* TMF */
	uint8_t tmf_fn;
	uint32_t ref_itt, ref_cmdsn;
	/* TMF: a command held in a CmdSN gap below it, in its scope, sent
	 * after it (send-held), was answered before its FUNCTION COMPLETE
	 * (gap_answered_itt: that one's ITT) */
	bool gap_answered;
	uint32_t gap_answered_itt;

	/* LOGOUT: the reason code (0 close the session, 1 the connection
	 * logout_cid names, 2 remove it for recovery); logout_cid < 0: ours */
	uint8_t logout_reason;
	int32_t logout_cid;

	/* misbehaviour */
	int32_t cmdsn_delta; /* added to the CmdSN sent */
	/* sent with the CmdSN next + cmdsn_delta at once, whatever the
	 * window, and taking no number (`cmdsn=`, +0 included: the CmdSN
	 * one past MaxCmdSN when the window is closed) */
	bool cmdsn_forced;
	/* a NOP-Out, Text, TMF or Logout sent with the CmdSN of the last
	 * request of this session that took one and went out (`cmdsn=dup`):
	 * a duplicate, which the target has received already (lane
	 * cmdsnign18) */
	bool cmdsn_dup;
	/* its CmdSN is certainly outside the target's window when sent
	 * (cmdsn_delta of at least QueuedCommands past the next CmdSN, or
	 * more than that before it), or a request's certainly a duplicate
	 * (cmdsn_dup): any answer to it is a violation (RFC 7143 §4.2.2.1:
	 * silently ignored) */
	bool cmdsn_outside;
	/* CmdSN gaps (`hold`): the command takes its CmdSN in turn but is
	 * held back (ini->heldq), the commands after it go out, and it goes
	 * only at ini_release(); cmdsn_taken: op->cmdsn is its number */
	bool hold;
	bool cmdsn_taken;
	/* a NOP-Out, TMF or Logout sent non-immediate (`nonimm`): it takes
	 * the next CmdSN, as a Text Request does (RFC 7143 §3.2.2.1); with
	 * the window closed it goes immediate, as usual */
	bool nonimm;
	/* held, and an ABORT TASK naming it went out: from its arrival the
	 * target may count its CmdSN received (RFC 7143 §11.5.1), so it is
	 * no gap for the commands after it.  gap_abort_itt names that
	 * ABORT TASK: only its answer concludes it or lets it go (an
	 * earlier ABORT TASK naming another actor's task of the same ITT
	 * is not about it: explore seed 216586155846, round of lead20) */
	bool gap_aborted;
	uint32_t gap_abort_itt;
	/* held when an ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET
	 * or target reset of ours whose scope holds it went out (its LUN;
	 * every LUN for a target reset): RFC 7143 §11.5.1, the TMF acts on
	 * every command of the session with a lower CmdSN, received or not.
	 * gap_tmf_itt names that TMF.  Once it is FUNCTION COMPLETE
	 * (gap_tmf_done) the command is concluded aborted, never run: sent
	 * late (send-held), nothing may answer it.  gap_tmf_all: a target
	 * reset, from whose arrival the target may count its CmdSN received
	 * (no gap for the commands after it) */
	bool gap_tmf;
	bool gap_tmf_all;
	bool gap_tmf_done;
	uint32_t gap_tmf_itt;
	/* concluded (gap_tmf_done) when a target reset of ours went out:
	 * gap_tmf_all is set from it, and gap_all_itt names it (cleared if
	 * it is not FUNCTION COMPLETE) */
	uint32_t gap_all_itt;
	/* dropped with its connection while a command before it was held
	 * back, never sent: its CmdSN turn never came, so it never ran */
	bool behind_gap;
	/* the budget oracle: counted in ini->buf_bytes and
	 * sim->ini_buf_bytes from its sending, and what those held then */
	bool buf_counted;
	uint64_t buf_own_before, buf_all_before, buf_sent_mark;
	/* the target's failed allocations (sim oom.failed) when it was
	 * sent: one failed since may answer it TASK SET FULL */
	uint64_t oom_mark;
	uint32_t imm_over;	/* immediate data this far past
				 * FirstBurstLength (imm_over_len()) */
	uint32_t imm_over_sent; /* the immediate data so sent, or 0 */
	uint32_t imm_over_fb;	/* FirstBurstLength when it was sent */
	/* Misbehaviour (`dataout-bad=datasn|offset`): the first Data-Out
	 * PDU of the command carries a DataSN one too high or a Buffer
	 * Offset 512 bytes off (INI_DOBAD_*); sent: it went. */
	uint8_t dataout_bad;
	bool dataout_bad_sent;
	bool vanish_at_r2t; /* the host dies at the first R2T */
	uint8_t *raw;	    /* RAW: bytes sent as they are */
	uint32_t raw_len;
	bool raw_freeze; /* RAW: send nothing more on this connection */
	/* LOGIN: a login that breaks a rule (enum ini_login_bad), and what
	 * it names: the TSIH and ISID of bad=tsih (tsih_set) */
	uint8_t login_bad;
	bool bad_tsih_set;
	uint16_t bad_tsih;
	uint8_t bad_isid[6];
	/* LOGIN: private keys (X-...) added to the operational request, each
	 * to be answered NotUnderstood exactly once (RFC 7143 §6.2) */
	uint16_t login_extra_keys;
	/* LOGIN: the first request in the operational stage (RFC 7143
	 * §6.3: an initiator may skip the security stage; a target that
	 * requires CHAP must then refuse it, 0201) */
	bool login_skip_security;
	uint64_t conn_up_ns; /* LOGIN: when its TCP connection came up */

	/* results */
	uint8_t response; /* SCSI/TMF/logout response */
	uint8_t status;
	uint8_t sense[252];
	uint16_t sense_len;
	uint32_t residual;
	uint8_t rsp_flags;
	uint16_t login_status; /* class << 8 | detail */
	uint8_t reject_reason;
	/* ... and the opcode of the PDU it rejected (0xff: unknown) */
	uint8_t reject_opcode;
	uint8_t rsp_opcode; /* RAW: opcode of the answer */
	uint8_t chap_alg;   /* LOGIN: the CHAP_A the target chose */
	/* a PDU of this op had a bit flipped on its way to the target
	 * (sim_conn_corrupt): INI_CORRUPT_HEADER (BHS or header digest),
	 * INI_CORRUPT_DATA (data, padding or data digest) */
	uint8_t corrupted;
	/* ... and that flip was the first on its way to the target on this
	 * connection (nothing earlier can explain the connection's end) */
	bool first_flip;
	/* it ended with its connection, closed by the target with a FIN */
	bool closed_by_target;
	/* the data of one of its Data-Out PDUs was hit on the way */
	bool data_out_flipped;
	bool auth_refused; /* LOGIN: we refused the target (CHAP) */
	char auth_why[96]; /* ... and why */
	char *text;	   /* TEXT: response keys, NUL separated */
	uint32_t text_len;
	uint32_t text_pieces; /* TEXT: Text Responses received */
	/* TEXT: the request (key=value\0 ...; NULL: SendTargets=All), and
	 * whether to abandon a long answer after its first piece */
	char *text_req;
	uint32_t text_req_len;
	bool text_abandon;
	/* TEXT: private-keys=N, N keys the target does not know at the end
	 * of the request; judged (scenario_verdict.c check_text_keys) when
	 * the request is of those keys only, in a normal session, and fits
	 * the target's MaxRecvDataSegmentLength in one PDU (op_send) */
	uint16_t text_private_keys;
	bool text_keys_judged;
	uint64_t issued_ns, done_ns;

	ini_done_fn done;
	void *arg;
	/* called with arg when the first Data-In PDU of a read arrives
	 * (NULL: not) */
	ini_done_fn first_in;
	/* called with arg for every Data-In segment of a read that
	 * arrives: its buffer offset and length, and whether any of its
	 * bytes was sent from a file (sim_conn_send_file; NULL: not) */
	void (*in_seg)(void *arg, struct ini_op *op, uint32_t off, uint32_t len,
		       bool from_file);
	uint64_t user; /* for the caller */
	struct ini *ini;
	TAILQ_ENTRY(ini_op) link;
};
TAILQ_HEAD(ini_op_list, ini_op);

/* Negotiated (or defaulted) operational parameters. */
struct ini_params {
	bool header_digest, data_digest;
	bool initial_r2t, immediate_data;
	uint32_t max_send_dsl; /* the target's MaxRecvDataSegmentLength */
	uint32_t max_recv_dsl; /* ours */
	uint32_t first_burst, max_burst, max_r2t;
	/* the rest of the session's keys, as answered (RFC 7143 §13
	 * defaults when not): what the session listing must show */
	uint32_t time2wait, time2retain, erl;
	bool pdu_in_order, seq_in_order;
};

enum ini_state {
	INI_S_DOWN = 0,
	INI_S_CONNECTING,
	INI_S_LOGIN,
	INI_S_FFP,
	INI_S_LOGOUT,
};

typedef void (*ini_violation_fn)(void *arg, struct ini *ini, const char *msg);
/* Called for PDUs the actor got without asking (Async, Reject of
 * nothing, unsolicited NOP-In), for the runner's trace and checks. */
typedef void (*ini_event_fn)(void *arg, struct ini *ini, const char *what);

struct ini *ini_new(struct sim *sim, const char *actor, const char *iqn,
		    unsigned int index);
void ini_free(struct ini *ini);
/* Where the initiator starts CmdSN and ExpStatSN at every login and its
 * ITTs (RFC 7143 §4.2.2.1, §11.12: any value; a scenario starts them
 * just below 2^32 to make every party's serial arithmetic wrap). */
void ini_set_start(struct ini *ini, uint32_t cmdsn, uint32_t expstatsn,
		   uint32_t itt);
const char *ini_actor(const struct ini *ini);
const char *ini_iqn(const struct ini *ini);
enum ini_state ini_state(const struct ini *ini);
struct sim_host *ini_host(struct ini *ini);
const struct ini_params *ini_params(const struct ini *ini);
void ini_set_hooks(struct ini *ini, ini_violation_fn v, ini_event_fn e,
		   void *arg);
/* The target's configured operational parameters (kept by the caller):
 * the login checks every key it negotiated against the rule of RFC 7143
 * §13 (boolean OR/AND, minimum, maximum) from our offer and these. */
struct ut_iscsi_params;
void ini_set_target_params(struct ini *ini, const struct ut_iscsi_params *p);
void ini_set_ignore_nopin(struct ini *ini, bool ignore);
/* Hold R2Ts (answer them 2 ms after the last one): a target that has
 * more than MaxOutstandingR2T of a task outstanding is then seen. */
void ini_set_hold_r2t(struct ini *ini, bool on);
void ini_set_auto_logout(struct ini *ini, bool on);
/* A Logout request from the target must give this time to log out
 * within (Parameter3, seconds); 0: any. */
void ini_expect_logout_within(struct ini *ini, uint16_t s);
/* Extra login keys ("Key=Value" separated by NUL or ' '), replacing our
 * defaults for those keys. */
void ini_set_login_keys(struct ini *ini, const char *keys);
void ini_set_isid(struct ini *ini, const uint8_t isid[6]);
const uint8_t *ini_isid(const struct ini *ini);
/* Send LUN n as base + n (a real target whose LUN 0 is not a disk:
 * tgt's is its controller). */
void ini_set_lun_base(struct ini *ini, uint64_t base);

/* CHAP credentials for the security stage (RFC 7143 §12.1.3).  With a
 * name, logins offer AuthMethod=CHAP (unless a login key overrides it),
 * propose CHAP_A from algs and answer the target's challenge.  With a
 * target_secret too, they are mutual: our CHAP_I/CHAP_C (from the
 * simulation's PRNG) go with CHAP_R, and the login is refused by us
 * (op->auth_refused, connection closed) unless the target answers with
 * target_name and the right CHAP_R.  reflect misbehaves: the target's own
 * CHAP_I/CHAP_C are sent back as ours. */
enum {
	INI_CHAP_HEX = 0,
	INI_CHAP_B64,
	INI_CHAP_B64_BAD,
	INI_CHAP_HEX_UP, /* 0X and hex digits */
	INI_CHAP_B64_UP	 /* 0B and base64 */
};
struct ini_chap {
	char name[256], secret[256];
	char target_name[256], target_secret[256];
	char algs[64]; /* CHAP_A list; empty = "8,7,6,5" */
	bool reflect;
	/* how our CHAP_R and CHAP_C are written (RFC 7143 §6.1: 0x hex or
	 * 0b base64): INI_CHAP_HEX, INI_CHAP_B64, or INI_CHAP_B64_BAD (a
	 * base64 value with a character outside the alphabet); the
	 * prefix's letter in capitals (0X, 0B: §6.1 allows both cases):
	 * INI_CHAP_HEX_UP, INI_CHAP_B64_UP */
	uint8_t enc;
};
void ini_set_chap(struct ini *ini, const struct ini_chap *chap);
/* CmdSN gaps: send the commands held back (op->hold), in CmdSN order;
 * the number sent. */
unsigned int ini_release(struct ini *ini);
/* Commands held back, not yet sent. */
unsigned int ini_held(const struct ini *ini);
/* Was op sent with a CmdSN out of the sequence (`cmdsn=`)? */
static inline bool ini_op_misnumbered(const struct ini_op *op)
{
	return op->cmdsn_delta != 0 || op->cmdsn_forced;
}
/* Is a CmdSN off by delta from the next one certainly outside the
 * target's window, whatever it has received (QueuedCommands known)? */
bool ini_cmdsn_outside(const struct ini *ini, int32_t delta);
/* Would a NOP-Out, Text, TMF or Logout with a forced CmdSN (`cmdsn=+N`,
 * `cmdsn=dup`) sent now be certainly ignored by the target (RFC 7143
 * §4.2.2.1: outside the window, or a duplicate)?  *cmdsn: the CmdSN it
 * would carry. */
bool ini_forced_ignored(const struct ini *ini, const struct ini_op *op,
			uint32_t *cmdsn);
/* Is op a SCSI command of ours waiting at the target for its CmdSN turn:
 * sent, unanswered, a command before it held back (a gap the target
 * cannot consider filled: no ABORT TASK or target reset of ours named
 * it)?  *received: the target certainly has it (a PDU sent after it on
 * its connection was answered). */
bool ini_op_behind_gap(const struct ini *ini, const struct ini_op *op,
		       bool *received);
/* Number of ops still waiting for an answer. */
unsigned int ini_pending(const struct ini *ini);
bool ini_connected(const struct ini *ini);
/* The TargetPortalGroupTag the last login's responses carried, -1: none. */
int32_t ini_login_tpgt(const struct ini *ini);
uint64_t ini_conn_id(const struct ini *ini);
/* Bytes put in its connection's stream so far (the end of the last PDU
 * sent). */
uint64_t ini_tx_stream(const struct ini *ini);
/* The connection endpoint, for network faults (NULL if none). */
struct env_conn *ini_conn(struct ini *ini);

/* Operations.  Each returns the op, owned by the caller after done()
 * (free it with ini_op_free); done runs from an event, never inside. */
struct ini_op *ini_op_new(struct ini *ini, enum ini_op_kind kind,
			  ini_done_fn done, void *arg);
void ini_op_free(struct ini_op *op);

/* Connect to portal and log in (discovery: SessionType=Discovery). */
void ini_login(struct ini *ini, struct ini_op *op, const char *portal,
	       const char *target, bool discovery);
void ini_text_sendtargets(struct ini *ini, struct ini_op *op);
/* SCSI: fill op->lun, cdb, dir_*, edtl, out before. */
void ini_scsi(struct ini *ini, struct ini_op *op);
void ini_tmf(struct ini *ini, struct ini_op *op);
void ini_nop(struct ini *ini, struct ini_op *op);
void ini_logout(struct ini *ini, struct ini_op *op);
void ini_raw(struct ini *ini, struct ini_op *op);
/* A PDU was left half sent on this connection (stall-pdu): nothing more
 * goes out on it. */
bool ini_tx_frozen(const struct ini *ini);
/* Corrupt the next count data segments of our connection in dirs (a
 * bit flipped in flight), only where both digests are live: false (and
 * nothing armed) otherwise. */
bool ini_corrupt(struct ini *ini, unsigned int dirs, unsigned int count);
/* The TSIH of the last login (0: none). */
uint16_t ini_tsih(const struct ini *ini);

/* Connection-level actions and faults. */
void ini_disconnect(struct ini *ini); /* FIN, then forget the conn */
void ini_reset(struct ini *ini);      /* RST */
void ini_vanish(struct ini *ini);     /* host dies silently */
void ini_half_close(struct ini *ini); /* FIN, keep reading */

const char *ini_opcode_name(uint8_t op);

#endif
