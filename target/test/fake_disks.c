/*
 * fake_disks.c — the fake environment's disks (fake_env.h): a disk that
 * answers reads by reference (fake-ref:), disks whose requests wait until
 * the test completes them (fake-hold:), and opens answered later
 * (disk_open_async).  fake_env.c holds the rest of the environment.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "fake_env.h"

/* A disk for tests of zero-copy reads ("filename fake-ref:..."): memory
 * holding fake_ref_byte(offset); a READ asked for by reference
 * (BS_F_MAY_REF) is answered with a reference into it, as env_real's file
 * backstore answers with one into the page cache.  The memory lives until
 * the disk is closed and its last reference released. */
struct fref_disk {
	struct bs_dev dev;
	uint8_t *mem;
	int fd; /* a memfd with the same bytes (fake_env_send_files), or
		 * BS_REF_NO_FD */
	unsigned int refs;
	bool closed;
};

struct fref {
	struct bs_ref ref;
	struct fref_disk *d;
};

static unsigned int fake_refs_live_n, fake_refs_made_n;
bool fake_ref_disks_on;

void fake_env_ref_disks(bool on)
{
	fake_ref_disks_on = on;
}

uint8_t fake_ref_byte(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 12) + 1);
}

unsigned int fake_refs_live(void)
{
	return fake_refs_live_n;
}

unsigned int fake_refs_made(void)
{
	return fake_refs_made_n;
}

static void fref_disk_put(struct fref_disk *d)
{
	if (d->closed && d->refs == 0) {
		if (d->fd >= 0)
			close(d->fd);
		free(d->mem);
		free(d);
	}
}

static void fref_release(struct bs_ref *ref)
{
	struct fref *r = (struct fref *)ref;
	struct fref_disk *d = r->d;

	assert(fake_refs_live_n > 0 && d->refs > 0); /* released once */
	fake_refs_live_n--;
	d->refs--;
	free(r);
	fref_disk_put(d);
}

static void fref_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct fref_disk *d = dev->priv;
	uint64_t off = req->offset_bytes, left = req->length_bytes;
	struct fref *r;

	assert(!d->closed);
	assert(off + left <= dev->size_bytes);
	if (req->op == BS_OP_READ && (req->flags & BS_F_MAY_REF)) {
		r = calloc(1, sizeof(*r));
		assert(r != NULL);
		r->d = d;
		r->ref.mem = d->mem + off;
		r->ref.length_bytes = left;
		r->ref.release = fref_release;
		r->ref.fd = d->fd; /* BS_REF_NO_FD unless files are sent */
		r->ref.fd_off = off;
		r->ref.live = true; /* d->mem, which writes change in place */
		d->refs++;
		fake_refs_live_n++;
		fake_refs_made_n++;
		req->ref = &r->ref;
		req->done(req, 0);
		return;
	}
	for (int i = 0; i < req->iovcnt && left > 0; i++) {
		size_t n = req->iov[i].iov_len < left ? req->iov[i].iov_len
						      : (size_t)left;

		if (req->op == BS_OP_READ)
			memcpy(req->iov[i].iov_base, d->mem + off, n);
		else if (req->op == BS_OP_WRITE)
			memcpy(d->mem + off, req->iov[i].iov_base, n);
		if (req->op == BS_OP_WRITE && d->fd >= 0)
			assert(pwrite(d->fd, req->iov[i].iov_base, n,
				      (off_t)off) == (ssize_t)n);
		off += n;
		left -= n;
	}
	req->done(req, 0);
}

static void fref_close(struct bs_dev *dev)
{
	struct fref_disk *d = dev->priv;

	d->closed = true;
	fref_disk_put(d);
}

static const struct bs_ops fref_ops = {
	.submit = fref_submit,
	.close = fref_close,
};

/* ------------------------------------------------ held disks, opens */

/* A held disk ("filename fake-hold:NAME", BS_FILE, at most 64 MiB,
 * zeroed): its requests wait in one queue, oldest first, until the test
 * completes them (fake_held_complete), so that a test can keep a
 * command inside the target for as long as it likes.  Resizable up to
 * 64 MiB. */
struct fhold_disk {
	struct bs_dev dev;
	uint8_t *mem;
	unsigned int queued;
};

#define FHOLD_MAX_BYTES (64ull << 20)
#define FHOLD_MAX_REQS 256

