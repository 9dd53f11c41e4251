/* SPDX-License-Identifier: MIT */
/* test-flow-table.c -- canonical keys, insert/lookup, LRU eviction, exact expiry, flush order, slot reuse. */
#include "flow-table.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"

#define SEC 1000000000ull
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every flow_end call, in order. */
struct ended {
	size_t n;
	struct {
		uint64_t id;
		enum flow_end_reason why;
		uint16_t port_a;
		uint8_t list;
	} e[64];
};

static void record_end(struct flow *f, enum flow_end_reason why, void *arg)
{
	struct ended *log = arg;
	if (log->n < ARRAY_LEN(log->e)) {
		log->e[log->n].id = f->id;
		log->e[log->n].why = why;
		log->e[log->n].port_a = f->key.port_a;
		log->e[log->n].list = f->list;
	}
	log->n++;
}

static void v4(struct net_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
	const uint8_t b[4] = { a0, a1, a2, a3 };
	net_addr_set_v4(a, b);
}

/* A UDP key 10.0.0.1:port -> 10.0.0.2:53, distinct per port. */
static void key_for(struct flow_key *k, uint16_t port)
{
	struct net_addr s, d;
	v4(&s, 10, 0, 0, 1);
	v4(&d, 10, 0, 0, 2);
	flow_key_make(k, &s, port, &d, 53, IPPROTO_UDP, NULL, NULL);
}

static struct flow_table *table(uint32_t max, struct ended *log)
{
	struct flow_config cfg;
	flow_config_default(&cfg);
	cfg.max_flows = max;
	return flow_table_new(&cfg, 1, record_end, log);
}

static void test_flow_table__config_default(void)
{
	struct flow_config cfg;

	flow_config_default(&cfg);
	CHECK_EQ_U(cfg.max_flows, 1u << 20);
	CHECK_EQ_U(cfg.timeout_s[FLOW_LIST_TCP_NEW], 60);
	CHECK_EQ_U(cfg.timeout_s[FLOW_LIST_TCP_EST], 3600); /* IMAP IDLE, see flow-table.h */
	CHECK_EQ_U(cfg.timeout_s[FLOW_LIST_TCP_CLOSED], 5);
	CHECK_EQ_U(cfg.timeout_s[FLOW_LIST_OTHER], 60);
}

static void test_flow_table__new_rejects_bad_config(void)
{
	struct flow_config cfg;

	flow_config_default(&cfg);
	cfg.max_flows = 0;
	errno = 0;
	CHECK(flow_table_new(&cfg, 1, NULL, NULL) == NULL);
	CHECK_EQ_U(errno, EINVAL);
	cfg.max_flows = FLOW_NIL;
	errno = 0;
	CHECK(flow_table_new(&cfg, 1, NULL, NULL) == NULL);
	CHECK_EQ_U(errno, EINVAL);
	errno = 0;
	CHECK(flow_table_new(NULL, 1, NULL, NULL) == NULL);
	CHECK_EQ_U(errno, EINVAL);
	flow_table_free(NULL); /* no-op */
}

static void test_flow_table__end_reason_names(void)
{
	static const struct { enum flow_end_reason r; const char *name; } names[] = {
		{ FLOW_END_FIN, "fin" }, { FLOW_END_RST, "rst" },
		{ FLOW_END_TIMEOUT, "timeout" }, { FLOW_END_EVICTED, "evicted" },
		{ FLOW_END_EOF, "eof" }, { FLOW_END_REUSED, "reused" },
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		CHECK_STREQ(flow_end_reason_name(names[i].r), names[i].name);
	CHECK_STREQ(flow_end_reason_name((enum flow_end_reason)99), "unknown");
}

/* Both directions of a conversation make the same key. */
struct canon_case {
	const char *name;
	uint8_t fam;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	bool src_is_a; /* (src, sport) lands in slot a */
};

static const struct canon_case canon[] = {
	{ "v4 lower src", NET_ADDR_V4, { 10, 0, 0, 1 }, { 10, 0, 0, 2 }, 50000, 443, true },
	{ "v4 higher src", NET_ADDR_V4, { 192, 0, 2, 9 }, { 10, 0, 0, 2 }, 443, 50000, false },
	{ "v4 same addr, lower port", NET_ADDR_V4, { 127, 0, 0, 1 }, { 127, 0, 0, 1 }, 80, 50000, true },
	{ "v4 same addr, higher port", NET_ADDR_V4, { 127, 0, 0, 1 }, { 127, 0, 0, 1 }, 50000, 80, false },
	{ "v4 same addr and port", NET_ADDR_V4, { 127, 0, 0, 1 }, { 127, 0, 0, 1 }, 53, 53, true },
	{ "v6 lower src", NET_ADDR_V6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 }, 1, 2, true },
	{ "v6 higher src", NET_ADDR_V6, { 0xfe, 0x80, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 }, 1, 2, false },
};

