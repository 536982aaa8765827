/*
 * scsi_int.h — what the files of target/scsi/ share and nobody else sees.
 *
 * Layers, bottom up.  A file calls only functions of its own layer or of
 * layers below it (ci/check-layers.sh checks it on the objects at every
 * build); a command's handler is reached only through its descriptor
 * (cmd->desc), which the dispatch sets.
 *
 *   dispatch     scsi.c      objects (LU, session, I_T_L), scsi_cmd_exec
 *                            (the life of a command), task management,
 *                            the command table (and the check that
 *                            every row of opcodes.c's is dispatched)
 *                lu_live.c   LUs added, resized and removed live
 *   commands     sbc.c       READ, WRITE, VERIFY, SYNCHRONIZE CACHE,
 *                            READ CAPACITY (block commands, SBC-4)
 *                spc.c       INQUIRY, REPORT LUNS, REQUEST SENSE, MODE
 *                            SENSE/SELECT, TEST UNIT READY (SPC-4)
 *                opcodes.c   REPORT SUPPORTED OPERATION CODES and TASK
 *                            MANAGEMENT FUNCTIONS, the MAINTENANCE IN
 *                            dispatch: a command set like the others;
 *                            its table of rows is data the dispatch
 *                            checks against the command table
 *                sbc_cmp.c   COMPARE AND WRITE, ORWRITE, WRITE AND
 *                            VERIFY, VERIFY with BYTCHK, partial writes
 *                sbc_lbp.c   WRITE SAME, UNMAP, GET LBA STATUS
 *                sbc_sanitize.c  SANITIZE
 *                sbc_unit.c  START STOP UNIT, PREVENT ALLOW, defect data
 *                xcopy.c     EXTENDED COPY, RECEIVE COPY RESULTS
 *   block I/O    sbc_io.c    range and write checks, Data-Out, backstore
 *                            requests, chains of them
 *   task set     task_set.c  nexus references, command states, LBA range
 *                            locks and their waiters, completion
 *   access       reserve.c   SPC-2 RESERVE/RELEASE and the conflict rule
 *                pr.c        persistent reservations (SPC-4 §5.13):
 *                            registrations, PR OUT, the conflict rule
 *                pr_in.c     PERSISTENT RESERVE IN
 *                pr_aptpl.c  the PR state kept across power loss (APTPL)
 *                alua.c      ALUA groups and states (SPC-4 §5.15)
 *   base         base.c      the Data-In copy, unit attentions, write
 *                            protection, the LBA range of an LU
 *   leaves       sense.c     sense data (fixed 70h and descriptor 72h)
 *                cdb.c       CDB geometry and decoding without execution
 *                lu_stats.c  I/O statistics
 *
 * Locking: state of an LU that several sessions share (mode pages, task
 * set, the I_T_L list and with it every I_T_L's unit attention queue,
 * reservations) is touched only between scsi_lu_lock() and
 * scsi_lu_unlock(), which take the LU's mutex from the environment (none,
 * and no cost, with one reactor).  The lock is a leaf: nothing that takes
 * another lock or completes a command runs while it is held.
 *
 * Reactors: a command runs and completes on its session's reactor
 * (scsi_sess.env).  What one session does to another's commands (a reset
 * aborting them, a released LBA range waking them) goes to that session's
 * reactor through env_post().  SANITIZE runs on the LU's reactor (lu->env).
 */
#ifndef UT_SCSI_INT_H
#define UT_SCSI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "bytes.h"
#include "config/config.h"
#include "env.h"
#include "scsi/scsi.h"
#include "ut_assert.h"

struct env;

/* ------------------------------------------------------------ limits */

#define SCSI_UA_QUEUE_MAX 16 /* unit attentions queued per I_T_L */
#define SCSI_INQ_STD_LEN 96  /* standard INQUIRY data we return */
#define SCSI_RSP_MAX 4096    /* largest parameter data built on the stack */
/* Block limits we advertise (VPD B0h) and enforce. */
#define SCSI_MAX_WS_BLOCKS (1u << 22)	 /* MAXIMUM WRITE SAME LENGTH */
#define SCSI_MAX_UNMAP_BLOCKS (1u << 20) /* MAXIMUM UNMAP LBA COUNT */
#define SCSI_MAX_UNMAP_DESC 256u    /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
#define SCSI_MAX_CAW_BLOCKS 255u    /* MAXIMUM COMPARE AND WRITE LENGTH */
#define SCSI_MAX_ATOMIC_BLOCKS 256u /* MAXIMUM ATOMIC TRANSFER LENGTH */
/* MAXIMUM ATOMIC BOUNDARY SIZE: 0, a WRITE ATOMIC is written whole, never
 * in pieces at an ATOMIC BOUNDARY the initiator names */
#define SCSI_MAX_ATOMIC_BOUNDARY 0u
#define SCSI_WS_CHUNK_BYTES (256u << 10) /* WRITE SAME pattern buffer */

