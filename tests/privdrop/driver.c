/* SPDX-License-Identifier: MIT */
/*
 * tests/privdrop/driver.c -- privdrop_apply() on its own, for
 * tests/privdrop/run-tier.sh.
 *
 *   driver USER NEED     NEED = none | bpf; USER "" = no switch
 *
 * Starts a thread first (as mailtap has its Redis and metrics threads by
 * then), calls privdrop_apply(), prints "rc N", "msg ...", the process's
 * /proc/self/status lines Uid, Gid, Groups, CapInh, CapPrm, CapEff,
 * CapBnd, CapAmb, NoNewPrivs, and the other thread's CapPrm/CapEff as
 * "thread-CapPrm" / "thread-CapEff".  Exit 0, or 2 when privdrop_apply
 * failed (what mailtap does).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privdrop.h"

static volatile pid_t other_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *idle(void *arg)
{
	(void)arg;
	other_tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_lock(&mu);
	while (!done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void show(const char *path, const char *prefix, const char *const *keys)
{
	char line[512];
	FILE *fp = fopen(path, "r");
	if (!fp) {
		printf("%serror: %s\n", prefix, path);
		return;
	}
	while (fgets(line, sizeof(line), fp))
		for (int i = 0; keys[i]; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) && line[strlen(keys[i])] == ':')
				printf("%s%s", prefix, line);
	fclose(fp);
}

int main(int argc, char **argv)
{
	static const char *const keys[] = { "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff",
					    "CapBnd", "CapAmb", "NoNewPrivs", NULL };
	static const char *const tkeys[] = { "CapPrm", "CapEff", NULL };
	char msg[512], path[64];
	enum privdrop_need need;
	pthread_t t;
	int rc;

	if (argc != 3 || (strcmp(argv[2], "none") && strcmp(argv[2], "bpf"))) {
		fprintf(stderr, "usage: driver USER none|bpf\n");
		return 64;
	}
	need = strcmp(argv[2], "bpf") ? PRIVDROP_NEED_NONE : PRIVDROP_NEED_BPF;
	pthread_create(&t, NULL, idle, NULL);
	while (!other_tid)
		usleep(1000);
	rc = privdrop_apply(argv[1], need, msg, sizeof(msg));
	printf("rc %d\nmsg %s\n", rc, msg);
	show("/proc/self/status", "", keys);
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)other_tid);
	show(path, "thread-", tkeys);
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	return rc < 0 ? 2 : 0;
}
