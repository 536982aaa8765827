/*
 * disk_rbd.c — the Ceph RBD backstore (--lun rbd:POOL/IMAGE): the device,
 * its requests, open and close.  disk_rbd_cluster.c loads librbd and keeps
 * the connection to the cluster; disk_rbd.h is what the two share.
 *
 * librbd is loaded with dlopen() when the first RBD LUN opens, so the
 * daemon starts without it (and without Ceph's libraries in its address
 * space) wherever no RBD LUN is configured; an RBD LUN on a machine
 * without librbd1 fails to open, saying so.  The build uses librbd-dev's
 * header for the prototypes only.
 *
 * The reactor never waits for the cluster:
 *   - connecting and opening the image happen at startup, before the
 *     target listens, or for a LUN added later on a helper thread
 *     (open_async.c), each bounded by the timeout (client_mount_timeout,
 *     rados_mon_op_timeout);
 *   - requests are submitted with librbd's asynchronous calls
 *     (rbd_aio_readv, _writev, _flush, _discard, _write_zeroes,
 *     _writesame, _compare_and_write) with rbd_non_blocking_aio, so even
 *     their bookkeeping runs on librbd's threads;
 *   - the completion callback, on a librbd thread, sends the request back
 *     to the reactor that submitted it as an er_msg (reactor.c: a list
 *     under the reactor's post lock and its wake-up eventfd), where
 *     req->done runs;
 *   - every OSD operation is bounded by rados_osd_op_timeout (timeout=,
 *     30 s by default): a cluster that stops answering fails requests
 *     with -ETIMEDOUT instead of holding them forever;
 *   - what may wait on the cluster later (connecting again after the
 *     client was blocklisted, reading the size after a resize) runs on
 *     the device's control thread.
 *
 * Errors reach the SCSI layer as -errno (sense.c, scsi_fail_bs):
 *   -ETIMEDOUT   an OSD operation timed out      ABORTED COMMAND 08/01
 *   -ESHUTDOWN   this client was blocklisted     NOT READY 04/01
 *                (Ceph's EBLOCKLISTED), or its watch on the image
 *                header was lost for good: the control thread
 *                connects again; until then requests fail at once with
 *   -ENOTCONN    not connected (yet again)        NOT READY 04/01
 *   -ENOSPC, -EDQUOT  cluster or pool full       DATA PROTECT 27/07
 *   -EILSEQ      COMPARE AND WRITE miscompare    MISCOMPARE 1D/00
 * A watch that librbd loses and re-establishes by itself costs nothing
 * visible; one it cannot re-establish leaves the image blocklisted or
 * failing with -ESHUTDOWN / -ENOTCONN, handled as above.
 *
 * Connecting again after fencing, and following a resize of the image,
 * are disk_rbd_cluster.c's (the control thread).
 *
 * At exit, with the reactors stopped, the requests still in flight are
 * taken back first (rbd_abandon: completions not yet run are taken back
 * from the reactors' lists, requests librbd still carries are waited for
 * until a deadline), then the device is closed (bs_close).
 *
 * A LUN added to a running server opens on a helper thread
 * (open_async.c), and one removed from it closes on one (a job): the
 * reactor that applies the change carries sessions too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env_real/disk_rbd.h"

#define RBD_DEFAULT_TIMEOUT_S 30
#define RBD_CAW_MAX_BYTES 512u /* librbd's compare-and-write unit */

/* --------------------------------------------------------- requests */

/* A new er_rbd_io, remembered for close; under d->lock. */
static struct er_rbd_io *rbd_io_new_locked(struct er_rbd *d)
{
	struct er_rbd_io *io;

	if (d->all_count == d->all_cap) {
		size_t cap = d->all_cap ? d->all_cap * 2 : 64;
		struct er_rbd_io **a = realloc(d->all_ios, cap * sizeof(*a));

		if (!a)
			return NULL;
		d->all_ios = a;
		d->all_cap = cap;
	}
	io = calloc(1, sizeof(*io));
	if (io)
		d->all_ios[d->all_count++] = io;
	return io;
}

/* The pool grows to the peak number of requests in flight, then stays:
 * no allocation on the data path after warm-up. */
static struct er_rbd_io *rbd_io_get(struct er_rbd *d)
{
	struct er_rbd_io *io;

	pthread_mutex_lock(&d->lock);
	io = d->free_ios;
	if (io)
		d->free_ios = io->next_free;
	else
		io = rbd_io_new_locked(d);
	pthread_mutex_unlock(&d->lock);
	if (io)
		atomic_fetch_add(&d->outstanding, 1);
	return io;
}