/* Additional sense codes (ASC << 8 | ASCQ) used across the layer. */
#define ASC_NO_ADDITIONAL 0x0000
#define ASC_BECOMING_READY 0x0401
#define ASC_LU_COMM_FAILURE 0x0800
#define ASC_LU_COMM_TIMEOUT 0x0801
#define ASC_WRITE_ERROR 0x0c00
#define ASC_INVALID_FIELD_IN_IU 0x0e03
#define ASC_UNRECOVERED_READ 0x1100
#define ASC_MISCOMPARE_VERIFY 0x1d00
#define ASC_PARAM_LIST_LENGTH 0x1a00
#define ASC_INVALID_OPCODE 0x2000
#define ASC_LBA_OUT_OF_RANGE 0x2100
#define ASC_INVALID_FIELD_IN_CDB 0x2400
#define ASC_INVALID_MESSAGE 0x4900 /* INVALID MESSAGE ERROR */
#define ASC_LU_NOT_SUPPORTED 0x2500
#define ASC_INVALID_FIELD_IN_PARAM 0x2600
#define ASC_WRITE_PROTECTED 0x2700
#define ASC_SPACE_ALLOC_FAILED_WP 0x2707
#define ASC_POWER_ON_RESET 0x2900
#define ASC_BUS_DEVICE_RESET 0x2903
#define ASC_MODE_PARAMS_CHANGED 0x2a01
#define ASC_RESERVATIONS_PREEMPTED 0x2a03
#define ASC_RESERVATIONS_RELEASED 0x2a04
#define ASC_REGISTRATIONS_PREEMPTED 0x2a05
#define ASC_CAPACITY_CHANGED 0x2a09
#define ASC_SAVING_NOT_SUPPORTED 0x3900
#define ASC_REPORTED_LUNS_CHANGED 0x3f0e
#define ASC_INTERNAL_TARGET_FAILURE 0x4400
#define ASC_MEDIUM_REMOVAL_PREVENTED 0x5302
#define ASC_MEDIUM_NOT_PRESENT 0x3a00
#define ASC_INVALID_RELEASE_OF_PR 0x2604
#define ASC_INSUFFICIENT_REG_RESOURCES 0x5504
#define ASC_SANITIZE_IN_PROGRESS 0x041b
#define ASC_THIRD_PARTY_DEVICE_FAILURE 0x0d01
#define ASC_COPY_TARGET_NOT_REACHABLE 0x0d02
#define ASC_TOO_MANY_TARGET_DESC 0x2606
#define ASC_UNSUPPORTED_TARGET_DESC 0x2607
#define ASC_TOO_MANY_SEGMENT_DESC 0x2608
#define ASC_UNSUPPORTED_SEGMENT_DESC 0x2609
#define ASC_SANITIZE_FAILED 0x3103
#define ASC_ALUA_TRANSITION 0x040a  /* LU NOT ACCESSIBLE, ... TRANSITION */
#define ASC_ALUA_STANDBY 0x040b	    /* ... TARGET PORT IN STANDBY STATE */
#define ASC_ALUA_UNAVAILABLE 0x040c /* ... IN UNAVAILABLE STATE */
#define ASC_LU_OFFLINE 0x0412	    /* LOGICAL UNIT NOT READY, OFFLINE */
#define ASC_ASYMMETRIC_ACCESS_CHANGED 0x2a06

/* ------------------------------------------------------------ objects */

/* Mode parameters of an LU: one set shared by every I_T nexus
 * (SPC-4 §7.5: a device server may keep them per LU). */
struct scsi_mode {
	bool wce;     /* caching page: write cache enabled */
	bool d_sense; /* control page: descriptor format sense */
	bool swp;     /* control page: software write protect */
};

/* Persistent reservations (pr.c).  A registration names an I_T nexus by
 * its initiator port (iSCSI name + ISID) and target port (relative target
 * port id), so that it outlives the session (and, with APTPL, the
 * process). */
#define SCSI_PR_MAX_REGS 64
struct scsi_pr_reg {
	uint64_t key;
	char initiator[224];
	uint8_t isid[6];
	uint16_t rtp; /* relative target port identifier */
	/* Matches every target port: only as loaded from a state file
	 * saved before 2026-12-07, until the next PERSISTENT RESERVE OUT
	 * splits it into one per port (pr.c legacy_split); a REGISTER with
	 * ALL_TG_PT makes one registration per port. */
	bool all_tg_pt;
};

struct scsi_pr {
	uint32_t generation;
	unsigned int nregs;
	struct scsi_pr_reg regs[SCSI_PR_MAX_REGS];
	bool reserved;
	uint8_t type; /* 1 WE, 3 EA, 5 WE-RO, 6 EA-RO, 7 WE-AR, 8 EA-AR */
	unsigned int holder; /* index in regs (not for *-AR types) */
	bool aptpl;	     /* persist through power loss */
	bool ptpl_capable;   /* the environment keeps durable state */
};

/* A sanitize operation of an LU (sbc_sanitize.c). */
struct scsi_sanitize {
	bool active; /* running: most commands get NOT READY */
	bool failed; /* failure mode (SBC-4 §4.11.3) */
	bool in_io;  /* a backstore request is outstanding */
	bool invert; /* OVERWRITE: invert between passes */
	uint8_t sa;  /* service action being run */
	unsigned int passes_left;
	uint16_t pattern_len; /* OVERWRITE initialization pattern bytes */
	uint64_t lba;	      /* next block of this pass */
	uint64_t done_blocks, total_blocks; /* progress, all passes */
	uint64_t start_ns;		    /* when the operation started */
	uint64_t paced_bytes;		    /* OVERWRITE bytes written so far */
	uint8_t *buf; /* OVERWRITE: one chunk of pattern */
	uint32_t buf_len;
	struct scsi_cmd *waiter; /* IMMED=0: ends with the operation */
	struct env_timer *timer; /* starts each chunk */
	struct bs_req req;
	struct iovec iov;
};

