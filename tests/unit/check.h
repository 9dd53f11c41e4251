/* SPDX-License-Identifier: MIT */
/*
 * check.h -- the tiny assertion harness every unit test uses.
 *
 * A test file defines `static void test_foo__bar(void)` functions and lists
 * them in main() with RUN(test_foo__bar).  A failing CHECK prints file:line
 * with both values and marks the current test failed; the test keeps going so
 * one run shows every broken expectation.  CHECK_DONE() prints the per-file
 * summary the runner (tests/run-tests.sh) reads: "#summary PASSED FAILED".
 */
#ifndef MAILTAP_TESTS_CHECK_H
#define MAILTAP_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failed_now;
static int check_tests_passed, check_tests_failed;

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                               \
			check_failed_now = 1;                                   \
		}                                                               \
	} while (0)

#define CHECK_EQ_U(a, b)                                                        \
	do {                                                                    \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);    \
		if (check_a_ != check_b_) {                                     \
			fprintf(stderr, "  %s:%d: %s == %s failed: %" PRIu64   \
				" != %" PRIu64 "\n", __FILE__, __LINE__, #a, #b, \
				check_a_, check_b_);                            \
			check_failed_now = 1;                                   \
		}                                                               \
	} while (0)

#define CHECK_EQ_I(a, b)                                                        \
	do {                                                                    \
		int64_t check_a_ = (int64_t)(a), check_b_ = (int64_t)(b);       \
		if (check_a_ != check_b_) {                                     \
			fprintf(stderr, "  %s:%d: %s == %s failed: %" PRId64   \
				" != %" PRId64 "\n", __FILE__, __LINE__, #a, #b, \
				check_a_, check_b_);                            \
			check_failed_now = 1;                                   \
		}                                                               \
	} while (0)

#define CHECK_STREQ(a, b)                                                       \
	do {                                                                    \
		const char *check_a_ = (a), *check_b_ = (b);                    \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {    \
			fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b,                     \
				check_a_ ? check_a_ : "(null)",                 \
				check_b_ ? check_b_ : "(null)");                \
			check_failed_now = 1;                                   \
		}                                                               \
	} while (0)

#define RUN(fn)                                                                 \
	do {                                                                    \
		check_failed_now = 0;                                           \
		fn();                                                           \
		if (check_failed_now) {                                         \
			check_tests_failed++;                                   \
			printf("FAIL %s\n", #fn);                               \
		} else {                                                        \
			check_tests_passed++;                                   \
			printf("ok   %s\n", #fn);                               \
		}                                                               \
	} while (0)

#define CHECK_DONE()                                                            \
	(printf("#summary %d %d\n", check_tests_passed, check_tests_failed),    \
	 check_tests_failed ? 1 : 0)

#endif
