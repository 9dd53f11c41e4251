/* SPDX-License-Identifier: MIT */
/*
 * app-quic.c -- QUIC Initial decryption and CRYPTO reassembly, up to the
 * ClientHello (or the gQUIC CHLO).  See app-quic.h.  Every wire field is
 * read through util-cursor.h; the crypto is libcrypto's.
 *
 *   Long header:  flags(1) | version(4) | dcid<0..20> | scid<0..20>
 *                 | Initial: token<varint> | length(varint) | pn(1..4)
 *                 | payload (AEAD, 16-byte tag)
 *   Frames:       PADDING 0x00, PING 0x01, ACK 0x02/0x03,
 *                 CRYPTO 0x06 (gQUIC T05x/Q050: 0x08) offset(v) len(v) data,
 *                 CONNECTION_CLOSE 0x1c/0x1d
 */
#include "app-quic.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util-cursor.h"

#define QUIC_HP_SAMPLE 16
#define QUIC_TAG_LEN 16
#define QUIC_SECRET_LEN 32 /* SHA-256 */

/* Google QUIC versions, by their ASCII spelling. */
#define GQUIC_Q043 0x51303433u
#define GQUIC_Q046 0x51303436u
#define GQUIC_Q050 0x51303530u
#define GQUIC_T050 0x54303530u
#define GQUIC_T051 0x54303531u
#define MVFST_22 0xfaceb001u
#define MVFST_27 0xfaceb002u
#define MVFST_EXP 0xfaceb00eu

/* Initial salts (RFC 9001 5.2, RFC 9369 3.3.1, the drafts; Google's from
 * its QUIC sources as Wireshark and nDPI use them). */
static const uint8_t salt_v1[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };
static const uint8_t salt_v2[20] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 };
static const uint8_t salt_d22[20] = { /* draft-22, mvfst 0xfaceb001 */
	0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
	0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a };
static const uint8_t salt_d23[20] = { /* draft-23..28, mvfst 0xfaceb002/e */
	0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
	0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02 };
static const uint8_t salt_d29[20] = { /* draft-29..32 */
	0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99 };
static const uint8_t salt_q050[20] = {
	0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94,
	0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45 };
static const uint8_t salt_t050[20] = {
	0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
	0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10 };
static const uint8_t salt_t051[20] = {
	0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
	0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d };

/* What a version needs: its salt, its label prefix, where Initial sits in
 * the long-header type bits, its CRYPTO frame type and its hello format. */
struct quic_vinfo {
	const uint8_t *salt;      /* NULL: no Initial protection (Q043/Q046) */
	const char *label;        /* "quic " or "quicv2 " */
	uint8_t initial_type;     /* long-header type bits of an Initial */
	uint8_t crypto_frame;     /* 0x06, gQUIC 0x08 */
	bool chlo;                /* CRYPTO carries a gQUIC CHLO, not TLS */
};

static bool vinfo(uint32_t v, struct quic_vinfo *vi)
{
	vi->label = "quic ";
	vi->initial_type = 0;
	vi->crypto_frame = 0x06;
	vi->chlo = false;
	if (v == QUIC_V1 || v == 0xff000021u || v == 0xff000022u) {
		vi->salt = salt_v1; /* v1, draft-33, draft-34 */
	} else if (v == QUIC_V2) {
		vi->salt = salt_v2;
		vi->label = "quicv2 ";
		vi->initial_type = 1;
	} else if (v >= 0xff00001du && v <= 0xff000020u) {
		vi->salt = salt_d29;
	} else if ((v >= 0xff000017u && v <= 0xff00001cu) || v == MVFST_27 || v == MVFST_EXP) {
		vi->salt = salt_d23;
	} else if (v == 0xff000016u || v == MVFST_22) {
		vi->salt = salt_d22;
	} else if (v == GQUIC_Q050 || v == GQUIC_T050 || v == GQUIC_T051) {
		vi->salt = v == GQUIC_Q050 ? salt_q050 : v == GQUIC_T050 ? salt_t050 : salt_t051;
		vi->crypto_frame = 0x08;
		vi->chlo = v == GQUIC_Q050;
	} else if (v == GQUIC_Q043 || v == GQUIC_Q046) {
		vi->salt = NULL;
		vi->chlo = true;
	} else {
		return false;
	}
	return true;
}

