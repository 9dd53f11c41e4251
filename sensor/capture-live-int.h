/* SPDX-License-Identifier: MIT */
/*
 * capture-live-int.h -- what the live front ends share, private to
 * capture-live.c (the loop and the learned addresses), capture-ebpf.c
 * (the eBPF programs) and capture-pcap-live.c (libpcap on interfaces).
 *
 * A front end is a struct capture_ops, in the style of Redis's
 * ConnectionType: capture-live.c opens it, polls the descriptors it
 * filled, lets it read what is ready, runs a pass once a second (its
 * counters, the aggregator's idle expiry on the wall clock, learned
 * addresses that expired, a reload when the catalog changed) and closes
 * it.  What a front end keeps for itself hangs off live.fe, owned by it
 * from open to close.
 */
#ifndef MAILTAP_CAPTURE_LIVE_INT_H
#define MAILTAP_CAPTURE_LIVE_INT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "decode.h"
#include "options.h"
#include "sensor.h"

#define LIVE_NS 1000000000ull

/* Addresses learned from DNS answers for catalog names (and from mail
 * SNIs in eBPF mode), so the capture lets their traffic in. */
struct learned {
	struct net_addr a;
	uint64_t expires_ns;     /* wall clock */
	uint32_t hash, next;     /* bucket chain (index into v, UINT32_MAX = end) */
};

/* A fixed array with a seeded hash index (util-hash.h): O(1) lookups per
 * payload record and DNS answer, refusal (counted) when full. */
struct learn_set {
	struct learned *v;       /* owned: max entries, allocated on first use */
	uint32_t *head;          /* owned: nbuckets chain heads */
	uint32_t nbuckets;       /* a power of two >= max */
	size_t n, max;
	uint64_t added, expired, refused;
	bool changed;            /* since the last reload */
};

struct live;

struct capture_ops {
	const char *name;           /* "ebpf-tc", "ebpf-xdp", "pcap" */
	uint64_t tick_lag_ns;       /* packets may still wait in a ring this long:
	                             * idle expiry runs this far behind the wall */
	size_t learn_max;           /* learned addresses it can filter on */
	/* Load and attach on every interface of L->o, fill L->pfd[i] and
	 * subscribe to the aggregator (agg_set_observer).  Returns 0, or a
	 * negative errno after one log line (see capture-live.h); close is
	 * called either way. */
	int (*open)(struct live *L);
	/* Read what interface @i has (@ready: poll said so).  0, or -EIO
	 * after one log line (the capture stops). */
	int (*read)(struct live *L, int i, bool ready);
	/* Capture counters into the sensor (sensor_set_capture_stats). */
	void (*stats)(struct live *L);
	/* The catalog changed, or (front ends without learned_fn) the learned
	 * set did: rebuild what the capture filters on.  Sets L->cat. */
	void (*reload)(struct live *L);
	/* An address joined (@added) or left the learned set; NULL when the
	 * front end filters on the whole set through reload. */
	void (*learned_fn)(struct live *L, const struct net_addr *a, bool added, uint64_t now);
	/* Detach and drain (what was sent before detaching still counts),
	 * unsubscribe, free live.fe.  @summary: a clean stop, print the
	 * closing line unless quiet. */
	void (*close)(struct live *L, bool summary);
};

extern const struct capture_ops capture_ebpf_tc_ops, capture_ebpf_xdp_ops, capture_pcap_live_ops;

struct live {
	struct sensor *s;                /* borrowed */
	const struct sensor_options *o;  /* borrowed */
	const struct capture_ops *ops;
	const char *mode;
	int nif;
	struct pollfd *pfd;              /* [nif], owned by capture-live.c */
	const struct catalog *cat;       /* the one the filter came from */
	struct learn_set learned;
	void *fe;                        /* the front end's state, owned by it */
	int err;                         /* a capture error that stops the loop */
};

uint64_t live_now_ns(int clockid);

/* Remember @a for @ttl_s from now (the front end hears of a new address);
 * @a found already is refreshed. */
void live_learn(struct live *L, const struct net_addr *a, uint32_t ttl_s);
bool live_learned(const struct live *L, const struct net_addr *a);

/* The observer's dns_learned: a DNS answer for a catalog name (@arg is
 * the struct live). */
void live_on_dns_learn(void *arg, const struct net_addr *addr, uint32_t ttl_s, const char *name);

#endif
