/*
 * iscsi_stream.h — cut one direction of an iSCSI TCP byte stream into
 * PDUs, as an observer that is neither end of the connection: the chart
 * recorder (chart.c) watches the simulated network with it, and `import`
 * (import.c) reads captures with it.
 *
 * An observer has to learn what the ends agreed.  The Login Responses'
 * text carries the outcome of HeaderDigest and DataDigest (RFC 7143
 * §13.1), which take effect for the PDUs after the final Login Response
 * (§6.2: "digests ... start ... immediately after the Login Response
 * whose T bit is 1 and NSG is FullFeaturePhase"); both directions share
 * that state through `struct iss_conn`.  When the login was not seen (a
 * capture that starts in the middle of a session), each direction finds
 * out for itself: a header digest is there when the four bytes after the
 * BHS (and AHS) are its CRC32C.  Markers (OFMarker/IFMarker) are not
 * supported: a stream that negotiated them is reported as not decodable
 * (RFC 7143 §13.25 deprecates them; nobody sends them).
 *
 * The decoder holds at most one PDU (a BHS, 1020 bytes of AHS and a
 * 24-bit data segment, so 16 MiB at worst) and never trusts a length it
 * has not checked.  A gap in the stream (bytes a capture lost) or bytes
 * that are no PDU put it out of step; it then looks for the next place
 * where a BHS that makes sense for this direction begins, and says how
 * many bytes it skipped.
 */
#ifndef UT_SIM_ISCSI_STREAM_H
#define UT_SIM_ISCSI_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What both directions of one connection share. */
struct iss_conn {
	bool login_seen;     /* a Login Request or Response went by */
	bool ffp;	     /* the final Login Response went by */
	bool hd, dd;	     /* digests the login agreed on */
	bool markers;	     /* OFMarker/IFMarker=Yes agreed: undecodable */
	bool discovery;	     /* SessionType=Discovery */
	uint64_t tsih_isid;  /* bytes 8-15 of the last Login Response */
	char target[256];    /* TargetName= of the login */
	char initiator[256]; /* InitiatorName= */
};

/* One PDU as it went by.  Pointers are valid during the callback only. */
struct iss_pdu {
	int dir;	    /* 0 initiator -> target */
	uint8_t bhs[48];    /* raw */
	uint8_t opcode;	    /* without the I bit */
	const uint8_t *ahs; /* TotalAHSLength * 4 bytes */
	uint32_t ahs_len;
	const uint8_t *data;	     /* DataSegmentLength bytes */
	uint32_t data_len;	     /* unpadded */
	bool hd, dd;		     /* digests present */
	bool hd_bad, dd_bad;	     /* ... and wrong */
	uint64_t off_first, off_end; /* stream offsets: [first, end) */
	uint32_t bytes;		     /* on the wire, padding and digests */
};

typedef void (*iss_pdu_fn)(void *arg, const struct iss_pdu *pdu);
/* The stream lost step (gap or garbage) or found it again. */
typedef void (*iss_note_fn)(void *arg, int dir, uint64_t off, const char *what);

struct iss_dir {
	struct iss_conn *conn;
	int dir;
	iss_pdu_fn pdu_fn;
	iss_note_fn note_fn;
	void *arg;
	uint8_t *buf; /* bytes not yet a whole PDU */
	size_t len, cap;
	uint64_t off;	/* stream offset of buf[0] */
	bool lost;	/* out of step: looking for a BHS */
	bool hd_probe;	/* login not seen: digest found by CRC */
	bool hd_known;	/* ... and decided */
	bool hd_probed; /* the decision */
	bool dd_known;	/* the same for the data digest */
	bool dd_probed;
	uint64_t pdus;	  /* PDUs cut */
	uint64_t skipped; /* bytes skipped while out of step */
};

void iss_dir_init(struct iss_dir *d, struct iss_conn *c, int dir,
		  iss_pdu_fn pdu_fn, iss_note_fn note_fn, void *arg);
void iss_dir_free(struct iss_dir *d);
/* The next n bytes of the stream. */
void iss_feed(struct iss_dir *d, const uint8_t *p, size_t n);
/* n bytes of the stream are missing here (a capture's gap). */
void iss_gap(struct iss_dir *d, uint64_t n);

/* Names for people. */
const char *iss_opcode_name(uint8_t opcode);
/* "READ(10)" for a CDB's operation code, NULL if not known. */
const char *iss_cdb_name(uint8_t op);
/* Value of key in login/text data ("K=V\0K=V\0"), copied to out; false
 * if absent. */
bool iss_text_get(const uint8_t *data, uint32_t len, const char *key, char *out,
		  size_t cap);

#endif
