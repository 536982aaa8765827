/*
 * chart_write.c — a recorded run written out as the chart page: repeated
 * sections folded, the lanes, events and details as JSON inside
 * chart_page.html, and explore --chart's charts of failing seeds.
 *
 * The boundary: chart.c records while the run goes (hooks on the network,
 * the trace and the clock) and judges nothing; this file only reads the
 * finished recording (chart_int.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart.h"
#include "chart_int.h"
#include "ut_assert.h"

/* The page (chart_page.html), linked in as it is. */
__asm__(".section .rodata\n"
	".global chart_page_html\n"
	"chart_page_html:\n"
	".incbin \"simnet/chart_page.html\"\n"
	".byte 0\n"
	".previous\n");
extern const char chart_page_html[];

/* ---------------------------------------------------------- folding */

struct ch_section {
	size_t first, end; /* events [first, end) */
	uint64_t sig;
	bool keep; /* a fault or the failure: never folded */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0x100000001b3ull;
}

/* Order-free signature: a sum of mixed terms, so that answers arriving
 * in another order inside a section do not make it different. */
static uint64_t ev_term(const struct chart *c, const struct ch_ev *e)
{
	uint64_t t = mix(e->kind, e->lane);

	if (e->kind == CH_PDU)
		return mix(t, (uint64_t)e->opcode << 1 | e->dir) ^ e->err;
	if (e->kind == CH_STEP) {
		/* the verb: the word after the actor */
		const char *s = strchr(e->label, ' ');
		uint64_t h = 1469598103934665603ull;

		if (s != NULL)
			s = strchr(s + 1, ' ');
		for (s = s ? s + 1 : ""; *s != '\0' && *s != ' '; s++)
			h = mix(h, (uint8_t)*s);
		return mix(t, h);
	}
	if (e->kind == CH_DISK)
		return mix(t, (uint64_t)e->label[0] << 8 | e->label[1]) ^
		       e->err;
	(void)c;
	return mix(t, e->err);
}

static size_t sections_build(const struct chart *c, struct ch_section **out)
{
	struct ch_section *s = NULL;
	size_t n = 0;

	for (size_t i = 0; i < c->nev; i++) {
		const struct ch_ev *e = &c->ev[i];

		if (e->kind == CH_STEP || n == 0) {
			s = xrealloc(s, (n + 1) * sizeof(*s));
			s[n] = (struct ch_section){.first = i, .end = i};
			n++;
		}
		s[n - 1].end = i + 1;
		s[n - 1].sig += ev_term(c, e);
		if (e->kind == CH_FAIL || (e->kind == CH_FAULT && e->err))
			s[n - 1].keep = true;
	}
	*out = s;
	return n;
}

/* Repetitions of period p starting at section i (how many whole periods
 * match the first one). */
static size_t reps_at(const struct ch_section *s, size_t n, size_t i, size_t p)
{
	size_t k = 0;

	if (i + p > n)
		return 0;
	for (size_t j = i; j < i + p; j++)
		if (s[j].keep)
			return 0;
	k = 1;
	for (;;) {
		size_t base = i + k * p;

		if (base + p > n)
			return k;
		for (size_t j = 0; j < p; j++)
			if (s[base + j].sig != s[i + j].sig || s[base + j].keep)
				return k;
		k++;
	}
}

#define CH_FOLD_MIN_SECTIONS 6 /* fold only what hides at least this */

/* Print the folds as JSON: [first event, last event, sections, label]. */
static void folds_write(FILE *f, const struct chart *c)
{
	struct ch_section *s;
	size_t n = sections_build(c, &s), i = 0;
	bool first = true;

	while (i < n) {
		size_t best_p = 0, best_k = 0;

		for (size_t p = 1; p <= 4; p++) {
			size_t k = reps_at(s, n, i, p);

			if (k >= 3 && k * p > best_k * best_p) {
				best_p = p;
				best_k = k;
			}
		}
		/* keep the first and the last period open */
		if (best_p > 0 &&
		    (best_k - 2) * best_p >= CH_FOLD_MIN_SECTIONS) {
			size_t a = i + best_p, b = i + (best_k - 1) * best_p;
			size_t pdus = 0;

			for (size_t e = s[a].first; e < s[b - 1].end; e++)
				pdus += c->ev[e].kind == CH_PDU;
			fprintf(f, "%s[%zu,%zu,%zu,%zu,%zu]", first ? "" : ",",
				s[a].first, s[b - 1].end - 1, b - a, best_k - 2,
				pdus);
			first = false;
			i += best_k * best_p;
		} else {
			i++;
		}
	}
	free(s);
}

/* ------------------------------------------------------------ output */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&' ||
			 ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

struct ch_row {
	uint64_t t;
	int64_t key; /* event index; an arrival is -(index + 1) */
};

/* By time; at one instant arrivals first (what arrives causes what is
 * sent), then in the order recorded. */
