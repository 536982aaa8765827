/*
 * h_scsi.c — CDBs and parameter data straight into the SCSI layer.
 *
 * The world: two small mem LUs (LU 0: 256 KiB of 512-byte blocks, thin;
 * LU 1: 256 KiB of 4096-byte blocks) and LU 2, 256 KiB of 512-byte blocks
 * on a store the input drives (below), mapped into two sessions (two I_T
 * nexuses, so reservations and unit attentions have someone to conflict
 * with), over a stub environment whose durable state store lives in memory
 * for the length of one input (APTPL survives a "power cycle" record).
 *
 * LU 2's store does what a remote one (rbd, tcmu) may do: COMPARE AND
 * WRITE and WRITE SAME by itself (BS_CAP_*), reads answered by reference
 * (the LU's commands take Data-In by reference), every errno such a store
 * returns, a miscompare offset of any value, and requests kept in flight
 * until a record completes them, so that task management, resets and
 * power cycles meet I/O at the store.  mem completes every request
 * before bs_submit() returns; nothing else in this harness is ever in
 * flight.
 *
 * Input: records, until the input runs out (at most FZ_MAX_CMDS):
 *
 *   byte 0   bits 0-1  direction: 0 none, 1 read, 2 write,
 *                      3 = not a command: task management / power cycle
 *            bits 2-3  task attribute
 *            bit  4    session 0 or 1
 *            bits 5-6  LUN: 0, 1, 7 (not mapped), or 2
 *            bit  7    CDB longer than 16 bytes (one length byte follows)
 *   bytes 1-2  EDTL, big endian (the buffer the transport would allocate)
 *   [1 byte    extra CDB bytes 0..16, if bit 7]
 *   16+extra   CDB
 *   if write:  2 bytes data-out length, then that many bytes
 *
 *   direction 3: byte 1 = function (abort task / task set / clear task set /
 *   LU reset / target reset / power cycle, byte 1 % 6), byte 2 = tag of the
 *   target task; the LUN as for a command.  Byte 1 from 0xf0 on is what
 *   the iSCSI layer does with a write whose Data-Out is still to come
 *   (scsi.h scsi_cmd_accept; the attribute, session and LUN of byte 0):
 *     0xf0-0xf7  accept: a command record follows (EDTL, a 16-byte CDB,
 *                data-out length and data, as for a write); the command
 *                takes its place in the task set (scsi_cmd_accept), or,
 *                refused (no LU, ACA), waits as a command not yet sent
 *     0xf8-0xfb  its data is in: pending command byte 2 % pending goes on
 *                (scsi_cmd_exec)
 *     0xfc-0xff  it ends before it ran (its connection went, its own
 *                nexus aborted it): pending command byte 2 % pending
 *                leaves (scsi_cmd_withdraw), never answered by the layer
 *   Commands still pending at a power cycle leave; at the end of the
 *   input their data comes in.
 *   direction 3 with bit 7: a store record for LU 2, byte 1 = what, byte 2
 *   = its argument (fzs_record()).
 *
 * Checks after every command, beyond what ASan and UBSan see: guard bytes
 * on both sides of the data buffer are intact (and ASan-poisoned, so even
 * a read of them is reported), data_in_len <= buf_cap, sense_len <= 252,
 * CHECK CONDITION if and only if there is sense data, done() exactly once,
 * never for a command accepted and not yet executed nor for one withdrawn,
 * every accepted command counted busy in its session, and no command left
 * unfinished when the input ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "backstore/backstore.h"
#include "config/config.h"
#include "env.h"
#include "scsi/scsi.h"
#include "shim.h"

#define FZ_MAX_CMDS 64
#define FZ_MAX_RECORDS 256
#define FZ_GUARD 64
#define FZ_CANARY 0xa5
#define FZ_POISON 0xee
#define FZ_LU_BYTES (256u << 10)
#define FZ_STATE_MAX (64u << 10)

/* ------------------------------------------------ a stub environment */

struct fz_state {
	char key[128];
	uint8_t data[FZ_STATE_MAX];
	ssize_t len; /* -ENOENT when empty */
};

static struct fz_state state;
static uint64_t rnd;

