/* SPDX-License-Identifier: MIT */
/*
 * app-layer.h -- identification of what a flow talks to: DNS answers feed
 * an IP->name cache; the client's first bytes of each TCP flow are
 * reassembled (bounded) and parsed as a TLS ClientHello, after a STARTTLS
 * upgrade where the port calls for one; and the endpoint catalog turns
 * SNI, DNS-learned name or server address into a provider and a service.
 *
 * Classification: the first identity the flow has decides, in the order
 * SNI, DNS-learned name, certificate name, IP range.  A name that is not in
 * the catalog makes the flow not mail even when its address is in a mail
 * range (shared front ends serve other applications too); the IP range is
 * consulted only when no name is known.  A port alone never classifies.
 *
 * UDP flows to port 443, or whose first client datagram is a QUIC long
 * header, have their client Initials decrypted (app-quic.c) and the
 * ClientHello in their CRYPTO frames parsed like a TCP one.
 *
 * Memory: identification records and reassembly buffers (TCP and QUIC)
 * come from three fixed pools allocated in app_new(); when one is exhausted
 * the flow goes unidentified and a counter moves.  Nothing is allocated per
 * packet.
 */
#ifndef MAILTAP_APP_LAYER_H
#define MAILTAP_APP_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "app-dns.h"
#include "app-quic.h"
#include "app-tls.h"
#include "app-tls-cert.h"
#include "catalog.h"
#include "decode.h"
#include "flow-table.h"

#define APP_REASM_BYTES 16384   /* client bytes kept per reassembly: the
                                 * largest hello in our captures is 11414 */
#define APP_ALPN_MAX 31         /* first ALPN protocol kept, longer cut */

enum app_classified_by { APP_BY_NONE, APP_BY_SNI, APP_BY_DNS, APP_BY_CERT, APP_BY_IP };
enum app_proto { APP_PROTO_NONE, APP_PROTO_TLS, APP_PROTO_SMTP, APP_PROTO_IMAP,
		 APP_PROTO_POP3, APP_PROTO_HTTP, APP_PROTO_DNS, APP_PROTO_QUIC };

struct app_config {
	uint32_t ident_slots;       /* flows with an identification record at once */
	uint32_t reasm_slots;       /* ClientHello reassemblies at once */
	uint32_t quic_slots;        /* QUIC CRYPTO reassemblies at once */
	uint32_t dns_cache_entries;
	uint32_t dns_ttl_floor_s;   /* answers are kept at least this long */
	bool keep_unclassified;     /* keep SNI/JA4 of non-mail flows (--all-flows) */
	uint64_t seed;
};

void app_config_default(struct app_config *cfg);

/* What a flow was identified as.  Strings are NUL-terminated, "" = unknown. */
struct flow_ident {
	char sni[TLS_SNI_MAX + 1];
	char dns_name[DNS_NAME_BUF];
	char cert_name[TLS_CERT_NAME_LEN]; /* server certificate name (TLS <= 1.2) */
	char alpn[APP_ALPN_MAX + 1];
	char ja3[TLS_JA3_HEX_LEN + 1];
	char ja3_str[TLS_JA3_STR_MAX + 1]; /* the string JA3 hashes (EVE), or "" */
	char ja4[TLS_JA4_LEN + 1];
	uint16_t tls_version;       /* highest offered; 0 = no ClientHello seen */
	uint8_t ech;                /* ECH/ESNI extension offered */
	uint8_t starttls;           /* TLS began after a STARTTLS/STLS upgrade */
	uint8_t app_proto;          /* enum app_proto */
	uint8_t classified_by;      /* enum app_classified_by */
	uint8_t has_match;
	uint8_t cert_pending;       /* waiting for the server's Certificate */
	char provider[32];          /* catalog provider id (copied: the catalog
	                             * may be reloaded while the flow lives) */
	char service[8];            /* web, imap, pop, smtp, api, mx, auth */
	uint32_t reasm_slot;        /* internal: client bytes; FLOW_NIL = none */
	uint32_t reasm_srv;         /* internal: server bytes; FLOW_NIL = none */
	uint32_t quic_slot;         /* internal: QUIC CRYPTO; FLOW_NIL = none */
	uint32_t quic_version;      /* QUIC version of the flow's Initials; 0 = none */
};

