/*
 * rig.c — the iSCSI test rig of rig.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"

/* The log sink has no argument but the env: one rig at a time. */
static struct rig *rig_current;

static void rig_log(struct env *e, enum ut_log_level lvl, const char *line)
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

/* A target from cfg on env (second: the other reactor's face, or NULL). */
static struct rig *rig_new_cfg(struct ut_config *cfg, struct env *env,
			       struct env *second)
{
	struct rig *r = calloc(1, sizeof(*r));
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
	r->srv = iscsi_server_new(r->env, cfg, &err);
	assert_non_null(r->srv);
	assert_int_equal(iscsi_server_start(r->srv), 0);
	return r;
}

struct rig *rig_new_on(const char *conf, struct env *env, struct env *second)
{
	struct ut_config cfg;
	struct rig *r;

	ut_config_init(&cfg);
	assert_int_equal(ut_config_parse(&cfg, "rig.conf", conf, strlen(conf),
					 NULL, NULL),
			 0);
	assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
	r = rig_new_cfg(&cfg, env, second);
	ut_config_free(&cfg);
	return r;
}

struct rig *rig_new_default(void)
{
	struct ut_config cfg;
	struct rig *r;

	ut_config_init(&cfg);
	assert_int_equal(ut_config_default(&cfg), 0);
	cfg.devs[0].size_bytes = 16u << 20; /* 16 MiB mem LUN */
	r = rig_new_cfg(&cfg, fake_env_new(), NULL);
	ut_config_free(&cfg);
	return r;
}

struct rig *rig_new(const char *conf)
{
	return rig_new_on(conf, fake_env_new(), NULL);
}

void rig_free(struct rig *r)
{
	iscsi_server_free(r->srv);
	r->srv = NULL;
	assert_int_equal(fake_env_mutexes_live(r->env), 0);
	assert_int_equal(fake_env_timers_live(r->env), 0);
	fake_env_free(r->env);
	rig_current = NULL;
	free(r->log);
	free(r);
}

/* A fresh connection (and a fresh ISID, so sessions do not reinstate). */
void rig_connect(struct rig *r)
{
	r->c = fake_connect_to(r->env, r->listener, NULL);
	assert_non_null(r->c);
	r->cmdsn = 1;
	r->itt = 0x100;
	r->isid_low++;
}

void rig_text_add(struct rig_text *t, const char *key, const char *value)
{
	size_t need = strlen(key) + strlen(value) + 2;

	if (t->len + need > t->cap) {
		t->cap = (t->len + need) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	t->len += (size_t)sprintf(t->buf + t->len, "%s=%s", key, value) + 1;
}

void rig_text_free(struct rig_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

void rig_send(struct rig *r, struct iscsi_bhs *h, const void *data,
	      uint32_t len)
{
	uint8_t *raw = calloc(1, ISCSI_BHS_LEN + len + 4);

	assert_non_null(raw);
	h->data_len = len;
	iscsi_bhs_encode(h, raw);
	if (len)
		memcpy(raw + ISCSI_BHS_LEN, data, len);
	fake_conn_push(r->c, raw, ISCSI_BHS_LEN + len + iscsi_pad4(len),
		       r->chunk);
	free(raw);
}

void rig_expect_pdu(struct rig *r, uint8_t opcode, struct iscsi_bhs *h,
		    uint8_t **data)
{
	uint8_t *d = NULL;

	assert_int_equal(fake_conn_pop_pdu(r->c, h, &d), 0);
	assert_int_equal(h->opcode, opcode);
	if (data)
		*data = d;
	else
		free(d);
}

void rig_login_rsp_free(struct rig_login_rsp *rsp)
{
	iscsi_kvlist_free(&rsp->kv);
}

/* Send one login request (text split into 8192-byte PDUs with C=1 as
 * needed; the target's empty acknowledgements are consumed) and read the
 * response.  rsp->kv must be freed with rig_login_rsp_free(). */
void rig_login(struct rig *r, int csg, int nsg, bool transit,
	       const struct rig_text *t, struct rig_login_rsp *rsp)
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
		rsp->exp_cmdsn = in.w28;
		rsp->max_cmdsn = in.w32;
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
void rig_text_identity(struct rig_text *t, const char *ini, const char *target)
{
	rig_text_add(t, "InitiatorName", ini);
	rig_text_add(t, "SessionType", target ? "Normal" : "Discovery");
	if (target)
		rig_text_add(t, "TargetName", target);
}

/* Operational stage to full feature phase; asserts success. */
void rig_login_finish(struct rig *r)
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
uint16_t rig_login_plain(struct rig *r, const char *ini, const char *target)
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

void rig_logout(struct rig *r)
{
	struct iscsi_bhs rsp;

	rig_logout_send(r);
	rig_expect_pdu(r, ISCSI_OP_LOGOUT_RSP, &rsp, NULL);
	assert_int_equal(rsp.b2, ISCSI_LOGOUT_RSP_OK);
	assert_true(fake_conn_closed(r->c));
}

/* SendTargets=value in the session's Text exchange; the answer's keys. */
void rig_sendtargets(struct rig *r, const char *value, struct iscsi_kvlist *out)
{
	struct rig_text t = {0};
	struct iscsi_bhs in;
	uint8_t *data = NULL;

	rig_text_add(&t, "SendTargets", value);
	rig_text_send(r, t.buf, (uint32_t)t.len);
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

/* ------------------------------------------------------- requests */

void rig_nop_out(struct rig *r, const void *data, uint32_t len)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_NOP_OUT;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = ++r->itt;
	h.ttt = ISCSI_RESERVED_TAG;
	h.cmdsn = r->cmdsn;
	rig_send(r, &h, data, len);
}

void rig_text_send(struct rig *r, const void *text, uint32_t len)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_TEXT_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = ++r->itt;
	h.ttt = ISCSI_RESERVED_TAG;
	h.cmdsn = r->cmdsn;
	rig_send(r, &h, text, len);
}

void rig_tmf_send_lun(struct rig *r, uint8_t fn, uint64_t lun, uint32_t rtt,
		      uint32_t refcmdsn)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_TMF_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | fn;
	h.lun = iscsi_lun_encode(lun);
	h.itt = ++r->itt;
	h.ref_task_tag = rtt;
	h.cmdsn = r->cmdsn;
	h.ref_cmdsn = refcmdsn;
	rig_send(r, &h, NULL, 0);
}

