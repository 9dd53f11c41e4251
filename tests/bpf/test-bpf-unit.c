/* SPDX-License-Identifier: MIT */
/*
 * test-bpf-unit.c -- the capture programs on synthetic frames through
 * BPF_PROG_TEST_RUN: filter (prefix, learned address, miss), DNS records
 * regardless of the filter, GSO accounting, payload-record bounds, FIN/RST
 * and reuse events, VLAN keys, malformed frames passing; tunnels: VXLAN,
 * GENEVE, GRE (key, keyless twin of a direct flow), PPTP, ERSPAN II/III,
 * IP-in-IP (4in4, 6in4, 4in6) with their inner keys and counts, the depth
 * bound, and cut tunnel headers.
 *
 *   test-bpf-unit             the table of cases
 *   test-bpf-unit --stale IF  stale-hook replacement on interface IF (a
 *                             child attaches TC + XDP and dies without
 *                             detaching; a new loader must replace both)
 *
 * Prints "ok NAME" / "FAIL NAME: why".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture-bpf.h"

static int fails;

#define CHECK(name, cond, ...)                                   \
	do {                                                     \
		if (cond) {                                      \
			printf("ok %s\n", name);                 \
		} else {                                         \
			printf("FAIL %s: ", name);               \
			printf(__VA_ARGS__);                     \
			printf("\n");                            \
			fails++;                                 \
		}                                                \
	} while (0)

/* --- a tiny frame builder --- */
struct fb {
	uint8_t b[2048];
	size_t n;
};

static void put(struct fb *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct fb *f, uint16_t v)
{
	v = htons(v);
	put(f, &v, 2);
}

static void put32(struct fb *f, uint32_t v)
{
	v = htonl(v);
	put(f, &v, 4);
}

/* Ethernet [+ VLAN tags] + IPv4 + TCP/UDP + payload */
static size_t frame4(struct fb *f, const uint16_t *vlans, int nvlan, const char *src,
		     uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
		     uint8_t tcpflags, const void *payload, size_t plen)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	struct in_addr a;
	size_t l4 = proto == 6 ? 20 : 8;

	f->n = 0;
	put(f, macs, 12);
	for (int i = 0; i < nvlan; i++) {
		put16(f, i == 0 && nvlan > 1 ? 0x88a8 : 0x8100);
		put16(f, vlans[i]);
	}
	put16(f, 0x0800);
	put16(f, 0x4500);                    /* v4, ihl 5 */
	put16(f, (uint16_t)(20 + l4 + plen)); /* total length */
	put32(f, 0x12340000);                /* id, no fragment */
	put16(f, (uint16_t)(64 << 8 | proto));
	put16(f, 0);
	inet_pton(AF_INET, src, &a);
	put(f, &a, 4);
	inet_pton(AF_INET, dst, &a);
	put(f, &a, 4);
	put16(f, sport);
	put16(f, dport);
	if (proto == 6) {
		put32(f, 1000);                  /* seq */
		put32(f, 0);                     /* ack */
		put16(f, (uint16_t)(5 << 12 | tcpflags));
		put16(f, 65535);
		put32(f, 0);
	} else {
		put16(f, (uint16_t)(8 + plen));
		put16(f, 0);
	}
	if (plen)
		put(f, payload, plen);
	while (f->n < 60)
		f->b[f->n++] = 0; /* Ethernet padding: must not count */
	return 14 + 4 * (size_t)nvlan + 20 + l4;
}

static void frame6(struct fb *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		   const void *payload, size_t plen)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	struct in6_addr a;

	f->n = 0;
	put(f, macs, 12);
	put16(f, 0x86dd);
	put32(f, 0x60000000);
	put16(f, (uint16_t)(8 + 20 + plen)); /* hop-by-hop (8) + TCP */
	f->b[f->n++] = 0;                     /* next: hop-by-hop */
	f->b[f->n++] = 64;
	inet_pton(AF_INET6, src, &a);
	put(f, &a, 16);
	inet_pton(AF_INET6, dst, &a);
	put(f, &a, 16);
	f->b[f->n++] = 6;                     /* hop-by-hop: next TCP, len 0 */
	f->b[f->n++] = 0;
	put(f, "\x01\x04\x00\x00\x00\x00", 6); /* PadN */
	put16(f, sport);
	put16(f, dport);
	put32(f, 1);
	put32(f, 0);
	put16(f, 5 << 12 | 0x18);
	put16(f, 65535);
	put32(f, 0);
	put(f, payload, plen);
}

