/*
 * sim_net_connect.c — how links of the simulated network come and go:
 * connecting (a SYN to a portal, retried while nothing listens, refused
 * or reset), the target's listeners, and the world's network set up,
 * crashed with the target and freed.
 *
 * The boundary: sim_net.c moves bytes over a link that exists (queues,
 * delivery, faults, an endpoint's operations, hosts); this file makes
 * links and listeners and ends them all, wiring each new endpoint to
 * sim_net.c's events (sim_net_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "real_net.h"
#include "sim.h"
#include "sim_net_int.h"
#include "ut_assert.h"

/* ---------------------------------------------------------- connect */

static struct env_listener *listener_find(struct sim *sim, const char *addr)
{
	struct env_listener *lst;

	TAILQ_FOREACH (lst, &sim->net->listeners, link)
		if (strcmp(lst->addr, addr) == 0)
			return lst;
	return NULL;
}

static void link_init_ep(struct sim_link *l, int side)
{
	struct env_conn *c = &l->ep[side];

	c->l = l;
	c->side = side;
	sim_ev_init(&c->read_ev, sim_ep_read_fire);
	sim_ev_init(&c->write_ev, sim_ep_write_fire);
	sim_ev_init(&l->q[side].ev, sim_q_deliver);
	TAILQ_INIT(&l->q[side].segs);
	l->q[side].l = l;
	l->q[side].idx = side;
}

static void connect_fail(struct sim_link *l, int err)
{
	sim_connect_fn fn = l->cfn;
	void *arg = l->carg;

	SIM_TRACE(l->sim, "net c%llu connect to %s fails (%d)",
		  (unsigned long long)l->id, l->addr, err);
	l->ep[0].closed = true;
	l->ep[1].closed = true;
	sim_link_maybe_reap(l);
	fn(arg, NULL, err);
}

static void connect_step(struct sim_ev *ev)
{
	struct sim_link *l = SIM_CONTAINER_OF(ev, struct sim_link, conn_ev);
	struct sim *sim = l->sim;
	struct env_listener *lst;
	struct env_conn_info info;

	if (l->syn_tries < 0) {
		/* SYN-ACK arrived: the initiator sees the connection. */
		l->cfn(l->carg, &l->ep[0], 0);
		return;
	}
	if (l->host->blocked & SIM_TO_TARGET) {
		if (++l->syn_tries > SYN_RETRIES) {
			connect_fail(l, -ETIMEDOUT);
			return;
		}
		sim_ev_at(sim, &l->conn_ev, sim->now_ns + SYN_RETRY_NS);
		return;
	}
	lst = sim->target_up ? listener_find(sim, l->addr) : NULL;
	if (lst == NULL) {
		connect_fail(l, -ECONNREFUSED);
		return;
	}
	memset(&info, 0, sizeof(info));
	snprintf(info.local_addr, sizeof(info.local_addr), "%s", lst->addr);
	snprintf(info.peer_addr, sizeof(info.peer_addr), "10.1.%u.%u:%u",
		 (l->host->index / 250) % 250, l->host->index % 250 + 1,
		 (unsigned int)(32768 + l->id % 28000));
	info.portal_group = lst->tpgt;
	info.listener_index = lst->index;
	info.env = sim_accept_reactor(sim);
	l->ep[1].reactor = info.env ? (int)sim_reactor_index(sim, info.env) : 0;
	sim->live_conns++;
	SIM_TRACE(sim, "net c%llu %s -> %s accepted", (unsigned long long)l->id,
		  l->host->name, lst->addr);
	sim_hash_u64(sim, 0xacce97 ^ l->id);
	/* As env_real hands an accepted socket to its reactor: the accept
	 * callback runs there. */
	int was = sim_reactor_enter(sim, l->ep[1].reactor);

	lst->fn(lst->arg, &l->ep[1], &info);
	sim->cur_reactor = was;
	l->syn_tries = -1;
	sim_ev_at(sim, &l->conn_ev, sim->now_ns + sim_link_latency(l));
}

