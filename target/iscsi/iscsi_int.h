/*
 * iscsi_int.h — the iSCSI layer's internal objects.
 *
 *   iscsi_server   the configured targets, LUs, portals and sessions
 *   iscsi_tgt      one configured target (name, LUN map, parameters)
 *   iscsi_conn     one TCP connection: receive framing, transmit queue,
 *                  login state, then full feature phase for its session
 *   iscsi_sess     one session (MaxConnections=1: exactly one connection)
 *   iscsi_task     one SCSI task: the scsi_cmd plus its iSCSI transfer
 *                  state (R2Ts, Data-Out progress, Data-In)
 *   iscsi_txpdu    one outgoing PDU: header bytes plus data iovecs
 */
#ifndef UT_ISCSI_INT_H
#define UT_ISCSI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "queue_compat.h"

#include "config/config.h"
#include "env.h"
#include "iscsi/acl.h"
#include "iscsi/chap.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "iscsi/pool.h"
#include "iscsi/text.h"
#include "scsi/scsi.h"

/* Limits on what the network can make us hold. */
#define ISCSI_LOGIN_MRDSL 8192	   /* during login (RFC 7143 §6.1) */
#define ISCSI_TEXT_MAX_BYTES 65536 /* one text negotiation, reassembled */
/* A Text Response (SendTargets=All): one TargetName and one TargetAddress
 * per portal of every target fit, whatever the configuration. */
#define ISCSI_TEXT_RSP_MAX_PAIRS (UT_MAX_TARGETS * (UT_MAX_PORTALS + 1))
#define ISCSI_TEXT_RSP_MAX_BYTES (1u << 20)
#define ISCSI_LOGIN_PDUS_MAX 64 /* login PDUs per connection */
/* Connections per server: each costs a descriptor and about 80 KiB
 * (receive staging, buffers); sessions are bounded by it, MaxSessions 0
 * meaning no other limit (SCST: 0 = unlimited). */
#define ISCSI_MAX_CONNECTIONS 4096
#define ISCSI_MAX_EDTL SCSI_MAX_XFER_BYTES  /* per command data buffer */
#define ISCSI_BUFFER_BUDGET (1024ull << 20) /* all task buffers together */
#define ISCSI_LOGIN_TIMEOUT_NS (30ull * 1000000000ull)
#define ISCSI_TX_IOV_MAX 64	      /* iovecs gathered per send call */
#define ISCSI_MAX_R2T_TRACK 64	      /* outstanding R2Ts tracked per task */
#define ISCSI_TX_UNTIED_PDUS_MAX 1024 /* queued PDUs that no task bounds */
#define ISCSI_TX_UNTIED_BYTES_MAX (16u << 20)

#define ISCSI_MAX_REACTORS 64
#define ISCSI_DEFAULT_TPGT 1

struct iscsi_conn;
struct iscsi_sess;
struct iscsi_server;

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

/*
 * What may change of a target while it serves (reconfig.c).  A conf is
 * built whole, published with one pointer store and never modified after;
 * a reader loads it once per callback (iscsi_tgt_conf()) and keeps nothing
 * of it across callbacks.  A replaced conf is freed once every reactor
 * has been through a callback boundary (iscsi_server_retire()), and the
 * LUs it names live at least that long.
 */
struct iscsi_tgt_conf {
	bool enabled;
	char alias[256];
	struct ut_iscsi_params params;
	struct iscsi_auth_cfg auth;	     /* IncomingUser/OutgoingUser */
	struct iscsi_acl acl;		     /* groups, allowed portals */
	struct scsi_lu *lun_lu[UT_MAX_LUNS]; /* default LUN set */
	bool lun_ro[UT_MAX_LUNS];
};

/* A target's identity, which sessions and logins point to.  Never freed
 * while the server runs: a removed target becomes a tombstone (disabled,
 * not found by name) that a target of the same name added later reuses. */
struct iscsi_tgt {
	struct iscsi_server *srv;
	char name[UT_NAME_MAX];
	uint16_t tpgt;
	/* Relative target port identifier of this target's port in each
	 * portal group (srv->tpgts[i]); set before the target is published
	 * (tport.c). */
	uint16_t rel_port[UT_MAX_PORTALS];
	unsigned int index;
	struct iscsi_tgt_conf *conf; /* atomic; NULL before start */
	bool removed;		     /* atomic */
};

