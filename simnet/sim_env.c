/*
 * sim_env.c — the scheduler, PRNG, trace hash, durable state store and the
 * `struct env` the target runs on inside the simulation.
 *
 * Scheduler: the binary min-heap of target/heap.h, of events embedded in
 * their owners and keyed by (at_ns, seq).  seq is a counter bumped on every
 * schedule, so two events due at the same virtual time fire in the order
 * they were scheduled — never in pointer order.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "real_net.h"
#include "sim.h"
#include "ut_assert.h"

void sim_ev_init(struct sim_ev *ev, void (*fn)(struct sim_ev *ev))
{
	memset(ev, 0, sizeof(*ev));
	ut_heap_node_init(&ev->node);
	ev->fn = fn;
}

void sim_ev_cancel(struct sim *sim, struct sim_ev *ev)
{
	if (!ut_heap_node_queued(&ev->node))
		return;
	if (!ev->background)
		sim->busy--;
	ut_heap_remove(&sim->events, &ev->node);
}

void sim_ev_at(struct sim *sim, struct sim_ev *ev, uint64_t at_ns)
{
	sim_ev_cancel(sim, ev);
	if (at_ns < sim->now_ns)
		at_ns = sim->now_ns;
	ev->node.at_ns = at_ns;
	ev->node.seq = sim->seq++;
	if (ut_heap_reserve(&sim->events, sim->events.len + 1) != 0)
		abort();
	ut_heap_push(&sim->events, &ev->node);
	if (!ev->background)
		sim->busy++;
}

struct sim_ev *sim_ev_next(const struct sim *sim)
{
	struct ut_heap_node *n = ut_heap_top(&sim->events);

	return n ? SIM_CONTAINER_OF(n, struct sim_ev, node) : NULL;
}

/*
 * The scheduler oracle: events leave the heap (target/heap.c, the
 * daemon's timer heap too) in strictly increasing (at_ns, seq) order.
 * Exact: an event scheduled after the last one ran is due at or after
 * the clock, which is that event's time, and takes a larger seq
 * (sim_ev_at), so a correct min-heap can only hand out keys larger than
 * the last; a smaller one is a heap that lost its order (a sift missed,
 * the tie-break inverted: mutants 500, 501).  Failing it fails the run as
 * a failed assertion does (scenario.c scn_assert_hook).
 */
static bool sim_sched_in_order(struct sim *sim, const struct sim_ev *ev)
{
	bool ok = !sim->ran_any || ev->node.at_ns > sim->last_at_ns ||
		  (ev->node.at_ns == sim->last_at_ns &&
		   ev->node.seq > sim->last_seq);

	sim->ran_any = true;
	sim->last_at_ns = ev->node.at_ns;
	sim->last_seq = ev->node.seq;
	return ok;
}

/* Take the next event ev off the heap and run it, through the scheduler
 * oracle: the simulated clock jumps to its time; against a real target
 * (real_net.c) the clock is the monotonic one, already at or past it.
 * Both loops come through here, so that --against's events are held to
 * the same order (they bypassed it until the round of blind20). */
void sim_ev_fire(struct sim *sim, struct sim_ev *ev)
{
	ut_assert(ev == sim_ev_next(sim));
	ut_assert(sim_sched_in_order(sim, ev));
	sim_ev_cancel(sim, ev);
	if (sim->real == NULL) {
		ut_assert(ev->node.at_ns >= sim->now_ns);
		sim->now_ns = ev->node.at_ns;
	} else {
		ut_assert(ev->node.at_ns <= sim->now_ns);
	}
	sim->ctr.events++;
	ev->fn(ev);
}

bool sim_run_until(struct sim *sim, uint64_t deadline_ns,
		   bool (*pred)(void *arg), void *arg)
{
	if (sim->real != NULL)
		return real_net_run_until(sim, deadline_ns, pred, arg);
	sim->stop = false;
	for (;;) {
		struct sim_ev *ev;

		if (pred != NULL && pred(arg))
			return true;
		if (sim->stop)
			return false;
		ev = sim_ev_next(sim);
		if (ev == NULL) {
			if (deadline_ns != UINT64_MAX &&
			    sim->now_ns < deadline_ns)
				sim->now_ns = deadline_ns;
			return false;
		}
		if (ev->node.at_ns > deadline_ns) {
			sim->now_ns = deadline_ns;
			return false;
		}
		sim_ev_fire(sim, ev);
	}
}

