/*
 * control.c — the daemon's control socket: a UNIX stream socket that
 * carries one request per line and one reply per line (the protocol is
 * control/ctl.c's; this file only moves lines).
 *
 * Who may connect (CVE-2020-10699, a world-writable targetcli socket, is
 * what must not happen here):
 *   - the socket's directory is the daemon user's, mode 0700: created so
 *     if missing, refused if it exists with other owners or modes;
 *   - the socket itself is mode 0600 (bound under umask 0177);
 *   - every connection's peer credentials (SO_PEERCRED) are checked: only
 *     the daemon's own uid and root are served; anyone else gets one
 *     error line and is disconnected.
 *
 * Limits: CTL_CLIENTS_MAX clients, a request line of CTL_LINE_MAX bytes,
 * CTL_OUT_MAX bytes of replies queued per client.  A client's requests
 * are handled one after the other: the next line waits for the reply to
 * the previous one (a change may answer seconds later).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/ctl.h"
#include "env_real/env_real_int.h"

#define CTL_CLIENTS_MAX 16
#define CTL_OUT_MAX (64u << 20)

struct env_real_ctl_client {
	struct env_real_control *srv;
	struct er_watch w;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	unsigned int holds; /* requests given out, reply pending */
	bool closed;	    /* fd gone; freed when holds is 0 */
	bool close_after_flush;
	bool eof;	    /* the peer has sent everything */
	bool processing;    /* inside client_process: no re-entry */
	unsigned int stack; /* our frames using it: not freed under them */
	struct env_real_ctl_client *next;
};

struct env_real_control {
	struct er_reactor *r;
	struct er_watch w;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	env_real_control_fn fn;
	void *arg;
	struct env_real_ctl_client *clients;
	unsigned int nclients;
	struct er_accept_pause pause; /* out of descriptors, as listeners */
};

static void client_update(struct env_real_ctl_client *cl);
static void control_reply_locked(struct env_real_ctl_client *cl,
				 const char *line);
static void client_process(struct env_real_ctl_client *cl);

static void client_free_if_done(struct env_real_ctl_client *cl)
{
	struct env_real_control *c = cl->srv;
	struct env_real_ctl_client **pp;
	bool found = false;

	if (!cl->closed || cl->holds || cl->stack)
		return;
	ut_assert(cl->w.fd < 0); /* client_close() closed it */
	for (pp = &c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			found = true;
			break;
		}
	ut_assert(found); /* on its server's list until now */
	free(cl->in);
	free(cl->out);
	free(cl);
}

static void client_close(struct env_real_ctl_client *cl)
{
	if (cl->closed)
		return;
	ut_assert(er_owned(cl->srv->r));
	ut_assert(cl->srv->nclients > 0); /* pair: ctl_accept */
	er_watch_del(cl->srv->r, &cl->w);
	close(cl->w.fd);
	cl->w.fd = -1;
	cl->closed = true;
	cl->srv->nclients--;
	client_free_if_done(cl);
}

static int client_queue(struct env_real_ctl_client *cl, const char *s, size_t n)
{
	if (cl->out_len + n > CTL_OUT_MAX)
		return -1;
	if (cl->out_len + n > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *b;

		while (cap < cl->out_len + n)
			cap *= 2;
		b = realloc(cl->out, cap);
		if (!b)
			return -1;
		cl->out = b;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, s, n);
	cl->out_len += n;
	ut_assert(cl->out_len <= cl->out_cap && cl->out_len <= CTL_OUT_MAX);
	ut_assert(cl->out_off <= cl->out_len);
	return 0;
}