static void test_flow_table__key_canonical(void)
{
	const uint16_t vlan[2] = { 100, 42 };

	for (size_t i = 0; i < ARRAY_LEN(canon); i++) {
		const struct canon_case *t = &canon[i];
		struct net_addr s, d;
		struct flow_key fwd, rev;
		bool sw_fwd = true, sw_rev = true;

		if (t->fam == NET_ADDR_V4) {
			net_addr_set_v4(&s, t->src);
			net_addr_set_v4(&d, t->dst);
		} else {
			net_addr_set_v6(&s, t->src);
			net_addr_set_v6(&d, t->dst);
		}
		flow_key_make(&fwd, &s, t->sport, &d, t->dport, IPPROTO_TCP, vlan, &sw_fwd);
		flow_key_make(&rev, &d, t->dport, &s, t->sport, IPPROTO_TCP, vlan, &sw_rev);
		CHECK(!memcmp(&fwd, &rev, sizeof(fwd)));
		CHECK_EQ_U(sw_fwd, !t->src_is_a);
		if (t->sport != t->dport || net_addr_cmp(&s, &d))
			CHECK_EQ_U(sw_rev, t->src_is_a);
		CHECK(!net_addr_cmp(&fwd.a, t->src_is_a ? &s : &d));
		CHECK_EQ_U(fwd.port_a, t->src_is_a ? t->sport : t->dport);
		CHECK_EQ_U(fwd.port_b, t->src_is_a ? t->dport : t->sport);
		CHECK_EQ_U(fwd.proto, IPPROTO_TCP);
		CHECK_EQ_U(fwd.vlan[0], 100);
		CHECK_EQ_U(fwd.vlan[1], 42);
		CHECK_EQ_U(fwd.pad[0] | fwd.pad[1] | fwd.tunnel_kind, 0);
		CHECK_EQ_U(fwd.tunnel_id, 0);
		if (check_failed_now)
			fprintf(stderr, "  ^ canon case \"%s\" (or earlier)\n", t->name);
	}
}

static void test_flow_table__key_fields_distinguish(void)
{
	struct net_addr s, d;
	struct flow_key k1, k2;
	const uint16_t vlan_a[2] = { 10, 0 }, vlan_b[2] = { 11, 0 };

	v4(&s, 10, 0, 0, 1);
	v4(&d, 10, 0, 0, 2);
	/* garbage in the output must not leak into the key */
	memset(&k1, 0xa5, sizeof(k1));
	flow_key_make(&k1, &s, 1000, &d, 53, IPPROTO_UDP, NULL, NULL);
	memset(&k2, 0x00, sizeof(k2));
	flow_key_make(&k2, &s, 1000, &d, 53, IPPROTO_UDP, NULL, NULL);
	CHECK(!memcmp(&k1, &k2, sizeof(k1)));
	CHECK_EQ_U(k1.vlan[0] | k1.vlan[1], 0);

	flow_key_make(&k2, &s, 1000, &d, 53, IPPROTO_TCP, NULL, NULL);
	CHECK(memcmp(&k1, &k2, sizeof(k1)));
	flow_key_make(&k1, &s, 1000, &d, 53, IPPROTO_UDP, vlan_a, NULL);
	flow_key_make(&k2, &s, 1000, &d, 53, IPPROTO_UDP, vlan_b, NULL);
	CHECK(memcmp(&k1, &k2, sizeof(k1)));
}