static void rbd_io_put(struct er_rbd *d, struct er_rbd_io *io)
{
	atomic_fetch_sub(&d->outstanding, 1);
	pthread_mutex_lock(&d->lock);
	io->next_free = d->free_ios;
	d->free_ios = io;
	pthread_mutex_unlock(&d->lock);
}

static void rbd_io_issue(struct er_rbd_io *io, enum bs_op op);

/*
 * librbd cuts a request at the image's end (clipped: an image shrunk by
 * another client before its header update reached us) and answers the
 * bytes it moved.  A short read left the rest of the buffer as it was:
 * another command's bytes, in a buffer the pool reused, sent as GOOD
 * data.  The rest reads as zeros, as past the end of a file
 * (disk_file.c) and as QEMU's rbd driver does.  A write that moved fewer
 * bytes than asked did not happen whole: EIO (librbd answers 0 or the
 * length for one that did).  The other changes keep librbd's answer:
 * nothing here relies on what it counts for them.
 */
static int rbd_short(const struct er_rbd_io *io, int status)
{
	const struct bs_req *req = io->req;
	uint64_t skip = (uint64_t)io->ret, left;

	if (status < 0 || io->ret < 0 || (uint64_t)io->ret >= req->length_bytes)
		return status;
	if (req->op != BS_OP_READ)
		return req->op == BS_OP_WRITE && io->ret > 0 ? -EIO : status;
	left = req->length_bytes - skip;
	for (int i = 0; i < req->iovcnt && left > 0; i++) {
		size_t l = req->iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= (size_t)skip;
		if (l > left)
			l = (size_t)left;
		memset((char *)req->iov[i].iov_base + skip, 0, l);
		left -= l;
		skip = 0;
	}
	/* rbd_check: the iovecs hold length_bytes */
	ut_assert(left == 0);
	return status;
}

/* On the submitting reactor: the request is over (or needs its flush). */
static void rbd_io_done(struct er_msg *m)
{
	struct er_rbd_io *io = er_container_of(m, struct er_rbd_io, msg);
	struct er_rbd *d = io->d;
	struct er_reactor *r = io->r;
	struct bs_req *req = io->req;
	int status = rbd_short(io, io->ret < 0 ? (int)io->ret : 0);

	if (status == 0 && io->then_flush) {
		io->then_flush = false;
		rbd_io_issue(io, BS_OP_FLUSH);
		return;
	}
	if (status == -EILSEQ && req->op == BS_OP_COMPARE_AND_WRITE)
		req->miscompare_bytes =
			io->mismatch_off >= req->offset_bytes
				? io->mismatch_off - req->offset_bytes
				: 0;
	if (status < 0)
		LOG_DEBUG(&r->env, "%s: op %d at %llu+%llu: %s", rbd_name(d),
			  (int)req->op, (unsigned long long)req->offset_bytes,
			  (unsigned long long)req->length_bytes,
			  strerror(-status));
	r->remote_inflight--;
	io->req = NULL;
	rbd_io_put(d, io);
	req->done(req, status);
}

/* A librbd thread: the operation finished. */
static void rbd_aio_cb(rbd_completion_t c, void *arg)
{
	struct er_rbd_io *io = arg;
	struct er_rbd *d = io->d;

	io->ret = er_rbd_lib.rbd_aio_get_return_value(c);
	er_rbd_lib.rbd_aio_release(c);
	io->c = NULL;
	if (io->counted) {
		io->counted = false;
		atomic_fetch_sub(&d->users, 1);
	}
	/* EBLOCKLISTED is ESHUTDOWN in Ceph's Linux errno table. */
	if (io->ret == -ESHUTDOWN)
		er_rbd_fenced(d);
	er_msg_send(io->r, &io->msg);
}

/* Complete without librbd, still asynchronously. */
static void rbd_io_fail(struct er_rbd_io *io, int err)
{
	io->ret = err;
	io->then_flush = false;
	er_msg_send(io->r, &io->msg);
}

static int rbd_check(const struct er_rbd *d, const struct bs_req *req)
{
	const struct bs_dev *dev = &d->dev;
	uint64_t total = 0;

	if (req->op == BS_OP_FLUSH)
		return 0;
	if (req->op > BS_OP_COMPARE_AND_WRITE)
		return -EINVAL;
	if (req->op != BS_OP_READ && dev->read_only)
		return -EROFS;
	if (req->offset_bytes % dev->block_size ||
	    req->length_bytes % dev->block_size ||
	    req->offset_bytes > dev->size_bytes ||
	    req->length_bytes > dev->size_bytes - req->offset_bytes)
		return -EINVAL;
	for (int i = 0; i < req->iovcnt; i++)
		total += req->iov[i].iov_len;
	switch (req->op) {
	case BS_OP_READ:
	case BS_OP_WRITE:
		return total < req->length_bytes ? -EINVAL : 0;
	case BS_OP_WRITE_SAME:
		/* One block, repeated. */
		return req->iovcnt < 1 || req->iov[0].iov_len != dev->block_size
			       ? -EINVAL
			       : 0;
	case BS_OP_COMPARE_AND_WRITE:
		return req->iovcnt < 1 || req->iov[0].iov_len <
						  2 * req->length_bytes
			       ? -EINVAL
			       : 0;
	default:
		return 0;
	}
}

