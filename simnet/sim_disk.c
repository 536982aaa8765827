/*
 * sim_disk.c — the simulated disk behind BS_SIM, in the role SQLite's
 * test6.c plays for its VFS: a write cache that loses, keeps or tears
 * what was not made durable when the power goes.
 *
 * An image is named (the device name), so a restarted target that opens
 * the same name gets the same durable contents back.  It is stored sparse
 * in 64 KiB chunks, each with
 *
 *   durable   what survives a crash (NULL: zeros);
 *   cur       what reads see now (NULL: same as durable);
 *   dirty_gen per 512-byte sector, the write generation that made it
 *             differ from durable (0: clean).
 *
 * Durable (SBC-4 §4.12, SYNCHRONIZE CACHE and FUA): a write completed with
 * BS_F_FUA, a write covered by a completed FLUSH (one that completed before
 * the flush was submitted), or any write when the write cache is off.
 * Completions are events, never inside submit.
 *
 * With the daemon's --zero-copy and --send-file (sim_set_zero_copy,
 * sim_set_send_file) a READ of SIM_REF_MIN_BYTES or more asked for by
 * reference (BS_F_MAY_REF) completes with one (struct bs_ref), as
 * env_real's file backstore answers from the page cache: its fd is the
 * disk's "file" (SIM_FD_BASE + the disk's number) at the read's offset,
 * and the environment's conn_send_file (sim_net.c) takes the bytes from
 * the disk's cached view when it accepts them -- a write landing after
 * the completion shows, as it does through sendfile(2).  Its mem holds
 * the bytes of the completion (a copy: the cached view is in chunks),
 * for a transport that sends from memory after all.  Every reference is
 * listed until released, once; sending from a range no live reference
 * covers fails an assertion (the file may be gone), and one left at the
 * end is a leak (sim->live_refs, the scenarios' leak check).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "sim.h"
#include "ut_assert.h"

#define CHUNK_BYTES (64u * 1024u)
#define SECTOR 512u
#define SECTORS_PER_CHUNK (CHUNK_BYTES / SECTOR)
/* as env_real's ER_ZC_MIN_BYTES: smaller reads copy */
#define SIM_REF_MIN_BYTES (64u * 1024u)
#define SIM_FD_BASE 1000
#define SIM_REF_LIVE 0x5e0df11eu
#define SIM_REF_DEAD 0xdeadf11eu

struct chunk {
	uint8_t *durable;
	uint8_t *cur;
	uint64_t dirty_gen[SECTORS_PER_CHUNK];
	uint32_t ndirty;
};

struct sim_io;
TAILQ_HEAD(io_list, sim_io);

struct sim_disk {
	struct sim *sim;
	char name[64];
	uint64_t size_bytes;
	uint32_t block_size;
	struct chunk **chunks;
	size_t nchunks;
	struct sim_disk_cfg cfg;
	uint64_t gen;
	uint64_t dirty_sectors;
	uint32_t opens;
	int fd; /* its "file" for references: SIM_FD_BASE + its number */
	TAILQ_ENTRY(sim_disk) link;
};
TAILQ_HEAD(disk_list, sim_disk);

/* A READ's answer by reference (--zero-copy with --send-file). */
struct sim_ref {
	struct bs_ref ref;
	struct sim *sim;
	struct sim_disk *d;
	uint32_t magic; /* SIM_REF_LIVE until released */
	TAILQ_ENTRY(sim_ref) link;
	uint8_t snap[]; /* the bytes at the completion (ref.mem) */
};
TAILQ_HEAD(ref_list, sim_ref);

struct sim_disks {
	struct disk_list list;
	struct ref_list refs; /* not yet released */
	uint32_t pending;     /* requests in flight, all devices */
	int ndisks;
};

struct sim_bs {
	struct bs_dev dev;
	struct sim_disk *d;
	struct io_list pending;
	bool refs_on; /* READs by reference (bs_ref with an fd) */
};

struct sim_io {
	struct sim_ev ev;
	struct sim_bs *bs;
	struct bs_req *req;
	/* What the request asked, kept at submission as a device keeps its
	 * command: a close with the request in flight reads this, never
	 * *req, which the target may have freed by then (iscsi_server_free
	 * frees the abandoned sessions' tasks before it closes the LUs). */
	struct bs_req asked;
	int status;
	int reactor;	  /* the submitter's: the completion runs there */
	bool land_anyway; /* timed out, applied all the same */
	uint64_t flush_gen;
	uint8_t *wdata;
	TAILQ_ENTRY(sim_io) link;
};

