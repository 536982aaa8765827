/*
 * discovery.c — SendTargets (RFC 7143 §12.6, Appendix C): what a Text
 * request of a discovery or normal session learns of the targets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* "host:port" of a portal as initiators should dial it: a wildcard
 * listen address is replaced by the address the initiator reached. */
static void portal_address(const char *portal, const struct iscsi_sess *s,
			   char *out, size_t cap)
{
	char host[128];
	uint16_t port = UT_DEFAULT_PORT;

	ut_assert(portal != NULL);
	ut_assert(cap > 0);
	if (ut_portal_parse(portal, host, sizeof(host), &port) != 0) {
		snprintf(out, cap, "%s", portal);
		return;
	}
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		snprintf(out, cap, "%s", s->info.local_addr);
		return;
	}
	if (strchr(host, ':'))
		snprintf(out, cap, "[%s]:%u", host, port);
	else
		snprintf(out, cap, "%s:%u", host, port);
}

/* 0, or -ENOMEM. */
static int sendtargets_one(struct iscsi_server *srv, const struct iscsi_sess *s,
			   const struct iscsi_tgt *t, struct iscsi_kvlist *out)
{
	const struct iscsi_tgt_conf *conf = iscsi_tgt_conf(t);

	/* a published target (a conf), in a list that takes our answers
	 * whole (ISCSI_TEXT_RSP_MAX_PAIRS) */
	ut_assert(conf != NULL);
	ut_assert(out->max_pairs >= ISCSI_TEXT_RSP_MAX_PAIRS ||
		  out->max_pairs == 0);
	if (iscsi_kv_add(out, "TargetName", t->name))
		return -ENOMEM;
	for (size_t i = 0; i < srv->portal_count; i++) {
		char addr[160];

		portal_address(srv->portals[i], s, addr, sizeof(addr));
		/* Only the portals a login may use (allowed_portal). */
		if (!iscsi_acl_portal_allowed(&conf->acl, addr))
			continue;
		if (iscsi_kv_addf(out, "TargetAddress", "%s,%u", addr,
				  srv->portal_tpgts[i]))
			return -ENOMEM;
	}
	return 0;
}

/* A target is shown to an initiator only if it may log in to it from
 * where it is connected (acl.h); as SCST's iscsi-scstd does. */
static bool sendtargets_visible(const struct iscsi_tgt *t,
				const struct iscsi_sess *s)
{
	const struct iscsi_tgt_conf *conf = iscsi_tgt_conf(t);

	return !__atomic_load_n(&t->removed, __ATOMIC_ACQUIRE) &&
	       conf->enabled &&
	       iscsi_acl_may_login(conf, s->initiator_name, s->info.local_addr);
}

/* RFC 7143 Appendix C: SendTargets=All lists every target (discovery
 * sessions); an empty value names the session's own target, and so does
 * All in a normal session, which "MUST NOT be supported on an operational
 * session" (it would show the session other targets); a name asks for
 * that one target. */
int iscsi_sendtargets(struct iscsi_sess *s, const char *what,
		      struct iscsi_kvlist *out)
{
	struct iscsi_server *srv = s->srv;
	size_t n = __atomic_load_n(&srv->tgt_count, __ATOMIC_ACQUIRE);

	ut_assert(n <= UT_MAX_TARGETS);
	/* a session in full feature phase asks: a target unless discovery */
	ut_assert(s->discovery == (s->tgt == NULL));
	if (strcmp(what, "All") == 0 && s->discovery) {
		for (size_t i = 0; i < n; i++)
			if (sendtargets_visible(srv->tgts[i], s) &&
			    sendtargets_one(srv, s, srv->tgts[i], out))
				return -ENOMEM;
		return 0;
	}
	if (what[0] == '\0' || strcmp(what, "All") == 0)
		return s->tgt ? sendtargets_one(srv, s, s->tgt, out) : 0;
	for (size_t i = 0; i < n; i++) {
		if (!sendtargets_visible(srv->tgts[i], s) ||
		    strcmp(srv->tgts[i]->name, what))
			continue;
		if ((s->discovery || s->tgt == srv->tgts[i]) &&
		    sendtargets_one(srv, s, srv->tgts[i], out))
			return -ENOMEM;
	}
	return 0;
}