bool quic_version_known(uint32_t version)
{
	struct quic_vinfo vi;
	return vinfo(version, &vi);
}

const char *quic_version_name(uint32_t v, char *buf, size_t len)
{
	uint8_t c[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	if (v == QUIC_V1)
		snprintf(buf, len, "1");
	else if (v == QUIC_V2)
		snprintf(buf, len, "2");
	else if ((v >> 8) == 0xff0000u)
		snprintf(buf, len, "draft-%u", v & 0xffu);
	else if (v == MVFST_22)
		snprintf(buf, len, "mvfst-22");
	else if (v == MVFST_27)
		snprintf(buf, len, "mvfst-27");
	else if (v == MVFST_EXP)
		snprintf(buf, len, "mvfst-exp");
	else if ((c[0] == 'Q' || c[0] == 'T') && c[1] >= '0' && c[1] <= '9' &&
		 c[2] >= '0' && c[2] <= '9' && c[3] >= '0' && c[3] <= '9')
		snprintf(buf, len, "%c%c%c%c", c[0], c[1], c[2], c[3]);
	else
		snprintf(buf, len, "0x%08x", v);
	return buf;
}

uint64_t quic_pn_decode(int64_t largest_pn, uint64_t truncated_pn, unsigned pn_nbits)
{
	uint64_t expected = (uint64_t)(largest_pn + 1);
	uint64_t win = (uint64_t)1 << pn_nbits, hwin = win / 2, mask = win - 1;
	uint64_t cand = (expected & ~mask) | truncated_pn;

	if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

/* --- the algorithms, fetched from libcrypto's providers once ---
 *
 * OpenSSL 3 looks an algorithm up in its provider store (under a lock) on
 * every EVP_KDF_fetch() and on every init with EVP_aes_128_gcm(); doing it
 * once per process takes most of the cost off an Initial (make bench,
 * bench-quic).  The fetched objects live as long as the process. */
static struct {
	pthread_once_t once;
	EVP_KDF *hkdf;
	EVP_CIPHER *ecb, *gcm;
} algs = { .once = PTHREAD_ONCE_INIT };

static void algs_fetch(void)
{
	algs.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	algs.ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	algs.gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

static bool algs_ready(void)
{
	pthread_once(&algs.once, algs_fetch);
	return algs.hkdf && algs.ecb && algs.gcm;
}

/* --- key derivation: RFC 9001 5.1, RFC 8446 7.1 HKDF-Expand-Label --- */

static bool hkdf(int mode, const uint8_t *salt, size_t salt_len, const uint8_t *key,
		 size_t key_len, const uint8_t *info, size_t info_len, uint8_t *out,
		 size_t out_len)
{
	EVP_KDF_CTX *kctx = algs_ready() ? EVP_KDF_CTX_new(algs.hkdf) : NULL;
	OSSL_PARAM params[6], *p = params;
	bool ok;

	if (!kctx)
		return false;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, out_len, params) > 0;
	EVP_KDF_CTX_free(kctx);
	return ok;
}

/* HKDF-Expand-Label(secret, prefix + label, "", out_len). */
static bool expand_label(const uint8_t secret[QUIC_SECRET_LEN], const char *prefix,
			 const char *label, uint8_t *out, size_t out_len)
{
	uint8_t info[64];
	size_t pl = strlen(prefix), ll = strlen(label), n = 0;

	if (6 + pl + ll + 4 > sizeof(info))
		return false;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + pl + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, prefix, pl);
	n += pl;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* empty context */
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, secret, QUIC_SECRET_LEN, info, n,
		    out, out_len);
}

bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
		       struct quic_keys *out)
{
	static const uint8_t empty[1];
	uint8_t initial[QUIC_SECRET_LEN], client[QUIC_SECRET_LEN];
	struct quic_vinfo vi;
	bool ok;

