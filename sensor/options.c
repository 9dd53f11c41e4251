/* SPDX-License-Identifier: MIT */
/*
 * options.c -- the option table, command-line parsing and the YAML
 * configuration file (libyaml).  See options.h.
 *
 * Every option is one row of `opts[]`: its flag (if any), its key in the
 * file (if any), its type and bounds, and where it lands in struct
 * sensor_options.  The same setter validates both, so `--max-flows 0` and
 * `flows: {max_flows: 0}` fail with the same words; only the location in
 * front differs ("--max-flows" or "mailtap.yaml:12: flows.max_flows").
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>
#include "output-redis-url.h"
#include "util-hash.h"
#include "util-log.h"
#include "util-units.h"

#ifndef MAILTAP_VERSION
#define MAILTAP_VERSION "0.1.0"
#endif
/* from PREFIX (Makefile; a stamp rebuilds this file when PREFIX changes) */
#ifndef MAILTAP_DATADIR
#define MAILTAP_DATADIR "/usr/local/share/mailtap"
#endif

enum opt_type {
	OT_FLAG,      /* bool */
	OT_U32,       /* uint32_t in [min, max] */
	OT_DURATION,  /* uint32_t seconds: 90, 90s, 30m, 24h, 2d; at most max */
	OT_BYTES,     /* uint64_t: 50000000, 50MB, 50M, 2GB */
	OT_DOUBLE,    /* double in [dmin, dmax] */
	OT_STR,       /* char[size] */
	OT_LIST,      /* struct opt_list of strings */
	OT_CIDR_LIST, /* struct opt_list of networks */
	OT_HOURS,     /* "8-18" into score.work_start_h/work_end_h */
	OT_DAYS,      /* "mon-fri" into score.work_days */
	OT_CLI,       /* command line only, handled by hand */
};

struct opt_desc {
	const char *flag;    /* long option without "--", or NULL */
	int short_opt;       /* or 0 */
	const char *key;     /* dotted key in the file, or NULL */
	enum opt_type type;
	size_t off;          /* into struct sensor_options */
	uint64_t min, max;   /* OT_U32, OT_DURATION (max), OT_BYTES */
	double dmin, dmax;   /* OT_DOUBLE */
	size_t size;         /* OT_STR */
	const char *arg;     /* argument name for --help, NULL = no argument */
	const char *help;    /* one line for --help; NULL = config/docs only */
};

#define O(f) offsetof(struct sensor_options, f)

