#!/bin/bash
# tests/bench/bench.sh -- `make bench` (never part of `make test`).
#
# On one generated mixed capture (build/bench/mixed.pcap: ~3.2 M packets,
# mostly non-mail web flows, 4000 mail TLS sessions with their DNS lookups,
# 100k unique DNS answers; tests/bench/gen_bench.py, deterministic) it times,
# side by side in one run:
#   mailtap -q -r FILE                  vs  tcpdump -r FILE -w /dev/null (libpcap's read floor)
#   mailtap -q -r FILE                  vs  ndpiReader -q -i FILE (nDPI)
#   mailtap -q -r SLICE                 vs  tshark -r SLICE -q (first 200k packets)
# with hyperfine (median of RUNS runs, warm page cache); then peak RSS and
# bytes per tracked flow with 1,000,000 concurrent flows (--max-flows
# 1100000), a perf (or callgrind) profile of mailtap, and the Redis and BPF
# benches when present.  Results: build/bench/results.md; with
# --update-doc also the generated section of docs/performance.md.
#
#   tests/bench/bench.sh [--update-doc]      (env: RUNS=5, BENCH_PACKETS=3000000)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MAILTAP=$BUILD/mailtap
OUT=$BUILD/bench
PY=/usr/bin/python3
RUNS=${RUNS:-5}
NPKT=${BENCH_PACKETS:-3000000}
UPDATE_DOC=0
[ "${1:-}" = "--update-doc" ] && UPDATE_DOC=1
mkdir -p "$OUT"
RES=$OUT/results.md
: >"$RES"
say() { printf '%s\n' "$*" | tee -a "$RES"; }

