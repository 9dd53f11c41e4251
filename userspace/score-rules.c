/* SPDX-License-Identifier: MIT */
/* score-rules.c -- default weights and severities.  See score-rules.h.
 *
 * The weights are chosen so that no lone weak signal reaches the default
 * alert threshold (50): a new client (35) and off-hours activity (45)
 * alert only together with another signal, while a strong bulk transfer
 * (80 at full strength) alerts on its own once it is well past the host's
 * and its peers' usual volume, and so does a strong beacon (70: regular
 * for hours, rare among peers, more than a tiny poll per connection).
 */
#include "score-rules.h"

#include <string.h>

const struct score_rule score_rules[SIG_COUNT] = {
	{ SIG_BULK_DOWNLOAD, "bulk_download", 80,
	  "far more data from the provider than this host and its peers usually pull" },
	{ SIG_BULK_UPLOAD, "bulk_upload", 80,
	  "far more data to the provider than this host and its peers usually push" },
	{ SIG_BEACONING, "beaconing", 70,
	  "connections at near-constant intervals for hours, a pattern rare among peers" },
	{ SIG_OFF_HOURS, "off_hours", 45,
	  "meaningful mail volume outside the site's working hours" },
	{ SIG_NEW_CLIENT, "new_client", 35,
	  "a host, or a TLS client fingerprint on a host, not seen with this provider while learning" },
};

const char *score_severity(double score)
{
	if (score >= 85)
		return "critical";
	if (score >= 65)
		return "high";
	if (score >= 40)
		return "medium";
	return "low";
}

int score_signal_by_name(const char *name)
{
	for (int i = 0; i < SIG_COUNT; i++)
		if (!strcmp(score_rules[i].name, name))
			return i;
	return -1;
}
