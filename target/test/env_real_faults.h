/*
 * env_real_faults.h — system calls that fail on cue, for the real
 * environment's tests (test_env_real_*.c), with no change to the code
 * under test.
 *
 * The test binaries are linked with -Wl,--wrap=NAME for each call below
 * and in env_real_faults_files.h, which this header includes (Makefile:
 * ENV_REAL_WRAP): every call of NAME from the target's objects
 * and the test's own lands in __wrap_NAME here, which passes it on to the
 * C library (__real_NAME) unless a rule says otherwise.  Calls made inside
 * shared libraries (cmocka, liburing's own system calls) are not wrapped.
 *
 * A rule, per call: let `skip` matching calls through, then fault the
 * next `times` (-1: every one after), each failing with errno `err`, or
 * returning `ret` (with `use_ret`), or shortened to `cap` bytes (reads,
 * writes, sends, receives), or only delayed by `delay_us`.  A call
 * matches when it is on fd `fd` (with `match_fd`), names a path
 * containing `path`, allocates exactly `size` bytes, runs on a thread
 * other than the one that armed the rule (`other_thread`), or for io_uring
 * SQEs has opcode `opcode` (+1, 0 = any).  sf_calls() and sf_hits() count
 * the matching calls seen and the faults made, so that a test can assert
 * that a call was retried or never made again.
 *
 * io_uring requests: SF_URING_SQE acts on the SQEs that io_uring_submit()
 * is about to hand to the kernel: `err` (or `ret`) turns the SQE into a
 * NOP that completes with that result (IORING_NOP_INJECT_RESULT, Linux
 * 6.10 on: sf_uring_inject_works() says whether this kernel has it);
 * `cap` shortens a readv/writev's iovecs so that the kernel really moves
 * only that many bytes (a short transfer).
 *
 * The log: what is written to stderr is also kept (sf_log_has()), so that
 * a test can check the line the docs promise.
 */
#ifndef UT_TEST_ENV_REAL_FAULTS_H
#define UT_TEST_ENV_REAL_FAULTS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum sf_call {
	SF_SOCKET,
	SF_SETSOCKOPT,
	SF_GETSOCKOPT,
	SF_GETSOCKNAME,
	SF_BIND,
	SF_LISTEN,
	SF_ACCEPT4,
	SF_RECV,
	SF_SEND,
	SF_SENDMSG,
	SF_SENDTO,
	SF_EPOLL_CREATE1,
	SF_EPOLL_CTL,
	SF_EPOLL_WAIT,
	SF_EVENTFD,
	SF_SIGNALFD,
	SF_PTHREAD_SIGMASK,
	SF_PTHREAD_CREATE,
	SF_GETRANDOM,
	SF_OPEN,
	SF_OPENAT,
	SF_READ,
	SF_WRITE,
	SF_FSTAT,
	SF_STAT,
	SF_LSTAT,
	SF_MKDIR,
	SF_CHMOD,
	SF_RENAMEAT,
	SF_FSYNC,
	SF_FDATASYNC,
	SF_FTRUNCATE,
	SF_FALLOCATE,
	SF_PREADV,
	SF_PWRITEV,
	SF_PWRITEV2,
	SF_LSEEK,
	SF_IOCTL,
	SF_MMAP,
	SF_SYSCALL,
	SF_MALLOC,
	SF_CALLOC,
	SF_REALLOC,
	SF_STRDUP,
	SF_URING_INIT,
	SF_URING_REGISTER_EVENTFD,
	SF_URING_SUBMIT,
	SF_URING_SQE,
	SF_NCALLS
};

struct sf_rule {
	int skip;  /* matching calls let through first */
	int times; /* then this many faulted; -1: all the rest */
	int err;   /* fail with this errno */
	bool use_ret;
	long ret;      /* or return this (errno untouched) */
	long cap;      /* or move at most this many bytes */
	int delay_us;  /* sleep before the call (a slow call) */
	bool match_fd; /* only calls on fd */
	int fd;
	const char *path;  /* only paths containing this */
	size_t size;	   /* allocations: only of this size */
	bool other_thread; /* only off the arming thread */
	int opcode;	   /* SF_URING_SQE: IORING_OP_x + 1, 0 any */
	/* kept by the rig */
	bool armed;
	pthread_t owner;
	unsigned int calls, hits;
};

static struct sf_rule sf_rules[SF_NCALLS];
static pthread_mutex_t sf_lock = PTHREAD_MUTEX_INITIALIZER;
static char sf_logbuf[65536];
static size_t sf_loglen;
static bool sf_log_on = true;

