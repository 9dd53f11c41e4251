/* SPDX-License-Identifier: MIT */
/*
 * capture-live.c -- live capture front-ends: libpcap on interfaces, and
 * the eBPF programs (TC or XDP) feeding the aggregator's external-flow
 * API.  See capture-live.h and docs/capture.md.
 */
#include "capture-live.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator.h"
#include "app-dns.h"
#include "capture-bpf.h"
#include "catalog.h"
#include "decode.h"
#include "util-log.h"

#define NS 1000000000ull
#define POLL_MS 200              /* longest wait for input */
#define PASS_NS (1 * NS)         /* flow reads, expiry, stats, sensor_tick */
#define LEARN_TTL_FLOOR_S 300    /* as the DNS cache's floor */
#define LEARN_SNI_TTL_S 3600     /* a server named by a mail SNI */
#define LEARN_MAX_BPF 16384      /* learned addresses we keep (eBPF) */
#define LEARN_MAX_PCAP 256       /* ... in the pcap filter (host clauses) */
#define PCAP_LAG_NS (1 * NS)     /* frames may still be in the ring this long */
#define PCAP_DISPATCH_ROUNDS 8   /* pcap_dispatch calls per interface per wakeup */
#define MIRROR_BUCKETS (1u << 16)
#define TAG_CATALOG 1
#define TAG_LEARNED 2

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------ learned addresses */

struct learned {
	struct net_addr a;
	uint64_t expires_ns;     /* wall clock */
};

struct learn_set {
	struct learned *v;
	size_t n, max;
	uint64_t added, expired, refused;
	bool changed;            /* since the last look (pcap filter rebuild) */
};

static struct learned *learn_find(struct learn_set *ls, const struct net_addr *a)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!net_addr_cmp(&ls->v[i].a, a))
			return &ls->v[i];
	return NULL;
}

/* Remember @a until @expires; returns 1 when new, 0 when refreshed, -1
 * when refused (full, or out of memory). */
static int learn_put(struct learn_set *ls, const struct net_addr *a, uint64_t expires)
{
	struct learned *l = learn_find(ls, a);

	if (l) {
		if (expires > l->expires_ns)
			l->expires_ns = expires;
		return 0;
	}
	if (!ls->v) {
		ls->v = calloc(ls->max, sizeof(*ls->v));
		if (!ls->v) {
			ls->refused++;
			return -1;
		}
	}
	if (ls->n == ls->max) {
		ls->refused++;
		return -1;
	}
	ls->v[ls->n].a = *a;
	ls->v[ls->n].expires_ns = expires;
	ls->n++;
	ls->added++;
	ls->changed = true;
	return 1;
}

/* --------------------------------------------------------- common state */

struct live;

struct live_bpf_if {
	struct live *L;
	int idx;
	const char *name;
	int ifindex;
	struct capture_bpf *cb;
};

struct live_pcap_if {
	struct live *L;
	const char *name;
	pcap_t *p;
	int linktype;
	bool nano;
	int fd;
};

/* The kernel's view of one flow: its counters on each interface, plus the
 * packets the flow map refused (FLOW_LOST). */
struct mflow {
	struct mflow *next;
	struct capture_flow_key key;
	struct capture_flow_counters lost;
	struct capture_flow_counters c[]; /* [nif] */
};

struct prefix {
	struct net_addr net;
	unsigned len;
};

struct live {
	struct sensor *s;
	const struct sensor_options *o;
	const char *mode;
	int nif;
	struct live_bpf_if *bif;        /* eBPF: one loader per interface */
	struct live_pcap_if *pif;       /* pcap */
	struct mflow **buckets;    /* eBPF: MIRROR_BUCKETS */
	size_t mflows;
	int64_t mono_off;          /* CLOCK_MONOTONIC -> wall clock */
	const struct catalog *cat; /* the one the prefixes came from */
	struct prefix *prefixes;   /* what we put into the kernel */
	size_t nprefixes, prefix_cap;
	struct learn_set learned;
	uint64_t records, add_addr_fail;
	int err;                   /* a capture error that stops the loop */
};

/* Capture attached: name the mode, tell systemd, first tick. */
static void started(struct live *L)
{
	struct sensor_capture_stats cs = { .mode = L->mode };
	sensor_set_capture_stats(L->s, &cs);
	sensor_ready(L->s);
	sensor_tick(L->s);
}

/* -------------------------------------------------------- key helpers */

