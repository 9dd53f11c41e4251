/* SPDX-License-Identifier: MIT */
/*
 * capture-bpf.c -- libbpf loader for bpf/capture.bpf.c.  See capture-bpf.h
 * and docs/bpf.md.
 */
#include "capture-bpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "capture.skel.h"
#include "decode.h"

_Static_assert(sizeof(struct capture_event) == 72, "ABI");
/* capture_flow_key.tunnel_kind is userspace's flow_key.tunnel_kind */
_Static_assert(CAPTURE_TUN_VXLAN == TUNNEL_VXLAN && CAPTURE_TUN_GENEVE == TUNNEL_GENEVE &&
	       CAPTURE_TUN_GRE == TUNNEL_GRE && CAPTURE_TUN_ERSPAN == TUNNEL_ERSPAN &&
	       CAPTURE_TUN_IPIP == TUNNEL_IPIP, "ABI: tunnel kinds");
_Static_assert(CAPTURE_MAX_TUNNEL == DECODE_MAX_TUNNEL, "tunnel depth as offline");

#define XDP_PROG_NAME "capture_xdp"
#define TC_PROG_PREFIX "capture_tc_"

struct capture_bpf {
	struct mailtap_capture *skel;
	struct ring_buffer *rb;
	capture_bpf_event_fn *fn;      /* during capture_bpf_poll */
	void *fn_arg;
	struct capture_bpf_user_stats ust;
	union capture_bpf_record rec;  /* aligned copy of the current record */
	/* attachment */
	int ifindex;                   /* 0 = nothing attached */
	enum capture_bpf_mode mode;
	uint32_t xdp_flags;
	bool qdisc_created;
	int ncpus;
};

static const char *const stat_names[CAPTURE_STAT_COUNT] = {
	[CAPTURE_STAT_PACKETS] = "packets",
	[CAPTURE_STAT_BYTES] = "bytes",
	[CAPTURE_STAT_NON_IP] = "non_ip",
	[CAPTURE_STAT_TRUNCATED] = "truncated",
	[CAPTURE_STAT_INVALID] = "invalid",
	[CAPTURE_STAT_VLAN_TOO_DEEP] = "vlan_too_deep",
	[CAPTURE_STAT_IPV6_EXT_LIMIT] = "ipv6_ext_limit",
	[CAPTURE_STAT_FRAGS] = "frags",
	[CAPTURE_STAT_FRAG_ORPHANS] = "frag_orphans",
	[CAPTURE_STAT_FRAG_MAP_FULL] = "frag_map_full",
	[CAPTURE_STAT_OTHER_L4] = "other_l4",
	[CAPTURE_STAT_FILTER_MISS] = "filter_miss",
	[CAPTURE_STAT_MATCH_CATALOG] = "match_catalog",
	[CAPTURE_STAT_MATCH_LEARNED] = "match_learned",
	[CAPTURE_STAT_FLOWS_CREATED] = "flows_created",
	[CAPTURE_STAT_FLOW_RACE] = "flow_race",
	[CAPTURE_STAT_FLOW_MAP_FULL] = "flow_map_full",
	[CAPTURE_STAT_RB_FULL] = "rb_full",
	[CAPTURE_STAT_EV_FLOW_START] = "ev_flow_start",
	[CAPTURE_STAT_EV_FLOW_END] = "ev_flow_end",
	[CAPTURE_STAT_EV_PAYLOAD] = "ev_payload",
	[CAPTURE_STAT_EV_DNS] = "ev_dns",
	[CAPTURE_STAT_EV_FLOW_LOST] = "ev_flow_lost",
	[CAPTURE_STAT_PAYLOAD_TRUNC] = "payload_trunc",
	[CAPTURE_STAT_LOAD_FAIL] = "load_fail",
	[CAPTURE_STAT_GSO] = "gso",
	[CAPTURE_STAT_FLOW_PACKETS] = "flow_packets",
	[CAPTURE_STAT_REUSED] = "reused",
	[CAPTURE_STAT_TUN_VXLAN] = "tunnel_vxlan",
	[CAPTURE_STAT_TUN_GENEVE] = "tunnel_geneve",
	[CAPTURE_STAT_TUN_GRE] = "tunnel_gre",
	[CAPTURE_STAT_TUN_ERSPAN] = "tunnel_erspan",
	[CAPTURE_STAT_TUN_IPIP] = "tunnel_ipip",
	[CAPTURE_STAT_TUN_BAD] = "tunnel_bad",
	[CAPTURE_STAT_TUN_DEPTH] = "tunnel_depth_exceeded",
};

