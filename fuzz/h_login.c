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
 * Checks, beyond the sanitizers: what the target sends parses as PDUs
 * whose DataSegmentLength never exceeds the 8192 bytes a login phase
 * allows, and the target holds no task buffer once the connection is gone.
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

/* Read back what the target sent, checking its framing. */
static void drain(struct fake_conn *c)
{
	struct iscsi_bhs h;
	uint8_t *d = NULL;

	while (fake_conn_pop_pdu(c, &h, &d) == 0) {
		FUZZ_CHECK(h.opcode >= ISCSI_OP_NOP_IN,
			   "target sent opcode %02x", h.opcode);
		if (h.opcode == ISCSI_OP_LOGIN_RSP)
			FUZZ_CHECK(h.data_len <= 8192,
				   "Login Response of %u data bytes",
				   h.data_len);
		free(d);
		d = NULL;
	}
}

int harness_one(const uint8_t *data, size_t len)
{
	static const uint64_t advance_ns[4] = {0, 1000000000ull, 31000000000ull,
					       600000000000ull};
	struct iscsi_server_stats st;
	struct iscsi_server *srv;
	struct fake_conn *c;
	struct env *env;
	uint8_t chunk, flags;
	int err = 0;

	if (len < FZ_LOGIN_HDR)
		return 0;
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
	drain(c);
	fake_env_advance(env, advance_ns[(flags >> 1) & 3]);
	drain(c);
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
