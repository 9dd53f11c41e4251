#!/usr/bin/python3
"""cid_check.py MAILTAP SPECDIR -- mailtap's Community ID against the spec's
published baselines.

SPECDIR is ../shared/pcaps/community-id-spec (corelight/community-id-spec
@ b1fe530faa0c, BSD-3-Clause): combined.pcap and the per-protocol captures,
with baselines the spec generated from combined.pcap:

  *.cid.baseline_deflt.json   seed 0, base64     (one per capture; all equal)
  combined.cid.baseline_seed1.json   seed 1, base64
  combined.cid.baseline_nob64.json   seed 0, hex ("1:" + 40 hex digits)

each a JSON list of {"proto", "saddr", "daddr", "sport", "dport",
"communityid"}, one entry per direction of a flow; and Zeek's log of the
per-protocol captures, *.zeek.community_id.out ("[orig_h=…, orig_p=N/tcp,
resp_h=…, resp_p=N/tcp, proto=6, ctx=[]], 1:…").

For every capture, mailtap runs with --all-flows --interim 0 and
--community-id-seed 0 and 1.  Every session it writes (TCP and UDP only)
must have the baseline's ID for its tuple, for both seeds, and the Zeek ID
where Zeek logged the flow; for the no-base64 baseline (mailtap has no hex
output) the base64 ID must decode to the same 20 bytes as the baseline's hex.
Every TCP/UDP baseline flow present in the capture must be among mailtap's
sessions.  Baseline flows of other protocols (ICMP, ICMPv6, SCTP, RSVP) that
are in the capture are reported as not applicable: mailtap counts them but
writes no session records for them.

Prints ok/FAIL per capture and "#summary PASSED FAILED".
"""
import base64
import glob
import json
import os
import re
import subprocess
import sys

PROTO = {"TCP": 6, "UDP": 17}
ZEEK_LINE = re.compile(r"^\[orig_h=([^,]+), orig_p=(\d+)/\w+, resp_h=([^,]+), "
                       r"resp_p=(\d+)/\w+, proto=(\d+).*\], (\S+)\s*$")


