/* SPDX-License-Identifier: MIT */
/* test-aggregator-ext.c -- the external-flow API (agg_ext_*: flow events from
 * the kernel) against agg_packet(): the same conversation fed both ways gives
 * the same session record; ClientHello via ext payloads gives the SNI; DNS
 * via ext gives dns_name and learned addresses; final counters, reuse,
 * interim updates and expiry on the event clock. */
#include "aggregator.h"

#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define T0 (1700000000ull * SEC)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every record, copied out of the callback with its identification. */
struct rec {
	bool is_update;
	enum flow_end_reason why;
	uint64_t ts_ns;
	struct flow f;
	bool has_ident;
	struct flow_ident id;
	uint64_t delta[2];
};

struct sink {
	size_t n;
	struct rec r[32];
};

static void collect(const struct session *s, void *arg)
{
	struct sink *k = arg;
	if (k->n < ARRAY_LEN(k->r)) {
		struct rec *r = &k->r[k->n];
		memset(r, 0, sizeof(*r));
		r->is_update = s->is_update;
		r->why = s->end_reason;
		r->ts_ns = s->ts_ns;
		r->f = *s->flow;
		r->has_ident = s->ident != NULL;
		if (s->ident)
			r->id = *s->ident;
		r->delta[0] = s->delta_bytes[0];
		r->delta[1] = s->delta_bytes[1];
	}
	k->n++;
}

static struct catalog *test_catalog(void)
{
	static const uint16_t p443[] = { 443 };
	struct catalog *cat = catalog_new();
	char err[CATALOG_ERR_LEN];
	if (!cat ||
	    catalog_add_host(cat, "microsoft365", "outlook.office365.com", "web", p443, 1, err,
			     sizeof(err)) ||
	    catalog_add_network(cat, "microsoft365", "192.0.2.0/28", "web", p443, 1, err,
				sizeof(err))) {
		fprintf(stderr, "catalog: %s\n", err);
		abort();
	}
	return cat;
}

static struct aggregator *agg(struct sink *k, const struct catalog *cat, uint32_t interim_s)
{
	struct agg_config cfg;
	struct aggregator *a;

	agg_config_default(&cfg);
	cfg.identify = cat != NULL;
	cfg.catalog = cat;
	cfg.interim_s = interim_s;
	cfg.flow.max_flows = 64;
	cfg.app.ident_slots = 64;
	cfg.app.reasm_slots = 8;
	cfg.app.dns_cache_entries = 64;
	cfg.seed = 1;
	memset(k, 0, sizeof(*k));
	a = agg_new(&cfg, collect, k);
	if (!a)
		abort();
	return a;
}

