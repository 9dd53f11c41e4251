/* SPDX-License-Identifier: MIT */
/* test-aggregator.c -- agg_packet() on hand-built packets: client side, counters, history, ends, interim updates, fragments. */
#include "aggregator.h"

#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define T0 (1700000000ull * SEC)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define SYN TCPF_SYN
#define SYNACK (TCPF_SYN | TCPF_ACK)
#define ACK TCPF_ACK
#define PA (TCPF_PSH | TCPF_ACK)
#define FA (TCPF_FIN | TCPF_ACK)
#define RA (TCPF_RST | TCPF_ACK)

/* Every session record, copied out of the callback. */
struct rec {
	bool is_update;
	enum flow_end_reason why;
	uint64_t ts_ns;
	struct flow f;
};

struct sink {
	size_t n;
	struct rec r[64];
};

static void collect(const struct session *s, void *arg)
{
	struct sink *k = arg;
	if (k->n < ARRAY_LEN(k->r)) {
		k->r[k->n].is_update = s->is_update;
		k->r[k->n].why = s->end_reason;
		k->r[k->n].ts_ns = s->ts_ns;
		k->r[k->n].f = *s->flow;
	}
	k->n++;
}

/* Only the end records (no interim updates), in order. */
static size_t ends(const struct sink *k, const struct rec **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < k->n && i < ARRAY_LEN(k->r); i++)
		if (!k->r[i].is_update && n < max)
			out[n++] = &k->r[i];
	return n;
}

static struct aggregator *agg(struct sink *k, uint32_t interim_s)
{
	struct agg_config cfg;
	struct aggregator *a;

	agg_config_default(&cfg);
	cfg.identify = false; /* no app layer: flows and counters only */
	cfg.interim_s = interim_s;
	cfg.flow.max_flows = 64;
	cfg.seed = 1;
	memset(k, 0, sizeof(*k));
	a = agg_new(&cfg, collect, k);
	if (!a)
		abort();
	return a;
}

/* One conversation: endpoints, protocol, and a clock in ms from T0. */
struct conv {
	uint8_t cli[4], srv[4];
	uint16_t cport, sport;
	uint8_t proto;
	uint16_t vlan;
};

/* 10.0.0.1:50000 -> 192.0.2.10:443 (client has the lower address) */
static const struct conv c_low = { { 10, 0, 0, 1 }, { 192, 0, 2, 10 }, 50000, 443, IPPROTO_TCP, 0 };
/* 203.0.113.5:50001 -> 192.0.2.10:993 (client has the higher address) */
static const struct conv c_high = { { 203, 0, 113, 5 }, { 192, 0, 2, 10 }, 50001, 993, IPPROTO_TCP, 0 };
/* 10.0.0.1:40000 -> 192.0.2.53:53 UDP */
static const struct conv c_udp = { { 10, 0, 0, 1 }, { 192, 0, 2, 53 }, 40000, 53, IPPROTO_UDP, 0 };

/* A packet of conversation c; to_server picks the direction. */
static struct packet pkt(const struct conv *c, uint64_t t_ms, bool to_server, uint8_t tcp_flags,
			 uint32_t seq, uint32_t payload)
{
	struct packet p;
	uint32_t hdr = c->proto == IPPROTO_TCP ? 20 + 20 : 20 + 8;

	memset(&p, 0, sizeof(p));
	p.ts_ns = T0 + t_ms * MS;
	p.l3 = NET_ADDR_V4;
	p.l4proto = c->proto;
	p.flags = PKT_L4;
	p.tcp_flags = c->proto == IPPROTO_TCP ? tcp_flags : 0;
	p.seq = seq;
	net_addr_set_v4(&p.src, to_server ? c->cli : c->srv);
	net_addr_set_v4(&p.dst, to_server ? c->srv : c->cli);
	p.sport = to_server ? c->cport : c->sport;
	p.dport = to_server ? c->sport : c->cport;
	p.vlan[0] = c->vlan;
	p.vlan_count = c->vlan ? 1 : 0;
	p.ip_len = hdr + payload;
	p.wire_len = 14 + p.ip_len;
	p.cap_len = p.wire_len;
	p.payload_len = payload;
	return p;
}

