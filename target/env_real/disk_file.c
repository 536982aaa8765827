/*
 * disk_file.c — the file and block-device backstore's requests: checked,
 * cut into chunks, driven through their stages and completed.
 *
 * Requests run on the reactor's disk engine (disk_engine.c: io_uring, or
 * worker threads where io_uring is refused); either way completions run on
 * the reactor thread and never inside bs_submit().  disk_file_open.c opens
 * and closes the files.
 *
 * A request is driven by an er_io taken from a fixed array (no malloc on
 * the data path).  Its stages:
 *
 *   READ/WRITE  RW ──short──> RW (the remainder) ... ──> done
 *               a read that hits EOF inside the capacity is zero-filled
 *   FLUSH       FLUSH (fdatasync) ──> done
 *   UNMAP,      FALLOC (punch hole / zero range) ──> done
 *   WRITE_ZEROES   └──EOPNOTSUPP/EINVAL──> ZEROS (write zeros, chunked) ──> done
 *
 * At most ER_QUEUE_DEPTH requests are in flight per reactor; more wait in
 * FIFO order on their file.
 *
 * Writes on the reactor.  io_uring completes a page-cache read inside
 * io_uring_enter, but a buffered write only where the filesystem can
 * write without blocking (RWF_NOWAIT: XFS, btrfs, block devices); on
 * ext4 it hands every write to a kernel worker thread, and the hand-off
 * and wake-ups cost more than the write (a 4 KiB write into the page
 * cache is a few microseconds).  So where the first write of a file
 * finds RWF_NOWAIT refused, writes of up to ER_INLINE_MAX bytes are done
 * with pwritev2() on the reactor, timed; one that takes longer than
 * ER_INLINE_SLOW_NS (the page cache pushing back: dirty throttling, a
 * journal commit, reclaim) sends that reactor's writes to the file back
 * to the engine for a while, 100 ms doubling up to 10 s while they stay
 * slow.  FUA writes, flushes and zeroing always go to the engine.
 * --inline-writes off|always (env_real_opts.inline_writes) changes this.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"
#include "env_real/disk_file.h"

static void er_io_issue(struct er_io *io);
static uint64_t er_iov_total(const struct iovec *iov, int iovcnt);
static void er_engine_kick(struct er_disk_engine *eng);

/* ---------------------------------------------------------- iovecs */

/* dst = the part of src after skip bytes, at most max_bytes and ER_IO_IOV
 * entries.  Returns the entry count. */
static int er_iov_slice(const struct iovec *src, int srccnt, uint64_t skip,
			uint64_t max_bytes, struct iovec *dst)
{
	int n = 0;

	for (int i = 0; i < srccnt && n < ER_IO_IOV && max_bytes > 0; i++) {
		uint64_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > max_bytes)
			l = max_bytes;
		dst[n].iov_base = (char *)src[i].iov_base + skip;
		dst[n].iov_len = (size_t)l;
		n++;
		max_bytes -= l;
		skip = 0;
	}
	ut_assert(n <= ER_IO_IOV);
	return n;
}

static void er_iov_zero_from(const struct iovec *iov, int iovcnt, uint64_t skip,
			     uint64_t len)
{
	struct iovec part[ER_IO_IOV];

	/* The request's own iovecs, which hold all of it (er_req_check). */
	ut_assert(skip + len <= er_iov_total(iov, iovcnt));
	while (len > 0) {
		int n = er_iov_slice(iov, iovcnt, skip, len, part);

		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			memset(part[i].iov_base, 0, part[i].iov_len);
			skip += part[i].iov_len;
			len -= part[i].iov_len;
		}
	}
}

