/* SPDX-License-Identifier: MIT */
/*
 * tool-web.c -- mailtap-web: a read-only web view of the alert stream for
 * the analyst.  A reader thread follows the Redis stream with XREVRANGE
 * (the newest entries at start) and XREAD BLOCK (then what comes), without
 * a consumer group, and keeps the newest --max-alerts alerts in memory,
 * one per alert_id at its highest revision.  libmicrohttpd serves an alert
 * list (/) and a page per alert (/alert/ID) with server-side SVG charts;
 * no JavaScript.  Every value from a record is HTML-escaped, responses
 * carry a strict Content-Security-Policy, the default listen address is
 * loopback and an optional bearer token (compared in constant time) guards
 * everything.  docs/web.md describes the routes, charts and security model.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "output-redis-url.h"

#define EXIT_USAGE 2
#define EXIT_REDIS 3

#define WEB_DEFAULT_LISTEN   "127.0.0.1:8088"
#define WEB_DEFAULT_MAX      5000     /* alerts kept in memory */
#define WEB_MAX_ALERTS       200000
#define WEB_LIST_MAX_ROWS    1000     /* rows the list renders */
#define WEB_ID_MAX           64       /* longest alert_id accepted */
#define WEB_READ_COUNT       512      /* entries per XREAD / XREVRANGE */
#define WEB_BACKFILL_FACTOR  20       /* at start, read at most 20 x --max-alerts */
#define WEB_BACKFILL_MIN     100000   /*   + 100000 entries */
#define WEB_BLOCK_MS         1000     /* XREAD BLOCK */
#define WEB_BACKOFF_MAX_MS   5000
#define WEB_SERIES_MAX       4096     /* buckets / connection starts drawn */
#define WEB_HIST_MAX_BINS    30
#define WEB_TOKEN_MAX        4096
#define WEB_CONN_LIMIT       64
#define WEB_CONN_TIMEOUT_S   10

#define WEB_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

/* Signal flag: the only mutable global, written by the handler. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- the alert store ------------------------------------------------------ */

struct web_alert {
	char id[WEB_ID_MAX + 1];
	long long revision;
	double ts;            /* epoch seconds of "ts", NAN when it does not parse */
	uint64_t seq;         /* arrival order, for ties */
	json_t *obj;          /* owned */
};

struct web_store {
	pthread_rwlock_t lock;
	struct web_alert *a;  /* cap entries, n used, unordered */
	size_t n, cap;
	/* alert_id -> index into a[] + 1 (0 = empty): open addressing with
	 * linear probing, at most half full, hashed with a per-process seed
	 * (ids come from whoever writes to the stream) */
	uint32_t *index;
	size_t index_mask;
	uint64_t seed;
	uint64_t seq;
	/* reader state, shown on the list page */
	unsigned long long entries, not_alerts, bad, revisions, evicted;
	int connected;
	char last_error[256];
};

static int web_store_init(struct web_store *s, size_t cap)
{
	size_t slots = 16;
	struct timespec now;

	memset(s, 0, sizeof(*s));
	while (slots < 2 * cap)
		slots *= 2;
	s->a = calloc(cap, sizeof(*s->a));
	s->index = calloc(slots, sizeof(*s->index));
	if (!s->a || !s->index)
		goto out_free;
	s->cap = cap;
	s->index_mask = slots - 1;
	if (getentropy(&s->seed, sizeof(s->seed)) < 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		s->seed = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	}
	if (pthread_rwlock_init(&s->lock, NULL))
		goto out_free;
	return 0;
out_free:
	free(s->index);
	free(s->a);
	return -ENOMEM;
}

/* FNV-1a over the id, started from the seed, then mixed (splitmix64). */
static size_t id_hash(const struct web_store *s, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull ^ s->seed;
	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	return (size_t)(h ^ (h >> 31));
}

/* The index position holding @id, or the empty one where it would go. */
static size_t index_pos(const struct web_store *s, const char *id)
{
	size_t i = id_hash(s, id) & s->index_mask;
	while (s->index[i] && strcmp(s->a[s->index[i] - 1].id, id))
		i = (i + 1) & s->index_mask;
	return i;
}

/* Borrowed: valid while the lock is held. */
static struct web_alert *web_store_find(const struct web_store *s, const char *id)
{
	size_t i = index_pos(s, id);
	return s->index[i] ? &s->a[s->index[i] - 1] : NULL;
}

/* Removes @id (present) from the index: backward-shift deletion. */
static void index_remove(struct web_store *s, const char *id)
{
	size_t i = index_pos(s, id), j = i;
	s->index[i] = 0;
	for (;;) {
		size_t home;
		j = (j + 1) & s->index_mask;
		if (!s->index[j])
			return;
		home = id_hash(s, s->a[s->index[j] - 1].id) & s->index_mask;
		/* move j back to the hole at i unless its home lies in (i, j] */
		if (((j - home) & s->index_mask) >= ((j - i) & s->index_mask)) {
			s->index[i] = s->index[j];
			s->index[j] = 0;
			i = j;
		}
	}
}

static void web_store_release(struct web_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->a[i].obj);
	free(s->a);
	free(s->index);
	pthread_rwlock_destroy(&s->lock);
}

/* RFC 3339 ("2026-03-04T10:03:06.830992Z", also with +hh:mm) to epoch
 * seconds; NAN when it does not parse. */
static double parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	double frac = 0;
	const char *p;
	int off = 0;

	if (!s)
		return NAN;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return NAN;
	if (*p == '.') {
		double scale = 0.1;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return NAN;
	}
	if (*p)
		return NAN;
	return (double)timegm(&tm) - off + frac;
}

/* Takes a new alert record: kept when its alert_id is new (evicting the
 * alert with the oldest time when full, unless it is older still) or its
 * revision is higher than the one held.  Steals @o.  Called with the write lock held. */
static void web_store_put_locked(struct web_store *s, json_t *o)
{
	json_t *jid = json_object_get(o, "alert_id");
	json_t *jrev = json_object_get(o, "revision");
	const char *id;
	long long rev = json_is_integer(jrev) ? (long long)json_integer_value(jrev) : 0;
	struct web_alert *slot = NULL;
	bool fresh = true;   /* a new id in its slot */

	if (!json_is_string(jid) || !(id = json_string_value(jid))[0] ||
	    strlen(id) > WEB_ID_MAX) {
		s->bad++;
		json_decref(o);
		return;
	}
	slot = web_store_find(s, id);
	if (slot) {
		if (rev <= slot->revision) {   /* an older revision, or a duplicate */
			json_decref(o);
			return;
		}
		s->revisions++;
		json_decref(slot->obj);
		fresh = false;
	} else if (s->n < s->cap) {
		slot = &s->a[s->n++];
	} else {
		/* full: the alert with the oldest time goes (unparsable times first) */
		size_t old = 0;
		for (size_t i = 1; i < s->n; i++) {
			const struct web_alert *x = &s->a[i], *y = &s->a[old];
			if ((isnan(x->ts) && !isnan(y->ts)) ||
			    (isnan(x->ts) == isnan(y->ts) &&
			     (x->ts < y->ts || (!(x->ts > y->ts) && x->seq < y->seq))))
				old = i;
		}
		slot = &s->a[old];
		{
			double t = parse_rfc3339(json_string_value(json_object_get(o, "ts")));
			if (!isnan(slot->ts) && (isnan(t) || t < slot->ts)) {
				s->evicted++;      /* older than all held: not kept */
				json_decref(o);
				return;
			}
		}
		index_remove(s, slot->id);
		json_decref(slot->obj);
		s->evicted++;
	}
	if (fresh) {
		snprintf(slot->id, sizeof(slot->id), "%s", id);
		s->index[index_pos(s, id)] = (uint32_t)(slot - s->a) + 1;
	}
	slot->revision = rev;
	slot->ts = parse_rfc3339(json_string_value(json_object_get(o, "ts")));
	slot->seq = ++s->seq;
	slot->obj = o;
}

