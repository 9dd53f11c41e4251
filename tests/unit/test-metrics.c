/* SPDX-License-Identifier: MIT */
/* test-metrics.c -- the metric registry and its Prometheus endpoint: exact
 * rendering, label and help escaping, sorting, naming rules, bounded
 * capacity, handles, doubles, and a live server on 127.0.0.1 (200, 404, 405,
 * HEAD, bind errors, scrapes racing with updates). */
#include "metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

#define REFUSED_HEAD                                                            \
	"# HELP mailtap_metrics_refused_total Metric updates the registry refused " \
	"(full, unknown family or bad labels).\n"                               \
	"# TYPE mailtap_metrics_refused_total counter\n"

static const char *const no_labels[] = { NULL };

static char *render(struct metrics *m)
{
	size_t len = 0;
	char *s = metrics_render(m, &len);
	CHECK(s != NULL);
	if (s)
		CHECK_EQ_U(strlen(s), len);
	return s;
}

static void test_metrics__render_exact(void)
{
	struct metrics *m = metrics_new();
	static const char *const ps[] = { "provider", "service", NULL };
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_EQ_I(metrics_family_add(m, "mailtap_sessions_total", METRICS_COUNTER,
				      "Mail sessions recorded.", ps), 0);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_flows_active", METRICS_GAUGE,
				      "Flows in the table.", NULL), 0);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_packets_total", METRICS_COUNTER,
				      "Packets seen.", no_labels), 0);
	/* Inserted out of order: output is sorted by label text. */
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_sessions_total",
				   (const char *[]){ "microsoft365", "web" }, 3), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_sessions_total",
				   (const char *[]){ "google", "imap" }, 1), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_sessions_total",
				   (const char *[]){ "microsoft365", "web" }, 2), 0);
	CHECK_EQ_I(metrics_set_u64(m, "mailtap_flows_active", NULL, 42), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_packets_total", NULL, 18446744073709551615ull), 0);

	char *s = render(m);
	CHECK_STREQ(s,
		"# HELP mailtap_flows_active Flows in the table.\n"
		"# TYPE mailtap_flows_active gauge\n"
		"mailtap_flows_active 42\n"
		REFUSED_HEAD
		"mailtap_metrics_refused_total 0\n"
		"# HELP mailtap_packets_total Packets seen.\n"
		"# TYPE mailtap_packets_total counter\n"
		"mailtap_packets_total 18446744073709551615\n"
		"# HELP mailtap_sessions_total Mail sessions recorded.\n"
		"# TYPE mailtap_sessions_total counter\n"
		"mailtap_sessions_total{provider=\"google\",service=\"imap\"} 1\n"
		"mailtap_sessions_total{provider=\"microsoft365\",service=\"web\"} 5\n");
	free(s);
	metrics_free(m);
}

static void test_metrics__empty_labelled_family_hidden(void)
{
	struct metrics *m = metrics_new();
	static const char *const k[] = { "kind", NULL };
	CHECK_EQ_I(metrics_family_add(m, "a_total", METRICS_COUNTER, "A.", k), 0);
	char *s = render(m);
	CHECK_STREQ(s, REFUSED_HEAD "mailtap_metrics_refused_total 0\n");
	free(s);
	metrics_free(m);
}

static void test_metrics__escaping(void)
{
	struct metrics *m = metrics_new();
	static const char *const k[] = { "k", NULL };
	CHECK_EQ_I(metrics_family_add(m, "esc", METRICS_GAUGE,
				      "back\\slash, \"quotes\" stay,\nnew line", k), 0);
	CHECK_EQ_I(metrics_set_u64(m, "esc", (const char *[]){ "a\\b\"c\nd" }, 1), 0);
	CHECK_EQ_I(metrics_set_u64(m, "esc", (const char *[]){ "" }, 2), 0);
	CHECK_EQ_I(metrics_set_u64(m, "esc", (const char *[]){ "\xc3\xa9t\xc3\xa9" }, 3), 0);
	char *s = render(m);
	CHECK_STREQ(s,
		"# HELP esc back\\\\slash, \"quotes\" stay,\\nnew line\n"
		"# TYPE esc gauge\n"
		"esc{k=\"\"} 2\n"
		"esc{k=\"a\\\\b\\\"c\\nd\"} 1\n"
		"esc{k=\"\xc3\xa9t\xc3\xa9\"} 3\n"
		REFUSED_HEAD "mailtap_metrics_refused_total 0\n");
	free(s);
	metrics_free(m);
}

