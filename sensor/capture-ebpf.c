/* SPDX-License-Identifier: MIT */
/*
 * capture-ebpf.c -- the eBPF front end ("ebpf-tc", "ebpf-xdp"): the
 * kernel programs of bpf/ count the flows on each interface
 * (capture-bpf.h); their ring-buffer records and flow-map reads feed the
 * aggregator's external-flow API (agg_ext_*), so the same flow table,
 * identification, interim updates, session records and scoring run as for
 * packets.  A flow seen on several interfaces is merged from one mirror
 * entry per flow.  The catalog's prefixes and the learned addresses are
 * the kernel's filter.  See capture-live-int.h and docs/capture.md.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator.h"
#include "capture-bpf.h"
#include "capture-live-int.h"
#include "catalog.h"
#include "util-hash.h"
#include "util-log.h"

#define LEARN_SNI_TTL_S 3600     /* a server named by a mail SNI */
#define LEARN_MAX_BPF 16384      /* learned addresses we keep */
#define MIRROR_BUCKETS (1u << 16)
#define MIRROR_PER_IF CAPTURE_FLOW_MAX /* one interface's flow map */
#define TAG_CATALOG 1
#define TAG_LEARNED 2

struct live_ebpf;

struct live_bpf_if {
	struct live *L;
	int idx;
	const char *name;
	int ifindex;
	struct capture_bpf *cb;
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


struct live_ebpf {
	struct live_bpf_if *bif;   /* one loader per interface, [nif] */
	enum capture_bpf_mode mode;
	struct mflow **buckets;    /* MIRROR_BUCKETS chain heads */
	uint8_t *pool;             /* pool_n entries of mirror_stride() bytes */
	uint32_t pool_n, pool_hw;  /* size, entries ever handed out */
	struct mflow *free_list;
	size_t mflows;
	uint64_t mirror_full;      /* flows not merged: the pool was full */
	int64_t mono_off;          /* CLOCK_MONOTONIC -> wall clock */
	struct prefix *prefixes;   /* what we put into the kernel */
	size_t nprefixes, prefix_cap;
	uint64_t records, add_addr_fail;
};

static struct live_ebpf *eb(const struct live *L)
{
	return L->fe;
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

/* Keys come from the wire: seeded (util-hash.h). */
static uint32_t key_hash(const struct capture_flow_key *k)
{
	return (uint32_t)hash64(k, sizeof(*k), hash_process_seed()) & (MIRROR_BUCKETS - 1);
}

static size_t mirror_stride(const struct live *L)
{
	return sizeof(struct mflow) + (size_t)L->nif * sizeof(struct capture_flow_counters);
}

static struct mflow *mirror_at(const struct live *L, uint32_t i)
{
	return (struct mflow *)(eb(L)->pool + (size_t)i * mirror_stride(L));
}

/* The pool: one allocation at open, MIRROR_PER_IF entries per interface
 * (as many flows as each kernel flow map holds), handed out up to a high
 * water mark (untouched pages stay unbacked), then from a free list
 * through next.  Nothing is allocated per flow. */
static int mirror_init(struct live *L)
{
	struct live_ebpf *E = eb(L);

	E->pool_n = (uint32_t)L->nif * MIRROR_PER_IF;
	E->pool = calloc(E->pool_n, mirror_stride(L));
	E->buckets = calloc(MIRROR_BUCKETS, sizeof(*E->buckets));
	if (!E->pool || !E->buckets)
		return -ENOMEM;
	return 0;
}

static struct mflow *mirror_get(struct live *L, const struct capture_flow_key *k, bool create)
{
	struct live_ebpf *E = eb(L);
	uint32_t b = key_hash(k);
	struct mflow *m;

