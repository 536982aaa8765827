/*
 * ut-load — a small libiscsi load generator for `make bench`.
 *
 * iscsi-perf only reads; ut-load reads, writes or mixes both, keeps a fixed
 * queue depth of asynchronous READ(16)/WRITE(16) per session, runs for a
 * fixed time and prints IOPS, MB/s and latency percentiles.
 *
 *   ut-load [-q QD] [-b BYTES] [-r] [-w WRITE%] [-t SECONDS] [-s SESSIONS]
 *           [-i INITIATOR] [-H] URL
 *
 *   -q QD        commands in flight per session (default 32)
 *   -b BYTES     transfer size per command (default 4096)
 *   -r           random offsets (aligned to BYTES); default sequential
 *   -w PCT       percentage of writes, 0..100 (default 0: read only)
 *   -t SECONDS   run time (default 10; fractions allowed)
 *   -s SESSIONS  concurrent sessions, one process each (default 1)
 *   -i NAME      initiator name prefix (session k appends -k)
 *   -H           HeaderDigest=CRC32C (libiscsi has no DataDigest)
 *
 * The last line is machine readable:
 *   RESULT ios=N bytes=N secs=S iops=N mbps=N lat_avg_us=.. p50_us=..
 *          p99_us=.. p999_us=.. max_us=.. errors=N
 *
 * Sessions run in separate processes (so they can use several cores),
 * start together after all have logged in, and publish their counters and
 * latency histograms through a shared mapping that the parent sums.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/*
 * Log-linear latency histogram over nanoseconds: values below 64 have a
 * bucket each; above, every power of two is split into 64 sub-buckets
 * (relative error under 1.6%).
 */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)

