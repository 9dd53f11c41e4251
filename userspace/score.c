/* SPDX-License-Identifier: MIT */
/*
 * score.c -- the scoring engine.  See score.h for the model and
 * docs/detection.md for the maths, the knobs and the blind spots.
 *
 * Day one: nothing here waits for --learning except what truly needs a
 * host's own history -- novelty of a host or a fingerprint against what
 * was learned, and the host-own half of the volume comparison.  Volume
 * against peers and floors, beaconing, off-hours and "new to the run"
 * hosts are judged from the first record.
 */
#include "score.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "score-stats.h"
#include "util-lru.h"

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
	struct { int64_t hour; long gmtoff; } site_tz[SCORE_MAX_SITES]; /* UTC offset cache */
	struct net_addr trace_host;
	score_trace_fn *trace_fn;
	void *trace_arg;
	double scratch[PEER_HOSTS > SCORE_HISTORY_HOURS ? PEER_HOSTS : SCORE_HISTORY_HOURS];
	double ts_buf[SCORE_BEACON_MAX], sz_buf[SCORE_BEACON_MAX], tot_buf[SCORE_BEACON_MAX];
	double bscratch[SCORE_BEACON_MAX];
};

static void on_novelty_evict(const void *key, void *value, void *arg);
static void on_pair_evict(const void *key, void *value, void *arg);
static void on_stream_evict(const void *key, void *value, void *arg);

/* ---------------------------------------------------------------- config */

void score_config_default(struct score_config *cfg)
{
	static const char *const internal[] = {
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
	};
	memset(cfg, 0, sizeof(*cfg));
	cfg->short_window_s = 1800;
	cfg->long_window_s = 8 * HOUR_S;
	cfg->learning_s = DAY_S;
	cfg->suppress_s = HOUR_S;
	cfg->alert_threshold = 50;
	cfg->realert_delta = 15;
	for (int i = 0; i < SIG_COUNT; i++)
		cfg->weight[i] = score_rules[i].weight;
	cfg->floor_down_short = 50 * MB;
	cfg->floor_down_long = 150 * MB;
	cfg->floor_up_short = 50 * MB;
	cfg->floor_up_long = 100 * MB;
	cfg->floor_off_hours = 30 * MB;
	cfg->ref_floor_per_hour = 2 * MB;
	cfg->cold_ref_per_hour = 10 * MB;
	cfg->ratio_low = 3;
	cfg->ratio_high = 30;
	cfg->ratio_low_long = 2;
	cfg->ratio_high_long = 12;
	cfg->floor_down_day = 200 * MB;
	cfg->floor_up_day = 120 * MB;
	cfg->ratio_low_day = 2;
	cfg->ratio_high_day = 8;
	cfg->peer_quantile_new = 0.9;
	cfg->own_quantile = 0.95;
	cfg->beacon_min_conns = 6;
	cfg->beacon_low = 0.07;
	cfg->beacon_high = 0.15;
	cfg->beacon_full_hours = 3;
	cfg->beacon_full_conns = 12;
	cfg->work_start_h = 8;
	cfg->work_end_h = 18;
	cfg->work_days = 0x3e; /* Mon..Fri */
	snprintf(cfg->tz, sizeof(cfg->tz), "UTC");
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		score_config_add_internal(cfg, internal[i]);
	cfg->max_pairs = 8192;
	cfg->max_novelty = 65536;
}

static int add_net(struct score_net *nets, unsigned *n, const char *cidr)
{
	if (*n >= SCORE_MAX_NETS)
		return -ENOSPC;
	if (net_prefix_parse(cidr, &nets[*n].net, &nets[*n].plen) < 0)
		return -EINVAL;
	(*n)++;
	return 0;
}

int score_config_add_internal(struct score_config *cfg, const char *cidr)
{
	return add_net(cfg->internal, &cfg->n_internal, cidr);
}

int score_config_add_allow(struct score_config *cfg, const char *cidr)
{
	return add_net(cfg->allow, &cfg->n_allow, cidr);
}

static bool in_nets(const struct score_net *nets, unsigned n, const struct net_addr *a)
{
	for (unsigned i = 0; i < n; i++)
		if (net_addr_in_prefix(a, &nets[i].net, nets[i].plen))
			return true;
	return false;
}

static bool config_ok(const struct score_config *c)
{
	return c->short_window_s >= SCORE_BUCKET_S &&
	       c->long_window_s <= SCORE_MAX_BUCKETS * SCORE_BUCKET_S &&
	       c->short_window_s <= c->long_window_s && c->beacon_low < c->beacon_high &&
	       c->beacon_min_conns >= 4 && c->beacon_min_conns <= SCORE_BEACON_MAX &&
	       c->beacon_full_conns > c->beacon_min_conns - 1 && c->beacon_full_hours > 0.25 &&
	       c->ratio_low_day > 1 && c->ratio_low_day < c->ratio_high_day &&
	       c->peer_quantile_new >= 0.5 && c->peer_quantile_new <= 1;
}

/* ----------------------------------------------------------- lifecycle */

struct score_engine *score_new(const struct score_config *cfg, uint64_t seed,
			       score_alert_fn *cb, void *arg)
{
	struct score_engine *e;

	if (!config_ok(cfg) || !cfg->max_pairs || !cfg->max_novelty) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->seed = seed;
	e->cb = cb;
	e->arg = arg;
	e->pairs = lru_new(cfg->max_pairs, sizeof(struct pair_key), sizeof(struct pair), seed);
	e->streams = lru_new(cfg->max_pairs, sizeof(struct stream_key), sizeof(struct stream), seed);
	e->peers = lru_new(256, sizeof(struct peer_key), sizeof(struct peer), seed);
	e->novelty = lru_new(cfg->max_novelty, sizeof(struct hp_key), sizeof(struct seen), seed);
	e->counts = lru_new(4096, sizeof(struct count_key), sizeof(uint32_t), seed);
	e->hosts = lru_new(cfg->max_novelty, sizeof(struct net_addr), sizeof(struct seen), seed);
	e->alerts = lru_new(4096, sizeof(struct alert_key), sizeof(struct alert_state), seed);
	if (!e->pairs || !e->streams || !e->peers || !e->novelty || !e->counts || !e->hosts ||
	    !e->alerts) {
		score_free(e);
		errno = ENOMEM;
		return NULL;
	}
	lru_set_evict_cb(e->novelty, on_novelty_evict, e);
	lru_set_evict_cb(e->pairs, on_pair_evict, e);
	lru_set_evict_cb(e->streams, on_stream_evict, e);
	return e;
}

int score_reconfigure(struct score_engine *e, const struct score_config *cfg,
		      bool *restart_needed)
{
	struct score_config c = *cfg;

	if (!config_ok(&c))
		return -EINVAL;
	*restart_needed = c.max_pairs != e->cfg.max_pairs || c.max_novelty != e->cfg.max_novelty;
	c.max_pairs = e->cfg.max_pairs;
	c.max_novelty = e->cfg.max_novelty;
	e->cfg = c;
	memset(e->site_tz, 0, sizeof(e->site_tz)); /* sites may have changed */
	return 0;
}

void score_free(struct score_engine *e)
{
	if (!e)
		return;
	lru_free(e->pairs);
	lru_free(e->streams);
	lru_free(e->peers);
	lru_free(e->novelty);
	lru_free(e->counts);
	lru_free(e->hosts);
	lru_free(e->alerts);
	free(e);
}

void score_get_stats(const struct score_engine *e, struct score_stats *out)
{
	*out = e->st;
	out->pairs_evicted = lru_evictions(e->pairs) + lru_evictions(e->streams);
	out->novelty_evicted = lru_evictions(e->novelty) + lru_evictions(e->hosts);
}

void score_set_trace(struct score_engine *e, const struct net_addr *host,
		     score_trace_fn *fn, void *arg)
{
	e->trace_fn = host ? fn : NULL;
	e->trace_arg = arg;
	if (host)
		e->trace_host = *host;
}

uint64_t score_learning_end(const struct score_engine *e)
{
	return e->learn_end_ns;
}

/* --------------------------------------------------------------- helpers */

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t *count_get(struct score_engine *e, const char *a, const char *b, const char *c)
{
	struct count_key k;
	memset(&k, 0, sizeof(k));
	snprintf(k.k, sizeof(k.k), "%s|%s|%s", a, b ? b : "", c ? c : "");
	return lru_put(e->counts, &k, NULL);
}

/* Hosts of @provider first seen in hour @hour ("ph" counts). */
static uint32_t *count_hour(struct score_engine *e, const char *provider, uint64_t hour,
			    bool create)
{
	struct count_key k;
	uint32_t *n;
	memset(&k, 0, sizeof(k));
	snprintf(k.k, sizeof(k.k), "ph|%s|%llu", provider, (unsigned long long)hour);
	n = create ? lru_put(e->counts, &k, NULL) : lru_get(e->counts, &k);
	return n;
}

