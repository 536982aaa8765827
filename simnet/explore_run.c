/*
 * explore_run.c — the `explore`, `seed`, `gen` and `batch-check` commands
 * of utarget-sim.
 *
 * explore hands seeds to a pool of long-lived workers (workers.h), each
 * running many seeds in its own process; a failing or crashing seed is
 * written to DIR/seed-S.scn with the one command that replays it, and with
 * --shrink also shrunk to DIR/seed-S.min.scn.  batch-check proves that a
 * seed's result does not depend on what ran before it in the same process:
 * every seed's trace hash in a batch (two orders) equals its hash alone in
 * a fresh process.
 *
 * The wall clock and /dev/urandom are read here only to report speed and
 * to pick a fresh start seed; a seed's run depends on neither.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "explore.h"
#include "chart.h"
#include "shrink.h"
#include "workers.h"

/* How the failure lines name this program (argv[0]). */
const char *explore_prog = "build/utarget-sim";

static void explore_usage(void)
{
	fprintf(stderr,
		"usage: utarget-sim explore --seeds N [--start S|random] "
		"[--jobs J] [--out DIR] [--shrink] [--chart]\n"
		"                           [--shrink-max-s T] [--shrink-limit N] "
		"[--timeout-s T] "
		"[--fresh-process]\n"
		"                           [--stats] [--require-all-opcodes]\n"
		"       utarget-sim seed S [--trace]\n"
		"       utarget-sim gen S\n"
		"       utarget-sim batch-check --seeds N [--start S|random] "
		"[--jobs J]\n");
	exit(2);
}

/* A fresh start seed: from the kernel's entropy, in a readable range. */
static uint64_t random_start(void)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		perror("explore: getrandom");
		exit(2);
	}
	return 1 + r % 1000000000000ull;
}

static uint64_t parse_start(const char *s)
{
	return strcmp(s, "random") == 0 ? random_start() : strtoull(s, NULL, 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ explore */

struct explore {
	uint64_t start, nseeds, next, done, failed, cmds;
	const char *dir;
	double t0, last_progress_s;
	bool tty;
	uint64_t *fails; /* failing seeds */
	size_t nfails, capfails;
	/* --stats: what the seeds issued, summed */
	bool stats;
	uint64_t ops[SCN_STAT_OPS], tmfs[SCN_STAT_TMFS], faults[SCN_FAULTS];
	uint64_t op_seeds[SCN_STAT_OPS]; /* seeds that issued it */
};

static unsigned int explore_stats(const struct explore *e);

static bool explore_next(void *arg, struct wp_job *job)
{
	struct explore *e = arg;

	if (e->next >= e->start + e->nseeds)
		return false;
	memset(job, 0, sizeof(*job));
	job->id = job->seed = e->next++;
	snprintf(job->name, sizeof(job->name), "seed-%llu",
		 (unsigned long long)job->seed);
	return true;
}

void explore_seed_path(const char *dir, uint64_t seed, const char *suffix,
		       char *path, size_t cap)
{
	snprintf(path, cap, "%s/seed-%llu%s", dir, (unsigned long long)seed,
		 suffix);
}

static void write_failure(const char *dir, uint64_t seed, int rc,
			  const struct scn_result *res)
{
	char path[512];
	char *text = explore_generate(seed);
	FILE *f;

	mkdir(dir, 0777);
	explore_seed_path(dir, seed, ".scn", path, sizeof(path));
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "explore: cannot write %s: %s\n", path,
			strerror(errno));
	} else {
		fprintf(f, "# %s\n", res->msg);
		if (rc == 1)
			fprintf(f, "# expected trace-hash: %016llx\n",
				(unsigned long long)res->hash);
		fputs(text, f);
		fclose(f);
	}
	free(text);
	printf("explore: seed %llu FAILED: %s\n"
	       "  replay: %s seed %llu   (scenario: %s)\n",
	       (unsigned long long)seed, res->msg, explore_prog,
	       (unsigned long long)seed, path);
	fflush(stdout);
}

static void explore_progress(struct explore *e, bool last)
{
	double now = wp_wall_s();

	if (!last && now - e->last_progress_s < (e->tty ? 0.2 : 10.0))
		return;
	e->last_progress_s = now;
	fprintf(stderr,
		"%sexplore: %llu/%llu seeds, %.0f seeds/s, %llu failures%s",
		e->tty ? "\r" : "", (unsigned long long)e->done,
		(unsigned long long)e->nseeds,
		(double)e->done / (now - e->t0 + 1e-9),
		(unsigned long long)e->failed, e->tty && !last ? "" : "\n");
}

