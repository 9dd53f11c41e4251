#!/bin/bash
# tests/live/run-tier.sh -- the live capture tier (root): mailtap -i on a
# test link in each capture mode (ebpf-tc, ebpf-xdp, pcap), real TLS
# sessions between test namespaces, checked against a tcpdump capture of
# the same link replayed offline; clean SIGTERM exit with nothing left
# attached; clear errors for an unknown interface.
# Prints "ok NAME" / "FAIL NAME: why" and ends with "#summary PASSED FAILED".
#
# Network: three namespaces this script creates and removes (EXIT trap):
#   client C (198.18.0.1) --veth-- T (bridge, the "tap host": mailtap and
#   tcpdump run here) --veth-- server S (198.18.0.2 and 198.18.0.3)
# Traffic flows only between C and S, bounded by timeouts: per mode three
# HTTPS downloads of a 100,000-byte file from openssl s_server at
# 198.18.0.2:443 (SNI outlook.office365.com, in the test catalog by name
# and by address), one DNS query to the test resolver at 198.18.0.2:53 for
# mail.testmail.example (-> 198.18.0.3, in the catalog by name only), and
# one download from 198.18.0.3:993 -- captured only if mailtap learned the
# address from that DNS answer.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PY=/usr/bin/python3
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "#summary $pass $fail"; exit 0; }

if [ "$(id -u)" != 0 ]; then
	echo "# live tier needs root: skipped"
	finish
fi
for tool in openssl curl tcpdump ip tc bpftool; do
	command -v "$tool" >/dev/null 2>&1 || { bad tools "$tool not installed"; finish; }
done
if ! out=$(make --no-print-directory -s BUILD="$BUILD" "$BUILD/mailtap" 2>&1); then
	bad build "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"
	finish
fi

TMP=$(mktemp -d /tmp/mailtap-live.XXXXXX)
TAG=mtl$$
NSC=${TAG}c
NST=${TAG}t
NSS=${TAG}s
PIDS=()

# The program under test; LIVE_MT=PROGRAM tests another build of it
# (e.g. under AddressSanitizer).
MT="${LIVE_MT:-$BUILD/mailtap}"

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NST" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

setup_net() {
	ip netns add "$NSC" && ip netns add "$NST" && ip netns add "$NSS" &&
	ip link add c0 netns "$NSC" type veth peer name tc0 netns "$NST" &&
	ip link add s0 netns "$NSS" type veth peer name ts0 netns "$NST" &&
	ip -n "$NST" link add br0 type bridge &&
	ip -n "$NST" link set tc0 master br0 && ip -n "$NST" link set ts0 master br0 &&
	ip -n "$NSC" addr add 198.18.0.1/29 dev c0 &&
	ip -n "$NSS" addr add 198.18.0.2/29 dev s0 &&
	ip -n "$NSS" addr add 198.18.0.3/29 dev s0 &&
	for l in "$NSC c0" "$NSS s0" "$NST tc0" "$NST ts0" "$NST br0" "$NSC lo" "$NSS lo" "$NST lo"; do
		set -- $l
		ip -n "$1" link set "$2" up || return 1
	done
}

# Nothing of ours on the tap ports: no filter, clsact qdisc or XDP program.
attached() {
	local dev
	for dev in tc0 ts0; do
		ip netns exec "$NST" tc filter show dev "$dev" ingress 2>/dev/null | grep -q bpf && return 0
		ip netns exec "$NST" tc filter show dev "$dev" egress 2>/dev/null | grep -q bpf && return 0
		ip netns exec "$NST" tc qdisc show dev "$dev" | grep -q clsact && return 0
		ip -n "$NST" link show "$dev" | grep -q xdp && return 0
	done
	return 1
}

FILE_SIZE=100000

servers() {
	local d=$TMP/srv
	mkdir -p "$d/www"
	head -c $FILE_SIZE /dev/urandom >"$d/www/data.bin"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=outlook.office365.com -keyout "$d/k1.pem" -out "$d/c1.pem" >/dev/null 2>&1 &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=mail.testmail.example -keyout "$d/k2.pem" -out "$d/c2.pem" >/dev/null 2>&1 ||
		return 1
	(cd "$d/www" && exec ip netns exec "$NSS" timeout 300 openssl s_server -accept 198.18.0.2:443 \
		-cert "$d/c1.pem" -key "$d/k1.pem" -WWW -quiet >/dev/null 2>&1) &
	PIDS+=($!)
	(cd "$d/www" && exec ip netns exec "$NSS" timeout 300 openssl s_server -accept 198.18.0.3:993 \
		-cert "$d/c2.pem" -key "$d/k2.pem" -WWW -quiet >/dev/null 2>&1) &
	PIDS+=($!)
	ip netns exec "$NSS" timeout 300 "$PY" tests/live/dnstool.py serve 198.18.0.2 \
		mail.testmail.example 198.18.0.3 290 >/dev/null 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 50); do
		ip netns exec "$NSS" bash -c "exec 3<>/dev/tcp/198.18.0.2/443 && exec 4<>/dev/tcp/198.18.0.3/993" \
			2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The bounded client exchanges; returns non-zero when one failed.
