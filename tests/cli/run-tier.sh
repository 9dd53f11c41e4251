#!/bin/bash
# tests/cli/run-tier.sh -- the command line as a new user meets it: exit
# status and messages of usage errors, outputs and inputs checked in the
# right order, a closed stdout (`| head`), the progress line, warnings
# about the run.  Needs no root and no server.
# Prints "ok"/"FAIL" lines and "#summary PASSED FAILED".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
M=$BUILD/mailtap
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
export MAILTAP_SEED=1 TZ=UTC LC_ALL=C

# --- stdout closed by its reader: stop quietly, exit 0 (like tcpdump) -------
# 160 KB of session records, more than a pipe holds
BIG=$SHARED/pcaps/ndpi/fuzz-2006-06-26-2594.pcap
"$M" -r "$BIG" -r "$BIG" --max-flows 4 --all-flows --sessions - 2>"$T/epipe.err" | head -1 >"$T/epipe.out"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && [ ! -s "$T/epipe.err" ] && [ -s "$T/epipe.out" ]; then
	ok "| head -1: no error lines, no summary, exit 0"
else
	fail "| head -1: exit $rc, stderr: $(head -3 "$T/epipe.err")"
fi

# --- the progress line (a terminal on stderr) shows where SIGINT stopped ----
# nosni.pcap: three sessions 30 s apart; at 10x the replay takes ~6 s
script -qfec "sh -c '$M -r pcaps/nosni.pcap --replay-speed 10 --sessions /dev/null & echo \$! >$T/prog.pid; wait'" \
	"$T/prog.tty" >/dev/null 2>&1 &
spid=$!
sleep 1.5
kill -INT "$(cat "$T/prog.pid")"
wait $spid
last=$(tr '\r' '\n' <"$T/prog.tty" | grep -a 'nosni.pcap' | tail -1)
pct=$(echo "$last" | sed -n 's/.*nosni.pcap *\([0-9]*\)%.*/\1/p')
if [ -n "$pct" ] && [ "$pct" -lt 100 ]; then
	ok "progress after SIGINT at a third of the file: $pct%"
else
	fail "progress after SIGINT: '$last'"
fi

# --- no output configured: say so -------------------------------------------
"$M" -r pcaps/nosni.pcap >"$T/noout.out" 2>"$T/noout.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(head -1 "$T/noout.err")" = "mailtap: no --sessions or --alerts: only the summary will be printed" ] &&
   grep -q '^mailtap: read 96 packets' "$T/noout.err"; then
	ok "no --sessions/--alerts: a notice, then the summary"
else
	fail "no outputs: exit $rc, $(head -2 "$T/noout.err")"
fi
"$M" -r pcaps/nosni.pcap --log-level warning 2>"$T/noout2.err" >/dev/null
if ! grep -q 'no --sessions' "$T/noout2.err"; then
	ok "the notice is below --log-level warning"
else
	fail "notice shown at --log-level warning"
fi

# --- inputs are checked before outputs are opened ------------------------------
"$M" -r "$T/missing.pcap" --alerts "$T/a.jsonl" --sessions "$T/s.jsonl" 2>"$T/miss.err"
rc=$?
if [ "$rc" = 1 ] && [ ! -e "$T/a.jsonl" ] && [ ! -e "$T/s.jsonl" ] &&
   [ "$(cat "$T/miss.err")" = "mailtap: cannot read '$T/missing.pcap': No such file or directory" ]; then
	ok "a missing capture file fails (exit 1) before any output file is created"
else
	fail "missing input: exit $rc, outputs: $(ls "$T"/*.jsonl 2>/dev/null), $(cat "$T/miss.err")"
fi

