/*
 * session.h — the session layer: sessions in full feature phase
 * (session.c), their tasks with CmdSN order, Data-Out, R2Ts, execution
 * and responses (task.c), task management (tmf.c), and the answers they
 * owe (owed.c).  Above the connection layer (conn.h), below login and the
 * server.  Included by iscsi_int.h, after conn.h.
 *
 * Upward, this layer reaches the server only through struct
 * iscsi_server_ops (srv->ops), and task.c and tmf.c reach session.c only
 * through struct iscsi_sess_events (s->events).
 */
#ifndef UT_ISCSI_SESSION_H
#define UT_ISCSI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "env.h"
#include "iscsi/conn.h"
#include "iscsi/text.h"
#include "queue_compat.h"
#include "scsi/scsi.h"

struct iscsi_tgt;

/* Operational parameters in force on a session/connection (RFC 7143 §13). */
struct iscsi_params {
	bool header_digest;
	bool data_digest;
	uint32_t max_recv_dsl; /* what we accept per PDU (declared) */
	uint32_t max_xmit_dsl; /* what the initiator accepts */
	uint32_t max_burst;
	uint32_t first_burst;
	uint32_t max_outstanding_r2t;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t error_recovery_level;
	bool initial_r2t;
	bool immediate_data;
	bool data_pdu_in_order;
	bool data_seq_in_order;
};

enum iscsi_task_state {
	TASK_RX_DATA = 0, /* waiting for (more) Data-Out */
	TASK_QUEUED = 1,  /* waiting for CmdSN order */
	TASK_EXEC = 2,	  /* inside the SCSI layer */
	TASK_TX = 3,	  /* response queued for transmission */
};

struct iscsi_r2t {
	uint32_t next_datasn;
	uint32_t ttt;
	uint32_t offset;
	uint32_t length;
	uint32_t received;
	uint32_t r2tsn;
};

struct iscsi_task {
	struct scsi_cmd cmd; /* first: the SCSI layer sees this */
	struct iscsi_sess *sess;
	enum iscsi_task_state state;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t edtl;
	bool immediate;
	bool buf_is_budgeted;
	uint32_t buf_pool_cap;	   /* real size of cmd.buf (pool class) */
	uint32_t data_received;	   /* Data-Out bytes so far */
	uint32_t unsolicited_left; /* unsolicited bytes still expected */
	uint32_t r2t_next_offset;  /* first byte not yet solicited */
	uint32_t r2tsn;		   /* next R2TSN */
	uint32_t next_datasn;	   /* next Data-Out DataSN expected
					 * within the current sequence */
	uint32_t datain_sn;	   /* Data-In DataSN */
	struct iscsi_r2t r2ts[ISCSI_MAX_R2T_TRACK];
	unsigned int r2t_count; /* outstanding */
	unsigned int tx_refs;	/* queued PDUs pointing into buf */
	/* Its Data-In went from a file (conn_send_file) on connection
	 * file_conn (an id) up to stream position file_end: its reference
	 * is released once the peer acknowledged that (conn_ack.c). */
	bool file_sent;
	uint32_t file_conn;
	uint64_t file_end;
	bool in_scsi;	  /* handed to scsi_cmd_exec(), not back yet:
				 * the SCSI layer holds it, nobody frees it */
	bool placed;	  /* accepted with Data-Out to come, it took
				 * its place in its LU's task set
				 * (scsi_cmd_accept): executed from there,
				 * or withdrawn if it ends first */
	bool place_tried; /* scsi_cmd_accept() was asked (once) */
	bool responded;
	bool accepted;	      /* in CmdSN order: may run */
	bool aborting;	      /* our own TMF ended it: answer
					 * nothing (the TMF response does) */
	bool tas_aborted;     /* another session's TMF ended it:
					 * answer TASK ABORTED (TAS=1) once
					 * the data it solicited is in */
	bool final_seen;      /* unsolicited sequence ended */
	uint8_t fixed_status; /* answered without the SCSI layer */
	bool fixed_too_long;  /* ... because EDTL is over the limit */
	uint32_t unsol_next;  /* next unsolicited offset expected */
	uint64_t arrival_ns;  /* when its command header came */
	uint64_t exec_ns;     /* when it went to run (TASK_EXEC) */
	bool owed;	      /* an answer is owed (session.c) */
	/* RspTimeout closed its connection while it had been inside the
	 * SCSI layer on its own for less than RspTimeout: it is counted
	 * stuck if it is still there when it has (owed.c) */
	struct env_timer *stuck_timer;
	uint64_t stuck_from_ns;		      /* ... there on its own since */
	bool stuck_judging;		      /* ... and not judged yet */
	struct iscsi_tmf *tmf;		      /* TMF waiting for this task */
	TAILQ_ENTRY(iscsi_task) link;	      /* session task list */
	TAILQ_ENTRY(iscsi_task) pending_link; /* CmdSN reorder queue */
	LIST_ENTRY(iscsi_task) itt_link;      /* its bucket of itt_index */
};

