// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * capture.bpf.c -- mailtap's kernel side: TC (ingress + egress) and XDP
 * programs that count flows to cloud-mail endpoints in an LRU hash, send
 * flow start/end, the first client payload bytes and DNS responses to
 * userspace through a ring buffer, and never touch the traffic: every
 * path returns TC_ACT_OK / XDP_PASS.
 *
 * ABI in capture.h; design and limits in docs/bpf.md.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "capture.h"
#include "parse.bpf.h"
#include "tunnel.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* --- configuration: set on the skeleton before load (capture.h) --- */
const volatile __u32 cfg_filter = 1;
const volatile __u32 cfg_payload_segs = 4;
const volatile __u32 cfg_payload_len = 1536;
const volatile __u32 cfg_dns = 1;
const volatile __u32 cfg_dns_len = 1024;
const volatile __u32 cfg_flow_events = 1;
/* 1: TC programs return TC_ACT_UNSPEC (let later tc filters run) instead
 * of TC_ACT_OK; both pass the packet unchanged */
const volatile __u32 cfg_tc_chain = 0;

/* --- maps --- */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CAPTURE_FLOW_MAX);
	__type(key, struct capture_flow_key);
	__type(value, struct capture_flow_counters);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CAPTURE_PREFIX_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct capture_lpm_key);
	__type(value, struct capture_lpm_value);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CAPTURE_LEARNED_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct capture_addr_key);
	__type(value, struct capture_addr_value);
} learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CAPTURE_FRAG_MAX);
	__type(key, struct capture_frag_key);
	__type(value, struct capture_frag_value);
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CAPTURE_RB_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CAPTURE_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* --- helpers --- */

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += n;
}

static __always_inline int load_bytes(void *ctx, int is_xdp, __u32 off, void *to, __u32 len)
{
	if (is_xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline void fill_hdr(struct capture_event *e, __u8 type, __u8 dir,
				     const struct pkt *p, const struct capture_flow_key *key)
{
	e->abi_version = CAPTURE_ABI_VERSION;
	e->type = type;
	e->dir = dir;
	e->hook = p->hook;
	e->tcp_flags = p->tcp_flags;
	e->flags = p->segs > 1 ? CAPTURE_EVF_GSO : 0;
	e->ts_ns = p->now;
	e->ifindex = p->ifindex;
	e->key = *key;
	e->pad = 0;
}

/* Global subprograms (verified once, on their own) keep the verifier's
 * path count of account() in bounds. */
#define EV_ARG(type, flags, dir) ((type) | ((__u32)(flags) << 8) | ((__u32)(dir) << 24))

__noinline int emit_flow(__u32 arg, const struct pkt *p, const struct capture_flow_key *key,
			 const struct capture_flow_counters *c)
{
	__u8 type = arg & 0xff, dir = (arg >> 24) & 1;
	__u16 flags = (arg >> 8) & 0xffff;

	if (!p || !key || !c)
		return 0;

	struct capture_flow_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(CAPTURE_STAT_RB_FULL, 1);
		return 0;
	}
	fill_hdr(&e->hdr, type, dir, p, key);
	e->hdr.flags |= flags;
	__builtin_memcpy(&e->c, c, sizeof(e->c));
	bpf_ringbuf_submit(e, 0);
	stat_add(type == CAPTURE_EV_FLOW_START ? CAPTURE_STAT_EV_FLOW_START :
		 type == CAPTURE_EV_FLOW_END ? CAPTURE_STAT_EV_FLOW_END :
		 CAPTURE_STAT_EV_FLOW_LOST, 1);
	return 0;
}

/* Send up to @limit bytes of the packet's payload. */
static __always_inline void emit_payload(void *ctx, int is_xdp, __u8 type, __u8 dir,
					 const struct pkt *p, const struct capture_flow_key *key,
					 __u32 limit, __u32 seg_no)
{
	if (!p || !key)
		return;
	struct capture_payload_event *e;
	__u32 avail, len;

	if (p->payload_off >= p->frame_len)
		return;
	avail = p->frame_len - p->payload_off;
	len = p->payload_len;
	if (len > avail)
		len = avail;
	if (len > limit)
		len = limit;
	if (len == 0)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(CAPTURE_STAT_RB_FULL, 1);
		return;
	}
	fill_hdr(&e->hdr, type, dir, p, key);
	if (len < p->payload_len) {
		e->hdr.flags |= CAPTURE_EVF_TRUNCATED;
		stat_add(CAPTURE_STAT_PAYLOAD_TRUNC, 1);
	}
	e->seq = p->seq;
	e->payload_len = p->payload_len;
	e->seg_no = (__u16)seg_no;
	e->pad = 0;
	barrier_var(len);
	if (len > CAPTURE_PAYLOAD_MAX)
		len = CAPTURE_PAYLOAD_MAX;
	if (len < 1)
		len = 1;
	e->cap_len = (__u16)len;
	if (load_bytes(ctx, is_xdp, p->payload_off, e->data, len) < 0) {
		stat_add(CAPTURE_STAT_LOAD_FAIL, 1);
		bpf_ringbuf_discard(e, 0);
		return;
	}
	bpf_ringbuf_submit(e, 0);
	stat_add(type == CAPTURE_EV_DNS ? CAPTURE_STAT_EV_DNS : CAPTURE_STAT_EV_PAYLOAD, 1);
}

