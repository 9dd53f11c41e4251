#!/bin/bash
# tests/formats/run-tier.sh -- --format eve and --format ecs records of real
# captures against the ecosystem's schemas (docs/formats.md).
#
# 1. Sessions of pcaps/demo.pcap and of shared captures with TLS (SNI, ECH,
#    STARTTLS), QUIC (v1, v2, gQUIC Q046/T051, mvfst), IPv6, VLANs and
#    tunnels, interim updates included; alerts of a generated first-day bulk
#    download (tests/formats/gen_bulk.py) and of build/scenarios/incidents.pcap
#    when the scenarios tier has made it.
# 2. EVE: every record validates against Suricata's schema
#    ($SHARED/reference/schemas/suricata-eve-schema.json, python3-jsonschema)
#    with `mailtap` taken out, the only key the schema does not know.
#    ECS: every field outside `mailtap` is in ecs-fields.csv, of its type.
# 3. EVE flow_id is the same under another hash seed and unique per flow;
#    --format native is the default output byte for byte; a bad --format
#    value is a usage error.
#
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
M=$BUILD/mailtap
PY=/usr/bin/python3
SCHEMAS=$SHARED/reference/schemas
OUT=$BUILD/formats
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

if [ ! -x "$M" ]; then echo "FAIL no $M (make BUILD=$BUILD)"; echo "#summary 0 1"; exit 1; fi
if ! $PY -c 'import jsonschema' 2>/dev/null; then
	echo "FAIL python3-jsonschema is not installed (make deps)"; echo "#summary 0 1"; exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"

# name <TAB> mailtap arguments (sessions and alerts go to stdout)
cases=$(cat <<EOF
demo	-r pcaps/demo.pcap --sessions -
demo-all-updates	-r pcaps/demo.pcap --sessions - --all-flows --interim 1
ipv6	-r pcaps/ipv6.pcap --sessions -
vlan	-r pcaps/vlan.pcap --sessions -
google_ssl	-r $SHARED/pcaps/ndpi/google_ssl.pcap --sessions - --all-flows
tls_ech	-r $SHARED/pcaps/ndpi/tls_ech.pcapng --sessions - --all-flows
smtp-starttls	-r $SHARED/pcaps/ndpi/smtp-starttls.pcap --sessions - --all-flows
pop3_stls	-r $SHARED/pcaps/ndpi/pop3_stls.pcap --sessions - --all-flows
quic-v2	-r $SHARED/pcaps/ndpi/quic-v2.pcapng --sessions - --all-flows
quic_q46	-r $SHARED/pcaps/ndpi/quic_q46.pcap --sessions - --all-flows
quic_t51	-r $SHARED/pcaps/ndpi/quic_t51.pcap --sessions - --all-flows
quic-mvfst-27	-r $SHARED/pcaps/ndpi/quic-mvfst-27.pcapng --sessions - --all-flows
ja4-tls-quic	-r $SHARED/pcaps/suricata-verify/ja4-tls-quic.pcap --sessions - --all-flows
twovlan	-r $SHARED/pcaps/arkime/twovlan.pcap --sessions - --all-flows
gre-erspan-vxlan	-r $SHARED/pcaps/arkime/gre-erspan-vxlan.pcap --sessions - --all-flows
community-id-ipv6	-r $SHARED/pcaps/community-id-spec/ipv6.pcap --sessions - --all-flows
alerts-bulk	-r $OUT/bulk.pcap --alerts - --sessions -
EOF
)
if [ -f "$BUILD/scenarios/incidents.pcap" ]; then
	cases="$cases
alerts-incidents	-r $BUILD/scenarios/incidents.pcap --alerts -"
fi

if ! $PY tests/formats/gen_bulk.py "$OUT/bulk.pcap" 2>"$OUT/gen.err"; then
	fail "gen_bulk.py: $(tail -1 "$OUT/gen.err")"
fi

eve_args=()
ecs_args=()
while IFS=$'\t' read -r name args; do
	[ -n "$name" ] || continue
	eval "set -- $args"
	for fmt in eve ecs; do
		if ! MAILTAP_SEED=1 TZ=UTC "$M" -q "$@" --format $fmt --sensor-id formats \
			>"$OUT/$name.$fmt.jsonl" 2>"$OUT/$name.$fmt.err"; then
			fail "$name --format $fmt: exit $?: $(head -1 "$OUT/$name.$fmt.err")"
		fi
	done
	eve_args+=("$name=$OUT/$name.eve.jsonl")
	ecs_args+=("$name=$OUT/$name.ecs.jsonl")
done <<<"$cases"

tally() { # the checker's own ok/FAIL lines and summary
	local line p f
	printf '%s\n' "$1" | grep -v '^#summary'
	line=$(printf '%s\n' "$1" | grep '^#summary' | tail -1)
	if [ -z "$line" ]; then
		fail "check_formats.py: $(printf '%s\n' "$1" | tail -3 | tr '\n' ' ')"
		return
	fi
	read -r _ p f <<<"$line"
	passed=$((passed + p))
	failed=$((failed + f))
}
tally "$($PY tests/formats/check_formats.py eve "$SCHEMAS/suricata-eve-schema.json" "${eve_args[@]}" 2>&1)"
tally "$($PY tests/formats/check_formats.py ecs "$SCHEMAS/ecs-fields.csv" "${ecs_args[@]}" 2>&1)"

