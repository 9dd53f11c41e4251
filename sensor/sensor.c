/* SPDX-License-Identifier: MIT */
/*
 * sensor.c -- the running sensor: wiring of catalog, aggregator, scoring
 * and sinks; the session and alert callbacks; heartbeats, state saves,
 * SIGHUP reloads and the stats summary.  See sensor.h.
 */
#include "sensor.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <systemd/sd-daemon.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "community-id.h"
#include "decode.h"
#include "explain.h"
#include "metrics.h"
#include "output-json.h"
#include "output.h"
#include "privdrop.h"
#include "score.h"
#include "util-log.h"

#ifndef MAILTAP_VERSION
#define MAILTAP_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define EXIT_OUTPUT 3
#define NS 1000000000ull

/* Signal flags: the only mutable globals, written by the handler. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;
static volatile sig_atomic_t reload_requested;

struct sensor {
	const struct sensor_options *opts;   /* borrowed (see sensor_new) */
	const struct sensor_options *start_opts; /* borrowed: what it started with */
	struct sensor_options reload_opts;   /* owned: options after a reload */
	bool have_reload_opts;
	int argc;
	char **argv;                         /* borrowed: main's, for reloads */
	struct catalog *catalog;             /* owned */
	struct aggregator *agg;              /* owned */
	struct score_engine *score;          /* owned */
	struct out_sink *sessions[OPT_LIST_MAX], *alerts[OPT_LIST_MAX]; /* owned */
	int nsessions, nalerts;
	struct session_json_opts jopts;
	bool all_flows;
	struct decode_stats dstats;
	struct sensor_capture_stats cap;
	uint64_t session_records, alert_records;
	uint64_t last_state_save_ns;         /* packet time */
	uint64_t start_wall_ns, last_heartbeat_mono_ns, last_packet_ns;
	uint64_t reloads_ok, reloads_failed;
	struct metrics *metrics;             /* owned; NULL = no endpoint */
	struct metrics_server *metrics_srv;  /* owned */
	uint64_t watchdog_ns;                /* systemd watchdog period; 0 = none */
	uint64_t last_watchdog_mono_ns;
	int output_failed;
	int stdout_closed;                   /* EPIPE on a "-" sink: quiet stop */
	int fatal;                           /* a start-up step failed: stop, exit 2 */
	bool learning_noticed;               /* "learning until T" said once */
};

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

void sensor_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* stop requests interrupt a blocking read; the others must not */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ stats */

