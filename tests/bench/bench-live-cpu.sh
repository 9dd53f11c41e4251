#!/bin/bash
# tests/bench/bench-live-cpu.sh -- issue 6: userspace CPU per million packets
# of `mailtap -i` in each live capture mode (ebpf-tc, ebpf-xdp, pcap) for the
# same traffic.  A benchmark (root; called by `make bench`), never part of
# `make test`.
#
# Network: two network namespaces this script creates and removes (EXIT trap):
#   sender S (198.18.0.1) --veth s0/o0-- observer O (198.18.0.2: the test
#   catalog's Exchange Online address; 198.18.0.5: in no catalog range)
# mailtap runs in O on o0.  Per run, bounded in count and time, only between
# S and O:
#   - LIVE_UDP (200,000) datagrams of 64 bytes from S to 198.18.0.5, 64 port
#     pairs (tests/bench/live_cpu_udp.py; O binds the ports and never reads:
#     no ICMP replies), at most 30 s;
#   - LIVE_DL (3) HTTPS downloads of LIVE_SIZE (4,000,000) bytes from
#     198.18.0.5:443 (SNI www.example.net: not mail);
#   - LIVE_DL HTTPS downloads of the same file from 198.18.0.2:443 (SNI
#     outlook.office365.com: mail, in tests/live/data/catalog.json).
# TSO/GSO are off on both ends (gso_max_segs 1) so the link carries MTU-sized
# frames as a tap port would.
#
# Modes: none (no mailtap: the sender's baseline), ebpf-tc, ebpf-xdp, pcap;
# LIVE_RUNS (3) rounds, the modes interleaved.  Per run:
#   mailtap -i o0 --capture MODE --catalog tests/live/data/catalog.json --sessions /dev/null
# (no -q: the exit summary carries the kernel's filter-miss count and the
# frames pcap delivered; it is printed after the measurement).  Once it says
# "capturing on", 0.3 s later and after LIVE_IDLE (1) more idle second, the
# CPU time of its threads (user + system: /proc/PID/task/*/schedstat, ns) and
# the rx + tx packet counters of o0 are read; the traffic runs, 1.1 s more
# pass (a per-second flow pass), both are read again, then SIGTERM.
#   CPU s per million packets = CPU delta / link packet delta, median of the runs.
# Loading the programs (the verifier) and the exit are outside the window;
# start-up CPU and the idle rate are reported beside it.  The UDP sender
# reports its own CPU: with veth the receive side's softirq work, capture
# hooks included, runs in its context -- the kernel half of the cost.
#
#   tests/bench/bench-live-cpu.sh [--update-doc]
#     env: BUILD=build LIVE_RUNS=3 LIVE_UDP=200000 LIVE_DL=3 LIVE_SIZE=4000000
#     results: $BUILD/bench/live-cpu.md (+ the table in docs/performance.md
#     between <!-- live-cpu:begin --> and <!-- live-cpu:end --> with --update-doc)
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
MT=${LIVE_MT:-$BUILD/mailtap}
PY=/usr/bin/python3
RUNS=${LIVE_RUNS:-3}
NUDP=${LIVE_UDP:-200000}
NDL=${LIVE_DL:-3}
SIZE=${LIVE_SIZE:-4000000}
IDLE=${LIVE_IDLE:-1}
CATALOG=tests/live/data/catalog.json
MODES="ebpf-tc ebpf-xdp pcap"
UPDATE_DOC=0
[ "${1:-}" = "--update-doc" ] && UPDATE_DOC=1
OUTDIR=$BUILD/bench
RES=$OUTDIR/live-cpu.md

die() { echo "bench-live-cpu: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench-live-cpu: needs root (network namespaces, BPF): skipped" >&2; exit 0; }
[ -x "$MT" ] || die "$MT not built (make all)"
for tool in ip openssl curl bpftool; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not installed"
done
mkdir -p "$OUTDIR"

TMP=$(mktemp -d /tmp/mailtap-livecpu.XXXXXX)
TAG=mlc$$
NSS=${TAG}s
NSO=${TAG}o
PIDS=()
MPID=
PROGS="" # ids of the BPF programs our mailtap held, checked gone at the end