static void test_metrics__sorting(void)
{
	struct metrics *m = metrics_new();
	const char *names[] = { "zz", "b_total", "a_b", "a", "m:x" };
	for (size_t i = 0; i < 5; i++)
		CHECK_EQ_I(metrics_family_add(m, names[i],
					      strstr(names[i], "_total") ? METRICS_COUNTER : METRICS_GAUGE,
					      "h", NULL), 0);
	char *s = render(m);
	const char *order[] = { "\na ", "\na_b ", "\nb_total ", "\nm:x ",
				"\nmailtap_metrics_refused_total ", "\nzz " };
	const char *prev = s;
	for (size_t i = 0; s && i < 6; i++) {
		const char *p = strstr(s, order[i]);
		CHECK(p != NULL && p >= prev);
		if (p)
			prev = p;
	}
	/* Two renders are byte-identical. */
	char *t = render(m);
	CHECK_STREQ(s, t);
	free(s);
	free(t);
	metrics_free(m);
}

static void test_metrics__naming_rules(void)
{
	struct metrics *m = metrics_new();
	static const char *const ok[] = { "source", NULL };
	static const char *const other[] = { "sink", NULL };
	static const char *const reserved[] = { "__name", NULL };
	static const char *const digit[] = { "1x", NULL };
	static const char *const dup[] = { "a", "a", NULL };
	static const char *const five[] = { "a", "b", "c", "d", "e", NULL };
	static const char *const colon[] = { "a:b", NULL };
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops", METRICS_COUNTER, "x", ok), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops_total", METRICS_COUNTER, "x", ok), 0);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops_total", METRICS_COUNTER, "y", ok), 0);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops_total", METRICS_COUNTER, "x", other), -EEXIST);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops_total", METRICS_GAUGE, "x", ok), -EEXIST);
	CHECK_EQ_I(metrics_family_add(m, "mailtap_drops_total", METRICS_COUNTER, "x", NULL), -EEXIST);
	CHECK_EQ_I(metrics_family_add(m, "1abc", METRICS_GAUGE, "x", NULL), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "a-b", METRICS_GAUGE, "x", NULL), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "", METRICS_GAUGE, "x", NULL), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, NULL, METRICS_GAUGE, "x", NULL), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", reserved), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", digit), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", dup), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", five), -EINVAL);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", colon), -EINVAL);
	char longname[METRICS_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ_I(metrics_family_add(m, longname, METRICS_GAUGE, "x", NULL), -EINVAL);
	longname[METRICS_NAME_MAX] = '\0';
	CHECK_EQ_I(metrics_family_add(m, longname, METRICS_GAUGE, "x", NULL), 0);
	/* Registration errors are not sample updates: nothing counted. */
	CHECK_EQ_U(metrics_refused(m), 0);
	metrics_free(m);
}

static void test_metrics__update_errors_counted(void)
{
	struct metrics *m = metrics_new();
	static const char *const two[] = { "kind", "severity", NULL };
	CHECK_EQ_I(metrics_family_add(m, "al_total", METRICS_COUNTER, "x", two), 0);
	CHECK_EQ_I(metrics_add_u64(m, "nope_total", NULL, 1), -ENOENT);
	CHECK_EQ_I(metrics_add_u64(m, "al_total", NULL, 1), -EINVAL);
	CHECK_EQ_I(metrics_add_u64(m, "al_total", (const char *[]){ "a", NULL }, 1), -EINVAL);
	char big[METRICS_LABELS_MAX + 1];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_I(metrics_add_u64(m, "al_total", (const char *[]){ big, "low" }, 1), -ENAMETOOLONG);
	/* Escaping doubles a quote: 120 quotes need 240 bytes plus names. */
	char quotes[121];
	memset(quotes, '"', 120);
	quotes[120] = '\0';
	CHECK_EQ_I(metrics_add_u64(m, "al_total", (const char *[]){ quotes, "x" }, 1), -ENAMETOOLONG);
	CHECK_EQ_U(metrics_refused(m), 5);
	char *s = render(m);
	CHECK(s && strstr(s, "\nmailtap_metrics_refused_total 5\n"));
	CHECK(s && !strstr(s, "al_total{"));
	free(s);
	metrics_free(m);
}