static const struct opt_desc opts[] = {
	/* -- command line only -- */
	{ "help", 'h', NULL, OT_CLI, 0, 0, 0, 0, 0, 0, NULL, "the common options" },
	{ "help-all", 0, NULL, OT_CLI, 0, 0, 0, 0, 0, 0, NULL, NULL },
	{ "version", 'V', NULL, OT_CLI, 0, 0, 0, 0, 0, 0, NULL, "print the version" },
	{ "quiet", 'q', NULL, OT_CLI, 0, 0, 0, 0, 0, 0, NULL, "no stats summary on stderr at exit" },
	{ "config", 'c', NULL, OT_CLI, 0, 0, 0, 0, 0, 0, "FILE", "YAML configuration file; flags override it" },
	{ "check-config", 0, NULL, OT_CLI, 0, 0, 0, 0, 0, 0, "FILE", "validate FILE, print the effective configuration" },
	{ "explain", 0, NULL, OT_STR, O(explain), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->explain), "HOST", "print every evaluation of HOST: each signal, its baseline, peers, strength and gate" },
	/* -- sensor -- */
	{ "log-level", 0, "sensor.log_level", OT_STR, O(log_level), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->log_level), "LEVEL", "error, warning, notice, info (default) or debug; under systemd, lines carry their priority" },
	{ "sensor-id", 0, "sensor.id", OT_STR, O(sensor_id), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->sensor_id), "NAME", "name of this sensor in records (host name)" },
	{ "user", 0, "sensor.user", OT_STR, O(user), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->user), "NAME", "after opening capture and outputs, run as NAME with only the capabilities still needed" },
	{ "seed", 0, "sensor.seed", OT_U32, O(seed), 0, UINT32_MAX, 0, 0, 0, "N", "hash seed (MAILTAP_SEED; 0 random)" },
	/* -- capture -- */
	{ "read", 'r', "capture.read", OT_LIST, O(read), 0, 0, 0, 0, 0, "FILE", "replay a pcap/pcapng file (repeatable, one timeline)" },
	{ "replay-speed", 0, "capture.replay_speed", OT_DOUBLE, O(replay_speed), 0, 0, 0, 1e6, 0, "X", "pace -r replays at X times the captured speed (0: as fast as possible)" },
	{ "interface", 'i', "capture.interfaces", OT_LIST, O(interfaces), 0, 0, 0, 0, 0, "IFACE", "capture live on IFACE (repeatable)" },
	{ "capture", 0, "capture.mode", OT_STR, O(capture_mode), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->capture_mode), "MODE", "live capture: ebpf-tc (default), ebpf-xdp or pcap" },
	{ "pcap-buffer", 0, "capture.pcap_buffer_mb", OT_U32, O(pcap_buffer_mb), 1, 4096, 0, 0, 0, "MB", "libpcap kernel buffer, MB (64)" },
	{ "snaplen", 0, "capture.snaplen", OT_U32, O(snaplen), 64, 262144, 0, 0, 0, "N", "libpcap bytes kept per frame (65535)" },
	/* -- identification -- */
	{ "catalog", 0, "catalog.files", OT_LIST, O(catalogs), 0, 0, 0, 0, 0, "FILE", "endpoint catalog (repeatable: later files add to it)" },
	{ NULL, 0, "identify.ident_slots", OT_U32, O(agg.app.ident_slots), 1, 1u << 24, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "identify.reassembly_slots", OT_U32, O(agg.app.reasm_slots), 1, 1u << 20, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "identify.dns_cache_entries", OT_U32, O(agg.app.dns_cache_entries), 1, 1u << 24, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "identify.dns_ttl_floor", OT_DURATION, O(agg.app.dns_ttl_floor_s), 0, 86400, 0, 0, 0, NULL, NULL },
	/* -- outputs -- */
	{ "sessions", 0, "outputs.sessions", OT_LIST, O(sessions), 0, 0, 0, 0, 0, "DEST", "sessions to -, FILE or redis://HOST:PORT (repeatable)" },
	{ "alerts", 0, "outputs.alerts", OT_LIST, O(alerts), 0, 0, 0, 0, 0, "DEST", "alert records, same DEST forms (repeatable)" },
	{ "community-id-seed", 0, "outputs.community_id_seed", OT_U32, O(community_id_seed), 0, 65535, 0, 0, 0, "N", "Community ID seed (0)" },
	{ "format", 0, "outputs.format", OT_STR, O(output_format), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->output_format), "FMT", "records as native (default), eve (Suricata EVE JSON) or ecs (Elastic Common Schema); docs/formats.md" },
	{ "spool-dir", 0, "outputs.spool_dir", OT_STR, O(spool_dir), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->spool_dir), "DIR", "where Redis sinks keep undelivered records" },
	{ NULL, 0, "outputs.redis_password", OT_STR, O(redis_password), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->redis_password), NULL, NULL },
	{ NULL, 0, "outputs.heartbeat", OT_DURATION, O(heartbeat_s), 1, 3600, 0, 0, 0, NULL, NULL },
	{ "all-flows", 0, "outputs.all_flows", OT_FLAG, O(all_flows), 0, 0, 0, 0, 0, NULL, "write every flow, not only cloud-mail sessions" },
	/* -- flows -- */
	{ "max-flows", 0, "flows.max_flows", OT_U32, O(agg.flow.max_flows), 1, 1u << 28, 0, 0, 0, "N", "flow table size (1048576); least recently seen evicted" },
	{ "tcp-timeout", 0, "flows.tcp_timeout", OT_DURATION, O(agg.flow.timeout_s[FLOW_LIST_TCP_EST]), 1, 86400, 0, 0, 0, "DUR", "idle timeout, established TCP (1h)" },
	{ "tcp-new-timeout", 0, "flows.tcp_new_timeout", OT_DURATION, O(agg.flow.timeout_s[FLOW_LIST_TCP_NEW]), 1, 86400, 0, 0, 0, "DUR", "idle timeout, unanswered TCP (60s)" },
	{ "tcp-close-timeout", 0, "flows.tcp_close_timeout", OT_DURATION, O(agg.flow.timeout_s[FLOW_LIST_TCP_CLOSED]), 0, 86400, 0, 0, 0, "DUR", "linger after FIN/RST (5s)" },
	{ "udp-timeout", 0, "flows.udp_timeout", OT_DURATION, O(agg.flow.timeout_s[FLOW_LIST_OTHER]), 1, 86400, 0, 0, 0, "DUR", "idle timeout, UDP (60s)" },
	{ "interim", 0, "flows.interim", OT_DURATION, O(agg.interim_s), 0, 86400, 0, 0, 0, "DUR", "session_update period, packet time (60s; 0 = off)" },
	/* -- tunnels (docs/config.md "decap") -- */
	{ NULL, 0, "decap.enabled", OT_FLAG, O(decap.decap), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.vxlan", OT_FLAG, O(decap.type_on[TUNNEL_VXLAN]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.geneve", OT_FLAG, O(decap.type_on[TUNNEL_GENEVE]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.gre", OT_FLAG, O(decap.type_on[TUNNEL_GRE]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.erspan", OT_FLAG, O(decap.type_on[TUNNEL_ERSPAN]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.ipip", OT_FLAG, O(decap.type_on[TUNNEL_IPIP]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.teredo", OT_FLAG, O(decap.type_on[TUNNEL_TEREDO]), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.vxlan_ports", OT_LIST, O(decap_vxlan_ports), 0, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "decap.geneve_ports", OT_LIST, O(decap_geneve_ports), 0, 0, 0, 0, 0, NULL, NULL },
	/* -- scoring -- */
	{ "state", 0, "scoring.state", OT_STR, O(state_path), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->state_path), "FILE", "keep baselines in FILE across runs" },
	{ NULL, 0, "scoring.state_save", OT_DURATION, O(state_save_s), 60, 86400, 0, 0, 0, NULL, NULL },
	{ "learning", 0, "scoring.learning", OT_DURATION, O(score.learning_s), 0, 366u * 86400, 0, 0, 0, "DUR", "novelty and host-own baselines wait this long (24h)" },
	{ NULL, 0, "scoring.short_window", OT_DURATION, O(score.short_window_s), SCORE_BUCKET_S, SCORE_MAX_BUCKETS * SCORE_BUCKET_S, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.long_window", OT_DURATION, O(score.long_window_s), SCORE_BUCKET_S, SCORE_MAX_BUCKETS * SCORE_BUCKET_S, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.suppress", OT_DURATION, O(score.suppress_s), 0, 7u * 86400, 0, 0, 0, NULL, NULL },
	{ "alert-threshold", 0, "scoring.alert_threshold", OT_DOUBLE, O(score.alert_threshold), 0, 0, 1, 100, 0, "N", "score (1-100) that raises an alert (50)" },
	{ NULL, 0, "scoring.realert_delta", OT_DOUBLE, O(score.realert_delta), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.weights.bulk_download", OT_DOUBLE, O(score.weight[SIG_BULK_DOWNLOAD]), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.weights.bulk_upload", OT_DOUBLE, O(score.weight[SIG_BULK_UPLOAD]), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.weights.beaconing", OT_DOUBLE, O(score.weight[SIG_BEACONING]), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.weights.off_hours", OT_DOUBLE, O(score.weight[SIG_OFF_HOURS]), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.weights.new_client", OT_DOUBLE, O(score.weight[SIG_NEW_CLIENT]), 0, 0, 0, 100, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.download_short", OT_BYTES, O(score.floor_down_short), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.download_long", OT_BYTES, O(score.floor_down_long), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.upload_short", OT_BYTES, O(score.floor_up_short), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.upload_long", OT_BYTES, O(score.floor_up_long), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.off_hours", OT_BYTES, O(score.floor_off_hours), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.download_day", OT_BYTES, O(score.floor_down_day), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.upload_day", OT_BYTES, O(score.floor_up_day), 0, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.reference_per_hour", OT_BYTES, O(score.ref_floor_per_hour), 1, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.floors.reference_new_host", OT_BYTES, O(score.cold_ref_per_hour), 1, UINT64_MAX / 2, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.short_low", OT_DOUBLE, O(score.ratio_low), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.short_high", OT_DOUBLE, O(score.ratio_high), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.long_low", OT_DOUBLE, O(score.ratio_low_long), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.long_high", OT_DOUBLE, O(score.ratio_high_long), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.day_low", OT_DOUBLE, O(score.ratio_low_day), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.ratios.day_high", OT_DOUBLE, O(score.ratio_high_day), 0, 0, 1, 1e6, 0, NULL, NULL },
	{ NULL, 0, "scoring.own_quantile", OT_DOUBLE, O(score.own_quantile), 0, 0, 0.5, 1, 0, NULL, NULL },
	{ NULL, 0, "scoring.peer_quantile_new", OT_DOUBLE, O(score.peer_quantile_new), 0, 0, 0.5, 1, 0, NULL, NULL },
	{ NULL, 0, "scoring.beacon.min_connections", OT_U32, O(score.beacon_min_conns), 4, SCORE_BEACON_MAX, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.beacon.low", OT_DOUBLE, O(score.beacon_low), 0, 0, 0, 1, 0, NULL, NULL },
	{ NULL, 0, "scoring.beacon.high", OT_DOUBLE, O(score.beacon_high), 0, 0, 0, 1, 0, NULL, NULL },
	{ NULL, 0, "scoring.beacon.full_hours", OT_DOUBLE, O(score.beacon_full_hours), 0, 0, 0.5, 24, 0, NULL, NULL },
	{ NULL, 0, "scoring.beacon.full_connections", OT_U32, O(score.beacon_full_conns), 5, SCORE_BEACON_MAX, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.max_pairs", OT_U32, O(score.max_pairs), 1, 1u << 22, 0, 0, 0, NULL, NULL },
	{ NULL, 0, "scoring.max_novelty", OT_U32, O(score.max_novelty), 1, 1u << 24, 0, 0, 0, NULL, NULL },
	/* -- networks and site -- */
	{ "internal", 0, "networks.internal", OT_CIDR_LIST, O(internal), 0, 0, 0, 0, 0, "CIDR", "internal network (repeatable; default RFC 1918 + ULA)" },
	{ "allow", 0, "networks.allow", OT_CIDR_LIST, O(allow), 0, 0, 0, 0, 0, "CIDR", "never score these hosts (repeatable; adds to the file's)" },
	{ "work-hours", 0, "site.work_hours", OT_HOURS, 0, 0, 0, 0, 0, 0, "H-H", "working hours of the site (8-18)" },
	{ "work-days", 0, "site.work_days", OT_DAYS, 0, 0, 0, 0, 0, 0, "DAYS", "working days (mon-fri)" },
	{ "tz", 0, "site.timezone", OT_STR, O(score.tz), 0, 0, 0, 0, sizeof(((struct score_config *)0)->tz), "ZONE", "time zone of the site (UTC)" },
	/* -- metrics -- */
	{ "metrics", 0, "metrics.listen", OT_STR, O(metrics_listen), 0, 0, 0, 0, sizeof(((struct sensor_options *)0)->metrics_listen), "ADDR:PORT", "serve Prometheus metrics (off; e.g. 127.0.0.1:9187)" },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

/* decap.*_ports: UDP port numbers, at most DECODE_EXTRA_PORTS. */
static int decap_ports(uint16_t out[DECODE_EXTRA_PORTS], const struct opt_list *l, const char *key)
{
	memset(out, 0, sizeof(uint16_t) * DECODE_EXTRA_PORTS);
	if (l->n > DECODE_EXTRA_PORTS) {
		log_err("%s: at most %d ports", key, DECODE_EXTRA_PORTS);
		return -EINVAL;
	}
	for (int i = 0; i < l->n; i++) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(l->v[i], &end, 10);
		if (errno || end == l->v[i] || *end || v == 0 || v > 65535) {
			log_err("%s: '%s' is not a UDP port (1-65535)", key, l->v[i]);
			return -EINVAL;
		}
		out[i] = (uint16_t)v;
	}
	return 0;
}

void options_defaults(struct sensor_options *o)
{
	memset(o, 0, sizeof(*o));
	agg_config_default(&o->agg);
	decode_config_default(&o->decap);
	score_config_default(&o->score);
	snprintf(o->capture_mode, sizeof(o->capture_mode), "ebpf-tc");
	snprintf(o->log_level, sizeof(o->log_level), "info");
	snprintf(o->output_format, sizeof(o->output_format), "native");
	o->pcap_buffer_mb = 64;
	o->snaplen = 65535;
	o->heartbeat_s = 10;
	o->state_save_s = 3600;
	if (gethostname(o->sensor_id, sizeof(o->sensor_id) - 1) < 0 || !o->sensor_id[0])
		snprintf(o->sensor_id, sizeof(o->sensor_id), "mailtap");
	/* the default internal networks, as a list the file or flags replace */
	for (unsigned i = 0; i < o->score.n_internal && o->internal.n < OPT_LIST_MAX; i++) {
		char buf[NET_ADDR_STRLEN + 8], a[NET_ADDR_STRLEN];
		snprintf(buf, sizeof(buf), "%s/%u",
			 net_addr_format(&o->score.internal[i].net, a, sizeof(a)),
			 o->score.internal[i].plen);
		o->internal.v[o->internal.n] = strdup(buf);
		if (o->internal.v[o->internal.n])
			o->internal.n++;
	}
}

static void list_clear(struct opt_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

void options_release(struct sensor_options *o)
{
	list_clear(&o->read);
	list_clear(&o->interfaces);
	list_clear(&o->catalogs);
	list_clear(&o->sessions);
	list_clear(&o->alerts);
	list_clear(&o->internal);
	list_clear(&o->allow);
	list_clear(&o->decap_vxlan_ports);
	list_clear(&o->decap_geneve_ports);
	explicit_bzero(o->redis_password, sizeof(o->redis_password));
}

/* ------------------------------------------------------------ setters */

static int parse_days(const char *str, uint8_t *mask)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char buf[64], *tok, *save = NULL;
	uint8_t m = 0;

	if (strlen(str) >= sizeof(buf))
		return -EINVAL;
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

static int bool_value(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/*
 * A time zone that exists: "UTC", or a tz database name with its TZif file
 * under $TZDIR or /usr/share/zoneinfo.  glibc takes any name and quietly
 * uses UTC for one it does not know ("Mars/Olympus").
 */
static int check_tz(const char *where, const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], magic[4];
	FILE *fp;
	size_t n;

	if (!strcmp(tz, "UTC") || !strcmp(tz, "UTC0"))
		return 0;
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (!tz[0] || tz[0] == '/' || tz[0] == ':' || strstr(tz, "..")) {
		log_err("%s: '%s' is not a time zone name like Europe/Berlin", where, tz);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, tz);
	fp = fopen(path, "rb");
	n = fp ? fread(magic, 1, sizeof(magic), fp) : 0;
	if (fp)
		fclose(fp);
	if (n != sizeof(magic) || memcmp(magic, "TZif", 4)) {
		log_err("%s: '%s' is not a time zone of the tz database (no %s)", where, tz, path);
		return -EINVAL;
	}
	return 0;
}

/* --sessions / --alerts: a redis destination must parse here, so that a
 * malformed one is a usage error (exit 2), found by --check-config too. */
static int check_dest(const char *where, const char *v)
{
	struct out_redis_url u;
	char err[300], shown[256];

	if (!strncmp(v, "rediss://", 9)) {
		log_err("%s: rediss://: TLS to Redis is not supported (use a local TLS proxy; "
			"see docs/redis.md)", where);
		return -EINVAL;
	}
	if (strncmp(v, "redis://", 8) && strncmp(v, "unix:", 5))
		return 0;
	if (out_redis_url_parse(v, &u, err, sizeof(err)) < 0) {
		out_redis_url_redact(v, shown, sizeof(shown));
		log_err("%s: '%s': %s", where, shown, err);
		return -EINVAL;
	}
	return 0;
}

/*
 * Set one option from text.  @where names the source for messages
 * ("--max-flows" or "file:12: flows.max_flows").  Lists append.
 */
static int set_value(struct sensor_options *o, const struct opt_desc *d, const char *where,
		     const char *v)
{
	char *base = (char *)o;
	struct net_addr na;
	unsigned plen;

	switch (d->type) {
	case OT_FLAG:
		if (bool_value(v, (bool *)(base + d->off)) < 0) {
			log_err("%s: '%s' is not true or false", where, v);
			return -EINVAL;
		}
		return 0;
	case OT_U32: {
		char *end;
		unsigned long long x;
		errno = 0;
		x = strtoull(v, &end, 10);
		if (errno || end == v || *end || *v == '-' || x < d->min || x > d->max) {
			log_err("%s: '%s' is not a whole number from %llu to %llu",
				where, v, (unsigned long long)d->min, (unsigned long long)d->max);
			return -EINVAL;
		}
		*(uint32_t *)(base + d->off) = (uint32_t)x;
		return 0;
	}
	case OT_DURATION: {
		uint32_t x;
		if (units_parse_duration(v, d->max, &x) < 0 || x < d->min) {
			log_err("%s: '%s' is not a duration like 90s, 30m, 24h or 2d "
				"(from %llus to %llus)", where, v, (unsigned long long)d->min,
				(unsigned long long)d->max);
			return -EINVAL;
		}
		*(uint32_t *)(base + d->off) = x;
		return 0;
	}
	case OT_BYTES: {
		uint64_t x;
		if (units_parse_bytes(v, &x) < 0 || x < d->min || x > d->max) {
			log_err("%s: '%s' is not a size like 50MB, 2GB or 1500000",
				where, v);
			return -EINVAL;
		}
		*(uint64_t *)(base + d->off) = x;
		return 0;
	}
	case OT_DOUBLE: {
		char *end;
		double x;
		errno = 0;
		x = strtod(v, &end);
		if (errno || end == v || *end || !(x >= d->dmin && x <= d->dmax)) {
			log_err("%s: '%s' is not a number from %g to %g", where, v,
				d->dmin, d->dmax);
			return -EINVAL;
		}
		*(double *)(base + d->off) = x;
		return 0;
	}
	case OT_STR:
		if (strlen(v) >= d->size) {
			log_err("%s: longer than %zu characters", where, d->size - 1);
			return -EINVAL;
		}
		if (d->off == O(score.tz) && check_tz(where, v) < 0)
			return -EINVAL;
		if (d->off == O(capture_mode) && strcmp(v, "ebpf-tc") && strcmp(v, "ebpf-xdp") &&
		    strcmp(v, "pcap")) {
			log_err("%s: '%s' is not ebpf-tc, ebpf-xdp or pcap", where, v);
			return -EINVAL;
		}
		if (d->off == O(output_format) && strcmp(v, "native") && strcmp(v, "eve") &&
		    strcmp(v, "ecs")) {
			log_err("%s: '%s' is not native, eve or ecs", where, v);
			return -EINVAL;
		}
		if (d->off == O(log_level) && log_level_parse(v) < 0) {
			log_err("%s: '%s' is not error, warning, notice, info or debug", where, v);
			return -EINVAL;
		}
		memcpy(base + d->off, v, strlen(v) + 1);
		return 0;
	case OT_CIDR_LIST:
		if (net_prefix_parse(v, &na, &plen) < 0) {
			log_err("%s: '%s' is not an address or network like 10.0.0.0/8 "
				"or fd00::/8", where, v);
			return -EINVAL;
		}
		/* fall through */
	case OT_LIST: {
		struct opt_list *l = (struct opt_list *)(base + d->off);
		if ((d->off == O(sessions) || d->off == O(alerts)) && check_dest(where, v) < 0)
			return -EINVAL;
		if (d->off == O(decap_vxlan_ports) || d->off == O(decap_geneve_ports)) {
			char *end;
			unsigned long port;
			errno = 0;
			port = strtoul(v, &end, 10);
			if (errno || end == v || *end || *v == '-' || port == 0 || port > 65535) {
				log_err("%s: '%s' is not a UDP port (1-65535)", where, v);
				return -EINVAL;
			}
			if (l->n == DECODE_EXTRA_PORTS) {
				log_err("%s: at most %d ports", where, DECODE_EXTRA_PORTS);
				return -EINVAL;
			}
		}
		if (d->off == O(catalogs) && access(v, R_OK) < 0) {
			log_err("%s: cannot read catalog '%s': %s", where, v, strerror(errno));
			return -EINVAL;
		}
		if (l->n == OPT_LIST_MAX) {
			log_err("%s: at most %d values", where, OPT_LIST_MAX);
			return -EINVAL;
		}
		l->v[l->n] = strdup(v);
		if (!l->v[l->n])
			return -ENOMEM;
		l->n++;
		return 0;
	}
	case OT_HOURS: {
		unsigned a, b;
		char tail;
		if (sscanf(v, "%u-%u%c", &a, &b, &tail) != 2 || a >= b || b > 24) {
			log_err("%s: '%s' is not like 8-18 (hours 0-24, start before end)",
				where, v);
			return -EINVAL;
		}
		o->score.work_start_h = (uint8_t)a;
		o->score.work_end_h = (uint8_t)b;
		return 0;
	}
	case OT_DAYS:
		if (parse_days(v, &o->score.work_days) < 0) {
			log_err("%s: '%s' is not like mon-fri or mon,wed,sat", where, v);
			return -EINVAL;
		}
		return 0;
	case OT_CLI:
		break;
	}
	return -EINVAL;
}

static bool is_list(const struct opt_desc *d)
{
	return d->type == OT_LIST || d->type == OT_CIDR_LIST;
}

/* ------------------------------------------------------------- YAML */

static const struct opt_desc *by_key(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].key && !strcmp(opts[i].key, key))
			return &opts[i];
	return NULL;
}

/* True when some key lies below @prefix ("flows" for "flows.max_flows"). */
static bool is_section(const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].key && !strncmp(opts[i].key, prefix, n) && opts[i].key[n] == '.')
			return true;
	return false;
}

