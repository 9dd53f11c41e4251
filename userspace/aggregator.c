/* SPDX-License-Identifier: MIT */
/*
 * aggregator.c -- packets to flows to session records.  See aggregator.h.
 *
 * Client side: the sender of a SYN, the receiver of a SYN-ACK; without a
 * handshake, the side not using a server port (below 1024 or a known
 * service port); otherwise the sender of the first packet.
 */
#include "aggregator.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util-hash.h"

#define AGG_HELD_PAYLOAD_MAX 65536

struct frag_slot {
	struct net_addr src, dst;
	uint32_t id;
	uint16_t sport, dport;
	uint8_t proto, used;
};

struct aggregator {
	struct agg_config cfg;
	struct flow_table *flows;
	struct frag_slot *frags;
	struct app_layer *app;    /* owned; NULL when identification is off */
	uint64_t clock_ns;        /* newest packet time seen */
	struct packet held;       /* a packet far ahead of the clock, waiting for
	                           * the next one to confirm or refute the jump */
	bool have_held;
	uint8_t *held_buf;        /* its payload bytes (AGG_HELD_PAYLOAD_MAX) */
	agg_session_fn *cb;
	void *arg;
	struct agg_stats st;
	/* the front end's observer (agg_set_observer) */
	struct agg_observer ob;
	void *ob_arg;
	const struct flow *final_given; /* the flow its producer is ending with
	                                 * its final counters: not asked again */
	struct agg_ext_stats ext;
	uint64_t seed;            /* hash_seed(cfg.seed) */
};

static void ext_apply(struct flow *f, const struct agg_ext_counters *c);

void agg_config_default(struct agg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	flow_config_default(&cfg->flow);
	cfg->interim_s = 60;
	cfg->frag_slots = AGG_FRAG_SLOTS_DEFAULT;
	cfg->identify = true;
	app_config_default(&cfg->app);
}

/* Fill the per-record deltas and mark the bytes as reported. */
static void record_deltas(struct flow *f, struct session *s)
{
	s->first = !f->reported_bytes[0] && !f->reported_bytes[1] && !f->interim_count;
	for (int d = 0; d < 2; d++) {
		s->delta_bytes[d] = f->dir[d].bytes - f->reported_bytes[d];
		f->reported_bytes[d] = f->dir[d].bytes;
	}
}

static void on_flow_end(struct flow *f, enum flow_end_reason why, void *arg)
{
	struct aggregator *a = arg;
	if (a->ob.flow_ending && f != a->final_given) {
		struct agg_ext_counters c;
		memset(&c, 0, sizeof(c));
		if (a->ob.flow_ending(a->ob_arg, f, &c)) {
			ext_apply(f, &c);
			if (c.last_ns > f->last_ns)
				f->last_ns = c.last_ns;
			a->ext.finals++;
		}
	}
	if (a->app)
		app_flow_flush(a->app, f);
	struct session s = {
		.flow = f, .is_update = false, .end_reason = why, .ts_ns = f->last_ns,
		.ident = a->app ? app_flow_ident(a->app, f) : NULL,
	};
	a->st.sessions++;
	record_deltas(f, &s);
	if (a->cb)
		a->cb(&s, a->arg);
	if (a->app)
		app_flow_end(a->app, f);
}

struct aggregator *agg_new(const struct agg_config *cfg, agg_session_fn *cb, void *arg)
{
	struct aggregator *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (a->cfg.frag_slots == 0)
		a->cfg.frag_slots = 1;
	a->cb = cb;
	a->arg = arg;
	a->seed = hash_seed(cfg->seed);
	a->frags = calloc(a->cfg.frag_slots, sizeof(*a->frags));
	a->flows = flow_table_new(&cfg->flow, cfg->seed, on_flow_end, a);
	if (cfg->identify) {
		struct app_config ac = cfg->app;
		ac.seed = cfg->seed;
		a->app = app_new(&ac, cfg->catalog);
	}
	if (!a->frags || !a->flows || (cfg->identify && !a->app)) {
		int e = errno ? errno : ENOMEM;
		agg_free(a);
		errno = e;
		return NULL;
	}
	return a;
}

void agg_free(struct aggregator *a)
{
	if (!a)
		return;
	flow_table_free(a->flows);
	app_free(a->app);
	free(a->held_buf);
	free(a->frags);
	free(a);
}

/* --- fragments: remember the first fragment's ports by datagram id --- */

