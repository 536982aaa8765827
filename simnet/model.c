/*
 * model.c — per-block register model of LUN contents (see model.h).
 *
 * Block contents for value id v at lba:
 *   v == 0                    all zeros (the initial disk)
 *   v >> 56 == 0xf1           every byte is (v & 0xff): a fill
 *   otherwise                 bytes 0-7 v (LE), 8-15 lba (LE), the rest a
 *                             stream from splitmix64(v ^ lba*K)
 * so a read both names the value it saw and proves it is whole.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "sim.h"

#define FILL_TAG 0xf1ull
#define DERIVED_TAG 0xf3ull /* an index into the model's derived values */

struct mw {
	uint64_t vid;
	uint64_t submit, ack; /* ack MODEL_NEVER: unknown or in flight */
	uint64_t handle;
	bool durable;
	bool pending; /* still in flight */
	/* applied or not, but if at all, before `ack` (MODEL_BOUNDED):
	 * it supersedes nothing and leaves the base possible */
	bool maybe;
};

struct mblock {
	uint64_t base;	     /* value before any listed write; MODEL_ANY */
	uint64_t base_until; /* base impossible for reads starting after */
	struct mw *w;
	uint32_t n, cap;
};

struct model {
	uint64_t blocks;
	uint64_t cap; /* blocks allocated in b (a shrink keeps them) */
	uint32_t bs;
	uint64_t clock;
	uint64_t next_handle;
	bool write_through;
	bool discard; /* model_set_discard */
	struct mblock *b;
	/* writes in flight: handle -> (lba, count) */
	struct inflight {
		uint64_t handle, lba;
		uint32_t count;
	} * fl;
	size_t nfl, capfl;
	uint64_t *rd; /* start stamps of reads in flight */
	size_t nrd, caprd;
	/* derived values (model_derive): id DERIVED_TAG << 56 | index */
	struct dval {
		uint64_t base, origin;
		uint8_t orb;
		/* a splice (model_splice): the first cut bytes of base at
		 * origin over the value under (an id of this model), which
		 * gives the rest; cut 0: no splice */
		uint64_t under;
		uint32_t cut;
	} * dv;
	size_t ndv, capdv;
	/* COMPARE AND WRITE supply of a value at a block (model_caw_*) */
	struct watch {
		uint64_t lba, vid;
		uint32_t supply, consumed;
	} * wt;
	size_t nwt, capwt;
};

static void grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 16;
	*p = realloc(*p, *cap * size);
	if (*p == NULL)
		abort();
}

/* A value of `vid` is written to lba (or may be): COMPARE AND WRITE
 * watches of it gain one. */
static void watch_supply(struct model *m, uint64_t lba, uint64_t vid)
{
	for (size_t i = 0; i < m->nwt; i++)
		if (m->wt[i].lba == lba &&
		    (m->wt[i].vid == vid || vid == MODEL_WILD))
			m->wt[i].supply++;
}

struct model *model_new(uint64_t blocks, uint32_t block_size)
{
	struct model *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	m->blocks = blocks;
	m->cap = blocks ? blocks : 1;
	m->bs = block_size;
	m->b = calloc(blocks ? blocks : 1, sizeof(*m->b));
	if (m->b == NULL)
		abort();
	for (uint64_t i = 0; i < blocks; i++)
		m->b[i].base_until = MODEL_NEVER;
	m->clock = 1;
	return m;
}

void model_free(struct model *m)
{
	if (m == NULL)
		return;
	for (uint64_t i = 0; i < m->cap; i++)
		free(m->b[i].w);
	free(m->b);
	free(m->fl);
	free(m->rd);
	free(m->dv);
	free(m->wt);
	free(m);
}

