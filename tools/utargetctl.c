/*
 * utargetctl — administer a running utarget through its control socket
 * (docs/control.md, utargetctl(8)).
 *
 *   utargetctl [--control PATH] [--json] [--timeout S] COMMAND ...
 *
 * One request, one reply: the words of the command line become a JSON
 * request, the reply is printed as text (or, with --json, the reply's
 * result as one JSON document).  Exit status 0 on success; otherwise 1
 * (the daemon refused) or 2 (usage, connection), with one line on stderr
 * saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/json.h"

#define DEFAULT_CONTROL "/run/utarget/utarget.sock"
#define REPLY_MAX (256u << 20)

static bool opt_json;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: utargetctl [--control PATH] [--json] [--timeout S] COMMAND\n"
		"Talk to a running utarget (default socket " DEFAULT_CONTROL
		").\n"
		"\n"
		"Queries:\n"
		"  status                       version, uptime, reactors, portals\n"
		"  targets                      targets, their LUN counts and sessions\n"
		"  luns [TARGET]                LUNs: backing, size, block size, ro, thin\n"
		"  sessions                     sessions and every negotiated parameter\n"
		"  stats [DEVICE | TARGET LUN]  I/O counters and latency percentiles\n"
		"  config                       the running configuration (scst.conf)\n"
		"  alua [DEVICE_GROUP]          ALUA device groups: target port\n"
		"                               groups, their states and ports\n"
		"Changes (applied live; sessions stay):\n"
		"  lun add TARGET LUN SPEC [--group G] [--device NAME]\n"
		"                               SPEC as utarget --lun: mem:64M,\n"
		"                               null:1T, file:PATH[,size=10G][,ro]...\n"
		"  lun remove TARGET LUN [--group G] [--drain-ms MS]\n"
		"  lun resize TARGET LUN SIZE [--group G]\n"
		"  target add|remove|enable TARGET\n"
		"  target disable TARGET [--force]\n"
		"  group add|remove TARGET GROUP\n"
		"  initiator add|remove TARGET GROUP INITIATOR\n"
		"  attr set target TARGET KEY VALUE   (alias, QueuedCommands, ...)\n"
		"  attr set device DEVICE KEY VALUE   (size, read_only, usn, ...)\n"
		"  session close TSIH\n"
		"  alua set [DEVICE_GROUP] TPG STATE\n"
		"                               TPG: group_id or TARGET_GROUP name;\n"
		"                               STATE: active, nonoptimized, standby,\n"
		"                               unavailable, offline, transitioning\n"
		"  save [FILE]                  write the running configuration\n"
		"                               (default: the daemon's -c file),\n"
		"                               atomically, mode 0600\n"
		"  reload                       re-read the configuration file\n"
		"\n"
		"Exit status: 0 success, 1 refused by the daemon, 2 usage or "
		"connection.\n");
}

static void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("utargetctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ------------------------------------------------------------ transport */

