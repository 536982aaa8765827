/*
 * iscsi_int.h — the iSCSI layer's internals: its layers, its limits, and
 * the server's objects.
 *
 * Layers, bottom up.  A file calls only functions of its own layer or of
 * layers below it; news travels up through the callbacks a lower header
 * declares (struct iscsi_conn_phase, iscsi_sess_events,
 * iscsi_server_ops), never by calling into a file above.
 * ci/check-layers.sh checks this on the objects at every build.
 *
 *   server     server.c    targets, portals, listeners, start, shutdown
 *              registry.c  accept, the lists of connections and sessions,
 *                          TSIH, nexus and LUNs of a session,
 *                          reinstatement, work across reactors (the
 *                          struct iscsi_server_ops the layers below use)
 *              discovery.c SendTargets
 *              devices.c   devices and their LUs, target confs, LUN
 *                          sets of sessions
 *              reconfig.c  live reconfiguration: the operation (prepare,
 *                          commit, drain) that changes devices.c's objects
 *              retire.c    retire rounds: free what a change replaced
 *                          once every reactor has passed a boundary
 *              tport.c     target ports (target x portal group), ALUA
 *              srv_info.c  what the server reports (utargetctl)
 *                 |  iscsi_login_start(), iscsi_sess_*()
 *   login      login.c     accept to full feature phase: stages, status
 *                          classes, text continuation, CHAP, negotiation
 *                 |  iscsi_sess_new()
 *   session    session.c   sessions: life, NOP, Logout, dispatch of
 *                          full feature phase PDUs (iscsi_ffp_phase)
 *              text_ffp.c  Text Requests in full feature phase
 *              tmf.c       task management (RFC 7143 §11.5)
 *              task.c      SCSI tasks: CmdSN order, immediate and
 *                          solicited Data-Out, R2Ts, execution (the
 *                          data path)
 *              task_rsp.c  a task's answer: Data-In sequences, status,
 *                          residuals
 *              owed.c      liveness: the answers a session owes, and
 *                          RspTimeout
 *                 |  iscsi_conn_*(), iscsi_txpdu_*()
 *   connection conn.c      one TCP connection: receive framing,
 *                          keepalive (NOP-In), login clock, close
 *              conn_tx.c   its transmit queue: PDUs built, queued, sent
 *              conn_ack.c  read references held until their bytes sent from
 *                          a file are acknowledged (--send-file)
 *                 |
 *   leaves     pdu.c crc32c.c  the wire format: BHS fields, digests
 *              text.c      key=value text and negotiation (RFC 7143 §6)
 *              chap.c chap_hash.c  CHAP (RFC 7143 §12.1.3, RFC 1994)
 *              acl.c       initiator groups, LUN masking, portals
 *              pool.c      recycled buffers, tasks and PDUs
 *
 * Within the session layer, too, calls point down (session.c -> tmf.c and
 * text_ffp.c -> task.c and task_rsp.c -> owed.c); task.c and tmf.c tell
 * session.c through s->events.  task.c and task_rsp.c are one layer (a
 * task runs, then is answered, then freed), as are conn.c and conn_tx.c.
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
#define ISCSI_LOGIN_MRDSL 8192 /* during login (RFC 7143 §6.1) */
/* A connection's own receive buffer is kept between PDUs up to this size;
 * one grown for a larger data segment (up to our MaxRecvDataSegmentLength)
 * is freed once that PDU is taken in (conn.c). */
#define ISCSI_RX_BUF_KEEP ISCSI_LOGIN_MRDSL
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
/* One session's share of it by default (SessionBufferLimit): a quarter,
 * so that a session that holds its buffers (a hostile initiator, one that
 * never reads its Data-In or never sends its Data-Out) leaves the others
 * three quarters.  The configured range is ISCSI_MAX_EDTL..the budget. */
#define ISCSI_SESSION_BUFFER_LIMIT (256ull << 20)
#define ISCSI_LOGIN_TIMEOUT_NS (30ull * 1000000000ull)
#define ISCSI_TX_IOV_MAX 128   /* iovecs gathered per send call */
#define ISCSI_MAX_R2T_TRACK 64 /* outstanding R2Ts tracked per task */
#define ISCSI_IMMEDIATE_MAX 16 /* immediate commands alive per session */
/* TMFs in progress per session: QueuedCommands + ISCSI_IMMEDIATE_MAX, one
 * for each task the session may hold (a TMF waits for the tasks it
 * aborts, and each waits for those before it that abort the same task);
 * more are answered Function rejected at once. */
#define ISCSI_TMF_MAX(queue_depth) ((queue_depth) + ISCSI_IMMEDIATE_MAX)
#define ISCSI_TX_UNTIED_PDUS_MAX 1024 /* queued PDUs that no task bounds */
#define ISCSI_TX_UNTIED_BYTES_MAX (16u << 20)
/* How often a connection asks whether the bytes it sent from files are
 * acknowledged, while a read's reference waits for that (conn_ack.c). */
#define ISCSI_ACK_POLL_NS (1000000ull)

#define ISCSI_MAX_REACTORS 64
#define ISCSI_DEFAULT_TPGT 1

#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "iscsi/login.h"