static const char *const op_names[] = {"READ",
				       "WRITE",
				       "FLUSH",
				       "UNMAP",
				       "WRITE_ZEROES",
				       "WRITE_SAME",
				       "COMPARE_AND_WRITE"};

/* ------------------------------------------------------------ image */

static struct sim_disks *disks(struct sim *sim)
{
	if (sim->disks == NULL) {
		sim->disks = calloc(1, sizeof(*sim->disks));
		if (sim->disks == NULL)
			abort();
		TAILQ_INIT(&sim->disks->list);
		TAILQ_INIT(&sim->disks->refs);
	}
	return sim->disks;
}

struct sim_disk *sim_disk_find(struct sim *sim, const char *name)
{
	struct sim_disk *d;

	TAILQ_FOREACH (d, &disks(sim)->list, link)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static void disk_default_cfg(struct sim_disk_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->lat_min_ns = 20 * SIM_NS_PER_US;
	c->lat_max_ns = 100 * SIM_NS_PER_US;
	c->write_cache = true;
	c->crash_keep = 0.4;
	c->crash_tear = 0.2;
}

struct sim_disk *sim_disk_get(struct sim *sim, const char *name,
			      uint64_t size_bytes, uint32_t block_size)
{
	struct sim_disk *d = sim_disk_find(sim, name);

	if (d != NULL)
		return d;
	if (size_bytes == 0)
		size_bytes = 64ull << 20;
	if (block_size == 0)
		block_size = 512;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	d->sim = sim;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->size_bytes = size_bytes / block_size * block_size;
	d->block_size = block_size;
	d->nchunks = (size_t)((d->size_bytes + CHUNK_BYTES - 1) / CHUNK_BYTES);
	d->chunks = calloc(d->nchunks ? d->nchunks : 1, sizeof(*d->chunks));
	if (d->chunks == NULL)
		abort();
	disk_default_cfg(&d->cfg);
	d->fd = SIM_FD_BASE + disks(sim)->ndisks++;
	TAILQ_INSERT_TAIL(&disks(sim)->list, d, link);
	return d;
}

struct sim_disk_cfg *sim_disk_cfg(struct sim_disk *d)
{
	return &d->cfg;
}

uint64_t sim_disk_dirty_sectors(const struct sim_disk *d)
{
	return d->dirty_sectors;
}

static struct chunk *chunk_get(struct sim_disk *d, size_t ci)
{
	if (d->chunks[ci] == NULL) {
		d->chunks[ci] = calloc(1, sizeof(struct chunk));
		if (d->chunks[ci] == NULL)
			abort();
	}
	return d->chunks[ci];
}

static uint8_t *buf_zalloc(void)
{
	uint8_t *p = calloc(1, CHUNK_BYTES);

	if (p == NULL)
		abort();
	return p;
}

/* The cached view of a chunk, created from durable on first write. */
static uint8_t *chunk_cur(struct chunk *c)
{
	if (c->cur == NULL) {
		c->cur = buf_zalloc();
		if (c->durable != NULL)
			memcpy(c->cur, c->durable, CHUNK_BYTES);
	}
	return c->cur;
}

static void sector_persist(struct sim_disk *d, struct chunk *c, unsigned s,
			   size_t keep_bytes)
{
	if (c->durable == NULL)
		c->durable = buf_zalloc();
	memcpy(c->durable + s * SECTOR, c->cur + s * SECTOR, keep_bytes);
	if (c->dirty_gen[s] != 0) {
		c->dirty_gen[s] = 0;
		c->ndirty--;
		d->dirty_sectors--;
	}
}

/* Copy [off, off+len) of the cached view out (reads, peeks). */
static void disk_read(struct sim_disk *d, uint64_t off, uint8_t *dst,
		      uint64_t len)
{
	while (len > 0) {
		size_t ci = (size_t)(off / CHUNK_BYTES);
		uint32_t co = (uint32_t)(off % CHUNK_BYTES);
		uint64_t n = CHUNK_BYTES - co;
		struct chunk *c = d->chunks[ci];
		const uint8_t *src = c == NULL ? NULL
				     : c->cur  ? c->cur
					       : c->durable;

		if (n > len)
			n = len;
		if (src != NULL)
			memcpy(dst, src + co, n);
		else
			memset(dst, 0, n);
		dst += n;
		off += n;
		len -= n;
	}
}

/* Apply data (NULL: zeros) at [off, off+len); durable or dirty. */
static void disk_write(struct sim_disk *d, uint64_t off, const uint8_t *src,
		       uint64_t len, bool durable)
{
	uint64_t gen = ++d->gen;

	while (len > 0) {
		size_t ci = (size_t)(off / CHUNK_BYTES);
		uint32_t co = (uint32_t)(off % CHUNK_BYTES);
		uint64_t n = CHUNK_BYTES - co;
		struct chunk *c = chunk_get(d, ci);
		uint8_t *cur = chunk_cur(c);

		if (n > len)
			n = len;
		if (src != NULL) {
			memcpy(cur + co, src, n);
			src += n;
		} else {
			memset(cur + co, 0, n);
		}
		for (unsigned s = co / SECTOR;
		     s < (co + n + SECTOR - 1) / SECTOR; s++) {
			if (durable) {
				sector_persist(d, c, s, SECTOR);
				continue;
			}
			if (c->dirty_gen[s] == 0) {
				c->ndirty++;
				d->dirty_sectors++;
				c->dirty_gen[s] = gen;
			}
		}
		off += n;
		len -= n;
	}
}

/* Make durable every sector dirtied by a write of generation <= upto. */
static void disk_flush(struct sim_disk *d, uint64_t upto)
{
	for (size_t ci = 0; ci < d->nchunks; ci++) {
		struct chunk *c = d->chunks[ci];

		if (c == NULL || c->ndirty == 0)
			continue;
		for (unsigned s = 0; s < SECTORS_PER_CHUNK; s++)
			if (c->dirty_gen[s] != 0 && c->dirty_gen[s] <= upto)
				sector_persist(d, c, s, SECTOR);
	}
}

void sim_disk_peek(struct sim_disk *d, uint64_t off, void *buf, size_t len)
{
	disk_read(d, off, buf, len);
}

/* Power loss: each dirty sector is lost, kept, or torn (a random prefix
 * of it reaches the medium), in chunk and sector order. */
static void disk_crash(struct sim_disk *d)
{
	struct sim *sim = d->sim;
	uint64_t lost = 0, kept = 0, torn = 0;

	for (size_t ci = 0; ci < d->nchunks; ci++) {
		struct chunk *c = d->chunks[ci];

		if (c == NULL)
			continue;
		for (unsigned s = 0; c->ndirty > 0 && s < SECTORS_PER_CHUNK;
		     s++) {
			double r;

			if (c->dirty_gen[s] == 0)
				continue;
			r = (double)(sim_rand(sim) >> 11) * 0x1.0p-53;
			if (r < d->cfg.crash_keep) {
				sector_persist(d, c, s, SECTOR);
				kept++;
			} else if (r < d->cfg.crash_keep + d->cfg.crash_tear) {
				sector_persist(d, c, s,
					       (size_t)sim_rand_range(
						       sim, 1, SECTOR - 1));
				torn++;
			} else {
				c->dirty_gen[s] = 0;
				c->ndirty--;
				d->dirty_sectors--;
				lost++;
			}
		}
		free(c->cur);
		c->cur = NULL;
	}
	ut_assert(d->dirty_sectors == 0);
	sim_hash_u64(sim, lost << 40 ^ kept << 20 ^ torn);
	SIM_TRACE(sim, "disk %s crash: %llu sectors lost, %llu kept, %llu torn",
		  d->name, (unsigned long long)lost, (unsigned long long)kept,
		  (unsigned long long)torn);
}

void sim_disk_crash_all(struct sim *sim)
{
	struct sim_disk *d;

	TAILQ_FOREACH (d, &disks(sim)->list, link)
		disk_crash(d);
}

void sim_disks_free(struct sim *sim)
{
	struct sim_disk *d;

	struct sim_ref *r;

	if (sim->disks == NULL)
		return;
	/* references the target never released (the leak check said so) */
	while ((r = TAILQ_FIRST(&sim->disks->refs)) != NULL) {
		TAILQ_REMOVE(&sim->disks->refs, r, link);
		free(r);
	}
	while ((d = TAILQ_FIRST(&sim->disks->list)) != NULL) {
		TAILQ_REMOVE(&sim->disks->list, d, link);
		for (size_t i = 0; i < d->nchunks; i++) {
			if (d->chunks[i] == NULL)
				continue;
			free(d->chunks[i]->durable);
			free(d->chunks[i]->cur);
			free(d->chunks[i]);
		}
		free(d->chunks);
		free(d);
	}
	free(sim->disks);
	sim->disks = NULL;
}

uint32_t sim_disk_pending(const struct sim *sim)
{
	return sim->disks ? sim->disks->pending : 0;
}

/* ---------------------------------------------------------- requests */

static bool fault_hits(struct sim_disk *d, const struct bs_req *req)
{
	uint64_t first = req->offset_bytes / d->block_size;
	uint64_t last = req->length_bytes
				? (req->offset_bytes + req->length_bytes - 1) /
					  d->block_size
				: first;

	for (unsigned int i = 0; i < d->cfg.fault_count; i++) {
		struct sim_disk_fault *f = &d->cfg.faults[i];

		if ((f->ops & (1u << req->op)) == 0 || f->count == 0)
			continue;
		if (req->op != BS_OP_FLUSH &&
		    (last < f->lba_first || first > f->lba_last))
			continue;
		if (!sim_chance(d->sim, f->prob))
			continue;
		if (f->count > 0)
			f->count--;
		return true;
	}
	return false;
}

/* An exponential draw of mean mean_ns, capped at 20 means: the long tail
 * of a remote store.  -ln(u) for u uniform in (0, 1], with log2 from the
 * bit length and a linear fraction (within 9%; no libm, and the same bits
 * on every machine). */
static uint64_t exp_draw(struct sim *sim, uint64_t mean_ns)
{
	uint64_t u = sim_rand_range(sim, 1, 1u << 20);
	unsigned int hi = 63u - (unsigned int)__builtin_clzll(u);
	/* log2(u) ~ hi + (u - 2^hi) / 2^hi, in 1/1024 units */
	uint64_t log2_u =
		((uint64_t)hi << 10) + (((u - (1ull << hi)) << 10) >> hi);
	uint64_t x_milli = ((20ull << 10) - log2_u) * 693 / 1024; /* ln 2 */

	if (x_milli > 20000)
		x_milli = 20000;
	return mean_ns / 1000 * x_milli;
}

static uint64_t io_latency(struct sim_disk *d)
{
	uint64_t lat =
		sim_rand_range(d->sim, d->cfg.lat_min_ns, d->cfg.lat_max_ns);

	if (d->cfg.lat_slow_ns > 0 && sim_chance(d->sim, d->cfg.slow_prob))
		lat += d->cfg.lat_slow_ns;
	/* No draw without a tail: runs without remote faults replay as
	 * before. */
	if (d->cfg.tail_ns > 0 && sim_chance(d->sim, d->cfg.tail_prob))
		lat += exp_draw(d->sim, d->cfg.tail_ns);
	return lat;
}

/* When the request answers, as a remote store would: after the store's
 * absence, or at the timeout. */
static uint64_t io_remote_time(struct sim_disk *d, struct sim_io *io,
			       uint64_t lat)
{
	const struct sim_disk_cfg *c = &d->cfg;
	uint64_t now = d->sim->now_ns;

	if (now >= c->away_from_ns && now < c->away_until_ns) {
		if (c->away_fenced) {
			io->status = -ENOTCONN;
			return lat;
		}
		lat += c->away_until_ns - now;
	}
	if (c->timeout_ns > 0 && lat > c->timeout_ns && io->status == 0) {
		io->status = -ETIMEDOUT;
		/* The OSD may have got the write before the client gave up:
		 * then it lands (at the timeout, keeping order with later
		 * writes), else never. */
		io->land_anyway = sim_chance(d->sim, 0.5);
		return c->timeout_ns;
	}
	return lat;
}

static void iov_copy_out(const struct iovec *iov, int iovcnt, uint8_t *dst,
			 uint64_t len)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		uint64_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(dst, iov[i].iov_base, n);
		dst += n;
		len -= n;
	}
}

