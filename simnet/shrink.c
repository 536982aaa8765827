/*
 * shrink.c — `utarget-sim shrink`: make a failing scenario small.
 *
 * A candidate is kept when it still fails with a failure of the same kind
 * (shrink_failure_kind).  The reductions (shrink_reduce.c), coarse to
 * fine, repeated until none applies or the time is up:
 *
 *   1. cut everything after the failing line (a run stops there);
 *   2. remove an initiator with every line it acts in;
 *   3. remove a LUN with its disk's fault lines and every line naming it;
 *   4. delta debugging over lines: chunks of halving size, then single
 *      lines, then adjacent pairs (a crash and its restart);
 *   5. per line: drop the +DURATION prefix, make a background command
 *      (`&`) foreground, drop one argument (a parameter back to its
 *      default, a fault's key, an option such as fua, lun=N back to
 *      lun 0), make a number smaller (0, 1, half: blocks, LBAs, LUN
 *      sizes, delays, durations);
 *   6. at the end, for the reader: initiators renamed A, B, C...
 *
 * A rare interleaving may vanish when a line goes only because the
 * PRNG's draws shift; so each candidate also runs under the next few
 * seeds (--tries), and the first that fails becomes the `seed` line.
 *
 * Every candidate runs in a worker process (workers.h), so a crashing
 * candidate (a signal, a sanitizer report) is a result, and a passing one
 * costs about a millisecond.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "shrink.h"
#include "shrink_int.h"

void shrink_failure_kind(const char *msg, char *kind, size_t cap)
{
	const char *p = msg, *end;
	size_t k = 0;

	/* Skip "NAME:LINE: " (NAME may hold colons; LINE is digits). */
	for (const char *q = msg; *q; q++) {
		const char *d = q + 1;

		if (*q != ':' || !isdigit((unsigned char)*d))
			continue;
		while (isdigit((unsigned char)*d))
			d++;
		if (d[0] == ':' && d[1] == ' ') {
			p = d + 2;
			break;
		}
	}
	end = strstr(p, " (seed ");
	if (end == NULL)
		end = p + strlen(p);
	while (p < end && k + 2 < cap) {
		bool word_start = p == msg || !isalnum((unsigned char)p[-1]);

		if (isdigit((unsigned char)*p)) {
			while (p < end && isdigit((unsigned char)*p))
				p++;
			kind[k++] = '#';
		} else if (word_start && isupper((unsigned char)*p) &&
			   (p + 1 == end || !isalnum((unsigned char)p[1]))) {
			p++;
			kind[k++] = '?'; /* an actor's name */
		} else {
			kind[k++] = *p++;
		}
	}
	kind[k] = '\0';
}

/* ------------------------------------------------------- candidates */

/* The text of the live lines but those marked in drop (if not NULL),
 * line subst (if not SIZE_MAX) written as with; after HEADER. */
static char *join(const struct shr *s, const bool *drop, size_t subst,
		  const char *with)
{
	size_t len = 1 + strlen(HEADER);
	char *t, *p;

	for (size_t i = 0; i < s->n; i++)
		if (s->ln[i] != NULL && !(drop && drop[i]))
			len += strlen(i == subst ? with : s->ln[i]) + 1;
	t = p = malloc(len);
	if (t == NULL)
		abort();
	p += sprintf(p, "%s", HEADER);
	for (size_t i = 0; i < s->n; i++)
		if (s->ln[i] != NULL && !(drop && drop[i]))
			p += sprintf(p, "%s\n", i == subst ? with : s->ln[i]);
	*p = '\0';
	return t;
}

bool shrink_out_of_time(const struct shr *s)
{
	return wp_wall_s() > s->deadline_s;
}

/* Is this a failure of the kind being shrunk? */
static bool same_failure(const struct shr *s, int rc,
			 const struct scn_result *res)
{
	char k[1024];

	if (rc != 1 && rc != WP_CRASH && rc != WP_TIMEOUT)
		return false;
	shrink_failure_kind(res->msg, k, sizeof(k));
	return strcmp(k, s->kind) == 0;
}

/* A batch of texts on the pool's workers; results by index. */
struct batch {
	char **texts;
	const char *name;
	unsigned int n, next;
	int *rc;
	struct scn_result *res;
};

static bool batch_next(void *arg, struct wp_job *job)
{
	struct batch *b = arg;

	if (b->next >= b->n)
		return false;
	memset(job, 0, sizeof(*job));
	job->id = b->next;
	job->text = b->texts[b->next++];
	snprintf(job->name, sizeof(job->name), "%s", b->name);
	return true;
}

static void batch_done(void *arg, const struct wp_job *job, int rc,
		       const struct scn_result *res)
{
	struct batch *b = arg;

	b->rc[job->id] = rc;
	b->res[job->id] = *res;
}

/* Does the candidate (the lines but those in drop, line subst written as
 * with) still fail the same way?  A bug that needs a rare interleaving
 * may vanish when a line goes only because the PRNG's draws shift: so
 * the candidate also runs under other seeds (the next tries-1 after the
 * current one), a batch of them at a time on the workers, and the first
 * that fails wins and becomes the `seed` line.  Deterministic: the
 * lowest failing try wins whatever finishes first. */
