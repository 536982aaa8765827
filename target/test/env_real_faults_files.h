/*
 * env_real_faults_files.h — env_real_faults.h's wrapped file calls
 * (open, read, write, stat, fsync, fallocate, preadv/pwritev, lseek,
 * ioctl, mmap...): each fails, is interrupted or is short on cue.
 * Included by env_real_faults.h only, after the fault plan it consults.
 */
#ifndef UT_TEST_ENV_REAL_FAULTS_FILES_H
#define UT_TEST_ENV_REAL_FAULTS_FILES_H

/* ------------------------------------------------------------- files */

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	struct sf_act a = sf_check(SF_OPEN, -1, path, 0, 0);
	mode_t mode = 0;
	va_list ap;
	int fd;

	SF_FAIL(a, int);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (sf_redirect_from &&
	    !strncmp(path, sf_redirect_from, strlen(sf_redirect_from)))
		path = sf_redirect_to;
	fd = __real_open(path, flags, mode);
	if (fd >= 0 && sf_blk_path && !strcmp(path, sf_blk_path))
		sf_blk_fd = fd;
	return fd;
}

int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	struct sf_act a = sf_check(SF_OPENAT, dfd, path, 0, 0);
	mode_t mode = 0;
	va_list ap;

	SF_FAIL(a, int);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return __real_openat(dfd, path, flags, mode);
}

ssize_t __real_read(int fd, void *buf, size_t len);
ssize_t __wrap_read(int fd, void *buf, size_t len)
{
	struct sf_act a = sf_check(SF_READ, fd, NULL, len, 0);

	SF_FAIL(a, ssize_t);
	return __real_read(fd, buf, sf_cap(&a, len));
}

ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	struct sf_act a = sf_check(SF_WRITE, fd, NULL, len, 0);

	if (fd == STDERR_FILENO && sf_log_on) {
		pthread_mutex_lock(&sf_lock);
		if (sf_loglen + len < sizeof(sf_logbuf)) {
			memcpy(sf_logbuf + sf_loglen, buf, len);
			sf_loglen += len;
			sf_logbuf[sf_loglen] = '\0';
		}
		pthread_mutex_unlock(&sf_lock);
	}
	SF_FAIL(a, ssize_t);
	return __real_write(fd, buf, sf_cap(&a, len));
}

int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st)
{
	struct sf_act a = sf_check(SF_FSTAT, fd, NULL, 0, 0);
	int rc;

	SF_FAIL(a, int);
	rc = __real_fstat(fd, st);
	if (rc == 0 && sf_blk_fd >= 0 && fd == sf_blk_fd) {
		st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFBLK;
		st->st_rdev = sf_blk_rdev;
		st->st_size = 0;
	}
	return rc;
}

int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st)
{
	struct sf_act a = sf_check(SF_STAT, -1, path, 0, 0);

	SF_FAIL(a, int);
	return __real_stat(path, st);
}

int __real_lstat(const char *path, struct stat *st);
int __wrap_lstat(const char *path, struct stat *st)
{
	struct sf_act a = sf_check(SF_LSTAT, -1, path, 0, 0);

	SF_FAIL(a, int);
	return __real_lstat(path, st);
}

int __real_mkdir(const char *path, mode_t mode);
int __wrap_mkdir(const char *path, mode_t mode)
{
	struct sf_act a = sf_check(SF_MKDIR, -1, path, 0, 0);

	SF_FAIL(a, int);
	return __real_mkdir(path, mode);
}

int __real_chmod(const char *path, mode_t mode);
int __wrap_chmod(const char *path, mode_t mode)
{
	struct sf_act a = sf_check(SF_CHMOD, -1, path, 0, 0);

	SF_FAIL(a, int);
	return __real_chmod(path, mode);
}

int __real_renameat(int ofd, const char *o, int nfd, const char *n);
int __wrap_renameat(int ofd, const char *o, int nfd, const char *n)
{
	struct sf_act a = sf_check(SF_RENAMEAT, ofd, n, 0, 0);

	SF_FAIL(a, int);
	return __real_renameat(ofd, o, nfd, n);
}