static void feed(struct aggregator *a, struct packet p) { agg_packet(a, &p); }

/* A non-IP frame at t_ms: only moves the clock (and so expiry). */
static void tick(struct aggregator *a, uint64_t t_ms)
{
	struct packet p;
	memset(&p, 0, sizeof(p));
	p.ts_ns = T0 + t_ms * MS;
	p.wire_len = p.cap_len = 60;
	agg_packet(a, &p);
}

/* Client SYN seq 100, server SYN-ACK seq 5000, client ACK; then one data
 * segment each way with an ACK from the server, then FIN/FIN/ACK. */
static void full_conversation(struct aggregator *a, const struct conv *c)
{
	feed(a, pkt(c, 0, true, SYN, 100, 0));
	feed(a, pkt(c, 10, false, SYNACK, 5000, 0));
	feed(a, pkt(c, 20, true, ACK, 101, 0));
	feed(a, pkt(c, 30, true, PA, 101, 100));   /* client data */
	feed(a, pkt(c, 40, false, ACK, 5001, 0));  /* server pure ACK */
	feed(a, pkt(c, 50, false, PA, 5001, 300)); /* server data */
	feed(a, pkt(c, 60, true, ACK, 201, 0));
	feed(a, pkt(c, 70, true, FA, 201, 0));
	feed(a, pkt(c, 80, false, FA, 5301, 0));
	feed(a, pkt(c, 90, true, ACK, 202, 0));
}

static void check_conversation_record(const struct rec *r)
{
	/* client: SYN, ACK, data, ACK, FIN, ACK = 6 packets, 100 payload */
	CHECK_EQ_U(r->f.dir[FLOW_TOSERVER].pkts, 6);
	CHECK_EQ_U(r->f.dir[FLOW_TOSERVER].payload_bytes, 100);
	CHECK_EQ_U(r->f.dir[FLOW_TOSERVER].bytes, 6 * 54 + 100);
	/* server: SYN-ACK, ACK, data, FIN = 4 packets, 300 payload */
	CHECK_EQ_U(r->f.dir[FLOW_TOCLIENT].pkts, 4);
	CHECK_EQ_U(r->f.dir[FLOW_TOCLIENT].payload_bytes, 300);
	CHECK_EQ_U(r->f.dir[FLOW_TOCLIENT].bytes, 4 * 54 + 300);
	CHECK_EQ_U(r->f.dir[FLOW_TOSERVER].tcp_flags, SYN | ACK | TCPF_PSH | TCPF_FIN);
	CHECK_EQ_U(r->f.dir[FLOW_TOCLIENT].tcp_flags, SYN | ACK | TCPF_PSH | TCPF_FIN);
	CHECK(r->f.dir[FLOW_TOSERVER].fin && r->f.dir[FLOW_TOCLIENT].fin);
	CHECK_STREQ(r->f.history, "ShADadFf");
	CHECK_EQ_U(r->f.first_ns, T0);
	CHECK_EQ_U(r->f.last_ns, T0 + 90 * MS);
}

