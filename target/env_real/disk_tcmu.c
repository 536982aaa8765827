/*
 * disk_tcmu.c — a backstore served by a tcmu-runner handler plugin
 * (--lun tcmu:HANDLER/CFGSTRING), loaded into utarget the way SCST's
 * usermode build loaded them: no TCMU, no UIO, no configfs.
 *
 * The plugin (handler_HANDLER.so, or whichever plugin of UT_TCMU_DIR
 * registers HANDLER) gets the configfs-style string "HANDLER/CFGSTRING"
 * with CFGSTRING what follows HANDLER in the spec, its leading '/'
 * included: tcmu:qcow/srv/vm.qcow2 opens "qcow//srv/vm.qcow2", exactly
 * what `targetcli /backstores/user:qcow create cfgstring=/srv/vm.qcow2`
 * gives the plugin.  The entry points it calls are in tcmu_api.c.
 *
 * Requests become plugin callouts:
 *   READ, WRITE        read, write (WRITE with FUA: write, then flush);
 *                      plugins with only handle_cmd (fbo, zbc) get a
 *                      READ(10/16) or WRITE(10/16) CDB through handle_cmd
 *   FLUSH              flush, or SYNCHRONIZE CACHE(10) through handle_cmd
 *   UNMAP              never sent: the LUN is not thin (see open)
 *   WRITE_SAME         writesame (BS_CAP_WRITE_SAME)
 *   COMPARE_AND_WRITE  caw (BS_CAP_COMPARE_AND_WRITE); refused with
 *                      INVALID_CDB, the SCSI layer emulates it
 *   WRITE_ZEROES       writesame with a zero block, else -EOPNOTSUPP
 *
 * Threads.  A plugin with nr_threads > 0 (qcow, fbo, zbc) does its I/O
 * synchronously inside the callout: the callouts run on nr_threads
 * worker threads of the device, one callout per thread at a time, and the
 * callout's return is the completion.  A plugin with nr_threads == 0
 * (rbd) only queues inside the callout, which therefore runs on the
 * reactor, and completes later from its own thread with
 * tcmur_cmd_complete().  Either way the completion comes back to the
 * submitting reactor as an er_msg (reactor.c) and req->done runs there.
 *
 * Not provided: the plugin's own SCSI personality (fbo's MMC commands,
 * zbc's zone commands) is not exposed: utarget presents a disk and sends
 * the plugin block I/O only; ALUA/lock callouts (lock, unlock,
 * get_lock_state), reconfig and report_event are not called;
 * tcmur_dev_update_size is refused.  See docs/configuration.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"
#include "env_real/tcmu_abi.h"

#ifndef UT_TCMU_DIR
#define UT_TCMU_DIR "/usr/lib/x86_64-linux-gnu/tcmu-runner"
#endif
#define TCMU_IOV_MAX 16
#define TCMU_MAX_THREADS 8

struct er_tcmu;

/* One request in the plugin's hands. */
struct er_tcmu_io {
	struct er_msg msg; /* the completion, back to the submitter */
	struct tcmur_cmd rcmd;
	struct tcmulib_cmd lcmd;
	uint8_t cdb[16];
	struct iovec iov[TCMU_IOV_MAX]; /* the plugin may consume these */
	int iovcnt;
	struct er_tcmu *d;
	struct er_reactor *r; /* the submitter */
	struct bs_req *req;
	enum bs_op op; /* the callout to make (FLUSH after a FUA write) */
	int sts;       /* TCMU_STS_* */
	bool then_flush;
	bool early;		      /* refused before the plugin saw it: */
	int early_rc;		      /* with this (0 or -errno) */
	TAILQ_ENTRY(er_tcmu_io) link; /* work queue, free list */
};

struct er_tcmu {
	struct bs_dev dev;
	struct tcmu_device tdev;
	const struct tcmur_handler *h;
	struct er_reactor *home;
	bool opened;	/* h->open succeeded */
	uint8_t *zeros; /* one zero block: WRITE_ZEROES */

