/*
 * real_net.c — real TCP sockets under the simulated initiators, and the
 * scheduler in real time (run --against; real_net.h).
 *
 * The initiator actors only know the endpoint operations of sim.h
 * (sim_connect, sim_conn_recv, ...).  Once a real_net is attached,
 * sim_net.c hands those operations for the initiators' endpoints to this
 * file, which does them on a non-blocking socket.  The callbacks
 * (on_readable, on_writable, on_closed, the connect result) run from
 * real_net_run_until()'s loop, never inside an operation, as they run
 * from events in the simulated network.
 *
 * Time: sim->now_ns is the monotonic clock since the attach.  The loop
 * fires the events that are due, and between them waits in ppoll() for
 * the sockets, at most until the next event or the deadline and at most
 * POLL_SLICE_NS at a time (quietness depends on the clock).
 *
 * Faults mapped to real sockets: `rst` is a close with SO_LINGER 0 (an
 * RST); `fin` is shutdown(SHUT_WR); `vanish` stops using the socket
 * without closing it (the kernel still acknowledges the target's bytes
 * until the window fills, but no iSCSI PDU is read or sent, and no FIN or
 * RST leaves before the run ends).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "real_net.h"
#include "ut_assert.h"

/* The longest one wait in ppoll() lasts, so that a predicate that depends
 * on the clock (quiet) is looked at again. */
#define POLL_SLICE_NS (20 * SIM_NS_PER_MS)
/* Quiet: no byte moved for this long and no event of the initiators
 * scheduled.  A real target answers a loopback command in well under a
 * millisecond; 300 ms is ample without slowing a scenario set much. */
#define QUIET_IDLE_NS (300 * SIM_NS_PER_MS)
#define MAX_POLL 64

struct real_conn {
	struct real_net *net;
	uint64_t id;
	int fd;
	struct env_conn *c; /* the wrapper the initiator holds */
	const struct env_conn_handler *h;
	void *ctx;
	sim_connect_fn cfn; /* while connecting */
	void *carg;
	int connect_err; /* a connect that failed at once */
	bool connecting, want_write, eof, closed_reported, dead;
	int err; /* -errno of a failed recv/send */
	char host[64];
	TAILQ_ENTRY(real_conn) link;
};

struct real_net {
	struct sim *sim;
	uint64_t t0_ns; /* monotonic clock at sim->now_ns == 0 */
	uint64_t next_id;
	uint64_t last_io_ns;
	TAILQ_HEAD(, real_conn) conns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SIM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void clock_update(struct real_net *n)
{
	uint64_t now = mono_ns() - n->t0_ns;

	if (now > n->sim->now_ns)
		n->sim->now_ns = now;
}

static void io_seen(struct real_net *n)
{
	clock_update(n);
	n->last_io_ns = n->sim->now_ns;
}

void real_net_attach(struct sim *sim)
{
	struct real_net *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	n->sim = sim;
	n->t0_ns = mono_ns() - sim->now_ns;
	n->last_io_ns = sim->now_ns;
	TAILQ_INIT(&n->conns);
	sim->real = n;
}

static void conn_free(struct real_conn *rc)
{
	TAILQ_REMOVE(&rc->net->conns, rc, link);
	if (rc->fd >= 0)
		close(rc->fd);
	if (rc->c != NULL)
		sim_conn_unwrap_real(rc->c);
	free(rc);
}

void real_net_detach(struct sim *sim)
{
	struct real_net *n = sim->real;
	struct real_conn *rc;

	if (n == NULL)
		return;
	while ((rc = TAILQ_FIRST(&n->conns)) != NULL)
		conn_free(rc);
	free(n);
	sim->real = NULL;
}

bool real_net_quiet(const struct sim *sim)
{
	const struct real_net *n = sim->real;
	const struct real_conn *rc;
	const struct ut_heap_node *next = ut_heap_top(&sim->events);
	uint64_t now = mono_ns() - n->t0_ns;

	if (sim->busy > 0 || (next != NULL && next->at_ns <= sim->now_ns))
		return false;
	TAILQ_FOREACH (rc, &n->conns, link)
		if (rc->connecting)
			return false;
	return now >= n->last_io_ns + QUIET_IDLE_NS;
}

/* ------------------------------------------------------------ connect */

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static bool split_addr(const char *addr, char *host, size_t cap, char port[8])
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hl;

	if (colon == NULL || strlen(colon + 1) == 0 || strlen(colon + 1) > 5)
		return false;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= cap)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, 8, "%s", colon + 1);
	return true;
}