const char *capture_bpf_stat_name(unsigned idx)
{
	return idx < CAPTURE_STAT_COUNT ? stat_names[idx] : NULL;
}

void capture_bpf_config_default(struct capture_bpf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->filter = true;
	cfg->flow_events = true;
	cfg->dns = true;
	cfg->payload_segs = 4;
	cfg->payload_len = 1536;
	cfg->dns_len = 1024;
}

static int on_sample(void *ctx, void *data, size_t size);

static bool verbose_print;

/* Messages libbpf prints as warnings for a step that is expected to fail:
 * bpf_tc_hook_create() on an interface without a clsact qdisc yet asks
 * the kernel for the filter chain first ("Cannot find specified filter
 * chain", once per direction).  They are debug output here. */
static const char *const expected_msgs[] = {
	"Cannot find specified filter chain",
	NULL,
};

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	va_list aq;

	if (level == LIBBPF_DEBUG && !verbose_print)
		return 0;
	va_copy(aq, ap);
	vsnprintf(msg, sizeof(msg), fmt, aq);
	va_end(aq);
	if (!verbose_print)
		for (const char *const *e = expected_msgs; *e; e++)
			if (strstr(msg, *e))
				return 0;
	return fputs(msg, stderr) < 0 ? -1 : (int)strlen(msg);
}

struct capture_bpf *capture_bpf_open(const struct capture_bpf_config *cfg)
{
	struct capture_bpf_config def;
	struct capture_bpf *cb;
	int err;

	if (!cfg) {
		capture_bpf_config_default(&def);
		cfg = &def;
	}
	if (cfg->payload_segs > CAPTURE_PAYLOAD_SEGS_MAX || cfg->payload_len > CAPTURE_PAYLOAD_MAX ||
	    cfg->dns_len > CAPTURE_PAYLOAD_MAX ||
	    (cfg->rb_bytes && (cfg->rb_bytes & (cfg->rb_bytes - 1)))) {
		errno = EINVAL;
		return NULL;
	}
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return NULL;
	verbose_print = cfg->verbose;
	libbpf_set_print(print_fn);
	cb->ncpus = libbpf_num_possible_cpus();
	if (cb->ncpus <= 0) {
		err = cb->ncpus ? cb->ncpus : -EINVAL;
		goto fail;
	}
	cb->skel = mailtap_capture__open();
	if (!cb->skel) {
		err = -errno;
		goto fail;
	}
	cb->skel->rodata->cfg_filter = cfg->filter;
	cb->skel->rodata->cfg_flow_events = cfg->flow_events;
	cb->skel->rodata->cfg_dns = cfg->dns;
	cb->skel->rodata->cfg_dns_len = cfg->dns_len;
	cb->skel->rodata->cfg_payload_segs = cfg->payload_segs;
	cb->skel->rodata->cfg_payload_len = cfg->payload_len;
	cb->skel->rodata->cfg_tc_chain = cfg->tc_chain;
	cb->skel->rodata->cfg_decap_off = cfg->decap_off;
	for (int i = 0; i < CAPTURE_TUN_EXTRA_PORTS; i++) {
		cb->skel->rodata->cfg_vxlan_ports[i] = cfg->vxlan_ports[i];
		cb->skel->rodata->cfg_geneve_ports[i] = cfg->geneve_ports[i];
	}
	if (cfg->flow_max && (err = bpf_map__set_max_entries(cb->skel->maps.flows, cfg->flow_max)))
		goto fail;
	if (cfg->rb_bytes && (err = bpf_map__set_max_entries(cb->skel->maps.events, cfg->rb_bytes)))
		goto fail;
	err = mailtap_capture__load(cb->skel);
	if (err)
		goto fail;
	cb->rb = ring_buffer__new(bpf_map__fd(cb->skel->maps.events), on_sample, cb, NULL);
	if (!cb->rb) {
		err = -errno;
		goto fail;
	}
	return cb;
fail:
	capture_bpf_close(cb);
	errno = err < 0 ? -err : EINVAL;
	return NULL;
}

