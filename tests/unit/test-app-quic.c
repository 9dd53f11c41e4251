/* SPDX-License-Identifier: MIT */
/*
 * test-app-quic.c -- unit tests for userspace/app-quic.c: Initial keys
 * (RFC 9001 A.1, RFC 9369 A.1), header protection and decryption of the
 * RFC 9001 A.2 client Initial, packet number decoding (RFC 9000 A.3),
 * CRYPTO reassembly out of order / overlapping / duplicated across
 * packets, v2 packet types, the gQUIC CHLO, and truncated or tampered
 * input at every length.  Packets other than A.2 are sealed here with
 * libcrypto (seal()) from keys the module derives, so a key bug shows in
 * the A.1/A.2 tests first.  Inputs are copied to exact-size heap buffers so
 * ASan flags any over-read.
 */
#include "app-quic.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "quic-vectors.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (n)
		memcpy(d, p, n);
	return d;
}

static uint8_t scratch[65536];
static const uint8_t dcid_a[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

static void test_app_quic__keys_v1(void)
{
	struct quic_keys k;
	uint8_t key[16], iv[12], hp[16];

	hex("1f369613dd76d5467730efcbe3b1a22d", key, 16);
	hex("fa044b2f42a3fd3b46fb255c", iv, 12);
	hex("9f50449e04a0e810283a1e9933adedd2", hp, 16);
	CHECK(quic_initial_keys(QUIC_V1, dcid_a, sizeof(dcid_a), &k));
	CHECK(!memcmp(k.key, key, 16));
	CHECK(!memcmp(k.iv, iv, 12));
	CHECK(!memcmp(k.hp, hp, 16));
	/* draft-33/34 share the v1 salt */
	CHECK(quic_initial_keys(0xff000022u, dcid_a, sizeof(dcid_a), &k));
	CHECK(!memcmp(k.key, key, 16));
	/* draft-29 does not */
	CHECK(quic_initial_keys(0xff00001du, dcid_a, sizeof(dcid_a), &k));
	CHECK(memcmp(k.key, key, 16));
	/* unknown and reserved versions have no keys */
	CHECK(!quic_initial_keys(0x0a0a0a0au, dcid_a, sizeof(dcid_a), &k));
	CHECK(!quic_initial_keys(0x51303436u, dcid_a, sizeof(dcid_a), &k)); /* Q046: clear */
}

static void test_app_quic__keys_v2(void)
{
	struct quic_keys k;
	uint8_t key[16], iv[12], hp[16];

	hex("8b1a0bc121284290a29e0971b5cd045d", key, 16);
	hex("91f73e2351d8fa91660e909f", iv, 12);
	hex("45b95e15235d6f45a6b19cbcb0294ba9", hp, 16);
	CHECK(quic_initial_keys(QUIC_V2, dcid_a, sizeof(dcid_a), &k));
	CHECK(!memcmp(k.key, key, 16));
	CHECK(!memcmp(k.iv, iv, 12));
	CHECK(!memcmp(k.hp, hp, 16));
}

static void test_app_quic__pn_decode(void)
{
	/* RFC 9000 A.3 example */
	CHECK_EQ_U(quic_pn_decode(0xa82f30ea, 0x9b32, 16), 0xa82f9b32u);
	CHECK_EQ_U(quic_pn_decode(-1, 2, 32), 2);
	CHECK_EQ_U(quic_pn_decode(-1, 0, 8), 0);
	CHECK_EQ_U(quic_pn_decode(0xff, 0x01, 8), 0x101);
}

static void test_app_quic__rfc9001_a2(void)
{
	uint8_t *pkt = dup_exact(rfc9001_a2_protected, sizeof(rfc9001_a2_protected));
	struct quic_packet pk;

	CHECK_EQ_U(quic_packet_open(pkt, sizeof(rfc9001_a2_protected), NULL, scratch,
				    sizeof(scratch), &pk), QUIC_OK);
	CHECK_EQ_U(pk.version, QUIC_V1);
	CHECK_EQ_U(pk.pn, 2);
	CHECK_EQ_U(pk.dcid_len, 8);
	CHECK_EQ_U(pk.wire_len, 1200);
	CHECK_EQ_U(pk.payload_len, 1162);
	CHECK(!memcmp(pk.payload, rfc9001_a2_crypto, sizeof(rfc9001_a2_crypto)));
	for (size_t i = sizeof(rfc9001_a2_crypto); i < pk.payload_len; i++)
		if (pk.payload[i]) {
			CHECK(!"padding is zero");
			break;
		}
	free(pkt);
}

static void test_app_quic__rfc9001_a2_hello(void)
{
	static struct quic_flow qf;
	struct quic_stats st = { 0 };
	struct tls_hello h;

	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, rfc9001_a2_protected, sizeof(rfc9001_a2_protected),
					scratch, sizeof(scratch), &st), QUIC_DG_HELLO);
	CHECK_EQ_U(st.initials, 1);
	CHECK_EQ_U(qf.version, QUIC_V1);
	CHECK_EQ_U(quic_flow_hello(&qf, &h), TLS_OK);
	CHECK_STREQ(h.sni, "example.com");
	CHECK_STREQ(h.alpn, "alpn");
	CHECK_EQ_U(h.version, 0x0304);
	CHECK(h.ja4[0] == 'q');
	/* 2 ciphers, 11 extensions, ALPN "alpn" */
	CHECK(!strncmp(h.ja4, "q13d0211an_", 11));
	CHECK(h.ja3[0]);
}

