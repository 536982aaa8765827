/*
 * workers.c — long-lived worker processes that run scenarios in-process
 * (see workers.h for why).
 *
 * Each worker has two pipes (jobs in, results out) and a stderr file.
 * The parent sends a job (a header, then the scenario text unless the job
 * is an explore seed, which the worker generates itself); the worker
 * truncates its stderr file, runs the scenario with scn_run() and writes
 * the result back.  A result that is not a pass ends the worker.  An EOF
 * instead of a result means the worker died in the job: the parent reaps
 * it, reads the stderr file (an assertion's text) and reports the job as
 * a crash.
 *
 * The wall clock is read here only for the per-job time limit; nothing a
 * scenario does depends on it.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "explore.h"
#include "workers.h"

struct wp_hdr {
	uint64_t id;
	uint64_t seed;
	uint32_t text_len; /* 0: generate the explore seed's text */
	char name[64];
};

struct wp_res {
	uint64_t id;
	int32_t rc;
	struct scn_result res;
};

struct worker {
	pid_t pid; /* 0: no process */
	int job_fd, res_fd;
	FILE *err; /* the worker's stderr, truncated per job */
	bool busy;
	struct wp_job job; /* the job running (text not kept) */
	double started_s;
	unsigned int runs; /* jobs this process has taken */
};

struct wpool {
	unsigned int n, per_worker;
	double timeout_s;
	uint64_t spawned;
	struct worker w[WP_MAX_WORKERS];
};

double wp_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* ------------------------------------------------------------ worker */

/* UT_SIM_PLANT=crash:S or hang:S: the worker fails explore seed S the way
 * a target bug would (an assertion, an endless loop), so that the test
 * suite can check that the explorer reports that seed and goes on. */
static void planted_fault(uint64_t seed)
{
	const char *p = getenv("UT_SIM_PLANT");
	const char *colon = p ? strchr(p, ':') : NULL;

	if (colon == NULL || strtoull(colon + 1, NULL, 0) != seed)
		return;
	if (strncmp(p, "crash:", 6) == 0) {
		fprintf(stderr,
			"utarget-sim: planted.c:1: assertion failed: planted "
			"crash in seed %llu (UT_SIM_PLANT)\n",
			(unsigned long long)seed);
		abort();
	}
	if (strncmp(p, "hang:", 5) == 0)
		for (;;)
			pause();
}

#ifdef UT_COVERAGE
void __gcov_dump(void);
#endif

/* A worker's normal end: _exit (no atexit handlers of the parent's),
 * but a --coverage build (make coverage) writes its counters first. */
static void __attribute__((noreturn)) worker_exit(int rc)
{
#ifdef UT_COVERAGE
	__gcov_dump();
#endif
	_exit(rc);
}

static void __attribute__((noreturn))
worker_main(int job_fd, int res_fd, unsigned int per_worker)
{
	struct scn_opts o = {.out = stdout, .quiet = true};

	/* Keep freed memory: giving it back to the kernel after every run
	 * and faulting it in again cost more than the run itself. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	for (unsigned int runs = 0;;) {
		struct wp_hdr h;
		struct wp_res r;
		char *text;

		if (!read_full(job_fd, &h, sizeof(h)))
			worker_exit(0);
		h.name[sizeof(h.name) - 1] = '\0';
		/* Only this job's stderr: a crash quotes its last line. */
		if (ftruncate(2, 0) != 0 || lseek(2, 0, SEEK_SET) != 0)
			_exit(3);
		if (h.text_len == 0) {
			planted_fault(h.seed);
			text = explore_generate(h.seed);
		} else {
			text = malloc((size_t)h.text_len + 1);
			if (text == NULL ||
			    !read_full(job_fd, text, h.text_len))
				_exit(3);
			text[h.text_len] = '\0';
		}
		memset(&r, 0, sizeof(r));
		r.id = h.id;
		r.rc = scn_run(h.name, text, &o, &r.res);
		free(text);
		fflush(stdout);
		if (!write_full(res_fd, &r, sizeof(r)))
			_exit(3);
		/* A failed run leaves the target unfreed (scenario.c): this
		 * process is no longer clean. */
		if (r.rc != 0 || (per_worker != 0 && ++runs >= per_worker))
			worker_exit(0);
	}
}

/* ------------------------------------------------------------ parent */

