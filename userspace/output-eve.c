/* SPDX-License-Identifier: MIT */
/* output-eve.c -- records as Suricata EVE JSON.  See output-eve.h. */
#include "output-eve.h"

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app-quic.h"
#include "community-id.h"
#include "output-json.h"
#include "util-time.h"

/* Read-only: one rule per alert kind.  The ids are part of the output's
 * contract (docs/formats.md): never renumber, only append. */
static const struct eve_signature signatures[SIG_COUNT] = {
	[SIG_BULK_DOWNLOAD] = { EVE_SID_BASE + 1,
		"MAILTAP bulk_download: far more data downloaded from a cloud mailbox than this host and its peers usually do",
		"Attempted Information Leak" },
	[SIG_BULK_UPLOAD] = { EVE_SID_BASE + 2,
		"MAILTAP bulk_upload: far more data sent to a cloud mail service than this host and its peers usually do",
		"Attempted Information Leak" },
	[SIG_BEACONING] = { EVE_SID_BASE + 3,
		"MAILTAP beaconing: regular automated access to a cloud mailbox",
		"Potentially Bad Traffic" },
	[SIG_OFF_HOURS] = { EVE_SID_BASE + 4,
		"MAILTAP off_hours: cloud mail transfer outside working hours",
		"Potential Corporate Privacy Violation" },
	[SIG_NEW_CLIENT] = { EVE_SID_BASE + 5,
		"MAILTAP new_client: a client or host new to this cloud mail provider",
		"Potential Corporate Privacy Violation" },
};

const struct eve_signature *eve_signature(enum score_signal kind)
{
	return (unsigned)kind < SIG_COUNT ? &signatures[kind] : &signatures[SIG_BULK_DOWNLOAD];
}

int eve_severity(const char *sev)
{
	if (sev && (!strcmp(sev, "critical") || !strcmp(sev, "high")))
		return 1;
	if (sev && !strcmp(sev, "medium"))
		return 2;
	return 3;
}

const char *eve_time_format(uint64_t ns, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	unsigned usec = (unsigned)((ns % 1000000000ull) / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return buf;
}

/* FNV-1a, 64 bit, over bytes laid out explicitly (no struct padding, no
 * host byte order), then the splitmix64 finaliser to spread it. */
static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fnv_bytes(h, b, bytes);
}

uint64_t eve_flow_id(const struct flow *f)
{
	const struct flow_key *k = &f->key;
	const struct net_addr *cli = f->client_is_a ? &k->a : &k->b;
	const struct net_addr *srv = f->client_is_a ? &k->b : &k->a;
	uint16_t cport = f->client_is_a ? k->port_a : k->port_b;
	uint16_t sport = f->client_is_a ? k->port_b : k->port_a;
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv_u64(h, k->proto, 1);
	h = fnv_u64(h, k->vlan[0], 2);
	h = fnv_u64(h, k->vlan[1], 2);
	h = fnv_u64(h, k->tunnel_kind, 1);
	h = fnv_u64(h, k->tunnel_id, 4);
	h = fnv_u64(h, cli->family, 1);
	h = fnv_bytes(h, cli->b, sizeof(cli->b));
	h = fnv_u64(h, cport, 2);
	h = fnv_u64(h, srv->family, 1);
	h = fnv_bytes(h, srv->b, sizeof(srv->b));
	h = fnv_u64(h, sport, 2);
	h = fnv_u64(h, f->first_ns, 8);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	h &= (1ull << 53) - 1;
	return h ? h : 1;
}

static void set_time(json_t *o, const char *key, uint64_t ns)
{
	char buf[EVE_TIME_LEN];
	json_object_set_new(o, key, json_string(eve_time_format(ns, buf, sizeof(buf))));
}

/* Suricata's names (SSLVersionToString). */
static const char *tls_version_eve(uint16_t v)
{
	switch (v) {
	case 0x0200: return "SSLv2";
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv1";
	case 0x0302: return "TLS 1.1";
	case 0x0303: return "TLS 1.2";
	case 0x0304: return "TLS 1.3";
	case 0: return NULL;
	default: return "UNDETERMINED";
	}
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	default: return "OTHER";
	}
}

/* Suricata's flow.state: new (no answer yet), established, closed. */
static const char *flow_state(const struct session *s)
{
	const struct flow *f = s->flow;

	if (!s->is_update && (s->end_reason == FLOW_END_FIN || s->end_reason == FLOW_END_RST))
		return "closed";
	if (f->closed_by_rst || (f->dir[FLOW_TOSERVER].fin && f->dir[FLOW_TOCLIENT].fin))
		return "closed";
	if (!f->dir[FLOW_TOCLIENT].pkts)
		return "new";
	return "established";
}

/* Suricata's flow.reason: timeout (idle, FIN/RST linger included),
 * forced (pushed out of a full table), shutdown (end of input),
 * tcp_reuse. */