void capture_bpf_close(struct capture_bpf *cb)
{
	if (!cb)
		return;
	capture_bpf_detach(cb);
	ring_buffer__free(cb->rb);
	mailtap_capture__destroy(cb->skel);
	free(cb);
}

/* --- attach / detach --- */

static int prog_name_by_id(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), err;

	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	close(fd);
	if (err)
		return -errno;
	snprintf(name, len, "%s", info.name);
	return 0;
}

/* 1: ours (or nothing, *id = 0), 0: someone else's, <0: error */
static int tc_slot_is_ours(struct bpf_tc_hook *hook, __u32 *id)
{
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = CAPTURE_BPF_TC_HANDLE,
		    .priority = CAPTURE_BPF_TC_PRIORITY);
	char name[BPF_OBJ_NAME_LEN];
	int err = bpf_tc_query(hook, &q);

	*id = 0;
	if (err == -ENOENT || err == -EINVAL)
		return 1;
	if (err)
		return err;
	*id = q.prog_id;
	if (prog_name_by_id(q.prog_id, name, sizeof(name)))
		return 0;
	return strncmp(name, TC_PROG_PREFIX, strlen(TC_PROG_PREFIX)) == 0;
}

static int tc_attach_one(struct capture_bpf *cb, int ifindex, enum bpf_tc_attach_point ap,
			 int fd)
{
	/* a stale mailtap filter means a previous mailtap made the qdisc:
	 * take it over, so detach removes it */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = CAPTURE_BPF_TC_HANDLE,
		    .priority = CAPTURE_BPF_TC_PRIORITY, .prog_fd = fd);
	__u32 old;
	int r = tc_slot_is_ours(&hook, &old);

	if (r < 0)
		return r;
	if (r == 0)
		return -EBUSY;
	if (old) {
		o.flags = BPF_TC_F_REPLACE; /* a stale mailtap filter: replace it */
		cb->qdisc_created = true;
	}
	return bpf_tc_attach(&hook, &o);
}

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point ap, bool only_ours_stale)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = CAPTURE_BPF_TC_HANDLE,
		    .priority = CAPTURE_BPF_TC_PRIORITY);
	__u32 id;
	int r = tc_slot_is_ours(&hook, &id);

	if (r < 0)
		return r;
	if (!id)
		return 0;
	if (r == 0 && only_ours_stale)
		return 0;
	r = bpf_tc_detach(&hook, &o);
	return r ? r : 1;
}

static int xdp_flags_for(enum capture_bpf_mode mode)
{
	switch (mode) {
	case CAPTURE_BPF_XDP:
		return XDP_FLAGS_DRV_MODE;
	case CAPTURE_BPF_XDP_GENERIC:
		return XDP_FLAGS_SKB_MODE;
	default:
		return 0;
	}
}

