/* SPDX-License-Identifier: MIT */
/*
 * tool-extract.c -- mailtap-extract: write the packets of chosen sessions
 * (by Community ID, by session record_id, or every session behind an
 * alert) from pcap/pcapng files to a new pcap file, so an analyst can open
 * exactly the traffic an alert is about.  Packets are decoded with the
 * sensor's own decoder (tunnels opened the same way) and matched by the
 * Community ID v1 of their (inner) 5-tuple, with the sensor's seed.
 * docs/tools.md describes it.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "community-id.h"
#include "decode.h"
#include "output-redis-url.h"

#define EXIT_NOTFOUND 1  /* no such alert / record, nothing matched, I/O error */
#define EXIT_USAGE 2

#define EXTRACT_MAX_IDS 64      /* selectors on the command line */
#define EXTRACT_MAX_FLOWS 1024  /* community ids to match (an alert has <= 17) */
#define EXTRACT_MAX_INPUTS 64
#define EXTRACT_FRAG_SLOTS 4096 /* datagrams whose first fragment matched */

/* One flow to extract: its Community ID, optionally limited to the time
 * span of a session record (µs since the epoch, inclusive). */
struct want_flow {
	char cid[COMMUNITY_ID_STRLEN];
	int64_t from_us, to_us;  /* 0, INT64_MAX: any time */
	uint64_t packets;
};

/* The first fragment of a datagram matched: later fragments (no ports)
 * belong to the same flow, as the sensor counts them (docs/sessions.md). */
struct frag_slot {
	struct net_addr src, dst;
	uint32_t id;
	uint8_t proto, used;
	int flow;
};

struct extract {
	struct want_flow flows[EXTRACT_MAX_FLOWS];
	int nflows;
	struct frag_slot frags[EXTRACT_FRAG_SLOTS];
	unsigned frag_next;
	uint16_t seed;
	struct decode_config dcfg;
	struct decode_stats dstats;
	uint64_t written;
};

static void usage(FILE *fp)
{
	fputs(
"usage: mailtap-extract -r FILE [-r FILE...] SELECTOR... -w OUT.pcap [options]\n"
"Write the packets of chosen mail sessions from pcap/pcapng files to OUT.pcap.\n"
"\n"
"Selectors (each may be repeated; the packets of all of them are written):\n"
"  --community-id CID     the flow with this Community ID v1 (1:...=)\n"
"  --record-id ID         the session record ID (needs --sessions): its flow,\n"
"                         limited to the record's start..end\n"
"  --alert-id ID          every session of the alert (needs --alerts): the\n"
"                         community_ids of all its revisions\n"
"\n"
"  -r, --read FILE        input capture, in the order given (repeatable)\n"
"  -w, --write OUT        the pcap file to write (- for stdout); replaced only on\n"
"                         success: nothing is left behind when nothing matched\n"
"  --alerts SOURCE        alert records: a JSON-lines file, - for stdin, or a Redis\n"
"                         URL (redis://host[:port][/db][?key=K&mode=list], stream\n"
"                         or list, default key mailtap:alerts)\n"
"  --sessions FILE        session records (JSON lines, as mailtap --sessions writes)\n"
"  --community-id-seed N  the seed the sensor used (--community-id-seed, default 0)\n"
"  --no-decap             do not open tunnels (the sensor's decap.enabled: false)\n"
"  -q, --quiet            no summary on stderr\n"
"  -h, --help\n"
"\n"
"Exit status: 0 packets written, 1 no such alert or record, no packet matched,\n"
"or an I/O error, 2 usage.  The Redis password comes from MAILTAP_REDIS_PASSWORD.\n",
	      fp);
}

/* ---- selectors ------------------------------------------------------------ */

