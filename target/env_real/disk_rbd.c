/*
 * disk_rbd.c — the Ceph RBD backstore (--lun rbd:POOL/IMAGE).
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
 *     to the reactor that submitted it as an er_msg (env_real.c: a list
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
 * Resize: an update watch on the image header (rbd_update_watch) wakes
 * the control thread, which reads the size (a refresh of the header: it
 * may wait on the cluster) and sends it to the home reactor; there the
 * device updates its capacity and calls its resized() hook.
 *
 * Connecting again.  Submitters count themselves in `users` before they
 * look at `state`; the control thread sets state DOWN, waits for users to
 * reach 0 (requests in flight complete or time out), and only then closes
 * the old image and opens a new connection.  So no reactor ever uses an
 * image being closed, without a lock on the data path.
 *
 * The device is closed (bs_close) at exit with the reactors stopped:
 * rbd_close() waits for requests in flight, and completions not yet run
 * are taken back from the reactors' lists before the memory goes.
 *
 * A LUN added to a running server opens on a helper thread
 * (open_async.c), and one removed from it closes on one (a job): the
 * reactor that applies the change carries sessions too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <rbd/librbd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"

#define RBD_DEFAULT_TIMEOUT_S 30
#define RBD_IOV_MAX 16	       /* iovecs per request; the SCSI layer sends 1 */
#define RBD_CAW_MAX_BYTES 512u /* librbd's compare-and-write unit */
#define RBD_RECONNECT_MIN_MS 500
#define RBD_RECONNECT_MAX_MS 10000

/* --------------------------------------------------------- librbd */

/* The librbd and librados calls we use, resolved once with dlsym. */
#define RBD_LIB_FUNCS(X)             \
	X(rados_create2)             \
	X(rados_conf_read_file)      \
	X(rados_conf_set)            \
	X(rados_connect)             \
	X(rados_shutdown)            \
	X(rados_getaddrs)            \
	X(rados_buffer_free)         \
	X(rados_ioctx_create)        \
	X(rados_ioctx_destroy)       \
	X(rbd_open)                  \
	X(rbd_open_read_only)        \
	X(rbd_close)                 \
	X(rbd_get_size)              \
	X(rbd_stat)                  \
	X(rbd_update_watch)          \
	X(rbd_update_unwatch)        \
	X(rbd_aio_create_completion) \
	X(rbd_aio_release)           \
	X(rbd_aio_get_return_value)  \
	X(rbd_aio_readv)             \
	X(rbd_aio_writev)            \
	X(rbd_aio_flush)             \
	X(rbd_aio_discard)           \
	X(rbd_aio_write_zeroes)      \
	X(rbd_aio_writesame)         \
	X(rbd_aio_compare_and_write)

struct rbd_lib {
#define RBD_LIB_FIELD(f) __typeof__(f) *f;
	RBD_LIB_FUNCS(RBD_LIB_FIELD)
#undef RBD_LIB_FIELD
};

static struct rbd_lib L;
static char rbd_lib_error[256];
static pthread_once_t rbd_lib_once = PTHREAD_ONCE_INIT;
static bool rbd_lib_ok;

static void rbd_lib_load(void)
{
	void *h = dlopen("librbd.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(rbd_lib_error, sizeof(rbd_lib_error),
			 "cannot load librbd (apt-get install librbd1): %s",
			 dlerror());
		return;
	}
