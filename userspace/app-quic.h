/* SPDX-License-Identifier: MIT */
/*
 * app-quic.h -- the client's ClientHello from QUIC Initial packets: long
 * header parsing, Initial key derivation from the Destination Connection
 * ID, header protection removal, AES-128-GCM decryption, CRYPTO frame
 * reassembly (out of order, duplicated, overlapping) into a bounded
 * per-flow buffer, and the Google QUIC CHLO's SNI tag.
 * Specs: RFC 9000 17.2 (long header), 19 (frames), A.3 (packet number
 * decoding); RFC 9001 5 (Initial secrets, header protection), Appendix A;
 * RFC 9369 (QUIC v2: salt, labels, packet types); drafts 23-34 salts as
 * published with each draft; Google QUIC Q043/Q046 (CHLO in clear), Q050 and
 * T050/T051 (Initial-style protection with their own salts).  Crypto comes
 * from OpenSSL 3 libcrypto (EVP_KDF "HKDF", EVP AES).  Nothing is allocated
 * per packet besides OpenSSL's cipher contexts.
 *
 * Not decrypted: versions whose keys are unknown (reserved 0x?a?a?a?a
 * versions that force Version Negotiation, and any other unknown version:
 * the flow is still reported as QUIC with its version), 0-RTT, Handshake
 * and 1-RTT packets (no keys), server Initials (not needed).
 */
#ifndef MAILTAP_APP_QUIC_H
#define MAILTAP_APP_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app-tls.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu /* RFC 9369 */

/* RFC 9000 17.2: connection IDs of versions 1/2 are at most 20 bytes. */
#define QUIC_CID_MAX 20
/* CRYPTO bytes kept per flow: the same bound as a TCP ClientHello
 * reassembly (APP_REASM_BYTES).  Post-quantum key shares make hellos of
 * 1.5-2.5 KB; CRYPTO data at or past this offset is dropped and counted. */
#define QUIC_CRYPTO_MAX 16384
/* Packets looked at in one datagram (RFC 9000 12.2 coalescing): a client
 * coalesces at most Initial, 0-RTT and Handshake. */
#define QUIC_COALESCED_MAX 4
/* Client datagrams a flow may take to complete its hello before we give up
 * (Chrome's hellos span 1-4 Initials). */
#define QUIC_DATAGRAMS_MAX 16
/* "draft-29", "Q046", "0x1a2a3a4a" + NUL */
#define QUIC_VERSION_STRLEN 16

struct quic_keys {
	uint8_t key[16]; /* AEAD_AES_128_GCM key */
	uint8_t iv[12];
	uint8_t hp[16];  /* header protection, AES-128-ECB */
};

/* Derive the client Initial keys of @version from the Destination
 * Connection ID (@dcid, borrowed).  False for versions without known
 * Initial keys or when libcrypto fails. */
bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
		       struct quic_keys *out);

/* True when mailtap knows the Initial salt (or clear-text CHLO) of @version. */
bool quic_version_known(uint32_t version);

/* "1", "2", "draft-29", "Q046", "T051", "mvfst-27", else "0x%08x".  Writes
 * into @buf (caller-owned, QUIC_VERSION_STRLEN bytes) and returns it. */
const char *quic_version_name(uint32_t version, char *buf, size_t len);

/* RFC 9000 A.3: the full packet number from its @pn_nbits-bit truncation and
 * the largest packet number acknowledged so far (-1: none). */
uint64_t quic_pn_decode(int64_t largest_pn, uint64_t truncated_pn, unsigned pn_nbits);

enum quic_result {
	QUIC_OK,             /* an Initial was opened: out->payload is plaintext */
	QUIC_NOT_QUIC,       /* not a long header */
	QUIC_SKIPPED,        /* a 0-RTT/Handshake/Retry packet, skipped whole */
	QUIC_VERSION_NEG,    /* Version Negotiation (version 0) */
	QUIC_UNKNOWN_VERSION,/* long header of a version without known keys */
	QUIC_MALFORMED,      /* fields cut short or out of range */
	QUIC_DECRYPT_FAILED, /* header protection or AEAD tag did not verify */
};

