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

#include "score-internal.h"
#include "score-stats.h"
#include "util-lru.h"

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

static void zones_free(struct tz *main_tz, struct tz **sites)
{
	free(main_tz);
	for (unsigned i = 0; i < SCORE_MAX_SITES; i++)
		free(sites[i]);
}

/* Load the zones of @c into fresh tables; 0 or a negative errno. */
static int zones_load(const struct score_config *c, struct tz **main_tz, struct tz **sites)
{
	char err[256];
	*main_tz = calloc(1, sizeof(**main_tz));
	memset(sites, 0, sizeof(*sites) * SCORE_MAX_SITES);
	if (!*main_tz)
		return -ENOMEM;
	if (tz_load(*main_tz, c->tz[0] ? c->tz : "UTC", err, sizeof(err)) < 0)
		goto bad;
	for (unsigned i = 0; i < c->n_sites && i < SCORE_MAX_SITES; i++) {
		sites[i] = calloc(1, sizeof(*sites[i]));
		if (!sites[i]) {
			zones_free(*main_tz, sites);
			return -ENOMEM;
		}
		if (tz_load(sites[i], c->sites[i].tz[0] ? c->sites[i].tz : "UTC", err,
			    sizeof(err)) < 0)
			goto bad;
	}
	return 0;
bad:
	zones_free(*main_tz, sites);
	*main_tz = NULL;
	return -EINVAL; /* the options layer checks zones first and explains */
}

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
	if (zones_load(cfg, &e->tz, e->site_tz) < 0) {
		free(e);
		errno = EINVAL;
		return NULL;
	}
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
	struct tz *main_tz, *sites[SCORE_MAX_SITES];

	if (!config_ok(&c) || zones_load(&c, &main_tz, sites) < 0)
		return -EINVAL;
	zones_free(e->tz, e->site_tz);
	e->tz = main_tz;
	memcpy(e->site_tz, sites, sizeof(sites));
	*restart_needed = c.max_pairs != e->cfg.max_pairs || c.max_novelty != e->cfg.max_novelty;
	c.max_pairs = e->cfg.max_pairs;
	c.max_novelty = e->cfg.max_novelty;
	e->cfg = c;
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
	zones_free(e->tz, e->site_tz);
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

void score_copy_str(char *dst, size_t len, const char *src)
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

