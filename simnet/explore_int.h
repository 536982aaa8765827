/*
 * explore_int.h — what the two files of the explorer's generator share:
 * the generator (its output and its random streams, one per feature so
 * that adding a feature leaves the draws of the others as they were), the
 * recent writes that later commands revisit, and the command-set stream's
 * groups.  explore.c turns a seed into a scenario; explore_cmds.c draws
 * the command-set lines that scenario interleaves.  The small helpers are
 * static inline so that both files call them as before.
 */
#ifndef UT_SIM_EXPLORE_INT_H
#define UT_SIM_EXPLORE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

struct gen {
	char *buf;
	size_t len, cap;
	uint64_t st; /* splitmix64 state: generation only */
	/* A second stream for the remote-store features, so that adding
	 * them left every other draw (and the seeds found before) as it
	 * was: a seed without them generates the same text. */
	uint64_t st_remote;
	/* And a third for live reconfiguration steps, for the same reason. */
	uint64_t st_ctl;
	/* A fourth for the task management and reservation actions the
	 * unit attention and abort oracles judge (target reset, task set
	 * TMFs, PREEMPT AND ABORT, REGISTER AND IGNORE EXISTING KEY). */
	uint64_t st_ua;
	/* And a fifth for the world: several reactors, RAM and null LUNs. */
	uint64_t st_world;
	/* A sixth for ALUA, likewise: multipath hosts, state changes. */
	uint64_t st_alua;
	/* And a fourth for the rest of the command set (cmd_step). */
	uint64_t st_cmd;
	/* And one for initiator groups (ACLs, LUN masking). */
	uint64_t st_acl;
	/* And one for the rare requests (explore.c rare_step): REPORT LUNS
	 * SELECT REPORT 01h/02h, UNMAP at MAXIMUM UNMAP LBA COUNT, writes
	 * with another expected length, ping data, LBAs near 2^64, refused
	 * Logouts, a MaxRecvDataSegmentLength declared after login, MODE
	 * SELECT under a persistent reservation. */
	uint64_t st_rare;
	/* And one for the PR OUTs with TransportIDs (explore.c
	 * pr_tid_step): REGISTER with SPEC_I_PT, REGISTER AND MOVE. */
	uint64_t st_prx;
	/* And one for ALL_TG_PT on pr_step's REGISTERs (lane allport):
	 * one registration per target port where a world has two. */
	uint64_t st_atp;
	/* And one for task attributes: ORDERED and HEAD OF QUEUE reads and
	 * writes (the order oracle, scenario_order.c). */
	uint64_t st_attr;
	/* And one for what the simulator reached last (lane simgaps14):
	 * WRITEs cut inside a block by their expected length, a state
	 * store that refuses to save, graceful shutdowns, devices that
	 * open late or never, CmdSN gaps. */
	uint64_t st_gap;
	/* And one for the wire (explore.c wire_step): digests negotiated,
	 * misbehaving logins, a login or a PDU left stalled, long login
	 * responses. */
	uint64_t st_wire;
	/* And one for the iSCSI layer's own draws: an initiator's
	 * MaxRecvDataSegmentLength below the target's. */
	uint64_t st_iscsi;
	/* And one for logins that skip the security stage, carry extension
	 * keys and TaskReporting lists, or put a security key or a
	 * target's declaration in the operational stage (explore.c
	 * neg_step, lane cov15). */
	uint64_t st_neg;
	/* And one for CmdSN gaps and commands outside the window (explore.c
	 * cmdsn_step, lane cmdsn15). */
	uint64_t st_cmdsn;
	/* And one for the connection's life (explore.c live_step, lane
	 * eblind16a): a short RspTimeout, busy spells that keep a session
	 * owing answers for longer than it, Logouts with commands
	 * outstanding. */
	uint64_t st_live;
	/* And one for what the simulator reached last in lane reach16:
	 * WRITE AND VERIFY cut by its expected length. */
	uint64_t st_reach;
	/* And one for the holder's own task-set TMFs and resets below
	 * which a command is held (explore.c cmdsn_step, lane tmfgap16):
	 * st_cmdsn draws as before. */
	uint64_t st_tmfgap;
	/* And one for a greedy initiator (explore.c greedy_step, lane
	 * budget16): bursts of commands of large expected length, behind
	 * a CmdSN gap or not, past its session's SessionBufferLimit. */
	uint64_t st_budget;
	/* And one for what the explorer alone was blind to on the wire
	 * (explore.c, lane eblind16b): CHAP worlds (IncomingUser,
	 * OutgoingUser, initiators writing their values in hex or base64,
	 * either case of prefix), pings off where a PDU is left half sent,
	 * pings hit in their data. */
	uint64_t st_chap;
	/* And one for what planted bugs of lane blind17 showed the
	 * explorer never sent: START STOP UNIT with a power condition,
	 * Data-Out out of sequence, commands to LUNs in the flat space. */
	uint64_t st_blind;
	/* And one for the non-immediate requests (NOP-Out, Text, TMF,
	 * Logout) sent ahead of a CmdSN gap (explore.c cmdsn_step,
	 * hole_request, lane cmdsnhole17): st_cmdsn draws as before. */
	uint64_t st_cmdsnhole;
	/* And one for logins past the target's own limit of keys (bad=
	 * keys-many in wire_step's extra-keys logins, lead18). */
	uint64_t st_keys;
	/* And one for WRITE ATOMIC(16) with an ATOMIC BOUNDARY (explore_
	 * cmds.c, lead18). */
	uint64_t st_atomic;
	/* And one for plain WRITEs and READs sent past a LUN's end just
	 * before a grow brings their blocks in (explore.c ctl_step, lane
	 * reconf18): st_ctl draws as before. */
	uint64_t st_reconf;
	/* And one for requests the target must ignore (a duplicate CmdSN,
	 * or one outside the window) and for the proof that commands behind
	 * a CmdSN gap reached the target before another session's reset
	 * (explore.c cmdsn_step, ign_request, lane cmdsnign18): st_cmdsn
	 * and st_cmdsnhole draw as before. */
	uint64_t st_cmdsnign;
	/* And one for what planted bugs of lane blind18 showed the
	 * explorer never sent: CDBs with NACA set in their CONTROL byte
	 * (explore_cmds.c naca_step). */
	uint64_t st_blind18;
	/* And one for zero-copy reads (lane zerocopy18): the daemon's
	 * --zero-copy on in half the seeds with a RAM-disk LU, and there a
	 * slow reader's large read raced by a write (explore.c zc_step). */
	uint64_t st_zc;
	/* And one for what planted bugs of lane blind19 showed the
	 * explorer never made: ALUA target port group IDs and portal group
	 * tags over their whole range (the configuration's ",t,0xN" port
	 * names, numbers at their maximum), a spare target beside live
	 * changes on several reactors (two retires per change), null LUs
	 * whose size has a G suffix. */
	uint64_t st_blind19;
	/* And one for what planted bugs of lane blind20 showed the
	 * explorer never made: an InitiatorName of 224 bytes (wire_step),
	 * a MaxRecvDataSegmentLength in hex with capitals, PREVENT ALLOW
	 * MEDIUM REMOVAL with a medium changer's value, an ALUA seed's
	 * second portal at an IPv6 address (and a discovery there). */
	uint64_t st_blind20;
	/* the ALUA seed's two target port group IDs (alua_step) */
	unsigned int tpg_id[2];
	/* And one for what the lead's round of session 19 showed the
	 * explorer never sent: RAM-disk LUs of several of their 1 MiB
	 * chunks (one in two 1-3 MiB larger) and there mem_step; commands
	 * with the ACA task attribute (explore_cmds.c aca_step). */
	uint64_t st_lead19;
	/* And one for the lead's round of session 20: the target boots
	 * from scst.conf text in one seed in three (`config-file`). */
	uint64_t st_lead20;
	/* And one for reads sent from a file (lane sendfile19): the
	 * daemon's --send-file on with --zero-copy in one seed in four,
	 * and there a slow reader's large read of a simulated disk or a
	 * null LU raced by a write, a reset or a reconnect (explore.c
	 * sf_step). */
	uint64_t st_sf;
	/* And one for READs and WRITEs the target must ignore, their CmdSN
	 * a duplicate (explore.c dup_command, lane dupcmd19), and the
	 * number of their write values (data=dcN): st_cmdsn, st_cmdsnhole
	 * and st_cmdsnign draw as before. */
	uint64_t st_dupcmd;
	unsigned int dup_vnum;
	/* And one for WRITE ATOMIC(16) racing a slow reader's large read
	 * by reference (explore.c zc_step and sf_step, lane atomic20): one
	 * write in three of those steps is atomic; st_zc and st_sf draw as
	 * before. */
	uint64_t st_at20;
	/* And one for CDBs longer than 16 bytes, their bytes past 16 in an
	 * Extended CDB AHS (explore_cmds.c longcdb_step, lane dupcmd19). */
	uint64_t st_longcdb;
	/* And one for a PREEMPT AND ABORT in place of another initiator's
	 * reset while commands wait behind a CmdSN gap (explore.c
	 * cmdsn_step, gap_preempt, lane dupcmd19). */
	uint64_t st_gappr;
	/* And one for TARGET COLD RESET (explore.c cold_step, lane cold20):
	 * the other streams draw as before. */
	uint64_t st_cold;
	/* And one for live resizes of RAM-disk and null LUs (explore.c
	 * memrz_step, lane cold20). */
	uint64_t st_memrz;
	/* And one for memory pressure on the target (explore.c oom_step,
	 * lane lead21: `target oom`, simnet/sim_oom.c). */
	uint64_t st_oom;
	/* And one for what the planted bugs of lane mutall21 showed the
	 * explorer never made: an EXTENDED COPY of zeros then data into a
	 * RAM disk's chunk never written, across its first chunk boundary
	 * (explore.c chunk_edge_copy_step). */
	uint64_t st_mutall21;
	/* And one for a device's attributes changed live under I/O with
	 * sessions logged in (explore.c devattr_step, lane devattr21): the
	 * other streams draw as before. */
	uint64_t st_devattr;
	/* And one for a TARGET COLD RESET whose issuer closes its
	 * connection (FIN) right after sending it (explore.c cold_step, lane
	 * devattr21): st_cold draws as before. */
	uint64_t st_coldfin;
};

