/* SPDX-License-Identifier: MIT */
/*
 * test-stream-prefix.c -- unit tests for userspace/stream-prefix.c: in-order,
 * out-of-order, retransmitted and overlapping segments, sequence wrap at
 * 0xffffffff, data before the ISN and past capacity, snapped segments, range
 * overflow, a randomised reassembly property check, and a real ClientHello
 * delivered in three segments (3-1-2) then parsed by app-tls.
 */
#include "stream-prefix.h"

#include <errno.h>
#include <string.h>

#include "app-tls.h"
#include "check.h"

/* zeek/tls-fragmented-handshake.pcap frame 4 (TLS 1.2, SNI is an IP literal).
 * Extracted with: tshark -r zeek/tls-fragmented-handshake.pcap -q -z follow,tcp,raw,0 (client side,
 * first 186 bytes). */
static const uint8_t hello_zeek_frag[] = {
	0x16, 0x03, 0x01, 0x00, 0xb5, 0x01, 0x00, 0x00, 0xb1, 0x03, 0x03, 0x55,
	0x00, 0xd2, 0x62, 0xf2, 0x29, 0x8b, 0x02, 0x53, 0x33, 0xcb, 0x0f, 0x37,
	0x64, 0x87, 0xae, 0xd4, 0x51, 0x58, 0xfd, 0x58, 0x9a, 0x47, 0x7e, 0xe8,
	0xe1, 0x73, 0x5f, 0xa0, 0x5c, 0x53, 0x14, 0x00, 0x00, 0x4a, 0x00, 0xff,
	0xc0, 0x24, 0xc0, 0x23, 0xc0, 0x0a, 0xc0, 0x09, 0xc0, 0x08, 0xc0, 0x28,
	0xc0, 0x27, 0xc0, 0x14, 0xc0, 0x13, 0xc0, 0x12, 0xc0, 0x26, 0xc0, 0x25,
	0xc0, 0x05, 0xc0, 0x04, 0xc0, 0x03, 0xc0, 0x2a, 0xc0, 0x29, 0xc0, 0x0f,
	0xc0, 0x0e, 0xc0, 0x0d, 0x00, 0x6b, 0x00, 0x67, 0x00, 0x39, 0x00, 0x33,
	0x00, 0x16, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0x0a,
	0xc0, 0x07, 0xc0, 0x11, 0xc0, 0x02, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x04,
	0x01, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00,
	0x0f, 0x31, 0x30, 0x34, 0x2e, 0x32, 0x33, 0x36, 0x2e, 0x31, 0x36, 0x37,
	0x2e, 0x31, 0x30, 0x37, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x17,
	0x00, 0x18, 0x00, 0x19, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, 0x00, 0x0d,
	0x00, 0x0c, 0x00, 0x0a, 0x05, 0x01, 0x04, 0x01, 0x02, 0x01, 0x04, 0x03,
	0x02, 0x03, 0x33, 0x74, 0x00, 0x00,
};

static const uint8_t alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void test_stream_prefix__in_order(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 1001); /* SYN seq 1000 */
	CHECK_EQ_I(stream_prefix_add(&sp, 1001, alphabet, 10), 10);
	CHECK_EQ_I(stream_prefix_add(&sp, 1011, alphabet + 10, 10), 10);
	CHECK_EQ_I(stream_prefix_add(&sp, 1021, alphabet + 20, 5), 5);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 25);
	CHECK_EQ_U(sp.nranges, 1);
	CHECK(!memcmp(buf, alphabet, 25));
	CHECK(!sp.full);
	CHECK(!stream_prefix_complete(&sp));
	CHECK_EQ_I(stream_prefix_add(&sp, 1026, alphabet, 0), 0); /* pure ACK */
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 25);
}

static void test_stream_prefix__out_of_order(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 500);
	CHECK_EQ_I(stream_prefix_add(&sp, 520, alphabet + 20, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 510, alphabet + 10, 5), 5);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 0);
	CHECK_EQ_U(sp.nranges, 2);
	CHECK_EQ_I(stream_prefix_add(&sp, 500, alphabet, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 15);
	CHECK_EQ_I(stream_prefix_add(&sp, 515, alphabet + 15, 5), 5); /* closes the gap */
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 30);
	CHECK_EQ_U(sp.nranges, 1);
	CHECK(!memcmp(buf, alphabet, 30));
}

static void test_stream_prefix__retransmission(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 7);
	CHECK_EQ_I(stream_prefix_add(&sp, 7, alphabet, 20), 20);
	CHECK_EQ_I(stream_prefix_add(&sp, 7, alphabet, 20), 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 12, alphabet + 5, 5), 0);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 20);
	CHECK_EQ_U(sp.nranges, 1);
	CHECK(!memcmp(buf, alphabet, 20));
}

