/* SPDX-License-Identifier: MIT */
/*
 * decode-tunnel.c -- decapsulation: VXLAN (RFC 7348), GENEVE (RFC 8926),
 * GRE (RFC 2784/2890; PPTP's enhanced GRE, RFC 2637), ERSPAN type I, II
 * and III over GRE, IP-in-IP (4in4, 6in4, 4in6, 6in6) and Teredo
 * (RFC 4380).
 *
 * A tunnel is opened only when its header is whole and valid; otherwise
 * the packet stays the outer one (counted in tunnel_bad) and is reported
 * as before, so a stray datagram on port 4789 is still a UDP flow.  Once
 * opened, the inner packet replaces the outer one in struct packet: its
 * addresses, ports and payload, and its wire length (what the outer
 * header declared from the inner header on), with the outer bytes in
 * pkt->tunnel.overhead.  VLAN tags and MPLS labels accumulate across the
 * layers.  Nesting is bounded by DECODE_MAX_TUNNEL; one more is counted
 * (tunnel_depth_exceeded) and left closed.  Fragments of tunnel packets
 * are not opened (the inner header would be partial).
 *
 *   VXLAN:  |flags(8)=I 0x08|reserved(24)|VNI(24)|reserved(8)|
 *   GENEVE: |ver(2) optlen(6)|O C rsvd(6)|protocol(16)|VNI(24)|rsvd(8)|options|
 *   GRE:    |C R K S ... ver(3)|protocol(16)|[csum+rsvd]|[key]|[seq]|
 *   PPTP:   |  K [S] [A] ver=1 |0x880b|payload len|call id|[seq]|[ack]| PPP
 *   ERSPAN II:  |ver=1 vlan(12)|cos en t session(10)|rsvd(12) index(20)|
 *   ERSPAN III: |ver=2 vlan(12)|cos bso t session(10)|timestamp(32)|
 *               |sgt(16)|p ft(5) hw(6) d gra(2) o| [platform sub-header(64)]
 */
#include "decode.h"
#include "decode-int.h"

#include <netinet/in.h>
#include <string.h>

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_A 0x0080   /* PPTP: acknowledgment number present */
#define GRE_VER 0x0007

#define ETHERTYPE_IPV4_ 0x0800
#define ETHERTYPE_IPV6_ 0x86dd
#define ETHERTYPE_TEB 0x6558     /* transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN_2 0x88be
#define ETHERTYPE_ERSPAN_3 0x22eb
#define ETHERTYPE_PPP 0x880b
#define ETHERTYPE_MPLS_UC_ 0x8847
#define ETHERTYPE_MPLS_MC_ 0x8848

#define VXLAN_FLAG_I 0x08
#define TEREDO_MAX_HDRS 2        /* an authentication and an origin header */

const struct decode_config decode_config_defaults = {
	.decap = true,
	.type_on = { false, true, true, true, true, true, true },
};

void decode_config_default(struct decode_config *cfg)
{
	*cfg = decode_config_defaults;
}

static const char *const tunnel_names[TUNNEL_TYPE_COUNT] = {
	[TUNNEL_NONE] = "",          [TUNNEL_VXLAN] = "vxlan", [TUNNEL_GENEVE] = "geneve",
	[TUNNEL_GRE] = "gre",        [TUNNEL_ERSPAN] = "erspan", [TUNNEL_IPIP] = "ipip",
	[TUNNEL_TEREDO] = "teredo",
};

const char *decode_tunnel_name(int type)
{
	return type > 0 && type < TUNNEL_TYPE_COUNT ? tunnel_names[type] : "";
}

/* What the inner packet starts with. */
enum inner_kind {
	INNER_ETHER,    /* an Ethernet frame */
	INNER_IP,       /* IPv4 or IPv6 by the version nibble */
	INNER_IPV4,
	INNER_IPV6,
	INNER_PPP,      /* [0xff 0x03] PPP protocol, then its payload */
	INNER_ETHERTYPE,/* dispatch on an ethertype (MPLS) */
};

/* May a tunnel of @type be opened here?  Counts the depth bound. */
static bool tunnel_allowed(struct decode_ctx *d, int type)
{
	if (!d->cfg->decap || !d->cfg->type_on[type])
		return false;
	if (d->pkt->flags & PKT_FRAG)
		return false;
	if (d->depth >= DECODE_MAX_TUNNEL) {
		d->st->tunnel_depth_exceeded++;
		return false;
	}
	return true;
}