static void test_aggregator__handshake_history_and_fin(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct agg_stats st;
	struct flow_table_stats fst;

	full_conversation(a, &c_low);
	CHECK_EQ_U(k.n, 0);
	tick(a, 90 + 5000);     /* idle exactly 5 s: still lingering */
	CHECK_EQ_U(k.n, 0);
	/* 5 s and 1 ns of silence after both FINs */
	{
		struct packet p;
		memset(&p, 0, sizeof(p));
		p.ts_ns = T0 + (90 + 5000) * MS + 1;
		agg_packet(a, &p);
	}
	CHECK_EQ_U(k.n, 1);
	CHECK(!k.r[0].is_update);
	CHECK_EQ_U(k.r[0].why, FLOW_END_FIN);
	CHECK_EQ_U(k.r[0].ts_ns, T0 + 90 * MS); /* the record carries the last packet time */
	CHECK_EQ_U(k.r[0].f.list, FLOW_LIST_TCP_CLOSED);
	CHECK_EQ_U(k.r[0].f.client_is_a, 1);
	CHECK_EQ_U(k.r[0].f.id, 1);
	check_conversation_record(&k.r[0]);

	agg_get_stats(a, &st, &fst);
	CHECK_EQ_U(st.packets, 12);
	CHECK_EQ_U(st.ip_packets, 10);
	CHECK_EQ_U(st.flow_packets, 10);
	CHECK_EQ_U(st.sessions, 1);
	CHECK_EQ_U(st.updates, 0);
	CHECK_EQ_U(st.no_ports, 0);
	CHECK_EQ_U(fst.created, 1);
	CHECK_EQ_U(fst.active, 0);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	agg_free(a);
}

/* Same conversation with the client on the higher address (key swapped). */
static void test_aggregator__client_on_higher_address(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	full_conversation(a, &c_high);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_FIN); /* closed flows keep their reason at eof */
	CHECK_EQ_U(k.r[0].f.client_is_a, 0);
	CHECK_EQ_U(k.r[0].f.key.port_b, 50001);
	check_conversation_record(&k.r[0]);
	agg_free(a);
}

static void test_aggregator__synack_first_sender_is_server(void)
{
	static const struct conv *convs[] = { &c_low, &c_high };

	for (size_t i = 0; i < ARRAY_LEN(convs); i++) {
		struct sink k;
		struct aggregator *a = agg(&k, 0);

		/* the SYN was missed: the SYN-ACK comes first */
		feed(a, pkt(convs[i], 0, false, SYNACK, 5000, 0));
		feed(a, pkt(convs[i], 10, true, ACK, 101, 0));
		feed(a, pkt(convs[i], 20, true, PA, 101, 10));
		agg_finish(a);
		CHECK_EQ_U(k.n, 1);
		CHECK_EQ_U(k.r[0].why, FLOW_END_EOF);
		CHECK_EQ_U(k.r[0].f.dir[FLOW_TOCLIENT].pkts, 1);
		CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 2);
		CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].payload_bytes, 10);
		CHECK_STREQ(k.r[0].f.history, "hAD");
		agg_free(a);
	}
}

static void test_aggregator__syn_sender_is_client_whatever_the_ports(void)
{
	/* a SYN from port 443 to port 50000: the SYN decides, not the ports */
	static const struct conv odd = { { 192, 0, 2, 10 }, { 10, 0, 0, 1 }, 443, 50000, IPPROTO_TCP, 0 };
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	feed(a, pkt(&odd, 0, true, SYN, 1, 0));
	feed(a, pkt(&odd, 1, false, SYNACK, 1, 0));
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 1);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].tcp_flags, SYN);
	CHECK_STREQ(k.r[0].f.history, "Sh");
	agg_free(a);
}

/* Without a handshake: the side on a server port is the server. */
struct midstream_case {
	const char *name;
	const struct conv *c;
	bool first_to_server; /* direction of the first packet seen */
	bool want_first_toserver;
};

/* both ports ephemeral: the first sender is the client */
static const struct conv c_p2p = { { 10, 0, 0, 9 }, { 10, 0, 0, 8 }, 40001, 40002, IPPROTO_TCP, 0 };
/* both ports are server ports: the first sender is the client */
static const struct conv c_both = { { 10, 0, 0, 9 }, { 10, 0, 0, 8 }, 8080, 443, IPPROTO_TCP, 0 };

static const struct midstream_case midstream[] = {
	{ "443 server, client speaks first", &c_low, true, true },
	{ "443 server, server speaks first", &c_low, false, false },
	{ "993 server, server speaks first (swapped key)", &c_high, false, false },
	{ "UDP 53 server, response first", &c_udp, false, false },
	{ "UDP 53 server, query first", &c_udp, true, true },
	{ "ephemeral both, first sender is client", &c_p2p, false, true },
	{ "server ports both, first sender is client", &c_both, false, true },
};