/* One stream entry ([id, [field, value, ...]]): its "data" field parsed. */
static void web_store_entry(struct web_store *s, const redisReply *e)
{
	const redisReply *fields;
	json_error_t jerr;
	json_t *o;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
		return;
	fields = e->element[1];
	if (fields->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t f = 0; f + 1 < fields->elements; f += 2) {
		const redisReply *k = fields->element[f], *v = fields->element[f + 1];
		if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "data") ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		o = json_loadb(v->str, v->len, 0, &jerr);
		pthread_rwlock_wrlock(&s->lock);
		s->entries++;
		if (!json_is_object(o)) {
			s->bad++;
			json_decref(o);
		} else if (!json_is_string(json_object_get(o, "event_type")) ||
			   strcmp(json_string_value(json_object_get(o, "event_type")), "alert")) {
			s->not_alerts++;
			json_decref(o);
		} else {
			web_store_put_locked(s, o);
		}
		pthread_rwlock_unlock(&s->lock);
		return;
	}
}

static void web_store_state(struct web_store *s, int connected, const char *err)
{
	pthread_rwlock_wrlock(&s->lock);
	s->connected = connected;
	if (err)
		snprintf(s->last_error, sizeof(s->last_error), "%s", err);
	pthread_rwlock_unlock(&s->lock);
}

/* ---- the Redis reader ----------------------------------------------------- */

struct web_reader {
	struct out_redis_url url;
	const char *key;
	struct web_store *store;
	char last_id[64];     /* the newest stream entry seen ("" = none yet) */
	pthread_t thread;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Connected context, or NULL with the reason in @err. */
static redisContext *reader_connect(const struct web_reader *r, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = 5 };
	struct timeval ctv = { .tv_sec = WEB_BLOCK_MS / 1000 + 10 };
	return out_redis_url_connect(&r->url, getenv("MAILTAP_REDIS_PASSWORD"), tv, ctv, err,
				     errlen);
}

/* A command given as NULL-terminated words; the reply, or NULL with the
 * problem in @err. */
static redisReply *reader_cmd(redisContext *c, const char **argv, char *err, size_t errlen)
{
	size_t lens[16];
	int argc = 0;
	redisReply *rp;

	while (argv[argc] && argc < 16) {
		lens[argc] = strlen(argv[argc]);
		argc++;
	}
	rp = redisCommandArgv(c, argc, argv, lens);
	if (!rp) {
		snprintf(err, errlen, "%s: %s", argv[0], c->errstr);
		return NULL;
	}
	if (rp->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s %s: %s", argv[0], argv[1], rp->str);
		freeReplyObject(rp);
		return NULL;
	}
	return rp;
}

static void note_id(struct web_reader *r, const redisReply *e)
{
	if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
	    e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < sizeof(r->last_id))
		snprintf(r->last_id, sizeof(r->last_id), "%s", e->element[0]->str);
}

/* Back from the newest entry (XREVRANGE pages) until --max-alerts alerts
 * are held, the stream's first entry is passed, or 20 x --max-alerts +
 * 100000 entries were read (sessions on the same key).  Only
 * this thread writes the store, so it reads n without the lock.  0 or -1. */
static int reader_backfill(struct web_reader *r, redisContext *c, char *err, size_t errlen)
{
	char count[16], end[80] = "+";
	size_t scanned = 0;

	snprintf(count, sizeof(count), "%d", WEB_READ_COUNT);
	while (!stop_requested) {
		const char *argv[] = { "XREVRANGE", r->key, end, "-", "COUNT", count, NULL };
		redisReply *rp = reader_cmd(c, argv, err, errlen);
		size_t n;
		if (!rp)
			return -1;
		n = rp->type == REDIS_REPLY_ARRAY ? rp->elements : 0;
		for (size_t i = 0; i < n; i++)
			web_store_entry(r->store, rp->element[i]);
		if (n && !r->last_id[0])
			note_id(r, rp->element[0]);
		if (n) {
			const redisReply *e = rp->element[n - 1];
			if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
			    e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < 64)
				snprintf(end, sizeof(end), "(%s", e->element[0]->str);
			else
				n = 0;
		}
		freeReplyObject(rp);
		scanned += n;
		if (n < WEB_READ_COUNT || r->store->n >= r->store->cap ||
		    scanned >= WEB_BACKFILL_FACTOR * r->store->cap + WEB_BACKFILL_MIN)
			break;
	}
	if (!r->last_id[0])
		snprintf(r->last_id, sizeof(r->last_id), "0-0");
	return 0;
}

/* One XREAD BLOCK round.  0 or -1. */
static int reader_follow(struct web_reader *r, redisContext *c, char *err, size_t errlen)
{
	char count[16], block[16];
	redisReply *rp;

	snprintf(count, sizeof(count), "%d", WEB_READ_COUNT);
	snprintf(block, sizeof(block), "%d", WEB_BLOCK_MS);
	{
		const char *argv[] = { "XREAD", "COUNT", count, "BLOCK", block, "STREAMS",
				       r->key, r->last_id, NULL };
		rp = reader_cmd(c, argv, err, errlen);
	}
	if (!rp)
		return -1;
	for (size_t i = 0; rp->type == REDIS_REPLY_ARRAY && i < rp->elements; i++) {
		const redisReply *st = rp->element[i];
		if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t k = 0; k < st->element[1]->elements; k++) {
			web_store_entry(r->store, st->element[1]->element[k]);
			note_id(r, st->element[1]->element[k]);
		}
	}
	freeReplyObject(rp);
	return 0;
}

