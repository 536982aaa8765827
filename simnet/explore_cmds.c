/*
 * explore_cmds.c — the explorer's stream of the rest of the command set
 * (the verbs of scenario_cmds.c): which groups a seed enables, the range
 * a command gets (mostly a recently written one), and the scenario line
 * of each command, edge cases included.
 *
 * The boundary: this stream draws from its own splitmix64 state (st_cmd)
 * and writes lines only where explore_generate() asks for one, so the
 * rest of a seed's scenario (explore.c) does not depend on what is drawn
 * here, and the seeds found before it existed generate as they did.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "explore.h"
#include "explore_int.h"
#include "sim.h"

void explore_cmd_draw(struct gen *g, struct cmdgen *c, bool ctl)
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

/* One START STOP UNIT LOEJ in five carries a POWER CONDITION (ACTIVE,
 * IDLE, STANDBY, LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0): its LOEJ and
 * START are then ignored (SBC-4 §5.25), the medium stays as it was (the
 * medium oracle, scenario_medium.c).  st_blind: other draws unchanged. */
static const char *power_cond(struct gen *g)
{
	static const char *const pc[6] = {" pc=1", " pc=2",  " pc=3",
					  " pc=7", " pc=10", " pc=11"};

	return rnd_blind(g, 5) == 0 ? pc[rnd_blind(g, 6)] : "";
}

/* One READ DEFECT DATA in two asks for other lists and formats than
 * P+G in physical sector format (st_blind). */
static const char *defect_req(struct gen *g)
{
	static char b[16];

	if (rnd_blind(g, 2))
		return "";
	snprintf(b, sizeof(b), " req=%u", (unsigned)rnd_blind(g, 32));
	return b;
}

/* One WRITE ATOMIC(16) in six names an ATOMIC BOUNDARY of 1 to 8 blocks,
 * past the MAXIMUM ATOMIC BOUNDARY SIZE (0) the Block Limits page gives:
 * to be refused (the limits oracle, scenario_spc.c); 0: none.  A stream
 * of its own (st_atomic): other draws unchanged. */
static unsigned int atomic_boundary(struct gen *g)
{
	if (sim_splitmix64(&g->st_atomic) % 6)
		return 0;
	return 1 + (unsigned int)(sim_splitmix64(&g->st_atomic) % 8);
}

static const char *fill_name(struct gen *g, char *buf, size_t cap)
{
	unsigned int b = (unsigned int)rnd_cmd(g, 256);

	if (b == 0)
		return "zero";
	snprintf(buf, cap, "0x%02x", b);
	return buf;
}

/* Now and then (one step in 30, st_blind18) a CDB of each length with
 * NACA set in its CONTROL byte, sent before the step's own command: the
 * NACA oracle (scenario_oracle.c) holds it never GOOD (SAM-5 §5.9.1: no
 * ACA here).  6: TEST UNIT READY; 10: READ CAPACITY(10); 12: READ(12)
 * and REPORT LUNS; 16: READ(16). */
static void naca_step(struct gen *g, const char *a, unsigned int lun)
{
	static const struct {
		const char *hex;
		unsigned int in;
	} cdbs[5] = {
		{"000000000004", 0},
		{"25000000000000000004", 8},
		{"a80000000000000000010004", 4096},
		{"a00000000000000000100004", 16},
		{"88000000000000000000000000010004", 4096},
	};
	unsigned int k;

	if (rnd_blind18(g, 30) != 0)
		return;
	k = (unsigned int)rnd_blind18(g, 5);
	if (cdbs[k].in)
		out(g, "%s cdb %s lun=%u in=%u & expect any\n", a, cdbs[k].hex,
		    lun, cdbs[k].in);
	else
		out(g, "%s cdb %s lun=%u & expect any\n", a, cdbs[k].hex, lun);
}

static uint64_t rnd_long(struct gen *g, uint64_t n)
{
	return n ? sim_splitmix64(&g->st_longcdb) % n : 0;
}

/* One step in 20 (st_longcdb, lane dupcmd19) a variable-length CDB (7Fh,
 * SPC-4 §4.2.5), sent before the step's own command: mostly 32 bytes,
 * the 16 past the BHS's in an Extended CDB AHS (RFC 7143 §11.2.2.3) --
 * READ(32), VERIFY(32), WRITE(32), WRITE AND VERIFY(32), WRITE SAME(32),
 * ORWRITE(32) (SBC-4: service actions 0009h-000Eh) with the step's range
 * and their data -- or 17 to 31 bytes of anything, or 16 (no AHS).  The
 * simulator's own table has none of them (the long-CDB oracle,
 * scenario_oracle.c): each must be refused INVALID COMMAND OPERATION
 * CODE, and the connection go on in step. */
