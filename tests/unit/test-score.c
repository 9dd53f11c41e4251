/* SPDX-License-Identifier: MIT */
/*
 * test-score.c -- the scoring engine of score.h, through its public API only:
 * synthetic session records in packet time go in through score_event(), and
 * the tests read what comes out (the alert callback, score_get_stats(), the
 * state file).
 *
 * The organisation used by most tests: eight hosts 10.1.0.1-8 use
 * microsoft365/web with the same TLS client (COMMON_JA4), three sessions an
 * hour at jittered times, about 1 MB down and 0.1 MB up each, every hour of
 * the day from Monday 2024-01-01 00:00 UTC.  Learning (one day by default)
 * ends on Tuesday 00:00; the tests act on Wednesday, either at 10:00 (working
 * hours) or at 02:30 (night).  Cases are chosen clearly strong (hundreds of
 * times the baseline) or clearly weak (below a floor, or one weak signal), so
 * small tuning of the default numbers does not change the outcome; where a
 * number matters it is read from score_config_default().
 */
#include "score.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"

#define SEC 1000000000ull
#define MIN_NS (60 * SEC)
#define HOUR_NS (3600 * SEC)
#define DAY_NS (24 * HOUR_NS)
#define MB 1000000ull
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T_MON (1704067200ull * SEC) /* 2024-01-01 00:00:00 UTC, a Monday */
#define T_WED (T_MON + 2 * DAY_NS)
#define WED_1000 (T_WED + 10 * HOUR_NS)
#define WED_0230 (T_WED + 2 * HOUR_NS + 30 * MIN_NS)

#define ORG_HOSTS 8
#define ORG_MAX 64
#define PROVIDER "microsoft365"
#define SERVICE "web"
#define COMMON_JA4 "t13d1516h2_8daaf6152771_b0da82dd1658"
#define ODD_JA4 "t13d1713h2_5b57614c22b0_748f4c70de1c"

/* ------------------------------------------------------------ alert log */

struct got {
	char id[64];
	uint32_t revision;
	int kind;
	double score;
	char severity[16], provider[32], service[8];
	struct net_addr host;
	uint64_t ts_ns, win_start, win_end, win_down, win_up;
	unsigned n_reasons, n_cids;
	int sig[SIG_COUNT];
	double strength[SIG_COUNT], baseline[SIG_COUNT], peer[SIG_COUNT];
	char detail[SIG_COUNT][384];
	bool learning;
	double confidence;
};

struct alog {
	size_t n;
	struct got a[64];
};

static void on_alert(const struct score_alert *a, void *arg)
{
	struct alog *log = arg;
	struct got *g;

	if (log->n >= ARRAY_LEN(log->a)) {
		log->n++;
		return;
	}
	g = &log->a[log->n++];
	memset(g, 0, sizeof(*g));
	snprintf(g->id, sizeof(g->id), "%s", a->alert_id);
	g->revision = a->revision;
	g->kind = a->kind;
	g->score = a->score;
	snprintf(g->severity, sizeof(g->severity), "%s", a->severity ? a->severity : "(null)");
	snprintf(g->provider, sizeof(g->provider), "%s", a->provider ? a->provider : "(null)");
	snprintf(g->service, sizeof(g->service), "%s", a->service ? a->service : "(null)");
	g->host = a->host;
	g->ts_ns = a->ts_ns;
	g->win_start = a->window_start_ns;
	g->win_end = a->window_end_ns;
	g->win_down = a->window_toclient;
	g->win_up = a->window_toserver;
	g->n_reasons = a->n_reasons;
	g->n_cids = a->n_cids;
	g->learning = a->learning;
	g->confidence = a->confidence;
	for (unsigned i = 0; i < a->n_reasons && i < SIG_COUNT; i++) {
		g->sig[i] = a->reasons[i].signal;
		g->strength[i] = a->reasons[i].strength;
		g->baseline[i] = a->reasons[i].baseline;
		g->peer[i] = a->reasons[i].peer;
		snprintf(g->detail[i], sizeof(g->detail[i]), "%s", a->reasons[i].detail);
	}
}

static bool has_reason(const struct got *g, enum score_signal s)
{
	for (unsigned i = 0; i < g->n_reasons; i++)
		if (g->sig[i] == (int)s)
			return true;
	return false;
}

/* Alerts about @host (any revision). */
static size_t alerts_for(const struct alog *log, const struct net_addr *host)
{
	size_t n = 0;
	for (size_t i = 0; i < log->n && i < ARRAY_LEN(log->a); i++)
		if (!net_addr_cmp(&log->a[i].host, host))
			n++;
	return n;
}

/* Print what the engine said, to make a failing test readable (every
 * test's alerts with TEST_SCORE_VERBOSE=1). */
static void dump(const struct alog *log)
{
	char buf[NET_ADDR_STRLEN];
	for (size_t i = 0; i < log->n && i < ARRAY_LEN(log->a); i++) {
		const struct got *g = &log->a[i];
		fprintf(stderr, "    alert %s rev %u host %s kind %s score %.0f %s\n", g->id,
			g->revision, net_addr_format(&g->host, buf, sizeof(buf)),
			score_rules[g->kind].name, g->score, g->severity);
		for (unsigned r = 0; r < g->n_reasons; r++)
			fprintf(stderr, "      %s %.2f: %s\n", score_rules[g->sig[r]].name,
				g->strength[r], g->detail[r]);
	}
}

/* --------------------------------------------------------------- fixture */

/* One flow as the aggregator reports it. */
struct flow {
	struct net_addr client;
	const char *provider, *service, *ja4;
	uint64_t start_ns, up_total, down_total;
	char cid[40];
	bool started;
};

struct fx {
	struct score_config cfg;
	struct score_engine *e;
	struct alog log;
	uint64_t rng;
	unsigned flow_seq;
	struct flow org[ORG_MAX];  /* each host's open web-mail connection */
};

static struct net_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct net_addr x;
	const uint8_t v[4] = { a, b, c, d };
	net_addr_set_v4(&x, v);
	return x;
}

static struct net_addr org_host(unsigned i) /* 1..ORG_HOSTS */
{
	return ip4(10, 1, 0, (uint8_t)i);
}

static const struct net_addr SERVER_ADDR = { NET_ADDR_V4, { 0 }, { 52, 97, 1, 2 } };

static uint32_t rnd(struct fx *f, uint32_t n)
{
	f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((f->rng >> 33) % n);
}

static void fx_start_cfg(struct fx *f, const struct score_config *cfg)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->rng = 42;
	f->e = score_new(&f->cfg, 1, on_alert, &f->log);
	CHECK(f->e != NULL);
}

static void fx_start(struct fx *f)
{
	struct score_config c;
	score_config_default(&c);
	fx_start_cfg(f, &c);
}

static void fx_end(struct fx *f)
{
	if (check_failed_now || getenv("TEST_SCORE_VERBOSE"))
		dump(&f->log);
	score_free(f->e);
	f->e = NULL;
}

static void flow_init(struct fx *f, struct flow *fl, const struct net_addr *client,
		      const char *provider, const char *service, const char *ja4, uint64_t start)
{
	memset(fl, 0, sizeof(*fl));
	fl->client = *client;
	fl->provider = provider;
	fl->service = service;
	fl->ja4 = ja4;
	fl->start_ns = start;
	snprintf(fl->cid, sizeof(fl->cid), "1:test%08u=", ++f->flow_seq);
}

/* A record of @fl at @ts carrying the bytes moved since its last record. */
static void flow_record(struct fx *f, struct flow *fl, uint64_t ts, uint64_t up, uint64_t down,
			bool final)
{
	struct score_event ev;

	fl->up_total += up;
	fl->down_total += down;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = ts;
	ev.flow_start_ns = fl->start_ns;
	ev.first = !fl->started;
	ev.final = final;
	ev.client = &fl->client;
	ev.server = &SERVER_ADDR;
	ev.server_port = 443;
	ev.provider = fl->provider;
	ev.service = fl->service;
	ev.app_proto = "tls";
	ev.sni = "outlook.office365.com";
	ev.ja4 = fl->ja4;
	ev.community_id = fl->cid;
	ev.delta_toserver = up;
	ev.delta_toclient = down;
	ev.bytes_toserver = fl->up_total;
	ev.bytes_toclient = fl->down_total;
	fl->started = true;
	score_event(f->e, &ev);
}