static void print_stats(struct sensor *s)
{
	struct agg_stats as;
	struct flow_table_stats fs;
	struct app_stats ap;
	struct score_stats st;
	const struct decode_stats *d = &s->dstats;
	typedef unsigned long long ull;

	if (!log_enabled(LOG_LVL_INFO))
		return;
	agg_get_stats(s->agg, &as, &fs);
	fprintf(stderr,
		"mailtap: read %llu packets, %llu bytes on the wire (%s)\n"
		"  link:    eth %llu, vlan tags %llu, mpls %llu, sll %llu, sll2 %llu, loopback %llu, raw %llu, non-ip %llu\n"
		"  network: ipv4 %llu, ipv6 %llu (ext headers %llu), fragments %llu\n"
		"  transport: tcp %llu, udp %llu, icmp %llu, icmpv6 %llu, other %llu\n"
		"  problems: truncated %llu, invalid %llu, unsupported %llu, ip length > frame %llu, orphan fragments %llu\n"
		"  flows:   created %llu, ended %llu, timed out %llu, evicted %llu, active %llu (max %llu)\n"
		"  records: %llu written (of %llu ended flows and %llu updates; the rest were not mail)\n",
		(ull)d->packets, (ull)d->bytes, s->cap.mode ? s->cap.mode : "-",
		(ull)d->eth, (ull)d->vlan, (ull)d->mpls, (ull)d->sll, (ull)d->sll2,
		(ull)d->null_loop, (ull)d->raw, (ull)d->non_ip,
		(ull)d->ipv4, (ull)d->ipv6, (ull)d->ipv6_ext, (ull)d->frags,
		(ull)d->tcp, (ull)d->udp, (ull)d->icmp, (ull)d->icmp6, (ull)d->other_l4,
		(ull)d->truncated, (ull)d->invalid, (ull)d->unsupported, (ull)d->wire_len_mismatch,
		(ull)as.frag_orphans, (ull)fs.created, (ull)fs.ended, (ull)fs.timed_out, (ull)fs.evicted, (ull)fs.active,
		(ull)fs.max_active, (ull)s->session_records, (ull)as.sessions, (ull)as.updates);
	{
		/* only when there is something to say, so the summary of a
		 * capture without tunnels or clock trouble stays as it was */
		uint64_t tun = 0;
		for (int t = 1; t < TUNNEL_TYPE_COUNT; t++)
			tun += d->tunnel[t];
		if (tun || d->tunnel_bad || d->tunnel_depth_exceeded || d->ppp)
			fprintf(stderr,
				"  tunnels: vxlan %llu, geneve %llu, gre %llu, erspan %llu, ipip %llu, teredo %llu; bad header %llu, too deep %llu; ppp link %llu\n",
				(ull)d->tunnel[TUNNEL_VXLAN], (ull)d->tunnel[TUNNEL_GENEVE],
				(ull)d->tunnel[TUNNEL_GRE], (ull)d->tunnel[TUNNEL_ERSPAN],
				(ull)d->tunnel[TUNNEL_IPIP], (ull)d->tunnel[TUNNEL_TEREDO],
				(ull)d->tunnel_bad, (ull)d->tunnel_depth_exceeded, (ull)d->ppp);
		if (as.time_regressions || as.clock_jumps || as.clock_jumps_taken)
			fprintf(stderr,
				"  clock:   late packets %llu, timestamps > 1 day ahead not taken %llu, gaps > 1 day taken %llu\n",
				(ull)as.time_regressions, (ull)as.clock_jumps,
				(ull)as.clock_jumps_taken);
	}
	if (s->cap.mode && strcmp(s->cap.mode, "pcap-file"))
		fprintf(stderr, "  capture: dropped %llu, interface dropped %llu\n", (ull)s->cap.drops,
			(ull)s->cap.if_drops);
	if (agg_get_app_stats(s->agg, &ap))
		fprintf(stderr,
			"  identify: client hellos %llu (after STARTTLS %llu, incomplete %llu), not tls %llu, bad tls %llu\n"
			"            dns responses %llu (bad %llu, addresses learned %llu)\n"
			"            server certificates %llu (none in clear %llu, bad %llu)\n"
			"            mail sessions by sni %llu, by dns %llu, by cert %llu, by ip %llu; pools full: ident %llu, reassembly %llu\n",
			(ull)ap.hellos, (ull)ap.starttls, (ull)ap.hellos_incomplete, (ull)ap.not_tls,
			(ull)ap.tls_invalid, (ull)ap.dns_responses, (ull)ap.dns_bad, (ull)ap.dns_answers,
			(ull)ap.certs, (ull)ap.certs_none, (ull)ap.certs_bad, (ull)ap.by_sni,
			(ull)ap.by_dns, (ull)ap.by_cert, (ull)ap.by_ip, (ull)ap.ident_exhausted,
			(ull)ap.reasm_exhausted);
	if (ap.quic.datagrams) /* only then, so other summaries stay as they were */
		fprintf(stderr,
			"  quic:    client datagrams %llu, initials decrypted %llu (failed %llu), malformed %llu, skipped %llu, version negotiation %llu, unknown version %llu\n"
			"           hellos %llu (gquic chlo %llu, bad %llu, incomplete %llu, too big %llu), crypto past bound %llu; pool full %llu\n",
			(ull)ap.quic.datagrams, (ull)ap.quic.initials, (ull)ap.quic.decrypt_failed,
			(ull)ap.quic.malformed, (ull)ap.quic.skipped, (ull)ap.quic.version_neg,
			(ull)ap.quic.unknown_version, (ull)ap.quic_hellos, (ull)ap.quic.gquic_chlo,
			(ull)ap.quic_hellos_bad, (ull)ap.quic_incomplete, (ull)ap.quic.hello_too_big,
			(ull)ap.quic.crypto_beyond, (ull)ap.quic_exhausted);
	score_get_stats(s->score, &st);
	fprintf(stderr,
		"  scoring: %llu records, not internal %llu, allowlisted %llu; alerts %llu (re-alerts %llu, suppressed %llu), written %llu\n"
		"           by kind: bulk_download %llu, bulk_upload %llu, beaconing %llu, off_hours %llu, new_client %llu; evicted: pairs %llu, novelty %llu\n",
		(ull)st.events, (ull)st.not_internal, (ull)st.allowed, (ull)st.alerts,
		(ull)st.realerts, (ull)st.suppressed, (ull)s->alert_records,
		(ull)st.alerts_by_kind[SIG_BULK_DOWNLOAD], (ull)st.alerts_by_kind[SIG_BULK_UPLOAD],
		(ull)st.alerts_by_kind[SIG_BEACONING], (ull)st.alerts_by_kind[SIG_OFF_HOURS],
		(ull)st.alerts_by_kind[SIG_NEW_CLIENT], (ull)st.pairs_evicted, (ull)st.novelty_evicted);
	if (st.learning_alerts) /* only then, so other summaries stay as they were */
		fprintf(stderr, "           alerts raised while learning: %llu\n", (ull)st.learning_alerts);
	if (s->reloads_ok || s->reloads_failed)
		fprintf(stderr, "  reloads: %llu applied, %llu refused\n", (ull)s->reloads_ok,
			(ull)s->reloads_failed);
}

