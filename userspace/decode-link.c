/* SPDX-License-Identifier: MIT */
/*
 * decode-link.c -- link-layer decoding and the link-type dispatch table:
 * Ethernet II with up to two 802.1Q/802.1ad tags, MPLS label stacks,
 * PPPoE session frames, Linux cooked capture v1 and v2 (`tcpdump -i any`),
 * raw IP, BSD loopback/null, PPP (LINKTYPE_PPP) and PPP in HDLC-like
 * framing (LINKTYPE_PPP_HDLC, RFC 1662; Cisco HDLC frames there too).  Anything that is not IP is counted and
 * reported as DECODE_OK with pkt->l3 == 0.
 */
#include "decode.h"
#include "decode-int.h"

#include <string.h>

#define ETH_HLEN_ 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS_UC 0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_PPPOE_SESS 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

enum decode_result decode_ip_by_version(struct decode_ctx *d, struct cursor *c)
{
	uint8_t b;
	if (!cur_peek_u8(c, &b)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	switch (b >> 4) {
	case 4:
		return decode_ipv4(d, c);
	case 6:
		return decode_ipv6(d, c);
	default:
		d->st->invalid++;
		return DECODE_INVALID;
	}
}

static enum decode_result decode_mpls(struct decode_ctx *d, struct cursor *c)
{
	uint32_t entry;
	d->st->mpls++;
	/* the bound is on the packet's labels, not this stack's: a tunnel
	 * can carry a second stack inside the first */
	while (d->pkt->mpls_count < DECODE_MAX_MPLS) {
		if (!cur_be32(c, &entry)) {
			d->st->truncated++;
			return DECODE_TRUNCATED;
		}
		decode_wire_consume(d, 4);
		d->pkt->mpls_count++;
		if (entry & 0x100) /* bottom of stack */
			return decode_ip_by_version(d, c);
	}
	d->st->unsupported++;
	return DECODE_UNSUPPORTED;
}

/* The PPP protocol field: one byte when its low bit is set (protocol
 * field compression, RFC 1661 section 6.5), otherwise two. */
enum decode_result decode_ppp_proto(struct decode_ctx *d, struct cursor *c)
{
	uint8_t hi, lo;
	uint16_t proto;

	if (!cur_u8(c, &hi)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if (hi & 1) {
		proto = hi;
		decode_wire_consume(d, 1);
	} else {
		if (!cur_u8(c, &lo)) {
			d->st->truncated++;
			return DECODE_TRUNCATED;
		}
		proto = (uint16_t)(hi << 8 | lo);
		decode_wire_consume(d, 2);
	}
	if (proto == PPP_IPV4)
		return decode_ipv4(d, c);
	if (proto == PPP_IPV6)
		return decode_ipv6(d, c);
	d->st->non_ip++;
	return DECODE_OK;
}

static enum decode_result decode_pppoe(struct decode_ctx *d, struct cursor *c)
{
	/* ver/type(1) code(1) session(2) length(2), then the PPP protocol */
	if (!cur_skip(c, 6)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	decode_wire_consume(d, 6);
	return decode_ppp_proto(d, c);
}

/* LINKTYPE_PPP: optional address/control bytes 0xff 0x03, then the
 * protocol.  LINKTYPE_PPP_HDLC the same, or a Cisco HDLC frame (address
 * 0x0f/0x8f, control 0, ethertype), which libpcap files under it too. */
static enum decode_result decode_ppp_link(struct decode_ctx *d, struct cursor *c)
{
	uint16_t first;

