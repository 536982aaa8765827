/*
 * sbc_sanitize.c — SANITIZE (SBC-4 §5.30, §4.11).
 *
 * A sanitize operation belongs to the logical unit, not to the command
 * that started it:
 *
 *   idle --SANITIZE--> running --last chunk--> idle
 *                         |  \--backstore error--> idle, failure mode
 *                         |
 *   IMMED=1: the command ends GOOD at once; IMMED=0: it ends when the
 *   operation does.  A task management function aborts the command but
 *   not the operation (§4.11.1: "a sanitize operation ... shall continue
 *   after a logical unit reset, I_T nexus loss, ...").
 *
 * While it runs, every command but INQUIRY, REPORT LUNS and REQUEST SENSE
 * ends with NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS
 * (§4.11.2), and REQUEST SENSE reports that condition with the progress
 * indication in the sense-key specific field.  After a failed operation
 * the LU is in failure mode: medium access gets MEDIUM ERROR, SANITIZE
 * COMMAND FAILED until a SANITIZE completes (EXIT FAILURE MODE included).
 *
 * The work goes through the backstore one chunk at a time, each chunk
 * started from a timer so that a large LU never holds the reactor and a
 * synchronous backstore never recurses.  OVERWRITE is paced at the LU's
 * sanitize_bytes_per_s (the device's sanitize_rate, --sanitize-rate;
 * 0 = as fast as the backstore) so that the other LUs keep their
 * bandwidth.  The pace is a schedule, not a pause: chunk k may start once
 * k chunks' worth of time has passed since the start, so the time the
 * backstore takes is part of each chunk's interval, not added to it (a
 * pause after every completion made the rate 1 / (1 / pace + write time
 * per byte), well below the pace on a slow disk).  BLOCK ERASE and
 * CRYPTOGRAPHIC ERASE deallocate (thin) or write zeros, unpaced.
 */
#include <errno.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"
#include "ut_assert.h"

#define SA_OVERWRITE 0x01
#define SA_BLOCK_ERASE 0x02
#define SA_CRYPTO_ERASE 0x03
#define SA_EXIT_FAILURE_MODE 0x1f

#define SAN_CHUNK_BYTES (1u << 20)	  /* one OVERWRITE request */
#define SAN_ERASE_CHUNK_BYTES (64u << 20) /* one UNMAP/zero request */
#define SAN_MAX_PASSES 31u		  /* OVERWRITE COUNT is 5 bits */

static void san_arm(struct scsi_lu *lu, uint64_t delay_ns)
{
	/* The next chunk of a running operation, none in flight. */
	ut_assert(lu->san.timer != NULL);
	ut_assert(lu->san.active && !lu->san.in_io);
	env_timer_arm(lu->env, lu->san.timer, env_now_ns(lu->env) + delay_ns);
}

/* When the next OVERWRITE chunk may start: paced_bytes at the LU's pace
 * after the start (128-bit: 31 passes over an exabyte times 10^9). */
static uint64_t san_due_ns(const struct scsi_lu *lu)
{
	const struct scsi_sanitize *z = &lu->san;
	unsigned __int128 ns = (unsigned __int128)z->paced_bytes * 1000000000u /
			       lu->sanitize_bytes_per_s;

	ut_assert(lu->sanitize_bytes_per_s > 0);
	if (ns > UINT64_MAX - z->start_ns)
		return UINT64_MAX;
	return z->start_ns + (uint64_t)ns;
}