static void client_flush(struct env_real_ctl_client *cl)
{
	ut_assert(cl->out_off <= cl->out_len);
	while (!cl->closed && cl->out_off < cl->out_len) {
		ssize_t n = send(cl->w.fd, cl->out + cl->out_off,
				 cl->out_len - cl->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(cl);
			return;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out_len) {
		cl->out_off = cl->out_len = 0;
		if (cl->close_after_flush || (cl->eof && !cl->holds)) {
			client_close(cl);
			return;
		}
	}
	client_update(cl);
}

void env_real_control_reply(struct env_real_ctl_client *cl, const char *line)
{
	/* A reply answers one request handed out (client_process); the
	 * client lives until its last one. */
	ut_assert(cl->holds > 0);
	ut_assert(er_owned(cl->srv->r));
	cl->stack++;
	control_reply_locked(cl, line);
	cl->stack--;
	client_free_if_done(cl);
}

static void control_reply_locked(struct env_real_ctl_client *cl,
				 const char *line)
{
	if (!cl->closed && (!line || client_queue(cl, line, strlen(line)) ||
			    client_queue(cl, "\n", 1)))
		cl->close_after_flush = true; /* out of memory or flooded */
	ut_assert(cl->stack > 0); /* env_real_control_reply holds it */
	if (cl->holds)
		cl->holds--;
	if (cl->closed)
		return;
	if (cl->processing)
		return; /* answered from inside: the loop goes on */
	if (!cl->holds && !cl->close_after_flush)
		client_process(cl);
	if (!cl->closed)
		client_flush(cl);
}

static void client_update(struct env_real_ctl_client *cl)
{
	uint32_t ev = 0;

	if (cl->closed)
		return;
	ut_assert(cl->w.fd >= 0);
	/* Read only while no reply is pending; write while bytes wait. */
	if (!cl->holds && !cl->close_after_flush && !cl->eof)
		ev |= EPOLLIN;
	if (cl->out_len > cl->out_off)
		ev |= EPOLLOUT;
	er_watch_mod(cl->srv->r, &cl->w, ev);
}

/* Hand the complete lines read so far to the protocol, one at a time. */
static void client_process(struct env_real_ctl_client *cl)
{
	ut_assert(!cl->processing); /* no re-entry */
	ut_assert(cl->in_len <= cl->in_cap);
	cl->processing = true;
	while (!cl->closed && !cl->holds && !cl->close_after_flush) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t len, used;
		char *line;

		if (!nl)
			break;
		used = (size_t)(nl - cl->in) + 1;
		len = used - 1;
		if (len && cl->in[len - 1] == '\r')
			len--;
		/* Out of the buffer first: the reply may come at once. */
		line = malloc(len + 1);
		if (!line) {
			client_close(cl);
			break;
		}
		memcpy(line, cl->in, len);
		line[len] = '\0';
		ut_assert(used <= cl->in_len);
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
		cl->holds++;
		ut_assert(cl->holds == 1); /* one request at a time */
		cl->srv->fn(cl->srv->arg, cl, line, len);
		free(line);
	}
	cl->processing = false;
	if (!cl->closed)
		client_flush(cl);
}

static void client_event_locked(struct env_real_ctl_client *cl,
				uint32_t events);

static void client_event(struct er_watch *w, uint32_t events)
{
	struct env_real_ctl_client *cl =
		er_container_of(w, struct env_real_ctl_client, w);

	ut_assert(!cl->closed); /* its fd left epoll when it closed */
	ut_assert(er_self == cl->srv->r);
	cl->stack++;
	client_event_locked(cl, events);
	cl->stack--;
	client_free_if_done(cl);
}

static void client_event_locked(struct env_real_ctl_client *cl, uint32_t events)
{
	if (events & EPOLLOUT)
		client_flush(cl);
	if (cl->closed || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n;

		if (cl->in_cap - cl->in_len < 4096) {
			size_t cap = cl->in_cap ? cl->in_cap * 2 : 8192;
			char *b;

			if (cap > CTL_LINE_MAX + 8192) {
				env_real_control_reply_error(
					cl, "request longer than 64 KiB");
				return;
			}
			b = realloc(cl->in, cap);
			if (!b) {
				client_close(cl);
				return;
			}
			cl->in = b;
			cl->in_cap = cap;
		}
		n = recv(cl->w.fd, cl->in + cl->in_len, cl->in_cap - cl->in_len,
			 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* EOF (or an error): answer the complete lines,
			 * then go once the replies are out. */
			cl->eof = true;
			break;
		}
		cl->in_len += (size_t)n;
		ut_assert(cl->in_len <= cl->in_cap);
		if (cl->holds)
			break;
	}
	client_process(cl);
}

void env_real_control_reply_error(struct env_real_ctl_client *cl,
				  const char *why)
{
	char line[512];

	ut_assert(why != NULL && strlen(why) < 256); /* our own texts */
	snprintf(line, sizeof(line),
		 "{\"version\":%d,\"ok\":false,\"error\":\"%s\"}",
		 CTL_PROTOCOL_VERSION, why);
	client_queue(cl, line, strlen(line));
	client_queue(cl, "\n", 1);
	cl->close_after_flush = true;
	client_flush(cl);
}

