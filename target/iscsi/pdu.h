/*
 * pdu.h — iSCSI PDU wire format (RFC 7143 §11).
 *
 * Every PDU starts with a 48-byte Basic Header Segment (BHS), then
 * TotalAHSLength*4 bytes of Additional Header Segments, an optional 4-byte
 * header digest, DataSegmentLength bytes of data padded to a multiple of
 * 4, and an optional 4-byte data digest.  Multi-byte fields are big endian.
 *
 * This module only encodes and decodes; it holds no state and validates
 * only what the layout itself requires.  Protocol rules live with the
 * state machines that enforce them.
 */
#ifndef UT_ISCSI_PDU_H
#define UT_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "bytes.h"

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_MAX_AHS_BYTES (255 * 4) /* TotalAHSLength is one byte */
#define ISCSI_MAX_DSL 0xffffffu	      /* DataSegmentLength is 24 bits */

/* Opcodes, initiator to target (RFC 7143 §11.1.1) */
#define ISCSI_OP_NOP_OUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_TMF_REQ 0x02
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK_REQ 0x10
/* target to initiator */
#define ISCSI_OP_NOP_IN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_TMF_RSP 0x22
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC_MSG 0x32
#define ISCSI_OP_REJECT 0x3f

#define ISCSI_OPCODE_MASK 0x3f
#define ISCSI_FLAG_IMMEDIATE 0x40 /* byte 0, initiator PDUs */
#define ISCSI_FLAG_FINAL 0x80	  /* byte 1 */

/* SCSI Command flags (byte 1) */
#define ISCSI_CMD_F_READ 0x40
#define ISCSI_CMD_F_WRITE 0x20
#define ISCSI_CMD_ATTR_MASK 0x07

/* Data-In flags */
#define ISCSI_DATAIN_F_ACK 0x40
#define ISCSI_DATAIN_F_OVERFLOW 0x04
#define ISCSI_DATAIN_F_UNDERFLOW 0x02
#define ISCSI_DATAIN_F_STATUS 0x01

/* SCSI Response flags */
#define ISCSI_RSP_F_BIDI_OVERFLOW 0x10
#define ISCSI_RSP_F_BIDI_UNDERFLOW 0x08
#define ISCSI_RSP_F_OVERFLOW 0x04
#define ISCSI_RSP_F_UNDERFLOW 0x02

/* Login flags (byte 1) */
#define ISCSI_LOGIN_F_TRANSIT 0x80
#define ISCSI_LOGIN_F_CONTINUE 0x40
#define ISCSI_LOGIN_CSG(f) (((f) >> 2) & 3)
#define ISCSI_LOGIN_NSG(f) ((f)&3)
#define ISCSI_STAGE_SECURITY 0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL_FEATURE 3

/* Text flags */
#define ISCSI_TEXT_F_CONTINUE 0x40

/* Reject reasons (RFC 7143 §11.17.1) */
#define ISCSI_REJECT_DATA_DIGEST 0x02
#define ISCSI_REJECT_SNACK 0x03
#define ISCSI_REJECT_PROTOCOL_ERROR 0x04
#define ISCSI_REJECT_CMD_NOT_SUPPORTED 0x05
#define ISCSI_REJECT_IMMEDIATE_CMD 0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_DATA_ACK 0x08
#define ISCSI_REJECT_INVALID_PDU_FIELD 0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES 0x0a
#define ISCSI_REJECT_NEGOTIATION_RESET 0x0b
#define ISCSI_REJECT_WAITING_LOGOUT 0x0c

/* Login status class/detail (RFC 7143 §11.13.5) */
#define ISCSI_LOGIN_STATUS(cls, det) (((cls) << 8) | (det))
#define ISCSI_LS_SUCCESS 0x0000
#define ISCSI_LS_TARGET_MOVED_TEMP 0x0101
#define ISCSI_LS_TARGET_MOVED_PERM 0x0102
#define ISCSI_LS_INIT_ERR 0x0200
#define ISCSI_LS_AUTH_FAILED 0x0201
#define ISCSI_LS_AUTHZ_FAILED 0x0202
#define ISCSI_LS_NOT_FOUND 0x0203
#define ISCSI_LS_TARGET_REMOVED 0x0204
#define ISCSI_LS_UNSUPPORTED_VERSION 0x0205
#define ISCSI_LS_TOO_MANY_CONNECTIONS 0x0206
#define ISCSI_LS_MISSING_PARAMETER 0x0207
#define ISCSI_LS_CANT_INCLUDE_IN_SESSION 0x0208
#define ISCSI_LS_SESSION_TYPE_UNSUPPORTED 0x0209
#define ISCSI_LS_SESSION_DOES_NOT_EXIST 0x020a
#define ISCSI_LS_INVALID_DURING_LOGIN 0x020b
#define ISCSI_LS_TARGET_ERROR 0x0300
#define ISCSI_LS_SERVICE_UNAVAILABLE 0x0301
#define ISCSI_LS_OUT_OF_RESOURCES 0x0302

