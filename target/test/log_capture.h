/*
 * log_capture.h — the log lines a real-environment test reads: an env_ops
 * log hook (cap_log) keeping every line in a buffer, log_clear, log_has and
 * expect_log.  Shared by rbd_rig.h and tcmu_rig.h; include it after
 * <cmocka.h> and env.h.
 */
#ifndef UT_TEST_LOG_CAPTURE_H
#define UT_TEST_LOG_CAPTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[16384];
static size_t log_len;
static struct env_ops cap_ops;

static inline void cap_log(struct env *e, enum ut_log_level level,
			   const char *line)
{
	(void)e;
	(void)level;
	pthread_mutex_lock(&log_lock);
	log_len += (size_t)snprintf(log_buf + log_len,
				    sizeof(log_buf) - log_len, "%s\n", line);
	if (log_len >= sizeof(log_buf))
		log_len = sizeof(log_buf) - 1;
	pthread_mutex_unlock(&log_lock);
}

static inline void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static inline bool log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&log_lock);
	has = strstr(log_buf, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return has;
}

#define expect_log(s)                                                       \
	do {                                                                \
		if (!log_has(s))                                            \
			fail_msg("expected a log line with '%s'; got:\n%s", \
				 (s), log_buf);                             \
	} while (0)

#endif /* UT_TEST_LOG_CAPTURE_H */