static struct frag_slot *frag_slot_for(struct aggregator *a, const struct packet *p)
{
	/* the datagram's identity, hashed seeded: ids and addresses come
	 * from the wire */
	struct {
		uint8_t src[16], dst[16];
		uint32_t id;
		uint8_t proto, pad[3];
	} k;
	memset(&k, 0, sizeof(k));
	memcpy(k.src, p->src.b, sizeof(k.src));
	memcpy(k.dst, p->dst.b, sizeof(k.dst));
	k.id = p->frag_id;
	k.proto = p->l4proto;
	return &a->frags[hash64(&k, sizeof(k), a->seed) % a->cfg.frag_slots];
}

static bool frag_matches(const struct frag_slot *s, const struct packet *p)
{
	return s->used && s->id == p->frag_id && s->proto == p->l4proto &&
	       !net_addr_cmp(&s->src, &p->src) && !net_addr_cmp(&s->dst, &p->dst);
}

/* Ports for pkt: its own, or its first fragment's.  False when unknown. */
static bool packet_ports(struct aggregator *a, const struct packet *p,
			 uint16_t *sport, uint16_t *dport)
{
	bool have = (p->flags & PKT_L4) ||
		    ((p->flags & PKT_L4_TRUNC) && (p->sport || p->dport));
	if (p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP)
		return false;
	if (p->flags & PKT_FRAG) {
		struct frag_slot *s = frag_slot_for(a, p);
		if (p->flags & PKT_FRAG_HEAD) {
			if (!have)
				return false;
			if (s->used && !frag_matches(s, p))
				a->st.frag_overwrites++;
			s->src = p->src;
			s->dst = p->dst;
			s->id = p->frag_id;
			s->proto = p->l4proto;
			s->sport = p->sport;
			s->dport = p->dport;
			s->used = 1;
		} else {
			if (!frag_matches(s, p)) {
				a->st.frag_orphans++;
				return false;
			}
			*sport = s->sport;
			*dport = s->dport;
			return true;
		}
	}
	if (!have)
		return false;
	*sport = p->sport;
	*dport = p->dport;
	return true;
}

/* --- client side and TCP state --- */

static bool is_server_port(uint16_t port)
{
	switch (port) {
	case 1433: case 3306: case 3389: case 5222: case 5223: case 5228:
	case 5432: case 8080: case 8443: case 9200:
		return true;
	default:
		return port != 0 && port < 1024;
	}
}

/* Decide whether the packet's sender is the client of a new flow. */
static bool sender_is_client(const struct packet *p, uint16_t sport, uint16_t dport)
{
	if (p->l4proto == IPPROTO_TCP && (p->flags & PKT_L4) && (p->tcp_flags & TCPF_SYN))
		return !(p->tcp_flags & TCPF_ACK);
	if (is_server_port(dport) && !is_server_port(sport))
		return true;
	if (is_server_port(sport) && !is_server_port(dport))
		return false;
	return true;
}

enum hist_letter { H_SYN, H_SYNACK, H_ACK, H_DATA, H_FIN, H_RST, H_RETX, H_COUNT };
static const char hist_upper[H_COUNT] = { 'S', 'H', 'A', 'D', 'F', 'R', 'T' };

static void history_add(struct flow *f, int dir, enum hist_letter l)
{
	unsigned bit = 1u << (l + dir * H_COUNT);
	char ch = hist_upper[l];
	if (f->hist_seen & bit)
		return;
	f->hist_seen |= (uint16_t)bit;
	if (f->hist_len >= FLOW_HISTORY_MAX)
		return;
	if (dir == FLOW_TOCLIENT)
		ch = (char)(ch - 'A' + 'a');
	f->history[f->hist_len++] = ch;
	f->history[f->hist_len] = '\0';
}

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static void tcp_track(struct flow *f, int dir, const struct packet *p)
{
	struct flow_dir *d = &f->dir[dir];
	uint8_t fl = p->tcp_flags;
	uint32_t end;

	if (!(p->flags & PKT_L4))
		return; /* header cut short: counted, no state */
	d->tcp_flags |= fl;
	if (fl & TCPF_SYN) {
		history_add(f, dir, (fl & TCPF_ACK) ? H_SYNACK : H_SYN);
		if (!d->isn_valid) {
			d->isn = p->seq + 1;
			d->isn_valid = 1;
		}
	}
	if (fl & TCPF_RST) {
		history_add(f, dir, H_RST);
		d->rst = 1;
		f->closed_by_rst = 1;
	}
	if (fl & TCPF_FIN) {
		history_add(f, dir, H_FIN);
		d->fin = 1;
	}
	if (p->payload_len) {
		if (d->seq_valid && seq_lt(p->seq, d->next_seq))
			history_add(f, dir, H_RETX);
		else
			history_add(f, dir, H_DATA);
	} else if ((fl & (TCPF_ACK | TCPF_SYN | TCPF_FIN | TCPF_RST)) == TCPF_ACK) {
		history_add(f, dir, H_ACK);
	}
	end = p->seq + p->payload_len + ((fl & TCPF_SYN) ? 1 : 0) + ((fl & TCPF_FIN) ? 1 : 0);
	if (!d->seq_valid || seq_lt(d->next_seq, end)) {
		d->next_seq = end;
		d->seq_valid = 1;
	}
}

