#!/bin/bash
# run-tier.sh -- the web view tier (docs/web.md).  Run from the repository
# root; prints "ok NAME" / "FAIL NAME: why" per test and ends with
# "#summary PASSED FAILED".
#
# Starts its own redis-server on a free loopback port, XADDs the alerts of
# tests/web/alerts.jsonl (revisions, a beaconing series with connection
# starts, hostile strings from packets, a session record and a line that is
# not JSON), starts mailtap-web on free loopback ports (one without, one
# with a token), checks the routes with curl, then renders the pages in
# headless Chromium (deploy/install-deps.sh installs it) and checks the
# DOM it built.  Screenshots are kept in $BUILD/web/ as test artefacts.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/mailtap-web.XXXXXX)
ART=$BUILD/web
PIDS=()
passed=0
failed=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "#summary $passed $failed"; exit $((failed > 0)); }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }

for c in redis-server redis-cli curl python3; do
	command -v "$c" >/dev/null || { fail setup "$c not installed (make deps)"; finish; }
done
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { fail setup "chromium not installed (make deps installs it)"; finish; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
DOM="python3 tests/web/dom-check.py"

# ---- build ----------------------------------------------------------------

WEB=$T/mailtap-web
if [ -x "$BUILD/mailtap-web" ] && [ "$BUILD/mailtap-web" -nt sensor/tool-web.c ]; then
	WEB=$BUILD/mailtap-web
elif ! timeout 120 cc -std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -Iuserspace \
	$(pkg-config --cflags hiredis jansson libcrypto libmicrohttpd) -o "$WEB" \
	sensor/tool-web.c userspace/output-redis-url.c userspace/util-units.c \
	$(pkg-config --libs hiredis jansson libcrypto libmicrohttpd) -lm -pthread 2>"$T/cc.err"; then
	fail build "$(head -5 "$T/cc.err")"
	finish
fi
ok build "$WEB"
mkdir -p "$ART"

# ---- redis and the alerts ---------------------------------------------------

RP=$(free_port)
mkdir -p "$T/redis"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
	--logfile "$T/redis/log" --daemonize no >/dev/null 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do
	redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break
	sleep 0.1
done
redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG || { fail start-redis "$(tail -3 "$T/redis/log")"; finish; }
KEY="web:alerts"
n=0
while IFS= read -r line; do
	timeout 10 redis-cli -p "$RP" XADD "$KEY" '*' data "$line" >/dev/null && n=$((n + 1))
done <tests/web/alerts.jsonl
check xadd "$(wc -l <tests/web/alerts.jsonl)" "$n"

# start_web NAME [options...]: mailtap-web on a port it picks (--listen
# 127.0.0.1:0), printed at start; sets PORT_NAME
start_web() {
	local name=$1 i port=""
	shift
	"$WEB" --redis "redis://127.0.0.1:$RP?key=$KEY" --listen 127.0.0.1:0 "$@" 2>"$T/$name.err" &
	PIDS+=("$!")
	eval "PID_$name=$!"
	for i in $(seq 1 50); do
		port=$(sed -n 's,^mailtap-web: listening on http://127\.0\.0\.1:\([0-9]*\)/$,\1,p' "$T/$name.err")
		[ -n "$port" ] && break
		sleep 0.1
	done
	eval "PORT_$name=$port"
	[ -n "$port" ]
}

start_web open || { fail start-web "$(cat "$T/open.err")"; finish; }
U="http://127.0.0.1:$PORT_open"
# wait until the reader has loaded the stream (6 alerts once revisions merge)
for _ in $(seq 1 50); do
	held=$(curl -s "$U/" | sed -n 's,.*<span id="held">\([0-9]*\)</span>.*,\1,p')
	[ "$held" = 6 ] && break
	sleep 0.1
done
check load-collapse-revisions 6 "$held"

# ---- routes, headers, filters (curl) ----------------------------------------

curl -s -D "$T/h" -o "$T/list.html" "$U/"
check list-status "HTTP/1.1 200 OK" "$(head -1 "$T/h" | tr -d '\r')"
check csp "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'" \
	"$(sed -n 's/^Content-Security-Policy: //p' "$T/h" | tr -d '\r')"
check nosniff nosniff "$(sed -n 's/^X-Content-Type-Options: //p' "$T/h" | tr -d '\r')"
check content-type "text/html; charset=utf-8" "$(sed -n 's/^Content-Type: //p' "$T/h" | tr -d '\r')"
check list-rows 6 "$($DOM "$T/list.html" count "tr.alert-row")"
# newest first by alert time; the bulk_download alert at its revision 1
check list-order "/alert/6f3bd7a7ef82d148 /alert/0b5e1c9a2d7f4e31 /alert/c0ffee0000000003 /alert/e5e5e5e5e5e5e505 /alert/x%22%3E%3Csvg%20onload%3Dalert%283%29%3E /alert/d00d000000000004" \
	"$($DOM "$T/list.html" hrefs "tr.alert-row a" | tr '\n' ' ' | sed 's/ $//')"
check revision-kept "92" "$($DOM "$T/list.html" text "tr.alert-row td.score" | head -1)"
check ignored-records "1 other records and 1 unreadable ignored" \
	"$(grep -o '[0-9]* other records and [0-9]* unreadable ignored' "$T/list.html")"

curl -s -o "$T/f1.html" "$U/?severity=high&kind=beaconing&host=10.20.1.54"
check filter-all-three "/alert/0b5e1c9a2d7f4e31" "$($DOM "$T/f1.html" hrefs "tr.alert-row a" | tr '\n' ' ' | sed 's/ $//')"
curl -s -o "$T/f2.html" "$U/?kind=beaconing"
check filter-kind 2 "$($DOM "$T/f2.html" count "tr.alert-row")"
curl -s -o "$T/f3.html" "$U/?host=10.1.0.66"
check filter-host 1 "$($DOM "$T/f3.html" count "tr.alert-row")"
curl -s -o "$T/f4.html" "$U/?severity=low,critical"
check filter-severity-list 2 "$($DOM "$T/f4.html" count "tr.alert-row")"
curl -s -o "$T/f5.html" "$U/?host=%22%3E%3Cscript%3Ealert(9)%3C/script%3E"
check filter-echo-escaped "0 |" "$($DOM "$T/f5.html" count "tr.alert-row") |$($DOM "$T/f5.html" unsafe)"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check alert-200 200 "$(code "$U/alert/0b5e1c9a2d7f4e31")"
check alert-hostile-id-200 200 "$(code "$U/alert/x%22%3E%3Csvg%20onload%3Dalert%283%29%3E")"
check unknown-id-404 404 "$(code "$U/alert/ffffffffffffffff")"
check unknown-route-404 404 "$(code "$U/nope")"
check post-405 405 "$(code -X POST -d x=1 "$U/")"
curl -s -o "$T/404.html" "$U/alert/%3Cscript%3Ealert(7)%3C%2Fscript%3E"
check 404-escaped "" "$($DOM "$T/404.html" unsafe)"

# the raw page of the hostile alert: the SNI only as character references
curl -s -o "$T/hostile.html" "$U/alert/c0ffee0000000003"
if grep -qi '<script\|<img\|<b ' "$T/hostile.html"; then
	fail hostile-raw "markup from the record in the page: $(grep -oi '<script[^>]*>\|<img[^>]*>\|<b [^>]*>' "$T/hostile.html" | head -3)"
elif ! grep -q '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;' "$T/hostile.html"; then
	fail hostile-raw "the escaped SNI is not in the page"
else
	ok hostile-raw
fi

# a new alert is picked up while running (XREAD BLOCK)
timeout 10 redis-cli -p "$RP" XADD "$KEY" '*' data '{"event_type":"alert","ts":"2026-03-04T11:00:00Z","alert_id":"f00d000000000007","revision":0,"kind":"bulk_upload","score":66,"severity":"high","src_ip":"10.1.0.200","provider":"gmail","service":"smtp"}' >/dev/null
for _ in $(seq 1 30); do
	[ "$(code "$U/alert/f00d000000000007")" = 200 ] && break
	sleep 0.1
done
check follow-new-entry 200 "$(code "$U/alert/f00d000000000007")"

# ---- the token ---------------------------------------------------------------

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
if start_web tok --token "$T/token"; then
	V="http://127.0.0.1:$PORT_tok"
	for _ in $(seq 1 50); do
		[ "$(code -H "Authorization: Bearer $TOKEN" "$V/")" = 200 ] && break
		sleep 0.1
	done
	check token-none-401 401 "$(code "$V/")"
	check token-alert-none-401 401 "$(code "$V/alert/0b5e1c9a2d7f4e31")"
	check token-wrong-401 401 "$(code -H "Authorization: Bearer ${TOKEN}x" "$V/")"
	check token-prefix-401 401 "$(code -H "Authorization: Bearer ${TOKEN:0:20}" "$V/")"
	check token-basic-401 401 "$(code -u "user:$TOKEN" "$V/")"
	check token-right-200 200 "$(code -H "Authorization: Bearer $TOKEN" "$V/alert/0b5e1c9a2d7f4e31")"
	check token-www-authenticate 'Bearer realm="mailtap-web"' \
		"$(curl -s -D - -o /dev/null "$V/" | sed -n 's/^WWW-Authenticate: //p' | tr -d '\r')"
else
	fail start-web-token "$(cat "$T/tok.err")"
fi
printf 'short\n' >"$T/short"
"$WEB" --token "$T/short" --listen 127.0.0.1:0 >/dev/null 2>&1
check token-too-short-exit-2 2 "$?"
"$WEB" --listen 127.0.0.1:notaport >/dev/null 2>&1
check bad-listen-exit-2 2 "$?"

# a small store: the 3 newest alerts by time, whatever the stream order
if start_web small --max-alerts 3; then
	W3="http://127.0.0.1:$PORT_small"
	for _ in $(seq 1 50); do
		held=$(curl -s "$W3/" | sed -n 's,.*<span id="held">\([0-9]*\)</span>.*,\1,p')
		[ "$held" = 3 ] && break
		sleep 0.1
	done
	curl -s -o "$T/small.html" "$W3/"
	check max-alerts-newest "/alert/f00d000000000007 /alert/6f3bd7a7ef82d148 /alert/0b5e1c9a2d7f4e31" \
		"$($DOM "$T/small.html" hrefs "tr.alert-row a" | tr '\n' ' ' | sed 's/ $//')"
	check max-alerts-evicted-404 404 "$(code "$W3/alert/d00d000000000004")"
	kill "$PID_small" 2>/dev/null
else
	fail start-web-small "$(cat "$T/small.err")"
fi

# 600 session records on top: the first XREVRANGE page (512 entries) holds
# no alert, so the start pages back until 3 alerts are held
for i in $(seq 1 600); do
	printf 'XADD %s * data "{\\"event_type\\":\\"session\\",\\"record_id\\":\\"p%d\\"}"\n' "$KEY" "$i"
done | timeout 20 redis-cli -p "$RP" >/dev/null
check sessions-added 610 "$(timeout 5 redis-cli -p "$RP" XLEN "$KEY")"
if start_web paged --max-alerts 3; then
	W3="http://127.0.0.1:$PORT_paged"
	for _ in $(seq 1 50); do
		held=$(curl -s "$W3/" | sed -n 's,.*<span id="held">\([0-9]*\)</span>.*,\1,p')
		[ "$held" = 3 ] && break
		sleep 0.1
	done
	curl -s -o "$T/paged.html" "$W3/"
	check backfill-pages "/alert/f00d000000000007 /alert/6f3bd7a7ef82d148 /alert/0b5e1c9a2d7f4e31" \
		"$($DOM "$T/paged.html" hrefs "tr.alert-row a" | tr '\n' ' ' | sed 's/ $//')"
	kill "$PID_paged" 2>/dev/null
else
	fail start-web-paged "$(cat "$T/paged.err")"
fi

# ---- headless Chromium -----------------------------------------------------------

# chrome_dom NAME PATH: the DOM Chromium built from the page, in $T/NAME.dom
chrome_dom() {
	timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chrome" --dump-dom "$U$2" >"$T/$1.dom" 2>"$T/$1.chrome.err"
}
chrome_shot() { # chrome_shot FILE PATH
	timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
		--user-data-dir="$T/chrome" --screenshot="$1" --window-size=1200,900 "$U$2" \
		>/dev/null 2>"$T/shot.chrome.err"
}

if chrome_dom list / && [ -s "$T/list.dom" ]; then
	check chrome-list-rows 7 "$($DOM "$T/list.dom" count "table#alerts tr.alert-row")"
	check chrome-list-unsafe "" "$($DOM "$T/list.dom" unsafe)"
	check chrome-list-sni-text '"><script>alert(1)</script><img src=x onerror=alert(2)>' \
		"$($DOM "$T/list.dom" text "tr.alert-row td.wrap" | grep -F 'alert(1)')"
else
	fail chrome-list "chromium --dump-dom failed: $(grep -v 'dbus\|^$' "$T/list.chrome.err" | tail -3)"
fi

if chrome_dom filter "/?severity=high&kind=beaconing&host=10.20.1.54"; then
	check chrome-filter-rows "10.20.1.54 beaconing" \
		"$($DOM "$T/filter.dom" text "tr.alert-row td.host") $($DOM "$T/filter.dom" text "tr.alert-row td.kind")"
else
	fail chrome-filter "chromium --dump-dom failed"
fi

# bulk_download at revision 1: 6 buckets, down and up bars, baseline and peer lines
if chrome_dom bulk /alert/6f3bd7a7ef82d148; then
	check chrome-bulk-bars-down 6 "$($DOM "$T/bulk.dom" count "svg#volume rect.bar-down")"
	check chrome-bulk-bars-up 6 "$($DOM "$T/bulk.dom" count "svg#volume rect.bar-up")"
	check chrome-bulk-reference-lines "1 1" \
		"$($DOM "$T/bulk.dom" count "svg#volume line.baseline") $($DOM "$T/bulk.dom" count "svg#volume line.peer")"
	check chrome-bulk-reasons 2 "$($DOM "$T/bulk.dom" count "table#reasons tr.reason")"
	check chrome-bulk-revision 1 "$($DOM "$T/bulk.dom" text "p#summary" | sed 's/.*revision //')"
	check chrome-bulk-no-beacon-chart 0 "$($DOM "$T/bulk.dom" count "svg#starts")"
else
	fail chrome-bulk "chromium --dump-dom failed"
fi

# beaconing: 12 buckets, 24 connection starts, 23 intervals in the histogram
if chrome_dom beacon /alert/0b5e1c9a2d7f4e31; then
	check chrome-beacon-bars 12 "$($DOM "$T/beacon.dom" count "svg#volume rect.bar-down")"
	check chrome-beacon-no-baseline "0 1" \
		"$($DOM "$T/beacon.dom" count "svg#volume line.baseline") $($DOM "$T/beacon.dom" count "svg#volume line.peer")"
	check chrome-beacon-points 24 "$($DOM "$T/beacon.dom" count "svg#starts circle.conn")"
	check chrome-beacon-hist-intervals 23 "$($DOM "$T/beacon.dom" attrsum "svg#intervals rect.hist" data-n)"
	check chrome-beacon-hist-bins 5 "$($DOM "$T/beacon.dom" count "svg#intervals rect.hist")"
	check chrome-beacon-median "23 intervals, median 300 s" \
		"$($DOM "$T/beacon.dom" text "svg#intervals text" | grep -F intervals, | tail -1)"
else
	fail chrome-beacon "chromium --dump-dom failed"
fi

# beaconing whose series has no connection starts: said, not drawn
if chrome_dom beacon2 /alert/e5e5e5e5e5e5e505; then
	check chrome-empty-conn-starts "no connection starts in this alert's series 0" \
		"$($DOM "$T/beacon2.dom" text "p#no-conn-starts") $($DOM "$T/beacon2.dom" count "svg#starts")"
else
	fail chrome-beacon2 "chromium --dump-dom failed"
fi

# hostile strings: text in HTML and SVG, no element or handler from them
if chrome_dom hostile /alert/c0ffee0000000003; then
	H='"><script>alert(1)</script><img src=x onerror=alert(2)>'
	check chrome-hostile-unsafe "" "$($DOM "$T/hostile.dom" unsafe)"
	check chrome-hostile-no-b 0 "$($DOM "$T/hostile.dom" count "b")"
	check chrome-hostile-sni-field "$H" \
		"$($DOM "$T/hostile.dom" text "table#fields td" | grep -F 'alert(1)' | head -1)"
	if $DOM "$T/hostile.dom" text "svg#volume text" | grep -qF "($H)"; then
		ok chrome-hostile-svg-text
	else
		fail chrome-hostile-svg-text "SNI not shown as text in the SVG"
	fi
	check chrome-hostile-svg-attr "bytes in the window: 10.20.1.77 to $H" \
		"$($DOM "$T/hostile.dom" attr "svg#volume" aria-label)"
	check chrome-hostile-detail "client <b>$H</b> never seen & rare" \
		"$($DOM "$T/hostile.dom" text "table#reasons tr.reason td" | tail -1)"
	check chrome-no-series "no series in this alert: the window totals only 2" \
		"$($DOM "$T/hostile.dom" text "p#no-series") $($DOM "$T/hostile.dom" count "svg#volume rect.bar-total")"
else
	fail chrome-hostile "chromium --dump-dom failed"
fi

if chrome_dom hostile_id "/alert/x%22%3E%3Csvg%20onload%3Dalert%283%29%3E"; then
	check chrome-hostile-id "x\"><svg onload=alert(3)> |0|" \
		"$($DOM "$T/hostile_id.dom" text "table#fields td" | sed -n 2p) |$($DOM "$T/hostile_id.dom" count "svg")|$($DOM "$T/hostile_id.dom" unsafe)"
else
	fail chrome-hostile-id "chromium --dump-dom failed"
fi

# screenshots: PNG, 1200 x 900, kept
png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8] == b"\x89PNG\r\n\x1a\n" else "not-png")' "$1"; }
for s in beaconing:/alert/0b5e1c9a2d7f4e31 hostile:/alert/c0ffee0000000003 list:/; do
	f=$ART/${s%%:*}.png
	rm -f "$f"
	if chrome_shot "$f" "${s#*:}" && [ -s "$f" ]; then
		if [ "$(png_size "$f")" = 1200x900 ]; then
			ok "screenshot-${s%%:*}" "1200x900 PNG kept in $f"
		else
			fail "screenshot-${s%%:*}" "expected a 1200x900 PNG, got $(png_size "$f")"
		fi
	else
		fail "screenshot-${s%%:*}" "chromium --screenshot failed: $(grep -v 'dbus\|^$' "$T/shot.chrome.err" | tail -3)"
	fi
done

# ---- stop ----------------------------------------------------------------------

kill -TERM "$PID_open" 2>/dev/null
for _ in $(seq 1 40); do
	kill -0 "$PID_open" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$PID_open" 2>/dev/null; then
	fail sigterm "still running 4 s after SIGTERM"
else
	wait "$PID_open"
	check sigterm-exit-0 0 "$?"
fi
finish
