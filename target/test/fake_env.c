/*
 * fake_env.c — the smallest environment that can run the target: byte
 * buffers for connections, a sorted list for timers, a counter for
 * randomness.  It exists to prove the seam: the whole stack runs with no
 * socket, clock or thread in sight.  Its disks are fake_disks.c's.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "fake_env.h"

struct env_timer {
	struct env *env;
	env_timer_fn fn;
	void *arg;
	uint64_t deadline;
	int armed;
};

struct env_listener {
	env_accept_fn fn;
	void *arg;
	uint16_t tpgt;
};

struct bytebuf {
	uint8_t *p;
	size_t len, cap;
};

struct fake_conn {
	struct env *env;
	const struct env_conn_handler *h;
	void *ctx;
	struct bytebuf to_target, to_client;
	size_t send_limit;
	bool budget_on; /* fake_conn_set_send_budget() */
	size_t budget;
	int blocked;
	int target_closed;
	int peer_closed;
};

#define MAX_TIMERS 256
#define MAX_CONNS 64
#define MAX_POSTS 1024

/* A mutex is a flag that aborts the test on a nested or unbalanced lock:
 * the lock discipline the target needs from real mutexes. */
struct env_mutex {
	int held;
	struct fake *owner;
};

struct fake_post {
	struct env *to;
	env_timer_fn fn;
	void *arg;
};

struct fake {
	uint64_t now;
	uint64_t rnd;
	struct env_timer *timers[MAX_TIMERS];
	unsigned int ntimers;
	struct env_listener listeners[4];
	unsigned int nlisteners;
	struct fake_conn *conns[MAX_CONNS];
	unsigned int nconns;
	struct env *second; /* the other "reactor", or NULL */
	struct fake_post posts[MAX_POSTS];
	unsigned int nposts;
	unsigned int posts_run;
	unsigned int mutexes_live;
};

static struct fake *F(struct env *e)
{
	return e->priv;
}

