/*
 * test_env_real_reactors.c — several reactors: posts between
 * them, accepted connections handed out in turn, disk completions on the
 * submitting reactor, a group stopped from any of them.
 *
 * Every test drives its own reactor and bounds itself with a watchdog
 * timer, so a broken build fails instead of hanging.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "env_real/env_real_int.h" /* er_msg */

/* ------------------------------------------------------ several reactors */

static struct env *new_env_reactors(unsigned int n)
{
	struct env *e = new_env_opts((struct env_real_opts){.reactors = n});

	assert_int_equal(env_real_reactors(e), n);
	return e;
}

struct mr_post {
	struct env *e0;
	pthread_t main_thread;
	pthread_t ran_on;
	int runs;
	bool inline_run;
	bool posting;
};

static void mr_post_fn(void *arg)
{
	struct mr_post *p = arg;

	p->ran_on = pthread_self();
	p->inline_run = p->posting;
	p->runs++;
	env_real_stop(p->e0);
}

/* Reactor 1's env: the one a connection accepted there carries. */
struct mr_accept {
	struct env *e0;
	struct env *env[8];
	pthread_t thread[8];
	int taken, n, want;
};

/* The env (and thread) of the reactor other than e among the accepts. */
static int mr_other(const struct mr_accept *a, struct env *e)
{
	for (int i = 0; i < a->n; i++)
		if (a->env[i] != e)
			return i;
	fail_msg("no connection landed on another reactor");
	return -1;
}

static void mr_accept_fn(void *arg, struct env_conn *c,
			 const struct env_conn_info *info)
{
	struct mr_accept *a = arg;
	static const struct env_conn_handler h = {0};
	int slot = __atomic_fetch_add(&a->taken, 1, __ATOMIC_SEQ_CST);

	assert_non_null(info->env);
	a->env[slot] = info->env;
	a->thread[slot] = pthread_self();
	info->env->ops->conn_set_handler(c, &h, NULL);
	info->env->ops->conn_close(c);
	if (__atomic_add_fetch(&a->n, 1, __ATOMIC_SEQ_CST) == a->want)
		env_real_stop(a->e0);
}

/* er_msg: how librbd's and tcmu plugins' threads hand a completion to a
 * reactor.  Each message runs once, on the reactor's thread, in the order
 * sent; one taken back before the loop ran it never runs. */
struct msg_test;
struct msg_slot {
	struct er_msg m;
	struct msg_test *t;
	int i;
};
struct msg_test {
	struct msg_slot slot[8];
	int order[8];
	int ran;
	pthread_t ran_on[8];
	struct env *e;
	struct er_reactor *r;
};

static void msg_test_fn(struct er_msg *m)
{
	struct msg_slot *sl = er_container_of(m, struct msg_slot, m);
	struct msg_test *t = sl->t;

	t->order[t->ran] = sl->i;
	t->ran_on[t->ran] = pthread_self();
	if (++t->ran == 7) /* 8 sent, one taken back */
		env_real_stop(t->e);
}

static void *msg_test_sender(void *arg)
{
	struct msg_test *t = arg;

	for (int i = 0; i < 8; i++)
		er_msg_send(t->r, &t->slot[i].m);
	return NULL;
}

static void msg_from_another_thread_runs_on_the_reactor_in_order(void **state)
{
	struct msg_test t = {0};
	pthread_t th;

	(void)state;
	t.e = new_env(true, NULL);
	t.r = t.e->priv;
	for (int i = 0; i < 8; i++)
		t.slot[i] =
			(struct msg_slot){.m.fn = msg_test_fn, .t = &t, .i = i};
	assert_int_equal(pthread_create(&th, NULL, msg_test_sender, &t), 0);
	pthread_join(th, NULL);
	/* Queued, the loop not running: it can be taken back, once. */
	assert_true(er_msg_cancel(t.r, &t.slot[5].m));
	assert_false(er_msg_cancel(t.r, &t.slot[5].m));
	run_bounded(t.e);
	assert_int_equal(t.ran, 7);
	for (int i = 0, want = 0; i < 7; i++, want++) {
		if (want == 5)
			want++;
		assert_int_equal(t.order[i], want);
		assert_true(pthread_equal(t.ran_on[i], pthread_self()));
	}
	assert_false(er_msg_cancel(t.r, &t.slot[0].m)); /* it ran */
	env_real_free(t.e);
}

