/* SPDX-License-Identifier: MIT */
/*
 * score-internal.h -- the scoring engine's tables, shared by score.c (the
 * engine) and score-state.c (saving and loading them).  Not a public
 * interface: everything else goes through score.h.
 */
#ifndef MAILTAP_SCORE_INTERNAL_H
#define MAILTAP_SCORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "score.h"
#include "util-lru.h"
#include "util-tz.h"

#define NS 1000000000ull
#define HOUR_S 3600u
#define DAY_S 86400u
#define PEER_HOSTS 2048           /* hosts whose usual level a service keeps */
#define PEER_RECALC 32            /* recompute the peer level every N updates */
#define NOVELTY_AGE_S (7u * DAY_S) /* a first sighting stays "new" this long */
#define MIN_HIST_HOURS 6          /* hours of history before own reference counts */
#define MIN_PEER_HOURS 6
#define COUNT_KEY_MAX 80
#define MB 1000000ull
#define RUN_NEW_AFTER_S 3600u     /* a host first seen this long into the run is new to it */
#define PERIOD_BASE_S 8.0         /* period class 0 starts here, x1.12 per class */
#define PERIOD_STEP 1.12
#define BEACON_RECALC_S 600u      /* re-analyse a stream at least this often */

/* ---------------------------------------------------------------- tables */

struct pair_key {
	struct net_addr host;
	char provider[SCORE_PROVIDER_MAX + 1];
	char service[SCORE_SERVICE_MAX + 1];
};

struct pair {
	uint64_t first_ns, last_ns;
	uint64_t cur_bucket;                       /* newest bucket number */
	uint64_t down[SCORE_MAX_BUCKETS], up[SCORE_MAX_BUCKETS];
	uint16_t nsess[SCORE_MAX_BUCKETS];
	uint64_t cur_hour, hour_down, hour_up;
	float hist_down[SCORE_HISTORY_HOURS], hist_up[SCORE_HISTORY_HOURS];
	uint16_t hist_n, hist_head;
	uint64_t day_max_down, day_max_up; /* largest 24 h total so far (peer level) */
	uint64_t cum_down, cum_up;         /* bytes ever: the alerts' evidence counters */
	uint8_t host_known;          /* the host was seen for a day or before learning ended */
	uint8_t svc_new;             /* the host had mail traffic before this pair began */
	struct net_addr server;
	uint16_t port;
	char sni[SCORE_SNI_MAX + 1];
	char ja4[SCORE_JA4_MAX + 1];
	char app_proto[8];
	char cids[SCORE_MAX_CIDS][32];
	uint64_t cid_ts[SCORE_MAX_CIDS];  /* packet time each session was first seen */
	uint8_t cid_n, cid_head;
};

/* A beacon stream: one client (JA4) of one pair.  A script that polls
 * beside the host's own mail client is its own stream. */
struct stream_key {
	struct pair_key pk;
	char ja4[SCORE_JA4_MAX + 1];
};

/* The last analysis of a stream. */
struct beacon_eval {
	double rita;                 /* RITA v5 score over the sliding 24 h */
	double ts_score, ds_score, hist_score;
	double madr, skew;           /* interval MAD / median, Bowley skew */
	double interval, covered_h, size_med;
	uint32_t conns;              /* connection starts in the last 24 h */
	double regularity, persistence, size_factor, base; /* base: before rarity */
};

struct stream {
	uint32_t conn_ts[SCORE_BEACON_MAX];   /* start, s */
	uint32_t conn_up[SCORE_BEACON_MAX];   /* client->server bytes (RITA data size) */
	uint32_t conn_tot[SCORE_BEACON_MAX];  /* both directions (size per connection) */
	uint16_t conn_n, conn_head;
	uint16_t hour_conns[SCORE_DAY_HOURS]; /* starts per hour, ring indexed hour % 24 */
	uint64_t hour_cur;                    /* hour number of the newest slot */
	uint16_t since_analysis;
	uint64_t analysed_ns;
	uint64_t regular_since_ns;            /* 0 = not regular */
	uint64_t first_ns;                    /* first connection seen */
	uint8_t late;                         /* began after the run's first hour or after
					       * learning: a change, not a habit */
	int8_t period_bin;                    /* counted in its peer's period[], -1 none */
	struct beacon_eval b;
};