static void flow_key_to_capture(const struct flow_key *k, struct capture_flow_key *out)
{
	size_t alen = net_addr_len(&k->a);
	memset(out, 0, sizeof(*out));
	memcpy(out->addr_a, k->a.b, alen);
	memcpy(out->addr_b, k->b.b, alen);
	out->port_a = k->port_a;
	out->port_b = k->port_b;
	out->vlan[0] = k->vlan[0];
	out->vlan[1] = k->vlan[1];
	out->proto = k->proto;
	out->family = k->a.family == NET_ADDR_V6 ? 6 : 4;
	if (k->tunnel_kind) {
		out->tunnel_kind = k->tunnel_kind;
		out->tunnel_id = k->tunnel_id;
	}
}

static uint32_t key_hash(const struct capture_flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (MIRROR_BUCKETS - 1);
}

static struct mflow *mirror_get(struct live *L, const struct capture_flow_key *k, bool create)
{
	uint32_t b = key_hash(k);
	struct mflow *m;

	for (m = L->buckets[b]; m; m = m->next)
		if (!memcmp(&m->key, k, sizeof(*k)))
			return m;
	if (!create)
		return NULL;
	m = calloc(1, sizeof(*m) + (size_t)L->nif * sizeof(m->c[0]));
	if (!m)
		return NULL;
	m->key = *k;
	m->next = L->buckets[b];
	L->buckets[b] = m;
	L->mflows++;
	return m;
}

static void mirror_del(struct live *L, struct mflow *m)
{
	struct mflow **pp = &L->buckets[key_hash(&m->key)];
	while (*pp && *pp != m)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = m->next;
		L->mflows--;
		free(m);
	}
}

static void mirror_free(struct live *L)
{
	if (!L->buckets)
		return;
	for (uint32_t b = 0; b < MIRROR_BUCKETS; b++) {
		struct mflow *m = L->buckets[b];
		while (m) {
			struct mflow *n = m->next;
			free(m);
			m = n;
		}
	}
	free(L->buckets);
	L->buckets = NULL;
}

static uint64_t total_pkts(const struct capture_flow_counters *c)
{
	return c->pkts[0] + c->pkts[1];
}

static void counters_add(struct capture_flow_counters *to, const struct capture_flow_counters *c)
{
	for (int d = 0; d < 2; d++) {
		to->pkts[d] += c->pkts[d];
		to->bytes[d] += c->bytes[d];
		to->payload_bytes[d] += c->payload_bytes[d];
	}
	if (c->first_ns && (!to->first_ns || c->first_ns < to->first_ns))
		to->first_ns = c->first_ns;
	if (c->last_ns > to->last_ns)
		to->last_ns = c->last_ns;
	to->tcp_flags |= c->tcp_flags;
	to->state |= c->state;
	to->client_segs += c->client_segs;
}

/* The flow's counters over every interface, in the aggregator's terms. */
static void mirror_merge(const struct live *L, const struct mflow *m, struct agg_ext_counters *out,
			 bool *client_is_a)
{
	struct capture_flow_counters sum;

	memset(&sum, 0, sizeof(sum));
	for (int i = 0; i < L->nif; i++)
		counters_add(&sum, &m->c[i]);
	counters_add(&sum, &m->lost);
	memset(out, 0, sizeof(*out));
	for (int d = 0; d < 2; d++) {
		out->pkts[d] = sum.pkts[d];
		out->bytes[d] = sum.bytes[d];
		out->payload_bytes[d] = sum.payload_bytes[d];
	}
	out->tcp_flags[0] = (uint8_t)(sum.tcp_flags & 0xff);
	out->tcp_flags[1] = (uint8_t)((sum.tcp_flags >> 8) & 0xff);
	out->first_ns = sum.first_ns ? sum.first_ns + (uint64_t)L->mono_off : 0;
	out->last_ns = sum.last_ns ? sum.last_ns + (uint64_t)L->mono_off : 0;
	*client_is_a = (sum.state & CAPTURE_FS_CLIENT_IS_A) != 0;
}

static void mirror_feed(struct live *L, struct mflow *m)
{
	struct agg_ext_counters c;
	struct flow_key fk;
	bool cia;

	mirror_merge(L, m, &c, &cia);
	if (!c.pkts[0] && !c.pkts[1])
		return;
	capture_bpf_key_to_flow_key(&m->key, &fk);
	agg_ext_flow(sensor_agg(L->s), &fk, cia, &c);
}

