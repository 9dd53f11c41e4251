/* SPDX-License-Identifier: MIT */
/*
 * flow-table.h -- the bidirectional flow table: a fixed pool of flows,
 * a seeded hash index on the canonical key, and per-timeout LRU lists.
 *
 * All memory is allocated by flow_table_new(); nothing is allocated per
 * packet.  Time is packet time (ns) supplied by the caller, never the wall
 * clock, so a replay ends the same flows the same way on every run.  When
 * the pool is full the least recently seen flow is evicted (counted).  A
 * flow leaves the table only through the end callback, which sees it
 * intact before its slot is reused.
 */
#ifndef MAILTAP_FLOW_TABLE_H
#define MAILTAP_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "net-addr.h"

#define FLOW_HISTORY_MAX 16 /* Zeek-like history letters kept */

/* Canonical key: endpoint a is the lower (address, port) pair, so both
 * directions of a conversation find the same flow. */
struct flow_key {
	struct net_addr a, b;
	uint16_t port_a, port_b;
	uint16_t vlan[2];   /* outer, inner; 0 = untagged */
	uint8_t proto;
	uint8_t tunnel_kind;/* tunnel type whose id separates tenants (VXLAN,
	                     * GENEVE, GRE with a key, ERSPAN II/III); 0 = none */
	uint8_t pad[2];     /* always zero: the key is hashed and memcmp'd */
	uint32_t tunnel_id; /* VNI, GRE key or ERSPAN session id; 0 when kind 0 */
};

/* Timeout classes; each has its own LRU list so expiry is exact. */
enum flow_list {
	FLOW_LIST_TCP_NEW,   /* TCP not yet seen from both sides */
	FLOW_LIST_TCP_EST,   /* TCP established */
	FLOW_LIST_TCP_CLOSED,/* both FINs or an RST seen: linger briefly */
	FLOW_LIST_OTHER,     /* UDP and the rest */
	FLOW_LIST_COUNT,
};

enum flow_end_reason {
	FLOW_END_FIN,
	FLOW_END_RST,
	FLOW_END_TIMEOUT,
	FLOW_END_EVICTED,
	FLOW_END_EOF,
	FLOW_END_REUSED,     /* a new SYN on a closed flow's 5-tuple */
};

const char *flow_end_reason_name(enum flow_end_reason r);

/* dir[] index: traffic from the client to the server, and back. */
#define FLOW_TOSERVER 0
#define FLOW_TOCLIENT 1

struct flow_dir {
	uint64_t pkts;
	uint64_t bytes;          /* frame bytes on the wire */
	uint64_t payload_bytes;  /* L4 payload bytes on the wire */
	uint8_t tcp_flags;       /* OR of every flag seen */
	uint8_t fin, rst;
	uint8_t seq_valid;       /* next_seq is set */
	uint32_t next_seq;       /* TCP: expected next sequence (for 'T' retransmissions) */
	uint32_t isn;            /* TCP: SYN sequence + 1, the first payload byte */
	uint8_t isn_valid;
	uint8_t pad[3];
};

/* Application state a flow carries for the aggregator; opaque here. */
struct flow_app;

struct flow {
	struct flow_key key;
	uint64_t id;             /* unique per run: 1, 2, 3 ... */
	uint64_t first_ns, last_ns, last_update_ns;
	uint64_t list_ns;        /* last_ns when the flow took its list place */
	struct flow_dir dir[2];
	uint8_t client_is_a;     /* 1: key.a is the client */
	uint8_t list;            /* enum flow_list */
	uint8_t closed_by_rst;
	uint8_t hist_len;
	uint16_t hist_seen;      /* bitmask of history letters already written */
	char history[FLOW_HISTORY_MAX + 1];
	uint32_t interim_count;  /* session_update records emitted */
	/* table links: pool indices, FLOW_NIL = none */
	uint32_t hnext, lprev, lnext;
	uint32_t app_slot;       /* app-layer index (app-layer.c), FLOW_NIL = none */
	uint64_t hash;           /* key hash, kept so unlinking need not rehash */
	uint64_t reported_bytes[2]; /* dir bytes already in an emitted record */
	uint8_t app_done;        /* app layer has nothing more to inspect */
	/* the tunnel the flow's first tunnelled packet came through (type 0:
	 * never tunnelled); see struct packet_tunnel in decode.h */
	uint8_t tun_type, tun_depth, tun_has_id;
	uint32_t tun_id;
	struct net_addr tun_src, tun_dst; /* outer addresses, as first seen */
	uint64_t tun_overhead;   /* outer wire bytes around the inner packets, both directions */
	uint64_t active_ns;      /* newest packet time seen (the table's clock)
	                          * at the flow's last activity: timeouts and
	                          * LRU run on it; last_ns stays packet time */
};

