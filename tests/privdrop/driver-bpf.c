/* SPDX-License-Identifier: MIT */
/*
 * tests/privdrop/driver-bpf.c -- the eBPF loader after a privilege drop,
 * for tests/privdrop/run-tier.sh: what PRIVDROP_NEED_BPF must keep.
 *
 *   driver-bpf IFACE USER NEED SECONDS
 *
 * As root: load the programs and attach TC to IFACE, put 198.18.0.0/24
 * into the prefix map, then privdrop_apply(USER, NEED).  Print "rc N",
 * "msg ...", "CapEff ...", then do what mailtap does after start-up and
 * print "op NAME RC" for each: add and delete a learned address, add and
 * delete a prefix, read the flow map, read the counters, poll the ring
 * buffer.  Print "ready", then for SECONDS (or until SIGTERM) poll the
 * ring and read the flow map, and print "records N" and "flows N" (the
 * most seen in one read).  Finally "op detach RC" and exit 0 (2 when
 * privdrop_apply failed, before anything else).
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture-bpf.h"
#include "privdrop.h"

static volatile sig_atomic_t stop;
static unsigned long records;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_rec(void *arg, const union capture_bpf_record *rec)
{
	(void)arg;
	(void)rec;
	records++;
}

static void on_flow(void *arg, const struct capture_flow_key *k, const struct capture_flow_counters *c)
{
	(void)k;
	(void)c;
	(*(int *)arg)++;
}

static void status_line(const char *key)
{
	char line[256];
	FILE *fp = fopen("/proc/self/status", "r");
	while (fp && fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, strlen(key)))
			fputs(line, stdout);
	if (fp)
		fclose(fp);
}

int main(int argc, char **argv)
{
	struct capture_bpf_config cfg;
	struct capture_bpf *cb;
	struct net_addr net, a;
	uint64_t st[CAPTURE_STAT_COUNT];
	char msg[512];
	int ifindex, rc, maxflows = 0;
	time_t end;

	if (argc != 5) {
		fprintf(stderr, "usage: driver-bpf IFACE USER none|bpf SECONDS\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "driver-bpf: %s: no such interface\n", argv[1]);
		return 1;
	}
	capture_bpf_config_default(&cfg);
	cb = capture_bpf_open(&cfg);
	if (!cb) {
		fprintf(stderr, "driver-bpf: capture_bpf_open: %s\n", strerror(errno));
		return 1;
	}
	rc = capture_bpf_attach(cb, ifindex, CAPTURE_BPF_TC);
	if (rc < 0) {
		fprintf(stderr, "driver-bpf: attach: %s\n", strerror(-rc));
		capture_bpf_close(cb);
		return 1;
	}
	memset(&net, 0, sizeof(net));
	net_addr_parse("198.18.0.0", &net);
	capture_bpf_add_prefix(cb, &net, 24, 1);

	rc = privdrop_apply(argv[2], strcmp(argv[3], "bpf") ? PRIVDROP_NEED_NONE : PRIVDROP_NEED_BPF,
			    msg, sizeof(msg));
	printf("rc %d\nmsg %s\n", rc, msg);
	status_line("Uid:");
	status_line("CapEff:");
	status_line("CapPrm:");
	if (rc < 0) {
		capture_bpf_close(cb);
		return 2;
	}
	memset(&a, 0, sizeof(a));
	net_addr_parse("203.0.113.7", &a);
	printf("op add_addr %d\n", capture_bpf_add_addr(cb, &a, 2, 1));
	printf("op del_addr %d\n", capture_bpf_del_addr(cb, &a));
	memset(&net, 0, sizeof(net));
	net_addr_parse("192.0.2.0", &net);
	printf("op add_prefix %d\n", capture_bpf_add_prefix(cb, &net, 24, 1));
	printf("op del_prefix %d\n", capture_bpf_del_prefix(cb, &net, 24));
	{
		int n = 0, r = capture_bpf_read_flows(cb, on_flow, &n);
		printf("op read_flows %d\n", r < 0 ? r : 0);
	}
	{
		int r = capture_bpf_read_stats(cb, st);
		printf("op read_stats %d\n", r < 0 ? r : 0);
	}
	{
		int r = capture_bpf_poll(cb, 0, on_rec, NULL);
		printf("op poll %d\n", r < 0 ? r : 0);
	}
	printf("ready\n");
	end = time(NULL) + atoi(argv[4]);
	while (!stop && time(NULL) < end) {
		int n = 0;
		capture_bpf_poll(cb, 200, on_rec, NULL);
		if (capture_bpf_read_flows(cb, on_flow, &n) >= 0 && n > maxflows)
			maxflows = n;
	}
	capture_bpf_poll(cb, 0, on_rec, NULL);
	printf("records %lu\nflows %d\n", records, maxflows);
	{
		/* a flow out of the map, as mailtap's final callback does */
		struct capture_flow_key k;
		memset(&k, 0, sizeof(k));
		rc = capture_bpf_take_flow(cb, &k, NULL);
		printf("op take_flow %d\n", rc == -ENOENT ? 0 : rc);
	}
	printf("op detach %d\n", capture_bpf_detach(cb));
	capture_bpf_close(cb);
	return 0;
}
