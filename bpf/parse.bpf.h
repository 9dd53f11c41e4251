/* SPDX-License-Identifier: MIT */
/*
 * parse.bpf.h -- BPF-only packet parser shared by the TC and XDP programs
 * of capture.bpf.c: Ethernet, up to two 802.1Q/802.1ad tags, IPv4
 * (options, fragments), IPv6 (bounded extension-header walk, fragment
 * header), TCP, UDP.
 *
 * Tunnels (VXLAN, GENEVE, GRE, ERSPAN, IP-in-IP) are in tunnel.bpf.h:
 * each opened tunnel makes its inner packet the current layer, parsed
 * again by parse_link() and parse_ip().
 *
 * Mirrors userspace/decode-*.c so the kernel and the offline path count
 * the same bytes: lengths come from the IP header (total length 0 falls
 * back to the frame length, a total length past the frame is clamped), a
 * TCP header cut after the ports still yields the ports.  Every header is
 * bounds-checked against data_end before it is read (bpf_flow.c style).
 */
#ifndef MAILTAP_PARSE_BPF_H
#define MAILTAP_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "capture.h"

#define ETH_P_8021AD_ 0x88A8
#define ETH_P_QINQ_OLD 0x9100
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
#define PARSE_MAX_OFF 1024 /* headers beyond this are not parsed */

/* parse result */
#define PARSE_OK 0        /* IP with ports (p->flags & PF_PORTS) or not: see flags */
#define PARSE_NON_IP 1
#define PARSE_TRUNC 2
#define PARSE_INVALID 3
#define PARSE_VLAN_DEEP 4
#define PARSE_EXT_LIMIT 5
#define PARSE_OTHER_L4 6  /* IP but neither TCP nor UDP (or IPv6 no-next-header) */

/* p->flags */
#define PF_PORTS      0x01 /* sport/dport valid */
#define PF_L4         0x02 /* full L4 header: tcp_flags/seq valid */
#define PF_FRAG       0x04
#define PF_FRAG_HEAD  0x08
#define PF_FRAG_LATER 0x10 /* non-first fragment: ports from the frag map */
#define PF_HDR_TRUNC  0x20 /* L4 header (or its options) cut: payload not readable */

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

/* An IPv6 extension header's first 8 bytes; for the fragment header the
 * second byte is reserved, for the others it is the length. */
struct v6frag_ {
	__u8 nexthdr;
	__u8 reserved;      /* hdr ext len for non-fragment headers */
	__be16 offflags;
	__be32 id;
};

/* Where the current layer starts: what parse_layer() parses at p->l_off. */
#define LAYER_ETH   0 /* an Ethernet frame (the outer frame; VXLAN, GENEVE/GRE 0x6558, ERSPAN) */
#define LAYER_IPV4  1
#define LAYER_IPV6  2
#define LAYER_PPP   3 /* PPTP: [0xff 0x03] PPP protocol (1 or 2 bytes), IPv4/IPv6 */
#define LAYER_NONIP 4 /* MPLS in GRE/GENEVE: opened, not parsed (non_ip) */

/* One packet as parsed, plus what the hook knows about it.  The fields
 * from src on describe the current (innermost) layer and are zeroed when
 * a tunnel is opened (tunnel_open()); the ones before belong to the frame. */
