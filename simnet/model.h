/*
 * model.h — the reference model of a LUN's contents, the oracle every
 * read is checked against.
 *
 * Each block is a register written with "values" (64-bit ids; the block's
 * bytes are generated from the id and the LBA, so a read names the value it
 * returned).  The model keeps, per block, the writes that a read might
 * still observe, each with its interval in model time (a counter bumped at
 * every submit and every acknowledgement):
 *
 *   a read [rs, re] may return write X if X was submitted before re and
 *   no write Y acknowledged before rs began after X was acknowledged;
 *   it may return the block's base value if no write was acknowledged
 *   before rs.
 *
 * Writes with an unknown fate never acknowledge: they stay possible;
 * those whose fate is bounded (an error answer, a TMF's FUNCTION
 * COMPLETE) stay possible until a write submitted after the bound is
 * acknowledged.  Durability (FUA, SYNCHRONIZE
 * CACHE, write cache off) decides what a crash may keep: a block whose
 * candidates are all durable keeps them; any other block may be lost,
 * kept or torn and becomes ANY until written again.
 */
#ifndef UT_SIM_MODEL_H
#define UT_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_ANY UINT64_MAX   /* base: contents unknown (after a crash) */
#define MODEL_NEVER UINT64_MAX /* ack time of a write of unknown fate */

struct model;
struct model_write; /* one block's record, opaque */

struct model *model_new(uint64_t blocks, uint32_t block_size);
void model_free(struct model *m);
uint64_t model_blocks(const struct model *m);
/* The LUN was resized (live reconfiguration): blocks past a shrink are
 * out of range; blocks a grow adds read as zeros. */
void model_resize(struct model *m, uint64_t blocks);
uint32_t model_block_size(const struct model *m);

/* Model clock: call once per submit or completion and keep the stamp. */
uint64_t model_tick(struct model *m);

/* A write of `count` blocks from lba with values vids[i] submitted at
 * stamp; returns a handle to finish it with. */
uint64_t model_write_begin(struct model *m, uint64_t lba, uint32_t count,
			   const uint64_t *vids, uint64_t stamp);
/* outcome: 0 acknowledged GOOD, 1 not applied (a definite error),
 * 2 unknown (may or may not have been applied, at any time),
 * MODEL_BOUNDED: applied before `stamp` or never -- a write answered
 * with an error of unknown effect (its answer ends it), or ended by a
 * task management function answered FUNCTION COMPLETE (SAM-5 §7: an
 * aborted command changes nothing after that response). */
#define MODEL_BOUNDED 3
void model_write_end(struct model *m, uint64_t handle, int outcome,
		     bool durable, uint64_t stamp);
/* SYNCHRONIZE CACHE submitted at `since` completed GOOD: every write
 * acknowledged before `since` is durable. */
void model_flush(struct model *m, uint64_t since);
/* Write cache off: every acknowledged write is durable. */
void model_set_write_through(struct model *m, bool on);
/* Target crash. */
void model_crash(struct model *m);
/* Every block reads zeros from now on (a RAM disk after a crash). */
void model_wipe(struct model *m);
/* on: writes never change what reads return (a null backstore): the
 * model records them as zeros. */
void model_set_discard(struct model *m, bool on);

/* Reads in flight keep what they may see from being pruned. */
void model_read_begin(struct model *m, uint64_t stamp);
void model_read_end(struct model *m, uint64_t stamp);

/* Check one block read over [rs, re] that returned value vid (decoded from
 * the bytes).  Returns true if allowed; else writes an explanation. */
bool model_check_read(struct model *m, uint64_t lba, uint64_t vid, uint64_t rs,
		      uint64_t re, char *why, size_t cap);

/* Block data for a value id (0 = zeros); and back.  A block whose bytes
 * are no value's (torn, corrupt, wrong LBA) decodes to false. */
void model_fill(uint64_t vid, uint64_t lba, uint8_t *buf, uint32_t bs);
bool model_decode(const uint8_t *buf, uint64_t lba, uint32_t bs, uint64_t *vid);
/* Value id for a pattern name ("v1", "old") or a fill ("0xab", "zero"). */
uint64_t model_vid(const char *name);

#endif
