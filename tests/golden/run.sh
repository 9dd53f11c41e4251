#!/bin/bash
# golden/run.sh [--update] [NAME...] -- replay captures through build/mailtap
# and compare stdout (session records), stderr (errors and stats) and the
# exit status with tests/golden/expected/NAME.{jsonl,err,stats}.
#
# Records and stats are compared separately:
#   NAME.jsonl  stdout, exactly.
#   NAME.err    stderr without the stats block (errors, warnings) and the
#               line "exit N", exactly.
#   NAME.stats  "name value" lines from the stats block, as golden/stats.awk
#               names them (flows.created 3).  Only the counters listed are
#               compared; a counter the program prints but the file does not
#               list is ignored, so a new counter breaks no baseline.  A
#               listed counter that changes or is no longer printed fails.
#               A case without NAME.stats must print no stats block.
# --update writes NAME.jsonl and NAME.err, and in an existing NAME.stats
# the new values of the counters it lists (a new case gets every counter;
# trim it to the ones that matter to the case).
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
	awk -v mode=stats -f tests/golden/stats.awk "$tmp/err" >"$tmp/stats"
	awk -f tests/golden/stats.awk "$tmp/err" >"$tmp/rest"
	if [ $update = 1 ]; then
		cp "$tmp/out" "$EXP/$name.jsonl"
		cp "$tmp/rest" "$EXP/$name.err"
		if [ ! -s "$tmp/stats" ]; then
			rm -f "$EXP/$name.stats"
		elif [ -f "$EXP/$name.stats" ]; then
			awk 'NR == FNR { v[$1] = $2; next }
			     $1 in v { print $1, v[$1] }' "$tmp/stats" "$EXP/$name.stats" >"$tmp/keep"
			cp "$tmp/keep" "$EXP/$name.stats"
		else
			cp "$tmp/stats" "$EXP/$name.stats"
		fi
		echo "updated $name"
		passed=$((passed + 1))
		continue
	fi
	if [ ! -f "$EXP/$name.jsonl" ]; then
		echo "FAIL $name: no expected output (run make golden-update)"
		failed=$((failed + 1))
		continue
	fi
	# the listed counters; with no NAME.stats, no stats block at all
	: >"$tmp/sdiff"
	if [ -f "$EXP/$name.stats" ]; then
		awk 'NR == FNR { v[$1] = $2; next }
		     !($1 in v) { print "    counter " $1 ": expected " $2 ", not printed"; bad = 1; next }
		     v[$1] != $2 { print "    counter " $1 ": expected " $2 ", got " v[$1]; bad = 1 }
		     END { exit bad }' "$tmp/stats" "$EXP/$name.stats" >"$tmp/sdiff"
	else
		[ ! -s "$tmp/stats" ] || echo "    stats printed, no $name.stats" >"$tmp/sdiff"
	fi
	if diff -u "$EXP/$name.jsonl" "$tmp/out" >"$tmp/diff" &&
	   diff -u "$EXP/$name.err" "$tmp/rest" >>"$tmp/diff" &&
	   ! [ -s "$tmp/sdiff" ]; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		head -40 "$tmp/diff" | sed 's/^/    /'
		head -20 "$tmp/sdiff"
		failed=$((failed + 1))
	fi
done <tests/golden/cases
echo "#summary $passed $failed"