static uint64_t st_now(struct env *e)
{
	(void)e;
	return 0;
}
static uint64_t st_random(struct env *e)
{
	(void)e;
	rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
	return rnd;
}
static void st_log(struct env *e, enum ut_log_level l, const char *line)
{
	(void)e, (void)l, (void)line;
}
static int st_put(struct env *e, const char *key, const void *data, size_t n)
{
	(void)e;
	FUZZ_CHECK(n <= FZ_STATE_MAX, "state record of %zu bytes", n);
	snprintf(state.key, sizeof(state.key), "%s", key);
	if (n)
		memcpy(state.data, data, n);
	state.len = n ? (ssize_t)n : -ENOENT;
	return 0;
}
static ssize_t st_get(struct env *e, const char *key, void *buf, size_t cap)
{
	(void)e;
	if (state.len < 0 || strcmp(key, state.key) != 0)
		return -ENOENT;
	memcpy(buf, state.data,
	       (size_t)state.len < cap ? (size_t)state.len : cap);
	return state.len;
}

/* Timers (SANITIZE runs in timer-driven steps): a small fixed set, fired
 * by st_run_timers() between commands, whatever their deadline. */
#define ST_TIMERS 8
struct env_timer {
	env_timer_fn fn;
	void *arg;
	bool used, armed;
};
static struct env_timer st_timers[ST_TIMERS];

static struct env_timer *st_timer_new(struct env *e, env_timer_fn fn, void *arg)
{
	(void)e;
	for (int i = 0; i < ST_TIMERS; i++) {
		if (st_timers[i].used)
			continue;
		st_timers[i] = (struct env_timer){fn, arg, true, false};
		return &st_timers[i];
	}
	return NULL; /* the target must cope with no timer */
}
static void st_timer_arm(struct env_timer *t, uint64_t deadline)
{
	(void)deadline;
	t->armed = true;
}
static void st_timer_cancel(struct env_timer *t)
{
	t->armed = false;
}
static void st_timer_free(struct env_timer *t)
{
	t->used = false;
	t->armed = false;
}

/* Fire armed timers until none is left (bounded). */
static void st_run_timers(void)
{
	for (int round = 0; round < 4096; round++) {
		bool fired = false;

		for (int i = 0; i < ST_TIMERS; i++) {
			if (!st_timers[i].used || !st_timers[i].armed)
				continue;
			st_timers[i].armed = false;
			st_timers[i].fn(st_timers[i].arg);
			fired = true;
		}
		if (!fired)
			return;
	}
}

static const struct env_ops st_ops = {
	.timer_new = st_timer_new,
	.timer_arm = st_timer_arm,
	.timer_cancel = st_timer_cancel,
	.timer_free = st_timer_free,
	.now_ns = st_now,
	.random_u64 = st_random,
	.log = st_log,
	.state_put = st_put,
	.state_get = st_get,
};
static struct env st_env = {.ops = &st_ops, .log_level = UT_LOG_ERROR};

/* ----------------------------------------- LU 2: a store the input drives */

#define FZS_HELD 16

static const int fzs_errno[8] = {
	0, -EIO, -ENOSPC, -ETIMEDOUT, -EILSEQ, -EOPNOTSUPP, -ESHUTDOWN, -EROFS,
};

struct fzs_ref {
	struct bs_ref ref;
	uint8_t bytes[];
};

static struct fz_store {
	struct bs_dev dev;
	uint8_t data[FZ_LU_BYTES];
	int status;	     /* how the next requests end: 0 or -errno */
	uint64_t miscompare; /* -EILSEQ's offset where the store says so */
	bool hold;	     /* keep requests in flight */
	bool by_ref;	     /* answer reads by reference where asked */
	struct bs_req *held[FZS_HELD];
	unsigned int nheld;
	unsigned int refs_out; /* references not released yet */
	bool open;
} fzs;

static void fzs_ref_release(struct bs_ref *ref)
{
	FUZZ_CHECK(fzs.refs_out > 0, "a reference released twice");
	fzs.refs_out--;
	free(ref);
}

/* The medium's bytes of a READ into its iov. */
static void fzs_scatter(struct bs_req *req)
{
	uint64_t off = req->offset_bytes, left = req->length_bytes;

	for (int i = 0; i < req->iovcnt && left; i++) {
		size_t n = req->iov[i].iov_len < left ? req->iov[i].iov_len
						      : (size_t)left;

		memcpy(req->iov[i].iov_base, fzs.data + off, n);
		off += n;
		left -= n;
	}
	FUZZ_CHECK(left == 0, "op %d: iov shorter than %llu bytes", req->op,
		   (unsigned long long)req->length_bytes);
}

