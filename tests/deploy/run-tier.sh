#!/bin/bash
# run-tier.sh -- the deploy tier: `make install` into a temp DESTDIR (tree,
# modes, the installed binary runs), the systemd unit (systemd-analyze
# verify with no output, hardening directives, offline security score),
# the man page (renders without warnings, in step with `mailtap --help`),
# mailtap-catalog-update (sample feeds under tests/deploy/data/, merged
# catalogs load with the sensor's loader, user entries survive, malformed
# inputs give clear errors) and docs/deploy.md.
#
# Run from anywhere; prints "ok NAME" / "FAIL NAME: why" per test and ends
# with "#summary PASSED FAILED".  Needs no root except to apt-get install
# systemd / groff-base when they are missing.  Never touches the host's
# /usr/local, /etc or /lib: everything goes to a temp dir.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DATA=tests/deploy/data
T=$(mktemp -d /tmp/mailtap-deploy.XXXXXX)
passed=0
failed=0

cleanup() { rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "#summary $passed $failed"; [ "$failed" -eq 0 ]; exit $?; }

# need CMD PACKAGE: install a Debian package when the command is missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
		>/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
		>/dev/null 2>&1; }
	command -v "$1" >/dev/null 2>&1
}

# ---- build ---------------------------------------------------------------
if [ ! -x "$BUILD/mailtap" ] || [ ! -x "$BUILD/mailtap-catalog-update" ]; then
	make --no-print-directory all >"$T/build.log" 2>&1
fi
if [ -x "$BUILD/mailtap" ] && [ -x "$BUILD/mailtap-catalog-update" ]; then
	ok build
else
	fail build "$BUILD/mailtap or $BUILD/mailtap-catalog-update missing: $(tail -3 "$T/build.log" 2>/dev/null)"
	finish
fi
U=$BUILD/mailtap-catalog-update

# ---- make install --------------------------------------------------------
# Until the Makefile includes deploy/install.mk, run a copy of it that does.
MK=Makefile
mk_note=""
if ! grep -q 'deploy/install.mk' Makefile; then
	sed '/^install:/,/^$/d' Makefile >"$T/Makefile"
	echo '-include deploy/install.mk' >>"$T/Makefile"
	MK=$T/Makefile
	mk_note="Makefile does not include deploy/install.mk yet: used a copy that does"
fi
# Installs build from a copy of $BUILD: another PREFIX rebuilds the objects
# that compile it in, and the build being tested must stay as it is.
IB=$T/build
mkdir -p "$IB" && cp -a "$BUILD/." "$IB/"
minstall() { # minstall DESTDIR PREFIX
	make --no-print-directory -f "$MK" install BUILD="$IB" DESTDIR="$1" PREFIX="$2"
}

R=$T/root
if minstall "$R" /usr/local >"$T/install.log" 2>&1; then
	ok make-install "$mk_note"
else
	fail make-install "$(tail -5 "$T/install.log")"
fi

# The documented tree: the block between the install-tree markers of
# docs/deploy.md, "MODE PATH" per line; mailtap-<tool> stands for every
# sensor/tool-<tool>.c, and /etc/mailtap/mailtap.yaml is there only when
# deploy/mailtap.yaml is.
tools=$(for f in sensor/tool-*.c; do f=${f#sensor/tool-}; echo "${f%.c}"; done)
sed -n '/<!-- install-tree:begin -->/,/<!-- install-tree:end -->/p' docs/deploy.md |
	awk '$1 ~ /^0[0-7][0-7][0-7]$/ && $2 ~ /^\// { print $1, $2 }' >"$T/doc-tree"
: >"$T/want"
while read -r mode path; do
	case "$path" in
	*'mailtap-<tool>')
		for t in $tools; do echo "$mode ${path%<tool>}$t"; done ;;
	/etc/mailtap/mailtap.yaml)
		[ -f deploy/mailtap.yaml ] && echo "$mode $path" ;;
	*) echo "$mode $path" ;;
	esac
done <"$T/doc-tree" | sort >"$T/want"
(cd "$R" && find . \( -type f -o -type l \) -printf '0%m /%P\n' 2>/dev/null) | sort >"$T/have"
if [ ! -s "$T/doc-tree" ]; then
	fail install-tree "no install-tree block in docs/deploy.md"
elif diff -u "$T/want" "$T/have" >"$T/tree.diff"; then
	ok install-tree "$(wc -l <"$T/have") files, modes as documented"