/* The sections that are lists of entries (yaml_structured), top level. */
static const char *const structured_keys[] = { "allowlist", "sites", NULL };

/*
 * The names one level below @prefix ("" for the top), each once, in table
 * order, through @fn: for "scoring", "state", ..., "weights", "floors", ...
 */
static void for_each_child(const char *prefix, void (*fn)(void *arg, const char *name, size_t len),
			   void *arg)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *k = opts[i].key, *c;
		size_t len;
		bool seen = false;
		if (!k || (n && (strncmp(k, prefix, n) || k[n] != '.')))
			continue;
		c = k + (n ? n + 1 : 0);
		len = strcspn(c, ".");
		for (size_t j = 0; j < i && !seen; j++) {
			const char *q = opts[j].key;
			if (q && (!n || (!strncmp(q, prefix, n) && q[n] == '.')))
				seen = !strncmp(q + (n ? n + 1 : 0), c, len) &&
				       strcspn(q + (n ? n + 1 : 0), ".") == len;
		}
		if (!seen)
			fn(arg, c, len);
	}
	if (!n)
		for (const char *const *sk = structured_keys; *sk; sk++)
			fn(arg, *sk, strlen(*sk));
}

struct name_list {
	char *buf;
	size_t len, used;
};

static void add_name(void *arg, const char *name, size_t len)
{
	struct name_list *l = arg;
	if (l->used + 2 < l->len)
		l->used += (size_t)snprintf(l->buf + l->used, l->len - l->used, "%s%.*s",
					    l->used ? ", " : "", (int)len, name);
}

