/* SPDX-License-Identifier: MIT */
/*
 * score.c -- the scoring engine.  See score.h for the model and
 * docs/detection.md for the maths, the knobs and the blind spots.
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
	uint32_t conn_ts[SCORE_BEACON_MAX], conn_bytes[SCORE_BEACON_MAX];
	uint16_t conn_n, conn_head;
	double beacon_score, beacon_strength, beacon_interval, beacon_rate;
	uint8_t host_known;          /* the host was seen for a day or while learning */
	uint64_t beacon_since_ns;    /* regular since then (0 = not regular) */
	uint8_t beacon_known;        /* regular since learning or for a day */
	struct net_addr server;
	uint16_t port;
	char sni[SCORE_SNI_MAX + 1];
	char ja4[SCORE_JA4_MAX + 1];
	char app_proto[8];
	char cids[SCORE_MAX_CIDS][32];
	uint64_t cid_ts[SCORE_MAX_CIDS];  /* packet time each session was first seen */
	uint8_t cid_n, cid_head;
};

struct peer_key {
	char provider[SCORE_PROVIDER_MAX + 1];
	char service[SCORE_SERVICE_MAX + 1];
};

/* One service's peers: each host's own usual hourly peak (its reference)
 * for the service.  The peer level is the median over every host that
 * uses the provider, hosts that never use this service counting as zero:
 * "what a typical colleague moves through this service in a busy hour". */
struct peer {
	uint64_t host[PEER_HOSTS];   /* host hash; 0 = free */
	float down[PEER_HOSTS], up[PEER_HOSTS];
	uint32_t n, since_recalc, recalc_total;
	uint32_t prov_hosts;         /* hosts using the provider, at the last update */
	double q_down, q_up;
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
	uint64_t first_ns, last_ns;
	double last_score;
	uint32_t revision;
	char id[64];
};

struct score_engine {
	struct score_config cfg;
	uint64_t seed;
	score_alert_fn *cb;
	void *arg;
	struct lru *pairs, *peers, *novelty, *counts, *hosts, *alerts;
	uint64_t learn_end_ns;       /* 0 until the first event */
	struct score_stats st;
	struct { int64_t hour; long gmtoff; } site_tz[SCORE_MAX_SITES]; /* UTC offset cache */
	double scratch[PEER_HOSTS > SCORE_HISTORY_HOURS ? PEER_HOSTS : SCORE_HISTORY_HOURS];
	double ts_buf[SCORE_BEACON_MAX], sz_buf[SCORE_BEACON_MAX];
	double bscratch[SCORE_BEACON_MAX];
};

static void on_novelty_evict(const void *key, void *value, void *arg);
static void on_pair_evict(const void *key, void *value, void *arg);

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
	cfg->ratio_low = 3;
	cfg->ratio_high = 30;
	cfg->ratio_low_long = 2;
	cfg->ratio_high_long = 12;
	cfg->own_quantile = 0.95;
	cfg->beacon_min_conns = 12;
	cfg->beacon_low = 0.6;
	cfg->beacon_high = 0.9;
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

/* ----------------------------------------------------------- lifecycle */

