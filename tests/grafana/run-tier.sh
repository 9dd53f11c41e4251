#!/bin/bash
# run-tier.sh -- the Grafana dashboard deploy/grafana/mailtap.json against a
# real scrape (docs/metrics.md).  Run from the repository root; prints
# "ok NAME" / "FAIL NAME: why" lines and "#summary PASSED FAILED".
#
# Replays pcaps/nosni.pcap at 5x with --metrics on a free loopback port and
# a scoring configuration that alerts on it (so the labelled families
# mailtap_sessions_total and mailtap_alerts_total have samples), scrapes
# /metrics every half second until the replay ends, and checks that every
# metric, label and label value the dashboard's PromQL uses is in those
# scrapes and in docs/metrics.md (tests/grafana/check-dashboard.py).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
M=$BUILD/mailtap
D=deploy/grafana/mailtap.json
T=$(mktemp -d /tmp/mailtap-grafana.XXXXXX)
SPID=
passed=0
failed=0
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "#summary $passed $failed"; [ "$failed" -eq 0 ]; exit; }

[ -x "$M" ] || { fail setup "$M not built (make all)"; finish; }

# ---- the file is a dashboard Grafana can import ---------------------------
if out=$(python3 - "$D" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("uid") and d.get("title") and d.get("schemaVersion"), "uid/title/schemaVersion missing"
names = [v["name"] for v in d["templating"]["list"]]
assert "datasource" in names and "instance" in names, f"variables {names}"
ids, cells = set(), set()
for p in d["panels"]:
    assert p["id"] not in ids, f"panel id {p['id']} twice"
    ids.add(p["id"])
    g = p["gridPos"]
    assert g["x"] + g["w"] <= 24, f"{p['title']} wider than the grid"
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            assert (x, y) not in cells, f"{p['title']} overlaps another panel"
            cells.add((x, y))
    if p["type"] != "row":
        assert p["datasource"]["uid"] == "${datasource}", f"{p['title']}: datasource not the variable"
        assert p["targets"], f"{p['title']}: no query"
        for t in p["targets"]:
            assert 'instance=~"$instance"' in t["expr"], f"{p['title']}: not filtered by $instance"
print(len(ids), "panels")
PY
); then
	ok dashboard-structure "$out, no overlaps, every query on \$datasource and \$instance"
else
	fail dashboard-structure "$out"
fi

# ---- a real scrape ----------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/alerting.yaml" <<'YAML'
# low floors and threshold, no learning, working hours 0-1: nosni.pcap alerts
scoring:
  learning: 0s
  alert_threshold: 1
  floors:
    download_short: 1kB
    upload_short: 1kB
    off_hours: 1kB
    reference_per_hour: 1kB
    reference_new_host: 1kB
site:
  work_hours: 0-1
YAML
"$M" -q --config "$T/alerting.yaml" -r pcaps/nosni.pcap --replay-speed 5 --metrics "127.0.0.1:$port" \
	--sessions /dev/null --alerts "$T/alerts.jsonl" 2>"$T/sensor.err" &
SPID=$!
n=0
while kill -0 "$SPID" 2>/dev/null && [ "$n" -lt 120 ]; do
	curl -sf "http://127.0.0.1:$port/metrics" >"$T/scrape.$n" 2>/dev/null || rm -f "$T/scrape.$n"
	n=$((n + 1))
	sleep 0.5
done
wait "$SPID"
rc=$?
SPID=
nscr=$(ls "$T" | grep -c '^scrape\.')
if [ "$rc" = 0 ] && [ "$nscr" -ge 3 ] && [ -s "$T/alerts.jsonl" ]; then
	ok sensor-scraped "$nscr scrapes of a 5x replay, $(wc -l <"$T/alerts.jsonl") alerts written"
else
	fail sensor-scraped "exit $rc, $nscr scrapes, $(wc -l <"$T/alerts.jsonl" 2>/dev/null) alerts: $(head -3 "$T/sensor.err")"
	finish
fi

# ---- every metric / label / value the dashboard queries is there ----------
if python3 tests/grafana/check-dashboard.py "$D" "$T"/scrape.* >"$T/check.out" 2>&1; then
	ok dashboard-metrics-exist "$(grep '^#' "$T/check.out" | sed 's/^# //')"
else
	fail dashboard-metrics-exist "$(grep -v '^#' "$T/check.out" | head -5)"
fi

# the checker itself catches a wrong name, a wrong label and a wrong value
python3 - "$D" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = [p for p in d["panels"] if p["type"] != "row"]
t[0]["targets"][0]["expr"] = 'rate(mailtap_packets_totl{instance=~"$instance"}[5m])'
t[1]["targets"][0]["expr"] = 'sum by (sourc) (mailtap_drops_total{instance=~"$instance"})'
t[2]["targets"][0]["expr"] = 'mailtap_drops_total{instance=~"$instance",source="nic"}'
json.dump(d, open(sys.argv[2], "w"))
PY
python3 tests/grafana/check-dashboard.py "$T/bad.json" "$T"/scrape.* >"$T/bad.out" 2>&1
if [ "$?" = 1 ] && grep -q 'mailtap_packets_totl not in the scrape' "$T/bad.out" &&
	grep -q 'label sourc on none of mailtap_drops_total' "$T/bad.out" &&
	grep -q 'mailtap_drops_total{source="nic"}: no such value' "$T/bad.out"; then
	ok checker-catches-mistakes "misspelt metric, label and label value"
else
	fail checker-catches-mistakes "$(cat "$T/bad.out")"
fi

finish