static char *roundtrip(const char *path, const char *req, int timeout_s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(req), off = 0, cap = 65536, got = 0;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die(2, "%s: path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die(2, "cannot connect to %s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		/* A daemon that refuses us (SO_PEERCRED, too many clients)
		 * answers at once and closes, maybe before our request is
		 * sent: its answer is still there to read. */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n <= 0)
			die(2, "%s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	buf = malloc(cap);
	if (!buf)
		die(2, "out of memory");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int pr = poll(&p, 1, timeout_s * 1000);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			die(2, "no reply from %s within %d s", path, timeout_s);
		if (got + 1 >= cap) {
			if (cap >= REPLY_MAX)
				die(2, "reply too long");
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				die(2, "out of memory");
		}
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(2, "%s: %s", path, strerror(errno));
		if (n == 0)
			die(2, "%s closed the connection without a reply",
			    path);
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	close(fd);
	*(char *)memchr(buf, '\n', got) = '\0';
	return buf;
}

/* ---------------------------------------------------------- formatting */

static const char *js(const struct json *j, const char *k)
{
	const char *s = json_get_str(j, k);

	return s ? s : "-";
}

static long long ji(const struct json *j, const char *k)
{
	int64_t v = 0;

	(void)json_get_int(j, k, &v);
	return (long long)v;
}

static const char *jb(const struct json *j, const char *k)
{
	bool b = false;

	(void)json_get_bool(j, k, &b);
	return b ? "yes" : "no";
}

static void human_size(unsigned long long b, char *out, size_t cap)
{
	static const char u[] = "KMGTPE";
	double v = (double)b;
	int i = -1;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(out, cap, "%llu", b);
	else
		snprintf(out, cap, "%.4g%c", v, u[i]);
}

static void emit(struct jw *w, const struct json *v)
{
	switch (v->type) {
	case JSON_NULL:
		jw_null(w);
		break;
	case JSON_BOOL:
		jw_bool(w, v->b);
		break;
	case JSON_INT:
		jw_int(w, v->i);
		break;
	case JSON_STRING:
		jw_strn(w, v->s, v->len);
		break;
	case JSON_ARRAY:
		jw_arr_begin(w);
		for (size_t i = 0; i < v->len; i++)
			emit(w, &v->items[i]);
		jw_arr_end(w);
		break;
	case JSON_OBJECT:
		jw_obj_begin(w);
		for (size_t i = 0; i < v->len; i++) {
			jw_key(w, v->members[i].key);
			emit(w, &v->members[i].value);
		}
		jw_obj_end(w);
		break;
	}
}

static void show_status(const struct json *r)
{
	const struct json *p = json_get(r, "portals");

	printf("version      %s\n", js(r, "version"));
	printf("uptime       %lld s\n", ji(r, "uptime_s"));
	printf("reactors     %lld\n", ji(r, "reactors"));
	printf("portals     ");
	for (size_t i = 0; p && p->type == JSON_ARRAY && i < p->len; i++)
		printf(" %s",
		       p->items[i].type == JSON_STRING ? p->items[i].s : "?");
	printf("\n");
	printf("targets      %lld\n", ji(r, "targets"));
	printf("devices      %lld\n", ji(r, "devices"));
	printf("sessions     %lld\n", ji(r, "sessions"));
	printf("connections  %lld\n", ji(r, "connections"));
	printf("commands     %lld in flight, %lld done\n", ji(r, "tasks"),
	       ji(r, "scsi_commands"));
	if (json_get(r, "config"))
		printf("config       %s\n", js(r, "config"));
}

static void show_targets(const struct json *r)
{
	printf("%-48s %-7s %4s %8s  %s\n", "TARGET", "ENABLED", "LUNS",
	       "SESSIONS", "ALIAS");
	for (size_t i = 0; i < r->len; i++) {
		const struct json *t = &r->items[i];

		printf("%-48s %-7s %4lld %8lld  %s\n", js(t, "name"),
		       jb(t, "enabled"), ji(t, "luns"), ji(t, "sessions"),
		       js(t, "alias"));
	}
}

static void show_luns(const struct json *r)
{
	printf("%-40s %-8s %4s %-12s %-7s %8s %6s %-3s %-4s %s\n", "TARGET",
	       "GROUP", "LUN", "DEVICE", "BACKING", "SIZE", "BLOCK", "RO",
	       "THIN", "PATH");
	for (size_t i = 0; i < r->len; i++) {
		const struct json *l = &r->items[i];
		char size[32];

		human_size((unsigned long long)ji(l, "size_bytes"), size,
			   sizeof(size));
		printf("%-40s %-8s %4lld %-12s %-7s %8s %6lld %-3s %-4s %s\n",
		       js(l, "target"), js(l, "group"), ji(l, "lun"),
		       js(l, "device"), js(l, "backing"), size,
		       ji(l, "block_size"), jb(l, "read_only"), jb(l, "thin"),
		       js(l, "path"));
	}
}

static void show_sessions(const struct json *r)
{
	for (size_t i = 0; i < r->len; i++) {
		const struct json *s = &r->items[i];
		const struct json *p = json_get(s, "params");

		printf("tsih %lld  %s  isid %s\n", ji(s, "tsih"),
		       js(s, "initiator"), js(s, "isid"));
		printf("  target %s  (%s)\n", js(s, "target"), js(s, "type"));
		printf("  portal %s  peer %s  connections %lld  "
		       "commands in flight %lld of %lld\n",
		       js(s, "portal"), js(s, "peer"), ji(s, "connections"),
		       ji(s, "cmds_in_flight"), ji(s, "queue_depth"));
		for (size_t k = 0; p && p->type == JSON_OBJECT && k < p->len;
		     k++) {
			const struct json *v = &p->members[k].value;

			if (v->type == JSON_STRING)
				printf("  %s=%s\n", p->members[k].key, v->s);
			else
				printf("  %s=%lld\n", p->members[k].key,
				       (long long)v->i);
		}
	}
	if (r->len == 0)
		printf("no sessions\n");
}

static void show_stats(const struct json *r)
{
	printf("%-16s %12s %12s %10s %10s %8s %9s %9s %9s\n", "DEVICE", "READS",
	       "WRITES", "READ", "WRITTEN", "ERRORS", "p50(us)", "p99(us)",
	       "p99.9(us)");
	for (size_t i = 0; i < r->len; i++) {
		const struct json *s = &r->items[i];
		const struct json *l = json_get(s, "latency_us");
		char rb[32], wb[32];

		human_size((unsigned long long)ji(s, "read_bytes"), rb,
			   sizeof(rb));
		human_size((unsigned long long)ji(s, "write_bytes"), wb,
			   sizeof(wb));
		printf("%-16s %12lld %12lld %10s %10s %8lld %9lld %9lld "
		       "%9lld\n",
		       js(s, "device"), ji(s, "reads"), ji(s, "writes"), rb, wb,
		       ji(s, "errors"), ji(l, "p50"), ji(l, "p99"),
		       ji(l, "p99.9"));
	}
}

static void show_alua(const struct json *r)
{
	for (size_t i = 0; i < r->len; i++) {
		const struct json *g = &r->items[i];
		const struct json *d = json_get(g, "devices");
		const struct json *t = json_get(g, "target_port_groups");

		printf("device group %s:", js(g, "name"));
		for (size_t k = 0; d && d->type == JSON_ARRAY && k < d->len;
		     k++)
			printf(" %s", d->items[k].type == JSON_STRING
					      ? d->items[k].s
					      : "?");
		printf("\n  %5s %-16s %-14s %-4s %s\n", "TPG", "NAME", "STATE",
		       "PREF", "PORTS (relative id, name)");
		for (size_t k = 0; t && t->type == JSON_ARRAY && k < t->len;
		     k++) {
			const struct json *p = &t->items[k];
			const struct json *ports = json_get(p, "ports");

			printf("  %5lld %-16s %-14s %-4s", ji(p, "id"),
			       js(p, "name"), js(p, "state"),
			       jb(p, "preferred"));
			for (size_t q = 0; ports && ports->type == JSON_ARRAY &&
					   q < ports->len;
			     q++)
				printf(" %lld %s",
				       ji(&ports->items[q], "rel_tgt_id"),
				       js(&ports->items[q], "name"));
			printf("\n");
		}
	}
	if (r->len == 0)
		printf("no ALUA device groups\n");
}

static void show_change(const struct json *r)
{
	printf("%s: done", js(r, "done"));
	if (ji(r, "waited_ms"))
		printf(" (waited %lld ms)", ji(r, "waited_ms"));
	if (ji(r, "aborted_commands"))
		printf(", %lld commands aborted", ji(r, "aborted_commands"));
	printf("\n");
	if (json_get(r, "note"))
		printf("note: %s\n", js(r, "note"));
}

/* --------------------------------------------------------------- save */

/* Write text to path atomically with mode 0600 (CVE-2020-13867 wrote a
 * world-readable configuration): a private temporary file in the same
 * directory, with the owner of the file it replaces, written, synced,
 * renamed over path, the directory synced. */
static void save_file(const char *path, const char *text)
{
	char tmp[4096], dirbuf[4096];
	size_t len = strlen(text), off = 0;
	struct stat st;
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		die(2, "%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		die(1, "cannot create a file next to %s: %s", path,
		    strerror(errno));
	if (fchmod(fd, 0600))
		goto fail;
	/* The file it replaces keeps its owner: the daemon's user must
	 * still read it at the next start or reload. */
	if (stat(path, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) &&
	    errno != EPERM)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path))
		goto fail;
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return;
fail : {
	int err = errno;

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	die(1, "cannot write %s: %s", path, strerror(err));
}
}