/* ---------------------------------------------------------- records */

static void write_all(struct sensor *s, struct out_sink **sinks, int n, const char *what,
		      const char *id, const char *line, size_t len)
{
	for (int i = 0; i < n; i++) {
		/* -errno; errno itself may be stale (the file sink's error is sticky) */
		int rc = out_sink_write(sinks[i], id, line, len);
		if (rc < 0) {
			if (rc == -EPIPE && !strcmp(out_sink_dest(sinks[i]), "-")) {
				/* the reader of stdout went away (`| head`): stop
				 * quietly, like tcpdump */
				s->stdout_closed = 1;
				continue;
			}
			log_err("--%s %s: write failed: %s", what,
				out_sink_dest(sinks[i]), strerror(-rc));
			s->output_failed = 1;
		}
	}
}

static void on_alert(const struct score_alert *a, void *arg)
{
	struct sensor *s = arg;
	struct session_json_opts jo = s->jopts;
	json_t *o;
	char *line;
	size_t len;
	char id[80];

	jo.sensor = s->opts->sensor_id;
	o = alert_to_json_opts(a, &jo);
	line = o ? out_json_line(o, &len) : NULL;
	if (!line) {
		s->output_failed = 1;
		json_decref(o);
		return;
	}
	snprintf(id, sizeof(id), "%s-%u", a->alert_id, a->revision);
	write_all(s, s->alerts, s->nalerts, "alerts", id, line, len);
	s->alert_records++;
	if (s->metrics) {
		const char *lv[] = { score_rules[a->kind].name, a->severity, NULL };
		metrics_add_u64(s->metrics, "mailtap_alerts_total", lv, 1);
	}
	free(line);
	json_decref(o);
}

static void save_state(struct sensor *s)
{
	char err[512];
	const char *path = s->opts->state_path;
	if (path[0] && score_state_save(s->score, path, err, sizeof(err)) < 0)
		log_err("--state: %s", err);
}

static bool is_replay(const struct sensor *s)
{
	return s->cap.mode && !strcmp(s->cap.mode, "pcap-file");
}

/*
 * Once per run, when packet time @now is inside the learning period: say
 * that novelty and the host-own baselines are not judged yet, so a quiet
 * first day is not taken for a clean one (docs/detection.md).
 */
static void learning_notice(struct sensor *s, uint64_t now)
{
	uint64_t end = score_learning_end(s->score);
	char when[32];
	struct tm tm;
	time_t t;

	if (s->learning_noticed || !end || now >= end)
		return;
	s->learning_noticed = true;
	t = (time_t)(end / NS);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_notice("learning until %s: novelty and the host-own baselines are not judged yet "
		   "(docs/detection.md)", when);
}

