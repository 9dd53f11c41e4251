/* SPDX-License-Identifier: MIT */
/*
 * main.c -- the mailtap program: command line, wiring of capture, decode,
 * aggregator and outputs, signals, and the stats summary.
 *
 * Exit codes: 0 success; 1 an input could not be read (in full); 2 usage
 * or configuration error; 3 an output could not be written.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>
#include <strings.h>
#include <time.h>

#include "aggregator.h"
#include "capture.h"
#include "catalog.h"
#include "community-id.h"
#include "score.h"
#include "decode.h"
#include "output.h"
#include "output-json.h"

#ifndef MAILTAP_VERSION
#define MAILTAP_VERSION "0.1.0"
#endif

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_OUTPUT 3

#define MAX_READ_FILES 1024
#define MAX_CATALOGS 16
#define MAX_SINKS 8
#define HEARTBEAT_S 10 /* wall-clock seconds between sink heartbeats */

#ifndef MAILTAP_DATADIR
#define MAILTAP_DATADIR "/usr/local/share/mailtap"
#endif

/* Signal flags: the only mutable globals, written by handlers. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;

struct sensor {
	struct aggregator *agg;
	struct out_sink *sessions[MAX_SINKS]; /* owned */
	int nsessions;
	uint64_t session_records;   /* records handed to the session sinks */
	struct out_sink *alerts[MAX_SINKS];   /* owned */
	int nalerts;
	uint64_t alert_records;
	struct score_engine *score;  /* owned */
	const char *state_path;      /* --state, or NULL */
	uint64_t last_state_save_ns; /* packet time of the last periodic save */
	char sensor_id[64];
	uint64_t start_wall_ns, last_heartbeat_mono_ns, last_packet_ns;
	struct catalog *catalog;    /* owned */
	struct session_json_opts jopts;
	int all_flows;
	struct decode_stats dstats;
	int quiet;
	int output_failed;
};

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: mailtap -r FILE [-r FILE ...] [options]\n"
"\n"
"Watch traffic to cloud-mail endpoints and report sessions.\n"
"\n"
"Input:\n"
"  -r, --read FILE         replay a pcap or pcapng file (repeatable; files are\n"
"                          read in order as one timeline)\n"
"Output:\n"
"      --sessions DEST     write session records as JSON lines to DEST\n"
"                          ('-' = stdout, a file path (appended), or\n"
"                          redis://host:port[/db][?key=K&mode=M]); repeatable\n"
"      --all-flows         write every flow, not only cloud-mail sessions\n"
"      --community-id-seed N  Community ID seed (default 0)\n"
"Scoring and alerts:\n"
"      --alerts DEST       write alert records (JSON lines; same DEST forms as\n"
"                          --sessions); repeatable\n"
"      --state FILE        keep baselines in FILE across runs (loaded at start,\n"
"                          saved hourly in packet time and at exit)\n"
"      --learning DUR      learn baselines before alerting (24h; e.g. 90m, 2d)\n"
"      --internal CIDR     internal network (repeatable; default RFC 1918+ULA)\n"
"      --allow CIDR        never score these hosts (repeatable)\n"
"      --work-hours H-H    working hours of the site (8-18), --work-days mon-fri,\n"
"      --tz ZONE           in time zone ZONE (UTC)\n"
"      --alert-threshold N score (0-100) that raises an alert (50)\n"
"      --sensor-id NAME    name of this sensor in records (host name)\n"
"Identification:\n"
"      --catalog FILE      endpoint catalog (repeatable: later files add\n"
"                          providers; default: the installed catalog.json)\n"
"  -q, --quiet             no stats summary on stderr at exit\n"
"Flows:\n"
"      --max-flows N       flow table size (default 1048576); the least\n"
"                          recently seen flow is evicted when full\n"
"      --tcp-timeout S     idle timeout of established TCP flows (3600)\n"
"      --tcp-new-timeout S idle timeout of TCP flows not yet answered (60)\n"
"      --tcp-close-timeout S  linger after FIN/RST (5)\n"
"      --udp-timeout S     idle timeout of UDP flows (60)\n"
"      --interim S         session_update period for long flows, packet time\n"
"                          (60; 0 = off)\n"
"      --seed N            hash seed (default: from MAILTAP_SEED or 0)\n"
"  -h, --help              this text\n"
"  -V, --version           print the version\n"
"\n"
"Examples:\n"
"  mailtap -r capture.pcap --sessions -\n"
"  mailtap -r day1.pcapng -r day2.pcapng --sessions sessions.jsonl\n"
"\n"
"SIGUSR1 prints the stats summary; SIGINT/SIGTERM stop after flushing.\n"
"Exit status: 0 ok, 1 input unreadable, 2 usage error, 3 output error.\n");
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
}

