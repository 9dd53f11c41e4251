/* SPDX-License-Identifier: MIT */
/*
 * capture-bpf.h -- the libbpf loader of bpf/capture.bpf.c: open and load
 * the skeleton with a configuration, fill the filter maps, attach TC
 * (ingress + egress) or XDP to one interface, detach, poll the ring
 * buffer, batch-read the flow map, and sum the per-CPU counters.
 *
 * Records and map values are the structs of bpf/capture.h.  Every
 * function returns 0 (or a count) on success and a negative errno on
 * failure; constructors return NULL and set errno.  Not thread-safe: one
 * thread owns a struct capture_bpf.  See docs/bpf.md.
 */
#ifndef MAILTAP_CAPTURE_BPF_H
#define MAILTAP_CAPTURE_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/capture.h" /* the kernel ABI */
#include "flow-table.h"
#include "net-addr.h"

struct capture_bpf;

struct capture_bpf_config {
	bool filter;             /* count only flows with a prefix/learned endpoint */
	bool flow_events;        /* FLOW_START / FLOW_END records */
	bool dns;                /* DNS response records */
	bool tc_chain;           /* TC returns TC_ACT_UNSPEC instead of TC_ACT_OK */
	uint32_t payload_segs;   /* client segments captured per flow, <= CAPTURE_PAYLOAD_SEGS_MAX */
	uint32_t payload_len;    /* bytes per payload record, <= CAPTURE_PAYLOAD_MAX */
	uint32_t dns_len;        /* bytes per DNS record, <= CAPTURE_PAYLOAD_MAX */
	uint32_t flow_max;       /* flows map entries (0 = CAPTURE_FLOW_MAX) */
	uint32_t rb_bytes;       /* ring buffer bytes, power of 2 (0 = CAPTURE_RB_BYTES) */
	bool verbose;            /* libbpf debug output (the verifier log on failure) */
	uint32_t decap_off;      /* (1 << CAPTURE_TUN_x) per tunnel type left closed */
	uint16_t vxlan_ports[CAPTURE_TUN_EXTRA_PORTS];  /* besides 4789; 0 = unused */
	uint16_t geneve_ports[CAPTURE_TUN_EXTRA_PORTS]; /* besides 6081 */
};

/* filter on, events on, 4 segments x 1536 bytes, DNS 1024 bytes. */
void capture_bpf_config_default(struct capture_bpf_config *cfg);

/* Open and load (verify) the programs; attaches nothing. */
struct capture_bpf *capture_bpf_open(const struct capture_bpf_config *cfg);
/* Detach whatever is attached, then free. NULL is fine. */
void capture_bpf_close(struct capture_bpf *cb);

/* --- attach --- */
enum capture_bpf_mode {
	CAPTURE_BPF_TC,          /* clsact ingress + egress */
	CAPTURE_BPF_XDP,         /* XDP, native (driver) mode */
	CAPTURE_BPF_XDP_GENERIC, /* XDP, generic (skb) mode */
	CAPTURE_BPF_XDP_ANY,     /* XDP, native if the driver can, else generic */
};

/* Attach to one interface.  A mailtap program left at our hook by a
 * previous run is replaced, not duplicated; anyone else's program at the
 * same place gives -EBUSY.  One attachment per struct capture_bpf. */
int capture_bpf_attach(struct capture_bpf *cb, int ifindex, enum capture_bpf_mode mode);
/* Remove our programs (and the clsact qdisc when we created it). */
int capture_bpf_detach(struct capture_bpf *cb);
/* Remove any mailtap program from ifindex (stale from a crash), whoever
 * loaded it: TC filters at our handle/priority and XDP programs named
 * capture_xdp.  Returns the number removed. */
int capture_bpf_cleanup_stale(int ifindex);

/* TC attach point identity (for tests and `tc filter show`). */
#define CAPTURE_BPF_TC_HANDLE   0x4d54u
#define CAPTURE_BPF_TC_PRIORITY 1u

/* --- filter maps --- */
int capture_bpf_add_prefix(struct capture_bpf *cb, const struct net_addr *net,
			   unsigned prefix_len, uint32_t tag);
int capture_bpf_del_prefix(struct capture_bpf *cb, const struct net_addr *net,
			   unsigned prefix_len);