/* Hand a mail session record to the scoring engine. */
static void score_session(struct sensor *s, const struct session *ss)
{
	const struct flow *f = ss->flow;
	const struct flow_ident *id = ss->ident;
	const struct net_addr *cli = f->client_is_a ? &f->key.a : &f->key.b;
	const struct net_addr *srv = f->client_is_a ? &f->key.b : &f->key.a;
	uint16_t cport = f->client_is_a ? f->key.port_a : f->key.port_b;
	uint16_t sport = f->client_is_a ? f->key.port_b : f->key.port_a;
	char cid[COMMUNITY_ID_STRLEN];
	struct score_event ev = {
		.ts_ns = ss->ts_ns,
		.flow_start_ns = f->first_ns,
		.first = ss->first,
		.final = !ss->is_update,
		.client = cli,
		.server = srv,
		.server_port = sport,
		.provider = id->provider,
		.service = id->service,
		.app_proto = app_proto_name(id->app_proto),
		.sni = id->sni,
		.ja4 = id->ja4,
		.delta_toserver = ss->delta_bytes[FLOW_TOSERVER],
		.delta_toclient = ss->delta_bytes[FLOW_TOCLIENT],
		.bytes_toserver = f->dir[FLOW_TOSERVER].bytes,
		.bytes_toclient = f->dir[FLOW_TOCLIENT].bytes,
	};

	if (community_id_v1(cid, sizeof(cid), s->jopts.community_id_seed, true, f->key.proto,
			    cli, srv, cport, sport) == 0)
		ev.community_id = cid;
	score_event(s->score, &ev);
	/* live: at the first record; a replay says it at exit, after the
	 * records, if it ended inside the learning period */
	if (!is_replay(s))
		learning_notice(s, ss->ts_ns);
	if (s->opts->state_path[0] &&
	    ss->ts_ns > s->last_state_save_ns + (uint64_t)s->opts->state_save_s * NS) {
		if (s->last_state_save_ns)
			save_state(s);
		s->last_state_save_ns = ss->ts_ns;
	}
}

static void on_session(const struct session *ss, void *arg)
{
	struct sensor *s = arg;
	struct session_json_opts jo;
	char id[64];
	json_t *o;
	char *line;
	size_t len;

	if (ss->ident && ss->ident->has_match)
		score_session(s, ss);
	if (!s->nsessions || s->output_failed)
		return;
	if (!s->all_flows && !(ss->ident && ss->ident->has_match))
		return;
	jo = s->jopts;
	jo.sensor = s->opts->sensor_id;
	o = session_to_json(ss, &jo);
	line = o ? out_json_line(o, &len) : NULL;
	if (!line) {
		s->output_failed = 1;
		json_decref(o);
		return;
	}
	session_record_id(ss, id, sizeof(id));
	write_all(s, s->sessions, s->nsessions, "sessions", id, line, len);
	s->session_records++;
	if (s->metrics && !ss->is_update) {
		const struct flow_ident *fi = ss->ident;
		const char *lv[] = { fi && fi->has_match ? fi->provider : "unknown",
				     fi && fi->has_match ? fi->service : "unknown", NULL };
		metrics_add_u64(s->metrics, "mailtap_sessions_total", lv, 1);
	}
	free(line);
	json_decref(o);
}

/* ------------------------------------------------------ heartbeats */

/* @state: "running", or "stopped" for the last one at exit. */
static void heartbeat(struct sensor *s, const char *state)
{
	struct agg_stats as;
	struct flow_table_stats fs;
	struct score_stats ss;
	struct out_health h;

	agg_get_stats(s->agg, &as, &fs);
	score_get_stats(s->score, &ss);
	h = (struct out_health){
		.version = MAILTAP_VERSION, .capture_mode = s->cap.mode ? s->cap.mode : "-",
		.start_time_ns = s->start_wall_ns, .last_packet_ns = s->last_packet_ns,
		.packets = s->dstats.packets, .drops = s->cap.drops + s->cap.if_drops,
		.flows = fs.active, .alerts = ss.alerts, .interval_s = s->opts->heartbeat_s,
		.state = state,
	};
	for (int i = 0; i < s->nsessions; i++)
		out_sink_heartbeat(s->sessions[i], &h);
	for (int i = 0; i < s->nalerts; i++)
		out_sink_heartbeat(s->alerts[i], &h);
	s->last_heartbeat_mono_ns = clock_ns(CLOCK_MONOTONIC);
}