static int row_cmp(const void *a, const void *b)
{
	const struct ch_row *x = a, *y = b;
	bool xa = x->key < 0, ya = y->key < 0;
	int64_t xi = xa ? -x->key - 1 : x->key, yi = ya ? -y->key - 1 : y->key;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (xa != ya)
		return xa ? -1 : 1;
	return xi < yi ? -1 : xi > yi;
}

/* The page draws rows in this order: every event, and every PDU's
 * arrival. */
static void rows_write(FILE *f, const struct chart *c)
{
	struct ch_row *rows = xrealloc(NULL, 2 * c->nev * sizeof(*rows) + 1);
	size_t n = 0;

	for (size_t i = 0; i < c->nev; i++) {
		rows[n++] = (struct ch_row){c->ev[i].t_ns, (int64_t)i};
		if (c->ev[i].kind == CH_PDU && c->ev[i].t2_ns != UINT64_MAX)
			rows[n++] = (struct ch_row){c->ev[i].t2_ns,
						    -(int64_t)i - 1};
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", rows[i].key);
	free(rows);
}

static void data_write(FILE *f, const struct chart *c,
		       const struct scn_result *res)
{
	fputs("{\"name\":", f);
	json_str(f, c->name);
	fprintf(f,
		",\"pass\":%s,\"seed\":%" PRIu64 ",\"hash\":\"%016" PRIx64
		"\",\"line\":%d,\"virt_ns\":%" PRIu64 ",\"msg\":",
		res->pass ? "true" : "false", res->seed, res->hash,
		res->fail_line, res->virt_ns);
	json_str(f, res->pass ? "" : res->msg);
	fputs(",\"lanes\":[", f);
	for (int i = 0; i < c->nlanes; i++) {
		fprintf(f, "%s[", i ? "," : "");
		json_str(f, c->lane_name[i]);
		fprintf(f, ",\"%c\"]", c->lane_kind[i]);
	}
	fputs("],\"src\":[", f);
	for (int i = 0; i < c->nlines; i++) {
		if (i)
			fputc(',', f);
		json_str(f, c->lines[i]);
	}
	/* events: [t, kind, lane, t2 (-1 never), dir, err, line, label,
	 * detail] */
	fputs("],\n\"ev\":[\n", f);
	for (size_t i = 0; i < c->nev; i++) {
		const struct ch_ev *e = &c->ev[i];

		fprintf(f, "%s[%" PRIu64 ",\"%c\",%u,", i ? ",\n" : "", e->t_ns,
			ch_kind_char[e->kind], e->lane);
		if (e->t2_ns == UINT64_MAX)
			fputs("-1", f);
		else
			fprintf(f, "%" PRIu64, e->t2_ns);
		fprintf(f, ",%u,%d,%d,", e->dir, e->err ? 1 : 0, e->line);
		json_str(f, e->label);
		if (e->detail != NULL) {
			fputc(',', f);
			json_str(f, e->detail);
		}
		fputc(']', f);
	}
	fputs("],\n\"timers\":[", f);
	for (size_t i = 0; i < c->ntimers; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", c->timers[i]);
	fputs("],\n\"rows\":[", f);
	rows_write(f, c);
	fputs("],\n\"folds\":[", f);
	folds_write(f, c);
	fputs("]}", f);
}

int chart_write(struct chart *c, const struct scn_result *res, const char *path)
{
	const char *mark = "/*CHART-DATA*/";
	const char *at = strstr(chart_page_html, mark);
	FILE *f;
	int rc = 0;

	ut_assert(at != NULL);
	f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fwrite(chart_page_html, 1, (size_t)(at - chart_page_html), f);
	data_write(f, c, res);
	fputs(at + strlen(mark), f);
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ------------------------------------------------------ explore --chart */

static int chart_in_child(const char *prog, const char *scn, const char *html)
{
	pid_t pid;
	int st;

	if (access(scn, R_OK) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execl(prog, prog, "run", scn, "--chart", html, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	/* `run` exits 1 on the failure being charted: that is expected */
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? 0 : -1;
}

void chart_failures(const char *prog, const char *dir, const uint64_t *seeds,
		    size_t n)
{
	static const char *const kinds[] = {"", ".min"};

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 2; k++) {
			char scn[512], html[512];

			snprintf(scn, sizeof(scn), "%s/seed-%" PRIu64 "%s.scn",
				 dir, seeds[i], kinds[k]);
			snprintf(html, sizeof(html),
				 "%s/seed-%" PRIu64 "%s.html", dir, seeds[i],
				 kinds[k]);
			if (access(scn, R_OK) != 0)
				continue;
			if (chart_in_child(prog, scn, html) == 0)
				printf("explore: chart of seed %" PRIu64
				       "%s: %s\n",
				       seeds[i], kinds[k][0] ? " (shrunk)" : "",
				       html);
			else
				printf("explore: could not chart %s\n", scn);
		}
}
