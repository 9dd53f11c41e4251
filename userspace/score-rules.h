/* SPDX-License-Identifier: MIT */
/*
 * score-rules.h -- the scoring vocabulary as data: the five signals, their
 * default weights, and the score -> severity table.  score.c measures
 * signals and sums them with these weights; nothing else decides.
 */
#ifndef MAILTAP_SCORE_RULES_H
#define MAILTAP_SCORE_RULES_H

enum score_signal {
	SIG_BULK_DOWNLOAD,
	SIG_BULK_UPLOAD,
	SIG_BEACONING,
	SIG_OFF_HOURS,
	SIG_NEW_CLIENT,
	SIG_COUNT,
};

struct score_rule {
	enum score_signal signal;
	const char *name;       /* the alert `kind` / reason `signal` string */
	double weight;          /* points at full strength (0..100) */
	const char *meaning;    /* one line, for docs and --help */
};

/* Read-only table, indexed by enum score_signal. */
extern const struct score_rule score_rules[SIG_COUNT];

/* "low" < 40 <= "medium" < 65 <= "high" < 85 <= "critical" */
const char *score_severity(double score);

/* Signal by name, or -1. */
int score_signal_by_name(const char *name);

#endif