static int add_flow(struct extract *x, const char *cid, int64_t from_us, int64_t to_us)
{
	for (int i = 0; i < x->nflows; i++) {
		struct want_flow *f = &x->flows[i];
		if (strcmp(f->cid, cid))
			continue;
		/* the same flow again: the union of the spans */
		if (from_us < f->from_us)
			f->from_us = from_us;
		if (to_us > f->to_us)
			f->to_us = to_us;
		return 0;
	}
	if (x->nflows == EXTRACT_MAX_FLOWS) {
		fprintf(stderr, "mailtap-extract: more than %d flows selected\n", EXTRACT_MAX_FLOWS);
		return -1;
	}
	if (strlen(cid) >= COMMUNITY_ID_STRLEN || strncmp(cid, "1:", 2)) {
		fprintf(stderr, "mailtap-extract: '%s' is not a Community ID v1 (1:...)\n", cid);
		return -1;
	}
	snprintf(x->flows[x->nflows].cid, COMMUNITY_ID_STRLEN, "%s", cid);
	x->flows[x->nflows].from_us = from_us;
	x->flows[x->nflows].to_us = to_us;
	x->nflows++;
	return 0;
}

/* RFC 3339 UTC with up to 9 fractional digits ("2026-03-02T09:00:00.004570Z")
 * to µs since the epoch.  0, or -1 when it does not parse. */
static int parse_time_us(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int n = 0;
	int64_t us = 0, scale = 100000;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			us += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm) * 1000000 + us;
	return 0;
}

/* Calls @fn for each JSON object of a JSON-lines file ("-": stdin).
 * Returns 0, or -1 when the file cannot be read. */
static int each_json_line(const char *path, void (*fn)(json_t *o, void *arg), void *arg)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp) {
		fprintf(stderr, "mailtap-extract: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *o = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
		if (json_is_object(o))
			fn(o, arg);
		json_decref(o);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return 0;
}

/* ---- alerts: community_ids of every revision of one alert_id ------------- */

struct alert_search {
	struct extract *x;
	const char *alert_id;
	int found, revisions, err;
};

static void alert_record(json_t *o, void *arg)
{
	struct alert_search *as = arg;
	const char *id = json_string_value(json_object_get(o, "alert_id"));
	json_t *cids = json_object_get(o, "community_ids");
	size_t i;
	json_t *c;

	if (!id || strcmp(id, as->alert_id))
		return;
	as->found = 1;
	as->revisions++;
	json_array_foreach(cids, i, c) {
		if (json_is_string(c) && add_flow(as->x, json_string_value(c), 0, INT64_MAX) < 0)
			as->err = 1;
	}
}

static redisContext *redis_connect(const struct out_redis_url *u)
{
	struct timeval tv = { .tv_sec = 5 };
	const char *pw = getenv("MAILTAP_REDIS_PASSWORD");
	redisContext *c = u->is_unix ? redisConnectUnixWithTimeout(u->host, tv)
				     : redisConnectWithTimeout(u->host, u->port, tv);
	redisReply *r;

	if (!c || c->err) {
		fprintf(stderr, "mailtap-extract: cannot connect to redis: %s\n",
			c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if ((pw && *pw) || u->user[0]) {
		const char *argv[3] = { "AUTH" };
		size_t lens[3] = { 4 };
		int argc = 1;
		if (u->user[0]) {
			argv[argc] = u->user;
			lens[argc++] = strlen(u->user);
		}
		argv[argc] = pw ? pw : "";
		lens[argc] = strlen(argv[argc]);
		argc++;
		r = redisCommandArgv(c, argc, argv, lens);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "mailtap-extract: redis authentication failed: %s\n",
				r ? r->str : c->errstr);
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	if (u->db) {
		r = redisCommand(c, "SELECT %d", u->db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "mailtap-extract: SELECT %d failed: %s\n", u->db,
				r ? r->str : c->errstr);
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	return c;
}

static void redis_record(const char *data, size_t len, struct alert_search *as)
{
	json_t *o = json_loadb(data, len, 0, NULL);
	if (json_is_object(o))
		alert_record(o, as);
	json_decref(o);
}

/* Scan a stream (XRANGE, 500 at a time) or a list (LRANGE) for the alert.
 * 0, or -1 after saying why. */
static int alerts_from_redis(const char *url, struct alert_search *as)
{
	struct out_redis_url u;
	char err[300], start[80] = "-";
	const char *key;
	redisContext *c;
	long long idx = 0;
	int rc = -1;

	if (out_redis_url_parse(url, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtap-extract: --alerts '%s': %s\n", url, err);
		return -1;
	}
	if (u.mode == OUT_REDIS_MODE_CHANNEL) {
		fprintf(stderr, "mailtap-extract: --alerts: a channel keeps nothing to read back\n");
		return -1;
	}
	key = u.key[0] ? u.key : "mailtap:alerts";
	if (!(c = redis_connect(&u)))
		return -1;
	for (;;) {
		redisReply *r;
		if (u.mode == OUT_REDIS_MODE_LIST)
			r = redisCommand(c, "LRANGE %s %lld %lld", key, idx, idx + 499);
		else
			r = redisCommand(c, "XRANGE %s %s + COUNT 500", key, start);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "mailtap-extract: reading '%s': %s\n", key, r ? r->str : c->errstr);
			freeReplyObject(r);
			goto out;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
			freeReplyObject(r);
			break;
		}
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *e = r->element[i];
			if (u.mode == OUT_REDIS_MODE_LIST) {
				if (e->type == REDIS_REPLY_STRING)
					redis_record(e->str, e->len, as);
				continue;
			}
			/* [id, [field, value, ...]] */
			if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			snprintf(start, sizeof(start), "(%s", e->element[0]->str);
			for (size_t f = 0; e->element[1]->type == REDIS_REPLY_ARRAY &&
			     f + 1 < e->element[1]->elements; f += 2) {
				redisReply *k = e->element[1]->element[f], *v = e->element[1]->element[f + 1];
				if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "data") &&
				    v->type == REDIS_REPLY_STRING)
					redis_record(v->str, v->len, as);
			}
		}
		idx += (long long)r->elements;
		freeReplyObject(r);
	}
	rc = 0;
out:
	redisFree(c);
	return rc;
}