bool shrink_cand_fails(struct shr *s, const bool *drop, size_t subst,
		       const char *with)
{
	unsigned int n = s->seed_at == SIZE_MAX ? 1 : s->tries;
	char *saved = s->seed_at == SIZE_MAX ? NULL : s->ln[s->seed_at];
	char seedline[64];
	bool found = false;

	if (!shrink_cand_sane(s, drop, subst, with))
		return false;
	for (unsigned int b0 = 0; b0 < n && !found; b0 += s->jobs) {
		unsigned int m = n - b0 < s->jobs ? n - b0 : s->jobs;
		char *texts[WP_MAX_WORKERS];
		int rc[WP_MAX_WORKERS];
		struct scn_result *res = calloc(m, sizeof(*res));
		struct batch b = {texts, s->name, m, 0, rc, res};

		if (res == NULL)
			abort();
		for (unsigned int k = 0; k < m; k++) {
			if (saved != NULL) {
				snprintf(
					seedline, sizeof(seedline), "seed %llu",
					(unsigned long long)(s->seed + b0 + k));
				s->ln[s->seed_at] = seedline;
			}
			texts[k] = join(s, drop, subst, with);
		}
		if (saved != NULL)
			s->ln[s->seed_at] = saved;
		wpool_run(s->wp, batch_next, batch_done, &b);
		s->runs += m;
		for (unsigned int k = 0; k < m && !found; k++) {
			if (!same_failure(s, rc[k], &res[k]))
				continue;
			found = true;
			s->last_rc = rc[k];
			s->last = res[k];
			if (saved != NULL && b0 + k != 0) {
				s->seed += b0 + k;
				snprintf(seedline, sizeof(seedline),
					 "seed %llu",
					 (unsigned long long)s->seed);
				free(s->ln[s->seed_at]);
				s->ln[s->seed_at] = strdup(seedline);
				if (s->ln[s->seed_at] == NULL)
					abort();
			}
		}
		for (unsigned int k = 0; k < m; k++)
			free(texts[k]);
		free(res);
	}
	return found;
}

/* Try without the lines marked in drop; keep the removal if it fails. */
bool shrink_try_drop(struct shr *s, const bool *drop)
{
	if (shrink_out_of_time(s) ||
	    !shrink_cand_fails(s, drop, SIZE_MAX, NULL))
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (drop[i] && s->ln[i] != NULL) {
			free(s->ln[i]);
			s->ln[i] = NULL;
		}
	return true;
}

/* Try line i replaced by with; keep it if the failure persists. */
bool shrink_try_line(struct shr *s, size_t i, const char *with)
{
	char *c;

	if (shrink_out_of_time(s) || strcmp(with, s->ln[i]) == 0 ||
	    !shrink_cand_fails(s, NULL, i, with))
		return false;
	c = strdup(with);
	if (c == NULL)
		abort();
	free(s->ln[i]);
	s->ln[i] = c;
	return true;
}

void shrink_free_lines(char **ln, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ln[i]);
	free(ln);
}

/* ------------------------------------------------------------ driver */

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		size_t sp = strspn(l, " \t");

		if (sp < len && l[sp] != '#')
			n++;
		l += len + (nl != NULL);
	}
	return n;
}

