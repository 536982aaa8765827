/*
 * shrink_reduce.c — the reductions `utarget-sim shrink` tries, coarse to
 * fine (numbered as at the top of shrink.c): the tail after the failing
 * line, an initiator, a LUN, lines (delta debugging), a line made simpler
 * (prefix, background, an argument, a number), and the initiators renamed
 * for the reader.  Each proposes candidates through shrink_try_drop() and
 * shrink_try_line() (shrink.c), which keep one only if it still fails
 * the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shrink_int.h"

static size_t live_lines(const struct shr *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		k += s->ln[i] != NULL;
	return k;
}

/* ------------------------------------------------------------ lines */

#define MAX_TOKS 48

struct ltoks {
	char buf[1024];
	char *t[MAX_TOKS];
	int n;
};

static void ltok(const char *line, struct ltoks *lt)
{
	char *save = NULL;

	snprintf(lt->buf, sizeof(lt->buf), "%s", line);
	lt->n = 0;
	for (char *w = strtok_r(lt->buf, " \t", &save);
	     w != NULL && lt->n < MAX_TOKS; w = strtok_r(NULL, " \t", &save))
		lt->t[lt->n++] = w;
}

/* The line's tokens without token `skip`, token `sub` written as `with`. */
static void lrebuild(const struct ltoks *lt, int skip, int sub,
		     const char *with, char *out, size_t cap)
{
	size_t k = 0;

	out[0] = '\0';
	for (int i = 0; i < lt->n; i++) {
		const char *w = i == sub ? with : lt->t[i];

		if (i == skip)
			continue;
		k += (size_t)snprintf(out + k, k < cap ? cap - k : 0, "%s%s",
				      k ? " " : "", w);
	}
}

/* The actor a line is about: its first word after a +DURATION. */
static const char *actor_of(const struct ltoks *lt)
{
	int i = lt->n > 0 && lt->t[0][0] == '+' ? 1 : 0;

	return i < lt->n ? lt->t[i] : "";
}

/* ------------------------------------------------------ reductions */

/* A target crashed and never restarted answers nothing: any command
 * after it "hangs", a failure of the same kind as a real hang but no bug.
 * Such candidates are refused without running them. */
bool shrink_cand_sane(const struct shr *s, const bool *drop, size_t subst,
		      const char *with)
{
	bool down = false;

	for (size_t i = 0; i < s->n; i++) {
		const char *l = i == subst ? with : s->ln[i];
		struct ltoks lt;
		int v;

		if (l == NULL || (drop && drop[i]))
			continue;
		ltok(l, &lt);
		v = lt.n > 0 && lt.t[0][0] == '+' ? 1 : 0;
		if (lt.n < v + 2 || strcmp(lt.t[v], "target") != 0)
			continue;
		if (strcmp(lt.t[v + 1], "crash") == 0)
			down = true;
		else if (strcmp(lt.t[v + 1], "restart") == 0)
			down = false;
	}
	return !down;
}

/* 1. Nothing after the failing line matters: the run stops there. */
bool shrink_cut_tail(struct shr *s)
{
	bool *drop = calloc(s->n + 1, 1);
	size_t k = 0;
	bool any = false, ok = false;

	if (drop == NULL)
		abort();
	if (s->last.fail_line > 0) {
		for (size_t i = 0; i < s->n; i++) {
			if (s->ln[i] == NULL)
				continue;
			if (++k + HEADER_LINES > (size_t)s->last.fail_line)
				drop[i] = any = true;
		}
		ok = any && shrink_try_drop(s, drop);
	}
	free(drop);
	return ok;
}

/* 2. An initiator and every line of it. */
bool shrink_drop_actors(struct shr *s)
{
	bool changed = false;

	for (size_t d = 0; d < s->n; d++) {
		struct ltoks lt;
		char name[64];
		bool *drop;

		if (s->ln[d] == NULL)
			continue;
		ltok(s->ln[d], &lt);
		if (lt.n < 2 || strcmp(lt.t[0], "initiator") != 0)
			continue;
		snprintf(name, sizeof(name), "%s", lt.t[1]);
		drop = calloc(s->n + 1, 1);
		if (drop == NULL)
			abort();
		for (size_t i = 0; i < s->n; i++) {
			struct ltoks li;

			if (s->ln[i] == NULL)
				continue;
			ltok(s->ln[i], &li);
			drop[i] = i == d || strcmp(actor_of(&li), name) == 0;
		}
		if (shrink_try_drop(s, drop))
			changed = true;
		free(drop);
	}
	return changed;
}