static void longcdb_step(struct gen *g, const char *a, unsigned int lun,
			 uint32_t lba, uint32_t blocks)
{
	static const struct {
		uint16_t sa;
		char dir; /* 'i' in, 'o' out: blocks; 's' out: one block */
	} sbc32[6] = {{0x0009, 'i'}, {0x000a, 0},   {0x000b, 'o'},
		      {0x000c, 'o'}, {0x000d, 's'}, {0x000e, 'o'}};
	uint8_t cdb[32] = {0x7f};
	unsigned int n = 32, k, i;
	char hex[2 * 32 + 1];
	char dir = 0;

	if (rnd_long(g, 20) != 0)
		return;
	k = (unsigned int)rnd_long(g, 9);
	if (k < 6) {
		cdb[7] = 0x18; /* ADDITIONAL CDB LENGTH: 24 */
		put_be16(cdb + 8, sbc32[k].sa);
		put_be64(cdb + 12, lba);
		put_be32(cdb + 28, blocks);
		dir = sbc32[k].dir;
	} else {
		n = k == 8 ? 16 : 17 + (unsigned int)rnd_long(g, 15);
		for (i = 2; i < n; i++)
			cdb[i] = (uint8_t)rnd_long(g, 256);
		/* byte 1 is the CONTROL byte: 0 (no NACA, no ACA here) */
		dir = rnd_long(g, 2) ? 'r' : 0;
	}
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", cdb[i]);
	out(g, "%s cdb %s lun=%u", a, hex, lun);
	if (dir == 'i')
		out(g, " in=%u", blocks * 512);
	else if (dir == 'r')
		out(g, " in=64");
	else if (dir == 'o')
		out(g, " out=%u", blocks * 512);
	else if (dir == 's')
		out(g, " out=512");
	out(g, " & expect any\n");
}

/* Where LUNs 0 and 1 were made large (c->big_xcopy), one EXTENDED COPY
 * step in three first sends a copy of 2049 to 3072 blocks between them:
 * more than the copy manager's 1 MiB chunk, so a segment is copied in
 * pieces (xcopy.c copy_step).  The source's blocks just past the first
 * chunk are written first, and the destination's read back after, each
 * after a quiet point: blocks never written are zeros everywhere, and a
 * second chunk copied from the wrong place would look right.
 * st_blind18: the step's own draws are unchanged. */
static void big_xcopy_step(struct gen *g, struct cmdgen *c, const char *a,
			   unsigned int lun)
{
	unsigned int sl, dl;
	uint32_t n, sa, da, k;

	if (!c->big_xcopy || rnd_blind18(g, 3) != 0)
		return;
	sl = (unsigned int)rnd_blind18(g, 2);
	dl = 1 - sl;
	n = 2049 + (uint32_t)rnd_blind18(g, 1024);
	if (c->size_blocks[sl] < n || c->size_blocks[dl] < n)
		return; /* never: both are over 4,600 blocks */
	sa = (uint32_t)rnd_blind18(g, c->size_blocks[sl] - n + 1);
	da = (uint32_t)rnd_blind18(g, c->size_blocks[dl] - n + 1);
	k = n - 2048 < 64 ? n - 2048 : 64;
	out(g,
	    "%s write lun=%u lba=%u blocks=%u data=bx%u & expect any\n"
	    "run until quiet\n",
	    a, sl, sa + 2048, k, ++c->big_seq);
	out(g, "%s xcopy lun=%u list-id=%u seg=%u:%u:%u:%u:%u & expect any\n",
	    a, lun, (unsigned int)rnd_blind18(g, 4), sl, sa, dl, da, n);
	out(g,
	    "run until quiet\n%s read lun=%u lba=%u blocks=%u & expect "
	    "any\n",
	    a, dl, da + 2048, k);
}

/* The last block of a LUN the command set leaves alone (a mem or null
 * LU: its oracles are written for the simulated disk), now and then
 * (one such step in 8, st_blind18): a READ of it, whatever the world,
 * must never fail for a reason the world does not give (the
 * no-internal-failure oracle; a null device that refuses a request
 * ending at its end answers 4/44/00). */
static void last_block_step(struct gen *g, const struct cmdgen *c,
			    const char *a, unsigned int lun)
{
	if (c->keeps[lun] || c->ctl || c->size_blocks[lun] == 0 ||
	    rnd_blind18(g, 8) != 0)
		return;
	out(g, "%s read lun=%u lba=%u blocks=1 & expect any\n", a, lun,
	    c->size_blocks[lun] - 1);
}

