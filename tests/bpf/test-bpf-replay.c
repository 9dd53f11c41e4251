/* SPDX-License-Identifier: MIT */
/*
 * test-bpf-replay.c -- feed every frame of a capture through the TC and
 * the XDP program with BPF_PROG_TEST_RUN (filter off: every flow counted),
 * then compare the flow map, flow by flow, with the offline path's
 * session records for the same capture.
 *
 *   test-bpf-replay NAME FILE.pcap OFFLINE.jsonl
 *
 * OFFLINE.jsonl is `mailtap -q -r FILE --sessions - --all-flows --interim 0`.
 * Prints "ok replay-tc:NAME" / "FAIL replay-tc:NAME: why" (and -xdp), and
 * "# ..." comment lines with the expected differences (docs/bpf.md):
 *  - only Ethernet captures are replayed (the programs see Ethernet);
 *  - MPLS and PPPoE are not parsed in the kernel (offline counts them);
 *  - Teredo is not opened in the kernel: the offline reference and the
 *    marks below run with decap.teredo off (tunnels the kernel opens,
 *    VXLAN, GENEVE, GRE, PPTP, ERSPAN and IP-in-IP, are compared on
 *    their inner flows, keyed by tenant id as offline);
 *  - a frame longer than TEST_MAX_DATA (test-run's page limit) or cut
 *    inside its headers by the capture's snaplen is fed as captured, so
 *    its flow's byte counts are compared only in packets;
 *  - frames cut in their payload are padded back to their wire length
 *    with zeros (the kernel always sees whole frames).
 * Every run must return TC_ACT_OK / XDP_PASS.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture-bpf.h"
#include "decode.h"
#include "flow-table.h"

#define TEST_MAX_DATA 3500

struct frow {
	struct flow_key key;
	uint64_t pkts[2], bytes[2], payload[2]; /* [0] = a->b */
	int in_off, in_bpf;
	int loose;      /* compare packets only */
	int unparsed;   /* MPLS/PPPoE: kernel doesn't see it */
};

struct table {
	struct frow *v;
	size_t n, cap;
};

static struct frow *table_get(struct table *t, const struct flow_key *k)
{
	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(&t->v[i].key, k, sizeof(*k)))
			return &t->v[i];
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		if (!t->v) {
			perror("realloc");
			exit(1);
		}
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].key = *k;
	return &t->v[t->n++];
}

/* The decapsulation of the offline reference: everything the kernel
 * opens (run-tier.sh passes the same as a yaml). */
static struct decode_config decap_cfg;

/* Flows that came through PPTP: the session record's tunnel "id" is then
 * the call id, which is not part of the key (offline packet_tunnel.keyed);
 * a GRE key is. */
struct keyset {
	struct flow_key *v;
	size_t n;
};

static int keyset_has(const struct keyset *ks, const struct flow_key *k)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!memcmp(&ks->v[i], k, sizeof(*k)))
			return 1;
	return 0;
}

static void keyset_add(struct keyset *ks, const struct flow_key *k)
{
	if (keyset_has(ks, k))
		return;
	ks->v = realloc(ks->v, (ks->n + 1) * sizeof(*ks->v));
	if (!ks->v)
		exit(1);
	ks->v[ks->n++] = *k;
}

/* The canonical key of a decoded frame, tenant id included when keyed. */
static void packet_key(const struct packet *pkt, struct flow_key *k)
{
	flow_key_make(k, &pkt->src, pkt->sport, &pkt->dst, pkt->dport, pkt->l4proto, pkt->vlan, NULL);
	if (pkt->tunnel.keyed) {
		k->tunnel_kind = pkt->tunnel.type;
		k->tunnel_id = pkt->tunnel.id;
	}
}

