/* SPDX-License-Identifier: MIT */
/*
 * fuzz-quic.c -- quic_client_datagram(), quic_packet_open() and the hello
 * hand-off (quic_flow_hello()) over one flow's client datagrams.
 *
 * Input: one selector byte, then records of { length(2, BE), bytes }.
 * Selector bit 0 clear: each record is a client UDP payload, as the app
 * layer passes them.  Bit 0 set: each record is the plaintext frames of a
 * client Initial, which the harness seals (QUIC v1, a fixed DCID, packet
 * number = record index) so the frame parser and CRYPTO reassembly get
 * fuzzed past the AEAD; bit 1 then picks QUIC v2 instead.
 *
 * Checked besides memory safety: the reassembly bounds (contig, msg_len
 * within QUIC_CRYPTO_MAX), a complete hello only when its bytes are all
 * there, NUL-terminated bounded strings, a 'q' JA4 for every parsed hello.
 */
#include "fuzz-common.h"

#include <openssl/evp.h>

#include "app-quic.h"

static uint8_t scratch[65536], dg[65536 + 64];
static struct quic_flow qf;
static const uint8_t dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

/* RFC 9001 5 protection of @pt as a client Initial; returns its length. */
static size_t seal(uint32_t version, uint32_t pn, const uint8_t *pt, size_t pt_len)
{
	struct quic_keys k;
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[12], mask[16];
	size_t n = 0, pn_off, len;
	int outl = 0;
	static uint8_t pad[64];

	if (pt_len < 20) { /* the header-protection sample needs 16 bytes */
		memcpy(pad, pt, pt_len);
		memset(pad + pt_len, 0, 20 - pt_len);
		pt = pad;
		pt_len = 20;
	}
	len = 4 + pt_len + 16;
	if (len > 0x3fff || !quic_initial_keys(version, dcid, sizeof(dcid), &k))
		return 0;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return 0;
	dg[n++] = (uint8_t)(0xc3 | (version == QUIC_V2 ? 0x10 : 0));
	dg[n++] = (uint8_t)(version >> 24);
	dg[n++] = (uint8_t)(version >> 16);
	dg[n++] = (uint8_t)(version >> 8);
	dg[n++] = (uint8_t)version;
	dg[n++] = sizeof(dcid);
	memcpy(dg + n, dcid, sizeof(dcid));
	n += sizeof(dcid);
	dg[n++] = 0;
	dg[n++] = 0;
	dg[n++] = (uint8_t)(0x40 | len >> 8);
	dg[n++] = (uint8_t)len;
	pn_off = n;
	for (int i = 3; i >= 0; i--)
		dg[n++] = (uint8_t)(pn >> (8 * i));
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k.key, nonce);
	EVP_EncryptUpdate(ctx, NULL, &outl, dg, (int)n);
	EVP_EncryptUpdate(ctx, dg + n, &outl, pt, (int)pt_len);
	EVP_EncryptFinal_ex(ctx, dg + n + pt_len, &outl);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, dg + n + pt_len);
	EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k.hp, NULL);
	EVP_EncryptUpdate(ctx, mask, &outl, dg + pn_off + 4, 16);
	EVP_CIPHER_CTX_free(ctx);
	dg[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		dg[pn_off + i] ^= mask[1 + i];
	return n + pt_len + 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	struct quic_stats st = { 0 };
	struct quic_packet pk;
	struct tls_hello h;
	uint8_t sel;
	uint32_t rec = 0;

	fz_init(&f, data, size);
	sel = fz_u8(&f);
	quic_flow_init(&qf);
	while (f.len) {
		const uint8_t *p;
		size_t n = fz_bytes(&f, fz_u16(&f), &p), len;
		uint8_t *copy;
		enum quic_dgram r;

		if (sel & 1) {
			len = seal(sel & 2 ? QUIC_V2 : QUIC_V1, rec, p, n);
			if (!len)
				continue;
			copy = malloc(len);
			memcpy(copy, dg, len);
		} else {
			len = n;
			copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
			if (len)
				memcpy(copy, p, len);
		}
		(void)quic_packet_open(copy, len, NULL, scratch, sizeof(scratch), &pk);
		FUZZ_CHECK(pk.payload_len <= len && pk.dcid_len <= QUIC_CID_MAX);
		r = quic_client_datagram(&qf, copy, len, scratch, sizeof(scratch), &st);
		free(copy);
		rec++;
		FUZZ_CHECK(qf.contig <= QUIC_CRYPTO_MAX && qf.msg_len <= QUIC_CRYPTO_MAX);
		FUZZ_CHECK(memchr(qf.sni, 0, sizeof(qf.sni)) != NULL);
		if (r == QUIC_DG_HELLO) {
			FUZZ_CHECK(qf.msg_len >= 4 && qf.msg_len <= qf.contig);
			if (quic_flow_hello(&qf, &h) == TLS_OK) {
				FUZZ_CHECK(h.ja4[0] == 'q' || h.ja4[0] == '\0');
				FUZZ_CHECK(memchr(h.sni, 0, sizeof(h.sni)) != NULL);
			}
			break;
		}
		if (r == QUIC_DG_CHLO || r == QUIC_DG_FAIL || r == QUIC_DG_NOT_QUIC)
			break;
	}
	return 0;
}