/* Hosts that have used @provider for at least MIN_HIST_HOURS by @hour. */
static uint32_t provider_hosts_mature(struct score_engine *e, const char *provider, uint64_t hour)
{
	uint32_t all = *count_get(e, "p", provider, NULL), young = 0;
	for (unsigned k = 0; k < MIN_HIST_HOURS && k <= hour; k++) {
		uint32_t *n = count_hour(e, provider, hour - k, false);
		young += n ? *n : 0;
	}
	return all > young ? all - young : 0;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static double ramp(double x, double lo, double hi)
{
	if (!(x > lo))
		return 0;
	if (x >= hi)
		return 1;
	return (x - lo) / (hi - lo);
}

/* Strength of a volume ratio: 0 at @lo, 1 at @hi, log scale. */
static double ratio_ramp(double ratio, double lo, double hi)
{
	if (!(ratio > lo))
		return 0;
	return ramp(log(ratio), log(lo), log(hi));
}

static double ratio_strength(const struct score_config *c, double ratio)
{
	return ratio_ramp(ratio, c->ratio_low, c->ratio_high);
}

static void fmt_bytes(char *buf, size_t len, double b)
{
	if (b >= 1e9)
		snprintf(buf, len, "%.1f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, len, "%.1f MB", b / 1e6);
	else if (b >= 1e3)
		snprintf(buf, len, "%.1f kB", b / 1e3);
	else
		snprintf(buf, len, "%.0f B", b);
}

static void fmt_duration(char *buf, size_t len, uint64_t s)
{
	if (s % HOUR_S == 0)
		snprintf(buf, len, "%llu h", (unsigned long long)(s / HOUR_S));
	else
		snprintf(buf, len, "%llu min", (unsigned long long)(s / 60));
}

static struct peer *peer_of(struct score_engine *e, const char *provider, const char *service)
{
	struct peer_key qk;
	memset(&qk, 0, sizeof(qk));
	copy_str(qk.provider, sizeof(qk.provider), provider);
	copy_str(qk.service, sizeof(qk.service), service);
	return lru_put(e->peers, &qk, NULL);
}

/* ------------------------------------------------------- pair accounting */

static unsigned hist_index(const struct pair *p, unsigned k) /* k = 0: oldest */
{
	return (p->hist_head + SCORE_HISTORY_HOURS - p->hist_n + k) % SCORE_HISTORY_HOURS;
}

/* A high quantile of the pair's hourly history (zero hours included),
 * leaving out the newest @skip hours: the hours being judged must not
 * raise their own bar (a drip would otherwise become its own baseline). */
static double hist_quantile(struct score_engine *e, const struct pair *p, bool down,
			    unsigned skip)
{
	unsigned n = p->hist_n > skip ? p->hist_n - skip : 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = hist_index(p, k);
		e->scratch[k] = down ? p->hist_down[i] : p->hist_up[i];
	}
	return stat_quantile(e->scratch, n, e->cfg.own_quantile, e->scratch);
}

/* The median of the pair's daily peaks (the busiest hour of each whole
 * day of history, leaving out the newest @skip hours), or 0 with fewer
 * than two days: a job the host runs every night is its own normal even
 * though it fills fewer hours than the quantile looks at. */
static double daily_peak_median(struct score_engine *e, const struct pair *p, bool down,
				unsigned skip)
{
	unsigned n = p->hist_n > skip ? p->hist_n - skip : 0, days = n / 24, d;
	if (days < 2)
		return 0;
	for (d = 0; d < days; d++) {
		double mx = 0;
		for (unsigned h = 0; h < 24; h++) {
			unsigned i = hist_index(p, n - (d + 1) * 24 + h);
			double v = down ? p->hist_down[i] : p->hist_up[i];
			if (v > mx)
				mx = v;
		}
		e->scratch[d] = mx;
	}
	return stat_median(e->scratch, days, e->scratch + days);
}

/* The largest 24 h total in the pair's history before the newest 23
 * hours (those are in the window being judged), or NaN with less than
 * a whole day of such history. */
static double own_day_ref(const struct pair *p, bool down)
{
	unsigned n = p->hist_n > SCORE_DAY_HOURS - 1 ? p->hist_n - (SCORE_DAY_HOURS - 1) : 0;
	double sum = 0, best = 0;
	if (n < SCORE_DAY_HOURS)
		return NAN;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = hist_index(p, k);
		sum += down ? p->hist_down[i] : p->hist_up[i];
		if (k >= SCORE_DAY_HOURS) {
			unsigned o = hist_index(p, k - SCORE_DAY_HOURS);
			sum -= down ? p->hist_down[o] : p->hist_up[o];
		}
		if (k + 1 >= SCORE_DAY_HOURS && sum > best)
			best = sum;
	}
	return best;
}

/* Bytes of the last 24 h: the open hour and the 23 closed before it. */
static uint64_t day_sum(const struct pair *p, bool down)
{
	double sum = (double)(down ? p->hour_down : p->hour_up);
	unsigned n = p->hist_n < SCORE_DAY_HOURS - 1 ? p->hist_n : SCORE_DAY_HOURS - 1;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = hist_index(p, p->hist_n - 1 - k);
		sum += down ? p->hist_down[i] : p->hist_up[i];
	}
	return (uint64_t)sum;
}

/* Quantile @q (type 7) of n sorted values preceded by @zeros zero values. */
static double quantile_with_zeros(const double *v, uint32_t n, uint32_t zeros, double q)
{
	uint32_t total = n + zeros;
	double pos, frac, a, b;
	uint32_t i;
	if (!total)
		return NAN;
	pos = (total - 1) * q;
	i = (uint32_t)pos;
	frac = pos - i;
	a = i < zeros ? 0 : v[i - zeros];
	b = i + 1 >= total ? a : (i + 1 < zeros ? 0 : v[i + 1 - zeros]);
	return a + (b - a) * frac;
}

static void peer_levels(struct score_engine *e, const float *src, uint32_t n, uint32_t zeros,
			double q_new, double *median, double *high)
{
	for (uint32_t i = 0; i < n; i++)
		e->scratch[i] = src[i];
	stat_sort(e->scratch, n);
	*median = quantile_with_zeros(e->scratch, n, zeros, 0.5);
	*high = quantile_with_zeros(e->scratch, n, zeros, q_new);
}

/* Record the pair's current reference in its service's peer table and,
 * now and then, recompute the peer level. */
static void peer_update(struct score_engine *e, struct peer *peer, const struct pair *p,
			uint64_t host_hash, const char *provider, uint64_t hour)
{
	uint32_t i, zeros;
	if (p->hist_n < MIN_HIST_HOURS)
		return;
	for (i = 0; i < peer->n && peer->host[i] != host_hash; i++)
		;
	if (i == peer->n) {
		if (peer->n == PEER_HOSTS)
			i = (uint32_t)(host_hash % PEER_HOSTS); /* full: overwrite one */
		else
			peer->n++;
		peer->host[i] = host_hash;
	}
	peer->down[i] = (float)hist_quantile(e, p, true, 0);
	peer->up[i] = (float)hist_quantile(e, p, false, 0);
	peer->day_down[i] = (float)p->day_max_down;
	peer->day_up[i] = (float)p->day_max_up;
	if (++peer->since_recalc < PEER_RECALC && peer->recalc_total >= MIN_PEER_HOURS)
		return;
	peer->since_recalc = 0;
	peer->recalc_total++;
	peer->prov_hosts = provider_hosts_mature(e, provider, hour);
	zeros = peer->prov_hosts > peer->n ? peer->prov_hosts - peer->n : 0;
	peer_levels(e, peer->down, peer->n, zeros, e->cfg.peer_quantile_new, &peer->q_down,
		    &peer->qn_down);
	peer_levels(e, peer->up, peer->n, zeros, e->cfg.peer_quantile_new, &peer->q_up,
		    &peer->qn_up);
	peer_levels(e, peer->day_down, peer->n, zeros, e->cfg.peer_quantile_new,
		    &peer->q_day_down, &peer->qn_day_down);
	peer_levels(e, peer->day_up, peer->n, zeros, e->cfg.peer_quantile_new, &peer->q_day_up,
		    &peer->qn_day_up);
}

/* Roll the pair's hourly accumulator forward to @hour, pushing closed
 * hours into its history and (when active) into the peers' ring. */
static void roll_hours(struct score_engine *e, struct pair *p, struct peer *peer,
		       uint64_t host_hash, const char *provider, uint64_t hour)
{
	unsigned steps = 0;
	if (!p->cur_hour) {
		p->cur_hour = hour;
		return;
	}
	if (hour <= p->cur_hour)
		return; /* a late record counts in the open hour */
	while (p->cur_hour < hour && steps++ < SCORE_HISTORY_HOURS) {
		uint64_t d, u;
		p->hist_down[p->hist_head] = (float)p->hour_down;
		p->hist_up[p->hist_head] = (float)p->hour_up;
		p->hist_head = (uint16_t)((p->hist_head + 1) % SCORE_HISTORY_HOURS);
		if (p->hist_n < SCORE_HISTORY_HOURS)
			p->hist_n++;
		p->hour_down = p->hour_up = 0;
		p->cur_hour++;
		if (steps <= SCORE_DAY_HOURS) { /* the 24 h totals can only grow while busy */
			d = day_sum(p, true);
			u = day_sum(p, false);
			if (d > p->day_max_down)
				p->day_max_down = d;
			if (u > p->day_max_up)
				p->day_max_up = u;
		}
	}
	p->cur_hour = hour; /* a gap longer than the history: start afresh */
	if (peer)
		peer_update(e, peer, p, host_hash, provider, hour);
}

/* Move the bucket ring forward to @bucket, clearing skipped buckets. */
static void roll_buckets(struct pair *p, uint64_t bucket)
{
	if (!p->cur_bucket || bucket >= p->cur_bucket + SCORE_MAX_BUCKETS) {
		memset(p->down, 0, sizeof(p->down));
		memset(p->up, 0, sizeof(p->up));
		memset(p->nsess, 0, sizeof(p->nsess));
		p->cur_bucket = bucket;
		return;
	}
	while (p->cur_bucket < bucket) {
		unsigned i = (unsigned)(++p->cur_bucket % SCORE_MAX_BUCKETS);
		p->down[i] = p->up[i] = 0;
		p->nsess[i] = 0;
	}
}

struct window {
	uint64_t down, up;
	uint32_t sessions;
	uint64_t start_ns, end_ns;
};

static void window_sum(const struct pair *p, uint64_t ts_ns, uint32_t seconds, struct window *w)
{
	unsigned n = seconds / SCORE_BUCKET_S;
	memset(w, 0, sizeof(*w));
	if (n > SCORE_MAX_BUCKETS)
		n = SCORE_MAX_BUCKETS;
	for (unsigned k = 0; k < n && k <= p->cur_bucket; k++) {
		unsigned i = (unsigned)((p->cur_bucket - k) % SCORE_MAX_BUCKETS);
		w->down += p->down[i];
		w->up += p->up[i];
		w->sessions += p->nsess[i];
	}
	w->end_ns = ts_ns;
	w->start_ns = ts_ns > (uint64_t)seconds * NS ? ts_ns - (uint64_t)seconds * NS : 0;
}

/* The host's own reference rate (bytes/h): a high quantile of its hourly
 * history or the median of its daily peaks, whichever is higher; NaN
 * while the history is too short to mean anything. */
static double own_ref(struct score_engine *e, const struct pair *p, bool down)
{
	unsigned skip = e->cfg.long_window_s / HOUR_S;
	if (p->hist_n < MIN_HIST_HOURS + skip)
		/* a host we know that never used this service: its usual level
		 * is nothing; a host new to us, or a pair as young as the
		 * host's own history, has no usual level yet */
		return p->host_known && p->svc_new ? 0 : NAN;
	return fmax(hist_quantile(e, p, down, skip), daily_peak_median(e, p, down, skip));
}

/* The peers' level: the median colleague for a host with a reference of
 * its own, the busy end (peer_quantile_new) for one without. */
static double peer_ref(const struct peer *peer, bool down, bool day, bool has_own)
{
	if (!peer || !peer->recalc_total || peer->n + (peer->prov_hosts > peer->n ?
						      peer->prov_hosts - peer->n : 0) < MIN_PEER_HOURS)
		return NAN;
	if (day)
		return has_own ? (down ? peer->q_day_down : peer->q_day_up) :
				 (down ? peer->qn_day_down : peer->qn_day_up);
	return has_own ? (down ? peer->q_down : peer->q_up) : (down ? peer->qn_down : peer->qn_up);
}

/* ----------------------------------------------------------------- signals */

struct volume_eval {
	double strength, ratio;
	double rate, own, peer;      /* per hour; per day for the 24 h window */
	uint64_t bytes, floor;
	uint32_t window_s;
	bool learning_own;           /* no host-own reference yet */
	struct window w;
};

/* Judge @bytes moved in a window against the host's own and its peers'
 * references (same unit as @rate), with the ramp @lo..@hi. */
static void judge_volume(const struct score_config *c, double rate, double own, double pr,
			 double rfloor, double lo, double hi, struct volume_eval *out)
{
	double ratio_own = isnan(own) ? NAN : rate / fmax(own, rfloor);
	double ratio_peer = isnan(pr) ? NAN : rate / fmax(pr, rfloor);
	(void)c;
	if (isnan(ratio_own) && isnan(ratio_peer))
		ratio_own = ratio_peer = rate / rfloor;
	else if (isnan(ratio_own))
		ratio_own = ratio_peer;
	else if (isnan(ratio_peer))
		ratio_peer = ratio_own;
	/* far more than it usually does AND than its peers do */
	out->ratio = fmin(ratio_own, ratio_peer);
	out->strength = ratio_ramp(out->ratio, lo, hi);
}