/* Opens of paths starting with sf_redirect_from go to sf_redirect_to
 * instead (a /sys file the test writes itself). */
static const char *sf_redirect_from, *sf_redirect_to;

/* The fake block device (sf_fake_blk): the fd an open of its path
 * returned says S_IFBLK to fstat, and the capacity ioctls answer for
 * it. */
static const char *sf_blk_path;
static int sf_blk_fd = -1;
static uint64_t sf_blk_bytes;
static int sf_blk_lbs;
static dev_t sf_blk_rdev;

static inline void sf_fake_blk(const char *path, uint64_t bytes, int lbs,
			       dev_t rdev)
{
	sf_blk_path = path;
	sf_blk_fd = -1;
	sf_blk_bytes = bytes;
	sf_blk_lbs = lbs;
	sf_blk_rdev = rdev;
}

static inline void sf_arm(enum sf_call c, struct sf_rule r)
{
	pthread_mutex_lock(&sf_lock);
	r.armed = true;
	r.owner = pthread_self();
	r.calls = r.hits = 0;
	sf_rules[c] = r;
	pthread_mutex_unlock(&sf_lock);
}

static inline void sf_disarm(enum sf_call c)
{
	pthread_mutex_lock(&sf_lock);
	sf_rules[c].armed = false;
	pthread_mutex_unlock(&sf_lock);
}

/* Every rule off and the kept log emptied. */
static inline void sf_clear(void)
{
	pthread_mutex_lock(&sf_lock);
	memset(sf_rules, 0, sizeof(sf_rules));
	sf_redirect_from = sf_redirect_to = NULL;
	sf_blk_path = NULL;
	sf_blk_fd = -1;
	sf_loglen = 0;
	sf_logbuf[0] = '\0';
	pthread_mutex_unlock(&sf_lock);
}

static inline unsigned int sf_calls(enum sf_call c)
{
	unsigned int n;

	pthread_mutex_lock(&sf_lock);
	n = sf_rules[c].calls;
	pthread_mutex_unlock(&sf_lock);
	return n;
}

static inline unsigned int sf_hits(enum sf_call c)
{
	unsigned int n;

	pthread_mutex_lock(&sf_lock);
	n = sf_rules[c].hits;
	pthread_mutex_unlock(&sf_lock);
	return n;
}

/* Whether the log written so far (since sf_clear) holds s. */
static inline bool sf_log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&sf_lock);
	has = strstr(sf_logbuf, s) != NULL;
	pthread_mutex_unlock(&sf_lock);
	return has;
}

/* What one call is to do. */
struct sf_act {
	bool fault; /* err, ret or cap applies */
	int err;
	bool use_ret;
	long ret;
	long cap;
};

/* Does call c (on fd, path, size) match its rule, and is it faulted? */
static inline struct sf_act sf_check(enum sf_call c, int fd, const char *path,
				     size_t size, int opcode)
{
	struct sf_rule *r = &sf_rules[c];
	struct sf_act a = {0};
	int delay = 0;

	/* an unarmed rule costs one unlocked read */
	if (!__atomic_load_n(&r->armed, __ATOMIC_ACQUIRE))
		return a;
	pthread_mutex_lock(&sf_lock);
	if (!r->armed || (r->match_fd && fd != r->fd) ||
	    (r->path && (!path || !strstr(path, r->path))) ||
	    (r->size && size != r->size) ||
	    (r->other_thread && pthread_equal(pthread_self(), r->owner)) ||
	    (r->opcode && opcode + 1 != r->opcode)) {
		pthread_mutex_unlock(&sf_lock);
		return a;
	}
	r->calls++;
	if (r->calls > (unsigned int)r->skip &&
	    (r->times < 0 || r->calls <= (unsigned int)(r->skip + r->times))) {
		r->hits++;
		a.fault = true;
		a.err = r->err;
		a.use_ret = r->use_ret;
		a.ret = r->ret;
		a.cap = r->cap;
		delay = r->delay_us;
	}
	pthread_mutex_unlock(&sf_lock);
	if (delay > 0)
		usleep((useconds_t)delay);
	return a;
}

/* The failing return of a call that returns -1 and sets errno (or the
 * rule's value); false when the call is to go on (none, or capped). */
#define SF_FAIL(a, type)                      \
	do {                                  \
		if ((a).fault && (a).use_ret) \
			return (type)(a).ret; \
		if ((a).fault && (a).err) {   \
			errno = (a).err;      \
			return (type)-1;      \
		}                             \
	} while (0)

static inline size_t sf_cap(const struct sf_act *a, size_t len)
{
	return a->fault && a->cap > 0 && (size_t)a->cap < len ? (size_t)a->cap
							      : len;
}