def load_baseline(path):
    """(proto, saddr, daddr, sport, dport) -> communityid; both directions."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for e in json.load(f):
            out[(e["proto"], e["saddr"], e["daddr"], e["sport"], e["dport"])] = e["communityid"]
    return out


def load_zeek(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = ZEEK_LINE.match(line)
            if m:
                out[(int(m.group(5)), m.group(1), m.group(3), int(m.group(2)),
                     int(m.group(4)))] = m.group(6)
    return out


def capture_pairs(pcap):
    """(proto, src, dst) of the outer IP header of every packet, per tshark."""
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
         "-e", "ip.proto", "-e", "ipv6.nxt"],
        capture_output=True, text=True, check=False).stdout
    pairs = set()
    for line in out.splitlines():
        f = [x.split(",")[0] for x in line.split("|")]
        if len(f) < 6:
            continue
        src, dst, proto = (f[0], f[1], f[4]) if f[0] else (f[2], f[3], f[5])
        if src and proto:
            pairs.add((int(proto), src, dst))
    return pairs


def sessions(mailtap, pcap, seed):
    out = subprocess.run([mailtap, "-q", "-r", pcap, "--sessions", "-", "--all-flows",
                          "--interim", "0", "--community-id-seed", str(seed)],
                         capture_output=True, text=True, check=False).stdout
    res = {}
    for line in out.splitlines():
        s = json.loads(line)
        if s.get("event_type") != "session":
            continue
        key = (PROTO.get(s["proto"], -1), s["src_ip"], s["dest_ip"], s["src_port"],
               s["dest_port"])
        res[key] = s.get("community_id")
    return res


def b64_to_hex(cid):
    if not cid or not cid.startswith("1:"):
        return None
    try:
        return "1:" + base64.b64decode(cid[2:], validate=True).hex()
    except ValueError:
        return None


def check(mailtap, specdir, pcap, seed1, nob64):
    name = os.path.basename(pcap).rsplit(".", 1)[0]
    deflt = load_baseline(os.path.join(specdir, name + ".cid.baseline_deflt.json")) or \
        load_baseline(os.path.join(specdir, "combined.cid.baseline_deflt.json"))
    zeek = load_zeek(os.path.join(specdir, name + ".zeek.community_id.out"))
    s0 = sessions(mailtap, pcap, 0)
    s1 = sessions(mailtap, pcap, 1)
    present = capture_pairs(pcap)
    bad = []
    n = {"sessions": len(s0), "seed0": 0, "seed1": 0, "nob64": 0, "zeek": 0}

    if set(s0) != set(s1):
        bad.append("  sessions differ between seed 0 and seed 1: %s"
                   % sorted(set(s0) ^ set(s1), key=str))
    for key in sorted(s0, key=str):
        for seed, base, got in ((0, deflt, s0.get(key)), (1, seed1, s1.get(key))):
            want = base.get(key)
            if want is None:
                bad.append("  %s: not in the seed-%d baseline (mailtap %s)" % (key, seed, got))
            elif got != want:
                bad.append("  %s seed %d: mailtap %s baseline %s" % (key, seed, got, want))
            else:
                n["seed%d" % seed] += 1
        want = nob64.get(key)
        got = b64_to_hex(s0.get(key))
        if want is None:
            bad.append("  %s: not in the no-base64 baseline" % (key,))
        elif got != want:
            bad.append("  %s no-base64: mailtap %s decodes to %s, baseline %s"
                       % (key, s0.get(key), got, want))
        else:
            n["nob64"] += 1
        rev = (key[0], key[2], key[1], key[4], key[3])
        zk = key if key in zeek else rev if rev in zeek else None
        if zk is not None:
            if zeek[zk] != s0.get(key):
                bad.append("  %s: mailtap %s zeek %s" % (key, s0.get(key), zeek[zk]))
            else:
                n["zeek"] += 1
    for zk in zeek:
        rev = (zk[0], zk[2], zk[1], zk[4], zk[3])
        if zk not in s0 and rev not in s0:
            bad.append("  %s: zeek logs it, mailtap has no session" % (zk,))

    # baseline flows present in this capture: TCP/UDP ones must be sessions
    na = set()
    for key in deflt:
        proto, saddr, daddr = key[0], key[1], key[2]
        if (proto, saddr, daddr) not in present:
            continue
        rev = (proto, daddr, saddr, key[4], key[3])
        flow = min(key, rev, key=str)
        if proto not in (6, 17):
            na.add(flow)
        elif key not in s0 and rev not in s0:
            bad.append("  %s: in the baseline and the capture, mailtap has no session" % (key,))
    return bad, n, len(na)


def main():
    mailtap, specdir = sys.argv[1], sys.argv[2]
    pcaps = sorted(glob.glob(os.path.join(specdir, "*.pcap")))
    seed1 = load_baseline(os.path.join(specdir, "combined.cid.baseline_seed1.json"))
    nob64 = load_baseline(os.path.join(specdir, "combined.cid.baseline_nob64.json"))
    passed = failed = 0
    if not pcaps or not seed1 or not nob64:
        print("FAIL %s: no captures or baselines" % specdir)
        print("#summary 0 1")
        return
    for pcap in pcaps:
        bad, n, na = check(mailtap, specdir, pcap, seed1, nob64)
        counts = ("%d sessions; equal: seed 0 %d, seed 1 %d, no-base64 %d, zeek %d; "
                  "%d non-TCP/UDP baseline flows not applicable" %
                  (n["sessions"], n["seed0"], n["seed1"], n["nob64"], n["zeek"], na))
        if bad or not n["sessions"]:
            failed += 1
            print("FAIL %s (%s)" % (pcap, counts))
            print("\n".join(bad[:10]))
        else:
            passed += 1
            print("ok   %s (%s)" % (pcap, counts))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