/* ------------------------------------------------------------ requests */

struct cmd {
	struct jw w; /* the request */
	const char *name;
	void (*show)(const struct json *r);
};

static void req_begin(struct cmd *c, const char *name)
{
	c->name = name;
	jw_init(&c->w);
	jw_obj_begin(&c->w);
	jw_kint(&c->w, "version", 1);
	jw_kstr(&c->w, "command", name);
	jw_key(&c->w, "args");
	jw_obj_begin(&c->w);
}

static long long num(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0)
		die(2, "%s must be a number, not '%s'", what, s);
	return v;
}

static void need(int argc, int n, const char *syntax)
{
	if (argc < n)
		die(2, "usage: utargetctl %s", syntax);
}

/* Options after the words: --group G, --device NAME, --force, --drain-ms. */
static void options(struct cmd *c, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		if (!strcmp(argv[i], "--force")) {
			jw_kbool(&c->w, "force", true);
		} else if (!strcmp(argv[i], "--group") && i + 1 < argc) {
			jw_kstr(&c->w, "group", argv[++i]);
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			jw_kstr(&c->w, "device", argv[++i]);
		} else if (!strcmp(argv[i], "--drain-ms") && i + 1 < argc) {
			jw_kint(&c->w, "drain_ms",
				num(argv[++i], "--drain-ms"));
		} else {
			die(2, "unexpected '%s' (see utargetctl --help)",
			    argv[i]);
		}
	}
}