/* ------------------------------------------------------------ sockets */

int __real_socket(int domain, int type, int proto);
int __wrap_socket(int domain, int type, int proto)
{
	struct sf_act a = sf_check(SF_SOCKET, -1, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_socket(domain, type, proto);
}

int __real_setsockopt(int fd, int level, int name, const void *v,
		      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	struct sf_act a = sf_check(SF_SETSOCKOPT, fd, NULL, (size_t)name, 0);

	SF_FAIL(a, int);
	return __real_setsockopt(fd, level, name, v, len);
}

int __real_getsockopt(int fd, int level, int name, void *v, socklen_t *len);
int __wrap_getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	struct sf_act a = sf_check(SF_GETSOCKOPT, fd, NULL, (size_t)name, 0);

	SF_FAIL(a, int);
	return __real_getsockopt(fd, level, name, v, len);
}

int __real_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int __wrap_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sf_act a = sf_check(SF_GETSOCKNAME, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_getsockname(fd, sa, len);
}

int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sf_act a = sf_check(SF_BIND, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_bind(fd, sa, len);
}

int __real_listen(int fd, int backlog);
int __wrap_listen(int fd, int backlog)
{
	struct sf_act a = sf_check(SF_LISTEN, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_listen(fd, backlog);
}

int __real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct sf_act a = sf_check(SF_ACCEPT4, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_accept4(fd, sa, len, flags);
}

ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
	struct sf_act a = sf_check(SF_RECV, fd, NULL, len, 0);

	SF_FAIL(a, ssize_t);
	return __real_recv(fd, buf, sf_cap(&a, len), flags);
}

ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
	struct sf_act a = sf_check(SF_SEND, fd, NULL, len, 0);

	SF_FAIL(a, ssize_t);
	return __real_send(fd, buf, sf_cap(&a, len), flags);
}

ssize_t __real_sendmsg(int fd, const struct msghdr *m, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct sf_act a = sf_check(SF_SENDMSG, fd, NULL, 0, 0);

	SF_FAIL(a, ssize_t);
	if (a.fault && a.cap > 0 && m->msg_iovlen > 0) {
		/* only the first cap bytes of the first iovec */
		struct msghdr one = *m;
		struct iovec iov = m->msg_iov[0];

		if (iov.iov_len > (size_t)a.cap)
			iov.iov_len = (size_t)a.cap;
		one.msg_iov = &iov;
		one.msg_iovlen = 1;
		return __real_sendmsg(fd, &one, flags);
	}
	return __real_sendmsg(fd, m, flags);
}

ssize_t __real_sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *sa, socklen_t salen);
ssize_t __wrap_sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *sa, socklen_t salen)
{
	struct sf_act a = sf_check(SF_SENDTO, fd, NULL, len, 0);

	SF_FAIL(a, ssize_t);
	return __real_sendto(fd, buf, len, flags, sa, salen);
}

/* --------------------------------------------------- the event loop */

int __real_epoll_create1(int flags);
int __wrap_epoll_create1(int flags)
{
	struct sf_act a = sf_check(SF_EPOLL_CREATE1, -1, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_epoll_create1(flags);
}

/* The fd matched is the watched one; size is the operation. */
int __real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct sf_act a = sf_check(SF_EPOLL_CTL, fd, NULL, (size_t)op, 0);

	SF_FAIL(a, int);
	return __real_epoll_ctl(epfd, op, fd, ev);
}