static bool fake_hold_disks_on;
static unsigned int fhold_live;
static struct bs_req *fhold_reqs[FHOLD_MAX_REQS];
static struct fhold_disk *fhold_devs[FHOLD_MAX_REQS];
static unsigned int fhold_nreqs;
static unsigned int fhold_dropped;

unsigned int fake_held_dropped(void)
{
	return fhold_dropped;
}

void fake_env_hold_disks(bool on)
{
	fake_hold_disks_on = on;
}

unsigned int fake_held_disks_live(void)
{
	return fhold_live;
}

unsigned int fake_held_pending(void)
{
	return fhold_nreqs;
}

static void fhold_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct fhold_disk *d = dev->priv;

	assert(req->offset_bytes + req->length_bytes <= dev->size_bytes);
	assert(fhold_nreqs < FHOLD_MAX_REQS);
	fhold_reqs[fhold_nreqs] = req;
	fhold_devs[fhold_nreqs++] = d;
	d->queued++;
}

unsigned int fake_held_complete(unsigned int n)
{
	unsigned int done = 0;

	while (done < n && fhold_nreqs > 0) {
		struct bs_req *req = fhold_reqs[0];
		struct fhold_disk *d = fhold_devs[0];
		uint64_t off = req->offset_bytes, left = req->length_bytes;

		fhold_nreqs--;
		memmove(fhold_reqs, fhold_reqs + 1,
			fhold_nreqs * sizeof(*fhold_reqs));
		memmove(fhold_devs, fhold_devs + 1,
			fhold_nreqs * sizeof(*fhold_devs));
		d->queued--;
		/* a shrink waits for the requests that reach past it */
		assert(off + left <= d->dev.size_bytes);
		for (int i = 0; i < req->iovcnt && left > 0; i++) {
			size_t k = req->iov[i].iov_len < left
					   ? req->iov[i].iov_len
					   : (size_t)left;

			if (req->op == BS_OP_READ)
				memcpy(req->iov[i].iov_base, d->mem + off, k);
			else if (req->op == BS_OP_WRITE)
				memcpy(d->mem + off, req->iov[i].iov_base, k);
			off += k;
			left -= k;
		}
		req->done(req, 0);
		done++;
	}
	return done;
}

static int fhold_resize(struct bs_dev *dev, uint64_t size_bytes)
{
	struct fhold_disk *d = dev->priv;
	uint8_t *m;

	if (size_bytes > FHOLD_MAX_BYTES)
		return -ENOSPC;
	m = realloc(d->mem, size_bytes);
	assert(m != NULL);
	if (size_bytes > dev->size_bytes)
		memset(m + dev->size_bytes, 0, size_bytes - dev->size_bytes);
	d->mem = m;
	dev->size_bytes = size_bytes;
	return 0;
}

static unsigned int fhold_stuck;

void fake_held_stuck(unsigned int n)
{
	fhold_stuck = n;
}

/* A server freed with commands inside (iscsi_server_free at exit) takes
 * the requests back: they are never answered.  Each is read first, as a
 * device that still had it could: it must not have been freed. */
static unsigned int fhold_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	struct fhold_disk *d = dev->priv;
	unsigned int k = 0, kept = 0;

	(void)deadline_ns;
	for (unsigned int i = 0; i < fhold_nreqs; i++) {
		struct bs_req *req = fhold_reqs[i];

		if (fhold_devs[i] == d) {
			assert(req->done != NULL);
			assert(req->offset_bytes + req->length_bytes <=
			       dev->size_bytes);
		}
		if (fhold_devs[i] != d || kept < fhold_stuck) {
			kept += fhold_devs[i] == d;
			fhold_reqs[k] = req;
			fhold_devs[k++] = fhold_devs[i];
		}
	}
	fhold_dropped += fhold_nreqs - k;
	d->queued -= fhold_nreqs - k;
	fhold_nreqs = k;
	return kept;
}

static void fhold_close(struct bs_dev *dev)
{
	struct fhold_disk *d = dev->priv;

	/* every request came back or was taken back (backstore.h) */
	assert(d->queued == 0);
	assert(fhold_live > 0);
	fhold_live--;
	free(d->mem);
	free(d);
}

