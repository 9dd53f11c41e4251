/* SPDX-License-Identifier: MIT */
/*
 * explain.h -- `mailtap --explain HOST`: print, for every evaluation of
 * HOST's mail records, each signal's value, baseline, peer level,
 * strength and the gate that held it back, then the score and what came
 * of it (alert, revision, suppressed, below threshold, not scored).
 * The text format is documented in docs/detection.md ("Why, and why not").
 */
#ifndef MAILTAP_EXPLAIN_H
#define MAILTAP_EXPLAIN_H

#include <stdio.h>

#include "score.h"

/* Parse @host and attach a printer writing to @out (borrowed, must outlive
 * the engine's use) to @e.  Returns 0 or -EINVAL for a bad address. */
int explain_attach(struct score_engine *e, const char *host, FILE *out);

/* Print the closing line (evaluations seen, alerts, learning end). */
void explain_finish(const struct score_engine *e);

#endif
