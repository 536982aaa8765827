/*
 * ctl.h — the control protocol (docs/control.md): one JSON request per
 * line in, one JSON reply per line out, dispatched to the server's
 * operations.  World-free: the daemon's socket (env_real/control.c), the
 * simulator and the fuzz harness all drive it the same way.
 *
 *   request  {"version":1,"command":"lun add","args":{...}}
 *   reply    {"version":1,"ok":true,"result":...}
 *            {"version":1,"ok":false,"error":"why"}
 *
 * Queries answer at once; changes answer when the server has applied
 * them (a removed LUN's commands drained, a shrink done), which may be
 * seconds later: the reply function is then called from a later
 * callback of the server's reactor.
 *
 * Adding a command: one entry in the table of ctl.c (name, handler); the
 * handler reads its arguments from the request's "args" object, writes a
 * result with the jw_* writer or fails with ctl_fail(), and, for a
 * change, edits a copy of the running configuration and hands it to
 * ctl_apply().  Document it in docs/control.md and teach utargetctl its
 * words (tools/utargetctl.c).
 */
#ifndef UT_CTL_H
#define UT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROTOCOL_VERSION 1
#define CTL_LINE_MAX (64u << 10) /* one request, newline excluded */

struct iscsi_server;
struct ut_config;
struct ctl;

/* What the daemon adds to the server's own knowledge. */
struct ctl_hooks {
	const char *version;	 /* utarget's version */
	const char *config_path; /* the -c file, or NULL */
	unsigned int reactors;
	/* Read the configuration again as at start (file and command
	 * line): 0 with *cfg filled, or -1 with "file:line:column: why" in
	 * err.  NULL: reload is refused. */
	int (*reload)(void *arg, struct ut_config *cfg, char *err,
		      size_t errlen);
	void *arg;
};

/* The reply, one line without its newline; NULL when the reply could not
 * be built (out of memory): the caller should drop the client. */
typedef void (*ctl_reply_fn)(void *arg, const char *line);

struct ctl *ctl_new(struct iscsi_server *srv, const struct ctl_hooks *h);
void ctl_free(struct ctl *c);

/* Handle one request (len bytes, no newline).  reply runs exactly once,
 * now or later (see above); the caller keeps arg valid until then. */
void ctl_request(struct ctl *c, const char *line, size_t len,
		 ctl_reply_fn reply, void *arg);

/* Is a change still waiting for its reply? */
bool ctl_busy(const struct ctl *c);

#endif