/* Levenshtein distance of @a and @b[0..blen), short names only. */
static size_t edit_distance(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a), row[65], i, j;

	if (alen > 64 || blen > 64)
		return SIZE_MAX;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		size_t diag = row[0], next;
		row[0] = i;
		for (j = 1; j <= blen; j++) {
			size_t m = diag; /* substitute */
			next = row[j];
			if (row[j] < m)
				m = row[j];      /* delete */
			if (row[j - 1] < m)
				m = row[j - 1];  /* insert */
			row[j] = a[i - 1] == b[j - 1] ? diag : m + 1;
			diag = next;
		}
	}
	return row[blen];
}

struct closest {
	const char *name;          /* the unknown name */
	char best[128];
	size_t dist;
};

static void closer(void *arg, const char *name, size_t len)
{
	struct closest *c = arg;
	size_t d = edit_distance(c->name, name, len);
	if (d < c->dist && len < sizeof(c->best)) {
		c->dist = d;
		snprintf(c->best, sizeof(c->best), "%.*s", (int)len, name);
	}
}

/*
 * "unknown key 'scoring.alert_treshold': did you mean 'scoring.alert_threshold'?
 * (known here: state, ...)": the closest name at that level by edit distance,
 * or else a key anywhere with that last name (a key in the wrong section);
 * the list names one level only.
 */
static void unknown_key(const char *file, size_t line, const char *path, const char *name)
{
	struct closest c = { .name = name, .dist = SIZE_MAX };
	char known[1024], hint[300] = "";
	struct name_list l = { known, sizeof(known), 0 };
	size_t n = strlen(name);

	known[0] = '\0';
	for_each_child(path, add_name, &l);
	for_each_child(path, closer, &c);
	if (c.best[0] && c.dist <= (n > 6 ? n / 3 : 2)) {
		snprintf(hint, sizeof(hint), ": did you mean '%s%s%s'?", path, path[0] ? "." : "",
			 c.best);
	} else {
		for (size_t i = 0; i < N_OPTS; i++) {
			const char *k = opts[i].key, *leaf = k ? strrchr(k, '.') : NULL;
			if (leaf && edit_distance(name, leaf + 1, strlen(leaf + 1)) <= (n > 6 ? 1 : 0)) {
				snprintf(hint, sizeof(hint), ": did you mean '%s'?", k);
				break;
			}
		}
	}
	log_err("%s:%zu: unknown key '%s%s%s'%s (known %s%s: %s)", file, line, path,
		path[0] ? "." : "", name, hint, path[0] ? "in " : "sections", path, known);
}