/* A whole short session in one final record. */
static void session(struct fx *f, const struct net_addr *host, const char *ja4, uint64_t start,
		    uint64_t dur, uint64_t up, uint64_t down)
{
	struct flow fl;
	flow_init(f, &fl, host, PROVIDER, SERVICE, ja4, start);
	flow_record(f, &fl, start + dur, up, down, true);
}

/* A transfer as one flow: a first record at @start, then @n records over
 * @dur, the last one final, splitting @up and @down evenly. */
static void transfer(struct fx *f, const struct net_addr *host, const char *ja4, uint64_t start,
		     uint64_t dur, unsigned n, uint64_t up, uint64_t down)
{
	struct flow fl;
	flow_init(f, &fl, host, PROVIDER, SERVICE, ja4, start);
	flow_record(f, &fl, start, 0, 0, false);
	for (unsigned i = 1; i <= n; i++)
		flow_record(f, &fl, start + dur * i / n, up / n, down / n, i == n);
}

struct bsess {
	uint64_t ts, up, down;
	unsigned host;
};

static int by_ts(const void *a, const void *b)
{
	const struct bsess *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The organisation's ordinary traffic for every whole hour in [from, to):
 * hosts 1..@hosts each keep a web-mail connection open (a new one every
 * 4 hours) and report it in three interim records an hour at random times,
 * 0.6-1.4 MB down and 0.05-0.15 MB up each, in time order.  Few connection
 * starts and irregular times: no beacon. */
static void org_baseline_n(struct fx *f, unsigned hosts, uint64_t from, uint64_t to)
{
	struct bsess s[3 * ORG_MAX];

	for (uint64_t h = from; h < to; h += HOUR_NS) {
		size_t n = 0;
		for (unsigned host = 1; host <= hosts && host < ORG_MAX; host++) {
			for (unsigned k = 0; k < 3; k++) {
				struct bsess *x = &s[n++];
				x->host = host;
				x->ts = h + (1 + rnd(f, 3590)) * SEC;
				x->down = (600 + rnd(f, 800)) * 1000ull;
				x->up = (50 + rnd(f, 100)) * 1000ull;
			}
		}
		qsort(s, n, sizeof(s[0]), by_ts);
		for (size_t i = 0; i < n; i++) {
			struct flow *fl = &f->org[s[i].host];
			struct net_addr a = org_host(s[i].host);
			bool final;
			if (!fl->started)
				flow_init(f, fl, &a, PROVIDER, SERVICE, COMMON_JA4, s[i].ts - SEC);
			final = s[i].ts - fl->start_ns >= 4 * HOUR_NS;
			flow_record(f, fl, s[i].ts, s[i].up, s[i].down, final);
			if (final)
				fl->started = false;
		}
	}
}

static void org_baseline(struct fx *f, uint64_t from, uint64_t to)
{
	org_baseline_n(f, ORG_HOSTS, from, to);
}

static struct score_stats stats(const struct fx *f)
{
	struct score_stats st;
	score_get_stats(f->e, &st);
	return st;
}

/* ------------------------------------------------------------- learning */

/* Day one: a stateless engine judges volume against peers and floors from
 * the first hour; the alert says it was raised while learning, with a
 * lower confidence, and novelty (which needs what was learned) is not
 * among its reasons. */
static void test_score__alerts_during_learning_say_so(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);

	fx_start(&f);
	org_baseline(&f, T_MON, T_MON + 2 * HOUR_NS);
	/* at night, inside learning: 5 GB down by a host of the organisation */
	transfer(&f, &h3, ODD_JA4, T_MON + 2 * HOUR_NS + 5 * MIN_NS, 20 * MIN_NS, 10, 0, 5000 * MB);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1) {
		const struct got *g = &f.log.a[0];
		CHECK(g->learning);
		CHECK(g->confidence > 0 && g->confidence < 1);
		CHECK(g->kind == SIG_BULK_DOWNLOAD || g->kind == SIG_OFF_HOURS);
		CHECK(!has_reason(g, SIG_NEW_CLIENT)); /* a new JA4 is not judged yet */
		CHECK(strstr(g->detail[0], "no history") != NULL);
	}
	CHECK_EQ_U(stats(&f).learning_alerts, stats(&f).alerts);
	fx_end(&f);
}

/* ... but the ordinary traffic of that first day raises nothing. */
static void test_score__ordinary_first_day_is_quiet(void)
{
	struct fx f;

	fx_start(&f);
	org_baseline(&f, T_MON, T_MON + DAY_NS);
	CHECK_EQ_U(f.log.n, 0);
	CHECK(stats(&f).events > 0);
	fx_end(&f);
}

static void test_score__alerts_once_learning_is_over(void)
{
	/* the control for the test above: the same engine scores afterwards */
	struct fx f;
	struct net_addr h3 = org_host(3);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_U(f.log.n, 0);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 20 * MIN_NS, 10, 0, 5000 * MB);
	CHECK(f.log.n >= 1);
	fx_end(&f);
}

/* ----------------------------------------------------------------- bulk */

static void test_score__bulk_download_after_steady_baseline_alerts_once(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);
	struct got *g;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_U(f.log.n, 0);
	/* one 600 MB flow over 25 minutes, reported when it ends */
	transfer(&f, &h3, COMMON_JA4, WED_1000 + 2 * MIN_NS, 25 * MIN_NS, 1, 2 * MB, 600 * MB);
	CHECK_EQ_U(f.log.n, 1);
	if (f.log.n >= 1) {
		g = &f.log.a[0];
		CHECK_EQ_I(g->kind, SIG_BULK_DOWNLOAD);
		CHECK_STREQ(g->severity, score_severity(g->score));
		CHECK(g->score >= f.cfg.alert_threshold);
		CHECK(g->score <= 100);
		CHECK(g->n_reasons >= 1);
		CHECK_EQ_I(g->sig[0], SIG_BULK_DOWNLOAD);
		CHECK(g->strength[0] > 0 && g->strength[0] <= 1);
		CHECK(strstr(g->detail[0], "MB") != NULL);
		CHECK(g->win_down >= 600 * MB);
		CHECK(g->win_start < g->win_end);
		CHECK(net_addr_cmp(&g->host, &h3) == 0);
		CHECK(g->id[0] != '\0');
		CHECK_EQ_U(g->revision, 0);
		CHECK_STREQ(g->provider, PROVIDER);
		CHECK_STREQ(g->service, SERVICE);
		CHECK(g->n_cids >= 1);
		CHECK(!has_reason(g, SIG_OFF_HOURS));   /* 10:00 on a Wednesday */
		CHECK(!has_reason(g, SIG_NEW_CLIENT));  /* a known host and client */
	}
	CHECK_EQ_U(stats(&f).alerts, 1);
	CHECK_EQ_U(stats(&f).alerts_by_kind[SIG_BULK_DOWNLOAD], 1);
	/* the other hosts' ordinary hour goes on without alerts */
	org_baseline(&f, WED_1000 + HOUR_NS, WED_1000 + 2 * HOUR_NS);
	CHECK_EQ_U(f.log.n, 1);
	fx_end(&f);
}

static void test_score__bulk_download_in_interim_updates_alerts(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);
	char first_id[64] = "";

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	/* the same 600 MB as 30 interim updates of 20 MB, a minute apart */
	transfer(&f, &h3, COMMON_JA4, WED_1000 + 2 * MIN_NS, 30 * MIN_NS, 30, 0, 600 * MB);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1) {
		snprintf(first_id, sizeof(first_id), "%s", f.log.a[0].id);
		CHECK_EQ_I(f.log.a[0].kind, SIG_BULK_DOWNLOAD);
		CHECK_EQ_U(f.log.a[0].revision, 0);
		CHECK(f.log.a[0].win_down >= f.cfg.floor_down_short);
	}
	/* one incident: any further callback is a revision of the same alert */
	for (size_t i = 1; i < f.log.n && i < ARRAY_LEN(f.log.a); i++) {
		CHECK_STREQ(f.log.a[i].id, first_id);
		CHECK_EQ_U(f.log.a[i].revision, i);
	}
	CHECK_EQ_U(stats(&f).alerts, 1);
	fx_end(&f);
}