else
	fail install-tree "installed tree differs from docs/deploy.md: $(grep '^[-+][0/]' "$T/tree.diff" | tr '\n' ' ')"
fi

bad_dirs=$(cd "$R" && find . -type d ! -perm 0755 -printf '%m %P\n')
if [ -z "$bad_dirs" ]; then
	ok install-dir-modes "every directory 0755"
else
	fail install-dir-modes "$bad_dirs"
fi

v=$("$R/usr/local/bin/mailtap" --version 2>&1)
if [ $? -eq 0 ] && [[ "$v" == mailtap\ * ]]; then
	ok installed-version "$v"
else
	fail installed-version "'$R/usr/local/bin/mailtap --version' gave: $v"
fi

if "$R/usr/local/bin/mailtap" -q -r pcaps/demo.pcap \
	--catalog "$R/usr/local/share/mailtap/catalog.json" --sessions "$T/inst-sessions.jsonl" \
	>"$T/inst.out" 2>&1 && [ -s "$T/inst-sessions.jsonl" ]; then
	ok installed-replay "$(wc -l <"$T/inst-sessions.jsonl") sessions with the installed catalog"
else
	fail installed-replay "$(tail -3 "$T/inst.out")"
fi

UNIT=$R/lib/systemd/system/mailtap.service
if grep -qx 'ExecStart=/usr/local/bin/mailtap --config /etc/mailtap/mailtap.yaml' "$UNIT" 2>/dev/null &&
	! grep -q '@[A-Z]*@' "$UNIT"; then
	ok unit-prefix-substituted
else
	fail unit-prefix-substituted "$(grep -n 'ExecStart\|@' "$UNIT" 2>&1 | head -3)"
fi

# another PREFIX lands everywhere, unit included
R2=$T/root2
if minstall "$R2" /opt/mailtap >"$T/install2.log" 2>&1 &&
	[ -x "$R2/opt/mailtap/bin/mailtap" ] && [ -f "$R2/opt/mailtap/share/man/man8/mailtap.8" ] &&
	[ -f "$R2/opt/mailtap/share/mailtap/catalog.json" ] &&
	grep -qx 'ExecStart=/opt/mailtap/bin/mailtap --config /etc/mailtap/mailtap.yaml' \
		"$R2/lib/systemd/system/mailtap.service"; then
	ok install-other-prefix "PREFIX=/opt/mailtap"
else
	fail install-other-prefix "$(tail -3 "$T/install2.log")"
fi

# PREFIX=/usr after a default build: the binary is rebuilt for it (the
# catalog path is compiled in), and the installed man page and sample
# configuration name /usr paths, not /usr/local ones
R4=$T/root4
rm -f "$IB/prefix.stamp"
why=""
make --no-print-directory -f "$MK" all BUILD="$IB" >"$T/build4.log" 2>&1 || why+="default build failed; "
if minstall "$R4" /usr >"$T/install4.log" 2>&1; then
	help=$(env -u MAILTAP_CATALOG "$R4/usr/bin/mailtap" --help-all 2>&1 | tr -s ' \n' '  ')
	[[ "$help" == *"default /usr/share/mailtap/catalog.json"* ]] ||
		why+="--help-all: $(echo "$help" | grep -o 'endpoint catalog.*catalog.json' | head -c 160); "
	grep -q /usr/local "$R4/usr/share/man/man8/mailtap.8" &&
		why+="man page: $(grep -m1 /usr/local "$R4/usr/share/man/man8/mailtap.8"); "
	grep -q '/usr/share/mailtap/catalog.json' "$R4/usr/share/man/man8/mailtap.8" || why+="man page names no /usr/share/mailtap/catalog.json; "
	if [ -f deploy/mailtap.yaml ]; then
		grep -q /usr/local "$R4/etc/mailtap/mailtap.yaml" &&
			why+="mailtap.yaml: $(grep -m1 /usr/local "$R4/etc/mailtap/mailtap.yaml"); "
	fi
	grep -qx 'ExecStart=/usr/bin/mailtap --config /etc/mailtap/mailtap.yaml' \
		"$R4/lib/systemd/system/mailtap.service" || why+="unit ExecStart; "
else
	why+="install: $(tail -3 "$T/install4.log")"
fi
[ -z "$why" ] && ok install-prefix-usr-after-default-build "binary, man page, yaml and unit name /usr" ||
	fail install-prefix-usr-after-default-build "$why"