struct evlog {
	int n[8];
	int end_fin, end_rst, end_reused;
	int seg_max;
	int dns_ok;
	uint32_t last_cap;
};

static void on_event(void *arg, const union capture_bpf_record *r)
{
	struct evlog *e = arg;
	if (r->hdr.type < 8)
		e->n[r->hdr.type]++;
	if (r->hdr.type == CAPTURE_EV_FLOW_END) {
		e->end_fin += !!(r->hdr.flags & CAPTURE_EVF_FIN);
		e->end_rst += !!(r->hdr.flags & CAPTURE_EVF_RST);
		e->end_reused += !!(r->hdr.flags & CAPTURE_EVF_REUSED);
	}
	if (r->hdr.type == CAPTURE_EV_PAYLOAD && r->payload.seg_no > e->seg_max)
		e->seg_max = r->payload.seg_no;
	if (r->hdr.type == CAPTURE_EV_DNS)
		e->dns_ok = r->payload.cap_len == 12 && !memcmp(r->payload.data, "\xab\xcd\x81\x80", 4);
	e->last_cap = r->hdr.type == CAPTURE_EV_PAYLOAD ? r->payload.cap_len : e->last_cap;
}

struct found {
	int n;
	struct capture_flow_counters c;
	struct capture_flow_key k;
};

static void on_flow(void *arg, const struct capture_flow_key *k, const struct capture_flow_counters *c)
{
	struct found *f = arg;
	f->n++;
	f->c = *c;
	f->k = *k;
}

static int run(struct capture_bpf *cb, enum capture_bpf_prog p, struct fb *f, uint32_t segs)
{
	uint32_t verdict = 99;
	int e = capture_bpf_test_run(cb, p, f->b, (uint32_t)f->n, 1, segs, &verdict, NULL);
	if (e)
		return e;
	return verdict == (p == CAPTURE_PROG_XDP ? CAPTURE_BPF_XDP_PASS : CAPTURE_BPF_TC_ACT_OK) ? 0 : -1000;
}

