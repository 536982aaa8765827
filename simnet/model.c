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
};

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
	/* Blocks a grow brings (back) read as zeros: the backstores zero
	 * them, whatever a shrink left there. */
	for (uint64_t i = m->blocks; i < blocks; i++) {
		free(m->b[i].w);
		memset(&m->b[i], 0, sizeof(m->b[i]));
		m->b[i].base_until = MODEL_NEVER;
	}
	m->blocks = blocks;
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

	for (uint32_t i = 0; i < count && lba + i < m->blocks; i++) {
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

		for (uint32_t k = 0; k < b->n; k++) {
			struct mw *w = &b->w[k];

			if (w->handle != handle)
				continue;
			if (outcome == 1) {
				b->w[k] = b->w[--b->n];
				break;
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
			break;
		}
		block_prune(b, horizon(m));
	}
	m->fl[f] = m->fl[--m->nfl];
}

void model_flush(struct model *m, uint64_t since)
{
	for (uint64_t i = 0; i < m->blocks; i++) {
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
}

bool model_check_read(struct model *m, uint64_t lba, uint64_t vid, uint64_t rs,
		      uint64_t re, char *why, size_t cap)
{
	struct mblock *b;
	uint64_t sup = 0; /* latest submit of a write acked before rs */
	int off = 0;

	if (lba >= m->blocks)
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

		if (w->vid != vid || w->submit > re)
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
