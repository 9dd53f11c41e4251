/* SPDX-License-Identifier: MIT */
/* app-layer.c -- DNS learning, ClientHello reassembly and parsing,
 * STARTTLS, and catalog classification.  See app-layer.h. */
#include "app-layer.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns-cache.h"
#include "stream-prefix.h"

#define DNS_PORT 53
#define UDP_HLEN 8

/* Fragmented DNS responses (large answers over a small path MTU) are put
 * back together in a few fixed slots; the oldest slot is reused. */
#define DNS_FRAG_SLOTS 32
#define DNS_FRAG_BYTES 8192            /* UDP payload kept per datagram */
#define DNS_FRAG_BLOCKS (DNS_FRAG_BYTES / 8)

struct dns_frag {
	struct net_addr src, dst;
	uint32_t id;
	uint8_t used, bad, have_last, pad;
	uint32_t total;                 /* UDP payload length, once known */
	uint32_t got;                   /* UDP payload bytes received */
	uint64_t ts_ns;
	uint8_t seen[DNS_FRAG_BLOCKS / 8]; /* 8-byte blocks of IP payload seen */
	uint8_t buf[DNS_FRAG_BYTES];
};

struct reasm_slot {
	struct stream_prefix sp;
	uint32_t next_free;
	uint32_t tls_off;        /* where TLS starts in the stream (STARTTLS) */
	uint8_t tls_off_known;
	uint8_t srv_tls_base;    /* server side after STARTTLS: its TLS start is set */
	uint8_t buf[APP_REASM_BYTES];
};

struct quic_slot {
	struct quic_flow qf;
	uint32_t next_free;
};

/* A QUIC datagram decrypts into this (UDP payload at most 65527 bytes). */
#define QUIC_SCRATCH 65536

struct app_layer {
	struct app_config cfg;
	const struct catalog *cat;     /* borrowed */
	struct dns_cache *dns;         /* owned */
	struct flow_ident *idents;     /* pool, cfg.ident_slots */
	uint32_t ident_free, ident_hw; /* free list (through reasm_slot), high water */
	struct reasm_slot *reasm;      /* pool, cfg.reasm_slots */
	uint32_t reasm_free, reasm_hw;
	struct quic_slot *quic;        /* pool, cfg.quic_slots */
	uint32_t quic_free, quic_hw;
	uint8_t *quic_scratch;         /* QUIC_SCRATCH bytes */
	struct tls_hello hello;        /* scratch */
	struct tls_cert_names certs;   /* scratch */
	uint8_t cert_scratch[TLS_CERT_HS_MAX];
	struct dns_response dnsr;      /* scratch */
	struct dns_frag dns_frags[DNS_FRAG_SLOTS];
	struct app_stats st;
	app_dns_learned_fn *learned_fn;/* subscriber to learned addresses, or NULL */
	void *learned_arg;
};

void app_config_default(struct app_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ident_slots = 1u << 16;
	cfg->reasm_slots = 1024;
	cfg->quic_slots = 256;
	cfg->dns_cache_entries = 1u << 16;
	cfg->dns_ttl_floor_s = 300;
}

struct app_layer *app_new(const struct app_config *cfg, const struct catalog *cat)
{
	struct app_layer *app = calloc(1, sizeof(*app));
	if (!app)
		return NULL;
	app->cfg = *cfg;
	if (!app->cfg.ident_slots)
		app->cfg.ident_slots = 1;
	if (!app->cfg.reasm_slots)
		app->cfg.reasm_slots = 1;
	if (!app->cfg.quic_slots)
		app->cfg.quic_slots = 1;
	app->cat = cat;
	app->ident_free = app->reasm_free = app->quic_free = FLOW_NIL;
	app->idents = calloc(app->cfg.ident_slots, sizeof(*app->idents));
	app->reasm = calloc(app->cfg.reasm_slots, sizeof(*app->reasm));
	app->quic = calloc(app->cfg.quic_slots, sizeof(*app->quic));
	app->quic_scratch = malloc(QUIC_SCRATCH);
	app->dns = dns_cache_new(cfg->dns_cache_entries ? cfg->dns_cache_entries : 1,
				 cfg->dns_ttl_floor_s, cfg->seed);
	if (!app->idents || !app->reasm || !app->quic || !app->quic_scratch || !app->dns) {
		app_free(app);
		errno = ENOMEM;
		return NULL;
	}
	return app;
}

