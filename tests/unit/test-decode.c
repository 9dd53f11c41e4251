/* SPDX-License-Identifier: MIT */
/* test-decode.c -- decode_packet(): every link type, VLAN/MPLS, IPv4/IPv6, L4, byte accounting, truncation. */
#include "decode.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"

/* --- frame building blocks: each macro is one header, written out --- */

#define B16(v) (uint8_t)(((v) >> 8) & 0xff), (uint8_t)((v) & 0xff)
#define B32(v) (uint8_t)(((v) >> 24) & 0xff), (uint8_t)(((v) >> 16) & 0xff), \
	       (uint8_t)(((v) >> 8) & 0xff), (uint8_t)((v) & 0xff)

#define MAC_A 0x00, 0x11, 0x22, 0x33, 0x44, 0x55
#define MAC_B 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb
#define V4_SRC 192, 0, 2, 1
#define V4_DST 198, 51, 100, 2
#define V6_SRC 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define V6_DST 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02

/* Ethernet II: dst, src, ethertype */
#define ETH(type) MAC_B, MAC_A, B16(type)
/* 802.1Q/802.1ad tag: TCI then the next ethertype */
#define VLAN_TAG(tci, next) B16(tci), B16(next)
/* MPLS label stack entry: label(20) TC(3) S(1) TTL(8) */
#define MPLS(label, bos) B32(((uint32_t)(label) << 12) | ((bos) ? 0x100u : 0u) | 64u)
/* IPv4, no options: 192.0.2.1 -> 198.51.100.2, TTL 64, checksum 0 */
#define IPV4(totlen, id, frag, proto) \
	0x45, 0x00, B16(totlen), B16(id), B16(frag), 64, proto, 0x00, 0x00, V4_SRC, V4_DST
/* IPv6: 2001:db8::1 -> 2001:db8::2, hop limit 64 */
#define IPV6(plen, next) 0x60, 0x00, 0x00, 0x00, B16(plen), next, 64, V6_SRC, V6_DST
/* TCP, 20-byte header: seq 1000, ack 2000, window 65535 */
#define TCP(sport, dport, flags) \
	B16(sport), B16(dport), B32(1000), B32(2000), 0x50, flags, B16(65535), 0, 0, 0, 0
/* UDP: ports, length, checksum 0 */
#define UDP(sport, dport, len) B16(sport), B16(dport), B16(len), 0, 0

#define PA (TCPF_PSH | TCPF_ACK)
#define P6 'h', 'e', 'l', 'l', 'o', '!'
#define P4 'p', 'i', 'n', 'g'

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STAT(field) offsetof(struct decode_stats, field)
#define NO_STAT ((size_t)-1)

static uint64_t stat_at(const struct decode_stats *st, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)st + off, sizeof(v));
	return v;
}

/* --- good frames, one per link type --- */

static const uint8_t f_eth_v4_tcp[] = {
	ETH(0x0800),              /* Ethernet -> 0x0800 */
	IPV4(46, 0x1234, 0, 6),   /* IPv4 len 46, TCP */
	TCP(40000, 443, PA),      /* TCP 40000 -> 443 [PA] */
	P6,                       /* 6 bytes payload */
};

static const uint8_t f_eth_v6_udp[] = {
	ETH(0x86dd),              /* Ethernet -> 0x86dd */
	IPV6(12, 17),             /* IPv6 plen 12, UDP */
	UDP(5353, 53, 12),        /* UDP 5353 -> 53 len 12 */
	P4,                       /* 4 bytes payload */
};

static const uint8_t f_sll_v4_udp[] = {
	0x00, 0x00, 0x00, 0x01, 0x00, 0x06, /* SLL: pkttype 0, hatype 1, halen 6 */
	MAC_A, 0x00, 0x00, 0x08, 0x00,      /* addr (8) -> 0x0800 */
	IPV4(32, 1, 0, 17),                 /* IPv4 len 32, UDP */
	UDP(40000, 53, 12),                 /* UDP 40000 -> 53 len 12 */
	P4,
};

static const uint8_t f_sll2_v6_tcp[] = {
	0x86, 0xdd, 0x00, 0x00,             /* SLL2: protocol 0x86dd, reserved */
	0x00, 0x00, 0x00, 0x02,             /* ifindex 2 */
	0x00, 0x01, 0x00, 0x06,             /* hatype 1, pkttype 0, halen 6 */
	MAC_A, 0x00, 0x00,                  /* addr (8) */
	IPV6(26, 6),                        /* IPv6 plen 26, TCP */
	TCP(40000, 25, PA),                 /* TCP 40000 -> 25 [PA] */
	P6,
};

