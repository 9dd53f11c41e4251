/* SPDX-License-Identifier: MIT */
/*
 * tunnel.bpf.h -- BPF-only decapsulation for capture.bpf.c: VXLAN
 * (RFC 7348, UDP 4789), GENEVE (RFC 8926, UDP 6081, options skipped by
 * their length), GRE (RFC 2784/2890: checksum, key, sequence; IPv4, IPv6,
 * 0x6558 Ethernet, MPLS payloads), PPTP's enhanced GRE (RFC 2637) carrying
 * PPP, ERSPAN I/II/III over GRE, IP-in-IP (IPv4 protocol / IPv6 next
 * header 4 and 41).
 *
 * Mirrors userspace/decode-tunnel.c, which is the reference: a tunnel is
 * opened only when its header is whole (in the capture and in the outer
 * length) and valid, else the packet stays the outer one (TUN_BAD); no
 * fragment is opened; one tunnel more than CAPTURE_MAX_TUNNEL is left
 * closed (TUN_DEEP).  Opening makes the inner packet the current layer:
 * it starts after the tunnel header and its wire bytes end where the
 * outer header's length said (UDP length / IP payload), so the flow
 * counts the inner packet's wire length, as offline.  The innermost
 * tunnel's tenant id (VNI, GRE key, ERSPAN II/III session) keys the flow.
 *
 *   VXLAN:  |flags(8)=I 0x08|reserved(24)|VNI(24)|reserved(8)|
 *   GENEVE: |ver(2) optlen(6)|O C rsvd(6)|protocol(16)|VNI(24)|rsvd(8)|options|
 *   GRE:    |C R K S ... ver(3)|protocol(16)|[csum+rsvd]|[key]|[seq]|
 *   PPTP:   |  K [S] [A] ver=1 |0x880b|payload len|call id|[seq]|[ack]| PPP
 *   ERSPAN II:  |ver=1 vlan(12)|cos en t session(10)|rsvd(12) index(20)|
 *   ERSPAN III: |ver=2 vlan(12)|cos bso t session(10)|timestamp(32)|
 *               |sgt(16)|p ft(5) hw(6) d gra(2) o| [platform sub-header(64)]
 */
#ifndef MAILTAP_TUNNEL_BPF_H
#define MAILTAP_TUNNEL_BPF_H

#include "parse.bpf.h"

#define TUN_PORT_VXLAN 4789
#define TUN_PORT_GENEVE 6081
#define GRE_C_ 0x8000
#define GRE_R_ 0x4000
#define GRE_K_ 0x2000
#define GRE_S_ 0x1000
#define GRE_A_ 0x0080 /* PPTP: acknowledgment number present */
#define GRE_VER_ 0x0007
#define ETH_P_TEB_ 0x6558
#define ETH_P_ERSPAN2_ 0x88be
#define ETH_P_ERSPAN3_ 0x22eb
#define ETH_P_PPP_ 0x880b
#define ETH_P_MPLS_UC_ 0x8847
#define ETH_P_MPLS_MC_ 0x8848
#define TUN_MAX_OFF 2048 /* tunnel headers beyond this are not read */

/* Which tunnels are opened (the config's decap section; rodata set on the
 * skeleton before load, capture.h): a bit (1 << CAPTURE_TUN_x) per closed
 * type, and extra UDP ports for VXLAN and GENEVE (0 = unused). */
const volatile __u32 cfg_decap_off = 0;
const volatile __u16 cfg_vxlan_ports[CAPTURE_TUN_EXTRA_PORTS] = { 0 };
const volatile __u16 cfg_geneve_ports[CAPTURE_TUN_EXTRA_PORTS] = { 0 };

static __always_inline int tun_on(__u32 type)
{
	return !(cfg_decap_off & (1u << type));
}

