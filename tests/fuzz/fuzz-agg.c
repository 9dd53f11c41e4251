/* SPDX-License-Identifier: MIT */
/*
 * fuzz-agg.c -- a sequence of packets through decode_packet() and
 * agg_packet() with tiny pools and short timeouts, so eviction, timeouts,
 * flow reuse, fragment slots, ident/reassembly pool exhaustion, DNS
 * learning and ClientHello/STARTTLS reassembly all happen in a few packets.
 *
 * Input:
 *   u8 config: bit0 keep unclassified (--all-flows), bit1 identification
 *      off, bits 2-3 max flows (1, 2, 4, 64), bits 4-5 interim period
 *      (off, 1 s, 10 s, 60 s)
 *   then records until the input ends:
 *   u8  dt: packet time step, (dt & 63) units of 1 ms, 100 ms, 1 s or 20 s
 *       (dt >> 6); 0xff steps 2 s back in time
 *   u8  kind: bits 0-1 0 = raw IP packet as given, 1 = TCP, 2 = UDP,
 *       3 = ICMP; bit 2 IPv6; bit 3 server to client; bits 4-5 snap the
 *       capture (keep all, all, cut 10, cut 100 bytes); bits 6-7 IP
 *       fragment (none, first, middle, last)
 *   u16 length, then the record body (fewer bytes at the end of input):
 *   raw:     an IPv4/IPv6 packet, decoded as DLT_RAW
 *   others:  u8 endpoints (client 0-3 low bits, server 0-3 bits 4-5),
 *            u8 ports (server port index bits 0-2 into 443 993 25 587 143
 *            110 53 80; client port 40000 + bits 3-7), u8 TCP flags,
 *            u32 seq, u16 IP id / fragment offset, then the L4 payload
 *
 * Servers 0-2 are in the test catalog (10.0.0.0/8, 2001:db8::/32);
 * server 3 (8.8.8.8 / 2001:4860::8888) is not.
 *
 * Checked besides memory safety and leaks: at the end every flow has ended
 * once (created == ended, none active), every end and update reached the
 * callback, and the table never held more than its size.  Each frame is
 * freed right after agg_packet(), so ASan catches kept packet memory.
 */
#include "fuzz-agg-common.h"

#include <netinet/in.h>

#include "decode.h"

#define FRAME_MAX 2048

