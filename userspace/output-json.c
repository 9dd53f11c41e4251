/* SPDX-License-Identifier: MIT */
/* output-json.c -- session records as JSON.  See output-json.h. */
#include "output-json.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "community-id.h"
#include "decode.h"
#include "output-ecs.h"
#include "output-eve.h"
#include "util-time.h"

int output_format_parse(const char *name, enum output_format *out)
{
	if (!strcmp(name, "native"))
		*out = OUTPUT_FORMAT_NATIVE;
	else if (!strcmp(name, "eve"))
		*out = OUTPUT_FORMAT_EVE;
	else if (!strcmp(name, "ecs"))
		*out = OUTPUT_FORMAT_ECS;
	else
		return -EINVAL;
	return 0;
}

void session_record_id(const struct session *s, char *buf, size_t len)
{
	/* stable across replays of the same input: flow start, flow
	 * number, and which record of the flow this is */
	snprintf(buf, len, "%016llx-%llu-%u", (unsigned long long)s->flow->first_ns,
		 (unsigned long long)s->flow->id, s->is_update ? s->flow->interim_count : 0u);
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	default: return "OTHER";
	}
}

void out_json_set_time(json_t *o, const char *key, uint64_t ns)
{
	char buf[TIME_RFC3339_LEN];
	json_object_set_new(o, key, json_string(time_format_rfc3339(ns, buf, sizeof(buf))));
}

void out_json_set_addr(json_t *o, const char *key, const struct net_addr *a)
{
	char buf[NET_ADDR_STRLEN];
	json_object_set_new(o, key, json_string(net_addr_format(a, buf, sizeof(buf))));
}

void out_json_set_str(json_t *o, const char *key, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, key, json_string(v));
}

void out_json_set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_ident(json_t *o, const struct flow_ident *id)
{
	if (id->has_match) {
		out_json_set_str(o, "provider", id->provider);
		out_json_set_str(o, "service", id->service);
	}
	out_json_set_str(o, "app_proto", app_proto_name(id->app_proto));
	if (id->quic_version) {
		char v[QUIC_VERSION_STRLEN];
		out_json_set_str(o, "quic_version", quic_version_name(id->quic_version, v, sizeof(v)));
	}
	out_json_set_str(o, "sni", id->sni);
	out_json_set_str(o, "alpn", id->alpn);
	out_json_set_str(o, "tls_version", app_tls_version_name(id->tls_version));
	out_json_set_str(o, "ja4", id->ja4);
	out_json_set_str(o, "ja3", id->ja3);
	if (id->ech)
		json_object_set_new(o, "ech", json_true());
	if (id->starttls)
		json_object_set_new(o, "starttls", json_true());
	out_json_set_str(o, "dns_name", id->dns_name);
	out_json_set_str(o, "cert_name", id->cert_name);
	out_json_set_str(o, "classified_by", app_classified_by_name(id->classified_by));
}

json_t *session_tunnel_json(const struct flow *f)
{
	json_t *t = json_object();

	if (!t)
		return NULL;
	json_object_set_new(t, "type", json_string(decode_tunnel_name(f->tun_type)));
	out_json_set_addr(t, "src_ip", &f->tun_src);
	out_json_set_addr(t, "dest_ip", &f->tun_dst);
	if (f->tun_has_id)
		json_object_set_new(t, "id", json_integer((json_int_t)f->tun_id));
	json_object_set_new(t, "depth", json_integer(f->tun_depth));
	json_object_set_new(t, "overhead_bytes", json_integer((json_int_t)f->tun_overhead));
	return t;
}

