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
};

static void out(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out(struct gen *g, const char *fmt, ...)
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

static uint64_t rnd(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st) % n : 0;
}

static bool coin(struct gen *g, unsigned int pct)
{
	return rnd(g, 100) < pct;
}

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
		    (const char *[]){"A", "B", "C", "D"}[x]);
	else if (form == 1)
		out(g, "group part initiators=%s*,!%s%s luns=", pre, pre,
		    (const char *[]){"A", "B", "C", "D"}[x]);
	else
		out(g, "group part initiators=!%s%s luns=", pre,
		    (const char *[]){"A", "B", "C", "D"}[x]);
	for (unsigned int i = 0, n = 0; i < nlun; i++)
		if (luns >> i & 1)
			out(g, "%s%u", n++ ? "," : "", i);
	out(g, "\n");
}

static uint64_t rnd_cmd(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_cmd) % n : 0;
}

static bool coin_cmd(struct gen *g, unsigned int pct)
{
	return rnd_cmd(g, 100) < pct;
}

/* The LUNs as the control steps have left them. */
struct ctl_luns {
	unsigned int n;
	unsigned int size_k[8];
	bool removed[8];
};

/* One live reconfiguration step (utargetctl lun resize/remove/add): a
 * LUN grows, or one other than LUN 0 goes (its commands get the drain
 * time, then TASK ABORTED) or comes back on the same disk.  The unit
 * attention and liveness oracles judge what the initiators see. */
static void ctl_step(struct gen *g, struct ctl_luns *cl)
{
	unsigned int k = (unsigned int)rnd_ctl(g, cl->n),
		     r = (unsigned int)rnd_ctl(g, 100);

	if (k > 0 && cl->removed[k]) {
		out(g, "target lun add %u disk%u size=%uK\n", k, k,
		    cl->size_k[k]);
		cl->removed[k] = false;
	} else if (k > 0 && r < 40) {
		out(g, "target lun remove %u drain=%ums\n", k,
		    1 + (unsigned)rnd_ctl(g, 200));
		cl->removed[k] = true;
	} else if (!cl->removed[k]) {
		cl->size_k[k] += 64 * (1 + (unsigned)rnd_ctl(g, 4));
		out(g, "target lun resize %u %uK\n", k, cl->size_k[k]);
	}
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
static void alua_step(struct gen *g, unsigned int nini,
		      const char *const *names, unsigned int nlun,
		      uint32_t lba_span, unsigned int *vnum)
{
	unsigned int r = (unsigned int)rnd_alua(g, 100);
	unsigned int h = (unsigned int)rnd_alua(g, nini);
	unsigned int lun = (unsigned int)rnd_alua(g, nlun);
	uint32_t lba = (uint32_t)rnd_alua(g, lba_span);
	uint32_t blocks = 1 + (uint32_t)rnd_alua(g, 16);

	if (r < 30) {
		out(g, "target alua %u %s\n", 1 + (unsigned)rnd_alua(g, 2),
		    alua_state(g));
	} else if (r < 40) {
		static const char *const st[] = {"active", "nonoptimized",
						 "standby", "unavailable"};

		out(g, "%s%s stpg 1=%s 2=%s & expect any\n", names[h],
		    rnd_alua(g, 2) ? "2" : "", st[rnd_alua(g, 4)],
		    st[rnd_alua(g, 4)]);
	} else if (r < 45) {
		out(g, "%s%s rtpg lun=%u & expect any\n", names[h],
		    rnd_alua(g, 2) ? "2" : "", lun);
	} else if (r < 53) {
		/* what each state still lets through, or not */
		static const char *const v[] = {"readcap",	"tur",
						"inquiry",	"request-sense",
						"pr-read-keys", "report-luns"};

		out(g, "%s%s %s lun=%u & expect any\n", names[h],
		    rnd_alua(g, 2) ? "2" : "", v[rnd_alua(g, 6)], lun);
	} else if (r < 75) {
		out(g, "H%s write lun=%u lba=%u blocks=%u data=m%u &\n",
		    names[h], lun, lba, blocks, ++*vnum);
	} else if (r < 95) {
		out(g, "H%s read lun=%u lba=%u blocks=%u &\n", names[h], lun,
		    lba, blocks);
	} else {
		out(g, "H%s sync lun=%u &\n", names[h], lun);
	}
}
/* A recent WRITE (reads revisit them; compares and copies meet them). */
struct recent_w {
	unsigned int lun;
	uint32_t lba, blocks;
	unsigned int vnum; /* its data=vN */
};

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

static void pr_step(struct gen *g, struct prgen *pg, unsigned int nini,
		    const char *const *names, unsigned int ai, unsigned int lun,
		    bool pr_abort)
{
	const char *a = names[ai];
	uint64_t mine = pg->key[ai];
	unsigned int ti = (unsigned int)rnd(g, 6),
		     r = (unsigned int)rnd(g, 100);
	/* Mostly wait for the answer: overlapping PR OUTs leave the oracle
	 * unsure of their order. */
	const char *bg = coin(g, 25) ? " &" : "";

	if (mine != 0 && coin(g, 5))
		mine ^= 0x100; /* a wrong key: RESERVATION CONFLICT */
	if (pg->key[ai] == 0 && r < 70) {
		uint64_t k = ((uint64_t)(ai + 1) << 4) | (++pg->gen & 0xf);

		out(g, "%s pr-register lun=%u key=0 new=%llx%s%s expect any\n",
		    a, lun, (unsigned long long)k, coin(g, 30) ? " aptpl" : "",
		    bg);
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

		out(g,
		    "%s pr-register%s lun=%u key=%llx new=%llx%s%s expect any\n",
		    a, ign ? "-ignore" : "", lun,
		    (unsigned long long)(ign ? 0 : mine), (unsigned long long)k,
		    coin(g, 30) ? " aptpl" : "", bg);
		pg->key[ai] = k;
		if (k == 0 && pg->reserved && pg->holder == ai)
			pg->reserved = false;
	} else {
		out(g, "%s %s lun=%u & expect any\n", a,
		    coin(g, 50) ? "pr-read-keys" : "pr-read-reservation", lun);
	}
}

static const char *const names[] = {"A", "B", "C", "D"};

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
	CG_N
};