static void test_aggregator__midstream_server_port(void)
{
	for (size_t i = 0; i < ARRAY_LEN(midstream); i++) {
		const struct midstream_case *t = &midstream[i];
		struct sink k;
		struct aggregator *a = agg(&k, 0);
		int failed_before = check_failed_now;
		int first = t->want_first_toserver ? FLOW_TOSERVER : FLOW_TOCLIENT;

		check_failed_now = 0;
		feed(a, pkt(t->c, 0, t->first_to_server, PA, 1000, 50));   /* 50 bytes one way */
		feed(a, pkt(t->c, 5, !t->first_to_server, PA, 9000, 70));  /* 70 back */
		feed(a, pkt(t->c, 6, !t->first_to_server, PA, 9070, 70));
		agg_finish(a);
		CHECK_EQ_U(k.n, 1);
		CHECK_EQ_U(k.r[0].f.dir[first].pkts, 1);
		CHECK_EQ_U(k.r[0].f.dir[first].payload_bytes, 50);
		CHECK_EQ_U(k.r[0].f.dir[1 - first].pkts, 2);
		CHECK_EQ_U(k.r[0].f.dir[1 - first].payload_bytes, 140);
		CHECK_STREQ(k.r[0].f.history, first == FLOW_TOSERVER ? "Dd" : "dD");
		if (check_failed_now)
			fprintf(stderr, "  ^ midstream case \"%s\"\n", t->name);
		check_failed_now |= failed_before;
		agg_free(a);
	}
}

static void test_aggregator__rst_ends_as_rst(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	feed(a, pkt(&c_low, 0, true, SYN, 100, 0));
	feed(a, pkt(&c_low, 10, false, SYNACK, 5000, 0));
	feed(a, pkt(&c_low, 20, true, ACK, 101, 0));
	feed(a, pkt(&c_low, 30, false, RA, 5001, 0));
	tick(a, 30 + 5000);
	CHECK_EQ_U(k.n, 0);
	tick(a, 30 + 5001);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_RST);
	CHECK_STREQ(flow_end_reason_name(k.r[0].why), "rst");
	CHECK_STREQ(k.r[0].f.history, "ShAr");
	CHECK(k.r[0].f.dir[FLOW_TOCLIENT].rst);
	agg_free(a);
}

static void test_aggregator__rst_flushed_at_eof_is_rst(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	feed(a, pkt(&c_low, 0, true, SYN, 100, 0));
	feed(a, pkt(&c_low, 10, true, TCPF_RST, 101, 0)); /* client aborts */
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_RST);
	CHECK_STREQ(k.r[0].f.history, "SR");
	agg_free(a);
}

static void test_aggregator__one_fin_is_not_closed(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	feed(a, pkt(&c_low, 0, true, SYN, 100, 0));
	feed(a, pkt(&c_low, 10, false, SYNACK, 5000, 0));
	feed(a, pkt(&c_low, 20, true, FA, 101, 0)); /* half close */
	tick(a, 20 + 6000);
	CHECK_EQ_U(k.n, 0); /* established, not closed: no 5 s linger */
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_EOF);
	CHECK_EQ_U(k.r[0].f.list, FLOW_LIST_TCP_EST);
	agg_free(a);
}