json_t *session_to_json(const struct session *s, const struct session_json_opts *opts)
{
	const struct flow *f = s->flow;
	const struct flow_key *k = &f->key;
	const struct net_addr *cli = f->client_is_a ? &k->a : &k->b;
	const struct net_addr *srv = f->client_is_a ? &k->b : &k->a;
	uint16_t cport = f->client_is_a ? k->port_a : k->port_b;
	uint16_t sport = f->client_is_a ? k->port_b : k->port_a;
	const struct flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
	json_t *o;

	if (opts && opts->format == OUTPUT_FORMAT_EVE)
		return session_to_eve(s, opts);
	if (opts && opts->format == OUTPUT_FORMAT_ECS)
		return session_to_ecs(s, opts);
	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "event_type", json_string(s->is_update ? "session_update" : "session"));
	out_json_set_time(o, "ts", s->ts_ns);
	json_object_set_new(o, "flow_id", json_integer((json_int_t)f->id));
	{
		char rid[64];
		session_record_id(s, rid, sizeof(rid));
		json_object_set_new(o, "record_id", json_string(rid));
	}
	out_json_set_time(o, "start", f->first_ns);
	out_json_set_time(o, "end", f->last_ns);
	json_object_set_new(o, "duration", json_real(time_ns_to_s(f->last_ns - f->first_ns)));
	out_json_set_addr(o, "src_ip", cli);
	json_object_set_new(o, "src_port", json_integer(cport));
	out_json_set_addr(o, "dest_ip", srv);
	json_object_set_new(o, "dest_port", json_integer(sport));
	json_object_set_new(o, "proto", json_string(proto_name(k->proto)));
	{
		char cid[COMMUNITY_ID_STRLEN];
		if (community_id_v1(cid, sizeof(cid), opts ? opts->community_id_seed : 0, true,
				    k->proto, cli, srv, cport, sport) == 0)
			json_object_set_new(o, "community_id", json_string(cid));
	}
	if (k->vlan[0]) {
		json_t *v = json_array();
		json_array_append_new(v, json_integer(k->vlan[0]));
		if (k->vlan[1])
			json_array_append_new(v, json_integer(k->vlan[1]));
		json_object_set_new(o, "vlan", v);
	}
	if (f->tun_type)
		json_object_set_new(o, "tunnel", session_tunnel_json(f));
	json_object_set_new(o, "pkts_toserver", json_integer((json_int_t)ts->pkts));
	json_object_set_new(o, "pkts_toclient", json_integer((json_int_t)tc->pkts));
	json_object_set_new(o, "bytes_toserver", json_integer((json_int_t)ts->bytes));
	json_object_set_new(o, "bytes_toclient", json_integer((json_int_t)tc->bytes));
	json_object_set_new(o, "payload_bytes_toserver", json_integer((json_int_t)ts->payload_bytes));
	json_object_set_new(o, "payload_bytes_toclient", json_integer((json_int_t)tc->payload_bytes));
	json_object_set_new(o, "history", json_string(f->history));
	if (s->ident)
		set_ident(o, s->ident);
	if (!s->is_update)
		json_object_set_new(o, "end_reason", json_string(flow_end_reason_name(s->end_reason)));
	return o;
}

static json_t *num_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(round(v * 1000) / 1000);
}

json_t *alert_window_json(const struct score_alert *a)
{
	json_t *w = json_object();

	if (!w)
		return NULL;
	out_json_set_time(w, "start", a->window_start_ns);
	out_json_set_time(w, "end", a->window_end_ns);
	json_object_set_new(w, "sessions", json_integer(a->window_sessions));
	json_object_set_new(w, "bytes_toserver", json_integer((json_int_t)a->window_toserver));
	json_object_set_new(w, "bytes_toclient", json_integer((json_int_t)a->window_toclient));
	return w;
}

json_t *alert_reasons_json(const struct score_alert *a)
{
	json_t *rs = json_array();

	if (!rs)
		return NULL;
	for (unsigned i = 0; i < a->n_reasons; i++) {
		const struct score_reason *r = &a->reasons[i];
		json_t *ro = json_object();
		json_object_set_new(ro, "signal", json_string(score_rules[r->signal].name));
		json_object_set_new(ro, "strength", json_real(round(r->strength * 1000) / 1000));
		json_object_set_new(ro, "value", num_or_null(r->value));
		json_object_set_new(ro, "baseline", num_or_null(r->baseline));
		json_object_set_new(ro, "peer", num_or_null(r->peer));
		json_object_set_new(ro, "unit", json_string(r->unit ? r->unit : ""));
		json_object_set_new(ro, "detail", json_string(r->detail));
		json_array_append_new(rs, ro);
	}
	return rs;
}