struct peer *score_peer_of(struct score_engine *e, const char *provider, const char *service)
{
	struct peer_key qk;
	memset(&qk, 0, sizeof(qk));
	score_copy_str(qk.provider, sizeof(qk.provider), provider);
	score_copy_str(qk.service, sizeof(qk.service), service);
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

/* @own: own_ref() of the direction, computed once for both windows. */
static void eval_volume_window(struct score_engine *e, const struct pair *p,
			       const struct peer *peer, bool down, uint64_t ts, bool learning,
			       double own, uint32_t window_s, uint64_t floor, double lo, double hi,
			       struct volume_eval *out)
{
	const struct score_config *c = &e->cfg;
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
	double own = own_ref(e, p, down);
	eval_volume_window(e, p, peer, down, ts, learning, own, c->short_window_s,
			   down ? c->floor_down_short : c->floor_up_short, c->ratio_low,
			   c->ratio_high, &s);
	/* a rise sustained for hours means more than a burst of the same
	 * ratio: the long window ramps over a lower range */
	eval_volume_window(e, p, peer, down, ts, learning, own, c->long_window_s,
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

/* Local time at a site (or in the config's zone): util-tz tables loaded
 * with the configuration, no process environment involved. */
static void site_localtime(struct score_engine *e, const struct score_site *site, int idx,
			   uint64_t ts_ns, struct tm *tm)
{
	tz_localtime(site ? e->site_tz[idx] : e->tz, (int64_t)(ts_ns / NS), tm);
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

int score_period_bin(double interval_s)
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

void score_stream_set_bin(struct peer *peer, struct stream *s, int bin)
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
		score_stream_set_bin(peer, s, -1);
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
	score_stream_set_bin(peer, s, regular ? score_period_bin(b->interval) : -1);
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
	score_copy_str(k.provider, sizeof(k.provider), ev->provider);
	host_seen = lru_get(e->novelty, &k);
	org_seen = lru_get(e->hosts, ev->client);
	if (!host_seen || !org_seen)
		return;
	host_new = !learning && host_seen->first_ns >= e->learn_end_ns &&
		   ev->ts_ns - host_seen->first_ns < age_limit;
	if (ev->ja4 && ev->ja4[0]) {
		score_copy_str(k.ja4, sizeof(k.ja4), ev->ja4);
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
		score_stream_set_bin(score_peer_of(e, k->pk.provider, k->pk.service), s, -1);
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
	score_copy_str(k.provider, sizeof(k.provider), ev->provider);
	s = lru_put(e->novelty, &k, &created);
	if (created) {
		s->first_ns = ev->ts_ns;
		(*count_get(e, "p", ev->provider, NULL))++;
		(*count_hour(e, ev->provider, ev->ts_ns / NS / HOUR_S, true))++;
	}
	if (ev->ja4 && ev->ja4[0]) {
		score_copy_str(k.ja4, sizeof(k.ja4), ev->ja4);
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
	score_copy_str(k.provider, sizeof(k.provider), ev->provider);
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
	score_copy_str(st->service, sizeof(st->service), ev->service);
	score_copy_str(a->alert_id, sizeof(a->alert_id), st->id);
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

/* The series an alert carries for charts: the pair's buckets over the
 * evidence window (at least 12, at most SCORE_SERIES_MAX, newest last),
 * the references of the volume window judged, per bucket, and a beacon
 * stream's connection starts. */
static void alert_series(const struct pair *p, const struct stream *s,
			 const struct volume_eval *v, struct score_alert *a)
{
	uint64_t span = a->window_end_ns > a->window_start_ns ?
			(a->window_end_ns - a->window_start_ns) / NS : 0;
	uint32_t n = (uint32_t)(span / SCORE_BUCKET_S);
	double per = v->window_s == DAY_S ? (double)DAY_S / SCORE_BUCKET_S :
					    (double)HOUR_S / SCORE_BUCKET_S;

	if (n < 12)
		n = 12;
	if (n > SCORE_SERIES_MAX)
		n = SCORE_SERIES_MAX;
	if (n > p->cur_bucket + 1)
		n = (uint32_t)p->cur_bucket + 1;
	a->series_n = n;
	a->series_start_ns = (p->cur_bucket + 1 - n) * SCORE_BUCKET_S * NS;
	for (uint32_t k = 0; k < n; k++) {
		unsigned i = (unsigned)((p->cur_bucket + 1 - n + k) % SCORE_MAX_BUCKETS);
		a->series_down[k] = p->down[i];
		a->series_up[k] = p->up[i];
	}
	a->series_baseline = isnan(v->own) ? NAN : v->own / per;
	a->series_peer = isnan(v->peer) ? NAN : v->peer / per;
	a->n_conn_starts = 0;
	if (a->kind == SIG_BEACONING && s) {
		for (unsigned k = 0; k < s->conn_n; k++) {
			unsigned i = (s->conn_head + SCORE_BEACON_MAX - s->conn_n + k) % SCORE_BEACON_MAX;
			if ((uint64_t)s->conn_ts[i] * NS + (uint64_t)DAY_S * NS >= a->ts_ns)
				a->conn_starts[a->n_conn_starts++] = s->conn_ts[i];
		}
	}
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
	alert_series(p, s, a.kind == SIG_BULK_UPLOAD ? &vu : &vd, &a);
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
	score_copy_str(pk.provider, sizeof(pk.provider), ev->provider);
	score_copy_str(pk.service, sizeof(pk.service), ev->service);
	p = lru_put(e->pairs, &pk, &created);
	if (created) {
		struct seen *hs = lru_get(e->hosts, ev->client);
		p->first_ns = ts;
		p->svc_new = hs && ts > hs->first_ns + (uint64_t)HOUR_S * NS;
		(*count_get(e, "s", ev->provider, ev->service))++;
	}
	peer = score_peer_of(e, ev->provider, ev->service);

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
	score_copy_str(p->sni, sizeof(p->sni), ev->sni);
	score_copy_str(p->ja4, sizeof(p->ja4), ev->ja4);
	score_copy_str(p->app_proto, sizeof(p->app_proto), ev->app_proto);
	if (ev->first && ev->community_id) {
		score_copy_str(p->cids[p->cid_head], sizeof(p->cids[0]), ev->community_id);
		p->cid_ts[p->cid_head] = ev->flow_start_ns;
		p->cid_head = (uint8_t)((p->cid_head + 1) % SCORE_MAX_CIDS);
		if (p->cid_n < SCORE_MAX_CIDS)
			p->cid_n++;
	}
	memset(&sk, 0, sizeof(sk));
	sk.pk = pk;
	score_copy_str(sk.ja4, sizeof(sk.ja4), ev->ja4);
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
