/* SPDX-License-Identifier: MIT */
/*
 * score-stats.h -- the numeric core of scoring: robust statistics over double
 * arrays (median, Tukey-hinge quartiles, type-7 quantiles, MAD, Bowley skew),
 * RITA v5 beacon sub-scores reimplemented bit-for-bit from
 * activecm/rita:analysis/beacons.go (v5.1.1) and montanaflynn/stats, the
 * bucketed threat score of activecm/rita:analysis/analysis.go, and a robust
 * z-score.
 *
 * Nothing here allocates, logs or keeps state: callers pass every array and
 * scratch buffer (sizes are stated per function), results depend only on the
 * arguments, and every function is safe to call from any thread on disjoint
 * buffers.  Sorting is an in-place heapsort (insertion sort below 17
 * elements; no qsort(), which may malloc), so the same input always gives the
 * same bits.
 *
 * Conventions shared by every function below:
 *  - "scratch" is a caller-owned array of doubles of the stated length.  It may
 *    be the input array itself (then the input is consumed: reordered and, for
 *    the MAD, overwritten).  Otherwise the input is never modified.  Its
 *    contents on return are unspecified unless documented.
 *  - NaN anywhere in a statistics input makes the result NaN (or false /
 *    STAT_INVALID); NaN is never silently dropped.  Infinities are ordered
 *    normally (a median may be inf; a MAD over infinities may be NaN).
 *  - round3(x) = round(x * 1000) / 1000 with C round(): half away from zero,
 *    as Go's math.Round (not banker's rounding).  ceil3(x) = ceil(x*1000)/1000.
 *    Both are applied exactly where RITA applies them, to the same doubles,
 *    so binary artefacts match RITA's (ceil3(1.1 - 1.0) is 0.101 in Go as in
 *    C, because 1.1 - 1.0 is 0.10000000000000009).
 *
 * References: detection.md section 1.2; activecm/rita analysis/beacons.go,
 * analysis/analysis.go (calculateBucketedScore), config/config.go and
 * default_config.hjson (defaults); montanaflynn/stats quartile.go, median.go,
 * deviation.go.
 */
#ifndef MAILTAP_SCORE_STATS_H
#define MAILTAP_SCORE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Consistency constant turning a MAD into a normal-sigma estimate. */
#define STAT_MAD_SCALE 1.4826

/* RITA's Bowley gate: skew is only computed when Q3 - Q1 >= 10. */
#define STAT_BOWLEY_MIN_IQR_RITA 10.0

/* RITA looks at one 24-hour day: 24 histogram bins (beaconTimeSpan). */
#define STAT_BEACON_HIST_BINS 24
/* Largest bin count accepted (one week of hours); sizes the result struct. */
#define STAT_BEACON_HIST_MAX_BINS 168

/* RITA: pairs with this many connections (one per second for a day) are
 * strobes and are not beacon-analysed (analysis/analysis.go ~l.249). */
#define STAT_BEACON_STROBE_COUNT 86400

/* Outcome of a scoring function.  On anything but STAT_OK the output struct is
 * zeroed (scores 0), so a caller that ignores the result scores nothing. */
enum stat_result {
	STAT_OK = 0,
	STAT_NOT_ENOUGH_DATA, /* RITA would return an error and skip the pair */
	STAT_INVALID,         /* NaN input, unsorted timestamps, bad parameters */
};

/* ---- rounding ---------------------------------------------------------- */

/* round(x * 1000) / 1000, half away from zero (Go math.Round). */
double stat_round3(double x);

/* ceil(x * 1000) / 1000 (Go math.Ceil), used by RITA's duration score. */
double stat_ceil3(double x);

/* ---- robust statistics ------------------------------------------------- */

/* Sorts @v ascending in place.  NaNs (if any) end up last. */
void stat_sort(double *v, size_t n);