void app_free(struct app_layer *app)
{
	if (!app)
		return;
	dns_cache_free(app->dns);
	free(app->idents);
	free(app->reasm);
	free(app->quic);
	free(app->quic_scratch);
	free(app);
}

void app_get_stats(const struct app_layer *app, struct app_stats *out)
{
	*out = app->st;
}

const char *app_classified_by_name(uint8_t by)
{
	static const char *const names[] = { NULL, "sni", "dns", "cert", "ip" };
	return by < sizeof(names) / sizeof(names[0]) ? names[by] : NULL;
}

const char *app_proto_name(uint8_t proto)
{
	static const char *const names[] = { NULL, "tls", "smtp", "imap", "pop3", "http", "dns",
					     "quic" };
	return proto < sizeof(names) / sizeof(names[0]) ? names[proto] : NULL;
}

const char *app_tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0304: return "1.3";
	case 0x0303: return "1.2";
	case 0x0302: return "1.1";
	case 0x0301: return "1.0";
	case 0x0300: return "ssl3";
	default: return NULL;
	}
}

/* --- pools --- */

static struct flow_ident *ident_get(struct app_layer *app, struct flow *f, bool create)
{
	uint32_t idx;
	struct flow_ident *id;

	if (f->app_slot != FLOW_NIL)
		return &app->idents[f->app_slot];
	if (!create)
		return NULL;
	if (app->ident_free != FLOW_NIL) {
		idx = app->ident_free;
		app->ident_free = app->idents[idx].reasm_slot;
	} else if (app->ident_hw < app->cfg.ident_slots) {
		idx = app->ident_hw++;
	} else {
		app->st.ident_exhausted++;
		return NULL;
	}
	id = &app->idents[idx];
	memset(id, 0, sizeof(*id));
	id->reasm_slot = id->reasm_srv = id->quic_slot = FLOW_NIL;
	f->app_slot = idx;
	return id;
}

static void ident_put(struct app_layer *app, struct flow *f)
{
	struct flow_ident *id;
	if (f->app_slot == FLOW_NIL)
		return;
	id = &app->idents[f->app_slot];
	if (id->reasm_slot != FLOW_NIL) {
		app->reasm[id->reasm_slot].next_free = app->reasm_free;
		app->reasm_free = id->reasm_slot;
	}
	if (id->reasm_srv != FLOW_NIL) {
		app->reasm[id->reasm_srv].next_free = app->reasm_free;
		app->reasm_free = id->reasm_srv;
	}
	if (id->quic_slot != FLOW_NIL) {
		app->quic[id->quic_slot].next_free = app->quic_free;
		app->quic_free = id->quic_slot;
		id->quic_slot = FLOW_NIL;
	}
	id->reasm_slot = app->ident_free;
	app->ident_free = f->app_slot;
	f->app_slot = FLOW_NIL;
}

static struct reasm_slot *reasm_get(struct app_layer *app, uint32_t *slot)
{
	uint32_t idx;
	struct reasm_slot *r;

	if (*slot != FLOW_NIL)
		return &app->reasm[*slot];
	if (app->reasm_free != FLOW_NIL) {
		idx = app->reasm_free;
		app->reasm_free = app->reasm[idx].next_free;
	} else if (app->reasm_hw < app->cfg.reasm_slots) {
		idx = app->reasm_hw++;
	} else {
		app->st.reasm_exhausted++;
		return NULL;
	}
	r = &app->reasm[idx];
	stream_prefix_init(&r->sp, r->buf, sizeof(r->buf));
	r->tls_off = 0;
	r->tls_off_known = 0;
	r->srv_tls_base = 0;
	*slot = idx;
	return r;
}

static void reasm_put(struct app_layer *app, uint32_t *slot)
{
	if (*slot == FLOW_NIL)
		return;
	app->reasm[*slot].next_free = app->reasm_free;
	app->reasm_free = *slot;
	*slot = FLOW_NIL;
}

static struct quic_flow *quic_get(struct app_layer *app, uint32_t *slot)
{
	uint32_t idx;

