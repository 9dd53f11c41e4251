/* SPDX-License-Identifier: MIT */
/*
 * aggregator.h -- the one path every captured packet takes after decoding:
 * fragment attribution, the flow table, TCP state and history, interim
 * updates, and session records handed to the caller's callback.
 *
 * Capture front-ends (pcap files, live libpcap, eBPF events) all feed
 * agg_packet(); they never touch flows themselves.  The aggregator owns its
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
	uint64_t time_regressions;/* packets older than the newest seen */
};

/* Returns a new aggregator (free with agg_free) or NULL + errno.  @cb is
 * called for each session record; @arg is passed through. */
struct aggregator *agg_new(const struct agg_config *cfg, agg_session_fn *cb, void *arg);
void agg_free(struct aggregator *a);

/* Account one decoded packet. */
void agg_packet(struct aggregator *a, const struct packet *pkt);

/* End every remaining flow (end of input). */
void agg_finish(struct aggregator *a);

void agg_get_stats(const struct aggregator *a, struct agg_stats *out,
		   struct flow_table_stats *flows);

/* Identify new flows with @cat from now on (SIGHUP reload); borrowed. */
void agg_set_catalog(struct aggregator *a, const struct catalog *cat);

/* App-layer counters; false when identification is off. */
bool agg_get_app_stats(const struct aggregator *a, struct app_stats *out);

#endif