static void iov_copy_in(const struct iovec *iov, int iovcnt, const uint8_t *src,
			uint64_t len)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		uint64_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, src, n);
		src += n;
		len -= n;
	}
}

static void land(struct sim_disk *d, uint64_t off, const uint8_t *data,
		 uint64_t len)
{
	if (d->sim->land != NULL)
		d->sim->land(d->sim->land_ctx, d->name, off, data, len);
}

/* A native WRITE SAME: the one block (wdata) over the range. */
static void ws_apply(struct sim_disk *d, struct sim_io *io, bool durable)
{
	const struct bs_req *req = io->req;

	for (uint64_t o = 0; o < req->length_bytes; o += d->block_size) {
		disk_write(d, req->offset_bytes + o, io->wdata, d->block_size,
			   durable);
		land(d, req->offset_bytes + o, io->wdata, d->block_size);
	}
}

/* A native COMPARE AND WRITE, in one instant: wdata holds the verify
 * data then the write data.  A difference fails it with -EILSEQ and the
 * offset of the first differing byte (req->miscompare_bytes), nothing
 * written.  tell: report the landing (not for a crash's leftovers, as
 * for plain writes). */
static int caw_apply(struct sim_disk *d, struct sim_io *io, bool durable,
		     bool tell)
{
	struct bs_req *req = io->req;
	uint64_t len = req->length_bytes, at = 0;
	uint8_t *cur = malloc(len ? len : 1);

	if (cur == NULL)
		abort();
	disk_read(d, req->offset_bytes, cur, len);
	while (at < len && cur[at] == io->wdata[at])
		at++;
	free(cur);
	if (at < len) {
		req->miscompare_bytes = at;
		return -EILSEQ;
	}
	disk_write(d, req->offset_bytes, io->wdata + len, len, durable);
	if (tell)
		land(d, req->offset_bytes, io->wdata + len, len);
	return 0;
}