/* A RAM disk keeps its blocks in 1 MiB chunks, allocated when a non-zero
 * byte is first written and freed when an UNMAP covers one whole
 * (backstore/mem.c); GET LBA STATUS reports them chunk by chunk.  The
 * command set's ranges stay in the first 64 KiB, so now and then (one
 * step in 6 on a thin RAM disk of more than one chunk, st_lead19) a write
 * lands in a chunk further on or across the boundary of two (and is
 * read back), or an UNMAP frees a whole one, and GET
 * LBA STATUS asks from LBA 0 or from inside that chunk: a block reported
 * deallocated must read zeros (the GET LBA STATUS oracle). */
static void mem_step(struct gen *g, struct cmdgen *c, const char *a,
		     unsigned int lun)
{
	const uint32_t chunk = 2048; /* 512-byte blocks in 1 MiB */
	uint32_t nchunks = (c->size_blocks[lun] + chunk - 1) / chunk;
	uint32_t k, lba, n;
	unsigned int r;

	if (!c->mem[lun] || !c->thin[lun] || nchunks < 2 || c->ctl ||
	    rnd_lead19(g, 6) != 0)
		return;
	k = 1 + (uint32_t)rnd_lead19(g, nchunks - 1);
	lba = k * chunk + (uint32_t)rnd_lead19(g, chunk);
	if (lba >= c->size_blocks[lun])
		lba = c->size_blocks[lun] - 1;
	r = (unsigned int)rnd_lead19(g, 3);
	if (r == 0 && (k + 1) * chunk <= c->size_blocks[lun]) {
		out(g, "%s unmap lun=%u lba=%u blocks=%u & expect any\n", a,
		    lun, k * chunk, chunk);
	} else if (r == 1) {
		/* across the boundary of chunks k - 1 and k */
		n = 2 + (uint32_t)rnd_lead19(g, 7);
		lba = k * chunk - 1 - (uint32_t)rnd_lead19(g, n - 1);
		out(g,
		    "%s write lun=%u lba=%u blocks=%u data=m%u & expect "
		    "any\n%s read lun=%u lba=%u blocks=%u & expect any\n",
		    a, lun, lba, n, ++c->seq, a, lun, lba, n);
	} else {
		out(g,
		    "%s write lun=%u lba=%u blocks=1 data=m%u & expect any\n",
		    a, lun, lba, ++c->seq);
	}
	out(g, "%s get-lba-status lun=%u lba=%u alloc=%u & expect any\n", a,
	    lun,
	    rnd_lead19(g, 2) ? 0
			     : k * chunk + (uint32_t)rnd_lead19(g, chunk / 2),
	    8 + 16 * 8);
}

/* One command step in 40 first sends a TEST UNIT READY, READ(10) of one
 * block or REPORT LUNS with the ACA task attribute (st_lead19): with no
 * ACA supported the target must refuse it, ILLEGAL REQUEST, INVALID
 * MESSAGE ERROR (the ACA attribute oracle, scenario_oracle.c). */
static void aca_step(struct gen *g, const char *a, unsigned int lun)
{
	static const struct {
		const char *hex;
		unsigned int in;
	} cdbs[3] = {
		{"000000000000", 0},
		{"28000000000000000100", 512},
		{"a00000000000000000100000", 16},
	};
	unsigned int k;

	if (rnd_lead19(g, 40) != 0)
		return;
	k = (unsigned int)rnd_lead19(g, 3);
	if (cdbs[k].in)
		out(g, "%s cdb %s lun=%u in=%u attr=aca & expect any\n", a,
		    cdbs[k].hex, lun, cdbs[k].in);
	else
		out(g, "%s cdb %s lun=%u attr=aca & expect any\n", a,
		    cdbs[k].hex, lun);
}