/* ----------------------------------------------------------- learning */

static void bpf_learn(struct live *L, const struct net_addr *a, uint32_t ttl_s)
{
	uint64_t now = now_ns(CLOCK_REALTIME);
	int r = learn_put(&L->learned, a, now + (uint64_t)ttl_s * NS);

	if (r != 1)
		return;
	for (int i = 0; i < L->nif; i++)
		if (L->bif && L->bif[i].cb &&
		    capture_bpf_add_addr(L->bif[i].cb, a, TAG_LEARNED, now) < 0)
			L->add_addr_fail++;
}

static void on_dns_learn(void *arg, const struct net_addr *addr, uint32_t ttl_s, const char *name)
{
	struct live *L = arg;
	(void)name;
	if (ttl_s < LEARN_TTL_FLOOR_S)
		ttl_s = LEARN_TTL_FLOOR_S;
	if (L->bif)
		bpf_learn(L, addr, ttl_s);
	else
		learn_put(&L->learned, addr, now_ns(CLOCK_REALTIME) + (uint64_t)ttl_s * NS);
}

/* Drop what expired; true when something did. */
static bool learn_expire(struct live *L, uint64_t now)
{
	struct learn_set *ls = &L->learned;
	bool any = false;

	for (size_t i = 0; i < ls->n;) {
		if (ls->v[i].expires_ns > now) {
			i++;
			continue;
		}
		for (int k = 0; L->bif && k < L->nif; k++)
			if (L->bif[k].cb)
				capture_bpf_del_addr(L->bif[k].cb, &ls->v[i].a);
		ls->v[i] = ls->v[--ls->n];
		ls->expired++;
		any = true;
	}
	if (any)
		ls->changed = true;
	return any;
}

/* =============================================================== eBPF */

static void on_record(void *arg, const union capture_bpf_record *rec)
{
	struct live_bpf_if *bi = arg;
	struct live *L = bi->L;
	struct aggregator *agg = sensor_agg(L->s);
	const struct capture_event *h = &rec->hdr;
	uint64_t ts = h->ts_ns + (uint64_t)L->mono_off;
	struct flow_key fk;
	struct mflow *m;

	L->records++;
	capture_bpf_key_to_flow_key(&h->key, &fk);
	switch (h->type) {
	case CAPTURE_EV_FLOW_START:
	case CAPTURE_EV_FLOW_END:
		m = mirror_get(L, &h->key, true);
		if (!m)
			return;
		if (h->type == CAPTURE_EV_FLOW_END && (h->flags & CAPTURE_EVF_REUSED)) {
			/* the old flow's final counters; the entry restarted */
			struct agg_ext_counters c;
			bool cia;
			m->c[bi->idx] = rec->flow.c;
			mirror_merge(L, m, &c, &cia);
			agg_ext_flow_end(agg, &fk, cia, FLOW_END_REUSED, &c);
			memset(&m->lost, 0, sizeof(m->lost));
			memset(m->c, 0, (size_t)L->nif * sizeof(m->c[0]));
			return;
		}
		/* a record older than a flow-map read already applied is stale */
		if (total_pkts(&rec->flow.c) >= total_pkts(&m->c[bi->idx]))
			m->c[bi->idx] = rec->flow.c;
		mirror_feed(L, m);
		return;
	case CAPTURE_EV_FLOW_LOST:
		m = mirror_get(L, &h->key, true);
		if (!m)
			return;
		counters_add(&m->lost, &rec->flow.c);
		mirror_feed(L, m);
		return;
	case CAPTURE_EV_PAYLOAD: {
		const struct capture_payload_event *p = &rec->payload;
		struct net_addr srv;
		agg_ext_payload(agg, &fk, h->dir == CAPTURE_DIR_AB, h->tcp_flags, p->seq, p->seg_no,
				p->data, p->cap_len, p->payload_len, ts);
		/* a mail server named by its SNI: watch its address too */
		if (agg_ext_mail_server(agg, &fk, &srv, NULL) && !learn_find(&L->learned, &srv))
			bpf_learn(L, &srv, LEARN_SNI_TTL_S);
		return;
	}
	case CAPTURE_EV_DNS: {
		const struct capture_payload_event *p = &rec->payload;
		/* learned addresses come back through the observer */
		agg_ext_dns(agg, &fk, p->data, p->cap_len, ts);
		return;
	}
	default:
		return;
	}
}

