/* SPDX-License-Identifier: MIT */
/*
 * decode.h -- turn one captured frame into a struct packet: link layer
 * (Ethernet II, 802.1Q/802.1ad, MPLS, Linux cooked v1/v2, raw IP, BSD
 * loopback), IPv4/IPv6 (options, extension headers, fragments) and
 * TCP/UDP/ICMP, and the tunnels of decode-tunnel.h (VXLAN, GENEVE, GRE,
 * ERSPAN, IP-in-IP, Teredo): a tunnelled frame is reported as its inner
 * packet, with the tunnel in pkt->tunnel.
 *
 * Decoders read only through util-cursor.h.  Byte accounting uses lengths
 * on the wire (the capture's `len` and the IP total length), never the
 * captured length, so a tap that snaps frames to 128 bytes still reports
 * the payload that crossed the link.  Every outcome bumps a counter in
 * struct decode_stats; the decoder never allocates and never logs.
 */
#ifndef MAILTAP_DECODE_H
#define MAILTAP_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "net-addr.h"

#define DECODE_MAX_VLAN 2        /* 802.1ad + 802.1Q, as bpf_flow.c allows */
#define DECODE_MAX_MPLS 8        /* labels before we give up */
#define DECODE_MAX_IPV6_EXT 8    /* extension headers walked (Suricata-like bound) */
#define DECODE_MAX_TUNNEL 4      /* nested encapsulations decoded (Suricata's
                                  * PacketIncreaseCheckLayers idea); one more
                                  * is counted in tunnel_depth_exceeded and the
                                  * packet is reported as decoded so far */

/* Link types we decode: pcap DLT_* values as libpcap reports them. */
#define DECODE_DLT_NULL 0
#define DECODE_DLT_EN10MB 1
#define DECODE_DLT_RAW 12        /* LINKTYPE_RAW (101) maps to DLT_RAW on Linux */
#define DECODE_DLT_PPP 9
#define DECODE_DLT_PPP_SERIAL 50 /* LINKTYPE_PPP_HDLC: PPP in HDLC-like framing */
#define DECODE_DLT_LOOP 108
#define DECODE_DLT_LINUX_SLL 113
#define DECODE_DLT_IPV4 228
#define DECODE_DLT_IPV6 229
#define DECODE_DLT_LINUX_SLL2 276
#define DECODE_LINKTYPE_RAW 101  /* seen when a file is read without mapping */

enum decode_result {
	DECODE_OK,          /* decoded as far as the packet goes */
	DECODE_TRUNCATED,   /* a header is cut short by the capture */
	DECODE_INVALID,     /* a field is impossible (bad length, version) */
	DECODE_UNSUPPORTED, /* link type or L3 we do not decode */
};

/* pkt->flags */
#define PKT_L4        0x01 /* sport/dport valid */
#define PKT_FRAG      0x02 /* an IP fragment */
#define PKT_FRAG_HEAD 0x04 /* ... the first one (offset 0) */
#define PKT_L4_TRUNC  0x08 /* L4 header cut by the capture */
#define PKT_FRAG_MORE 0x10 /* more fragments follow (MF / M bit) */

/* pkt->tunnel.type: the encapsulation that carried the inner packet */
enum decode_tunnel_type {
	TUNNEL_NONE,
	TUNNEL_VXLAN,   /* RFC 7348 */
	TUNNEL_GENEVE,  /* RFC 8926 */
	TUNNEL_GRE,     /* RFC 2784/2890, and PPTP's enhanced GRE (RFC 2637) */
	TUNNEL_ERSPAN,  /* ERSPAN type I, II, III over GRE */
	TUNNEL_IPIP,    /* 4in4, 6in4, 4in6, 6in6 (RFC 2003, 4213, 2473) */
	TUNNEL_TEREDO,  /* RFC 4380 */
	TUNNEL_TYPE_COUNT,
};

/* The innermost tunnel a packet came through (all zero when none). */
struct packet_tunnel {
	uint8_t type;            /* enum decode_tunnel_type */
	uint8_t depth;           /* encapsulations decoded, 1 .. DECODE_MAX_TUNNEL */
	uint8_t has_id;          /* id is set */
	uint8_t keyed;           /* id separates tenants: part of the flow key
	                          * (not PPTP's call id, which differs by direction) */
	uint32_t id;             /* VNI, GRE key (PPTP call id), ERSPAN session */
	struct net_addr src, dst;/* outer addresses of that tunnel */
	uint32_t overhead;       /* wire bytes of the frame outside the inner packet */
};