/* Label text that just fits is accepted; one byte more is refused. */
static void test_metrics__label_text_boundary(void)
{
	struct metrics *m = metrics_new();
	static const char *const k[] = { "k", NULL };
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", k), 0);
	char v[METRICS_LABELS_MAX];
	size_t fit = METRICS_LABELS_MAX - 4;   /* k="...": 4 bytes of syntax */
	memset(v, 'v', fit);
	v[fit] = '\0';
	CHECK_EQ_I(metrics_set_u64(m, "g", (const char *[]){ v }, 1), 0);
	v[fit] = 'v';
	v[fit + 1] = '\0';
	CHECK_EQ_I(metrics_set_u64(m, "g", (const char *[]){ v }, 1), -ENAMETOOLONG);
	metrics_free(m);
}

static void test_metrics__capacity(void)
{
	struct metrics *m = metrics_new();
	static const char *const k[] = { "n", NULL };
	char v[16];
	int fails = 0;
	CHECK_EQ_I(metrics_family_add(m, "many", METRICS_GAUGE, "x", k), 0);
	/* The refused counter already holds one sample. */
	for (int i = 0; i < METRICS_MAX_SAMPLES - 1; i++) {
		snprintf(v, sizeof(v), "%d", i);
		if (metrics_set_u64(m, "many", (const char *[]){ v }, (uint64_t)i) != 0)
			fails++;
	}
	CHECK_EQ_I(fails, 0);
	CHECK_EQ_I(metrics_set_u64(m, "many", (const char *[]){ "one more" }, 1), -ENOSPC);
	CHECK_EQ_I(metrics_sample(m, "many", (const char *[]){ "and another" }), -ENOSPC);
	/* Existing samples still update. */
	CHECK_EQ_I(metrics_set_u64(m, "many", (const char *[]){ "7" }, 70), 0);
	/* An unlabelled family needs a sample: refused too. */
	CHECK_EQ_I(metrics_family_add(m, "late", METRICS_GAUGE, "x", NULL), -ENOSPC);
	CHECK_EQ_U(metrics_refused(m), 2);
	char *s = render(m);
	CHECK(s && strstr(s, "\nmany{n=\"7\"} 70\n"));
	CHECK(s && strstr(s, "\nmany{n=\"510\"} 510\n"));
	CHECK(s && strstr(s, "\nmailtap_metrics_refused_total 2\n"));
	CHECK(s && !strstr(s, "one more"));
	free(s);
	metrics_free(m);

	/* Family capacity. */
	m = metrics_new();
	char name[32];
	fails = 0;
	for (int i = 0; i < METRICS_MAX_FAMILIES - 1; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		if (metrics_family_add(m, name, METRICS_GAUGE, "x", k) != 0)
			fails++;
	}
	CHECK_EQ_I(fails, 0);
	CHECK_EQ_I(metrics_family_add(m, "f_last", METRICS_GAUGE, "x", k), -ENOSPC);
	CHECK_EQ_I(metrics_family_add(m, "f3", METRICS_GAUGE, "x", k), 0);   /* identical */
	CHECK_EQ_I(metrics_set_u64(m, "f62", (const char *[]){ "a" }, 1), 0);
	metrics_free(m);
}