static const uint8_t f_raw_v4_tcp[] = {
	IPV4(46, 2, 0, 6),        /* raw IPv4 len 46, TCP */
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_raw_v6_udp[] = {
	IPV6(12, 17),             /* raw IPv6 plen 12, UDP */
	UDP(5353, 53, 12),
	P4,
};

static const uint8_t f_null_le_v4_tcp[] = {
	0x02, 0x00, 0x00, 0x00,   /* NULL, little-endian AF_INET (2) */
	IPV4(46, 3, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_null_be_v4_udp[] = {
	0x00, 0x00, 0x00, 0x02,   /* NULL, big-endian AF_INET (2) */
	IPV4(32, 4, 0, 17),
	UDP(40000, 53, 12),
	P4,
};

static const uint8_t f_null_le_v6_udp[] = {
	0x18, 0x00, 0x00, 0x00,   /* NULL, little-endian AF_INET6 (24, BSD) */
	IPV6(12, 17),
	UDP(5353, 53, 12),
	P4,
};

static const uint8_t f_null_be_v6_tcp[] = {
	0x00, 0x00, 0x00, 0x1e,   /* NULL, big-endian AF_INET6 (30, macOS) */
	IPV6(26, 6),
	TCP(40000, 25, PA),
	P6,
};

static const uint8_t f_loop_v4_tcp[] = {
	0x00, 0x00, 0x00, 0x02,   /* LOOP: network-order AF_INET */
	IPV4(46, 5, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_loop_v6_udp[] = {
	0x00, 0x00, 0x00, 0x0a,   /* LOOP: network-order AF_INET6 (10, Linux) */
	IPV6(12, 17),
	UDP(5353, 53, 12),
	P4,
};

/* --- VLAN, MPLS, PPPoE --- */

static const uint8_t f_vlan1[] = {
	ETH(0x8100),              /* Ethernet -> 0x8100 */
	VLAN_TAG(0x002a, 0x0800), /* 0x8100 VID 42 -> 0x0800 */
	IPV4(46, 6, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_qinq[] = {
	ETH(0x88a8),              /* Ethernet -> 0x88a8 */
	VLAN_TAG(0x0064, 0x8100), /* 0x88a8 VID 100 -> 0x8100 */
	VLAN_TAG(0xe02a, 0x0800), /* 0x8100 PCP 7 VID 42 -> 0x0800 */
	IPV4(46, 7, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_qinq_old[] = {
	ETH(0x9100),              /* Ethernet -> 0x9100 (pre-802.1ad QinQ) */
	VLAN_TAG(0x0fff, 0x8100), /* VID 4095 -> 0x8100 */
	VLAN_TAG(0x0001, 0x86dd), /* VID 1 -> 0x86dd */
	IPV6(12, 17),
	UDP(5353, 53, 12),
	P4,
};

static const uint8_t f_vlan3[] = {
	ETH(0x88a8),              /* Ethernet -> 0x88a8 */
	VLAN_TAG(0x0064, 0x8100), /* 0x88a8 VID 100 -> 0x8100 */
	VLAN_TAG(0x002a, 0x8100), /* 0x8100 VID 42 -> 0x8100 */
	VLAN_TAG(0x0007, 0x0800), /* third tag: unsupported */
	IPV4(46, 8, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_mpls1_v4[] = {
	ETH(0x8847),              /* Ethernet -> MPLS unicast */
	MPLS(16, 1),              /* label 16, bottom of stack */
	IPV4(46, 9, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_mpls2_v6[] = {
	ETH(0x8847),              /* Ethernet -> MPLS unicast */
	MPLS(16, 0),              /* label 16 */
	MPLS(32, 1),              /* label 32, bottom of stack */
	IPV6(12, 17),
	UDP(5353, 53, 12),
	P4,
};

static const uint8_t f_mpls2_v4[] = {
	ETH(0x8848),              /* Ethernet -> MPLS multicast */
	MPLS(100, 0),             /* label 100 */
	MPLS(200, 1),             /* label 200, bottom of stack */
	IPV4(32, 10, 0, 17),
	UDP(40000, 53, 12),
	P4,
};

static const uint8_t f_mpls1_v6[] = {
	ETH(0x8847),              /* Ethernet -> MPLS unicast */
	MPLS(3, 1),               /* label 3, bottom of stack */
	IPV6(26, 6),
	TCP(40000, 25, PA),
	P6,
};

static const uint8_t f_pppoe_v4[] = {
	ETH(0x8864),                          /* Ethernet -> PPPoE session */
	0x11, 0x00, 0x00, 0x01, 0x00, 0x30,   /* ver/type 0x11, code 0, session 1, len 48 */
	0x00, 0x21,                           /* PPP -> IPv4 */
	IPV4(46, 11, 0, 6),
	TCP(40000, 443, PA),
	P6,
};

/* --- IPv4 options, fragments, ICMP --- */

static const uint8_t f_v4_opts[] = {
	ETH(0x0800),
	0x46, 0x00, B16(50), B16(12), B16(0), 64, 6, 0, 0, V4_SRC, V4_DST, /* IPv4 ihl 6, len 50 */
	0x01, 0x01, 0x01, 0x00,   /* options: NOP NOP NOP EOL */
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_v4_opts_max[] = {
	ETH(0x0800),
	0x4f, 0x00, B16(86), B16(13), B16(0), 64, 17, 0, 0, V4_SRC, V4_DST, /* IPv4 ihl 15, len 86 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* 40 bytes of options: NOP x39, EOL */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
	UDP(40000, 53, 26),
	P6, P6, P6,               /* 18 bytes payload */
};

/* UDP datagram of 8 + 100 bytes, id 0xbeef, split at 24 bytes */
static const uint8_t f_v4_frag_first[] = {
	ETH(0x0800),
	IPV4(44, 0xbeef, 0x2000, 17), /* IPv4 len 44, MF, offset 0 */
	UDP(40000, 53, 108),          /* UDP len 108: larger than this fragment */
	P6, P6, P4,                   /* 16 bytes of the payload */
};

static const uint8_t f_v4_frag_later[14 + 20 + 84] = {
	ETH(0x0800),
	IPV4(104, 0xbeef, 0x0003, 17), /* IPv4 len 104, offset 3 (24 bytes), last */
	/* 84 bytes: the rest of the UDP payload */
};

static const uint8_t f_icmp[] = {
	ETH(0x0800),
	IPV4(32, 14, 0, 1),       /* IPv4 len 32, ICMP */
	8, 0, 0, 0, B16(1), B16(1), /* echo request, id 1 seq 1 */
	P4,
};

static const uint8_t f_icmp6[] = {
	ETH(0x86dd),
	IPV6(12, 58),             /* IPv6 plen 12, ICMPv6 */
	128, 0, 0, 0, B16(1), B16(1), /* echo request */
	P4,
};

static const uint8_t f_gre[] = {
	ETH(0x0800),
	IPV4(28, 15, 0, 47),      /* IPv4 len 28, GRE */
	0x00, 0x00, 0x88, 0xb5, 0, 0, 0, 0, /* GRE -> 0x88b5 (local experimental): not opened */
};

/* --- IPv6 extension headers --- */

/* hop-by-hop + routing + destination options + fragment (first) + UDP */
static const uint8_t f_v6_ext[] = {
	ETH(0x86dd),
	IPV6(68, 0),                        /* IPv6 plen 68 -> hop-by-hop */
	43, 0, 0x01, 0x04, 0, 0, 0, 0,      /* HBH -> routing, len 8, PadN */
	60, 2, 0, 1, 0, 0, 0, 0, V6_DST,    /* routing -> dstopts, len 24, type 0, 1 addr */
	44, 0, 0x01, 0x04, 0, 0, 0, 0,      /* dstopts -> fragment, len 8, PadN */
	17, 0, B16(0x0001), B32(0x12345678), /* fragment -> UDP, offset 0, M, id */
	UDP(40000, 53, 1000),               /* UDP len 1000: the whole datagram */
	P6, P6,                             /* 12 bytes of it */
};

static const uint8_t f_v6_frag_later[14 + 40 + 8 + 64] = {
	ETH(0x86dd),
	IPV6(72, 44),                        /* IPv6 plen 72 -> fragment */
	17, 0, B16(0x0010), B32(0x12345678), /* fragment -> UDP, offset 2 (16 bytes), last */
	/* 64 bytes of the rest */
};

static const uint8_t f_v6_atomic[] = {
	ETH(0x86dd),
	IPV6(20, 44),                        /* IPv6 plen 20 -> fragment */
	17, 0, B16(0x0000), B32(0x00000042), /* atomic fragment: offset 0, no M */
	UDP(40000, 53, 12),
	P4,
};

static const uint8_t f_v6_ah[] = {
	ETH(0x86dd),
	IPV6(50, 51),                        /* IPv6 plen 50 -> AH */
	6, 4, 0, 0, B32(0x100), B32(1),      /* AH -> TCP, len (4+2)*4 = 24 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* ICV (12) */
	TCP(40000, 443, PA),
	P6,
};

static const uint8_t f_v6_none[] = {
	ETH(0x86dd),
	IPV6(8, 60),                         /* IPv6 plen 8 -> dstopts */
	59, 0, 0x01, 0x04, 0, 0, 0, 0,       /* dstopts -> no next header */
};

/* What a good frame must decode to. */
struct good_case {
	const char *name;
	int linktype;
	const uint8_t *frame;
	size_t len;
	uint8_t l3, l4proto, flags;
	uint16_t sport, dport;
	uint32_t ip_len, payload_len, payload_caplen;
	uint8_t vlan_count, mpls_count;
	size_t link_stat, l3_stat, l4_stat;
};

#define FR(f) f, sizeof(f)
#define FLAGS_L4 PKT_L4
#define FRAG_HEAD (PKT_L4 | PKT_FRAG | PKT_FRAG_HEAD | PKT_FRAG_MORE)

static const struct good_case good[] = {
	{ "EN10MB v4 tcp", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(eth), STAT(ipv4), STAT(tcp) },
	{ "EN10MB v6 udp", DECODE_DLT_EN10MB, FR(f_eth_v6_udp), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 0, STAT(eth), STAT(ipv6), STAT(udp) },
	{ "LINUX_SLL v4 udp", DECODE_DLT_LINUX_SLL, FR(f_sll_v4_udp), 4, 17, FLAGS_L4, 40000, 53, 32, 4, 4, 0, 0, STAT(sll), STAT(ipv4), STAT(udp) },
	{ "LINUX_SLL2 v6 tcp", DECODE_DLT_LINUX_SLL2, FR(f_sll2_v6_tcp), 6, 6, FLAGS_L4, 40000, 25, 66, 6, 6, 0, 0, STAT(sll2), STAT(ipv6), STAT(tcp) },
	{ "RAW v4 tcp", DECODE_DLT_RAW, FR(f_raw_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(raw), STAT(ipv4), STAT(tcp) },
	{ "RAW v6 udp", DECODE_DLT_RAW, FR(f_raw_v6_udp), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 0, STAT(raw), STAT(ipv6), STAT(udp) },
	{ "LINKTYPE_RAW v4 tcp", DECODE_LINKTYPE_RAW, FR(f_raw_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(raw), STAT(ipv4), STAT(tcp) },
	{ "IPV4 tcp", DECODE_DLT_IPV4, FR(f_raw_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(raw), STAT(ipv4), STAT(tcp) },
	{ "IPV6 udp", DECODE_DLT_IPV6, FR(f_raw_v6_udp), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 0, STAT(raw), STAT(ipv6), STAT(udp) },
	{ "NULL le v4 tcp", DECODE_DLT_NULL, FR(f_null_le_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(null_loop), STAT(ipv4), STAT(tcp) },
	{ "NULL be v4 udp", DECODE_DLT_NULL, FR(f_null_be_v4_udp), 4, 17, FLAGS_L4, 40000, 53, 32, 4, 4, 0, 0, STAT(null_loop), STAT(ipv4), STAT(udp) },
	{ "NULL le v6 udp", DECODE_DLT_NULL, FR(f_null_le_v6_udp), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 0, STAT(null_loop), STAT(ipv6), STAT(udp) },
	{ "NULL be v6 tcp", DECODE_DLT_NULL, FR(f_null_be_v6_tcp), 6, 6, FLAGS_L4, 40000, 25, 66, 6, 6, 0, 0, STAT(null_loop), STAT(ipv6), STAT(tcp) },
	{ "LOOP v4 tcp", DECODE_DLT_LOOP, FR(f_loop_v4_tcp), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(null_loop), STAT(ipv4), STAT(tcp) },
	{ "LOOP v6 udp", DECODE_DLT_LOOP, FR(f_loop_v6_udp), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 0, STAT(null_loop), STAT(ipv6), STAT(udp) },
	{ "802.1Q", DECODE_DLT_EN10MB, FR(f_vlan1), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 1, 0, STAT(vlan), STAT(ipv4), STAT(tcp) },
	{ "QinQ 88a8+8100", DECODE_DLT_EN10MB, FR(f_qinq), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 2, 0, STAT(eth), STAT(ipv4), STAT(tcp) },
	{ "QinQ 9100+8100 v6", DECODE_DLT_EN10MB, FR(f_qinq_old), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 2, 0, STAT(eth), STAT(ipv6), STAT(udp) },
	{ "MPLS 1 label v4", DECODE_DLT_EN10MB, FR(f_mpls1_v4), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 1, STAT(mpls), STAT(ipv4), STAT(tcp) },
	{ "MPLS 1 label v6", DECODE_DLT_EN10MB, FR(f_mpls1_v6), 6, 6, FLAGS_L4, 40000, 25, 66, 6, 6, 0, 1, STAT(mpls), STAT(ipv6), STAT(tcp) },
	{ "MPLS 2 labels v4", DECODE_DLT_EN10MB, FR(f_mpls2_v4), 4, 17, FLAGS_L4, 40000, 53, 32, 4, 4, 0, 2, STAT(mpls), STAT(ipv4), STAT(udp) },
	{ "MPLS 2 labels v6", DECODE_DLT_EN10MB, FR(f_mpls2_v6), 6, 17, FLAGS_L4, 5353, 53, 52, 4, 4, 0, 2, STAT(mpls), STAT(ipv6), STAT(udp) },
	{ "PPPoE v4", DECODE_DLT_EN10MB, FR(f_pppoe_v4), 4, 6, FLAGS_L4, 40000, 443, 46, 6, 6, 0, 0, STAT(eth), STAT(ipv4), STAT(tcp) },
	{ "IPv4 options", DECODE_DLT_EN10MB, FR(f_v4_opts), 4, 6, FLAGS_L4, 40000, 443, 50, 6, 6, 0, 0, STAT(eth), STAT(ipv4), STAT(tcp) },
	{ "IPv4 40 bytes options", DECODE_DLT_EN10MB, FR(f_v4_opts_max), 4, 17, FLAGS_L4, 40000, 53, 86, 18, 18, 0, 0, STAT(eth), STAT(ipv4), STAT(udp) },
	{ "IPv4 first fragment", DECODE_DLT_EN10MB, FR(f_v4_frag_first), 4, 17, FRAG_HEAD, 40000, 53, 44, 16, 16, 0, 0, STAT(frags), STAT(ipv4), STAT(udp) },
	{ "IPv4 later fragment", DECODE_DLT_EN10MB, FR(f_v4_frag_later), 4, 17, PKT_FRAG, 0, 0, 104, 84, 84, 0, 0, STAT(frags), STAT(ipv4), NO_STAT },
	{ "ICMP", DECODE_DLT_EN10MB, FR(f_icmp), 4, 1, 0, 0, 0, 32, 8, 0, 0, 0, STAT(eth), STAT(ipv4), STAT(icmp) },
	{ "ICMPv6", DECODE_DLT_EN10MB, FR(f_icmp6), 6, 58, 0, 0, 0, 52, 8, 0, 0, 0, STAT(eth), STAT(ipv6), STAT(icmp6) },
	{ "GRE, unknown payload (other L4)", DECODE_DLT_EN10MB, FR(f_gre), 4, 47, 0, 0, 0, 28, 8, 0, 0, 0, STAT(eth), STAT(ipv4), STAT(other_l4) },
	{ "IPv6 HBH+RH+DO+FH", DECODE_DLT_EN10MB, FR(f_v6_ext), 6, 17, FRAG_HEAD, 40000, 53, 108, 12, 12, 0, 0, STAT(frags), STAT(ipv6), STAT(udp) },
	{ "IPv6 later fragment", DECODE_DLT_EN10MB, FR(f_v6_frag_later), 6, 17, PKT_FRAG, 0, 0, 112, 64, 64, 0, 0, STAT(frags), STAT(ipv6), NO_STAT },
	{ "IPv6 atomic fragment", DECODE_DLT_EN10MB, FR(f_v6_atomic), 6, 17, FLAGS_L4, 40000, 53, 60, 4, 4, 0, 0, STAT(ipv6_ext), STAT(ipv6), STAT(udp) },
	{ "IPv6 AH", DECODE_DLT_EN10MB, FR(f_v6_ah), 6, 6, FLAGS_L4, 40000, 443, 90, 6, 6, 0, 0, STAT(ipv6_ext), STAT(ipv6), STAT(tcp) },
	{ "IPv6 no next header", DECODE_DLT_EN10MB, FR(f_v6_none), 6, 59, 0, 0, 0, 48, 0, 0, 0, 0, STAT(ipv6_ext), STAT(ipv6), NO_STAT },
};

static enum decode_result decode(struct packet *pkt, int linktype, const uint8_t *frame,
				 size_t caplen, size_t wirelen, struct decode_stats *st)
{
	memset(st, 0, sizeof(*st));
	return decode_packet(pkt, linktype, frame, caplen, wirelen, 1000000000ull, st);
}

static void check_addrs(const struct packet *pkt, uint8_t l3)
{
	static const uint8_t s4[] = { V4_SRC }, d4[] = { V4_DST };
	static const uint8_t s6[] = { V6_SRC }, d6[] = { V6_DST };
	struct net_addr s, d;

	if (l3 == NET_ADDR_V4) {
		net_addr_set_v4(&s, s4);
		net_addr_set_v4(&d, d4);
	} else {
		net_addr_set_v6(&s, s6);
		net_addr_set_v6(&d, d6);
	}
	CHECK(!net_addr_cmp(&pkt->src, &s));
	CHECK(!net_addr_cmp(&pkt->dst, &d));
}

static void test_decode__good_frames(void)
{
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		const struct good_case *t = &good[i];
		struct decode_stats st;
		struct packet pkt;
		enum decode_result r;
		int failed_before = check_failed_now;

		check_failed_now = 0;
		r = decode(&pkt, t->linktype, t->frame, t->len, t->len, &st);
		CHECK_EQ_U(r, DECODE_OK);
		CHECK_EQ_U(pkt.wire_len, t->len);
		CHECK_EQ_U(pkt.cap_len, t->len);
		CHECK_EQ_U(pkt.ts_ns, 1000000000ull);
		CHECK_EQ_U(pkt.l3, t->l3);
		CHECK_EQ_U(pkt.l4proto, t->l4proto);
		CHECK_EQ_U(pkt.flags, t->flags);
		CHECK_EQ_U(pkt.sport, t->sport);
		CHECK_EQ_U(pkt.dport, t->dport);
		CHECK_EQ_U(pkt.ip_len, t->ip_len);
		CHECK_EQ_U(pkt.payload_len, t->payload_len);
		CHECK_EQ_U(pkt.payload_caplen, t->payload_caplen);
		CHECK_EQ_U(pkt.vlan_count, t->vlan_count);
		CHECK_EQ_U(pkt.mpls_count, t->mpls_count);
		check_addrs(&pkt, t->l3);
		if (t->payload_caplen) {
			/* the payload is the last bytes of the frame */
			CHECK(pkt.payload == t->frame + t->len - t->payload_caplen);
		} else {
			CHECK(pkt.payload == NULL);
		}
		CHECK_EQ_U(st.packets, 1);
		CHECK_EQ_U(st.bytes, t->len);
		CHECK(stat_at(&st, t->link_stat) >= 1);
		CHECK_EQ_U(stat_at(&st, t->l3_stat), 1);
		if (t->l4_stat != NO_STAT)
			CHECK_EQ_U(stat_at(&st, t->l4_stat), 1);
		CHECK_EQ_U(st.truncated + st.invalid + st.unsupported + st.non_ip, 0);
		CHECK_EQ_U(st.wire_len_mismatch, 0);
		/* exactly one L4 counter moves (none for later fragments / no next header) */
		CHECK_EQ_U(st.tcp + st.udp + st.icmp + st.icmp6 + st.other_l4,
			   t->l4_stat != NO_STAT ? 1 : 0);
		CHECK_EQ_U(st.ipv4 + st.ipv6, 1);
		if (check_failed_now)
			fprintf(stderr, "  ^ good case \"%s\"\n", t->name);
		check_failed_now |= failed_before;
	}
}

static void test_decode__tcp_fields(void)
{
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), sizeof(f_eth_v4_tcp), &st), DECODE_OK);
	CHECK_EQ_U(pkt.seq, 1000);
	CHECK_EQ_U(pkt.ack, 2000);
	CHECK_EQ_U(pkt.tcp_flags, TCPF_PSH | TCPF_ACK);
	CHECK(pkt.payload && !memcmp(pkt.payload, "hello!", 6));
	CHECK_EQ_U(st.eth, 1);
	CHECK_EQ_U(st.ipv4, 1);
	CHECK_EQ_U(st.tcp, 1);
}

static void test_decode__tcp_options(void)
{
	static const uint8_t f[] = {
		ETH(0x0800),
		IPV4(58, 20, 0, 6),                 /* IPv4 len 58 */
		B16(40000), B16(443), B32(7), B32(0), /* TCP ports, seq 7, ack 0 */
		0x80, TCPF_SYN, B16(64240), 0, 0, 0, 0, /* doff 8 (32 bytes), SYN */
		0x02, 0x04, 0x05, 0xb4,             /* MSS 1460 */
		0x01, 0x03, 0x03, 0x07,             /* NOP, window scale 7 */
		0x04, 0x02, 0x01, 0x01,             /* SACK permitted, NOP NOP */
		P6,
	};
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f), sizeof(f), &st), DECODE_OK);
	CHECK_EQ_U(pkt.tcp_flags, TCPF_SYN);
	CHECK_EQ_U(pkt.seq, 7);
	CHECK_EQ_U(pkt.payload_len, 6);
	CHECK_EQ_U(pkt.payload_caplen, 6);
	CHECK(pkt.payload && !memcmp(pkt.payload, "hello!", 6));

	/* the options cut by the capture: ports kept, L4_TRUNC, payload from the wire */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, 14 + 20 + 24, sizeof(f), &st), DECODE_TRUNCATED);
	CHECK_EQ_U(pkt.sport, 40000);
	CHECK_EQ_U(pkt.dport, 443);
	CHECK(pkt.flags & PKT_L4_TRUNC);
	CHECK_EQ_U(pkt.payload_len, 6);
	CHECK_EQ_U(pkt.payload_caplen, 0);
	CHECK_EQ_U(st.truncated, 1);
}

static void test_decode__udp_length_bounds_payload(void)
{
	static const uint8_t f[] = {
		ETH(0x0800),
		IPV4(36, 21, 0, 17),      /* IPv4 len 36: 16 bytes of UDP */
		UDP(40000, 53, 12),       /* UDP len 12: 4 bytes payload, 4 trailing */
		P4, 0xde, 0xad, 0xbe, 0xef,
	};
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f), sizeof(f), &st), DECODE_OK);
	CHECK_EQ_U(pkt.payload_len, 4);
	CHECK_EQ_U(pkt.payload_caplen, 4);
	CHECK(pkt.payload && !memcmp(pkt.payload, "ping", 4));
}

static void test_decode__icmp_type_code(void)
{
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_icmp), sizeof(f_icmp), &st), DECODE_OK);
	CHECK_EQ_U(pkt.icmp_type, 8);
	CHECK_EQ_U(pkt.icmp_code, 0);
	CHECK_EQ_U(st.icmp, 1);
	CHECK_EQ_U(st.icmp6, 0);
	CHECK(!(pkt.flags & PKT_L4));
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_icmp6), sizeof(f_icmp6), &st), DECODE_OK);
	CHECK_EQ_U(pkt.icmp_type, 128);
	CHECK_EQ_U(st.icmp6, 1);
	CHECK_EQ_U(st.icmp, 0);
}