static void test_stream_prefix__overlap_first_wins(void)
{
	static const uint8_t a[10] = "AAAAAAAAAA", b[10] = "BBBBBBBBBB", c[12] = "CCCCCCCCCCCC";
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 100);
	CHECK_EQ_I(stream_prefix_add(&sp, 100, a, 10), 10);
	CHECK_EQ_I(stream_prefix_add(&sp, 105, b, 10), 5);
	CHECK(!memcmp(buf, "AAAAAAAAAABBBBB", 15));

	/* One segment across two islands fills only the holes. */
	CHECK_EQ_I(stream_prefix_add(&sp, 120, a, 5), 5); /* [20,25) */
	CHECK_EQ_I(stream_prefix_add(&sp, 130, b, 5), 5); /* [30,35) */
	CHECK_EQ_U(sp.nranges, 3);
	CHECK_EQ_I(stream_prefix_add(&sp, 113, c, 12), 5); /* [13,25): fills 15..19 */
	CHECK_EQ_U(sp.nranges, 2);
	CHECK(!memcmp(buf + 13, "BBCCCCCAAAAA", 12));
	CHECK_EQ_I(stream_prefix_add(&sp, 118, c, 12), 5); /* [18,30): fills 25..29 */
	CHECK_EQ_U(sp.nranges, 1);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 35);
	CHECK(!memcmp(buf, "AAAAAAAAAABBBBBCCCCCAAAAACCCCCBBBBB", 35));
}

static void test_stream_prefix__wraparound(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 0xfffffff0u);
	CHECK_EQ_I(stream_prefix_add(&sp, 0x00000004u, alphabet + 20, 6), 6);
	CHECK_EQ_I(stream_prefix_add(&sp, 0xfffffffau, alphabet + 10, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 0xfffffff0u, alphabet, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 26);
	CHECK(!memcmp(buf, alphabet, 26));

	/* Data before an ISN just past the wrap is cut, not stored at 4G. */
	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 0x00000003u);
	CHECK_EQ_I(stream_prefix_add(&sp, 0xfffffffeu, alphabet, 10), 5);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 5);
	CHECK(!memcmp(buf, alphabet + 5, 5));
}

static void test_stream_prefix__before_isn(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 1000);
	CHECK_EQ_I(stream_prefix_add(&sp, 990, alphabet, 10), 0); /* ends at the ISN */
	CHECK_EQ_I(stream_prefix_add(&sp, 500, alphabet, 10), 0);
	CHECK_EQ_U(sp.nranges, 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 997, alphabet, 8), 5);
	CHECK(!memcmp(buf, alphabet + 3, 5));
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 5);
	/* 2^31 or more ahead counts as behind (serial arithmetic). */
	CHECK_EQ_I(stream_prefix_add(&sp, 1000 + 0x80000000u, alphabet, 10), 0);
	CHECK_EQ_U(sp.nranges, 1);
}

static void test_stream_prefix__beyond_capacity(void)
{
	uint8_t buf[16 + 4];
	struct stream_prefix sp;

	memset(buf, '#', sizeof(buf));
	stream_prefix_init(&sp, buf, 16);
	stream_prefix_set_isn(&sp, 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 10, alphabet + 10, 20), 6);
	CHECK(sp.full);
	CHECK_EQ_I(stream_prefix_add(&sp, 16, alphabet, 4), 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 1000, alphabet, 4), 0);
	CHECK_EQ_I(stream_prefix_add(&sp, 0, alphabet, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 16);
	CHECK(stream_prefix_complete(&sp));
	CHECK(!memcmp(buf, alphabet, 16));
	CHECK(!memcmp(buf + 16, "####", 4)); /* nothing written past cap */

	/* No buffer: everything is cut. */
	stream_prefix_init(&sp, NULL, 100);
	CHECK_EQ_I(stream_prefix_add(&sp, 0, alphabet, 4), 0);
	CHECK(sp.full);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 0);
}

/* Snapped frame: 10 bytes on the wire, 4 captured; the rest stays a hole
 * until a retransmission fills it. */
static void test_stream_prefix__snapped_segment(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 42);
	CHECK_EQ_I(stream_prefix_add(&sp, 42, alphabet, 4), 4);
	CHECK_EQ_I(stream_prefix_add(&sp, 52, alphabet + 10, 10), 10);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 4);
	CHECK_EQ_U(sp.nranges, 2);
	CHECK_EQ_I(stream_prefix_add(&sp, 42, alphabet, 10), 6);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 20);
	CHECK(!memcmp(buf, alphabet, 20));
}

static void test_stream_prefix__isn_from_first_data(void)
{
	uint8_t buf[64];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	CHECK_EQ_I(stream_prefix_add(&sp, 77777, alphabet, 5), 5);
	CHECK(sp.has_isn);
	CHECK_EQ_U(sp.isn, 77777);
	stream_prefix_set_isn(&sp, 1); /* late SYN: ignored */
	CHECK_EQ_U(sp.isn, 77777);
	CHECK_EQ_I(stream_prefix_add(&sp, 77782, alphabet + 5, 5), 5);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 10);
}

