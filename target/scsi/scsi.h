/*
 * scsi.h — the SCSI target layer (SAM-5 / SPC-4 / SBC-3), transport-free.
 *
 * Objects:
 *   scsi_lu    a logical unit: a backstore plus the state SPC keeps per
 *              unit (mode pages, reservations, task set, identity).
 *   scsi_sess  an I_T nexus: one initiator port talking to one target port,
 *              with its LUN map (LUN masking lives here).
 *   scsi_itl   the I_T_L nexus: one session's view of one LU, holding its
 *              unit attention queue and deferred sense.
 *   scsi_cmd   one task: a CDB, its data buffer and its outcome.
 *
 * The transport (iSCSI) owns the scsi_cmd memory and its data buffer.  It
 * fills the "in" fields, receives all Data-Out into buf, then calls
 * scsi_cmd_exec() (a command whose data is still to come takes its place
 * in the task set first: scsi_cmd_accept()).  The layer runs the command (possibly asynchronously at
 * the backstore) and calls cmd->done exactly once, possibly before
 * scsi_cmd_exec() returns.  Residuals are the transport's business:
 * it compares xfer_len and data_in_len with its expected length.
 */
#ifndef UT_SCSI_H
#define UT_SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "backstore/backstore.h"

struct env;
struct ut_dev_cfg;
struct scsi_lu;
struct scsi_sess;
struct scsi_itl;

/* SAM status codes */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_CONDITION_MET 0x04
#define SCSI_STATUS_BUSY 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL 0x28
#define SCSI_STATUS_ACA_ACTIVE 0x30
#define SCSI_STATUS_TASK_ABORTED 0x40

/* Sense keys */
#define SK_NO_SENSE 0x0
#define SK_RECOVERED_ERROR 0x1
#define SK_NOT_READY 0x2
#define SK_MEDIUM_ERROR 0x3
#define SK_HARDWARE_ERROR 0x4
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION 0x6
#define SK_DATA_PROTECT 0x7
#define SK_BLANK_CHECK 0x8
#define SK_COPY_ABORTED 0xa
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE 0xe

#define SCSI_SENSE_MAX 252
#define SCSI_CDB_MAX 32
#define SCSI_MAX_LUN 255
/* Largest data transfer one READ/WRITE/VERIFY may ask for; advertised as
 * MAXIMUM TRANSFER LENGTH in the Block Limits VPD page (SBC-3 §6.5.3). */
#define SCSI_MAX_XFER_BYTES (64u << 20)

enum scsi_dir {
	SCSI_DIR_NONE = 0,
	SCSI_DIR_READ = 1,  /* Data-In: target to initiator */
	SCSI_DIR_WRITE = 2, /* Data-Out: initiator to target */
	SCSI_DIR_BIDI = 3,
};

enum scsi_task_attr {
	SCSI_TASK_SIMPLE = 0,
	SCSI_TASK_ORDERED = 1,
	SCSI_TASK_HEAD_OF_QUEUE = 2,
	SCSI_TASK_ACA = 3,
};

/* Identity of an I_T nexus (SPC-4 TransportID material). */
#define SCSI_MAX_TGT_PORTS 32 /* portal groups of a target (UT_MAX_PORTALS) */
struct scsi_nexus_id {
	char initiator_name[224]; /* iSCSI initiator name */
	uint8_t isid[6];	  /* initiator session id */
	char target_name[224];	  /* iSCSI target name */
	uint16_t tpgt;		  /* target portal group tag */
	uint16_t rel_tgt_port_id; /* relative target port identifier */
	/* Every target port of the SCSI target device: for iSCSI the target
	 * node, one port per portal group (RFC 7143's mapping of SAM: a
	 * SCSI target port is an iSCSI target portal group).  A REGISTER with ALL_TG_PT
	 * registers the initiator port through each (SPC-4 §6.16.3).  None
	 * known (n_tgt_ports 0): the nexus's own port alone. */
	uint16_t tgt_ports[SCSI_MAX_TGT_PORTS];
	uint8_t n_tgt_ports;
};

struct scsi_cmd;
typedef void (*scsi_done_fn)(struct scsi_cmd *cmd);