	d->st->ppp++;
	if (!cur_peek_be16(c, &first)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if (first == 0xff03) {
		if (!cur_skip(c, 2))
			return DECODE_TRUNCATED; /* not reached: peeked */
		decode_wire_consume(d, 2);
	} else if (first == 0x0f00 || first == 0x8f00) {
		uint16_t type;
		if (!cur_skip(c, 2) || !cur_be16(c, &type)) {
			d->st->truncated++;
			return DECODE_TRUNCATED;
		}
		decode_wire_consume(d, 4);
		return decode_ethertype(d, c, type);
	}
	return decode_ppp_proto(d, c);
}

enum decode_result decode_ethertype(struct decode_ctx *d, struct cursor *c, uint16_t type)
{
	for (;;) {
		switch (type) {
		case ETHERTYPE_IPV4:
			return decode_ipv4(d, c);
		case ETHERTYPE_IPV6:
			return decode_ipv6(d, c);
		case ETHERTYPE_VLAN:
		case ETHERTYPE_QINQ:
		case ETHERTYPE_QINQ_OLD: {
			uint16_t tci;
			if (d->pkt->vlan_count >= DECODE_MAX_VLAN) {
				d->st->unsupported++;
				return DECODE_UNSUPPORTED;
			}
			if (!cur_be16(c, &tci) || !cur_be16(c, &type)) {
				d->st->truncated++;
				return DECODE_TRUNCATED;
			}
			decode_wire_consume(d, 4);
			d->st->vlan++;
			d->pkt->vlan[d->pkt->vlan_count++] = tci & 0x0fff;
			continue;
		}
		case ETHERTYPE_MPLS_UC:
		case ETHERTYPE_MPLS_MC:
			return decode_mpls(d, c);
		case ETHERTYPE_PPPOE_SESS:
			return decode_pppoe(d, c);
		default:
			d->st->non_ip++;
			return DECODE_OK;
		}
	}
}

enum decode_result decode_ether_frame(struct decode_ctx *d, struct cursor *c)
{
	uint16_t type;
	if (!cur_skip(c, 12) || !cur_be16(c, &type)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	decode_wire_consume(d, ETH_HLEN_);
	d->st->eth++;
	if (type < 0x0600) { /* 802.3 length field: LLC, not IP */
		d->st->non_ip++;
		return DECODE_OK;
	}
	return decode_ethertype(d, c, type);
}

/* Linux cooked v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2). */
static enum decode_result decode_sll(struct decode_ctx *d, struct cursor *c)
{
	uint16_t proto;
	if (!cur_skip(c, 14) || !cur_be16(c, &proto)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	decode_wire_consume(d, 16);
	d->st->sll++;
	if (proto < 0x0600) { /* 802.3 / 802.2 / CAN pseudo-protocols */
		d->st->non_ip++;
		return DECODE_OK;
	}
	return decode_ethertype(d, c, proto);
}

/* Linux cooked v2: protocol(2) reserved(2) ifindex(4) hatype(2)
 * pkttype(1) halen(1) addr(8). */
static enum decode_result decode_sll2(struct decode_ctx *d, struct cursor *c)
{
	uint16_t proto;
	if (!cur_be16(c, &proto) || !cur_skip(c, 18)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	decode_wire_consume(d, 20);
	d->st->sll2++;
	if (proto < 0x0600) {
		d->st->non_ip++;
		return DECODE_OK;
	}
	return decode_ethertype(d, c, proto);
}

/* BSD loopback: a 4-byte address family, host order for DLT_NULL (of the
 * machine that wrote the file, so either), network order for DLT_LOOP. */
static enum decode_result decode_null(struct decode_ctx *d, struct cursor *c)
{
	uint32_t fam;
	if (!cur_le32(c, &fam)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	decode_wire_consume(d, 4);
	d->st->null_loop++;
	if (fam > 0xffff) /* written big-endian */
		fam = __builtin_bswap32(fam);
	switch (fam) {
	case 2: /* AF_INET everywhere */
		return decode_ipv4(d, c);
	case 10: case 24: case 28: case 30: /* AF_INET6: Linux, BSDs, macOS */
		return decode_ipv6(d, c);
	default:
		d->st->non_ip++;
		return DECODE_OK;
	}
}

static enum decode_result decode_raw(struct decode_ctx *d, struct cursor *c)
{
	d->st->raw++;
	return decode_ip_by_version(d, c);
}

static enum decode_result decode_raw4(struct decode_ctx *d, struct cursor *c)
{
	d->st->raw++;
	return decode_ipv4(d, c);
}

static enum decode_result decode_raw6(struct decode_ctx *d, struct cursor *c)
{
	d->st->raw++;
	return decode_ipv6(d, c);
}

typedef enum decode_result decode_link_fn(struct decode_ctx *d, struct cursor *c);

static const struct {
	int dlt;
	const char *name;
	decode_link_fn *fn;
} link_table[] = {
	{ DECODE_DLT_EN10MB, "EN10MB", decode_ether_frame },
	{ DECODE_DLT_LINUX_SLL, "LINUX_SLL", decode_sll },
	{ DECODE_DLT_LINUX_SLL2, "LINUX_SLL2", decode_sll2 },
	{ DECODE_DLT_RAW, "RAW", decode_raw },
	{ DECODE_LINKTYPE_RAW, "RAW", decode_raw },
	{ 14, "RAW", decode_raw }, /* DLT_RAW on OpenBSD */
	{ DECODE_DLT_IPV4, "IPV4", decode_raw4 },
	{ DECODE_DLT_IPV6, "IPV6", decode_raw6 },
	{ DECODE_DLT_NULL, "NULL", decode_null },
	{ DECODE_DLT_LOOP, "LOOP", decode_null },
	{ DECODE_DLT_PPP, "PPP", decode_ppp_link },
	{ DECODE_DLT_PPP_SERIAL, "PPP_SERIAL", decode_ppp_link },
	{ -1, NULL, NULL },
};

static decode_link_fn *link_lookup(int linktype, const char **name)
{
	for (unsigned i = 0; link_table[i].name; i++) {
		if (link_table[i].dlt == linktype) {
			if (name)
				*name = link_table[i].name;
			return link_table[i].fn;
		}
	}
	return NULL;
}

int decode_linktype_supported(int linktype)
{
	return link_lookup(linktype, NULL) != NULL;
}

const char *decode_linktype_name(int linktype)
{
	const char *name = "unknown";
	link_lookup(linktype, &name);
	return name;
}

enum decode_result decode_packet(struct packet *pkt, int linktype,
				 const uint8_t *frame, size_t caplen,
				 size_t wirelen, uint64_t ts_ns,
				 struct decode_stats *st)
{
	return decode_packet_cfg(pkt, NULL, linktype, frame, caplen, wirelen, ts_ns, st);
}

enum decode_result decode_packet_cfg(struct packet *pkt, const struct decode_config *cfg,
				     int linktype, const uint8_t *frame, size_t caplen,
				     size_t wirelen, uint64_t ts_ns, struct decode_stats *st)
{
	struct decode_ctx d = { .pkt = pkt, .st = st };
	struct cursor c;
	decode_link_fn *fn;

	memset(pkt, 0, sizeof(*pkt));
	if (wirelen < caplen) /* a broken writer; the captured bytes did cross */
		wirelen = caplen;
	pkt->ts_ns = ts_ns;
	pkt->wire_len = wirelen > UINT32_MAX ? UINT32_MAX : (uint32_t)wirelen;
	pkt->cap_len = caplen > UINT32_MAX ? UINT32_MAX : (uint32_t)caplen;
	d.wire_left = wirelen;
	st->packets++;
	st->bytes += wirelen;

	d.cfg = cfg ? cfg : &decode_config_defaults;
	fn = link_lookup(linktype, NULL);
	if (!fn) {
		st->unsupported++;
		return DECODE_UNSUPPORTED;
	}
	cur_init(&c, frame, caplen);
	return fn(&d, &c);
}