static void test_metrics__handles_and_doubles(void)
{
	struct metrics *m = metrics_new();
	static const char *const k[] = { "source", NULL };
	CHECK_EQ_I(metrics_family_add(m, "d_total", METRICS_COUNTER, "x", k), 0);
	CHECK_EQ_I(metrics_family_add(m, "g", METRICS_GAUGE, "x", k), 0);
	int h = metrics_sample(m, "d_total", (const char *[]){ "pcap" });
	CHECK(h >= 0);
	CHECK_EQ_I(metrics_sample(m, "d_total", (const char *[]){ "pcap" }), h);
	int h2 = metrics_sample(m, "d_total", (const char *[]){ "ringbuf" });
	CHECK(h2 >= 0 && h2 != h);
	metrics_sample_add_u64(m, h, 5);
	metrics_sample_add_u64(m, h, 6);
	metrics_sample_set_u64(m, h2, 9);
	metrics_sample_add_u64(m, -1, 1);
	metrics_sample_add_u64(m, METRICS_MAX_SAMPLES, 1);
	CHECK_EQ_U(metrics_refused(m), 2);

	int a = metrics_sample(m, "g", (const char *[]){ "a" });
	int b = metrics_sample(m, "g", (const char *[]){ "b" });
	int c = metrics_sample(m, "g", (const char *[]){ "c" });
	int d = metrics_sample(m, "g", (const char *[]){ "d" });
	int e = metrics_sample(m, "g", (const char *[]){ "e" });
	metrics_sample_set_double(m, a, 0.1);
	metrics_sample_set_double(m, b, 1e-9);
	metrics_sample_set_double(m, c, NAN);
	metrics_sample_set_double(m, d, -INFINITY);
	metrics_sample_set_double(m, e, 2.5);
	metrics_sample_add_u64(m, e, 2);     /* add on a double stays double */
	CHECK_EQ_I(metrics_set_double(m, "g", (const char *[]){ "f" }, INFINITY), 0);
	char *s = render(m);
	CHECK(s && strstr(s,
		"# TYPE d_total counter\n"
		"d_total{source=\"pcap\"} 11\n"
		"d_total{source=\"ringbuf\"} 9\n"));
	CHECK(s && strstr(s,
		"# TYPE g gauge\n"
		"g{source=\"a\"} 0.1\n"
		"g{source=\"b\"} 1e-09\n"
		"g{source=\"c\"} NaN\n"
		"g{source=\"d\"} -Inf\n"
		"g{source=\"e\"} 4.5\n"
		"g{source=\"f\"} +Inf\n"));
	free(s);
	/* set_u64 turns a double sample back into an integer one. */
	metrics_sample_set_u64(m, e, 3);
	s = render(m);
	CHECK(s && strstr(s, "g{source=\"e\"} 3\n"));
	free(s);
	metrics_free(m);
}

static void test_metrics__build_info_and_sensor_families(void)
{
	struct metrics *m = metrics_new();
	CHECK_EQ_I(metrics_add_mailtap_families(m), 0);
	CHECK_EQ_I(metrics_add_mailtap_families(m), 0);   /* idempotent */
	CHECK_EQ_I(metrics_build_info(m, "0.1.0 \"dev\""), 0);
	char *s = render(m);
	CHECK(s && strstr(s,
		"# HELP mailtap_build_info Always 1; the labels describe the running build.\n"
		"# TYPE mailtap_build_info gauge\n"
		"mailtap_build_info{version=\"0.1.0 \\\"dev\\\"\"} 1\n"));
	const char *unlabelled[] = { "mailtap_packets_total 0\n", "mailtap_bytes_total 0\n",
				     "mailtap_flows_active 0\n", "mailtap_flows_evicted_total 0\n",
				     "mailtap_start_time_seconds 0\n" };
	for (size_t i = 0; i < sizeof(unlabelled) / sizeof(unlabelled[0]); i++)
		CHECK(s && strstr(s, unlabelled[i]));
	free(s);
	/* Every labelled family takes its documented labels. */
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_drops_total", (const char *[]){ "pcap" }, 1), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_sessions_total",
				   (const char *[]){ "google", "imap" }, 1), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_alerts_total",
				   (const char *[]){ "bulk_download", "critical" }, 1), 0);
	CHECK_EQ_I(metrics_set_u64(m, "mailtap_redis_delivered_total", (const char *[]){ "sessions" }, 1), 0);
	CHECK_EQ_I(metrics_set_u64(m, "mailtap_redis_spooled_total", (const char *[]){ "sessions" }, 1), 0);
	CHECK_EQ_I(metrics_set_u64(m, "mailtap_redis_dropped_total", (const char *[]){ "alerts" }, 1), 0);
	CHECK_EQ_I(metrics_set_u64(m, "mailtap_spool_depth", (const char *[]){ "alerts" }, 1), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_reloads_total", (const char *[]){ "ok" }, 1), 0);
	CHECK_EQ_U(metrics_refused(m), 0);
	metrics_free(m);
	metrics_free(NULL);
	metrics_server_stop(NULL);
}

/* ---- live server -------------------------------------------------------- */

struct http_reply {
	int status;
	char content_type[128];
	char *body;       /* malloc'd */
	size_t body_len;
};

