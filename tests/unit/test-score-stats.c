/* SPDX-License-Identifier: MIT */
/*
 * test-score-stats.c -- unit tests for the scoring statistics: rounding,
 * sort, median, Tukey hinges, type-7 quantiles, MAD, gated Bowley skew,
 * robust z, the ring, and every RITA v5 beacon test vector from detection.md
 * 1.2 and activecm/rita:analysis/beacons_test.go / analysis_test.go
 * (timestamp, data-size, statistical, CV, bimodal, histogram, duration,
 * beacon and bucketed scores), plus the not-enough-data and invalid edges.
 */
#include "score-stats.h"

#include <math.h>

#include "check.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* |a - b| <= eps, or both NaN; prints both values on failure. */
#define CHECK_NEAR(a, b, eps)                                                   \
	do {                                                                    \
		double check_x_ = (a), check_y_ = (b);                          \
		if (!((isnan(check_x_) && isnan(check_y_)) ||                   \
		      (check_x_ == check_y_) ||                                 \
		      fabs(check_x_ - check_y_) <= (eps))) {                    \
			fprintf(stderr, "  %s:%d: %s ~= %s failed: %.17g != %.17g\n", \
				__FILE__, __LINE__, #a, #b, check_x_, check_y_); \
			check_failed_now = 1;                                   \
		}                                                               \
	} while (0)

/* Exact double equality (RITA scores are round3 values: compare bits). */
#define CHECK_EQ_D(a, b) CHECK_NEAR(a, b, 0.0)
#define CHECK_D(a, b) CHECK_NEAR(a, b, 1e-9)

#define T0 1517338924.0 /* the base timestamp of RITA's tests */

static double scratch[10000];

/* ts[0] = start, ts[i+1] = ts[i] + deltas[i]. */
static size_t cumulative(double start, const double *deltas, size_t nd, double *ts)
{
	ts[0] = start;
	for (size_t i = 0; i < nd; i++)
		ts[i + 1] = ts[i] + deltas[i];
	return nd + 1;
}

static struct stat_beacon_config rita_cfg(void)
{
	struct stat_beacon_config c;

	stat_beacon_config_default(&c);
	return c;
}

/* ---- rounding, sort ---------------------------------------------------- */

static void test_score_stats__round3_half_away_from_zero(void)
{
	CHECK_EQ_D(stat_round3(0.0625), 0.063);   /* 62.5 -> 63, not banker's 62 */
	CHECK_EQ_D(stat_round3(-0.0625), -0.063);
	CHECK_EQ_D(stat_round3(0.0635), 0.064);
	CHECK_EQ_D(stat_round3(0.1234), 0.123);
	CHECK_EQ_D(stat_round3(1.0), 1.0);
	CHECK_EQ_D(stat_ceil3(1.0 / 3), 0.334);
	CHECK_EQ_D(stat_ceil3(7.0 / 12), 0.584);
	CHECK_EQ_D(stat_ceil3(0.5), 0.5);
	CHECK_EQ_D(stat_ceil3(1.1 - 1.0), 0.101); /* the binary artefact Go has too */
}

static void test_score_stats__sort(void)
{
	double v[1000];
	double w[] = { 3, NAN, -1, 2, NAN, 0 };
	uint32_t x = 12345;
	bool ok = true;

	for (size_t i = 0; i < N(v); i++) {
		x = x * 1103515245u + 12345u;
		v[i] = (double)(x >> 8) - 8e6;
	}
	stat_sort(v, N(v));
	for (size_t i = 1; i < N(v); i++)
		if (v[i - 1] > v[i])
			ok = false;
	CHECK(ok);

	stat_sort(w, N(w));
	CHECK_EQ_D(w[0], -1);
	CHECK_EQ_D(w[1], 0);
	CHECK_EQ_D(w[2], 2);
	CHECK_EQ_D(w[3], 3);
	CHECK(isnan(w[4]) && isnan(w[5]));
	stat_sort(w, 0);
}

/* ---- median, quartiles, quantiles --------------------------------------- */

static void test_score_stats__median(void)
{
	double odd[] = { 5, 1, 4, 2, 3 };
	double even[] = { 4, 1, 3, 2 };
	double one[] = { 7 };
	double two[] = { 9, 1 };
	double withnan[] = { 1, NAN, 3 };
	double big[10000];

	CHECK(isnan(stat_median(odd, 0, scratch)));
	CHECK(isnan(stat_median_sorted(odd, 0)));
	CHECK_EQ_D(stat_median(one, 1, scratch), 7);
	CHECK_EQ_D(stat_median(two, 2, scratch), 5);
	CHECK_EQ_D(stat_median(odd, N(odd), scratch), 3);
	CHECK_EQ_D(stat_median(even, N(even), scratch), 2.5);
	CHECK(isnan(stat_median(withnan, N(withnan), scratch)));
	/* input untouched, scratch sorted */
	CHECK_EQ_D(odd[0], 5);
	CHECK_EQ_D(scratch[0], 1);
	CHECK_EQ_D(scratch[4], 5);
	/* scratch may be the input: then it is sorted in place */
	CHECK_EQ_D(stat_median(odd, N(odd), odd), 3);
	CHECK_EQ_D(odd[0], 1);
	/* heapsort path: a permutation of 0..9999 */
	for (size_t i = 0; i < N(big); i++)
		big[i] = (double)((i * 7919) % N(big));
	CHECK_EQ_D(stat_median(big, N(big), scratch), 4999.5);
}

static void test_score_stats__quartiles_tukey_hinges(void)
{
	static const struct {
		double x[16];
		size_t n;
		double q1, q2, q3;
	} tv[] = {
		{ { 1, 2 }, 2, 1, 1.5, 2 },
		{ { 3, 1, 2 }, 3, 1, 2, 3 },
		{ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 3, 5.5, 8 },
		{ { 98, 99, 99, 100, 100, 100, 101, 101, 102 }, 9, 99, 100, 101 },
		{ { 1, 299, 25, 4975, 90, 2, 42, 500, 1500 }, 9, 13.5, 90, 1000 },
		{ { 524885, 1, 5000, 98654, 50, 41, 965842, 3 }, 8, 22, 2525, 311769.5 },
		{ { 7, 8, 7, 8, 7, 8, 7, 8, 7 }, 9, 7, 7, 8 },
		{ { 1, 1, 2, 2, 2, 2 }, 6, 1, 2, 2 },
		{ { 98, 300, 98, 300, 98, 300, 98, 300, 98, 300 }, 10, 98, 199, 300 },
	};
	struct stat_quartiles q;
	double one[] = { 1 }, withnan[] = { 1, 2, NAN };

	for (size_t i = 0; i < N(tv); i++) {
		CHECK(stat_quartiles(tv[i].x, tv[i].n, scratch, &q));
		CHECK_EQ_D(q.q1, tv[i].q1);
		CHECK_EQ_D(q.q2, tv[i].q2);
		CHECK_EQ_D(q.q3, tv[i].q3);
	}
	CHECK(!stat_quartiles(one, 1, scratch, &q));
	CHECK(isnan(q.q1) && isnan(q.q2) && isnan(q.q3));
	CHECK(!stat_quartiles(one, 0, scratch, &q));
	CHECK(!stat_quartiles(withnan, 3, scratch, &q));
	CHECK(isnan(q.q2));
}

static void test_score_stats__quantile_type7(void)
{
	double a[] = { 4, 1, 3, 2 };
	double b[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	double one[] = { 42 };
	double withnan[] = { 1, NAN };

	/* numpy.quantile(..., method="linear") values */
	CHECK_D(stat_quantile(a, 4, 0.25, scratch), 1.75);
	CHECK_D(stat_quantile(a, 4, 0.75, scratch), 3.25);
	CHECK_D(stat_quantile(a, 4, 0.0, scratch), 1);
	CHECK_D(stat_quantile(a, 4, 1.0, scratch), 4);
	CHECK_D(stat_quantile(b, 10, 0.9, scratch), 9.1);
	CHECK_D(stat_quantile(b, 10, 0.1, scratch), 1.9);
	CHECK_D(stat_quantile(b, 10, 0.5, scratch), stat_median(b, 10, scratch));
	CHECK_D(stat_quantile(one, 1, 0.3, scratch), 42);
	CHECK(isnan(stat_quantile(a, 0, 0.5, scratch)));
	CHECK(isnan(stat_quantile(a, 4, -0.01, scratch)));
	CHECK(isnan(stat_quantile(a, 4, 1.01, scratch)));
	CHECK(isnan(stat_quantile(a, 4, NAN, scratch)));
	CHECK(isnan(stat_quantile(withnan, 2, 0.5, scratch)));
	CHECK_EQ_D(a[0], 4); /* input not modified */
}

/* ---- MAD, Bowley, robust z --------------------------------------------- */

static void test_score_stats__mad(void)
{
	static const struct {
		double x[16];
		size_t n;
		double median, mad, score; /* score: RITA MAD score, default 1 */
	} tv[] = {
		/* activecm/rita TestCalculateMedianAbsoluteDeviation */
		{ { 1, 2, 2, 3, 3, 3, 4, 5, 5 }, 9, 3, 1, 0.6667 },
		{ { 11, 12, 12, 14, 15, 16 }, 6, 13, 1.5, 0.8846 },
		{ { 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500 }, 10, 3250, 1250, 0.6154 },
		{ { 4000, 2500, 2000, 1500, 5500, 3500, 1000, 4500, 5000, 3000 }, 10, 3250, 1250, 0.6154 },
		/* detection.md 1.2 vectors */
		{ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 5.5, 2.5, 0.5455 },
		{ { 524885, 1, 5000, 98654, 50, 41, 965842, 3 }, 8, 2525, 2523, 0.0008 },
		{ { 1, 299, 25, 4975, 90, 2, 42, 500, 1500 }, 9, 90, 89, 0.0111 },
	};
	double m, mad;
	double one[] = { 3 }, two[] = { 1, 4 }, withnan[] = { 1, NAN, 2 };

	for (size_t i = 0; i < N(tv); i++) {
		CHECK(stat_median_mad(tv[i].x, tv[i].n, scratch, &m, &mad));
		CHECK_EQ_D(m, tv[i].median);
		CHECK_EQ_D(mad, tv[i].mad);
		CHECK_EQ_D(stat_mad(tv[i].x, tv[i].n, scratch), tv[i].mad);
		CHECK_D(stat_mad_scaled(tv[i].x, tv[i].n, scratch), 1.4826 * tv[i].mad);
		CHECK_NEAR(stat_beacon_mad_score(m, mad, 1), tv[i].score, 0.0001);
	}
	CHECK(!stat_median_mad(one, 0, scratch, &m, &mad));
	CHECK(isnan(m) && isnan(mad));
	CHECK(isnan(stat_mad(one, 0, scratch)));
	CHECK_EQ_D(stat_mad(one, 1, scratch), 0);
	CHECK_EQ_D(stat_mad(two, 2, scratch), 1.5);
	CHECK(isnan(stat_mad(withnan, 3, scratch)));
	CHECK(stat_median_mad(two, 2, scratch, NULL, NULL));

	/* MAD score edges: median < 1 -> default; negative -> 0 */
	CHECK_EQ_D(stat_beacon_mad_score(0, 0, 1), 1);
	CHECK_EQ_D(stat_beacon_mad_score(0.5, 0, 0), 0);
	CHECK_EQ_D(stat_beacon_mad_score(-5.5, 2.5, 0), 0);
	CHECK_EQ_D(stat_beacon_mad_score(2, 3, 1), 0);
	CHECK_EQ_D(stat_beacon_mad_score(100, 1, 1), 0.99);
}

static void test_score_stats__bowley_skew_gate(void)
{
	static const struct {
		double x[16];
		size_t n;
		double skew;
	} tv[] = {
		/* activecm/rita TestCalculateBowleySkewness */
		{ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 0 },
		{ { 60, 60, 60, 60, 60, 60, 60, 60, 60 }, 9, 0 },
		{ { 98, 99, 99, 100, 100, 100, 101, 101, 102 }, 9, 0 },  /* IQR 2 < 10 */
		{ { 1, 2, 25, 42, 90, 299, 500, 1500, 4975 }, 9, 833.5 / 986.5 },
		{ { 1, 299, 25, 4975, 90, 2, 42, 500, 1500 }, 9, 833.5 / 986.5 },
		{ { 524885, 1, 5000, 98654, 50, 41, 965842, 3 }, 8, 306741.5 / 311747.5 },
		{ { 7, 8, 7, 8, 7, 8, 7, 8, 7 }, 9, 0 },                 /* Q1 == Q2 */
		{ { 1, 1, 2, 2, 2, 2 }, 6, 0 },                          /* Q2 == Q3 */
		{ { 7.7, 6.6, 4.4, 1.1, 5.5, 3.3, 2.2 }, 7, 0 },
	};
	struct stat_quartiles q;
	double small[] = { 1, 2, 3, 10 };
	struct stat_quartiles qnan = { NAN, 1, 2 };

	for (size_t i = 0; i < N(tv); i++) {
		stat_quartiles(tv[i].x, tv[i].n, scratch, &q);
		CHECK_D(stat_bowley_skew(&q, STAT_BOWLEY_MIN_IQR_RITA), tv[i].skew);
	}
	CHECK_NEAR(833.5 / 986.5, 0.845, 0.001);
	CHECK_NEAR(306741.5 / 311747.5, 0.984, 0.001);
	/* Q = (1.5, 2.5, 6.5): IQR 5 is gated by RITA, not by min_iqr 0 */
	stat_quartiles(small, 4, scratch, &q);
	CHECK_EQ_D(stat_bowley_skew(&q, STAT_BOWLEY_MIN_IQR_RITA), 0);
	CHECK_D(stat_bowley_skew(&q, 0), 0.6);
	CHECK(isnan(stat_bowley_skew(&qnan, 10)));
}

static void test_score_stats__robust_z(void)
{
	CHECK_D(stat_robust_z(10, 5, 2, 0.5), 5 / (1.4826 * 2));
	CHECK_D(stat_robust_z(0, 5, 2, 0.5), -5 / (1.4826 * 2));
	CHECK_D(stat_robust_z(10, 5, 0, 1), 5);       /* floor used */
	CHECK_D(stat_robust_z(10, 5, 0.1, 1), 5);     /* 0.148 < floor */
	CHECK_EQ_D(stat_robust_z(5, 5, 0, 0), 0);
	CHECK(stat_robust_z(6, 5, 0, 0) == INFINITY);
	CHECK(stat_robust_z(4, 5, 0, 0) == -INFINITY);
	CHECK(isnan(stat_robust_z(NAN, 5, 1, 1)));
	CHECK(isnan(stat_robust_z(1, NAN, 1, 1)));
	CHECK(isnan(stat_robust_z(1, 5, NAN, 1)));
	CHECK(isnan(stat_robust_z(1, 5, 1, NAN)));
}

/* ---- RITA timestamp / data-size / statistical scores -------------------- */

static void test_score_stats__ts_score_vectors(void)
{
	double ts[64], d[32];
	struct stat_beacon_stat s;
	size_t n;

	/* closely-valued intervals: skew 0, MAD 1, 0.995 */
	double close[] = { 98, 99, 99, 100, 100, 100, 101, 101, 102 };
	n = cumulative(T0, close, N(close), ts);
	CHECK_EQ_D(ts[9], 1517339824);
	CHECK_EQ_U(stat_beacon_ts_score(ts, n, scratch, &s), STAT_OK);
	CHECK_EQ_D(s.score, 0.995);
	CHECK_EQ_D(s.skew, 0);
	CHECK_EQ_D(s.mad, 1);
	CHECK_EQ_U(s.n, 9);

	/* bi-modal intervals 98/300 x5 each (11 timestamps): Q (98,199,300), MAD 101, 0.746 */
	for (int i = 0; i < 10; i++)
		d[i] = i % 2 ? 300 : 98;
	n = cumulative(T0, d, 10, ts);
	CHECK_EQ_U(n, 11);
	CHECK_EQ_D(ts[10], 1517340914);
	CHECK_EQ_U(stat_beacon_ts_score(ts, n, scratch, &s), STAT_OK);
	CHECK_EQ_D(s.q.q1, 98);
	CHECK_EQ_D(s.q.q2, 199);
	CHECK_EQ_D(s.q.q3, 300);
	CHECK_EQ_D(s.skew, 0);
	CHECK_EQ_D(s.mad, 101);
	CHECK_EQ_D(s.score, 0.746);

	/* random intervals: Q (13.5,90,1000), skew 0.845, MAD 89, 0.083 */
	double rnd[] = { 1, 299, 25, 4975, 90, 2, 42, 500, 1500 };
	n = cumulative(T0, rnd, N(rnd), ts);
	CHECK_EQ_D(ts[9], 1517346358);
	CHECK_EQ_U(stat_beacon_ts_score(ts, n, scratch, &s), STAT_OK);
	CHECK_EQ_D(s.q.q1, 13.5);
	CHECK_EQ_D(s.q.q2, 90);
	CHECK_EQ_D(s.q.q3, 1000);
	CHECK_NEAR(s.skew, 0.845, 0.001);
	CHECK_EQ_D(s.mad, 89);
	CHECK_EQ_D(s.score, 0.083);

	/* 1..10 and every 60 s: 1.0 */
	for (int i = 0; i < 10; i++)
		ts[i] = i + 1;
	CHECK_EQ_U(stat_beacon_ts_score(ts, 10, scratch, &s), STAT_OK);
	CHECK_EQ_D(s.score, 1.0);
	for (int i = 0; i < 10; i++)
		ts[i] = T0 + 60 * i;
	CHECK_EQ_U(stat_beacon_ts_score(ts, 10, scratch, &s), STAT_OK);
	CHECK_EQ_D(s.score, 1.0);
	CHECK_EQ_D(s.median, 60);
	CHECK_EQ_D(ts[1], T0 + 60); /* input not modified */
}

static void test_score_stats__ts_score_edges(void)
{
	double ts[16];
	struct stat_beacon_stat s;

	/* fewer than 4 timestamps: not enough data, output zeroed */
	ts[0] = T0;
	ts[1] = T0 + 1;
	ts[2] = T0 + 2;
	s.score = 9;
	CHECK_EQ_U(stat_beacon_ts_score(ts, 2, scratch, &s), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_D(s.score, 0);
	CHECK_EQ_U(stat_beacon_ts_score(ts, 3, scratch, &s), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_ts_score(ts, 0, scratch, &s), STAT_NOT_ENOUGH_DATA);
	/* all-equal timestamps: zero non-zero deltas */
	for (int i = 0; i < 9; i++)
		ts[i] = 60;
	CHECK_EQ_U(stat_beacon_ts_score(ts, 9, scratch, &s), STAT_NOT_ENOUGH_DATA);
	/* only 2 non-zero deltas */
	double two[] = { 0, 0, 0, 0, 10, 20 };
	CHECK_EQ_U(stat_beacon_ts_score(two, N(two), scratch, &s), STAT_NOT_ENOUGH_DATA);
	/* duplicates dropped: deltas 0,0,10,10,10 -> {10,10,10} scores 1 */
	double dup[] = { 0, 0, 0, 10, 20, 30 };
	CHECK_EQ_U(stat_beacon_ts_score(dup, N(dup), scratch, &s), STAT_OK);
	CHECK_EQ_U(s.n, 3);
	CHECK_EQ_D(s.score, 1);
	/* descending or NaN: invalid */
	double desc[] = { 0, 10, 5, 20, 30 };
	CHECK_EQ_U(stat_beacon_ts_score(desc, N(desc), scratch, &s), STAT_INVALID);
	double nan[] = { 0, 10, NAN, 20, 30 };
	CHECK_EQ_U(stat_beacon_ts_score(nan, N(nan), scratch, &s), STAT_INVALID);
	double inf[] = { 0, 10, 20, 30, INFINITY };
	CHECK_EQ_U(stat_beacon_ts_score(inf, N(inf), scratch, &s), STAT_INVALID);
}

static void test_score_stats__ds_score_vectors(void)
{
	struct stat_beacon_stat s;
	double seq[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	double close[] = { 98, 99, 99, 100, 100, 100, 101, 101, 102 };
	double rnd[] = { 524885, 1, 5000, 98654, 50, 41, 965842, 3 };
	double zeros[10] = { 0 };
	double same[] = { 60, 60, 60, 60, 60, 60, 60, 60, 60 };
	double two[] = { 100, 200 };
	double nan[] = { 1, 2, NAN, 4 };

	CHECK_EQ_U(stat_beacon_ds_score(seq, N(seq), scratch, &s), STAT_OK);
	CHECK_EQ_D(s.q.q1, 3);
	CHECK_EQ_D(s.q.q2, 5.5);
	CHECK_EQ_D(s.q.q3, 8);
	CHECK_EQ_D(s.mad, 2.5);
	CHECK_EQ_D(s.score, 0.773);

	CHECK_EQ_U(stat_beacon_ds_score(close, N(close), scratch, &s), STAT_OK);
	CHECK_EQ_D(s.score, 0.995);

	CHECK_EQ_U(stat_beacon_ds_score(rnd, N(rnd), scratch, &s), STAT_OK);
	CHECK_NEAR(s.skew, 0.984, 0.001);
	CHECK_EQ_D(s.mad, 2523);
	CHECK_EQ_D(s.score, 0.008);
	CHECK_EQ_D(rnd[0], 524885); /* input not modified */

	/* all zeros: skew score 1, MAD score default 0 -> 0.5 */
	CHECK_EQ_U(stat_beacon_ds_score(zeros, N(zeros), scratch, &s), STAT_OK);
	CHECK_EQ_D(s.skew_score, 1);
	CHECK_EQ_D(s.mad_score, 0);
	CHECK_EQ_D(s.score, 0.5);

	CHECK_EQ_U(stat_beacon_ds_score(same, N(same), scratch, &s), STAT_OK);
	CHECK_EQ_D(s.score, 1);

	CHECK_EQ_U(stat_beacon_ds_score(two, 2, scratch, &s), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_ds_score(two, 0, scratch, &s), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_ds_score(nan, N(nan), scratch, &s), STAT_INVALID);
}

static void test_score_stats__statistical_score_vectors(void)
{
	/* activecm/rita TestCalculateStatisticalScore */
	static const struct {
		double x[16];
		size_t n;
		double def, score;
	} tv[] = {
		{ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 0, 0.773 },
		{ { 60, 60, 60, 60, 60, 60, 60, 60, 60 }, 9, 0, 1 },
		{ { 98, 99, 99, 100, 100, 100, 101, 101, 102 }, 9, 0, 0.995 },
		{ { 1, 299, 25, 4975, 90, 2, 42, 500, 1500 }, 9, 1, 0.083 },
		/* RITA expects 0.009 +- 0.001 here; the exact value is 0.008 */
		{ { 524885, 1, 5000, 98654, 50, 41, 965842, 3 }, 8, 0, 0.008 },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10, 0, 0.5 },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10, 1, 1 },
		{ { -1, -2, -3, -4, -5, -6, -7, -8, -9, -10 }, 10, 0, 0.5 },
		{ { 7, 8, 7, 8, 7, 8, 7, 8, 7 }, 9, 1, 1 },
		{ { 1, 1, 2, 2, 2, 2 }, 6, 1, 1 },
	};
	struct stat_beacon_stat s;

	for (size_t i = 0; i < N(tv); i++) {
		CHECK_EQ_U(stat_beacon_statistical_score(tv[i].x, tv[i].n, tv[i].def, scratch, &s),
			   STAT_OK);
		CHECK_EQ_D(s.score, tv[i].score);
	}
	CHECK_EQ_U(stat_beacon_statistical_score(tv[0].x, 0, 0, scratch, &s), STAT_NOT_ENOUGH_DATA);
}

/* ---- RITA histogram, CV, bimodal ---------------------------------------- */

static void test_score_stats__cv_score_vectors(void)
{
	uint32_t uniform[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	uint32_t normal[] = { 950, 970, 990, 1010, 1030, 1050, 1070 };
	uint32_t close[] = { 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009 };
	uint32_t wide[] = { 1, 5, 10, 50, 100, 500, 1000, 5000, 10000 };
	uint32_t zeros[] = { 0, 0, 0, 0, 0 };
	double s;

	CHECK_EQ_U(stat_beacon_cv_score(uniform, N(uniform), &s), STAT_OK);
	CHECK_EQ_D(s, 1);
	CHECK_EQ_U(stat_beacon_cv_score(normal, N(normal), &s), STAT_OK);
	CHECK_EQ_D(s, 0.96);
	CHECK_EQ_U(stat_beacon_cv_score(close, N(close), &s), STAT_OK);
	CHECK_EQ_D(s, 0.997); /* RITA: 0.9971406 +- 0.001 (1 - cv, before round3) */
	CHECK_EQ_U(stat_beacon_cv_score(wide, N(wide), &s), STAT_OK);
	CHECK_EQ_D(s, 0);
	CHECK_EQ_U(stat_beacon_cv_score(zeros, N(zeros), &s), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_cv_score(zeros, 0, &s), STAT_NOT_ENOUGH_DATA);
}

/* Fill @f with @cnt[i] bars of height @h[i]; returns the bar count. */
static uint32_t bars(uint32_t *f, const uint32_t *h, const uint32_t *cnt, size_t k)
{
	uint32_t n = 0;

	for (size_t i = 0; i < k; i++)
		for (uint32_t j = 0; j < cnt[i]; j++)
			f[n++] = h[i];
	return n;
}

static void test_score_stats__bimodal_score_vectors(void)
{
	/* activecm/rita TestCalculateBimodalFitScore, as histograms whose bars
	 * produce those frequency maps (max bar <= 19 so buckets = heights) */
	static const struct {
		uint32_t h[5], cnt[5];
		size_t k;
		int min_hours;
		double score;
	} tv[] = {
		{ { 1 }, { 10 }, 1, 10, 1 },                                    /* perfect single */
		{ { 1, 2 }, { 10, 10 }, 2, 10, 1 },                             /* perfect bimodal */
		{ { 1, 2, 3 }, { 10, 10, 1 }, 3, 10, 1 },                       /* + outlier */
		{ { 1, 2, 3, 4 }, { 50, 30, 1, 2 }, 4, 10, 0.976 },             /* 80/82 */
		{ { 1, 2, 3, 4, 5 }, { 50, 30, 1, 2, 1 }, 5, 10, 0.964 },       /* 80/83 */
		{ { 1, 2 }, { 2, 3 }, 2, 11, 0 },                               /* 5 bars < 11 */
		{ { 1, 2 }, { 1, 1 }, 2, 2, 0 },                                /* min 2 -> 11 */
	};
	struct stat_beacon_config c = rita_cfg();
	struct stat_beacon_hist h;
	uint32_t f[STAT_BEACON_HIST_MAX_BINS];

	for (size_t i = 0; i < N(tv); i++) {
		uint32_t n = bars(f, tv[i].h, tv[i].cnt, tv[i].k);

		c.hist_bimodal_min_hours_seen = tv[i].min_hours;
		CHECK_EQ_U(stat_beacon_hist_from_freq(f, n, &c, &h), STAT_OK);
		CHECK_EQ_U(h.total_bars, n);
		CHECK_EQ_D(h.bimodal_score, tv[i].score);
	}

	/* createHistogram "Bimodal - High/Low Sensitivity": 20 bars */
	uint32_t f20[] = { 9, 10, 11, 10, 11, 9, 10, 11, 10, 9, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2 };
	c = rita_cfg();
	c.hist_mode_sensitivity = 0.3; /* buckets {0: 10, 8: 10} -> 20/19 -> 1 */
	CHECK_EQ_U(stat_beacon_hist_from_freq(f20, 20, &c, &h), STAT_OK);
	CHECK_EQ_D(h.bimodal_score, 1);
	CHECK_EQ_U(h.longest_run, 20);
	c.hist_mode_sensitivity = 0.05; /* {9:3, 10:4, 11:3, 2:5, 3:5} -> 10/19 */
	CHECK_EQ_U(stat_beacon_hist_from_freq(f20, 20, &c, &h), STAT_OK);
	CHECK_EQ_D(h.bimodal_score, 0.526);

	/* getFrequencyCounts "Flat Histogram with Closely-Valued Bars": bucket
	 * size ceil(902 * 0.05) = 46, all 8 bars in bucket 874 */
	uint32_t f8[] = { 900, 901, 899, 900, 899, 902, 900, 901 };
	c.hist_bimodal_min_hours_seen = 6;
	CHECK_EQ_U(stat_beacon_hist_from_freq(f8, 8, &c, &h), STAT_OK);
	CHECK_EQ_D(h.bimodal_score, 1); /* 8 / 7 capped */
	/* "Bimodal ... Closely-Valued Bars", sensitivity 0.1: {93: 3, 279: 3} */
	uint32_t f6[] = { 100, 105, 100, 300, 305, 300 };
	c.hist_mode_sensitivity = 0.1;
	CHECK_EQ_U(stat_beacon_hist_from_freq(f6, 6, &c, &h), STAT_OK);
	CHECK_EQ_D(h.bimodal_score, 1); /* 6 / 5 capped */
	/* "Multimodal", sensitivity 0.1: four buckets of 3 -> (3+3)/11 */
	uint32_t f12[] = { 100, 105, 100, 300, 305, 300, 500, 505, 500, 700, 705, 700 };
	CHECK_EQ_U(stat_beacon_hist_from_freq(f12, 12, &c, &h), STAT_OK);
	CHECK_EQ_D(h.bimodal_score, 0.545);
}

static void test_score_stats__bars_and_longest_run(void)
{
	/* activecm/rita TestGetFrequencyCounts */
	static const struct {
		uint32_t f[24];
		uint32_t n, bars, run;
	} tv[] = {
		{ { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 }, 10, 10, 10 },
		{ { 2, 0, 2, 0, 2, 0, 2, 0, 2, 0 }, 10, 5, 1 },
		{ { 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 0 }, 16, 9, 5 },
		{ { 2, 0, 3, 0, 1 }, 5, 3, 2 },            /* wrap: bins 4,0 */
		{ { 1, 1, 0, 0, 1, 1, 1 }, 7, 5, 5 },      /* wrap: 4,5,6,0,1 */
		{ { 10 }, 1, 1, 1 },
	};
	struct stat_beacon_config c = rita_cfg();
	struct stat_beacon_hist h;

	for (size_t i = 0; i < N(tv); i++) {
		CHECK_EQ_U(stat_beacon_hist_from_freq(tv[i].f, tv[i].n, &c, &h), STAT_OK);
		CHECK_EQ_U(h.total_bars, tv[i].bars);
		CHECK_EQ_U(h.longest_run, tv[i].run);
	}
	CHECK_EQ_U(stat_beacon_hist_from_freq(tv[0].f, 0, &c, &h), STAT_INVALID);
	CHECK_EQ_U(stat_beacon_hist_from_freq(tv[0].f, STAT_BEACON_HIST_MAX_BINS + 1, &c, &h),
		   STAT_INVALID);
}

static void test_score_stats__hist_score_vectors(void)
{
	struct stat_beacon_config c = rita_cfg();
	struct stat_beacon_hist h;
	double ts[128];
	size_t n = 0;

	/* "Simple Number List": k copies of k, window [1, 11], 10 bins, min 6 */
	for (int k = 1; k <= 10; k++)
		for (int j = 0; j < k; j++)
			ts[n++] = k;
	c.hist_bins = 10;
	c.hist_bimodal_min_hours_seen = 6;
	CHECK_EQ_U(stat_beacon_hist_score(ts, n, 1, 11, &c, &h), STAT_OK);
	for (uint32_t b = 0; b < 10; b++)
		CHECK_EQ_U(h.freq[b], b + 1);
	CHECK_EQ_U(h.total_bars, 10);
	CHECK_EQ_U(h.longest_run, 10);
	CHECK_EQ_D(h.cv_score, 0.478);
	CHECK_EQ_D(h.bimodal_score, 0.222); /* 2 / 9 */
	CHECK_EQ_D(h.score, 0.478);

	/* "Regular Intervals": one per hour for 24 h, 24 bins, min 11 -> 1 */
	c = rita_cfg();
	for (int i = 0; i < 24; i++)
		ts[i] = T0 + i * 3600;
	CHECK_EQ_U(stat_beacon_hist_score(ts, 24, T0, T0 + 86400, &c, &h), STAT_OK);
	CHECK_EQ_U(h.n_bins, 24);
	CHECK_EQ_U(h.total_bars, 24);
	CHECK_EQ_U(h.longest_run, 24);
	CHECK_EQ_D(h.score, 1);

	/* "Closely-Valued Timestamps": [98, 102], 8 bins; last ts on the last edge */
	double close[] = { 98, 99, 99, 100, 100, 100, 101, 101, 102 };
	static const uint32_t close_h[] = { 1, 0, 2, 0, 3, 0, 2, 1 };
	c.hist_bins = 8;
	c.hist_bimodal_min_hours_seen = 6;
	CHECK_EQ_U(stat_beacon_hist_score(close, N(close), 98, 102, &c, &h), STAT_OK);
	for (uint32_t b = 0; b < 8; b++)
		CHECK_EQ_U(h.freq[b], close_h[b]);
	CHECK_EQ_U(h.total_bars, 5);
	CHECK_EQ_U(h.longest_run, 3);
	CHECK_EQ_D(h.score, 0.064);

	/* "Random Intervals, CV > 1" (unsorted input): [0, 1e6], 10 bins -> 0 */
	double rnd[] = { 524885, 1, 5000, 98654, 50, 41, 965842, 3, 12001, 200400, 104001, 199999 };
	static const uint32_t rnd_h[] = { 7, 2, 1, 0, 0, 1, 0, 0, 0, 1 };
	c.hist_bins = 10;
	CHECK_EQ_U(stat_beacon_hist_score(rnd, N(rnd), 0, 1000000, &c, &h), STAT_OK);
	for (uint32_t b = 0; b < 10; b++)
		CHECK_EQ_U(h.freq[b], rnd_h[b]);
	CHECK_EQ_U(h.total_bars, 5);
	CHECK_EQ_U(h.longest_run, 4);
	CHECK_EQ_D(h.score, 0);

	/* "Bimodal Histogram": [0, 100], 10 bins: cv 0.4, bimodal 1 */
	double bi[] = { 1, 2, 3, 4, 15, 21, 22, 23, 24, 35, 41, 42, 43, 44, 55, 61, 62, 63,
			64, 75, 81, 82, 83, 84, 95 };
	CHECK_EQ_U(stat_beacon_hist_score(bi, N(bi), 0, 100, &c, &h), STAT_OK);
	CHECK_EQ_U(h.freq[0], 4);
	CHECK_EQ_U(h.freq[1], 1);
	CHECK_EQ_U(h.total_bars, 10);
	CHECK_EQ_D(h.cv_score, 0.4);
	CHECK_EQ_D(h.bimodal_score, 1);
	CHECK_EQ_D(h.score, 1);

	/* "Gaps and a Wraparound Timestamp Run": [0, 250], 5 bins -> 0.028 */
	double gaps[] = { 10, 20, 100, 110, 110, 220 };
	c.hist_bins = 5;
	CHECK_EQ_U(stat_beacon_hist_score(gaps, N(gaps), 0, 250, &c, &h), STAT_OK);
	CHECK_EQ_U(h.freq[0], 2);
	CHECK_EQ_U(h.freq[2], 3);
	CHECK_EQ_U(h.freq[4], 1);
	CHECK_EQ_U(h.total_bars, 3);
	CHECK_EQ_U(h.longest_run, 2);
	CHECK_EQ_D(h.score, 0.028);

	/* "Single Bar Histogram": 10 conns in the first hour -> 0; also with
	 * min hours 1, which RITA forces back to 11 */
	c = rita_cfg();
	for (int i = 0; i < 10; i++)
		ts[i] = T0 + 60 * i;
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, T0, T0 + 86400, &c, &h), STAT_OK);
	CHECK_EQ_U(h.freq[0], 10);
	CHECK_EQ_U(h.total_bars, 1);
	CHECK_EQ_U(h.longest_run, 1);
	CHECK_EQ_D(h.score, 0);
	c.hist_bimodal_min_hours_seen = 1;
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, T0, T0 + 86400, &c, &h), STAT_OK);
	CHECK_EQ_D(h.score, 0);

	/* outside the window: below -> bin 0, above -> last bin */
	double out[] = { -5, 50, 500 };
	c = rita_cfg();
	c.hist_bins = 10;
	CHECK_EQ_U(stat_beacon_hist_score(out, N(out), 0, 100, &c, &h), STAT_OK);
	CHECK_EQ_U(h.freq[0], 1);
	CHECK_EQ_U(h.freq[5], 1);
	CHECK_EQ_U(h.freq[9], 1);

	/* errors */
	c = rita_cfg();
	CHECK_EQ_U(stat_beacon_hist_score(ts, 0, 0, 10, &c, &h), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, 1, 0, &c, &h), STAT_INVALID);
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, 1, 1, &c, &h), STAT_INVALID);
	double nan[] = { 1, NAN };
	CHECK_EQ_U(stat_beacon_hist_score(nan, 2, 0, 10, &c, &h), STAT_INVALID);
	c.hist_mode_sensitivity = 0;
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, T0, T0 + 86400, &c, &h), STAT_INVALID);
	c = rita_cfg();
	c.hist_bins = 0;
	CHECK_EQ_U(stat_beacon_hist_score(ts, 10, T0, T0 + 86400, &c, &h), STAT_INVALID);
}

