/* SPDX-License-Identifier: MIT */
/*
 * score-stats.c -- robust statistics and RITA v5 beacon sub-scores.  Formulas: detection.md 1.2, activecm/rita analysis/beacons.go and
 * analysis/analysis.go (v5.1.1), montanaflynn/stats.  The arithmetic follows
 * the Go source operation by operation (same operand order, same rounding
 * calls) so that IEEE doubles give the same bits as RITA.  No allocation: the
 * sort is an in-place heapsort (glibc qsort() may malloc), the histogram's
 * bucket table lives on the stack.
 */
#include "score-stats.h"

#include <math.h>
#include <string.h>

/*
 * Keep a*b + c as two roundings, as Go does on amd64: a fused multiply-add
 * would change the last bit of sums that are then round3()ed.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define STAT_WEIGHT_SUM_EPS 1e-9

/* ---- rounding ---------------------------------------------------------- */

double stat_round3(double x)
{
	return round(x * 1000) / 1000;
}

double stat_ceil3(double x)
{
	return ceil(x * 1000) / 1000;
}

/* ---- sorting ----------------------------------------------------------- */

static bool any_nan(const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(x[i]))
			return true;
	return false;
}

static void insertion_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;

		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static void sift_down(double *v, size_t root, size_t n)
{
	double x = v[root];

	for (;;) {
		size_t child = 2 * root + 1;

		if (child >= n)
			break;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (!(v[child] > x))
			break;
		v[root] = v[child];
		root = child;
	}
	v[root] = x;
}