static void test_score__bulk_upload_after_steady_baseline_alerts_once(void)
{
	struct fx f;
	struct net_addr h5 = org_host(5);
	struct got *g;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	transfer(&f, &h5, COMMON_JA4, WED_1000 + 2 * MIN_NS, 25 * MIN_NS, 1, 600 * MB, 3 * MB);
	CHECK_EQ_U(f.log.n, 1);
	if (f.log.n >= 1) {
		g = &f.log.a[0];
		CHECK_EQ_I(g->kind, SIG_BULK_UPLOAD);
		CHECK(g->score >= f.cfg.alert_threshold);
		CHECK_STREQ(g->severity, score_severity(g->score));
		CHECK_EQ_I(g->sig[0], SIG_BULK_UPLOAD);
		CHECK(strstr(g->detail[0], "MB") != NULL);
		CHECK(g->win_up >= 600 * MB);
		CHECK(net_addr_cmp(&g->host, &h5) == 0);
		CHECK(g->id[0] != '\0');
	}
	CHECK_EQ_U(stats(&f).alerts_by_kind[SIG_BULK_UPLOAD], 1);
	fx_end(&f);
}

static void test_score__bulk_upload_in_interim_updates_alerts(void)
{
	struct fx f;
	struct net_addr h5 = org_host(5);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	transfer(&f, &h5, COMMON_JA4, WED_1000 + 2 * MIN_NS, 30 * MIN_NS, 30, 600 * MB, 0);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1)
		CHECK_EQ_I(f.log.a[0].kind, SIG_BULK_UPLOAD);
	CHECK_EQ_U(stats(&f).alerts, 1);
	fx_end(&f);
}

/* --------------------------------------------------- lone weak signals */

static void test_score__single_attachment_upload_does_not_alert(void)
{
	struct fx f;
	struct net_addr h2 = org_host(2);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	transfer(&f, &h2, COMMON_JA4, WED_1000 + 5 * MIN_NS, 40 * SEC, 1, 20 * MB, MB / 10);
	org_baseline(&f, WED_1000, WED_1000 + HOUR_NS);
	CHECK_EQ_U(f.log.n, 0);
	fx_end(&f);
}

static void test_score__new_host_with_the_common_client_does_not_alert(void)
{
	struct fx f;
	struct net_addr newbie = ip4(10, 1, 0, 77);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	/* a new laptop: ordinary volume, the organisation's usual client */
	for (unsigned i = 0; i < 6; i++)
		session(&f, &newbie, COMMON_JA4, WED_1000 + i * 10 * MIN_NS, 2 * MIN_NS, MB / 10, MB);
	CHECK_EQ_U(f.log.n, 0);
	CHECK_EQ_U(stats(&f).alerts, 0);
	fx_end(&f);
}

static void test_score__regular_tiny_sync_by_known_client_does_not_alert(void)
{
	struct fx f;
	struct net_addr h4 = org_host(4);

	fx_start(&f);
	org_baseline(&f, T_MON, T_WED);
	/* host 4 also syncs every 5 minutes, exactly, day and night, from
	 * Monday on: a perfect beacon, but a known client with tiny volume */
	for (uint64_t t = T_MON + 7 * SEC; t < T_WED + 12 * HOUR_NS; t += 5 * MIN_NS)
		session(&f, &h4, COMMON_JA4, t, 2 * SEC, 3000, 8000);
	CHECK_EQ_U(f.log.n, 0);
	fx_end(&f);
}

/* ----------------------------------------------------------- beaconing */

static void test_score__beaconing_by_never_seen_client_alerts(void)
{
	struct fx f;
	struct net_addr implant = ip4(10, 1, 0, 66);
	bool beacon_alert = false;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_U(f.log.n, 0);
	/* every 60 s +- 2 s for 3 hours, near-identical small sizes */
	for (unsigned i = 0; i < 180; i++) {
		uint64_t start = WED_1000 + i * 60 * SEC + rnd(&f, 4001) * (SEC / 1000) - 2 * SEC +
				 5 * SEC;
		session(&f, &implant, ODD_JA4, start, 1 * SEC, 1480 + rnd(&f, 8), 5200 + rnd(&f, 8));
	}
	CHECK(f.log.n >= 1);
	for (size_t i = 0; i < f.log.n && i < ARRAY_LEN(f.log.a); i++) {
		const struct got *g = &f.log.a[i];
		CHECK(net_addr_cmp(&g->host, &implant) == 0);
		if (g->kind == SIG_BEACONING && has_reason(g, SIG_NEW_CLIENT))
			beacon_alert = true;
	}
	CHECK(beacon_alert);
	CHECK(stats(&f).alerts_by_kind[SIG_BEACONING] >= 1);
	fx_end(&f);
}

/* ----------------------------------------------------------- off hours */

static void test_score__night_volume_after_learning_alerts_with_off_hours(void)
{
	struct fx f;
	struct net_addr h6 = org_host(6);

	fx_start(&f);
	org_baseline(&f, T_MON, T_WED + 2 * HOUR_NS);
	CHECK_EQ_U(f.log.n, 0);
	/* 150 MB between 02:15 and 02:30 UTC on a Wednesday */
	transfer(&f, &h6, COMMON_JA4, WED_0230 - 15 * MIN_NS, 15 * MIN_NS, 1, MB, 150 * MB);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1) {
		const struct got *g = &f.log.a[0];
		CHECK(g->kind == SIG_BULK_DOWNLOAD || g->kind == SIG_OFF_HOURS);
		CHECK(has_reason(g, SIG_OFF_HOURS));
		CHECK(net_addr_cmp(&g->host, &h6) == 0);
		for (unsigned r = 0; r < g->n_reasons; r++)
			if (g->sig[r] == SIG_OFF_HOURS)
				CHECK(strstr(g->detail[r], "02:30") != NULL);
	}
	fx_end(&f);
}

static void test_score__small_night_sync_is_not_off_hours(void)
{
	struct fx f;

	fx_start(&f);
	/* the baseline itself runs all night, every night: never an alert */
	org_baseline(&f, T_MON, T_WED + 6 * HOUR_NS);
	CHECK_EQ_U(f.log.n, 0);
	fx_end(&f);
}

static void test_score__night_bulk_download_by_new_client_has_several_reasons(void)
{
	struct fx f;
	struct net_addr h7 = org_host(7);

	fx_start(&f);
	org_baseline(&f, T_MON, T_WED + 2 * HOUR_NS);
	/* a known host, but a TLS client nobody has: 400 MB at 02:30 */
	transfer(&f, &h7, ODD_JA4, WED_0230 - 20 * MIN_NS, 20 * MIN_NS, 1, MB, 400 * MB);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1) {
		const struct got *g = &f.log.a[0];
		CHECK(g->n_reasons >= 3);
		CHECK(has_reason(g, SIG_BULK_DOWNLOAD));
		CHECK(has_reason(g, SIG_OFF_HOURS));
		CHECK(has_reason(g, SIG_NEW_CLIENT));
		CHECK_EQ_I(g->sig[0], g->kind);        /* strongest first */
		for (unsigned r = 1; r < g->n_reasons; r++)
			CHECK(f.cfg.weight[g->sig[r - 1]] * g->strength[r - 1] >=
			      f.cfg.weight[g->sig[r]] * g->strength[r]);
		CHECK(g->score >= f.cfg.alert_threshold);
	}
	fx_end(&f);
}

/* -------------------------------------------------------- de-duplication */

static void test_score__continued_download_is_suppressed(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);
	struct flow fl;
	uint64_t t = WED_1000 + 2 * MIN_NS;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	flow_init(&f, &fl, &h3, PROVIDER, SERVICE, COMMON_JA4, t);
	flow_record(&f, &fl, t, 0, 0, false);
	/* clearly strong from the first update: 400 MB in 5 minutes */
	flow_record(&f, &fl, t + 5 * MIN_NS, 0, 400 * MB, false);
	CHECK_EQ_U(f.log.n, 1);
	/* then the same rate for 20 more minutes, inside suppress_s */
	for (unsigned i = 1; i <= 20; i++)
		flow_record(&f, &fl, t + (5 + i) * MIN_NS, 0, 80 * MB, i == 20);
	CHECK(20 * MIN_NS < (uint64_t)f.cfg.suppress_s * SEC);
	CHECK_EQ_U(f.log.n, 1);
	CHECK_EQ_U(stats(&f).alerts, 1);
	CHECK_EQ_U(stats(&f).realerts, 0);
	CHECK(stats(&f).suppressed >= 1);
	fx_end(&f);
}