static const struct bs_ops fhold_ops = {
	.submit = fhold_submit,
	.abandon = fhold_abandon,
	.close = fhold_close,
	.resize = fhold_resize,
};

static int fhold_open(const struct bs_dev_params *p, struct bs_dev **out)
{
	struct fhold_disk *d;

	if (p->size_bytes == 0 || p->size_bytes > FHOLD_MAX_BYTES)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	assert(d != NULL);
	d->mem = calloc(1, p->size_bytes);
	assert(d->mem != NULL);
	d->dev.ops = &fhold_ops;
	d->dev.kind = BS_FILE;
	d->dev.size_bytes = p->size_bytes;
	d->dev.block_size = p->block_size ? p->block_size : 512;
	d->dev.priv = d;
	fhold_live++;
	*out = &d->dev;
	return 0;
}

/* Opens off the reactor: queued until the test answers them. */
struct fopen_wait {
	struct env *env;
	struct bs_dev_params p;
	char path[64];
	env_disk_opened_fn done;
	void *arg;
};

#define FOPEN_MAX 16

static bool fake_async_opens_on;
static struct fopen_wait fopen_waits[FOPEN_MAX];
static unsigned int fopen_n;

void fake_env_async_opens(bool on)
{
	fake_async_opens_on = on;
	if (!on)
		fopen_n = 0; /* never answered: the server was freed */
}

unsigned int fake_env_opens_pending(void)
{
	return fopen_n;
}

int fake_disk_open_async(struct env *e, const struct bs_dev_params *p,
			 env_disk_opened_fn done, void *arg)
{
	struct fopen_wait *w;

	if (!fake_async_opens_on || p->kind != BS_FILE || !p->path ||
	    strncmp(p->path, "fake-", 5) != 0)
		return -ENOTSUP;
	/* a remote kind refusing at once (no such pool, say) */
	if (strncmp(p->path, "fake-refuse:", 12) == 0)
		return -EACCES;
	assert(fopen_n < FOPEN_MAX);
	assert(strlen(p->path) < sizeof(w->path));
	w = &fopen_waits[fopen_n++];
	w->env = e;
	w->p = *p;
	strcpy(w->path, p->path);
	w->p.path = w->path;
	w->done = done;
	w->arg = arg;
	return 0;
}

void fake_env_answer_open(int rc)
{
	struct fopen_wait w;
	struct bs_dev *dev = NULL;

	assert(fopen_n > 0);
	w = fopen_waits[0];
	w.p.path = w.path;
	fopen_n--;
	memmove(fopen_waits, fopen_waits + 1, fopen_n * sizeof(*fopen_waits));
	if (rc == 0)
		rc = fake_disk_open(w.env, &w.p, &dev);
	w.done(w.arg, rc, rc ? NULL : dev);
}

int fake_disk_open(struct env *e, const struct bs_dev_params *p,
		   struct bs_dev **out)
{
	struct fref_disk *d;

	(void)e;
	if (fake_hold_disks_on && p->kind == BS_FILE && p->path &&
	    strncmp(p->path, "fake-hold:", 10) == 0)
		return fhold_open(p, out);
	/* only where a test asked (the fuzzers' configurations never get
	 * one), and small */
	if (!fake_ref_disks_on || p->kind != BS_FILE || !p->path ||
	    strncmp(p->path, "fake-ref:", 9) != 0 || p->size_bytes == 0 ||
	    p->size_bytes > (64u << 20))
		return -ENOTSUP;
	d = calloc(1, sizeof(*d));
	assert(d != NULL);
	d->mem = malloc(p->size_bytes);
	assert(d->mem != NULL);
	for (uint64_t i = 0; i < p->size_bytes; i++)
		d->mem[i] = fake_ref_byte(i);
	d->fd = BS_REF_NO_FD;
	if (fake_send_files_on) {
		d->fd = memfd_create("fake-ref", MFD_CLOEXEC);
		assert(d->fd >= 0);
		assert(pwrite(d->fd, d->mem, p->size_bytes, 0) ==
		       (ssize_t)p->size_bytes);
	}
	d->dev.ops = &fref_ops;
	d->dev.kind = BS_FILE;
	d->dev.size_bytes = p->size_bytes;
	d->dev.block_size = p->block_size ? p->block_size : 512;
	d->dev.write_cache = true;
	d->dev.priv = d;
	*out = &d->dev;
	return 0;
}
