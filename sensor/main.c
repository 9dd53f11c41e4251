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

#include "aggregator.h"
#include "capture.h"
#include "catalog.h"
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

static void print_app_stats(struct sensor *s)
{
	struct app_stats ap;
	if (!agg_get_app_stats(s->agg, &ap))
		return;
	fprintf(stderr,
		"  identify: client hellos %llu (after STARTTLS %llu, incomplete %llu), not tls %llu, bad tls %llu\n"
		"            dns responses %llu (bad %llu, addresses learned %llu)\n"
		"            mail sessions by sni %llu, by dns %llu, by ip %llu; pools full: ident %llu, reassembly %llu\n",
		(unsigned long long)ap.hellos, (unsigned long long)ap.starttls,
		(unsigned long long)ap.hellos_incomplete, (unsigned long long)ap.not_tls,
		(unsigned long long)ap.tls_invalid, (unsigned long long)ap.dns_responses,
		(unsigned long long)ap.dns_bad, (unsigned long long)ap.dns_answers,
		(unsigned long long)ap.by_sni, (unsigned long long)ap.by_dns,
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
}

static void on_session(const struct session *ss, void *arg)
{
	struct sensor *s = arg;
	char id[64];
	json_t *o;
	char *line;
	size_t len;

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

static void on_frame(void *arg, int linktype, const uint8_t *frame, size_t caplen,
		     size_t wirelen, uint64_t ts_ns)
{
	struct sensor *s = arg;
	struct packet pkt;

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
	       OPT_TCP_CLOSE_TO, OPT_UDP_TO, OPT_INTERIM, OPT_SEED, OPT_CATALOG, OPT_CID_SEED };
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
	const char *sessions_dest[MAX_SINKS];
	int nsessions_dest = 0;
	char err[512];
	int nfiles = 0, opt, rc, exit_code = 0;
	uint32_t seed = 0;
	const char *env_seed = getenv("MAILTAP_SEED");

	agg_config_default(&acfg);
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

	rc = capture_replay_files(files, nfiles, on_frame, should_stop, &s, &cs);
	if (rc == -EINVAL || rc == -ENOMEM) {
		exit_code = EXIT_INPUT;
		goto out;
	}
	if (rc < 0)
		exit_code = EXIT_INPUT;
	agg_finish(s.agg);
	if (!s.quiet)
		print_stats(&s, &cs);
out:
	if (close_sinks(&s) < 0 || s.output_failed)
		exit_code = EXIT_OUTPUT;
	agg_free(s.agg);
	catalog_free(s.catalog);
	return exit_code;
}
