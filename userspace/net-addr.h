/* SPDX-License-Identifier: MIT */
/*
 * net-addr.h -- one IP address type (IPv4 or IPv6) shared by decode, flows,
 * DNS cache and catalog, with parsing and formatting helpers.
 *
 * IPv4 addresses live in the first 4 bytes of b[] with the rest zero, so two
 * addresses compare with memcmp over the whole struct.
 */
#ifndef MAILTAP_NET_ADDR_H
#define MAILTAP_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NET_ADDR_V4 4
#define NET_ADDR_V6 6
#define NET_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

struct net_addr {
	uint8_t family; /* NET_ADDR_V4 or NET_ADDR_V6; 0 = unset */
	uint8_t pad[3]; /* always zero */
	uint8_t b[16];  /* network byte order; v4 uses b[0..3] */
};

static inline void net_addr_set_v4(struct net_addr *a, const uint8_t v4[4])
{
	memset(a, 0, sizeof(*a));
	a->family = NET_ADDR_V4;
	memcpy(a->b, v4, 4);
}

static inline void net_addr_set_v6(struct net_addr *a, const uint8_t v6[16])
{
	memset(a, 0, sizeof(*a));
	a->family = NET_ADDR_V6;
	memcpy(a->b, v6, 16);
}

static inline size_t net_addr_len(const struct net_addr *a)
{
	return a->family == NET_ADDR_V6 ? 16 : 4;
}

static inline int net_addr_cmp(const struct net_addr *a, const struct net_addr *b)
{
	return memcmp(a, b, sizeof(*a));
}

/* Format into buf (at least NET_ADDR_STRLEN bytes); returns buf. */
const char *net_addr_format(const struct net_addr *a, char *buf, size_t len);

/* Parse "192.0.2.1" or "2001:db8::1"; returns 0 or -EINVAL. */
int net_addr_parse(const char *s, struct net_addr *out);

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (full-length
 * prefix); host bits past the prefix are cleared.  Returns 0 or -EINVAL. */
int net_prefix_parse(const char *s, struct net_addr *out, unsigned *prefix_len);

/* True when a lies inside net/prefix_len (same family). */
bool net_addr_in_prefix(const struct net_addr *a, const struct net_addr *net, unsigned prefix_len);

#endif
