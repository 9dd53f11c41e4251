#!/usr/bin/python3
"""check_alerts.py LABELS ALERTS -- alerts of one scenario against its labels.

Every labelled incident must raise at least one alert for its host whose
kind is the incident's kind or one of its also_acceptable_kinds, with a
timestamp inside [start, end + 30 min]; no host outside the incidents may
raise any alert -- except, on a capture whose incidents start in the first
hour of a run without history ("first_hour": true), the documented day-one
cases below, which are printed as "known" lines and neither pass nor fail.
Prints one ok/FAIL line per incident and per benign check, a recall /
false-positive summary, and "#summary PASSED FAILED".
"""
import calendar
import json
import sys
import time

GRACE_S = 30 * 60

# A stateless first day (alerts with "learning": true): a host whose job is
# to move mail in bulk alerts once, as a host nobody knows would
# (docs/detection.md, "Day one and learning").  Reported, not failed.
DAY_ONE_ROLES = {"relay", "backup", "list_server"}

# Incidents beyond the documented day-one detection limits when they start
# in the first hour of a run without history (docs/detection.md,
# "Detection limits"): reported when missed, not failed.
DAY_ONE_BEYOND = {
    "slow-drip": "a steady 25 MB/h never reaches 63 MB in 30 min; the 8 h and 24 h "
                 "windows wait for the host's own history",
}


def t(s):
    s = s.rstrip("Z").split(".")[0]
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%S"))


def main():
    labels = json.load(open(sys.argv[1]))
    alerts = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    name = labels.get("file", sys.argv[1])
    passed = failed = 0
    incident_hosts = set()
    found = 0
    first_hour = labels.get("first_hour", False)
    roles = {h["ip"]: h.get("role") for h in labels.get("hosts", [])}
    known = 0
    for inc in labels.get("incidents", []):
        incident_hosts.add(inc["host"])
        kinds = {inc["kind"]} | set(inc.get("also_acceptable_kinds", []))
        lo, hi = t(inc["start"]), t(inc["end"]) + GRACE_S
        hits = [a for a in alerts if a["src_ip"] == inc["host"] and a["kind"] in kinds
                and lo <= t(a["ts"]) <= hi]
        if hits:
            found += 1
            passed += 1
            a = hits[0]
            print("ok   %s %s: %s score %s at %s" % (name, inc["id"], a["kind"], a["score"], a["ts"]))
        elif first_hour and inc["id"] in DAY_ONE_BEYOND:
            known += 1
            print("known %s %s: missed, beyond the documented day-one limits (%s)"
                  % (name, inc["id"], DAY_ONE_BEYOND[inc["id"]]))
        else:
            failed += 1
            other = [(a["kind"], a["ts"]) for a in alerts if a["src_ip"] == inc["host"]]
            print("FAIL %s %s: no %s alert for %s in [%s, %s+30m]; its alerts: %s"
                  % (name, inc["id"], "/".join(sorted(kinds)), inc["host"], inc["start"], inc["end"], other[:5]))
    fps = [a for a in alerts if a["src_ip"] not in incident_hosts]
    day_one = [a for a in fps if first_hour and a.get("learning") and
               roles.get(a["src_ip"]) in DAY_ONE_ROLES]
    for a in day_one:
        print("known %s: day-one alert on %s (%s, a documented day-one role): %s %s score %s"
              % (name, a["src_ip"], roles.get(a["src_ip"]), a["ts"], a["kind"], a["score"]))
    fps = [a for a in fps if a not in day_one]
    fp_hosts = sorted({a["src_ip"] for a in fps})
    if fps:
        failed += 1
        print("FAIL %s: %d alerts on %d benign hosts" % (name, len(fps), len(fp_hosts)))
        for a in fps[:8]:
            print("     %s %s %s score %s: %s" % (a["ts"], a["src_ip"], a["kind"], a["score"],
                                               a["reasons"][0]["detail"] if a["reasons"] else ""))
    else:
        passed += 1
        print("ok   %s: no alert on any benign host" % name)
    n_inc = len(labels.get("incidents", []))
    print("%s: recall %d/%d, false-positive hosts %d%s" % (
        name, found, n_inc, len(fp_hosts),
        ", known day-one: %d missed, %d alerts" % (known, len(day_one)) if first_hour else ""))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