static void explore_done(void *arg, const struct wp_job *job, int rc,
			 const struct scn_result *res)
{
	struct explore *e = arg;

	e->done++;
	e->cmds += res->scsi_cmds;
	for (unsigned int i = 0; i < SCN_STAT_OPS; i++) {
		e->ops[i] += res->op_count[i];
		e->op_seeds[i] += res->op_count[i] > 0;
	}
	for (unsigned int i = 0; i < SCN_STAT_TMFS; i++)
		e->tmfs[i] += res->tmf_count[i];
	for (unsigned int i = 0; i < SCN_FAULTS; i++)
		e->faults[i] += res->fault_count[i];
	if (rc != 0) {
		e->failed++;
		if (e->nfails == e->capfails) {
			e->capfails = e->capfails * 2 + 16;
			e->fails = realloc(e->fails,
					   e->capfails * sizeof(*e->fails));
			if (e->fails == NULL)
				abort();
		}
		e->fails[e->nfails++] = job->seed;
		if (e->tty)
			fprintf(stderr, "\n");
		write_failure(e->dir, job->seed, rc, res);
	}
	explore_progress(e, false);
}

int cmd_explore(int argc, char **argv)
{
	struct explore e = {.nseeds = 100, .start = 1, .dir = "failures"};
	unsigned int jobs = 1, per_worker = 0;
	double timeout_s = 120, shrink_max_s = 120;
	bool shrink = false, chart = false, require_all = false;
	unsigned int unsent = 0;
	size_t shrink_limit = SIZE_MAX;
	struct wpool *wp;
	double dt;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			e.nseeds = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
			e.start = parse_start(argv[++i]);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			jobs = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			e.dir = argv[++i];
		else if (strcmp(argv[i], "--timeout-s") == 0 && i + 1 < argc)
			timeout_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--shrink") == 0)
			shrink = true;
		else if (strcmp(argv[i], "--shrink-max-s") == 0 && i + 1 < argc)
			shrink_max_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--shrink-limit") == 0 && i + 1 < argc)
			shrink_limit = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--chart") == 0)
			chart = true;
		else if (strcmp(argv[i], "--fresh-process") == 0)
			per_worker = 1; /* the old way: a process per seed */
		else if (strcmp(argv[i], "--stats") == 0)
			e.stats = true;
		else if (strcmp(argv[i], "--require-all-opcodes") == 0)
			e.stats = require_all = true;
		else
			explore_usage();
	}
	e.next = e.start;
	e.tty = isatty(2);
	printf("explore: %llu seeds from start seed %llu on %u workers\n",
	       (unsigned long long)e.nseeds, (unsigned long long)e.start, jobs);
	fflush(stdout);
	e.t0 = e.last_progress_s = wp_wall_s();
	wp = wpool_new(jobs, per_worker, timeout_s);
	wpool_run(wp, explore_next, explore_done, &e);
	explore_progress(&e, true);
	dt = wp_wall_s() - e.t0;
	if (e.nfails > 0)
		qsort(e.fails, e.nfails, sizeof(*e.fails), cmp_u64);
	if (shrink && e.nfails > 0) {
		struct shrink_opts so = {shrink_max_s, 16, jobs};
		struct wpool *sp = wpool_new(jobs, 0, timeout_s);

		for (size_t i = 0; i < e.nfails && i < shrink_limit; i++)
			shrink_seed_file(sp, e.dir, e.fails[i], &so);
		wpool_free(sp);
	}
	if (chart)
		chart_failures(explore_prog, e.dir, e.fails, e.nfails);
	if (e.nfails > 0) {
		printf("explore: failing seeds:");
		for (size_t i = 0; i < e.nfails; i++)
			printf(" %llu", (unsigned long long)e.fails[i]);
		printf("\n");
	}
	printf("explore: %llu seeds from start seed %llu, %llu failures "
	       "(%.1f per 100,000), %llu SCSI commands, %.1fs, %.0f seeds/s, "
	       "%llu processes\n",
	       (unsigned long long)e.done, (unsigned long long)e.start,
	       (unsigned long long)e.failed,
	       e.done ? 100000.0 * (double)e.failed / (double)e.done : 0.0,
	       (unsigned long long)e.cmds, dt, (double)e.done / (dt + 1e-9),
	       (unsigned long long)wpool_spawned(wp));
	wpool_free(wp);
	free(e.fails);
	if (e.stats)
		unsent = explore_stats(&e);
	if (require_all && unsent > 0)
		printf("explore: %u supported opcodes or service actions were "
		       "never sent (--require-all-opcodes)\n",
		       unsent);
	return e.failed || e.done < e.nseeds || (require_all && unsent) ? 1 : 0;
}

