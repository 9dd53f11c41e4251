/* SPDX-License-Identifier: MIT */
/*
 * flow-table.c -- fixed-pool flow table with a seeded hash index and one
 * LRU list per timeout class.  See flow-table.h for the contract.
 *
 * Memory: one calloc'd pool of max_flows flows and a bucket array sized to
 * the next power of two; slots are handed out from a high-water mark first
 * and then from a free list, so resident memory grows only with use.
 */
#include "flow-table.h"
#include "util-hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct flow_list_head {
	uint32_t head, tail; /* head = least recently active */
};

struct flow_table {
	struct flow_config cfg;
	struct flow *pool;
	uint32_t *buckets;      /* index + 1 of the first flow; 0 = empty */
	uint64_t bucket_mask;
	uint64_t seed;
	uint32_t high_water;    /* slots [0, high_water) have been used */
	uint32_t free_head;     /* free list through hnext */
	uint64_t next_id;
	struct flow_list_head lists[FLOW_LIST_COUNT];
	flow_end_fn *on_end;
	void *arg;
	struct flow_table_stats st;
};

static const char *const end_names[] = {
	[FLOW_END_FIN] = "fin",         [FLOW_END_RST] = "rst",
	[FLOW_END_TIMEOUT] = "timeout", [FLOW_END_EVICTED] = "evicted",
	[FLOW_END_EOF] = "eof",         [FLOW_END_REUSED] = "reused",
};

const char *flow_end_reason_name(enum flow_end_reason r)
{
	return (unsigned)r < sizeof(end_names) / sizeof(end_names[0]) ? end_names[r] : "unknown";
}

