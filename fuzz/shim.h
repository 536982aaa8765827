/*
 * shim.h — one harness, three ways to drive it.
 *
 * Every harness in fuzz/ is one file that defines
 *
 *     int harness_one(const uint8_t *data, size_t len);
 *
 * (and optionally harness_init()).  shim.c supplies the main() for each
 * build, selected at compile time:
 *
 *   FUZZ_MAIN_AFL        AFL++ persistent mode, test cases in shared memory
 *                        (afl-clang-fast; also the CmpLog build)
 *   FUZZ_MAIN_LIBFUZZER  LLVMFuzzerTestOneInput (clang -fsanitize=fuzzer)
 *   FUZZ_MAIN_REPLAY     run every file (or directory of files) named on
 *                        the command line once: regression replay, the
 *                        coverage build, and debugging under gdb
 *
 * harness_one() must leave no state behind: AFL's stability figure and
 * replay of a minimised crash both depend on it.  A harness reports a
 * broken invariant with FUZZ_CHECK(), which aborts: every fuzzer treats
 * that as a crash.
 */
#ifndef UT_FUZZ_SHIM_H
#define UT_FUZZ_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int harness_one(const uint8_t *data, size_t len);
/* Called once before the first input; may be left undefined. */
void harness_init(void) __attribute__((weak));
/* Repair a mutated input in place (framing, lengths, digests); may be
 * left undefined.  libFuzzer calls it from LLVMFuzzerCustomMutator on
 * most mutations; the AFL++ build gets the same through afl_mutator.c. */
void harness_fixup(uint8_t *data, size_t len) __attribute__((weak));

/* Invariant violated by the code under test: report and crash. */
#define FUZZ_CHECK(cond, ...)                                                 \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr,                                       \
				"FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

/* ASan manual poisoning (guard bytes around buffers), no-ops elsewhere. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A cursor over the input, handing out bytes and zeros once exhausted. */
struct fz_in {
	const uint8_t *p;
	size_t len, pos;
};

static inline size_t fz_left(const struct fz_in *in)
{
	return in->len - in->pos;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	return in->pos < in->len ? in->p[in->pos++] : 0;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_u8(in);

	return (uint16_t)(hi << 8 | fz_u8(in));
}

/* Copy up to n bytes into dst, zero-filling past the end of the input. */
static inline size_t fz_take(struct fz_in *in, void *dst, size_t n)
{
	size_t k = n < fz_left(in) ? n : fz_left(in);
	uint8_t *d = dst;

	for (size_t i = 0; i < k; i++)
		d[i] = in->p[in->pos + i];
	for (size_t i = k; i < n; i++)
		d[i] = 0;
	in->pos += k;
	return k;
}

#endif