struct wpool *wpool_new(unsigned int workers, unsigned int jobs_per_worker,
			double timeout_s)
{
	struct wpool *wp = calloc(1, sizeof(*wp));

	if (wp == NULL)
		abort();
	if (workers < 1)
		workers = 1;
	if (workers > WP_MAX_WORKERS)
		workers = WP_MAX_WORKERS;
	wp->n = workers;
	wp->per_worker = jobs_per_worker;
	wp->timeout_s = timeout_s;
	/* A worker that died leaves a pipe without a reader: an error to
	 * handle, not a signal that kills the explorer. */
	signal(SIGPIPE, SIG_IGN);
	for (unsigned int i = 0; i < wp->n; i++) {
		wp->w[i].err = tmpfile();
		if (wp->w[i].err == NULL) {
			perror("workers: tmpfile");
			exit(2);
		}
	}
	return wp;
}

uint64_t wpool_spawned(const struct wpool *wp)
{
	return wp->spawned;
}

static void worker_close(struct worker *w, int *status)
{
	int st = 0;

	close(w->job_fd);
	close(w->res_fd);
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status != NULL)
		*status = st;
	w->pid = 0;
	w->busy = false;
}

static void worker_spawn(struct wpool *wp, struct worker *w)
{
	int jp[2], rp[2];
	pid_t pid;

	if (pipe(jp) != 0 || pipe(rp) != 0) {
		perror("workers: pipe");
		exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("workers: fork");
		exit(2);
	}
	if (pid == 0) {
		/* Hold no other worker's pipe ends: each must see EOF when
		 * the parent closes its job pipe. */
		for (unsigned int i = 0; i < wp->n; i++)
			if (wp->w[i].pid != 0 && &wp->w[i] != w) {
				close(wp->w[i].job_fd);
				close(wp->w[i].res_fd);
			}
		close(jp[1]);
		close(rp[0]);
		if (dup2(fileno(w->err), 2) < 0)
			_exit(3);
		worker_main(jp[0], rp[1], wp->per_worker);
	}
	close(jp[0]);
	close(rp[1]);
	w->pid = pid;
	w->job_fd = jp[1];
	w->res_fd = rp[0];
	w->runs = 0;
	w->busy = false;
	wp->spawned++;
}

/* The line of a dead worker's stderr that says why: an assertion, a
 * sanitizer's summary, else the last non-empty line. */
static void last_words(FILE *err, char *out, size_t cap)
{
	char buf[16384], best[512] = "", last[512] = "";
	long size;
	size_t n;

	out[0] = '\0';
	fflush(err);
	if (fseek(err, 0, SEEK_END) != 0)
		return;
	size = ftell(err);
	if (size < 0)
		return;
	if (fseek(err,
		  size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1
					       : 0,
		  SEEK_SET) != 0)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, err);
	buf[n] = '\0';
	for (char *l = buf, *nl; l != NULL && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (*l == '\0' || strstr(l, "==ABORTING") != NULL)
			continue;
		snprintf(last, sizeof(last), "%.500s", l);
		if (strcasestr(l, "assert") != NULL ||
		    strstr(l, "SUMMARY:") != NULL)
			snprintf(best, sizeof(best), "%.500s", l);
	}
	snprintf(out, cap, "%s", best[0] ? best : last);
}

static void job_dead(struct wpool *wp, struct worker *w, int rc,
		     struct scn_result *res)
{
	char words[512];
	int st;

	memset(res, 0, sizeof(*res));
	res->seed = w->job.text == NULL ? w->job.seed : 0;
	if (rc == WP_TIMEOUT) {
		kill(w->pid, SIGKILL);
		worker_close(w, &st);
		snprintf(res->msg, sizeof(res->msg),
			 "%s:0: timeout: no result after %.0f s of wall-clock "
			 "time (an endless loop in the target or the "
			 "simulator?)",
			 w->job.name, wp->timeout_s);
		return;
	}
	kill(w->pid, SIGKILL); /* if it is still alive (a garbled result) */
	worker_close(w, &st);
	last_words(w->err, words, sizeof(words));
	snprintf(res->msg, sizeof(res->msg),
		 "%s:0: crash: the process died (%s %d) in the target or the "
		 "simulator%s%s",
		 w->job.name, WIFSIGNALED(st) ? "signal" : "exit",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		 words[0] ? ": " : "", words);
}