/* Ascending sort of NaN-free @v: insertion sort when short, else heapsort. */
static void sort_no_nan(double *v, size_t n)
{
	if (n <= 16) {
		insertion_sort(v, n);
		return;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		double t = v[0];

		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

void stat_sort(double *v, size_t n)
{
	size_t m = 0;

	/* move NaNs to the tail (keeping the others' relative order), sort the rest */
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	for (size_t i = m; i < n; i++)
		v[i] = NAN;
	sort_no_nan(v, m);
}

/* Copy @x into @scratch (unless they are the same array) and sort it.  False
 * if @x holds a NaN. */
static bool sorted_copy(const double *x, size_t n, double *scratch)
{
	if (any_nan(x, n))
		return false;
	if (scratch != x)
		memmove(scratch, x, n * sizeof(*x));
	sort_no_nan(scratch, n);
	return true;
}

/* ---- robust statistics ------------------------------------------------- */

double stat_median_sorted(const double *s, size_t n)
{
	if (n == 0)
		return NAN;
	if (n % 2)
		return s[n / 2];
	/* montanaflynn Median: Mean(c[l/2-1 : l/2+1]) = (0 + a + b) / 2 */
	return (s[n / 2 - 1] + s[n / 2]) / 2;
}

double stat_median(const double *x, size_t n, double *scratch)
{
	if (n == 0 || !sorted_copy(x, n, scratch))
		return NAN;
	return stat_median_sorted(scratch, n);
}

bool stat_quartiles_sorted(const double *s, size_t n, struct stat_quartiles *q)
{
	size_t c1, c2;

	if (n < 2) {
		q->q1 = q->q2 = q->q3 = NAN;
		return false;
	}
	/* montanaflynn Quartile: the odd case excludes the median element */
	if (n % 2 == 0) {
		c1 = n / 2;
		c2 = n / 2;
	} else {
		c1 = (n - 1) / 2;
		c2 = c1 + 1;
	}
	q->q1 = stat_median_sorted(s, c1);
	q->q2 = stat_median_sorted(s, n);
	q->q3 = stat_median_sorted(s + c2, n - c2);
	return true;
}

bool stat_quartiles(const double *x, size_t n, double *scratch, struct stat_quartiles *q)
{
	if (n < 2 || !sorted_copy(x, n, scratch)) {
		q->q1 = q->q2 = q->q3 = NAN;
		return false;
	}
	return stat_quartiles_sorted(scratch, n, q);
}

double stat_quantile_sorted(const double *s, size_t n, double p)
{
	double h, fl, a, b;
	size_t lo;

	if (n == 0 || !(p >= 0 && p <= 1))
		return NAN;
	h = (double)(n - 1) * p;
	fl = floor(h);
	lo = (size_t)fl;
	if (lo >= n - 1)
		return s[n - 1];
	a = s[lo];
	b = s[lo + 1];
	if (h == fl || a == b)
		return a;
	return a + (h - fl) * (b - a);
}

double stat_quantile(const double *x, size_t n, double p, double *scratch)
{
	if (n == 0 || !sorted_copy(x, n, scratch))
		return NAN;
	return stat_quantile_sorted(scratch, n, p);
}

bool stat_median_mad(const double *x, size_t n, double *scratch, double *median, double *mad)
{
	double m;

	if (n == 0 || !sorted_copy(x, n, scratch)) {
		if (median)
			*median = NAN;
		if (mad)
			*mad = NAN;
		return false;
	}
	m = stat_median_sorted(scratch, n);
	for (size_t i = 0; i < n; i++)
		scratch[i] = fabs(scratch[i] - m);
	stat_sort(scratch, n); /* inf - inf may have made a NaN: sort it last */
	if (median)
		*median = m;
	if (mad)
		*mad = any_nan(scratch, n) ? NAN : stat_median_sorted(scratch, n);
	return true;
}

double stat_mad(const double *x, size_t n, double *scratch)
{
	double mad;

	stat_median_mad(x, n, scratch, NULL, &mad);
	return mad;
}

double stat_mad_scaled(const double *x, size_t n, double *scratch)
{
	return STAT_MAD_SCALE * stat_mad(x, n, scratch);
}

double stat_bowley_skew(const struct stat_quartiles *q, double min_iqr)
{
	double num, den;

	if (isnan(q->q1) || isnan(q->q2) || isnan(q->q3))
		return NAN;
	/* calculateBowleySkewness: num and den exactly as written there */
	num = q->q1 + q->q3 - 2 * q->q2;
	den = q->q3 - q->q1;
	if (den >= min_iqr && den > 0 && q->q2 != q->q1 && q->q2 != q->q3)
		return num / den;
	return 0;
}

double stat_robust_z(double x, double median, double mad, double mad_floor)
{
	double den;

	if (isnan(x) || isnan(median) || isnan(mad) || isnan(mad_floor))
		return NAN;
	den = STAT_MAD_SCALE * mad;
	if (mad_floor > den)
		den = mad_floor;
	if (!(den > 0)) {
		if (x == median)
			return 0;
		return x > median ? INFINITY : -INFINITY;
	}
	return (x - median) / den;
}

/* ---- RITA v5 beacon scoring -------------------------------------------- */

void stat_beacon_config_default(struct stat_beacon_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->unique_connection_threshold = 4;
	cfg->ts_weight = 0.25;
	cfg->ds_weight = 0.25;
	cfg->dur_weight = 0.25;
	cfg->hist_weight = 0.25;
	cfg->hist_mode_sensitivity = 0.05;
	cfg->hist_bimodal_outlier_removal = 1;
	cfg->hist_bimodal_min_hours_seen = 11;
	cfg->dur_min_hours_seen = 6;
	cfg->dur_consistency_ideal_hours_seen = 12;
	cfg->hist_bins = STAT_BEACON_HIST_BINS;
	cfg->score_thresholds = (struct stat_thresholds){ 50, 70, 90, 100 };
	cfg->long_conn_thresholds = (struct stat_thresholds){ 3600, 14400, 28800, 43200 };
}

static bool weight_ok(double w)
{
	return w >= 0 && w <= 1;
}

/*
 * getBeaconScore demands weightSum == 1 exactly.  0.25 x 4 and the RITA test
 * weights pass that in binary, but 0.7 + 0.1 + 0.1 + 0.1 sums to
 * 0.9999999999999999, so a tolerance is used instead.
 */
static bool weights_ok(const struct stat_beacon_config *cfg)
{
	double sum = 0;

	if (!weight_ok(cfg->ts_weight) || !weight_ok(cfg->ds_weight) ||
	    !weight_ok(cfg->dur_weight) || !weight_ok(cfg->hist_weight))
		return false;
	sum += cfg->ts_weight;
	sum += cfg->ds_weight;
	sum += cfg->dur_weight;
	sum += cfg->hist_weight;
	return fabs(sum - 1) <= STAT_WEIGHT_SUM_EPS;
}

static bool thresholds_ok(const struct stat_thresholds *t)
{
	return isfinite(t->base) && isfinite(t->high) && t->base < t->low && t->low < t->med &&
	       t->med < t->high;
}

static bool hist_cfg_ok(const struct stat_beacon_config *cfg)
{
	return cfg->hist_mode_sensitivity > 0 && cfg->hist_mode_sensitivity <= 1 &&
	       cfg->hist_bimodal_outlier_removal >= 0;
}

bool stat_beacon_config_valid(const struct stat_beacon_config *cfg)
{
	return cfg->unique_connection_threshold >= 4 && weights_ok(cfg) && hist_cfg_ok(cfg) &&
	       cfg->dur_min_hours_seen >= 1 &&
	       cfg->dur_consistency_ideal_hours_seen >= 1 && cfg->hist_bins >= 1 &&
	       cfg->hist_bins <= STAT_BEACON_HIST_MAX_BINS &&
	       thresholds_ok(&cfg->score_thresholds) && thresholds_ok(&cfg->long_conn_thresholds);
}

double stat_beacon_mad_score(double median, double mad, double default_score)
{
	double score = default_score;

	if (median >= 1)
		score = (median - mad) / median;
	if (score < 0 || isnan(score))
		score = 0;
	return score;
}

/* calculateStatisticalScore over @s, already sorted and NaN-free; @s is then
 * overwritten by the absolute deviations. */
static enum stat_result statistical_sorted(double *s, size_t n, double default_mad_score,
					   struct stat_beacon_stat *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 3)
		return STAT_NOT_ENOUGH_DATA;
	stat_quartiles_sorted(s, n, &out->q);
	out->skew = stat_bowley_skew(&out->q, STAT_BOWLEY_MIN_IQR_RITA);
	out->skew_score = 1.0 - fabs(out->skew);
	out->median = stat_median_sorted(s, n);
	for (size_t i = 0; i < n; i++)
		s[i] = fabs(s[i] - out->median);
	stat_sort(s, n);
	if (any_nan(s, n)) { /* infinite inputs */
		memset(out, 0, sizeof(*out));
		return STAT_INVALID;
	}
	out->mad = stat_median_sorted(s, n);
	out->mad_score = stat_beacon_mad_score(out->median, out->mad, default_mad_score);
	out->score = stat_round3((out->skew_score + out->mad_score) / 2.0);
	out->n = (uint32_t)n;
	return STAT_OK;
}

enum stat_result stat_beacon_statistical_score(const double *x, size_t n, double default_mad_score,
					       double *scratch, struct stat_beacon_stat *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 3)
		return any_nan(x, n) ? STAT_INVALID : STAT_NOT_ENOUGH_DATA;
	if (!sorted_copy(x, n, scratch))
		return STAT_INVALID;
	return statistical_sorted(scratch, n, default_mad_score, out);
}

