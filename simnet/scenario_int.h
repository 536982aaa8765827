/*
 * scenario_int.h — what the files of the scenario runner share.
 *
 *   scenario.c         the runner: plays the lines in order, starts,
 *                      crashes and restarts the target, waits for answers
 *   scenario_parse.c   the text: tokens, numbers, expectations, the
 *                      declarations (lun, param, users) and the CDB
 *                      each SCSI verb sends
 *   scenario_target.c  the `target` lines: control steps (live
 *                      reconfiguration), crash, restart, stats
 *   scenario_verbs.c   what an actor or a disk line does: logins, SCSI
 *                      commands, TMFs, discovery, network and disk faults
 *   scenario_oracle.c  the checks on completion (pend_done): the data
 *                      model, SPC-2 reservations, LBA ranges, write
 *                      landings, TASK ABORTED, and liveness and leaks at
 *                      the end of the run
 *   scenario_verdict.c each answer against its line's expectation, and
 *                      the answer told to an --answers listener
 *   scenario_pr.c      the persistent reservation oracle (pr_model.h)
 *   scenario_alua.c    ALUA: portal groups and target port groups, the
 *                      `target alua`, stpg and rtpg verbs, multipath
 *                      hosts, and the oracle of access states and their
 *                      unit attentions
 *   scenario_mpath.c   multipath hosts (mpath lines): I/O as dm-multipath
 *                      with the ALUA handler does it
 *   scenario_ua.c      the unit attention oracle (ua_model.h)
 *   scenario_cmds.c    the rest of the command set: its verbs (CDBs,
 *                      Data-Out, what each may change in the model)
 *   scenario_cmds_oracle.c  their oracles, and the SANITIZE watch
 *   scenario_stats.c   explore --stats: each sent CDB under its row of
 *                      the target's opcode table
 *   scenario_spc.c     what the target says of itself: REPORT LUNS, VPD
 *                      B2h, READ CAPACITY(16), MODE SENSE, saved mode
 *                      pages, REQUEST SENSE, a medium error's INFORMATION,
 *                      SendTargets' portals
 *
 * Dependencies point one way: verbs use parse and the oracles; the runner
 * (scenario.c with scenario_target.c, one layer: a `target` line drives
 * the target's life, and the line loop hands it such lines) uses them
 * all.  The oracles see a command only when its answer arrives
 * (pend_done), and the verbs only record what was sent.
 */
#ifndef UT_SIM_SCENARIO_INT_H
#define UT_SIM_SCENARIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "initiator.h"
#include "pr_model.h"
#include "sense.h"
#include "scenario.h"
#include "sim.h"
#include "ua_model.h"

/* TARGET WARM RESET or TARGET COLD RESET (RFC 7143 §11.5.1): a cold one
 * is a warm one at the SCSI layer, and then closes every session of the
 * issuer's target (scenario_cold.c). */
static inline bool tmf_target_reset(uint8_t fn)
{
	return fn == ISCSI_TMF_TARGET_WARM_RESET ||
	       fn == ISCSI_TMF_TARGET_COLD_RESET;
}

#define MAX_LUNS 8
#define MAX_ACTORS 8
#define MAX_ACL_GROUPS 4
#define MAX_USERS 16  /* IncomingUser lines per target (as config) */
#define MAX_PORTALS 4 /* portal declarations */
#define MAX_TPGS 4    /* ALUA target port groups (tpg lines) */
#define MAX_HOSTS 4   /* multipath hosts (mpath lines) */
#define MAX_TOKS 64
#define SYNC_TIMEOUT_NS (60 * SIM_NS_PER_S)
#define QUIET_LIMIT_NS (600 * SIM_NS_PER_S)
#define DEFAULT_IQN "iqn.2026-11.org.utarget:sim"
#define MAX_EXTRA_TARGETS 32
#define DEFAULT_PORTAL "10.0.0.1:3260"

/* ------------------------------------------------------- expectations */

enum xo {
	XO_DEFAULT = 0, /* success for the verb */
	XO_ANY,
	XO_DONE, /* answered, any status (with status/sense tokens) */
	XO_DROPPED,
	XO_REJECTED,
	XO_ABORTED,
	XO_NONE,    /* no answer by the next quiet point */
	XO_FAIL,    /* login failed / non-GOOD */
	XO_REFUSED, /* login: we refused the target's CHAP */
};

struct exp {
	enum xo outcome;
	int status; /* -1 unspecified */
	int sk, asc, ascq;
	int login;    /* class<<8|detail, -1 */
	int response; /* TMF/logout response, -1 */
	int reject;
	int targets;  /* discovery: number of TargetName= */
	int pieces;   /* text: number of Text Responses, -1 */
	int chap_alg; /* login: the CHAP_A the target chose, -1 */
	char contains[256];
	char data[256];	  /* read data alternatives */
	char keys[256];	  /* PR IN READ KEYS list */
	int resv_key_set; /* PR IN READ RESERVATION: holder key */
	char resv_key[32];
	/* exact answers (what `import --exact` writes): the Data-In bytes'
	 * CRC32C and count, the residual count; -1 unspecified */
	int64_t data_crc, data_len, residual;
	const char *data_hex; /* the Data-In bytes, in the line's text */
	bool given;
};

/* ------------------------------------------------------------ runner */

/* REPORT SUPPORTED OPERATION CODES facts per LU (scenario_rsoc.c): one
 * byte per operation code and 5-bit service action */
#define RSOC_KEYS (256 * 32)