void sim_run_for(struct sim *sim, uint64_t dt_ns)
{
	sim_run_until(sim, sim->now_ns + dt_ns, NULL, NULL);
}

/* ------------------------------------------------------------- PRNG */

uint64_t sim_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna), written from its published
 * definition: a 256-bit xorshift state with a multiply-rotate output. */
uint64_t sim_rand(struct sim *sim)
{
	uint64_t *s = sim->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t sim_rand_below(struct sim *sim, uint64_t n)
{
	uint64_t limit, r;

	ut_assert(n > 0);
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		r = sim_rand(sim);
	while (r >= limit);
	return r % n;
}

uint64_t sim_rand_range(struct sim *sim, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	if (hi - lo == UINT64_MAX)
		return sim_rand(sim);
	return lo + sim_rand_below(sim, hi - lo + 1);
}

bool sim_chance(struct sim *sim, double p)
{
	if (p <= 0.0)
		return false;
	if (p >= 1.0)
		return true;
	return (double)(sim_rand(sim) >> 11) * 0x1.0p-53 < p;
}

/* ------------------------------------------------------- trace hash */

/*
 * Our own 64-bit fold: eight bytes at a time, xor then multiply by an odd
 * constant and rotate, so that byte order and position both matter and the
 * per-byte cost stays well under a nanosecond.
 */
#define FOLD_MUL 0x9fb21c651e98df25ull

static inline uint64_t fold(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= FOLD_MUL;
	return h ^ (h >> 29);
}

void sim_hash_u64(struct sim *sim, uint64_t v)
{
	sim->hash = fold(sim->hash, v);
}

void sim_hash_bytes(struct sim *sim, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = fold(sim->hash, n);

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = fold(h, w);
		b += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t w = 0;

		memcpy(&w, b, n);
		h = fold(h, w ^ ((uint64_t)n << 56));
	}
	sim->hash = h;
}

uint64_t sim_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

const char *sim_fmt_time(uint64_t ns, char buf[32])
{
	snprintf(buf, 32, "%llu.%06llus",
		 (unsigned long long)(ns / SIM_NS_PER_S),
		 (unsigned long long)(ns % SIM_NS_PER_S / 1000));
	return buf;
}

void sim_tracef(struct sim *sim, const char *fmt, ...)
{
	char tb[32], text[1024];
	va_list ap;

	if (!sim->trace && sim->rec == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sim->trace)
		fprintf(sim->trace_out, "%12s %s\n",
			sim_fmt_time(sim->now_ns, tb), text);
	if (sim->rec != NULL)
		sim->rec->line(sim->rec_ctx, sim->now_ns, text);
}

/* --------------------------------------------------- durable state */

struct sim_kv {
	char *key;
	uint8_t *data;
	size_t len;
};

struct sim_state {
	struct sim_kv *kv; /* sorted by key */
	size_t n, cap;
	/* sim_state_fail: the error puts get, how many more (0: all) */
	int fail_err;
	uint32_t fail_left;
	uint64_t failed; /* puts that failed */
	int last_err;
	/* and per key: how many, the last error */
	struct sim_fail_key {
		char *key;
		uint64_t n;
		int err;
	} * fk;
	size_t nfk;
};