struct scsi_cmd_desc;

struct scsi_cmd {
	/* --- in: filled by the transport --- */
	struct scsi_sess *sess;
	uint64_t lun; /* LUN number decoded from the PDU */
	uint8_t cdb[SCSI_CDB_MAX];
	uint8_t cdb_len; /* 6..32; bytes past it are zero */
	enum scsi_task_attr attr;
	uint64_t tag;	       /* transport task tag (ITT) */
	enum scsi_dir dir;     /* as the initiator announced it */
	uint32_t edtl;	       /* expected data transfer length */
	uint8_t *buf;	       /* data buffer, buf_cap bytes */
	uint32_t buf_cap;      /* READ: room for Data-In (= edtl) */
	uint32_t data_out_len; /* WRITE: bytes received in buf */
	/* READ: the transport can take Data-In by reference (data_in_ref):
	 * nothing checks the bytes before they leave (no DataDigest). */
	bool data_in_ref_ok;
	scsi_done_fn done;
	void *transport; /* the transport's own pointer */

	/* --- out: filled by the layer before done() --- */
	uint8_t status; /* SCSI_STATUS_* */
	bool aborted;	/* ended by a TMF or PREEMPT AND ABORT: status is
			 * TASK ABORTED (TAS=1, SAM-5 §5.6) */
	/* The command took effect, but its answer would be untrue (a
	 * PREEMPT AND ABORT that could not wait for the commands it
	 * aborted: out of memory): the transport closes the connection
	 * rather than answer (scsi_tmf_hook lost). */
	bool answer_lost;
	uint16_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];
	uint32_t data_in_len; /* valid Data-In bytes in buf */
	/* or, only where data_in_ref_ok: the data_in_len Data-In bytes by
	 * reference (a zero-copy read), buf untouched.  The transport
	 * releases it (bs_ref_release) when it no longer needs it. */
	struct bs_ref *data_in_ref;
	uint64_t xfer_len; /* bytes the CDB itself moves, for the
					 * transport's residual computation */

	/* --- private to the scsi layer --- */
	struct scsi_lu *lu;
	struct scsi_itl *itl;
	TAILQ_ENTRY(scsi_cmd) lu_link; /* LU task set */
	struct bs_req bsreq;
	struct iovec bsiov;
	uint32_t priv_state;
	void *priv;			  /* per-command scratch (e.g. CAW) */
	uint64_t range_lba;		  /* LBA range the command writes or */
	uint64_t range_blocks;		  /* locks (COMPARE AND WRITE) */
	TAILQ_ENTRY(scsi_cmd) wait_link;  /* waiting for an LBA range lock */
	uint64_t start_ns;		  /* scsi_cmd_exec, for latency */
	uint32_t lu_epoch;		  /* the LU's epoch when it entered */
	uint64_t ts_seq;		  /* its place in the LU's task set */
	uint64_t freed_ns;		  /* last let go by other commands */
	const struct scsi_cmd_desc *desc; /* its handler (scsi_cmd_exec) */
};

/* ------------------------------------------------------- statistics */

/*
 * What an LU (or one nexus of it) has done since it was created: commands
 * by kind, bytes, errors and a latency histogram of READs and WRITEs.  The
 * histogram is log-linear in units of 1024 ns: values below 8 units have a
 * bucket each, then every power of two is split into 8 buckets (at most
 * 12.5 % wide); the last bucket holds everything from about 4.7 hours on.
 * Counting costs a few increments per command and no lock: each nexus is
 * counted by its session's reactor alone.
 */
#define SCSI_LAT_BUCKETS 256
#define SCSI_LAT_UNIT_NS 1024u
struct scsi_io_stats {
	uint64_t reads, writes, others; /* commands completed, by kind */
	uint64_t read_bytes, write_bytes;
	uint64_t errors; /* commands that ended other than GOOD */
	uint64_t lat[SCSI_LAT_BUCKETS];
};

/* Bucket of a latency, and the smallest latency (ns) a bucket holds. */
unsigned int scsi_lat_bucket(uint64_t ns);
uint64_t scsi_lat_bucket_low_ns(unsigned int bucket);
/* The latency (ns) below which `permille` of the histogram lies (the
 * upper end of the bucket it falls in); 0 when the histogram is empty. */
