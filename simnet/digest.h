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

#endif