struct app_stats {
	uint64_t dns_responses, dns_bad, dns_answers;
	uint64_t hellos, hellos_incomplete, not_tls, tls_invalid, starttls;
	uint64_t ident_exhausted, reasm_exhausted;
	uint64_t certs, certs_none, certs_bad;
	uint64_t by_sni, by_dns, by_cert, by_ip, unclassified;
	uint64_t quic_hellos, quic_hellos_bad, quic_incomplete, quic_exhausted;
	struct quic_stats quic;
};

/* Returns a new app layer (free with app_free) or NULL + errno.  @cat is
 * borrowed and must outlive the app layer. */
struct app_layer *app_new(const struct app_config *cfg, const struct catalog *cat);
void app_free(struct app_layer *app);

/* A flow was just created (its client side decided): name it from the DNS
 * cache and the catalog's address ranges. */
void app_flow_new(struct app_layer *app, struct flow *f, uint64_t now_ns);

/* One packet of flow @f in direction @dir (FLOW_TOSERVER/TOCLIENT): its
 * L4 payload as a segment, or (IP fragments of a DNS answer) rebuilt. */
void app_packet(struct app_layer *app, struct flow *f, int dir, const struct packet *p);

/* The payload of one segment or datagram, however it was captured: from a
 * decoded packet (app_packet) or a kernel record (the eBPF front end).
 * @data is borrowed for the call. */
struct app_segment {
	uint64_t ts_ns;
	const uint8_t *data;        /* @caplen bytes of the @wirelen payload */
	uint32_t caplen, wirelen;
	uint32_t seq;               /* TCP sequence number of data[0] */
	uint8_t tcp_flags;
	uint8_t fragment;           /* the first fragment of an IP datagram */
};
void app_segment(struct app_layer *app, struct flow *f, int dir, const struct app_segment *seg);

/* A DNS response sent by a server: a UDP payload, or a TCP segment's
 * payload with its 2-byte length framing (@l4proto says which).  Learned
 * into the DNS cache; no flow is needed. */
void app_dns_message(struct app_layer *app, uint8_t l4proto, const uint8_t *data, size_t caplen,
		     uint64_t ts_ns);

/* The one DNS-learning event: called once per answer address of every
 * parsed response whose question name is a catalog name (any port), from
 * packets and kernel records alike, after the cache learned it.  The
 * front ends subscribe (the kernel's learned map, the pcap filter).
 * @name is borrowed for the call.  NULL unsubscribes. */
typedef void app_dns_learned_fn(void *arg, const struct net_addr *addr, uint32_t ttl_s,
				const char *name);
void app_set_dns_learned_fn(struct app_layer *app, app_dns_learned_fn *fn, void *arg);

/* The flow's identification, or NULL.  Borrowed: valid until app_flow_end. */
const struct flow_ident *app_flow_ident(const struct app_layer *app, const struct flow *f);

/* Conclude what is still pending (a certificate that never came) before the
 * flow's final record is written. */
void app_flow_flush(struct app_layer *app, struct flow *f);

/* The flow is leaving the table: release what it holds. */
void app_flow_end(struct app_layer *app, struct flow *f);

void app_get_stats(const struct app_layer *app, struct app_stats *out);

/* Classify new flows with @cat from now on (borrowed; the previous one may
 * be freed once this returns: flows keep copies of what they matched). */
void app_set_catalog(struct app_layer *app, const struct catalog *cat);

/* "sni", "dns", "cert", "ip" or NULL. */
const char *app_classified_by_name(uint8_t by);
/* "tls", "smtp", "imap", "pop3", "http", "dns", "quic" or NULL. */
const char *app_proto_name(uint8_t proto);
/* "1.3", "1.2", ... for a TLS version code, or NULL. */
const char *app_tls_version_name(uint16_t v);

#endif