static void test_decode__vlan_ids(void)
{
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_vlan1), sizeof(f_vlan1), &st), DECODE_OK);
	CHECK_EQ_U(pkt.vlan_count, 1);
	CHECK_EQ_U(pkt.vlan[0], 42);
	CHECK_EQ_U(pkt.vlan[1], 0);
	CHECK_EQ_U(st.vlan, 1);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_qinq), sizeof(f_qinq), &st), DECODE_OK);
	CHECK_EQ_U(pkt.vlan_count, 2);
	CHECK_EQ_U(pkt.vlan[0], 100); /* outer first */
	CHECK_EQ_U(pkt.vlan[1], 42);  /* PCP bits masked off */
	CHECK_EQ_U(st.vlan, 2);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_qinq_old), sizeof(f_qinq_old), &st), DECODE_OK);
	CHECK_EQ_U(pkt.vlan[0], 4095);
	CHECK_EQ_U(pkt.vlan[1], 1);
}

static void test_decode__third_vlan_tag_unsupported(void)
{
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_vlan3), sizeof(f_vlan3), &st), DECODE_UNSUPPORTED);
	CHECK_EQ_U(st.unsupported, 1);
	CHECK_EQ_U(st.vlan, 2);
	CHECK_EQ_U(pkt.vlan_count, 2);
	CHECK_EQ_U(pkt.l3, 0);
	CHECK_EQ_U(st.ipv4, 0);
}