static const char *flow_reason(enum flow_end_reason r)
{
	switch (r) {
	case FLOW_END_EVICTED: return "forced";
	case FLOW_END_EOF: return "shutdown";
	case FLOW_END_REUSED: return "tcp_reuse";
	default: return "timeout";
	}
}

/* Suricata's tcp object: the flags seen, as hex and as booleans (only the
 * ones set, as Suricata writes them). */
static json_t *tcp_json(const struct flow *f)
{
	static const struct { uint8_t bit; const char *name; } flags[] = {
		{ 0x01, "fin" }, { 0x02, "syn" }, { 0x04, "rst" }, { 0x08, "psh" },
		{ 0x10, "ack" }, { 0x20, "urg" }, { 0x40, "ecn" }, { 0x80, "cwr" },
	};
	uint8_t ts = f->dir[FLOW_TOSERVER].tcp_flags, tc = f->dir[FLOW_TOCLIENT].tcp_flags;
	json_t *t = json_object();
	char hex[3];

	if (!t)
		return NULL;
	snprintf(hex, sizeof(hex), "%02x", (unsigned)(ts | tc));
	json_object_set_new(t, "tcp_flags", json_string(hex));
	snprintf(hex, sizeof(hex), "%02x", (unsigned)ts);
	json_object_set_new(t, "tcp_flags_ts", json_string(hex));
	snprintf(hex, sizeof(hex), "%02x", (unsigned)tc);
	json_object_set_new(t, "tcp_flags_tc", json_string(hex));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if ((ts | tc) & flags[i].bit)
			json_object_set_new(t, flags[i].name, json_true());
	return t;
}

/* tls{} for a TCP hello, quic{} for a QUIC one: what the ClientHello
 * said.  NULL when there was none. */
static json_t *hello_json(const struct flow_ident *id, bool *is_quic)
{
	json_t *t;

	*is_quic = id->app_proto == APP_PROTO_QUIC;
	if (!id->sni[0] && !id->ja3[0] && !id->ja4[0] && !id->tls_version && !id->quic_version)
		return NULL;
	t = json_object();
	if (!t)
		return NULL;
	if (*is_quic) {
		char v[QUIC_VERSION_STRLEN];
		if (id->quic_version)
			out_json_set_str(t, "version", quic_version_name(id->quic_version, v, sizeof(v)));
	} else {
		out_json_set_str(t, "version", tls_version_eve(id->tls_version));
		if (id->starttls)
			out_json_set_str(t, "from_proto", app_proto_name(id->app_proto));
	}
	out_json_set_str(t, "sni", id->sni);
	if (id->ja3[0]) {
		json_t *j = json_object();
		json_object_set_new(j, "hash", json_string(id->ja3));
		if (id->ja3_str[0])
			json_object_set_new(j, "string", json_string(id->ja3_str));
		json_object_set_new(t, "ja3", j);
	}
	out_json_set_str(t, "ja4", id->ja4);
	return t;
}

