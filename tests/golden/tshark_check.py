#!/usr/bin/python3
"""tshark_check.py MAILTAP PCAP... -- cross-check per-flow counts with tshark.

For each capture, runs `MAILTAP -r PCAP --sessions - --all-flows` and
`tshark -r PCAP -T fields ...` (IP reassembly off, so every frame stands
alone), groups both by (vlan, proto, endpoint pair, ports) and compares
packets and wire bytes per direction, and TCP/UDP payload bytes.  tshark
counts frame.len, the length on the wire, as mailtap does.

Frames tshark cannot give ports for (non-first IP fragments, truncated L4
headers) are left out of its side; captures holding such frames are listed
in SKIP_PAYLOAD or SKIP below with the reason.  Prints one ok/FAIL line per
capture and "#summary PASSED FAILED".
"""
import collections
import json
import subprocess
import sys

FIELDS = ["frame.len", "vlan.id", "ieee8021ad.id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.len", "udp.length", "ip.flags.mf", "ip.frag_offset", "ip.id",
          "ipv6.fraghdr.ident", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
          "ip.proto", "ipv6.nxt", "icmp.type", "icmpv6.type"]


# Captures where a frame-by-frame comparison cannot hold, and why.
SKIP = {
    "ip_fragmented_garbage.pcap": "overlapping garbage fragments: no independent attribution to compare with",
    "tls_invalid_reads.pcap": "GTP-U tunnel: tshark decodes the inner TCP, mailtap reports the outer UDP flow",
}
# Captures whose UDP length fields are garbage: tshark trusts the field,
# mailtap the wire length; compare packets and bytes only.
COUNTS_ONLY = {"fuzz-2006-06-26-2594.pcap"}


def tshark_flows(pcap):
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
         "-o", "tcp.desegment_tcp_streams:FALSE",
         "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
        + sum([["-e", f] for f in FIELDS], []),
        capture_output=True, text=True, check=False).stdout
    flows = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    frag_ports = {}  # (src, dst, ident) -> (proto, sport, dport) from first fragments
    unportable = 0
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        if v["icmp.type"] or v["icmpv6.type"] or "," in v["ip.src"] or "," in v["ipv6.src"]:
            unportable += 1  # ICMP, or a tunnel / ICMP error quoting a header
            continue
        ident = v["ip.id"] or v["ipv6.fraghdr.ident"]
        more = v["ip.flags.mf"] in ("1", "True") or v["ipv6.fraghdr.more"] in ("1", "True")
        offset = int(v["ip.frag_offset"] or v["ipv6.fraghdr.offset"] or 0)
        # innermost addresses win (tunnels are not decoded by mailtap anyway)
        src = (v["ip.src"] or v["ipv6.src"]).split(",")[-1]
        dst = (v["ip.dst"] or v["ipv6.dst"]).split(",")[-1]
        if v["tcp.srcport"]:
            proto, sp, dp = "TCP", v["tcp.srcport"], v["tcp.dstport"]
            payload = int(v["tcp.len"].split(",")[0] or 0)
        elif v["udp.srcport"]:
            proto, sp, dp = "UDP", v["udp.srcport"], v["udp.dstport"]
            payload = max(int(v["udp.length"].split(",")[0] or 8) - 8, 0)
        elif offset and (src, dst, ident) in frag_ports:
            # a later fragment: attributed to its first fragment's ports, its
            # whole IP payload counted as L4 payload (as mailtap does)
            proto, sp, dp = frag_ports[(src, dst, ident)]
            hdr = 20 if v["ip.src"] else 48  # IPv4 header, or IPv6 + fragment header
            payload = int(v["frame.len"]) - 14 - 4 * len([x for x in (v["ieee8021ad.id"] + "," + v["vlan.id"]).split(",") if x]) - hdr
        else:
            if src:
                unportable += 1
            continue
        if more and not offset:
            frag_ports[(src, dst, ident)] = (proto, sp, dp)
        if more and not offset and proto == "UDP":
            # first fragment: the UDP length covers the whole datagram
            payload = int(v["frame.len"]) - 14 - 4 * len([x for x in (v["ieee8021ad.id"] + "," + v["vlan.id"]).split(",") if x]) \
                - (20 if v["ip.src"] else 48) - 8
        # an 802.1ad outer tag is ieee8021ad.id in tshark, 802.1Q tags vlan.id
        vlans = tuple(int(x) for x in (v["ieee8021ad.id"] + "," + v["vlan.id"]).split(",") if x)
        sp, dp = int(sp.split(",")[0]), int(dp.split(",")[0])
        a, b = (src, sp), (dst, dp)
        key = (vlans, proto) + tuple(sorted([a, b]))
        fwd = 0 if (a <= b) else 1
        rec = flows[key]
        rec[fwd * 3 + 0] += 1
        rec[fwd * 3 + 1] += int(v["frame.len"])
        rec[fwd * 3 + 2] += payload
    return flows, unportable


def mailtap_flows(mailtap, pcap):
    out = subprocess.run([mailtap, "-q", "-r", pcap, "--sessions", "-", "--all-flows", "--interim", "0"],
                         capture_output=True, text=True, check=False).stdout
    flows = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for line in out.splitlines():
        s = json.loads(line)
        if s["event_type"] != "session":
            continue
        a, b = (s["src_ip"], s["src_port"]), (s["dest_ip"], s["dest_port"])
        key = (tuple(s.get("vlan", [])), s["proto"]) + tuple(sorted([a, b]))
        c2s = 0 if a <= b else 1
        rec = flows[key]
        for d, sfx in ((c2s, "toserver"), (1 - c2s, "toclient")):
            rec[d * 3 + 0] += s["pkts_" + sfx]
            rec[d * 3 + 1] += s["bytes_" + sfx]
            rec[d * 3 + 2] += s["payload_bytes_" + sfx]
    return flows


def main():
    mailtap, pcaps = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for pcap in pcaps:
        base = pcap.rsplit("/", 1)[-1]
        if base in SKIP:
            print("skip %s: %s" % (pcap, SKIP[base]))
            continue
        t, unportable = tshark_flows(pcap)
        m = mailtap_flows(mailtap, pcap)
        if base in COUNTS_ONLY:
            for d in (t, m):
                for k in d:
                    d[k][2] = d[k][5] = 0
        # tshark's vlan.id lists every tag; mailtap keys on at most two
        bad = []
        for key in sorted(set(t) | set(m), key=str):
            if t.get(key) != m.get(key):
                bad.append("  %s: tshark %s mailtap %s" % (key, t.get(key), m.get(key)))
        if bad:
            failed += 1
            print("FAIL %s (%d flows differ)" % (pcap, len(bad)))
            print("\n".join(bad[:10]))
        else:
            passed += 1
            print("ok   %s (%d flows, %d frames without ports skipped)" % (pcap, len(t), unportable))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
