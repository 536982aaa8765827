/*
 * h_scsi.c — CDBs and parameter data straight into the SCSI layer.
 *
 * The world: two small mem LUs (LU 0: 256 KiB of 512-byte blocks, thin;
 * LU 1: 256 KiB of 4096-byte blocks) mapped into two sessions (two I_T
 * nexuses, so reservations and unit attentions have someone to conflict
 * with), over a stub environment whose durable state store lives in memory
 * for the length of one input (APTPL survives a "power cycle" record).
 *
 * Input: records, until the input runs out (at most FZ_MAX_CMDS):
 *
 *   byte 0   bits 0-1  direction: 0 none, 1 read, 2 write,
 *                      3 = not a command: task management / power cycle
 *            bits 2-3  task attribute
 *            bit  4    session 0 or 1
 *            bits 5-6  LUN: 0, 1, 7 (not mapped), or 0
 *            bit  7    CDB longer than 16 bytes (one length byte follows)
 *   bytes 1-2  EDTL, big endian (the buffer the transport would allocate)
 *   [1 byte    extra CDB bytes 0..16, if bit 7]
 *   16+extra   CDB
 *   if write:  2 bytes data-out length, then that many bytes
 *
 *   direction 3: byte 1 = function (abort task / task set / clear task set /
 *   LU reset / target reset / power cycle), byte 2 = tag of the target task.
 *
 * Checks after every command, beyond what ASan and UBSan see: guard bytes
 * on both sides of the data buffer are intact (and ASan-poisoned, so even
 * a read of them is reported), data_in_len <= buf_cap, sense_len <= 252,
 * CHECK CONDITION if and only if there is sense data, done() exactly once,
 * and no command left unfinished when the input ends.
 */
#include <errno.h>
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

/* ------------------------------------------------------- the world */

struct fz_cmd {
	struct scsi_cmd cmd;
	uint8_t *base; /* guard | buf_cap bytes | guard */
	unsigned int done_calls;
};

struct world {
	struct bs_dev *bs[2];
	struct scsi_lu *lu[2];
	struct scsi_sess *sess[2];
	struct fz_cmd *cmds[FZ_MAX_CMDS];
	unsigned int ncmds;
};

static void cmd_done(struct scsi_cmd *cmd)
{
	struct fz_cmd *c = (struct fz_cmd *)cmd;

	c->done_calls++;
	FUZZ_CHECK(c->done_calls == 1, "done() called %u times", c->done_calls);
}

static void world_up(struct world *w)
{
	static const uint32_t bsz[2] = {512, 4096};

	for (int i = 0; i < 2; i++) {
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
		if (bs_mem_open(&p, &w->bs[i]) != 0)
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
		for (int i = 0; i < 2; i++)
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

static void cmd_free(struct fz_cmd *c)
{
	cmd_check_guards(c);
	free(c->base);
	free(c);
}

/* Drop finished commands; unfinished ones stay for a later TMF. */
static void reap(struct world *w)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < w->ncmds; i++) {
		struct fz_cmd *c = w->cmds[i];

		cmd_check_guards(c);
		if (c->done_calls) {
			cmd_check_outcome(c);
			cmd_free(c);
		} else {
			w->cmds[k++] = c;
		}
	}
	w->ncmds = k;
}

static void world_down(struct world *w)
{
	reap(w);
	FUZZ_CHECK(w->ncmds == 0,
		   "%u command(s) never completed (first CDB %02x)", w->ncmds,
		   w->cmds[0]->cmd.cdb[0]);
	for (int s = 0; s < 2; s++) {
		FUZZ_CHECK(scsi_sess_busy(w->sess[s]) == 0,
			   "session %d still holds %u commands", s,
			   scsi_sess_busy(w->sess[s]));
		scsi_sess_free(w->sess[s]);
	}
	for (int i = 0; i < 2; i++) {
		scsi_lu_free(w->lu[i]);
		bs_close(w->bs[i]);
	}
}

static void run_tmf(struct world *w, struct fz_in *in, uint8_t b0)
{
	uint8_t fn = fz_u8(in), tag = fz_u8(in);
	struct scsi_sess *s = w->sess[(b0 >> 4) & 1];
	uint64_t lun = (b0 >> 5) & 1;

	switch (fn % 6) {
	case 0:
		(void)scsi_tmf_abort_task(s, lun, tag);
		break;
	case 1:
		(void)scsi_tmf_abort_task_set(s, lun);
		break;
	case 2:
		(void)scsi_tmf_clear_task_set(s, lun, NULL);
		break;
	case 3:
		(void)scsi_tmf_lu_reset(s, lun, NULL);
		break;
	case 4:
		(void)scsi_tmf_target_reset(s, NULL);
		break;
	case 5:
		/* Power cycle: everything but the durable state goes. */
		for (int i = 0; i < 2; i++) {
			(void)scsi_tmf_lu_reset(w->sess[i], 0, NULL);
			(void)scsi_tmf_lu_reset(w->sess[i], 1, NULL);
		}
		world_down(w);
		world_up(w);
		break;
	}
}

static void run_cmd(struct world *w, struct fz_in *in, uint8_t b0, uint32_t tag)
{
	static const uint64_t luns[4] = {0, 1, 7, 0};
	struct fz_cmd *c = calloc(1, sizeof(*c));
	struct scsi_cmd *cmd;
	uint32_t edtl = fz_u16(in);
	unsigned int extra = 0;

	if (!c)
		abort();
	cmd = &c->cmd;
	if (b0 & 0x80)
		extra = fz_u8(in) % 17u;
	cmd->cdb_len = (uint8_t)(16 + extra);
	fz_take(in, cmd->cdb, cmd->cdb_len);
	cmd->sess = w->sess[(b0 >> 4) & 1];
	cmd->lun = luns[(b0 >> 5) & 3];
	cmd->attr = (enum scsi_task_attr)((b0 >> 2) & 3);
	cmd->dir = (enum scsi_dir)(b0 & 3);
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

	w->cmds[w->ncmds++] = c;
	scsi_cmd_exec(cmd);
}

int harness_one(const uint8_t *data, size_t len)
{
	struct fz_in in = {data, len, 0};
	struct world w;
	uint32_t tag = 0;
	unsigned int records = 0;

	memset(&w, 0, sizeof(w));
	state.len = -ENOENT;
	state.key[0] = '\0';
	rnd = 0x5eed;
	memset(st_timers, 0, sizeof(st_timers));
	world_up(&w);
	while (fz_left(&in) && w.ncmds < FZ_MAX_CMDS &&
	       records++ < FZ_MAX_RECORDS) {
		uint8_t b0 = fz_u8(&in);

		if ((b0 & 3) == 3)
			run_tmf(&w, &in, b0);
		else
			run_cmd(&w, &in, b0, tag++ & 0xff);
		st_run_timers();
		reap(&w);
	}
	/* Whatever still waits gets a LU reset, as an initiator would. */
	if (w.ncmds) {
		for (int s = 0; s < 2; s++) {
			(void)scsi_tmf_lu_reset(w.sess[s], 0, NULL);
			(void)scsi_tmf_lu_reset(w.sess[s], 1, NULL);
		}
	}
	world_down(&w);
	return 0;
}