struct pkt {
	__u64 now;           /* bpf_ktime_get_ns() */
	__u32 frame_len;     /* bytes in the frame (skb->len / XDP buffer) */
	__u32 ifindex;
	__u32 segs;          /* wire packets this one stands for (GSO) */
	__u32 vlan_accel;    /* bytes of VLAN tag taken out of the data (TC) */
	__s32 rc;            /* PARSE_* of the current layer */
	__u32 l_off;         /* the current layer's first byte in the frame data */
	__u32 l_end;         /* ... and the end of its wire bytes (outer: frame_len) */
	__u32 tun_id;        /* innermost tunnel's tenant id when tun_kind != 0 */
	__u32 in_off;        /* first byte of the innermost tunnel's inner packet */
	__u16 vlan[CAPTURE_MAX_VLAN]; /* accumulate across the layers */
	__u8 nvlan;
	__u8 hook;           /* CAPTURE_HOOK_* */
	__u8 depth;          /* tunnels opened, 0 .. CAPTURE_MAX_TUNNEL */
	__u8 tun_kind;       /* CAPTURE_TUN_* of the innermost tunnel if keyed, else 0 */
	__u8 l_kind;         /* LAYER_* */
	__u8 tun_type;       /* CAPTURE_TUN_* of the innermost tunnel, keyed or not */
	__u8 pad[2];
	/* --- per layer --- */
	__be32 src[4], dst[4];
	__u32 frag_id;
	__u32 seq;
	__u32 payload_len;   /* L4 payload on the wire (other L4: the IP payload) */
	__u32 payload_off;   /* offset of the L4 payload (other L4: of the IP payload) */
	__u32 hdr_len;       /* bytes of headers before the payload (for GSO) */
	__u16 sport, dport;  /* host order */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 flags;          /* PF_* */
};

