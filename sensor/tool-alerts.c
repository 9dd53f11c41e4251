/* SPDX-License-Identifier: MIT */
/*
 * tool-alerts.c -- mailtap-alerts: read mailtap records from a Redis
 * stream (with a consumer group), a Redis list or a JSON-lines file and
 * print them for an analyst (docs/alerts.md fields: severity, host, score,
 * provider/service, kind, id/revision and the reasons' sentences), or as
 * raw JSON.  Several consumers in one group share the stream without
 * duplicates; entries a crashed consumer left pending are claimed
 * (XAUTOCLAIM) after --claim-idle-ms.  docs/redis.md describes the keys,
 * docs/tools.md the tool.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "output-redis-url.h"

#define EXIT_USAGE 2
#define EXIT_REDIS 3

/* Signal flag: the only mutable global, written by the handler. */
static volatile sig_atomic_t stop_requested;

struct alerts_opts {
	struct out_redis_url url;
	const char *key;
	const char *group;
	char consumer[160];
	int from_new, follow, json;
	const char *severity, *kind, *host;  /* comma-separated lists or NULL */
	unsigned count;
	unsigned long claim_idle_ms;
	unsigned block_ms;
};

struct alerts_stats {
	unsigned long long read, printed, claimed;
};

static void usage(FILE *fp)
{
	fputs(
"usage: mailtap-alerts [options] [SOURCE]\n"
"Print mailtap alert (or session) records: when, severity, host, score,\n"
"provider/service, kind, alert id/revision, then the reasons' sentences.\n"
"\n"
"SOURCE is a Redis URL, a JSON-lines file (what mailtap --alerts FILE writes),\n"
"or - for stdin; without one, the default Redis server:\n"
"  redis://[user@]host[:port][/db][?key=K&mode=list]   or unix:/path/to/sock[?...]\n"
"  (default redis://127.0.0.1:6379).  A stream (the default mode) is read with a\n"
"  consumer group; ?mode=list reads a list without removing entries.\n"
"\n"
"  --redis URL            the same as a URL SOURCE\n"
"  --key KEY              the stream or list (default mailtap:alerts)\n"
"  --group NAME           consumer group (default mailtap-alerts); created if missing\n"
"  --consumer NAME        this consumer's name (default HOSTNAME-PID); reuse it after\n"
"                         a crash to get its own pending entries back first\n"
"  --from-new             a new group starts at new records ($), not the oldest (0)\n"
"  -f, --follow           keep waiting for new records (else exit when drained);\n"
"                         for a file, like tail -f\n"
"  --json                 print the raw JSON record, one per line\n"
"  --severity LIST        only records whose severity is in LIST (comma-separated)\n"
"  --kind LIST            only records whose kind (or event_type) is in LIST\n"
"  --host LIST            only records whose src_ip, host, dest_ip or sni is in LIST\n"
"  --count N              entries per read (default 100)\n"
"  --claim-idle-ms N      take over entries other consumers left pending longer\n"
"                         than N ms (default 60000)\n"
"  -h, --help\n"
"\n"
"Every stream entry read is acknowledged (XACK) after it is printed, filtered out\n"
"or not: use one group per filter.  The password comes from MAILTAP_REDIS_PASSWORD.\n"
"Exit status: 0, 2 usage (or no such stream/list/file), 3 redis error.\n", fp);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- filters and printing ------------------------------------------------ */

static int in_list(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list;
	if (!v[0])
		return 0;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (l == n && !strncasecmp(p, v, n))
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A field as text ("" when absent): strings as they are, numbers printed. */
static const char *field_text(json_t *o, const char *name, char *buf, size_t len)
{
	json_t *v = json_object_get(o, name);
	buf[0] = 0;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.3f", json_real_value(v));
	return buf;
}

static const char *severity_of(json_t *o, char *buf, size_t len)
{
	const char *s = field_text(o, "severity", buf, len);
	json_t *alert = json_object_get(o, "alert");   /* EVE-style nesting */
	if (!s[0] && json_is_object(alert))
		s = field_text(alert, "severity", buf, len);
	return s;
}

static const char *kind_of(json_t *o, char *buf, size_t len)
{
	const char *s = field_text(o, "kind", buf, len);
	return s[0] ? s : field_text(o, "event_type", buf, len);
}

static int wanted(const struct alerts_opts *op, json_t *o)
{
	char b[64];
	if (op->severity && !in_list(op->severity, severity_of(o, b, sizeof(b))))
		return 0;
	if (op->kind && !in_list(op->kind, kind_of(o, b, sizeof(b))))
		return 0;
	if (op->host) {
		static const char *const fields[] = { "src_ip", "host", "dest_ip", "sni" };
		int hit = 0;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !hit; i++)
			hit = in_list(op->host, field_text(o, fields[i], b, sizeof(b)));
		if (!hit)
			return 0;
	}
	return 1;
}

/* The reasons' detail sentences, one indented line each ("signal: detail"). */
static void print_reasons(json_t *o)
{
	json_t *reasons = json_object_get(o, "reasons");
	size_t i;
	json_t *r;

	if (!json_is_array(reasons))
		return;
	json_array_foreach(reasons, i, r) {
		const char *sig = json_string_value(json_object_get(r, "signal"));
		const char *det = json_string_value(json_object_get(r, "detail"));
		if (!det)
			continue;
		printf("    %s%s%s\n", sig ? sig : "", sig ? ": " : "", det);
	}
}

/*
 * An alert (docs/alerts.md):
 *   TIME SEVERITY HOST score=N PROVIDER/SERVICE KIND alert=ID rev=N [learning]
 *       SIGNAL: DETAIL            (one line per reason)
 * Fields a record does not have are left out; a record from elsewhere with
 * a `message` (or `reason`) string but no reasons gets that as one line.
 */
static void print_alert(json_t *o, const char *ts, const char *kind, const char *sev)
{
	char h[256], sc[32], pv[64], sv[64], id[64], rv[32], m[512];
	const char *host = field_text(o, "src_ip", h, sizeof(h));
	const char *score = field_text(o, "score", sc, sizeof(sc));
	const char *prov = field_text(o, "provider", pv, sizeof(pv));
	const char *svc = field_text(o, "service", sv, sizeof(sv));
	const char *aid = field_text(o, "alert_id", id, sizeof(id));
	const char *rev = field_text(o, "revision", rv, sizeof(rv));
	const char *msg;

	if (!host[0])
		host = field_text(o, "host", h, sizeof(h));
	printf("%s %s", ts, sev[0] ? sev : "-");
	if (host[0])
		printf(" %s", host);
	if (score[0])
		printf(" score=%s", score);
	if (prov[0] || svc[0])
		printf(" %s/%s", prov[0] ? prov : "-", svc[0] ? svc : "-");
	printf(" %s", kind[0] ? kind : "alert");
	if (aid[0])
		printf(" alert=%s", aid);
	if (rev[0])
		printf(" rev=%s", rev);
	if (json_is_true(json_object_get(o, "learning")))
		fputs(" learning", stdout);
	putchar('\n');
	if (json_is_array(json_object_get(o, "reasons"))) {
		print_reasons(o);
		return;
	}
	msg = field_text(o, "message", m, sizeof(m));
	if (!msg[0])
		msg = field_text(o, "reason", m, sizeof(m));
	if (msg[0])
		printf("    %s\n", msg);
}

static void print_readable(json_t *o, const char *entry_id)
{
	char t[64], k[64], sv[64], h[256], a[64], b[64], c[64], d[64], e[64], f[64];
	const char *ts = field_text(o, "ts", t, sizeof(t));
	const char *kind = kind_of(o, k, sizeof(k));
	const char *sev = severity_of(o, sv, sizeof(sv));
	const char *et = json_string_value(json_object_get(o, "event_type"));

	if (!ts[0])
		ts = field_text(o, "timestamp", t, sizeof(t));
	if (!ts[0])
		ts = entry_id;
	if ((et && !strcmp(et, "alert")) || sev[0] || json_object_get(o, "kind")) {
		/* an alert: when, how bad, who, what, and why */
		print_alert(o, ts, kind, sev);
		return;
	}
	/* a session record */
	printf("%s %s %s:%s -> %s:%s %s up=%s down=%s dur=%ss",
	       ts, kind[0] ? kind : "record",
	       field_text(o, "src_ip", h, sizeof(h)), field_text(o, "src_port", a, sizeof(a)),
	       field_text(o, "dest_ip", sv, sizeof(sv)), field_text(o, "dest_port", b, sizeof(b)),
	       field_text(o, "proto", c, sizeof(c)), field_text(o, "bytes_toserver", d, sizeof(d)),
	       field_text(o, "bytes_toclient", e, sizeof(e)), field_text(o, "duration", f, sizeof(f)));
	{
		static const char *const extra[][2] = {
			{ "sni", "sni" }, { "provider", "provider" }, { "record_id", "id" },
		};
		for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			const char *v = field_text(o, extra[i][0], h, sizeof(h));
			if (v[0])
				printf(" %s=%s", extra[i][1], v);
		}
	}
	putchar('\n');
}