[ -x "$MAILTAP" ] || { echo "bench: $MAILTAP not built (make all)" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------
need=""
command -v hyperfine >/dev/null || need="$need hyperfine"
command -v ndpiReader >/dev/null || need="$need libndpi-bin"
command -v tcpdump >/dev/null || need="$need tcpdump"
command -v tshark >/dev/null || need="$need tshark"
command -v editcap >/dev/null || need="$need wireshark-common"
if [ -n "$need" ]; then
	echo "bench: installing$need" >&2
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null ||
		{ echo "bench: apt-get install$need failed" >&2; exit 1; }
fi

# --- captures (regenerated only when the generators change) ---------------------------
stamp=$(cat tests/bench/gen_bench.py tests/flood/gen_flood.py pcaps/gen/generate.py \
	pcaps/gen/fastpkt.py | sha256sum | cut -d' ' -f1)-$NPKT
if [ "$(cat "$OUT/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -s "$OUT/mixed.pcap" ] ||
	[ ! -s "$OUT/conc1m.pcap" ]; then
	rm -f "$OUT/.stamp"
	echo "bench: generating $OUT/mixed.pcap and $OUT/conc1m.pcap" >&2
	$PY tests/bench/gen_bench.py "$OUT/mixed.pcap" -n "$NPKT" >&2 || exit 1
	$PY tests/flood/gen_flood.py conc "$OUT/conc1m.pcap" -n 1000000 --pps 100000 >&2 || exit 1
	echo "$stamp" >"$OUT/.stamp"
fi
rm -f "$OUT/slice.pcap"
editcap -r "$OUT/mixed.pcap" "$OUT/slice.pcap" 1-200000 >/dev/null 2>&1 ||
	tcpdump -r "$OUT/mixed.pcap" -c 200000 -w "$OUT/slice.pcap" 2>/dev/null

# packets and wire bytes, from mailtap's own count
counts() { "$MAILTAP" -r "$1" 2>&1 | sed -nE 's/^mailtap: read ([0-9]+) packets, ([0-9]+) bytes on the wire.*/\1 \2/p'; }
read -r PK WB < <(counts "$OUT/mixed.pcap")
read -r SPK SWB < <(counts "$OUT/slice.pcap")
FSZ=$(stat -c %s "$OUT/mixed.pcap")

# --- machine ---------------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
say "## Results ($(date -u +%Y-%m-%d), $(nproc) CPUs, $CPU, Linux $(uname -r))"
say ""
say "Reproduce: \`make bench\` (= \`tests/bench/bench.sh\`; RUNS=$RUNS hyperfine runs, median, warm page cache)."
say "mailtap $("$MAILTAP" -V 2>&1 | head -1 | awk '{print $NF}'), $(tcpdump --version 2>&1 | sed -n 1p),"
say "$(ndpiReader -h 2>&1 | sed -n 's/.*\(nDPI [0-9.]*\).*/\1/p' | head -1), $(tshark -v 2>/dev/null | head -1 | awk '{print $1, $3}')."
say ""
say "Capture \`$OUT/mixed.pcap\`: $PK packets, $((WB / 1000000)) MB on the wire, $((FSZ / 1000000)) MB file" \
	"(data frames captured at 128 bytes), mostly non-mail web flows plus 4000 mail TLS sessions and 100k DNS answers."
say "Slice: first $SPK packets ($((SWB / 1000000)) MB on the wire)."
say ""

# --- timings ---------------------------------------------------------------------------
hf() { # hf NAME RUNS CMD: median seconds of CMD
	hyperfine -N --style none --warmup 1 --runs "$2" --export-json "$OUT/$1.json" "$3" >/dev/null 2>&1 ||
		hyperfine --style none --warmup 1 --runs "$2" --export-json "$OUT/$1.json" "$3" >/dev/null 2>&1 ||
		{ echo "nan"; return; }
	$PY -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$OUT/$1.json"
}
peak() { # peak CMD...: peak RSS in KiB
	$PY tests/flood/rss.py "$OUT/rss.tmp" "$@" >/dev/null 2>&1
	cut -d' ' -f1 "$OUT/rss.tmp"
}
echo "bench: timing (hyperfine, $RUNS runs each)" >&2
t_mt=$(hf mailtap "$RUNS" "$MAILTAP -q -r $OUT/mixed.pcap")
t_td=$(hf tcpdump "$RUNS" "tcpdump -r $OUT/mixed.pcap -w /dev/null")
t_nd=$(hf ndpi "$(( RUNS < 3 ? RUNS : 3 ))" "ndpiReader -q -i $OUT/mixed.pcap")
t_ms=$(hf mailtap-slice "$RUNS" "$MAILTAP -q -r $OUT/slice.pcap")
t_ts=$(hf tshark-slice "$(( RUNS < 3 ? RUNS : 3 ))" "tshark -r $OUT/slice.pcap -q")
r_mt=$(peak "$MAILTAP" -q -r "$OUT/mixed.pcap")
r_td=$(peak tcpdump -r "$OUT/mixed.pcap" -w /dev/null)
r_nd=$(peak ndpiReader -q -i "$OUT/mixed.pcap")
r_ms=$(peak "$MAILTAP" -q -r "$OUT/slice.pcap")
r_ts=$(peak tshark -r "$OUT/slice.pcap" -q)

row() { # row TOOL FILE SECONDS PKTS WIREBYTES RSSKB REF_SECONDS
	awk -v tool="$1" -v file="$2" -v t="$3" -v p="$4" -v b="$5" -v r="$6" -v ref="$7" 'BEGIN {
		if (t == "nan" || t <= 0) { printf "| %s | %s | failed | | | | |\n", tool, file; exit }
		printf "| %s | %s | %.3f s | %.2f Mpps | %.2f Gbit/s | %s | %.0f MB |\n", tool, file, t,
			p / t / 1e6, b * 8 / t / 1e9, (ref == "" ? "1.00" : sprintf("%.2f", ref / t)), r / 1024 }'
}
say "| tool | input | median wall | packets/s | wire Gbit/s | speed vs mailtap (mailtap time / tool time) | peak RSS |"
say "|---|---|---:|---:|---:|---:|---:|"
say "$(row "mailtap -q -r" mixed "$t_mt" "$PK" "$WB" "$r_mt" "")"
say "$(row "tcpdump -r -w /dev/null (libpcap read floor)" mixed "$t_td" "$PK" "$WB" "$r_td" "$t_mt")"
say "$(row "ndpiReader -q -i" mixed "$t_nd" "$PK" "$WB" "$r_nd" "$t_mt")"
say "$(row "mailtap -q -r" slice "$t_ms" "$SPK" "$SWB" "$r_ms" "")"
say "$(row "tshark -r -q" slice "$t_ts" "$SPK" "$SWB" "$r_ts" "$t_ms")"
say ""
say "$(awk -v a="$t_mt" -v b="$t_td" -v c="$t_nd" -v d="$t_ms" -v e="$t_ts" 'BEGIN {
	printf "mailtap reaches %.2fx tcpdump'"'"'s read throughput (target T1 >= 0.5x), is %.1fx faster than ndpiReader (T2 >= 5x) and %.0fx faster than tshark on the slice.", b / a, c / a, e / d }')"
say ""

