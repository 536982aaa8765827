/*
 * net.c — TCP listeners and connections on the reactor.
 *
 * Readiness is level-triggered for EPOLLIN: if the target stops reading
 * early (backpressure), on_readable comes again on the next iteration
 * instead of the data being forgotten.  EPOLLOUT is in the interest set
 * only while the target asked for it with conn_want_write(true).
 *
 * Connection life:
 *   open ──(EOF | error)──> down: on_closed(ctx, err) queued once, the fd
 *     │                     leaves epoll; recv returns 0 / -err
 *     └──────────(conn_close, from any state)──> closed: fd closed, no more
 *                callbacks; memory freed at the end of the loop iteration
 *
 * The err given to on_closed is -errno (-ECONNRESET, -ETIMEDOUT, ...), as
 * everywhere else in the seam and as simnet reports it, or 0 for an
 * orderly FIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "env_real/env_real_int.h"

#define ER_LISTEN_BACKLOG 128
/* Accepts per readiness event: enough to drain a burst, few enough that
 * one listener cannot starve established connections. */
#define ER_ACCEPT_BURST 32

struct env_listener {
	struct er_reactor *r;
	struct er_watch w;
	env_accept_fn fn;
	void *arg;
	uint16_t portal_group;
	uint16_t port; /* bound port (after port 0) */
	unsigned int index;
	bool closed;
	struct er_accept_pause pause; /* out of descriptors */
	char addr[64];		      /* as given, for logs */
	TAILQ_ENTRY(env_listener) link;
};

struct env_conn {
	struct er_reactor *r;
	struct er_watch w;
	struct env_conn_handler h;
	void *ctx;
	bool have_handler;
	bool want_write;
	bool more;	     /* MSG_MORE on sends (set_more(true)) */
	bool corked;	     /* bytes sent with MSG_MORE, not yet pushed */
	bool drained;	     /* a recv came back short: the socket is empty
			  * until epoll says otherwise */
	bool down;	     /* EOF or error seen; on_closed queued */
	unsigned int rx_got; /* recvs that found bytes, EOF or an error */
	bool closed;	     /* env_conn_close() called */
	bool sent_file;	     /* sendfile(2) gave the socket page refs */
	int err;	     /* -errno, 0 for FIN */
	uint32_t events;     /* current epoll interest */
	struct er_defer closed_defer;
	struct er_defer push_defer; /* uncorked: push at the end of the turn */
	char peer[64];
	int record_fd; /* --record file, -1 if none */
	TAILQ_ENTRY(env_conn) link;
};

/* ---------------------------------------------------------- addresses */

/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric only: a portal is an address,
 * and resolving names here would block the reactor. */
