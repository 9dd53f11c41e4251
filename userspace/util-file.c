/* SPDX-License-Identifier: MIT */
/* util-file.c -- atomic file replacement.  See util-file.h. */
#include "util-file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sync_dir(const char *path)
{
	char buf[PATH_MAX];
	int fd;
	snprintf(buf, sizeof(buf), "%s", path);
	fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd); /* best effort: the rename is already visible */
		close(fd);
	}
}

int file_write_atomic(const char *path, file_fill_fn *fill, void *arg, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	struct stat st;
	FILE *fp;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write next to '%s': %s", path, strerror(-rc));
		return rc;
	}
	if (stat(path, &st) == 0)
		(void)fchmod(fd, st.st_mode & 07777);
	fp = fdopen(fd, "w");
	if (!fp) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(-rc));
		return rc;
	}
	errno = 0;
	rc = fill(fp, arg);
	if (rc == 0 && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
		rc = -(errno ? errno : EIO);
	if (fclose(fp) != 0 && rc == 0)
		rc = -(errno ? errno : EIO);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		snprintf(err, errlen, "cannot replace '%s': %s", path, strerror(-rc));
		return rc;
	}
	sync_dir(path);
	return 0;
}
