#!/bin/bash
# tests/docs/run-tier.sh -- the interface documents say what the program does.
#
#  - docs/sessions.md's example record is, byte for byte, the first session
#    record of `mailtap -r pcaps/demo.pcap --sessions -`;
#  - every field of the session records of a set of real captures (plain
#    TLS, STARTTLS, DNS, QUIC, VLAN, tunnels) is in docs/sessions.md's field
#    table, and every field of the table is in some record;
#  - every field of real alert records (the scenario captures, when the
#    scenario tier has generated them, else firsthour.pcap generated here)
#    is in docs/alerts.md's field table.
# Prints "ok ..." / "FAIL ..." and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
M=$BUILD/mailtap
PY=/usr/bin/python3
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
T=$(mktemp -d /tmp/mailtap-docs.XXXXXX)
trap 'rm -rf "$T"' EXIT

want=$("$M" -q -r pcaps/demo.pcap --sessions - | head -1)
have=$(sed -n '/^```json$/{n;p;q}' docs/sessions.md)
if [ -n "$want" ] && [ "$want" = "$have" ]; then
	ok "docs/sessions.md example is the first record of pcaps/demo.pcap"
else
	fail "docs/sessions.md example differs from the first record of pcaps/demo.pcap: $want"
fi

: >"$T/sessions.jsonl"
for f in pcaps/demo.pcap pcaps/vlan.pcap pcaps/nosni.pcap pcaps/ipv6.pcap \
	"$SHARED"/pcaps/ndpi/smtp-starttls.pcap "$SHARED"/pcaps/ndpi/quic-v2.pcapng \
	"$SHARED"/pcaps/zeek/vxlan.pcap "$SHARED"/pcaps/ndpi/vxlan.pcap; do
	[ -f "$f" ] && "$M" -q -r "$f" --sessions - --all-flows >>"$T/sessions.jsonl" 2>/dev/null
done
out=$($PY - "$T/sessions.jsonl" docs/sessions.md <<'PYEOF'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
doc = open(sys.argv[2]).read()
table = set()
for line in doc.splitlines():
    m = re.match(r"^\| `([^|]+)` \|", line)
    if m:
        for name in re.findall(r"`([a-z_0-9.]+)`", "`" + m.group(1) + "`"):
            table.add(name)
seen = set()
for r in recs:
    for k, v in r.items():
        seen.add(k)
undocumented = sorted(seen - table)
unseen = sorted(table - seen - {"tunnel", "vlan", "quic_version", "ech"})
print("records %d, fields %d, table %d" % (len(recs), len(seen), len(table)))
print("undocumented " + " ".join(undocumented))
print("unseen " + " ".join(unseen))
PYEOF
)
undoc=$(printf '%s\n' "$out" | sed -n 's/^undocumented //p')
unseen=$(printf '%s\n' "$out" | sed -n 's/^unseen //p')
info=$(printf '%s\n' "$out" | head -1)
if [ -z "$undoc" ]; then
	ok "every field of real session records is in docs/sessions.md ($info)"
else
	fail "session fields not in docs/sessions.md: $undoc"
fi
if [ -z "$unseen" ]; then
	ok "every field docs/sessions.md lists appears in a real record"
else
	fail "docs/sessions.md lists fields no record had: $unseen"
fi

# alerts: from the scenario captures if generated, else a first-day burst
alerts=$T/alerts.jsonl
: >"$alerts"
for f in "$BUILD"/scenarios/incidents.alerts.jsonl "$BUILD"/scenarios/firsthour.alerts.jsonl; do
	[ -s "$f" ] && cat "$f" >>"$alerts"
done
if [ ! -s "$alerts" ]; then
	# not generated yet (this tier runs before the scenario tier): the
	# one-day first-hour capture takes a few seconds
	if [ -s "$BUILD/scenarios/firsthour.pcap" ]; then
		fh=$BUILD/scenarios/firsthour.pcap
	else
		$PY pcaps/gen/scenarios.py --out "$T" --only firsthour -j 1 >/dev/null 2>&1
		fh=$T/firsthour.pcap
	fi
	[ -s "$fh" ] && "$M" -q -r "$fh" --alerts "$alerts" 2>/dev/null
fi
if [ -s "$alerts" ]; then
	out=$($PY - "$alerts" docs/alerts.md <<'PYEOF'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
doc = open(sys.argv[2]).read()
table = set()
for line in doc.splitlines():
    m = re.match(r"^\| (`[^|]+`) \|", line)
    if m:
        table.update(re.findall(r"`([a-z_0-9]+)`", m.group(1)))
seen = set(k for r in recs for k in r)
print("%d %s" % (len(recs), " ".join(sorted(seen - table))))
PYEOF
)
	read -r n undoc <<<"$out"
	if [ -z "${undoc:-}" ]; then
		ok "every field of $n real alert records is in docs/alerts.md"
	else
		fail "alert fields not in docs/alerts.md: $undoc"
	fi
else
	fail "no alert records to check: generating firsthour.pcap failed"
fi

# docs/architecture.md names real files and functions: every *.c/*.h it
# mentions exists (in sensor/, userspace/ or at its path), and every
# function it names as name() is defined in one of them.
missing=""
for f in $(grep -o '[A-Za-z0-9_./-]*\.[ch]\b' docs/architecture.md | sort -u); do
	[ -e "$f" ] || [ -e "sensor/$f" ] || [ -e "userspace/$f" ] || missing="$missing $f"
done
for fn in $(grep -o '\b[a-z_][a-z0-9_]*()' docs/architecture.md | tr -d '()' | sort -u); do
	grep -qE "^[a-z].*\b$fn\(" sensor/*.c userspace/*.c bpf/*.c 2>/dev/null || missing="$missing $fn()"
done
if [ -z "$missing" ]; then
	ok "docs/architecture.md names only files and functions that exist"
else
	fail "docs/architecture.md names what does not exist:$missing"
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