static uint64_t er_iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t t = 0;

	for (int i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* ------------------------------------------------------- completion */

void er_file_destroy(struct er_file *f)
{
	/* Last use: closed by its owner, nothing in flight or waiting. */
	ut_assert(f->closing);
	ut_assert(er_file_idle(f) && atomic_load(&f->in_done) == 0);
	er_zc_unmap(f);
	pthread_mutex_destroy(&f->zc_lock);
	close(f->fd);
	free(f);
}

bool er_file_idle(struct er_file *f)
{
	if (atomic_load(&f->inflight) != 0 || atomic_load(&f->zc_refs) != 0)
		return false;
	for (unsigned int i = 0; i < ER_MAX_REACTORS; i++)
		if (!TAILQ_EMPTY(&f->q[i].waiting))
			return false;
	return true;
}

/* Return the er_io, then tell the submitter: its callback may submit
 * again and find the er_io free. */
static void er_io_complete(struct er_io *io, int status)
{
	struct er_disk_engine *eng = io->eng;
	struct er_file *f = io->f;
	struct bs_req *req = io->req;

	/* A request completes on the reactor that submitted it (env.h), once,
	 * and returns its er_io to that engine's free list (pool pairing:
	 * er_io_start took it). */
	ut_assert(er_owned(eng->r));
	ut_assert(req != NULL && f != NULL);
	ut_assert(eng->inflight > 0 && atomic_load(&f->inflight) > 0);
	ut_assert(!io->defer.queued);
	ut_assert(status <= 0);
	io->req = NULL;
	io->f = NULL;
	atomic_fetch_sub(&f->inflight, 1);
	eng->inflight--;
	TAILQ_INSERT_HEAD(&eng->free_ios, io, link);
	ut_assert_slow(er_engine_pool_ok(eng));
	/* The callback may bs_close() the file: it stays until we return.
	 * (bs_close() happens at exit, once the other reactors stopped.) */
	atomic_fetch_add(&f->in_done, 1);
	req->done(req, status);
	atomic_fetch_sub(&f->in_done, 1);
	er_engine_kick(eng);
	if (f->closing && er_file_idle(f) && atomic_load(&f->in_done) == 0)
		er_file_destroy(f);
}

void er_io_deferred(struct er_defer *d)
{
	struct er_io *io = er_container_of(d, struct er_io, defer);

	ut_assert(io->req != NULL); /* an er_io in use */
	ut_assert(er_self == io->eng->r);
	if (io->defer_result) {
		io->defer_result = false;
		er_io_result(io, io->res);
		return;
	}
	er_io_complete(io, io->status);
}

/* Fail (or finish) a request without I/O: still asynchronously. */
static void er_io_finish_later(struct er_io *io, int status)
{
	ut_assert(status <= 0);
	ut_assert(!io->defer_result);
	io->status = status;
	er_defer_queue(io->eng->r, &io->defer);
}

/* A change other than a write is done: with FUA it is durable only once
 * the file's data is synced (a write carries RWF_DSYNC instead). */
static void er_io_changed(struct er_io *io)
{
	ut_assert(io->stage == ER_ST_FALLOC || io->stage == ER_ST_ZEROS);
	if (io->req->flags & BS_F_FUA) {
		io->stage = ER_ST_FLUSH;
		er_io_issue(io);
		return;
	}
	er_io_complete(io, 0);
}

/*
 * What a sync (fdatasync, or the RWF_DSYNC of a FUA write) returned, as
 * the request's status.  Linux reports a writeback error once per open
 * file: the pages that failed are marked clean, their data may be gone,
 * and the next fdatasync returns 0 (errseq_t; xfstests generic/487
 * checks exactly that).  A FLUSH promises every completed write durable,
 * so after a failed sync that promise cannot be kept again: the first
 * failure is kept and every later FLUSH fails with it, until the LU is
 * opened again (docs/durability.md).  A FUA write's own failure is kept
 * only when it is EIO: its ENOSPC or EDQUOT is, as a rule, the space for
 * its own blocks, refused before anything was written.
 */
static int er_sync_status(struct er_io *io, ssize_t res)
{
	struct er_file *f = io->f;
	const struct bs_req *req = io->req;
	int expect = 0;

	ut_assert(io->stage == ER_ST_FLUSH ||
		  (req->op == BS_OP_WRITE && (req->flags & BS_F_FUA)));
	ut_assert(res != -EINTR && res != -EAGAIN); /* issued again */
	if (res < 0 && (io->stage == ER_ST_FLUSH || res == -EIO) &&
	    atomic_compare_exchange_strong(&f->sync_err, &expect, (int)res))
		LOG_ERR(&io->eng->r->env,
			"%s: a sync failed (%s): written data may be lost; "
			"every later SYNCHRONIZE CACHE fails until the LU is "
			"opened again",
			f->name, strerror((int)-res));
	if (res < 0)
		return (int)res;
	return req->op == BS_OP_FLUSH ? atomic_load(&f->sync_err) : 0;
}

/* What a chunk returned (bytes, or -errno), on the reactor thread. */
void er_io_result(struct er_io *io, ssize_t res)
{
	struct bs_req *req = io->req;

	ut_assert(req != NULL);
	ut_assert(io->done_bytes <= req->length_bytes);
	if (res == -EINTR || res == -EAGAIN) {
		er_io_issue(io);
		return;
	}
	switch (io->stage) {
	case ER_ST_FLUSH:
		er_io_complete(io, er_sync_status(io, res));
		return;
	case ER_ST_FALLOC:
		if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENODEV) {
			/* The filesystem or device cannot deallocate or zero
			 * a range: zeros written the plain way read back the
			 * same. */
			if (io->fa_mode & FALLOC_FL_PUNCH_HOLE)
				io->f->no_punch_hole = true;
			else
				io->f->no_zero_range = true;
			io->stage = ER_ST_ZEROS;
			io->done_bytes = 0;
			er_io_issue(io);
			return;
		}
		if (res < 0)
			er_io_complete(io, (int)res);
		else
			er_io_changed(io);
		return;
	case ER_ST_RW:
	case ER_ST_ZEROS:
		break;
	}
	if (res < 0) {
		if (req->op == BS_OP_WRITE && (req->flags & BS_F_FUA))
			res = er_sync_status(io, res);
		er_io_complete(io, (int)res);
		return;
	}
	if (res == 0) {
		if (io->stage == ER_ST_RW && req->op == BS_OP_READ) {
			/* EOF inside the capacity (a file shorter than the
			 * LUN, e.g. opened read-only): that is a hole. */
			er_iov_zero_from(req->iov, req->iovcnt, io->done_bytes,
					 req->length_bytes - io->done_bytes);
			er_io_complete(io, 0);
		} else {
			er_io_complete(io, -EIO);
		}
		return;
	}
	/* The kernel moves at most the chunk it was given. */
	ut_assert((uint64_t)res <= er_iov_total(io->iov, io->iovcnt));
	io->done_bytes += (uint64_t)res;
	ut_assert(io->done_bytes <= req->length_bytes);
	if (io->done_bytes < req->length_bytes)
		er_io_issue(io); /* short transfer: the remainder */
	else if (io->stage == ER_ST_ZEROS)
		er_io_changed(io);
	else
		er_io_complete(io, 0);
}

