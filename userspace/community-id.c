/* SPDX-License-Identifier: MIT */
/*
 * community-id.c -- Community ID v1: order the endpoints, hash
 * seed|saddr|daddr|proto|0|sport|dport with SHA1 (OpenSSL libcrypto) and
 * encode it as base64 or hex.  ICMP/ICMPv6 type/code become port equivalents
 * the way corelight/pycommunityid (icmp.py, icmp6.py) and Zeek do.
 */
#include "community-id.h"

#include <errno.h>
#include <openssl/evp.h>

#define COMMUNITY_ID_SHA1_LEN 20
/* seed(2) + 2 * 16-byte address + proto(1) + pad(1) + 2 * port(2) */
#define COMMUNITY_ID_INPUT_MAX (2 + 16 + 16 + 1 + 1 + 2 + 2)

/* Read-only tables: ICMP type -> counterpart type for request/response pairs
 * (pycommunityid icmp.py, icmp6.py).  A type not listed is one-way. */
struct icmp_pair {
	uint8_t from, to;
};

static const struct icmp_pair icmp4_pairs[] = {
	{ 8, 0 },   { 0, 8 },	/* echo request / reply */
	{ 13, 14 }, { 14, 13 }, /* timestamp */
	{ 15, 16 }, { 16, 15 }, /* information */
	{ 10, 9 },  { 9, 10 },	/* router solicitation / advertisement */
	{ 17, 18 }, { 18, 17 }, /* address mask */
};

static const struct icmp_pair icmp6_pairs[] = {
	{ 128, 129 }, { 129, 128 }, /* echo request / reply */
	{ 130, 131 }, { 131, 130 }, /* MLD listener query / report */
	{ 133, 134 }, { 134, 133 }, /* router solicitation / advertisement */
	{ 135, 136 }, { 136, 135 }, /* neighbor solicitation / advertisement */
	{ 139, 140 }, { 140, 139 }, /* node information (WRU) query / reply */
	{ 144, 145 }, { 145, 144 }, /* home agent address discovery */
};

/* Map an ICMP (type, code) to (sport, dport); returns true when the flow is
 * one-way (no counterpart type), which disables endpoint reordering. */
static bool community_id_icmp_ports(uint8_t proto, uint16_t type, uint16_t code,
				    uint16_t *sport, uint16_t *dport)
{
	const struct icmp_pair *t = proto == COMMUNITY_ID_PROTO_ICMP ? icmp4_pairs : icmp6_pairs;
	size_t n = proto == COMMUNITY_ID_PROTO_ICMP ? sizeof(icmp4_pairs) / sizeof(icmp4_pairs[0])
						    : sizeof(icmp6_pairs) / sizeof(icmp6_pairs[0]);

	*sport = type;
	for (size_t i = 0; i < n; i++) {
		if (t[i].from == type) {
			*dport = t[i].to;
			return false;
		}
	}
	*dport = code;
	return true;
}

static bool community_id_has_ports(uint8_t proto)
{
	switch (proto) {
	case COMMUNITY_ID_PROTO_TCP:
	case COMMUNITY_ID_PROTO_UDP:
	case COMMUNITY_ID_PROTO_SCTP:
	case COMMUNITY_ID_PROTO_ICMP:
	case COMMUNITY_ID_PROTO_ICMPV6:
		return true;
	default:
		return false;
	}
}

int community_id_v1(char *out, size_t outlen, uint16_t seed, bool base64, uint8_t proto,
		    const struct net_addr *src, const struct net_addr *dst, uint16_t sport,
		    uint16_t dport)
{
	static const char hexdig[] = "0123456789abcdef";
	uint8_t in[COMMUNITY_ID_INPUT_MAX], md[COMMUNITY_ID_SHA1_LEN];
	unsigned mdlen = 0;
	bool ports = community_id_has_ports(proto), one_way = false;
	const struct net_addr *a = src, *b = dst;
	uint16_t pa = sport, pb = dport;
	size_t alen, n = 0, need;
	int cmp;

	if (!out || !src || !dst)
		return -EINVAL;
	if ((src->family != NET_ADDR_V4 && src->family != NET_ADDR_V6) ||
	    src->family != dst->family)
		return -EINVAL;
	need = 2 + (base64 ? 28 : 2 * COMMUNITY_ID_SHA1_LEN) + 1;
	if (outlen < need)
		return -ENOSPC;

	if (proto == COMMUNITY_ID_PROTO_ICMP || proto == COMMUNITY_ID_PROTO_ICMPV6)
		one_way = community_id_icmp_ports(proto, sport, dport, &pa, &pb);

	/* Lower endpoint first: address bytes, then port; one-way ICMP keeps
	 * the direction it was seen in. */
	alen = net_addr_len(src);
	cmp = memcmp(src->b, dst->b, alen);
	if (!one_way && (cmp > 0 || (cmp == 0 && ports && pa > pb))) {
		const struct net_addr *t = a;
		uint16_t tp = pa;
		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}

	in[n++] = (uint8_t)(seed >> 8);
	in[n++] = (uint8_t)seed;
	memcpy(in + n, a->b, alen);
	n += alen;
	memcpy(in + n, b->b, alen);
	n += alen;
	in[n++] = proto;
	in[n++] = 0;
	if (ports) {
		in[n++] = (uint8_t)(pa >> 8);
		in[n++] = (uint8_t)pa;
		in[n++] = (uint8_t)(pb >> 8);
		in[n++] = (uint8_t)pb;
	}

	if (EVP_Digest(in, n, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != COMMUNITY_ID_SHA1_LEN)
		return -EINVAL; /* libcrypto without SHA1: cannot happen on Debian */

	out[0] = '1';
	out[1] = ':';
	if (base64) {
		/* 20 bytes -> 28 characters plus NUL, checked above */
		EVP_EncodeBlock((unsigned char *)out + 2, md, COMMUNITY_ID_SHA1_LEN);
	} else {
		for (size_t i = 0; i < COMMUNITY_ID_SHA1_LEN; i++) {
			out[2 + 2 * i] = hexdig[md[i] >> 4];
			out[3 + 2 * i] = hexdig[md[i] & 0xf];
		}
		out[2 + 2 * COMMUNITY_ID_SHA1_LEN] = '\0';
	}
	return 0;
}