struct lun_st {
	uint32_t lun;
	/* its size= as the scenario wrote it: a mem or null LU's goes to
	 * the target as the daemon's --lun mem:SIZE does (build_cfg) */
	char size_str[24];
	/* what REPORT SUPPORTED OPERATION CODES said and the LU did, since
	 * control step rsoc_ctl_seq (scenario_rsoc.c; RSOC_KEYS bytes,
	 * allocated at first use) */
	uint8_t *rsoc;
	uint64_t rsoc_ctl_seq;
	/* the logical unit designators (association 00b) of its VPD page
	 * 83h, as first answered since control step lu_ids_ctl_seq: the
	 * same through every path (scenario_spc.c) */
	uint8_t lu_ids[128];
	uint32_t lu_ids_len;
	uint64_t lu_ids_ctl_seq;
	bool lu_ids_known;
	/* The LU statistics oracle (scenario_target.c lu_stats_oracle):
	 * SCSI commands sent to this LUN and answered GOOD, by kind (read,
	 * write, other), since the target last booted (r->boots then) */
	uint64_t lus_sent[3], lus_good[3], lus_gen;
	/* answered with a status only the LU gives (RESERVATION CONFLICT;
	 * MEDIUM ERROR, DATA PROTECT, MISCOMPARE): counted in errors */
	uint64_t lus_err;
	char disk[64];
	uint64_t size_bytes;
	uint32_t bs;
	bool wc_off, ro, thin;
	bool native; /* the disk's own WRITE SAME, COMPARE AND WRITE */
	/* backstore=: BS_SIM (a simulated disk named `disk`), BS_MEM (RAM:
	 * lost at a target crash) or BS_NULL (reads zeros, drops writes) */
	int kind;
	uint64_t sanitize_rate; /* SANITIZE OVERWRITE pace, bytes/s */
	/* The Block Limits VPD page (B0h) as last answered: what READ/WRITE
	 * and WRITE SAME must then accept and refuse (scenario_spc.c) */
	bool bl_known;
	uint32_t bl_xfer_max;	    /* MAXIMUM TRANSFER LENGTH, 0: none */
	uint64_t bl_ws_max;	    /* MAXIMUM WRITE SAME LENGTH, 0: none */
	uint32_t bl_unmap_lba_max;  /* MAXIMUM UNMAP LBA COUNT, 0: no UNMAP */
	uint32_t bl_unmap_desc_max; /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
	uint32_t bl_caw_max;	    /* MAXIMUM COMPARE AND WRITE LENGTH */
	uint32_t bl_atomic_max;	    /* MAXIMUM ATOMIC TRANSFER LENGTH */
	/* MAXIMUM ATOMIC BOUNDARY SIZE, where the page was long enough */
	uint32_t bl_boundary_max;
	bool bl_boundary_known;
	struct model *m;
	/* EXTENDED COPY and ORWRITE ranges on it that may still write (sent,
	 * not answered, or of unknown fate): they write values they read,
	 * so no write to it is bounded meanwhile (land_bound_add) */
	uint32_t copies_open;
	/* SPC-2 reservation oracle */
	int holder; /* actor index, -1 none */
	uint32_t holder_sess;
	uint64_t epoch;
	bool uncertain;
	bool pr_used;
	int resets_inflight;
	int resv_inflight; /* RESERVE/RELEASE commands not answered yet */
	/* a RESERVE answered GOOD while a reset was outstanding: it may
	 * have come after the reset and survive it */
	bool resv_raced;
	uint32_t resets_limbo; /* actors (bits) whose reset of this LUN ended
				* of unknown fate: it may still reach the
				* target on a connection they left */
	/* persistent reservation oracle (pr_model.h) */
	struct pr_model pr;
	bool spc2_used;	    /* RESERVE/RELEASE too: PR checks off */
	int pr_inflight;    /* PR OUT commands not answered yet */
	uint32_t pr_limbo;  /* actors (bits) whose PR OUT was dropped
			     * unanswered: it may still reach the target */
	uint64_t pr_issued; /* PR OUT commands issued */
	uint64_t pr_epoch;  /* bumped by every PR OUT sent or answered */
	/* PRgeneration (SPC-4 §6.16.2) lies in [pr_gen_lo, pr_gen_hi]:
	 * lo counts the counting PR OUTs answered GOOD (and what READ KEYS
	 * showed), hi every counting PR OUT sent that may have been
	 * applied; pr_gen_open counting PR OUTs are unanswered
	 * (scenario_pr.c) */
	uint64_t pr_gen_lo, pr_gen_hi;
	int pr_gen_open;
	/* LUs opened again live (`target device DISK set`), and the upper
	 * bound of the one before the last: a PR IN sent to it may be
	 * answered by it after the new one came (scenario_pr.c) */
	uint64_t pr_gen_reopens, pr_gen_old_hi;
	bool removed; /* taken out by `target lun remove` */
	/* VPD pages (scenario_spc.c): the Supported VPD Pages list once
	 * page 00h answered, and the pages answered GOOD or refused with
	 * INVALID FIELD IN CDB, one bit per page code */
	bool vpd_list_known;
	uint8_t vpd_listed[32], vpd_served[32], vpd_refused[32];
	/* mode parameters as MODE SELECTs answered in isolation left them
	 * (scenario_ua.c), for MODE PARAMETERS CHANGED */
	bool ms_known, ms_wce, ms_dsense, ms_swp;
	/* what a MODE SELECT with SP=1 answered GOOD saved: the LU has it
	 * again at the next power on (scenario_spc.c) */
	enum {
		MS_SAVED_NONE = 0,
		MS_SAVED_WCE0,
		MS_SAVED_WCE1,
		MS_SAVED_UNKNOWN
	} ms_saved;
	int ms_inflight;
	uint64_t ms_issued;
	/* ALUA (scenario_alua.c): its LU is in the device group, and a
	 * count bumped when it is added or removed */
	bool alua_in;
	uint32_t alua_gen;
	/* scenario_cmds_oracle.c: the NAA designator VPD page 83h reported
	 * (EXTENDED COPY names LUs by it) */
	uint8_t naa[16];
	bool naa_known;
	/* SANITIZE oracle (scenario_cmds_oracle.c) */
	uint64_t san_handle; /* its model write, 0 when none pending */
	uint64_t san_mid;    /* the inverted pattern of its other passes */
	/* their values (model vids), and the model writes over blocks a
	 * grow brought while the sanitize could still start (one sent
	 * before the grow may run after it, over the grown LU) */
	uint64_t san_fin, san_mid_fin;
	uint64_t san_grown[4], san_grown_mid[4];
	unsigned int san_ngrown;
	uint64_t san_gen;      /* SANITIZE commands sent */
	uint64_t san_started;  /* stamp by which sanitize san_gen ran */
	uint64_t san_good_end; /* a command let by after san_started */
	int san_good_line;     /* ... its line */
	char san_good_who[48]; /* ... and who sent it */
	int san_progress;      /* last progress indication, -1 none */
	uint64_t san_progress_end;
	/* SANITIZE commands sent and not yet answered; two at once make
	 * the order in which they ran unknown (the later sent may have
	 * arrived first): the ordering checks stay off until a sanitize is
	 * sent alone. */
	unsigned int san_inflight;
	bool san_overlap;
	/* The sanitize before san_gen was not shown to be over when this
	 * one was sent (an IMMED one runs on after its GOOD): a command
	 * refused as running may have met that one, and one let by may
	 * have come between the two.  The ordering checks stay off until
	 * this sanitize is answered GOOD (the target refuses a SANITIZE
	 * while one runs, so the one before was over by then). */
	bool san_prev_may_run;
	/* when it was cleared: a command sent before may have met the one
	 * before, even if answered after */
	uint64_t san_prev_over;
	/* MODE SELECT WCE: writes sent after this stamp with WCE=0 are
	 * durable (0: as configured) */
	uint64_t wc_off_since;
	bool wc_off_cfg; /* write-cache=off as configured (at power on) */
	/* removable medium oracle (scenario_medium.c): `removable`; the
	 * medium 1 loaded, 0 ejected, -1 unknown; START STOP LOEJs in
	 * flight, and actors (bits) whose LOEJ was dropped unanswered and
	 * may still arrive; the actors whose current nexus prevents
	 * removal, whether some other may (pv_unknown), PREVENTs in
	 * flight and of unknown fate */
	bool removable;
	int med;
	int med_inflight;
	uint32_t med_limbo;
	uint32_t pv_set;
	bool pv_unknown;
	/* actors whose preventing nexus went, the target perhaps not yet
	 * aware: unknown until their next login to the same target port
	 * (which completes only once the old session has ended: RFC 7143
	 * §6.3.5, target/iscsi/registry.c srv_reinstate) */
	uint32_t pv_lost;
	int pv_inflight;
	uint32_t pv_limbo;
	/* WRITE ATOMIC(16)s a read may be concurrent with (scenario_
	 * oracle.c oracle_atomic_read, round of atomic20): sent, or
	 * answered GOOD after the oldest read in flight began; torn: the
	 * first read found to show part of it before its answer came
	 * (reported if GOOD comes), and that read's line */
	struct atom_w {
		uint64_t handle, vid, lba, ack;
		uint32_t blocks;
		bool good;
		int torn_line;
		char *torn;
	} * atoms;
	size_t natoms, capatoms;
};

/* A READ/WRITE... that passed the unit attention check while a condition
 * was pending, judged once the commands that may have taken it are
 * answered (scenario_ua.c). */
struct ua_owe {
	bool on;
	uint64_t s, at; /* its send and answer on the UA clock */
	int line;
	char verb[24];
};

/* One answer GOOD of an actor, for the task attribute oracle
 * (scenario_order.c). */
