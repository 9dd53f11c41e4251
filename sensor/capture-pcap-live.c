/* SPDX-License-Identifier: MIT */
/*
 * capture-pcap-live.c -- the libpcap front end ("pcap"): every interface
 * promiscuous, a kernel filter built from the catalog's prefixes, the
 * addresses learned from DNS answers for catalog names, and DNS itself;
 * every frame goes to sensor_frame(), the same way as a replayed file.
 * See capture-live-int.h and docs/capture.md.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator.h"
#include "capture-live-int.h"
#include "catalog.h"
#include "decode.h"
#include "util-log.h"

#define LEARN_MAX_PCAP 256       /* learned addresses in the filter (host clauses) */
#define PCAP_LAG_NS (1 * LIVE_NS)/* frames may still be in the ring this long */
#define PCAP_DISPATCH_ROUNDS 8   /* pcap_dispatch calls per interface per wakeup */

struct live_pcap_if {
	struct live *L;
	const char *name;
	pcap_t *p;
	int linktype;
	bool nano;
	int fd;
};

struct live_pcap {
	struct live_pcap_if *pif;  /* [nif] */
};

static struct live_pcap *pl(const struct live *L)
{
	return L->fe;
}


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
	for (int i = 0; i < L->nif; i++) {
		pcap_t *p = pl(L)->pif[i].p;
		if (set_filter_str(p, full) == 0)
			continue;
		if (!plain)
			plain = pcap_filter_string(L, false);
		if (set_filter_str(p, plain) == 0) {
			log_err("pcap: %s: filter without VLAN clause (%s)",
				pl(L)->pif[i].name, pcap_geterr(p));
			continue;
		}
		log_err("pcap: %s: catalog filter refused (%s); capturing all TCP and UDP",
			pl(L)->pif[i].name, pcap_geterr(p));
		set_filter_str(p, "tcp or udp or (vlan and (tcp or udp))");
	}
	free(full);
	free(plain);
}

static void on_pcap_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_pcap_if *pi = (struct live_pcap_if *)arg;
	struct live *L = pi->L;
	uint64_t ts = (uint64_t)h->ts.tv_sec * LIVE_NS + (uint64_t)h->ts.tv_usec * (pi->nano ? 1 : 1000);

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

static void pcap_live_stats(struct live *L)
{
	struct sensor_capture_stats cs = { .mode = L->mode };

	for (int i = 0; i < L->nif; i++) {
		struct pcap_stat ps;
		if (pl(L)->pif[i].p && pcap_stats(pl(L)->pif[i].p, &ps) == 0) {
			cs.drops += ps.ps_drop;
			cs.if_drops += ps.ps_ifdrop;
		}
	}
	sensor_set_capture_stats(L->s, &cs);
}

static int pcap_live_open(struct live *L)
{
	static const struct agg_observer ob = { .dns_learned = live_on_dns_learn };
	struct live_pcap *P = calloc(1, sizeof(*P));
	int rc;

	L->fe = P;
	if (P)
		P->pif = calloc((size_t)L->nif, sizeof(*P->pif));
	if (!P || !P->pif) {
		log_err("pcap: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < L->nif; i++) {
		P->pif[i].name = L->o->interfaces.v[i];
		rc = pcap_open_one(L, &P->pif[i]);
		if (rc < 0)
			return rc;
		L->pfd[i].fd = P->pif[i].fd;
		L->pfd[i].events = POLLIN;
	}
	agg_set_observer(sensor_agg(L->s), &ob, L);
	pcap_filters(L);
	if (!L->o->quiet)
		log_notice("pcap: capturing on %d interface(s)", L->nif);
	return 0;
}

/* TPACKET_V3 blocks retire on the timeout: read even without POLLIN
 * (non-blocking, cheap when empty). */
static int pcap_live_read(struct live *L, int i, bool ready)
{
	struct live_pcap_if *pi = &pl(L)->pif[i];

	(void)ready;
	for (int round = 0; round < PCAP_DISPATCH_ROUNDS; round++) {
		int r = pcap_dispatch(pi->p, -1, on_pcap_frame, (u_char *)pi);
		if (r == PCAP_ERROR) {
			log_err("pcap: -i %s: %s", pi->name, pcap_geterr(pi->p));
			return -EIO;
		}
		if (r <= 0 || sensor_should_stop(L->s))
			break;
	}
	return 0;
}

static void pcap_live_close(struct live *L, bool summary)
{
	struct live_pcap *P = pl(L);

	(void)summary;
	agg_set_observer(sensor_agg(L->s), NULL, NULL);
	if (!P)
		return;
	for (int i = 0; P->pif && i < L->nif; i++)
		if (P->pif[i].p)
			pcap_close(P->pif[i].p);
	free(P->pif);
	free(P);
	L->fe = NULL;
}

const struct capture_ops capture_pcap_live_ops = {
	.name = "pcap", .tick_lag_ns = PCAP_LAG_NS, .learn_max = LEARN_MAX_PCAP,
	.open = pcap_live_open, .read = pcap_live_read, .stats = pcap_live_stats,
	.reload = pcap_filters, .close = pcap_live_close,
};