/* A TMF waiting for the commands of other nexuses it aborted on an LU
 * (scsi.c abort_in_lu): those that entered the task set before `upto`,
 * of a session other than `sess`; or, for a PREEMPT AND ABORT (pr.c),
 * of one of the n_itls preempted nexuses in itls[].  On the LU's list
 * under its lock; the last of them to leave the task set releases the
 * TMF (or completes the PERSISTENT RESERVE OUT). */
struct scsi_tmf_wait {
	uint64_t upto;
	const struct scsi_sess *sess;
	unsigned int pending; /* of those commands, still in the set */
	struct env *env;      /* the TMF's reactor: release runs there */
	struct scsi_tmf_hook hook;
	LIST_ENTRY(scsi_tmf_wait) link;
	unsigned int n_itls; /* 0: every session but sess */
	const struct scsi_itl *itls[];
};
LIST_HEAD(scsi_tmf_wait_list, scsi_tmf_wait);

TAILQ_HEAD(scsi_cmd_list, scsi_cmd);

struct scsi_lu {
	struct env *env;
	struct env_mutex *lock; /* NULL with one reactor */
	struct bs_dev *bs;
	uint32_t index;
	char name[UT_DEV_NAME_MAX];
	char vendor[9]; /* T10 vendor identification */
	char product[17];
	char revision[5];
	char dev_id[64];	 /* T10 vendor-ID designator tail */
	char serial[33];	 /* unit serial number */
	uint64_t naa_hi, naa_lo; /* NAA 6 designator, 16 bytes */
	bool removable;
	bool read_only; /* the device: every mapping is read-only */
	bool thin;
	bool nv_cache;		       /* SYNCHRONIZE CACHE needs no flush */
	uint64_t sanitize_bytes_per_s; /* OVERWRITE pace; 0 = unpaced */
	struct scsi_alua_group *alua;  /* device group (alua.c), or NULL */
	bool alua_explicit;	       /* SET TARGET PORT GROUPS allowed */
	uint64_t nblocks;	       /* capacity in logical blocks */
	uint8_t lbppbe; /* log2 logical blocks per physical block */

	/* shared across sessions: hold the LU lock */
	struct scsi_mode mode;
	/* What `mode` is at power on and after a logical unit reset: no
	 * page can be saved (SP=1 is refused), so the defaults, from the
	 * configuration (SAM-5 §6.3.3 d). */
	struct scsi_mode mode_default;
	bool medium_loaded; /* removable: a medium is in the drive */
	const struct scsi_itl *spc2_holder; /* RESERVE(6/10) holder */
	struct scsi_pr pr;
	struct scsi_sanitize san;
	struct scsi_cmd_list task_set; /* commands in flight, oldest first */
	struct scsi_cmd_list waiters;  /* blocked on an LBA range */
	/* Ranges held by reads answered with a live reference, past their
	 * completion (task_set.c scsi_range_hold), shared */
	LIST_HEAD(, scsi_range_hold) holds;
	/* Dormant: held by the task attributes of older commands (SAM-5
	 * §8.6, task_set.c scsi_order_admit), oldest first. */
	struct scsi_cmd_list dormant;
	/* Commands in task_set that are ORDERED or HEAD OF QUEUE: while 0,
	 * a SIMPLE command is enabled at once (the data path's fast path). */
	unsigned int gated_n;
	uint64_t ts_seq; /* next command's cmd->ts_seq */
	struct scsi_tmf_wait_list tmf_waits;
	LIST_HEAD(, scsi_itl) itls; /* every mapping of this LU */
	unsigned int itl_count;
	uint32_t epoch;		      /* bumped by a capacity change */
	struct scsi_io_stats retired; /* of freed nexuses (lu_stats.c) */
	bool cancel_sanitize;	      /* the LU is going: stop it */
};

struct scsi_ua {
	uint16_t asc; /* ASC << 8 | ASCQ */
};

struct scsi_itl {
	struct scsi_sess *sess;
	struct scsi_lu *lu;
	uint32_t lun;
	bool read_only; /* this mapping (LUN masking) */
	bool prevent;	/* PREVENT ALLOW MEDIUM REMOVAL: prevent */
	/* The target port group of this nexus's target port in the LU's
	 * ALUA device group (fixed at mapping), or NULL: no ALUA. */
	const struct scsi_alua_tpg *tpg;
	LIST_ENTRY(scsi_itl) lu_link;
	/* Unit attentions, oldest first: a ring of ua_count entries. */
	struct scsi_ua ua[SCSI_UA_QUEUE_MAX];
	unsigned int ua_head, ua_count;
	/* Live reconfiguration (lu_live.c).  busy counts the commands (and
	 * EXTENDED COPY pins) that use this nexus; a detached nexus is out
	 * of its session's map and is freed with its last command.  Both
	 * belong to the session's reactor. */
	unsigned int busy;
	bool detached;
	LIST_ENTRY(scsi_itl) detached_link;
	/* Counters of this nexus, written by the session's reactor only
	 * (lu_stats.c); the LU sums them under its lock. */
	struct scsi_io_stats stats;
};

/* EXTENDED COPY results kept for RECEIVE COPY RESULTS, per I_T nexus
 * (SPC-4 §6.4.3: LIST ID USAGE 00b/01b). */
#define SCSI_XCOPY_RESULTS 8
struct scsi_xcopy_result {
	bool valid;
	uint8_t list_id;
	uint8_t status;	     /* COPY OPERATION STATUS: 01h good, 02h error */
	uint16_t segments;   /* SEGMENTS PROCESSED */
	uint32_t blocks;     /* TRANSFER COUNT, in blocks... */
	uint32_t block_size; /* ... of this size */
};

