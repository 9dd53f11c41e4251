#!/bin/bash
# demo.sh MAILTAP -- replay pcaps/demo.pcap and show what mailtap reports,
# as a table, then where the full JSON records are.  No server needed.
set -eu
cd "$(dirname "$0")/.."
MAILTAP=${1:-build/mailtap}
out=build/demo
mkdir -p "$out"
rm -f "$out/sessions.jsonl"
echo "== mailtap -r pcaps/demo.pcap --sessions $out/sessions.jsonl"
"$MAILTAP" -r pcaps/demo.pcap --sessions "$out/sessions.jsonl"
echo
/usr/bin/python3 - "$out/sessions.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["event_type"] == "session"]
def mb(n): return "%.2f MB" % (n / 1e6) if n >= 1e5 else "%d B" % n
print("%-10s %-24s %-16s %-26s %9s %11s %11s  %s" % (
    "start", "client", "provider/service", "server (sni)", "duration", "down", "up", "end"))
for r in sorted(rows, key=lambda r: r["start"]):
    prov = "%s/%s" % (r["provider"], r["service"]) if r.get("provider") else "-"
    srv = r.get("sni") or "%s:%d" % (r["dest_ip"], r["dest_port"])
    print("%-10s %-24s %-16s %-26s %8.0fs %11s %11s  %s" % (
        r["start"][11:19], "%s:%d" % (r["src_ip"], r["src_port"]), prov, srv[:26],
        r["duration"], mb(r["bytes_toclient"]), mb(r["bytes_toserver"]), r["end_reason"]))
PY
echo
echo "Full records (JSON lines, documented in docs/sessions.md): $out/sessions.jsonl"
