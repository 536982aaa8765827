/*
 * import_int.h — what the two halves of `utarget-sim import` share: the
 * items import.c reads from a capture (a login, a command with its answer,
 * a TMF...), the connections, actors and LUNs they belong to, and the
 * functions that write them out as a scenario (import_scn.c).
 */
#ifndef UT_SIM_IMPORT_INT_H
#define UT_SIM_IMPORT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "iscsi_stream.h"
#include "pcap_tcp.h"

#define IM_MAX_ACTORS 8		    /* as the scenario runner (MAX_ACTORS) */
#define IM_MAX_WRITE_HEX (1u << 20) /* bytes of write data written out */
#define IM_MAX_LUNS 8
#define IM_MAX_DATA_HEX 512 /* answers compared byte by byte, else CRC */
#define IM_PAUSE_S 0.1

enum im_kind {
	IM_LOGIN,
	IM_DISCOVERY,
	IM_SCSI,
	IM_NOP,
	IM_TMF,
	IM_LOGOUT,
	IM_DISCONNECT,
};

struct im_item {
	enum im_kind kind;
	int actor;
	unsigned conn;
	double t_sent, t_done;
	bool answered;
	uint32_t itt;
	/* login / discovery */
	char keys[1024];
	uint16_t login_status;
	int targets;
	/* SCSI */
	uint64_t lun;
	uint8_t cdb[16];
	bool r, w, immediate;
	uint32_t edtl, cmdsn;
	int32_t cmdsn_delta;
	uint8_t *out, *in;
	uint32_t out_len, in_len, in_cap;
	uint8_t response, status, rflags;
	uint8_t sense[32];
	uint32_t sense_len, residual;
	bool label_needed;
	bool background; /* overlapped another: `&` */
	/* TMF */
	uint8_t tmf_fn;
	int ref_item;
	/* logout */
	uint8_t logout_reason;
};

struct im_conn {
	unsigned id;
	int actor; /* -1 none */
	struct iss_conn ic;
	struct iss_dir d[2];
	char keys[1024]; /* the initiator's login proposals */
	int login_item;
	bool logged_out, ended, skipped;
	uint32_t next_cmdsn;
	bool cmdsn_known;
	uint8_t isid[6];
	char initiator_addr[80];
};

struct im_actor {
	char iqn[256];
	uint8_t isid[6];
	unsigned conn; /* current connection, 0 free */
	bool used;
};

struct im_lun {
	uint64_t lun;
	bool seen, cap_known, not_disk;
	uint32_t block;
	uint64_t blocks;
	uint8_t pdt;
	/* written LBA ranges */
	uint64_t (*w)[2];
	size_t nw;
};

struct im {
	struct im_item *items;
	size_t nitems, cap;
	struct im_conn **conns;
	size_t nconns;
	struct im_actor actors[IM_MAX_ACTORS];
	int nactors;
	struct im_lun luns[IM_MAX_LUNS];
	int nluns;
	char target[256];
	char params[512];
	bool exact;
	char *notes;
	size_t notes_len;
	double t;
	uint64_t pdus, undecoded;
};

/* import.c */
/* The operational keys of RFC 7143 §13 an actor's login can send: those
 * kept from the captured initiator's proposals (import.c), and the ones
 * it did not send, written out as KEY=- (import_scn.c). */
#define IM_OP_KEYS 16
extern const char *const im_op_keys[IM_OP_KEYS];
void notef(struct im *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct im_lun *lun_of(struct im *m, uint64_t lun);

/* import_scn.c: the LUNs' sizes from the captured answers, the items in
 * the foreground or the background, the scenario's header and lines. */
void learn_luns(struct im *m);
void schedule(struct im *m);
void header_out(struct im *m, FILE *f, const char *path,
		const struct ptcp_stats *st);
void body_out(struct im *m, FILE *f);

#endif