static void pptp_scan(const char *pcap_path, struct keyset *ks)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct decode_stats dst;
	pcap_t *pc = pcap_open_offline(pcap_path, err);

	if (!pc)
		return;
	memset(&dst, 0, sizeof(dst));
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct packet pkt;
		struct flow_key k;

		decode_packet_cfg(&pkt, &decap_cfg, DECODE_DLT_EN10MB, data, h->caplen, h->len, 0, &dst);
		if (pkt.l3 && pkt.tunnel.type == TUNNEL_GRE && pkt.tunnel.has_id && !pkt.tunnel.keyed) {
			packet_key(&pkt, &k);
			keyset_add(ks, &k);
		}
	}
	pcap_close(pc);
}

static int load_offline(struct table *t, const char *path, const struct keyset *pptp)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e), *vl;
		struct net_addr src, dst;
		uint16_t vlan[2] = { 0, 0 };
		struct flow_key k;
		bool swapped;
		struct frow *r;
		int ab;
		const char *proto;

		if (!o)
			continue;
		proto = json_string_value(json_object_get(o, "proto"));
		if (net_addr_parse(json_string_value(json_object_get(o, "src_ip")) ?: "", &src) ||
		    net_addr_parse(json_string_value(json_object_get(o, "dest_ip")) ?: "", &dst) || !proto) {
			json_decref(o);
			continue;
		}
		vl = json_object_get(o, "vlan");
		for (size_t i = 0; vl && i < json_array_size(vl) && i < 2; i++)
			vlan[i] = (uint16_t)json_integer_value(json_array_get(vl, i));
		flow_key_make(&k, &src, (uint16_t)json_integer_value(json_object_get(o, "src_port")),
			      &dst, (uint16_t)json_integer_value(json_object_get(o, "dest_port")),
			      !strcmp(proto, "TCP") ? 6 : !strcmp(proto, "UDP") ? 17 : 0, vlan, &swapped);
		{
			/* tenant id: VXLAN/GENEVE VNI, GRE key, ERSPAN II/III session */
			json_t *tun = json_object_get(o, "tunnel"), *id = json_object_get(tun, "id");
			const char *ty = json_string_value(json_object_get(tun, "type"));
			int kind = 0;

			for (int i = 1; ty && id && i < TUNNEL_TYPE_COUNT; i++)
				if (!strcmp(ty, decode_tunnel_name(i)))
					kind = i;
			if (kind == TUNNEL_GRE && keyset_has(pptp, &k))
				kind = 0;
			if (kind) {
				k.tunnel_kind = (uint8_t)kind;
				k.tunnel_id = (uint32_t)json_integer_value(id);
			}
		}
		r = table_get(t, &k);
		r->in_off = 1;
		ab = swapped ? 1 : 0; /* client in slot a: toserver is a->b */
		r->pkts[ab] += json_integer_value(json_object_get(o, "pkts_toserver"));
		r->pkts[!ab] += json_integer_value(json_object_get(o, "pkts_toclient"));
		r->bytes[ab] += json_integer_value(json_object_get(o, "bytes_toserver"));
		r->bytes[!ab] += json_integer_value(json_object_get(o, "bytes_toclient"));
		r->payload[ab] += json_integer_value(json_object_get(o, "payload_bytes_toserver"));
		r->payload[!ab] += json_integer_value(json_object_get(o, "payload_bytes_toclient"));
		n++;
		json_decref(o);
	}
	fclose(f);
	return n;
}

struct run {
	struct table *bpf;
	uint64_t ev[8];
};

static void on_event(void *arg, const union capture_bpf_record *rec)
{
	struct run *r = arg;
	if (rec->hdr.type < 8)
		r->ev[rec->hdr.type]++;
	/* a reused tuple hands the old counters up in FLOW_END|REUSED */
	if (rec->hdr.type == CAPTURE_EV_FLOW_END && (rec->hdr.flags & CAPTURE_EVF_REUSED)) {
		struct flow_key k;
		struct frow *f;
		capture_bpf_key_to_flow_key(&rec->hdr.key, &k);
		f = table_get(r->bpf, &k);
		for (int d = 0; d < 2; d++) {
			f->pkts[d] += rec->flow.c.pkts[d];
			f->bytes[d] += rec->flow.c.bytes[d];
			f->payload[d] += rec->flow.c.payload_bytes[d];
		}
	}
}