static __always_inline int tun_port_in(__u16 port, __u16 std, const volatile __u16 *extra)
{
	if (port == std)
		return 1;
#pragma unroll
	for (int i = 0; i < CAPTURE_TUN_EXTRA_PORTS; i++)
		if (extra[i] && port == extra[i])
			return 1;
	return 0;
}

/* The UDP tunnel @p's ports name: CAPTURE_TUN_VXLAN, _GENEVE or 0. */
static __always_inline int tun_udp_type(const struct pkt *p)
{
	if (tun_on(CAPTURE_TUN_VXLAN) &&
	    (tun_port_in(p->dport, TUN_PORT_VXLAN, cfg_vxlan_ports) ||
	     tun_port_in(p->sport, TUN_PORT_VXLAN, cfg_vxlan_ports)))
		return CAPTURE_TUN_VXLAN;
	if (tun_on(CAPTURE_TUN_GENEVE) &&
	    (tun_port_in(p->dport, TUN_PORT_GENEVE, cfg_geneve_ports) ||
	     tun_port_in(p->sport, TUN_PORT_GENEVE, cfg_geneve_ports)))
		return CAPTURE_TUN_GENEVE;
	return 0;
}

/* tunnel_next() result */
#define TUN_NONE   0 /* not a tunnel (or one we leave closed): the packet is final */
#define TUN_OPENED 1 /* p is now the inner packet: parse_layer() again */
#define TUN_BAD    2 /* header cut or invalid: the packet stays the outer one */
#define TUN_DEEP   3 /* CAPTURE_MAX_TUNNEL reached: left closed */

static __always_inline __u32 tun_be16(const __u8 *b)
{
	return (__u32)b[0] << 8 | b[1];
}

static __always_inline __u32 tun_be24(const __u8 *b)
{
	return (__u32)b[0] << 16 | (__u32)b[1] << 8 | b[2];
}

/*
 * Make the inner packet the current layer: it starts @hdr_len bytes after
 * the tunnel header at @off, whose layer had @wire bytes on the wire from
 * @off on.  Frame fields (time, lengths, VLAN tags) stay.
 */
static __always_inline int tunnel_open(struct pkt *p, __u8 type, int keyed, __u32 id,
				       __u32 off, __u32 hdr_len, __u32 wire, __u8 kind)
{
	p->l_off = off + hdr_len;
	p->l_end = p->l_off + (wire > hdr_len ? wire - hdr_len : 0);
	p->in_off = p->l_off;
	p->l_kind = kind;
	p->tun_type = type;
	p->tun_kind = keyed ? type : 0;
	p->tun_id = keyed ? id : 0;
	p->depth++;
	__builtin_memset(&p->src, 0, sizeof(*p) - __builtin_offsetof(struct pkt, src));
	return TUN_OPENED;
}

/* A payload named by an ethertype (GRE, GENEVE): LAYER_*, or -1 when
 * the tunnel is not opened for it (decode-tunnel.c inner_by_ethertype). */
static __always_inline int tun_inner_kind(__u32 type)
{
	switch (type) {
	case ETH_P_IP: return LAYER_IPV4;
	case ETH_P_IPV6: return LAYER_IPV6;
	case ETH_P_TEB_: return LAYER_ETH;
	case ETH_P_MPLS_UC_:
	case ETH_P_MPLS_MC_: return LAYER_NONIP;
	default: return -1;
	}
}

static __always_inline int tun_vxlan(void *data, void *data_end, struct pkt *p,
				     __u32 off, __u32 wire)
{
	__u8 *h = data + off;

	if (p->depth >= CAPTURE_MAX_TUNNEL)
		return TUN_DEEP;
	if (wire < 8 || (void *)(h + 8) > data_end)
		return TUN_BAD;
	if (!(h[0] & 0x08)) /* I: the VNI is valid */
		return TUN_BAD;
	return tunnel_open(p, CAPTURE_TUN_VXLAN, 1, tun_be24(h + 4), off, 8, wire, LAYER_ETH);
}

