/*
 * ut-faultproxy — a TCP proxy that breaks paths on command, for the
 * multipath checks of make interop (interop/run).
 *
 *   ut-faultproxy [-a ADDR] LISTEN=TARGET [LISTEN=TARGET ...]
 *
 * Each argument is one path: connections to ADDR:LISTEN (0: a free port)
 * are forwarded to ADDR:TARGET; ADDR is an IPv4 address, 127.0.0.1 by
 * default.  Once listening it prints
 * "ready PORT..." (the ports, in argument order) on stdout.  Commands
 * arrive on stdin, one per line, paths numbered from 1:
 *
 *   stall N   stop forwarding in both directions; new connections are
 *             accepted and held: the peers see a path that no longer
 *             answers (TCP keeps the connections open);
 *   rst N     reset every connection of the path (SO_LINGER 0) and stop
 *             listening, so that a new connection is refused by the
 *             kernel (its SYN answered with an RST): a path that refuses;
 *   pass N    listen again if needed and forward normally (held
 *             connections resume);
 *   quit      (or end of input) exit.
 *
 * Why rst refuses rather than accepting and resetting: an initiator whose
 * connect() succeeded goes on to hand the socket to its kernel, and an
 * RST landing then is the one moment open-iscsi 2.1.8 (Debian 12's
 * iscsid) does not recover from: its reopen after a failed bind skips
 * the kernel's stop_conn, so every later bind fails with ENOTCONN ("can't
 * bind conn 1:0 to session 1, retcode -107") and the session never comes
 * back (fixed upstream in 2.1.9 by commit 9f20745, "stop connection for
 * recovery if error is not timeout in iscsi_login_eh").  For the same
 * reason rst resets a held connection only once its client has sent its
 * first bytes (the login request: the initiator is then past that
 * moment) or closed it, or after RST_GRACE_MS.  A refused connect never
 * reaches the kernel's bind.  Real paths fail both ways; this proxy is
 * for testing the target's failover, not that initiator bug.
 *
 * Each command is answered with "ok CMD N" on stdout.  Single-threaded,
 * poll(2), 64 KiB buffered per direction; at most MAX_PAIRS connections.
 * Every connection's life (accepted, forwarded, held, how it ended) and
 * every mode change is logged on stderr, one timestamped line per event
 * (the harness's proxy.log).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 8
#define MAX_PAIRS 64
#define BUF_BYTES 65536
/* How long rst waits for a held connection's client to speak before
 * resetting it anyway. */
#define RST_GRACE_MS 10000

enum mode { PASS, STALL, RST };

struct path {
	int lfd; /* -1 while in RST mode (or a re-listen failed) */
	unsigned short listen_port, target_port;
	enum mode mode;
};

/* One direction of a connection pair: bytes read from `from`, waiting to
 * be written to `to`. */
struct pipe {
	char buf[BUF_BYTES];
	size_t len, off;
	unsigned long long total_bytes; /* forwarded so far, for the log */
	bool eof;
};

struct pair {
	bool used;
	unsigned int id; /* for the log: 1, 2, ... in order of accept */
	int path;
	int cfd, tfd;	  /* client side, target side (-1: none) */
	struct pipe up;	  /* client -> target */
	struct pipe down; /* target -> client */
	/* rst came before the client spoke: reset when it does */
	bool reset_pending;
	long long reset_deadline_ms;
};

static struct path paths[MAX_PATHS];
static struct in_addr addr; /* where we listen and connect */
static int npaths;
static struct pair pairs[MAX_PAIRS];
static unsigned int next_id = 1;
static const char *const mode_names[] = {"pass", "stall", "rst"};

/* One line on stderr: wall-clock time (to match utarget.log's marks),
 * then the event. */
static void say(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The socket's own port, or its peer's; 0 when it has none (a client
 * that reset before we accepted it). */
static unsigned short port_of(int fd, bool peer)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	if ((peer ? getpeername(fd, (struct sockaddr *)&a, &alen)
		  : getsockname(fd, (struct sockaddr *)&a, &alen)) ||
	    a.sin_family != AF_INET)
		return 0;
	return ntohs(a.sin_port);
}