static bool job_submit(struct wpool *wp, struct worker *w,
		       const struct wp_job *job)
{
	struct wp_hdr h;
	size_t len = job->text ? strlen(job->text) : 0;

	if (w->pid != 0 && wp->per_worker != 0 && w->runs >= wp->per_worker)
		worker_close(w, NULL); /* it has exited by itself */
	if (w->pid == 0)
		worker_spawn(wp, w);
	memset(&h, 0, sizeof(h));
	h.id = job->id;
	h.seed = job->seed;
	h.text_len = (uint32_t)len;
	if (job->text != NULL && len == 0)
		h.text_len = 1, len = 1; /* an empty text: run "\n" */
	snprintf(h.name, sizeof(h.name), "%s", job->name);
	w->job = *job;
	w->job.text = job->text ? "" : NULL; /* not kept; says which kind */
	w->busy = true;
	w->runs++;
	w->started_s = wp_wall_s();
	return write_full(w->job_fd, &h, sizeof(h)) &&
	       (len == 0 ||
		write_full(w->job_fd, job->text[0] ? job->text : "\n", len));
}

/* Collect a busy worker's result (its pipe is readable or closed). */
static void job_collect(struct wpool *wp, struct worker *w, wp_done_fn done,
			void *arg)
{
	struct wp_res r;
	struct wp_job job = w->job;

	if (!read_full(w->res_fd, &r, sizeof(r)) || r.id != job.id) {
		job_dead(wp, w, WP_CRASH, &r.res);
		r.rc = WP_CRASH;
	} else {
		w->busy = false;
		if (r.rc != 0 ||
		    (wp->per_worker != 0 && w->runs >= wp->per_worker))
			worker_close(w, NULL);
	}
	done(arg, &job, r.rc, &r.res);
}

void wpool_run(struct wpool *wp, wp_next_fn next, wp_done_fn done, void *arg)
{
	bool more = true;

	for (;;) {
		struct pollfd pfd[WP_MAX_WORKERS];
		unsigned int idx[WP_MAX_WORKERS], np = 0;
		double now, wait_s = wp->timeout_s;

		for (unsigned int i = 0; i < wp->n && more; i++) {
			struct worker *w = &wp->w[i];
			struct wp_job job;

			if (w->busy)
				continue;
			if (!next(arg, &job)) {
				more = false;
				break;
			}
			/* A failed write means the worker is gone: its
			 * result pipe reports EOF, a crash of this job. */
			(void)job_submit(wp, w, &job);
		}
		now = wp_wall_s();
		for (unsigned int i = 0; i < wp->n; i++) {
			struct worker *w = &wp->w[i];
			double left;

			if (!w->busy)
				continue;
			left = w->started_s + wp->timeout_s - now;
			if (left <= 0) {
				struct scn_result res;
				struct wp_job job = w->job;

				job_dead(wp, w, WP_TIMEOUT, &res);
				done(arg, &job, WP_TIMEOUT, &res);
				continue;
			}
			if (left < wait_s)
				wait_s = left;
			pfd[np] = (struct pollfd){.fd = w->res_fd,
						  .events = POLLIN};
			idx[np++] = i;
		}
		if (np == 0) {
			if (!more)
				break;
			continue;
		}
		if (poll(pfd, np, (int)(wait_s * 1000) + 1) < 0 &&
		    errno != EINTR) {
			perror("workers: poll");
			exit(2);
		}
		for (unsigned int k = 0; k < np; k++)
			if (pfd[k].revents != 0)
				job_collect(wp, &wp->w[idx[k]], done, arg);
	}
}

struct one {
	const struct wp_job *job;
	bool given;
	int rc;
	struct scn_result *res;
};

static bool one_next(void *arg, struct wp_job *job)
{
	struct one *o = arg;

	if (o->given)
		return false;
	o->given = true;
	*job = *o->job;
	return true;
}

static void one_done(void *arg, const struct wp_job *job, int rc,
		     const struct scn_result *res)
{
	struct one *o = arg;

	o->rc = rc;
	*o->res = *res;
}

int wpool_run_one(struct wpool *wp, const struct wp_job *job,
		  struct scn_result *res)
{
	struct one o = {job, false, WP_CRASH, res};

	wpool_run(wp, one_next, one_done, &o);
	return o.rc;
}

void wpool_free(struct wpool *wp)
{
	if (wp == NULL)
		return;
	for (unsigned int i = 0; i < wp->n; i++) {
		if (wp->w[i].pid != 0)
			worker_close(&wp->w[i], NULL);
		fclose(wp->w[i].err);
	}
	free(wp);
}