/* The iovecs of a READ/WRITE, cut to length_bytes. */
static int rbd_io_slice(struct er_rbd_io *io)
{
	const struct bs_req *req = io->req;
	uint64_t left = req->length_bytes;

	io->iovcnt = 0;
	for (int i = 0; i < req->iovcnt && left > 0; i++) {
		size_t l = req->iov[i].iov_len;

		if (io->iovcnt == RBD_IOV_MAX)
			return -EINVAL;
		if (l > left)
			l = (size_t)left;
		io->iov[io->iovcnt].iov_base = req->iov[i].iov_base;
		io->iov[io->iovcnt++].iov_len = l;
		left -= l;
	}
	return 0;
}

static int rbd_io_call(struct er_rbd_io *io, enum bs_op op)
{
	const struct bs_req *req = io->req;
	rbd_image_t img = io->d->image;
	uint64_t off = req->offset_bytes, len = req->length_bytes;
	char *buf;

	switch (op) {
	case BS_OP_READ:
		return er_rbd_lib.rbd_aio_readv(img, io->iov, io->iovcnt, off,
						io->c);
	case BS_OP_WRITE:
		return er_rbd_lib.rbd_aio_writev(img, io->iov, io->iovcnt, off,
						 io->c);
	case BS_OP_FLUSH:
		return er_rbd_lib.rbd_aio_flush(img, io->c);
	case BS_OP_UNMAP:
		return er_rbd_lib.rbd_aio_discard(img, off, len, io->c);
	case BS_OP_WRITE_ZEROES:
		return er_rbd_lib.rbd_aio_write_zeroes(img, off, len, io->c, 0,
						       0);
	case BS_OP_WRITE_SAME:
		return er_rbd_lib.rbd_aio_writesame(img, off, (size_t)len,
						    req->iov[0].iov_base,
						    req->iov[0].iov_len, io->c,
						    0);
	case BS_OP_COMPARE_AND_WRITE:
		buf = req->iov[0].iov_base;
		return (int)er_rbd_lib.rbd_aio_compare_and_write(
			img, off, (size_t)len, buf, buf + len, io->c,
			&io->mismatch_off, 0);
	}
	return -EINVAL;
}

/* Hand io to librbd as op (the request's, or the flush after FUA). */
static void rbd_io_issue(struct er_rbd_io *io, enum bs_op op)
{
	struct er_rbd *d = io->d;
	int rc;

	atomic_fetch_add(&d->users, 1);
	if (atomic_load(&d->state) != RBD_UP) {
		atomic_fetch_sub(&d->users, 1);
		rbd_io_fail(io, -ENOTCONN);
		return;
	}
	io->counted = true;
	rc = er_rbd_lib.rbd_aio_create_completion(io, rbd_aio_cb, &io->c);
	if (rc == 0) {
		rc = rbd_io_call(io, op);
		if (rc < 0) {
			er_rbd_lib.rbd_aio_release(io->c);
			io->c = NULL;
		}
	}
	if (rc < 0) {
		io->counted = false;
		atomic_fetch_sub(&d->users, 1);
		rbd_io_fail(io, rc);
	}
}

static void rbd_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct er_rbd *d = dev->priv;
	struct er_reactor *r = er_self ? er_self : d->home;
	struct er_rbd_io *io = rbd_io_get(d);
	int rc;

	if (!io) {
		req->done(req, -ENOMEM); /* synchronous: allowed */
		return;
	}
	io->d = d;
	io->r = r;
	io->req = req;
	io->ret = 0;
	io->mismatch_off = 0;
	io->msg.fn = rbd_io_done;
	/* Without the writeback cache every write is durable when librbd
	 * completes it (the OSDs journal before they answer). */
	io->then_flush = d->cache && (req->flags & BS_F_FUA) &&
			 req->op != BS_OP_READ && req->op != BS_OP_FLUSH;
	r->remote_inflight++;
	rc = rbd_check(d, req);
	if (rc == 0 && (req->op == BS_OP_READ || req->op == BS_OP_WRITE))
		rc = rbd_io_slice(io);
	if (rc == 0 && req->op == BS_OP_COMPARE_AND_WRITE &&
	    req->offset_bytes % RBD_CAW_MAX_BYTES + req->length_bytes >
		    RBD_CAW_MAX_BYTES)
		/* librbd 16 compares and writes within one 512-byte sector
		 * only (-EINVAL beyond): larger ones the SCSI layer emulates
		 * under its range lock, atomic against our own sessions but
		 * not against other clients of the image. */
		rc = -EOPNOTSUPP;
	if (rc == 0 && req->op != BS_OP_FLUSH && req->length_bytes == 0)
		rc = 1; /* nothing to do: complete with success */
	if (rc != 0) {
		rbd_io_fail(io, rc < 0 ? rc : 0);
		return;
	}
	rbd_io_issue(io, req->op);
}