static void post_runs_on_the_other_reactors_thread(void **state)
{
	struct env *e = new_env_reactors(2);
	struct mr_accept a = {.e0 = e, .want = 4};
	struct mr_post p = {.e0 = e, .main_thread = pthread_self()};
	struct env *other_env;
	struct env_listener *l;
	uint16_t port;
	int fds[4];

	(void)state;
	/* Accepted connections go to the reactors in turn, each callback on
	 * its reactor's thread, with that reactor's env in info.env. */
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	port = env_real_listener_port(l);
	for (int i = 0; i < 4; i++)
		fds[i] = client_connect(AF_INET, port, 0);
	run_bounded(e);
	assert_int_equal(a.n, 4);
	{
		int on0 = 0, other = mr_other(&a, e);

		for (int i = 0; i < 4; i++) {
			if (a.env[i] == e) {
				on0++;
				assert_true(pthread_equal(a.thread[i],
							  p.main_thread));
			} else {
				assert_ptr_equal(a.env[i], a.env[other]);
				assert_true(pthread_equal(a.thread[i],
							  a.thread[other]));
				assert_false(pthread_equal(a.thread[i],
							   p.main_thread));
			}
		}
		assert_int_equal(on0, 2); /* in turn: two each */
		other_env = a.env[other];
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	/* A post to reactor 1 runs there, never inside env_post(). */
	p.posting = true;
	assert_int_equal(env_post(other_env, mr_post_fn, &p), 0);
	p.posting = false;
	run_bounded(e);
	assert_int_equal(p.runs, 1);
	assert_false(p.inline_run);
	assert_false(pthread_equal(p.ran_on, p.main_thread));
	/* A post to ourselves (reactor 0) runs on this thread. */
	assert_int_equal(env_post(e, mr_post_fn, &p), 0);
	run_bounded(e);
	assert_int_equal(p.runs, 2);
	assert_true(pthread_equal(p.ran_on, p.main_thread));
	e->ops->listener_close(l);
	env_real_free(e);
}

struct mr_disk {
	struct env *e0;
	struct bs_dev *d;
	struct bs_req req;
	struct iovec iov;
	uint8_t buf[BS];
	pthread_t submitted_on, completed_on;
	int status;
};

static void mr_disk_done(struct bs_req *req, int status)
{
	struct mr_disk *m =
		(struct mr_disk *)((char *)req - offsetof(struct mr_disk, req));

	m->completed_on = pthread_self();
	m->status = status;
	env_real_stop(m->e0);
}

static void mr_disk_submit(void *arg)
{
	struct mr_disk *m = arg;

	m->submitted_on = pthread_self();
	memset(&m->req, 0, sizeof(m->req));
	m->iov.iov_base = m->buf;
	m->iov.iov_len = BS;
	m->req.op = BS_OP_READ;
	m->req.offset_bytes = BS;
	m->req.length_bytes = BS;
	m->req.iov = &m->iov;
	m->req.iovcnt = 1;
	m->req.done = mr_disk_done;
	bs_submit(m->d, &m->req);
}

/* A file opened on reactor 0 and read from reactor 1 completes on 1. */
static void disk_request_completes_on_the_submitting_reactor(void **state)
{
	char *dir = make_tmpdir();
	char path[4200];
	struct env *e = new_env_reactors(2);
	struct mr_accept a = {.e0 = e, .want = 2};
	struct env_listener *l;
	struct mr_disk m = {.e0 = e};
	int fds[2], k;

	(void)state;
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	m.d = open_file(e, path, 1 << 20, true, false, false);
	/* Find reactor 1's env the way the target does: an accept there. */
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	for (int i = 0; i < 2; i++)
		fds[i] = client_connect(AF_INET, env_real_listener_port(l), 0);
	run_bounded(e);
	assert_int_equal(a.n, 2);
	k = mr_other(&a, e);
	assert_int_equal(env_post(a.env[k], mr_disk_submit, &m), 0);
	run_bounded(e);
	assert_int_equal(m.status, 0);
	assert_true(pthread_equal(m.submitted_on, a.thread[k]));
	assert_true(pthread_equal(m.completed_on, a.thread[k]));
	assert_false(pthread_equal(m.completed_on, pthread_self()));
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	bs_close(m.d);
	e->ops->listener_close(l);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void mr_stop_fn(void *arg)
{
	env_real_stop(arg); /* reactor 1's env stops the whole group */
}

static void stop_from_another_reactor_stops_the_group(void **state)
{
	struct env *e = new_env_reactors(3);
	struct mr_accept a = {.e0 = e, .want = 2};
	struct env_listener *l;
	int fds[2], k;

	(void)state;
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	for (int i = 0; i < 2; i++)
		fds[i] = client_connect(AF_INET, env_real_listener_port(l), 0);
	run_bounded(e);
	assert_int_equal(a.n, 2);
	k = mr_other(&a, e);
	assert_int_equal(env_post(a.env[k], mr_stop_fn, a.env[k]), 0);
	run_bounded(e); /* returns: reactor 1 stopped everyone */
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	e->ops->listener_close(l);
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_runs_on_the_other_reactors_thread),
		cmocka_unit_test(
			msg_from_another_thread_runs_on_the_reactor_in_order),
		cmocka_unit_test(
			disk_request_completes_on_the_submitting_reactor),
		cmocka_unit_test(stop_from_another_reactor_stops_the_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
