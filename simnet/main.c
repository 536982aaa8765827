/*
 * main.c — build/utarget-sim: run, explore, shrink and bench scenarios.
 *
 *   utarget-sim run FILE.scn [--seed N] [--trace]
 *   utarget-sim explore --seeds N [--start S] [--jobs J] [--out DIR]
 *   utarget-sim shrink FILE.scn [-o OUT.scn]
 *   utarget-sim bench [--cmds N]
 *
 * The wall clock is read here only to report speed; nothing the
 * simulation does depends on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "explore.h"
#include "scenario.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: utarget-sim run FILE.scn [--seed N] [--trace]\n"
		"       utarget-sim explore --seeds N [--start S] [--jobs J] "
		"[--out DIR]\n"
		"       utarget-sim shrink FILE.scn [-o OUT.scn]\n"
		"       utarget-sim bench [--cmds N]\n");
	exit(2);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		fprintf(stderr, "utarget-sim: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "utarget-sim: cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- run */

static int cmd_run(int argc, char **argv)
{
	struct scn_opts o = {.out = stdout};
	struct scn_result res;
	const char *file = NULL;
	char *text;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			o.seed = strtoull(argv[++i], NULL, 0);
			o.seed_given = true;
		} else if (strcmp(argv[i], "--trace") == 0) {
			o.trace = true;
		} else if (argv[i][0] != '-' && file == NULL) {
			file = argv[i];
		} else {
			usage();
		}
	}
	if (file == NULL)
		usage();
	text = read_file(file);
	rc = scn_run(file, text, &o, &res);
	if (rc == 0)
		printf("PASS %s: %u expectations, %llu SCSI commands, %llu events, "
		       "%.6fs virtual (seed %llu)\n",
		       file, res.expectations,
		       (unsigned long long)res.scsi_cmds,
		       (unsigned long long)res.events,
		       (double)res.virt_ns * 1e-9,
		       (unsigned long long)res.seed);
	else
		printf("FAIL %s\n", res.msg);
	printf("trace-hash: %016llx\n", (unsigned long long)res.hash);
	free(text);
	return rc;
}

/* ------------------------------------------------------------ explore */

struct seed_out {
	uint64_t seed;
	int rc;
	uint64_t hash;
	uint64_t cmds;
};

static void write_failure(const char *dir, uint64_t seed, const char *text,
			  const struct scn_result *res)
{
	char path[512];
	FILE *f;

	mkdir(dir, 0777);
	snprintf(path, sizeof(path), "%s/seed-%llu.scn", dir,
		 (unsigned long long)seed);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "explore: cannot write %s: %s\n", path,
			strerror(errno));
		return;
	}
	fprintf(f, "# %s\n# expected trace-hash: %016llx\n", res->msg,
		(unsigned long long)res->hash);
	fputs(text, f);
	fclose(f);
	fprintf(stderr,
		"\nexplore: seed %llu FAILED: %s\n  replay: "
		"build/utarget-sim run %s\n",
		(unsigned long long)seed, res->msg, path);
}

/* Run a scenario in a child process, so that a crash (an assertion or a
 * signal in the target or the simulator) is a result, not our death.
 * Returns scn_run's code, or 4 for a crash (res->msg says which). */
static int run_isolated(const char *name, const char *text,
			struct scn_result *res)
{
	int p[2], status = 0, rc = 4;
	FILE *errf = tmpfile(); /* the child's stderr: an assertion's text */
	char last[512] = "";
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe(p) != 0) {
		perror("pipe");
		exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct scn_opts o = {.out = stdout, .quiet = true};

		close(p[0]);
		/* The child's stderr goes aside; a crash quotes its last line. */
		if (errf != NULL)
			dup2(fileno(errf), 2);
		else if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		rc = scn_run(name, text, &o, res);
		if (write(p[1], &rc, sizeof(rc)) != sizeof(rc) ||
		    write(p[1], res, sizeof(*res)) != sizeof(*res))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &rc, sizeof(rc)) != sizeof(rc) ||
	    read(p[0], res, sizeof(*res)) != sizeof(*res)) {
		waitpid(pid, &status, 0);
		rc = 4;
		if (errf != NULL) {
			char line[512];

			rewind(errf);
			while (fgets(line, sizeof(line), errf) != NULL)
				if (line[0] != '\n')
					snprintf(last, sizeof(last), "%.*s",
						 (int)strcspn(line, "\n"),
						 line);
		}
		snprintf(res->msg, sizeof(res->msg),
			 "%s:0: crash: the process died "
			 "(%s %d) in the target or the simulator%s%s; run it "
			 "without isolation to see where",
			 name, WIFSIGNALED(status) ? "signal" : "exit",
			 WIFSIGNALED(status) ? WTERMSIG(status)
					     : WEXITSTATUS(status),
			 last[0] ? ": " : "", last);
	} else {
		waitpid(pid, &status, 0);
	}
	close(p[0]);
	if (errf != NULL)
		fclose(errf);
	return rc;
}