/* The iov's bytes from byte at on, n of them, into dst. */
static void fzs_gather(const struct bs_req *req, uint64_t at, uint8_t *dst,
		       uint64_t n)
{
	for (int i = 0; i < req->iovcnt && n; i++) {
		const uint8_t *b = req->iov[i].iov_base;
		size_t len = req->iov[i].iov_len;

		if (at >= len) {
			at -= len;
			continue;
		}
		len -= (size_t)at;
		if (len > n)
			len = (size_t)n;
		memcpy(dst, b + at, len);
		dst += len;
		n -= len;
		at = 0;
	}
	FUZZ_CHECK(n == 0, "op %d: iov too short", req->op);
}

/* Carry out req as the store would, then complete it with status (or
 * with what carrying it out says: a miscompare). */
static void fzs_finish(struct bs_req *req, int status)
{
	uint64_t off = req->offset_bytes, len = req->length_bytes;
	uint32_t bs = fzs.dev.block_size;

	FUZZ_CHECK(off <= FZ_LU_BYTES && len <= FZ_LU_BYTES - off,
		   "op %d at %llu+%llu past the store", req->op,
		   (unsigned long long)off, (unsigned long long)len);
	req->ref = NULL;
	if (status == -EILSEQ && req->op != BS_OP_COMPARE_AND_WRITE)
		status = -EIO; /* only a compare miscompares */
	if (status == -EILSEQ)
		req->miscompare_bytes = fzs.miscompare;
	if (status) {
		req->done(req, status);
		return;
	}
	switch (req->op) {
	case BS_OP_READ:
		if ((req->flags & BS_F_MAY_REF) && fzs.by_ref && len) {
			struct fzs_ref *r = malloc(sizeof(*r) + len);

			if (!r)
				abort();
			memcpy(r->bytes, fzs.data + off, len);
			r->ref = (struct bs_ref){.mem = r->bytes,
						 .length_bytes = len,
						 .release = fzs_ref_release,
						 .fd = BS_REF_NO_FD};
			req->ref = &r->ref;
			fzs.refs_out++;
		} else {
			fzs_scatter(req);
		}
		break;
	case BS_OP_WRITE:
		fzs_gather(req, 0, fzs.data + off, len);
		break;
	case BS_OP_FLUSH:
		break;
	case BS_OP_UNMAP:
	case BS_OP_WRITE_ZEROES:
		memset(fzs.data + off, 0, len);
		break;
	case BS_OP_WRITE_SAME: {
		uint8_t block[4096];

		FUZZ_CHECK(bs <= sizeof(block), "block size %u", bs);
		fzs_gather(req, 0, block, bs);
		for (uint64_t o = 0; o < len; o += bs)
			memcpy(fzs.data + off + o, block, bs);
		break;
	}
	case BS_OP_COMPARE_AND_WRITE: {
		/* iov: len bytes to compare, then len to write. */
		uint8_t *both = malloc(2 * len + 1);

		if (!both)
			abort();
		fzs_gather(req, 0, both, 2 * len);
		for (uint64_t i = 0; i < len; i++) {
			if (both[i] != fzs.data[off + i]) {
				req->miscompare_bytes = i;
				status = -EILSEQ;
				break;
			}
		}
		if (!status)
			memcpy(fzs.data + off, both + len, len);
		free(both);
		break;
	}
	default:
		FUZZ_CHECK(0, "op %d the store did not offer", req->op);
	}
	req->done(req, status);
}

static void fzs_submit(struct bs_dev *dev, struct bs_req *req)
{
	(void)dev;
	FUZZ_CHECK(fzs.open, "a request to a closed store");
	if (fzs.hold && fzs.nheld < FZS_HELD) {
		fzs.held[fzs.nheld++] = req;
		return;
	}
	fzs_finish(req, fzs.status);
}

/* Complete held request i (the others keep their order). */
static void fzs_complete(unsigned int i, int status)
{
	struct bs_req *req = fzs.held[i];

	memmove(&fzs.held[i], &fzs.held[i + 1],
		(fzs.nheld - i - 1) * sizeof(fzs.held[0]));
	fzs.nheld--;
	fzs_finish(req, status); /* may hold new requests */
}

static void fzs_complete_all(int status)
{
	/* Completions may submit and hold more (a chain's next step):
	 * bounded, since holding stops here. */
	fzs.hold = false;
	while (fzs.nheld)
		fzs_complete(0, status);
}

static void fzs_close(struct bs_dev *dev)
{
	(void)dev;
	FUZZ_CHECK(fzs.nheld == 0, "store closed with %u requests in flight",
		   fzs.nheld);
	fzs.open = false;
}

