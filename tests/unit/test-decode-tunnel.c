/* SPDX-License-Identifier: MIT */
/* test-decode-tunnel.c -- decode_packet(): every tunnel type opened to the same inner
 * TCP segment, lengths and tunnel fields, truncated and garbage tunnel headers (the outer
 * packet stays), nesting to the bound and one past it, and the decap switches. */
#include "decode.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Frames are built back to front: the inner segment first, then each
 * encapsulation is prepended (test code writes bytes; parsers never do). */
struct frame {
	uint8_t buf[2048];
	size_t off; /* data is buf[off .. sizeof(buf)) */
};

static uint8_t *fr_data(struct frame *f) { return f->buf + f->off; }
static size_t fr_len(const struct frame *f) { return sizeof(f->buf) - f->off; }

static uint8_t *push(struct frame *f, size_t n)
{
	if (n > f->off)
		abort();
	f->off -= n;
	memset(f->buf + f->off, 0, n);
	return f->buf + f->off;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static const uint8_t in_src[4] = { 10, 0, 0, 1 }, in_dst[4] = { 10, 0, 0, 2 };
static const uint8_t out_src[4] = { 192, 0, 2, 1 }, out_dst[4] = { 198, 51, 100, 2 };
static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void push_eth(struct frame *f, uint16_t type)
{
	uint8_t *p = push(f, 14);
	memset(p, 0x11, 12);
	put16(p + 12, type);
}

static void push_ipv4(struct frame *f, const uint8_t src[4], const uint8_t dst[4], uint8_t proto)
{
	size_t len = fr_len(f) + 20;
	uint8_t *p = push(f, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)len);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
}

static void push_ipv6(struct frame *f, uint8_t next)
{
	size_t plen = fr_len(f);
	uint8_t *p = push(f, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)plen);
	p[6] = next;
	p[7] = 64;
	memcpy(p + 8, v6_src, 16);
	memcpy(p + 24, v6_dst, 16);
}

static void push_udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	size_t len = fr_len(f) + 8;
	uint8_t *p = push(f, 8);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)len);
}

/* The inner packet every test opens to: IPv4 10.0.0.1:40000 -> 10.0.0.2:443,
 * TCP PSH|ACK with 4 payload bytes (44 bytes of IP). */
static void push_inner_ip(struct frame *f)
{
	uint8_t *p = push(f, 4);
	memcpy(p, "mail", 4);
	p = push(f, 20);
	put16(p, 40000);
	put16(p + 2, 443);
	p[12] = 0x50;
	p[13] = 0x18;
	push_ipv4(f, in_src, in_dst, IPPROTO_TCP);
}

static void start(struct frame *f, bool inner_eth)
{
	f->off = sizeof(f->buf);
	push_inner_ip(f);
	if (inner_eth)
		push_eth(f, 0x0800);
}

/* Outer Ethernet + IPv4 + UDP to @dport around what is there. */
static void wrap_udp4(struct frame *f, uint16_t dport)
{
	push_udp(f, 51000, dport);
	push_ipv4(f, out_src, out_dst, IPPROTO_UDP);
	push_eth(f, 0x0800);
}

static void push_vxlan(struct frame *f, uint32_t vni)
{
	uint8_t *p = push(f, 8);
	p[0] = 0x08;
	put32(p + 4, vni << 8);
}

static void push_gre(struct frame *f, uint16_t flags, uint16_t proto, uint32_t key)
{
	size_t n = 4 + ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) + ((flags & 0x1000) ? 4 : 0);
	uint8_t *p = push(f, n), *q = p + 4;
	put16(p, flags);
	put16(p + 2, proto);
	if (flags & 0x8000)
		q += 4;
	if (flags & 0x2000) {
		put32(q, key);
		q += 4;
	}
	if (flags & 0x1000)
		put32(q, 7);
}

static enum decode_result run(const struct frame *f, size_t caplen, struct packet *pkt,
			      struct decode_stats *st, const struct decode_config *cfg)
{
	memset(st, 0, sizeof(*st));
	return decode_packet_cfg(pkt, cfg, DECODE_DLT_EN10MB, f->buf + f->off, caplen, fr_len(f),
				 1000000000ull, st);
}

