/*
 * sense.h — sense data decoded once, for every oracle of the simulator
 * (SPC-4 §4.5).
 *
 * Fixed format (response code 70h/71h, §4.5.3): 0 VALID|code, 2 sense
 * key, 3..6 INFORMATION, 7 ADDITIONAL SENSE LENGTH, 12 ASC, 13 ASCQ,
 * 15..17 SKSV|sense-key specific.
 * Descriptor format (72h/73h, §4.5.2): 1 sense key, 2 ASC, 3 ASCQ,
 * 7 ADDITIONAL SENSE LENGTH, then descriptors (type, additional length,
 * body) that fill exactly the additional length: 00h information
 * (length 0Ah, VALID set, 8-byte INFORMATION), 01h command-specific
 * information (length 0Ah), 02h sense key specific (length 06h, SKSV
 * set).
 *
 * sense_decode() gives the same view of both formats, so that an oracle
 * reading the INFORMATION or a field pointer judges both alike, and
 * says why sense data is not well formed.
 */
#ifndef SIM_SENSE_H
#define SIM_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sense_view {
	uint8_t code;	   /* response code (byte 0 & 7Fh), 0: none */
	bool desc;	   /* descriptor format (72h, 73h) */
	int sk, asc, ascq; /* -1 when the data does not hold them */
	bool info_valid;   /* VALID (fixed) or an information descriptor */
	uint64_t info;	   /* INFORMATION when info_valid */
	bool sks_valid;	   /* SKSV (fixed) or a sense key specific one */
	uint8_t sks[3];	   /* the three sense-key specific bytes */
	/* COMMAND-SPECIFIC INFORMATION's first four bytes: fixed format
	 * 8..11, or a 01h descriptor (length 0Ah) */
	bool csi_valid;
	uint8_t csi[4];
};

/* Decode len bytes of sense data at s into v.  Returns NULL if they are
 * well formed, else why not (written into why, which is returned); v
 * holds what could be read either way. */
const char *sense_decode(const uint8_t *s, uint32_t len, struct sense_view *v,
			 char *why, size_t cap);

/* Sense key, ASC and ASCQ of sense data in either format (-1 each where
 * absent): what most oracles need, also of REQUEST SENSE data that an
 * allocation length cut short. */
void sense_key_of(const uint8_t *s, uint32_t len, int *sk, int *asc, int *ascq);

/* The field pointer a view carries (SKSV set, C/D as cd asks: 1 a CDB
 * byte, 0 a parameter list byte), or -1. */
int sense_field_pointer(const struct sense_view *v, bool cd);

/* The progress indication (NOT READY / NO SENSE with SKSV), or -1. */
int sense_progress(const struct sense_view *v);

#endif