void model_resize(struct model *m, uint64_t blocks)
{
	if (blocks > m->cap) {
		struct mblock *b = realloc(m->b, blocks * sizeof(*b));

		if (b == NULL)
			abort();
		memset(b + m->cap, 0, (blocks - m->cap) * sizeof(*b));
		m->b = b;
		m->cap = blocks;
	}
	m->nwt = 0; /* supplies are no longer counted from the start */
	/* Blocks a grow brings (back) read as zeros: the backstores zero
	 * them, whatever a shrink left there.  While reads are in flight,
	 * one that took a block before the shrink may still send what it
	 * took (a RAM disk's read by reference, lane cold20: its bytes
	 * leave after the shrink and the grow): the zeros come as a write
	 * acknowledged now, over the block's history, instead of wiping
	 * it. */
	uint64_t old = m->blocks;

	for (uint64_t i = old; i < blocks; i++) {
		if (m->nrd > 0 && m->b[i].n > 0)
			continue;
		free(m->b[i].w);
		memset(&m->b[i], 0, sizeof(m->b[i]));
		m->b[i].base_until = MODEL_NEVER;
	}
	m->blocks = blocks;
	for (uint64_t i = old; m->nrd > 0 && i < blocks; i++) {
		static const uint64_t zero;
		uint64_t h;

		if (m->b[i].n == 0)
			continue;
		h = model_write_begin(m, i, 1, &zero, model_tick(m));
		model_write_end(m, h, 0, true, model_tick(m));
	}
}

uint64_t model_blocks(const struct model *m)
{
	return m->blocks;
}
uint32_t model_block_size(const struct model *m)
{
	return m->bs;
}
uint64_t model_tick(struct model *m)
{
	return m->clock++;
}
void model_set_write_through(struct model *m, bool on)
{
	m->write_through = on;
}

void model_read_begin(struct model *m, uint64_t stamp)
{
	if (m->nrd == m->caprd) {
		m->caprd = m->caprd ? m->caprd * 2 : 16;
		m->rd = realloc(m->rd, m->caprd * sizeof(*m->rd));
		if (m->rd == NULL)
			abort();
	}
	m->rd[m->nrd++] = stamp;
}

void model_read_end(struct model *m, uint64_t stamp)
{
	for (size_t i = 0; i < m->nrd; i++)
		if (m->rd[i] == stamp) {
			m->rd[i] = m->rd[--m->nrd];
			return;
		}
}

/* Reads that start from now on, and those in flight, start after... */
static uint64_t horizon(const struct model *m)
{
	uint64_t h = m->clock;

	for (size_t i = 0; i < m->nrd; i++)
		if (m->rd[i] < h)
			h = m->rd[i];
	return h;
}

/* Drop writes no read can see any more: X with X.ack < Y.submit for a
 * write Y acknowledged before every read in flight began. */
static void block_prune(struct mblock *b, uint64_t hz)
{
	uint64_t latest_known_submit = 0;
	bool any_ack = false;
	uint32_t k = 0;

	for (uint32_t i = 0; i < b->n; i++)
		if (b->w[i].ack != MODEL_NEVER && b->w[i].ack < hz &&
		    !b->w[i].maybe) {
			any_ack = true;
			if (b->w[i].submit > latest_known_submit)
				latest_known_submit = b->w[i].submit;
		}
	if (!any_ack)
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->w[i].ack != MODEL_NEVER &&
		    b->w[i].ack < latest_known_submit)
			continue; /* superseded for every future read */
		b->w[k++] = b->w[i];
	}
	b->n = k;
}