struct scsi_sess {
	struct env *env;
	struct scsi_nexus_id id;
	struct scsi_itl *lun_map[SCSI_MAX_LUN + 1];
	unsigned int busy; /* commands given to the layer, not done */
	struct scsi_xcopy_result xcopy[SCSI_XCOPY_RESULTS];
	unsigned int xcopy_next;	/* ring position of the next result */
	LIST_HEAD(, scsi_itl) detached; /* unmapped, commands still out */
	/* Its I_T nexuses are lost (scsi_sess_nexus_loss): set on its
	 * reactor, read by the LU's under the LU lock (sbc_sanitize.c). */
	bool nexus_lost;
	/* The transport's tasks of this session (scsi_sess_set_transport):
	 * read by other reactors under an LU lock, set before any mapping;
	 * tport_id (atomic) may come later. */
	scsi_abort_waiting_fn abort_waiting;
	void *tport_ctx;
	uint64_t tport_id;
};

/* A preempted session's transport, as PREEMPT AND ABORT found it under
 * the LU lock, to be called after it (pr.c, scsi.c). */
struct scsi_tport_ref {
	scsi_abort_waiting_fn fn;
	void *ctx;
	uint64_t id;
	struct env *env;
};

static inline void scsi_lu_lock(struct scsi_lu *lu)
{
	env_mutex_lock(lu->env, lu->lock);
}
static inline void scsi_lu_unlock(struct scsi_lu *lu)
{
	env_mutex_unlock(lu->env, lu->lock);
}

/* cmd->aborted crosses reactors: scsi_cmd_aborted() in scsi.h. */
static inline void scsi_cmd_set_aborted(struct scsi_cmd *cmd)
{
	__atomic_store_n(&cmd->aborted, true, __ATOMIC_RELAXED);
}

/* The task set of lu is consistent (walks it; the LU lock held): for
 * ut_assert_slow(). */
bool scsi_lu_task_set_ok(const struct scsi_lu *lu);

/* Complete cmd on its session's reactor; `here` is the calling one. */
void scsi_cmd_complete_from(struct scsi_cmd *cmd, struct env *here);
/* cmd leaves lu's task set (the LU lock held): the TMF waits it was one
 * of the last command of move to *done, to be released (unlocked) by
 * scsi_tmf_waits_release(). */
void scsi_tmf_waits_pass(struct scsi_lu *lu, const struct scsi_cmd *cmd,
			 struct scsi_tmf_wait_list *done);
void scsi_tmf_waits_release(struct scsi_tmf_wait_list *done, struct env *here);

/* Copy s into a fixed-width ASCII field, padding with spaces. */
void scsi_put_ascii(uint8_t *dst, const char *s, size_t width);

/* cmd->priv_state bits */
#define CMD_IN_TASK_SET 0x1u
#define CMD_RANGE 0x2u	    /* range_lba/blocks are being written */
#define CMD_RANGE_EXCL 0x4u /* ... and locked against other writers */
#define CMD_WAITING 0x8u    /* on lu->waiters, or with DORMANT */
#define CMD_DATA_OUT 0x10u  /* accepted, its Data-Out still to come */
#define CMD_DORMANT 0x20u   /* ... on lu->dormant instead */
/* A mark, not a state: aborted because its LU is removed or shrunk
 * (lu_live.c), answered TASK ABORTED; set only in the task set, kept
 * through the transitions below until the command leaves the layer. */
#define CMD_LU_GOING 0x40u

/*
 * The states of a command inside the layer, and the transitions allowed
 * between them (scsi.c checks every change against this table):
 *
 *   0                          outside: not yet, no LU, or done
 *   IN_TASK_SET|DATA_OUT       in lu->task_set in its arrival order,
 *                              its Data-Out still arriving: not enabled,
 *                              its checks (unit attention, ALUA,
 *                              reservations) not yet made, holding no
 *                              range; it holds the younger commands its
 *                              attribute orders as an enabled one would
 *   IN_TASK_SET                in lu->task_set: handler or backstore
 *   IN_TASK_SET|WAITING        also on lu->waiters, for an LBA range
 *   IN_TASK_SET|WAITING|DORMANT  also on lu->dormant: not yet enabled,
 *                              held by older ORDERED or HEAD OF QUEUE
 *                              commands or, itself ORDERED, by any older
 *                              one (SAM-5 §8.6); its handler has not run
 *   IN_TASK_SET|RANGE          holding its LBA range (shared)
 *   IN_TASK_SET|RANGE|EXCL     holding it exclusively
 *
 *   0 -> IN_TASK_SET           scsi_cmd_exec(), an LU and a handler
 *   0 -> +DATA_OUT             scsi_cmd_accept(): the transport accepted
 *                              it in CmdSN order, its data still to come
 *   +DATA_OUT -> IN_TASK_SET   scsi_cmd_exec(), its data in, its turn
 *   +DATA_OUT -> +WAITING+DORMANT  scsi_cmd_exec(), its data in, held
 *   +DATA_OUT -> 0             scsi_cmd_withdraw() (it ends before its
 *                              data is in), or scsi_cmd_complete() (a
 *                              check refused it, or it was aborted)
 *   IN_TASK_SET -> +WAITING    scsi_range_acquire(), a conflict
 *   IN_TASK_SET -> +RANGE[+EXCL] scsi_range_acquire(), no conflict
 *   IN_TASK_SET -> +WAITING+DORMANT  scsi_order_admit(), held
 *   +WAITING+DORMANT -> IN_TASK_SET  the older commands that held it have
 *                              completed, or it is aborted: the handler
 *                              runs (or it completes TASK ABORTED)
 *   +WAITING -> IN_TASK_SET    wake_waiters(): the handler runs again
 *   any but +WAITING -> 0      scsi_cmd_complete()
 *   any -> 0                   scsi_sess_abandon() (the server goes away)
 *
 * CMD_LU_GOING may be added to any state inside the task set.
 */
