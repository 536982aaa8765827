/*
 * explore.c — random scenarios for `utarget-sim explore`.
 *
 * Swarm testing (Groce et al.): each seed first draws which fault and
 * workload features it uses at all — chunking, jitter, partitions, RSTs,
 * disk EIO and latency, crashes, reservations, TMFs, reconnects — then a
 * workload over 1-4 initiators and 1-3 LUNs.  The result is ordinary
 * scenario text whose expectations are `any`: the oracles (model, protocol
 * invariants, reservations, liveness, leaks) judge the run.  A failing
 * seed's text is the replayable scenario.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "explore_int.h"
#include "initiator.h"
#include "sim.h"

static uint64_t rnd_remote(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_remote) % n : 0;
}

static uint64_t rnd_ctl(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_ctl) % n : 0;
}

static uint64_t rnd_ua(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_ua) % n : 0;
}

/* A task management function other than ABORT TASK and LUN RESET (the
 * main stream's): every one ends tasks, a target reset also gives every
 * nexus of every LU its POWER ON, RESET unit attention (SAM-5 §6.3). */
static void ua_tmf_step(struct gen *g, const char *a, unsigned int nlun)
{
	unsigned int lun = (unsigned int)rnd_ua(g, nlun),
		     k = (unsigned int)rnd_ua(g, 100);

	if (k < 35)
		out(g, "%s abort-task-set lun=%u & expect any\n", a, lun);
	else if (k < 70)
		out(g, "%s clear-task-set lun=%u & expect any\n", a, lun);
	else
		out(g, "%s target-reset & expect any\n", a);
}

static uint64_t rnd_iscsi(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_iscsi) % n : 0;
}

static uint64_t rnd_world(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_world) % n : 0;
}

static uint64_t rnd_acl(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_acl) % n : 0;
}

/* Initiator groups (scenario_acl.c): one restricts some initiators to a
 * part of the LUNs, always with LUN 0 (the reservations' LUN), in one of
 * the three forms of membership (a name; everybody but a name, the
 * exclusion after the match; exclusions only), and a fenced group of no
 * LUN holds the extra initiator F, whose logins must be refused and to
 * which SendTargets must not show the target.  The command set's
 * EXTENDED COPY stays off (its oracle expects every LU reachable). */
static void acl_decl(struct gen *g, unsigned int nini, unsigned int nlun)
{
	static const char pre[] = "iqn.2026-11.org.utarget:init-";
	unsigned int x = (unsigned int)rnd_acl(g, nini), form;
	uint64_t all = (1u << nlun) - 1, luns;

	luns = 1 | rnd_acl(g, 1u << nlun);
	if (luns == all)
		luns &= ~(1ull << (nlun - 1));
	out(g, "initiator F\ngroup fenced initiators=%sF luns=none\n", pre);
	form = (unsigned int)rnd_acl(g, 3);
	if (form == 0)
		out(g, "group part initiators=%s%s luns=", pre,
		    explore_names[x]);
	else if (form == 1)
		out(g, "group part initiators=%s*,!%s%s luns=", pre, pre,
		    explore_names[x]);
	else
		out(g, "group part initiators=!%s%s luns=", pre,
		    explore_names[x]);
	for (unsigned int i = 0, n = 0; i < nlun; i++)
		if (luns >> i & 1)
			out(g, "%s%u", n++ ? "," : "", i);
	out(g, "\n");
}

/* The LUNs as the control steps have left them. */
struct ctl_luns {
	unsigned int n;
	unsigned int size_k[8];
	bool removed[8];
	unsigned int nini, pnum; /* initiators; values past the end */
};

static uint64_t rnd_reconf(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_reconf) % n : 0;
}

/* Before a grow of LUN k from old_end blocks to new_end (st_reconf),
 * half the time: one to three plain WRITEs and READs past the old end,
 * within the new one (a few from just before it, across it), sent
 * while the grow comes some microseconds later; after the grow, a read
 * of each of those ranges.  The target checks the range when it takes
 * the command: before the grow, LOGICAL BLOCK ADDRESS OUT OF RANGE and
 * nothing written; after it, the write lands (the data model's
 * cmds_lun_resized; lane reconf18).  Returns the ranges' count. */
static unsigned int past_end_cmds(struct gen *g, struct ctl_luns *cl,
				  unsigned int k, unsigned int old_end,
				  unsigned int new_end, unsigned int *lbas,
				  unsigned int *ns)
{
	unsigned int n = 1 + (unsigned int)rnd_reconf(g, 3);

	if (rnd_reconf(g, 2) != 0 || cl->nini == 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		const char *a = explore_names[rnd_reconf(g, cl->nini)];
		unsigned int lba =
			old_end - 4 +
			(unsigned int)rnd_reconf(g, new_end - old_end);
		unsigned int blocks = 1 + (unsigned int)rnd_reconf(g, 16);

		if (lba + blocks > new_end)
			blocks = new_end - lba;
		lbas[i] = lba;
		ns[i] = blocks;
		if (rnd_reconf(g, 3) != 0)
			out(g,
			    "%s write lun=%u lba=%u blocks=%u data=p%u & "
			    "expect any\n",
			    a, k, lba, blocks, ++cl->pnum);
		else
			out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n",
			    a, k, lba, blocks);
	}
	out(g, "+%uus ", (unsigned int)rnd_reconf(g, 3000));
	return n;
}

/* One live reconfiguration step (utargetctl lun resize/remove/add): a
 * LUN grows, or one other than LUN 0 goes (its commands get the drain
 * time, then TASK ABORTED) or comes back on the same disk.  The unit
 * attention and liveness oracles judge what the initiators see. */
static void ctl_step(struct gen *g, struct ctl_luns *cl)
{
	unsigned int k = (unsigned int)rnd_ctl(g, cl->n),
		     r = (unsigned int)rnd_ctl(g, 100);

	if (k > 0 && cl->removed[k]) {
		/* Half the time the device opens off the reactor, as a
		 * remote one does, and one in five of those fails: the
		 * change refused, the LUN still gone (st_reach, lane
		 * reach16: reconfig.c's asynchronous open). */
		bool late = rnd_reach(g, 2) == 0;
		bool fails = late && rnd_reach(g, 5) == 0;
		char open[48] = "";

		if (late)
			snprintf(open, sizeof(open), " open=%ums%s",
				 (unsigned)rnd_reach(g, 1500),
				 fails ? " open-fail=eio expect fail" : "");
		out(g, "target lun add %u disk%u size=%uK%s\n", k, k,
		    cl->size_k[k], open);
		cl->removed[k] = fails;
	} else if (k > 0 && r < 40) {
		out(g, "target lun remove %u drain=%ums\n", k,
		    1 + (unsigned)rnd_ctl(g, 200));
		cl->removed[k] = true;
	} else if (!cl->removed[k]) {
		unsigned int old_end = cl->size_k[k] * 2, lbas[3], ns[3], n;

		cl->size_k[k] += 64 * (1 + (unsigned)rnd_ctl(g, 4));
		n = past_end_cmds(g, cl, k, old_end, cl->size_k[k] * 2, lbas,
				  ns);
		out(g, "target lun resize %u %uK\n", k, cl->size_k[k]);
		for (unsigned int i = 0; i < n; i++)
			out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n",
			    explore_names[rnd_reconf(g, cl->nini)], k, lbas[i],
			    ns[i]);
	}
}

/* devattr_step in ctl seeds: 0 while the failing seeds of its random
 * explore (306877600654 PRgeneration, 306877601635 a PR conflict,
 * 306877603283 and 306877603970 zeros where a durable value was,
 * 306877606986 medium NOT PRESENT where the model has it loaded; with
 * `#define DEVATTR_STEPS 1`) are open: target or oracle, not known. */
#define DEVATTR_STEPS 0

static uint64_t rnd_devattr(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_devattr) % n : 0;
}

/*
 * A device's attributes changed live (st_devattr, lane devattr21:
 * utargetctl attr set device=DISK KEY V) while the sessions are logged
 * in: one to three of read_only, write_through, thin_provisioned and
 * removable, each to 0 or 1, on the disk of a LUN that is there; up to
 * three READs and WRITEs to it sent just before, so that some are in
 * the old LU when the new one takes its place.  The device opens again:
 * judged as the LU at that LUN removed and another added in one step
 * (scenario_target.c ctl_device_set: POWER ON, RESET there, REPORTED
 * LUNS DATA HAS CHANGED on the others, reservations, mode parameters
 * and medium as at power on), then by the write-protect, caching,
 * provisioning and medium oracles with the new attributes.
 */
static void devattr_step(struct gen *g, const struct ctl_luns *cl,
			 unsigned int *num)
{
	static const char *const keys[] = {"read_only", "write_through",
					   "thin_provisioned", "removable"};
	unsigned int k = (unsigned int)rnd_devattr(g, cl->n),
		     n = (unsigned int)rnd_devattr(g, 4),
		     first = (unsigned int)rnd_devattr(g, 4),
		     nkeys = 1 + (unsigned int)rnd_devattr(g, 3);

	if (cl->removed[k] || cl->nini == 0)
		return;
	for (unsigned int i = 0; i < n; i++) {
		const char *a = explore_names[rnd_devattr(g, cl->nini)];
		unsigned int end = cl->size_k[k] * 2,
			     blocks = 1 + (unsigned int)rnd_devattr(g, 32),
			     lba = (unsigned int)rnd_devattr(g, end - blocks);

		if (rnd_devattr(g, 2))
			out(g,
			    "%s write lun=%u lba=%u blocks=%u data=da%u & "
			    "expect any\n",
			    a, k, lba, blocks, ++*num);
		else
			out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n",
			    a, k, lba, blocks);
	}
	if (n > 0)
		out(g, "+%uus ", (unsigned int)rnd_devattr(g, 2000));
	out(g, "target device disk%u set", k);
	for (unsigned int i = 0; i < nkeys; i++)
		out(g, " %s=%u", keys[(first + i) % 4],
		    (unsigned int)rnd_devattr(g, 2));
	out(g, "\n");
}

static uint64_t rnd_alua(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_alua) % n : 0;
}

/* ALUA states, weighted as failovers see them: mostly the active ones and
 * standby, now and then the others. */
static const char *alua_state(struct gen *g)
{
	static const char *const st[] = {
		"active",	"active",	 "nonoptimized",
		"nonoptimized", "standby",	 "standby",
		"unavailable",	"transitioning", "offline",
	};

	return st[rnd_alua(g, sizeof(st) / sizeof(st[0]))];
}

/* One ALUA step: a state change the target makes (utargetctl's), an
 * initiator's SET or REPORT TARGET PORT GROUPS, or I/O of a multipath
 * host, which follows the unit attentions and NOT READY answers to the
 * best path (scenario_alua.c). */
static void alua_step(struct gen *g, unsigned int nini, unsigned int nlun,
		      uint32_t lba_span, unsigned int *vnum)
{
	unsigned int r = (unsigned int)rnd_alua(g, 100);
	unsigned int h = (unsigned int)rnd_alua(g, nini);
	unsigned int lun = (unsigned int)rnd_alua(g, nlun);
	uint32_t lba = (uint32_t)rnd_alua(g, lba_span);
	uint32_t blocks = 1 + (uint32_t)rnd_alua(g, 16);

	if (r < 30) {
		out(g, "target alua %u %s\n", g->tpg_id[rnd_alua(g, 2)],
		    alua_state(g));
	} else if (r < 40) {
		static const char *const st[] = {"active", "nonoptimized",
						 "standby", "unavailable"};

		out(g, "%s%s stpg %u=%s %u=%s & expect any\n", explore_names[h],
		    rnd_alua(g, 2) ? "2" : "", g->tpg_id[0], st[rnd_alua(g, 4)],
		    g->tpg_id[1], st[rnd_alua(g, 4)]);
	} else if (r < 45) {
		/* and the Device Identification page through the same
		 * path (no draw of its own): the VPD 83h port oracle holds
		 * its port designators against this answer and the other
		 * path's (scenario_alua.c) */
		const char *path = rnd_alua(g, 2) ? "2" : "";

		out(g, "%s%s rtpg lun=%u & expect any\n", explore_names[h],
		    path, lun);
		out(g, "%s%s inquiry page=0x83 lun=%u & expect any\n",
		    explore_names[h], path, lun);
	} else if (r < 53) {
		/* what each state still lets through, or not */
		static const char *const v[] = {"readcap",	"tur",
						"inquiry",	"request-sense",
						"pr-read-keys", "report-luns"};

		out(g, "%s%s %s lun=%u & expect any\n", explore_names[h],
		    rnd_alua(g, 2) ? "2" : "", v[rnd_alua(g, 6)], lun);
	} else if (r < 75) {
		out(g, "H%s write lun=%u lba=%u blocks=%u data=m%u &\n",
		    explore_names[h], lun, lba, blocks, ++*vnum);
	} else if (r < 95) {
		out(g, "H%s read lun=%u lba=%u blocks=%u &\n", explore_names[h],
		    lun, lba, blocks);
	} else {
		out(g, "H%s sync lun=%u &\n", explore_names[h], lun);
	}
}

static uint64_t rnd_gap(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_gap) % n : 0;
}

static uint64_t rnd_cmdsn(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cmdsn) % n : 0;
}

static uint64_t rnd_tmfgap(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_tmfgap) % n : 0;
}

static uint64_t rnd_hole(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cmdsnhole) % n : 0;
}

/* A non-immediate request other than a SCSI command right after the
 * held command (a stream of its own, st_cmdsnhole): a NOP-Out ping, a
 * Text Request, or a task-set TMF of some LUN, each of which takes a
 * CmdSN ahead of the gap.  The target must take it in turn: if it did
 * not, ExpCmdSN would stop at it once the gap fills, and the commands
 * after it would never run (the liveness oracles; lane cmdsnhole17). */
static void hole_request(struct gen *g, const char *a, unsigned int nlun)
{
	uint64_t t = rnd_hole(g, 3);

	if (t == 0) {
		out(g, "%s nop nonimm", a);
		if (rnd_hole(g, 2))
			out(g, " data=%u", 1 + (unsigned)rnd_hole(g, 512));
		out(g, " & expect any\n");
	} else if (t == 1) {
		out(g, "%s text & expect any\n", a);
	} else {
		uint64_t f = rnd_hole(g, 3);

		out(g, "%s %s lun=%u nonimm & expect any\n", a,
		    f == 0   ? "abort-task-set"
		    : f == 1 ? "clear-task-set"
			     : "lun-reset",
		    (unsigned int)rnd_hole(g, nlun));
	}
}

/* What cmdsn_step knows of the seed: a second target (the last
 * initiator logged in to it), and whether duplicate CmdSNs are certain
 * (no flips in flight). */
struct prgen;
struct cmdsn_world {
	bool two, dup;
	/* PR seeds: the generator's guess of the PR state on lun 0 (NULL:
	 * none) */
	struct prgen *pg;
};

static bool gap_preempt(struct gen *g, struct prgen *pg, unsigned int ai,
			unsigned int bi, unsigned int us);
static void gap_register(struct gen *g, struct prgen *pg, unsigned int ai);

static uint64_t rnd_ign(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cmdsnign) % n : 0;
}

/* A NOP-Out, Text Request or TMF the target must silently ignore (a
 * stream of its own, st_cmdsnign): its CmdSN a duplicate (`cmdsn=dup`:
 * of the last request of the session that took one, unless dup is
 * false) or certainly outside the window (at least QueuedCommands off).
 * No answer may come, and the TMF has no effect: no reset, no abort, no
 * unit attention (RFC 7143 §4.2.2.1; lane cmdsnign18). */
static void ign_request(struct gen *g, const char *a, unsigned int nlun,
			unsigned int qd, bool dup)
{
	uint64_t t = rnd_ign(g, 4);
	char cs[32];

	if (dup && rnd_ign(g, 3) != 0) {
		snprintf(cs, sizeof(cs), "dup");
	} else {
		long long off = (long long)qd + (long long)rnd_ign(g, 1000);

		if (rnd_ign(g, 2))
			off = -off - 1;
		snprintf(cs, sizeof(cs), "%+lld", off);
	}
	if (t == 0) {
		out(g, "%s nop nonimm cmdsn=%s", a, cs);
		if (rnd_ign(g, 2))
			out(g, " data=%u", 1 + (unsigned)rnd_ign(g, 512));
		out(g, " & expect none\n");
	} else if (t == 1) {
		out(g, "%s text cmdsn=%s & expect none\n", a, cs);
	} else {
		uint64_t f = rnd_ign(g, 4);

		out(g, "%s %s lun=%u cmdsn=%s & expect none\n", a,
		    f == 0   ? "abort-task-set"
		    : f == 1 ? "clear-task-set"
		    : f == 2 ? "lun-reset"
			     : "target-reset",
		    (unsigned int)rnd_ign(g, nlun), cs);
	}
}