/*
 * One record (JSON text, not NUL-terminated) from any source: parse,
 * filter, print.  @what and @id name it in messages ("entry" and the
 * stream id, "index" and the list index, "line" and the file line); a
 * record without a time is shown with @id.  Returns 1 when printed.
 */
static int handle_record(const struct alerts_opts *op, const char *data, size_t dlen,
			 const char *what, const char *id, struct alerts_stats *st)
{
	json_error_t jerr;
	json_t *o;
	int printed = 0;

	st->read++;
	o = json_loadb(data, dlen, 0, &jerr);
	if (!o || !json_is_object(o)) {
		fprintf(stderr, "mailtap-alerts: %s %s: not a JSON object: %s\n", what, id,
			o ? "another JSON type" : jerr.text);
		json_decref(o);
		return 0;
	}
	if (wanted(op, o)) {
		if (op->json) {
			fwrite(data, 1, dlen, stdout);
			putchar('\n');
		} else {
			print_readable(o, id);
		}
		st->printed++;
		printed = 1;
	}
	json_decref(o);
	return printed;
}

/* ---- redis ---------------------------------------------------------------- */

static redisContext *connect_redis(const struct alerts_opts *op)
{
	struct timeval tv = { .tv_sec = 5 };
	struct timeval ctv = { .tv_sec = op->block_ms / 1000 + 10 };
	char err[512];
	redisContext *c = out_redis_url_connect(&op->url, getenv("MAILTAP_REDIS_PASSWORD"), tv,
						ctv, err, sizeof(err));
	if (!c)
		fprintf(stderr, "mailtap-alerts: %s\n", err);
	return c;
}

