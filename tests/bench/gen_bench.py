#!/usr/bin/python3
"""The benchmark capture of tests/bench/bench.sh: a busy uplink, mostly
non-mail web traffic, with cloud-mail TLS sessions (DNS lookup, ClientHello,
exchanges) and a DNS answer stream mixed in.  Deterministic (seeded),
written to a file, nothing is sent.

    /usr/bin/python3 tests/bench/gen_bench.py OUT.pcap [-n PACKETS] [--mail N] [--dns N]

Background flows: SYN, SYN-ACK, ACK, a request (full), a response of
1..~200 MSS segments (1514-byte frames captured at 128 bytes, as a tap with
a short snaplen), an ACK every second segment, FIN, FIN, ACK; about 2000
flows open at a time, ~40 packets each.  Mail sessions and DNS answers come
from pcaps/gen (fastpkt.Tcp, generate.client_hello, generate.dns_message)
through tests/flood/gen_flood.py's streaming writer.
"""

import argparse
import heapq
import math
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "flood"))
import gen_flood as GF  # noqa: E402
G, F = GF.G, GF.F

S = 10**9
T0 = G.utc_ns(2026, 3, 4, 14, 0, 0)
_HDR = struct.Struct("!14sBBHHHBBH4s4sHHIIBBHHH")   # eth + ipv4 + tcp (54 bytes)
_REC = GF._REC
CAP = 128