static void eval_volume_window(struct score_engine *e, const struct pair *p,
			       const struct peer *peer, bool down, uint64_t ts, bool learning,
			       uint32_t window_s, uint64_t floor, double lo, double hi,
			       struct volume_eval *out)
{
	const struct score_config *c = &e->cfg;
	double own = own_ref(e, p, down);
	/* cold: no baseline of the host's own -- a stateless run's first day
	 * (hours of one day are no baseline: a shared mailbox's first
	 * morning looks like a drip), or a host new to the sensor */
	bool cold = isnan(own) || (learning && !p->host_known);
	struct window w;

	if (cold)
		own = NAN;
	window_sum(p, ts, window_s, &w);
	memset(out, 0, sizeof(*out));
	out->w = w;
	out->window_s = window_s;
	out->floor = floor;
	out->bytes = down ? w.down : w.up;
	out->rate = (double)out->bytes * HOUR_S / window_s;
	out->own = own;
	out->peer = peer_ref(peer, down, false, !cold);
	out->learning_own = cold;
	if (out->bytes < floor)
		return;
	if (cold && window_s > c->short_window_s) {
		/* judged on bursts only: a steady mover -- a relay, a heavy
		 * user -- looks like a drip until its own hours say otherwise */
		out->ratio = 0;
		return;
	}
	/* without a history of its own, a host is held to the busy end of its
	 * peers and to at least what one busy mail client moves */
	judge_volume(c, out->rate, own, out->peer,
		     cold ? (double)c->cold_ref_per_hour : (double)c->ref_floor_per_hour,
		     lo, hi, out);
}

/* The 24 h window (drips): the day's total against the host's largest
 * earlier day and its peers' usual day. */
static void eval_volume_day(struct score_engine *e, const struct pair *p, const struct peer *peer,
			    bool down, uint64_t ts, bool learning, struct volume_eval *out)
{
	const struct score_config *c = &e->cfg;
	double own = own_day_ref(p, down);

	if (isnan(own) && p->host_known && p->svc_new)
		own = 0;
	if (learning && !p->host_known)
		own = NAN;
	memset(out, 0, sizeof(*out));
	out->window_s = DAY_S;
	out->floor = down ? c->floor_down_day : c->floor_up_day;
	out->bytes = day_sum(p, down);
	out->rate = (double)out->bytes;
	out->own = own;
	out->peer = peer_ref(peer, down, true, !isnan(own));
	out->learning_own = isnan(own);
	out->w.end_ns = ts;
	out->w.start_ns = ts > (uint64_t)DAY_S * NS ? ts - (uint64_t)DAY_S * NS : 0;
	if (down)
		out->w.down = out->bytes;
	else
		out->w.up = out->bytes;
	{
		struct window lw;
		window_sum(p, ts, SCORE_MAX_BUCKETS * SCORE_BUCKET_S, &lw);
		out->w.sessions = lw.sessions;
		if (down)
			out->w.up = lw.up;
		else
			out->w.down = lw.down;
	}
	if (out->bytes < out->floor || isnan(own))
		return; /* no history of its own: bursts only (above) */
	judge_volume(c, out->rate, own, out->peer, (double)c->ref_floor_per_hour * 24,
		     c->ratio_low_day, c->ratio_high_day, out);
}

static void eval_volume(struct score_engine *e, const struct pair *p, const struct peer *peer,
			bool down, uint64_t ts, bool learning, struct volume_eval *best)
{
	const struct score_config *c = &e->cfg;
	struct volume_eval s, l, d;
	eval_volume_window(e, p, peer, down, ts, learning, c->short_window_s,
			   down ? c->floor_down_short : c->floor_up_short, c->ratio_low,
			   c->ratio_high, &s);
	/* a rise sustained for hours means more than a burst of the same
	 * ratio: the long window ramps over a lower range */
	eval_volume_window(e, p, peer, down, ts, learning, c->long_window_s,
			   down ? c->floor_down_long : c->floor_up_long, c->ratio_low_long,
			   c->ratio_high_long, &l);
	eval_volume_day(e, p, peer, down, ts, learning, &d);
	*best = s;
	if (l.strength > best->strength || (best->strength <= 0 && l.bytes >= l.floor))
		*best = l;
	if (d.strength > best->strength || (best->strength <= 0 && d.bytes >= d.floor))
		*best = d;
}

static void volume_reason(const struct volume_eval *v, enum score_signal sig, double rfloor,
			  struct score_reason *r)
{
	char b[32], own[32], peer[32], win[32], ref[160], fl[32];
	const char *dir = sig == SIG_BULK_DOWNLOAD ? "down" : "up";
	bool day = v->window_s == DAY_S;
	const char *per = day ? "day" : "h";
	double rf = day ? rfloor * 24 : rfloor;

	memset(r, 0, sizeof(*r));
	r->signal = sig;
	r->strength = v->strength;
	r->value = (double)v->bytes;
	r->baseline = v->own;
	r->peer = v->peer;
	r->unit = "bytes";
	fmt_bytes(b, sizeof(b), (double)v->bytes);
	fmt_duration(win, sizeof(win), v->window_s);
	ref[0] = '\0';
	if (!isnan(v->own)) {
		fmt_bytes(own, sizeof(own), v->own);
		snprintf(ref, sizeof(ref), ", %.0fx this host's usual %s (%s/%s)",
			 v->rate / fmax(v->own, rf), day ? "biggest day" : "hourly peak", own, per);
	} else {
		snprintf(ref, sizeof(ref), ", no history for this host yet");
	}
	if (!isnan(v->peer)) {
		size_t n = strlen(ref);
		fmt_bytes(peer, sizeof(peer), v->peer);
		snprintf(ref + n, sizeof(ref) - n, " and %.0fx its peers' (%s/%s)",
			 v->rate / fmax(v->peer, rf), peer, per);
	}
	snprintf(r->detail, sizeof(r->detail), "%s %s in %s%s", b, dir, win, ref);
	if (v->bytes < v->floor) {
		fmt_bytes(fl, sizeof(fl), (double)v->floor);
		snprintf(r->gate, sizeof(r->gate), "floor: %s < %s in %s", b, fl, win);
	} else if (v->learning_own && v->window_s > 1800 && v->strength <= 0) {
		snprintf(r->gate, sizeof(r->gate),
			 "learning: the %s window needs this host's own history", win);
	} else if (v->strength <= 0) {
		snprintf(r->gate, sizeof(r->gate), "ratio %.1fx is below the ramp", v->ratio);
	}
}

/* The site of a host, or NULL (the config's own hours and zone). */
static const struct score_site *site_of(const struct score_config *c, const struct net_addr *a,
					 int *index)
{
	for (unsigned i = 0; i < c->n_sites; i++)
		if (in_nets(c->sites[i].nets, c->sites[i].n_nets, a)) {
			*index = (int)i;
			return &c->sites[i];
		}
	return NULL;
}

/* Local time at a site.  The process zone is the config's (main sets TZ);
 * another site's UTC offset is looked up once per hour of packet time by
 * switching TZ for the call, which glibc cannot do per thread (the other
 * threads never format local time). */
static void site_localtime(struct score_engine *e, const struct score_site *site, int idx,
			   uint64_t ts_ns, struct tm *tm)
{
	time_t t = (time_t)(ts_ns / NS);
	int64_t hour = (int64_t)(ts_ns / NS / HOUR_S);

	if (!site || !strcmp(site->tz, e->cfg.tz)) {
		localtime_r(&t, tm);
		return;
	}
	if (e->site_tz[idx].hour != hour + 1) { /* +1: 0 means "not cached" */
		struct tm lt;
		setenv("TZ", site->tz, 1);
		tzset();
		localtime_r(&t, &lt);
		e->site_tz[idx].gmtoff = lt.tm_gmtoff;
		e->site_tz[idx].hour = hour + 1;
		setenv("TZ", e->cfg.tz, 1);
		tzset();
	}
	t += e->site_tz[idx].gmtoff;
	gmtime_r(&t, tm);
}

static bool is_work_time(struct score_engine *e, const struct net_addr *host, uint64_t ts_ns,
			 struct tm *tm, const char **tz, uint8_t *from, uint8_t *to)
{
	const struct score_config *c = &e->cfg;
	int idx = 0;
	const struct score_site *site = site_of(c, host, &idx);
	uint8_t days = site ? site->work_days : c->work_days;

	*from = site ? site->work_start_h : c->work_start_h;
	*to = site ? site->work_end_h : c->work_end_h;
	*tz = site ? site->tz : c->tz;
	site_localtime(e, site, idx, ts_ns, tm);
	if (!(days & (1u << tm->tm_wday)))
		return false;
	return tm->tm_hour >= *from && tm->tm_hour < *to;
}

static void eval_off_hours(struct score_engine *e, const struct pair *p, const struct peer *peer,
			   const struct net_addr *host, uint64_t ts, bool learning,
			   struct score_reason *r)
{
	const struct score_config *c = &e->cfg;
	struct window w;
	struct tm tm;
	double own, rate, v, ref;
	char b[32], fl[32];
	const char *tz;
	uint8_t from, to;

	memset(r, 0, sizeof(*r));
	r->signal = SIG_OFF_HOURS;
	r->unit = "bytes";
	r->baseline = r->peer = NAN;
	if (is_work_time(e, host, ts, &tm, &tz, &from, &to)) {
		snprintf(r->gate, sizeof(r->gate), "working hours (%02u:00-%02u:00 %s)", from, to, tz);
		return;
	}
	window_sum(p, ts, c->short_window_s, &w);
	v = (double)(w.down + w.up);
	r->value = v;
	if (v < (double)c->floor_off_hours) {
		fmt_bytes(b, sizeof(b), v);
		fmt_bytes(fl, sizeof(fl), (double)c->floor_off_hours);
		snprintf(r->gate, sizeof(r->gate), "floor: %s < %s in %u min", b, fl,
			 c->short_window_s / 60);
		return;
	}
	own = own_ref(e, p, true);
	if (!isnan(own))
		own += own_ref(e, p, false);
	if (learning && !p->host_known)
		own = NAN;
	rate = v * HOUR_S / c->short_window_s;
	r->baseline = own;
	/* meaningful: above the floor, and well above what the host moves in
	 * its busiest hours (a nightly sync the host always does is not); a
	 * host without history of its own is held to its busy peers' level */
	if (isnan(own)) {
		double pd = peer_ref(peer, true, false, false), pu = peer_ref(peer, false, false, false);
		r->peer = isnan(pd) ? NAN : pd + (isnan(pu) ? 0 : pu);
		ref = fmax(isnan(r->peer) ? 0 : r->peer, (double)c->cold_ref_per_hour);
	} else {
		ref = own;
	}
	r->strength = ratio_strength(c, rate / fmax(ref, (double)c->ref_floor_per_hour));
	fmt_bytes(b, sizeof(b), v);
	snprintf(r->detail, sizeof(r->detail),
		 "%s moved in the %u min up to %02d:%02d %s, outside working hours (%02u:00-%02u:00)%s",
		 b, c->short_window_s / 60, tm.tm_hour, tm.tm_min, tz, from, to,
		 isnan(own) ? ", no history for this host yet" : "");
	if (r->strength <= 0)
		snprintf(r->gate, sizeof(r->gate), "within the host's usual level");
}