uint64_t model_write_begin(struct model *m, uint64_t lba, uint32_t count,
			   const uint64_t *vids, uint64_t stamp)
{
	uint64_t h = ++m->next_handle;

	/* A discarding LU (null) reads zeros whatever is written: its writes
	 * need no record per block (a WRITE SAME of 2^22 blocks would cost
	 * a record for each), only the handle in flight. */
	for (uint32_t i = 0; !m->discard && i < count && lba + i < m->blocks;
	     i++) {
		struct mblock *b = &m->b[lba + i];

		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 4;
			b->w = realloc(b->w, b->cap * sizeof(*b->w));
			if (b->w == NULL)
				abort();
		}
		b->w[b->n++] = (struct mw){.vid = m->discard ? 0 : vids[i],
					   .submit = stamp,
					   .ack = MODEL_NEVER,
					   .handle = h,
					   .pending = true};
		if (m->nwt)
			watch_supply(m, lba + i, vids[i]);
	}
	if (m->nfl == m->capfl) {
		m->capfl = m->capfl ? m->capfl * 2 : 16;
		m->fl = realloc(m->fl, m->capfl * sizeof(*m->fl));
		if (m->fl == NULL)
			abort();
	}
	m->fl[m->nfl++] = (struct inflight){h, lba, count};
	return h;
}

void model_write_end(struct model *m, uint64_t handle, int outcome,
		     bool durable, uint64_t stamp)
{
	size_t f;

	for (f = 0; f < m->nfl && m->fl[f].handle != handle; f++)
		;
	if (f == m->nfl)
		return;
	for (uint32_t i = 0; i < m->fl[f].count && m->fl[f].lba + i < m->blocks;
	     i++) {
		struct mblock *b = &m->b[m->fl[f].lba + i];

		/* Every record of the write (several where it may have
		 * written one of several values: model_write_set_alts). */
		for (uint32_t k = 0; k < b->n;) {
			struct mw *w = &b->w[k];

			if (w->handle != handle) {
				k++;
				continue;
			}
			if (outcome == 1) {
				b->w[k] = b->w[--b->n];
				continue;
			}
			w->pending = false;
			if (outcome == MODEL_BOUNDED) {
				w->ack = stamp;
				w->maybe = true;
			} else if (outcome == 0) {
				w->ack = stamp;
				w->durable = durable || m->write_through;
				if (b->base_until == MODEL_NEVER ||
				    stamp < b->base_until)
					b->base_until = stamp;
			}
			k++;
		}
		block_prune(b, horizon(m));
	}
	m->fl[f] = m->fl[--m->nfl];
}

void model_flush(struct model *m, uint64_t since)
{
	model_flush_range(m, since, 0, 0);
}

void model_flush_range(struct model *m, uint64_t since, uint64_t lba,
		       uint64_t count)
{
	uint64_t end = count == 0 || count > m->blocks - lba ? m->blocks
							     : lba + count;

	if (lba >= m->blocks)
		return;
	for (uint64_t i = lba; i < end; i++) {
		struct mblock *b = &m->b[i];

		for (uint32_t k = 0; k < b->n; k++)
			if (b->w[k].ack != MODEL_NEVER && b->w[k].ack < since &&
			    !b->w[k].maybe) /* it may never have landed */
				b->w[k].durable = true;
	}
}

void model_set_discard(struct model *m, bool on)
{
	m->discard = on;
}

void model_wipe(struct model *m)
{
	uint64_t blocks = m->blocks;

	/* A grow brings blocks back as zeros (model_resize). */
	model_resize(m, 0);
	model_resize(m, blocks);
}

void model_crash(struct model *m)
{
	for (uint64_t i = 0; i < m->blocks; i++) {
		struct mblock *b = &m->b[i];
		bool all_durable = true;
		uint64_t newest_durable_submit = 0;
		bool have_durable = false;
		uint32_t k = 0;

		for (uint32_t j = 0; j < b->n; j++)
			if (b->w[j].durable) {
				have_durable = true;
				if (b->w[j].submit > newest_durable_submit)
					newest_durable_submit = b->w[j].submit;
			}
		/* Candidates: writes not superseded by a durable write. */
		for (uint32_t j = 0; j < b->n; j++) {
			struct mw *w = &b->w[j];

			if (have_durable && w->ack != MODEL_NEVER &&
			    w->ack < newest_durable_submit)
				continue;
			if (!w->durable)
				all_durable = false;
			w->pending = false;
			b->w[k++] = *w;
		}
		b->n = k;
		if (!have_durable && b->base_until != MODEL_NEVER)
			all_durable = false; /* acked, lost: base or torn */
		if (!all_durable) {
			b->n = 0;
			b->base = MODEL_ANY;
			b->base_until = MODEL_NEVER;
		}
	}
	m->nfl = 0;
	m->nwt = 0;
}