static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v < min || v > max) {
		fprintf(stderr, "mailtap: %s: '%s' is not a number from %u to %u\n", opt, s, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* "90", "90s", "30m", "24h", "2d" -> seconds. */
static int parse_duration(const char *opt, const char *str, uint32_t *out)
{
	char *end;
	unsigned long long v;
	unsigned long long mul = 1;

	errno = 0;
	v = strtoull(str, &end, 10);
	if (end == str || *str == '-' || errno)
		goto bad;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end || v * mul > 366ull * 86400)
		goto bad;
	*out = (uint32_t)(v * mul);
	return 0;
bad:
	fprintf(stderr, "mailtap: %s: '%s' is not a duration like 90m, 24h or 2d (at most a year)\n",
		opt, str);
	return -EINVAL;
}

/* "mon-fri", "mon,wed,fri", "sat-sun" -> bit per weekday (bit 0 = Sunday). */
static int parse_days(const char *str, uint8_t *mask)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char buf[64], *tok, *save = NULL;
	uint8_t m = 0;

	snprintf(buf, sizeof(buf), "%s", str);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int a = -1, b = -1;
		char *dash = strchr(tok, '-');
		if (dash)
			*dash = '\0';
		for (int i = 0; i < 7; i++) {
			if (!strcasecmp(tok, names[i]))
				a = i;
			if (dash && !strcasecmp(dash + 1, names[i]))
				b = i;
		}
		if (a < 0 || (dash && b < 0))
			return -EINVAL;
		if (!dash)
			b = a;
		for (int i = a;; i = (i + 1) % 7) {
			m |= (uint8_t)(1u << i);
			if (i == b)
				break;
		}
	}
	if (!m)
		return -EINVAL;
	*mask = m;
	return 0;
}

static void print_score_stats(struct sensor *s)
{
	struct score_stats st;
	if (!s->score)
		return;
	score_get_stats(s->score, &st);
	fprintf(stderr,
		"  scoring: %llu records, not internal %llu, allowlisted %llu; alerts %llu (re-alerts %llu, suppressed %llu), written %llu\n"
		"           by kind: bulk_download %llu, bulk_upload %llu, beaconing %llu, off_hours %llu, new_client %llu; evicted: pairs %llu, novelty %llu\n",
		(unsigned long long)st.events, (unsigned long long)st.not_internal,
		(unsigned long long)st.allowed, (unsigned long long)st.alerts,
		(unsigned long long)st.realerts, (unsigned long long)st.suppressed,
		(unsigned long long)s->alert_records,
		(unsigned long long)st.alerts_by_kind[SIG_BULK_DOWNLOAD],
		(unsigned long long)st.alerts_by_kind[SIG_BULK_UPLOAD],
		(unsigned long long)st.alerts_by_kind[SIG_BEACONING],
		(unsigned long long)st.alerts_by_kind[SIG_OFF_HOURS],
		(unsigned long long)st.alerts_by_kind[SIG_NEW_CLIENT],
		(unsigned long long)st.pairs_evicted, (unsigned long long)st.novelty_evicted);
}