/* Is the key of pair @p of @map one an earlier pair already has?  Then
 * returns that pair's key node. */
static yaml_node_t *earlier_key(yaml_document_t *doc, yaml_node_t *map, yaml_node_pair_t *p)
{
	yaml_node_t *k = yaml_document_get_node(doc, p->key);
	if (!k || k->type != YAML_SCALAR_NODE)
		return NULL;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *e = yaml_document_get_node(doc, q->key);
		if (e && e->type == YAML_SCALAR_NODE && !strcmp((const char *)e->data.scalar.value,
								 (const char *)k->data.scalar.value))
			return e;
	}
	return NULL;
}

/* The scalar value of key @key in mapping @map, or NULL; *node gets it. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* Every key of @map must be one of @allowed (NULL-terminated). */
static int map_keys_known(yaml_document_t *doc, yaml_node_t *map, const char *const *allowed,
			  const char *file, const char *path)
{
	int rc = 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		const char *name = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
		yaml_node_t *first = earlier_key(doc, map, p);
		bool found = false;
		for (const char *const *a = allowed; *a; a++)
			found |= !strcmp(*a, name);
		if (first) {
			log_err("%s:%zu: duplicate key '%s.%s' (first at line %zu)", file,
				k->start_mark.line + 1, path, name, first->start_mark.line + 1);
			rc = -EINVAL;
		} else if (!found) {
			log_err("%s:%zu: %s: unknown key '%s'", file,
				k ? k->start_mark.line + 1 : 0, path, name);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* Scalars of a scalar or a sequence node, through @fn. */
static int for_each_scalar(yaml_document_t *doc, yaml_node_t *n, const char *where,
			   int (*fn)(void *arg, const char *where, const char *v), void *arg)
{
	if (n->type == YAML_SCALAR_NODE)
		return fn(arg, where, (const char *)n->data.scalar.value);
	if (n->type != YAML_SEQUENCE_NODE) {
		log_err("%s: expected a value or a list", where);
		return -EINVAL;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *x = yaml_document_get_node(doc, *it);
		if (!x || x->type != YAML_SCALAR_NODE) {
			log_err("%s: list items must be single values", where);
			return -EINVAL;
		}
		if (fn(arg, where, (const char *)x->data.scalar.value) < 0)
			return -EINVAL;
	}
	return 0;
}

static int add_signal(void *arg, const char *where, const char *v)
{
	int sig = score_signal_by_name(v);
	if (sig < 0) {
		log_err("%s: '%s' is not a signal (bulk_download, bulk_upload, "
			"beaconing, off_hours, new_client)", where, v);
		return -EINVAL;
	}
	*(uint32_t *)arg |= 1u << sig;
	return 0;
}

static int add_site_net(void *arg, const char *where, const char *v)
{
	struct score_site *site = arg;
	if (site->n_nets == SCORE_SITE_NETS) {
		log_err("%s: at most %d networks per site", where, SCORE_SITE_NETS);
		return -EINVAL;
	}
	if (net_prefix_parse(v, &site->nets[site->n_nets].net, &site->nets[site->n_nets].plen) < 0) {
		log_err("%s: '%s' is not an address or network like 10.0.0.0/8", where, v);
		return -EINVAL;
	}
	site->n_nets++;
	return 0;
}

/*
 * allowlist: [{host: CIDR, provider: ID?, signals: [..]?}, ...]
 * sites: [{name, networks: [CIDR..], work_hours, work_days, timezone}, ...]
 */
static int yaml_structured(struct sensor_options *o, yaml_document_t *doc, yaml_node_t *seq,
			   const char *path, const char *file)
{
	static const char *const allow_keys[] = { "host", "provider", "signals", NULL };
	static const char *const site_keys[] = { "name", "networks", "work_hours", "work_days",
						 "timezone", NULL };
	bool sites = !strcmp(path, "sites");
	int rc = 0;

	if (seq->type != YAML_SEQUENCE_NODE) {
		log_err("%s:%zu: %s: expected a list of entries", file,
			seq->start_mark.line + 1, path);
		return -EINVAL;
	}
	if (sites)
		o->score.n_sites = 0;
	else
		o->score.n_rules = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(doc, *it), *v;
		char where[512];
		if (!m || m->type != YAML_MAPPING_NODE) {
			log_err("%s:%zu: %s: each entry is a mapping of keys", file,
				m ? m->start_mark.line + 1 : 0, path);
			return -EINVAL;
		}
		snprintf(where, sizeof(where), "%s:%zu: %s", file, m->start_mark.line + 1, path);
		if (map_keys_known(doc, m, sites ? site_keys : allow_keys, file, path) < 0) {
			rc = -EINVAL;
			continue;
		}
		if (!sites) {
			struct score_allow_rule *r;
			if (o->score.n_rules == SCORE_MAX_RULES) {
				log_err("%s: at most %d rules", where, SCORE_MAX_RULES);
				return -EINVAL;
			}
			r = &o->score.rules[o->score.n_rules];
			memset(r, 0, sizeof(*r));
			v = map_get(doc, m, "host");
			if (!v || v->type != YAML_SCALAR_NODE ||
			    net_prefix_parse((const char *)v->data.scalar.value, &r->net.net, &r->net.plen) < 0) {
				log_err("%s.host: needs an address or network like 10.0.0.25 or 10.0.0.0/24", where);
				rc = -EINVAL;
				continue;
			}
			v = map_get(doc, m, "provider");
			if (v && (v->type != YAML_SCALAR_NODE || v->data.scalar.length >= sizeof(r->provider))) {
				log_err("%s.provider: expected a provider id like microsoft365", where);
				rc = -EINVAL;
				continue;
			}
			if (v)
				snprintf(r->provider, sizeof(r->provider), "%s", (const char *)v->data.scalar.value);
			v = map_get(doc, m, "signals");
			if (v && for_each_scalar(doc, v, where, add_signal, &r->signals) < 0) {
				rc = -EINVAL;
				continue;
			}
			o->score.n_rules++;
		} else {
			struct score_site *st;
			if (o->score.n_sites == SCORE_MAX_SITES) {
				log_err("%s: at most %d sites", where, SCORE_MAX_SITES);
				return -EINVAL;
			}
			st = &o->score.sites[o->score.n_sites];
			memset(st, 0, sizeof(*st));
			st->work_start_h = o->score.work_start_h;
			st->work_end_h = o->score.work_end_h;
			st->work_days = o->score.work_days;
			snprintf(st->tz, sizeof(st->tz), "%s", o->score.tz);
			if ((v = map_get(doc, m, "name")) && v->type == YAML_SCALAR_NODE)
				snprintf(st->name, sizeof(st->name), "%s", (const char *)v->data.scalar.value);
			v = map_get(doc, m, "networks");
			if (!v || for_each_scalar(doc, v, where, add_site_net, st) < 0 || !st->n_nets) {
				if (!v)
					log_err("%s.networks: a site needs its networks", where);
				rc = -EINVAL;
				continue;
			}
			if ((v = map_get(doc, m, "work_hours"))) {
				unsigned a, b;
				char tail;
				if (v->type != YAML_SCALAR_NODE ||
				    sscanf((const char *)v->data.scalar.value, "%u-%u%c", &a, &b, &tail) != 2 ||
				    a >= b || b > 24) {
					log_err("%s.work_hours: not like 8-18 (hours 0-24, start before end)", where);
					rc = -EINVAL;
					continue;
				}
				st->work_start_h = (uint8_t)a;
				st->work_end_h = (uint8_t)b;
			}
			if ((v = map_get(doc, m, "work_days")) &&
			    (v->type != YAML_SCALAR_NODE ||
			     parse_days((const char *)v->data.scalar.value, &st->work_days) < 0)) {
				log_err("%s.work_days: not like mon-fri or mon,wed,sat", where);
				rc = -EINVAL;
				continue;
			}
			if ((v = map_get(doc, m, "timezone"))) {
				if (v->type != YAML_SCALAR_NODE || v->data.scalar.length >= sizeof(st->tz)) {
					log_err("%s.timezone: expected a zone name like Europe/Berlin", where);
					rc = -EINVAL;
					continue;
				}
				snprintf(st->tz, sizeof(st->tz), "%s", (const char *)v->data.scalar.value);
				{
					char w[600];
					snprintf(w, sizeof(w), "%s:%zu: %s.timezone", file,
						 v->start_mark.line + 1, path);
					if (check_tz(w, st->tz) < 0) {
						rc = -EINVAL;
						continue;
					}
				}
			}
			o->score.n_sites++;
		}
	}
	return rc;
}

/* A value for @d read from @file: catalog files named by a relative path
 * are found next to the configuration file (docs/config.md), so that
 * deploy/mailtap.yaml works from a checkout and from /etc/mailtap. */
static const char *file_value(const struct opt_desc *d, const char *file, const char *v,
			      char *buf, size_t len)
{
	const char *slash = strrchr(file, '/');
	if (d->off != O(catalogs) || v[0] == '/' || !v[0] || !slash)
		return v;
	snprintf(buf, len, "%.*s/%s", (int)(slash - file), file, v);
	return buf;
}

static int yaml_walk(struct sensor_options *o, yaml_document_t *doc, yaml_node_t *node,
		     const char *path, const char *file)
{
	char vbuf[PATH_MAX];
	char where[512];
	int rc = 0;

	snprintf(where, sizeof(where), "%s:%zu: %s", file, node->start_mark.line + 1,
		 path[0] ? path : "(top)");
	if (node->type == YAML_MAPPING_NODE) {
		if (path[0] && !is_section(path)) {
			log_err("%s: expected a single value, not a mapping", where);
			return -EINVAL;
		}
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			yaml_node_t *v = yaml_document_get_node(doc, p->value);
			char sub[256];
			if (!k || k->type != YAML_SCALAR_NODE) {
				log_err("%s: keys must be plain names", where);
				rc = -EINVAL;
				continue;
			}
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
				 (const char *)k->data.scalar.value);
			{
				/* libyaml keeps both; the second would silently win */
				yaml_node_t *first = earlier_key(doc, node, p);
				if (first) {
					log_err("%s:%zu: duplicate key '%s' (first at line %zu)", file,
						k->start_mark.line + 1, sub, first->start_mark.line + 1);
					rc = -EINVAL;
					continue;
				}
			}
			if (!strcmp(sub, "allowlist") || !strcmp(sub, "sites")) {
				if (v && yaml_structured(o, doc, v, sub, file) < 0)
					rc = -EINVAL;
				continue;
			}
			if (!by_key(sub) && !is_section(sub)) {
				unknown_key(file, k->start_mark.line + 1, path,
					    (const char *)k->data.scalar.value);
				rc = -EINVAL;
				continue;
			}
			if (v && yaml_walk(o, doc, v, sub, file) < 0)
				rc = -EINVAL;
		}
		return rc;
	}
	{
		const struct opt_desc *d = by_key(path);
		if (!d) {
			log_err("%s: a section, expected a mapping of keys", where);
			return -EINVAL;
		}
		if (node->type == YAML_SEQUENCE_NODE) {
			struct opt_list *l;
			if (!is_list(d)) {
				log_err("%s: expected a single value, not a list", where);
				return -EINVAL;
			}
			l = (struct opt_list *)((char *)o + d->off);
			list_clear(l);
			for (yaml_node_item_t *it = node->data.sequence.items.start;
			     it < node->data.sequence.items.top; it++) {
				yaml_node_t *x = yaml_document_get_node(doc, *it);
				if (!x || x->type != YAML_SCALAR_NODE) {
					log_err("%s: list items must be single values", where);
					return -EINVAL;
				}
				snprintf(where, sizeof(where), "%s:%zu: %s", file, x->start_mark.line + 1, path);
				if (set_value(o, d, where, file_value(d, file, (const char *)x->data.scalar.value,
								      vbuf, sizeof(vbuf))) < 0)
					rc = -EINVAL;
			}
			return rc;
		}
		if (node->type != YAML_SCALAR_NODE)
			return -EINVAL;
		if (is_list(d))
			list_clear((struct opt_list *)((char *)o + d->off));
		return set_value(o, d, where, file_value(d, file, (const char *)node->data.scalar.value,
							 vbuf, sizeof(vbuf)));
	}
}