static struct sim_kv *state_find(struct sim_state *st, const char *key,
				 size_t *pos)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(st->kv[mid].key, key);

		if (c == 0)
			return &st->kv[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

static void state_count_failure(struct sim_state *st, const char *key, int err)
{
	struct sim_fail_key *n;
	size_t i;

	for (i = 0; i < st->nfk && strcmp(st->fk[i].key, key) != 0; i++)
		;
	if (i == st->nfk) {
		n = realloc(st->fk, (st->nfk + 1) * sizeof(*n));
		if (n == NULL)
			abort();
		st->fk = n;
		st->fk[i] = (struct sim_fail_key){strdup(key), 0, 0};
		if (st->fk[i].key == NULL)
			abort();
		st->nfk++;
	}
	st->fk[i].n++;
	st->fk[i].err = err;
}

int sim_state_put(struct sim *sim, const char *key, const void *data,
		  size_t len)
{
	struct sim_state *st = sim->state;
	size_t pos = 0;
	struct sim_kv *kv = state_find(st, key, &pos);
	uint8_t *copy;

	if (st->fail_err != 0) {
		int err = st->fail_err;

		if (st->fail_left > 0 && --st->fail_left == 0)
			st->fail_err = 0;
		st->failed++;
		st->last_err = err;
		state_count_failure(st, key, err);
		sim_hash_u64(sim, sim_hash_str(key) ^ (uint64_t)-err);
		SIM_TRACE(sim, "state put %s (%zu bytes) fails: %s", key, len,
			  strerror(-err));
		return err;
	}
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -ENOMEM;
	if (len) /* an empty value may come with data == NULL */
		memcpy(copy, data, len);
	sim_hash_u64(sim, sim_hash_str(key));
	if (len)
		sim_hash_bytes(sim, data, len);
	SIM_TRACE(sim, "state put %s (%zu bytes)", key, len);
	if (kv != NULL) {
		free(kv->data);
		kv->data = copy;
		kv->len = len;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 8;
		struct sim_kv *n = realloc(st->kv, cap * sizeof(*n));

		if (n == NULL) {
			free(copy);
			return -ENOMEM;
		}
		st->kv = n;
		st->cap = cap;
	}
	memmove(&st->kv[pos + 1], &st->kv[pos], (st->n - pos) * sizeof(*kv));
	st->kv[pos].key = strdup(key);
	st->kv[pos].data = copy;
	st->kv[pos].len = len;
	st->n++;
	return 0;
}

void sim_state_fail(struct sim *sim, int err, uint32_t count)
{
	sim->state->fail_err = err;
	sim->state->fail_left = err != 0 ? count : 0;
	SIM_TRACE(sim, "state store %s%s", err ? "fails: " : "saves again",
		  err ? strerror(-err) : "");
}

uint64_t sim_state_failed(const struct sim *sim, const char *key, int *last_err)
{
	const struct sim_state *st = sim->state;

	if (key == NULL) {
		if (last_err != NULL)
			*last_err = st->last_err;
		return st->failed;
	}
	for (size_t i = 0; i < st->nfk; i++)
		if (strcmp(st->fk[i].key, key) == 0) {
			if (last_err != NULL)
				*last_err = st->fk[i].err;
			return st->fk[i].n;
		}
	return 0;
}

ssize_t sim_state_get(struct sim *sim, const char *key, void *buf, size_t cap)
{
	size_t pos;
	struct sim_kv *kv = state_find(sim->state, key, &pos);

	if (kv == NULL)
		return -ENOENT;
	memcpy(buf, kv->data, kv->len < cap ? kv->len : cap);
	return (ssize_t)kv->len;
}

static void state_free(struct sim_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->kv[i].key);
		free(st->kv[i].data);
	}
	free(st->kv);
	for (size_t i = 0; i < st->nfk; i++)
		free(st->fk[i].key);
	free(st->fk);
	free(st);
}

/* ------------------------------------------------ env: clock, timers */

static struct sim *env_sim(struct env *env)
{
	return env->priv;
}

struct env_timer {
	struct sim_ev ev;
	struct sim *sim;
	env_timer_fn fn;
	void *arg;
	int reactor; /* the one it was created on, which alone arms it */
};

static uint64_t env_now(struct env *env)
{
	return env_sim(env)->now_ns;
}

static void timer_fire(struct sim_ev *ev)
{
	struct env_timer *t = SIM_CONTAINER_OF(ev, struct env_timer, ev);
	struct sim *sim = t->sim;

	sim->ctr.timer_fires++;
	sim_hash_u64(sim, 0x7133 ^ sim->now_ns);
	if (sim->rec != NULL)
		sim->rec->timer(sim->rec_ctx, sim->now_ns);
	int was = sim_reactor_enter(sim, t->reactor);

	t->fn(t->arg);
	sim->cur_reactor = was;
}

static struct env_timer *env_timer_new_(struct env *env, env_timer_fn fn,
					void *arg)
{
	struct env_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	sim_ev_init(&t->ev, timer_fire);
	t->ev.background = true;
	t->sim = env_sim(env);
	t->fn = fn;
	t->arg = arg;
	t->reactor = (int)sim_reactor_index(t->sim, env);
	/* A timer is made on the reactor that will own it (env.h). */
	ut_assert(sim_reactor_owns(t->sim, t->reactor));
	t->sim->live_timers++;
	return t;
}