/* --------------------------------------------------------------- beaconing */

static int period_bin(double interval_s)
{
	int b;
	if (!(interval_s >= PERIOD_BASE_S))
		return 0;
	b = (int)floor(log(interval_s / PERIOD_BASE_S) / log(PERIOD_STEP));
	return b >= SCORE_PERIOD_BINS ? SCORE_PERIOD_BINS - 1 : b;
}

static void roll_stream_hours(struct stream *s, uint64_t hour)
{
	if (!s->hour_cur || hour >= s->hour_cur + SCORE_DAY_HOURS) {
		memset(s->hour_conns, 0, sizeof(s->hour_conns));
		s->hour_cur = hour;
		return;
	}
	while (s->hour_cur < hour)
		s->hour_conns[++s->hour_cur % SCORE_DAY_HOURS] = 0;
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void record_conn(struct stream *s, const struct score_event *ev)
{
	uint64_t start_s = ev->flow_start_ns / NS, hour = start_s / HOUR_S;
	s->conn_ts[s->conn_head] = (uint32_t)start_s;
	s->conn_up[s->conn_head] = sat32(ev->bytes_toserver);
	s->conn_tot[s->conn_head] = sat32(ev->bytes_toserver + ev->bytes_toclient);
	s->conn_head = (uint16_t)((s->conn_head + 1) % SCORE_BEACON_MAX);
	if (s->conn_n < SCORE_BEACON_MAX)
		s->conn_n++;
	if (hour > s->hour_cur)
		roll_stream_hours(s, hour);
	if (hour + SCORE_DAY_HOURS > s->hour_cur && s->hour_conns[hour % SCORE_DAY_HOURS] < UINT16_MAX)
		s->hour_conns[hour % SCORE_DAY_HOURS]++;
	if (s->since_analysis < UINT16_MAX)
		s->since_analysis++;
}

static void stream_set_bin(struct peer *peer, struct stream *s, int bin)
{
	if (s->period_bin == bin)
		return;
	if (peer && s->period_bin >= 0 && peer->period[s->period_bin])
		peer->period[s->period_bin]--;
	if (peer && bin >= 0 && peer->period[bin] < UINT16_MAX)
		peer->period[bin]++;
	s->period_bin = (int8_t)bin;
}

/* RITA v5 over the stream's connections of the last 24 h, and the parts
 * mailtap weighs: interval regularity (MAD / median, Bowley skew), data
 * size regularity, how long and how many, size per connection.  Runs when
 * enough new connections arrived (at least 1/16 of the stream) or ten
 * minutes passed: O(1) amortised per session, bounded per stream. */
static void analyse_stream(struct score_engine *e, struct stream *s, struct peer *peer,
			   uint64_t ts_ns, bool force)
{
	const struct score_config *c = &e->cfg;
	struct stat_beacon_config bc;
	struct stat_beacon_stat tsr, dsr;
	struct stat_beacon_hist hist;
	struct stat_beacon_dur dur;
	struct beacon_eval *b = &s->b;
	uint32_t freq[SCORE_DAY_HOURS];
	double now = (double)(ts_ns / NS), ds_min, rita = 0;
	size_t n = 0;
	bool regular;

	if (!force && s->since_analysis < (s->conn_n / 16 > 1 ? s->conn_n / 16 : 1) &&
	    ts_ns < s->analysed_ns + (uint64_t)BEACON_RECALC_S * NS)
		return;
	s->since_analysis = 0;
	s->analysed_ns = ts_ns;
	for (unsigned k = 0; k < s->conn_n; k++) {
		unsigned i = (s->conn_head + SCORE_BEACON_MAX - s->conn_n + k) % SCORE_BEACON_MAX;
		if (now - s->conn_ts[i] > DAY_S)
			continue;
		e->ts_buf[n] = s->conn_ts[i];
		e->sz_buf[n] = s->conn_up[i];
		e->tot_buf[n] = s->conn_tot[i];
		n++;
	}
	memset(b, 0, sizeof(*b));
	b->conns = (uint32_t)n;
	stat_beacon_config_default(&bc);
	if (n >= c->beacon_min_conns)
		stat_sort(e->ts_buf, n); /* the ring is in order of session end */
	if (n < c->beacon_min_conns ||
	    stat_beacon_ts_score(e->ts_buf, n, e->bscratch, &tsr) != STAT_OK) {
		s->regular_since_ns = 0;
		stream_set_bin(peer, s, -1);
		return;
	}
	if (stat_beacon_ds_score(e->sz_buf, n, e->bscratch, &dsr) != STAT_OK)
		memset(&dsr, 0, sizeof(dsr));
	b->ts_score = tsr.score;
	b->ds_score = dsr.score;
	b->interval = tsr.median;
	b->skew = tsr.skew;
	b->madr = tsr.median > 0 ? tsr.mad / tsr.median : 1;
	b->size_med = stat_median(e->tot_buf, n, e->bscratch);
	/* time-of-day spread over the day: RITA's histogram and duration */
	roll_stream_hours(s, ts_ns / NS / HOUR_S);
	for (unsigned h = 0; h < SCORE_DAY_HOURS; h++)
		freq[h] = s->hour_conns[(s->hour_cur + 1 + h) % SCORE_DAY_HOURS];
	ds_min = now - DAY_S;
	if (stat_beacon_hist_from_freq(freq, SCORE_DAY_HOURS, &bc, &hist) == STAT_OK) {
		b->hist_score = hist.score;
		if (stat_beacon_dur_score(ds_min, now, e->ts_buf[0], e->ts_buf[n - 1],
					  hist.total_bars, hist.longest_run, &bc, &dur) == STAT_OK &&
		    stat_beacon_score(tsr.score, dsr.score, dur.score, hist.score, &bc, &rita) != STAT_OK)
			rita = 0;
	}
	b->rita = rita;
	/* connections of the last 24 h: the hourly counters (the ring holds
	 * the newest SCORE_BEACON_MAX only) */
	{
		uint32_t total = 0;
		for (unsigned h = 0; h < SCORE_DAY_HOURS; h++)
			total += freq[h];
		if (total > b->conns)
			b->conns = total;
	}
	b->regularity = (1 - ramp(b->madr, c->beacon_low, c->beacon_high)) *
			(1 - ramp(fabs(b->skew), 0.3, 0.8));
	regular = b->regularity >= 0.5;
	if (regular) {
		/* regular since the first connection of the newest unbroken run
		 * of intervals near the median (one missed poll allowed) */
		size_t k = n - 1;
		while (k > 0) {
			double d = e->ts_buf[k] - e->ts_buf[k - 1];
			if (d < 0.5 * b->interval || d > 2.5 * b->interval)
				break;
			k--;
		}
		/* (reaching the oldest connection kept is no break: the run may
		 * be older than the ring) */
		if (!s->regular_since_ns || (k > 0 && (uint64_t)e->ts_buf[k] * NS > s->regular_since_ns))
			s->regular_since_ns = (uint64_t)e->ts_buf[k] * NS;
	} else {
		s->regular_since_ns = 0;
	}
	b->covered_h = regular ? (double)(ts_ns - s->regular_since_ns) / NS / HOUR_S : 0;
	if (b->covered_h > 24)
		b->covered_h = 24;
	b->persistence = ramp(b->covered_h, 0.25, c->beacon_full_hours) *
			 ramp(log((double)n), log((double)c->beacon_min_conns - 1),
			      log((double)c->beacon_full_conns));
	/* a periodic multi-MB pull weighs more than a tiny poll */
	b->size_factor = ramp(log(fmax(b->size_med, 1)), log(20e3), log(1e6));
	b->base = b->regularity * b->persistence * (0.7 + 0.3 * b->ds_score);
	stream_set_bin(peer, s, regular ? period_bin(b->interval) : -1);
}

struct beacon_view {
	const struct stream *s;
	double strength, rarity, size_weight, client_share;
	uint32_t others, svc_hosts;
	bool known;
};

/* How common the stream's period is among the service's other streams,
 * and the strength that leaves. */
static void eval_beacon(struct score_engine *e, const struct stream *s, const struct peer *peer,
			const char *provider, const char *service, const char *ja4, uint64_t ts_ns,
			struct beacon_view *v)
{
	uint32_t others = 0, svc, prov, ja4_hosts;
	double share, lo;
	int bin;

	memset(v, 0, sizeof(*v));
	v->s = s;
	if (!s || s->period_bin < 0 || s->b.base <= 0)
		return;
	bin = s->period_bin;
	for (int k = bin - 1; k <= bin + 1; k++)
		if (k >= 0 && k < SCORE_PERIOD_BINS)
			others += peer->period[k];
	others = others ? others - 1 : 0; /* this stream */
	svc = *count_get(e, "s", provider, service);
	share = (double)others / (svc > 1 ? svc - 1 : 1);
	v->others = others;
	v->svc_hosts = svc;
	/* the organisation's standard client polls alike on many hosts */
	v->rarity = (1 - ramp(share, 0.05, 0.25)) * (1 - ramp((double)others, 3, 12));
	/* regular since before learning ended, or for a day: its normal */
	v->known = s->regular_since_ns &&
		   ((s->regular_since_ns < e->learn_end_ns && ts_ns >= e->learn_end_ns) ||
		    ts_ns - s->regular_since_ns > (uint64_t)DAY_S * NS);
	/* a periodic multi-MB pull weighs more than a tiny poll; a tiny poll
	 * weighs more when it is a change -- it began while the sensor
	 * watched, from a client (JA4) few of the provider's hosts use, as a
	 * script would -- than when it is a habit as old as the run (a
	 * monitoring probe) or the organisation's own client (an add-in) */
	prov = *count_get(e, "p", provider, NULL);
	ja4_hosts = ja4 && ja4[0] ? *count_get(e, "j", provider, ja4) : 0;
	v->client_share = (double)(ja4_hosts > 0 ? ja4_hosts - 1 : 0) / (prov > 1 ? prov - 1 : 1);
	lo = s->late && ja4 && ja4[0] && v->client_share <= 0.1 ? 0.8 : 0.55;
	v->size_weight = lo + (1 - lo) * s->b.size_factor;
	v->strength = s->b.base * v->size_weight * v->rarity * (v->known ? 0.25 : 1);
}

static void beacon_reason(const struct beacon_view *v, struct score_reason *r)
{
	const struct beacon_eval *b = v->s ? &v->s->b : NULL;
	char sz[32];

	memset(r, 0, sizeof(*r));
	r->signal = SIG_BEACONING;
	r->strength = v->strength;
	r->baseline = NAN;
	r->peer = NAN;
	r->unit = "score";
	if (!b || !b->conns) {
		snprintf(r->gate, sizeof(r->gate), "no finished connections of this client yet");
		return;
	}
	r->value = b->rita;
	r->peer = v->others;
	if (b->interval <= 0) {
		snprintf(r->detail, sizeof(r->detail),
			 "%u connections of this client in 24 h: too few to judge a rhythm", b->conns);
		snprintf(r->gate, sizeof(r->gate), "too few connections");
		return;
	}
	fmt_bytes(sz, sizeof(sz), b->size_med);
	snprintf(r->detail, sizeof(r->detail),
		 "%u connections in 24 h every %.0f s (spread %.0f %%), regular for %.1f h, %s each; "
		 "%u other clients of the service share the period; RITA %.3f%s",
		 b->conns, b->interval, b->madr * 100, b->covered_h, sz, v->others, b->rita,
		 v->known ? " (regular before: its usual behaviour)" : "");
	if (b->conns < 6 || b->regularity <= 0)
		snprintf(r->gate, sizeof(r->gate), "not regular (%u connections, spread %.0f %%)",
			 b->conns, b->madr * 100);
	else if (v->rarity <= 0)
		snprintf(r->gate, sizeof(r->gate), "common: %u other clients poll alike", v->others);
	else if (b->persistence <= 0)
		snprintf(r->gate, sizeof(r->gate), "too short: %.1f h", b->covered_h);
}

/* --------------------------------------------------------------- novelty */

/* Novelty: was this host, or this fingerprint on this host, first seen with
 * the provider after learning?  Weighed by how common the fingerprint is
 * among the provider's hosts and how common the service is in the org.
 * While learning, a host that had no mail traffic at all for the first
 * hour of the run and then appears is new to the run, weighed by how many
 * hosts appeared in the same hour. */
static void eval_new_client(struct score_engine *e, const struct score_event *ev, bool learning,
			    struct score_reason *r)
{
	struct hp_key k;
	struct seen *host_seen, *ja4_seen = NULL, *org_seen;
	uint32_t prov_hosts, ja4_hosts = 0, svc_hosts, org_hosts;
	double prev_ja4, prev_svc, run_weight = 1;
	bool host_new, ja4_new = false, run_new = false;
	uint64_t age_limit = (uint64_t)NOVELTY_AGE_S * NS;

	memset(r, 0, sizeof(*r));
	r->signal = SIG_NEW_CLIENT;
	r->unit = "hosts";
	r->baseline = r->peer = NAN;
	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	host_seen = lru_get(e->novelty, &k);
	org_seen = lru_get(e->hosts, ev->client);
	if (!host_seen || !org_seen)
		return;
	host_new = !learning && host_seen->first_ns >= e->learn_end_ns &&
		   ev->ts_ns - host_seen->first_ns < age_limit;
	if (ev->ja4 && ev->ja4[0]) {
		copy_str(k.ja4, sizeof(k.ja4), ev->ja4);
		ja4_seen = lru_get(e->novelty, &k);
		ja4_new = !learning && ja4_seen && ja4_seen->first_ns >= e->learn_end_ns &&
			  ev->ts_ns - ja4_seen->first_ns < age_limit;
		ja4_hosts = *count_get(e, "j", ev->provider, ev->ja4);
	}
	if (learning && e->run_start_ns &&
	    org_seen->first_ns >= e->run_start_ns + (uint64_t)RUN_NEW_AFTER_S * NS &&
	    ev->ts_ns - org_seen->first_ns < (uint64_t)DAY_S * NS) {
		/* new to the run; the fewer hosts appeared with it, the more it says */
		uint64_t fh = org_seen->first_ns / NS / HOUR_S;
		unsigned slot = (unsigned)(fh % SCORE_DAY_HOURS);
		uint32_t same = e->fs_hour[slot] == fh ? e->fs_count[slot] : 1;
		uint32_t all = (uint32_t)lru_count(e->hosts);
		run_new = true;
		run_weight = 1 - ramp((double)(same > 0 ? same - 1 : 0) / (all ? all : 1), 0.02, 0.1);
	}
	if (!host_new && !ja4_new && !run_new) {
		if (learning)
			snprintf(r->gate, sizeof(r->gate),
				 "learning: novelty is judged against what was learned");
		return;
	}
	prov_hosts = *count_get(e, "p", ev->provider, NULL);
	svc_hosts = *count_get(e, "s", ev->provider, ev->service);
	org_hosts = (uint32_t)lru_count(e->hosts);
	/* other hosts only: this one is new */
	prev_ja4 = ev->ja4 && ev->ja4[0] ?
		   (double)(ja4_hosts > 0 ? ja4_hosts - 1 : 0) / (prov_hosts > 1 ? prov_hosts - 1 : 1) : 0.5;
	prev_svc = (double)(svc_hosts > 0 ? svc_hosts - 1 : 0) / (org_hosts > 1 ? org_hosts - 1 : 1);
	if (prev_ja4 > 1)
		prev_ja4 = 1;
	if (prev_svc > 1)
		prev_svc = 1;
	r->strength = (1 - prev_ja4) * (1 - 0.5 * prev_svc) * run_weight;
	r->value = ja4_hosts > 0 ? ja4_hosts - 1 : 0;
	r->baseline = prov_hosts > 0 ? prov_hosts - 1 : 0;
	r->peer = prev_svc;
	if (host_new || run_new)
		snprintf(r->detail, sizeof(r->detail),
			 "first contact of this host with %s%s; its client %s is used by %u of %u other hosts",
			 ev->provider, run_new ? " (no mail traffic earlier in this run)" : "",
			 ev->ja4 && ev->ja4[0] ? ev->ja4 : "(no TLS fingerprint)",
			 r->value > 0 ? (unsigned)r->value : 0, prov_hosts > 0 ? prov_hosts - 1 : 0);
	else
		snprintf(r->detail, sizeof(r->detail),
			 "new TLS client %s on this host for %s, used by %u of %u other hosts",
			 ev->ja4, ev->provider, r->value > 0 ? (unsigned)r->value : 0,
			 prov_hosts > 0 ? prov_hosts - 1 : 0);
	if (r->strength <= 0)
		snprintf(r->gate, sizeof(r->gate), "common: its client and service are usual here");
}

/* Keep prevalence counts true when LRU tables forget an entry. */
static void on_novelty_evict(const void *key, void *value, void *arg)
{
	struct score_engine *e = arg;
	const struct hp_key *k = key;
	uint32_t *n = k->ja4[0] ? count_get(e, "j", k->provider, k->ja4) :
				  count_get(e, "p", k->provider, NULL);
	if (*n)
		(*n)--;
}

static void on_pair_evict(const void *key, void *value, void *arg)
{
	struct score_engine *e = arg;
	const struct pair_key *k = key;
	uint32_t *n = count_get(e, "s", k->provider, k->service);
	if (*n)
		(*n)--;
}

static void on_stream_evict(const void *key, void *value, void *arg)
{
	struct score_engine *e = arg;
	const struct stream_key *k = key;
	struct stream *s = value;
	if (s->period_bin >= 0)
		stream_set_bin(peer_of(e, k->pk.provider, k->pk.service), s, -1);
}

/* Remember what was seen; entries made before the end of learning are the
 * baseline. */
static void learn_novelty(struct score_engine *e, const struct score_event *ev)
{
	struct hp_key k;
	bool created;
	struct seen *s;

	s = lru_put(e->hosts, ev->client, &created);
	if (created) {
		uint64_t hour = ev->ts_ns / NS / HOUR_S;
		unsigned slot = (unsigned)(hour % SCORE_DAY_HOURS);
		s->first_ns = ev->ts_ns;
		if (e->fs_hour[slot] != hour) {
			e->fs_hour[slot] = hour;
			e->fs_count[slot] = 0;
		}
		e->fs_count[slot]++;
	}
	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	s = lru_put(e->novelty, &k, &created);
	if (created) {
		s->first_ns = ev->ts_ns;
		(*count_get(e, "p", ev->provider, NULL))++;
		(*count_hour(e, ev->provider, ev->ts_ns / NS / HOUR_S, true))++;
	}
	if (ev->ja4 && ev->ja4[0]) {
		copy_str(k.ja4, sizeof(k.ja4), ev->ja4);
		s = lru_put(e->novelty, &k, &created);
		if (created) {
			s->first_ns = ev->ts_ns;
			(*count_get(e, "j", ev->provider, ev->ja4))++;
		}
	}
}

/* ------------------------------------------------------------------ alerts */

/* The evidence counter of an alert kind: an alert whose condition comes
 * back after the suppression window is a new alert only when this moved
 * past the kind's floor (new volume) or changed (a new pattern, a new
 * fingerprint); otherwise it is the same incident seen again. */
static uint64_t evidence_of(const struct pair *p, const struct beacon_view *bv,
			    enum score_signal kind, const struct score_event *ev)
{
	switch (kind) {
	case SIG_BULK_DOWNLOAD:
		return p->cum_down;
	case SIG_BULK_UPLOAD:
		return p->cum_up;
	case SIG_OFF_HOURS:
		return p->cum_down + p->cum_up;
	case SIG_BEACONING:
		return bv->s ? bv->s->regular_since_ns : 0;
	case SIG_NEW_CLIENT:
	default:
		return ev->ja4 ? fnv(ev->ja4, strlen(ev->ja4), 0xcbf29ce484222325ULL) : 1;
	}
}

static bool evidence_is_new(const struct score_config *c, const struct alert_state *st,
			    const char *service, enum score_signal kind, uint64_t now)
{
	/* new volume: at least the floor, and half as much again as was alerted
	 * (a drip that goes on is the same incident) */
	uint64_t more = now - st->evidence;
	if (strcmp(st->service, service ? service : ""))
		return true;
	switch (kind) {
	case SIG_BULK_DOWNLOAD:
		return more >= c->floor_down_short && more >= st->alerted_bytes / 2;
	case SIG_BULK_UPLOAD:
		return more >= c->floor_up_short && more >= st->alerted_bytes / 2;
	case SIG_OFF_HOURS:
		return more >= c->floor_off_hours && more >= st->alerted_bytes / 2;
	default:
		return now != st->evidence;
	}
}

/* Returns the gate that held the alert back, GATE_NONE when it went out. */
static enum score_gate maybe_alert(struct score_engine *e, const struct score_event *ev,
				   const struct pair *p, uint64_t evidence, struct score_alert *a,
				   const char **id, uint32_t *rev)
{
	struct alert_key k;
	struct alert_state *st;
	bool created, same = false, inside = false;
	uint64_t h;

	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	k.kind = a->kind;
	st = lru_put(e->alerts, &k, &created);
	if (!created) {
		/* within the suppression window of the last sighting (late
		 * records, stamped before it, count as inside) the same alert
		 * goes on; after it, old evidence still in a window is the same
		 * alert too, but it does not keep the alert open */
		inside = ev->ts_ns < st->last_ns + (uint64_t)e->cfg.suppress_s * NS;
		same = inside || (ev->ts_ns < st->last_ns + (uint64_t)DAY_S * NS &&
				  !evidence_is_new(&e->cfg, st, ev->service, a->kind, evidence));
	}
	if (same) {
		*id = st->id;
		*rev = st->revision;
		if (a->score < st->last_score + e->cfg.realert_delta) {
			e->st.suppressed++;
			if (!inside)
				return GATE_SUPPRESSED;
			/* the condition persists: keep the window sliding so an
			 * ongoing incident stays one alert, and the volume seen
			 * meanwhile is part of it */
			if (ev->ts_ns > st->last_ns)
				st->last_ns = ev->ts_ns;
			if (a->kind == SIG_BULK_DOWNLOAD || a->kind == SIG_BULK_UPLOAD ||
			    a->kind == SIG_OFF_HOURS)
				st->evidence = evidence;
			return GATE_SUPPRESSED;
		}
		st->revision++;
		e->st.realerts++;
	} else {
		h = fnv(&k, sizeof(k), 0xcbf29ce484222325ULL);
		h = fnv(&ev->ts_ns, sizeof(ev->ts_ns), h);
		st->first_ns = ev->ts_ns;
		st->revision = 0;
		snprintf(st->id, sizeof(st->id), "%016llx", (unsigned long long)h);
		e->st.alerts++;
		e->st.alerts_by_kind[a->kind]++;
		if (a->learning)
			e->st.learning_alerts++;
	}
	if (ev->ts_ns > st->last_ns || created || !same)
		st->last_ns = ev->ts_ns;
	st->last_score = a->score;
	st->evidence = evidence;
	st->alerted_bytes = a->kind == SIG_BULK_UPLOAD ? a->window_toserver :
			    a->kind == SIG_BULK_DOWNLOAD ? a->window_toclient :
			    a->window_toserver + a->window_toclient;
	copy_str(st->service, sizeof(st->service), ev->service);
	copy_str(a->alert_id, sizeof(a->alert_id), st->id);
	a->revision = st->revision;
	*id = st->id;
	*rev = st->revision;
	/* the sessions that began in the alert's window (the newest
	 * SCORE_MAX_CIDS), and always the newest one (a long session that
	 * began earlier may be carrying the volume) */
	for (unsigned i = 0; i < p->cid_n; i++) {
		unsigned idx = (p->cid_head + SCORE_MAX_CIDS - p->cid_n + i) % SCORE_MAX_CIDS;
		if (p->cid_ts[idx] >= a->window_start_ns || i + 1u == p->cid_n)
			a->cids[a->n_cids++] = p->cids[idx];
	}
	if (e->cb)
		e->cb(a, e->arg);
	return GATE_NONE;
}

static void trace(struct score_engine *e, const struct score_event *ev,
		  const struct score_reason *rs, double score, bool learning,
		  enum score_gate gate, enum score_signal kind, const char *id, uint32_t rev)
{
	struct score_trace t;
	memset(&t, 0, sizeof(t));
	t.ts_ns = ev->ts_ns;
	t.host = ev->client;
	t.provider = ev->provider;
	t.service = ev->service;
	if (rs)
		memcpy(t.all, rs, sizeof(t.all));
	t.score = score;
	t.learning = learning;
	t.gate = gate;
	t.kind = kind;
	t.alert_id = id;
	t.revision = rev;
	e->trace_fn(&t, e->trace_arg);
}

static bool tracing(const struct score_engine *e, const struct net_addr *host)
{
	return e->trace_fn && net_addr_cmp(&e->trace_host, host) == 0;
}

static void evaluate(struct score_engine *e, const struct score_event *ev,
		     const struct pair *p, const struct peer *peer, const struct stream *s,
		     uint32_t exempt, bool learning)
{
	struct score_reason rs[SIG_COUNT];
	struct volume_eval vd, vu;
	struct beacon_view bv;
	struct score_alert a;
	double score = 0, best = -1;
	const struct window *w = NULL;
	struct window bw;
	enum score_gate gate = GATE_THRESHOLD;
	const char *id = NULL;
	uint32_t rev = 0;

	eval_volume(e, p, peer, true, ev->ts_ns, learning, &vd);
	eval_volume(e, p, peer, false, ev->ts_ns, learning, &vu);
	volume_reason(&vd, SIG_BULK_DOWNLOAD, (double)e->cfg.ref_floor_per_hour,
		      &rs[SIG_BULK_DOWNLOAD]);
	volume_reason(&vu, SIG_BULK_UPLOAD, (double)e->cfg.ref_floor_per_hour,
		      &rs[SIG_BULK_UPLOAD]);
	eval_beacon(e, s, peer, ev->provider, ev->service, ev->ja4, ev->ts_ns, &bv);
	beacon_reason(&bv, &rs[SIG_BEACONING]);
	eval_off_hours(e, p, peer, ev->client, ev->ts_ns, learning, &rs[SIG_OFF_HOURS]);
	eval_new_client(e, ev, learning, &rs[SIG_NEW_CLIENT]);

	memset(&a, 0, sizeof(a));
	for (int i = 0; i < SIG_COUNT; i++) {
		double pts;
		if (exempt & (1u << i)) {
			rs[i].strength = 0; /* allowlisted for this host and provider */
			snprintf(rs[i].gate, sizeof(rs[i].gate), "allowlist rule");
		}
		pts = e->cfg.weight[i] * rs[i].strength;
		if (rs[i].strength <= 0)
			continue;
		score += pts;
		a.reasons[a.n_reasons++] = rs[i];
		if (pts > best) {
			best = pts;
			a.kind = (enum score_signal)i;
		}
	}
	if (score > 100)
		score = 100;
	if (score < e->cfg.alert_threshold || !a.n_reasons) {
		if (tracing(e, ev->client))
			trace(e, ev, rs, score, learning, GATE_THRESHOLD, a.kind, NULL, 0);
		return;
	}
	/* strongest reason first */
	for (unsigned i = 1; i < a.n_reasons; i++) {
		struct score_reason tmp = a.reasons[i];
		unsigned j = i;
		while (j > 0 && e->cfg.weight[a.reasons[j - 1].signal] * a.reasons[j - 1].strength <
				       e->cfg.weight[tmp.signal] * tmp.strength) {
			a.reasons[j] = a.reasons[j - 1];
			j--;
		}
		a.reasons[j] = tmp;
	}
	a.score = round(score);
	a.severity = score_severity(a.score);
	a.ts_ns = ev->ts_ns;
	a.host = *ev->client;
	a.server = p->server;
	a.server_port = p->port;
	a.provider = ev->provider;
	a.service = ev->service;
	a.app_proto = p->app_proto;
	a.sni = p->sni;
	a.ja4 = p->ja4;
	a.learning = learning;
	/* young baselines: the host-own half of volume and novelty are missing */
	a.confidence = learning ? 0.6 : 1.0;
	if (a.kind == SIG_BULK_DOWNLOAD)
		w = &vd.w;
	else if (a.kind == SIG_BULK_UPLOAD)
		w = &vu.w;
	else {
		uint32_t span = a.kind == SIG_BEACONING ? e->cfg.long_window_s : e->cfg.short_window_s;
		window_sum(p, ev->ts_ns, span, &bw);
		w = &bw;
	}
	a.window_start_ns = w->start_ns;
	a.window_end_ns = w->end_ns;
	a.window_sessions = w->sessions;
	a.window_toserver = w->up;
	a.window_toclient = w->down;
	gate = maybe_alert(e, ev, p, evidence_of(p, &bv, a.kind, ev), &a, &id, &rev);
	if (tracing(e, ev->client))
		trace(e, ev, rs, a.score, learning, gate, a.kind, id, rev);
}

/* ------------------------------------------------------------------- entry */

void score_event(struct score_engine *e, const struct score_event *ev)
{
	struct pair_key pk;
	struct stream_key sk;
	struct pair *p;
	struct peer *peer;
	struct stream *s = NULL;
	bool created, learning;
	uint64_t ts = ev->ts_ns;
	uint32_t exempt = 0;
	unsigned bi;

	e->st.events++;
	if (!ev->provider || !ev->provider[0] || !ev->client)
		return;
	if (!in_nets(e->cfg.internal, e->cfg.n_internal, ev->client)) {
		e->st.not_internal++;
		if (tracing(e, ev->client))
			trace(e, ev, NULL, 0, false, GATE_NOT_INTERNAL, SIG_COUNT, NULL, 0);
		return;
	}
	if (in_nets(e->cfg.allow, e->cfg.n_allow, ev->client)) {
		e->st.allowed++;
		if (tracing(e, ev->client))
			trace(e, ev, NULL, 0, false, GATE_ALLOWLIST, SIG_COUNT, NULL, 0);
		return;
	}
	for (unsigned i = 0; i < e->cfg.n_rules; i++) {
		const struct score_allow_rule *r = &e->cfg.rules[i];
		if (!net_addr_in_prefix(ev->client, &r->net.net, r->net.plen) ||
		    (r->provider[0] && strcmp(r->provider, ev->provider)))
			continue;
		if (!r->signals) {
			e->st.allowed++;
			if (tracing(e, ev->client))
				trace(e, ev, NULL, 0, false, GATE_ALLOWLIST, SIG_COUNT, NULL, 0);
			return;
		}
		exempt |= r->signals;
	}
	if (exempt)
		e->st.exempted++;
	if (!e->learn_end_ns)
		e->learn_end_ns = ts + (uint64_t)e->cfg.learning_s * NS;
	if (!e->run_start_ns)
		e->run_start_ns = ts;
	learning = ts < e->learn_end_ns;

	memset(&pk, 0, sizeof(pk));
	pk.host = *ev->client;
	copy_str(pk.provider, sizeof(pk.provider), ev->provider);
	copy_str(pk.service, sizeof(pk.service), ev->service);
	p = lru_put(e->pairs, &pk, &created);
	if (created) {
		struct seen *hs = lru_get(e->hosts, ev->client);
		p->first_ns = ts;
		p->svc_new = hs && ts > hs->first_ns + (uint64_t)HOUR_S * NS;
		(*count_get(e, "s", ev->provider, ev->service))++;
	}
	peer = peer_of(e, ev->provider, ev->service);

	if (ts > p->last_ns)
		p->last_ns = ts;
	{
		struct seen *hs = lru_get(e->hosts, ev->client);
		/* a host with a baseline: seen before learning ended (once it
		 * has), or for a day */
		p->host_known = hs && ((hs->first_ns < e->learn_end_ns && !learning) ||
				       ts - hs->first_ns > (uint64_t)DAY_S * NS);
	}
	roll_hours(e, p, peer, fnv(ev->client, sizeof(*ev->client), 0xcbf29ce484222325ULL) | 1,
		   ev->provider, ts / NS / HOUR_S);
	roll_buckets(p, ts / NS / SCORE_BUCKET_S);
	bi = (unsigned)(p->cur_bucket % SCORE_MAX_BUCKETS);
	/* a late record lands in the newest bucket: the window is what matters */
	p->down[bi] += ev->delta_toclient;
	p->up[bi] += ev->delta_toserver;
	p->hour_down += ev->delta_toclient;
	p->hour_up += ev->delta_toserver;
	p->cum_down += ev->delta_toclient;
	p->cum_up += ev->delta_toserver;
	if (ev->first && p->nsess[bi] < UINT16_MAX)
		p->nsess[bi]++;
	if (ev->server) {
		p->server = *ev->server;
		p->port = ev->server_port;
	}
	copy_str(p->sni, sizeof(p->sni), ev->sni);
	copy_str(p->ja4, sizeof(p->ja4), ev->ja4);
	copy_str(p->app_proto, sizeof(p->app_proto), ev->app_proto);
	if (ev->first && ev->community_id) {
		copy_str(p->cids[p->cid_head], sizeof(p->cids[0]), ev->community_id);
		p->cid_ts[p->cid_head] = ev->flow_start_ns;
		p->cid_head = (uint8_t)((p->cid_head + 1) % SCORE_MAX_CIDS);
		if (p->cid_n < SCORE_MAX_CIDS)
			p->cid_n++;
	}
	memset(&sk, 0, sizeof(sk));
	sk.pk = pk;
	copy_str(sk.ja4, sizeof(sk.ja4), ev->ja4);
	if (ev->final) {
		s = lru_put(e->streams, &sk, &created);
		if (created) {
			/* a change: the client began polling after the run's first
			 * hour, after learning, or after its host was already busy
			 * with other mail traffic */
			struct seen *hs = lru_get(e->hosts, ev->client);
			s->period_bin = -1;
			s->first_ns = ev->flow_start_ns;
			s->late = ev->flow_start_ns >= e->run_start_ns + (uint64_t)HOUR_S * NS ||
				  (ev->flow_start_ns >= e->learn_end_ns && !learning) ||
				  (hs && ev->flow_start_ns >= hs->first_ns + 300 * NS);
		}
		record_conn(s, ev);
		analyse_stream(e, s, peer, ts, false);
	} else {
		s = lru_get(e->streams, &sk);
	}
	learn_novelty(e, ev);
	evaluate(e, ev, p, peer, s, exempt, learning);
}
/* ------------------------------------------------------------------- state */

#define STATE_VERSION 2          /* 1: before beacon streams and 24 h levels */

static json_t *addr_json(const struct net_addr *a)
{
	char buf[NET_ADDR_STRLEN];
	return json_string(net_addr_format(a, buf, sizeof(buf)));
}

static json_t *floats_json(const float *v, unsigned n, unsigned head, unsigned cap)
{
	json_t *arr = json_array();
	for (unsigned k = 0; k < n; k++)
		json_array_append_new(arr, json_real(v[(head + cap - n + k) % cap]));
	return arr;
}

struct save_ctx {
	json_t *arr;
	int kind;
};

static int save_pair(const void *key, void *value, void *arg)
{
	const struct pair_key *k = key;
	const struct pair *p = value;
	json_t *o = json_object();
	json_object_set_new(o, "host", addr_json(&k->host));
	json_object_set_new(o, "provider", json_string(k->provider));
	json_object_set_new(o, "service", json_string(k->service));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)p->first_ns));
	json_object_set_new(o, "last_ns", json_integer((json_int_t)p->last_ns));
	json_object_set_new(o, "cur_hour", json_integer((json_int_t)p->cur_hour));
	json_object_set_new(o, "hour_down", json_integer((json_int_t)p->hour_down));
	json_object_set_new(o, "hour_up", json_integer((json_int_t)p->hour_up));
	json_object_set_new(o, "hist_down", floats_json(p->hist_down, p->hist_n, p->hist_head, SCORE_HISTORY_HOURS));
	json_object_set_new(o, "hist_up", floats_json(p->hist_up, p->hist_n, p->hist_head, SCORE_HISTORY_HOURS));
	json_object_set_new(o, "day_max_down", json_integer((json_int_t)p->day_max_down));
	json_object_set_new(o, "day_max_up", json_integer((json_int_t)p->day_max_up));
	json_object_set_new(o, "cum_down", json_integer((json_int_t)p->cum_down));
	json_object_set_new(o, "cum_up", json_integer((json_int_t)p->cum_up));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static json_t *u32s_json(const uint32_t *v, unsigned n, unsigned head, unsigned cap)
{
	json_t *arr = json_array();
	for (unsigned k = 0; k < n; k++)
		json_array_append_new(arr, json_integer(v[(head + cap - n + k) % cap]));
	return arr;
}

