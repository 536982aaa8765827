/*
 * handler_fake.h — what test_env_real_tcmu scripts and reads in the fake
 * tcmu-runner plugin (handler_fake.c), through dlsym("fake_ctl").
 */
#ifndef UT_TEST_HANDLER_FAKE_H
#define UT_TEST_HANDLER_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_ctl {
	int sts;       /* what fakests' callouts and fakeq's answer */
	int async_sts; /* fakests' later completion after ASYNC_HANDLED */
	uint32_t miscompare_at;	       /* MISCOMPARE: INFORMATION ... */
	bool miscompare_no_info;       /* ... or none */
	uint8_t cdb[16];	       /* fakebig: the last CDB */
	int calls;		       /* fakests, fakeq, fakebig callouts */
	uint64_t unmap_off, unmap_len; /* fakests' last unmap */
	size_t ws_iov_len;	       /* fakests' last writesame buffer */
};

#endif