static void san_finish(struct scsi_lu *lu, int status)
{
	struct scsi_sanitize *z = &lu->san;
	struct scsi_cmd *w;

	/* It ends between chunks, on the LU's reactor. */
	ut_assert(z->active);
	ut_assert(!z->in_io);
	scsi_lu_lock(lu);
	w = z->waiter;
	z->waiter = NULL;
	z->active = false;
	z->failed = status != 0;
	scsi_lu_unlock(lu);
	free(z->buf);
	z->buf = NULL;
	LOG_INFO(lu->env, "scsi: %s: sanitize %s after %llu ms (%llu MiB)",
		 lu->name, status ? "failed" : "complete",
		 (unsigned long long)((env_now_ns(lu->env) - z->start_ns) /
				      1000000u),
		 (unsigned long long)(z->done_blocks * lu->bs->block_size >>
				      20));
	if (!w)
		return;
	if (status)
		scsi_fail(w, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
	scsi_cmd_complete_from(w, lu->env);
}

static void san_io_done(struct bs_req *req, int status)
{
	struct scsi_lu *lu = req->caller;
	struct scsi_sanitize *z = &lu->san;

	ut_assert(req == &z->req);
	ut_assert(z->in_io && z->active);
	z->in_io = false;
	if (status) {
		san_finish(lu, status);
		return;
	}
	if (z->sa != SA_OVERWRITE || lu->sanitize_bytes_per_s == 0) {
		san_arm(lu, 0);
		return;
	}
	z->paced_bytes += req->length_bytes;
	/* A due time already past starts the chunk at once. */
	env_timer_arm(lu->env, z->timer, san_due_ns(lu));
}

/* SBC-4 §5.30.3: INVERT inverts the pattern between passes. */
static void san_next_pass(struct scsi_sanitize *z)
{
	ut_assert(z->passes_left > 0);
	ut_assert(z->lba > 0); /* a pass ends after its last chunk */
	z->lba = 0;
	z->passes_left--;
	if (z->invert && z->buf) {
		for (uint32_t i = 0; i < z->buf_len; i++)
			z->buf[i] = (uint8_t)~z->buf[i];
	}
}

/* Timer: submit the next chunk, or finish. */
static void san_step(void *arg)
{
	struct scsi_lu *lu = arg;
	struct scsi_sanitize *z = &lu->san;
	uint32_t bs = lu->bs->block_size;
	struct bs_req *r = &z->req;
	uint64_t chunk_blocks, n;

	/* One request at a time, only while the operation runs. */
	ut_assert(z->active && !z->in_io);
	if (__atomic_load_n(&lu->cancel_sanitize, __ATOMIC_RELAXED)) {
		san_finish(lu, -ECANCELED); /* the LU is going (lu_live.c) */
		return;
	}
	/* The LU may have shrunk under a running sanitize (lu_live.c): the
	 * pass ends at the new end. */
	if (z->lba > lu->nblocks)
		z->lba = lu->nblocks;
	/* An LU of no blocks (a file shorter than one) has nothing to
	 * sanitize: done at once. */
	if (z->lba == lu->nblocks && lu->nblocks != 0)
		san_next_pass(z);
	if (z->passes_left == 0 || lu->nblocks == 0) {
		san_finish(lu, 0);
		return;
	}
	chunk_blocks =
		(z->sa == SA_OVERWRITE ? z->buf_len : SAN_ERASE_CHUNK_BYTES) /
		bs;
	n = lu->nblocks - z->lba;
	if (n > chunk_blocks)
		n = chunk_blocks;
	ut_assert(n > 0); /* an empty LU has no pass to run */
	ut_assert(z->sa != SA_OVERWRITE || n * bs <= z->buf_len);
	memset(r, 0, sizeof(*r));
	r->offset_bytes = z->lba * bs;
	r->length_bytes = n * bs;
	r->done = san_io_done;
	r->caller = lu;
	/* Every pass durable, whatever WCE says: a sanitize that a power
	 * loss after its GOOD could undo would leave the data it was to
	 * destroy readable (SBC-4 §4.11: the cache is sanitized too). */
	r->flags = BS_F_FUA;
	if (z->sa == SA_OVERWRITE) {
		r->op = BS_OP_WRITE;
		z->iov.iov_base = z->buf;
		z->iov.iov_len = r->length_bytes;
		r->iov = &z->iov;
		r->iovcnt = 1;
	} else {
		r->op = lu->thin ? BS_OP_UNMAP : BS_OP_WRITE_ZEROES;
	}
	z->lba += n;
	z->done_blocks += n;
	ut_assert(z->done_blocks <= z->total_blocks);
	z->in_io = true;
	bs_submit(lu->bs, r);
}

/* SBC-4 §5.30.2: byte 1 bit 6 and bytes 2..6 are reserved. */
static bool san_check_cdb(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;

	ut_assert(cdb[0] == 0x48);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	if (cdb[1] & 0x40) {
		scsi_fail_cdb(cmd, 1, 6);
		return false;
	}
	for (uint16_t i = 2; i <= 6; i++) {
		if (cdb[i]) {
			scsi_fail_cdb(cmd, i, -1);
			return false;
		}
	}
	return true;
}

/*
 * OVERWRITE parameter list (SBC-4 §5.30.3.2): byte 0 INVERT (7), TEST
 * (6:5), OVERWRITE COUNT (4:0, not 0); bytes 2..3 INITIALIZATION PATTERN
 * LENGTH (1..block length, and within the list); then the pattern.  The
 * list itself is 5 .. block length + 4 bytes (an invalid CDB otherwise).
 * Only checked here, on the command's reactor: the LU's sanitize state
 * takes the list in san_start, once the operation is this command's (a
 * SANITIZE that will be refused there must not touch a running one).
 */
static bool san_check_overwrite(struct scsi_cmd *cmd, uint16_t plen)
{
	uint32_t bs = cmd->lu->bs->block_size;
	const uint8_t *p = cmd->buf;
	uint16_t ilen;

	if (plen < 5 || plen > bs + 4) {
		scsi_fail_cdb(cmd, 7, -1);
		return false;
	}
	if (!sbc_have_data_out(cmd, plen))
		return false;
	ilen = get_be16(p + 2);
	if ((p[0] & 0x1f) == 0 || (p[0] & 0x60)) {
		scsi_fail_param(cmd, 0, (p[0] & 0x1f) == 0 ? 4 : 6);
		return false;
	}
	if (ilen == 0 || ilen > bs || ilen > plen - 4u) {
		scsi_fail_param(cmd, 2, -1);
		return false;
	}
	ut_assert((p[0] & 0x1f) >= 1 && (p[0] & 0x1f) <= SAN_MAX_PASSES);
	ut_assert(4u + ilen <= plen);
	return true;
}

/* The checked OVERWRITE list (san_check_overwrite) into the LU's state. */
static void san_take_overwrite(struct scsi_cmd *cmd)
{
	struct scsi_sanitize *z = &cmd->lu->san;
	const uint8_t *p = cmd->buf;

	ut_assert(z->active && cmd->buf != NULL);
	z->invert = p[0] & 0x80;
	z->passes_left = p[0] & 0x1f;
	z->pattern_len = get_be16(p + 2);
	ut_assert(z->passes_left >= 1 && z->passes_left <= SAN_MAX_PASSES);
}

/* Fill the chunk buffer: the pattern repeated within every block. */
static bool san_fill(struct scsi_cmd *cmd)
{
	struct scsi_sanitize *z = &cmd->lu->san;
	uint32_t bs = cmd->lu->bs->block_size;

	ut_assert(z->buf == NULL); /* san_finish freed the last one */
	ut_assert(z->pattern_len >= 1 && z->pattern_len <= bs);
	z->buf_len = SAN_CHUNK_BYTES < bs ? bs : SAN_CHUNK_BYTES;
	z->buf = malloc(z->buf_len);
	if (!z->buf) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return false;
	}
	for (uint32_t i = 0; i < z->buf_len; i++)
		z->buf[i] = cmd->buf[4 + (i % bs) % z->pattern_len];
	return true;
}