#define ORDER_RING 64
struct order_rec {
	uint32_t sess, cmdsn;
	uint64_t lun;
	uint8_t attr; /* enum scsi_task_attr */
	uint64_t ctl_seq, ctl_started;
	int line;
};

struct actor {
	char name[32];
	struct ini *ini;
	int idx;
	uint32_t sess;	       /* bumped at every successful login */
	char portal[64];       /* of its last login (reconnect's default) */
	char tgt[UT_NAME_MAX]; /* ... and its target= ("": the first) */
	uint16_t tpgt;	       /* that portal's group: its target port */
	/* the target and port of its session (set at its login's answer),
	 * and of the one whose prevention it lost (scenario_medium.c) */
	char sess_tgt[UT_NAME_MAX], pv_tgt[UT_NAME_MAX];
	uint16_t sess_tpgt, pv_tpgt;
	uint8_t sess_isid[6], pv_isid[6]; /* and ISIDs */
	uint8_t alua_owed[MAX_LUNS];	  /* ALUA_UA_* (scenario_alua.c) */
	uint16_t alua_inflight[MAX_LUNS]; /* its commands that may take a UA */
	uint64_t alua_useq[MAX_LUNS];	  /* alua.seq at its last such answer */
	int alua_limbo; /* its STPGs lost with a connection (scenario_alua.c) */
	char keys[1024];
	struct ini_chap chap; /* CHAP credentials from the declaration */
	/* Unit attention oracle (scenario_ua.c): per LUN (index in
	 * runner.luns), the conditions of this actor's nexus */
	struct ua_nexus ua[MAX_LUNS];
	struct ua_owe ua_owe[MAX_LUNS];
	/* POWER ON, RESET conditions told, per LUN, and their count when a
	 * step that replaces the nexus began (ua_nexus_replacing) */
	uint32_t ua_told_reset[MAX_LUNS], ua_told_reset_at[MAX_LUNS];
	uint64_t ua_born; /* UA clock when its current nexus was made */
	/* its last answers GOOD, a ring (scenario_order.c) */
	struct order_rec order_ring[ORDER_RING];
	unsigned int order_n;
	/* partitions and stalls of its host or connection: how many began,
	 * and how many are in force (scenario_wire.c: a connection's end
	 * they may explain) */
	unsigned int net_blocks, net_blocks_on;
	/* a TARGET COLD RESET of its target answered FUNCTION COMPLETE
	 * while this connection was up: the target must close it
	 * (scenario_cold.c); 0: none owed */
	uint64_t cold_conn;
	int cold_line;
	bool cold_unanswered; /* owed by a cold reset whose answer was lost */
	/* its own TARGET COLD RESET whose answer was lost with its
	 * connection: that connection's link (not its endpoint, freed with
 * the link: explore seed 753336535341 in a worker after another seed
 * read a freed endpoint), where the TMF's PDU
	 * ended in its stream, and the connections of the target's
	 * sessions when it was sent; judged once the world is quiet, if
	 * the target read the whole PDU (scenario_cold.c) */
	bool cold_lost;		 /* a cold reset's answer lost, to judge */
	uint64_t cold_lost_link; /* its connection's link (sim_conn_id) */
	uint64_t cold_lost_end;
	uint64_t cold_lost_conns[MAX_ACTORS];
	int cold_lost_line;
};

/* What a control step raises (ua_expect). */
#define UA_LUNS_CHANGED (1u << UA_K_LUNS) /* 3Fh/0Eh */
#define UA_CAPACITY (1u << UA_K_CAPACITY) /* 2Ah/09h */
#define UA_POWER_ON (1u << UA_K_RESET)	  /* a LUN a session gains */

struct pend;
TAILQ_HEAD(pend_list, pend);

/* ALUA (scenario_alua.c): what the runner knows of each target port
 * group, the multipath hosts and their commands. */
struct alua_tpg_st {
	uint16_t id;
	uint16_t tpgt;	    /* the portal group whose port is in it */
	int state;	    /* SPC-4 code; -1 unknown */
	int init;	    /* as configured: a restart's state */
	uint64_t set_epoch; /* alua.epoch of its last `target alua` */
	bool preferred;
	/* the RELATIVE TARGET PORT IDENTIFIERs the last REPORT TARGET PORT
	 * GROUPS listed in it (VPD 83h is held against them) */
	uint16_t ports[4];
	int nports; /* 0: not reported yet */
	/* the target port designators (association 01b, but the group's)
	 * VPD 83h gave through its port: no other port may give one */
	uint8_t port_ids[192];
	uint32_t port_ids_len;
};

struct mp_cmd;
TAILQ_HEAD(mp_cmd_list, mp_cmd);

struct mp_host {
	char name[32];
	struct actor *path[2];
	int view[2];	/* the host's idea of each path's state, -1 none */
	bool failed[2]; /* the path lost its connection */
};

/* One command of a multipath host, over several attempts. */
struct mp_cmd {
	struct runner *r;
	struct mp_host *h;
	char text[512]; /* the I/O line, less the host: "read lun=0 ..." */
	int line;
	int attempts;
	bool done, async;
	struct sim_ev ev; /* a retry after a transition wait */
	TAILQ_ENTRY(mp_cmd) link;
};

struct alua_st {
	int ntpgs;
	struct alua_tpg_st tpgs[MAX_TPGS];
	uint64_t epoch;	      /* bumped by every change or possible change */
	int stpg_inflight;    /* SET TARGET PORT GROUPS not answered yet,
			       * or lost with their connection and not
			       * known dead yet (actor alua_limbo) */
	uint64_t seq;	      /* counts answers that may carry an attention */
	uint64_t stpg_seq;    /* counts STPGs sent and answered */
	uint64_t resets_sent; /* LU and target resets sent */
	struct mp_host hosts[MAX_HOSTS];
	int nhosts;
	struct mp_cmd_list cmds; /* host commands, kept until the end */
};