/* ---- RITA duration, beacon, bucketed ------------------------------------ */

static void test_score_stats__dur_score_vectors(void)
{
	/* activecm/rita TestGetDurationScore (24 h dataset, min 6, ideal 12) */
	static const struct {
		double first_h, last_h;
		uint32_t bars, run;
		double coverage, consistency, score;
	} tv[] = {
		{ 0, 24, 24, 24, 1, 1, 1 },
		{ 0, 24, 6, 0, 1, 0, 1 },
		{ 12, 24, 6, 0, 0.5, 0, 0.5 }, /* detection.md: coverage 0.5 -> 0.5 */
		{ 0, 12, 6, 0, 0.5, 0, 0.5 },
		{ 6, 24, 6, 0, 0.75, 0, 0.75 },
		{ 12, 24, 12, 12, 0.5, 1, 1 },
		{ 12, 18, 6, 6, 0.25, 0.5, 0.5 },
		{ 6, 18, 12, 6, 0.5, 0.5, 0.5 },
		{ 6, 18, 3, 1, 0, 0, 0 }, /* bars < min hours */
		{ 0, 1, 6, 7, 0.042, 0.584, 0.584 }, /* ceil3(1/24), ceil3(7/12) */
	};
	struct stat_beacon_config c = rita_cfg();
	struct stat_beacon_dur d;

	for (size_t i = 0; i < N(tv); i++) {
		CHECK_EQ_U(stat_beacon_dur_score(T0, T0 + 86400, T0 + tv[i].first_h * 3600,
						 T0 + tv[i].last_h * 3600, tv[i].bars, tv[i].run,
						 &c, &d),
			   STAT_OK);
		CHECK_EQ_D(d.coverage, tv[i].coverage);
		CHECK_EQ_D(d.consistency, tv[i].consistency);
		CHECK_EQ_D(d.score, tv[i].score);
	}
	c.dur_consistency_ideal_hours_seen = 0;
	CHECK_EQ_U(stat_beacon_dur_score(T0, T0 + 86400, T0, T0 + 86400, 12, 6, &c, &d),
		   STAT_INVALID);
	c = rita_cfg();
	c.dur_min_hours_seen = 0;
	CHECK_EQ_U(stat_beacon_dur_score(T0, T0 + 86400, T0, T0 + 86400, 12, 6, &c, &d),
		   STAT_INVALID);
	c = rita_cfg();
	CHECK_EQ_U(stat_beacon_dur_score(1, 0, 0, 1, 6, 12, &c, &d), STAT_INVALID);
	CHECK_EQ_U(stat_beacon_dur_score(0, 1, 1, 0, 6, 12, &c, &d), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_dur_score(0, 1, 1, 1, 6, 12, &c, &d), STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_U(stat_beacon_dur_score(0, NAN, 0, 1, 6, 12, &c, &d), STAT_INVALID);
}

static void test_score_stats__beacon_score_vectors(void)
{
	/* activecm/rita TestGetBeaconScore */
	static const struct {
		double s[4], w[4];
		int ok;
		double score;
	} tv[] = {
		{ { .8, .7, .6, .5 }, { .2, .2, .3, .3 }, 1, 0.63 },
		{ { 1, 1, 1, 1 }, { .25, .25, .25, .25 }, 1, 1 },
		{ { 1, 1, 1, 1 }, { .1, .2, .3, .4 }, 1, 1 },
		{ { .1, .2, .3, .4 }, { .25, .25, .25, .25 }, 1, 0.25 },
		{ { .1, .2, .3, .4 }, { .1, .2, .3, .4 }, 1, 0.30 },
		{ { .111, .222, .333, .444 }, { .173, .325, .299, .203 }, 1, 0.281 },
		/* RITA expects 0.10025 +- 0.001; round3 gives 0.1 */
		{ { .1001, .1002, .1003, .1004 }, { .249, .251, .250, .250 }, 1, 0.1 },
		{ { .25, 1, 1, 1 }, { 1, 0, 0, 0 }, 1, 0.25 },
		{ { -.1, .5, .5, .5 }, { .25, .25, .25, .25 }, 0, 0 },
		{ { 1.1, .5, .5, .5 }, { .25, .25, .25, .25 }, 0, 0 },
		{ { .5, .5, .5, .5 }, { -.1, .25, .25, .25 }, 0, 0 },
		{ { .5, .5, .5, .5 }, { 1.1, .25, .25, .25 }, 0, 0 },
		{ { .5, .5, .5, .5 }, { .3, .3, .3, .3 }, 0, 0 },
		{ { .5, .5, .5, .5 }, { .3, .3, .2, .1 }, 0, 0 },
		{ { .5, .5, .5, .5 }, { .3, .3, .3, .2 }, 0, 0 },
		{ { NAN, .5, .5, .5 }, { .25, .25, .25, .25 }, 0, 0 },
	};
	struct stat_beacon_config c = rita_cfg();
	double score;

	for (size_t i = 0; i < N(tv); i++) {
		c.ts_weight = tv[i].w[0];
		c.ds_weight = tv[i].w[1];
		c.dur_weight = tv[i].w[2];
		c.hist_weight = tv[i].w[3];
		CHECK_EQ_U(stat_beacon_score(tv[i].s[0], tv[i].s[1], tv[i].s[2], tv[i].s[3], &c, &score),
			   tv[i].ok ? STAT_OK : STAT_INVALID);
		CHECK_EQ_D(score, tv[i].score);
	}
}

static void test_score_stats__bucketed_score(void)
{
	/* activecm/rita TestCalculateBucketedScore */
	static const struct stat_thresholds th[] = {
		{ 100, 500, 800, 1000 },         /* C2 over DNS */
		{ 3600, 14400, 28800, 43200 },   /* long connections */
		{ 50, 70, 90, 100 },             /* beacons (score * 100) */
	};
	struct stat_thresholds zero = { 0, 5, 10, 15 };
	struct stat_beacon_config c = rita_cfg();

	CHECK(stat_bucketed_score(1, &zero) > 0);
	CHECK_D(stat_bucketed_score(0, &zero), 0.2);
	for (size_t i = 0; i < N(th); i++) {
		const struct stat_thresholds *t = &th[i];

		CHECK_EQ_D(stat_bucketed_score(t->base - 1, t), 0);
		CHECK_D(stat_bucketed_score(t->base, t), 0.2);
		CHECK_NEAR(stat_bucketed_score(t->low - 1, t), 0.3995, 0.1);
		CHECK_D(stat_bucketed_score(t->low, t), 0.4);
		CHECK_D(stat_bucketed_score(t->low + (t->med - t->low) / 2, t), 0.5);
		CHECK_D(stat_bucketed_score(t->med, t), 0.6);
		CHECK_D(stat_bucketed_score(t->med + (t->high - t->med) / 2, t), 0.7);
		CHECK_NEAR(stat_bucketed_score(t->high - 1, t), 0.7995, 0.1);
		CHECK_D(stat_bucketed_score(t->high, t), 0.8);
		CHECK_D(stat_bucketed_score(t->high * 2, t), 0.8);
	}
	CHECK_EQ_D(stat_bucketed_score(NAN, &th[0]), 0);
	CHECK_D(stat_bucketed_score(21600, &c.long_conn_thresholds), 0.5); /* 6 h */

	/* beacon threat score: score * 100 against 50/70/90/100 */
	CHECK_EQ_D(stat_beacon_threat_score(0.499, &c), 0);
	CHECK_D(stat_beacon_threat_score(0.5, &c), 0.2);
	CHECK_D(stat_beacon_threat_score(0.63, &c), 0.33);
	CHECK_D(stat_beacon_threat_score(0.7, &c), 0.4);
	CHECK_D(stat_beacon_threat_score(0.9, &c), 0.6);
	CHECK_D(stat_beacon_threat_score(0.95, &c), 0.7);
	CHECK_D(stat_beacon_threat_score(1.0, &c), 0.8);

	CHECK_EQ_U(stat_impact_from_score(0.8), STAT_IMPACT_HIGH);
	CHECK_EQ_U(stat_impact_from_score(0.6), STAT_IMPACT_HIGH);
	CHECK_EQ_U(stat_impact_from_score(0.59), STAT_IMPACT_MEDIUM);
	CHECK_EQ_U(stat_impact_from_score(0.4), STAT_IMPACT_MEDIUM);
	CHECK_EQ_U(stat_impact_from_score(0.2), STAT_IMPACT_LOW);
	CHECK_EQ_U(stat_impact_from_score(0.1), STAT_IMPACT_NONE);
	CHECK_EQ_U(stat_impact_from_score(0), STAT_IMPACT_NONE_SCORED);
}

static void test_score_stats__config_default(void)
{
	struct stat_beacon_config c;

	stat_beacon_config_default(&c);
	CHECK_EQ_U(c.unique_connection_threshold, 4);
	CHECK_EQ_D(c.ts_weight, 0.25);
	CHECK_EQ_D(c.ds_weight, 0.25);
	CHECK_EQ_D(c.dur_weight, 0.25);
	CHECK_EQ_D(c.hist_weight, 0.25);
	CHECK_EQ_D(c.hist_mode_sensitivity, 0.05);
	CHECK_EQ_I(c.hist_bimodal_outlier_removal, 1);
	CHECK_EQ_I(c.hist_bimodal_min_hours_seen, 11);
	CHECK_EQ_I(c.dur_min_hours_seen, 6);
	CHECK_EQ_I(c.dur_consistency_ideal_hours_seen, 12);
	CHECK_EQ_U(c.hist_bins, 24);
	CHECK_EQ_D(c.score_thresholds.base, 50);
	CHECK_EQ_D(c.score_thresholds.high, 100);
	CHECK_EQ_D(c.long_conn_thresholds.low, 14400);
	CHECK(stat_beacon_config_valid(&c));

	c.ts_weight = 0.7; /* 0.7+0.1+0.1+0.1 = 0.9999999999999999: tolerated */
	c.ds_weight = c.dur_weight = c.hist_weight = 0.1;
	CHECK(stat_beacon_config_valid(&c));
	c.ts_weight = 0.6;
	CHECK(!stat_beacon_config_valid(&c));
	stat_beacon_config_default(&c);
	c.score_thresholds.med = c.score_thresholds.high;
	CHECK(!stat_beacon_config_valid(&c));
	stat_beacon_config_default(&c);
	c.hist_bins = STAT_BEACON_HIST_MAX_BINS + 1;
	CHECK(!stat_beacon_config_valid(&c));
	stat_beacon_config_default(&c);
	c.unique_connection_threshold = 3;
	CHECK(!stat_beacon_config_valid(&c));
}

static void test_score_stats__analyze_end_to_end(void)
{
	static double ts[1440], bytes[1440];
	struct stat_beacon_config c = rita_cfg();
	struct stat_beacon_result r;

	/* a perfect beacon: every 60 s for 24 h, 500 bytes each */
	for (int i = 0; i < 1440; i++) {
		ts[i] = T0 + 60.0 * i;
		bytes[i] = 500;
	}
	CHECK_EQ_U(stat_beacon_analyze(ts, 1440, bytes, 1440, T0, T0 + 86400, &c, scratch, &r),
		   STAT_OK);
	CHECK_EQ_D(r.ts.score, 1);
	CHECK_EQ_D(r.ds.score, 1);
	CHECK_EQ_D(r.hist.score, 1);
	CHECK_EQ_U(r.hist.freq[0], 60);
	CHECK_EQ_U(r.hist.freq[23], 60);
	CHECK_EQ_D(r.dur.coverage, 1); /* ceil3(86340 / 86400) */
	CHECK_EQ_D(r.dur.score, 1);
	CHECK_EQ_D(r.score, 1);
	CHECK_D(r.threat_score, 0.8);

	/* every 60 s for the first 12 h only, sizes 1..10 repeating:
	 * ts 1, ds 0.773, hist: 12 bars of 60 -> cv 1, bimodal 12/11 -> 1 ...
	 * cv: mean 30, sd 30 -> cv 1 -> 0; bimodal 1; dur: coverage
	 * ceil3(43140/86400) = 0.5, run 12 -> consistency 1 */
	for (int i = 0; i < 720; i++)
		bytes[i] = 1 + i % 10;
	CHECK_EQ_U(stat_beacon_analyze(ts, 720, bytes, 720, T0, T0 + 86400, &c, scratch, &r),
		   STAT_OK);
	CHECK_EQ_D(r.ts.score, 1);
	CHECK_EQ_D(r.ds.score, 0.773);
	CHECK_EQ_U(r.hist.total_bars, 12);
	CHECK_EQ_U(r.hist.longest_run, 12);
	CHECK_EQ_D(r.hist.cv_score, 0);
	CHECK_EQ_D(r.hist.bimodal_score, 1);
	CHECK_EQ_D(r.dur.coverage, 0.5);
	CHECK_EQ_D(r.dur.consistency, 1);
	CHECK_EQ_D(r.score, 0.943); /* round3((1 + .773 + 1 + 1) / 4) = 0.94325 */
	CHECK_D(r.threat_score, 0.6 + (94.3 - 90) / 10 * 0.2);

	/* not enough data anywhere -> zeroed result */
	CHECK_EQ_U(stat_beacon_analyze(ts, 3, bytes, 3, T0, T0 + 86400, &c, scratch, &r),
		   STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_D(r.score, 0);
	CHECK_EQ_U(stat_beacon_analyze(ts, 10, bytes, 2, T0, T0 + 86400, &c, scratch, &r),
		   STAT_NOT_ENOUGH_DATA);
	CHECK_EQ_D(r.ts.score, 0);
	CHECK_EQ_U(stat_beacon_analyze(ts, 10, bytes, 10, T0, T0, &c, scratch, &r), STAT_INVALID);
	c.ts_weight = 0.5;
	CHECK_EQ_U(stat_beacon_analyze(ts, 10, bytes, 10, T0, T0 + 86400, &c, scratch, &r),
		   STAT_INVALID);
}

int main(void)
{
	RUN(test_score_stats__round3_half_away_from_zero);
	RUN(test_score_stats__sort);
	RUN(test_score_stats__median);
	RUN(test_score_stats__quartiles_tukey_hinges);
	RUN(test_score_stats__quantile_type7);
	RUN(test_score_stats__mad);
	RUN(test_score_stats__bowley_skew_gate);
	RUN(test_score_stats__robust_z);
	RUN(test_score_stats__ts_score_vectors);
	RUN(test_score_stats__ts_score_edges);
	RUN(test_score_stats__ds_score_vectors);
	RUN(test_score_stats__statistical_score_vectors);
	RUN(test_score_stats__cv_score_vectors);
	RUN(test_score_stats__bimodal_score_vectors);
	RUN(test_score_stats__bars_and_longest_run);
	RUN(test_score_stats__hist_score_vectors);
	RUN(test_score_stats__dur_score_vectors);
	RUN(test_score_stats__beacon_score_vectors);
	RUN(test_score_stats__bucketed_score);
	RUN(test_score_stats__config_default);
	RUN(test_score_stats__analyze_end_to_end);
	return CHECK_DONE();
}