	pthread_mutex_t lock; /* the free list, the work queue */
	pthread_cond_t cond;
	TAILQ_HEAD(, er_tcmu_io) free_ios, work;
	struct er_tcmu_io **all_ios;
	size_t all_count, all_cap;
	bool stop;
	pthread_t threads[TCMU_MAX_THREADS];
	unsigned int nthreads;
	atomic_uint outstanding;
};

/* ---------------------------------------------------------- requests */

/* The pool grows to the peak number in flight, then stays. */
static struct er_tcmu_io *tcmu_io_get(struct er_tcmu *d)
{
	struct er_tcmu_io *io;

	pthread_mutex_lock(&d->lock);
	io = TAILQ_FIRST(&d->free_ios);
	if (io) {
		TAILQ_REMOVE(&d->free_ios, io, link);
	} else {
		if (d->all_count == d->all_cap) {
			size_t cap = d->all_cap ? d->all_cap * 2 : 64;
			struct er_tcmu_io **a =
				realloc(d->all_ios, cap * sizeof(*a));

			if (a) {
				d->all_ios = a;
				d->all_cap = cap;
			}
		}
		io = d->all_count < d->all_cap ? calloc(1, sizeof(*io)) : NULL;
		if (io)
			d->all_ios[d->all_count++] = io;
	}
	pthread_mutex_unlock(&d->lock);
	if (io)
		atomic_fetch_add(&d->outstanding, 1);
	return io;
}

static void tcmu_io_put(struct er_tcmu *d, struct er_tcmu_io *io)
{
	atomic_fetch_sub(&d->outstanding, 1);
	pthread_mutex_lock(&d->lock);
	TAILQ_INSERT_HEAD(&d->free_ios, io, link);
	pthread_mutex_unlock(&d->lock);
}

/* A plugin status as the -errno of bs_done_fn (sense.c maps those). */
static int tcmu_sts_errno(struct er_tcmu_io *io)
{
	const uint8_t *s = io->lcmd.sense_buf;

	switch (io->sts) {
	case TCMU_STS_OK:
		return 0;
	case TCMU_STS_MISCOMPARE:
		/* The plugin put the offset in INFORMATION (fixed sense). */
		if (s[0] & 0x80)
			io->req->miscompare_bytes = (uint32_t)s[3] << 24 |
						    (uint32_t)s[4] << 16 |
						    (uint32_t)s[5] << 8 | s[6];
		return -EILSEQ;
	case TCMU_STS_TIMEOUT:
		return -ETIMEDOUT;
	case TCMU_STS_BUSY:   /* rbd: blocklisted, failing over */
	case TCMU_STS_FENCED: /* ALUA standby */
	case TCMU_STS_TRANSITION:
		return -ENOTCONN;
	case TCMU_STS_NO_RESOURCE:
		return -ENOMEM;
	case TCMU_STS_RANGE:
	case TCMU_STS_INVALID_CDB:
	case TCMU_STS_INVALID_CMD:
		return -EINVAL;
	case TCMU_STS_NOT_HANDLED:
		return -EOPNOTSUPP;
	default:
		return -EIO; /* RD_ERR, WR_ERR, HW_ERR, PASSTHROUGH_ERR... */
	}
}

static void tcmu_io_start(struct er_tcmu_io *io);

/* On the submitting reactor. */
static void tcmu_io_done(struct er_msg *m)
{
	struct er_tcmu_io *io = er_container_of(m, struct er_tcmu_io, msg);
	struct er_tcmu *d = io->d;
	struct bs_req *req = io->req;
	int status;

	if (io->sts == TCMU_STS_OK && io->then_flush) {
		io->then_flush = false;
		io->op = BS_OP_FLUSH;
		tcmu_io_start(io);
		return;
	}
	status = io->early ? io->early_rc : tcmu_sts_errno(io);
	/* A plugin may refuse a COMPARE AND WRITE it cannot do in one go
	 * (handler_rbd: librbd compares within one 512-byte sector): the
	 * SCSI layer then emulates it. */
	if (req->op == BS_OP_COMPARE_AND_WRITE && status == -EINVAL &&
	    !io->early)
		status = -EOPNOTSUPP;
	io->r->remote_inflight--;
	io->req = NULL;
	tcmu_io_put(d, io);
	req->done(req, status);
}

