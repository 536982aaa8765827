/*
 * main.c — build/utarget-sim: run, explore, shrink and bench scenarios.
 *
 *   utarget-sim run FILE.scn [--seed N] [--trace] [--chart OUT.html]
 *                   [--against iscsi://HOST:PORT/IQN [--compare]]  (against.c)
 *   utarget-sim explore ...     (explore_run.c)
 *   utarget-sim seed S, gen S, batch-check ...   (explore_run.c)
 *   utarget-sim shrink ...      (shrink.c)
 *   utarget-sim import CAPTURE.pcap[ng] ...   (import.c)
 *   utarget-sim bench [--cmds N]
 *
 * The wall clock is read here only to report speed; nothing the
 * simulation does depends on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "against.h"
#include "explore.h"
#include "import.h"
#include "scenario.h"
#include "shrink.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: utarget-sim run FILE.scn [--seed N] [--trace] "
		"[--chart OUT.html] [--keep-going]\n"
		"                    [--against iscsi://HOST[:PORT]/IQN "
		"[--compare]]\n"
		"       utarget-sim explore --seeds N [--start S|random] "
		"[--jobs J] [--out DIR] [--shrink]\n"
		"                           [--timeout-s T] [--fresh-process]\n"
		"       utarget-sim seed S [--trace]     (run explore seed S)\n"
		"       utarget-sim gen S                (print its scenario)\n"
		"       utarget-sim batch-check --seeds N [--start S|random] "
		"[--jobs J]\n"
		"       utarget-sim shrink FILE.scn [-o OUT.scn] [--max-s T] "
		"[--tries N] [--jobs J]\n"
		"       utarget-sim import CAPTURE.pcap[ng] [--target-port N] "
		"[--exact|--loose] [-o OUT.scn]\n"
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
	const char *file = NULL, *against = NULL;
	bool compare = false;
	char *text;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			o.seed = strtoull(argv[++i], NULL, 0);
			o.seed_given = true;
		} else if (strcmp(argv[i], "--trace") == 0) {
			o.trace = true;
		} else if (strcmp(argv[i], "--chart") == 0 && i + 1 < argc) {
			o.chart_path = argv[++i];
		} else if (strcmp(argv[i], "--keep-going") == 0) {
			o.keep_going = true;
		} else if (strcmp(argv[i], "--against") == 0 && i + 1 < argc) {
			against = argv[++i];
		} else if (strcmp(argv[i], "--compare") == 0) {
			compare = true;
		} else if (argv[i][0] != '-' && file == NULL) {
			file = argv[i];
		} else {
			usage();
		}
	}
	if (file == NULL || (compare && against == NULL))
		usage();
	text = read_file(file);
	if (against != NULL)
		rc = against_run(file, text, &o, against, compare);
	else
		rc = explore_report_run(file, text, &o);
	free(text);
	return rc;
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
	explore_prog = argv[0];
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "explore") == 0)
		return cmd_explore(argc - 2, argv + 2);
	if (strcmp(argv[1], "shrink") == 0)
		return cmd_shrink(argc - 2, argv + 2);
	if (strcmp(argv[1], "seed") == 0)
		return cmd_seed(argc - 2, argv + 2);
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 2, argv + 2);
	if (strcmp(argv[1], "batch-check") == 0)
		return cmd_batch_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 2, argv + 2);
	if (strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc - 2, argv + 2);
	usage();
	return 2;
}