static int is_redis_url(const char *s)
{
	return !strncmp(s, "redis://", 8) || !strncmp(s, "rediss://", 9) || !strncmp(s, "unix:", 5);
}

/* ---- sessions: record_id -> community_id and time span ------------------- */

struct record_search {
	struct extract *x;
	const char *record_id;
	int found, err;
};

static void session_record(json_t *o, void *arg)
{
	struct record_search *rs = arg;
	const char *id = json_string_value(json_object_get(o, "record_id"));
	const char *cid = json_string_value(json_object_get(o, "community_id"));
	int64_t from, to;

	if (!id || strcmp(id, rs->record_id))
		return;
	rs->found = 1;
	if (!cid) {
		fprintf(stderr, "mailtap-extract: record %s has no community_id\n", id);
		rs->err = 1;
		return;
	}
	if (parse_time_us(json_string_value(json_object_get(o, "start")), &from) < 0 ||
	    parse_time_us(json_string_value(json_object_get(o, "end")), &to) < 0) {
		fprintf(stderr, "mailtap-extract: record %s: bad start/end\n", id);
		rs->err = 1;
		return;
	}
	if (add_flow(rs->x, cid, from, to) < 0)
		rs->err = 1;
}

/* ---- packets -------------------------------------------------------------- */

static int frag_find(struct extract *x, const struct packet *p)
{
	for (unsigned i = 0; i < EXTRACT_FRAG_SLOTS; i++) {
		const struct frag_slot *s = &x->frags[i];
		if (s->used && s->id == p->frag_id && s->proto == p->l4proto &&
		    !net_addr_cmp(&s->src, &p->src) && !net_addr_cmp(&s->dst, &p->dst))
			return s->flow;
	}
	return -1;
}