#define FLOW_NIL UINT32_MAX

struct flow_config {
	uint32_t max_flows;            /* pool size */
	uint32_t timeout_s[FLOW_LIST_COUNT];
};

/* Defaults: 1M flows; TCP new 60 s; established 3600 s, longer than
 * Zeek's 5 min because mail clients idle for up to 29 min between IMAP IDLE
 * renewals (RFC 2177) and one such session should stay one flow; closed 5 s
 * (Zeek's tcp_close_delay); UDP/other 60 s (Zeek's udp_inactivity_timeout). */
void flow_config_default(struct flow_config *cfg);

struct flow_table_stats {
	uint64_t created, ended, evicted, timed_out, lookups, active, max_active;
};

/* Called once for every flow leaving the table; the flow stays valid for
 * the call only. */
typedef void flow_end_fn(struct flow *f, enum flow_end_reason why, void *arg);

/* Returns a new table (caller frees with flow_table_free) or NULL + errno. */
struct flow_table *flow_table_new(const struct flow_config *cfg, uint64_t seed,
				  flow_end_fn *on_end, void *arg);
void flow_table_free(struct flow_table *ft);

/* Build the canonical key for a packet's 5-tuple; *swapped says whether
 * (src, sport) landed in slot b. */
void flow_key_make(struct flow_key *k, const struct net_addr *src, uint16_t sport,
		   const struct net_addr *dst, uint16_t dport, uint8_t proto,
		   const uint16_t vlan[2], bool *swapped);

/* Find the flow for a key; NULL when absent.  Borrowed pointer, valid
 * until the next call that may end flows. */
struct flow *flow_table_lookup(struct flow_table *ft, const struct flow_key *k);

/* Insert a new flow (evicting the least recently seen one when full) and
 * return it zeroed but for key, id, list and times. */
struct flow *flow_table_insert(struct flow_table *ft, const struct flow_key *k,
			       enum flow_list list, uint64_t now_ns);

/* Record activity at now_ns: moves f to the tail of @list. */
void flow_table_touch(struct flow_table *ft, struct flow *f, enum flow_list list, uint64_t now_ns);

/* The same for a packet of time @pkt_ns seen when the newest packet time
 * was @clock_ns (>= pkt_ns for a late packet of an unordered capture):
 * last_ns follows the packet, the idle timeout the clock. */
void flow_table_touch_at(struct flow_table *ft, struct flow *f, enum flow_list list,
			 uint64_t pkt_ns, uint64_t clock_ns);

/* End one flow now with @why. */
void flow_table_end(struct flow_table *ft, struct flow *f, enum flow_end_reason why);

/* End every flow idle past its list's timeout at now_ns. */
void flow_table_expire(struct flow_table *ft, uint64_t now_ns);

/* True when f has been idle past its timeout at now_ns. */
bool flow_table_is_expired(const struct flow_table *ft, const struct flow *f, uint64_t now_ns);

/* End every flow, oldest activity first, with @why. */
void flow_table_flush(struct flow_table *ft, enum flow_end_reason why);

void flow_table_get_stats(const struct flow_table *ft, struct flow_table_stats *out);

/* Index of f in the pool (0 .. max_flows-1): lets other modules keep
 * per-flow side tables. */
uint32_t flow_table_index(const struct flow_table *ft, const struct flow *f);

#endif
