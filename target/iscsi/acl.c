/*
 * acl.c — initiator groups (LUN masking) and allowed portals; the rules
 * are stated in acl.h.
 *
 * SCST compatibility: SCST's wildcmp() lets one '!' invert the rest of a
 * pattern and admits a name as soon as any one INITIATOR line matches.
 * For groups whose lines are all positive, or that hold a single line,
 * the rule here is the same.  Where a group mixes both kinds ("iqn.*"
 * and "!iqn.bad") SCST would admit iqn.bad through "iqn.*"; here the
 * exclusion wins, which is what such a configuration means to say.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/acl.h"
#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static int lower(char ch)
{
	return tolower((unsigned char)ch);
}

bool iscsi_acl_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	ut_assert(p != NULL);
	ut_assert(s != NULL);
	/* On a mismatch after a '*', let the star swallow one more
	 * character and retry: O(len(p) * len(s)) at worst. */
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' || lower(*p) == lower(*s))) {
			p++;
			s++;
		} else if (star) {
			/* the retry point only moves forward: it ends */
			ut_assert(resume != NULL && *resume != '\0');
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool iscsi_acl_patterns_match(char *const *patterns, size_t count,
			      const char *name)
{
	bool positive_seen = false, positive_match = false;

	ut_assert(count == 0 || patterns != NULL);
	ut_assert(name != NULL);
	for (size_t i = 0; i < count; i++) {
		const char *pat = patterns[i];

		if (pat[0] == '!') {
			if (iscsi_acl_glob(pat + 1, name))
				return false; /* an exclusion always wins */
		} else {
			positive_seen = true;
			positive_match |= iscsi_acl_glob(pat, name);
		}
	}
	/* Only exclusions: everybody else belongs. */
	return positive_seen ? positive_match : count > 0;
}

const struct iscsi_acl_group *iscsi_acl_find_group(const struct iscsi_acl *acl,
						   const char *initiator)
{
	for (size_t i = 0; i < acl->group_count; i++) {
		const struct iscsi_acl_group *g = &acl->groups[i];

		if (iscsi_acl_patterns_match(g->patterns, g->pattern_count,
					     initiator))
			return g;
	}
	return NULL;
}

bool iscsi_acl_portal_allowed(const struct iscsi_acl *acl,
			      const char *local_addr)
{
	char host[128];
	uint16_t port;

	if (acl->allowed_portal_count == 0)
		return true;
	if (ut_portal_parse(local_addr, host, sizeof(host), &port) != 0)
		return false;
	return iscsi_acl_patterns_match(acl->allowed_portals,
					acl->allowed_portal_count, host);
}

static bool default_set_has_luns(const struct iscsi_tgt_conf *t)
{
	for (uint32_t lun = 0; lun < UT_MAX_LUNS; lun++)
		if (t->lun_lu[lun])
			return true;
	return false;
}

bool iscsi_acl_may_login(const struct iscsi_tgt_conf *t, const char *initiator,
			 const char *local_addr)
{
	const struct iscsi_acl_group *g;

	if (!iscsi_acl_portal_allowed(&t->acl, local_addr))
		return false;
	g = iscsi_acl_find_group(&t->acl, initiator);
	return g ? g->lun_count > 0 : default_set_has_luns(t);
}

void iscsi_acl_lun_set(const struct iscsi_tgt_conf *t, const char *initiator,
		       struct scsi_lu **lu, bool *ro)
{
	const struct iscsi_acl_group *g =
		iscsi_acl_find_group(&t->acl, initiator);

	if (!g) {
		memcpy(lu, t->lun_lu, UT_MAX_LUNS * sizeof(*lu));
		memcpy(ro, t->lun_ro, UT_MAX_LUNS * sizeof(*ro));
		return;
	}
	memset(lu, 0, UT_MAX_LUNS * sizeof(*lu));
	memset(ro, 0, UT_MAX_LUNS * sizeof(*ro));
	for (size_t i = 0; i < g->lun_count; i++) {
		/* checked when the group was built (acl_group_init()) */
		ut_assert(g->luns[i].lun < UT_MAX_LUNS);
		ut_assert(g->luns[i].lu != NULL);
		lu[g->luns[i].lun] = g->luns[i].lu;
		ro[g->luns[i].lun] = g->luns[i].read_only;
	}
}

int iscsi_acl_map_luns(const struct iscsi_tgt_conf *t, const char *initiator,
		       struct scsi_sess *ss)
{
	struct scsi_lu *lu[UT_MAX_LUNS];
	bool ro[UT_MAX_LUNS];

	iscsi_acl_lun_set(t, initiator, lu, ro);
	for (uint32_t lun = 0; lun < UT_MAX_LUNS; lun++)
		if (lu[lun] && scsi_sess_map(ss, lun, lu[lun], ro[lun]))
			return -ENOMEM;
	return 0;
}

static char **strv_dup(char *const *v, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof(*out));

	ut_assert(n == 0 || v != NULL);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ut_assert(v[i] != NULL);
		out[i] = strdup(v[i]);
		if (!out[i]) {
			while (i--)
				free(out[i]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int acl_group_init(struct iscsi_acl_group *g,
			  const struct ut_group_cfg *gc,
			  struct scsi_lu *(*find)(void *, const char *),
			  void *arg)
{
	ut_assert(g->patterns == NULL && g->luns == NULL); /* fresh */
	ut_assert(find != NULL);
	snprintf(g->name, sizeof(g->name), "%s", gc->name);
	g->patterns = strv_dup(gc->initiators, gc->initiator_count);
	if (!g->patterns)
		return -ENOMEM;
	g->pattern_count = gc->initiator_count;
	g->luns = calloc(gc->lun_count ? gc->lun_count : 1, sizeof(*g->luns));
	if (!g->luns)
		return -ENOMEM;
	for (size_t i = 0; i < gc->lun_count; i++) {
		const struct ut_lun_cfg *lc = &gc->luns[i];
		struct iscsi_acl_lun *l = &g->luns[g->lun_count];

		l->lu = find(arg, lc->dev_name);
		if (!l->lu || lc->lun >= UT_MAX_LUNS)
			return -EINVAL;
		l->lun = lc->lun;
		l->read_only = lc->read_only;
		g->lun_count++;
	}
	ut_assert(g->lun_count == gc->lun_count);
	return 0;
}

int iscsi_acl_init(struct iscsi_acl *acl, const struct ut_target_cfg *tc,
		   struct scsi_lu *(*find)(void *arg, const char *name),
		   void *arg)
{
	int rc;

	memset(acl, 0, sizeof(*acl));
	acl->allowed_portals =
		strv_dup(tc->allowed_portals, tc->allowed_portal_count);
	if (!acl->allowed_portals)
		return -ENOMEM;
	acl->allowed_portal_count = tc->allowed_portal_count;
	acl->groups = calloc(tc->group_count ? tc->group_count : 1,
			     sizeof(*acl->groups));
	if (!acl->groups)
		return -ENOMEM;
	for (size_t i = 0; i < tc->group_count; i++) {
		acl->group_count++;
		rc = acl_group_init(&acl->groups[i], &tc->groups[i], find, arg);
		if (rc)
			return rc;
	}
	ut_assert(acl->group_count == tc->group_count);
	ut_assert(acl->allowed_portal_count == tc->allowed_portal_count);
	return 0;
}

void iscsi_acl_free(struct iscsi_acl *acl)
{
	for (size_t i = 0; acl->groups && i < acl->group_count; i++) {
		strv_free(acl->groups[i].patterns,
			  acl->groups[i].pattern_count);
		free(acl->groups[i].luns);
	}
	free(acl->groups);
	strv_free(acl->allowed_portals, acl->allowed_portal_count);
	memset(acl, 0, sizeof(*acl));
}