stop_mailtap() {
	[ -n "$MPID" ] || return 0
	kill -TERM "$MPID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
	MPID=
}
cleanup() {
	local p
	stop_mailtap
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	ip netns del "$NSO" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# a snapshot: a rebuild while the runs go on must not change the program measured
cp "$MT" "$TMP/mailtap" || die "cannot copy $MT"
MT=$TMP/mailtap

# --- network --------------------------------------------------------------------------
ip netns add "$NSS" && ip netns add "$NSO" &&
	ip link add s0 netns "$NSS" type veth peer name o0 netns "$NSO" &&
	ip -n "$NSS" addr add 198.18.0.1/29 dev s0 &&
	ip -n "$NSO" addr add 198.18.0.2/29 dev o0 &&
	ip -n "$NSO" addr add 198.18.0.5/29 dev o0 &&
	ip -n "$NSS" link set s0 gso_max_segs 1 &&
	ip -n "$NSO" link set o0 gso_max_segs 1 &&
	ip -n "$NSS" link set s0 up && ip -n "$NSO" link set o0 up &&
	ip -n "$NSS" link set lo up && ip -n "$NSO" link set lo up ||
	{ echo "bench-live-cpu: could not create the namespaces" >&2; exit 1; }

# --- servers (all in O, bounded by timeout) -------------------------------------------------
SRV=$TMP/srv
mkdir -p "$SRV/www"
head -c "$SIZE" /dev/urandom >"$SRV/www/data.bin"
for cn in outlook.office365.com www.example.net; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$cn" -keyout "$SRV/$cn.key" -out "$SRV/$cn.pem" >/dev/null 2>&1 ||
		die "openssl req failed"
done
(cd "$SRV/www" && exec ip netns exec "$NSO" timeout 600 openssl s_server -accept 198.18.0.2:443 \
	-cert "$SRV/outlook.office365.com.pem" -key "$SRV/outlook.office365.com.key" -WWW -quiet \
	>/dev/null 2>&1) &
PIDS+=($!)
(cd "$SRV/www" && exec ip netns exec "$NSO" timeout 600 openssl s_server -accept 198.18.0.5:443 \
	-cert "$SRV/www.example.net.pem" -key "$SRV/www.example.net.key" -WWW -quiet \
	>/dev/null 2>&1) &
PIDS+=($!)
ip netns exec "$NSO" timeout 600 "$PY" tests/bench/live_cpu_udp.py sink 198.18.0.5 5000 64 600 \
	>"$TMP/sink.out" 2>&1 &
PIDS+=($!)
up=0
for _ in $(seq 50); do
	if grep -q ready "$TMP/sink.out" 2>/dev/null &&
		ip netns exec "$NSO" bash -c "exec 3<>/dev/tcp/198.18.0.2/443 && exec 4<>/dev/tcp/198.18.0.5/443" 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
[ $up = 1 ] || die "servers did not come up"

# --- one run -------------------------------------------------------------------------------
linkpk() { # rx+tx packets of o0
	ip netns exec "$NSO" cat /sys/class/net/o0/statistics/rx_packets /sys/class/net/o0/statistics/tx_packets |
		awk '{ s += $1 } END { print s }'
}
cpu() { # CPU_NS of $MPID: user + system, all threads
	local ns=0 f a
	for f in /proc/"$MPID"/task/*/schedstat; do
		read -r a _ <"$f" && ns=$((ns + a))
	done
	echo "$ns"
}
traffic() { # the bounded load; returns non-zero when an exchange failed
	local rc=0 upid
	ip netns exec "$NSS" timeout 40 "$PY" tests/bench/live_cpu_udp.py send 198.18.0.1 198.18.0.5 \
		5000 64 "$NUDP" 64 30 >"$TMP/sent" 2>&1 &
	upid=$!
	for _ in $(seq "$NDL"); do
		ip netns exec "$NSS" timeout 15 curl -sk --max-time 10 --resolve www.example.net:443:198.18.0.5 \
			-o "$TMP/got" https://www.example.net/data.bin && cmp -s "$TMP/got" "$SRV/www/data.bin" || rc=1
		ip netns exec "$NSS" timeout 15 curl -sk --max-time 10 \
			--resolve outlook.office365.com:443:198.18.0.2 \
			-o "$TMP/got" https://outlook.office365.com/data.bin && cmp -s "$TMP/got" "$SRV/www/data.bin" || rc=1
	done
	wait "$upid" || rc=1
	return $rc
}

MODES="none $MODES"
: >"$TMP/runs.tsv"
run() { # run MODE ROUND; MODE none: no mailtap (the sender's baseline)
	local mode=$1 r=$2 err="$TMP/$1.$2.err" c0=0 c1=0 c2=0 p1 p2 w0 w1 w2 rc st n=0 scpu=0 sdur=1
	: >"$err"
	if [ "$mode" != none ]; then
		ip netns exec "$NSO" "$MT" -i o0 --capture "$mode" --catalog "$CATALOG" --sessions /dev/null \
			>/dev/null 2>"$err" &
		MPID=$!
		for _ in $(seq 100); do
			grep -q 'capturing on' "$err" 2>/dev/null && break
			kill -0 "$MPID" 2>/dev/null || break
			sleep 0.1
		done
		if ! grep -q 'capturing on' "$err"; then
			echo "bench-live-cpu: $mode: mailtap did not start: $(head -3 "$err" | tr '\n' ' ')" >&2
			stop_mailtap
			return 1
		fi
		PROGS="$PROGS $(bpftool prog show 2>/dev/null | awk -v pid="$MPID" '/^[0-9]+:/ { id = $1 }
			/pids / && $0 ~ "\\(" pid "\\)" { sub(":", "", id); print id }' | tr '\n' ' ')"
		sleep 0.3
		read -r c0 < <(cpu)
	fi
	w0=$(date +%s.%N)
	sleep "$IDLE"
	[ "$mode" = none ] || read -r c1 < <(cpu)
	p1=$(linkpk)
	w1=$(date +%s.%N)
	traffic
	rc=$?
	sleep 1.1 # one more per-second pass
	[ "$mode" = none ] || read -r c2 < <(cpu)
	p2=$(linkpk)
	w2=$(date +%s.%N)
	if [ "$mode" != none ]; then
		kill -TERM "$MPID"
		for _ in $(seq 100); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
		wait "$MPID"
		st=$?
		MPID=
		[ $st = 0 ] || echo "bench-live-cpu: $mode: mailtap exit status $st" >&2
	fi
	[ $rc = 0 ] || echo "bench-live-cpu: $mode: a client exchange failed" >&2
	read -r n scpu sdur <"$TMP/sent"
	[[ "$n $scpu $sdur" =~ ^[0-9]+\ [0-9.]+\ [0-9.]+$ ]] || { n=0 scpu=0 sdur=1; rc=1; }
	# mode round start_ns idle_ns idle_s win_ns win_s link_pk sent sender_cpu_s send_s err_file
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$c0" $((c1 - c0)) \
		"$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" $((c2 - c1)) \
		"$(awk -v a="$w1" -v b="$w2" 'BEGIN { print b - a }')" $((p2 - p1)) \
		"$n" "$scpu" "$sdur" "$err" >>"$TMP/runs.tsv"
	printf 'bench-live-cpu: %-8s run %s: %d link packets, mailtap %.1f ms CPU; sender %d datagrams, %.0f ms CPU, %.1f s\n' \
		"$mode" "$r" $((p2 - p1)) "$(awk -v n=$((c2 - c1)) 'BEGIN { print n / 1e6 }')" "$n" \
		"$(awk -v n="$scpu" 'BEGIN { print n * 1e3 }')" "$sdur" >&2
}

T_START=$(date +%s)
for r in $(seq "$RUNS"); do
	for mode in $MODES; do
		run "$mode" "$r" || exit 1
	done
done
T_ALL=$(( $(date +%s) - T_START ))

# --- table ----------------------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) vCPUs ($CPU), Linux $(uname -r), mailtap $("$MT" -V 2>&1 | head -1 | awk '{print $NF}'):"
	echo "\`tests/bench/bench-live-cpu.sh\` ($RUNS runs per mode, modes interleaved, medians; ${T_ALL} s in all)."
	echo "Traffic per run: $NUDP UDP datagrams (64-byte payload, not mail), $NDL HTTPS downloads of $SIZE bytes"
	echo "from a non-mail address and $NDL from the catalog's mail address, MTU-sized frames (TSO/GSO off)."
	echo ""
	"$PY" - "$TMP/runs.tsv" <<'PYEOF'
import re, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
res = {}
for m, r, start_ns, idle_ns, idle_s, ns, win, pk, sent, scpu, sdur, err in rows:
    t = open(err).read()
    kern = re.search(r"kernel saw (\d+) packets \((\d+) in flows\).*?(\d+) records .*filter misses (\d+)", t)
    read = re.search(r"read (\d+) packets", t)
    drop = re.search(r"capture: dropped (\d+)", t)
    pk = int(pk)
    d = {"pk": pk, "cpu": int(ns) / 1e9, "start": int(start_ns) / 1e9,
         "idle": int(idle_ns) / 1e9 / float(idle_s), "win": float(win),
         "sent": int(sent), "scpu": float(scpu), "pps": int(sent) / float(sdur),
         "drop": int(drop.group(1)) if drop else 0}
    d["s_us"] = d["scpu"] / d["sent"] * 1e6 if d["sent"] else float("nan")
    if m == "none":
        d["seen"] = d["up"] = 0
        d["miss"] = float("nan")
    elif kern:
        saw, miss = int(kern.group(1)), int(kern.group(4))
        d["seen"] = saw
        d["up"] = int(kern.group(3))
        d["miss"] = miss / saw if saw else float("nan")
    else:
        got = int(read.group(1)) if read else 0
        d["seen"] = pk
        d["up"] = got
        d["miss"] = 1 - got / pk if pk else float("nan")
    d["per_m"] = d["cpu"] / (pk / 1e6) if pk else float("nan")
    d["above"] = d["cpu"] - d["idle"] * d["win"]
    res.setdefault(m, []).append(d)
med = lambda m, k: statistics.median(x[k] for x in res[m])
order = [m for m in ("ebpf-tc", "ebpf-xdp", "pcap") if m in res]
print("| mode | link packets (rx+tx) | packets the hook saw | filter-miss ratio | to userspace: ring records / frames "
      "| mailtap CPU in the window (user + sys) | **mailtap CPU s per million packets** | each run "
      "| idle | window CPU above idle | start-up CPU |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
for m in order:
    runs = ", ".join("%.4f" % x["per_m"] for x in res[m])
    print("| %s | %d | %d | %.3f | %d | %.1f ms | **%.4f** | %s | %.2f ms/s | %.1f ms | %.0f ms |" % (
        m, med(m, "pk"), med(m, "seen"), med(m, "miss"), med(m, "up"), med(m, "cpu") * 1e3,
        med(m, "per_m"), runs, med(m, "idle") * 1e3, med(m, "above") * 1e3, med(m, "start") * 1e3))
print()
w = statistics.median(x["win"] for m in res for x in res[m])
drops = sum(x["drop"] for m in res for x in res[m])
print("Window: the traffic plus 1.1 s, median %.1f s. pcap ring drops in all runs: %d." % (w, drops))
if "pcap" in res:
    print(" ".join("pcap / %s: %.1fx." % (m, med("pcap", "per_m") / med(m, "per_m"))
                   for m in ("ebpf-tc", "ebpf-xdp") if m in res and med(m, "per_m") > 0))
print()
print("The kernel side, from the UDP sender's own CPU (user + sys; without IRQ time accounting the veth")
print("receive path -- softirq, the TC/XDP program or the packet socket's filter -- runs in its context):")
print()
print("| capture | sender CPU per datagram | vs no capture | datagrams/s |")
print("|---|---:|---:|---:|")
base = med("none", "s_us") if "none" in res else None
for m in (["none"] if "none" in res else []) + order:
    diff = "" if base is None or m == "none" else "%+.2f µs" % (med(m, "s_us") - base)
    print("| %s | %.2f µs | %s | %.0f |" % ("none (no mailtap)" if m == "none" else m, med(m, "s_us"), diff,
                                          med(m, "pps")))
PYEOF
} >"$RES"
cat "$RES"

if [ $UPDATE_DOC -eq 1 ] && [ -f docs/performance.md ]; then
	"$PY" - docs/performance.md "$RES" <<'PYEOF'
import sys
doc, res = sys.argv[1], open(sys.argv[2]).read()
t = open(doc).read()
a, b = "<!-- live-cpu:begin -->", "<!-- live-cpu:end -->"
if a in t and b in t:
    t = t[:t.index(a) + len(a)] + "\n" + res + t[t.index(b):]
    open(doc, "w").write(t)
    print("bench-live-cpu: updated", doc, file=sys.stderr)
PYEOF
fi

# --- tear-down leaves nothing behind ----------------------------------------------------------
cleanup
trap - EXIT
left=""
for _ in $(seq 50); do
	left=""
	ip netns list | grep -q "^$TAG" && left="$left netns"
	ip link show | grep -q "$TAG" && left="$left links"
	for id in $PROGS; do bpftool prog show id "$id" >/dev/null 2>&1 && left="$left prog-$id"; done
	[ -z "$left" ] && break
	sleep 0.1
done
if [ -n "$left" ]; then
	echo "bench-live-cpu: left behind:$left" >&2
	exit 1
fi
echo "bench-live-cpu: teardown clean; results in $RES" >&2
