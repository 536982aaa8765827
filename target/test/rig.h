/*
 * rig.h — the iSCSI test rig (rig.c): a whole target in the fake
 * environment (fake_env.h), built from an scst.conf text or from the
 * embedded default, with the test playing the initiator PDU by PDU:
 * logins (with text continuation), SendTargets, NOP-Out, Text, TMF and
 * Logout requests, SCSI commands with immediate data, the Data-Out an
 * R2T asks for, Data-In collection.  Used by test_seam.c, test_oom.c,
 * test_login.c, test_chap.c, test_acl.c and test_reactors.c.
 *
 * Every log line the target writes (at TRACE level) is kept in r->log so
 * that tests can check what never appears there (secrets).  The log sink
 * has no argument but the env, so there is one rig at a time.
 */
#ifndef UT_TEST_RIG_H
#define UT_TEST_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "env.h"
#include "fake_env.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "iscsi/text.h"
#include "scsi/scsi.h"

#define RIG_LOG_MAX (1u << 20)

struct rig {
	struct env *env;
	struct iscsi_server *srv;
	struct fake_conn *c;   /* the connection the test plays on */
	struct env_ops ops;    /* the fake's, with log captured */
	uint32_t cmdsn;	       /* the next CmdSN to send */
	uint32_t itt;	       /* the last ITT sent */
	uint16_t isid_low;     /* bumped by rig_connect: no reinstatement */
	size_t chunk;	       /* delivery chunk of rig_send (0: all at once) */
	unsigned int listener; /* the listener rig_connect dials */
	char *log;
	size_t log_len;
};

/* A target built from conf (scst.conf text) on env (a fake environment;
 * second: its other reactor's face from fake_env_new_reactors(), or
 * NULL), logs captured. */
struct rig *rig_new_on(const char *conf, struct env *env, struct env *second);
struct rig *rig_new(const char *conf);
/* The embedded default target (ut_config_default) with a 16 MiB LUN. */
struct rig *rig_new_default(void);
/* Free the server, check that it left no mutex held or alive, and free
 * the environment. */
void rig_free(struct rig *r);

/* A fresh connection (and a fresh ISID, so sessions do not reinstate). */
void rig_connect(struct rig *r);

/* Send one PDU (data padded to 4 bytes), in r->chunk-byte deliveries. */
void rig_send(struct rig *r, struct iscsi_bhs *h, const void *data,
	      uint32_t len);
/* Receive one PDU, which must have this opcode; *data (if data is not
 * NULL) gets its data segment, to be freed. */
void rig_expect_pdu(struct rig *r, uint8_t opcode, struct iscsi_bhs *h,
		    uint8_t **data);

/* ------------------------------------------------------------ login */

/* Key=value text being built. */
struct rig_text {
	char *buf;
	size_t len;
	size_t cap;
};

void rig_text_add(struct rig_text *t, const char *key, const char *value);
void rig_text_free(struct rig_text *t);
/* The identity keys of a first login request (target NULL: discovery). */
void rig_text_identity(struct rig_text *t, const char *ini, const char *target);

/* Outcome of one login request. */
struct rig_login_rsp {
	uint16_t status; /* class << 8 | detail */
	bool transit;
	int csg, nsg;
	uint16_t tsih;
	uint32_t exp_cmdsn, max_cmdsn;
	struct iscsi_kvlist kv;
	bool closed; /* the target closed the connection */
};

void rig_login_rsp_free(struct rig_login_rsp *rsp);

/* Send one login request (text split into 8192-byte PDUs with C=1 as
 * needed; the target's empty acknowledgements are consumed) and read the
 * response.  rsp->kv must be freed with rig_login_rsp_free(). */
void rig_login(struct rig *r, int csg, int nsg, bool transit,
	       const struct rig_text *t, struct rig_login_rsp *rsp);
/* Operational stage to full feature phase; asserts success. */
void rig_login_finish(struct rig *r);
/* Login without authentication, straight from the operational stage.
 * Returns the login status (0 = in full feature phase). */
uint16_t rig_login_plain(struct rig *r, const char *ini, const char *target);
/* Logout (close the session); asserts the answer and the close. */
void rig_logout(struct rig *r);

/* SendTargets=value in the session's Text exchange; the answer's keys. */
void rig_sendtargets(struct rig *r, const char *value,
		     struct iscsi_kvlist *out);

/* -------------------------------------------------------- requests */

/* Requests whose answer is left to the test.  Each takes the next ITT
 * (++r->itt) and, sent immediate, carries CmdSN r->cmdsn. */
/* A NOP-Out ping (TTT 0xffffffff) with len bytes of data. */
void rig_nop_out(struct rig *r, const void *data, uint32_t len);
/* A final Text Request (TTT 0xffffffff) carrying len bytes of text. */
void rig_text_send(struct rig *r, const void *text, uint32_t len);
/* A Task Management Function Request fn on LUN 0 for the task rtt
 * (ISCSI_RESERVED_TAG: none), RefCmdSN refcmdsn. */
void rig_tmf_send(struct rig *r, uint8_t fn, uint32_t rtt, uint32_t refcmdsn);
/* ... the same, immediate, on lun (CmdSN: the next one, not taken). */
void rig_tmf_send_lun(struct rig *r, uint8_t fn, uint64_t lun, uint32_t rtt,
		      uint32_t refcmdsn);
/* A Logout Request that closes the session. */
void rig_logout_send(struct rig *r);
/* The Data-Out an R2T asks for, in PDUs of at most 1024 bytes, DataSN
 * from 0: the bytes of data at the R2T's buffer offset (data holds the
 * whole transfer), or zeros when data is NULL. */
void rig_answer_r2t(struct rig *r, const struct iscsi_bhs *r2t,
		    const uint8_t *data);

/* ------------------------------------------------------------ SCSI */

/* Send a SCSI Command (SIMPLE, F set, flags: ISCSI_CMD_F_READ/WRITE) with
 * imm_len bytes of immediate data; the answer is left to the test.  cdb
 * is 16 bytes (the BHS's CDB field), zero-padded by the caller. */
void rig_scsi_send(struct rig *r, uint64_t lun, const uint8_t *cdb,
		   uint8_t flags, uint32_t edtl, const void *imm,
		   uint32_t imm_len);

/* Outcome of one SCSI command. */
struct rig_scsi {
	uint8_t status;
	uint8_t sense_key;
	uint16_t asc; /* ASC << 8 | ASCQ */
	uint8_t data[4096];
	uint32_t data_len;
};

/* One SCSI command without data-out; collects Data-In and the status. */
void rig_scsi(struct rig *r, uint64_t lun, const uint8_t *cdb, uint32_t edtl,
	      struct rig_scsi *out);
/* TEST UNIT READY until the unit attentions of a new nexus are gone;
 * returns the final outcome. */
void rig_tur(struct rig *r, uint64_t lun, struct rig_scsi *out);

#endif
