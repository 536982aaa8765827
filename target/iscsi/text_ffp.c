/*
 * text_ffp.c — Text Requests in full feature phase (RFC 7143 §11.10,
 * §11.11, Appendix C): SendTargets, and the keys a session may still
 * declare after login.  The reasoning, with what real initiators do with
 * each kind of answer, is in docs/text-requests.md.
 *
 * One exchange per connection (§11.10: "An initiator MUST NOT have more
 * than one outstanding Text Request on a connection at any given time"):
 *
 *   Text Request, TTT 0xffffffff    a new exchange: whatever an earlier
 *                                   one left (a long answer not fetched
 *                                   to its end, a half-sent request) is
 *                                   dropped (§11.10.4: the target "resets
 *                                   any internal state associated with the
 *                                   Initiator Task Tag")
 *   ... with C=1                    more request text follows (§6.2): the
 *                                   answer is an empty F=0 Text Response
 *                                   with a fresh TTT, which the next piece
 *                                   carries (C=1 with F=1 is an error)
 *   ... with C=0                    the request is complete: answer it
 *   Text Request, TTT = ours        the next piece of this exchange (same
 *                                   ITT): request text after a C=1, or a
 *                                   request for the next piece of our
 *                                   answer (it must then carry no text)
 *   Text Request, other TTT or ITT  Reject, Invalid PDU field
 *
 * The answer goes out in pieces of at most the initiator's
 * MaxRecvDataSegmentLength, each ending on a key=value boundary (so the
 * C bit is never needed: no pair is longer than 512 bytes).  Every piece
 * but the last has F=0 and a fresh TTT (§11.11.1: "A Text Response with
 * the F bit set to 0 MUST have a Target Transfer Tag field set to a value
 * other than the reserved value"); the last has F=1 and TTT 0xffffffff,
 * unless the request had F=0: a Text Response with F=1 to a request with
 * F=0 is a protocol error (§11.11.1), so that answer ends with F=0 too and
 * the exchange stays open for the initiator's next request.  An initiator
 * that abandons an answer may send a new request (above) or nothing: the
 * answer, at most ISCSI_TEXT_RSP_MAX_BYTES, is freed with the connection.
 *
 * What is answered:
 *   SendTargets=All|<empty>|<iSCSI name>, alone    the target records
 *     (Appendix C; server.c picks them); All in a normal session lists
 *     the session's own target only, as <empty> does ("All" MUST NOT be
 *     supported on an operational session, and an operational session
 *     MUST NOT learn of other targets)
 *   SendTargets with another value, or with other keys     Reject
 *     (Appendix C: the request holds exactly one key, and its answer may
 *     hold no key but TargetName and TargetAddress, so "SendTargets=Reject"
 *     is not an answer the initiator can expect)
 *   no SendTargets key, discovery session          Reject (§4.3: a
 *     discovery session accepts only Text Requests with SendTargets)
 *   no SendTargets key, normal session: each key
 *     MaxRecvDataSegmentLength                     declared (§13.12)
 *     a key of §13 that only login may negotiate   key=Reject (§13)
 *     X-... or X#... not known here                key=NotUnderstood
 *                                                  (§6.2, §13.5)
 *     any other key (a misspelt or wrongly cased SendTargets, §6.1: keys
 *     are case sensitive)                          Reject PDU for the
 *                                                  whole request
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void text_reset(struct iscsi_conn *c)
{
	free(c->text_in);
	c->text_in = NULL;
	c->text_in_len = 0;
	free(c->text_out);
	c->text_out = NULL;
	c->text_out_len = c->text_out_off = 0;
	c->text_out_ttt = ISCSI_RESERVED_TAG;
	c->text_open = false;
}

static void send_text_rsp(struct iscsi_conn *c, uint8_t flags, uint32_t ttt,
			  const uint8_t *data, uint32_t len)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_TEXT_RSP);
	struct iscsi_bhs h = {0};

	/* §11.11.1: a piece fits what the initiator receives */
	ut_assert(len <= c->max_xmit_dsl);
	/* §11.11.1: F=1 exactly when the TTT is the reserved value. */
	ut_assert(!(flags & ISCSI_FLAG_FINAL) == (ttt != ISCSI_RESERVED_TAG));
	if (!p)
		return;
	if (iscsi_txpdu_copy_data(p, data, len)) {
		iscsi_txpdu_discard(c, p);
		iscsi_conn_fail_soon(c, "out of memory for a PDU's data");
		return;
	}
	h.opcode = ISCSI_OP_TEXT_RSP;
	h.flags = flags;
	h.itt = c->text_itt;
	h.ttt = ttt;
	h.stat_sn = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

