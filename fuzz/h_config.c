/*
 * h_config.c — the configuration front ends: the scst.conf parser and
 * validator, then --lun specs, portals and sizes on the input's lines,
 * then the command-line overrides applied to what was parsed.
 *
 * Input: an scst.conf text.  Every line of it (up to FZ_MAX_LINES) is also
 * handed, NUL-terminated, to ut_lun_spec_parse(), ut_portal_parse() and
 * ut_size_parse(), so one corpus serves all four parsers.
 */
#include <stdbool.h>
#include <string.h>

#include "config/config.h"
#include "shim.h"

#define FZ_MAX_LINES 16
#define FZ_LINE_MAX 512

static void diag_sink(void *arg, int severity, const char *file, int line,
		      int column, const char *msg)
{
	size_t *n = arg;

	/* Touch every byte: a diagnostic built from unterminated input
	 * shows up as an ASan report here. */
	(*n) += strlen(msg) + (file ? strlen(file) : 0);
	(void)severity, (void)line, (void)column;
}

static void check_dev(const struct ut_dev_cfg *d)
{
	FUZZ_CHECK(memchr(d->name, 0, sizeof(d->name)),
		   "device name unterminated");
	FUZZ_CHECK(memchr(d->path, 0, sizeof(d->path)), "path unterminated");
	FUZZ_CHECK(d->size_bytes <= UT_DEV_SIZE_MAX, "size %llu past the cap",
		   (unsigned long long)d->size_bytes);
}

static void check_config(const struct ut_config *cfg)
{
	FUZZ_CHECK(cfg->dev_count <= UT_MAX_DEVS, "%zu devices",
		   cfg->dev_count);
	FUZZ_CHECK(cfg->target_count <= UT_MAX_TARGETS, "%zu targets",
		   cfg->target_count);
	FUZZ_CHECK(cfg->portal_count <= UT_MAX_PORTALS, "%zu portals",
		   cfg->portal_count);
	for (size_t i = 0; i < cfg->dev_count; i++)
		check_dev(&cfg->devs[i]);
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];

		FUZZ_CHECK(memchr(t->iqn, 0, sizeof(t->iqn)),
			   "iqn unterminated");
		FUZZ_CHECK(t->incoming_count <= UT_MAX_USERS, "%zu users",
			   t->incoming_count);
		FUZZ_CHECK(t->group_count <= UT_MAX_GROUPS, "%zu groups",
			   t->group_count);
		for (size_t k = 0; k < t->lun_count; k++)
			FUZZ_CHECK(t->luns[k].lun <= UT_MAX_LUNS, "LUN %u",
				   t->luns[k].lun);
	}
	for (size_t i = 0; i < cfg->portal_count; i++) {
		char host[256];
		uint16_t port;

		/* What the parser accepted must parse again as a portal. */
		(void)ut_portal_parse(cfg->portals[i], host, sizeof(host),
				      &port);
	}
}

/* The command line applied on top of the file, as main.c does. */
static void apply_overrides(struct ut_config *cfg, const char *line,
			    size_t *sink)
{
	struct ut_dev_cfg dev;
	const char *err = NULL;
	char *portals[1] = {(char *)line};

	memset(&dev, 0, sizeof(dev));
	if (ut_lun_spec_parse(line, &dev, &err) == 0) {
		check_dev(&dev);
		snprintf(dev.name, sizeof(dev.name), "lun0");
		if (ut_config_set_luns(cfg, &dev, 1) == 0)
			(void)ut_config_validate(cfg, diag_sink, sink);
	} else {
		FUZZ_CHECK(err != NULL, "lun spec failed without a message");
		*sink += strlen(err);
	}
	if (ut_config_set_portals(cfg, portals, 1) == 0)
		check_config(cfg);
	if (ut_config_set_target(cfg, line) == 0)
		check_config(cfg);
	(void)ut_config_validate(cfg, diag_sink, sink);
}

int harness_one(const uint8_t *data, size_t len)
{
	struct ut_config cfg;
	size_t sink = 0, start = 0;
	unsigned int lines = 0;
	int rc;

	ut_config_init(&cfg);
	rc = ut_config_parse(&cfg, "fuzz.conf", (const char *)data, len,
			     diag_sink, &sink);
	if (rc == 0) {
		check_config(&cfg);
		(void)ut_config_validate(&cfg, diag_sink, &sink);
	}

	while (start < len && lines < FZ_MAX_LINES) {
		const uint8_t *nl = memchr(data + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t n = end - start;
		char *line =
			malloc(n + 1); /* exact size: ASan sees overreads */
		struct ut_dev_cfg dev;
		const char *err = NULL;
		char host[64];
		uint16_t port = 0;
		uint64_t size = 0;

		if (!line)
			abort();
		memcpy(line, data + start, n);
		line[n] = '\0';
		memset(&dev, 0, sizeof(dev));
		if (ut_lun_spec_parse(line, &dev, &err) == 0)
			check_dev(&dev);
		if (ut_portal_parse(line, host, sizeof(host), &port) == 0)
			FUZZ_CHECK(memchr(host, 0, sizeof(host)),
				   "portal host unterminated");
		(void)ut_size_parse(line, &size);
		if (rc == 0 && lines < 2)
			apply_overrides(&cfg, line, &sink);
		free(line);
		start = end + 1;
		lines++;
	}
	ut_config_free(&cfg);
	return (int)(sink & 0);
}