	if (*slot != FLOW_NIL)
		return &app->quic[*slot].qf;
	if (app->quic_free != FLOW_NIL) {
		idx = app->quic_free;
		app->quic_free = app->quic[idx].next_free;
	} else if (app->quic_hw < app->cfg.quic_slots) {
		idx = app->quic_hw++;
	} else {
		app->st.quic_exhausted++;
		return NULL;
	}
	quic_flow_init(&app->quic[idx].qf);
	*slot = idx;
	return &app->quic[idx].qf;
}

static void quic_put(struct app_layer *app, uint32_t *slot)
{
	if (*slot == FLOW_NIL)
		return;
	app->quic[*slot].next_free = app->quic_free;
	app->quic_free = *slot;
	*slot = FLOW_NIL;
}

static void finish_classify(struct app_layer *app, struct flow *f, struct flow_ident *id);

/* --- flow endpoints --- */

static const struct net_addr *server_addr(const struct flow *f)
{
	return f->client_is_a ? &f->key.b : &f->key.a;
}

static uint16_t server_port(const struct flow *f)
{
	return f->client_is_a ? f->key.port_b : f->key.port_a;
}

/* --- classification --- */

static void classify(struct app_layer *app, struct flow_ident *id, const struct flow *f)
{
	uint16_t port = server_port(f);
	const char *name = NULL;
	uint8_t by = APP_BY_NONE;

	struct catalog_match m;

	id->has_match = 0;
	id->classified_by = APP_BY_NONE;
	id->provider[0] = id->service[0] = '\0';
	if (!app->cat)
		return;
	if (id->sni[0]) {
		name = id->sni;
		by = APP_BY_SNI;
	} else if (id->dns_name[0]) {
		name = id->dns_name;
		by = APP_BY_DNS;
	} else if (id->cert_name[0]) {
		name = id->cert_name;
		by = APP_BY_CERT;
	}
	if (name) {
		if (!catalog_lookup_name(app->cat, name, port, &m))
			return;
	} else if (catalog_lookup_addr(app->cat, server_addr(f), port, &m)) {
		by = APP_BY_IP;
	} else {
		return;
	}
	id->has_match = 1;
	id->classified_by = by;
	snprintf(id->provider, sizeof(id->provider), "%s", m.provider ? m.provider : "");
	snprintf(id->service, sizeof(id->service), "%s", m.service ? m.service : "");
}

void app_set_catalog(struct app_layer *app, const struct catalog *cat)
{
	app->cat = cat;
}

void app_flow_new(struct app_layer *app, struct flow *f, uint64_t now_ns)
{
	const char *name = dns_cache_get(app->dns, server_addr(f), now_ns);
	struct flow_ident *id;
	struct catalog_match m;

	if (f->key.proto != IPPROTO_TCP && f->key.proto != IPPROTO_UDP)
		return;
	if (!name && !(app->cat && catalog_lookup_addr(app->cat, server_addr(f), server_port(f), &m)))
		return; /* nothing to say yet; TCP flows may still show a hello */
	id = ident_get(app, f, true);
	if (!id)
		return;
	if (name)
		snprintf(id->dns_name, sizeof(id->dns_name), "%s", name);
	classify(app, id, f);
}

const struct flow_ident *app_flow_ident(const struct app_layer *app, const struct flow *f)
{
	return f->app_slot == FLOW_NIL ? NULL : &app->idents[f->app_slot];
}

void app_flow_flush(struct app_layer *app, struct flow *f)
{
	struct flow_ident *id;
	if (f->app_slot == FLOW_NIL)
		return;
	id = &app->idents[f->app_slot];
	if (id->cert_pending) {
		id->cert_pending = 0;
		reasm_put(app, &id->reasm_srv);
		finish_classify(app, f, id);
	}
}

void app_flow_end(struct app_layer *app, struct flow *f)
{
	ident_put(app, f);
}

/* --- DNS --- */

static void dns_learn_message(struct app_layer *app, const uint8_t *msg, size_t len,
			      uint64_t ts_ns)
{
	enum dns_result r = dns_response_parse(msg, len, &app->dnsr);
	struct catalog_match m;

	if (r == DNS_NOT_RESPONSE)
		return;
	app->st.dns_responses++;
	if (r != DNS_OK) {
		app->st.dns_bad++;
		return;
	}
	app->st.dns_answers += app->dnsr.n_answers;
	dns_cache_learn(app->dns, &app->dnsr, ts_ns);
	/* the one place a learned address is announced (see app-layer.h) */
	if (!app->learned_fn || !app->cat || !app->dnsr.n_answers || !app->dnsr.qname[0] ||
	    !catalog_lookup_name(app->cat, app->dnsr.qname, CATALOG_PORT_ANY, &m))
		return;
	for (unsigned i = 0; i < app->dnsr.n_answers; i++)
		app->learned_fn(app->learned_arg, &app->dnsr.answers[i].addr,
				app->dnsr.answers[i].ttl, app->dnsr.qname);
}