uint64_t scsi_lat_percentile_ns(const struct scsi_io_stats *st,
				unsigned int permille);

/* ------------------------------------------------------------- LUs */

/* Create a logical unit over an opened backstore.  lu_index is a unique
 * small number used to build the NAA identifier and serial number. */
struct scsi_lu *scsi_lu_new(struct env *env, const struct ut_dev_cfg *dev,
			    struct bs_dev *bs, uint32_t lu_index);
/* Free an LU; no session may still map it. */
void scsi_lu_free(struct scsi_lu *lu);

/* ------------------------------------------------------- sessions */

struct scsi_sess *scsi_sess_new(struct env *env,
				const struct scsi_nexus_id *id);
/* Map lu at lun for this session.  Establishes a POWER ON, RESET, OR BUS
 * DEVICE RESET OCCURRED unit attention on the new I_T_L nexus.
 * Returns 0, or -EEXIST/-EINVAL/-ENOMEM. */
int scsi_sess_map(struct scsi_sess *s, uint32_t lun, struct scsi_lu *lu,
		  bool read_only);
/* Free the session: aborts nothing (the transport has drained its
 * commands first), releases SPC-2 reservations held by this nexus. */
void scsi_sess_free(struct scsi_sess *s);
/* The session's I_T nexuses are lost (its connection went): its SPC-2
 * reservations and PREVENT end now, and a command that waits for an
 * operation of its LU rather than for its own I/O (a SANITIZE with
 * IMMED=0, or one still on its way to the LU's reactor) ends now,
 * aborted, instead of holding the session for as long as the operation
 * runs (SAM-5 §6.3.4; the operation itself goes on, SBC-4 §4.11.1). */
void scsi_sess_nexus_loss(struct scsi_sess *s);
/* Number of commands the layer still holds for this session. */
/* The server goes away with commands of s still inside the layer (a
 * simulated crash, or exit): take them out of every LU's task set and wait
 * lists, so that s and the LUs can be freed.  Only when the environment
 * delivers no more completions. */
void scsi_sess_abandon(struct scsi_sess *s);
unsigned int scsi_sess_busy(const struct scsi_sess *s);

/* --------------------------------------------- live reconfiguration */

/* Unit attention conditions raised by reconfiguration (SPC-4 §5.14). */
#define SCSI_UA_REPORTED_LUNS_CHANGED 0x3f0e
#define SCSI_UA_CAPACITY_CHANGED 0x2a09

/* Take lun out of s's map (LUN masking changed, or its LU is going).  New
 * commands to lun get LOGICAL UNIT NOT SUPPORTED; commands in flight end
 * on the detached nexus, which goes with the last of them.  An SPC-2
 * reservation it held is released.  Session's reactor.  0 or -ENOENT. */
int scsi_sess_unmap(struct scsi_sess *s, uint32_t lun);
/* The LU mapped at lun for s (NULL: none) and whether read-only. */
struct scsi_lu *scsi_sess_lu(const struct scsi_sess *s, uint32_t lun,
			     bool *read_only);
/* Queue a unit attention on every I_T_L nexus of s, or on one. */
void scsi_sess_ua_all(struct scsi_sess *s, uint16_t asc);
void scsi_sess_ua_lun(struct scsi_sess *s, uint32_t lun, uint16_t asc);
/* The backstore was resized: the LU reports nblocks from now on, every
 * nexus gets CAPACITY DATA HAS CHANGED, and the LU's epoch moves on.
 * Returns the new epoch: commands that entered before it may still use
 * the old capacity (scsi_lu_commands_before()). */
uint32_t scsi_lu_set_capacity(struct scsi_lu *lu, uint64_t nblocks);
uint64_t scsi_lu_nblocks(const struct scsi_lu *lu);
/* Commands in the LU's task set that entered before epoch. */
unsigned int scsi_lu_commands_before(struct scsi_lu *lu, uint32_t epoch);
/* Nexuses of the LU, mapped or detached: 0 once no session can reach
 * it and no command of one is left. */
