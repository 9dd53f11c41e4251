/* SPDX-License-Identifier: MIT */
/*
 * explain.c -- the --explain printer.  See explain.h.
 *
 * One block per evaluation:
 *
 *   2026-03-04T10:03:06Z 10.1.0.66 microsoft365/web score 85 ALERT bulk_download (new) ...
 *     bulk_download  1.000  value 61.7 MB  baseline 3.4 MB  peer 2.0 MB | 61.7 MB down ...
 *     beaconing      0.000  ... gate: common: 9 other clients poll alike
 */
#include "explain.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "net-addr.h"
#include "score-rules.h"

struct explain {
	FILE *out;
	unsigned long evaluations, alerts, revisions, suppressed, held;
};

static struct explain ex; /* one --explain per process */

static void fmt_time(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_value(char *buf, size_t len, double v, const char *unit)
{
	if (isnan(v)) {
		snprintf(buf, len, "-");
	} else if (unit && !strcmp(unit, "bytes")) {
		if (v >= 1e9)
			snprintf(buf, len, "%.2f GB", v / 1e9);
		else if (v >= 1e6)
			snprintf(buf, len, "%.1f MB", v / 1e6);
		else if (v >= 1e3)
			snprintf(buf, len, "%.1f kB", v / 1e3);
		else
			snprintf(buf, len, "%.0f B", v);
	} else {
		snprintf(buf, len, "%.3g", v);
	}
}

static const char *outcome(const struct score_trace *t, char *buf, size_t len)
{
	switch (t->gate) {
	case GATE_NONE:
		snprintf(buf, len, "ALERT %s %s rev %u", score_rules[t->kind].name,
			 t->alert_id ? t->alert_id : "", t->revision);
		break;
	case GATE_SUPPRESSED:
		snprintf(buf, len, "held: suppression (same evidence as alert %s, %s)",
			 t->alert_id ? t->alert_id : "", score_rules[t->kind].name);
		break;
	case GATE_THRESHOLD:
		snprintf(buf, len, "held: threshold");
		break;
	case GATE_NOT_INTERNAL:
		snprintf(buf, len, "not scored: the host is in no internal network");
		break;
	case GATE_ALLOWLIST:
		snprintf(buf, len, "not scored: allowlisted");
		break;
	}
	return buf;
}

static void on_trace(const struct score_trace *t, void *arg)
{
	struct explain *x = arg;
	char ts[32], host[NET_ADDR_STRLEN], res[160];

	x->evaluations++;
	x->alerts += t->gate == GATE_NONE && t->revision == 0;
	x->revisions += t->gate == GATE_NONE && t->revision > 0;
	x->suppressed += t->gate == GATE_SUPPRESSED;
	x->held += t->gate == GATE_THRESHOLD;
	fmt_time(ts, sizeof(ts), t->ts_ns);
	net_addr_format(t->host, host, sizeof(host));
	fprintf(x->out, "%s %s %s/%s score %.0f%s: %s\n", ts, host, t->provider ? t->provider : "-",
		t->service && t->service[0] ? t->service : "-", t->score,
		t->learning ? " (learning)" : "", outcome(t, res, sizeof(res)));
	if (t->gate == GATE_NOT_INTERNAL || t->gate == GATE_ALLOWLIST)
		return;
	for (int i = 0; i < SIG_COUNT; i++) {
		const struct score_reason *r = &t->all[i];
		char v[24], b[24], p[24];
		fmt_value(v, sizeof(v), r->value, r->unit);
		fmt_value(b, sizeof(b), r->baseline, r->unit);
		fmt_value(p, sizeof(p), r->peer, r->unit && !strcmp(r->unit, "score") ? "" : r->unit);
		fprintf(x->out, "  %-13s %5.3f  value %-9s baseline %-9s peer %-9s%s%s%s%s\n",
			score_rules[i].name, r->strength, v, b, p, r->detail[0] ? " | " : "",
			r->detail, r->gate[0] ? " | gate: " : "", r->gate);
	}
}

int explain_attach(struct score_engine *e, const char *host, FILE *out)
{
	struct net_addr a;
	if (net_addr_parse(host, &a) < 0)
		return -EINVAL;
	memset(&ex, 0, sizeof(ex));
	ex.out = out;
	score_set_trace(e, &a, on_trace, &ex);
	return 0;
}

void explain_finish(const struct score_engine *e)
{
	char ts[32] = "-";
	uint64_t le = score_learning_end(e);
	if (!ex.out)
		return;
	if (le)
		fmt_time(ts, sizeof(ts), le);
	fprintf(ex.out,
		"explain: %lu evaluations: %lu alerts, %lu revisions, %lu held by suppression, "
		"%lu below the threshold; learning until %s\n",
		ex.evaluations, ex.alerts, ex.revisions, ex.suppressed, ex.held, ts);
	fflush(ex.out);
}