bool model_check_read(struct model *m, uint64_t lba, uint64_t vid, uint64_t rs,
		      uint64_t re, char *why, size_t cap)
{
	struct mblock *b;
	uint64_t sup = 0; /* latest submit of a write acked before rs */
	int off = 0;

	/* Past a shrunk end the blocks keep their history (m->cap): a read
	 * in flight across the shrink may have taken them (a RAM disk's
	 * read by reference, lane cold20) */
	if (lba >= m->cap)
		return true;
	b = &m->b[lba];
	if (b->base == MODEL_ANY)
		return true;
	for (uint32_t i = 0; i < b->n; i++)
		if (b->w[i].ack != MODEL_NEVER && b->w[i].ack < rs &&
		    !b->w[i].maybe && b->w[i].submit > sup)
			sup = b->w[i].submit;
	if (vid == b->base && b->base_until >= rs)
		return true;
	for (uint32_t i = 0; i < b->n; i++) {
		struct mw *w = &b->w[i];

		if ((w->vid != vid && w->vid != MODEL_WILD) || w->submit > re)
			continue;
		if (w->ack != MODEL_NEVER && w->ack < sup)
			continue;
		return true;
	}
	off = snprintf(why, cap, "lba %llu: read value %016llx, allowed:",
		       (unsigned long long)lba, (unsigned long long)vid);
	if (b->base_until >= rs && off > 0 && (size_t)off < cap)
		off += snprintf(why + off, cap - (size_t)off, " %016llx(base)",
				(unsigned long long)b->base);
	for (uint32_t i = 0; i < b->n && off > 0 && (size_t)off < cap; i++) {
		struct mw *w = &b->w[i];

		if (w->submit > re || (w->ack != MODEL_NEVER && w->ack < sup))
			continue;
		off += snprintf(why + off, cap - (size_t)off, " %016llx%s",
				(unsigned long long)w->vid,
				w->durable ? "(durable)" : "");
	}
	return false;
}

int model_atomic_side(struct model *m, uint64_t lba, uint64_t vid, uint64_t rs,
		      uint64_t re, uint64_t handle)
{
	struct mblock *b;
	const struct mw *own = NULL;
	uint64_t sup = 0;
	bool any = false, all_before = true, others = false;

	if (lba >= m->blocks || vid == MODEL_WILD)
		return 0;
	b = &m->b[lba];
	if (b->base == MODEL_ANY)
		return 0;
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->w[i].handle == handle)
			own = &b->w[i];
		if (b->w[i].ack != MODEL_NEVER && b->w[i].ack < rs &&
		    !b->w[i].maybe && b->w[i].submit > sup)
			sup = b->w[i].submit;
	}
	if (own == NULL || own->vid == MODEL_WILD)
		return 0;
	/* Every explanation of vid over [rs, re] (as model_check_read
	 * allows them): the base, which is older than every listed write,
	 * and the records of that value. */
	if (b->base_until >= rs && b->base == vid) {
		any = true;
		others = true;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		const struct mw *w = &b->w[i];

		if (w->vid == MODEL_WILD && w->submit <= re)
			return 0; /* any value, of unknown order */
		if (w->vid != vid || w->submit > re ||
		    (w->ack != MODEL_NEVER && w->ack < sup))
			continue;
		any = true;
		if (w->handle == handle)
			continue;
		others = true;
		/* before the atomic write for certain: acknowledged (or
		 * bounded) before it was submitted */
		if (w->ack == MODEL_NEVER || w->ack >= own->submit)
			all_before = false;
	}
	if (!any)
		return 0;
	if (vid == own->vid)
		return others ? 0 : 1;
	return all_before ? -1 : 0;
}

