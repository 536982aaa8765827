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
/* A write whose value is not known yet (ORWRITE, EXTENDED COPY: it
 * depends on what the target read): any read may return anything while
 * it is listed, until model_write_set_alts() names its values. */
#define MODEL_WILD (UINT64_MAX - 1)

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
/* The same for blocks [lba, lba + count) only (count 0: to the end), as
 * a SYNCHRONIZE CACHE of a range promises (SBC-4 §5.24). */
void model_flush_range(struct model *m, uint64_t since, uint64_t lba,
		       uint64_t count);
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

/* The values a read of lba over [rs, re] may return, as model_check_read
 * allows them; entries of write `skip` (0: none) left out.  Returns how
 * many (at most max), or -1 if any value is possible (after a crash, a
 * MODEL_WILD write) or there are more than max. */
int model_candidates(struct model *m, uint64_t lba, uint64_t rs, uint64_t re,
		     uint64_t skip, uint64_t *out, int max);
/* Replace the MODEL_WILD record of write `handle` at lba by n records of
 * the same write, one per value it may have written there. */
void model_write_set_alts(struct model *m, uint64_t handle, uint64_t lba,
			  const uint64_t *vals, int n);
/* No write but `handle` to [lba, lba+count) may have landed during
 * [rs, re]: none submitted by re that was in flight, or of unknown fate,
 * at rs or later. */
bool model_range_quiet(struct model *m, uint64_t lba, uint32_t count,
		       uint64_t handle, uint64_t rs, uint64_t re);

/* WRITE ATOMIC atomicity against a read (SBC-4 §5.48: all or nothing,
 * for reads too): what value vid, read at lba over [rs, re], says of
 * write `handle` (an atomic one over lba): 1 it is that write's own (no
 * other record or base explains it), -1 it is a value that write
 * overwrote (every explanation is the base or a write acknowledged
 * before that write was submitted), 0 neither for certain (a later or
 * concurrent write, a crash, a WILD value).  A read with a block of 1
 * and one of -1 for the same write saw part of it. */
int model_atomic_side(struct model *m, uint64_t lba, uint64_t vid, uint64_t rs,
		      uint64_t re, uint64_t handle);
/* The start stamp of the oldest read in flight (the clock if none). */
uint64_t model_horizon(const struct model *m);

/* COMPARE AND WRITE atomicity (SBC-4 §5.3): a successful compare of
 * value vid at lba consumes one "period" of vid there; the block can
 * hold vid again only if vid is written again.  model_caw_watch() when
 * the command is sent starts counting the supply of vid at lba (what the
 * block may hold now or in flight, plus every later write of vid);
 * model_caw_consume() when it succeeds returns false if more compares of
 * vid succeeded there than vid was ever supplied: two COMPARE AND WRITEs
 * that both won on one value. */
void model_caw_watch(struct model *m, uint64_t lba, uint64_t vid);
bool model_caw_consume(struct model *m, uint64_t lba, uint64_t vid);

/* Values a command derives from others: vid as written at origin, moved
 * to lba (EXTENDED COPY), with or_byte ORed into every byte (ORWRITE).
 * vid is an id of model `from` (the source LU's; m itself for ORWRITE).
 * Fills, zeros and unmoved values stay plain ids; others get an id of
 * the model's own (model_fill_m/model_decode_m know them). */
uint64_t model_derive(struct model *m, const struct model *from, uint64_t vid,
		      uint64_t origin, uint64_t lba, uint8_t or_byte);
/* A block a WRITE cut inside it by its expected length left (RFC 7143
 * §11.4.5.1: the bytes past EDTL never come; utarget writes the ones
 * that came, sbc_cmp.c sbc_write_partial): the first cut
 * bytes of value vid as written at lba, the rest of value under (what
 * the block held; an id of m).  MODEL_WILD where under is not known. */
uint64_t model_splice(struct model *m, uint64_t vid, uint64_t under,
		      uint64_t lba, uint32_t cut);
void model_fill_m(const struct model *m, uint64_t vid, uint64_t lba,
		  uint8_t *buf, uint32_t bs);
/* model_decode, and derived values: a block that is one of them decodes
 * to its id; a whole value moved from elsewhere that the model never
 * derived decodes to MODEL_FOREIGN (allowed nowhere). */
#define MODEL_FOREIGN (UINT64_MAX - 2)
bool model_decode_m(const struct model *m, const uint8_t *buf, uint64_t lba,
		    uint32_t bs, uint64_t *vid);
/* The id of a fill of every byte with b (0: zeros). */
uint64_t model_fill_vid(uint8_t b);
/* A fill's byte, or -1 if vid is no fill (or zeros: 0). */
int model_fill_byte(uint64_t vid);

/* Block data for a value id (0 = zeros); and back.  A block whose bytes
 * are no value's (torn, corrupt, wrong LBA) decodes to false. */
void model_fill(uint64_t vid, uint64_t lba, uint8_t *buf, uint32_t bs);
bool model_decode(const uint8_t *buf, uint64_t lba, uint32_t bs, uint64_t *vid);
/* Value id for a pattern name ("v1", "old") or a fill ("0xab", "zero"). */
uint64_t model_vid(const char *name);

#endif