static void frag_remember(struct extract *x, const struct packet *p, int flow)
{
	struct frag_slot *s = &x->frags[x->frag_next++ % EXTRACT_FRAG_SLOTS];
	s->src = p->src;
	s->dst = p->dst;
	s->id = p->frag_id;
	s->proto = p->l4proto;
	s->flow = flow;
	s->used = 1;
}

/* The selected flow this frame belongs to, or -1. */
static int match_frame(struct extract *x, int linktype, const struct pcap_pkthdr *h,
		       const uint8_t *data, int64_t ts_us, uint64_t ts_ns)
{
	struct packet p;
	char cid[COMMUNITY_ID_STRLEN];
	uint16_t sp, dp;
	int flow = -1;

	decode_packet_cfg(&p, &x->dcfg, linktype, data, h->caplen, h->len, ts_ns, &x->dstats);
	if (!p.l3)
		return -1;
	if ((p.flags & PKT_FRAG) && !(p.flags & PKT_FRAG_HEAD)) {
		flow = frag_find(x, &p);
		goto check_time;
	}
	if (p.l4proto == COMMUNITY_ID_PROTO_ICMP || p.l4proto == COMMUNITY_ID_PROTO_ICMPV6) {
		sp = p.icmp_type;
		dp = p.icmp_code;
	} else if (p.flags & PKT_L4) {
		sp = p.sport;
		dp = p.dport;
	} else {
		sp = dp = 0;
	}
	if (community_id_v1(cid, sizeof(cid), x->seed, true, p.l4proto, &p.src, &p.dst, sp, dp) < 0)
		return -1;
	for (int i = 0; i < x->nflows; i++) {
		if (!strcmp(cid, x->flows[i].cid) && ts_us >= x->flows[i].from_us &&
		    ts_us <= x->flows[i].to_us) {
			flow = i;
			break;
		}
	}
	if (flow >= 0 && (p.flags & PKT_FRAG))
		frag_remember(x, &p, flow);
	return flow;
check_time:
	if (flow >= 0 && (ts_us < x->flows[flow].from_us || ts_us > x->flows[flow].to_us))
		return -1;
	return flow;
}

/* Nanosecond pcap magic (either byte order): the output keeps that precision. */
static int file_is_nano(const char *path)
{
	unsigned char m[4];
	FILE *fp = fopen(path, "rb");
	int nano = 0;

	if (fp && fread(m, 1, 4, fp) == 4)
		nano = (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d) ||
		       (m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1);
	if (fp)
		fclose(fp);
	return nano;
}

