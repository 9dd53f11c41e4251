/* SPDX-License-Identifier: MIT */
/* util-log.c -- leveled messages on stderr / the journal.  See util-log.h. */
#include "util-log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Written once at start-up (log_set_level, the journal check), read-only
 * afterwards. */
static int log_level = LOG_LVL_INFO;
static int log_journal = -1; /* -1 = not checked yet */

void log_set_level(int level)
{
	log_level = level;
}

int log_level_parse(const char *name)
{
	static const struct { const char *name; int level; } names[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARNING },
		{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i].name))
			return names[i].level;
	return -1;
}

bool log_enabled(int level)
{
	return level <= log_level;
}

/* JOURNAL_STREAM=dev:ino names the journal's socket when stderr is it. */
static bool to_journal(void)
{
	if (log_journal < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat sb;
		log_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			      fstat(STDERR_FILENO, &sb) == 0 && (unsigned long long)sb.st_dev == dev &&
			      (unsigned long long)sb.st_ino == ino;
	}
	return log_journal;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	int n = 0;
	va_list ap;

	if (level > log_level)
		return;
	if (to_journal())
		n = snprintf(line, sizeof(line), "<%d>", level);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "mailtap: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write: lines from threads do not interleave */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
