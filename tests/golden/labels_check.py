#!/usr/bin/python3
"""labels_check.py MAILTAP -- compare mailtap's sessions with ground truth.

Every capture in pcaps/ comes with PCAP.labels.json, written by the
generator that made the capture: for each session, the client and server
endpoints, VLAN tags, and exact packets, wire bytes and payload bytes per
direction, and how it ends.  This replays each capture with
`--all-flows --interim 0` and checks that mailtap reports exactly one
session per labelled session with the same client/server orientation and
the same counters, and how it ended (fin/rst, or eof/timeout when the
label says the session is still open).  Later checks (SNI, provider,
classification) join here as the sensor learns them.

Prints ok/FAIL per capture and "#summary PASSED FAILED".
"""
import glob
import json
import os
import subprocess
import sys

END_OK = {"fin": {"fin"}, "rst": {"rst"}, "none": {"eof", "timeout"}}


def run(mailtap, pcap):
    out = subprocess.run([mailtap, "-q", "-r", pcap, "--sessions", "-", "--all-flows", "--interim", "0"],
                         capture_output=True, text=True, check=False)
    recs = [json.loads(l) for l in out.stdout.splitlines()]
    return [r for r in recs if r["event_type"] == "session"], out.returncode


def check(mailtap, labels_path):
    labels = json.load(open(labels_path))
    pcap = os.path.join(os.path.dirname(labels_path), labels["file"])
    sessions, rc = run(mailtap, pcap)
    errs = []
    if rc != 0:
        errs.append("exit status %d" % rc)
    seen_service = {}  # label service -> (provider, service) mailtap gave it
    by_key = {}
    for s in sessions:
        k = (s["proto"], s["src_ip"], s["src_port"], s["dest_ip"], s["dest_port"], tuple(s.get("vlan", [])))
        by_key.setdefault(k, []).append(s)
    for lab in labels["sessions"]:
        k = (lab["proto"].upper(), lab["client_ip"], lab["client_port"], lab["server_ip"],
             lab["server_port"], tuple(lab.get("vlan") or []))
        got = by_key.pop(k, [])
        if len(got) != 1:
            errs.append("%s %s: expected 1 session, mailtap has %d" % (lab["id"], k, len(got)))
            continue
        s = got[0]
        for d, sfx in (("c2s", "toserver"), ("s2c", "toclient")):
            for lf, mf in (("packets", "pkts_"), ("wire_bytes", "bytes_"), ("payload_bytes", "payload_bytes_")):
                if lab[d][lf] != s[mf + sfx]:
                    errs.append("%s %s %s: label %d mailtap %d" % (lab["id"], d, lf, lab[d][lf], s[mf + sfx]))
        if s["end_reason"] not in END_OK.get(lab["end"], {lab["end"]}):
            errs.append("%s: ends %s, mailtap says %s" % (lab["id"], lab["end"], s["end_reason"]))
        # identification: mail or not, and by what
        if lab.get("mail"):
            if not s.get("provider"):
                errs.append("%s: a mail session, mailtap names no provider" % lab["id"])
            if s.get("classified_by") != lab.get("identified_by"):
                errs.append("%s: identified by %s, mailtap says %s"
                            % (lab["id"], lab.get("identified_by"), s.get("classified_by")))
            # one labelled service, one classification, whatever the evidence
            got_svc = (s.get("provider"), s.get("service"))
            first = seen_service.setdefault((lab.get("service"), lab["server_port"]), got_svc)
            if first != got_svc:
                errs.append("%s: %s classified as %s here, %s elsewhere"
                            % (lab["id"], lab.get("service"), got_svc, first))
        elif s.get("provider"):
            errs.append("%s: not mail, mailtap says %s" % (lab["id"], s["provider"]))
        if lab.get("sni") and s.get("sni") != lab["sni"]:
            errs.append("%s: sni %s, mailtap says %s" % (lab["id"], lab["sni"], s.get("sni")))
        if lab.get("alpn") and s.get("alpn") != lab["alpn"][0]:
            errs.append("%s: first alpn %s, mailtap says %s" % (lab["id"], lab["alpn"][0], s.get("alpn")))
    # frames the generator lists as extra (garbage fragments and the like)
    # may form sessions of their own, within their byte budget
    extra = sum(e["wire_bytes"] for e in labels.get("extra_frames", []))
    for k, rest in by_key.items():
        for s in rest:
            b = s["bytes_toserver"] + s["bytes_toclient"]
            if b > extra:
                errs.append("mailtap session not in labels: %s" % (k,))
            extra -= b
    return errs


def main():
    mailtap = sys.argv[1]
    files = sorted(glob.glob("pcaps/*.labels.json"))
    passed = failed = 0
    for f in files:
        errs = check(mailtap, f)
        if errs:
            failed += 1
            print("FAIL %s" % f)
            for e in errs[:15]:
                print("  " + e)
        else:
            passed += 1
            print("ok   %s" % f)
    if not files:
        print("FAIL no pcaps/*.labels.json found")
        failed += 1
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