static void print_app_stats(struct sensor *s)
{
	struct app_stats ap;
	if (!agg_get_app_stats(s->agg, &ap))
		return;
	fprintf(stderr,
		"  identify: client hellos %llu (after STARTTLS %llu, incomplete %llu), not tls %llu, bad tls %llu\n"
		"            dns responses %llu (bad %llu, addresses learned %llu)\n"
		"            server certificates %llu (none in clear %llu, bad %llu)\n"
		"            mail sessions by sni %llu, by dns %llu, by cert %llu, by ip %llu; pools full: ident %llu, reassembly %llu\n",
		(unsigned long long)ap.hellos, (unsigned long long)ap.starttls,
		(unsigned long long)ap.hellos_incomplete, (unsigned long long)ap.not_tls,
		(unsigned long long)ap.tls_invalid, (unsigned long long)ap.dns_responses,
		(unsigned long long)ap.dns_bad, (unsigned long long)ap.dns_answers,
		(unsigned long long)ap.certs, (unsigned long long)ap.certs_none,
		(unsigned long long)ap.certs_bad,
		(unsigned long long)ap.by_sni, (unsigned long long)ap.by_dns,
		(unsigned long long)ap.by_cert,
		(unsigned long long)ap.by_ip, (unsigned long long)ap.ident_exhausted,
		(unsigned long long)ap.reasm_exhausted);
}

static void print_stats(struct sensor *s, const struct capture_file_stats *cs)
{
	struct agg_stats as;
	struct flow_table_stats fs;
	const struct decode_stats *d = &s->dstats;

	agg_get_stats(s->agg, &as, &fs);
	fprintf(stderr,
		"mailtap: read %llu packets, %llu bytes on the wire, from %llu file(s)\n"
		"  link:    eth %llu, vlan tags %llu, mpls %llu, sll %llu, sll2 %llu, loopback %llu, raw %llu, non-ip %llu\n"
		"  network: ipv4 %llu, ipv6 %llu (ext headers %llu), fragments %llu\n"
		"  transport: tcp %llu, udp %llu, icmp %llu, icmpv6 %llu, other %llu\n"
		"  problems: truncated %llu, invalid %llu, unsupported %llu, ip length > frame %llu, orphan fragments %llu\n"
		"  flows:   created %llu, ended %llu, timed out %llu, evicted %llu, active %llu (max %llu)\n"
		"  records: %llu written (of %llu ended flows and %llu updates; the rest were not mail)\n",
		(unsigned long long)d->packets, (unsigned long long)d->bytes,
		(unsigned long long)(cs ? cs->files : 0),
		(unsigned long long)d->eth, (unsigned long long)d->vlan, (unsigned long long)d->mpls,
		(unsigned long long)d->sll, (unsigned long long)d->sll2,
		(unsigned long long)d->null_loop, (unsigned long long)d->raw,
		(unsigned long long)d->non_ip,
		(unsigned long long)d->ipv4, (unsigned long long)d->ipv6,
		(unsigned long long)d->ipv6_ext, (unsigned long long)d->frags,
		(unsigned long long)d->tcp, (unsigned long long)d->udp, (unsigned long long)d->icmp,
		(unsigned long long)d->icmp6, (unsigned long long)d->other_l4,
		(unsigned long long)d->truncated, (unsigned long long)d->invalid,
		(unsigned long long)d->unsupported, (unsigned long long)d->wire_len_mismatch,
		(unsigned long long)as.frag_orphans,
		(unsigned long long)fs.created, (unsigned long long)fs.ended,
		(unsigned long long)fs.timed_out, (unsigned long long)fs.evicted,
		(unsigned long long)fs.active, (unsigned long long)fs.max_active,
		(unsigned long long)s->session_records,
		(unsigned long long)as.sessions, (unsigned long long)as.updates);
	print_app_stats(s);
	print_score_stats(s);
}

static void on_alert(const struct score_alert *a, void *arg)
{
	struct sensor *s = arg;
	json_t *o = alert_to_json(a, s->sensor_id);
	char *line;
	size_t len;
	char id[80];

	line = o ? json_to_line(o, &len) : NULL;
	if (!line) {
		s->output_failed = 1;
		json_decref(o);
		return;
	}
	snprintf(id, sizeof(id), "%s-%u", a->alert_id, a->revision);
	for (int i = 0; i < s->nalerts; i++) {
		if (out_sink_write(s->alerts[i], id, line, len) < 0) {
			fprintf(stderr, "mailtap: --alerts %s: write failed: %s\n",
				out_sink_dest(s->alerts[i]), strerror(errno));
			s->output_failed = 1;
		}
	}
	s->alert_records++;
	free(line);
	json_decref(o);
}