/* Logout reasons and responses (RFC 7143 §11.14, §11.15) */
#define ISCSI_LOGOUT_CLOSE_SESSION 0
#define ISCSI_LOGOUT_CLOSE_CONNECTION 1
#define ISCSI_LOGOUT_REMOVE_FOR_RECOVERY 2
#define ISCSI_LOGOUT_RSP_OK 0
#define ISCSI_LOGOUT_RSP_CID_NOT_FOUND 1
#define ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED 2
#define ISCSI_LOGOUT_RSP_CLEANUP_FAILED 3

/* TMF functions and responses (RFC 7143 §11.5) */
#define ISCSI_TMF_ABORT_TASK 1
#define ISCSI_TMF_ABORT_TASK_SET 2
#define ISCSI_TMF_CLEAR_ACA 3
#define ISCSI_TMF_CLEAR_TASK_SET 4
#define ISCSI_TMF_LOGICAL_UNIT_RESET 5
#define ISCSI_TMF_TARGET_WARM_RESET 6
#define ISCSI_TMF_TARGET_COLD_RESET 7
#define ISCSI_TMF_TASK_REASSIGN 8
#define ISCSI_TMF_RSP_COMPLETE 0
#define ISCSI_TMF_RSP_NO_TASK 1
#define ISCSI_TMF_RSP_NO_LUN 2
#define ISCSI_TMF_RSP_TASK_ALLEGIANT 3
#define ISCSI_TMF_RSP_NO_FAILOVER 4
#define ISCSI_TMF_RSP_NOT_SUPPORTED 5
#define ISCSI_TMF_RSP_AUTH_FAILED 6
#define ISCSI_TMF_RSP_REJECTED 255

/* Async events (RFC 7143 §11.9.1) */
#define ISCSI_ASYNC_SCSI 0
#define ISCSI_ASYNC_LOGOUT_REQUEST 1
#define ISCSI_ASYNC_DROP_CONNECTION 2
#define ISCSI_ASYNC_DROP_ALL 3
#define ISCSI_ASYNC_NEGOTIATE 4

#define ISCSI_RESERVED_TAG 0xffffffffu

/*
 * The decoded BHS, in host byte order.  Bytes 20-47 mean different things
 * in different PDUs (RFC 7143 §11); each word is a union of the names the
 * RFC gives it, and code outside this layer writes and reads the name
 * the PDU it handles uses (h.exp_cmdsn, h.ttt), never the position.  The
 * wNN names are this layer's (pdu.c: encode, decode).  Fields that share
 * a word with others (CID, the login status, Logout times, Async
 * parameters) have the accessors below.
 */
struct iscsi_bhs {
	uint8_t opcode;	       /* without the I bit */
	bool immediate;	       /* I bit */
	uint8_t flags;	       /* byte 1 */
	uint8_t b2, b3;	       /* bytes 2-3: response/status, versions */
	uint8_t total_ahs_len; /* in 4-byte words */
	uint32_t data_len;     /* DataSegmentLength, 24 bits */
	uint64_t lun;	       /* bytes 8-15 raw (LUN, ISID+TSIH, ...) */
	uint32_t itt;	       /* bytes 16-19: Initiator Task Tag */
	union {		       /* bytes 20-23 */
		uint32_t w20;
		uint32_t ttt;	       /* NOP, Text, Data-In/Out, R2T, SNACK */
		uint32_t edtl;	       /* SCSI Command: Expected Data
					* Transfer Length */
		uint32_t ref_task_tag; /* Task Management Request */
		uint32_t snack_tag;    /* SCSI Response */
	};
	union { /* bytes 24-27 */
		uint32_t w24;
		uint32_t cmdsn;	  /* initiator to target */
		uint32_t stat_sn; /* target to initiator */
	};
	union { /* bytes 28-31 */
		uint32_t w28;
		uint32_t exp_stat_sn; /* initiator to target */
		uint32_t exp_cmdsn;   /* target to initiator */
	};
	union { /* bytes 32-35 */
		uint32_t w32;
		uint32_t max_cmdsn; /* target to initiator */
		uint32_t ref_cmdsn; /* Task Management Request */
	};
	union { /* bytes 36-39 */
		uint32_t w36;
		uint32_t data_sn;     /* Data-In, Data-Out */
		uint32_t r2tsn;	      /* R2T */
		uint32_t exp_data_sn; /* SCSI Response, TMF Request */
	};
	union { /* bytes 40-43 */
		uint32_t w40;
		uint32_t buffer_offset; /* Data-In, Data-Out, R2T */
		uint32_t bidi_residual; /* SCSI Response */
	};
	union { /* bytes 44-47 */
		uint32_t w44;
		uint32_t residual;	 /* SCSI Response, Data-In */
		uint32_t desired_length; /* R2T: Desired Data Transfer
					  * Length */
	};
	uint8_t cdb[16]; /* bytes 32-47 for SCSI Command */
};