static void *reader_main(void *arg)
{
	struct web_reader *r = arg;
	unsigned backoff = OUT_REDIS_BACKOFF_MIN_MS;
	char err[256], said[256] = "";

	while (!stop_requested) {
		redisContext *c = reader_connect(r, err, sizeof(err));
		if (c && !r->last_id[0] && reader_backfill(r, c, err, sizeof(err)) < 0) {
			redisFree(c);
			c = NULL;
		}
		if (c) {
			web_store_state(r->store, 1, NULL);
			if (said[0])
				fprintf(stderr, "mailtap-web: reading '%s' again\n", r->key);
			said[0] = 0;
			backoff = OUT_REDIS_BACKOFF_MIN_MS;
			while (!stop_requested && reader_follow(r, c, err, sizeof(err)) == 0)
				;
			redisFree(c);
			if (stop_requested)
				break;
		}
		/* one message per distinct problem, then quiet retries */
		web_store_state(r->store, 0, err);
		if (strcmp(said, err)) {
			fprintf(stderr, "mailtap-web: %s; retrying with backoff\n", err);
			snprintf(said, sizeof(said), "%s", err);
		}
		for (unsigned waited = 0; waited < backoff && !stop_requested; waited += 100)
			sleep_ms(100);
		backoff = backoff * 2 > WEB_BACKOFF_MAX_MS ? WEB_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* ---- HTML output ---------------------------------------------------------- */

/* A growing text buffer; after a failed allocation it stays failed. */
struct web_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_put(struct web_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void buf_puts(struct web_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_printf(struct web_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Only for our own text and numbers: never a value from a record. */
static void buf_printf(struct web_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* @s HTML-escaped, for text and for quoted attribute values alike (also
 * in inline SVG): & < > " ' become references, other C0 controls and
 * DEL become U+FFFD. */
static void buf_esc(struct web_buf *b, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "\xef\xbf\xbd";
		}
		if (rep) {
			buf_put(b, run, (size_t)(s - run));
			buf_puts(b, rep);
			run = s + 1;
		}
	}
	buf_put(b, run, (size_t)(s - run));
}

/* @s percent-encoded for a URL path segment or query value. */
static void buf_url(struct web_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			buf_put(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			buf_put(b, e, 3);
		}
	}
}

/* A field as text ("" when absent): strings as they are, numbers printed.
 * Borrowed: valid as long as @o and @buf. */
static const char *field_text(json_t *o, const char *name, char *buf, size_t len)
{
	json_t *v = json_object_get(o, name);
	buf[0] = 0;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.6g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "true");
	else if (json_is_false(v))
		snprintf(buf, len, "false");
	else if (json_is_null(v))
		snprintf(buf, len, "null");
	return buf;
}

static bool number_of(json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* "12.3 MB" (powers of 1000, as the alerts' detail sentences). */
static void fmt_bytes(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	unsigned u = 0;
	while (fabs(v) >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.*f %s", fabs(v) < 10 ? 1 : 0, v, unit[u]);
}

static void fmt_time(double t, const char *fmt, char *buf, size_t len)
{
	time_t s = (time_t)floor(t);
	struct tm tm;
	buf[0] = 0;
	if (isnan(t) || !gmtime_r(&s, &tm) || !strftime(buf, len, fmt, &tm))
		snprintf(buf, len, "?");
}

static void severity_class(const char *sev, char *buf, size_t len)
{
	static const char *const known[] = { "low", "medium", "high", "critical" };
	snprintf(buf, len, "sev-unknown");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcasecmp(sev, known[i]))
			snprintf(buf, len, "sev-%s", known[i]);
}

static void page_head(struct web_buf *b, const char *title)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		 "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	buf_esc(b, title);
	buf_puts(b,
		"</title><style>\n"
		"body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:1.2em 2em;color:#1d2433;background:#fbfbfd}\n"
		"h1{font-size:1.35em;margin:0 0 .4em} h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
		"a{color:#1f5fbf} header{border-bottom:1px solid #ccd;margin-bottom:1em;padding-bottom:.4em}\n"
		"table{border-collapse:collapse;font-size:.9em} th,td{padding:.25em .7em;border-bottom:1px solid #e3e5ec;text-align:left;vertical-align:top}\n"
		"th{background:#eef0f6} td.num{text-align:right;font-variant-numeric:tabular-nums} td.time{white-space:nowrap}\n"
		".sev{font-weight:bold;padding:.05em .5em;border-radius:.3em;color:#fff}\n"
		".sev-low{background:#6b7a90} .sev-medium{background:#c28a00} .sev-high{background:#d9480f} .sev-critical{background:#b00020} .sev-unknown{background:#999}\n"
		"form{margin:.5em 0 1em} input,select{margin-right:.8em} .muted{color:#667} .wrap{word-break:break-all}\n"
		"svg{background:#fff;border:1px solid #dde;margin:.3em 0} svg text{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;font-size:11px;fill:#333}\n"
		".bar-down,.key-down{fill:#3b6fd6;fill-opacity:.85} .bar-up,.key-up{fill:#f08c2e;fill-opacity:.85} .bar-total{fill:#7a8fb8} .hist{fill:#5a9e6f} .conn{fill:#b03a7a}\n"
		".baseline{stroke:#2b8a3e;stroke-width:3;stroke-dasharray:6 4} .peer{stroke:#5f3dc4;stroke-width:3;stroke-dasharray:3 3}\n"
		".axis{stroke:#888;stroke-width:1} .grid{stroke:#eee;stroke-width:1} .rug{stroke:#b03a7a;stroke-width:1}\n"
		".conn.first{fill:#fff;stroke:#b03a7a;stroke-width:1.5} .pair{display:flex;flex-wrap:wrap;gap:0 10px} .summary{margin:.2em 0}\n"
		"</style></head><body>\n");
}

static void page_tail(struct web_buf *b)
{
	buf_puts(b, "</body></html>\n");
}

/* ---- the alert list -------------------------------------------------------- */

/* Whether @v is one of the comma-separated @list (case-insensitive). */
static bool in_list(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list;
	if (!v[0])
		return false;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (l == n && !strncasecmp(p, v, n))
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

struct list_filter {
	const char *severity, *kind, *host;   /* NULL or "" = any */
};

static bool filter_match(const struct list_filter *f, json_t *o)
{
	char b[64];
	if (f->severity && f->severity[0] && !in_list(f->severity, field_text(o, "severity", b, sizeof(b))))
		return false;
	if (f->kind && f->kind[0] && !in_list(f->kind, field_text(o, "kind", b, sizeof(b))))
		return false;
	if (f->host && f->host[0] && !in_list(f->host, field_text(o, "src_ip", b, sizeof(b))))
		return false;
	return true;
}

static int cmp_newest_first(const void *pa, const void *pb)
{
	const struct web_alert *a = *(const struct web_alert *const *)pa;
	const struct web_alert *b = *(const struct web_alert *const *)pb;
	double ta = isnan(a->ts) ? -INFINITY : a->ts, tb = isnan(b->ts) ? -INFINITY : b->ts;
	if (ta != tb)
		return ta < tb ? 1 : -1;
	return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

static void filter_input(struct web_buf *b, const char *label, const char *name, const char *v)
{
	buf_printf(b, "<label>%s <input type=\"text\" name=\"%s\" size=\"14\" value=\"", label, name);
	buf_esc(b, v ? v : "");
	buf_puts(b, "\"></label>");
}

/* Called with the read lock held. */
static void render_list(struct web_buf *b, struct web_store *s, const struct list_filter *f)
{
	struct web_alert **rows = s->n ? malloc(s->n * sizeof(*rows)) : NULL;
	size_t nrows = 0;
	static const char *const sevs[] = { "", "low", "medium", "high", "critical" };

	if (s->n && !rows) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (filter_match(f, s->a[i].obj))
			rows[nrows++] = &s->a[i];
	qsort(rows, nrows, sizeof(*rows), cmp_newest_first);

	page_head(b, "mailtap alerts");
	buf_puts(b, "<header><h1>mailtap alerts</h1><p id=\"status\" class=\"muted\">");
	buf_printf(b, "<span id=\"held\">%zu</span> alerts in memory (at most %zu), "
		   "%llu stream entries read, %llu revisions merged, %llu evicted",
		   s->n, s->cap, s->entries, s->revisions, s->evicted);
	if (s->not_alerts || s->bad)
		buf_printf(b, ", %llu other records and %llu unreadable ignored", s->not_alerts, s->bad);
	buf_puts(b, s->connected ? "; redis: connected" : "; redis: not connected");
	if (!s->connected && s->last_error[0]) {
		buf_puts(b, " (");
		buf_esc(b, s->last_error);
		buf_puts(b, ")");
	}
	buf_puts(b, "</p></header>\n<form method=\"get\" action=\"/\"><label>severity <select name=\"severity\">");
	for (size_t i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++) {
		bool sel = f->severity && !strcasecmp(f->severity, sevs[i]);
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", sevs[i], sel ? " selected" : "",
			   sevs[i][0] ? sevs[i] : "any");
	}
	if (f->severity && f->severity[0] && !in_list("low,medium,high,critical", f->severity)) {
		buf_puts(b, "<option selected value=\"");
		buf_esc(b, f->severity);
		buf_puts(b, "\">");
		buf_esc(b, f->severity);
		buf_puts(b, "</option>");
	}
	buf_puts(b, "</select></label>");
	filter_input(b, "kind", "kind", f->kind);
	filter_input(b, "host", "host", f->host);
	buf_puts(b, "<input type=\"submit\" value=\"filter\"> <a href=\"/\">all</a></form>\n");

	buf_printf(b, "<p id=\"shown\" class=\"muted\">%zu matching%s</p>\n", nrows,
		   nrows > WEB_LIST_MAX_ROWS ? ", the newest 1000 shown" : "");
	buf_puts(b, "<table id=\"alerts\"><thead><tr><th>time (UTC)</th><th>severity</th><th>host</th>"
		 "<th>provider / service</th><th>kind</th><th>score</th><th>rev</th><th>SNI</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < nrows && i < WEB_LIST_MAX_ROWS; i++) {
		json_t *o = rows[i]->obj;
		char t[40], v1[64], v2[64], cls[24];
		const char *sev = field_text(o, "severity", v1, sizeof(v1));

		buf_puts(b, "<tr class=\"alert-row\"><td class=\"time\"><a href=\"/alert/");
		buf_url(b, rows[i]->id);
		buf_puts(b, "\">");
		if (isnan(rows[i]->ts))
			buf_esc(b, field_text(o, "ts", v2, sizeof(v2)));
		else {
			fmt_time(rows[i]->ts, "%Y-%m-%d %H:%M:%S", t, sizeof(t));
			buf_puts(b, t);
		}
		severity_class(sev, cls, sizeof(cls));
		buf_printf(b, "</a></td><td><span class=\"sev %s\">", cls);
		buf_esc(b, sev);
		buf_puts(b, "</span></td><td class=\"host\">");
		buf_esc(b, field_text(o, "src_ip", v1, sizeof(v1)));
		buf_puts(b, "</td><td>");
		buf_esc(b, field_text(o, "provider", v1, sizeof(v1)));
		buf_puts(b, " / ");
		buf_esc(b, field_text(o, "service", v1, sizeof(v1)));
		buf_puts(b, "</td><td class=\"kind\">");
		buf_esc(b, field_text(o, "kind", v1, sizeof(v1)));
		buf_puts(b, "</td><td class=\"num score\">");
		buf_esc(b, field_text(o, "score", v1, sizeof(v1)));
		buf_printf(b, "</td><td class=\"num\">%lld</td><td class=\"wrap\">", rows[i]->revision);
		buf_esc(b, field_text(o, "sni", v1, sizeof(v1)));
		buf_puts(b, "</td></tr>\n");
	}
	buf_puts(b, "</tbody></table>\n");
	if (!nrows)
		buf_puts(b, "<p>no alerts match</p>\n");
	page_tail(b);
	free(rows);
}

/* ---- SVG charts ------------------------------------------------------------ */

#define SVG_ML  78    /* left margin: the axis labels */

/* A "nice" step (1, 2, 5 x 10^k) giving about @ticks intervals up to @max. */
static double nice_step(double max, int ticks)
{
	double raw = max / ticks, mag, f;
	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The chart title, in a <text> and in the aria-label: host -> provider /
 * service (SNI), all from the record and so escaped. */
static void svg_open(struct web_buf *b, json_t *o, const char *id, const char *what, int W, int h)
{
	char v[64];
	buf_printf(b, "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" aria-label=\"%s: ", id, W, h, W, h, what);
	buf_esc(b, field_text(o, "src_ip", v, sizeof(v)));
	buf_puts(b, " to ");
	buf_esc(b, field_text(o, "sni", v, sizeof(v)));
	buf_printf(b, "\"><text x=\"%d\" y=\"16\" font-weight=\"bold\">%s: ", SVG_ML, what);
	buf_esc(b, field_text(o, "src_ip", v, sizeof(v)));
	buf_puts(b, " \xe2\x86\x92 ");
	buf_esc(b, field_text(o, "provider", v, sizeof(v)));
	buf_puts(b, " / ");
	buf_esc(b, field_text(o, "service", v, sizeof(v)));
	if (json_is_string(json_object_get(o, "sni"))) {
		buf_puts(b, " (");
		buf_esc(b, json_string_value(json_object_get(o, "sni")));
		buf_puts(b, ")");
	}
	buf_puts(b, "</text>\n");
}

/* Horizontal grid and labels of a bytes axis from 0 to @ymax. */
static void svg_bytes_axis(struct web_buf *b, int W, int MR, double ymax, int top, int ph)
{
	double step = nice_step(ymax, 4);
	char lab[32];
	for (double y = 0; y <= ymax * 1.0001; y += step) {
		int py = top + ph - (int)lround(y / ymax * ph);
		fmt_bytes(y, lab, sizeof(lab));
		buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
			   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
			   SVG_ML, py, W - MR, py, SVG_ML - 6, py + 4, lab);
	}
	buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		   SVG_ML, top + ph, W - MR, top + ph);
}

static void svg_ref_line(struct web_buf *b, int W, int MR, const char *cls, const char *name,
			 double v, double ymax, int top, int ph)
{
	char lab[32];
	int py = top + ph - (int)lround(v / ymax * ph);
	fmt_bytes(v, lab, sizeof(lab));
	buf_printf(b, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"><title>%s %s per bucket</title></line>"
		   "<text x=\"%d\" y=\"%d\">%s %s</text>\n",
		   cls, SVG_ML, py, W - MR, py, name, lab, W - MR + 6, py + 4, name, lab);
}

static size_t json_numbers(json_t *arr, double *out, size_t max)
{
	size_t n = 0;
	if (!json_is_array(arr))
		return 0;
	for (size_t i = 0; i < json_array_size(arr) && n < max; i++) {
		double v;
		out[n++] = number_of(json_array_get(arr, i), &v) && v >= 0 ? v : 0;
	}
	return n;
}

/* Chart (a): bytes per bucket, down stacked under up, against the host's
 * baseline and the peer level per bucket. */
static void chart_volume(struct web_buf *b, json_t *o, json_t *series)
{
	enum { W = 1100, MR = 130, H = 250, TOP = 34, PH = 172 };
	const int pw = W - SVG_ML - MR;
	double *down = NULL, *up = NULL, base = NAN, peer = NAN, ymax = 0, bucket_s = 300, start;
	size_t nd, nu, n;
	char lab[64];

	buf_puts(b, "<h2>volume per bucket</h2>\n");
	if (json_is_object(series)) {
		double v;
		if (number_of(json_object_get(series, "bucket_s"), &v) && v > 0)
			bucket_s = v;
		down = calloc(WEB_SERIES_MAX, sizeof(double));
		up = calloc(WEB_SERIES_MAX, sizeof(double));
		if (!down || !up) {
			b->oom = true;
			goto out;
		}
		nd = json_numbers(json_object_get(series, "toclient"), down, WEB_SERIES_MAX);
		nu = json_numbers(json_object_get(series, "toserver"), up, WEB_SERIES_MAX);
		n = nd > nu ? nd : nu;
		if (n) {
			start = parse_rfc3339(json_string_value(json_object_get(series, "start")));
			if (!number_of(json_object_get(series, "baseline_per_bucket"), &base) || base < 0)
				base = NAN;
			if (!number_of(json_object_get(series, "peer_per_bucket"), &peer) || peer < 0)
				peer = NAN;
			for (size_t i = 0; i < n; i++)
				if (down[i] + up[i] > ymax)
					ymax = down[i] + up[i];
			if (!isnan(base) && base > ymax)
				ymax = base;
			if (!isnan(peer) && peer > ymax)
				ymax = peer;
			ymax = ymax > 0 ? ymax * 1.08 : 1;

			svg_open(b, o, "volume", "bytes per bucket", W, H);
			svg_bytes_axis(b, W, MR, ymax, TOP, PH);
			{
				double bw = (double)pw / (double)n, gap = bw > 4 ? 1 : 0;
				size_t every = (n + 7) / 8;
				for (size_t i = 0; i < n; i++) {
					double x = SVG_ML + i * bw;
					double hd = down[i] / ymax * PH, hu = up[i] / ymax * PH;
					char t[16], d[32], u[32];
					fmt_time(start + (double)i * bucket_s, "%H:%M", t, sizeof(t));
					fmt_bytes(down[i], d, sizeof(d));
					fmt_bytes(up[i], u, sizeof(u));
					buf_printf(b, "<rect class=\"bar-down\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
						   "<title>%s down %s</title></rect>",
						   x, TOP + PH - hd, bw - gap, hd, t, d);
					buf_printf(b, "<rect class=\"bar-up\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
						   "<title>%s up %s</title></rect>\n",
						   x, TOP + PH - hd - hu, bw - gap, hu, t, u);
					if (i % every == 0)
						buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
							   x + bw / 2, TOP + PH + 16, t);
				}
			}
			if (!isnan(base))
				svg_ref_line(b, W, MR, "baseline", "baseline", base, ymax, TOP, PH);
			if (!isnan(peer))
				svg_ref_line(b, W, MR, "peer", "peers", peer, ymax, TOP, PH);
			buf_printf(b, "<rect class=\"key-down\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
				   "<text x=\"%d\" y=\"%d\">down (to client)</text>"
				   "<rect class=\"key-up\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
				   "<text x=\"%d\" y=\"%d\">up (to server)</text>",
				   SVG_ML, H - 18, SVG_ML + 14, H - 9, SVG_ML + 140, H - 18, SVG_ML + 154, H - 9);
			snprintf(lab, sizeof(lab), "%.0f s buckets, UTC", bucket_s);
			buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text></svg>\n",
				   W - MR, H - 9, lab);
			buf_printf(b, "<p class=\"muted\">%zu buckets of %.0f s; baseline and peer level are bytes per bucket"
				   "%s%s.</p>\n", n, bucket_s, isnan(base) ? "; no baseline yet" : "",
				   isnan(peer) ? "; no peer level" : "");
			goto out;
		}
	}
	/* no series: the window totals only */
	{
		json_t *w = json_object_get(o, "window");
		double d = 0, u = 0;
		bool have = json_is_object(w) && number_of(json_object_get(w, "bytes_toclient"), &d) &&
			    number_of(json_object_get(w, "bytes_toserver"), &u);
		buf_puts(b, "<p id=\"no-series\">no series in this alert");
		if (!have) {
			buf_puts(b, " and no window totals</p>\n");
			goto out;
		}
		buf_puts(b, ": the window totals only</p>\n");
		ymax = (d > u ? d : u) * 1.08;
		if (!(ymax > 0))
			ymax = 1;
		svg_open(b, o, "volume", "bytes in the window", W, H);
		svg_bytes_axis(b, W, MR, ymax, TOP, PH);
		for (int i = 0; i < 2; i++) {
			double v = i ? u : d, hh = v / ymax * PH, x = SVG_ML + 60 + i * 220;
			char vb[32];
			fmt_bytes(v, vb, sizeof(vb));
			buf_printf(b, "<rect class=\"bar-total\" x=\"%.1f\" y=\"%.1f\" width=\"140\" height=\"%.1f\">"
				   "<title>%s</title></rect><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s %s</text>\n",
				   x, TOP + PH - hh, hh, vb, x + 70, TOP + PH + 16,
				   i ? "up (to server)" : "down (to client)", vb);
		}
		buf_puts(b, "</svg>\n");
	}
out:
	free(down);
	free(up);
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return a < b ? -1 : a > b;
}

/* Chart (b): the connection starts on a time axis and a histogram of the
 * intervals between them. */
static void chart_beacon(struct web_buf *b, json_t *o, json_t *series)
{
	enum { W = 545, MR = 24, H1 = 230, H2 = 230, TOP = 30, PH = 150 };
	const int pw = W - SVG_ML - MR;
	double *ts = calloc(WEB_SERIES_MAX, sizeof(double)), *iv = NULL;
	size_t n = 0, m;
	double t0, t1, span;

	buf_puts(b, "<div class=\"pair\"><div><h2>connection starts</h2>\n");
	if (!ts) {
		buf_puts(b, "</div></div>\n");
		b->oom = true;
		return;
	}
	if (json_is_object(series)) {
		json_t *arr = json_object_get(series, "conn_starts");
		for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr) && n < WEB_SERIES_MAX; i++)
			if (number_of(json_array_get(arr, i), &ts[n]))
				n++;
	}
	if (!n) {
		buf_printf(b, "<p id=\"no-conn-starts\">%s</p>\n", json_is_object(series)
			   ? "no connection starts in this alert's series" : "no series in this alert");
		goto out;
	}
	qsort(ts, n, sizeof(*ts), cmp_double);
	t0 = ts[0];
	t1 = ts[n - 1];
	span = t1 - t0 > 0 ? t1 - t0 : 1;

	/* x: the start, y: seconds since the previous start (the first one
	 * hollow on the axis); a rug of ticks under the axis */
	{
		double ymax = 0;
		for (size_t i = 1; i < n; i++)
			if (ts[i] - ts[i - 1] > ymax)
				ymax = ts[i] - ts[i - 1];
		ymax = ymax > 0 ? ymax * 1.1 : 1;
		svg_open(b, o, "starts", "connection starts", W, H1);
		{
			double step = nice_step(ymax, 4);
			for (double y = 0; y <= ymax; y += step) {
				int py = TOP + PH - (int)lround(y / ymax * PH);
				buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
					   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f s</text>\n",
					   SVG_ML, py, W - MR, py, SVG_ML - 6, py + 4, y);
			}
		}
		buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
			   SVG_ML, TOP + PH, W - MR, TOP + PH);
		for (size_t i = 0; i < n; i++) {
			char t[16];
			double x = SVG_ML + (ts[i] - t0) / span * pw;
			double gap = i ? ts[i] - ts[i - 1] : 0;
			fmt_time(ts[i], "%H:%M:%S", t, sizeof(t));
			buf_printf(b, "<line class=\"rug\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
				   "<circle class=\"conn%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>%s%s",
				   x, TOP + PH + 2, x, TOP + PH + 9, i ? "" : " first", x,
				   TOP + PH - gap / ymax * PH, t, i ? ", " : " (first)");
			if (i)
				buf_printf(b, "%.0f s after the previous", gap);
			buf_puts(b, "</title></circle>\n");
		}
		for (int k = 0; k <= 4; k++) {
			char t[16];
			fmt_time(t0 + span * k / 4, "%H:%M", t, sizeof(t));
			buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
				   SVG_ML + pw * k / 4.0, TOP + PH + 22, t);
		}
		buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu starts (UTC); height: seconds since the previous</text></svg>\n",
			   W - MR, H1 - 8, n);
	}
	buf_puts(b, "</div><div>");

	buf_puts(b, "<h2>intervals between starts</h2>\n");
	m = n - 1;
	if (!m) {
		buf_puts(b, "<p id=\"no-intervals\">one connection start: no interval</p>\n");
		goto out;
	}
	iv = malloc(m * sizeof(*iv));
	if (!iv) {
		b->oom = true;
		goto out;
	}
	for (size_t i = 0; i < m; i++)
		iv[i] = ts[i + 1] - ts[i];
	qsort(iv, m, sizeof(*iv), cmp_double);
	{
		size_t nb = (size_t)ceil(sqrt((double)m)), counts[WEB_HIST_MAX_BINS] = { 0 }, cmax = 0;
		double lo = floor(iv[0]), hi = ceil(iv[m - 1]), w, median;
		if (nb > WEB_HIST_MAX_BINS)
			nb = WEB_HIST_MAX_BINS;
		if (nb < 1)
			nb = 1;
		if (hi <= lo)
			hi = lo + 1;
		w = (hi - lo) / nb;
		for (size_t i = 0; i < m; i++) {
			size_t k = (size_t)((iv[i] - lo) / w);
			if (k >= nb)
				k = nb - 1;
			counts[k]++;
		}
		for (size_t k = 0; k < nb; k++)
			if (counts[k] > cmax)
				cmax = counts[k];
		median = m % 2 ? iv[m / 2] : (iv[m / 2 - 1] + iv[m / 2]) / 2;
		svg_open(b, o, "intervals", "intervals", W, H2);
		{
			double step = nice_step((double)cmax, 4);
			if (step < 1)
				step = 1;
			for (double y = 0; y <= cmax; y += step) {
				int py = TOP + PH - (int)lround(y / cmax * PH);
				buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
					   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n",
					   SVG_ML, py, W - MR, py, SVG_ML - 6, py + 4, y);
			}
		}
		for (size_t k = 0; k < nb; k++) {
			double bw = (double)pw / nb, hh = (double)counts[k] / cmax * PH;
			buf_printf(b, "<rect class=\"hist\" data-n=\"%zu\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
				   "<title>%.1f-%.1f s: %zu</title></rect>\n",
				   counts[k], SVG_ML + k * bw, TOP + PH - hh, bw > 3 ? bw - 1 : bw, hh,
				   lo + k * w, lo + (k + 1) * w, counts[k]);
		}
		for (int k = 0; k <= 4; k++)
			buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f s</text>",
				   SVG_ML + pw * k / 4.0, TOP + PH + 16, lo + (hi - lo) * k / 4);
		buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
			   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu intervals, median %.0f s</text></svg>\n",
			   SVG_ML, TOP + PH, W - MR, TOP + PH, W - MR, H2 - 12, m, median);
	}
