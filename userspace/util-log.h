/* SPDX-License-Identifier: MIT */
/*
 * util-log.h -- the sensor's messages, with levels.  One line each on
 * stderr, "mailtap: " first; under systemd (stderr connected to the
 * journal) each line carries its syslog priority as a "<N>" prefix, which
 * journald turns into the record's priority.  Leaf modules do not log:
 * they return errors that the sensor reports once, here.
 */
#ifndef MAILTAP_UTIL_LOG_H
#define MAILTAP_UTIL_LOG_H

#include <stdbool.h>

/* syslog priorities */
enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Messages above @level are not printed (default LOG_LVL_INFO). */
void log_set_level(int level);

/* "error", "warning", "notice", "info", "debug" -> level, or -1. */
int log_level_parse(const char *name);

/* True when messages of @level are printed. */
bool log_enabled(int level);

/* Print one message ("mailtap: " and, under journald, "<N>" in front; a
 * newline after).  Safe to call from any thread: one write per line. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)

#endif