/* Build the request for the words argv[0..argc) (save is handled in
 * main: a config request plus a file). */
static void build(struct cmd *c, int argc, char **argv)
{
	const char *w0 = argv[0], *w1 = argc > 1 ? argv[1] : "";
	char name[64];

	if (!strcmp(w0, "status") || !strcmp(w0, "targets") ||
	    !strcmp(w0, "sessions") || !strcmp(w0, "config") ||
	    !strcmp(w0, "reload")) {
		req_begin(c, w0);
		options(c, argc, argv, 1);
		c->show = !strcmp(w0, "status")	    ? show_status
			  : !strcmp(w0, "targets")  ? show_targets
			  : !strcmp(w0, "sessions") ? show_sessions
			  : !strcmp(w0, "reload")   ? show_change
						    : NULL;
		return;
	}
	if (!strcmp(w0, "luns")) {
		req_begin(c, "luns");
		if (argc > 1)
			jw_kstr(&c->w, "target", argv[1]);
		c->show = show_luns;
		return;
	}
	if (!strcmp(w0, "alua") && strcmp(w1, "set")) {
		req_begin(c, "alua");
		if (argc == 2)
			jw_kstr(&c->w, "group", argv[1]);
		if (argc > 2)
			die(2, "usage: utargetctl alua [DEVICE_GROUP]");
		c->show = show_alua;
		return;
	}
	if (!strcmp(w0, "alua")) {
		/* alua set [DEVICE_GROUP] TPG STATE */
		const char *tpg;
		char *end;
		long id;

		if (argc != 4 && argc != 5)
			die(2, "usage: utargetctl alua set [DEVICE_GROUP] TPG "
			       "STATE");
		req_begin(c, "alua set");
		if (argc == 5)
			jw_kstr(&c->w, "group", argv[2]);
		tpg = argv[argc - 2];
		id = strtol(tpg, &end, 10);
		if (*tpg && !*end && id >= 0 && id <= 65535)
			jw_kint(&c->w, "tpg", id);
		else
			jw_kstr(&c->w, "tpg", tpg);
		jw_kstr(&c->w, "state", argv[argc - 1]);
		c->show = show_alua;
		return;
	}
	if (!strcmp(w0, "stats")) {
		req_begin(c, "stats");
		if (argc == 2)
			jw_kstr(&c->w, "device", argv[1]);
		if (argc == 3) {
			jw_kstr(&c->w, "target", argv[1]);
			jw_kint(&c->w, "lun", num(argv[2], "LUN"));
		}
		if (argc > 3)
			die(2, "usage: utargetctl stats [DEVICE | TARGET LUN]");
		c->show = show_stats;
		return;
	}
	snprintf(name, sizeof(name), "%s %s", w0, w1);
	c->show = show_change;
	if (!strcmp(w0, "lun") && !strcmp(w1, "add")) {
		need(argc, 5,
		     "lun add TARGET LUN SPEC [--group G] "
		     "[--device NAME]");
		req_begin(c, "lun add");
		jw_kstr(&c->w, "target", argv[2]);
		jw_kint(&c->w, "lun", num(argv[3], "LUN"));
		jw_kstr(&c->w, "spec", argv[4]);
		options(c, argc, argv, 5);
	} else if (!strcmp(w0, "lun") && !strcmp(w1, "remove")) {
		need(argc, 4, "lun remove TARGET LUN [--group G]");
		req_begin(c, "lun remove");
		jw_kstr(&c->w, "target", argv[2]);
		jw_kint(&c->w, "lun", num(argv[3], "LUN"));
		options(c, argc, argv, 4);
	} else if (!strcmp(w0, "lun") && !strcmp(w1, "resize")) {
		need(argc, 5, "lun resize TARGET LUN SIZE [--group G]");
		req_begin(c, "lun resize");
		jw_kstr(&c->w, "target", argv[2]);
		jw_kint(&c->w, "lun", num(argv[3], "LUN"));
		jw_kstr(&c->w, "size", argv[4]);
		options(c, argc, argv, 5);
	} else if (!strcmp(w0, "target") &&
		   (!strcmp(w1, "add") || !strcmp(w1, "remove") ||
		    !strcmp(w1, "enable") || !strcmp(w1, "disable"))) {
		need(argc, 3, "target add|remove|enable|disable TARGET");
		req_begin(c, name);
		jw_kstr(&c->w, "target", argv[2]);
		options(c, argc, argv, 3);
	} else if (!strcmp(w0, "group") &&
		   (!strcmp(w1, "add") || !strcmp(w1, "remove"))) {
		need(argc, 4, "group add|remove TARGET GROUP");
		req_begin(c, name);
		jw_kstr(&c->w, "target", argv[2]);
		jw_kstr(&c->w, "group", argv[3]);
		options(c, argc, argv, 4);
	} else if (!strcmp(w0, "initiator") &&
		   (!strcmp(w1, "add") || !strcmp(w1, "remove"))) {
		need(argc, 5, "initiator add|remove TARGET GROUP INITIATOR");
		req_begin(c, name);
		jw_kstr(&c->w, "target", argv[2]);
		jw_kstr(&c->w, "group", argv[3]);
		jw_kstr(&c->w, "initiator", argv[4]);
		options(c, argc, argv, 5);
	} else if (!strcmp(w0, "attr") && !strcmp(w1, "set")) {
		need(argc, 6, "attr set target|device NAME KEY VALUE");
		if (strcmp(argv[2], "target") && strcmp(argv[2], "device"))
			die(2, "attr set: say 'target NAME' or 'device NAME'");
		req_begin(c, "attr set");
		jw_kstr(&c->w, argv[2], argv[3]);
		jw_kstr(&c->w, "key", argv[4]);
		jw_kstr(&c->w, "value", argv[5]);
		options(c, argc, argv, 6);
	} else if (!strcmp(w0, "session") && !strcmp(w1, "close")) {
		need(argc, 3, "session close TSIH");
		req_begin(c, "session close");
		jw_kint(&c->w, "tsih", num(argv[2], "TSIH"));
		options(c, argc, argv, 3);
		c->show = NULL;
	} else {
		die(2, "unknown command '%s%s%s' (see utargetctl --help)", w0,
		    argc > 1 ? " " : "", w1);
	}
}