static void on_flow_read(void *arg, const struct capture_flow_key *key,
			 const struct capture_flow_counters *c)
{
	struct live_bpf_if *bi = arg;
	struct mflow *m = mirror_get(bi->L, key, true);
	if (!m)
		return;
	m->c[bi->idx] = *c;
	mirror_feed(bi->L, m);
}

/* A flow leaves the aggregator: take it out of every kernel map and hand
 * back its final counters. */
static bool on_final(void *arg, const struct flow *f, struct agg_ext_counters *out)
{
	struct live *L = arg;
	struct capture_flow_key ck;
	struct mflow *m;
	bool cia, any = false;

	flow_key_to_capture(&f->key, &ck);
	m = mirror_get(L, &ck, true);
	for (int i = 0; i < L->nif; i++) {
		struct capture_flow_counters c;
		if (L->bif[i].cb && capture_bpf_take_flow(L->bif[i].cb, &ck, &c) == 0) {
			if (m)
				m->c[i] = c;
			any = true;
		}
	}
	if (!m)
		return false;
	mirror_merge(L, m, out, &cia);
	mirror_del(L, m);
	return any || out->pkts[0] || out->pkts[1];
}

struct prefix_ctx {
	struct live *L;
	int err;
	size_t n;
};

static int add_prefix_cb(const struct net_addr *net, unsigned len, void *arg)
{
	struct prefix_ctx *pc = arg;
	struct live *L = pc->L;

	if (L->nprefixes == L->prefix_cap) {
		size_t nc = L->prefix_cap ? L->prefix_cap * 2 : 256;
		struct prefix *np = realloc(L->prefixes, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		L->prefixes = np;
		L->prefix_cap = nc;
	}
	for (int i = 0; L->bif && i < L->nif; i++) {
		int r = capture_bpf_add_prefix(L->bif[i].cb, net, len, TAG_CATALOG);
		if (r < 0) {
			pc->err = r;
			return r;
		}
	}
	L->prefixes[L->nprefixes].net = *net;
	L->prefixes[L->nprefixes].len = len;
	L->nprefixes++;
	pc->n++;
	return 0;
}

/* (Re)load the kernel prefix map from the aggregator's catalog. */
static int bpf_load_prefixes(struct live *L)
{
	struct prefix_ctx pc = { .L = L };
	const struct catalog *cat = agg_catalog(sensor_agg(L->s));

	for (size_t k = 0; k < L->nprefixes; k++)
		for (int i = 0; i < L->nif; i++)
			capture_bpf_del_prefix(L->bif[i].cb, &L->prefixes[k].net, L->prefixes[k].len);
	L->nprefixes = 0;
	L->cat = cat;
	if (!cat)
		return 0;
	if (catalog_foreach_prefix(cat, add_prefix_cb, &pc) < 0) {
		log_err("%s: cannot load the catalog prefixes into the kernel: %s",
			L->mode, strerror(pc.err ? -pc.err : ENOMEM));
		return pc.err ? pc.err : -ENOMEM;
	}
	return 0;
}

static void bpf_stats(struct live *L, uint64_t out[CAPTURE_STAT_COUNT],
		      struct capture_bpf_user_stats *us)
{
	memset(out, 0, sizeof(uint64_t) * CAPTURE_STAT_COUNT);
	memset(us, 0, sizeof(*us));
	for (int i = 0; i < L->nif; i++) {
		uint64_t v[CAPTURE_STAT_COUNT];
		struct capture_bpf_user_stats u;
		if (!L->bif[i].cb || capture_bpf_read_stats(L->bif[i].cb, v) < 0)
			continue;
		for (int k = 0; k < CAPTURE_STAT_COUNT; k++)
			out[k] += v[k];
		capture_bpf_get_user_stats(L->bif[i].cb, &u);
		us->records += u.records;
		us->short_records += u.short_records;
		us->bad_abi += u.bad_abi;
		us->unknown_type += u.unknown_type;
	}
}

static void bpf_pass(struct live *L, bool final)
{
	uint64_t st[CAPTURE_STAT_COUNT];
	struct capture_bpf_user_stats us;
	struct sensor_capture_stats cs = { .mode = L->mode };

	L->mono_off = capture_bpf_mono_to_realtime_ns();
	for (int i = 0; i < L->nif; i++) {
		int r = capture_bpf_read_flows(L->bif[i].cb, on_flow_read, &L->bif[i]);
		if (r < 0 && !L->err)
			log_err("%s: %s: reading the flow map failed: %s", L->mode,
				L->bif[i].name, strerror(-r));
	}
	bpf_stats(L, st, &us);
	/* records the ring could not take, and records we refused */
	cs.drops = st[CAPTURE_STAT_RB_FULL] + us.short_records + us.bad_abi + us.unknown_type;
	cs.if_drops = 0;
	sensor_set_capture_stats(L->s, &cs);
	if (final)
		return;
	agg_ext_tick(sensor_agg(L->s), now_ns(CLOCK_REALTIME));
	learn_expire(L, now_ns(CLOCK_REALTIME));
	if (agg_catalog(sensor_agg(L->s)) != L->cat)
		bpf_load_prefixes(L);
}

static int bpf_open_all(struct live *L, enum capture_bpf_mode mode)
{
	struct capture_bpf_config cfg;

	capture_bpf_config_default(&cfg);
	for (int i = 0; i < L->nif; i++) {
		struct live_bpf_if *bi = &L->bif[i];
		bi->L = L;
		bi->idx = i;
		bi->name = L->o->interfaces.v[i];
		bi->ifindex = (int)if_nametoindex(bi->name);
		if (!bi->ifindex) {
			log_err("-i %s: no such interface", bi->name);
			return -ENODEV;
		}
	}
	for (int i = 0; i < L->nif; i++) {
		struct live_bpf_if *bi = &L->bif[i];
		bi->cb = capture_bpf_open(&cfg);
		if (!bi->cb) {
			int e = errno ? errno : EIO;
			if (e == EPERM || e == EACCES) {
				log_err("%s: no permission to load BPF programs (run as root, "
						"or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN); "
						"or use --capture pcap", L->mode);
				return -EPERM;
			}
			log_err("%s: loading the BPF programs failed: %s "
					"(kernel 5.18 or later needed); use --capture pcap instead",
				L->mode, strerror(e));
			return -EIO;
		}
	}
	if (bpf_load_prefixes(L) < 0)
		return -EIO;
	for (int i = 0; i < L->nif; i++) {
		struct live_bpf_if *bi = &L->bif[i];
		int r = capture_bpf_attach(bi->cb, bi->ifindex, mode);
		if (r < 0) {
			if (r == -EBUSY)
				log_err("%s: %s: another program holds the %s hook; "
						"remove it or use --capture pcap", L->mode, bi->name,
					mode == CAPTURE_BPF_TC ? "TC" : "XDP");
			else if (r == -EPERM || r == -EACCES)
				log_err("%s: %s: no permission to attach (run as root, or "
						"with CAP_NET_ADMIN); or use --capture pcap", L->mode, bi->name);
			else
				log_err("%s: %s: attaching failed: %s; use --capture pcap "
						"instead", L->mode, bi->name, strerror(-r));
			return r == -EBUSY ? -EBUSY : (r == -EPERM || r == -EACCES) ? -EPERM : -EIO;
		}
	}
	return 0;
}

static void bpf_summary(struct live *L);

static void bpf_close_all(struct live *L, bool summary)
{
	struct aggregator *agg = sensor_agg(L->s);
	bool attached = false;

	for (int i = 0; i < L->nif; i++)
		if (L->bif[i].cb) {
			capture_bpf_detach(L->bif[i].cb);
			attached = true;
		}
	if (attached) {
		/* what the programs sent before they went away */
		for (int i = 0; i < L->nif; i++)
			if (L->bif[i].cb)
				capture_bpf_poll(L->bif[i].cb, 0, on_record, &L->bif[i]);
		bpf_pass(L, true);
	}
	agg_set_observer(agg, NULL, NULL);
	if (summary)
		bpf_summary(L);
	for (int i = 0; i < L->nif; i++) {
		capture_bpf_close(L->bif[i].cb);
		L->bif[i].cb = NULL;
	}
}

static void bpf_summary(struct live *L)
{
	uint64_t st[CAPTURE_STAT_COUNT];
	struct capture_bpf_user_stats us;

	if (L->o->quiet)
		return;
	bpf_stats(L, st, &us);
	log_err("%s: kernel saw %llu packets (%llu in flows), %llu flows created; "
			"%llu records (%llu lost: ring full), flow map full %llu, filter misses %llu; "
			"%llu addresses learned", L->mode,
		(unsigned long long)st[CAPTURE_STAT_PACKETS],
		(unsigned long long)st[CAPTURE_STAT_FLOW_PACKETS],
		(unsigned long long)st[CAPTURE_STAT_FLOWS_CREATED],
		(unsigned long long)L->records, (unsigned long long)st[CAPTURE_STAT_RB_FULL],
		(unsigned long long)st[CAPTURE_STAT_FLOW_MAP_FULL],
		(unsigned long long)st[CAPTURE_STAT_FILTER_MISS],
		(unsigned long long)L->learned.added);
}

static int run_bpf(struct live *L, enum capture_bpf_mode mode)
{
	struct pollfd *pfd;
	uint64_t next_pass = 0;
	int rc;

	L->bif = calloc((size_t)L->nif, sizeof(*L->bif));
	L->buckets = calloc(MIRROR_BUCKETS, sizeof(*L->buckets));
	pfd = calloc((size_t)L->nif, sizeof(*pfd));
	L->learned.max = LEARN_MAX_BPF;
	if (!L->bif || !L->buckets || !pfd) {
		log_err("%s: out of memory", L->mode);
		rc = -ENOMEM;
		goto out;
	}
	L->mono_off = capture_bpf_mono_to_realtime_ns();
	rc = bpf_open_all(L, mode);
	if (rc < 0)
		goto out;
	{
		static const struct agg_observer ob = { .flow_ending = on_final,
							.dns_learned = on_dns_learn };
		agg_set_observer(sensor_agg(L->s), &ob, L);
	}
	for (int i = 0; i < L->nif; i++) {
		pfd[i].fd = capture_bpf_epoll_fd(L->bif[i].cb);
		pfd[i].events = POLLIN;
	}
	if (!L->o->quiet)
		log_notice("%s: capturing on %d interface(s), %zu catalog prefixes",
			L->mode, L->nif, L->nprefixes);
	started(L);
	while (!sensor_should_stop(L->s)) {
		uint64_t now;
		int n = poll(pfd, (nfds_t)L->nif, POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_err("%s: poll: %s", L->mode, strerror(errno));
			rc = -EIO;
			break;
		}
		for (int i = 0; n > 0 && i < L->nif; i++) {
			int r;
			if (!(pfd[i].revents & POLLIN))
				continue;
			r = capture_bpf_poll(L->bif[i].cb, 0, on_record, &L->bif[i]);
			if (r < 0 && r != -EINTR) {
				log_err("%s: %s: ring buffer: %s", L->mode,
					L->bif[i].name, strerror(-r));
				rc = -EIO;
			}
		}
		if (rc < 0)
			break;
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= next_pass) {
			bpf_pass(L, false);
			sensor_tick(L->s);
			next_pass = now + PASS_NS;
		}
	}
out:
	if (L->bif)
		bpf_close_all(L, rc == 0);
	mirror_free(L);
	free(pfd);
	free(L->bif);
	L->bif = NULL;
	return rc;
}