	if (!vinfo(version, &vi) || !vi.salt)
		return false;
	ok = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, vi.salt, 20, dcid_len ? dcid : empty, dcid_len,
		  NULL, 0, initial, sizeof(initial)) &&
	     expand_label(initial, "", "client in", client, sizeof(client)) &&
	     expand_label(client, vi.label, "key", out->key, sizeof(out->key)) &&
	     expand_label(client, vi.label, "iv", out->iv, sizeof(out->iv)) &&
	     expand_label(client, vi.label, "hp", out->hp, sizeof(out->hp));
	return ok;
}

/* --- packet protection --- */

static bool hp_mask(const uint8_t hp[16], const uint8_t sample[QUIC_HP_SAMPLE], uint8_t mask[16])
{
	EVP_CIPHER_CTX *ctx = algs_ready() ? EVP_CIPHER_CTX_new() : NULL;
	int n = 0;
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_EncryptInit_ex2(ctx, algs.ecb, hp, NULL, NULL) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, mask, &n, sample, QUIC_HP_SAMPLE) && n == QUIC_HP_SAMPLE;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* AEAD_AES_128_GCM open: aad = a1 || a2 || a3 (first byte, the rest of the
 * header, the packet number: unprotected copies of what is on the wire). */
static bool aead_open(const struct quic_keys *k, uint64_t pn, const uint8_t *a1, size_t n1,
		      const uint8_t *a2, size_t n2, const uint8_t *a3, size_t n3,
		      const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = algs_ready() ? EVP_CIPHER_CTX_new() : NULL;
	uint8_t nonce[12];
	int n = 0;
	bool ok;

	if (!ctx || ct_len > (size_t)INT32_MAX)
		goto fail;
	memcpy(nonce, k->iv, sizeof(nonce));
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	ok = EVP_DecryptInit_ex2(ctx, algs.gcm, k->key, nonce, NULL) &&
	     EVP_DecryptUpdate(ctx, NULL, &n, a1, (int)n1) &&
	     (!n2 || EVP_DecryptUpdate(ctx, NULL, &n, a2, (int)n2)) &&
	     EVP_DecryptUpdate(ctx, NULL, &n, a3, (int)n3) &&
	     EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, QUIC_TAG_LEN, (void *)tag) &&
	     EVP_DecryptFinal_ex(ctx, out + n, &n) > 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return false;
}

/* RFC 9000 16: variable-length integer. */
static CUR_MUST_CHECK bool cur_varint(struct cursor *c, uint64_t *v)
{
	uint8_t b[8], first;
	size_t n;

	if (!cur_peek_u8(c, &first))
		return false;
	n = (size_t)1 << (first >> 6);
	if (!cur_copy(c, b, n))
		return false;
	*v = b[0] & 0x3f;
	for (size_t i = 1; i < n; i++)
		*v = *v << 8 | b[i];
	return true;
}

bool quic_is_version_negotiation(const uint8_t *data, size_t len)
{
	struct cursor c;
	uint8_t b0;
	uint32_t v;

	cur_init(&c, data, len);
	return cur_u8(&c, &b0) && (b0 & 0x80) && cur_be32(&c, &v) && v == 0;
}