static uint64_t rnd_gappr(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_gappr) % n : 0;
}

static uint64_t rnd_dup(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_dupcmd) % n : 0;
}

/* A READ or WRITE the target must silently ignore (a stream of its own,
 * st_dupcmd): `cmdsn=dup`, the CmdSN of the last non-immediate PDU of
 * the session -- a command waiting for its turn behind the gap, a
 * request received ahead of it, or a command answered or running -- or,
 * where a flip in flight may have kept the original from the target, a
 * CmdSN certainly outside the window.  No answer may come, and a write
 * never lands (its value dcN is new: a read that sees it fails).  RFC
 * 7143 §4.2.2.1; lane dupcmd19. */
static void dup_command(struct gen *g, const char *a, unsigned int lun,
			uint32_t lba_span, unsigned int qd, bool dup)
{
	bool w = rnd_dup(g, 2) != 0;

	out(g, "%s %s lun=%u lba=%u blocks=%u", a, w ? "write" : "read", lun,
	    (unsigned int)rnd_dup(g, lba_span),
	    1 + (unsigned int)rnd_dup(g, 8));
	if (w)
		out(g, " data=dc%u", ++g->dup_vnum);
	if (dup) {
		out(g, " cmdsn=dup & expect none\n");
	} else {
		long long off = (long long)qd + (long long)rnd_dup(g, 1000);

		if (rnd_dup(g, 2))
			off = -off - 1;
		out(g, " cmdsn=%+lld & expect none\n", off);
	}
}

/*
 * CmdSN gaps (RFC 7143 §3.2.2.1): an initiator holds back a command
 * (`hold`: it takes its CmdSN, unsent), sends one to three after it,
 * which the target must keep waiting for their turn, and sends the held
 * one a moment later -- sometimes only after another initiator's LU
 * reset, CLEAR TASK SET or target reset, which ends the waiting ones
 * (TASK ABORTED once their turn comes), or never: the connection is
 * reset, or the session reinstated, first, or an ABORT TASK names the
 * held one (its CmdSN then counts as received, RFC 7143 §11.5.1).  Or a command with a CmdSN
 * certainly outside the window (at least QueuedCommands off), which the
 * target must ignore.  Or, in about half the steps that end with a
 * plain send-held, the holder's own ABORT TASK SET, CLEAR TASK SET,
 * LOGICAL UNIT RESET (of the held command's LUN, or of another, whose
 * scope does not hold it) or target reset goes out while the command is
 * held (a stream of its own, st_tmfgap): RFC 7143 §11.5.1, it acts on
 * the commands with a lower CmdSN, received or not, so the held one,
 * sent late, is aborted -- never run, never answered -- when in scope,
 * and runs as any command when not (lane tmfgap16).
 */
static void cmdsn_step(struct gen *g, unsigned int nini, unsigned int nlun,
		       uint32_t lba_span, unsigned int qd, unsigned int *gnum,
		       const struct cmdsn_world *cw)
{
	unsigned int ai = (unsigned int)rnd_cmdsn(g, nini);
	const char *a = explore_names[ai];
	unsigned int lun = (unsigned int)rnd_cmdsn(g, nlun);
	unsigned int n = 1 + (unsigned int)rnd_cmdsn(g, 3), k, held = 0, us;
	uint64_t how = rnd_cmdsn(g, 100);
	/* a non-immediate request ahead of the gap (st_cmdsnhole): 0 none,
	 * 1 right after the held command, 2 a refused Logout (CID not
	 * found: the session stays) after the commands that follow it */
	uint64_t hole = rnd_hole(g, 100);

	hole = hole < 25 ? 1 : hole < 35 ? 2 : 0;
	/* PR seeds with PREEMPT AND ABORT: the gap on the PR LUN one time
	 * in two, for gap_preempt below (st_gappr) */
	if (cw->pg != NULL && rnd_gappr(g, 2) == 0)
		lun = 0;
	/* ... and the holder registered there first (it cannot register
	 * once its commands wait behind the gap: a PR OUT would wait too) */
	if (cw->pg != NULL && lun == 0)
		gap_register(g, cw->pg, ai);

	if (rnd_cmdsn(g, 100) < 25) {
		/* outside the window, ahead of it or behind it */
		int64_t off = qd + (int64_t)rnd_cmdsn(g, 1000);
		bool w = rnd_cmdsn(g, 2) != 0;
		unsigned int lba = (unsigned int)rnd_cmdsn(g, lba_span);
		unsigned int blocks = 1 + (unsigned int)rnd_cmdsn(g, 8);

		if (rnd_cmdsn(g, 2))
			off = -off - 1;
		out(g, "%s %s lun=%u lba=%u blocks=%u", a, w ? "write" : "read",
		    lun, lba, blocks);
		if (w)
			out(g, " data=g%u", ++*gnum);
		out(g, " cmdsn=%+lld & expect none\n", (long long)off);
		return;
	}
	for (k = 0; k <= n; k++) {
		bool w = rnd_cmdsn(g, 2) != 0;

		out(g, "%s %s lun=%u lba=%u blocks=%u", a, w ? "write" : "read",
		    lun, (unsigned)rnd_cmdsn(g, lba_span),
		    1 + (unsigned)rnd_cmdsn(g, 8));
		if (w)
			out(g, " data=g%u", ++*gnum);
		if (k == 0) {
			held = ++*gnum;
			out(g, " hold as=h%u", held);
		}
		out(g, " & expect any\n");
		if (k == 0 && hole == 1) {
			hole_request(g, a, nlun);
			/* a duplicate of that request, received ahead of the
			 * gap, or one outside the window (st_cmdsnign) */
			if (rnd_ign(g, 100) < 40)
				ign_request(g, a, nlun, qd, cw->dup);
			/* a READ or WRITE with that request's CmdSN */
			if (rnd_dup(g, 100) < 30)
				dup_command(g, a, lun, lba_span, qd, cw->dup);
		}
	}
	/* a READ or WRITE with the CmdSN of the last command, waiting for
	 * its turn at the target (st_dupcmd) */
	if (rnd_dup(g, 100) < 35)
		dup_command(g, a, lun, lba_span, qd, cw->dup);
	/* In PR seeds, on the PR LUN, one step in two: another registrant
	 * preempts the holder and aborts its tasks, mostly after a ping of
	 * the holder that proves the commands behind the gap reached the
	 * target (the TMF oracle: they end TASK ABORTED; st_gappr) */
	if (cw->pg != NULL && lun == 0 && nini > 1 && rnd_gappr(g, 2) == 0) {
		unsigned int pi =
			(ai + 1 + (unsigned int)rnd_gappr(g, nini - 1)) % nini;

		if (rnd_gappr(g, 4) != 0)
			out(g, "%s nop expect any\n", a);
		(void)gap_preempt(g, cw->pg, ai, pi,
				  1 + (unsigned int)rnd_gappr(g, 2000));
	}
	/* a duplicate of the last command, waiting for its turn (or of
	 * the request ahead of the gap), or one outside the window */
	if (rnd_ign(g, 100) < 25)
		ign_request(g, a, nlun, qd, cw->dup);
	if (hole == 2)
		out(g,
		    "%s logout reason=connection cid=%u nonimm & expect any\n",
		    a, 100 + (unsigned int)rnd_hole(g, 100));
	if (how < 15 && nini > 1) {
		/* another initiator: ai + 1 .. ai + nini - 1 */
		unsigned int bi = (ai + 1 + rnd_cmdsn(g, nini - 1)) % nini;
		const char *b;
		uint64_t t = rnd_cmdsn(g, 3);

		/* With a second target, mostly a reset through the other
		 * target than the held command's session's (sessions of
		 * both map the LU: the reset ends the commands waiting for
		 * their turn in either); and mostly first a ping of the
		 * holder, whose answer proves that the commands after the
		 * gap reached the target before the reset (the TMF oracle
		 * then knows they must end TASK ABORTED: scenario_oracle.c
		 * gap_reset_sent).  From st_cmdsnign. */
		if (cw->two && rnd_ign(g, 3) != 0 && ai != nini - 1)
			bi = nini - 1;
		b = explore_names[bi];
		if (rnd_ign(g, 4) != 0)
			out(g, "%s nop expect any\n", a);

		us = 1 + (unsigned int)rnd_cmdsn(g, 2000);
		/* In PR seeds, on the PR LUN, one time in two instead a
		 * PREEMPT AND ABORT of the holder's registration by the
		 * other initiator: the commands waiting for their turn end
		 * TASK ABORTED too (the TMF oracle; st_gappr) */
		if (cw->pg != NULL && lun == 0 && rnd_gappr(g, 2) == 0 &&
		    gap_preempt(g, cw->pg, ai, bi, us)) {
			/* written */
		} else {
			out(g, "+%uus %s %s lun=%u & expect any\n", us, b,
			    t == 0   ? "lun-reset"
			    : t == 1 ? "clear-task-set"
				     : "target-reset",
			    lun);
		}
	} else if (how < 22) {
		out(g, "+%uus %s rst\n%s reconnect expect any\n",
		    1 + (unsigned)rnd_cmdsn(g, 2000), a, a);
		return;
	} else if (how < 29) {
		out(g, "+%uus %s reconnect expect any\n",
		    1 + (unsigned)rnd_cmdsn(g, 2000), a);
		return;
	} else if (how < 40) {
		/* RFC 7143 §11.5.1: the target considers its CmdSN received,
		 * and the commands after it run (send-held: nothing is left,
		 * unless the ABORT TASK was not completed) */
		out(g, "+%uus %s abort ref=h%u & expect any\n",
		    1 + (unsigned)rnd_cmdsn(g, 2000), a, held);
	} else if (rnd_tmfgap(g, 100) < 50) {
		/* the holder's own task-set TMF or reset below which the
		 * command is held: on its LUN, or another (out of scope) */
		uint64_t t = rnd_tmfgap(g, 4);
		unsigned int tl =
			nlun > 1 && rnd_tmfgap(g, 3) == 0
				? (lun + 1 +
				   (unsigned int)rnd_tmfgap(g, nlun - 1)) %
					  nlun
				: lun;

		out(g, "+%uus %s %s lun=%u & expect any\n",
		    1 + (unsigned)rnd_tmfgap(g, 2000), a,
		    t == 0   ? "abort-task-set"
		    : t == 1 ? "clear-task-set"
		    : t == 2 ? "lun-reset"
			     : "target-reset",
		    tl);
	}
	out(g, "+%uus %s send-held\n", 1 + (unsigned)rnd_cmdsn(g, 3000), a);
	/* ... and of the command just sent late: its turn come, it runs or
	 * has run, or a TMF of ours aborted it (st_dupcmd) */
	if (rnd_dup(g, 100) < 25)
		dup_command(g, a, lun, lba_span, qd, cw->dup);
}

/* The second target of seeds with two (explore_generate). */
static const char two_iqn[] = "iqn.2026-11.org.utarget:two";

static uint64_t rnd_live(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_live) % n : 0;
}

/* What live_step knows of the seed. */
struct live {
	unsigned int nini, nlun, onum;
	uint32_t lba_span;
	int two;	    /* the initiator logged in to the second target */
	unsigned int rsp_s; /* RspTimeout, if short (0: the default 90 s) */
	/* NopInInterval and NopInTimeout where pings are on (0: off); idle_s,
	 * NopInTimeout without pings (0: the default 30 s) */
	unsigned int ping_s, nopto_s, idle_s;
	unsigned int net_us;			/* the links' delay */
	uint32_t mrdsl[EXPLORE_MAX_INITIATORS]; /* as declared */
	uint32_t max_burst;
	bool remote, ctl;
	struct ctl_luns *cl;
	unsigned int orig_k[8]; /* each LUN's size as declared */
	char lat[8][48];	/* each disk's latency line from min= */
};

/* A spell that must find its initiator logged in, in a quiet world, its
 * unit attentions on LUN 0 told (a new nexus has its POWER ON, others
 * may be pending: the spell's read must reach the disk). */
static void live_quiet(struct gen *g, const char *a)
{
	out(g, "run until quiet\n%s reconnect expect any\n", a);
	for (int i = 0; i < 3; i++)
		out(g, "%s tur lun=0 expect any\n", a);
}

/*
 * The connection's life, from its own stream (st_live), each spell in a
 * quiet world, the disk's latency as it was after (lv->lat):
 *  - a busy spell (with a short RspTimeout only): LUN 0's disk takes
 *    300 ms a request and an initiator sends a read every 200 ms for
 *    longer than RspTimeout, so that its session always owes an answer
 *    but never one for more than about 300 ms; the target's own liveness
 *    invariant (no RspTimeout on a command waiting inside the target,
 *    scenario_oracle.c target_liveness) must hold;
 *  - a silent spell (pings on, NopInInterval < RspTimeout < NopInInterval
 *    + NopInTimeout): the initiator stops answering NOP-In pings and
 *    sends a read the disk holds past the ping, answered before its
 *    RspTimeout; a TUR sent half a second before the ping has gone
 *    unanswered for NopInTimeout must still be answered (RFC 7143 does
 *    not time it; the target's promise is SCST's NopInTimeout, from the
 *    ping);
 *  - a slow reader (NopInTimeout short; in one seed of two a ping
 *    every second): the initiator's link gets a window of an eighth of
 *    a Data-In PDU and a delay that makes one PDU take 1.5 NopInTimeout
 *    + 1 s, and it reads one PDU: bytes leave every round trip, so the
 *    read must be answered, not dropped as an initiator that does not
 *    read, nor as one gone for not answering a ping queued behind that
 *    PDU (NopInTimeout runs from the ping's leaving);
 *  - a shrink (live LUN changes only): a read and a write near a LUN's
 *    end at a 40 ms disk, and 5 ms later the LUN loses 64 KiB of what
 *    it has grown (the command set's ranges at the declared last block
 *    stay in range; seed 24367 of this lane's first form, which shrank
 *    below, failed the data model on such an UNMAP): the
 *    simulated disk's resize asserts that no request in flight reaches
 *    past the new end (the shrink waits for the commands before it);
 *  - else a Logout with one to three commands outstanding, then a new
 *    login: the initiator holds the Logout Response to come after their
 *    answers (initiator_ffp.c logout_after_earlier, RFC 7143 §11.14); the
 *    initiator `two` logs in to the second target again.
 */
/* The geometry of a slow reader's race, shared by zc_step and sf_step,
 * drawn from the stream st (each step keeps its own): the reader A and
 * the writer B (A itself with one initiator), a read of 128-256 blocks
 * (at most the LU), the part of it written or unmapped, A's link delay
 * (5-15 ms) and when B comes (50-600 ms). */
struct race {
	unsigned int ai, bi, n, lba, wl, wn, delay_ms, after_ms;
};

static unsigned int race_rnd(uint64_t *st, unsigned int n)
{
	return n ? (unsigned int)(sim_splitmix64(st) % n) : 0;
}

static void race_draw(uint64_t *st, unsigned int nini, unsigned int size_blocks,
		      struct race *rc)
{
	/* one draw per statement: the order of a call's arguments is the
	 * compiler's */
	rc->ai = race_rnd(st, nini);
	rc->bi = nini > 1 ? race_rnd(st, nini) : rc->ai;
	rc->n = 128 + race_rnd(st, 129);
	if (rc->n > size_blocks)
		rc->n = size_blocks;
	rc->lba = race_rnd(st, size_blocks - rc->n + 1);
	rc->wl = rc->lba + race_rnd(st, rc->n);
	rc->wn = 1 + race_rnd(st, rc->lba + rc->n - rc->wl);
	rc->delay_ms = 5 + race_rnd(st, 11);
	rc->after_ms = 50 + race_rnd(st, 551);
}

/*
 * Zero-copy reads (lane zerocopy18; seeds with `zero-copy on`): actor A
 * behind a slow link (a 1 KiB window, 5-15 ms each way) reads 128 to 256
 * blocks of a RAM-disk LU -- answered by reference into the disk's chunk
 * where it lies inside one (backstore/mem.c), the reference out until
 * the last byte has left -- and 50-600 ms later B (or A itself) writes
 * or (one in three) unmaps part of those blocks (one write in three a
 * WRITE ATOMIC(16), st_at20: all of it or none in the read, scenario_
 * oracle.c oracle_atomic_read): the data oracle holds the read to the contents
 * of one moment before its first Data-In PDU came (struct pend
 * in_stamp), so a write that changed bytes still to be sent (a copy on
 * write missed, a reference given back early) shows.  Bytes leave every
 * round trip (no idle drop); A's link is back to the seed's after 2 s.
 */