static const struct bs_ops fzs_ops = {
	.submit = fzs_submit,
	.close = fzs_close,
};

static struct bs_dev *fzs_open(void)
{
	FUZZ_CHECK(!fzs.open, "store opened twice");
	fzs.dev = (struct bs_dev){
		.ops = &fzs_ops,
		.kind = BS_RBD,
		.size_bytes = FZ_LU_BYTES,
		.block_size = 512,
		.thin = true,
		.write_cache = true,
		.caps = BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE,
	};
	fzs.open = true;
	return &fzs.dev;
}

/*
 * A store record: byte 1 says what (low 2 bits), byte 2 is the argument.
 *   0  the next requests end with fzs_errno[arg % 8] (0: as asked); the
 *      miscompare offset a failing COMPARE AND WRITE reports is arg
 *      shifted left by byte 1's upper 6 bits (any value, past the data
 *      too)
 *   1  arg bit 0: keep requests in flight; bit 1: reads by reference
 *   2  complete held request arg % held with the current status
 *   3  complete every held request with the current status, and keep
 *      no more in flight
 */
static void fzs_record(uint8_t what, uint8_t arg)
{
	switch (what & 3) {
	case 0:
		fzs.status = fzs_errno[arg % 8];
		fzs.miscompare = (uint64_t)arg << (what >> 2);
		break;
	case 1:
		fzs.hold = arg & 1;
		fzs.by_ref = arg & 2;
		break;
	case 2:
		if (fzs.nheld)
			fzs_complete(arg % fzs.nheld, fzs.status);
		break;
	case 3:
		fzs_complete_all(fzs.status);
		break;
	}
}

/* ------------------------------------------------------- the world */

struct fz_cmd {
	struct scsi_cmd cmd;
	uint8_t *base; /* guard | buf_cap bytes | guard */
	unsigned int done_calls;
	bool pending;	  /* accept record: its Data-Out still to come */
	bool placed;	  /* scsi_cmd_accept() took it into the task set */
	unsigned int seq; /* arrival order (the order of the input) */
};

#define FZ_LUS 3

struct world {
	struct bs_dev *bs[FZ_LUS];
	struct scsi_lu *lu[FZ_LUS];
	struct scsi_sess *sess[2];
	struct fz_cmd *cmds[FZ_MAX_CMDS];
	unsigned int ncmds;
	unsigned int seq; /* commands created so far */
	/* TMF hooks: holds not yet released (scsi.h, scsi_tmf_hook) */
	unsigned int tmf_holds;
};

static const uint64_t fz_luns[4] = {0, 1, 7, 2};

static void cmd_done(struct scsi_cmd *cmd)
{
	struct fz_cmd *c = (struct fz_cmd *)cmd;

	c->done_calls++;
	FUZZ_CHECK(c->done_calls == 1, "done() called %u times", c->done_calls);
}

static void world_up(struct world *w)
{
	static const uint32_t bsz[FZ_LUS] = {512, 4096, 512};

	for (int i = 0; i < FZ_LUS; i++) {
		struct bs_dev_params p = {
			.kind = BS_MEM,
			.name = i ? "lu1" : "lu0",
			.size_bytes = FZ_LU_BYTES,
			.block_size = bsz[i],
			.thin = i == 0,
		};
		struct ut_dev_cfg dev;

		memset(&dev, 0, sizeof(dev));
		snprintf(dev.name, sizeof(dev.name), "%s", p.name);
		dev.kind = BS_MEM;
		dev.size_bytes = FZ_LU_BYTES;
		dev.block_size = bsz[i];
		dev.thin = i == 0;
		memcpy(dev.t10_vendor_id, "UTARGET", 8);
		memcpy(dev.prod_id, "fuzz", 5);
		snprintf(dev.t10_dev_id, sizeof(dev.t10_dev_id), "%s", p.name);
		if (i == 2)
			w->bs[i] = fzs_open();
		else if (bs_mem_open(&p, &w->bs[i]) != 0)
			abort();
		w->lu[i] = scsi_lu_new(&st_env, &dev, w->bs[i], (uint32_t)i);
		if (!w->lu[i])
			abort();
	}
	for (int s = 0; s < 2; s++) {
		struct scsi_nexus_id id;

		memset(&id, 0, sizeof(id));
		snprintf(id.initiator_name, sizeof(id.initiator_name),
			 "iqn.2026-11.org.utarget:fuzz-%d", s);
		id.isid[0] = 0x40;
		id.isid[5] = (uint8_t)s;
		snprintf(id.target_name, sizeof(id.target_name), "%s",
			 UT_DEFAULT_TARGET);
		id.tpgt = 1;
		id.rel_tgt_port_id = 1;
		w->sess[s] = scsi_sess_new(&st_env, &id);
		if (!w->sess[s])
			abort();
		for (int i = 0; i < FZ_LUS; i++)
			if (scsi_sess_map(w->sess[s], (uint32_t)i, w->lu[i],
					  false))
				abort();
	}
}

