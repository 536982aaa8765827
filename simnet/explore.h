/*
 * explore.h — random scenario generation for `utarget-sim explore`.
 */
#ifndef UT_SIM_EXPLORE_H
#define UT_SIM_EXPLORE_H

#include <stdint.h>

/* The scenario text for a seed (malloc'd).  Same seed, same text. */
char *explore_generate(uint64_t seed);

#endif