clients() { # clients DIR
	local d=$1 i
	for i in 1 2; do
		ip netns exec "$NSC" timeout 10 curl -sk --max-time 8 \
			--resolve outlook.office365.com:443:198.18.0.2 \
			-o "$d/got$i" https://outlook.office365.com/data.bin || return 1
	done
	printf 'GET /data.bin HTTP/1.0\r\n\r\n' | ip netns exec "$NSC" timeout 10 \
		openssl s_client -quiet -servername outlook.office365.com -connect 198.18.0.2:443 \
		>"$d/got3" 2>/dev/null
	addr=$(ip netns exec "$NSC" timeout 5 "$PY" tests/live/dnstool.py query 198.18.0.2 mail.testmail.example) ||
		return 2
	[ "$addr" = 198.18.0.3 ] || return 2
	sleep 1.5 # the learned address reaches the kernel map / pcap filter
	ip netns exec "$NSC" timeout 10 curl -sk --max-time 8 \
		--resolve "mail.testmail.example:993:$addr" \
		-o "$d/got4" https://mail.testmail.example:993/data.bin || return 3
	for i in 1 2 4; do
		cmp -s "$d/got$i" "$TMP/srv/www/data.bin" || return 4
	done
	return 0
}

run_mode() { # run_mode MODE IFACE...
	local mode=$1 d="$TMP/$1" mpid tpid i rc args=()
	shift
	for i in "$@"; do args+=(-i "$i"); done
	mkdir -p "$d"
	ip netns exec "$NST" timeout 60 tcpdump -i tc0 --immediate-mode -U -s 512 -B 32768 -w "$d/ref.pcap" \
		'tcp or udp' >/dev/null 2>"$d/tcpdump.err" &
	tpid=$!
	PIDS+=("$tpid")
	ip netns exec "$NST" timeout 60 "$MT" "${args[@]}" --capture "$mode" \
		--catalog tests/live/data/catalog.json --sessions "$d/live.jsonl" \
		>"$d/out" 2>"$d/err" &
	mpid=$!
	PIDS+=("$mpid")
	for i in $(seq 100); do
		grep -q 'capturing on' "$d/err" 2>/dev/null && grep -q listening "$d/tcpdump.err" 2>/dev/null && break
		kill -0 "$mpid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'capturing on' "$d/err"; then
		bad "$mode:start" "mailtap did not start: $(head -3 "$d/err" | tr '\n' ' ')"
		kill "$mpid" "$tpid" 2>/dev/null
		wait "$mpid" "$tpid" 2>/dev/null
		return
	fi
	ok "$mode:start"
	clients "$d"
	rc=$?
	if [ $rc = 0 ]; then ok "$mode:clients"; else bad "$mode:clients" "client exchange $rc failed"; fi
	sleep 6.5 # past the 5 s close linger, so sessions end "fin" while running
	kill -TERM "$mpid"
	for i in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$mpid" 2>/dev/null; then
		bad "$mode:sigterm" "still running 10 s after SIGTERM"
		kill -KILL "$mpid"
	fi
	wait "$mpid"
	rc=$?
	[ $rc = 0 ] && ok "$mode:sigterm" || bad "$mode:sigterm" "exit status $rc: $(grep -v '^  ' "$d/err" | head -3 | tr '\n' ' ')"
	kill -INT "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	if attached; then bad "$mode:detached" "program or qdisc left on the tap ports"; else ok "$mode:detached"; fi
	"$BUILD/mailtap" -q -r "$d/ref.pcap" --catalog tests/live/data/catalog.json --sessions - >"$d/ref.jsonl" 2>"$d/ref.err" ||
		{ bad "$mode:reference" "offline replay failed: $(head -1 "$d/ref.err")"; return; }
	drops=$(sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$d/tcpdump.err")
	"$PY" tests/live/check_live.py "$mode" "$d/live.jsonl" "$d/ref.jsonl" $FILE_SIZE "${drops:-0}"
}

# SIGHUP under a running live capture: the catalog and the allowlist
# change without restarting the capture, a broken file is refused.
run_reload() {
	local d="$TMP/reload" mpid i n
	mkdir -p "$d"
	write_cfg() { # write_cfg CATALOG [ALLOW]
		printf 'sensor:\n  id: live-reload\ncatalog:\n  files: [%s]\nnetworks:\n  internal: [198.18.0.0/24]\n  allow: [%s]\n' "$1" "${2:-}" >"$d/cfg.yaml"
	}
	hup_and_wait() { # hup_and_wait PATTERN COUNT
		# the sensor itself, not the timeout(1) wrapper in front of it
		pkill -HUP -f -- "--config $d/cfg.yaml"
		for i in $(seq 50); do
			[ "$(grep -c "$1" "$d/err")" -ge "$2" ] && return 0
			sleep 0.1
		done
		return 1
	}
	fetch() { # fetch NAME
		ip netns exec "$NSC" timeout 10 curl -sk --max-time 8 \
			--resolve outlook.office365.com:443:198.18.0.2 -o "$d/$1" https://outlook.office365.com/data.bin
	}
	# absolute: a relative catalog path in a file is found next to the file
	write_cfg "$PWD/tests/live/data/catalog.json"
	ip netns exec "$NST" timeout 90 "$MT" -i tc0 --capture ebpf-tc --config "$d/cfg.yaml" \
		--sessions "$d/live.jsonl" >"$d/out" 2>"$d/err" &
	mpid=$!
	PIDS+=("$mpid")
	for i in $(seq 100); do grep -q 'capturing on' "$d/err" 2>/dev/null && break; sleep 0.1; done
	fetch r1 || bad reload:round1 "client failed"
	# 1. the client becomes allowlisted: its sessions are still written, not scored
	write_cfg "$PWD/tests/live/data/catalog.json" 198.18.0.1
	if hup_and_wait "SIGHUP: configuration and catalog reloaded" 1; then ok reload:applied; else bad reload:applied "$(tail -2 "$d/err" | tr '\n' ' ')"; fi
	fetch r2 || bad reload:round2 "client failed"
	# 2. a broken file is refused
	printf 'networks:\n  allow: [oops\n' >"$d/cfg.yaml"
	if hup_and_wait "SIGHUP: configuration refused" 1; then ok reload:broken-refused; else bad reload:broken-refused "$(tail -2 "$d/err" | tr '\n' ' ')"; fi
	# 3. the test server leaves the catalog: its sessions are no longer mail
	printf '{"version":1,"providers":[{"id":"other","entries":[{"hosts":["mail.other.example"],"ports":{"993":"imap"},"source":"test"}]}]}\n' >"$d/other.json"
	write_cfg "$d/other.json" 198.18.0.1
	hup_and_wait "SIGHUP: configuration and catalog reloaded" 2 || bad reload:catalog "no second reload"
	fetch r3 || bad reload:round3 "client failed"
	sleep 1
	kill -TERM "$mpid"
	wait "$mpid"
	n=$(grep -c '"sni":"outlook.office365.com"' "$d/live.jsonl" 2>/dev/null)
	if [ "$n" = 2 ] && grep -q "reloads: 2 applied, 1 refused" "$d/err"; then
		ok "reload:live (sessions before and after the allowlist change, none once the server left the catalog; one process throughout)"
	else
		bad reload:live "sessions $n (want 2), $(grep reloads "$d/err")"
	fi
	if grep -q "allowlisted [1-9]" "$d/err"; then ok reload:allowlist-took-effect; else bad reload:allowlist-took-effect "$(grep scoring "$d/err")"; fi
}

count() { # count OUTPUT: add its ok/FAIL lines to the tally and print them
	printf '%s\n' "$1"
	pass=$((pass + $(printf '%s\n' "$1" | grep -c '^ok ')))
	fail=$((fail + $(printf '%s\n' "$1" | grep -c '^FAIL ')))
}

# --- errors before anything is captured ---
for mode in ebpf-tc pcap; do
	out=$(timeout 20 "$MT" -i mtl-nosuch0 --capture "$mode" --catalog tests/live/data/catalog.json \
		--sessions /dev/null 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -q 'mtl-nosuch0: no such interface' <<<"$out"; then
		ok "$mode:unknown-interface"
	else
		bad "$mode:unknown-interface" "exit $rc: $(printf '%s' "$out" | head -2 | tr '\n' ' ')"
	fi
done

if ! setup_net; then
	bad netns-setup "could not create the test namespaces"
	finish
fi
ok netns-setup

# ebpf-tc start on a port without a clsact qdisc: libbpf's expected
# "Cannot find specified filter chain" (twice) is debug output, not shown
ip netns exec "$NST" timeout -s INT 2 "$MT" -i tc0 --capture ebpf-tc --sessions /dev/null \
	2>"$TMP/tcstart.err"
if grep -q 'capturing on 1 interface' "$TMP/tcstart.err" && ! grep -q 'libbpf' "$TMP/tcstart.err"; then
	ok ebpf-tc-start-quiet
else
	bad ebpf-tc-start-quiet "$(grep -v '^mailtap: ebpf-tc' "$TMP/tcstart.err" | head -3 | tr '\n' '|')"
fi
if ! servers; then
	bad servers "openssl s_server / resolver did not come up"
	finish
fi
ok servers
# TC on one bridge port sees both directions; XDP sees ingress only, so it
# goes on both ports (each interface has its own maps: merged per flow);
# libpcap on one port
count "$(run_mode ebpf-tc tc0)"
count "$(run_mode ebpf-xdp tc0 ts0)"
count "$(run_mode pcap tc0)"
count "$(run_reload)"

# --- tear-down leaves nothing behind ---
cleanup
trap - EXIT
left=""
ip netns list | grep -q "^$TAG" && left="$left netns"
ip link show | grep -q "$TAG" && left="$left links"
bpftool prog show 2>/dev/null | grep -qE 'capture_(tc|xdp)' && left="$left programs"
if [ -z "$left" ]; then ok teardown; else bad teardown "left behind:$left"; fi
finish