static struct json send_request(const char *path, struct cmd *c, int timeout)
{
	struct json reply, result = {0};
	const struct json *r;
	char err[256], *line;
	bool ok = false;

	jw_obj_end(&c->w);
	jw_obj_end(&c->w);
	if (!jw_text(&c->w))
		die(2, "out of memory");
	{
		size_t n = strlen(jw_text(&c->w));
		char *req = malloc(n + 2);

		if (!req)
			die(2, "out of memory");
		memcpy(req, jw_text(&c->w), n);
		req[n] = '\n';
		req[n + 1] = '\0';
		line = roundtrip(path, req, timeout);
		free(req);
	}
	if (json_parse(line, strlen(line), &reply, err, sizeof(err)))
		die(2, "bad reply from the daemon (%s)", err);
	free(line);
	(void)json_get_bool(&reply, "ok", &ok);
	if (!ok)
		die(1, "%s: %s", c->name,
		    json_get_str(&reply, "error")
			    ? json_get_str(&reply, "error")
			    : "refused");
	r = json_get(&reply, "result");
	if (r) {
		/* Keep the result, free the rest. */
		for (size_t i = 0; i < reply.len; i++)
			if (&reply.members[i].value == r) {
				result = reply.members[i].value;
				memset(&reply.members[i].value, 0,
				       sizeof(reply.members[i].value));
			}
	}
	json_free(&reply);
	return result;
}