/* SO_REUSEADDR: listening again on the port of a path in RST mode while
 * connections accepted on it before are still open. */
static int listen_on(unsigned short port, unsigned short *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr = addr;
	a.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* Close with an RST rather than a FIN. */
static void reset_close(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void pair_close(struct pair *p, bool rst, const char *why)
{
	say("path %d conn %u: closed (%s) after %llu bytes up, %llu down: %s",
	    p->path + 1, p->id, rst ? "RST both sides" : "FIN",
	    p->up.total_bytes, p->down.total_bytes, why);
	if (rst) {
		reset_close(p->cfd);
		reset_close(p->tfd);
	} else {
		close(p->cfd);
		if (p->tfd >= 0)
			close(p->tfd);
	}
	memset(p, 0, sizeof(*p));
}

static struct pair *pair_new(int pi, int cfd, int tfd)
{
	for (int i = 0; i < MAX_PAIRS; i++) {
		struct pair *p = &pairs[i];

		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = true;
		p->id = next_id++;
		p->path = pi;
		p->cfd = cfd;
		p->tfd = tfd;
		return p;
	}
	return NULL;
}

/* Has the client sent anything, or closed?  Then it is past the moment
 * an RST must not hit (see the top of the file). */
static bool client_spoke(const struct pair *p)
{
	char c;
	ssize_t n;

	if (p->up.total_bytes > 0 || p->up.len > 0 || p->up.eof)
		return true;
	n = recv(p->cfd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* rst for one pair: now, or once its client speaks. */
static void pair_reset(struct pair *p, const char *why)
{
	if (client_spoke(p)) {
		pair_close(p, true, why);
		return;
	}
	if (!p->reset_pending)
		say("path %d conn %u: reset deferred until the client speaks",
		    p->path + 1, p->id);
	p->reset_pending = true;
	p->reset_deadline_ms = now_ms() + RST_GRACE_MS;
}

static void accept_one(int pi)
{
	struct path *pa = &paths[pi];
	struct sockaddr_in t = {.sin_family = AF_INET};
	int cfd = accept4(pa->lfd, NULL, NULL, SOCK_NONBLOCK);
	int tfd, one = 1;
	struct pair *p;

	if (cfd < 0)
		return;
	tfd = socket(AF_INET, SOCK_STREAM, 0);
	t.sin_addr = addr;
	t.sin_port = htons(pa->target_port);
	/* a blocking connect on this host: immediate */
	if (tfd < 0 || connect(tfd, (struct sockaddr *)&t, sizeof(t))) {
		say("path %d: connection from port %u reset: connect to %u: %s",
		    pi + 1, port_of(cfd, true), pa->target_port,
		    strerror(errno));
		if (tfd >= 0)
			close(tfd);
		reset_close(cfd);
		return;
	}
	p = pair_new(pi, cfd, tfd);
	if (!p) {
		say("path %d: connection from port %u reset: %d pairs in use",
		    pi + 1, port_of(cfd, true), MAX_PAIRS);
		close(tfd);
		reset_close(cfd);
		return;
	}
	/* Non-blocking from here: a poll result never makes us wait. */
	fcntl(tfd, F_SETFL, fcntl(tfd, F_GETFL) | O_NONBLOCK);
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	say("path %d conn %u: client port %u -> target from port %u (%s)",
	    pi + 1, p->id, port_of(cfd, true), port_of(tfd, false),
	    pa->mode == PASS ? "forwarding" : "held: mode stall");
}

/* rst: stop listening, so that the kernel refuses new connections.  What
 * is already in the accept queue is taken and reset like a held
 * connection (once its client speaks). */
static void path_refuse(int pi)
{
	struct path *pa = &paths[pi];
	int cfd;

	if (pa->lfd < 0)
		return;
	while ((cfd = accept4(pa->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		struct pair *p = pair_new(pi, cfd, -1);

		if (!p) {
			reset_close(cfd);
			continue;
		}
		say("path %d conn %u: client port %u accepted as the path "
		    "closes",
		    pi + 1, p->id, port_of(cfd, true));
		pair_reset(p, "mode rst");
	}
	close(pa->lfd);
	pa->lfd = -1;
	say("path %d: not listening: new connections are refused", pi + 1);
}

/* Listen again on the path's port (pass, stall); retried from the loop
 * if the port is busy. */
static void path_listen(int pi)
{
	struct path *pa = &paths[pi];
	unsigned short bound;

	if (pa->lfd >= 0)
		return;
	pa->lfd = listen_on(pa->listen_port, &bound);
	if (pa->lfd < 0)
		say("path %d: cannot listen on port %u again: %s (retrying)",
		    pi + 1, pa->listen_port, strerror(errno));
	else
		say("path %d: listening on port %u again", pi + 1, bound);
}

/* Move bytes of one direction; false when the pair failed, *why saying
 * whether reading or writing (errno tells the error). */
static bool pump(struct pipe *q, int from, int to, bool can_read,
		 bool can_write, const char **why)
{
	ssize_t n;

	if (can_read && q->len == 0 && !q->eof) {
		n = read(from, q->buf, sizeof(q->buf));
		if (n == 0)
			q->eof = true;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			*why = "read";
			return false;
		} else if (n > 0) {
			q->len = (size_t)n;
			q->off = 0;
		}
	}
	if (can_write && q->len > q->off) {
		n = write(to, q->buf + q->off, q->len - q->off);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			*why = "write";
			return false;
		}
		if (n > 0) {
			q->off += (size_t)n;
			q->total_bytes += (unsigned long long)n;
		}
		if (q->off == q->len)
			q->len = q->off = 0;
	}
	if (q->eof && q->len == 0)
		shutdown(to, SHUT_WR);
	return true;
}

static void command(char *line)
{
	char cmd[16];
	int n = 0;
	struct path *pa;

	if (sscanf(line, "%15s %d", cmd, &n) < 1)
		return;
	if (!strcmp(cmd, "quit"))
		exit(0);
	if (n < 1 || n > npaths) {
		printf("error path %d\n", n);
		fflush(stdout);
		return;
	}
	pa = &paths[n - 1];
	if (!strcmp(cmd, "stall"))
		pa->mode = STALL;
	else if (!strcmp(cmd, "pass"))
		pa->mode = PASS;
	else if (!strcmp(cmd, "rst"))
		pa->mode = RST;
	else {
		printf("error %s\n", cmd);
		fflush(stdout);
		return;
	}
	say("path %d: mode %s", n, mode_names[pa->mode]);
	if (pa->mode == RST) {
		path_refuse(n - 1);
		for (int i = 0; i < MAX_PAIRS; i++)
			if (pairs[i].used && pairs[i].path == n - 1)
				pair_reset(&pairs[i], "mode rst");
	} else
		path_listen(n - 1);
	printf("ok %s %d\n", cmd, n);
	fflush(stdout);
}

/* The events a pair waits for: none while held (stall), only its
 * client's first bytes or close while a reset waits for them. */
static void pair_events(const struct pair *p, short *ce, short *te)
{
	*ce = *te = 0;
	if (p->reset_pending) {
		*ce = POLLIN;
		return;
	}
	if (paths[p->path].mode != PASS)
		return;
	if (p->up.len == 0 && !p->up.eof)
		*ce |= POLLIN;
	if (p->down.len > p->down.off)
		*ce |= POLLOUT;
	if (p->down.len == 0 && !p->down.eof)
		*te |= POLLIN;
	if (p->up.len > p->up.off)
		*te |= POLLOUT;
}

/* After poll: move the pair's bytes, or end it. */
static void pair_step(struct pair *p, short cr, short tr)
{
	const char *why = NULL;
	char what[96];

	if (p->reset_pending) {
		if (cr)
			pair_close(p, true, "mode rst, the client spoke");
		else if (now_ms() >= p->reset_deadline_ms)
			pair_close(p, true, "mode rst, the client never spoke");
		return;
	}
	if (paths[p->path].mode != PASS)
		return;
	if (!pump(&p->up, p->cfd, p->tfd, cr & (POLLIN | POLLHUP | POLLERR),
		  tr & POLLOUT, &why)) {
		snprintf(what, sizeof(what), "client to target: %s: %s", why,
			 strerror(errno));
		pair_close(p, true, what);
	} else if (!pump(&p->down, p->tfd, p->cfd,
			 tr & (POLLIN | POLLHUP | POLLERR), cr & POLLOUT,
			 &why)) {
		snprintf(what, sizeof(what), "target to client: %s: %s", why,
			 strerror(errno));
		pair_close(p, true, what);
	} else if (p->up.eof && p->down.eof && !p->up.len && !p->down.len)
		pair_close(p, false, "both sides closed");
}

int main(int argc, char **argv)
{
	char line[256];
	size_t llen = 0;
	int first = 1;

	addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc > 2 && !strcmp(argv[1], "-a")) {
		if (inet_pton(AF_INET, argv[2], &addr) != 1) {
			fprintf(stderr, "ut-faultproxy: bad address %s\n",
				argv[2]);
			return 2;
		}
		first = 3;
	}
	if (argc - first < 1 || argc - first > MAX_PATHS) {
		fprintf(stderr,
			"usage: ut-faultproxy [-a ADDR] LISTEN=TARGET ...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		unsigned int l, t;
		struct path *pa = &paths[npaths++];

		if (sscanf(argv[i], "%u=%u", &l, &t) != 2 || l > 65535 ||
		    t == 0 || t > 65535) {
			fprintf(stderr, "ut-faultproxy: bad path %s\n",
				argv[i]);
			return 2;
		}
		pa->target_port = (unsigned short)t;
		pa->lfd = listen_on((unsigned short)l, &pa->listen_port);
		if (pa->lfd < 0) {
			perror("ut-faultproxy: listen");
			return 1;
		}
	}
	printf("ready");
	for (int i = 0; i < npaths; i++)
		printf(" %u", paths[i].listen_port);
	printf("\n");
	fflush(stdout);
	for (;;) {
		struct pollfd fds[1 + MAX_PATHS + 2 * MAX_PAIRS];
		/* which pair, by slot and id, each pair of fds was for */
		int slot[MAX_PAIRS];
		unsigned int id[MAX_PAIRS];
		int np = 0;
		nfds_t nf = 0;

		fds[nf++] = (struct pollfd){.fd = 0, .events = POLLIN};
		for (int i = 0; i < npaths; i++) {
			if (paths[i].mode != RST)
				path_listen(i);
			/* a negative fd is ignored by poll */
			fds[nf++] = (struct pollfd){.fd = paths[i].lfd,
						    .events = POLLIN};
		}
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short ce, te;

			if (!p->used)
				continue;
			pair_events(p, &ce, &te);
			slot[np] = i;
			id[np++] = p->id;
			fds[nf++] = (struct pollfd){.fd = ce ? p->cfd : -1,
						    .events = ce};
			fds[nf++] = (struct pollfd){.fd = te ? p->tfd : -1,
						    .events = te};
		}
		if (poll(fds, nf, 200) < 0 && errno != EINTR)
			return 1;
		if (fds[0].revents) {
			ssize_t n =
				read(0, line + llen, sizeof(line) - 1 - llen);

			if (n <= 0)
				return 0;
			llen += (size_t)n;
			line[llen] = '\0';
			for (char *nl; (nl = strchr(line, '\n'));) {
				*nl = '\0';
				command(line);
				llen -= (size_t)(nl + 1 - line);
				memmove(line, nl + 1, llen + 1);
			}
			if (llen == sizeof(line) - 1)
				llen = 0;
		}
		for (int i = 0; i < npaths; i++)
			if (paths[i].lfd >= 0 && (fds[1 + i].revents & POLLIN))
				accept_one(i);
		for (int k = 0; k < np; k++) {
			struct pair *p = &pairs[slot[k]];
			nfds_t f = 1 + (nfds_t)npaths + 2 * (nfds_t)k;

			/* closed, or its slot reused, since the poll: the
			 * results are another socket's */
			if (!p->used || p->id != id[k])
				continue;
			pair_step(p, fds[f].revents, fds[f + 1].revents);
		}
	}
}