static void test_app_quic__tampered(void)
{
	uint8_t *pkt = dup_exact(rfc9001_a2_protected, sizeof(rfc9001_a2_protected));
	struct quic_packet pk;

	pkt[600] ^= 1; /* ciphertext */
	CHECK_EQ_U(quic_packet_open(pkt, sizeof(rfc9001_a2_protected), NULL, scratch,
				    sizeof(scratch), &pk), QUIC_DECRYPT_FAILED);
	pkt[600] ^= 1;
	pkt[10] ^= 1; /* DCID: other keys */
	CHECK_EQ_U(quic_packet_open(pkt, sizeof(rfc9001_a2_protected), NULL, scratch,
				    sizeof(scratch), &pk), QUIC_DECRYPT_FAILED);
	pkt[10] ^= 1;
	pkt[1199] ^= 0x80; /* tag */
	CHECK_EQ_U(quic_packet_open(pkt, sizeof(rfc9001_a2_protected), NULL, scratch,
				    sizeof(scratch), &pk), QUIC_DECRYPT_FAILED);
	free(pkt);
}

static void test_app_quic__truncated(void)
{
	/* every prefix: never OK (Length says 1182 more bytes), never a crash */
	for (size_t n = 0; n < sizeof(rfc9001_a2_protected); n++) {
		uint8_t *pkt = dup_exact(rfc9001_a2_protected, n);
		struct quic_packet pk;
		static struct quic_flow qf;
		struct quic_stats st = { 0 };
		enum quic_result r = quic_packet_open(pkt, n, NULL, scratch, sizeof(scratch), &pk);
		if (r == QUIC_OK)
			CHECK(!"truncated packet opened");
		quic_flow_init(&qf);
		if (quic_client_datagram(&qf, pkt, n, scratch, sizeof(scratch), &st) == QUIC_DG_HELLO)
			CHECK(!"truncated datagram gave a hello");
		free(pkt);
	}
}

