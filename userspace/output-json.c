/* SPDX-License-Identifier: MIT */
/* output-json.c -- session records as JSON.  See output-json.h. */
#include "output-json.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util-time.h"

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	default: return "OTHER";
	}
}

static void set_time(json_t *o, const char *key, uint64_t ns)
{
	char buf[TIME_RFC3339_LEN];
	json_object_set_new(o, key, json_string(time_format_rfc3339(ns, buf, sizeof(buf))));
}

static void set_addr(json_t *o, const char *key, const struct net_addr *a)
{
	char buf[NET_ADDR_STRLEN];
	json_object_set_new(o, key, json_string(net_addr_format(a, buf, sizeof(buf))));
}

json_t *session_to_json(const struct session *s)
{
	const struct flow *f = s->flow;
	const struct flow_key *k = &f->key;
	const struct net_addr *cli = f->client_is_a ? &k->a : &k->b;
	const struct net_addr *srv = f->client_is_a ? &k->b : &k->a;
	uint16_t cport = f->client_is_a ? k->port_a : k->port_b;
	uint16_t sport = f->client_is_a ? k->port_b : k->port_a;
	const struct flow_dir *ts = &f->dir[FLOW_TOSERVER], *tc = &f->dir[FLOW_TOCLIENT];
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "event_type", json_string(s->is_update ? "session_update" : "session"));
	set_time(o, "ts", s->ts_ns);
	json_object_set_new(o, "flow_id", json_integer((json_int_t)f->id));
	set_time(o, "start", f->first_ns);
	set_time(o, "end", f->last_ns);
	json_object_set_new(o, "duration", json_real(time_ns_to_s(f->last_ns - f->first_ns)));
	set_addr(o, "src_ip", cli);
	json_object_set_new(o, "src_port", json_integer(cport));
	set_addr(o, "dest_ip", srv);
	json_object_set_new(o, "dest_port", json_integer(sport));
	json_object_set_new(o, "proto", json_string(proto_name(k->proto)));
	if (k->vlan[0]) {
		json_t *v = json_array();
		json_array_append_new(v, json_integer(k->vlan[0]));
		if (k->vlan[1])
			json_array_append_new(v, json_integer(k->vlan[1]));
		json_object_set_new(o, "vlan", v);
	}
	json_object_set_new(o, "pkts_toserver", json_integer((json_int_t)ts->pkts));
	json_object_set_new(o, "pkts_toclient", json_integer((json_int_t)tc->pkts));
	json_object_set_new(o, "bytes_toserver", json_integer((json_int_t)ts->bytes));
	json_object_set_new(o, "bytes_toclient", json_integer((json_int_t)tc->bytes));
	json_object_set_new(o, "payload_bytes_toserver", json_integer((json_int_t)ts->payload_bytes));
	json_object_set_new(o, "payload_bytes_toclient", json_integer((json_int_t)tc->payload_bytes));
	json_object_set_new(o, "history", json_string(f->history));
	if (!s->is_update)
		json_object_set_new(o, "end_reason", json_string(flow_end_reason_name(s->end_reason)));
	return o;
}

char *json_to_line(const json_t *obj, size_t *len)
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
