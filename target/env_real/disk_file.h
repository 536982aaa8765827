/*
 * disk_file.h — what the file backstore's files share: disk_file.c (its
 * requests: stages, chunks, writes on the reactor, completion),
 * disk_engine.c (a reactor's engine: io_uring or the thread pool),
 * disk_file_open.c (open, provisioning, resize, close) and zerocopy.c.
 */
#ifndef UT_ENV_REAL_DISK_FILE_H
#define UT_ENV_REAL_DISK_FILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"

#define ER_QUEUE_DEPTH 256
#define ER_IO_IOV 64 /* iovecs per submission (chunking beyond) */
#define ER_POOL_THREADS 4
#define ER_ZERO_BYTES (256u * 1024u)
#define ER_ZERO_IOV 16		     /* zero writes: 4 MiB per submission */
#define ER_INLINE_MAX (128u * 1024u) /* largest write done on the reactor */
#define ER_INLINE_SLOW_NS 500000ull  /* an inline write slower than this */
#define ER_INLINE_BACKOFF_MIN_NS 100000000ull	/* ... stops them 100 ms */
#define ER_INLINE_BACKOFF_MAX_NS 10000000000ull /* ... doubling to 10 s */

/* Zero-copy reads (zerocopy.c) from this size on. */
#define ER_ZC_MIN_BYTES (64u * 1024u)

/* Whether a file takes non-blocking buffered writes (RWF_NOWAIT), learnt
 * from its first write. */
enum er_nowait {
	ER_NOWAIT_UNKNOWN,
	ER_NOWAIT_YES,
	ER_NOWAIT_NO,
};

enum er_stage {
	ER_ST_RW,
	ER_ST_FLUSH,
	ER_ST_FALLOC,
	ER_ST_ZEROS,
};

struct er_disk_engine;

/* A file's requests waiting for a free er_io of one reactor's engine. */
struct er_fq {
	struct er_file *f;
	TAILQ_HEAD(, bs_req) waiting; /* no er_io free when submitted */
	TAILQ_ENTRY(er_fq) wait_link; /* on eng->waiting_files */
	bool on_wait_list;
	/* Writes on the reactor: none before inline_until; the next pause
	 * after a slow one (0 = ER_INLINE_BACKOFF_MIN_NS). */
	uint64_t inline_until_ns, inline_backoff_ns;
};

/* One file or block device, used by every reactor: a request goes to the
 * engine of the reactor that submits it and completes there.  What is
 * per reactor is in q[]; the counters are atomic. */
struct er_file {
	struct bs_dev dev;
	struct er_reactor *home; /* opened here: logs, and submissions
					 * from outside any reactor */
	int fd;
	bool is_blk;
	bool closing;	      /* bs_close() called; free when idle */
	bool abandoned;	      /* bs_abandon() called: no more submits */
	atomic_uint in_done;  /* inside a req->done of this file */
	atomic_uint inflight; /* er_io in use for this file */
	struct er_fq q[ER_MAX_REACTORS];
	/* fallocate refused these modes once: go straight to zero writes
	 * (a hint: a racing reactor at worst tries the mode once more) */
	atomic_bool no_punch_hole, no_zero_range;
	atomic_int nowait; /* enum er_nowait */
	/* The -errno of the first sync that failed (a flush, or the
	 * RWF_DSYNC of a FUA write with EIO), 0 before: every later FLUSH
	 * fails with it (er_sync_status in disk_file.c) */
	atomic_int sync_err;
	/* Zero-copy reads (zerocopy.c): the file mapped read-only on first
	 * use (under zc_lock; zc_map_len is set before zc_map), references
	 * into it still held, and whether there will be none. */
	pthread_mutex_t zc_lock;
	_Atomic(uint8_t *) zc_map;
	uint64_t zc_map_len;
	atomic_uint zc_refs;
	atomic_bool zc_off;
	char name[64];
};