int er_parse_addr(const char *addr_port, void *ssp, unsigned int *sslen)
{
	struct sockaddr_storage *ss = ssp;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = addr_port, *port_s;
	size_t hlen;
	char *end;
	unsigned long port;
	bool v6 = false;

	if (!addr_port)
		return -EINVAL;
	if (addr_port[0] == '[') {
		const char *rb = strchr(addr_port, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = addr_port + 1;
		hlen = (size_t)(rb - h);
		port_s = rb + 2;
		v6 = true;
	} else {
		colon = strrchr(addr_port, ':');
		if (!colon || strchr(addr_port, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - addr_port);
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || port_s[0] < '0' ||
	    port_s[0] > '9')
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *end != '\0' || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
	}
	return 0;
}

static void er_format_addr(const struct sockaddr_storage *ss, char *buf,
			   size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/* -------------------------------------------------------- connections */

/*
 * The connection's states, from its two flags, and the transitions the
 * comment at the top allows (every change is checked against them):
 *
 *   OPEN   (!down, !closed) -> DOWN (EOF, error) or CLOSED (conn_close)
 *   DOWN   (down,  !closed) -> CLOSED
 *   CLOSED (closed)         terminal: no callback, memory freed at the
 *                           end of the iteration
 */
enum er_conn_state { ER_OPEN, ER_DOWN, ER_CLOSED };

static enum er_conn_state er_conn_state(const struct env_conn *c)
{
	return c->closed ? ER_CLOSED : c->down ? ER_DOWN : ER_OPEN;
}

static bool er_conn_step_ok(enum er_conn_state from, enum er_conn_state to)
{
	static const uint8_t allowed[] = {
		[ER_OPEN] = 1u << ER_DOWN | 1u << ER_CLOSED,
		[ER_DOWN] = 1u << ER_CLOSED,
		[ER_CLOSED] = 0,
	};

	return allowed[from] >> to & 1u;
}

static void er_conn_update_events(struct env_conn *c)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP | (c->want_write ? EPOLLOUT : 0);

	ut_assert(er_owned(c->r));
	if (c->down || c->closed || ev == c->events)
		return;
	ut_assert(c->w.fd >= 0); /* an open connection has its socket */
	if (er_watch_mod(c->r, &c->w, ev) == 0)
		c->events = ev;
}

static void er_conn_closed_cb(struct er_defer *d)
{
	struct env_conn *c = er_container_of(d, struct env_conn, closed_defer);

	/* Queued by er_conn_down() only; conn_close cancels it (env.h: no
	 * callback after close). */
	ut_assert(c->down);
	ut_assert(!c->closed);
	if (!c->closed && c->have_handler && c->h.on_closed)
		c->h.on_closed(c->ctx, c->err);
}

/* The connection is finished (EOF or error): tell the target once, later,
 * from the loop.  Leaving epoll stops a hung-up socket from waking us. */
static void er_conn_down(struct env_conn *c, int err)
{
	if (c->down || c->closed)
		return;
	ut_assert(er_conn_step_ok(er_conn_state(c), ER_DOWN));
	ut_assert(err >= 0); /* an errno, or 0 for FIN */
	c->down = true;
	c->err = -err;
	er_poll_forget(&c->r->poll, c);
	er_watch_del(c->r, &c->w);
	c->events = 0;
	er_defer_queue(c->r, &c->closed_defer);
	LOG_DEBUG(&c->r->env, "connection from %s %s%s", c->peer,
		  err ? "failed: " : "closed by the peer",
		  err ? strerror(err) : "");
}

static void er_conn_event(struct er_watch *w, uint32_t events)
{
	struct env_conn *c = er_container_of(w, struct env_conn, w);

	ut_assert(er_self == c->r); /* its own reactor's epoll set */
	if (c->closed || c->down || !c->have_handler)
		return;
	ut_assert(c->w.fd >= 0);
	if (events & EPOLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->w.fd, SOL_SOCKET, SO_ERROR, &err, &len);
		er_conn_down(c, err ? err : EIO);
		return;
	}
	c->drained = false;
	/* HUP and RDHUP mean "read to find out": recv returns the rest of the
	 * data, then 0 (EOF) or the error. */
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) && c->h.on_readable)
		c->h.on_readable(c->ctx);
	if (c->closed || c->down)
		return;
	if ((events & EPOLLOUT) && c->want_write && c->h.on_writable)
		c->h.on_writable(c->ctx);
}

void er_conn_set_handler(struct env_conn *c, const struct env_conn_handler *h,
			 void *ctx)
{
	ut_assert(er_owned(c->r));
	ut_assert(!c->closed);
	c->h = *h;
	c->ctx = ctx;
	c->have_handler = true;
}

/* --record: append what arrived; a failing disk stops the recording,
 * never the connection. */
static void er_record(struct env_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	ut_assert(c->record_fd >= 0);
	ut_assert(len > 0);
	while (len > 0) {
		ssize_t w = write(c->record_fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			LOG_WARN(&c->r->env, "recording %s stopped: %s",
				 c->peer,
				 w < 0 ? strerror(errno) : "short write");
			close(c->record_fd);
			c->record_fd = -1;
			return;
		}
		p += w;
		len -= (size_t)w;
	}
}

static void er_record_open(struct env_conn *c)
{
	struct er_reactor *r = c->r;
	char path[4096];

	ut_assert(!c->closed);
	c->record_fd = -1;
	if (!r->record_dir)
		return;
	snprintf(path, sizeof(path), "%s/conn-%u.bin", r->record_dir,
		 atomic_fetch_add(&r->group->record_seq, 1) + 1);
	c->record_fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (c->record_fd < 0)
		LOG_WARN(&r->env, "cannot record to %s: %s", path,
			 strerror(errno));
}