static inline uint32_t scsi_cmd_state(uint32_t priv_state)
{
	return priv_state & ~CMD_LU_GOING;
}

static inline bool scsi_cmd_state_valid(uint32_t priv_state)
{
	static const uint64_t valid =
		1ull << 0 | 1ull << CMD_IN_TASK_SET |
		1ull << (CMD_IN_TASK_SET | CMD_DATA_OUT) |
		1ull << (CMD_IN_TASK_SET | CMD_WAITING) |
		1ull << (CMD_IN_TASK_SET | CMD_WAITING | CMD_DORMANT) |
		1ull << (CMD_IN_TASK_SET | CMD_RANGE) |
		1ull << (CMD_IN_TASK_SET | CMD_RANGE | CMD_RANGE_EXCL);
	uint32_t st = scsi_cmd_state(priv_state);

	if ((priv_state & CMD_LU_GOING) && !(st & CMD_IN_TASK_SET))
		return false;
	return st < 64 && (valid >> st & 1u);
}

/* ------------------------------------------------------------ sense */

/* Options of one sense report beyond key/ASC/ASCQ. */
struct scsi_sense_opts {
	bool info_valid;
	uint64_t info; /* INFORMATION: LBA, offset, ... */
	bool sks_valid;
	uint8_t sks[3]; /* sense-key specific bytes, SKSV included */
	/* COMMAND-SPECIFIC INFORMATION's first four bytes: fixed format
	 * bytes 8..11, descriptor format a 01h descriptor (its 8-byte
	 * field begins with them) */
	bool csi_valid;
	uint8_t csi[4];
};

/* Build sense data into buf (SCSI_SENSE_MAX bytes); returns its length. */
uint16_t scsi_sense_build(uint8_t *buf, bool desc, uint8_t key, uint16_t asc,
			  const struct scsi_sense_opts *o);

/* CHECK CONDITION with the given sense (format from the LU's D_SENSE). */
void scsi_fail(struct scsi_cmd *cmd, uint8_t key, uint16_t asc);
void scsi_fail_opts(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
		    const struct scsi_sense_opts *o);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at CDB byte/bit
 * (bit < 0: no bit pointer). */
void scsi_fail_cdb(struct scsi_cmd *cmd, uint16_t byte, int bit);
/* ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, at byte/bit (no
 * field pointer past byte 65,535). */
void scsi_fail_param(struct scsi_cmd *cmd, uint32_t byte, int bit);
/* A backstore error status mapped to sense (read or write side); lba,
 * the request's first, becomes the INFORMATION of a medium error, or
 * SCSI_LBA_NONE when the request has none (a FLUSH): VALID 0 then. */
#define SCSI_LBA_NONE UINT64_MAX
void scsi_fail_bs(struct scsi_cmd *cmd, int status, bool writing, uint64_t lba);

/* ----------------------------------------------------------- dispatch */

/* What a handler tells the dispatcher. */
enum scsi_rc {
	SCSI_RC_DONE = 0,  /* finished: status/sense/data are set */
	SCSI_RC_ASYNC = 1, /* scsi_cmd_complete() will be called */
};

typedef enum scsi_rc (*scsi_handler_fn)(struct scsi_cmd *cmd);

/* Finish a command: leave the task set and call done() once. */
void scsi_cmd_complete(struct scsi_cmd *cmd);

/* Copy parameter data to Data-In, truncated to the allocation length and
 * to the transport's buffer (SPC-4 §4.2.5.6: truncation is not an error).
 * xfer_len becomes what the CDB moves: min(len, alloc_len). */
void scsi_data_in(struct scsi_cmd *cmd, const void *data, uint32_t len,
		  uint32_t alloc_len);

/*
 * LBA range locking.  A writing command registers the blocks it writes;
 * COMPARE AND WRITE and WRITE ATOMIC register theirs exclusively.  A
 * command whose range overlaps an exclusive one (or, when exclusive
 * itself, any registered one) waits on the LU and its handler runs again
 * from the start when a range is released.  Returns true if the range is
 * now held; false if the command was queued (the handler then returns
 * SCSI_RC_ASYNC).  The range is released by scsi_cmd_complete().
 */
/*
 * A READ answered by a live reference (backstore.h bs_ref live: its bytes
 * are the medium's when sent, after the completion) keeps the range it
 * holds (shared, scsi_range_acquire) until the reference is released: no
 * WRITE ATOMIC or COMPARE AND WRITE lands while its bytes leave (SBC-4
 * §5.48: all or nothing, for a concurrent read too).  cmd holds its
 * range, shared; returns the reference the transport gets instead of
 * inner (releasing it gives the range back, then inner), or NULL (no
 * memory: the caller copies).  The hold keeps cmd's nexus (and so the
 * LU) until then; scsi_sess_abandon() drops the holds of its session.
 */
struct bs_ref *scsi_range_hold(struct scsi_cmd *cmd, struct bs_ref *inner);
/* Drop the holds of session s on lu (scsi_sess_abandon, the LU lock
 * held): their references stay valid, and give nothing back. */
void scsi_range_holds_abandon(struct scsi_lu *lu, const struct scsi_sess *s);