enum stat_result stat_beacon_ts_score(const double *ts, size_t n, double *scratch,
				      struct stat_beacon_stat *out)
{
	size_t m, zeros = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (!isfinite(ts[i]) || (i > 0 && ts[i] < ts[i - 1]))
			return STAT_INVALID;
	if (n < 4)
		return STAT_NOT_ENOUGH_DATA;
	m = n - 1;
	for (size_t i = 0; i < m; i++) {
		scratch[i] = ts[i + 1] - ts[i];
		if (!(scratch[i] > 0))
			zeros++;
	}
	if (m - zeros < 3)
		return STAT_NOT_ENOUGH_DATA;
	/* sorted deltas; the zeros sort first and the suffix after them is scored */
	sort_no_nan(scratch, m);
	return statistical_sorted(scratch + zeros, m - zeros, 1, out);
}

enum stat_result stat_beacon_ds_score(const double *bytes, size_t n, double *scratch,
				      struct stat_beacon_stat *out)
{
	return stat_beacon_statistical_score(bytes, n, 0, scratch, out);
}

enum stat_result stat_beacon_cv_score(const uint32_t *freq, uint32_t n, double *score)
{
	uint64_t total = 0;
	double mean, sd = 0, cv, s;

	*score = 0;
	for (uint32_t i = 0; i < n; i++)
		total += freq[i];
	if (n == 0 || total == 0)
		return STAT_NOT_ENOUGH_DATA;
	/* calculateCoefficientOfVariationScore, same operation order */
	mean = (double)total / (double)n;
	for (uint32_t j = 0; j < n; j++) {
		double d = (double)freq[j] - mean;

		sd += d * d; /* math.Pow(d, 2) is correctly rounded d*d */
	}
	sd = sqrt(sd / (double)n);
	cv = sd / fabs(mean);
	s = cv > 1.0 ? 0.0 : stat_round3(1.0 - cv);
	if (s > 1.0)
		s = 1.0;
	*score = s;
	return STAT_OK;
}