static void save_state(struct sensor *s)
{
	char err[512];
	if (s->state_path && score_state_save(s->score, s->state_path, err, sizeof(err)) < 0)
		fprintf(stderr, "mailtap: --state: %s\n", err);
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
		.provider = id->match.provider,
		.service = id->match.service,
		.app_proto = app_proto_name(id->app_proto),
		.sni = id->sni,
		.ja4 = id->ja4,
		.delta_toserver = ss->delta_bytes[FLOW_TOSERVER],
		.delta_toclient = ss->delta_bytes[FLOW_TOCLIENT],
		.bytes_toserver = f->dir[FLOW_TOSERVER].bytes,
	};

	if (community_id_v1(cid, sizeof(cid), s->jopts.community_id_seed, true, f->key.proto,
			    cli, srv, cport, sport) == 0)
		ev.community_id = cid;
	score_event(s->score, &ev);
	if (s->state_path && ss->ts_ns > s->last_state_save_ns + 3600ull * 1000000000ull) {
		if (s->last_state_save_ns)
			save_state(s);
		s->last_state_save_ns = ss->ts_ns;
	}
}

static void on_session(const struct session *ss, void *arg)
{
	struct sensor *s = arg;
	char id[64];
	json_t *o;
	char *line;
	size_t len;

	if (s->score && ss->ident && ss->ident->has_match)
		score_session(s, ss);
	if (!s->nsessions || s->output_failed)
		return;
	if (!s->all_flows && !(ss->ident && ss->ident->has_match))
		return;
	o = session_to_json(ss, &s->jopts);
	line = o ? json_to_line(o, &len) : NULL;
	if (!line) {
		s->output_failed = 1;
		json_decref(o);
		return;
	}
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "record_id")));
	for (int i = 0; i < s->nsessions; i++) {
		if (out_sink_write(s->sessions[i], id, line, len) < 0) {
			fprintf(stderr, "mailtap: --sessions %s: write failed: %s\n",
				out_sink_dest(s->sessions[i]), strerror(errno));
			s->output_failed = 1;
		}
	}
	s->session_records++;
	free(line);
	json_decref(o);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Tell every sink (Redis: the mailtap:sensor:<id> hash) that we live. */
static void heartbeat(struct sensor *s)
{
	struct agg_stats as;
	struct flow_table_stats fs;
	struct score_stats ss = { 0 };
	struct out_health h;

	agg_get_stats(s->agg, &as, &fs);
	if (s->score)
		score_get_stats(s->score, &ss);
	h = (struct out_health){
		.version = MAILTAP_VERSION, .capture_mode = "pcap",
		.start_time_ns = s->start_wall_ns, .last_packet_ns = s->last_packet_ns,
		.packets = s->dstats.packets, .drops = 0, .flows = fs.active,
		.alerts = ss.alerts, .interval_s = HEARTBEAT_S,
	};
	for (int i = 0; i < s->nsessions; i++)
		out_sink_heartbeat(s->sessions[i], &h);
	for (int i = 0; i < s->nalerts; i++)
		out_sink_heartbeat(s->alerts[i], &h);
	s->last_heartbeat_mono_ns = clock_ns(CLOCK_MONOTONIC);
}

static void on_frame(void *arg, int linktype, const uint8_t *frame, size_t caplen,
		     size_t wirelen, uint64_t ts_ns)
{
	struct sensor *s = arg;
	struct packet pkt;

	s->last_packet_ns = ts_ns;
	if ((s->dstats.packets & 4095) == 0 &&
	    clock_ns(CLOCK_MONOTONIC) - s->last_heartbeat_mono_ns > HEARTBEAT_S * 1000000000ull)
		heartbeat(s);

	decode_packet(&pkt, linktype, frame, caplen, wirelen, ts_ns, &s->dstats);
	agg_packet(s->agg, &pkt);
	if (stats_requested) {
		stats_requested = 0;
		print_stats(s, NULL);
	}
}