static void test_decode__mpls_limits(void)
{
	uint8_t f[14 + 4 * (DECODE_MAX_MPLS + 1) + sizeof(f_raw_v4_tcp)];
	static const uint8_t eth[] = { ETH(0x8847) };        /* Ethernet -> MPLS */
	static const uint8_t label[] = { MPLS(16, 0) };      /* label 16, not bottom */
	static const uint8_t bottom[] = { MPLS(17, 1) };     /* label 17, bottom */
	static const uint8_t bad[] = { ETH(0x8847), MPLS(16, 1), 0x50, 0, 0, 0 }; /* bottom -> version 5 */
	struct decode_stats st;
	struct packet pkt;
	size_t n;

	/* DECODE_MAX_MPLS labels, the last one bottom of stack: decoded */
	memcpy(f, eth, 14);
	n = 14;
	for (unsigned i = 0; i < DECODE_MAX_MPLS - 1; i++, n += 4)
		memcpy(f + n, label, 4);
	memcpy(f + n, bottom, 4);
	n += 4;
	memcpy(f + n, f_raw_v4_tcp, sizeof(f_raw_v4_tcp));
	n += sizeof(f_raw_v4_tcp);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, n, n, &st), DECODE_OK);
	CHECK_EQ_U(pkt.mpls_count, DECODE_MAX_MPLS);
	CHECK_EQ_U(pkt.dport, 443);
	CHECK_EQ_U(st.mpls, 1);

	/* one label more without a bottom: unsupported */
	n = 14;
	for (unsigned i = 0; i < DECODE_MAX_MPLS + 1; i++, n += 4)
		memcpy(f + n, label, 4);
	memcpy(f + n, f_raw_v4_tcp, sizeof(f_raw_v4_tcp));
	n += sizeof(f_raw_v4_tcp);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, n, n, &st), DECODE_UNSUPPORTED);
	CHECK_EQ_U(st.unsupported, 1);
	CHECK_EQ_U(pkt.l3, 0);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(bad), sizeof(bad), &st), DECODE_INVALID);
	CHECK_EQ_U(st.invalid, 1);
}