static void on_flow(void *arg, const struct capture_flow_key *key, const struct capture_flow_counters *c)
{
	struct table *t = arg;
	struct flow_key k;
	struct frow *f;

	capture_bpf_key_to_flow_key(key, &k);
	f = table_get(t, &k);
	f->in_bpf = 1;
	for (int d = 0; d < 2; d++) {
		f->pkts[d] += c->pkts[d];
		f->bytes[d] += c->bytes[d];
		f->payload[d] += c->payload_bytes[d];
	}
}

static void key_str(const struct flow_key *k, char *buf, size_t len)
{
	char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];
	net_addr_format(&k->a, a, sizeof(a));
	net_addr_format(&k->b, b, sizeof(b));
	snprintf(buf, len, "%u %s:%u-%s:%u vlan %u/%u tunnel %u/%u", k->proto, a, k->port_a, b,
		 k->port_b, k->vlan[0], k->vlan[1], k->tunnel_kind, k->tunnel_id);
}

/* Mark the flows whose frames the kernel can't see as offline did. */
struct mark {
	struct flow_key key;
	uint64_t n;
};

struct marks {
	struct mark *loose, *unparsed;
	size_t nloose, nunparsed;
};

static void mark_add(struct mark **v, size_t *n, const struct flow_key *k)
{
	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&(*v)[i].key, k, sizeof(*k))) {
			(*v)[i].n++;
			return;
		}
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		exit(1);
	(*v)[*n].key = *k;
	(*v)[(*n)++].n = 1;
}