static __always_inline int parse_l4(void *data, void *data_end, __u32 off,
				    __u32 wire, struct pkt *p)
{
	if (off > PARSE_MAX_OFF)
		return PARSE_TRUNC;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;
		__u32 hlen;

		/* the datagram's end counts as much as the capture's:
		 * Ethernet padding is not a header (decode-ip.c narrows) */
		if ((void *)th + 4 > data_end || wire < 4)
			return PARSE_TRUNC;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		if ((void *)(th + 1) > data_end || wire < sizeof(*th)) {
			/* the ports are there: the flow is counted, no flags */
			p->flags |= PF_PORTS | PF_HDR_TRUNC;
			return PARSE_TRUNC;
		}
		hlen = (__u32)th->doff * 4;
		if (hlen < sizeof(*th) || hlen > wire)
			return PARSE_INVALID;
		p->flags |= PF_PORTS | PF_L4;
		p->tcp_flags = ((__u8 *)th)[13] & 0x3f;
		p->seq = bpf_ntohl(th->seq);
		p->payload_len = wire - hlen;
		p->payload_off = off + hlen;
		p->hdr_len = off + hlen;
		if ((void *)th + hlen > data_end)
			p->flags |= PF_HDR_TRUNC;
		return PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;
		__u32 ulen;

		if (wire < sizeof(*uh))
			return PARSE_INVALID;
		if ((void *)uh + 4 > data_end)
			return PARSE_TRUNC;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		if ((void *)(uh + 1) > data_end) {
			p->flags |= PF_PORTS | PF_HDR_TRUNC;
			return PARSE_TRUNC;
		}
		p->flags |= PF_PORTS | PF_L4;
		ulen = bpf_ntohs(uh->len);
		/* a first fragment carries the whole datagram's length */
		if (!(p->flags & PF_FRAG) && ulen >= sizeof(*uh) && ulen < wire)
			wire = ulen;
		p->payload_len = wire - sizeof(*uh);
		p->payload_off = off + sizeof(*uh);
		p->hdr_len = off + sizeof(*uh);
		return PARSE_OK;
	}
	p->payload_len = wire;
	p->payload_off = off; /* a tunnel's header (GRE, IP-in-IP) */
	return PARSE_OTHER_L4;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off,
				      __u32 end, struct pkt *p)
{
	struct iphdr *iph = data + off;
	__u32 hlen, dgram, wire_left;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_TRUNC;
	hlen = (__u32)iph->ihl * 4;
	dgram = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || (dgram != 0 && dgram < hlen))
		return PARSE_INVALID;
	p->family = 4;
	p->proto = iph->protocol;
	p->src[0] = iph->saddr;
	p->dst[0] = iph->daddr;
	wire_left = end > off ? end - off : 0;
	if (dgram == 0)
		dgram = wire_left; /* TSO/GSO on the capturing host */
	if (dgram > wire_left) {
		dgram = wire_left;
		if (dgram < hlen)
			dgram = hlen;
	}
	if ((void *)iph + hlen > data_end) /* options cut */
		return PARSE_TRUNC;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IPV4_MF | IPV4_OFFMASK)) {
		p->flags |= PF_FRAG;
		p->frag_id = bpf_ntohs(iph->id);
		if (frag & IPV4_OFFMASK) {
			p->flags |= PF_FRAG_LATER;
			p->payload_len = dgram - hlen;
			p->hdr_len = off + hlen;
			return PARSE_OK;
		}
		p->flags |= PF_FRAG_HEAD;
	}
	return parse_l4(data, data_end, off + hlen, dgram - hlen, p);
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off,
				      __u32 end, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + off;
	__u32 payload, wire_left, rel = 0;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_TRUNC;
	if (ip6->version != 6)
		return PARSE_INVALID;
	p->family = 6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	off += sizeof(*ip6);
	wire_left = end > off ? end - off : 0;
	payload = bpf_ntohs(ip6->payload_len);
	if (payload == 0 || payload > wire_left)
		payload = wire_left;
	next = ip6->nexthdr;

	/* rel: bytes of extension headers walked.  Masked to a multiple of 4
	 * below 1 KiB before each use, so every iteration reaches the loop
	 * head with the same verifier state and the walk is verified once
	 * rather than once per path. */
	for (i = 0; i < CAPTURE_MAX_IPV6_EXT + 1; i++) {
		struct v6frag_ *fh;
		__u32 elen;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		case IPPROTO_NONE:
			p->proto = next;
			p->payload_len = 0;
			return PARSE_OTHER_L4;
		default:
			p->proto = next;
			return parse_l4(data, data_end, off + rel, payload, p);
		}
		if (i >= CAPTURE_MAX_IPV6_EXT)
			return PARSE_EXT_LIMIT;
		if (rel > 0x3f8)
			return PARSE_TRUNC;
		barrier_var(rel);
		rel &= 0x3fc;
		/* every extension header is at least 8 bytes: the fragment
		 * header is 8, the others (len + 1) * 8, AH (len + 2) * 4 */
		fh = data + off + rel;
		if ((void *)(fh + 1) > data_end)
			return PARSE_TRUNC;
		if (next == IPPROTO_FRAGMENT) {
			__u16 offflags = bpf_ntohs(fh->offflags);

			if (payload < sizeof(*fh))
				return PARSE_INVALID;
			p->frag_id = bpf_ntohl(fh->id);
			p->flags |= PF_FRAG;
			if (offflags & 0xfff8) {
				p->proto = fh->nexthdr;
				p->flags |= PF_FRAG_LATER;
				p->payload_len = payload - sizeof(*fh);
				p->hdr_len = off + rel + sizeof(*fh);
				return PARSE_OK;
			}
			if (offflags & 1)
				p->flags |= PF_FRAG_HEAD;
			else /* atomic fragment: not really one */
				p->flags &= ~PF_FRAG;
			elen = sizeof(*fh);
		} else {
			elen = next == IPPROTO_AH ? ((__u32)fh->reserved + 2) * 4 :
						    ((__u32)fh->reserved + 1) * 8;
			if (elen > payload)
				return PARSE_INVALID;
		}
		next = fh->nexthdr;
		rel += elen;
		payload -= elen;
	}
	return PARSE_EXT_LIMIT;
}

/*
 * The Ethernet header at *@off (and up to two VLAN tags; p->vlan/nvlan may
 * hold tags already seen: TC's accelerated VLAN, an outer layer's):
 * LAYER_IPV4/LAYER_IPV6 with *@off past it, or -PARSE_* when it ends here.
 */
