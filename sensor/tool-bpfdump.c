/* SPDX-License-Identifier: MIT */
/*
 * tool-bpfdump.c -- mailtap-bpfdump: attach the capture programs to one
 * interface (TC ingress+egress or XDP) and print what they report as JSON
 * lines: ring-buffer records as they come, the flow map every --interval
 * seconds and at exit, and the counters at exit.  For tests and
 * debugging; the sensor uses the same loader (capture-bpf.c).
 *
 *   mailtap-bpfdump -i veth0 [--tc|--xdp|--xdp-generic] [--all]
 *                   [--prefix CIDR]... [--addr IP]... [--duration S]
 *                   [--interval S] [--payload-segs N] [--payload-len N]
 *
 * Runs until SIGINT/SIGTERM or --duration; always detaches on the way out.
 * Exit status 0, 1 on a runtime error, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture-bpf.h"
#include "net-addr.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *hook_name(unsigned h)
{
	switch (h) {
	case CAPTURE_HOOK_TC_INGRESS: return "tc_ingress";
	case CAPTURE_HOOK_TC_EGRESS: return "tc_egress";
	case CAPTURE_HOOK_XDP: return "xdp";
	default: return "unknown";
	}
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case CAPTURE_EV_FLOW_START: return "flow_start";
	case CAPTURE_EV_FLOW_END: return "flow_end";
	case CAPTURE_EV_FLOW_LOST: return "flow_lost";
	case CAPTURE_EV_PAYLOAD: return "payload";
	case CAPTURE_EV_DNS: return "dns";
	default: return "unknown";
	}
}

static void print_key(const struct capture_flow_key *k)
{
	struct flow_key fk;
	char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];

	capture_bpf_key_to_flow_key(k, &fk);
	net_addr_format(&fk.a, a, sizeof(a));
	net_addr_format(&fk.b, b, sizeof(b));
	printf("\"proto\":\"%s\",\"a_ip\":\"%s\",\"a_port\":%u,\"b_ip\":\"%s\",\"b_port\":%u",
	       k->proto == IPPROTO_TCP ? "TCP" : k->proto == IPPROTO_UDP ? "UDP" : "other",
	       a, k->port_a, b, k->port_b);
	if (k->vlan[0] || k->vlan[1]) {
		printf(",\"vlan\":[%u", k->vlan[0]);
		if (k->vlan[1])
			printf(",%u", k->vlan[1]);
		printf("]");
	}
}

static void print_counters(const struct capture_flow_counters *c)
{
	printf(",\"client\":\"%s\",\"pkts_ab\":%" PRIu64 ",\"pkts_ba\":%" PRIu64
	       ",\"bytes_ab\":%" PRIu64 ",\"bytes_ba\":%" PRIu64
	       ",\"payload_bytes_ab\":%" PRIu64 ",\"payload_bytes_ba\":%" PRIu64
	       ",\"tcp_flags_ab\":%u,\"tcp_flags_ba\":%u,\"state\":%u,\"client_segs\":%u"
	       ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64,
	       (c->state & CAPTURE_FS_CLIENT_IS_A) ? "a" : "b",
	       (uint64_t)c->pkts[0], (uint64_t)c->pkts[1], (uint64_t)c->bytes[0],
	       (uint64_t)c->bytes[1], (uint64_t)c->payload_bytes[0],
	       (uint64_t)c->payload_bytes[1], c->tcp_flags & 0xff, (c->tcp_flags >> 8) & 0xff,
	       c->state, c->client_segs, (uint64_t)c->first_ns, (uint64_t)c->last_ns);
}

static void on_event(void *arg, const union capture_bpf_record *r)
{
	(void)arg;
	printf("{\"event\":\"%s\",\"hook\":\"%s\",\"ifindex\":%u,\"ts_ns\":%" PRIu64
	       ",\"dir\":\"%s\",\"tcp_flags\":%u,\"flags\":%u,",
	       type_name(r->hdr.type), hook_name(r->hdr.hook), r->hdr.ifindex,
	       (uint64_t)r->hdr.ts_ns, r->hdr.dir ? "ba" : "ab", r->hdr.tcp_flags, r->hdr.flags);
	print_key(&r->hdr.key);
	if (r->hdr.type == CAPTURE_EV_PAYLOAD || r->hdr.type == CAPTURE_EV_DNS) {
		const struct capture_payload_event *p = &r->payload;
		printf(",\"seq\":%u,\"payload_len\":%u,\"cap_len\":%u,\"seg_no\":%u,\"data_hex\":\"",
		       p->seq, p->payload_len, p->cap_len, p->seg_no);
		for (unsigned i = 0; i < p->cap_len; i++)
			printf("%02x", p->data[i]);
		printf("\"");
	} else {
		print_counters(&r->flow.c);
	}
	printf("}\n");
}

static void on_flow(void *arg, const struct capture_flow_key *k, const struct capture_flow_counters *c)
{
	(void)arg;
	printf("{\"event\":\"flow\",");
	print_key(k);
	print_counters(c);
	printf("}\n");
}

static void dump_flows(struct capture_bpf *cb)
{
	int n = capture_bpf_read_flows(cb, on_flow, NULL);
	if (n < 0)
		fprintf(stderr, "mailtap-bpfdump: reading flows: %s\n", strerror(-n));
}

static void dump_stats(struct capture_bpf *cb)
{
	uint64_t st[CAPTURE_STAT_COUNT];
	struct capture_bpf_user_stats us;

	if (capture_bpf_read_stats(cb, st) == 0) {
		printf("{\"event\":\"stats\"");
		for (unsigned i = 0; i < CAPTURE_STAT_COUNT; i++)
			printf(",\"%s\":%" PRIu64, capture_bpf_stat_name(i), st[i]);
		capture_bpf_get_user_stats(cb, &us);
		printf(",\"user_records\":%" PRIu64 ",\"user_short\":%" PRIu64
		       ",\"user_bad_abi\":%" PRIu64 ",\"user_unknown\":%" PRIu64 "}\n",
		       us.records, us.short_records, us.bad_abi, us.unknown_type);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap-bpfdump -i IFACE [--tc|--xdp|--xdp-generic|--xdp-any] [--all]\n"
		"         [--prefix CIDR]... [--addr IP]... [--duration S] [--interval S]\n"
		"         [--payload-segs N] [--payload-len N] [--no-dns] [--verbose]\n"
		"  --all        count every flow (filter off); default: only --prefix/--addr flows\n"
		"  --cleanup    remove stale mailtap programs from IFACE and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "tc", no_argument, NULL, 't' },
		{ "xdp", no_argument, NULL, 'x' },
		{ "xdp-generic", no_argument, NULL, 'g' },
		{ "xdp-any", no_argument, NULL, 'X' },
		{ "all", no_argument, NULL, 'a' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'A' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'I' },
		{ "payload-segs", required_argument, NULL, 's' },
		{ "payload-len", required_argument, NULL, 'l' },
		{ "no-dns", no_argument, NULL, 'n' },
		{ "cleanup", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct capture_bpf_config cfg;
	enum capture_bpf_mode mode = CAPTURE_BPF_TC;
	const char *ifname = NULL;
	char *prefixes[64], *addrs[64];
	int nprefix = 0, naddr = 0, cleanup = 0, opt, ifindex, err, rc = 0;
	double duration = 0, interval = 0;
	struct capture_bpf *cb;
	struct timespec t0, now, last;
	struct sigaction sa;

	capture_bpf_config_default(&cfg);
	while ((opt = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 't': mode = CAPTURE_BPF_TC; break;
		case 'x': mode = CAPTURE_BPF_XDP; break;
		case 'g': mode = CAPTURE_BPF_XDP_GENERIC; break;
		case 'X': mode = CAPTURE_BPF_XDP_ANY; break;
		case 'a': cfg.filter = false; break;
		case 'p':
			if (nprefix < 64)
				prefixes[nprefix++] = optarg;
			break;
		case 'A':
			if (naddr < 64)
				addrs[naddr++] = optarg;
			break;
		case 'd': duration = atof(optarg); break;
		case 'I': interval = atof(optarg); break;
		case 's': cfg.payload_segs = (uint32_t)atoi(optarg); break;
		case 'l': cfg.payload_len = (uint32_t)atoi(optarg); break;
		case 'n': cfg.dns = false; break;
		case 'c': cleanup = 1; break;
		case 'v': cfg.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!ifname || optind != argc) {
		usage(stderr);
		return 2;
	}
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "mailtap-bpfdump: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	if (cleanup) {
		int n = capture_bpf_cleanup_stale(ifindex);
		printf("{\"event\":\"cleanup\",\"removed\":%d}\n", n);
		return n < 0;
	}
	cb = capture_bpf_open(&cfg);
	if (!cb) {
		fprintf(stderr, "mailtap-bpfdump: loading the BPF programs: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < nprefix; i++) {
		struct net_addr net;
		unsigned plen;
		if (net_prefix_parse(prefixes[i], &net, &plen) ||
		    capture_bpf_add_prefix(cb, &net, plen, (uint32_t)i + 1)) {
			fprintf(stderr, "mailtap-bpfdump: bad prefix %s\n", prefixes[i]);
			capture_bpf_close(cb);
			return 2;
		}
	}
	for (int i = 0; i < naddr; i++) {
		struct net_addr a;
		if (net_addr_parse(addrs[i], &a) || capture_bpf_add_addr(cb, &a, (uint32_t)i + 1, 0)) {
			fprintf(stderr, "mailtap-bpfdump: bad address %s\n", addrs[i]);
			capture_bpf_close(cb);
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	err = capture_bpf_attach(cb, ifindex, mode);
	if (err) {
		fprintf(stderr, "mailtap-bpfdump: attaching to %s: %s\n", ifname, strerror(-err));
		capture_bpf_close(cb);
		return 1;
	}
	printf("{\"event\":\"attached\",\"ifname\":\"%s\",\"ifindex\":%d,\"mode\":\"%s\",\"filter\":%s}\n",
	       ifname, ifindex,
	       mode == CAPTURE_BPF_TC ? "tc" : mode == CAPTURE_BPF_XDP ? "xdp" :
	       mode == CAPTURE_BPF_XDP_GENERIC ? "xdp-generic" : "xdp-any",
	       cfg.filter ? "true" : "false");
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	last = t0;
	while (!stop) {
		int n = capture_bpf_poll(cb, 100, on_event, NULL);
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "mailtap-bpfdump: ring buffer: %s\n", strerror(-n));
			rc = 1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (interval > 0 && (double)(now.tv_sec - last.tv_sec) +
					    (double)(now.tv_nsec - last.tv_nsec) / 1e9 >= interval) {
			dump_flows(cb);
			last = now;
		}
		if (duration > 0 && (double)(now.tv_sec - t0.tv_sec) +
					    (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= duration)
			break;
		fflush(stdout);
	}
	err = capture_bpf_detach(cb);
	if (err) {
		fprintf(stderr, "mailtap-bpfdump: detaching: %s\n", strerror(-err));
		rc = 1;
	}
	capture_bpf_poll(cb, 0, on_event, NULL); /* what is left in the ring */
	dump_flows(cb);
	dump_stats(cb);
	printf("{\"event\":\"detached\"}\n");
	fflush(stdout);
	capture_bpf_close(cb);
	return rc;
}