/* --- a ClientHello with an SNI, TLS 1.3 offered, ALPN h2 --- */
struct wbuf {
	uint8_t b[512];
	size_t n;
};
static void put8(struct wbuf *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void put16(struct wbuf *w, unsigned v) { put8(w, v >> 8); put8(w, v); }
static void put24(struct wbuf *w, unsigned v) { put8(w, v >> 16); put16(w, v & 0xffff); }
static void patch16(struct wbuf *w, size_t at, size_t v) { w->b[at] = (uint8_t)(v >> 8); w->b[at + 1] = (uint8_t)v; }

static size_t client_hello(uint8_t *out, const char *sni)
{
	struct wbuf w = { .n = 0 };
	size_t rec_len, hs_len, ext_len, n = strlen(sni);

	put8(&w, 0x16); put16(&w, 0x0301); rec_len = w.n; put16(&w, 0);
	put8(&w, 0x01); hs_len = w.n; put24(&w, 0);
	put16(&w, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(&w, (unsigned)i);
	put8(&w, 0);                                  /* session id */
	put16(&w, 6); put16(&w, 0x1301); put16(&w, 0x1302); put16(&w, 0xc02f);
	put8(&w, 1); put8(&w, 0);                     /* compression: null */
	ext_len = w.n; put16(&w, 0);
	put16(&w, 0x0000); put16(&w, (unsigned)n + 5); /* server_name */
	put16(&w, (unsigned)n + 3); put8(&w, 0); put16(&w, (unsigned)n);
	memcpy(w.b + w.n, sni, n); w.n += n;
	put16(&w, 0x0010); put16(&w, 5); put16(&w, 3); put8(&w, 2); put8(&w, 'h'); put8(&w, '2');
	put16(&w, 0x002b); put16(&w, 5); put8(&w, 4); put16(&w, 0x0304); put16(&w, 0x0303);
	put16(&w, 0x000a); put16(&w, 4); put16(&w, 2); put16(&w, 0x001d);
	patch16(&w, ext_len, w.n - ext_len - 2);
	patch16(&w, rec_len, w.n - rec_len - 2);
	w.b[hs_len] = 0;
	patch16(&w, hs_len + 1, w.n - hs_len - 3);
	memcpy(out, w.b, w.n);
	return w.n;
}

/* --- one conversation as packets, and the same as kernel events --- */
struct spkt {
	uint32_t t_ms;
	bool to_server;
	uint8_t flags;
	uint32_t seq;
	uint32_t off, len;      /* payload: bytes [off, off+len) of the stream */
};

static const uint8_t cli_ip[4] = { 10, 0, 0, 1 }, srv_ip[4] = { 192, 0, 2, 10 };
#define CPORT 50000
#define SPORT 443

static struct packet mk(const struct spkt *s, const uint8_t *cstream, const uint8_t *sstream)
{
	struct packet p;
	memset(&p, 0, sizeof(p));
	p.ts_ns = T0 + s->t_ms * MS;
	p.l3 = NET_ADDR_V4;
	p.l4proto = IPPROTO_TCP;
	p.flags = PKT_L4;
	p.tcp_flags = s->flags;
	p.seq = s->seq;
	net_addr_set_v4(&p.src, s->to_server ? cli_ip : srv_ip);
	net_addr_set_v4(&p.dst, s->to_server ? srv_ip : cli_ip);
	p.sport = s->to_server ? CPORT : SPORT;
	p.dport = s->to_server ? SPORT : CPORT;
	p.ip_len = 40 + s->len;
	p.wire_len = p.cap_len = 14 + p.ip_len;
	p.payload_len = p.payload_caplen = s->len;
	p.payload = (s->to_server ? cstream : sstream) + s->off;
	return p;
}

static uint8_t cstream[600], sstream[2000];
static size_t hello_len;

/* Client SYN seq 100, SYN-ACK seq 5000, ACK, the hello in two segments,
 * server data and ACK, FIN both ways, last ACK. */
static size_t conversation(struct spkt *out)
{
	size_t n = 0;
	uint32_t h1;

	hello_len = client_hello(cstream, "outlook.office365.com");
	h1 = (uint32_t)hello_len / 2;
	for (size_t i = 0; i < sizeof(sstream); i++)
		sstream[i] = (uint8_t)(i * 7);
	out[n++] = (struct spkt){ 0, true, TCPF_SYN, 100, 0, 0 };
	out[n++] = (struct spkt){ 10, false, TCPF_SYN | TCPF_ACK, 5000, 0, 0 };
	out[n++] = (struct spkt){ 20, true, TCPF_ACK, 101, 0, 0 };
	out[n++] = (struct spkt){ 30, true, TCPF_PSH | TCPF_ACK, 101, 0, h1 };
	out[n++] = (struct spkt){ 31, true, TCPF_PSH | TCPF_ACK, 101 + h1, h1, (uint32_t)hello_len - h1 };
	out[n++] = (struct spkt){ 40, false, TCPF_ACK, 5001, 0, 0 };
	out[n++] = (struct spkt){ 50, false, TCPF_PSH | TCPF_ACK, 5001, 0, 1400 };
	out[n++] = (struct spkt){ 51, false, TCPF_PSH | TCPF_ACK, 6401, 1400, 600 };
	out[n++] = (struct spkt){ 60, true, TCPF_ACK, 101 + (uint32_t)hello_len, 0, 0 };
	out[n++] = (struct spkt){ 70, true, TCPF_FIN | TCPF_ACK, 101 + (uint32_t)hello_len, 0, 0 };
	out[n++] = (struct spkt){ 80, false, TCPF_FIN | TCPF_ACK, 7001, 0, 0 };
	out[n++] = (struct spkt){ 90, true, TCPF_ACK, 102 + (uint32_t)hello_len, 0, 0 };
	return n;
}

static void conv_key(struct flow_key *k, bool *client_is_a)
{
	struct net_addr c, s;
	bool swapped;
	net_addr_set_v4(&c, cli_ip);
	net_addr_set_v4(&s, srv_ip);
	flow_key_make(k, &c, CPORT, &s, SPORT, IPPROTO_TCP, (const uint16_t[2]){ 0, 0 }, &swapped);
	*client_is_a = !swapped;
}

/* Kernel-style cumulative counters after packets [0, upto). */
static void counters_upto(const struct spkt *sp, size_t upto, bool client_is_a,
			  struct agg_ext_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < upto; i++) {
		struct packet p = mk(&sp[i], cstream, sstream);
		int e = sp[i].to_server == client_is_a ? 0 : 1; /* sent by a? */
		c->pkts[e]++;
		c->bytes[e] += p.wire_len;
		c->payload_bytes[e] += p.payload_len;
		c->tcp_flags[e] |= p.tcp_flags;
		if (!c->first_ns)
			c->first_ns = p.ts_ns;
		c->last_ns = p.ts_ns;
	}
}

static const struct rec *final_rec(const struct sink *k)
{
	for (size_t i = 0; i < k->n && i < ARRAY_LEN(k->r); i++)
		if (!k->r[i].is_update)
			return &k->r[i];
	return NULL;
}

static void test_agg_ext__same_record_as_packets(void)
{
	struct catalog *cat = test_catalog();
	struct sink kp, ke;
	struct aggregator *ap = agg(&kp, cat, 0), *ae = agg(&ke, cat, 0);
	struct spkt sp[16];
	size_t n = conversation(sp);
	struct agg_ext_counters c;
	struct flow_key key;
	bool cia;
	uint32_t seg = 0;
	const struct rec *rp, *re;

	/* packets */
	for (size_t i = 0; i < n; i++) {
		struct packet p = mk(&sp[i], cstream, sstream);
		agg_packet(ap, &p);
	}
	agg_ext_tick(ap, T0 + 10 * SEC); /* also works for packet flows */

	/* the kernel's view: FLOW_START after the SYN, the client's payload
	 * segments, FLOW_END on each FIN, then periodic reads */
	conv_key(&key, &cia);
	counters_upto(sp, 1, cia, &c);
	agg_ext_flow(ae, &key, cia, &c);
	for (size_t i = 0; i < n; i++) {
		if (sp[i].to_server && sp[i].len) {
			struct packet p = mk(&sp[i], cstream, sstream);
			agg_ext_payload(ae, &key, sp[i].to_server == cia, p.tcp_flags, p.seq, seg++,
					p.payload, p.payload_caplen, p.payload_len, p.ts_ns);
		}
		if (sp[i].flags & TCPF_FIN) {
			counters_upto(sp, i + 1, cia, &c);
			agg_ext_flow(ae, &key, cia, &c);
		}
	}
	counters_upto(sp, n, cia, &c);
	agg_ext_flow(ae, &key, cia, &c);
	agg_ext_tick(ae, T0 + 1 * SEC); /* linger not over: nothing ends */
	CHECK_EQ_U(ke.n, 0);
	agg_ext_tick(ae, T0 + 10 * SEC);

	CHECK_EQ_U(kp.n, 1);
	CHECK_EQ_U(ke.n, 1);
	rp = final_rec(&kp);
	re = final_rec(&ke);
	CHECK(rp && re);
	if (!rp || !re)
		goto out;
	CHECK(!memcmp(&rp->f.key, &re->f.key, sizeof(rp->f.key)));
	CHECK_EQ_U(rp->f.client_is_a, re->f.client_is_a);
	CHECK_EQ_U(rp->why, FLOW_END_FIN);
	CHECK_EQ_U(re->why, rp->why);
	CHECK_EQ_U(re->ts_ns, rp->ts_ns);
	CHECK_EQ_U(re->f.first_ns, rp->f.first_ns);
	CHECK_EQ_U(re->f.last_ns, rp->f.last_ns);
	for (int d = 0; d < 2; d++) {
		CHECK_EQ_U(re->f.dir[d].pkts, rp->f.dir[d].pkts);
		CHECK_EQ_U(re->f.dir[d].bytes, rp->f.dir[d].bytes);
		CHECK_EQ_U(re->f.dir[d].payload_bytes, rp->f.dir[d].payload_bytes);
		CHECK_EQ_U(re->f.dir[d].tcp_flags, rp->f.dir[d].tcp_flags);
		CHECK_EQ_U(re->delta[d], rp->delta[d]);
	}
	CHECK_EQ_U(rp->f.dir[FLOW_TOSERVER].pkts, 7);
	CHECK_EQ_U(rp->f.dir[FLOW_TOCLIENT].payload_bytes, 2000);
	CHECK_STREQ(rp->f.history, "ShADadFf");
	CHECK_STREQ(re->f.history, rp->f.history);
	CHECK(rp->has_ident && re->has_ident);
	CHECK_STREQ(rp->id.sni, "outlook.office365.com");
	CHECK_STREQ(re->id.sni, rp->id.sni);
	CHECK_STREQ(re->id.ja3, rp->id.ja3);
	CHECK_STREQ(re->id.ja4, rp->id.ja4);
	CHECK_STREQ(re->id.alpn, rp->id.alpn);
	CHECK_EQ_U(re->id.tls_version, rp->id.tls_version);
	CHECK_EQ_U(re->id.app_proto, APP_PROTO_TLS);
	CHECK_EQ_U(re->id.classified_by, APP_BY_SNI);
	CHECK(re->id.has_match);
	CHECK_STREQ(re->id.provider, "microsoft365");
	CHECK_STREQ(re->id.service, "web");
out:
	agg_free(ap);
	agg_free(ae);
	catalog_free(cat);
}

/* A hello split over two payload records with a retransmission between and a
 * retransmitted segment still give the SNI; a flow seen only through its
 * payload is created with the sender as client. */
static void test_agg_ext__hello_split_retransmitted(void)
{
	struct catalog *cat = test_catalog();
	struct sink k;
	struct aggregator *a = agg(&k, cat, 0);
	struct flow_key key;
	struct net_addr srv;
	uint16_t port = 0;
	bool cia;
	size_t h1;

	hello_len = client_hello(cstream, "outlook.office365.com");
	h1 = hello_len / 2;
	conv_key(&key, &cia);
	agg_ext_payload(a, &key, cia, TCPF_PSH | TCPF_ACK, 1000, 0, cstream, h1, h1, T0);
	agg_ext_payload(a, &key, cia, TCPF_PSH | TCPF_ACK, 1000, 2, cstream, h1, h1, T0 + MS);
	agg_ext_payload(a, &key, cia, TCPF_PSH | TCPF_ACK, 1000 + (uint32_t)h1, 1, cstream + h1,
			hello_len - h1, hello_len - h1, T0 + 2 * MS);
	CHECK(agg_ext_mail_server(a, &key, &srv, &port));
	CHECK_EQ_U(port, 443);
	CHECK(!memcmp(srv.b, srv_ip, 4));
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK_STREQ(k.r[0].id.sni, "outlook.office365.com");
	CHECK_EQ_U(k.r[0].f.client_is_a, cia);
	CHECK_EQ_U(k.r[0].why, FLOW_END_EOF);
	agg_free(a);
	catalog_free(cat);
}

/* --- DNS --- */
struct mb {
	uint8_t b[512];
	size_t n;
};
static void mb8(struct mb *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void mb16(struct mb *m, unsigned v) { mb8(m, v >> 8); mb8(m, v); }
static void mbname(struct mb *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		mb8(m, (unsigned)l);
		memcpy(m->b + m->n, s, l);
		m->n += l;
		s += l + (dot ? 1 : 0);
	}
	mb8(m, 0);
}

/* A response for @name: one A record @addr, TTL 600. */
static size_t dns_answer(uint8_t *out, const char *name, const uint8_t addr[4])
{
	struct mb m = { .n = 0 };
	mb16(&m, 0x1234); mb16(&m, 0x8180); mb16(&m, 1); mb16(&m, 1); mb16(&m, 0); mb16(&m, 0);
	mbname(&m, name); mb16(&m, 1); mb16(&m, 1);
	mb16(&m, 0xc00c); mb16(&m, 1); mb16(&m, 1); mb16(&m, 0); mb16(&m, 600); mb16(&m, 4);
	for (int i = 0; i < 4; i++)
		mb8(&m, addr[i]);
	memcpy(out, m.b, m.n);
	return m.n;
}

struct learned {
	int n;
	struct net_addr a[4];
	uint32_t ttl;
	char name[64];
};

static void on_learn(void *arg, const struct net_addr *addr, uint32_t ttl, const char *name)
{
	struct learned *l = arg;
	if (l->n < 4)
		l->a[l->n] = *addr;
	l->n++;
	l->ttl = ttl;
	snprintf(l->name, sizeof(l->name), "%s", name);
}

static void test_agg_ext__dns_names_flow(void)
{
	struct catalog *cat = test_catalog();
	struct sink k;
	struct aggregator *a = agg(&k, cat, 0);
	static const uint8_t resolver[4] = { 10, 0, 0, 53 }, mailsrv[4] = { 198, 51, 100, 7 },
			     other[4] = { 198, 51, 100, 8 };
	uint8_t msg[512], tcpmsg[514];
	struct flow_key dkey, fkey;
	struct net_addr r, c, s;
	struct learned l = { 0 };
	struct agg_ext_counters cn;
	bool sw;
	size_t len;
	struct agg_ext_stats est;
	static const struct agg_observer ob = { .dns_learned = on_learn };

	agg_set_observer(a, &ob, &l);
	net_addr_set_v4(&r, resolver);
	net_addr_set_v4(&c, cli_ip);
	flow_key_make(&dkey, &r, 53, &c, 40000, IPPROTO_UDP, (const uint16_t[2]){ 0, 0 }, &sw);
	len = dns_answer(msg, "outlook.office365.com", mailsrv);
	agg_ext_dns(a, &dkey, msg, len, T0);
	CHECK_EQ_I(l.n, 1);
	CHECK(!memcmp(l.a[0].b, mailsrv, 4));
	CHECK_EQ_U(l.ttl, 600);
	CHECK_STREQ(l.name, "outlook.office365.com");
	/* a name the catalog does not know: cached, but nothing to learn */
	len = dns_answer(msg, "www.example.org", other);
	agg_ext_dns(a, &dkey, msg, len, T0);
	CHECK_EQ_I(l.n, 1);
	/* DNS over TCP: 2-byte framing */
	len = dns_answer(tcpmsg + 2, "outlook.office365.com", other);
	tcpmsg[0] = (uint8_t)(len >> 8);
	tcpmsg[1] = (uint8_t)len;
	flow_key_make(&dkey, &r, 53, &c, 40001, IPPROTO_TCP, (const uint16_t[2]){ 0, 0 }, &sw);
	agg_ext_dns(a, &dkey, tcpmsg, len + 2, T0);
	CHECK_EQ_I(l.n, 2);
	agg_ext_get_stats(a, &est);
	CHECK_EQ_U(est.dns, 3);
	CHECK_EQ_U(est.learned, 2);
	/* no DNS flow was created */
	agg_finish(a);
	CHECK_EQ_U(k.n, 0);

	/* a flow to the learned address, no ClientHello seen: named by DNS */
	net_addr_set_v4(&s, mailsrv);
	flow_key_make(&fkey, &c, 50001, &s, 443, IPPROTO_TCP, (const uint16_t[2]){ 0, 0 }, &sw);
	memset(&cn, 0, sizeof(cn));
	cn.pkts[sw ? 1 : 0] = 1;
	cn.bytes[sw ? 1 : 0] = 74;
	cn.tcp_flags[sw ? 1 : 0] = TCPF_SYN;
	cn.first_ns = cn.last_ns = T0 + SEC;
	agg_ext_flow(a, &fkey, !sw, &cn);
	agg_finish(a);
	CHECK_EQ_U(k.n, 1);
	CHECK(k.r[0].has_ident);
	CHECK_STREQ(k.r[0].id.dns_name, "outlook.office365.com");
	CHECK_EQ_U(k.r[0].id.classified_by, APP_BY_DNS);
	CHECK_STREQ(k.r[0].id.provider, "microsoft365");
	CHECK_EQ_U(k.r[0].f.dir[FLOW_TOSERVER].pkts, 1);
	CHECK_STREQ(k.r[0].f.history, "S");
	agg_free(a);
	catalog_free(cat);
}

/* --- final counters, idle expiry on the event clock, reuse, interim --- */
struct final_ctx {
	int calls;
	struct agg_ext_counters c;
};

static bool on_final(void *arg, const struct flow *f, struct agg_ext_counters *out)
{
	struct final_ctx *x = arg;
	x->calls++;
	*out = x->c;
	return true;
}

static void test_agg_ext__final_counters_and_expiry(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, NULL, 0);
	struct final_ctx x = { 0 };
	struct flow_key key;
	struct agg_ext_counters c;
	struct agg_ext_stats st;
	bool cia;

	conv_key(&key, &cia);
	memset(&c, 0, sizeof(c));
	c.pkts[0] = c.pkts[1] = 3;
	c.bytes[0] = c.bytes[1] = 300;
	c.payload_bytes[1] = 100;
	c.tcp_flags[0] = c.tcp_flags[1] = TCPF_ACK | TCPF_SYN;
	c.first_ns = T0;
	c.last_ns = T0 + SEC;
	agg_ext_flow(a, &key, cia, &c);
	x.c = c;
	x.c.pkts[0] = 4;
	x.c.bytes[0] = 400;
	x.c.last_ns = T0 + 2 * SEC;
	static const struct agg_observer ob = { .flow_ending = on_final };
	agg_set_observer(a, &ob, &x);
	/* established TCP: 3600 s idle timeout, on the event clock */
	agg_ext_tick(a, T0 + 3600 * SEC);
	CHECK_EQ_U(k.n, 0);
	agg_ext_tick(a, T0 + 3602 * SEC);
	CHECK_EQ_U(k.n, 1);
	CHECK_EQ_I(x.calls, 1);
	CHECK_EQ_U(k.r[0].why, FLOW_END_TIMEOUT);
	CHECK_EQ_U(k.r[0].f.dir[0].pkts + k.r[0].f.dir[1].pkts, 7);
	CHECK_EQ_U(k.r[0].f.dir[0].bytes + k.r[0].f.dir[1].bytes, 700);
	CHECK_EQ_U(k.r[0].f.last_ns, T0 + 2 * SEC);

	/* explicit end with counters in hand: no final callback */
	agg_ext_flow(a, &key, cia, &c);
	CHECK(agg_ext_flow_end(a, &key, cia, FLOW_END_REUSED, &c));
	CHECK_EQ_I(x.calls, 1);
	CHECK_EQ_U(k.n, 2);
	CHECK_EQ_U(k.r[1].why, FLOW_END_REUSED);
	CHECK(!agg_ext_flow_end(a, &key, cia, FLOW_END_FIN, NULL));

	/* counters that go down: a new flow on the same 5-tuple */
	agg_ext_flow(a, &key, cia, &c);
	memcpy(&x.c, &c, sizeof(c));
	x.c.pkts[0] = x.c.pkts[1] = 1;
	x.c.last_ns = T0 + 4000 * SEC;
	agg_ext_flow(a, &key, cia, &x.c);
	CHECK_EQ_U(k.n, 3);
	CHECK_EQ_U(k.r[2].why, FLOW_END_REUSED);
	CHECK_EQ_I(x.calls, 1);
	agg_set_observer(a, NULL, NULL);
	agg_finish(a);
	CHECK_EQ_U(k.n, 4);
	CHECK_EQ_U(k.r[3].why, FLOW_END_EOF);
	CHECK_EQ_U(k.r[3].f.dir[0].pkts, 1);
	agg_ext_get_stats(a, &st);
	CHECK_EQ_U(st.created, 4);
	CHECK_EQ_U(st.reused, 1);
	CHECK_EQ_U(st.finals, 1);
	agg_free(a);
}