/* A plain HTTP/1.0 client: one request, read to EOF.  Returns 0 or -1. */
static int http_request(uint16_t port, const char *method, const char *path,
			struct http_reply *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	char req[256];
	size_t cap = 65536, len = 0;
	char *buf = NULL;
	int fd = -1;

	memset(out, 0, sizeof(*out));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto fail;
	buf = malloc(cap + 1);
	if (!buf)
		goto fail;
	for (;;) {
		if (len == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (!p)
				goto fail;
			buf = p;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	fd = -1;

	char *hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
		goto fail;
	*hdr_end = '\0';
	for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Content-Type:", 13) == 0) {
			const char *v = line + 2 + 13;
			while (*v == ' ')
				v++;
			size_t vl = strcspn(v, "\r");
			snprintf(out->content_type, sizeof(out->content_type), "%.*s", (int)vl, v);
		}
	}
	out->body_len = len - (size_t)(hdr_end + 4 - buf);
	out->body = malloc(out->body_len + 1);
	if (!out->body)
		goto fail;
	memcpy(out->body, hdr_end + 4, out->body_len);
	out->body[out->body_len] = '\0';
	free(buf);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct metrics_server *start_local(struct metrics *m, uint16_t port)
{
	char err[256] = "";
	struct metrics_server *s = metrics_server_start(m, NULL, port, err, sizeof(err));
	if (!s)
		fprintf(stderr, "  metrics_server_start: %s\n", err);
	return s;
}

static void test_metrics__server_serves_metrics(void)
{
	struct metrics *m = metrics_new();
	int fds = count_fds();
	CHECK_EQ_I(metrics_add_mailtap_families(m), 0);
	CHECK_EQ_I(metrics_build_info(m, "9.9.9"), 0);
	CHECK_EQ_I(metrics_add_u64(m, "mailtap_packets_total", NULL, 1234), 0);
	struct metrics_server *s = start_local(m, 0);
	CHECK(s != NULL);
	if (!s) {
		metrics_free(m);
		return;
	}
	CHECK(metrics_server_port(s) != 0);

	struct http_reply r;
	CHECK_EQ_I(http_request(metrics_server_port(s), "GET", "/metrics", &r), 0);
	CHECK_EQ_I(r.status, 200);
	CHECK_STREQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	char *want = render(m);
	CHECK_STREQ(r.body, want);
	CHECK(r.body && strstr(r.body, "\nmailtap_packets_total 1234\n"));
	CHECK(r.body && strstr(r.body, "mailtap_build_info{version=\"9.9.9\"} 1\n"));
	free(want);
	free(r.body);

	CHECK_EQ_I(http_request(metrics_server_port(s), "GET", "/metrics?x=1", &r), 0);
	CHECK_EQ_I(r.status, 200);
	free(r.body);

	CHECK_EQ_I(http_request(metrics_server_port(s), "HEAD", "/metrics", &r), 0);
	CHECK_EQ_I(r.status, 200);
	CHECK_EQ_U(r.body_len, 0);
	free(r.body);

	const char *paths404[] = { "/", "/metrics/", "/metricsx", "/favicon.ico" };
	for (size_t i = 0; i < 4; i++) {
		CHECK_EQ_I(http_request(metrics_server_port(s), "GET", paths404[i], &r), 0);
		CHECK_EQ_I(r.status, 404);
		free(r.body);
	}
	const char *methods405[] = { "POST", "PUT", "DELETE" };
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_I(http_request(metrics_server_port(s), methods405[i], "/metrics", &r), 0);
		CHECK_EQ_I(r.status, 405);
		free(r.body);
	}

	uint16_t port = metrics_server_port(s);
	metrics_server_stop(s);
	/* The listening socket is closed: no descriptor left, connecting fails. */
	CHECK_EQ_I(count_fds(), fds);
	CHECK(http_request(port, "GET", "/metrics", &r) != 0);
	metrics_free(m);
}

