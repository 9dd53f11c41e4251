#!/bin/bash
# run-tier.sh -- hostile capture files through the real program.
#
# Every file in tests/hostile/files/ (written by gen_hostile.py; expectations
# in expect.txt) is replayed with
#     $BUILD/mailtap -q -r FILE --sessions /dev/null --all-flows
# and must never crash: exit status 0, 1 or 2 only, no signal, no sanitizer
# report.  A file that cannot be read (exit 1) must give exactly one stderr
# line, starting "mailtap: " and naming the file; a file expected readable
# must exit 0.  Then, when valgrind is installed and the binary is not an
# ASan build, pcaps/demo.pcap, pcaps/demo-ng.pcapng and the hostile files
# run under memcheck (definite/indirect leaks and invalid accesses fail).
#
# Prints "ok NAME" / "FAIL NAME: why" and ends with "#summary PASSED FAILED".
# Environment: BUILD (default build), MAILTAP (default $BUILD/mailtap),
# HOSTILE_VALGRIND=0 to skip valgrind, HOSTILE_TIMEOUT (s, default 30).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MAILTAP=${MAILTAP:-$BUILD/mailtap}
TIMEOUT=${HOSTILE_TIMEOUT:-30}
dir=tests/hostile
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

if [ ! -x "$MAILTAP" ]; then
	fail build "$MAILTAP not built (run make first)"
	echo "#summary $passed $failed"
	exit 1
fi

# the default catalog is found next to the binary; say it for other builds
export MAILTAP_CATALOG=${MAILTAP_CATALOG:-$PWD/deploy/catalog.json}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}

# check_one NAME EXPECT FILE [launcher...]
check_one() {
	local name=$1 expect=$2 file=$3 rc lines
	shift 3
	timeout -s KILL "$TIMEOUT" "$@" "$MAILTAP" -q -r "$file" --sessions /dev/null --all-flows \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 137 ]; then
		fail "$name" "killed after ${TIMEOUT}s (hang?)"
		return
	fi
	if [ $rc -gt 128 ] || [ $rc -gt 2 ]; then
		fail "$name" "exit status $rc"
		sed 's/^/    /' "$tmp/err" | head -30
		return
	fi
	if grep -qE 'Sanitizer|runtime error:|==[0-9]+==' "$tmp/err"; then
		fail "$name" "sanitizer report"
		sed 's/^/    /' "$tmp/err" | head -30
		return
	fi
	case "$expect:$rc" in
	read:0 | any:0 | any:1 | fail:1) ;;
	read:*)
		fail "$name" "expected a full read (exit 0), got exit $rc: $(head -1 "$tmp/err")"
		return
		;;
	*)
		fail "$name" "expected exit $([ "$expect" = fail ] && echo 1 || echo '0 or 1'), got $rc: $(head -1 "$tmp/err")"
		return
		;;
	esac
	if [ $rc -eq 1 ]; then
		# warnings ("mailtap: warning: ...") may precede the one error line
		grep -v '^mailtap: warning: ' "$tmp/err" >"$tmp/errs"
		lines=$(wc -l <"$tmp/errs")
		if [ "$lines" -ne 1 ]; then
			fail "$name" "expected one error line on stderr, got $lines"
			sed 's/^/    /' "$tmp/err" | head -10
			return
		fi
		if ! grep -q '^mailtap: ' "$tmp/errs" || ! grep -qF "$file" "$tmp/errs"; then
			fail "$name" "error line does not start 'mailtap: ' or name the file: $(cat "$tmp/errs")"
			return
		fi
	fi
	ok "$name"
}

while read -r f expect; do
	case "$f" in '#'* | '') continue ;; esac
	if [ ! -e "$dir/files/$f" ]; then
		fail "hostile/$f" "missing (run tests/hostile/gen_hostile.py)"
		continue
	fi
	check_one "hostile/$f" "$expect" "$dir/files/$f"
done <"$dir/expect.txt"

# A path that does not exist and a directory: one line each, naming them.
check_one "hostile/missing-file" fail "$tmp/does-not-exist.pcap"
mkdir -p "$tmp/a-directory.pcap"
check_one "hostile/directory" fail "$tmp/a-directory.pcap"

# valgrind memcheck on normal captures and the hostile files
is_asan=0
if nm "$MAILTAP" 2>/dev/null | grep -q '__asan_init'; then
	is_asan=1
fi
if [ "${HOSTILE_VALGRIND:-1}" = 0 ]; then
	:
elif ! command -v valgrind >/dev/null; then
	echo "# valgrind not installed: memcheck runs skipped"
elif [ $is_asan = 1 ]; then
	echo "# $MAILTAP is an ASan build: memcheck runs skipped (sanitizers cover them)"
else
	vg=(valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
	for f in pcaps/demo.pcap pcaps/demo-ng.pcapng; do
		[ -e "$f" ] || continue
		TIMEOUT=$((TIMEOUT * 10)) check_one "valgrind/$(basename "$f")" read "$f" "${vg[@]}"
	done
	for f in record-past-eof.pcap pcapng-oversized-block.pcapng nanosec-huge-ts.pcap \
		 pcapng-unknown-linktype.pcapng wrong-magic.pcap; do
		expect=$(awk -v f="$f" '$1 == f { print $2 }' "$dir/expect.txt")
		check_one "valgrind/$f" "${expect:-any}" "$dir/files/$f" "${vg[@]}"
	done
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