/* getFrequencyCounts' bar count and longest run, with wrap-around. */
static void bars_and_run(const uint32_t *freq, uint32_t nb, uint32_t *bars, uint32_t *run)
{
	uint32_t total = 0, longest = 0, cur = 0;

	for (uint32_t i = 0; i < nb; i++)
		if (freq[i] > 0)
			total++;
	for (uint32_t i = 0; i < 2 * nb; i++) {
		if (freq[i % nb] > 0) {
			cur++;
		} else {
			if (cur > longest)
				longest = cur;
			cur = 0;
		}
	}
	if (cur > longest)
		longest = cur;
	if (longest > nb)
		longest = nb;
	*bars = total;
	*run = longest;
}

/*
 * getFrequencyCounts' buckets + calculateBimodalFitScore.  Each non-empty bar
 * goes to bucket floor(f / binSize) * binSize with binSize = ceil(max *
 * sensitivity); the two largest bucket counts over the bars (less the
 * outliers) give the fit.  Bucket keys are sorted on the stack instead of
 * RITA's map; the top-two pick does not depend on order.
 */
static double bimodal_score(const uint32_t *freq, uint32_t nb, uint32_t total_bars,
			    const struct stat_beacon_config *cfg)
{
	double keys[STAT_BEACON_HIST_MAX_BINS];
	uint32_t largest_count = 0, nk = 0, top1 = 0, top2 = 0;
	int min_hours = cfg->hist_bimodal_min_hours_seen;
	double bin_size, adjusted, fit, score;

	if (min_hours < 6)
		min_hours = 11;
	if (total_bars == 0 || (int64_t)total_bars < min_hours)
		return 0;
	for (uint32_t i = 0; i < nb; i++)
		if (freq[i] > largest_count)
			largest_count = freq[i];
	bin_size = ceil((double)largest_count * cfg->hist_mode_sensitivity);
	for (uint32_t i = 0; i < nb; i++)
		if (freq[i] > 0)
			keys[nk++] = floor((double)freq[i] / bin_size) * bin_size;
	insertion_sort(keys, nk);
	for (uint32_t i = 0; i < nk;) {
		uint32_t j = i;

		while (j < nk && keys[j] == keys[i])
			j++;
		if (j - i > top1) {
			top2 = top1;
			top1 = j - i;
		} else if (j - i > top2) {
			top2 = j - i;
		}
		i = j;
	}
	adjusted = (double)((int64_t)total_bars - cfg->hist_bimodal_outlier_removal);
	if (adjusted < 1)
		adjusted = 1;
	fit = (double)(top1 + top2) / adjusted;
	score = stat_round3(fit);
	return score > 1.0 ? 1.0 : score;
}