static void env_timer_arm_(struct env_timer *t, uint64_t deadline_ns)
{
	/* Armed only from its own reactor (env.h). */
	ut_assert(sim_reactor_owns(t->sim, t->reactor));
	sim_ev_at(t->sim, &t->ev, deadline_ns);
}

static void env_timer_cancel_(struct env_timer *t)
{
	ut_assert(sim_reactor_owns(t->sim, t->reactor));
	sim_ev_cancel(t->sim, &t->ev);
}

static void env_timer_free_(struct env_timer *t)
{
	ut_assert(sim_reactor_owns(t->sim, t->reactor));
	sim_ev_cancel(t->sim, &t->ev);
	ut_assert(t->sim->live_timers > 0);
	t->sim->live_timers--;
	free(t);
}

/* --------------------------------------- env: state, random, logging */

static int env_state_put(struct env *env, const char *key, const void *data,
			 size_t len)
{
	return sim_state_put(env_sim(env), key, data, len);
}

static ssize_t env_state_get(struct env *env, const char *key, void *buf,
			     size_t cap)
{
	return sim_state_get(env_sim(env), key, buf, cap);
}

static uint64_t env_random(struct env *env)
{
	return sim_rand(env_sim(env));
}

static void env_log(struct env *env, enum ut_log_level level, const char *line)
{
	struct sim *sim = env_sim(env);

	if (sim->trace || sim->rec != NULL)
		sim_tracef(sim, "target %s: %s", ut_log_level_name(level),
			   line);
}

/* One reactor needs no mutexes; these check the discipline several need
 * (no nested or unbalanced locking) on every simulated run, and count.
 * A breach is a failed assertion: the seed fails with its text. */
struct env_mutex {
	struct sim *sim;
	bool held;
};

static struct env_mutex *sim_mutex_new(struct env *e)
{
	struct sim *sim = e->priv;
	struct env_mutex *m = calloc(1, sizeof(*m));

	if (m) {
		m->sim = sim;
		sim->live_mutexes++;
	}
	return m;
}

static void sim_mutex_lock(struct env_mutex *m)
{
	/* Locked twice: nested locking, a deadlock on a real reactor. */
	ut_assert(!m->held);
	m->held = true;
}

static void sim_mutex_unlock(struct env_mutex *m)
{
	ut_assert(m->held);
	m->held = false;
}

static void sim_mutex_free(struct env_mutex *m)
{
	ut_assert(!m->held);
	ut_assert(m->sim->live_mutexes > 0);
	m->sim->live_mutexes--;
	free(m);
}

#define SIM_ENV_OPS                                                           \
	.now_ns = env_now, .timer_new = env_timer_new_,                       \
	.timer_arm = env_timer_arm_, .timer_cancel = env_timer_cancel_,       \
	.timer_free = env_timer_free_, .listen = sim_env_listen,              \
	.listener_close = sim_env_listener_close,                             \
	.conn_set_handler = sim_conn_set_handler, .conn_recv = sim_conn_recv, \
	.conn_send = sim_conn_send, .conn_want_write = sim_conn_want_write,   \
	.conn_set_more = sim_env_conn_set_more, .conn_close = sim_conn_close, \
	.disk_open = sim_env_disk_open,                                       \
	.disk_open_async = sim_env_disk_open_async,                           \
	.state_put = env_state_put, .state_get = env_state_get,               \
	.random_u64 = env_random, .log = env_log, .mutex_new = sim_mutex_new, \
	.mutex_lock = sim_mutex_lock, .mutex_unlock = sim_mutex_unlock,       \
	.mutex_free = sim_mutex_free,

static const struct env_ops sim_env_ops = {SIM_ENV_OPS};

/* ---------------------------------------------------- several reactors */

struct sim_post {
	struct sim_ev ev;
	struct sim *sim;
	env_timer_fn fn;
	void *arg;
	unsigned int to; /* reactor index */
	TAILQ_ENTRY(sim_post) link;
};

/* A backstore opening off the reactor (sim_env_disk_open_async). */
struct sim_open {
	struct sim_ev ev;
	struct sim *sim;
	struct env *env; /* whose reactor the answer runs on */
	env_disk_opened_fn done;
	void *arg;
	int rc;
	struct bs_dev_params p;
	char name[64], path[256];
	TAILQ_ENTRY(sim_open) link;
};

struct sim_posts {
	TAILQ_HEAD(, sim_post) list;
	TAILQ_HEAD(, sim_open) opens;
};