static void cmd_check_guards(const struct fz_cmd *c)
{
	const struct scsi_cmd *cmd = &c->cmd;

	FUZZ_UNPOISON(c->base, FZ_GUARD);
	FUZZ_UNPOISON(c->base + FZ_GUARD + cmd->buf_cap, FZ_GUARD);
	for (size_t i = 0; i < FZ_GUARD; i++) {
		FUZZ_CHECK(c->base[i] == FZ_CANARY,
			   "CDB %02x wrote %zu bytes before its buffer",
			   cmd->cdb[0], FZ_GUARD - i);
		FUZZ_CHECK(c->base[FZ_GUARD + cmd->buf_cap + i] == FZ_CANARY,
			   "CDB %02x wrote past its %u-byte buffer (+%zu)",
			   cmd->cdb[0], cmd->buf_cap, i);
	}
}

static void cmd_check_outcome(const struct fz_cmd *c)
{
	const struct scsi_cmd *cmd = &c->cmd;

	if (cmd->aborted)
		return;
	FUZZ_CHECK(cmd->data_in_len <= cmd->buf_cap,
		   "CDB %02x: data_in_len %u > buf_cap %u", cmd->cdb[0],
		   cmd->data_in_len, cmd->buf_cap);
	FUZZ_CHECK(cmd->sense_len <= SCSI_SENSE_MAX, "CDB %02x: sense_len %u",
		   cmd->cdb[0], cmd->sense_len);
	FUZZ_CHECK((cmd->status == SCSI_STATUS_CHECK_CONDITION) ==
			   (cmd->sense_len > 0),
		   "CDB %02x: status %02x with %u bytes of sense", cmd->cdb[0],
		   cmd->status, cmd->sense_len);
	if (cmd->sense_len)
		FUZZ_CHECK((cmd->sense[0] & 0x7f) >= 0x70 &&
				   (cmd->sense[0] & 0x7f) <= 0x73,
			   "CDB %02x: sense response code %02x", cmd->cdb[0],
			   cmd->sense[0]);
}

/* FUZZ_SCSI_TRACE set: one line per finished command on stderr, to see
 * what a seed does (fuzz/corpus/scsi/store-* were written with it). */
static bool trace;

static void cmd_trace(const struct fz_cmd *c)
{
	const struct scsi_cmd *cmd = &c->cmd;
	const uint8_t *sn = cmd->sense;
	bool desc = cmd->sense_len && (sn[0] & 0x7f) >= 0x72;

	fprintf(stderr, "lun %llu tag %llu cdb %02x: %s status %02x",
		(unsigned long long)cmd->lun, (unsigned long long)cmd->tag,
		cmd->cdb[0], cmd->aborted ? "aborted" : "done", cmd->status);
	if (cmd->sense_len >= 14)
		fprintf(stderr, " sense %x/%02x/%02x", sn[desc ? 1 : 2] & 0xf,
			sn[desc ? 2 : 12], sn[desc ? 3 : 13]);
	fprintf(stderr, " in %u%s\n", cmd->data_in_len,
		cmd->data_in_ref ? " by reference" : "");
}

static void cmd_free(struct fz_cmd *c)
{
	struct bs_ref *ref = c->cmd.data_in_ref;

	cmd_check_guards(c);
	if (ref) {
		/* As the transport: send the bytes, then release them. */
		volatile uint8_t sum = 0;

		FUZZ_CHECK(c->cmd.data_in_ref_ok,
			   "CDB %02x: Data-In by reference unasked",
			   c->cmd.cdb[0]);
		FUZZ_CHECK(c->cmd.aborted ||
				   ref->length_bytes == c->cmd.data_in_len,
			   "CDB %02x: reference of %llu bytes for %u",
			   c->cmd.cdb[0], (unsigned long long)ref->length_bytes,
			   c->cmd.data_in_len);
		for (uint64_t i = 0; i < ref->length_bytes; i++)
			sum += ref->mem[i];
		(void)sum;
		bs_ref_release(ref);
	}
	free(c->base);
	free(c);
}