/* How much of the answer, from text_out_off, fits one PDU: all of it, or
 * up to the last key=value pair that ends within the segment. */
static uint32_t text_piece_len(const struct iscsi_conn *c)
{
	uint32_t left, n;
	const uint8_t *p = c->text_out + c->text_out_off;

	ut_assert(c->text_out != NULL);
	ut_assert(c->text_out_off < c->text_out_len); /* something is left */
	left = c->text_out_len - c->text_out_off;
	n = left < c->max_xmit_dsl ? left : c->max_xmit_dsl;

	if (n == left)
		return n;
	while (n > 0 && p[n - 1] != '\0')
		n--;
	/* A pair longer than the segment cannot happen: keys are at most
	 * 63 bytes, values 255 (§6.1), MaxRecvDataSegmentLength at least
	 * 512 (§13.12). */
	ut_assert(n > 0);
	return n;
}

/* Send the next piece of the answer (or the empty answer), then leave the
 * exchange open (F=0, fresh TTT) or closed (F=1). */
static void text_send_piece(struct iscsi_conn *c)
{
	uint32_t n = c->text_out ? text_piece_len(c) : 0;
	uint8_t *piece = c->text_out ? c->text_out + c->text_out_off : NULL;
	bool last = c->text_out_off + n == c->text_out_len;

	/* an exchange in full feature phase of this connection's session */
	ut_assert(c->sess != NULL);
	ut_assert(c->text_out_off + n <= c->text_out_len);

	if (last && c->text_final) {
		send_text_rsp(c, ISCSI_FLAG_FINAL, ISCSI_RESERVED_TAG, piece,
			      n);
		text_reset(c);
		return;
	}
	c->text_out_ttt = iscsi_sess_new_ttt(c->sess);
	c->text_open = true;
	send_text_rsp(c, 0, c->text_out_ttt, piece, n);
	c->text_out_off += n;
	if (last) { /* the request had F=0: its sequence goes on */
		free(c->text_out);
		c->text_out = NULL;
		c->text_out_len = c->text_out_off = 0;
	}
	/* an open exchange waits for a request with our TTT */
	ut_assert(c->text_open);
	ut_assert(c->text_out_ttt != ISCSI_RESERVED_TAG);
}

/* RFC 7143 §4.2.7.2 (RFC 3720 §3.2.6.3): the three name types, iqn.
 * (with its date), eui. (16 hex digits) and naa. (16 or 32), at most 223
 * bytes (§4.2.7.1) of the characters a normalised name may hold. */
static bool text_name_syntax_ok(const char *v)
{
	size_t len = strlen(v), hex = 0;

	if (len > 223)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == ':' || ch == '_'))
			return false;
	}
	if (strncmp(v, "iqn.", 4) == 0)
		return len > 12 && strspn(v + 4, "0123456789") == 4 &&
		       v[8] == '-' && strspn(v + 9, "0123456789") == 2 &&
		       v[11] == '.';
	if (strncmp(v, "eui.", 4) == 0 || strncmp(v, "naa.", 4) == 0)
		hex = strspn(v + 4, "0123456789abcdefABCDEF");
	if (hex != len - 4)
		return false;
	return v[0] == 'e' ? hex == 16 : hex == 16 || hex == 32;
}

