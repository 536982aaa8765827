/*
 * bhs.h — the simulator's own codec of the iSCSI Basic Header Segment
 * (RFC 7143 §11.2), apart from the target's (target/iscsi/pdu.c): the
 * simulated initiator builds every header it sends and reads every header
 * it receives with these, so that a field the target's codec puts in the
 * wrong place, or a length it miscounts, is a disagreement on the wire
 * and not a bug both sides share (mutants 490-497).  Written from the RFC,
 * not from pdu.c; only the plain struct iscsi_bhs (no behaviour) and the
 * opcode constants of pdu.h are shared.
 */
#ifndef SIMNET_BHS_H
#define SIMNET_BHS_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/pdu.h"

/* 48 bytes at raw -> h.  Every field of h is set; cdb is bytes 32-47
 * whatever the opcode (the words 32-44 are the same bytes). */
void sim_bhs_decode(const uint8_t *raw, struct iscsi_bhs *h);

/* h -> 48 bytes at raw.  For a SCSI Command (opcode 01h) bytes 32-47 are
 * h->cdb, for every other opcode the words w32..w44. */
void sim_bhs_encode(const struct iscsi_bhs *h, uint8_t *raw);

/* Bytes of padding after a data segment of len bytes (§11.2: to a
 * multiple of 4). */
uint32_t sim_pad4(uint32_t len);

/* Bytes on the wire of a PDU with ahs_words 4-byte words of AHS and a
 * data segment of data_len bytes, with the digests given (§11.2: BHS,
 * AHS, HeaderDigest, data and its padding, DataDigest when there is
 * data). */
uint64_t sim_pdu_wire_len(uint32_t ahs_words, uint32_t data_len,
			  bool header_digest, bool data_digest);

/* The 8-byte LUN field of a LUN number (SAM-5 §4.7.3: peripheral device
 * addressing below 256, flat space addressing from 256 to 16383). */
uint64_t sim_lun_field(uint64_t lun);

#endif