unsigned int sim_reactor_index(const struct sim *sim, const struct env *e)
{
	if (e == &sim->env)
		return 0;
	ut_assert(e >= sim->reactor_env &&
		  e < sim->reactor_env + SIM_MAX_REACTORS - 1);
	return (unsigned int)(e - sim->reactor_env) + 1;
}

static void post_fire(struct sim_ev *ev)
{
	struct sim_post *p = SIM_CONTAINER_OF(ev, struct sim_post, ev);
	struct sim *sim = p->sim;

	TAILQ_REMOVE(&sim->posts->list, p, link);
	ut_assert(sim->live_posts > 0);
	sim->live_posts--;
	sim_hash_u64(sim, 0x9057 ^ p->to);
	SIM_TRACE(sim, "reactor %u runs posted work", p->to);
	int was = sim_reactor_enter(sim, (int)p->to);

	p->fn(p->arg);
	sim->cur_reactor = was;
	free(p);
}

/* Work for another reactor arrives after a delay the PRNG draws: the
 * interleavings a real post queue and thread scheduling allow, replayable.
 * Posts to one reactor keep their order (a real queue is FIFO). */
static int sim_post(struct env *to, env_timer_fn fn, void *arg)
{
	struct sim *sim = env_sim(to);
	unsigned int k = sim_reactor_index(sim, to);
	struct sim_post *p;
	uint64_t at;

	ut_assert(k < sim->reactors);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	sim_ev_init(&p->ev, post_fire);
	p->sim = sim;
	p->fn = fn;
	p->arg = arg;
	p->to = k;
	at = sim->now_ns + sim_rand_range(sim, 1000, 50000);
	if (at < sim->post_last_ns[k])
		at = sim->post_last_ns[k];
	sim->post_last_ns[k] = at;
	TAILQ_INSERT_TAIL(&sim->posts->list, p, link);
	sim->live_posts++;
	sim_ev_at(sim, &p->ev, at);
	return 0;
}

static const struct env_ops sim_env_ops_reactors = {
	SIM_ENV_OPS.post = sim_post,
};

/* The same with conn_send_file (sim_set_send_file). */
static const struct env_ops sim_env_ops_sf = {
	SIM_ENV_OPS.conn_send_file = sim_conn_send_file,
	.conn_unacked = sim_conn_unacked,
};
static const struct env_ops sim_env_ops_reactors_sf = {
	SIM_ENV_OPS.post = sim_post,
	.conn_send_file = sim_conn_send_file,
	.conn_unacked = sim_conn_unacked,
};

static const struct env_ops *sim_ops_for(const struct sim *sim)
{
	if (sim->reactors > 1)
		return sim->send_file ? &sim_env_ops_reactors_sf
				      : &sim_env_ops_reactors;
	return sim->send_file ? &sim_env_ops_sf : &sim_env_ops;
}

int sim_set_reactors(struct sim *sim, unsigned int n)
{
	if (n < 1 || n > SIM_MAX_REACTORS)
		return -EINVAL;
	sim->reactors = n;
	sim->env.ops = sim_ops_for(sim);
	for (unsigned int k = 1; k < SIM_MAX_REACTORS; k++) {
		sim->reactor_env[k - 1].ops = sim->env.ops;
		sim->reactor_env[k - 1].log_level = sim->env.log_level;
		sim->reactor_env[k - 1].zero_copy = sim->env.zero_copy;
		sim->reactor_env[k - 1].priv = sim;
	}
	return 0;
}

void sim_set_send_file(struct sim *sim, bool on)
{
	sim->send_file = on;
	sim->env.ops = sim_ops_for(sim);
	for (unsigned int k = 1; k < SIM_MAX_REACTORS; k++)
		sim->reactor_env[k - 1].ops = sim->env.ops;
}

void sim_set_zero_copy(struct sim *sim, bool on)
{
	sim->env.zero_copy = on;
	for (unsigned int k = 1; k < SIM_MAX_REACTORS; k++)
		sim->reactor_env[k - 1].zero_copy = on;
}

struct env *sim_accept_reactor(struct sim *sim)
{
	unsigned int k;

	if (sim->reactors <= 1)
		return NULL;
	k = sim->next_reactor++ % sim->reactors;
	return k == 0 ? &sim->env : &sim->reactor_env[k - 1];
}