enum quic_result quic_packet_open(const uint8_t *data, size_t len, const struct quic_keys *keys,
				  uint8_t *scratch, size_t cap, struct quic_packet *out)
{
	struct cursor dg, c, scid, pkt, pn_c;
	struct quic_vinfo vi;
	struct quic_keys own;
	uint8_t b0, dlen, type, mask[16], pn_bytes[4], b0_clear;
	const uint8_t *sample, *ct, *tag, *hdr_rest;
	uint64_t tok_len, plen, pn = 0;
	size_t pn_len, hdr_rest_len;

	memset(out, 0, sizeof(*out));
	cur_init(&dg, data, len);
	c = dg;
	if (!cur_u8(&c, &b0) || !(b0 & 0x80))
		return QUIC_NOT_QUIC;
	if (!cur_be32(&c, &out->version))
		return QUIC_MALFORMED;
	if (out->version == 0) {
		out->wire_len = len; /* VN fills the datagram */
		return QUIC_VERSION_NEG;
	}
	if (!cur_u8(&c, &dlen) || dlen > QUIC_CID_MAX || !cur_copy(&c, out->dcid, dlen) ||
	    !cur_u8_prefixed(&c, &scid) || cur_len(&scid) > QUIC_CID_MAX)
		return vinfo(out->version, &vi) ? QUIC_MALFORMED : QUIC_UNKNOWN_VERSION;
	out->dcid_len = dlen;
	if (!vinfo(out->version, &vi) || !vi.salt) {
		out->wire_len = len; /* no way to know where it ends */
		return QUIC_UNKNOWN_VERSION;
	}
	type = (b0 >> 4) & 3;
	if (type != vi.initial_type) {
		/* Retry has no Length and ends the datagram; 0-RTT and
		 * Handshake are framed by their Length. */
		uint8_t retry = out->version == QUIC_V2 ? 0 : 3;
		if (type == retry) {
			out->wire_len = len;
			return QUIC_SKIPPED;
		}
		if (!cur_varint(&c, &plen) || plen > cur_len(&c))
			return QUIC_MALFORMED;
		out->wire_len = cur_offset(&dg, &c) + (size_t)plen;
		return QUIC_SKIPPED;
	}
	if (!cur_varint(&c, &tok_len) || tok_len > cur_len(&c) || !cur_skip(&c, (size_t)tok_len) ||
	    !cur_varint(&c, &plen) || plen > cur_len(&c))
		return QUIC_MALFORMED;
	hdr_rest = data + 1;
	hdr_rest_len = cur_offset(&dg, &c) - 1; /* version .. Length */
	if (!cur_sub(&c, (size_t)plen, &pkt))
		return QUIC_MALFORMED;
	out->wire_len = cur_offset(&dg, &c);
	/* sample: 16 bytes starting 4 bytes past the packet number start */
	pn_c = pkt;
	if (!cur_skip(&pn_c, 4) || !cur_bytes(&pn_c, QUIC_HP_SAMPLE, &sample))
		return QUIC_MALFORMED;
	if (!keys) {
		if (!quic_initial_keys(out->version, out->dcid, dlen, &own))
			return QUIC_DECRYPT_FAILED;
		keys = &own;
	}
	if (!hp_mask(keys->hp, sample, mask))
		return QUIC_DECRYPT_FAILED;
	b0_clear = b0 ^ (mask[0] & 0x0f);
	pn_len = (size_t)(b0_clear & 3) + 1;
	if (!cur_copy(&pkt, pn_bytes, pn_len))
		return QUIC_MALFORMED;
	for (size_t i = 0; i < pn_len; i++) {
		pn_bytes[i] ^= mask[1 + i];
		pn = pn << 8 | pn_bytes[i];
	}
	out->pn = quic_pn_decode(-1, pn, (unsigned)(8 * pn_len));
	if (cur_len(&pkt) < QUIC_TAG_LEN + 1 || cur_len(&pkt) > cap)
		return QUIC_MALFORMED;
	{
		size_t ct_len = cur_len(&pkt) - QUIC_TAG_LEN;
		if (!cur_bytes(&pkt, ct_len, &ct) || !cur_bytes(&pkt, QUIC_TAG_LEN, &tag))
			return QUIC_MALFORMED;
		if (!aead_open(keys, out->pn, &b0_clear, 1, hdr_rest, hdr_rest_len, pn_bytes,
			       pn_len, ct, ct_len, tag, scratch))
			return QUIC_DECRYPT_FAILED;
		out->payload = scratch;
		out->payload_len = ct_len;
	}
	return QUIC_OK;
}

/* --- CRYPTO reassembly --- */

void quic_flow_init(struct quic_flow *qf)
{
	memset(qf, 0, offsetof(struct quic_flow, have));
	memset(qf->have, 0, sizeof(qf->have));
}

static bool have_byte(const struct quic_flow *qf, size_t k)
{
	return qf->have[k / 8] & (1u << (k % 8));
}

/* Store CRYPTO bytes at @off; bytes already held are kept (first wins). */
static void crypto_add(struct quic_flow *qf, uint64_t off, const uint8_t *d, size_t n,
		       struct quic_stats *st)
{
	size_t i = 0;