struct runner {
	const char *name;
	struct scn_opts o;
	struct scn_result *res;
	struct sim *sim;
	struct iscsi_server *srv;
	struct ut_config cfg;
	bool cfg_built;
	char iqn[UT_NAME_MAX];
	/* `target add IQN`: more targets with the same LUNs */
	char extra_iqn[MAX_EXTRA_TARGETS][UT_NAME_MAX];
	int nextra;
	bool extra_gone[MAX_EXTRA_TARGETS]; /* `target remove IQN` */
	/* `target add IQN luns=none`: a target that maps no LUN (a spare
	 * one: every live change publishes a conf of each target, so a
	 * second retire joins the round the first started) */
	bool extra_bare[MAX_EXTRA_TARGETS];
	uint64_t shutdown_freed_ns; /* when the last shutdown freed it */
	char portal[64];	    /* the first portal: logins' default */
	char portals[MAX_PORTALS][64];
	uint16_t portal_tpgts[MAX_PORTALS];
	int nportals;
	struct alua_st alua;
	struct ut_iscsi_params params;
	/* RspTimeouts on commands stuck inside the target that a `target
	 * stats expect rsp_timeouts_stuck=N` line has accounted for (a
	 * scenario may stall a disk on purpose) */
	uint64_t stuck_expected;
	/* CHAP: IncomingUser/OutgoingUser of the target ([0]) and of
	 * discovery ([1]) */
	struct ut_user_cfg users_in[2][MAX_USERS];
	size_t nusers_in[2];
	struct ut_user_cfg user_out[2];
	struct lun_st luns[MAX_LUNS];
	int nluns;
	/* MODE SELECTs sent to a LUN without LU and not answered: a LUN
	 * added meanwhile may take one (scenario_ua.c) */
	int ms_orphans;
	/* `group` lines: initiator groups, LUN masking (scenario_acl.c) */
	struct acl_group_st {
		char name[32];
		char pats[512]; /* INITIATOR patterns, comma-separated */
		uint64_t luns;	/* LUN numbers (bits 0..63) */
		uint64_t ro;	/* of those, mapped read-only */
	} acl[MAX_ACL_GROUPS];
	int nacl;
	/* `allowed_portal` lines: the local addresses logins may use */
	char allowed_portals[MAX_ACL_GROUPS][64];
	int nallowed;
	struct actor actors[MAX_ACTORS];
	int nactors;
	struct pend_list pends;
	int line;
	bool started, failed, syntax, down;
	bool against; /* a real target (o.against_portal), no simulated one */
	uint64_t seed;
	uint64_t null_refs_base; /* bs_null_refs_out() at the start */
	uint64_t holds_base;	 /* scsi_range_holds_out() at the start */
	uint64_t ctl_seq;	 /* control steps completed (target lun ...) */
	uint64_t crashes; /* target crashes and shutdowns so far (scenario_wire.c) */
	/* TARGET COLD RESETs sent so far: each may end every session of a
	 * target, as a crash does (scenario_wire.c undisturbed) */
	uint64_t cold_resets;
	uint64_t boots; /* servers booted so far (server_boot) */
	/* `config-file`: each boot from scst.conf text (scenario_conffile.c) */
	enum {
		CONFIG_FILE_OFF,
		CONFIG_FILE_SCST,  /* written by the simulator */
		CONFIG_FILE_SAVED, /* written by the target (utargetctl save) */
	} config_file;
	/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS bits and the target's
	 * answers to those functions (scenario_rsoc.c): 0 unknown, 1 yes,
	 * 2 no */
	uint8_t rstmf_said[6], rstmf_did[6];
	bool ctl_running;     /* inside a control step (ctl_apply) */
	uint64_t ctl_started; /* control steps begun */
	/* control steps begun that may change which LU a session's LUN
	 * names (lun add, lun remove, acl): scenario_order.c */
	uint64_t lun_map_steps;
	/* Lines that may end other nexuses' commands with TASK ABORTED
	 * (resets, CLEAR TASK SET, PREEMPT AND ABORT, any raw CDB or
	 * bytes): sent or answered, and how many are in flight. */
	uint64_t abort_events;
	int abort_inflight;
	/* when the last of those lines was answered (or ended), and how
	 * many EXTENDED COPY or ORWRITE ranges were ever sent (they move
	 * values: scenario_oracle.c land_aborted_check) */
	uint64_t abort_answer_ns;
	uint32_t gapr_seq; /* gap_reset_sent's ids */
	uint64_t copies_sent;
	uint64_t aborts_unanswered; /* of those lines, ended unanswered */
	/* actors whose reset, CLEAR TASK SET... ended unanswered with its
	 * connection: it may still run (aborts_pending) */
	uint32_t aborts_limbo;
	uint64_t resets_done; /* LU and target resets answered */
	/* unit attention oracle: its clock (bumped at every send and every
	 * answer), causes, the control step running */
	/* Writes ended without effect known, by an answer or a TMF's
	 * FUNCTION COMPLETE: none may land on the medium after `bound_ns`
	 * (scenario_oracle.c, land_check). */
	struct land_bound {
		uint64_t vid;
		int li;
		uint64_t bound_ns;
		int line;
		char who[128];
	} * lb;
	size_t nlb, caplb;
	/* WRITEs left unanswered by a dropped connection (of unknown
	 * fate), each with its session's identity: a later login of the
	 * same actor with the same ISID at the same target port completes
	 * only once that session has ended (RFC 7143 §6.3.5, registry.c
	 * srv_reinstate), so from its answer they must not land
	 * (land_login_done turns them into land bounds). */
	struct dropped_write {
		uint64_t vid;
		int li, actor, line;
		char tgt[UT_NAME_MAX];
		uint16_t tpgt;
		uint8_t isid[6];
	} * dw;
	size_t ndw, capdw;
	uint64_t ua_clock;
	uint32_t ua_cause_seq, ua_step_cause;
	uint64_t ua_step_from;
	/* A `target lun add` under way: its LUN number and model index
	 * (adding_li -1: none).  Commands answered while the step runs may
	 * be told of the new nexus's conditions: they are judged there. */
	uint32_t adding_lun;
	int adding_li;
	/* removable medium oracle: bumped by every PREVENT, reset, nexus
	 * loss (pv) and every START STOP LOEJ (med) sent or answered */
	uint64_t pv_epoch, med_epoch;
};

enum pkind {
	PK_OTHER,
	PK_READ,
	PK_WRITE,
	PK_SYNC,
	PK_RESERVE,
	PK_RELEASE,
	PK_LOGIN,
	PK_LOGOUT,
	PK_TMF,
	PK_TEXT,
	PK_PRIN_KEYS,
	PK_PRIN_RESV,
	PK_PRIN_FULL, /* READ FULL STATUS */
	PK_PROUT,
	PK_STPG,
	PK_RTPG,
	/* scenario_cmds.c */
	PK_CAW,	     /* COMPARE AND WRITE */
	PK_WSAME,    /* WRITE SAME(10/16) */
	PK_UNMAP,    /* UNMAP */
	PK_ORWRITE,  /* ORWRITE(16) */
	PK_WVERIFY,  /* WRITE AND VERIFY(10/12/16) */
	PK_VERIFY,   /* VERIFY(10/12/16) */
	PK_XCOPY,    /* EXTENDED COPY (LID1) */
	PK_GLS,	     /* GET LBA STATUS */
	PK_SANITIZE, /* SANITIZE */
	PK_RSENSE,   /* REQUEST SENSE */
	PK_INQUIRY,  /* INQUIRY */
	PK_MSELECT,  /* MODE SELECT(6/10) */
	PK_MREAD,    /* other commands that read the medium (PRE-FETCH) */
	PK_SPC	     /* other commands (no data oracle) */
};

/* A range of blocks a command writes (or copies to). */
#define PEND_RANGES 16
struct pend_range {
	struct lun_st *ls;
	uint64_t lba;
	uint32_t blocks;
	uint64_t handle;
	struct lun_st *src; /* EXTENDED COPY: where from */
	uint64_t src_lba;
	uint64_t src_stamp; /* its read, in the source's model clock */
	/* blocks a grow brought while a WRITE SAME to the last LBA was on
	 * its way: written only if the target took the command after the
	 * grow, so a GOOD answer bounds them (written before it or never)
	 * instead of acknowledging them (cmds_lun_resized) */
	bool maybe;
};