/* --stats: every row of the target's REPORT SUPPORTED OPERATION CODES
 * table (opcodes.c) with how often the run sent it, then the TMFs and the
 * fault lines.  Returns the number of rows never sent. */
static unsigned int explore_stats(const struct explore *e)
{
	static const char *const tmf_names[SCN_STAT_TMFS] = {
		[1] = "ABORT TASK",	    [2] = "ABORT TASK SET",
		[3] = "CLEAR ACA",	    [4] = "CLEAR TASK SET",
		[5] = "LOGICAL UNIT RESET", [6] = "TARGET WARM RESET",
		[7] = "TARGET COLD RESET",  [8] = "TASK REASSIGN",
		[9] = "QUERY TASK",	    [10] = "QUERY TASK SET",
		[11] = "I_T NEXUS RESET",   [12] = "QUERY ASYNC EVENT"};
	unsigned int rows = scn_op_rows(), reached = 0;
	char name[96];

	printf("explore --stats: SCSI commands sent, by row of the target's "
	       "opcode table (seeds that sent it):\n");
	for (unsigned int i = 0; i < rows; i++) {
		reached += e->ops[i] > 0;
		printf("  %10llu %8llu  %s%s\n", (unsigned long long)e->ops[i],
		       (unsigned long long)e->op_seeds[i],
		       scn_op_row_name(i, name, sizeof(name)),
		       e->ops[i] ? "" : "   <- NEVER SENT");
	}
	printf("  %10llu %8llu  %s\n",
	       (unsigned long long)e->ops[SCN_STAT_OPS - 1],
	       (unsigned long long)e->op_seeds[SCN_STAT_OPS - 1],
	       scn_op_row_name(SCN_STAT_OPS - 1, name, sizeof(name)));
	printf("explore --stats: task management functions sent:\n");
	for (unsigned int i = 0; i < SCN_STAT_TMFS; i++)
		if (e->tmfs[i] || tmf_names[i] != NULL)
			printf("  %10llu  %s\n", (unsigned long long)e->tmfs[i],
			       tmf_names[i] ? tmf_names[i] : "?");
	printf("explore --stats: fault lines played:\n");
	for (unsigned int i = 0; i < SCN_FAULTS; i++)
		printf("  %10llu  %s\n", (unsigned long long)e->faults[i],
		       scn_fault_name((enum scn_fault)i));
	printf("explore --stats: %u of the %u supported opcodes and service "
	       "actions sent (%.1f%%)\n",
	       reached, rows, rows ? 100.0 * reached / rows : 0.0);
	return rows - reached;
}

/* --------------------------------------------------------- seed, gen */

/* Run a scenario in this process and report as `run` does: PASS or FAIL,
 * then the trace hash. */
int explore_report_run(const char *name, const char *text,
		       const struct scn_opts *o)
{
	struct scn_result res;
	int rc = scn_run(name, text, o, &res);

	if (rc == 0)
		printf("PASS %s: %u expectations, %llu SCSI commands, %llu "
		       "events, %.6fs virtual (seed %llu)\n",
		       name, res.expectations,
		       (unsigned long long)res.scsi_cmds,
		       (unsigned long long)res.events,
		       (double)res.virt_ns * 1e-9,
		       (unsigned long long)res.seed);
	else
		printf("FAIL %s\n", res.msg);
	printf("trace-hash: %016llx\n", (unsigned long long)res.hash);
	return rc;
}

int cmd_gen(int argc, char **argv)
{
	char *text;

	if (argc != 1)
		explore_usage();
	text = explore_generate(strtoull(argv[0], NULL, 0));
	fputs(text, stdout);
	free(text);
	return 0;
}

/* Run one explore seed in this process, exactly as a worker does, but
 * reporting like `run` (PASS/FAIL and the trace hash). */
