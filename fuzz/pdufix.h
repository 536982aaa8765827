/*
 * pdufix.h — keep iSCSI framing consistent in mutated inputs, and the
 * input formats of the byte-stream harnesses that share it.
 *
 * A mutated PDU stream almost never has a DataSegmentLength that matches
 * the bytes after the header, so the target would spend most executions
 * waiting for data that never comes.  pdufix walks the PDUs laid end to
 * end, shrinks DataSegmentLength and TotalAHSLength to what is present,
 * zeroes the pad bytes, and rewrites the CRC32C header and data digests
 * once the login text of that connection asked for them.  The AFL++ custom
 * mutator (afl_mutator.c, post-processing) and libFuzzer's custom mutator
 * (shim.c) both call it; an input whose flags byte carries FZ_F_RAW is
 * left alone so that bad framing stays reachable.
 *
 * No dependency on target/: the mutator library is built on its own.
 */
#ifndef UT_FUZZ_PDUFIX_H
#define UT_FUZZ_PDUFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * login input:      [chunking byte][flags byte][raw bytes to the target]
 * pdu_stream input: [4 header bytes] then chunks separated by FZ_DELIM,
 *                   each [control byte][bytes to send]
 * In both, flags bit FZ_F_RAW (login: byte 1; pdu_stream: byte 0) turns
 * the framing fix-up off for that input.
 */
#define FZ_LOGIN_HDR 2
#define FZ_STREAM_HDR 4
#define FZ_DELIM "\xf0\x0d\xfa\xce"
#define FZ_DELIM_LEN 4
#define FZ_F_RAW 0x80

/* Digest state of one connection, as the login text would negotiate it. */
struct pdufix_conn {
	bool hd, dd;	       /* digests on the PDUs we walk now */
	bool want_hd, want_dd; /* asked for during login */
};

/* CRC32C as iSCSI digests use it, returned in the value whose
 * little-endian bytes are the digest on the wire. */
uint32_t pdufix_crc32c(const uint8_t *p, size_t n);

/* The digest one key of login text asks for or answers: for every
 * key=value pair of text (n bytes, pairs NUL-separated) whose key is key
 * (HeaderDigest, DataDigest), *crc becomes whether its first value is
 * CRC32C -- the first value an initiator lists is the target's pick when
 * it supports it (RFC 7143 §6.2), and a target answers one value.  Pairs
 * of other keys leave *crc alone.  The fix-up tracks logins with it, and
 * the login harness reads the target's answers with it. */
void pdufix_digest_key(const uint8_t *text, size_t n, const char *key,
		       bool *crc);

/* Fix the PDUs laid end to end in buf[0, len); the length is unchanged. */
void pdufix_pdus(struct pdufix_conn *c, uint8_t *buf, size_t len);

/* Whole inputs of each format (in place, same length). */
void pdufix_login_input(uint8_t *buf, size_t len);
void pdufix_stream_input(uint8_t *buf, size_t len);

#endif