struct result {
	uint64_t ios;
	uint64_t bytes;
	uint64_t errors;
	uint64_t lat_sum_ns;
	uint64_t lat_max_ns;
	uint64_t elapsed_ns;
	int failed;
	uint64_t hist[NBUCKETS];
};

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return (e - SUB_BITS + 1) * SUB +
	       (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The middle of a bucket's range, in ns. */
static double bucket_value(unsigned b)
{
	unsigned e, sub;
	double lo, width;

	if (b < SUB)
		return b;
	e = b / SUB + SUB_BITS - 1;
	sub = b % SUB;
	width = (double)(1ull << (e - SUB_BITS));
	lo = (double)(1ull << e) + sub * width;
	return lo + width / 2;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct opts {
	int qd;
	uint32_t bs;
	int random;
	int write_pct;
	double secs;
	int sessions;
	int header_digest;
	const char *initiator;
	const char *url;
};

struct slot {
	struct worker *w;
	uint8_t *buf;
	struct scsi_iovec iov;
	uint64_t start;
	int idx;
};

struct worker {
	const struct opts *o;
	struct iscsi_context *ctx;
	int lun;
	uint32_t blocksize;
	uint64_t nblocks; /* LUN size in blocks */
	uint64_t nchunks; /* LUN size in transfers */
	uint64_t seq;	  /* next sequential chunk */
	uint64_t rng;
	uint64_t deadline;
	int in_flight;
	int stop;
	struct result *res;
	struct slot *slots;
};

static uint64_t rnd(struct worker *w)
{
	uint64_t x = w->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static int submit(struct slot *s);

static void done(struct iscsi_context *ctx, int status, void *command_data,
		 void *private_data)
{
	struct slot *s = private_data;
	struct worker *w = s->w;
	struct scsi_task *task = command_data;
	uint64_t t = now_ns(), lat = t - s->start;

	w->in_flight--;
	if (status == SCSI_STATUS_GOOD) {
		w->res->ios++;
		w->res->bytes += w->o->bs;
		w->res->lat_sum_ns += lat;
		if (lat > w->res->lat_max_ns)
			w->res->lat_max_ns = lat;
		w->res->hist[bucket_of(lat)]++;
	} else {
		if (w->res->errors++ < 5)
			fprintf(stderr, "ut-load: command failed: %s\n",
				iscsi_get_error(ctx));
		if (status == SCSI_STATUS_CANCELLED ||
		    status == SCSI_STATUS_ERROR)
			w->stop = 1;
	}
	if (task)
		scsi_free_scsi_task(task);
	if (!w->stop && t < w->deadline)
		submit(s);
}

static int submit(struct slot *s)
{
	struct worker *w = s->w;
	uint32_t per = w->o->bs / w->blocksize;
	uint64_t chunk, lba;
	struct scsi_task *t;
	int write;

	if (w->o->random) {
		chunk = rnd(w) % w->nchunks;
	} else {
		chunk = w->seq++;
		if (w->seq >= w->nchunks)
			w->seq = 0;
	}
	lba = chunk * per;
	write = w->o->write_pct >= 100 ||
		(w->o->write_pct > 0 && (int)(rnd(w) % 100) < w->o->write_pct);
	s->start = now_ns();
	if (write)
		t = iscsi_write16_iov_task(w->ctx, w->lun, lba, NULL, w->o->bs,
					   (int)w->blocksize, 0, 0, 0, 0, 0,
					   done, s, &s->iov, 1);
	else
		t = iscsi_read16_iov_task(w->ctx, w->lun, lba, w->o->bs,
					  (int)w->blocksize, 0, 0, 0, 0, 0,
					  done, s, &s->iov, 1);
	if (!t) {
		fprintf(stderr, "ut-load: cannot queue a command: %s\n",
			iscsi_get_error(w->ctx));
		w->stop = 1;
		return -1;
	}
	w->in_flight++;
	return 0;
}

static struct iscsi_context *login(const struct opts *o, int k, int *lun)
{
	char name[256];
	struct iscsi_context *ctx;
	struct iscsi_url *u;

	snprintf(name, sizeof(name), "%s-%d", o->initiator, k);
	ctx = iscsi_create_context(name);
	if (!ctx)
		return NULL;
	u = iscsi_parse_full_url(ctx, o->url);
	if (!u) {
		fprintf(stderr, "ut-load: bad URL %s: %s\n", o->url,
			iscsi_get_error(ctx));
		iscsi_destroy_context(ctx);
		return NULL;
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, o->header_digest
					     ? ISCSI_HEADER_DIGEST_CRC32C
					     : ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_targetname(ctx, u->target);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun) != 0) {
		fprintf(stderr, "ut-load: login to %s failed: %s\n", o->url,
			iscsi_get_error(ctx));
		iscsi_destroy_url(u);
		iscsi_destroy_context(ctx);
		return NULL;
	}
	*lun = u->lun;
	iscsi_destroy_url(u);
	return ctx;
}

static int capacity(struct worker *w)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(w->ctx, w->lun);
	struct scsi_readcapacity16 *rc;

	if (!t || t->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "ut-load: READ CAPACITY(16) failed: %s\n",
			iscsi_get_error(w->ctx));
		if (t)
			scsi_free_scsi_task(t);
		return -1;
	}
	rc = scsi_datain_unmarshall(t);
	if (!rc) {
		scsi_free_scsi_task(t);
		return -1;
	}
	w->blocksize = rc->block_length;
	w->nblocks = rc->returned_lba + 1;
	scsi_free_scsi_task(t);
	if (w->blocksize == 0 || w->o->bs % w->blocksize) {
		fprintf(stderr,
			"ut-load: -b %u is not a multiple of the block size %u\n",
			w->o->bs, w->blocksize);
		return -1;
	}
	w->nchunks = w->nblocks / (w->o->bs / w->blocksize);
	if (w->nchunks == 0) {
		fprintf(stderr, "ut-load: LUN smaller than one transfer\n");
		return -1;
	}
	return 0;
}

