/*
 * scsi_rig.h — the rig of the SCSI unit tests (test_scsi.c, test_spc.c,
 * test_sbc.c, test_sbc_lbp.c, test_sbc_sanitize.c, test_pr.c,
 * test_xcopy.c; scsi_rig.c).
 *
 * A stub environment (no network; one durable-state slot; timers that
 * fire only when the test calls stub_run_timers()), a fixture with one
 * thin 128 MiB mem LU of 512-byte blocks mapped at LUN 0 to one session,
 * and helpers that run one command and check its status and sense.
 */
#ifndef UT_TEST_SCSI_RIG_H
#define UT_TEST_SCSI_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "env.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------ stub env */

extern struct env stub_env;

/* The durable-state slot (persistent reservations with APTPL). */
extern char state_key_saved[128];
extern ssize_t state_len;  /* -ENOENT: nothing saved */
extern bool state_broken;  /* no state directory configured */
extern int state_put_fail; /* nonzero: state_put answers it, keeps nothing */

extern bool stub_hold_timers; /* run() leaves armed timers alone */

/* The stub clock: 0 at fx_new(), then the deadline of each timer that
 * fires (when later); a test may move it to stand for time passing. */
extern uint64_t stub_clock_ns;

/* Fire armed timers until none is armed; returns how many fired. */
unsigned int stub_run_timers(void);

/* ------------------------------------------------------ fixture */

#define DISK_BYTES (128ull << 20)
#define BS 512u
#define NBLOCKS (DISK_BYTES / BS)

struct fx {
	struct bs_dev *bs;
	struct scsi_lu *lu;
	struct scsi_sess *sess;
	struct scsi_cmd cmd;
	int done_calls;
	uint8_t *buf; /* 17 MiB: one transfer past the limit */
};

#define BUF_BYTES (SCSI_MAX_XFER_BYTES + (1u << 20))

extern bool fx_thin; /* the next fx_new()'s provisioning */

/* A fixture with a mem LU of size bytes (dev: its configuration, or
 * NULL); clear_ua runs a TEST UNIT READY to consume the power-on UA. */
struct fx *fx_new(struct ut_dev_cfg *dev, uint64_t size, bool clear_ua);
void fx_free(struct fx *f);
void on_done(struct scsi_cmd *cmd);

/* cmocka setup and teardown: fx_new(NULL, DISK_BYTES, true). */
int setup(void **state);
int teardown(void **state);

/* ------------------------------------------------------ running */

/* Run one command; Data-In room = edtl; data_out bytes taken from buf. */
struct scsi_cmd *run_on(struct fx *f, struct scsi_sess *s, uint64_t lun,
			const uint8_t *cdb, size_t cdb_len, uint32_t edtl,
			uint32_t data_out_len);
/* The same with a buffer of the caller's (NULL: none), of edtl bytes. */
struct scsi_cmd *run_on_buf(struct fx *f, struct scsi_sess *s, uint64_t lun,
			    const uint8_t *cdb, size_t cdb_len, uint8_t *buf,
			    uint32_t edtl, uint32_t data_out_len);
struct scsi_cmd *run_lun(struct fx *f, uint64_t lun, const uint8_t *cdb,
			 size_t cdb_len, uint32_t edtl, uint32_t data_out_len);
struct scsi_cmd *run(struct fx *f, const uint8_t *cdb, size_t cdb_len,
		     uint32_t edtl, uint32_t data_out_len);

/* READ(16) of n blocks into f->buf; WRITE(16) of n blocks of byte v. */
void read_blocks(struct fx *f, uint64_t lba, uint32_t n);
void write_blocks(struct fx *f, uint64_t lba, uint32_t n, uint8_t v);

/* ------------------------------------------------------ checking */

uint8_t sense_key(const struct scsi_cmd *c);
uint16_t sense_asc(const struct scsi_cmd *c);
void expect_sense(const struct scsi_cmd *c, uint8_t key, uint16_t asc);
void expect_good(const struct scsi_cmd *c);

/* ------------------------------------------------------ CDB builders */

void cdb_rw6(uint8_t *cdb, uint8_t op, uint32_t lba, uint8_t n);
void cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n);
void cdb_rw12(uint8_t *cdb, uint8_t op, uint32_t lba, uint32_t n);
void cdb_rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n);
void cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc);
void cdb_caw(uint8_t *cdb, uint64_t lba, uint8_t n);

/* n bytes of a pattern derived from seed. */
void fill(uint8_t *p, size_t n, uint8_t seed);

/* ------------------------------------------- reservations (test_pr*) */

/* A session of initiator name (ISID byte 0 isid0, relative target port
 * rtp) with f's LU as LUN 0, its power-on unit attention cleared. */
struct scsi_sess *sess_named(struct fx *f, const char *name, uint8_t isid0,
			     uint16_t rtp);
/* PERSISTENT RESERVE OUT with the basic 24-byte parameter list. */
struct scsi_cmd *prout(struct fx *f, struct scsi_sess *s, uint8_t sa,
		       uint8_t type, uint64_t key, uint64_t sark,
		       uint8_t flags);
/* An iSCSI TransportID (SPC-4 §7.6.4.6) of string s, padded to 4;
 * returns its length. */
uint32_t put_tid(uint8_t *t, const char *s);

#endif