out:
	buf_puts(b, "</div></div>\n");
	free(iv);
	free(ts);
}

/* ---- the alert page -------------------------------------------------------- */

static void field_row(struct web_buf *b, const char *label, const char *v)
{
	buf_puts(b, "<tr><th>");
	buf_esc(b, label);
	buf_puts(b, "</th><td class=\"wrap\">");
	buf_esc(b, v);
	buf_puts(b, "</td></tr>\n");
}

static void reason_cell(struct web_buf *b, json_t *r, const char *name, const char *unit)
{
	json_t *v = json_object_get(r, name);
	char t[64];
	buf_puts(b, "<td class=\"num\">");
	if (json_is_number(v) && unit && !strcmp(unit, "bytes")) {
		fmt_bytes(json_number_value(v), t, sizeof(t));
		buf_puts(b, t);
	} else if (json_is_null(v) || !v) {
		buf_puts(b, "<span class=\"muted\">&mdash;</span>");
	} else {
		buf_esc(b, field_text(r, name, t, sizeof(t)));
	}
	buf_puts(b, "</td>");
}

static void render_fields(struct web_buf *b, json_t *o)
{
	static const char *const names[] = {
		"ts", "alert_id", "revision", "sensor", "kind", "score", "severity", "learning",
		"confidence", "src_ip", "dest_ip", "dest_port", "provider", "service", "app_proto",
		"sni", "ja4",
	};
	static const char *const wn[] = { "start", "end", "sessions", "bytes_toserver", "bytes_toclient" };
	json_t *w = json_object_get(o, "window"), *cids = json_object_get(o, "community_ids");
	char v[64];

	buf_puts(b, "<h2>fields</h2>\n<table id=\"fields\">\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (json_object_get(o, names[i]))
			field_row(b, names[i], field_text(o, names[i], v, sizeof(v)));
	for (size_t i = 0; json_is_object(w) && i < sizeof(wn) / sizeof(wn[0]); i++) {
		char label[32];
		json_t *x = json_object_get(w, wn[i]);
		if (!x)
			continue;
		snprintf(label, sizeof(label), "window.%s", wn[i]);
		if (json_is_number(x) && !strncmp(wn[i], "bytes", 5)) {
			char h[32], full[96];
			fmt_bytes(json_number_value(x), h, sizeof(h));
			snprintf(full, sizeof(full), "%s (%s)", field_text(w, wn[i], v, sizeof(v)), h);
			field_row(b, label, full);
		} else {
			field_row(b, label, field_text(w, wn[i], v, sizeof(v)));
		}
	}
	if (json_is_array(cids)) {
		buf_puts(b, "<tr><th>community_ids</th><td class=\"wrap\">");
		for (size_t i = 0; i < json_array_size(cids); i++) {
			if (!json_is_string(json_array_get(cids, i)))
				continue;
			buf_puts(b, i ? "<br>" : "");
			buf_esc(b, json_string_value(json_array_get(cids, i)));
		}
		buf_puts(b, "</td></tr>\n");
	}
	buf_puts(b, "</table>\n");
}

static void render_reasons(struct web_buf *b, json_t *reasons)
{
	char v[64];

	buf_puts(b, "<h2>reasons</h2>\n");
	if (!json_is_array(reasons) || !json_array_size(reasons)) {
		buf_puts(b, "<p>no reasons in this alert</p>\n");
		return;
	}
	buf_puts(b, "<table id=\"reasons\"><thead><tr><th>signal</th><th>strength</th><th>value</th>"
		 "<th>baseline</th><th>peer</th><th>unit</th><th>detail</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < json_array_size(reasons); i++) {
		json_t *r = json_array_get(reasons, i);
		const char *unit;
		if (!json_is_object(r))
			continue;
		unit = json_string_value(json_object_get(r, "unit"));
		buf_puts(b, "<tr class=\"reason\"><td>");
		buf_esc(b, field_text(r, "signal", v, sizeof(v)));
		buf_puts(b, "</td>");
		reason_cell(b, r, "strength", NULL);
		reason_cell(b, r, "value", unit);
		reason_cell(b, r, "baseline", unit);
		reason_cell(b, r, "peer", unit);
		buf_puts(b, "<td>");
		buf_esc(b, unit ? unit : "");
		buf_puts(b, "</td><td>");
		buf_esc(b, field_text(r, "detail", v, sizeof(v)));
		buf_puts(b, "</td></tr>\n");
	}
	buf_puts(b, "</tbody></table>\n");
}

/* Called with the read lock held. */
static void render_alert(struct web_buf *b, const struct web_alert *a)
{
	json_t *o = a->obj, *w = json_object_get(o, "window"), *series = json_object_get(o, "series");
	char v[64], v2[64], cls[24], title[128];
	const char *sev = field_text(o, "severity", v, sizeof(v));
	bool beacon;

	snprintf(title, sizeof(title), "mailtap alert %s", a->id);
	page_head(b, title);
	severity_class(sev, cls, sizeof(cls));
	buf_puts(b, "<header><p><a href=\"/\">&larr; all alerts</a></p><h1>");
	buf_esc(b, field_text(o, "kind", v2, sizeof(v2)));
	buf_printf(b, " <span class=\"sev %s\">", cls);
	buf_esc(b, sev);
	buf_puts(b, "</span> score ");
	buf_esc(b, field_text(o, "score", v2, sizeof(v2)));
	buf_puts(b, " &mdash; <a href=\"/?host=");
	buf_url(b, field_text(o, "src_ip", v2, sizeof(v2)));
	buf_puts(b, "\">");
	buf_esc(b, field_text(o, "src_ip", v2, sizeof(v2)));
	buf_puts(b, "</a></h1>\n<p class=\"summary\" id=\"summary\">");
	buf_esc(b, field_text(o, "provider", v2, sizeof(v2)));
	buf_puts(b, " / ");
	buf_esc(b, field_text(o, "service", v2, sizeof(v2)));
	if (json_is_string(json_object_get(o, "sni"))) {
		buf_puts(b, " &middot; SNI <span class=\"wrap\">");
		buf_esc(b, json_string_value(json_object_get(o, "sni")));
		buf_puts(b, "</span>");
	}
	if (json_is_object(w)) {
		buf_puts(b, " &middot; window ");
		buf_esc(b, field_text(w, "start", v2, sizeof(v2)));
		buf_puts(b, " &ndash; ");
		buf_esc(b, field_text(w, "end", v2, sizeof(v2)));
	}
	buf_printf(b, " &middot; revision %lld</p></header>\n", a->revision);

	render_reasons(b, json_object_get(o, "reasons"));
	chart_volume(b, o, series);
	beacon = !strcmp(field_text(o, "kind", v, sizeof(v)), "beaconing") ||
		 (json_is_object(series) && json_array_size(json_object_get(series, "conn_starts")) > 0);
	if (beacon)
		chart_beacon(b, o, series);
	render_fields(b, o);
	page_tail(b);
}

/* ---- HTTP ------------------------------------------------------------------ */

struct web_server {
	struct web_store *store;
	bool have_token;
	unsigned char token_digest[32];   /* SHA-256 of the token */
	struct MHD_Daemon *daemon;
	uint16_t port;
};

static bool sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned len = 0;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/* "Bearer <token>": both sides are hashed first, so the comparison takes
 * the same time whatever the length or content of what was sent. */
static bool authorized(const struct web_server *ws, struct MHD_Connection *conn)
{
	const char *h;
	unsigned char d[32];
	size_t n;

	if (!ws->have_token)
		return true;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (!sha256(h, n, d))
		return false;
	return CRYPTO_memcmp(d, ws->token_digest, sizeof(d)) == 0;
}

static void security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

/* Queues @b (freed here either way) as a text/html response. */
static enum MHD_Result send_page(struct MHD_Connection *conn, unsigned status, struct web_buf *b,
				 const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	if (b->oom || !b->p) {
		static const char msg[] = "out of memory\n";
		free(b->p);
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		resp = MHD_create_response_from_buffer(b->len, b->p, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(b->p);
	}
	if (!resp)
		return MHD_NO;
	security_headers(resp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mailtap-web\"");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_message(struct MHD_Connection *conn, unsigned status, const char *title,
				    const char *text, const char *allow)
{
	struct web_buf b = { 0 };
	page_head(&b, title);
	buf_puts(&b, "<h1>");
	buf_esc(&b, title);
	buf_puts(&b, "</h1><p>");
	buf_esc(&b, text);
	buf_puts(&b, "</p><p><a href=\"/\">all alerts</a></p>");
	page_tail(&b);
	return send_page(conn, status, &b, allow);
}

static enum MHD_Result serve_request(void *cls, struct MHD_Connection *conn, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct web_server *ws = cls;
	struct web_store *s = ws->store;
	struct web_buf b = { 0 };

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		*upload_data_size = 0;
		return send_message(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				    "this view is read-only: GET and HEAD only", "GET, HEAD");
	}
	if (!authorized(ws, conn))
		return send_message(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				    "send the token as Authorization: Bearer TOKEN", NULL);
	if (!strcmp(url, "/")) {
		struct list_filter f = {
			.severity = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "severity"),
			.kind = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "kind"),
			.host = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "host"),
		};
		pthread_rwlock_rdlock(&s->lock);
		render_list(&b, s, &f);
		pthread_rwlock_unlock(&s->lock);
		return send_page(conn, MHD_HTTP_OK, &b, NULL);
	}
	if (!strncmp(url, "/alert/", 7)) {
		const char *id = url + 7;
		const struct web_alert *a = NULL;
		pthread_rwlock_rdlock(&s->lock);
		if (strlen(id) <= WEB_ID_MAX)
			a = web_store_find(s, id);
		if (a)
			render_alert(&b, a);
		pthread_rwlock_unlock(&s->lock);
		if (a)
			return send_page(conn, MHD_HTTP_OK, &b, NULL);
		{
			char msg[WEB_ID_MAX + 80];
			snprintf(msg, sizeof(msg), "no alert '%.*s' in memory (unknown, or evicted)",
				 WEB_ID_MAX, id);
			return send_message(conn, MHD_HTTP_NOT_FOUND, "not found", msg, NULL);
		}
	}
	return send_message(conn, MHD_HTTP_NOT_FOUND, "not found", "routes: / and /alert/ID", NULL);
}