static int xdp_attach(struct capture_bpf *cb, int ifindex, enum capture_bpf_mode mode)
{
	int fd = bpf_program__fd(cb->skel->progs.capture_xdp);
	__u32 old = 0;
	char name[BPF_OBJ_NAME_LEN];
	int err, flags = xdp_flags_for(mode);

	err = bpf_xdp_query_id(ifindex, 0, &old);
	if (err)
		return err;
	if (old) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
		int oldfd;

		if (prog_name_by_id(old, name, sizeof(name)) || strcmp(name, XDP_PROG_NAME))
			return -EBUSY;
		/* a stale mailtap program: replace it in place */
		oldfd = bpf_prog_get_fd_by_id(old);
		if (oldfd < 0)
			return -errno;
		opts.old_prog_fd = oldfd;
		err = bpf_xdp_attach(ifindex, fd, flags | XDP_FLAGS_REPLACE, &opts);
		if (err == -EINVAL || err == -EEXIST || err == -EBUSY) {
			/* different mode than the stale one: remove, then attach */
			bpf_xdp_detach(ifindex, 0, NULL);
			err = bpf_xdp_attach(ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		}
		close(oldfd);
	} else {
		err = bpf_xdp_attach(ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (err && mode == CAPTURE_BPF_XDP_ANY) {
			flags = XDP_FLAGS_SKB_MODE;
			err = bpf_xdp_attach(ifindex, fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		}
	}
	if (!err)
		cb->xdp_flags = (uint32_t)flags;
	return err;
}

int capture_bpf_attach(struct capture_bpf *cb, int ifindex, enum capture_bpf_mode mode)
{
	int err;

	if (!cb || ifindex <= 0)
		return -EINVAL;
	if (cb->ifindex)
		return -EALREADY;
	if (mode == CAPTURE_BPF_TC) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			return err;
		cb->qdisc_created = err == 0;
		cb->ifindex = ifindex;
		cb->mode = mode;
		err = tc_attach_one(cb, ifindex, BPF_TC_INGRESS,
				    bpf_program__fd(cb->skel->progs.capture_tc_ingress));
		if (!err)
			err = tc_attach_one(cb, ifindex, BPF_TC_EGRESS,
					    bpf_program__fd(cb->skel->progs.capture_tc_egress));
		if (err)
			capture_bpf_detach(cb);
		return err;
	}
	err = xdp_attach(cb, ifindex, mode);
	if (err)
		return err;
	cb->ifindex = ifindex;
	cb->mode = mode;
	return 0;
}

int capture_bpf_detach(struct capture_bpf *cb)
{
	int err = 0, r;

	if (!cb || !cb->ifindex)
		return 0;
	if (cb->mode == CAPTURE_BPF_TC) {
		r = tc_detach_one(cb->ifindex, BPF_TC_INGRESS, true);
		if (r < 0 && r != -ENODEV)
			err = r;
		r = tc_detach_one(cb->ifindex, BPF_TC_EGRESS, true);
		if (r < 0 && r != -ENODEV && !err)
			err = r;
		if (cb->qdisc_created) {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = cb->ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
			r = bpf_tc_hook_destroy(&hook);
			if (r && r != -ENOENT && r != -ENODEV && r != -EINVAL && !err)
				err = r;
		}
	} else {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
			    .old_prog_fd = bpf_program__fd(cb->skel->progs.capture_xdp));
		r = bpf_xdp_detach(cb->ifindex, (int)cb->xdp_flags | XDP_FLAGS_REPLACE, &opts);
		if (r && r != -ENODEV && r != -EEXIST)
			err = r;
	}
	cb->ifindex = 0;
	cb->qdisc_created = false;
	return err;
}

int capture_bpf_cleanup_stale(int ifindex)
{
	__u32 id = 0;
	char name[BPF_OBJ_NAME_LEN];
	int n = 0, r;

	r = tc_detach_one(ifindex, BPF_TC_INGRESS, true);
	n += r > 0;
	r = tc_detach_one(ifindex, BPF_TC_EGRESS, true);
	n += r > 0;
	if (!bpf_xdp_query_id(ifindex, 0, &id) && id &&
	    !prog_name_by_id(id, name, sizeof(name)) && !strcmp(name, XDP_PROG_NAME)) {
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd >= 0) {
			LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd);
			if (!bpf_xdp_detach(ifindex, XDP_FLAGS_REPLACE, &opts))
				n++;
			close(fd);
		}
	}
	return n;
}