static void test_aggregator__syn_on_closed_tuple_reuses(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct agg_stats st;

	full_conversation(a, &c_low);
	/* 1 s later, inside the 5 s linger: a new SYN on the same 5-tuple */
	feed(a, pkt(&c_low, 1090, true, SYN, 77777, 0));
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_REUSED);
	CHECK_STREQ(flow_end_reason_name(k.r[0].why), "reused");
	CHECK_EQ_U(k.r[0].f.id, 1);
	check_conversation_record(&k.r[0]);
	feed(a, pkt(&c_low, 1100, false, SYNACK, 1, 0));
	agg_finish(a);
	CHECK_EQ_U(k.n, 2);
	CHECK_EQ_U(k.r[1].why, FLOW_END_EOF);
	CHECK_EQ_U(k.r[1].f.id, 2);
	CHECK_EQ_U(k.r[1].f.first_ns, T0 + 1090 * MS);
	CHECK_EQ_U(k.r[1].f.dir[FLOW_TOSERVER].pkts, 1);
	CHECK_EQ_U(k.r[1].f.dir[FLOW_TOCLIENT].pkts, 1);
	CHECK_STREQ(k.r[1].f.history, "Sh");
	agg_get_stats(a, &st, NULL);
	CHECK_EQ_U(st.sessions, 2);
	agg_free(a);
}

static void test_aggregator__late_ack_on_closed_is_same_flow(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	full_conversation(a, &c_low);
	/* a retransmitted FIN-ACK (not a SYN) stays in the old flow */
	feed(a, pkt(&c_low, 500, false, FA, 5301, 0));
	CHECK_EQ_U(k.n, 0);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_FIN);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOCLIENT].pkts, 5);
	agg_free(a);
}

static void test_aggregator__udp_timeout(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct flow_table_stats fst;

	feed(a, pkt(&c_udp, 0, true, 0, 0, 30));
	feed(a, pkt(&c_udp, 1, false, 0, 0, 90));
	feed(a, pkt(&c_udp, 60001, true, 0, 0, 30)); /* idle exactly 60 s: same flow */
	CHECK_EQ_U(k.n, 0);
	tick(a, 120001);                             /* idle exactly 60 s again */
	CHECK_EQ_U(k.n, 0);
	feed(a, pkt(&c_udp, 120002, true, 0, 0, 30)); /* 60.001 s: the old flow ends first */
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_TIMEOUT);
	CHECK_EQ_U(k.r[0].ts_ns, T0 + 60001 * MS);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 2);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOCLIENT].pkts, 1);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].payload_bytes, 60);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOCLIENT].payload_bytes, 90);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].bytes, 2 * (14 + 28 + 30));
	CHECK_STREQ(k.r[0].f.history, "Dd");
	CHECK_EQ_U(k.r[0].f.list, FLOW_LIST_OTHER);
	agg_finish(a);
	CHECK_EQ_U(k.n, 2);
	CHECK_EQ_U(k.r[1].why, FLOW_END_EOF);
	CHECK_EQ_U(k.r[1].f.id, 2);
	CHECK_EQ_U(k.r[1].f.dir[FLOW_TOSERVER].pkts, 1);
	agg_get_stats(a, NULL, &fst);
	CHECK_EQ_U(fst.timed_out, 1);
	agg_free(a);
}

/* One packet every 10 s for 5 minutes with interim 60 s. */
static void test_aggregator__interim_updates(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 60);
	struct agg_stats st;
	size_t updates = 0;

	feed(a, pkt(&c_low, 0, true, SYN, 100, 0));
	for (uint64_t s = 10; s <= 300; s += 10)
		feed(a, pkt(&c_low, s * 1000, (s / 10) % 2 == 0, PA, 101 + (uint32_t)s, 10));
	/* 31 packets at 0, 10, ..., 300 s: updates at 60, 120, 180, 240, 300 s */
	for (size_t i = 0; i < k.n; i++) {
		const struct rec *r = &k.r[i];
		uint64_t want_ts = T0 + (updates + 1) * 60 * SEC;
		uint64_t pkts = r->f.dir[0].pkts + r->f.dir[1].pkts;

		CHECK(r->is_update);
		CHECK_EQ_U(r->ts_ns, want_ts);
		CHECK_EQ_U(pkts, (updates + 1) * 6 + 1); /* cumulative */
		CHECK_EQ_U(r->f.interim_count, updates + 1);
		CHECK_EQ_U(r->f.last_update_ns, want_ts);
		CHECK_EQ_U(r->f.id, 1);
		updates++;
	}
	CHECK_EQ_U(updates, 5);
	agg_finish(a);
	CHECK_EQ_U(k.n, 6);
	CHECK(!k.r[5].is_update);
	CHECK_EQ_U(k.r[5].why, FLOW_END_EOF);
	CHECK_EQ_U(k.r[5].f.dir[0].pkts + k.r[5].f.dir[1].pkts, 31);
	CHECK_EQ_U(k.r[5].f.dir[0].payload_bytes + k.r[5].f.dir[1].payload_bytes, 300);
	CHECK_EQ_U(k.r[5].f.interim_count, 5);
	agg_get_stats(a, &st, NULL);
	CHECK_EQ_U(st.updates, 5);
	CHECK_EQ_U(st.sessions, 1);
	agg_free(a);
}