/* arg: EV_ARG(type, 0, dir); lim: limit | seg_no << 16 */
__noinline int emit_payload_tc(struct __sk_buff *skb, __u32 arg, __u32 lim,
			       const struct pkt *p, const struct capture_flow_key *key)
{
	emit_payload(skb, 0, arg & 0xff, (arg >> 24) & 1, p, key, lim & 0xffff, lim >> 16);
	return 0;
}

__noinline int emit_payload_xdp(struct xdp_md *ctx, __u32 arg, __u32 lim,
				const struct pkt *p, const struct capture_flow_key *key)
{
	emit_payload(ctx, 1, arg & 0xff, (arg >> 24) & 1, p, key, lim & 0xffff, lim >> 16);
	return 0;
}

static __always_inline void send_payload(void *ctx, int is_xdp, __u8 type, __u8 dir,
					 const struct pkt *p, const struct capture_flow_key *key,
					 __u32 limit, __u32 seg_no)
{
	__u32 arg = EV_ARG(type, 0, dir), lim = (limit & 0xffff) | (seg_no << 16);

	if (is_xdp)
		emit_payload_xdp(ctx, arg, lim, p, key);
	else
		emit_payload_tc(ctx, arg, lim, p, key);
}

static __always_inline int addr_lt_cmp(const __be32 *x, const __be32 *y)
{
	int i;
	for (i = 0; i < 4; i++) {
		__u32 a = bpf_ntohl(x[i]), b = bpf_ntohl(y[i]);
		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

/* Canonical key (userspace flow_key_make); returns 1 when the sender
 * landed in slot b. */
static __always_inline int make_key(struct capture_flow_key *k, const struct pkt *p)
{
	int c = addr_lt_cmp(p->src, p->dst);
	int swap = c > 0 || (c == 0 && p->sport > p->dport);

	__builtin_memset(k, 0, sizeof(*k));
	if (swap) {
		__builtin_memcpy(k->addr_a, p->dst, 16);
		__builtin_memcpy(k->addr_b, p->src, 16);
		k->port_a = p->dport;
		k->port_b = p->sport;
	} else {
		__builtin_memcpy(k->addr_a, p->src, 16);
		__builtin_memcpy(k->addr_b, p->dst, 16);
		k->port_a = p->sport;
		k->port_b = p->dport;
	}
	k->vlan[0] = p->vlan[0];
	k->vlan[1] = p->vlan[1];
	k->proto = p->proto;
	k->family = p->family;
	k->tunnel_kind = p->tun_kind;
	k->tunnel_id = p->tun_id;
	return swap;
}

/* userspace aggregator.c is_server_port() */
static __always_inline int is_server_port(__u32 port)
{
	switch (port) {
	case 1433: case 3306: case 3389: case 5222: case 5223: case 5228:
	case 5432: case 8080: case 8443: case 9200:
		return 1;
	default:
		return port != 0 && port < 1024;
	}
}

__noinline int sender_is_client(__u32 sport, __u32 dport, __u32 syn, __u32 ack)
{
	int s, d;

	if (syn)
		return !ack;
	s = is_server_port(sport);
	d = is_server_port(dport);
	if (d && !s)
		return 1;
	if (s && !d)
		return 0;
	return 1;
}

/* Filter: CAPTURE_FS_MATCH_* bits for the packet's endpoints, 0 = none. */
__noinline int filter_match(const struct pkt *p)
{
	struct capture_lpm_key lk = {};
	struct capture_addr_key ak = {};
	__u32 m = 0;

	if (!p)
		return 0;
	lk.prefixlen = 8 + (p->family == 6 ? 128 : 32);
	lk.family = p->family;
	ak.family = p->family;
	__builtin_memcpy(lk.addr, p->src, 16);
	if (bpf_map_lookup_elem(&prefixes, &lk))
		m |= CAPTURE_FS_MATCH_CATALOG;
	__builtin_memcpy(lk.addr, p->dst, 16);
	if (!m && bpf_map_lookup_elem(&prefixes, &lk))
		m |= CAPTURE_FS_MATCH_CATALOG;
	__builtin_memcpy(ak.addr, p->src, 16);
	if (bpf_map_lookup_elem(&learned, &ak))
		m |= CAPTURE_FS_MATCH_LEARNED;
	__builtin_memcpy(ak.addr, p->dst, 16);
	if (!(m & CAPTURE_FS_MATCH_LEARNED) && bpf_map_lookup_elem(&learned, &ak))
		m |= CAPTURE_FS_MATCH_LEARNED;
	return m;
}

/* Ports of fragments: the first one records them, later ones look up. */
static __always_inline int frag_ports(struct pkt *p)
{
	struct capture_frag_key fk = {};
	struct capture_frag_value *fv;

	__builtin_memcpy(fk.src, p->src, 16);
	__builtin_memcpy(fk.dst, p->dst, 16);
	fk.id = p->frag_id;
	fk.proto = p->proto;
	fk.family = p->family;
	if (p->flags & PF_FRAG_LATER) {
		fv = bpf_map_lookup_elem(&frags, &fk);
		if (!fv) {
			stat_add(CAPTURE_STAT_FRAG_ORPHANS, 1);
			return -1;
		}
		p->sport = fv->sport;
		p->dport = fv->dport;
		p->flags |= PF_PORTS;
		return 0;
	}
	if ((p->flags & PF_FRAG_HEAD) && (p->flags & PF_PORTS)) {
		struct capture_frag_value nv = { .sport = p->sport, .dport = p->dport };
		if (bpf_map_update_elem(&frags, &fk, &nv, BPF_ANY))
			stat_add(CAPTURE_STAT_FRAG_MAP_FULL, 1);
	}
	return 0;
}

static __always_inline void count_packet(struct capture_flow_counters *v, int dir,
					 const struct pkt *p, __u64 bytes)
{
	__sync_fetch_and_add(&v->pkts[dir & 1], p->segs);
	__sync_fetch_and_add(&v->bytes[dir & 1], bytes);
	if (p->payload_len)
		__sync_fetch_and_add(&v->payload_bytes[dir & 1], p->payload_len);
	v->last_ns = p->now;
	if (p->tcp_flags) {
		__u32 bits = (__u32)p->tcp_flags << (dir ? 8 : 0);
		if ((v->tcp_flags & bits) != bits)
			__sync_fetch_and_or(&v->tcp_flags, bits);
	}
}

/* Count one parsed packet; the heart of both hooks. */
static __always_inline int account(void *ctx, int is_xdp, struct pkt *p)
{
	struct capture_flow_key key;
	struct capture_flow_counters *v;
	__u64 bytes;
	__u32 client_dir;
	int dir, created = 0, is_tcp;
	int rc = p->rc;

	if (rc == PARSE_TRUNC && !(p->flags & PF_PORTS)) {
		stat_add(CAPTURE_STAT_TRUNCATED, 1);
		return 0;
	}
	switch (rc) {
	case PARSE_OK:
		break;
	case PARSE_TRUNC: /* ports present, rest cut: counted like userspace */
		stat_add(CAPTURE_STAT_TRUNCATED, 1);
		break;
	case PARSE_NON_IP:
		stat_add(CAPTURE_STAT_NON_IP, 1);
		return 0;
	case PARSE_INVALID:
		stat_add(CAPTURE_STAT_INVALID, 1);
		return 0;
	case PARSE_VLAN_DEEP:
		stat_add(CAPTURE_STAT_VLAN_TOO_DEEP, 1);
		return 0;
	case PARSE_EXT_LIMIT:
		stat_add(CAPTURE_STAT_IPV6_EXT_LIMIT, 1);
		return 0;
	default:
		stat_add(CAPTURE_STAT_OTHER_L4, 1);
		return 0;
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) {
		stat_add(CAPTURE_STAT_OTHER_L4, 1);
		return 0;
	}
	if (p->flags & PF_FRAG) {
		stat_add(CAPTURE_STAT_FRAGS, 1);
		if (frag_ports(p) < 0)
			return 0;
	}
	is_tcp = p->proto == IPPROTO_TCP;
	dir = make_key(&key, p) ? CAPTURE_DIR_BA : CAPTURE_DIR_AB;

	/* wire bytes: the frame, the tag TC took out, and the headers of
	 * the segments GRO/GSO folded into this one; tunnelled: the inner
	 * packet from its first byte to the end its outer header declared */
	if (p->depth) {
		bytes = p->l_end > p->in_off ? p->l_end - p->in_off : 0;
		if (p->segs > 1 && p->hdr_len > p->in_off)
			bytes += (__u64)(p->segs - 1) * (p->hdr_len - p->in_off);
	} else {
		bytes = (__u64)p->frame_len + p->vlan_accel;
		if (p->segs > 1)
			bytes += (__u64)(p->segs - 1) * (p->hdr_len + p->vlan_accel);
	}

	/* DNS responses go up whatever the filter says */
	if (cfg_dns && p->sport == 53 && p->payload_len && (p->flags & PF_L4) &&
	    !(p->flags & (PF_HDR_TRUNC | PF_FRAG_LATER)))
		send_payload(ctx, is_xdp, CAPTURE_EV_DNS, dir, p, &key, cfg_dns_len, 0);

	v = bpf_map_lookup_elem(&flows, &key);
	if (v && is_tcp && (p->flags & PF_L4) && (p->tcp_flags & 0x12) == 0x02 &&
	    ((v->state & CAPTURE_FS_RST) ||
	     (v->state & (CAPTURE_FS_FIN_A | CAPTURE_FS_FIN_B)) ==
		     (CAPTURE_FS_FIN_A | CAPTURE_FS_FIN_B))) {
		/* a new connection on a closed flow's tuple: hand the old
		 * counters up and start over (userspace "reused") */
		struct capture_flow_counters old = *v;
		if (cfg_flow_events)
			emit_flow(EV_ARG(CAPTURE_EV_FLOW_END, CAPTURE_EVF_REUSED, dir), p, &key, &old);
		bpf_map_delete_elem(&flows, &key);
		stat_add(CAPTURE_STAT_REUSED, 1);
		v = NULL;
	}
	if (!v) {
		struct capture_flow_counters nv = {};
		__u32 match = CAPTURE_FS_ALL;
		long err;

		if (cfg_filter) {
			match = filter_match(p);
			if (!match) {
				stat_add(CAPTURE_STAT_FILTER_MISS, 1);
				return 0;
			}
			if (match & CAPTURE_FS_MATCH_CATALOG)
				stat_add(CAPTURE_STAT_MATCH_CATALOG, 1);
			if (match & CAPTURE_FS_MATCH_LEARNED)
				stat_add(CAPTURE_STAT_MATCH_LEARNED, 1);
		}
		nv.first_ns = p->now;
		nv.last_ns = p->now;
		nv.state = match;
		if (sender_is_client(p->sport, p->dport,
				     is_tcp && (p->flags & PF_L4) && (p->tcp_flags & 0x02),
				     (p->tcp_flags & 0x10) != 0) == (dir == CAPTURE_DIR_AB))
			nv.state |= CAPTURE_FS_CLIENT_IS_A;
		if (is_tcp && (p->flags & PF_L4) && (p->tcp_flags & 0x02))
			nv.state |= CAPTURE_FS_SYN_SEEN;
		err = bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST);
		if (err == 0) {
			created = 1;
			stat_add(CAPTURE_STAT_FLOWS_CREATED, 1);
		} else if (err == -17 /* EEXIST */) {
			stat_add(CAPTURE_STAT_FLOW_RACE, 1);
		}
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v) {
			/* the map refused it: send this packet alone */
			stat_add(CAPTURE_STAT_FLOW_MAP_FULL, 1);
			nv.pkts[dir & 1] = p->segs;
			nv.bytes[dir & 1] = bytes;
			nv.payload_bytes[dir & 1] = p->payload_len;
			nv.tcp_flags = (__u32)p->tcp_flags << (dir ? 8 : 0);
			emit_flow(EV_ARG(CAPTURE_EV_FLOW_LOST, 0, dir), p, &key, &nv);
			return 0;
		}
	}
	stat_add(CAPTURE_STAT_FLOW_PACKETS, 1);
	count_packet(v, dir, p, bytes);

	if (created && cfg_flow_events)
		emit_flow(EV_ARG(CAPTURE_EV_FLOW_START, 0, dir), p, &key, v);

	if (is_tcp && (p->tcp_flags & 0x05)) { /* FIN or RST */
		__u32 bit = (p->tcp_flags & 0x04) ? CAPTURE_FS_RST :
			    dir == CAPTURE_DIR_AB ? CAPTURE_FS_FIN_A : CAPTURE_FS_FIN_B;
		if (!(v->state & bit)) {
			__u32 old = __sync_fetch_and_or(&v->state, bit);
			if (!(old & bit) && cfg_flow_events)
				emit_flow(EV_ARG(CAPTURE_EV_FLOW_END, bit == CAPTURE_FS_RST ? CAPTURE_EVF_RST : CAPTURE_EVF_FIN, dir), p, &key, v);
		}
	}

	/* first client segments with payload: ClientHello and friends */
	client_dir = (v->state & CAPTURE_FS_CLIENT_IS_A) ? CAPTURE_DIR_AB : CAPTURE_DIR_BA;
	if (cfg_payload_segs && p->payload_len && (__u32)dir == client_dir &&
	    (p->flags & PF_L4) && !(p->flags & (PF_HDR_TRUNC | PF_FRAG_LATER)) &&
	    v->client_segs < cfg_payload_segs) {
		__u32 seg = __sync_fetch_and_add(&v->client_segs, 1);
		if (seg < cfg_payload_segs)
			send_payload(ctx, is_xdp, CAPTURE_EV_PAYLOAD, dir, p, &key, cfg_payload_len, seg);
	}
	return 0;
}

