/* SPDX-License-Identifier: MIT */
/*
 * metrics.c -- metric registry, Prometheus text rendering (format 0.0.4) and
 * the libmicrohttpd endpoint that serves it.  See metrics.h for the contract.
 *
 * Layout: families[] and samples[] are append-only and immutable once their
 * count is published under the mutex; vals[] holds the mutable values in one
 * contiguous array so a scrape copies it in a single memcpy.  Two open
 * addressing tables (linear probing, no deletion, util-hash.h's hash64)
 * map a family name, and a (family, label text) pair, to an index.  The label text is the rendered,
 * escaped form `a="x",b="y"`; escaping is injective, so equal text means
 * equal label values.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util-hash.h"

#define FAM_SLOTS      128   /* power of two, >= 2 * METRICS_MAX_FAMILIES */
#define SAMPLE_SLOTS   1024  /* power of two, >= 2 * METRICS_MAX_SAMPLES */
#define REFUSED_NAME   "mailtap_metrics_refused_total"

/* libmicrohttpd limits for the endpoint: a scrape is one short request. */
#define SERVER_CONN_LIMIT    16
#define SERVER_TIMEOUT_S     10

_Static_assert(FAM_SLOTS >= 2 * METRICS_MAX_FAMILIES, "family table load");
_Static_assert(SAMPLE_SLOTS >= 2 * METRICS_MAX_SAMPLES, "sample table load");
_Static_assert(METRICS_MAX_SAMPLES < INT16_MAX, "slot index width");

struct family {
	char name[METRICS_NAME_MAX + 1];
	char help[METRICS_HELP_MAX + 1];
	char label[METRICS_MAX_LABELS][METRICS_NAME_MAX + 1];
	enum metrics_type type;
	unsigned nlabels;
};

struct sample {
	uint32_t hash;
	uint16_t family;
	char labels[METRICS_LABELS_MAX + 1];
};

struct value {
	union {
		uint64_t u;
		double d;
	};
	bool is_double;
};

struct metrics {
	pthread_mutex_t lock;
	unsigned nfamilies, nsamples;
	struct family families[METRICS_MAX_FAMILIES];
	struct sample samples[METRICS_MAX_SAMPLES];
	struct value vals[METRICS_MAX_SAMPLES];
	int16_t fam_slot[FAM_SLOTS];        /* index + 1; 0 = empty */
	int16_t sample_slot[SAMPLE_SLOTS];  /* index + 1; 0 = empty */
	int refused;                        /* sample index of REFUSED_NAME */
	uint64_t seed;                      /* hash seed (process seed) */
};

/* util-hash.h's hash64(), under the process seed: the names are our own,
 * but label values (providers, services) come from the catalog and the
 * wire. */
static uint32_t hash_str(const struct metrics *m, const char *s)
{
	return (uint32_t)hash64_str(s, m->seed);
}

