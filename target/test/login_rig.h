/*
 * login_rig.h — a whole target in the fake environment, built from an
 * scst.conf text, with a test playing the initiator through logins,
 * SendTargets and SCSI commands.  Shared by test_chap.c and test_acl.c;
 * everything is static inline so that each test takes what it uses.
 *
 * Every log line the target writes (at TRACE level) is kept in r->log so
 * that tests can check what never appears there (secrets).
 */
#ifndef UT_TEST_LOGIN_RIG_H
#define UT_TEST_LOGIN_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "env.h"
#include "fake_env.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "iscsi/text.h"
#include "scsi/scsi.h"

#define RIG_LOG_MAX (1u << 20)

struct rig {
	struct env *env;
	struct iscsi_server *srv;
	struct fake_conn *c;
	struct env_ops ops; /* the fake's, with log captured */
	uint32_t cmdsn;
	uint32_t itt;
	uint16_t isid_low;
	char *log;
	size_t log_len;
};

/* The log sink has no argument but the env: one rig at a time. */
static struct rig *rig_current;

static inline void rig_log(struct env *e, enum ut_log_level lvl,
			   const char *line)
{
	struct rig *r = rig_current;
	size_t n = strlen(line);

	(void)e;
	if (getenv("RIG_LOG"))
		fprintf(stderr, "[%s] %s\n", ut_log_level_name(lvl), line);
	if (r && r->log_len + n + 2 < RIG_LOG_MAX) {
		memcpy(r->log + r->log_len, line, n);
		r->log_len += n;
		r->log[r->log_len++] = '\n';
		r->log[r->log_len] = '\0';
	}
}

/* A target built from conf on env (a fake environment; second: its other
 * reactor's face from fake_env_new_reactors(), or NULL), logs captured. */
static inline struct rig *rig_new_on(const char *conf, struct env *env,
				     struct env *second)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct ut_config cfg;
	int err = 0;

	assert_non_null(r);
	r->log = calloc(1, RIG_LOG_MAX);
	assert_non_null(r->log);
	r->env = env;
	r->ops = *r->env->ops;
	r->ops.log = rig_log;
	r->env->ops = &r->ops;
	r->env->log_level = UT_LOG_TRACE;
	if (second) {
		second->ops = &r->ops;
		second->log_level = UT_LOG_TRACE;
	}
	rig_current = r;
	ut_config_init(&cfg);
	assert_int_equal(ut_config_parse(&cfg, "rig.conf", conf, strlen(conf),
					 NULL, NULL),
			 0);
	assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
	r->srv = iscsi_server_new(r->env, &cfg, &err);
	assert_non_null(r->srv);
	assert_int_equal(iscsi_server_start(r->srv), 0);
	ut_config_free(&cfg);
	return r;
}

static inline struct rig *rig_new(const char *conf)
{
	return rig_new_on(conf, fake_env_new(), NULL);
}

static inline void rig_free(struct rig *r)
{
	iscsi_server_free(r->srv);
	fake_env_free(r->env);
	rig_current = NULL;
	free(r->log);
	free(r);
}

/* A fresh connection (and a fresh ISID, so sessions do not reinstate). */
static inline void rig_connect(struct rig *r)
{
	r->c = fake_connect(r->env);
	assert_non_null(r->c);
	r->cmdsn = 1;
	r->itt = 0x100;
	r->isid_low++;
}

/* Key=value text being built. */
struct rig_text {
	char *buf;
	size_t len;
	size_t cap;
};