/* Close every sink; report each failure once.  Returns -EIO if any. */
static int close_sinks(struct sensor *s)
{
	char err[512];
	int rc = 0;
	for (int i = 0; i < s->nsessions; i++) {
		if (out_sink_close(s->sessions[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "mailtap: --sessions: %s\n", err);
			rc = -EIO;
		}
	}
	s->nsessions = 0;
	for (int i = 0; i < s->nalerts; i++) {
		if (out_sink_close(s->alerts[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "mailtap: --alerts: %s\n", err);
			rc = -EIO;
		}
	}
	s->nalerts = 0;
	return rc;
}

/* The catalog used when none is given: $MAILTAP_CATALOG, the installed
 * one, or deploy/catalog.json of the checkout the binary was built in. */
static const char *default_catalog(char *buf, size_t len)
{
	const char *env = getenv("MAILTAP_CATALOG");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/../deploy/catalog.json", exe);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, len, "%s/catalog.json", MAILTAP_DATADIR);
	return buf;
}

static int should_stop(void *arg)
{
	struct sensor *s = arg;
	return stop_requested || s->output_failed;
}

int main(int argc, char **argv)
{
	enum { OPT_SESSIONS = 256, OPT_ALL_FLOWS, OPT_MAX_FLOWS, OPT_TCP_TO, OPT_TCP_NEW_TO,
	       OPT_TCP_CLOSE_TO, OPT_UDP_TO, OPT_INTERIM, OPT_SEED, OPT_CATALOG, OPT_CID_SEED,
	       OPT_ALERTS, OPT_STATE, OPT_LEARNING, OPT_INTERNAL, OPT_ALLOW, OPT_WORK_HOURS,
	       OPT_WORK_DAYS, OPT_TZ, OPT_THRESHOLD, OPT_SENSOR_ID };
	static const struct option longopts[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "all-flows", no_argument, NULL, OPT_ALL_FLOWS },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "tcp-timeout", required_argument, NULL, OPT_TCP_TO },
		{ "tcp-new-timeout", required_argument, NULL, OPT_TCP_NEW_TO },
		{ "tcp-close-timeout", required_argument, NULL, OPT_TCP_CLOSE_TO },
		{ "udp-timeout", required_argument, NULL, OPT_UDP_TO },
		{ "interim", required_argument, NULL, OPT_INTERIM },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "catalog", required_argument, NULL, OPT_CATALOG },
		{ "community-id-seed", required_argument, NULL, OPT_CID_SEED },
		{ "alerts", required_argument, NULL, OPT_ALERTS },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "learning", required_argument, NULL, OPT_LEARNING },
		{ "internal", required_argument, NULL, OPT_INTERNAL },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "work-hours", required_argument, NULL, OPT_WORK_HOURS },
		{ "work-days", required_argument, NULL, OPT_WORK_DAYS },
		{ "tz", required_argument, NULL, OPT_TZ },
		{ "alert-threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "sensor-id", required_argument, NULL, OPT_SENSOR_ID },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char *files[MAX_READ_FILES];
	static const char *catalogs[MAX_CATALOGS];
	int ncatalogs = 0;
	char catbuf[PATH_MAX + 32];
	struct sensor s = { 0 };
	struct agg_config acfg;
	struct capture_file_stats cs = { 0 };
	const char *sessions_dest[MAX_SINKS], *alerts_dest[MAX_SINKS];
	int nsessions_dest = 0, nalerts_dest = 0, internal_given = 0;
	struct score_config scfg;
	char err[512];
	int nfiles = 0, opt, rc, exit_code = 0;
	uint32_t seed = 0;
	const char *env_seed = getenv("MAILTAP_SEED");

	agg_config_default(&acfg);
	score_config_default(&scfg);
	if (gethostname(s.sensor_id, sizeof(s.sensor_id) - 1) < 0)
		snprintf(s.sensor_id, sizeof(s.sensor_id), "mailtap");
	if (env_seed && parse_u32("MAILTAP_SEED", env_seed, 0, UINT32_MAX, &seed) < 0)
		return EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, "r:qhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (nfiles == MAX_READ_FILES) {
				fprintf(stderr, "mailtap: at most %d files with -r\n", MAX_READ_FILES);
				return EXIT_USAGE;
			}
			files[nfiles++] = optarg;
			break;
		case OPT_SESSIONS:
			if (nsessions_dest == MAX_SINKS) {
				fprintf(stderr, "mailtap: at most %d --sessions destinations\n", MAX_SINKS);
				return EXIT_USAGE;
			}
			sessions_dest[nsessions_dest++] = optarg;
			break;
		case OPT_ALL_FLOWS:
			s.all_flows = 1;
			acfg.app.keep_unclassified = true;
			break;
		case OPT_CATALOG:
			if (ncatalogs == MAX_CATALOGS) {
				fprintf(stderr, "mailtap: at most %d --catalog files\n", MAX_CATALOGS);
				return EXIT_USAGE;
			}
			catalogs[ncatalogs++] = optarg;
			break;
		case OPT_ALERTS:
			if (nalerts_dest == MAX_SINKS) {
				fprintf(stderr, "mailtap: at most %d --alerts destinations\n", MAX_SINKS);
				return EXIT_USAGE;
			}
			alerts_dest[nalerts_dest++] = optarg;
			break;
		case OPT_STATE: s.state_path = optarg; break;
		case OPT_LEARNING:
			if (parse_duration("--learning", optarg, &scfg.learning_s) < 0)
				return EXIT_USAGE;
			break;
		case OPT_INTERNAL:
			if (!internal_given++)
				scfg.n_internal = 0;
			if (score_config_add_internal(&scfg, optarg) < 0) {
				fprintf(stderr, "mailtap: --internal: '%s' is not a network like 10.0.0.0/8 (at most %d)\n",
					optarg, SCORE_MAX_NETS);
				return EXIT_USAGE;
			}
			break;
		case OPT_ALLOW:
			if (score_config_add_allow(&scfg, optarg) < 0) {
				fprintf(stderr, "mailtap: --allow: '%s' is not an address or network (at most %d)\n",
					optarg, SCORE_MAX_NETS);
				return EXIT_USAGE;
			}
			break;
		case OPT_WORK_HOURS: {
			unsigned a, b;
			char tail;
			if (sscanf(optarg, "%u-%u%c", &a, &b, &tail) != 2 || a >= b || b > 24) {
				fprintf(stderr, "mailtap: --work-hours: '%s' is not like 8-18 (hours 0-24, start before end)\n", optarg);
				return EXIT_USAGE;
			}
			scfg.work_start_h = (uint8_t)a;
			scfg.work_end_h = (uint8_t)b;
			break;
		}
		case OPT_WORK_DAYS:
			if (parse_days(optarg, &scfg.work_days) < 0) {
				fprintf(stderr, "mailtap: --work-days: '%s' is not like mon-fri or mon,tue,sat\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_TZ:
			snprintf(scfg.tz, sizeof(scfg.tz), "%s", optarg);
			break;
		case OPT_THRESHOLD: {
			uint32_t v;
			if (parse_u32("--alert-threshold", optarg, 1, 100, &v) < 0)
				return EXIT_USAGE;
			scfg.alert_threshold = v;
			break;
		}
		case OPT_SENSOR_ID:
			snprintf(s.sensor_id, sizeof(s.sensor_id), "%s", optarg);
			break;
		case OPT_CID_SEED: {
			uint32_t v;
			if (parse_u32("--community-id-seed", optarg, 0, 65535, &v) < 0)
				return EXIT_USAGE;
			s.jopts.community_id_seed = (uint16_t)v;
			break;
		}
		case OPT_MAX_FLOWS:
			if (parse_u32("--max-flows", optarg, 1, 1u << 28, &acfg.flow.max_flows) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TCP_TO:
			if (parse_u32("--tcp-timeout", optarg, 1, 86400, &acfg.flow.timeout_s[FLOW_LIST_TCP_EST]) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TCP_NEW_TO:
			if (parse_u32("--tcp-new-timeout", optarg, 1, 86400, &acfg.flow.timeout_s[FLOW_LIST_TCP_NEW]) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TCP_CLOSE_TO:
			if (parse_u32("--tcp-close-timeout", optarg, 0, 86400, &acfg.flow.timeout_s[FLOW_LIST_TCP_CLOSED]) < 0)
				return EXIT_USAGE;
			break;
		case OPT_UDP_TO:
			if (parse_u32("--udp-timeout", optarg, 1, 86400, &acfg.flow.timeout_s[FLOW_LIST_OTHER]) < 0)
				return EXIT_USAGE;
			break;
		case OPT_INTERIM:
			if (parse_u32("--interim", optarg, 0, 86400, &acfg.interim_s) < 0)
				return EXIT_USAGE;
			break;
		case OPT_SEED:
			if (parse_u32("--seed", optarg, 0, UINT32_MAX, &seed) < 0)
				return EXIT_USAGE;
			break;
		case 'q': s.quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mailtap %s\n", MAILTAP_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'mailtap --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailtap: unexpected argument '%s' (input files go after -r)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (nfiles == 0) {
		fprintf(stderr, "mailtap: nothing to read: give at least one -r FILE\n"
				"Try 'mailtap --help' for more information.\n");
		return EXIT_USAGE;
	}
	acfg.seed = seed;

	if (ncatalogs == 0)
		catalogs[ncatalogs++] = default_catalog(catbuf, sizeof(catbuf));
	s.catalog = catalog_new();
	if (!s.catalog) {
		fprintf(stderr, "mailtap: out of memory\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < ncatalogs; i++) {
		if (catalog_load_file(s.catalog, catalogs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "mailtap: catalog: %s\n", err);
			catalog_free(s.catalog);
			return EXIT_USAGE;
		}
	}
	acfg.catalog = s.catalog;

	/* working hours are judged in the site's zone (score.c uses the
	 * process zone; record times are printed in UTC regardless) */
	setenv("TZ", scfg.tz, 1);
	tzset();
	s.score = score_new(&scfg, seed, on_alert, &s);
	if (!s.score) {
		fprintf(stderr, "mailtap: cannot set up scoring: %s\n", strerror(errno));
		catalog_free(s.catalog);
		return EXIT_USAGE;
	}
	if (s.state_path) {
		rc = score_state_load(s.score, s.state_path, err, sizeof(err));
		if (rc < 0 && rc != -ENOENT)
			fprintf(stderr, "mailtap: --state: %s; starting with empty baselines\n", err);
	}
	for (int i = 0; i < nalerts_dest; i++) {
		struct out_sink_config oc = { .kind = "alerts", .sensor_id = s.sensor_id };
		s.alerts[i] = out_sink_open(alerts_dest[i], &oc, err, sizeof(err));
		if (!s.alerts[i]) {
			fprintf(stderr, "mailtap: --alerts: %s\n", err);
			close_sinks(&s);
			score_free(s.score);
			catalog_free(s.catalog);
			return EXIT_OUTPUT;
		}
		s.nalerts++;
	}

	for (int i = 0; i < nsessions_dest; i++) {
		struct out_sink_config oc = { .kind = "sessions" };
		s.sessions[i] = out_sink_open(sessions_dest[i], &oc, err, sizeof(err));
		if (!s.sessions[i]) {
			fprintf(stderr, "mailtap: --sessions: %s\n", err);
			close_sinks(&s);
			catalog_free(s.catalog);
			return EXIT_OUTPUT;
		}
		s.nsessions++;
	}
	s.agg = agg_new(&acfg, on_session, &s);
	if (!s.agg) {
		fprintf(stderr, "mailtap: cannot allocate the flow table (%u flows): %s\n",
			acfg.flow.max_flows, strerror(errno));
		close_sinks(&s);
		catalog_free(s.catalog);
		return EXIT_USAGE;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);

	s.start_wall_ns = clock_ns(CLOCK_REALTIME);
	heartbeat(&s);
	rc = capture_replay_files(files, nfiles, on_frame, should_stop, &s, &cs);
	if (rc == -EINVAL || rc == -ENOMEM) {
		exit_code = EXIT_INPUT;
		goto out;
	}
	if (rc < 0)
		exit_code = EXIT_INPUT;
	agg_finish(s.agg);
	save_state(&s);
	heartbeat(&s);
	if (!s.quiet)
		print_stats(&s, &cs);
out:
	if (close_sinks(&s) < 0 || s.output_failed)
		exit_code = EXIT_OUTPUT;
	agg_free(s.agg);
	score_free(s.score);
	catalog_free(s.catalog);
	return exit_code;
}