static void test_agg_ext__interim_updates(void)
{
	struct sink k;
	struct aggregator *a = agg(&k, NULL, 60);
	struct flow_key key;
	struct agg_ext_counters c;
	bool cia;

	conv_key(&key, &cia);
	memset(&c, 0, sizeof(c));
	c.first_ns = c.last_ns = T0;
	for (int t = 0; t <= 150; t += 10) {
		c.pkts[0] += 2;
		c.bytes[0] += 200;
		c.pkts[1] += 1;
		c.bytes[1] += 1000;
		c.tcp_flags[0] = c.tcp_flags[1] = TCPF_ACK;
		c.last_ns = T0 + (uint64_t)t * SEC;
		agg_ext_flow(a, &key, cia, &c);
		agg_ext_flow(a, &key, cia, &c); /* a read without activity: no update */
	}
	/* updates at 60 s and 120 s, each with the bytes since the last one */
	CHECK_EQ_U(k.n, 2);
	CHECK(k.r[0].is_update && k.r[1].is_update);
	CHECK_EQ_U(k.r[0].ts_ns, T0 + 60 * SEC);
	CHECK_EQ_U(k.r[0].delta[0] + k.r[0].delta[1], 7 * 1200);
	CHECK_EQ_U(k.r[1].delta[0] + k.r[1].delta[1], 6 * 1200);
	agg_finish(a);
	CHECK_EQ_U(k.n, 3);
	CHECK_EQ_U(k.r[2].delta[0] + k.r[2].delta[1], 3 * 1200);
	agg_free(a);
}

int main(void)
{
	RUN(test_agg_ext__same_record_as_packets);
	RUN(test_agg_ext__hello_split_retransmitted);
	RUN(test_agg_ext__dns_names_flow);
	RUN(test_agg_ext__final_counters_and_expiry);
	RUN(test_agg_ext__interim_updates);
	return CHECK_DONE();
}