/* ---------------------------------------------- writes on the reactor */

static void er_io_result_later(struct er_io *io, ssize_t res)
{
	ut_assert(!io->defer.queued);
	ut_assert(res < 0 ||
		  (uint64_t)res <= er_iov_total(io->iov, io->iovcnt));
	io->res = res;
	io->defer_result = true;
	er_defer_queue(io->eng->r, &io->defer);
}

/* Write io's chunk on the reactor where that is the fast way (see the head
 * of the file).  True when done: the result reaches er_io_result from a
 * defer, never inside the caller. */
static bool er_write_inline(struct er_io *io)
{
	struct er_disk_engine *eng = io->eng;
	struct er_reactor *r = eng->r;
	struct er_file *f = io->f;
	struct bs_req *req = io->req;
	struct er_fq *q = &f->q[r->index];
	int nowait = atomic_load_explicit(&f->nowait, memory_order_relaxed);
	int expect = ER_NOWAIT_UNKNOWN;
	uint64_t t0, dt, slow_ns;
	ssize_t n;
	int err;

	/* A chunk of a write, on the submitting reactor's own thread. */
	ut_assert(io->stage == ER_ST_RW && req->op == BS_OP_WRITE);
	ut_assert(er_self == r || er_self == NULL);
	if (r->inline_writes == ENV_REAL_INLINE_OFF ||
	    (req->flags & BS_F_FUA) ||
	    req->length_bytes - io->done_bytes > ER_INLINE_MAX)
		return false;
	if (r->inline_writes == ENV_REAL_INLINE_ALWAYS)
		nowait = ER_NOWAIT_NO; /* as if refused: no probe */
	if (nowait == ER_NOWAIT_YES && eng->uring)
		return false; /* io_uring tries RWF_NOWAIT itself */
	if (nowait != ER_NOWAIT_NO) {
		n = pwritev2(f->fd, io->iov, io->iovcnt, (off_t)io->chunk_off,
			     RWF_NOWAIT);
		err = errno;
		if (n >= 0 || err == EAGAIN) {
			atomic_store(&f->nowait, ER_NOWAIT_YES);
			if (n < 0)
				return false; /* it would block */
			er_io_result_later(io, n);
			return true;
		}
		if (err != EOPNOTSUPP)
			return false; /* the engine meets that error */
		if (atomic_compare_exchange_strong(&f->nowait, &expect,
						   ER_NOWAIT_NO))
			LOG_INFO(&r->env,
				 "%s: no non-blocking buffered writes here; "
				 "writes up to %u KiB run on the reactor while "
				 "they are quick (--inline-writes)",
				 f->name, ER_INLINE_MAX / 1024);
	}
	if (q->inline_until_ns) {
		if (er_now_ns() < q->inline_until_ns)
			return false;
		q->inline_until_ns = 0;
	}
	slow_ns = r->inline_slow_ns ? r->inline_slow_ns : ER_INLINE_SLOW_NS;
	t0 = er_now_ns();
	n = pwritev2(f->fd, io->iov, io->iovcnt, (off_t)io->chunk_off, 0);
	err = errno;
	dt = er_turn_clock(r) - t0; /* it completes now (a defer) */
	if (dt >= slow_ns) {
		uint64_t b = q->inline_backoff_ns ? q->inline_backoff_ns
						  : ER_INLINE_BACKOFF_MIN_NS;

		q->inline_until_ns = t0 + dt + b;
		q->inline_backoff_ns = b * 2 < ER_INLINE_BACKOFF_MAX_NS
					       ? b * 2
					       : ER_INLINE_BACKOFF_MAX_NS;
		eng->stats.inline_slow++;
		LOG_INFO(&r->env,
			 "%s: a write on the reactor took %llu us; writes go "
			 "to the disk engine for %llu ms",
			 f->name, (unsigned long long)(dt / 1000),
			 (unsigned long long)(b / 1000000));
	} else {
		q->inline_backoff_ns = 0;
	}
	if (n < 0 && (err == EINTR || err == EAGAIN))
		return false;
	er_io_result_later(io, n < 0 ? -err : n);
	return true;
}

