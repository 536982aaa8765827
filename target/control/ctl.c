/*
 * ctl.c — the control protocol's dispatch (ctl.h, docs/control.md).
 *
 * A request is parsed strictly (json.c), its command looked up in the
 * table below and its handler run.  Queries build their result from the
 * server (iscsi.h) and its running configuration.  Changes edit a copy of
 * the running configuration, validate it, and hand it to
 * iscsi_server_reconfigure(); the reply goes out when that is done.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "control/ctl.h"
#include "control/json.h"
#include "iscsi/iscsi.h"
#include "scsi/alua.h"
#include "scsi/scsi.h"
#include "control/ctl_int.h"

void ctl_fail(struct req *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

void ctl_send_reply(ctl_reply_fn reply, void *arg, bool ok, const char *result,
		    const char *error)
{
	struct jw w;

	jw_init(&w);
	jw_obj_begin(&w);
	jw_kint(&w, "version", CTL_PROTOCOL_VERSION);
	jw_kbool(&w, "ok", ok);
	if (ok) {
		jw_key(&w, "result");
		jw_json(&w, result);
	} else {
		jw_kstr(&w, "error", error);
	}
	jw_obj_end(&w);
	reply(arg, jw_text(&w));
	jw_free(&w);
}

/* ------------------------------------------------------------- helpers */

/* Every name and value of a request ends up in the configuration, which
 * scst.conf must be able to hold: its lexer refuses control characters, so
 * a request carrying one would leave a running configuration that does not
 * survive its own save (found by fuzz-smoke, h_control). */
static bool ctl_json_has_control(const struct json *j)
{
	switch (j->type) {
	case JSON_STRING:
		return ut_text_has_control(j->s);
	case JSON_ARRAY:
		for (size_t i = 0; i < j->len; i++)
			if (ctl_json_has_control(&j->items[i]))
				return true;
		return false;
	case JSON_OBJECT:
		for (size_t i = 0; i < j->len; i++)
			if (ut_text_has_control(j->members[i].key) ||
			    ctl_json_has_control(&j->members[i].value))
				return true;
		return false;
	default:
		return false;
	}
}

const char *ctl_arg_str(struct req *r, const char *key, bool required)
{
	const char *s = json_get_str(r->args, key);

	if (!s && required)
		ctl_fail(r, "'%s' (a string) is required", key);
	return s;
}