/* frames of that flow marked, 0 = none */
static uint64_t mark_has(struct mark *v, size_t n, const struct flow_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&v[i].key, k, sizeof(*k)))
			return v[i].n;
	return 0;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int run_mode(struct capture_bpf *cb, const char *name, const char *pcap_path,
		    struct table *off, int xdp)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc;
	struct pcap_pkthdr *h;
	const u_char *data;
	static uint8_t buf[TEST_MAX_DATA];
	struct table bt = { 0 };
	struct run run = { .bpf = &bt };
	struct marks mk = { 0 };
	struct decode_stats dst;
	uint64_t frames = 0, fed = 0, too_short = 0, bad_verdict = 0, padded = 0, loose_frames = 0;
	uint64_t st[CAPTURE_STAT_COUNT];
	int rc, mism = 0, only_off = 0, only_bpf = 0, tolerated = 0;
	char first[512] = "";
	const char *mode = xdp ? "xdp" : "tc";

	capture_bpf_reset(cb);
	pc = pcap_open_offline(pcap_path, err);
	if (!pc) {
		printf("FAIL replay-%s:%s: %s\n", mode, name, err);
		return 1;
	}
	memset(&dst, 0, sizeof(dst));
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct packet pkt;
		enum decode_result dr;
		uint32_t n = h->caplen, wire = h->len < h->caplen ? h->caplen : h->len;
		int loose = 0;

		frames++;
		dr = decode_packet_cfg(&pkt, &decap_cfg, DECODE_DLT_EN10MB, data, h->caplen, h->len, 0,
				       &dst);
		if (n > TEST_MAX_DATA) {
			n = TEST_MAX_DATA;
			loose = 1;
		}
		memcpy(buf, data, n);
		if (wire > n) {
			if (dr == DECODE_OK && wire <= TEST_MAX_DATA) {
				memset(buf + n, 0, wire - n); /* cut in the payload: pad back */
				n = wire;
				padded++;
			} else {
				loose = 1;
			}
		}
		if (pkt.l3 && (pkt.flags & (PKT_L4 | PKT_L4_TRUNC)) && (pkt.sport || pkt.dport)) {
			struct flow_key k;
			packet_key(&pkt, &k);
			if (loose)
				mark_add(&mk.loose, &mk.nloose, &k);
			if (pkt.mpls_count)
				mark_add(&mk.unparsed, &mk.nunparsed, &k);
		}
		if (loose)
			loose_frames++;
		if (n < 14) { /* test-run needs an Ethernet header; the kernel never sees less */
			too_short++;
			continue;
		}
		{
			uint32_t verdict;
			int e = capture_bpf_test_run(cb, xdp ? CAPTURE_PROG_XDP : CAPTURE_PROG_TC_INGRESS,
						     buf, n, 1, 0, &verdict, NULL);
			if (e) {
				printf("FAIL replay-%s:%s: test run of frame %" PRIu64 " (%u bytes): %s\n",
				       mode, name, frames, n, strerror(-e));
				pcap_close(pc);
				return 1;
			}
			if (verdict != (xdp ? CAPTURE_BPF_XDP_PASS : CAPTURE_BPF_TC_ACT_OK))
				bad_verdict++;
		}
		fed++;
		capture_bpf_poll(cb, 0, on_event, &run);
	}
	pcap_close(pc);
	capture_bpf_poll(cb, 0, on_event, &run);
	if (capture_bpf_read_flows(cb, on_flow, &bt) < 0 || capture_bpf_read_stats(cb, st)) {
		printf("FAIL replay-%s:%s: reading maps\n", mode, name);
		return 1;
	}

	/* compare: every offline flow against the kernel's */
	for (size_t i = 0; i < off->n; i++) {
		struct frow *o = &off->v[i], *b = NULL;
		char ks[256], why[400];
		uint64_t loose = mark_has(mk.loose, mk.nloose, &o->key);
		int unp = mark_has(mk.unparsed, mk.nunparsed, &o->key);

		for (size_t j = 0; j < bt.n; j++)
			if (!memcmp(&bt.v[j].key, &o->key, sizeof(o->key)))
				b = &bt.v[j];
		key_str(&o->key, ks, sizeof(ks));
		why[0] = 0;
		if (!b) {
			if (unp) {
				tolerated++;
				continue;
			}
			only_off++;
			snprintf(why, sizeof(why), "only offline: %s", ks);
		} else {
			b->in_off = 1;
			/* a frame cut inside its headers may parse differently
			 * without its tail: up to one packet each */
			if ((!loose && (b->pkts[0] != o->pkts[0] || b->pkts[1] != o->pkts[1])) ||
			    absdiff(b->pkts[0], o->pkts[0]) + absdiff(b->pkts[1], o->pkts[1]) > loose)
				snprintf(why, sizeof(why), "%s pkts %" PRIu64 "/%" PRIu64 " vs offline %" PRIu64 "/%" PRIu64,
					 ks, b->pkts[0], b->pkts[1], o->pkts[0], o->pkts[1]);
			else if (!loose && (b->bytes[0] != o->bytes[0] || b->bytes[1] != o->bytes[1]))
				snprintf(why, sizeof(why), "%s bytes %" PRIu64 "/%" PRIu64 " vs offline %" PRIu64 "/%" PRIu64,
					 ks, b->bytes[0], b->bytes[1], o->bytes[0], o->bytes[1]);
			else if (!loose && (b->payload[0] != o->payload[0] || b->payload[1] != o->payload[1]))
				snprintf(why, sizeof(why), "%s payload %" PRIu64 "/%" PRIu64 " vs offline %" PRIu64 "/%" PRIu64,
					 ks, b->payload[0], b->payload[1], o->payload[0], o->payload[1]);
			if (why[0] && unp) {
				tolerated++;
				why[0] = 0;
			}
			if (why[0])
				mism++;
			else if (loose)
				tolerated++;
		}
		if (why[0] && !first[0])
			snprintf(first, sizeof(first), "%s", why);
	}
	for (size_t j = 0; j < bt.n; j++) {
		if (!bt.v[j].in_off) {
			char ks[256];
			key_str(&bt.v[j].key, ks, sizeof(ks));
			only_bpf++;
			if (!first[0])
				snprintf(first, sizeof(first), "only in kernel: %s", ks);
		}
	}
	printf("# replay-%s:%s frames %" PRIu64 " fed %" PRIu64 " short %" PRIu64 " padded %" PRIu64
	       " loose %" PRIu64 " offline-flows %zu kernel-flows %zu tolerated %d;"
	       " kernel: packets %" PRIu64 " flow_packets %" PRIu64 " truncated %" PRIu64
	       " invalid %" PRIu64 " non_ip %" PRIu64 " other_l4 %" PRIu64 " frags %" PRIu64
	       " frag_orphans %" PRIu64 " ev start/end/payload/dns %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
	       " rb_full %" PRIu64 "\n",
	       mode, name, frames, fed, too_short, padded, loose_frames, off->n, bt.n, tolerated,
	       st[CAPTURE_STAT_PACKETS], st[CAPTURE_STAT_FLOW_PACKETS], st[CAPTURE_STAT_TRUNCATED],
	       st[CAPTURE_STAT_INVALID], st[CAPTURE_STAT_NON_IP], st[CAPTURE_STAT_OTHER_L4],
	       st[CAPTURE_STAT_FRAGS], st[CAPTURE_STAT_FRAG_ORPHANS], run.ev[CAPTURE_EV_FLOW_START],
	       run.ev[CAPTURE_EV_FLOW_END], run.ev[CAPTURE_EV_PAYLOAD], run.ev[CAPTURE_EV_DNS],
	       st[CAPTURE_STAT_RB_FULL]);
	free(bt.v);
	free(mk.loose);
	free(mk.unparsed);
	if (bad_verdict || mism || only_off || only_bpf || st[CAPTURE_STAT_PACKETS] != fed ||
	    st[CAPTURE_STAT_RB_FULL]) {
		printf("FAIL replay-%s:%s: verdicts not pass %" PRIu64 ", mismatches %d, only offline %d,"
		       " only kernel %d, runs %" PRIu64 "/%" PRIu64 ", rb_full %" PRIu64 "; first: %s\n",
		       mode, name, bad_verdict, mism, only_off, only_bpf, st[CAPTURE_STAT_PACKETS], fed,
		       st[CAPTURE_STAT_RB_FULL], first);
		return 1;
	}
	printf("ok replay-%s:%s\n", mode, name);
	return 0;
}

