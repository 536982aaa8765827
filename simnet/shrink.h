/*
 * shrink.h — make a failing scenario small enough to read in a minute.
 */
#ifndef UT_SIM_SHRINK_H
#define UT_SIM_SHRINK_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "workers.h"

struct shrink_opts {
	double max_s;	    /* give up refining after this much wall time */
	unsigned int tries; /* seeds a candidate runs under (see shrink.c) */
	unsigned int jobs;  /* workers in the pool handed to shrink_text */
};

struct shrink_stats {
	size_t lines_before, lines_after; /* lines that are not comments */
	unsigned int runs;		  /* scenarios run while shrinking */
	double wall_s;
	int rc; /* the shrunk scenario's result (scn_run's or WP_*) */
	struct scn_result res;
};

/* The kind of a failure, for "the same failure persists": the message
 * without its "NAME:LINE: " prefix and "(seed N)" suffix, with every
 * number written '#' and every one-letter actor name '?'. */
void shrink_failure_kind(const char *msg, char *kind, size_t cap);

/* Shrink text, which must fail, while a failure of the same kind
 * persists: remove actors, LUNs, lines, parameters and options, make
 * numbers smaller, background commands foreground.  Runs on wp, whose
 * worker count is o->jobs.  Returns the shrunk
 * text (malloc'd), or NULL if text does not fail. */
char *shrink_text(struct wpool *wp, const char *name, const char *text,
		  const struct shrink_opts *o, struct shrink_stats *st);

/* Write text with a header naming its origin and its failure. */
int shrink_write(const char *path, const char *from, const char *text,
		 const struct shrink_stats *st);

/* Shrink explore seed S into DIR/seed-S.min.scn and say so on stdout. */
int shrink_seed_file(struct wpool *wp, const char *dir, uint64_t seed,
		     const struct shrink_opts *o);

int cmd_shrink(int argc, char **argv);

#endif