/* --- filter maps --- */

static int addr_bytes(const struct net_addr *a, uint8_t *family)
{
	if (a->family == NET_ADDR_V4)
		*family = 4;
	else if (a->family == NET_ADDR_V6)
		*family = 6;
	else
		return -EINVAL;
	return 0;
}

static int lpm_key(struct capture_lpm_key *k, const struct net_addr *net, unsigned plen)
{
	memset(k, 0, sizeof(*k));
	if (addr_bytes(net, &k->family))
		return -EINVAL;
	if (plen > (k->family == 4 ? 32u : 128u))
		return -EINVAL;
	k->prefixlen = 8 + plen;
	memcpy(k->addr, net->b, 16);
	return 0;
}

int capture_bpf_add_prefix(struct capture_bpf *cb, const struct net_addr *net,
			   unsigned prefix_len, uint32_t tag)
{
	struct capture_lpm_key k;
	struct capture_lpm_value v = { .tag = tag };

	if (lpm_key(&k, net, prefix_len))
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(cb->skel->maps.prefixes), &k, &v, BPF_ANY);
}

int capture_bpf_del_prefix(struct capture_bpf *cb, const struct net_addr *net, unsigned prefix_len)
{
	struct capture_lpm_key k;

	if (lpm_key(&k, net, prefix_len))
		return -EINVAL;
	return bpf_map_delete_elem(bpf_map__fd(cb->skel->maps.prefixes), &k);
}

int capture_bpf_add_addr(struct capture_bpf *cb, const struct net_addr *a, uint32_t tag,
			 uint64_t added_ns)
{
	struct capture_addr_key k;
	struct capture_addr_value v = { .tag = tag, .added_ns = added_ns };

	memset(&k, 0, sizeof(k));
	if (addr_bytes(a, &k.family))
		return -EINVAL;
	memcpy(k.addr, a->b, 16);
	return bpf_map_update_elem(bpf_map__fd(cb->skel->maps.learned), &k, &v, BPF_ANY);
}

int capture_bpf_del_addr(struct capture_bpf *cb, const struct net_addr *a)
{
	struct capture_addr_key k;

	memset(&k, 0, sizeof(k));
	if (addr_bytes(a, &k.family))
		return -EINVAL;
	memcpy(k.addr, a->b, 16);
	return bpf_map_delete_elem(bpf_map__fd(cb->skel->maps.learned), &k);
}

/* --- ring buffer --- */

static int on_sample(void *ctx, void *data, size_t size)
{
	struct capture_bpf *cb = ctx;
	struct capture_event hdr;
	size_t need;

	if (size < sizeof(hdr)) {
		cb->ust.short_records++;
		return 0;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.abi_version != CAPTURE_ABI_VERSION) {
		cb->ust.bad_abi++;
		return 0;
	}
	switch (hdr.type) {
	case CAPTURE_EV_FLOW_START:
	case CAPTURE_EV_FLOW_END:
	case CAPTURE_EV_FLOW_LOST:
		need = sizeof(struct capture_flow_event);
		if (size < need) {
			cb->ust.short_records++;
			return 0;
		}
		memcpy(&cb->rec, data, need);
		break;
	case CAPTURE_EV_PAYLOAD:
	case CAPTURE_EV_DNS: {
		uint16_t cap;
		need = offsetof(struct capture_payload_event, data);
		if (size < need) {
			cb->ust.short_records++;
			return 0;
		}
		memcpy(&cap, (const uint8_t *)data + offsetof(struct capture_payload_event, cap_len),
		       sizeof(cap));
		if (cap > CAPTURE_PAYLOAD_MAX || need + cap > size) {
			cb->ust.short_records++;
			return 0;
		}
		memcpy(&cb->rec, data, need + cap);
		break;
	}
	default:
		cb->ust.unknown_type++;
		return 0;
	}
	cb->ust.records++;
	if (cb->fn)
		cb->fn(cb->fn_arg, &cb->rec);
	return 0;
}