static const char *const cg_names[CG_N] = {
	"rw-variants", "caw",	     "write-same", "unmap", "orwrite", "verify",
	"xcopy",       "lba-status", "sanitize",   "spc",   "tmf"};

struct cmdgen {
	bool on[CG_N];
	unsigned int pct; /* of the steps that get a command of these */
	unsigned int nlun, lba_span, seq;
	bool thin[8];
	bool sim[8]; /* on the simulated disk (not mem or null) */
	bool all_sim;
	uint32_t size_blocks[8];
	bool resv, pr, tmf;
	bool ctl; /* LUNs resized, removed, added: no edge cases */
	/* the last value COMPARE AND WRITE may find at a block */
	struct {
		unsigned int lun;
		uint32_t lba;
		char name[16];
	} last;
	bool have_last;
};

static void cmd_draw(struct gen *g, struct cmdgen *c, bool ctl)
{
	unsigned int any = 0;

	for (unsigned int i = 0; i < CG_N; i++)
		any += c->on[i] = coin_cmd(g, 50);
	/* A sanitize changes every block for a while: not in seeds that
	 * resize LUNs under it, and rarely. */
	c->ctl = ctl;
	if (ctl)
		c->on[CG_SANITIZE] = false;
	if (!c->tmf)
		c->on[CG_TMF] = false;
	c->pct = any ? 10 + (unsigned int)rnd_cmd(g, 30) : 0;
}

/* A range for a command: mostly a recently written one, so that the
 * compare, verify and copy commands meet written data. */
static void cmd_range(struct gen *g, const struct cmdgen *c,
		      const struct recent_w *recent, unsigned int nrecent,
		      unsigned int *lun, uint32_t *lba, uint32_t *blocks,
		      uint32_t maxb)
{
	if (nrecent > 0 && coin_cmd(g, 60)) {
		const struct recent_w *w = &recent[rnd_cmd(g, nrecent)];

		*lun = w->lun;
		*lba = w->lba + (uint32_t)rnd_cmd(g, w->blocks);
		*blocks = 1 + (uint32_t)rnd_cmd(g, w->blocks - (*lba - w->lba));
	} else {
		*lun = (unsigned int)rnd_cmd(g, c->nlun);
		*lba = (uint32_t)rnd_cmd(g, c->lba_span);
		*blocks = 1 + (uint32_t)rnd_cmd(g, 8);
	}
	if (*blocks > maxb)
		*blocks = maxb;
}