TAILQ_HEAD(iscsi_task_list, iscsi_task);

/* The widest CmdSN window: QueuedCommands is at most 2048 (config). */
#define ISCSI_CMDSN_RING 2048u
LIST_HEAD(iscsi_task_bucket, iscsi_task);

/* The session's tasks by ITT (task.c): every task of s->tasks is in the
 * bucket its ITT hashes to, and nothing else is.  A fixed table: with
 * the default QueuedCommands (128) a full window averages two tasks a
 * bucket; an initiator that picks colliding ITTs makes a lookup walk its
 * own tasks, as the one list did before (at most QueuedCommands + 16). */
#define ISCSI_ITT_BUCKETS_LOG2 6u
#define ISCSI_ITT_BUCKETS (1u << ISCSI_ITT_BUCKETS_LOG2)

/* A task management request waiting for its tasks to terminate
 * (RFC 7143 §11.5: the response follows the last affected task). */
struct iscsi_tmf {
	struct iscsi_sess *sess; /* its session (holds: tmf_hold) */
	uint32_t itt;
	uint8_t response;
	uint8_t function;
	unsigned int waiting;
	bool lost; /* a wait could not be kept: no answer (tmf_lost) */
	uint64_t arrival_ns;
	bool owed; /* its response is not queued yet */
	/* a later TMF that aborts a task this one is still waiting for:
	 * it waits for this one (tmf_abort_one) */
	struct iscsi_tmf *then;
	TAILQ_ENTRY(iscsi_tmf) link;
};
TAILQ_HEAD(iscsi_tmf_list, iscsi_tmf);

/*
 * What task.c and tmf.c tell the session above them (session.c sets
 * s->events): the only way they reach up within the layer.
 *   task_gone     a task has been freed; tmf is the TMF that waited for
 *                 it, or NULL.  A TMF response, a Logout response or the
 *                 session's own end may follow.
 *   tmf_answered  a TMF response has been queued: a Logout may follow.
 */
struct iscsi_sess_events {
	void (*task_gone)(struct iscsi_sess *s, struct iscsi_tmf *tmf);
	void (*tmf_answered)(struct iscsi_sess *s);
};