static inline void out(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void out(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && g->len + (size_t)n < g->cap)
			break;
		g->cap = g->cap * 2 + (size_t)n + 1;
		g->buf = realloc(g->buf, g->cap);
		if (g->buf == NULL)
			abort();
	}
	g->len += (size_t)n;
}

static inline uint64_t rnd(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st) % n : 0;
}

static inline bool coin(struct gen *g, unsigned int pct)
{
	return rnd(g, 100) < pct;
}

static inline uint64_t rnd_attr(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_attr) % n : 0;
}

static inline uint64_t rnd_cmd(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cmd) % n : 0;
}

static inline uint64_t rnd_blind(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_blind) % n : 0;
}

static inline uint64_t rnd_blind18(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_blind18) % n : 0;
}

static inline uint64_t rnd_blind19(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_blind19) % n : 0;
}

static inline uint64_t rnd_blind20(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_blind20) % n : 0;
}

static inline uint64_t rnd_zc(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_zc) % n : 0;
}

static inline uint64_t rnd_lead19(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_lead19) % n : 0;
}

static inline uint64_t rnd_lead20(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_lead20) % n : 0;
}

static inline uint64_t rnd_sf(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_sf) % n : 0;
}

static inline uint64_t rnd_at20(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_at20) % n : 0;
}