struct score_engine *score_new(const struct score_config *cfg, uint64_t seed,
			       score_alert_fn *cb, void *arg)
{
	struct score_engine *e;

	if (cfg->short_window_s < SCORE_BUCKET_S ||
	    cfg->long_window_s > SCORE_MAX_BUCKETS * SCORE_BUCKET_S ||
	    cfg->short_window_s > cfg->long_window_s || !cfg->max_pairs || !cfg->max_novelty) {
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
	e->peers = lru_new(256, sizeof(struct peer_key), sizeof(struct peer), seed);
	e->novelty = lru_new(cfg->max_novelty, sizeof(struct hp_key), sizeof(struct seen), seed);
	e->counts = lru_new(4096, sizeof(struct count_key), sizeof(uint32_t), seed);
	e->hosts = lru_new(cfg->max_novelty, sizeof(struct net_addr), sizeof(struct seen), seed);
	e->alerts = lru_new(4096, sizeof(struct alert_key), sizeof(struct alert_state), seed);
	if (!e->pairs || !e->peers || !e->novelty || !e->counts || !e->hosts || !e->alerts) {
		score_free(e);
		errno = ENOMEM;
		return NULL;
	}
	lru_set_evict_cb(e->novelty, on_novelty_evict, e);
	lru_set_evict_cb(e->pairs, on_pair_evict, e);
	return e;
}

int score_reconfigure(struct score_engine *e, const struct score_config *cfg,
		      bool *restart_needed)
{
	struct score_config c = *cfg;

	if (c.short_window_s < SCORE_BUCKET_S ||
	    c.long_window_s > SCORE_MAX_BUCKETS * SCORE_BUCKET_S ||
	    c.short_window_s > c.long_window_s)
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
	out->pairs_evicted = lru_evictions(e->pairs);
	out->novelty_evicted = lru_evictions(e->novelty) + lru_evictions(e->hosts);
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

/* ------------------------------------------------------- pair accounting */

/* A high quantile of the pair's hourly history (zero hours included),
 * leaving out the newest @skip hours: the hours being judged must not
 * raise their own bar (a drip would otherwise become its own baseline). */
static double hist_quantile(struct score_engine *e, const struct pair *p, bool down,
			    unsigned skip)
{
	unsigned n = p->hist_n > skip ? p->hist_n - skip : 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (p->hist_head + SCORE_HISTORY_HOURS - p->hist_n + k) % SCORE_HISTORY_HOURS;
		e->scratch[k] = down ? p->hist_down[i] : p->hist_up[i];
	}
	return stat_quantile(e->scratch, n, e->cfg.own_quantile, e->scratch);
}

/* Median of n sorted values preceded by @zeros zero values (type 7). */
static double median_with_zeros(const double *v, uint32_t n, uint32_t zeros)
{
	uint32_t total = n + zeros;
	double pos, frac, a, b;
	uint32_t i;
	if (!total)
		return NAN;
	pos = (total - 1) * 0.5;
	i = (uint32_t)pos;
	frac = pos - i;
	a = i < zeros ? 0 : v[i - zeros];
	b = i + 1 >= total ? a : (i + 1 < zeros ? 0 : v[i + 1 - zeros]);
	return a + (b - a) * frac;
}

/* Record the pair's current reference in its service's peer table and,
 * now and then, recompute the peer level. */
static void peer_update(struct score_engine *e, struct peer *peer, const struct pair *p,
			uint64_t host_hash)
{
	uint32_t i, prov_hosts;
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
	if (++peer->since_recalc < PEER_RECALC && peer->recalc_total >= MIN_PEER_HOURS)
		return;
	peer->since_recalc = 0;
	peer->recalc_total++;
	prov_hosts = peer->prov_hosts;
	for (i = 0; i < peer->n; i++)
		e->scratch[i] = peer->down[i];
	stat_sort(e->scratch, peer->n);
	peer->q_down = median_with_zeros(e->scratch, peer->n,
					 prov_hosts > peer->n ? prov_hosts - peer->n : 0);
	for (i = 0; i < peer->n; i++)
		e->scratch[i] = peer->up[i];
	stat_sort(e->scratch, peer->n);
	peer->q_up = median_with_zeros(e->scratch, peer->n,
				       prov_hosts > peer->n ? prov_hosts - peer->n : 0);
}

/* Roll the pair's hourly accumulator forward to @hour, pushing closed
 * hours into its history and (when active) into the peers' ring. */
static void roll_hours(struct score_engine *e, struct pair *p, struct peer *peer,
		       uint64_t host_hash, uint64_t hour)
{
	unsigned steps = 0;
	if (!p->cur_hour) {
		p->cur_hour = hour;
		return;
	}
	if (hour <= p->cur_hour)
		return; /* a late record counts in the open hour */
	while (p->cur_hour < hour && steps++ < SCORE_HISTORY_HOURS) {
		p->hist_down[p->hist_head] = (float)p->hour_down;
		p->hist_up[p->hist_head] = (float)p->hour_up;
		p->hist_head = (uint16_t)((p->hist_head + 1) % SCORE_HISTORY_HOURS);
		if (p->hist_n < SCORE_HISTORY_HOURS)
			p->hist_n++;
		p->hour_down = p->hour_up = 0;
		p->cur_hour++;
	}
	p->cur_hour = hour; /* a gap longer than the history: start afresh */
	if (peer)
		peer_update(e, peer, p, host_hash);
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
 * history, or NaN while the history is too short to mean anything. */
static double own_ref(struct score_engine *e, const struct pair *p, bool down)
{
	unsigned skip = e->cfg.long_window_s / HOUR_S;
	if (p->hist_n < MIN_HIST_HOURS + skip)
		/* a host we know that never used this service: its usual level
		 * is nothing; a host new to us has no usual level yet */
		return p->host_known ? 0 : NAN;
	return hist_quantile(e, p, down, skip);
}

static double peer_ref(const struct peer *peer, bool down)
{
	if (!peer || !peer->recalc_total || peer->n + (peer->prov_hosts > peer->n ?
						      peer->prov_hosts - peer->n : 0) < MIN_PEER_HOURS)
		return NAN;
	return down ? peer->q_down : peer->q_up;
}

/* ----------------------------------------------------------------- signals */

struct volume_eval {
	double strength, ratio;
	double rate, own, peer;
	uint64_t bytes;
	uint32_t window_s;
	struct window w;
};

static void eval_volume_window(struct score_engine *e, const struct pair *p,
			       const struct peer *peer, bool down, uint64_t ts,
			       uint32_t window_s, uint64_t floor, double lo, double hi,
			       struct volume_eval *out)
{
	const struct score_config *c = &e->cfg;
	double own = own_ref(e, p, down), pr = peer_ref(peer, down);
	double rfloor = (double)c->ref_floor_per_hour, ratio_own, ratio_peer;
	struct window w;

	window_sum(p, ts, window_s, &w);
	memset(out, 0, sizeof(*out));
	out->w = w;
	out->window_s = window_s;
	out->bytes = down ? w.down : w.up;
	out->rate = (double)out->bytes * HOUR_S / window_s;
	out->own = own;
	out->peer = pr;
	if (out->bytes < floor)
		return;
	ratio_own = isnan(own) ? NAN : out->rate / fmax(own, rfloor);
	ratio_peer = isnan(pr) ? NAN : out->rate / fmax(pr, rfloor);
	if (isnan(ratio_own) && isnan(ratio_peer))
		ratio_own = ratio_peer = out->rate / rfloor;
	else if (isnan(ratio_own))
		ratio_own = ratio_peer;
	else if (isnan(ratio_peer))
		ratio_peer = ratio_own;
	/* far more than it usually does AND than its peers do */
	out->strength = ratio_ramp(fmin(ratio_own, ratio_peer), lo, hi);
	out->ratio = fmin(ratio_own, ratio_peer);
}

static void eval_volume(struct score_engine *e, const struct pair *p, const struct peer *peer,
			bool down, uint64_t ts, struct volume_eval *best)
{
	const struct score_config *c = &e->cfg;
	struct volume_eval s, l;
	eval_volume_window(e, p, peer, down, ts, c->short_window_s,
			   down ? c->floor_down_short : c->floor_up_short, c->ratio_low,
			   c->ratio_high, &s);
	/* a rise sustained for hours means more than a burst of the same
	 * ratio: the long window ramps over a lower range */
	eval_volume_window(e, p, peer, down, ts, c->long_window_s,
			   down ? c->floor_down_long : c->floor_up_long, c->ratio_low_long,
			   c->ratio_high_long, &l);
	*best = l.strength > s.strength ? l : s;
}

static void volume_reason(const struct volume_eval *v, enum score_signal sig, double rfloor,
			  struct score_reason *r)
{
	char b[32], own[32], peer[32], win[32], ref[160];
	const char *dir = sig == SIG_BULK_DOWNLOAD ? "down" : "up";

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
		snprintf(ref, sizeof(ref), ", %.0fx this host's usual hourly peak (%s/h)",
			 v->rate / fmax(v->own, rfloor), own);
	} else {
		snprintf(ref, sizeof(ref), ", no history for this host yet");
	}
	if (!isnan(v->peer)) {
		size_t n = strlen(ref);
		fmt_bytes(peer, sizeof(peer), v->peer);
		snprintf(ref + n, sizeof(ref) - n, " and %.0fx its peers' (%s/h)",
			 v->rate / fmax(v->peer, rfloor), peer);
	}
	snprintf(r->detail, sizeof(r->detail), "%s %s in %s%s", b, dir, win, ref);
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

static void eval_off_hours(struct score_engine *e, const struct pair *p,
			   const struct net_addr *host, uint64_t ts, struct score_reason *r)
{
	const struct score_config *c = &e->cfg;
	struct window w;
	struct tm tm;
	double own, rate, v;
	char b[32];
	const char *tz;
	uint8_t from, to;

	memset(r, 0, sizeof(*r));
	r->signal = SIG_OFF_HOURS;
	if (is_work_time(e, host, ts, &tm, &tz, &from, &to))
		return;
	window_sum(p, ts, c->short_window_s, &w);
	v = (double)(w.down + w.up);
	if (v < (double)c->floor_off_hours)
		return;
	own = own_ref(e, p, true);
	if (!isnan(own))
		own += own_ref(e, p, false);
	rate = v * HOUR_S / c->short_window_s;
	r->value = v;
	r->baseline = own;
	r->peer = NAN;
	r->unit = "bytes";
	/* meaningful: above the floor, and well above what the host moves in
	 * its busiest hours (a nightly sync the host always does is not) */
	r->strength = ratio_strength(c, rate / fmax(isnan(own) ? 0 : own,
						     (double)c->ref_floor_per_hour));
	fmt_bytes(b, sizeof(b), v);
	snprintf(r->detail, sizeof(r->detail),
		 "%s moved in the %u min up to %02d:%02d %s, outside working hours (%02u:00-%02u:00)",
		 b, c->short_window_s / 60, tm.tm_hour, tm.tm_min, tz, from, to);
}

static void record_conn(struct pair *p, const struct score_event *ev)
{
	p->conn_ts[p->conn_head] = (uint32_t)(ev->flow_start_ns / NS);
	p->conn_bytes[p->conn_head] = ev->bytes_toserver > UINT32_MAX ? UINT32_MAX :
				      (uint32_t)ev->bytes_toserver;
	p->conn_head = (uint16_t)((p->conn_head + 1) % SCORE_BEACON_MAX);
	if (p->conn_n < SCORE_BEACON_MAX)
		p->conn_n++;
}

/* Incremental RITA v5 beacon score over the connections of the last 24 h
 * (at most SCORE_BEACON_MAX), with the dataset window starting no earlier
 * than the pair's first sighting. */
static void update_beacon(struct score_engine *e, struct pair *p, uint64_t ts_ns)
{
	const struct score_config *c = &e->cfg;
	struct stat_beacon_config bc;
	struct stat_beacon_result res;
	double now = (double)(ts_ns / NS), ds_min, ds_max;
	size_t n = 0;

	size_t last_hour = 0;
	double raw;

	p->beacon_score = p->beacon_strength = p->beacon_interval = p->beacon_rate = 0;
	p->beacon_known = 0;
	for (unsigned k = 0; k < p->conn_n; k++) {
		unsigned i = (p->conn_head + SCORE_BEACON_MAX - p->conn_n + k) % SCORE_BEACON_MAX;
		if (now - p->conn_ts[i] > DAY_S)
			continue;
		e->ts_buf[n] = p->conn_ts[i];
		e->sz_buf[n] = p->conn_bytes[i];
		n++;
		if (now - p->conn_ts[i] <= HOUR_S)
			last_hour++;
	}
	if (n < c->beacon_min_conns) {
		p->beacon_since_ns = 0;
		return;
	}
	stat_sort(e->ts_buf, n);
	ds_max = fmax(now, e->ts_buf[n - 1]);
	ds_min = fmax(ds_max - DAY_S, (double)(p->first_ns / NS));
	if (ds_min > e->ts_buf[0])
		ds_min = e->ts_buf[0];
	if (ds_max - ds_min < 1)
		return;
	stat_beacon_config_default(&bc);
	if (stat_beacon_analyze(e->ts_buf, n, e->sz_buf, n, ds_min, ds_max, &bc, e->bscratch,
				&res) != STAT_OK)
		return;
	p->beacon_score = res.score;
	p->beacon_interval = res.ts.median;
	p->beacon_rate = (double)last_hour;
	raw = ramp(res.score, c->beacon_low, c->beacon_high);
	/* Regular behaviour the pair already had while learning, or for a
	 * day, is its normal (a mail client's sync); it stays in the reasons
	 * but weighs a quarter. */
	if (raw >= 0.5 && !p->beacon_since_ns)
		p->beacon_since_ns = ts_ns;
	else if (raw < 0.2)
		p->beacon_since_ns = 0;
	p->beacon_known = p->beacon_since_ns &&
			  (p->beacon_since_ns < e->learn_end_ns ||
			   ts_ns - p->beacon_since_ns > (uint64_t)DAY_S * NS);
	/* Mail clients keep connections open and sync every few minutes;
	 * automation opens new ones at a high rate.  Below 6 connections an
	 * hour a beacon counts 35 %, rising to full strength at 30 an hour. */
	p->beacon_strength = raw * (0.35 + 0.65 * ramp(p->beacon_rate, 6, 30)) *
			     (p->beacon_known ? 0.25 : 1);
}

static void beacon_reason(const struct pair *p, struct score_reason *r)
{
	memset(r, 0, sizeof(*r));
	r->signal = SIG_BEACONING;
	r->strength = p->beacon_strength;
	r->value = p->beacon_score;
	r->baseline = NAN;
	r->peer = NAN;
	r->unit = "score";
	snprintf(r->detail, sizeof(r->detail),
		 "%.0f connections in the last hour, median interval %.0f s, RITA beacon score %.3f%s",
		 p->beacon_rate, p->beacon_interval, p->beacon_score,
		 p->beacon_known ? " (regular before: its usual behaviour)" : "");
}

/* Novelty: was this host, or this fingerprint on this host, first seen with
 * the provider after learning?  Weighed by how common the fingerprint is
 * among the provider's hosts and how common the service is in the org. */
static void eval_new_client(struct score_engine *e, const struct score_event *ev,
			    struct score_reason *r)
{
	struct hp_key k;
	struct seen *host_seen, *ja4_seen = NULL;
	uint32_t prov_hosts, ja4_hosts = 0, svc_hosts, org_hosts;
	double prev_ja4, prev_svc;
	bool host_new, ja4_new = false;
	uint64_t age_limit = (uint64_t)NOVELTY_AGE_S * NS;

	memset(r, 0, sizeof(*r));
	r->signal = SIG_NEW_CLIENT;
	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	host_seen = lru_get(e->novelty, &k);
	if (!host_seen)
		return;
	host_new = host_seen->first_ns >= e->learn_end_ns &&
		   ev->ts_ns - host_seen->first_ns < age_limit;
	if (ev->ja4 && ev->ja4[0]) {
		copy_str(k.ja4, sizeof(k.ja4), ev->ja4);
		ja4_seen = lru_get(e->novelty, &k);
		ja4_new = ja4_seen && ja4_seen->first_ns >= e->learn_end_ns &&
			  ev->ts_ns - ja4_seen->first_ns < age_limit;
		ja4_hosts = *count_get(e, "j", ev->provider, ev->ja4);
	}
	if (!host_new && !ja4_new)
		return;
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
	r->strength = (1 - prev_ja4) * (1 - 0.5 * prev_svc);
	r->value = ja4_hosts > 0 ? ja4_hosts - 1 : 0;
	r->baseline = prov_hosts > 0 ? prov_hosts - 1 : 0;
	r->peer = prev_svc;
	r->unit = "hosts";
	if (host_new)
		snprintf(r->detail, sizeof(r->detail),
			 "first contact of this host with %s; its client %s is used by %u of %u other hosts",
			 ev->provider, ev->ja4 && ev->ja4[0] ? ev->ja4 : "(no TLS fingerprint)",
			 r->value > 0 ? (unsigned)r->value : 0, prov_hosts > 0 ? prov_hosts - 1 : 0);
	else
		snprintf(r->detail, sizeof(r->detail),
			 "new TLS client %s on this host for %s, used by %u of %u other hosts",
			 ev->ja4, ev->provider, r->value > 0 ? (unsigned)r->value : 0,
			 prov_hosts > 0 ? prov_hosts - 1 : 0);
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

/* Remember what was seen; entries made before the end of learning are the
 * baseline. */
static void learn_novelty(struct score_engine *e, const struct score_event *ev)
{
	struct hp_key k;
	bool created;
	struct seen *s;

	s = lru_put(e->hosts, ev->client, &created);
	if (created)
		s->first_ns = ev->ts_ns;
	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	s = lru_put(e->novelty, &k, &created);
	if (created) {
		s->first_ns = ev->ts_ns;
		(*count_get(e, "p", ev->provider, NULL))++;
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

static void maybe_alert(struct score_engine *e, const struct score_event *ev,
			const struct pair *p, struct score_alert *a)
{
	struct alert_key k;
	struct alert_state *st;
	bool created;
	uint64_t h;

	memset(&k, 0, sizeof(k));
	k.host = *ev->client;
	copy_str(k.provider, sizeof(k.provider), ev->provider);
	k.kind = a->kind;
	st = lru_put(e->alerts, &k, &created);
	/* within the suppression window of the last sighting (late records,
	 * stamped before it, count as inside), the same alert goes on */
	if (!created && ev->ts_ns < st->last_ns + (uint64_t)e->cfg.suppress_s * NS) {
		if (a->score < st->last_score + e->cfg.realert_delta) {
			/* the condition persists: keep the window sliding so an
			 * ongoing incident stays one alert */
			if (ev->ts_ns > st->last_ns)
				st->last_ns = ev->ts_ns;
			e->st.suppressed++;
			return;
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
	}
	if (ev->ts_ns > st->last_ns || created)
		st->last_ns = ev->ts_ns;
	st->last_score = a->score;
	copy_str(a->alert_id, sizeof(a->alert_id), st->id);
	a->revision = st->revision;
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
}

static void evaluate(struct score_engine *e, const struct score_event *ev,
		     const struct pair *p, const struct peer *peer, uint32_t exempt)
{
	struct score_reason rs[SIG_COUNT];
	struct volume_eval vd, vu;
	struct score_alert a;
	double score = 0, best = -1;
	const struct window *w = NULL;
	struct window bw;

	eval_volume(e, p, peer, true, ev->ts_ns, &vd);
	eval_volume(e, p, peer, false, ev->ts_ns, &vu);
	volume_reason(&vd, SIG_BULK_DOWNLOAD, (double)e->cfg.ref_floor_per_hour,
		      &rs[SIG_BULK_DOWNLOAD]);
	volume_reason(&vu, SIG_BULK_UPLOAD, (double)e->cfg.ref_floor_per_hour,
		      &rs[SIG_BULK_UPLOAD]);
	beacon_reason(p, &rs[SIG_BEACONING]);
	eval_off_hours(e, p, ev->client, ev->ts_ns, &rs[SIG_OFF_HOURS]);
	eval_new_client(e, ev, &rs[SIG_NEW_CLIENT]);

	memset(&a, 0, sizeof(a));
	for (int i = 0; i < SIG_COUNT; i++) {
		double pts;
		if (exempt & (1u << i))
			rs[i].strength = 0; /* allowlisted for this host and provider */
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
	if (score < e->cfg.alert_threshold || !a.n_reasons)
		return;
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
	maybe_alert(e, ev, p, &a);
}

/* ------------------------------------------------------------------- entry */

void score_event(struct score_engine *e, const struct score_event *ev)
{
	struct pair_key pk;
	struct peer_key qk;
	struct pair *p;
	struct peer *peer;
	bool created;
	uint64_t ts = ev->ts_ns;
	uint32_t exempt = 0;
	unsigned bi;

	e->st.events++;
	if (!ev->provider || !ev->provider[0] || !ev->client)
		return;
	if (!in_nets(e->cfg.internal, e->cfg.n_internal, ev->client)) {
		e->st.not_internal++;
		return;
	}
	if (in_nets(e->cfg.allow, e->cfg.n_allow, ev->client)) {
		e->st.allowed++;
		return;
	}
	for (unsigned i = 0; i < e->cfg.n_rules; i++) {
		const struct score_allow_rule *r = &e->cfg.rules[i];
		if (!net_addr_in_prefix(ev->client, &r->net.net, r->net.plen) ||
		    (r->provider[0] && strcmp(r->provider, ev->provider)))
			continue;
		if (!r->signals) {
			e->st.allowed++;
			return;
		}
		exempt |= r->signals;
	}
	if (exempt)
		e->st.exempted++;
	if (!e->learn_end_ns)
		e->learn_end_ns = ts + (uint64_t)e->cfg.learning_s * NS;

	memset(&pk, 0, sizeof(pk));
	pk.host = *ev->client;
	copy_str(pk.provider, sizeof(pk.provider), ev->provider);
	copy_str(pk.service, sizeof(pk.service), ev->service);
	p = lru_put(e->pairs, &pk, &created);
	if (created) {
		p->first_ns = ts;
		(*count_get(e, "s", ev->provider, ev->service))++;
	}
	memset(&qk, 0, sizeof(qk));
	copy_str(qk.provider, sizeof(qk.provider), ev->provider);
	copy_str(qk.service, sizeof(qk.service), ev->service);
	peer = lru_put(e->peers, &qk, NULL);

	if (ts > p->last_ns)
		p->last_ns = ts;
	{
		struct seen *hs = lru_get(e->hosts, ev->client);
		p->host_known = hs && (hs->first_ns < e->learn_end_ns ||
				       ts - hs->first_ns > (uint64_t)DAY_S * NS);
	}
	peer->prov_hosts = *count_get(e, "p", ev->provider, NULL);
	roll_hours(e, p, peer, fnv(ev->client, sizeof(*ev->client), 0xcbf29ce484222325ULL) | 1,
		   ts / NS / HOUR_S);
	roll_buckets(p, ts / NS / SCORE_BUCKET_S);
	bi = (unsigned)(p->cur_bucket % SCORE_MAX_BUCKETS);
	/* a late record lands in the newest bucket: the window is what matters */
	p->down[bi] += ev->delta_toclient;
	p->up[bi] += ev->delta_toserver;
	p->hour_down += ev->delta_toclient;
	p->hour_up += ev->delta_toserver;
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
	if (ev->final) {
		record_conn(p, ev);
		update_beacon(e, p, ts);
	}
	learn_novelty(e, ev);
	if (ts < e->learn_end_ns)
		return;
	evaluate(e, ev, p, peer, exempt);
}

/* ------------------------------------------------------------------- state */

#define STATE_VERSION 1

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
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "prov_hosts", json_integer(p->prov_hosts));
	json_object_set_new(o, "recalc_total", json_integer(p->recalc_total));
	json_object_set_new(o, "q_down", json_real(p->q_down));
	json_object_set_new(o, "q_up", json_real(p->q_up));
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
	if (v != STATE_VERSION)
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
		}
		p->n = (uint32_t)json_array_size(hosts);
		p->prov_hosts = (uint32_t)n64;
		p->recalc_total = (uint32_t)r64;
		p->q_down = json_number_value(json_object_get(x, "q_down"));
		p->q_up = json_number_value(json_object_get(x, "q_up"));
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