struct iscsi_sess {
	struct iscsi_server *srv;
	struct env *env; /* its reactor (its connection's) */
	struct iscsi_reactor *r;
	uint32_t conn_id;	   /* its connection's id (for logs and
					 * other reactors) */
	struct env_conn_info info; /* its connection's addresses */
	uint32_t conf_gen;	   /* srv->conf_gen its LUN map follows */
	struct iscsi_tgt *tgt;	   /* NULL for discovery */
	struct iscsi_conn *conn;   /* the one connection, or NULL */
	const struct iscsi_sess_events *events; /* session.c's */
	bool discovery;
	char initiator_name[UT_NAME_MAX];
	char initiator_alias[256];
	uint8_t isid[6];
	uint16_t tsih;
	struct iscsi_params p;
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
	uint32_t queue_depth;
	uint32_t tasks_alive; /* non-immediate + immediate */
	uint32_t window_used; /* non-immediate tasks alive */
	uint32_t immediate_alive;
	struct iscsi_tmf_list tmfs;
	uint32_t tmfs_alive; /* on tmfs, at most ISCSI_TMF_MAX(queue_depth) */
	/* TMFs' waits on other reactors (other sessions' tasks, commands
	 * of other nexuses): each ends with a release posted here by
	 * pointer, so the session lives until the last (tmf.c). */
	unsigned int tmf_holds;
	bool logout_pending;
	uint32_t logout_itt;
	uint8_t logout_rsp;
	uint32_t next_ttt;
	struct iscsi_task_list tasks;
	struct iscsi_task_bucket itt_index[ISCSI_ITT_BUCKETS]; /* tasks by ITT */
	struct iscsi_task_list pending; /* out of order, awaiting CmdSN */
	/* CmdSNs inside the window that an ABORT TASK named though no
	 * command of theirs was received (RFC 7143 §11.5.1: considered
	 * received): one bit per CmdSN modulo ISCSI_CMDSN_RING, set only
	 * in (ExpCmdSN, MaxCmdSN], cleared as ExpCmdSN passes it */
	uint8_t cmdsn_gone[ISCSI_CMDSN_RING / 8];
	/* ABORT TASK SET, CLEAR TASK SET and LOGICAL UNIT RESET that came
	 * while a CmdSN before theirs was missing (RFC 7143 §11.5.1: they
	 * act on every command of the session with a lower CmdSN): a
	 * command of LUN l that arrives later with a CmdSN before
	 * gap_below[l] is one of theirs, considered received and ignored.
	 * gap_lun marks the LUNs with such a bound (one per LUN, the
	 * highest); gap_until is the highest of them, and all go once
	 * ExpCmdSN reaches it (every CmdSN below is then accounted for). */
	uint32_t gap_below[UT_MAX_LUNS];
	uint8_t gap_lun[UT_MAX_LUNS / 8];
	bool gap_any;
	uint32_t gap_until;
	/* Answers owed (tasks and TMFs, session.c): how many, and the
	 * arrival of the oldest (UINT64_MAX: none).  Written by the
	 * session's reactor, read atomically by iscsi_server_get_stats(). */
	uint32_t owed;
	uint64_t owed_since_ns;
	/* Its share of the server's task buffer budget (task.c
	 * task_alloc_buf): the bytes its tasks hold, never above buf_limit
	 * (SessionBufferLimit at login), so that one session, hostile or
	 * stuck, cannot take the whole budget from the others. */
	uint64_t buf_bytes;
	uint64_t buf_limit;
	struct scsi_sess *scsi;
	TAILQ_ENTRY(iscsi_sess) link;
	bool closing;
	bool in_teardown;
};

/*
 * What the session and login layers ask of the server above them
 * (server.c sets srv->ops): the only way they reach up.
 */
struct iscsi_server_ops {
	/* The target of that name, or NULL (removed ones are not found). */
	struct iscsi_tgt *(*find_target)(struct iscsi_server *srv,
					 const char *name);
	/* Is there a session of initiator port (initiator, isid) with
	 * target port (tgt, tpgt) whose TSIH is tsih (0: any)? */
	bool (*session_exists)(struct iscsi_server *srv, const char *initiator,
			       const uint8_t isid[6],
			       const struct iscsi_tgt *tgt, uint16_t tpgt,
			       uint16_t tsih);
	/* RFC 7143 §6.3.5: a login (on connection c) with TSIH 0 and the
	 * ISID of a live session reinstates it: that session is closed (on
	 * its reactor), and its tasks end before the new session begins.
	 * True when c's login must wait: iscsi_login_resume(c) runs on c's
	 * reactor once the old session has ended. */
	bool (*reinstate)(struct iscsi_server *srv, struct iscsi_conn *c,
			  const char *initiator, const uint8_t isid[6],
			  const struct iscsi_tgt *tgt, uint16_t tpgt);
	/* Give the new session s its place: its I_T nexus on the target
	 * port its connection arrived through, its LUNs (LUN masking), a
	 * TSIH within MaxSessions (max_sessions), in the server's list.
	 * 0, or -1 (s is then not listed and has no nexus). */
	int (*sess_attach)(struct iscsi_sess *s, uint32_t max_sessions);
	/* s ends: its nexus goes, and it leaves the server's list. */
	void (*sess_detach)(struct iscsi_sess *s);
	/* SAM-5 §7.6: tasks of the other sessions on lu (never NULL: a
	 * target reset sweeps its LUs one by one) waiting for Data-Out or
	 * CmdSN order end, of every target mapping lu, each
	 * session on its reactor: hook->hold() for each one done later on
	 * another reactor, hook->release() on from's reactor once it is
	 * done (the TMF answers after that). */
	void (*abort_waiting)(const struct iscsi_sess *from,
			      const struct scsi_lu *lu,
			      const struct scsi_tmf_hook *hook);
	/* TARGET COLD RESET answered: every other session of from's
	 * target ends. */
	void (*close_target_sessions)(const struct iscsi_sess *from);
	/* SendTargets=what (RFC 7143 Appendix C) for s; 0, or -ENOMEM
	 * (the answer would be incomplete). */
	int (*sendtargets)(struct iscsi_sess *s, const char *what,
			   struct iscsi_kvlist *out);
};