static int load_yaml(struct sensor_options *o, const char *file)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	FILE *fp = fopen(file, "rb");
	int rc = 0;

	if (!fp) {
		log_err("cannot read configuration '%s': %s", file, strerror(errno));
		return -EINVAL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		log_err("%s:%zu:%zu: not valid YAML: %s", file,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(fp);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) {
		if (root->type != YAML_MAPPING_NODE) {
			log_err("%s:%zu: the configuration must be a mapping of sections",
				file, root->start_mark.line + 1);
			rc = -EINVAL;
		} else {
			rc = yaml_walk(o, &doc, root, "", file);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	return rc;
}

/* ------------------------------------------------------- command line */

const char *options_default_catalog(char *buf, size_t len)
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
			char *real;
			snprintf(buf, len, "%s/../deploy/catalog.json", exe);
			if (access(buf, R_OK) == 0) {
				if ((real = realpath(buf, NULL))) {
					snprintf(buf, len, "%s", real);
					free(real);
				}
				return buf;
			}
		}
	}
	snprintf(buf, len, "%s/catalog.json", MAILTAP_DATADIR);
	return buf;
}

/* Options shown by --help; --help-all (and mailtap(8)) show every one. */
static const char *const common_flags[] = {
	"read", "interface", "capture", "config", "check-config", "sessions", "alerts",
	"catalog", "state", "learning", "all-flows", "help", NULL,
};

static bool is_common(const char *flag)
{
	for (const char *const *c = common_flags; *c; c++)
		if (!strcmp(*c, flag))
			return true;
	return false;
}

/* One option of --help: @left in a 24-column field, @help word-wrapped so
 * that no line is longer than 80 columns (a long word stays whole). */
static void usage_line(FILE *fp, const char *left, const char *help)
{
	enum { INDENT = 27, WIDTH = 80 };
	const char *p = help;
	size_t col;

	if (strlen(left) > 24) {
		fprintf(fp, "  %s\n%*s", left, INDENT, "");
	} else {
		fprintf(fp, "  %-24s ", left);
	}
	col = INDENT;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > INDENT && col + 1 + w > WIDTH) {
			fprintf(fp, "\n%*s", INDENT, "");
			col = INDENT;
		} else if (col > INDENT) {
			fputc(' ', fp);
			col++;
		}
		fprintf(fp, "%.*s", (int)w, p);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', fp);
}