#define RBD_LIB_SYM(f)                                                   \
	L.f = (__typeof__(f) *)dlsym(h, #f);                             \
	if (!L.f) {                                                      \
		snprintf(rbd_lib_error, sizeof(rbd_lib_error),           \
			 "librbd.so.1 has no %s (librbd too old?)", #f); \
		return;                                                  \
	}
	RBD_LIB_FUNCS(RBD_LIB_SYM)
#undef RBD_LIB_SYM
	rbd_lib_ok = true; /* the handle stays open for the process */
}

/* ---------------------------------------------------------- devices */

enum rbd_state {
	RBD_UP,	  /* requests go to the image */
	RBD_DOWN, /* connecting again: requests fail with -ENOTCONN */
	RBD_CLOSING,
};

struct er_rbd;

/* One request in librbd's hands. */
struct er_rbd_io {
	struct er_msg msg; /* the completion, back to the submitter */
	struct er_rbd *d;
	struct er_reactor *r; /* the submitter */
	struct bs_req *req;
	rbd_completion_t c;
	ssize_t ret;	       /* librbd's result, or our early -errno */
	uint64_t mismatch_off; /* COMPARE AND WRITE: image offset */
	bool then_flush;       /* FUA with the writeback cache on */
	bool counted;	       /* holds a reference in d->users */
	struct iovec iov[RBD_IOV_MAX];
	int iovcnt;
	struct er_rbd_io *next_free;
};

struct er_rbd {
	struct bs_dev dev;
	struct er_reactor *home; /* opened here: logs, resize */
	char name[64];
	char pool[128], image_name[256];
	char *conf;  /* NULL: librados' default search */
	char id[64]; /* client id, without "client." */
	uint32_t timeout_s;
	bool cache;
	uint64_t obj_size; /* bytes per RADOS object of the image */

	/* The connection; replaced only by the control thread while no
	 * request uses it (users == 0 with state DOWN). */
	rados_t cluster;
	rados_ioctx_t ioctx;
	rbd_image_t image;
	uint64_t watch_handle;
	bool watching;

	atomic_int state;	 /* enum rbd_state */
	atomic_uint users;	 /* submitters and requests using `image` */
	atomic_uint outstanding; /* er_rbd_io handed out */

	pthread_mutex_t lock; /* free list and the control thread's flags */
	pthread_cond_t cond;
	struct er_rbd_io *free_ios;
	struct er_rbd_io **all_ios; /* every er_rbd_io, for close */
	size_t all_count, all_cap;
	bool want_reconnect, want_size, stop;
	pthread_t ctl;
	bool ctl_started;

	/* Resize: the control thread's reading, applied on home. */
	struct er_msg size_msg;
	atomic_ullong new_size_bytes;

	/* Closed while the reactors run (a LUN removed): off the reactor. */
	struct er_job close_job;
};

static const char *rbd_name(const struct er_rbd *d)
{
	return d->name;
}

/* ------------------------------------------------------- connection */

static int rbd_conf_set(struct er_rbd *d, rados_t c, const char *k,
			const char *v)
{
	int rc = L.rados_conf_set(c, k, v);

	if (rc < 0)
		LOG_ERR(&d->home->env, "%s: cannot set %s=%s: %s", rbd_name(d),
			k, v, strerror(-rc));
	return rc;
}

/* Connect and open the image: at startup (before serving) or on the
 * control thread.  Fills d->cluster/ioctx/image or returns -errno with
 * *what naming the step that failed. */
static int rbd_connect(struct er_rbd *d, const char **what)
{
	char user[80], t[16];
	rados_t c = NULL;
	rados_ioctx_t io = NULL;
	rbd_image_t img = NULL;
	char *addrs = NULL;
	int rc;

	snprintf(user, sizeof(user), "client.%s", d->id);
	snprintf(t, sizeof(t), "%u", d->timeout_s);
	*what = "create a cluster handle";
	rc = L.rados_create2(&c, "ceph", user, 0);
	if (rc < 0)
		return rc;
	*what = "read the configuration";
	rc = L.rados_conf_read_file(c, d->conf);
	if (rc < 0)
		goto fail;
	/* Bounded waits everywhere (see the top of the file); discards and
	 * zeroing that read back as zeros even when partial (UNMAP with
	 * LBPRZ, WRITE SAME of zeros); the writeback cache only when asked
	 * for, its flushes then made by SYNCHRONIZE CACHE and FUA. */
	*what = "configure the client";
	if (rbd_conf_set(d, c, "client_mount_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rados_mon_op_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rados_osd_op_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rbd_non_blocking_aio", "true") < 0 ||
	    rbd_conf_set(d, c, "rbd_skip_partial_discard", "false") < 0 ||
	    rbd_conf_set(d, c, "rbd_cache", d->cache ? "true" : "false") < 0 ||
	    rbd_conf_set(d, c, "rbd_cache_writethrough_until_flush", "false") <
		    0) {
		rc = -EINVAL;
		goto fail;
	}
	*what = "connect to the cluster";
	rc = L.rados_connect(c);
	if (rc < 0)
		goto fail;
	*what = "open the pool";
	rc = L.rados_ioctx_create(c, d->pool, &io);
	if (rc < 0)
		goto fail;
	*what = "open the image";
	rc = d->dev.read_only
		     ? L.rbd_open_read_only(io, d->image_name, &img, NULL)
		     : L.rbd_open(io, d->image_name, &img, NULL);
	if (rc < 0)
		goto fail;
	if (L.rados_getaddrs(c, &addrs) == 0 && addrs) {
		/* The address is what `ceph osd blocklist add` takes. */
		LOG_INFO(&d->home->env, "%s: connected as %s, address %s",
			 rbd_name(d), user, addrs);
		L.rados_buffer_free(addrs);
	}
	d->cluster = c;
	d->ioctx = io;
	d->image = img;
	return 0;
fail:
	if (io)
		L.rados_ioctx_destroy(io);
	if (c)
		L.rados_shutdown(c);
	return rc;
}

static void rbd_disconnect(struct er_rbd *d)
{
	if (d->watching) {
		L.rbd_update_unwatch(d->image, d->watch_handle);
		d->watching = false;
	}
	if (d->image)
		L.rbd_close(d->image);
	if (d->ioctx)
		L.rados_ioctx_destroy(d->ioctx);
	if (d->cluster)
		L.rados_shutdown(d->cluster);
	d->image = NULL;
	d->ioctx = NULL;
	d->cluster = NULL;
}

/* A librbd thread: the image header changed (resize, snapshot, ...). */
static void rbd_header_updated(void *arg)
{
	struct er_rbd *d = arg;

	pthread_mutex_lock(&d->lock);
	d->want_size = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void rbd_watch(struct er_rbd *d)
{
	int rc = L.rbd_update_watch(d->image, &d->watch_handle,
				    rbd_header_updated, d);

	d->watching = rc == 0;
	if (rc < 0)
		LOG_WARN(&d->home->env,
			 "%s: no update watch (%s): resizes are not followed",
			 rbd_name(d), strerror(-rc));
}

/* ----------------------------------------------------- control thread */

/* On home: the control thread read a new size. */
static void rbd_size_apply(struct er_msg *m)
{
	struct er_rbd *d = er_container_of(m, struct er_rbd, size_msg);
	uint64_t bytes = atomic_load(&d->new_size_bytes);

	bytes -= bytes % d->dev.block_size;
	if (bytes == d->dev.size_bytes || bytes == 0)
		return;
	LOG_INFO(&d->home->env, "%s: image resized from %llu to %llu bytes",
		 rbd_name(d), (unsigned long long)d->dev.size_bytes,
		 (unsigned long long)bytes);
	d->dev.size_bytes = bytes;
	if (d->dev.resized)
		d->dev.resized(&d->dev, d->dev.resized_arg);
}

static void rbd_read_size(struct er_rbd *d)
{
	uint64_t size = 0;
	int rc;

	/* Only while UP: the image is ours to use like a request's. */
	atomic_fetch_add(&d->users, 1);
	if (atomic_load(&d->state) != RBD_UP) {
		atomic_fetch_sub(&d->users, 1);
		return;
	}
	rc = L.rbd_get_size(d->image, &size);
	atomic_fetch_sub(&d->users, 1);
	if (rc < 0) {
		LOG_WARN(&d->home->env, "%s: cannot read the image size: %s",
			 rbd_name(d), strerror(-rc));
		return;
	}
	atomic_store(&d->new_size_bytes, size);
	er_msg_send(d->home, &d->size_msg);
}

static void rbd_sleep_ms(struct er_rbd *d, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	if (!d->stop)
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	pthread_mutex_unlock(&d->lock);
}

/* Blocklisted (or the connection otherwise dead): wait for the requests
 * using the old image, drop it, connect again until it works. */
static void rbd_reconnect(struct er_rbd *d)
{
	unsigned int delay_ms = RBD_RECONNECT_MIN_MS;
	const char *what;
	int rc;

	LOG_WARN(&d->home->env,
		 "%s: the cluster fenced this client (blocklisted); "
		 "connecting again",
		 rbd_name(d));
	while (atomic_load(&d->users) != 0)
		rbd_sleep_ms(d, 10);
	rbd_disconnect(d);
	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return;
		}
		pthread_mutex_unlock(&d->lock);
		rc = rbd_connect(d, &what);
		if (rc == 0)
			break;
		LOG_WARN(&d->home->env, "%s: cannot %s: %s; again in %u ms",
			 rbd_name(d), what, strerror(-rc), delay_ms);
		rbd_sleep_ms(d, delay_ms);
		delay_ms = delay_ms * 2 > RBD_RECONNECT_MAX_MS
				   ? RBD_RECONNECT_MAX_MS
				   : delay_ms * 2;
	}
	rbd_watch(d);
	LOG_INFO(&d->home->env, "%s: connected again", rbd_name(d));
	atomic_store(&d->state, RBD_UP);
	rbd_read_size(d); /* it may have changed meanwhile */
}