int main(int argc, char **argv)
{
	const char *path = getenv("UTARGET_CONTROL");
	struct cmd c = {0};
	struct json result;
	int timeout = 120, i = 1;

	if (!path)
		path = DEFAULT_CONTROL;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			opt_json = true;
		} else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = (int)num(argv[++i], "--timeout");
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") ||
			   !strcmp(argv[i], "--version")) {
			printf("utargetctl %s\n", UT_VERSION);
			return 0;
		} else {
			die(2, "unknown option '%s' (see utargetctl --help)",
			    argv[i]);
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "save")) {
		const char *file = argc > 1 ? argv[1] : NULL;
		struct json st;

		if (argc > 2)
			die(2, "usage: utargetctl save [FILE]");
		if (!file) {
			req_begin(&c, "status");
			st = send_request(path, &c, timeout);
			jw_free(&c.w);
			if (!json_get_str(&st, "config"))
				die(1, "save: the daemon has no configuration "
				       "file (-c); name one: save FILE");
			file = strdup(json_get_str(&st, "config"));
			json_free(&st);
		}
		req_begin(&c, "config");
		result = send_request(path, &c, timeout);
		if (!json_get_str(&result, "text"))
			die(1, "save: no configuration in the reply");
		save_file(file, json_get_str(&result, "text"));
		if (opt_json)
			printf("{\"saved\":\"%s\"}\n", file);
		else
			printf("saved the running configuration to %s\n", file);
		json_free(&result);
		jw_free(&c.w);
		return 0;
	}
	build(&c, argc, argv);
	result = send_request(path, &c, timeout);
	if (opt_json) {
		struct jw w;

		jw_init(&w);
		emit(&w, &result);
		printf("%s\n", jw_text(&w) ? jw_text(&w) : "null");
		jw_free(&w);
	} else if (!strcmp(c.name, "config")) {
		fputs(json_get_str(&result, "text")
			      ? json_get_str(&result, "text")
			      : "",
		      stdout);
	} else if (c.show &&
		   (result.type == JSON_OBJECT || result.type == JSON_ARRAY)) {
		c.show(&result);
	} else {
		printf("%s: done\n", c.name);
	}
	json_free(&result);
	jw_free(&c.w);
	return 0;
}
