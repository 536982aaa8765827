/*
 * state.c — durable key/value state in files of one directory (persistent
 * reservations with APTPL).
 *
 * put is atomic: the value goes to a temporary file, which is fsync'ed,
 * renamed over the key and followed by an fsync of the directory, so that
 * after a crash the key holds the old value or the new one, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env_real/env_real_int.h"

#define ER_STATE_KEY_MAX 200
/* A bound on what one key may hold: PR state of thousands of I_T nexuses
 * fits many times over. */
#define ER_STATE_MAX_BYTES (4u * 1024u * 1024u)

/* Keys are file names in state_dir: [A-Za-z0-9._-], at most 200 bytes,
 * not starting with '.' (that excludes ".", ".." and our temporary
 * files) and without "..". */
bool er_state_key_valid(const char *key)
{
	size_t n;

	if (!key || key[0] == '\0' || key[0] == '.' || strstr(key, ".."))
		return false;
	for (n = 0; key[n]; n++) {
		char ch = key[n];

		if (n >= ER_STATE_KEY_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static int er_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	ut_assert(fd >= 0);
	ut_assert(data != NULL || len == 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int er_state_open_dir(struct er_reactor *r, const char *key)
{
	int dfd;

	if (!r->state_dir)
		return -ENOTSUP;
	if (!er_state_key_valid(key)) {
		LOG_ERR(&r->env,
			"state key \"%.40s\" rejected: use 1-200 of "
			"[A-Za-z0-9._-], no leading '.', no \"..\"",
			key ? key : "(null)");
		return -EINVAL;
	}
	/* A key that passed is one plain file name inside state_dir. */
	ut_assert(strchr(key, '/') == NULL && key[0] != '.');
	dfd = open(r->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int err = errno;

		LOG_ERR(&r->env, "state directory %s: %s", r->state_dir,
			strerror(err));
		return -err;
	}
	return dfd;
}

int er_state_put(struct env *e, const char *key, const void *data, size_t len)
{
	struct er_reactor *r = er_reactor_of(e);
	char tmp[ER_STATE_KEY_MAX + 8];
	int dfd, fd = -1, rc;

	if (len > ER_STATE_MAX_BYTES)
		return -EFBIG;
	dfd = er_state_open_dir(r, key);
	if (dfd < 0)
		return dfd;
	/* The temporary name is never a key (keys have no leading '.'). */
	ut_assert(strlen(key) + 6 < sizeof(tmp));
	snprintf(tmp, sizeof(tmp), ".%s.tmp", key);
	ut_assert(!er_state_key_valid(tmp));
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = er_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0 && renameat(dfd, tmp, dfd, key) < 0)
		rc = -errno;
	/* The rename is durable only once the directory is. */
	if (rc == 0 && fsync(dfd) < 0)
		rc = -errno;
out:
	if (rc < 0) {
		LOG_ERR(e, "cannot store state %s/%s: %s", r->state_dir, key,
			strerror(-rc));
		unlinkat(dfd, tmp, 0);
	}
	close(dfd);
	return rc;
}

ssize_t er_state_get(struct env *e, const char *key, void *buf, size_t cap)
{
	struct er_reactor *r = er_reactor_of(e);
	struct stat st;
	ssize_t got = 0;
	int dfd, fd;

	dfd = er_state_open_dir(r, key);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, key, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		got = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		got = -errno;
		goto out;
	}
	/* Refuse to return a prefix: a truncated state record would parse
	 * as a different state. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > cap) {
		got = S_ISREG(st.st_mode) ? -EOVERFLOW : -EINVAL;
		goto out;
	}
	while ((size_t)got < cap) {
		ssize_t n = read(fd, (char *)buf + got, cap - (size_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			got = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += n;
	}
	/* Never more than asked, and never a prefix (EOVERFLOW above). */
	ut_assert(got < 0 || (size_t)got <= cap);
out:
	if (got < 0 && got != -ENOENT)
		LOG_ERR(e, "cannot read state %s/%s: %s", r->state_dir, key,
			strerror((int)-got));
	if (fd >= 0)
		close(fd);
	close(dfd);
	ut_assert(got <= (ssize_t)cap);
	return got;
}
