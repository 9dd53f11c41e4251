#!/bin/bash
# tests/quic/run-tier.sh -- the generator's QUIC client Initials
# (pcaps/gen/quicpkt.py) and mailtap's reading of them against TLS.
#
# 1. quicpkt.py --selftest: RFC 9001 A.1 client/server keys, RFC 9369 A.1 v2
#    keys, the RFC 9001 A.2 protected client Initial byte for byte.
# 2. pcaps/gen/quicscen.py --pair writes pair-tls.pcap and pair-quic.pcap: the
#    same four web sessions (Gmail over IPv4 with a two-Initial hello, over
#    IPv6, over QUIC v2, OWA) once over TLS/TCP and once over QUIC; twice, and
#    the two runs must be byte-identical.
# 3. tshark opens pair-quic.pcap without expert errors and decrypts the SNI
#    of every Initial; tests/tools/ja4.py gives the JA4 (b and c parts) and JA3
#    mailtap reports.
# 4. mailtap --sessions on both captures: per session the same provider,
#    service, sni and classified_by; app_proto tls vs quic, quic_version, JA4
#    "t..." vs "q...", ALPN h2 vs h3; payload bytes each way within 3 % + 8 kB
#    (QUIC adds its per-packet overhead and 1250-byte Initials).
#
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/quic-pair
PY=/usr/bin/python3
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

if msg=$($PY pcaps/gen/quicpkt.py --selftest 2>&1); then
	ok "$msg"
else
	fail "quicpkt selftest: $(printf '%s' "$msg" | tail -1)"
fi

rm -rf "$OUT" "$OUT.2"
if $PY pcaps/gen/quicscen.py --pair "$OUT" >/dev/null 2>"$OUT.err" &&
	$PY pcaps/gen/quicscen.py --pair "$OUT.2" >/dev/null 2>>"$OUT.err"; then
	if cmp -s "$OUT/pair-quic.pcap" "$OUT.2/pair-quic.pcap" &&
		cmp -s "$OUT/pair-tls.pcap" "$OUT.2/pair-tls.pcap"; then
		ok "pair captures generated, deterministic ($(stat -c %s "$OUT/pair-quic.pcap") + $(stat -c %s "$OUT/pair-tls.pcap") bytes)"
	else
		fail "pair captures differ between two runs"
	fi
else
	fail "quicscen.py --pair: $(tail -1 "$OUT.err")"
	echo "#summary $passed $failed"
	exit 1
fi
rm -rf "$OUT.2" "$OUT.err"

exp=$(tshark -r "$OUT/pair-quic.pcap" -q -z expert,error 2>/dev/null | sed -n '/^Errors/,$p' | grep -E '^ +[0-9]+ ')
if [ -z "$exp" ]; then
	ok "pair-quic: no tshark expert errors"
else
	fail "pair-quic: tshark expert errors: $(printf '%s' "$exp" | head -3)"
fi
tshark -r "$OUT/pair-quic.pcap" -Y "quic && tls.handshake.type == 1" -T fields \
	-e ip.src -e ipv6.src -e quic.version -e tls.handshake.extensions_server_name \
	2>/dev/null >"$OUT/tshark-sni.txt"
$PY tests/tools/ja4.py "$OUT/pair-quic.pcap" >"$OUT/ja4.txt" 2>/dev/null
for f in pair-tls pair-quic; do
	"$BUILD/mailtap" -q -r "$OUT/$f.pcap" --sessions "$OUT/$f.sessions.jsonl" \
		>"$OUT/$f.log" 2>&1 || fail "$f: mailtap exit $?"
done

out=$($PY - "$OUT" <<'PYEOF'
import json, os, sys
sys.path.insert(0, "pcaps/gen")
import quicscen as QS
d = sys.argv[1]
res = []
def check(ok, what):
    res.append(("ok   " if ok else "FAIL ") + what)

def recs(name):
    out = {}
    for l in open(os.path.join(d, name + ".sessions.jsonl")):
        r = json.loads(l)
        if r["event_type"] == "session":
            out[r["src_ip"]] = r
    return out
tls, quic = recs("pair-tls"), recs("pair-quic")
# tshark: one decrypted hello per QUIC session, with its SNI and version
sni = {}
for l in open(os.path.join(d, "tshark-sni.txt")):
    f = l.rstrip("\n").split("\t")
    sni[f[0] or f[1]] = (f[2], f[3])
ja4 = [l.split() for l in open(os.path.join(d, "ja4.txt"))]
for ip, name, ver, pq, ex in QS.PAIR:
    t, q = tls.get(ip), quic.get(ip)
    if not t or not q:
        check(False, "%s: session record missing (tls %s, quic %s)" % (ip, bool(t), bool(q)))
        continue
    vs = "2" if ver == QS.Q.V2 else "1"
    tv = sni.get(ip)
    check(tv == ("0x%08x" % ver, name), "%s: tshark decrypts the Initial%s: %s" % (
        ip, "s (hello in two)" if pq else "", tv))
    same = all(t.get(k) == q.get(k) for k in ("provider", "service", "sni", "classified_by"))
    check(same and q.get("sni") == name and q.get("classified_by") == "sni",
          "%s: same identity over TLS and QUIC: %s" % (
              ip, "/".join(str(q.get(k)) for k in ("provider", "service", "sni",
                                                   "classified_by"))))
    check((t.get("app_proto"), q.get("app_proto"), q.get("quic_version"), t["proto"],
           q["proto"]) == ("tls", "quic", vs, "TCP", "UDP"),
          "%s: app_proto tls/quic, quic_version %s" % (ip, q.get("quic_version")))
    check(t.get("ja4", "")[:1] == "t" and q.get("ja4", "")[:1] == "q" and
          q.get("alpn") == "h3" and t.get("alpn") == "h2",
          "%s: JA4 %s / %s, ALPN %s / %s" % (ip, t.get("ja4"), q.get("ja4"), t.get("alpn"),
                                           q.get("alpn")))
    for k in ("payload_bytes_toserver", "payload_bytes_toclient"):
        a, b = t[k], q[k]
        check(abs(a - b) <= 0.03 * a + 8192, "%s: %s tls %d quic %d (%+.1f %%)" % (
            ip, k, a, b, 100.0 * (b - a) / max(a, 1)))
# JA4 b/c and JA3 against tshark (tests/tools/ja4.py prints "t" for QUIC too)
qj = {(r.get("ja4", "")[1:], r.get("ja3")) for r in quic.values()}
tj = {(f[3][1:], f[4]) for f in ja4}
check(qj == tj and len(tj) >= 1, "JA4/JA3 of the QUIC hellos match tests/tools/ja4.py: %s"
      % sorted(tj))
print("\n".join(res))
PYEOF
)
printf '%s\n' "$out"
passed=$((passed + $(printf '%s\n' "$out" | grep -c '^ok ')))
failed=$((failed + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
[ -n "$out" ] || fail "pair comparison produced nothing"
echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
