/*
 * open_async.c — opening (and closing) a remote backstore without
 * blocking a reactor.
 *
 * At startup every LUN opens before the target listens, so waiting there
 * (for an rbd: image's monitors, up to its timeout=) blocks nobody.  A
 * LUN added to a running server (utargetctl lun add, reload) is opened by
 * the reactor that applies the change, which also carries sessions: an
 * rbd: or tcmu: open there would stall their I/O for as long as the
 * cluster takes to answer, or to time out.  So those kinds open on a
 * helper thread of their own; the result comes back to the reactor as an
 * er_msg and the caller's callback runs there (env.h, disk_open_async).
 *
 * Opens run one at a time (a process-wide lock): the tcmu plugin table
 * and its environment pointer are process-wide, and one slow cluster
 * need not be asked twice at once.
 *
 * The helper threads are jobs (er_job): run() on the thread, then
 * finish() on the reactor.  A job whose finish has not run when the
 * reactor is freed is joined there (bounded by the cluster timeouts)
 * and finished with the reactor stopped: what an open made is closed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"

struct er_open_job {
	struct er_job job;
	struct bs_dev_params p; /* strings below are owned copies */
	char *name, *path, *conf, *client_id;
	env_disk_opened_fn done;
	void *arg;
	struct bs_dev *dev;
	int rc;
};

static pthread_mutex_t er_open_lock = PTHREAD_MUTEX_INITIALIZER;

static void open_job_free(struct er_open_job *j)
{
	free(j->name);
	free(j->path);
	free(j->conf);
	free(j->client_id);
	free(j);
}

static void *er_job_main(void *arg)
{
	struct er_job *j = arg;

	j->run(j);
	er_msg_send(j->r, &j->msg);
	return NULL;
}

/* On the reactor: the thread is done. */
static void er_job_answer(struct er_msg *m)
{
	struct er_job *j = er_container_of(m, struct er_job, msg);
	struct er_reactor *r = j->r;

	pthread_mutex_lock(&r->post_lock);
	TAILQ_REMOVE(&r->jobs, j, link);
	pthread_mutex_unlock(&r->post_lock);
	pthread_join(j->thread, NULL); /* it is past er_msg_send */
	j->finish(j, false);
}

int er_job_start(struct er_reactor *r, struct er_job *j)
{
	int rc;

	j->r = r;
	j->msg.fn = er_job_answer;
	pthread_mutex_lock(&r->post_lock);
	TAILQ_INSERT_TAIL(&r->jobs, j, link);
	pthread_mutex_unlock(&r->post_lock);
	rc = pthread_create(&j->thread, NULL, er_job_main, j);
	if (rc) {
		pthread_mutex_lock(&r->post_lock);
		TAILQ_REMOVE(&r->jobs, j, link);
		pthread_mutex_unlock(&r->post_lock);
		return -rc;
	}
	return 0;
}

void er_jobs_free(struct er_reactor *r)
{
	struct er_job *j;

	for (;;) {
		pthread_mutex_lock(&r->post_lock);
		j = TAILQ_FIRST(&r->jobs);
		if (j)
			TAILQ_REMOVE(&r->jobs, j, link);
		pthread_mutex_unlock(&r->post_lock);
		if (!j)
			return;
		pthread_join(j->thread, NULL);
		er_msg_cancel(r, &j->msg);
		j->finish(j, true);
	}
}

/* ------------------------------------------------------------- opening */

static void open_job_run(struct er_job *job)
{
	struct er_open_job *j = er_container_of(job, struct er_open_job, job);

	pthread_mutex_lock(&er_open_lock);
	j->rc = er_disk_open(&job->r->env, &j->p, &j->dev);
	pthread_mutex_unlock(&er_open_lock);
}

/* The caller hears the result; with the reactor gone, nobody does and
 * what was opened is closed. */
static void open_job_finish(struct er_job *job, bool abandoned)
{
	struct er_open_job *j = er_container_of(job, struct er_open_job, job);

	if ((j->rc || abandoned) && j->dev) {
		bs_close(j->dev);
		j->dev = NULL;
	}
	if (!abandoned)
		j->done(j->arg, j->rc, j->dev);
	open_job_free(j);
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int er_disk_open_async(struct env *e, const struct bs_dev_params *p,
		       env_disk_opened_fn done, void *arg)
{
	struct er_reactor *r = er_reactor_of(e);
	struct er_open_job *j;
	int rc;

	if (p->kind != BS_RBD && p->kind != BS_TCMU)
		return -ENOTSUP;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->p = *p;
	j->done = done;
	j->arg = arg;
	j->job.run = open_job_run;
	j->job.finish = open_job_finish;
	if (dup_opt(&j->name, p->name) || dup_opt(&j->path, p->path) ||
	    dup_opt(&j->conf, p->conf) ||
	    dup_opt(&j->client_id, p->client_id)) {
		open_job_free(j);
		return -ENOMEM;
	}
	j->p.name = j->name;
	j->p.path = j->path;
	j->p.conf = j->conf;
	j->p.client_id = j->client_id;
	rc = er_job_start(r, &j->job);
	if (rc) {
		open_job_free(j);
		return rc;
	}
	LOG_DEBUG(e, "%s: opening off the reactor",
		  p->name ? p->name : "device");
	return 0;
}
