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
	uint64_t st;		/* splitmix64 state: generation only */
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

struct mix {
	bool chunk, jitter, partial, partition, rst, stall;
	bool eio, slow, crash, resv, tmf, reconnect, nopin, fua, wc_off;
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
}

static const char *const names[] = {"A", "B", "C", "D"};

char *explore_generate(uint64_t seed)
{
	struct gen g = {.cap = 8192, .st = seed ^ 0x5eedf00dull};
	struct mix m;
	unsigned int nini, nlun, steps, vnum = 0, label = 0;
	uint32_t lba_span;
	struct recent {
		unsigned int lun;
		uint32_t lba, blocks;
	} recent[4];
	unsigned int nrecent = 0;

	g.buf = malloc(g.cap);
	if (g.buf == NULL)
		abort();
	mix_draw(&g, &m);
	nini = 1 + (unsigned int)rnd(&g, 4);
	nlun = 1 + (unsigned int)rnd(&g, 3);
	/* Mostly short runs (quick to replay and shrink); one in eight is
	 * long, for bugs that need many commands (every Nth write...). */
	steps = coin(&g, 12) ? 150 + (unsigned int)rnd(&g, 250)
			     : 20 + (unsigned int)rnd(&g, 80);
	lba_span = 16 + (uint32_t)rnd(&g, 112);
	out(&g, "# explore seed %llu:%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s\n",
	    (unsigned long long)seed, m.chunk ? " chunk" : "",
	    m.jitter ? " jitter" : "", m.partial ? " partial" : "",
	    m.partition ? " partition" : "", m.rst ? " rst" : "",
	    m.stall ? " stall" : "", m.eio ? " eio" : "", m.slow ? " slow" : "",
	    m.crash ? " crash" : "", m.resv ? " reserve" : "",
	    m.tmf ? " tmf" : "", m.reconnect ? " reconnect" : "",
	    m.nopin ? " nopin" : "", m.fua ? " fua" : "",
	    m.wc_off ? " write-through" : "");
	out(&g, "seed %llu\n", (unsigned long long)seed);
	for (unsigned int i = 0; i < nlun; i++)
		out(&g, "lun %u disk%u size=%uK%s\n", i, i, 256 + 64 * (unsigned)rnd(&g, 8),
		    m.wc_off && i == 0 ? " write-cache=off" : "");
	{
		/* FirstBurstLength <= MaxBurstLength (RFC 7143 §13.14). */
		unsigned int maxb = 4096u << rnd(&g, 6);
		unsigned int first = 512u << rnd(&g, 8);

		out(&g, "param InitialR2T=%s ImmediateData=%s FirstBurstLength=%u "
			"MaxBurstLength=%u MaxOutstandingR2T=%u "
			"MaxRecvDataSegmentLength=%u QueuedCommands=%u\n",
		    coin(&g, 50) ? "Yes" : "No", coin(&g, 70) ? "Yes" : "No",
		    first < maxb ? first : maxb, maxb, 1 + (unsigned)rnd(&g, 4),
		    512u << rnd(&g, 8), 4u << rnd(&g, 5));
	}
	if (m.nopin)
		out(&g, "param NopInInterval=%u NopInTimeout=%u\n",
		    1 + (unsigned)rnd(&g, 5), 1 + (unsigned)rnd(&g, 5));
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "initiator %s\n", names[i]);
	if (m.chunk || m.jitter || m.partial)
		out(&g, "net delay=%uus jitter=%uus chunk=%u partial=%s\n",
		    10 + (unsigned)rnd(&g, 200), m.jitter ? (unsigned)rnd(&g, 500) : 0,
		    m.chunk ? 1 + (unsigned)rnd(&g, 600) : 0,
		    m.partial ? "on" : "off");
	for (unsigned int i = 0; i < nlun; i++) {
		if (m.slow)
			out(&g, "disk%u latency min=10us max=%uus slow=%ums "
				"slow-prob=0.05\n", i, 50 + (unsigned)rnd(&g, 500),
			    1 + (unsigned)rnd(&g, 20));
		if (m.eio)
			out(&g, "disk%u eio %s prob=0.0%u\n", i,
			    coin(&g, 50) ? "write" : coin(&g, 50) ? "read" : "flush",
			    1 + (unsigned)rnd(&g, 5));
	}
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s login expect any\n", names[i]);
	for (unsigned int s = 0; s < steps; s++) {
		const char *a = names[rnd(&g, nini)];
		unsigned int lun = (unsigned int)rnd(&g, nlun);
		uint32_t lba = (uint32_t)rnd(&g, lba_span);
		uint32_t blocks = coin(&g, 80) ? 1 + (uint32_t)rnd(&g, 8)
					       : 1 + (uint32_t)rnd(&g, 128);
		unsigned int r = (unsigned int)rnd(&g, 100);

		/* Reads often revisit what was just written (stale data
		 * shows only where a block changed between two reads). */
		if (r >= 35 && r < 65 && nrecent > 0 && coin(&g, 50)) {
			const struct recent *w = &recent[rnd(&g, nrecent)];

			lun = w->lun;
			lba = w->lba;
			blocks = w->blocks;
		} else if (r < 35) {
			recent[nrecent < 4 ? nrecent++ : rnd(&g, 4)] =
				(struct recent){lun, lba, blocks};
		}

		if (coin(&g, 30))
			out(&g, "+%uus ", (unsigned)rnd(&g, 3000));
		if (r < 35) {
			out(&g, "%s write lun=%u lba=%u blocks=%u data=v%u%s as=t%u & "
				"expect any\n", a, lun, lba, blocks, ++vnum,
			    m.fua && coin(&g, 30) ? " fua" : "", ++label);
		} else if (r < 65) {
			out(&g, "%s read lun=%u lba=%u blocks=%u as=t%u & expect any\n",
			    a, lun, lba, blocks, ++label);
		} else if (r < 72) {
			out(&g, "%s sync lun=%u & expect any\n", a, lun);
		} else if (r < 76 && m.resv) {
			out(&g, "%s %s lun=%u & expect any\n", a,
			    coin(&g, 60) ? "reserve" : "release", lun);
		} else if (r < 80 && m.tmf) {
			if (coin(&g, 50) && label > 0)
				out(&g, "%s abort ref=t%u & expect any\n", a,
				    label - (unsigned)rnd(&g, label < 4 ? label : 4));
			else
				out(&g, "%s lun-reset lun=%u & expect any\n", a, lun);
		} else if (r < 83 && m.reconnect) {
			out(&g, "%s reconnect expect any\n", a);
		} else if (r < 85 && m.rst) {
			out(&g, "%s rst\n%s reconnect expect any\n", a, a);
		} else if (r < 88 && m.partition) {
			out(&g, "%s partition %s for=%ums\n", a,
			    coin(&g, 50) ? "both" : coin(&g, 50) ? "to-target"
								  : "from-target",
			    1 + (unsigned)rnd(&g, 3000));
		} else if (r < 90 && m.stall) {
			out(&g, "%s stall %s for=%ums\n", a,
			    coin(&g, 50) ? "to-target" : "from-target",
			    1 + (unsigned)rnd(&g, 500));
		} else if (r < 92 && m.crash) {
			out(&g, "run until quiet\ntarget crash\n+%ums target restart\n",
			    1 + (unsigned)rnd(&g, 100));
			for (unsigned int i = 0; i < nini; i++)
				out(&g, "%s reconnect expect any\n", names[i]);
			out(&g, "%s read lun=%u lba=0 blocks=%u & expect any\n", a, lun,
			    lba_span + 8);
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
		out(&g, "%s read lun=0 lba=0 blocks=%u & expect any\n", names[i],
		    lba_span + 8);
	out(&g, "run until quiet\n");
	for (unsigned int i = 0; i < nini; i++)
		out(&g, "%s logout expect any\n", names[i]);
	out(&g, "run until quiet\n");
	return g.buf;
}
