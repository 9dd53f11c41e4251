/* SPDX-License-Identifier: MIT */
/*
 * test-output-redis.c -- the Redis sink's capture side (output-redis.h):
 * with Redis down, out_sink_write and out_sink_get_stats on a "capture"
 * thread make no file-system or network system call at all (a seccomp
 * filter on that thread alone traps write, fsync, open, rename, unlink,
 * connect, ... and counts them), while the delivery thread spools every
 * record, none dropped; and a full memory queue drops and counts
 * (queue_full, also in dropped) instead of waiting.  No server needed:
 * "Redis" is a bound TCP port nothing listens on.
 */
#include "output.h"

#include <errno.h>
#include <glob.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "spool.h"

/* Counted by the SIGSYS handler: calls the capture thread must not make. */
static volatile sig_atomic_t trapped;
static volatile sig_atomic_t trapped_nr;

static void on_sigsys(int sig, siginfo_t *si, void *uc_)
{
	(void)sig;
	trapped++;
	trapped_nr = si->si_syscall;
#if defined(__x86_64__)
	((ucontext_t *)uc_)->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
	((ucontext_t *)uc_)->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#else
	(void)uc_;
#endif
}

/* Trap (on this thread only: no TSYNC) every call that writes a file,
 * changes the file system, syncs or talks to the network. */
static int forbid_io_on_this_thread(void)
{
	static const int nrs[] = {
		SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_fsync, SYS_fdatasync,
		SYS_sync_file_range, SYS_ftruncate, SYS_openat, SYS_rename, SYS_renameat,
		SYS_unlinkat, SYS_mkdirat, SYS_connect, SYS_sendto, SYS_sendmsg,
#ifdef SYS_open
		SYS_open, SYS_creat, SYS_unlink, SYS_mkdir,
#endif
#ifdef SYS_renameat2
		SYS_renameat2,
#endif
	};
	enum { N = sizeof(nrs) / sizeof(nrs[0]) };
	struct sock_filter f[2 + 2 * N + 1];
	struct sock_fprog prog = { .len = 0, .filter = f };
	size_t k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < N; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)k;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* A loopback port where nothing listens (bound, never listen()ed, so
 * nobody else gets it while the test runs): connecting is refused. */
static int dead_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	return ntohs(a.sin_port);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

#define N_RECORDS 20000

struct capture_arg {
	struct out_sink *sink;
	int filter_rc;
	int write_errors;
	uint64_t last_written;
};

static void *capture_thread(void *arg_)
{
	struct capture_arg *a = arg_;
	char line[160], id[32];

	a->filter_rc = forbid_io_on_this_thread();
	if (a->filter_rc < 0)
		return NULL;
	for (int i = 1; i <= N_RECORDS; i++) {
		int n = snprintf(line, sizeof(line), "{\"event_type\":\"alert\",\"record_id\":\"r%06d\"}\n", i);
		snprintf(id, sizeof(id), "r%06d", i);
		if (out_sink_write(a->sink, id, line, (size_t)n) < 0)
			a->write_errors++;
		if (i % 1000 == 0) {
			/* the main loop reads the counters for metrics, too */
			struct out_sink_stats st;
			out_sink_get_stats(a->sink, &st);
			a->last_written = st.written;
		}
	}
	return NULL;
}