/* Run a command given as NULL-terminated strings.  Returns the reply, or
 * NULL after printing the problem. */
#define CMD_MAX_ARGS 64 /* XACK batches send up to 3 + 32 + 1 words */

static redisReply *cmd(redisContext *c, const char **argv)
{
	size_t lens[CMD_MAX_ARGS];
	int argc = 0;
	redisReply *r;
	while (argv[argc]) {
		if (argc == CMD_MAX_ARGS) {
			fprintf(stderr, "mailtap-alerts: %s: more than %d words\n", argv[0], CMD_MAX_ARGS);
			return NULL;
		}
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	r = redisCommandArgv(c, argc, argv, lens);
	if (!r) {
		fprintf(stderr, "mailtap-alerts: %s: %s\n", argv[0], c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "mailtap-alerts: %s: %s\n", argv[0], r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Print the entries of @entries (array of [id, [field, value...]]) and
 * acknowledge them.  Returns the number of entries, or -1. */
static int handle_entries(redisContext *c, const struct alerts_opts *op, redisReply *entries,
			  struct alerts_stats *st)
{
	const char *ack[32 + 3];
	int nack = 0, n = 0;

	if (!entries || entries->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < entries->elements; i++) {
		redisReply *e = entries->element[i];
		redisReply *fields;
		const char *data = NULL;
		size_t dlen = 0;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		n++;
		fields = e->elements > 1 ? e->element[1] : NULL;
		for (size_t f = 0; fields && fields->type == REDIS_REPLY_ARRAY &&
		     f + 1 < fields->elements; f += 2) {
			redisReply *k = fields->element[f], *v = fields->element[f + 1];
			if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "data") &&
			    v->type == REDIS_REPLY_STRING) {
				data = v->str;
				dlen = v->len;
			}
		}
		if (data) {
			handle_record(op, data, dlen, "entry", e->element[0]->str, st);
		} else {
			st->read++;
		}
		/* entries are acknowledged once printed (at-least-once) */
		if (nack == 0) {
			ack[nack++] = "XACK";
			ack[nack++] = op->key;
			ack[nack++] = op->group;
		}
		ack[nack++] = e->element[0]->str;
		if (nack == 32 + 2 || i + 1 == entries->elements) {
			redisReply *r;
			ack[nack] = NULL;
			fflush(stdout);
			r = cmd(c, ack);
			if (!r)
				return -1;
			freeReplyObject(r);
			nack = 0;
		}
	}
	if (nack > 3) {
		redisReply *r;
		ack[nack] = NULL;
		fflush(stdout);
		r = cmd(c, ack);
		if (!r)
			return -1;
		freeReplyObject(r);
	}
	return n;
}

/* Take over entries idle longer than --claim-idle-ms.  0 or -1. */
static int claim_stale(redisContext *c, const struct alerts_opts *op, struct alerts_stats *st)
{
	char idle[32], count[16], cursor[64] = "0-0";
	snprintf(idle, sizeof(idle), "%lu", op->claim_idle_ms);
	snprintf(count, sizeof(count), "%u", op->count);
	for (int rounds = 0; rounds < 100000 && !stop_requested; rounds++) {
		const char *argv[] = { "XAUTOCLAIM", op->key, op->group, op->consumer, idle, cursor,
				       "COUNT", count, NULL };
		redisReply *r = cmd(c, argv);
		int n;
		if (!r)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		n = handle_entries(c, op, r->element[1], st);
		freeReplyObject(r);
		if (n < 0)
			return -1;
		st->claimed += (unsigned long long)n;
		if (!strcmp(cursor, "0-0"))
			return 0;
	}
	return 0;
}

/* XREADGROUP from @start (">" new entries, "0" this consumer's pending).
 * Returns the number of entries handled, or -1. */
static int read_group(redisContext *c, const struct alerts_opts *op, const char *start,
		      int block, struct alerts_stats *st)
{
	char count[16], blk[16];
	const char *argv[12];
	int a = 0, n = 0;
	redisReply *r;

	snprintf(count, sizeof(count), "%u", op->count);
	snprintf(blk, sizeof(blk), "%u", op->block_ms);
	argv[a++] = "XREADGROUP";
	argv[a++] = "GROUP";
	argv[a++] = op->group;
	argv[a++] = op->consumer;
	argv[a++] = "COUNT";
	argv[a++] = count;
	if (block) {
		argv[a++] = "BLOCK";
		argv[a++] = blk;
	}
	argv[a++] = "STREAMS";
	argv[a++] = op->key;
	argv[a++] = start;
	argv[a] = NULL;
	r = cmd(c, argv);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *s = r->element[i];
			int k;
			if (s->type != REDIS_REPLY_ARRAY || s->elements < 2)
				continue;
			k = handle_entries(c, op, s->element[1], st);
			if (k < 0) {
				freeReplyObject(r);
				return -1;
			}
			n += k;
		}
	}
	freeReplyObject(r);
	return n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The key must exist, with the type the mode reads: XGROUP CREATE ...
 * MKSTREAM would quietly make an empty stream of a mistyped --key and
 * drain it.  With --follow a missing key is waited for (the consumer may
 * start before the sensor's first record).  0, or an exit status.
 */
static int check_key(redisContext *c, const struct alerts_opts *op, const char *type)
{
	char where[300];
	int said = 0;

	if (op->url.is_unix)
		snprintf(where, sizeof(where), "unix:%s", op->url.host);
	else
		snprintf(where, sizeof(where), "redis://%s:%d", op->url.host, op->url.port);
	if (op->url.db)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "/%d", op->url.db);
	while (!stop_requested) {
		const char *argv[] = { "TYPE", op->key, NULL };
		redisReply *r = cmd(c, argv);
		if (!r)
			return EXIT_REDIS;
		if (r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			return EXIT_REDIS;
		}
		if (!strcmp(r->str, type)) {
			freeReplyObject(r);
			return 0;
		}
		if (strcmp(r->str, "none")) {
			const char *hint = !strcmp(r->str, "list") ? "read it with ?mode=list" :
					   !strcmp(r->str, "stream") ? "read it without ?mode=list" :
					   "is the sensor writing a channel there (docs/redis.md)?";
			fprintf(stderr, "mailtap-alerts: '%s' at %s is a %s, not a %s; %s\n",
				op->key, where, r->str, type, hint);
			freeReplyObject(r);
			return EXIT_USAGE;
		}
		freeReplyObject(r);
		if (!op->follow) {
			fprintf(stderr, "mailtap-alerts: no %s '%s' at %s; is the sensor writing there?\n",
				type, op->key, where);
			return EXIT_USAGE;
		}
		if (!said++)
			fprintf(stderr, "mailtap-alerts: no %s '%s' at %s yet; waiting for it\n",
				type, op->key, where);
		usleep(200000);
	}
	return 0;
}

/*
 * A list (?mode=list, what the sensor RPUSHes): read from the head with
 * LRANGE, --count at a time, without removing anything, so it can run
 * beside a reader that pops (Logstash).  With --follow, new entries at the
 * tail are polled for; when the list gets shorter than what was read
 * (someone popped or trimmed it), reading goes on from its new end.
 */
static int run_list(const struct alerts_opts *op)
{
	struct alerts_stats st = { 0 };
	redisContext *c = connect_redis(op);
	long long next = 0;
	int rc;

	if (!c)
		return EXIT_REDIS;
	if ((rc = check_key(c, op, "list")) != 0)
		goto out;
	while (!stop_requested) {
		char from[32], to[32];
		const char *argv[] = { "LRANGE", op->key, from, to, NULL };
		redisReply *r;

		snprintf(from, sizeof(from), "%lld", next);
		snprintf(to, sizeof(to), "%lld", next + (long long)op->count - 1);
		if (!(r = cmd(c, argv))) {
			rc = EXIT_REDIS;
			goto out;
		}
		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			redisReply *e = r->element[i];
			char idx[32];
			snprintf(idx, sizeof(idx), "%lld", next + (long long)i);
			if (e->type == REDIS_REPLY_STRING)
				handle_record(op, e->str, e->len, "index", idx, &st);
		}
		next += r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : 0;
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			freeReplyObject(r);
			continue;
		}
		freeReplyObject(r);
		if (!op->follow)
			break;
		fflush(stdout);
		{
			const char *lv[] = { "LLEN", op->key, NULL };
			redisReply *l = cmd(c, lv);
			if (!l) {
				rc = EXIT_REDIS;
				goto out;
			}
			if (l->type == REDIS_REPLY_INTEGER && l->integer < next) {
				fprintf(stderr, "mailtap-alerts: list '%s' shrank from %lld to %lld "
					"entries (another reader pops it?); going on from its end\n",
					op->key, next, l->integer);
				next = l->integer;
			}
			freeReplyObject(l);
		}
		usleep(200000);
	}
	rc = 0;
	fflush(stdout);
	fprintf(stderr, "mailtap-alerts: %llu read, %llu printed\n", st.read, st.printed);