int __real_fsync(int fd);
int __wrap_fsync(int fd)
{
	struct sf_act a = sf_check(SF_FSYNC, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_fsync(fd);
}

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd)
{
	struct sf_act a = sf_check(SF_FDATASYNC, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_fdatasync(fd);
}

int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len)
{
	struct sf_act a = sf_check(SF_FTRUNCATE, fd, NULL, 0, 0);

	SF_FAIL(a, int);
	return __real_ftruncate(fd, len);
}

/* size is the mode */
int __real_fallocate(int fd, int mode, off_t off, off_t len);
int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	struct sf_act a = sf_check(SF_FALLOCATE, fd, NULL, (size_t)mode, 0);

	SF_FAIL(a, int);
	return __real_fallocate(fd, mode, off, len);
}

/* A capped vector call moves at most cap bytes: the iovecs are cut. */
static inline int sf_cut_iov(const struct iovec *iov, int n, long cap,
			     struct iovec *out, int max)
{
	int k = 0;

	for (int i = 0; i < n && k < max && cap > 0; i++) {
		out[k] = iov[i];
		if ((long)out[k].iov_len > cap)
			out[k].iov_len = (size_t)cap;
		cap -= (long)out[k].iov_len;
		k++;
	}
	return k;
}

ssize_t __real_preadv(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	struct sf_act a = sf_check(SF_PREADV, fd, NULL, 0, 0);
	struct iovec cut[64];

	SF_FAIL(a, ssize_t);
	if (a.fault && a.cap > 0)
		return __real_preadv(fd, cut,
				     sf_cut_iov(iov, n, a.cap, cut, 64), off);
	return __real_preadv(fd, iov, n, off);
}

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct sf_act a = sf_check(SF_PWRITEV, fd, NULL, 0, 0);
	struct iovec cut[64];

	SF_FAIL(a, ssize_t);
	if (a.fault && a.cap > 0)
		return __real_pwritev(fd, cut,
				      sf_cut_iov(iov, n, a.cap, cut, 64), off);
	return __real_pwritev(fd, iov, n, off);
}

/* size is the flags (RWF_NOWAIT, RWF_DSYNC): a rule can take one kind */
ssize_t __real_pwritev2(int fd, const struct iovec *iov, int n, off_t off,
			int flags);
ssize_t __wrap_pwritev2(int fd, const struct iovec *iov, int n, off_t off,
			int flags)
{
	struct sf_act a = sf_check(SF_PWRITEV2, fd, NULL, (size_t)flags + 1, 0);
	struct iovec cut[64];

	SF_FAIL(a, ssize_t);
	if (a.fault && a.cap > 0)
		return __real_pwritev2(fd, cut,
				       sf_cut_iov(iov, n, a.cap, cut, 64), off,
				       flags);
	return __real_pwritev2(fd, iov, n, off, flags);
}

/* size is whence + 1 */
off_t __real_lseek(int fd, off_t off, int whence);
off_t __wrap_lseek(int fd, off_t off, int whence)
{
	struct sf_act a = sf_check(SF_LSEEK, fd, NULL, (size_t)whence + 1, 0);

	SF_FAIL(a, off_t);
	return __real_lseek(fd, off, whence);
}

/* size is the request; the fake block device answers its two. */
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct sf_act a = sf_check(SF_IOCTL, fd, NULL, (size_t)req, 0);
	void *arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	SF_FAIL(a, int);
	if (sf_blk_fd >= 0 && fd == sf_blk_fd) {
		if (req == BLKGETSIZE64) {
			*(uint64_t *)arg = sf_blk_bytes;
			return 0;
		}
		if (req == BLKSSZGET) {
			*(int *)arg = sf_blk_lbs;
			return 0;
		}
	}
	return __real_ioctl(fd, req, arg);
}

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	struct sf_act a = sf_check(SF_MMAP, fd, NULL, len, 0);

	if (a.fault && a.err) {
		errno = a.err;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

/* size is the system call number (cachestat) */
long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
	struct sf_act a = sf_check(SF_SYSCALL, -1, NULL, (size_t)nr, 0);
	long v[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		v[i] = va_arg(ap, long);
	va_end(ap);
	SF_FAIL(a, long);
	return __real_syscall(nr, v[0], v[1], v[2], v[3], v[4], v[5]);
}

#endif