void real_connect(struct sim *sim, const char *host_name, const char *addr,
		  sim_connect_fn fn, void *arg)
{
	struct real_net *n = sim->real;
	struct real_conn *rc = calloc(1, sizeof(*rc));
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char host[256], port[8];
	int one = 1;

	if (rc == NULL)
		abort();
	rc->net = n;
	rc->id = ++n->next_id;
	rc->fd = -1;
	rc->cfn = fn;
	rc->carg = arg;
	rc->connecting = true;
	snprintf(rc->host, sizeof(rc->host), "%s", host_name);
	TAILQ_INSERT_TAIL(&n->conns, rc, link);
	if (!split_addr(addr, host, sizeof(host), port) ||
	    getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		rc->connect_err = -EHOSTUNREACH;
		SIM_TRACE(sim, "net c%llu %s: cannot resolve %s",
			  (unsigned long long)rc->id, rc->host, addr);
		return;
	}
	rc->fd = socket(ai->ai_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rc->fd < 0) {
		rc->connect_err = -errno;
	} else {
		/* PDUs go out as the initiator queues them (as the simulated
		 * network delivers them), not held for coalescing. */
		setsockopt(rc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(rc->fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS)
			rc->connect_err = -errno;
	}
	freeaddrinfo(ai);
	SIM_TRACE(sim, "net c%llu %s connects to %s over real TCP",
		  (unsigned long long)rc->id, rc->host, addr);
}

/* The connect finished (or failed): tell the initiator. */
static void connect_done(struct real_conn *rc)
{
	struct sim *sim = rc->net->sim;
	sim_connect_fn fn = rc->cfn;
	void *arg = rc->carg;
	int err = rc->connect_err;
	socklen_t len = sizeof(int);
	int so = 0;

	if (err == 0 &&
	    getsockopt(rc->fd, SOL_SOCKET, SO_ERROR, &so, &len) == 0)
		err = -so;
	rc->connecting = false;
	io_seen(rc->net);
	if (err != 0) {
		SIM_TRACE(sim, "net c%llu connect failed: %s",
			  (unsigned long long)rc->id, strerror(-err));
		conn_free(rc);
		fn(arg, NULL, err);
		return;
	}
	rc->c = sim_conn_wrap_real(rc);
	SIM_TRACE(sim, "net c%llu connected", (unsigned long long)rc->id);
	fn(arg, rc->c, 0);
}

/* -------------------------------------------------- endpoint operations */

void real_conn_set_handler(struct real_conn *rc,
			   const struct env_conn_handler *h, void *ctx)
{
	rc->h = h;
	rc->ctx = ctx;
}

static void record(struct real_conn *rc, int dir, const void *p, size_t n)
{
	struct sim *sim = rc->net->sim;

	if (sim->rec == NULL || sim->rec->bytes == NULL)
		return;
	/* Accepted and delivered at once: the wire in between is not ours
	 * to see. */
	sim->rec->bytes(sim->rec_ctx, sim->now_ns, rc->id, rc->host, dir, false,
			p, n);
	sim->rec->bytes(sim->rec_ctx, sim->now_ns, rc->id, rc->host, dir, true,
			p, n);
}

ssize_t real_conn_recv(struct real_conn *rc, void *buf, size_t len)
{
	ssize_t n;

	if (rc->err != 0)
		return rc->err;
	if (rc->eof || len == 0)
		return 0;
	do
		n = recv(rc->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		io_seen(rc->net);
		record(rc, 1, buf, (size_t)n);
		return n;
	}
	if (n == 0) {
		io_seen(rc->net);
		rc->eof = true;
		SIM_TRACE(rc->net->sim, "net c%llu target closes (FIN)",
			  (unsigned long long)rc->id);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	rc->err = -errno;
	SIM_TRACE(rc->net->sim, "net c%llu receive error: %s",
		  (unsigned long long)rc->id, strerror(errno));
	return rc->err;
}

ssize_t real_conn_send(struct real_conn *rc, const struct iovec *iov,
		       int iovcnt)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov,
			   .msg_iovlen = (size_t)iovcnt};
	ssize_t n;

	if (rc->err != 0)
		return rc->err;
	do
		n = sendmsg(rc->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		size_t left = (size_t)n;

		io_seen(rc->net);
		for (int i = 0; i < iovcnt && left > 0; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len
							 : left;

			record(rc, 0, iov[i].iov_base, k);
			left -= k;
		}
		return n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	rc->err = -errno;
	SIM_TRACE(rc->net->sim, "net c%llu send error: %s",
		  (unsigned long long)rc->id, strerror(errno));
	return rc->err;
}

void real_conn_want_write(struct real_conn *rc, bool want)
{
	rc->want_write = want;
}

void real_conn_close(struct real_conn *rc)
{
	SIM_TRACE(rc->net->sim, "net c%llu initiator closes",
		  (unsigned long long)rc->id);
	conn_free(rc);
}

void real_conn_shutdown_write(struct real_conn *rc)
{
	SIM_TRACE(rc->net->sim, "fault c%llu half-close (FIN) from initiator",
		  (unsigned long long)rc->id);
	shutdown(rc->fd, SHUT_WR);
}

void real_conn_reset(struct real_conn *rc)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	SIM_TRACE(rc->net->sim, "fault c%llu RST from initiator",
		  (unsigned long long)rc->id);
	/* The close that follows (the initiator drops the connection)
	 * sends an RST instead of a FIN. */
	setsockopt(rc->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	rc->err = -ECONNRESET;
}

void real_conn_vanish(struct real_conn *rc)
{
	SIM_TRACE(rc->net->sim,
		  "fault c%llu initiator host vanishes (socket left open "
		  "and unused until the run ends)",
		  (unsigned long long)rc->id);
	rc->dead = true;
	rc->h = NULL;
	sim_conn_unwrap_real(rc->c);
	rc->c = NULL;
}

uint64_t real_conn_id(const struct real_conn *rc)
{
	return rc->id;
}

bool real_conn_peer_open(const struct real_conn *rc)
{
	return !rc->eof && rc->err == 0;
}

/* --------------------------------------------------------- the loop */

static struct real_conn *conn_by_id(struct real_net *n, uint64_t id)
{
	struct real_conn *rc;

	TAILQ_FOREACH (rc, &n->conns, link)
		if (rc->id == id)
			return rc;
	return NULL;
}

/* Something to tell the initiator without waiting for the socket. */
static bool conn_ready(const struct real_conn *rc)
{
	if (rc->dead)
		return false;
	if (rc->connecting)
		return rc->connect_err != 0;
	return (rc->eof || rc->err != 0) && !rc->closed_reported;
}

/* Run the callbacks of one connection for what poll() saw. */
static void conn_dispatch(struct real_net *n, uint64_t id, short revents)
{
	struct real_conn *rc = conn_by_id(n, id);

	if (rc == NULL || rc->dead)
		return;
	if (rc->connecting) {
		if (rc->connect_err != 0 ||
		    (revents & (POLLOUT | POLLERR | POLLHUP)) != 0)
			connect_done(rc);
		return;
	}
	if (rc->h == NULL)
		return;
	if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0 &&
	    !rc->closed_reported && rc->err == 0 && !rc->eof) {
		rc->h->on_readable(rc->ctx);
		if ((rc = conn_by_id(n, id)) == NULL || rc->h == NULL)
			return;
	}
	if ((rc->eof || rc->err != 0) && !rc->closed_reported) {
		rc->closed_reported = true;
		rc->h->on_closed(rc->ctx, rc->err);
		return;
	}
	if ((revents & POLLOUT) != 0 && rc->want_write)
		rc->h->on_writable(rc->ctx);
}