/* =============================================================== pcap */

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		need = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (need < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)need < room) {
			b->n += (size_t)need;
			return;
		}
		size_t nc = (b->cap ? b->cap * 2 : 1024) + (size_t)need;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static int filter_prefix_cb(const struct net_addr *net, unsigned len, void *arg)
{
	struct sbuf *b = arg;
	char buf[NET_ADDR_STRLEN];
	sb_printf(b, " or net %s/%u", net_addr_format(net, buf, sizeof(buf)), len);
	return 0;
}

/* "port 53 or net P/L ... or host H ...": DNS (to learn addresses), the
 * catalog's prefixes, and the learned addresses.  Wrapped so that frames
 * with a VLAN tag still in the data match too. */
static char *pcap_filter_string(struct live *L, bool with_vlan)
{
	struct sbuf c = { 0 }, f = { 0 };
	const struct catalog *cat = agg_catalog(sensor_agg(L->s));

	sb_printf(&c, "port 53");
	if (cat)
		catalog_foreach_prefix(cat, filter_prefix_cb, &c);
	for (size_t i = 0; i < L->learned.n; i++) {
		char buf[NET_ADDR_STRLEN];
		sb_printf(&c, " or host %s", net_addr_format(&L->learned.v[i].a, buf, sizeof(buf)));
	}
	if (c.oom) {
		free(c.p);
		return NULL;
	}
	if (with_vlan)
		sb_printf(&f, "(%s) or (vlan and (%s))", c.p, c.p);
	else
		sb_printf(&f, "%s", c.p);
	free(c.p);
	if (f.oom) {
		free(f.p);
		return NULL;
	}
	return f.p;
}