# a second install keeps an edited configuration
if [ -f deploy/mailtap.yaml ]; then
	echo "# edited on site" >>"$R/etc/mailtap/mailtap.yaml"
	if minstall "$R" /usr/local >"$T/install3.log" 2>&1 &&
		tail -1 "$R/etc/mailtap/mailtap.yaml" | grep -q 'edited on site' &&
		cmp -s deploy/mailtap.yaml "$R/etc/mailtap/mailtap.yaml.dist"; then
		ok install-keeps-config "new sample in mailtap.yaml.dist"
	else
		fail install-keeps-config "an existing /etc/mailtap/mailtap.yaml was overwritten or no .dist: $(tail -2 "$T/install3.log")"
	fi
	rm -f "$R/etc/mailtap/mailtap.yaml.dist"
else
	[ ! -e "$R/etc/mailtap" ] && ok install-no-config "no deploy/mailtap.yaml, nothing in /etc" ||
		fail install-no-config "/etc/mailtap installed without deploy/mailtap.yaml"
fi

# ---- the systemd unit ----------------------------------------------------
if need systemd-analyze systemd; then
	# verify needs ExecStart to exist: point it at the copy in DESTDIR, and
	# let man(1) find the installed page for Documentation=man:mailtap(8).
	mkdir -p "$T/unit"
	sed "s|^ExecStart=/usr/local/bin/|ExecStart=$R/usr/local/bin/|" "$UNIT" >"$T/unit/mailtap.service"
	out=$(MANPATH="$R/usr/local/share/man" systemd-analyze verify "$T/unit/mailtap.service" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok unit-verify "systemd-analyze verify: no warnings"
	else
		fail unit-verify "exit $rc: $(echo "$out" | head -5 | tr '\n' ' ')"
	fi
	# exposure 0-10 (threshold in tenths); the unit scores about 2.4
	out=$(systemd-analyze security --offline=true --threshold=30 "$T/unit/mailtap.service" 2>&1)
	rc=$?
	level=$(echo "$out" | sed -n 's/.*Overall exposure level for mailtap.service: \([0-9.]*\).*/\1/p')
	if [ $rc -eq 0 ] && [ -n "$level" ]; then
		ok unit-security "exposure $level <= 3.0"
	else
		fail unit-security "exposure ${level:-?} above 3.0 (or error): $(echo "$out" | tail -2 | tr '\n' ' ')"
	fi
else
	fail unit-verify "systemd-analyze missing and could not be installed (apt-get install systemd)"
fi

# directive VALUE...: the unit sets directive to exactly these words (any order)
unit_words() { sed -n "s/^$1=//p" deploy/mailtap.service | tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' '; }
want_caps="CAP_BPF CAP_NET_ADMIN CAP_NET_RAW CAP_PERFMON "
want_af="AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX "
why=""
[ "$(unit_words CapabilityBoundingSet)" = "$want_caps" ] || why+="CapabilityBoundingSet=$(unit_words CapabilityBoundingSet); "
[ "$(unit_words AmbientCapabilities)" = "$want_caps" ] || why+="AmbientCapabilities=$(unit_words AmbientCapabilities); "
[ "$(unit_words RestrictAddressFamilies)" = "$want_af" ] || why+="RestrictAddressFamilies=$(unit_words RestrictAddressFamilies); "
for d in 'Type=notify' 'WatchdogSec=[1-9]' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'ProtectHome=\(yes\|read-only\|tmpfs\)' 'PrivateTmp=yes' 'StateDirectory=mailtap' \
	'Restart=on-failure' 'ExecReload=.*kill -HUP \$MAINPID' 'DynamicUser=yes' \
	'ExecStart=@BINDIR@/mailtap --config /etc/mailtap/mailtap.yaml$'; do
	grep -q "^$d" deploy/mailtap.service || why+="no $d; "
done
if [ -z "$why" ]; then
	ok unit-directives "capabilities, address families, hardening"
else
	fail unit-directives "$why"
fi

# ---- the man page --------------------------------------------------------
MAN=docs/mailtap.8
if need groff groff-base; then
	out=$(groff -man -ww -z "$MAN" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		ok man-groff "groff -man -ww: no warnings"
	else
		fail man-groff "$(echo "$out" | head -3 | tr '\n' ' ')"
	fi
else
	fail man-groff "groff missing and could not be installed (apt-get install groff-base)"
fi
if command -v mandoc >/dev/null 2>&1; then
	out=$(mandoc -T lint -W warning "$MAN" 2>&1)
	[ -z "$out" ] && ok man-mandoc "mandoc -T lint: clean" ||
		fail man-mandoc "$(echo "$out" | head -3 | tr '\n' ' ')"
fi

# the page's text with \- and font escapes undone
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' "$MAN" >"$T/man.txt"
"$BUILD/mailtap" --help-all >"$T/help.txt" 2>&1
wide=$(awk 'length($0) > 80 { print length($0) ": " $0 }' "$T/help.txt" | head -3)
[ -z "$wide" ] && ok help-80-columns "--help-all fits in 80 columns" || fail help-80-columns "$wide"
help_long=$(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help.txt" | sort -u)
help_short=$(grep -oE -- '^ +-[A-Za-z],' "$T/help.txt" | tr -d ' ,' | sort -u)
missing=""
for o in $help_long; do grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$T/man.txt" || missing+="$o "; done
for o in $help_short; do grep -qE -- "^\.B[IR]? (.*[ \"])?$o([^a-z-]|\$)" "$T/man.txt" || missing+="$o "; done
if [ -z "$help_long" ]; then
	fail man-options "no options in '$BUILD/mailtap --help'"
elif [ -z "$missing" ]; then
	ok man-options "$(echo "$help_long" | wc -l) long options of --help in mailtap(8)"
else
	fail man-options "in --help but not in $MAN: $missing"
fi
# and the reverse: options documented in OPTIONS that --help no longer has
stale=""
for o in $(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$T/man.txt" | grep -E '^\.(B|BI|BR) ' |
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
	echo "$help_long" | grep -qx -- "$o" || stale+="$o "
done
[ -z "$stale" ] && ok man-no-stale-options || fail man-no-stale-options "in mailtap(8) OPTIONS, not in --help: $stale"
ver=$("$BUILD/mailtap" --version | awk '{print $2}')
if grep -q "^\.TH MAILTAP 8 .*\"mailtap $ver\"" "$MAN"; then
	ok man-version "$ver"
else
	fail man-version ".TH does not say \"mailtap $ver\""
fi
for s in NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	grep -q "^\.SH \"\?$s\"\?\$" "$MAN" || missing_sec+="$s "
done
[ -z "${missing_sec:-}" ] && ok man-sections || fail man-sections "missing: $missing_sec"

# ---- mailtap-catalog-update ----------------------------------------------
MS=$DATA/microsoft-worldwide.json
GOOG=$DATA/goog.json
CLOUD=$DATA/cloud.json

"$U" --help >"$T/u-help" 2>&1 && grep -q -- '--microsoft' "$T/u-help" && grep -q -- '--google' "$T/u-help" &&
	ok update-help || fail update-help "$(head -2 "$T/u-help")"

# loads(FILE): the sensor loads it and replays the demo capture
loads() {
	"$BUILD/mailtap" -q -r pcaps/demo.pcap --catalog "$1" --sessions "${2:-/dev/null}" >"$T/loads.out" 2>&1
}

if "$U" -q --microsoft "$MS" --google "$GOOG" --google-cloud "$CLOUD" --date 2026-08-14 \
	>"$T/gen.json" 2>"$T/gen.err" && loads "$T/gen.json"; then
	ok update-standalone "generated catalog loads in mailtap"
else
	fail update-standalone "$(cat "$T/gen.err" "$T/loads.out" | head -3 | tr '\n' ' ')"
fi

# merged into the shipped catalog: loads, and the demo replay identifies
# every session exactly as with the shipped catalog
if "$U" -q --catalog deploy/catalog.json --microsoft "$MS" --google "$GOOG" --google-cloud "$CLOUD" \
	--date 2026-08-14 --output "$T/merged.json" 2>"$T/merged.err" &&
	loads "$T/merged.json" "$T/merged.jsonl" && loads deploy/catalog.json "$T/shipped.jsonl"; then
	norm() { python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l), sort_keys=True))' "$1"; }
	if [ -s "$T/shipped.jsonl" ] && diff <(norm "$T/shipped.jsonl") <(norm "$T/merged.jsonl") >/dev/null; then
		ok update-merge-shipped "loads; demo sessions identical to the shipped catalog's"
	else
		fail update-merge-shipped "demo sessions differ from the shipped catalog's"
	fi
else
	fail update-merge-shipped "$(cat "$T/merged.err" "$T/loads.out" | head -3 | tr '\n' ' ')"
fi

# content of the merge into the shipped catalog
if [ -f "$T/merged.json" ]; then
	out=$(python3 - deploy/catalog.json "$T/merged.json" <<'EOF' 2>&1
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
MS = "https://endpoints.office.com/endpoints/worldwide"
PAGE = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/urls-and-ip-address-ranges endpoint ID "
prov = {p["id"]: p for p in new["providers"]}
oldp = {p["id"]: p for p in old["providers"]}
errs = []
if [p["id"] for p in new["providers"]] != [p["id"] for p in old["providers"]]:
    errs.append("provider order or set changed")
for pid, p in oldp.items():
    if pid not in ("microsoft365", "google") and prov.get(pid) != p:
        errs.append(f"provider {pid} changed")
ms = prov["microsoft365"]["entries"]
gen = [e for e in ms if e["source"].startswith(MS)]
if ms[:len(gen)] != gen:
    errs.append("generated entries are not first")
ids = [e["source"].split(" ID ")[1] for e in gen]
if ids != ["1", "2", "8", "9", "10", "56", "56", "184"]:
    errs.append(f"generated IDs {ids}")
if any(e["source"].startswith(PAGE) for e in ms):
    errs.append("a hand-made entry for an ID the feed gives was kept")
kept = [e["source"] for e in ms if not e["source"].startswith(MS)]
want_kept = [e["source"] for e in oldp["microsoft365"]["entries"] if not e["source"].startswith(PAGE)]
if kept != want_kept:
    errs.append(f"kept {kept} != {want_kept}")
by = {e["source"].split(" ID ")[1] + ("api" if "api" in e["ports"].values() else ""): e for e in gen}
if by["2"]["ports"] != {"143": "imap", "587": "smtp", "993": "imap", "995": "pop"}:
    errs.append(f"ID 2 ports {by['2']['ports']}")
if by["10"]["ports"] != {"25": "mx"} or by["9"]["ports"] != {"443": "web"}:
    errs.append("ID 9/10 ports")
if by["1"]["ports"] != {"80": "web", "443": "web"} or by["1"].get("date") != "2026-08-14":
    errs.append("ID 1 ports or date")
if by["8"]["hosts"] != ["*.outlook.com"]:
    errs.append(f"ID 8 hosts {by['8']['hosts']} (autodiscover.*.onmicrosoft.com must be skipped)")
if by["56"]["ports"] != {"80": "auth", "443": "auth"} or any(h.startswith("graph.") for h in by["56"]["hosts"]):
    errs.append("ID 56 auth entry")
if by["56api"]["hosts"] != ["graph.microsoft.com", "graph.windows.net"] or "cidrs" in by["56api"]:
    errs.append("ID 56 graph api entry")
allhosts = {h for e in gen for h in e.get("hosts", [])}
if any("sharepoint" in h or "office.live.com" in h or "officeapps" in h for h in allhosts):
    errs.append("non-mail endpoint sets were taken")
g = prov["google"]["entries"]
gg = [e for e in g if e["source"].startswith("https://www.gstatic.com/ipranges/goog.json")]
if len(gg) != 1 or g[0] is not gg[0]:
    errs.append("google generated entry missing or not first")
else:
    c = set(gg[0]["cidrs"])
    for want in ("34.0.0.0/16", "34.1.0.0/17", "34.1.224.0/19", "8.8.8.0/24", "2600:1900::/34", "2600:1900:4010::/44"):
        if want not in c: errs.append(f"google lacks {want}")
    for no in ("34.0.0.0/15", "23.236.48.0/20", "34.1.208.0/20", "2600:1900::/28"):
        if no in c: errs.append(f"google still has {no} (cloud.json not taken away)")
    if gg[0]["ports"] != {"25": "mx", "465": "smtp", "587": "smtp", "993": "imap", "995": "pop"}:
        errs.append(f"google ports {gg[0]['ports']}")
    if gg[0]["date"] != "2026-08-14": errs.append("google date is not creationTime's")
if g[1:] != oldp["google"]["entries"]:
    errs.append("google hand-made entries changed")
print("; ".join(errs))
EOF
)
	[ -z "$out" ] && ok update-merge-content "mapping, order, kept entries, goog minus cloud" ||
		fail update-merge-content "$out"
fi

# a site's catalog from an earlier run: stale generated entries go, the
# site's own providers and entries stay, unchanged and after the generated
if "$U" -q --catalog "$DATA/catalog-site.json" --microsoft "$MS" --google "$GOOG" --google-cloud "$CLOUD" \
	--date 2026-08-14 -o "$T/site.json" 2>"$T/site.err" && loads "$T/site.json"; then
	out=$(python3 - "$DATA/catalog-site.json" "$T/site.json" <<'EOF' 2>&1
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
o = {p["id"]: p for p in old["providers"]}
n = {p["id"]: p for p in new["providers"]}
errs = []
if n.get("contoso_mail") != o["contoso_mail"]: errs.append("user provider contoso_mail changed")
if n["microsoft365"].get("name") != "Microsoft 365 (site)": errs.append("provider name changed")
srcs = [e["source"] for e in n["microsoft365"]["entries"]]
if any(s.endswith(" ID 99") for s in srcs): errs.append("stale generated ID 99 kept")
if any("203.0.113.0/24" in e.get("cidrs", []) for e in n["microsoft365"]["entries"]): errs.append("hand-made ID 1 kept")
site = [e for e in n["microsoft365"]["entries"] if e["source"] == "site: change CHG-1234"]
if len(site) != 1 or site[0] != o["microsoft365"]["entries"][3] or srcs[-1] != "site: change CHG-1234":
    errs.append("site entry lost, changed or not last")
if not any("endpoints ID 95/96" in s for s in srcs): errs.append("hand-made IDs 95/96 entry lost")
g = [e["source"] for e in n["google"]["entries"]]
if any("syncToken 1)" in s for s in g): errs.append("stale google generated entry kept")
if g[-1] != "https://developers.google.com/gmail/imap/imap-smtp": errs.append("google hand-made entry lost")
if new["updated"] != "2026-08-14": errs.append("updated not set")
print("; ".join(errs))
EOF
)
	[ -z "$out" ] && ok update-keeps-user-entries || fail update-keeps-user-entries "$out"
else
	fail update-keeps-user-entries "$(cat "$T/site.err" "$T/loads.out" | head -3 | tr '\n' ' ')"
fi

# running again on its own output changes nothing
if "$U" -q --catalog "$T/site.json" --microsoft "$MS" --google "$GOOG" --google-cloud "$CLOUD" \
	--date 2026-08-14 -o "$T/site2.json" 2>"$T/site2.err" && cmp -s "$T/site.json" "$T/site2.json"; then
	ok update-idempotent
else
	fail update-idempotent "second run differs: $(head -2 "$T/site2.err")"
fi

# only --google: the Microsoft entries generated before stay as they are
if "$U" -q --catalog "$T/site.json" --google "$GOOG" --date 2026-09-01 -o "$T/gonly.json" 2>"$T/gonly.err" &&
	python3 -c 'import json,sys
a,b=(json.load(open(p)) for p in sys.argv[1:3])
pa={p["id"]:p for p in a["providers"]}; pb={p["id"]:p for p in b["providers"]}
sys.exit(0 if pa["microsoft365"]==pb["microsoft365"] and pa["google"]!=pb["google"] else 1)' "$T/site.json" "$T/gonly.json" &&
	grep -q -- '--google-cloud' "$T/gonly.err"; then
	ok update-one-feed "Microsoft entries untouched; warns without --google-cloud"
else
	fail update-one-feed "$(head -2 "$T/gonly.err")"
fi

# standard input
if "$U" -q --microsoft - --date 2026-08-14 <"$MS" >"$T/stdin.json" 2>"$T/stdin.err" &&
	"$U" -q --microsoft "$MS" --date 2026-08-14 >"$T/file.json" 2>/dev/null && cmp -s "$T/stdin.json" "$T/file.json"; then
	ok update-stdin
else
	fail update-stdin "$(head -2 "$T/stdin.err")"
fi

# malformed inputs: exit 1, one clear line naming the file and the field,
# and --output left as it was (no temporary file left behind)
B=$DATA/bad
while IFS='|' read -r name args want; do
	[ -n "$name" ] || continue
	echo "precious" >"$T/out.json"
	# shellcheck disable=SC2086
	"$U" $args -o "$T/out.json" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	msg=$(head -1 "$T/bad.err")
	if [ $rc -ne 1 ]; then
		fail "update-bad-$name" "exit $rc, expected 1 ($msg)"
	elif ! grep -qF -- "$want" "$T/bad.err"; then
		fail "update-bad-$name" "message does not say '$want': $msg"
	elif [ "$(cat "$T/out.json")" != precious ] || ls "$T"/out.json.tmp.* >/dev/null 2>&1; then
		fail "update-bad-$name" "--output was touched"
	else
		ok "update-bad-$name"
	fi
done <<EOF
bad-ip|--microsoft $B/ms-bad-ip.json|ms-bad-ip.json: [1].ips[2]: "40.96.0.300/13": not an IPv4 or IPv6
host-bits|--microsoft $B/ms-hostbits.json|ms-hostbits.json: [0].ips[0]: "40.92.0.1/15": host bits set
bad-ports|--microsoft $B/ms-bad-ports.json|ms-bad-ports.json: [0].tcpPorts: "587;993"
missing-area|--microsoft $B/ms-missing-area.json|ms-missing-area.json: [1]: missing "serviceArea"
url-type|--microsoft $B/ms-url-type.json|ms-url-type.json: [0].urls[1]: expected a string
service-error|--microsoft $B/ms-error.json|ms-error.json: the endpoints service answered with an error: Request was throttled
truncated|--microsoft $B/ms-truncated.json|ms-truncated.json:4:
no-exchange|--microsoft $B/ms-no-exchange.json|ms-no-exchange.json: no endpoint set has serviceArea "Exchange"
goog-no-prefixes|--google $B/goog-no-prefixes.json|goog-no-prefixes.json: missing "prefixes"
goog-family|--google $B/goog-family.json|goog-family.json: prefixes[1].ipv4Prefix: "2001:4860::/32": wrong address family
goog-both|--google $B/goog-both.json|goog-both.json: prefixes[0]: expected one of "ipv4Prefix" or "ipv6Prefix"
cloud-bad|--google $GOOG --google-cloud $B/goog-family.json|goog-family.json: prefixes[1].ipv4Prefix
catalog-bad|--catalog $B/catalog-unknown-key.json --microsoft $MS|catalog-unknown-key.json: providers[0].entries[0]: unknown key "port"
catalog-missing|--catalog $T/nonexistent.json --microsoft $MS|cannot read '$T/nonexistent.json': No such file
ms-missing|--microsoft $T/nonexistent.json|nonexistent.json
EOF

# usage errors: exit 2
while IFS='|' read -r name args; do
	[ -n "$name" ] || continue
	# shellcheck disable=SC2086
	"$U" $args >/dev/null 2>"$T/usage.err" </dev/null
	rc=$?
	[ $rc -eq 2 ] && [ -s "$T/usage.err" ] && ok "update-usage-$name" ||
		fail "update-usage-$name" "exit $rc, expected 2: $(head -1 "$T/usage.err")"
done <<EOF
no-input|
two-stdin|--microsoft - --google -
bad-date|--microsoft $MS --date 2026-13-01
cloud-alone|--google-cloud $CLOUD
bad-provider|--microsoft $MS --microsoft-provider Bad.Id
EOF

# an output that cannot be written: exit 3
"$U" -q --microsoft "$MS" -o "$T/no/such/dir/catalog.json" >/dev/null 2>"$T/out3.err"
rc=$?
[ $rc -eq 3 ] && ok update-output-error || fail update-output-error "exit $rc, expected 3: $(head -1 "$T/out3.err")"

# the atomic write keeps the mode of the file it replaces
echo '{}' >"$T/mode.json" && chmod 0640 "$T/mode.json"
if "$U" -q --microsoft "$MS" -o "$T/mode.json" 2>/dev/null && [ "$(stat -c %a "$T/mode.json")" = 640 ] &&
	loads "$T/mode.json"; then
	ok update-output-replace "replaced in place, mode kept"
else
	fail update-output-replace "mode $(stat -c %a "$T/mode.json")"
fi

# ---- docs/deploy.md ------------------------------------------------------
miss=""
for w in 'make install' 'mailtap.service' CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW \
	StateDirectory /var/lib/mailtap mailtap-catalog-update journalctl DynamicUser 'systemctl daemon-reload'; do
	grep -qF -- "$w" docs/deploy.md 2>/dev/null || miss+="'$w' "
done
[ -z "$miss" ] && ok deploy-doc || fail deploy-doc "docs/deploy.md does not mention $miss"

finish
