/*
 * ut-hostile — hostile login inputs against a running utarget (issue 5:
 * "hostile login inputs leave the daemon serving others").
 *
 *   ut-hostile [-d] [-t TARGET] [-u CHAP_USER] [-w SECONDS] HOST PORT
 *
 * Each case runs on its own TCP connection.  The target must end it
 * itself, with a failed Login Response, a Reject, or by closing the
 * connection, before the timeout (-w, 5 s by default) runs out on any
 * read; a successful answer to a hostile input, or silence, fails the
 * case.  Cases:
 *
 *   key-64             a key of 64 bytes (RFC 7143 §6.1: at most 63)
 *   value-10000        a value of 10000 bytes, in continuation PDUs
 *   chap-r-100k        CHAP_R of 100 KB after a proper CHAP_A step, in
 *                      continuation PDUs
 *   chap-c-100k        mutual CHAP_I/CHAP_C with a 100 KB CHAP_C
 *   chap-c-3000        a CHAP_C over the 1024-byte challenge limit (small
 *                      enough for the text layer)
 *   unterminated       text without any NUL
 *   unterminated-last  NUL-separated text whose last pair has none
 *   endless-continue   C-bit login PDUs of 8 KiB forever: must end within
 *                      the 64 KiB text cap (plus one PDU)
 *   endless-continue-small  C-bit PDUs of 64 bytes forever: must end
 *                      within the 64-PDU cap (plus one)
 *   dsl-16m            a BHS announcing DataSegmentLength 16 MiB - 1 (the
 *                      field's largest value), then 512 bytes
 *   ahs-255            TotalAHSLength 255 followed by garbage
 *   scsi-before-login  a SCSI command as the first PDU
 *   random-bytes       64 KiB of (seeded) random bytes
 *
 * -d makes every login a discovery session (no TargetName).  Exits 0 when
 * every case passed, 1 otherwise; prints one line per case.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BHS_LEN 48
#define OP_SCSI_CMD 0x01
#define OP_LOGIN_REQ 0x03
#define OP_LOGIN_RSP 0x23
#define OP_REJECT 0x3f
#define F_TRANSIT 0x80
#define F_CONTINUE 0x40
#define TEXT_CAP 65536u /* the target's text negotiation cap */
#define PDU_CAP 64u	/* login PDUs per negotiation */

static const char *host = "127.0.0.1";
static int port;
static const char *target = "iqn.2026-11.org.utarget:default";
static const char *chap_user = "joe";
static bool discovery;
static int wait_ms = 5000;
static uint32_t itt = 0x100;

enum answer {
	A_LOGIN_OK,   /* Login Response, status 0 */
	A_LOGIN_FAIL, /* Login Response, status != 0 */
	A_REJECT,
	A_OTHER,  /* some other PDU */
	A_CLOSED, /* EOF or reset */
	A_TIMEOUT,
};

struct rsp {
	enum answer a;
	uint8_t bhs[BHS_LEN];
	uint16_t status;
	bool cont; /* Login Response with C set */
};

static const char *answer_name(enum answer a)
{
	static const char *n[] = {
		"login accepted", "login failed",      "Reject",
		"other PDU",	  "connection closed", "TIMEOUT"};
	return n[a];
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int conn_open(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct timeval tv = {.tv_sec = wait_ms / 1000,
			     .tv_usec = (wait_ms % 1000) * 1000};

	itt++; /* one login task per connection */
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		perror("ut-hostile: socket");
		exit(2);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Never block forever in send() either. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "ut-hostile: connect %s:%d: %s\n", host, port,
			strerror(errno));
		exit(2);
	}
	return fd;
}

/* 0, or -1 when the peer is gone (EPIPE, reset) or send timed out. */
static int send_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes with a timeout on every wait.  1 ok, 0 closed,
 * -1 timeout. */