def _sum16(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


_BLOCK = random.Random("bench:payload").randbytes(2048)
_RESP = [(_BLOCK[o:o + CAP - 54], _sum16(_BLOCK[o:o + CAP - 54])) for o in range(0, 1024, 2)]
_REQ = [(_BLOCK[o:o + n], _sum16(_BLOCK[o:o + n])) for o, n in
        ((0, 320), (64, 412), (128, 560), (256, 296), (300, 488))]


def bg_flow(r, fid, t):
    """One background HTTP(S)-like flow; yields (ts, rec)."""
    c = (10 << 24) | (1 + fid % 200) << 16 | r.getrandbits(16)
    s = r.getrandbits(32)
    while (s >> 24) in (10, 40, 52, 127, 142, 172, 192, 0, 224, 240):   # no mail, no special
        s = r.getrandbits(32)
    cp, sp = 32768 + r.getrandbits(14), (443, 443, 443, 80, 8443)[fid % 5]
    seq = [r.getrandbits(32), r.getrandbits(32)]
    ipid = [r.getrandbits(16), r.getrandbits(16)]
    rtt = r.randint(2000, 60000) * 1000
    a = (c >> 16) + (c & 0xFFFF) + (s >> 16) + (s & 0xFFFF)
    cb, sb = c.to_bytes(4, "big"), s.to_bytes(4, "big")

    def pkt(t, d, flags, plen, pay=b"", psum=0, ack=True):
        # d 0: client -> server
        src, dst, spt, dpt = (cb, sb, cp, sp) if d == 0 else (sb, cb, sp, cp)
        sq, ak = seq[d], (seq[1 - d] if ack else 0)
        seq[d] = (sq + plen + (1 if flags & 3 else 0)) & 0xFFFFFFFF
        ipid[d] = (ipid[d] + 1) & 0xFFFF
        tl = 40 + plen
        ttl = 128 if d == 0 else 52
        win = 1026 if d == 0 else 16385
        ipck = GF._fold(0x4500 + tl + ipid[d] + 0x4000 + (ttl << 8 | 6) + a)
        tck = GF._fold(6 + 20 + plen + a + spt + dpt + (sq >> 16) + (sq & 0xFFFF) +
                       (ak >> 16) + (ak & 0xFFFF) + (5 << 12 | flags) + win + psum)
        fr = _HDR.pack(GF.ETH_C2S if d == 0 else GF.ETH_S2C, 0x45, 0, tl, ipid[d], 0x4000,
                       ttl, 6, ipck, src, dst, spt, dpt, sq, ak, 0x50, flags, win, tck, 0) + pay
        wire = 14 + tl
        if wire < 60:
            fr += b"\0" * (60 - wire)
            wire = 60
        sec, frac = divmod(t, S)
        return t, _REC.pack(sec, frac // 1000, len(fr), wire) + fr

    yield pkt(t, 0, 2, 0, ack=False)
    t += rtt
    yield pkt(t, 1, 0x12, 0)
    t += r.randint(30, 200) * 1000
    yield pkt(t, 0, 0x10, 0)
    pay, ps = _REQ[fid % len(_REQ)]
    t += r.randint(50, 500) * 1000
    yield pkt(t, 0, 0x18, len(pay), pay, ps)
    t += rtt + r.randint(1000, 40000) * 1000
    k = max(1, min(400, int(math.exp(r.gauss(2.6, 1.1)))))
    gap = r.randint(20, 300) * 1000
    for i in range(k):
        pay, ps = _RESP[(fid + i) % len(_RESP)]
        yield pkt(t, 1, 0x18 if i == k - 1 else 0x10, 1460, pay, ps)
        if i & 1 or i == k - 1:
            yield pkt(t + 40000, 0, 0x10, 0)
        t += gap
    t += r.randint(1000, 200000) * 1000
    yield pkt(t, 0, 0x11, 0)
    t += rtt
    yield pkt(t, 1, 0x11, 0)
    t += r.randint(30, 200) * 1000
    yield pkt(t, 0, 0x10, 0)


def background(n_packets, conc=2000, seed="bench:bg"):
    """~n_packets of background, `conc` flows open at once."""
    r = random.Random(seed)
    heap = []
    fid = 0
    t = T0
    for _ in range(conc):
        g = bg_flow(r, fid, t + r.randint(0, 2000) * 1000 * 1000)
        fid += 1
        ts, rec = next(g)
        heap.append((ts, fid, rec, g))
    heapq.heapify(heap)
    out = 0
    while heap and out < n_packets:
        ts, f, rec, g = heap[0]
        yield ts, rec
        out += 1
        nxt = next(g, None)
        if nxt is None:           # flow over: a new one starts shortly after
            g = bg_flow(r, fid, ts + r.randint(1, 3000) * 1000)
            fid += 1
            nxt = next(g)
            f = fid
        heapq.heapreplace(heap, (nxt[0], f, nxt[1], g))


MAIL = [("outlook.office365.com", "52.97.146.162", "schannel"),
        ("outlook.office365.com", "40.99.150.82", "schannel"),
        ("mail.google.com", "142.250.185.69", "chrome"),
        ("imap.gmail.com", "142.251.9.108", "nss")]


def mail_sessions(n, span_ns, seed="bench:mail"):
    """n short TLS mail sessions with their DNS lookups, spread over span_ns."""
    r = random.Random(seed)
    sink = GF._Sink()
    for i in range(n):
        name, sip, prof = MAIL[i % len(MAIL)]
        host = "10.%d.%d.%d" % (200 + i % 8, (i >> 4) & 255, 1 + i % 200)
        t = T0 + r.randint(0, span_ns // 1000) * 1000
        dp = F.Path(sink, host, "10.0.0.53", None, 128, 64, {})
        q = r.getrandbits(16)
        u = F.Udp(dp, 32768 + r.getrandbits(14), 53)
        u.dgram(t, "c2s", G.dns_message(q, name, "A", [], False))
        t += 2000 * 1000
        u.dgram(t, "s2c", G.dns_message(q, name, "A", [(name, "A", 60, sip)], True))
        t += 300 * 1000
        p = F.Path(sink, host, sip, None, 128, 113, {})
        tcp = F.Tcp(p, 32768 + r.getrandbits(14), 993 if name.startswith("imap") else 443,
                    r, r.randint(8000, 30000))
        ch, _ = G.client_hello(r, name, ["h2", "http/1.1"], prof, pq=i % 7 == 0)
        t = tcp.open(t)
        t = tcp.tls(t, ch, G.server_flight(r, 0x001D, 4000))
        for _ in range(1 + i % 3):
            t += r.randint(5, 500) * 1000 * 1000
            t = tcp.exchange(t, r.randint(500, 2000), r.randint(2000, 400000))
        tcp.fin(t + 100 * 1000 * 1000)
    recs = sorted(sink.take_all(), key=lambda x: x[0])
    return iter(recs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=3_000_000, help="background packets")
    ap.add_argument("--mail", type=int, default=4000, help="mail sessions")
    ap.add_argument("--dns", type=int, default=100_000, help="DNS answers (unique names)")
    a = ap.parse_args()
    bg = list(background(1))   # warm the module-level tables
    del bg
    # the background runs at ~140k packets per second of packet time
    span = int(a.n / 140_000 * S)
    n = GF.write_stream(a.out, background(a.n), mail_sessions(a.mail, span),
                        GF.dns_records(a.dns, T0, max(1000, span // max(1, a.dns) // 1000 * 1000),
                                       "bench:dns"))
    print("%s: %d frames, %d bytes" % (a.out, n, os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