void rig_tmf_send(struct rig *r, uint8_t fn, uint32_t rtt, uint32_t refcmdsn)
{
	rig_tmf_send_lun(r, fn, 0, rtt, refcmdsn);
}

void rig_logout_send(struct rig *r)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_LOGOUT_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	h.itt = ++r->itt;
	h.cmdsn = r->cmdsn;
	rig_send(r, &h, NULL, 0);
}

void rig_answer_r2t(struct rig *r, const struct iscsi_bhs *r2t,
		    const uint8_t *data)
{
	static const uint8_t zeros[1024];
	uint32_t len = r2t->desired_length, off = r2t->buffer_offset;
	struct iscsi_bhs h;

	for (uint32_t done = 0, sn = 0; done < len; sn++) {
		uint32_t n = len - done > 1024 ? 1024 : len - done;

		memset(&h, 0, sizeof(h));
		h.opcode = ISCSI_OP_DATA_OUT;
		h.flags = done + n == len ? ISCSI_FLAG_FINAL : 0;
		h.lun = iscsi_lun_encode(0);
		h.itt = r2t->itt;
		h.ttt = r2t->ttt;
		h.data_sn = sn;
		h.buffer_offset = off + done;
		rig_send(r, &h, data ? data + off + done : zeros, n);
		done += n;
	}
}

/* ------------------------------------------------------------ SCSI */

void rig_scsi_send(struct rig *r, uint64_t lun, const uint8_t *cdb,
		   uint8_t flags, uint32_t edtl, const void *imm,
		   uint32_t imm_len)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_SCSI_CMD;
	h.flags = ISCSI_FLAG_FINAL | SCSI_TASK_SIMPLE | flags;
	h.lun = iscsi_lun_encode(lun);
	h.itt = ++r->itt;
	h.w20 = edtl;
	h.w24 = r->cmdsn++;
	/* The CDB's own length (its group code), not 16: callers pass
	 * 6- and 10-byte arrays (ASan caught the over-read). */
	memcpy(h.cdb, cdb,
	       scsi_cdb_length(cdb[0]) ? scsi_cdb_length(cdb[0]) : 16);
	rig_send(r, &h, imm, imm_len);
}

/* One SCSI command without data-out; collects Data-In and the status. */
void rig_scsi(struct rig *r, uint64_t lun, const uint8_t *cdb, uint32_t edtl,
	      struct rig_scsi *out)
{
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	memset(out, 0, sizeof(*out));
	rig_scsi_send(r, lun, cdb, edtl ? ISCSI_CMD_F_READ : 0, edtl, NULL, 0);
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
void rig_tur(struct rig *r, uint64_t lun, struct rig_scsi *out)
{
	uint8_t cdb[16] = {0};

	for (int i = 0; i < 8; i++) {
		rig_scsi(r, lun, cdb, 0, out);
		if (out->sense_key != 0x6) /* UNIT ATTENTION */
			return;
	}
}
