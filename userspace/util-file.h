/* SPDX-License-Identifier: MIT */
/*
 * util-file.h -- replace a file atomically: write a temporary file made
 * with mkstemp() next to it, flush and fsync it, rename() it over the
 * target and fsync the directory, so a reader sees the old file or the
 * new one, never a part, and two writers never share a temporary name.
 */
#ifndef MAILTAP_UTIL_FILE_H
#define MAILTAP_UTIL_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the new contents; returns 0 or a negative errno. */
typedef int file_fill_fn(FILE *fp, void *arg);

/* Replace @path with what @fill writes (mode 0600 unless @path exists, in
 * which case its mode is kept).  Returns 0 or a negative errno, with a
 * sentence naming the file in @err. */
int file_write_atomic(const char *path, file_fill_fn *fill, void *arg, char *err, size_t errlen);

#endif