/* ---------------------------------------------------------- metrics */

static void metrics_refresh(struct sensor *s)
{
	struct agg_stats as;
	struct flow_table_stats fs;
	static const char *const none[] = { NULL };
	if (!s->metrics)
		return;
	agg_get_stats(s->agg, &as, &fs);
	metrics_set_u64(s->metrics, "mailtap_packets_total", none, s->dstats.packets);
	metrics_set_u64(s->metrics, "mailtap_bytes_total", none, s->dstats.bytes);
	metrics_set_u64(s->metrics, "mailtap_flows_active", none, fs.active);
	metrics_set_u64(s->metrics, "mailtap_flows_evicted_total", none, fs.evicted);
	{
		const char *pc[] = { "pcap", NULL }, *pi[] = { "pcap_ifdrop", NULL };
		metrics_set_u64(s->metrics, "mailtap_drops_total", pc, s->cap.drops);
		metrics_set_u64(s->metrics, "mailtap_drops_total", pi, s->cap.if_drops);
	}
	{
		const char *ok[] = { "ok", NULL }, *bad[] = { "failed", NULL };
		metrics_set_u64(s->metrics, "mailtap_reloads_total", ok, s->reloads_ok);
		metrics_set_u64(s->metrics, "mailtap_reloads_total", bad, s->reloads_failed);
	}
	for (int k = 0; k < 2; k++) {
		struct out_sink **sinks = k ? s->alerts : s->sessions;
		int n = k ? s->nalerts : s->nsessions;
		const char *lv[] = { k ? "alerts" : "sessions", NULL };
		struct out_sink_stats sum = { 0 };
		for (int i = 0; i < n; i++) {
			struct out_sink_stats st;
			if (strncmp(out_sink_dest(sinks[i]), "redis://", 8) &&
			    strncmp(out_sink_dest(sinks[i]), "unix:", 5))
				continue;
			out_sink_get_stats(sinks[i], &st);
			sum.delivered += st.delivered;
			sum.spooled += st.spooled;
			sum.dropped += st.dropped;
			sum.queue_full += st.queue_full;
			sum.spool_depth += st.spool_depth;
		}
		metrics_set_u64(s->metrics, "mailtap_redis_delivered_total", lv, sum.delivered);
		metrics_set_u64(s->metrics, "mailtap_redis_spooled_total", lv, sum.spooled);
		metrics_set_u64(s->metrics, "mailtap_redis_dropped_total", lv, sum.dropped);
		metrics_set_u64(s->metrics, "mailtap_redis_queue_full_total", lv, sum.queue_full);
		metrics_set_u64(s->metrics, "mailtap_spool_depth", lv, sum.spool_depth);
	}
}