/* Wait up to wait_ns for the sockets and run what they say. */
static void poll_once(struct real_net *n, uint64_t wait_ns)
{
	struct pollfd pf[MAX_POLL];
	uint64_t ids[MAX_POLL];
	struct real_conn *rc;
	struct timespec ts;
	nfds_t k = 0;
	bool ready = false;

	TAILQ_FOREACH (rc, &n->conns, link) {
		if (rc->dead || k == MAX_POLL)
			continue;
		ready |= conn_ready(rc);
		pf[k].fd = rc->fd;
		pf[k].events = 0;
		pf[k].revents = 0;
		if (rc->connecting)
			pf[k].events = POLLOUT;
		else if (!rc->eof && rc->err == 0)
			pf[k].events = (short)(POLLIN |
					       (rc->want_write ? POLLOUT : 0));
		ids[k++] = rc->id;
	}
	if (ready)
		wait_ns = 0;
	if (wait_ns > POLL_SLICE_NS)
		wait_ns = POLL_SLICE_NS;
	ts.tv_sec = (time_t)(wait_ns / SIM_NS_PER_S);
	ts.tv_nsec = (long)(wait_ns % SIM_NS_PER_S);
	if (ppoll(pf, k, &ts, NULL) < 0 && errno != EINTR)
		abort();
	clock_update(n);
	for (nfds_t i = 0; i < k; i++)
		conn_dispatch(n, ids[i], pf[i].fd < 0 ? 0 : pf[i].revents);
}

bool real_net_run_until(struct sim *sim, uint64_t deadline_ns,
			bool (*pred)(void *arg), void *arg)
{
	struct real_net *n = sim->real;

	sim->stop = false;
	for (;;) {
		struct sim_ev *ev;
		uint64_t wait;

		if (pred != NULL && pred(arg))
			return true;
		if (sim->stop)
			return false;
		clock_update(n);
		ev = sim_ev_next(sim);
		if (ev != NULL && ev->node.at_ns <= sim->now_ns) {
			sim_ev_fire(sim, ev); /* the scheduler oracle too */
			continue;
		}
		if (sim->now_ns >= deadline_ns)
			return false;
		/* Nothing scheduled, no socket and no end: nothing can
		 * happen any more. */
		if (ev == NULL && TAILQ_EMPTY(&n->conns) &&
		    deadline_ns == UINT64_MAX && pred == NULL)
			return false;
		wait = deadline_ns - sim->now_ns;
		if (ev != NULL && ev->node.at_ns - sim->now_ns < wait)
			wait = ev->node.at_ns - sim->now_ns;
		poll_once(n, wait);
	}
}
