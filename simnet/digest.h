/*
 * digest.h — the simulator's own CRC32C (the iSCSI digests), apart from the
 * target's (target/iscsi/crc32c.c): the simulated initiator and the stream
 * checker compute every header and data digest with ISA-L's crc32_iscsi, so
 * that a wrong digest of the target's is a mismatch on the wire and not a
 * bug both sides share (mutant 440).  Likewise the CHAP responses, with
 * Nettle's hashes instead of target/iscsi/chap_hash.c (mutant 441).
 */
#ifndef SIMNET_DIGEST_H
#define SIMNET_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* The digest's value as iscsi_digest() gives it (the host little-endian
 * encoding of the 4 bytes on the wire). */
uint32_t sim_digest(const void *buf, size_t len);

/* RFC 1994 §4.1: the hash of Identifier, secret and Challenge Value, with
 * CHAP_A alg (5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256) into out (at most 32
 * bytes).  -1 for any other alg. */
int sim_chap_response(unsigned int alg, uint8_t id, const void *secret,
		      size_t secret_len, const uint8_t *chal, size_t chal_len,
		      uint8_t *out);

/* The digest length of CHAP_A alg (Nettle's), 0 for an unknown alg. */
size_t sim_chap_digest_len(unsigned int alg);

/* RFC 7143 §6.1 binary values: "0x"/"0X" and an even number of hex
 * digits, or "0b"/"0B" and canonical padded base64; the bytes into out
 * (at most cap), their count, or -1.  The initiator's own decoder: the
 * target's iscsi_chap_decode() is what is tested (mutant 602). */
int sim_chap_decode(const char *v, uint8_t *out, size_t cap);

/* "0x" and two lowercase hex digits a byte, NUL-terminated (2 + 2 * len +
 * 1 bytes). */
void sim_chap_encode_hex(const uint8_t *b, size_t len, char *out);

#endif