unsigned int scsi_lu_nexus_count(struct scsi_lu *lu);
/* Is a SANITIZE running (the LU's reactor uses it)? */
bool scsi_lu_sanitizing(struct scsi_lu *lu);
/* The LU is going: end what still uses it.  Commands that entered before
 * epoch (UINT32_MAX: all) are aborted and answered TASK ABORTED when
 * their backstore I/O returns (SAM-5 §5.3: the task was aborted, TAS=1
 * style, since no other nexus's TMF told the initiator); a SANITIZE
 * stops.  Returns how many commands were aborted.  `here` is the
 * calling reactor. */
unsigned int scsi_lu_abort_commands(struct scsi_lu *lu, struct env *here,
				    uint32_t epoch);
/* The LU's counters: its nexuses' summed with those of freed ones. */
void scsi_lu_get_stats(struct scsi_lu *lu, struct scsi_io_stats *out);
/* Is the LU read-only for every nexus (device or configuration)? */
bool scsi_lu_read_only(const struct scsi_lu *lu);

/* -------------------------------------------------------- commands */

/* cmd->aborted is set by other reactors (resets, PREEMPT AND ABORT) under
 * the LU lock and read by the command's own reactor without it. */
static inline bool scsi_cmd_aborted(const struct scsi_cmd *cmd)
{
	return __atomic_load_n(&cmd->aborted, __ATOMIC_RELAXED);
}

/* Execute.  cmd->done runs exactly once, maybe before this returns. */
void scsi_cmd_exec(struct scsi_cmd *cmd);

/*
 * A command is in its LU's task set from the moment the device server
 * receives it (SAM-5 §8.6), which for iSCSI is when it is delivered in
 * CmdSN order (RFC 7143 §4.2.2.1), before its Data-Out is in.  The
 * transport calls scsi_cmd_accept() then, for a command whose data is
 * still to come (sess, lun, cdb, attr and tag filled): it takes its
 * place, and holds the younger commands its task attribute orders as
 * an enabled command would (an ORDERED or HEAD OF QUEUE write holds
 * younger SIMPLE ones; any write holds a younger ORDERED one).  True if
 * it did; false if it has no LU (or an attribute that is refused): it
 * is then a command like any other.  Its data is solicited meanwhile;
 * scsi_cmd_exec() continues it from its place once the data is in (its
 * unit attention, access and reservation checks are made then).  A
 * command accepted that ends before it is executed (aborted by its own
 * nexus, its connection gone) leaves with scsi_cmd_withdraw(), which
 * lets go what it held; the transport answers it.  Session's reactor.
 */
bool scsi_cmd_accept(struct scsi_cmd *cmd);
void scsi_cmd_withdraw(struct scsi_cmd *cmd);

/* Since when cmd, in its LU's task set, waits for nothing but itself:
 * UINT64_MAX while it waits for other commands (held by older ORDERED
 * or HEAD OF QUEUE ones, dormant, or for an LBA range another holds),
 * else the instant they last let it go (freed_ns), 0 if they never held
 * it.  Their wait is theirs: a transport timing how long it is owed an
 * answer (RspTimeout) counts only the command's own time inside the
 * target.  Takes the LU lock.  Session's reactor. */
uint64_t scsi_cmd_own_since(const struct scsi_cmd *cmd);

/* Build sense into cmd (fixed or descriptor format per the LU's D_SENSE)
 * and set CHECK CONDITION. */
void scsi_cmd_set_sense(struct scsi_cmd *cmd, uint8_t key, uint8_t asc,
			uint8_t ascq);

/* Task management (SAM-5 §7).  Each returns a SAM TMF service response:
 * 0 FUNCTION COMPLETE, 5 FUNCTION REJECTED, 9 LUN not supported.
 * Aborted commands still call done() with cmd->aborted set and TASK
 * ABORTED status once their backstore I/O has finished; the transport
 * waits for that before it answers the TMF.  It sends that status for
 * commands of other nexuses (TAS=1) and drops it for those its own TMF
 * aborted, which the TMF response concludes (RFC 7143 §11.5.1). */
