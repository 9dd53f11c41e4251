/* SPDX-License-Identifier: MIT */
/*
 * bench-bpf.c -- ns per packet of the capture programs through
 * BPF_PROG_TEST_RUN with repeat, next to an empty program of the same
 * type (the test-run floor).  Not part of make test:
 *
 *   make bpf-bench && sudo build/tests/bench/bench-bpf [REPEAT]
 *
 * Cases (filter on, one catalog prefix 198.51.100.0/24):
 *   miss   TCP ACK between two addresses outside the filter
 *   hit    TCP ACK with 1400 payload bytes on an existing mail flow
 * The VM is noisy: take the median of a few runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "capture-bpf.h"

static size_t frame(uint8_t *b, const char *src, const char *dst, uint16_t plen)
{
	struct in_addr a;
	size_t n = 0;

	memset(b, 0, 14 + 40 + plen);
	b[12] = 0x08;
	n = 14;
	b[n] = 0x45;
	b[n + 2] = (uint8_t)((40 + plen) >> 8);
	b[n + 3] = (uint8_t)(40 + plen);
	b[n + 8] = 64;
	b[n + 9] = 6;
	inet_pton(AF_INET, src, &a);
	memcpy(b + n + 12, &a, 4);
	inet_pton(AF_INET, dst, &a);
	memcpy(b + n + 16, &a, 4);
	n += 20;
	b[n] = 0x9c; b[n + 1] = 0x40; /* 40000 */
	b[n + 2] = 0x01; b[n + 3] = 0xbb; /* 443 */
	b[n + 12] = 0x50;
	b[n + 13] = 0x10; /* ACK */
	return n + 20 + plen;
}

static int empty_prog(enum bpf_prog_type type)
{
	/* r0 = verdict; exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0,
		  .imm = type == BPF_PROG_TYPE_XDP ? XDP_PASS : 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return bpf_prog_load(type, "bench_empty", "GPL", insns, 2, NULL);
}

static double run_fd(int fd, const uint8_t *b, size_t n, unsigned repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b, .data_size_in = (uint32_t)n, .repeat = repeat);
	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	return o.duration;
}

int main(int argc, char **argv)
{
	unsigned repeat = argc > 1 ? (unsigned)atoi(argv[1]) : 1000000;
	static uint8_t miss[2048], hit[2048];
	size_t nmiss, nhit;
	struct capture_bpf *cb;
	struct net_addr net;
	unsigned plen;
	int e_tc, e_xdp;

	cb = capture_bpf_open(NULL);
	if (!cb) {
		fprintf(stderr, "bench-bpf: load: %s\n", strerror(errno));
		return 1;
	}
	net_prefix_parse("198.51.100.0/24", &net, &plen);
	capture_bpf_add_prefix(cb, &net, plen, 1);
	nmiss = frame(miss, "192.0.2.1", "192.0.2.99", 0);
	nhit = frame(hit, "192.0.2.1", "198.51.100.7", 1400);
	e_tc = empty_prog(BPF_PROG_TYPE_SCHED_CLS);
	e_xdp = empty_prog(BPF_PROG_TYPE_XDP);
	if (e_tc < 0 || e_xdp < 0) {
		fprintf(stderr, "bench-bpf: empty program: %s\n", strerror(errno));
		return 1;
	}
	/* create the flow once so "hit" measures the steady state */
	capture_bpf_test_run(cb, CAPTURE_PROG_TC_INGRESS, hit, (uint32_t)nhit, 1, 0, NULL, NULL);
	printf("repeat %u, ns/packet (BPF_PROG_TEST_RUN duration)\n", repeat);
	printf("%-6s %10s %10s %10s\n", "hook", "empty", "miss", "mail-hit");
	for (int x = 0; x < 2; x++) {
		enum capture_bpf_prog p = x ? CAPTURE_PROG_XDP : CAPTURE_PROG_TC_INGRESS;
		int fd = capture_bpf_prog_fd(cb, p);
		printf("%-6s %10.1f %10.1f %10.1f\n", x ? "xdp" : "tc",
		       run_fd(x ? e_xdp : e_tc, miss, nmiss, repeat), run_fd(fd, miss, nmiss, repeat),
		       run_fd(fd, hit, nhit, repeat));
	}
	capture_bpf_close(cb);
	return 0;
}