/*
 * Median of an ascending array: the middle element for odd n, the mean
 * (a + b) / 2 of the two middle elements for even n (montanaflynn Median).
 * n=0 -> NaN, n=1 -> s[0], n=2 -> (s[0]+s[1])/2.  Does not check order or NaN.
 */
double stat_median_sorted(const double *s, size_t n);

/*
 * Median of @x (any order).  @scratch: n doubles, receives @x sorted.
 * n=0 or any NaN -> NaN.
 */
double stat_median(const double *x, size_t n, double *scratch);

struct stat_quartiles {
	double q1, q2, q3;
};

/*
 * Tukey hinges exactly as montanaflynn/stats Quartile (used by RITA):
 * Q2 = median(s); n even: Q1 = median(s[0, n/2)), Q3 = median(s[n/2, n));
 * n odd: Q1 = median(s[0, (n-1)/2)), Q3 = median(s[(n+1)/2, n)) -- the
 * median element is excluded from both halves.
 * n=2 -> (s0, (s0+s1)/2, s1); n=3 -> (s0, s1, s2).
 * Returns false and sets all three to NaN if n < 2.  @s must be ascending.
 */
bool stat_quartiles_sorted(const double *s, size_t n, struct stat_quartiles *q);

/*
 * As stat_quartiles_sorted() for @x in any order.  @scratch: n doubles,
 * receives @x sorted.  False (quartiles NaN) if n < 2 or any NaN.
 */
bool stat_quartiles(const double *x, size_t n, double *scratch, struct stat_quartiles *q);

/*
 * Quantile p in [0, 1] with linear interpolation between order statistics,
 * Hyndman-Fan type 7 (R's default, numpy's "linear"): h = (n-1)p,
 * result = s[floor h] + (h - floor h) * (s[floor h + 1] - s[floor h]).
 * p=0 -> min, p=1 -> max, p=0.5 -> median.  n=1 -> s[0] for every p.
 * n=0, p outside [0, 1] or NaN -> NaN.  @s must be ascending.
 */
double stat_quantile_sorted(const double *s, size_t n, double p);

/* As stat_quantile_sorted() for @x in any order; @scratch: n doubles, receives
 * @x sorted.  Any NaN in @x -> NaN. */
double stat_quantile(const double *x, size_t n, double p, double *scratch);

/*
 * Median and unscaled median absolute deviation,
 * MAD = median(|x_i - median(x)|) (montanaflynn MedianAbsoluteDeviation).
 * @scratch: n doubles; on return it holds the sorted absolute deviations.
 * Either output pointer may be NULL.  Returns false (outputs NaN) if n = 0 or
 * any NaN.  n=1 -> MAD 0; n=2 -> MAD |x0 - x1| / 2.
 */
bool stat_median_mad(const double *x, size_t n, double *scratch, double *median, double *mad);

/* Unscaled MAD of @x (NaN if n = 0 or any NaN); @scratch as stat_median_mad(). */
double stat_mad(const double *x, size_t n, double *scratch);

/* STAT_MAD_SCALE * stat_mad(): a sigma estimate for normal data. */
double stat_mad_scaled(const double *x, size_t n, double *scratch);

/*
 * Bowley (quartile) skewness (Q1 + Q3 - 2 Q2) / (Q3 - Q1) with RITA's gate
 * (calculateBowleySkewness): the skew is 0 unless Q3 - Q1 >= @min_iqr and
 * Q2 != Q1 and Q2 != Q3.  Pass STAT_BOWLEY_MIN_IQR_RITA (10) for RITA; 0 gives
 * the ungated statistic (still 0 when Q2 equals a hinge).  Result in [-1, 1];
 * NaN quartiles -> NaN.
 */
double stat_bowley_skew(const struct stat_quartiles *q, double min_iqr);

/*
 * Robust z-score (x - median) / max(STAT_MAD_SCALE * mad, mad_floor).
 * @mad is the unscaled MAD; @mad_floor keeps a zero-MAD baseline from turning
 * every deviation into infinity.  Any NaN argument -> NaN.  If the denominator
 * is not > 0 (mad and floor both <= 0): 0 when x == median, else +-INFINITY.
 */
