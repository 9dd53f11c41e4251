#!/bin/bash
# tests/bpf/run-tier.sh -- the BPF tier (root): ABI, BPF_PROG_TEST_RUN
# replays compared with the offline path, end-to-end TLS through a veth
# pair between two test namespaces with TC and XDP, and tear-down.
# Prints "ok NAME" / "FAIL NAME: why" and ends with "#summary PASSED FAILED".
#
# Traffic only flows between the two namespaces this script creates
# (198.18.0.1 <-> 198.18.0.2 on a veth pair), bounded by timeouts; the
# EXIT trap removes them (and with them the links, qdiscs and programs)
# whatever happens.
set -u
PROGS_BEFORE=$(bpftool prog show 2>/dev/null | grep -cE 'capture_(tc|xdp)')
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
PY=/usr/bin/python3
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "#summary $pass $fail"; exit 0; }

if [ "$(id -u)" != 0 ]; then
	echo "# bpf tier needs root: skipped"
	finish
fi
if ! out=$(make --no-print-directory -s BUILD="$BUILD" bpf-tests 2>&1); then
	bad build "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"
	finish
fi

TMP=$(mktemp -d /tmp/mailtap-bpf.XXXXXX)
TAG=mt$$
NSC=${TAG}c
NSS=${TAG}s
VC=${TAG}c0
VS=${TAG}s0
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	ip link del "$VC" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- 1. ABI: the kernel object's BTF has the sizes capture.h asserts ---
btf=$(bpftool btf dump file "$BUILD/bpf/capture.bpf.o" 2>/dev/null)
abi_ok=1
# (the event structs live only in locals, so BTF does not describe them; the
# _Static_asserts compiled into both sides cover them)
for s in "capture_flow_key' size=48" "capture_flow_counters' size=80" "capture_lpm_key' size=24" \
	 "capture_addr_key' size=20" "capture_frag_key' size=40"; do
	grep -q "STRUCT '$s" <<<"$btf" || { abi_ok=0; bad abi-btf "no STRUCT '$s in capture.bpf.o BTF"; }
done
[ $abi_ok = 1 ] && ok abi-btf