char *shrink_text(struct wpool *wp, const char *name, const char *text,
		  const struct shrink_opts *o, struct shrink_stats *st)
{
	struct shr s = {.wp = wp, .name = name, .seed_at = SIZE_MAX};
	double t0 = wp_wall_s();
	char *copy = strdup(text), *save = NULL, *fin;
	bool changed = true;

	memset(st, 0, sizeof(*st));
	if (copy == NULL)
		abort();
	s.deadline_s = t0 + o->max_s;
	s.tries = o->tries ? o->tries : 1;
	s.jobs = o->jobs ? o->jobs : 1;
	st->lines_before = count_lines(text);
	/* The failure to keep: the original's. */
	{
		struct wp_job job = {.text = text};

		snprintf(job.name, sizeof(job.name), "%s", name);
		s.last_rc = wpool_run_one(wp, &job, &s.last);
		s.runs++;
		if (s.last_rc != 1 && s.last_rc != WP_CRASH &&
		    s.last_rc != WP_TIMEOUT) {
			free(copy);
			return NULL;
		}
		shrink_failure_kind(s.last.msg, s.kind, sizeof(s.kind));
	}
	for (char *l = strtok_r(copy, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		size_t sp = strspn(l, " \t");

		if (l[sp] == '\0' || l[sp] == '#')
			continue;
		s.ln = realloc(s.ln, (s.n + 1) * sizeof(*s.ln));
		if (s.ln == NULL || (s.ln[s.n] = strdup(l + sp)) == NULL)
			abort();
		if (s.seed_at == SIZE_MAX && strncmp(l + sp, "seed ", 5) == 0) {
			s.seed_at = s.n;
			s.seed = strtoull(l + sp + 5, NULL, 0);
		}
		s.n++;
	}
	free(copy);
	/* Comments and blank lines gone: the failing line numbers now count
	 * the header and the live lines, which cut_tail relies on. */
	(void)shrink_cand_fails(&s, NULL, SIZE_MAX, NULL);
	while (changed && !shrink_out_of_time(&s)) {
		changed = false;
		changed |= shrink_cut_tail(&s);
		changed |= shrink_drop_actors(&s);
		changed |= shrink_drop_luns(&s);
		changed |= shrink_cut_tail(&s);
		changed |= shrink_drop_lines(&s);
		changed |= shrink_cut_tail(&s);
		changed |= shrink_simplify_lines(&s);
	}
	shrink_rename_actors(&s);
	fin = join(&s, NULL, SIZE_MAX, NULL);
	/* The final verdict, run once more on the text as written. */
	{
		struct wp_job job = {.text = fin};

		snprintf(job.name, sizeof(job.name), "%s", name);
		st->rc = wpool_run_one(wp, &job, &st->res);
		s.runs++;
	}
	st->lines_after = count_lines(fin);
	st->runs = s.runs;
	st->wall_s = wp_wall_s() - t0;
	shrink_free_lines(s.ln, s.n);
	/* The caller writes the header in place of HEADER. */
	memmove(fin, fin + strlen(HEADER), strlen(fin) - strlen(HEADER) + 1);
	return fin;
}

int shrink_write(const char *path, const char *from, const char *text,
		 const struct shrink_stats *st)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "shrink: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	/* Exactly HEADER_LINES lines, as the shrunk candidates had. */
	fprintf(f, "# shrunk from %s (%zu lines) to %zu lines: %s\n", from,
		st->lines_before, st->lines_after, st->res.msg);
	if (st->rc == 1)
		fprintf(f, "# expected trace-hash: %016llx\n",
			(unsigned long long)st->res.hash);
	else
		fprintf(f, "# no trace hash: the run did not end\n");
	fputs(text, f);
	fclose(f);
	return 0;
}

int shrink_seed_file(struct wpool *wp, const char *dir, uint64_t seed,
		     const struct shrink_opts *o)
{
	char name[64], from[512], path[512];
	char *text = explore_generate(seed), *fin;
	struct shrink_stats st;

	snprintf(name, sizeof(name), "seed-%llu", (unsigned long long)seed);
	explore_seed_path(dir, seed, ".scn", from, sizeof(from));
	explore_seed_path(dir, seed, ".min.scn", path, sizeof(path));
	fin = shrink_text(wp, name, text, o, &st);
	free(text);
	if (fin == NULL) {
		printf("shrink: seed %llu does not fail alone (a crash that "
		       "depends on timing?); nothing to shrink\n",
		       (unsigned long long)seed);
		return -1;
	}
	shrink_write(path, from, fin, &st);
	printf("shrink: seed %llu: %zu -> %zu lines (%u runs, %.1fs): %s\n",
	       (unsigned long long)seed, st.lines_before, st.lines_after,
	       st.runs, st.wall_s, path);
	fflush(stdout);
	free(fin);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		fprintf(stderr, "shrink: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "shrink: cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int cmd_shrink(int argc, char **argv)
{
	const char *file = NULL, *outp = NULL;
	char outbuf[512];
	struct shrink_opts so = {.max_s = 300, .tries = 16, .jobs = 2};
	struct shrink_stats st;
	struct wpool *wp;
	char *text, *fin;
	size_t len;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outp = argv[++i];
		else if (strcmp(argv[i], "--max-s") == 0 && i + 1 < argc)
			so.max_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--tries") == 0 && i + 1 < argc)
			so.tries = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			so.jobs = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			file = NULL, i = argc;
	}
	if (file == NULL) {
		fprintf(stderr, "usage: utarget-sim shrink FILE.scn [-o "
				"OUT.scn] [--max-s SECONDS] [--tries N] "
				"[--jobs J]\n");
		return 2;
	}
	if (outp == NULL) {
		len = strlen(file);
		if (len > 4 && strcmp(file + len - 4, ".scn") == 0)
			len -= 4;
		snprintf(outbuf, sizeof(outbuf), "%.*s.min.scn", (int)len,
			 file);
		outp = outbuf;
	}
	text = slurp(file);
	wp = wpool_new(so.jobs, 0, 30);
	fin = shrink_text(wp, file, text, &so, &st);
	wpool_free(wp);
	free(text);
	if (fin == NULL) {
		fprintf(stderr, "shrink: %s does not fail; nothing to shrink\n",
			file);
		return 2;
	}
	if (shrink_write(outp, file, fin, &st) != 0)
		return 2;
	printf("shrink: %zu of %zu lines kept (%u runs, %.1fs), written to "
	       "%s\nshrink: %s\n",
	       st.lines_after, st.lines_before, st.runs, st.wall_s, outp,
	       st.res.msg);
	free(fin);
	return 0;
}
