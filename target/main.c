/*
 * main.c — the utarget daemon: configuration in, real world around the
 * target, serve until SIGINT/SIGTERM, then log initiators out cleanly.
 *
 * This file and target/env_real/ are the only parts of target/ that touch
 * the operating system directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "control/ctl.h"
#include "env.h"
#include "env_real/env_real.h"
#include "iscsi/iscsi.h"
#include "ut_assert.h"

#ifndef UT_VERSION
#define UT_VERSION "0.0.0"
#endif

#define CONFIG_MAX_BYTES (16u << 20)
#define UT_CONTROL_DEFAULT "/run/utarget/utarget.sock"
#define MAX_CLI_ITEMS 64

struct opts {
	const char *config_file;
	char *listen[MAX_CLI_ITEMS];
	size_t listen_count;
	const char *luns[MAX_CLI_ITEMS];
	size_t lun_count;
	const char *target;
	const char *state_dir;
	const char *record_dir;
	enum ut_log_level log_level;
	uint32_t grace_ms;
	uint32_t io_wait_ms; /* --shutdown-io-wait */
	unsigned int reactors;
	unsigned int poll_us;
	enum env_real_inline_writes inline_writes;
	bool no_cork;
	bool no_zero_copy;
	bool send_file;
	bool check_only;
	bool slow_asserts;
	const char *control; /* NULL: the default; "none": no socket */
	bool sanitize_rate_set;
	uint64_t sanitize_bytes_per_s; /* --sanitize-rate: every device */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: utarget [OPTIONS]\n"
		"A usermode iSCSI target.  With no options it serves the embedded\n"
		"default: portal " UT_DEFAULT_PORTAL
		", target " UT_DEFAULT_TARGET ",\n"
		"LUN 0 a 1 GiB thin in-memory disk.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE      configuration in scst.conf syntax\n"
		"  -l, --listen ADDR:PORT portal to listen on (repeatable; IPv6 as\n"
		"                         [::1]:3260; ADDR:PORT,tpgt=N puts it in\n"
		"                         portal group N); replaces the configured\n"
		"                         portals\n"
		"  -t, --target IQN       name of the target\n"
		"  -L, --lun SPEC         a LUN, numbered from 0 in order (repeatable);\n"
		"                         replaces the configured LUN set.  SPEC is\n"
		"                           mem:SIZE | null:SIZE | file:PATH[,size=SIZE]\n"
		"                         with options ,ro ,blocksize=512|4096 ,thin\n"
		"                         ,removable.  SIZE takes K, M, G, T suffixes.\n"
		"      --state-dir DIR    where persistent reservations (APTPL) live\n"
		"      --record DIR       save what each connection receives, raw, as\n"
		"                         DIR/conn-N.bin (a fuzzing seed corpus)\n"
		"      --shutdown-grace S seconds initiators get to log out (default 3)\n"
		"      --shutdown-io-wait S\n"
		"                         at exit, seconds to wait for disk requests\n"
		"                         still in flight at a stuck store before\n"
		"                         exiting without freeing (default 10)\n"
		"      --reactors N       event loops (threads) serving connections,\n"
		"                         1..64 (default 1); each connection stays on\n"
		"                         one, in turn: use one per core for several\n"
		"                         busy sessions\n"
		"      --poll-us US       after activity, poll this long before\n"
		"                         sleeping (default 50; 0 = never poll):\n"
		"                         lower latency at low queue depth for\n"
		"                         some CPU\n"
		"      --inline-writes auto|always|off\n"
		"                         auto (default): where the filesystem has no\n"
		"                         non-blocking buffered writes (ext4), do\n"
		"                         writes of up to 128 KiB on the event loop\n"
		"                         while they are quick (a slow one pauses\n"
		"                         this); always: on any filesystem; off:\n"
		"                         always through io_uring\n"
		"      --adaptive-nagle on|off\n"
		"                         on (default): a burst of responses leaves\n"
		"                         corked (MSG_MORE) until its last PDU;\n"
		"                         off: every send pushes at once\n"
		"      --zero-copy on|off\n"
		"                         on (default): reads of 64 KiB and more\n"
		"                         from a file or block LUN whose pages are\n"
		"                         cached, or from a mem LUN, go to the\n"
		"                         socket without a copy into a buffer,\n"
		"                         unless DataDigest is on; off: copied\n"
		"      --send-file on|off\n"
		"                         on: those reads of file and null LUNs\n"
		"                         go with sendfile(2), not copied into\n"
		"                         the socket either; off (default):\n"
		"                         sendmsg copies them from the page cache\n"
		"      --sanitize-rate R  SANITIZE OVERWRITE pace of every LU, bytes\n"
		"                         per second with K, M, G, T suffixes\n"
		"                         (default 256M: 1 TiB in 68 minutes;\n"
		"                         0 = as fast as the disk writes)\n"
		"      --slow-asserts     also check the expensive invariants (whole\n"
		"                         task sets, lists, pools) as the simulator\n"
		"                         and the tests do; costs CPU per command\n"
		"      --control PATH     the control socket for utargetctl (default\n"
		"                         " UT_CONTROL_DEFAULT ", or none)\n"
		"      --check            parse and validate the configuration, then exit\n"
		"      --log-level LEVEL  error, warn, info (default), debug, trace\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version\n"
		"\n"
		"Examples:\n"
		"  utarget --listen 127.0.0.1:3260 --lun file:/srv/disk.img,size=10G,thin\n"
		"  utarget -c /etc/scst.conf --listen 0.0.0.0:3260\n"
		"\n"
		"Connect with: iscsi-ls iscsi://127.0.0.1:3260\n"
		"              iscsi-inq iscsi://127.0.0.1:3260/" UT_DEFAULT_TARGET
		"/0\n");
}