static int recv_all(int fd, void *p, size_t len)
{
	uint8_t *b = p;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, wait_ms);
		ssize_t n;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return -1;
		n = recv(fd, b, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		b += n;
		len -= (size_t)n;
	}
	return 1;
}

/* The next PDU from the target (its data is read and dropped). */
static struct rsp read_pdu(int fd)
{
	struct rsp r = {.a = A_TIMEOUT};
	int rc = recv_all(fd, r.bhs, BHS_LEN);
	size_t rest;
	uint8_t *junk;

	if (rc <= 0) {
		r.a = rc == 0 ? A_CLOSED : A_TIMEOUT;
		return r;
	}
	rest = (size_t)r.bhs[4] * 4 +
	       (((size_t)r.bhs[5] << 16 | (size_t)r.bhs[6] << 8 | r.bhs[7]) +
		3) / 4 *
		       4;
	if (rest > 0) {
		junk = malloc(rest);
		if (junk == NULL)
			abort();
		rc = recv_all(fd, junk, rest);
		free(junk);
		if (rc <= 0) {
			r.a = rc == 0 ? A_CLOSED : A_TIMEOUT;
			return r;
		}
	}
	switch (r.bhs[0] & 0x3f) {
	case OP_LOGIN_RSP:
		r.status = (uint16_t)(r.bhs[36] << 8 | r.bhs[37]);
		r.cont = (r.bhs[1] & F_CONTINUE) != 0;
		r.a = r.status ? A_LOGIN_FAIL : A_LOGIN_OK;
		break;
	case OP_REJECT:
		r.a = A_REJECT;
		break;
	default:
		r.a = A_OTHER;
	}
	return r;
}

/* A Login Request in the security stage (T=1 NSG=1 unless cont). */
static void login_bhs(uint8_t *b, uint32_t dsl, bool transit, bool cont)
{
	static uint32_t cmdsn = 1;

	memset(b, 0, BHS_LEN);
	b[0] = 0x40 | OP_LOGIN_REQ; /* immediate */
	b[1] = (uint8_t)((transit && !cont ? F_TRANSIT | 1 : 0) |
			 (cont ? F_CONTINUE : 0)); /* CSG 0 */
	b[5] = (uint8_t)(dsl >> 16);
	b[6] = (uint8_t)(dsl >> 8);
	b[7] = (uint8_t)dsl;
	b[8] = 0x80; /* ISID: random type */
	b[9] = 0x00;
	b[10] = 0x48; /* 'H' */
	b[11] = 0x4f; /* 'O' */
	b[12] = (uint8_t)(itt >> 8);
	b[13] = (uint8_t)itt;
	b[16] = (uint8_t)(itt >> 24);
	b[17] = (uint8_t)(itt >> 16);
	b[18] = (uint8_t)(itt >> 8);
	b[19] = (uint8_t)itt;
	b[24] = (uint8_t)(cmdsn >> 24);
	b[25] = (uint8_t)(cmdsn >> 16);
	b[26] = (uint8_t)(cmdsn >> 8);
	b[27] = (uint8_t)cmdsn;
}

static int send_login_pdu(int fd, const void *data, uint32_t len, bool transit,
			  bool cont)
{
	uint8_t b[BHS_LEN];
	static const uint8_t zero[4];

	login_bhs(b, len, transit, cont);
	if (send_all(fd, b, BHS_LEN) || (len && send_all(fd, data, len)))
		return -1;
	return (len % 4) ? send_all(fd, zero, 4 - len % 4) : 0;
}

/* Send text as one login request split into C-bit PDUs of at most chunk
 * bytes, answering the target's empty continuation answers.  Returns the
 * answer to the last PDU sent (or whatever ended the exchange early);
 * *sent gets the bytes that went out. */