ssize_t er_conn_recv(struct env_conn *c, void *buf, size_t len)
{
	ssize_t n;

	ut_assert(er_owned(c->r));
	if (c->closed)
		return -EBADF;
	if (c->down)
		return c->err;
	ut_assert(c->w.fd >= 0);
	/* recv of 0 bytes returns 0, which would read as EOF.  After a
	 * short read the socket was empty a moment ago: "nothing now"
	 * without asking (the recv that would say EAGAIN was one system
	 * call per wake-up); epoll is level-triggered, so bytes that came
	 * since wake us again and clear the flag (er_conn_event). */
	if (len == 0 || c->drained)
		return 0;
	do
		n = recv(c->w.fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		ut_assert((size_t)n <= len); /* env.h: 1..len bytes */
		c->rx_got++;
		c->drained = (size_t)n < len;
		if (c->record_fd >= 0)
			er_record(c, buf, (size_t)n);
		return n;
	}
	if (n == 0) {
		c->rx_got++;
		er_conn_down(c, 0);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	c->rx_got++;
	n = -errno;
	er_conn_down(c, errno);
	return n;
}

struct env_conn *er_conn_of_watch(struct er_watch *w)
{
	return w->fn == er_conn_event ? er_container_of(w, struct env_conn, w)
				      : NULL;
}

bool er_conn_pollable(const struct env_conn *c)
{
	return !c->closed && !c->down && c->have_handler && !c->want_write;
}

/* The handler cannot tell this call from one epoll made: on_readable may
 * find nothing (env.h), its recv returning 0 after the one system call
 * that is the poll. */
int er_conn_poll_read(struct env_conn *c)
{
	unsigned int before = c->rx_got;

	ut_assert(er_self == c->r); /* polled by its own loop */
	if (!er_conn_pollable(c))
		return -1;
	c->drained = false;
	er_conn_event(&c->w, EPOLLIN);
	return c->rx_got != before;
}

ssize_t er_conn_send(struct env_conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {0};
	int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
	ssize_t n;

	ut_assert(er_owned(c->r));
	ut_assert(iovcnt >= 0 && (iovcnt == 0 || iov != NULL));
	if (c->closed)
		return -EBADF;
	if (c->down && c->err)
		return c->err;
	if (iovcnt <= 0)
		return 0;
	/* The kernel refuses more than IOV_MAX entries; a partial send is
	 * part of the contract, so send the first IOV_MAX. */
	msg.msg_iov = (struct iovec *)iov;
	msg.msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
	if (c->more)
		flags |= MSG_MORE;
	do
		n = sendmsg(c->w.fd, &msg, flags);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		/* A send without MSG_MORE pushes what earlier ones held
		 * back (tcp_push with TCP_NODELAY). */
		if (n > 0)
			c->corked = c->more;
		return n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	n = -errno;
	er_conn_down(c, errno);
	return n;
}

/* ENV_FD_ZEROS: a memfd this long, never written, so that sendfile(2)
 * hands the socket the kernel's zero page (shmem's holes); longer than
 * any data segment (MaxRecvDataSegmentLength < 2^24). */
#define ER_ZEROS_BYTES (16u << 20)
/* sendfile(2) moves at most this much per call. */
#define ER_SENDFILE_MAX 0x7ffff000u

/* Zeros to send with sendmsg where no memfd could be made. */
static const uint8_t er_zeros[64 * 1024];

static int er_zeros_fd(struct er_reactor *r)
{
	int fd;

	if (r->zeros_fd != -1)
		return r->zeros_fd;
	fd = memfd_create("utarget-zeros", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, ER_ZEROS_BYTES) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		LOG_INFO(&r->env, "no memfd of zeros (%s): zeros are copied",
			 strerror(errno));
	r->zeros_fd = fd >= 0 ? fd : -2;
	return r->zeros_fd;
}

/*
 * A Data-In segment from the page cache (or zeros), without a copy: the
 * iovecs (the queued PDUs up to this one's header) with sendmsg and
 * MSG_MORE, then the range with sendfile(2), which on Linux 6.5 and later
 * hands the socket references to the pages (splice_to_socket,
 * MSG_SPLICE_PAGES).  The backstore checked that every page is cached
 * (zerocopy.c): sendfile does not wait for the disk.  The pages stay
 * referenced by the socket until the peer acknowledged them, so they
 * show what the file holds until then: what a zero-copy read promises
 * (backstore.h, bs_ref).  sendfile has no MSG_NOSIGNAL: a peer gone
 * raises SIGPIPE, which env_real_new() ignores unless it is handled.
 */
ssize_t er_conn_send_file(struct env_conn *c, const struct iovec *iov,
			  int iovcnt, int fd, uint64_t off, uint64_t len)
{
	size_t want = 0;
	ssize_t head = 0, n;
	off_t pos;

	ut_assert(er_owned(c->r));
	ut_assert(iovcnt >= 0 && iovcnt <= IOV_MAX &&
		  (iovcnt == 0 || iov != NULL));
	ut_assert(fd >= 0 || fd == ENV_FD_ZEROS);
	ut_assert(len > 0);
	if (c->closed)
		return -EBADF;
	if (c->down && c->err)
		return c->err;
	for (int i = 0; i < iovcnt; i++)
		want += iov[i].iov_len;
	if (want > 0) {
		bool more = c->more;

		c->more = true; /* the file's bytes follow at once */
		head = er_conn_send(c, iov, iovcnt);
		c->more = more;
		if (head < 0 || (size_t)head < want)
			return head;
	}
	if (fd == ENV_FD_ZEROS) {
		fd = er_zeros_fd(c->r);
		off = 0;
		if (len > ER_ZEROS_BYTES)
			len = ER_ZEROS_BYTES;
		if (fd < 0) {
			struct iovec z = {(void *)er_zeros,
					  len < sizeof(er_zeros)
						  ? (size_t)len
						  : sizeof(er_zeros)};

			n = er_conn_send(c, &z, 1);
			return n < 0 ? (head ? head : n) : head + n;
		}
	}
	if (len > ER_SENDFILE_MAX)
		len = ER_SENDFILE_MAX;
	pos = (off_t)off;
	do
		n = sendfile(c->w.fd, fd, &pos, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		/* its last piece went without MSG_MORE: pushed */
		c->corked = false;
		c->sent_file = true;
		return head + n;
	}
	if (head > 0)
		return head; /* what went; the rest (or its error) next time */
	if (n == 0) {
		/* the file ends inside the range: truncated behind our back
		 * after the read was answered; the connection ends (the
		 * mapping's copy would fail with EFAULT) */
		return -EIO;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 0;
	n = -errno;
	er_conn_down(c, errno);
	return n;
}

/* Bytes accepted, not yet acknowledged by the peer (unsent ones too). */
ssize_t er_conn_unacked(struct env_conn *c)
{
	int n = 0;

	ut_assert(er_owned(c->r));
	if (c->closed)
		return -EBADF;
	if (ioctl(c->w.fd, SIOCOUTQ, &n) < 0)
		return -errno;
	return n < 0 ? 0 : n;
}

void er_conn_want_write(struct env_conn *c, bool want)
{
	ut_assert(er_owned(c->r));
	c->want_write = want;
	er_conn_update_events(c);
}

/* Adaptive Nagle (the target's hint, driven by its transmit queue):
 * MSG_MORE while the target has more to send in this loop turn, so that a
 * burst of responses leaves in full segments; uncorked, the next send
 * pushes everything.  If none comes, the end of the turn pushes (setting
 * TCP_NODELAY again pushes what MSG_MORE held back): a response is never
 * left waiting for the kernel's cork timeout. */
static void er_conn_push_cb(struct er_defer *d)
{
	struct env_conn *c = er_container_of(d, struct env_conn, push_defer);
	int one = 1;

	ut_assert(!c->closed); /* close cancels it */
	if (!c->corked || c->more || c->down)
		return;
	setsockopt(c->w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->corked = false;
}

void er_conn_set_more(struct env_conn *c, bool more)
{
	ut_assert(er_owned(c->r));
	if (c->r->no_cork || c->closed)
		return;
	c->more = more;
	if (!more && c->corked)
		er_defer_queue(c->r, &c->push_defer);
}

void er_conn_close(struct env_conn *c)
{
	struct er_reactor *r = c->r;

	ut_assert(er_owned(r));
	if (c->closed)
		return;
	ut_assert(er_conn_step_ok(er_conn_state(c), ER_CLOSED));
	c->closed = true;
	er_poll_forget(&r->poll, c);
	er_defer_cancel(r, &c->closed_defer);
	er_defer_cancel(r, &c->push_defer);
	ut_assert(!c->closed_defer.queued); /* no on_closed after close */
	/* Pages sent with sendfile and not yet acknowledged would be resent
	 * as they are later, after the target let their range change (env.h
	 * conn_close): reset instead, dropping them. */
	if (c->sent_file) {
		int n = 0;

		if (ioctl(c->w.fd, SIOCOUTQ, &n) == 0 && n > 0) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(c->w.fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		}
	}
	/* close() drops the epoll registration of a socket nobody dup'ed. */
	close(c->w.fd);
	c->w.fd = -1;
	if (c->record_fd >= 0)
		close(c->record_fd);
	c->record_fd = -1;
	TAILQ_REMOVE(&r->conns, c, link);
	TAILQ_INSERT_TAIL(&r->dead_conns, c, link);
}

/* ---------------------------------------------------------- listeners */

static void er_accept_resume(void *arg)
{
	struct er_accept_pause *p = arg;
	int rc;

	/* The timer is freed with its socket: never fires after close. */
	ut_assert(p->paused && er_self == p->r);
	rc = er_watch_mod(p->r, p->w, EPOLLIN);
	if (rc < 0) {
		/* Out of kernel memory: try again after another pause
		 * rather than stay deaf for good. */
		LOG_ERR(&p->r->env,
			"%s: cannot resume accepting: %s; retrying in %u ms",
			p->what, strerror(-rc), ER_ACCEPT_PAUSE_NS / 1000000u);
		env_timer_arm(&p->r->env, p->timer,
			      er_now_ns() + ER_ACCEPT_PAUSE_NS);
		return;
	}
	p->paused = false;
}

int er_accept_pause_init(struct er_accept_pause *p, struct er_reactor *r,
			 struct er_watch *w, const char *what)
{
	*p = (struct er_accept_pause){.r = r, .w = w};
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->timer = env_timer_new(&r->env, er_accept_resume, p);
	return p->timer ? 0 : -ENOMEM;
}

bool er_accept_pause_on(struct er_accept_pause *p, int err)
{
	ut_assert(err > 0);
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return false;
	/* A paused watch reports nothing: no accept4 to fail meanwhile. */
	ut_assert(!p->paused && p->timer != NULL);
	if (!p->logged)
		LOG_WARN(&p->r->env, "%s: accept: %s; retrying every %u ms",
			 p->what, strerror(err), ER_ACCEPT_PAUSE_NS / 1000000u);
	p->logged = true;
	/* Epoll refusing the change (no kernel memory) leaves the socket
	 * watched: its next readiness tries accept again. */
	if (er_watch_mod(p->r, p->w, 0) < 0)
		return true;
	p->paused = true;
	env_timer_arm(&p->r->env, p->timer, er_now_ns() + ER_ACCEPT_PAUSE_NS);
	return true;
}

void er_accept_pause_over(struct er_accept_pause *p)
{
	ut_assert(!p->paused); /* it accepted: the watch was on */
	p->logged = false;
}

void er_accept_pause_fini(struct er_accept_pause *p)
{
	if (p->timer)
		env_timer_free(&p->r->env, p->timer);
	p->timer = NULL;
}

static struct env_conn *er_conn_new(struct er_reactor *r, int fd,
				    const struct sockaddr_storage *peer,
				    uint16_t portal_group, unsigned int index,
				    struct env_conn_info *info)
{
	struct env_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int one = 1;

	ut_assert(er_owned(r));
	ut_assert(fd >= 0);
	if (!c)
		return NULL;
	c->r = r;
	c->w.fd = fd;
	c->w.fn = er_conn_event;
	c->closed_defer.fn = er_conn_closed_cb;
	c->push_defer.fn = er_conn_push_cb;
	c->events = EPOLLIN | EPOLLRDHUP;
	if (er_watch_add(r, &c->w, c->events) < 0) {
		free(c);
		return NULL;
	}
	/* iSCSI is request/response: Nagle would delay every final PDU. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(info, 0, sizeof(*info));
	if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
		er_format_addr(&local, info->local_addr,
			       sizeof(info->local_addr));
	er_format_addr(peer, info->peer_addr, sizeof(info->peer_addr));
	info->portal_group = portal_group;
	info->listener_index = index;
	info->env = &r->env;
	snprintf(c->peer, sizeof(c->peer), "%s", info->peer_addr);
	er_record_open(c);
	TAILQ_INSERT_TAIL(&r->conns, c, link);
	/* A new connection is OPEN, on the reactor it is handed to. */
	ut_assert(er_conn_state(c) == ER_OPEN);
	ut_assert(info->env == &r->env);
	return c;
}

/* Hand a new connection to the target on reactor r (this thread). */
static void er_conn_start(struct er_reactor *r, int fd,
			  const struct sockaddr_storage *peer, env_accept_fn fn,
			  void *arg, uint16_t portal_group, unsigned int index)
{
	struct env_conn_info info;
	struct env_conn *c;

	/* The connection is started by the loop that will own it. */
	ut_assert(er_self == r);
	ut_assert(fn != NULL);
	c = er_conn_new(r, fd, peer, portal_group, index, &info);
	if (!c) {
		LOG_WARN(&r->env, "connection from a peer dropped: out of "
				  "memory");
		close(fd);
		return;
	}
	LOG_DEBUG(&r->env, "connection from %s on %s", info.peer_addr,
		  info.local_addr);
	fn(arg, c, &info);
	if (!c->closed && !c->have_handler) {
		LOG_WARN(&r->env,
			 "connection from %s: no handler installed, "
			 "closing",
			 info.peer_addr);
		er_conn_close(c);
	}
}

/* An accepted connection on its way to another reactor.  It carries what
 * it needs of the listener, which may be closed before it arrives. */
struct er_handoff {
	struct er_reactor *to;
	int fd;
	struct sockaddr_storage peer;
	env_accept_fn fn;
	void *arg;
	uint16_t portal_group;
	unsigned int index;
};

static void er_handoff_run(void *arg)
{
	struct er_handoff *h = arg;

	ut_assert(er_self == h->to); /* posted to its new reactor */
	ut_assert(h->fd >= 0);
	er_conn_start(h->to, h->fd, &h->peer, h->fn, h->arg, h->portal_group,
		      h->index);
	free(h);
}

/* Connections go to the reactors in turn; each stays on its reactor. */
static void er_conn_dispatch(struct env_listener *l, int fd,
			     const struct sockaddr_storage *peer)
{
	struct er_group *g = l->r->group;
	unsigned int k = atomic_fetch_add(&g->next_conn, 1) % g->n;
	struct er_handoff *h;

	ut_assert(k < g->n && g->r[k] != NULL);
	ut_assert(er_self == l->r); /* listeners live on reactor 0 */
	if (g->r[k] != l->r) {
		h = malloc(sizeof(*h));
		if (h) {
			*h = (struct er_handoff){.to = g->r[k],
						 .fd = fd,
						 .peer = *peer,
						 .fn = l->fn,
						 .arg = l->arg,
						 .portal_group =
							 l->portal_group,
						 .index = l->index};
			if (env_post(&g->r[k]->env, er_handoff_run, h) == 0)
				return;
			free(h);
		}
		/* Could not hand it over: serve it here. */
	}
	er_conn_start(l->r, fd, peer, l->fn, l->arg, l->portal_group, l->index);
}

static void er_listener_event(struct er_watch *w, uint32_t events)
{
	struct env_listener *l = er_container_of(w, struct env_listener, w);

	(void)events;
	ut_assert(er_self == l->r);
	ut_assert(l->w.fd >= 0 || l->closed);
	for (int i = 0; i < ER_ACCEPT_BURST && !l->closed; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		fd = accept4(l->w.fd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;

			if (err == EAGAIN || err == EWOULDBLOCK ||
			    er_accept_pause_on(&l->pause, err))
				return;
			/* ECONNABORTED, EPROTO, ...: that one peer is gone. */
			LOG_DEBUG(&l->r->env, "listener %s: accept: %s",
				  l->addr, strerror(err));
			continue;
		}
		er_accept_pause_over(&l->pause);
		er_conn_dispatch(l, fd, &peer);
	}
}

static int er_listen_socket(const struct sockaddr_storage *ss,
			    unsigned int sslen)
{
	int one = 1, fd;

	ut_assert(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
	ut_assert(sslen > 0 && sslen <= sizeof(*ss));
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	/* Restart without waiting out TIME_WAIT of the previous run. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* A v6 portal is v6 only: "0.0.0.0:3260" and "[::]:3260" can both be
	 * configured, and v4 peers never show up as ::ffff: addresses. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, sslen) < 0)
		goto fail;
	if (listen(fd, ER_LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

int er_listen(struct env *e, const char *addr_port, uint16_t portal_group,
	      env_accept_fn fn, void *arg, struct env_listener **out)
{
	struct er_reactor *r = er_reactor_of(e);
	struct sockaddr_storage ss;
	unsigned int sslen = 0;
	struct env_listener *l = NULL;
	char what[sizeof(l->pause.what)];
	socklen_t len = sizeof(ss);
	int rc, fd = -1;

	*out = NULL;
	rc = er_parse_addr(addr_port, &ss, &sslen);
	if (rc < 0) {
		LOG_ERR(e,
			"cannot listen on %s: not ADDR:PORT or [V6ADDR]:PORT",
			addr_port ? addr_port : "(null)");
		return rc;
	}
	fd = er_listen_socket(&ss, sslen);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		rc = -ENOMEM;
		goto fail;
	}
	l->r = r;
	l->w.fd = fd;
	l->w.fn = er_listener_event;
	l->fn = fn;
	l->arg = arg;
	l->portal_group = portal_group;
	l->index = r->listener_count;
	snprintf(l->addr, sizeof(l->addr), "%s", addr_port);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		l->port =
			ntohs(ss.ss_family == AF_INET6
				      ? ((struct sockaddr_in6 *)&ss)->sin6_port
				      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(what, sizeof(what), "listener %s", addr_port);
	rc = er_accept_pause_init(&l->pause, r, &l->w, what);
	if (rc < 0)
		goto fail;
	rc = er_watch_add(r, &l->w, EPOLLIN);
	if (rc < 0)
		goto fail;
	r->listener_count++;
	TAILQ_INSERT_TAIL(&r->listeners, l, link);
	ut_assert(l->index < r->listener_count);
	ut_assert(er_owned(r));
	LOG_INFO(e, "listening on %s (port %u, portal group %u)", addr_port,
		 l->port, portal_group);
	*out = l;
	return 0;
fail:
	LOG_ERR(e, "cannot listen on %s: %s", addr_port, strerror(-rc));
	if (l)
		er_accept_pause_fini(&l->pause);
	free(l);
	if (fd >= 0)
		close(fd);
	return rc;
}

void er_listener_close(struct env_listener *l)
{
	struct er_reactor *r = l->r;

	ut_assert(er_owned(r));
	if (l->closed)
		return;
	ut_assert(l->w.fd >= 0);
	l->closed = true;
	er_accept_pause_fini(&l->pause);
	close(l->w.fd);
	l->w.fd = -1;
	TAILQ_REMOVE(&r->listeners, l, link);
	TAILQ_INSERT_TAIL(&r->dead_listeners, l, link);
}

uint16_t env_real_listener_port(const struct env_listener *l)
{
	return l->port;
}

/* ---------------------------------------------------------- teardown */

/* End of an iteration: no event of the finished epoll batch can name
 * these any more. */
void er_net_reap(struct er_reactor *r)
{
	struct env_conn *c;
	struct env_listener *l;

	ut_assert(er_owned(r));
	while ((c = TAILQ_FIRST(&r->dead_conns))) {
		TAILQ_REMOVE(&r->dead_conns, c, link);
		/* Only CLOSED connections wait here; nothing is queued for
		 * them any more. */
		ut_assert(c->closed && c->w.fd < 0);
		ut_assert(!c->closed_defer.queued && !c->push_defer.queued);
		free(c);
	}
	while ((l = TAILQ_FIRST(&r->dead_listeners))) {
		TAILQ_REMOVE(&r->dead_listeners, l, link);
		ut_assert(l->closed && l->pause.timer == NULL);
		free(l);
	}
}

void er_net_free_all(struct er_reactor *r)
{
	struct env_conn *c;
	struct env_listener *l;

	while ((c = TAILQ_FIRST(&r->conns)))
		er_conn_close(c);
	while ((l = TAILQ_FIRST(&r->listeners)))
		er_listener_close(l);
	er_net_reap(r);
	ut_assert(TAILQ_EMPTY(&r->conns) && TAILQ_EMPTY(&r->dead_conns));
	ut_assert(TAILQ_EMPTY(&r->listeners));
}