static void zc_step(struct gen *g, unsigned int nini, unsigned int lun,
		    unsigned int size_blocks, unsigned int net_us,
		    unsigned int *vnum)
{
	struct race rc;

	race_draw(&g->st_zc, nini, size_blocks, &rc);
	unsigned int ai = rc.ai, bi = rc.bi, n = rc.n, lba = rc.lba, wl = rc.wl,
		     wn = rc.wn, delay_ms = rc.delay_ms, after_ms = rc.after_ms;

	out(g,
	    "run until quiet\n%s net delay=%ums window=1024\n"
	    "%s read lun=%u lba=%u blocks=%u & expect any\n+%ums %s ",
	    explore_names[ai], delay_ms, explore_names[ai], lun, lba, n,
	    after_ms, explore_names[bi]);
	if (rnd_zc(g, 3) == 0)
		out(g, "unmap lun=%u lba=%u blocks=%u & expect any\n", lun, wl,
		    wn);
	else
		out(g, "%s lun=%u lba=%u blocks=%u data=zc%u & expect any\n",
		    rnd_at20(g, 3) == 0 ? "write-atomic" : "write", lun, wl, wn,
		    ++*vnum);
	out(g, "+2s %s net delay=%uus window=%u\n", explore_names[ai], net_us,
	    512u * 1024u);
}

/*
 * Reads sent from a file (lane sendfile19; seeds with `send-file on`):
 * actor A behind a slow link (a 1 KiB window, 5-15 ms each way, partial
 * sends) reads 128 to 256 blocks of a simulated disk or a null LU --
 * answered by a reference to the disk's "file" (sim_disk.c; the null
 * LU's zeros: ENV_FD_ZEROS), its Data-In taken from the medium when
 * conn_send_file accepts it -- and 50-600 ms later B (or A itself)
 * writes or (one in three) unmaps part of those blocks (one write in
 * three a WRITE ATOMIC(16), st_at20, which the read must show all of or
 * none of: the read keeps its range until its reference is released, so
 * the atomic write waits for the bytes to have left): the data oracle
 * judges each block against the moments up to its own arrival (struct
 * pend blk_re), a mixed block byte by byte.  In one step in five A's
 * connection is reset while the read is at the disk (its reference
 * comes to a task whose connection is gone), in one in five while the
 * Data-In is being sent, in one in five dropped by a reconnect: the
 * reference must be released once (the simulated disk asserts it) and
 * none left at the end (leak check).
 */
static void sf_step(struct gen *g, unsigned int nini, unsigned int lun,
		    unsigned int size_blocks, const char *lat,
		    unsigned int net_us, bool partial, unsigned int *vnum)
{
	struct race rc;

	race_draw(&g->st_sf, nini, size_blocks, &rc);
	unsigned int bi = rc.bi, n = rc.n, lba = rc.lba, wl = rc.wl, wn = rc.wn,
		     delay_ms = rc.delay_ms, after_ms = rc.after_ms;
	const char *a = explore_names[rc.ai];
	unsigned int end = (unsigned int)rnd_sf(g, 5);
	unsigned int end_ms = 1 + (unsigned int)rnd_sf(g, 500);
	bool rst = end == 0 || end == 1;

	/* (a null LU answers at once: no disk to be slow) */
	if (end == 0 && lat == NULL)
		end = 1;
	out(g, "run until quiet\n");
	if (end == 0)
		out(g, "disk%u latency min=200ms max=200ms\n", lun);
	out(g,
	    "%s net delay=%ums window=1024 partial=on\n"
	    "%s read lun=%u lba=%u blocks=%u & expect any\n",
	    a, delay_ms, a, lun, lba, n);
	/* reset while the read is at the (slow) disk: its reference comes
	 * to a task whose connection is gone */
	if (end == 0)
		out(g, "+%ums %s rst\n", 1 + end_ms % 150, a);
	out(g, "+%ums %s ", after_ms, explore_names[bi]);
	if (rnd_sf(g, 3) == 0)
		out(g, "unmap lun=%u lba=%u blocks=%u & expect any\n", lun, wl,
		    wn);
	else
		out(g, "%s lun=%u lba=%u blocks=%u data=sf%u & expect any\n",
		    rnd_at20(g, 3) == 0 ? "write-atomic" : "write", lun, wl, wn,
		    ++*vnum);
	/* or while its Data-In is being sent */
	if (end == 1)
		out(g, "+%ums %s rst\n", end_ms, a);
	else if (end == 2)
		out(g,
		    "+%ums %s net delay=%uus window=%u partial=%s\n"
		    "%s reconnect expect any\n",
		    end_ms, a, net_us, 512u * 1024u, partial ? "on" : "off", a);
	out(g, "+2s %s net delay=%uus window=%u partial=%s\n", a, net_us,
	    512u * 1024u, partial ? "on" : "off");
	if (end == 0)
		out(g, "disk%u latency min=%s\n", lun, lat);
	if (rst)
		out(g, "%s reconnect expect any\n", a);
}

static void live_step(struct gen *g, struct live *lv)
{
	unsigned int ai = (unsigned int)rnd_live(g, lv->nini);
	const char *a = explore_names[ai];
	unsigned int k = (unsigned int)rnd_live(g, 100);

	if (lv->rsp_s > 0 && k < 20) {
		unsigned int n = 5 * lv->rsp_s + 3;

		out(g, "run until quiet\ndisk0 latency min=300ms max=300ms\n");
		for (unsigned int i = 0; i < n; i++)
			out(g,
			    "%s%s read lun=0 lba=%u blocks=%u & expect any\n",
			    i ? "+200ms " : "", a,
			    (unsigned)rnd_live(g, lv->lba_span),
			    1 + (unsigned)rnd_live(g, 8));
		out(g, "run until quiet\ndisk0 latency min=%s\n", lv->lat[0]);
		return;
	}
	if (k < 55 && lv->rsp_s > lv->ping_s && lv->ping_s > 0 &&
	    lv->rsp_s < lv->ping_s + lv->nopto_s) {
		live_quiet(g, a);
		out(g,
		    "%s ignore-nopin on\ndisk0 latency min=%ums max=%ums\n"
		    "%s read lun=0 lba=%u blocks=1 & expect any\n"
		    "+%ums %s tur expect answered\n%s ignore-nopin off\n",
		    a, (lv->ping_s + lv->rsp_s) * 500,
		    (lv->ping_s + lv->rsp_s) * 500, a,
		    (unsigned)rnd_live(g, lv->lba_span),
		    (lv->ping_s + lv->nopto_s) * 1000 - 500, a, a);
		out(g, "run until quiet\ndisk0 latency min=%s\n", lv->lat[0]);
		return;
	}
	if (k < 65 && lv->idle_s > 0 && !lv->remote) {
		uint32_t pdu = lv->mrdsl[ai] < lv->max_burst ? lv->mrdsl[ai]
							     : lv->max_burst;
		uint32_t win, t_ms;

		if (pdu > 65536)
			pdu = 65536;
		win = pdu / 8;
		t_ms = lv->idle_s * 1500 + 1000;
		live_quiet(g, a);
		/* the PDU takes 8 trips of win bytes, t_ms: the simulated
		 * link frees its window when the receiver reads, one way
		 * (no ACK comes back), so a trip is one delay (it was
		 * t_ms/16, which made the PDU take only about 0.75
		 * NopInTimeout + 0.5 s) */
		out(g,
		    "%s net delay=%ums window=%u\n"
		    "%s read lun=0 lba=%u blocks=%u expect answered\n"
		    "%s net delay=%uus window=%u\n",
		    a, t_ms / 8, win, a, (unsigned)rnd_live(g, lv->lba_span),
		    pdu / 512, a, lv->net_us, 512u * 1024u);
		return;
	}
	if (k < 80 && lv->ctl) {
		unsigned int lun = (unsigned int)rnd_live(g, lv->nlun);
		unsigned int end = lv->cl->size_k[lun] * 2;
		char drain[32] = "";

		/* not below the size it was declared with: the command
		 * set's ranges at the last block, drawn from that size,
		 * stay in range (as with grows only) */
		if (lv->cl->removed[lun] ||
		    lv->cl->size_k[lun] < lv->orig_k[lun] + 64)
			return;
		/* half the time a drain shorter than what the disk has
		 * left of them: they are aborted, TASK ABORTED when their
		 * I/O returns (st_reconf; reconfig.c reconf_step_shrinks) */
		if (rnd_reconf(g, 2) == 0)
			snprintf(drain, sizeof(drain), " drain=%ums",
				 1 + (unsigned)rnd_reconf(g, 30));
		out(g,
		    "run until quiet\ndisk%u latency min=40ms max=40ms\n"
		    "%s read lun=%u lba=%u blocks=8 & expect any\n"
		    "%s write lun=%u lba=%u blocks=8 data=o%u & expect any\n"
		    "+5ms target lun resize %u %uK%s\n"
		    "run until quiet\ndisk%u latency min=%s\n",
		    lun, a, lun, end - 8 - (unsigned)rnd_live(g, 8), a, lun,
		    end - 8 - (unsigned)rnd_live(g, 8), ++lv->onum, lun,
		    lv->cl->size_k[lun] - 64, drain, lun, lv->lat[lun]);
		lv->cl->size_k[lun] -= 64;
		return;
	}
	for (unsigned int i = 0, n = 1 + (unsigned int)rnd_live(g, 3); i < n;
	     i++) {
		bool w = rnd_live(g, 2) != 0;

		out(g, "%s %s lun=%u lba=%u blocks=%u", a, w ? "write" : "read",
		    (unsigned)rnd_live(g, lv->nlun),
		    (unsigned)rnd_live(g, lv->lba_span),
		    1 + (unsigned)rnd_live(g, 32));
		if (w)
			out(g, " data=o%u", ++lv->onum);
		out(g, " & expect any\n");
	}
	out(g, "%s logout expect any\n%s login%s%s expect any\n", a, a,
	    (int)ai == lv->two ? " target=" : "",
	    (int)ai == lv->two ? two_iqn : "");
}

static uint64_t rnd_budget(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_budget) % n : 0;
}

/*
 * A greedy initiator (lane budget16): a burst of two to nine READs of a
 * few blocks each with an expected length of 8 to 32 MiB, whose buffers
 * the target holds from their arrival -- behind a CmdSN gap (`hold`:
 * they wait there for their turn until the held one is sent) in half the
 * bursts.  Past its session's SessionBufferLimit (64 to 256 MiB) the
 * target answers TASK SET FULL; the other initiators' commands must go
 * on, which the budget oracle judges (initiator.c ini_buf_judge: a TASK
 * SET FULL only past the session's share or the whole budget).
 */
static void greedy_step(struct gen *g, unsigned int nini, unsigned int nlun,
			uint32_t lba_span, unsigned int *bnum)
{
	const char *a = explore_names[rnd_budget(g, nini)];
	unsigned int lun = (unsigned int)rnd_budget(g, nlun);
	unsigned int n = 2 + (unsigned int)rnd_budget(g, 8), held = 0;
	bool gap = rnd_budget(g, 2) != 0;

	/* past the window (QueuedCommands) the rest wait at the
	 * initiator for it to open */
	if (gap) {
		held = ++*bnum;
		out(g,
		    "%s read lun=%u lba=%u blocks=1 hold as=b%u & expect any\n",
		    a, lun, (unsigned)rnd_budget(g, lba_span), held);
	}
	for (unsigned int k = 0; k < n; k++)
		out(g, "%s read lun=%u lba=%u blocks=%u edtl=%u & expect any\n",
		    a, lun, (unsigned)rnd_budget(g, lba_span),
		    1 + (unsigned)rnd_budget(g, 8),
		    (8u << 20) << rnd_budget(g, 3));
	if (gap)
		out(g, "+%uus %s send-held\n",
		    1 + (unsigned)rnd_budget(g, 3000), a);
}

static uint64_t rnd_rare(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_rare) % n : 0;
}

/* What the rare stream knows of the seed. */
struct rare {
	unsigned int nini, nlun, vnum;
	uint32_t lba_span;
	bool pr;
	bool thin[8];	/* thin LUNs on the simulated disk */
	bool native[8]; /* their disks compare and write by themselves */
	bool b0[8];	/* Block Limits page asked for */
	unsigned int tgt_mrdsl; /* the target's MaxRecvDataSegmentLength */
};

/* One rare request: what the main workload never sends, each judged by
 * an oracle of its own (docs/scenarios.md, Exploration).  REPORT LUNS
 * with SELECT REPORT 01h/02h; an UNMAP of MAXIMUM UNMAP LBA COUNT (2^20
 * blocks) or one more, after the Block Limits page (out of range on these
 * small LUs: refused 5/21, never for the count), or of 17 to 257 empty
 * descriptors (around MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT); a WRITE
 * whose expected length differs from its CDB's (`edtl=`, the residual
 * oracle), or one with immediate data past FirstBurstLength (`imm-over=`:
 * to be refused); a NOP-Out ping with data (the echo checked whole; at
 * most 512 bytes, the least MaxRecvDataSegmentLength the target
 * declares); a READ/WRITE(16) at an LBA near 2^64 (must not end GOOD); a
 * Logout closing a connection the session lacks or removing ours for
 * recovery (refused: the connection goes on); a MaxRecvDataSegmentLength
 * declared in a Text Request (the initiator checks every PDU against
 * it); a COMPARE AND WRITE with FUA across a native disk's object (not
 * in PR seeds); and in PR seeds MODE SELECT (a write under every
 * reservation type) and MODE SENSE on LUN 0. */
static void rare_step(struct gen *g, struct rare *rs)
{
	const char *a = explore_names[rnd_rare(g, rs->nini)];
	unsigned int lun = (unsigned int)rnd_rare(g, rs->nlun),
		     r = (unsigned int)rnd_rare(g, 100);

	if (r < 12) {
		out(g, "%s report-luns lun=%u select=%u & expect any\n", a, lun,
		    1 + (unsigned)rnd_rare(g, 2));
	} else if (r < 24 && rs->thin[lun]) {
		static const uint32_t n[] = {1048576, 1048576, 1048577,
					     1048575};
		uint32_t blocks = n[rnd_rare(g, 4)];

		if (!rs->b0[lun]) {
			out(g, "%s inquiry lun=%u page=0xb0 expect any\n", a,
			    lun);
			rs->b0[lun] = true;
		}
		static const unsigned int nd[] = {17, 255, 256, 257};
		unsigned int how = (unsigned int)rnd_rare(g, 3);

		if (how == 2)
			out(g, "%s unmap lun=%u lba=%u descs=%u & expect any\n",
			    a, lun, (unsigned)rnd_rare(g, rs->lba_span),
			    nd[rnd_rare(g, 4)]);
		else if (how == 1)
			out(g,
			    "%s unmap lun=%u lba=%u blocks=%u & expect any\n",
			    a, lun, (unsigned)rnd_rare(g, rs->lba_span),
			    blocks);
		else
			out(g,
			    "%s unmap lun=%u ranges=%u:%u,%u:%u & expect "
			    "any\n",
			    a, lun, (unsigned)rnd_rare(g, rs->lba_span),
			    1 + (unsigned)rnd_rare(g, 8),
			    (unsigned)rnd_rare(g, rs->lba_span), blocks);
	} else if (r < 40) {
		uint32_t blocks = 1 + (uint32_t)rnd_rare(g, 8);
		uint32_t k = (uint32_t)rnd_rare(g, 10), edtl;

		if (k == 9) {
			/* immediate data past FirstBurstLength, where the
			 * negotiation leaves room (imm_over_len()) */
			uint32_t lba = (uint32_t)rnd_rare(g, rs->lba_span);
			uint32_t over = 512u << rnd_rare(g, 4);

			out(g,
			    "%s write lun=%u lba=%u blocks=%u data=r%u "
			    "imm-over=%u & expect any\n",
			    a, lun, lba, blocks * 8, ++rs->vnum, over);
			return;
		}
		/* mostly more than the CDB's (underflow), else fewer
		 * (overflow) or exactly as many */
		if (k < 6)
			edtl = blocks * 512 +
			       512 * (1 + (uint32_t)rnd_rare(g, 16));
		else if (k < 9 && blocks > 1) {
			edtl = 512 * (uint32_t)rnd_rare(g, blocks);
			/* half of them end inside a block: its first bytes
			 * written over what it held (write_part_end) */
			if (rnd_gap(g, 2))
				edtl += 1 + (uint32_t)rnd_gap(g, 511);
		} else
			edtl = blocks * 512;
		out(g,
		    "%s write lun=%u lba=%u blocks=%u edtl=%u data=r%u & "
		    "expect any\n",
		    a, lun, (unsigned)rnd_rare(g, rs->lba_span), blocks, edtl,
		    ++rs->vnum);
	} else if (r < 55) {
		out(g, "%s nop data=%u & expect any\n", a,
		    1 + (unsigned)rnd_rare(g, 512));
	} else if (r < 67) {
		uint64_t lba = ~0ull - rnd_rare(g, 4);
		uint32_t blocks = 1 + (uint32_t)rnd_rare(g, 4);

		if (rnd_rare(g, 2))
			out(g,
			    "%s read lun=%u lba=%llu blocks=%u cdb=16 & expect "
			    "any\n",
			    a, lun, (unsigned long long)lba, blocks);
		else
			out(g,
			    "%s write lun=%u lba=%llu blocks=%u cdb=16 "
			    "data=r%u & expect any\n",
			    a, lun, (unsigned long long)lba, blocks,
			    ++rs->vnum);
	} else if (r < 77) {
		if (rnd_rare(g, 2))
			out(g,
			    "%s logout reason=connection cid=%u expect any\n",
			    a, 1 + (unsigned)rnd_rare(g, 7));
		else
			out(g, "%s logout reason=recovery expect any\n", a);
	} else if (r < 85) {
		unsigned int mrdsl = 512u << rnd_rare(g, 8);

		/* one in three, where 140 short keys fit a PDU: a request
		 * of 120 to 139 keys the target does not know, around the
		 * 128 it holds (scenario_verdict.c check_text_keys; a
		 * stream of its own) */
		if (rs->tgt_mrdsl >= 2048 &&
		    sim_splitmix64(&g->st_keys) % 3 == 0)
			out(g, "%s text private-keys=%u expect any\n", a,
			    120 + (unsigned)(sim_splitmix64(&g->st_keys) % 20));
		else
			out(g,
			    "%s text send=MaxRecvDataSegmentLength=%u expect "
			    "any\n",
			    a, mrdsl);
	} else if (!rs->pr && rs->native[lun]) {
		/* a COMPARE AND WRITE with FUA across the store's 64 KiB
		 * object (SIM_DISK_OBJECT_BYTES; 512-byte blocks here): the
		 * store refuses it and the target's own read-compare-write
		 * must keep the FUA (durability at a later crash) */
		out(g,
		    "%s caw lun=%u lba=%u blocks=2 compare=zero data=r%u fua & "
		    "expect any\n",
		    a, lun, 128u * (1 + (unsigned)rnd_rare(g, 2)) - 1,
		    ++rs->vnum);
	} else if (rs->pr) {
		if (rnd_rare(g, 3))
			out(g, "%s mode-select lun=0 wce=1 cdb=%u expect any\n",
			    a, rnd_rare(g, 2) ? 6u : 10u);
		else
			out(g, "%s mode-sense lun=0 page=8 cdb=%u expect any\n",
			    a, rnd_rare(g, 2) ? 6u : 10u);
	}
}