/* Seal a client Initial of @version with @dcid around @pt (RFC 9001 5). */
static size_t seal(uint32_t version, const uint8_t *dcid, size_t dlen, uint32_t pn,
		   const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	struct quic_keys k;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12], mask[16], tag[16];
	size_t n = 0, pn_off, len = 4 + pt_len + 16;
	int outl = 0;
	uint8_t type = version == QUIC_V2 ? 1 : 0;

	if (!quic_initial_keys(version, dcid, dlen, &k))
		return 0;
	out[n++] = (uint8_t)(0xc0 | type << 4 | 3);
	out[n++] = (uint8_t)(version >> 24);
	out[n++] = (uint8_t)(version >> 16);
	out[n++] = (uint8_t)(version >> 8);
	out[n++] = (uint8_t)version;
	out[n++] = (uint8_t)dlen;
	memcpy(out + n, dcid, dlen);
	n += dlen;
	out[n++] = 0;    /* scid */
	out[n++] = 0;    /* token */
	out[n++] = (uint8_t)(0x40 | len >> 8);
	out[n++] = (uint8_t)len;
	pn_off = n;
	for (int i = 3; i >= 0; i--)
		out[n++] = (uint8_t)(pn >> (8 * i));
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k.key, nonce);
	EVP_EncryptUpdate(ctx, NULL, &outl, out, (int)n);
	EVP_EncryptUpdate(ctx, out + n, &outl, pt, (int)pt_len);
	EVP_EncryptFinal_ex(ctx, out + n + pt_len, &outl);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
	memcpy(out + n + pt_len, tag, 16);
	EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k.hp, NULL);
	EVP_EncryptUpdate(ctx, mask, &outl, out + pn_off + 4, 16);
	EVP_CIPHER_CTX_free(ctx);
	out[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		out[pn_off + i] ^= mask[1 + i];
	return n + pt_len + 16;
}

/* Append a CRYPTO frame (2-byte varints) for hello bytes [off, off+len). */
static size_t crypto_frame(uint8_t *p, const uint8_t *hello, size_t off, size_t len)
{
	p[0] = 0x06;
	p[1] = (uint8_t)(0x40 | off >> 8);
	p[2] = (uint8_t)off;
	p[3] = (uint8_t)(0x40 | len >> 8);
	p[4] = (uint8_t)len;
	memcpy(p + 5, hello + off, len);
	return 5 + len;
}

static void test_app_quic__reassembly(void)
{
	/* the A.2 hello (bytes 4.. of its CRYPTO frame) in pieces, out of
	 * order, overlapping, duplicated, with PING/PADDING, over 2 packets */
	const uint8_t *hello = rfc9001_a2_crypto + 4;
	const size_t hl = sizeof(rfc9001_a2_crypto) - 4;
	static uint8_t pt[1200], dg[1400];
	static struct quic_flow qf;
	struct quic_stats st = { 0 };
	struct tls_hello h;
	size_t n = 0, len;

	quic_flow_init(&qf);
	pt[n++] = 0x01; /* PING */
	n += crypto_frame(pt + n, hello, 200, hl - 200);
	pt[n++] = 0x00;
	n += crypto_frame(pt + n, hello, 50, 60);
	n += crypto_frame(pt + n, hello, 50, 60);  /* duplicate */
	n += crypto_frame(pt + n, hello, 100, 120); /* overlaps both sides */
	memset(pt + n, 0, sizeof(pt) - n);
	len = seal(QUIC_V1, dcid_a, 8, 0, pt, 1100, dg);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st), QUIC_DG_MORE);
	CHECK_EQ_U(qf.contig, 0);
	n = 0;
	n += crypto_frame(pt + n, hello, 0, 60); /* overlaps the next island */
	pt[n++] = 0x01;
	memset(pt + n, 0, sizeof(pt) - n);
	len = seal(QUIC_V1, dcid_a, 8, 1, pt, 1100, dg);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st), QUIC_DG_HELLO);
	CHECK_EQ_U(st.initials, 2);
	CHECK_EQ_U(qf.msg_len, hl);
	CHECK(!memcmp(qf.buf, hello, hl));
	CHECK_EQ_U(quic_flow_hello(&qf, &h), TLS_OK);
	CHECK_STREQ(h.sni, "example.com");
}