/* SAM-5 §8.6: a write accepted with its Data-Out to come holds its
 * place: an older ORDERED or HEAD OF QUEUE one holds a younger SIMPLE
 * command of its LU, any older one a younger ORDERED command, until it
 * has run (or been aborted).  c, which ran to GOOD, passed none. */
static void check_order(const struct world *w, const struct fz_cmd *c)
{
	const struct scsi_cmd *cmd = &c->cmd;

	if (cmd->aborted || cmd->status != SCSI_STATUS_GOOD ||
	    cmd->attr == SCSI_TASK_HEAD_OF_QUEUE)
		return;
	for (unsigned int i = 0; i < w->ncmds; i++) {
		const struct fz_cmd *p = w->cmds[i];

		if (!p->placed || p->seq > c->seq || p->cmd.lun != cmd->lun ||
		    p->cmd.aborted)
			continue;
		FUZZ_CHECK(cmd->attr != SCSI_TASK_ORDERED &&
				   p->cmd.attr == SCSI_TASK_SIMPLE,
			   "CDB %02x (attribute %d) ran to GOOD past an older "
			   "write (attribute %d) whose Data-Out is still to "
			   "come",
			   cmd->cdb[0], (int)cmd->attr, (int)p->cmd.attr);
	}
}

/* Drop finished commands; unfinished ones stay for a later TMF. */
static void reap(struct world *w)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < w->ncmds; i++)
		if (w->cmds[i]->done_calls)
			check_order(w, w->cmds[i]);

	for (unsigned int i = 0; i < w->ncmds; i++) {
		struct fz_cmd *c = w->cmds[i];

		cmd_check_guards(c);
		FUZZ_CHECK(!c->pending || c->done_calls == 0,
			   "CDB %02x: answered while its Data-Out is still to "
			   "come",
			   c->cmd.cdb[0]);
		if (c->done_calls) {
			if (trace)
				cmd_trace(c);
			cmd_check_outcome(c);
			cmd_free(c);
		} else {
			w->cmds[k++] = c;
		}
	}
	w->ncmds = k;
}

/* Reset every LU from both nexuses, as an initiator would before it goes
 * (or as power going would), then let the store finish what it holds. */
static void pending_exec(struct world *w, unsigned int i);
static void pending_withdraw(struct world *w, unsigned int i);
static unsigned int pending_count(const struct world *w);

static void world_quiesce(struct world *w, int store_status, bool gone)
{
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < FZ_LUS; i++)
			(void)scsi_tmf_lu_reset(w->sess[s], (uint64_t)i, NULL);
	/* Writes whose data was still to come: their connection goes (a
	 * power cycle), or their data comes in (the end of the input). */
	while (pending_count(w)) {
		if (gone)
			pending_withdraw(w, 0);
		else
			pending_exec(w, 0);
	}
	fzs_complete_all(store_status);
	st_run_timers();
	reap(w);
}

static void world_down(struct world *w)
{
	reap(w);
	FUZZ_CHECK(w->ncmds == 0,
		   "%u command(s) never completed (first CDB %02x)", w->ncmds,
		   w->cmds[0]->cmd.cdb[0]);
	FUZZ_CHECK(w->tmf_holds == 0, "%u TMF hold(s) never released",
		   w->tmf_holds);
	FUZZ_CHECK(fzs.refs_out == 0, "%u reference(s) never released",
		   fzs.refs_out);
	for (int s = 0; s < 2; s++) {
		FUZZ_CHECK(scsi_sess_busy(w->sess[s]) == 0,
			   "session %d still holds %u commands", s,
			   scsi_sess_busy(w->sess[s]));
		scsi_sess_free(w->sess[s]);
	}
	for (int i = 0; i < FZ_LUS; i++) {
		scsi_lu_free(w->lu[i]);
		bs_close(w->bs[i]);
	}
}

static void tmf_hold(void *arg)
{
	struct world *w = arg;

	w->tmf_holds++;
}

static void tmf_release(void *arg)
{
	struct world *w = arg;

	FUZZ_CHECK(w->tmf_holds > 0, "a TMF released more than it held");
	w->tmf_holds--;
}

static void run_accept(struct world *w, struct fz_in *in, uint8_t b0,
		       uint32_t tag);

