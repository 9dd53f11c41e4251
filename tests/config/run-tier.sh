#!/bin/bash
# tests/config/run-tier.sh -- the running sensor: SIGHUP reload, metrics
# scraped during a replay, and --state across runs.
#
# Reload: the three-day demo office (pcaps/gen/scenarios.py --only demo) is
# split before its third day; mailtap reads it through a FIFO, learns the
# first two days, gets SIGHUP with a changed configuration, then reads the
# third day, where host 10.1.0.66 harvests a mailbox.
# Prints "ok"/"FAIL" lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
M=$BUILD/mailtap
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# --- the capture, split before Wednesday (day 3) 00:00 UTC ---------------------
$PY pcaps/gen/scenarios.py --out "$T" --only demo >/dev/null || { fail "generate demo scenario"; echo "#summary $passed $failed"; exit 1; }
$PY tests/config/split_pcap.py "$T/demo.pcap" "$T/head.pcap" "$T/tail.pcap" 1772582400
ok "demo office split into learning days and day 3"

# run_reload NAME CONFIG_AFTER: learn from head, SIGHUP with CONFIG_AFTER, read tail
run_reload() {
	local name=$1 after=$2
	local cfg=$T/$name.yaml fifo=$T/$name.fifo
	printf 'sensor:\n  id: test\nscoring:\n  alert_threshold: 50\n' >"$cfg"
	mkfifo "$fifo"
	"$M" --config "$cfg" -r "$fifo" --alerts "$T/$name.alerts" >"$T/$name.out" 2>"$T/$name.err" &
	local pid=$!
	exec 3>"$fifo"
	cat "$T/head.pcap" >&3
	sleep 2                       # the first two days are read and learned
	printf '%s' "$after" >"$cfg"
	kill -HUP $pid
	cat "$T/tail.pcap" >&3
	exec 3>&-
	wait $pid
	echo $? >"$T/$name.rc"
}

run_reload allow 'sensor:
  id: test
networks:
  allow: [10.1.0.66]
'
if [ "$(cat "$T/allow.rc")" = 0 ] && grep -q "SIGHUP: configuration and catalog reloaded" "$T/allow.err" &&
   ! grep -q '"src_ip":"10.1.0.66"' "$T/allow.alerts"; then
	ok "reload: a host added to the allowlist by SIGHUP raises no alert"
else
	fail "reload allowlist: rc $(cat "$T/allow.rc"), $(grep SIGHUP "$T/allow.err"), alerts: $(head -c 300 "$T/allow.alerts")"
fi

run_reload threshold 'sensor:
  id: test
scoring:
  alert_threshold: 55
'
if [ "$(cat "$T/threshold.rc")" = 0 ] && grep -q "SIGHUP: configuration and catalog reloaded" "$T/threshold.err" &&
   grep -q '"kind":"bulk_download".*"src_ip":"10.1.0.66"' "$T/threshold.alerts"; then
	ok "reload: baselines survive (the harvest still alerts after a reload, no new learning period)"
else
	fail "reload threshold: rc $(cat "$T/threshold.rc"), $(grep SIGHUP "$T/threshold.err"), alerts: $(head -c 300 "$T/threshold.alerts")"
fi