/* host:port, [v6]:port, or :port (loopback).  0 or -1 with @err set. */
static int parse_listen(const char *s, char *host, size_t hlen, char *port, size_t plen,
			char *err, size_t errlen)
{
	const char *colon;
	char *end;
	unsigned long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hlen) {
			snprintf(err, errlen, "expected [ADDRESS]:PORT");
			return -1;
		}
		snprintf(host, hlen, "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= hlen || strchr(s, ':') != colon) {
			snprintf(err, errlen, "expected HOST:PORT (an IPv6 address in brackets)");
			return -1;
		}
		snprintf(host, hlen, "%.*s", (int)(colon - s), s);
		if (!host[0])
			snprintf(host, hlen, "127.0.0.1");
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p > 65535) {
		snprintf(err, errlen, "bad port '%s'", colon + 1);
		return -1;
	}
	snprintf(port, plen, "%lu", p);
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* 0, or -1 after printing why. */
static int web_server_start(struct web_server *ws, const char *listen_addr)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	char host[256], port[8], err[128], shown[300];
	int fd, one = 1, gai;

	if (parse_listen(listen_addr, host, sizeof(host), port, sizeof(port), err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtap-web: --listen '%s': %s\n", listen_addr, err);
		return -1;
	}
	gai = getaddrinfo(host, port, &hints, &ai);
	if (gai) {
		fprintf(stderr, "mailtap-web: --listen '%s': %s\n", listen_addr,
			gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "mailtap-web: cannot create a socket for %s: %s\n", listen_addr, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		flags |= MHD_USE_IPv6;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 32) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, "mailtap-web: cannot listen on %s: %s\n", listen_addr, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	if (!is_loopback(ai->ai_addr))
		fprintf(stderr, "mailtap-web: warning: listening on %s, not loopback%s\n", host,
			ws->have_token ? "" : ", without a token: anyone who reaches it reads the alerts");
	freeaddrinfo(ai);
	ws->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						  : ((struct sockaddr_in *)&ss)->sin_port);
	ws->daemon = MHD_start_daemon(flags, 0, NULL, NULL, serve_request, ws,
				      MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				      MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
				      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT_S,
				      MHD_OPTION_END);
	if (!ws->daemon) {
		fprintf(stderr, "mailtap-web: cannot start the HTTP server on %s: libmicrohttpd failed\n",
			listen_addr);
		close(fd);
		return -1;
	}
	snprintf(shown, sizeof(shown), strchr(host, ':') ? "[%s]" : "%s", host);
	fprintf(stderr, "mailtap-web: listening on http://%s:%u/\n", shown, (unsigned)ws->port);
	return 0;
}