void app_set_dns_learned_fn(struct app_layer *app, app_dns_learned_fn *fn, void *arg)
{
	app->learned_fn = fn;
	app->learned_arg = arg;
}

static struct dns_frag *dns_frag_slot(struct app_layer *app, const struct packet *p)
{
	struct dns_frag *oldest = &app->dns_frags[0];
	for (int i = 0; i < DNS_FRAG_SLOTS; i++) {
		struct dns_frag *d = &app->dns_frags[i];
		if (d->used && d->id == p->frag_id && !net_addr_cmp(&d->src, &p->src) &&
		    !net_addr_cmp(&d->dst, &p->dst))
			return d;
		if (!d->used || (oldest->used && d->ts_ns < oldest->ts_ns))
			oldest = d;
	}
	memset(oldest, 0, offsetof(struct dns_frag, buf));
	oldest->used = 1;
	oldest->src = p->src;
	oldest->dst = p->dst;
	oldest->id = p->frag_id;
	oldest->ts_ns = p->ts_ns;
	return oldest;
}

/* One fragment of a UDP datagram from port 53.  IP payload offset 0 is the
 * UDP header; DNS starts at offset 8. */
static void dns_fragment(struct app_layer *app, const struct packet *p)
{
	struct dns_frag *d = dns_frag_slot(app, p);
	uint32_t ip_off = p->frag_off, len = p->payload_len, dns_off;

	if (d->bad)
		return;
	if (p->payload_caplen != p->payload_len) { /* snapped: cannot rebuild */
		d->bad = 1;
		return;
	}
	if (ip_off == 0) { /* the first fragment's payload starts after UDP */
		ip_off = UDP_HLEN;
	}
	if (ip_off < UDP_HLEN || ip_off + len > DNS_FRAG_BYTES + UDP_HLEN) {
		d->bad = 1;
		return;
	}
	dns_off = ip_off - UDP_HLEN;
	/* refuse overlaps: mark the 8-byte blocks this fragment covers */
	for (uint32_t b = ip_off / 8; b * 8 < ip_off + len; b++) {
		if (b >= DNS_FRAG_BLOCKS || (d->seen[b / 8] & (1u << (b % 8)))) {
			d->bad = 1;
			return;
		}
		d->seen[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	if (len)
		memcpy(d->buf + dns_off, p->payload, len);
	d->got += len;
	if (!(p->flags & PKT_FRAG_MORE)) {
		d->have_last = 1;
		d->total = dns_off + len;
	}
	if (d->have_last && d->got == d->total) {
		dns_learn_message(app, d->buf, d->total, p->ts_ns);
		d->used = 0;
	}
}

void app_dns_message(struct app_layer *app, uint8_t l4proto, const uint8_t *data, size_t caplen,
		     uint64_t ts_ns)
{
	struct cursor stream, msg;

	if (l4proto == IPPROTO_UDP) {
		dns_learn_message(app, data, caplen, ts_ns);
		return;
	}
	/* DNS over TCP: messages that start at a segment boundary (the usual
	 * case for responses); one split across segments is not parsed. */
	cur_init(&stream, data, caplen);
	while (cur_len(&stream)) {
		if (dns_tcp_next(&stream, &msg) != DNS_OK)
			break;
		dns_learn_message(app, cur_ptr(&msg), cur_len(&msg), ts_ns);
	}
}

/* --- TLS and cleartext mail protocols --- */

static bool starts_with_ci(const uint8_t *b, size_t n, const char *word)
{
	size_t wl = strlen(word);
	if (n < wl)
		return false;
	for (size_t i = 0; i < wl; i++) {
		uint8_t c = b[i];
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		if (c != (uint8_t)word[i])
			return false;
	}
	return true;
}

/* Name a cleartext client stream by its first command. */
static uint8_t guess_cleartext(const uint8_t *b, size_t n)
{
	static const struct { const char *word; uint8_t proto; } words[] = {
		{ "EHLO ", APP_PROTO_SMTP }, { "HELO ", APP_PROTO_SMTP },
		{ "USER ", APP_PROTO_POP3 }, { "CAPA", APP_PROTO_POP3 },
		{ "STLS", APP_PROTO_POP3 }, { "APOP ", APP_PROTO_POP3 },
		{ "GET ", APP_PROTO_HTTP }, { "POST ", APP_PROTO_HTTP },
		{ "PUT ", APP_PROTO_HTTP }, { "HEAD ", APP_PROTO_HTTP },
	};
	size_t i;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (starts_with_ci(b, n, words[i].word))
			return words[i].proto;
	/* IMAP: "<tag> <COMMAND>" */
	for (i = 0; i < n && i < 32 && b[i] != ' ' && b[i] != '\r' && b[i] != '\n'; i++)
		;
	if (i > 0 && i < n && b[i] == ' ') {
		static const char *const imap[] = { "CAPABILITY", "LOGIN ", "AUTHENTICATE ",
						    "STARTTLS", "ID ", "SELECT " };
		for (size_t k = 0; k < sizeof(imap) / sizeof(imap[0]); k++)
			if (starts_with_ci(b + i + 1, n - i - 1, imap[k]))
				return APP_PROTO_IMAP;
	}
	return APP_PROTO_NONE;
}

static bool is_starttls_port(uint16_t port)
{
	return port == 25 || port == 587 || port == 2525 || port == 143 || port == 110;
}

static void hello_copy(struct flow_ident *id, const struct tls_hello *h)
{
	snprintf(id->sni, sizeof(id->sni), "%s", h->has_sni ? h->sni : "");
	size_t alen = h->has_alpn ? strnlen(h->alpn, sizeof(id->alpn) - 1) : 0;
	memcpy(id->alpn, h->alpn, alen);
	id->alpn[alen] = '\0';
	memcpy(id->ja3, h->ja3, sizeof(id->ja3));
	snprintf(id->ja3_str, sizeof(id->ja3_str), "%s", h->ja3_str);
	memcpy(id->ja4, h->ja4, sizeof(id->ja4));
	id->tls_version = h->version;
	id->ech = h->ech;
}

/* Feed client payload; sets f->app_done when there is nothing more to do. */
static void client_payload(struct app_layer *app, struct flow *f, const struct app_segment *p)
{
	struct flow_ident *id;
	struct reasm_slot *r;
	uint16_t port = server_port(f);
	const struct flow_dir *cd = &f->dir[FLOW_TOSERVER];
	size_t n, off;
	enum tls_result tr = TLS_NOT_TLS;

	id = ident_get(app, f, true);
	if (!id) {
		f->app_done = 1;
		return;
	}
	r = reasm_get(app, &id->reasm_slot);
	if (!r) {
		f->app_done = 1;
		return;
	}
	if (cd->isn_valid)
		stream_prefix_set_isn(&r->sp, cd->isn);
	if (p->caplen)
		(void)stream_prefix_add(&r->sp, p->seq, p->data, p->caplen);
	n = stream_prefix_contiguous(&r->sp);
	if (n == 0)
		return;

	if (!r->tls_off_known) {
		struct cursor c;
		uint8_t first = 0;
		cur_init(&c, r->buf, n);
		if (cur_peek_u8(&c, &first) && first == TLS_CONTENT_HANDSHAKE) {
			r->tls_off_known = 1;
		} else if (is_starttls_port(port) &&
			   tls_starttls_offset(r->buf, n, port, &off)) {
			r->tls_off = (uint32_t)off;
			r->tls_off_known = 1;
			id->starttls = 1;
			id->app_proto = guess_cleartext(r->buf, n);
			if (!id->app_proto)
				id->app_proto = port == 143 ? APP_PROTO_IMAP :
						port == 110 ? APP_PROTO_POP3 : APP_PROTO_SMTP;
			app->st.starttls++;
		} else {
			uint8_t guess = guess_cleartext(r->buf, n);
			if (guess && !id->app_proto)
				id->app_proto = guess;
			/* mail protocols may still upgrade: keep collecting */
			if ((is_starttls_port(port) || guess == APP_PROTO_SMTP ||
			     guess == APP_PROTO_IMAP || guess == APP_PROTO_POP3) &&
			    !stream_prefix_complete(&r->sp))
				return;
			app->st.not_tls++;
			goto done;
		}
	}
	if (n <= r->tls_off)
		return;
	tr = tls_client_hello_parse(r->buf + r->tls_off, n - r->tls_off, &app->hello);
	switch (tr) {
	case TLS_NEED_MORE:
		if (stream_prefix_complete(&r->sp)) {
			app->st.hellos_incomplete++;
			goto done;
		}
		return;
	case TLS_OK:
		app->st.hellos++;
		hello_copy(id, &app->hello);
		if (!id->starttls)
			id->app_proto = APP_PROTO_TLS;
		goto done;
	case TLS_NOT_TLS:
		app->st.not_tls++;
		goto done;
	case TLS_INVALID:
		app->st.tls_invalid++;
		goto done;
	}
done:
	f->app_done = 1;
	reasm_put(app, &id->reasm_slot);
	if (tr == TLS_OK && !id->sni[0] && !id->dns_name[0]) {
		/* nothing names the server yet: its certificate may (TLS <= 1.2) */
		id->cert_pending = 1;
		return;
	}
	finish_classify(app, f, id);
}

static void finish_classify(struct app_layer *app, struct flow *f, struct flow_ident *id)
{
	classify(app, id, f);
	if (id->has_match) {
		if (id->classified_by == APP_BY_SNI)
			app->st.by_sni++;
		else if (id->classified_by == APP_BY_DNS)
			app->st.by_dns++;
		else if (id->classified_by == APP_BY_CERT)
			app->st.by_cert++;
		else
			app->st.by_ip++;
	} else if (!app->cfg.keep_unclassified) {
		app->st.unclassified++;
		ident_put(app, f);
	}
}

/* A client UDP datagram of a flow that may be QUIC. */
static void quic_payload(struct app_layer *app, struct flow *f, const struct app_segment *p)
{
	struct flow_ident *id = f->app_slot != FLOW_NIL ? &app->idents[f->app_slot] : NULL;
	struct quic_flow *qf;
	enum quic_dgram r;

	if ((!id || id->quic_slot == FLOW_NIL) &&
	    (!id || !id->quic_version) &&
	    !quic_looks_like(p->data, p->caplen)) {
		f->app_done = 1; /* the first client datagram is not QUIC */
		return;
	}
	id = ident_get(app, f, true);
	if (!id) {
		f->app_done = 1;
		return;
	}
	qf = quic_get(app, &id->quic_slot);
	if (!qf) {
		f->app_done = 1;
		return;
	}
	r = quic_client_datagram(qf, p->data, p->caplen, app->quic_scratch,
				 QUIC_SCRATCH, &app->st.quic);
	if (qf->version) {
		id->quic_version = qf->version;
		id->app_proto = APP_PROTO_QUIC;
	}
	switch (r) {
	case QUIC_DG_MORE:
		return;
	case QUIC_DG_NOT_QUIC:
		if (id->quic_version)
			return; /* a short header among the first datagrams */
		break;
	case QUIC_DG_HELLO:
		if (quic_flow_hello(qf, &app->hello) == TLS_OK) {
			app->st.quic_hellos++;
			hello_copy(id, &app->hello);
		} else {
			app->st.quic_hellos_bad++;
		}
		break;
	case QUIC_DG_CHLO:
		app->st.quic_hellos++;
		snprintf(id->sni, sizeof(id->sni), "%s", qf->sni);
		break;
	case QUIC_DG_FAIL:
		app->st.quic_incomplete++;
		break;
	}
	f->app_done = 1;
	quic_put(app, &id->quic_slot);
	finish_classify(app, f, id);
}

/* Server bytes of a flow waiting for a certificate name. */
static void server_payload(struct app_layer *app, struct flow *f, struct flow_ident *id,
			   const struct app_segment *p)
{
	const struct flow_dir *sd = &f->dir[FLOW_TOCLIENT];
	struct reasm_slot *r = reasm_get(app, &id->reasm_srv);
	enum tls_cert_result cr;
	size_t n;

	if (!r) {
		id->cert_pending = 0;
		finish_classify(app, f, id);
		return;
	}
	if (id->starttls) {
		/* after STARTTLS the server's TLS starts after its cleartext
		 * prelude ("220 Ready to start TLS"), which went by before the
		 * ClientHello was read: the first server segment that opens a
		 * TLS handshake record is the start of the stream to parse */
		if (!r->srv_tls_base) {
			if (p->caplen < 3 || p->data[0] != TLS_CONTENT_HANDSHAKE ||
			    p->data[1] != 3)
				return;
			stream_prefix_set_isn(&r->sp, p->seq);
			r->srv_tls_base = 1;
		}
	} else if (sd->isn_valid) {
		stream_prefix_set_isn(&r->sp, sd->isn);
	}
	(void)stream_prefix_add(&r->sp, p->seq, p->data, p->caplen);
	n = stream_prefix_contiguous(&r->sp);
	if (!n)
		return;
	cr = tls_server_cert_names(r->buf, n, app->cert_scratch, &app->certs);
	if (cr == TLS_CERT_NEED_MORE && !stream_prefix_complete(&r->sp))
		return;
	if (cr == TLS_CERT_OK) {
		struct catalog_match m;
		app->st.certs++;
		/* the first name the catalog knows, else the first name */
		snprintf(id->cert_name, sizeof(id->cert_name), "%s", app->certs.names[0]);
		for (unsigned i = 0; app->cat && i < app->certs.n; i++) {
			char probe[TLS_CERT_NAME_LEN];
			const char *nm = app->certs.names[i];
			/* a wildcard name stands for any one label */
			if (nm[0] == '*' && nm[1] == '.')
				probe[0] = 'x', memcpy(probe + 1, nm + 1, strlen(nm)); /* fits: nm < 256 incl. '*' */
			else
				memcpy(probe, nm, strlen(nm) + 1);
			if (catalog_lookup_name(app->cat, probe, server_port(f), &m)) {
				memcpy(id->cert_name, probe, sizeof(id->cert_name));
				break;
			}
		}
	} else if (cr == TLS_CERT_INVALID) {
		app->st.certs_bad++;
	} else {
		app->st.certs_none++;
	}
	reasm_put(app, &id->reasm_srv);
	id->cert_pending = 0;
	finish_classify(app, f, id);
}

void app_segment(struct app_layer *app, struct flow *f, int dir, const struct app_segment *seg)
{
	uint16_t sport = server_port(f);

	if (sport == DNS_PORT && dir == FLOW_TOCLIENT && seg->caplen) {
		struct flow_ident *id = ident_get(app, f, app->cfg.keep_unclassified);
		if (id)
			id->app_proto = APP_PROTO_DNS;
		app_dns_message(app, f->key.proto, seg->data, seg->caplen, seg->ts_ns);
		return;
	}
	if (dir == FLOW_TOCLIENT && f->app_slot != FLOW_NIL && seg->caplen) {
		struct flow_ident *id = &app->idents[f->app_slot];
		if (id->cert_pending)
			server_payload(app, f, id, seg);
	}
	if (f->app_done || sport == DNS_PORT)
		return;
	if (f->key.proto == IPPROTO_UDP) {
		if (dir == FLOW_TOSERVER && seg->caplen && !seg->fragment)
			quic_payload(app, f, seg);
		return;
	}
	if (f->key.proto != IPPROTO_TCP) {
		f->app_done = 1;
		return;
	}
	if (dir == FLOW_TOSERVER && seg->wirelen)
		client_payload(app, f, seg);
}

void app_packet(struct app_layer *app, struct flow *f, int dir, const struct packet *p)
{
	struct app_segment seg = { .ts_ns = p->ts_ns };

	/* a fragment of a DNS answer over UDP is rebuilt from its fragments;
	 * other fragments of a DNS flow carry nothing we read */
	if ((p->flags & PKT_FRAG) && server_port(f) == DNS_PORT && dir == FLOW_TOCLIENT &&
	    p->payload_caplen) {
		if (p->l4proto == IPPROTO_UDP) {
			struct flow_ident *id = ident_get(app, f, app->cfg.keep_unclassified);
			if (id)
				id->app_proto = APP_PROTO_DNS;
			dns_fragment(app, p);
		}
		return;
	}
	if (p->flags & PKT_L4) { /* a later fragment has no L4 payload to read */
		seg.data = p->payload;
		seg.caplen = p->payload_caplen;
		seg.wirelen = p->payload_len;
		seg.seq = p->seq;
		seg.tcp_flags = p->tcp_flags;
		seg.fragment = !!(p->flags & PKT_FRAG);
	}
	app_segment(app, f, dir, &seg);
}
