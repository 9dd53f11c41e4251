#!/usr/bin/python3
"""gen_tunnel.py OUTDIR -- deterministic captures for tests/tunnel/run-tier.sh.

One TLS session (a ClientHello with SNI outlook.office365.com to
52.96.10.20:443, a Microsoft 365 catalog address) is written plain (Ethernet
and raw IP) and wrapped in VXLAN, GENEVE, GRE (IPv4 and Ethernet payloads),
ERSPAN II and III, 4in4 and 6in4.  Five such sessions side by side are
written time-sorted, shuffled in file order (timestamps kept, as a pcapng
merged from several interfaces), and with one packet's timestamp ten years
ahead.
"""
import os
import random
import struct
import sys

from scapy.all import Ether, IP, IPv6, TCP, UDP, GRE, Raw, wrpcap, conf
from scapy.layers.vxlan import VXLAN
from scapy.contrib.geneve import GENEVE
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III

CLIENT, SERVER = "10.1.2.3", "52.96.10.20"
OUT_A, OUT_B = "192.0.2.10", "198.51.100.20"
T0 = 1700000000.0


def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    exts = sni_ext + struct.pack("!HHH", 0x000a, 4, 2) + b"\x00\x1d" + struct.pack("!HHB", 0x000b, 2, 1) + b"\x00"
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\xc0\x2f"
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def session(sport, t0, sni="outlook.office365.com"):
    """(time, IP packet) of one TLS session from CLIENT:sport to SERVER:443."""
    c, s = IP(src=CLIENT, dst=SERVER), IP(src=SERVER, dst=CLIENT)
    hello = client_hello(sni)
    cs, ss = 1000, 5000
    pk = [
        (0.000, c / TCP(sport=sport, dport=443, flags="S", seq=cs)),
        (0.020, s / TCP(sport=443, dport=sport, flags="SA", seq=ss, ack=cs + 1)),
        (0.021, c / TCP(sport=sport, dport=443, flags="A", seq=cs + 1, ack=ss + 1)),
        (0.022, c / TCP(sport=sport, dport=443, flags="PA", seq=cs + 1, ack=ss + 1) / Raw(hello)),
        (0.045, s / TCP(sport=443, dport=sport, flags="PA", seq=ss + 1, ack=cs + 1 + len(hello)) / Raw(b"\x16\x03\x03\x00\x04" + b"\x02\x00\x00\x00")),
        (0.046, c / TCP(sport=sport, dport=443, flags="FA", seq=cs + 1 + len(hello), ack=ss + 10)),
        (0.060, s / TCP(sport=443, dport=sport, flags="FA", seq=ss + 10, ack=cs + 2 + len(hello))),
        (0.061, c / TCP(sport=sport, dport=443, flags="A", seq=cs + 2 + len(hello), ack=ss + 11)),
    ]
    return [(t0 + t, p) for t, p in pk]


def eth(p):
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p


def outer4(p_ip, fwd):
    a, b = (OUT_A, OUT_B) if fwd else (OUT_B, OUT_A)
    return IP(src=a, dst=b)


WRAPS = {
    # name: (function(inner IP packet, client->server?) -> frame, inner is Ethernet)
    "vxlan": (lambda p, f: eth(outer4(p, f) / UDP(sport=49152, dport=4789) / VXLAN(vni=4242) / eth(p)), True),
    "geneve": (lambda p, f: eth(outer4(p, f) / UDP(sport=49153, dport=6081) / GENEVE(vni=77, proto=0x6558) / eth(p)), True),
    "gre-ip": (lambda p, f: eth(outer4(p, f) / GRE(key_present=1, key=9, proto=0x0800) / p), False),
    "gre-eth": (lambda p, f: eth(outer4(p, f) / GRE(proto=0x6558) / eth(p)), True),
    "erspan2": (lambda p, f: eth(outer4(p, f) / GRE(seqnum_present=1, seqence_number=1, proto=0x88be) / ERSPAN_II(ver=1, session_id=321) / eth(p)), True),
    "erspan3": (lambda p, f: eth(outer4(p, f) / GRE(seqnum_present=1, seqence_number=1, proto=0x22eb) / ERSPAN_III(ver=2, session_id=322) / eth(p)), True),
    "4in4": (lambda p, f: eth(outer4(p, f) / p), False),
    "6in4": (None, False),  # inner IPv6: built below
}


def write(path, frames, linktype=None):
    kw = {"linktype": linktype} if linktype is not None else {}
    pkts = []
    for t, fr in frames:
        fr.time = t
        pkts.append(fr)
    wrpcap(path, pkts, **kw)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    conf.verb = 0
    base = session(40001, T0)
    write(os.path.join(out, "plain-eth.pcap"), [(t, eth(p)) for t, p in base])
    write(os.path.join(out, "plain-raw.pcap"), [(t, p) for t, p in base], linktype=101)
    for name, (fn, _) in WRAPS.items():
        if fn is None:
            continue
        write(os.path.join(out, name + ".pcap"), [(t, fn(p, p[IP].src == CLIENT)) for t, p in base])
    # 6in4: the same session over IPv6 inside IPv4, and its plain raw-IPv6 twin
    c6, s6 = "2001:db8::3", "2603:1026::20"  # 2603:1026::/32 is in the Microsoft 365 catalog
    six = []
    for t, p in base:
        fwd = p[IP].src == CLIENT
        six.append((t, IPv6(src=c6 if fwd else s6, dst=s6 if fwd else c6) / p[TCP]))
    write(os.path.join(out, "6in4.pcap"), [(t, eth(IP(src=OUT_A if p.src == c6 else OUT_B, dst=OUT_B if p.src == c6 else OUT_A) / p)) for t, p in six])
    write(os.path.join(out, "plain-raw6.pcap"), six, linktype=101)
    # five sessions, 0.3 s apart: sorted, shuffled, one absurd timestamp
    many = []
    for i in range(5):
        many += session(40100 + i, T0 + 0.3 * i)
    many.sort(key=lambda x: x[0])
    write(os.path.join(out, "sorted.pcap"), [(t, eth(p)) for t, p in many])
    rnd = random.Random(15)
    shuf = list(many)
    rnd.shuffle(shuf)
    write(os.path.join(out, "shuffled.pcap"), [(t, eth(p)) for t, p in shuf])
    bad = list(many)
    bad[len(bad) // 2] = (bad[len(bad) // 2][0] + 10 * 365 * 86400, bad[len(bad) // 2][1])
    write(os.path.join(out, "absurd.pcap"), [(t, eth(p)) for t, p in bad])


if __name__ == "__main__":
    main()