static void cases(void)
{
	struct capture_bpf_config cfg;
	struct capture_bpf *cb;
	struct fb f;
	struct evlog ev;
	struct found fl;
	uint64_t st[CAPTURE_STAT_COUNT];
	struct net_addr net;
	unsigned plen;
	uint8_t big[1600];
	const uint8_t dns[12] = { 0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0 };
	size_t hdr;
	int e;

	capture_bpf_config_default(&cfg); /* filter on */
	cb = capture_bpf_open(&cfg);
	if (!cb) {
		printf("FAIL unit-load: %s\n", strerror(errno));
		fails++;
		return;
	}
	memset(big, 'x', sizeof(big));

	/* filter miss: nothing counted, the packet passes */
	frame4(&f, NULL, 0, "192.0.2.1", 40000, "198.51.100.7", 443, 6, 0x02, NULL, 0);
	e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	capture_bpf_read_stats(cb, st);
	CHECK("unit-filter-miss", !e && fl.n == 0 && st[CAPTURE_STAT_FILTER_MISS] == 1,
	      "e %d flows %d miss %" PRIu64, e, fl.n, st[CAPTURE_STAT_FILTER_MISS]);

	/* catalog prefix: the same SYN now makes a flow, client = 192.0.2.1 (a) */
	net_prefix_parse("198.51.100.0/24", &net, &plen);
	capture_bpf_add_prefix(cb, &net, plen, 7);
	e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	CHECK("unit-filter-prefix", !e && fl.n == 1 && (fl.c.state & CAPTURE_FS_MATCH_CATALOG) &&
	      (fl.c.state & CAPTURE_FS_CLIENT_IS_A) && fl.c.pkts[0] == 1 && fl.c.bytes[0] == 60 &&
	      fl.c.payload_bytes[0] == 0 && fl.k.port_a == 40000 && fl.k.port_b == 443 &&
	      (fl.c.tcp_flags & 0xff) == 0x02,
	      "e %d n %d state %#x pkts %" PRIu64 " bytes %" PRIu64, e, fl.n, fl.c.state,
	      (uint64_t)fl.c.pkts[0], (uint64_t)fl.c.bytes[0]);

	/* learned address, IPv6 with a hop-by-hop header, XDP */
	capture_bpf_reset(cb);
	net_addr_parse("2001:db8::25", &net);
	capture_bpf_add_addr(cb, &net, 9, 0);
	frame6(&f, "2001:db8::25", 993, "2001:db8:1::5", 50123, "* OK IMAP4", 10);
	e = run(cb, CAPTURE_PROG_XDP, &f, 0);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	/* sender 2001:db8::25 < 2001:db8:1::5: slot a, on a server port: client is b */
	CHECK("unit-filter-learned-v6", !e && fl.n == 1 && (fl.c.state & CAPTURE_FS_MATCH_LEARNED) &&
	      !(fl.c.state & CAPTURE_FS_CLIENT_IS_A) && fl.c.payload_bytes[0] == 10 &&
	      fl.c.bytes[0] == f.n && fl.k.family == 6,
	      "e %d n %d state %#x payload %" PRIu64, e, fl.n, fl.c.state, (uint64_t)fl.c.payload_bytes[0]);
	capture_bpf_del_addr(cb, &net);

	/* DNS response from an unmatched server: a record, no flow */
	capture_bpf_reset(cb);
	memset(&ev, 0, sizeof(ev));
	frame4(&f, NULL, 0, "192.0.2.53", 53, "192.0.2.10", 33333, 17, 0, dns, sizeof(dns));
	e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	capture_bpf_poll(cb, 0, on_event, &ev);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	CHECK("unit-dns-always", !e && ev.n[CAPTURE_EV_DNS] == 1 && ev.dns_ok && fl.n == 0,
	      "e %d dns %d ok %d flows %d", e, ev.n[CAPTURE_EV_DNS], ev.dns_ok, fl.n);

	/* GSO: one TC run standing for 3 segments */
	capture_bpf_reset(cb);
	hdr = frame4(&f, NULL, 0, "192.0.2.1", 40001, "198.51.100.7", 443, 6, 0x18, big, 1400);
	e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 3);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	CHECK("unit-gso", !e && fl.c.pkts[0] == 3 && fl.c.bytes[0] == f.n + 2 * hdr &&
	      fl.c.payload_bytes[0] == 1400,
	      "e %d pkts %" PRIu64 " bytes %" PRIu64 " (frame %zu hdr %zu)", e,
	      (uint64_t)fl.c.pkts[0], (uint64_t)fl.c.bytes[0], f.n, hdr);

	/* payload records: the first 4 client segments, capped at 1536 bytes */
	capture_bpf_reset(cb);
	memset(&ev, 0, sizeof(ev));
	e = 0;
	frame4(&f, NULL, 0, "192.0.2.1", 40002, "198.51.100.7", 443, 6, 0x02, NULL, 0);
	e |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	frame4(&f, NULL, 0, "198.51.100.7", 443, "192.0.2.1", 40002, 6, 0x12, NULL, 0);
	e |= run(cb, CAPTURE_PROG_TC_EGRESS, &f, 0);
	for (int i = 0; i < 6; i++) {
		frame4(&f, NULL, 0, "192.0.2.1", 40002, "198.51.100.7", 443, 6, 0x18, big, 1600);
		e |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
		frame4(&f, NULL, 0, "198.51.100.7", 443, "192.0.2.1", 40002, 6, 0x18, big, 100);
		e |= run(cb, CAPTURE_PROG_TC_EGRESS, &f, 0);
	}
	capture_bpf_poll(cb, 0, on_event, &ev);
	capture_bpf_read_stats(cb, st);
	CHECK("unit-payload-bounds", !e && ev.n[CAPTURE_EV_PAYLOAD] == 4 && ev.seg_max == 3 &&
	      ev.last_cap == 1536 && st[CAPTURE_STAT_PAYLOAD_TRUNC] == 4 &&
	      ev.n[CAPTURE_EV_FLOW_START] == 1,
	      "e %d payload records %d seg_max %d cap %u start %d", e, ev.n[CAPTURE_EV_PAYLOAD],
	      ev.seg_max, ev.last_cap, ev.n[CAPTURE_EV_FLOW_START]);

	/* FIN once per side, then RST, then a new SYN reuses the tuple */
	memset(&ev, 0, sizeof(ev));
	frame4(&f, NULL, 0, "192.0.2.1", 40002, "198.51.100.7", 443, 6, 0x11, NULL, 0);
	e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	e |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0); /* retransmitted FIN: no second record */
	frame4(&f, NULL, 0, "198.51.100.7", 443, "192.0.2.1", 40002, 6, 0x04, NULL, 0);
	e |= run(cb, CAPTURE_PROG_TC_EGRESS, &f, 0);
	frame4(&f, NULL, 0, "192.0.2.1", 40002, "198.51.100.7", 443, 6, 0x02, NULL, 0);
	e |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
	capture_bpf_poll(cb, 0, on_event, &ev);
	memset(&fl, 0, sizeof(fl));
	capture_bpf_read_flows(cb, on_flow, &fl);
	CHECK("unit-fin-rst-reuse", !e && ev.end_fin == 1 && ev.end_rst == 1 && ev.end_reused == 1 &&
	      ev.n[CAPTURE_EV_FLOW_START] == 1 && fl.n == 1 && fl.c.pkts[0] == 1 && fl.c.pkts[1] == 0,
	      "e %d fin %d rst %d reused %d start %d flows %d pkts %" PRIu64 "/%" PRIu64, e,
	      ev.end_fin, ev.end_rst, ev.end_reused, ev.n[CAPTURE_EV_FLOW_START], fl.n,
	      (uint64_t)fl.c.pkts[0], (uint64_t)fl.c.pkts[1]);

	/* VLANs: two tags are in the key, a third is refused */
	{
		uint16_t v[3] = { 100, 200, 300 };
		capture_bpf_reset(cb);
		frame4(&f, v, 2, "192.0.2.1", 40003, "198.51.100.7", 443, 6, 0x02, NULL, 0);
		e = run(cb, CAPTURE_PROG_XDP, &f, 0);
		memset(&fl, 0, sizeof(fl));
		capture_bpf_read_flows(cb, on_flow, &fl);
		CHECK("unit-vlan-key", !e && fl.n == 1 && fl.k.vlan[0] == 100 && fl.k.vlan[1] == 200,
		      "e %d n %d vlan %u/%u", e, fl.n, fl.k.vlan[0], fl.k.vlan[1]);
		frame4(&f, v, 3, "192.0.2.1", 40004, "198.51.100.7", 443, 6, 0x02, NULL, 0);
		e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
		capture_bpf_read_stats(cb, st);
		CHECK("unit-vlan-too-deep", !e && st[CAPTURE_STAT_VLAN_TOO_DEEP] == 1,
		      "e %d deep %" PRIu64, e, st[CAPTURE_STAT_VLAN_TOO_DEEP]);
	}

	/* malformed: cut IPv4 header, ihl < 5, doff < 5 -- all pass, all counted */
	{
		int bad = 0;
		capture_bpf_reset(cb);
		frame4(&f, NULL, 0, "192.0.2.1", 40005, "198.51.100.7", 443, 6, 0x02, NULL, 0);
		/* (test-run refuses a TC frame shorter than Ethernet + IPv4) */
		f.n = 24; /* XDP: Ethernet + 10 bytes of IPv4 */
		bad |= run(cb, CAPTURE_PROG_XDP, &f, 0);
		f.n = 36; /* TC: the TCP header cut inside the ports */
		bad |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
		frame4(&f, NULL, 0, "192.0.2.1", 40005, "198.51.100.7", 443, 6, 0x02, NULL, 0);
		f.b[14] = 0x44; /* ihl 4 */
		bad |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0) | run(cb, CAPTURE_PROG_XDP, &f, 0);
		frame4(&f, NULL, 0, "192.0.2.1", 40005, "198.51.100.7", 443, 6, 0x02, NULL, 0);
		f.b[14 + 20 + 12] = 0x40; /* doff 4 */
		bad |= run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0) | run(cb, CAPTURE_PROG_XDP, &f, 0);
		capture_bpf_read_stats(cb, st);
		memset(&fl, 0, sizeof(fl));
		capture_bpf_read_flows(cb, on_flow, &fl);
		CHECK("unit-malformed-pass", !bad && st[CAPTURE_STAT_TRUNCATED] == 2 &&
		      st[CAPTURE_STAT_INVALID] == 4 && fl.n == 0 && st[CAPTURE_STAT_PACKETS] == 6,
		      "bad %d trunc %" PRIu64 " invalid %" PRIu64 " flows %d", bad,
		      st[CAPTURE_STAT_TRUNCATED], st[CAPTURE_STAT_INVALID], fl.n);
	}
	capture_bpf_close(cb);
}