/* The token: the file's first line, surrounding blanks removed.  0 or -1. */
static int load_token(const char *path, struct web_server *ws)
{
	char buf[WEB_TOKEN_MAX + 2];
	FILE *fp = fopen(path, "r");
	size_t n, s = 0;

	if (!fp) {
		fprintf(stderr, "mailtap-web: --token '%s': %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	n = strcspn(buf, "\r\n");
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	while (s < n && isspace((unsigned char)buf[s]))
		s++;
	if (n - s < 16 || n - s > WEB_TOKEN_MAX) {
		fprintf(stderr, "mailtap-web: --token '%s': the first line must hold a token of 16 to %d "
			"characters\n", path, WEB_TOKEN_MAX);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	ws->have_token = sha256(buf + s, n - s, ws->token_digest);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ws->have_token ? 0 : -1;
}

static void usage(FILE *fp)
{
	fputs(
"usage: mailtap-web [options]\n"
"A read-only web view of mailtap alerts in a Redis stream (docs/web.md).\n"
"\n"
"  --redis URL          redis://[user@]host[:port][/db][?key=K] or unix:/path/to/sock\n"
"                       (default redis://127.0.0.1:6379, key mailtap:alerts)\n"
"  --key KEY            the stream (default: the URL's ?key=, else mailtap:alerts)\n"
"  --listen ADDR:PORT   where to serve (default " WEB_DEFAULT_LISTEN "; [::1]:PORT for\n"
"                       IPv6; port 0 picks a free one, printed at start)\n"
"  --token FILE         require Authorization: Bearer TOKEN, TOKEN being the first\n"
"                       line of FILE (16 characters or more)\n"
"  --max-alerts N       alerts kept in memory, newest first (default 5000)\n"
"  -h, --help\n"
"\n"
"The stream is read with XREVRANGE and XREAD, without a consumer group: other\n"
"consumers are not disturbed and nothing is acknowledged or written.  The\n"
"password comes from MAILTAP_REDIS_PASSWORD.\n"
"Exit status: 0, 2 usage, 3 cannot serve.\n", fp);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "max-alerts", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = "redis://127.0.0.1:6379", *listen_addr = WEB_DEFAULT_LISTEN, *token = NULL;
	unsigned long max_alerts = WEB_DEFAULT_MAX;
	struct web_store store;
	struct web_reader reader = { 0 };
	struct web_server ws = { 0 };
	sigset_t set, old;
	char err[300];
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 'r': url = optarg; break;
		case 'k': reader.key = optarg; break;
		case 'l': listen_addr = optarg; break;
		case 't': token = optarg; break;
		case 'm':
			errno = 0;
			max_alerts = strtoul(optarg, &end, 10);
			if (*end || errno || !max_alerts || max_alerts > WEB_MAX_ALERTS) {
				fprintf(stderr, "mailtap-web: bad --max-alerts '%s' (1 to %d)\n", optarg,
					WEB_MAX_ALERTS);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailtap-web: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (out_redis_url_parse(url, &reader.url, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtap-web: --redis '%s': %s\n", url, err);
		return EXIT_USAGE;
	}
	{
		char h[256], p[8];
		if (parse_listen(listen_addr, h, sizeof(h), p, sizeof(p), err, sizeof(err)) < 0) {
			fprintf(stderr, "mailtap-web: --listen '%s': %s\n", listen_addr, err);
			return EXIT_USAGE;
		}
	}
	if (!reader.key)
		reader.key = reader.url.key[0] ? reader.url.key : "mailtap:alerts";
	if (token && load_token(token, &ws) < 0)
		return EXIT_USAGE;
	if (web_store_init(&store, max_alerts) < 0) {
		fprintf(stderr, "mailtap-web: out of memory\n");
		return EXIT_REDIS;
	}
	reader.store = &store;
	ws.store = &store;
	snprintf(store.last_error, sizeof(store.last_error), "connecting");

	/* the threads start with the signals blocked; only this one waits */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (web_server_start(&ws, listen_addr) < 0) {
		rc = EXIT_REDIS;
		goto out_store;
	}
	if (pthread_create(&reader.thread, NULL, reader_main, &reader)) {
		fprintf(stderr, "mailtap-web: cannot start the reader thread\n");
		rc = EXIT_REDIS;
		goto out_server;
	}
	fprintf(stderr, "mailtap-web: reading stream '%s'\n", reader.key);
	while (!stop_requested)
		sigsuspend(&old);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_join(reader.thread, NULL);
out_server:
	MHD_stop_daemon(ws.daemon);
out_store:
	web_store_release(&store);
	return rc;
}