static void test_score__higher_score_realerts_as_revision_of_same_alert(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);
	struct flow fl;
	/* a download that starts before the end of the working day and goes
	 * on past it: the off-hours signal joins and raises the score */
	uint64_t t;

	fx_start(&f);
	t = T_WED + (uint64_t)f.cfg.work_end_h * HOUR_NS - 20 * MIN_NS;
	org_baseline(&f, T_MON, T_WED + 17 * HOUR_NS);
	CHECK_EQ_U(f.log.n, 0);
	/* the precondition of this test: bulk download alone leaves room */
	CHECK(f.cfg.weight[SIG_BULK_DOWNLOAD] + f.cfg.realert_delta <= 100);
	CHECK(f.cfg.weight[SIG_BULK_DOWNLOAD] + f.cfg.weight[SIG_OFF_HOURS] >=
	      f.cfg.weight[SIG_BULK_DOWNLOAD] + f.cfg.realert_delta);
	flow_init(&f, &fl, &h3, PROVIDER, SERVICE, COMMON_JA4, t);
	flow_record(&f, &fl, t, 0, 0, false);
	flow_record(&f, &fl, t + 5 * MIN_NS, 0, 400 * MB, false);
	CHECK_EQ_U(f.log.n, 1);
	for (unsigned i = 1; i <= 25; i++)   /* until 18:10 */
		flow_record(&f, &fl, t + (5 + i) * MIN_NS, 0, 40 * MB, i == 25);
	CHECK_EQ_U(f.log.n, 2);
	if (f.log.n >= 2) {
		CHECK_STREQ(f.log.a[1].id, f.log.a[0].id);
		CHECK_EQ_U(f.log.a[0].revision, 0);
		CHECK_EQ_U(f.log.a[1].revision, 1);
		CHECK_EQ_I(f.log.a[1].kind, f.log.a[0].kind);
		CHECK(f.log.a[1].score >= f.log.a[0].score + f.cfg.realert_delta);
		CHECK(has_reason(&f.log.a[1], SIG_OFF_HOURS));
	}
	CHECK_EQ_U(stats(&f).alerts, 1);
	CHECK_EQ_U(stats(&f).realerts, 1);
	fx_end(&f);
}

static void test_score__same_download_after_suppression_window_is_new_alert(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 0, 600 * MB);
	transfer(&f, &h3, COMMON_JA4, WED_1000 + (uint64_t)f.cfg.suppress_s * SEC + HOUR_NS,
		 10 * MIN_NS, 1, 0, 600 * MB);
	CHECK_EQ_U(f.log.n, 2);
	if (f.log.n >= 2) {
		CHECK(strcmp(f.log.a[0].id, f.log.a[1].id) != 0);
		CHECK_EQ_U(f.log.a[1].revision, 0);
	}
	CHECK_EQ_U(stats(&f).alerts, 2);
	fx_end(&f);
}

/* A flow's final record carries the time of its last packet, so it can
 * reach the engine after a later record of another flow of the same host
 * (the aggregator emits it at idle expiry).  Such a late record is still
 * part of the same incident and must not open a second alert. */
static void test_score__late_final_record_does_not_duplicate_alert(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);
	struct flow a, b;
	uint64_t t = WED_1000;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	flow_init(&f, &a, &h3, PROVIDER, SERVICE, COMMON_JA4, t);
	flow_init(&f, &b, &h3, PROVIDER, SERVICE, COMMON_JA4, t);
	flow_record(&f, &a, t, 0, 0, false);
	flow_record(&f, &b, t, 0, 0, false);
	flow_record(&f, &b, t + 10 * MIN_NS, 0, 400 * MB, false); /* alerts */
	CHECK_EQ_U(f.log.n, 1);
	/* flow a's last packet was at +9 min; its final record comes now */
	flow_record(&f, &a, t + 9 * MIN_NS, 0, 200 * MB, true);
	CHECK_EQ_U(f.log.n, 1);
	CHECK_EQ_U(stats(&f).alerts, 1);
	fx_end(&f);
}

/* ------------------------------------------------------------ who counts */

static void test_score__allowlisted_host_is_never_scored(void)
{
	struct fx f;
	struct score_config c;
	struct net_addr h3 = org_host(3), h5 = org_host(5);

	score_config_default(&c);
	CHECK_EQ_I(score_config_add_allow(&c, "10.1.0.3/32"), 0);
	fx_start_cfg(&f, &c);
	org_baseline(&f, T_MON, WED_1000);
	CHECK(stats(&f).allowed > 0);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 900 * MB, 900 * MB);
	CHECK_EQ_U(alerts_for(&f.log, &h3), 0);
	/* the control: the same transfer by another host is scored */
	transfer(&f, &h5, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 900 * MB, 900 * MB);
	CHECK(alerts_for(&f.log, &h5) >= 1);
	fx_end(&f);
}

/* An allowlist rule for one host, one provider and some signals: those
 * signals do not count for that host with that provider, the rest do. */
static void test_score__allow_rule_exempts_only_its_signals_and_provider(void)
{
	struct fx f;
	struct score_config c;
	struct net_addr h3 = org_host(3);
	struct flow fl;

	score_config_default(&c);
	CHECK_EQ_I(net_prefix_parse("10.1.0.3", &c.rules[0].net.net, &c.rules[0].net.plen), 0);
	snprintf(c.rules[0].provider, sizeof(c.rules[0].provider), "%s", PROVIDER);
	c.rules[0].signals = 1u << SIG_BULK_UPLOAD;
	c.n_rules = 1;
	fx_start_cfg(&f, &c);
	org_baseline(&f, T_MON, WED_1000);
	/* a big upload by the relay-like host: exempt */
	transfer(&f, &h3, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 900 * MB, MB);
	CHECK_EQ_U(alerts_for(&f.log, &h3), 0);
	CHECK(stats(&f).exempted > 0);
	/* the same host pulling a mailbox: not exempt */
	transfer(&f, &h3, COMMON_JA4, WED_1000 + 15 * MIN_NS, 10 * MIN_NS, 1, MB, 900 * MB);
	CHECK(alerts_for(&f.log, &h3) >= 1);
	/* the same host uploading to another provider: not exempt */
	flow_init(&f, &fl, &h3, "google", SERVICE, COMMON_JA4, WED_1000 + 40 * MIN_NS);
	flow_record(&f, &fl, WED_1000 + 40 * MIN_NS, 0, 0, false);
	flow_record(&f, &fl, WED_1000 + 50 * MIN_NS, 900 * MB, MB, true);
	{
		bool google_alert = false;
		for (size_t i = 0; i < f.log.n; i++)
			google_alert |= !strcmp(f.log.a[i].provider, "google") &&
					!net_addr_cmp(&f.log.a[i].host, &h3);
		CHECK(google_alert);
	}
	fx_end(&f);
}

/* Working hours are judged in the host's site: 02:30 UTC is 11:30 in
 * Tokyo, working time there, so the same night volume carries no
 * off_hours reason for a Tokyo host. */
static void test_score__site_time_zone_decides_off_hours(void)
{
	struct fx f;
	struct score_config c;
	struct net_addr h6 = org_host(6);

	score_config_default(&c);
	snprintf(c.sites[0].name, sizeof(c.sites[0].name), "tokyo");
	CHECK_EQ_I(net_prefix_parse("10.1.0.6/32", &c.sites[0].nets[0].net, &c.sites[0].nets[0].plen), 0);
	c.sites[0].n_nets = 1;
	c.sites[0].work_start_h = 9;
	c.sites[0].work_end_h = 18;
	c.sites[0].work_days = 0x3e;
	snprintf(c.sites[0].tz, sizeof(c.sites[0].tz), "Asia/Tokyo");
	c.n_sites = 1;
	fx_start_cfg(&f, &c);
	org_baseline(&f, T_MON, T_WED + 2 * HOUR_NS);
	transfer(&f, &h6, COMMON_JA4, WED_0230 - 15 * MIN_NS, 15 * MIN_NS, 1, MB, 150 * MB);
	CHECK(f.log.n >= 1); /* still a bulk download */
	for (size_t i = 0; i < f.log.n; i++)
		CHECK(!has_reason(&f.log.a[i], SIG_OFF_HOURS));
	fx_end(&f);
	/* control: the process zone (UTC) host at the same time is off hours */
	fx_start(&f);
	org_baseline(&f, T_MON, T_WED + 2 * HOUR_NS);
	transfer(&f, &h6, COMMON_JA4, WED_0230 - 15 * MIN_NS, 15 * MIN_NS, 1, MB, 150 * MB);
	CHECK(f.log.n >= 1 && has_reason(&f.log.a[0], SIG_OFF_HOURS));
	fx_end(&f);
}