static bool tunnel_bad(struct decode_ctx *d)
{
	d->st->tunnel_bad++;
	return false;
}

/*
 * Open the tunnel: @c is positioned at the inner packet, @hdr_len outer
 * bytes were read from d->wire_left's start.  The per-layer fields of the
 * packet are reset (time, lengths, VLAN and MPLS are kept), the tunnel is
 * recorded, and the inner packet is decoded.
 */
static enum decode_result tunnel_open(struct decode_ctx *d, struct cursor *c, int type,
				      bool has_id, uint32_t id, size_t hdr_len,
				      enum inner_kind kind, uint16_t ethertype)
{
	struct packet *pkt = d->pkt;
	struct packet_tunnel t;
	uint32_t outer_wire = pkt->wire_len;

	memset(&t, 0, sizeof(t));
	t.type = (uint8_t)type;
	t.depth = (uint8_t)(d->depth + 1);
	t.has_id = has_id;
	t.id = has_id ? id : 0;
	/* PPTP's call id is the peer's, so it differs by direction */
	t.keyed = has_id && kind != INNER_PPP;
	t.src = pkt->src;
	t.dst = pkt->dst;
	decode_wire_consume(d, hdr_len);
	if (d->wire_left > outer_wire) /* cannot be: the budget only shrinks */
		d->wire_left = outer_wire;
	t.overhead = pkt->tunnel.overhead + (outer_wire - (uint32_t)d->wire_left);

	pkt->l3 = pkt->l4proto = pkt->tcp_flags = pkt->flags = 0;
	pkt->icmp_type = pkt->icmp_code = 0;
	pkt->sport = pkt->dport = 0;
	pkt->frag_id = pkt->frag_off = pkt->seq = pkt->ack = 0;
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->ip_len = pkt->payload_len = pkt->payload_caplen = 0;
	pkt->payload = NULL;
	pkt->wire_len = (uint32_t)d->wire_left;
	pkt->tunnel = t;
	d->depth++;
	d->st->tunnel[type]++;

	switch (kind) {
	case INNER_ETHER:
		return decode_ether_frame(d, c);
	case INNER_IP:
		return decode_ip_by_version(d, c);
	case INNER_IPV4:
		return decode_ipv4(d, c);
	case INNER_IPV6:
		return decode_ipv6(d, c);
	case INNER_PPP: {
		uint16_t ac;
		if (cur_peek_be16(c, &ac) && ac == 0xff03) {
			if (!cur_skip(c, 2))
				return DECODE_TRUNCATED; /* not reached: peeked */
			decode_wire_consume(d, 2);
		}
		return decode_ppp_proto(d, c);
	}
	case INNER_ETHERTYPE:
	default:
		return decode_ethertype(d, c, ethertype);
	}
}

/* The inner packet of a tunnel whose payload is named by an ethertype
 * (GRE, GENEVE): false when we do not decode that payload. */
static bool inner_by_ethertype(uint16_t type, enum inner_kind *kind)
{
	switch (type) {
	case ETHERTYPE_IPV4_: *kind = INNER_IPV4; return true;
	case ETHERTYPE_IPV6_: *kind = INNER_IPV6; return true;
	case ETHERTYPE_TEB: *kind = INNER_ETHER; return true;
	case ETHERTYPE_MPLS_UC_:
	case ETHERTYPE_MPLS_MC_: *kind = INNER_ETHERTYPE; return true;
	default: return false;
	}
}

/* --- UDP tunnels ------------------------------------------------------ */

static bool port_in(uint16_t port, uint16_t base, const uint16_t extra[DECODE_EXTRA_PORTS])
{
	if (port == base)
		return true;
	for (unsigned i = 0; i < DECODE_EXTRA_PORTS; i++)
		if (extra[i] && extra[i] == port)
			return true;
	return false;
}

static bool decode_vxlan(struct decode_ctx *d, struct cursor *payload, enum decode_result *res)
{
	struct cursor c = *payload;
	uint8_t flags;
	uint32_t vni;

	if (!tunnel_allowed(d, TUNNEL_VXLAN))
		return false;
	if (!cur_u8(&c, &flags) || !cur_skip(&c, 3) || !cur_be32(&c, &vni))
		return tunnel_bad(d);
	if (!(flags & VXLAN_FLAG_I))
		return tunnel_bad(d);
	*res = tunnel_open(d, &c, TUNNEL_VXLAN, true, vni >> 8, 8, INNER_ETHER, 0);
	return true;
}

