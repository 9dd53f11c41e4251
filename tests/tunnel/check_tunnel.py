#!/usr/bin/python3
"""check_tunnel.py MAILTAP DIR -- the captures of gen_tunnel.py through mailtap.

Each tunnelled capture must give the session record of its plain twin
(Ethernet inside -> plain-eth, IP inside -> plain-raw / plain-raw6) once the
tunnel object is set aside, and that object must name the tunnel.  The
shuffled and the absurd-timestamp captures must give the sessions of the
time-sorted one (history letters, which follow file order, and for the
absurd one the record times aside).  Prints ok/FAIL lines and
"#summary PASSED FAILED".
"""
import json
import subprocess
import sys

TWINS = {  # capture: (plain twin, tunnel type, id or None)
    "vxlan": ("plain-eth", "vxlan", 4242), "geneve": ("plain-eth", "geneve", 77),
    "gre-ip": ("plain-raw", "gre", 9), "gre-eth": ("plain-eth", "gre", None),
    "erspan2": ("plain-eth", "erspan", 321), "erspan3": ("plain-eth", "erspan", 322),
    "4in4": ("plain-raw", "ipip", None), "6in4": ("plain-raw6", "ipip", None),
}


def sessions(mailtap, pcap):
    out = subprocess.run([mailtap, "-q", "-r", pcap, "--sessions", "-", "--interim", "0"],
                         capture_output=True, text=True, check=False, env={"MAILTAP_SEED": "1"}).stdout
    return [json.loads(l) for l in out.splitlines()]


def strip(s, drop):
    return {k: v for k, v in s.items() if k not in drop}


def main():
    mailtap, d = sys.argv[1], sys.argv[2]
    passed = failed = 0

    def report(ok, name, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok   " + name)
        else:
            failed += 1
            print("FAIL %s %s" % (name, detail))

    for cap, (twin, ttype, tid) in TWINS.items():
        got, want = sessions(mailtap, "%s/%s.pcap" % (d, cap)), sessions(mailtap, "%s/%s.pcap" % (d, twin))
        ok = len(got) == 1 and len(want) == 1 and got[0].get("sni") == "outlook.office365.com"
        if ok:
            t = got[0].get("tunnel", {})
            ok = (strip(got[0], {"tunnel"}) == want[0] and t.get("type") == ttype and t.get("id") == tid
                  and t.get("depth") == 1 and t.get("src_ip") == "192.0.2.10"
                  and t.get("overhead_bytes", 0) > 0 and "tunnel" not in want[0])
        report(ok, "%s gives the %s session record" % (cap, twin),
               "\n  got  %s\n  want %s" % (got, want))

    def keyed(recs, drop):
        return sorted(json.dumps(strip(s, drop), sort_keys=True) for s in recs)

    ref = sessions(mailtap, d + "/sorted.pcap")
    for cap, drop in (("shuffled", {"history", "flow_id", "record_id", "ts"}),
                      ("absurd", {"flow_id", "record_id", "ts", "end", "duration"})):
        got = sessions(mailtap, "%s/%s.pcap" % (d, cap))
        ok = len(ref) == 5 and keyed(got, drop) == keyed(ref, drop)
        report(ok, "%s gives the sessions of sorted (%d, %d)" % (cap, len(got), len(ref)),
               "\n  got  %s\n  want %s" % (keyed(got, drop), keyed(ref, drop)))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
