/* SPDX-License-Identifier: MIT */
/*
 * capture.h -- the ABI shared by bpf/capture.bpf.c (kernel) and
 * sensor/capture-bpf.c (userspace): map keys and values, ring-buffer
 * records, statistics indices and sizes.
 *
 * Only fixed-width fields (__u8/__u16/__u32/__u64, __be32) with explicit
 * padding: the same bytes mean the same thing on both sides, and every
 * padding byte is written as zero (keys are hashed and memcmp'd).  Bump
 * CAPTURE_ABI_VERSION on any change to a struct or a constant below.
 * See docs/bpf.md.
 */
#ifndef MAILTAP_BPF_CAPTURE_H
#define MAILTAP_BPF_CAPTURE_H

#include <linux/types.h>

#define CAPTURE_ABI_VERSION 2

/* --- sizes (map max_entries; userspace may resize before load) --- */
#define CAPTURE_FLOW_MAX      65536        /* flows map (LRU hash) */
#define CAPTURE_PREFIX_MAX    16384        /* catalog prefixes (LPM trie) */
#define CAPTURE_LEARNED_MAX   65536        /* learned addresses (hash) */
#define CAPTURE_FRAG_MAX      4096         /* IP datagrams in reassembly (LRU) */
#define CAPTURE_RB_BYTES      (1024 * 1024) /* ring buffer, power of 2 */
#define CAPTURE_PAYLOAD_MAX   2048         /* data bytes in one payload record */
#define CAPTURE_MAX_VLAN      2
#define CAPTURE_MAX_IPV6_EXT  8
#define CAPTURE_MAX_TUNNEL    4   /* nested encapsulations opened (= userspace DECODE_MAX_TUNNEL) */
#define CAPTURE_TUN_EXTRA_PORTS 4 /* extra VXLAN / GENEVE ports (= DECODE_EXTRA_PORTS) */
#define CAPTURE_GENEVE_OPT_MAX 252 /* GENEVE options: 6-bit length in 4-byte words */

/* capture_flow_key.tunnel_kind: the same numbers as userspace's enum
 * decode_tunnel_type (userspace/decode.h; checked in sensor/capture-bpf.c) */
#define CAPTURE_TUN_NONE   0
#define CAPTURE_TUN_VXLAN  1 /* UDP 4789, RFC 7348 */
#define CAPTURE_TUN_GENEVE 2 /* UDP 6081, RFC 8926 */
#define CAPTURE_TUN_GRE    3 /* RFC 2784/2890; PPTP enhanced GRE (RFC 2637) */
#define CAPTURE_TUN_ERSPAN 4 /* ERSPAN I/II/III over GRE */
#define CAPTURE_TUN_IPIP   5 /* 4in4, 6in4, 4in6, 6in6 */

/* --- flow key: the canonical key of userspace/flow-table.h ---
 * Endpoint a is the lower (address, port) pair: addresses compared as
 * 16 big-endian bytes (IPv4 in addr[0], rest zero), then ports as numbers.
 * Ports are in host byte order, like struct flow_key.  A tunnelled flow is
 * keyed by its inner tuple; when the innermost tunnel carries a tenant id
 * (VXLAN/GENEVE VNI, GRE key, ERSPAN II/III session id) it is part of the
 * key too, as in userspace's flow_key.tunnel_kind/tunnel_id; keyless GRE,
 * ERSPAN I, PPTP and IP-in-IP key like direct traffic. */
struct capture_flow_key {
	__be32 addr_a[4];
	__be32 addr_b[4];
	__u16 port_a, port_b;   /* host order */
	__u16 vlan[CAPTURE_MAX_VLAN]; /* outer first, 12-bit ids; 0 = none */
	__u8 proto;             /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;            /* 4 or 6 (NET_ADDR_V4 / NET_ADDR_V6) */
	__u8 tunnel_kind;       /* CAPTURE_TUN_* whose id separates tenants; 0 = none */
	__u8 pad;               /* zero */
	__u32 tunnel_id;        /* VNI, GRE key or ERSPAN session id; 0 when kind 0 */
};