static void test_decode__fragments(void)
{
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_v4_frag_first), sizeof(f_v4_frag_first), &st), DECODE_OK);
	CHECK_EQ_U(pkt.flags, PKT_FRAG | PKT_FRAG_HEAD | PKT_FRAG_MORE | PKT_L4);
	CHECK_EQ_U(pkt.frag_off, 0);
	CHECK_EQ_U(pkt.frag_id, 0xbeef);
	CHECK_EQ_U(pkt.sport, 40000);
	CHECK_EQ_U(pkt.dport, 53);
	CHECK_EQ_U(pkt.payload_len, 16); /* the fragment's, not UDP length 108 - 8 */
	CHECK_EQ_U(st.frags, 1);
	CHECK_EQ_U(st.udp, 1);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_v4_frag_later), sizeof(f_v4_frag_later), &st), DECODE_OK);
	CHECK_EQ_U(pkt.flags, PKT_FRAG); /* last one: no MF */
	CHECK_EQ_U(pkt.frag_id, 0xbeef);
	CHECK_EQ_U(pkt.frag_off, 24);
	CHECK_EQ_U(pkt.l4proto, IPPROTO_UDP);
	CHECK_EQ_U(pkt.sport, 0);
	CHECK_EQ_U(pkt.dport, 0);
	CHECK_EQ_U(pkt.payload_len, 84);
	CHECK_EQ_U(pkt.payload_caplen, 84);
	CHECK(pkt.payload == f_v4_frag_later + 34);
	CHECK_EQ_U(st.frags, 1);
	CHECK_EQ_U(st.udp, 0);

	/* a middle fragment: MF and an offset */
	{
		uint8_t f[sizeof(f_v4_frag_later)];
		memcpy(f, f_v4_frag_later, sizeof(f));
		f[20] = 0x20; /* MF, offset 3 */
		CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, sizeof(f), sizeof(f), &st), DECODE_OK);
		CHECK_EQ_U(pkt.flags, PKT_FRAG | PKT_FRAG_MORE);
		CHECK_EQ_U(pkt.frag_off, 24);
		/* a later fragment snapped by the capture: wire length kept */
		CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, 40, sizeof(f), &st), DECODE_OK);
		CHECK_EQ_U(pkt.payload_len, 84);
		CHECK_EQ_U(pkt.payload_caplen, 6);
	}

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_v6_ext), sizeof(f_v6_ext), &st), DECODE_OK);
	CHECK_EQ_U(pkt.flags, PKT_FRAG | PKT_FRAG_HEAD | PKT_FRAG_MORE | PKT_L4);
	CHECK_EQ_U(pkt.frag_off, 0);
	CHECK_EQ_U(pkt.frag_id, 0x12345678);
	CHECK_EQ_U(pkt.payload_len, 12);
	CHECK_EQ_U(st.ipv6_ext, 4);
	CHECK_EQ_U(st.frags, 1);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_v6_frag_later), sizeof(f_v6_frag_later), &st), DECODE_OK);
	CHECK_EQ_U(pkt.flags, PKT_FRAG);
	CHECK_EQ_U(pkt.frag_id, 0x12345678);
	CHECK_EQ_U(pkt.frag_off, 16);
	CHECK_EQ_U(pkt.l4proto, IPPROTO_UDP);
	CHECK_EQ_U(pkt.payload_len, 64);
	CHECK_EQ_U(pkt.payload_caplen, 64);
	CHECK_EQ_U(st.udp, 0);

	/* atomic fragment (RFC 6946): not a fragment for the flow layer */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_v6_atomic), sizeof(f_v6_atomic), &st), DECODE_OK);
	CHECK_EQ_U(pkt.flags, PKT_L4);
}

/* IPv6 with n destination-options headers (8 bytes each) then UDP. */
static size_t build_v6_ext_chain(uint8_t *f, unsigned n)
{
	static const uint8_t eth[] = { ETH(0x86dd) };
	static const uint8_t udp[] = { UDP(40000, 53, 12), P4 };
	uint8_t ip6[] = { IPV6(0, 60) }; /* plen patched below -> dstopts */
	size_t off = 0, plen = 8 * n + sizeof(udp);

	memcpy(f, eth, sizeof(eth));
	off = sizeof(eth);
	ip6[4] = (uint8_t)(plen >> 8);
	ip6[5] = (uint8_t)plen;
	memcpy(f + off, ip6, sizeof(ip6));
	off += sizeof(ip6);
	for (unsigned i = 0; i < n; i++) {
		/* dstopts -> dstopts (or UDP for the last), len 8, PadN */
		const uint8_t dst[] = { i + 1 < n ? 60 : 17, 0, 0x01, 0x04, 0, 0, 0, 0 };
		memcpy(f + off, dst, sizeof(dst));
		off += sizeof(dst);
	}
	memcpy(f + off, udp, sizeof(udp));
	return off + sizeof(udp);
}