static int set_filter_str(pcap_t *p, const char *str)
{
	struct bpf_program prog;
	int r;

	if (!str || pcap_compile(p, &prog, str, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return -1;
	r = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	return r < 0 ? -1 : 0;
}

/* Install the filter on every handle; on failure, widen it (without the
 * VLAN half, then TCP and UDP) rather than stop capturing. */
static void pcap_filters(struct live *L)
{
	char *full = pcap_filter_string(L, true), *plain = NULL;

	L->cat = agg_catalog(sensor_agg(L->s));
	L->learned.changed = false;
	for (int i = 0; i < L->nif; i++) {
		pcap_t *p = L->pif[i].p;
		if (set_filter_str(p, full) == 0)
			continue;
		if (!plain)
			plain = pcap_filter_string(L, false);
		if (set_filter_str(p, plain) == 0) {
			log_err("pcap: %s: filter without VLAN clause (%s)",
				L->pif[i].name, pcap_geterr(p));
			continue;
		}
		log_err("pcap: %s: catalog filter refused (%s); capturing all TCP and UDP",
			L->pif[i].name, pcap_geterr(p));
		set_filter_str(p, "tcp or udp or (vlan and (tcp or udp))");
	}
	free(full);
	free(plain);
}

static void on_pcap_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_pcap_if *pi = (struct live_pcap_if *)arg;
	struct live *L = pi->L;
	uint64_t ts = (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec * (pi->nano ? 1 : 1000);

	/* DNS answers for catalog names come back through the observer
	 * (on_dns_learn) from the aggregator's own decode */
	sensor_frame(L->s, pi->linktype, data, h->caplen, h->len, ts);
}

static int pcap_open_one(struct live *L, struct live_pcap_if *pi)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int r;

	pi->L = L;
	pi->fd = -1;
	pi->p = pcap_create(pi->name, errbuf);
	if (!pi->p) {
		log_err("pcap: -i %s: %s", pi->name, errbuf);
		return -EIO;
	}
	pcap_set_snaplen(pi->p, L->o->snaplen ? (int)L->o->snaplen : 262144);
	pcap_set_promisc(pi->p, 1);
	pcap_set_timeout(pi->p, 100);
	if (L->o->pcap_buffer_mb)
		pcap_set_buffer_size(pi->p, (int)(L->o->pcap_buffer_mb > 2047 ? 2047 : L->o->pcap_buffer_mb) << 20);
	pcap_set_tstamp_precision(pi->p, PCAP_TSTAMP_PRECISION_NANO);
	r = pcap_activate(pi->p);
	if (r < 0) {
		const char *why = pcap_geterr(pi->p);
		switch (r) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			log_err("-i %s: no such interface", pi->name);
			return -ENODEV;
		case PCAP_ERROR_PERM_DENIED:
		case PCAP_ERROR_PROMISC_PERM_DENIED:
			log_err("pcap: -i %s: no permission to capture (run as root, or "
					"with CAP_NET_RAW and CAP_NET_ADMIN): %s", pi->name, why);
			return -EPERM;
		case PCAP_ERROR_IFACE_NOT_UP:
			log_err("pcap: -i %s: interface is down", pi->name);
			return -EIO;
		default:
			log_err("pcap: -i %s: %s (%s)", pi->name, pcap_statustostr(r),
				why && *why ? why : "no detail");
			return -EIO;
		}
	}
	if (r > 0)
		log_warn("pcap: -i %s: warning: %s (%s)", pi->name,
			pcap_statustostr(r), pcap_geterr(pi->p));
	pi->nano = pcap_get_tstamp_precision(pi->p) == PCAP_TSTAMP_PRECISION_NANO;
	pi->linktype = pcap_datalink(pi->p);
	if (!decode_linktype_supported(pi->linktype))
		log_warn("pcap: -i %s: warning: link type %s (%d) is not decoded",
			pi->name, pcap_datalink_val_to_name(pi->linktype) ?
			pcap_datalink_val_to_name(pi->linktype) : "?", pi->linktype);
	if (pcap_setnonblock(pi->p, 1, errbuf) < 0) {
		log_err("pcap: -i %s: %s", pi->name, errbuf);
		return -EIO;
	}
	pi->fd = pcap_get_selectable_fd(pi->p);
	if (pi->fd < 0) {
		log_err("pcap: -i %s: no selectable descriptor", pi->name);
		return -EIO;
	}
	return 0;
}

