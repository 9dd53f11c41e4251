/* SPDX-License-Identifier: MIT */
/*
 * output-file.h -- a line-oriented record sink writing to stdout ("-") or
 * to a file (appended).  Write errors are kept on the handle and reported
 * once by the caller, hiredis-style.
 */
#ifndef MAILTAP_OUTPUT_FILE_H
#define MAILTAP_OUTPUT_FILE_H

#include <stddef.h>

struct out_file;

/* Open @dest ("-" = stdout).  Returns a new handle (close with
 * out_file_close) or NULL with a message in err. */
struct out_file *out_file_open(const char *dest, char *err, size_t errlen);

/* Write one line (already newline-terminated).  0 or -errno. */
int out_file_write(struct out_file *o, const char *line, size_t len);

/* Flush and close; returns 0 or the first -errno seen on the handle, with
 * a message in err.  NULL is a no-op returning 0. */
int out_file_close(struct out_file *o, char *err, size_t errlen);

/* Records written so far. */
unsigned long long out_file_count(const struct out_file *o);

#endif