int scsi_tmf_abort_task(struct scsi_sess *s, uint64_t lun, uint64_t tag);
int scsi_tmf_abort_task_set(struct scsi_sess *s, uint64_t lun);
/*
 * CLEAR TASK SET and the resets also abort the commands of other nexuses,
 * which end on their own sessions' reactors.  SAM-5 §7.1 (and RFC 7143
 * §11.5.1): the TMF is complete only once every command it aborted has
 * ended, so that none completes or changes the medium after FUNCTION
 * COMPLETE.  With a hook, the layer calls hold(arg) now for each LU on
 * which such commands still run, and release(arg) on s's reactor once
 * they all have ended there (it may be before the TMF call returns).
 * The transport answers the TMF after its last release.
 *
 * lost(arg), where not NULL, says that a wait could not be kept (out of
 * memory for it, or for reaching another reactor): the commands it
 * aborted may still end after the last release, so an answer of
 * FUNCTION COMPLETE (or GOOD) would be untrue.  The transport then
 * does not answer: it closes the connection (iscsi_conn_fail_soon), an
 * outcome the initiator knows as unknown, the policy of every answer
 * the target cannot give.
 */
struct scsi_tmf_hook {
	void (*hold)(void *arg);
	void (*release)(void *arg);
	void *arg;
	void (*lost)(void *arg);
};
int scsi_tmf_clear_task_set(struct scsi_sess *s, uint64_t lun,
			    const struct scsi_tmf_hook *hook);
int scsi_tmf_lu_reset(struct scsi_sess *s, uint64_t lun,
		      const struct scsi_tmf_hook *hook);
int scsi_tmf_target_reset(struct scsi_sess *s,
			  const struct scsi_tmf_hook *hook);

/*
 * PREEMPT AND ABORT (SPC-4 §5.12.11.5) aborts every task of the preempted
 * I_T nexuses, also those the transport still holds (waiting for Data-Out
 * or their CmdSN turn), and completes once they have ended.  The
 * transport says how to reach a session's held tasks: abort_waiting(ctx,
 * id, to, here, lu, hook) ends those of session `id` (of reactor `to`) on
 * lu; it is called on the preempting command's reactor `here`, outside
 * every lock, and calls hook->hold() for work done later elsewhere and
 * hook->release() on `here` once that is done.  ctx must outlive the
 * session (the server).  Set before the session maps any LUN.
 */
typedef void (*scsi_abort_waiting_fn)(void *ctx, uint64_t id, struct env *to,
				      struct env *here,
				      const struct scsi_lu *lu,
				      const struct scsi_tmf_hook *hook);
void scsi_sess_set_transport(struct scsi_sess *s, scsi_abort_waiting_fn fn,
			     void *ctx);
/* The session's id for fn (0 until set: its held tasks are not reached;
 * the transport may learn it after the mapping, hence atomic). */
void scsi_sess_set_transport_id(struct scsi_sess *s, uint64_t id);

/* ---------------------------------------------------- CDB decoding */

/* What a CDB asks of the transport before execution. */
struct scsi_cdb_info {
	uint8_t cdb_len;     /* from the opcode's group code */
	enum scsi_dir dir;   /* data direction the command uses */
	uint64_t xfer_bytes; /* bytes it moves (0 if unknown) */
	uint64_t lba;	     /* READ/WRITE family */
	uint32_t nblocks;
	bool fua;
};
/* The block range of a READ, WRITE, WRITE AND VERIFY or ORWRITE CDB of any
 * length (the handlers that share one decoding: WRITE AND VERIFY).
 * Returns 0, or -1 for any other opcode.  block_size is the LU's.  Every
 * other command decodes its own CDB where it runs (its handler). */
int scsi_cdb_decode(const uint8_t *cdb, uint32_t block_size,
		    struct scsi_cdb_info *info);
/* CDB length from the opcode's group code (SPC-4 §4.2.5.1), 0 if
 * reserved/vendor specific. */
unsigned int scsi_cdb_length(uint8_t opcode);

/* LBA ranges that reads answered by a live reference keep past their
 * completion (task_set.c scsi_range_hold), every LU of the process, not
 * yet given back: a leak check's (the simulator's). */
uint64_t scsi_range_holds_out(void);

#endif