enum stat_result stat_beacon_hist_from_freq(const uint32_t *freq, uint32_t n_bins,
					    const struct stat_beacon_config *cfg,
					    struct stat_beacon_hist *out)
{
	enum stat_result rc;

	memset(out, 0, sizeof(*out));
	if (n_bins == 0 || n_bins > STAT_BEACON_HIST_MAX_BINS || !hist_cfg_ok(cfg))
		return STAT_INVALID;
	rc = stat_beacon_cv_score(freq, n_bins, &out->cv_score);
	if (rc != STAT_OK)
		return rc;
	out->n_bins = n_bins;
	memcpy(out->freq, freq, n_bins * sizeof(*freq));
	bars_and_run(freq, n_bins, &out->total_bars, &out->longest_run);
	out->bimodal_score = bimodal_score(freq, n_bins, out->total_bars, cfg);
	out->score = out->cv_score > out->bimodal_score ? out->cv_score : out->bimodal_score;
	return STAT_OK;
}

enum stat_result stat_beacon_hist_score(const double *ts, size_t n, double ds_min, double ds_max,
					const struct stat_beacon_config *cfg,
					struct stat_beacon_hist *out)
{
	double edges[STAT_BEACON_HIST_MAX_BINS + 1];
	uint32_t freq[STAT_BEACON_HIST_MAX_BINS] = { 0 };
	uint32_t nb = cfg->hist_bins;
	double step;

	memset(out, 0, sizeof(*out));
	if (nb == 0 || nb > STAT_BEACON_HIST_MAX_BINS || !hist_cfg_ok(cfg) ||
	    !isfinite(ds_min) || !isfinite(ds_max) || !(ds_max > ds_min) || any_nan(ts, n))
		return STAT_INVALID;
	if (n == 0)
		return STAT_NOT_ENOUGH_DATA;
	/* computeHistogramBins */
	step = (ds_max - ds_min) / (double)nb;
	edges[0] = ds_min;
	for (uint32_t i = 1; i < nb; i++)
		edges[i] = ds_min + ((double)i * step);
	edges[nb] = ds_max;
	/*
	 * createHistogram walks the sorted list, moving to the next bin while
	 * ts >= its upper edge; for sorted input that is "first bin b with
	 * ts < edges[b+1], else the last bin", found here by bisection so the
	 * input may be in any order.
	 */
	for (size_t k = 0; k < n; k++) {
		uint32_t lo = 0, hi = nb - 1; /* answer in [lo, hi] */

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (ts[k] < edges[mid + 1])
				hi = mid;
			else
				lo = mid + 1;
		}
		if (freq[lo] < UINT32_MAX)
			freq[lo]++;
	}
	return stat_beacon_hist_from_freq(freq, nb, cfg, out);
}

enum stat_result stat_beacon_dur_score(double ds_min, double ds_max, double first_ts,
				       double last_ts, uint32_t total_bars, uint32_t longest_run,
				       const struct stat_beacon_config *cfg,
				       struct stat_beacon_dur *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->dur_min_hours_seen < 1 || cfg->dur_consistency_ideal_hours_seen < 1 ||
	    !isfinite(ds_min) || !isfinite(ds_max) || !(ds_max > ds_min) ||
	    !isfinite(first_ts) || !isfinite(last_ts))
		return STAT_INVALID;
	if (!(last_ts > first_ts))
		return STAT_NOT_ENOUGH_DATA;
	if ((int64_t)total_bars < cfg->dur_min_hours_seen)
		return STAT_OK;
	out->coverage = stat_ceil3((last_ts - first_ts) / (ds_max - ds_min));
	if (out->coverage > 1.0)
		out->coverage = 1.0;
	out->consistency = stat_ceil3((double)longest_run /
				      (double)cfg->dur_consistency_ideal_hours_seen);
	if (out->consistency > 1.0)
		out->consistency = 1.0;
	out->score = out->coverage > out->consistency ? out->coverage : out->consistency;
	return STAT_OK;
}

