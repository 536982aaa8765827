/*
 * shrink_int.h — what shrink.c (candidates run on the workers, the
 * driver) and shrink_reduce.c (the reductions, line by line) share.
 */
#ifndef UT_SIM_SHRINK_INT_H
#define UT_SIM_SHRINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "workers.h"

/* A scenario being shrunk: its live lines and the failure to keep. */
struct shr {
	struct wpool *wp;
	const char *name;
	char kind[1024];
	char **ln; /* the lines; NULL once removed */
	size_t n;
	unsigned int runs;
	unsigned int tries, jobs; /* seeds per candidate, workers */
	size_t seed_at;		  /* the `seed N` line, SIZE_MAX if none */
	uint64_t seed;
	double deadline_s;
	int last_rc;
	struct scn_result last;
};

/* Every candidate starts with as many comment lines as the written file's
 * header (shrink_write): a line number can matter (a write without data=
 * writes a pattern named for its line), so the file must run exactly as
 * its candidate did, and its failure's line number must be the file's. */
#define HEADER "#\n#\n"
#define HEADER_LINES 2

/* shrink.c */
bool shrink_out_of_time(const struct shr *s);
/* Does the candidate (the lines but those in drop, line subst written as
 * with) still fail the same way?  The first failing seed of the tries
 * becomes the `seed` line. */
bool shrink_cand_fails(struct shr *s, const bool *drop, size_t subst,
		       const char *with);
/* Try without the lines marked in drop; keep the removal if it fails. */
bool shrink_try_drop(struct shr *s, const bool *drop);
/* Try line i replaced by with; keep it if the failure persists. */
bool shrink_try_line(struct shr *s, size_t i, const char *with);
void shrink_free_lines(char **ln, size_t n);

/* shrink_reduce.c: each true when it kept a smaller candidate. */
/* A target crashed and never restarted: refused without running. */
bool shrink_cand_sane(const struct shr *s, const bool *drop, size_t subst,
		      const char *with);
bool shrink_cut_tail(struct shr *s);
bool shrink_drop_actors(struct shr *s);
bool shrink_drop_luns(struct shr *s);
bool shrink_drop_lines(struct shr *s);
bool shrink_simplify_lines(struct shr *s);
bool shrink_rename_actors(struct shr *s);

#endif