/* RFC 7143 §13.5 (RFC 3720 §11.1): vendor (X-) and public (X#) extension
 * keys, the keys a peer may legitimately not know. */
static bool text_key_is_extension(const char *k)
{
	return k[0] == 'X' && (k[1] == '-' || k[1] == '#');
}

/* The answer to a complete request: 0 with resp filled, the reason of the
 * Reject the whole request gets (*why says why, for the log), or
 * TEXT_ERR_NOMEM. */
static int text_decide(struct iscsi_conn *c, const struct iscsi_kvlist *req,
		       struct iscsi_kvlist *resp, const char **why)
{
	struct iscsi_sess *s = c->sess;
	struct iscsi_neg neg = {0};
	const char *st = iscsi_kv_get(req, "SendTargets");

	ut_assert(s != NULL);
	ut_assert(resp->n == 0); /* filled here only */
	if (st) {
		*why = "SendTargets with another key";
		if (req->n != 1)
			return ISCSI_REJECT_PROTOCOL_ERROR;
		*why = "SendTargets value not All, empty or an iSCSI name";
		if (strcmp(st, "All") && st[0] && !text_name_syntax_ok(st))
			return ISCSI_REJECT_PROTOCOL_ERROR;
		if (s->srv->ops->sendtargets(s, st, resp))
			return TEXT_ERR_NOMEM;
		return 0;
	}
	*why = "no SendTargets in a discovery session";
	if (s->discovery)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	neg.cfg = s->tgt ? &iscsi_tgt_conf(s->tgt)->params
			 : &s->srv->cfg_params;
	neg.p = &s->p;
	neg.login = false;
	neg.stage = ISCSI_STAGE_FULL_FEATURE;
	neg.sent_mrdsl = true;
	for (uint32_t i = 0; i < req->n; i++) {
		const char *k = req->v[i].key;

		int rc;

		*why = "unknown key (not an X- or X# extension key)";
		if (!iscsi_key_known(k) && !text_key_is_extension(k))
			return ISCSI_REJECT_PROTOCOL_ERROR;
		rc = iscsi_negotiate_key(&neg, k, req->v[i].value, resp, why);
		if (rc == TEXT_ERR_NOMEM)
			return rc;
		if (rc)
			return ISCSI_REJECT_PROTOCOL_ERROR;
	}
	return 0;
}

/* The request text is complete: answer it. */
static void text_answer(struct iscsi_conn *c)
{
	struct iscsi_kvlist req, resp;
	const char *why = "malformed text";
	int reason;

	/* a whole request, and no answer of an earlier one left */
	ut_assert(c->text_out == NULL);
	ut_assert(!c->text_open);
	iscsi_kvlist_init(&req);
	iscsi_kvlist_init_max(&resp, ISCSI_TEXT_RSP_MAX_PAIRS);
	reason = iscsi_text_parse(c->text_in, c->text_in_len, &req);
	/* more keys than we hold is a limit of ours, as more text is (not
	 * a protocol error: RFC 7143 sets no number of keys) */
	if (reason == TEXT_ERR_TOO_MANY) {
		why = "more keys than ISCSI_TEXT_MAX_PAIRS";
		reason = ISCSI_REJECT_OUT_OF_RESOURCES;
	} else if (reason != TEXT_ERR_NOMEM)
		reason = reason ? ISCSI_REJECT_PROTOCOL_ERROR
				: text_decide(c, &req, &resp, &why);
	free(c->text_in);
	c->text_in = NULL;
	c->text_in_len = 0;
	if (reason == 0 && resp.bytes > ISCSI_TEXT_RSP_MAX_BYTES) {
		why = "the answer is larger than ISCSI_TEXT_RSP_MAX_BYTES";
		reason = ISCSI_REJECT_OUT_OF_RESOURCES;
	}
	if (reason == 0 && resp.n &&
	    iscsi_text_encode(&resp, &c->text_out, &c->text_out_len))
		reason = TEXT_ERR_NOMEM;
	if (reason == TEXT_ERR_NOMEM) {
		/* a partial answer would be a wrong one */
		text_reset(c);
		iscsi_conn_fail_soon(c, "out of memory for a Text response");
	} else if (reason) {
		LOG_DEBUG(c->env, "conn %u: Text Request rejected (0x%02x): %s",
			  c->id, reason, why);
		text_reset(c);
		iscsi_send_reject(c, (uint8_t)reason, c->rx_bhs);
	} else {
		/* RFC 7143 §13.12: a MaxRecvDataSegmentLength the initiator
		 * declared bounds every PDU we send from now on (text_decide
		 * stored it in the session's parameters; the connection
		 * segments by its own copy, one connection per session) */
		ut_assert(c->sess->p.max_xmit_dsl >= 512 &&
			  c->sess->p.max_xmit_dsl <= ISCSI_MAX_DSL);
		c->max_xmit_dsl = c->sess->p.max_xmit_dsl;
		c->text_out_off = 0;
		text_send_piece(c);
	}
	iscsi_kvlist_free(&req);
	iscsi_kvlist_free(&resp);
}

