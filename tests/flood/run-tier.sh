#!/bin/bash
# tests/flood/run-tier.sh -- floods generated at test time (issue 8).
#
#   syn       2,000,000 random 5-tuples (one SYN each) through --max-flows 50000
#   dns       250,000 DNS answers for unique names, every one a new UDP flow
#   hello     20,000 TLS flows with 10-16 KB ClientHellos, 4000 open at once
#             (the hello reassembly pool holds 1024)
#   incident  pcaps/gen/scenarios.py's demo office (3 days, a 500 MB mailbox
#             harvest Wednesday 10:00) merged by timestamp with a 55-minute
#             flood (600k SYNs, 60k unique DNS answers, 2000 huge hellos)
#             around the harvest, replayed with --max-flows 5000 and 1000
#
# Each replay must exit 0, keep its peak RSS (getrusage, = /usr/bin/time -v
# "Maximum resident set size") under a bound derived from the configured
# table sizes (tests/flood/bounds.py; docs/performance.md explains it), and
# move the counters the flood is about.  The harvest must still raise its
# bulk_download alert, during the flood, and no flood host may alert.
#
# Captures go to $BUILD/flood and are regenerated only when the generators
# change (stamp).  Sizes: FLOOD_SYN, FLOOD_DNS, FLOOD_HELLO (env).
# Prints "ok ..." / "FAIL ..." lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MAILTAP=$BUILD/mailtap
OUT=$BUILD/flood
PY=/usr/bin/python3
GEN=tests/flood/gen_flood.py
NSYN=${FLOOD_SYN:-2000000}
NDNS=${FLOOD_DNS:-250000}
NHELLO=${FLOOD_HELLO:-20000}
MF=50000          # --max-flows of the syn/dns/hello replays
SLACK=$((8 * 1024 * 1024))
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "#summary $passed $failed"; exit 0; }
mkdir -p "$OUT"
tier_start=$(date +%s)

if [ ! -x "$MAILTAP" ]; then
	fail "setup: $MAILTAP not built"
	finish
fi

# --- 1. generate (skipped when the stamp matches) ------------------------------
stamp=$(cat "$GEN" pcaps/gen/generate.py pcaps/gen/fastpkt.py pcaps/gen/scenarios.py \
	deploy/catalog.json | sha256sum | cut -d' ' -f1)-$NSYN-$NDNS-$NHELLO
have=$(cat "$OUT/.stamp" 2>/dev/null)
missing=0
for f in syn dns hello incident demo; do [ -s "$OUT/$f.pcap" ] || missing=1; done
gen_all() {
	$PY "$GEN" syn "$OUT/syn.pcap" -n "$NSYN" --pps 200000 || return 1
	$PY "$GEN" dns "$OUT/dns.pcap" -n "$NDNS" --pps 100000 || return 1
	$PY "$GEN" hello "$OUT/hello.pcap" -n "$NHELLO" --wave 4000 || return 1
	$PY pcaps/gen/scenarios.py --out "$OUT" --only demo -j 1 || return 1
	# Wednesday 09:50 - 10:45 UTC, around the 10:00 harvest
	$PY "$GEN" mix "$OUT/mix.pcap" --start 3000 --seconds 3300 \
		--syn 600000 --dns 60000 --hello 2000 || return 1
	$PY "$GEN" merge "$OUT/incident.pcap" "$OUT/demo.pcap" "$OUT/mix.pcap" || return 1
	rm -f "$OUT/mix.pcap"
}
if [ "$have" = "$stamp" ] && [ $missing -eq 0 ]; then
	ok "generate: up to date ($OUT, ${stamp:0:12})"
else
	rm -f "$OUT/.stamp"
	start=$(date +%s)
	if log=$(gen_all 2>&1); then
		echo "$stamp" >"$OUT/.stamp"
		ok "generate: $OUT in $(($(date +%s) - start)) s"
		printf '%s\n' "$log" | sed 's/^/  /'
	else
		fail "generate: tests/flood/gen_flood.py failed"
		printf '%s\n' "$log" | tail -20 | sed 's/^/  /'
		finish
	fi