/* --- tunnels: an inner frame wrapped in outer headers --- */

/* Ethernet + IPv4 (protocol @proto) around @n bytes of @l4 */
static void outer4(struct fb *f, uint8_t proto, const uint8_t *l4, size_t n)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4 };
	struct in_addr a;

	f->n = 0;
	put(f, macs, 12);
	put16(f, 0x0800);
	put16(f, 0x4500);
	put16(f, (uint16_t)(20 + n));
	put32(f, 0x00010000);
	put16(f, (uint16_t)(64 << 8 | proto));
	put16(f, 0);
	inet_pton(AF_INET, "10.9.0.1", &a);
	put(f, &a, 4);
	inet_pton(AF_INET, "10.9.0.2", &a);
	put(f, &a, 4);
	put(f, l4, n);
}

/* Ethernet + IPv6 (next header @proto) around @n bytes of @l4 */
static void outer6(struct fb *f, uint8_t proto, const uint8_t *l4, size_t n)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4 };
	struct in6_addr a;

	f->n = 0;
	put(f, macs, 12);
	put16(f, 0x86dd);
	put32(f, 0x60000000);
	put16(f, (uint16_t)n);
	f->b[f->n++] = proto;
	f->b[f->n++] = 64;
	inet_pton(AF_INET6, "2001:db8:9::1", &a);
	put(f, &a, 16);
	inet_pton(AF_INET6, "2001:db8:9::2", &a);
	put(f, &a, 16);
	put(f, l4, n);
}