static struct rsp send_text(int fd, const char *text, size_t len, size_t chunk,
			    bool transit, size_t *sent)
{
	struct rsp r = {.a = A_CLOSED};
	size_t off = 0;

	do {
		size_t n = len - off < chunk ? len - off : chunk;
		bool more = off + n < len;

		if (send_login_pdu(fd, text + off, (uint32_t)n, transit,
				   more)) {
			r = read_pdu(fd); /* what the target said, if any */
			if (r.a == A_TIMEOUT || r.a == A_LOGIN_OK)
				r.a = A_CLOSED;
			break;
		}
		off += n;
		r = read_pdu(fd);
		if (r.a != A_LOGIN_OK)
			break;
	} while (off < len);
	if (sent)
		*sent = off;
	return r;
}

/* text += "key=value\0" */
static size_t put(char *buf, size_t at, const char *key, const char *val)
{
	size_t k = strlen(key), v = strlen(val);

	memcpy(buf + at, key, k);
	buf[at + k] = '=';
	memcpy(buf + at + k + 1, val, v);
	buf[at + k + 1 + v] = '\0';
	return at + k + v + 2;
}

static size_t put_header(char *buf, const char *auth)
{
	size_t n =
		put(buf, 0, "InitiatorName", "iqn.2026-11.org.utarget:hostile");

	n = put(buf, n, "SessionType", discovery ? "Discovery" : "Normal");
	if (!discovery)
		n = put(buf, n, "TargetName", target);
	if (auth)
		n = put(buf, n, "AuthMethod", auth);
	return n;
}

static char *hexval(size_t digits)
{
	char *s = malloc(digits + 3);

	if (s == NULL)
		abort();
	s[0] = '0';
	s[1] = 'x';
	for (size_t i = 0; i < digits; i++)
		s[2 + i] = "0123456789abcdef"[rnd() & 15];
	s[2 + digits] = '\0';
	return s;
}

static int failures;

/* Judge the target's answer to a hostile input: it must refuse it. */
static void verdict(const char *name, struct rsp r, const char *note)
{
	bool ok = r.a == A_LOGIN_FAIL || r.a == A_REJECT || r.a == A_CLOSED;

	if (r.a == A_LOGIN_FAIL)
		printf("ut-hostile: %s %s: login failed, status 0x%04x%s%s\n",
		       ok ? "PASS" : "FAIL", name, r.status, note ? ", " : "",
		       note ? note : "");
	else
		printf("ut-hostile: %s %s: %s%s%s\n", ok ? "PASS" : "FAIL",
		       name, answer_name(r.a), note ? ", " : "",
		       note ? note : "");
	if (!ok)
		failures++;
}

/* After a refusal the target must not keep the connection open forever:
 * read (and drop) until it closes, with the timeout on every read. */
static void expect_close(const char *name, int fd, struct rsp r)
{
	int extra = 0;

	if (r.a == A_CLOSED)
		return;
	while (extra < 16) {
		struct rsp x = read_pdu(fd);

		if (x.a == A_CLOSED)
			return;
		if (x.a == A_TIMEOUT)
			break;
		extra++;
	}
	if (r.a == A_LOGIN_FAIL) {
		/* RFC 7143 §11.13.5: a failed login ends the connection. */
		printf("ut-hostile: FAIL %s: the connection stays open after "
		       "the failed login\n",
		       name);
		failures++;
	}
}

/* The CHAP exchange's first two steps; 0 when the target wants a
 * response next.  (A target without CHAP answers AuthMethod=None.) */
static int chap_prelude(int fd, const char *name)
{
	char buf[1024];
	size_t n = put_header(buf, "CHAP,None");
	struct rsp r = send_text(fd, buf, n, 8192, true, NULL);

	if (r.a != A_LOGIN_OK || (r.bhs[1] & F_TRANSIT)) {
		printf("ut-hostile: FAIL %s: no CHAP offered (%s)\n", name,
		       answer_name(r.a));
		failures++;
		return -1;
	}
	n = put(buf, 0, "CHAP_A", "5");
	r = send_text(fd, buf, n, 8192, true, NULL);
	if (r.a != A_LOGIN_OK) {
		printf("ut-hostile: FAIL %s: CHAP_A refused (%s)\n", name,
		       answer_name(r.a));
		failures++;
		return -1;
	}
	return 0;
}

