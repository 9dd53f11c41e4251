/* SPDX-License-Identifier: MIT */
/*
 * aggregator.h -- the one path every captured packet takes after decoding:
 * fragment attribution, the flow table, TCP state and history, interim
 * updates, and session records handed to the caller's callback.
 *
 * Two producers, one flow table: decoded packets (pcap files, live
 * libpcap) come in through agg_packet(); the kernel's flow records,
 * payload segments and DNS answers (eBPF capture) through agg_ext_*().
 * Both reach the app layer through app_segment()/app_dns_message(), so
 * nothing is faked on the way, and both are answered through one
 * observer (agg_set_observer): flow ends and learned addresses.  Front
 * ends never touch flows themselves.  The aggregator owns its
 * flow table and fragment table, allocates them once in agg_new(), and
 * allocates nothing per packet.
 */
#ifndef MAILTAP_AGGREGATOR_H
#define MAILTAP_AGGREGATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "app-layer.h"
#include "catalog.h"
#include "decode.h"
#include "flow-table.h"

#define AGG_FRAG_SLOTS_DEFAULT 4096 /* first-fragment ports remembered */
/* A packet this far ahead of the newest packet time is taken for a corrupt
 * timestamp unless the next packet confirms the jump (see agg_packet). */
#define AGG_CLOCK_JUMP_S 86400

struct agg_config {
	struct flow_config flow;
	uint32_t interim_s;   /* session_update period in packet time; 0 = off */
	uint32_t frag_slots;  /* fragment attribution table size */
	uint64_t seed;        /* hash seed */
	bool identify;        /* run the app layer (TLS, DNS, catalog) */
	struct app_config app;
	const struct catalog *catalog; /* borrowed; must outlive the aggregator */
};

void agg_config_default(struct agg_config *cfg);

/* What the session callback sees.  Everything is borrowed for the call. */
struct session {
	const struct flow *flow;
	bool is_update;                 /* interim update of a live flow */
	enum flow_end_reason end_reason;/* when !is_update */
	uint64_t ts_ns;                 /* packet time of the record */
	const struct flow_ident *ident; /* what the flow was identified as, or NULL */
	bool first;                     /* the flow's first record */
	uint64_t delta_bytes[2];        /* wire bytes per direction since the
	                                 * flow's previous record */
};

typedef void agg_session_fn(const struct session *s, void *arg);

struct agg_stats {
	uint64_t packets;         /* handed to agg_packet */
	uint64_t ip_packets;
	uint64_t flow_packets;    /* attributed to a flow */
	uint64_t no_ports;        /* IP but no usable ports (ICMP, other L4, bad L4) */
	uint64_t frag_orphans;    /* later fragment whose first one was not seen */
	uint64_t frag_overwrites; /* fragment slots reused before their datagram ended */
	uint64_t sessions, updates;
	uint64_t time_regressions;/* packets older than the newest seen: counted
	                           * in their flow, nothing expired by them */
	uint64_t clock_jumps;     /* packets more than AGG_CLOCK_JUMP_S ahead of
	                           * the newest time, not confirmed by the next
	                           * one: timed at the newest time */
	uint64_t clock_jumps_taken; /* ... confirmed (a real gap in the capture):
	                           * the clock moved */
	uint64_t tunnelled;       /* packets attributed to a flow through a tunnel */
};

/* Returns a new aggregator (free with agg_free) or NULL + errno.  @cb is
 * called for each session record; @arg is passed through. */
struct aggregator *agg_new(const struct agg_config *cfg, agg_session_fn *cb, void *arg);
void agg_free(struct aggregator *a);

/* Account one decoded packet.  The aggregator's clock is the newest
 * packet time seen and never runs backwards: a packet older than it (an
 * unordered capture, e.g. a pcapng merged from several interfaces) is
 * counted in its flow without expiring anything, and timeouts run on the
 * clock.  A packet more than AGG_CLOCK_JUMP_S ahead of the clock is held
 * (one copy) until the next packet: when that one is also that far ahead
 * of the clock and not AGG_CLOCK_JUMP_S or more before the held one, the
 * jump is a real gap in the capture (captures concatenated, a weekend) and
 * both are accounted at their own times (clock_jumps_taken); otherwise the
 * held packet's timestamp is taken for corrupt and it is accounted at the
 * clock (clock_jumps), so it cannot expire every flow. */
void agg_packet(struct aggregator *a, const struct packet *pkt);

/* End every remaining flow (end of input). */
void agg_finish(struct aggregator *a);

void agg_get_stats(const struct aggregator *a, struct agg_stats *out,
		   struct flow_table_stats *flows);

/* Identify new flows with @cat from now on (SIGHUP reload); borrowed. */
void agg_set_catalog(struct aggregator *a, const struct catalog *cat);

/* App-layer counters; false when identification is off. */
bool agg_get_app_stats(const struct aggregator *a, struct app_stats *out);