static void test_output_redis__capture_thread_no_io_when_down(void)
{
	char dir[] = "/tmp/mailtap-test-redis-XXXXXX", dest[512], err[512], sub[600], cmd[700];
	struct out_sink_config cfg = { .kind = "alerts", .sensor_id = "t" };
	struct sigaction sa = { 0 };
	struct capture_arg a = { 0 };
	struct out_sink_stats st = { 0 };
	struct spool_config sc = { 0 };
	struct spool_stats ss = { 0 };
	struct spool *sp;
	pthread_t th;
	int fd, port;

	port = dead_port(&fd);
	CHECK(port > 0);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(dest, sizeof(dest), "redis://127.0.0.1:%d?spool=%s&flush_ms=10&timeout_ms=200"
		 "&backoff_max_ms=200&close_ms=100", port, dir);
	a.sink = out_sink_open(dest, &cfg, err, sizeof(err));
	CHECK(a.sink != NULL);
	if (!a.sink) {
		fprintf(stderr, "  open: %s\n", err);
		return;
	}
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
	trapped = 0;

	CHECK_EQ_I(pthread_create(&th, NULL, capture_thread, &a), 0);
	pthread_join(th, NULL);
	if (a.filter_rc < 0) {
		/* no seccomp here (an old kernel, a sandbox): say so, do not fail */
		printf("skip seccomp filter unavailable (%s): capture-thread I/O not checked\n",
		       strerror(-a.filter_rc));
	}
	CHECK_EQ_I(a.write_errors, 0);
	CHECK_EQ_I(trapped, 0);
	if (trapped)
		fprintf(stderr, "  the capture thread made %d forbidden calls (last: syscall %d)\n",
			(int)trapped, (int)trapped_nr);
	CHECK_EQ_U(a.last_written, N_RECORDS);

	/* the delivery thread spools all of them, none dropped */
	for (int i = 0; i < 1000; i++) {
		out_sink_get_stats(a.sink, &st);
		if (st.spooled >= N_RECORDS)
			break;
		sleep_ms(10);
	}
	CHECK_EQ_U(st.written, N_RECORDS);
	CHECK_EQ_U(st.spooled, N_RECORDS);
	CHECK_EQ_U(st.dropped, 0);
	CHECK_EQ_U(st.queue_full, 0);
	CHECK_EQ_U(st.spool_depth, N_RECORDS);
	CHECK_EQ_I(out_sink_close(a.sink, err, sizeof(err)), 0);

	/* and they are on disk, for the next start */
	{
		glob_t g;
		char pat[sizeof(sub)];
		snprintf(pat, sizeof(pat), "%s/alerts-*", dir); /* one per destination */
		CHECK_EQ_I(glob(pat, 0, NULL, &g), 0);
		CHECK_EQ_U(g.gl_pathc, 1);
		snprintf(sub, sizeof(sub), "%s", g.gl_pathc ? g.gl_pathv[0] : pat);
		globfree(&g);
	}
	sc.dir = sub;
	sp = spool_open(&sc, err, sizeof(err));
	CHECK(sp != NULL);
	if (sp) {
		spool_get_stats(sp, &ss);
		CHECK_EQ_U(ss.depth, N_RECORDS);
		CHECK_EQ_U(ss.corrupt, 0);
		spool_free(sp);
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_I(system(cmd), 0);
}

/* No spool and Redis down: the queue (8 records) fills while the thread
 * backs off; writes go on without waiting, and each record lost is
 * counted, the queue's share as queue_full. */
static void test_output_redis__full_queue_drops_counted(void)
{
	char dest[256], err[512];
	struct out_sink_config cfg = { .kind = "sessions" };
	struct out_sink_stats st = { 0 };
	struct out_sink *s;
	int fd, port = dead_port(&fd);

	snprintf(dest, sizeof(dest), "redis://127.0.0.1:%d?spool=none&queue=8&batch=4"
		 "&timeout_ms=200&backoff_max_ms=1000&close_ms=0", port);
	s = out_sink_open(dest, &cfg, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_I(out_sink_write(s, "x", "{}\n", 3), 0);
	out_sink_get_stats(s, &st);
	CHECK_EQ_U(st.written, 1000);
	CHECK(st.queue_full > 0);
	CHECK(st.queue_full <= st.dropped);
	CHECK(st.dropped <= 1000);
	CHECK_EQ_U(st.delivered, 0);
	/* records were lost: close says so */
	CHECK_EQ_I(out_sink_close(s, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "dropped") != NULL);
	close(fd);
}

int main(void)
{
	RUN(test_output_redis__capture_thread_no_io_when_down);
	RUN(test_output_redis__full_queue_drops_counted);
	return CHECK_DONE();
}