static void test_flow_table__insert_lookup(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(16, &log);
	struct flow_table_stats st;
	struct flow_key k1, k2, k3;
	struct flow *f1, *f2;

	key_for(&k1, 1001);
	key_for(&k2, 1002);
	key_for(&k3, 1003);
	CHECK(flow_table_lookup(ft, &k1) == NULL);
	f1 = flow_table_insert(ft, &k1, FLOW_LIST_OTHER, 5 * SEC);
	f2 = flow_table_insert(ft, &k2, FLOW_LIST_TCP_NEW, 6 * SEC);
	CHECK(f1 && f2 && f1 != f2);
	CHECK(flow_table_lookup(ft, &k1) == f1);
	CHECK(flow_table_lookup(ft, &k2) == f2);
	CHECK(flow_table_lookup(ft, &k3) == NULL);
	CHECK(!memcmp(&f1->key, &k1, sizeof(k1)));
	CHECK_EQ_U(f1->id, 1);
	CHECK_EQ_U(f2->id, 2);
	CHECK_EQ_U(f1->first_ns, 5 * SEC);
	CHECK_EQ_U(f1->last_ns, 5 * SEC);
	CHECK_EQ_U(f1->last_update_ns, 5 * SEC);
	CHECK_EQ_U(f1->list, FLOW_LIST_OTHER);
	CHECK_EQ_U(f2->list, FLOW_LIST_TCP_NEW);
	CHECK_EQ_U(f1->app_slot, FLOW_NIL);
	CHECK_EQ_U(f1->dir[0].pkts + f1->dir[1].pkts + f1->hist_len, 0);
	CHECK(flow_table_index(ft, f1) < 16);
	CHECK(flow_table_index(ft, f1) != flow_table_index(ft, f2));

	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.created, 2);
	CHECK_EQ_U(st.active, 2);
	CHECK_EQ_U(st.max_active, 2);
	CHECK_EQ_U(st.lookups, 4);
	CHECK_EQ_U(st.ended, 0);
	CHECK_EQ_U(log.n, 0);

	flow_table_end(ft, f1, FLOW_END_EOF);
	CHECK_EQ_U(log.n, 1);
	CHECK_EQ_U(log.e[0].id, 1);
	CHECK_EQ_U(log.e[0].why, FLOW_END_EOF);
	CHECK(flow_table_lookup(ft, &k1) == NULL);
	CHECK(flow_table_lookup(ft, &k2) == f2);
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.active, 1);
	CHECK_EQ_U(st.max_active, 2);
	CHECK_EQ_U(st.ended, 1);
	CHECK_EQ_U(st.evicted + st.timed_out, 0);
	flow_table_free(ft);
}

static void test_flow_table__touch(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(4, &log);
	struct flow_key k;
	struct flow *f;

	key_for(&k, 1);
	f = flow_table_insert(ft, &k, FLOW_LIST_TCP_NEW, 10 * SEC);
	flow_table_touch(ft, f, FLOW_LIST_TCP_EST, 20 * SEC);
	CHECK_EQ_U(f->list, FLOW_LIST_TCP_EST);
	CHECK_EQ_U(f->last_ns, 20 * SEC);
	CHECK_EQ_U(f->first_ns, 10 * SEC);
	/* an older packet never moves last_ns back */
	flow_table_touch(ft, f, FLOW_LIST_TCP_EST, 15 * SEC);
	CHECK_EQ_U(f->last_ns, 20 * SEC);
	/* the TCP_NEW list is empty now: its 60 s timeout must not end it */
	flow_table_expire(ft, 20 * SEC + 61 * SEC);
	CHECK_EQ_U(log.n, 0);
	CHECK(flow_table_lookup(ft, &k) == f);
	flow_table_free(ft);
}