/* -------------------------------------------------------- the engine */

static void er_io_issue(struct er_io *io)
{
	struct bs_req *req = io->req;

	ut_assert(req != NULL);
	ut_assert(io->done_bytes < req->length_bytes ||
		  req->length_bytes == 0 || io->stage == ER_ST_FLUSH ||
		  io->stage == ER_ST_FALLOC);
	if (io->stage == ER_ST_RW) {
		io->chunk_off = req->offset_bytes + io->done_bytes;
		io->iovcnt = er_iov_slice(req->iov, req->iovcnt, io->done_bytes,
					  req->length_bytes - io->done_bytes,
					  io->iov);
	} else if (io->stage == ER_ST_ZEROS) {
		uint64_t left = req->length_bytes - io->done_bytes;

		io->chunk_off = req->offset_bytes + io->done_bytes;
		io->iovcnt = 0;
		while (left > 0 && io->iovcnt < ER_ZERO_IOV) {
			size_t l = left < ER_ZERO_BYTES ? (size_t)left
							: ER_ZERO_BYTES;

			io->iov[io->iovcnt].iov_base = io->eng->zeros;
			io->iov[io->iovcnt++].iov_len = l;
			left -= l;
		}
	}
	if (io->stage == ER_ST_RW && req->op == BS_OP_READ &&
	    io->done_bytes == 0 && er_zc_read(io)) {
		er_io_finish_later(io, 0);
		return;
	}
	if (io->stage == ER_ST_RW && req->op == BS_OP_WRITE) {
		if (er_write_inline(io)) {
			io->eng->stats.inline_writes++;
			return;
		}
		io->eng->stats.engine_writes++;
	}
	if (io->eng->uring)
		er_uring_issue(io);
	else
		er_pool_issue(io);
}