/* TCP flag bits as on the wire */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

struct packet {
	uint64_t ts_ns;         /* capture time, ns since the epoch */
	uint32_t wire_len;      /* frame length on the wire */
	uint32_t cap_len;       /* bytes captured */
	uint16_t vlan[DECODE_MAX_VLAN]; /* outer tag first; 0 = none */
	uint8_t vlan_count;
	uint8_t mpls_count;
	uint8_t l3;             /* NET_ADDR_V4, NET_ADDR_V6, or 0 (not IP) */
	uint8_t l4proto;        /* IPPROTO_* when l3 != 0 */
	uint8_t tcp_flags;
	uint8_t flags;          /* PKT_* */
	uint8_t icmp_type, icmp_code;
	uint16_t sport, dport;
	uint32_t frag_id;       /* IPv4 id or IPv6 fragment id, when PKT_FRAG */
	uint32_t frag_off;      /* byte offset of this fragment in the datagram */
	uint32_t seq, ack;      /* TCP */
	struct net_addr src, dst;
	uint32_t ip_len;        /* IP datagram length on the wire */
	uint32_t payload_len;   /* L4 payload length on the wire */
	uint32_t payload_caplen;/* ... of which captured */
	const uint8_t *payload; /* borrowed: valid for this packet only */
	struct packet_tunnel tunnel; /* wire_len is the inner packet's when set */
};

struct decode_stats {
	uint64_t packets, bytes;         /* frames seen and their wire bytes */
	uint64_t eth, vlan, mpls, sll, sll2, null_loop, raw;
	uint64_t ipv4, ipv6, ipv6_ext, frags;
	uint64_t tcp, udp, icmp, icmp6, other_l4;
	uint64_t non_ip;                 /* ARP, LLDP, ... */
	uint64_t truncated, invalid, unsupported;
	uint64_t wire_len_mismatch;      /* IP length larger than the frame */
	uint64_t ppp;                    /* PPP / PPP-in-HDLC link frames */
	uint64_t tunnel[TUNNEL_TYPE_COUNT]; /* packets decapsulated, by type */
	uint64_t tunnel_bad;             /* tunnel header truncated or invalid:
	                                  * reported as the outer packet */
	uint64_t tunnel_depth_exceeded;  /* deeper than DECODE_MAX_TUNNEL */
};

/* Which tunnels to open (struct decode_config); the rest stay outer flows. */
#define DECODE_VXLAN_PORT 4789
#define DECODE_GENEVE_PORT 6081
#define DECODE_TEREDO_PORT 3544
#define DECODE_EXTRA_PORTS 4     /* extra VXLAN / GENEVE UDP ports */

struct decode_config {
	bool decap;                          /* false: no tunnel is opened */
	bool type_on[TUNNEL_TYPE_COUNT];     /* per type */
	uint16_t vxlan_ports[DECODE_EXTRA_PORTS];  /* besides 4789; 0 = unused */
	uint16_t geneve_ports[DECODE_EXTRA_PORTS]; /* besides 6081 */
};

/* Every tunnel type on, no extra ports. */
void decode_config_default(struct decode_config *cfg);

/* "vxlan", "geneve", "gre", "erspan", "ipip", "teredo"; "" for none. */
const char *decode_tunnel_name(int type);

/*
 * Decode one frame.  @frame is borrowed for the call (pkt->payload points
 * into it).  Fills @pkt, counts into @st, and returns the outcome of the
 * deepest layer reached: a TCP segment with a truncated header still has
 * its addresses filled and l3 set.
 */
enum decode_result decode_packet(struct packet *pkt, int linktype,
				 const uint8_t *frame, size_t caplen,
				 size_t wirelen, uint64_t ts_ns,
				 struct decode_stats *st);

/* decode_packet() with @cfg deciding which tunnels are opened (NULL: the
 * defaults, every type on). */
enum decode_result decode_packet_cfg(struct packet *pkt, const struct decode_config *cfg,
				     int linktype, const uint8_t *frame, size_t caplen,
				     size_t wirelen, uint64_t ts_ns, struct decode_stats *st);

/* True when we know how to decode this link type. */
int decode_linktype_supported(int linktype);

/* Readable name of a link type ("EN10MB", "LINUX_SLL2", ...). */
const char *decode_linktype_name(int linktype);

#endif