static void run_tmf(struct world *w, struct fz_in *in, uint8_t b0,
		    uint32_t *cmd_tag)
{
	uint8_t fn = fz_u8(in), tag = fz_u8(in);
	struct scsi_sess *s = w->sess[(b0 >> 4) & 1];
	uint64_t lun = fz_luns[(b0 >> 5) & 3];
	const struct scsi_tmf_hook hook = {tmf_hold, tmf_release, w};
	unsigned int np = pending_count(w);

	if (b0 & 0x80) {
		fzs_record(fn, tag);
		return;
	}
	if (fn >= 0xf0) {
		if (fn < 0xf8)
			run_accept(w, in, b0, (*cmd_tag)++ & 0xff);
		else if (np && fn < 0xfc)
			pending_exec(w, tag % np);
		else if (np)
			pending_withdraw(w, tag % np);
		return;
	}
	switch (fn % 6) {
	case 0:
		(void)scsi_tmf_abort_task(s, lun, tag);
		break;
	case 1:
		(void)scsi_tmf_abort_task_set(s, lun);
		break;
	case 2:
		(void)scsi_tmf_clear_task_set(s, lun, &hook);
		break;
	case 3:
		(void)scsi_tmf_lu_reset(s, lun, &hook);
		break;
	case 4:
		(void)scsi_tmf_target_reset(s, &hook);
		break;
	case 5:
		/* Power cycle: everything but the durable state goes; what
		 * the store holds fails. */
		world_quiesce(w, -EIO, true);
		world_down(w);
		world_up(w);
		break;
	}
}

/* A command of the input: dir, and (with extra) a CDB longer than 16
 * bytes where b0 says so. */
static struct fz_cmd *cmd_new(struct world *w, struct fz_in *in, uint8_t b0,
			      uint32_t tag, enum scsi_dir dir, bool extra_ok)
{
	struct fz_cmd *c = calloc(1, sizeof(*c));
	struct scsi_cmd *cmd;
	uint32_t edtl = fz_u16(in);
	unsigned int extra = 0;

	if (!c)
		abort();
	cmd = &c->cmd;
	if (extra_ok && (b0 & 0x80))
		extra = fz_u8(in) % 17u;
	cmd->cdb_len = (uint8_t)(16 + extra);
	fz_take(in, cmd->cdb, cmd->cdb_len);
	cmd->sess = w->sess[(b0 >> 4) & 1];
	cmd->lun = fz_luns[(b0 >> 5) & 3];
	/* LU 2's store may answer reads by reference. */
	cmd->data_in_ref_ok = cmd->lun == 2;
	cmd->attr = (enum scsi_task_attr)((b0 >> 2) & 3);
	cmd->dir = dir;
	cmd->tag = tag;
	cmd->edtl = edtl;
	cmd->done = cmd_done;

	/* Like the iSCSI layer: a buffer of exactly EDTL bytes, or none. */
	c->base = malloc(FZ_GUARD * 2 + edtl);
	if (!c->base)
		abort();
	memset(c->base, FZ_CANARY, FZ_GUARD);
	memset(c->base + FZ_GUARD, FZ_POISON, edtl);
	memset(c->base + FZ_GUARD + edtl, FZ_CANARY, FZ_GUARD);
	cmd->buf = edtl ? c->base + FZ_GUARD : NULL;
	cmd->buf_cap = edtl;
	if (cmd->dir == SCSI_DIR_WRITE) {
		uint32_t n = fz_u16(in);

		cmd->data_out_len = (uint32_t)fz_take(in, c->base + FZ_GUARD,
						      n < edtl ? n : edtl);
	}
	FUZZ_POISON(c->base, FZ_GUARD);
	FUZZ_POISON(c->base + FZ_GUARD + edtl, FZ_GUARD);

	c->seq = w->seq++;
	w->cmds[w->ncmds++] = c;
	return c;
}

static void run_cmd(struct world *w, struct fz_in *in, uint8_t b0, uint32_t tag)
{
	struct fz_cmd *c =
		cmd_new(w, in, b0, tag, (enum scsi_dir)(b0 & 3), true);

	scsi_cmd_exec(&c->cmd);
}

/* The iSCSI layer's write in CmdSN order with its Data-Out to come
 * (task.c task_take_place): it takes its place now, or (refused: no
 * LU, an ACA attribute) goes to the layer as any command once its data
 * is in. */