static void ctl_accept(struct er_watch *w, uint32_t events)
{
	struct env_real_control *c =
		er_container_of(w, struct env_real_control, w);

	(void)events;
	for (;;) {
		struct env_real_ctl_client *cl;
		/* logged as uid -1 when SO_PEERCRED cannot be read */
		struct ucred cred = {.uid = (uid_t)-1, .gid = (gid_t)-1};
		socklen_t len = sizeof(cred);
		int fd = accept4(c->w.fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;

			if (!er_accept_pause_on(&c->pause, err) &&
			    (err == ECONNABORTED || err == EPROTO ||
			     err == EINTR))
				continue; /* that one client is gone */
			return; /* paused, or EAGAIN: the backlog is empty */
		}
		er_accept_pause_over(&c->pause);
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->srv = c;
		cl->w.fd = fd;
		cl->w.fn = client_event;
		cl->next = c->clients;
		c->clients = cl;
		c->nclients++;
		ut_assert(c->nclients > 0); /* no wrap */
		if (er_watch_add(c->r, &cl->w, EPOLLIN)) {
			close(fd);
			cl->w.fd = -1; /* client_free_if_done checks it */
			cl->closed = true;
			c->nclients--;
			client_free_if_done(cl);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			LOG_WARN(&c->r->env,
				 "event=control-refused uid=%d pid=%d "
				 "reason=\"not the daemon's user or root\"",
				 (int)cred.uid, (int)cred.pid);
			env_real_control_reply_error(
				cl, "permission denied: only root and the "
				    "daemon's user may use this socket");
			continue;
		}
		if (c->nclients > CTL_CLIENTS_MAX) {
			env_real_control_reply_error(
				cl, "too many control clients");
			continue;
		}
		LOG_DEBUG(&c->r->env, "event=control-connect uid=%d pid=%d",
			  (int)cred.uid, (int)cred.pid);
	}
}

/* The directory: ours and private, created if missing. */
static int ctl_dir(struct env *e, const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *dir;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		LOG_ERR(e, "control socket: cannot create %s: %s", dir,
			strerror(errno));
		return -errno;
	}
	if (stat(dir, &st)) {
		LOG_ERR(e, "control socket: %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		LOG_ERR(e,
			"control socket: %s must be a directory owned by uid "
			"%d with mode 0700 (it is uid %d, mode %04o)",
			dir, (int)geteuid(), (int)st.st_uid,
			(unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* A socket file left by a daemon that died is removed; a live daemon's
 * is not. */
static int ctl_stale(struct env *e, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		LOG_ERR(e, "control socket: %s exists and is not a socket",
			sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		LOG_ERR(e, "control socket: %s is in use by another daemon",
			sa->sun_path);
		return -EADDRINUSE;
	}
	if (fd >= 0)
		close(fd);
	unlink(sa->sun_path);
	return 0;
}

int env_real_control_listen(struct env *e, const char *path,
			    env_real_control_fn fn, void *arg,
			    struct env_real_control **out)
{
	struct env_real_control *c;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool bound;
	mode_t old;
	int fd, rc;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		LOG_ERR(e, "control socket: path longer than %zu bytes",
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = ctl_dir(e, path);
	if (!rc)
		rc = ctl_stale(e, &sa);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	bound = rc == 0;
	if (rc || chmod(path, 0600) || listen(fd, 16)) {
		rc = -errno;
		LOG_ERR(e, "control socket: %s: %s", path, strerror(-rc));
		close(fd);
		/* no socket file of ours left for the next start to find */
		if (bound)
			unlink(path);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	c->r = er_reactor_of(e);
	ut_assert(c->r->index == 0); /* the listening reactor */
	if (er_accept_pause_init(&c->pause, c->r, &c->w, "control socket")) {
		close(fd);
		unlink(path);
		free(c);
		return -ENOMEM;
	}
	ut_assert(fn != NULL);
	c->w.fd = fd;
	c->w.fn = ctl_accept;
	c->fn = fn;
	c->arg = arg;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (er_watch_add(c->r, &c->w, EPOLLIN)) {
		er_accept_pause_fini(&c->pause);
		close(fd);
		unlink(path);
		free(c);
		return -EIO;
	}
	LOG_INFO(e, "event=control-listen path=%s mode=0600", path);
	*out = c;
	return 0;
}

void env_real_control_close(struct env_real_control *c)
{
	struct env_real_ctl_client *cl, *next;

	if (!c)
		return;
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (!cl->closed) {
			er_watch_del(c->r, &cl->w);
			close(cl->w.fd);
		}
		free(cl->in);
		free(cl->out);
		free(cl);
	}
	er_accept_pause_fini(&c->pause); /* never fires after */
	er_watch_del(c->r, &c->w);
	close(c->w.fd);
	unlink(c->path);
	free(c);
}