static void open_fire(struct sim_ev *ev)
{
	struct sim_open *o = SIM_CONTAINER_OF(ev, struct sim_open, ev);
	struct sim *sim = o->sim;
	struct bs_dev *dev = NULL;
	int rc = o->rc;
	int was;

	TAILQ_REMOVE(&sim->posts->opens, o, link);
	ut_assert(sim->live_opens > 0);
	sim->live_opens--;
	sim_hash_u64(sim, 0x09e7 ^ (uint64_t)(-rc));
	SIM_TRACE(sim, "disk %s: the open off the reactor answers %d", o->name,
		  rc);
	was = sim_reactor_enter(sim, (int)sim_reactor_index(sim, o->env));
	if (rc == 0)
		rc = sim_env_disk_open(o->env, &o->p, &dev);
	o->done(o->arg, rc, rc == 0 ? dev : NULL);
	sim->cur_reactor = was;
	free(o);
}

/* env.h disk_open_async: where the scenario armed it (sim->open_async,
 * one change), the open answers later on env's reactor, never inside
 * this call; otherwise -ENOTSUP, and the target opens in place. */
int sim_env_disk_open_async(struct env *env, const struct bs_dev_params *p,
			    env_disk_opened_fn done, void *arg)
{
	struct sim *sim = env_sim(env);
	struct sim_open *o;

	if (!sim->open_async || p->kind != BS_SIM)
		return -ENOTSUP;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	sim_ev_init(&o->ev, open_fire);
	o->sim = sim;
	o->env = env;
	o->done = done;
	o->arg = arg;
	o->rc = sim->open_async_rc;
	o->p = *p; /* copied: the strings too */
	snprintf(o->name, sizeof(o->name), "%s", p->name ? p->name : "");
	snprintf(o->path, sizeof(o->path), "%s", p->path ? p->path : "");
	o->p.name = o->name;
	o->p.path = p->path ? o->path : NULL;
	o->p.conf = NULL; /* a simulated disk has none */
	o->p.client_id = NULL;
	TAILQ_INSERT_TAIL(&sim->posts->opens, o, link);
	sim->live_opens++;
	sim_ev_at(sim, &o->ev, sim->now_ns + sim->open_async_ns);
	return 0;
}

unsigned int sim_posts_drop(struct sim *sim)
{
	struct sim_post *p;
	struct sim_open *o;
	unsigned int n = 0;

	/* an open whose server is gone: never answered (env.h), nothing
	 * opened yet */
	while ((o = TAILQ_FIRST(&sim->posts->opens)) != NULL) {
		TAILQ_REMOVE(&sim->posts->opens, o, link);
		sim_ev_cancel(sim, &o->ev);
		sim->live_opens--;
		free(o);
	}

	while ((p = TAILQ_FIRST(&sim->posts->list)) != NULL) {
		TAILQ_REMOVE(&sim->posts->list, p, link);
		sim_ev_cancel(sim, &p->ev);
		sim->live_posts--;
		free(p);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ world */

struct sim *sim_new(uint64_t seed)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	uint64_t sm = seed;

	if (sim == NULL)
		abort();
	ut_heap_init(&sim->events);
	sim->seed = seed;
	for (int i = 0; i < 4; i++)
		sim->rng[i] = sim_splitmix64(&sm);
	sim->hash = 0xcbf29ce484222325ull ^ seed;
	sim->trace_out = stdout;
	sim->log_level = UT_LOG_WARN;
	sim->env.ops = &sim_env_ops;
	sim->env.log_level = UT_LOG_WARN;
	sim->env.priv = sim;
	sim->target_up = true;
	sim->reactors = 1;
	sim->cur_reactor = SIM_NO_REACTOR;
	sim->posts = calloc(1, sizeof(*sim->posts));
	if (sim->posts == NULL)
		abort();
	TAILQ_INIT(&sim->posts->list);
	TAILQ_INIT(&sim->posts->opens);
	sim->state = calloc(1, sizeof(*sim->state));
	if (sim->state == NULL)
		abort();
	sim_net_init(sim);
	return sim;
}

void sim_free(struct sim *sim)
{
	if (sim == NULL)
		return;
	sim_oom_forget(sim);
	sim_posts_drop(sim);
	free(sim->posts);
	sim_net_free(sim);
	sim_disks_free(sim);
	state_free(sim->state);
	ut_heap_fini(&sim->events);
	free(sim);
}
