/*
 * import.h — `utarget-sim import`: a capture becomes a scenario
 * (import.c).
 */
#ifndef UT_SIM_IMPORT_H
#define UT_SIM_IMPORT_H

int cmd_import(int argc, char **argv);

#endif