static inline const struct iscsi_tgt_conf *
iscsi_tgt_conf(const struct iscsi_tgt *t)
{
	return __atomic_load_n(&t->conf, __ATOMIC_ACQUIRE);
}

/* A device of the configuration and the LU over it (reconfig.c). */
struct iscsi_lu_ent {
	char name[UT_DEV_NAME_MAX];
	struct scsi_lu *lu;
	struct bs_dev *bs;
	struct ut_dev_cfg cfg;
	uint32_t index; /* LU index, unique while the server runs */
	/* Going (removed, or replaced by another backing): waiting until
	 * no nexus is left and the confs naming it are freed. */
	bool going;
	uint64_t going_since_ns;
	uint64_t grace_seq;	 /* the retire round it waits for */
	bool aborted;		 /* its commands were aborted after the wait */
	struct iscsi_reconf *op; /* the operation waiting for it */
	TAILQ_ENTRY(iscsi_lu_ent) going_link;
};
TAILQ_HEAD(iscsi_lu_ent_list, iscsi_lu_ent);

TAILQ_HEAD(iscsi_conn_list, iscsi_conn);
TAILQ_HEAD(iscsi_sess_list, iscsi_sess);

struct iscsi_server {
	struct env *env;
	struct ut_iscsi_params cfg_params;    /* driver level: discovery */
	struct iscsi_auth_cfg discovery_auth; /* driver-level users */
	/* Targets and devices: fixed-size arrays of pointers, so that a
	 * reader on another reactor never sees them move.  tgt_count only
	 * grows (atomic); entries of lus change on reactor 0 only (the
	 * control path), which alone reads them after start. */
	struct iscsi_tgt **tgts; /* UT_MAX_TARGETS slots */
	size_t tgt_count;
	struct iscsi_lu_ent **lus; /* UT_MAX_DEVS slots */
	size_t lu_count;
	uint32_t next_lu_index;
	struct ut_config cfg;		/* the running configuration */
	struct iscsi_lu_ent_list going; /* devices draining (reconfig.c) */
	struct iscsi_reconf *reconf;	/* the operation in progress */
	struct env_timer *reconf_timer;
	uint32_t conf_gen;		/* atomic: bumped by each change */
	uint64_t grace_seq, grace_done; /* retire rounds started, ended */
	struct iscsi_retired *retired;	/* waiting for their round */
	uint64_t start_ns;
	char **portals;
	uint16_t *portal_tpgts; /* each portal's portal group tag */
	size_t portal_count;
	/* Target ports and ALUA (tport.c), fixed at start. */
	uint16_t tpgts[UT_MAX_PORTALS]; /* the portal groups, ascending */
	size_t tpgt_count;
	struct ut_port *ports; /* of the configuration at start */
	size_t port_count;
	struct scsi_alua_group **alua; /* device groups */
	size_t alua_count;
	struct env_listener **listeners;
	size_t listener_count;
	/* Under lock (NULL with one reactor): the lists and counters below.
	 * A connection, its session and their tasks belong to the
	 * connection's reactor; other reactors reach them only through
	 * env_post() (iscsi_sess_post()). */
	struct env_mutex *lock;
	struct iscsi_conn_list conns;
	struct iscsi_sess_list sessions;
	uint32_t conn_count;
	uint32_t sess_count;
	uint16_t next_tsih;
	uint32_t next_conn_id; /* for logs */
	struct iscsi_reactor *reactors[ISCSI_MAX_REACTORS];
	unsigned int reactor_count;
	uint64_t buffer_bytes; /* atomic: all reactors' task buffers */
	bool shutting_down;
	void (*shutdown_done)(void *arg);
	void *shutdown_arg;
	struct env_timer *shutdown_timer;
	struct iscsi_server_stats stats; /* of no reactor: sessions, conns */
};

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
	bool responded;
	bool accepted;		      /* in CmdSN order: may run */
	bool aborting;		      /* our own TMF ended it: answer
					 * nothing (the TMF response does) */
	bool tas_aborted;	      /* another session's TMF ended it:
					 * answer TASK ABORTED (TAS=1) once
					 * the data it solicited is in */
	bool final_seen;	      /* unsolicited sequence ended */
	uint8_t fixed_status;	      /* answered without the SCSI layer */
	bool fixed_too_long;	      /* ... because EDTL is over the limit */
	uint32_t unsol_next;	      /* next unsolicited offset expected */
	uint64_t arrival_ns;	      /* when its command header came */
	bool owed;		      /* an answer is owed (session.c) */
	struct iscsi_tmf *tmf;	      /* TMF waiting for this task */
	TAILQ_ENTRY(iscsi_task) link; /* session task list */
	TAILQ_ENTRY(iscsi_task) pending_link; /* CmdSN reorder queue */
};