/* The packet is the inner segment, through @type with @id (has_id) at @depth. */
static void check_inner(const struct packet *pkt, int type, int has_id, uint32_t id,
			unsigned depth, size_t inner_len, size_t frame_len)
{
	struct net_addr s, d;
	net_addr_set_v4(&s, in_src);
	net_addr_set_v4(&d, in_dst);
	CHECK_EQ_U(pkt->l3, NET_ADDR_V4);
	CHECK_EQ_U(pkt->l4proto, IPPROTO_TCP);
	CHECK(!net_addr_cmp(&pkt->src, &s));
	CHECK(!net_addr_cmp(&pkt->dst, &d));
	CHECK_EQ_U(pkt->sport, 40000);
	CHECK_EQ_U(pkt->dport, 443);
	CHECK_EQ_U(pkt->payload_len, 4);
	CHECK_EQ_U(pkt->ip_len, 44);
	CHECK_EQ_U(pkt->tunnel.type, type);
	CHECK_EQ_U(pkt->tunnel.has_id, has_id);
	CHECK_EQ_U(pkt->tunnel.id, id);
	CHECK_EQ_U(pkt->tunnel.depth, depth);
	CHECK_EQ_U(pkt->wire_len, inner_len);
	CHECK_EQ_U(pkt->tunnel.overhead, frame_len - inner_len);
}

struct encap_case {
	const char *name;
	void (*build)(struct frame *f);
	int type, has_id;
	uint32_t id;
	size_t inner_len;    /* 44 bytes of IP, + 14 when the inner is a frame */
};

static void b_vxlan(struct frame *f) { start(f, true); push_vxlan(f, 1111); wrap_udp4(f, 4789); }

static void b_geneve(struct frame *f)
{
	uint8_t *p;
	start(f, true);
	p = push(f, 16); /* 8 bytes of header, one 8-byte option (optlen 2) */
	p[0] = 2;
	put16(p + 2, 0x6558);
	put32(p + 4, 77u << 8);
	put16(p + 8, 0x0104); /* option class, type, length 1 word */
	p[11] = 1;
	wrap_udp4(f, 6081);
}