static void run_seed(uint64_t seed, const char *dir, struct seed_out *so)
{
	char *text = explore_generate(seed);
	struct scn_result res;
	char name[64];

	snprintf(name, sizeof(name), "seed-%llu", (unsigned long long)seed);
	so->seed = seed;
	so->rc = run_isolated(name, text, &res);
	so->hash = res.hash;
	so->cmds = res.scsi_cmds;
	if (so->rc != 0)
		write_failure(dir, seed, text, &res);
	free(text);
}

static int cmd_explore(int argc, char **argv)
{
	uint64_t nseeds = 100, start = 1;
	unsigned int jobs = 1;
	const char *dir = "failures";
	uint64_t done = 0, failed = 0, cmds = 0;
	double t0 = wall_s();
	int fds[64];
	bool tty = isatty(2);

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			nseeds = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
			start = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			jobs = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			usage();
	}
	if (jobs < 1)
		jobs = 1;
	if (jobs > 64)
		jobs = 64;
	fflush(stdout);
	for (unsigned int j = 0; j < jobs; j++) {
		int p[2];
		pid_t pid;

		if (pipe(p) != 0) {
			perror("pipe");
			return 2;
		}
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			for (uint64_t s = start + j; s < start + nseeds;
			     s += jobs) {
				struct seed_out so;

				run_seed(s, dir, &so);
				if (write(p[1], &so, sizeof(so)) != sizeof(so))
					_exit(3);
			}
			_exit(0);
		}
		close(p[1]);
		fds[j] = p[0];
	}
	/* Collect in job order, round robin: one result per job per turn. */
	while (done < nseeds) {
		bool progress = false;

		for (unsigned int j = 0; j < jobs && done < nseeds; j++) {
			struct seed_out so;

			if (fds[j] < 0)
				continue;
			if (read(fds[j], &so, sizeof(so)) != sizeof(so)) {
				close(fds[j]);
				fds[j] = -1;
				continue;
			}
			progress = true;
			done++;
			cmds += so.cmds;
			if (so.rc != 0)
				failed++;
			if (!tty && done % 100 != 0 && done != nseeds)
				continue;
			fprintf(stderr,
				"%sexplore: %llu/%llu seeds, %.1f seeds/s, "
				"%llu failures%s",
				tty ? "\r" : "", (unsigned long long)done,
				(unsigned long long)nseeds,
				(double)done / (wall_s() - t0 + 1e-9),
				(unsigned long long)failed, tty ? "" : "\n");
		}
		if (!progress)
			break;
	}
	for (unsigned int j = 0; j < jobs; j++)
		wait(NULL);
	if (tty)
		fprintf(stderr, "\n");
	printf("explore: %llu seeds from %llu, %llu failures, %llu SCSI "
	       "commands, %.1fs\n",
	       (unsigned long long)done, (unsigned long long)start,
	       (unsigned long long)failed, (unsigned long long)cmds,
	       wall_s() - t0);
	return failed || done < nseeds ? 1 : 0;
}

/* ------------------------------------------------------------- shrink */

/* The kind of failure: the message after "NAME:LINE: " up to ':' . */
static void failure_kind(const char *msg, char *kind, size_t cap)
{
	const char *p = strchr(msg, ':');

	p = p ? strchr(p + 1, ':') : NULL;
	p = p ? p + 2 : msg;
	snprintf(kind, cap, "%.*s", (int)strcspn(p, ":"), p);
}

static bool still_fails(const char *text, const char *kind)
{
	struct scn_result res;
	char k[256];
	int rc = run_isolated("shrink", text, &res);

	if (rc != 1 && rc != 4)
		return false;
	failure_kind(res.msg, k, sizeof(k));
	return strcmp(k, kind) == 0;
}

static char *join(char **lines, const bool *keep, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		if (keep[i])
			len += strlen(lines[i]) + 1;
	s = p = malloc(len);
	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			p += sprintf(p, "%s\n", lines[i]);
	*p = '\0';
	return s;
}