static void test_app_quic__v2_and_coalesced(void)
{
	/* a v2 Initial (type bits 01) followed in the same datagram by a
	 * Handshake-typed packet (skipped by its Length) */
	static uint8_t pt[1200], dg[1400];
	static struct quic_flow qf;
	struct quic_stats st = { 0 };
	struct tls_hello h;
	size_t len;

	memset(pt, 0, sizeof(pt));
	memcpy(pt, rfc9001_a2_crypto, sizeof(rfc9001_a2_crypto));
	len = seal(QUIC_V2, dcid_a, 8, 7, pt, 1000, dg);
	CHECK(len > 0);
	{
		static const uint8_t hs[] = { 0xf0, 0x6b, 0x33, 0x43, 0xcf, 0x00, 0x00, 0x05,
					      1, 2, 3, 4, 5 };
		memcpy(dg + len, hs, sizeof(hs));
		len += sizeof(hs);
	}
	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st), QUIC_DG_HELLO);
	CHECK_EQ_U(st.skipped, 1);
	CHECK_EQ_U(qf.version, QUIC_V2);
	CHECK_EQ_U(quic_flow_hello(&qf, &h), TLS_OK);
	CHECK_STREQ(h.sni, "example.com");
	/* a v1-typed Initial under the v2 version is not an Initial */
	dg[0] = (uint8_t)((dg[0] & 0xcf) | 0x00);
	quic_flow_init(&qf);
	CHECK(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st) != QUIC_DG_HELLO);
}

static void test_app_quic__crypto_bounds(void)
{
	static uint8_t pt[1200], dg[1400];
	static struct quic_flow qf;
	struct quic_stats st = { 0 };
	size_t n = 0, len;

	memset(pt, 0, sizeof(pt));
	/* offset 2^40, far past the bound, and one straddling it */
	pt[n++] = 0x06;
	pt[n++] = 0xc0; pt[n++] = 0; pt[n++] = 0; pt[n++] = 0x01; pt[n++] = 0; pt[n++] = 0; pt[n++] = 0; pt[n++] = 0;
	pt[n++] = 0x04; n += 4;
	pt[n++] = 0x06;
	pt[n++] = 0x80 | ((QUIC_CRYPTO_MAX - 2) >> 24); pt[n++] = (uint8_t)((QUIC_CRYPTO_MAX - 2) >> 16);
	pt[n++] = (uint8_t)((QUIC_CRYPTO_MAX - 2) >> 8); pt[n++] = (uint8_t)(QUIC_CRYPTO_MAX - 2);
	pt[n++] = 0x04; n += 4;
	/* then a CRYPTO frame whose length runs past the packet */
	pt[n++] = 0x06; pt[n++] = 0x00; pt[n++] = 0x7f; pt[n++] = 0xff;
	len = seal(QUIC_V1, dcid_a, 8, 0, pt, n, dg);
	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st), QUIC_DG_MORE);
	CHECK_EQ_U(st.crypto_beyond, 2);
	CHECK_EQ_U(st.malformed, 1);
	CHECK_EQ_U(qf.contig, 0);
	/* a hello header declaring more than the bound */
	n = 0;
	memset(pt, 0, sizeof(pt));
	pt[n++] = 0x06; pt[n++] = 0x00; pt[n++] = 0x04;
	pt[n++] = 0x01; pt[n++] = 0x01; pt[n++] = 0x00; pt[n++] = 0x00;
	len = seal(QUIC_V1, dcid_a, 8, 0, pt, 1100, dg);
	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, len, scratch, sizeof(scratch), &st), QUIC_DG_FAIL);
	CHECK_EQ_U(st.hello_too_big, 1);
}