/* --- external flows: flow events from the kernel (eBPF capture) ---
 *
 * The eBPF front end does not see packets: the kernel counts each flow and
 * sends flow records, the client's first payload segments and DNS answers.
 * These calls feed them into the same flow table, app layer, interim
 * updates, session callback (and so scoring) as agg_packet().  All times
 * are wall-clock ns (the kernel's CLOCK_MONOTONIC plus
 * capture_bpf_mono_to_realtime_ns()); the aggregator's clock advances with
 * them and with agg_ext_tick(), and idle flows expire on that clock with
 * the same timeouts as packet flows.
 *
 * Counters are cumulative and indexed by endpoint (as the kernel keeps
 * them): [0] = sent by key->a, [1] = sent by key->b.  They are set, not
 * added.  TCP history has no packet order behind it: it is rebuilt from
 * the OR of flags per side in the canonical order S h A D a d F f R r
 * ('A'/'a' = an ACK flag was seen, 'D'/'d' = payload bytes were seen). */
struct agg_ext_counters {
	uint64_t pkts[2];
	uint64_t bytes[2];          /* frame bytes on the wire */
	uint64_t payload_bytes[2];  /* L4 payload from the IP total length */
	uint8_t tcp_flags[2];       /* OR of the flags each endpoint sent */
	uint64_t first_ns, last_ns; /* wall clock */
};

/* Create or update the flow @key with cumulative counters.  @client_is_a
 * decides the client side when the flow is created (later calls keep the
 * side the flow has).  Counters that went down mean the 5-tuple started a
 * new flow: the old one ends (FLOW_END_REUSED) first.  Emits an interim
 * update when the flow's period is due. */
void agg_ext_flow(struct aggregator *a, const struct flow_key *key, bool client_is_a,
		  const struct agg_ext_counters *c);

/* End the flow now with @why after setting @final (may be NULL: keep the
 * counters it has).  Creates it first when unknown and @final is given
 * (a flow whose start record was lost).  Returns false when there was no
 * such flow and nothing to create. */
bool agg_ext_flow_end(struct aggregator *a, const struct flow_key *key, bool client_is_a,
		      enum flow_end_reason why, const struct agg_ext_counters *final);

/* A payload segment of flow @key sent by endpoint a (@sender_is_a) or b:
 * fed to the app layer (ClientHello reassembly, STARTTLS, cleartext
 * protocol guess) exactly as the same segment in a packet would be.  @seq
 * is the TCP sequence number, @seg_no the client segment number (segment
 * 0's seq is the stream's first byte when no SYN was seen), @data holds
 * @caplen of the segment's @wirelen payload bytes.  Counters are not
 * touched (the kernel counts).  A flow not known yet is created with the
 * sender as its client (the kernel sends client segments only). */
void agg_ext_payload(struct aggregator *a, const struct flow_key *key, bool sender_is_a,
		     uint8_t tcp_flags, uint32_t seq, uint32_t seg_no, const uint8_t *data,
		     size_t caplen, size_t wirelen, uint64_t ts_ns);

/* A DNS response (UDP payload, or a TCP segment's payload with its 2-byte
 * length framing, as @key's protocol says) sent by a server: the app
 * layer learns it exactly as from a packet, and the observer's
 * dns_learned hears of each address for a catalog name.  No flow is
 * created. */
void agg_ext_dns(struct aggregator *a, const struct flow_key *key, const uint8_t *data,
		 size_t caplen, uint64_t ts_ns);

/* Advance the clock to @now_ns (if later) and end the flows idle past
 * their timeout (FIN/RST linger included), as a packet at @now_ns would. */
void agg_ext_tick(struct aggregator *a, uint64_t now_ns);

/* --- the front end's observer ---
 *
 * What the aggregator tells the front end that feeds it (both optional,
 * NULL = not interested; @arg is passed through):
 *  - flow_ending: a flow is about to end on the aggregator's own decision
 *    (timeout, eviction, end of input) -- not when its producer ended it
 *    with its counters in hand (agg_ext_flow_end, reused counters).  The
 *    front end may fetch the final counters (e.g. take the flow out of the
 *    kernel map): return true after filling @out to have them set.
 *  - dns_learned: an address a DNS answer gave for a catalog name, from a
 *    packet or a kernel record alike (app_set_dns_learned_fn), once per
 *    answer.  @name is borrowed for the call.
 * agg_set_observer(a, NULL, NULL) removes it. */
struct agg_observer {
	bool (*flow_ending)(void *arg, const struct flow *f, struct agg_ext_counters *out);
	void (*dns_learned)(void *arg, const struct net_addr *addr, uint32_t ttl_s,
			    const char *name);
};
void agg_set_observer(struct aggregator *a, const struct agg_observer *ob, void *arg);

/* The server address of flow @key when the flow is identified as a
 * catalog (mail) endpoint; false otherwise. */
bool agg_ext_mail_server(struct aggregator *a, const struct flow_key *key,
			 struct net_addr *server, uint16_t *port);

/* The catalog the aggregator was configured with (may be NULL). */
const struct catalog *agg_catalog(const struct aggregator *a);

struct agg_ext_stats {
	uint64_t flow_events;   /* agg_ext_flow calls */
	uint64_t created;       /* flows created by ext calls */
	uint64_t ends;          /* agg_ext_flow_end calls that ended a flow */
	uint64_t reused;        /* counters went down: old flow ended */
	uint64_t payloads;      /* agg_ext_payload calls */
	uint64_t dns;           /* agg_ext_dns calls */
	uint64_t learned;       /* addresses handed to the observer's dns_learned */
	uint64_t finals;        /* final counters taken from the observer's flow_ending */
};
void agg_ext_get_stats(const struct aggregator *a, struct agg_ext_stats *out);

#endif
