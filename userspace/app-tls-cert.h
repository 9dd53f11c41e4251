/* SPDX-License-Identifier: MIT */
/*
 * app-tls-cert.h -- the server's identity from its certificate, where TLS
 * 1.2 and earlier show it in clear: walk the server's handshake records to
 * the Certificate message (RFC 5246 7.4.2) and read the leaf certificate's
 * subjectAltName DNS names and subject CN with OpenSSL.  TLS 1.3 encrypts
 * the Certificate, so a 1.3 server yields nothing here.
 */
#ifndef MAILTAP_APP_TLS_CERT_H
#define MAILTAP_APP_TLS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_CERT_NAMES_MAX 8        /* names kept from one certificate */
#define TLS_CERT_NAME_LEN 256       /* each, with NUL */
#define TLS_CERT_HS_MAX 16384       /* handshake bytes gathered before giving up */

enum tls_cert_result {
	TLS_CERT_OK,        /* names[] filled from the leaf certificate */
	TLS_CERT_NEED_MORE, /* the Certificate message is not complete yet */
	TLS_CERT_NONE,      /* no Certificate in clear (TLS 1.3, resumption, not TLS) */
	TLS_CERT_INVALID,   /* malformed records, messages or certificate */
};

struct tls_cert_names {
	unsigned n;                                   /* names stored */
	char names[TLS_CERT_NAMES_MAX][TLS_CERT_NAME_LEN]; /* lower case, SAN first, then CN */
};

/*
 * Parse the server's byte stream from its first TLS record.  @stream is
 * borrowed for the call; @scratch (caller-owned, TLS_CERT_HS_MAX bytes)
 * holds handshake bytes gathered across records.  Names that are not
 * printable host names ([a-z0-9.*_-]) are skipped.
 */
enum tls_cert_result tls_server_cert_names(const uint8_t *stream, size_t len, uint8_t *scratch,
					   struct tls_cert_names *out);

#endif