	if (off >= QUIC_CRYPTO_MAX) {
		if (n)
			st->crypto_beyond++;
		return;
	}
	if (n > QUIC_CRYPTO_MAX - off) {
		st->crypto_beyond++;
		n = QUIC_CRYPTO_MAX - (size_t)off;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && !have_byte(qf, (size_t)off + j))
			j++;
		if (j > i) { /* a run of missing bytes */
			memcpy(qf->buf + off + i, d + i, j - i);
			for (size_t k = (size_t)off + i; k < (size_t)off + j; k++)
				qf->have[k / 8] |= (uint8_t)(1u << (k % 8));
		}
		while (j < n && have_byte(qf, (size_t)off + j))
			j++;
		i = j;
	}
	while (qf->contig < QUIC_CRYPTO_MAX && have_byte(qf, qf->contig))
		qf->contig++;
}

/* Frames of a decrypted Initial.  False when they are malformed. */
static bool frames_parse(struct quic_flow *qf, const struct quic_vinfo *vi, const uint8_t *p,
			 size_t n, struct quic_stats *st)
{
	struct cursor c;
	uint64_t type, a, b, count;

	cur_init(&c, p, n);
	while (cur_len(&c)) {
		if (!cur_varint(&c, &type))
			return false;
		if (type == 0x00 || type == 0x01) /* PADDING, PING */
			continue;
		if (type == vi->crypto_frame) {
			const uint8_t *d;
			if (!cur_varint(&c, &a) || !cur_varint(&c, &b) || b > cur_len(&c) ||
			    !cur_bytes(&c, (size_t)b, &d))
				return false;
			crypto_add(qf, a, d, (size_t)b, st);
		} else if (vi->crypto_frame == 0x06 && (type == 0x02 || type == 0x03)) {
			/* ACK: largest, delay, range count, first range,
			 * ranges (gap, length), ECN counts */
			if (!cur_varint(&c, &a) || !cur_varint(&c, &a) || !cur_varint(&c, &count) ||
			    !cur_varint(&c, &a) || count > cur_len(&c) / 2)
				return false;
			for (uint64_t i = 0; i < count; i++)
				if (!cur_varint(&c, &a) || !cur_varint(&c, &b))
					return false;
			if (type == 0x03 && (!cur_varint(&c, &a) || !cur_varint(&c, &a) ||
					     !cur_varint(&c, &a)))
				return false;
		} else if (vi->crypto_frame == 0x06 && (type == 0x1c || type == 0x1d)) {
			return true; /* CONNECTION_CLOSE: nothing more to learn */
		} else {
			return true; /* a frame we do not read: stop here */
		}
	}
	return true;
}

/* gQUIC handshake message: tag(4) "CHLO" | n(2, LE) | pad(2) |
 * n x { tag(4), end_offset(4, LE) } | values.  Pulls the SNI tag. */
enum chlo_result { CHLO_OK, CHLO_NEED_MORE, CHLO_BAD };

static enum chlo_result chlo_parse(const uint8_t *p, size_t n, char *sni, size_t *msg_len)
{
	struct cursor c, vals, tags;
	const uint8_t *tag;
	uint16_t count;
	uint32_t end, prev = 0, last = 0;