static void pcap_pass(struct live *L)
{
	struct sensor_capture_stats cs = { .mode = L->mode };
	uint64_t now = now_ns(CLOCK_REALTIME);

	for (int i = 0; i < L->nif; i++) {
		struct pcap_stat ps;
		if (L->pif[i].p && pcap_stats(L->pif[i].p, &ps) == 0) {
			cs.drops += ps.ps_drop;
			cs.if_drops += ps.ps_ifdrop;
		}
	}
	sensor_set_capture_stats(L->s, &cs);
	/* end idle flows on a quiet link: packet time follows the wall clock,
	 * less what may still wait in the ring */
	agg_ext_tick(sensor_agg(L->s), now - PCAP_LAG_NS);
	learn_expire(L, now);
	if (L->learned.changed || agg_catalog(sensor_agg(L->s)) != L->cat)
		pcap_filters(L);
}

static int run_pcap(struct live *L)
{
	struct pollfd *pfd;
	uint64_t next_pass = 0;
	int rc = 0;

	L->pif = calloc((size_t)L->nif, sizeof(*L->pif));
	pfd = calloc((size_t)L->nif, sizeof(*pfd));
	L->learned.max = LEARN_MAX_PCAP;
	if (!L->pif || !pfd) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < L->nif; i++) {
		L->pif[i].name = L->o->interfaces.v[i];
		rc = pcap_open_one(L, &L->pif[i]);
		if (rc < 0)
			goto out;
		pfd[i].fd = L->pif[i].fd;
		pfd[i].events = POLLIN;
	}
	{
		static const struct agg_observer ob = { .dns_learned = on_dns_learn };
		agg_set_observer(sensor_agg(L->s), &ob, L);
	}
	pcap_filters(L);
	if (!L->o->quiet)
		log_notice("pcap: capturing on %d interface(s)", L->nif);
	started(L);
	while (!sensor_should_stop(L->s)) {
		uint64_t now;
		int n = poll(pfd, (nfds_t)L->nif, POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_err("pcap: poll: %s", strerror(errno));
			rc = -EIO;
			break;
		}
		for (int i = 0; i < L->nif && rc == 0; i++) {
			/* TPACKET_V3 blocks retire on the timeout: read even
			 * without POLLIN (non-blocking, cheap when empty) */
			for (int round = 0; round < PCAP_DISPATCH_ROUNDS; round++) {
				int r = pcap_dispatch(L->pif[i].p, -1, on_pcap_frame, (u_char *)&L->pif[i]);
				if (r == PCAP_ERROR) {
					log_err("pcap: -i %s: %s", L->pif[i].name,
						pcap_geterr(L->pif[i].p));
					rc = -EIO;
					break;
				}
				if (r <= 0 || sensor_should_stop(L->s))
					break;
			}
		}
		if (rc < 0)
			break;
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= next_pass) {
			pcap_pass(L);
			sensor_tick(L->s);
			next_pass = now + PASS_NS;
		}
	}
	if (rc == 0)
		pcap_pass(L);