run_reload broken 'scoring:
  alert_threshold: [oops
'
if [ "$(cat "$T/broken.rc")" = 0 ] && grep -q "SIGHUP: configuration refused; the running one stays in force" "$T/broken.err" &&
   grep -q "not valid YAML" "$T/broken.err" &&
   grep -q '"src_ip":"10.1.0.66"' "$T/broken.alerts" && grep -q "reloads: 0 applied, 1 refused" "$T/broken.err"; then
	ok "reload: a broken configuration is refused and the old one stays in force"
else
	fail "reload broken: rc $(cat "$T/broken.rc"), $(grep -i "sighup\|yaml\|reloads" "$T/broken.err")"
fi

# --- metrics during a paced replay ----------------------------------------------
# nosni.pcap has three sessions 30 s apart; at 10x speed there are ~3 s
# quiet gaps.  In the first gap: SIGUSR1 prints the stats, a scrape must
# give the same packet and byte counts.
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$M" -r pcaps/nosni.pcap --replay-speed 10 --metrics 127.0.0.1:$port --sessions /dev/null 2>"$T/m.err" &
mpid=$!
sleep 1.5
kill -USR1 $mpid
sleep 0.4
curl -s --max-time 2 "http://127.0.0.1:$port/metrics" >"$T/m.txt"
wait $mpid
mrc=$?
read -r spk sby < <(grep -m1 "^mailtap: read" "$T/m.err" | sed 's/mailtap: read \([0-9]*\) packets, \([0-9]*\) bytes.*/\1 \2/')
mpk=$(awk '$1=="mailtap_packets_total"{print $2}' "$T/m.txt")
mby=$(awk '$1=="mailtap_bytes_total"{print $2}' "$T/m.txt")
if [ "$mrc" = 0 ] && [ -n "$spk" ] && [ "$spk" = "$mpk" ] && [ "$sby" = "$mby" ] && [ "$spk" -gt 0 ] &&
   grep -q '^mailtap_build_info{version=' "$T/m.txt"; then
	ok "metrics scraped mid-replay match the stats summary ($mpk packets, $mby bytes)"
else
	fail "metrics: rc $mrc, stats '$spk $sby', metrics '$mpk $mby'"
fi
final=$(grep "^mailtap: read" "$T/m.err" | tail -1 | sed 's/mailtap: read \([0-9]*\) packets.*/\1/')
if [ "$final" = 96 ] && [ "${mpk:-0}" -lt "$final" ]; then
	ok "the replay went on after the scrape and read all $final packets"
else
	fail "paced replay: final '$final', scraped '$mpk'"
fi

# --- --state: learn in one run, alert in the next ---------------------------------
"$M" -q -r "$T/head.pcap" --state "$T/state.json" --alerts "$T/s1.alerts" 2>"$T/s1.err"
# the tail has no pcap header: give it the head's
{ head -c 24 "$T/head.pcap"; cat "$T/tail.pcap"; } >"$T/tail.full.pcap"
"$M" -q -r "$T/tail.full.pcap" --state "$T/state.json" --alerts "$T/s2.alerts" 2>"$T/s2.err"
if [ -s "$T/state.json" ] && grep -q '"src_ip":"10.1.0.66"' "$T/s2.alerts" &&
   ! grep -q '"learning":true' "$T/s2.alerts"; then
	ok "state: baselines learned in one run let the next run alert at once, past learning"
else
	fail "state: $(cat "$T/s1.err" "$T/s2.err" | head -5)"
fi
"$M" -q -r "$T/tail.full.pcap" --alerts "$T/s3.alerts" 2>/dev/null
# the control: without the state, day 3 alone is a new learning period --
# the harvest still alerts on day one, but as a learning alert judged
# without the host's own baseline
if grep -q '"src_ip":"10.1.0.66"' "$T/s3.alerts" && ! grep -q '"learning":false' "$T/s3.alerts" &&
   grep -q 'no history for this host yet' "$T/s3.alerts" &&
   ! grep -q 'no history for this host yet' "$T/s2.alerts"; then
	ok "state: without it, day 3 alone is a new learning period: learning alerts, no host baseline (control)"
else
	fail "state control: day 3 alone did not raise a learning alert without the host baseline, so the state test proves nothing"
fi
# --- learning is visible: a notice at exit, alerts raised while learning ----------
"$M" -r "$T/tail.full.pcap" --alerts /dev/null 2>"$T/l1.err"
n1=$(grep -c '^mailtap: learning until 20[0-9-]*T[0-9:]*Z: novelty and the host-own baselines are not judged yet (docs/detection.md)$' "$T/l1.err")
al=$(sed -n 's/^ *alerts raised while learning: \([0-9]*\)$/\1/p' "$T/l1.err")
raised=$(sed -n 's/^  scoring: .* alerts \([0-9]*\) .*/\1/p' "$T/l1.err")
if [ "$n1" = 1 ] && [ -n "$al" ] && [ "$al" -gt 0 ] && [ "$al" = "$raised" ]; then
	ok "learning: day 3 without history says it is learning, and counts its $al alerts as raised while learning"
else
	fail "learning notice/count: notice $n1 times, learning alerts '$al' of '$raised'; $(grep -i learning "$T/l1.err")"
fi
"$M" -r "$T/tail.full.pcap" --state "$T/state.json" --alerts /dev/null 2>"$T/l2.err"
if ! grep -qi 'learning' "$T/l2.err" && grep -q '^  scoring:' "$T/l2.err"; then
	ok "learning: with the state of the days before, no notice and no learning line"
else
	fail "learning with state: $(grep -i learning "$T/l2.err")"
fi
printf 'garbage{' >"$T/bad-state.json"
"$M" -q -r pcaps/nosni.pcap --state "$T/bad-state.json" --sessions /dev/null 2>"$T/bs.err"
if [ $? = 0 ] && grep -q "not a usable mailtap state file" "$T/bs.err"; then
	ok "state: a corrupt state file is reported and ignored"
else
	fail "corrupt state: $(cat "$T/bs.err")"
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
