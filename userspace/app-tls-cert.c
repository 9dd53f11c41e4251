/* SPDX-License-Identifier: MIT */
/* app-tls-cert.c -- server certificate names.  See app-tls-cert.h. */
#include "app-tls-cert.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "util-cursor.h"

#define TLS_CONTENT_HANDSHAKE 22
#define TLS_CONTENT_CCS 20
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11

/* Copy a host name if it is printable and fits; lower-cased. */
static void add_name(struct tls_cert_names *out, const unsigned char *s, size_t n)
{
	char buf[TLS_CERT_NAME_LEN];
	if (!n || n >= sizeof(buf) || out->n >= TLS_CERT_NAMES_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || c == '*'))
			return;
		buf[i] = (char)c;
	}
	buf[n] = '\0';
	for (unsigned i = 0; i < out->n; i++)
		if (!strcmp(out->names[i], buf))
			return;
	memcpy(out->names[out->n++], buf, n + 1);
}

static enum tls_cert_result names_from_der(const uint8_t *der, size_t len,
					   struct tls_cert_names *out)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	GENERAL_NAMES *sans;
	X509_NAME *subj;
	int idx;

	if (!x)
		return TLS_CERT_INVALID;
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_DNS)
			add_name(out, ASN1_STRING_get0_data(gn->d.dNSName),
				 (size_t)ASN1_STRING_length(gn->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
	subj = X509_get_subject_name(x);
	idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	if (idx >= 0) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		add_name(out, ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn));
	}
	X509_free(x);
	return TLS_CERT_OK;
}

/* TLS 1.3 (supported_versions selecting 0x0304) hides the certificate. */
static bool server_hello_is_tls13(struct cursor *m)
{
	uint16_t ver, cipher;
	uint8_t comp;
	struct cursor sid, exts;

	if (!cur_be16(m, &ver) || !cur_skip(m, 32) || !cur_u8_prefixed(m, &sid) ||
	    !cur_be16(m, &cipher) || !cur_u8(m, &comp))
		return false;
	if (!cur_be16_prefixed(m, &exts))
		return false; /* no extensions: TLS <= 1.2 */
	while (cur_len(&exts)) {
		uint16_t type, v;
		struct cursor body;
		if (!cur_be16(&exts, &type) || !cur_be16_prefixed(&exts, &body))
			return false;
		if (type == 0x002b && cur_be16(&body, &v) && v == 0x0304)
			return true;
	}
	return false;
}

enum tls_cert_result tls_server_cert_names(const uint8_t *stream, size_t len, uint8_t *scratch,
					   struct tls_cert_names *out)
{
	struct cursor rec, hs;
	size_t hs_len = 0;
	bool records_done = false;

	memset(out, 0, sizeof(*out));
	cur_init(&rec, stream, len);
	/* gather the handshake bytes of consecutive handshake records */
	while (cur_len(&rec)) {
		uint8_t type;
		uint16_t ver;
		size_t n;
		struct cursor body, save = rec;

		if (!cur_u8(&rec, &type) || !cur_be16(&rec, &ver)) {
			rec = save;
			break; /* the next record header is not complete yet */
		}
		if ((ver >> 8) != 3 || (type != TLS_CONTENT_HANDSHAKE && type != TLS_CONTENT_CCS &&
					type != 21 && type != 23))
			return hs_len ? TLS_CERT_INVALID : TLS_CERT_NONE;
		if (!cur_be16_prefixed(&rec, &body)) {
			rec = save;
			break; /* the record is not complete yet */
		}
		if (type != TLS_CONTENT_HANDSHAKE) {
			if (!hs_len)
				return TLS_CERT_NONE;
			records_done = true; /* ChangeCipherSpec, alert: clear text ends */
			break;
		}
		n = cur_len(&body);
		if (hs_len + n > TLS_CERT_HS_MAX)
			return TLS_CERT_INVALID;
		if (!cur_copy(&body, scratch + hs_len, n))
			return TLS_CERT_INVALID;
		hs_len += n;
	}
	cur_init(&hs, scratch, hs_len);
	while (cur_len(&hs)) {
		uint8_t mtype;
		uint32_t mlen;
		struct cursor msg, list, leaf;

		if (!cur_u8(&hs, &mtype) || !cur_be24(&hs, &mlen) || !cur_sub(&hs, mlen, &msg))
			return records_done ? TLS_CERT_INVALID : TLS_CERT_NEED_MORE;
		if (mtype == HS_SERVER_HELLO) {
			if (server_hello_is_tls13(&msg))
				return TLS_CERT_NONE;
			continue;
		}
		if (mtype == 14) /* ServerHelloDone without a Certificate */
			return TLS_CERT_NONE;
		if (mtype != HS_CERTIFICATE)
			continue;
		if (!cur_be24_prefixed(&msg, &list) || !cur_be24_prefixed(&list, &leaf))
			return TLS_CERT_INVALID;
		return names_from_der(cur_ptr(&leaf), cur_len(&leaf), out);
	}
	return records_done ? TLS_CERT_NONE : TLS_CERT_NEED_MORE;
}
