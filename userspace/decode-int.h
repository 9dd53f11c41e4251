/* SPDX-License-Identifier: MIT */
/*
 * decode-int.h -- what the decode-*.c files share with each other and
 * nobody else: the per-layer entry points and the wire-length bookkeeping.
 */
#ifndef MAILTAP_DECODE_INT_H
#define MAILTAP_DECODE_INT_H

#include "decode.h"
#include "util-cursor.h"

/* State carried down the layers of one frame. */
struct decode_ctx {
	struct packet *pkt;
	struct decode_stats *st;
	size_t wire_left; /* bytes of the frame on the wire from the cursor on */
	const struct decode_config *cfg; /* tunnels to open; never NULL */
	unsigned depth;   /* tunnels opened so far */
};

/* Consume n header bytes from the wire budget (saturating). */
static inline void decode_wire_consume(struct decode_ctx *d, size_t n)
{
	d->wire_left = d->wire_left > n ? d->wire_left - n : 0;
}

enum decode_result decode_ethertype(struct decode_ctx *d, struct cursor *c, uint16_t type);
enum decode_result decode_ipv4(struct decode_ctx *d, struct cursor *c);
enum decode_result decode_ipv6(struct decode_ctx *d, struct cursor *c);
/* decode_config_default()'s values, for decode_packet(). */
extern const struct decode_config decode_config_defaults;

enum decode_result decode_ip_by_version(struct decode_ctx *d, struct cursor *c);
enum decode_result decode_ether_frame(struct decode_ctx *d, struct cursor *c);
/* PPP protocol field onwards (after any address/control bytes). */
enum decode_result decode_ppp_proto(struct decode_ctx *d, struct cursor *c);
enum decode_result decode_l4(struct decode_ctx *d, struct cursor *c, uint8_t proto, size_t l4_wire_len);

/* decode-tunnel.c: called by the layers that may carry a tunnel.  Each
 * returns true when it took the packet (decoded the inner one into
 * d->pkt, *res its outcome), false to leave the outer packet as it is. */
bool decode_tunnel_udp(struct decode_ctx *d, struct cursor *payload, enum decode_result *res);
bool decode_tunnel_ip(struct decode_ctx *d, struct cursor *c, uint8_t proto,
		      enum decode_result *res);

#endif
