/* SPDX-License-Identifier: MIT */
/*
 * decode-ip.c -- IPv4 (RFC 791: options, fragments) and IPv6 (RFC 8200:
 * extension-header chain with a bounded walk, fragment header).
 *
 * Each decoder narrows the cursor to the datagram length the header
 * declares, so Ethernet padding never reaches L4, and computes the L4
 * length on the wire from the header, not from what was captured.  A
 * total length of 0 (seen with TSO/GSO on the capturing host) falls back
 * to the frame's wire length.  Only the first fragment carries ports;
 * later fragments are flagged for the flow layer to attribute.
 */
#include "decode.h"
#include "decode-int.h"

#include <netinet/in.h>

#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff

enum decode_result decode_ipv4(struct decode_ctx *d, struct cursor *c)
{
	struct packet *pkt = d->pkt;
	uint8_t vihl, tos, ttl, proto;
	uint16_t totlen, id, frag, csum;
	uint8_t src[4], dst[4];
	size_t hlen, dgram;

	if (!cur_u8(c, &vihl) || !cur_u8(c, &tos) || !cur_be16(c, &totlen) ||
	    !cur_be16(c, &id) || !cur_be16(c, &frag) || !cur_u8(c, &ttl) ||
	    !cur_u8(c, &proto) || !cur_be16(c, &csum) || !cur_copy(c, src, 4) ||
	    !cur_copy(c, dst, 4)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	hlen = (size_t)(vihl & 0x0f) * 4;
	if ((vihl >> 4) != 4 || hlen < IPV4_MIN_HLEN ||
	    (totlen != 0 && totlen < hlen)) {
		d->st->invalid++;
		return DECODE_INVALID;
	}
	d->st->ipv4++;
	pkt->l3 = NET_ADDR_V4;
	pkt->l4proto = proto;
	net_addr_set_v4(&pkt->src, src);
	net_addr_set_v4(&pkt->dst, dst);

	dgram = totlen ? totlen : d->wire_left;
	if (dgram > d->wire_left) {
		d->st->wire_len_mismatch++;
		dgram = d->wire_left;
		if (dgram < hlen)
			dgram = hlen;
	}
	pkt->ip_len = (uint32_t)dgram;
	/* options: skipped, but they must be there */
	if (!cur_skip(c, hlen - IPV4_MIN_HLEN)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	cur_truncate(c, dgram - hlen);
	d->wire_left = dgram - hlen;

	if (frag & (IPV4_MF | IPV4_OFFMASK)) {
		d->st->frags++;
		pkt->flags |= PKT_FRAG;
		pkt->frag_id = id;
		pkt->frag_off = (uint32_t)(frag & IPV4_OFFMASK) * 8;
		if (frag & IPV4_MF)
			pkt->flags |= PKT_FRAG_MORE;
		if (frag & IPV4_OFFMASK) { /* not the first: no L4 header */
			pkt->payload_len = (uint32_t)d->wire_left;
			pkt->payload_caplen = (uint32_t)cur_len(c);
			pkt->payload = cur_len(c) ? cur_ptr(c) : NULL;
			return DECODE_OK;
		}
		pkt->flags |= PKT_FRAG_HEAD;
	}
	return decode_l4(d, c, proto, d->wire_left);
}

enum decode_result decode_ipv6(struct decode_ctx *d, struct cursor *c)
{
	struct packet *pkt = d->pkt;
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t next, hop;
	uint8_t src[16], dst[16];
	size_t payload;

	if (!cur_be32(c, &vtcfl) || !cur_be16(c, &plen) || !cur_u8(c, &next) ||
	    !cur_u8(c, &hop) || !cur_copy(c, src, 16) || !cur_copy(c, dst, 16)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if ((vtcfl >> 28) != 6) {
		d->st->invalid++;
		return DECODE_INVALID;
	}
	d->st->ipv6++;
	pkt->l3 = NET_ADDR_V6;
	net_addr_set_v6(&pkt->src, src);
	net_addr_set_v6(&pkt->dst, dst);
	decode_wire_consume(d, IPV6_HLEN);
	payload = plen ? plen : d->wire_left;
	if (payload > d->wire_left) {
		d->st->wire_len_mismatch++;
		payload = d->wire_left;
	}
	pkt->ip_len = (uint32_t)(payload + IPV6_HLEN);
	cur_truncate(c, payload);
	d->wire_left = payload;

	for (unsigned i = 0;; i++) {
		uint8_t nh, hlen8;
		uint16_t offflags;
		uint32_t ident;
		size_t ext;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		case IPPROTO_NONE:
			pkt->l4proto = next;
			return DECODE_OK;
		default:
			pkt->l4proto = next;
			return decode_l4(d, c, next, d->wire_left);
		}
		if (i >= DECODE_MAX_IPV6_EXT) {
			d->st->unsupported++;
			return DECODE_UNSUPPORTED;
		}
		d->st->ipv6_ext++;
		if (next == IPPROTO_FRAGMENT) {
			uint8_t res;
			if (!cur_u8(c, &nh) || !cur_u8(c, &res) ||
			    !cur_be16(c, &offflags) || !cur_be32(c, &ident)) {
				d->st->truncated++;
				return DECODE_TRUNCATED;
			}
			decode_wire_consume(d, 8);
			d->st->frags++;
			pkt->flags |= PKT_FRAG;
			pkt->frag_id = ident;
			pkt->frag_off = offflags & 0xfff8;
			if (offflags & 1)
				pkt->flags |= PKT_FRAG_MORE;
			pkt->l4proto = nh;
			if (offflags & 0xfff8) { /* not the first fragment */
				pkt->payload_len = (uint32_t)d->wire_left;
				pkt->payload_caplen = (uint32_t)cur_len(c);
				pkt->payload = cur_len(c) ? cur_ptr(c) : NULL;
				return DECODE_OK;
			}
			if (!(offflags & 1)) /* atomic fragment: not really one */
				pkt->flags &= (uint8_t)~PKT_FRAG;
			else
				pkt->flags |= PKT_FRAG_HEAD;
			next = nh;
			continue;
		}
		if (!cur_u8(c, &nh) || !cur_u8(c, &hlen8)) {
			d->st->truncated++;
			return DECODE_TRUNCATED;
		}
		ext = next == IPPROTO_AH ? ((size_t)hlen8 + 2) * 4 : ((size_t)hlen8 + 1) * 8;
		/* past the declared payload: invalid, checked before the
		 * capture (the cursor is already narrowed to the payload) */
		if (ext > d->wire_left) {
			d->st->invalid++;
			return DECODE_INVALID;
		}
		if (!cur_skip(c, ext - 2)) {
			d->st->truncated++;
			return DECODE_TRUNCATED;
		}
		decode_wire_consume(d, ext);
		next = nh;
	}
}