static int cmd_shrink(int argc, char **argv)
{
	const char *file = NULL, *outp = NULL;
	char outbuf[512], kind[256];
	struct scn_result res;
	char *text, **lines = NULL, *save = NULL;
	bool *keep, *removed;
	size_t n = 0, kept;
	FILE *f;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outp = argv[++i];
		else if (file == NULL)
			file = argv[i];
		else
			usage();
	}
	if (file == NULL)
		usage();
	text = read_file(file);
	{
		int rc0 = run_isolated(file, text, &res);

		if (rc0 != 1 && rc0 != 4) {
			fprintf(stderr,
				"shrink: %s does not fail; nothing to shrink\n",
				file);
			return 2;
		}
	}
	failure_kind(res.msg, kind, sizeof(kind));
	fprintf(stderr, "shrink: keeping failures of kind '%s'\n", kind);
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = l;
	}
	keep = malloc(n + 1);
	removed = calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		keep[i] = true;
	kept = n;
	/* Delta debugging, coarse to fine: drop chunks of lines, then
	 * single lines, as long as the failure persists. */
	for (size_t chunk = n / 2; chunk >= 1; chunk /= 2) {
		bool changed = true;

		while (changed) {
			changed = false;
			for (size_t start = 0; start < n; start += chunk) {
				bool any = false;
				char *cand;

				for (size_t i = start;
				     i < start + chunk && i < n; i++) {
					removed[i] = false;
					if (keep[i] &&
					    strncmp(lines[i], "seed ", 5) !=
						    0) {
						keep[i] = false;
						removed[i] = any = true;
					}
				}
				if (!any)
					continue;
				cand = join(lines, keep, n);
				if (still_fails(cand, kind)) {
					changed = true;
					kept = 0;
					for (size_t i = 0; i < n; i++)
						kept += keep[i];
					fprintf(stderr, "\rshrink: %zu lines",
						kept);
				} else {
					for (size_t i = start;
					     i < start + chunk && i < n; i++)
						if (removed[i])
							keep[i] = true;
				}
				free(cand);
			}
		}
		if (chunk == 1)
			break;
	}
	fprintf(stderr, "\n");
	if (outp == NULL) {
		snprintf(outbuf, sizeof(outbuf), "%.*s.min.scn",
			 (int)(strlen(file) > 4 &&
					       strcmp(file + strlen(file) - 4,
						      ".scn") == 0
				       ? strlen(file) - 4
				       : strlen(file)),
			 file);
		outp = outbuf;
	}
	{
		char *fin = join(lines, keep, n);

		run_isolated(outp, fin, &res);
		f = fopen(outp, "w");
		if (f == NULL) {
			perror(outp);
			return 2;
		}
		fprintf(f,
			"# shrunk from %s: %s\n# expected trace-hash: %016llx\n",
			file, res.msg, (unsigned long long)res.hash);
		fputs(fin, f);
		fclose(f);
		printf("shrink: %zu of %zu lines kept, written to %s\n", kept,
		       n, outp);
		free(fin);
	}
	return 0;
}

/* -------------------------------------------------------------- bench */

static int cmd_bench(int argc, char **argv)
{
	uint64_t ncmds = 200000;
	struct scn_opts o = {.out = stdout, .quiet = true};
	struct scn_result res;
	size_t cap, len = 0;
	char *text;
	double t0, dt;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--cmds") == 0 && i + 1 < argc)
			ncmds = strtoull(argv[++i], NULL, 0);
		else
			usage();
	}
	cap = 256 + ncmds * 72;
	text = malloc(cap);
	if (text == NULL)
		abort();
	len += (size_t)snprintf(
		text + len, cap - len,
		"seed 1\nlun 0 disk0 size=64M\n"
		"param QueuedCommands=64\ninitiator A\nA login\n");
	for (uint64_t i = 0; i < ncmds; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"A %s lba=%llu blocks=1 & expect any\n%s",
			i % 2 ? "read" : "write",
			(unsigned long long)(i * 7 % 100000),
			i % 64 == 63 ? "wait\n" : "");
	snprintf(text + len, cap - len, "wait\n");
	t0 = wall_s();
	scn_run("bench", text, &o, &res);
	dt = wall_s() - t0;
	printf("bench: %llu SCSI commands (512-byte reads and writes, queue "
	       "depth 64) in %.3fs wall, %.0f commands/s, %.3fs virtual%s%s\n",
	       (unsigned long long)res.scsi_cmds, dt,
	       (double)res.scsi_cmds / dt, (double)res.virt_ns * 1e-9,
	       res.pass ? "" : " FAILED: ", res.pass ? "" : res.msg);
	printf("trace-hash: %016llx\n", (unsigned long long)res.hash);
	free(text);
	return res.pass ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "explore") == 0)
		return cmd_explore(argc - 2, argv + 2);
	if (strcmp(argv[1], "shrink") == 0)
		return cmd_shrink(argc - 2, argv + 2);
	if (strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc - 2, argv + 2);
	usage();
	return 2;
}