/* A read's or write's task attribute in a seed with them on: mostly
 * SIMPLE, some ORDERED and HEAD OF QUEUE (own stream, st_attr). */
static const char *attr_word(struct gen *g, bool on)
{
	uint64_t x;

	if (!on)
		return "";
	x = rnd_attr(g, 100);
	if (x < 15)
		return " attr=ordered";
	if (x < 22)
		return " attr=hoq";
	return "";
}

struct mix {
	bool chunk, jitter, partial, partition, rst, stall;
	bool eio, slow, crash, resv, tmf, reconnect, nopin, fua, wc_off;
	bool pr;
};

static void mix_draw(struct gen *g, struct mix *m)
{
	m->chunk = coin(g, 40);
	m->jitter = coin(g, 50);
	m->partial = coin(g, 40);
	m->partition = coin(g, 30);
	m->rst = coin(g, 20);
	m->stall = coin(g, 20);
	m->eio = coin(g, 25);
	m->slow = coin(g, 40);
	m->crash = coin(g, 30);
	m->resv = coin(g, 30);
	m->tmf = coin(g, 30);
	m->reconnect = coin(g, 30);
	m->nopin = coin(g, 20);
	m->fua = coin(g, 60);
	m->wc_off = coin(g, 15);
	/* Persistent or SPC-2 reservations, not both (SPC-4 §5.12.3 makes
	 * their mix a conflict of its own; each has its oracle). */
	m->pr = !m->resv && coin(g, 35);
}

/* The generator's guess of the PR state, assuming commands apply in the
 * order written: it picks mostly meaningful PR OUT commands (the right
 * key, a registered victim).  The oracle keeps the real model. */
struct prgen {
	uint64_t key[4];
	bool reserved;
	unsigned int type, holder, gen;
};

static const char *const pr_type_names[] = {"wr-ex",	"ex-ac",    "wr-ex-ro",
					    "ex-ac-ro", "wr-ex-ar", "ex-ac-ar"};
static const unsigned int pr_type_codes[] = {1, 3, 5, 6, 7, 8};

/* In cmdsn_step (PR seeds with PREEMPT AND ABORT): initiator bi preempts
 * the holder ai's registration on lun 0 and aborts its tasks, while the
 * holder's commands wait behind a CmdSN gap; false (nothing written)
 * where the generator thinks either is unregistered.  The reservation,
 * if the holder held it, goes to bi with the same type (SPC-4
 * §5.12.11.4). */
/* In cmdsn_step: initiator ai registers on lun 0 if the generator thinks
 * it is not. */
static void gap_register(struct gen *g, struct prgen *pg, unsigned int ai)
{
	uint64_t k = ((uint64_t)(ai + 1) << 4) | (++pg->gen & 0xf);

	if (pg->key[ai] != 0)
		return;
	out(g, "%s pr-register lun=0 key=0 new=%llx expect any\n",
	    explore_names[ai], (unsigned long long)k);
	pg->key[ai] = k;
}

static bool gap_preempt(struct gen *g, struct prgen *pg, unsigned int ai,
			unsigned int bi, unsigned int us)
{
	uint64_t mine, victim = pg->key[ai];
	unsigned int ti = pg->reserved ? pg->type : 0;

	if (victim == 0)
		return false;
	gap_register(g, pg, bi);
	mine = pg->key[bi];
	if (mine == victim)
		return false;
	out(g,
	    "+%uus %s pr-preempt-abort lun=0 key=%llx sa-key=%llx type=%s & "
	    "expect any\n",
	    us, explore_names[bi], (unsigned long long)mine,
	    (unsigned long long)victim, pr_type_names[ti]);
	pg->key[ai] = 0;
	if (pg->reserved && pg->holder == ai)
		pg->holder = bi;
	return true;
}

/* ALL_TG_PT on a REGISTER one time in six, from its own stream. */
static const char *atp(struct gen *g)
{
	return sim_splitmix64(&g->st_atp) % 6 == 0 ? " all-tg-pt" : "";
}

/* Before one PR step in 12, a malformed PR OUT (st_lead19): a reserved
 * SERVICE ACTION, a PARAMETER LIST LENGTH other than 24, a SCOPE other
 * than LU_SCOPE or a reserved TYPE (scenario_parse.c pr_out_malformed),
 * with the actor's own key: refused before any key or state is looked
 * at, changing nothing (the PR oracle's pr_malformed_check). */
static void pr_malformed_step(struct gen *g, const struct prgen *pg,
			      unsigned int ai, unsigned int lun)
{
	static const char *const typed[] = {"pr-reserve", "pr-release",
					    "pr-preempt", "pr-preempt-abort"};
	static const unsigned int bad_types[] = {0, 2, 4, 9, 15};
	static const unsigned int plens[] = {0, 8, 23, 25, 32, 48};
	const char *a = explore_names[ai];
	unsigned long long mine = (unsigned long long)pg->key[ai];
	unsigned int k;

	if (rnd_lead19(g, 12) != 0)
		return;
	k = (unsigned int)rnd_lead19(g, 4);
	if (k == 0) {
		out(g, "%s pr-clear lun=%u key=%llx sa=%u expect any\n", a, lun,
		    mine, 8 + (unsigned)rnd_lead19(g, 24));
	} else if (k == 1) {
		out(g,
		    "%s pr-register lun=%u key=%llx new=%llx plen=%u expect "
		    "any\n",
		    a, lun, mine, mine ^ 0x200,
		    plens[rnd_lead19(g, sizeof(plens) / sizeof(plens[0]))]);
	} else {
		const char *v = typed[rnd_lead19(g, 4)];

		out(g,
		    "%s %s lun=%u key=%llx sa-key=%llx type=wr-ex %s=%u expect "
		    "any\n",
		    a, v, lun, mine, mine, k == 2 ? "scope" : "type-code",
		    k == 2 ? 1 + (unsigned)rnd_lead19(g, 15)
			   : bad_types[rnd_lead19(g, 5)]);
	}
}

static void pr_step(struct gen *g, struct prgen *pg, unsigned int nini,
		    unsigned int ai, unsigned int lun, bool pr_abort)
{
	const char *a = explore_names[ai];
	uint64_t mine = pg->key[ai];

	pr_malformed_step(g, pg, ai, lun);
	unsigned int ti = (unsigned int)rnd(g, 6),
		     r = (unsigned int)rnd(g, 100);
	/* Mostly wait for the answer: overlapping PR OUTs leave the oracle
	 * unsure of their order. */
	const char *bg = coin(g, 25) ? " &" : "";

	if (mine != 0 && coin(g, 5))
		mine ^= 0x100; /* a wrong key: RESERVATION CONFLICT */
	if (pg->key[ai] == 0 && r < 70) {
		uint64_t k = ((uint64_t)(ai + 1) << 4) | (++pg->gen & 0xf);

		const char *all = atp(g);

		out(g,
		    "%s pr-register lun=%u key=0 new=%llx%s%s%s expect any\n",
		    a, lun, (unsigned long long)k, coin(g, 30) ? " aptpl" : "",
		    all, bg);
		pg->key[ai] = k;
	} else if (r < 40) {
		out(g, "%s pr-reserve lun=%u key=%llx type=%s%s expect any\n",
		    a, lun, (unsigned long long)mine, pr_type_names[ti], bg);
		if (!pg->reserved && mine == pg->key[ai] && mine) {
			pg->reserved = true;
			pg->type = ti;
			pg->holder = ai;
		}
	} else if (r < 55) {
		if (pg->reserved && coin(g, 80))
			ti = pg->type;
		out(g, "%s pr-release lun=%u key=%llx type=%s%s expect any\n",
		    a, lun, (unsigned long long)mine, pr_type_names[ti], bg);
		if (pg->reserved && ti == pg->type &&
		    (pg->holder == ai || pr_type_codes[ti] >= 7))
			pg->reserved = false;
	} else if (r < 72) {
		unsigned int v = (unsigned int)rnd(g, nini);
		uint64_t victim = pg->key[v];

		if (pg->reserved && pr_type_codes[pg->type] >= 7 && coin(g, 40))
			victim = 0; /* all registrants: SARK 0 */
		out(g,
		    "%s pr-preempt%s lun=%u key=%llx sa-key=%llx type=%s%s "
		    "expect any\n",
		    a, pr_abort && rnd_ua(g, 2) ? "-abort" : "", lun,
		    (unsigned long long)mine, (unsigned long long)victim,
		    pr_type_names[ti], bg);
		if (victim && v != ai)
			pg->key[v] = 0;
		if (pg->reserved && (victim == 0 || pg->holder == v)) {
			pg->type = ti;
			pg->holder = ai;
		}
	} else if (r < 78) {
		out(g, "%s pr-clear lun=%u key=%llx%s expect any\n", a, lun,
		    (unsigned long long)mine, bg);
		memset(pg->key, 0, sizeof(pg->key));
		pg->reserved = false;
	} else if (r < 86) {
		uint64_t k = coin(g, 30) ? 0
					 : ((uint64_t)(ai + 1) << 4) |
						   (++pg->gen & 0xf);

		bool ign = pr_abort && rnd_ua(g, 3) == 0;

		const char *aptpl = coin(g, 30) ? " aptpl" : "";

		out(g,
		    "%s pr-register%s lun=%u key=%llx new=%llx%s%s%s expect "
		    "any\n",
		    a, ign ? "-ignore" : "", lun,
		    (unsigned long long)(ign ? 0 : mine), (unsigned long long)k,
		    aptpl, atp(g), bg);
		pg->key[ai] = k;
		if (k == 0 && pg->reserved && pg->holder == ai)
			pg->reserved = false;
	} else {
		out(g, "%s %s lun=%u & expect any\n", a,
		    coin(g, 50) ? "pr-read-keys" : "pr-read-reservation", lun);
	}
}

static uint64_t rnd_prx(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_prx) % n : 0;
}

/* A malformed TransportID, one time in `in` (NULL otherwise). */
static const char *prx_bad(struct gen *g, unsigned int in, bool move)
{
	static const char *const kinds[] = {"long", "nonul", "nosep", "proto",
					    "overrun"};

	if (rnd_prx(g, in) != 0)
		return NULL;
	return kinds[rnd_prx(g, move ? 5 : 4)];
}

/*
 * PR OUTs that name other nexuses by TransportID, from their own stream
 * (st_prx), after a pr_step: REGISTER with SPEC_I_PT naming some of the
 * other initiators (now and then the sender too, a malformed TransportID
 * last, ALL_TG_PT, APTPL), REGISTER AND MOVE to another initiator
 * (mostly by the holder; UNREG, APTPL, now and then SARK 0, itself or a
 * malformed TransportID), READ FULL STATUS.  The guess `pg` follows.
 */
static void pr_tid_step(struct gen *g, struct prgen *pg, unsigned int nini,
			unsigned int ai, unsigned int lun)
{
	const char *a = explore_names[ai], *bad;
	unsigned int k = (unsigned int)rnd_prx(g, 100);
	uint64_t key = 0x1000 | (uint64_t)ai << 8 | rnd_prx(g, 256);
	const char *bg = rnd_prx(g, 100) < 20 ? " &" : "";

	if (k < 35) {
		char names[32] = "";
		size_t n = 0;

		for (unsigned int i = 0; i < nini; i++)
			if ((i != ai && rnd_prx(g, 100) < 60) ||
			    (i == ai && rnd_prx(g, 100) < 10))
				n += (size_t)snprintf(names + n,
						      sizeof(names) - n, "%s%s",
						      n ? "," : "",
						      explore_names[i]);
		bad = prx_bad(g, 6, false);
		out(g,
		    "%s pr-register lun=%u key=0 new=%llx spec-i-pt%s%s%s%s%s%s"
		    "%s expect any\n",
		    a, lun, (unsigned long long)key, n ? "=" : "", names,
		    bad ? " bad-tid=" : "", bad ? bad : "",
		    rnd_prx(g, 100) < 20 ? " all-tg-pt" : "",
		    rnd_prx(g, 100) < 20 ? " aptpl" : "", bg);
		if (bad == NULL && pg->key[ai] == 0) {
			for (unsigned int i = 0; i < nini; i++)
				if (strstr(names, explore_names[i]) &&
				    pg->key[i] == 0)
					pg->key[i] = key;
			pg->key[ai] = key;
		}
	} else if (k < 75) {
		unsigned int to = (unsigned int)rnd_prx(g, nini);
		uint64_t mine = pg->key[ai];
		bool unreg = rnd_prx(g, 100) < 40;

		if (to == ai && rnd_prx(g, 100) < 80)
			to = (to + 1) % nini;
		if (rnd_prx(g, 100) < 5)
			mine ^= 0x100; /* a wrong key */
		if (rnd_prx(g, 100) < 5)
			key = 0;
		bad = prx_bad(g, 10, true);
		out(g,
		    "%s pr-register-move lun=%u key=%llx sa-key=%llx to=%s"
		    "%s%s%s%s%s expect any\n",
		    a, lun, (unsigned long long)mine, (unsigned long long)key,
		    explore_names[to], unreg ? " unreg" : "",
		    rnd_prx(g, 100) < 20 ? " aptpl" : "",
		    bad ? " bad-tid=" : "", bad ? bad : "", bg);
		if (pg->reserved && pg->holder == ai &&
		    pr_type_codes[pg->type] < 7 && mine == pg->key[ai] &&
		    mine && key && !bad && to != ai) {
			pg->key[to] = key;
			pg->holder = to;
			if (unreg)
				pg->key[ai] = 0;
		}
	} else {
		out(g, "%s pr-read-full lun=%u%s expect any\n", a, lun, bg);
	}
}

const char *const explore_names[EXPLORE_MAX_INITIATORS] = {"A", "B", "C", "D"};

static uint64_t rnd_wire(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_wire) % n : 0;
}

/* One wire step of the extra initiator L (its own host, its own
 * sessions): a login that breaks a rule (the wire oracle wants its exact
 * status, scenario_wire.c), a login whose response comes in pieces, a
 * login stalled until the target's login timeout, or a PDU left half sent
 * until NopInTimeout. */
