/* SPDX-License-Identifier: MIT */
/* output-ecs.c -- records in the Elastic Common Schema.  See output-ecs.h. */
#include "output-ecs.h"

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "app-quic.h"
#include "community-id.h"
#include "output-json.h"
#include "output-eve.h"
#include "util-time.h"

/* Returns @parent's object member @key, created when missing (borrowed). */
static json_t *obj(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);
	if (!o) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

static json_t *str_array(const char *a, const char *b)
{
	json_t *v = json_array();
	json_array_append_new(v, json_string(a));
	if (b)
		json_array_append_new(v, json_string(b));
	return v;
}

/* observer: the same in every record. */
static void set_observer(json_t *o, const char *sensor)
{
	json_t *ob = obj(o, "observer");

	out_json_set_str(ob, "name", sensor);
	json_object_set_new(ob, "type", json_string("sensor"));
	json_object_set_new(ob, "vendor", json_string("mailtap"));
	json_object_set_new(ob, "product", json_string("mailtap"));
}

json_t *session_to_ecs(const struct session *s, const struct session_json_opts *opts)
{
	const struct flow *f = s->flow;
	const struct flow_key *k = &f->key;
	const struct flow_ident *id = s->ident;
	const struct net_addr *cli = f->client_is_a ? &k->a : &k->b;
	const struct net_addr *srv = f->client_is_a ? &k->b : &k->a;
	uint16_t cport = f->client_is_a ? k->port_a : k->port_b;
	uint16_t sport = f->client_is_a ? k->port_b : k->port_a;
	const struct flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
	json_t *o = json_object(), *ev, *src, *dst, *net, *m, *rel;
	char cid[COMMUNITY_ID_STRLEN], rid[64], buf[NET_ADDR_STRLEN];

	if (!o)
		return NULL;
	session_record_id(s, rid, sizeof(rid));
	out_json_set_time(o, "@timestamp", s->ts_ns);
	json_object_set_new(obj(o, "ecs"), "version", json_string(ECS_VERSION));
	ev = obj(o, "event");
	json_object_set_new(ev, "kind", json_string("event"));
	json_object_set_new(ev, "category", str_array("network", NULL));
	json_object_set_new(ev, "type", s->is_update ? str_array("connection", NULL)
						     : str_array("connection", "end"));
	json_object_set_new(ev, "dataset", json_string("mailtap.session"));
	json_object_set_new(ev, "module", json_string("mailtap"));
	json_object_set_new(ev, "id", json_string(rid));
	out_json_set_time(ev, "start", f->first_ns);
	out_json_set_time(ev, "end", f->last_ns);
	out_json_set_u64(ev, "duration", f->last_ns - f->first_ns);

	src = obj(o, "source");
	out_json_set_addr(src, "ip", cli);
	json_object_set_new(src, "port", json_integer(cport));
	out_json_set_u64(src, "bytes", ts->bytes);
	out_json_set_u64(src, "packets", ts->pkts);
	dst = obj(o, "destination");
	out_json_set_addr(dst, "ip", srv);
	json_object_set_new(dst, "port", json_integer(sport));
	out_json_set_u64(dst, "bytes", tc->bytes);
	out_json_set_u64(dst, "packets", tc->pkts);
	if (id)
		out_json_set_str(dst, "domain", id->sni[0] ? id->sni : id->dns_name);

	net = obj(o, "network");
	json_object_set_new(net, "transport", json_string(k->proto == IPPROTO_TCP ? "tcp" :
							  k->proto == IPPROTO_UDP ? "udp" : "other"));
	{
		char n[4];
		snprintf(n, sizeof(n), "%u", (unsigned)k->proto);
		json_object_set_new(net, "iana_number", json_string(n));
	}
	json_object_set_new(net, "type", json_string(cli->family == NET_ADDR_V6 ? "ipv6" : "ipv4"));
	if (community_id_v1(cid, sizeof(cid), opts ? opts->community_id_seed : 0, true, k->proto,
			    cli, srv, cport, sport) == 0)
		json_object_set_new(net, "community_id", json_string(cid));
	out_json_set_u64(net, "bytes", ts->bytes + tc->bytes);
	out_json_set_u64(net, "packets", ts->pkts + tc->pkts);
	if (id)
		out_json_set_str(net, "protocol", app_proto_name(id->app_proto));
	if (k->vlan[0]) {
		char v[8];
		snprintf(v, sizeof(v), "%u", (unsigned)k->vlan[0]);
		json_object_set_new(obj(net, "vlan"), "id", json_string(v));
		if (k->vlan[1]) {
			snprintf(v, sizeof(v), "%u", (unsigned)k->vlan[1]);
			json_object_set_new(obj(obj(net, "inner"), "vlan"), "id", json_string(v));
		}
	}

	if (id && (id->sni[0] || id->ja3[0] || id->tls_version)) {
		json_t *tls = obj(o, "tls");
		const char *v = app_tls_version_name(id->tls_version);
		if (v) {
			bool ssl = !strncmp(v, "ssl", 3);
			json_object_set_new(tls, "version", json_string(ssl ? v + 3 : v));
			json_object_set_new(tls, "version_protocol", json_string(ssl ? "ssl" : "tls"));
		}
		if (id->sni[0] || id->ja3[0]) {
			json_t *c = obj(tls, "client");
			out_json_set_str(c, "server_name", id->sni);
			out_json_set_str(c, "ja3", id->ja3);
		}
	}
	set_observer(o, opts ? opts->sensor : NULL);
	rel = json_array();
	json_array_append_new(rel, json_string(net_addr_format(cli, buf, sizeof(buf))));
	json_array_append_new(rel, json_string(net_addr_format(srv, buf, sizeof(buf))));
	json_object_set_new(obj(o, "related"), "ip", rel);

	/* what ECS has no field for */
	m = json_object();
	out_json_set_u64(m, "flow_id", eve_flow_id(f));
	if (s->is_update)
		json_object_set_new(m, "update", json_true());
	else
		json_object_set_new(m, "end_reason",
				    json_string(flow_end_reason_name(s->end_reason)));
	out_json_set_u64(m, "payload_bytes_toserver", ts->payload_bytes);
	out_json_set_u64(m, "payload_bytes_toclient", tc->payload_bytes);
	json_object_set_new(m, "history", json_string(f->history));
	if (id) {
		if (id->has_match) {
			out_json_set_str(m, "provider", id->provider);
			out_json_set_str(m, "service", id->service);
		}
		out_json_set_str(m, "classified_by", app_classified_by_name(id->classified_by));
		out_json_set_str(m, "ja4", id->ja4);
		if (id->quic_version) {
			char v[QUIC_VERSION_STRLEN];
			out_json_set_str(m, "quic_version", quic_version_name(id->quic_version, v, sizeof(v)));
		}
		out_json_set_str(m, "alpn", id->alpn);
		if (id->ech)
			json_object_set_new(m, "ech", json_true());
		if (id->starttls)
			json_object_set_new(m, "starttls", json_true());
		out_json_set_str(m, "dns_name", id->dns_name);
		out_json_set_str(m, "cert_name", id->cert_name);
	}
	if (f->tun_type)
		json_object_set_new(m, "tunnel", session_tunnel_json(f));
	json_object_set_new(o, "mailtap", m);
	return o;
}