static bool decode_geneve(struct decode_ctx *d, struct cursor *payload, enum decode_result *res)
{
	struct cursor c = *payload;
	uint8_t verlen, flags;
	uint16_t proto;
	uint32_t vni;
	size_t optlen;
	enum inner_kind kind;

	if (!tunnel_allowed(d, TUNNEL_GENEVE))
		return false;
	if (!cur_u8(&c, &verlen) || !cur_u8(&c, &flags) || !cur_be16(&c, &proto) ||
	    !cur_be32(&c, &vni))
		return tunnel_bad(d);
	optlen = (size_t)(verlen & 0x3f) * 4;
	if ((verlen >> 6) != 0 || !cur_skip(&c, optlen)) /* version 0 only */
		return tunnel_bad(d);
	if (!inner_by_ethertype(proto, &kind))
		return false;
	*res = tunnel_open(d, &c, TUNNEL_GENEVE, true, vni >> 8, 8 + optlen, kind, proto);
	return true;
}

/* Teredo: [authentication header] [origin indication] IPv6 packet.  Not a
 * tunnel (plain UDP) unless an IPv6 header that fits follows. */
static bool decode_teredo(struct decode_ctx *d, struct cursor *payload, enum decode_result *res)
{
	struct cursor c = *payload;
	size_t hdr = 0;
	uint8_t vbyte;
	uint16_t plen;

	if (!d->cfg->decap || !d->cfg->type_on[TUNNEL_TEREDO])
		return false;
	for (unsigned i = 0; i < TEREDO_MAX_HDRS; i++) {
		uint16_t ind;
		uint8_t idlen, aulen;
		if (!cur_peek_be16(&c, &ind))
			return false;
		if (ind == 0x0001) { /* authentication: id, auth value, nonce(8), confirmation(1) */
			if (!cur_skip(&c, 2) || !cur_u8(&c, &idlen) || !cur_u8(&c, &aulen) ||
			    !cur_skip(&c, (size_t)idlen + aulen + 9))
				return false;
			hdr += 4 + (size_t)idlen + aulen + 9;
		} else if (ind == 0x0000) { /* origin indication: port(2) address(4) */
			if (!cur_skip(&c, 8))
				return false;
			hdr += 8;
		} else {
			break;
		}
	}
	if (!cur_peek_u8(&c, &vbyte) || (vbyte >> 4) != 6 || cur_len(&c) < 40)
		return false;
	{
		struct cursor v = c;
		if (!cur_skip(&v, 4) || !cur_be16(&v, &plen))
			return false;
	}
	if (d->wire_left < hdr || (size_t)plen + 40 > d->wire_left - hdr)
		return false;
	if (!tunnel_allowed(d, TUNNEL_TEREDO))
		return false;
	*res = tunnel_open(d, &c, TUNNEL_TEREDO, false, 0, hdr, INNER_IPV6, 0);
	return true;
}

bool decode_tunnel_udp(struct decode_ctx *d, struct cursor *payload, enum decode_result *res)
{
	const struct decode_config *cfg = d->cfg;
	uint16_t sp = d->pkt->sport, dp = d->pkt->dport;

	if (!cfg->decap || (d->pkt->flags & PKT_FRAG))
		return false;
	if (port_in(dp, DECODE_VXLAN_PORT, cfg->vxlan_ports) ||
	    port_in(sp, DECODE_VXLAN_PORT, cfg->vxlan_ports))
		return decode_vxlan(d, payload, res);
	if (port_in(dp, DECODE_GENEVE_PORT, cfg->geneve_ports) ||
	    port_in(sp, DECODE_GENEVE_PORT, cfg->geneve_ports))
		return decode_geneve(d, payload, res);
	if (dp == DECODE_TEREDO_PORT || sp == DECODE_TEREDO_PORT)
		return decode_teredo(d, payload, res);
	return false;
}

/* --- IP protocols: GRE and IP-in-IP ------------------------------------ */