# --- memory per tracked flow -------------------------------------------------------------
echo "bench: 1M concurrent flows" >&2
r0=$(peak "$MAILTAP" -q -r pcaps/nanosec.pcap --max-flows 1100000)
r1=$(peak "$MAILTAP" -r "$OUT/conc1m.pcap" --max-flows 1100000)
"$MAILTAP" -r "$OUT/conc1m.pcap" --max-flows 1100000 2>"$OUT/conc1m.log" >/dev/null
act=$(sed -nE 's/.*active [0-9]+ \(max ([0-9]+)\).*/\1/p' "$OUT/conc1m.log")
sz=$($PY tests/flood/bounds.py "$MAILTAP" 1100000 | sed -n 's/^sizes [a-z-]* flow=\([0-9]*\).*/\1/p')
say "Memory with 1,000,000 concurrent established TCP flows (\`$OUT/conc1m.pcap\`, 3 M packets, --max-flows 1100000):"
say ""
say "| | peak RSS |"
say "|---|---:|"
say "| before: same options, 55-packet capture | $((r0 / 1024)) MB |"
say "| after: $act flows in the table at once | $((r1 / 1024)) MB |"
say "| per tracked flow | $(( (r1 - r0) * 1024 / (act > 0 ? act : 1) )) bytes (sizeof(struct flow) = $sz, + 4-byte hash bucket) |"
say ""

# --- profile -----------------------------------------------------------------------------
echo "bench: profile" >&2
say "Profile of \`mailtap -q -r mixed.pcap\` (top functions, self time):"
say ""
say '```'
if perf record -q -e cpu-clock -o "$OUT/perf.data" -- "$MAILTAP" -q -r "$OUT/mixed.pcap" >/dev/null 2>&1; then
	perf report -i "$OUT/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -15 | awk '{printf "%8s  %s %s\n", $1, $2, $3}' | tee -a "$RES"
	say '```'
	say "(perf record -e cpu-clock; hardware counters are not available in this VM)"
else
	valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$MAILTAP" -q -r "$OUT/slice.pcap" >/dev/null 2>&1
	callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -15 | tee -a "$RES"
	say '```'
	say "(valgrind --tool=callgrind on the slice; perf record did not work here)"
fi
say ""

# --- Redis and BPF benches -----------------------------------------------------------------
if [ -x tests/bench/bench-redis.sh ] && command -v redis-server >/dev/null; then
	echo "bench: tests/bench/bench-redis.sh" >&2
	say "Redis sink (\`tests/bench/bench-redis.sh\`):"
	say ""
	say '```'
	tests/bench/bench-redis.sh 2>&1 | tail -40 | tee -a "$RES"
	say '```'
	say ""
fi
if [ -f tests/bench/bench-bpf.c ] && [ -f bpf/bpf.mk ]; then
	echo "bench: make bpf-bench && $BUILD/tests/bench/bench-bpf" >&2
	say "BPF programs (\`make bpf-bench && $BUILD/tests/bench/bench-bpf\`):"
	say ""
	say '```'
	if make --no-print-directory BUILD="$BUILD" bpf-bench >"$OUT/bpf-build.log" 2>&1; then
		"$BUILD/tests/bench/bench-bpf" 2>&1 | tee -a "$RES"
	else
		say "make bpf-bench failed:"
		tail -5 "$OUT/bpf-build.log" | tee -a "$RES"
	fi
	say '```'
fi
if [ -x "$BUILD/tests/bench/bench-quic" ]; then
	echo "bench: $BUILD/tests/bench/bench-quic" >&2
	say ""
	say "QUIC identification (\`$BUILD/tests/bench/bench-quic\`):"
	say ""
	"$BUILD/tests/bench/bench-quic" 2>&1 | tee -a "$RES"
	say ""
fi

[ "$(id -u)" = 0 ] && [ -x tests/bench/bench-live-cpu.sh ] && { echo "bench: tests/bench/bench-live-cpu.sh (results in $OUT/live-cpu.md)" >&2; BUILD="$BUILD" tests/bench/bench-live-cpu.sh $([ $UPDATE_DOC -eq 1 ] && echo --update-doc) >/dev/null; }
if [ $UPDATE_DOC -eq 1 ] && [ -f docs/performance.md ]; then
	$PY - docs/performance.md "$RES" <<'PYEOF'
import sys
doc, res = sys.argv[1], open(sys.argv[2]).read()
t = open(doc).read()
a, b = "<!-- bench:begin -->", "<!-- bench:end -->"
if a in t and b in t:
    t = t[:t.index(a) + len(a)] + "\n" + res + t[t.index(b):]
    open(doc, "w").write(t)
    print("bench: updated", doc, file=sys.stderr)
PYEOF
fi
echo "bench: results in $RES" >&2
