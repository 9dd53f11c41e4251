/* SPDX-License-Identifier: MIT */
/*
 * score.h -- the scoring engine: from the stream of mail session records,
 * find the internal hosts whose mail traffic looks like covert mailbox
 * access or exfiltration, and say why.
 *
 * Unit of scoring: internal host x provider x service (a "pair").  Each
 * session record (final or interim) adds the bytes moved since the flow's
 * previous record to the pair's 5-minute buckets; windows of packet time
 * (short, default 30 min; long, default 8 h) are compared with the pair's
 * own hourly history and with its peers' (same provider and service), using
 * quantiles, with absolute floors.  Connection starts feed an incremental
 * RITA v5 beacon score.  Novelty (new host for a provider, new JA4 for a
 * host) is weighed by how common the fingerprint and the service are in the
 * organisation.  Every signal has a strength in [0, 1] and evidence; the
 * weights of score-rules.c turn them into a 0-100 score.  Alerts are
 * de-duplicated per (host, provider, kind) within a suppression window; a
 * materially higher score re-alerts as a new revision of the same alert.
 *
 * Time is packet time.  Memory is bounded: every table is an LRU of fixed
 * capacity (util-lru.h), allocated by score_new().  See docs/detection.md.
 */
#ifndef MAILTAP_SCORE_H
#define MAILTAP_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net-addr.h"
#include "score-rules.h"

#define SCORE_MAX_NETS 64          /* internal networks and allowlist entries */
#define SCORE_PROVIDER_MAX 31      /* provider id length kept */
#define SCORE_SERVICE_MAX 7
#define SCORE_JA4_MAX 36
#define SCORE_SNI_MAX 127
#define SCORE_MAX_CIDS 16          /* community ids listed per alert */
#define SCORE_BUCKET_S 300         /* bucket width: 5 min */
#define SCORE_MAX_BUCKETS 144      /* longest window: 12 h of 5-min buckets */
#define SCORE_HISTORY_HOURS 168    /* hourly history kept per pair: 7 days */
#define SCORE_BEACON_MAX 256       /* connection starts kept per pair */
#define SCORE_DAY_HOURS 24         /* the drip window: 24 h of hourly volumes */
#define SCORE_PERIOD_BINS 96       /* beacon period classes (x1.12 from 8 s to a day) */
#define SCORE_SERIES_MAX 96        /* 5-min buckets an alert carries: 8 h */

struct score_net {
	struct net_addr net;
	unsigned plen;
};

#define SCORE_MAX_RULES 64
#define SCORE_MAX_SITES 16
#define SCORE_SITE_NETS 16

/* An allowlist rule: hosts in @net are exempt, with @provider only when
 * it is set, from the signals in @signals (bit per enum score_signal;
 * 0 = every signal: the host is not scored at all). */
struct score_allow_rule {
	struct score_net net;
	char provider[32];
	uint32_t signals;
};

/* A site: internal networks that share working hours and a time zone.
 * Hosts in no site use the config's own work_* and tz. */
struct score_site {
	char name[32];
	struct score_net nets[SCORE_SITE_NETS];
	unsigned n_nets;
	uint8_t work_start_h, work_end_h, work_days;
	char tz[64];
};

struct score_config {
	uint32_t short_window_s;     /* 1800 */
	uint32_t long_window_s;      /* 28800 */
	uint32_t learning_s;         /* 86400: gates novelty and the host-own baseline only */
	uint32_t suppress_s;         /* 3600 */
	double alert_threshold;      /* 50 */
	double realert_delta;        /* 15 points more re-alerts */
	double weight[SIG_COUNT];    /* from score_rules by default */
	/* volume: a window must exceed its floor and be ratio_low x above
	 * both the host's own and its peers' reference to count at all;
	 * full strength at ratio_high x */
	uint64_t floor_down_short, floor_down_long;   /* 50 MB, 150 MB */
	uint64_t floor_up_short, floor_up_long;       /* 50 MB, 100 MB */
	uint64_t floor_off_hours;                     /* 30 MB in the short window */
	uint64_t ref_floor_per_hour;                  /* 2 MB/h: least reference */
	uint64_t cold_ref_per_hour;                   /* 10 MB/h: least reference of a host
						       * without its own history */
	double ratio_low, ratio_high;                 /* 3, 30: short window */
	double ratio_low_long, ratio_high_long;       /* 2, 12: long window */
	uint64_t floor_down_day, floor_up_day;        /* 200 MB, 120 MB in 24 h (drips) */
	double ratio_low_day, ratio_high_day;         /* 3, 15: 24 h window */
	double peer_quantile_new;                     /* 0.9: peer level standing in for a
						       * host without its own history */
	double own_quantile;                          /* 0.95 of the pair's hours */
	/* beaconing */
	uint32_t beacon_min_conns;   /* 6 connection starts in the last 24 h */
	double beacon_low, beacon_high; /* interval MAD/median: 0.07 -> regular, 0.15 -> not */
	double beacon_full_hours;    /* 3: regular this long counts in full */
	uint32_t beacon_full_conns;  /* 12 connections count in full */
	/* working hours of the (single) site, in its time zone */
	uint8_t work_start_h, work_end_h;  /* 8, 18 */
	uint8_t work_days;                 /* bit 0 = Sunday .. bit 6 = Saturday; Mon-Fri */
	char tz[64];                       /* "UTC" */
	/* who is scored */
	struct score_net internal[SCORE_MAX_NETS];
	unsigned n_internal;               /* default RFC 1918 + ULA */
	struct score_net allow[SCORE_MAX_NETS];
	unsigned n_allow;
	struct score_allow_rule rules[SCORE_MAX_RULES];
	unsigned n_rules;
	struct score_site sites[SCORE_MAX_SITES];
	unsigned n_sites;
	/* bounds */
	uint32_t max_pairs;          /* 8192 (about 5 KiB each) */
	uint32_t max_novelty;        /* 65536 (host,provider) and (host,ja4) entries */
};

