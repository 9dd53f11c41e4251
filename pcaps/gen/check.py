#!/usr/bin/python3
"""Compare every pcaps/*.labels.json with what tshark sees in the capture.

    /usr/bin/python3 pcaps/gen/check.py [PCAPDIR]

Per labelled session and direction it checks, against tshark:
  frames, wire bytes (sum of frame.len), captured bytes (frame.cap_len),
  payload bytes (tcp.len / udp.length - 8), first/last timestamps, SNI, ALPN,
  VLAN ids, MPLS labels, DNS query name and answered addresses, FIN/RST,
and the per-direction frame counts of `tshark -q -z conv,tcp -z conv,udp`
(tshark 4.0 prints conversation bytes rounded to kB/MB, so exact byte totals
are taken from the per-frame fields).  It also fails on anything tshark writes
to stderr other than the "running as root" notice.  Exit status 1 on mismatch.
"""

import collections
import glob
import json
import os
import re
import subprocess
import sys

FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len",
          "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.id",
          "tcp.srcport", "tcp.dstport", "tcp.len", "tcp.flags.fin", "tcp.flags.reset",
          "udp.srcport", "udp.dstport", "udp.length",
          "ieee8021ad.id", "vlan.id", "mpls.label",
          "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
          "dns.flags.response", "dns.qry.name", "dns.a", "dns.aaaa"]
PREFS = ["-o", "tcp.reassemble_out_of_order:TRUE"]


def tshark(args):
    p = subprocess.run(["tshark"] + args, capture_output=True, text=True)
    err = [ln for ln in p.stderr.splitlines() if ln.strip() and "Running as user" not in ln]
    return p.returncode, p.stdout, err


def frames(path):
    args = ["-r", path, "-n"] + PREFS + ["-T", "fields", "-E", "separator=\t",
                                         "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    rc, out, err = tshark(args)
    rows = []
    for ln in out.splitlines():
        v = ln.split("\t")
        rows.append(dict(zip(FIELDS, v)))
    return rc, rows, err


def conv(path):
    rc, out, err = tshark(["-r", path, "-n", "-q", "-z", "conv,tcp", "-z", "conv,udp"])
    res = {}
    pat = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\d+)")
    for ln in out.splitlines():
        m = pat.match(ln)
        if m:
            a, b = m.group(1), m.group(2)
            res[(a, b)] = {"b2a": int(m.group(3)), "a2b": int(m.group(4))}
    return rc, res, err


def ep(ip, port):
    return "%s:%s" % (ip, port)