static __always_inline int tun_geneve(void *data, void *data_end, struct pkt *p,
				      __u32 off, __u32 wire)
{
	__u8 *h = data + off;
	__u32 optlen, hlen;
	int kind;

	if (p->depth >= CAPTURE_MAX_TUNNEL)
		return TUN_DEEP;
	if (wire < 8 || (void *)(h + 8) > data_end)
		return TUN_BAD;
	optlen = (__u32)(h[0] & 0x3f) * 4; /* <= CAPTURE_GENEVE_OPT_MAX */
	hlen = 8 + optlen;
	if ((h[0] >> 6) != 0 || hlen > wire || (void *)(h + hlen) > data_end)
		return TUN_BAD; /* version 0 only; options must be there */
	kind = tun_inner_kind(tun_be16(h + 2));
	if (kind < 0)
		return TUN_NONE;
	return tunnel_open(p, CAPTURE_TUN_GENEVE, 1, tun_be24(h + 4), off, hlen, wire, kind);
}

/* ERSPAN after a GRE header of @len bytes (whose sequence bit tells
 * type I from II). */
static __always_inline int tun_erspan(void *data, void *data_end, struct pkt *p, __u32 off,
				      __u32 wire, __u32 proto, __u32 seq, __u32 len)
{
	__u8 *e = data + off + len;
	__u32 w, hdr;

	if (p->depth >= CAPTURE_MAX_TUNNEL)
		return TUN_DEEP;
	if (proto == ETH_P_ERSPAN2_ && !seq) /* type I: no ERSPAN header */
		return tunnel_open(p, CAPTURE_TUN_ERSPAN, 0, 0, off, len, wire, LAYER_ETH);
	if (len + 8 > wire || (void *)(e + 8) > data_end)
		return TUN_BAD;
	w = tun_be16(e) << 16 | tun_be16(e + 2);
	if (proto == ETH_P_ERSPAN2_) {
		if ((w >> 28) != 1)
			return TUN_BAD;
		hdr = len + 8;
	} else {
		__u32 bits;

		if ((w >> 28) != 2 || len + 12 > wire || (void *)(e + 12) > data_end)
			return TUN_BAD;
		bits = tun_be16(e + 10);
		hdr = len + 12;
		if ((bits >> 10) & 0x1f) /* frame type: 0 = Ethernet */
			return TUN_NONE;
		if (bits & 1) { /* platform-specific sub-header */
			if (hdr + 8 > wire || (void *)(e + 20) > data_end)
				return TUN_BAD;
			hdr += 8;
		}
	}
	return tunnel_open(p, CAPTURE_TUN_ERSPAN, 1, w & 0x3ff, off, hdr, wire, LAYER_ETH);
}

