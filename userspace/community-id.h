/* SPDX-License-Identifier: MIT */
/*
 * community-id.h -- Community ID v1 flow hash ("1:<base64 SHA1>"), so mailtap
 * records join with Zeek, Suricata and other tools that log the same ID for a
 * flow.  Spec: corelight/community-id-spec (README.md, community-id.py); ICMP
 * type mapping as in corelight/pycommunityid (icmp.py, icmp6.py).  Not covered
 * by v1 and so not here: tunnels, VLAN, MPLS.
 */
#ifndef MAILTAP_COMMUNITY_ID_H
#define MAILTAP_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net-addr.h"

/* Buffer size, NUL included, that holds any v1 ID: "1:" + 40 hex digits
 * (the longer, --no-base64 form) + NUL.  The base64 form needs 31. */
#define COMMUNITY_ID_STRLEN 43

#define COMMUNITY_ID_PROTO_ICMP 1
#define COMMUNITY_ID_PROTO_TCP 6
#define COMMUNITY_ID_PROTO_UDP 17
#define COMMUNITY_ID_PROTO_ICMPV6 58
#define COMMUNITY_ID_PROTO_SCTP 132

/*
 * Write the Community ID v1 of a flow into out ("1:" + base64, or + 40 lower
 * case hex digits when base64 is false), NUL-terminated.
 *
 * seed: 0 unless the deployment agreed on another value with its peer tools.
 * proto: IP protocol number.  TCP, UDP and SCTP hash the ports; ICMP (1) and
 * ICMPv6 (58) take sport = ICMP type and dport = ICMP code, and the function
 * applies the spec's type mapping (request/response pairs are two-way, other
 * types are one-way and never reordered); every other protocol ignores the
 * ports.  src and dst are borrowed for the call and must have the same family.
 *
 * Returns 0, -EINVAL (NULL argument, family unset or mixed) or -ENOSPC (outlen
 * too small: pass COMMUNITY_ID_STRLEN bytes).  Never allocates.
 */
int community_id_v1(char *out, size_t outlen, uint16_t seed, bool base64, uint8_t proto,
		    const struct net_addr *src, const struct net_addr *dst, uint16_t sport,
		    uint16_t dport);

#endif
