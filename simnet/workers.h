/*
 * workers.h — long-lived worker processes that run scenarios in-process.
 *
 * explore and shrink run thousands of scenarios.  A process per scenario
 * costs more than the scenario (fork and a fresh heap: page faults), so a
 * pool of workers each runs many scenarios in one process, one after the
 * other.  Crash isolation is kept: a worker that dies on an assertion or a
 * signal takes only the scenario it was running, which is reported as a
 * failure quoting the worker's last stderr line; the next job gets a new
 * worker.  A worker whose scenario fails also exits after reporting (a
 * failed run leaves the target unfreed on purpose, see scenario.c).
 */
#ifndef UT_SIM_WORKERS_H
#define UT_SIM_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

#define WP_MAX_WORKERS 64

/* Result codes beyond scn_run's 0 (pass), 1 (fail), 2 (syntax). */
enum {
	WP_CRASH = 4,	/* the worker died while running the job */
	WP_TIMEOUT = 5, /* no result within the wall-clock limit */
};

struct wp_job {
	uint64_t id;	  /* the caller's tag, handed back with the result */
	uint64_t seed;	  /* text == NULL: run explore_generate(seed) */
	const char *text; /* else this scenario text */
	char name[64];	  /* for messages: "seed-S", a file name */
};

struct wpool;

/* A pool of `workers` processes (started on demand).  jobs_per_worker 0:
 * a worker runs jobs until one fails; 1: a fresh process per job (the
 * old way, kept to prove that the two agree).  timeout_s: a job without a
 * result after that much wall-clock time is killed and reported. */
struct wpool *wpool_new(unsigned int workers, unsigned int jobs_per_worker,
			double timeout_s);
void wpool_free(struct wpool *wp);
/* Processes started so far. */
uint64_t wpool_spawned(const struct wpool *wp);

/* Run jobs from next() until it returns false; done() gets every result
 * in completion order (rc as scn_run, or WP_CRASH / WP_TIMEOUT with
 * res->msg saying what happened). */
typedef bool (*wp_next_fn)(void *arg, struct wp_job *job);
typedef void (*wp_done_fn)(void *arg, const struct wp_job *job, int rc,
			   const struct scn_result *res);
void wpool_run(struct wpool *wp, wp_next_fn next, wp_done_fn done, void *arg);

/* Run one job and wait for it. */
int wpool_run_one(struct wpool *wp, const struct wp_job *job,
		  struct scn_result *res);

double wp_wall_s(void);

#endif
