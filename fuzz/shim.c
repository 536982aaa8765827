/*
 * shim.c — the three mains around harness_one() (see shim.h).
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#if defined(FUZZ_MAIN_AFL)

/* Fallbacks so the file still compiles with a plain compiler. */
#ifndef __AFL_FUZZ_TESTCASE_LEN
static uint8_t fuzz_stdin_buf[1 << 20];
static ssize_t fuzz_stdin_len;
#define __AFL_FUZZ_INIT() int fuzz_afl_dummy_
#define __AFL_INIT() ((void)0)
#define __AFL_FUZZ_TESTCASE_BUF fuzz_stdin_buf
#define __AFL_FUZZ_TESTCASE_LEN                                            \
	(fuzz_stdin_len = read(0, fuzz_stdin_buf, sizeof(fuzz_stdin_buf)), \
	 fuzz_stdin_len < 0 ? 0 : (size_t)fuzz_stdin_len)
#define __AFL_LOOP(n) (fuzz_loop_once_++ == 0)
static int fuzz_loop_once_;
#endif

__AFL_FUZZ_INIT();

#ifdef __AFL_COMPILER
__AFL_COVERAGE(); /* selective coverage: lets us discard a run's */
static int fuzz_warm;
#endif

int main(void)
{
	const uint8_t *buf;

	if (harness_init)
		harness_init();
	/* Deferred fork server: everything above is done once. */
	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(100000)) {
		size_t len = __AFL_FUZZ_TESTCASE_LEN;

#ifdef __AFL_COMPILER
		/* The first input of a fresh process runs once unmeasured:
		 * one-time paths (lazy initialisation in libc and below)
		 * would otherwise make its coverage differ from the same
		 * input's later runs, which AFL++ counts as instability
		 * (the variable_behavior entries were exactly the first
		 * inputs after each restart).  Every iteration then drops
		 * what the loop itself covered, so that all iterations
		 * measure the same thing: harness_one() alone. */
		if (!fuzz_warm) {
			fuzz_warm = 1;
			harness_one(buf, len);
		}
		__AFL_COVERAGE_DISCARD();
#endif
		harness_one(buf, len);
	}
	return 0;
}

#elif defined(FUZZ_MAIN_LIBFUZZER)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed);

/* libFuzzer's own mutation, then (7 times in 8) the harness's repair of
 * the framing, so most inputs get past the PDU parser and some do not. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (harness_fixup && (seed & 7) != 0)
		harness_fixup(data, size);
	return size;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (harness_init)
		harness_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	harness_one(data, len);
	return 0;
}

#elif defined(FUZZ_MAIN_REPLAY)

/* The file being replayed, named in the report if it crashes. */
static const char *fuzz_current;

#ifdef FUZZ_ASAN
#include <sanitizer/common_interface_defs.h>
static void fuzz_death(void)
{
	if (fuzz_current)
		fprintf(stderr, "replay: crashed on %s\n", fuzz_current);
}
#endif

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	if (getenv("FUZZ_REPLAY_VERBOSE"))
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	fuzz_current = path;
	/* Hand the harness an exact-size copy so ASan sees overreads. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact)
			abort();
		memcpy(exact, buf, len);
		harness_one(exact, len);
		free(exact);
	}
	fuzz_current = NULL;
	free(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay a directory's regular files in name order (not recursive). */
static int replay_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0 ||
		    strstr(de->d_name, ".md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n++] = strdup(path);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (replay_file(names[i]) != 0)
			rc = -1;
		else
			(*count)++;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int rc = 0;

#ifdef FUZZ_ASAN
	__sanitizer_set_death_callback(fuzz_death);
#endif
	if (harness_init)
		harness_init();
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (replay_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	if (!getenv("FUZZ_REPLAY_QUIET"))
		fprintf(stderr, "replay: %lu input(s) ran clean\n", count);
	return rc;
}

#else
#error "define FUZZ_MAIN_AFL, FUZZ_MAIN_LIBFUZZER or FUZZ_MAIN_REPLAY"
#endif