out:
	redisFree(c);
	return rc;
}

/*
 * JSON lines from a file (what `mailtap --alerts FILE` appends) or stdin
 * ("-").  With --follow, a file is watched for lines appended later, like
 * tail -f; a line still being written (no newline yet) waits.
 */
static int run_file(const struct alerts_opts *op, const char *path)
{
	struct alerts_stats st = { 0 };
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	int seekable;

	if (!fp) {
		fprintf(stderr, "mailtap-alerts: cannot open %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	seekable = fp != stdin && ftello(fp) >= 0;
	while (!stop_requested) {
		off_t at = seekable ? ftello(fp) : 0;
		ssize_t n = getline(&line, &cap, fp);
		char num[32];

		if (n < 0 || (op->follow && seekable && line[n - 1] != '\n')) {
			if (!op->follow || !seekable)
				break;
			/* at the end, or a partial last line: wait for more */
			fflush(stdout);
			clearerr(fp);
			if (n > 0)
				fseeko(fp, at, SEEK_SET);
			usleep(200000);
			continue;
		}
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		snprintf(num, sizeof(num), "%lu", lineno);
		handle_record(op, line, (size_t)n, "line", num, &st);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	fflush(stdout);
	fprintf(stderr, "mailtap-alerts: %llu read, %llu printed\n", st.read, st.printed);
	return 0;
}

static int run(const struct alerts_opts *op)
{
	struct alerts_stats st = { 0 };
	redisContext *c = connect_redis(op);
	uint64_t last_claim;
	redisReply *r;
	int n;

	if (!c)
		return EXIT_REDIS;
	if ((n = check_key(c, op, "stream")) != 0) {
		redisFree(c);
		return n;
	}
	{
		const char *argv[] = { "XGROUP", "CREATE", op->key, op->group,
				       op->from_new ? "$" : "0", "MKSTREAM", NULL };
		size_t lens[6];
		for (int i = 0; i < 6; i++)
			lens[i] = strlen(argv[i]);
		r = redisCommandArgv(c, 6, argv, lens);
		if (!r || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9))) {
			fprintf(stderr, "mailtap-alerts: cannot create group '%s' on '%s': %s\n",
				op->group, op->key, r ? r->str : c->errstr);
			freeReplyObject(r);
			redisFree(c);
			return EXIT_REDIS;
		}
		freeReplyObject(r);
	}
	/* first what this consumer name left pending before a crash, then
	 * what other consumers left idle too long, then new entries */
	while ((n = read_group(c, op, "0", 0, &st)) > 0 && !stop_requested)
		;
	if (n < 0 || claim_stale(c, op, &st) < 0)
		goto out_err;
	last_claim = mono_ms();
	while (!stop_requested) {
		n = read_group(c, op, ">", op->follow, &st);
		if (n < 0)
			goto out_err;
		if (op->follow && mono_ms() - last_claim >= op->claim_idle_ms / 2 + 1) {
			if (claim_stale(c, op, &st) < 0)
				goto out_err;
			last_claim = mono_ms();
		}
		if (n == 0 && !op->follow)
			break;
	}
	fflush(stdout);
	fprintf(stderr, "mailtap-alerts: %llu read, %llu printed, %llu claimed from other consumers\n",
		st.read, st.printed, st.claimed);
	redisFree(c);
	return 0;
out_err:
	redisFree(c);
	return EXIT_REDIS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "group", required_argument, NULL, 'g' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "from-new", no_argument, NULL, 'N' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "severity", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'K' },
		{ "host", required_argument, NULL, 'H' },
		{ "count", required_argument, NULL, 'n' },
		{ "claim-idle-ms", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct alerts_opts op = { .group = "mailtap-alerts", .count = 100,
				  .claim_idle_ms = 60000, .block_ms = 2000 };
	const char *url = "redis://127.0.0.1:6379", *file = NULL;
	char err[300], host[128];
	int ch, url_given = 0;

	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 'r': url = optarg; url_given = 1; break;
		case 'k': op.key = optarg; break;
		case 'g': op.group = optarg; break;
		case 'c': snprintf(op.consumer, sizeof(op.consumer), "%s", optarg); break;
		case 'N': op.from_new = 1; break;
		case 'f': op.follow = 1; break;
		case 'j': op.json = 1; break;
		case 's': op.severity = optarg; break;
		case 'K': op.kind = optarg; break;
		case 'H': op.host = optarg; break;
		case 'n':
			op.count = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !op.count || op.count > 100000) {
				fprintf(stderr, "mailtap-alerts: bad --count '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			errno = 0;
			op.claim_idle_ms = strtoul(optarg, &end, 10);
			if (*end || errno) {
				fprintf(stderr, "mailtap-alerts: bad --claim-idle-ms '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	/* one positional source: a Redis URL (as --redis), a file, or - */
	if (optind < argc) {
		const char *src = argv[optind++];
		if (!strncmp(src, "redis://", 8) || !strncmp(src, "rediss://", 9) ||
		    !strncmp(src, "unix:", 5)) {
			if (url_given) {
				fprintf(stderr, "mailtap-alerts: '%s' and --redis both name the server\n", src);
				return EXIT_USAGE;
			}
			url = src;
		} else if (url_given) {
			fprintf(stderr, "mailtap-alerts: a file ('%s') and --redis: read one source\n", src);
			return EXIT_USAGE;
		} else {
			file = src;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailtap-alerts: unexpected argument '%s' (one source at a time)\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (file)
		return run_file(&op, file);
	if (out_redis_url_parse(url, &op.url, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtap-alerts: '%s': %s\n", url, err);
		return EXIT_USAGE;
	}
	if (op.url.mode == OUT_REDIS_MODE_CHANNEL) {
		fprintf(stderr, "mailtap-alerts: mode=channel keeps nothing to read back; "
			"use a stream or a list, or redis-cli SUBSCRIBE for a live view\n");
		return EXIT_USAGE;
	}
	if (!op.key)
		op.key = op.url.key[0] ? op.url.key : "mailtap:alerts";
	if (!op.consumer[0]) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			snprintf(host, sizeof(host), "consumer");
		host[sizeof(host) - 1] = 0;
		snprintf(op.consumer, sizeof(op.consumer), "%s-%d", host, (int)getpid());
	}
	return op.url.mode == OUT_REDIS_MODE_LIST ? run_list(&op) : run(&op);
}
