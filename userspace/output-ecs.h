/* SPDX-License-Identifier: MIT */
/*
 * output-ecs.h -- session and alert records in the Elastic Common Schema
 * (`--format ecs`, ECS 9.x): every field outside the `mailtap` object is
 * an ECS field of its ECS type, so Elasticsearch and the SIEMs that speak
 * ECS index the records without an ingest pipeline.  The mapping is in
 * docs/formats.md; keep the two in step.
 */
#ifndef MAILTAP_OUTPUT_ECS_H
#define MAILTAP_OUTPUT_ECS_H

#include "output-json.h"

#define ECS_VERSION "9.0.0"  /* ecs.version: the oldest ECS with every field used */

/* New references, or NULL on ENOMEM.  Borrowed arguments. */
json_t *session_to_ecs(const struct session *s, const struct session_json_opts *opts);
json_t *alert_to_ecs(const struct score_alert *a, const char *sensor);

#endif
