#!/bin/bash
# golden/run.sh [--update] [NAME...] -- replay captures through build/mailtap
# and compare stdout (session records), stderr (errors and stats) and the
# exit status with tests/golden/expected/NAME.{jsonl,err}.
#
# Cases are lines of tests/golden/cases: NAME<TAB>ARGS.  In ARGS, $SHARED is
# the shared captures folder (../shared by default) and $DATA this folder's
# data/.  The run is deterministic: MAILTAP_SEED=1, TZ=UTC, LC_ALL=C.
# --update rewrites the expected files; review the diff before committing.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
DATA=tests/golden/data
EXP=tests/golden/expected
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
only=" $* "
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

while IFS=$'\t' read -r name args; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then continue; fi
	eval "set -- $args"
	MAILTAP_SEED=1 TZ=UTC LC_ALL=C "$BUILD/mailtap" "$@" >"$tmp/out" 2>"$tmp/err"
	echo "exit $?" >>"$tmp/err"
	# paths differ between machines: name them by variable
	sed -i "s#$SHARED#\$SHARED#g" "$tmp/err"
	if [ $update = 1 ]; then
		cp "$tmp/out" "$EXP/$name.jsonl"
		cp "$tmp/err" "$EXP/$name.err"
		echo "updated $name"
		passed=$((passed + 1))
		continue
	fi
	if [ ! -f "$EXP/$name.jsonl" ]; then
		echo "FAIL $name: no expected output (run make golden-update)"
		failed=$((failed + 1))
		continue
	fi
	if diff -u "$EXP/$name.jsonl" "$tmp/out" >"$tmp/diff" &&
	   diff -u "$EXP/$name.err" "$tmp/err" >>"$tmp/diff"; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		head -40 "$tmp/diff" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done <tests/golden/cases
echo "#summary $passed $failed"