/* Direction indices of the per-flow arrays and of capture_event.dir:
 * AB = sent by endpoint a to endpoint b. */
#define CAPTURE_DIR_AB 0
#define CAPTURE_DIR_BA 1

/* capture_flow_counters.state bits */
#define CAPTURE_FS_CLIENT_IS_A   0x0001 /* a is the client (SYN sender / not on a server port) */
#define CAPTURE_FS_FIN_A         0x0002 /* FIN sent by a */
#define CAPTURE_FS_FIN_B         0x0004 /* FIN sent by b */
#define CAPTURE_FS_RST           0x0008 /* RST by either side */
#define CAPTURE_FS_MATCH_CATALOG 0x0010 /* an endpoint is in the prefix map */
#define CAPTURE_FS_MATCH_LEARNED 0x0020 /* an endpoint is in the learned map */
#define CAPTURE_FS_ALL           0x0040 /* filter off when created */
#define CAPTURE_FS_SYN_SEEN      0x0080 /* created by a SYN / SYN-ACK */

/* Value of the flows map.  Counters are updated with atomic adds; times,
 * flags and state with plain stores / atomic ORs. */
struct capture_flow_counters {
	__u64 pkts[2];          /* [CAPTURE_DIR_*]; GSO super-packets count gso_segs */
	__u64 bytes[2];         /* frame bytes on the wire (L2 header + VLAN tags);
	                         * tunnelled: the inner packet's wire length */
	__u64 payload_bytes[2]; /* L4 payload from the IP total length */
	__u64 first_ns, last_ns;/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 tcp_flags;        /* bits 0-7: OR of flags a->b; bits 8-15: b->a */
	__u32 state;            /* CAPTURE_FS_* */
	__u32 client_segs;      /* client segments with payload seen */
	__u32 pad;
};

/* --- filter maps --- */

/* LPM key: prefixlen counts the family byte too, so one trie holds both
 * families: prefixlen = 8 + CIDR length; family 4 or 6; addr in network
 * order (IPv4 in addr[0..3]). */
struct capture_lpm_key {
	__u32 prefixlen;
	__u8 family;
	__u8 addr[16];
	__u8 pad[3];            /* zero; never part of a prefix (max 136 bits) */
};

struct capture_lpm_value {
	__u32 tag;              /* userspace's id (catalog entry), opaque to BPF */
	__u32 pad;
};

struct capture_addr_key {
	__u8 family;            /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};

struct capture_addr_value {
	__u32 tag;              /* userspace's id (catalog entry / DNS name) */
	__u32 pad;
	__u64 added_ns;         /* userspace's clock, opaque to BPF */
};

/* Fragment map (BPF-private, listed for completeness). */
struct capture_frag_key {
	__be32 src[4], dst[4];
	__u32 id;               /* IPv4 id or IPv6 fragment id */
	__u8 proto, family;
	__u8 pad[2];
};

struct capture_frag_value {
	__u16 sport, dport;     /* host order */
};

/* --- ring-buffer records --- */

#define CAPTURE_EV_FLOW_START 1 /* a flow entered the map (struct capture_flow_event) */
#define CAPTURE_EV_FLOW_END   2 /* FIN (first per side) / RST / reuse (capture_flow_event) */
#define CAPTURE_EV_FLOW_LOST  3 /* the map refused the insert: this packet only (capture_flow_event) */
#define CAPTURE_EV_PAYLOAD    4 /* first payload of a client segment (capture_payload_event) */
#define CAPTURE_EV_DNS        5 /* a DNS response, UDP or TCP source port 53 (capture_payload_event) */

#define CAPTURE_HOOK_TC_INGRESS 1
#define CAPTURE_HOOK_TC_EGRESS  2
#define CAPTURE_HOOK_XDP        3