/* Global (separately verified) functions: the parser's paths and the
 * accounting's paths are not multiplied together by the verifier. */
__noinline int account_tc(struct __sk_buff *skb, struct pkt *p)
{
	if (!p)
		return 0;
	return account(skb, 0, p);
}

__noinline int account_xdp(struct xdp_md *ctx, struct pkt *p)
{
	if (!p)
		return 0;
	return account(ctx, 1, p);
}

/* A tunnel in the parsed layer: 1 when one was opened (the inner packet
 * is the current layer, to be parsed next). */
static __always_inline int tunnel_step(void *data, void *data_end, struct pkt *p)
{
	int t;

	if (!tunnel_maybe(p))
		return 0;
	t = tunnel_next(data, data_end, p);
	if (t == TUN_NONE)
		return 0;
	if (t == TUN_OPENED) {
		stat_add(CAPTURE_STAT_TUN_VXLAN + ((p->tun_type - 1) & 7), 1);
		return 1;
	}
	stat_add(t == TUN_DEEP ? CAPTURE_STAT_TUN_DEPTH : CAPTURE_STAT_TUN_BAD, 1);
	return 0;
}

/* Tunnels.  The outer frame is parsed inline by the hooks (the fast
 * path); when tunnel_maybe() says its payload may be a tunnel, these
 * global functions (each verified once, whatever the nesting) open it
 * (tunnel_*) and parse the inner layers, one per pair of calls:
 * parse_link_*() returns 0 at an IP header (else p->rc is final),
 * parse_ip_*() 1 when one more tunnel was opened. */
