/* SPDX-License-Identifier: MIT */
/*
 * score-state.c -- the scoring engine's baselines to and from a JSON file
 * (--state): pairs with their hourly history and 24 h levels, beacon
 * streams with their connections and last analysis, peer levels, novelty
 * first sightings and prevalence counts.  Written atomically (util-file);
 * a file that does not load leaves the engine as it was.  See score.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "score-internal.h"
#include "util-file.h"

/* ------------------------------------------------------------------- state */

#define STATE_VERSION 2          /* 1: before beacon streams and 24 h levels */

static json_t *addr_json(const struct net_addr *a)
{
	char buf[NET_ADDR_STRLEN];
	return json_string(net_addr_format(a, buf, sizeof(buf)));
}

static json_t *floats_json(const float *v, unsigned n, unsigned head, unsigned cap)
{
	json_t *arr = json_array();
	for (unsigned k = 0; k < n; k++)
		json_array_append_new(arr, json_real(v[(head + cap - n + k) % cap]));
	return arr;
}

struct save_ctx {
	json_t *arr;
	int kind;
};

static int save_pair(const void *key, void *value, void *arg)
{
	const struct pair_key *k = key;
	const struct pair *p = value;
	json_t *o = json_object();
	json_object_set_new(o, "host", addr_json(&k->host));
	json_object_set_new(o, "provider", json_string(k->provider));
	json_object_set_new(o, "service", json_string(k->service));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)p->first_ns));
	json_object_set_new(o, "last_ns", json_integer((json_int_t)p->last_ns));
	json_object_set_new(o, "cur_hour", json_integer((json_int_t)p->cur_hour));
	json_object_set_new(o, "hour_down", json_integer((json_int_t)p->hour_down));
	json_object_set_new(o, "hour_up", json_integer((json_int_t)p->hour_up));
	json_object_set_new(o, "hist_down", floats_json(p->hist_down, p->hist_n, p->hist_head, SCORE_HISTORY_HOURS));
	json_object_set_new(o, "hist_up", floats_json(p->hist_up, p->hist_n, p->hist_head, SCORE_HISTORY_HOURS));
	json_object_set_new(o, "day_max_down", json_integer((json_int_t)p->day_max_down));
	json_object_set_new(o, "day_max_up", json_integer((json_int_t)p->day_max_up));
	json_object_set_new(o, "cum_down", json_integer((json_int_t)p->cum_down));
	json_object_set_new(o, "cum_up", json_integer((json_int_t)p->cum_up));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static json_t *u32s_json(const uint32_t *v, unsigned n, unsigned head, unsigned cap)
{
	json_t *arr = json_array();
	for (unsigned k = 0; k < n; k++)
		json_array_append_new(arr, json_integer(v[(head + cap - n + k) % cap]));
	return arr;
}

#define BEACON_FIELDS(X) X(rita) X(ts_score) X(ds_score) X(hist_score) X(madr) X(skew) \
	X(interval) X(covered_h) X(size_med) X(regularity) X(persistence) X(size_factor) X(base)

static json_t *beacon_json(const struct beacon_eval *b)
{
	json_t *o = json_object();
#define X(f) json_object_set_new(o, #f, json_real(b->f));
	BEACON_FIELDS(X)
#undef X
	json_object_set_new(o, "conns", json_integer(b->conns));
	return o;
}

static bool beacon_load(json_t *o, struct beacon_eval *b)
{
	json_t *v;
	if (!json_is_object(o))
		return false;
#define X(f) if (!json_is_number(v = json_object_get(o, #f))) return false; b->f = json_number_value(v);
	BEACON_FIELDS(X)
#undef X
	v = json_object_get(o, "conns");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SCORE_BEACON_MAX)
		return false;
	b->conns = (uint32_t)json_integer_value(v);
	return true;
}

