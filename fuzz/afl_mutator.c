/*
 * afl_mutator.c — AFL++ custom mutator library: post-processing only.
 *
 * AFL++ keeps its own mutations (no afl_custom_fuzz here) and hands every
 * input to afl_custom_post_process() before running it, which repairs PDU
 * framing with pdufix (see pdufix.h).  Built once per input format:
 *   -DFZ_FORMAT_LOGIN       login harness
 *   -DFZ_FORMAT_PDU_STREAM  pdu_stream harness
 * Use: AFL_CUSTOM_MUTATOR_LIBRARY=build/fuzz/mutator-login.so afl-fuzz ...
 */
#include <stdlib.h>
#include <string.h>

#include "pdufix.h"

struct fz_mut {
	unsigned char *buf;
	size_t cap;
};

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_post_process(void *data, unsigned char *buf, size_t len,
			       unsigned char **out);
void afl_custom_deinit(void *data);

void *afl_custom_init(void *afl, unsigned int seed)
{
	(void)afl, (void)seed;
	return calloc(1, sizeof(struct fz_mut));
}

size_t afl_custom_post_process(void *data, unsigned char *buf, size_t len,
			       unsigned char **out)
{
	struct fz_mut *m = data;

	if (len > m->cap) {
		unsigned char *nb = realloc(m->buf, len);

		if (!nb) {
			*out = buf;
			return len;
		}
		m->buf = nb;
		m->cap = len;
	}
	memcpy(m->buf, buf, len);
#if defined(FZ_FORMAT_LOGIN)
	pdufix_login_input(m->buf, len);
#elif defined(FZ_FORMAT_PDU_STREAM)
	pdufix_stream_input(m->buf, len);
#else
#error "define FZ_FORMAT_LOGIN or FZ_FORMAT_PDU_STREAM"
#endif
	*out = m->buf;
	return len;
}

void afl_custom_deinit(void *data)
{
	struct fz_mut *m = data;

	free(m->buf);
	free(m);
}