static void test_aggregator__interim_off(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	for (uint64_t s = 0; s <= 300; s += 10)
		feed(a, pkt(&c_udp, s * 1000, true, 0, 0, 10));
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK(!k.r[0].is_update);
	agg_free(a);
}

/* A UDP datagram in two IPv4 fragments, id 0x77. */
static struct packet frag(const struct conv *c, uint64_t t_ms, uint32_t id, bool head,
			  uint32_t payload)
{
	struct packet p = pkt(c, t_ms, true, 0, 0, payload);
	p.frag_id = id;
	if (head) {
		p.flags = PKT_L4 | PKT_FRAG | PKT_FRAG_HEAD | PKT_FRAG_MORE;
	} else {
		p.flags = PKT_FRAG; /* the last one: no MF */
		p.frag_off = 1480;
		p.sport = p.dport = 0;
		p.ip_len = 20 + payload;
		p.wire_len = 14 + p.ip_len;
	}
	return p;
}

static void test_aggregator__fragments_attributed(void)
{
	static const struct conv other = { { 10, 0, 0, 2 }, { 192, 0, 2, 53 }, 40000, 53, IPPROTO_UDP, 0 };
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct agg_stats st;
	struct flow_table_stats fst;
	const struct rec *e[4];

	feed(a, frag(&c_udp, 0, 0x77, true, 1472));  /* first: UDP header + 1472 */
	feed(a, frag(&c_udp, 1, 0x77, false, 528));  /* later: 528 bytes, no ports */
	feed(a, frag(&c_udp, 2, 0x78, false, 100));  /* orphan: id never seen */
	feed(a, frag(&other, 3, 0x77, false, 100));  /* orphan: same id, other source */
	agg_get_stats(a, &st, &fst);
	CHECK_EQ_U(st.frag_orphans, 2);
	CHECK_EQ_U(st.no_ports, 2);
	CHECK_EQ_U(st.flow_packets, 2);
	CHECK_EQ_U(fst.created, 1);
	agg_finish(a);
	CHECK_EQ_U(ends(&k, e, 4), 1);
	CHECK_EQ_U(e[0]->f.dir[FLOW_TOSERVER].pkts, 2);
	CHECK_EQ_U(e[0]->f.dir[FLOW_TOSERVER].payload_bytes, 1472 + 528);
	CHECK_EQ_U(e[0]->f.dir[FLOW_TOSERVER].bytes, (14 + 28 + 1472) + (14 + 20 + 528));
	CHECK_EQ_U(e[0]->f.key.port_b, 53);
	agg_free(a);
}

static void test_aggregator__tcp_later_fragment_counts_without_state(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct packet p;

	p = pkt(&c_low, 0, true, PA, 1, 100);
	p.flags |= PKT_FRAG | PKT_FRAG_HEAD | PKT_FRAG_MORE;
	p.frag_id = 9;
	feed(a, p);
	p = pkt(&c_low, 1, true, 0, 0, 400);
	p.flags = PKT_FRAG;
	p.sport = p.dport = 0;
	p.frag_id = 9;
	feed(a, p);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 2);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].payload_bytes, 500);
	CHECK_STREQ(k.r[0].f.history, "D");
	agg_free(a);
}

