/* SPDX-License-Identifier: MIT */
/*
 * app-tls.h -- TLS ClientHello parsing: SNI, ALPN, offered versions and
 * parameter lists, ECH detection, and the JA3 / JA4 client fingerprints;
 * plus STARTTLS detection (SMTP, IMAP, POP3) in a cleartext client stream.
 * Specs: RFC 8446 4.1.2 (ClientHello), RFC 6066 3 (server_name), RFC 7301
 * (ALPN), RFC 8701 (GREASE), JA3 (salesforce/ja3), JA4 (FoxIO-LLC/ja4,
 * technical_details/JA4.md).  Does not parse SSLv2-format hellos (reported
 * TLS_NOT_TLS) or DTLS; QUIC CRYPTO frames are reassembled by app-quic.c,
 * which hands the bare handshake message to tls_client_hello_parse_hs().
 */
#ifndef MAILTAP_APP_TLS_H
#define MAILTAP_APP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* host_name is opaque<1..2^16-1> on the wire but a DNS name is at most 255
 * octets (RFC 1035 2.3.4); longer names are flagged, not copied (Suricata,
 * BoringSSL use the same bound). */
#define TLS_SNI_MAX 255
/* ProtocolName is opaque<1..2^8-1> (RFC 7301 3.1). */
#define TLS_ALPN_MAX 255
/* Entries kept per list (ciphers, extensions, groups, point formats,
 * signature algorithms).  Real clients offer < 80 ciphers and < 30
 * extensions; beyond this the list is cut and its `truncated` flag set. */
#define TLS_LIST_MAX 128
/* TLSPlaintext.length must not exceed 2^14 (RFC 8446 5.1). */
#define TLS_RECORD_MAX 16384
/* Largest ClientHello we wait for.  The protocol allows 2^24-1; the largest
 * in our sample captures is 11414 bytes (nDPI tls_with_huge_ch.pcapng).
 * Bigger hellos are TLS_INVALID so a sender cannot make us buffer forever. */
#define TLS_HELLO_MAX 65536
/* Longest STARTTLS command line we recognise, CRLF excluded: an IMAP tag
 * plus " STARTTLS".  Tags are short client counters ("a001"). */
#define TLS_STARTTLS_LINE_MAX 64
/* Fingerprint string sizes, without the NUL. */
#define TLS_JA3_HEX_LEN 32 /* MD5 in hex */
#define TLS_JA3_STR_MAX 383 /* JA3 string kept (EVE tls.ja3.string); longer: "" */
#define TLS_JA4_LEN 36     /* "t13d1516h2_8daaf6152771_e5627efa2ab1" */

/* Record content type and handshake type we look for. */
#define TLS_CONTENT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1

/* Extension code points the parser interprets. */
#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_EXT_SUPPORTED_GROUPS 0x000a
#define TLS_EXT_EC_POINT_FORMATS 0x000b
#define TLS_EXT_SIGNATURE_ALGORITHMS 0x000d
#define TLS_EXT_ALPN 0x0010
#define TLS_EXT_SUPPORTED_VERSIONS 0x002b
#define TLS_EXT_ECH 0xfe0d  /* draft-ietf-tls-esni-13 and later */
#define TLS_EXT_ESNI 0xffce /* draft-ietf-tls-esni-01..06 */

enum tls_result {
	TLS_OK,        /* a complete ClientHello was parsed into *out */
	TLS_NEED_MORE, /* looks like TLS so far; the stream stops too early */
	TLS_NOT_TLS,   /* first bytes are not a TLS handshake record */
	TLS_INVALID,   /* TLS record framing, but a malformed/foreign message */
};

struct tls_u16_list {
	uint16_t v[TLS_LIST_MAX]; /* wire order, GREASE values included */
	uint16_t n;               /* entries stored */
	bool truncated;           /* the wire list had more than TLS_LIST_MAX */
};

struct tls_u8_list {
	uint8_t v[TLS_LIST_MAX];
	uint16_t n;
	bool truncated;
};