# --- deploy/mailtap.yaml: every key of the option table, at its default ---------
# The option table's keys are those --check-config prints; the defaults are
# what it prints for an empty file.
env -u MAILTAP_SEED "$M" --check-config /dev/null --sensor-id x >"$T/defaults.yaml" 2>&1
env -u MAILTAP_SEED "$M" --check-config deploy/mailtap.yaml --sensor-id x >"$T/sample.yaml" 2>&1
out=$(/usr/bin/python3 - "$T/defaults.yaml" deploy/mailtap.yaml <<'PY' 2>&1
import sys, yaml
def keys(d, pre=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from keys(v, pre + k + ".")
        else:
            yield pre + k
want = set(keys(yaml.safe_load(open(sys.argv[1]))))
have = set(keys(yaml.safe_load(open(sys.argv[2]))))
# sensor.id defaults to the host name: the sample shows it as a comment
missing = sorted(want - have - {"sensor.id"})
extra = sorted(have - want)
print(" ".join(["missing: " + ", ".join(missing)] * bool(missing) + ["unknown: " + ", ".join(extra)] * bool(extra)))
PY
)
if [ -z "$out" ] && [ -s "$T/defaults.yaml" ]; then
	ok "deploy/mailtap.yaml has every key of the option table"
else
	fail "deploy/mailtap.yaml keys: $out"
fi
if diff <(tail -n +2 "$T/defaults.yaml") <(tail -n +2 "$T/sample.yaml") >"$T/sample.diff"; then
	ok "deploy/mailtap.yaml sets every key to its default"
else
	fail "deploy/mailtap.yaml is not the defaults: $(grep '^[<>]' "$T/sample.diff" | head -6 | tr '\n' ' ')"
fi
# README: `build/mailtap --config deploy/mailtap.yaml` from a checkout
if "$M" -q --config deploy/mailtap.yaml -r pcaps/nosni.pcap --sessions "$T/readme.jsonl" 2>"$T/readme.err" &&
   [ -s "$T/readme.jsonl" ]; then
	ok "--config deploy/mailtap.yaml works from a checkout"
else
	fail "--config deploy/mailtap.yaml: $(head -2 "$T/readme.err")"
fi

# --- --check-config and --tz check what they name --------------------------------
printf 'catalog:\n  files: [no-such-catalog.json]\nsite:\n  timezone: Mars/Olympus\n' >"$T/bad.yaml"
"$M" --check-config "$T/bad.yaml" >/dev/null 2>"$T/bad.err"
rc=$?
if [ "$rc" = 2 ] &&
   grep -qx "mailtap: $T/bad.yaml:2: catalog.files: cannot read catalog '$T/no-such-catalog.json': No such file or directory" "$T/bad.err" &&
   grep -q "^mailtap: $T/bad.yaml:4: site.timezone: 'Mars/Olympus' is not a time zone" "$T/bad.err"; then
	ok "--check-config: a missing catalog and an unknown zone, each with file:line: key (exit 2)"
else
	fail "--check-config bad catalog/zone: exit $rc, $(cat "$T/bad.err")"
fi
"$M" -r pcaps/nosni.pcap --tz Mars/Olympus --sessions /dev/null 2>"$T/tz.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "^mailtap: --tz: 'Mars/Olympus' is not a time zone" "$T/tz.err"; then
	ok "--tz Mars/Olympus is refused (exit 2)"
else
	fail "--tz Mars/Olympus: exit $rc, $(cat "$T/tz.err")"
fi
"$M" --check-config /dev/null --tz Europe/Berlin >/dev/null 2>"$T/tz2.err" &&
	ok "--tz Europe/Berlin is accepted" || fail "--tz Europe/Berlin: $(cat "$T/tz2.err")"
MAILTAP_CATALOG=$T/nothing.json "$M" --check-config /dev/null >/dev/null 2>"$T/defcat.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "nothing.json" "$T/defcat.err"; then
	ok "--check-config loads the default catalog too"
else
	fail "--check-config, default catalog missing: exit $rc, $(cat "$T/defcat.err")"
fi

# --- SIGHUP names the changed keys that need a restart ----------------------------
printf 'flows:\n  max_flows: 1000\n' >"$T/hup.yaml"
"$M" --config "$T/hup.yaml" -r pcaps/nosni.pcap --replay-speed 10 --sessions /dev/null 2>"$T/hup.err" &
hpid=$!
sleep 1
printf 'capture:\n  snaplen: 1500\noutputs:\n  alerts: [%s]\nflows:\n  max_flows: 2000\nscoring:\n  alert_threshold: 60\n' \
	"$T/hup-alerts.jsonl" >"$T/hup.yaml"
kill -HUP $hpid
sleep 1
printf 'flows:\n  max_flows: 1000\nscoring:\n  alert_threshold: 70\n' >"$T/hup.yaml"
kill -HUP $hpid
wait $hpid
hrc=$?
want1="mailtap: SIGHUP: configuration and catalog reloaded; changed keys that need a restart to take effect: capture.snaplen, outputs.alerts, flows.max_flows"
want2="mailtap: SIGHUP: configuration and catalog reloaded"
mapfile -t got < <(grep SIGHUP "$T/hup.err")
if [ "$hrc" = 0 ] && [ "${got[0]:-}" = "$want1" ] && [ "${got[1]:-}" = "$want2" ]; then
	ok "SIGHUP: says which changed keys need a restart, and nothing when none did"
else
	fail "SIGHUP restart keys: exit $hrc, $(grep SIGHUP "$T/hup.err" | tr '\n' '|')"
fi

# --- -r A -r B with B starting before A ended: one warning naming both -------
# b.pcap is nosni.pcap 3 h 12 min earlier (it ends 61 s after it starts);
# c.pcap a day later, after both: no warning for it
editcap -F pcap -t -11520 pcaps/nosni.pcap "$T/b.pcap" && editcap -F pcap -t 86400 pcaps/nosni.pcap "$T/c.pcap"
cp pcaps/nosni.pcap "$T/a.pcap"
"$M" -q -r "$T/a.pcap" -r "$T/b.pcap" -r "$T/c.pcap" --sessions /dev/null 2>"$T/back.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$T/back.err")" = "mailtap: $T/b.pcap starts 3 h 13 min before $T/a.pcap ended: one timeline, its flows may merge" ]; then
	ok "-r a -r b, b hours before a ended: one warning with both names and the gap"