int main(int argc, char **argv)
{
	enum { O_CID = 256, O_RID, O_AID, O_ALERTS, O_SESSIONS, O_SEED, O_NODECAP };
	static const struct option longopts[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "write", required_argument, NULL, 'w' },
		{ "community-id", required_argument, NULL, O_CID },
		{ "record-id", required_argument, NULL, O_RID },
		{ "alert-id", required_argument, NULL, O_AID },
		{ "alerts", required_argument, NULL, O_ALERTS },
		{ "sessions", required_argument, NULL, O_SESSIONS },
		{ "community-id-seed", required_argument, NULL, O_SEED },
		{ "no-decap", no_argument, NULL, O_NODECAP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct extract x; /* large (fragment slots): not on the stack */
	const char *inputs[EXTRACT_MAX_INPUTS], *cids[EXTRACT_MAX_IDS], *rids[EXTRACT_MAX_IDS],
		*aids[EXTRACT_MAX_IDS];
	int ninputs = 0, ncids = 0, nrids = 0, naids = 0, quiet = 0, decap = 1;
	const char *out = NULL, *alerts = NULL, *sessions = NULL;
	char tmp[4096] = "", errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *dead = NULL;
	pcap_dumper_t *dumper = NULL;
	int linktype = -1, nano, ch, rc = EXIT_NOTFOUND;

	while ((ch = getopt_long(argc, argv, "r:w:qh", longopts, NULL)) != -1) {
		char *end;
		unsigned long v;
		switch (ch) {
		case 'r':
			if (ninputs == EXTRACT_MAX_INPUTS) {
				fprintf(stderr, "mailtap-extract: more than %d inputs\n", EXTRACT_MAX_INPUTS);
				return EXIT_USAGE;
			}
			inputs[ninputs++] = optarg;
			break;
		case 'w': out = optarg; break;
		case O_CID: case O_RID: case O_AID: {
			int *n = ch == O_CID ? &ncids : ch == O_RID ? &nrids : &naids;
			const char **a = ch == O_CID ? cids : ch == O_RID ? rids : aids;
			if (*n == EXTRACT_MAX_IDS) {
				fprintf(stderr, "mailtap-extract: more than %d of %s\n", EXTRACT_MAX_IDS,
					argv[optind - 2]);
				return EXIT_USAGE;
			}
			a[(*n)++] = optarg;
			break;
		}
		case O_ALERTS: alerts = optarg; break;
		case O_SESSIONS: sessions = optarg; break;
		case O_SEED:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || errno || v > 65535) {
				fprintf(stderr, "mailtap-extract: bad --community-id-seed '%s' (0..65535)\n", optarg);
				return EXIT_USAGE;
			}
			x.seed = (uint16_t)v;
			break;
		case O_NODECAP: decap = 0; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || !ninputs || !out || !(ncids + nrids + naids) ||
	    (naids && !alerts) || (nrids && !sessions)) {
		if (optind < argc)
			fprintf(stderr, "mailtap-extract: unexpected argument '%s'\n", argv[optind]);
		else if (!ninputs)
			fputs("mailtap-extract: no input (-r FILE)\n", stderr);
		else if (!out)
			fputs("mailtap-extract: no output (-w OUT.pcap)\n", stderr);
		else if (!(ncids + nrids + naids))
			fputs("mailtap-extract: nothing selected (--community-id, --record-id or --alert-id)\n", stderr);
		else if (naids && !alerts)
			fputs("mailtap-extract: --alert-id needs --alerts FILE|URL\n", stderr);
		else
			fputs("mailtap-extract: --record-id needs --sessions FILE\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	decode_config_default(&x.dcfg);
	x.dcfg.decap = decap;
	signal(SIGPIPE, SIG_IGN);

	/* what to match */
	for (int i = 0; i < ncids; i++)
		if (add_flow(&x, cids[i], 0, INT64_MAX) < 0)
			return EXIT_USAGE;
	for (int i = 0; i < naids; i++) {
		struct alert_search as = { .x = &x, .alert_id = aids[i] };
		if ((is_redis_url(alerts) ? alerts_from_redis(alerts, &as)
					  : each_json_line(alerts, alert_record, &as)) < 0 || as.err)
			return EXIT_NOTFOUND;
		if (!as.found) {
			fprintf(stderr, "mailtap-extract: no alert %s in %s\n", aids[i], alerts);
			return EXIT_NOTFOUND;
		}
		if (!quiet)
			fprintf(stderr, "mailtap-extract: alert %s: %d revision(s)\n", aids[i], as.revisions);
	}
	for (int i = 0; i < nrids; i++) {
		struct record_search rs = { .x = &x, .record_id = rids[i] };
		if (each_json_line(sessions, session_record, &rs) < 0 || rs.err)
			return EXIT_NOTFOUND;
		if (!rs.found) {
			fprintf(stderr, "mailtap-extract: no session record %s in %s\n", rids[i], sessions);
			return EXIT_NOTFOUND;
		}
	}
	if (!x.nflows) {
		fputs("mailtap-extract: the alert names no sessions (no community_ids)\n", stderr);
		return EXIT_NOTFOUND;
	}

	/* the output goes to a temporary file next to OUT, renamed at the end */
	nano = file_is_nano(inputs[0]);
	if (strcmp(out, "-")) {
		int fd;
		snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out);
		if ((fd = mkstemp(tmp)) < 0) {
			fprintf(stderr, "mailtap-extract: cannot create %s: %s\n", tmp, strerror(errno));
			return EXIT_NOTFOUND;
		}
		close(fd);
	}

	for (int i = 0; i < ninputs; i++) {
		pcap_t *in = pcap_open_offline_with_tstamp_precision(inputs[i],
							PCAP_TSTAMP_PRECISION_NANO, errbuf);
		struct pcap_pkthdr *h;
		const u_char *data;
		int r;

		if (!in) {
			fprintf(stderr, "mailtap-extract: %s\n", errbuf);
			goto out_remove;
		}
		if (linktype < 0) {
			linktype = pcap_datalink(in);
			dead = pcap_open_dead_with_tstamp_precision(linktype, 262144,
					nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
			dumper = dead ? pcap_dump_open(dead, tmp[0] ? tmp : "-") : NULL;
			if (!dumper) {
				fprintf(stderr, "mailtap-extract: cannot write %s: %s\n", out,
					dead ? pcap_geterr(dead) : "out of memory");
				pcap_close(in);
				goto out_remove;
			}
		} else if (pcap_datalink(in) != linktype) {
			fprintf(stderr, "mailtap-extract: %s has link type %s, %s has %s: "
				"extract from them separately\n", inputs[i],
				pcap_datalink_val_to_name(pcap_datalink(in)), inputs[0],
				pcap_datalink_val_to_name(linktype));
			pcap_close(in);
			goto out_remove;
		}
		while ((r = pcap_next_ex(in, &h, &data)) == 1) {
			uint64_t ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
			int flow = match_frame(&x, linktype, h, data, (int64_t)(ts_ns / 1000), ts_ns);
			struct pcap_pkthdr oh = *h;

			if (flow < 0)
				continue;
			if (!nano)
				oh.ts.tv_usec = h->ts.tv_usec / 1000; /* ns -> µs for a µs file */
			pcap_dump((u_char *)dumper, &oh, data);
			x.flows[flow].packets++;
			x.written++;
		}
		if (r == -1) {
			fprintf(stderr, "mailtap-extract: %s: %s\n", inputs[i], pcap_geterr(in));
			pcap_close(in);
			goto out_remove;
		}
		pcap_close(in);
	}
	if (pcap_dump_flush(dumper) < 0 || ferror(pcap_dump_file(dumper))) {
		fprintf(stderr, "mailtap-extract: writing %s: %s\n", out, strerror(errno));
		goto out_remove;
	}
	pcap_dump_close(dumper);
	dumper = NULL;
	for (int i = 0; i < x.nflows && !quiet; i++)
		if (!x.flows[i].packets)
			fprintf(stderr, "mailtap-extract: no packets of %s in the input\n", x.flows[i].cid);
	if (!x.written) {
		fprintf(stderr, "mailtap-extract: no packet matched; %s not written\n", out);
		goto out_remove;
	}
	if (tmp[0] && rename(tmp, out) < 0) {
		fprintf(stderr, "mailtap-extract: cannot rename %s to %s: %s\n", tmp, out, strerror(errno));
		goto out_remove;
	}
	tmp[0] = 0;
	if (!quiet) {
		int hit = 0;
		for (int i = 0; i < x.nflows; i++)
			hit += x.flows[i].packets > 0;
		fprintf(stderr, "mailtap-extract: %llu packets of %d of %d flows written to %s\n",
			(unsigned long long)x.written, hit, x.nflows, out);
	}
	rc = 0;
out_remove:
	if (dumper)
		pcap_dump_close(dumper);
	if (dead)
		pcap_close(dead);
	if (tmp[0])
		unlink(tmp);
	return rc;
}