static inline uint64_t rnd_reach(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_reach) % n : 0;
}

static inline bool coin_cmd(struct gen *g, unsigned int pct)
{
	return rnd_cmd(g, 100) < pct;
}

/* A recent WRITE (reads revisit them; compares and copies meet them). */
struct recent_w {
	unsigned int lun;
	uint32_t lba, blocks;
	unsigned int vnum; /* its data=vN */
};

/*
 * The rest of the command set (scenario_cmds.c), drawn from a stream of
 * its own (st_cmd) so that the other draws, and the seeds found before,
 * stay as they were.  Swarm testing again: each seed enables a random
 * subset of these groups, and sends one of their commands before a
 * random fraction of its steps.
 */
enum {
	CG_RW,	     /* READ/WRITE(6/12/16), WRITE ATOMIC(16) */
	CG_CAW,	     /* COMPARE AND WRITE, races of two on one block */
	CG_WSAME,    /* WRITE SAME(10/16), UNMAP bit, NDOB, 0 blocks */
	CG_UNMAP,    /* UNMAP with several descriptors */
	CG_ORWRITE,  /* ORWRITE(16) */
	CG_VERIFY,   /* VERIFY BYTCHK 0/1/3, WRITE AND VERIFY */
	CG_XCOPY,    /* EXTENDED COPY, RECEIVE COPY RESULTS */
	CG_GLS,	     /* GET LBA STATUS */
	CG_SANITIZE, /* SANITIZE */
	CG_SPC,	     /* everything else the target reports */
	CG_TMF,	     /* ABORT TASK SET, CLEAR TASK SET, TARGET RESET */
	CG_MEDIUM,   /* PREVENT/ALLOW, START STOP LOEJ on removable LUs */
	CG_N
};

static const char *const cg_names[CG_N] = {
	"rw-variants", "caw",	 "write-same", "unmap",
	"orwrite",     "verify", "xcopy",      "lba-status",
	"sanitize",    "spc",	 "tmf",	       "medium"};

struct cmdgen {
	bool on[CG_N];
	unsigned int pct; /* of the steps that get a command of these */
	unsigned int nlun, lba_span, seq;
	bool thin[8];
	bool keeps[8];	   /* keeps its data (the simulated disk, mem) */
	bool mem[8];	   /* a RAM disk */
	bool removable[8]; /* `removable`: a medium to eject and lock */
	bool all_keep;
	uint32_t size_blocks[8];
	bool resv, pr, tmf;
	bool ctl; /* LUNs resized, removed, added: no edge cases */
	/* LUNs 0 and 1 2 MiB larger, for EXTENDED COPY segments of more
	 * than one 1 MiB chunk (explore_cmds.c big_xcopy_step, st_blind18) */
	bool big_xcopy;
	unsigned int big_seq; /* its data names, bx1, bx2... */
	/* the last value COMPARE AND WRITE may find at a block */
	struct {
		unsigned int lun;
		uint32_t lba;
		char name[16];
	} last;
	bool have_last;
};

/* explore_cmds.c: the groups a seed enables (and what share of its steps
 * get a command), and one command before a step. */
/* The initiators a seed declares, in order (explore.c). */
#define EXPLORE_MAX_INITIATORS 4
extern const char *const explore_names[EXPLORE_MAX_INITIATORS];

void explore_cmd_draw(struct gen *g, struct cmdgen *c, bool ctl);
void explore_cmd_step(struct gen *g, struct cmdgen *c, unsigned int nini,
		      const struct recent_w *recent, unsigned int nrecent);

#endif /* UT_SIM_EXPLORE_INT_H */
