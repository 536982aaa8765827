/*
 * explore.h — random scenario generation for `utarget-sim explore`.
 */
#ifndef UT_SIM_EXPLORE_H
#define UT_SIM_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

/* The scenario text for a seed (malloc'd).  Same seed, same text. */
char *explore_generate(uint64_t seed);

struct scn_opts;

/* How failure reports name this program (argv[0]). */
extern const char *explore_prog;

/* DIR/seed-S<suffix>. */
void explore_seed_path(const char *dir, uint64_t seed, const char *suffix,
		       char *path, size_t cap);
/* Run a scenario in this process; print PASS or FAIL and the trace hash
 * (as `utarget-sim run`).  Returns scn_run's code. */
int explore_report_run(const char *name, const char *text,
		       const struct scn_opts *o);

/* The commands (explore_run.c). */
int cmd_explore(int argc, char **argv);
int cmd_seed(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_batch_check(int argc, char **argv);

#endif