static void test_flow_table__evict_least_recent(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(3, &log);
	struct flow_table_stats st;
	struct flow_key k[5];
	struct flow *f[5];

	for (int i = 0; i < 5; i++)
		key_for(&k[i], (uint16_t)(2000 + i));
	/* three flows in different lists, last seen at 1, 2, 3 s */
	f[0] = flow_table_insert(ft, &k[0], FLOW_LIST_OTHER, 1 * SEC);
	f[1] = flow_table_insert(ft, &k[1], FLOW_LIST_TCP_NEW, 2 * SEC);
	f[2] = flow_table_insert(ft, &k[2], FLOW_LIST_TCP_EST, 3 * SEC);
	/* flow 0 active again: flow 1 is now the least recently touched */
	flow_table_touch(ft, f[0], FLOW_LIST_OTHER, 4 * SEC);

	f[3] = flow_table_insert(ft, &k[3], FLOW_LIST_OTHER, 5 * SEC);
	CHECK_EQ_U(log.n, 1);
	CHECK_EQ_U(log.e[0].id, 2);
	CHECK_EQ_U(log.e[0].why, FLOW_END_EVICTED);
	CHECK_EQ_U(log.e[0].port_a, 2001);
	CHECK(flow_table_lookup(ft, &k[1]) == NULL);
	CHECK(flow_table_lookup(ft, &k[0]) == f[0]);
	CHECK(flow_table_lookup(ft, &k[2]) == f[2]);
	CHECK(flow_table_lookup(ft, &k[3]) == f[3]);
	CHECK_EQ_U(f[3]->id, 4);
	CHECK_EQ_U(f[3]->first_ns, 5 * SEC);
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.evicted, 1);
	CHECK_EQ_U(st.ended, 1);
	CHECK_EQ_U(st.active, 3);
	CHECK_EQ_U(st.created, 4);

	/* next: flow 2 (3 s) goes */
	f[4] = flow_table_insert(ft, &k[4], FLOW_LIST_TCP_CLOSED, 6 * SEC);
	CHECK_EQ_U(log.n, 2);
	CHECK_EQ_U(log.e[1].id, 3);
	CHECK_EQ_U(log.e[1].why, FLOW_END_EVICTED);
	CHECK(flow_table_lookup(ft, &k[2]) == NULL);
	CHECK(flow_table_lookup(ft, &k[4]) == f[4]);
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.evicted, 2);
	CHECK_EQ_U(st.max_active, 3);
	flow_table_free(ft);
}

/* Each list's timeout, at the boundary: idle exactly timeout stays. */
static void test_flow_table__expire_boundary(void)
{
	static const struct {
		enum flow_list list;
		enum flow_end_reason why;
	} lists[] = {
		{ FLOW_LIST_TCP_NEW, FLOW_END_TIMEOUT },
		{ FLOW_LIST_TCP_EST, FLOW_END_TIMEOUT },
		{ FLOW_LIST_TCP_CLOSED, FLOW_END_FIN },
		{ FLOW_LIST_OTHER, FLOW_END_TIMEOUT },
	};
	const uint64_t t0 = 1700000000ull * SEC;
	struct flow_config cfg;

	flow_config_default(&cfg);
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		struct ended log = { 0 };
		struct flow_table *ft = table(8, &log);
		struct flow_table_stats st;
		struct flow_key k;
		struct flow *f;
		uint64_t to = cfg.timeout_s[lists[i].list] * SEC;
		int failed_before = check_failed_now;

		check_failed_now = 0;

		key_for(&k, 7);
		f = flow_table_insert(ft, &k, lists[i].list, t0);
		CHECK(!flow_table_is_expired(ft, f, t0));
		CHECK(!flow_table_is_expired(ft, f, t0 + to));
		CHECK(flow_table_is_expired(ft, f, t0 + to + 1));
		CHECK(!flow_table_is_expired(ft, f, t0 - SEC)); /* clock behind */
		flow_table_expire(ft, t0 + to);
		CHECK_EQ_U(log.n, 0);
		CHECK(flow_table_lookup(ft, &k) == f);
		flow_table_expire(ft, t0 + to + 1);
		CHECK_EQ_U(log.n, 1);
		CHECK_EQ_U(log.e[0].why, lists[i].why);
		CHECK_EQ_U(log.e[0].list, lists[i].list);
		CHECK(flow_table_lookup(ft, &k) == NULL);
		flow_table_get_stats(ft, &st);
		CHECK_EQ_U(st.timed_out, lists[i].why == FLOW_END_TIMEOUT ? 1 : 0);
		CHECK_EQ_U(st.active, 0);
		if (check_failed_now)
			fprintf(stderr, "  ^ list %d\n", (int)lists[i].list);
		check_failed_now |= failed_before;
		flow_table_free(ft);
	}
}

