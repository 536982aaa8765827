/*
 * ut-dload — a raw iSCSI read load generator with digests, for the
 * `make bench` digest rows (issue 17 item 5).
 *
 * libiscsi, which ut-load and iscsi-perf use, negotiates HeaderDigest but
 * has no DataDigest, so the target's CRC32C over data segments could not
 * be measured.  This client speaks just enough iSCSI for that: one login
 * (operational stage straight to full feature phase), then READ(16) of
 * BYTES at random aligned offsets with QD commands in flight on one
 * connection, checking every header and data digest the target sends
 * (a wrong one is counted and ends the run with exit status 1).
 *
 *   ut-dload [-q QD] [-b BYTES] [-t SECONDS] [-S LUN_BYTES] [-H] [-D]
 *            HOST PORT TARGET LUN
 *
 *   -H  HeaderDigest=CRC32C    -D  DataDigest=CRC32C
 *   -S  the LUN's capacity, where offsets are drawn (default 1 GiB)
 *
 * The last line has ut-load's shape (bench/run.sh reads it):
 *   RESULT ios=N bytes=N secs=S iops=N mbps=N lat_avg_us=.. p50_us=..
 *          p99_us=.. p999_us=.. max_us=.. errors=N
 * Latencies are kept per command (sorted at the end).  The digests are
 * computed with ISA-L (Debian libisal), the fastest CRC32C here, so that
 * the client spends as little of the shared CPUs as possible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <isa-l/crc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BHS 48
#define RXBUF (4u << 20)
#define MAX_QD 256

static bool hd, dd;
static unsigned long digest_errors;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t digest(const void *p, size_t len)
{
	return ~crc32_iscsi((unsigned char *)p, (int)len, 0xffffffffu);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void die(const char *what)
{
	fprintf(stderr, "ut-dload: %s\n", what);
	exit(2);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the target failed");
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("the target closed the connection");
		p += n;
		len -= (size_t)n;
	}
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

/* text key=value\0 pairs */
static size_t kv(char *buf, size_t off, const char *k, const char *v)
{
	return off + (size_t)sprintf(buf + off, "%s=%s", k, v) + 1;
}

static const char *kv_get(const char *text, size_t len, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < len;) {
		const char *s = text + i;
		size_t l = strnlen(s, len - i);

		if (l > kl && !strncmp(s, key, kl) && s[kl] == '=')
			return s + kl + 1;
		i += l + 1;
	}
	return NULL;
}

struct sess {
	int fd;
	uint32_t cmdsn, exp_statsn, max_cmdsn;
};

static void login(struct sess *s, const char *target)
{
	uint8_t h[BHS] = {0};
	char text[1024], rtext[8192];
	size_t n = 0, dlen;
	const char *v;

	n = kv(text, n, "InitiatorName", "iqn.2026-12.org.utarget:ut-dload");
	n = kv(text, n, "TargetName", target);
	n = kv(text, n, "SessionType", "Normal");
	n = kv(text, n, "HeaderDigest", hd ? "CRC32C" : "None");
	n = kv(text, n, "DataDigest", dd ? "CRC32C" : "None");
	n = kv(text, n, "MaxRecvDataSegmentLength", "262144");
	n = kv(text, n, "MaxBurstLength", "16776192");
	n = kv(text, n, "FirstBurstLength", "262144");
	n = kv(text, n, "ImmediateData", "Yes");
	n = kv(text, n, "InitialR2T", "Yes");
	n = kv(text, n, "MaxOutstandingR2T", "1");
	n = kv(text, n, "ErrorRecoveryLevel", "0");
	n = kv(text, n, "DataPDUInOrder", "Yes");
	n = kv(text, n, "DataSequenceInOrder", "Yes");
	n = kv(text, n, "DefaultTime2Wait", "0");
	n = kv(text, n, "DefaultTime2Retain", "0");
	n = kv(text, n, "MaxConnections", "1");
	/* RFC 7143 §11.12: immediate, T=1, CSG=1 (operational), NSG=3 */
	h[0] = 0x40 | 0x03;
	h[1] = 0x80 | (1 << 2) | 3;
	h[5] = (uint8_t)(n >> 16);
	h[6] = (uint8_t)(n >> 8);
	h[7] = (uint8_t)n;
	h[8] = 0x80; /* ISID: random type */
	h[9] = 0x12;
	h[10] = 0x34;
	h[11] = (uint8_t)getpid();
	h[13] = (uint8_t)(getpid() >> 8);
	memset(text + n, 0, pad4(n));
	write_all(s->fd, h, BHS);
	write_all(s->fd, text, n + pad4(n));
	read_all(s->fd, h, BHS);
	dlen = get24(h + 5);
	if (h[0] != 0x23 || dlen > sizeof(rtext))
		die("no Login Response");
	read_all(s->fd, rtext, dlen + pad4(dlen));
	if (h[36] != 0 || !(h[1] & 0x80) || (h[1] & 3) != 3) {
		fprintf(stderr, "ut-dload: login refused: class %u detail %u\n",
			h[36], h[37]);
		exit(2);
	}
	v = kv_get(rtext, dlen, "HeaderDigest");
	if (!v || strcmp(v, hd ? "CRC32C" : "None"))
		die("HeaderDigest not as asked");
	v = kv_get(rtext, dlen, "DataDigest");
	if (!v || strcmp(v, dd ? "CRC32C" : "None"))
		die("DataDigest not as asked");
	s->exp_statsn = get32(h + 24) + 1;
	s->cmdsn = get32(h + 28);
	s->max_cmdsn = get32(h + 32);
}

