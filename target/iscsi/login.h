/*
 * login.h — the login layer (login.c): a connection from accept to full
 * feature phase (RFC 7143 §6.3, §11.12, §11.13), security (CHAP) and
 * operational negotiation, ending in a session (session.h).  Above the
 * session layer, below the server, which it reaches only through
 * struct iscsi_server_ops.  Included by iscsi_int.h, after session.h.
 */
#ifndef UT_ISCSI_LOGIN_H
#define UT_ISCSI_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "iscsi/chap.h"
#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "iscsi/text.h"

/* A connection's login, from accept to full feature phase. */
struct iscsi_login_state {
	int csg;	   /* current stage */
	bool transit_seen; /* we agreed to a transition */
	bool first_done;   /* first request processed */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t max_cmdsn; /* answered in login responses */
	int version_max;
	bool discovery;
	char initiator_name[UT_NAME_MAX];
	char initiator_alias[256];
	struct iscsi_tgt *tgt;
	struct iscsi_chap chap;	    /* security stage (chap.h) */
	struct iscsi_params p;	    /* being negotiated */
	struct iscsi_kvlist agreed; /* keys already answered */
	uint8_t *text;		    /* reassembly of C=1 requests */
	uint32_t text_len;
	uint8_t *out; /* response text still to send */
	uint32_t out_len, out_off;
	bool out_transit, out_complete; /* what its last piece does */
	int out_nsg;
	unsigned int pdu_count;
	/* the final response waits for a reinstated session to end */
	bool reinst_wait;
};

/* The phase of a connection in login (conn.h). */
extern const struct iscsi_conn_phase iscsi_login_phase;
/* A new connection's login begins (c->login); 0, or -ENOMEM. */
int iscsi_login_start(struct iscsi_conn *c);
/* The session c's login reinstates has ended: the login completes (on
 * c's reactor; nothing if c no longer waits). */
void iscsi_login_resume(struct iscsi_conn *c);
/* The RFC 7143 §13 defaults of the operational parameters, which hold
 * for every key the login does not negotiate. */
void iscsi_params_rfc_defaults(struct iscsi_params *p);

#endif