static __always_inline int tun_gre(void *data, void *data_end, struct pkt *p,
				   __u32 off, __u32 wire)
{
	__u8 *h = data + off;
	__u32 flags, proto, len = 4, key = 0;
	int kind;

	if (wire < 4 || (void *)(h + 4) > data_end)
		return TUN_BAD;
	flags = tun_be16(h);
	proto = tun_be16(h + 2);
	if ((flags & GRE_VER_) == 1) { /* PPTP: key = payload length(16) call id(16) */
		if (proto != ETH_P_PPP_ || !(flags & GRE_K_))
			return TUN_BAD;
		len = 8 + ((flags & GRE_S_) ? 4 : 0) + ((flags & GRE_A_) ? 4 : 0);
		if (len > wire || (void *)(h + len) > data_end)
			return TUN_BAD;
		if (len == wire || (void *)(h + len) == data_end) /* an acknowledgment alone */
			return TUN_NONE;
		if (p->depth >= CAPTURE_MAX_TUNNEL)
			return TUN_DEEP;
		/* the call id is the peer's, so it differs by direction: not a key */
		return tunnel_open(p, CAPTURE_TUN_GRE, 0, 0, off, len, wire, LAYER_PPP);
	}
	if ((flags & GRE_VER_) != 0 || (flags & GRE_R_)) /* RFC 1701 routing: not decoded */
		return TUN_BAD;
	if (flags & GRE_C_)
		len += 4;
	if (flags & GRE_K_) {
		__u8 *k = h + len;

		if ((void *)(k + 4) > data_end)
			return TUN_BAD;
		key = tun_be16(k) << 16 | tun_be16(k + 2);
		len += 4;
	}
	if (flags & GRE_S_)
		len += 4;
	if (len > wire || (void *)(h + len) > data_end)
		return TUN_BAD;
	if (proto == ETH_P_ERSPAN2_ || proto == ETH_P_ERSPAN3_)
		return tun_on(CAPTURE_TUN_ERSPAN) ?
			       tun_erspan(data, data_end, p, off, wire, proto, flags & GRE_S_, len) :
			       TUN_NONE;
	kind = tun_inner_kind(proto);
	if (kind < 0)
		return TUN_NONE;
	if (p->depth >= CAPTURE_MAX_TUNNEL)
		return TUN_DEEP;
	return tunnel_open(p, CAPTURE_TUN_GRE, flags & GRE_K_, key, off, len, wire, kind);
}

/* A cheap look at the parsed layer: could its payload be a tunnel? */
static __always_inline int tunnel_maybe(const struct pkt *p)
{
	if (p->flags & PF_FRAG)
		return 0;
	if (p->rc == PARSE_OK)
		return p->proto == IPPROTO_UDP && tun_udp_type(p);
	return p->rc == PARSE_OTHER_L4 &&
	       ((p->proto == IPPROTO_GRE && tun_on(CAPTURE_TUN_GRE)) ||
		((p->proto == IPPROTO_IPIP || p->proto == IPPROTO_IPV6) && tun_on(CAPTURE_TUN_IPIP)));
}

/*
 * After a layer is parsed: is its payload a tunnel?  Opens it (TUN_OPENED,
 * p is the inner packet, not parsed yet) or says why not.
 */
static __always_inline int tunnel_next(void *data, void *data_end, struct pkt *p)
{
	__u32 off = p->payload_off, wire = p->payload_len;

	if (p->flags & PF_FRAG)
		return TUN_NONE;
	if (p->rc == PARSE_OK && p->proto == IPPROTO_UDP && (p->flags & PF_L4)) {
		int t = tun_udp_type(p);
		if (!t)
			return TUN_NONE;
		if (off > TUN_MAX_OFF)
			return TUN_BAD;
		if (t == CAPTURE_TUN_VXLAN)
			return tun_vxlan(data, data_end, p, off, wire);
		return tun_geneve(data, data_end, p, off, wire);
	}
	if (p->rc != PARSE_OTHER_L4)
		return TUN_NONE;
	if (p->proto == IPPROTO_GRE ? !tun_on(CAPTURE_TUN_GRE) :
	    (p->proto != IPPROTO_IPIP && p->proto != IPPROTO_IPV6) || !tun_on(CAPTURE_TUN_IPIP))
		return TUN_NONE;
	if (off > TUN_MAX_OFF)
		return TUN_BAD;
	if (p->proto == IPPROTO_GRE)
		return tun_gre(data, data_end, p, off, wire);
	{
		__u8 *h = data + off;

		if (wire < 1 || (void *)(h + 1) > data_end ||
		    (h[0] >> 4) != (p->proto == IPPROTO_IPIP ? 4 : 6))
			return TUN_BAD;
		if (p->depth >= CAPTURE_MAX_TUNNEL)
			return TUN_DEEP;
		return tunnel_open(p, CAPTURE_TUN_IPIP, 0, 0, off, 0, wire,
				   p->proto == IPPROTO_IPIP ? LAYER_IPV4 : LAYER_IPV6);
	}
}

#endif