static int save_stream(const void *key, void *value, void *arg)
{
	const struct stream_key *k = key;
	const struct stream *st = value;
	json_t *o = json_object(), *hc = json_array();
	json_object_set_new(o, "host", addr_json(&k->pk.host));
	json_object_set_new(o, "provider", json_string(k->pk.provider));
	json_object_set_new(o, "service", json_string(k->pk.service));
	json_object_set_new(o, "ja4", json_string(k->ja4));
	json_object_set_new(o, "conn_ts", u32s_json(st->conn_ts, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	json_object_set_new(o, "conn_up", u32s_json(st->conn_up, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	json_object_set_new(o, "conn_tot", u32s_json(st->conn_tot, st->conn_n, st->conn_head, SCORE_BEACON_MAX));
	for (unsigned h = 0; h < SCORE_DAY_HOURS; h++)
		json_array_append_new(hc, json_integer(st->hour_conns[h]));
	json_object_set_new(o, "hour_conns", hc);
	json_object_set_new(o, "hour_cur", json_integer((json_int_t)st->hour_cur));
	json_object_set_new(o, "regular_since_ns", json_integer((json_int_t)st->regular_since_ns));
	json_object_set_new(o, "since_analysis", json_integer(st->since_analysis));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)st->first_ns));
	json_object_set_new(o, "late", json_boolean(st->late));
	json_object_set_new(o, "analysed_ns", json_integer((json_int_t)st->analysed_ns));
	json_object_set_new(o, "analysis", beacon_json(&st->b));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static int save_peer(const void *key, void *value, void *arg)
{
	const struct peer_key *k = key;
	const struct peer *p = value;
	json_t *o = json_object(), *hosts = json_array();
	json_object_set_new(o, "provider", json_string(k->provider));
	json_object_set_new(o, "service", json_string(k->service));
	for (uint32_t i = 0; i < p->n; i++) {
		json_t *h = json_array();
		char hex[24];
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)p->host[i]);
		json_array_append_new(h, json_string(hex));
		json_array_append_new(h, json_real(p->down[i]));
		json_array_append_new(h, json_real(p->up[i]));
		json_array_append_new(h, json_real(p->day_down[i]));
		json_array_append_new(h, json_real(p->day_up[i]));
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "prov_hosts", json_integer(p->prov_hosts));
	json_object_set_new(o, "recalc_total", json_integer(p->recalc_total));
	json_object_set_new(o, "q_down", json_real(p->q_down));
	json_object_set_new(o, "q_up", json_real(p->q_up));
	json_object_set_new(o, "qn_down", json_real(p->qn_down));
	json_object_set_new(o, "qn_up", json_real(p->qn_up));
	json_object_set_new(o, "q_day_down", json_real(p->q_day_down));
	json_object_set_new(o, "q_day_up", json_real(p->q_day_up));
	json_object_set_new(o, "qn_day_down", json_real(p->qn_day_down));
	json_object_set_new(o, "qn_day_up", json_real(p->qn_day_up));
	json_array_append_new(((struct save_ctx *)arg)->arr, o);
	return 0;
}

static int save_seen(const void *key, void *value, void *arg)
{
	const struct hp_key *k = key;
	const struct seen *s = value;
	json_t *a = json_array();
	json_array_append_new(a, addr_json(&k->host));
	json_array_append_new(a, json_string(k->provider));
	json_array_append_new(a, json_string(k->ja4));
	json_array_append_new(a, json_integer((json_int_t)s->first_ns));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static int save_host(const void *key, void *value, void *arg)
{
	const struct seen *s = value;
	json_t *a = json_array();
	json_array_append_new(a, addr_json(key));
	json_array_append_new(a, json_integer((json_int_t)s->first_ns));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static int save_count(const void *key, void *value, void *arg)
{
	const struct count_key *k = key;
	json_t *a = json_array();
	json_array_append_new(a, json_string(k->k));
	json_array_append_new(a, json_integer(*(const uint32_t *)value));
	json_array_append_new(((struct save_ctx *)arg)->arr, a);
	return 0;
}

static json_t *save_table(const struct lru *m, int (*fn)(const void *, void *, void *))
{
	struct save_ctx c = { .arr = json_array() };
	lru_foreach(m, fn, &c);
	return c.arr;
}

static int dump_state(FILE *fp, void *arg)
{
	return json_dumpf(arg, fp, JSON_COMPACT) < 0 ? -(errno ? errno : EIO) : 0;
}

int score_state_save(const struct score_engine *e, const char *path, char *err, size_t errlen)
{
	json_t *o = json_object();
	int rc;

	json_object_set_new(o, "mailtap_state", json_integer(STATE_VERSION));
	json_object_set_new(o, "learn_end_ns", json_integer((json_int_t)e->learn_end_ns));
	json_object_set_new(o, "pairs", save_table(e->pairs, save_pair));
	json_object_set_new(o, "streams", save_table(e->streams, save_stream));
	json_object_set_new(o, "peers", save_table(e->peers, save_peer));
	json_object_set_new(o, "novelty", save_table(e->novelty, save_seen));
	json_object_set_new(o, "hosts", save_table(e->hosts, save_host));
	json_object_set_new(o, "counts", save_table(e->counts, save_count));
	rc = file_write_atomic(path, dump_state, o, err, errlen);
	json_decref(o);
	return rc;
}

static int bad(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "'%s' is not a usable mailtap state file: %s", path, what);
	return -EINVAL;
}

static bool get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool get_str(json_t *o, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return false;
	score_copy_str(dst, len, json_string_value(v));
	return true;
}

/* Fill a u32 ring from a JSON array (oldest first); false on bad input. */
static bool load_u32s(json_t *arr, uint32_t *v, uint32_t cap, uint32_t *n, uint32_t *head)
{
	size_t i;
	json_t *x;
	if (!json_is_array(arr) || json_array_size(arr) > cap)
		return false;
	json_array_foreach(arr, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > UINT32_MAX)
			return false;
		v[i] = (uint32_t)json_integer_value(x);
	}
	*n = (uint32_t)json_array_size(arr);
	*head = *n % cap;
	return true;
}