double stat_robust_z(double x, double median, double mad, double mad_floor);

/* ---- RITA v5 beacon scoring -------------------------------------------- */

/* calculateBucketedScore thresholds {base, low, med, high}, ascending. */
struct stat_thresholds {
	double base, low, med, high;
};

/*
 * RITA v5 beacon configuration (default_config.hjson, config/config.go).
 * Fill with stat_beacon_config_default(), then override.  The pair gate is
 * the caller's to apply before scoring (RITA analysis.go ~l.228:
 * ts_unique >= unique_connection_threshold && count < STAT_BEACON_STROBE_COUNT);
 * no function in this file applies it (though >= 4 unique timestamps is the
 * same condition as stat_beacon_ts_score()'s >= 3 non-zero deltas).
 */
struct stat_beacon_config {
	uint32_t unique_connection_threshold;  /* 4 (validation: >= 4) */
	double ts_weight, ds_weight;           /* 0.25, 0.25 */
	double dur_weight, hist_weight;        /* 0.25, 0.25; all four sum to 1 */
	double hist_mode_sensitivity;          /* 0.05: bimodal bucket = 5% of max bar */
	int hist_bimodal_outlier_removal;      /* 1 */
	int hist_bimodal_min_hours_seen;       /* 11; values < 6 act as 11 */
	int dur_min_hours_seen;                /* 6 */
	int dur_consistency_ideal_hours_seen;  /* 12 */
	uint32_t hist_bins;                    /* 24 (hard-coded in RITA) */
	struct stat_thresholds score_thresholds;     /* 50/70/90/100 (score * 100) */
	struct stat_thresholds long_conn_thresholds; /* 3600/14400/28800/43200 s */
};

/* Fill @cfg with RITA v5.1.1's defaults (listed beside each field above). */
void stat_beacon_config_default(struct stat_beacon_config *cfg);

/*
 * True if @cfg is usable: unique_connection_threshold >= 4 (RITA's
 * validation), each weight in [0, 1] and their sum within 1e-9 of 1
 * (RITA requires == 1 exactly; see the .c), sensitivity in (0, 1], outlier
 * removal >= 0, min/ideal hours >= 1, 1 <= hist_bins <=
 * STAT_BEACON_HIST_MAX_BINS, thresholds ascending with base < low < med < high.
 */
bool stat_beacon_config_valid(const struct stat_beacon_config *cfg);

/* One statistical sub-score (timestamp or data size) and its parts. */
struct stat_beacon_stat {
	double score;       /* round3((skew_score + mad_score) / 2), in [0, 1] */
	double skew;        /* gated Bowley skew (STAT_BOWLEY_MIN_IQR_RITA) */
	double skew_score;  /* 1 - |skew| */
	double median;      /* of the scored values */
	double mad;         /* unscaled MAD of the scored values */
	double mad_score;   /* see stat_beacon_mad_score() */
	struct stat_quartiles q;
	uint32_t n;         /* values scored (non-zero deltas, or sizes) */
};

/*
 * RITA calculateMedianAbsoluteDeviation's score: (median - mad) / median when
 * median >= 1, else @default_score; negative or NaN results become 0.
 * RITA passes default 1 for timestamps, 0 for data sizes.
 */
double stat_beacon_mad_score(double median, double mad, double default_score);

/*
 * RITA calculateStatisticalScore over @x (any order): quartiles, gated Bowley
 * skew, MAD, score = round3((1 - |skew| + mad_score) / 2).  @scratch: n
 * doubles.  n < 3 -> STAT_NOT_ENOUGH_DATA (RITA's Bowley needs 3); NaN ->
 * STAT_INVALID.
 */
enum stat_result stat_beacon_statistical_score(const double *x, size_t n, double default_mad_score,
					       double *scratch, struct stat_beacon_stat *out);