static bool name_valid(const char *s, bool metric)
{
	size_t n = strlen(s);
	if (n == 0 || n > METRICS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (metric && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	/* Label names starting with "__" are reserved for Prometheus. */
	return metric || strncmp(s, "__", 2) != 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Called with the lock held.  Returns the family index or -1. */
static int family_find(const struct metrics *m, const char *name)
{
	uint32_t i = hash_str(m, name) & (FAM_SLOTS - 1);
	for (;;) {
		int16_t s = m->fam_slot[i];
		if (s == 0)
			return -1;
		if (strcmp(m->families[s - 1].name, name) == 0)
			return s - 1;
		i = (i + 1) & (FAM_SLOTS - 1);
	}
}

/*
 * Writes `name="escaped",...` for family @f into @out (METRICS_LABELS_MAX + 1
 * bytes).  Escapes backslash, double quote and newline as the format asks.
 * Returns the length, or -EINVAL / -ENAMETOOLONG.
 */
static int labels_format(const struct family *f, const char *const *values, char *out)
{
	size_t n = 0;
	if (f->nlabels && !values)
		return -EINVAL;
	for (unsigned i = 0; i < f->nlabels; i++) {
		const char *v = values[i];
		size_t ln = strlen(f->label[i]);
		if (!v)
			return -EINVAL;
		/* separator, name, '=', '"' */
		if (n + 1 + ln + 2 > METRICS_LABELS_MAX)
			return -ENAMETOOLONG;
		if (i)
			out[n++] = ',';
		memcpy(out + n, f->label[i], ln);
		n += ln;
		out[n++] = '=';
		out[n++] = '"';
		for (; *v; v++) {
			const char *esc = NULL;
			if (*v == '\\')
				esc = "\\\\";
			else if (*v == '"')
				esc = "\\\"";
			else if (*v == '\n')
				esc = "\\n";
			size_t k = esc ? 2 : 1;
			if (n + k > METRICS_LABELS_MAX)
				return -ENAMETOOLONG;
			if (esc) {
				out[n++] = esc[0];
				out[n++] = esc[1];
			} else {
				out[n++] = *v;
			}
		}
		if (n + 1 > METRICS_LABELS_MAX)
			return -ENAMETOOLONG;
		out[n++] = '"';
	}
	out[n] = '\0';
	return (int)n;
}

/* Called with the lock held.  Returns the sample index, creating it at 0,
 * or -ENOSPC. */
static int sample_get(struct metrics *m, int fam, const char *labels, size_t len)
{
	uint32_t h = (uint32_t)hash64(labels, len, m->seed + (uint64_t)(fam + 1) * 0x9e3779b97f4a7c15ULL);
	uint32_t i = h & (SAMPLE_SLOTS - 1);
	for (;;) {
		int16_t s = m->sample_slot[i];
		if (s == 0)
			break;
		const struct sample *sp = &m->samples[s - 1];
		if (sp->hash == h && sp->family == fam && strcmp(sp->labels, labels) == 0)
			return s - 1;
		i = (i + 1) & (SAMPLE_SLOTS - 1);
	}
	if (m->nsamples >= METRICS_MAX_SAMPLES)
		return -ENOSPC;
	int idx = (int)m->nsamples;
	struct sample *sp = &m->samples[idx];
	sp->hash = h;
	sp->family = (uint16_t)fam;
	memcpy(sp->labels, labels, len + 1);
	m->vals[idx] = (struct value){ .u = 0 };
	m->sample_slot[i] = (int16_t)(idx + 1);
	m->nsamples++;
	return idx;
}

static void refuse_locked(struct metrics *m)
{
	m->vals[m->refused].u++;
}

/* Called with the lock held.  Returns a sample index or -errno (counted). */
static int lookup_locked(struct metrics *m, const char *name, const char *const *values)
{
	char labels[METRICS_LABELS_MAX + 1];
	int fam = name ? family_find(m, name) : -1;
	int r;
	if (fam < 0) {
		r = -ENOENT;
		goto out_refuse;
	}
	r = labels_format(&m->families[fam], values, labels);
	if (r < 0)
		goto out_refuse;
	r = sample_get(m, fam, labels, (size_t)r);
	if (r < 0)
		goto out_refuse;
	return r;
out_refuse:
	refuse_locked(m);
	return r;
}

static int family_add_locked(struct metrics *m, const char *name, enum metrics_type type,
			     const char *help, const char *const *label_names)
{
	unsigned nl = 0;
	if (!name || !name_valid(name, true) || (type != METRICS_COUNTER && type != METRICS_GAUGE))
		return -EINVAL;
	if (type == METRICS_COUNTER && !ends_with(name, "_total"))
		return -EINVAL;
	if (help && strlen(help) > METRICS_HELP_MAX)
		return -EINVAL;
	for (; label_names && label_names[nl]; nl++) {
		if (nl >= METRICS_MAX_LABELS || !name_valid(label_names[nl], false))
			return -EINVAL;
		for (unsigned j = 0; j < nl; j++)
			if (strcmp(label_names[j], label_names[nl]) == 0)
				return -EINVAL;
	}

	int have = family_find(m, name);
	if (have >= 0) {
		const struct family *f = &m->families[have];
		bool same = f->type == type && f->nlabels == nl;
		for (unsigned j = 0; same && j < nl; j++)
			same = strcmp(f->label[j], label_names[j]) == 0;
		return same ? 0 : -EEXIST;
	}
	if (m->nfamilies >= METRICS_MAX_FAMILIES)
		return -ENOSPC;
	/* An unlabelled family needs a sample slot for its single sample. */
	if (nl == 0 && m->nsamples >= METRICS_MAX_SAMPLES)
		return -ENOSPC;

	int idx = (int)m->nfamilies;
	struct family *f = &m->families[idx];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->help, sizeof(f->help), "%s", help ? help : "");
	f->type = type;
	f->nlabels = nl;
	for (unsigned j = 0; j < nl; j++)
		snprintf(f->label[j], sizeof(f->label[j]), "%s", label_names[j]);

	uint32_t i = hash_str(m, name) & (FAM_SLOTS - 1);
	while (m->fam_slot[i])
		i = (i + 1) & (FAM_SLOTS - 1);
	m->fam_slot[i] = (int16_t)(idx + 1);
	m->nfamilies++;
	if (nl == 0)
		(void)sample_get(m, idx, "", 0);   /* room checked above */
	return 0;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int r;
	if (!m)
		return NULL;
	m->seed = hash_process_seed();
	r = pthread_mutex_init(&m->lock, NULL);
	if (r) {
		free(m);
		errno = r;
		return NULL;
	}
	r = family_add_locked(m, REFUSED_NAME, METRICS_COUNTER,
			      "Metric updates the registry refused (full, unknown family or bad labels).",
			      NULL);
	if (r < 0)
		goto out_free;
	m->refused = 0;
	return m;
out_free:
	pthread_mutex_destroy(&m->lock);
	free(m);
	errno = -r;
	return NULL;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int metrics_family_add(struct metrics *m, const char *name, enum metrics_type type,
		       const char *help, const char *const *label_names)
{
	pthread_mutex_lock(&m->lock);
	int r = family_add_locked(m, name, type, help, label_names);
	pthread_mutex_unlock(&m->lock);
	return r;
}

enum op { OP_SET_U64, OP_ADD_U64, OP_SET_DOUBLE };

static void apply(struct value *v, enum op op, uint64_t u, double d)
{
	switch (op) {
	case OP_SET_U64:
		v->is_double = false;
		v->u = u;
		break;
	case OP_ADD_U64:
		if (v->is_double)
			v->d += (double)u;
		else
			v->u += u;
		break;
	case OP_SET_DOUBLE:
		v->is_double = true;
		v->d = d;
		break;
	}
}

static int update(struct metrics *m, const char *name, const char *const *values,
		  enum op op, uint64_t u, double d)
{
	pthread_mutex_lock(&m->lock);
	int r = lookup_locked(m, name, values);
	if (r >= 0) {
		apply(&m->vals[r], op, u, d);
		r = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

int metrics_set_u64(struct metrics *m, const char *name, const char *const *values, uint64_t v)
{
	return update(m, name, values, OP_SET_U64, v, 0);
}

int metrics_add_u64(struct metrics *m, const char *name, const char *const *values, uint64_t v)
{
	return update(m, name, values, OP_ADD_U64, v, 0);
}

int metrics_set_double(struct metrics *m, const char *name, const char *const *values, double v)
{
	return update(m, name, values, OP_SET_DOUBLE, 0, v);
}

int metrics_sample(struct metrics *m, const char *name, const char *const *values)
{
	pthread_mutex_lock(&m->lock);
	int r = lookup_locked(m, name, values);
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void update_handle(struct metrics *m, int h, enum op op, uint64_t u, double d)
{
	pthread_mutex_lock(&m->lock);
	if (h >= 0 && (unsigned)h < m->nsamples)
		apply(&m->vals[h], op, u, d);
	else
		refuse_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void metrics_sample_set_u64(struct metrics *m, int handle, uint64_t v)
{
	update_handle(m, handle, OP_SET_U64, v, 0);
}

void metrics_sample_add_u64(struct metrics *m, int handle, uint64_t v)
{
	update_handle(m, handle, OP_ADD_U64, v, 0);
}

void metrics_sample_set_double(struct metrics *m, int handle, double v)
{
	update_handle(m, handle, OP_SET_DOUBLE, 0, v);
}

uint64_t metrics_refused(struct metrics *m)
{
	pthread_mutex_lock(&m->lock);
	uint64_t v = m->vals[m->refused].u;
	pthread_mutex_unlock(&m->lock);
	return v;
}

int metrics_build_info(struct metrics *m, const char *version)
{
	static const char *const labels[] = { "version", NULL };
	const char *values[] = { version ? version : "" };
	int r = metrics_family_add(m, "mailtap_build_info", METRICS_GAUGE,
				   "Always 1; the labels describe the running build.", labels);
	if (r < 0)
		return r;
	return metrics_set_u64(m, "mailtap_build_info", values, 1);
}

/* Read-only table: every family the sensor exports (docs/metrics.md). */
static const struct {
	const char *name;
	enum metrics_type type;
	const char *help;
	const char *labels[METRICS_MAX_LABELS + 1];
} mailtap_families[] = {
	{ "mailtap_packets_total", METRICS_COUNTER, "Packets seen by the capture.", { NULL } },
	{ "mailtap_bytes_total", METRICS_COUNTER, "Bytes on the wire of the packets seen.", { NULL } },
	{ "mailtap_drops_total", METRICS_COUNTER,
	  "Packets or records lost, by where they were lost.", { "source", NULL } },
	{ "mailtap_flows_active", METRICS_GAUGE, "Flows in the flow table.", { NULL } },
	{ "mailtap_flows_evicted_total", METRICS_COUNTER,
	  "Flows evicted from the full flow table before they ended.", { NULL } },
	{ "mailtap_sessions_total", METRICS_COUNTER,
	  "Mail sessions recorded, by provider and service.", { "provider", "service", NULL } },
	{ "mailtap_alerts_total", METRICS_COUNTER,
	  "Alerts raised, by kind and severity.", { "kind", "severity", NULL } },
	{ "mailtap_redis_delivered_total", METRICS_COUNTER,
	  "Records acknowledged by Redis, by sink.", { "sink", NULL } },
	{ "mailtap_redis_spooled_total", METRICS_COUNTER,
	  "Records written to the on-disk spool, by sink.", { "sink", NULL } },
	{ "mailtap_redis_dropped_total", METRICS_COUNTER,
	  "Records lost by the Redis output (queue or spool bound), by sink.", { "sink", NULL } },
	{ "mailtap_redis_queue_full_total", METRICS_COUNTER,
	  "Records dropped because the Redis output's memory queue was full (also in dropped), by sink.",
	  { "sink", NULL } },
	{ "mailtap_spool_depth", METRICS_GAUGE,
	  "Records in the spool not delivered yet, by sink.", { "sink", NULL } },
	{ "mailtap_reloads_total", METRICS_COUNTER,
	  "Configuration reloads (SIGHUP), by result.", { "result", NULL } },
	{ "mailtap_start_time_seconds", METRICS_GAUGE,
	  "Start time of the sensor since the Unix epoch, in seconds.", { NULL } },
	{ "mailtap_build_info", METRICS_GAUGE,
	  "Always 1; the labels describe the running build.", { "version", NULL } },
};

int metrics_add_mailtap_families(struct metrics *m)
{
	for (size_t i = 0; i < sizeof(mailtap_families) / sizeof(mailtap_families[0]); i++) {
		int r = metrics_family_add(m, mailtap_families[i].name, mailtap_families[i].type,
					   mailtap_families[i].help, mailtap_families[i].labels);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- rendering ---------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_reserve(struct buf *b, size_t n)
{
	if (b->oom || b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* HELP text escapes backslash and newline only. */
static void buf_help(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			buf_add(b, "\\n", 2);
		else
			buf_add(b, s, 1);
	}
}

/* Shortest text that reads back as the same double; NaN and +-Inf spelt as
 * Prometheus expects. */
static void format_double(char *out, size_t n, double d)
{
	if (isnan(d)) {
		snprintf(out, n, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, n, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static int cmp_family(const void *a, const void *b, void *ctx)
{
	const struct metrics *m = ctx;
	return strcmp(m->families[*(const int *)a].name, m->families[*(const int *)b].name);
}

static int cmp_sample(const void *a, const void *b, void *ctx)
{
	const struct metrics *m = ctx;
	const struct sample *x = &m->samples[*(const int *)a];
	const struct sample *y = &m->samples[*(const int *)b];
	int c = strcmp(m->families[x->family].name, m->families[y->family].name);
	return c ? c : strcmp(x->labels, y->labels);
}

char *metrics_render(struct metrics *m, size_t *len)
{
	struct value vals[METRICS_MAX_SAMPLES];
	int order[METRICS_MAX_SAMPLES];
	int ford[METRICS_MAX_FAMILIES];
	unsigned nf, ns;
	struct buf b = { 0 };

	/* Copy under the lock; metadata below index ns / nf is immutable. */
	pthread_mutex_lock(&m->lock);
	nf = m->nfamilies;
	ns = m->nsamples;
	memcpy(vals, m->vals, ns * sizeof(vals[0]));
	pthread_mutex_unlock(&m->lock);

	for (unsigned i = 0; i < ns; i++)
		order[i] = (int)i;
	for (unsigned i = 0; i < nf; i++)
		ford[i] = (int)i;
	qsort_r(order, ns, sizeof(order[0]), cmp_sample, m);
	qsort_r(ford, nf, sizeof(ford[0]), cmp_family, m);

	buf_reserve(&b, 0);
	/* Samples are sorted by family name first, so one pass over families
	 * in name order consumes them in order. */
	unsigned si = 0;
	for (unsigned k = 0; k < nf; k++) {
		const struct family *f = &m->families[ford[k]];
		if (si >= ns || m->samples[order[si]].family != ford[k])
			continue;   /* labelled family without samples yet */
		buf_str(&b, "# HELP ");
		buf_str(&b, f->name);
		buf_str(&b, " ");
		buf_help(&b, f->help);
		buf_str(&b, "\n# TYPE ");
		buf_str(&b, f->name);
		buf_str(&b, f->type == METRICS_COUNTER ? " counter\n" : " gauge\n");
		for (; si < ns && m->samples[order[si]].family == ford[k]; si++) {
			const struct sample *s = &m->samples[order[si]];
			const struct value *v = &vals[order[si]];
			char num[40];
			buf_str(&b, f->name);
			if (s->labels[0]) {
				buf_str(&b, "{");
				buf_str(&b, s->labels);
				buf_str(&b, "}");
			}
			if (v->is_double)
				format_double(num, sizeof(num), v->d);
			else
				snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
			buf_str(&b, " ");
			buf_str(&b, num);
			buf_str(&b, "\n");
		}
	}
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

/* ---- HTTP endpoint ------------------------------------------------------ */

struct metrics_server {
	struct metrics *m;
	struct MHD_Daemon *daemon;
	int fd;
	uint16_t port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *text, const char *allow)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result serve_request(void *cls, struct MHD_Connection *conn, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **con_cls)
{
	struct metrics_server *s = cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	if (!get && !head)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n", NULL);

	size_t len;
	char *text = metrics_render(s->m, &len);
	if (!text)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct metrics_server *metrics_server_start(struct metrics *m, const char *bind_addr,
					    uint16_t port, char *err, size_t errlen)
{
	/* a name (localhost) is resolved; the first address is bound */
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[8];
	int one = 1, e, gai;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	struct metrics_server *s;

	if (!bind_addr || !*bind_addr)
		bind_addr = METRICS_DEFAULT_BIND;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	/* Shown as host:port, IPv6 in brackets. */
	const char *lb = strchr(bind_addr, ':') ? "[" : "", *rb = *lb ? "]" : "";

	s = calloc(1, sizeof(*s));
	if (!s) {
		e = errno;
		set_err(err, errlen, "cannot start metrics endpoint: %s", strerror(e));
		errno = e;
		return NULL;
	}
	s->m = m;
	s->fd = -1;

	gai = getaddrinfo(bind_addr, portstr, &hints, &ai);
	if (gai) {
		set_err(err, errlen, "bad metrics bind address '%s': %s", bind_addr,
			gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		e = EINVAL;
		goto out_free;
	}
	s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot create metrics socket for %s: %s", bind_addr,
			strerror(e));
		goto out_freeaddr;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) {
		/* "::" then means IPv6 only, as the address says. */
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		flags |= MHD_USE_IPv6;
	}
	if (bind(s->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s->fd, 16) < 0) {
		e = errno;
		set_err(err, errlen, "cannot bind metrics endpoint to %s%s%s:%u: %s",
			lb, bind_addr, rb, (unsigned)port, strerror(e));
		goto out_close;
	}
	if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) < 0) {
		e = errno;
		set_err(err, errlen, "cannot read metrics socket address: %s", strerror(e));
		goto out_close;
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);

	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, serve_request, s,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVER_CONN_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVER_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!s->daemon) {
		e = errno ? errno : EIO;
		set_err(err, errlen, "cannot start metrics endpoint on %s%s%s:%u: libmicrohttpd failed",
			lb, bind_addr, rb, (unsigned)s->port);
		goto out_close;
	}
	freeaddrinfo(ai);
	return s;

out_close:
	close(s->fd);
out_freeaddr:
	freeaddrinfo(ai);
out_free:
	free(s);
	errno = e;
	return NULL;
}

uint16_t metrics_server_port(const struct metrics_server *s)
{
	return s->port;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	/* MHD_stop_daemon closes the listen socket it was given. */
	MHD_stop_daemon(s->daemon);
	free(s);
}