static void case_key64(void)
{
	int fd = conn_open();
	char buf[1024], key[65];
	size_t n = put_header(buf, "CHAP,None");
	struct rsp r;

	memset(key, 'K', 64);
	key[64] = '\0';
	n = put(buf, n, key, "x");
	r = send_text(fd, buf, n, 8192, true, NULL);
	verdict("key-64", r, NULL);
	expect_close("key-64", fd, r);
	close(fd);
}

static void case_value10000(void)
{
	int fd = conn_open();
	char *buf = malloc(12000);
	char *val = malloc(10001);
	size_t n;
	struct rsp r;

	if (buf == NULL || val == NULL)
		abort();
	memset(val, 'v', 10000);
	val[10000] = '\0';
	n = put_header(buf, "CHAP,None");
	n = put(buf, n, "X-com.example.Big", val);
	r = send_text(fd, buf, n, 4096, true, NULL);
	verdict("value-10000", r, NULL);
	expect_close("value-10000", fd, r);
	close(fd);
	free(buf);
	free(val);
}

/* CHAP_R (or mutual CHAP_C) of digits hex digits, after CHAP_A. */
static void case_chap_big(const char *name, bool challenge, size_t digits)
{
	int fd = conn_open();
	char *hex = hexval(digits);
	char *buf = malloc(digits + 1024);
	size_t n = 0;
	struct rsp r;

	if (buf == NULL)
		abort();
	if (chap_prelude(fd, name) == 0) {
		n = put(buf, n, "CHAP_N", chap_user);
		if (challenge) {
			char rsp[35];

			memcpy(rsp, "0x", 2);
			for (int i = 0; i < 32; i++)
				rsp[2 + i] = '0';
			rsp[34] = '\0';
			n = put(buf, n, "CHAP_R", rsp);
			n = put(buf, n, "CHAP_I", "7");
			n = put(buf, n, "CHAP_C", hex);
		} else {
			n = put(buf, n, "CHAP_R", hex);
		}
		r = send_text(fd, buf, n, 8192, true, NULL);
		verdict(name, r, NULL);
		expect_close(name, fd, r);
	}
	close(fd);
	free(buf);
	free(hex);
}

static void case_unterminated(const char *name, bool last_only)
{
	int fd = conn_open();
	char buf[1024];
	size_t n = put_header(buf, "None");
	struct rsp r;

	if (last_only) {
		n--; /* drop the final NUL */
	} else {
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		n--;
	}
	/* Padding zeros would terminate it: make the length a multiple of 4
	 * with one more non-NUL byte as needed. */
	while (n % 4)
		buf[n++] = 'x';
	r = send_text(fd, buf, n, 8192, true, NULL);
	verdict(name, r, NULL);
	expect_close(name, fd, r);
	close(fd);
}

/* C-bit PDUs of chunk bytes, never a last one. */
static void case_endless(const char *name, size_t chunk, size_t limit_bytes,
			 unsigned int limit_pdus)
{
	int fd = conn_open();
	char *pdu = malloc(chunk);
	size_t total = 0;
	unsigned int pdus = 0;
	struct rsp r = {.a = A_TIMEOUT};
	char note[128];

	if (pdu == NULL)
		abort();
	memset(pdu, 'c', chunk);
	memcpy(pdu, "X-com.example.E=", 16);
	while (total < 4 * TEXT_CAP && pdus < 8 * PDU_CAP) {
		if (send_login_pdu(fd, pdu, (uint32_t)chunk, true, true)) {
			r = read_pdu(fd);
			if (r.a == A_TIMEOUT || r.a == A_LOGIN_OK)
				r.a = A_CLOSED;
			break;
		}
		total += chunk;
		pdus++;
		r = read_pdu(fd);
		if (r.a != A_LOGIN_OK)
			break;
		memset(pdu, 'c', 16); /* the value goes on */
	}
	snprintf(note, sizeof(note), "after %u PDUs, %zu bytes", pdus, total);
	if (r.a == A_LOGIN_OK) {
		printf("ut-hostile: FAIL %s: still accepting %s\n", name, note);
		failures++;
	} else if (total > limit_bytes || pdus > limit_pdus) {
		printf("ut-hostile: FAIL %s: ended only %s (cap %zu bytes, %u "
		       "PDUs)\n",
		       name, note, limit_bytes, limit_pdus);
		failures++;
	} else {
		verdict(name, r, note);
	}
	expect_close(name, fd, r);
	close(fd);
	free(pdu);
}