bool ctl_arg_u32(struct req *r, const char *key, uint32_t max, uint32_t *out)
{
	int64_t v;

	if (!json_get_int(r->args, key, &v)) {
		ctl_fail(r, "'%s' (a number) is required", key);
		return false;
	}
	if (v < 0 || v > (int64_t)max) {
		ctl_fail(r, "'%s' must be 0..%u", key, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool ctl_arg_bool(struct req *r, const char *key)
{
	bool b = false;

	(void)json_get_bool(r->args, key, &b);
	return b;
}

/* A size: a number of bytes, or a string with K, M, G or T. */
bool ctl_arg_size(struct req *r, const char *key, uint64_t *out)
{
	const struct json *v = json_get(r->args, key);

	if (v && v->type == JSON_INT && v->i > 0) {
		*out = (uint64_t)v->i;
		return true;
	}
	if (v && v->type == JSON_STRING && ut_size_parse(v->s, out) == 0 &&
	    *out > 0)
		return true;
	ctl_fail(r, "'%s' must be a size (bytes, or with K, M, G, T)", key);
	return false;
}

const char *ctl_kind_name(enum bs_kind k)
{
	switch (k) {
	case BS_MEM:
		return "mem";
	case BS_NULL:
		return "null";
	case BS_FILE:
		return "file";
	case BS_BLOCK:
		return "block";
	default:
		return "sim";
	}
}

void ctl_isid_hex(const uint8_t isid[6], char out[13])
{
	snprintf(out, 13, "%02x%02x%02x%02x%02x%02x", isid[0], isid[1], isid[2],
		 isid[3], isid[4], isid[5]);
}

/* --------------------------------------------------------------- table */

static const struct {
	const char *name;
	void (*fn)(struct req *r);
} commands[] = {
	{"status", ctl_q_status},
	{"targets", ctl_q_targets},
	{"luns", ctl_q_luns},
	{"sessions", ctl_q_sessions},
	{"stats", ctl_q_stats},
	{"config", ctl_q_config},
	{"lun add", ctl_c_lun_add},
	{"lun remove", ctl_c_lun_remove},
	{"lun resize", ctl_c_lun_resize},
	{"target add", ctl_c_target_add},
	{"target remove", ctl_c_target_remove},
	{"target enable", ctl_c_target_enable_on},
	{"target disable", ctl_c_target_disable},
	{"group add", ctl_c_group_add},
	{"group remove", ctl_c_group_remove},
	{"initiator add", ctl_c_initiator_add},
	{"initiator remove", ctl_c_initiator_remove},
	{"attr set", ctl_c_attr_set},
	{"session close", ctl_c_session_close},
	{"alua", ctl_q_alua},
	{"alua set", ctl_c_alua_set},
	{"reload", ctl_c_reload},
};

struct ctl *ctl_new(struct iscsi_server *srv, const struct ctl_hooks *h)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	if (h)
		c->h = *h;
	return c;
}

void ctl_free(struct ctl *c)
{
	free(c);
}

bool ctl_busy(const struct ctl *c)
{
	return c->busy;
}

void ctl_request(struct ctl *c, const char *line, size_t len,
		 ctl_reply_fn reply, void *arg)
{
	static const struct json empty = {.type = JSON_OBJECT};
	struct req r = {.c = c};
	struct json req;
	const char *cmd;
	int64_t version;

	jw_init(&r.out);
	if (len > CTL_LINE_MAX) {
		ctl_send_reply(reply, arg, false, NULL, "request too long");
		return;
	}
	if (json_parse(line, len, &req, r.err, sizeof(r.err))) {
		ctl_send_reply(reply, arg, false, NULL, r.err);
		return;
	}
	if (req.type != JSON_OBJECT) {
		ctl_fail(&r, "a request is a JSON object");
	} else if (!json_get_int(&req, "version", &version) ||
		   version != CTL_PROTOCOL_VERSION) {
		ctl_fail(&r,
			 "unsupported protocol version (this daemon speaks "
			 "version %d)",
			 CTL_PROTOCOL_VERSION);
	} else if (!(cmd = json_get_str(&req, "command"))) {
		ctl_fail(&r, "'command' (a string) is required");
	} else {
		const struct json *a = json_get(&req, "args");
		size_t i;

		r.args = a ? a : &empty;
		if (r.args->type != JSON_OBJECT)
			ctl_fail(&r, "'args' must be an object");
		else if (ctl_json_has_control(r.args))
			ctl_fail(&r, "an argument holds a control character "
				     "(names, values and secrets are text)");
		for (i = 0;
		     !r.failed && i < sizeof(commands) / sizeof(*commands);
		     i++) {
			if (strcmp(commands[i].name, cmd))
				continue;
			commands[i].fn(&r);
			break;
		}
		if (!r.failed && i == sizeof(commands) / sizeof(*commands))
			ctl_fail(&r, "unknown command '%.64s'", cmd);
	}
	json_free(&req);
	if (r.failed) {
		ctl_send_reply(reply, arg, false, NULL, r.err);
	} else if (r.async) {
		c->busy = true;
		c->reply = reply;
		c->reply_arg = arg;
	} else if (!jw_text(&r.out)) {
		ctl_send_reply(reply, arg, false, NULL, "out of memory");
	} else {
		ctl_send_reply(reply, arg, true,
			       r.out.len ? jw_text(&r.out) : "null", NULL);
	}
	jw_free(&r.out);
}