static void sim_ref_release(struct bs_ref *ref)
{
	struct sim_ref *r = SIM_CONTAINER_OF(ref, struct sim_ref, ref);
	struct sim *sim = r->sim;

	/* released once, by whoever held it last */
	ut_assert(r->magic == SIM_REF_LIVE);
	ut_assert(sim->live_refs > 0);
	r->magic = SIM_REF_DEAD;
	TAILQ_REMOVE(&sim->disks->refs, r, link);
	sim->live_refs--;
	SIM_TRACE(sim, "disk %s reference lba %llu+%llu released", r->d->name,
		  (unsigned long long)(r->ref.fd_off / r->d->block_size),
		  (unsigned long long)(r->ref.length_bytes / r->d->block_size));
	free(r);
}

/* A READ answered by reference (sim_bs.refs_on, BS_F_MAY_REF, large
 * enough); false: it copies. */
static bool read_by_ref(struct sim_bs *bs, struct bs_req *req)
{
	struct sim_disk *d = bs->d;
	struct sim *sim = d->sim;
	struct sim_ref *r;

	ut_assert(req->op == BS_OP_READ && req->ref == NULL);
	if (!bs->refs_on || !(req->flags & BS_F_MAY_REF) ||
	    req->length_bytes < SIM_REF_MIN_BYTES)
		return false;
	r = calloc(1, sizeof(*r) + req->length_bytes);
	if (r == NULL)
		abort();
	r->sim = sim;
	r->d = d;
	r->magic = SIM_REF_LIVE;
	disk_read(d, req->offset_bytes, r->snap, req->length_bytes);
	r->ref.mem = r->snap;
	r->ref.length_bytes = req->length_bytes;
	r->ref.release = sim_ref_release;
	r->ref.fd = d->fd;
	r->ref.fd_off = req->offset_bytes;
	/* sent from the "file" as it is then (sim_conn_send_file) */
	r->ref.live = true;
	TAILQ_INSERT_TAIL(&sim->disks->refs, r, link);
	sim->live_refs++;
	req->ref = &r->ref;
	SIM_TRACE(sim, "disk %s READ lba %llu+%llu by reference", d->name,
		  (unsigned long long)(req->offset_bytes / d->block_size),
		  (unsigned long long)(req->length_bytes / d->block_size));
	return true;
}

