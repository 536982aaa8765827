/*
 * env.c — world-independent helpers on top of the environment seam.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "env.h"

void env_random_bytes(struct env *e, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t r = env_random_u64(e);
		size_t n = len < sizeof(r) ? len : sizeof(r);

		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

void ut_log(struct env *e, enum ut_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > e->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->ops->log(e, level, line);
}

static const char *const level_names[] = {"error", "warn", "info", "debug",
					  "trace"};

const char *ut_log_level_name(enum ut_log_level l)
{
	if ((unsigned int)l < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[l];
	return "?";
}

int ut_log_level_parse(const char *s, enum ut_log_level *out)
{
	for (unsigned int i = 0;
	     i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum ut_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = UT_LOG_WARN;
		return 0;
	}
	return -1;
}