static void test_decode__ipv6_ext_chain_limit(void)
{
	uint8_t f[14 + 40 + 8 * (DECODE_MAX_IPV6_EXT + 2) + 12];
	struct decode_stats st;
	struct packet pkt;
	size_t n;

	n = build_v6_ext_chain(f, DECODE_MAX_IPV6_EXT);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, n, n, &st), DECODE_OK);
	CHECK_EQ_U(st.ipv6_ext, DECODE_MAX_IPV6_EXT);
	CHECK_EQ_U(pkt.dport, 53);
	CHECK_EQ_U(pkt.payload_len, 4);

	n = build_v6_ext_chain(f, DECODE_MAX_IPV6_EXT + 1);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, n, n, &st), DECODE_UNSUPPORTED);
	CHECK_EQ_U(st.unsupported, 1);
	CHECK_EQ_U(st.ipv6, 1);
	CHECK_EQ_U(st.udp, 0);
	CHECK_EQ_U(pkt.l3, NET_ADDR_V6); /* addresses are still there */
	CHECK(!(pkt.flags & PKT_L4));
}

/* A full-size frame snapped to 128 bytes: byte counts come from the wire. */
static void test_decode__snaplen_byte_accounting(void)
{
	static const uint8_t hdr[] = {
		ETH(0x0800),
		IPV4(1500, 30, 0x4000, 6), /* IPv4 len 1500, DF */
		TCP(40000, 443, PA),
	};
	static uint8_t f[1514];
	struct decode_stats st;
	struct packet pkt;

	memset(f, 'x', sizeof(f));
	memcpy(f, hdr, sizeof(hdr));
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, 128, 1514, &st), DECODE_OK);
	CHECK_EQ_U(pkt.wire_len, 1514);
	CHECK_EQ_U(pkt.cap_len, 128);
	CHECK_EQ_U(pkt.ip_len, 1500);
	CHECK_EQ_U(pkt.payload_len, 1460);
	CHECK_EQ_U(pkt.payload_caplen, 74);
	CHECK(pkt.payload == f + 54);
	CHECK_EQ_U(pkt.flags, PKT_L4); /* DF is not a fragment */
	CHECK_EQ_U(st.bytes, 1514);
	CHECK_EQ_U(st.truncated, 0);
	CHECK_EQ_U(st.wire_len_mismatch, 0);
}

static void test_decode__ethernet_padding(void)
{
	static const uint8_t f[60] = {
		ETH(0x0800),
		IPV4(40, 31, 0, 6),     /* IPv4 len 40: a bare ACK */
		TCP(40000, 443, TCPF_ACK),
		/* 6 bytes of Ethernet padding (zero) */
	};
	static const uint8_t f6[64] = {
		ETH(0x86dd),
		IPV6(8, 17),            /* IPv6 plen 8: empty UDP */
		UDP(40000, 53, 8),
		/* 2 bytes of padding */
	};
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f), sizeof(f), &st), DECODE_OK);
	CHECK_EQ_U(pkt.wire_len, 60);
	CHECK_EQ_U(pkt.ip_len, 40);
	CHECK_EQ_U(pkt.payload_len, 0);
	CHECK_EQ_U(pkt.payload_caplen, 0);
	CHECK(pkt.payload == NULL);
	CHECK_EQ_U(st.wire_len_mismatch, 0);

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f6), sizeof(f6), &st), DECODE_OK);
	CHECK_EQ_U(pkt.ip_len, 48);
	CHECK_EQ_U(pkt.payload_len, 0);
	CHECK_EQ_U(pkt.payload_caplen, 0);
}

static void test_decode__ip_total_length_zero(void)
{
	uint8_t f[sizeof(f_eth_v4_tcp)];
	uint8_t f6[sizeof(f_eth_v6_udp)];
	struct decode_stats st;
	struct packet pkt;

	memcpy(f, f_eth_v4_tcp, sizeof(f));
	f[16] = f[17] = 0; /* IPv4 total length 0 (TSO) */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, sizeof(f), sizeof(f), &st), DECODE_OK);
	CHECK_EQ_U(pkt.ip_len, 46);
	CHECK_EQ_U(pkt.payload_len, 6);
	CHECK_EQ_U(pkt.payload_caplen, 6);
	/* snapped capture: the wire length still decides */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, 54, 9014, &st), DECODE_OK);
	CHECK_EQ_U(pkt.ip_len, 9000);
	CHECK_EQ_U(pkt.payload_len, 8960);
	CHECK_EQ_U(pkt.payload_caplen, 0);
	CHECK_EQ_U(st.wire_len_mismatch, 0);

	memcpy(f6, f_eth_v6_udp, sizeof(f6));
	f6[18] = f6[19] = 0; /* IPv6 payload length 0 */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f6, sizeof(f6), sizeof(f6), &st), DECODE_OK);
	CHECK_EQ_U(pkt.ip_len, 52);
	CHECK_EQ_U(pkt.payload_len, 4);
}

static void test_decode__ip_length_larger_than_frame(void)
{
	uint8_t f[sizeof(f_eth_v4_tcp)];
	uint8_t f6[sizeof(f_eth_v6_udp)];
	struct decode_stats st;
	struct packet pkt;

	memcpy(f, f_eth_v4_tcp, sizeof(f));
	f[16] = 0x03; /* IPv4 total length 1000 in a 60-byte frame */
	f[17] = 0xe8;
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f, sizeof(f), sizeof(f), &st), DECODE_OK);
	CHECK_EQ_U(st.wire_len_mismatch, 1);
	CHECK_EQ_U(pkt.ip_len, 46);
	CHECK_EQ_U(pkt.payload_len, 6);

	memcpy(f6, f_eth_v6_udp, sizeof(f6));
	f6[18] = 0x01; /* IPv6 payload length 256 */
	f6[19] = 0x00;
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f6, sizeof(f6), sizeof(f6), &st), DECODE_OK);
	CHECK_EQ_U(st.wire_len_mismatch, 1);
	CHECK_EQ_U(pkt.ip_len, 52);
	/* the UDP length (12) is inside the datagram: it bounds the payload */
	CHECK_EQ_U(pkt.payload_len, 4);
}

/* One byte changed in a good frame makes it invalid. */
struct invalid_case {
	const char *name;
	int linktype;
	const uint8_t *frame;
	size_t len;
	size_t off;
	uint8_t val;
	enum decode_result want;
	uint8_t l3; /* what survives */
};

static const uint8_t f_tcp_doff6[] = {
	ETH(0x0800),
	IPV4(40, 40, 0, 6),                 /* IPv4 len 40: 20-byte segment */
	B16(40000), B16(443), B32(1), B32(0),
	0x60, TCPF_ACK, B16(100), 0, 0, 0, 0, /* doff 6: 24 bytes > 20 */
};

static const uint8_t f_udp_short[] = {
	ETH(0x0800),
	IPV4(26, 41, 0, 17),      /* IPv4 len 26: 6 bytes of UDP */
	UDP(40000, 53, 8),        /* UDP header (8) runs past the datagram */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* padding */
};

static const uint8_t f_v6_ext_overrun[] = {
	ETH(0x86dd),
	IPV6(16, 0),                        /* IPv6 plen 16 -> hop-by-hop */
	17, 2, 0x01, 0x04, 0, 0, 0, 0,      /* HBH len (2+1)*8 = 24 > 16 */
	UDP(40000, 53, 8),
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* padding */
};

