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
# first hour, inside mailtap's learning period; labels "first_hour": true),
# from pcaps/gen/scenarios.py; quic (three days, Gmail web over QUIC, two
# incidents over QUIC) from pcaps/gen/quicscen.py, with its own stamp
# ($OUT/.stamp-quic: the same three files + quicpkt.py + quicscen.py).
#
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/scenarios
PY=/usr/bin/python3
GEN=pcaps/gen
SCENARIOS="quiet incidents firsthour quic"
BASE="quiet incidents firsthour"
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# --- 1. generate (skipped when the stamp matches) ------------------------------
stamp=$(cat "$GEN/scenarios.py" "$GEN/fastpkt.py" "$GEN/generate.py" | sha256sum | cut -d' ' -f1)
qstamp=$(cat "$GEN/scenarios.py" "$GEN/fastpkt.py" "$GEN/generate.py" "$GEN/quicpkt.py" \
	"$GEN/quicscen.py" | sha256sum | cut -d' ' -f1)
stamp_of() { if [ "$1" = quic ]; then echo "$qstamp"; else echo "$stamp"; fi; }
# gen NAME STAMPFILE STAMP CAPTURES... -- COMMAND...
gen() {
	local what=$1 sf=$2 st=$3 have missing=0 start log
	shift 3
	while [ "$1" != "--" ]; do
		[ -s "$OUT/$1.pcap" ] && [ -s "$OUT/$1.labels.json" ] || missing=1
		shift
	done
	shift
	have=$(cat "$OUT/$sf" 2>/dev/null)
	if [ "$have" = "$st" ] && [ $missing -eq 0 ]; then
		ok "generate $what: up to date ($OUT, generator ${st:0:12})"
		return
	fi
	rm -f "$OUT/$sf"
	start=$(date +%s)
	if log=$("$@" 2>&1); then
		echo "$st" >"$OUT/$sf"
		ok "generate $what: $OUT in $(($(date +%s) - start)) s (generator ${st:0:12})"
		printf '%s\n' "$log" | sed 's/^/  /'
	else
		fail "generate $what: $2 failed"
		printf '%s\n' "$log" | tail -20 | sed 's/^/  /'
	fi
}
mkdir -p "$OUT"
# shellcheck disable=SC2086
gen scenarios .stamp "$stamp" $BASE -- $PY "$GEN/scenarios.py" --out "$OUT"
gen quic .stamp-quic "$qstamp" quic -- $PY "$GEN/quicscen.py" --out "$OUT"

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
	if msg=$($PY - "$OUT/$s.labels.json" "$(stamp_of "$s")" <<'PYEOF' 2>&1
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
	rm -f "$alerts" "$OUT/$s.sessions.jsonl"
	sess=()
	[ "$s" = quic ] && sess=(--sessions "$OUT/$s.sessions.jsonl")
	if ! "$BUILD/mailtap" -q -r "$f" --alerts "$alerts" "${sess[@]}" >"$OUT/$s.mailtap.log" 2>&1; then
		fail "$s: mailtap exit $?: $(tail -3 "$OUT/$s.mailtap.log")"
		continue
	fi
	touch "$alerts"
	if [ "$s" = quic ]; then
		# every QUIC session is named from the SNI of its Initials, one
		# record per connection (labels: quic_sessions)
		if msg=$($PY - "$OUT/$s.labels.json" "$OUT/$s.sessions.jsonl" <<'PYEOF' 2>&1
import collections, json, sys
L = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
q = [r for r in recs if r["event_type"] == "session" and r["proto"] == "UDP"
     and r["dest_port"] == 443]
bad = collections.Counter(
    (r.get("app_proto"), r.get("quic_version"), r.get("provider"), r.get("service"),
     r.get("sni"), r.get("classified_by"), r.get("alpn"), (r.get("ja4") or "")[:1])
    for r in q)
want = ("quic", "1", "google", "web", "mail.google.com", "sni", "h3", "q")
assert set(bad) == {want}, "QUIC session records: %s" % dict(bad)
assert len(q) == L["quic_sessions"], "%d QUIC session records, labels say %d" % (
    len(q), L["quic_sessions"])
print("%d QUIC sessions: app_proto quic, quic_version 1, google/web, sni "
      "mail.google.com, classified_by sni, JA4 %s" % (len(q), q[0]["ja4"]))
PYEOF
		); then
			ok "$s: sessions: $msg"
		else
			fail "$s: sessions: $(printf '%s' "$msg" | tail -1)"
		fi
	fi
	out=$($PY tests/scenarios/check_alerts.py "$OUT/$s.labels.json" "$alerts")
	printf '%s\n' "$out" | grep -v '^#summary'
	read -r _ p f <<<"$(printf '%s\n' "$out" | grep '^#summary')"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
done

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