void sim_disk_file_read(struct sim *sim, int fd, uint64_t off, uint8_t *dst,
			uint64_t len)
{
	struct sim_disk *d;
	struct sim_ref *r;
	bool held = false;

	ut_assert(sim->disks != NULL);
	TAILQ_FOREACH (r, &sim->disks->refs, link)
		if (r->ref.fd == fd && off >= r->ref.fd_off &&
		    len <= r->ref.length_bytes &&
		    off - r->ref.fd_off <= r->ref.length_bytes - len)
			held = true;
	/* env.h/backstore.h: the fd and its range are valid as long as
	 * the reference; a send from one released (or never given) is a
	 * use after release */
	ut_assert(held);
	TAILQ_FOREACH (d, &sim->disks->list, link)
		if (d->fd == fd)
			break;
	ut_assert(d != NULL);
	disk_read(d, off, dst, len);
}

bool sim_disk_file_reread(struct sim *sim, int fd, uint64_t off, uint8_t *dst,
			  uint64_t len)
{
	struct sim_disk *d;

	if (sim->disks == NULL)
		return false;
	TAILQ_FOREACH (d, &sim->disks->list, link)
		if (d->fd == fd)
			break;
	/* a file gone, or cut short: the socket keeps the pages it had */
	if (d == NULL || off > d->size_bytes || len > d->size_bytes - off)
		return false;
	disk_read(d, off, dst, len);
	return true;
}

