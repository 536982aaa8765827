/*
 * disk_engine.c — a reactor's disk engine, which carries out the file
 * backstore's requests (disk_file.c): one io_uring per reactor whose
 * eventfd sits in the reactor's epoll set, or, where io_uring is refused
 * (seccomp, old kernel, UTARGET_NO_URING=1), a few worker threads doing
 * preadv2/pwritev2/fdatasync/fallocate and posting results back through an
 * eventfd.  Either way completions run on the reactor thread (through
 * er_io_result()) and never inside bs_submit().
 *
 * The engine starts with the reactor's first request (er_engine_get) and
 * goes with the reactor (er_disk_engine_free).  io_uring submissions are
 * batched: SQEs are prepared during the loop iteration and submitted once,
 * before the reactor sleeps (er_disk_flush).  A read alone in its loop
 * turn (QD1) is tried first with preadv2(RWF_NOWAIT) on the reactor: a
 * page-cache hit then costs one system call and no eventfd wake-up; a
 * miss goes to the ring (er_read_inline).
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"
#include "env_real/disk_file.h"

uint32_t er_test_stall_ms;

/* ------------------------------------------------------ io_uring path */

static struct io_uring_sqe *er_uring_sqe(struct er_disk_engine *eng)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&eng->ring);

	if (!sqe) {
		/* The SQ is full: hand it to the kernel now. */
		io_uring_submit(&eng->ring);
		sqe = io_uring_get_sqe(&eng->ring);
	}
	return sqe;
}

