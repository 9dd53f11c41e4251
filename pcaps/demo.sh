#!/bin/bash
# demo.sh MAILTAP -- what `make demo` shows.  No server needed.
#   1. pcaps/demo.pcap (25 minutes of a small office): the mail sessions
#      mailtap reports, as a table.
#   2. Three days of another small office, generated on the spot by
#      pcaps/gen/scenarios.py (deterministic): the first day is learned,
#      then a mailbox harvest and a polling script raise alerts.
set -eu
cd "$(dirname "$0")/.."
MAILTAP=${1:-build/mailtap}
out=build/demo
mkdir -p "$out"
rm -f "$out/sessions.jsonl" "$out/office-alerts.jsonl"

echo "== 1. mail sessions: $MAILTAP -r pcaps/demo.pcap --sessions $out/sessions.jsonl"
"$MAILTAP" -q -r pcaps/demo.pcap --sessions "$out/sessions.jsonl"
/usr/bin/python3 - "$out/sessions.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["event_type"] == "session"]
def mb(n): return "%.2f MB" % (n / 1e6) if n >= 1e5 else "%d B" % n
print("%-9s %-17s %-20s %-28s %6s %10s %10s  %s" % (
    "start", "client", "provider/service", "server name (by)", "dur", "down", "up", "end"))
for r in sorted(rows, key=lambda r: r["start"]):
    name = r.get("sni") or r.get("dns_name") or r.get("cert_name") or r["dest_ip"]
    print("%-9s %-17s %-20s %-28s %5.0fs %10s %10s  %s" % (
        r["start"][11:19], r["src_ip"], "%s/%s" % (r["provider"], r["service"]),
        "%s (%s)" % (name[:22], r["classified_by"]), r["duration"],
        mb(r["bytes_toclient"]), mb(r["bytes_toserver"]), r["end_reason"]))
PY
echo
echo "== 2. alerts: three days of a small office (generating build/demo/demo.pcap)"
/usr/bin/python3 pcaps/gen/scenarios.py --out "$out" --only demo >/dev/null
echo "   $MAILTAP -r $out/demo.pcap --alerts $out/office-alerts.jsonl"
"$MAILTAP" -q -r "$out/demo.pcap" --alerts "$out/office-alerts.jsonl"
/usr/bin/python3 - "$out/office-alerts.jsonl" <<'PY'
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
if not alerts:
    print("   (no alerts)")
for a in alerts:
    print("\n   %s  %-8s %3d  %s  %s -> %s/%s (%s)" % (
        a["ts"][:19].replace("T", " "), a["severity"].upper(), a["score"], a["kind"],
        a["src_ip"], a["provider"], a["service"], a.get("sni", "")))
    for r in a["reasons"]:
        print("        %-13s %.2f  %s" % (r["signal"], r["strength"], r["detail"]))
PY
echo
echo "Full records (JSON lines): $out/sessions.jsonl (docs/sessions.md),"
echo "$out/office-alerts.jsonl (docs/alerts.md)."