/* ------------------------------------------------------------ server */

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
	/* A shrink given up on (reconfig.c reconf_give_up): the LU has its
	 * new capacity, the backstore its old size until the commands that
	 * entered before the shrink (epoch) have ended; then a poll, or
	 * the next change naming the device, shrinks it. */
	bool shrink_left;
	uint32_t shrink_epoch;
	uint64_t shrink_bytes;
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
	unsigned int shrinks_left;	/* devices with shrink_left set */
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
	struct iscsi_server_stats stats;    /* of no reactor: sessions, conns */
	const struct iscsi_server_ops *ops; /* for the layers below */
};

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

/* registry.c: the lists of connections and sessions */
/* The listeners' accept callback: list the connection, start its login. */
void iscsi_server_accept(void *arg, struct env_conn *ec,
			 const struct env_conn_info *info);
extern const struct iscsi_server_ops iscsi_server_ops;

/* discovery.c: SendTargets=what for s; 0, or -ENOMEM (the answer would be
 * incomplete). */
int iscsi_sendtargets(struct iscsi_sess *s, const char *what,
		      struct iscsi_kvlist *out);

/* tport.c: target ports (target x portal group) and ALUA device groups */
int iscsi_tports_init(struct iscsi_server *srv);
int iscsi_tports_group(struct iscsi_server *srv,
		       const struct ut_dev_group_cfg *dg);
void iscsi_tports_free(struct iscsi_server *srv);
void iscsi_tports_assign(struct iscsi_server *srv, struct iscsi_tgt *t);
uint16_t iscsi_tport_rel_id(const struct iscsi_tgt *t, uint16_t tpgt);
/* Every port of target t (one per portal group) into id->tgt_ports. */
void iscsi_tport_all(const struct iscsi_tgt *t, struct scsi_nexus_id *id);
void iscsi_tports_lu_opened(struct iscsi_server *srv, struct iscsi_lu_ent *e,
			    const struct ut_config *cfg);
void iscsi_tports_lu_gone(struct iscsi_server *srv, struct iscsi_lu_ent *e);
void iscsi_tports_cfg_sync(struct iscsi_server *srv);
void iscsi_tports_apply_states(struct iscsi_server *srv,
			       const struct ut_config *old,
			       const struct ut_config *cfg);
void iscsi_server_conn_gone(struct iscsi_server *srv);
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
	ISCSI_XOP_LOGIN_RESUME,	  /* iscsi_login_resume(): reinstated */
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

/* server.c: credentials deep-copied from the configuration (and wiped) */
int iscsi_auth_copy(struct iscsi_auth_cfg *a, const struct ut_user_cfg *in,
		    size_t in_count, const struct ut_user_cfg *out);
void iscsi_auth_free(struct iscsi_auth_cfg *a);
void iscsi_auth_warn(struct env *env, const char *who,
		     const struct iscsi_auth_cfg *a);

/* devices.c */
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
struct iscsi_lu_ent *iscsi_server_find_lu(struct iscsi_server *srv,
					  const char *name);
/* Open every device's LU and build every target's conf (start). */
int iscsi_server_open_all(struct iscsi_server *srv);
/* A device's entry: made from its configuration, its LU attached over an
 * opened backstore (or opened in place), its backstore parameters, freed. */
struct iscsi_lu_ent *iscsi_lu_ent_new(struct iscsi_server *srv,
				      const struct ut_dev_cfg *d);
int iscsi_lu_ent_attach(struct iscsi_server *srv, struct iscsi_lu_ent *e,
			struct bs_dev *bs, const struct ut_config *cfg);
void iscsi_lu_ent_params(const struct iscsi_lu_ent *e,
			 struct bs_dev_params *out);
int iscsi_lu_ent_open(struct iscsi_server *srv, struct iscsi_lu_ent *e,
		      const struct ut_config *cfg);
void iscsi_lu_ent_free(struct iscsi_lu_ent *e);
/* The devices a conf's LUNs are looked up in. */
struct iscsi_lu_set {
	struct iscsi_lu_ent **e;
	size_t n;
};
int iscsi_tgt_conf_build(struct iscsi_server *srv,
			 const struct iscsi_lu_set *set,
			 const struct ut_target_cfg *tc,
			 struct iscsi_tgt_conf **out);
/* The target named iqn (a tombstone reused, or a new slot; NULL when the
 * table is full); c published as its conf, the old one retired. */
struct iscsi_tgt *iscsi_tgt_slot(struct iscsi_server *srv, const char *iqn);
void iscsi_tgt_publish(struct iscsi_server *srv, struct iscsi_tgt *t,
		       struct iscsi_tgt_conf *c, bool removed);

/* retire.c */
/* Free fn(ptr) once every reactor has passed a callback boundary (at
 * once with one reactor: the caller runs in a callback). */
void iscsi_server_retire(struct iscsi_server *srv, void (*fn)(void *),
			 void *ptr);
/* A free waiting for its round (the server's list, oldest first). */
struct iscsi_retired {
	void (*fn)(void *);
	void *ptr;
	uint64_t seq;
	struct iscsi_retired *next;
};

/* Run the frees of the rounds up to upto (UINT64_MAX: all of them, at
 * server free).  Has round seq ended? */
void iscsi_retired_run(struct iscsi_server *srv, uint64_t upto);
bool iscsi_grace_over(const struct iscsi_server *srv, uint64_t seq);

/* reconfig.c */
/* Free devices and targets, going ones included (server free). */
void iscsi_server_free_all(struct iscsi_server *srv);

#endif