/* @hdr then @in (from byte @skip on: 14 drops the inner Ethernet header) */
static void tunnel_body(struct fb *t, const uint8_t *hdr, size_t hlen, const struct fb *in,
			size_t skip)
{
	t->n = 0;
	put(t, hdr, hlen);
	put(t, in->b + skip, in->n - skip);
}

/* UDP to @dport carrying @hdr + the inner Ethernet frame */
static void outer_udp(struct fb *f, uint16_t dport, const uint8_t *hdr, size_t hlen,
		      const struct fb *in)
{
	struct fb t, u;

	tunnel_body(&t, hdr, hlen, in, 0);
	u.n = 0;
	put16(&u, 50000);
	put16(&u, dport);
	put16(&u, (uint16_t)(8 + t.n));
	put16(&u, 0);
	put(&u, t.b, t.n);
	outer4(f, 17, u.b, u.n);
}

static int tun_flow(struct capture_bpf *cb, struct fb *f, struct found *fl)
{
	int e = run(cb, CAPTURE_PROG_TC_INGRESS, f, 0) | run(cb, CAPTURE_PROG_XDP, f, 0);
	memset(fl, 0, sizeof(*fl));
	capture_bpf_read_flows(cb, on_flow, fl);
	return e;
}

/* The inner flow of every tunnel case: 192.0.2.1:40010 -> 198.51.100.7:443,
 * a 64-byte Ethernet frame (50 bytes of IPv4), 10 bytes of payload; run
 * once through TC and once through XDP. */
#define TUN_CHECK(name, e, fl, kind, id, len)                                              \
	CHECK(name, !(e) && (fl).n == 1 && (fl).k.tunnel_kind == (kind) &&                   \
	      (fl).k.tunnel_id == (uint32_t)(id) && (fl).k.port_a == 40010 &&                \
	      (fl).k.port_b == 443 && (fl).c.pkts[0] == 2 && (fl).c.bytes[0] == 2 * (len) && \
	      (fl).c.payload_bytes[0] == 20,                                                 \
	      "e %d n %d kind %u id %#x ports %u/%u pkts %" PRIu64 " bytes %" PRIu64         \
	      " payload %" PRIu64, e, (fl).n, (fl).k.tunnel_kind, (fl).k.tunnel_id,          \
	      (fl).k.port_a, (fl).k.port_b, (uint64_t)(fl).c.pkts[0],                        \
	      (uint64_t)(fl).c.bytes[0], (uint64_t)(fl).c.payload_bytes[0])