static void *rbd_ctl_main(void *arg)
{
	struct er_rbd *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		bool reconnect, size;

		while (!d->stop && !d->want_reconnect && !d->want_size)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->stop)
			break;
		reconnect = d->want_reconnect;
		size = d->want_size;
		d->want_reconnect = d->want_size = false;
		pthread_mutex_unlock(&d->lock);
		if (reconnect)
			rbd_reconnect(d);
		else if (size)
			rbd_read_size(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* From any thread: stop using the connection, have it replaced. */
static void rbd_fenced(struct er_rbd *d)
{
	int up = RBD_UP;

	if (!atomic_compare_exchange_strong(&d->state, &up, RBD_DOWN))
		return; /* already reconnecting or closing */
	pthread_mutex_lock(&d->lock);
	d->want_reconnect = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

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

/* On the submitting reactor: the request is over (or needs its flush). */
static void rbd_io_done(struct er_msg *m)
{
	struct er_rbd_io *io = er_container_of(m, struct er_rbd_io, msg);
	struct er_rbd *d = io->d;
	struct er_reactor *r = io->r;
	struct bs_req *req = io->req;
	int status = io->ret < 0 ? (int)io->ret : 0;

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

	io->ret = L.rbd_aio_get_return_value(c);
	L.rbd_aio_release(c);
	io->c = NULL;
	if (io->counted) {
		io->counted = false;
		atomic_fetch_sub(&d->users, 1);
	}
	/* EBLOCKLISTED is ESHUTDOWN in Ceph's Linux errno table. */
	if (io->ret == -ESHUTDOWN)
		rbd_fenced(d);
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
		return L.rbd_aio_readv(img, io->iov, io->iovcnt, off, io->c);
	case BS_OP_WRITE:
		return L.rbd_aio_writev(img, io->iov, io->iovcnt, off, io->c);
	case BS_OP_FLUSH:
		return L.rbd_aio_flush(img, io->c);
	case BS_OP_UNMAP:
		return L.rbd_aio_discard(img, off, len, io->c);
	case BS_OP_WRITE_ZEROES:
		return L.rbd_aio_write_zeroes(img, off, len, io->c, 0, 0);
	case BS_OP_WRITE_SAME:
		return L.rbd_aio_writesame(img, off, (size_t)len,
					   req->iov[0].iov_base,
					   req->iov[0].iov_len, io->c, 0);
	case BS_OP_COMPARE_AND_WRITE:
		buf = req->iov[0].iov_base;
		return (int)L.rbd_aio_compare_and_write(img, off, (size_t)len,
							buf, buf + len, io->c,
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
	rc = L.rbd_aio_create_completion(io, rbd_aio_cb, &io->c);
	if (rc == 0) {
		rc = rbd_io_call(io, op);
		if (rc < 0) {
			L.rbd_aio_release(io->c);
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
	if (atomic_load(&d->outstanding) > 0)
		LOG_WARN(&d->home->env, "%s: closed with %u requests in flight",
			 rbd_name(d), atomic_load(&d->outstanding));
	/* Waits for librbd's requests; their completions, sent to reactors
	 * that no longer run, are taken back below. */
	rbd_disconnect(d);
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

static const struct bs_ops rbd_ops = {
	.submit = rbd_submit,
	.lba_status = NULL, /* everything reads as mapped */
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
	d->size_msg.fn = rbd_size_apply;
	atomic_init(&d->state, RBD_UP);
	*out = d;
	return 0;
}

int er_rbd_open(struct env *e, const struct bs_dev_params *p,
		struct bs_dev **out)
{
	struct er_rbd *d;
	rbd_image_info_t info;
	const char *what;
	uint64_t size = 0;
	int rc;

	*out = NULL;
	rc = rbd_new(e, p, &d);
	if (rc < 0)
		return rc;
	pthread_once(&rbd_lib_once, rbd_lib_load);
	if (!rbd_lib_ok) {
		LOG_ERR(e, "%s: %s", rbd_name(d), rbd_lib_error);
		rbd_free(d);
		return -ENOSYS;
	}
	rc = rbd_connect(d, &what);
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
	rc = L.rbd_stat(d->image, &info, sizeof(info));
	if (rc == 0)
		rc = L.rbd_get_size(d->image, &size);
	if (rc < 0 || size < d->dev.block_size) {
		LOG_ERR(e, "%s: rbd %s/%s: %s", rbd_name(d), d->pool,
			d->image_name,
			rc < 0 ? strerror(-rc)
			       : "image smaller than one block");
		rbd_disconnect(d);
		rbd_free(d);
		return rc < 0 ? rc : -EINVAL;
	}
	d->obj_size = info.obj_size ? info.obj_size : 4u << 20;
	d->dev.size_bytes = size - size % d->dev.block_size;
	rbd_watch(d);
	if (pthread_create(&d->ctl, NULL, rbd_ctl_main, d) != 0) {
		LOG_ERR(e, "%s: cannot start its control thread", rbd_name(d));
		rbd_disconnect(d);
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
