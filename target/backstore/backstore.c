/*
 * backstore.c — opening a backstore: the world-independent kinds (mem,
 * null) here, the others (file, block device, simulated disk) through the
 * environment.
 */
#include <errno.h>
#include <stddef.h>

#include "backstore/backstore.h"
#include "env.h"

int bs_open(struct env *env, const struct bs_dev_params *p, struct bs_dev **out)
{
	if (!p || !out)
		return -EINVAL;
	*out = NULL;
	switch (p->kind) {
	case BS_MEM: {
		int rc = bs_mem_open(p, out);

		if (rc == 0 && env && (rc = bs_mem_share(*out, env)) != 0) {
			bs_close(*out);
			*out = NULL;
		}
		return rc;
	}
	case BS_NULL:
		return bs_null_open(p, out);
	case BS_FILE:
	case BS_BLOCK:
	case BS_RBD:
	case BS_TCMU:
	case BS_SIM:
		if (!env || !env->ops || !env->ops->disk_open)
			return -ENOTSUP;
		return env->ops->disk_open(env, p, out);
	default:
		return -EINVAL;
	}
}