bool scsi_range_acquire(struct scsi_cmd *cmd, uint64_t lba, uint64_t nblocks,
			bool exclusive);

/* A command holds its I_T_L (and EXTENDED COPY the nexuses it copies
 * between) while it runs; the last release of a detached one frees it
 * (lu_live.c).  Session's reactor only. */
void scsi_itl_get(struct scsi_itl *itl);
void scsi_itl_put(struct scsi_itl *itl);

/* Per-command statistics at completion (lu_stats.c). */
void scsi_stats_count(struct scsi_cmd *cmd, uint64_t now_ns);
void scsi_stats_add(struct scsi_io_stats *sum, const struct scsi_io_stats *st);

/* Every command waiting for an LBA range tries again (scsi.c). */
void scsi_lu_wake_waiters(struct scsi_lu *lu, struct env *here);

/*
 * Task attributes (SAM-5 §8.6; task_set.c).  cmd has just entered lu's
 * task set (the LU lock held): true if it is enabled and its handler may
 * run now; false if it is dormant, on lu->dormant, until the older
 * commands its attribute waits for have completed (then it runs from
 * the completion of the last of them) or it is aborted.
 */
bool scsi_order_admit(struct scsi_lu *lu, struct scsi_cmd *cmd);
/* cmd, its nexus found (scsi_cmd_accept), takes its place at the end of
 * its LU's task set with its Data-Out still to come (DATA_OUT), counted
 * by its attribute as any command in the set.  Takes the LU lock. */
void scsi_task_set_accept(struct scsi_cmd *cmd);
/* cmd, accepted, has its data and passed its checks (the LU lock held):
 * as scsi_order_admit(), from the place it took at acceptance. */
bool scsi_order_admit_accepted(struct scsi_lu *lu, struct scsi_cmd *cmd);
/* cmd leaves the task set (the LU lock held): uncount it from what
 * scsi_order_admit() counted. */
void scsi_order_leave(struct scsi_lu *lu, const struct scsi_cmd *cmd);
/* Commands of lu were just marked aborted (the LU lock not held): the
 * dormant ones among them leave at once, TASK ABORTED, without waiting
 * for the older commands that held them (an aborted command is no longer
 * in the task set's order, SAM-5 §7.1).  After any TMF hold is taken. */
void scsi_lu_release_aborted(struct scsi_lu *lu, struct env *here);
/* The I_T nexus of s is lost (the LU lock held): its dormant commands
 * in lu are aborted (they wait for other commands, not for I/O of their
 * own, SAM-5 §6.3.4); true if there were any (then release them). */
bool scsi_order_abort_sess(struct scsi_lu *lu, const struct scsi_sess *s);
/* The dormant commands of lu that may now be enabled move to *ready, in
 * arrival order, enabled at now_ns (their freed_ns; the LU lock held);
 * the caller runs them. */
void scsi_order_collect(struct scsi_lu *lu, struct scsi_cmd_list *ready,
			uint64_t now_ns);

/* Unit attentions (SAM-5 §5.14, SPC-4 §5.14). */
void scsi_ua_add(struct scsi_itl *itl, uint16_t asc);
/* Every I_T_L of lu, except skip (may be NULL). */
void scsi_ua_add_lu(struct scsi_lu *lu, const struct scsi_itl *skip,
		    uint16_t asc);
bool scsi_ua_pop(struct scsi_itl *itl, uint16_t *asc);
void scsi_ua_clear(struct scsi_itl *itl);

/* Is the LU write-protected for this nexus (device, mapping or SWP)? */
bool scsi_itl_write_protected(const struct scsi_itl *itl);

/* Internal for tests and MODE SELECT: change a mode parameter. */
void scsi_lu_set_d_sense(struct scsi_lu *lu, bool on);

/* ---------------------------------------------------------- commands */

/* spc.c */
enum scsi_rc spc_test_unit_ready(struct scsi_cmd *cmd);
enum scsi_rc spc_inquiry(struct scsi_cmd *cmd);
enum scsi_rc spc_report_luns(struct scsi_cmd *cmd);
enum scsi_rc spc_request_sense(struct scsi_cmd *cmd);
enum scsi_rc spc_mode_sense(struct scsi_cmd *cmd);

/* sbc.c */
enum scsi_rc sbc_read(struct scsi_cmd *cmd);
enum scsi_rc sbc_write(struct scsi_cmd *cmd);
enum scsi_rc sbc_verify(struct scsi_cmd *cmd);
enum scsi_rc sbc_sync_cache(struct scsi_cmd *cmd);
enum scsi_rc sbc_prefetch(struct scsi_cmd *cmd);
enum scsi_rc sbc_read_capacity10(struct scsi_cmd *cmd);
enum scsi_rc sbc_service_action_in16(struct scsi_cmd *cmd);

/* sbc_lbp.c: logical block provisioning */
enum scsi_rc sbc_write_same(struct scsi_cmd *cmd);
enum scsi_rc sbc_unmap(struct scsi_cmd *cmd);
enum scsi_rc sbc_get_lba_status(struct scsi_cmd *cmd);

/* sbc_cmp.c: commands that read before they write or compare */
enum scsi_rc sbc_compare_and_write(struct scsi_cmd *cmd);
enum scsi_rc sbc_orwrite(struct scsi_cmd *cmd);
enum scsi_rc sbc_write_verify(struct scsi_cmd *cmd);
enum scsi_rc sbc_verify_bytchk(struct scsi_cmd *cmd, uint64_t lba,
			       uint32_t nblocks, bool one_block);