static inline void rig_text_add(struct rig_text *t, const char *key,
				const char *value)
{
	size_t need = strlen(key) + strlen(value) + 2;

	if (t->len + need > t->cap) {
		t->cap = (t->len + need) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	t->len += (size_t)sprintf(t->buf + t->len, "%s=%s", key, value) + 1;
}

static inline void rig_text_free(struct rig_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static inline void rig_send(struct rig *r, struct iscsi_bhs *h,
			    const void *data, uint32_t len)
{
	uint8_t *raw = calloc(1, ISCSI_BHS_LEN + len + 4);

	assert_non_null(raw);
	h->data_len = len;
	iscsi_bhs_encode(h, raw);
	if (len)
		memcpy(raw + ISCSI_BHS_LEN, data, len);
	fake_conn_push(r->c, raw, ISCSI_BHS_LEN + len + iscsi_pad4(len), 0);
	free(raw);
}

/* Outcome of one login request. */
struct rig_login_rsp {
	uint16_t status; /* class << 8 | detail */
	bool transit;
	int csg, nsg;
	uint16_t tsih;
	struct iscsi_kvlist kv;
	bool closed; /* the target closed the connection */
};

static inline void rig_login_rsp_free(struct rig_login_rsp *rsp)
{
	iscsi_kvlist_free(&rsp->kv);
}

/* Send one login request (text split into 8192-byte PDUs with C=1 as
 * needed; the target's empty acknowledgements are consumed) and read the
 * response.  rsp->kv must be freed with rig_login_rsp_free(). */
static inline void rig_login(struct rig *r, int csg, int nsg, bool transit,
			     const struct rig_text *t,
			     struct rig_login_rsp *rsp)
{
	struct iscsi_bhs h, in;
	size_t off = 0, len = t ? t->len : 0;
	uint8_t *data = NULL;

	memset(rsp, 0, sizeof(*rsp));
	iscsi_kvlist_init(&rsp->kv);
	do {
		uint32_t n = len - off > 8192 ? 8192 : (uint32_t)(len - off);
		bool more = off + n < len;

		memset(&h, 0, sizeof(h));
		h.opcode = ISCSI_OP_LOGIN_REQ;
		h.immediate = true;
		h.flags = (uint8_t)(csg << 2);
		if (more)
			h.flags |= ISCSI_LOGIN_F_CONTINUE;
		else if (transit)
			h.flags |= (uint8_t)(ISCSI_LOGIN_F_TRANSIT | nsg);
		h.lun = (0x400001370000ull | r->isid_low) << 16;
		h.itt = 1;
		h.w24 = r->cmdsn;
		rig_send(r, &h, t ? t->buf + off : NULL, n);
		off += n;
		if (more) {
			if (fake_conn_pop_pdu(r->c, &in, &data) != 0)
				break;
			free(data);
			data = NULL;
			if ((in.w36 >> 16) != 0)
				break; /* failed mid-continuation */
		}
	} while (off < len);
	if (fake_conn_pop_pdu(r->c, &in, &data) == 0) {
		assert_int_equal(in.opcode, ISCSI_OP_LOGIN_RSP);
		rsp->status = (uint16_t)(in.w36 >> 16);
		rsp->transit = in.flags & ISCSI_LOGIN_F_TRANSIT;
		rsp->csg = ISCSI_LOGIN_CSG(in.flags);
		rsp->nsg = ISCSI_LOGIN_NSG(in.flags);
		rsp->tsih = (uint16_t)in.lun;
		if (data)
			assert_int_equal(iscsi_text_parse(data, in.data_len,
							  &rsp->kv),
					 TEXT_OK);
		free(data);
	} else {
		rsp->status = 0xffff; /* nothing came back */
	}
	rsp->closed = fake_conn_closed(r->c);
}

/* The identity keys of a first login request. */
static inline void rig_text_identity(struct rig_text *t, const char *ini,
				     const char *target)
{
	rig_text_add(t, "InitiatorName", ini);
	rig_text_add(t, "SessionType", target ? "Normal" : "Discovery");
	if (target)
		rig_text_add(t, "TargetName", target);
}

/* Operational stage to full feature phase; asserts success. */
static inline void rig_login_finish(struct rig *r)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	rig_text_add(&t, "HeaderDigest", "None");
	rig_text_add(&t, "DataDigest", "None");
	rig_text_add(&t, "MaxRecvDataSegmentLength", "8192");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	assert_int_equal(rsp.status, 0);
	assert_true(rsp.transit);
	assert_int_equal(rsp.nsg, ISCSI_STAGE_FULL_FEATURE);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
}

/* Login without authentication, straight from the operational stage.
 * Returns the login status (0 = in full feature phase). */
static inline uint16_t rig_login_plain(struct rig *r, const char *ini,
				       const char *target)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	uint16_t st;

	rig_connect(r);
	rig_text_identity(&t, ini, target);
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	st = rsp.status;
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	if (st == 0)
		rig_login_finish(r);
	return st;
}