/* Fill a float ring from a JSON array (oldest first); false on bad input. */
static bool load_floats(json_t *arr, float *v, uint32_t cap, uint32_t *n, uint32_t *head)
{
	size_t i;
	json_t *x;
	if (!json_is_array(arr) || json_array_size(arr) > cap)
		return false;
	json_array_foreach(arr, i, x) {
		if (!json_is_number(x))
			return false;
		v[i] = (float)json_number_value(x);
	}
	*n = (uint32_t)json_array_size(arr);
	*head = *n % cap;
	return true;
}

static int load_into(struct score_engine *e, json_t *root, const char *path, char *err, size_t errlen)
{
	json_t *arr, *x;
	size_t i;
	uint64_t v;

	if (!json_is_object(root) || !get_u64(root, "mailtap_state", &v))
		return bad(err, errlen, path, "no mailtap_state version");
	if (v != STATE_VERSION && v != 1)
		return bad(err, errlen, path, "written by an incompatible version");
	if (!get_u64(root, "learn_end_ns", &e->learn_end_ns))
		return bad(err, errlen, path, "learn_end_ns missing");

	arr = json_object_get(root, "pairs");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "pairs is not an array");
	json_array_foreach(arr, i, x) {
		struct pair_key k;
		struct pair *p;
		const char *h = json_string_value(json_object_get(x, "host"));
		uint32_t n, head, n2, head2;
		memset(&k, 0, sizeof(k));
		if (!h || net_addr_parse(h, &k.host) < 0 ||
		    !get_str(x, "provider", k.provider, sizeof(k.provider)) ||
		    !get_str(x, "service", k.service, sizeof(k.service)))
			return bad(err, errlen, path, "a pair has a bad host, provider or service");
		p = lru_put(e->pairs, &k, NULL);
		if (!get_u64(x, "first_ns", &p->first_ns) || !get_u64(x, "last_ns", &p->last_ns) ||
		    !get_u64(x, "cur_hour", &p->cur_hour) || !get_u64(x, "hour_down", &p->hour_down) ||
		    !get_u64(x, "hour_up", &p->hour_up) ||
		    !load_floats(json_object_get(x, "hist_down"), p->hist_down, SCORE_HISTORY_HOURS, &n, &head) ||
		    !load_floats(json_object_get(x, "hist_up"), p->hist_up, SCORE_HISTORY_HOURS, &n2, &head2) ||
		    n != n2)
			return bad(err, errlen, path, "a pair has bad counters or history");
		p->hist_n = (uint16_t)n;
		p->hist_head = (uint16_t)head;
		/* added in version 2; absent in 1 */
		get_u64(x, "day_max_down", &p->day_max_down);
		get_u64(x, "day_max_up", &p->day_max_up);
		get_u64(x, "cum_down", &p->cum_down);
		get_u64(x, "cum_up", &p->cum_up);
	}
	arr = json_object_get(root, "peers");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "peers is not an array");
	json_array_foreach(arr, i, x) {
		struct peer_key k;
		struct peer *p;
		json_t *hosts, *h;
		size_t j;
		uint64_t n64, r64;
		memset(&k, 0, sizeof(k));
		if (!get_str(x, "provider", k.provider, sizeof(k.provider)) ||
		    !get_str(x, "service", k.service, sizeof(k.service)))
			return bad(err, errlen, path, "a peer entry has a bad provider or service");
		p = lru_put(e->peers, &k, NULL);
		hosts = json_object_get(x, "hosts");
		if (!json_is_array(hosts) || json_array_size(hosts) > PEER_HOSTS ||
		    !get_u64(x, "prov_hosts", &n64) || !get_u64(x, "recalc_total", &r64) ||
		    !json_is_number(json_object_get(x, "q_down")) ||
		    !json_is_number(json_object_get(x, "q_up")))
			return bad(err, errlen, path, "a peer entry has bad host levels");
		json_array_foreach(hosts, j, h) {
			const char *hex = json_string_value(json_array_get(h, 0));
			json_t *dn = json_array_get(h, 1), *up = json_array_get(h, 2);
			char *end;
			if (!hex || !json_is_number(dn) || !json_is_number(up))
				return bad(err, errlen, path, "a peer host entry is malformed");
			p->host[j] = strtoull(hex, &end, 16);
			if (*end)
				return bad(err, errlen, path, "a peer host id is not hex");
			p->down[j] = (float)json_number_value(dn);
			p->up[j] = (float)json_number_value(up);
			if (json_is_number(json_array_get(h, 3)) && json_is_number(json_array_get(h, 4))) {
				p->day_down[j] = (float)json_number_value(json_array_get(h, 3));
				p->day_up[j] = (float)json_number_value(json_array_get(h, 4));
			}
		}
		p->n = (uint32_t)json_array_size(hosts);
		p->prov_hosts = (uint32_t)n64;
		p->recalc_total = (uint32_t)r64;
		p->q_down = json_number_value(json_object_get(x, "q_down"));
		p->q_up = json_number_value(json_object_get(x, "q_up"));
		p->qn_down = json_number_value(json_object_get(x, "qn_down"));
		p->qn_up = json_number_value(json_object_get(x, "qn_up"));
		p->q_day_down = json_number_value(json_object_get(x, "q_day_down"));
		p->q_day_up = json_number_value(json_object_get(x, "q_day_up"));
		p->qn_day_down = json_number_value(json_object_get(x, "qn_day_down"));
		p->qn_day_up = json_number_value(json_object_get(x, "qn_day_up"));
	}
	arr = json_object_get(root, "streams");
	if (arr && !json_is_array(arr))
		return bad(err, errlen, path, "streams is not an array");
	json_array_foreach(arr, i, x) {
		struct stream_key k;
		struct stream *st;
		const char *h = json_string_value(json_object_get(x, "host"));
		json_t *hc = json_object_get(x, "hour_conns"), *jv;
		uint32_t n1, n2, n3, hd;
		size_t j;
		memset(&k, 0, sizeof(k));
		if (!h || net_addr_parse(h, &k.pk.host) < 0 ||
		    !get_str(x, "provider", k.pk.provider, sizeof(k.pk.provider)) ||
		    !get_str(x, "service", k.pk.service, sizeof(k.pk.service)) ||
		    !get_str(x, "ja4", k.ja4, sizeof(k.ja4)))
			return bad(err, errlen, path, "a stream has a bad host, provider, service or ja4");
		st = lru_put(e->streams, &k, NULL);
		memset(st, 0, sizeof(*st));
		st->period_bin = -1;
		if (!load_u32s(json_object_get(x, "conn_ts"), st->conn_ts, SCORE_BEACON_MAX, &n1, &hd) ||
		    !load_u32s(json_object_get(x, "conn_up"), st->conn_up, SCORE_BEACON_MAX, &n2, &hd) ||
		    !load_u32s(json_object_get(x, "conn_tot"), st->conn_tot, SCORE_BEACON_MAX, &n3, &hd) ||
		    n1 != n2 || n1 != n3 || !json_is_array(hc) || json_array_size(hc) != SCORE_DAY_HOURS ||
		    !get_u64(x, "hour_cur", &st->hour_cur) ||
		    !get_u64(x, "regular_since_ns", &st->regular_since_ns))
			return bad(err, errlen, path, "a stream has bad connections");
		json_array_foreach(hc, j, jv) {
			if (!json_is_integer(jv) || json_integer_value(jv) < 0 ||
			    json_integer_value(jv) > UINT16_MAX)
				return bad(err, errlen, path, "a stream has bad hourly counts");
			st->hour_conns[j] = (uint16_t)json_integer_value(jv);
		}
		st->conn_n = (uint16_t)n1;
		st->conn_head = (uint16_t)hd;
		{
			uint64_t sa = 0;
			if (!get_u64(x, "since_analysis", &sa) || sa > UINT16_MAX ||
			    !get_u64(x, "analysed_ns", &st->analysed_ns) ||
			    !beacon_load(json_object_get(x, "analysis"), &st->b))
				return bad(err, errlen, path, "a stream has a bad analysis");
			st->since_analysis = (uint16_t)sa;
			if (!get_u64(x, "first_ns", &st->first_ns) ||
			    !json_is_boolean(json_object_get(x, "late")))
				return bad(err, errlen, path, "a stream has a bad first sighting");
			st->late = json_is_true(json_object_get(x, "late"));
		}
		/* count in its service's period table again, as it was */
		if (st->regular_since_ns && st->b.regularity >= 0.5)
			score_stream_set_bin(score_peer_of(e, k.pk.provider, k.pk.service), st,
				       score_period_bin(st->b.interval));
	}
	arr = json_object_get(root, "novelty");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "novelty is not an array");
	json_array_foreach(arr, i, x) {
		struct hp_key k;
		struct seen *s;
		const char *h = json_string_value(json_array_get(x, 0));
		const char *pr = json_string_value(json_array_get(x, 1));
		const char *j = json_string_value(json_array_get(x, 2));
		json_t *t = json_array_get(x, 3);
		memset(&k, 0, sizeof(k));
		if (!h || !pr || !j || !json_is_integer(t) || json_integer_value(t) < 0 ||
		    net_addr_parse(h, &k.host) < 0 ||
		    strlen(pr) >= sizeof(k.provider) || strlen(j) >= sizeof(k.ja4))
			return bad(err, errlen, path, "a novelty entry is malformed");
		score_copy_str(k.provider, sizeof(k.provider), pr);
		score_copy_str(k.ja4, sizeof(k.ja4), j);
		s = lru_put(e->novelty, &k, NULL);
		s->first_ns = (uint64_t)json_integer_value(t);
	}
	arr = json_object_get(root, "hosts");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "hosts is not an array");
	json_array_foreach(arr, i, x) {
		struct net_addr a;
		struct seen *s;
		const char *h = json_string_value(json_array_get(x, 0));
		json_t *t = json_array_get(x, 1);
		if (!h || !json_is_integer(t) || json_integer_value(t) < 0 || net_addr_parse(h, &a) < 0)
			return bad(err, errlen, path, "a host entry is malformed");
		s = lru_put(e->hosts, &a, NULL);
		s->first_ns = (uint64_t)json_integer_value(t);
	}
	arr = json_object_get(root, "counts");
	if (!json_is_array(arr))
		return bad(err, errlen, path, "counts is not an array");
	json_array_foreach(arr, i, x) {
		struct count_key k;
		const char *key = json_string_value(json_array_get(x, 0));
		json_t *n = json_array_get(x, 1);
		memset(&k, 0, sizeof(k));
		if (!key || strlen(key) >= sizeof(k.k) || !json_is_integer(n) ||
		    json_integer_value(n) < 0 || json_integer_value(n) > UINT32_MAX)
			return bad(err, errlen, path, "a count entry is malformed");
		score_copy_str(k.k, sizeof(k.k), key);
		*(uint32_t *)lru_put(e->counts, &k, NULL) = (uint32_t)json_integer_value(n);
	}
	return 0;
}

int score_state_load(struct score_engine *e, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	struct score_engine *tmp;
	int rc;

	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) != 0) {
			snprintf(err, errlen, "'%s': %s", path, strerror(errno));
			return -ENOENT;
		}
		snprintf(err, errlen, "'%s' is not a usable mailtap state file: line %d: %s", path,
			 jerr.line, jerr.text);
		return -EINVAL;
	}
	/* load into a scratch engine, so a bad file changes nothing */
	tmp = score_new(&e->cfg, e->seed, NULL, NULL);
	if (!tmp) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = load_into(tmp, root, path, err, errlen);
	json_decref(root);
	if (rc == 0) {
		struct lru *t;
#define SWAP(f) (t = e->f, e->f = tmp->f, tmp->f = t)
		SWAP(pairs);
		SWAP(streams);
		SWAP(peers);
		SWAP(novelty);
		SWAP(counts);
		SWAP(hosts);
#undef SWAP
		e->learn_end_ns = tmp->learn_end_ns;
	}
	score_free(tmp);
	return rc;
}