/* A whole number from min to max (decimal digits only): in *n, or a
 * refusal on stderr naming the option, the range and what it was given
 * (-1). */
static int parse_range(const char *name, const char *arg, unsigned int min,
		       unsigned int max, const char *unit, unsigned int *n)
{
	char *end;
	unsigned long v;

	ut_assert(min <= max);
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && *end == '\0' && errno == 0 &&
	    v >= min && v <= max) {
		*n = (unsigned int)v;
		return 0;
	}
	fprintf(stderr, "utarget: --%s takes %u..%u%s, not '%s'\n", name, min,
		max, unit, arg);
	return -1;
}

/* An on|off option: its value in *on, or a refusal on stderr naming the
 * option and what it was given (-1). */
static int parse_on_off(const char *name, const char *arg, bool *on)
{
	bool is_on = strcmp(arg, "on") == 0;

	if (is_on || strcmp(arg, "off") == 0) {
		*on = is_on;
		return 0;
	}
	fprintf(stderr, "utarget: --%s takes on or off, not '%s'\n", name, arg);
	return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		OPT_STATE = 256,
		OPT_LOG,
		OPT_GRACE,
		OPT_IO_WAIT,
		OPT_CHECK,
		OPT_RECORD,
		OPT_REACTORS,
		OPT_POLL,
		OPT_INLINE,
		OPT_NAGLE,
		OPT_ZERO_COPY,
		OPT_SEND_FILE,
		OPT_SLOW_ASSERTS,
		OPT_CONTROL,
		OPT_SANITIZE_RATE,
	};
	static const struct option lo[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"target", required_argument, NULL, 't'},
		{"lun", required_argument, NULL, 'L'},
		{"state-dir", required_argument, NULL, OPT_STATE},
		{"record", required_argument, NULL, OPT_RECORD},
		{"log-level", required_argument, NULL, OPT_LOG},
		{"shutdown-grace", required_argument, NULL, OPT_GRACE},
		{"shutdown-io-wait", required_argument, NULL, OPT_IO_WAIT},
		{"check", no_argument, NULL, OPT_CHECK},
		{"reactors", required_argument, NULL, OPT_REACTORS},
		{"poll-us", required_argument, NULL, OPT_POLL},
		{"inline-writes", required_argument, NULL, OPT_INLINE},
		{"adaptive-nagle", required_argument, NULL, OPT_NAGLE},
		{"zero-copy", required_argument, NULL, OPT_ZERO_COPY},
		{"send-file", required_argument, NULL, OPT_SEND_FILE},
		{"slow-asserts", no_argument, NULL, OPT_SLOW_ASSERTS},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"sanitize-rate", required_argument, NULL, OPT_SANITIZE_RATE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	unsigned int n;
	bool on;
	int ch;

	o->log_level = UT_LOG_INFO;
	o->grace_ms = 3000;
	o->io_wait_ms = 10000;
	o->reactors = 1;
	o->poll_us = 50;
	while ((ch = getopt_long(argc, argv, "c:l:t:L:hV", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_file = optarg;
			break;
		case 'l':
			if (o->listen_count == MAX_CLI_ITEMS)
				goto too_many;
			o->listen[o->listen_count++] = optarg;
			break;
		case 't':
			o->target = optarg;
			break;
		case 'L':
			if (o->lun_count == MAX_CLI_ITEMS)
				goto too_many;
			o->luns[o->lun_count++] = optarg;
			break;
		case OPT_STATE:
			o->state_dir = optarg;
			break;
		case OPT_RECORD:
			o->record_dir = optarg;
			break;
		case OPT_LOG:
			if (ut_log_level_parse(optarg, &o->log_level)) {
				fprintf(stderr,
					"utarget: unknown log level '%s' (error, "
					"warn, info, debug, trace)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_GRACE:
			if (parse_range("shutdown-grace", optarg, 0, 3600,
					" seconds", &n))
				return 2;
			o->grace_ms = n * 1000;
			break;
		case OPT_IO_WAIT:
			if (parse_range("shutdown-io-wait", optarg, 0, 3600,
					" seconds", &n))
				return 2;
			o->io_wait_ms = n * 1000;
			break;
		case OPT_REACTORS:
			if (parse_range("reactors", optarg, 1, 64, "", &n))
				return 2;
			o->reactors = n;
			break;
		case OPT_POLL:
			if (parse_range("poll-us", optarg, 0, 1000000,
					" microseconds", &n))
				return 2;
			o->poll_us = n;
			break;
		case OPT_INLINE:
			if (strcmp(optarg, "auto") == 0) {
				o->inline_writes = ENV_REAL_INLINE_AUTO;
			} else if (strcmp(optarg, "off") == 0) {
				o->inline_writes = ENV_REAL_INLINE_OFF;
			} else if (strcmp(optarg, "always") == 0) {
				o->inline_writes = ENV_REAL_INLINE_ALWAYS;
			} else {
				fprintf(stderr,
					"utarget: --inline-writes takes "
					"auto, always or off\n");
				return 2;
			}
			break;
		case OPT_NAGLE:
			if (parse_on_off("adaptive-nagle", optarg, &on))
				return 2;
			o->no_cork = !on;
			break;
		case OPT_ZERO_COPY:
			if (parse_on_off("zero-copy", optarg, &on))
				return 2;
			o->no_zero_copy = !on;
			break;
		case OPT_SEND_FILE:
			if (parse_on_off("send-file", optarg, &on))
				return 2;
			o->send_file = on;
			break;
		case OPT_CHECK:
			o->check_only = true;
			break;
		case OPT_SLOW_ASSERTS:
			o->slow_asserts = true;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_SANITIZE_RATE:
			if (ut_size_parse(optarg, &o->sanitize_bytes_per_s) ||
			    o->sanitize_bytes_per_s > UT_SANITIZE_RATE_MAX) {
				fprintf(stderr,
					"utarget: --sanitize-rate takes bytes "
					"per second, 0..1T (K, M, G, T "
					"suffixes)\n");
				return 2;
			}
			o->sanitize_rate_set = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("utarget %s\n", UT_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "utarget: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
too_many:
	fprintf(stderr, "utarget: at most %d --listen/--lun options\n",
		MAX_CLI_ITEMS);
	return 2;
}

/*
 * Where configuration diagnostics go: stderr at start; at a reload the
 * first error becomes the reply (file:line:column: why) and the rest go
 * to the log, so that the running configuration stays as it is.
 */
struct diag_out {
	char *err; /* NULL: print everything to stderr */
	size_t errlen;
	struct env *log;
	int errors;
};

static void diag_say(struct diag_out *d, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag_say(struct diag_out *d, bool error, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!d->err) {
		fprintf(stderr, "%s\n", msg);
	} else {
		if (error && d->errors == 0)
			snprintf(d->err, d->errlen, "%s", msg);
		if (d->log)
			UT_LOG(d->log, error ? UT_LOG_ERROR : UT_LOG_WARN,
			       "event=reload-diagnostic text=\"%s\"", msg);
	}
	d->errors += error;
}

static void print_diag(void *arg, int severity, const char *file, int line,
		       int column, const char *msg)
{
	struct diag_out *d = arg;

	if (line > 0)
		diag_say(d, severity, "%s:%d:%d: %s: %s",
			 file ? file : "<config>", line, column,
			 severity ? "error" : "warning", msg);
	else
		diag_say(d, severity, "%s: %s: %s", file ? file : "utarget",
			 severity ? "error" : "warning", msg);
}

static char *read_file(const char *path, size_t *len, struct diag_out *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		diag_say(d, true, "utarget: cannot open %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || st.st_size > CONFIG_MAX_BYTES) {
		diag_say(d, true, "utarget: %s: too large or unreadable", path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		diag_say(d, true, "utarget: %s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			diag_say(d, true, "utarget: reading %s: %s", path,
				 n ? strerror(errno) : "short read");
			free(buf);
			buf = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

/* The configuration as the command line asks for it: the file (or the
 * embedded default), then --lun, --target and --listen over it.  At
 * start and again at each reload. */
static int load_config(const struct opts *o, struct ut_config *cfg,
		       struct diag_out *d)
{
	int rc = 0;

	ut_config_init(cfg);
	if (o->config_file) {
		size_t len = 0;
		char *buf = read_file(o->config_file, &len, d);
		struct stat st;

		if (!buf)
			return -1;
		rc = ut_config_parse(cfg, o->config_file, buf, len, print_diag,
				     d);
		free(buf);
		if (rc)
			return -1;
		if (cfg->has_secrets && stat(o->config_file, &st) == 0 &&
		    (st.st_mode & 077))
			diag_say(d, false,
				 "%s: warning: holds CHAP secrets but is "
				 "readable by group or others (chmod 600 it)",
				 o->config_file);
	} else if (ut_config_default(cfg)) {
		return -1;
	}
	if (o->lun_count) {
		struct ut_dev_cfg devs[MAX_CLI_ITEMS];

		memset(devs, 0, sizeof(devs));
		for (size_t i = 0; i < o->lun_count; i++) {
			const char *err = NULL;

			if (ut_lun_spec_parse(o->luns[i], &devs[i], &err)) {
				diag_say(d, true, "utarget: --lun %s: %s",
					 o->luns[i], err ? err : "invalid");
				return -1;
			}
			snprintf(devs[i].name, sizeof(devs[i].name), "lun%zu",
				 i);
		}
		if (ut_config_set_luns(cfg, devs, o->lun_count)) {
			diag_say(d, true,
				 "utarget: cannot apply --lun options");
			return -1;
		}
	}
	if (o->target && ut_config_set_target(cfg, o->target)) {
		diag_say(d, true,
			 "utarget: --target: cannot rename: the "
			 "configuration has several targets");
		return -1;
	}
	if (o->listen_count &&
	    ut_config_set_portals(cfg, o->listen, o->listen_count)) {
		diag_say(d, true, "utarget: invalid --listen address");
		return -1;
	}
	/* Like the other options, it overrides the file (every device). */
	for (size_t i = 0; o->sanitize_rate_set && i < cfg->dev_count; i++)
		cfg->devs[i].sanitize_bytes_per_s = o->sanitize_bytes_per_s;
	return ut_config_validate(cfg, print_diag, d) ? -1 : 0;
}

struct daemon {
	struct env *env;
	struct iscsi_server *srv;
	const struct opts *o;
	uint32_t grace_ms;
	int signals;
	struct ctl *ctl;
	struct env_real_control *control;
};

/* ctl's reload hook: the configuration read again as at start. */
static int daemon_reload(void *arg, struct ut_config *cfg, char *err,
			 size_t errlen)
{
	struct daemon *d = arg;
	struct diag_out out = {.err = err, .errlen = errlen, .log = d->env};
	int rc;

	err[0] = '\0';
	rc = load_config(d->o, cfg, &out);
	if (rc && !err[0])
		snprintf(err, errlen, "the configuration is invalid");
	return rc;
}

static void control_reply(void *arg, const char *line)
{
	env_real_control_reply(arg, line);
}

static void control_line(void *arg, struct env_real_ctl_client *cl,
			 const char *line, size_t len)
{
	struct daemon *d = arg;

	ctl_request(d->ctl, line, len, control_reply, cl);
}

static void notify_status(struct daemon *d)
{
	struct iscsi_server_stats st;

	iscsi_server_get_stats(d->srv, &st);
	env_real_notify("STATUS=serving %zu targets, %u sessions",
			iscsi_server_config(d->srv)->target_count, st.sessions);
}

/* SIGHUP: the same reload as utargetctl reload, answered in the log. */
static void reload_done(void *arg, const char *line)
{
	struct daemon *d = arg;
	bool ok = line && strstr(line, "\"ok\":true");

	if (ok)
		LOG_INFO(d->env, "event=reload status=ok reply=%s", line);
	else
		LOG_ERR(d->env, "event=reload status=failed reply=%s",
			line ? line : "(out of memory)");
	env_real_notify("READY=1");
	notify_status(d);
}

static void on_hup(void *arg, int signo)
{
	static const char req[] = "{\"version\":1,\"command\":\"reload\"}";
	struct daemon *d = arg;
	struct timespec ts;

	(void)signo;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	env_real_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
			(unsigned long long)ts.tv_sec * 1000000ull +
				(unsigned long long)ts.tv_nsec / 1000u);
	LOG_INFO(d->env, "event=reload trigger=SIGHUP");
	ctl_request(d->ctl, req, sizeof(req) - 1, reload_done, d);
}

/* What the stopped daemon keeps rather than frees when a store did not
 * give its requests back (take_back_io): still referenced, so that
 * LeakSanitizer does not take them for leaks. */
static struct iscsi_server *kept_srv;
static struct env *kept_env;

/*
 * The loops have stopped.  Sessions whose commands are still at a store
 * (a hung file system, an io_uring request the kernel still runs) own the
 * buffers and bs_req those requests name: the stores take them back
 * first (iscsi_server_take_back_io: io_uring requests cancelled, the
 * thread pool's queue emptied, and what the kernel or a worker still
 * runs waited for), for --shutdown-io-wait at most.  Only then may
 * iscsi_server_free() free the tasks and env_real_free() the engines
 * (each asserts that nothing is in flight).  A store that still holds
 * requests at the deadline: the server and the environment are kept,
 * not freed (a late read would write into freed memory, a late write
 * would send freed memory to the disk), and the process exits with 1.
 */
static bool take_back_io(struct daemon *d)
{
	uint64_t t0 = env_now_ns(d->env);
	unsigned int held = iscsi_server_take_back_io(d->srv, t0);

	if (held == 0)
		return true;
	LOG_WARN(d->env,
		 "event=shutdown-io-wait requests=%u wait_s=%u: disk "
		 "requests still in flight at exit",
		 held, d->o->io_wait_ms / 1000);
	held = iscsi_server_take_back_io(
		d->srv, t0 + (uint64_t)d->o->io_wait_ms * 1000000ull);
	if (held == 0) {
		LOG_INFO(d->env, "event=shutdown-io-done waited_ms=%llu",
			 (unsigned long long)((env_now_ns(d->env) - t0) /
					      1000000u));
		return true;
	}
	LOG_ERR(d->env,
		"event=shutdown-io-stuck requests=%u waited_ms=%llu: a store "
		"did not give them back; exiting without freeing their memory",
		held,
		(unsigned long long)((env_now_ns(d->env) - t0) / 1000000u));
	kept_srv = d->srv;
	kept_env = d->env;
	return false;
}

static void on_shutdown_done(void *arg)
{
	struct daemon *d = arg;

	env_real_stop(d->env);
}

/* How well the data path batched its system calls (docs/performance.md:
 * PDUs per receive and per send call). */
static void log_batching(struct daemon *d)
{
	struct iscsi_server_stats st;

	iscsi_server_get_stats(d->srv, &st);
	LOG_INFO(d->env,
		 "event=io-batching pdus_received=%llu recv_calls=%llu "
		 "pdus_per_recv=%.2f pdus_sent=%llu send_calls=%llu "
		 "pdus_per_send=%.2f file_sends=%llu",
		 (unsigned long long)st.pdus_rx,
		 (unsigned long long)st.recv_calls,
		 st.recv_calls ? (double)st.pdus_rx / (double)st.recv_calls
			       : 0.0,
		 (unsigned long long)st.pdus_tx,
		 (unsigned long long)st.send_calls,
		 st.send_calls ? (double)st.pdus_tx / (double)st.send_calls
			       : 0.0,
		 (unsigned long long)st.file_sends);
}

static void on_signal(void *arg, int signo)
{
	struct daemon *d = arg;

	if (d->signals++ > 0) {
		LOG_WARN(d->env, "second signal: stopping now");
		env_real_stop(d->env);
		return;
	}
	LOG_INFO(d->env, "event=shutdown signal=%s grace_s=%u",
		 sigabbrev_np(signo), d->grace_ms / 1000);
	log_batching(d);
	env_real_notify("STOPPING=1");
	iscsi_server_shutdown(d->srv, d->grace_ms, on_shutdown_done, d);
}

static void print_urls(const struct ut_config *cfg)
{
	size_t np = cfg->portal_count;

	for (size_t t = 0; t < cfg->target_count; t++) {
		const struct ut_target_cfg *tc = &cfg->targets[t];

		if (!tc->enabled)
			continue;
		for (size_t p = 0; p < (np ? np : 1); p++) {
			const char *portal = np ? cfg->portals[p]
						: UT_DEFAULT_PORTAL;
			char host[128];
			uint16_t port = UT_DEFAULT_PORT;

			if (ut_portal_parse(portal, host, sizeof(host), &port))
				continue;
			if (!strcmp(host, "0.0.0.0"))
				snprintf(host, sizeof(host), "127.0.0.1");
			for (size_t l = 0; l < tc->lun_count; l++)
				printf("utarget: serving iscsi://%s%s%s:%u/%s/%u (%s)\n",
				       strchr(host, ':') ? "[" : "", host,
				       strchr(host, ':') ? "]" : "", port,
				       tc->iqn, tc->luns[l].lun,
				       tc->luns[l].dev_name);
		}
	}
	fflush(stdout);
}

/* The control socket: an explicit --control that cannot be set up stops
 * the start; the default one is skipped with a warning (another daemon
 * may own it, or /run may not be ours), so that test daemons run side by
 * side. */
static int start_control(struct daemon *d, const struct opts *o)
{
	struct ctl_hooks h = {
		.version = UT_VERSION,
		.config_path = o->config_file,
		.reactors = o->reactors,
		.reload = o->config_file ? daemon_reload : NULL,
		.arg = d,
	};
	const char *path = o->control ? o->control : UT_CONTROL_DEFAULT;
	int rc;

	d->ctl = ctl_new(d->srv, &h);
	if (!d->ctl)
		return -1;
	if (!strcmp(path, "none"))
		return 0;
	rc = env_real_control_listen(d->env, path, control_line, d,
				     &d->control);
	if (rc && o->control) {
		fprintf(stderr, "utarget: --control %s: %s\n", path,
			strerror(-rc));
		return -1;
	}
	if (rc)
		LOG_WARN(d->env,
			 "event=control-unavailable path=%s error=\"%s\" "
			 "(utargetctl cannot reach this daemon; see --control)",
			 path, strerror(-rc));
	return 0;
}

/* Each connection holds a descriptor: raise the soft limit to the hard
 * one so that thousands of sessions fit (systemd sets LimitNOFILE). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct ut_config cfg;
	struct env_real_opts eo = {0};
	struct daemon d = {0};
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	/* The expensive assertions are for tests, the simulator and fuzzing;
	 * the daemon keeps the cheap class only, unless asked (ut_assert.h). */
	ut_assert_set_slow(o.slow_asserts);
	if (load_config(&o, &cfg, &(struct diag_out){0})) {
		ut_config_free(&cfg);
		return 1;
	}
	if (o.check_only) {
		printf("utarget: configuration OK (%zu devices, %zu targets)\n",
		       cfg.dev_count, cfg.target_count);
		ut_config_free(&cfg);
		return 0;
	}
	eo.log_level = o.log_level;
	eo.state_dir = o.state_dir;
	eo.record_dir = o.record_dir;
	eo.reactors = o.reactors;
	eo.poll_us = o.poll_us;
	eo.inline_writes = o.inline_writes;
	eo.no_cork = o.no_cork;
	eo.no_zero_copy = o.no_zero_copy;
	eo.send_file = o.send_file;
	if (o.record_dir && mkdir(o.record_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "utarget: --record %s: %s\n", o.record_dir,
			strerror(errno));
		ut_config_free(&cfg);
		return 1;
	}
	raise_nofile();
	d.env = env_real_new(&eo);
	if (!d.env) {
		ut_config_free(&cfg);
		return 1;
	}
	d.grace_ms = o.grace_ms;
	d.o = &o;
	env_real_on_signal(d.env, SIGINT, on_signal, &d);
	env_real_on_signal(d.env, SIGTERM, on_signal, &d);
	env_real_on_signal(d.env, SIGHUP, on_hup, &d);
	env_real_on_signal(d.env, SIGPIPE, NULL, NULL);
	d.srv = iscsi_server_new(d.env, &cfg, &rc);
	if (!d.srv || iscsi_server_start(d.srv)) {
		fprintf(stderr, "utarget: cannot start\n");
		iscsi_server_free(d.srv);
		env_real_free(d.env);
		ut_config_free(&cfg);
		return 1;
	}
	if (start_control(&d, &o)) {
		iscsi_server_free(d.srv);
		env_real_free(d.env);
		ut_config_free(&cfg);
		return 1;
	}
	print_urls(&cfg);
	if (o.reactors > 1)
		LOG_INFO(d.env, "event=start reactors=%u", o.reactors);
	ut_config_free(&cfg);
	env_real_notify("READY=1");
	notify_status(&d);
	env_real_run(d.env);
	env_real_control_close(d.control);
	ctl_free(d.ctl);
	if (!take_back_io(&d)) {
		fprintf(stderr, "utarget: stopped with disk requests stuck\n");
		return 1;
	}
	iscsi_server_free(d.srv);
	env_real_free(d.env);
	fprintf(stderr, "utarget: stopped\n");
	return 0;
}
