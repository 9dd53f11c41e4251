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

struct session_json_opts {
	uint16_t community_id_seed;  /* Community ID v1 seed (default 0) */
};

/* Returns a new reference (caller json_decref()s) or NULL on ENOMEM.
 * @opts may be NULL for the defaults. */
json_t *session_to_json(const struct session *s, const struct session_json_opts *opts);

/* An alert record (schema in docs/alerts.md).  @sensor names this sensor.
 * Returns a new reference or NULL. */
json_t *alert_to_json(const struct score_alert *a, const char *sensor);

/* Serialise compactly, keys in insertion order, with a trailing newline.
 * Returns a malloc'd string the caller free()s, or NULL; *len gets the
 * length. */
char *json_to_line(const json_t *obj, size_t *len);

#endif
