/* SPDX-License-Identifier: MIT */
/* test-app-tls-cert.c -- server certificate names from TLS <= 1.2 handshakes. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-tls-cert.h"
#include "check.h"

static uint8_t scratch[TLS_CERT_HS_MAX];

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;
	if (!fp)
		return 0;
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

static bool has_name(const struct tls_cert_names *c, const char *name)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

/* The server's first bytes of the IMAPS session in nDPI's imaps.pcap
 * (../shared/pcaps/ndpi/imaps.pcap, stream 0, extracted with
 * `tshark -q -z follow,tcp,raw,0`): ServerHello, Certificate, ...
 * tshark reports x509ce.dNSName = mail.ntop.org for it. */
static void test_tls_cert__real_imaps_server(void)
{
	static uint8_t buf[8192];
	struct tls_cert_names c;
	size_t n = read_file("tests/unit/data/imaps-server-flight.bin", buf, sizeof(buf));
	size_t ok_from = 0;

	CHECK(n > 1000);
	CHECK_EQ_U(tls_server_cert_names(buf, n, scratch, &c), TLS_CERT_OK);
	CHECK(has_name(&c, "mail.ntop.org"));
	/* every shorter prefix either waits for more or, once the
	 * Certificate message is complete, gives the same answer */
	for (size_t k = 0; k < n; k++) {
		enum tls_cert_result r = tls_server_cert_names(buf, k, scratch, &c);
		if (r == TLS_CERT_OK) {
			if (!ok_from)
				ok_from = k;
			CHECK(has_name(&c, "mail.ntop.org"));
		} else {
			CHECK_EQ_U(r, TLS_CERT_NEED_MORE);
			CHECK(ok_from == 0);
		}
	}
	CHECK(ok_from > 0);
}

/* Build a self-signed certificate with the given SANs and CN; DER out. */
static int make_cert(const char *cn, const char *san, uint8_t *der, int cap)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	unsigned char *p = der;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	if (san) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, key, EVP_sha256());
	len = i2d_X509(x, NULL);
	if (len > cap)
		len = -1;
	else
		i2d_X509(x, &p);
	X509_free(x);
	EVP_PKEY_free(key);
	return len;
}

static size_t put24(uint8_t *b, size_t v)
{
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)v;
	return 3;
}

/* ServerHello (TLS 1.2, or 1.3 via supported_versions) + Certificate,
 * the handshake split over records of at most @rec_max bytes. */
static size_t make_flight(uint8_t *out, const uint8_t *der, int derlen, int tls13, size_t rec_max)
{
	uint8_t hs[8192];
	size_t h = 0, o = 0;
	size_t sh_start;

	hs[h++] = 2; /* ServerHello */
	sh_start = h;
	h += 3;
	hs[h++] = 3, hs[h++] = 3;
	memset(hs + h, 0x11, 32), h += 32;
	hs[h++] = 0;                 /* session id */
	hs[h++] = 0xc0, hs[h++] = 0x2f;
	hs[h++] = 0;                 /* compression */
	if (tls13) {
		hs[h++] = 0, hs[h++] = 6; /* extensions */
		hs[h++] = 0x00, hs[h++] = 0x2b, hs[h++] = 0, hs[h++] = 2, hs[h++] = 3, hs[h++] = 4;
	}
	put24(hs + sh_start, h - sh_start - 3);
	hs[h++] = 11;                /* Certificate */
	h += put24(hs + h, (size_t)derlen + 6);
	h += put24(hs + h, (size_t)derlen + 3);
	h += put24(hs + h, (size_t)derlen);
	memcpy(hs + h, der, (size_t)derlen), h += (size_t)derlen;
	for (size_t at = 0; at < h;) {
		size_t n = h - at < rec_max ? h - at : rec_max;
		out[o++] = 22, out[o++] = 3, out[o++] = 3;
		out[o++] = (uint8_t)(n >> 8), out[o++] = (uint8_t)n;
		memcpy(out + o, hs + at, n);
		o += n, at += n;
	}
	return o;
}

static void test_tls_cert__san_and_cn_across_records(void)
{
	uint8_t der[4096], flight[8192];
	struct tls_cert_names c;
	int dl = make_cert("Outlook.Office365.com", "DNS:outlook.office365.com,DNS:*.outlook.com,IP:10.0.0.1",
			   der, sizeof(der));
	size_t n;

	CHECK(dl > 0);
	n = make_flight(flight, der, dl, 0, 100); /* handshake cut into 100-byte records */
	CHECK_EQ_U(tls_server_cert_names(flight, n, scratch, &c), TLS_CERT_OK);
	CHECK_EQ_U(c.n, 2); /* the CN repeats a SAN (case folded); the IP SAN is not a name */
	CHECK_STREQ(c.names[0], "outlook.office365.com");
	CHECK_STREQ(c.names[1], "*.outlook.com");
}

static void test_tls_cert__tls13_hides_certificate(void)
{
	uint8_t der[4096], flight[8192];
	struct tls_cert_names c;
	int dl = make_cert("example.org", "DNS:example.org", der, sizeof(der));
	size_t n = make_flight(flight, der, dl, 1, 16384);
	CHECK_EQ_U(tls_server_cert_names(flight, n, scratch, &c), TLS_CERT_NONE);
	CHECK_EQ_U(c.n, 0);
}

static void test_tls_cert__invalid_inputs(void)
{
	uint8_t der[4096], flight[8192];
	struct tls_cert_names c;
	static const uint8_t not_tls[] = "220 mx.example.org ESMTP\r\n";
	/* Certificate message whose list claims more than the message holds */
	static const uint8_t bad_list[] = {
		0x16, 0x03, 0x03, 0x00, 0x0a, /* record, 10 bytes */
		0x0b, 0x00, 0x00, 0x06,       /* Certificate, 6 bytes */
		0x00, 0x00, 0x40, 0x00, 0x00, 0x01, /* list says 64 bytes */
	};
	int dl = make_cert("example.org", NULL, der, sizeof(der));
	size_t n;

	CHECK_EQ_U(tls_server_cert_names(not_tls, sizeof(not_tls) - 1, scratch, &c), TLS_CERT_NONE);
	CHECK_EQ_U(tls_server_cert_names(bad_list, sizeof(bad_list), scratch, &c), TLS_CERT_INVALID);
	/* a certificate that is not DER */
	n = make_flight(flight, der, dl, 0, 16384);
	flight[n - dl + 4] ^= 0xff;
	flight[n - dl] = 0x00;
	CHECK_EQ_U(tls_server_cert_names(flight, n, scratch, &c), TLS_CERT_INVALID);
	/* the CN alone names a server without SANs */
	n = make_flight(flight, der, dl, 0, 16384);
	CHECK_EQ_U(tls_server_cert_names(flight, n, scratch, &c), TLS_CERT_OK);
	CHECK_EQ_U(c.n, 1);
	CHECK_STREQ(c.names[0], "example.org");
	CHECK_EQ_U(tls_server_cert_names(flight, 0, scratch, &c), TLS_CERT_NEED_MORE);
}

int main(void)
{
	RUN(test_tls_cert__real_imaps_server);
	RUN(test_tls_cert__san_and_cn_across_records);
	RUN(test_tls_cert__tls13_hides_certificate);
	RUN(test_tls_cert__invalid_inputs);
	return CHECK_DONE();
}
