/* SPDX-License-Identifier: MIT */
/*
 * util-hash.h -- the program's one keyed hash: XXH3-64 (Debian's
 * libxxhash, inlined) over a byte string with a 64-bit seed, and the
 * per-process seed that tables keyed by values from the wire use.
 *
 * Every hash table in the library hashes with hash64(); none has a hash
 * function of its own.  XXH3 is not a PRF, but with a secret random seed
 * an attacker cannot precompute a set of keys that collide in one bucket.
 * The seed is one random 64-bit value per process (getrandom) unless the
 * configuration fixes it (sensor.seed / MAILTAP_SEED, which tests set so
 * runs are reproducible).  The process seed is the one global written once
 * at startup that the style allows.
 */
#ifndef MAILTAP_UTIL_HASH_H
#define MAILTAP_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Seeded 64-bit hash of @n bytes at @p (XXH3_64bits_withSeed). */
static inline uint64_t hash64(const void *p, size_t n, uint64_t seed)
{
	return (uint64_t)XXH3_64bits_withSeed(p, n, (XXH64_hash_t)seed);
}

/* Seeded 64-bit hash of a NUL-terminated string (without the NUL). */
static inline uint64_t hash64_str(const char *s, uint64_t seed)
{
	return hash64(s, strlen(s), seed);
}

/* The per-process random seed: drawn with getrandom() on first use
 * (thread-safe), the same for the rest of the process.  Never 0. */
uint64_t hash_process_seed(void);

/* The seed a table should use: @configured when non-zero (a fixed seed from
 * the configuration or a test), otherwise hash_process_seed(). */
uint64_t hash_seed(uint64_t configured);

#endif