/* Learned addresses (from DNS answers and SNI): userspace owns expiry. */
int capture_bpf_add_addr(struct capture_bpf *cb, const struct net_addr *a, uint32_t tag,
			 uint64_t added_ns);
int capture_bpf_del_addr(struct capture_bpf *cb, const struct net_addr *a);

/* --- ring buffer --- */

/* A validated record, copied out of the ring (aligned, owned by the
 * loader, valid for the callback only).  hdr.type says which member. */
union capture_bpf_record {
	struct capture_event hdr;
	struct capture_flow_event flow;       /* FLOW_START / FLOW_END / FLOW_LOST */
	struct capture_payload_event payload; /* PAYLOAD / DNS: data[0 .. cap_len) */
};

typedef void capture_bpf_event_fn(void *arg, const union capture_bpf_record *rec);

/* Wait up to timeout_ms (0 = don't wait, -1 = forever) and hand every
 * record to fn.  Returns the number of records consumed or -errno
 * (-EINTR on a signal is normal). */
int capture_bpf_poll(struct capture_bpf *cb, int timeout_ms, capture_bpf_event_fn *fn, void *arg);
/* An fd that becomes readable when records are waiting (for epoll). */
int capture_bpf_epoll_fd(const struct capture_bpf *cb);

struct capture_bpf_user_stats {
	uint64_t records;        /* records handed to the callback */
	uint64_t short_records;  /* too small for their type: dropped */
	uint64_t bad_abi;        /* abi_version mismatch: dropped */
	uint64_t unknown_type;   /* type we don't know: dropped */
};
void capture_bpf_get_user_stats(const struct capture_bpf *cb, struct capture_bpf_user_stats *out);

/* --- flow map --- */

typedef void capture_bpf_flow_fn(void *arg, const struct capture_flow_key *key,
				 const struct capture_flow_counters *c);

/* Read every flow with bpf_map_lookup_batch (interim counters; the map is
 * not changed).  Returns the number of flows or -errno. */
int capture_bpf_read_flows(struct capture_bpf *cb, capture_bpf_flow_fn *fn, void *arg);
/* Remove one flow, returning its final counters (when out != NULL). */
int capture_bpf_take_flow(struct capture_bpf *cb, const struct capture_flow_key *key,
			  struct capture_flow_counters *out);
/* Remove every flow (e.g. between test runs). */
int capture_bpf_clear_flows(struct capture_bpf *cb);
/* Tests: empty the flow and fragment maps, zero the counters and drop
 * what waits in the ring buffer. */
int capture_bpf_reset(struct capture_bpf *cb);

/* The userspace canonical key (userspace/flow-table.h) of a kernel key:
 * the same a/b order, so flow_table_lookup() finds the same flow. */
void capture_bpf_key_to_flow_key(const struct capture_flow_key *k, struct flow_key *out);

/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: add this to get ns since the
 * epoch (sample again now and then to follow clock steps). */
int64_t capture_bpf_mono_to_realtime_ns(void);

/* --- counters --- */

/* Sum the per-CPU statistics into out[CAPTURE_STAT_COUNT]. */
int capture_bpf_read_stats(struct capture_bpf *cb, uint64_t out[CAPTURE_STAT_COUNT]);
/* "packets", "rb_full", ... (NULL past the end). */
const char *capture_bpf_stat_name(unsigned idx);

/* --- raw access, for tests and tools --- */
enum capture_bpf_prog { CAPTURE_PROG_TC_INGRESS, CAPTURE_PROG_TC_EGRESS, CAPTURE_PROG_XDP };
int capture_bpf_prog_fd(const struct capture_bpf *cb, enum capture_bpf_prog which);
int capture_bpf_flows_fd(const struct capture_bpf *cb);

/* Run one program on one Ethernet frame with BPF_PROG_TEST_RUN, @repeat
 * times (0 = 1); the maps keep what it did.  *retval gets the verdict
 * (TC_ACT_OK = 0, XDP_PASS = 2), *avg_ns the mean run time.  gso_segs
 * (TC only, 0 = none) makes the frame stand for that many segments. */
int capture_bpf_test_run(struct capture_bpf *cb, enum capture_bpf_prog which,
			 const void *frame, uint32_t len, uint32_t repeat, uint32_t gso_segs,
			 uint32_t *retval, uint32_t *avg_ns);
#define CAPTURE_BPF_TC_ACT_OK 0
#define CAPTURE_BPF_XDP_PASS 2

#endif
