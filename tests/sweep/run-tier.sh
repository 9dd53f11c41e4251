#!/bin/bash
# tests/sweep/run-tier.sh -- the detection parameter sweep (pcaps/sweep/README.md).
#
# 1. Generates the labelled sweep captures (learned.pcap, dayone.pcap) into
#    $BUILD/sweep (or $BUILD/sweep-full) with pcaps/gen/sweep.py, unless they are
#    already there from the same generator version and size (stamp = sha256 of
#    sweep.py + scenarios.py + fastpkt.py + generate.py, and the size).
# 2. Checks that each capture opens with tshark without errors and that its
#    labels are well formed.
# 3. Replays each capture through mailtap with DEFAULT settings (no tuning
#    flags) and scores the alerts with tests/sweep/check_sweep.py: recall per
#    class within tests/sweep/limits.json, false positives per 1,000 benign
#    host-days.
#
# SWEEP_SIZE=ci (default, a few minutes) or full (make sweep).
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SIZE=${SWEEP_SIZE:-ci}
case $SIZE in
ci) OUT=${SWEEP_OUT:-$BUILD/sweep} ;;
full) OUT=${SWEEP_OUT:-$BUILD/sweep-full} ;;
*) echo "FAIL SWEEP_SIZE=$SIZE: ci or full"; echo "#summary 0 1"; exit 1 ;;
esac
PY=/usr/bin/python3
GEN=pcaps/gen
CAPTURES="learned dayone"
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# --- 1. generate (skipped when the stamp matches) ------------------------------
stamp=$( (cat "$GEN/sweep.py" "$GEN/scenarios.py" "$GEN/fastpkt.py" "$GEN/generate.py"; echo "$SIZE") |
	sha256sum | cut -d' ' -f1)
gsha=$(cat "$GEN/sweep.py" "$GEN/scenarios.py" "$GEN/fastpkt.py" "$GEN/generate.py" | sha256sum | cut -d' ' -f1)
have=$(cat "$OUT/.stamp" 2>/dev/null)
missing=0
for c in $CAPTURES; do
	[ -s "$OUT/$c.pcap" ] && [ -s "$OUT/$c.labels.json" ] || missing=1
done
if [ "$have" = "$stamp" ] && [ $missing -eq 0 ]; then
	ok "generate: up to date ($OUT, size $SIZE, generator ${gsha:0:12})"
else
	mkdir -p "$OUT"
	rm -f "$OUT/.stamp"
	start=$(date +%s)
	if log=$($PY "$GEN/sweep.py" --out "$OUT" --size "$SIZE" 2>&1); then
		echo "$stamp" >"$OUT/.stamp"
		ok "generate: $OUT (size $SIZE) in $(($(date +%s) - start)) s (generator ${gsha:0:12})"
		printf '%s\n' "$log" | sed 's/^/  /'
	else
		fail "generate: pcaps/gen/sweep.py --size $SIZE failed"
		printf '%s\n' "$log" | tail -20 | sed 's/^/  /'
	fi
fi

# --- 2. captures open cleanly, labels are well formed ---------------------------
for c in $CAPTURES; do
	f=$OUT/$c.pcap
	if [ ! -s "$f" ]; then
		fail "$c: $f missing"
		continue
	fi
	err=$(tshark -r "$f" -q 2>&1 >/dev/null)
	rc=$?
	err=$(printf '%s\n' "$err" | grep -v '^Running as user' | grep -v '^$')
	if [ $rc -eq 0 ] && [ -z "$err" ]; then
		ok "$c: tshark -r $f -q"
	else
		fail "$c: tshark -r $f -q: exit $rc $(printf '%s' "$err" | head -3)"
	fi
	if msg=$($PY - "$OUT/$c.labels.json" "$gsha" "$SIZE" <<'PYEOF' 2>&1
import json, sys
L = json.load(open(sys.argv[1]))
kinds = {"bulk_download", "bulk_upload", "beaconing", "off_hours", "new_client"}
assert L["generator_sha256"] == sys.argv[2], "labels from another generator version"
assert L["size"] == sys.argv[3], "labels of size %s" % L["size"]
hosts = {h["ip"]: h for h in L["hosts"]}
assert L["benign_host_days"] > 0
first, last = L["first_ts_us"], L["last_ts_us"]
for i in L["incidents"]:
    assert i["kind"] in kinds and set(i["also_acceptable_kinds"]) <= kinds, i["id"]
    assert hosts[i["host"]]["role"] == "attacker" and not hosts[i["host"]]["benign"], i["id"]
    assert i["class"] in ("beacon", "bulk_download", "bulk_upload"), i["id"]
    assert i["sessions"] > 0 and i["start"] <= i["end"] <= i["alert_deadline"], i["id"]
    for k in ("family", "ident", "client", "actor"):
        assert k in i["params"], (i["id"], k)
    if L["kind"] == "learned":
        assert i["start"] >= L["learning"]["end"], (i["id"], "in learning")
    else:
        assert i["start_ts_us"] - first <= 50 * 60 * 10**6, (i["id"], "not in the first hour")
    assert i["end_ts_us"] + 30 * 60 * 10**6 <= last + 15 * 60 * 10**6, (i["id"], "ends too late")
print("%d hosts (%d benign, %.1f host-days), %d incidents, %d frames" % (
    len(hosts), L["benign_hosts"], L["benign_host_days"], len(L["incidents"]), L["frames"]))
PYEOF
	); then
		ok "$c: labels: $msg"
	else
		fail "$c: labels: $(printf '%s' "$msg" | tail -1)"
	fi
done

# --- 3. replay with default settings, score ---------------------------------------
pairs=()
for c in $CAPTURES; do
	f=$OUT/$c.pcap
	[ -s "$f" ] && [ -s "$OUT/$c.labels.json" ] || continue
	alerts=$OUT/$c.alerts.jsonl
	rm -f "$alerts"
	start=$(date +%s)
	if ! "$BUILD/mailtap" -q -r "$f" --alerts "$alerts" >"$OUT/$c.mailtap.log" 2>&1; then
		fail "$c: mailtap exit $?: $(tail -3 "$OUT/$c.mailtap.log")"
		continue
	fi
	touch "$alerts"
	ok "$c: mailtap -r $f: $(wc -l <"$alerts") alert records in $(($(date +%s) - start)) s"
	pairs+=("$OUT/$c.labels.json" "$alerts")
done
if [ ${#pairs[@]} -gt 0 ]; then
	out=$($PY tests/sweep/check_sweep.py "${pairs[@]}" --limits tests/sweep/limits.json \
		--json "$OUT/results.json")
	printf '%s\n' "$out" | grep -v '^#summary'
	read -r _ p f <<<"$(printf '%s\n' "$out" | grep '^#summary')"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