int model_candidates(struct model *m, uint64_t lba, uint64_t rs, uint64_t re,
		     uint64_t skip, uint64_t *out, int max)
{
	struct mblock *b;
	uint64_t sup = 0;
	int n = 0;

	if (lba >= m->cap)
		return -1;
	b = &m->b[lba];
	if (b->base == MODEL_ANY)
		return -1;
	/* As model_check_read: a write bounded by its answer (MODEL_BOUNDED:
	 * landed before it or never) supersedes nothing. */
	for (uint32_t i = 0; i < b->n; i++)
		if (b->w[i].ack != MODEL_NEVER && b->w[i].ack < rs &&
		    !b->w[i].maybe && b->w[i].submit > sup)
			sup = b->w[i].submit;
	if (b->base_until >= rs) {
		if (max < 1)
			return -1;
		out[n++] = b->base;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		const struct mw *w = &b->w[i];
		bool dup = false;

		if (w->handle == skip || w->submit > re ||
		    (w->ack != MODEL_NEVER && w->ack < sup))
			continue;
		if (w->vid == MODEL_WILD)
			return -1;
		for (int k = 0; k < n && !dup; k++)
			dup = out[k] == w->vid;
		if (dup)
			continue;
		if (n == max)
			return -1;
		out[n++] = w->vid;
	}
	return n;
}

void model_write_set_alts(struct model *m, uint64_t handle, uint64_t lba,
			  const uint64_t *vals, int n)
{
	struct mblock *b;
	uint32_t k;

	if (lba >= m->blocks || n <= 0)
		return;
	b = &m->b[lba];
	for (k = 0; k < b->n; k++)
		if (b->w[k].handle == handle && b->w[k].vid == MODEL_WILD)
			break;
	if (k == b->n)
		return;
	b->w[k].vid = vals[0];
	if (m->nwt)
		watch_supply(m, lba, vals[0]);
	for (int i = 1; i < n; i++) {
		struct mw w = b->w[k];

		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 4;
			b->w = realloc(b->w, b->cap * sizeof(*b->w));
			if (b->w == NULL)
				abort();
		}
		w.vid = vals[i];
		b->w[b->n++] = w;
		if (m->nwt)
			watch_supply(m, lba, vals[i]);
	}
}

bool model_range_quiet(struct model *m, uint64_t lba, uint32_t count,
		       uint64_t handle, uint64_t rs, uint64_t re)
{
	for (uint32_t i = 0; i < count && lba + i < m->blocks; i++) {
		const struct mblock *b = &m->b[lba + i];

		if (b->base == MODEL_ANY)
			return false;
		for (uint32_t k = 0; k < b->n; k++) {
			const struct mw *w = &b->w[k];

			if (w->handle == handle || w->submit > re)
				continue;
			if (w->ack == MODEL_NEVER || w->ack >= rs)
				return false;
		}
	}
	return true;
}

void model_caw_watch(struct model *m, uint64_t lba, uint64_t vid)
{
	const struct mblock *b;
	struct watch *w;

	if (lba >= m->blocks)
		return;
	for (size_t i = 0; i < m->nwt; i++)
		if (m->wt[i].lba == lba && m->wt[i].vid == vid)
			return;
	b = &m->b[lba];
	grow((void **)&m->wt, &m->capwt, m->nwt, sizeof(*m->wt));
	w = &m->wt[m->nwt++];
	*w = (struct watch){.lba = lba, .vid = vid};
	/* What the block may hold now or in flight: every listed record
	 * of vid, and the base.  Over-counting only makes it lenient. */
	if (b->base == vid || b->base == MODEL_ANY)
		w->supply++;
	for (uint32_t k = 0; k < b->n; k++)
		if (b->w[k].vid == vid || b->w[k].vid == MODEL_WILD)
			w->supply++;
}

