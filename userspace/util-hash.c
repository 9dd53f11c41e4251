/* SPDX-License-Identifier: MIT */
/* util-hash.c -- the per-process hash seed.  See util-hash.h. */
#include "util-hash.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Written once, under pthread_once, then only read. */
static uint64_t process_seed;
static pthread_once_t process_seed_once = PTHREAD_ONCE_INIT;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void draw_seed(void)
{
	uint64_t s = 0;
	ssize_t n = getrandom(&s, sizeof(s), GRND_NONBLOCK);

	if (n != (ssize_t)sizeof(s)) {
		/* no entropy yet (early boot) or no getrandom: weaker, but
		 * still differs between runs and hosts */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
			  ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&ts);
	}
	process_seed = s ? s : 0x9e3779b97f4a7c15ULL;
}

uint64_t hash_process_seed(void)
{
	pthread_once(&process_seed_once, draw_seed);
	return process_seed;
}

uint64_t hash_seed(uint64_t configured)
{
	return configured ? configured : hash_process_seed();
}