/* sbc_io.c: what the block command sets share (it calls none of them) */

/*
 * A chain of backstore requests run one after another for one command
 * (WRITE SAME in pieces, UNMAP descriptors, read-compare-write).  step()
 * either submits one request with sbc_chain_submit() and returns true, or
 * returns false when the command is finished (status and sense set).  A
 * backstore error stops the chain and becomes the command's sense.
 * Synchronous completions are trampolined, so the stack stays flat.
 */
struct sbc_chain;
typedef bool (*sbc_step_fn)(struct scsi_cmd *cmd, struct sbc_chain *ch);
struct sbc_chain {
	sbc_step_fn step;
	int status; /* first backstore error */
	bool looping, again;
	bool err_writing; /* which side failed, for the sense */
	uint64_t err_lba;
	unsigned int stage;
	uint64_t lba; /* cursor */
	uint64_t left_blocks;
	uint8_t *buf; /* scratch: pattern or read-back, freed */
	uint64_t buf_len;
	uint32_t bs_flags;
	const uint8_t *desc; /* UNMAP block descriptors */
	uint32_t ndesc, next;
	void *ctx; /* the step's own state, freed with the chain */
	/* Called once when the chain ends, whether its last step returned
	 * false or a backstore error stopped it before the next step:
	 * what the steps hold (EXTENDED COPY's nexuses) is let go here.
	 * A fini that answers a backstore error itself (EXTENDED COPY's
	 * COPY ABORTED) clears status; else it becomes the LU's sense. */
	void (*fini)(struct scsi_cmd *cmd, struct sbc_chain *ch);
};
/* Allocate a chain (with buf_len bytes of scratch) for cmd. */
struct sbc_chain *sbc_chain_new(struct scsi_cmd *cmd, sbc_step_fn step,
				uint64_t buf_len);
/* SCSI_RC_DONE (ch NULL: failed, INTERNAL TARGET FAILURE) is the
 * caller's to complete: from a completion callback, scsi_cmd_complete()
 * (a command dropped there was never answered). */
__attribute__((warn_unused_result)) enum scsi_rc
sbc_chain_start(struct scsi_cmd *cmd, struct sbc_chain *ch);
/* One BS_OP_WRITE_SAME request (bs caps): block (one logical block)
 * written over length_bytes from lba. */
void sbc_chain_submit_same(struct scsi_cmd *cmd, struct sbc_chain *ch,
			   uint32_t flags, uint64_t lba, void *block,
			   uint64_t length_bytes);
/* One backstore request for cmd's LU: len bytes at lba from/to buf. */
void sbc_bs_start(struct scsi_cmd *cmd, enum bs_op op, uint32_t flags,
		  uint64_t lba, void *buf, uint64_t len, bs_done_fn done);
/* Submit one request whose buffer (buf_len bytes) differs from the range
 * it covers (length_bytes): WRITE SAME, COMPARE AND WRITE. */
void sbc_bs_start_iov(struct scsi_cmd *cmd, enum bs_op op, uint32_t flags,
		      uint64_t lba, void *buf, uint64_t buf_len,
		      uint64_t length_bytes, bs_done_fn done);
void sbc_chain_submit(struct scsi_cmd *cmd, struct sbc_chain *ch, enum bs_op op,
		      uint32_t flags, uint64_t lba, void *buf, uint64_t len);

/* The same on another LU's backstore (EXTENDED COPY). */
void sbc_chain_submit_lu(struct scsi_cmd *cmd, struct sbc_chain *ch,
			 struct scsi_lu *lu, enum bs_op op, uint64_t lba,
			 void *buf, uint64_t len);

/* Is [lba, lba + nblocks) inside the LU (base.c)? */
bool sbc_lba_in_range(const struct scsi_lu *lu, uint64_t lba, uint64_t nblocks);
/* Shared SBC checks; false with sense set. */
bool sbc_check_range(struct scsi_cmd *cmd, uint64_t lba, uint64_t nblocks);
bool sbc_check_writable(struct scsi_cmd *cmd);
bool sbc_have_data_out(struct scsi_cmd *cmd, uint64_t bytes);
/* Data-Out bytes a write may use: min(received, CDB bytes). */
uint64_t sbc_data_out_bytes(const struct scsi_cmd *cmd, uint64_t bytes);
/* Write data_bytes (not a whole number of blocks) at lba, merging the
 * last partial block with the medium (sbc_cmp.c). */
enum scsi_rc sbc_write_partial(struct scsi_cmd *cmd, uint64_t lba,
			       uint64_t data_bytes, uint32_t bs_flags);
uint32_t sbc_write_flags(const struct scsi_cmd *cmd, bool fua);
/* MISCOMPARE DURING VERIFY OPERATION with INFORMATION = offset. */
void sbc_fail_miscompare(struct scsi_cmd *cmd, uint64_t offset);

/* sbc_sanitize.c: SANITIZE (SBC-4 §5.30) */
enum scsi_rc sbc_sanitize(struct scsi_cmd *cmd);
/* Must cmd be refused because of a running or failed sanitize?  (Sense
 * set when true.) */
bool scsi_sanitize_refuses(struct scsi_cmd *cmd, uint8_t flags);
/* Sense-key specific progress bytes while a sanitize runs; false if none
 * runs. */
bool scsi_sanitize_progress(const struct scsi_lu *lu, uint8_t sks[3]);
/* End a waiting SANITIZE command that a TMF aborted, or whose nexus (of
 * session s, marked nexus_lost first) is lost. */