struct quic_packet {
	uint32_t version;
	uint8_t dcid_len;
	uint8_t dcid[QUIC_CID_MAX];
	uint64_t pn;
	size_t wire_len;        /* datagram bytes this packet occupies (all
	                         * results but NOT_QUIC/MALFORMED) */
	const uint8_t *payload; /* QUIC_OK: frames, in the caller's scratch */
	size_t payload_len;
};

/*
 * Open the long-header packet at the start of @data (@len bytes, borrowed
 * for the call).  Keys come from the packet's own DCID, or from @keys when
 * given (the DCID of the client's first Initial keeps its keys after the
 * server picks a new connection ID: RFC 9001 5.2).  The plaintext goes to
 * @scratch (caller-owned, @cap bytes; at least @len).
 */
enum quic_result quic_packet_open(const uint8_t *data, size_t len, const struct quic_keys *keys,
				  uint8_t *scratch, size_t cap, struct quic_packet *out);

/* Per-flow state of one client's Initials.  Caller-owned (a pool slot);
 * quic_flow_init() before first use. */
struct quic_flow {
	uint32_t version;     /* of the first long header seen; 0 = none */
	uint32_t contig;      /* CRYPTO bytes in order from offset 0 */
	uint32_t msg_len;     /* handshake message length once known */
	uint16_t datagrams;   /* client datagrams seen */
	uint8_t chlo;         /* the CRYPTO stream holds a gQUIC CHLO */
	uint8_t has_keys;
	uint8_t opened;       /* some Initial was decrypted */
	uint8_t key_dcid_len;
	uint8_t key_dcid[QUIC_CID_MAX];
	struct quic_keys keys;           /* of key_dcid */
	char sni[TLS_SNI_MAX + 1];       /* gQUIC CHLO SNI tag */
	uint8_t have[QUIC_CRYPTO_MAX / 8]; /* which CRYPTO bytes arrived */
	uint8_t buf[QUIC_CRYPTO_MAX];
};

struct quic_stats {
	uint64_t datagrams;       /* client datagrams looked at */
	uint64_t initials;        /* client Initials decrypted */
	uint64_t decrypt_failed;  /* Initials whose protection did not verify */
	uint64_t malformed;       /* long headers or frames cut short or absurd */
	uint64_t skipped;         /* 0-RTT/Handshake/Retry packets skipped */
	uint64_t version_neg;     /* Version Negotiation packets */
	uint64_t unknown_version; /* long headers of versions without keys */
	uint64_t crypto_beyond;   /* CRYPTO frames reaching past QUIC_CRYPTO_MAX */
	uint64_t hello_too_big;   /* hellos larger than QUIC_CRYPTO_MAX */
	uint64_t gquic_chlo;      /* Google QUIC CHLOs read */
};

enum quic_dgram {
	QUIC_DG_NOT_QUIC, /* nothing QUIC-like in this datagram */
	QUIC_DG_MORE,     /* QUIC; the hello is not complete yet */
	QUIC_DG_HELLO,    /* a TLS ClientHello is complete: buf[0 .. msg_len) */
	QUIC_DG_CHLO,     /* a gQUIC CHLO was read: sni[] ("" = none) */
	QUIC_DG_FAIL,     /* QUIC, but no hello will come out of this flow */
};

void quic_flow_init(struct quic_flow *qf);

/*
 * One client UDP payload (@data, @len, borrowed for the call) of a flow.
 * Every coalesced packet is looked at; CRYPTO data of decrypted Initials
 * is reassembled in @qf.  @scratch (caller-owned, @cap >= @len bytes) holds
 * plaintext during the call.  Counters move in @st.
 */
enum quic_dgram quic_client_datagram(struct quic_flow *qf, const uint8_t *data, size_t len,
				     uint8_t *scratch, size_t cap, struct quic_stats *st);

/* Parse the complete hello of @qf (after QUIC_DG_HELLO) with the TLS parser;
 * the JA4 gets transport 'q'.  Returns what tls_client_hello_parse_hs does. */
enum tls_result quic_flow_hello(const struct quic_flow *qf, struct tls_hello *out);

/* True when @data starts a Version Negotiation packet (RFC 9000 17.2.1). */
bool quic_is_version_negotiation(const uint8_t *data, size_t len);

/* True when @data looks like the start of a client QUIC datagram: a long
 * header of a known version, or a gQUIC public header with a version. */
bool quic_looks_like(const uint8_t *data, size_t len);

#endif