/* Check a request against the device; 0 or the -errno to complete with. */
static int er_req_check(const struct er_file *f, const struct bs_req *req)
{
	const struct bs_dev *d = &f->dev;

	if (req->op == BS_OP_FLUSH)
		return 0;
	if (req->op > BS_OP_WRITE_ZEROES)
		return -EINVAL;
	if (req->op != BS_OP_READ && d->read_only)
		return -EROFS;
	if (req->offset_bytes % d->block_size ||
	    req->length_bytes % d->block_size ||
	    req->offset_bytes > d->size_bytes ||
	    req->length_bytes > d->size_bytes - req->offset_bytes)
		return -EINVAL;
	if ((req->op == BS_OP_READ || req->op == BS_OP_WRITE) &&
	    er_iov_total(req->iov, req->iovcnt) < req->length_bytes)
		return -EINVAL;
	return 0;
}

static void er_io_start(struct er_disk_engine *eng, struct er_file *f,
			struct bs_req *req)
{
	struct er_io *io = TAILQ_FIRST(&eng->free_ios);
	int rc;

	/* Pool get: the callers saw a free er_io (er_file_submit, kick). */
	ut_assert(io != NULL);
	ut_assert(io->req == NULL && io->f == NULL && !io->defer.queued);
	TAILQ_REMOVE(&eng->free_ios, io, link);
	io->f = f;
	io->req = req;
	io->done_bytes = 0;
	atomic_fetch_add(&f->inflight, 1);
	eng->inflight++;
	ut_assert(eng->inflight <= ER_QUEUE_DEPTH);
	rc = er_req_check(f, req);
	if (rc < 0 || (req->op != BS_OP_FLUSH && req->length_bytes == 0)) {
		er_io_finish_later(io, rc);
		return;
	}
	switch (req->op) {
	case BS_OP_READ:
	case BS_OP_WRITE:
		io->stage = ER_ST_RW;
		break;
	case BS_OP_FLUSH:
		io->stage = ER_ST_FLUSH;
		break;
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES:
		io->stage = ER_ST_FALLOC;
		/* Deallocate when thin, else keep the blocks allocated (so a
		 * thick LUN never hits ENOSPC later); both read back zeros.
		 * On a block device both become discard-or-zeroout. */
		io->fa_mode =
			f->dev.thin
				? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
				: FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		if (f->dev.thin ? f->no_punch_hole : f->no_zero_range)
			io->stage = ER_ST_ZEROS;
		break;
	case BS_OP_WRITE_SAME:
	case BS_OP_COMPARE_AND_WRITE:
		/* Not in caps; er_req_check refused them already. */
		er_io_finish_later(io, -EINVAL);
		return;
	}
	er_io_issue(io);
}

/* Start waiting requests while er_io are free, one file after another. */
static void er_engine_kick(struct er_disk_engine *eng)
{
	struct er_fq *q;

	while (!TAILQ_EMPTY(&eng->free_ios) &&
	       (q = TAILQ_FIRST(&eng->waiting_files))) {
		struct bs_req *req = TAILQ_FIRST(&q->waiting);

		/* A file is on the list exactly while it has waiters. */
		ut_assert(req != NULL && q->on_wait_list);
		TAILQ_REMOVE(&q->waiting, req, link);
		TAILQ_REMOVE(&eng->waiting_files, q, wait_link);
		if (TAILQ_EMPTY(&q->waiting))
			q->on_wait_list = false;
		else
			TAILQ_INSERT_TAIL(&eng->waiting_files, q, wait_link);
		er_io_start(eng, q->f, req);
	}
}