/* capture_event.flags */
#define CAPTURE_EVF_FIN        0x0001 /* FLOW_END: a FIN */
#define CAPTURE_EVF_RST        0x0002 /* FLOW_END: a RST */
#define CAPTURE_EVF_REUSED     0x0004 /* FLOW_END: a new SYN on a closed flow; the entry restarts */
#define CAPTURE_EVF_TRUNCATED  0x0008 /* PAYLOAD/DNS: data cut at the capture length */
#define CAPTURE_EVF_GSO        0x0010 /* the packet stood for several wire segments */

/* Common header of every record: 72 bytes. */
struct capture_event {
	__u16 abi_version;      /* CAPTURE_ABI_VERSION */
	__u8 type;              /* CAPTURE_EV_* */
	__u8 dir;               /* CAPTURE_DIR_*: sender of the packet */
	__u8 hook;              /* CAPTURE_HOOK_* */
	__u8 tcp_flags;         /* of the packet */
	__u16 flags;            /* CAPTURE_EVF_* */
	__u64 ts_ns;            /* bpf_ktime_get_ns() */
	__u32 ifindex;
	struct capture_flow_key key;
	__u32 pad;              /* zero */
};

/* FLOW_START / FLOW_END / FLOW_LOST */
struct capture_flow_event {
	struct capture_event hdr;
	struct capture_flow_counters c; /* after this packet (LOST: this packet only) */
};

/* PAYLOAD / DNS: only offsetof(data) + cap_len bytes are meaningful. */
struct capture_payload_event {
	struct capture_event hdr;
	__u32 seq;              /* TCP sequence number (host order); 0 for UDP */
	__u32 payload_len;      /* L4 payload of this packet on the wire */
	__u16 cap_len;          /* bytes in data[] */
	__u16 seg_no;           /* PAYLOAD: client segment number 0, 1, ...; DNS: 0 */
	__u32 pad;
	__u8 data[CAPTURE_PAYLOAD_MAX];
};

/* --- per-CPU statistics array indices --- */
#define CAPTURE_STAT_PACKETS          0  /* program runs */
#define CAPTURE_STAT_BYTES            1  /* frame bytes seen */
#define CAPTURE_STAT_NON_IP           2  /* ARP, LLDP, MPLS, PPPoE, 802.3 ... */
#define CAPTURE_STAT_TRUNCATED        3  /* a header cut short (counted in its flow only when the ports were there) */
#define CAPTURE_STAT_INVALID          4  /* ihl < 5, doff < 5, bad version, ext past payload */
#define CAPTURE_STAT_VLAN_TOO_DEEP    5  /* a third VLAN tag */
#define CAPTURE_STAT_IPV6_EXT_LIMIT   6  /* more than CAPTURE_MAX_IPV6_EXT extension headers */
#define CAPTURE_STAT_FRAGS            7  /* IP fragments (all) */
#define CAPTURE_STAT_FRAG_ORPHANS     8  /* non-first fragment, first not seen */
#define CAPTURE_STAT_FRAG_MAP_FULL    9  /* first fragment not remembered */
#define CAPTURE_STAT_OTHER_L4         10 /* ICMP, ESP, ... (no flow) */
#define CAPTURE_STAT_FILTER_MISS      11 /* no endpoint matched: not counted */
#define CAPTURE_STAT_MATCH_CATALOG    12 /* new flows matched by prefix */
#define CAPTURE_STAT_MATCH_LEARNED    13 /* new flows matched by learned address */
#define CAPTURE_STAT_FLOWS_CREATED    14
#define CAPTURE_STAT_FLOW_RACE        15 /* insert lost to another CPU (-EEXIST), merged */
#define CAPTURE_STAT_FLOW_MAP_FULL    16 /* insert failed: FLOW_LOST sent (or lost) */
#define CAPTURE_STAT_RB_FULL          17 /* ringbuf reserve failed (any record) */
#define CAPTURE_STAT_EV_FLOW_START    18
#define CAPTURE_STAT_EV_FLOW_END      19
#define CAPTURE_STAT_EV_PAYLOAD       20
#define CAPTURE_STAT_EV_DNS           21
#define CAPTURE_STAT_EV_FLOW_LOST     22
#define CAPTURE_STAT_PAYLOAD_TRUNC    23 /* payload/DNS record cut at the capture length */
#define CAPTURE_STAT_LOAD_FAIL        24 /* bpf_*_load_bytes failed */
#define CAPTURE_STAT_GSO              25 /* GSO/GRO super-packets */
#define CAPTURE_STAT_FLOW_PACKETS     26 /* packets counted into a flow */
#define CAPTURE_STAT_REUSED           27 /* flows restarted by a SYN after close */
#define CAPTURE_STAT_TUN_VXLAN        28 /* tunnels opened, one counter per type: */
#define CAPTURE_STAT_TUN_GENEVE       29 /*   CAPTURE_STAT_TUN_VXLAN + CAPTURE_TUN_x - 1 */
#define CAPTURE_STAT_TUN_GRE          30
#define CAPTURE_STAT_TUN_ERSPAN       31
#define CAPTURE_STAT_TUN_IPIP         32
#define CAPTURE_STAT_TUN_BAD          33 /* tunnel header cut or invalid: the outer packet stays */
#define CAPTURE_STAT_TUN_DEPTH        34 /* one more than CAPTURE_MAX_TUNNEL: left closed */
#define CAPTURE_STAT_COUNT            35