static void test_app_quic__gquic_chlo(void)
{
	/* Q046 long header, 8-byte DCID, 4-byte PN, 12-byte hash, a STREAM
	 * frame header, then CHLO { SNI "mail.google.com", VER "Q046" } */
	static uint8_t dg[1350];
	static struct quic_flow qf;
	struct quic_stats st = { 0 };
	size_t n = 0;
	static const char sni[] = "mail.google.com";

	memset(dg, 0, sizeof(dg));
	dg[n++] = 0xc3;
	memcpy(dg + n, "Q046", 4); n += 4;
	dg[n++] = 0x50;
	n += 8 + 4 + 12;
	dg[n++] = 0xa0; dg[n++] = 0x01; dg[n++] = 0x04; dg[n++] = 0x00;
	memcpy(dg + n, "CHLO", 4); n += 4;
	dg[n++] = 2; dg[n++] = 0; dg[n++] = 0; dg[n++] = 0;
	memcpy(dg + n, "SNI\0", 4); n += 4;
	dg[n++] = (uint8_t)strlen(sni); dg[n++] = 0; dg[n++] = 0; dg[n++] = 0;
	memcpy(dg + n, "VER\0", 4); n += 4;
	dg[n++] = (uint8_t)(strlen(sni) + 4); dg[n++] = 0; dg[n++] = 0; dg[n++] = 0;
	memcpy(dg + n, sni, strlen(sni)); n += strlen(sni);
	memcpy(dg + n, "Q046", 4); n += 4;
	CHECK(quic_looks_like(dg, sizeof(dg)));
	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, dg, sizeof(dg), scratch, sizeof(scratch), &st), QUIC_DG_CHLO);
	CHECK_STREQ(qf.sni, sni);
	CHECK_EQ_U(qf.version, 0x51303436u);
	/* every prefix of it: no crash, no SNI beyond what is there */
	for (size_t k = 0; k < n; k++) {
		uint8_t *p = dup_exact(dg, k);
		quic_flow_init(&qf);
		(void)quic_client_datagram(&qf, p, k, scratch, sizeof(scratch), &st);
		free(p);
	}
}

static void test_app_quic__version_names(void)
{
	char b[QUIC_VERSION_STRLEN];

	CHECK_STREQ(quic_version_name(1, b, sizeof(b)), "1");
	CHECK_STREQ(quic_version_name(QUIC_V2, b, sizeof(b)), "2");
	CHECK_STREQ(quic_version_name(0xff00001d, b, sizeof(b)), "draft-29");
	CHECK_STREQ(quic_version_name(0x51303436, b, sizeof(b)), "Q046");
	CHECK_STREQ(quic_version_name(0x54303531, b, sizeof(b)), "T051");
	CHECK_STREQ(quic_version_name(0xfaceb002, b, sizeof(b)), "mvfst-27");
	CHECK_STREQ(quic_version_name(0x1a2a3a4a, b, sizeof(b)), "0x1a2a3a4a");
}

static void test_app_quic__not_quic(void)
{
	static const uint8_t vn[] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t dns[] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01 };
	static const uint8_t short_hdr[] = { 0x40, 1, 2, 3, 4, 5, 6, 7, 8 };
	static struct quic_flow qf;
	struct quic_stats st = { 0 };

	CHECK(quic_is_version_negotiation(vn, sizeof(vn)));
	CHECK(!quic_looks_like(dns, sizeof(dns)));
	CHECK(!quic_looks_like(short_hdr, sizeof(short_hdr)));
	CHECK(!quic_looks_like(vn, sizeof(vn)));
	quic_flow_init(&qf);
	CHECK_EQ_U(quic_client_datagram(&qf, dns, sizeof(dns), scratch, sizeof(scratch), &st),
		   QUIC_DG_NOT_QUIC);
	CHECK_EQ_U(quic_client_datagram(&qf, vn, sizeof(vn), scratch, sizeof(scratch), &st),
		   QUIC_DG_MORE);
	CHECK_EQ_U(st.version_neg, 1);
}

int main(void)
{
	RUN(test_app_quic__keys_v1);
	RUN(test_app_quic__keys_v2);
	RUN(test_app_quic__pn_decode);
	RUN(test_app_quic__rfc9001_a2);
	RUN(test_app_quic__rfc9001_a2_hello);
	RUN(test_app_quic__tampered);
	RUN(test_app_quic__truncated);
	RUN(test_app_quic__reassembly);
	RUN(test_app_quic__v2_and_coalesced);
	RUN(test_app_quic__crypto_bounds);
	RUN(test_app_quic__gquic_chlo);
	RUN(test_app_quic__version_names);
	RUN(test_app_quic__not_quic);
	return CHECK_DONE();
}