void options_usage(FILE *fp, bool all)
{
	fprintf(fp,
		"usage: mailtap -r FILE... | -i IFACE... [options]   (DUR: 90s, 30m, 24h, 2d)\n"
		"Report mail sessions to cloud-mail providers; alert on hosts whose mail\n"
		"traffic looks like mailbox theft.\n\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_desc *d = &opts[i];
		char left[64];
		if (!d->flag || !d->help || (!all && !is_common(d->flag)))
			continue;
		if (d->short_opt)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", d->short_opt, d->flag,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", d->flag, d->arg ? " " : "",
				 d->arg ? d->arg : "");
		if (!strcmp(d->flag, "catalog")) {
			char buf[PATH_MAX + 32], help[PATH_MAX + 128];
			snprintf(help, sizeof(help), "%s; default %s", d->help,
				 options_default_catalog(buf, sizeof(buf)));
			usage_line(fp, left, help);
		} else {
			usage_line(fp, left, d->help);
		}
	}
	usage_line(fp, "    --help-all", all ? "every option (this list)" : "every option; see also mailtap(8)");
	fprintf(fp,
		"\nExamples:\n"
		"  mailtap -r capture.pcap --sessions - --alerts alerts.jsonl\n"
		"  mailtap -i eth1 --alerts redis://127.0.0.1:6379 --state state.json\n"
		"  mailtap --config /etc/mailtap/mailtap.yaml\n"
		"Signals: USR1 stats, HUP reload, INT/TERM stop.  Exit: 0 ok, 1 input,\n"
		"2 usage/configuration, 3 output.\n");
}

static void build_longopts(struct option *lo, char *shortopts)
{
	size_t n = 0, s = 0;
	shortopts[s++] = ':'; /* a missing argument returns ':', not '?' */
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_desc *d = &opts[i];
		if (!d->flag)
			continue;
		lo[n].name = d->flag;
		lo[n].has_arg = d->arg ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = 1000 + (int)i;
		n++;
		if (d->short_opt) {
			shortopts[s++] = (char)d->short_opt;
			if (d->arg)
				shortopts[s++] = ':';
		}
	}
	memset(&lo[n], 0, sizeof(lo[n]));
	shortopts[s] = '\0';
}

static const struct opt_desc *by_val(int val)
{
	if (val >= 1000 && (size_t)(val - 1000) < N_OPTS)
		return &opts[val - 1000];
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].short_opt == val)
			return &opts[i];
	return NULL;
}

int options_load(struct sensor_options *o, int argc, char **argv)
{
	struct option lo[N_OPTS + 1];
	char shortopts[64];
	bool replaced[N_OPTS] = { false };
	const char *env_seed = getenv("MAILTAP_SEED");
	int opt, rc = 0;

	build_longopts(lo, shortopts);
	if (env_seed && set_value(o, by_key("sensor.seed"), "MAILTAP_SEED", env_seed) < 0)
		return -EINVAL;

	/* pass 1: where is the configuration file? */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		const struct opt_desc *d = by_val(opt);
		if (d && d->type == OT_CLI && (!strcmp(d->flag, "config") || !strcmp(d->flag, "check-config"))) {
			o->config_path = optarg;
			o->check_only = !strcmp(d->flag, "check-config");
		}
	}
	if (o->config_path && load_yaml(o, o->config_path) < 0)
		rc = -EINVAL;

	/* pass 2: every flag on top of the file; getopt's own messages are
	 * replaced by one line in our form (":" first: a missing argument
	 * returns ':') */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		const struct opt_desc *d = by_val(opt);
		char where[80];
		if (opt == '?' || opt == ':' || !d) {
			const char *arg = argv[optind - 1];
			char name[64];
			if (optopt && !(optopt >= 1000))
				snprintf(name, sizeof(name), "-%c", optopt);
			else
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
			if (opt == ':')
				log_err("option '%s' needs an argument (see --help)", name);
			else
				log_err("unknown option '%s' (see --help)", name);
			return -EINVAL;
		}
		if (d->type == OT_CLI) {
			if (!strcmp(d->flag, "help"))
				o->help = true;
			else if (!strcmp(d->flag, "help-all"))
				o->help = o->help_all = true;
			else if (!strcmp(d->flag, "version"))
				o->version = true;
			else if (!strcmp(d->flag, "quiet"))
				o->quiet = true;
			continue;
		}
		snprintf(where, sizeof(where), "--%s", d->flag);
		/* a list given on the command line replaces the file's, except
		 * the allowlist, which adds to it */
		if (is_list(d) && !replaced[d - opts] && strcmp(d->flag, "allow")) {
			list_clear((struct opt_list *)((char *)o + d->off));
			replaced[d - opts] = true;
		}
		if (set_value(o, d, where, d->arg ? optarg : "true") < 0)
			rc = -EINVAL;
	}
	if (optind < argc) {
		log_err("unexpected argument '%s' (input files go after -r)", argv[optind]);
		rc = -EINVAL;
	}
	if (rc < 0)
		return rc;

	/* the Redis password: outputs.redis_password, else the documented
	 * MAILTAP_REDIS_PASSWORD, read here once; the sinks get it in their
	 * configuration (out_sink_config), never through the environment */
	if (!o->redis_password[0]) {
		const char *pw = getenv("MAILTAP_REDIS_PASSWORD");
		if (pw && strlen(pw) >= sizeof(o->redis_password)) {
			log_err("MAILTAP_REDIS_PASSWORD: longer than %zu characters",
				sizeof(o->redis_password) - 1);
			return -EINVAL;
		}
		if (pw)
			snprintf(o->redis_password, sizeof(o->redis_password), "%s", pw);
	}

	/* derived settings (sensor.log_level and capture.mode were checked
	 * by set_value, with the file's line or the flag in front) */
	log_set_level(log_level_parse(o->log_level));
	if (o->internal.n) {
		o->score.n_internal = 0;
		for (int i = 0; i < o->internal.n; i++)
			if (score_config_add_internal(&o->score, o->internal.v[i]) < 0) {
				log_err("networks.internal: at most %d networks", SCORE_MAX_NETS);
				return -EINVAL;
			}
	}
	o->score.n_allow = 0;
	for (int i = 0; i < o->allow.n; i++)
		if (score_config_add_allow(&o->score, o->allow.v[i]) < 0) {
			log_err("networks.allow: at most %d entries", SCORE_MAX_NETS);
			return -EINVAL;
		}
	if (o->score.short_window_s > o->score.long_window_s) {
		log_err("scoring.short_window must not be longer than scoring.long_window");
		return -EINVAL;
	}
	if (o->score.beacon_low >= o->score.beacon_high || o->score.ratio_low >= o->score.ratio_high ||
	    o->score.ratio_low_long >= o->score.ratio_high_long ||
	    o->score.ratio_low_day >= o->score.ratio_high_day ||
	    o->score.beacon_full_conns < o->score.beacon_min_conns) {
		log_err("scoring: each low bound must be below its high bound "
			"(beacon.low/high, ratios.short_low/short_high, ratios.long_low/long_high)");
		return -EINVAL;
	}
	if (decap_ports(o->decap.vxlan_ports, &o->decap_vxlan_ports, "decap.vxlan_ports") < 0 ||
	    decap_ports(o->decap.geneve_ports, &o->decap_geneve_ports, "decap.geneve_ports") < 0)
		return -EINVAL;
	o->agg.app.keep_unclassified = o->all_flows;
	/* the tables' seed: the configured one, or one random per process */
	o->agg.seed = hash_seed(o->seed);
	return 0;
}