def check_file(pcapdir, lab):
    path = os.path.join(pcapdir, lab["file"])
    problems = []
    rc, rows, err = frames(path)
    if rc or err:
        problems.append("tshark fields: rc=%d %s" % (rc, err))
    rc2, convs, err2 = conv(path)
    if rc2 or err2:
        problems.append("tshark conv: rc=%d %s" % (rc2, err2))
    if len(rows) != lab["frames"]:
        problems.append("frames: tshark %d, label %d" % (len(rows), lab["frames"]))

    # map (src, sport, dst, dport, proto) -> session, direction
    keys = {}
    for s in lab["sessions"]:
        c, sv = (s["client_ip"], s["client_port"]), (s["server_ip"], s["server_port"])
        keys[(c, sv, s["proto"])] = (s, "c2s")
        keys[(sv, c, s["proto"])] = (s, "s2c")
    frag_ids = {}
    acc = collections.defaultdict(lambda: {"packets": 0, "wire_bytes": 0,
                                           "captured_bytes": 0, "payload_bytes": 0})
    seen = collections.defaultdict(lambda: collections.defaultdict(set))
    times = collections.defaultdict(list)
    unmatched = 0
    pending = []
    for r in rows:
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        if r["tcp.srcport"]:
            proto, sp, dp = "tcp", int(r["tcp.srcport"]), int(r["tcp.dstport"])
            pl = int(r["tcp.len"] or 0)
        elif r["udp.srcport"]:
            proto = "udp"
            sp, dp = int(r["udp.srcport"].split(",")[0]), int(r["udp.dstport"].split(",")[0])
            pl = int(r["udp.length"].split(",")[0]) - 8
        else:
            pending.append(r)        # e.g. a first IP fragment; attributed by ip.id below
            continue
        k = ((src, sp), (dst, dp), proto)
        if k not in keys:
            unmatched += 1
            continue
        s, d = keys[k]
        if r["ip.id"]:
            frag_ids[(src, dst, r["ip.id"])] = (s, d)
        a = acc[(s["id"], d)]
        a["packets"] += 1
        a["wire_bytes"] += int(r["frame.len"])
        a["captured_bytes"] += int(r["frame.cap_len"])
        a["payload_bytes"] += pl
        times[s["id"]].append(r["frame.time_epoch"])
        for f in ("tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
                  "mpls.label", "dns.qry.name", "dns.a", "dns.aaaa"):
            if r[f]:
                seen[s["id"]][f].add(r[f])
        stack = ",".join(x for x in (r["ieee8021ad.id"], r["vlan.id"]) if x)
        if stack:
            seen[s["id"]]["vlan"].add(stack)
        if r["tcp.flags.fin"] in ("1", "True"):
            seen[s["id"]]["fin"].add(d)
        if r["tcp.flags.reset"] in ("1", "True"):
            seen[s["id"]]["rst"].add(d)
    extra = 0
    for r in pending:
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        k = (src, dst, r["ip.id"])
        if k in frag_ids:
            s, d = frag_ids[k]
            a = acc[(s["id"], d)]
            a["packets"] += 1
            a["wire_bytes"] += int(r["frame.len"])
            a["captured_bytes"] += int(r["frame.cap_len"])
            times[s["id"]].append(r["frame.time_epoch"])
        else:
            extra += 1
    if unmatched + extra != len(lab["extra_frames"]):
        problems.append("frames outside labelled sessions: tshark %d, label %d"
                        % (unmatched + extra, len(lab["extra_frames"])))

    ns = lab["ts_resolution"] == "ns"
    for s in lab["sessions"]:
        sid = s["id"]
        for d in ("c2s", "s2c"):
            got = acc[(sid, d)]
            for f in ("packets", "wire_bytes", "captured_bytes", "payload_bytes"):
                if got[f] != s[d][f]:
                    problems.append("%s %s %s: tshark %d, label %d"
                                    % (sid, d, f, got[f], s[d][f]))
        ts = sorted(times[sid], key=lambda x: tuple(int(p) for p in x.split(".")))
        if ts:
            def us(x):
                a, b = x.split(".")
                return int(a) * 10**6 + int(b.ljust(9, "0")[:6])
            if us(ts[0]) != s["first_ts_us"] or us(ts[-1]) != s["last_ts_us"]:
                problems.append("%s timestamps: tshark %s..%s" % (sid, ts[0], ts[-1]))
            if ns:
                def nsv(x):
                    a, b = x.split(".")
                    return int(a) * 10**9 + int(b.ljust(9, "0")[:9])
                if nsv(ts[0]) != s["first_ts_ns"] or nsv(ts[-1]) != s["last_ts_ns"]:
                    problems.append("%s ns timestamps: tshark %s..%s" % (sid, ts[0], ts[-1]))
        sn = seen[sid]
        want = {s["sni"]} if s["sni"] else set()
        if sn["tls.handshake.extensions_server_name"] != want:
            problems.append("%s sni: tshark %s, label %s"
                            % (sid, sn["tls.handshake.extensions_server_name"], want))
        if s.get("alpn"):
            if sn["tls.handshake.extensions_alpn_str"] != {",".join(s["alpn"])}:
                problems.append("%s alpn: tshark %s" % (sid,
                                sn["tls.handshake.extensions_alpn_str"]))
        wv = {",".join(str(v) for v in s["vlan"])} if s["vlan"] else set()
        if sn["vlan"] != wv:
            problems.append("%s vlan: tshark %s, label %s" % (sid, sn["vlan"], wv))
        wm = {",".join(str(v) for v in s["mpls"])} if s.get("mpls") else set()
        if sn["mpls.label"] != wm:
            problems.append("%s mpls: tshark %s, label %s" % (sid, sn["mpls.label"], wm))
        if s.get("dns"):
            if sn["dns.qry.name"] != {s["dns"]["qname"]}:
                problems.append("%s dns qname: %s" % (sid, sn["dns.qry.name"]))
            got = set()
            for f in ("dns.a", "dns.aaaa"):
                for v in sn[f]:
                    got |= set(v.split(","))
            if got != set(s["dns"]["addresses"]):
                problems.append("%s dns addresses: tshark %s" % (sid, sorted(got)))
        if s["proto"] == "tcp":
            end = "rst" if sn["rst"] else ("fin" if sn["fin"] else "none")
            if end != s["end"]:
                problems.append("%s end: tshark %s, label %s" % (sid, end, s["end"]))
        # conversation table (frames per direction)
        a, b = ep(s["client_ip"], s["client_port"]), ep(s["server_ip"], s["server_port"])
        if (a, b) in convs:
            c = convs[(a, b)]
            cf = {"c2s": c["a2b"], "s2c": c["b2a"]}
        elif (b, a) in convs:
            c = convs[(b, a)]
            cf = {"c2s": c["b2a"], "s2c": c["a2b"]}
        else:
            problems.append("%s: not in tshark conversation table" % sid)
            continue
        for d in ("c2s", "s2c"):
            want_f = s[d]["packets"]
            if s.get("fragmented") and d == "s2c":
                # tshark's UDP conversation counts only the frame that completed reassembly
                want_f -= s["fragmented"]["s2c_frames"] - s["fragmented"]["s2c_datagrams"]
            if cf[d] != want_f:
                problems.append("%s conv %s frames: tshark %d, label %d"
                                % (sid, d, cf[d], want_f))
    return problems, len(lab["sessions"]), len(convs)


def main():
    pcapdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = good = 0
    for lf in sorted(glob.glob(os.path.join(pcapdir, "*.labels.json"))):
        with open(lf) as f:
            lab = json.load(f)
        problems, nsess, nconv = check_file(pcapdir, lab)
        print("%-18s %3d sessions, %3d tshark conversations: %s"
              % (lab["file"], nsess, nconv, "OK" if not problems else "MISMATCH"))
        for p in problems:
            print("    " + p)
        bad += bool(problems)
        good += not problems
    print("#summary %d %d" % (good, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