static const struct invalid_case invalid[] = {
	{ "IPv4 ihl 4", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 14, 0x44, DECODE_INVALID, 0 },
	{ "IPv4 ihl 0", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 14, 0x40, DECODE_INVALID, 0 },
	{ "IPv4 version 5 (ethertype)", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 14, 0x55, DECODE_INVALID, 0 },
	{ "IPv4 version 6 (ethertype 0x0800)", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 14, 0x65, DECODE_INVALID, 0 },
	{ "IP version 5 (raw)", DECODE_DLT_RAW, FR(f_raw_v4_tcp), 0, 0x55, DECODE_INVALID, 0 },
	{ "IPv4 total length 19", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 17, 19, DECODE_INVALID, 0 },
	{ "IPv4 total length < ihl*4", DECODE_DLT_EN10MB, FR(f_v4_opts), 17, 22, DECODE_INVALID, 0 },
	{ "TCP data offset 4", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 46, 0x40, DECODE_INVALID, NET_ADDR_V4 },
	{ "TCP data offset 0", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 46, 0x00, DECODE_INVALID, NET_ADDR_V4 },
	{ "TCP data offset 15 > segment", DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 46, 0xf0, DECODE_INVALID, NET_ADDR_V4 },
	{ "TCP data offset 6 > 20-byte segment", DECODE_DLT_EN10MB, FR(f_tcp_doff6), 46, 0x60, DECODE_INVALID, NET_ADDR_V4 },
	{ "UDP header past the datagram", DECODE_DLT_EN10MB, FR(f_udp_short), 14, 0x45, DECODE_INVALID, NET_ADDR_V4 },
	{ "IPv6 version 7", DECODE_DLT_EN10MB, FR(f_eth_v6_udp), 14, 0x70, DECODE_INVALID, 0 },
	{ "IPv6 version 4 (ethertype 0x86dd)", DECODE_DLT_EN10MB, FR(f_eth_v6_udp), 14, 0x40, DECODE_INVALID, 0 },
	{ "IPv6 version 4 (DLT_IPV6)", DECODE_DLT_IPV6, FR(f_raw_v6_udp), 0, 0x45, DECODE_INVALID, 0 },
	{ "IPv6 ext header past payload", DECODE_DLT_EN10MB, FR(f_v6_ext_overrun), 14, 0x60, DECODE_INVALID, NET_ADDR_V6 },
};

static void test_decode__invalid(void)
{
	for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
		const struct invalid_case *t = &invalid[i];
		uint8_t f[256];
		struct decode_stats st;
		struct packet pkt;
		enum decode_result r;
		int failed_before = check_failed_now;

		check_failed_now = 0;
		memcpy(f, t->frame, t->len);
		f[t->off] = t->val;
		r = decode(&pkt, t->linktype, f, t->len, t->len, &st);
		CHECK_EQ_U(r, t->want);
		CHECK_EQ_U(st.invalid, 1);
		CHECK_EQ_U(st.truncated, 0);
		CHECK_EQ_U(st.unsupported, 0);
		CHECK_EQ_U(st.tcp + st.udp, 0);
		CHECK_EQ_U(pkt.l3, t->l3);
		CHECK(!(pkt.flags & PKT_L4));
		if (check_failed_now)
			fprintf(stderr, "  ^ invalid case \"%s\"\n", t->name);
		check_failed_now |= failed_before;
	}
}

static void test_decode__non_ip_and_unsupported(void)
{
	static const uint8_t arp[] = {
		ETH(0x0806),                          /* Ethernet -> ARP */
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, /* request */
		MAC_A, V4_SRC, 0, 0, 0, 0, 0, 0, V4_DST,
	};
	static const uint8_t llc[] = {
		MAC_B, MAC_A, 0x00, 0x26,             /* 802.3 length 38 */
		0x42, 0x42, 0x03, 0, 0, 0, 0, 0,      /* LLC STP */
	};
	static const uint8_t sll_can[] = {
		0x00, 0x00, 0x01, 0x18, 0x00, 0x00,   /* SLL: hatype 280 (CAN) */
		0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x0c,   /* protocol 0x000c: CAN */
		0, 0, 0, 0,
	};
	static const uint8_t null_other[] = {
		0x07, 0x00, 0x00, 0x00,               /* NULL: family 7 */
		0x45, 0, 0, 0,
	};
	struct decode_stats st;
	struct packet pkt;

	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(arp), sizeof(arp), &st), DECODE_OK);
	CHECK_EQ_U(pkt.l3, 0);
	CHECK_EQ_U(st.non_ip, 1);
	CHECK_EQ_U(st.eth, 1);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(llc), sizeof(llc), &st), DECODE_OK);
	CHECK_EQ_U(st.non_ip, 1);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_LINUX_SLL, FR(sll_can), sizeof(sll_can), &st), DECODE_OK);
	CHECK_EQ_U(st.non_ip, 1);
	CHECK_EQ_U(st.sll, 1);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_NULL, FR(null_other), sizeof(null_other), &st), DECODE_OK);
	CHECK_EQ_U(st.non_ip, 1);
	CHECK_EQ_U(pkt.l3, 0);

	CHECK_EQ_U(decode(&pkt, 9999, FR(f_eth_v4_tcp), sizeof(f_eth_v4_tcp), &st), DECODE_UNSUPPORTED);
	CHECK_EQ_U(st.unsupported, 1);
	CHECK_EQ_U(st.packets, 1);
	CHECK_EQ_U(st.bytes, sizeof(f_eth_v4_tcp));
	CHECK_EQ_U(pkt.wire_len, sizeof(f_eth_v4_tcp));
}

static void test_decode__linktype_names(void)
{
	static const struct { int dlt; const char *name; } names[] = {
		{ DECODE_DLT_EN10MB, "EN10MB" }, { DECODE_DLT_LINUX_SLL, "LINUX_SLL" },
		{ DECODE_DLT_LINUX_SLL2, "LINUX_SLL2" }, { DECODE_DLT_RAW, "RAW" },
		{ DECODE_LINKTYPE_RAW, "RAW" }, { DECODE_DLT_IPV4, "IPV4" },
		{ DECODE_DLT_IPV6, "IPV6" }, { DECODE_DLT_NULL, "NULL" },
		{ DECODE_DLT_LOOP, "LOOP" },
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		CHECK(decode_linktype_supported(names[i].dlt));
		CHECK_STREQ(decode_linktype_name(names[i].dlt), names[i].name);
	}
	CHECK(!decode_linktype_supported(9999));
	CHECK(!decode_linktype_supported(-1));
	CHECK_STREQ(decode_linktype_name(9999), "unknown");
	CHECK_STREQ(decode_linktype_name(-1), "unknown");
}

static void test_decode__wire_shorter_than_capture(void)
{
	struct decode_stats st;
	struct packet pkt;

	/* a broken writer: wire length below the captured length */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), 10, &st), DECODE_OK);
	CHECK_EQ_U(pkt.wire_len, sizeof(f_eth_v4_tcp));
	CHECK_EQ_U(pkt.payload_len, 6);
	CHECK_EQ_U(st.bytes, sizeof(f_eth_v4_tcp));
	CHECK_EQ_U(st.wire_len_mismatch, 0);

	/* empty frame, no data at all */
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, NULL, 0, 0, &st), DECODE_TRUNCATED);
	CHECK_EQ_U(st.truncated, 1);
	CHECK_EQ_U(decode(&pkt, DECODE_DLT_RAW, NULL, 0, 0, &st), DECODE_TRUNCATED);
	CHECK_EQ_U(st.truncated, 1);
}

/*
 * Cut every good frame at every length below its size, wire length kept:
 * no crash (the bytes are copied to an exact-size heap buffer so ASan and
 * valgrind see any over-read), only TRUNCATED or OK-with-less, and the
 * truncated counter moves exactly when TRUNCATED is returned.
 */