#define TUNNEL_FUNCS(hook, ctx_t)                                                         \
__noinline int tunnel_##hook(ctx_t *ctx, struct pkt *p)                                   \
{                                                                                         \
	if (!p)                                                                           \
		return 0;                                                                 \
	return tunnel_step((void *)(long)ctx->data, (void *)(long)ctx->data_end, p);      \
}                                                                                         \
__noinline int parse_link_##hook(ctx_t *ctx, struct pkt *p)                               \
{                                                                                         \
	if (!p)                                                                           \
		return 1;                                                                 \
	p->rc = parse_link((void *)(long)ctx->data, (void *)(long)ctx->data_end, p);      \
	return p->rc != PARSE_OK;                                                         \
}                                                                                         \
__noinline int parse_ip_##hook(ctx_t *ctx, struct pkt *p)                                 \
{                                                                                         \
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;    \
                                                                                          \
	if (!p)                                                                           \
		return 0;                                                                 \
	p->rc = parse_ip(data, data_end, p);                                              \
	return tunnel_step(data, data_end, p);                                            \
}

TUNNEL_FUNCS(tc, struct __sk_buff)
TUNNEL_FUNCS(xdp, struct xdp_md)

static __always_inline int tc_common(struct __sk_buff *skb, __u8 hook)
{
	struct pkt p;
	__u32 need;
	int i;

	__builtin_memset(&p, 0, sizeof(p));
	p.hook = hook;
	p.now = bpf_ktime_get_ns();
	p.frame_len = skb->len;
	p.ifindex = skb->ifindex;
	p.segs = skb->gso_segs ? skb->gso_segs : 1;
	if (skb->vlan_present) {
		/* the outer tag lives in the skb, not the data */
		p.vlan[0] = skb->vlan_tci & 0x0fff;
		p.nvlan = 1;
		p.vlan_accel = 4;
	}
	stat_add(CAPTURE_STAT_PACKETS, 1);
	stat_add(CAPTURE_STAT_BYTES, (__u64)p.frame_len + p.vlan_accel);
	if (p.segs > 1)
		stat_add(CAPTURE_STAT_GSO, 1);

	/* headers in a non-linear skb: make them readable (no byte changes) */
	need = skb->len < 256 ? skb->len : 256;
	if (skb->data_end - skb->data < need)
		bpf_skb_pull_data(skb, need);
	p.l_end = p.frame_len; /* l_off 0, l_kind LAYER_ETH */
	p.rc = parse_frame((void *)(long)skb->data, (void *)(long)skb->data_end, &p);
	if (tunnel_maybe(&p) && tunnel_tc(skb, &p))
		for (i = 0; i < CAPTURE_MAX_TUNNEL; i++)
			if (parse_link_tc(skb, &p) || !parse_ip_tc(skb, &p))
				break;
	account_tc(skb, &p);
	return cfg_tc_chain ? TC_ACT_UNSPEC : TC_ACT_OK;
}

