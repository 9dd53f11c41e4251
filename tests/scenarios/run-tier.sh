#!/bin/bash
# tests/scenarios/run-tier.sh -- the scoring scenario suite (pcaps/scenarios/README.md).
#
# 1. Generates the labelled captures into $BUILD/scenarios with
#    pcaps/gen/scenarios.py, unless they are already there from the same
#    generator version (stamp = sha256 of scenarios.py + fastpkt.py + generate.py).
# 2. Checks that each capture opens with tshark without errors or malformed
#    packets, and that its labels are well formed.
# 3. Replays each capture through mailtap with default settings and checks
#    the alerts against the labels (tests/scenarios/check_alerts.py).
#
# Captures: quiet and incidents (three days, incidents after 48 h of benign
# learning) and firsthour (one day, no history: every incident starts in the
# first hour, inside mailtap's learning period; labels "first_hour": true).
#
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/scenarios
PY=/usr/bin/python3
GEN=pcaps/gen
SCENARIOS="quiet incidents firsthour"
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# --- 1. generate (skipped when the stamp matches) ------------------------------
stamp=$(cat "$GEN/scenarios.py" "$GEN/fastpkt.py" "$GEN/generate.py" | sha256sum | cut -d' ' -f1)
have=$(cat "$OUT/.stamp" 2>/dev/null)
missing=0
for s in $SCENARIOS; do
	[ -s "$OUT/$s.pcap" ] && [ -s "$OUT/$s.labels.json" ] || missing=1
done
if [ "$have" = "$stamp" ] && [ $missing -eq 0 ]; then
	ok "generate: up to date ($OUT, generator ${stamp:0:12})"
else
	rm -f "$OUT/.stamp"
	start=$(date +%s)
	if log=$($PY "$GEN/scenarios.py" --out "$OUT" 2>&1); then
		echo "$stamp" >"$OUT/.stamp"
		ok "generate: $OUT in $(($(date +%s) - start)) s (generator ${stamp:0:12})"
		printf '%s\n' "$log" | sed 's/^/  /'
	else
		fail "generate: pcaps/gen/scenarios.py failed"
		printf '%s\n' "$log" | tail -20 | sed 's/^/  /'
	fi
fi

# --- 2. captures open cleanly, labels are well formed ---------------------------
for s in $SCENARIOS; do
	f=$OUT/$s.pcap
	if [ ! -s "$f" ]; then
		fail "$s: $f missing"
		continue
	fi
	err=$(tshark -r "$f" -q 2>&1 >/dev/null)
	rc=$?
	err=$(printf '%s\n' "$err" | grep -v '^Running as user' | grep -v '^$')
	if [ $rc -eq 0 ] && [ -z "$err" ]; then
		ok "$s: tshark -r $f -q"
	else
		fail "$s: tshark -r $f -q: exit $rc $(printf '%s' "$err" | head -3)"
	fi
	# malformed packets / expert errors (truncated bulk frames are expected and are not errors)
	exp=$(tshark -r "$f" -q -z expert,error 2>/dev/null | sed -n '/^Errors/,$p' | grep -E '^ +[0-9]+ ')
	if [ -z "$exp" ]; then
		ok "$s: no tshark expert errors"
	else
		fail "$s: tshark expert errors: $(printf '%s' "$exp" | head -3)"
	fi
	if msg=$($PY - "$OUT/$s.labels.json" "$stamp" <<'PYEOF' 2>&1
import calendar, json, sys, time
L = json.load(open(sys.argv[1]))
t = lambda s: calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
if L.get("first_hour"):
    assert L["learning"]["hours"] == 24, "first_hour: learning.hours must be mailtap's 24"
kinds = {"bulk_download", "bulk_upload", "beaconing", "off_hours", "new_client"}
assert L["generator_sha256"] == sys.argv[2], "labels from another generator version"
hosts = {h["ip"]: h for h in L["hosts"]}
for i in L["incidents"]:
    assert i["kind"] in kinds and set(i["also_acceptable_kinds"]) <= kinds, i["id"]
    assert hosts[i["host"]]["role"] == "attacker" and not hosts[i["host"]]["benign"], i["id"]
    if L.get("first_hour"):
        # firsthour.pcap: no history; every incident starts in the capture's first
        # hour, inside mailtap's default 24 h learning period, at night
        st = t(i["start"])
        assert t(L["start"]) <= t(L["learning"]["start"]) <= st < t(L["start"]) + 3600, i["id"]
        assert st < t(L["learning"]["end"]) and i["start"] <= i["end"] <= L["end"], i["id"]
        assert "off_hours" in {i["kind"]} | set(i["also_acceptable_kinds"]), i["id"]
    else:
        assert L["learning"]["end"] <= i["start"] <= i["end"] <= L["end"], i["id"]
print("%d hosts (%d benign), %d incidents, %d frames" % (
    len(hosts), sum(h["benign"] for h in L["hosts"]), len(L["incidents"]), L["frames"]))
PYEOF
	); then
		ok "$s: labels: $msg"
	else
		fail "$s: labels: $(printf '%s' "$msg" | tail -1)"
	fi
done

# --- 3. alert assertions ----------------------------------------------------------
# Each capture goes through mailtap with its default settings (no tuning per
# capture): every incident must raise an alert of an acceptable kind for its
# host by end + 30 min, and no benign host may ever alert
# (tests/scenarios/check_alerts.py).
for s in $SCENARIOS; do
	f=$OUT/$s.pcap
	[ -s "$f" ] || continue
	alerts=$OUT/$s.alerts.jsonl
	rm -f "$alerts"
	if ! "$BUILD/mailtap" -q -r "$f" --alerts "$alerts" >"$OUT/$s.mailtap.log" 2>&1; then
		fail "$s: mailtap exit $?: $(tail -3 "$OUT/$s.mailtap.log")"
		continue
	fi
	touch "$alerts"
	out=$($PY tests/scenarios/check_alerts.py "$OUT/$s.labels.json" "$alerts")
	printf '%s\n' "$out" | grep -v '^#summary'
	read -r _ p f <<<"$(printf '%s\n' "$out" | grep '^#summary')"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
done

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