/* ------------------------------------------------------------ owed.c */

/* Liveness bookkeeping: work that arrived now owes an answer (*owed and
 * *arrival_ns are its); it is answered; the connection is gone. */
void iscsi_owed_add(struct iscsi_sess *s, bool *owed, uint64_t *arrival_ns);
void iscsi_owed_settle(struct iscsi_sess *s, bool *owed, uint64_t arrival_ns);
void iscsi_owed_clear(struct iscsi_sess *s);
/* t's response is queued, or it ends without one (a Reject, or its own
 * session's TMF concludes it). */
void iscsi_task_answered(struct iscsi_task *t);
/* Our own TMF ends t: that TMF, owed itself, answers for it. */
void iscsi_task_taken_over(struct iscsi_task *t);
/* Arrival of the oldest answer owed, UINT64_MAX if none. */
uint64_t iscsi_sess_owed_since(const struct iscsi_sess *s);
/* Has the oldest answer owed waited timeout_ns by now?  Then it logs
 * what waited and counts an RspTimeout; the caller closes. */
bool iscsi_sess_owed_overdue(struct iscsi_sess *s, uint64_t now_ns,
			     uint64_t timeout_ns);
/* t came back from the SCSI layer: an RspTimeout that left it there to
 * be judged (stuck_timer) has its answer -- not stuck, if in time. */
void iscsi_task_stuck_judged(struct iscsi_task *t);

/* ------------------------------------------------------------ task.c */

/* ExpCmdSN and MaxCmdSN (the window, RFC 7143 §4.2.2.1) into h. */
void iscsi_sess_fill_sn(struct iscsi_sess *s, struct iscsi_bhs *h);
/* Is a non-immediate CmdSN inside the window? */
bool iscsi_cmdsn_in_window(struct iscsi_sess *s, uint32_t cmdsn);
/* RFC 7143 §11.5.1: an ABORT TASK named cmdsn (inside the window, before
 * the TMF's own) and no task of it was received: the target considers
 * the CmdSN received, so that the commands after it need not wait for
 * it, and a command of it that comes after all is ignored. */
void iscsi_sess_cmdsn_received(struct iscsi_sess *s, uint32_t cmdsn);
/* RFC 7143 §11.5.1: a task-set TMF (lun < UT_MAX_LUNS) or, with lun
 * UINT64_MAX, a target reset whose CmdSN is tmf_cmdsn acts on the
 * commands before it not yet received too: a target reset's CmdSNs are
 * considered received at once; a LUN's are when a command of that LUN
 * comes (iscsi_task_cmd_header() ignores it), those of other LUNs run. */
void iscsi_sess_tmf_gap(struct iscsi_sess *s, uint64_t lun, uint32_t tmf_cmdsn);
/* A non-immediate request other than a SCSI command takes its CmdSN: at
 * once at ExpCmdSN, when ExpCmdSN reaches it if it is ahead (a CmdSN gap
 * below it).  False: outside the window or a duplicate, the request is
 * to be ignored (RFC 7143 §4.2.2.1); an immediate one is always true. */