static enum flow_list tcp_list(const struct flow *f)
{
	if (f->dir[0].rst || f->dir[1].rst || (f->dir[0].fin && f->dir[1].fin))
		return FLOW_LIST_TCP_CLOSED;
	if ((f->dir[0].pkts && f->dir[1].pkts) || f->dir[0].payload_bytes ||
	    f->dir[1].payload_bytes)
		return FLOW_LIST_TCP_EST;
	return FLOW_LIST_TCP_NEW;
}

static void emit_update(struct aggregator *a, struct flow *f, uint64_t now)
{
	struct session s = {
		.flow = f, .is_update = true, .ts_ns = now,
		.ident = a->app ? app_flow_ident(a->app, f) : NULL,
	};
	f->last_update_ns = now;
	record_deltas(f, &s);
	f->interim_count++;
	a->st.updates++;
	if (a->cb)
		a->cb(&s, a->arg);
}

/* Account one packet at time @ts (its own, or the clock for a corrupt
 * forward jump). */
static void agg_account(struct aggregator *a, const struct packet *p, uint64_t ts)
{
	struct flow_key key;
	struct flow *f;
	uint16_t sport, dport;
	bool swapped, is_tcp;
	struct packet clamped;
	int dir;

	if (ts >= a->clock_ns) {
		a->clock_ns = ts;
	} else {
		a->st.time_regressions++;
	}
	if (ts != p->ts_ns) { /* timed at the clock, for the app layer too */
		clamped = *p;
		clamped.ts_ns = ts;
		p = &clamped;
	}
	if (ts >= a->clock_ns) /* a late packet expires nothing */
		flow_table_expire(a->flows, a->clock_ns);
	if (!p->l3)
		return;
	a->st.ip_packets++;
	if (!packet_ports(a, p, &sport, &dport)) {
		a->st.no_ports++;
		return;
	}
	is_tcp = p->l4proto == IPPROTO_TCP;
	flow_key_make(&key, &p->src, sport, &p->dst, dport, p->l4proto, p->vlan, &swapped);
	if (p->tunnel.keyed) {
		key.tunnel_kind = p->tunnel.type;
		key.tunnel_id = p->tunnel.id;
	}
	f = flow_table_lookup(a->flows, &key);
	/* a SYN older than the flow's newest packet is its own, late */
	if (f && is_tcp && f->list == FLOW_LIST_TCP_CLOSED && (p->flags & PKT_L4) &&
	    (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN && ts >= f->last_ns) {
		flow_table_end(a->flows, f, FLOW_END_REUSED);
		f = NULL;
	}
	if (!f) {
		/* a flow born from a late (out-of-order) packet starts its
		 * idle and interim clocks now, not in the past */
		f = flow_table_insert(a->flows, &key,
				      is_tcp ? FLOW_LIST_TCP_NEW : FLOW_LIST_OTHER, a->clock_ns);
		f->first_ns = f->last_ns = ts;
		/* src is in slot a unless swapped */
		f->client_is_a = sender_is_client(p, sport, dport) != swapped;
		if (a->app)
			app_flow_new(a->app, f, ts);
	}
	/* sender in slot a (not swapped) and a is client -> toserver */
	dir = (!swapped) == (f->client_is_a != 0) ? FLOW_TOSERVER : FLOW_TOCLIENT;
	if (p->tunnel.type) {
		if (!f->tun_type) {
			f->tun_type = p->tunnel.type;
			f->tun_depth = p->tunnel.depth;
			f->tun_has_id = p->tunnel.has_id;
			f->tun_id = p->tunnel.id;
			/* oriented like the flow: src on the client's side */
			f->tun_src = dir == FLOW_TOSERVER ? p->tunnel.src : p->tunnel.dst;
			f->tun_dst = dir == FLOW_TOSERVER ? p->tunnel.dst : p->tunnel.src;
		}
		f->tun_overhead += p->tunnel.overhead;
		a->st.tunnelled++;
	}
	a->st.flow_packets++;
	f->dir[dir].pkts++;
	f->dir[dir].bytes += p->wire_len;
	f->dir[dir].payload_bytes += p->payload_len;
	if (ts < f->first_ns)
		f->first_ns = ts;
	if (is_tcp)
		tcp_track(f, dir, p);
	if (a->app)
		app_packet(a->app, f, dir, p);
	if (is_tcp) {
		flow_table_touch_at(a->flows, f, tcp_list(f), ts, a->clock_ns);
	} else {
		if (p->payload_len)
			history_add(f, dir, H_DATA);
		flow_table_touch_at(a->flows, f, FLOW_LIST_OTHER, ts, a->clock_ns);
	}
	if (a->cfg.interim_s &&
	    a->clock_ns - f->last_update_ns >= (uint64_t)a->cfg.interim_s * 1000000000ull)
		emit_update(a, f, a->clock_ns);
}

/* The held packet (a forward jump) is decided: a real gap when @confirmed,
 * else a corrupt timestamp, timed at the clock. */
static void held_release(struct aggregator *a, bool confirmed)
{
	a->have_held = false;
	if (confirmed) {
		a->st.clock_jumps_taken++;
		agg_account(a, &a->held, a->held.ts_ns);
	} else {
		a->st.clock_jumps++;
		agg_account(a, &a->held, a->clock_ns);
	}
}

static bool is_jump(const struct aggregator *a, uint64_t ts)
{
	const uint64_t jump = (uint64_t)AGG_CLOCK_JUMP_S * 1000000000ull;
	return a->clock_ns && ts > a->clock_ns && ts - a->clock_ns > jump;
}

void agg_packet(struct aggregator *a, const struct packet *p)
{
	const uint64_t jump = (uint64_t)AGG_CLOCK_JUMP_S * 1000000000ull;

	a->st.packets++;
	if (a->have_held) {
		/* confirmed when time goes on from there (or further on): not
		 * when the next packet is back near the clock, or between */
		held_release(a, is_jump(a, p->ts_ns) && p->ts_ns + jump >= a->held.ts_ns);
	}
	if (is_jump(a, p->ts_ns)) {
		/* hold it until the next packet tells a gap from a corrupt
		 * timestamp (one copy, in a buffer allocated once) */
		if (!a->held_buf && !(a->held_buf = malloc(AGG_HELD_PAYLOAD_MAX))) {
			a->st.clock_jumps++;
			agg_account(a, p, a->clock_ns);
			return;
		}
		a->held = *p;
		if (p->payload && p->payload_caplen) {
			if (a->held.payload_caplen > AGG_HELD_PAYLOAD_MAX)
				a->held.payload_caplen = AGG_HELD_PAYLOAD_MAX;
			memcpy(a->held_buf, p->payload, a->held.payload_caplen);
			a->held.payload = a->held_buf;
		} else {
			a->held.payload = NULL;
			a->held.payload_caplen = 0;
		}
		a->have_held = true;
		return;
	}
	agg_account(a, p, p->ts_ns);
}

void agg_finish(struct aggregator *a)
{
	if (a->have_held)
		held_release(a, false);
	flow_table_flush(a->flows, FLOW_END_EOF);
}

void agg_get_stats(const struct aggregator *a, struct agg_stats *out,
		   struct flow_table_stats *flows)
{
	if (out)
		*out = a->st;
	if (flows)
		flow_table_get_stats(a->flows, flows);
}

bool agg_get_app_stats(const struct aggregator *a, struct app_stats *out)
{
	if (!a->app)
		return false;
	app_get_stats(a->app, out);
	return true;
}

void agg_set_catalog(struct aggregator *a, const struct catalog *cat)
{
	a->cfg.catalog = cat;
	if (a->app)
		app_set_catalog(a->app, cat);
}

/* --- external flows (eBPF flow events) --- */

/* Rebuild the history letters from the flags and counters (no packet
 * order is known): S h A D a d F f R r. */
static void ext_history(struct flow *f)
{
	const struct flow_dir *cs = &f->dir[FLOW_TOSERVER], *sc = &f->dir[FLOW_TOCLIENT];

	f->hist_len = 0;
	f->hist_seen = 0;
	f->history[0] = '\0';
	if (f->key.proto != IPPROTO_TCP) {
		if (cs->payload_bytes)
			history_add(f, FLOW_TOSERVER, H_DATA);
		if (sc->payload_bytes)
			history_add(f, FLOW_TOCLIENT, H_DATA);
		return;
	}
	if (cs->tcp_flags & TCPF_SYN)
		history_add(f, FLOW_TOSERVER, H_SYN);
	if (sc->tcp_flags & TCPF_SYN)
		history_add(f, FLOW_TOCLIENT, H_SYNACK);
	for (int d = 0; d < 2; d++) {
		if (f->dir[d].tcp_flags & TCPF_ACK)
			history_add(f, d, H_ACK);
		if (f->dir[d].payload_bytes)
			history_add(f, d, H_DATA);
	}
	if (cs->fin)
		history_add(f, FLOW_TOSERVER, H_FIN);
	if (sc->fin)
		history_add(f, FLOW_TOCLIENT, H_FIN);
	if (cs->rst)
		history_add(f, FLOW_TOSERVER, H_RST);
	if (sc->rst)
		history_add(f, FLOW_TOCLIENT, H_RST);
}

/* Set the flow's counters from endpoint-indexed ones (times excepted). */
static void ext_apply(struct flow *f, const struct agg_ext_counters *c)
{
	bool tcp = f->key.proto == IPPROTO_TCP;

	for (int e = 0; e < 2; e++) {
		/* endpoint a's traffic goes to the server when a is the client */
		int d = (e == 0) == (f->client_is_a != 0) ? FLOW_TOSERVER : FLOW_TOCLIENT;
		struct flow_dir *fd = &f->dir[d];
		fd->pkts = c->pkts[e];
		fd->bytes = c->bytes[e];
		fd->payload_bytes = c->payload_bytes[e];
		if (tcp) {
			fd->tcp_flags = c->tcp_flags[e];
			fd->fin = !!(c->tcp_flags[e] & TCPF_FIN);
			fd->rst = !!(c->tcp_flags[e] & TCPF_RST);
			if (fd->rst)
				f->closed_by_rst = 1;
		}
	}
	if (c->first_ns && c->first_ns < f->first_ns)
		f->first_ns = c->first_ns;
	ext_history(f);
}

static bool ext_went_down(const struct flow *f, const struct agg_ext_counters *c)
{
	return c->pkts[0] + c->pkts[1] < f->dir[0].pkts + f->dir[1].pkts;
}

static void ext_clock(struct aggregator *a, uint64_t ts_ns)
{
	if (ts_ns > a->clock_ns)
		a->clock_ns = ts_ns;
}

/* The flow for @key: found, or created (ending a previous incarnation
 * whose counters were higher). */
static struct flow *ext_get(struct aggregator *a, const struct flow_key *key, bool client_is_a,
			    uint64_t first_ns, const struct agg_ext_counters *c)
{
	struct flow *f = flow_table_lookup(a->flows, key);

	if (f && c && ext_went_down(f, c)) {
		a->ext.reused++;
		a->final_given = f; /* the kernel entry is the new flow's */
		flow_table_end(a->flows, f, FLOW_END_REUSED);
		a->final_given = NULL;
		f = NULL;
	}
	if (f)
		return f;
	if (!first_ns)
		first_ns = a->clock_ns;
	f = flow_table_insert(a->flows, key,
			      key->proto == IPPROTO_TCP ? FLOW_LIST_TCP_NEW : FLOW_LIST_OTHER, first_ns);
	f->last_update_ns = a->clock_ns;
	f->client_is_a = client_is_a;
	a->ext.created++;
	if (a->app)
		app_flow_new(a->app, f, first_ns);
	return f;
}

/* Set the counters and move the flow in its timeout list. */
static bool ext_update(struct aggregator *a, struct flow *f, const struct agg_ext_counters *c)
{
	uint8_t old_list = f->list;
	bool active = c->last_ns > f->last_ns;
	enum flow_list l;

	ext_apply(f, c);
	l = f->key.proto == IPPROTO_TCP ? tcp_list(f) : FLOW_LIST_OTHER;
	if (active || l != old_list)
		flow_table_touch(a->flows, f, l, c->last_ns);
	return active;
}

void agg_ext_flow(struct aggregator *a, const struct flow_key *key, bool client_is_a,
		  const struct agg_ext_counters *c)
{
	struct flow *f;

	a->ext.flow_events++;
	ext_clock(a, c->last_ns);
	f = ext_get(a, key, client_is_a, c->first_ns, c);
	/* interim updates follow activity, as with packets */
	if (ext_update(a, f, c) && a->cfg.interim_s &&
	    a->clock_ns - f->last_update_ns >= (uint64_t)a->cfg.interim_s * 1000000000ull)
		emit_update(a, f, a->clock_ns);
}

bool agg_ext_flow_end(struct aggregator *a, const struct flow_key *key, bool client_is_a,
		      enum flow_end_reason why, const struct agg_ext_counters *final)
{
	struct flow *f = flow_table_lookup(a->flows, key);

	if (!f && !final)
		return false;
	if (final) {
		ext_clock(a, final->last_ns);
		f = ext_get(a, key, client_is_a, final->first_ns, final);
		ext_update(a, f, final);
	}
	a->ext.ends++;
	a->final_given = f; /* the caller has the final counters */
	flow_table_end(a->flows, f, why);
	a->final_given = NULL;
	return true;
}

void agg_ext_payload(struct aggregator *a, const struct flow_key *key, bool sender_is_a,
		     uint8_t tcp_flags, uint32_t seq, uint32_t seg_no, const uint8_t *data,
		     size_t caplen, size_t wirelen, uint64_t ts_ns)
{
	struct flow *f;
	int dir;

	a->ext.payloads++;
	ext_clock(a, ts_ns);
	f = ext_get(a, key, sender_is_a, ts_ns, NULL);
	dir = sender_is_a == (f->client_is_a != 0) ? FLOW_TOSERVER : FLOW_TOCLIENT;
	if (key->proto == IPPROTO_TCP && dir == FLOW_TOSERVER && seg_no == 0 &&
	    !f->dir[FLOW_TOSERVER].isn_valid) {
		/* the first client payload byte, as a SYN would have told */
		f->dir[FLOW_TOSERVER].isn = seq;
		f->dir[FLOW_TOSERVER].isn_valid = 1;
	}
	if (!a->app || !wirelen)
		return;
	if (caplen > wirelen)
		wirelen = caplen;
	struct app_segment seg = {
		.ts_ns = ts_ns, .data = data, .caplen = (uint32_t)caplen,
		.wirelen = (uint32_t)wirelen, .seq = seq,
		.tcp_flags = key->proto == IPPROTO_TCP ? tcp_flags : 0,
	};
	app_segment(a->app, f, dir, &seg);
}

void agg_ext_dns(struct aggregator *a, const struct flow_key *key, const uint8_t *data,
		 size_t caplen, uint64_t ts_ns)
{
	a->ext.dns++;
	ext_clock(a, ts_ns);
	if (a->app && caplen)
		app_dns_message(a->app, key->proto, data, caplen, ts_ns);
}

void agg_ext_tick(struct aggregator *a, uint64_t now_ns)
{
	ext_clock(a, now_ns);
	flow_table_expire(a->flows, a->clock_ns);
}

/* The app layer's learned addresses, passed on (and counted). */
static void on_learned(void *arg, const struct net_addr *addr, uint32_t ttl_s, const char *name)
{
	struct aggregator *a = arg;
	a->ext.learned++;
	a->ob.dns_learned(a->ob_arg, addr, ttl_s, name);
}

void agg_set_observer(struct aggregator *a, const struct agg_observer *ob, void *arg)
{
	if (ob)
		a->ob = *ob;
	else
		memset(&a->ob, 0, sizeof(a->ob));
	a->ob_arg = arg;
	if (a->app)
		app_set_dns_learned_fn(a->app, a->ob.dns_learned ? on_learned : NULL, a);
}

bool agg_ext_mail_server(struct aggregator *a, const struct flow_key *key,
			 struct net_addr *server, uint16_t *port)
{
	struct flow *f = flow_table_lookup(a->flows, key);
	const struct flow_ident *id;

	if (!f || !a->app || !(id = app_flow_ident(a->app, f)) || !id->has_match)
		return false;
	if (server)
		*server = f->client_is_a ? f->key.b : f->key.a;
	if (port)
		*port = f->client_is_a ? f->key.port_b : f->key.port_a;
	return true;
}

const struct catalog *agg_catalog(const struct aggregator *a)
{
	return a->cfg.catalog;
}

void agg_ext_get_stats(const struct aggregator *a, struct agg_ext_stats *out)
{
	*out = a->ext;
}