static void er_uring_prep(struct er_io *io)
{
	struct er_disk_engine *eng = io->eng;
	struct bs_req *req = io->req;
	struct io_uring_sqe *sqe = er_uring_sqe(eng);
	int fd = io->f->fd;

	/* Cannot happen: an er_io has at most one SQE waiting for submission,
	 * there are ER_QUEUE_DEPTH er_io and the ring has as many SQEs (even
	 * when a submission failed and left them queued). */
	ut_assert(sqe != NULL);
	ut_assert(io->stage == ER_ST_FLUSH || io->stage == ER_ST_FALLOC ||
		  io->iovcnt > 0);
	ut_assert(!io->out && !eng->stopped);
	if (er_test_stall_ms) {
		/* the test's stall: a timeout, the request linked after it
		 * (its CQE names no er_io) */
		static struct __kernel_timespec stall_ts;

		stall_ts.tv_sec = er_test_stall_ms / 1000;
		stall_ts.tv_nsec =
			(long long)(er_test_stall_ms % 1000) * 1000000;
		io_uring_prep_timeout(sqe, &stall_ts, 0,
				      IORING_TIMEOUT_ETIME_SUCCESS);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data(sqe, NULL);
		sqe = er_uring_sqe(eng);
		ut_assert(sqe != NULL);
	}
	io->out = true;
	eng->out++;
	switch (io->stage) {
	case ER_ST_RW:
		if (req->op == BS_OP_READ) {
			io_uring_prep_readv(sqe, fd, io->iov,
					    (unsigned int)io->iovcnt,
					    io->chunk_off);
		} else {
			io_uring_prep_writev(sqe, fd, io->iov,
					     (unsigned int)io->iovcnt,
					     io->chunk_off);
			if (req->flags & BS_F_FUA)
				sqe->rw_flags = RWF_DSYNC;
		}
		break;
	case ER_ST_ZEROS:
		io_uring_prep_writev(sqe, fd, io->iov, (unsigned int)io->iovcnt,
				     io->chunk_off);
		break;
	case ER_ST_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case ER_ST_FALLOC:
		io_uring_prep_fallocate(sqe, fd, io->fa_mode, req->offset_bytes,
					req->length_bytes);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
}

/* A read alone in its loop turn is held back (eng->lone_read) for
 * er_disk_flush to try on the reactor; anything issued after it goes to
 * the ring, with it. */
void er_uring_issue(struct er_io *io)
{
	struct er_disk_engine *eng = io->eng;

	ut_assert(eng->lone_read != io);
	if (io->stage == ER_ST_RW && io->req->op == BS_OP_READ &&
	    !eng->r->no_inline_reads && !eng->lone_read &&
	    io_uring_sq_ready(&eng->ring) == 0) {
		eng->lone_read = io;
		return;
	}
	if (eng->lone_read) {
		struct er_io *lone = eng->lone_read;

		eng->lone_read = NULL;
		er_uring_prep(lone);
	}
	er_uring_prep(io);
}

/* The lone read of a loop turn, on the reactor: a page-cache hit is one
 * preadv2 instead of an io_uring_enter, an eventfd signal, an epoll event
 * and a read of the eventfd (QD1 pays all of them per command).  Only
 * what will not block: RWF_NOWAIT says EAGAIN for pages not cached, and
 * then the read goes to the ring as before.  True when done. */
static bool er_read_inline(struct er_io *io)
{
	ssize_t n;

	ut_assert(io->stage == ER_ST_RW && io->req->op == BS_OP_READ);
	ut_assert(io->iovcnt > 0 && er_self == io->eng->r);
	n = preadv2(io->f->fd, io->iov, io->iovcnt, (off_t)io->chunk_off,
		    RWF_NOWAIT);
	er_turn_clock(io->eng->r); /* it completes now */
	if (n < 0)
		return false; /* EAGAIN, or the ring meets the error */
	/* a short read's remainder is er_io_result's business */
	io->eng->stats.inline_reads++;
	er_io_result(io, n);
	return true;
}

/* The lone read of a loop turn (er_uring_issue), on the reactor or to
 * the ring; again while what it completes issues another one alone (a
 * short read's remainder, a command its completion let run). */
static void er_lone_read_flush(struct er_disk_engine *eng)
{
	while (eng->lone_read) {
		struct er_io *lone = eng->lone_read;

		/* alone: nothing else waits for submission */
		ut_assert(io_uring_sq_ready(&eng->ring) == 0);
		eng->lone_read = NULL;
		if (!er_read_inline(lone))
			er_uring_prep(lone);
	}
}

static void er_uring_reap(struct er_disk_engine *eng)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&eng->ring, &cqe) == 0) {
		struct er_io *io = io_uring_cqe_get_data(cqe);
		ssize_t res = cqe->res;

		io_uring_cqe_seen(&eng->ring, cqe);
		if (!io)
			continue; /* the test's stall timeout */
		/* Every request's SQE names its er_io, of this engine. */
		ut_assert(io->eng == eng && io->req != NULL);
		ut_assert(io->out && eng->out > 0);
		io->out = false;
		eng->out--;
		er_io_result(io, res);
	}
}

static void er_uring_event(struct er_watch *w, uint32_t events)
{
	struct er_disk_engine *eng =
		er_container_of(w, struct er_disk_engine, done_watch);
	(void)events;
	/* The eventfd is watched edge-triggered and never read: every
	 * signal of the kernel (one per batch of CQEs posted) queues the
	 * watch on the epoll ready list again whatever the counter says, so
	 * a completion posted after this reap wakes the loop once more.  A
	 * read to empty the counter (level-triggered) cost a system call
	 * per submit: the page-cache hits of every io_uring_enter signal
	 * it. */
	er_uring_reap(eng);
}

void er_disk_stats_add(const struct er_reactor *r,
		       struct env_real_disk_stats *sum)
{
	if (!r->disk)
		return;
	sum->inline_writes += r->disk->stats.inline_writes;
	sum->engine_writes += r->disk->stats.engine_writes;
	sum->inline_slow += r->disk->stats.inline_slow;
	sum->zero_copy_reads += r->disk->stats.zero_copy_reads;
	sum->inline_reads += r->disk->stats.inline_reads;
}

bool er_disk_busy(const struct er_reactor *r)
{
	return r->disk && r->disk->inflight > 0;
}