void scsi_sanitize_tmf(struct scsi_lu *lu, struct env *here);
void scsi_sanitize_nexus_loss(struct scsi_lu *lu, const struct scsi_sess *s);
void scsi_sanitize_free(struct scsi_lu *lu);

/* xcopy.c: EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (SPC-4 §6.4,
 * §6.29) between LUs this nexus can reach. */
enum scsi_rc spc_extended_copy(struct scsi_cmd *cmd);
enum scsi_rc spc_receive_copy_results(struct scsi_cmd *cmd);

/* sbc_unit.c */
enum scsi_rc sbc_start_stop_unit(struct scsi_cmd *cmd);
enum scsi_rc sbc_prevent_allow(struct scsi_cmd *cmd);
enum scsi_rc sbc_read_defect_data(struct scsi_cmd *cmd);

/* spc.c, opcodes.c */
enum scsi_rc spc_mode_select(struct scsi_cmd *cmd);
enum scsi_rc spc_maintenance_in(struct scsi_cmd *cmd);
enum scsi_rc spc_report_opcodes(struct scsi_cmd *cmd);
enum scsi_rc spc_report_tmfs(struct scsi_cmd *cmd);

/* One row of REPORT SUPPORTED OPERATION CODES. */
struct scsi_opcode_desc {
	uint8_t opcode;
	uint16_t sa;
	bool has_sa; /* SERVACTV */
	uint8_t cdb_len;
	uint8_t usage[16]; /* CDB usage data */
};
extern const struct scsi_opcode_desc scsi_opcodes[];
extern const unsigned int scsi_opcode_count;

/* reserve.c: SPC-2 RESERVE/RELEASE and the conflict check */
enum scsi_rc spc_reserve(struct scsi_cmd *cmd);
enum scsi_rc spc_release(struct scsi_cmd *cmd);
/* Does a reservation forbid this command (table flags)? */
bool scsi_res_conflict(const struct scsi_cmd *cmd, uint8_t flags);
/* Drop SPC-2 reservations and PREVENT held by itl (nexus loss). */
void scsi_res_nexus_gone(struct scsi_itl *itl);
/* Logical unit reset: SPC-2 reservation and every PREVENT released. */
void scsi_res_lu_reset(struct scsi_lu *lu);

/* pr.c: persistent reservations (SPC-4 §5.12) */
enum scsi_rc spc_pr_in(struct scsi_cmd *cmd);
/* A PREEMPT AND ABORT (abort_hook non-NULL) counts the commands it
 * aborted in the task set; if any, it calls abort_hook->hold() and, once
 * they have ended, abort_hook->release() on cmd's reactor.  *tports (n
 * of them, to free) are the preempted sessions' transports, to be told
 * outside the lock (scsi.c pr_out). */
void spc_pr_out(struct scsi_cmd *cmd, const struct scsi_tmf_hook *abort_hook,
		struct scsi_tport_ref **tports, unsigned int *n);
bool scsi_pr_conflict(const struct scsi_cmd *cmd, uint8_t flags);
bool scsi_pr_has_registrations(const struct scsi_lu *lu);
/* Load APTPL state saved by an earlier run (scsi_lu_new). */
void scsi_pr_load(struct scsi_lu *lu);

/* alua.c: asymmetric logical unit access (SPC-4 §5.15, alua.h) */
struct scsi_alua_tpg;
/* The target port group of relative target port rel_port for lu. */
const struct scsi_alua_tpg *scsi_alua_port_tpg(const struct scsi_lu *lu,
					       uint16_t rel_port);
/* Must the access state of cmd's target port refuse it?  (Sense set.) */
bool scsi_alua_refuses(struct scsi_cmd *cmd);
/* INQUIRY byte 5 TPGS bits (already shifted: 00h, 10h or 30h). */
uint8_t scsi_alua_tpgs(const struct scsi_lu *lu);
/* The target port group identifier of itl's port; false if none. */
bool scsi_alua_itl_tpg_id(const struct scsi_itl *itl, uint16_t *id);
enum scsi_rc spc_report_tpgs(struct scsi_cmd *cmd);
enum scsi_rc spc_maintenance_out(struct scsi_cmd *cmd);

/* Command table entry flags. */
#define SCSI_CMD_UA_EXEMPT 0x01 /* neither blocked by nor clears a UA */
#define SCSI_CMD_NO_LU 0x02	/* runs on a LUN with no logical unit */
#define SCSI_CMD_MEDIUM 0x04	/* reaches the medium: NOT READY if none */
#define SCSI_CMD_RES_OK 0x08	/* allowed under another's SPC-2 RESERVE */
#define SCSI_CMD_PR_READ 0x10	/* reads: conflicts with Exclusive Access */
#define SCSI_CMD_PR_WRITE 0x20	/* writes: conflicts with Write Exclusive */

struct scsi_cmd_desc {
	scsi_handler_fn fn;
	uint8_t flags;
};

/* The command table, by opcode; fn == NULL for unsupported opcodes. */
const struct scsi_cmd_desc *scsi_cmd_lookup(uint8_t opcode);

/* task_set.c: run cmd's handler (cmd->desc), completing it when the
 * handler is done at once. */
void scsi_cmd_run(struct scsi_cmd *cmd);
/* Take a nexus off its LU (its counters go to the LU's) and free it. */
void scsi_itl_free(struct scsi_itl *itl);
/* Change cmd->priv_state to `to`, checked against the transition table
 * (task_set.c). */
void scsi_cmd_state_set(struct scsi_cmd *cmd, uint32_t to);

#endif