/* Login and Logout Requests: the CID in bytes 20-21. */
static inline uint16_t iscsi_bhs_cid(const struct iscsi_bhs *h)
{
	return (uint16_t)(h->w20 >> 16);
}

/* Login Response: Status-Class and Status-Detail, bytes 36-37
 * (ISCSI_LS_*). */
static inline void iscsi_bhs_set_login_status(struct iscsi_bhs *h,
					      uint16_t status)
{
	h->w36 = (uint32_t)status << 16;
}

/* Logout Response: Time2Wait and Time2Retain in seconds, bytes 40-43. */
static inline void iscsi_bhs_set_logout_times(struct iscsi_bhs *h,
					      uint16_t time2wait_s,
					      uint16_t time2retain_s)
{
	h->w40 = (uint32_t)time2wait_s << 16 | time2retain_s;
}

/* Asynchronous Message (RFC 7143 §11.9): AsyncEvent (byte 36), AsyncVCode
 * 0, Parameter1-3 (bytes 38-43). */
static inline void iscsi_bhs_set_async(struct iscsi_bhs *h, uint8_t event,
				       uint16_t param1, uint16_t param2,
				       uint16_t param3)
{
	h->w36 = (uint32_t)event << 24 | param1;
	h->w40 = (uint32_t)param2 << 16 | param3;
}

/* Raw BHS bytes <-> struct.  Decoding cannot fail: every bit pattern is a
 * BHS; whether it makes sense is for the receiver to decide. */
void iscsi_bhs_decode(const uint8_t raw[ISCSI_BHS_LEN], struct iscsi_bhs *h);
void iscsi_bhs_encode(const struct iscsi_bhs *h, uint8_t raw[ISCSI_BHS_LEN]);

/* Padding of a data segment to a 4-byte boundary. */
static inline uint32_t iscsi_pad4(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/* Total bytes on the wire for a PDU with these sizes. */
uint64_t iscsi_pdu_wire_len(uint32_t ahs_words, uint32_t data_len,
			    bool header_digest, bool data_digest);

/* Serial number arithmetic (RFC 1982, 32 bits), for CmdSN and StatSN. */
static inline bool sna_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}
static inline bool sna_le(uint32_t a, uint32_t b)
{
	return a == b || sna_lt(a, b);
}

/* LUN field (SAM-5 §4.7): decode a single-level LUN; returns false for an
 * encoding we do not address (extended, multi-level). */
bool iscsi_lun_decode(uint64_t raw, uint64_t *lun);
uint64_t iscsi_lun_encode(uint64_t lun);

/* CRC32C (Castagnoli), as iSCSI digests use it (RFC 7143 §13.1). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The same with one stream of the crc32 instruction (for comparison). */
uint32_t crc32c_1way(uint32_t crc, const void *buf, size_t len);
/* Use fn for buffers of 256 bytes and more (it must give crc32c()'s
 * results); NULL: the built-in code.  Set before any reactor runs. */
typedef uint32_t crc32c_fn(uint32_t crc, const void *buf, size_t len);
void crc32c_set_long_impl(crc32c_fn *fn);
/* Digest of a buffer: crc32c(~0, ...) finalised, in wire (LE) order value
 * as iSCSI places it: the 4 digest bytes are the little-endian encoding. */
uint32_t iscsi_digest(const void *buf, size_t len);
uint32_t iscsi_digest_iov(const struct iovec *iov, int iovcnt);

/* Where a connection's first StatSN and a session's first TTT start
 * (login.c, session.c): drawn from the environment's random source, near
 * 2^32 in one draw in eight. */
struct env;
uint32_t iscsi_initial_sn(struct env *env);

#endif
