/* SPDX-License-Identifier: MIT */
/*
 * sensor.h -- the running sensor: what every capture front-end feeds and
 * what main() sets up from the options.  One struct sensor per process;
 * it owns the catalog, the aggregator (flows, identification), the scoring
 * engine, the record sinks and the counters, and it is driven from one
 * thread (sinks run their own delivery threads behind out_sink_write).
 *
 * Capture front-ends call sensor_frame() for every captured frame (pcap
 * files, live libpcap) or feed sensor_agg() directly with flow events (the
 * eBPF path), call sensor_tick() now and then with the wall clock so
 * heartbeats, reloads and stats requests happen, and stop when
 * sensor_should_stop() says so.
 */
#ifndef MAILTAP_SENSOR_H
#define MAILTAP_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "options.h"

struct sensor;

/* Set up everything @opts asks for (borrowed: it must outlive the sensor;
 * sensor_reload() may replace it).  Returns a new sensor or NULL after
 * printing why; *exit_code gets the process exit status to use. */
struct sensor *sensor_new(const struct sensor_options *opts, int *exit_code);

/* Flush flows, save state, close sinks, print the stats (when @summary and
 * not quiet).  Returns the exit status; frees the sensor. */
int sensor_finish(struct sensor *s, int exit_code, bool summary);

/* One captured frame (borrowed for the call). */
void sensor_frame(struct sensor *s, int linktype, const uint8_t *frame, size_t caplen,
		  size_t wirelen, uint64_t ts_ns);

/* The aggregator, for front-ends that deliver flow events rather than
 * frames (eBPF).  Borrowed. */
struct aggregator *sensor_agg(struct sensor *s);

/* Periodic work on the wall clock: heartbeats, SIGUSR1 stats, SIGHUP
 * reload.  Cheap when there is nothing to do; call it every few thousand
 * frames or every poll timeout. */
void sensor_tick(struct sensor *s);

/* Alert records written so far. */
uint64_t sensor_alert_count(const struct sensor *s);

/* Non-zero once SIGINT/SIGTERM arrived or an output failed. */
int sensor_should_stop(const struct sensor *s);

/* Capture-side counters for heartbeats, metrics and the stats summary
 * (pcap_stats drops, ring-buffer losses...).  Replaces the previous
 * values. */
struct sensor_capture_stats {
	const char *mode;          /* "pcap-file", "pcap", "ebpf-tc", "ebpf-xdp" */
	uint64_t drops;            /* frames the capture lost */
	uint64_t if_drops;         /* dropped by the interface/driver */
};
void sensor_set_capture_stats(struct sensor *s, const struct sensor_capture_stats *cs);

/* Capture is attached and outputs are open: tell systemd (Type=notify)
 * and start its watchdog pings from sensor_tick(). */
void sensor_ready(struct sensor *s);

/* Keep main's argument vector (borrowed: it lives as long as the process)
 * so SIGHUP can build the options again: defaults, file, flags. */
void sensor_set_reload_args(struct sensor *s, int argc, char **argv);

/* Install SIGINT/SIGTERM/SIGUSR1/SIGHUP handlers. */
void sensor_signals(void);

/* --check-config: load the catalogs @o names (or the default one) and
 * drop them; 0, or -EINVAL after printing why. */
int sensor_check_catalogs(const struct sensor_options *o);

#endif
