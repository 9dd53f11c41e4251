/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- a fixed-capacity metric registry and the HTTP endpoint that
 * serves it in the Prometheus text exposition format 0.0.4.
 *
 * The sensor registers metric families once (name, help, counter or gauge,
 * up to METRICS_MAX_LABELS label names), then sets or adds sample values by
 * family name and label values, or through a sample handle on hot paths.
 * Samples are created on first use and never removed; the registry holds at
 * most METRICS_MAX_FAMILIES families and METRICS_MAX_SAMPLES samples.  An
 * update that cannot be honoured (registry full, unknown family, wrong label
 * count, label text too long) returns -errno and is counted in the
 * registry's own counter mailtap_metrics_refused_total.
 *
 * Thread safety: one mutex guards the registry.  Updates hold it while the
 * label text is formatted and for one hash probe (handle updates: for one
 * add); metrics_render() holds it only to copy the values (a memcpy of at
 * most METRICS_MAX_SAMPLES 16-byte slots), then formats without it, so a
 * scrape never stalls the packet thread.
 * Family and sample metadata are immutable once created.
 *
 * The server (libmicrohttpd, one internal polling thread) answers
 * GET/HEAD /metrics with 200 and the rendered text, 404 for any other path,
 * 405 for any other method.  It binds to 127.0.0.1 unless told otherwise.
 * Spec: https://prometheus.io/docs/instrumenting/exposition_formats/
 */
#ifndef MAILTAP_METRICS_H
#define MAILTAP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_FAMILIES   64
#define METRICS_MAX_SAMPLES    512
#define METRICS_MAX_LABELS     4
#define METRICS_NAME_MAX       63    /* metric and label names, bytes */
#define METRICS_HELP_MAX       255
#define METRICS_LABELS_MAX     255   /* one sample's rendered label text:
                                      * name="escaped value",... */
#define METRICS_DEFAULT_BIND   "127.0.0.1"
#define METRICS_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,     /* name must end in _total */
	METRICS_GAUGE,
};

struct metrics;
struct metrics_server;

/* Returns a new registry (holding only mailtap_metrics_refused_total), or
 * NULL with errno set.  Caller frees with metrics_free(), after stopping any
 * server that serves it. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Registers a family.  @label_names is NULL-terminated (NULL for none) and
 * copied.  A family without labels gets its single sample, value 0, at once,
 * so it is exported before the first update; a labelled family is exported
 * from its first sample on.  Returns 0; -EEXIST if the name is taken with a
 * different type or labels (0 if identical); -EINVAL for an invalid name,
 * a counter not named *_total, or a bad label name; -ENOSPC when full.
 */
int metrics_family_add(struct metrics *m, const char *name, enum metrics_type type,
		       const char *help, const char *const *label_names);

/*
 * Updates the sample of family @name with label values @values (an array of
 * as many strings as the family has labels, in the registered order; NULL
 * for a family without labels), creating it at 0 if missing.  Label values
 * are borrowed for the call and should be UTF-8.  Return 0, or -ENOENT (no
 * such family), -EINVAL (missing value), -ENAMETOOLONG (label text over
 * METRICS_LABELS_MAX), -ENOSPC (METRICS_MAX_SAMPLES reached); each refusal is
 * counted.  add on a double sample adds in double; set replaces value and
 * kind.
 */
int metrics_set_u64(struct metrics *m, const char *name, const char *const *values, uint64_t v);
int metrics_add_u64(struct metrics *m, const char *name, const char *const *values, uint64_t v);
int metrics_set_double(struct metrics *m, const char *name, const char *const *values, double v);

/* Returns a handle (>= 0) on the sample, created at 0 if missing, for the
 * O(1) updates below, or -errno as metrics_set_u64().  Handles stay valid
 * for the registry's life.  An invalid handle is counted as refused. */
int metrics_sample(struct metrics *m, const char *name, const char *const *values);
void metrics_sample_set_u64(struct metrics *m, int handle, uint64_t v);
void metrics_sample_add_u64(struct metrics *m, int handle, uint64_t v);
void metrics_sample_set_double(struct metrics *m, int handle, double v);

/* Registers the gauge mailtap_build_info{version="@version"} and sets it to 1.
 * Returns 0 or -errno as above. */
int metrics_build_info(struct metrics *m, const char *version);

/* Registers every family the sensor exports (docs/metrics.md), including
 * mailtap_build_info (without a sample: call metrics_build_info()).
 * Returns 0 or the first -errno. */
int metrics_add_mailtap_families(struct metrics *m);

/* Updates refused so far (the value of mailtap_metrics_refused_total). */
uint64_t metrics_refused(struct metrics *m);

/*
 * Renders the registry in the text format 0.0.4: families sorted by name,
 * each with "# HELP" and "# TYPE" and its samples sorted by label text.
 * Returns a new NUL-terminated string (caller frees with free()) and its
 * length in *@len (may be NULL), or NULL with errno set.
 */
char *metrics_render(struct metrics *m, size_t *len);

/*
 * Starts serving @m on @bind_addr (numeric IPv4 or IPv6 address; NULL or ""
 * means METRICS_DEFAULT_BIND) and @port (0 picks a free port; see
 * metrics_server_port()).  @m is borrowed and must outlive the server.
 * Returns a new server (stop with metrics_server_stop()), or NULL with errno
 * set and a message in @err such as
 * "cannot bind metrics endpoint to 127.0.0.1:9464: Address already in use".
 */
struct metrics_server *metrics_server_start(struct metrics *m, const char *bind_addr,
					    uint16_t port, char *err, size_t errlen);
/* The port actually bound. */
uint16_t metrics_server_port(const struct metrics_server *s);
/* Stops the server thread, closes the socket and frees @s.  NULL is a no-op. */
void metrics_server_stop(struct metrics_server *s);

#endif
