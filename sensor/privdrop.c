/* SPDX-License-Identifier: MIT */
/*
 * privdrop.c -- switch to an unprivileged user and keep only the
 * capabilities still needed after start-up.  See privdrop.h and
 * docs/privileges.md.
 *
 * Capabilities through libcap.  State-setting calls go through libcap
 * (cap_set_proc, cap_prctlw), so a program linked with libpsx
 * (-lpsx -Wl,-wrap,pthread_create) changes every thread, not only the
 * calling one.
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/bpf.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define MAX_CAPS 64

struct capset {
	bool c[MAX_CAPS];
};

static const char *cap_label(int c)
{
	switch (c) {
	case CAP_NET_ADMIN: return "cap_net_admin";
	case CAP_NET_RAW: return "cap_net_raw";
	case CAP_BPF: return "cap_bpf";
	case CAP_SETPCAP: return "cap_setpcap";
	default: return NULL;
	}
}

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -(e ? e : EIO);
}

static int ncaps(void)
{
	int n = (int)cap_max_bits();
	if (n <= 0 || n > MAX_CAPS)
		n = n <= 0 ? CAP_LAST_CAP + 1 : MAX_CAPS;
	return n;
}

static int prctlw(long cmd, long a1, long a2, long a3, long a4)
{
	return cap_prctlw(cmd, a1, a2, a3, a4, 0);
}

/* The process's permitted set. */
static int get_permitted(struct capset *p)
{
	cap_t cur = cap_get_proc();
	int n = ncaps();

	memset(p, 0, sizeof(*p));
	if (!cur)
		return -errno;
	for (int c = 0; c < n; c++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(cur, (cap_value_t)c, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			p->c[c] = true;
	}
	cap_free(cur);
	return 0;
}

/* effective = @eff, permitted = @prm, inheritable empty. */
static int set_caps(const struct capset *eff, const struct capset *prm)
{
	cap_t t = cap_init();
	int n = ncaps(), r, e;

	if (!t)
		return -errno;
	for (int c = 0; c < n; c++) {
		cap_value_t v = (cap_value_t)c;
		if (prm->c[c] && cap_set_flag(t, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
			goto bad;
		if (eff->c[c] && cap_set_flag(t, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
			goto bad;
	}
	r = cap_set_proc(t);
	e = errno;
	cap_free(t);
	return r < 0 ? -e : 0;
bad:
	e = errno;
	cap_free(t);
	return -e;
}

/*
 * Does a bpf() command on an existing fd need CAP_BPF on this kernel?
 * Before 6.5, with kernel.unprivileged_bpf_disabled set, __sys_bpf()
 * refused every command to a caller without CAP_BPF/CAP_SYS_ADMIN;
 * since then only map and program creation check.  Ask with an invalid
 * fd while neither is in the effective set: EPERM = needed, EBADF = not.
 */
static bool bpf_fd_commands_need_cap(void)
{
	union bpf_attr a;
	long r;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)-1;
	r = syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	if (r >= 0)
		return false;
	/* EPERM/EACCES (the check, or an LSM): keep it to be safe */
	return errno == EPERM || errno == EACCES;
}

static void summary_caps(char *buf, size_t len, const struct capset *keep,
			 const struct capset *missing)
{
	size_t o = 0;
	bool any = false;

	buf[0] = 0;
	for (int c = 0; c < MAX_CAPS && o < len; c++)
		if (keep->c[c]) {
			o += (size_t)snprintf(buf + o, len - o, "%s%s", any ? ", " : "",
					      cap_label(c) ? cap_label(c) : "?");
			any = true;
		}
	if (!any && o < len)
		o += (size_t)snprintf(buf + o, len - o, "none");
	any = false;
	for (int c = 0; c < MAX_CAPS && o < len; c++)
		if (missing->c[c]) {
			o += (size_t)snprintf(buf + o, len - o, "%s%s", any ? ", " : " (not available: ",
					      cap_label(c) ? cap_label(c) : "?");
			any = true;
		}
	if (any && o < len)
		snprintf(buf + o, len - o, ")");
}

/* Everything gone, as far as it goes: after a failure past setresuid(). */
static void drop_everything(void)
{
	struct capset none, setpcap;
	int n = ncaps();

	memset(&none, 0, sizeof(none));
	memset(&setpcap, 0, sizeof(setpcap));
	setpcap.c[CAP_SETPCAP] = true;
	if (set_caps(&setpcap, &setpcap) == 0)
		for (int c = 0; c < n; c++)
			prctlw(PR_CAPBSET_DROP, c, 0, 0, 0);
	set_caps(&none, &none);
	prctlw(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	prctlw(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/*
 * Reduce the capabilities to what @need requires (and the process has):
 * bounding set, ambient, inheritable, permitted, effective; then
 * no_new_privs; then check.  @caps gets the summary.
 */
static int reduce_caps(enum privdrop_need need, char *caps, size_t capslen, char *err,
		       size_t errlen)
{
	struct capset prm, keep, missing, eff;
	int n = ncaps(), r;
	bool setpcap;

	r = get_permitted(&prm);
	if (r < 0)
		return fail(err, errlen, -r, "cap_get_proc: %s", strerror(-r));
	setpcap = prm.c[CAP_SETPCAP];
	memset(&keep, 0, sizeof(keep));
	memset(&missing, 0, sizeof(missing));
	/* nothing effective (but CAP_SETPCAP, for the bounding set) while we
	 * probe and trim; the permitted set is kept until the end */
	memset(&eff, 0, sizeof(eff));
	eff.c[CAP_SETPCAP] = setpcap;
	r = set_caps(&eff, &prm);
	if (r < 0)
		return fail(err, errlen, -r, "capset (lowering the effective set): %s", strerror(-r));
	if (need == PRIVDROP_NEED_BPF) {
		/* detach TC filters / clsact qdisc / XDP over netlink at exit */
		keep.c[CAP_NET_ADMIN] = true;
		/* map updates, flow-map reads and deletes, counters */
		if (bpf_fd_commands_need_cap())
			keep.c[CAP_BPF] = true;
	}
	for (int c = 0; c < MAX_CAPS; c++)
		if (keep.c[c] && !prm.c[c]) {
			keep.c[c] = false;
			missing.c[c] = true;
		}
	if (setpcap)
		for (int c = 0; c < n; c++) {
			if (keep.c[c])
				continue;
			/* EINVAL: a capability this kernel does not know */
			if (prctlw(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				return fail(err, errlen, errno, "prctl(PR_CAPBSET_DROP, %d): %s", c,
					    strerror(errno));
		}
	/* EINVAL: a kernel before 4.3 has no ambient set */
	if (prctlw(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(err, errlen, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
	r = set_caps(&keep, &keep);
	if (r < 0)
		return fail(err, errlen, -r, "capset: %s", strerror(-r));
	if (prctlw(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));

	/* check: exactly @keep, nothing inheritable */
	{
		cap_t cur = cap_get_proc();
		if (!cur)
			return fail(err, errlen, errno, "cap_get_proc: %s", strerror(errno));
		for (int c = 0; c < n; c++) {
			cap_flag_value_t e = CAP_CLEAR, p = CAP_CLEAR, i = CAP_CLEAR;
			cap_get_flag(cur, (cap_value_t)c, CAP_EFFECTIVE, &e);
			cap_get_flag(cur, (cap_value_t)c, CAP_PERMITTED, &p);
			cap_get_flag(cur, (cap_value_t)c, CAP_INHERITABLE, &i);
			if ((e == CAP_SET) != keep.c[c] || (p == CAP_SET) != keep.c[c] || i == CAP_SET) {
				cap_free(cur);
				return fail(err, errlen, EPERM,
					    "capability %d still set after the drop", c);
			}
		}
		cap_free(cur);
	}
	summary_caps(caps, capslen, &keep, &missing);
	return 0;
}

static struct passwd *lookup_user(const char *user, struct passwd *pw, char **buf, int *e)
{
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	struct passwd *res = NULL;

	if (sz < 4096)
		sz = 4096;
	for (;;) {
		*buf = malloc((size_t)sz);
		if (!*buf) {
			*e = ENOMEM;
			return NULL;
		}
		*e = getpwnam_r(user, pw, *buf, (size_t)sz, &res);
		if (*e != ERANGE || sz > (1L << 20))
			break;
		free(*buf);
		*buf = NULL;
		sz *= 4;
	}
	if (!res && !*e)
		*e = ENOENT;
	return res;
}

const char *privdrop_need_name(enum privdrop_need need)
{
	switch (need) {
	case PRIVDROP_NEED_NONE: return "none";
	case PRIVDROP_NEED_BPF: return "bpf";
	}
	return "?";
}

/* Root: groups, gid, uid, then the capabilities. */
static int drop_root(const struct passwd *pw, enum privdrop_need need, char *err, size_t errlen)
{
	gid_t *groups = NULL, rg, eg, sg;
	int ngroups, r, e;
	uid_t u = pw->pw_uid;
	gid_t g = pw->pw_gid;
	char caps[256];

	/* what to put back if we fail before the point of no return */
	ngroups = getgroups(0, NULL);
	if (ngroups < 0 || getresgid(&rg, &eg, &sg) < 0)
		return fail(err, errlen, errno, "getgroups: %s", strerror(errno));
	groups = calloc((size_t)ngroups + 1, sizeof(*groups));
	if (!groups)
		return fail(err, errlen, ENOMEM, "out of memory");
	ngroups = getgroups(ngroups, groups);
	if (ngroups < 0) {
		e = errno;
		free(groups);
		return fail(err, errlen, e, "getgroups: %s", strerror(e));
	}
	if (prctlw(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		e = errno;
		free(groups);
		return fail(err, errlen, e, "prctl(PR_SET_KEEPCAPS): %s", strerror(e));
	}
	if (initgroups(pw->pw_name, g) < 0) {
		e = errno;
		r = fail(err, errlen, e, "initgroups(%s, %u): %s", pw->pw_name, (unsigned)g, strerror(e));
		goto undo_keepcaps;
	}
	if (setresgid(g, g, g) < 0) {
		e = errno;
		r = fail(err, errlen, e, "setresgid(%u): %s", (unsigned)g, strerror(e));
		goto undo_groups;
	}
	if (setresuid(u, u, u) < 0) {
		e = errno;
		r = fail(err, errlen, e, "setresuid(%u): %s", (unsigned)u, strerror(e));
		goto undo_gid;
	}
	free(groups);
	/* point of no return: from here a failure drops everything */
	prctlw(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	r = reduce_caps(need, caps, sizeof(caps), err, errlen);
	if (r < 0) {
		drop_everything();
		return r;
	}
	{
		uid_t ru, eu, su;
		if (getresuid(&ru, &eu, &su) < 0 || ru != u || eu != u || su != u ||
		    getresgid(&rg, &eg, &sg) < 0 || rg != g || eg != g || sg != g) {
			drop_everything();
			return fail(err, errlen, EPERM, "uid/gid not what was set after the drop");
		}
		/* no way back to root */
		if (setresuid(0, 0, 0) == 0 || setegid(0) == 0) {
			drop_everything();
			return fail(err, errlen, EPERM, "root could be regained after the drop");
		}
	}
	snprintf(err, errlen, "running as %s (uid %u, gid %u), capabilities: %s", pw->pw_name,
		 (unsigned)u, (unsigned)g, caps);
	return 0;

undo_gid:
	setresgid(rg, eg, sg);
undo_groups:
	setgroups((size_t)ngroups, groups);
undo_keepcaps:
	prctlw(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	free(groups);
	return r;
}

int privdrop_apply(const char *user, enum privdrop_need need, char *err, size_t errlen)
{
	struct passwd pwbuf, *pw = NULL;
	char *buf = NULL, caps[256];
	int r, e = 0;

	if (err && errlen)
		err[0] = 0;
	if (need != PRIVDROP_NEED_NONE && need != PRIVDROP_NEED_BPF)
		return fail(err, errlen, EINVAL, "unknown privilege need %d", (int)need);
	if (user && !*user)
		user = NULL;
	if (!user && geteuid() == 0)
		return 0; /* root and no user: stay as we are */
	if (user) {
		pw = lookup_user(user, &pwbuf, &buf, &e);
		if (!pw) {
			free(buf);
			if (e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
				return fail(err, errlen, ENOENT, "user '%s' does not exist", user);
			return fail(err, errlen, e, "user '%s': cannot look it up: %s", user, strerror(e));
		}
		if (pw->pw_uid == 0) {
			free(buf);
			return fail(err, errlen, EINVAL,
				    "user '%s' is root (uid 0): name an unprivileged user", user);
		}
		if (geteuid() == 0) {
			r = drop_root(pw, need, err, errlen);
			free(buf);
			return r;
		}
		if (pw->pw_uid != geteuid() || pw->pw_uid != getuid()) {
			r = fail(err, errlen, EPERM, "cannot switch to user '%s': not running as root "
				 "(uid %u)", user, (unsigned)geteuid());
			free(buf);
			return r;
		}
		free(buf); /* already that user: only the capabilities */
	}
	r = reduce_caps(need, caps, sizeof(caps), err, errlen);
	if (r < 0) {
		drop_everything();
		return r;
	}
	snprintf(err, errlen, "running as uid %u, capabilities: %s", (unsigned)geteuid(), caps);
	return 0;
}