void score_config_default(struct score_config *cfg);

/* Add "10.0.0.0/8"-style networks; 0 or -EINVAL / -ENOSPC. */
int score_config_add_internal(struct score_config *cfg, const char *cidr);
int score_config_add_allow(struct score_config *cfg, const char *cidr);

/* One session record as the engine sees it.  Strings borrowed for the call. */
struct score_event {
	uint64_t ts_ns;
	uint64_t flow_start_ns;
	bool first;                  /* first record of this flow */
	bool final;                  /* the flow ended */
	const struct net_addr *client, *server;
	uint16_t server_port;
	const char *provider, *service, *app_proto, *sni, *ja4, *community_id;
	uint64_t delta_toserver, delta_toclient; /* bytes since the flow's last record */
	uint64_t bytes_toserver;     /* whole flow so far (beacon data size) */
	uint64_t bytes_toclient;     /* whole flow so far (beacon size per connection) */
};

struct score_reason {
	enum score_signal signal;
	double strength;             /* 0..1 */
	double value, baseline, peer;/* units in `unit` */
	const char *unit;            /* "bytes", "bytes/h", "score", "hosts" */
	char detail[384];            /* one human sentence */
	char gate[128];              /* why it counts nothing, or "" (--explain) */
};

/* An alert, borrowed for the callback. */
struct score_alert {
	char alert_id[64];
	uint32_t revision;           /* 0 first, 1.. when a higher score re-alerts */
	uint64_t ts_ns;
	enum score_signal kind;
	double score;
	const char *severity;
	struct net_addr host, server;
	uint16_t server_port;
	const char *provider, *service, *app_proto, *sni, *ja4;
	uint64_t window_start_ns, window_end_ns;
	uint32_t window_sessions;
	uint64_t window_toserver, window_toclient;
	struct score_reason reasons[SIG_COUNT];
	unsigned n_reasons;
	bool learning;               /* raised inside the learning period */
	double confidence;           /* 1, or lower while baselines are still young */
	/* the bounded series behind it, for charts (docs/alerts.md "series"):
	 * the pair's bytes per 5-min bucket over the window (at least an
	 * hour, at most SCORE_SERIES_MAX buckets, oldest first), the host's
	 * own and the peers' level per bucket (NaN: none), and for beaconing
	 * the stream's connection starts of the last 24 h */
	uint64_t series_start_ns;
	uint32_t series_n;
	uint64_t series_down[SCORE_SERIES_MAX], series_up[SCORE_SERIES_MAX];
	double series_baseline, series_peer;
	uint32_t conn_starts[SCORE_BEACON_MAX];
	unsigned n_conn_starts;
	const char *cids[SCORE_MAX_CIDS];
	unsigned n_cids;
};

typedef void score_alert_fn(const struct score_alert *a, void *arg);

/* What held an evaluation back from alerting (--explain). */
enum score_gate {
	GATE_NONE,          /* it alerted (new alert or revision) */
	GATE_THRESHOLD,     /* score below --alert-threshold */
	GATE_SUPPRESSED,    /* same evidence as an open alert */
	GATE_NOT_INTERNAL,  /* the client is in no --internal network */
	GATE_ALLOWLIST,     /* --allow / networks.allow / an allowlist rule */
};

/* One evaluation of one record, for --explain: every signal (strength 0
 * included, with its gate), the score and the outcome.  Borrowed for the
 * callback. */
struct score_trace {
	uint64_t ts_ns;
	const struct net_addr *host;
	const char *provider, *service;
	struct score_reason all[SIG_COUNT]; /* indexed by enum score_signal */
	double score;
	bool learning;
	enum score_gate gate;
	const char *alert_id;        /* when it alerted or was suppressed */
	uint32_t revision;
	enum score_signal kind;
};

typedef void score_trace_fn(const struct score_trace *t, void *arg);

struct score_stats {
	uint64_t events, not_internal, allowed, exempted, pairs_evicted, novelty_evicted;
	uint64_t alerts, realerts, suppressed, learning_alerts;
	uint64_t alerts_by_kind[SIG_COUNT];
};

/* Returns a new engine (free with score_free) or NULL + errno. */
struct score_engine *score_new(const struct score_config *cfg, uint64_t seed,
			       score_alert_fn *cb, void *arg);
void score_free(struct score_engine *e);

/* Account one session record; may call the alert callback. */
void score_event(struct score_engine *e, const struct score_event *ev);

void score_get_stats(const struct score_engine *e, struct score_stats *out);

/* Report every evaluation of records whose client is @host (NULL: stop)
 * to @fn.  The address is copied. */
void score_set_trace(struct score_engine *e, const struct net_addr *host,
		     score_trace_fn *fn, void *arg);

/* Packet time at which learning ends (0 before the first event). */
uint64_t score_learning_end(const struct score_engine *e);

/* Take new thresholds, weights, windows, networks and working hours
 * (SIGHUP) while keeping every baseline.  Table sizes cannot change
 * without a restart: they are kept, and *restart_needed says so.
 * Returns 0 or -EINVAL (nothing changed). */
int score_reconfigure(struct score_engine *e, const struct score_config *cfg,
		      bool *restart_needed);

/* Baselines to and from a file (JSON, written atomically: temp + rename).
 * Load: a missing file is -ENOENT; a corrupt or incompatible one -EINVAL
 * with a message, and the engine is left as it was. */
int score_state_save(const struct score_engine *e, const char *path, char *err, size_t errlen);
int score_state_load(struct score_engine *e, const char *path, char *err, size_t errlen);

#endif