int capture_bpf_poll(struct capture_bpf *cb, int timeout_ms, capture_bpf_event_fn *fn, void *arg)
{
	int n;

	if (!cb)
		return -EINVAL;
	cb->fn = fn;
	cb->fn_arg = arg;
	if (timeout_ms == 0)
		n = ring_buffer__consume(cb->rb);
	else
		n = ring_buffer__poll(cb->rb, timeout_ms);
	cb->fn = NULL;
	cb->fn_arg = NULL;
	return n;
}

int capture_bpf_epoll_fd(const struct capture_bpf *cb)
{
	return ring_buffer__epoll_fd(cb->rb);
}

void capture_bpf_get_user_stats(const struct capture_bpf *cb, struct capture_bpf_user_stats *out)
{
	*out = cb->ust;
}

/* --- flow map --- */

#define BATCH 256

int capture_bpf_read_flows(struct capture_bpf *cb, capture_bpf_flow_fn *fn, void *arg)
{
	int fd = bpf_map__fd(cb->skel->maps.flows);
	struct capture_flow_key *keys;
	struct capture_flow_counters *vals;
	uint64_t in_batch = 0, out_batch = 0; /* hash maps: a bucket index */
	bool first = true;
	__u32 cap = BATCH;
	int total = 0, err = 0;

	keys = calloc(cap, sizeof(*keys));
	vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = cap;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals,
					   &count, &opts);
		if (err && errno == ENOSPC && count == 0) {
			/* one bucket holds more than cap entries: grow */
			void *k2 = realloc(keys, (size_t)cap * 2 * sizeof(*keys));
			void *v2 = k2 ? realloc(vals, (size_t)cap * 2 * sizeof(*vals)) : NULL;
			if (k2)
				keys = k2;
			if (!k2 || !v2) {
				err = -ENOMEM;
				goto out;
			}
			vals = v2;
			cap *= 2;
			continue;
		}
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		for (__u32 i = 0; i < count; i++)
			if (fn)
				fn(arg, &keys[i], &vals[i]);
		total += (int)count;
		if (err) /* ENOENT: that was the last batch */
			break;
		in_batch = out_batch;
		first = false;
	}
	err = 0;
out:
	free(keys);
	free(vals);
	return err ? err : total;
}

int capture_bpf_take_flow(struct capture_bpf *cb, const struct capture_flow_key *key,
			  struct capture_flow_counters *out)
{
	struct capture_flow_counters tmp;
	int fd = bpf_map__fd(cb->skel->maps.flows);

	if (bpf_map_lookup_and_delete_elem(fd, key, out ? out : &tmp))
		return -errno;
	return 0;
}

static int clear_map(int fd, void *k, void *next, size_t ksize)
{
	int n = 0;

	/* collect-then-delete in rounds: never restart get_next_key after
	 * every delete (quadratic) */
	while (bpf_map_get_next_key(fd, NULL, k) == 0) {
		int round = 0;
		for (;;) {
			int more = bpf_map_get_next_key(fd, k, next) == 0;
			if (!bpf_map_delete_elem(fd, k))
				n++, round++;
			if (!more)
				break;
			memcpy(k, next, ksize);
		}
		if (!round)
			break;
	}
	return n;
}

int capture_bpf_clear_flows(struct capture_bpf *cb)
{
	struct capture_flow_key k, next;
	return clear_map(bpf_map__fd(cb->skel->maps.flows), &k, &next, sizeof(k));
}