TAILQ_HEAD(iscsi_task_list, iscsi_task);

/* A task management request waiting for its tasks to terminate
 * (RFC 7143 §11.5: the response follows the last affected task). */
struct iscsi_tmf {
	uint32_t itt;
	uint8_t response;
	uint8_t function;
	unsigned int waiting;
	uint64_t arrival_ns;
	bool owed; /* its response is not queued yet */
	TAILQ_ENTRY(iscsi_tmf) link;
};
TAILQ_HEAD(iscsi_tmf_list, iscsi_tmf);

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
	bool logout_pending;
	uint32_t logout_itt;
	uint8_t logout_rsp;
	uint32_t next_ttt;
	struct iscsi_task_list tasks;
	struct iscsi_task_list pending; /* out of order, awaiting CmdSN */
	/* Answers owed (tasks and TMFs, session.c): how many, and the
	 * arrival of the oldest (UINT64_MAX: none).  Written by the
	 * session's reactor, read atomically by iscsi_server_get_stats(). */
	uint32_t owed;
	uint64_t owed_since_ns;
	struct scsi_sess *scsi;
	TAILQ_ENTRY(iscsi_sess) link;
	bool closing;
	bool in_teardown;
};

/* One outgoing PDU. */
struct iscsi_txpdu {
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint32_t hdr_len;    /* 48 or 52 */
	const uint8_t *data; /* data segment or NULL */
	uint32_t data_len;
	uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* pad + data digest */
	uint32_t trailer_len;
	uint64_t sent;			 /* bytes of this PDU already sent */
	uint8_t *owned;			 /* heap data to free with the PDU */
	uint8_t inl[2 + SCSI_SENSE_MAX]; /* small data: sense, echoes */
	struct iscsi_task *task;	 /* holds a tx_ref while queued */
	bool close_after;		 /* close the connection once sent */
	bool queued;			 /* in a connection's txq */
	TAILQ_ENTRY(iscsi_txpdu) link;
};

TAILQ_HEAD(iscsi_tx_list, iscsi_txpdu);

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

struct iscsi_login_state {
	int csg;	   /* current stage */
	bool transit_seen; /* we agreed to a transition */
	bool first_done;   /* first request processed */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t max_cmdsn; /* answered in login responses */
	int version_max;
	bool discovery;
	char initiator_name[UT_NAME_MAX];
	char initiator_alias[256];
	struct iscsi_tgt *tgt;
	struct iscsi_chap chap;	    /* security stage (chap.h) */
	struct iscsi_params p;	    /* being negotiated */
	struct iscsi_kvlist agreed; /* keys already answered */
	uint8_t *text;		    /* reassembly of C=1 requests */
	uint32_t text_len;
	uint8_t *out; /* response text still to send */
	uint32_t out_len, out_off;
	bool out_transit, out_complete; /* what its last piece does */
	int out_nsg;
	unsigned int pdu_count;
};

struct iscsi_conn {
	struct iscsi_server *srv;
	struct env *env; /* the reactor that owns it */
	struct iscsi_reactor *r;
	struct env_conn *ec;
	struct env_conn_info info;
	enum iscsi_conn_state state;
	uint32_t id; /* for logs */
	uint16_t cid;
	struct iscsi_sess *sess;
	/* negotiated transport properties */
	bool header_digest;
	bool data_digest;
	uint32_t max_recv_dsl;
	uint32_t max_xmit_dsl;
	uint32_t stat_sn;
	uint32_t exp_stat_sn;
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
	/* login */
	struct iscsi_login_state login;
	struct env_timer *login_timer;
	/* keepalive (NOP-In) and the half-received-PDU idle limit */
	struct env_timer *ka_timer;
	uint64_t last_rx_ns; /* when bytes last arrived */
	uint64_t ping_sent_ns;
	uint64_t nop_interval_ns; /* 0 = no pings */
	uint64_t nop_timeout_ns;
	uint64_t idle_ns;	 /* a PDU may stall this long */
	uint64_t rsp_timeout_ns; /* RspTimeout: an answer owed this long
				  * closes the connection */
	uint64_t ka_due_ns;	 /* when ka_timer fires next */
	uint32_t ping_ttt;
	bool ping_outstanding;
	/* the Text exchange in full feature phase (text_ffp.c) */
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
	bool dead; /* freed when callbacks unwind */
	TAILQ_ENTRY(iscsi_conn) link;
};