/* 3. A LUN, its disk's lines and every line that names it. */
bool shrink_drop_luns(struct shr *s)
{
	bool changed = false;

	for (size_t d = 0; d < s->n; d++) {
		struct ltoks lt;
		char lun[32], disk[64];
		bool *drop;

		if (s->ln[d] == NULL)
			continue;
		ltok(s->ln[d], &lt);
		if (lt.n < 3 || strcmp(lt.t[0], "lun") != 0)
			continue;
		snprintf(lun, sizeof(lun), "lun=%s", lt.t[1]);
		snprintf(disk, sizeof(disk), "%s", lt.t[2]);
		drop = calloc(s->n + 1, 1);
		if (drop == NULL)
			abort();
		for (size_t i = 0; i < s->n; i++) {
			struct ltoks li;

			if (s->ln[i] == NULL)
				continue;
			ltok(s->ln[i], &li);
			drop[i] = i == d || strcmp(actor_of(&li), disk) == 0;
			for (int k = 0; k < li.n && !drop[i]; k++)
				drop[i] = strcmp(li.t[k], lun) == 0;
		}
		if (shrink_try_drop(s, drop))
			changed = true;
		free(drop);
	}
	return changed;
}

static bool protected_line(const char *l)
{
	return strncmp(l, "seed ", 5) == 0;
}

/* 4. Delta debugging over lines: chunks of n/2, n/4, ... 1. */
bool shrink_drop_lines(struct shr *s)
{
	bool changed = false;
	size_t live = live_lines(s);
	bool *drop = calloc(s->n + 1, 1);

	if (drop == NULL)
		abort();
	for (size_t chunk = live / 2 ? live / 2 : 1; chunk >= 1; chunk /= 2) {
		size_t i = 0;

		while (i < s->n && !shrink_out_of_time(s)) {
			size_t taken = 0, j = i;
			bool any = false;

			memset(drop, 0, s->n + 1);
			for (; j < s->n && taken < chunk; j++) {
				if (s->ln[j] == NULL)
					continue;
				taken++;
				if (!protected_line(s->ln[j]))
					drop[j] = any = true;
			}
			if (any && shrink_try_drop(s, drop))
				changed = true;
			i = j;
		}
		if (chunk == 1)
			break;
	}
	/* Adjacent pairs: lines that only go together (a crash and its
	 * restart, an rst and its reconnect). */
	for (size_t i = 0; i < s->n && !shrink_out_of_time(s); i++) {
		size_t j = i + 1;

		if (s->ln[i] == NULL || protected_line(s->ln[i]))
			continue;
		while (j < s->n && s->ln[j] == NULL)
			j++;
		if (j >= s->n || protected_line(s->ln[j]))
			continue;
		memset(drop, 0, s->n + 1);
		drop[i] = drop[j] = true;
		if (shrink_try_drop(s, drop))
			changed = true;
	}
	free(drop);
	return changed;
}

/* Keys whose numbers get smaller: sizes, addresses, times. */
static bool shrinkable_key(const char *k, size_t len)
{
	static const char *const keys[] = {"lba",   "blocks", "size",
					   "for",   "delay",  "jitter",
					   "chunk", "min",    "max",
					   "slow",  "window", "count"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == len && strncmp(k, keys[i], len) == 0)
			return true;
	return false;
}

/* Smaller forms of a number with an optional unit (`256K`, `300ms`);
 * zero only where it reads well (not a LUN of size 0). */
static int smaller(const char *num, bool zero_ok, char out[3][32])
{
	char *unit;
	unsigned long long v = strtoull(num, &unit, 10);
	unsigned long long c[3] = {0, 1, v / 2};
	int k = 0;

	if (unit == num || strlen(unit) > 4)
		return 0;
	for (int i = zero_ok ? 0 : 1; i < 3; i++) {
		if (c[i] >= v || (i == 2 && (c[2] == 0 || c[2] == 1)))
			continue;
		snprintf(out[k++], 32, "%llu%s", c[i], unit);
	}
	return k;
}