/* ------------------------------------------------------- open, close */

static void rbd_free(struct er_rbd *d)
{
	for (size_t i = 0; i < d->all_count; i++)
		free(d->all_ios[i]);
	free(d->all_ios);
	free(d->conf);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* What may wait on the cluster: the control thread's last operation,
 * librbd's requests, releasing the image and the connection. */
static void rbd_close_wait(struct er_rbd *d)
{
	if (d->ctl_started) {
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->ctl, NULL);
	}
	/* backstore.h: every request came back or was taken back
	 * (rbd_abandon) first */
	ut_assert(atomic_load(&d->outstanding) == 0);
	er_rbd_disconnect(d);
}

static void rbd_close_forget(struct er_rbd *d)
{
	er_msg_cancel(d->home, &d->size_msg);
	for (size_t i = 0; i < d->all_count; i++)
		if (d->all_ios[i]->r)
			er_msg_cancel(d->all_ios[i]->r, &d->all_ios[i]->msg);
	rbd_free(d);
}

static void rbd_close_run(struct er_job *j)
{
	rbd_close_wait(er_container_of(j, struct er_rbd, close_job));
}

/* On home again (or at exit, the reactors stopped): a size reading the
 * control thread sent meanwhile has run or is taken back here. */
static void rbd_close_finish(struct er_job *j, bool abandoned)
{
	(void)abandoned;
	rbd_close_forget(er_container_of(j, struct er_rbd, close_job));
}

static void rbd_close_dev(struct bs_dev *dev)
{
	struct er_rbd *d = dev->priv;

	atomic_store(&d->state, RBD_CLOSING);
	/* Whoever owned the hook is going away with us. */
	d->dev.resized = NULL;
	/* A LUN removed from a running server: releasing the image talks to
	 * the cluster, which may take until the timeout; not on a reactor.
	 * Nothing of ours is in flight any more (the LU drained). */
	if (er_self && er_self == d->home) {
		d->close_job.run = rbd_close_run;
		d->close_job.finish = rbd_close_finish;
		if (er_job_start(d->home, &d->close_job) == 0)
			return;
	}
	rbd_close_wait(d);
	rbd_close_forget(d);
}

/* bs_ops.abandon (backstore.h), at exit with the reactors stopped: a
 * request whose completion librbd sent (queued for a reactor that no
 * longer runs) is taken back from the reactor's list and forgotten; one
 * librbd still carries may still read or write its buffers, and is
 * waited for until deadline_ns, then counted. */
static unsigned int rbd_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	struct er_rbd *d = dev->priv;
	unsigned int held;

	ut_assert(er_self == NULL);
	for (;;) {
		struct timespec ms = {.tv_nsec = 1000000};

		held = 0;
		for (size_t i = 0; i < d->all_count; i++) {
			struct er_rbd_io *io = d->all_ios[i];

			if (!io->req)
				continue;
			if (!er_msg_cancel(io->r, &io->msg)) {
				held++; /* librbd's still */
				continue;
			}
			io->r->remote_inflight--;
			io->req = NULL;
			rbd_io_put(d, io);
		}
		if (held == 0 || er_now_ns() >= deadline_ns)
			break;
		nanosleep(&ms, NULL);
	}
	if (held)
		LOG_WARN(&d->home->env,
			 "%s: %u requests still in librbd's hands", rbd_name(d),
			 held);
	return held;
}

static const struct bs_ops rbd_ops = {
	.submit = rbd_submit,
	.lba_status = NULL, /* everything reads as mapped */
	.abandon = rbd_abandon,
	.close = rbd_close_dev,
};