static __always_inline int parse_eth(void *data, void *data_end, __u32 *off, struct pkt *p)
{
	struct ethhdr *eth = data + *off;
	__u32 o = *off + sizeof(*eth);
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -PARSE_TRUNC;
	proto = bpf_ntohs(eth->h_proto);
	if (proto < 0x0600)
		return -PARSE_NON_IP;
	for (i = 0; i < CAPTURE_MAX_VLAN + 1; i++) {
		struct vlan_hdr_ *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD_ && proto != ETH_P_QINQ_OLD)
			break;
		if (p->nvlan >= CAPTURE_MAX_VLAN)
			return -PARSE_VLAN_DEEP;
		vh = data + o;
		if ((void *)(vh + 1) > data_end)
			return -PARSE_TRUNC;
		if (p->nvlan == 0)
			p->vlan[0] = bpf_ntohs(vh->tci) & 0x0fff;
		else
			p->vlan[1] = bpf_ntohs(vh->tci) & 0x0fff;
		p->nvlan++;
		proto = bpf_ntohs(vh->proto);
		o += sizeof(*vh);
	}
	*off = o;
	if (proto == ETH_P_IP)
		return LAYER_IPV4;
	if (proto == ETH_P_IPV6)
		return LAYER_IPV6;
	return -PARSE_NON_IP;
}

#define PPP_IPV4_ 0x0021
#define PPP_IPV6_ 0x0057

/* PPTP's payload (decode-link.c decode_ppp_proto): optional address and
 * control bytes 0xff 0x03, a protocol field of 1 byte (odd, compressed)
 * or 2; then IPv4 or IPv6 (LAYER_*, *@off past it) or -PARSE_*. */
static __always_inline int parse_ppp(void *data, void *data_end, __u32 *off, __u32 end)
{
	__u32 o = *off;
	__u8 *h = data + o;
	__u16 proto;

	if ((void *)(h + 2) <= data_end && o + 2 <= end && h[0] == 0xff && h[1] == 0x03) {
		o += 2;
		h += 2;
	}
	if ((void *)(h + 1) > data_end || o + 1 > end)
		return -PARSE_TRUNC;
	if (h[0] & 1) {
		proto = h[0];
		o += 1;
	} else {
		if ((void *)(h + 2) > data_end || o + 2 > end)
			return -PARSE_TRUNC;
		proto = (__u16)h[0] << 8 | h[1];
		o += 2;
	}
	*off = o;
	if (proto == PPP_IPV4_)
		return LAYER_IPV4;
	if (proto == PPP_IPV6_)
		return LAYER_IPV6;
	return -PARSE_NON_IP;
}

/*
 * The current layer (p->l_kind at p->l_off, wire up to p->l_end) in two
 * steps, each a global function in capture.bpf.c so the verifier sees
 * every parser once whatever the nesting: parse_link() walks the link
 * header (Ethernet + VLAN, PPP) and leaves p->l_off/l_kind at the IP
 * header (PARSE_OK) or ends the packet (PARSE_*); parse_ip() parses IPv4
 * or IPv6 and L4.
 */
static __always_inline int parse_link(void *data, void *data_end, struct pkt *p)
{
	__u32 off = p->l_off;
	int kind = p->l_kind;

	if (kind == LAYER_IPV4 || kind == LAYER_IPV6)
		return PARSE_OK;
	if (kind == LAYER_NONIP)
		return PARSE_NON_IP;
	if (off > PARSE_MAX_OFF)
		return PARSE_TRUNC;
	if (kind == LAYER_PPP)
		kind = parse_ppp(data, data_end, &off, p->l_end);
	else
		kind = parse_eth(data, data_end, &off, p);
	if (kind < 0)
		return -kind;
	p->l_off = off;
	p->l_kind = kind;
	return PARSE_OK;
}

/* The outer frame, with constant offsets (the hooks' fast path). */
static __always_inline int parse_frame(void *data, void *data_end, struct pkt *p)
{
	__u32 off = 0;
	int kind = parse_eth(data, data_end, &off, p);

	if (kind < 0)
		return -kind;
	if (kind == LAYER_IPV4)
		return parse_ipv4(data, data_end, off, p->frame_len, p);
	return parse_ipv6(data, data_end, off, p->frame_len, p);
}

static __always_inline int parse_ip(void *data, void *data_end, struct pkt *p)
{
	__u32 off = p->l_off, end = p->l_end;

	if (off > PARSE_MAX_OFF)
		return PARSE_TRUNC;
	if (p->l_kind == LAYER_IPV4)
		return parse_ipv4(data, data_end, off, end, p);
	return parse_ipv6(data, data_end, off, end, p);
}

#endif
