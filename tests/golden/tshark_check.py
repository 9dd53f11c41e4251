#!/usr/bin/python3
"""tshark_check.py MAILTAP PCAP... -- cross-check per-flow counts with tshark.

For each capture, runs `MAILTAP -r PCAP --sessions - --all-flows` and
`tshark -r PCAP -T fields ...` (IP reassembly off, so every frame stands
alone), groups both by (vlan, proto, endpoint pair, ports) and compares
packets and wire bytes per direction, and TCP/UDP payload bytes.  tshark
counts frame.len, the length on the wire, as mailtap does.

Tunnels (VXLAN, GENEVE, GRE, ERSPAN, IP-in-IP, Teredo) are keyed by the
innermost IP header and the TCP/UDP header after it, as mailtap reports
them; their bytes are the inner packet's length on the wire (from the start
of the inner packet to the end the enclosing IP/UDP header declares, taken
from tshark's PDML positions), so the outer overhead is not counted.  A
frame whose innermost IP carries no TCP/UDP (ICMP, a Teredo bubble, ARP in
VXLAN) has no ports and is skipped on both sides.

Frames tshark cannot give ports for (non-first IP fragments, truncated L4
headers) are left out of its side; captures holding such frames are listed
in SKIP_PAYLOAD or SKIP below with the reason.  Prints one ok/FAIL line per
capture and "#summary PASSED FAILED".
"""
import collections
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

FIELDS = ["frame.len", "vlan.id", "ieee8021ad.id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.len", "udp.length", "ip.flags.mf", "ip.frag_offset", "ip.id",
          "ipv6.fraghdr.ident", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
          "ip.proto", "ipv6.nxt", "icmp.type", "icmpv6.type",
          "frame.protocols", "frame.number", "ip.len", "ip.hdr_len", "ipv6.plen"]

TUNNEL_PROTOS = {"vxlan", "geneve", "gre", "erspan", "teredo"}
LINKISH = {"eth", "vlan", "ieee8021ad", "mpls", "ppp", "pppoes"}
PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
         "-o", "tcp.desegment_tcp_streams:FALSE"]


def innermost(protos):
    """(index of the innermost IP layer, the L4 name after it) or None."""
    ips = [i for i, p in enumerate(protos) if p in ("ip", "ipv6")]
    if not ips:
        return None
    i = ips[-1]
    after = protos[i + 1:]
    if any(p in TUNNEL_PROTOS for p in after):
        return (i, "tunnel")  # a tunnel whose inner packet is not IP
    for p in after:
        if p in ("tcp", "udp"):
            return (i, p)
    return (i, None)


def is_tunnelled(protos):
    inn = innermost(protos)
    if not inn:
        return False
    before = protos[:inn[0]]
    return any(p in TUNNEL_PROTOS for p in before) or any(p in ("ip", "ipv6") for p in before)


def inner_lengths(pcap):
    """frame number -> wire length of the innermost packet, for tunnelled frames."""
    out = subprocess.run(["tshark", "-n", "-r", pcap] + PREFS + ["-T", "pdml"],
                         capture_output=True, text=True, check=False).stdout
    lens = {}
    for pkt in ET.fromstring(out).iter("packet"):
        protos = []
        for pr in pkt.findall("proto"):
            vals = {f.get("name"): f.get("show") for f in pr.iter("field")}
            protos.append((pr.get("name"), int(pr.get("pos") or 0), vals))
        names = [p[0] for p in protos]
        frame = dict((p[0], p[2]) for p in protos).get("frame", {})
        inn = innermost(names)
        if not inn or not is_tunnelled(names):
            continue
        start = inn[0]
        while start > 0 and names[start - 1] in LINKISH:
            start -= 1
        begin = protos[start][1]
        end = int(frame.get("frame.len", 0))
        for name, pos, vals in protos[:start]:
            if name == "ip" and vals.get("ip.len"):
                end = min(end, pos + int(vals["ip.len"]))
            elif name == "ipv6" and vals.get("ipv6.plen"):
                end = min(end, pos + 40 + int(vals["ipv6.plen"]))
            elif name == "udp" and vals.get("udp.length"):
                end = min(end, pos + int(vals["udp.length"]))
        lens[int(frame.get("frame.number", 0))] = max(end - begin, 0)
    return lens