/* 5. One line at a time: simpler forms of it. */
static bool simplify_line(struct shr *s, size_t i)
{
	bool changed = false;
	int expect_at;
	struct ltoks lt;
	char cand[1024];

	/* Each accepted change re-tokenizes: indices move. */
restart:
	if (s->ln[i] == NULL || protected_line(s->ln[i]) ||
	    shrink_out_of_time(s))
		return changed;
	ltok(s->ln[i], &lt);
	if (lt.n == 0)
		return changed;
	expect_at = lt.n;
	for (int k = 0; k < lt.n; k++)
		if (strcmp(lt.t[k], "expect") == 0) {
			expect_at = k;
			break;
		}
	/* The +DURATION prefix, then `&`, then each argument. */
	for (int k = 0; k < expect_at; k++) {
		const char *t = lt.t[k];
		bool is_prefix = k == 0 && t[0] == '+' && lt.n > 1;
		bool is_bg = strcmp(t, "&") == 0;
		/* An argument: after "ACTOR VERB" (or a declaration's
		 * keyword and name). */
		int first_arg = (lt.t[0][0] == '+' ? 1 : 0) + 2;

		if (strcmp(lt.t[0], "param") == 0 ||
		    strcmp(lt.t[0], "net") == 0)
			first_arg = 1;
		if (!is_prefix && !is_bg && k < first_arg)
			continue;
		lrebuild(&lt, k, -1, NULL, cand, sizeof(cand));
		if (shrink_try_line(s, i, cand)) {
			changed = true;
			goto restart;
		}
	}
	/* Smaller numbers: key=N and the +DURATION prefix. */
	for (int k = 0; k < expect_at; k++) {
		const char *t = lt.t[k], *eq = strchr(t, '='), *num;
		char alt[3][32], tok[1100];
		int na;

		if (k == 0 && t[0] == '+')
			num = t + 1;
		else if (eq != NULL && shrinkable_key(t, (size_t)(eq - t)) &&
			 strcmp(lt.t[0], "param") != 0)
			num = eq + 1;
		else
			continue;
		na = smaller(num, strncmp(t, "size=", 5) != 0, alt);
		for (int a = 0; a < na; a++) {
			snprintf(tok, sizeof(tok), "%.*s%s", (int)(num - t), t,
				 alt[a]);
			lrebuild(&lt, -1, k, tok, cand, sizeof(cand));
			if (shrink_try_line(s, i, cand)) {
				changed = true;
				goto restart;
			}
		}
	}
	return changed;
}

bool shrink_simplify_lines(struct shr *s)
{
	bool changed = false;

	for (size_t i = 0; i < s->n && !shrink_out_of_time(s); i++)
		changed |= simplify_line(s, i);
	return changed;
}

/* 6. For the reader: initiators named A, B, C... in their order of
 * declaration (a name is part of the initiator's IQN, so this too must
 * keep the failure). */
static bool name_used(const struct shr *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		struct ltoks lt;

		if (s->ln[i] == NULL)
			continue;
		ltok(s->ln[i], &lt);
		if (strcmp(actor_of(&lt), name) == 0 ||
		    (lt.n >= 2 && strcmp(lt.t[0], "initiator") == 0 &&
		     strcmp(lt.t[1], name) == 0))
			return true;
	}
	return false;
}

bool shrink_rename_actors(struct shr *s)
{
	char want[2] = "A";
	bool changed = false;

	for (size_t d = 0; d < s->n && want[0] <= 'Z' && !shrink_out_of_time(s);
	     d++) {
		struct ltoks lt;
		char name[64], line[1024], **ln, **old;

		if (s->ln[d] == NULL)
			continue;
		ltok(s->ln[d], &lt);
		if (lt.n < 2 || strcmp(lt.t[0], "initiator") != 0)
			continue;
		snprintf(name, sizeof(name), "%s", lt.t[1]);
		if (strcmp(name, want) == 0 || name_used(s, want)) {
			want[0]++;
			continue;
		}
		ln = calloc(s->n + 1, sizeof(*ln));
		if (ln == NULL)
			abort();
		for (size_t i = 0; i < s->n; i++) {
			struct ltoks li;
			int at = -1;

			if (s->ln[i] == NULL)
				continue;
			ltok(s->ln[i], &li);
			if (i == d)
				at = 1;
			else if (strcmp(actor_of(&li), name) == 0)
				at = li.n > 0 && li.t[0][0] == '+' ? 1 : 0;
			if (at < 0)
				snprintf(line, sizeof(line), "%s", s->ln[i]);
			else
				lrebuild(&li, -1, at, want, line, sizeof(line));
			ln[i] = strdup(line);
			if (ln[i] == NULL)
				abort();
		}
		old = s->ln;
		s->ln = ln;
		if (shrink_cand_fails(s, NULL, SIZE_MAX, NULL)) {
			shrink_free_lines(old, s->n);
			changed = true;
		} else {
			shrink_free_lines(ln, s->n);
			s->ln = old;
		}
		want[0]++;
	}
	return changed;
}