void explore_cmd_step(struct gen *g, struct cmdgen *c, unsigned int nini,
		      const struct recent_w *recent, unsigned int nrecent)
{
	unsigned int grp, tries = 0, lun;
	uint32_t lba, blocks;
	bool edge;
	const char *a = explore_names[rnd_cmd(g, nini)];
	char f[8];

	do {
		grp = (unsigned int)rnd_cmd(g, CG_N);
	} while (!c->on[grp] && ++tries < 64);
	if (!c->on[grp])
		return;
	cmd_range(g, c, recent, nrecent, &lun, &lba, &blocks, 32);
	last_block_step(g, c, a, lun);
	mem_step(g, c, a, lun);
	if (!c->keeps[lun] || (grp == CG_XCOPY && !c->all_keep))
		return;
	naca_step(g, a, lun);
	aca_step(g, a, lun);
	longcdb_step(g, a, lun, lba, blocks);
	/* Edge case: a range that ends one block past the last LBA (LBA
	 * OUT OF RANGE, nothing may change).  Not where a LUN may grow under
	 * the command: it could then run, and the model does not know it
	 * (it was out of range when it was built). */
	edge = coin_cmd(g, 6) && !c->ctl;
	switch (grp) {
	case CG_RW: {
		static const unsigned int sizes[] = {6, 12, 16};
		unsigned int sz = sizes[rnd_cmd(g, 3)];

		/* READ(6)/WRITE(6) of 256 blocks: TRANSFER LENGTH 0 (SBC-4
		 * §5.15), where the LUN has room for them */
		if (sz == 6 && !c->ctl && c->size_blocks[lun] >= 256 &&
		    coin_cmd(g, 10)) {
			uint32_t room = c->size_blocks[lun] - 256 + 1;

			lba = (uint32_t)rnd_cmd(
				g, room < c->lba_span ? room : c->lba_span);
			blocks = 256;
		}

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
		else {
			/* one in four of MAXIMUM ATOMIC TRANSFER LENGTH
			 * blocks, after the Block Limits page that says so
			 * (the limits oracle, scenario_spc.c; st_blind) */
			if (!c->ctl && c->size_blocks[lun] >= 256 &&
			    rnd_blind(g, 4) == 0) {
				uint32_t room = c->size_blocks[lun] - 256 + 1;

				out(g,
				    "%s inquiry lun=%u page=0xb0 & expect "
				    "any\n",
				    a, lun);
				lba = lba % room;
				blocks = 256;
			}
			char bs[24] = "";
			unsigned int bnd = atomic_boundary(g);

			if (bnd)
				snprintf(bs, sizeof(bs), " boundary=%u", bnd);
			out(g,
			    "%s write-atomic lun=%u lba=%u blocks=%u "
			    "data=x%u%s%s & expect any\n",
			    a, lun, lba, blocks, ++c->seq,
			    coin_cmd(g, 30) ? " fua" : "", bs);
		}
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
			const char *b = explore_names[rnd_cmd(g, nini)];

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
			char cut[24] = "";

			/* One in three cut short by the expected length
			 * (st_reach): inside a block mostly, else on a
			 * block boundary; the bytes that came are written
			 * and compared (sbc_cmp.c write_partial). */
			if (rnd_reach(g, 3) == 0) {
				uint32_t e =
					512 * (uint32_t)rnd_reach(g, blocks);

				if (e == 0 || rnd_reach(g, 4) != 0)
					e += 1 + (uint32_t)rnd_reach(g, 511);
				snprintf(cut, sizeof(cut), " edtl=%u", e);
			}
			out(g,
			    "%s write-verify lun=%u lba=%u blocks=%u "
			    "data=y%u bytchk=%u cdb=%u%s & expect any\n",
			    a, lun, lba, blocks, ++c->seq,
			    (unsigned)rnd_cmd(g, 2), sz, cut);
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

		big_xcopy_step(g, c, a, lun);
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
			/* one copy in eight has its last segment run past
			 * the end of its source or destination (refused
			 * whole: the xcopy oracle; st_blind18) */
			if (i == k - 1 && !c->ctl && rnd_blind18(g, 8) == 0) {
				uint32_t past = (uint32_t)rnd_blind18(g, 4);

				if (rnd_blind18(g, 2))
					da = c->size_blocks[dl] - n + 1 + past;
				else
					sa = c->size_blocks[sl] - n + 1 + past;
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
	case CG_MEDIUM: {
		/* the medium of a removable LU, when there is one: locked,
		 * unlocked, ejected, loaded, and looked at (the medium
		 * oracle, scenario_medium.c) */
		unsigned int r = (unsigned int)rnd_cmd(g, 10);

		for (unsigned int k = 1; k < c->nlun && !c->removable[lun]; k++)
			if (c->removable[(lun + k) % c->nlun])
				lun = (lun + k) % c->nlun;
		if (r < 3)
			/* one in four (st_blind20): PREVENT 10b, a medium
			 * changer's value, never GOOD */
			out(g, "%s prevent lun=%u%s & expect any\n", a, lun,
			    rnd_blind20(g, 4) == 0 ? " changer" : "");
		else if (r < 5)
			out(g, "%s prevent lun=%u off & expect any\n", a, lun);
		else if (r < 7)
			out(g,
			    "%s start-stop lun=%u loej stop%s & expect any\n",
			    a, lun, power_cond(g));
		else if (r < 9)
			out(g, "%s start-stop lun=%u loej%s & expect any\n", a,
			    lun, power_cond(g));
		else
			out(g, "%s tur lun=%u & expect any\n", a, lun);
		break;
	}
	case CG_SPC: {
		unsigned int r = (unsigned int)rnd_cmd(g, 24);

		switch (r) {
		case 0: {
			/* DBD or (10 only) LLBAA now and then: the block
			 * descriptors oracle_mode_bd allows differ */
			unsigned int ten = coin_cmd(g, 50) ? 0 : 1,
				     bd = (unsigned int)rnd_cmd(g, 4);
			static const char *const bds[] = {"", "", " dbd",
							  " llbaa"};

			out(g,
			    "%s mode-sense lun=%u cdb=%u page=%s%s & expect "
			    "any\n",
			    a, lun, ten ? 10 : 6,
			    coin_cmd(g, 50)   ? "0x3f"
			    : coin_cmd(g, 50) ? "8"
					      : "10",
			    bd == 3 && !ten ? "" : bds[bd]);
			break;
		}
		case 1:
			/* the caching page as configured (durability stays),
			 * or the control page's D_SENSE, mostly on: every
			 * CHECK CONDITION after it in descriptor format (the
			 * sense format oracle, scenario_spc.c) */
			if (coin_cmd(g, 50))
				out(g,
				    "%s mode-select lun=%u wce=%u cdb=%u & "
				    "expect any\n",
				    a, lun, 1u, coin_cmd(g, 50) ? 6 : 10);
			else
				out(g,
				    "%s mode-select lun=%u dsense=%u cdb=%u & "
				    "expect any\n",
				    a, lun, coin_cmd(g, 75) ? 1u : 0u,
				    coin_cmd(g, 50) ? 6 : 10);
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
			/* LOEJ ejects or loads a removable LU's medium
			 * (scenario_medium.c judges it) */
			out(g, "%s start-stop lun=%u%s%s%s%s & expect any\n", a,
			    lun, coin_cmd(g, 30) ? " immed" : "",
			    coin_cmd(g, 50) ? " loej" : "",
			    coin_cmd(g, 50) ? " stop" : "", power_cond(g));
			break;
		case 9:
			out(g, "%s prevent lun=%u%s & expect any\n", a, lun,
			    coin_cmd(g, 50) ? " off" : "");
			break;
		case 10:
			/* the edge: one block past the last LBA (refused,
			 * the out-of-range oracle) */
			out(g,
			    "%s prefetch lun=%u lba=%u blocks=%u cdb=%u%s & "
			    "expect any\n",
			    a, lun,
			    edge ? c->size_blocks[lun] + 1 - blocks : lba,
			    blocks, coin_cmd(g, 50) ? 10 : 16,
			    coin_cmd(g, 30) ? " immed" : "");
			break;
		case 11:
			/* the whole cache, or at the edge a range ending one
			 * block past the last LBA (SBC-4 §5.24: refused) */
			if (edge)
				out(g,
				    "%s sync lun=%u lba=%u blocks=%u cdb=16 & "
				    "expect any\n",
				    a, lun, c->size_blocks[lun] + 1 - blocks,
				    blocks);
			else
				out(g, "%s sync lun=%u cdb=16 & expect any\n",
				    a, lun);
			break;
		case 12:
			out(g, "%s read-defect lun=%u cdb=%u%s & expect any\n",
			    a, lun, coin_cmd(g, 50) ? 10 : 12, defect_req(g));
			break;
		case 13:
			out(g, "%s report-opcodes lun=%u%s & expect any\n", a,
			    lun, coin_cmd(g, 30) ? " rctd" : "");
			break;
		case 14: {
			/* half of them about a command the LU may or may
			 * not have (UNMAP and SANITIZE on thin LUs only, the
			 * port group commands with ALUA; UNMAP, which the
			 * command set sends to thick LUs too, a quarter of
			 * those): the oracle holds
			 * the answer against what the LU does with it
			 * (scenario_rsoc.c) */
			static const uint8_t ops[] = {0x42, 0x42, 0x42, 0x42,
						      0x48, 0x48, 0xa4, 0xa4,
						      0xa3, 0x93, 0x41, 0x89,
						      0x9e, 0x35, 0x91, 0x83};
			unsigned int opt = 1 + (unsigned)rnd_cmd(g, 3),
				     o = (unsigned)rnd_cmd(g, 256);

			out(g,
			    "%s report-opcodes lun=%u opt=%u op=0x%02x "
			    "sa=%u & expect any\n",
			    a, lun, opt, o < 128 ? ops[o % sizeof(ops)] : o,
			    (unsigned)rnd_cmd(g, 32));
			break;
		}
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