struct pend {
	struct runner *r;
	struct actor *a;
	int line;
	char verb[24];
	char label[32];
	struct exp e;
	bool async, done, exempt, checked_none;
	bool released; /* held back (`hold`), then sent by `send-held` */
	struct ini_op *op;
	uint32_t itt, cmdsn;
	uint64_t lun;
	enum pkind kind;
	struct lun_st *ls;
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	uint8_t attr; /* SCSI task attribute sent (enum scsi_task_attr) */
	uint64_t handle, stamp;
	/* model stamp of its first Data-In PDU's arrival (0: none yet):
	 * utarget reads a READ's blocks in one backstore request that
	 * completes before any Data-In leaves (scsi/sbc.c sbc_read), so
	 * what the read returns is the LUN's contents at one moment before
	 * then -- a write sent after it is never seen (round of
	 * zerocopy18: a reference into a mem LUN held while a slow reader
	 * takes the rest) */
	uint64_t in_stamp;
	/* Sent from a file (`send-file on`, round of sendfile19): some
	 * Data-In bytes came through conn_send_file, which takes them from
	 * the medium when it accepts them -- after the completion, maybe
	 * after a write landed.  blk_re[i]: model stamp of the arrival of
	 * the Data-In that brought block i's last byte (0: none), the
	 * latest moment its bytes may be of (the sim's send-file worlds
	 * only; NULL elsewhere). */
	bool by_file;
	uint64_t *blk_re;
	uint64_t vid; /* a write's value (model_vid) */
	uint64_t epoch;
	uint32_t sess;
	uint8_t tmf_fn;
	/* ABORT TASK: the task it names (labelled: never freed), and whether
	 * that task's SCSI answer had arrived, in this session, when it was
	 * sent; a SCSI op's own outcome once done (INI_DONE: answered) */
	struct pend *tmf_ref;
	bool tmf_ref_answered;
	uint8_t outcome;
	/* PR oracle: state at issue */
	bool pr_alone, pr_known;
	uint64_t pr_epoch, pr_issued;
	struct prm_out pro;
	bool pro_modelled;
	bool pro_unmodelled; /* a nexus or port the model cannot name */
	/* ACL: a command to a LUN its initiator may not see (scenario_acl.c;
	 * ls is NULL then); a login to a target (not discovery) */
	bool acl_hidden, acl_login;
	bool acl_ro; /* its LUN is read-only for its initiator at its send */
	char acl_portal[64]; /* a login's portal */
	/* a login: its session type requires CHAP (an IncomingUser of the
	 * target, or of discovery); it carries legal keys the target must
	 * not fail it for (extension keys, TaskReporting: wire oracle) */
	bool login_chap, login_legal_keys;
	/* a login through the CHAP exchange of a session type that requires
	 * CHAP, with credentials the target's IncomingUser (and, mutual,
	 * OutgoingUser) lines make right, or its CHAP_N/secret pair wrong
	 * (wire oracle, scenario_wire.c wire_login_chap) */
	bool login_chap_right, login_chap_wrong;
	/* PRgeneration: a PR IN's lower bound when sent; a PR OUT counted
	 * in its LU's pr_gen_hi */
	uint64_t pr_gen_lo, pr_gen_reopens;
	bool pr_gen_counts;
	uint64_t ctl_seq;    /* r->ctl_seq when it was sent */
	uint64_t crashes_at; /* r->crashes when it was sent */
	uint64_t cold_at;    /* r->cold_resets when it was sent */
	uint64_t boots_at;   /* r->boots when it was sent (lu_stats_sent) */
	/* its actor's partitions and stalls begun when it was sent, and
	 * whether one was in force */
	unsigned int net_blocks_at;
	bool net_blocked_at;
	/* a stall-pdu line: the target's NopInTimeout and NopInInterval
	 * (ns) when it was sent (scenario_wire.c) */
	bool stall_pdu;
	uint64_t stall_timeout_ns, stall_interval_ns;
	/* unit attention oracle: when it was sent (UA clock), the cause it
	 * is (a reset, on the LUNs of ua_luns), MODE SELECT overlap */
	uint64_t ua_issue;
	uint32_t ua_cause, ua_luns, ua_removed;
	bool ua_ms, ua_ms_alone;
	uint64_t ua_ms_issued;
	/* a LOGICAL UNIT RESET or TARGET RESET: the LUs whose mode
	 * parameters it returns to their defaults (scenario_ua.c), those
	 * where nothing else could change them during its life, and their
	 * ms_issued at its send */
	uint32_t ms_reset_luns, ms_reset_exact;
	uint64_t ms_reset_issued[MAX_LUNS];
	bool ms_control;      /* a MODE SELECT of the control page (dsense=) */
	bool ms_orphan;	      /* a MODE SELECT sent to a LUN without LU */
	uint64_t ctl_started; /* r->ctl_started when it was sent */
	uint64_t lun_map_steps; /* r->lun_map_steps when it was sent */
	uint64_t abort_events;	/* r->abort_events when it was sent */
	bool abort_possible;	/* one was in flight when it was sent */
	bool may_abort_others;	/* it is such a line itself */
	/* A command waiting at the target for its CmdSN turn (a command
	 * before it held back, and its receipt proven by the answer to a
	 * later PDU of its connection) when another session's LOGICAL UNIT
	 * RESET or CLEAR TASK SET of its LU was sent: gapr_id names that
	 * TMF line (its own gapr_id); once the TMF is FUNCTION COMPLETE with
	 * the gap still open, gapr_line is its line: the command was in the
	 * task set the TMF cleared, and must end TASK ABORTED (SAM-5 §7.6,
	 * §5.6 TAS=1; scenario_oracle.c gap_reset_*, lane cmdsnign18) */
	uint32_t gapr_id;
	int gapr_line;
	const char *gapr_what; /* that line's function, for the message */
	/* a WRITE: when its value last landed on the medium (0: not yet),
	 * and r->copies_sent at its send (-1: a copy was open then) */
	uint64_t landed_ns;
	uint64_t copies_at;
	uint64_t aborts_unanswered; /* r->aborts_unanswered at its send */
	/* ALUA oracle: state at issue (scenario_alua.c) */
	uint64_t alua_epoch;
	int alua_state; /* of the actor's target port group, -1 unknown */
	uint8_t ua_at_issue;
	uint32_t alua_lun_gen;	      /* its LUN's alua_gen at issue */
	uint32_t sess_at[MAX_ACTORS]; /* STPG: every actor's session */
	/* TARGET COLD RESET: the connections of the sessions of its target
	 * when it was sent (scenario_cold.c) */
	uint64_t cold_conns[MAX_ACTORS];
	struct env_conn *cold_ep; /* ... its connection, and the end */
	uint64_t cold_link;	  /* ... and that connection's link id */
	uint64_t cold_end;	  /* of its PDU in the stream */
	uint64_t alua_seq;	  /* STPG: alua.seq when sent */
	uint64_t alua_resets;	  /* STPG: alua.resets_sent then */
	uint64_t stpg_mark;	  /* STPG: alua.stpg_seq when sent */
	struct mp_cmd *mp;	  /* a multipath host's attempt */
	/* scenario_cmds.c */
	struct pend_range rg[PEND_RANGES];
	int nrg;
	/* UNMAP, WRITE SAME and plain WRITEs naming blocks past the
	 * capacity when sent: the writes they would make, begun only if a
	 * grow brings every one of them in before the answer (the target
	 * checks the range when the command reaches it: cmds_lun_resized;
	 * a plain WRITE's p->ls stays NULL, its range ends at the answer:
	 * cmds_write_past_end_answered) */
	struct {
		struct lun_st *ls;
		uint64_t lba;
		uint32_t blocks;
		uint64_t vid;
		/* an EXTENDED COPY segment: where it reads (src NULL for
		 * every other command) */
		struct lun_st *src;
		uint64_t src_lba;
	} oor_rg[PEND_RANGES];
	int n_oor_rg;
	/* WRITE SAME with NUMBER OF LOGICAL BLOCKS 0: it writes to the last
	 * LBA the LU has when the target takes it (SBC-4 §5.50), so a grow
	 * before its answer may extend it (cmds_lun_resized); ws_cap is the
	 * largest capacity the LU had since it was sent */
	bool ws_to_end;
	uint64_t ws_cap;
	uint64_t ws_vid; /* what it writes: its fill, or zeros */
	/* EXTENDED COPY valid but for a destination LU that is read-only:
	 * it must be refused (DATA PROTECT), never answered GOOD */
	bool xcopy_into_ro;
	/* EXTENDED COPY: a segment between existing LUs of one block size
	 * names blocks past the last LBA of its source or destination when
	 * sent: refused whole before any block moves (the xcopy oracle) */
	bool xcopy_oor;
	/* EXTENDED COPY: its segments, each one's source and destination
	 * CSCD descriptor index and NUMBER OF BLOCKS, as sent */
	int xc_nseg;
	uint8_t xc_src[PEND_RANGES], xc_dst[PEND_RANGES];
	uint32_t xc_blocks[PEND_RANGES];
	uint64_t cmp_vid;  /* COMPARE AND WRITE, VERIFY: the compared value */
	uint64_t data_vid; /* the value written (per block) */
	uint8_t or_byte;   /* ORWRITE */
	/* a WRITE (or WRITE AND VERIFY) whose expected length ends inside
	 * a block: that block's
	 * record (MODEL_WILD until the answer names its splices), its LBA
	 * and how many of its bytes came (scenario_oracle.c) */
	uint64_t part_handle, part_lba;
	uint32_t part_cut;
	/* the state store's failed saves when it was sent (sim_state_failed):
	 * a PR OUT during which one failed was refused (scenario_pr.c) */
	uint64_t state_fails_at;
	/* the target's failed allocations (`target oom`) when it was sent:
	 * one since may explain an INTERNAL TARGET FAILURE */
	uint64_t oom_at;
	uint64_t pr_store_fails_at; /* a PR OUT: of its LU's key */
	uint8_t bytchk;		    /* VERIFY, WRITE AND VERIFY */
	uint8_t san_sa;		    /* SANITIZE service action */
	bool immed;
	uint64_t san_gen; /* l->san_gen when sent */
	bool san_counted; /* counted in its LU's san_inflight */
	uint64_t sent;	  /* model clock of ls when sent */
	bool oor;	  /* it names blocks past the capacity: GOOD is wrong */
	/* scenario_spc.c: no MODE SELECT in flight at its send, and how
	 * many had been sent then */
	bool ms_alone_at;
	uint64_t ms_issued_at;
	/* scenario_medium.c: its class, the epochs at its send, the medium
	 * then (known: no LOEJ in flight) */
	int med_class;
	uint64_t pv_epoch, med_epoch;
	bool med_known;
	int med_at;
	TAILQ_ENTRY(pend) link;
};