fi

# --- helpers ---------------------------------------------------------------------
# replay NAME ARGS...: runs mailtap; sets rc, rss (bytes), secs; log in $OUT/NAME.log
replay() {
	local name=$1 kb
	shift
	$PY tests/flood/rss.py "$OUT/$name.rss" "$MAILTAP" "$@" >/dev/null 2>"$OUT/$name.log"
	rc=$?
	read -r kb secs <"$OUT/$name.rss" || { kb=0; secs=0; }
	rss=$((kb * 1024))
}
# st NAME REGEX: the first number captured by REGEX (sed -E) in NAME's stats
st() { sed -nE "s/.*$2.*/\\1/p" "$OUT/$1.log" | head -1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
# table NAME: bytes of bounded table NAME at --max-flows $2
declare -A T
load_tables() { # load_tables MAX_FLOWS
	local k v
	T=()
	while read -r k v _; do T[$k]=$v; done < <($PY tests/flood/bounds.py "$MAILTAP" "$1")
}
# check_rss NAME BOUND WHAT: peak RSS of NAME's replay under BOUND
check_rss() {
	if [ "$rss" -gt 0 ] && [ "$rss" -le "$2" ]; then
		ok "$1: peak RSS $(mb "$rss") <= bound $(mb "$2") ($3)"
	else
		fail "$1: peak RSS $(mb "$rss") > bound $(mb "$2") ($3)"
	fi
}
check_rc() {
	if [ "$rc" -eq 0 ]; then
		ok "$1: exit 0 in ${secs} s"
	else
		fail "$1: exit $rc: $(head -3 "$OUT/$1.log" | tr '\n' ' ')"
	fi
}

# baseline: the same binary on a 55-packet capture (catalog, libraries, scratch)
replay base -r pcaps/nanosec.pcap --max-flows $MF
base=$rss
if [ "$rc" -ne 0 ] || [ "$base" -le 0 ]; then
	fail "baseline: mailtap -r pcaps/nanosec.pcap: exit $rc"
	finish
fi
load_tables $MF
ok "baseline: RSS $(mb "$base") on pcaps/nanosec.pcap; tables at --max-flows $MF:" \
	"flows $(mb "${T[flows]}"), idents $(mb "${T[idents]}"), reasm $(mb "${T[reasm]}")," \
	"dns $(mb "${T[dns_cache]}"), score $(mb "${T[score]}") (${T[sizes]})"

# --- 2. SYN flood ------------------------------------------------------------------
replay syn -r "$OUT/syn.pcap" --max-flows $MF
check_rc syn
created=$(st syn 'flows: +created ([0-9]+),')
evicted=$(st syn 'evicted ([0-9]+),')
maxact=$(st syn 'active [0-9]+ \(max ([0-9]+)\)')
# 2M distinct tuples in 10 s of packet time: nothing times out, so every flow
# beyond the table size is evicted
if [ "${created:-0}" -eq "$NSYN" ] && [ "${evicted:-0}" -eq $((NSYN - MF)) ] &&
	[ "${maxact:-0}" -eq $MF ]; then
	ok "syn: flows created $created, evicted $evicted (= created - max-flows), max active $maxact"
else
	fail "syn: flows created ${created:-?} evicted ${evicted:-?} max active ${maxact:-?}, want $NSYN, $((NSYN - MF)), $MF"
fi
check_rss syn $((base + T[flows] + SLACK)) "baseline + flow table + 8 MB"

# --- 3. DNS answer flood -------------------------------------------------------------
replay dns -r "$OUT/dns.pcap" --max-flows $MF
check_rc dns
resp=$(st dns 'dns responses ([0-9]+) ')
learned=$(st dns 'addresses learned ([0-9]+)\)')
evicted=$(st dns 'evicted ([0-9]+),')
if [ "${resp:-0}" -eq "$NDNS" ] && [ "${learned:-0}" -gt 65536 ] && [ "${evicted:-0}" -gt 0 ]; then
	ok "dns: dns responses $resp (all), addresses learned $learned (> 65536-entry cache), flows evicted $evicted"
else
	fail "dns: dns responses ${resp:-?} (want $NDNS), addresses learned ${learned:-?} (want > 65536), evicted ${evicted:-?}"
fi
check_rss dns $((base + T[flows] + T[dns_cache] + SLACK)) "baseline + flows + DNS cache + 8 MB"

# --- 4. huge ClientHellos ---------------------------------------------------------------
replay hello -r "$OUT/hello.pcap" --max-flows $MF
check_rc hello
hellos=$(st hello 'client hellos ([0-9]+) ')
incompl=$(st hello 'incomplete ([0-9]+)\)')
rfull=$(st hello 'reassembly ([0-9]+)')
created=$(st hello 'flows: +created ([0-9]+),')
# waves of 4000 open hellos against 1024 reassembly slots: 1024 per wave get a
# slot (parsed, or incomplete when one byte over the 16 KiB prefix), the rest
# are counted as pool-full
waves=$(((NHELLO + 3999) / 4000))
if [ "${hellos:-0}" -gt 0 ] && [ "${rfull:-0}" -gt 0 ] && [ "${incompl:-0}" -gt 0 ] &&
	[ $((hellos + incompl + rfull)) -eq "$NHELLO" ] && [ $((hellos + incompl)) -eq $((waves * 1024)) ]; then
	ok "hello: client hellos $hellos parsed + $incompl incomplete (16389-byte records) + $rfull pool-full = $NHELLO flows"
else
	fail "hello: client hellos ${hellos:-?}, incomplete ${incompl:-?}, reassembly pool full ${rfull:-?} (flows ${created:-?}; want sum $NHELLO, parsed+incomplete $((waves * 1024)))"
fi
check_rss hello $((base + T[flows] + T[idents] + T[reasm] + T[score] + SLACK)) \
	"baseline + flows + idents + reassembly + score tables + 8 MB"

# --- 5. an incident hidden in a flood ------------------------------------------------------
ceiling_of() { load_tables "$1"; echo $((base + T[flows] + T[idents] + T[reasm] + T[dns_cache] + T[score] + SLACK)); }
for mf in 5000 1000; do
	n=incident-$mf
	rm -f "$OUT/$n.alerts.jsonl"
	replay "$n" -r "$OUT/incident.pcap" --max-flows $mf --alerts "$OUT/$n.alerts.jsonl"
	check_rc "$n"
	evicted=$(st "$n" 'evicted ([0-9]+),')
	resp=$(st "$n" 'dns responses ([0-9]+) ')
	if msg=$($PY - "$OUT/$n.alerts.jsonl" "$OUT/demo.labels.json" <<'PYEOF' 2>&1
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
lab = json.load(open(sys.argv[2]))
inc = next(i for i in lab["incidents"] if i["kind"] == "bulk_download")
flood = ("2026-03-04T09:50:00", "2026-03-04T10:45:00")
hit = [a for a in alerts if a["src_ip"] == inc["host"] and a["kind"] == "bulk_download"
       and flood[0] <= a["ts"] <= flood[1] and a["ts"] <= inc["alert_deadline"]]
others = sorted({a["src_ip"] for a in alerts} - {inc["host"]})
assert hit, "no bulk_download alert for %s during the flood (alerts: %s)" % (
    inc["host"], [(a["kind"], a["src_ip"], a["ts"]) for a in alerts])
assert not others, "alerts for hosts other than the attacker: %s" % others[:5]
a = hit[0]
print("bulk_download %s score %d at %s (%d alerts, all %s)" % (
    a["src_ip"], a["score"], a["ts"][:19], len(alerts), inc["host"]))
PYEOF
	); then
		ok "$n: $msg; flows evicted $evicted, dns responses $resp"
	else
		fail "$n: $msg"
	fi
	[ "${evicted:-0}" -gt 0 ] || fail "$n: no flow evicted (evicted ${evicted:-?})"
	check_rss "$n" "$(ceiling_of $mf)" "baseline + every table at capacity + 8 MB"
done

echo "# flood tier took $(($(date +%s) - tier_start)) s"
finish
