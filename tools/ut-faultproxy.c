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
 *   rst N     reset every connection of the path (SO_LINGER 0), and
 *             reset new ones as they arrive: a path that refuses;
 *   pass N    forward normally again (held connections resume);
 *   quit      (or end of input) exit.
 *
 * Each command is answered with "ok CMD N" on stdout.  Single-threaded,
 * poll(2), 64 KiB buffered per direction; at most MAX_PAIRS connections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#define MAX_PATHS 8
#define MAX_PAIRS 64
#define BUF_BYTES 65536

enum mode { PASS, STALL, RST };

struct path {
	int lfd;
	unsigned short listen_port, target_port;
	enum mode mode;
};

/* One direction of a connection pair: bytes read from `from`, waiting to
 * be written to `to`. */
struct pipe {
	char buf[BUF_BYTES];
	size_t len, off;
	bool eof;
};

struct pair {
	bool used;
	int path;
	int cfd, tfd;	  /* client side, target side */
	struct pipe up;	  /* client -> target */
	struct pipe down; /* target -> client */
};

static struct path paths[MAX_PATHS];
static struct in_addr addr; /* where we listen and connect */
static int npaths;
static struct pair pairs[MAX_PAIRS];

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

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void pair_close(struct pair *p, bool rst)
{
	if (rst) {
		reset_close(p->cfd);
		reset_close(p->tfd);
	} else {
		close(p->cfd);
		close(p->tfd);
	}
	memset(p, 0, sizeof(*p));
}

static void accept_one(int pi)
{
	struct path *pa = &paths[pi];
	struct sockaddr_in t = {.sin_family = AF_INET};
	int cfd = accept4(pa->lfd, NULL, NULL, SOCK_NONBLOCK);
	int tfd, one = 1;
	struct pair *p = NULL;

	if (cfd < 0)
		return;
	if (pa->mode == RST) {
		reset_close(cfd);
		return;
	}
	for (int i = 0; i < MAX_PAIRS && !p; i++)
		if (!pairs[i].used)
			p = &pairs[i];
	tfd = socket(AF_INET, SOCK_STREAM, 0);
	t.sin_addr = addr;
	t.sin_port = htons(pa->target_port);
	/* a blocking connect on this host: immediate */
	if (!p || tfd < 0 || connect(tfd, (struct sockaddr *)&t, sizeof(t))) {
		if (tfd >= 0)
			close(tfd);
		reset_close(cfd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->path = pi;
	p->cfd = cfd;
	p->tfd = tfd;
}

/* Move bytes of one direction; false when the pair is finished. */
static bool pump(struct pipe *q, int from, int to, bool can_read,
		 bool can_write)
{
	ssize_t n;

	if (can_read && q->len == 0 && !q->eof) {
		n = read(from, q->buf, sizeof(q->buf));
		if (n == 0)
			q->eof = true;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		else if (n > 0) {
			q->len = (size_t)n;
			q->off = 0;
		}
	}
	if (can_write && q->len > q->off) {
		n = write(to, q->buf + q->off, q->len - q->off);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0)
			q->off += (size_t)n;
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

	if (sscanf(line, "%15s %d", cmd, &n) < 1)
		return;
	if (!strcmp(cmd, "quit"))
		exit(0);
	if (n < 1 || n > npaths) {
		printf("error path %d\n", n);
		fflush(stdout);
		return;
	}
	if (!strcmp(cmd, "stall"))
		paths[n - 1].mode = STALL;
	else if (!strcmp(cmd, "pass"))
		paths[n - 1].mode = PASS;
	else if (!strcmp(cmd, "rst")) {
		paths[n - 1].mode = RST;
		for (int i = 0; i < MAX_PAIRS; i++)
			if (pairs[i].used && pairs[i].path == n - 1)
				pair_close(&pairs[i], true);
	} else {
		printf("error %s\n", cmd);
		fflush(stdout);
		return;
	}
	printf("ok %s %d\n", cmd, n);
	fflush(stdout);
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
		int idx[2 * MAX_PAIRS];
		nfds_t nf = 0;

		fds[nf++] = (struct pollfd){.fd = 0, .events = POLLIN};
		for (int i = 0; i < npaths; i++)
			fds[nf++] = (struct pollfd){.fd = paths[i].lfd,
						    .events = POLLIN};
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short ce = 0, te = 0;

			if (!p->used || paths[p->path].mode != PASS)
				continue;
			if (p->up.len == 0 && !p->up.eof)
				ce |= POLLIN;
			if (p->down.len > p->down.off)
				ce |= POLLOUT;
			if (p->down.len == 0 && !p->down.eof)
				te |= POLLIN;
			if (p->up.len > p->up.off)
				te |= POLLOUT;
			idx[nf - 1 - npaths] = i;
			fds[nf++] = (struct pollfd){.fd = p->cfd, .events = ce};
			idx[nf - 1 - npaths] = i;
			fds[nf++] = (struct pollfd){.fd = p->tfd, .events = te};
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
			if (fds[1 + i].revents & POLLIN)
				accept_one(i);
		for (nfds_t f = 1 + (nfds_t)npaths; f + 1 < nf; f += 2) {
			struct pair *p = &pairs[idx[f - 1 - npaths]];
			short cr = fds[f].revents, tr = fds[f + 1].revents;
			bool ok;

			if (!p->used)
				continue;
			ok = pump(&p->up, p->cfd, p->tfd,
				  cr & (POLLIN | POLLHUP | POLLERR),
				  tr & POLLOUT);
			ok = ok && pump(&p->down, p->tfd, p->cfd,
					tr & (POLLIN | POLLHUP | POLLERR),
					cr & POLLOUT);
			if (!ok || (p->up.eof && p->down.eof && !p->up.len &&
				    !p->down.len))
				pair_close(p, !ok);
		}
	}
}
