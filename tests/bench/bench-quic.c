/* SPDX-License-Identifier: MIT */
/*
 * bench-quic.c -- what identifying a QUIC flow costs: the RFC 9001 A.2
 * client Initial (1200 bytes) taken from a fresh flow state to a parsed
 * ClientHello -- Initial key derivation (HKDF-SHA256), header protection
 * removal (AES-ECB), AES-128-GCM decryption, CRYPTO reassembly and the
 * TLS parse with JA4 -- and, beside it, the cost of rejecting a datagram
 * that is not QUIC (the check every other UDP 443 datagram pays).
 * Prints ns per datagram (median of 5 rounds).  `make bench` runs it;
 * never part of `make test`.
 *
 *   bench-quic [ROUNDS_OF_N]        (default 20000 datagrams per round)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app-quic.h"
#include "quic-vectors.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: fair on a busy machine */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static uint8_t scratch[65536];
static struct quic_flow qf;

/* One round: @n fresh flows each given @pkt; returns ns per datagram, or
 * a negative value when the result is not @want. */
static double round_ns(const uint8_t *pkt, size_t len, int n, enum quic_dgram want, bool hello)
{
	struct quic_stats st;
	struct tls_hello h;
	uint64_t t0 = now_ns();

	for (int i = 0; i < n; i++) {
		memset(&st, 0, sizeof(st));
		quic_flow_init(&qf);
		if (quic_client_datagram(&qf, pkt, len, scratch, sizeof(scratch), &st) != want)
			return -1;
		if (hello && (quic_flow_hello(&qf, &h) != TLS_OK || strcmp(h.sni, "example.com")))
			return -1;
	}
	return (double)(now_ns() - t0) / n;
}

static int bench(const char *what, const uint8_t *pkt, size_t len, int n, enum quic_dgram want,
		 bool hello)
{
	double r[5];

	for (int k = 0; k < 5; k++) {
		r[k] = round_ns(pkt, len, n, want, hello);
		if (r[k] < 0) {
			fprintf(stderr, "bench-quic: %s: unexpected result\n", what);
			return 1;
		}
	}
	qsort(r, 5, sizeof(r[0]), cmp_d);
	printf("| %s | %.0f ns | %.0f k/s |\n", what, r[2], 1e6 / r[2]);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	static uint8_t not_quic[1200];
	int rc = 0;

	if (n <= 0)
		n = 20000;
	memset(not_quic, 0x17, sizeof(not_quic)); /* a short-header-like byte */
	printf("| QUIC datagram (one core) | per datagram | rate |\n|---|---|---|\n");
	rc |= bench("client Initial -> ClientHello + JA4 (RFC 9001 A.2)", rfc9001_a2_protected,
		    sizeof(rfc9001_a2_protected), n, QUIC_DG_HELLO, true);
	rc |= bench("not QUIC (rejected)", not_quic, sizeof(not_quic), n * 50, QUIC_DG_NOT_QUIC,
		    false);
	return rc;
}