/* From the plugin (any thread) or our worker: the callout is over. */
static void tcmu_io_finish(struct er_tcmu_io *io, int sts)
{
	io->sts = sts;
	er_msg_send(io->r, &io->msg);
}

void er_tcmu_complete(struct tcmu_device *dev, struct tcmur_cmd *cmd, int sts)
{
	(void)dev;
	tcmu_io_finish(er_container_of(cmd, struct er_tcmu_io, rcmd), sts);
}

static void tcmur_done_cb(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			  int ret)
{
	er_tcmu_complete(dev, cmd, ret);
}

static void put_be32_(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A CDB for handle_cmd-only plugins: READ/WRITE(10) when the range
 * fits (fbo knows no 16-byte ones), (16) beyond; SYNCHRONIZE CACHE(10). */
static void tcmu_make_cdb(struct er_tcmu_io *io, uint64_t lba, uint32_t nblocks)
{
	uint8_t *c = io->cdb;
	bool rd = io->op == BS_OP_READ;

	memset(c, 0, sizeof(io->cdb));
	if (io->op == BS_OP_FLUSH) {
		c[0] = 0x35;
	} else if (lba <= UINT32_MAX && nblocks <= 0xffff) {
		c[0] = rd ? 0x28 : 0x2a;
		put_be32_(c + 2, (uint32_t)lba);
		c[7] = (uint8_t)(nblocks >> 8);
		c[8] = (uint8_t)nblocks;
	} else {
		c[0] = rd ? 0x88 : 0x8a;
		put_be32_(c + 2, (uint32_t)(lba >> 32));
		put_be32_(c + 6, (uint32_t)lba);
		put_be32_(c + 10, nblocks);
	}
}

/* Make the callout; returns its TCMU_STS (ASYNC: completion later). */
static int tcmu_io_call(struct er_tcmu_io *io)
{
	struct er_tcmu *d = io->d;
	const struct tcmur_handler *h = d->h;
	struct tcmu_device *td = &d->tdev;
	const struct bs_req *req = io->req;
	uint64_t off = req->offset_bytes, len = req->length_bytes;

	memset(&io->rcmd, 0, sizeof(io->rcmd));
	memset(&io->lcmd, 0, sizeof(io->lcmd));
	io->lcmd.cdb = io->cdb;
	io->lcmd.iovec = io->iov;
	io->lcmd.iov_cnt = (size_t)io->iovcnt;
	io->rcmd.lib_cmd = &io->lcmd;
	io->rcmd.iovec = io->iov;
	io->rcmd.iov_cnt = (size_t)io->iovcnt;
	io->rcmd.requested = (size_t)len;
	io->rcmd.done = tcmur_done_cb;
	if (!h->read && h->handle_cmd) {
		tcmu_make_cdb(io, off / d->dev.block_size,
			      (uint32_t)(len / d->dev.block_size));
		return h->handle_cmd(td, &io->rcmd);
	}
	switch (io->op) {
	case BS_OP_READ:
		return h->read(td, &io->rcmd, io->iov, (size_t)io->iovcnt,
			       (size_t)len, (off_t)off);
	case BS_OP_WRITE:
		return h->write(td, &io->rcmd, io->iov, (size_t)io->iovcnt,
				(size_t)len, (off_t)off);
	case BS_OP_FLUSH:
		return h->flush ? h->flush(td, &io->rcmd) : TCMU_STS_OK;
	case BS_OP_UNMAP:
		return h->unmap(td, &io->rcmd, off, len);
	case BS_OP_WRITE_SAME:
	case BS_OP_WRITE_ZEROES:
		return h->writesame(td, &io->rcmd, off, len, io->iov,
				    (size_t)io->iovcnt);
	case BS_OP_COMPARE_AND_WRITE:
		return h->caw(td, &io->rcmd, off, len, io->iov,
			      (size_t)io->iovcnt);
	}
	return TCMU_STS_INVALID_CMD;
}

/* Run the callout here (nr_threads == 0 or a worker thread). */
static void tcmu_io_run(struct er_tcmu_io *io)
{
	int sts = tcmu_io_call(io);

	/* A queuing plugin said OK (or ASYNC_HANDLED): tcmur_cmd_complete
	 * follows.  A blocking one is done when the callout returns. */
	if (io->d->h->nr_threads == 0 &&
	    (sts == TCMU_STS_OK || sts == TCMU_STS_ASYNC_HANDLED))
		return;
	if (sts == TCMU_STS_ASYNC_HANDLED)
		return;
	tcmu_io_finish(io, sts);
}

static void *tcmu_worker(void *arg)
{
	struct er_tcmu *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct er_tcmu_io *io;

		while (!d->stop && TAILQ_EMPTY(&d->work))
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->stop)
			break;
		io = TAILQ_FIRST(&d->work);
		TAILQ_REMOVE(&d->work, io, link);
		pthread_mutex_unlock(&d->lock);
		tcmu_io_run(io);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static void tcmu_io_start(struct er_tcmu_io *io)
{
	struct er_tcmu *d = io->d;

	if (d->nthreads == 0) {
		tcmu_io_run(io);
		return;
	}
	pthread_mutex_lock(&d->lock);
	TAILQ_INSERT_TAIL(&d->work, io, link);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static int tcmu_check(const struct er_tcmu *d, const struct bs_req *req)
{
	const struct bs_dev *dev = &d->dev;
	const struct tcmur_handler *h = d->h;
	uint64_t total = 0;

	if (req->op != BS_OP_READ && req->op != BS_OP_FLUSH && dev->read_only)
		return -EROFS;
	if (req->op != BS_OP_FLUSH &&
	    (req->offset_bytes % dev->block_size ||
	     req->length_bytes % dev->block_size ||
	     req->offset_bytes > dev->size_bytes ||
	     req->length_bytes > dev->size_bytes - req->offset_bytes))
		return -EINVAL;
	for (int i = 0; i < req->iovcnt; i++)
		total += req->iov[i].iov_len;
	switch (req->op) {
	case BS_OP_READ:
	case BS_OP_WRITE:
		return total < req->length_bytes ? -EINVAL : 0;
	case BS_OP_FLUSH:
		return 0;
	case BS_OP_UNMAP:
		return h->unmap ? 0 : -EOPNOTSUPP;
	case BS_OP_WRITE_ZEROES:
		return h->writesame ? 0 : -EOPNOTSUPP;
	case BS_OP_WRITE_SAME:
		return h->writesame && total == dev->block_size ? 0 : -EINVAL;
	case BS_OP_COMPARE_AND_WRITE:
		return h->caw && total >= 2 * req->length_bytes ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* The request's buffers into io->iov (the plugin may consume them). */
static int tcmu_io_iov(struct er_tcmu_io *io)
{
	const struct bs_req *req = io->req;
	uint64_t left;

	io->iovcnt = 0;
	if (req->op == BS_OP_WRITE_ZEROES) {
		io->iov[0].iov_base = io->d->zeros;
		io->iov[0].iov_len = io->d->dev.block_size;
		io->iovcnt = 1;
		return 0;
	}
	left = req->op == BS_OP_WRITE_SAME	    ? io->d->dev.block_size
	       : req->op == BS_OP_COMPARE_AND_WRITE ? 2 * req->length_bytes
						    : req->length_bytes;
	for (int i = 0; i < req->iovcnt && left > 0; i++) {
		size_t l = req->iov[i].iov_len;

		if (io->iovcnt == TCMU_IOV_MAX)
			return -EINVAL;
		if (l > left)
			l = (size_t)left;
		io->iov[io->iovcnt].iov_base = req->iov[i].iov_base;
		io->iov[io->iovcnt++].iov_len = l;
		left -= l;
	}
	return 0;
}

static void tcmu_submit(struct bs_dev *dev, struct bs_req *req)
{
	struct er_tcmu *d = dev->priv;
	struct er_reactor *r = er_self ? er_self : d->home;
	struct er_tcmu_io *io = tcmu_io_get(d);
	int rc;

	if (!io) {
		req->done(req, -ENOMEM); /* synchronous: allowed */
		return;
	}
	io->d = d;
	io->r = r;
	io->req = req;
	io->op = req->op;
	io->msg.fn = tcmu_io_done;
	io->early = false;
	io->then_flush = (req->flags & BS_F_FUA) && req->op != BS_OP_READ &&
			 req->op != BS_OP_FLUSH && d->tdev.write_cache;
	r->remote_inflight++;
	rc = tcmu_check(d, req);
	if (rc == 0)
		rc = tcmu_io_iov(io);
	if (rc == 0 && req->op != BS_OP_FLUSH && req->length_bytes == 0)
		rc = 1;
	if (rc != 0) {
		/* as the other backstores refuse it: -EROFS is DATA PROTECT,
		 * not the MEDIUM ERROR of a plugin's WR_ERR */
		io->then_flush = false;
		io->early = true;
		io->early_rc = rc < 0 ? rc : 0;
		er_msg_send(r, &io->msg);
		return;
	}
	tcmu_io_start(io);
}

/* ------------------------------------------------------- open, close */

static void tcmu_stop_threads(struct er_tcmu *d)
{
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (unsigned int i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	d->nthreads = 0;
}

static void tcmu_free(struct er_tcmu *d)
{
	for (size_t i = 0; i < d->all_count; i++)
		free(d->all_ios[i]);
	free(d->all_ios);
	free(d->zeros);
	free(d->tdev.cfgstring);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void tcmu_close_dev(struct bs_dev *dev)
{
	struct er_tcmu *d = dev->priv;

	/* backstore.h: every request came back or was taken back
	 * (tcmu_abandon) first */
	ut_assert(atomic_load(&d->outstanding) == 0);
	tcmu_stop_threads(d);
	if (d->opened)
		d->h->close(&d->tdev);
	for (size_t i = 0; i < d->all_count; i++)
		if (d->all_ios[i]->r)
			er_msg_cancel(d->all_ios[i]->r, &d->all_ios[i]->msg);
	tcmu_free(d);
}

static void tcmu_io_forget(struct er_tcmu *d, struct er_tcmu_io *io)
{
	io->r->remote_inflight--;
	io->req = NULL;
	tcmu_io_put(d, io);
}

/* bs_ops.abandon (backstore.h), at exit with the reactors stopped: what
 * waits in the work queue never starts, a completion the plugin sent
 * (queued for a reactor that no longer runs) is taken back, and a
 * callout still running may still read or write its buffers: it is
 * waited for until deadline_ns, then counted. */
static unsigned int tcmu_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	struct er_tcmu *d = dev->priv;
	TAILQ_HEAD(, er_tcmu_io) gone = TAILQ_HEAD_INITIALIZER(gone);
	struct er_tcmu_io *io;
	unsigned int held;

	ut_assert(er_self == NULL);
	pthread_mutex_lock(&d->lock);
	TAILQ_CONCAT(&gone, &d->work, link);
	pthread_mutex_unlock(&d->lock);
	while ((io = TAILQ_FIRST(&gone))) {
		TAILQ_REMOVE(&gone, io, link);
		tcmu_io_forget(d, io);
	}
	for (;;) {
		struct timespec ms = {.tv_nsec = 1000000};

		held = 0;
		for (size_t i = 0; i < d->all_count; i++) {
			io = d->all_ios[i];
			if (!io->req)
				continue;
			if (er_msg_cancel(io->r, &io->msg))
				tcmu_io_forget(d, io);
			else
				held++; /* the plugin's still */
		}
		if (held == 0 || er_now_ns() >= deadline_ns)
			break;
		nanosleep(&ms, NULL);
	}
	if (held)
		LOG_WARN(&d->home->env,
			 "%s: %u requests still in the plugin's hands",
			 d->tdev.name, held);
	return held;
}

static const struct bs_ops tcmu_ops = {
	.submit = tcmu_submit,
	.lba_status = NULL,
	.abandon = tcmu_abandon,
	.close = tcmu_close_dev,
};

/* The size a plugin's image has, when the configuration gives none:
 * qcow2's header (virtual size, QEMU's qcow2 spec: magic "QFI\xfb",
 * big-endian size at byte 24), or a plain file's size. */
static uint64_t tcmu_guess_size(const char *subtype, const char *path)
{
	uint8_t hdr[32];
	struct stat st;
	uint64_t size = 0;
	int fd;

	/* "/opts/opts@/path" (zbc's and fbo's options before the file):
	 * the file follows the '@'. */
	if (strstr(path, "@/"))
		path = strstr(path, "@/") + 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!strcmp(subtype, "qcow")) {
		if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
		    !memcmp(hdr, "QFI\xfb", 4))
			for (int i = 24; i < 32; i++)
				size = size << 8 | hdr[i];
	} else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	}
	close(fd);
	return size;
}

static int tcmu_fail(struct env *e, struct er_tcmu *d, const char *name,
		     const char *subtype, int rc, const char *why)
{
	LOG_ERR(e, "%s: tcmu handler %s: %s", name, subtype, why);
	if (d)
		tcmu_free(d);
	return rc;
}

int er_tcmu_open(struct env *e, const struct bs_dev_params *p,
		 struct bs_dev **out)
{
	const char *path = p->path ? p->path : "";
	const char *slash = strchr(path, '/');
	const char *name = p->name ? p->name : path;
	const char *dir = getenv("UTARGET_TCMU_DIR");
	char subtype[40], why[512];
	struct er_tcmu *d;
	size_t n;
	int rc;

	*out = NULL;
	n = slash ? (size_t)(slash - path) : 0;
	if (n == 0 || n >= sizeof(subtype))
		return tcmu_fail(e, NULL, name, "?", -EINVAL,
				 "expected HANDLER/CFGSTRING");
	memcpy(subtype, path, n);
	subtype[n] = '\0';
	tcmu_api_set_env(e);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	TAILQ_INIT(&d->free_ios);
	TAILQ_INIT(&d->work);
	d->home = er_reactor_of(e);
	d->h = tcmu_api_load(dir && *dir ? dir : UT_TCMU_DIR, subtype, why,
			     sizeof(why));
	if (!d->h)
		return tcmu_fail(e, d, name, subtype, -ENOENT, why);
	if (!d->h->open || (!d->h->read && !d->h->handle_cmd) ||
	    (d->h->read && !d->h->write))
		return tcmu_fail(e, d, name, subtype, -EINVAL,
				 "the plugin has neither read/write nor "
				 "handle_cmd callouts");
	/* configfs form: "HANDLER/" + the rest with its leading '/'. */
	if (asprintf(&d->tdev.cfgstring, "%s/%s", subtype, slash) < 0) {
		d->tdev.cfgstring = NULL;
		return tcmu_fail(e, d, name, subtype, -ENOMEM, "no memory");
	}
	if (d->h->check_config) {
		char *reason = NULL;

		if (!d->h->check_config(d->tdev.cfgstring, &reason)) {
			snprintf(why, sizeof(why),
				 "configuration '%s' refused: %s", slash,
				 reason ? reason : "no reason given");
			free(reason);
			return tcmu_fail(e, d, name, subtype, -EINVAL, why);
		}
	}
	d->tdev.env = e;
	d->tdev.owner = d;
	d->tdev.runner.dev = &d->tdev;
	d->tdev.priv = &d->tdev.runner;
	snprintf(d->tdev.name, sizeof(d->tdev.name), "%s", name);
	snprintf(d->tdev.wwn, sizeof(d->tdev.wwn), "%s", name);
	d->tdev.block_size = p->block_size ? p->block_size : 512;
	d->tdev.size_bytes = p->size_bytes ? p->size_bytes
					   : tcmu_guess_size(subtype, slash);
	if (d->tdev.size_bytes < d->tdev.block_size)
		return tcmu_fail(e, d, name, subtype, -EINVAL,
				 "the size is unknown: give size= (the "
				 "image's own size)");
	d->tdev.num_lbas = d->tdev.size_bytes / d->tdev.block_size;
	d->tdev.max_xfer_len = (64u << 20) / d->tdev.block_size;
	d->tdev.write_cache = true;
	rc = d->h->open(&d->tdev, false);
	if (rc != 0) {
		/* Plugins answer -errno, or just -1 (qcow): no errno then. */
		snprintf(why, sizeof(why), "cannot open '%s': %s (%d)", slash,
			 rc < -1 ? strerror(-rc) : "the plugin refused", rc);
		return tcmu_fail(e, d, name, subtype, rc < -1 ? rc : -EIO, why);
	}
	d->opened = true;
	/* The plugin may have set its own geometry (fbo: 2048-byte). */
	d->dev.block_size = d->tdev.block_size;
	d->dev.size_bytes = d->tdev.num_lbas * d->tdev.block_size;
	d->zeros = calloc(1, d->dev.block_size);
	if (!d->zeros) {
		d->h->close(&d->tdev);
		d->opened = false;
		return tcmu_fail(e, d, name, subtype, -ENOMEM, "no memory");
	}
	d->dev.ops = &tcmu_ops;
	d->dev.kind = BS_TCMU;
	d->dev.read_only = p->read_only;
	/* Not thin: utarget reports LBPRZ=1 for thin LUNs (unmapped blocks
	 * read as zeros), which no plugin promises (handler_rbd skips
	 * partial discards); the unmap callout stays unused. */
	d->dev.thin = false;
	d->dev.write_cache = d->tdev.write_cache;
	d->dev.rotational = false;
	d->dev.caps = (d->h->writesame ? BS_CAP_WRITE_SAME : 0) |
		      (d->h->caw ? BS_CAP_COMPARE_AND_WRITE : 0);
	d->dev.priv = d;
	d->nthreads = d->h->nr_threads > TCMU_MAX_THREADS
			      ? TCMU_MAX_THREADS
			      : (unsigned int)(d->h->nr_threads > 0
						       ? d->h->nr_threads
						       : 0);
	for (unsigned int i = 0; i < d->nthreads; i++) {
		if (pthread_create(&d->threads[i], NULL, tcmu_worker, d) != 0) {
			d->nthreads = i;
			tcmu_close_dev(&d->dev);
			LOG_ERR(e, "%s: cannot start the handler's threads",
				name);
			return -EAGAIN;
		}
	}
	LOG_INFO(e,
		 "%s: tcmu handler %s (%s), '%s', %llu bytes in %u-byte "
		 "blocks, %s%s",
		 name, subtype, d->h->name ? d->h->name : "?", slash,
		 (unsigned long long)d->dev.size_bytes, d->dev.block_size,
		 d->nthreads ? "blocking callouts on threads"
			     : "asynchronous callouts",
		 d->h->read ? "" : ", through handle_cmd");
	*out = &d->dev;
	return 0;
}