static void read_copy(struct sim_disk *d, struct bs_req *req)
{
	uint8_t *tmp = malloc(req->length_bytes ? req->length_bytes : 1);

	if (tmp == NULL)
		abort();
	disk_read(d, req->offset_bytes, tmp, req->length_bytes);
	iov_copy_in(req->iov, req->iovcnt, tmp, req->length_bytes);
	free(tmp);
}

static void io_apply(struct sim_disk *d, struct sim_io *io)
{
	struct bs_req *req = io->req;
	bool durable = (req->flags & BS_F_FUA) || !d->cfg.write_cache;

	switch (req->op) {
	case BS_OP_READ:
		/* a read that fails answers no reference (backstore.h) */
		if (io->status != 0 || !read_by_ref(io->bs, req))
			read_copy(d, req);
		break;
	case BS_OP_WRITE:
		disk_write(d, req->offset_bytes, io->wdata, req->length_bytes,
			   durable);
		land(d, req->offset_bytes, io->wdata, req->length_bytes);
		break;
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES:
		disk_write(d, req->offset_bytes, NULL, req->length_bytes,
			   durable);
		break;
	case BS_OP_FLUSH:
		disk_flush(d, io->flush_gen);
		break;
	case BS_OP_WRITE_SAME:
		ut_assert(d->cfg.native);
		ws_apply(d, io, durable);
		break;
	case BS_OP_COMPARE_AND_WRITE: {
		int rc;

		ut_assert(d->cfg.native);
		rc = caw_apply(d, io, durable, true);
		/* a timed-out one that landed stays timed out */
		if (io->status == 0)
			io->status = rc;
		break;
	}
	}
}

static void io_complete(struct sim_ev *ev)
{
	struct sim_io *io = SIM_CONTAINER_OF(ev, struct sim_io, ev);
	struct sim_bs *bs = io->bs;
	struct sim_disk *d = bs->d;
	struct sim *sim = d->sim;
	struct bs_req *req = io->req;
	int status;

	if (io->status == 0 || io->land_anyway)
		io_apply(d, io);
	status = io->status;
	sim->ctr.disk_ops++;
	sim_hash_u64(sim, (uint64_t)req->op << 56 ^ req->offset_bytes ^
				  req->length_bytes << 20 ^
				  (uint64_t)(-status));
	SIM_TRACE(sim, "disk %s %s lba %llu+%llu%s -> %s", d->name,
		  req->op <= BS_OP_COMPARE_AND_WRITE ? op_names[req->op] : "?",
		  (unsigned long long)(req->offset_bytes / d->block_size),
		  (unsigned long long)(req->length_bytes / d->block_size),
		  (req->flags & BS_F_FUA) ? " FUA" : "",
		  status == 0 ? "ok"
		  : status == -ETIMEDOUT
			  ? (io->land_anyway ? "ETIMEDOUT landed" : "ETIMEDOUT")
		  : status == -ENOTCONN	  ? "ENOTCONN"
		  : status == -EILSEQ	  ? "EILSEQ (miscompare)"
		  : status == -EOPNOTSUPP ? "EOPNOTSUPP"
					  : "EIO");
	TAILQ_REMOVE(&bs->pending, io, link);
	sim->disks->pending--;
	int was = sim_reactor_enter(sim, io->reactor);

	free(io->wdata);
	free(io);
	req->done(req, status);
	sim->cur_reactor = was;
}

/* UT_SIM_PLANT=assert:S: the first disk write of the run of seed S fails
 * an assertion, as a target bug would, so that the test suite can check
 * the whole reporting path (a FAIL line with the text, the same trace
 * hash on replay, the explorer counting that seed only). */
static bool planted_assertion(const struct sim *sim, const struct bs_req *req)
{
	const char *p = getenv("UT_SIM_PLANT");

	return req->op == BS_OP_WRITE && p != NULL &&
	       strncmp(p, "assert:", 7) == 0 &&
	       strtoull(p + 7, NULL, 0) == sim->seed;
}

