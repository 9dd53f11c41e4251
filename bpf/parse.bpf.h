/* SPDX-License-Identifier: MIT */
/*
 * parse.bpf.h -- BPF-only packet parser shared by the TC and XDP programs
 * of capture.bpf.c: Ethernet, up to two 802.1Q/802.1ad tags, IPv4
 * (options, fragments), IPv6 (bounded extension-header walk, fragment
 * header), TCP, UDP.
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

/* One packet as parsed, plus what the hook knows about it. */
struct pkt {
	__u64 now;           /* bpf_ktime_get_ns() */
	__u32 frame_len;     /* bytes in the frame (skb->len / XDP buffer) */
	__u32 ifindex;
	__u32 segs;          /* wire packets this one stands for (GSO) */
	__u32 vlan_accel;    /* bytes of VLAN tag taken out of the data (TC) */
	__s32 rc;            /* PARSE_* */
	__be32 src[4], dst[4];
	__u32 frag_id;
	__u32 seq;
	__u32 payload_len;   /* L4 payload on the wire */
	__u32 payload_off;   /* offset of the L4 payload in the frame data */
	__u32 hdr_len;       /* bytes of headers before the payload (for GSO) */
	__u16 sport, dport;  /* host order */
	__u16 vlan[CAPTURE_MAX_VLAN];
	__u8 nvlan;
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 flags;          /* PF_* */
	__u8 hook;           /* CAPTURE_HOOK_* */
	__u8 pad[6];
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
	return PARSE_OTHER_L4;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off,
				      __u32 frame_len, struct pkt *p)
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
	wire_left = frame_len > off ? frame_len - off : 0;
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
				      __u32 frame_len, struct pkt *p)
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
	wire_left = frame_len > off ? frame_len - off : 0;
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
 * Parse one frame starting at the Ethernet header.  @frame_len is the
 * frame's length in bytes (may exceed data_end - data when the tail is not
 * linear); p->vlan/nvlan may hold a tag already taken out of the frame
 * (TC's accelerated VLAN).
 */
static __always_inline int parse_frame(void *data, void *data_end, __u32 frame_len,
				       struct pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNC;
	proto = bpf_ntohs(eth->h_proto);
	if (proto < 0x0600)
		return PARSE_NON_IP;
	for (i = 0; i < CAPTURE_MAX_VLAN + 1; i++) {
		struct vlan_hdr_ *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD_ && proto != ETH_P_QINQ_OLD)
			break;
		if (p->nvlan >= CAPTURE_MAX_VLAN)
			return PARSE_VLAN_DEEP;
		vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return PARSE_TRUNC;
		if (p->nvlan == 0)
			p->vlan[0] = bpf_ntohs(vh->tci) & 0x0fff;
		else
			p->vlan[1] = bpf_ntohs(vh->tci) & 0x0fff;
		p->nvlan++;
		proto = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
	}
	if (proto == ETH_P_IP)
		return parse_ipv4(data, data_end, off, frame_len, p);
	if (proto == ETH_P_IPV6)
		return parse_ipv6(data, data_end, off, frame_len, p);
	return PARSE_NON_IP;
}

#endif
