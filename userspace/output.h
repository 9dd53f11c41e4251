/* SPDX-License-Identifier: MIT */
/*
 * output.h -- record sinks behind one interface.  A destination string
 * picks the kind: "-" (stdout) or a path is a JSON-lines file
 * (output-file.c); "redis://..." or "unix:..." is a Redis sink
 * (output-redis.c, docs/redis.md).  Callers hand each sink complete JSON
 * lines; a sink never blocks the packet path on the network and keeps its
 * own error and counters, reported once by the caller.
 */
#ifndef MAILTAP_OUTPUT_H
#define MAILTAP_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct out_sink;

/* What a sink needs beyond its destination string. */
struct out_sink_config {
	const char *kind;       /* "sessions" or "alerts": names the default key
	                         * ("mailtap:<kind>") and the spool subfolder */
	const char *spool_dir;  /* where undeliverable records wait; NULL = the
	                         * default of the sink */
	const char *sensor_id;  /* this sensor's name, for heartbeats */
	const char *redis_password; /* Redis AUTH password, NULL = none; borrowed
	                         * for out_sink_open (the sink keeps its own
	                         * copy and wipes it at close) */
};

struct out_sink_stats {
	uint64_t written;       /* records accepted by out_sink_write */
	uint64_t delivered;     /* records confirmed at the destination */
	uint64_t spooled;       /* records written to the spool */
	uint64_t spool_depth;   /* records waiting in the spool now */
	uint64_t retried, dropped;
	uint64_t queue_full;    /* of dropped: the in-memory queue was full (the
	                         * writer never waits for the spool or the network) */
};

/* What the main loop knows about the sensor, for the heartbeat of sinks
 * that have one (Redis: hash mailtap:sensor:<sensor_id>).  Strings are
 * borrowed for the call. */
struct out_health {
	const char *version;        /* MAILTAP_VERSION */
	const char *capture_mode;   /* "pcap", "bpf", ... */
	uint64_t start_time_ns;     /* wall clock at start, ns since the epoch */
	uint64_t last_packet_ns;    /* packet time of the last packet, 0 = none */
	uint64_t packets, drops;    /* read, lost by the capture */
	uint64_t flows;             /* active flows */
	uint64_t alerts;            /* alert records written */
	unsigned interval_s;        /* seconds between heartbeat calls; the
	                             * hash expires after 3 of them (0 = 10) */
	const char *state;          /* "running", or "stopped" for the last
	                             * one at exit (NULL = "running") */
};

/* Open a sink.  Returns a new handle (close with out_sink_close) or NULL
 * with a one-line message in err. */
struct out_sink *out_sink_open(const char *dest, const struct out_sink_config *cfg,
			       char *err, size_t errlen);

/* Hand one newline-terminated JSON record to the sink (copied).  @id is the
 * record's stable id (alert_id, or flow id + sequence) for consumers that
 * de-duplicate; may be NULL.  0 or -errno. */
int out_sink_write(struct out_sink *s, const char *id, const char *line, size_t len);

/* Flush what can be flushed and close; 0 or -errno with a message in err.
 * NULL is a no-op. */
int out_sink_close(struct out_sink *s, char *err, size_t errlen);

/* Record the sensor's health; the sink publishes it with its own state
 * (spool depth, connection) from its delivery thread.  Never blocks on
 * the network.  A no-op returning 0 for file sinks; NULL is a no-op. */
int out_sink_heartbeat(struct out_sink *s, const struct out_health *h);

void out_sink_get_stats(const struct out_sink *s, struct out_sink_stats *out);

/* The destination string the sink was opened with (for messages). */
const char *out_sink_dest(const struct out_sink *s);

#endif