static void tunnel_cases(void)
{
	struct capture_bpf_config cfg;
	struct capture_bpf *cb;
	struct fb in, in6, t, f;
	struct found fl;
	uint64_t st[CAPTURE_STAT_COUNT];
	int e;

	capture_bpf_config_default(&cfg);
	cfg.filter = false;
	cb = capture_bpf_open(&cfg);
	if (!cb) {
		printf("FAIL unit-tunnel-load: %s\n", strerror(errno));
		fails++;
		return;
	}
	frame4(&in, NULL, 0, "192.0.2.1", 40010, "198.51.100.7", 443, 6, 0x18, "0123456789", 10);

	{ /* VXLAN, VNI 0x123456 */
		static const uint8_t h[8] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };
		capture_bpf_reset(cb);
		outer_udp(&f, 4789, h, sizeof(h), &in);
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		TUN_CHECK("unit-tunnel-vxlan", e || st[CAPTURE_STAT_TUN_VXLAN] != 2, fl,
			  CAPTURE_TUN_VXLAN, 0x123456, 64);
	}
	{ /* GENEVE, 8 bytes of options, Ethernet payload, VNI 0xabcdef */
		static const uint8_t h[16] = { 0x02, 0, 0x65, 0x58, 0xab, 0xcd, 0xef, 0,
					       0x01, 0x02, 0x03, 0x01, 0, 0, 0, 0 };
		capture_bpf_reset(cb);
		outer_udp(&f, 6081, h, sizeof(h), &in);
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		TUN_CHECK("unit-tunnel-geneve", e || st[CAPTURE_STAT_TUN_GENEVE] != 2, fl,
			  CAPTURE_TUN_GENEVE, 0xabcdef, 64);
	}
	{ /* GRE with checksum, key 0xdeadbeef and sequence, IPv4 payload */
		static const uint8_t h[16] = { 0xb0, 0, 0x08, 0x00, 0, 0, 0, 0,
					       0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7 };
		capture_bpf_reset(cb);
		tunnel_body(&t, h, sizeof(h), &in, 14);
		outer4(&f, 47, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		TUN_CHECK("unit-tunnel-gre-key", e, fl, CAPTURE_TUN_GRE, 0xdeadbeef, 50);
	}
	{ /* keyless GRE carrying Ethernet (0x6558): the inner flow is the
	   * direct one's twin (no tenant id), as offline */
		static const uint8_t h[4] = { 0, 0, 0x65, 0x58 };
		int e2;
		capture_bpf_reset(cb);
		tunnel_body(&t, h, sizeof(h), &in, 0);
		outer4(&f, 47, t.b, t.n);
		e = run(cb, CAPTURE_PROG_TC_INGRESS, &f, 0);
		e2 = run(cb, CAPTURE_PROG_XDP, &in, 0); /* the same frame, not tunnelled */
		memset(&fl, 0, sizeof(fl));
		capture_bpf_read_flows(cb, on_flow, &fl);
		TUN_CHECK("unit-tunnel-gre-keyless-twin", e || e2, fl, 0, 0, 64);
	}
	{ /* PPTP: enhanced GRE (K S, version 1), call id 6016, PPP 0xff03 0x0021 */
		static const uint8_t h[16] = { 0x30, 0x01, 0x88, 0x0b, 0, 54, 0x17, 0x80,
					       0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21 };
		capture_bpf_reset(cb);
		tunnel_body(&t, h, sizeof(h), &in, 14);
		outer4(&f, 47, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		/* PPP's 4 bytes are consumed like offline: the inner IPv4 is 50 */
		TUN_CHECK("unit-tunnel-pptp", e, fl, 0, 0, 54);
	}
	{ /* ERSPAN II: GRE S + 0x88be, version 1, session 0x155 */
		static const uint8_t h[16] = { 0x10, 0, 0x88, 0xbe, 0, 0, 0, 1,
					       0x10, 0x64, 0x01, 0x55, 0, 0, 0, 0 };
		capture_bpf_reset(cb);
		tunnel_body(&t, h, sizeof(h), &in, 0);
		outer4(&f, 47, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		TUN_CHECK("unit-tunnel-erspan2", e || st[CAPTURE_STAT_TUN_ERSPAN] != 2, fl,
			  CAPTURE_TUN_ERSPAN, 0x155, 64);
	}
	{ /* ERSPAN III: 0x22eb, version 2, session 0x2aa, platform sub-header */
		static const uint8_t h[24] = { 0, 0, 0x22, 0xeb, 0x20, 0, 0x02, 0xaa,
					       0, 0, 0, 9, 0, 0, 0, 0x01,
					       0, 0, 0, 0, 0, 0, 0, 0 };
		capture_bpf_reset(cb);
		tunnel_body(&t, h, sizeof(h), &in, 0);
		outer4(&f, 47, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		TUN_CHECK("unit-tunnel-erspan3", e, fl, CAPTURE_TUN_ERSPAN, 0x2aa, 64);
	}
	{ /* 4in4, 4in6, 6in4 */
		capture_bpf_reset(cb);
		tunnel_body(&t, NULL, 0, &in, 14);
		outer4(&f, 4, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		TUN_CHECK("unit-tunnel-4in4", e || st[CAPTURE_STAT_TUN_IPIP] != 2, fl, 0, 0, 50);
		capture_bpf_reset(cb);
		outer6(&f, 4, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		TUN_CHECK("unit-tunnel-4in6", e, fl, 0, 0, 50);
		capture_bpf_reset(cb);
		frame6(&in6, "2001:db8::1", 40010, "2001:db8:1::7", 443, "0123456789", 10);
		tunnel_body(&t, NULL, 0, &in6, 14);
		outer4(&f, 41, t.b, t.n);
		e = tun_flow(cb, &f, &fl);
		CHECK("unit-tunnel-6in4", !e && fl.n == 1 && fl.k.family == 6 && fl.k.tunnel_kind == 0 &&
		      fl.c.pkts[0] == 2 && fl.c.bytes[0] == 2 * (in6.n - 14) && fl.c.payload_bytes[0] == 20,
		      "e %d n %d family %u pkts %" PRIu64 " bytes %" PRIu64, e, fl.n, fl.k.family,
		      (uint64_t)fl.c.pkts[0], (uint64_t)fl.c.bytes[0]);
	}
	{ /* depth: 4 IP-in-IP layers are opened, a 5th is counted and left
	   * closed (no flow: the packet is IPv4 protocol 4) */
		struct fb g;
		int k;
		capture_bpf_reset(cb);
		tunnel_body(&t, NULL, 0, &in, 14);
		for (k = 0; k < 3; k++) {
			outer4(&g, 4, t.b, t.n);
			tunnel_body(&t, NULL, 0, &g, 14);
		}
		outer4(&f, 4, t.b, t.n); /* 4 tunnels */
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		TUN_CHECK("unit-tunnel-depth-4", e || st[CAPTURE_STAT_TUN_IPIP] != 8 ||
			  st[CAPTURE_STAT_TUN_DEPTH], fl, 0, 0, 50);
		capture_bpf_reset(cb);
		outer4(&g, 4, t.b, t.n);
		tunnel_body(&t, NULL, 0, &g, 14);
		outer4(&f, 4, t.b, t.n); /* 5 tunnels */
		e = tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		CHECK("unit-tunnel-depth-bound", !e && fl.n == 0 && st[CAPTURE_STAT_TUN_DEPTH] == 2 &&
		      st[CAPTURE_STAT_TUN_IPIP] == 8 && st[CAPTURE_STAT_OTHER_L4] == 2,
		      "e %d flows %d depth %" PRIu64 " ipip %" PRIu64 " other %" PRIu64, e, fl.n,
		      st[CAPTURE_STAT_TUN_DEPTH], st[CAPTURE_STAT_TUN_IPIP], st[CAPTURE_STAT_OTHER_L4]);
	}
	{ /* cut tunnel headers: VXLAN with 4 of its 8 bytes stays the outer UDP
	   * flow; GRE announcing a key it lacks is no flow; a VXLAN frame cut
	   * inside the inner IPv4 header is counted truncated.  All pass. */
		static const uint8_t vx[8] = { 0x08, 0, 0, 0, 0, 0, 1, 0 };
		static const uint8_t gre[4] = { 0x20, 0, 0x08, 0x00 };
		struct fb empty = { .n = 0 };
		int bad = 0;

		capture_bpf_reset(cb);
		outer_udp(&f, 4789, vx, 4, &empty);
		bad |= tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		CHECK("unit-tunnel-vxlan-cut", !bad && fl.n == 1 && fl.k.tunnel_kind == 0 &&
		      fl.k.port_b == 4789 && fl.c.bytes[0] == 2 * f.n && st[CAPTURE_STAT_TUN_BAD] == 2,
		      "bad %d flows %d kind %u port %u tunnel_bad %" PRIu64, bad, fl.n,
		      fl.k.tunnel_kind, fl.k.port_b, st[CAPTURE_STAT_TUN_BAD]);
		capture_bpf_reset(cb);
		outer4(&f, 47, gre, sizeof(gre));
		bad = tun_flow(cb, &f, &fl);
		outer_udp(&f, 4789, vx, sizeof(vx), &in);
		f.n = 14 + 20 + 8 + 8 + 14 + 10; /* inner IPv4 header cut */
		bad |= tun_flow(cb, &f, &fl);
		capture_bpf_read_stats(cb, st);
		CHECK("unit-tunnel-cut", !bad && fl.n == 0 && st[CAPTURE_STAT_TUN_BAD] == 2 &&
		      st[CAPTURE_STAT_TUN_VXLAN] == 2 && st[CAPTURE_STAT_TRUNCATED] == 2 &&
		      st[CAPTURE_STAT_PACKETS] == 4,
		      "bad %d flows %d tunnel_bad %" PRIu64 " vxlan %" PRIu64 " truncated %" PRIu64,
		      bad, fl.n, st[CAPTURE_STAT_TUN_BAD], st[CAPTURE_STAT_TUN_VXLAN],
		      st[CAPTURE_STAT_TRUNCATED]);
	}
	capture_bpf_close(cb);

	/* the decap switches: VXLAN closed stays the outer UDP flow; an extra
	 * VXLAN port is opened like 4789 */
	{
		static const uint8_t h[8] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };
		struct capture_bpf *off, *extra;

		capture_bpf_config_default(&cfg);
		cfg.filter = false;
		cfg.decap_off = 1u << CAPTURE_TUN_VXLAN;
		off = capture_bpf_open(&cfg);
		cfg.decap_off = 0;
		cfg.vxlan_ports[0] = 8472; /* Linux's old default */
		extra = capture_bpf_open(&cfg);
		if (!off || !extra) {
			printf("FAIL unit-tunnel-switch-load: %s\n", strerror(errno));
			fails++;
		} else {
			outer_udp(&f, 4789, h, sizeof(h), &in);
			e = tun_flow(off, &f, &fl);
			capture_bpf_read_stats(off, st);
			CHECK("unit-tunnel-vxlan-off", !e && fl.n == 1 && fl.k.tunnel_kind == 0 &&
			      fl.k.port_b == 4789 && st[CAPTURE_STAT_TUN_VXLAN] == 0,
			      "e %d flows %d kind %u port %u vxlan %" PRIu64, e, fl.n,
			      fl.k.tunnel_kind, fl.k.port_b, st[CAPTURE_STAT_TUN_VXLAN]);
			outer_udp(&f, 8472, h, sizeof(h), &in);
			e = tun_flow(extra, &f, &fl);
			capture_bpf_read_stats(extra, st);
			TUN_CHECK("unit-tunnel-vxlan-extra-port", e || st[CAPTURE_STAT_TUN_VXLAN] != 2,
				  fl, CAPTURE_TUN_VXLAN, 0x123456, 64);
			outer_udp(&f, 8472, h, sizeof(h), &in);
			e = tun_flow(off, &f, &fl);
			CHECK("unit-tunnel-vxlan-port-not-extra", !e && fl.n == 2 &&
			      fl.k.tunnel_kind == 0,
			      "e %d flows %d kind %u", e, fl.n, fl.k.tunnel_kind);
		}
		capture_bpf_close(off);
		capture_bpf_close(extra);
	}
}

/* A child attaches TC and XDP and dies without detaching (a crash); a new
 * loader must replace both, then leave nothing. */
static void stale(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname), status = 0, e1, e2;
	struct capture_bpf *cb, *cb2;
	pid_t pid;

	if (!ifindex) {
		printf("FAIL stale: %s: %s\n", ifname, strerror(errno));
		fails++;
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct capture_bpf *c1 = capture_bpf_open(NULL), *c2 = capture_bpf_open(NULL);
		if (!c1 || !c2 || capture_bpf_attach(c1, ifindex, CAPTURE_BPF_TC) ||
		    capture_bpf_attach(c2, ifindex, CAPTURE_BPF_XDP_GENERIC))
			_exit(1);
		_exit(0); /* no detach: the netlink attachments outlive us */
	}
	waitpid(pid, &status, 0);
	CHECK("stale-setup", WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cb = capture_bpf_open(NULL);
	cb2 = capture_bpf_open(NULL);
	if (!cb || !cb2) {
		printf("FAIL stale-replace: load: %s\n", strerror(errno));
		fails++;
		capture_bpf_close(cb);
		return;
	}
	e1 = capture_bpf_attach(cb, ifindex, CAPTURE_BPF_TC);
	e2 = capture_bpf_attach(cb2, ifindex, CAPTURE_BPF_XDP_GENERIC);
	CHECK("stale-replace", !e1 && !e2, "tc %s, xdp %s", strerror(-e1), strerror(-e2));
	/* exactly one filter per direction: tc filter show lists ours once */
	{
		char cmd[256], line[512];
		int n = 0;
		FILE *p;
		snprintf(cmd, sizeof(cmd), "tc filter show dev %s ingress; tc filter show dev %s egress",
			 ifname, ifname);
		p = popen(cmd, "r");
		while (p && fgets(line, sizeof(line), p))
			n += strstr(line, "capture_tc_") != NULL;
		if (p)
			pclose(p);
		CHECK("stale-not-duplicated", n == 2, "%d capture_tc filters listed", n);
	}
	capture_bpf_close(cb);
	capture_bpf_close(cb2);
	CHECK("stale-cleanup", capture_bpf_cleanup_stale(ifindex) == 0, "something left after close");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--stale"))
		stale(argv[2]);
	else {
		cases();
		tunnel_cases();
	}
	return fails ? 1 : 0;
}
