/* SPDX-License-Identifier: MIT */
/*
 * output-json.h -- session records as JSON objects (jansson), field names
 * after Suricata's EVE flow records and Zeek's conn.log.  The schema is
 * documented in docs/sessions.md; keep the two in step.
 */
#ifndef MAILTAP_OUTPUT_JSON_H
#define MAILTAP_OUTPUT_JSON_H

#include <jansson.h>

#include "aggregator.h"
#include "score.h"

/* The shape of the records (docs/formats.md); the default is mailtap's
 * own (docs/sessions.md, docs/alerts.md). */
enum output_format {
	OUTPUT_FORMAT_NATIVE,        /* "native" */
	OUTPUT_FORMAT_EVE,           /* "eve": Suricata EVE JSON (output-eve.c) */
	OUTPUT_FORMAT_ECS,           /* "ecs": Elastic Common Schema (output-ecs.c) */
};

struct session_json_opts {
	uint16_t community_id_seed;  /* Community ID v1 seed (default 0) */
	enum output_format format;   /* OUTPUT_FORMAT_NATIVE (0) by default */
	const char *sensor;          /* EVE `host`, ECS `observer.name`; borrowed, may be NULL */
};

/* "native", "eve" or "ecs" into *out: 0, or -EINVAL for another name. */
int output_format_parse(const char *name, enum output_format *out);

/* The stable id of a session record, whatever the format (the native
 * `record_id`, docs/sessions.md) into @buf (64 bytes are enough). */
void session_record_id(const struct session *s, char *buf, size_t len);

/* Returns a new reference (caller json_decref()s) or NULL on ENOMEM.
 * @opts may be NULL for the defaults; opts->format picks the shape. */
json_t *session_to_json(const struct session *s, const struct session_json_opts *opts);

/* An alert record (schema in docs/alerts.md).  @sensor names this sensor.
 * Returns a new reference or NULL. */
json_t *alert_to_json(const struct score_alert *a, const char *sensor);

/* The same alert in opts->format (opts->sensor names this sensor).
 * Returns a new reference or NULL. */
json_t *alert_to_json_opts(const struct score_alert *a, const struct session_json_opts *opts);

/* Pieces of the native records that the other formats carry unchanged
 * in their `mailtap` object (docs/formats.md).  Each returns a new
 * reference or NULL. */
json_t *session_tunnel_json(const struct flow *f);   /* `tunnel`; f->tun_type set */
json_t *alert_window_json(const struct score_alert *a);  /* `window` */
json_t *alert_reasons_json(const struct score_alert *a); /* `reasons` */
json_t *alert_series_json(const struct score_alert *a);  /* `series`; a->series_n > 0 */

/* Members shared by the native, EVE and ECS writers: a time as RFC 3339
 * UTC with microseconds, an address, a string (left out when NULL or ""),
 * an unsigned integer. */
void out_json_set_time(json_t *o, const char *key, uint64_t ns);
void out_json_set_addr(json_t *o, const char *key, const struct net_addr *a);
void out_json_set_str(json_t *o, const char *key, const char *v);
void out_json_set_u64(json_t *o, const char *key, uint64_t v);
json_t *alert_cids_json(const struct score_alert *a);    /* `community_ids` */

/* Serialise compactly, keys in insertion order, with a trailing newline.
 * Returns a malloc'd string the caller free()s, or NULL; *len gets the
 * length. */
char *out_json_line(const json_t *obj, size_t *len);

#endif