	for (m = E->buckets[b]; m; m = m->next)
		if (!memcmp(&m->key, k, sizeof(*k)))
			return m;
	if (!create)
		return NULL;
	if (E->free_list) {
		m = E->free_list;
		E->free_list = m->next;
	} else if (E->pool_hw < E->pool_n) {
		m = mirror_at(L, E->pool_hw++);
	} else {
		E->mirror_full++; /* the kernel maps hold more than we can merge */
		return NULL;
	}
	memset(m, 0, mirror_stride(L));
	m->key = *k;
	m->next = E->buckets[b];
	E->buckets[b] = m;
	E->mflows++;
	return m;
}

static void mirror_del(struct live *L, struct mflow *m)
{
	struct live_ebpf *E = eb(L);
	struct mflow **pp = &E->buckets[key_hash(&m->key)];

	while (*pp && *pp != m)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = m->next;
		E->mflows--;
		m->next = E->free_list;
		E->free_list = m;
	}
}

static void mirror_free(struct live *L)
{
	free(eb(L)->buckets);
	free(eb(L)->pool);
	eb(L)->buckets = NULL;
	eb(L)->pool = NULL;
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
	out->first_ns = sum.first_ns ? sum.first_ns + (uint64_t)eb(L)->mono_off : 0;
	out->last_ns = sum.last_ns ? sum.last_ns + (uint64_t)eb(L)->mono_off : 0;
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


/* =============================================================== eBPF */

static void on_record(void *arg, const union capture_bpf_record *rec)
{
	struct live_bpf_if *bi = arg;
	struct live *L = bi->L;
	struct aggregator *agg = sensor_agg(L->s);
	const struct capture_event *h = &rec->hdr;
	uint64_t ts = h->ts_ns + (uint64_t)eb(L)->mono_off;
	struct flow_key fk;
	struct mflow *m;

	eb(L)->records++;
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
		if (agg_ext_mail_server(agg, &fk, &srv, NULL) && !live_learned(L, &srv))
			live_learn(L, &srv, LEARN_SNI_TTL_S);
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
		if (eb(L)->bif[i].cb && capture_bpf_take_flow(eb(L)->bif[i].cb, &ck, &c) == 0) {
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

	if (eb(L)->nprefixes == eb(L)->prefix_cap) {
		size_t nc = eb(L)->prefix_cap ? eb(L)->prefix_cap * 2 : 256;
		struct prefix *np = realloc(eb(L)->prefixes, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		eb(L)->prefixes = np;
		eb(L)->prefix_cap = nc;
	}
	for (int i = 0; eb(L)->bif && i < L->nif; i++) {
		int r = capture_bpf_add_prefix(eb(L)->bif[i].cb, net, len, TAG_CATALOG);
		if (r < 0) {
			pc->err = r;
			return r;
		}
	}
	eb(L)->prefixes[eb(L)->nprefixes].net = *net;
	eb(L)->prefixes[eb(L)->nprefixes].len = len;
	eb(L)->nprefixes++;
	pc->n++;
	return 0;
}

/* (Re)load the kernel prefix map from the aggregator's catalog. */
static int bpf_load_prefixes(struct live *L)
{
	struct prefix_ctx pc = { .L = L };
	const struct catalog *cat = agg_catalog(sensor_agg(L->s));

	for (size_t k = 0; k < eb(L)->nprefixes; k++)
		for (int i = 0; i < L->nif; i++)
			capture_bpf_del_prefix(eb(L)->bif[i].cb, &eb(L)->prefixes[k].net, eb(L)->prefixes[k].len);
	eb(L)->nprefixes = 0;
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
		if (!eb(L)->bif[i].cb || capture_bpf_read_stats(eb(L)->bif[i].cb, v) < 0)
			continue;
		for (int k = 0; k < CAPTURE_STAT_COUNT; k++)
			out[k] += v[k];
		capture_bpf_get_user_stats(eb(L)->bif[i].cb, &u);
		us->records += u.records;
		us->short_records += u.short_records;
		us->bad_abi += u.bad_abi;
		us->unknown_type += u.unknown_type;
	}
}

/* Flow-map reads into the aggregator, then the counters into the sensor. */
static void ebpf_stats(struct live *L)
{
	uint64_t st[CAPTURE_STAT_COUNT];
	struct capture_bpf_user_stats us;
	struct sensor_capture_stats cs = { .mode = L->mode };

	eb(L)->mono_off = capture_bpf_mono_to_realtime_ns();
	for (int i = 0; i < L->nif; i++) {
		int r = capture_bpf_read_flows(eb(L)->bif[i].cb, on_flow_read, &eb(L)->bif[i]);
		if (r < 0 && !L->err)
			log_err("%s: %s: reading the flow map failed: %s", L->mode,
				eb(L)->bif[i].name, strerror(-r));
	}
	bpf_stats(L, st, &us);
	/* records the ring could not take, and records we refused */
	cs.drops = st[CAPTURE_STAT_RB_FULL] + us.short_records + us.bad_abi + us.unknown_type;
	cs.if_drops = 0;
	sensor_set_capture_stats(L->s, &cs);
}

static void ebpf_reload(struct live *L)
{
	bpf_load_prefixes(L);
}

/* The learned set changed: the kernel's learned map follows. */
static void ebpf_learned(struct live *L, const struct net_addr *a, bool added, uint64_t now)
{
	for (int i = 0; i < L->nif; i++) {
		struct capture_bpf *cb = eb(L)->bif[i].cb;
		if (!cb)
			continue;
		if (!added)
			capture_bpf_del_addr(cb, a);
		else if (capture_bpf_add_addr(cb, a, TAG_LEARNED, now) < 0)
			eb(L)->add_addr_fail++;
	}
}

_Static_assert(DECODE_EXTRA_PORTS == CAPTURE_TUN_EXTRA_PORTS, "extra tunnel ports");
_Static_assert(TUNNEL_VXLAN == CAPTURE_TUN_VXLAN && TUNNEL_GENEVE == CAPTURE_TUN_GENEVE &&
	       TUNNEL_GRE == CAPTURE_TUN_GRE && TUNNEL_ERSPAN == CAPTURE_TUN_ERSPAN &&
	       TUNNEL_IPIP == CAPTURE_TUN_IPIP, "tunnel type numbers");

/* The config's decap section, as the kernel takes it (Teredo is opened
 * offline only). */
static void decap_config(const struct decode_config *d, struct capture_bpf_config *cfg)
{
	cfg->decap_off = 0;
	for (int t = TUNNEL_VXLAN; t <= TUNNEL_IPIP; t++)
		if (!d->decap || !d->type_on[t])
			cfg->decap_off |= 1u << t;
	memcpy(cfg->vxlan_ports, d->vxlan_ports, sizeof(cfg->vxlan_ports));
	memcpy(cfg->geneve_ports, d->geneve_ports, sizeof(cfg->geneve_ports));
}

static int bpf_open_all(struct live *L, enum capture_bpf_mode mode)
{
	struct capture_bpf_config cfg;

	capture_bpf_config_default(&cfg);
	decap_config(&L->o->decap, &cfg);
	for (int i = 0; i < L->nif; i++) {
		struct live_bpf_if *bi = &eb(L)->bif[i];
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
		struct live_bpf_if *bi = &eb(L)->bif[i];
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
		struct live_bpf_if *bi = &eb(L)->bif[i];
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

static void ebpf_close(struct live *L, bool summary)
{
	struct aggregator *agg = sensor_agg(L->s);
	struct live_ebpf *E = eb(L);
	bool attached = false;

	if (!E)
		return;
	for (int i = 0; E->bif && i < L->nif; i++)
		if (eb(L)->bif[i].cb) {
			capture_bpf_detach(eb(L)->bif[i].cb);
			attached = true;
		}
	if (attached) {
		/* what the programs sent before they went away */
		for (int i = 0; i < L->nif; i++)
			if (eb(L)->bif[i].cb)
				capture_bpf_poll(eb(L)->bif[i].cb, 0, on_record, &eb(L)->bif[i]);
		ebpf_stats(L);
	}
	agg_set_observer(agg, NULL, NULL);
	if (summary && E->bif)
		bpf_summary(L);
	for (int i = 0; E->bif && i < L->nif; i++)
		capture_bpf_close(E->bif[i].cb);
	mirror_free(L);
	free(E->prefixes);
	free(E->bif);
	free(E);
	L->fe = NULL;
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
		(unsigned long long)eb(L)->records, (unsigned long long)st[CAPTURE_STAT_RB_FULL],
		(unsigned long long)st[CAPTURE_STAT_FLOW_MAP_FULL],
		(unsigned long long)st[CAPTURE_STAT_FILTER_MISS],
		(unsigned long long)L->learned.added);
	if (eb(L)->mirror_full)
		log_err("%s: %llu kernel flow records not merged: the mirror pool (%u flows) was full",
			L->mode, (unsigned long long)eb(L)->mirror_full, eb(L)->pool_n);
}

static int ebpf_open(struct live *L)
{
	static const struct agg_observer ob = { .flow_ending = on_final,
						.dns_learned = live_on_dns_learn };
	struct live_ebpf *E = calloc(1, sizeof(*E));
	int rc;

	L->fe = E;
	if (E) {
		E->mode = L->ops == &capture_ebpf_xdp_ops ? CAPTURE_BPF_XDP_ANY : CAPTURE_BPF_TC;
		E->bif = calloc((size_t)L->nif, sizeof(*E->bif));
	}
	if (!E || !E->bif || mirror_init(L) < 0) {
		log_err("%s: out of memory", L->mode);
		return -ENOMEM;
	}
	E->mono_off = capture_bpf_mono_to_realtime_ns();
	rc = bpf_open_all(L, E->mode);
	if (rc < 0)
		return rc;
	agg_set_observer(sensor_agg(L->s), &ob, L);
	for (int i = 0; i < L->nif; i++) {
		L->pfd[i].fd = capture_bpf_epoll_fd(E->bif[i].cb);
		L->pfd[i].events = POLLIN;
	}
	if (!L->o->quiet)
		log_notice("%s: capturing on %d interface(s), %zu catalog prefixes",
			L->mode, L->nif, E->nprefixes);
	return 0;
}

static int ebpf_read(struct live *L, int i, bool ready)
{
	int r;

	if (!ready)
		return 0;
	r = capture_bpf_poll(eb(L)->bif[i].cb, 0, on_record, &eb(L)->bif[i]);
	if (r < 0 && r != -EINTR) {
		log_err("%s: %s: ring buffer: %s", L->mode, eb(L)->bif[i].name, strerror(-r));
		return -EIO;
	}
	return 0;
}

const struct capture_ops capture_ebpf_tc_ops = {
	.name = "ebpf-tc", .learn_max = LEARN_MAX_BPF,
	.open = ebpf_open, .read = ebpf_read, .stats = ebpf_stats, .reload = ebpf_reload,
	.learned_fn = ebpf_learned, .close = ebpf_close,
};

const struct capture_ops capture_ebpf_xdp_ops = {
	.name = "ebpf-xdp", .learn_max = LEARN_MAX_BPF,
	.open = ebpf_open, .read = ebpf_read, .stats = ebpf_stats, .reload = ebpf_reload,
	.learned_fn = ebpf_learned, .close = ebpf_close,
};