static void wire_step(struct gen *g, bool nopin)
{
	unsigned int k = (unsigned int)rnd_wire(g, 100);

	/* (a half-sent PDU only where NOP-In is quick: with the default
	 * 30 s interval and timeout its end may come after the 60 s the
	 * final wait gives an answer) */
	if (k >= 90 && !nopin)
		k = 85;
	if (k < 60) {
		/* the kinds a single actor can send (initiator.h), not
		 * stall: that one below */
		unsigned int bad =
			1 + (unsigned int)rnd_wire(g, INI_LB_STALL - 1);

		/* one in eight (st_blind20): a name of 224 bytes */
		if (rnd_blind20(g, 8) == 0)
			bad = INI_LB_NAME_LONG;
		out(g, "L login bad=%s expect any\n", ini_login_bad_name(bad));
	} else if (k < 80) {
		unsigned int n = (unsigned)rnd_wire(g, 111);

		/* one in four: more keys than the target holds (its own
		 * limit, 0302), from a stream of its own */
		if (sim_splitmix64(&g->st_keys) % 4 == 0)
			out(g, "L login bad=keys-many expect any\n");
		else
			out(g,
			    "L login extra-keys=%u expect any\n"
			    "L logout expect any\n",
			    n);
	} else if (k < 90) {
		out(g, "L login bad=stall & expect any\n");
	} else {
		out(g,
		    "L login expect any\nL stall-pdu bytes=%u & expect any\n",
		    1 + (unsigned)rnd_wire(g, 47));
	}
}

static uint64_t rnd_neg(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_neg) % n : 0;
}

/* One login of the extra initiator N (its own host; not L, whose
 * stalled logins a login of its own would end) that the wire oracle and the
 * initiator judge whatever its expectation (scenario_wire.c
 * wire_login_good, initiator_login.c check_scenario_keys): one that
 * skips the security stage (let in where the target requires no CHAP,
 * refused 0201 in CHAP worlds), one with an extension key and a TaskReporting list (answered
 * NotUnderstood, and the first value offered the target supports), or
 * one with CHAP_A, AuthMethod or TargetAlias in the operational stage
 * (its exact status). */
static void neg_step(struct gen *g)
{
	static const char *const tr[3] = {"RFC3720", "ResponseFence",
					  "FastAbort"};
	unsigned int k = (unsigned int)rnd_neg(g, 6);

	if (k == 0) {
		out(g, "N login skip-security expect any\n"
		       "N logout expect any\n");
	} else if (k == 1) {
		/* a list of one to three values, in any order */
		unsigned int n = 1 + (unsigned int)rnd_neg(g, 3);
		unsigned int first = (unsigned int)rnd_neg(g, 3);

		out(g, "N login TaskReporting=");
		for (unsigned int i = 0; i < n; i++)
			out(g, "%s%s", i ? "," : "", tr[(first + i) % 3]);
		out(g,
		    " X#NodeArchitecture=sim%s expect any\n"
		    "N logout expect any\n",
		    rnd_neg(g, 2) ? " X-org.utarget.sim.feature=1" : "");
	} else if (k == 2) {
		out(g, "N discovery skip-security expect any\n");
	} else {
		out(g, "N login bad=%s expect any\n",
		    k == 3   ? "chap-late"
		    : k == 4 ? "auth-late"
			     : "declared-key");
	}
}

static uint64_t rnd_chap(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_chap) % n : 0;
}

/* A CHAP world (lane eblind16b): the target requires CHAP of its normal
 * sessions (one to three IncomingUser lines; in half the worlds an
 * OutgoingUser too, for mutual CHAP), and every initiator knows one
 * user's secret.  Discovery requires nothing. */
struct chapw {
	bool on, mutual;
	unsigned int nusers;
	char sec[3][24], tsec[24];
};

static void chap_secret(struct gen *g, char *buf)
{
	snprintf(buf, 24, "sec-%016llx",
		 (unsigned long long)sim_splitmix64(&g->st_chap));
}

/* An initiator's CHAP options (on its line, or on one login): a user's
 * name and secret, its CHAP_R and CHAP_C written 0x, 0X (hex), 0b or 0B
 * (base64: '+' and '/' in about half the values), now and then a CHAP_A
 * list of its own, and in mutual worlds, half the time, the target's
 * name and secret to check its answer by (not N's defaults: its discovery
 * logins, where the target requires nothing, would refuse the target). */
static void chap_creds(struct gen *g, const struct chapw *cw, bool mutual)
{
	static const char *const enc[4] = {"hex", "HEX", "b64", "B64"};
	static const char *const algs[6] = {"5", "6", "7", "8", "7,5", "5,8,6"};
	unsigned int u = (unsigned int)rnd_chap(g, cw->nusers);

	out(g, " chap-name=u%u chap-secret=%s chap-enc=%s", u, cw->sec[u],
	    enc[rnd_chap(g, 4)]);
	if (rnd_chap(g, 3) == 0)
		out(g, " chap-a=%s", algs[rnd_chap(g, 6)]);
	if (cw->mutual && rnd_chap(g, 2) && mutual)
		out(g, " mutual-name=tgt mutual-secret=%s", cw->tsec);
}

/* One CHAP login of N in a CHAP world, judged whatever its expectation
 * (scenario_wire.c wire_login_chap, wire_login_good): one that skips the
 * security stage (refused 0201), one with a wrong secret (nobody's, or
 * another user's) or a name no IncomingUser has (refused 0201), or one with right credentials drawn
 * afresh (let in, however written). */
static void chap_step(struct gen *g, const struct chapw *cw)
{
	unsigned int k = (unsigned int)rnd_chap(g, 4);

	if (k == 0) {
		out(g, "N login skip-security expect any\n");
	} else if (k == 1) {
		/* a secret nobody has, or another user's */
		unsigned int u = (unsigned int)rnd_chap(g, cw->nusers);
		unsigned int o = (unsigned int)rnd_chap(g, cw->nusers);

		if (o != u)
			out(g,
			    "N login chap-name=u%u chap-secret=%s expect any\n",
			    u, cw->sec[o]);
		else
			out(g,
			    "N login chap-name=u%u chap-secret=bad-%016llx "
			    "expect any\n",
			    u, (unsigned long long)sim_splitmix64(&g->st_chap));
	} else if (k == 2) {
		out(g, "N login chap-name=nobody%u expect any\n",
		    (unsigned)rnd_chap(g, 100));
	} else {
		out(g, "N login");
		chap_creds(g, cw, true);
		out(g, " expect any\nN logout expect any\n");
	}
}

/* A ping hit in flight (both digests on): after a quiet point, so that
 * the next bytes to the target are the ping's, and mostly its data (the
 * wire oracle wants a Reject 02h or the connection dropped; an answer
 * after the Reject is the initiator's "unknown ITT"). */
static void ping_corrupt_step(struct gen *g, unsigned int nini)
{
	const char *a = explore_names[rnd_chap(g, nini)];

	out(g, "run until quiet\n%s corrupt to-target\n", a);
	out(g, "%s nop data=%u & expect any\n", a,
	    256 + (unsigned)rnd_chap(g, 3840));
	out(g, "run until quiet\n%s reconnect expect any\n", a);
}

/* A write whose first Data-Out is out of sequence (a DataSN one too high
 * or a Buffer Offset 512 bytes off, lane blind17): the target must reject
 * it (protocol error, RFC 7143 §11.7.5, §11.7.6) and never take its
 * data; the initiator then recovers the session (initiator_ffp.c
 * rx_reject) and fails the run if the write is answered GOOD.  More
 * blocks than a first burst of immediate data carries, so that Data-Out
 * goes (solicited or unsolicited, as negotiated). */
static void dataout_step(struct gen *g, unsigned int nini, unsigned int nlun,
			 uint32_t lba_span, unsigned int *dnum)
{
	const char *a = explore_names[rnd_blind(g, nini)];
	unsigned int lun = (unsigned int)rnd_blind(g, nlun);
	uint32_t lba = (uint32_t)rnd_blind(g, lba_span);
	uint32_t blocks = 129 + (uint32_t)rnd_blind(g, 120);

	out(g, "run until quiet\n");
	out(g,
	    "%s write lun=%u lba=%u blocks=%u data=do%u dataout-bad=%s & "
	    "expect any\n",
	    a, lun, lba, blocks, ++*dnum,
	    rnd_blind(g, 2) ? "datasn" : "offset");
	out(g, "run until quiet\n%s reconnect expect any\n", a);
}

/* A bit flipped in flight on an initiator's connection (both digests
 * on), then commands that cross it both ways and a reconnect: the wire
 * oracle judges the corrupted command, the data model what reached the
 * medium (scenario_wire.c). */
static void corrupt_step(struct gen *g, unsigned int nini, unsigned int nlun,
			 uint32_t lba_span, unsigned int *cnum)
{
	const char *a = explore_names[rnd_wire(g, nini)];
	unsigned int k = (unsigned int)rnd_wire(g, 3);
	unsigned int lun = (unsigned int)rnd_wire(g, nlun);
	uint32_t lba = (uint32_t)rnd_wire(g, lba_span);
	uint32_t blocks = 1 + (uint32_t)rnd_wire(g, 16);

	out(g, "%s corrupt %s\n", a,
	    k == 0   ? "to-target"
	    : k == 1 ? "from-target"
		     : "both");
	out(g, "%s write lun=%u lba=%u blocks=%u data=c%u & expect any\n", a,
	    lun, lba, blocks, ++*cnum);
	out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n", a, lun, lba,
	    blocks);
	if (rnd_wire(g, 2))
		out(g, "%s nop data=%u & expect any\n", a,
		    (unsigned)rnd_wire(g, 2048));
	out(g, "run until quiet\n%s reconnect expect any\n", a);
}

/* After the target went (a crash or a shutdown, then a restart): every
 * initiator logs in again, on its second path too in ALUA seeds. */
static void out_reconnect_all(struct gen *g, unsigned int nini, bool alua)
{
	for (unsigned int i = 0; i < nini; i++)
		out(g, "%s reconnect expect any\n", explore_names[i]);
	for (unsigned int i = 0; alua && i < nini; i++)
		out(g, "%s2 reconnect expect any\n", explore_names[i]);
}

static uint64_t rnd_cold(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cold) % n : 0;
}

/* The issuer's disconnect after its cold reset (st_coldfin): 0 while
 * the target bug its random explore found is open: a TARGET COLD RESET
 * that waits for its own session's tasks, which end with the closing
 * connection, is dropped when the session is freed, and the other
 * sessions of the target are never closed (explore seed 306877602048
 * with `#define COLDFIN_STEPS 1`; the reset waiting for other sessions'
 * tasks is fixed, tmf.c). */
#define COLDFIN_STEPS 0

/* A TARGET COLD RESET from one initiator (st_cold, lane cold20): a
 * target reset at the SCSI layer, whose oracles judge it as a warm one
 * (tasks of every nexus ended, unit attentions, reservations), after
 * which the target closes every session of the issuer's target
 * (scenario_cold.c: the target's side of each connection that was up
 * at the sending and at the FUNCTION COMPLETE is closed once the world
 * is quiet; nothing follows the response on the issuer's connection).
 * Commands of the others may race with it (answered, TASK ABORTED or
 * dropped with the connection); then every initiator logs in again. */
static void cold_step(struct gen *g, unsigned int nini, unsigned int nlun,
		      uint32_t lba_span, bool alua, unsigned int *num)
{
	unsigned int x = (unsigned int)rnd_cold(g, nini),
		     n = (unsigned int)rnd_cold(g, 4);

	out(g, "%s target-reset cold & expect any\n", explore_names[x]);
	/* One in three (st_coldfin, lane devattr21): the issuer closes its
	 * connection right after (FIN, then forgets it: a half-close
	 * leaves its later commands wanting to write on a shut stream), so
	 * that the reset may end after the target saw it closing: no
	 * response then, but the target's other sessions must close all
	 * the same (scenario_cold.c). */
	if (COLDFIN_STEPS && sim_splitmix64(&g->st_coldfin) % 3 == 0)
		out(g, "+%uus %s disconnect\n",
		    (unsigned int)(sim_splitmix64(&g->st_coldfin) % 3000),
		    explore_names[x]);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int y = (unsigned int)rnd_cold(g, nini),
			     us = (unsigned int)rnd_cold(g, 200),
			     lun = (unsigned int)rnd_cold(g, nlun),
			     lba = (unsigned int)rnd_cold(g, lba_span),
			     blocks = 1 + (unsigned int)rnd_cold(g, 16);

		if (rnd_cold(g, 2))
			out(g,
			    "+%uus %s write lun=%u lba=%u blocks=%u data=cr%u "
			    "& expect any\n",
			    us, explore_names[y], lun, lba, blocks, ++*num);
		else
			out(g,
			    "+%uus %s read lun=%u lba=%u blocks=%u & expect "
			    "any\n",
			    us, explore_names[y], lun, lba, blocks);
	}
	out(g, "run until quiet\n");
	out_reconnect_all(g, nini, alua);
}

static uint64_t rnd_oom(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_oom) % n : 0;
}

/*
 * Memory pressure on the target (st_oom, lane lead21; simnet/sim_oom.c):
 * for a while each of the target's allocations while it serves fails
 * with a chance drawn here (1 in 100 to every one), a few times or
 * until the step ends, under reads, writes, pings, Text requests and
 * now and then a LOGICAL UNIT RESET or ABORT TASK SET.  No oracle is
 * relaxed but the budget oracle's TASK SET FULL, allowed once an
 * allocation failed while the command was out (task.c: a buffer it
 * cannot get is all buffers in use): the target must answer, or close
 * the connection (conn_tx.c iscsi_conn_fail_soon), never lose an
 * answer, a write it acknowledged or memory.  Then every initiator logs
 * in again.  In one step in three (with a simulated disk at LUN 0 and
 * two initiators) the pressure is aimed instead: one initiator's writes
 * wait at the slow disk while another's LOGICAL UNIT RESET, CLEAR TASK
 * SET or target reset finds its first to fourth allocation failing --
 * its record, or its wait for the other nexus's commands (SAM-5 §7.1:
 * no FUNCTION COMPLETE before they end; scsi.h scsi_tmf_hook lost).
 * lat0: LUN 0's disk latency to go back to, NULL where LUN 0 is not a
 * simulated disk.
 */
static void oom_step(struct gen *g, unsigned int nini, unsigned int nlun,
		     uint32_t lba_span, bool alua, const char *lat0,
		     unsigned int *num)
{
	static const char *const probs[] = {"0.01", "0.05", "0.2", "1"};
	static const char *const tmfs[] = {
		"lun-reset lun=0", "clear-task-set lun=0", "target-reset"};
	unsigned int pk = (unsigned int)rnd_oom(g, 4),
		     n = 2 + (unsigned int)rnd_oom(g, 8);

	if (lat0 != NULL && nini >= 2 && rnd_oom(g, 3) == 0) {
		unsigned int x = (unsigned int)rnd_oom(g, nini),
			     y = (x + 1 + (unsigned int)rnd_oom(g, nini - 1)) %
				 nini,
			     w = 1 + (unsigned int)rnd_oom(g, 2);

		out(g, "run until quiet\ndisk0 latency min=40ms max=40ms\n");
		for (unsigned int i = 0; i < w; i++)
			out(g,
			    "%s write lun=0 lba=%u blocks=%u data=om%u & "
			    "expect any\n",
			    explore_names[y],
			    (unsigned int)rnd_oom(g, lba_span),
			    1 + (unsigned int)rnd_oom(g, 16), ++*num);
		out(g, "+5ms target oom skip=%u\n%s %s & expect any\n",
		    (unsigned int)rnd_oom(g, 4), explore_names[x],
		    tmfs[rnd_oom(g, 3)]);
		out(g,
		    "run until quiet\ntarget oom off\ndisk0 latency min=%s\n",
		    lat0);
		out_reconnect_all(g, nini, alua);
		return;
	}

	out(g, "target oom prob=%s count=%u\n", probs[pk],
	    pk == 3 ? 1 + (unsigned int)rnd_oom(g, 3)
		    : (unsigned int)rnd_oom(g, 6));
	for (unsigned int i = 0; i < n; i++) {
		unsigned int y = (unsigned int)rnd_oom(g, nini),
			     us = (unsigned int)rnd_oom(g, 300),
			     lun = (unsigned int)rnd_oom(g, nlun),
			     lba = (unsigned int)rnd_oom(g, lba_span),
			     blocks = 1 + (unsigned int)rnd_oom(g, 64),
			     k = (unsigned int)rnd_oom(g, 20);
		const char *a = explore_names[y];

		if (k < 8)
			out(g,
			    "+%uus %s write lun=%u lba=%u blocks=%u data=om%u "
			    "& expect any\n",
			    us, a, lun, lba, blocks, ++*num);
		else if (k < 15)
			out(g,
			    "+%uus %s read lun=%u lba=%u blocks=%u & expect "
			    "any\n",
			    us, a, lun, lba, blocks);
		else if (k < 17)
			out(g, "+%uus %s nop & expect any\n", us, a);
		else if (k < 18)
			out(g, "+%uus %s text & expect any\n", us, a);
		else if (k < 19)
			out(g, "+%uus %s lun-reset lun=%u & expect any\n", us,
			    a, lun);
		else
			out(g, "+%uus %s abort-task-set lun=%u & expect any\n",
			    us, a, lun);
	}
	out(g, "run until quiet\ntarget oom off\n");
	out_reconnect_all(g, nini, alua);
}

