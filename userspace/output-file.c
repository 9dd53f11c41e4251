/* SPDX-License-Identifier: MIT */
/* output-file.c -- JSON-lines sink to stdout or a file.  See output-file.h. */
#include "output-file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out_file {
	FILE *fp;
	int is_stdout;
	int err;               /* first -errno seen */
	unsigned long long count;
	char dest[256];
};

struct out_file *out_file_open(const char *dest, char *err, size_t errlen)
{
	struct out_file *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(o->dest, sizeof(o->dest), "%s", dest);
	if (!strcmp(dest, "-")) {
		o->fp = stdout;
		o->is_stdout = 1;
	} else {
		o->fp = fopen(dest, "a");
		if (!o->fp) {
			snprintf(err, errlen, "cannot open '%s': %s", dest, strerror(errno));
			free(o);
			return NULL;
		}
	}
	return o;
}

int out_file_write(struct out_file *o, const char *line, size_t len)
{
	if (fwrite(line, 1, len, o->fp) != len) {
		if (!o->err)
			o->err = -(errno ? errno : EIO);
		return o->err;
	}
	o->count++;
	return 0;
}

int out_file_close(struct out_file *o, char *err, size_t errlen)
{
	int rc;
	if (!o)
		return 0;
	if (fflush(o->fp) != 0 && !o->err)
		o->err = -(errno ? errno : EIO);
	if (!o->is_stdout && fclose(o->fp) != 0 && !o->err)
		o->err = -(errno ? errno : EIO);
	rc = o->err;
	if (rc)
		snprintf(err, errlen, "cannot write '%s': %s", o->dest, strerror(-rc));
	free(o);
	return rc;
}

unsigned long long out_file_count(const struct out_file *o)
{
	return o->count;
}