# what the inputs must have exercised
cov=$($PY - "$OUT" <<'PY' 2>&1
import glob, json, sys
out = sys.argv[1]
def recs(fmt):
    for p in sorted(glob.glob("%s/*.%s.jsonl" % (out, fmt))):
        for line in open(p):
            if line.strip():
                yield json.loads(line)
eve = list(recs("eve"))
ecs = list(recs("ecs"))
need = {
    "EVE tls{} with sni and ja4": any("sni" in r.get("tls", {}) and "ja4" in r["tls"] for r in eve),
    "EVE quic{} with version and sni": any("version" in r.get("quic", {}) and "sni" in r["quic"] for r in eve),
    "EVE alert": any(r["event_type"] == "alert" for r in eve),
    "EVE interim update": any(r.get("mailtap", {}).get("update") for r in eve),
    "EVE vlan": any("vlan" in r for r in eve),
    "EVE mailtap.tunnel": any("tunnel" in r.get("mailtap", {}) for r in eve),
    "EVE IPv6": any(":" in r.get("src_ip", "") for r in eve),
    "ECS alert with rule.id": any(r["event"]["kind"] == "alert" and "id" in r.get("rule", {}) for r in ecs),
    "ECS tls.client.server_name": any("server_name" in r.get("tls", {}).get("client", {}) for r in ecs),
    "ECS network.vlan.id": any("vlan" in r.get("network", {}) for r in ecs),
}
missing = [k for k, v in need.items() if not v]
print("missing: " + ", ".join(missing) if missing else "all")
PY
)
if [ "$cov" = all ]; then ok "the inputs exercise tls, quic, alerts, updates, vlan, tunnels, IPv6"; else fail "coverage: $cov"; fi

# flow_id: a function of the flow, not of the run's hash seed or flow number
MAILTAP_SEED=99 TZ=UTC "$M" -q -r pcaps/demo.pcap --sessions - --all-flows --format eve \
	--sensor-id formats >"$OUT/demo-seed99.eve.jsonl" 2>/dev/null
MAILTAP_SEED=1 TZ=UTC "$M" -q -r pcaps/demo.pcap --sessions - --all-flows --format eve \
	--sensor-id formats >"$OUT/demo-seed1.eve.jsonl" 2>/dev/null
msg=$($PY - "$OUT/demo-seed1.eve.jsonl" "$OUT/demo-seed99.eve.jsonl" <<'PY' 2>&1
import json, sys
def ids(p):
    return {(r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"], r["flow"]["start"]): r["flow_id"]
            for r in map(json.loads, open(p))}
a, b = ids(sys.argv[1]), ids(sys.argv[2])
if a != b:
    print("flow_id differs between MAILTAP_SEED=1 and 99")
elif len(set(a.values())) != len(a):
    print("flow_id not unique: %d flows, %d ids" % (len(a), len(set(a.values()))))
else:
    print("same %d" % len(a))
PY
)
case "$msg" in same*) ok "EVE flow_id stable across hash seeds, unique per flow (${msg#same } flows)" ;;
*) fail "EVE flow_id: $msg" ;; esac

# tls.ja3.string is the string tls.ja3.hash is the MD5 of (the hash itself
# is checked against tshark by the ident tier)
msg=$(cat "$OUT"/*.eve.jsonl | $PY -c '
import hashlib, json, sys
n = bad = 0
for line in sys.stdin:
    r = json.loads(line)
    j = (r.get("tls") or {}).get("ja3") or {}
    if "string" in j:
        n += 1
        bad += hashlib.md5(j["string"].encode()).hexdigest() != j["hash"]
print(n, bad)')
read -r nj3 badj3 <<<"$msg"
if [ "${nj3:-0}" -gt 0 ] && [ "${badj3:-1}" = 0 ]; then
	ok "EVE tls.ja3.string hashes to tls.ja3.hash ($nj3 records)"
else
	fail "EVE tls.ja3.string: $msg"
fi

# native stays the default, byte for byte
MAILTAP_SEED=1 TZ=UTC "$M" -q -r pcaps/demo.pcap --sessions - >"$OUT/native-default.jsonl" 2>&1
MAILTAP_SEED=1 TZ=UTC "$M" -q -r pcaps/demo.pcap --sessions - --format native >"$OUT/native.jsonl" 2>&1
if [ -s "$OUT/native.jsonl" ] && cmp -s "$OUT/native-default.jsonl" "$OUT/native.jsonl"; then
	ok "--format native is the default output"
else
	fail "--format native differs from the default output"
fi

"$M" -r pcaps/demo.pcap --sessions - --format xml >/dev/null 2>"$OUT/bad.err"
rc=$?
if [ $rc = 2 ] && grep -q "'xml' is not native, eve or ecs" "$OUT/bad.err"; then
	ok "--format xml is a usage error"
else
	fail "--format xml: exit $rc, $(head -1 "$OUT/bad.err")"
fi

echo "#summary $passed $failed"
