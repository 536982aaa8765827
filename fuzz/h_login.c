/*
 * h_login.c — login and text negotiation from raw bytes, through the
 * whole target over the in-memory environment (target/test/fake_env.c).
 *
 * Input: [chunk][flags][bytes the initiator sends]
 *   chunk   bytes per delivery to the target (0 = everything at once)
 *   flags   bit 0    the target's sends are accepted 7 bytes at a time
 *           bits 1-2 virtual time passed at the end: 0, 1 s, 31 s (the
 *                    login timeout), 10 min
 *           bit 3    the initiator hangs up before the target is freed
 *           bit 7    FZ_F_RAW: the mutators leave the framing alone
 * The rest is PDUs, usually Login Requests then Text Requests, to one of
 * the three targets of world.c (one of them requires CHAP).
 *
 * Checks, beyond the sanitizers: what the target sends parses as PDUs,
 * with correct digests once its login answers turned them on, whose
 * DataSegmentLength never exceeds the 8192 bytes a login phase allows;
 * the target holds no task buffer once the connection is gone.
 */
#include <string.h>

#include "fake_env.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "pdufix.h"
#include "shim.h"
#include "world.h"

static struct ut_config cfg;

void harness_init(void)
{
	fz_world_config(&cfg, false);
}

void harness_fixup(uint8_t *buf, size_t len);
void harness_fixup(uint8_t *buf, size_t len)
{
	pdufix_login_input(buf, len);
}

/*
 * The reader's view of the connection.  The target's answers to
 * HeaderDigest and DataDigest, in the Login Responses, put digests on
 * every PDU after the one that ends the login (RFC 7143 §13.1); reading
 * them as plain PDUs lost the framing at the first Data-In and failed
 * the opcode check on the target's own data (CI's fuzz-smoke, a READ
 * after HeaderDigest=CRC32C).
 */
struct reader {
	bool header_digest, data_digest; /* on the PDUs from now on */
	bool hd_answer, dd_answer;	 /* the target's answers so far */
	char text[65536];		 /* a login answer, across C bits */
	size_t text_len;
};

/* Take the target's digest answers from one whole login answer. */
static void read_answer(struct reader *r)
{
	pdufix_digest_key((const uint8_t *)r->text, r->text_len, "HeaderDigest",
			  &r->hd_answer);
	pdufix_digest_key((const uint8_t *)r->text, r->text_len, "DataDigest",
			  &r->dd_answer);
	r->text_len = 0;
}

static void login_answer(struct reader *r, const struct iscsi_bhs *h,
			 const uint8_t *d)
{
	size_t room = sizeof(r->text) - r->text_len;
	size_t n = h->data_len < room ? h->data_len : room;

	if (n)
		memcpy(r->text + r->text_len, d, n);
	r->text_len += n;
	if (h->flags & ISCSI_LOGIN_F_CONTINUE)
		return;
	read_answer(r);
	/* Status class 0 with T and NSG 3 ends the login. */
	if ((h->flags & ISCSI_LOGIN_F_TRANSIT) &&
	    ISCSI_LOGIN_NSG(h->flags) == ISCSI_STAGE_FULL_FEATURE &&
	    (h->w36 >> 24) == 0) {
		r->header_digest = r->hd_answer;
		r->data_digest = r->dd_answer;
	}
}

/* Read back what the target sent, checking its framing and digests. */
static void drain(struct fake_conn *c, struct reader *r)
{
	struct iscsi_bhs h;
	uint8_t *d = NULL;
	int rc;

	while ((rc = fake_conn_pop_pdu_digests(c, r->header_digest,
					       r->data_digest, &h, &d)) != -1) {
		FUZZ_CHECK(rc != -2,
			   "target sent a wrong header digest "
			   "(opcode %02x)",
			   h.opcode);
		FUZZ_CHECK(rc != -3,
			   "target sent a wrong data digest "
			   "(opcode %02x)",
			   h.opcode);
		FUZZ_CHECK(h.opcode >= ISCSI_OP_NOP_IN,
			   "target sent opcode %02x", h.opcode);
		if (h.opcode == ISCSI_OP_LOGIN_RSP) {
			FUZZ_CHECK(h.data_len <= 8192,
				   "Login Response of %u data bytes",
				   h.data_len);
			login_answer(r, &h, d);
		}
		free(d);
		d = NULL;
	}
}

int harness_one(const uint8_t *data, size_t len)
{
	static const uint64_t advance_ns[4] = {0, 1000000000ull, 31000000000ull,
					       600000000000ull};
	static struct reader rd;
	struct iscsi_server_stats st;
	struct iscsi_server *srv;
	struct fake_conn *c;
	struct env *env;
	uint8_t chunk, flags;
	int err = 0;

	if (len < FZ_LOGIN_HDR)
		return 0;
	memset(&rd, 0, sizeof(rd));
	chunk = data[0];
	flags = data[1];
	env = fake_env_new();
	srv = iscsi_server_new(env, &cfg, &err);
	FUZZ_CHECK(srv != NULL, "iscsi_server_new: %d", err);
	FUZZ_CHECK(iscsi_server_start(srv) == 0, "iscsi_server_start");
	c = fake_connect(env);
	FUZZ_CHECK(c != NULL, "fake_connect");
	if (flags & 1)
		fake_conn_set_send_limit(c, 7);
	fake_conn_push(c, data + FZ_LOGIN_HDR, len - FZ_LOGIN_HDR, chunk);
	drain(c, &rd);
	fake_env_advance(env, advance_ns[(flags >> 1) & 3]);
	drain(c, &rd);
	if (flags & 8) {
		if (!fake_conn_closed(c))
			fake_conn_hangup(c);
		fake_env_advance(env, 1000000000ull);
		iscsi_server_get_stats(srv, &st);
		FUZZ_CHECK(st.connections == 0,
			   "%u connection(s) left after hangup",
			   st.connections);
		FUZZ_CHECK(st.buffer_bytes == 0 && st.tasks == 0,
			   "%llu buffer bytes, %u tasks left after hangup",
			   (unsigned long long)st.buffer_bytes, st.tasks);
	}
	iscsi_server_free(srv);
	fake_env_free(env);
	return 0;
}