# --- 2. BPF_PROG_TEST_RUN replay of every capture vs the offline path ---
# The kernel opens VXLAN, GENEVE, GRE (PPTP too), ERSPAN and IP-in-IP
# (docs/bpf.md) and compares their inner flows; it does not open Teredo,
# so the offline reference leaves Teredo closed (test-bpf-replay does the
# same for its own decoding).
printf 'decap:\n  teredo: false\n' >"$TMP/decap.yaml"
args=()
for f in pcaps/*.pcap pcaps/*.pcapng "$SHARED"/pcaps/*/*.pcap "$SHARED"/pcaps/*/*.pcapng; do
	[ -f "$f" ] || continue
	name=$(basename "$(dirname "$f")")/$(basename "$f")
	j="$TMP/off-$(echo "$name" | tr / _).jsonl"
	if ! "$BUILD/mailtap" -q -c "$TMP/decap.yaml" -r "$f" --sessions - --all-flows --interim 0 \
		>"$j" 2>"$TMP/err"; then
		bad "offline:$name" "mailtap failed: $(head -1 "$TMP/err")"
		continue
	fi
	args+=("$name" "$f" "$j")
done
out=$(timeout 300 "$BUILD/tests/bpf/test-bpf-replay" "${args[@]}" 2>&1)
printf '%s\n' "$out" | grep '^#'
pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
fail=$((fail + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
printf '%s\n' "$out" | grep -E '^(ok|FAIL) '
printf '%s\n' "$out" | grep -q '^ok replay-tc:ndpi/fuzz-2006-06-26-2594.pcap' ||
	bad replay-fuzz-present "the fuzz capture was not replayed"

# --- 3. synthetic frames: filter, GSO, DNS, events ---
out=$(timeout 60 "$BUILD/tests/bpf/test-bpf-unit" 2>&1)
pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
fail=$((fail + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
printf '%s\n' "$out" | grep -E '^(ok|FAIL|#) '

# --- 4. end to end: TLS over a veth pair between two namespaces ---
setup_net() {
	ip netns add "$NSC" && ip netns add "$NSS" &&
	ip link add "$VC" netns "$NSC" type veth peer name "$VS" netns "$NSS" &&
	ip -n "$NSC" addr add 198.18.0.1/24 dev "$VC" &&
	ip -n "$NSS" addr add 198.18.0.2/24 dev "$VS" &&
	ip -n "$NSC" link set "$VC" up && ip -n "$NSS" link set "$VS" up &&
	ip -n "$NSC" link set lo up && ip -n "$NSS" link set lo up
}

e2e() { # e2e MODE(tc|xdp-generic)
	local mode=$1 d="$TMP/$1" i spid dpid tpid
	mkdir -p "$d/www"
	head -c 200000 /dev/urandom >"$d/www/data.bin"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=outlook.office365.com -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
		{ bad "e2e-$mode" "openssl req failed"; return; }
	(cd "$d/www" && exec ip netns exec "$NSS" timeout 60 openssl s_server -accept 443 \
		-cert "$d/cert.pem" -key "$d/key.pem" -WWW -quiet >/dev/null 2>&1) &
	spid=$!
	PIDS+=("$spid")
	ip netns exec "$NSS" timeout 60 tcpdump -i "$VS" --immediate-mode -U -w "$d/cap.pcap" -s 0 tcp port 443 \
		>/dev/null 2>&1 &
	tpid=$!
	PIDS+=("$tpid")
	ip netns exec "$NSS" timeout 60 "$BUILD/mailtap-bpfdump" -i "$VS" "--$mode" \
		--prefix 198.18.0.1/32 --no-dns >"$d/dump.jsonl" 2>"$d/dump.err" &
	dpid=$!
	PIDS+=("$dpid")
	for i in $(seq 150); do # loading (verification) takes seconds on a busy host
		grep -q '"attached"' "$d/dump.jsonl" 2>/dev/null && ip netns exec "$NSS" \
			bash -c "exec 3<>/dev/tcp/127.0.0.1/443" 2>/dev/null && break
		sleep 0.1
	done
	if ! grep -q '"attached"' "$d/dump.jsonl"; then
		bad "e2e-$mode" "bpfdump did not attach: $(head -3 "$d/dump.err" | tr '\n' ' ')"
		return
	fi
	sleep 0.5 # tcpdump
	for i in 1 2 3; do
		ip netns exec "$NSC" timeout 10 curl -sk --max-time 8 \
			--resolve outlook.office365.com:443:198.18.0.2 \
			-o "$d/got$i" https://outlook.office365.com/data.bin
		cmp -s "$d/got$i" "$d/www/data.bin" || { bad "e2e-$mode" "transfer $i failed"; return; }
	done
	printf 'GET /data.bin HTTP/1.0\r\n\r\n' | ip netns exec "$NSC" timeout 10 \
		openssl s_client -quiet -servername outlook.office365.com -connect 198.18.0.2:443 \
		>"$d/got4" 2>/dev/null
	sleep 1 # let tcpdump and the ring drain
	kill -INT "$dpid" "$tpid" 2>/dev/null
	wait "$dpid" "$tpid" 2>/dev/null
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	if ! grep -q '"detached"' "$d/dump.jsonl"; then
		bad "e2e-$mode" "bpfdump did not detach cleanly: $(head -3 "$d/dump.err" | tr '\n' ' ')"
		return
	fi
	"$BUILD/mailtap" -q -r "$d/cap.pcap" --sessions - --all-flows --interim 0 >"$d/off.jsonl" 2>/dev/null
	"$PY" tests/bpf/e2e_check.py "$mode" "$d/dump.jsonl" "$d/off.jsonl" 200000 4
}

if setup_net; then
	ok netns-setup
	for m in tc xdp-generic; do
		out=$(e2e "$m")
		printf '%s\n' "$out"
		pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
		fail=$((fail + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
		# after each run: nothing of ours left on the link
		if ip netns exec "$NSS" tc filter show dev "$VS" ingress 2>/dev/null | grep -q bpf ||
		   ip netns exec "$NSS" tc filter show dev "$VS" egress 2>/dev/null | grep -q bpf ||
		   ip -n "$NSS" link show "$VS" | grep -q 'xdp' ||
		   ip netns exec "$NSS" tc qdisc show dev "$VS" | grep -q clsact; then
			bad "detach-$m" "program or qdisc left on $VS"
		else
			ok "detach-$m"
		fi
	done
	# a stale filter from a "crashed" run is replaced, not duplicated
	ip netns exec "$NSS" timeout 20 "$BUILD/mailtap-bpfdump" -i "$VS" --tc --duration 0.5 >"$TMP/s1" 2>&1
	ip netns exec "$NSS" timeout 20 "$BUILD/tests/bpf/test-bpf-unit" --stale "$VS" >"$TMP/s2" 2>&1
	grep -E '^(ok|FAIL) ' "$TMP/s2"
	pass=$((pass + $(grep -c '^ok ' "$TMP/s2")))
	fail=$((fail + $(grep -c '^FAIL ' "$TMP/s2")))
else
	bad netns-setup "could not create the test namespaces"
fi

# --- 5. tear-down leaves nothing behind ---
cleanup
trap - EXIT
left=""
ip netns list | grep -q "^$TAG" && left="$left netns"
ip link show | grep -q "$TAG" && left="$left links"
# programs other tests (or a running sensor) hold are not ours: compare
# with the count before this tier started
[ "$(bpftool prog show 2>/dev/null | grep -cE 'capture_(tc|xdp)')" -gt "$PROGS_BEFORE" ] && left="$left programs"
if [ -z "$left" ]; then ok teardown; else bad teardown "left behind:$left"; fi
finish