static void test_flow_table__expire_per_list(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(16, &log);
	struct flow_key k[4];

	for (int i = 0; i < 4; i++)
		key_for(&k[i], (uint16_t)(3000 + i));
	/* all idle since t = 100 s, one per list */
	flow_table_insert(ft, &k[0], FLOW_LIST_TCP_NEW, 100 * SEC);
	flow_table_insert(ft, &k[1], FLOW_LIST_TCP_EST, 100 * SEC);
	flow_table_insert(ft, &k[2], FLOW_LIST_TCP_CLOSED, 100 * SEC);
	flow_table_insert(ft, &k[3], FLOW_LIST_OTHER, 100 * SEC);

	flow_table_expire(ft, 106 * SEC);  /* closed (5 s) only */
	CHECK_EQ_U(log.n, 1);
	CHECK_EQ_U(log.e[0].port_a, 3002);
	flow_table_expire(ft, 161 * SEC);  /* new and other (60 s) */
	CHECK_EQ_U(log.n, 3);
	CHECK(flow_table_lookup(ft, &k[1]) != NULL);
	flow_table_expire(ft, 3700 * SEC);  /* established: idle 3600 s exactly */
	CHECK_EQ_U(log.n, 3);
	flow_table_expire(ft, 3700 * SEC + 1);
	CHECK_EQ_U(log.n, 4);
	CHECK_EQ_U(log.e[3].port_a, 3001);
	flow_table_free(ft);
}

/* Within one list expiry walks from the head and stops at the first live flow. */
static void test_flow_table__expire_stops_at_live(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(16, &log);
	struct flow_key k[4];
	struct flow *f[4];

	for (int i = 0; i < 4; i++) {
		key_for(&k[i], (uint16_t)(4000 + i));
		f[i] = flow_table_insert(ft, &k[i], FLOW_LIST_OTHER, (uint64_t)(i + 1) * 10 * SEC);
	}
	/* flow 0 touched last: it moves to the tail */
	flow_table_touch(ft, f[0], FLOW_LIST_OTHER, 50 * SEC);
	flow_table_expire(ft, 85 * SEC); /* flow 1 (20 s) idle 65 s goes; flow 2 (30 s) idle 55 s stays */
	CHECK_EQ_U(log.n, 1);
	CHECK_EQ_U(log.e[0].port_a, 4001);
	flow_table_expire(ft, 100 * SEC + 1);
	CHECK_EQ_U(log.n, 3);
	CHECK_EQ_U(log.e[1].port_a, 4002);
	CHECK_EQ_U(log.e[2].port_a, 4003);
	CHECK(flow_table_lookup(ft, &k[0]) == f[0]);
	flow_table_free(ft);
}