static const char *fill_name(struct gen *g, char *buf, size_t cap)
{
	unsigned int b = (unsigned int)rnd_cmd(g, 256);

	if (b == 0)
		return "zero";
	snprintf(buf, cap, "0x%02x", b);
	return buf;
}

static void cmd_step(struct gen *g, struct cmdgen *c, unsigned int nini,
		     const struct recent_w *recent, unsigned int nrecent)
{
	unsigned int grp, tries = 0, lun;
	uint32_t lba, blocks;
	bool edge;
	const char *a = names[rnd_cmd(g, nini)];
	char f[8];

	do {
		grp = (unsigned int)rnd_cmd(g, CG_N);
	} while (!c->on[grp] && ++tries < 64);
	if (!c->on[grp])
		return;
	cmd_range(g, c, recent, nrecent, &lun, &lba, &blocks, 32);
	if (!c->sim[lun] || (grp == CG_XCOPY && !c->all_sim))
		return;
	/* Edge case: a range that ends one block past the last LBA (LBA
	 * OUT OF RANGE, nothing may change).  Not where a LUN may grow under
	 * the command: it could then run, and the model does not know it
	 * (it was out of range when it was built). */
	edge = coin_cmd(g, 6) && !c->ctl;
	switch (grp) {
	case CG_RW: {
		static const unsigned int sizes[] = {6, 12, 16};
		unsigned int sz = sizes[rnd_cmd(g, 3)];

		if (coin_cmd(g, 50))
			out(g,
			    "%s read lun=%u lba=%u blocks=%u cdb=%u & "
			    "expect any\n",
			    a, lun, lba, blocks, sz);
		else if (coin_cmd(g, 70))
			out(g,
			    "%s write lun=%u lba=%u blocks=%u data=x%u "
			    "cdb=%u%s & expect any\n",
			    a, lun, lba, blocks, ++c->seq, sz,
			    sz != 6 && coin_cmd(g, 30) ? " fua" : "");
		else
			out(g,
			    "%s write-atomic lun=%u lba=%u blocks=%u "
			    "data=x%u%s & expect any\n",
			    a, lun, lba, blocks, ++c->seq,
			    coin_cmd(g, 30) ? " fua" : "");
		break;
	}
	case CG_CAW: {
		char cmp[24];
		unsigned int n = coin_cmd(g, 80) ? 1
						 : 1 + (unsigned)rnd_cmd(g, 3);

		/* compare with what was last written there, mostly */
		if (c->have_last && coin_cmd(g, 50)) {
			lun = c->last.lun;
			lba = c->last.lba;
			n = 1;
			snprintf(cmp, sizeof(cmp), "%s", c->last.name);
		} else if (nrecent > 0 && coin_cmd(g, 70)) {
			const struct recent_w *w = &recent[rnd_cmd(g, nrecent)];

			lun = w->lun;
			lba = w->lba;
			if (n > w->blocks)
				n = w->blocks;
			snprintf(cmp, sizeof(cmp), "v%u", w->vnum);
		} else {
			snprintf(cmp, sizeof(cmp), "zero");
			if (edge)
				lba = c->size_blocks[lun] + 1 - n;
		}
		out(g,
		    "%s caw lun=%u lba=%u blocks=%u compare=%s data=c%u%s & "
		    "expect any\n",
		    a, lun, lba, n, cmp, ++c->seq,
		    coin_cmd(g, 30) ? " fua" : "");
		/* two initiators racing on one value: one may win */
		if (nini > 1 && coin_cmd(g, 40)) {
			const char *b = names[rnd_cmd(g, nini)];

			out(g,
			    "%s caw lun=%u lba=%u blocks=%u compare=%s "
			    "data=c%u & expect any\n",
			    b, lun, lba, n, cmp, ++c->seq);
		}
		if (n == 1) {
			c->last.lun = lun;
			c->last.lba = lba;
			snprintf(c->last.name, sizeof(c->last.name), "c%u",
				 c->seq);
			c->have_last = true;
		}
		break;
	}
	case CG_WSAME: {
		bool unmap = c->thin[lun] && coin_cmd(g, 30);
		bool ndob = coin_cmd(g, 15);
		/* NUMBER OF BLOCKS 0: to the end of the medium */
		uint32_t n = coin_cmd(g, 10) ? 0 : 1 + (uint32_t)rnd_cmd(g, 16);

		if (n == 0)
			lba = c->size_blocks[lun] - 1 -
			      (uint32_t)rnd_cmd(g, 24);
		else if (edge)
			lba = c->size_blocks[lun] + 1 - n;
		out(g,
		    "%s write-same lun=%u lba=%u blocks=%u data=%s%s%s "
		    "cdb=%u & expect any\n",
		    a, lun, lba, n, fill_name(g, f, sizeof(f)),
		    unmap ? " unmap" : "", ndob ? " ndob" : "",
		    ndob || coin_cmd(g, 50) ? 16 : 10);
		break;
	}
	case CG_UNMAP: {
		unsigned int k = 1 + (unsigned int)rnd_cmd(g, 4);

		out(g, "%s unmap lun=%u ranges=", a, lun);
		for (unsigned int i = 0; i < k; i++) {
			uint32_t l2 = (uint32_t)rnd_cmd(g, c->lba_span),
				 n2 = (uint32_t)rnd_cmd(g, 12);

			/* the edge: a range ending on the last block */
			if (coin_cmd(g, 10)) {
				n2 = 1 + (uint32_t)rnd_cmd(g, 4);
				l2 = c->size_blocks[lun] - n2 + (edge ? 1 : 0);
			}
			out(g, "%s%u:%u", i ? "," : "", l2, n2);
		}
		out(g, " & expect any\n");
		break;
	}
	case CG_ORWRITE:
		if (blocks > 4)
			blocks = 4;
		if (edge)
			lba = c->size_blocks[lun] + 1 - blocks;
		out(g,
		    "%s orwrite lun=%u lba=%u blocks=%u data=%s & "
		    "expect any\n",
		    a, lun, lba, blocks, fill_name(g, f, sizeof(f)));
		break;
	case CG_VERIFY: {
		static const unsigned int sizes[] = {10, 12, 16};
		unsigned int sz = sizes[rnd_cmd(g, 3)],
			     r = (unsigned)rnd_cmd(g, 4);

		if (r == 0) {
			out(g,
			    "%s write-verify lun=%u lba=%u blocks=%u "
			    "data=y%u bytchk=%u cdb=%u & expect any\n",
			    a, lun, lba, blocks, ++c->seq,
			    (unsigned)rnd_cmd(g, 2), sz);
		} else if (r == 1) {
			if (edge)
				lba = c->size_blocks[lun] + 1 - blocks;
			out(g,
			    "%s verify lun=%u lba=%u blocks=%u bytchk=0 "
			    "cdb=%u & expect any\n",
			    a, lun, lba, blocks, sz);
		} else if (r == 2 && nrecent > 0) {
			const struct recent_w *w = &recent[rnd_cmd(g, nrecent)];

			out(g,
			    "%s verify lun=%u lba=%u blocks=%u bytchk=1 "
			    "data=v%u cdb=%u & expect any\n",
			    a, w->lun, w->lba, w->blocks, w->vnum, sz);
		} else {
			out(g,
			    "%s verify lun=%u lba=%u blocks=%u bytchk=%u "
			    "data=%s cdb=%u & expect any\n",
			    a, lun, lba, blocks, coin_cmd(g, 50) ? 3 : 1,
			    coin_cmd(g, 60) ? "zero"
					    : fill_name(g, f, sizeof(f)),
			    sz);
		}
		break;
	}
	case CG_XCOPY: {
		unsigned int k = 1 + (unsigned int)rnd_cmd(g, 3),
			     id = (unsigned int)rnd_cmd(g, 4);

		out(g, "%s xcopy lun=%u list-id=%u", a, lun, id);
		for (unsigned int i = 0; i < k; i++) {
			unsigned int sl = (unsigned)rnd_cmd(g, c->nlun),
				     dl = (unsigned)rnd_cmd(g, c->nlun);
			uint32_t n = 1 + (uint32_t)rnd_cmd(g, 16);
			uint32_t sa = (uint32_t)rnd_cmd(g, c->lba_span),
				 da = (uint32_t)rnd_cmd(g, c->lba_span);

			if (i == 0 && nrecent > 0 && coin_cmd(g, 60)) {
				const struct recent_w *w =
					&recent[rnd_cmd(g, nrecent)];

				sl = w->lun;
				sa = w->lba;
				n = w->blocks > 16 ? 16 : w->blocks;
			}
			out(g, " seg=%u:%u:%u:%u:%u", sl, sa, dl, da, n);
		}
		out(g, " & expect any\n");
		if (coin_cmd(g, 50))
			out(g,
			    "%s copy-results lun=%u list-id=%u%s & "
			    "expect any\n",
			    a, lun, id, coin_cmd(g, 30) ? " op-params" : "");
		break;
	}
	case CG_GLS:
		out(g,
		    "%s get-lba-status lun=%u lba=%u alloc=%u & "
		    "expect any\n",
		    a, lun,
		    edge	      ? c->size_blocks[lun]
		    : coin_cmd(g, 20) ? 0
				      : lba,
		    coin_cmd(g, 30) ? 24 : 8 + 16 * 64);
		break;
	case CG_SANITIZE: {
		unsigned int r = (unsigned int)rnd_cmd(g, 10);

		if (!coin_cmd(g, 20)) {
			/* mostly poll: what a running sanitize allows */
			out(g, "%s request-sense lun=%u & expect any\n", a,
			    lun);
			break;
		}
		if (r < 5)
			out(g,
			    "%s sanitize lun=%u overwrite pattern=%s "
			    "passes=%u%s%s & expect any\n",
			    a, lun, fill_name(g, f, sizeof(f)),
			    1 + (unsigned)rnd_cmd(g, 4),
			    coin_cmd(g, 40) ? " invert" : "",
			    coin_cmd(g, 70) ? " immed" : "");
		else if (r < 7)
			out(g,
			    "%s sanitize lun=%u block-erase%s & expect any\n",
			    a, lun, coin_cmd(g, 70) ? " immed" : "");
		else if (r < 9)
			out(g,
			    "%s sanitize lun=%u crypto-erase%s & expect any\n",
			    a, lun, coin_cmd(g, 70) ? " immed" : "");
		else
			out(g,
			    "%s sanitize lun=%u exit-failure-mode & "
			    "expect any\n",
			    a, lun);
		break;
	}
	case CG_SPC: {
		unsigned int r = (unsigned int)rnd_cmd(g, 24);

		switch (r) {
		case 0:
			out(g,
			    "%s mode-sense lun=%u cdb=%u page=%s & expect any\n",
			    a, lun, coin_cmd(g, 50) ? 6 : 10,
			    coin_cmd(g, 50)   ? "0x3f"
			    : coin_cmd(g, 50) ? "8"
					      : "10");
			break;
		case 1:
			/* the caching page as configured: durability stays */
			out(g,
			    "%s mode-select lun=%u wce=%u cdb=%u & expect any\n",
			    a, lun, 1u, coin_cmd(g, 50) ? 6 : 10);
			break;
		case 2:
			out(g, "%s inquiry lun=%u page=%s & expect any\n", a,
			    lun,
			    (const char *[]){"0x00", "0x80", "0x83", "0xb0",
					     "0xb1", "0xb2",
					     "0x86"}[rnd_cmd(g, 7)]);
			break;
		case 3:
			out(g, "%s inquiry lun=%u & expect any\n", a, lun);
			break;
		case 4:
			out(g, "%s readcap%s lun=%u & expect any\n", a,
			    coin_cmd(g, 50) ? "16" : "", lun);
			break;
		case 5:
			out(g, "%s report-luns lun=%u & expect any\n", a, lun);
			break;
		case 6:
			out(g, "%s request-sense lun=%u%s & expect any\n", a,
			    lun, coin_cmd(g, 30) ? " desc" : "");
			break;
		case 7:
			out(g, "%s tur lun=%u & expect any\n", a, lun);
			break;
		case 8:
			out(g, "%s start-stop lun=%u%s & expect any\n", a, lun,
			    coin_cmd(g, 30) ? " immed" : "");
			break;
		case 9:
			out(g, "%s prevent lun=%u%s & expect any\n", a, lun,
			    coin_cmd(g, 50) ? " off" : "");
			break;
		case 10:
			out(g,
			    "%s prefetch lun=%u lba=%u blocks=%u cdb=%u%s & "
			    "expect any\n",
			    a, lun, lba, blocks, coin_cmd(g, 50) ? 10 : 16,
			    coin_cmd(g, 30) ? " immed" : "");
			break;
		case 11:
			out(g, "%s sync lun=%u cdb=16 & expect any\n", a, lun);
			break;
		case 12:
			out(g, "%s read-defect lun=%u cdb=%u & expect any\n", a,
			    lun, coin_cmd(g, 50) ? 10 : 12);
			break;
		case 13:
			out(g, "%s report-opcodes lun=%u%s & expect any\n", a,
			    lun, coin_cmd(g, 30) ? " rctd" : "");
			break;
		case 14:
			out(g,
			    "%s report-opcodes lun=%u opt=%u op=0x%02x "
			    "sa=%u & expect any\n",
			    a, lun, 1 + (unsigned)rnd_cmd(g, 3),
			    (unsigned)rnd_cmd(g, 256),
			    (unsigned)rnd_cmd(g, 32));
			break;
		case 15:
			out(g, "%s report-tmfs lun=%u%s & expect any\n", a, lun,
			    coin_cmd(g, 50) ? " repd" : "");
			break;
		case 16:
			out(g, "%s report-tpgs lun=%u & expect any\n", a, lun);
			break;
		case 17:
			out(g, "%s set-tpgs lun=%u & expect any\n", a, lun);
			break;
		case 18:
			out(g, "%s pr-%s lun=%u & expect any\n", a,
			    coin_cmd(g, 50) ? "report-caps" : "read-full", lun);
			break;
		case 19:
			/* not without the PR oracle's knowledge of it: it
			 * makes the PR state unknown if it succeeds */
			if (c->pr)
				out(g,
				    "%s pr-%s lun=%u key=0 new=0 & expect "
				    "any\n",
				    a,
				    (const char *[]){
					    "register-move", "preempt-abort",
					    "register-ignore"}[rnd_cmd(g, 3)],
				    lun);
			break;
		case 20:
			if (c->resv)
				out(g, "%s %s lun=%u cdb=10 & expect any\n", a,
				    coin_cmd(g, 60) ? "reserve" : "release",
				    lun);
			break;
		case 21:
			/* opcodes the target does not support: ILLEGAL
			 * REQUEST, INVALID COMMAND OPERATION CODE */
			out(g, "%s cdb %s lun=%u in=64 & expect any\n", a,
			    (const char *[]){"4d0000000000000000400000",
					     "3c0000000000000000400000",
					     "a200000000000000000000400000",
					     "ff00000000000000"}[rnd_cmd(g, 4)],
			    lun);
			break;
		case 22:
			out(g,
			    "%s copy-results lun=%u op-params & expect any\n",
			    a, lun);
			break;
		default:
			out(g,
			    "%s mode-sense lun=%u page=0x3f pc=%u & "
			    "expect any\n",
			    a, lun, (unsigned)rnd_cmd(g, 4));
			break;
		}
		break;
	}
	case CG_TMF: {
		static const char *const tmfs[] = {
			"abort-task-set", "clear-task-set", "target-reset"};

		out(g, "%s %s lun=%u & expect any\n", a, tmfs[rnd_cmd(g, 3)],
		    lun);
		break;
	}
	}
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
			.st_acl = seed ^ 0xac1ac1ac1ull};
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
	struct mix m;
	unsigned int nini, nlun, steps, vnum = 0, label = 0, mvnum = 0;
	uint32_t lba_span;
	struct recent_w recent[4];
	struct cmdgen cg = {0};
	unsigned int nrecent = 0;
	struct prgen pg = {{0}, false, 0, 0, 0};
	/* About one seed in four: the other TMFs; one in three of the PR
	 * seeds: PREEMPT AND ABORT and REGISTER AND IGNORE EXISTING KEY. */
	bool ua_tmf = rnd_ua(&g, 100) < 25, pr_abort = rnd_ua(&g, 100) < 35;
	bool wrap = rnd_ua(&g, 100) < 33;
	bool acl;

	g.buf = malloc(g.cap);
	if (g.buf == NULL)
		abort();
	mix_draw(&g, &m);
	nini = 1 + (unsigned int)rnd(&g, 4);
	nlun = 1 + (unsigned int)rnd(&g, 3);
	cg.resv = m.resv;
	cg.pr = m.pr;
	cg.tmf = m.tmf;
	cg.nlun = nlun;
	cmd_draw(&g, &cg, ctl);
	/* Initiator groups in about one seed in seven of those without
	 * live LUN changes (which change the default set only) or ALUA. */
	acl = !ctl && !alua && nlun >= 2 && rnd_acl(&g, 100) < 15;
	if (acl)
		cg.on[CG_XCOPY] = false;
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
	for (unsigned int i = 0; i < nlun; i++) {
		bool lbp = cg.on[CG_UNMAP] || cg.on[CG_WSAME] ||
			   cg.on[CG_GLS] || cg.on[CG_SANITIZE];

		if (other_backings && i > 0)
			backing[i] = rnd_world(&g, 100) < 75 ? B_MEM : B_NULL;
		cl.size_k[i] = 256 + 64 * (unsigned)rnd(&g, 8);
		cg.size_blocks[i] = cl.size_k[i] * 2;
		cg.thin[i] = lbp && coin_cmd(&g, 70);
		/* The command set's oracles are written for the simulated
		 * disk (a null LU keeps no data, two COMPARE AND WRITEs of
		 * zeros may both win there): its commands go to those. */
		cg.sim[i] = backing[i] == B_SIM;
		cg.all_sim = i == 0 ? cg.sim[i] : cg.all_sim && cg.sim[i];
		if (backing[i] == B_SIM) {
			out(&g, "lun %u disk%u size=%uK%s", i, i, cl.size_k[i],
			    m.wc_off && i == 0 ? " write-cache=off" : "");
			if (cg.thin[i])
				out(&g, " thin");
			/* a paced OVERWRITE runs long enough to be seen
			 * running */
			if (cg.on[CG_SANITIZE])
				out(&g, " sanitize-rate=%uK",
				    64u << (unsigned)rnd_cmd(&g, 6));
			out(&g, "\n");
		} else {
			out(&g, "lun %u %s%u size=%uK backstore=%s\n", i,
			    backing[i] == B_MEM ? "ram" : "nul", i,
			    cl.size_k[i], backing[i] == B_MEM ? "mem" : "null");
		}
	}
	cl.n = nlun;
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
	if (m.nopin)
		out(&g, "param NopInInterval=%u NopInTimeout=%u\n",
		    1 + (unsigned)rnd(&g, 5), 1 + (unsigned)rnd(&g, 5));
	for (unsigned int i = 0; i < nini; i++) {
		/* One seed in three starts an initiator's CmdSN and ITTs
		 * just below 2^32 (a few hundred commands cross the wrap
		 * with commands outstanding) and its first ExpStatSN
		 * anywhere (RFC 7143 §11.12). */
		if (wrap)
			out(&g, "initiator %s cmdsn=%u itt=%u expstatsn=%u\n",
			    names[i], 0xffffffffu - (unsigned)rnd_ua(&g, 40),
			    0xfffffffeu - (unsigned)rnd_ua(&g, 40),
			    (unsigned)rnd_ua(&g, 1ull << 32));
		else
			out(&g, "initiator %s\n", names[i]);
	}
	if (acl)
		acl_decl(&g, nini, nlun);
	if (alua) {
		out(&g,
		    "portal 10.0.0.1:3260\nportal 10.0.0.2:3260 tpgt=2\n"
		    "tpg 1 %s preferred tpgt=1\ntpg 2 %s tpgt=2\n",
		    rnd_alua(&g, 4) ? "active" : alua_state(&g),
		    rnd_alua(&g, 2) ? "nonoptimized" : alua_state(&g));
		for (unsigned int i = 0; i < nini; i++)
			out(&g, "initiator %s2\nmpath H%s %s %s2\n", names[i],
			    names[i], names[i], names[i]);
	}
	if (m.chunk || m.jitter || m.partial)
		out(&g, "net delay=%uus jitter=%uus chunk=%u partial=%s\n",
		    10 + (unsigned)rnd(&g, 200),
		    m.jitter ? (unsigned)rnd(&g, 500) : 0,
		    m.chunk ? 1 + (unsigned)rnd(&g, 600) : 0,
		    m.partial ? "on" : "off");
	for (unsigned int i = 0; i < nlun; i++) {
		/* A LUN without a simulated disk takes no disk faults: the
		 * lines are drawn as for any LUN (the other LUNs' draws stay
		 * as they were) and dropped. */
		size_t mark = g.len;

		if (m.slow)
			out(&g,
			    "disk%u latency min=10us max=%uus slow=%ums "
			    "slow-prob=0.05\n",
			    i, 50 + (unsigned)rnd(&g, 500),
			    1 + (unsigned)rnd(&g, 20));
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
		out(&g, "%s login expect any\n", names[i]);
	for (unsigned int i = 0; alua && i < nini; i++)
		out(&g, "%s2 login portal=10.0.0.2:3260 expect any\n",
		    names[i]);
	/* EXTENDED COPY names LUs by the designators of VPD page 83h */
	for (unsigned int i = 0; i < nlun && cg.on[CG_XCOPY]; i++)
		out(&g, "A inquiry lun=%u page=0x83 expect any\n", i);
	cg.lba_span = lba_span;
	for (unsigned int s = 0; s < steps; s++) {
		if (cg.pct && rnd_cmd(&g, 100) < cg.pct)
			cmd_step(&g, &cg, nini, recent, nrecent);
		if (acl && rnd_acl(&g, 100) < 8) {
			unsigned int k = (unsigned int)rnd_acl(&g, 4);

			if (k == 0)
				out(&g, "F login expect any\n");
			else if (k == 1)
				out(&g, "F discovery expect any\n");
			else
				out(&g, "%s report-luns lun=%u & expect any\n",
				    names[rnd_acl(&g, nini)],
				    (unsigned)rnd_acl(&g, nlun));
		}
		if (ctl && rnd_ctl(&g, 100) < 4)
			ctl_step(&g, &cl);
		if (ua_tmf && rnd_ua(&g, 100) < 3)
			ua_tmf_step(&g, names[rnd_ua(&g, nini)], nlun);
		if (m.pr && coin(&g, 15)) {
			pr_step(&g, &pg, nini, names,
				(unsigned int)rnd(&g, nini), 0, pr_abort);
			continue;
		}
		const char *a;
		unsigned int lun;

		if (alua && rnd_alua(&g, 100) < 35)
			alua_step(&g, nini, names, nlun, lba_span, &mvnum);
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
		a = names[rnd(&g, nini)];
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
			    "%s write lun=%u lba=%u blocks=%u data=v%u%s as=t%u & "
			    "expect any\n",
			    a, lun, lba, blocks, ++vnum,
			    m.fua && coin(&g, 30) ? " fua" : "", ++label);
		} else if (r < 65) {
			out(&g,
			    "%s read lun=%u lba=%u blocks=%u as=t%u & expect any\n",
			    a, lun, lba, blocks, ++label);
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
			for (unsigned int i = 0; i < nini; i++)
				out(&g, "%s reconnect expect any\n", names[i]);
			for (unsigned int i = 0; alua && i < nini; i++)
				out(&g, "%s2 reconnect expect any\n", names[i]);
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
		    names[i], lba_span + 8);
	out(&g, "run until quiet\n");
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s logout expect any\n", names[i]);
	for (unsigned int i = 0; alua && i < nini; i++)
		out(&g, "%s2 logout expect any\n", names[i]);
	out(&g, "run until quiet\n");
	return g.buf;
}