json_t *alert_to_ecs(const struct score_alert *a, const char *sensor)
{
	const struct eve_signature *sig = eve_signature(a->kind);
	json_t *o = json_object(), *ev, *rule, *net, *m, *rel;
	char buf[NET_ADDR_STRLEN], eid[80], sid[16];

	if (!o)
		return NULL;
	out_json_set_time(o, "@timestamp", a->ts_ns);
	json_object_set_new(obj(o, "ecs"), "version", json_string(ECS_VERSION));
	json_object_set_new(o, "message", json_string(sig->signature));
	ev = obj(o, "event");
	json_object_set_new(ev, "kind", json_string("alert"));
	json_object_set_new(ev, "category", str_array("network", "intrusion_detection"));
	json_object_set_new(ev, "type", str_array("info", NULL));
	json_object_set_new(ev, "dataset", json_string("mailtap.alert"));
	json_object_set_new(ev, "module", json_string("mailtap"));
	snprintf(eid, sizeof(eid), "%s-%u", a->alert_id, a->revision);
	json_object_set_new(ev, "id", json_string(eid));
	json_object_set_new(ev, "severity", json_integer(eve_severity(a->severity)));
	json_object_set_new(ev, "risk_score", json_real((double)(json_int_t)a->score));
	out_json_set_time(ev, "start", a->window_start_ns);
	out_json_set_time(ev, "end", a->window_end_ns);
	if (a->n_reasons)
		out_json_set_str(ev, "reason", a->reasons[0].detail);

	rule = obj(o, "rule");
	snprintf(sid, sizeof(sid), "%u", sig->sid);
	json_object_set_new(rule, "id", json_string(sid));
	json_object_set_new(rule, "name", json_string(score_rules[a->kind].name));
	json_object_set_new(rule, "description", json_string(sig->signature));
	json_object_set_new(rule, "category", json_string(sig->category));
	json_object_set_new(rule, "ruleset", json_string("mailtap"));
	json_object_set_new(rule, "version", json_string("1"));

	out_json_set_addr(obj(o, "source"), "ip", &a->host);
	if (a->server.family) {
		json_t *dst = obj(o, "destination");
		out_json_set_addr(dst, "ip", &a->server);
		json_object_set_new(dst, "port", json_integer(a->server_port));
		out_json_set_str(dst, "domain", a->sni);
	}
	net = obj(o, "network");
	if (a->app_proto && !strcmp(a->app_proto, "quic"))
		json_object_set_new(net, "transport", json_string("udp"));
	else if (a->app_proto && a->app_proto[0] && strcmp(a->app_proto, "dns"))
		json_object_set_new(net, "transport", json_string("tcp"));
	out_json_set_str(net, "protocol", a->app_proto);
	if (a->n_cids)
		out_json_set_str(net, "community_id", a->cids[a->n_cids - 1]);
	if (!json_object_size(net))
		json_object_del(o, "network");
	if (a->sni && a->sni[0])
		json_object_set_new(obj(obj(o, "tls"), "client"), "server_name", json_string(a->sni));
	set_observer(o, sensor);
	rel = json_array();
	json_array_append_new(rel, json_string(net_addr_format(&a->host, buf, sizeof(buf))));
	if (a->server.family)
		json_array_append_new(rel, json_string(net_addr_format(&a->server, buf, sizeof(buf))));
	json_object_set_new(obj(o, "related"), "ip", rel);

	m = json_object();
	json_object_set_new(m, "alert_id", json_string(a->alert_id));
	json_object_set_new(m, "revision", json_integer(a->revision));
	json_object_set_new(m, "kind", json_string(score_rules[a->kind].name));
	json_object_set_new(m, "score", json_integer((json_int_t)a->score));
	json_object_set_new(m, "severity", json_string(a->severity));
	json_object_set_new(m, "learning", json_boolean(a->learning));
	json_object_set_new(m, "confidence", json_real(round(a->confidence * 100) / 100));
	out_json_set_str(m, "provider", a->provider);
	out_json_set_str(m, "service", a->service);
	out_json_set_str(m, "ja4", a->ja4);
	json_object_set_new(m, "window", alert_window_json(a));
	json_object_set_new(m, "reasons", alert_reasons_json(a));
	if (a->series_n)
		json_object_set_new(m, "series", alert_series_json(a));
	json_object_set_new(m, "community_ids", alert_cids_json(a));
	json_object_set_new(o, "mailtap", m);
	return o;
}