/* conn.c */
void iscsi_conn_accept(void *arg, struct env_conn *ec,
		       const struct env_conn_info *info);
void iscsi_conn_close(struct iscsi_conn *c, const char *why);
struct iscsi_txpdu *iscsi_txpdu_new(struct iscsi_conn *c, uint8_t opcode);
void iscsi_txpdu_set_data(struct iscsi_txpdu *t, const uint8_t *data,
			  uint32_t len, uint8_t *owned);
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
void iscsi_conn_enter_ffp(struct iscsi_conn *c);
/* The task receiving the current data segment is gone. */
void iscsi_conn_rx_task_gone(struct iscsi_conn *c, struct iscsi_task *t);
/* A NOP-Out answered our NOP-In ping with this TTT. */
void iscsi_conn_ping_answered(struct iscsi_conn *c, uint32_t ttt);
/* The session owes an answer again, to work that arrived at since_ns:
 * have the keepalive timer check RspTimeout in time. */
void iscsi_conn_owed_from(struct iscsi_conn *c, uint64_t since_ns);
/* Out of memory for a PDU the connection must send: close it at the next
 * flush (a safe point), and send nothing more on it until then.  The one
 * policy for every PDU (RFC 7143 has no way to say "answer lost"). */
void iscsi_conn_fail_soon(struct iscsi_conn *c, const char *why);

/* login.c */
void iscsi_login_rx(struct iscsi_conn *c);
void iscsi_login_cleanup(struct iscsi_conn *c);
void iscsi_params_from_cfg(struct iscsi_params *p,
			   const struct ut_iscsi_params *cfg);

/* session.c */
void iscsi_ffp_rx_header(struct iscsi_conn *c);
void iscsi_ffp_rx_pdu(struct iscsi_conn *c);
struct iscsi_sess *iscsi_sess_new(struct iscsi_conn *c,
				  struct iscsi_login_state *ls);
void iscsi_sess_detach_conn(struct iscsi_sess *s);
void iscsi_sess_free(struct iscsi_sess *s);
void iscsi_task_put_tx(struct iscsi_task *t);
void iscsi_sess_fill_sn(struct iscsi_sess *s, struct iscsi_bhs *h);
/* Arrival of the oldest answer owed, UINT64_MAX if none. */
uint64_t iscsi_sess_owed_since(const struct iscsi_sess *s);
/* Has the oldest answer owed waited timeout_ns by now?  Then it logs
 * what waited and counts an RspTimeout; the caller closes. */
bool iscsi_sess_owed_overdue(struct iscsi_sess *s, uint64_t now_ns,
			     uint64_t timeout_ns);
/* A fresh Target Transfer Tag (never the reserved 0xffffffff). */
uint32_t iscsi_sess_new_ttt(struct iscsi_sess *s);
/* A non-immediate request other than a SCSI command takes its CmdSN. */
void iscsi_sess_consume_cmdsn(struct iscsi_sess *s, const struct iscsi_bhs *h);

/* text_ffp.c: a Text Request in full feature phase */
void iscsi_ffp_text(struct iscsi_conn *c);

/* text / discovery: 0, or -ENOMEM (the answer would be incomplete) */
int iscsi_sendtargets(struct iscsi_server *srv, struct iscsi_conn *c,
		      const char *what, struct iscsi_kvlist *out);

/* server.c */
struct iscsi_tgt *iscsi_server_find_target(struct iscsi_server *srv,
					   const char *name);
uint16_t iscsi_server_new_tsih(struct iscsi_server *srv);
/* The session of initiator port (initiator, isid) with target port
 * (tgt, tpgt) (RFC 7143 §4.4.3: the SSID is the ISID and the TPGT);
 * tsih 0 matches any. */
struct iscsi_sess *iscsi_server_find_session(struct iscsi_server *srv,
					     const char *initiator,
					     const uint8_t isid[6],
					     const struct iscsi_tgt *tgt,
					     uint16_t tpgt, uint16_t tsih);

/* tport.c: target ports (target x portal group) and ALUA device groups */
int iscsi_tports_init(struct iscsi_server *srv);
int iscsi_tports_group(struct iscsi_server *srv,
		       const struct ut_dev_group_cfg *dg);