	cur_init(&c, p, n);
	sni[0] = '\0';
	if (!cur_bytes(&c, 4, &tag))
		return CHLO_NEED_MORE;
	if (memcmp(tag, "CHLO", 4))
		return CHLO_BAD;
	if (!cur_le16(&c, &count) || !cur_skip(&c, 2))
		return CHLO_NEED_MORE;
	if (!cur_sub(&c, (size_t)count * 8, &tags))
		return (size_t)count * 8 + 8 > QUIC_CRYPTO_MAX ? CHLO_BAD : CHLO_NEED_MORE;
	/* the last end offset is the values' length */
	{
		struct cursor t = tags;
		while (cur_len(&t)) {
			if (!cur_skip(&t, 4) || !cur_le32(&t, &last))
				return CHLO_BAD;
		}
	}
	if (last > QUIC_CRYPTO_MAX)
		return CHLO_BAD;
	*msg_len = 8 + (size_t)count * 8 + last;
	if (!cur_sub(&c, last, &vals))
		return CHLO_NEED_MORE;
	while (cur_len(&tags)) {
		struct cursor v = vals;
		if (!cur_bytes(&tags, 4, &tag) || !cur_le32(&tags, &end) || end < prev)
			return CHLO_BAD;
		if (!memcmp(tag, "SNI\0", 4) && end - prev <= TLS_SNI_MAX) {
			bool ok = cur_skip(&v, prev) && cur_copy(&v, sni, end - prev);
			sni[ok ? end - prev : 0] = '\0';
			for (size_t i = 0; sni[i]; i++) {
				char ch = sni[i];
				if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_')) {
					sni[0] = '\0';
					break;
				}
			}
		}
		prev = end;
	}
	return CHLO_OK;
}

/* Is the hello in qf->buf complete? */
static enum quic_dgram crypto_state(struct quic_flow *qf, struct quic_stats *st)
{
	struct cursor c;
	uint8_t type;
	uint32_t len;

	cur_init(&c, qf->buf, qf->contig);
	if (qf->chlo) {
		size_t msg_len = 0;
		switch (chlo_parse(qf->buf, qf->contig, qf->sni, &msg_len)) {
		case CHLO_OK:
			st->gquic_chlo++;
			return QUIC_DG_CHLO;
		case CHLO_NEED_MORE:
			if (msg_len > QUIC_CRYPTO_MAX) {
				st->hello_too_big++;
				return QUIC_DG_FAIL;
			}
			return QUIC_DG_MORE;
		default:
			return QUIC_DG_FAIL;
		}
	}
	if (!cur_u8(&c, &type) || !cur_be24(&c, &len))
		return QUIC_DG_MORE;
	if (type != TLS_HS_CLIENT_HELLO)
		return QUIC_DG_FAIL;
	if (len > QUIC_CRYPTO_MAX - 4) {
		st->hello_too_big++;
		return QUIC_DG_FAIL;
	}
	qf->msg_len = len + 4;
	return qf->contig >= qf->msg_len ? QUIC_DG_HELLO : QUIC_DG_MORE;
}

/* gQUIC Q043 public header (flags: version 0x01, 8-byte CID 0x08) or Q046
 * long header: the CHLO sits in clear in a STREAM frame of stream 1. */
static bool gquic_clear_version(const uint8_t *data, size_t len, uint32_t *version)
{
	struct cursor c;
	uint8_t b0;

	cur_init(&c, data, len);
	if (!cur_u8(&c, &b0))
		return false;
	if (b0 & 0x80)
		return cur_be32(&c, version) && *version == GQUIC_Q046;
	return (b0 & 0x09) == 0x09 && cur_skip(&c, 8) && cur_be32(&c, version) &&
	       *version == GQUIC_Q043;
}

static enum quic_dgram gquic_clear(struct quic_flow *qf, const uint8_t *data, size_t len,
				   struct quic_stats *st)
{
	struct cursor c;
	const uint8_t *w;

	/* no frame-level parse: find the CHLO tag after the headers */
	cur_init(&c, data, len);
	while (cur_len(&c) >= 4) {
		struct cursor at = c;
		if (!cur_bytes(&at, 4, &w))
			break;
		if (!memcmp(w, "CHLO", 4)) {
			size_t msg_len = 0;
			enum chlo_result r = chlo_parse(cur_ptr(&c), cur_len(&c), qf->sni, &msg_len);
			if (r == CHLO_OK) {
				st->gquic_chlo++;
				return QUIC_DG_CHLO;
			}
			if (r == CHLO_BAD)
				st->malformed++;
			return QUIC_DG_FAIL; /* a CHLO split over packets is not followed */
		}
		if (!cur_skip(&c, 1))
			break;
	}
	return QUIC_DG_MORE;
}