/* One session: log in, report ready, wait for go, run, publish. */
static int run_session(const struct opts *o, int k, struct result *res,
		       int ready_fd, int go_fd)
{
	struct worker w;
	struct pollfd pfd;
	uint64_t start, end, drain_deadline;
	char c = 'r';

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.res = res;
	w.rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 32) ^
		(uint64_t)k;
	w.ctx = login(o, k, &w.lun);
	if (!w.ctx || capacity(&w) != 0) {
		res->failed = 1;
		if (write(ready_fd, "f", 1) < 0)
			return 1;
		return 1;
	}
	if (!o->random)
		w.seq = (w.nchunks / (uint64_t)o->sessions) * (uint64_t)k;
	w.slots = calloc((size_t)o->qd, sizeof(*w.slots));
	if (!w.slots)
		return 1;
	for (int i = 0; i < o->qd; i++) {
		struct slot *s = &w.slots[i];

		s->w = &w;
		s->idx = i;
		if (posix_memalign((void **)&s->buf, 4096, o->bs))
			return 1;
		memset(s->buf, 0x5a ^ i, o->bs);
		s->iov.iov_base = s->buf;
		s->iov.iov_len = o->bs;
	}

	if (write(ready_fd, &c, 1) != 1)
		return 1;
	if (read(go_fd, &c, 1) < 0)
		return 1;

	start = now_ns();
	w.deadline = start + (uint64_t)(o->secs * 1e9);
	for (int i = 0; i < o->qd && !w.stop; i++)
		submit(&w.slots[i]);
	drain_deadline = w.deadline + 10ull * 1000000000ull;
	while (w.in_flight > 0) {
		uint64_t t = now_ns();

		if (t > drain_deadline) {
			fprintf(stderr,
				"ut-load: %d commands still outstanding 10 s after the end\n",
				w.in_flight);
			res->failed = 1;
			break;
		}
		/* Commands queued by the completions just served go out
		 * now: the socket almost always has room, and a poll() only
		 * to learn that would cost every command a system call (one
		 * of five per read at QD1).  Should it be full, libiscsi keeps
		 * the rest queued and poll() waits for room as before. */
		if ((iscsi_which_events(w.ctx) & POLLOUT) &&
		    iscsi_service(w.ctx, POLLOUT) < 0) {
			fprintf(stderr, "ut-load: iscsi_service: %s\n",
				iscsi_get_error(w.ctx));
			res->failed = 1;
			break;
		}
		pfd.fd = iscsi_get_fd(w.ctx);
		pfd.events = (short)iscsi_which_events(w.ctx);
		pfd.revents = 0;
		if (poll(&pfd, 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			res->failed = 1;
			break;
		}
		if (iscsi_service(w.ctx, pfd.revents) < 0) {
			fprintf(stderr, "ut-load: iscsi_service: %s\n",
				iscsi_get_error(w.ctx));
			res->failed = 1;
			break;
		}
		if (w.stop && w.in_flight > 0 && res->errors > 0 &&
		    !iscsi_is_logged_in(w.ctx)) {
			res->failed = 1;
			break;
		}
	}
	end = now_ns();
	res->elapsed_ns = end - start;
	if (!res->failed)
		iscsi_logout_sync(w.ctx);
	iscsi_destroy_context(w.ctx);
	return res->failed ? 1 : 0;
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total + 0.5), acc = 0;

	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		acc += hist[b];
		if (acc >= want)
			return bucket_value(b);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ut-load [-q QD] [-b BYTES] [-r] [-w WRITE%%] [-t SECONDS] "
		"[-s SESSIONS] [-i INITIATOR] [-H] URL\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.qd = 32,
		.bs = 4096,
		.random = 0,
		.write_pct = 0,
		.secs = 10,
		.sessions = 1,
		.initiator = "iqn.2026-11.org.utarget:ut-load",
	};
	struct result *res, tot;
	int ready[2], go[2], opt, failed = 0;
	pid_t *pids;
	double secs;

	while ((opt = getopt(argc, argv, "q:b:rw:t:s:i:Hh")) != -1) {
		switch (opt) {
		case 'q':
			o.qd = atoi(optarg);
			break;
		case 'b':
			o.bs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o.random = 1;
			break;
		case 'w':
			o.write_pct = atoi(optarg);
			break;
		case 't':
			o.secs = atof(optarg);
			break;
		case 's':
			o.sessions = atoi(optarg);
			break;
		case 'i':
			o.initiator = optarg;
			break;
		case 'H':
			o.header_digest = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || o.qd < 1 || o.qd > 1024 || o.bs == 0 ||
	    o.write_pct < 0 || o.write_pct > 100 || o.secs <= 0 ||
	    o.sessions < 1 || o.sessions > 64)
		usage();
	o.url = argv[optind];

	printf("ut-load: %s %s, %u bytes per command, %d in flight x %d session%s, %.1f s\n",
	       o.random ? "RANDOM" : "SEQUENTIAL",
	       o.write_pct == 0	    ? "READ"
	       : o.write_pct == 100 ? "WRITE"
				    : "READ/WRITE",
	       o.bs, o.qd, o.sessions, o.sessions > 1 ? "s" : "", o.secs);
	if (o.write_pct > 0 && o.write_pct < 100)
		printf("ut-load: %d%% writes\n", o.write_pct);
	fflush(stdout);

	res = mmap(NULL, sizeof(*res) * (size_t)o.sessions,
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc((size_t)o.sessions, sizeof(*pids));
	if (res == MAP_FAILED || !pids || pipe(ready) || pipe(go)) {
		perror("ut-load");
		return 1;
	}
	memset(res, 0, sizeof(*res) * (size_t)o.sessions);
	signal(SIGPIPE, SIG_IGN);
	for (int k = 0; k < o.sessions; k++) {
		pids[k] = fork();
		if (pids[k] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[k] == 0) {
			close(ready[0]);
			close(go[1]);
			_exit(run_session(&o, k, &res[k], ready[1], go[0]));
		}
	}
	close(ready[1]);
	close(go[0]);
	for (int k = 0; k < o.sessions; k++) {
		char c;

		if (read(ready[0], &c, 1) != 1 || c != 'r')
			failed = 1;
	}
	close(go[1]); /* every session starts now */
	for (int k = 0; k < o.sessions; k++) {
		int st;

		if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed = 1;
	}

	memset(&tot, 0, sizeof(tot));
	secs = 0;
	for (int k = 0; k < o.sessions; k++) {
		tot.ios += res[k].ios;
		tot.bytes += res[k].bytes;
		tot.errors += res[k].errors;
		tot.lat_sum_ns += res[k].lat_sum_ns;
		if (res[k].lat_max_ns > tot.lat_max_ns)
			tot.lat_max_ns = res[k].lat_max_ns;
		if (res[k].elapsed_ns / 1e9 > secs)
			secs = res[k].elapsed_ns / 1e9;
		for (unsigned b = 0; b < NBUCKETS; b++)
			tot.hist[b] += res[k].hist[b];
	}
	if (secs <= 0)
		secs = o.secs;
	{
		double iops = tot.ios / secs, mbps = tot.bytes / secs / 1e6;
		double avg = tot.ios ? tot.lat_sum_ns / (double)tot.ios / 1e3
				     : 0;
		double p50 = percentile(tot.hist, tot.ios, 0.50) / 1e3;
		double p99 = percentile(tot.hist, tot.ios, 0.99) / 1e3;
		double p999 = percentile(tot.hist, tot.ios, 0.999) / 1e3;
		double max = tot.lat_max_ns / 1e3;

		/* a bucket's middle may lie past the largest sample */
		p50 = p50 > max ? max : p50;
		p99 = p99 > max ? max : p99;
		p999 = p999 > max ? max : p999;

		printf("iops average %.0f (%.0f MB/s), %" PRIu64
		       " commands in %.2f s, %" PRIu64 " errors\n",
		       iops, mbps, tot.ios, secs, tot.errors);
		printf("latency usec: avg %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f, max %.1f\n",
		       avg, p50, p99, p999, tot.lat_max_ns / 1e3);
		printf("RESULT ios=%" PRIu64 " bytes=%" PRIu64
		       " secs=%.3f iops=%.0f mbps=%.1f "
		       "lat_avg_us=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%" PRIu64
		       "\n",
		       tot.ios, tot.bytes, secs, iops, mbps, avg, p50, p99,
		       p999, tot.lat_max_ns / 1e3, tot.errors);
	}
	return failed || tot.errors ? 1 : 0;
}