struct tls_hello {
	/* Bytes of the client stream, from the first record header, that the
	 * hello occupies.  TLS_OK: exact end of the last record carrying the
	 * hello.  TLS_NEED_MORE: a lower bound on the stream length needed
	 * (headers of records not yet seen are not counted).  Otherwise 0. */
	size_t stream_len;

	uint16_t legacy_version;   /* ClientHello.legacy_version */
	uint16_t version;          /* highest non-GREASE supported_versions
	                            * entry, else legacy_version */
	bool has_supported_versions;

	bool sni_ext;              /* server_name extension present (JA4 'd') */
	bool has_sni;              /* sni[] holds a valid host_name */
	bool sni_bad;              /* a host_name was empty, too long, or had
	                            * bytes outside [A-Za-z0-9.-_]; not copied */
	char sni[TLS_SNI_MAX + 1]; /* NUL-terminated, as sent (case kept) */

	bool has_alpn;             /* first ALPN protocol is non-empty */
	uint8_t alpn_ends[2];      /* its first and last raw bytes (JA4) */
	char alpn[TLS_ALPN_MAX + 1]; /* that protocol when printable ASCII
	                              * (0x21..0x7e), else "" */

	bool ech;                  /* encrypted_client_hello or legacy ESNI */

	struct tls_u16_list ciphers;
	struct tls_u16_list extensions; /* extension types in wire order */
	struct tls_u16_list groups;
	struct tls_u8_list point_formats;
	struct tls_u16_list sig_algs;

	/* Fingerprints over the stored lists.  If any list is truncated they
	 * are computed over the stored prefix and so are not standard. */
	char ja3[TLS_JA3_HEX_LEN + 1];
	char ja3_str[TLS_JA3_STR_MAX + 1]; /* the string JA3 hashes, or "" when longer */
	char ja4[TLS_JA4_LEN + 1]; /* transport 't' */
};

/* True for the RFC 8701 GREASE code points 0x0a0a, 0x1a1a, ..., 0xfafa. */
bool tls_is_grease(uint16_t v);

/*
 * Parse the first ClientHello of a client byte stream.  @data (borrowed,
 * only read during the call) starts at the first TLS record header; the
 * hello may span several handshake records.  Bytes after the hello are
 * ignored.  *out (caller-owned) is fully overwritten.  Returns TLS_NEED_MORE
 * while the records carrying the hello are incomplete; out->stream_len then
 * tells how many bytes to collect at least.
 */
enum tls_result tls_client_hello_parse(const uint8_t *data, size_t len,
				       struct tls_hello *out);

/*
 * The same for a bare handshake message (msg_type, 3-byte length, body),
 * as QUIC CRYPTO frames carry it: no record headers.  @data (borrowed)
 * holds @len bytes from the message header on.  TLS_NEED_MORE while the
 * message is incomplete (out->stream_len: bytes needed).  The JA4 in *out
 * has transport 't'; QUIC callers rewrite it with tls_ja4_format(.., 'q').
 */
enum tls_result tls_client_hello_parse_hs(const uint8_t *data, size_t len,
					  struct tls_hello *out);

/*
 * Write the JA4 of a parsed hello into @out (caller-owned, at least
 * TLS_JA4_LEN + 1 bytes).  @transport is 't' (TCP), 'q' (QUIC) or 'd'
 * (DTLS).  Returns false (and writes "") if hashing fails.
 */
bool tls_ja4_format(const struct tls_hello *h, char transport, char *out);

/*
 * Find where TLS starts in a cleartext client stream that upgrades with
 * SMTP "STARTTLS", IMAP "<tag> STARTTLS" or POP3 "STLS" (case-insensitive,
 * CRLF or LF line ends).  @server_port_hint narrows the command set: 25,
 * 587 and 2525 SMTP; 143 IMAP; 110 POP3; anything else (0) accepts all
 * three.  On success *tls_off is the offset just after the command line,
 * where a 0x16 0x03 record header starts.  False when no such line is
 * followed by a TLS record yet (the caller may collect more and retry).
 * @client is borrowed for the call only.
 */
bool tls_starttls_offset(const uint8_t *client, size_t len,
			 uint16_t server_port_hint, size_t *tls_off);

#endif
