/*
 * backstore.h — the block device behind a logical unit.
 *
 * A backstore is a byte-addressed device of a fixed capacity, driven by
 * asynchronous requests.  Implementations:
 *
 *   mem   target/backstore/mem.c   RAM, sparse in 1 MiB chunks (thin)
 *   null  target/backstore/null.c  reads zeros, discards writes
 *   file  target/env_real/         regular file or block device (io_uring)
 *   rbd   target/env_real/disk_rbd.c   Ceph RBD image (librbd, async)
 *   tcmu  target/env_real/disk_tcmu.c  a tcmu-runner handler plugin
 *   sim   simnet/                  simulated disk with faults and crashes
 *
 * Completion rule: req->done may run before bs_submit() returns (mem and
 * null complete synchronously).  The caller must therefore make
 * bs_submit() the last thing it does with the request and anything the
 * completion may free.
 */
#ifndef UT_BACKSTORE_H
#define UT_BACKSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include "env.h"
#include "queue_compat.h"
#include <sys/uio.h>

#include "ut_assert.h"

struct env;
struct bs_dev;

enum bs_kind {
	BS_MEM = 0,
	BS_NULL = 1,
	BS_FILE = 2,  /* regular file (vdisk_fileio) */
	BS_BLOCK = 3, /* block device (vdisk_blockio) */
	BS_SIM = 4,   /* simnet disk */
	BS_RBD = 5,   /* Ceph RBD image: path "POOL/IMAGE" */
	BS_TCMU = 6,  /* tcmu-runner handler: path "HANDLER/CFGSTRING" */
};

enum bs_op {
	BS_OP_READ = 0,
	BS_OP_WRITE = 1,
	BS_OP_FLUSH = 2,	/* make every completed write durable */
	BS_OP_UNMAP = 3,	/* deallocate; reads return zeros afterwards */
	BS_OP_WRITE_ZEROES = 4, /* allocate-or-not, reads return zeros */
	/* Optional (bs_dev.caps): */
	BS_OP_WRITE_SAME = 5, /* iov: one block, written over the range */
	/* iov: length_bytes to compare with the medium, then length_bytes
	 * to write if equal, atomically; -EILSEQ with miscompare_bytes set
	 * when they differ; -EOPNOTSUPP: the device cannot do this one
	 * (the caller emulates it). */
	BS_OP_COMPARE_AND_WRITE = 6,
};

/* The change (WRITE, WRITE_SAME, WRITE_ZEROES, UNMAP, COMPARE_AND_WRITE) is
 * durable when it completes: the SCSI layer sets it for FUA and for every
 * change while the write cache is off (WCE=0, SBC-3 §4.15). */
#define BS_F_FUA 0x1u
/* READ: the device may answer with a reference to the bytes where they
 * already are (req->ref) instead of copying them into iov: a zero-copy
 * read.  The submitter sets it only where nothing checks the bytes
 * between the completion and their leaving (see struct bs_ref). */
#define BS_F_MAY_REF 0x2u

/* Optional operations a device implements (bs_dev.caps). */
#define BS_CAP_WRITE_SAME 0x1u
#define BS_CAP_COMPARE_AND_WRITE 0x2u

/*
 * The bytes of a zero-copy read (BS_F_MAY_REF): length_bytes of them at
 * mem, readable until the reference is released (once, by whoever holds
 * it last).  env_real's file backstore points into its mapping of the
 * file, i.e. the page cache, so the bytes are the medium's when they are
 * read (sent), not when the read completed: a write landing in between
 * shows.  That is an answer the read may give (the two are concurrent,
 * SAM-5 §4.6.2: the read has not completed until its data and status
 * left), but a digest computed at completion would no longer match, so
 * a transport asks for references only without DataDigest.  The promise
 * is per byte: each is the medium's at a moment between the read's
 * arrival and its own leaving, so a block a write changed between two
 * partial sends of it arrives part old, part new (the simulator judges
 * exactly that: docs/scenarios.md, `send-file on`); a live one (below)
 * keeps the read's LBA range from exclusive writers meanwhile.  The mem
 * backstore keeps the bytes of the completion instead (a write to a
 * referenced chunk copies it first: mem.c).
 */