static void sim_bs_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct sim_bs *bs = dev->priv;
	struct sim_disk *d = bs->d;
	struct sim *sim = d->sim;
	struct sim_io *io = calloc(1, sizeof(*io));
	uint64_t lat;

	if (io == NULL)
		abort();
	ut_assert(!planted_assertion(sim, req));
	sim_ev_init(&io->ev, io_complete);
	io->bs = bs;
	io->req = req;
	io->asked = *req;
	io->reactor = sim->cur_reactor;
	if (req->op != BS_OP_FLUSH &&
	    (req->offset_bytes % d->block_size != 0 ||
	     req->length_bytes % d->block_size != 0 ||
	     req->offset_bytes + req->length_bytes > d->size_bytes ||
	     req->offset_bytes + req->length_bytes < req->offset_bytes))
		io->status = -EINVAL;
	else if (req->op != BS_OP_READ && dev->read_only)
		io->status = -EROFS;
	else if (req->op == BS_OP_COMPARE_AND_WRITE &&
		 req->offset_bytes / SIM_DISK_OBJECT_BYTES !=
			 (req->offset_bytes + req->length_bytes - 1) /
				 SIM_DISK_OBJECT_BYTES)
		io->status = -EOPNOTSUPP;
	else if (fault_hits(d, req))
		io->status = -EIO;
	lat = io_latency(d);
	if (io->status == 0)
		lat = io_remote_time(d, io, lat);
	if ((io->status == 0 || io->status == -ETIMEDOUT) &&
	    (req->op == BS_OP_WRITE || req->op == BS_OP_WRITE_SAME ||
	     req->op == BS_OP_COMPARE_AND_WRITE)) {
		/* the bytes as they were at submission: the block of a
		 * WRITE SAME, verify and write data of a COMPARE AND WRITE */
		uint64_t n = req->op == BS_OP_WRITE_SAME ? d->block_size
			     : req->op == BS_OP_WRITE	 ? req->length_bytes
						      : 2 * req->length_bytes;

		io->wdata = malloc(n ? n : 1);
		if (io->wdata == NULL)
			abort();
		iov_copy_out(req->iov, req->iovcnt, io->wdata, n);
	}
	io->flush_gen = d->gen;
	TAILQ_INSERT_TAIL(&bs->pending, io, link);
	sim->disks->pending++;
	sim_ev_at(sim, &io->ev, sim->now_ns + lat);
}

static uint64_t sim_bs_lba_status(struct bs_dev *dev, uint64_t off,
				  uint64_t len, bool *mapped)
{
	struct sim_bs *bs = dev->priv;
	struct sim_disk *d = bs->d;
	size_t ci = (size_t)(off / CHUNK_BYTES);
	uint64_t run = CHUNK_BYTES - off % CHUNK_BYTES;
	struct chunk *c = ci < d->nchunks ? d->chunks[ci] : NULL;

	*mapped = c != NULL && (c->cur != NULL || c->durable != NULL);
	return run < len ? run : len;
}

/* The target takes back the requests in flight (iscsi_server_free: a
 * crash frees the target at once, a shutdown abandons the sessions whose
 * commands are at a stalled store): they never complete; each sector of
 * a pending write may or may not have reached the cache (at a graceful
 * stop: the whole write or none).  The simulated store gives everything
 * back at once: nothing is ever held past the call. */
static unsigned int sim_bs_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	struct sim_bs *bs = dev->priv;
	struct sim_disk *d = bs->d;
	struct sim *sim = d->sim;
	struct sim_io *io;

	(void)deadline_ns;
	while ((io = TAILQ_FIRST(&bs->pending)) != NULL) {
		/* never completed: nothing is written back to the request */
		struct bs_req *req = &io->asked;

		io->req = req; /* caw_apply() reads it */
		TAILQ_REMOVE(&bs->pending, io, link);
		sim->disks->pending--;
		sim_ev_cancel(sim, &io->ev);
		if ((req->op == BS_OP_WRITE || req->op == BS_OP_WRITE_SAME) &&
		    io->status == 0) {
			/* a WRITE SAME's wdata is its one block */
			uint64_t wlen = req->op == BS_OP_WRITE
						? req->length_bytes
						: d->block_size;
			/* at a graceful stop the whole request or none */
			bool all = sim->graceful_stop && sim_chance(sim, 0.5);

			for (uint64_t o = 0; o < req->length_bytes; o += SECTOR)
				if (sim->graceful_stop ? all
						       : sim_chance(sim, 0.5))
					disk_write(d, req->offset_bytes + o,
						   io->wdata + o % wlen, SECTOR,
						   false);
		} else if (req->op == BS_OP_COMPARE_AND_WRITE &&
			   io->status == 0 && sim_chance(sim, 0.5)) {
			/* atomic at the store: all of it or nothing */
			(void)caw_apply(d, io, false, false);
		}
		free(io->wdata);
		free(io);
	}
	return 0;
}