json_t *session_to_eve(const struct session *s, const struct session_json_opts *opts)
{
	const struct flow *f = s->flow;
	const struct flow_key *k = &f->key;
	const struct flow_ident *id = s->ident;
	const struct net_addr *cli = f->client_is_a ? &k->a : &k->b;
	const struct net_addr *srv = f->client_is_a ? &k->b : &k->a;
	uint16_t cport = f->client_is_a ? k->port_a : k->port_b;
	uint16_t sport = f->client_is_a ? k->port_b : k->port_a;
	const struct flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
	json_t *o = json_object(), *fl, *m, *hello = NULL;
	char cid[COMMUNITY_ID_STRLEN], rid[64];
	bool is_quic = false;

	if (!o)
		return NULL;
	/* as Suricata's flow records: the time of the flow's first packet */
	set_time(o, "timestamp", f->first_ns);
	out_json_set_u64(o, "flow_id", eve_flow_id(f));
	json_object_set_new(o, "event_type", json_string("flow"));
	out_json_set_addr(o, "src_ip", cli);
	json_object_set_new(o, "src_port", json_integer(cport));
	out_json_set_addr(o, "dest_ip", srv);
	json_object_set_new(o, "dest_port", json_integer(sport));
	json_object_set_new(o, "proto", json_string(proto_name(k->proto)));
	if (id)
		out_json_set_str(o, "app_proto", app_proto_name(id->app_proto));
	if (k->vlan[0]) {
		json_t *v = json_array();
		json_array_append_new(v, json_integer(k->vlan[0]));
		if (k->vlan[1])
			json_array_append_new(v, json_integer(k->vlan[1]));
		json_object_set_new(o, "vlan", v);
	}
	fl = json_object();
	out_json_set_u64(fl, "pkts_toserver", ts->pkts);
	out_json_set_u64(fl, "pkts_toclient", tc->pkts);
	out_json_set_u64(fl, "bytes_toserver", ts->bytes);
	out_json_set_u64(fl, "bytes_toclient", tc->bytes);
	set_time(fl, "start", f->first_ns);
	set_time(fl, "end", f->last_ns);
	out_json_set_u64(fl, "age", f->last_ns / 1000000000ull - f->first_ns / 1000000000ull);
	json_object_set_new(fl, "state", json_string(flow_state(s)));
	if (!s->is_update)
		json_object_set_new(fl, "reason", json_string(flow_reason(s->end_reason)));
	json_object_set_new(o, "flow", fl);
	if (k->proto == IPPROTO_TCP)
		json_object_set_new(o, "tcp", tcp_json(f));
	if (id && (hello = hello_json(id, &is_quic)) != NULL)
		json_object_set_new(o, is_quic ? "quic" : "tls", hello);
	if (community_id_v1(cid, sizeof(cid), opts ? opts->community_id_seed : 0, true, k->proto,
			    cli, srv, cport, sport) == 0)
		json_object_set_new(o, "community_id", json_string(cid));
	out_json_set_str(o, "host", opts ? opts->sensor : NULL);

	/* what EVE has no field for */
	m = json_object();
	session_record_id(s, rid, sizeof(rid));
	json_object_set_new(m, "record_id", json_string(rid));
	if (s->is_update)
		json_object_set_new(m, "update", json_true());
	else
		json_object_set_new(m, "end_reason",
				    json_string(flow_end_reason_name(s->end_reason)));
	json_object_set_new(m, "duration", json_real(time_ns_to_s(f->last_ns - f->first_ns)));
	out_json_set_u64(m, "payload_bytes_toserver", ts->payload_bytes);
	out_json_set_u64(m, "payload_bytes_toclient", tc->payload_bytes);
	json_object_set_new(m, "history", json_string(f->history));
	if (id) {
		if (id->has_match) {
			out_json_set_str(m, "provider", id->provider);
			out_json_set_str(m, "service", id->service);
		}
		out_json_set_str(m, "classified_by", app_classified_by_name(id->classified_by));
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

/* The transport of an alert's latest session, from its app protocol;
 * NULL when that does not say. */
static const char *alert_proto(const char *app_proto)
{
	if (!app_proto)
		return NULL;
	if (!strcmp(app_proto, "quic"))
		return "UDP";
	if (!strcmp(app_proto, "tls") || !strcmp(app_proto, "smtp") || !strcmp(app_proto, "imap") ||
	    !strcmp(app_proto, "pop3") || !strcmp(app_proto, "http"))
		return "TCP";
	return NULL;
}

json_t *alert_to_eve(const struct score_alert *a, const char *sensor)
{
	const struct eve_signature *sig = eve_signature(a->kind);
	json_t *o = json_object(), *al, *m;

	if (!o)
		return NULL;
	set_time(o, "timestamp", a->ts_ns);
	json_object_set_new(o, "event_type", json_string("alert"));
	out_json_set_addr(o, "src_ip", &a->host);
	if (a->server.family) {
		out_json_set_addr(o, "dest_ip", &a->server);
		json_object_set_new(o, "dest_port", json_integer(a->server_port));
	}
	out_json_set_str(o, "proto", alert_proto(a->app_proto));
	out_json_set_str(o, "app_proto", a->app_proto);
	al = json_object();
	json_object_set_new(al, "action", json_string("allowed"));
	json_object_set_new(al, "gid", json_integer(1));
	json_object_set_new(al, "signature_id", json_integer(sig->sid));
	json_object_set_new(al, "rev", json_integer(1));
	json_object_set_new(al, "signature", json_string(sig->signature));
	json_object_set_new(al, "category", json_string(sig->category));
	json_object_set_new(al, "severity", json_integer(eve_severity(a->severity)));
	json_object_set_new(o, "alert", al);
	if ((a->sni && a->sni[0]) || (a->ja4 && a->ja4[0])) {
		json_t *t = json_object();
		out_json_set_str(t, "sni", a->sni);
		out_json_set_str(t, "ja4", a->ja4);
		json_object_set_new(o, a->app_proto && !strcmp(a->app_proto, "quic") ? "quic" : "tls", t);
	}
	/* the latest session's (the list ends with it) */
	if (a->n_cids)
		out_json_set_str(o, "community_id", a->cids[a->n_cids - 1]);
	out_json_set_str(o, "host", sensor);

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
	json_object_set_new(m, "window", alert_window_json(a));
	json_object_set_new(m, "reasons", alert_reasons_json(a));
	if (a->series_n)
		json_object_set_new(m, "series", alert_series_json(a));
	json_object_set_new(m, "community_ids", alert_cids_json(a));
	json_object_set_new(o, "mailtap", m);
	return o;
}