int cmd_seed(int argc, char **argv)
{
	struct scn_opts o = {.out = stdout};
	uint64_t seed = 0;
	bool have = false;
	char name[64], *text;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--trace") == 0) {
			o.trace = true;
		} else if (strcmp(argv[i], "--chart") == 0 && i + 1 < argc) {
			o.chart_path = argv[++i];
		} else if (!have && argv[i][0] != '-') {
			seed = strtoull(argv[i], NULL, 0);
			have = true;
		} else {
			explore_usage();
		}
	}
	if (!have)
		explore_usage();
	snprintf(name, sizeof(name), "seed-%llu", (unsigned long long)seed);
	text = explore_generate(seed);
	rc = explore_report_run(name, text, &o);
	free(text);
	return rc;
}

/* -------------------------------------------------------- batch-check */

struct outcome {
	int rc;
	uint64_t hash;
};

struct bcheck {
	uint64_t start, nseeds, next;
	bool reverse;
	struct outcome *out;
};

static bool bcheck_next(void *arg, struct wp_job *job)
{
	struct bcheck *b = arg;
	uint64_t k;

	if (b->next >= b->nseeds)
		return false;
	k = b->next++;
	memset(job, 0, sizeof(*job));
	job->id = b->reverse ? b->nseeds - 1 - k : k;
	job->seed = b->start + job->id;
	snprintf(job->name, sizeof(job->name), "seed-%llu",
		 (unsigned long long)job->seed);
	return true;
}

static void bcheck_done(void *arg, const struct wp_job *job, int rc,
			const struct scn_result *res)
{
	struct bcheck *b = arg;

	b->out[job->id] = (struct outcome){rc, res->hash};
}

static void bcheck_pass(struct bcheck *b, unsigned int jobs,
			unsigned int per_worker, bool reverse, const char *what)
{
	struct wpool *wp = wpool_new(jobs, per_worker, 120);
	double t0 = wp_wall_s();

	b->next = 0;
	b->reverse = reverse;
	wpool_run(wp, bcheck_next, bcheck_done, b);
	printf("batch-check: %s: %llu seeds in %llu processes, %.1fs\n", what,
	       (unsigned long long)b->nseeds,
	       (unsigned long long)wpool_spawned(wp), wp_wall_s() - t0);
	fflush(stdout);
	wpool_free(wp);
}

int cmd_batch_check(int argc, char **argv)
{
	struct bcheck b = {.start = 1, .nseeds = 1000};
	struct outcome *alone;
	unsigned int jobs = 1;
	uint64_t bad = 0, failing = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			b.nseeds = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
			b.start = parse_start(argv[++i]);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			jobs = (unsigned int)strtoul(argv[++i], NULL, 0);
		else
			explore_usage();
	}
	printf("batch-check: seeds %llu..%llu\n", (unsigned long long)b.start,
	       (unsigned long long)(b.start + b.nseeds - 1));
	alone = calloc(b.nseeds + 1, sizeof(*alone));
	if (alone == NULL)
		abort();
	/* Each seed alone in a fresh process: the reference. */
	b.out = alone;
	bcheck_pass(&b, jobs, 1, false, "alone, a fresh process per seed");
	b.out = calloc(b.nseeds + 1, sizeof(*b.out));
	if (b.out == NULL)
		abort();
	for (int pass = 0; pass < 2; pass++) {
		bcheck_pass(&b, jobs, 0, pass == 1,
			    pass ? "batch, descending" : "batch, ascending");
		for (uint64_t k = 0; k < b.nseeds; k++) {
			if (b.out[k].rc == alone[k].rc &&
			    (b.out[k].hash == alone[k].hash ||
			     alone[k].rc >= WP_CRASH))
				continue;
			if (bad++ < 20)
				printf("batch-check: seed %llu differs: alone "
				       "rc %d hash %016llx, in a batch rc %d "
				       "hash %016llx\n",
				       (unsigned long long)(b.start + k),
				       alone[k].rc,
				       (unsigned long long)alone[k].hash,
				       b.out[k].rc,
				       (unsigned long long)b.out[k].hash);
		}
	}
	for (uint64_t k = 0; k < b.nseeds; k++)
		failing += alone[k].rc != 0;
	printf("batch-check: %llu seeds from %llu: %s (%llu of them fail "
	       "alone too)\n",
	       (unsigned long long)b.nseeds, (unsigned long long)b.start,
	       bad ? "results DIFFER between a batch and a fresh process"
		   : "every result and trace hash in both batch orders equals "
		     "the seed's alone",
	       (unsigned long long)failing);
	free(alone);
	free(b.out);
	return bad ? 1 : 0;
}