void iscsi_tports_free(struct iscsi_server *srv);
void iscsi_tports_assign(struct iscsi_server *srv, struct iscsi_tgt *t);
uint16_t iscsi_tport_rel_id(const struct iscsi_tgt *t, uint16_t tpgt);
void iscsi_tports_lu_opened(struct iscsi_server *srv, struct iscsi_lu_ent *e);
void iscsi_tports_lu_gone(struct iscsi_server *srv, struct iscsi_lu_ent *e);
void iscsi_server_conn_gone(struct iscsi_server *srv);
/* Return the data path's cached memory (at server free). */
void iscsi_pools_drain(struct iscsi_reactor *r);
struct iscsi_reactor *iscsi_server_reactor(struct iscsi_server *srv,
					   struct env *env);

/* Work on connections and sessions that may belong to other reactors:
 * done at once for those of `here` (the calling reactor), posted to the
 * others, which find the object again by id (it may be gone by then). */
enum iscsi_xop {
	ISCSI_XOP_CLOSE,	  /* close the connection (why) */
	ISCSI_XOP_LOGOUT_REQUEST, /* Async logout request, arg = ms */
	ISCSI_XOP_ABORT_WAITING,  /* iscsi_sess_abort_waiting(ptr) */
	ISCSI_XOP_RESYNC_LUNS,	  /* iscsi_sess_resync_luns() */
};
/* One connection (by id) of reactor `to`. */
void iscsi_server_conn_op(struct iscsi_server *srv, struct env *here,
			  struct env *to, uint32_t conn_id, enum iscsi_xop op,
			  const char *why);
void iscsi_server_each_conn(struct iscsi_server *srv, struct env *here,
			    enum iscsi_xop op, uint32_t arg, const char *why);
/* Sessions of tgt other than except (not discovery ones). */
void iscsi_server_each_sess(struct iscsi_server *srv, struct env *here,
			    const struct iscsi_sess *except,
			    const struct iscsi_tgt *tgt, enum iscsi_xop op,
			    const void *ptr, const char *why);
/* Connection work (by id, e.g. ISCSI_XOP_LOGOUT_REQUEST with arg) for
 * every session of tgt (NULL: all). */
void iscsi_server_each_sess_arg(struct iscsi_server *srv, struct env *here,
				const struct iscsi_tgt *tgt, enum iscsi_xop op,
				uint32_t arg, const char *why);
/* End tasks of s still waiting for Data-Out or CmdSN order on lu (NULL:
 * every LU of its target). */
void iscsi_sess_abort_waiting(struct iscsi_sess *s, const void *lu);

/* server.c: credentials deep-copied from the configuration (and wiped) */
int iscsi_auth_copy(struct iscsi_auth_cfg *a, const struct ut_user_cfg *in,
		    size_t in_count, const struct ut_user_cfg *out);
void iscsi_auth_free(struct iscsi_auth_cfg *a);
void iscsi_auth_warn(struct env *env, const char *who,
		     const struct iscsi_auth_cfg *a);

/* reconfig.c */
/* Bring s's LUN map in line with its target's conf (LUN masking after a
 * change): nexuses of LUs it may no longer reach are detached, new ones
 * mapped (with POWER ON, RESET), and the nexuses it keeps get REPORTED
 * LUNS DATA HAS CHANGED if anything changed.  On s's reactor. */
void iscsi_sess_resync_luns(struct iscsi_sess *s);
/* Build and free a target's conf from its configuration, with the LUs
 * of the server's devices (which must be open). */
int iscsi_tgt_conf_new(struct iscsi_server *srv, const struct ut_target_cfg *tc,
		       struct iscsi_tgt_conf **out);
void iscsi_tgt_conf_free(struct iscsi_tgt_conf *c);
/* Free fn(ptr) once every reactor has passed a callback boundary (at
 * once with one reactor: the caller runs in a callback). */
void iscsi_server_retire(struct iscsi_server *srv, void (*fn)(void *),
			 void *ptr);
struct iscsi_lu_ent *iscsi_server_find_lu(struct iscsi_server *srv,
					  const char *name);
/* Open every device's LU and build every target's conf (start). */
int iscsi_server_open_all(struct iscsi_server *srv);
/* Free devices and targets, going ones included (server free). */
void iscsi_server_free_all(struct iscsi_server *srv);

#endif