static void test_score__non_internal_host_is_never_scored(void)
{
	struct fx f;
	struct net_addr outside = ip4(203, 0, 113, 9);
	struct net_addr v6 = { 0 };
	struct score_stats before, after;

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	before = stats(&f);
	CHECK_EQ_U(before.not_internal, 0);
	transfer(&f, &outside, ODD_JA4, WED_0230 + DAY_NS, 10 * MIN_NS, 4, 900 * MB, 900 * MB);
	CHECK_EQ_I(net_addr_parse("2001:db8::5", &v6), 0);
	transfer(&f, &v6, ODD_JA4, WED_0230 + DAY_NS, 10 * MIN_NS, 4, 900 * MB, 900 * MB);
	after = stats(&f);
	CHECK_EQ_U(after.not_internal, 10);
	CHECK_EQ_U(after.events, before.events + 10);
	CHECK_EQ_U(f.log.n, 0);
	fx_end(&f);
}

static void test_score__non_internal_traffic_does_not_start_learning(void)
{
	struct fx f;
	struct net_addr outside = ip4(198, 51, 100, 1), h3 = org_host(3);

	fx_start(&f);
	/* outside traffic two days before the first internal record */
	transfer(&f, &outside, COMMON_JA4, T_MON - 2 * DAY_NS, 10 * MIN_NS, 1, MB, MB);
	org_baseline(&f, T_MON, T_MON + 12 * HOUR_NS);
	/* the learning clock started with the first internal record */
	CHECK(score_learning_end(f.e) > T_MON);
	CHECK(score_learning_end(f.e) <= T_MON + HOUR_NS + (uint64_t)f.cfg.learning_s * SEC);
	transfer(&f, &h3, COMMON_JA4, T_MON + 12 * HOUR_NS, 10 * MIN_NS, 1, 0, 5000 * MB);
	CHECK(f.log.n >= 1);
	if (f.log.n >= 1)
		CHECK(f.log.a[0].learning);  /* still learning */
	fx_end(&f);
}

static void test_score__custom_internal_networks_replace_the_default(void)
{
	struct fx f;
	struct score_config c;
	struct net_addr inside = ip4(10, 1, 0, 3), outside = ip4(10, 2, 0, 7);
	struct net_addr rfc1918 = ip4(192, 168, 1, 20);

	score_config_default(&c);
	c.n_internal = 0;   /* what --internal does */
	CHECK_EQ_I(score_config_add_internal(&c, "10.1.0.0/24"), 0);
	fx_start_cfg(&f, &c);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_U(stats(&f).not_internal, 0);
	transfer(&f, &outside, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 0, 900 * MB);
	transfer(&f, &rfc1918, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 0, 900 * MB);
	CHECK_EQ_U(stats(&f).not_internal, 4);
	CHECK_EQ_U(alerts_for(&f.log, &outside), 0);
	CHECK_EQ_U(alerts_for(&f.log, &rfc1918), 0);
	transfer(&f, &inside, COMMON_JA4, WED_1000, 10 * MIN_NS, 1, 0, 900 * MB);
	CHECK(alerts_for(&f.log, &inside) >= 1);
	fx_end(&f);
}

static void test_score__config_networks_reject_bad_input(void)
{
	struct score_config c;
	char cidr[32];
	int rc = 0;

	score_config_default(&c);
	CHECK(c.n_internal >= 1);
	CHECK_EQ_I(score_config_add_internal(&c, "10.0.0.0/33"), -EINVAL);
	CHECK_EQ_I(score_config_add_internal(&c, "not-a-net"), -EINVAL);
	CHECK_EQ_I(score_config_add_allow(&c, ""), -EINVAL);
	CHECK_EQ_U(c.n_allow, 0);
	for (unsigned i = 0; i < SCORE_MAX_NETS && rc == 0; i++) {
		snprintf(cidr, sizeof(cidr), "10.%u.0.0/16", i);
		rc = score_config_add_allow(&c, cidr);
	}
	CHECK_EQ_I(rc, 0);
	CHECK_EQ_I(score_config_add_allow(&c, "10.200.0.0/16"), -ENOSPC);
	CHECK_EQ_U(c.n_allow, SCORE_MAX_NETS);
}

static void test_score__new_rejects_impossible_windows(void)
{
	struct score_config c;

	score_config_default(&c);
	c.short_window_s = 60;                 /* shorter than a bucket */
	errno = 0;
	CHECK(score_new(&c, 1, NULL, NULL) == NULL);
	CHECK_EQ_I(errno, EINVAL);
	score_config_default(&c);
	c.long_window_s = 24 * 3600;           /* longer than the bucket ring */
	CHECK(score_new(&c, 1, NULL, NULL) == NULL);
	score_config_default(&c);
	c.short_window_s = c.long_window_s + SCORE_BUCKET_S;
	CHECK(score_new(&c, 1, NULL, NULL) == NULL);
	score_config_default(&c);
	c.max_pairs = 0;
	CHECK(score_new(&c, 1, NULL, NULL) == NULL);
}

static void test_score__events_without_callback_or_fields_are_safe(void)
{
	struct score_config c;
	struct score_engine *e;
	struct score_event ev;
	struct net_addr h = ip4(10, 1, 0, 1);
	struct score_stats st;

	score_config_default(&c);
	e = score_new(&c, 1, NULL, NULL);
	CHECK(e != NULL);
	if (!e)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = T_MON;
	ev.client = &h;
	ev.provider = PROVIDER;        /* no service, server, ja4, sni, cid */
	ev.first = ev.final = true;
	ev.delta_toclient = 900 * MB;
	score_event(e, &ev);
	ev.ts_ns = T_WED;
	score_event(e, &ev);           /* after learning; no callback set */
	ev.provider = NULL;            /* unattributed: ignored */
	score_event(e, &ev);
	score_get_stats(e, &st);
	CHECK_EQ_U(st.events, 3);
	score_free(e);
	score_free(NULL);
}

/* ------------------------------------------------------- bounded memory */

static void test_score__many_hosts_with_few_pairs_stay_bounded(void)
{
	struct fx f;
	struct score_config c;
	struct score_stats st;

	score_config_default(&c);
	c.max_pairs = 4;
	c.max_novelty = 16;
	fx_start_cfg(&f, &c);
	/* 500 hosts, each a session an hour for two days, then bursts */
	for (uint64_t h = T_MON; h < T_WED; h += HOUR_NS) {
		for (unsigned i = 0; i < 500; i++) {
			struct net_addr a = ip4(10, 3, (uint8_t)(i >> 8), (uint8_t)i);
			session(&f, &a, i % 2 ? COMMON_JA4 : ODD_JA4, h + i * SEC, SEC, 1000, 50000);
		}
	}
	for (unsigned i = 0; i < 500; i++) {
		struct net_addr a = ip4(10, 3, (uint8_t)(i >> 8), (uint8_t)i);
		transfer(&f, &a, COMMON_JA4, WED_1000 + i * SEC, 5 * MIN_NS, 2, 0, 300 * MB);
	}
	st = stats(&f);
	CHECK(st.pairs_evicted > 0);
	CHECK(st.novelty_evicted > 0);
	CHECK_EQ_U(st.events, 500 * 48 + 500 * 3);
	fx_end(&f);
}

/* ----------------------------------------------------------------- state */

static char tmpdir[64];

static void make_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-score.XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	make_tmpdir();
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (!fp)
		return;
	CHECK_EQ_U(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	*len = 0;
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	fclose(fp);
	return buf;
}

/* Learn the organisation until Wednesday 10:00 and save the state. */
static void learned_state(const char *path)
{
	struct fx f;
	char err[512] = "";

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_I(score_state_save(f.e, path, err, sizeof(err)), 0);
	fx_end(&f);
}