static void b_gre_ip(struct frame *f)
{
	start(f, false);
	push_gre(f, 0x8000 | 0x2000 | 0x1000, 0x0800, 42); /* checksum, key, sequence */
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_gre_teb(struct frame *f)
{
	start(f, true);
	push_gre(f, 0, 0x6558, 0);
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_pptp(struct frame *f)
{
	uint8_t *p;
	start(f, false);
	p = push(f, 4); /* PPP: address, control, protocol IPv4 */
	p[0] = 0xff;
	p[1] = 0x03;
	put16(p + 2, 0x0021);
	p = push(f, 12); /* GRE v1: K S, 0x880b, payload length, call id, seq */
	put16(p, 0x3001);
	put16(p + 2, 0x880b);
	put16(p + 4, 48);
	put16(p + 6, 6016);
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_erspan1(struct frame *f)
{
	start(f, true);
	push_gre(f, 0, 0x88be, 0); /* no sequence bit: type I, no ERSPAN header */
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_erspan2(struct frame *f)
{
	uint8_t *p;
	start(f, true);
	p = push(f, 8);
	put32(p, (1u << 28) | 100u << 16 | 321u); /* ver 1, vlan 100, session 321 */
	push_gre(f, 0x1000, 0x88be, 0);
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_erspan3(struct frame *f)
{
	uint8_t *p;
	start(f, true);
	p = push(f, 20); /* 12-byte header + 8-byte platform sub-header (o bit) */
	put32(p, (2u << 28) | 5u);
	put16(p + 10, 0x0001);
	push_gre(f, 0x1000, 0x22eb, 0);
	push_ipv4(f, out_src, out_dst, IPPROTO_GRE);
	push_eth(f, 0x0800);
}

static void b_4in4(struct frame *f)
{
	start(f, false);
	push_ipv4(f, out_src, out_dst, IPPROTO_IPIP);
	push_eth(f, 0x0800);
}

static void b_4in6(struct frame *f)
{
	start(f, false);
	push_ipv6(f, IPPROTO_IPIP);
	push_eth(f, 0x86dd);
}

static void b_vlan_mpls_in_vxlan(struct frame *f)
{
	uint8_t *p;
	start(f, false);
	p = push(f, 4);
	put32(p, (16u << 12) | 0x100 | 64); /* MPLS label 16, bottom of stack */
	p = push(f, 4);
	put16(p, 7);                        /* VLAN 7, then MPLS */
	put16(p + 2, 0x8847);
	push_eth(f, 0x8100);
	push_vxlan(f, 9);
	wrap_udp4(f, 4789);
}

static const struct encap_case cases[] = {
	{ "vxlan", b_vxlan, TUNNEL_VXLAN, 1, 1111, 58 },
	{ "geneve with an option", b_geneve, TUNNEL_GENEVE, 1, 77, 58 },
	{ "gre csum+key+seq -> ipv4", b_gre_ip, TUNNEL_GRE, 1, 42, 44 },
	{ "gre -> ethernet (0x6558)", b_gre_teb, TUNNEL_GRE, 0, 0, 58 },
	{ "pptp enhanced gre -> ppp -> ipv4", b_pptp, TUNNEL_GRE, 1, 6016, 48 },
	{ "erspan type I", b_erspan1, TUNNEL_ERSPAN, 0, 0, 58 },
	{ "erspan type II", b_erspan2, TUNNEL_ERSPAN, 1, 321, 58 },
	{ "erspan type III + platform sub-header", b_erspan3, TUNNEL_ERSPAN, 1, 5, 58 },
	{ "4in4", b_4in4, TUNNEL_IPIP, 0, 0, 44 },
	{ "4in6", b_4in6, TUNNEL_IPIP, 0, 0, 44 },
	{ "vlan + mpls in vxlan", b_vlan_mpls_in_vxlan, TUNNEL_VXLAN, 1, 9, 66 },
};

static void test_decode_tunnel__every_encapsulation(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f;
		struct packet pkt;
		struct decode_stats st;
		int before = check_failed_now;

		check_failed_now = 0;
		cases[i].build(&f);
		CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
		check_inner(&pkt, cases[i].type, cases[i].has_id, cases[i].id, 1,
			    cases[i].inner_len, fr_len(&f));
		CHECK_EQ_U(st.tunnel[cases[i].type], 1);
		CHECK_EQ_U(st.tunnel_bad + st.tunnel_depth_exceeded + st.truncated + st.invalid, 0);
		CHECK_EQ_U(pkt.wire_len + pkt.tunnel.overhead, fr_len(&f));
		if (check_failed_now)
			fprintf(stderr, "  ^ case \"%s\"\n", cases[i].name);
		check_failed_now |= before;
	}
}

static void test_decode_tunnel__vlan_and_mpls_accumulate(void)
{
	struct frame f;
	struct packet pkt;
	struct decode_stats st;

	b_vlan_mpls_in_vxlan(&f);
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.vlan_count, 1);
	CHECK_EQ_U(pkt.vlan[0], 7);
	CHECK_EQ_U(pkt.mpls_count, 1);
}

static void test_decode_tunnel__6in4_6in6_and_teredo(void)
{
	static const int outer_v6[] = { 0, 1, 2 };
	for (size_t i = 0; i < 3; i++) {
		struct frame f;
		struct packet pkt;
		struct decode_stats st;
		uint8_t *p;

		f.off = sizeof(f.buf);
		p = push(&f, 8); /* inner UDP 5353 -> 53 with no payload */
		put16(p, 5353);
		put16(p + 2, 53);
		put16(p + 4, 8);
		push_ipv6(&f, IPPROTO_UDP);
		if (outer_v6[i] == 0) {
			push_ipv4(&f, out_src, out_dst, IPPROTO_IPV6);
			push_eth(&f, 0x0800);
		} else if (outer_v6[i] == 1) {
			push_ipv6(&f, IPPROTO_IPV6);
			push_eth(&f, 0x86dd);
		} else {
			p = push(&f, 8); /* Teredo origin indication */
			wrap_udp4(&f, 3544);
		}
		CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
		CHECK_EQ_U(pkt.l3, NET_ADDR_V6);
		CHECK_EQ_U(pkt.sport, 5353);
		CHECK_EQ_U(pkt.dport, 53);
		CHECK_EQ_U(pkt.tunnel.type, i == 2 ? TUNNEL_TEREDO : TUNNEL_IPIP);
		CHECK_EQ_U(pkt.wire_len, 48);
	}
}

/* Cut at every length: never a read past the capture, and while the cut
 * falls inside the tunnel header the outer packet is what comes out. */
static void test_decode_tunnel__truncated_everywhere(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f;
		cases[i].build(&f);
		for (size_t cap = 0; cap <= fr_len(&f); cap++) {
			struct packet pkt;
			struct decode_stats st;
			uint8_t *copy = malloc(cap ? cap : 1);
			enum decode_result r;
			if (!copy)
				abort();
			memcpy(copy, fr_data(&f), cap);
			memset(&st, 0, sizeof(st));
			r = decode_packet(&pkt, DECODE_DLT_EN10MB, copy, cap, fr_len(&f), 1, &st);
			CHECK(r == DECODE_OK || r == DECODE_TRUNCATED);
			CHECK(pkt.payload_caplen <= cap);
			if (pkt.payload_caplen)
				CHECK(pkt.payload >= copy && pkt.payload + pkt.payload_caplen <= copy + cap);
			if (!pkt.tunnel.type)
				CHECK(pkt.wire_len == fr_len(&f));
			else
				CHECK_EQ_U(pkt.wire_len + pkt.tunnel.overhead, fr_len(&f));
			free(copy);
		}
	}
}

static void test_decode_tunnel__garbage_headers_keep_the_outer_packet(void)
{
	struct frame f;
	struct packet pkt;
	struct decode_stats st;

	b_vxlan(&f);
	fr_data(&f)[42] = 0x00; /* VXLAN flags without I */
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(pkt.l4proto, IPPROTO_UDP);
	CHECK_EQ_U(pkt.dport, 4789);
	CHECK_EQ_U(pkt.wire_len, fr_len(&f));
	CHECK_EQ_U(st.tunnel_bad, 1);

	b_geneve(&f);
	fr_data(&f)[42] |= 0x40; /* GENEVE version 1 */
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(st.tunnel_bad, 1);

	b_gre_ip(&f);
	fr_data(&f)[35] |= 0x02; /* GRE version 2 */
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(pkt.l4proto, IPPROTO_GRE);
	CHECK_EQ_U(st.tunnel_bad, 1);
	CHECK_EQ_U(st.other_l4, 1);

	b_erspan2(&f);
	fr_data(&f)[42] = 0x70; /* ERSPAN II with version 7 (after a GRE header with seq) */
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(st.tunnel_bad, 1);

	b_4in4(&f);
	fr_data(&f)[34] = 0x65; /* proto 4 but not an IPv4 header */
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(st.tunnel_bad, 1);
}

static void test_decode_tunnel__nesting_to_the_bound_and_one_past(void)
{
	for (unsigned n = DECODE_MAX_TUNNEL; n <= DECODE_MAX_TUNNEL + 1; n++) {
		struct frame f;
		struct packet pkt;
		struct decode_stats st;

		start(&f, true);
		for (unsigned i = 0; i < n; i++) {
			push_vxlan(&f, 100 + i);
			wrap_udp4(&f, 4789);
		}
		CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, NULL), DECODE_OK);
		CHECK_EQ_U(pkt.tunnel.depth, DECODE_MAX_TUNNEL);
		CHECK_EQ_U(st.tunnel[TUNNEL_VXLAN], DECODE_MAX_TUNNEL);
		if (n == DECODE_MAX_TUNNEL) {
			check_inner(&pkt, TUNNEL_VXLAN, 1, 100, n, 58, fr_len(&f));
			CHECK_EQ_U(st.tunnel_depth_exceeded, 0);
		} else {
			/* the fifth stays closed: reported as its UDP datagram */
			CHECK_EQ_U(st.tunnel_depth_exceeded, 1);
			CHECK_EQ_U(pkt.l4proto, IPPROTO_UDP);
			CHECK_EQ_U(pkt.dport, 4789);
			CHECK_EQ_U(pkt.tunnel.id, 101);
		}
	}
}

