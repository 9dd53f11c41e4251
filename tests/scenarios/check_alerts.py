#!/usr/bin/python3
"""check_alerts.py LABELS ALERTS -- alerts of one scenario against its labels.

Every labelled incident must raise at least one alert for its host whose
kind is the incident's kind or one of its also_acceptable_kinds, with a
timestamp inside [start, end + 30 min]; no host outside the incidents may
raise any alert.  Prints one ok/FAIL line per incident and per benign
check, a recall / false-positive summary, and "#summary PASSED FAILED".
"""
import calendar
import json
import sys
import time

GRACE_S = 30 * 60


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
        else:
            failed += 1
            other = [(a["kind"], a["ts"]) for a in alerts if a["src_ip"] == inc["host"]]
            print("FAIL %s %s: no %s alert for %s in [%s, %s+30m]; its alerts: %s"
                  % (name, inc["id"], "/".join(sorted(kinds)), inc["host"], inc["start"], inc["end"], other[:5]))
    fps = [a for a in alerts if a["src_ip"] not in incident_hosts]
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
    print("%s: recall %d/%d, false-positive hosts %d" % (name, found, n_inc, len(fp_hosts)))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