static void test_score__state_save_is_atomic_json(void)
{
	char path[128], tmp[160];
	size_t len;
	char *data;
	json_error_t jerr;
	json_t *root;

	glob_t g;

	tmp_path(path, sizeof(path), "atomic.json");
	learned_state(path);
	learned_state(path); /* replaced: a second save over the first */
	snprintf(tmp, sizeof(tmp), "%s.*", path);
	CHECK_EQ_I(glob(tmp, 0, NULL, &g), GLOB_NOMATCH); /* no temp file left behind */
	if (g.gl_pathc)
		globfree(&g);
	data = read_file(path, &len);
	CHECK(data != NULL && len > 0);
	root = data ? json_loads(data, 0, &jerr) : NULL;
	CHECK(root != NULL);
	CHECK(json_is_object(root));
	CHECK(json_array_size(json_object_get(root, "pairs")) == ORG_HOSTS);
	json_decref(root);
	free(data);
}

static void test_score__state_load_keeps_learning_and_baselines(void)
{
	struct fx f, control;
	char path[128], err[512] = "";
	struct net_addr h3 = org_host(3);

	tmp_path(path, sizeof(path), "learned.json");
	learned_state(path);

	fx_start(&f);
	CHECK_EQ_I(score_state_load(f.e, path, err, sizeof(err)), 0);
	/* the very first record after a restart is a bulk download: no new
	 * learning period, and the host's own baseline is there */
	transfer(&f, &h3, COMMON_JA4, WED_1000 + 5 * MIN_NS, 20 * MIN_NS, 1, MB, 600 * MB);
	CHECK_EQ_U(f.log.n, 1);
	if (f.log.n >= 1) {
		const struct got *g = &f.log.a[0];
		CHECK_EQ_I(g->kind, SIG_BULK_DOWNLOAD);
		CHECK(!isnan(g->baseline[0]));   /* own hourly reference kept */
		CHECK(g->baseline[0] > 0.5 * MB && g->baseline[0] < 20.0 * MB);
		CHECK(!isnan(g->peer[0]));       /* peers' reference kept */
		CHECK(!has_reason(g, SIG_NEW_CLIENT)); /* novelty kept */
		CHECK(strstr(g->detail[0], "no history") == NULL);
	}
	/* ordinary traffic after the restart is still ordinary */
	org_baseline(&f, WED_1000 + HOUR_NS, WED_1000 + 3 * HOUR_NS);
	CHECK_EQ_U(alerts_for(&f.log, &h3), 1);
	CHECK_EQ_U(f.log.n, 1);
	fx_end(&f);

	/* the control: without the state the same record starts learning and
	 * is judged against floors only, saying so */
	fx_start(&control);
	transfer(&control, &h3, COMMON_JA4, WED_1000 + 5 * MIN_NS, 20 * MIN_NS, 1, MB, 600 * MB);
	CHECK_EQ_U(control.log.n, 1);
	if (control.log.n >= 1) {
		CHECK(control.log.a[0].learning);
		CHECK(isnan(control.log.a[0].baseline[0]));
		CHECK(strstr(control.log.a[0].detail[0], "no history") != NULL);
	}
	fx_end(&control);
}

static void test_score__state_load_rejects_bad_files_and_stays_usable(void)
{
	struct fx f;
	char good[128], path[128], err[512];
	struct net_addr h3 = org_host(3);
	size_t len;
	char *data, *p;
	struct {
		const char *name;
		int rc;
	} cases[] = {
		{ "missing.json", -ENOENT },
		{ "corrupt.json", -EINVAL },
		{ "truncated.json", -EINVAL },
		{ "version.json", -EINVAL },
		{ "empty.json", -EINVAL },
		{ "wrongtype.json", -EINVAL },
	};

	tmp_path(good, sizeof(good), "good.json");
	learned_state(good);
	data = read_file(good, &len);
	CHECK(data != NULL && len > 100);
	if (!data)
		return;

	tmp_path(path, sizeof(path), "corrupt.json");
	write_file(path, "{\"mailtap_state\": 1, \"pairs\": [ {{{ garbage", 41);
	tmp_path(path, sizeof(path), "truncated.json");
	write_file(path, data, len / 2);
	tmp_path(path, sizeof(path), "empty.json");
	write_file(path, "", 0);
	tmp_path(path, sizeof(path), "wrongtype.json");
	write_file(path, "{\"mailtap_state\":1,\"learn_end_ns\":5,\"pairs\":7}", 46);
	p = strstr(data, "\"mailtap_state\":2");
	CHECK(p != NULL);
	if (p)
		p[strlen("\"mailtap_state\":")] = '9';
	tmp_path(path, sizeof(path), "version.json");
	write_file(path, data, len);
	free(data);

	fx_start(&f);
	CHECK_EQ_I(score_state_load(f.e, good, err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int rc;
		tmp_path(path, sizeof(path), cases[i].name);
		memset(err, 0, sizeof(err));
		rc = score_state_load(f.e, path, err, sizeof(err));
		if (rc != cases[i].rc || !strstr(err, path))
			fprintf(stderr, "  case %s: rc %d, \"%s\"\n", cases[i].name, rc, err);
		CHECK_EQ_I(rc, cases[i].rc);
		CHECK(strstr(err, path) != NULL);  /* the message names the file */
	}
	/* the engine still has the good state: learning over, baselines in */
	transfer(&f, &h3, COMMON_JA4, WED_1000 + 5 * MIN_NS, 20 * MIN_NS, 1, MB, 600 * MB);
	CHECK_EQ_U(f.log.n, 1);
	if (f.log.n >= 1)
		CHECK(!isnan(f.log.a[0].baseline[0]));
	fx_end(&f);
}

static void test_score__failed_load_into_fresh_engine_leaves_it_learning(void)
{
	struct fx f;
	char path[128], err[512] = "";
	struct net_addr h3 = org_host(3);

	tmp_path(path, sizeof(path), "corrupt2.json");
	write_file(path, "{]", 2);
	fx_start(&f);
	CHECK_EQ_I(score_state_load(f.e, path, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, path) != NULL);
	org_baseline(&f, T_MON, WED_1000);
	CHECK_EQ_U(f.log.n, 0);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 20 * MIN_NS, 1, MB, 600 * MB);
	CHECK_EQ_U(f.log.n, 1);
	fx_end(&f);
}