#define BEACON_FIELDS(X) X(rita) X(ts_score) X(ds_score) X(hist_score) X(madr) X(skew) \
	X(interval) X(covered_h) X(size_med) X(regularity) X(persistence) X(size_factor) X(base)

static json_t *beacon_json(const struct beacon_eval *b)
{
	json_t *o = json_object();
#define X(f) json_object_set_new(o, #f, json_real(b->f));
	BEACON_FIELDS(X)
#undef X
	json_object_set_new(o, "conns", json_integer(b->conns));
	return o;
}

static bool beacon_load(json_t *o, struct beacon_eval *b)
{
	json_t *v;
	if (!json_is_object(o))
		return false;
#define X(f) if (!json_is_number(v = json_object_get(o, #f))) return false; b->f = json_number_value(v);
	BEACON_FIELDS(X)
#undef X
	v = json_object_get(o, "conns");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SCORE_BEACON_MAX)
		return false;
	b->conns = (uint32_t)json_integer_value(v);
	return true;
}

static int save_stream(const void *key, void *value, void *arg)
{
	const struct stream_key *k = key;
	const struct stream *st = value;
	json_t *o = json_object(), *hc = json_array();
	json_object_set_new(o, "host", addr_json(&k->pk.host));
	json_object_set_new(o, "provider", json_string(k->pk.provider));
	json_object_set_new(o, "service", json_string(k->pk.service));
	json_object_set_new(o, "ja4", json_string(k->ja4));
	json_object_set_new(o, "conn_ts", u32s_json(st->conn_ts, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	json_object_set_new(o, "conn_up", u32s_json(st->conn_up, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	json_object_set_new(o, "conn_tot", u32s_json(st->conn_tot, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	for (unsigned h = 0; h < SCORE_DAY_HOURS; h++)
		json_array_append_new(hc, json_integer(st->hour_conns[h]));
	json_object_set_new(o, "hour_conns", hc);
	json_object_set_new(o, "hour_cur", json_integer((json_int_t)st->hour_cur));
	json_object_set_new(o, "regular_since_ns", json_integer((json_int_t)st->regular_since_ns));
	json_object_set_new(o, "since_analysis", json_integer(st->since_analysis));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)st->first_ns));
	json_object_set_new(o, "late", json_boolean(st->late));
	json_object_set_new(o, "analysed_ns", json_integer((json_int_t)st->analysed_ns));
	json_object_set_new(o, "analysis", beacon_json(&st->b));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static int save_peer(const void *key, void *value, void *arg)
{
	const struct peer_key *k = key;
	const struct peer *p = value;
	json_t *o = json_object(), *hosts = json_array();
	json_object_set_new(o, "provider", json_string(k->provider));
	json_object_set_new(o, "service", json_string(k->service));
	for (uint32_t i = 0; i < p->n; i++) {
		json_t *h = json_array();
		char hex[24];
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)p->host[i]);
		json_array_append_new(h, json_string(hex));
		json_array_append_new(h, json_real(p->down[i]));
		json_array_append_new(h, json_real(p->up[i]));
		json_array_append_new(h, json_real(p->day_down[i]));
		json_array_append_new(h, json_real(p->day_up[i]));
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "prov_hosts", json_integer(p->prov_hosts));
	json_object_set_new(o, "recalc_total", json_integer(p->recalc_total));
	json_object_set_new(o, "q_down", json_real(p->q_down));
	json_object_set_new(o, "q_up", json_real(p->q_up));
	json_object_set_new(o, "qn_down", json_real(p->qn_down));
	json_object_set_new(o, "qn_up", json_real(p->qn_up));
	json_object_set_new(o, "q_day_down", json_real(p->q_day_down));
	json_object_set_new(o, "q_day_up", json_real(p->q_day_up));
	json_object_set_new(o, "qn_day_down", json_real(p->qn_day_down));
	json_object_set_new(o, "qn_day_up", json_real(p->qn_day_up));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static int save_seen(const void *key, void *value, void *arg)
{
	const struct hp_key *k = key;
	const struct seen *s = value;
	json_t *a = json_array();
	json_array_append_new(a, addr_json(&k->host));
	json_array_append_new(a, json_string(k->provider));
	json_array_append_new(a, json_string(k->ja4));
	json_array_append_new(a, json_integer((json_int_t)s->first_ns));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static int save_host(const void *key, void *value, void *arg)
{
	const struct seen *s = value;
	json_t *a = json_array();
	json_array_append_new(a, addr_json(key));
	json_array_append_new(a, json_integer((json_int_t)s->first_ns));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static int save_count(const void *key, void *value, void *arg)
{
	const struct count_key *k = key;
	json_t *a = json_array();
	json_array_append_new(a, json_string(k->k));
	json_array_append_new(a, json_integer(*(const uint32_t *)value));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static json_t *save_table(const struct lru *m, int (*fn)(const void *, void *, void *))
{
	struct save_ctx c = { .arr = json_array() };
	lru_foreach(m, fn, &c);
	return c.arr;
}

int score_state_save(const struct score_engine *e, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	json_t *o = json_object();
	FILE *fp;
	int rc = 0;

	json_object_set_new(o, "mailtap_state", json_integer(STATE_VERSION));
	json_object_set_new(o, "learn_end_ns", json_integer((json_int_t)e->learn_end_ns));
	json_object_set_new(o, "pairs", save_table(e->pairs, save_pair));
	json_object_set_new(o, "streams", save_table(e->streams, save_stream));
	json_object_set_new(o, "peers", save_table(e->peers, save_peer));
	json_object_set_new(o, "novelty", save_table(e->novelty, save_seen));
	json_object_set_new(o, "hosts", save_table(e->hosts, save_host));
	json_object_set_new(o, "counts", save_table(e->counts, save_count));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (!fp) {
		rc = -errno;
		snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (json_dumpf(o, fp, JSON_COMPACT) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		rc = -(errno ? errno : EIO);
		snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(-rc));
		fclose(fp);
		unlink(tmp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, path) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot replace '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
out:
	json_decref(o);
	return rc;
}

static int bad(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "'%s' is not a usable mailtap state file: %s", path, what);
	return -EINVAL;
}

static bool get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool get_str(json_t *o, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return false;
	copy_str(dst, len, json_string_value(v));
	return true;
}

/* Fill a u32 ring from a JSON array (oldest first); false on bad input. */
static bool load_u32s(json_t *arr, uint32_t *v, uint32_t cap, uint32_t *n, uint32_t *head)
{
	size_t i;
	json_t *x;
	if (!json_is_array(arr) || json_array_size(arr) > cap)
		return false;
	json_array_foreach(arr, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > UINT32_MAX)
			return false;
		v[i] = (uint32_t)json_integer_value(x);
	}
	*n = (uint32_t)json_array_size(arr);
	*head = *n % cap;
	return true;
}

/* Fill a float ring from a JSON array (oldest first); false on bad input. */
static bool load_floats(json_t *arr, float *v, uint32_t cap, uint32_t *n, uint32_t *head)
{
	size_t i;
	json_t *x;
	if (!json_is_array(arr) || json_array_size(arr) > cap)
		return false;
	json_array_foreach(arr, i, x) {
		if (!json_is_number(x))
			return false;
		v[i] = (float)json_number_value(x);
	}
	*n = (uint32_t)json_array_size(arr);
	*head = *n % cap;
	return true;
}

static int load_into(struct score_engine *e, json_t *root, const char *path, char *err, size_t errlen)
{
	json_t *arr, *x;
	size_t i;
	uint64_t v;

	if (!json_is_object(root) || !get_u64(root, "mailtap_state", &v))
		return bad(err, errlen, path, "no mailtap_state version");
	if (v != STATE_VERSION && v != 1)
		return bad(err, errlen, path, "written by an incompatible version");
	if (!get_u64(root, "learn_end_ns", &e->learn_end_ns))
		return bad(err, errlen, path, "learn_end_ns missing");

	arr = json_object_get(root, "pairs");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "pairs is not an array");
	json_array_foreach(arr, i, x) {
		struct pair_key k;
		struct pair *p;
		const char *h = json_string_value(json_object_get(x, "host"));
		uint32_t n, head, n2, head2;
		memset(&k, 0, sizeof(k));
		if (!h || net_addr_parse(h, &k.host) < 0 ||
		    !get_str(x, "provider", k.provider, sizeof(k.provider)) ||
		    !get_str(x, "service", k.service, sizeof(k.service)))
			return bad(err, errlen, path, "a pair has a bad host, provider or service");
		p = lru_put(e->pairs, &k, NULL);
		if (!get_u64(x, "first_ns", &p->first_ns) || !get_u64(x, "last_ns", &p->last_ns) ||
		    !get_u64(x, "cur_hour", &p->cur_hour) || !get_u64(x, "hour_down", &p->hour_down) ||
		    !get_u64(x, "hour_up", &p->hour_up) ||
		    !load_floats(json_object_get(x, "hist_down"), p->hist_down, SCORE_HISTORY_HOURS, &n, &head) ||
		    !load_floats(json_object_get(x, "hist_up"), p->hist_up, SCORE_HISTORY_HOURS, &n2, &head2) ||
		    n != n2)
			return bad(err, errlen, path, "a pair has bad counters or history");
		p->hist_n = (uint16_t)n;
		p->hist_head = (uint16_t)head;
		/* added in version 2; absent in 1 */
		get_u64(x, "day_max_down", &p->day_max_down);
		get_u64(x, "day_max_up", &p->day_max_up);
		get_u64(x, "cum_down", &p->cum_down);
		get_u64(x, "cum_up", &p->cum_up);
	}
	arr = json_object_get(root, "peers");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "peers is not an array");
	json_array_foreach(arr, i, x) {
		struct peer_key k;
		struct peer *p;
		json_t *hosts, *h;
		size_t j;
		uint64_t n64, r64;
		memset(&k, 0, sizeof(k));
		if (!get_str(x, "provider", k.provider, sizeof(k.provider)) ||
		    !get_str(x, "service", k.service, sizeof(k.service)))
			return bad(err, errlen, path, "a peer entry has a bad provider or service");
		p = lru_put(e->peers, &k, NULL);
		hosts = json_object_get(x, "hosts");
		if (!json_is_array(hosts) || json_array_size(hosts) > PEER_HOSTS ||
		    !get_u64(x, "prov_hosts", &n64) || !get_u64(x, "recalc_total", &r64) ||
		    !json_is_number(json_object_get(x, "q_down")) ||
		    !json_is_number(json_object_get(x, "q_up")))
			return bad(err, errlen, path, "a peer entry has bad host levels");
		json_array_foreach(hosts, j, h) {
			const char *hex = json_string_value(json_array_get(h, 0));
			json_t *dn = json_array_get(h, 1), *up = json_array_get(h, 2);
			char *end;
			if (!hex || !json_is_number(dn) || !json_is_number(up))
				return bad(err, errlen, path, "a peer host entry is malformed");
			p->host[j] = strtoull(hex, &end, 16);
			if (*end)
				return bad(err, errlen, path, "a peer host id is not hex");
			p->down[j] = (float)json_number_value(dn);
			p->up[j] = (float)json_number_value(up);
			if (json_is_number(json_array_get(h, 3)) && json_is_number(json_array_get(h, 4))) {
				p->day_down[j] = (float)json_number_value(json_array_get(h, 3));
				p->day_up[j] = (float)json_number_value(json_array_get(h, 4));
			}
		}
		p->n = (uint32_t)json_array_size(hosts);
		p->prov_hosts = (uint32_t)n64;
		p->recalc_total = (uint32_t)r64;
		p->q_down = json_number_value(json_object_get(x, "q_down"));
		p->q_up = json_number_value(json_object_get(x, "q_up"));
		p->qn_down = json_number_value(json_object_get(x, "qn_down"));
		p->qn_up = json_number_value(json_object_get(x, "qn_up"));
		p->q_day_down = json_number_value(json_object_get(x, "q_day_down"));
		p->q_day_up = json_number_value(json_object_get(x, "q_day_up"));
		p->qn_day_down = json_number_value(json_object_get(x, "qn_day_down"));
		p->qn_day_up = json_number_value(json_object_get(x, "qn_day_up"));
	}
	arr = json_object_get(root, "streams");
	if (arr && !json_is_array(arr))
		return bad(err, errlen, path, "streams is not an array");
	json_array_foreach(arr, i, x) {
		struct stream_key k;
		struct stream *st;
		const char *h = json_string_value(json_object_get(x, "host"));
		json_t *hc = json_object_get(x, "hour_conns"), *jv;
		uint32_t n1, n2, n3, hd;
		size_t j;
		memset(&k, 0, sizeof(k));
		if (!h || net_addr_parse(h, &k.pk.host) < 0 ||
		    !get_str(x, "provider", k.pk.provider, sizeof(k.pk.provider)) ||
		    !get_str(x, "service", k.pk.service, sizeof(k.pk.service)) ||
		    !get_str(x, "ja4", k.ja4, sizeof(k.ja4)))
			return bad(err, errlen, path, "a stream has a bad host, provider, service or ja4");
		st = lru_put(e->streams, &k, NULL);
		memset(st, 0, sizeof(*st));
		st->period_bin = -1;
		if (!load_u32s(json_object_get(x, "conn_ts"), st->conn_ts, SCORE_BEACON_MAX, &n1, &hd) ||
		    !load_u32s(json_object_get(x, "conn_up"), st->conn_up, SCORE_BEACON_MAX, &n2, &hd) ||
		    !load_u32s(json_object_get(x, "conn_tot"), st->conn_tot, SCORE_BEACON_MAX, &n3, &hd) ||
		    n1 != n2 || n1 != n3 || !json_is_array(hc) || json_array_size(hc) != SCORE_DAY_HOURS ||
		    !get_u64(x, "hour_cur", &st->hour_cur) ||
		    !get_u64(x, "regular_since_ns", &st->regular_since_ns))
			return bad(err, errlen, path, "a stream has bad connections");
		json_array_foreach(hc, j, jv) {
			if (!json_is_integer(jv) || json_integer_value(jv) < 0 ||
			    json_integer_value(jv) > UINT16_MAX)
				return bad(err, errlen, path, "a stream has bad hourly counts");
			st->hour_conns[j] = (uint16_t)json_integer_value(jv);
		}
		st->conn_n = (uint16_t)n1;
		st->conn_head = (uint16_t)hd;
		{
			uint64_t sa = 0;
			if (!get_u64(x, "since_analysis", &sa) || sa > UINT16_MAX ||
			    !get_u64(x, "analysed_ns", &st->analysed_ns) ||
			    !beacon_load(json_object_get(x, "analysis"), &st->b))
				return bad(err, errlen, path, "a stream has a bad analysis");
			st->since_analysis = (uint16_t)sa;
			if (!get_u64(x, "first_ns", &st->first_ns) ||
			    !json_is_boolean(json_object_get(x, "late")))
				return bad(err, errlen, path, "a stream has a bad first sighting");
			st->late = json_is_true(json_object_get(x, "late"));
		}
		/* count in its service's period table again, as it was */
		if (st->regular_since_ns && st->b.regularity >= 0.5)
			stream_set_bin(peer_of(e, k.pk.provider, k.pk.service), st,
				       period_bin(st->b.interval));
	}
	arr = json_object_get(root, "novelty");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "novelty is not an array");
	json_array_foreach(arr, i, x) {
		struct hp_key k;
		struct seen *s;
		const char *h = json_string_value(json_array_get(x, 0));
		const char *pr = json_string_value(json_array_get(x, 1));
		const char *j = json_string_value(json_array_get(x, 2));
		json_t *t = json_array_get(x, 3);
		memset(&k, 0, sizeof(k));
		if (!h || !pr || !j || !json_is_integer(t) || json_integer_value(t) < 0 ||
		    net_addr_parse(h, &k.host) < 0 ||
		    strlen(pr) >= sizeof(k.provider) || strlen(j) >= sizeof(k.ja4))
			return bad(err, errlen, path, "a novelty entry is malformed");
		copy_str(k.provider, sizeof(k.provider), pr);
		copy_str(k.ja4, sizeof(k.ja4), j);
		s = lru_put(e->novelty, &k, NULL);
		s->first_ns = (uint64_t)json_integer_value(t);
	}
	arr = json_object_get(root, "hosts");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "hosts is not an array");
	json_array_foreach(arr, i, x) {
		struct net_addr a;
		struct seen *s;
		const char *h = json_string_value(json_array_get(x, 0));
		json_t *t = json_array_get(x, 1);
		if (!h || !json_is_integer(t) || json_integer_value(t) < 0 || net_addr_parse(h, &a) < 0)
			return bad(err, errlen, path, "a host entry is malformed");
		s = lru_put(e->hosts, &a, NULL);
		s->first_ns = (uint64_t)json_integer_value(t);
	}
	arr = json_object_get(root, "counts");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "counts is not an array");
	json_array_foreach(arr, i, x) {
		struct count_key k;
		const char *key = json_string_value(json_array_get(x, 0));
		json_t *n = json_array_get(x, 1);
		memset(&k, 0, sizeof(k));
		if (!key || strlen(key) >= sizeof(k.k) || !json_is_integer(n) ||
		    json_integer_value(n) < 0 || json_integer_value(n) > UINT32_MAX)
			return bad(err, errlen, path, "a count entry is malformed");
		copy_str(k.k, sizeof(k.k), key);
		*(uint32_t *)lru_put(e->counts, &k, NULL) = (uint32_t)json_integer_value(n);
	}
	return 0;
}

int score_state_load(struct score_engine *e, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct score_engine *tmp;
	int rc;

	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) != 0) {
			snprintf(err, errlen, "'%s': %s", path, strerror(errno));
			return -ENOENT;
		}
		snprintf(err, errlen, "'%s' is not a usable mailtap state file: line %d: %s", path,
			 jerr.line, jerr.text);
		return -EINVAL;
	}
	/* load into a scratch engine, so a bad file changes nothing */
	tmp = score_new(&e->cfg, e->seed, NULL, NULL);
	if (!tmp) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = load_into(tmp, root, path, err, errlen);
	json_decref(root);
	if (rc == 0) {
		struct lru *t;
#define SWAP(f) (t = e->f, e->f = tmp->f, tmp->f = t)
		SWAP(pairs);
		SWAP(streams);
		SWAP(peers);
		SWAP(novelty);
		SWAP(counts);
		SWAP(hosts);
#undef SWAP
		e->learn_end_ns = tmp->learn_end_ns;
	}
	score_free(tmp);
	return rc;
}
