#!/bin/bash
# run-tests.sh TIER -- run the test tiers and close with "N passed, N failed".
#
# Tiers: unit (tests/unit binaries), golden (pcap replays against checked-in
# output), tshark (per-flow counts cross-checked with tshark), labels
# (sessions against the scenario generator's ground truth), pcaps (the
# ground truth itself against tshark), ident (SNI and JA3 per flow against
# tshark), and every tests/*/run-tier.sh (redis, bpf, fuzz, scenarios),
# all.  Every
# tier prints "#summary PASSED FAILED" lines that this script adds up.
# Exit status is non-zero when anything failed or nothing ran.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} SHARED=${SHARED:-../shared}
tier=${1:-all}
passed=0
failed=0

tally() { # tally NAME OUTPUT RC
	local name=$1 out=$2 rc=$3 line p f
	line=$(printf '%s\n' "$out" | grep '^#summary ' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $name: no summary (exit $rc)"
		printf '%s\n' "$out" | tail -20 | sed 's/^/  /'
		failed=$((failed + 1))
		return
	fi
	read -r _ p f <<<"$line"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exit $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^ok ' | grep -v '^#summary' | sed 's/^/  /'
	fi
}

run_unit() {
	local t out rc
	for t in "$BUILD"/tests/test-*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		out=$("$t" 2>&1)
		rc=$?
		tally "unit/$(basename "$t")" "$out" "$rc"
	done
}

run_script() { # run_script NAME CMD...
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	tally "$name" "$out" "$rc"
}

case "$tier" in
unit) run_unit ;;
golden) run_script golden tests/golden/run.sh ;;
tshark) run_script tshark tests/golden/tshark-check.sh ;;
labels) run_script labels /usr/bin/python3 tests/golden/labels_check.py "$BUILD/mailtap" ;;
pcaps) run_script pcaps-vs-tshark /usr/bin/python3 pcaps/gen/check.py ;;
ident) run_script ident-vs-tshark tests/golden/ident-check.sh ;;
dns) run_script dns-vs-tshark tests/golden/dns-check.sh ;;
cid) run_script community-id tests/golden/cid-check.sh ;;
all)
	run_unit
	run_script golden tests/golden/run.sh
	run_script tshark tests/golden/tshark-check.sh
	run_script labels /usr/bin/python3 tests/golden/labels_check.py "$BUILD/mailtap"
	run_script pcaps-vs-tshark /usr/bin/python3 pcaps/gen/check.py
	run_script ident-vs-tshark tests/golden/ident-check.sh
	run_script dns-vs-tshark tests/golden/dns-check.sh
	run_script community-id tests/golden/cid-check.sh
	# tiers that bring their own runner (each prints "#summary P F")
	for r in tests/*/run-tier.sh; do
		[ -x "$r" ] && run_script "$(basename "$(dirname "$r")")" "$r"
	done
	;;
*)
	# every tests/NAME/run-tier.sh is a tier by its name
	if [ -x "tests/$tier/run-tier.sh" ]; then
		run_script "$tier" "tests/$tier/run-tier.sh"
	else
		echo "usage: $0 unit|golden|tshark|labels|pcaps|ident|dns|cid|all|$(ls tests/*/run-tier.sh | cut -d/ -f2 | tr '\n' '|' | sed 's/|$//')" >&2
		exit 2
	fi
	;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