/* "POOL/IMAGE" into d->pool and d->image_name. */
static int rbd_parse_path(struct er_rbd *d, const char *path)
{
	const char *slash = path ? strchr(path, '/') : NULL;
	size_t plen;

	if (!slash || slash == path || !slash[1] || strchr(slash + 1, '/'))
		return -EINVAL;
	plen = (size_t)(slash - path);
	if (plen >= sizeof(d->pool) ||
	    strlen(slash + 1) >= sizeof(d->image_name))
		return -ENAMETOOLONG;
	memcpy(d->pool, path, plen);
	d->pool[plen] = '\0';
	snprintf(d->image_name, sizeof(d->image_name), "%s", slash + 1);
	return 0;
}

static int rbd_new(struct env *e, const struct bs_dev_params *p,
		   struct er_rbd **out)
{
	struct er_rbd *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->home = er_reactor_of(e);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	snprintf(d->name, sizeof(d->name), "%s",
		 p->name ? p->name : (p->path ? p->path : "rbd"));
	rc = rbd_parse_path(d, p->path);
	if (rc < 0) {
		LOG_ERR(e, "%s: '%s' is not POOL/IMAGE", rbd_name(d),
			p->path ? p->path : "");
		rbd_free(d);
		return rc;
	}
	if (p->conf && !(d->conf = strdup(p->conf))) {
		rbd_free(d);
		return -ENOMEM;
	}
	snprintf(d->id, sizeof(d->id), "%s",
		 p->client_id && p->client_id[0] ? p->client_id : "admin");
	d->timeout_s = p->timeout_s ? p->timeout_s : RBD_DEFAULT_TIMEOUT_S;
	d->cache = p->cache;
	d->dev.ops = &rbd_ops;
	d->dev.kind = BS_RBD;
	d->dev.block_size = p->block_size ? p->block_size : 512;
	d->dev.read_only = p->read_only;
	/* An RBD image is thin: discards deallocate and read back zeros
	 * (rbd_skip_partial_discard off). */
	d->dev.thin = true;
	d->dev.write_cache = p->cache;
	d->dev.caps = BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE;
	d->dev.priv = d;
	d->size_msg.fn = er_rbd_size_apply;
	atomic_init(&d->state, RBD_UP);
	*out = d;
	return 0;
}

int er_rbd_open(struct env *e, const struct bs_dev_params *p,
		struct bs_dev **out)
{
	struct er_rbd *d;
	rbd_image_info_t info;
	const char *what, *why;
	uint64_t size = 0;
	int rc;

	*out = NULL;
	rc = rbd_new(e, p, &d);
	if (rc < 0)
		return rc;
	why = er_rbd_lib_load();
	if (why) {
		LOG_ERR(e, "%s: %s", rbd_name(d), why);
		rbd_free(d);
		return -ENOSYS;
	}
	rc = er_rbd_connect(d, &what);
	if (rc < 0) {
		LOG_ERR(e,
			"%s: rbd %s/%s: cannot %s (conf %s, client.%s, "
			"timeout %u s): %s",
			rbd_name(d), d->pool, d->image_name, what,
			d->conf ? d->conf : "default", d->id, d->timeout_s,
			strerror(-rc));
		rbd_free(d);
		return rc;
	}
	rc = er_rbd_lib.rbd_stat(d->image, &info, sizeof(info));
	if (rc == 0)
		rc = er_rbd_lib.rbd_get_size(d->image, &size);
	if (rc < 0 || size < d->dev.block_size) {
		LOG_ERR(e, "%s: rbd %s/%s: %s", rbd_name(d), d->pool,
			d->image_name,
			rc < 0 ? strerror(-rc)
			       : "image smaller than one block");
		er_rbd_disconnect(d);
		rbd_free(d);
		return rc < 0 ? rc : -EINVAL;
	}
	d->obj_size = info.obj_size ? info.obj_size : 4u << 20;
	d->dev.size_bytes = size - size % d->dev.block_size;
	er_rbd_watch(d);
	if (pthread_create(&d->ctl, NULL, er_rbd_ctl_main, d) != 0) {
		LOG_ERR(e, "%s: cannot start its control thread", rbd_name(d));
		er_rbd_disconnect(d);
		rbd_free(d);
		return -EAGAIN;
	}
	d->ctl_started = true;
	LOG_INFO(e,
		 "%s: rbd %s/%s, %llu bytes in %u-byte blocks, %llu-byte "
		 "objects, timeout %u s%s%s",
		 rbd_name(d), d->pool, d->image_name,
		 (unsigned long long)d->dev.size_bytes, d->dev.block_size,
		 (unsigned long long)d->obj_size, d->timeout_s,
		 d->cache ? ", writeback cache" : "",
		 d->dev.read_only ? ", read-only" : "");
	*out = &d->dev;
	return 0;
}