static void test_stream_prefix__range_overflow(void)
{
	uint8_t buf[256], fill[160];
	struct stream_prefix sp;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, 0);
	for (uint32_t i = 0; i < STREAM_PREFIX_MAX_RANGES; i++)
		CHECK_EQ_I(stream_prefix_add(&sp, 10 + 20 * i, alphabet, 5), 5);
	CHECK_EQ_U(sp.nranges, STREAM_PREFIX_MAX_RANGES);
	CHECK_EQ_I(stream_prefix_add(&sp, 200, alphabet, 5), -ENOSPC);
	CHECK_EQ_I(stream_prefix_add(&sp, 0, alphabet, 5), -ENOSPC);
	CHECK_EQ_U(sp.range_overflows, 2);
	CHECK_EQ_I(stream_prefix_add(&sp, 5, alphabet, 5), 5); /* touches range 0 */
	CHECK_EQ_U(sp.nranges, STREAM_PREFIX_MAX_RANGES);
	CHECK_EQ_I(stream_prefix_add(&sp, 0, alphabet, 5), 5);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 15);
	CHECK_EQ_I(stream_prefix_add(&sp, 0, buf, 0), 0);
	memset(fill, 'x', sizeof(fill));
	CHECK_EQ_I(stream_prefix_add(&sp, 15, fill, sizeof(fill)), 160 - 5 * 7);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 175);
	CHECK_EQ_U(sp.nranges, 1);
}

/* Random segments of a known stream (overlapping, repeated, any order)
 * always rebuild it exactly. */
static void test_stream_prefix__random_segments(void)
{
	static uint8_t src[3000], buf[2048];
	struct stream_prefix sp;
	uint32_t x = 0x2545f491u;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	for (int round = 0; round < 50; round++) {
		uint32_t isn = x, tries = 0;

		stream_prefix_init(&sp, buf, sizeof(buf));
		stream_prefix_set_isn(&sp, isn);
		while (!stream_prefix_complete(&sp) && tries++ < 100000) {
			uint32_t off, len;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			off = x % 2200;
			len = 1 + (x >> 12) % 300;
			if (off + len > sizeof(src))
				len = (uint32_t)sizeof(src) - off;
			CHECK(stream_prefix_add(&sp, isn + off, src + off, len) >= -ENOSPC);
		}
		CHECK(stream_prefix_complete(&sp));
		CHECK(sp.full);
		CHECK(!memcmp(buf, src, sizeof(buf)));
		if (check_failed_now)
			return;
	}
}

/* The ClientHello split into three segments, delivered 3-1-2, across a
 * sequence wrap; app-tls waits until the prefix is contiguous. */
static void test_stream_prefix__client_hello_3_1_2(void)
{
	static const uint32_t cut1 = 60, cut2 = 130;
	const size_t n = sizeof(hello_zeek_frag);
	const uint32_t isn = 0xffffffc0u;
	uint8_t buf[512];
	struct stream_prefix sp;
	struct tls_hello h;

	stream_prefix_init(&sp, buf, sizeof(buf));
	stream_prefix_set_isn(&sp, isn);
	CHECK_EQ_I(stream_prefix_add(&sp, isn + cut2, hello_zeek_frag + cut2, n - cut2),
		   (int)(n - cut2));
	CHECK_EQ_U(stream_prefix_contiguous(&sp), 0);
	CHECK_EQ_I(tls_client_hello_parse(buf, stream_prefix_contiguous(&sp), &h), TLS_NEED_MORE);

	CHECK_EQ_I(stream_prefix_add(&sp, isn, hello_zeek_frag, cut1), (int)cut1);
	CHECK_EQ_U(stream_prefix_contiguous(&sp), cut1);
	CHECK_EQ_I(tls_client_hello_parse(buf, stream_prefix_contiguous(&sp), &h), TLS_NEED_MORE);
	CHECK_EQ_U(h.stream_len, n);

	CHECK_EQ_I(stream_prefix_add(&sp, isn + cut1, hello_zeek_frag + cut1, cut2 - cut1),
		   (int)(cut2 - cut1));
	CHECK_EQ_U(stream_prefix_contiguous(&sp), n);
	CHECK_EQ_I(tls_client_hello_parse(buf, stream_prefix_contiguous(&sp), &h), TLS_OK);
	CHECK_STREQ(h.sni, "104.236.167.107");
	CHECK_STREQ(h.ja3, "799135475da362592a4be9199d258726");
	CHECK_STREQ(h.ja4, "t12d370500_07a749158664_d075105c1994");
}

int main(void)
{
	RUN(test_stream_prefix__in_order);
	RUN(test_stream_prefix__out_of_order);
	RUN(test_stream_prefix__retransmission);
	RUN(test_stream_prefix__overlap_first_wins);
	RUN(test_stream_prefix__wraparound);
	RUN(test_stream_prefix__before_isn);
	RUN(test_stream_prefix__beyond_capacity);
	RUN(test_stream_prefix__snapped_segment);
	RUN(test_stream_prefix__isn_from_first_data);
	RUN(test_stream_prefix__range_overflow);
	RUN(test_stream_prefix__random_segments);
	RUN(test_stream_prefix__client_hello_3_1_2);
	return CHECK_DONE();
}