static void test_score__state_save_to_unwritable_place_fails_with_message(void)
{
	struct fx f;
	char err[512] = "";
	const char *path = "/nonexistent-dir-for-mailtap-test/state.json";

	fx_start(&f);
	org_baseline(&f, T_MON, T_MON + 2 * HOUR_NS);
	CHECK(score_state_save(f.e, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/nonexistent-dir-for-mailtap-test/state.json") != NULL);
	fx_end(&f);
}

/* --------------------------------------------------------- hourly history */

/* Count the closed hours the engine keeps for @host (via the state file). */
static long hist_hours(struct score_engine *e, const struct net_addr *host)
{
	char path[128], err[512], want[NET_ADDR_STRLEN];
	json_error_t jerr;
	json_t *root, *x;
	size_t i;
	long n = -1;

	tmp_path(path, sizeof(path), "hist.json");
	if (score_state_save(e, path, err, sizeof(err)) < 0)
		return -1;
	root = json_load_file(path, 0, &jerr);
	net_addr_format(host, want, sizeof(want));
	json_array_foreach(json_object_get(root, "pairs"), i, x) {
		const char *h = json_string_value(json_object_get(x, "host"));
		if (h && !strcmp(h, want))
			n = (long)json_array_size(json_object_get(x, "hist_down"));
	}
	json_decref(root);
	return n;
}

/* A late record (a final record stamped with its flow's last packet, from
 * the hour before) must not turn the hourly history back: ten hours of
 * traffic are nine closed hours whatever the order of records. */
static void test_score__late_record_does_not_rewind_hourly_history(void)
{
	struct fx f;
	struct net_addr h = ip4(10, 1, 0, 1);

	fx_start(&f);
	for (unsigned hour = 0; hour < 10; hour++) {
		uint64_t t = T_MON + hour * HOUR_NS;
		session(&f, &h, COMMON_JA4, t + 10 * MIN_NS, MIN_NS, MB / 10, MB);
		if (hour == 5) /* a flow whose last packet was at 04:59 */
			session(&f, &h, COMMON_JA4, t - 30 * MIN_NS, 29 * MIN_NS, MB / 10, MB);
	}
	CHECK_EQ_I(hist_hours(f.e, &h), 9);
	fx_end(&f);
}

static void test_score__idle_hours_are_history_too(void)
{
	struct fx f;
	struct net_addr h = ip4(10, 1, 0, 1);

	fx_start(&f);
	session(&f, &h, COMMON_JA4, T_MON, MIN_NS, MB / 10, MB);
	session(&f, &h, COMMON_JA4, T_MON + 5 * HOUR_NS + MIN_NS, MIN_NS, MB / 10, MB);
	CHECK_EQ_I(hist_hours(f.e, &h), 5);
	fx_end(&f);
}


/* ------------------------------------------------------ day one, beacons */

struct tlog {
	size_t n, alerted, suppressed, threshold, allowlist;
	struct score_reason last[SIG_COUNT];
	double last_score;
	bool last_learning;
};

static void on_trace(const struct score_trace *t, void *arg)
{
	struct tlog *l = arg;
	l->n++;
	l->alerted += t->gate == GATE_NONE;
	l->suppressed += t->gate == GATE_SUPPRESSED;
	l->threshold += t->gate == GATE_THRESHOLD;
	l->allowlist += t->gate == GATE_ALLOWLIST;
	memcpy(l->last, t->all, sizeof(l->last));
	l->last_score = t->score;
	l->last_learning = t->learning;
}

/* A poll every @period_s (+-@jitter_s) from @from to @to, @down bytes each. */
static void poll(struct fx *f, const struct net_addr *host, const char *ja4, uint64_t from,
		 uint64_t to, unsigned period_s, unsigned jitter_s, uint64_t down)
{
	for (uint64_t t = from; t < to; t += (uint64_t)period_s * SEC) {
		uint64_t j = jitter_s ? rnd(f, 2 * jitter_s + 1) * SEC : 0;
		session(f, host, ja4, t + j, 2 * SEC, 1200, down);
	}
}

static size_t kind_alerts(const struct alog *log, const struct net_addr *host, int kind)
{
	size_t n = 0;
	for (size_t i = 0; i < log->n && i < ARRAY_LEN(log->a); i++)
		n += !net_addr_cmp(&log->a[i].host, host) && log->a[i].kind == kind;
	return n;
}

static void test_score__regular_rare_poll_alerts_on_day_one(void)
{
	struct fx f;
	struct net_addr h5 = org_host(5);

	fx_start(&f);
	org_baseline(&f, T_MON, T_MON + 2 * HOUR_NS);
	/* a script polling every 2 min for 4 h, 150 kB a time, with a client
	 * nobody else uses: no state, inside learning */
	poll(&f, &h5, ODD_JA4, T_MON + 2 * HOUR_NS, T_MON + 6 * HOUR_NS, 120, 2, 150000);
	CHECK(kind_alerts(&f.log, &h5, SIG_BEACONING) == 1); /* one incident, one alert */
	for (size_t i = 0; i < f.log.n; i++)
		if (f.log.a[i].kind == SIG_BEACONING) {
			CHECK(f.log.a[i].learning);
			CHECK(strstr(f.log.a[i].detail[0], "every 12") != NULL);
			break;
		}
	fx_end(&f);
}

static void test_score__short_regular_poll_is_weaker_than_a_long_one(void)
{
	struct fx f;
	struct net_addr h5 = org_host(5);
	struct tlog t30, t4h;

	fx_start(&f);
	memset(&t30, 0, sizeof(t30));
	score_set_trace(f.e, &h5, on_trace, &t30);
	poll(&f, &h5, ODD_JA4, T_MON + 2 * HOUR_NS, T_MON + 2 * HOUR_NS + 30 * MIN_NS, 120, 2, 150000);
	memset(&t4h, 0, sizeof(t4h));
	score_set_trace(f.e, &h5, on_trace, &t4h);
	poll(&f, &h5, ODD_JA4, T_MON + 2 * HOUR_NS + 30 * MIN_NS, T_MON + 6 * HOUR_NS, 120, 2, 150000);
	if (getenv("TEST_SCORE_VERBOSE"))
		fprintf(stderr, "    30 min: %.3f %s\n    4 h: %.3f %s\n", t30.last[SIG_BEACONING].strength,
			t30.last[SIG_BEACONING].detail, t4h.last[SIG_BEACONING].strength,
			t4h.last[SIG_BEACONING].detail);
	CHECK(t30.last[SIG_BEACONING].strength < 0.3);
	CHECK(t4h.last[SIG_BEACONING].strength > 2 * t30.last[SIG_BEACONING].strength);
	CHECK(t4h.last[SIG_BEACONING].strength * f.cfg.weight[SIG_BEACONING] >= f.cfg.alert_threshold);
	fx_end(&f);
}

static void test_score__poll_common_to_many_hosts_does_not_alert(void)
{
	struct fx f;

	fx_start(&f);
	/* the organisation's standard client: every host polls alike */
	for (uint64_t t = T_MON + 2 * HOUR_NS; t < T_MON + 8 * HOUR_NS; t += 120 * SEC)
		for (unsigned h = 1; h <= ORG_HOSTS; h++) {
			struct net_addr a = org_host(h);
			session(&f, &a, COMMON_JA4, t + h * SEC + rnd(&f, 5) * SEC, 2 * SEC, 1200, 150000);
		}
	for (unsigned h = 1; h <= ORG_HOSTS; h++) {
		struct net_addr a = org_host(h);
		CHECK_EQ_U(kind_alerts(&f.log, &a, SIG_BEACONING), 0);
	}
	fx_end(&f);
}

static void test_score__tiny_poll_as_old_as_the_run_does_not_alert_alone(void)
{
	struct fx f;
	struct net_addr probe = ip4(10, 1, 7, 7);

	fx_start(&f);
	/* a monitoring probe logging in every 5 minutes from the first record */
	poll(&f, &probe, ODD_JA4, T_MON, T_MON + 20 * HOUR_NS, 300, 3, 3000);
	CHECK_EQ_U(f.log.n, 0);
	fx_end(&f);
}

/* The beacon evidence is the same whether the sessions come in one run or
 * across a --state restart. */
static void test_score__beacon_strength_survives_a_state_restart(void)
{
	struct fx a, b, c;
	struct net_addr h5 = org_host(5), other = org_host(6);
	struct tlog ta, tc;
	char path[128], err[512] = "";
	uint64_t mid = T_MON + 3 * HOUR_NS, end = T_MON + 7 * HOUR_NS;

	tmp_path(path, sizeof(path), "beacon-state.json");
	fx_start(&a);
	memset(&ta, 0, sizeof(ta));
	score_set_trace(a.e, &h5, on_trace, &ta);
	session(&a, &other, COMMON_JA4, T_MON, MIN_NS, MB / 10, MB);
	poll(&a, &h5, ODD_JA4, T_MON + HOUR_NS, mid, 97, 0, 40000);
	poll(&a, &h5, ODD_JA4, mid, end, 97, 0, 40000);

	fx_start(&b);
	session(&b, &other, COMMON_JA4, T_MON, MIN_NS, MB / 10, MB);
	poll(&b, &h5, ODD_JA4, T_MON + HOUR_NS, mid, 97, 0, 40000);
	CHECK_EQ_I(score_state_save(b.e, path, err, sizeof(err)), 0);
	fx_start(&c);
	CHECK_EQ_I(score_state_load(c.e, path, err, sizeof(err)), 0);
	memset(&tc, 0, sizeof(tc));
	score_set_trace(c.e, &h5, on_trace, &tc);
	poll(&c, &h5, ODD_JA4, mid, end, 97, 0, 40000);

	CHECK(ta.last[SIG_BEACONING].strength > 0);
	CHECK(fabs(ta.last[SIG_BEACONING].strength - tc.last[SIG_BEACONING].strength) < 1e-12);
	CHECK(fabs(ta.last[SIG_BEACONING].value - tc.last[SIG_BEACONING].value) < 1e-12);
	CHECK_STREQ(ta.last[SIG_BEACONING].detail, tc.last[SIG_BEACONING].detail);
	fx_end(&a);
	fx_end(&b);
	fx_end(&c);
}

/* A burst still inside the 8-hour window hours later is the same evidence:
 * the same alert, not a new one. */
static void test_score__old_burst_seen_again_later_is_not_a_new_alert(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3);

	fx_start(&f);
	org_baseline(&f, T_MON, WED_1000);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 30 * MIN_NS, 6, MB, 600 * MB);
	/* three quiet hours, then ordinary traffic while the burst is still
	 * in the long window */
	org_baseline(&f, WED_1000 + 4 * HOUR_NS, WED_1000 + 7 * HOUR_NS);
	CHECK_EQ_U(stats(&f).alerts, 1);
	CHECK_EQ_U(alerts_for(&f.log, &h3), 1);
	fx_end(&f);
}