/* Has cmd been aborted, or its nexus lost, by now?  (The LU lock held:
 * a TMF marks under it, and san_nexus_loss() looks for the waiter under
 * it after marking the session.)  A lost nexus aborts the command. */
static bool san_cmd_gone(struct scsi_cmd *cmd)
{
	ut_assert(cmd->cdb[0] == 0x48);
	if (__atomic_load_n(&cmd->sess->nexus_lost, __ATOMIC_SEQ_CST))
		scsi_cmd_set_aborted(cmd);
	return scsi_cmd_aborted(cmd);
}

static enum scsi_rc san_start(struct scsi_cmd *cmd, uint8_t sa)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_sanitize *z = &lu->san;
	bool running, gone;

	ut_assert(sa == SA_OVERWRITE || sa == SA_BLOCK_ERASE ||
		  sa == SA_CRYPTO_ERASE);
	if (!z->timer)
		z->timer = env_timer_new(lu->env, san_step, lu);
	if (!z->timer) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	/* The dispatcher refused SANITIZE while one runs, but two sessions
	 * of other reactors may both have passed it before either posted
	 * here: the second is refused now, as it would have been there
	 * (before, it took over the first one's buffer and waiter). */
	scsi_lu_lock(lu);
	running = z->active;
	/* Aborted by a TMF, or its connection gone, while it travelled to
	 * the LU's reactor: it ends aborted and starts nothing (SAM-5 §7.1:
	 * no aborted command changes the medium after the TMF's answer). */
	gone = !running && san_cmd_gone(cmd);
	if (!running && !gone)
		z->active = true;
	scsi_lu_unlock(lu);
	if (gone)
		return SCSI_RC_DONE;
	if (running) {
		scsi_fail(cmd, SK_NOT_READY, ASC_SANITIZE_IN_PROGRESS);
		return SCSI_RC_DONE;
	}
	ut_assert(!z->in_io && z->waiter == NULL);
	if (sa == SA_OVERWRITE)
		san_take_overwrite(cmd);
	if (sa == SA_OVERWRITE && !san_fill(cmd)) {
		scsi_lu_lock(lu);
		z->active = false;
		scsi_lu_unlock(lu);
		return SCSI_RC_DONE;
	}
	z->sa = sa;
	z->lba = 0;
	z->done_blocks = 0;
	z->paced_bytes = 0;
	z->start_ns = env_now_ns(lu->env);
	if (sa != SA_OVERWRITE)
		z->passes_left = 1;
	z->total_blocks = lu->nblocks * z->passes_left;
	if (sa == SA_OVERWRITE && lu->sanitize_bytes_per_s)
		LOG_INFO(
			lu->env,
			"scsi: %s: sanitize (service action %02xh) started: "
			"%u pass(es) of %llu MiB at %llu MiB/s",
			lu->name, sa, z->passes_left,
			(unsigned long long)(lu->nblocks * lu->bs->block_size >>
					     20),
			(unsigned long long)(lu->sanitize_bytes_per_s >> 20));
	else
		LOG_INFO(lu->env,
			 "scsi: %s: sanitize (service action %02xh) started",
			 lu->name, sa);
	san_arm(lu, 0);
	if (cmd->cdb[1] & 0x80) /* IMMED */
		return SCSI_RC_DONE;
	/* Wait for the operation, unless a TMF or the loss of the nexus
	 * came since the check above: they looked for a waiter already
	 * (scsi_sanitize_tmf, scsi_sanitize_nexus_loss), so the command would hold
	 * its session until the operation ends.  It ends now, aborted; the
	 * operation runs on (SBC-4 §4.11.1). */
	scsi_lu_lock(lu);
	ut_assert(z->waiter == NULL);
	gone = san_cmd_gone(cmd);
	if (!gone)
		z->waiter = cmd;
	scsi_lu_unlock(lu);
	return gone ? SCSI_RC_DONE : SCSI_RC_ASYNC;
}