static int one_capture(struct capture_bpf *cb, const char *name, const char *pcap_path,
		       const char *jsonl)
{
	struct table off = { 0 };
	struct keyset pptp = { 0 };
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc;
	int n, fails = 0;

	pc = pcap_open_offline(pcap_path, err);
	if (!pc) {
		printf("FAIL replay:%s: %s\n", name, err);
		return 1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		printf("# replay:%s skipped: link type %s, the programs see Ethernet\n", name,
		       pcap_datalink_val_to_name(pcap_datalink(pc)));
		pcap_close(pc);
		return 0;
	}
	pcap_close(pc);
	pptp_scan(pcap_path, &pptp);
	n = load_offline(&off, jsonl, &pptp);
	free(pptp.v);
	if (n < 0) {
		printf("FAIL replay:%s: %s: %s\n", name, jsonl, strerror(-n));
		return 1;
	}
	fails += run_mode(cb, name, pcap_path, &off, 0);
	for (size_t i = 0; i < off.n; i++)
		off.v[i].in_bpf = 0;
	fails += run_mode(cb, name, pcap_path, &off, 1);
	free(off.v);
	return fails;
}

int main(int argc, char **argv)
{
	struct capture_bpf_config cfg;
	struct capture_bpf *cb;
	int fails = 0;

	if (argc < 4 || (argc - 1) % 3) {
		fprintf(stderr, "usage: %s NAME FILE.pcap OFFLINE.jsonl [NAME FILE JSONL]...\n", argv[0]);
		return 2;
	}
	decode_config_default(&decap_cfg);
	decap_cfg.type_on[TUNNEL_TEREDO] = false; /* not opened in the kernel */
	capture_bpf_config_default(&cfg);
	cfg.filter = false; /* count every flow */
	cb = capture_bpf_open(&cfg);
	if (!cb) {
		printf("FAIL replay-load: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 1; i + 2 < argc; i += 3)
		fails += one_capture(cb, argv[i], argv[i + 1], argv[i + 2]);
	capture_bpf_close(cb);
	return fails ? 1 : 0;
}