bool model_caw_consume(struct model *m, uint64_t lba, uint64_t vid)
{
	for (size_t i = 0; i < m->nwt; i++) {
		struct watch *w = &m->wt[i];

		if (w->lba == lba && w->vid == vid)
			return ++w->consumed <= w->supply;
	}
	return true; /* not watched (a crash or resize since) */
}

uint64_t model_fill_vid(uint8_t b)
{
	return b == 0 ? 0 : (FILL_TAG << 56 | b);
}

int model_fill_byte(uint64_t vid)
{
	if (vid == 0)
		return 0;
	return vid >> 56 == FILL_TAG ? (int)(vid & 0xff) : -1;
}

uint64_t model_derive(struct model *m, const struct model *from, uint64_t vid,
		      uint64_t origin, uint64_t lba, uint8_t or_byte)
{
	int f = model_fill_byte(vid);

	if (vid >> 56 == DERIVED_TAG && (vid & 0xffffffffull) < from->ndv) {
		const struct dval *d = &from->dv[vid & 0xffffffffull];

		/* A splice's bytes are the same wherever they go: in its
		 * own model it stays itself; ORed or into another model it
		 * is not modelled, and may be anything. */
		if (d->cut != 0)
			return m == from && or_byte == 0 ? vid : MODEL_WILD;
		return model_derive(m, from, d->base, d->origin, lba,
				    (uint8_t)(d->orb | or_byte));
	}
	if (f >= 0)
		return model_fill_vid((uint8_t)(f | or_byte));
	if (or_byte == 0xff)
		return model_fill_vid(0xff);
	if (vid >= MODEL_FOREIGN)
		return vid;
	if (origin == lba && or_byte == 0)
		return vid;
	for (size_t i = 0; i < m->ndv; i++)
		if (m->dv[i].base == vid && m->dv[i].origin == origin &&
		    m->dv[i].orb == or_byte && m->dv[i].cut == 0)
			return DERIVED_TAG << 56 | i;
	grow((void **)&m->dv, &m->capdv, m->ndv, sizeof(*m->dv));
	m->dv[m->ndv] = (struct dval){vid, origin, or_byte, 0, 0};
	return DERIVED_TAG << 56 | m->ndv++;
}

uint64_t model_splice(struct model *m, uint64_t vid, uint64_t under,
		      uint64_t lba, uint32_t cut)
{
	if (cut == 0 || under == MODEL_WILD || under >= MODEL_FOREIGN)
		return cut == 0 ? under : MODEL_WILD;
	if (cut >= m->bs || under == vid)
		return vid;
	for (size_t i = 0; i < m->ndv; i++)
		if (m->dv[i].cut == cut && m->dv[i].base == vid &&
		    m->dv[i].under == under && m->dv[i].origin == lba)
			return DERIVED_TAG << 56 | i;
	grow((void **)&m->dv, &m->capdv, m->ndv, sizeof(*m->dv));
	m->dv[m->ndv] = (struct dval){vid, lba, 0, under, cut};
	return DERIVED_TAG << 56 | m->ndv++;
}

void model_fill_m(const struct model *m, uint64_t vid, uint64_t lba,
		  uint8_t *buf, uint32_t bs)
{
	const struct dval *d;

	if (vid >> 56 != DERIVED_TAG || (vid & 0xffffffffull) >= m->ndv) {
		model_fill(vid, lba, buf, bs);
		return;
	}
	d = &m->dv[vid & 0xffffffffull];
	if (d->cut != 0) {
		uint8_t *head = malloc(d->cut);

		if (head == NULL)
			abort();
		model_fill(d->base, d->origin, buf, bs);
		memcpy(head, buf, d->cut);
		model_fill_m(m, d->under, d->origin, buf, bs);
		memcpy(buf, head, d->cut);
		free(head);
		return;
	}
	model_fill(d->base, d->origin, buf, bs);
	for (uint32_t i = 0; i < bs && d->orb; i++)
		buf[i] |= d->orb;
}