/* SendTargets=value in the session's Text exchange; the answer's keys. */
static inline void rig_sendtargets(struct rig *r, const char *value,
				   struct iscsi_kvlist *out)
{
	struct rig_text t = {0};
	struct iscsi_bhs h = {0}, in;
	uint8_t *data = NULL;

	rig_text_add(&t, "SendTargets", value);
	h.opcode = ISCSI_OP_TEXT_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = ++r->itt;
	h.w20 = 0xffffffff; /* TTT */
	h.w24 = r->cmdsn;
	rig_send(r, &h, t.buf, (uint32_t)t.len);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &data), 0);
	assert_int_equal(in.opcode, ISCSI_OP_TEXT_RSP);
	/* SendTargets answers repeat keys (TargetName, TargetAddress), which
	 * iscsi_text_parse() refuses in a negotiation: split it here. */
	iscsi_kvlist_init(out);
	for (uint32_t pos = 0; data && pos < in.data_len;) {
		char *kv = (char *)data + pos;
		size_t len = strnlen(kv, in.data_len - pos);
		char *eq = memchr(kv, '=', len);

		assert_true(pos + len < in.data_len); /* NUL-terminated */
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(iscsi_kv_add(out, kv, eq + 1), 0);
		pos += (uint32_t)len + 1;
	}
	free(data);
	rig_text_free(&t);
}

/* Outcome of one SCSI command. */
struct rig_scsi {
	uint8_t status;
	uint8_t sense_key;
	uint16_t asc; /* ASC << 8 | ASCQ */
	uint8_t data[4096];
	uint32_t data_len;
};

/* One SCSI command without data-out; collects Data-In and the status. */
static inline void rig_scsi(struct rig *r, uint64_t lun, const uint8_t *cdb,
			    uint32_t edtl, struct rig_scsi *out)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	memset(out, 0, sizeof(*out));
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.flags = ISCSI_FLAG_FINAL | SCSI_TASK_SIMPLE |
		  (edtl ? ISCSI_CMD_F_READ : 0);
	h.lun = iscsi_lun_encode(lun);
	h.itt = ++r->itt;
	h.w20 = edtl;
	h.w24 = r->cmdsn++;
	memcpy(h.cdb, cdb, 16);
	rig_send(r, &h, NULL, 0);
	for (;;) {
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		if (in.opcode == ISCSI_OP_DATA_IN) {
			uint32_t off = in.w40;

			assert_true(off + in.data_len <= sizeof(out->data));
			memcpy(out->data + off, d, in.data_len);
			if (off + in.data_len > out->data_len)
				out->data_len = off + in.data_len;
			free(d);
			d = NULL;
			if (in.flags & ISCSI_DATAIN_F_STATUS) {
				out->status = in.b3;
				return;
			}
			continue;
		}
		assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
		out->status = in.b3;
		if (out->status == SCSI_STATUS_CHECK_CONDITION && d) {
			const uint8_t *s = d + 2; /* SenseLength first */

			if ((s[0] & 0x7f) == 0x72) {
				out->sense_key = s[1] & 0xf;
				out->asc = (uint16_t)(s[2] << 8 | s[3]);
			} else {
				out->sense_key = s[2] & 0xf;
				out->asc = (uint16_t)(s[12] << 8 | s[13]);
			}
		}
		free(d);
		return;
	}
}

/* TEST UNIT READY until the unit attentions of a new nexus are gone;
 * returns the final outcome. */
static inline void rig_tur(struct rig *r, uint64_t lun, struct rig_scsi *out)
{
	uint8_t cdb[16] = {0};

	for (int i = 0; i < 8; i++) {
		rig_scsi(r, lun, cdb, 0, out);
		if (out->sense_key != 0x6) /* UNIT ATTENTION */
			return;
	}
}

#endif
