/*
 * config_rig.h — helpers of the configuration tests (test_config.c,
 * test_config_targets.c, test_config_cli.c): parse a text while capturing
 * the diagnostics, expect success or a failure naming a needle, and build
 * generated configurations.
 */
#ifndef UT_TEST_CONFIG_RIG_H
#define UT_TEST_CONFIG_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

#define MAX_DIAGS 64

struct diags {
	int warnings, errors, n;
	char msg[MAX_DIAGS][640];
};

static inline void capture(void *arg, int severity, const char *file, int line,
			   int col, const char *msg)
{
	struct diags *d = arg;

	if (severity)
		d->errors++;
	else
		d->warnings++;
	if (d->n < MAX_DIAGS)
		snprintf(d->msg[d->n++], sizeof(d->msg[0]), "%s:%d:%d: %s: %s",
			 file ? file : "-", line, col,
			 severity ? "error" : "warning", msg);
}

static inline void dump(const struct diags *d)
{
	for (int i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->msg[i]);
}

static inline bool has_diag(const struct diags *d, const char *needle)
{
	for (int i = 0; i < d->n; i++)
		if (strstr(d->msg[i], needle))
			return true;
	return false;
}

#define expect_diag(d, needle)                                              \
	do {                                                                \
		if (!has_diag((d), (needle))) {                             \
			dump(d);                                            \
			fail_msg("expected a diagnostic containing \"%s\"", \
				 (needle));                                 \
		}                                                           \
	} while (0)

static inline int parse_len(struct ut_config *cfg, struct diags *d,
			    const char *text, size_t len)
{
	memset(d, 0, sizeof(*d));
	ut_config_init(cfg);
	return ut_config_parse(cfg, "t.conf", text, len, capture, d);
}

static inline int parse(struct ut_config *cfg, struct diags *d,
			const char *text)
{
	return parse_len(cfg, d, text, strlen(text));
}

/* Parse text that must load without a single diagnostic. */
static inline void parse_clean(struct ut_config *cfg, const char *text)
{
	struct diags d;

	if (parse(cfg, &d, text) != 0 || d.n) {
		dump(&d);
		fail_msg("expected a clean parse of:\n%s", text);
	}
}

/* Parse text that must fail with an error containing needle. */
static inline void parse_fails(const char *text, const char *needle)
{
	struct ut_config cfg;
	struct diags d;

	if (parse(&cfg, &d, text) != -1 || d.errors != 1) {
		dump(&d);
		fail_msg("expected exactly one error for:\n%s", text);
	}
	expect_diag(&d, needle);
	ut_config_free(&cfg);
}

static inline void parse_ok(const char *text)
{
	struct ut_config cfg;

	parse_clean(&cfg, text);
	ut_config_free(&cfg);
}

/* A growable string for generated configurations. */
struct sb {
	char *s;
	size_t len, cap;
};

static inline void sb_printf(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static inline char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#define MEM_DEV "HANDLER vdisk_mem {\n DEVICE m {\n  size 1M\n }\n}\n"

/* A config with one mem device "m" and one target whose body is body. */
static inline char *with_target(const char *body)
{
	struct sb b = {0};

	sb_printf(&b,
		  MEM_DEV "TARGET_DRIVER iscsi {\n TARGET iqn.2026-11.t:x "
			  "{\n%s\n }\n}\n",
		  body);
	return b.s;
}

static inline void target_ok(const char *body)
{
	char *s = with_target(body);

	parse_ok(s);
	free(s);
}

static inline void target_fails(const char *body, const char *needle)
{
	char *s = with_target(body);

	parse_fails(s, needle);
	free(s);
}

#endif
