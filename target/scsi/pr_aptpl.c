/*
 * pr_aptpl.c — persistent reservations across power loss (APTPL, SPC-4
 * §5.12.5): the state of an LU serialized through env->ops->state_put
 * after every change and loaded at LU creation.
 *
 * Its own file because it is a store, not a command: it touches the
 * reservation state only as bytes to write and read back, and it reads
 * untrusted data (what a disk kept), which it validates against the
 * invariants of pr_int.h before any command sees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/pr_int.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------------ APTPL */

#define PR_STATE_MAGIC 0x55545052u /* "UTPR" */
#define PR_STATE_MAX (16 + SCSI_PR_MAX_REGS * (8 + 2 + 1 + 6 + 1 + 224))

/* The environment's keys are [A-Za-z0-9._-]: "pr-" + the device name
 * with anything else turned into '_'. */
static void state_key(const struct scsi_lu *lu, char *key, size_t cap)
{
	ut_assert(cap > 3);
	ut_assert(lu->name[0] != '\0'); /* "pr-" alone names no device */
	snprintf(key, cap, "pr-%s", lu->name);
	for (char *p = key; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') ||
			  (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';

		if (!ok || (*p == '.' && p > key && p[-1] == '.'))
			*p = '_';
	}
}

/* Serialize: magic, generation, aptpl, reserved, type, holder, nregs,
 * then per registration: key, rtp, all_tg_pt, isid, name length, name. */
static size_t pr_encode(const struct scsi_pr *pr, uint8_t *b)
{
	size_t n = 0;

	pr_check(pr);
	ut_assert(pr->holder <= 0xff && pr->nregs <= 0xff); /* one byte each */
	put_be32(b, PR_STATE_MAGIC);
	put_be32(b + 4, pr->generation);
	b[8] = pr->aptpl;
	b[9] = pr->reserved;
	b[10] = pr->type;
	b[11] = (uint8_t)pr->holder;
	b[12] = (uint8_t)pr->nregs;
	n = 13;
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];
		size_t len = strnlen(r->initiator, sizeof(r->initiator) - 1);

		put_be64(b + n, r->key);
		put_be16(b + n + 8, r->rtp);
		b[n + 10] = r->all_tg_pt;
		memcpy(b + n + 11, r->isid, 6);
		b[n + 17] = (uint8_t)len;
		memcpy(b + n + 18, r->initiator, len);
		n += 18 + len;
	}
	ut_assert(n <= PR_STATE_MAX);
	return n;
}

static bool pr_decode(struct scsi_pr *pr, const uint8_t *b, size_t len)
{
	size_t n = 13;

	memset(pr, 0, sizeof(*pr));
	if (len < 13 || get_be32(b) != PR_STATE_MAGIC ||
	    b[12] > SCSI_PR_MAX_REGS)
		return false;
	pr->generation = get_be32(b + 4);
	pr->aptpl = b[8];
	pr->reserved = b[9];
	pr->type = b[10];
	pr->holder = b[11];
	for (unsigned int i = 0; i < b[12]; i++) {
		struct scsi_pr_reg *r = &pr->regs[i];

		/* a key of 0 is refused with the other invariants below */
		if (n + 18 > len || n + 18 + b[n + 17] > len ||
		    b[n + 17] >= sizeof(r->initiator))
			return false;
		r->key = get_be64(b + n);
		r->rtp = get_be16(b + n + 8);
		r->all_tg_pt = b[n + 10];
		memcpy(r->isid, b + n + 11, 6);
		memcpy(r->initiator, b + n + 18, b[n + 17]);
		n += 18u + b[n + 17];
		pr->nregs++;
	}
	/* What was saved is data from a disk: validated here, so that the
	 * state the commands work on obeys pr_check() from the start. */
	if (pr->reserved &&
	    (!type_valid(pr->type) || pr->nregs == 0 ||
	     (!type_all_reg(pr->type) && pr->holder >= pr->nregs)))
		return false;
	if (!pr_regs_ok(pr))
		return false;
	pr_check(pr);
	ut_assert(n <= len);
	ut_assert(pr->nregs == b[12]);
	return true;
}

