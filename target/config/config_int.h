/*
 * config_int.h — helpers shared by the files of target/config/ only.
 */
#ifndef UT_CONFIG_INT_H
#define UT_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Append one zeroed element to the array *arr of *count elements of size
 * bytes, growing it geometrically (the capacity is implicit: the next power
 * of two at or above *count, so every array in the model must be grown only
 * through this function).  Returns the new element, or NULL when max is
 * reached or memory is short; *arr and *count are unchanged then.
 */
void *cfg_array_add(void *arr, size_t *count, size_t size, size_t max);

/* Append a copy of s to a string vector; 0 or -1 (cap or memory). */
int cfg_strv_add(char ***v, size_t *count, const char *s, size_t max);

/* Copy src into dst[cap] if it fits (strlen(src) < cap); 0 or -1. */
int cfg_copy(char *dst, size_t cap, const char *src);

/* Strict decimal: digits only, no sign or spaces, value <= max; 0 or -1. */
int cfg_parse_dec(const char *s, uint64_t max, uint64_t *out);

/* A device with every default set (block size 512, vendor, product). */
void cfg_dev_init(struct ut_dev_cfg *dev, enum bs_kind kind);
/* Fill the defaults that derive from the name: t10_dev_id and usn. */
void cfg_dev_finish(struct ut_dev_cfg *dev);

/* A target named iqn with the driver-level params, enabled. */
void cfg_target_init(struct ut_target_cfg *t, const struct ut_config *cfg);
void cfg_target_free(struct ut_target_cfg *t);

/* Wipe and free a user array (secrets do not linger in freed memory). */
void cfg_users_free(struct ut_user_cfg *u, size_t n);

/* alua_cfg.c: device groups and portal groups.  cfg_validate_alua()
 * reports through diag and returns the number of errors. */
int cfg_validate_alua(const struct ut_config *cfg, ut_config_diag_fn diag,
		      void *diag_arg);
void cfg_dgroup_free(struct ut_dev_group_cfg *dg);
/* Give portal_tpgts its entries (1) where it is still NULL; 0 or -1. */
int cfg_portal_tpgts_fill(struct ut_config *cfg);
/* Copy src's portal groups and device groups into dst (freshly
 * initialised); -1 when memory is short (ut_config_free(dst) then). */
int cfg_alua_copy(struct ut_config *dst, const struct ut_config *src);
bool cfg_alua_equal(const struct ut_config *a, const struct ut_config *b);
void cfg_alua_rename_target(struct ut_config *cfg, const char *from,
			    const char *to);

#endif