struct er_io {
	struct er_disk_engine *eng;
	struct er_file *f;
	struct bs_req *req;
	enum er_stage stage;
	uint64_t done_bytes;	     /* progress within the request */
	int fa_mode;		     /* FALLOC stage: fallocate mode */
	struct iovec iov[ER_IO_IOV]; /* the chunk in flight */
	int iovcnt;
	uint64_t chunk_off;
	/* In the engine's hands: an SQE prepared whose CQE is not reaped,
	 * or a worker's (queued or running).  The kernel or the worker may
	 * read or write the request and its buffers until it is false
	 * (io_uring: the reactor's; pool: under eng->lock). */
	bool out;
	ssize_t res;	   /* pool, inline: the result or -errno */
	int status;	   /* early completion (validation) */
	bool defer_result; /* the defer hands res to er_io_result */
	struct er_defer defer;
	TAILQ_ENTRY(er_io) link;
};

struct er_disk_engine {
	struct er_reactor *r;
	bool uring;
	struct io_uring ring;
	struct er_watch done_watch; /* ring eventfd, or the pool's */
	uint8_t *zeros;
	struct er_io ios[ER_QUEUE_DEPTH];
	TAILQ_HEAD(, er_io) free_ios;
	TAILQ_HEAD(, er_fq) waiting_files;
	unsigned int inflight;
	/* er_io with out set (io_uring: the reactor's; pool: under lock) */
	unsigned int out;
	/* Taking back (er_engine_take_back): nothing is issued, delivered or
	 * submitted any more; the reactor's loop has stopped. */
	bool stopped;
	/* a read held back for er_disk_flush to do on the reactor (the
	 * only request of its loop turn; er_uring_issue) */
	struct er_io *lone_read;
	struct env_real_disk_stats stats;
	/* io_uring_submit refused: SQEs left in the ring, submitted again
	 * on the loop's next turn (er_disk_flush), logged once */
	struct er_defer retry;
	bool submit_refused;

	/* thread-pool fallback */
	pthread_t threads[ER_POOL_THREADS];
	unsigned int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	TAILQ_HEAD(, er_io) work, done; /* under lock */
	bool shutdown;			/* under lock */
};

/* disk_file.c */
/* No er_io in use and no request waiting for one, on any reactor. */
bool er_file_idle(struct er_file *f);
/* Close and free a file (closed, idle). */
void er_file_destroy(struct er_file *f);
/* The bs_ops submit of a file LU. */
void er_file_submit(struct bs_dev *dev, struct bs_req *req);
/* Its bs_ops abandon (backstore.h): the requests taken back at exit. */
unsigned int er_file_abandon(struct bs_dev *dev, uint64_t deadline_ns);
/* What a chunk returned (bytes, or -errno), on the reactor thread: the
 * engine's completions go here. */
void er_io_result(struct er_io *io, ssize_t res);
/* An er_io's defer: its early completion, or a result to hand on. */
void er_io_deferred(struct er_defer *d);

/* disk_engine.c */
/* Reactor r's disk engine, started on first use; NULL if it cannot be. */
struct er_disk_engine *er_engine_get(struct er_reactor *r);
/* Hand io's current chunk (or flush, fallocate) to the engine. */
void er_uring_issue(struct er_io *io);
void er_pool_issue(struct er_io *io);
/* Pool accounting: the free list and the er_io in use make up the array
 * (walks the free list: for ut_assert_slow). */
bool er_engine_pool_ok(const struct er_disk_engine *eng);
/* Stop the engine for good (the loops have stopped): cancel what can be
 * cancelled and wait until deadline_ns (CLOCK_MONOTONIC) at most for the
 * kernel or the workers to give back the rest.  Returns how many er_io
 * are still out; again later, it goes on waiting. */
unsigned int er_engine_take_back(struct er_disk_engine *eng,
				 uint64_t deadline_ns);
/* A test-only stall of every request the engine carries out
 * (UTARGET_TEST_DISK_STALL_MS: a hung file system, for the shutdown
 * tests): the worker sleeps before its system call, or io_uring runs
 * the request after a linked timeout.  0: none. */
extern uint32_t er_test_stall_ms;

/* zerocopy.c */
/* Answer io's READ by reference when it was asked for and can be done
 * without blocking: true when io->req->ref is set and the whole request
 * is done (its completion is the caller's to deliver). */
bool er_zc_read(struct er_io *io);
/* The file goes (no reference left): unmap it. */
void er_zc_unmap(struct er_file *f);

#endif