bool er_disk_flush(struct er_reactor *r)
{
	struct er_disk_engine *eng = r->disk;
	int rc;

	ut_assert(er_self == r);
	if (!eng || !eng->uring)
		return false;
	do {
		if (eng->lone_read)
			er_lone_read_flush(eng);
		else if (io_uring_sq_ready(&eng->ring) == 0)
			return false; /* nothing to do */
		if (io_uring_sq_ready(&eng->ring) == 0)
			return true;
		ut_assert(io_uring_sq_ready(&eng->ring) <= ER_QUEUE_DEPTH);
		/* Page-cache hits complete inside io_uring_enter: take them
		 * now rather than after another trip through epoll_wait.
		 * Their responses go out this iteration (the loop fires the
		 * flush timer due now).  (Their eventfd signal still costs an
		 * epoll event, no read (er_uring_event): turning it off around the
		 * submit, IORING_CQ_EVENTFD_DISABLED, would race with an io-wq
		 * completion posted meanwhile, whose CQE x86 may not show us
		 * after the flag is back without a barrier on the kernel's
		 * side; and watching the ring's own fd instead missed io-wq
		 * completions.  A lone read avoids all of it.) */
		rc = io_uring_submit(&eng->ring);
		/* what completed inside it completes now */
		er_turn_clock(r);
		if (rc < 0) {
			/* The kernel busy (EBUSY: completions to reap first)
			 * or out of memory: the SQEs stay in the ring.  The
			 * loop turns again without sleeping and this submits
			 * them, rather than their requests waiting for an
			 * unrelated wake-up. */
			if (!eng->submit_refused)
				LOG_ERR(&r->env,
					"io_uring_submit: %s; retrying",
					strerror(-rc));
			eng->submit_refused = true;
			er_defer_queue(r, &eng->retry);
		} else {
			eng->submit_refused = false;
		}
		er_uring_reap(eng);
		/* a reaped completion issued a read, alone again */
	} while (eng->lone_read);
	return true;
}

/* Nothing to do: a queued defer only makes the loop turn at once, and
 * its er_disk_flush submits again. */
static void er_engine_retry(struct er_defer *d)
{
	(void)d;
}

/* -------------------------------------------------- thread-pool path */

static ssize_t er_pool_do(struct er_io *io)
{
	struct bs_req *req = io->req;
	int fd = io->f->fd;
	ssize_t n = 0;

	/* On a worker thread: only what the er_io carries is touched. */
	ut_assert(!io->eng->uring);
	ut_assert(fd >= 0);
	if (er_test_stall_ms) {
		struct timespec ts = {
			.tv_sec = er_test_stall_ms / 1000,
			.tv_nsec = (long)(er_test_stall_ms % 1000) * 1000000,
		};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	switch (io->stage) {
	case ER_ST_RW:
		if (req->op == BS_OP_READ)
			n = preadv(fd, io->iov, io->iovcnt,
				   (off_t)io->chunk_off);
		else
			n = pwritev2(fd, io->iov, io->iovcnt,
				     (off_t)io->chunk_off,
				     (req->flags & BS_F_FUA) ? RWF_DSYNC : 0);
		break;
	case ER_ST_ZEROS:
		n = pwritev(fd, io->iov, io->iovcnt, (off_t)io->chunk_off);
		break;
	case ER_ST_FLUSH:
		n = fdatasync(fd);
		break;
	case ER_ST_FALLOC:
		n = fallocate(fd, io->fa_mode, (off_t)req->offset_bytes,
			      (off_t)req->length_bytes);
		break;
	}
	return n < 0 ? -errno : n;
}

static void *er_pool_main(void *arg)
{
	struct er_disk_engine *eng = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&eng->lock);
	for (;;) {
		struct er_io *io;
		ssize_t n;

		while (!eng->shutdown && TAILQ_EMPTY(&eng->work))
			pthread_cond_wait(&eng->cond, &eng->lock);
		if (eng->shutdown)
			break;
		io = TAILQ_FIRST(&eng->work);
		TAILQ_REMOVE(&eng->work, io, link);
		pthread_mutex_unlock(&eng->lock);

		io->res = er_pool_do(io);

		pthread_mutex_lock(&eng->lock);
		ut_assert(io->out && eng->out > 0);
		io->out = false;
		eng->out--;
		TAILQ_INSERT_TAIL(&eng->done, io, link);
		n = write(eng->done_watch.fd, &one, sizeof(one));
		(void)n; /* a full counter still wakes the reactor */
	}
	pthread_mutex_unlock(&eng->lock);
	return NULL;
}

