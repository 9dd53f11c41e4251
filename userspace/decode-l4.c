/* SPDX-License-Identifier: MIT */
/*
 * decode-l4.c -- TCP (RFC 9293), UDP (RFC 768), ICMP and ICMPv6 headers.
 *
 * Fills ports, TCP flags and sequence numbers, and the payload: its length
 * on the wire (from the IP layer's accounting) and the captured bytes that
 * app-layer parsers may read.  ICMP is counted and its type/code kept; it
 * has no ports.
 */
#include "decode.h"
#include "decode-int.h"

#include <netinet/in.h>

#define TCP_MIN_HLEN 20
#define UDP_HLEN 8

static void set_payload(struct decode_ctx *d, struct cursor *c, size_t wire)
{
	d->pkt->payload_len = (uint32_t)wire;
	cur_truncate(c, wire);
	d->pkt->payload_caplen = (uint32_t)cur_len(c);
	d->pkt->payload = cur_len(c) ? cur_ptr(c) : NULL;
}

static enum decode_result decode_tcp(struct decode_ctx *d, struct cursor *c, size_t wire)
{
	struct packet *pkt = d->pkt;
	uint16_t sport, dport, offflags;
	uint32_t seq, ack;
	size_t hlen;

	if (!cur_be16(c, &sport) || !cur_be16(c, &dport)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if (!cur_be32(c, &seq) || !cur_be32(c, &ack) || !cur_be16(c, &offflags) ||
	    !cur_skip(c, 6)) {
		/* the ports are there: keep them for the flow layer */
		pkt->sport = sport;
		pkt->dport = dport;
		pkt->flags |= PKT_L4_TRUNC;
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	hlen = (size_t)(offflags >> 12) * 4;
	if (hlen < TCP_MIN_HLEN || hlen > wire) {
		d->st->invalid++;
		return DECODE_INVALID;
	}
	d->st->tcp++;
	pkt->sport = sport;
	pkt->dport = dport;
	pkt->seq = seq;
	pkt->ack = ack;
	pkt->tcp_flags = (uint8_t)(offflags & 0x3f);
	pkt->flags |= PKT_L4;
	if (!cur_skip(c, hlen - TCP_MIN_HLEN)) { /* options cut by snaplen */
		pkt->flags |= PKT_L4_TRUNC;
		pkt->payload_len = (uint32_t)(wire - hlen);
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	set_payload(d, c, wire - hlen);
	return DECODE_OK;
}

static enum decode_result decode_udp(struct decode_ctx *d, struct cursor *c, size_t wire)
{
	struct packet *pkt = d->pkt;
	uint16_t sport, dport, ulen, csum;

	/* before the reads: the cursor is narrowed to wire, so a datagram
	 * too short for the header would otherwise look truncated */
	if (wire < UDP_HLEN) {
		d->st->invalid++;
		return DECODE_INVALID;
	}
	if (!cur_be16(c, &sport) || !cur_be16(c, &dport)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if (!cur_be16(c, &ulen) || !cur_be16(c, &csum)) {
		pkt->sport = sport;
		pkt->dport = dport;
		pkt->flags |= PKT_L4_TRUNC;
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	d->st->udp++;
	pkt->sport = sport;
	pkt->dport = dport;
	pkt->flags |= PKT_L4;
	/* The first fragment of a big datagram carries a UDP length larger
	 * than itself; otherwise the UDP length bounds the payload. */
	if (!(pkt->flags & PKT_FRAG) && ulen >= UDP_HLEN && ulen < wire)
		wire = ulen;
	set_payload(d, c, wire - UDP_HLEN);
	{
		enum decode_result r;
		d->wire_left = wire - UDP_HLEN;
		if (decode_tunnel_udp(d, c, &r)) /* VXLAN, GENEVE, Teredo */
			return r;
	}
	return DECODE_OK;
}

static enum decode_result decode_icmp(struct decode_ctx *d, struct cursor *c, size_t wire, int v6)
{
	uint8_t type, code;
	if (!cur_u8(c, &type) || !cur_u8(c, &code)) {
		d->st->truncated++;
		return DECODE_TRUNCATED;
	}
	if (v6)
		d->st->icmp6++;
	else
		d->st->icmp++;
	d->pkt->icmp_type = type;
	d->pkt->icmp_code = code;
	d->pkt->payload_len = wire >= 4 ? (uint32_t)(wire - 4) : 0;
	return DECODE_OK;
}

enum decode_result decode_l4(struct decode_ctx *d, struct cursor *c, uint8_t proto, size_t wire)
{
	switch (proto) {
	case IPPROTO_TCP:
		return decode_tcp(d, c, wire);
	case IPPROTO_UDP:
		return decode_udp(d, c, wire);
	case IPPROTO_ICMP:
		return decode_icmp(d, c, wire, 0);
	case IPPROTO_ICMPV6:
		return decode_icmp(d, c, wire, 1);
	default: {
		enum decode_result r;
		if (decode_tunnel_ip(d, c, proto, &r)) /* GRE, IP-in-IP */
			return r;
		d->st->other_l4++;
		d->pkt->payload_len = (uint32_t)wire;
		return DECODE_OK;
	}
	}
}