struct bs_ref {
	const uint8_t *mem;
	uint64_t length_bytes;
	void (*release)(struct bs_ref *ref);
	/* The same bytes as a file range, for a transport whose environment
	 * sends from files (env_ops.conn_send_file: sendfile(2), no copy):
	 * fd and its offset, valid as long as the reference; fd
	 * ENV_FD_ZEROS: they are zeros; BS_REF_NO_FD: only at mem. */
	int fd;
	uint64_t fd_off;
	/* The bytes are the medium's when they are read (sent), not the
	 * completion's (a file's mapping, its page cache: env_real's file
	 * backstore, the simulated disk).  The SCSI layer then keeps the
	 * read's LBA range (shared) until the reference is released, so
	 * that no exclusive writer (WRITE ATOMIC, COMPARE AND WRITE) lands
	 * while they leave (task_set.c scsi_range_hold).  false: the bytes
	 * never change while referenced (mem.c copies a referenced chunk
	 * before a write; a null disk's zeros). */
	bool live;
};

#define BS_REF_NO_FD (-1)

static inline void bs_ref_release(struct bs_ref *ref)
{
	if (ref)
		ref->release(ref);
}

struct bs_req;
/* status: 0 on success, -errno otherwise (-EIO, -ENOSPC, ...). */
typedef void (*bs_done_fn)(struct bs_req *req, int status);

struct bs_req {
	enum bs_op op;
	uint32_t flags;		 /* BS_F_* */
	uint64_t offset_bytes;	 /* multiple of the block size */
	uint64_t length_bytes;	 /* 0 for FLUSH */
	const struct iovec *iov; /* READ/WRITE data, length_bytes total */
	int iovcnt;
	bs_done_fn done;
	void *caller;		  /* for the submitter */
	TAILQ_ENTRY(bs_req) link; /* free for the implementation's use */
	/* out, COMPARE_AND_WRITE -EILSEQ: offset of the first differing
	 * byte from offset_bytes */
	uint64_t miscompare_bytes;
	/* out, READ with BS_F_MAY_REF and status 0: the bytes by reference
	 * (length_bytes of them; iov untouched), or NULL: they are in iov.
	 * The submitter owns it from the completion on. */
	struct bs_ref *ref;
};

/* What the configuration asks for when a backstore is opened. */
struct bs_dev_params {
	enum bs_kind kind;
	const char *name;    /* device name, for logs */
	const char *path;    /* FILE/BLOCK: file name; NULL otherwise */
	uint64_t size_bytes; /* MEM/NULL: capacity; FILE: size to
					 * create at, 0 = use the file's size */
	uint32_t block_size; /* 512 or 4096 */
	bool read_only;
	bool thin;   /* punch holes on UNMAP */
	bool create; /* FILE: create sparse if missing */
	/* RBD: ceph.conf (NULL: librados' search path), client id (NULL:
	 * "admin"), cluster operation timeout (0: 30 s), librbd writeback
	 * cache on. */
	const char *conf;
	const char *client_id;
	uint32_t timeout_s;
	bool cache;
};

struct bs_ops {
	void (*submit)(struct bs_dev *dev, struct bs_req *req);
	/* Is [offset, offset+len) allocated?  Returns the length in bytes
	 * of the run starting at offset that shares one state, and sets
	 * *mapped.  May be NULL: then everything is reported mapped. */
	uint64_t (*lba_status)(struct bs_dev *dev, uint64_t offset_bytes,
			       uint64_t len_bytes, bool *mapped);
	/* Take back every request in flight, before the memory they name
	 * goes (iscsi_server_free() abandoning sessions whose commands are
	 * at a stuck store, or a crash): none of them completes any more,
	 * and once this returns 0 the device never again reads or writes a
	 * request it was given, nor the buffers the request names.  A
	 * request the device cannot take back by deadline_ns (env clock: a
	 * system call stuck in a hung file system, a cluster that does not
	 * answer) is counted in the return value: its memory must then be
	 * kept, and a later call may take it back.  Only once the
	 * environment delivers nothing more (the reactors stopped); no
	 * request is submitted after it.  May be NULL: the device holds no
	 * request past bs_submit() (mem, null). */
	unsigned int (*abandon)(struct bs_dev *dev, uint64_t deadline_ns);
	/* Every request came back or was taken back (abandon) first: close
	 * never sees one in flight. */
	void (*close)(struct bs_dev *dev);
	/* Change the capacity (a multiple of block_size, > 0).  Growing
	 * adds blocks that read as zeros; shrinking gives up the end, and
	 * the caller has made sure that no request in flight reaches past
	 * the new end.  0 or -errno (-ENOTSUP: NULL, the kind cannot). */
	int (*resize)(struct bs_dev *dev, uint64_t size_bytes);
};

