/*
 * h_control.c — the control protocol (control/ctl.c and json.c) and the
 * live reconfiguration behind it (iscsi/reconfig.c), on the fuzz world's
 * server in the fake environment.
 *
 * Input: lines, each one request (at most FZ_CTL_LINES of them), handed
 * to ctl_request() as the control socket would; after each the fake clock
 * runs until a change is done.  Checked: every request gets exactly one
 * reply, a JSON object with "version":1 and "ok", and an "error" string
 * when not ok; the running configuration stays valid and survives its
 * own save (ut_config_write, parse, equal).  Backstores are mem and null
 * only: the fake environment opens no file.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "control/ctl.h"
#include "control/json.h"
#include "fake_env.h"
#include "iscsi/iscsi.h"
#include "shim.h"
#include "world.h"

#define FZ_CTL_LINES 32

static struct ut_config cfg;

void harness_init(void)
{
	fz_world_config(&cfg, false);
}

struct reply {
	unsigned int count;
	bool ok;
};

static void on_reply(void *arg, const char *line)
{
	struct reply *r = arg;
	struct json j;
	char err[200];
	int64_t v = 0;

	r->count++;
	FUZZ_CHECK(line != NULL, "no reply text");
	FUZZ_CHECK(strchr(line, '\n') == NULL, "reply spans lines: %s", line);
	FUZZ_CHECK(json_parse(line, strlen(line), &j, err, sizeof(err)) == 0,
		   "reply is not JSON (%s): %s", err, line);
	FUZZ_CHECK(j.type == JSON_OBJECT, "reply is no object: %s", line);
	FUZZ_CHECK(json_get_int(&j, "version", &v) && v == 1,
		   "reply without version 1: %s", line);
	FUZZ_CHECK(json_get_bool(&j, "ok", &r->ok), "reply without ok: %s",
		   line);
	FUZZ_CHECK(r->ok ? json_get(&j, "result") != NULL
			 : json_get_str(&j, "error") != NULL,
		   "reply without result or error: %s", line);
	json_free(&j);
}

/* The reload hook: the world's configuration again. */
static int reload(void *arg, struct ut_config *out, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	return ut_config_copy(out, &cfg);
}

static void check_config(struct iscsi_server *srv)
{
	const struct ut_config *run = iscsi_server_config(srv);
	struct ut_config back;
	char *text;
	size_t len;

	FUZZ_CHECK(ut_config_validate(run, NULL, NULL) == 0,
		   "the running configuration does not validate");
	if (ut_config_write(run, &text, &len))
		return; /* out of memory */
	ut_config_init(&back);
	FUZZ_CHECK(ut_config_parse(&back, "saved", text, len, NULL, NULL) ==
				   0 &&
			   ut_config_equal(run, &back),
		   "the saved configuration reads back different:\n%s", text);
	ut_config_free(&back);
	free(text);
}

int harness_one(const uint8_t *data, size_t len)
{
	struct ctl_hooks h = {.version = "fuzz", .reload = reload};
	struct iscsi_server *srv;
	struct ctl *ctl;
	struct env *env;
	size_t start = 0;
	unsigned int lines = 0;
	int err = 0;

	env = fake_env_new();
	srv = iscsi_server_new(env, &cfg, &err);
	FUZZ_CHECK(srv != NULL, "iscsi_server_new: %d", err);
	FUZZ_CHECK(iscsi_server_start(srv) == 0, "iscsi_server_start");
	ctl = ctl_new(srv, &h);
	FUZZ_CHECK(ctl != NULL, "ctl_new");
	while (start < len && lines++ < FZ_CTL_LINES) {
		const uint8_t *nl = memchr(data + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - data) : len;
		struct reply r = {0};
		/* An exact-size copy: ASan sees any read past the line. */
		char *line = malloc(end - start + 1);

		if (!line)
			abort();
		memcpy(line, data + start, end - start);
		ctl_request(ctl, line, end - start, on_reply, &r);
		free(line);
		/* A change answers when it is done: drain time and more. */
		for (int i = 0; i < 4000 && r.count == 0; i++)
			fake_env_advance(env, 10ull * 1000000ull);
		FUZZ_CHECK(r.count == 1, "%u replies to one request", r.count);
		FUZZ_CHECK(!ctl_busy(ctl), "a change never finished");
		start = end + 1;
	}
	check_config(srv);
	ctl_free(ctl);
	iscsi_server_free(srv);
	fake_env_free(env);
	return 0;
}