SEC("tc")
int capture_tc_ingress(struct __sk_buff *skb)
{
	return tc_common(skb, CAPTURE_HOOK_TC_INGRESS);
}

SEC("tc")
int capture_tc_egress(struct __sk_buff *skb)
{
	return tc_common(skb, CAPTURE_HOOK_TC_EGRESS);
}

SEC("xdp")
int capture_xdp(struct xdp_md *ctx)
{
	struct pkt p;
	int i;

	__builtin_memset(&p, 0, sizeof(p));
	p.hook = CAPTURE_HOOK_XDP;
	p.segs = 1;
	p.now = bpf_ktime_get_ns();
	p.frame_len = (__u32)bpf_xdp_get_buff_len(ctx);
	p.ifindex = ctx->ingress_ifindex;
	stat_add(CAPTURE_STAT_PACKETS, 1);
	stat_add(CAPTURE_STAT_BYTES, p.frame_len);
	p.l_end = p.frame_len; /* l_off 0, l_kind LAYER_ETH */
	p.rc = parse_frame((void *)(long)ctx->data, (void *)(long)ctx->data_end, &p);
	if (tunnel_maybe(&p) && tunnel_xdp(ctx, &p))
		for (i = 0; i < CAPTURE_MAX_TUNNEL; i++)
			if (parse_link_xdp(ctx, &p) || !parse_ip_xdp(ctx, &p))
				break;
	account_xdp(ctx, &p);
	return XDP_PASS;
}
