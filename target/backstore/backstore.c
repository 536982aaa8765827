/*
 * backstore.c — opening a backstore: the world-independent kinds (mem,
 * null) here, the others (file, block device, simulated disk) through the
 * environment.
 */
#include <errno.h>
#include <stddef.h>

#include "backstore/backstore.h"
#include "env.h"

/* Every backstore, whatever opened it, keeps the promises of backstore.h:
 * a block size the SCSI layer supports and a whole number of blocks. */
static int opened(int rc, struct bs_dev *const *out)
{
	ut_assert(rc <= 0);
	ut_assert(rc != 0 || *out != NULL);
	if (rc == 0) {
		uint32_t bs = (*out)->block_size;

		ut_assert(bs >= 512 && bs <= 65536 && (bs & (bs - 1)) == 0);
		ut_assert((*out)->size_bytes % (*out)->block_size == 0);
		ut_assert((*out)->ops != NULL && (*out)->ops->submit != NULL);
	}
	return rc;
}

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
		if (rc == 0 && env)
			bs_mem_refs(*out, env->zero_copy);
		return opened(rc, out);
	}
	case BS_NULL: {
		int rc = bs_null_open(p, out);

		/* only where the zeros go from a file of the environment's:
		 * from memory they cost a copy, as the memset did */
		if (rc == 0 && env)
			bs_null_refs(*out, env->zero_copy && env->ops &&
						   env->ops->conn_send_file);
		return opened(rc, out);
	}
	case BS_FILE:
	case BS_BLOCK:
	case BS_RBD:
	case BS_TCMU:
	case BS_SIM:
		if (!env || !env->ops || !env->ops->disk_open)
			return -ENOTSUP;
		return opened(env->ops->disk_open(env, p, out), out);
	default:
		return -EINVAL;
	}
}

int bs_open_async(struct env *env, const struct bs_dev_params *p,
		  env_disk_opened_fn done, void *arg)
{
	if (!p || !done || !env || !env->ops || !env->ops->disk_open_async)
		return -ENOTSUP;
	return env->ops->disk_open_async(env, p, done, arg);
}