static void test_decode__truncate_every_length(void)
{
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		const struct good_case *t = &good[i];
		struct decode_stats st;
		struct packet full, pkt;
		int failed_before = check_failed_now;

		check_failed_now = 0;
		CHECK_EQ_U(decode(&full, t->linktype, t->frame, t->len, t->len, &st), DECODE_OK);
		for (size_t cap = 0; cap < t->len; cap++) {
			uint8_t *buf = malloc(cap ? cap : 1);
			enum decode_result r;

			if (!buf)
				abort();
			memcpy(buf, t->frame, cap);
			r = decode(&pkt, t->linktype, buf, cap, t->len, &st);
			CHECK(r == DECODE_OK || r == DECODE_TRUNCATED);
			CHECK_EQ_U(st.truncated, r == DECODE_TRUNCATED ? 1 : 0);
			CHECK_EQ_U(st.invalid + st.unsupported + st.wire_len_mismatch, 0);
			CHECK_EQ_U(st.packets, 1);
			CHECK_EQ_U(st.bytes, t->len);
			CHECK_EQ_U(pkt.wire_len, t->len);
			CHECK_EQ_U(pkt.cap_len, cap);
			CHECK(pkt.payload_caplen <= cap);
			if (pkt.payload_caplen)
				CHECK(pkt.payload >= buf && pkt.payload + pkt.payload_caplen <= buf + cap);
			if (r == DECODE_OK) {
				/* everything but the captured payload is as in full */
				size_t lost = t->len - cap;
				CHECK_EQ_U(pkt.l3, full.l3);
				CHECK_EQ_U(pkt.l4proto, full.l4proto);
				CHECK_EQ_U(pkt.flags, full.flags);
				CHECK_EQ_U(pkt.sport, full.sport);
				CHECK_EQ_U(pkt.dport, full.dport);
				CHECK_EQ_U(pkt.ip_len, full.ip_len);
				CHECK_EQ_U(pkt.payload_len, full.payload_len);
				CHECK_EQ_U(pkt.payload_caplen,
					   full.payload_caplen > lost ? full.payload_caplen - lost : 0);
			} else {
				CHECK(!(pkt.flags & PKT_L4) || (pkt.flags & PKT_L4_TRUNC));
				if (pkt.l3) {
					CHECK_EQ_U(pkt.l3, full.l3);
					CHECK_EQ_U(pkt.ip_len, full.ip_len);
				}
				if (pkt.sport || pkt.dport) {
					CHECK(pkt.flags & PKT_L4_TRUNC);
					CHECK_EQ_U(pkt.sport, full.sport);
					CHECK_EQ_U(pkt.dport, full.dport);
				}
			}
			free(buf);
			if (check_failed_now) {
				fprintf(stderr, "  ^ \"%s\" cut at %zu of %zu (result %d)\n",
					t->name, cap, t->len, (int)r);
				break;
			}
		}
		check_failed_now |= failed_before;
	}
}

/* Where each header of f_eth_v4_tcp ends: the outcome on each side. */
static void test_decode__truncate_field_boundaries(void)
{
	static const struct {
		size_t cap;
		enum decode_result want;
		uint8_t l3;
		uint16_t dport;
		uint8_t flags;
	} cuts[] = {
		{ 0, DECODE_TRUNCATED, 0, 0, 0 },
		{ 13, DECODE_TRUNCATED, 0, 0, 0 },             /* ethertype cut */
		{ 14, DECODE_TRUNCATED, 0, 0, 0 },             /* no IP byte */
		{ 33, DECODE_TRUNCATED, 0, 0, 0 },             /* IPv4 dst cut */
		{ 34, DECODE_TRUNCATED, NET_ADDR_V4, 0, 0 },   /* no TCP byte */
		{ 37, DECODE_TRUNCATED, NET_ADDR_V4, 0, 0 },   /* dport cut */
		{ 38, DECODE_TRUNCATED, NET_ADDR_V4, 443, PKT_L4_TRUNC }, /* ports only */
		{ 53, DECODE_TRUNCATED, NET_ADDR_V4, 443, PKT_L4_TRUNC }, /* urgent ptr cut */
		{ 54, DECODE_OK, NET_ADDR_V4, 443, PKT_L4 },   /* header, no payload */
		{ 59, DECODE_OK, NET_ADDR_V4, 443, PKT_L4 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cuts); i++) {
		struct decode_stats st;
		struct packet pkt;

		CHECK_EQ_U(decode(&pkt, DECODE_DLT_EN10MB, f_eth_v4_tcp, cuts[i].cap,
				  sizeof(f_eth_v4_tcp), &st), cuts[i].want);
		CHECK_EQ_U(pkt.l3, cuts[i].l3);
		CHECK_EQ_U(pkt.dport, cuts[i].dport);
		CHECK_EQ_U(pkt.flags, cuts[i].flags);
		if (cuts[i].want == DECODE_OK) {
			CHECK_EQ_U(pkt.payload_len, 6);
			CHECK_EQ_U(pkt.payload_caplen, cuts[i].cap - 54);
		}
	}
}

static void test_decode__stats_accumulate(void)
{
	struct decode_stats st;
	struct packet pkt;

	memset(&st, 0, sizeof(st));
	CHECK_EQ_U(decode_packet(&pkt, DECODE_DLT_EN10MB, FR(f_eth_v4_tcp), sizeof(f_eth_v4_tcp), 1, &st), DECODE_OK);
	CHECK_EQ_U(decode_packet(&pkt, DECODE_DLT_EN10MB, FR(f_qinq), sizeof(f_qinq), 2, &st), DECODE_OK);
	CHECK_EQ_U(decode_packet(&pkt, DECODE_DLT_EN10MB, FR(f_v6_ext), sizeof(f_v6_ext), 3, &st), DECODE_OK);
	CHECK_EQ_U(decode_packet(&pkt, DECODE_DLT_EN10MB, f_eth_v4_tcp, 20, sizeof(f_eth_v4_tcp), 4, &st), DECODE_TRUNCATED);
	CHECK_EQ_U(st.packets, 4);
	CHECK_EQ_U(st.bytes, 2 * sizeof(f_eth_v4_tcp) + sizeof(f_qinq) + sizeof(f_v6_ext));
	CHECK_EQ_U(st.eth, 4);
	CHECK_EQ_U(st.vlan, 2);
	CHECK_EQ_U(st.ipv4, 2);
	CHECK_EQ_U(st.ipv6, 1);
	CHECK_EQ_U(st.ipv6_ext, 4);
	CHECK_EQ_U(st.frags, 1);
	CHECK_EQ_U(st.tcp, 2);
	CHECK_EQ_U(st.udp, 1);
	CHECK_EQ_U(st.truncated, 1);
	CHECK_EQ_U(pkt.ts_ns, 4);
}

int main(void)
{
	RUN(test_decode__good_frames);
	RUN(test_decode__tcp_fields);
	RUN(test_decode__tcp_options);
	RUN(test_decode__udp_length_bounds_payload);
	RUN(test_decode__icmp_type_code);
	RUN(test_decode__vlan_ids);
	RUN(test_decode__third_vlan_tag_unsupported);
	RUN(test_decode__mpls_limits);
	RUN(test_decode__fragments);
	RUN(test_decode__ipv6_ext_chain_limit);
	RUN(test_decode__snaplen_byte_accounting);
	RUN(test_decode__ethernet_padding);
	RUN(test_decode__ip_total_length_zero);
	RUN(test_decode__ip_length_larger_than_frame);
	RUN(test_decode__invalid);
	RUN(test_decode__non_ip_and_unsupported);
	RUN(test_decode__linktype_names);
	RUN(test_decode__wire_shorter_than_capture);
	RUN(test_decode__truncate_every_length);
	RUN(test_decode__truncate_field_boundaries);
	RUN(test_decode__stats_accumulate);
	return CHECK_DONE();
}