/* ERSPAN after a GRE header (whose sequence bit tells type I from II). */
static bool decode_erspan(struct decode_ctx *d, struct cursor *c, uint16_t proto, bool gre_seq,
			  size_t gre_len, enum decode_result *res)
{
	uint32_t w;
	uint16_t sgt, bits;
	size_t hdr = gre_len;

	if (!tunnel_allowed(d, TUNNEL_ERSPAN))
		return false;
	if (proto == ETHERTYPE_ERSPAN_2 && !gre_seq) /* type I: no ERSPAN header */
		goto open_type1;
	if (!cur_be32(c, &w))
		return tunnel_bad(d);
	if (proto == ETHERTYPE_ERSPAN_2) {
		if ((w >> 28) != 1 || !cur_skip(c, 4))
			return tunnel_bad(d);
		hdr += 8;
	} else {
		if ((w >> 28) != 2 || !cur_skip(c, 4) || !cur_be16(c, &sgt) || !cur_be16(c, &bits))
			return tunnel_bad(d);
		hdr += 12;
		if (((bits >> 10) & 0x1f) != 0) /* frame type: 0 = Ethernet */
			return false;
		if (bits & 1) { /* platform-specific sub-header */
			if (!cur_skip(c, 8))
				return tunnel_bad(d);
			hdr += 8;
		}
	}
	*res = tunnel_open(d, c, TUNNEL_ERSPAN, true, w & 0x3ff, hdr, INNER_ETHER, 0);
	return true;
open_type1:
	*res = tunnel_open(d, c, TUNNEL_ERSPAN, false, 0, hdr, INNER_ETHER, 0);
	return true;
}

static bool decode_gre(struct decode_ctx *d, struct cursor *ip_payload, enum decode_result *res)
{
	struct cursor c = *ip_payload;
	uint16_t flags, proto;
	uint32_t key = 0;
	size_t len = 4;
	enum inner_kind kind;

	if (!d->cfg->decap)
		return false;
	if (!cur_be16(&c, &flags) || !cur_be16(&c, &proto))
		return tunnel_bad(d);
	switch (flags & GRE_VER) {
	case 0:
		if (flags & GRE_R) /* RFC 1701 source routing: not decoded */
			return tunnel_bad(d);
		if (flags & GRE_C) {
			if (!cur_skip(&c, 4))
				return tunnel_bad(d);
			len += 4;
		}
		if (flags & GRE_K) {
			if (!cur_be32(&c, &key))
				return tunnel_bad(d);
			len += 4;
		}
		if (flags & GRE_S) {
			if (!cur_skip(&c, 4))
				return tunnel_bad(d);
			len += 4;
		}
		if (proto == ETHERTYPE_ERSPAN_2 || proto == ETHERTYPE_ERSPAN_3)
			return decode_erspan(d, &c, proto, flags & GRE_S, len, res);
		if (!inner_by_ethertype(proto, &kind))
			return false;
		if (!tunnel_allowed(d, TUNNEL_GRE))
			return false;
		*res = tunnel_open(d, &c, TUNNEL_GRE, flags & GRE_K, key, len, kind, proto);
		return true;
	case 1: /* PPTP: key = payload length(16) call id(16) */
		if (proto != ETHERTYPE_PPP || !(flags & GRE_K) || !cur_be32(&c, &key))
			return tunnel_bad(d);
		len += 4;
		if ((flags & GRE_S) && !cur_skip(&c, 4))
			return tunnel_bad(d);
		len += (flags & GRE_S) ? 4 : 0;
		if ((flags & GRE_A) && !cur_skip(&c, 4))
			return tunnel_bad(d);
		len += (flags & GRE_A) ? 4 : 0;
		if (!cur_len(&c)) /* an acknowledgment alone */
			return false;
		if (!tunnel_allowed(d, TUNNEL_GRE))
			return false;
		*res = tunnel_open(d, &c, TUNNEL_GRE, true, key & 0xffff, len, INNER_PPP, 0);
		return true;
	default:
		return tunnel_bad(d);
	}
}

bool decode_tunnel_ip(struct decode_ctx *d, struct cursor *c, uint8_t proto,
		      enum decode_result *res)
{
	uint8_t vbyte;

	if (!d->cfg->decap || (d->pkt->flags & PKT_FRAG))
		return false;
	switch (proto) {
	case IPPROTO_GRE:
		return decode_gre(d, c, res);
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		if (!d->cfg->type_on[TUNNEL_IPIP])
			return false;
		if (!cur_peek_u8(c, &vbyte) || (vbyte >> 4) != (proto == IPPROTO_IPIP ? 4 : 6))
			return tunnel_bad(d);
		if (!tunnel_allowed(d, TUNNEL_IPIP))
			return false;
		*res = tunnel_open(d, c, TUNNEL_IPIP, false, 0, 0,
				   proto == IPPROTO_IPIP ? INNER_IPV4 : INNER_IPV6, 0);
		return true;
	default:
		return false;
	}
}
