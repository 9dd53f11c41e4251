/* SPDX-License-Identifier: MIT */
/* net-addr.c -- parse and format IPv4/IPv6 addresses and prefixes. */
#include "net-addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *net_addr_format(const struct net_addr *a, char *buf, size_t len)
{
	int af = a->family == NET_ADDR_V6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(af, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int net_addr_parse(const char *s, struct net_addr *out)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, s, b) == 1) {
		net_addr_set_v4(out, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		net_addr_set_v6(out, b);
		return 0;
	}
	return -EINVAL;
}

int net_prefix_parse(const char *s, struct net_addr *out, unsigned *prefix_len)
{
	char tmp[NET_ADDR_STRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, plen;

	if (alen == 0 || alen >= NET_ADDR_STRLEN)
		return -EINVAL;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (net_addr_parse(tmp, out) < 0)
		return -EINVAL;
	max = out->family == NET_ADDR_V6 ? 128 : 32;
	plen = max;
	if (slash) {
		char *end;
		unsigned long v;
		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		v = strtoul(slash + 1, &end, 10);
		if (*end || v > max)
			return -EINVAL;
		plen = (unsigned)v;
	}
	for (unsigned i = plen; i < max; i++)
		out->b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	*prefix_len = plen;
	return 0;
}

bool net_addr_in_prefix(const struct net_addr *a, const struct net_addr *net, unsigned prefix_len)
{
	unsigned full = prefix_len / 8, rem = prefix_len % 8;
	if (a->family != net->family)
		return false;
	if (memcmp(a->b, net->b, full))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff00u >> rem);
		if ((a->b[full] & mask) != (net->b[full] & mask))
			return false;
	}
	return true;
}