static uint64_t rnd_mutall21(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_mutall21) % n : 0;
}

/*
 * An EXTENDED COPY of zeros then data into a RAM disk, across its first
 * 1 MiB chunk boundary (st_mutall21, lane mutall21).  The RAM disk
 * (backstore/mem.c mem_write) skips a piece of zeros for a chunk it never
 * allocated, testing the piece's bytes from its place in the buffer; the
 * copy writes its segment as one buffer.  Here z blocks of zeros then w
 * blocks of data are written to the source (any LU that keeps data, at
 * the low LBAs the workload uses) and copied to the last z0 blocks of
 * the RAM disk's chunk 0 and the first z - z0 + w of chunk 1, which no
 * other command writes but a large copy (big_xcopy_step) or a step at
 * the LU's end; then read back.  Chunk 1's piece starts z0 blocks into
 * the buffer, behind zeros, and in one step in three begins with 1-2
 * zero blocks of its own before the data.  A zero test that looked at
 * the buffer from its start (mutant 603: z0 >= the piece, so it sees
 * zeros only), or at the piece's first block only (mutant 660), would
 * take chunk 1's piece for zeros and lose its data.  Judged by the data
 * model (the copy holds the source's blocks) and the xcopy oracle.  Each
 * command waits for its answer: the copy reads what the writes left.
 */
static void chunk_edge_copy_step(struct gen *g, unsigned int nini,
				 unsigned int nlun, const bool *keeps,
				 unsigned int dl, uint32_t lba_span,
				 unsigned int *num)
{
	const char *a = explore_names[rnd_mutall21(g, nini)];
	unsigned int z1 = rnd_mutall21(g, 3) == 0
				  ? 1 + (unsigned int)rnd_mutall21(g, 2)
				  : 0,
		     w = 1 + (unsigned int)rnd_mutall21(g, 4),
		     z0 = z1 + w + (unsigned int)rnd_mutall21(g, 8),
		     z = z0 + z1, sl;
	uint32_t sa;

	do
		sl = (unsigned int)rnd_mutall21(g, nlun);
	while (!keeps[sl]);
	sa = (uint32_t)rnd_mutall21(g, lba_span);
	out(g,
	    "%s write lun=%u lba=%u blocks=%u data=zero expect any\n"
	    "%s write lun=%u lba=%u blocks=%u data=ce%u expect any\n",
	    a, sl, sa, z, a, sl, sa + z, w, ++*num);
	out(g,
	    "%s xcopy lun=%u list-id=%u seg=%u:%u:%u:%u:%u expect any\n"
	    "%s read lun=%u lba=%u blocks=%u expect any\n",
	    a, dl, (unsigned int)rnd_mutall21(g, 4), sl, sa, dl, 2048 - z0,
	    z + w, a, dl, 2048 - z0, z + w);
}

static uint64_t rnd_memrz(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_memrz) % n : 0;
}

/*
 * A live resize of a RAM-disk or null LU (st_memrz, lane cold20: the
 * control steps, ctl_step, run only in seeds of simulated disks, so
 * backstore/mem.c's and null.c's resize paths were never reached from
 * here).  A LU grows by 64-320 KiB (often across a 1 MiB chunk of the
 * RAM disk), then shrinks back to its declared size (never below: the
 * command set's ranges at the declared last block stay in range).
 * Before the change, in one step of two, B writes up to 256 blocks
 * ending at the LU's end and A behind a slow link (a 1 KiB window, 5-15
 * ms each way) reads them -- with zero-copy on, a reference into the last chunk, out while
 * the resize copies it (a grow extends a partial last chunk, a shrink
 * zeroes its cut tail or frees the chunks past the end: copy on write or
 * retire, mem.c) -- the resize comes 1-40 ms later; after it B reads
 * across the old end and writes past it.  Judged by the data oracle
 * (the slow read is held to one moment before its first Data-In; what
 * lies below the old end is kept, grown blocks read zeros; writes past
 * the end of a shrunk LU are refused and change nothing), the unit
 * attention oracle (CAPACITY DATA HAS CHANGED for every nexus), the
 * leak check (no reference left) and, under ASan, a chunk freed under a
 * reference.
 */
static void memrz_step(struct gen *g, unsigned int nini, unsigned int lun,
		       unsigned int decl_k, unsigned int *cur_k,
		       unsigned int net_us, unsigned int *num)
{
	unsigned int ai = (unsigned int)rnd_memrz(g, nini),
		     bi = (unsigned int)rnd_memrz(g, nini);
	unsigned int old_end = *cur_k * 2, new_k, new_end, n, lo;

	if (*cur_k == decl_k)
		new_k = decl_k + 64 * (1 + (unsigned int)rnd_memrz(g, 5));
	else
		new_k = decl_k;
	new_end = new_k * 2;
	if (rnd_memrz(g, 2) == 0) {
		n = 16 + (unsigned int)rnd_memrz(g, 241);
		if (n > old_end)
			n = old_end;
		/* the blocks it reads hold data (a shrink cuts some of them,
		 * a grow extends their chunk): one of their values must
		 * come back, never zeros or another's */
		out(g,
		    "run until quiet\n%s write lun=%u lba=%u blocks=%u "
		    "data=mz%u & expect any\n",
		    explore_names[bi], lun, old_end - n, n, ++*num);
		out(g,
		    "run until quiet\n%s net delay=%ums window=1024\n"
		    "%s read lun=%u lba=%u blocks=%u & expect any\n+%ums ",
		    explore_names[ai], 5 + (unsigned int)rnd_memrz(g, 11),
		    explore_names[ai], lun, old_end - n, n,
		    1 + (unsigned int)rnd_memrz(g, 40));
	}
	out(g, "target lun resize %u %uK\n", lun, new_k);
	*cur_k = new_k;
	/* across the old end (and the new one): below it kept, grown
	 * blocks zeros, past a shrunk end refused */
	lo = (old_end < new_end ? old_end : new_end);
	n = 1 + (unsigned int)rnd_memrz(g, 64);
	lo = lo > n ? lo - n : 0;
	out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n",
	    explore_names[bi], lun, lo, 2 * n);
	out(g, "%s write lun=%u lba=%u blocks=%u data=mz%u & expect any\n",
	    explore_names[bi], lun,
	    (old_end > new_end ? new_end : old_end) +
		    (unsigned int)rnd_memrz(g, 8),
	    1 + (unsigned int)rnd_memrz(g, 16), ++*num);
	out(g, "%s read lun=%u lba=%u blocks=%u & expect any\n",
	    explore_names[bi], lun, lo, 2 * n + 24);
	out(g, "+2s %s net delay=%uus window=%u\n", explore_names[ai], net_us,
	    512u * 1024u);
}