bool model_decode_m(const struct model *m, const uint8_t *buf, uint64_t lba,
		    uint32_t bs, uint64_t *vid)
{
	uint64_t v, origin;
	uint8_t *tmp;
	bool found = false;

	if (model_decode(buf, lba, bs, vid))
		return true;
	/* A whole value written at another LBA (moved by EXTENDED COPY). */
	memcpy(&v, buf, 8);
	memcpy(&origin, buf + 8, 8);
	if (origin != lba && model_decode(buf, origin, bs, vid)) {
		for (size_t i = 0; i < m->ndv; i++)
			if (m->dv[i].base == *vid &&
			    m->dv[i].origin == origin && m->dv[i].orb == 0) {
				*vid = DERIVED_TAG << 56 | i;
				return true;
			}
		*vid = MODEL_FOREIGN;
		return true;
	}
	/* A value ORed with a byte (ORWRITE), or a splice (a WRITE cut
	 * inside a block). */
	tmp = malloc(bs);
	if (tmp == NULL)
		abort();
	for (size_t i = 0; i < m->ndv && !found; i++) {
		if (m->dv[i].orb == 0 && m->dv[i].cut == 0)
			continue;
		model_fill_m(m, DERIVED_TAG << 56 | i, lba, tmp, bs);
		if (memcmp(tmp, buf, bs) == 0) {
			*vid = DERIVED_TAG << 56 | i;
			found = true;
		}
	}
	free(tmp);
	return found;
}

/* ------------------------------------------------------ block bytes */

void model_fill(uint64_t vid, uint64_t lba, uint8_t *buf, uint32_t bs)
{
	uint64_t st;

	if (vid == 0) {
		memset(buf, 0, bs);
		return;
	}
	if (vid >> 56 == FILL_TAG) {
		memset(buf, (int)(vid & 0xff), bs);
		return;
	}
	memcpy(buf, &vid, 8);
	memcpy(buf + 8, &lba, 8);
	st = vid ^ (lba * 0x9e3779b97f4a7c15ull);
	for (uint32_t i = 16; i + 8 <= bs; i += 8) {
		uint64_t r = sim_splitmix64(&st);

		memcpy(buf + i, &r, 8);
	}
}

bool model_decode(const uint8_t *buf, uint64_t lba, uint32_t bs, uint64_t *vid)
{
	uint64_t v, l, st;
	bool same = true;

	for (uint32_t i = 1; i < bs && same; i++)
		same = buf[i] == buf[0];
	if (same) {
		*vid = buf[0] == 0 ? 0 : (FILL_TAG << 56 | buf[0]);
		return true;
	}
	memcpy(&v, buf, 8);
	memcpy(&l, buf + 8, 8);
	if (l != lba || v == 0 || v >> 56 == FILL_TAG)
		return false;
	st = v ^ (lba * 0x9e3779b97f4a7c15ull);
	for (uint32_t i = 16; i + 8 <= bs; i += 8) {
		uint64_t r = sim_splitmix64(&st);

		if (memcmp(buf + i, &r, 8) != 0)
			return false;
	}
	*vid = v;
	return true;
}

uint64_t model_vid(const char *name)
{
	char *end;

	if (strcmp(name, "zero") == 0 || strcmp(name, "zeros") == 0)
		return 0;
	if (name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
		unsigned long v = strtoul(name, &end, 16);

		if (*end == '\0' && v <= 0xff)
			return v == 0 ? 0 : (FILL_TAG << 56 | v);
	}
	/* Names hash into ids below the fill tag and never 0. */
	return (sim_hash_str(name) & 0x00ffffffffffffffull) | 1;
}

uint64_t model_horizon(const struct model *m)
{
	return horizon(m);
}