json_t *alert_series_json(const struct score_alert *a)
{
	json_t *sr = json_object(), *dn = json_array(), *up = json_array(), *cs = json_array();

	if (!sr || !dn || !up || !cs) {
		json_decref(sr);
		json_decref(dn);
		json_decref(up);
		json_decref(cs);
		return NULL;
	}
	json_object_set_new(sr, "bucket_s", json_integer(SCORE_BUCKET_S));
	out_json_set_time(sr, "start", a->series_start_ns);
	for (uint32_t i = 0; i < a->series_n; i++) {
		json_array_append_new(dn, json_integer((json_int_t)a->series_down[i]));
		json_array_append_new(up, json_integer((json_int_t)a->series_up[i]));
	}
	json_object_set_new(sr, "toclient", dn);
	json_object_set_new(sr, "toserver", up);
	json_object_set_new(sr, "baseline_per_bucket", num_or_null(a->series_baseline));
	json_object_set_new(sr, "peer_per_bucket", num_or_null(a->series_peer));
	for (unsigned i = 0; i < a->n_conn_starts; i++)
		json_array_append_new(cs, json_integer(a->conn_starts[i]));
	json_object_set_new(sr, "conn_starts", cs);
	return sr;
}

json_t *alert_cids_json(const struct score_alert *a)
{
	json_t *cids = json_array();

	for (unsigned i = 0; cids && i < a->n_cids; i++)
		json_array_append_new(cids, json_string(a->cids[i]));
	return cids;
}

json_t *alert_to_json(const struct score_alert *a, const char *sensor)
{
	json_t *o = json_object();
	char dport[8];

	if (!o)
		return NULL;
	json_object_set_new(o, "event_type", json_string("alert"));
	out_json_set_time(o, "ts", a->ts_ns);
	json_object_set_new(o, "alert_id", json_string(a->alert_id));
	json_object_set_new(o, "revision", json_integer(a->revision));
	json_object_set_new(o, "sensor", json_string(sensor ? sensor : ""));
	json_object_set_new(o, "kind", json_string(score_rules[a->kind].name));
	json_object_set_new(o, "score", json_integer((json_int_t)a->score));
	json_object_set_new(o, "severity", json_string(a->severity));
	json_object_set_new(o, "learning", json_boolean(a->learning));
	json_object_set_new(o, "confidence", json_real(round(a->confidence * 100) / 100));
	out_json_set_addr(o, "src_ip", &a->host);
	if (a->server.family) {
		out_json_set_addr(o, "dest_ip", &a->server);
		json_object_set_new(o, "dest_port", json_integer(a->server_port));
	}
	(void)dport;
	out_json_set_str(o, "provider", a->provider);
	out_json_set_str(o, "service", a->service);
	out_json_set_str(o, "app_proto", a->app_proto);
	out_json_set_str(o, "sni", a->sni);
	out_json_set_str(o, "ja4", a->ja4);
	json_object_set_new(o, "window", alert_window_json(a));
	json_object_set_new(o, "reasons", alert_reasons_json(a));
	if (a->series_n)
		json_object_set_new(o, "series", alert_series_json(a));
	json_object_set_new(o, "community_ids", alert_cids_json(a));
	return o;
}

json_t *alert_to_json_opts(const struct score_alert *a, const struct session_json_opts *opts)
{
	const char *sensor = opts ? opts->sensor : NULL;

	if (opts && opts->format == OUTPUT_FORMAT_EVE)
		return alert_to_eve(a, sensor);
	if (opts && opts->format == OUTPUT_FORMAT_ECS)
		return alert_to_ecs(a, sensor);
	return alert_to_json(a, sensor);
}

char *out_json_line(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	size_t n;
	char *line;

	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}
