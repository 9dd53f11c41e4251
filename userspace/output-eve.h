/* SPDX-License-Identifier: MIT */
/*
 * output-eve.h -- session and alert records as Suricata EVE JSON
 * (`--format eve`), so a SIEM that reads Suricata's eve.json reads
 * mailtap's records unchanged.  Field names and types follow Suricata's
 * EVE schema (etc/schema.json); what EVE has no field for goes under one
 * extension object, `mailtap`.  The mapping is in docs/formats.md; keep
 * the two in step.
 */
#ifndef MAILTAP_OUTPUT_EVE_H
#define MAILTAP_OUTPUT_EVE_H

#include <stdint.h>

#include "output-json.h"

/* The first signature id of mailtap's range, and its size: SID
 * EVE_SID_BASE + 1 + enum score_signal, stable per alert kind. */
#define EVE_SID_BASE 9000000
#define EVE_SID_RANGE 100

/* Suricata-like time: "2026-03-04T10:03:06.830992+0000" (UTC). */
#define EVE_TIME_LEN 40
const char *eve_time_format(uint64_t ns, char *buf, size_t len);

/* The stable 64-bit flow id of @f: a hash of the flow key (VLAN ids,
 * tunnel id, protocol, client and server endpoints) and the flow's start
 * time, the same on every replay and across restarts; below 2^53 so that
 * consumers reading JSON numbers as doubles keep it exact.  Never 0. */
uint64_t eve_flow_id(const struct flow *f);

/* The rule behind an alert kind, shared with the ECS output. */
struct eve_signature {
	uint32_t sid;            /* EVE alert.signature_id, ECS rule.id */
	const char *signature;   /* "MAILTAP bulk_download: ..." */
	const char *category;    /* a Suricata classification */
};
const struct eve_signature *eve_signature(enum score_signal kind);

/* Severity 1 (critical, high), 2 (medium) or 3 (low and anything else). */
int eve_severity(const char *severity);

/* New references, or NULL on ENOMEM.  Borrowed arguments. */
json_t *session_to_eve(const struct session *s, const struct session_json_opts *opts);
json_t *alert_to_eve(const struct score_alert *a, const char *sensor);

#endif
