/*
 * zerocopy.c — zero-copy reads of file and block-device backstores
 * (issue 17 item 3).
 *
 * A large READ whose Data-In the target can take by reference
 * (BS_F_MAY_REF: no DataDigest) and whose bytes are all in the page cache
 * is not copied into the command's buffer: the request completes with a
 * reference into a read-only shared mapping of the file (struct bs_ref),
 * and the Data-In PDUs point there, so that the kernel copies the page
 * cache straight into the socket in the one sendmsg that sends a batch of
 * responses.  The copy of the copying path from the page cache into the
 * buffer (io_uring's read: a third of the CPU of a 128 KiB read) is gone;
 * the batching of sends stays.
 *
 * Splicing the pages instead (splice file -> pipe -> socket, no copy at
 * all on our side) was measured first and lost on loopback: a sendmsg for
 * each PDU header and a splice for each data segment instead of one
 * sendmsg per batch, and the initiator's receive of the spliced 4 KiB
 * page fragments cost it ~70 % more CPU (notes of issue 17).
 *
 * Only what cannot block the reactor: cachestat(2) must find every page
 * of the range cached first, otherwise the read takes the io_uring path
 * as before.  (A page evicted between that and the send is faulted in by
 * the sendmsg: a synchronous read on the reactor, rare and bounded by one
 * request.)  Below ER_ZC_MIN_BYTES the read copies: the check costs a
 * system call per read that the io_uring read, one io_uring_enter for a
 * batch of reads, does not.  Measured at 4 KiB and QD32 (lane
 * perf5-small, docs/performance.md): by reference lost 10 pairs of 10 on
 * a loaded host and won 3 of 5 on a quieter one.
 *
 * The mapping covers the file as it was when first needed (the capacity,
 * or the file's size if shorter: reads past its end are holes, which the
 * copying path zero-fills).  It lives as long as the file and every
 * reference into it; a file truncated behind our back makes the kernel's
 * copy fail (EFAULT: the connection closes), never our process fault,
 * since nothing in user space reads the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "env_real/disk_file.h"
#include "env_real/env_real_int.h"

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct er_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct er_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

struct er_zc_ref {
	struct bs_ref ref;
	struct er_file *f;
};

static void er_zc_release(struct bs_ref *ref)
{
	struct er_zc_ref *z = er_container_of(ref, struct er_zc_ref, ref);
	struct er_file *f = z->f;
	unsigned int before = atomic_fetch_sub(&f->zc_refs, 1);

	/* released once, and counted when made */
	ut_assert(before > 0);
	free(z);
	/* The last reference of a closed file lets it go. */
	if (before == 1 && f->closing && er_file_idle(f) &&
	    atomic_load(&f->in_done) == 0)
		er_file_destroy(f);
}

/* f's mapping, made on first use by whichever reactor needs it first;
 * NULL if there is none (and will be none). */
static const uint8_t *er_zc_map(struct er_file *f, uint64_t *len)
{
	uint8_t *m = atomic_load(&f->zc_map);
	uint64_t size;
	struct stat st;

	if (m) {
		*len = f->zc_map_len; /* set before zc_map was */
		return m;
	}
	pthread_mutex_lock(&f->zc_lock);
	m = atomic_load(&f->zc_map);
	if (m || atomic_load(&f->zc_off))
		goto out;
	size = __atomic_load_n(&f->dev.size_bytes, __ATOMIC_RELAXED);
	if (!f->is_blk) {
		if (fstat(f->fd, &st) < 0)
			size = 0;
		else if ((uint64_t)st.st_size < size)
			size = (uint64_t)st.st_size;
	}
	m = size ? mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, f->fd, 0)
		 : MAP_FAILED;
	if (m == MAP_FAILED) {
		LOG_INFO(&f->home->env,
			 "%s: no mapping for zero-copy reads (%s): reads copy",
			 f->name, size ? strerror(errno) : "empty file");
		atomic_store(&f->zc_off, true);
		m = NULL;
		goto out;
	}
	f->zc_map_len = size;
	atomic_store(&f->zc_map, m);
out:
	pthread_mutex_unlock(&f->zc_lock);
	*len = m ? f->zc_map_len : 0;
	return m;
}

/* Are all pages of [off, off + len) of fd in the page cache? */
static bool er_zc_cached(struct er_file *f, uint64_t off, uint64_t len)
{
	struct er_cachestat_range range = {off, len};
	struct er_cachestat cs;
	long page = sysconf(_SC_PAGESIZE);

	if (syscall(__NR_cachestat, f->fd, &range, &cs, 0) < 0) {
		if (errno == ENOSYS || errno == EPERM)
			atomic_store(&f->zc_off, true); /* < Linux 6.5 */
		return false;
	}
	return page > 0 &&
	       cs.nr_cache * (uint64_t)page >= len + off % (uint64_t)page;
}

bool er_zc_read(struct er_io *io)
{
	struct er_file *f = io->f;
	struct bs_req *req = io->req;
	uint64_t len = req->length_bytes, off = req->offset_bytes, map_len = 0;
	const uint8_t *map;
	struct er_zc_ref *z;

	/* a whole READ, not started yet */
	ut_assert(req->op == BS_OP_READ && io->stage == ER_ST_RW);
	ut_assert(io->done_bytes == 0 && req->ref == NULL);
	if (!(req->flags & BS_F_MAY_REF) || io->eng->r->no_zero_copy ||
	    len < ER_ZC_MIN_BYTES || atomic_load(&f->zc_off))
		return false;
	map = er_zc_map(f, &map_len);
	if (!map || off > map_len || len > map_len - off ||
	    !er_zc_cached(f, off, len))
		return false;
	z = malloc(sizeof(*z));
	if (!z)
		return false; /* the copying path needs no memory */
	z->f = f;
	z->ref.mem = map + off;
	z->ref.length_bytes = len;
	z->ref.release = er_zc_release;
	/* the same bytes for sendfile(2) (er_conn_send_file): the fd lives
	 * as long as the reference, like the mapping */
	z->ref.fd = f->fd;
	z->ref.fd_off = off;
	/* the page cache as it is when sent: the read keeps its range */
	z->ref.live = true;
	atomic_fetch_add(&f->zc_refs, 1);
	req->ref = &z->ref;
	io->done_bytes = len;
	io->eng->stats.zero_copy_reads++;
	return true;
}

void er_zc_unmap(struct er_file *f)
{
	uint8_t *m = atomic_load(&f->zc_map);

	/* the file goes: no reference into the mapping is left */
	ut_assert(atomic_load(&f->zc_refs) == 0);
	if (m)
		munmap(m, (size_t)f->zc_map_len);
	atomic_store(&f->zc_map, NULL);
}
