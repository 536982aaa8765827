/*
 * ctl_int.h — what ctl.c (dispatch, helpers), ctl_query.c (queries,
 * ALUA) and ctl_change.c (changes) share.
 */
#ifndef UT_CTL_INT_H
#define UT_CTL_INT_H

#include <stdbool.h>

#include "control/ctl.h"
#include "control/json.h"
#include "iscsi/iscsi.h"

struct ctl {
	struct iscsi_server *srv;
	struct ctl_hooks h;
	/* The change waiting for its reply (one at a time). */
	bool busy;
	ctl_reply_fn reply;
	void *reply_arg;
	char what[64];
};

/* One request being handled. */
struct req {
	struct ctl *c;
	const struct json *args; /* an object (maybe empty) */
	struct jw out;		 /* the result value */
	char err[1024];
	bool failed;
	bool async; /* a change: the reply comes later */
};

/* ctl.c */
void ctl_fail(struct req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_send_reply(ctl_reply_fn reply, void *arg, bool ok, const char *result,
		    const char *error);
const char *ctl_arg_str(struct req *r, const char *key, bool required);
bool ctl_arg_u32(struct req *r, const char *key, uint32_t max, uint32_t *out);
bool ctl_arg_bool(struct req *r, const char *key);
bool ctl_arg_size(struct req *r, const char *key, uint64_t *out);
const char *ctl_kind_name(enum bs_kind k);
void ctl_isid_hex(const uint8_t isid[6], char out[13]);

/* ctl_query.c */
void ctl_q_status(struct req *r);
void ctl_q_targets(struct req *r);
void ctl_q_luns(struct req *r);
void ctl_q_sessions(struct req *r);
void ctl_q_stats(struct req *r);
void ctl_q_config(struct req *r);
void ctl_q_alua(struct req *r);
void ctl_c_alua_set(struct req *r);

/* ctl_change.c */
void ctl_c_lun_add(struct req *r);
void ctl_c_lun_remove(struct req *r);
void ctl_c_lun_resize(struct req *r);
void ctl_c_target_add(struct req *r);
void ctl_c_target_remove(struct req *r);
void ctl_c_target_enable_on(struct req *r);
void ctl_c_target_disable(struct req *r);
void ctl_c_group_add(struct req *r);
void ctl_c_group_remove(struct req *r);
void ctl_c_initiator_add(struct req *r);
void ctl_c_initiator_remove(struct req *r);
void ctl_c_attr_set(struct req *r);
void ctl_c_session_close(struct req *r);
void ctl_c_reload(struct req *r);

#endif