int __real_epoll_wait(int epfd, struct epoll_event *ev, int n, int timeout);
int __wrap_epoll_wait(int epfd, struct epoll_event *ev, int n, int timeout)
{
	struct sf_act a = sf_check(SF_EPOLL_WAIT, epfd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_epoll_wait(epfd, ev, n, timeout);
}

int __real_eventfd(unsigned int initval, int flags);
int __wrap_eventfd(unsigned int initval, int flags)
{
	struct sf_act a = sf_check(SF_EVENTFD, -1, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_eventfd(initval, flags);
}

int __real_signalfd(int fd, const sigset_t *mask, int flags);
int __wrap_signalfd(int fd, const sigset_t *mask, int flags)
{
	struct sf_act a = sf_check(SF_SIGNALFD, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_signalfd(fd, mask, flags);
}

/* Returns the error number, as pthreads do. */
int __real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int __wrap_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct sf_act a = sf_check(SF_PTHREAD_SIGMASK, -1, NULL, 0, 0);

	if (a.fault && a.err)
		return a.err;
	return __real_pthread_sigmask(how, set, old);
}

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	struct sf_act a = sf_check(SF_PTHREAD_CREATE, -1, NULL, 0, 0);

	if (a.fault && a.err)
		return a.err;
	return __real_pthread_create(t, attr, fn, arg);
}

ssize_t __real_getrandom(void *buf, size_t len, unsigned int flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags)
{
	struct sf_act a = sf_check(SF_GETRANDOM, -1, NULL, len, 0);

	SF_FAIL(a, ssize_t);
	return __real_getrandom(buf, sf_cap(&a, len), flags);
}

/* Files, directories and the disk engine's calls: env_real_faults_files.h. */
#include "env_real_faults_files.h"

/* ------------------------------------------------------------ memory */

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
	struct sf_act a = sf_check(SF_MALLOC, -1, NULL, n, 0);

	if (a.fault) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__real_calloc(size_t k, size_t n);
void *__wrap_calloc(size_t k, size_t n)
{
	struct sf_act a = sf_check(SF_CALLOC, -1, NULL, k * n, 0);

	if (a.fault) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(k, n);
}

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	struct sf_act a = sf_check(SF_REALLOC, -1, NULL, n, 0);

	if (a.fault) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

char *__real_strdup(const char *s);
char *__wrap_strdup(const char *s)
{
	struct sf_act a = sf_check(SF_STRDUP, -1, s, 0, 0);

	if (a.fault) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

/* ---------------------------------------------------------- io_uring */

/* liburing returns -errno */
int __real_io_uring_queue_init(unsigned int entries, struct io_uring *ring,
			       unsigned int flags);
int __wrap_io_uring_queue_init(unsigned int entries, struct io_uring *ring,
			       unsigned int flags)
{
	struct sf_act a = sf_check(SF_URING_INIT, -1, NULL, 0, 0);

	if (a.fault && a.err)
		return -a.err;
	return __real_io_uring_queue_init(entries, ring, flags);
}

int __real_io_uring_register_eventfd(struct io_uring *ring, int fd);
int __wrap_io_uring_register_eventfd(struct io_uring *ring, int fd)
{
	struct sf_act a = sf_check(SF_URING_REGISTER_EVENTFD, fd, NULL, 0, 0);

	if (a.fault && a.err)
		return -a.err;
	return __real_io_uring_register_eventfd(ring, fd);
}

#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1U << 0)
#endif

/* The SQE becomes a NOP completing with res (its user_data kept). */
static inline void sf_sqe_inject(struct io_uring_sqe *sqe, int res)
{
	uint64_t data = sqe->user_data;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_NOP;
	sqe->rw_flags = IORING_NOP_INJECT_RESULT; /* nop_flags */
	sqe->len = (uint32_t)res;
	sqe->user_data = data;
}

int __real_io_uring_submit(struct io_uring *ring);
int __wrap_io_uring_submit(struct io_uring *ring)
{
	struct sf_act a = sf_check(SF_URING_SUBMIT, -1, NULL, 0, 0);
	struct io_uring_sq *sq = &ring->sq;

	if (a.fault && a.err)
		return -a.err;
	for (unsigned int i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
		struct sf_act s =
			sf_check(SF_URING_SQE, -1, NULL, 0, sqe->opcode);

		if (!s.fault)
			continue;
		if (s.use_ret || s.err) {
			sf_sqe_inject(sqe, s.use_ret ? (int)s.ret : -s.err);
		} else if (s.cap > 0 && (sqe->opcode == IORING_OP_READV ||
					 sqe->opcode == IORING_OP_WRITEV)) {
			/* cut the er_io's own iovecs (it recomputes them
			 * from the request for the remainder) */
			struct iovec *iov =
				(struct iovec *)(uintptr_t)sqe->addr;
			long left = s.cap;
			unsigned int k = 0;

			for (; k < sqe->len && left > 0; k++) {
				if ((long)iov[k].iov_len > left)
					iov[k].iov_len = (size_t)left;
				left -= (long)iov[k].iov_len;
			}
			sqe->len = k;
		}
	}
	return __real_io_uring_submit(ring);
}

/* Does this kernel complete a NOP with the result asked for? */
static inline bool sf_uring_inject_works(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	bool ok = false;

	if (__real_io_uring_queue_init(4, &ring, 0) < 0)
		return false;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sf_sqe_inject(sqe, -EIO);
	if (__real_io_uring_submit(&ring) == 1 &&
	    io_uring_wait_cqe(&ring, &cqe) == 0) {
		ok = cqe->res == -EIO;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return ok;
}

/* ---------------------------------------------------------- helpers */

/* Descriptors open now (a leak shows as a count that grew). */
static inline int sf_open_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

#endif
