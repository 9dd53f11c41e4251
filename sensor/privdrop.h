/* SPDX-License-Identifier: MIT */
/*
 * privdrop.h -- give up root after start-up: switch to the configured
 * user (--user NAME / sensor.user) and keep only the capabilities the
 * running capture still needs.  See docs/privileges.md.
 *
 * Call it once, after the capture is open/attached and the outputs, the
 * state file and the metrics socket are open, before reading any packet
 * (mailtap: at sensor_ready()).  Single-threaded callers get exactly what
 * is described below; for threads started before the call see
 * docs/privileges.md ("Threads").
 */
#ifndef MAILTAP_PRIVDROP_H
#define MAILTAP_PRIVDROP_H

#include <stddef.h>

/* What the process still has to do with privileges after start-up. */
enum privdrop_need {
	/* pcap replay, and live libpcap once the handles are activated:
	 * nothing.  Reading an open AF_PACKET socket, changing its filter
	 * (SO_ATTACH_FILTER) and closing it need no capability. */
	PRIVDROP_NEED_NONE = 0,
	/* live eBPF (TC/XDP): CAP_NET_ADMIN, to detach the programs and remove
	 * the clsact qdisc at exit (netlink); plus CAP_BPF only on kernels
	 * where every bpf() command needs it (before 6.5 with
	 * kernel.unprivileged_bpf_disabled set, e.g. Debian 12's 6.1): map
	 * updates (learned addresses, prefixes after SIGHUP), flow-map reads
	 * and deletes, counters.  Found by a probe at the time of the drop.
	 * The ring buffer (mmap + epoll) needs nothing; CAP_PERFMON is only
	 * for loading the programs and is dropped. */
	PRIVDROP_NEED_BPF = 1,
};

/*
 * Drop privileges.
 *
 *  - Running as root (euid 0) with @user set: resolve @user (getpwnam) and
 *    its primary group; set the supplementary groups to the user's
 *    (initgroups); PR_SET_KEEPCAPS; setresgid, setresuid (real, effective
 *    and saved); then permitted = effective = the needed set, inheritable
 *    and ambient empty; every other capability dropped from the bounding
 *    set; PR_SET_NO_NEW_PRIVS.  Checks at the end that root cannot be
 *    regained and that the sets are exactly the needed ones.
 *  - Not root, @user NULL or "" (or naming the current uid): no switch;
 *    the capabilities are reduced to the needed ones (those of them the
 *    process has), ambient and inheritable emptied, the bounding set
 *    trimmed when CAP_SETPCAP allows it, PR_SET_NO_NEW_PRIVS.  This is the
 *    systemd case (DynamicUser= + AmbientCapabilities=).
 *  - Root with @user NULL or "": nothing is changed (returns 0, empty
 *    message): mailtap keeps running as root as it did before --user.
 *
 * Returns 0 on success, with a one-line summary in @err ("running as
 * nobody (uid 65534, gid 65534), capabilities: cap_net_admin"; empty when
 * nothing was done).  On failure returns a negative errno with one line in
 * @err (no "mailtap:" prefix):
 *   -ENOENT   the user does not exist         "user 'X' does not exist"
 *   -EINVAL   the user is root (uid 0), or a bad @need
 *   -EPERM    not root and @user is another user
 *   -ENOSYS   built without libcap on the link line
 *   other     the failing system call's errno, named in the message
 *
 * Never half-dropped: a failure before setresuid() restores the groups
 * and gid it changed (the process is as before); a failure after it
 * clears every capability and the bounding set as far as possible (the
 * process is fully unprivileged; in eBPF mode the programs then cannot be
 * detached: mailtap-bpfdump --cleanup).  Either way the caller must not
 * go on capturing: it stops and exits with status 2 (configuration
 * error).
 */
int privdrop_apply(const char *user, enum privdrop_need need, char *err, size_t errlen);

/* "none" / "bpf" */
const char *privdrop_need_name(enum privdrop_need need);

#endif