static void test_aggregator__finish_ends_with_eof(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	const struct rec *e[4];

	feed(a, pkt(&c_udp, 0, true, 0, 0, 10));
	feed(a, pkt(&c_low, 1, true, SYN, 1, 0));
	feed(a, pkt(&c_high, 2, true, SYN, 1, 0));
	feed(a, pkt(&c_high, 3, false, SYNACK, 1, 0));
	feed(a, pkt(&c_high, 4, true, PA, 2, 10));
	CHECK_EQ_U(k.n, 0);
	agg_finish(a);
	CHECK_EQ_U(ends(&k, e, 4), 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_U(e[i]->why, FLOW_END_EOF);
	/* oldest activity first */
	CHECK_EQ_U(e[0]->f.key.proto, IPPROTO_UDP);
	CHECK_EQ_U(e[1]->f.list, FLOW_LIST_TCP_NEW);
	CHECK_EQ_U(e[2]->f.list, FLOW_LIST_TCP_EST);
	agg_finish(a); /* nothing left */
	CHECK_EQ_U(k.n, 3);
	agg_free(a);
}

static void test_aggregator__no_ports_and_non_ip(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct agg_stats st;
	struct packet p;

	tick(a, 0);                                  /* ARP */
	p = pkt(&c_low, 1, true, 0, 0, 56);          /* ICMP echo */
	p.l4proto = IPPROTO_ICMP;
	p.flags = 0;
	p.sport = p.dport = 0;
	p.icmp_type = 8;
	feed(a, p);
	p = pkt(&c_low, 2, true, 0, 0, 0);           /* TCP header cut before the ports */
	p.flags = PKT_L4_TRUNC;
	p.sport = p.dport = 0;
	feed(a, p);
	p = pkt(&c_low, 3, true, 0, 0, 0);           /* TCP, ports only (L4_TRUNC) */
	p.flags = PKT_L4_TRUNC;
	feed(a, p);
	agg_get_stats(a, &st, NULL);
	CHECK_EQ_U(st.packets, 4);
	CHECK_EQ_U(st.ip_packets, 3);
	CHECK_EQ_U(st.no_ports, 2);
	CHECK_EQ_U(st.flow_packets, 1);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 1);
	CHECK_STREQ(k.r[0].f.history, ""); /* no flags known: no letters */
	agg_free(a);
}

static void test_aggregator__retransmission_letter(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);

	feed(a, pkt(&c_low, 0, true, SYN, 100, 0));
	feed(a, pkt(&c_low, 1, false, SYNACK, 5000, 0));
	feed(a, pkt(&c_low, 2, true, PA, 101, 100));
	feed(a, pkt(&c_low, 3, true, PA, 101, 100)); /* same bytes again */
	feed(a, pkt(&c_low, 4, true, PA, 201, 100)); /* new data: D already there */
	feed(a, pkt(&c_low, 5, true, PA, 101, 100)); /* T once only */
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_STREQ(k.r[0].f.history, "ShDT");
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].payload_bytes, 400);
	agg_free(a);
}

static void test_aggregator__vlan_separates_flows(void)
{
	struct conv v1 = c_udp, v2 = c_udp;
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct flow_table_stats fst;

	v1.vlan = 10;
	v2.vlan = 20;
	feed(a, pkt(&v1, 0, true, 0, 0, 10));
	feed(a, pkt(&v2, 1, true, 0, 0, 10));
	feed(a, pkt(&v1, 2, false, 0, 0, 10));
	agg_get_stats(a, NULL, &fst);
	CHECK_EQ_U(fst.created, 2);
	agg_finish(a);
	CHECK_EQ_U(k.n, 2);
	/* oldest activity first: VLAN 20 (1 ms), then VLAN 10 (2 ms) */
	CHECK_EQ_U(k.r[0].f.key.vlan[0], 20);
	CHECK_EQ_U(k.r[0].f.dir[0].pkts + k.r[0].f.dir[1].pkts, 1);
	CHECK_EQ_U(k.r[1].f.key.vlan[0], 10);
	CHECK_EQ_U(k.r[1].f.dir[FLOW_TOSERVER].pkts, 1);
	CHECK_EQ_U(k.r[1].f.dir[FLOW_TOCLIENT].pkts, 1);
	agg_free(a);
}