/* Pair assertion for APTPL: what scsi_pr_save() writes, the loader reads back
 * as the very same state. */
static bool pr_roundtrip_ok(const struct scsi_pr *pr, const uint8_t *b,
			    size_t n)
{
	struct scsi_pr *back = malloc(sizeof(*back));
	bool ok;

	if (!back)
		return true; /* nothing to compare with: not a failure */
	ok = pr_decode(back, b, n) && back->generation == pr->generation &&
	     back->aptpl == pr->aptpl && back->reserved == pr->reserved &&
	     back->nregs == pr->nregs;
	if (ok && pr->reserved)
		ok = back->type == pr->type && back->holder == pr->holder;
	for (unsigned int i = 0; ok && i < pr->nregs; i++)
		ok = back->regs[i].key == pr->regs[i].key &&
		     back->regs[i].rtp == pr->regs[i].rtp &&
		     back->regs[i].all_tg_pt == pr->regs[i].all_tg_pt &&
		     !memcmp(back->regs[i].isid, pr->regs[i].isid, 6) &&
		     !strcmp(back->regs[i].initiator, pr->regs[i].initiator);
	free(back);
	return ok;
}

/* After every change: keep the durable copy in step (or drop it).
 * 0, or the store's -errno (-ENOMEM: no room to encode): the caller
 * then puts the state back as it was (pr.c spc_pr_out), so that memory
 * and disk agree and the PERSISTENT RESERVE OUT is refused. */
int scsi_pr_save(struct scsi_lu *lu, bool was_aptpl)
{
	struct env *env = lu->env;
	char key[96];
	uint8_t *b;
	size_t n;
	int rc;

	pr_check(&lu->pr);
	if (!lu->pr.ptpl_capable || (!lu->pr.aptpl && !was_aptpl))
		return 0;
	/* APTPL is refused where no state can be kept (pr_out_parse). */
	ut_assert(env->ops->state_put != NULL);
	state_key(lu, key, sizeof(key));
	if (!lu->pr.aptpl) {
		rc = env->ops->state_put(env, key, NULL, 0);
		goto out;
	}
	b = malloc(PR_STATE_MAX);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	n = pr_encode(&lu->pr, b);
	ut_assert_slow(pr_roundtrip_ok(&lu->pr, b, n));
	rc = env->ops->state_put(env, key, b, n);
	free(b);
out:
	if (rc < 0)
		LOG_WARN(env, "scsi: %s: could not save APTPL state (%d)",
			 lu->name, rc);
	ut_assert(rc <= 0);
	return rc;
}

/* Load what an earlier run saved, and find out whether the environment
 * can keep state at all (PTPL_C): a store that answers "absent" can. */
void scsi_pr_load(struct scsi_lu *lu)
{
	struct env *env = lu->env;
	char key[96];
	uint8_t *b;
	ssize_t n;

	if (!env || !env->ops || !env->ops->state_get || !env->ops->state_put)
		return;
	b = malloc(PR_STATE_MAX);
	if (!b)
		return;
	state_key(lu, key, sizeof(key));
	n = env->ops->state_get(env, key, b, PR_STATE_MAX);
	if (n > 0 && !pr_decode(&lu->pr, b, (size_t)n)) {
		LOG_WARN(env, "scsi: %s: ignoring malformed APTPL state",
			 lu->name);
		memset(&lu->pr, 0, sizeof(lu->pr));
	}
	/* SPC-4 §6.16.2: "the PRgeneration field shall be set to zero by a
	 * power on", regardless of the APTPL bit: the registrations and the
	 * reservation come back, the count starts again. */
	lu->pr.generation = 0;
	lu->pr.ptpl_capable = n >= 0 || n == -ENOENT;
	free(b);
	/* State was loaded only from a store that keeps it. */
	ut_assert(!lu->pr.aptpl || lu->pr.ptpl_capable);
	pr_check(&lu->pr);
	ut_assert_slow(pr_regs_ok(&lu->pr));
}