/* --- configuration (rodata, set on the skeleton before load) ---
 * capture.bpf.c declares, all `const volatile`:
 *   __u32 cfg_filter;        1 = only flows with a catalog/learned endpoint
 *   __u32 cfg_payload_segs;  client segments captured per flow (0 = off), max 16
 *   __u32 cfg_payload_len;   bytes per payload record, <= CAPTURE_PAYLOAD_MAX
 *   __u32 cfg_dns;           1 = send DNS responses
 *   __u32 cfg_dns_len;       bytes per DNS record, <= CAPTURE_PAYLOAD_MAX
 *   __u32 cfg_flow_events;   1 = FLOW_START/FLOW_END records
 *   __u32 cfg_tc_chain;      1 = TC returns TC_ACT_UNSPEC (later tc filters
 *                            still run), 0 = TC_ACT_OK; both pass unchanged
 * and tunnel.bpf.h:
 *   __u32 cfg_decap_off;     bit (1 << CAPTURE_TUN_x) set: that tunnel type
 *                            is not opened (its packets stay outer flows)
 *   __u16 cfg_vxlan_ports[CAPTURE_TUN_EXTRA_PORTS], cfg_geneve_ports[...]:
 *                            UDP ports besides 4789 / 6081 (0 = unused)
 */
#define CAPTURE_PAYLOAD_SEGS_MAX 16

_Static_assert(sizeof(struct capture_flow_key) == 48, "ABI: flow key");
_Static_assert(sizeof(struct capture_flow_counters) == 80, "ABI: flow counters");
_Static_assert(sizeof(struct capture_lpm_key) == 24, "ABI: lpm key");
_Static_assert(sizeof(struct capture_lpm_value) == 8, "ABI: lpm value");
_Static_assert(sizeof(struct capture_addr_key) == 20, "ABI: addr key");
_Static_assert(sizeof(struct capture_addr_value) == 16, "ABI: addr value");
_Static_assert(sizeof(struct capture_frag_key) == 40, "ABI: frag key");
_Static_assert(sizeof(struct capture_event) == 72, "ABI: event header");
_Static_assert(sizeof(struct capture_flow_event) == 152, "ABI: flow event");
_Static_assert(sizeof(struct capture_payload_event) == 88 + CAPTURE_PAYLOAD_MAX, "ABI: payload event");
_Static_assert(__builtin_offsetof(struct capture_event, key) == 20, "ABI: key offset");
_Static_assert(__builtin_offsetof(struct capture_payload_event, data) == 88, "ABI: data offset");

#endif
