#!/bin/bash
# run-tier.sh [--replay-only] -- the fuzz tier of `make test`
# (tests/run-tests.sh fuzz).
#
#  1. builds the harnesses (make fuzz-build, into $FUZZ_BUILD, default
#     build-fuzz/);
#  2. replays every regression input (tests/fuzz/regressions/<target>/) and
#     the committed seed corpus (tests/fuzz/corpus/<target>/): each must run
#     without a crash, sanitizer report, leak or FUZZ_CHECK failure;
#  3. unless --replay-only, fuzzes each harness for FUZZ_CI_SECONDS (default
#     20) from the committed seeds, new inputs kept in $FUZZ_BUILD/corpus/.
#
# Prints "ok <name>" / "FAIL <name>: why" and ends with "#summary PASSED
# FAILED".  Every step is bounded by timeout(1).  A crash leaves its input in
# $FUZZ_BUILD/artifacts/<target>/: see docs/fuzzing.md to turn it into a
# regression.
set -u
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_CI_SECONDS:-20}
replay_only=0
[ "${1:-}" = --replay-only ] && replay_only=1
passed=0
failed=0
log=$FUZZ_BUILD/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# The first lines that say what went wrong in a libFuzzer log.
why() {
	grep -m1 -E 'FUZZ_CHECK failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:|Test unit written' "$1" ||
		tail -1 "$1"
}

mkdir -p "$FUZZ_BUILD"
if ! timeout 600 make --no-print-directory fuzz-build FUZZ_BUILD="$FUZZ_BUILD" >"$FUZZ_BUILD/build.log" 2>&1; then
	fail build "make fuzz-build failed"
	tail -20 "$FUZZ_BUILD/build.log" | sed 's/^/    /'
	echo "#summary $passed $failed"
	exit 1
fi
mkdir -p "$log"

targets=()
declare -A opts
while read -r name rest; do
	case "$name" in '#'* | '') continue ;; esac
	targets+=("$name")
	opts[$name]=$rest
done <tests/fuzz/targets.txt

# Inputs of a directory, one file each (README and notes skipped).
inputs() {
	[ -d "$1" ] || return 0
	find "$1" -type f ! -name '*.md' ! -name '*.txt' | sort
}

for t in "${targets[@]}"; do
	bin=$FUZZ_BUILD/fuzz-$t
	mapfile -t files < <(inputs "tests/fuzz/regressions/$t"; inputs "tests/fuzz/corpus/$t")
	if [ ${#files[@]} -eq 0 ]; then
		ok "replay/$t (no inputs)"
		continue
	fi
	# -runs=1 per file argument: run each input once, no fuzzing
	# shellcheck disable=SC2086
	if timeout 300 "$bin" ${opts[$t]} -timeout=10 -rss_limit_mb=2048 "${files[@]}" \
		>"$log/replay-$t.log" 2>&1; then
		ok "replay/$t (${#files[@]} inputs)"
	else
		fail "replay/$t" "$(why "$log/replay-$t.log") (log: $log/replay-$t.log)"
	fi
done

if [ $replay_only = 0 ]; then
	for t in "${targets[@]}"; do
		bin=$FUZZ_BUILD/fuzz-$t
		corpus=$FUZZ_BUILD/corpus/$t
		art=$FUZZ_BUILD/artifacts/$t
		mkdir -p "$corpus" "$art"
		# shellcheck disable=SC2086
		timeout $((SECONDS_EACH + 60)) "$bin" ${opts[$t]} -max_total_time="$SECONDS_EACH" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
			"$corpus" "tests/fuzz/corpus/$t" >"$log/fuzz-$t.log" 2>&1
		rc=$?
		runs=$(grep -m1 '^stat::number_of_executed_units' "$log/fuzz-$t.log" | awk '{ print $2 }')
		if [ $rc -eq 0 ]; then
			ok "$t (${SECONDS_EACH}s, ${runs:-?} runs)"
		elif [ $rc -eq 124 ]; then
			fail "$t" "did not stop within $((SECONDS_EACH + 60))s (log: $log/fuzz-$t.log)"
		else
			fail "$t" "$(why "$log/fuzz-$t.log"); input in $art/ (log: $log/fuzz-$t.log)"
		fi
	done
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
