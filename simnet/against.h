/*
 * against.h — run a scenario against a real target, or compare a real
 * target's answers with utarget's (against.c).
 */
#ifndef UT_SIM_AGAINST_H
#define UT_SIM_AGAINST_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* iscsi://HOST[:PORT]/IQN[/LUN] into "HOST:PORT", IQN and the LUN that
 * the scenario's LUN 0 becomes; -1 if malformed. */
int against_parse_url(const char *url, char *portal, size_t portal_cap,
		      char *iqn, size_t iqn_cap, uint64_t *lun_base);
/* run FILE --against URL [--compare]: 0 pass (compare: no difference),
 * 1 fail (compare: differences), 2 syntax or usage. */
int against_run(const char *name, const char *text, const struct scn_opts *o,
		const char *url, bool compare);

#endif