struct bs_dev {
	const struct bs_ops *ops;
	enum bs_kind kind;
	uint64_t size_bytes; /* capacity, a multiple of block_size */
	uint32_t block_size;
	bool read_only;	  /* opened read-only (file mode) */
	bool thin;	  /* UNMAP deallocates */
	bool rotational;  /* reported in the block device characteristics */
	bool write_cache; /* volatile write cache present (WCE default) */
	uint32_t caps;	  /* BS_CAP_*: optional operations */
	/* The capacity changed (a remote image was resized): the device
	 * updates size_bytes, then calls resized(dev, resized_arg) on the
	 * reactor that opened it.  Set by the owner after opening. */
	void (*resized)(struct bs_dev *dev, void *arg);
	void *resized_arg;
	void *priv;
};

static inline void bs_submit(struct bs_dev *dev, struct bs_req *req)
{
	/* What every backstore may rely on: whole blocks, a completion to
	 * call, and data buffers where the op moves data. */
	ut_assert(req->offset_bytes % dev->block_size == 0);
	ut_assert(req->length_bytes % dev->block_size == 0);
	ut_assert(req->done != NULL);
	ut_assert((req->op != BS_OP_READ && req->op != BS_OP_WRITE) ||
		  req->length_bytes == 0 ||
		  (req->iovcnt > 0 && req->iov != NULL));
	dev->ops->submit(dev, req);
}

static inline int bs_resize(struct bs_dev *dev, uint64_t size_bytes)
{
	return dev->ops->resize ? dev->ops->resize(dev, size_bytes)
				: -95 /* ENOTSUP */;
}

/* The requests dev still holds after taking back what it could by
 * deadline_ns (bs_ops.abandon); 0: none, its requests' memory may go. */
static inline unsigned int bs_abandon(struct bs_dev *dev, uint64_t deadline_ns)
{
	if (!dev || !dev->ops->abandon)
		return 0;
	return dev->ops->abandon(dev, deadline_ns);
}

static inline void bs_close(struct bs_dev *dev)
{
	if (dev)
		dev->ops->close(dev);
}

/* World-independent backstores. */
int bs_mem_open(const struct bs_dev_params *p, struct bs_dev **out);
/* Let sessions of every reactor of env use the disk (takes a mutex). */
int bs_mem_share(struct bs_dev *dev, struct env *env);
/* Zero-copy reads of a mem disk (mem.c; bs_open turns them on where the
 * env's zero_copy is), and how many chunks a write had to copy because a
 * read by reference was still sending from them. */
void bs_mem_refs(struct bs_dev *dev, bool on);
uint64_t bs_mem_cow_copies(const struct bs_dev *dev);
int bs_null_open(const struct bs_dev_params *p, struct bs_dev **out);
/* Zero-copy reads of a null disk: large reads answered with a reference
 * to zeros (null.c; bs_open turns them on where the env's zero_copy is
 * and it sends from files, env_ops.conn_send_file). */
void bs_null_refs(struct bs_dev *dev, bool on);
/* The null disks' references (of the whole process) not yet released. */
uint64_t bs_null_refs_out(void);

/* Open any backstore: MEM and NULL here, FILE/BLOCK/RBD/TCMU/SIM through
 * env. */
int bs_open(struct env *env, const struct bs_dev_params *p,
	    struct bs_dev **out);
/* Open off the reactor where opening may wait on something remote
 * (env's disk_open_async): 0 and done(arg, rc, dev) follows on env's
 * reactor; -ENOTSUP: the kind opens quickly, call bs_open. */
int bs_open_async(struct env *env, const struct bs_dev_params *p,
		  env_disk_opened_fn done, void *arg);

#endif