static void test_decode_tunnel__switches_and_extra_ports(void)
{
	struct decode_config cfg;
	struct frame f;
	struct packet pkt;
	struct decode_stats st;

	decode_config_default(&cfg);
	cfg.decap = false;
	b_vxlan(&f);
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, &cfg), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(pkt.dport, 4789);

	decode_config_default(&cfg);
	cfg.type_on[TUNNEL_ERSPAN] = false;
	b_erspan2(&f);
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, &cfg), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	CHECK_EQ_U(pkt.l4proto, IPPROTO_GRE);
	b_gre_ip(&f);
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, &cfg), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_GRE);

	decode_config_default(&cfg);
	start(&f, true);
	push_vxlan(&f, 5);
	wrap_udp4(&f, 8472);
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, &cfg), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_NONE);
	cfg.vxlan_ports[0] = 8472;
	CHECK_EQ_U(run(&f, fr_len(&f), &pkt, &st, &cfg), DECODE_OK);
	CHECK_EQ_U(pkt.tunnel.type, TUNNEL_VXLAN);
	CHECK_EQ_U(pkt.tunnel.id, 5);
}

static void test_decode_tunnel__names(void)
{
	CHECK(!strcmp(decode_tunnel_name(TUNNEL_VXLAN), "vxlan"));
	CHECK(!strcmp(decode_tunnel_name(TUNNEL_TEREDO), "teredo"));
	CHECK(!strcmp(decode_tunnel_name(TUNNEL_NONE), ""));
	CHECK(!strcmp(decode_tunnel_name(99), ""));
}

int main(void)
{
	RUN(test_decode_tunnel__every_encapsulation);
	RUN(test_decode_tunnel__vlan_and_mpls_accumulate);
	RUN(test_decode_tunnel__6in4_6in6_and_teredo);
	RUN(test_decode_tunnel__truncated_everywhere);
	RUN(test_decode_tunnel__garbage_headers_keep_the_outer_packet);
	RUN(test_decode_tunnel__nesting_to_the_bound_and_one_past);
	RUN(test_decode_tunnel__switches_and_extra_ports);
	RUN(test_decode_tunnel__names);
	return CHECK_DONE();
}