static void test_metrics__server_bind_errors(void)
{
	struct metrics *m = metrics_new();
	char err[256] = "";
	struct metrics_server *s = start_local(m, 0);
	CHECK(s != NULL);
	if (!s) {
		metrics_free(m);
		return;
	}
	uint16_t port = metrics_server_port(s);

	errno = 0;
	struct metrics_server *s2 = metrics_server_start(m, "127.0.0.1", port, err, sizeof(err));
	CHECK(s2 == NULL);
	CHECK_EQ_I(errno, EADDRINUSE);
	char want[128];
	snprintf(want, sizeof(want), "cannot bind metrics endpoint to 127.0.0.1:%u: %s",
		 (unsigned)port, strerror(EADDRINUSE));
	CHECK_STREQ(err, want);
	metrics_server_stop(s2);

	/* a name is resolved (docs/metrics.md: --metrics localhost:9187) */
	err[0] = '\0';
	s2 = metrics_server_start(m, "localhost", 0, err, sizeof(err));
	CHECK(s2 != NULL);
	if (!s2)
		fprintf(stderr, "  localhost: %s\n", err);
	metrics_server_stop(s2);

	const char *bad[] = { "999.0.0.1", "127.0.0.1:80", "not an address" };
	for (size_t i = 0; i < 3; i++) {
		err[0] = '\0';
		errno = 0;
		s2 = metrics_server_start(m, bad[i], 0, err, sizeof(err));
		CHECK(s2 == NULL);
		CHECK_EQ_I(errno, EINVAL);
		CHECK(strncmp(err, "bad metrics bind address '", 26) == 0);
		metrics_server_stop(s2);
	}
	/* An address this host does not have. */
	err[0] = '\0';
	s2 = metrics_server_start(m, "192.0.2.1", 0, err, sizeof(err));
	CHECK(s2 == NULL);
	CHECK_EQ_I(errno, EADDRNOTAVAIL);
	CHECK(strstr(err, "cannot bind metrics endpoint to 192.0.2.1:0: ") == err);
	metrics_server_stop(s2);

	metrics_server_stop(s);
	metrics_free(m);
}

struct writer {
	struct metrics *m;
	volatile int stop;   /* written by the main thread; read under no lock */
	uint64_t rounds;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int pk = metrics_sample(w->m, "mailtap_packets_total", NULL);
	char v[16];
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		metrics_sample_add_u64(w->m, pk, 1);
		metrics_add_u64(w->m, "mailtap_bytes_total", NULL, 1500);
		metrics_set_u64(w->m, "mailtap_flows_active", NULL, w->rounds % 1000);
		/* New samples keep appearing while scrapes run. */
		snprintf(v, sizeof(v), "p%u", (unsigned)(w->rounds % 300));
		metrics_add_u64(w->m, "mailtap_sessions_total", (const char *[]){ v, "web" }, 1);
		w->rounds++;
	}
	return NULL;
}

static uint64_t value_of(const char *body, const char *line_prefix)
{
	const char *p = body ? strstr(body, line_prefix) : NULL;
	return p ? strtoull(p + strlen(line_prefix), NULL, 10) : 0;
}

static void test_metrics__server_concurrent_updates(void)
{
	struct metrics *m = metrics_new();
	CHECK_EQ_I(metrics_add_mailtap_families(m), 0);
	struct metrics_server *s = start_local(m, 0);
	CHECK(s != NULL);
	if (!s) {
		metrics_free(m);
		return;
	}
	struct writer w = { .m = m };
	pthread_t th;
	CHECK_EQ_I(pthread_create(&th, NULL, writer_main, &w), 0);
	uint64_t last = 0;
	int bad = 0, nonmono = 0;
	for (int i = 0; i < 60; i++) {
		struct http_reply r;
		if (http_request(metrics_server_port(s), "GET", "/metrics", &r) != 0 || r.status != 200) {
			bad++;
			continue;
		}
		/* Every body is whole: ends in a newline, packets and bytes agree. */
		if (r.body_len == 0 || r.body[r.body_len - 1] != '\n')
			bad++;
		uint64_t pk = value_of(r.body, "\nmailtap_packets_total ");
		if (pk < last)
			nonmono++;
		last = pk;
		free(r.body);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK_EQ_I(bad, 0);
	CHECK_EQ_I(nonmono, 0);
	CHECK(w.rounds > 0);
	metrics_server_stop(s);
	CHECK_EQ_U(metrics_refused(m), 0);
	metrics_free(m);
}

int main(void)
{
	RUN(test_metrics__render_exact);
	RUN(test_metrics__empty_labelled_family_hidden);
	RUN(test_metrics__escaping);
	RUN(test_metrics__sorting);
	RUN(test_metrics__naming_rules);
	RUN(test_metrics__update_errors_counted);
	RUN(test_metrics__label_text_boundary);
	RUN(test_metrics__capacity);
	RUN(test_metrics__handles_and_doubles);
	RUN(test_metrics__build_info_and_sensor_families);
	RUN(test_metrics__server_serves_metrics);
	RUN(test_metrics__server_bind_errors);
	RUN(test_metrics__server_concurrent_updates);
	return CHECK_DONE();
}