bool iscsi_sess_consume_cmdsn(struct iscsi_sess *s, const struct iscsi_bhs *h);
/* A fresh Target Transfer Tag (never 0xffffffff). */
uint32_t iscsi_sess_new_ttt(struct iscsi_sess *s);
/* text_ffp.c: a Text Request in full feature phase (RFC 7143 §11.10) */
void iscsi_ffp_text(struct iscsi_conn *c);
struct iscsi_task *iscsi_sess_find_task(struct iscsi_sess *s, uint32_t itt);
void iscsi_task_free(struct iscsi_task *t);
/* A queued PDU pointing into t's buffer has left the queue. */
void iscsi_task_put_tx(struct iscsi_task *t);
/* The task may move on: solicit what is missing, or run it. */
void iscsi_task_progress(struct iscsi_task *t);
/* A SCSI Command's header (choose where its immediate data goes) and the
 * whole PDU; a Data-Out's header (check it against the task's R2Ts and
 * place its data in the task's buffer) and the whole PDU. */
void iscsi_task_cmd_header(struct iscsi_conn *c);
void iscsi_task_cmd_pdu(struct iscsi_conn *c);
void iscsi_task_dataout_header(struct iscsi_conn *c);
void iscsi_task_dataout_pdu(struct iscsi_conn *c);
/* Is t's own SCSI Command PDU still arriving? */
bool iscsi_task_cmd_pdu_arriving(const struct iscsi_task *t);
/* End a task that is not inside the SCSI layer, without a response.  A
 * task placed in the SCSI task set is only marked: the TMF ends it with
 * iscsi_task_end_aborted() once the SCSI layer has marked what the TMF
 * aborts there. */
void iscsi_task_abort_silently(struct iscsi_task *t);
void iscsi_task_end_aborted(struct iscsi_task *t);
/* A task placed in its LU's task set (t->placed) ends before it runs:
 * it leaves the set, which lets go the commands it held (they may run
 * and end at once: the caller walks its lists again). */
void iscsi_task_withdraw(struct iscsi_task *t);
/* s loses its nexus at lun (LUN masking, the LU going): its tasks placed
 * there leave their place now, so that the nexus and the LU go without
 * waiting for their data; each runs as a command arriving when its data
 * is in (on whatever the LUN names then, or LOGICAL UNIT NOT
 * SUPPORTED), as before it had a place. */
void iscsi_sess_withdraw_lun(struct iscsi_sess *s, uint64_t lun);
/* Move t to state to, one of the changes the diagram in task.c allows. */
void iscsi_task_set_state(struct iscsi_task *t, enum iscsi_task_state to);

/* -------------------------------------------------------- task_rsp.c */

/* Answer t, once: Data-In (status collapsed into the last where it may
 * be) and/or the SCSI Response; t is freed now if no queued PDU points
 * into its buffer, else when the last one is sent. */
void iscsi_task_respond(struct iscsi_task *t);

/* ------------------------------------------------------------- tmf.c */

/* A Task Management Function Request (the whole PDU). */
void iscsi_tmf_rx(struct iscsi_conn *c);
/* One task tmf waited for is gone (or tmf's own setup is done): the
 * response goes out after the last. */
void iscsi_tmf_task_gone(struct iscsi_sess *s, struct iscsi_tmf *tmf);
/* End tasks of s still waiting for Data-Out or CmdSN order on lu (not
 * NULL), answered TASK ABORTED (TAS=1). */
void iscsi_sess_abort_waiting(struct iscsi_sess *s, const void *lu);

/* --------------------------------------------------------- session.c */

/* The phase of a connection in full feature phase (conn.h). */
extern const struct iscsi_conn_phase iscsi_ffp_phase;
/* What a completed login established, for the session it creates. */
struct iscsi_sess_init {
	struct iscsi_tgt *tgt; /* NULL for discovery */
	bool discovery;
	const char *initiator_name;
	const char *initiator_alias;
	const uint8_t *isid; /* 6 bytes */
	struct iscsi_params p;
	uint32_t cmdsn; /* the first CmdSN */
};
/* A session for a login that completed on c; NULL when refused (out of
 * memory, MaxSessions). */
struct iscsi_sess *iscsi_sess_new(struct iscsi_conn *c,
				  const struct iscsi_sess_init *in);
void iscsi_sess_free(struct iscsi_sess *s);

#endif