static void sim_bs_close(struct bs_dev *dev)
{
	struct sim_bs *bs = dev->priv;
	struct sim_disk *d = bs->d;
	struct sim *sim = d->sim;

	/* backstore.h: a request in flight was taken back first (abandon);
	 * one still here names memory the target may have freed already. */
	ut_assert(TAILQ_EMPTY(&bs->pending));
	ut_assert(d->opens > 0);
	d->opens--;
	ut_assert(sim->live_disks > 0);
	sim->live_disks--;
	free(bs);
}

/* backstore.h: a shrink comes only once no request in flight reaches
 * past the new end (the target waits for the commands that entered
 * before it, lu_live.c scsi_lu_commands_before).  A store would fail
 * such a request or drop its data; here it is the target's broken
 * promise, judged where it happens. */
static bool no_request_reaches_past(const struct sim_bs *bs, uint64_t size)
{
	const struct sim_io *io;

	TAILQ_FOREACH (io, &bs->pending, link)
		if (io->req->op != BS_OP_FLUSH &&
		    io->req->offset_bytes + io->req->length_bytes > size)
			return false;
	return true;
}

/* A new capacity (live reconfiguration).  A shrink keeps the bytes past
 * the end; a grow zeroes, durably, whatever of [old, new) was written
 * before, as a file that grows reads zeros there. */
static int sim_bs_resize(struct bs_dev *dev, uint64_t size)
{
	struct sim_bs *bs = dev->priv;
	struct sim_disk *d = bs->d;
	size_t n = (size_t)((size + CHUNK_BYTES - 1) / CHUNK_BYTES);

	if (size == 0 || size % d->block_size)
		return -EINVAL;
	ut_assert(no_request_reaches_past(bs, size));
	if (n > d->nchunks) {
		struct chunk **c = realloc(d->chunks, n * sizeof(*c));

		if (c == NULL)
			abort();
		memset(c + d->nchunks, 0, (n - d->nchunks) * sizeof(*c));
		d->chunks = c;
		d->nchunks = n;
	}
	for (uint64_t off = d->size_bytes; off < size;) {
		uint64_t end = (off / CHUNK_BYTES + 1) * CHUNK_BYTES;

		if (end > size)
			end = size;
		if (d->chunks[off / CHUNK_BYTES] != NULL)
			disk_write(d, off, NULL, end - off, true);
		off = end;
	}
	SIM_TRACE(d->sim, "disk %s resized %llu -> %llu bytes", d->name,
		  (unsigned long long)d->size_bytes, (unsigned long long)size);
	sim_hash_u64(d->sim, size);
	d->size_bytes = size;
	dev->size_bytes = size;
	return 0;
}

static const struct bs_ops sim_bs_ops = {
	.submit = sim_bs_submit,
	.lba_status = sim_bs_lba_status,
	.abandon = sim_bs_abandon,
	.close = sim_bs_close,
	.resize = sim_bs_resize,
};

int sim_env_disk_open(struct env *env, const struct bs_dev_params *p,
		      struct bs_dev **out)
{
	struct sim *sim = env->priv;
	const char *name = p->path && p->path[0] ? p->path : p->name;
	struct sim_disk *d;
	struct sim_bs *bs;

	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	if (p->block_size != 0 && p->block_size != 512 && p->block_size != 4096)
		return -EINVAL;
	d = sim_disk_get(sim, name, p->size_bytes,
			 p->block_size ? p->block_size : 512);
	bs = calloc(1, sizeof(*bs));
	if (bs == NULL)
		return -ENOMEM;
	bs->d = d;
	TAILQ_INIT(&bs->pending);
	bs->dev.ops = &sim_bs_ops;
	bs->dev.kind = BS_SIM;
	bs->dev.size_bytes = d->size_bytes;
	bs->dev.block_size = d->block_size;
	bs->dev.read_only = p->read_only;
	bs->dev.thin = p->thin;
	bs->dev.rotational = false;
	bs->dev.write_cache = d->cfg.write_cache;
	bs->dev.caps = d->cfg.native
			       ? BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE
			       : 0;
	bs->dev.priv = bs;
	/* as env_real's file backstore with --zero-copy and --send-file */
	bs->refs_on = env->zero_copy && env->ops->conn_send_file != NULL;
	d->opens++;
	sim->live_disks++;
	SIM_TRACE(sim, "disk %s opened (%llu bytes, %u-byte blocks)", d->name,
		  (unsigned long long)d->size_bytes, d->block_size);
	*out = &bs->dev;
	return 0;
}