/* Queue one READ(16) PDU into out. */
static size_t read_cmd(struct sess *s, uint8_t *out, uint32_t itt, uint32_t lun,
		       uint64_t lba, uint32_t blocks, uint32_t bytes)
{
	uint8_t *h = out;

	memset(h, 0, BHS);
	h[0] = 0x01;		   /* SCSI Command */
	h[1] = 0x80 | 0x40 | 0x01; /* F, R, SIMPLE */
	h[8] = (uint8_t)(lun >> 8);
	h[9] = (uint8_t)lun;
	put32(h + 16, itt);
	put32(h + 20, bytes); /* EDTL */
	put32(h + 24, s->cmdsn++);
	put32(h + 28, s->exp_statsn);
	h[32] = 0x88;
	for (int i = 0; i < 8; i++)
		h[34 + i] = (uint8_t)(lba >> (56 - 8 * i));
	put32(h + 42, blocks);
	if (hd) {
		uint32_t d = digest(h, BHS);

		memcpy(h + BHS, &d, 4);
		return BHS + 4;
	}
	return BHS;
}

/* TEST UNIT READY until GOOD: a new nexus first hears of its unit
 * attention (SAM-5 §5.14), which must not count as a failed read. */
static void clear_unit_attention(struct sess *s, uint32_t lun)
{
	static uint8_t buf[BHS + 4 + 65536 + 8];

	for (int i = 0; i < 8; i++) {
		uint8_t *h = buf;
		size_t n = read_cmd(s, h, 0x7777, lun, 0, 0, 0), hlen, dlen;

		h[1] = 0x80 | 0x01; /* F, SIMPLE, no data */
		memset(h + 32, 0, 16);
		if (hd) {
			uint32_t d = digest(h, BHS);

			memcpy(h + BHS, &d, 4);
		}
		write_all(s->fd, h, n);
		hlen = BHS + (hd ? 4 : 0);
		read_all(s->fd, h, hlen);
		dlen = get24(h + 5);
		if (dlen > 65536)
			die("a long answer to TEST UNIT READY");
		read_all(s->fd, h + hlen,
			 dlen + pad4(dlen) + (dd && dlen ? 4 : 0));
		if ((h[0] & 0x3f) != 0x21)
			die("no answer to TEST UNIT READY");
		s->exp_statsn = get32(h + 24) + 1;
		s->max_cmdsn = get32(h + 32);
		if (h[2] == 0 && h[3] == 0)
			return;
	}
	die("TEST UNIT READY keeps failing");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

int main(int argc, char **argv)
{
	unsigned int qd = 32;
	uint32_t bytes = 4096;
	double secs = 10;
	uint64_t lun_bytes = 1ull << 30;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	struct sess s = {0};
	uint64_t start[MAX_QD] = {0}, t0, t_end, ios = 0, errors = 0,
		 lat_sum = 0;
	uint32_t *lat, lat_cap, lat_n = 0, lun;
	uint8_t *rx, tx[MAX_QD * (BHS + 4)];
	size_t rx_len = 0, tx_len = 0;
	unsigned int inflight = 0;
	bool stopping = false;
	int opt, one = 1;

	while ((opt = getopt(argc, argv, "q:b:t:S:HD")) != -1) {
		switch (opt) {
		case 'q':
			qd = (unsigned int)atoi(optarg);
			break;
		case 'b':
			bytes = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'S':
			lun_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'H':
			hd = true;
			break;
		case 'D':
			dd = true;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 4 || qd < 1 || qd > MAX_QD || bytes < 512 ||
	    bytes % 512 || bytes > 16u << 20 || lun_bytes < bytes)
		goto usage;
	lun = (uint32_t)atoi(argv[optind + 3]);
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai) != 0)
		die("bad address");
	s.fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s.fd < 0 || connect(s.fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("cannot connect");
	freeaddrinfo(ai);
	setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	login(&s, argv[optind + 2]);
	clear_unit_attention(&s, lun);
	rx = malloc(RXBUF);
	lat_cap = (uint32_t)(secs * 2e6) + 1024;
	lat = malloc(sizeof(*lat) * lat_cap);
	if (!rx || !lat)
		die("out of memory");
	rnd_state ^= (uint64_t)getpid() << 20;

	t0 = now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t now = now_ns();
		size_t off = 0;
		ssize_t n;

		if (now >= t_end)
			stopping = true;
		/* keep QD in flight, within the CmdSN window */
		while (!stopping && inflight < qd &&
		       (int32_t)(s.max_cmdsn - s.cmdsn) >= 0) {
			uint32_t itt = 0;
			uint64_t lba;

			while (start[itt] != 0) /* a free slot */
				itt++;
			lba = rnd() % (lun_bytes / bytes) * (bytes / 512);
			start[itt] = now;
			tx_len += read_cmd(&s, tx + tx_len, itt, lun, lba,
					   bytes / 512, bytes);
			inflight++;
		}
		if (tx_len) {
			write_all(s.fd, tx, tx_len);
			tx_len = 0;
		}
		if (inflight == 0)
			break;
		n = read(s.fd, rx + rx_len, RXBUF - rx_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("the target closed the connection");
		rx_len += (size_t)n;
		now = now_ns();
		for (;;) {
			uint8_t *h = rx + off;
			size_t hlen = BHS + (hd ? 4 : 0), dlen, plen, total;
			uint32_t itt;

			if (rx_len - off < hlen)
				break;
			dlen = get24(h + 5);
			plen = dlen + pad4(dlen);
			total = hlen + plen + (dd && dlen ? 4 : 0);
			if (total > RXBUF)
				die("a PDU larger than the receive buffer");
			if (rx_len - off < total)
				break;
			if (hd) {
				uint32_t d = digest(h, BHS), w;

				memcpy(&w, h + BHS, 4);
				digest_errors += d != w;
			}
			if (dd && dlen) {
				uint32_t d = digest(h + hlen, plen), w;

				memcpy(&w, h + hlen + plen, 4);
				digest_errors += d != w;
			}
			itt = get32(h + 16);
			switch (h[0] & 0x3f) {
			case 0x25: /* Data-In */
				if (!(h[1] & 0x01))
					break;
				/* status with the last one */
				__attribute__((fallthrough));
			case 0x21: /* SCSI Response */
				if (itt >= MAX_QD || !start[itt])
					die("a response for no command");
				if (h[3] != 0 ||
				    ((h[0] & 0x3f) == 0x21 && h[2]))
					errors++;
				s.exp_statsn = get32(h + 24) + 1;
				s.max_cmdsn = get32(h + 32);
				if (lat_n < lat_cap)
					lat[lat_n++] =
						(uint32_t)((now - start[itt]) /
							   100);
				lat_sum += now - start[itt];
				start[itt] = 0;
				inflight--;
				ios++;
				break;
			case 0x20: /* NOP-In: answer a ping, ignore echoes */
				if (get32(h + 20) != 0xffffffffu) {
					uint8_t *o = tx + tx_len;

					memset(o, 0, BHS);
					o[0] = 0x40; /* immediate NOP-Out */
					o[1] = 0x80;
					memcpy(o + 8, h + 8, 8);
					put32(o + 16, 0xffffffffu);
					memcpy(o + 20, h + 20, 4);
					put32(o + 24, s.cmdsn);
					put32(o + 28, s.exp_statsn);
					tx_len += BHS;
					if (hd) {
						uint32_t d = digest(o, BHS);

						memcpy(o + BHS, &d, 4);
						tx_len += 4;
					}
				}
				break;
			default:
				fprintf(stderr, "ut-dload: opcode 0x%02x\n",
					h[0]);
				die("an unexpected PDU");
			}
			off += total;
		}
		memmove(rx, rx + off, rx_len - off);
		rx_len -= off;
	}

	{
		double el = (double)(now_ns() - t0) / 1e9;
		double p50 = 0, p99 = 0, p999 = 0, max = 0;

		qsort(lat, lat_n, sizeof(*lat), cmp_u32);
		if (lat_n) {
			p50 = lat[lat_n / 2] / 10.0;
			p99 = lat[(uint64_t)lat_n * 99 / 100] / 10.0;
			p999 = lat[(uint64_t)lat_n * 999 / 1000] / 10.0;
			max = lat[lat_n - 1] / 10.0;
		}
		printf("ut-dload: HeaderDigest %s, DataDigest %s, %lu digest "
		       "errors\n",
		       hd ? "CRC32C" : "None", dd ? "CRC32C" : "None",
		       digest_errors);
		printf("RESULT ios=%" PRIu64 " bytes=%" PRIu64
		       " secs=%.3f iops=%.0f mbps=%.1f lat_avg_us=%.1f "
		       "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
		       "errors=%" PRIu64 "\n",
		       ios, ios * bytes, el, ios / el, ios * bytes / el / 1e6,
		       ios ? lat_sum / 1e3 / (double)ios : 0.0, p50, p99, p999,
		       max, errors + digest_errors);
	}
	close(s.fd);
	return digest_errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: ut-dload [-q QD] [-b BYTES] [-t SECONDS] "
			"[-S LUN_BYTES] [-H] [-D] HOST PORT TARGET LUN\n");
	return 2;
}