void flow_config_default(struct flow_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 1u << 20;
	cfg->timeout_s[FLOW_LIST_TCP_NEW] = 60;
	cfg->timeout_s[FLOW_LIST_TCP_EST] = 3600;
	cfg->timeout_s[FLOW_LIST_TCP_CLOSED] = 5;
	cfg->timeout_s[FLOW_LIST_OTHER] = 60;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Seeded hash of the canonical key (explicit zero padding, so every byte
 * may be hashed): util-hash.h's hash64(). */
static inline uint64_t key_hash(const struct flow_table *ft, const struct flow_key *k)
{
	return hash64(k, sizeof(*k), ft->seed);
}

void flow_key_make(struct flow_key *k, const struct net_addr *src, uint16_t sport,
		   const struct net_addr *dst, uint16_t dport, uint8_t proto,
		   const uint16_t vlan[2], bool *swapped)
{
	int c = net_addr_cmp(src, dst);
	bool swap = c > 0 || (c == 0 && sport > dport);

	memset(k, 0, sizeof(*k));
	if (swap) {
		k->a = *dst;
		k->port_a = dport;
		k->b = *src;
		k->port_b = sport;
	} else {
		k->a = *src;
		k->port_a = sport;
		k->b = *dst;
		k->port_b = dport;
	}
	k->proto = proto;
	if (vlan) {
		k->vlan[0] = vlan[0];
		k->vlan[1] = vlan[1];
	}
	if (swapped)
		*swapped = swap;
}

struct flow_table *flow_table_new(const struct flow_config *cfg, uint64_t seed,
				  flow_end_fn *on_end, void *arg)
{
	struct flow_table *ft;
	uint64_t nb = 1;

	if (!cfg || cfg->max_flows == 0 || cfg->max_flows >= FLOW_NIL) {
		errno = EINVAL;
		return NULL;
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->cfg = *cfg;
	while (nb < cfg->max_flows)
		nb <<= 1;
	ft->pool = calloc(cfg->max_flows, sizeof(*ft->pool));
	ft->buckets = calloc(nb, sizeof(*ft->buckets));
	if (!ft->pool || !ft->buckets) {
		free(ft->pool);
		free(ft->buckets);
		free(ft);
		errno = ENOMEM;
		return NULL;
	}
	ft->bucket_mask = nb - 1;
	ft->seed = mix64(seed + 1);
	ft->free_head = FLOW_NIL;
	ft->next_id = 1;
	for (int i = 0; i < FLOW_LIST_COUNT; i++)
		ft->lists[i].head = ft->lists[i].tail = FLOW_NIL;
	ft->on_end = on_end;
	ft->arg = arg;
	return ft;
}

void flow_table_free(struct flow_table *ft)
{
	if (!ft)
		return;
	free(ft->pool);
	free(ft->buckets);
	free(ft);
}

uint32_t flow_table_index(const struct flow_table *ft, const struct flow *f)
{
	return (uint32_t)(f - ft->pool);
}

static void list_unlink(struct flow_table *ft, struct flow *f)
{
	struct flow_list_head *l = &ft->lists[f->list];
	if (f->lprev != FLOW_NIL)
		ft->pool[f->lprev].lnext = f->lnext;
	else
		l->head = f->lnext;
	if (f->lnext != FLOW_NIL)
		ft->pool[f->lnext].lprev = f->lprev;
	else
		l->tail = f->lprev;
	f->lprev = f->lnext = FLOW_NIL;
}

static void list_append(struct flow_table *ft, struct flow *f, enum flow_list list)
{
	struct flow_list_head *l = &ft->lists[list];
	uint32_t idx = flow_table_index(ft, f);
	f->list = (uint8_t)list;
	f->lnext = FLOW_NIL;
	f->lprev = l->tail;
	if (l->tail != FLOW_NIL)
		ft->pool[l->tail].lnext = idx;
	else
		l->head = idx;
	l->tail = idx;
}

struct flow *flow_table_lookup(struct flow_table *ft, const struct flow_key *k)
{
	uint64_t b = key_hash(ft, k) & ft->bucket_mask;
	ft->st.lookups++;
	for (uint32_t i = ft->buckets[b]; i; i = ft->pool[i - 1].hnext) {
		struct flow *f = &ft->pool[i - 1];
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	}
	return NULL;
}

static void hash_unlink(struct flow_table *ft, struct flow *f)
{
	uint64_t b = f->hash & ft->bucket_mask;
	uint32_t idx1 = flow_table_index(ft, f) + 1;
	uint32_t *pp = &ft->buckets[b];
	while (*pp) {
		if (*pp == idx1) {
			*pp = f->hnext;
			return;
		}
		pp = &ft->pool[*pp - 1].hnext;
	}
}

void flow_table_end(struct flow_table *ft, struct flow *f, enum flow_end_reason why)
{
	uint32_t idx = flow_table_index(ft, f);
	if (ft->on_end)
		ft->on_end(f, why, ft->arg);
	ft->st.ended++;
	if (why == FLOW_END_EVICTED)
		ft->st.evicted++;
	else if (why == FLOW_END_TIMEOUT)
		ft->st.timed_out++;
	ft->st.active--;
	hash_unlink(ft, f);
	list_unlink(ft, f);
	f->hnext = ft->free_head;
	ft->free_head = idx;
}

static void list_unlink(struct flow_table *ft, struct flow *f);
static void list_append(struct flow_table *ft, struct flow *f, enum flow_list list);

/* The flow whose last activity is oldest across every list.  Heads that
 * were touched since they took their place go to the tail first. */
static struct flow *oldest_flow(struct flow_table *ft)
{
	struct flow *best = NULL;
	for (int i = 0; i < FLOW_LIST_COUNT; i++) {
		uint32_t h = ft->lists[i].head;
		while (h != FLOW_NIL && ft->pool[h].active_ns != ft->pool[h].list_ns) {
			struct flow *f = &ft->pool[h];
			list_unlink(ft, f);
			list_append(ft, f, (enum flow_list)i);
			f->list_ns = f->active_ns;
			h = ft->lists[i].head;
		}
		if (h == FLOW_NIL)
			continue;
		if (!best || ft->pool[h].active_ns < best->active_ns)
			best = &ft->pool[h];
	}
	return best;
}

struct flow *flow_table_insert(struct flow_table *ft, const struct flow_key *k,
			       enum flow_list list, uint64_t now_ns)
{
	struct flow *f;
	uint32_t idx;
	uint64_t b;

	if (ft->free_head != FLOW_NIL) {
		idx = ft->free_head;
		ft->free_head = ft->pool[idx].hnext;
	} else if (ft->high_water < ft->cfg.max_flows) {
		idx = ft->high_water++;
	} else {
		flow_table_end(ft, oldest_flow(ft), FLOW_END_EVICTED);
		idx = ft->free_head;
		ft->free_head = ft->pool[idx].hnext;
	}
	f = &ft->pool[idx];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->id = ft->next_id++;
	f->first_ns = f->last_ns = f->last_update_ns = f->list_ns = f->active_ns = now_ns;
	f->app_slot = FLOW_NIL;
	f->lprev = f->lnext = FLOW_NIL;
	f->hash = key_hash(ft, k);
	b = f->hash & ft->bucket_mask;
	f->hnext = ft->buckets[b];
	ft->buckets[b] = idx + 1;
	list_append(ft, f, list);
	ft->st.created++;
	ft->st.active++;
	if (ft->st.active > ft->st.max_active)
		ft->st.max_active = ft->st.active;
	return f;
}

/* Moving a flow to the tail of its list on every packet costs two cache
 * misses (its neighbours); a flow keeps its place for up to
 * FLOW_RELINK_NS of packet time instead, and expiry moves a head that was
 * touched since it took its place (see flow_table_expire), so expiry stays
 * exact. */
#define FLOW_RELINK_NS 1000000000ull

void flow_table_touch_at(struct flow_table *ft, struct flow *f, enum flow_list list,
			 uint64_t pkt_ns, uint64_t clock_ns)
{
	if (pkt_ns > f->last_ns)
		f->last_ns = pkt_ns;
	if (clock_ns > f->active_ns)
		f->active_ns = clock_ns;
	if (f->list == list && f->active_ns - f->list_ns < FLOW_RELINK_NS)
		return;
	list_unlink(ft, f);
	list_append(ft, f, list);
	f->list_ns = f->active_ns;
}

void flow_table_touch(struct flow_table *ft, struct flow *f, enum flow_list list, uint64_t now_ns)
{
	flow_table_touch_at(ft, f, list, now_ns, now_ns);
}

bool flow_table_is_expired(const struct flow_table *ft, const struct flow *f, uint64_t now_ns)
{
	uint64_t to = (uint64_t)ft->cfg.timeout_s[f->list] * 1000000000ull;
	return now_ns > f->active_ns && now_ns - f->active_ns > to;
}

static enum flow_end_reason idle_reason(const struct flow *f)
{
	if (f->list == FLOW_LIST_TCP_CLOSED)
		return f->closed_by_rst ? FLOW_END_RST : FLOW_END_FIN;
	return FLOW_END_TIMEOUT;
}

void flow_table_expire(struct flow_table *ft, uint64_t now_ns)
{
	for (int i = 0; i < FLOW_LIST_COUNT; i++) {
		while (ft->lists[i].head != FLOW_NIL) {
			struct flow *f = &ft->pool[ft->lists[i].head];
			if (!flow_table_is_expired(ft, f, now_ns)) {
				/* touched since it took its place: every flow
				 * behind it took theirs later, so none of them is
				 * expired unless this one was out of place */
				if (f->active_ns == f->list_ns)
					break;
				list_unlink(ft, f);
				list_append(ft, f, (enum flow_list)i);
				f->list_ns = f->active_ns;
				continue;
			}
			flow_table_end(ft, f, idle_reason(f));
		}
	}
}

void flow_table_flush(struct flow_table *ft, enum flow_end_reason why)
{
	struct flow *f;
	while ((f = oldest_flow(ft)) != NULL)
		flow_table_end(ft, f, f->list == FLOW_LIST_TCP_CLOSED ? idle_reason(f) : why);
}

void flow_table_get_stats(const struct flow_table *ft, struct flow_table_stats *out)
{
	*out = ft->st;
}