/* The request goes to the engine of the reactor we run on. */
void er_file_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct er_file *f = dev->priv;
	struct er_reactor *r = er_self ? er_self : f->home;
	struct er_disk_engine *eng = er_engine_get(r);
	struct er_fq *q = &f->q[r->index];

	ut_assert(r->index < ER_MAX_REACTORS && q->f == f);
	ut_assert(!f->closing); /* bs_close() is its owner's last call */
	/* nothing is submitted once the requests are being taken back */
	ut_assert(!f->abandoned && !(eng && eng->stopped));
	if (!eng) {
		/* No engine on this reactor (out of memory at its first
		 * request): fail the request, asynchronously is not possible
		 * without one, so directly. */
		req->done(req, -ENOMEM);
		return;
	}
	if (TAILQ_EMPTY(&eng->free_ios) || !TAILQ_EMPTY(&eng->waiting_files)) {
		TAILQ_INSERT_TAIL(&q->waiting, req, link);
		if (!q->on_wait_list) {
			q->on_wait_list = true;
			TAILQ_INSERT_TAIL(&eng->waiting_files, q, wait_link);
		}
		return;
	}
	er_io_start(eng, f, req);
}

/* ------------------------------------------------------ taking back */

/* An er_io the engine gave back (or never had: waiting for its defer, a
 * lone read) returns to the free list undelivered: its request is
 * forgotten. */
static void er_io_forget(struct er_io *io)
{
	struct er_disk_engine *eng = io->eng;
	struct er_file *f = io->f;

	ut_assert(io->req != NULL && !io->out);
	ut_assert(eng->inflight > 0 && atomic_load(&f->inflight) > 0);
	er_defer_cancel(eng->r, &io->defer);
	io->defer_result = false;
	io->req = NULL;
	io->f = NULL;
	atomic_fetch_sub(&f->inflight, 1);
	eng->inflight--;
	TAILQ_INSERT_HEAD(&eng->free_ios, io, link);
}

/* bs_ops.abandon (backstore.h): at exit, the loops stopped.  Every
 * reactor's engine stops for good (the first file to be taken back stops
 * it) and gives back what the kernel or its workers finish by
 * deadline_ns; this file's requests that came back, or never left
 * (waiting for an er_io, a defer, a lone read), are forgotten.  The ones
 * still out are counted: a worker stuck in pwritev on a hung file system
 * may still read their buffers, or a late io_uring read write into them. */
unsigned int er_file_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	struct er_file *f = dev->priv;
	struct er_group *g = f->home->group;
	unsigned int held = 0;

	ut_assert(er_self == NULL);
	ut_assert(!f->closing);
	f->abandoned = true;
	for (unsigned int i = 0; i < g->n; i++) {
		struct er_reactor *r = g->r[i];
		struct er_disk_engine *eng = r->disk;
		struct er_fq *q = &f->q[r->index];

		if (!eng)
			continue;
		(void)er_engine_take_back(eng, deadline_ns);
		if (q->on_wait_list) {
			TAILQ_REMOVE(&eng->waiting_files, q, wait_link);
			q->on_wait_list = false;
		}
		TAILQ_INIT(&q->waiting); /* never started */
		for (unsigned int k = 0; k < ER_QUEUE_DEPTH; k++) {
			struct er_io *io = &eng->ios[k];

			if (io->req == NULL || io->f != f)
				continue;
			if (io->out)
				held++;
			else
				er_io_forget(io);
		}
		ut_assert_slow(er_engine_pool_ok(eng));
	}
	if (held)
		LOG_WARN(&f->home->env,
			 "%s: %u requests still in the kernel's or the disk "
			 "threads' hands",
			 f->name, held);
	return held;
}