static void case_raw(const char *name, const uint8_t *b, size_t len)
{
	int fd = conn_open();
	struct rsp r;

	if (send_all(fd, b, len) == 0)
		r = read_pdu(fd);
	else
		r = read_pdu(fd), r.a = r.a == A_TIMEOUT ? A_CLOSED : r.a;
	verdict(name, r, NULL);
	expect_close(name, fd, r);
	close(fd);
}

static void case_dsl16m(void)
{
	uint8_t b[BHS_LEN + 512];

	/* 24 bits: 0xffffff is 16 MiB less one byte, the most it can say */
	login_bhs(b, 0xffffffu, true, false);
	/* a start of text, then nothing: the target must not wait for 16 MiB */
	memset(b + BHS_LEN, 'A', sizeof(b) - BHS_LEN);
	case_raw("dsl-16m", b, sizeof(b));
}

static void case_ahs255(void)
{
	uint8_t b[BHS_LEN + 255 * 4 + 64];

	login_bhs(b, 64, true, false);
	b[4] = 255;
	for (size_t i = BHS_LEN; i < sizeof(b); i++)
		b[i] = (uint8_t)rnd();
	case_raw("ahs-255", b, sizeof(b));
}

static void case_scsi_before_login(void)
{
	uint8_t b[BHS_LEN];

	memset(b, 0, sizeof(b));
	b[0] = OP_SCSI_CMD;
	b[1] = 0x80 | 0x40 | 1; /* F, R, simple */
	b[16] = 0x12;		/* ITT */
	b[23] = 96;		/* EDTL */
	b[27] = 1;		/* CmdSN */
	b[32] = 0x12;		/* INQUIRY */
	b[36] = 96;
	case_raw("scsi-before-login", b, sizeof(b));
}

static void case_random(void)
{
	static uint8_t b[65536];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)rnd();
	b[0] = 0x43; /* looks like a login, at first */
	case_raw("random-bytes", b, sizeof(b));
}

static void usage(void)
{
	fprintf(stderr, "usage: ut-hostile [-d] [-t TARGET] [-u CHAP_USER] "
			"[-w SECONDS] HOST PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "dt:u:w:")) != -1) {
		switch (opt) {
		case 'd':
			discovery = true;
			break;
		case 't':
			target = optarg;
			break;
		case 'u':
			chap_user = optarg;
			break;
		case 'w':
			wait_ms = atoi(optarg) * 1000;
			if (wait_ms <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	host = argv[optind];
	port = atoi(argv[optind + 1]);
	if (port <= 0 || port > 65535)
		usage();

	case_key64();
	case_value10000();
	case_chap_big("chap-r-100k", false, 200000);
	case_chap_big("chap-c-100k", true, 200000);
	case_chap_big("chap-c-3000", true, 6000);
	case_unterminated("unterminated", false);
	case_unterminated("unterminated-last", true);
	case_endless("endless-continue", 8192, TEXT_CAP + 8192, PDU_CAP + 1);
	case_endless("endless-continue-small", 64, TEXT_CAP + 64, PDU_CAP + 1);
	case_dsl16m();
	case_ahs255();
	case_scsi_before_login();
	case_random();
	printf("ut-hostile: %d failed\n", failures);
	return failures ? 1 : 0;
}