static void test_score__day_window_catches_a_drip_below_the_other_floors(void)
{
	struct fx f;
	struct net_addr h4 = org_host(4);
	bool day = false;

	fx_start(&f);
	org_baseline(&f, T_MON, T_WED);
	/* ~14 MB/h more than usual for a day: under 50 MB per 30 min and
	 * under 150 MB per 8 h, ~330 MB in the day */
	for (uint64_t t = T_WED; t < T_WED + 24 * HOUR_NS; t += HOUR_NS) {
		org_baseline(&f, t, t + HOUR_NS);
		/* at irregular times: no beacon */
		uint64_t at[6];
		for (unsigned k = 0; k < 6; k++)
			at[k] = t + (uint64_t)(k * 600 + rnd(&f, 500)) * SEC;
		for (unsigned k = 0; k < 6; k++)
			session(&f, &h4, COMMON_JA4, at[k], MIN_NS, 20000, 2300000);
	}
	for (size_t i = 0; i < f.log.n; i++)
		if (!net_addr_cmp(&f.log.a[i].host, &h4) && f.log.a[i].kind == SIG_BULK_DOWNLOAD &&
		    strstr(f.log.a[i].detail[0], "in 24 h"))
			day = true;
	CHECK(day);
	for (size_t i = 0; i < f.log.n; i++) /* one incident: revisions of one alert */
		if (!net_addr_cmp(&f.log.a[i].host, &h4))
			CHECK_STREQ(f.log.a[i].id, f.log.a[0].id);
	fx_end(&f);
}

static void test_score__host_new_to_the_run_is_novel_without_learning(void)
{
	struct fx f;
	struct net_addr newbie = ip4(10, 1, 0, 77), h2 = org_host(2);
	struct tlog tn, t2;

	fx_start(&f);
	org_baseline(&f, T_MON, T_MON + 4 * HOUR_NS);
	memset(&tn, 0, sizeof(tn));
	score_set_trace(f.e, &newbie, on_trace, &tn);
	session(&f, &newbie, ODD_JA4, T_MON + 4 * HOUR_NS + 10 * MIN_NS, MIN_NS, 1000, 20000);
	CHECK(tn.last_learning);
	CHECK(tn.last[SIG_NEW_CLIENT].strength >= 0.4);
	CHECK(strstr(tn.last[SIG_NEW_CLIENT].detail, "earlier in this run") != NULL);
	/* a host of the first hour is not new to the run */
	memset(&t2, 0, sizeof(t2));
	score_set_trace(f.e, &h2, on_trace, &t2);
	session(&f, &h2, ODD_JA4, T_MON + 4 * HOUR_NS + 20 * MIN_NS, MIN_NS, 1000, 20000);
	CHECK(t2.n == 1);
	CHECK(t2.last[SIG_NEW_CLIENT].strength == 0);
	CHECK(strstr(t2.last[SIG_NEW_CLIENT].gate, "learning") != NULL);
	fx_end(&f);
}

static void test_score__trace_names_the_gate_of_every_evaluation(void)
{
	struct fx f;
	struct net_addr h3 = org_host(3), out = ip4(198, 51, 100, 7);
	struct tlog t3, to;
	struct score_config c;

	score_config_default(&c);
	CHECK_EQ_I(score_config_add_allow(&c, "10.1.0.8/32"), 0);
	fx_start_cfg(&f, &c);
	memset(&t3, 0, sizeof(t3));
	score_set_trace(f.e, &h3, on_trace, &t3);
	org_baseline(&f, T_MON, WED_1000);
	CHECK(t3.threshold > 0 && t3.alerted == 0);
	CHECK(t3.last[SIG_BULK_DOWNLOAD].gate[0] != '\0'); /* e.g. "floor: ..." */
	CHECK(strstr(t3.last[SIG_OFF_HOURS].gate, "working hours") != NULL ||
	      strstr(t3.last[SIG_OFF_HOURS].gate, "floor") != NULL);
	transfer(&f, &h3, COMMON_JA4, WED_1000, 30 * MIN_NS, 6, MB, 600 * MB);
	CHECK_EQ_U(t3.alerted, 1);
	CHECK(t3.suppressed >= 1);
	/* allowlisted and outside hosts are reported with their gate */
	{
		struct net_addr h8 = org_host(8);
		struct tlog t8;
		memset(&t8, 0, sizeof(t8));
		score_set_trace(f.e, &h8, on_trace, &t8);
		session(&f, &h8, COMMON_JA4, WED_1000 + HOUR_NS, MIN_NS, 1000, 1000);
		CHECK_EQ_U(t8.allowlist, 1);
	}
	memset(&to, 0, sizeof(to));
	score_set_trace(f.e, &out, on_trace, &to);
	session(&f, &out, COMMON_JA4, WED_1000 + HOUR_NS, MIN_NS, 1000, 1000);
	CHECK_EQ_U(to.n, 1);
	score_set_trace(f.e, NULL, NULL, NULL);
	fx_end(&f);
}

static void cleanup_tmpdir(void)
{
	char cmd[128];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

int main(void)
{
	/* working hours come from the engine's own zone tables (util-tz), not
	 * the process zone: a zone far from UTC must change nothing here */
	setenv("TZ", "Pacific/Kiritimati", 1);
	tzset();

	RUN(test_score__alerts_during_learning_say_so);
	RUN(test_score__ordinary_first_day_is_quiet);
	RUN(test_score__alerts_once_learning_is_over);
	RUN(test_score__bulk_download_after_steady_baseline_alerts_once);
	RUN(test_score__bulk_download_in_interim_updates_alerts);
	RUN(test_score__bulk_upload_after_steady_baseline_alerts_once);
	RUN(test_score__bulk_upload_in_interim_updates_alerts);
	RUN(test_score__single_attachment_upload_does_not_alert);
	RUN(test_score__new_host_with_the_common_client_does_not_alert);
	RUN(test_score__regular_tiny_sync_by_known_client_does_not_alert);
	RUN(test_score__beaconing_by_never_seen_client_alerts);
	RUN(test_score__night_volume_after_learning_alerts_with_off_hours);
	RUN(test_score__small_night_sync_is_not_off_hours);
	RUN(test_score__night_bulk_download_by_new_client_has_several_reasons);
	RUN(test_score__continued_download_is_suppressed);
	RUN(test_score__higher_score_realerts_as_revision_of_same_alert);
	RUN(test_score__same_download_after_suppression_window_is_new_alert);
	RUN(test_score__late_final_record_does_not_duplicate_alert);
	RUN(test_score__allowlisted_host_is_never_scored);
	RUN(test_score__allow_rule_exempts_only_its_signals_and_provider);
	RUN(test_score__site_time_zone_decides_off_hours);
	RUN(test_score__non_internal_host_is_never_scored);
	RUN(test_score__non_internal_traffic_does_not_start_learning);
	RUN(test_score__custom_internal_networks_replace_the_default);
	RUN(test_score__config_networks_reject_bad_input);
	RUN(test_score__new_rejects_impossible_windows);
	RUN(test_score__events_without_callback_or_fields_are_safe);
	RUN(test_score__many_hosts_with_few_pairs_stay_bounded);
	RUN(test_score__state_save_is_atomic_json);
	RUN(test_score__state_load_keeps_learning_and_baselines);
	RUN(test_score__state_load_rejects_bad_files_and_stays_usable);
	RUN(test_score__failed_load_into_fresh_engine_leaves_it_learning);
	RUN(test_score__state_save_to_unwritable_place_fails_with_message);
	RUN(test_score__late_record_does_not_rewind_hourly_history);
	RUN(test_score__idle_hours_are_history_too);
	RUN(test_score__regular_rare_poll_alerts_on_day_one);
	RUN(test_score__short_regular_poll_is_weaker_than_a_long_one);
	RUN(test_score__poll_common_to_many_hosts_does_not_alert);
	RUN(test_score__tiny_poll_as_old_as_the_run_does_not_alert_alone);
	RUN(test_score__beacon_strength_survives_a_state_restart);
	RUN(test_score__old_burst_seen_again_later_is_not_a_new_alert);
	RUN(test_score__day_window_catches_a_drip_below_the_other_floors);
	RUN(test_score__host_new_to_the_run_is_novel_without_learning);
	RUN(test_score__trace_names_the_gate_of_every_evaluation);
	cleanup_tmpdir();
	return CHECK_DONE();
}