char *explore_generate(uint64_t seed)
{
	struct gen g = {.cap = 8192,
			.st = seed ^ 0x5eedf00dull,
			.st_remote = seed ^ 0x7e307e5eull,
			.st_ctl = seed ^ 0xc7153edull,
			.st_ua = seed ^ 0x0a77e471ull,
			.st_world = seed ^ 0x3077d5ull,
			.st_alua = seed ^ 0xa1a0a1a0ull,
			.st_cmd = seed ^ 0xc0dec0de5ull,
			.st_acl = seed ^ 0xac1ac1ac1ull,
			.st_rare = seed ^ 0x7a7e5eedull,
			.st_prx = seed ^ 0x9e7a1d5ull,
			.st_atp = seed ^ 0xa117e9ull,
			.st_attr = seed ^ 0x0de7ed0ull,
			.st_gap = seed ^ 0x5a9b14ull,
			.st_wire = seed ^ 0x3171e5c0ull,
			.st_iscsi = seed ^ 0x15c5115ull,
			.st_neg = seed ^ 0x6e6e6e6e5ull,
			.st_cmdsn = seed ^ 0xc3d5e915ull,
			.st_live = seed ^ 0x11fe11feull,
			.st_reach = seed ^ 0x7eac416ull,
			.st_tmfgap = seed ^ 0x7f3a9e16ull,
			.st_budget = seed ^ 0xb0d6e7ull,
			.st_chap = seed ^ 0xc4a9eb16ull,
			.st_blind = seed ^ 0xb11d17b11dull,
			.st_cmdsnhole = seed ^ 0x401e17ull,
			.st_keys = seed ^ 0x128128ull,
			.st_atomic = seed ^ 0xa70b1cull,
			.st_reconf = seed ^ 0x7ec0f18ull,
			.st_cmdsnign = seed ^ 0x16d5e918ull,
			.st_blind18 = seed ^ 0xb11d18b11dull,
			.st_zc = seed ^ 0x2e0c0918ull,
			.st_blind19 = seed ^ 0xb11d19b11dull,
			.st_blind20 = seed ^ 0xb11d20b11dull,
			.tpg_id = {1, 2},
			.st_lead19 = seed ^ 0x3e3019ull,
			.st_lead20 = seed ^ 0x3e3020c0f1ull,
			.st_sf = seed ^ 0x5e0df11e19ull,
			.st_dupcmd = seed ^ 0xd0bc3d19ull,
			.st_at20 = seed ^ 0xa70b1c20ull,
			.st_longcdb = seed ^ 0x10c3db19ull,
			.st_gappr = seed ^ 0x6a9919ull,
			.st_cold = seed ^ 0xc01d20c01dull,
			.st_memrz = seed ^ 0x3e3a2e20ull,
			.st_oom = seed ^ 0x00a110c21ull,
			.st_mutall21 = seed ^ 0x3a7a1121ull,
			.st_devattr = seed ^ 0xde7a7721ull,
			.st_coldfin = seed ^ 0xc01df1a21ull};
	/* Live reconfiguration steps in about one seed in five. */
	bool ctl = rnd_ctl(&g, 100) < 20;
	struct ctl_luns cl = {0};
	/* A remote store (Ceph RBD): long tails, a client timeout, and
	 * absences (stalls or fences) in the workload. */
	bool remote = rnd_remote(&g, 100) < 20;
	/* The target on 2 to 4 reactors in one seed in four, with posts
	 * between them delayed by the simulator's PRNG. */
	unsigned int reactors = rnd_world(&g, 100) < 25
					? 2 + (unsigned int)rnd_world(&g, 3)
					: 1;
	/* LUNs past the first on the RAM or null backstore (no disk faults
	 * there) in one seed in five. */
	bool other_backings = rnd_world(&g, 100) < 20 && !ctl;
	enum { B_SIM, B_MEM, B_NULL } backing[8] = {B_SIM};
	/* ALUA: two portal groups, each initiator X a multipath host HX of
	 * X (portal group 1) and X2 (portal group 2). */
	bool alua = rnd_alua(&g, 100) < 15;
	/* the second portal of an ALUA seed: in one in three (st_blind20)
	 * an IPv6 address, which SendTargets must bracket (RFC 7143 §13.9,
	 * RFC 3986 §3.2.2; mutant 607) */
	const char *portal2 = alua && rnd_blind20(&g, 3) == 0 ? "[fd00::2]:3260"
							      : "10.0.0.2:3260";
	/* PR OUTs naming nexuses by TransportID in half the seeds with
	 * persistent reservations: one target port only (the PR model
	 * knows initiators, not ports). */
	bool prx = !alua && rnd_prx(&g, 100) < 50;
	struct mix m;
	bool attrs;
	unsigned int nini, nlun, steps, vnum = 0, label = 0, mvnum = 0,
					cnum = 0;
	uint32_t lba_span;
	struct recent_w recent[4];
	struct cmdgen cg = {0};
	unsigned int nrecent = 0;
	struct prgen pg = {{0}, false, 0, 0, 0};
	/* About one seed in four: the other TMFs; one in three of the PR
	 * seeds: PREEMPT AND ABORT and REGISTER AND IGNORE EXISTING KEY. */
	bool ua_tmf = rnd_ua(&g, 100) < 25, pr_abort = rnd_ua(&g, 100) < 35;
	/* TARGET COLD RESET steps in about one seed in six (st_cold) */
	bool cold = rnd_cold(&g, 100) < 16;
	/* Memory pressure on the target in about one seed in six (st_oom) */
	bool oom = rnd_oom(&g, 100) < 16;
	unsigned int omnum = 0;
	unsigned int crnum = 0;
	/* values of the writes around device attribute changes */
	unsigned int danum = 0;
	bool wrap = rnd_ua(&g, 100) < 33;
	bool acl;
	/* The rare requests in about one seed in four, in 5 % of its steps
	 * (a stream of their own: other seeds generate as before). */
	bool rare = rnd_rare(&g, 100) < 25;
	struct rare rs = {0};
	/* In two PR seeds in five the state store fails now and then: a
	 * PR OUT under APTPL is then refused and rolled back. */
	bool sfail;
	/* Digests in about one seed in four (both, or one of them), and the
	 * wire steps of an extra initiator L in about one in eight. */
	unsigned int digests =
		rnd_wire(&g, 100) < 25 ? 1 + (unsigned int)rnd_wire(&g, 3) : 0;
	static const char *const dig_keys[4] = {
		"", " HeaderDigest=CRC32C DataDigest=CRC32C",
		" HeaderDigest=CRC32C", " DataDigest=CRC32C"};
	bool wire = rnd_wire(&g, 100) < 12;
	/* The logins of neg_step, by N, in about one seed in eight. */
	bool neg = rnd_neg(&g, 100) < 12;
	/* In one seed in five the target is shut down gracefully now and
	 * then, with commands in flight (crashes come after a quiet point). */
	bool sdown;
	/* CmdSN gaps and commands outside the window in one seed in five,
	 * in 3 % of its steps (cmdsn_step, a stream of its own). */
	bool gaps = rnd_cmdsn(&g, 100) < 20;
	struct cmdsn_world cwld = {false, false, NULL};
	unsigned int qd = 0, gnum = 0;
	/* The connection's life (live_step) in one seed in five, in 3 % of
	 * its steps; in half of those a short RspTimeout (2-5 s), not where
	 * a remote store's absences or a paced SANITIZE may hold a command
	 * inside the target for longer (then a busy spell may come). */
	bool live = rnd_live(&g, 100) < 20;
	struct live lv = {
		.rsp_s = rnd_live(&g, 2) ? 2 + (unsigned)rnd_live(&g, 4) : 0,
		.two = -1,
		.net_us = 50,
		.cl = &cl};
	bool share_isid = false, two = false;
	/* A greedy initiator in one seed in eight, in 5 % of its steps
	 * (greedy_step, a stream of its own). */
	bool greedy = rnd_budget(&g, 100) < 12;
	unsigned int bnum = 0; /* greedy_step's labels */
	/* A CHAP world in about one seed in six of those without initiator
	 * groups (decided below); pings off (NopInInterval=0) in half the
	 * wire seeds without NOP-In, where a PDU left half sent is closed by
	 * the idle limit alone; pings hit in their data in digest seeds
	 * (st_chap, lane eblind16b). */
	struct chapw cw = {0};
	bool quiet;
	/* Writes with a Data-Out out of sequence in one seed in seven
	 * (dataout_step, st_blind). */
	bool dobad = rnd_blind(&g, 100) < 15;
	unsigned int dnum = 0;

	g.buf = malloc(g.cap);
	if (g.buf == NULL)
		abort();
	for (unsigned int i = 0; i < 8; i++)
		snprintf(lv.lat[i], sizeof(lv.lat[i]), "20us max=100us");
	mix_draw(&g, &m);
	sfail = m.pr && rnd_gap(&g, 100) < 40;
	sdown = rnd_gap(&g, 100) < 20;
	/* ORDERED and HEAD OF QUEUE commands in about one seed in three. */
	attrs = rnd_attr(&g, 100) < 35;
	nini = 1 + (unsigned int)rnd(&g, EXPLORE_MAX_INITIATORS);
	nlun = 1 + (unsigned int)rnd(&g, 3);
	cg.resv = m.resv;
	cg.pr = m.pr;
	cg.tmf = m.tmf;
	cg.nlun = nlun;
	explore_cmd_draw(&g, &cg, ctl);
	/* Initiator groups in about one seed in seven of those without
	 * live LUN changes (which change the default set only) or ALUA. */
	acl = !ctl && !alua && nlun >= 2 && rnd_acl(&g, 100) < 15;
	if (acl)
		cg.on[CG_XCOPY] = false;
	/* In one CmdSN-gap seed in two (one target port, no persistent
	 * reservations, no live LUN changes), a second target maps the
	 * same LUs and the last initiator logs in to it: a reset through
	 * one target ends the tasks of the other's sessions on the LU,
	 * also those waiting for their CmdSN turn (cmdsn_step). */
	two = gaps && nini >= 2 && !m.pr && !alua && !acl && !ctl &&
	      rnd_live(&g, 2);
	cw.on = rnd_chap(&g, 100) < 16 && !acl && !two;
	if (cw.on) {
		cw.nusers = 1 + (unsigned int)rnd_chap(&g, 3);
		for (unsigned int i = 0; i < cw.nusers; i++)
			chap_secret(&g, cw.sec[i]);
		cw.mutual = rnd_chap(&g, 2);
		chap_secret(&g, cw.tsec);
		/* N's logins: skipped security stages, wrong secrets */
		if (!neg && rnd_chap(&g, 100) < 60)
			neg = true;
		/* no L: the misbehaving logins' statuses (initiator_login.c
		 * ini_login_bad_status) are those of logins without CHAP,
		 * whose second PDU is the operational stage's (bad=csg goes
		 * back to stage 0, as a CHAP exchange's second PDU does) */
		wire = false;
	}
	quiet = wire && !m.nopin && !live && rnd_chap(&g, 100) < 50;
	/* SANITIZE runs on several reactors too: a SANITIZE whose nexus
	 * went, or which a reset aborted, on its way to the LU's reactor
	 * held its session until the sanitize ended (explore seed
	 * 333425893092, fixed in d326ac8; it was left out of such seeds
	 * until then). */
	/* Mostly short runs (quick to replay and shrink); one in eight is
	 * long, for bugs that need many commands (every Nth write...). */
	steps = coin(&g, 12) ? 150 + (unsigned int)rnd(&g, 250)
			     : 20 + (unsigned int)rnd(&g, 80);
	lba_span = 16 + (uint32_t)rnd(&g, 112);
	if (remote)
		out(&g, "# a remote store (tails, timeouts, absences)\n");
	if (alua)
		out(&g, "# ALUA: two portal groups, multipath hosts, state "
			"changes\n");
	out(&g, "# explore seed %llu:%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n",
	    (unsigned long long)seed, m.chunk ? " chunk" : "",
	    m.jitter ? " jitter" : "", m.partial ? " partial" : "",
	    m.partition ? " partition" : "", m.rst ? " rst" : "",
	    m.stall ? " stall" : "", m.eio ? " eio" : "", m.slow ? " slow" : "",
	    m.crash ? " crash" : "", m.resv ? " reserve" : "",
	    m.tmf ? " tmf" : "", m.reconnect ? " reconnect" : "",
	    m.nopin ? " nopin" : "", m.fua ? " fua" : "",
	    m.wc_off ? " write-through" : "");
	if (m.pr)
		out(&g, "# and persistent reservations (on lun 0)\n");
	if (attrs)
		out(&g, "# and ORDERED and HEAD OF QUEUE commands\n");
	if (rare)
		out(&g, "# and rare requests in 5%% of the steps\n");
	if (cg.pct) {
		out(&g,
		    "# and %u%% of the steps from the command set:", cg.pct);
		for (unsigned int i = 0; i < CG_N; i++)
			if (cg.on[i])
				out(&g, " %s", cg_names[i]);
		out(&g, "\n");
	}
	out(&g, "seed %llu\n", (unsigned long long)seed);
	if (ctl)
		out(&g, "# and live reconfiguration (LUNs resized, removed, "
			"added)\n");
	if (reactors > 1)
		out(&g, "reactors %u\n", reactors);
	/* In one seed in four with EXTENDED COPY, two LUs large enough for
	 * a segment of more than one chunk (st_blind18); not with SANITIZE,
	 * whose pace is set for the usual sizes (a pass over 2 MiB more
	 * would outlast the liveness bound of a command) */
	cg.big_xcopy = cg.on[CG_XCOPY] && !cg.on[CG_SANITIZE] && nlun >= 2 &&
		       !ctl && rnd_blind18(&g, 4) == 0;
	/* The daemon's --zero-copy on in half the seeds with a RAM-disk LU
	 * (st_zc: the other draws stay as they were), their RAM disks thin
	 * (UNMAP), and there zc_step. */
	bool zc_on = rnd_zc(&g, 2) == 0;

	for (unsigned int i = 0; i < nlun; i++) {
		bool lbp = cg.on[CG_UNMAP] || cg.on[CG_WSAME] ||
			   cg.on[CG_GLS] || cg.on[CG_SANITIZE];

		if (other_backings && i > 0)
			backing[i] = rnd_world(&g, 100) < 75 ? B_MEM : B_NULL;
		cl.size_k[i] = 256 + 64 * (unsigned)rnd(&g, 8);
		if (backing[i] == B_MEM && rnd_lead19(&g, 2) == 0)
			cl.size_k[i] +=
				1024 * (1 + (unsigned)rnd_lead19(&g, 3));
		if (cg.big_xcopy && i < 2)
			cl.size_k[i] += 2048;
		/* one null LU in two (st_blind19) is 1 GiB, its size
		 * written with a G suffix (any case): the target reads
		 * `--lun null:1G` its own way (mutant 508) */
		if (backing[i] == B_NULL && rnd_blind19(&g, 2) == 0)
			cl.size_k[i] = 1u << 20;
		cg.size_blocks[i] = cl.size_k[i] * 2;
		cg.thin[i] = lbp && coin_cmd(&g, 70);
		/* The command set goes to the LUs that keep their data: the
		 * simulated disk and the RAM disk (a null LU keeps none, two
		 * COMPARE AND WRITEs of zeros may both win there).  A RAM
		 * disk is thin where the draw says so, and always with
		 * zero-copy (zc_step unmaps). */
		if (backing[i] == B_MEM)
			cg.thin[i] = cg.thin[i] || zc_on;
		cg.keeps[i] = backing[i] != B_NULL;
		cg.mem[i] = backing[i] == B_MEM;
		cg.all_keep = i == 0 ? cg.keeps[i] : cg.all_keep && cg.keeps[i];
		if (backing[i] == B_SIM) {
			out(&g, "lun %u disk%u size=%uK%s", i, i, cl.size_k[i],
			    m.wc_off && i == 0 ? " write-cache=off" : "");
			/* rare seeds make half the others thin (UNMAP) */
			rs.thin[i] = cg.thin[i] ||
				     (rare && rnd_rare(&g, 100) < 50);
			if (rs.thin[i])
				out(&g, " thin");
			/* and half the disks do WRITE SAME and COMPARE AND
			 * WRITE themselves, as an RBD image does */
			rs.native[i] = rare && rnd_rare(&g, 100) < 50;
			if (rs.native[i])
				out(&g, " native");
			/* a medium START STOP UNIT ejects and loads and
			 * PREVENT ALLOW MEDIUM REMOVAL locks
			 * (scenario_medium.c) */
			cg.removable[i] = coin_cmd(&g, 25);
			if (cg.removable[i])
				out(&g, " removable");
			/* a paced OVERWRITE runs long enough to be seen
			 * running */
			if (cg.on[CG_SANITIZE])
				out(&g, " sanitize-rate=%uK",
				    64u << (unsigned)rnd_cmd(&g, 6));
			out(&g, "\n");
		} else if (cl.size_k[i] == 1u << 20) {
			out(&g, "lun %u nul%u size=1%s backstore=null\n", i, i,
			    rnd_blind19(&g, 2) ? "G" : "g");
		} else {
			out(&g, "lun %u %s%u size=%uK backstore=%s%s\n", i,
			    backing[i] == B_MEM ? "ram" : "nul", i,
			    cl.size_k[i], backing[i] == B_MEM ? "mem" : "null",
			    cg.thin[i] && backing[i] == B_MEM ? " thin" : "");
		}
	}
	unsigned int zc_luns[8], nzc = 0, zcnum = 0;

	for (unsigned int i = 0; i < nlun && i < 8; i++)
		if (zc_on && backing[i] == B_MEM)
			zc_luns[nzc++] = i;
	if (nzc > 0)
		out(&g, "zero-copy on\n");
	/* RAM-disk and null LUs resized live in one such seed in two
	 * (st_memrz): their declared and current sizes.  With SANITIZE in
	 * the command set too since round devattr21: a SANITIZE sent
	 * before a grow and run after it covers the grown blocks
	 * (cmds_sanitize_grown; explore seed 63269679759, lane cold20),
	 * and a resize while one runs may be refused (ctl_lun_resize) */
	unsigned int rz_luns[8], nrz = 0, rz_k[8], rznum = 0;
	/* RAM disks past their first chunk, where EXTENDED COPY runs
	 * (chunk_edge_copy_step, st_mutall21) */
	unsigned int ce_luns[8], nce = 0, cenum = 0;

	for (unsigned int i = 0; i < nlun && i < 8; i++)
		if (cg.on[CG_XCOPY] && cg.mem[i] &&
		    cg.size_blocks[i] > 2048 + 4)
			ce_luns[nce++] = i;

	for (unsigned int i = 0; i < nlun && i < 8; i++)
		if (backing[i] != B_SIM && rnd_memrz(&g, 2) == 0) {
			rz_k[nrz] = cl.size_k[i];
			rz_luns[nrz++] = i;
		}
	/* The daemon's --send-file on (with --zero-copy) in one seed in
	 * four (st_sf): simulated disks and null LUs answer large READs by
	 * a file reference, and there sf_step. */
	unsigned int sf_luns[8], nsf = 0, nsf_null = 0, sfnum = 0;

	if (rnd_sf(&g, 4) == 0) {
		/* and in one of those in four without --zero-copy, where
		 * every read must copy (sim_conn_send_file asserts it) */
		bool sf_zc = nzc > 0 || rnd_sf(&g, 4) != 0;

		for (unsigned int i = 0; i < nlun && i < 8; i++)
			if (backing[i] == B_SIM)
				sf_luns[nsf++] = i;
		/* null LUs last: one step in three takes one of them */
		for (unsigned int i = 0; i < nlun && i < 8; i++)
			if (backing[i] == B_NULL) {
				sf_luns[nsf++] = i;
				nsf_null++;
			}
		if (nzc == 0 && sf_zc)
			out(&g, "zero-copy on\n");
		out(&g, "send-file on\n");
	}
	/* The target boots from scst.conf text in one seed in three
	 * (st_lead20): written by the simulator in a spelling of its own
	 * draw, or by the target itself as `utargetctl save` does
	 * (scenario_conffile.c).  The world runs as without it. */
	if (rnd_lead20(&g, 3) == 0)
		out(&g, "config-file %s\n",
		    rnd_lead20(&g, 3) ? "scst" : "saved");
	cl.n = nlun;
	cl.nini = nini;
	if (two)
		out(&g, "target add %s\n", two_iqn);
	/* Live changes on several reactors (not with ALUA or persistent
	 * reservations, whose oracles judge ports where there is one
	 * target): in one such seed in two (st_blind19) a spare target that
	 * maps no LUN, so that every change retires two confs and the
	 * second waits for the round after the first's (retire.c; mutant
	 * 502). */
	if (ctl && reactors > 1 && !alua && !m.pr && !two &&
	    rnd_blind19(&g, 2) == 0)
		out(&g, "target add iqn.2026-11.org.utarget:spare luns=none\n");
	{
		/* FirstBurstLength <= MaxBurstLength (RFC 7143 §13.14). */
		unsigned int maxb = 4096u << rnd(&g, 6);
		unsigned int first = 512u << rnd(&g, 8);

		out(&g,
		    "param InitialR2T=%s ImmediateData=%s FirstBurstLength=%u "
		    "MaxBurstLength=%u MaxOutstandingR2T=%u "
		    "MaxRecvDataSegmentLength=%u QueuedCommands=%u\n",
		    coin(&g, 50) ? "Yes" : "No", coin(&g, 70) ? "Yes" : "No",
		    first < maxb ? first : maxb, maxb, 1 + (unsigned)rnd(&g, 4),
		    512u << rnd(&g, 8), 4u << rnd(&g, 5));
	}
	{
		/* the window the target offers: commands at least this far
		 * from the next CmdSN are outside it */
		const char *q = strstr(g.buf, "QueuedCommands=");

		qd = q ? (unsigned int)strtoul(q + 15, NULL, 10) : 0;
		q = strstr(g.buf, " MaxRecvDataSegmentLength=");
		rs.tgt_mrdsl = q ? (unsigned int)strtoul(q + 26, NULL, 10) : 0;
	}
	if (m.nopin)
		out(&g, "param NopInInterval=%u NopInTimeout=%u\n",
		    1 + (unsigned)rnd(&g, 5), 1 + (unsigned)rnd(&g, 5));
	if (m.nopin) {
		const char *q = strstr(g.buf, "NopInInterval=");

		lv.ping_s = (unsigned int)strtoul(q + 14, NULL, 10);
		q = strstr(q, "NopInTimeout=");
		lv.nopto_s = (unsigned int)strtoul(q + 13, NULL, 10);
	}
	if (!live || remote || cg.on[CG_SANITIZE])
		lv.rsp_s = 0;
	if (lv.rsp_s)
		out(&g, "param RspTimeout=%u\n", lv.rsp_s);
	/* and, where the seed has no pings, in one live seed in two pings
	 * every second timed out after RspTimeout (silent spells) where it
	 * is short, else a short NopInTimeout without pings (the transmit
	 * stall's idle time: slow readers) */
	if (live && !m.nopin && rnd_live(&g, 2)) {
		if (lv.rsp_s && rnd_live(&g, 2)) {
			lv.ping_s = 1;
			lv.nopto_s = lv.rsp_s;
			out(&g, "param NopInInterval=1 NopInTimeout=%u\n",
			    lv.nopto_s);
		} else {
			lv.idle_s = 2 + (unsigned int)rnd_live(&g, 3);
			/* in one of two, pings every second: a slow reader's
			 * ping waits behind its Data-In, and is timed only
			 * once it has left (conn.c iscsi_conn_ping_left) */
			out(&g, "param %sNopInTimeout=%u\n",
			    rnd_live(&g, 2) ? "NopInInterval=1 " : "",
			    lv.idle_s);
		}
	}
	if (greedy)
		out(&g, "param SessionBufferLimit=%u\n",
		    (64u << 20) << rnd_budget(&g, 3));
	if (quiet)
		out(&g, "param NopInInterval=0 NopInTimeout=%u\n",
		    2 + (unsigned)rnd_chap(&g, 4));
	for (unsigned int i = 0; i < cw.nusers; i++)
		out(&g, "IncomingUser u%u %s\n", i, cw.sec[i]);
	if (cw.mutual)
		out(&g, "OutgoingUser tgt %s\n", cw.tsec);
	for (unsigned int i = 0; i < nini; i++) {
		/* One seed in three starts an initiator's CmdSN and ITTs
		 * just below 2^32 (a few hundred commands cross the wrap
		 * with commands outstanding) and its first ExpStatSN
		 * anywhere (RFC 7143 §11.12). */
		if (wrap)
			out(&g, "initiator %s cmdsn=%u itt=%u expstatsn=%u%s",
			    explore_names[i],
			    0xffffffffu - (unsigned)rnd_ua(&g, 40),
			    0xfffffffeu - (unsigned)rnd_ua(&g, 40),
			    (unsigned)rnd_ua(&g, 1ull << 32),
			    dig_keys[digests]);
		else
			out(&g, "initiator %s%s", explore_names[i],
			    dig_keys[digests]);
		/* One initiator in four declares a MaxRecvDataSegmentLength
		 * of its own (512 to 64 KiB; the target's is drawn above):
		 * the Data-In and Text Responses it gets must fit it (RFC
		 * 7143 §13.12), whatever the target's own. */
		lv.mrdsl[i] = 262144;
		if (rnd_iscsi(&g, 4) == 0) {
			lv.mrdsl[i] = 512u << rnd_iscsi(&g, 8);
			/* one in three (st_blind20) in hex with capitals,
			 * RFC 7143 §6.1, some low bits set for the letters
			 * (mutant 600) */
			if (rnd_blind20(&g, 3) == 0) {
				lv.mrdsl[i] |= 0xfa;
				out(&g, " MaxRecvDataSegmentLength=0X%X",
				    lv.mrdsl[i]);
			} else {
				out(&g, " MaxRecvDataSegmentLength=%u",
				    lv.mrdsl[i]);
			}
		}
		if (cw.on)
			chap_creds(&g, &cw, true);
		out(&g, "\n");
	}
	/* (at most 8 actors: none left with four ALUA initiators) */
	if (wire && alua && nini == EXPLORE_MAX_INITIATORS)
		wire = false;
	if (neg && alua &&
	    2 * nini + (wire ? 1u : 0u) >= 2 * EXPLORE_MAX_INITIATORS)
		neg = false;
	if (wire)
		out(&g, "initiator L%s\n", dig_keys[digests]);
	if (neg) {
		out(&g, "initiator N%s", dig_keys[digests]);
		if (cw.on)
			chap_creds(&g, &cw, false);
		out(&g, "\n");
	}
	if (acl)
		acl_decl(&g, nini, nlun);
	if (alua) {
		/* In one ALUA seed in two (st_blind19), the IDs and the
		 * second portal group's tag anywhere in their range: 0 and
		 * 65535 (a configuration number at its maximum), tags of
		 * several hex digits (the TARGET_GROUP's port name
		 * "IQN,t,0xN"); mutants 507, 515. */
		unsigned int tpgt2 = 2;

		if (rnd_blind19(&g, 2) == 0) {
			unsigned int k = (unsigned int)rnd_blind19(&g, 3);

			g.tpg_id[0] =
				k == 0	 ? 0
				: k == 1 ? 65535
					 : (unsigned int)rnd_blind19(&g, 65536);
			do
				g.tpg_id[1] =
					rnd_blind19(&g, 2)
						? 65535 - (unsigned int)
								  rnd_blind19(
									  &g,
									  16)
						: (unsigned int)rnd_blind19(
							  &g, 65536);
			while (g.tpg_id[1] == g.tpg_id[0]);
			tpgt2 = rnd_blind19(&g, 2)
					? 65535
					: 16 + (unsigned int)rnd_blind19(&g,
									 65520);
		}
		out(&g,
		    "portal 10.0.0.1:3260\nportal %s tpgt=%u\n"
		    "tpg %u %s preferred tpgt=1\ntpg %u %s tpgt=%u\n",
		    portal2, tpgt2, g.tpg_id[0],
		    rnd_alua(&g, 4) ? "active" : alua_state(&g), g.tpg_id[1],
		    rnd_alua(&g, 2) ? "nonoptimized" : alua_state(&g), tpgt2);
		/* In one such seed in two (not with persistent
		 * reservations, whose model knows an initiator port by its
		 * actor), X2 is X's initiator port (its IQN and ISID) through
		 * the other portal group: two sessions, two I_T nexuses
		 * (RFC 7143 §4.4.3), neither login reinstating the other's
		 * session (checked once all have logged in, below). */
		share_isid = !m.pr && rnd_live(&g, 2);
		for (unsigned int i = 0; i < nini; i++) {
			out(&g, "initiator %s2", explore_names[i]);
			if (share_isid)
				out(&g,
				    " iqn.2026-11.org.utarget:init-%s "
				    "isid=80005349%04x",
				    explore_names[i], i);
			if (cw.on)
				chap_creds(&g, &cw, true);
			out(&g, "\nmpath H%s %s %s2\n", explore_names[i],
			    explore_names[i], explore_names[i]);
		}
	}
	if (m.chunk || m.jitter || m.partial) {
		size_t mark = g.len;

		out(&g, "net delay=%uus jitter=%uus chunk=%u partial=%s\n",
		    10 + (unsigned)rnd(&g, 200),
		    m.jitter ? (unsigned)rnd(&g, 500) : 0,
		    m.chunk ? 1 + (unsigned)rnd(&g, 600) : 0,
		    m.partial ? "on" : "off");
		lv.net_us = (unsigned int)strtoul(g.buf + mark + 10, NULL, 10);
	}
	for (unsigned int i = 0; i < nlun; i++) {
		/* A LUN without a simulated disk takes no disk faults: the
		 * lines are drawn as for any LUN (the other LUNs' draws stay
		 * as they were) and dropped. */
		size_t mark = g.len;

		if (m.slow) {
			out(&g,
			    "disk%u latency min=10us max=%uus slow=%ums "
			    "slow-prob=0.05\n",
			    i, 50 + (unsigned)rnd(&g, 500),
			    1 + (unsigned)rnd(&g, 20));
			/* (read back: the draws stay in their order) */
			if (i < 8) {
				const char *v = strstr(g.buf + mark, "min=");

				snprintf(lv.lat[i], sizeof(lv.lat[i]), "%.*s",
					 (int)(strstr(v, " slow=") - v - 4),
					 v + 4);
			}
		}
		if (m.eio)
			out(&g, "disk%u eio %s prob=0.0%u\n", i,
			    coin(&g, 50)   ? "write"
			    : coin(&g, 50) ? "read"
					   : "flush",
			    1 + (unsigned)rnd(&g, 5));
		if (remote)
			out(&g,
			    "disk%u remote tail=%ums tail-prob=0.0%u "
			    "timeout=%ums\n",
			    i, 1 + (unsigned)rnd_remote(&g, 50),
			    1 + (unsigned)rnd_remote(&g, 9),
			    200 + (unsigned)rnd_remote(&g, 3000));
		if (backing[i] != B_SIM)
			g.len = mark;
	}
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s login%s%s expect any\n", explore_names[i],
		    two && i == nini - 1 ? " target=" : "",
		    two && i == nini - 1 ? two_iqn : "");
	for (unsigned int i = 0; alua && i < nini; i++)
		out(&g, "%s2 login portal=%s expect any\n", explore_names[i],
		    portal2);
	/* the IPv6 portal's TargetAddress (the SendTargets oracle; a Text
	 * Request in full feature phase, which leaves the session be) */
	if (portal2[0] == '[')
		out(&g, "%s2 text SendTargets=All expect any\n",
		    explore_names[0]);
	/* no fault has come yet: every login made a session of its own */
	if (share_isid)
		out(&g, "run until quiet\ntarget stats expect sessions=%u\n",
		    2 * nini);
	/* EXTENDED COPY names LUs by the designators of VPD page 83h */
	for (unsigned int i = 0; i < nlun && cg.on[CG_XCOPY]; i++)
		out(&g, "A inquiry lun=%u page=0x83 expect any\n", i);
	cg.lba_span = lba_span;
	lv.nini = nini;
	lv.nlun = nlun;
	lv.lba_span = lba_span;
	lv.two = two ? (int)nini - 1 : -1;
	/* duplicates only where no bit is flipped in flight: a PDU a digest
	 * error discarded was never received, and its duplicate is none */
	cwld.two = two;
	cwld.dup = digests != 1;
	cwld.pg = m.pr ? &pg : NULL;
	lv.remote = remote;
	lv.ctl = ctl;
	for (unsigned int i = 0; i < nlun; i++)
		lv.orig_k[i] = cl.size_k[i];
	{
		const char *q = strstr(g.buf, "MaxBurstLength=");

		lv.max_burst = (uint32_t)strtoul(q + 15, NULL, 10);
	}
	rs.nini = nini;
	rs.nlun = nlun;
	rs.lba_span = lba_span;
	rs.pr = m.pr;
	for (unsigned int s = 0; s < steps; s++) {
		if (cg.pct && rnd_cmd(&g, 100) < cg.pct)
			explore_cmd_step(&g, &cg, nini, recent, nrecent);
		if (acl && rnd_acl(&g, 100) < 8) {
			unsigned int k = (unsigned int)rnd_acl(&g, 4);

			if (k == 0)
				out(&g, "F login expect any\n");
			else if (k == 1)
				out(&g, "F discovery expect any\n");
			else
				out(&g, "%s report-luns lun=%u & expect any\n",
				    explore_names[rnd_acl(&g, nini)],
				    (unsigned)rnd_acl(&g, nlun));
		}
		if (ctl && rnd_ctl(&g, 100) < 4)
			ctl_step(&g, &cl);
		/* off until the failures of its first random explore are
		 * understood (DEVATTR_STEPS; docs/scenarios.md, round of
		 * devattr21): ctl seeds' traces stay as before */
		if (DEVATTR_STEPS && ctl && rnd_devattr(&g, 100) < 2)
			devattr_step(&g, &cl, &danum);
		if (nzc > 0 && rnd_zc(&g, 100) < 4) {
			unsigned int zl = zc_luns[rnd_zc(&g, nzc)];

			zc_step(&g, nini, zl, cl.size_k[zl] * 2, lv.net_us,
				&zcnum);
		}
		if (nsf > 0 && rnd_sf(&g, 100) < 4) {
			unsigned int k =
				nsf_null > 0 && rnd_sf(&g, 3) == 0
					? nsf - nsf_null +
						  (unsigned int)rnd_sf(&g,
								       nsf_null)
					: (unsigned int)rnd_sf(&g,
							       nsf - nsf_null);
			unsigned int sl = sf_luns[k];

			sf_step(&g, nini, sl, cl.size_k[sl] * 2,
				backing[sl] == B_SIM ? lv.lat[sl] : NULL,
				lv.net_us, m.partial, &sfnum);
		}
		if (ua_tmf && rnd_ua(&g, 100) < 3)
			ua_tmf_step(&g, explore_names[rnd_ua(&g, nini)], nlun);
		if (nrz > 0 && rnd_memrz(&g, 100) < 3) {
			unsigned int k = (unsigned int)rnd_memrz(&g, nrz);

			memrz_step(&g, nini, rz_luns[k], cl.size_k[rz_luns[k]],
				   &rz_k[k], lv.net_us, &rznum);
		}
		if (cold && rnd_cold(&g, 100) < 2)
			cold_step(&g, nini, nlun, lba_span, alua, &crnum);
		if (oom && rnd_oom(&g, 100) < 3)
			oom_step(&g, nini, nlun, lba_span, alua,
				 backing[0] == B_SIM ? lv.lat[0] : NULL,
				 &omnum);
		if (nce > 0 && rnd_mutall21(&g, 100) < 3)
			chunk_edge_copy_step(&g, nini, nlun, cg.keeps,
					     ce_luns[rnd_mutall21(&g, nce)],
					     lba_span, &cenum);
		if (rare && rnd_rare(&g, 100) < 5)
			rare_step(&g, &rs);
		if (gaps && qd > 0 && rnd_cmdsn(&g, 100) < 3)
			cmdsn_step(&g, nini, nlun, lba_span, qd, &gnum, &cwld);
		if (live && rnd_live(&g, 100) < 3)
			live_step(&g, &lv);
		if (greedy && rnd_budget(&g, 100) < 5)
			greedy_step(&g, nini, nlun, lba_span, &bnum);
		if (sfail && rnd_gap(&g, 100) < 4)
			out(&g, "target state-fail %s count=%u\n",
			    rnd_gap(&g, 2) ? "enospc" : "eio",
			    1 + (unsigned)rnd_gap(&g, 3));
		if (wire && rnd_wire(&g, 100) < 4)
			wire_step(&g, m.nopin || quiet);
		if (neg && rnd_neg(&g, 100) < 4)
			neg_step(&g);
		if (digests == 1 && rnd_wire(&g, 100) < 4)
			corrupt_step(&g, nini, nlun, lba_span, &cnum);
		if (cw.on && neg && rnd_chap(&g, 100) < 4)
			chap_step(&g, &cw);
		if (digests == 1 && rnd_chap(&g, 100) < 3)
			ping_corrupt_step(&g, nini);
		if (dobad && rnd_blind(&g, 100) < 3)
			dataout_step(&g, nini, nlun, lba_span, &dnum);
		if (m.pr && coin(&g, 15)) {
			pr_step(&g, &pg, nini, (unsigned int)rnd(&g, nini), 0,
				pr_abort);
			if (prx && rnd_prx(&g, 100) < 35)
				pr_tid_step(&g, &pg, nini,
					    (unsigned int)rnd_prx(&g, nini), 0);
			continue;
		}
		const char *a;
		unsigned int lun;

		if (alua && rnd_alua(&g, 100) < 35)
			alua_step(&g, nini, nlun, lba_span, &mvnum);
		if (remote && rnd_remote(&g, 100) < 4) {
			size_t mark = g.len;

			out(&g, "disk%u away for=%ums%s\n",
			    (unsigned)rnd_remote(&g, nlun),
			    1 + (unsigned)rnd_remote(&g, 4000),
			    rnd_remote(&g, 100) < 30 ? " fenced" : "");
			if (backing[strtoul(g.buf + mark + 4, NULL, 10) % 8] !=
			    B_SIM)
				g.len = mark;
		}
		if (sdown && rnd_gap(&g, 100) < 2) {
			out(&g,
			    "target shutdown grace=%ums\n+%ums target restart\n",
			    1 + (unsigned)rnd_gap(&g, 3000),
			    1 + (unsigned)rnd_gap(&g, 100));
			out_reconnect_all(&g, nini, alua);
		}
		a = explore_names[rnd(&g, nini)];
		lun = (unsigned int)rnd(&g, nlun);
		uint32_t lba = (uint32_t)rnd(&g, lba_span);
		uint32_t blocks = coin(&g, 80) ? 1 + (uint32_t)rnd(&g, 8)
					       : 1 + (uint32_t)rnd(&g, 128);
		unsigned int r = (unsigned int)rnd(&g, 100);

		/* Reads often revisit what was just written (stale data
		 * shows only where a block changed between two reads). */
		if (r >= 35 && r < 65 && nrecent > 0 && coin(&g, 50)) {
			const struct recent_w *w = &recent[rnd(&g, nrecent)];

			lun = w->lun;
			lba = w->lba;
			blocks = w->blocks;
		} else if (r < 35) {
			recent[nrecent < 4 ? nrecent++ : rnd(&g, 4)] =
				(struct recent_w){lun, lba, blocks, vnum + 1};
		}

		if (coin(&g, 30))
			out(&g, "+%uus ", (unsigned)rnd(&g, 3000));
		if (r < 35) {
			out(&g,
			    "%s write lun=%u lba=%u blocks=%u data=v%u%s%s as=t%u "
			    "& expect any\n",
			    a, lun, lba, blocks, ++vnum,
			    m.fua && coin(&g, 30) ? " fua" : "",
			    attr_word(&g, attrs), ++label);
		} else if (r < 65) {
			out(&g,
			    "%s read lun=%u lba=%u blocks=%u%s as=t%u & expect "
			    "any\n",
			    a, lun, lba, blocks, attr_word(&g, attrs), ++label);
		} else if (r < 72) {
			out(&g, "%s sync lun=%u & expect any\n", a, lun);
		} else if (r < 76 && m.resv) {
			out(&g, "%s %s lun=%u & expect any\n", a,
			    coin(&g, 60) ? "reserve" : "release", lun);
		} else if (r < 80 && m.tmf) {
			if (coin(&g, 50) && label > 0)
				out(&g, "%s abort ref=t%u & expect any\n", a,
				    label - (unsigned)rnd(&g, label < 4 ? label
									: 4));
			else
				out(&g, "%s lun-reset lun=%u & expect any\n", a,
				    lun);
		} else if (r < 83 && m.reconnect) {
			out(&g, "%s reconnect expect any\n", a);
		} else if (r < 85 && m.rst) {
			out(&g, "%s rst\n%s reconnect expect any\n", a, a);
		} else if (r < 88 && m.partition) {
			out(&g, "%s partition %s for=%ums\n", a,
			    coin(&g, 50)   ? "both"
			    : coin(&g, 50) ? "to-target"
					   : "from-target",
			    1 + (unsigned)rnd(&g, 3000));
		} else if (r < 90 && m.stall) {
			out(&g, "%s stall %s for=%ums\n", a,
			    coin(&g, 50) ? "to-target" : "from-target",
			    1 + (unsigned)rnd(&g, 500));
		} else if (r < 92 && m.crash) {
			out(&g,
			    "run until quiet\ntarget crash\n+%ums target restart\n",
			    1 + (unsigned)rnd(&g, 100));
			out_reconnect_all(&g, nini, alua);
			/* a crash sends no FIN: L lets its connection go */
			if (wire)
				out(&g, "L disconnect\n");
			out(&g, "%s read lun=%u lba=0 blocks=%u & expect any\n",
			    a, lun, lba_span + 8);
		} else if (r < 95) {
			out(&g, "%s nop & expect any\n", a);
		} else {
			out(&g, "run until quiet\n");
		}
	}
	/* Liveness before the logouts (a logout drops what is still
	 * outstanding): once the faults stop, every command is answered or
	 * its connection dropped within the wait bound (60 s virtual). */
	out(&g, "heal\nrun until quiet\nwait\n");
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s read lun=0 lba=0 blocks=%u & expect any\n",
		    explore_names[i], lba_span + 8);
	out(&g, "run until quiet\n");
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s logout expect any\n", explore_names[i]);
	for (unsigned int i = 0; alua && i < nini; i++)
		out(&g, "%s2 logout expect any\n", explore_names[i]);
	out(&g, "run until quiet\n");
	return g.buf;
}