static void count(struct quic_stats *st, enum quic_result r)
{
	switch (r) {
	case QUIC_OK: st->initials++; break;
	case QUIC_SKIPPED: st->skipped++; break;
	case QUIC_VERSION_NEG: st->version_neg++; break;
	case QUIC_UNKNOWN_VERSION: st->unknown_version++; break;
	case QUIC_MALFORMED: st->malformed++; break;
	case QUIC_DECRYPT_FAILED: st->decrypt_failed++; break;
	case QUIC_NOT_QUIC: break;
	}
}

enum quic_dgram quic_client_datagram(struct quic_flow *qf, const uint8_t *data, size_t len,
				     uint8_t *scratch, size_t cap, struct quic_stats *st)
{
	struct cursor dg;
	uint32_t gver;
	bool quic = qf->version != 0;
	bool fed = false;

	st->datagrams++;
	if (qf->datagrams < UINT16_MAX)
		qf->datagrams++;
	if (gquic_clear_version(data, len, &gver)) {
		if (!qf->version)
			qf->version = gver;
		qf->chlo = 1;
		return gquic_clear(qf, data, len, st);
	}
	cur_init(&dg, data, len);
	for (int i = 0; i < QUIC_COALESCED_MAX && cur_len(&dg); i++) {
		struct quic_packet pk;
		struct quic_vinfo vi;
		enum quic_result r;

		r = quic_packet_open(cur_ptr(&dg), cur_len(&dg), NULL, scratch, cap, &pk);
		if (r == QUIC_DECRYPT_FAILED && qf->has_keys &&
		    (pk.dcid_len != qf->key_dcid_len || memcmp(pk.dcid, qf->key_dcid, pk.dcid_len)))
			/* a later Initial to the server's chosen CID keeps
			 * the keys of the first DCID */
			r = quic_packet_open(cur_ptr(&dg), cur_len(&dg), &qf->keys, scratch, cap, &pk);
		count(st, r);
		if (r == QUIC_NOT_QUIC)
			break; /* a short header, or padding after the last packet */
		quic = true;
		if (!qf->version && r != QUIC_VERSION_NEG)
			qf->version = pk.version;
		if (r == QUIC_MALFORMED || pk.wire_len == 0)
			break;
		if (r == QUIC_OK && vinfo(pk.version, &vi)) {
			if (!qf->has_keys && quic_initial_keys(pk.version, pk.dcid, pk.dcid_len, &qf->keys)) {
				qf->has_keys = 1;
				qf->key_dcid_len = pk.dcid_len;
				memcpy(qf->key_dcid, pk.dcid, pk.dcid_len);
			}
			qf->chlo = vi.chlo;
			qf->version = pk.version; /* the version the hello came in */
			qf->opened = 1;
			if (!frames_parse(qf, &vi, pk.payload, pk.payload_len, st))
				st->malformed++;
			fed = true;
		}
		if (!cur_skip(&dg, pk.wire_len))
			break;
	}
	if (!quic)
		return QUIC_DG_NOT_QUIC;
	if (fed) {
		enum quic_dgram s = crypto_state(qf, st);
		if (s != QUIC_DG_MORE)
			return s;
	}
	if (!qf->opened && !quic_version_known(qf->version) && qf->datagrams >= 4)
		return QUIC_DG_FAIL; /* no keys, and no retry in a version we know */
	return qf->datagrams >= QUIC_DATAGRAMS_MAX ? QUIC_DG_FAIL : QUIC_DG_MORE;
}

enum tls_result quic_flow_hello(const struct quic_flow *qf, struct tls_hello *out)
{
	enum tls_result r = tls_client_hello_parse_hs(qf->buf, qf->msg_len, out);

	if (r == TLS_OK)
		tls_ja4_format(out, 'q', out->ja4);
	return r;
}

bool quic_looks_like(const uint8_t *data, size_t len)
{
	struct cursor c;
	uint8_t b0;
	uint32_t v;

	if (gquic_clear_version(data, len, &v))
		return true;
	cur_init(&c, data, len);
	return cur_u8(&c, &b0) && (b0 & 0xc0) == 0xc0 && cur_be32(&c, &v) && v != 0 &&
	       (quic_version_known(v) || (v & 0x0f0f0f0fu) == 0x0a0a0a0au);
}