/*
 * RITA getTimestampScore.  @ts: connection start times in seconds, ascending
 * (duplicates allowed).  Deltas ts[i+1] - ts[i] are sorted and the zero deltas
 * dropped; the rest are scored with default MAD score 1.  RITA's timestamps
 * are whole seconds (UInt32): pass floor()ed seconds to reproduce its
 * zero-delta dropping.  @scratch: n doubles (the n - 1 deltas are put there).
 * n < 4 or fewer than 3 non-zero deltas (all-equal timestamps) ->
 * STAT_NOT_ENOUGH_DATA; descending pair, NaN or inf -> STAT_INVALID.
 */
enum stat_result stat_beacon_ts_score(const double *ts, size_t n, double *scratch,
				      struct stat_beacon_stat *out);

/*
 * RITA getDataSizeScore.  @bytes: per-connection originator IP bytes (Zeek
 * orig_ip_bytes), any order; scored with default MAD score 0 (so all-zero
 * sizes score 0.5).  @scratch: n doubles.  n < 3 -> STAT_NOT_ENOUGH_DATA;
 * NaN -> STAT_INVALID.
 */
enum stat_result stat_beacon_ds_score(const double *bytes, size_t n, double *scratch,
				      struct stat_beacon_stat *out);

/* Connection histogram over the dataset window and its two scores. */
struct stat_beacon_hist {
	uint32_t n_bins;
	uint32_t freq[STAT_BEACON_HIST_MAX_BINS]; /* [n_bins, max) are zero */
	uint32_t total_bars;  /* non-empty bins */
	uint32_t longest_run; /* consecutive non-empty bins, wrapping, <= n_bins */
	double cv_score;      /* 0 if cv > 1, else round3(1 - cv), population sd */
	double bimodal_score; /* min(round3(top-2 bucket counts / bars'), 1) */
	double score;         /* max(cv_score, bimodal_score) */
};

/*
 * RITA getHistogramScore.  @ts: timestamps (seconds, any order) binned into
 * cfg->hist_bins equal bins with edges e[0] = ds_min, e[i] = ds_min + i*step,
 * e[bins] = ds_max (step = (ds_max - ds_min) / bins).  A timestamp goes to
 * the first bin b with ts < e[b+1], else to the last bin, so values below
 * ds_min count in bin 0 and values >= ds_max in the last bin, as in RITA.
 * n = 0 -> STAT_NOT_ENOUGH_DATA; ds_max <= ds_min, NaN, invalid config ->
 * STAT_INVALID.  Uses cfg hist_bins, hist_mode_sensitivity,
 * hist_bimodal_outlier_removal, hist_bimodal_min_hours_seen.
 */
enum stat_result stat_beacon_hist_score(const double *ts, size_t n, double ds_min, double ds_max,
					const struct stat_beacon_config *cfg,
					struct stat_beacon_hist *out);

/*
 * The scoring half of stat_beacon_hist_score() for a histogram the caller
 * already keeps (e.g. hourly counters): @freq has @n_bins entries (1 ..
 * STAT_BEACON_HIST_MAX_BINS; cfg->hist_bins is ignored).  All-zero @freq ->
 * STAT_NOT_ENOUGH_DATA.
 */
enum stat_result stat_beacon_hist_from_freq(const uint32_t *freq, uint32_t n_bins,
					    const struct stat_beacon_config *cfg,
					    struct stat_beacon_hist *out);

/*
 * RITA calculateCoefficientOfVariationScore over @n counts: cv = population
 * sd / mean; 0 if cv > 1, else round3(1 - cv).  Stored in *@score.
 * n = 0 or all-zero counts -> STAT_NOT_ENOUGH_DATA.
 */
enum stat_result stat_beacon_cv_score(const uint32_t *freq, uint32_t n, double *score);

/* Duration sub-score and its parts (RITA getDurationScore). */
struct stat_beacon_dur {
	double coverage;    /* min(ceil3((last - first) / (ds_max - ds_min)), 1) */
	double consistency; /* min(ceil3(longest_run / ideal_hours), 1) */
	double score;       /* max of the two; all 0 if total_bars < min hours */
};