static const uint16_t server_ports[8] = { 443, 993, 25, 587, 143, 110, 53, 80 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_catalog_init();
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void endpoint(uint8_t *out, bool v6, bool server, unsigned idx)
{
	if (!v6) {
		static const uint8_t cli[4] = { 192, 168, 1, 0 }, srv[4] = { 10, 0, 0, 0 },
				     ext[4] = { 8, 8, 8, 8 };
		if (server && idx == 3) {
			memcpy(out, ext, 4);
		} else {
			memcpy(out, server ? srv : cli, 4);
			out[3] = (uint8_t)(idx + 1);
		}
		return;
	}
	memset(out, 0, 16);
	if (server && idx == 3) {
		put16(out, 0x2001);
		put16(out + 2, 0x4860);
		put16(out + 14, 0x8888);
	} else if (server) {
		put16(out, 0x2001);
		put16(out + 2, 0x0db8);
		out[15] = (uint8_t)(idx + 1);
	} else {
		put16(out, 0xfd00);
		out[15] = (uint8_t)(idx + 1);
	}
}

/* Build a raw IP frame from a compact record; returns its length (at most
 * FRAME_MAX). */
static size_t build(uint8_t *f, uint8_t kind, struct fz *body)
{
	bool v6 = kind & 4, toclient = kind & 8;
	unsigned frag = kind >> 6, type = kind & 3;
	uint8_t ep = fz_u8(body), pp = fz_u8(body), tflags = fz_u8(body);
	uint32_t seq = fz_u32(body);
	uint16_t ipid = fz_u16(body);
	uint8_t cli[16], srv[16];
	uint16_t sport = server_ports[pp & 7], cport = (uint16_t)(40000 + (pp >> 3));
	uint8_t proto = type == 1 ? IPPROTO_TCP : type == 2 ? IPPROTO_UDP :
			v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	size_t ih = v6 ? 40 : 20, fh = (v6 && frag) ? 8 : 0, l4h, plen, n;
	const uint8_t *payload;
	uint16_t fragoff = frag >= 2 ? (uint16_t)((ipid & 0xff) + 1) : 0; /* 8-byte units */
	bool mf = frag == 1 || frag == 2;
	uint8_t *l4;

	endpoint(cli, v6, false, ep & 3);
	endpoint(srv, v6, true, (ep >> 4) & 3);
	l4h = frag >= 2 ? 0 : type == 1 ? 20 : 8;
	plen = fz_bytes(body, FRAME_MAX - ih - fh - l4h, &payload);
	n = ih + fh + l4h + plen;
	memset(f, 0, ih + fh + l4h);

	if (!v6) {
		f[0] = 0x45;
		put16(f + 2, (uint16_t)n);
		put16(f + 4, ipid);
		put16(f + 6, (uint16_t)((mf ? 0x2000 : 0) | fragoff));
		f[8] = 64;
		f[9] = proto;
		memcpy(f + 12, toclient ? srv : cli, 4);
		memcpy(f + 16, toclient ? cli : srv, 4);
	} else {
		f[0] = 0x60;
		put16(f + 4, (uint16_t)(n - 40));
		f[6] = frag ? 44 : proto;
		f[7] = 64;
		memcpy(f + 8, toclient ? srv : cli, 16);
		memcpy(f + 24, toclient ? cli : srv, 16);
		if (frag) {
			f[40] = proto;
			put16(f + 42, (uint16_t)((fragoff << 3) | (mf ? 1 : 0)));
			put32(f + 44, ipid);
		}
	}
	l4 = f + ih + fh;
	if (l4h == 20) {
		put16(l4, toclient ? sport : cport);
		put16(l4 + 2, toclient ? cport : sport);
		put32(l4 + 4, seq);
		put32(l4 + 8, seq ^ 0x5a5a5a5a);
		l4[12] = 0x50;
		l4[13] = tflags;
		put16(l4 + 14, 65535);
	} else if (l4h == 8) {
		if (type == 3) {
			l4[0] = tflags; /* ICMP type and code */
			l4[1] = (uint8_t)(seq & 0xff);
		} else {
			put16(l4, toclient ? sport : cport);
			put16(l4 + 2, toclient ? cport : sport);
			put16(l4 + 4, (uint16_t)(8 + plen));
		}
	}
	if (plen)
		memcpy(l4 + l4h, payload, plen);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t max_flows[4] = { 1, 2, 4, 64 };
	static const uint32_t interim[4] = { 0, 1, 10, 60 };
	static const uint64_t unit[4] = { 1000000ull, 100000000ull, 1000000000ull,
					  20000000000ull };
	static const size_t cut[4] = { 0, 0, 10, 100 };
	struct fuzz_sessions fs = { 0 };
	struct decode_stats dst;
	struct agg_config cfg;
	struct agg_stats as;
	struct flow_table_stats fts;
	struct aggregator *agg;
	uint64_t now = 1700000000ull * 1000000000ull;
	unsigned npkts = 0;
	struct fz in;
	uint8_t conf;

	fz_init(&in, data, size);
	conf = fz_u8(&in);
	fs.all_flows = conf & 1;

	agg_config_default(&cfg);
	cfg.flow.max_flows = max_flows[(conf >> 2) & 3];
	cfg.flow.timeout_s[FLOW_LIST_TCP_NEW] = 2;
	cfg.flow.timeout_s[FLOW_LIST_TCP_EST] = 30;
	cfg.flow.timeout_s[FLOW_LIST_TCP_CLOSED] = 1;
	cfg.flow.timeout_s[FLOW_LIST_OTHER] = 5;
	cfg.interim_s = interim[(conf >> 4) & 3];
	cfg.frag_slots = 2;
	cfg.seed = 7;
	cfg.identify = !(conf & 2);
	cfg.app.ident_slots = 2;
	cfg.app.reasm_slots = 1;
	cfg.app.dns_cache_entries = 4;
	cfg.app.dns_ttl_floor_s = 5;
	cfg.app.keep_unclassified = conf & 1;
	cfg.catalog = fuzz_catalog;
	agg = agg_new(&cfg, fuzz_on_session, &fs);
	if (!agg)
		abort();
	memset(&dst, 0, sizeof(dst));

	while (in.len && npkts++ < 512) {
		uint8_t dt = fz_u8(&in), kind = fz_u8(&in);
		const uint8_t *rec;
		size_t reclen = fz_bytes(&in, fz_u16(&in), &rec);
		uint8_t frame[FRAME_MAX];
		uint8_t *exact;
		size_t n, caplen;
		struct packet pkt;

		if (dt == 0xff)
			now -= 2000000000ull;
		else
			now += (dt & 63) * unit[dt >> 6];

		if ((kind & 3) == 0) {
			n = reclen < FRAME_MAX ? reclen : FRAME_MAX;
			memcpy(frame, rec, n);
		} else {
			struct fz body;
			fz_init(&body, rec, reclen);
			n = build(frame, kind, &body);
		}
		caplen = n > cut[(kind >> 4) & 3] ? n - cut[(kind >> 4) & 3] : n;
		exact = malloc(caplen ? caplen : 1); /* ASan: nothing past caplen */
		if (!exact)
			abort();
		memcpy(exact, frame, caplen);
		decode_packet(&pkt, DECODE_DLT_RAW, exact, caplen, n, now, &dst);
		agg_packet(agg, &pkt);
		free(exact);
	}
	agg_finish(agg);
	agg_get_stats(agg, &as, &fts);
	FUZZ_CHECK(fts.active == 0);
	FUZZ_CHECK(fts.created == fts.ended);
	FUZZ_CHECK(fs.records == as.sessions);
	FUZZ_CHECK(fs.updates == as.updates);
	FUZZ_CHECK(fts.max_active <= cfg.flow.max_flows);
	agg_free(agg);
	return 0;
}