/* ------------------------------------------------------------- reload */

/* Keys a SIGHUP reload cannot apply: what the capture, the sinks and the
 * tables were opened or allocated with (docs/config.md, "Reload"). */
static bool needs_restart(const char *key)
{
	static const char *const prefixes[] = {
		"capture.", "outputs.", "flows.", "identify.", "metrics.",
		"scoring.max_pairs", "scoring.max_novelty", "scoring.state",
		"sensor.user", "sensor.seed", "sensor.id", NULL,
	};
	if (!strcmp(key, "outputs.all_flows"))
		return false;
	for (const char *const *p = prefixes; *p; p++)
		if (!strncmp(key, *p, strlen(*p)))
			return true;
	return false;
}

static bool same_value(const struct sensor_options *a, const struct sensor_options *b,
		       const struct opt_desc *d)
{
	const char *x = (const char *)a + d->off, *y = (const char *)b + d->off;
	switch (d->type) {
	case OT_FLAG:
		return *(const bool *)x == *(const bool *)y;
	case OT_U32:
	case OT_DURATION:
		return *(const uint32_t *)x == *(const uint32_t *)y;
	case OT_BYTES:
		return *(const uint64_t *)x == *(const uint64_t *)y;
	case OT_DOUBLE:
		return *(const double *)x == *(const double *)y;
	case OT_STR:
		return !strcmp(x, y);
	case OT_LIST:
	case OT_CIDR_LIST: {
		const struct opt_list *l = (const void *)x, *m = (const void *)y;
		if (l->n != m->n)
			return false;
		for (int i = 0; i < l->n; i++)
			if (strcmp(l->v[i], m->v[i]))
				return false;
		return true;
	}
	default:
		return true;
	}
}

int options_restart_keys(const struct sensor_options *old, const struct sensor_options *new,
			 char *buf, size_t len)
{
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_desc *d = &opts[i];
		if (!d->key || !needs_restart(d->key) || same_value(old, new, d))
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", n ? ", " : "", d->key);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------- printing */

static void print_scalar(FILE *fp, const struct sensor_options *o, const struct opt_desc *d)
{
	const char *base = (const char *)o;
	switch (d->type) {
	case OT_FLAG:
		fprintf(fp, "%s", *(const bool *)(base + d->off) ? "true" : "false");
		break;
	case OT_U32:
	case OT_DURATION:
		fprintf(fp, "%u", *(const uint32_t *)(base + d->off));
		if (d->type == OT_DURATION)
			fprintf(fp, "s");
		break;
	case OT_BYTES:
		fprintf(fp, "%llu", (unsigned long long)*(const uint64_t *)(base + d->off));
		break;
	case OT_DOUBLE:
		fprintf(fp, "%g", *(const double *)(base + d->off));
		break;
	case OT_STR:
		if (d->off == O(redis_password))
			fprintf(fp, "\"%s\"", o->redis_password[0] ? "********" : "");
		else
			fprintf(fp, "\"%s\"", base + d->off);
		break;
	case OT_HOURS:
		fprintf(fp, "\"%u-%u\"", o->score.work_start_h, o->score.work_end_h);
		break;
	case OT_DAYS: {
		static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
		int first = 1;
		fprintf(fp, "\"");
		for (int i = 0; i < 7; i++)
			if (o->score.work_days & (1u << i)) {
				fprintf(fp, "%s%s", first ? "" : ",", names[i]);
				first = 0;
			}
		fprintf(fp, "\"");
		break;
	}
	default:
		break;
	}
}

/* A destination with credentials prints with "***" for them. */
static void print_dest(FILE *fp, const char *v)
{
	const char *at = strchr(v, '@'), *scheme = strstr(v, "://");
	if (at && scheme && scheme < at)
		fprintf(fp, "\"%.*s***%s\"", (int)(scheme + 3 - v), v, at);
	else
		fprintf(fp, "\"%s\"", v);
}

static void print_structured(const struct sensor_options *o, FILE *fp)
{
	char a[NET_ADDR_STRLEN];
	fprintf(fp, "allowlist:%s\n", o->score.n_rules ? "" : " []");
	for (unsigned i = 0; i < o->score.n_rules; i++) {
		const struct score_allow_rule *r = &o->score.rules[i];
		int first = 1;
		fprintf(fp, "  - host: \"%s/%u\"\n", net_addr_format(&r->net.net, a, sizeof(a)), r->net.plen);
		if (r->provider[0])
			fprintf(fp, "    provider: \"%s\"\n", r->provider);
		fprintf(fp, "    signals: [");
		for (int sgn = 0; sgn < SIG_COUNT; sgn++)
			if (r->signals & (1u << sgn)) {
				fprintf(fp, "%s%s", first ? "" : ", ", score_rules[sgn].name);
				first = 0;
			}
		fprintf(fp, "]%s\n", r->signals ? "" : "   # every signal");
	}
	fprintf(fp, "sites:%s\n", o->score.n_sites ? "" : " []");
	for (unsigned i = 0; i < o->score.n_sites; i++) {
		const struct score_site *st = &o->score.sites[i];
		static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
		int first = 1;
		fprintf(fp, "  - name: \"%s\"\n    networks: [", st->name);
		for (unsigned k = 0; k < st->n_nets; k++)
			fprintf(fp, "%s\"%s/%u\"", k ? ", " : "",
				net_addr_format(&st->nets[k].net, a, sizeof(a)), st->nets[k].plen);
		fprintf(fp, "]\n    work_hours: \"%u-%u\"\n    work_days: \"", st->work_start_h, st->work_end_h);
		for (int d = 0; d < 7; d++)
			if (st->work_days & (1u << d)) {
				fprintf(fp, "%s%s", first ? "" : ",", names[d]);
				first = 0;
			}
		fprintf(fp, "\"\n    timezone: \"%s\"\n", st->tz);
	}
}

void options_print(const struct sensor_options *o, FILE *fp)
{
	char prev[128] = "";

	fprintf(fp, "# mailtap %s effective configuration%s%s\n", MAILTAP_VERSION,
		o->config_path ? " from " : "", o->config_path ? o->config_path : "");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_desc *d = &opts[i];
		char sect[128];
		const char *dot;
		int depth = 0;

		if (!d->key)
			continue;
		/* print every section header not printed yet */
		for (const char *p = d->key; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
			snprintf(sect, sizeof(sect), "%.*s", (int)(dot - d->key), d->key);
			if (strncmp(prev, sect, strlen(sect)) || (prev[strlen(sect)] != '.' && prev[strlen(sect)] != '\0'))
				fprintf(fp, "%*s%.*s:\n", depth * 2, "", (int)(dot - p), p);
			depth++;
		}
		snprintf(prev, sizeof(prev), "%s", d->key);
		{
			const char *leaf = strrchr(d->key, '.');
			leaf = leaf ? leaf + 1 : d->key;
			fprintf(fp, "%*s%s: ", depth * 2, "", leaf);
		}
		if (is_list(d)) {
			const struct opt_list *l = (const struct opt_list *)((const char *)o + d->off);
			fprintf(fp, "[");
			for (int k = 0; k < l->n; k++) {
				fprintf(fp, "%s", k ? ", " : "");
				print_dest(fp, l->v[k]);
			}
			fprintf(fp, "]");
		} else {
			print_scalar(fp, o, d);
		}
		fprintf(fp, "\n");
	}
	print_structured(o, fp);
}