# Captures where a frame-by-frame comparison cannot hold, and why.
SKIP = {
    "ip_fragmented_garbage.pcap": "overlapping garbage fragments: no independent attribution to compare with",
    "tls_invalid_reads.pcap": "GTP-U tunnel: tshark decodes the inner TCP, mailtap reports the outer UDP flow",
}
# Captures whose UDP length fields are garbage: tshark trusts the field,
# mailtap the wire length; compare packets and bytes only.
COUNTS_ONLY = {"fuzz-2006-06-26-2594.pcap"}


def last(v, field):
    return v[field].split(",")[-1] if v[field] else ""


def tshark_flows(pcap):
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap] + PREFS +
        ["-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
        + sum([["-e", f] for f in FIELDS], []),
        capture_output=True, text=True, check=False).stdout
    flows = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    frag_ports = {}  # (src, dst, ident) -> (proto, sport, dport) from first fragments
    unportable = 0
    inner = None  # frame number -> inner length, read when a tunnel is seen
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        protos = v["frame.protocols"].split(":")
        inn = innermost(protos)
        if v["icmp.type"] or v["icmpv6.type"] or (inn and inn[1] == "tunnel"):
            unportable += 1  # ICMP (or an ICMP error quoting a header), non-IP in a tunnel
            continue
        if not inn:
            continue
        v4 = protos[inn[0]] == "ip"
        ident = last(v, "ip.id") if v4 else last(v, "ipv6.fraghdr.ident")
        more = (last(v, "ip.flags.mf") if v4 else last(v, "ipv6.fraghdr.more")) in ("1", "True")
        offset = int((last(v, "ip.frag_offset") if v4 else last(v, "ipv6.fraghdr.offset")) or 0)
        # the innermost IP header's payload on the wire (IPv6: past a fragment header)
        if v4:
            ip_payload = int(last(v, "ip.len") or 0) - int(last(v, "ip.hdr_len") or 20)
        else:
            ip_payload = int(last(v, "ipv6.plen") or 0) - 8
        src = last(v, "ip.src") if v4 else last(v, "ipv6.src")
        dst = last(v, "ip.dst") if v4 else last(v, "ipv6.dst")
        if inn[1] == "tcp" and v["tcp.srcport"]:
            proto, sp, dp = "TCP", last(v, "tcp.srcport"), last(v, "tcp.dstport")
            payload = int(last(v, "tcp.len") or 0)
        elif inn[1] == "udp" and v["udp.srcport"]:
            proto, sp, dp = "UDP", last(v, "udp.srcport"), last(v, "udp.dstport")
            payload = max(int(last(v, "udp.length") or 8) - 8, 0)
        elif offset and (src, dst, ident) in frag_ports:
            # a later fragment: attributed to its first fragment's ports, its
            # whole IP payload counted as L4 payload (as mailtap does)
            proto, sp, dp = frag_ports[(src, dst, ident)]
            payload = ip_payload
        else:
            if src:
                unportable += 1
            continue
        if more and not offset:
            frag_ports[(src, dst, ident)] = (proto, sp, dp)
        if more and not offset and proto == "UDP":
            # first fragment: the UDP length covers the whole datagram
            payload = ip_payload - 8
        # an 802.1ad outer tag is ieee8021ad.id in tshark, 802.1Q tags vlan.id
        vlans = tuple(int(x) for x in (v["ieee8021ad.id"] + "," + v["vlan.id"]).split(",") if x)
        sp, dp = int(sp), int(dp)
        length = int(v["frame.len"])
        if is_tunnelled(protos):
            if inner is None:
                inner = inner_lengths(pcap)
            length = inner.get(int(v["frame.number"]), length)
        a, b = (src, sp), (dst, dp)
        key = (vlans, proto) + tuple(sorted([a, b]))
        fwd = 0 if (a <= b) else 1
        rec = flows[key]
        rec[fwd * 3 + 0] += 1
        rec[fwd * 3 + 1] += length
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