static void test_flow_table__flush_oldest_first(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(16, &log);
	struct flow_table_stats st;
	struct flow_key k[6];
	/* insertion time and list per flow: oldest is port 5005, then 5001 ... */
	static const struct { uint64_t t; enum flow_list list; } spec[6] = {
		{ 40, FLOW_LIST_OTHER }, { 20, FLOW_LIST_TCP_EST }, { 50, FLOW_LIST_TCP_NEW },
		{ 30, FLOW_LIST_OTHER }, { 60, FLOW_LIST_TCP_EST }, { 10, FLOW_LIST_TCP_NEW },
	};
	static const uint16_t want[6] = { 5005, 5001, 5003, 5000, 5002, 5004 };

	/* insert in time order within each list (lists are LRU) */
	static const int order[6] = { 5, 1, 3, 0, 2, 4 };
	for (int j = 0; j < 6; j++) {
		int i = order[j];
		key_for(&k[i], (uint16_t)(5000 + i));
		flow_table_insert(ft, &k[i], spec[i].list, spec[i].t * SEC);
	}
	flow_table_flush(ft, FLOW_END_EOF);
	CHECK_EQ_U(log.n, 6);
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_U(log.e[i].port_a, want[i]);
		CHECK_EQ_U(log.e[i].why, FLOW_END_EOF);
	}
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.active, 0);
	CHECK_EQ_U(st.ended, 6);
	/* a flush of an empty table is a no-op */
	flow_table_flush(ft, FLOW_END_EOF);
	CHECK_EQ_U(log.n, 6);
	flow_table_free(ft);
}

static void test_flow_table__closed_ends_fin_or_rst(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(16, &log);
	struct flow_key k[4];
	struct flow *f[4];

	for (int i = 0; i < 4; i++)
		key_for(&k[i], (uint16_t)(6000 + i));
	f[0] = flow_table_insert(ft, &k[0], FLOW_LIST_TCP_CLOSED, 1 * SEC);
	f[1] = flow_table_insert(ft, &k[1], FLOW_LIST_TCP_CLOSED, 2 * SEC);
	f[1]->closed_by_rst = 1;
	f[2] = flow_table_insert(ft, &k[2], FLOW_LIST_TCP_CLOSED, 3 * SEC);
	f[2]->closed_by_rst = 1;
	f[3] = flow_table_insert(ft, &k[3], FLOW_LIST_TCP_EST, 4 * SEC);

	flow_table_expire(ft, 7 * SEC + 1); /* ends 0 and 1 */
	CHECK_EQ_U(log.n, 2);
	CHECK_EQ_U(log.e[0].why, FLOW_END_FIN);
	CHECK_EQ_U(log.e[1].why, FLOW_END_RST);
	/* at flush a closed flow keeps its own reason */
	flow_table_flush(ft, FLOW_END_EOF);
	CHECK_EQ_U(log.n, 4);
	CHECK_EQ_U(log.e[2].why, FLOW_END_RST);
	CHECK_EQ_U(log.e[3].why, FLOW_END_EOF);
	(void)f;
	flow_table_free(ft);
}

static void test_flow_table__slot_reuse(void)
{
	struct ended log = { 0 };
	struct flow_table *ft = table(4, &log);
	struct flow_key k1, k2, k3;
	struct flow *f1, *f2, *f3;
	uint32_t idx1;

	key_for(&k1, 7001);
	key_for(&k2, 7002);
	key_for(&k3, 7003);
	f1 = flow_table_insert(ft, &k1, FLOW_LIST_OTHER, SEC);
	f1->dir[0].pkts = 9;
	f1->app_slot = 3;
	memcpy(f1->history, "Dd", 3);
	f1->hist_len = 2;
	idx1 = flow_table_index(ft, f1);
	f2 = flow_table_insert(ft, &k2, FLOW_LIST_OTHER, SEC);
	flow_table_end(ft, f1, FLOW_END_TIMEOUT);
	f3 = flow_table_insert(ft, &k3, FLOW_LIST_TCP_NEW, 2 * SEC);
	CHECK_EQ_U(flow_table_index(ft, f3), idx1); /* the freed slot first */
	CHECK_EQ_U(f3->id, 3);
	CHECK_EQ_U(f3->dir[0].pkts, 0);
	CHECK_EQ_U(f3->hist_len, 0);
	CHECK_EQ_U(f3->history[0], '\0');
	CHECK_EQ_U(f3->app_slot, FLOW_NIL);
	CHECK_EQ_U(f3->list, FLOW_LIST_TCP_NEW);
	CHECK(flow_table_lookup(ft, &k1) == NULL);
	CHECK(flow_table_lookup(ft, &k2) == f2);
	CHECK(flow_table_lookup(ft, &k3) == f3);
	/* the same key again after it ended is a new flow */
	f1 = flow_table_insert(ft, &k1, FLOW_LIST_OTHER, 3 * SEC);
	CHECK_EQ_U(f1->id, 4);
	CHECK(flow_table_lookup(ft, &k1) == f1);
	flow_table_free(ft);
}