static void run_accept(struct world *w, struct fz_in *in, uint8_t b0,
		       uint32_t tag)
{
	struct fz_cmd *c = cmd_new(w, in, b0, tag, SCSI_DIR_WRITE, false);
	struct scsi_sess *s = c->cmd.sess;
	unsigned int busy = scsi_sess_busy(s);

	c->pending = true;
	c->placed = scsi_cmd_accept(&c->cmd);
	FUZZ_CHECK(c->done_calls == 0, "CDB %02x: answered at its accept",
		   c->cmd.cdb[0]);
	FUZZ_CHECK(c->placed ==
			   (c->cmd.lun != 7 && c->cmd.attr != SCSI_TASK_ACA),
		   "lun %llu attr %d: scsi_cmd_accept() said %d",
		   (unsigned long long)c->cmd.lun, (int)c->cmd.attr, c->placed);
	/* an accepted command is counted in its session as a running one */
	FUZZ_CHECK(scsi_sess_busy(s) == busy + (c->placed ? 1u : 0u),
		   "accept: session busy %u -> %u", busy, scsi_sess_busy(s));
}

static unsigned int pending_count(const struct world *w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < w->ncmds; i++)
		n += w->cmds[i]->pending;
	return n;
}

/* The index in w->cmds of pending command i (in input order). */
static unsigned int pending_at(const struct world *w, unsigned int i)
{
	for (unsigned int k = 0; k < w->ncmds; k++)
		if (w->cmds[k]->pending && i-- == 0)
			return k;
	FUZZ_CHECK(0, "no pending command %u", i);
	return 0;
}

/* Its data is in: it goes on from its place (or, not placed, is sent
 * to the layer now). */
static void pending_exec(struct world *w, unsigned int i)
{
	struct fz_cmd *c = w->cmds[pending_at(w, i)];

	c->pending = false;
	c->placed = false;
	scsi_cmd_exec(&c->cmd);
}

/* Commands of s answered so far (not yet reaped). */
static unsigned int sess_done(const struct world *w, const struct scsi_sess *s)
{
	unsigned int n = 0;

	for (unsigned int j = 0; j < w->ncmds; j++)
		n += w->cmds[j]->cmd.sess == s && w->cmds[j]->done_calls;
	return n;
}

/* It ends before it ran: it lets go of its place; the transport answers
 * it (or not), the layer never does. */
static void pending_withdraw(struct world *w, unsigned int i)
{
	unsigned int k = pending_at(w, i);
	struct fz_cmd *c = w->cmds[k];
	struct scsi_sess *s = c->cmd.sess;
	unsigned int busy = scsi_sess_busy(s), ended = sess_done(w, s);

	if (c->placed)
		scsi_cmd_withdraw(&c->cmd);
	FUZZ_CHECK(c->done_calls == 0, "CDB %02x: answered at its withdrawal",
		   c->cmd.cdb[0]);
	/* the commands it held may run now, and end (mem completes in
	 * bs_submit): those of its session leave its count too */
	ended = sess_done(w, s) - ended;
	FUZZ_CHECK(scsi_sess_busy(s) == busy - (c->placed ? 1u : 0u) - ended,
		   "withdraw: session busy %u -> %u (%u ended)", busy,
		   scsi_sess_busy(s), ended);
	memmove(&w->cmds[k], &w->cmds[k + 1],
		(w->ncmds - k - 1) * sizeof(w->cmds[0]));
	w->ncmds--;
	cmd_free(c);
}

int harness_one(const uint8_t *data, size_t len)
{
	struct fz_in in = {data, len, 0};
	struct world w;
	uint32_t tag = 0;
	unsigned int records = 0;

	memset(&w, 0, sizeof(w));
	memset(&fzs, 0, sizeof(fzs));
	trace = getenv("FUZZ_SCSI_TRACE") != NULL;
	state.len = -ENOENT;
	state.key[0] = '\0';
	rnd = 0x5eed;
	memset(st_timers, 0, sizeof(st_timers));
	world_up(&w);
	while (fz_left(&in) && w.ncmds < FZ_MAX_CMDS &&
	       records++ < FZ_MAX_RECORDS) {
		uint8_t b0 = fz_u8(&in);

		if ((b0 & 3) == 3)
			run_tmf(&w, &in, b0, &tag);
		else
			run_cmd(&w, &in, b0, tag++ & 0xff);
		st_run_timers();
		reap(&w);
	}
	/* Whatever still waits gets a LU reset, as an initiator would. */
	if (w.ncmds)
		world_quiesce(&w, 0, false);
	world_down(&w);
	return 0;
}
