/*
 * ut-many — many concurrent sessions from one process, each with I/O in
 * flight (conformance/many-sessions; issue 14: 1,024 sessions).
 *
 *   ut-many URL SESSIONS SECONDS [QD]
 *
 * Logs SESSIONS sessions in to URL (iscsi://HOST:PORT/IQN/LUN), each
 * with its own initiator name, then keeps QD (default 2) READ(10)s of
 * 4 KiB in flight on every one of them for SECONDS, driving them all
 * with libiscsi's asynchronous API and one poll().  Prints
 *   sessions=N logged_in=N ios=N min_ios_per_session=N errors=N
 * and exits 0 only if every session logged in, completed I/O and saw no
 * error.  With READY_FILE in the environment it creates that file once
 * all sessions are logged in and holds them there until STOP_FILE exists
 * (the test measures the daemon then).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct sess {
	struct iscsi_context *ctx;
	unsigned long ios;
	unsigned int lba;
	int lun;
};

static unsigned long errors;
static int running = 1;

static void issue(struct sess *s);

static void done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct sess *s = priv;

	(void)ctx;
	if (status != SCSI_STATUS_GOOD)
		errors++;
	else
		s->ios++;
	if (data)
		scsi_free_scsi_task(data);
	if (running)
		issue(s);
}

static void issue(struct sess *s)
{
	s->lba = (s->lba + 8) % 2048;
	if (!iscsi_read10_task(s->ctx, s->lun, s->lba, 4096, 512, 0, 0, 0, 0, 0,
			       done, s))
		errors++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct sess *ss;
	struct pollfd *pfd;
	unsigned long total = 0, min = (unsigned long)-1;
	int n, qd, in = 0;
	double secs, end;
	const char *ready = getenv("READY_FILE"), *stop = getenv("STOP_FILE");

	if (argc < 4) {
		fprintf(stderr, "usage: ut-many URL SESSIONS SECONDS [QD]\n");
		return 2;
	}
	n = atoi(argv[2]);
	secs = atof(argv[3]);
	qd = argc > 4 ? atoi(argv[4]) : 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ss = calloc((size_t)n, sizeof(*ss));
	pfd = calloc((size_t)n, sizeof(*pfd));
	if (!ss || !pfd)
		return 2;
	for (int i = 0; i < n; i++) {
		char name[128];
		struct iscsi_url *u;

		snprintf(name, sizeof(name),
			 "iqn.2026-11.org.utarget:many-%05d", i);
		ss[i].ctx = iscsi_create_context(name);
		u = ss[i].ctx ? iscsi_parse_full_url(ss[i].ctx, argv[1]) : NULL;
		if (!u)
			return 2;
		iscsi_set_session_type(ss[i].ctx, ISCSI_SESSION_NORMAL);
		iscsi_set_targetname(ss[i].ctx, u->target);
		iscsi_set_noautoreconnect(ss[i].ctx, 1);
		ss[i].lun = u->lun;
		ss[i].lba = (unsigned int)i * 8;
		if (iscsi_full_connect_sync(ss[i].ctx, u->portal, u->lun)) {
			fprintf(stderr, "ut-many: session %d: %s\n", i,
				iscsi_get_error(ss[i].ctx));
			iscsi_destroy_url(u);
			break;
		}
		iscsi_destroy_url(u);
		in++;
	}
	for (int i = 0; i < in; i++)
		for (int k = 0; k < qd; k++)
			issue(&ss[i]);
	if (ready && in == n) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	end = now_s() + secs;
	while (now_s() < end || (stop && access(stop, F_OK) != 0 && in == n)) {
		for (int i = 0; i < in; i++) {
			pfd[i].fd = iscsi_get_fd(ss[i].ctx);
			pfd[i].events = (short)iscsi_which_events(ss[i].ctx);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)in, 100) < 0)
			break;
		for (int i = 0; i < in; i++)
			if (pfd[i].revents &&
			    iscsi_service(ss[i].ctx, pfd[i].revents) < 0)
				errors++;
	}
	running = 0;
	for (int i = 0; i < in; i++) {
		total += ss[i].ios;
		if (ss[i].ios < min)
			min = ss[i].ios;
	}
	printf("sessions=%d logged_in=%d ios=%lu min_ios_per_session=%lu "
	       "errors=%lu\n",
	       n, in, total, in ? min : 0, errors);
	return in == n && min > 0 && errors == 0 ? 0 : 1;
}