/* The operation runs on the LU's reactor, whoever asked for it. */
static void san_start_posted(void *arg)
{
	struct scsi_cmd *cmd = arg;

	if (san_start(cmd, cmd->cdb[1] & 0x1f) == SCSI_RC_DONE)
		scsi_cmd_complete_from(cmd, cmd->lu->env);
}

static enum scsi_rc san_start_on_lu(struct scsi_cmd *cmd, uint8_t sa)
{
	if (cmd->sess->env != cmd->lu->env &&
	    env_post(cmd->lu->env, san_start_posted, cmd) == 0)
		return SCSI_RC_ASYNC;
	return san_start(cmd, sa);
}

enum scsi_rc sbc_sanitize(struct scsi_cmd *cmd)
{
	uint8_t sa = cmd->cdb[1] & 0x1f;
	uint16_t plen = get_be16(cmd->cdb + 7);

	if (!san_check_cdb(cmd))
		return SCSI_RC_DONE;
	if (sa != SA_OVERWRITE && sa != SA_BLOCK_ERASE &&
	    sa != SA_CRYPTO_ERASE && sa != SA_EXIT_FAILURE_MODE) {
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	/* Only OVERWRITE has a parameter list (§5.30.3.1). */
	if (sa != SA_OVERWRITE && plen) {
		scsi_fail_cdb(cmd, 7, -1);
		return SCSI_RC_DONE;
	}
	if (sa == SA_BLOCK_ERASE && !cmd->lu->thin) {
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	if (sa == SA_OVERWRITE && !san_check_overwrite(cmd, plen))
		return SCSI_RC_DONE;
	if (sa == SA_EXIT_FAILURE_MODE) {
		cmd->lu->san.failed = false;
		return SCSI_RC_DONE;
	}
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	ut_assert(sa != SA_BLOCK_ERASE || cmd->lu->thin);
	return san_start_on_lu(cmd, sa);
}

/* SBC-4 §4.11.2 and §4.11.3: what a running or failed sanitize does to
 * other commands.  True (sense set) if cmd must not run. */
bool scsi_sanitize_refuses(struct scsi_cmd *cmd, uint8_t flags)
{
	const struct scsi_sanitize *z = &cmd->lu->san;

	ut_assert(cmd->itl != NULL && cmd->itl->lu == cmd->lu);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	if (flags & SCSI_CMD_NO_LU) /* INQUIRY, REPORT LUNS, REQ SENSE */
		return false;
	if (z->active) {
		scsi_fail(cmd, SK_NOT_READY, ASC_SANITIZE_IN_PROGRESS);
		return true;
	}
	if (z->failed && (flags & SCSI_CMD_MEDIUM) && cmd->cdb[0] != 0x48) {
		scsi_fail(cmd, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
		return true;
	}
	return false;
}

/* Progress indication (SPC-4 §4.5.2.4.4): the fraction done, of 65536. */
bool scsi_sanitize_progress(const struct scsi_lu *lu, uint8_t sks[3])
{
	const struct scsi_sanitize *z = &lu->san;
	uint64_t frac;

	if (!z->active)
		return false;
	ut_assert(z->done_blocks <= z->total_blocks);
	ut_assert(z->passes_left <= SAN_MAX_PASSES);
	frac = z->total_blocks ? z->done_blocks * 65536 / z->total_blocks : 0;
	if (frac > 0xffff)
		frac = 0xffff;
	sks[0] = 0x80;
	sks[1] = (uint8_t)(frac >> 8);
	sks[2] = (uint8_t)frac;
	return true;
}

/* A TMF aborted the waiting command: it ends now, the operation runs on. */
void scsi_sanitize_tmf(struct scsi_lu *lu, struct env *here)
{
	struct scsi_cmd *w;

	scsi_lu_lock(lu);
	w = lu->san.waiter;
	/* Only an IMMED=0 SANITIZE of this LU waits for its operation. */
	ut_assert(w == NULL || (w->lu == lu && w->cdb[0] == 0x48));
	ut_assert(w == NULL || lu->san.active);
	if (w && scsi_cmd_aborted(w))
		lu->san.waiter = NULL;
	else
		w = NULL;
	scsi_lu_unlock(lu);
	if (w)
		scsi_cmd_complete_from(w, here);
}

/* The nexus of the waiting command is gone: it ends now, aborted. */
void scsi_sanitize_nexus_loss(struct scsi_lu *lu, const struct scsi_sess *s)
{
	struct scsi_cmd *w;

	scsi_lu_lock(lu);
	w = lu->san.waiter;
	if (w && w->sess == s) {
		lu->san.waiter = NULL;
		scsi_cmd_set_aborted(w);
	} else {
		w = NULL;
	}
	scsi_lu_unlock(lu);
	if (w)
		scsi_cmd_complete_from(w, s->env);
}

void scsi_sanitize_free(struct scsi_lu *lu)
{
	struct scsi_sanitize *z = &lu->san;

	/* No command waits for the operation of an LU that goes away. */
	ut_assert(z->waiter == NULL);
	if (z->timer) {
		env_timer_cancel(lu->env, z->timer);
		env_timer_free(lu->env, z->timer);
	}
	free(z->buf);
	z->buf = NULL;
	z->timer = NULL;
}