int capture_bpf_reset(struct capture_bpf *cb)
{
	struct capture_frag_key fk, fnext;
	uint64_t *zero = calloc((size_t)cb->ncpus, sizeof(*zero));
	int fd = bpf_map__fd(cb->skel->maps.stats);

	if (!zero)
		return -ENOMEM;
	capture_bpf_clear_flows(cb);
	clear_map(bpf_map__fd(cb->skel->maps.frags), &fk, &fnext, sizeof(fk));
	for (__u32 i = 0; i < CAPTURE_STAT_COUNT; i++)
		bpf_map_update_elem(fd, &i, zero, BPF_ANY);
	free(zero);
	capture_bpf_poll(cb, 0, NULL, NULL);
	memset(&cb->ust, 0, sizeof(cb->ust));
	return 0;
}

void capture_bpf_key_to_flow_key(const struct capture_flow_key *k, struct flow_key *out)
{
	memset(out, 0, sizeof(*out));
	out->a.family = k->family == 6 ? NET_ADDR_V6 : NET_ADDR_V4;
	out->b.family = out->a.family;
	memcpy(out->a.b, k->addr_a, k->family == 6 ? 16 : 4);
	memcpy(out->b.b, k->addr_b, k->family == 6 ? 16 : 4);
	out->port_a = k->port_a;
	out->port_b = k->port_b;
	out->vlan[0] = k->vlan[0];
	out->vlan[1] = k->vlan[1];
	out->proto = k->proto;
	if (k->tunnel_kind) {
		out->tunnel_kind = k->tunnel_kind;
		out->tunnel_id = k->tunnel_id;
	}
}

int64_t capture_bpf_mono_to_realtime_ns(void)
{
	struct timespec m1, r, m2;
	int64_t mono;

	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	mono = ((int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec +
		(int64_t)m2.tv_sec * 1000000000 + m2.tv_nsec) / 2;
	return (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - mono;
}

/* --- counters --- */

int capture_bpf_read_stats(struct capture_bpf *cb, uint64_t out[CAPTURE_STAT_COUNT])
{
	int fd = bpf_map__fd(cb->skel->maps.stats);
	uint64_t *vals = calloc((size_t)cb->ncpus, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < CAPTURE_STAT_COUNT; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			int e = -errno;
			free(vals);
			return e;
		}
		for (int c = 0; c < cb->ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int capture_bpf_prog_fd(const struct capture_bpf *cb, enum capture_bpf_prog which)
{
	switch (which) {
	case CAPTURE_PROG_TC_INGRESS:
		return bpf_program__fd(cb->skel->progs.capture_tc_ingress);
	case CAPTURE_PROG_TC_EGRESS:
		return bpf_program__fd(cb->skel->progs.capture_tc_egress);
	case CAPTURE_PROG_XDP:
		return bpf_program__fd(cb->skel->progs.capture_xdp);
	}
	return -EINVAL;
}

int capture_bpf_flows_fd(const struct capture_bpf *cb)
{
	return bpf_map__fd(cb->skel->maps.flows);
}

int capture_bpf_test_run(struct capture_bpf *cb, enum capture_bpf_prog which,
			 const void *frame, uint32_t len, uint32_t repeat, uint32_t gso_segs,
			 uint32_t *retval, uint32_t *avg_ns)
{
	struct __sk_buff skb;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .repeat = repeat ? repeat : 1);
	int fd = capture_bpf_prog_fd(cb, which);

	if (fd < 0)
		return fd;
	if (gso_segs && which != CAPTURE_PROG_XDP) {
		memset(&skb, 0, sizeof(skb));
		skb.gso_segs = gso_segs;
		skb.gso_size = 1;
		skb.wire_len = len;
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	if (retval)
		*retval = o.retval;
	if (avg_ns)
		*avg_ns = o.duration;
	return 0;
}
