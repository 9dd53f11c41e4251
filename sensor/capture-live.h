/* SPDX-License-Identifier: MIT */
/*
 * capture-live.h -- live capture on network interfaces, until the sensor
 * says stop.  Two families of front-end:
 *
 *  - "pcap": libpcap on every interface (promiscuous, kernel filter built
 *    from the catalog's prefixes, addresses learned from DNS answers for
 *    catalog names, and DNS itself); every frame goes to sensor_frame().
 *  - "ebpf-tc" / "ebpf-xdp": the kernel programs of bpf/ count the flows
 *    (sensor/capture-bpf.h); their records and flow-map reads feed the
 *    aggregator's external-flow API (agg_ext_*, see aggregator.h), so the
 *    same flow table, identification, interim updates, session records and
 *    scoring run as for packets.  DNS answers and SNI of catalog names put
 *    the server addresses into the kernel's learned map.
 *
 * Each is a struct capture_ops in its own file (capture-pcap-live.c,
 * capture-ebpf.c) run by one loop in capture-live.c; see
 * capture-live-int.h and docs/capture.md.
 */
#ifndef MAILTAP_CAPTURE_LIVE_H
#define MAILTAP_CAPTURE_LIVE_H

#include "options.h"
#include "sensor.h"

/*
 * Capture on o->interfaces in o->capture_mode ("pcap", "ebpf-tc",
 * "ebpf-xdp") until sensor_should_stop(s).  Once the capture is attached
 * it sets the capture mode (sensor_set_capture_stats) and calls
 * sensor_ready(); then sensor_tick() at least once a second, and keeps the
 * capture counters current.  The caller installs the signal handlers
 * (sensor_signals) first and does not call sensor_ready() itself.  Whatever
 * happens, nothing stays attached to an interface when it returns (eBPF
 * programs detached, clsact qdisc removed when we created it).  Flows still
 * open are left in the aggregator with their last counters: the caller's
 * sensor_finish() ends them (end_reason "eof").
 *
 * Returns 0 after a stop request, or a negative errno after printing one
 * line saying why (nothing captured, or capture broke off):
 *   -ENODEV  unknown interface
 *   -EPERM   no permission (needs root, or CAP_NET_RAW for pcap,
 *            CAP_BPF + CAP_NET_ADMIN for eBPF)
 *   -EBUSY   another program holds the TC/XDP hook
 *   -EINVAL  bad mode, or no interface
 *   -EIO     the capture failed (BPF load, libpcap error, interface gone)
 * eBPF failures print the hint "--capture pcap".
 */
int capture_live_run(struct sensor *s, const struct sensor_options *o);

#endif