struct toks {
	char *v[MAX_TOKS];
	int n;
};

struct heal_ev {
	struct sim_ev ev;
	struct runner *r;
	struct actor *a;
	unsigned int dirs;
	bool stall;
};

/* ------------------------------------------------ scenario.c */

/* The first failure ends the run; later ones are not reported. */
void failf(struct runner *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void syntaxf(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

bool target_start(struct runner *r);
/* The target process dies (its connections with it) / starts again from
 * its configuration. */
void target_crash(struct runner *r);
/* `target shutdown`: a graceful stop (scenario.c). */
void target_shutdown(struct runner *r, uint64_t grace_ns);
void target_restart(struct runner *r);
/* Against a real target: a line that needs the simulated target or
 * network is not played; say so (true: skip it). */
bool against_skip(struct runner *r, const char *what);
/* A line of the target's configuration: true (not played) against a
 * real target, with a note. */
bool against_config(struct runner *r, const char *what);
void run_quiet(struct runner *r);
void wait_pend(struct runner *r, struct pend *p, uint64_t timeout);

/* ------------------------------------------ scenario_order.c */

/* A command's answer: the task attribute oracle. */
void order_on_done(struct runner *r, struct pend *p, const struct ini_op *op);

/* ------------------------------------------ scenario_target.c */

/* A `target ...` line: a control step, crash, restart, stats, a name. */
void target_verb(struct runner *r, struct toks *t);

/* ------------------------------------------ scenario_parse.c */

void tokenize(char *s, struct toks *t);
void toks_shift(struct toks *t, int k);
const char *kv(const struct toks *t, const char *key);
/* A size as docs/configuration.md writes it (bytes, or a K/KiB, M/MiB,
 * G/GiB, T/TiB suffix, any case): the simulator's own reading, not the
 * target's ut_size_parse.  0 or -1. */
int sim_size_parse(const char *s, uint64_t *out);
bool has(const struct toks *t, const char *word);
bool parse_dur(const char *s, uint64_t *ns);
uint64_t u64_or(const struct toks *t, const char *key, uint64_t dflt,
		struct runner *r);
size_t hex_decode(const char *s, uint8_t *out, size_t cap);
void exp_init(struct exp *e);
void exp_parse(struct runner *r, struct exp *e, struct toks *t, int from);
const char *status_name(int s);
bool scsi_build(struct runner *r, struct pend *p, struct ini_op *op,
		const char *verb, const struct toks *t);
void chap_opts(struct runner *r, struct ini_chap *c,
	       const struct ini_chap *base, const struct toks *t);
void decl_lun(struct runner *r, struct toks *t);
void decl_reactors(struct runner *r, struct toks *t);
void decl_zero_copy(struct runner *r, struct toks *t);
void decl_send_file(struct runner *r, struct toks *t);
void decl_config_file(struct runner *r, struct toks *t);
/* The configuration the target boots from with `config-file`: meant
 * written as scst.conf text and read back by the target's parser into
 * *out (to be freed); -1 (the run failed) if the parser says anything
 * or builds something else. */
int conffile_boot_config(struct runner *r, const struct ut_config *meant,
			 struct ut_config *out, const char *why);
void decl_param(struct runner *r, struct toks *t);
void decl_user(struct runner *r, struct toks *t);

/* ------------------------------------------ scenario_verbs.c */

struct actor *actor_find(struct runner *r, const char *name);
void pend_gc(struct runner *r);
void actor_wait(struct runner *r, struct actor *a);
void net_cfg_apply(struct runner *r, struct sim_link_cfg *c,
		   const struct toks *t);
void heal_fire(struct sim_ev *ev);
void heal_all(struct runner *r);
void actor_verb(struct runner *r, struct actor *a, struct toks *t);
void disk_verb(struct runner *r, struct lun_st *l, struct toks *t);
void decl_initiator(struct runner *r, struct toks *t);

/* ------------------------------------------- scenario_alua.c */

void alua_decl_portal(struct runner *r, struct toks *t);
void alua_decl_tpg(struct runner *r, struct toks *t);
int alua_cfg(struct runner *r, struct ut_config *c);
uint16_t alua_portal_tpgt(const struct runner *r, const char *portal);
/* scenario_pr.c: the PR model's target ports.  One target (no `target
 * add`): every nexus of the model is a nexus of it; and the RELATIVE
 * TARGET PORT IDENTIFIER of its port in portal group tpgt. */
bool pr_one_target(const struct runner *r);
uint16_t pr_rtp_of(const struct runner *r, uint16_t tpgt);
void alua_target_verb(struct runner *r, struct toks *t);
bool alua_scsi_build(struct runner *r, struct pend *p, struct ini_op *op,
		     const char *verb, const struct toks *t);
void alua_issue(struct runner *r, struct pend *p);
void alua_lun_going(struct lun_st *l);
void alua_lun_changed(struct runner *r, struct lun_st *l);
void alua_ctl_applied(struct runner *r);
void alua_done(struct runner *r, struct pend *p, struct ini_op *op);
void alua_login_done(struct runner *r, struct pend *p, bool ok);
void alua_reset_sent(struct runner *r, struct pend *p);
void alua_restarted(struct runner *r);
/* Sense key/ASC/ASCQ as the ALUA oracle and the hosts read them
 * (descriptor 72h or fixed). */

/* ------------------------------------------- scenario_mpath.c */

void alua_decl_host(struct runner *r, struct toks *t);
struct mp_host *alua_host_find(struct runner *r, const char *name);
/* HOST read|write|sync ... */
void alua_host_verb(struct runner *r, struct mp_host *h, struct toks *t);
/* Attempts a multipath host's command has made. */
int mp_cmd_attempts(const struct mp_cmd *c);
/* An attempt of a host's command was answered (from alua_done). */
void mp_after(struct mp_cmd *c, struct pend *p, struct ini_op *op);
/* The hosts' commands freed with the runner. */
void alua_free(struct runner *r);
/* ------------------------------------------- scenario_cmds.c */

/* The verbs of the whole command set beyond read/write/sync (false: not
 * one of them). */
bool cmds_build(struct runner *r, struct pend *p, struct ini_op *op,
		const char *verb, const struct toks *t);
/* Does the command class read or write the medium (reservation oracles)? */
bool pk_reads_medium(enum pkind k);
bool pk_writes_medium(enum pkind k);

/* ------------------------------------ scenario_cmds_oracle.c */

/* The oracles of cmds_build's verbs, when the answer arrives. */
void cmds_oracle(struct runner *r, struct pend *p, struct ini_op *op);
/* A command naming blocks past the last LBA (p->oor) answered GOOD fails
 * (SBC-4 §4.5); cmds_oracle calls it, SYNCHRONIZE CACHE too. */
void cmds_oor_oracle(struct runner *r, struct pend *p, struct ini_op *op);
/* scenario_oracle.c: a write's O/U bit and residual against its
 * expected length (RFC 7143 §11.4.5.1); the record of the block a write
 * cut inside a block spliced (p->part_cut), ended with outcome (the
 * model's 0 GOOD, 1 not written, 2 unknown, MODEL_BOUNDED). */
void oracle_residual(struct runner *r, struct pend *p, struct ini_op *op);
void write_part_end(struct pend *p, struct lun_st *l, int outcome);

/* ------------------------------------ scenario_rsoc.c */

/* Every SCSI answer: REPORT SUPPORTED OPERATION CODES and REPORT
 * SUPPORTED TASK MANAGEMENT FUNCTIONS against what the LU does. */
void rsoc_scsi_done(struct runner *r, struct pend *p, struct ini_op *op);
/* A TMF answered: the function against the reported TMF bits. */
void rsoc_tmf_done(struct runner *r, struct pend *p, struct ini_op *op);
/* Every SCSI answer on a LUN: the SANITIZE oracle's view of it. */
void cmds_sanitize_watch(struct runner *r, struct pend *p, struct ini_op *op);
/* The sanitize pending in the model ends: 0 done, 2 unknown (it was
 * cancelled, or failed part way). */
void cmds_sanitize_end(struct lun_st *l, int outcome);
void cmds_sanitize_grown(struct lun_st *l, uint64_t old_blocks);
/* The target crashed or the LUN went: a sanitize running there ended. */
void cmds_lun_reset_state(struct lun_st *l);
/* l was resized from old_blocks to its model's capacity now. */
void cmds_lun_resized(struct runner *r, struct lun_st *l, uint64_t old_blocks);
/* A plain WRITE of vid sent past the last LBA of l: its blocks are
 * written only if a grow brings them all in before the target takes it
 * (cmds_lun_resized begins them then). */
void cmds_write_past_end(struct pend *p, struct lun_st *l, uint64_t lba,
			 uint32_t blocks, uint64_t vid);
/* Its answer: a grow had begun its blocks; GOOD lands them, LOGICAL
 * BLOCK ADDRESS OUT OF RANGE (taken before the grow) writes nothing. */
void cmds_write_past_end_answered(struct pend *p, struct ini_op *op);
/* The target restarts: the LU's mode parameters are the configured ones. */
void cmds_lun_power_on(struct lun_st *l);
void cmds_ms_reset_sent(struct lun_st *l);
void cmds_ms_reset_done(struct lun_st *l);

/* ------------------------------------------ scenario_stats.c */

/* Statistics: the issued CDB's row in the target's opcode table. */
void cmds_count(struct runner *r, const uint8_t *cdb);

/* Sense key/ASC/ASCQ of an answer (scenario_verdict.c). */
void sense_parse(const struct ini_op *op, int *sk, int *asc, int *ascq);
/* scenario_oracle.c */
bool sense_unknown_fate(const struct ini_op *op);
/* Failed saves of LUN l's APTPL state so far (sim_state_failed), and the
 * error of the last (scenario_pr.c). */
/* One of the target's allocations failed while p was out (`target oom`,
 * sim_oom.c): what out of memory explains may be its answer. */
static inline bool oom_during(const struct runner *r, const struct pend *p)
{
	return r->sim->oom.failed != p->oom_at;
}

uint64_t pr_store_failed(struct runner *r, const struct lun_st *l, int *err);
bool scsi_good(const struct ini_op *op);

/* -------------------------------------------- scenario_spc.c */

/* What the target says about itself: REPORT LUNS, VPD B2h and READ
 * CAPACITY(16) provisioning, MODE SENSE, MODE SELECT's saved pages,
 * REQUEST SENSE's format, a medium error's INFORMATION. */
void spc_oracle(struct runner *r, struct pend *p, struct ini_op *op);
void spc_sent(struct runner *r, struct pend *p, struct ini_op *op);
/* SendTargets answers: each TargetAddress is a portal with its tag. */
void spc_text_oracle(struct runner *r, struct pend *p, struct ini_op *op);

/* ----------------------------------------- scenario_oracle.c */

struct lun_st *lun_find(struct runner *r, uint64_t lun);
/* The LU statistics oracle (scenario_target.c): a SCSI command sent, and
 * answered; at the end of a run, the bounds checked. */
void lu_stats_sent(struct runner *r, struct pend *p, const uint8_t *cdb);
void lu_stats_done(struct runner *r, struct pend *p, const struct ini_op *op);
void lu_stats_oracle(struct runner *r);
/* The session listing against what each initiator negotiated. */
void sessions_agree(struct runner *r);
/* The length of a CDB (by its operation code's group, SPC-4 §4.2.5.1) if
 * NACA is set in its CONTROL byte; 0 if not, or of no fixed length. */
unsigned int cdb_naca_len(const uint8_t *cdb);
void resv_drop_holder(struct runner *r, struct actor *a);
void resv_reset(struct lun_st *l);
bool aborts_pending(struct runner *r);
void pend_done(void *arg, struct ini_op *op);
void pend_first_in(void *arg, struct ini_op *op);
void pend_in_seg(void *arg, struct ini_op *op, uint32_t off, uint32_t len,
		 bool from_file);
/* sim->land: a disk applied a write. */
void land_check(void *ctx, const char *disk, uint64_t offset_bytes,
		const uint8_t *data, uint64_t len);
/* WRITE ATOMIC(16) against concurrent reads (scenario_oracle.c):
 * one sent, answered (model outcome), every record dropped (the model
 * is replaced, the run ends). */
void atomic_sent(struct lun_st *l, const struct pend *p);
void atomic_answered(struct runner *r, struct lun_st *l, const struct pend *p,
		     int outcome, uint64_t stamp);
void atomic_forget(struct lun_st *l);
/* A write of vid to LUN l is sent: that value's landing is fine again
 * (MODEL_WILD: a copy, any value of the LU). */
void land_bound_forget(struct runner *r, const struct lun_st *l, uint64_t vid);
void land_login_done(struct runner *r, struct actor *a);
void land_crash(struct runner *r);
void leak_check(struct runner *r, const char *when);
void end_of_run(struct runner *r);
/* Is a reset or PR OUT that ended unanswered (its actors' bits) still
 * possibly on its way to the target? */
bool limbo_pending(struct runner *r, uint32_t *actors);

/* -------------------------------------------- scenario_verdict.c */

const char *outcome_name(enum ini_outcome o);
/* The answer against its line's expect ... tokens. */
void verdict(struct runner *r, struct pend *p, struct ini_op *op);
/* The answer told to r->o.answer (the --answers listener). */
void tell_answer(struct runner *r, struct pend *p, struct ini_op *op);
/* Discovery and PR IN data against targets=, pieces=, contains=, keys=,
 * holder=. */
void check_text(struct runner *r, struct pend *p, struct ini_op *op);
void check_prin(struct runner *r, struct pend *p, struct ini_op *op);

/* ------------------------------------------------ scenario_pr.c */

void oracle_pr(struct runner *r, struct pend *p, struct ini_op *op);
void pr_gen_sent(struct lun_st *l, struct pend *p);
/* scenario_acl.c: initiator groups (LUN masking) and their oracle */
void decl_group(struct runner *r, struct toks *t);
int acl_cfg(struct runner *r, struct ut_config *c);
/* scenario_oracle.c: commands waiting for their CmdSN turn in the task
 * set another session's reset clears (pend's gapr_*) */
void gap_reset_sent(struct runner *r, struct pend *p);
/* ... at p's answer: actors (bit per actor index) whose marked commands
 * p ended (every one for a TMF FUNCTION COMPLETE, the preempted for a
 * PREEMPT AND ABORT judged exactly, none otherwise) */
void gap_reset_confirm(struct runner *r, struct pend *p, uint64_t actors);
bool acl_sees(const struct runner *r, const struct actor *a,
	      const struct lun_st *l);
bool acl_may_login(const struct runner *r, const struct actor *a,
		   const char *portal);
void decl_allowed_portal(struct runner *r, struct toks *t);
void acl_scsi_done(struct runner *r, struct pend *p, struct ini_op *op);
/* Is l read-only for a (the LU's `ro`, or its group maps it so)? */
bool acl_ro(const struct runner *r, const struct actor *a,
	    const struct lun_st *l);
/* What each actor (row) sees of each LUN (column): 0 nothing, 1
 * read-write, 2 read-only. */
void acl_views(const struct runner *r, uint8_t v[MAX_ACTORS][MAX_LUNS]);
/* The runner's groups edited as a `target initiator|group add|remove`
 * line says (false: a syntax error; *refused: the change is impossible,
 * the groups unchanged). */
bool acl_edit(struct runner *r, struct toks *t, bool *refused);
/* The runner's groups into a target's configuration. */
int acl_groups_cfg(struct runner *r, struct ut_target_cfg *tc);

void acl_login_done(struct runner *r, struct pend *p, struct ini_op *op);
void acl_text_oracle(struct runner *r, struct pend *p, const char *kvp);
void pr_gen_power_on(struct lun_st *l);

/* -------------------------------------------- scenario_medium.c */

/* The removable medium oracle: a SCSI command sent (its LU known), its
 * answer; nexus loss, resets, power on and a LUN's removal. */
void med_sent(struct runner *r, struct pend *p, const struct ini_op *op);
void med_oracle(struct runner *r, struct pend *p, struct ini_op *op);
void med_nexus_loss(struct runner *r, struct actor *a);
void med_login_done(struct runner *r, struct actor *a);
void med_power_on(struct runner *r, struct lun_st *l);
void med_lun_gone(struct runner *r, struct lun_st *l);
void med_reset_sent(struct runner *r, struct pend *p);
/* scenario_cold.c: TARGET COLD RESET closes its target's sessions */
void cold_reset_sent(struct runner *r, struct pend *p);
void cold_reset_issued(struct runner *r, struct pend *p);
void cold_reset_done(struct runner *r, struct pend *p, const struct ini_op *op);
void cold_check(struct runner *r);
void med_reset_done(struct runner *r, struct pend *p, struct lun_st *l);
void med_reset_lost(struct runner *r, struct lun_st *l);

/* ------------------------------------------------ scenario_ua.c */

uint64_t ua_tick(struct runner *r);
/* Every answer, before the other oracles. */
void ua_on_done(struct runner *r, struct pend *p, struct ini_op *op);
/* A SCSI command was built (MODE SELECT overlap). */
void ua_scsi_sent(struct runner *r, struct pend *p, struct ini_op *op);
/* A TMF was sent (resets replace the queues). */
void ua_tmf_sent(struct runner *r, struct pend *p);
/* A PR OUT sent; applied exactly by the PR oracle, or not known
 * exactly. */
void ua_pr_sent(struct runner *r, struct pend *p);
void ua_pr_effects(struct runner *r, struct pend *p, const struct prm_ua *u);
void ua_pr_unknown(struct runner *r, struct pend *p);
/* Control steps: begin, what they raise (owed: confirmed at the end),
 * a refused one. */
void ua_step_begin(struct runner *r);
void ua_expect(struct runner *r, uint32_t lun, uint8_t what);
void ua_expect_index(struct runner *r, int li, uint8_t what);
void ua_step_end(struct runner *r, bool owed);
void ua_step_failed(struct runner *r);
void ua_forget_lun(struct runner *r, uint32_t lun);
/* A control step changes one actor's LUN set (initiator groups): li
 * gets what `what` names for that actor only / the actor's nexus to li
 * went (a new one, if any, keeps the step's own conditions). */
void ua_expect_actor(struct runner *r, struct actor *a, int li, uint8_t what);
void ua_nexus_replaced(struct runner *r, struct actor *a, int li);
void ua_nexus_replacing(struct runner *r, int li);
void ua_nexus_new(struct runner *r, struct actor *a, int li);
void ua_lun_back(struct runner *r, int li);
/* A `target lun add` begins (what may reach its LU from the step's
 * start) / it failed. */
void ua_lun_adding(struct runner *r, int li, uint32_t lun);
void ua_lun_going(struct runner *r, uint32_t lun);
void ua_lun_add_failed(struct runner *r, int li);
void ua_crash(struct runner *r);

/* scenario_verbs.c: a line's pend, its op, and its issue */
struct pend *pend_new(struct runner *r, struct actor *a, const char *verb,
		      struct toks *t);
struct ini_op *op_for(struct pend *p, enum ini_op_kind kind);
void finish_issue(struct runner *r, struct pend *p);

/* scenario_wire.c: the wire's error paths.  A login that breaks a rule
 * (`login bad=`) gets the Login Response status RFC 7143 §11.13.5 gives
 * it, or, stalled, is closed at the login timeout; a PDU left half sent
 * (`stall-pdu`) is closed after NopInTimeout. */
void wire_login_done(struct runner *r, struct pend *p, struct ini_op *op);
void wire_login_creds(struct runner *r, struct pend *p, const struct ini_op *op,
		      const struct ini_chap *c, bool discovery,
		      bool auth_method);
void wire_stall_pdu_done(struct runner *r, struct pend *p, struct ini_op *op);
/* The end of an op whose command PDU was corrupted on its way. */
void wire_corrupt_done(struct runner *r, struct pend *p, struct ini_op *op);
/* A `corrupt to-target|from-target|both [count=N]` line. */
void wire_corrupt(struct runner *r, struct actor *a, struct toks *t);
/* A `stall-pdu [bytes=N]` line. */
void wire_stall_pdu(struct runner *r, struct actor *a, struct toks *t);
void ua_mode_reset(struct runner *r);

#endif
