/*
 * retire.c — retire rounds: an object a change replaced (a target's conf,
 * for one) is freed only once every reactor has passed a callback
 * boundary since, so that a reactor that read the old pointer before the
 * change may use it to the end of its callback.  A grace round posts an
 * acknowledgement to every reactor and counts the answers; one round runs
 * at a time, and frees run in the order they were asked for.
 *
 * The boundary: this is the memory rule alone, with no knowledge of what
 * it frees; reconfig.c waits for a round (iscsi_grace_over) before it
 * calls an operation done.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* ------------------------------------------------------ retire rounds */

struct grace_tick {
	struct iscsi_server *srv;
	uint64_t seq;
	unsigned int *left;
};

static void grace_start(struct iscsi_server *srv);

void iscsi_retired_run(struct iscsi_server *srv, uint64_t upto)
{
	struct iscsi_retired **pp = &srv->retired, *r;

	/* only rounds that are over (or everything, at server free) */
	ut_assert(upto <= srv->grace_done || upto == UINT64_MAX);
	while ((r = *pp)) {
		if (r->seq > upto) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->fn(r->ptr);
		free(r);
	}
}

/* Back on the server's reactor: one more reactor has passed. */
static void grace_ack(void *arg)
{
	struct grace_tick *g = arg;
	struct iscsi_server *srv = g->srv;

	/* one round at a time: every ack is of the running round */
	ut_assert(*g->left > 0);
	ut_assert(g->seq == srv->grace_seq);
	if (--*g->left == 0) {
		ut_assert(srv->grace_done + 1 == g->seq);
		srv->grace_done = g->seq;
		free(g->left);
		iscsi_retired_run(srv, srv->grace_done);
		if (srv->retired)
			grace_start(srv);
	}
	free(g);
}

/* On a reactor: whatever callback was running when the round started is
 * over now. */
static void grace_pass(void *arg)
{
	struct grace_tick *g = arg;

	if (env_post(g->srv->env, grace_ack, g) != 0)
		LOG_ERR(g->srv->env, "retire round %llu: cannot post back",
			(unsigned long long)g->seq);
}

static void grace_start(struct iscsi_server *srv)
{
	struct env *envs[ISCSI_MAX_REACTORS + 1];
	unsigned int n = 0, *left;

	ut_assert(srv->grace_done <= srv->grace_seq);
	if (srv->grace_seq > srv->grace_done)
		return; /* a round is running: the next starts after it */
	srv->grace_seq++;
	ut_assert(srv->grace_seq == srv->grace_done + 1);
	for (struct iscsi_retired *r = srv->retired; r; r = r->next)
		if (r->seq > srv->grace_seq)
			r->seq = srv->grace_seq;
	envs[n++] = srv->env;
	env_mutex_lock(srv->env, srv->lock);
	for (unsigned int i = 0; i < srv->reactor_count; i++)
		if (srv->reactors[i]->env != srv->env)
			envs[n++] = srv->reactors[i]->env;
	env_mutex_unlock(srv->env, srv->lock);
	ut_assert(n >= 1 && n <= ISCSI_MAX_REACTORS + 1);
	left = malloc(sizeof(*left));
	if (!left)
		goto fail;
	*left = n;
	for (unsigned int i = 0; i < n; i++) {
		struct grace_tick *g = malloc(sizeof(*g));

		/* Filled before it is posted: another reactor runs it. */
		if (g) {
			g->srv = srv;
			g->seq = srv->grace_seq;
			g->left = left;
		}
		if (!g || env_post(envs[i], grace_pass, g) != 0) {
			/* Never reached: the objects leak rather than being
			 * freed under a reader. */
			free(g);
			LOG_ERR(srv->env, "retire round: cannot reach a "
					  "reactor; keeping retired objects");
			return;
		}
	}
	return;
fail:
	LOG_ERR(srv->env, "retire round: out of memory");
}

void iscsi_server_retire(struct iscsi_server *srv, void (*fn)(void *),
			 void *ptr)
{
	struct iscsi_retired *r;

	ut_assert(fn != NULL);
	ut_assert(ptr != NULL);
	/* One reactor: we run in its callback and nobody else reads. */
	if (!srv->env->ops->post) {
		fn(ptr);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		LOG_ERR(srv->env, "retire: out of memory; keeping an object");
		return;
	}
	r->fn = fn;
	r->ptr = ptr;
	r->seq = srv->grace_seq + 1;
	/* never into a round that may already be over */
	ut_assert(r->seq > srv->grace_done);
	r->next = srv->retired;
	srv->retired = r;
	grace_start(srv);
}

/* Has every retire round started so far ended? */
bool iscsi_grace_over(const struct iscsi_server *srv, uint64_t seq)
{
	return !srv->env->ops->post || srv->grace_done >= seq;
}
