/* SPDX-License-Identifier: MIT */
/*
 * capture-live.c -- live capture: picks the front end (struct
 * capture_ops, capture-live-int.h) for the mode, runs its poll loop and
 * its once-a-second pass, and keeps the addresses learned from DNS and
 * SNI that the front ends filter on.  The front ends are capture-ebpf.c
 * and capture-pcap-live.c.  See capture-live.h and docs/capture.md.
 */
#include "capture-live.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator.h"
#include "capture-live-int.h"
#include "util-hash.h"
#include "util-log.h"

#define POLL_MS 200              /* longest wait for input */
#define PASS_NS (1 * LIVE_NS)    /* stats, expiry, reload, sensor_tick */
#define LEARN_TTL_FLOOR_S 300    /* as the DNS cache's floor */

uint64_t live_now_ns(int clockid)
{
	struct timespec ts;
	clock_gettime((clockid_t)clockid, &ts);
	return (uint64_t)ts.tv_sec * LIVE_NS + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------ learned addresses */

#define LEARN_NIL UINT32_MAX

static uint32_t learn_hash(const struct net_addr *a)
{
	return (uint32_t)hash64(a, sizeof(*a), hash_process_seed());
}

static struct learned *learn_find(const struct learn_set *ls, const struct net_addr *a)
{
	if (!ls->head)
		return NULL;
	uint32_t h = learn_hash(a);
	for (uint32_t i = ls->head[h & (ls->nbuckets - 1)]; i != LEARN_NIL; i = ls->v[i].next)
		if (ls->v[i].hash == h && !net_addr_cmp(&ls->v[i].a, a))
			return &ls->v[i];
	return NULL;
}

bool live_learned(const struct live *L, const struct net_addr *a)
{
	return learn_find(&L->learned, a) != NULL;
}

static int learn_alloc(struct learn_set *ls)
{
	ls->nbuckets = 1;
	while (ls->nbuckets < ls->max)
		ls->nbuckets <<= 1;
	ls->v = calloc(ls->max, sizeof(*ls->v));
	ls->head = malloc((size_t)ls->nbuckets * sizeof(*ls->head));
	if (!ls->v || !ls->head) {
		free(ls->v);
		free(ls->head);
		ls->v = NULL;
		ls->head = NULL;
		return -ENOMEM;
	}
	memset(ls->head, 0xff, (size_t)ls->nbuckets * sizeof(*ls->head));
	return 0;
}

static void learn_link(struct learn_set *ls, uint32_t i)
{
	uint32_t *hd = &ls->head[ls->v[i].hash & (ls->nbuckets - 1)];
	ls->v[i].next = *hd;
	*hd = i;
}

static void learn_unlink(struct learn_set *ls, uint32_t i)
{
	uint32_t *pp = &ls->head[ls->v[i].hash & (ls->nbuckets - 1)];
	while (*pp != i)
		pp = &ls->v[*pp].next;
	*pp = ls->v[i].next;
}

/* Take entry @i out; the last entry moves into its place. */
static void learn_remove(struct learn_set *ls, uint32_t i)
{
	uint32_t last = (uint32_t)ls->n - 1;

	learn_unlink(ls, i);
	if (i != last) {
		learn_unlink(ls, last);
		ls->v[i] = ls->v[last];
		learn_link(ls, i);
	}
	ls->n--;
}

/* Remember @a until @expires; returns 1 when new, 0 when refreshed, -1
 * when refused (full, or out of memory). */
static int learn_put(struct learn_set *ls, const struct net_addr *a, uint64_t expires)
{
	struct learned *l = learn_find(ls, a);

	if (l) {
		if (expires > l->expires_ns)
			l->expires_ns = expires;
		return 0;
	}
	if (!ls->v && learn_alloc(ls) < 0) {
		ls->refused++;
		return -1;
	}
	if (ls->n == ls->max) {
		ls->refused++;
		return -1;
	}
	l = &ls->v[ls->n];
	l->a = *a;
	l->expires_ns = expires;
	l->hash = learn_hash(a);
	learn_link(ls, (uint32_t)ls->n);
	ls->n++;
	ls->added++;
	ls->changed = true;
	return 1;
}

void live_learn(struct live *L, const struct net_addr *a, uint32_t ttl_s)
{
	uint64_t now = live_now_ns(CLOCK_REALTIME);

	if (learn_put(&L->learned, a, now + (uint64_t)ttl_s * LIVE_NS) == 1 && L->ops->learned_fn)
		L->ops->learned_fn(L, a, true, now);
}

void live_on_dns_learn(void *arg, const struct net_addr *addr, uint32_t ttl_s, const char *name)
{
	(void)name;
	live_learn(arg, addr, ttl_s < LEARN_TTL_FLOOR_S ? LEARN_TTL_FLOOR_S : ttl_s);
}

/* Drop what expired. */
static void learn_expire(struct live *L, uint64_t now)
{
	struct learn_set *ls = &L->learned;

	for (size_t i = 0; i < ls->n;) {
		if (ls->v[i].expires_ns > now) {
			i++;
			continue;
		}
		if (L->ops->learned_fn)
			L->ops->learned_fn(L, &ls->v[i].a, false, now);
		learn_remove(ls, (uint32_t)i);
		ls->expired++;
		ls->changed = true;
	}
}

/* ------------------------------------------------------------- the loop */

/* Capture attached: name the mode, tell systemd, first tick. */
static void started(struct live *L)
{
	struct sensor_capture_stats cs = { .mode = L->mode };
	sensor_set_capture_stats(L->s, &cs);
	sensor_ready(L->s);
	sensor_tick(L->s);
}

/* Once a second: counters; flows idle on a quiet link end (packet time
 * follows the wall clock, less what may still wait in a ring); learned
 * addresses expire; a changed catalog (or learned set, for a front end
 * that filters on the whole set) is reloaded. */
static void live_pass(struct live *L)
{
	struct aggregator *agg = sensor_agg(L->s);
	uint64_t now = live_now_ns(CLOCK_REALTIME);

	L->ops->stats(L);
	agg_ext_tick(agg, now - L->ops->tick_lag_ns);
	learn_expire(L, now);
	if (agg_catalog(agg) != L->cat || (!L->ops->learned_fn && L->learned.changed)) {
		L->learned.changed = false;
		L->ops->reload(L);
	}
}

static int live_loop(struct live *L)
{
	uint64_t next_pass = 0;
	int rc = 0;

	started(L);
	while (!sensor_should_stop(L->s)) {
		uint64_t now;
		int n = poll(L->pfd, (nfds_t)L->nif, POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_err("%s: poll: %s", L->mode, strerror(errno));
			rc = -EIO;
			break;
		}
		for (int i = 0; i < L->nif && rc == 0; i++)
			rc = L->ops->read(L, i, n > 0 && (L->pfd[i].revents & POLLIN));
		if (rc < 0)
			break;
		now = live_now_ns(CLOCK_MONOTONIC);
		if (now >= next_pass) {
			live_pass(L);
			sensor_tick(L->s);
			next_pass = now + PASS_NS;
		}
	}
	if (rc == 0)
		live_pass(L);
	return rc;
}

/* ============================================================ entry */

int capture_live_run(struct sensor *s, const struct sensor_options *o)
{
	struct live L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.s = s;
	L.o = o;
	L.nif = o->interfaces.n;
	L.mode = o->capture_mode;
	if (L.nif <= 0) {
		log_err("live capture needs an interface (-i IFACE)");
		return -EINVAL;
	}
	if (!strcmp(o->capture_mode, "pcap"))
		L.ops = &capture_pcap_live_ops;
	else if (!strcmp(o->capture_mode, "ebpf-tc"))
		L.ops = &capture_ebpf_tc_ops;
	else if (!strcmp(o->capture_mode, "ebpf-xdp"))
		L.ops = &capture_ebpf_xdp_ops;
	else {
		log_err("--capture %s: use ebpf-tc, ebpf-xdp or pcap", o->capture_mode);
		return -EINVAL;
	}
	L.learned.max = L.ops->learn_max;
	L.pfd = calloc((size_t)L.nif, sizeof(*L.pfd));
	if (!L.pfd) {
		log_err("%s: out of memory", L.mode);
		return -ENOMEM;
	}
	rc = L.ops->open(&L);
	if (rc == 0)
		rc = live_loop(&L);
	L.ops->close(&L, rc == 0);
	free(L.pfd);
	free(L.learned.v);
	free(L.learned.head);
	return rc;
}