/* Reference model for the big test: which ports are live. */
static void test_flow_table__many_inserts_consistent(void)
{
	enum { CAP = 1000, N = 5000 };
	struct flow_config cfg;
	struct flow_table *ft;
	struct flow_table_stats st;
	static uint8_t live[N];
	uint64_t evicted = 0, ended = 0;
	struct flow_key k;

	flow_config_default(&cfg);
	cfg.max_flows = CAP;
	ft = flow_table_new(&cfg, 0x5eed, NULL, NULL);
	CHECK(ft != NULL);
	if (!ft)
		return;
	memset(live, 0, sizeof(live));
	for (int i = 0; i < N; i++) {
		struct flow *f;
		key_for(&k, (uint16_t)(10000 + i));
		CHECK(flow_table_lookup(ft, &k) == NULL);
		f = flow_table_insert(ft, &k, (i % 3) ? FLOW_LIST_OTHER : FLOW_LIST_TCP_EST,
				      (uint64_t)(i + 1) * 1000);
		CHECK(flow_table_index(ft, f) < CAP);
		if (i >= CAP) {
			/* the oldest live one went */
			evicted++;
		}
		live[i] = 1;
		/* end every seventh flow by hand */
		if (i % 7 == 3) {
			flow_table_end(ft, f, FLOW_END_EOF);
			live[i] = 0;
			ended++;
		}
		if (i % 500 == 499) {
			int nlive = 0;
			flow_table_get_stats(ft, &st);
			for (int j = 0; j <= i; j++) {
				struct flow *g;
				key_for(&k, (uint16_t)(10000 + j));
				g = flow_table_lookup(ft, &k);
				if (g) {
					nlive++;
					CHECK_EQ_U(g->key.port_a, 10000 + j);
					CHECK_EQ_U(g->first_ns, (uint64_t)(j + 1) * 1000);
				}
				if (!live[j])
					CHECK(g == NULL);
			}
			CHECK_EQ_U(nlive, st.active);
			CHECK(st.active <= CAP);
		}
	}
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.created, N);
	CHECK_EQ_U(st.ended, st.evicted + ended);
	CHECK_EQ_U(st.active, st.created - st.ended);
	CHECK_EQ_U(st.max_active, CAP);
	CHECK(st.evicted > 0 && st.evicted <= evicted);
	/* the live set is exactly the newest flows not ended by hand */
	{
		int seen = 0;
		for (int j = N - 1; j >= 0 && seen < (int)st.active; j--) {
			key_for(&k, (uint16_t)(10000 + j));
			if (j % 7 == 3) {
				CHECK(flow_table_lookup(ft, &k) == NULL);
				continue;
			}
			CHECK(flow_table_lookup(ft, &k) != NULL);
			seen++;
		}
		CHECK_EQ_U(seen, st.active);
	}
	flow_table_flush(ft, FLOW_END_EOF);
	flow_table_get_stats(ft, &st);
	CHECK_EQ_U(st.active, 0);
	flow_table_free(ft);
}

int main(void)
{
	RUN(test_flow_table__config_default);
	RUN(test_flow_table__new_rejects_bad_config);
	RUN(test_flow_table__end_reason_names);
	RUN(test_flow_table__key_canonical);
	RUN(test_flow_table__key_fields_distinguish);
	RUN(test_flow_table__insert_lookup);
	RUN(test_flow_table__touch);
	RUN(test_flow_table__evict_least_recent);
	RUN(test_flow_table__expire_boundary);
	RUN(test_flow_table__expire_per_list);
	RUN(test_flow_table__expire_stops_at_live);
	RUN(test_flow_table__flush_oldest_first);
	RUN(test_flow_table__closed_ends_fin_or_rst);
	RUN(test_flow_table__slot_reuse);
	RUN(test_flow_table__many_inserts_consistent);
	return CHECK_DONE();
}