/* Append this PDU's data to the request text; false (Reject sent) when
 * the request grows past ISCSI_TEXT_MAX_BYTES. */
static bool text_take_data(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	uint8_t *nt;

	ut_assert(c->text_in_len <= ISCSI_TEXT_MAX_BYTES);
	ut_assert(h->data_len == 0 || c->rx_data_dst != NULL);
	if (!h->data_len)
		return true;
	if (c->text_in_len + h->data_len > ISCSI_TEXT_MAX_BYTES) {
		text_reset(c);
		iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, c->rx_bhs);
		return false;
	}
	nt = realloc(c->text_in, c->text_in_len + h->data_len);
	if (!nt) {
		text_reset(c);
		iscsi_conn_fail_soon(c, "out of memory for a Text request");
		return false;
	}
	memcpy(nt + c->text_in_len, c->rx_data_dst, h->data_len);
	c->text_in = nt;
	c->text_in_len += h->data_len;
	return true;
}

void iscsi_ffp_text(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	bool cont = h->flags & ISCSI_TEXT_F_CONTINUE;

	ut_assert(c->sess != NULL);
	ut_assert(h->opcode == ISCSI_OP_TEXT_REQ);
	if (!iscsi_sess_consume_cmdsn(c->sess, h))
		return; /* outside the window or a duplicate: ignored */
	if (cont && (h->flags & ISCSI_FLAG_FINAL)) {
		/* §6.2: a PDU with C=1 MUST NOT have F=1. */
		text_reset(c);
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->rx_bhs);
		return;
	}
	if (h->ttt == ISCSI_RESERVED_TAG) {
		text_reset(c); /* a new exchange (§11.10.4) */
		c->text_itt = h->itt;
	} else if (!c->text_open || h->ttt != c->text_out_ttt ||
		   h->itt != c->text_itt) {
		iscsi_send_reject(c, ISCSI_REJECT_INVALID_PDU_FIELD, c->rx_bhs);
		return;
	} else if (c->text_out) {
		/* The initiator fetches the next piece of our answer. */
		if (h->data_len || cont) {
			text_reset(c);
			iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR,
					  c->rx_bhs);
			return;
		}
		text_send_piece(c);
		return;
	}
	c->text_open = false;
	if (!text_take_data(c, h))
		return;
	c->text_final = h->flags & ISCSI_FLAG_FINAL;
	if (cont) {
		/* §6.2: "A target receiving a Text or Login Request with the
		 * C bit set to 1 MUST answer with a Text or Login Response
		 * with no data segment". */
		c->text_out_ttt = iscsi_sess_new_ttt(c->sess);
		c->text_open = true;
		send_text_rsp(c, 0, c->text_out_ttt, NULL, 0);
		return;
	}
	text_answer(c);
}