/*
 * RITA getDurationScore.  @first_ts/@last_ts: the pair's first and last
 * connection; @total_bars/@longest_run from the histogram.  Uses cfg
 * dur_min_hours_seen and dur_consistency_ideal_hours_seen.
 * last_ts <= first_ts -> STAT_NOT_ENOUGH_DATA; ds_max <= ds_min, NaN, hours
 * < 1 -> STAT_INVALID.
 */
enum stat_result stat_beacon_dur_score(double ds_min, double ds_max, double first_ts,
				       double last_ts, uint32_t total_bars, uint32_t longest_run,
				       const struct stat_beacon_config *cfg,
				       struct stat_beacon_dur *out);

/*
 * RITA getBeaconScore: round3(ts*w_ts + ds*w_ds + dur*w_dur + hist*w_hist),
 * summed in that order.  Scores outside [0, 1] (or NaN) or invalid weights ->
 * STAT_INVALID and *@score = 0.
 */
enum stat_result stat_beacon_score(double ts, double ds, double dur, double hist,
				   const struct stat_beacon_config *cfg, double *score);

/*
 * RITA calculateBucketedScore: v < base -> 0; [base, low) -> 0.2 + 0.2 *
 * (v-base)/(low-base); [low, med) -> 0.4 + 0.2 * (v-low)/(med-low);
 * v >= med -> 0.6 + 0.2 * (min(v, high) - med)/(high - med).  Range 0..0.8.
 * RITA evaluates in percent and stores float32; this is the double result
 * (differs from RITA's by < 1e-6).  NaN -> 0.
 */
double stat_bucketed_score(double value, const struct stat_thresholds *t);

/*
 * Beacon threat score: stat_bucketed_score(score * 100, cfg->score_thresholds).
 * @beacon_score is a round3() value; the percent is taken as
 * round(score * 1000) / 10 so thousandths land exactly on the 50/70/90
 * boundaries (RITA's float32 score * 100 does too: checked for all 1001).
 */
double stat_beacon_threat_score(double beacon_score, const struct stat_beacon_config *cfg);

/* RITA GetImpactCategoryFromScore. */
enum stat_impact {
	STAT_IMPACT_NONE_SCORED = 0, /* score <= 0: no category */
	STAT_IMPACT_NONE,            /* (0, 0.2) */
	STAT_IMPACT_LOW,             /* [0.2, 0.4) */
	STAT_IMPACT_MEDIUM,          /* [0.4, 0.6) */
	STAT_IMPACT_HIGH,            /* >= 0.6 */
};

enum stat_impact stat_impact_from_score(double score);

/* Everything RITA's analyzeBeacon computes for one pair. */
struct stat_beacon_result {
	struct stat_beacon_stat ts, ds;
	struct stat_beacon_hist hist;
	struct stat_beacon_dur dur;
	double score;        /* stat_beacon_score() */
	double threat_score; /* stat_beacon_threat_score(score) */
};

/*
 * RITA analyzeBeacon for one pair: timestamp, data-size, histogram and
 * duration sub-scores, the weighted score and its threat bucket.  @ts:
 * ascending start times in seconds (n_ts); @bytes: per-connection sizes
 * (n_bytes, any order); [ds_min, ds_max]: the dataset window (RITA's
 * minTSBeacon/maxTSBeacon, normally the last 24 h).  @scratch: max(n_ts,
 * n_bytes) doubles.  Returns the first failing sub-score's result (RITA skips
 * the pair); *@out is zeroed unless STAT_OK.  Does not apply the
 * unique-connection or strobe gates.
 */
enum stat_result stat_beacon_analyze(const double *ts, size_t n_ts, const double *bytes,
				     size_t n_bytes, double ds_min, double ds_max,
				     const struct stat_beacon_config *cfg, double *scratch,
				     struct stat_beacon_result *out);

#endif