static bool unit_ok(double s)
{
	return s >= 0 && s <= 1;
}

enum stat_result stat_beacon_score(double ts, double ds, double dur, double hist,
				   const struct stat_beacon_config *cfg, double *score)
{
	*score = 0;
	if (!unit_ok(ts) || !unit_ok(ds) || !unit_ok(dur) || !unit_ok(hist) || !weights_ok(cfg))
		return STAT_INVALID;
	*score = round(((ts * cfg->ts_weight) + (ds * cfg->ds_weight) + (dur * cfg->dur_weight) +
			(hist * cfg->hist_weight)) * 1000) / 1000;
	return STAT_OK;
}

double stat_bucketed_score(double value, const struct stat_thresholds *t)
{
	/* category scores in percent, as calculateBucketedScore computes them */
	const double none = 20, low = 40, med = 60, high = 80;
	double score;

	if (isnan(value) || value < t->base)
		return 0;
	if (value < t->low)
		score = none + (value - t->base) / (t->low - t->base) * (low - none);
	else if (value < t->med)
		score = low + (value - t->low) / (t->med - t->low) * (med - low);
	else
		score = med + (fmin(value, t->high) - t->med) / (t->high - t->med) * (high - med);
	return score / 100;
}

double stat_beacon_threat_score(double beacon_score, const struct stat_beacon_config *cfg)
{
	return stat_bucketed_score(round(beacon_score * 1000) / 10, &cfg->score_thresholds);
}

enum stat_impact stat_impact_from_score(double score)
{
	if (score >= 0.6)
		return STAT_IMPACT_HIGH;
	if (score >= 0.4)
		return STAT_IMPACT_MEDIUM;
	if (score >= 0.2)
		return STAT_IMPACT_LOW;
	if (score > 0)
		return STAT_IMPACT_NONE;
	return STAT_IMPACT_NONE_SCORED;
}

enum stat_result stat_beacon_analyze(const double *ts, size_t n_ts, const double *bytes,
				     size_t n_bytes, double ds_min, double ds_max,
				     const struct stat_beacon_config *cfg, double *scratch,
				     struct stat_beacon_result *out)
{
	enum stat_result rc;

	memset(out, 0, sizeof(*out));
	/* analyzeBeacon: dataset window first, then the sub-scores in order */
	if (!isfinite(ds_min) || !isfinite(ds_max) || !(ds_max > ds_min) ||
	    !stat_beacon_config_valid(cfg))
		return STAT_INVALID;
	rc = stat_beacon_ts_score(ts, n_ts, scratch, &out->ts);
	if (rc == STAT_OK)
		rc = stat_beacon_ds_score(bytes, n_bytes, scratch, &out->ds);
	if (rc == STAT_OK)
		rc = stat_beacon_hist_score(ts, n_ts, ds_min, ds_max, cfg, &out->hist);
	if (rc == STAT_OK)
		rc = stat_beacon_dur_score(ds_min, ds_max, ts[0], ts[n_ts - 1],
					   out->hist.total_bars, out->hist.longest_run, cfg,
					   &out->dur);
	if (rc == STAT_OK)
		rc = stat_beacon_score(out->ts.score, out->ds.score, out->dur.score,
				       out->hist.score, cfg, &out->score);
	if (rc != STAT_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->threat_score = stat_beacon_threat_score(out->score, cfg);
	return STAT_OK;
}