/* "127.0.0.1:9187", "[::1]:9187" or ":9187" (loopback). */
static int metrics_setup(struct sensor *s, const char *listen)
{
	static const char *const none[] = { NULL };
	char host[64], err[256];
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	char *end;

	if (!colon) {
		log_err("metrics.listen: '%s' is not ADDRESS:PORT", listen);
		return -EINVAL;
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535 || end == colon + 1) {
		log_err("metrics.listen: '%s' has no valid port", listen);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[') { /* [::1] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	s->metrics = metrics_new();
	if (!s->metrics || metrics_add_mailtap_families(s->metrics) < 0 ||
	    metrics_build_info(s->metrics, MAILTAP_VERSION) < 0) {
		log_err("metrics: cannot set up the registry");
		return -ENOMEM;
	}
	metrics_set_u64(s->metrics, "mailtap_start_time_seconds", none, clock_ns(CLOCK_REALTIME) / NS);
	s->metrics_srv = metrics_server_start(s->metrics, host[0] ? host : "127.0.0.1",
					      (uint16_t)port, err, sizeof(err));
	if (!s->metrics_srv) {
		log_err("metrics: %s", err);
		return -EINVAL;
	}
	if (!port) {
		const char *h = host[0] ? host : "127.0.0.1";
		bool v6 = strchr(h, ':') != NULL;
		log_notice("metrics on http://%s%s%s:%u/metrics", v6 ? "[" : "", h, v6 ? "]" : "",
			   metrics_server_port(s->metrics_srv));
	}
	return 0;
}

/* ---------------------------------------------------------- catalog */

/* Load every catalog the options name; NULL after printing why. */
static struct catalog *load_catalogs(const struct sensor_options *o)
{
	char buf[PATH_MAX + 32], err[512];
	struct catalog *cat = catalog_new();

	if (!cat) {
		log_err("out of memory");
		return NULL;
	}
	if (!o->catalogs.n) {
		if (catalog_load_file(cat, options_default_catalog(buf, sizeof(buf)), err, sizeof(err)) < 0)
			goto bad;
		return cat;
	}
	for (int i = 0; i < o->catalogs.n; i++)
		if (catalog_load_file(cat, o->catalogs.v[i], err, sizeof(err)) < 0)
			goto bad;
	return cat;
bad:
	log_err("catalog: %s", err);
	catalog_free(cat);
	return NULL;
}

int sensor_check_catalogs(const struct sensor_options *o)
{
	struct catalog *cat = load_catalogs(o);
	if (!cat)
		return -EINVAL;
	catalog_free(cat);
	return 0;
}

/* ------------------------------------------------------- lifecycle */

static int close_sinks(struct sensor *s)
{
	char err[512];
	int rc = 0;
	for (int k = 0; k < 2; k++) {
		struct out_sink **sinks = k ? s->alerts : s->sessions;
		for (int i = 0; i < (k ? s->nalerts : s->nsessions); i++) {
			bool is_stdout = !strcmp(out_sink_dest(sinks[i]), "-");
			int r = out_sink_close(sinks[i], err, sizeof(err));
			if (r == -EPIPE && is_stdout) {
				s->stdout_closed = 1;
				continue;
			}
			if (r < 0) {
				log_err("--%s: %s", k ? "alerts" : "sessions", err);
				rc = -EIO;
			}
		}
	}
	s->nsessions = s->nalerts = 0;
	return rc;
}

static int open_sinks(struct sensor *s, const struct opt_list *dests, const char *kind,
		      struct out_sink **sinks, int *n)
{
	char err[512];
	for (int i = 0; i < dests->n; i++) {
		struct out_sink_config oc = {
			.kind = kind, .sensor_id = s->opts->sensor_id,
			.spool_dir = s->opts->spool_dir[0] ? s->opts->spool_dir : NULL,
			.redis_password = s->opts->redis_password[0] ? s->opts->redis_password : NULL,
		};
		sinks[i] = out_sink_open(dests->v[i], &oc, err, sizeof(err));
		if (!sinks[i]) {
			log_err("--%s: %s", kind, err);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static void sensor_free(struct sensor *s)
{
	metrics_server_stop(s->metrics_srv);
	metrics_free(s->metrics);
	agg_free(s->agg);
	score_free(s->score);
	catalog_free(s->catalog);
	if (s->have_reload_opts)
		options_release(&s->reload_opts);
	free(s);
}

struct sensor *sensor_new(const struct sensor_options *o, int *exit_code)
{
	struct sensor *s = calloc(1, sizeof(*s));
	char err[512];
	struct agg_config acfg;
	int rc;

	*exit_code = EXIT_USAGE;
	if (!s) {
		log_err("out of memory");
		return NULL;
	}
	s->opts = s->start_opts = o;
	s->all_flows = o->all_flows;
	s->jopts.community_id_seed = (uint16_t)o->community_id_seed;
	/* validated by options_load; native when unset */
	(void)output_format_parse(o->output_format, &s->jopts.format);
	/* working hours are judged in each site's zone by the scoring
	 * engine's own tables (util-tz); the process zone is left alone, as
	 * setenv/tzset are not safe once the Redis and metrics threads run */

	s->catalog = load_catalogs(o);
	if (!s->catalog)
		goto fail;
	s->score = score_new(&o->score, o->agg.seed, on_alert, s);
	if (!s->score) {
		log_err("cannot set up scoring: %s", strerror(errno));
		goto fail;
	}
	if (o->state_path[0]) {
		rc = score_state_load(s->score, o->state_path, err, sizeof(err));
		if (rc < 0 && rc != -ENOENT)
			log_err("--state: %s; starting with empty baselines", err);
	}
	if (o->explain[0] && explain_attach(s->score, o->explain, stdout) < 0) {
		log_err("--explain: '%s' is not an IPv4 or IPv6 address", o->explain);
		goto fail;
	}
	if (open_sinks(s, &o->alerts, "alerts", s->alerts, &s->nalerts) < 0 ||
	    open_sinks(s, &o->sessions, "sessions", s->sessions, &s->nsessions) < 0) {
		*exit_code = EXIT_OUTPUT;
		goto fail_sinks;
	}
	acfg = o->agg;
	acfg.catalog = s->catalog;
	s->agg = agg_new(&acfg, on_session, s);
	if (!s->agg) {
		log_err("cannot allocate the flow table (%u flows): %s",
			acfg.flow.max_flows, strerror(errno));
		goto fail_sinks;
	}
	if (o->metrics_listen[0] && metrics_setup(s, o->metrics_listen) < 0)
		goto fail_sinks;
	s->start_wall_ns = clock_ns(CLOCK_REALTIME);
	heartbeat(s, "running");
	metrics_refresh(s);
	*exit_code = 0;
	return s;

fail_sinks:
	close_sinks(s);
fail:
	sensor_free(s);
	return NULL;
}

void sensor_set_reload_args(struct sensor *s, int argc, char **argv)
{
	s->argc = argc;
	s->argv = argv;
}

int sensor_finish(struct sensor *s, int exit_code, bool summary)
{
	sd_notify(0, "STOPPING=1");
	agg_finish(s->agg);
	if (s->opts->explain[0])
		explain_finish(s->score);
	save_state(s);
	heartbeat(s, "stopped");
	metrics_refresh(s);
	/* records still buffered for a stdout whose reader is gone fail here */
	if (fflush(stdout) != 0 && errno == EPIPE)
		s->stdout_closed = 1;
	if (is_replay(s) && !s->stdout_closed)
		learning_notice(s, s->last_packet_ns);
	/* stdout's reader went away (`| head`): no summary, exit as if done */
	if (summary && !s->opts->quiet && !s->stdout_closed)
		print_stats(s);
	if (close_sinks(s) < 0 || s->output_failed)
		exit_code = EXIT_OUTPUT;
	if (s->fatal)
		exit_code = EXIT_USAGE;
	sensor_free(s);
	return exit_code;
}

/* ------------------------------------------------------------ reload */

/*
 * SIGHUP: read the configuration and the catalog again.  Applied: the
 * catalog, scoring thresholds, weights, windows, networks, allowlist and
 * working hours, --all-flows.  Kept: flows, baselines, sinks, capture.  A
 * configuration or catalog that does not load is refused as a whole.
 */
static void reload_options(struct sensor *s);

static void reload(struct sensor *s)
{
	if (!s->argv) {
		log_err("SIGHUP: nothing to reload");
		return;
	}
	sd_notify(0, "RELOADING=1");
	reload_options(s);
	sd_notify(0, "READY=1");
}

static void reload_options(struct sensor *s)
{
	struct sensor_options n;
	struct catalog *cat;
	bool restart = false;
	char keys[512];
	int nkeys;

	options_defaults(&n);
	if (options_load(&n, s->argc, s->argv) < 0) {
		log_err("SIGHUP: configuration refused; the running one stays in force");
		options_release(&n);
		s->reloads_failed++;
		return;
	}
	cat = load_catalogs(&n);
	if (!cat) {
		log_err("SIGHUP: catalog refused; the running one stays in force");
		options_release(&n);
		s->reloads_failed++;
		return;
	}
	if (score_reconfigure(s->score, &n.score, &restart) < 0) {
		log_err("SIGHUP: scoring windows refused; the running configuration stays in force");
		catalog_free(cat);
		options_release(&n);
		s->reloads_failed++;
		return;
	}
	/* compared with what the sensor started with: capture, sinks and
	 * tables keep those values until a restart */
	nkeys = options_restart_keys(s->start_opts, &n, keys, sizeof(keys));
	agg_set_catalog(s->agg, cat);
	catalog_free(s->catalog);
	s->catalog = cat;
	s->all_flows = n.all_flows;
	/* from now on the new options are ours (paths, sensor id, ...);
	 * sinks and capture keep what they opened with */
	if (s->have_reload_opts)
		options_release(&s->reload_opts);
	s->reload_opts = n;
	s->have_reload_opts = true;
	s->opts = &s->reload_opts;
	s->reloads_ok++;
	if (nkeys)
		log_notice("SIGHUP: configuration and catalog reloaded; changed keys that need a "
			   "restart to take effect: %s", keys);
	else
		log_notice("SIGHUP: configuration and catalog reloaded%s",
			   restart ? " (table sizes need a restart to change)" : "");
}

/* -------------------------------------------------------------- feed */

uint64_t sensor_alert_count(const struct sensor *s)
{
	return s->alert_records;
}

struct aggregator *sensor_agg(struct sensor *s)
{
	return s->agg;
}

int sensor_should_stop(const struct sensor *s)
{
	return stop_requested || s->output_failed || s->fatal || s->stdout_closed;
}

void sensor_set_capture_stats(struct sensor *s, const struct sensor_capture_stats *cs)
{
	s->cap = *cs;
}

void sensor_tick(struct sensor *s)
{
	if (stats_requested) {
		stats_requested = 0;
		print_stats(s);
	}
	if (reload_requested) {
		reload_requested = 0;
		reload(s);
	}
	if (clock_ns(CLOCK_MONOTONIC) - s->last_heartbeat_mono_ns >
	    (uint64_t)s->opts->heartbeat_s * NS)
		heartbeat(s, "running");
	if (s->watchdog_ns && clock_ns(CLOCK_MONOTONIC) - s->last_watchdog_mono_ns > s->watchdog_ns / 2) {
		sd_notify(0, "WATCHDOG=1");
		s->last_watchdog_mono_ns = clock_ns(CLOCK_MONOTONIC);
	}
	metrics_refresh(s);
}

void sensor_ready(struct sensor *s)
{
	uint64_t usec = 0;
	char msg[256] = "";
	/* everything privileged is done (capture open, BPF attached, outputs
	 * open): become --user with only what the capture mode still needs */
	enum privdrop_need need = s->cap.mode && !strncmp(s->cap.mode, "ebpf", 4) ?
				  PRIVDROP_NEED_BPF : PRIVDROP_NEED_NONE;

	if (privdrop_apply(s->opts->user, need, msg, sizeof(msg)) < 0) {
		log_err("--user: %s", msg);
		s->fatal = 1;
		return;
	}
	if (msg[0])
		log_notice("%s", msg);
	/* under systemd (Type=notify): ready, and the watchdog period if any */
	if (sd_watchdog_enabled(0, &usec) > 0)
		s->watchdog_ns = usec * 1000ull;
	sd_notifyf(0, "READY=1\nSTATUS=capturing (%s)", s->cap.mode ? s->cap.mode : "-");
	s->last_watchdog_mono_ns = clock_ns(CLOCK_MONOTONIC);
}

void sensor_frame(struct sensor *s, int linktype, const uint8_t *frame, size_t caplen,
		  size_t wirelen, uint64_t ts_ns)
{
	struct packet pkt;

	s->last_packet_ns = ts_ns;
	decode_packet_cfg(&pkt, &s->opts->decap, linktype, frame, caplen, wirelen, ts_ns,
			  &s->dstats);
	agg_packet(s->agg, &pkt);
	if ((s->dstats.packets & 4095) == 0)
		sensor_tick(s);
}