struct peer_key {
	char provider[SCORE_PROVIDER_MAX + 1];
	char service[SCORE_SERVICE_MAX + 1];
};

/* One service's peers: each host's own usual hourly peak (its reference)
 * and its largest 24 h total, for the service.  The peer level is the
 * median over every host that uses the provider, hosts that never use
 * this service counting as zero: "what a typical colleague moves through
 * this service in a busy hour / a day".  Hosts without a history of their
 * own are held to a higher quantile (peer_quantile_new) instead.
 * period[] counts the streams of the service that are regular with a
 * period in each class: how common a beacon pattern is. */
struct peer {
	uint64_t host[PEER_HOSTS];   /* host hash; 0 = free */
	float down[PEER_HOSTS], up[PEER_HOSTS];
	float day_down[PEER_HOSTS], day_up[PEER_HOSTS];
	uint32_t n, since_recalc, recalc_total;
	uint32_t prov_hosts;         /* hosts using the provider for MIN_HIST_HOURS, at the
				      * last update: hosts newer than that have no level yet,
				      * so they are not counted as zeros either */
	double q_down, q_up, qn_down, qn_up;            /* median, high quantile */
	double q_day_down, q_day_up, qn_day_down, qn_day_up;
	uint16_t period[SCORE_PERIOD_BINS];
};

struct hp_key { /* (host, provider) and (host, provider, ja4) novelty */
	struct net_addr host;
	char provider[SCORE_PROVIDER_MAX + 1];
	char ja4[SCORE_JA4_MAX + 1];
};

struct seen {
	uint64_t first_ns;
};

struct count_key {
	char k[COUNT_KEY_MAX];
};

struct alert_key {
	struct net_addr host;
	char provider[SCORE_PROVIDER_MAX + 1];
	uint32_t kind;
};

struct alert_state {
	uint64_t first_ns, last_ns;  /* raised; last evaluation that still met it */
	double last_score;
	uint32_t revision;
	char id[64];
	char service[SCORE_SERVICE_MAX + 1];
	uint64_t evidence;           /* the kind's evidence counter when last met */
	uint64_t alerted_bytes;      /* the alert's window volume (volume kinds) */
};

struct score_engine {
	struct score_config cfg;
	uint64_t seed;
	score_alert_fn *cb;
	void *arg;
	struct lru *pairs, *streams, *peers, *novelty, *counts, *hosts, *alerts;
	uint64_t learn_end_ns;       /* 0 until the first event */
	uint64_t run_start_ns;       /* first event of this run (not restored) */
	uint64_t fs_hour[SCORE_DAY_HOURS];  /* hosts first seen per hour, ring */
	uint32_t fs_count[SCORE_DAY_HOURS];
	struct score_stats st;
	struct tz *tz;               /* owned: the config's zone (cfg.tz) */
	struct tz *site_tz[SCORE_MAX_SITES]; /* owned: each site's zone */
	struct net_addr trace_host;
	score_trace_fn *trace_fn;
	void *trace_arg;
	double scratch[PEER_HOSTS > SCORE_HISTORY_HOURS ? PEER_HOSTS : SCORE_HISTORY_HOURS];
	double ts_buf[SCORE_BEACON_MAX], sz_buf[SCORE_BEACON_MAX], tot_buf[SCORE_BEACON_MAX];
	double bscratch[SCORE_BEACON_MAX];
};

/* Helpers of score.c that score-state.c uses. */
void score_copy_str(char *dst, size_t len, const char *src);
struct peer *score_peer_of(struct score_engine *e, const char *provider, const char *service);
int score_period_bin(double interval_s);
void score_stream_set_bin(struct peer *peer, struct stream *s, int bin);

#endif