static void buf_append(struct bytebuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_consume(struct bytebuf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static uint64_t f_now(struct env *e)
{
	return F(e)->now;
}

static struct env_timer *f_timer_new(struct env *e, env_timer_fn fn, void *arg)
{
	struct fake *f = F(e);
	struct env_timer *t = calloc(1, sizeof(*t));

	if (!t || f->ntimers == MAX_TIMERS) {
		free(t);
		return NULL;
	}
	t->env = e;
	t->fn = fn;
	t->arg = arg;
	f->timers[f->ntimers++] = t;
	return t;
}

static void f_timer_arm(struct env_timer *t, uint64_t deadline)
{
	t->deadline = deadline;
	t->armed = 1;
}

static void f_timer_cancel(struct env_timer *t)
{
	t->armed = 0;
}

static void f_timer_free(struct env_timer *t)
{
	struct fake *f = F(t->env);

	for (unsigned int i = 0; i < f->ntimers; i++) {
		if (f->timers[i] == t) {
			f->timers[i] = f->timers[--f->ntimers];
			break;
		}
	}
	free(t);
}

static int f_listen(struct env *e, const char *addr, uint16_t tpgt,
		    env_accept_fn fn, void *arg, struct env_listener **out)
{
	struct fake *f = F(e);
	struct env_listener *l;

	(void)addr;
	if (f->nlisteners == 4)
		return -EADDRINUSE;
	l = &f->listeners[f->nlisteners++];
	l->fn = fn;
	l->arg = arg;
	l->tpgt = tpgt;
	*out = l;
	return 0;
}

static void f_listener_close(struct env_listener *l)
{
	l->fn = NULL;
}

static void f_set_handler(struct env_conn *ec, const struct env_conn_handler *h,
			  void *ctx)
{
	struct fake_conn *c = (struct fake_conn *)ec;

	c->h = h;
	c->ctx = ctx;
}

static ssize_t f_recv(struct env_conn *ec, void *buf, size_t len)
{
	struct fake_conn *c = (struct fake_conn *)ec;
	size_t n = len < c->to_target.len ? len : c->to_target.len;

	memcpy(buf, c->to_target.p, n);
	buf_consume(&c->to_target, n);
	return (ssize_t)n;
}

static ssize_t f_send(struct env_conn *ec, const struct iovec *iov, int iovcnt)
{
	struct fake_conn *c = (struct fake_conn *)ec;
	size_t total = 0;

	if (c->peer_closed)
		return -EPIPE;
	if (c->blocked)
		return 0;
	for (int i = 0; i < iovcnt; i++) {
		size_t n = iov[i].iov_len;

		if (c->send_limit && total + n > c->send_limit)
			n = c->send_limit - total;
		if (c->budget_on && n > c->budget - total)
			n = c->budget - total;
		buf_append(&c->to_client, iov[i].iov_base, n);
		total += n;
		if ((c->send_limit && total == c->send_limit) ||
		    (c->budget_on && total == c->budget))
			break;
	}
	if (c->budget_on)
		c->budget -= total;
	return (ssize_t)total;
}

bool fake_send_files_on;
static uint64_t fake_file_bytes;
static bool fake_track_acks_on;

void fake_env_track_acks(bool on)
{
	fake_track_acks_on = on;
}

/* The client has not taken them: unacknowledged (env.h conn_unacked). */
static ssize_t f_conn_unacked(struct env_conn *ec)
{
	struct fake_conn *c = (struct fake_conn *)ec;

	return (ssize_t)c->to_client.len;
}

void fake_env_send_files(bool on)
{
	fake_send_files_on = on;
}

uint64_t fake_file_bytes_sent(void)
{
	return fake_file_bytes;
}

static ssize_t f_send_file(struct env_conn *ec, const struct iovec *iov,
			   int iovcnt, int fd, uint64_t off, uint64_t len)
{
	struct fake_conn *c = (struct fake_conn *)ec;
	ssize_t head = 0;
	size_t total = 0, limit;
	uint8_t buf[4096];

	if (c->peer_closed)
		return -EPIPE;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (iovcnt > 0) {
		head = f_send(ec, iov, iovcnt);
		if (head < 0 || (size_t)head < total)
			return head; /* the file's bytes only after every iovec */
	}
	if (c->blocked)
		return head;
	limit = c->send_limit ? c->send_limit - (size_t)head : SIZE_MAX;
	if (c->budget_on && limit > c->budget)
		limit = c->budget; /* f_send took head out already */
	assert(fd >= 0 || fd == ENV_FD_ZEROS);
	total = 0;
	while (total < len && total < limit) {
		size_t n = len - total < sizeof(buf) ? (size_t)(len - total)
						     : sizeof(buf);

		if (n > limit - total)
			n = limit - total;
		if (fd == ENV_FD_ZEROS)
			memset(buf, 0, n);
		else
			assert(pread(fd, buf, n, (off_t)(off + total)) ==
			       (ssize_t)n);
		buf_append(&c->to_client, buf, n);
		total += n;
	}
	fake_file_bytes += total;
	if (c->budget_on)
		c->budget -= total;
	return head + (ssize_t)total;
}

static void f_want_write(struct env_conn *ec, bool want)
{
	(void)ec, (void)want;
}
static void f_set_more(struct env_conn *ec, bool more)
{
	(void)ec, (void)more;
}

static void f_conn_close(struct env_conn *ec)
{
	struct fake_conn *c = (struct fake_conn *)ec;

	c->target_closed = 1;
	c->h = NULL;
}

static int f_state_put(struct env *e, const char *k, const void *d, size_t n)
{
	(void)e, (void)k, (void)d, (void)n;
	return -ENOTSUP;
}

static ssize_t f_state_get(struct env *e, const char *k, void *b, size_t cap)
{
	(void)e, (void)k, (void)b, (void)cap;
	return -ENOENT;
}

static uint64_t f_random(struct env *e)
{
	struct fake *f = F(e);

	/* splitmix64: deterministic, good enough for tags */
	uint64_t z = (f->rnd += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void f_log(struct env *e, enum ut_log_level lvl, const char *line)
{
	(void)e;
	if (getenv("FAKE_ENV_LOG"))
		fprintf(stderr, "[%s] %s\n", ut_log_level_name(lvl), line);
}

static int f_post(struct env *to, env_timer_fn fn, void *arg)
{
	struct fake *f = F(to);

	if (f->nposts == MAX_POSTS)
		return -ENOMEM;
	f->posts[f->nposts++] = (struct fake_post){to, fn, arg};
	return 0;
}

static struct env_mutex *f_mutex_new(struct env *e)
{
	struct env_mutex *m = calloc(1, sizeof(*m));

	if (m) {
		m->owner = F(e);
		m->owner->mutexes_live++;
	}
	return m;
}

static void f_mutex_lock(struct env_mutex *m)
{
	if (m->held) {
		fprintf(stderr, "fake_env: mutex %p locked twice\n", (void *)m);
		abort();
	}
	m->held = 1;
}

static void f_mutex_unlock(struct env_mutex *m)
{
	if (!m->held) {
		fprintf(stderr, "fake_env: mutex %p unlocked, not held\n",
			(void *)m);
		abort();
	}
	m->held = 0;
}

static void f_mutex_free(struct env_mutex *m)
{
	if (m->held) {
		fprintf(stderr, "fake_env: mutex %p freed while held\n",
			(void *)m);
		abort();
	}
	m->owner->mutexes_live--;
	free(m);
}

static const struct env_ops fake_ops = {
	.now_ns = f_now,
	.timer_new = f_timer_new,
	.timer_arm = f_timer_arm,
	.timer_cancel = f_timer_cancel,
	.timer_free = f_timer_free,
	.listen = f_listen,
	.listener_close = f_listener_close,
	.conn_set_handler = f_set_handler,
	.conn_recv = f_recv,
	.conn_send = f_send,
	.conn_want_write = f_want_write,
	.conn_set_more = f_set_more,
	.conn_close = f_conn_close,
	.disk_open = fake_disk_open,
	.disk_open_async = fake_disk_open_async,
	.state_put = f_state_put,
	.state_get = f_state_get,
	.random_u64 = f_random,
	.log = f_log,
	/* One reactor needs no mutexes, but checking ones make every test
	 * of the stack check the lock discipline of several reactors. */
	.mutex_new = f_mutex_new,
	.mutex_lock = f_mutex_lock,
	.mutex_unlock = f_mutex_unlock,
	.mutex_free = f_mutex_free,
};

static struct env_ops fake_ops_reactors;
static struct env_ops fake_ops_files;

struct env *fake_env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	e->ops = &fake_ops;
	if (fake_send_files_on) {
		fake_ops_files = fake_ops;
		fake_ops_files.conn_send_file = f_send_file;
		fake_ops_files.conn_unacked =
			fake_track_acks_on ? f_conn_unacked : NULL;
		e->ops = &fake_ops_files;
	}
	e->log_level = getenv("FAKE_ENV_LOG") ? UT_LOG_TRACE : UT_LOG_WARN;
	/* the fake-ref switch: mem disks answer by reference too */
	e->zero_copy = fake_ref_disks_on;
	e->priv = calloc(1, sizeof(struct fake));
	return e;
}

/* env.h: "Mutexes: NULL (and every operation a no-op) with one
 * reactor": the same world without mutex operations. */
static struct env_ops fake_ops_unlocked;

struct env *fake_env_new_unlocked(void)
{
	struct env *e = fake_env_new();

	fake_ops_unlocked = fake_ops;
	fake_ops_unlocked.mutex_new = NULL;
	fake_ops_unlocked.mutex_lock = NULL;
	fake_ops_unlocked.mutex_unlock = NULL;
	fake_ops_unlocked.mutex_free = NULL;
	e->ops = &fake_ops_unlocked;
	return e;
}

struct env *fake_env_new_reactors(struct env **second)
{
	struct env *e = fake_env_new();
	struct env *e2 = calloc(1, sizeof(*e2));

	fake_ops_reactors = fake_ops;
	fake_ops_reactors.post = f_post;
	fake_ops_reactors.mutex_new = f_mutex_new;
	fake_ops_reactors.mutex_lock = f_mutex_lock;
	fake_ops_reactors.mutex_unlock = f_mutex_unlock;
	fake_ops_reactors.mutex_free = f_mutex_free;
	e->ops = &fake_ops_reactors;
	*e2 = *e;
	F(e)->second = e2;
	*second = e2;
	return e;
}

unsigned int fake_env_posts_run(struct env *e)
{
	return F(e)->posts_run;
}
unsigned int fake_env_mutexes_live(struct env *e)
{
	return F(e)->mutexes_live;
}

unsigned int fake_env_timers_live(struct env *e)
{
	return F(e)->ntimers;
}

/* Run posted work (and what it posts) in order. */
static void run_posts(struct fake *f)
{
	for (unsigned int i = 0; i < f->nposts; i++) {
		struct fake_post p = f->posts[i];

		p.fn(p.arg);
		f->posts_run++;
	}
	f->nposts = 0;
}

void fake_env_free(struct env *e)
{
	struct fake *f = F(e);

	free(f->second);
	for (unsigned int i = 0; i < f->nconns; i++) {
		free(f->conns[i]->to_target.p);
		free(f->conns[i]->to_client.p);
		free(f->conns[i]);
	}
	for (unsigned int i = 0; i < f->ntimers; i++)
		free(f->timers[i]);
	free(f);
	free(e);
}

void fake_env_advance(struct env *e, uint64_t ns)
{
	struct fake *f = F(e);
	uint64_t end = f->now + ns;

	for (;;) {
		struct env_timer *next = NULL;

		run_posts(f);
		for (unsigned int i = 0; i < f->ntimers; i++) {
			struct env_timer *t = f->timers[i];

			if (t->armed && t->deadline <= end &&
			    (!next || t->deadline < next->deadline))
				next = t;
		}
		if (!next)
			break;
		if (next->deadline > f->now)
			f->now = next->deadline;
		next->armed = 0;
		next->fn(next->arg);
	}
	f->now = end;
}

unsigned int fake_env_listeners(struct env *e)
{
	return F(e)->nlisteners;
}

struct fake_conn *fake_connect(struct env *e)
{
	return fake_connect_on(e, NULL);
}

struct fake_conn *fake_connect_on(struct env *e, struct env *reactor)
{
	return fake_connect_to(e, 0, reactor);
}

struct fake_conn *fake_connect_to(struct env *e, unsigned int listener,
				  struct env *reactor)
{
	struct fake *f = F(e);
	struct env_listener *l = &f->listeners[listener];
	struct fake_conn *c;
	struct env_conn_info info = {0};

	if (listener >= f->nlisteners || !l->fn || f->nconns == MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	c->env = e;
	f->conns[f->nconns++] = c;
	snprintf(info.local_addr, sizeof(info.local_addr), "127.0.0.1:%u",
		 3260 + listener);
	snprintf(info.peer_addr, sizeof(info.peer_addr), "127.0.0.1:%u",
		 40000 + f->nconns);
	info.portal_group = l->tpgt;
	info.listener_index = listener;
	info.env = reactor;
	l->fn(l->arg, (struct env_conn *)c, &info);
	return c;
}

void fake_conn_set_send_limit(struct fake_conn *c, size_t limit)
{
	c->send_limit = limit;
}

void fake_conn_set_send_budget(struct fake_conn *c, size_t bytes)
{
	c->budget_on = true;
	c->budget = bytes;
}

void fake_conn_set_blocked(struct fake_conn *c, int blocked)
{
	c->blocked = blocked;
}

void fake_conn_push(struct fake_conn *c, const void *buf, size_t len,
		    size_t chunk)
{
	const uint8_t *p = buf;

	if (!chunk)
		chunk = len ? len : 1;
	while (len && c->h) {
		size_t n = len < chunk ? len : chunk;

		buf_append(&c->to_target, p, n);
		p += n;
		len -= n;
		c->h->on_readable(c->ctx);
		/* a limited sender drains as the test reads: emulate room */
		if (c->h && c->send_limit)
			c->h->on_writable(c->ctx);
	}
}

size_t fake_conn_pending(struct fake_conn *c)
{
	return c->to_client.len;
}

void fake_conn_drop_pending(struct fake_conn *c)
{
	c->to_client.len = 0;
}

int fake_conn_pop_pdu(struct fake_conn *c, struct iscsi_bhs *h, uint8_t **data)
{
	return fake_conn_pop_pdu_digests(c, false, false, h, data);
}

/* Is d the digest of the covered bytes, as iscsi_digest() encodes it? */
static bool digest_ok(const uint8_t *covered, size_t len, const uint8_t *d)
{
	uint32_t want = iscsi_digest(covered, len), got;

	memcpy(&got, d, 4);
	return got == want;
}

int fake_conn_pop_pdu_digests(struct fake_conn *c, bool header_digest,
			      bool data_digest, struct iscsi_bhs *h,
			      uint8_t **data)
{
	const uint8_t *p;
	uint64_t need, hdr, padded;
	int rc = 0;

	/* Let a send-limited target push out more. */
	for (int i = 0; i < 1000 && c->h && c->send_limit; i++) {
		size_t before = c->to_client.len;

		c->h->on_writable(c->ctx);
		if (c->to_client.len == before)
			break;
	}
	p = c->to_client.p; /* after the sends: they may move it */
	if (c->to_client.len < ISCSI_BHS_LEN)
		return -1;
	iscsi_bhs_decode(p, h);
	need = iscsi_pdu_wire_len(h->total_ahs_len, h->data_len, header_digest,
				  data_digest);
	if (c->to_client.len < need)
		return -1;
	hdr = ISCSI_BHS_LEN + h->total_ahs_len * 4u;
	padded = h->data_len + iscsi_pad4(h->data_len);
	if (header_digest && !digest_ok(p, (size_t)hdr, p + hdr))
		rc = -2;
	if (header_digest)
		hdr += ISCSI_DIGEST_LEN;
	if (!rc && data_digest && h->data_len &&
	    !digest_ok(p + hdr, (size_t)padded, p + hdr + padded))
		rc = -3;
	*data = NULL;
	if (!rc && h->data_len) {
		*data = malloc(h->data_len);
		memcpy(*data, p + hdr, h->data_len);
	}
	buf_consume(&c->to_client, (size_t)need);
	return rc;
}

int fake_conn_closed(struct fake_conn *c)
{
	return c->target_closed;
}

void fake_conn_hangup(struct fake_conn *c)
{
	c->peer_closed = 1;
	if (c->h)
		c->h->on_closed(c->ctx, 0);
}