void er_pool_issue(struct er_io *io)
{
	struct er_disk_engine *eng = io->eng;

	ut_assert(!eng->uring && eng->nthreads > 0);
	ut_assert(io->req != NULL);
	pthread_mutex_lock(&eng->lock);
	ut_assert(!io->out && !eng->stopped);
	io->out = true;
	eng->out++;
	TAILQ_INSERT_TAIL(&eng->work, io, link);
	pthread_cond_signal(&eng->cond);
	pthread_mutex_unlock(&eng->lock);
}

static void er_pool_event(struct er_watch *w, uint32_t events)
{
	struct er_disk_engine *eng =
		er_container_of(w, struct er_disk_engine, done_watch);
	TAILQ_HEAD(, er_io) done = TAILQ_HEAD_INITIALIZER(done);
	struct er_io *io;
	uint64_t v;

	(void)events;
	while (read(w->fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	pthread_mutex_lock(&eng->lock);
	TAILQ_CONCAT(&done, &eng->done, link);
	pthread_mutex_unlock(&eng->lock);
	ut_assert(er_self == eng->r);
	while ((io = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, io, link);
		ut_assert(io->eng == eng && io->req != NULL);
		er_io_result(io, io->res);
	}
}

static int er_pool_start(struct er_disk_engine *eng)
{
	sigset_t all, old;
	int rc = 0;

	ut_assert(!eng->uring && eng->nthreads == 0);
	TAILQ_INIT(&eng->work);
	TAILQ_INIT(&eng->done);
	pthread_mutex_init(&eng->lock, NULL);
	pthread_cond_init(&eng->cond, NULL);
	/* Workers take no signals: those belong to the reactor's signalfd,
	 * and a worker catching SIGTERM would kill the process. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; eng->nthreads < ER_POOL_THREADS; eng->nthreads++) {
		rc = pthread_create(&eng->threads[eng->nthreads], NULL,
				    er_pool_main, eng);
		if (rc != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return eng->nthreads > 0 ? 0 : -rc;
}

static void er_pool_stop(struct er_disk_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
	eng->shutdown = true;
	pthread_cond_broadcast(&eng->cond);
	pthread_mutex_unlock(&eng->lock);
	for (unsigned int i = 0; i < eng->nthreads; i++)
		pthread_join(eng->threads[i], NULL);
	/* The workers are gone: nothing of theirs is left to pick up. */
	ut_assert(TAILQ_EMPTY(&eng->work));
	ut_assert(eng->nthreads <= ER_POOL_THREADS);
	pthread_cond_destroy(&eng->cond);
	pthread_mutex_destroy(&eng->lock);
}

/* ---------------------------------------------------------- taking back */

/* Cancel what the engine has not started: SQEs go with a cancel of
 * everything (requests already running in the kernel finish, or end
 * -ECANCELED where the kernel can interrupt them); the pool's queue is
 * emptied.  What a worker runs it finishes. */
static void er_engine_cancel(struct er_disk_engine *eng)
{
	struct er_io *io;

	eng->lone_read = NULL; /* never prepared: nothing to wait for */
	if (eng->uring) {
		struct io_uring_sqe *sqe = er_uring_sqe(eng);

		if (sqe) {
			io_uring_prep_cancel(sqe, NULL,
					     IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data(sqe, NULL);
		}
		/* also what was prepared and not yet submitted */
		io_uring_submit(&eng->ring);
		return;
	}
	pthread_mutex_lock(&eng->lock);
	while ((io = TAILQ_FIRST(&eng->work))) {
		TAILQ_REMOVE(&eng->work, io, link);
		ut_assert(io->out && eng->out > 0);
		io->out = false;
		eng->out--;
	}
	pthread_mutex_unlock(&eng->lock);
}

/* The CQEs of requests the kernel gave back, until deadline_ns: they are
 * counted back and never delivered (the loop has stopped). */
static void er_uring_drain(struct er_disk_engine *eng, uint64_t deadline_ns)
{
	for (;;) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts;
		uint64_t now = er_now_ns(), left;

		while (io_uring_peek_cqe(&eng->ring, &cqe) == 0) {
			struct er_io *io = io_uring_cqe_get_data(cqe);

			io_uring_cqe_seen(&eng->ring, cqe);
			if (!io)
				continue; /* the cancel's own, a stall's */
			ut_assert(io->eng == eng && io->out && eng->out > 0);
			io->out = false;
			eng->out--;
		}
		if (eng->out == 0 || now >= deadline_ns)
			return;
		left = deadline_ns - now;
		ts.tv_sec = (long long)(left / 1000000000u);
		ts.tv_nsec = (long long)(left % 1000000000u);
		(void)io_uring_wait_cqe_timeout(&eng->ring, &cqe, &ts);
	}
}

/* The workers finish what they run, until deadline_ns. */
static void er_pool_drain(struct er_disk_engine *eng, uint64_t deadline_ns)
{
	for (;;) {
		unsigned int out;
		struct timespec ms = {.tv_nsec = 1000000};

		pthread_mutex_lock(&eng->lock);
		out = eng->out;
		/* nothing is delivered any more: the finished are forgotten
		 * (their er_io are taken back by their file) */
		TAILQ_INIT(&eng->done);
		pthread_mutex_unlock(&eng->lock);
		if (out == 0 || er_now_ns() >= deadline_ns)
			return;
		nanosleep(&ms, NULL);
	}
}

unsigned int er_engine_take_back(struct er_disk_engine *eng,
				 uint64_t deadline_ns)
{
	unsigned int out;

	/* The loops have stopped: nothing runs on the reactor any more. */
	ut_assert(er_self == NULL);
	if (!eng->stopped) {
		eng->stopped = true;
		er_defer_cancel(eng->r, &eng->retry);
		er_engine_cancel(eng);
	}
	if (eng->uring) {
		er_uring_drain(eng, deadline_ns);
		out = eng->out;
	} else {
		er_pool_drain(eng, deadline_ns);
		pthread_mutex_lock(&eng->lock);
		out = eng->out;
		pthread_mutex_unlock(&eng->lock);
	}
	ut_assert(out <= eng->inflight);
	return out;
}

/* -------------------------------------------------- the engine itself */

/* Pool accounting: the free list and the er_io in use make up the array
 * (walks the free list: for ut_assert_slow). */
bool er_engine_pool_ok(const struct er_disk_engine *eng)
{
	const struct er_io *io;
	unsigned int free_n = 0;

	TAILQ_FOREACH (io, &eng->free_ios, link) {
		if (io->req != NULL || io->eng != eng)
			return false;
		free_n++;
	}
	return free_n + eng->inflight == ER_QUEUE_DEPTH;
}

/* UTARGET_TEST_DISK_STALL_MS (disk_file.h): every request goes to the
 * engine, where the stall is (none on the reactor). */
static void er_test_stall_init(struct er_reactor *r)
{
	const char *v = getenv("UTARGET_TEST_DISK_STALL_MS");
	unsigned long ms;

	er_test_stall_ms = 0;
	if (!v || !*v)
		return;
	ms = strtoul(v, NULL, 10);
	er_test_stall_ms = ms > 3600000u ? 3600000u : (uint32_t)ms;
	if (!er_test_stall_ms)
		return;
	r->no_inline_reads = true;
	r->inline_writes = ENV_REAL_INLINE_OFF;
	LOG_WARN(&r->env,
		 "UTARGET_TEST_DISK_STALL_MS: every disk request waits %u ms "
		 "(a test of a hung store)",
		 er_test_stall_ms);
}

struct er_disk_engine *er_engine_get(struct er_reactor *r)
{
	struct er_disk_engine *eng = r->disk;
	int rc = -ENOSYS, efd;

	if (eng)
		return eng;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return NULL;
	eng->r = r;
	eng->retry.fn = er_engine_retry;
	er_test_stall_init(r);
	eng->zeros = calloc(1, ER_ZERO_BYTES);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!eng->zeros || efd < 0)
		goto fail;
	TAILQ_INIT(&eng->free_ios);
	TAILQ_INIT(&eng->waiting_files);
	for (int i = 0; i < ER_QUEUE_DEPTH; i++) {
		eng->ios[i].eng = eng;
		eng->ios[i].defer.fn = er_io_deferred;
		TAILQ_INSERT_TAIL(&eng->free_ios, &eng->ios[i], link);
	}
	eng->done_watch.fd = efd;
	if (!r->disable_uring) {
		rc = io_uring_queue_init(ER_QUEUE_DEPTH, &eng->ring, 0);
		if (rc == 0) {
			rc = io_uring_register_eventfd(&eng->ring, efd);
			if (rc < 0)
				io_uring_queue_exit(&eng->ring);
		}
	}
	if (rc == 0) {
		eng->uring = true;
		eng->done_watch.fn = er_uring_event;
		LOG_INFO(&r->env, "disk I/O: io_uring, queue depth %d",
			 ER_QUEUE_DEPTH);
	} else {
		LOG_INFO(&r->env, "disk I/O: %d worker threads (io_uring %s)",
			 ER_POOL_THREADS,
			 r->disable_uring ? "disabled" : strerror(-rc));
		eng->done_watch.fn = er_pool_event;
		if (er_pool_start(eng) < 0)
			goto fail;
	}
	/* edge-triggered for the ring (er_uring_event); the pool's eventfd
	 * is read (er_pool_event) */
	if (er_watch_add(r, &eng->done_watch,
			 eng->uring ? EPOLLIN | EPOLLET : EPOLLIN) < 0) {
		if (eng->uring)
			io_uring_queue_exit(&eng->ring);
		else
			er_pool_stop(eng);
		goto fail;
	}
	r->disk = eng;
	ut_assert(eng->inflight == 0);
	ut_assert_slow(er_engine_pool_ok(eng));
	return eng;
fail:
	if (efd >= 0)
		close(efd);
	free(eng->zeros);
	free(eng);
	return NULL;
}

void er_disk_engine_free(struct er_reactor *r)
{
	struct er_disk_engine *eng = r->disk;

	if (!eng)
		return;
	ut_assert(er_owned(r));
	ut_assert(eng->r == r);
	/* Every request came back, or was taken back by its file
	 * (bs_abandon: iscsi_server_take_back_io): nothing the kernel or a
	 * worker still holds names memory freed before us, and no worker
	 * is stuck in a system call that the join below would wait for. */
	ut_assert(eng->inflight == 0 && eng->out == 0);
	ut_assert(TAILQ_EMPTY(&eng->waiting_files));
	if (eng->stats.zero_copy_reads)
		LOG_INFO(&r->env,
			 "disk: %llu reads sent from the page cache "
			 "without a copy",
			 (unsigned long long)eng->stats.zero_copy_reads);
	if (eng->stats.inline_reads)
		LOG_INFO(&r->env,
			 "disk: %llu reads done on the reactor (alone in "
			 "their loop turn, cached)",
			 (unsigned long long)eng->stats.inline_reads);
	if (eng->stats.inline_writes || eng->stats.engine_writes)
		LOG_INFO(&r->env,
			 "disk: %llu writes done on the reactor (%llu slow), "
			 "%llu through %s",
			 (unsigned long long)eng->stats.inline_writes,
			 (unsigned long long)eng->stats.inline_slow,
			 (unsigned long long)eng->stats.engine_writes,
			 eng->uring ? "io_uring" : "the disk threads");
	er_defer_cancel(r, &eng->retry);
	er_watch_del(r, &eng->done_watch);
	if (eng->uring)
		io_uring_queue_exit(&eng->ring);
	else
		er_pool_stop(eng);
	close(eng->done_watch.fd);
	free(eng->zeros);
	free(eng);
	r->disk = NULL;
}