void sim_connect(struct sim *sim, struct sim_host *h, const char *addr,
		 sim_connect_fn fn, void *arg)
{
	struct sim_link *l;

	if (sim->real != NULL) {
		real_connect(sim, h->name, addr, fn, arg);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		abort();
	l->id = ++sim->net->next_link_id;
	l->sim = sim;
	l->host = h;
	l->cfn = fn;
	l->carg = arg;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	link_init_ep(l, 0);
	link_init_ep(l, 1);
	sim_ev_init(&l->reap_ev, sim_link_reap);
	sim_ev_init(&l->conn_ev, connect_step);
	TAILQ_INSERT_TAIL(&sim->net->links, l, link);
	sim_ev_at(sim, &l->conn_ev, sim->now_ns + sim_link_latency(l));
}

/* --------------------------------------------------------- listeners */

int sim_env_listen(struct env *env, const char *addr_port,
		   uint16_t portal_group, env_accept_fn fn, void *arg,
		   struct env_listener **out)
{
	struct sim *sim = env->priv;
	struct env_listener *lst;

	if (listener_find(sim, addr_port) != NULL)
		return -EADDRINUSE;
	lst = calloc(1, sizeof(*lst));
	if (lst == NULL)
		return -ENOMEM;
	lst->sim = sim;
	snprintf(lst->addr, sizeof(lst->addr), "%s", addr_port);
	lst->tpgt = portal_group;
	lst->index = sim->net->listen_count++;
	lst->fn = fn;
	lst->arg = arg;
	TAILQ_INSERT_TAIL(&sim->net->listeners, lst, link);
	sim->live_listeners++;
	SIM_TRACE(sim, "net target listens on %s", addr_port);
	*out = lst;
	return 0;
}

void sim_env_listener_close(struct env_listener *l)
{
	struct sim *sim = l->sim;

	TAILQ_REMOVE(&sim->net->listeners, l, link);
	ut_assert(sim->live_listeners > 0);
	sim->live_listeners--;
	free(l);
}

/* -------------------------------------------------------- the world */

void sim_net_init(struct sim *sim)
{
	struct sim_net *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	TAILQ_INIT(&n->links);
	TAILQ_INIT(&n->listeners);
	TAILQ_INIT(&n->hosts);
	n->dflt.delay_ns = 50 * SIM_NS_PER_US;
	n->dflt.window_bytes = DEFAULT_WINDOW;
	sim->net = n;
}

void sim_net_target_crashed(struct sim *sim)
{
	struct sim_link *l;
	struct env_listener *lst;

	sim->net->boots++;
	TAILQ_FOREACH (l, &sim->net->links, link) {
		struct env_conn *c = &l->ep[1];

		/* Anything the target forgot to close is dead too.  A
		 * connection whose SYN is still on its way was never
		 * accepted (nor counted): it meets the listener, or not,
		 * when it arrives (explore seed 23812 on eblind16a: an
		 * underflow, a login begun as a shutdown came). */
		if (!c->closed && l->syn_tries < 0) {
			sim->live_conns--;
			c->dead = true;
			sim_ep_close(c);
		}
	}
	while ((lst = TAILQ_FIRST(&sim->net->listeners)) != NULL)
		sim_env_listener_close(lst);
}

uint32_t sim_net_target_conns(const struct sim *sim)
{
	return sim->live_conns;
}

void sim_net_free(struct sim *sim)
{
	struct sim_net *n = sim->net;
	struct sim_link *l;
	struct sim_host *h;
	struct env_listener *lst;

	while ((l = TAILQ_FIRST(&n->links)) != NULL) {
		l->ep[0].closed = l->ep[1].closed = true;
		sim_link_reap(&l->reap_ev);
	}
	while ((lst = TAILQ_FIRST(&n->listeners)) != NULL) {
		TAILQ_REMOVE(&n->listeners, lst, link);
		free(lst);
	}
	while ((h = TAILQ_FIRST(&n->hosts)) != NULL) {
		TAILQ_REMOVE(&n->hosts, h, link);
		free(h);
	}
	free(n);
	sim->net = NULL;
}