else
	fail "time backwards between files: exit $rc, $(cat "$T/back.err")"
fi

# --- a replay inside the learning period says so once, at exit ----------------
"$M" -r pcaps/demo.pcap --sessions "$T/learn.jsonl" 2>"$T/learn.err"
"$M" -r pcaps/demo.pcap --learning 0 --sessions /dev/null 2>"$T/learn0.err"
if [ "$(grep -c '^mailtap: learning until 2026-03-03T09:00:03Z: novelty and the host-own baselines are not judged yet (docs/detection.md)$' "$T/learn.err")" = 1 ] &&
   [ "$(grep -n 'learning until' "$T/learn.err" | cut -d: -f1)" = 1 ] && ! grep -q learning "$T/learn0.err"; then
	ok "demo.pcap: one 'learning until' notice before the summary; none with --learning 0"
else
	fail "learning notice: $(grep -n learning "$T/learn.err" "$T/learn0.err" | head -3)"
fi

# --- docs/cli.md shows what --help-all prints (installed default catalog) --------
MAILTAP_CATALOG=/usr/local/share/mailtap/catalog.json "$M" --help-all >"$T/help-all.txt"
awk '/^```$/ { if (f) exit; f = 1; next } f' docs/cli.md >"$T/help-doc.txt"
if [ -s "$T/help-all.txt" ] && diff -u "$T/help-doc.txt" "$T/help-all.txt" >"$T/help.diff"; then
	ok "docs/cli.md's --help-all text is what the binary prints"
else
	fail "docs/cli.md differs from --help-all: $(grep '^[-+][^-+]' "$T/help.diff" | head -4 | tr '\n' '|')"
fi

# --- mailtap(8) names every companion program (sensor/tool-*.c) -------------
missing=""
for t in sensor/tool-*.c; do
	name=mailtap-$(basename "$t" .c | sed 's/^tool-//')
	# in roff, "-" is written "\-"
	grep -q "^\.B ${name//-/\\\\-}\$" docs/mailtap.8 || missing="$missing $name"
done
if [ -z "$missing" ] && man -l docs/mailtap.8 2>/dev/null | grep -q 'COMPANION PROGRAMS'; then
	ok "mailtap(8) has a COMPANION PROGRAMS entry for every sensor/tool-*.c"
else
	fail "mailtap(8) lacks:${missing:- the COMPANION PROGRAMS section}"
fi

# --- --metrics: IPv6 shown in brackets, names resolved ----------------------------
"$M" -q -r pcaps/nosni.pcap --metrics '[::1]:0' --sessions /dev/null 2>"$T/m6.err"
rc=$?
if [ "$rc" = 0 ] && grep -qE '^mailtap: metrics on http://\[::1\]:[0-9]+/metrics$' "$T/m6.err"; then
	ok "--metrics [::1]:0 prints http://[::1]:PORT/metrics"
else
	fail "--metrics [::1]:0: exit $rc, $(cat "$T/m6.err")"
fi
"$M" -q -r pcaps/nosni.pcap --metrics localhost:0 --sessions /dev/null 2>"$T/mlh.err"
rc=$?
if [ "$rc" = 0 ] && grep -qE '^mailtap: metrics on http://localhost:[0-9]+/metrics$' "$T/mlh.err"; then
	ok "--metrics localhost:0 is resolved and served"
else
	fail "--metrics localhost:0: exit $rc, $(cat "$T/mlh.err")"
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