out:
	agg_set_observer(sensor_agg(L->s), NULL, NULL);
	if (rc == -ENOMEM)
		log_err("pcap: out of memory");
	for (int i = 0; L->pif && i < L->nif; i++)
		if (L->pif[i].p)
			pcap_close(L->pif[i].p);
	free(L->pif);
	L->pif = NULL;
	free(pfd);
	return rc;
}

/* ============================================================ entry */

int capture_live_run(struct sensor *s, const struct sensor_options *o)
{
	struct live L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.s = s;
	L.o = o;
	L.nif = o->interfaces.n;
	L.mode = o->capture_mode;
	if (L.nif <= 0) {
		log_err("live capture needs an interface (-i IFACE)");
		return -EINVAL;
	}
	if (!strcmp(o->capture_mode, "pcap"))
		rc = run_pcap(&L);
	else if (!strcmp(o->capture_mode, "ebpf-tc"))
		rc = run_bpf(&L, CAPTURE_BPF_TC);
	else if (!strcmp(o->capture_mode, "ebpf-xdp"))
		rc = run_bpf(&L, CAPTURE_BPF_XDP_ANY);
	else {
		log_err("--capture %s: use ebpf-tc, ebpf-xdp or pcap", o->capture_mode);
		rc = -EINVAL;
	}
	free(L.prefixes);
	free(L.learned.v);
	return rc;
}