static void test_aggregator__time_regression(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, 0);
	struct agg_stats st;

	feed(a, pkt(&c_udp, 1000, true, 0, 0, 10));
	feed(a, pkt(&c_udp, 500, false, 0, 0, 10)); /* older than the clock */
	agg_get_stats(a, &st, NULL);
	CHECK_EQ_U(st.time_regressions, 1);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].f.first_ns, T0 + 500 * MS);
	CHECK_EQ_U(k.r[0].f.last_ns, T0 + 1000 * MS);
	agg_free(a);
}

static void test_aggregator__eviction_reported(void)
{
	struct agg_config cfg;
	struct sink k;
	struct aggregator *a;
	struct conv c = c_udp;

	agg_config_default(&cfg);
	cfg.identify = false;
	cfg.flow.max_flows = 2;
	memset(&k, 0, sizeof(k));
	a = agg_new(&cfg, collect, &k);
	CHECK(a != NULL);
	if (!a)
		return;
	for (uint16_t i = 0; i < 3; i++) {
		c.cport = (uint16_t)(41000 + i);
		feed(a, pkt(&c, i, true, 0, 0, 10));
	}
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_EVICTED);
	CHECK_EQ_U(k.r[0].f.key.port_a == 41000 || k.r[0].f.key.port_b == 41000, 1);
	agg_finish(a);
	CHECK_EQ_U(k.n, 3);
	agg_free(a);
}

static void test_aggregator__with_app_layer(void)
{
	struct agg_config cfg;
	struct sink k;
	struct aggregator *a;

	/* the default configuration (app layer on, no catalog) must run too */
	agg_config_default(&cfg);
	cfg.flow.max_flows = 64;
	memset(&k, 0, sizeof(k));
	a = agg_new(&cfg, collect, &k);
	CHECK(a != NULL);
	if (!a)
		return;
	full_conversation(a, &c_low);
	feed(a, pkt(&c_udp, 100, true, 0, 0, 30));
	agg_finish(a);
	CHECK_EQ_U(k.n, 2);
	CHECK_STREQ(k.r[0].f.history, "ShADadFf");
	agg_free(a);
}

int main(void)
{
	RUN(test_aggregator__handshake_history_and_fin);
	RUN(test_aggregator__client_on_higher_address);
	RUN(test_aggregator__synack_first_sender_is_server);
	RUN(test_aggregator__syn_sender_is_client_whatever_the_ports);
	RUN(test_aggregator__midstream_server_port);
	RUN(test_aggregator__rst_ends_as_rst);
	RUN(test_aggregator__rst_flushed_at_eof_is_rst);
	RUN(test_aggregator__one_fin_is_not_closed);
	RUN(test_aggregator__syn_on_closed_tuple_reuses);
	RUN(test_aggregator__late_ack_on_closed_is_same_flow);
	RUN(test_aggregator__udp_timeout);
	RUN(test_aggregator__interim_updates);
	RUN(test_aggregator__interim_off);
	RUN(test_aggregator__fragments_attributed);
	RUN(test_aggregator__tcp_later_fragment_counts_without_state);
	RUN(test_aggregator__finish_ends_with_eof);
	RUN(test_aggregator__no_ports_and_non_ip);
	RUN(test_aggregator__retransmission_letter);
	RUN(test_aggregator__vlan_separates_flows);
	RUN(test_aggregator__time_regression);
	RUN(test_aggregator__eviction_reported);
	RUN(test_aggregator__with_app_layer);
	return CHECK_DONE();
}
