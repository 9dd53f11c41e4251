#!/usr/bin/python3
"""Flood captures for mailtap's flood tier (tests/flood/run-tier.sh) and the
benchmarks (tests/bench/bench.sh).  Deterministic, written to files, nothing
is sent on a network.

    /usr/bin/python3 tests/flood/gen_flood.py KIND OUT.pcap [options]

KIND
  syn       N random 5-tuples, one 60-byte SYN each (a spoofed SYN flood)
  dns       N DNS answers (A records) for unique names, each a new UDP flow
  hello     N TLS flows whose ClientHello is 10-16 KB, split over MSS
            segments and interleaved in waves of --wave concurrent flows;
            some carry hundreds of extensions, some are one byte too long for
            the sensor's 16 KiB hello prefix
  mix       all three interleaved over [--start, --start + --seconds]
            (the flood that hides an incident); see --syn/--dns/--hello
  conc      N distinct TCP flows that complete the handshake and stay open
            (memory per tracked flow)
  merge     OUT.pcap A.pcap B.pcap: merge two Ethernet pcaps by timestamp

Frames reuse pcaps/gen: MAC addresses and DNS messages from generate.py,
ClientHellos from generate.client_hello (with extra-extension profiles, the
"extra" profile key scenarios.py also uses), the per-connection TCP builder
fastpkt.Tcp for the hellos; the SYN and conc writers are tight struct loops
because fastpkt's per-frame checksum over Python lists is ~10x too slow for
millions of frames.  Checksums are exact everywhere.

Every random choice comes from random.Random seeded with a fixed string, and
timestamps are fixed times plus seeded steps, so two runs give byte-identical
files.
"""

import argparse
import heapq
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "pcaps", "gen"))
import generate as G  # noqa: E402
import fastpkt as F   # noqa: E402

S = 10**9
T_FLOOD = G.utc_ns(2026, 3, 4, 9, 0, 0)       # a Wednesday morning (demo's incident day)
ETH_C2S = G.macb(G.GW_MAC) + G.macb("02:00:00:00:00:02") + b"\x08\x00"
_REC = struct.Struct("<IIII")


class PcapOut:
    """Streaming classic pcap writer (µs, Ethernet); same add() as fastpkt.Out,
    so fastpkt.Path/Tcp/Udp write straight into the file.  Records must come in
    time order."""

    def __init__(self, path):
        self.path = path
        self.f = open(path + ".tmp", "wb", buffering=1 << 22)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, G.SNAPLEN, 1))
        self.buf = []
        self.n = 0
        self.last = 0

    def add(self, ts_ns, data, wire):
        assert ts_ns >= self.last, "records out of time order"
        self.last = ts_ns
        sec, frac = divmod(ts_ns, S)
        self.buf.append(_REC.pack(sec, frac // 1000, len(data), wire))
        self.buf.append(data)
        self.n += 1
        if len(self.buf) >= 16384:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def raw(self, rec):
        """A pre-built record (16-byte header + data)."""
        self.buf.append(rec)
        self.n += 1
        if len(self.buf) >= 16384:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def close(self):
        self.f.write(b"".join(self.buf))
        self.f.close()
        os.replace(self.path + ".tmp", self.path)
        return self.n


def _fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


# --------------------------------------------------------------------------
# SYN flood: random 5-tuples, one SYN each
# --------------------------------------------------------------------------

_SYN = struct.Struct("!14sBBHHHBBH4s4sHHIIBBHHH6x")   # eth + ip + tcp + 6 pad = 60
_SYN_PORTS = (80, 443, 443, 443, 22, 25, 587, 993, 8080, 3389)


def syn_records(n, t0, step_ns, seed="flood:syn"):
    """Yields (ts_ns, record bytes) for n SYNs with random addresses/ports."""
    r = random.Random(seed)
    rb = r.getrandbits
    ports = _SYN_PORTS
    ip_c = 0x4500 + 40 + 0x4000 + (64 << 8 | 6)        # constant IPv4 header words
    tcp_c = 6 + 20 + (5 << 12 | 2) + 64240               # pseudo proto+len, off/flags, win
    pack, rec = _SYN.pack, _REC.pack
    t = t0
    for i in range(n):
        x = rb(128)
        src, dst, seq = x & 0xFFFFFFFF, (x >> 32) & 0xFFFFFFFF, (x >> 64) & 0xFFFFFFFF
        sport = 1024 + (x >> 96 & 0xFFFF) % 64512
        dport = ports[(x >> 112) % 10] if i & 1 else (x >> 112) or 1
        ipid = i & 0xFFFF
        a = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
        ipck = _fold(ip_c + ipid + a)
        tck = _fold(tcp_c + a + sport + dport + (seq >> 16) + (seq & 0xFFFF))
        sec, frac = divmod(t, S)
        yield t, rec(sec, frac // 1000, 60, 60) + pack(
            ETH_C2S, 0x45, 0, 40, ipid, 0x4000, 64, 6, ipck, src.to_bytes(4, "big"),
            dst.to_bytes(4, "big"), sport, dport, seq, 0, 5 << 4, 2, 64240, tck, 0)
        t += step_ns


# --------------------------------------------------------------------------
# DNS answer flood: unique names, A records
# --------------------------------------------------------------------------

RESOLVERS = ["10.0.0.53", "10.0.1.53", "10.0.2.53", "10.0.3.53"]


def dns_records(n, t0, step_ns, seed="flood:dns"):
    """Yields (ts_ns, record bytes): DNS responses resolver -> client for unique
    names (random-subdomain style), 1-4 A records each, a new client port every
    time (so every answer is a new UDP flow)."""
    r = random.Random(seed)
    sink = _Sink()
    paths = {}
    t = t0
    for i in range(n):
        client = "10.%d.%d.%d" % (20 + (i >> 16) % 8, (i >> 8) & 255, 1 + i % 250)
        res = RESOLVERS[i & 3]
        key = (client, res)
        p = paths.get(key)
        if p is None:
            if len(paths) > 4096:
                paths.clear()
            p = paths[key] = F.Path(sink, client, res, None, 128, 64, {})
        name = "h%07x-%s.cdn%d.flood.example" % (i, "%08x" % r.getrandbits(32), i % 97)
        ans = []
        if i % 5 == 0:          # every fifth answer has a CNAME first
            tgt = "e%07x.edge.flood.example" % i
            ans.append((name, "CNAME", 60, tgt))
        else:
            tgt = name
        for _ in range(1 + r.getrandbits(2)):
            ip = r.getrandbits(32) | 0x01000000
            ans.append((tgt, "A", 30 + r.getrandbits(8),
                        "%d.%d.%d.%d" % (ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255)))
        msg = G.dns_message(r.getrandbits(16), name, "A", ans, True)
        F.Udp(p, 32768 + (i * 7919) % 28000, 53).dgram(t, "s2c", msg)
        yield sink.take()
        t += step_ns


class _Sink:
    """fastpkt.Out-alike that holds the last frame(s) as finished records."""

    def __init__(self):
        self.recs = []

    def add(self, ts_ns, data, wire):
        sec, frac = divmod(ts_ns, S)
        self.recs.append((ts_ns, _REC.pack(sec, frac // 1000, len(data), wire) + data))

    def take(self):
        assert len(self.recs) == 1
        r = self.recs[0]
        self.recs.clear()
        return r

    def take_all(self):
        r = self.recs[:]
        self.recs.clear()
        return r


# --------------------------------------------------------------------------
# Huge ClientHellos
# --------------------------------------------------------------------------

def _huge_profile(r, kind, target):
    """A generate.PROFILES entry whose hello has about `target` bytes."""
    base = dict(G.PROFILES["chrome" if kind & 1 else "nss"])
    extra = []
    if kind == 2:                               # hundreds of small unknown extensions
        k = 0
        while True:
            extra.append((0xE000 + k, r.randbytes(r.randint(0, 24))))
            k += 1
            if k >= 400:
                break
    # pad up to the target with padding (21) and a big fake PSK-like blob (0xFFCE)
    base["extra"] = extra
    rec, _ = G.client_hello(r, "outlook.office365.com", ["h2", "http/1.1"],
                            _reg(base), pq=True)
    room = target - len(rec) - 8
    if room > 0:
        half = room // 2
        extra.append((0xD00D, r.randbytes(half)))
        extra.append((0x0015, b"\0" * (room - half)))
    return base


_PROFN = [0]


def _reg(p):
    name = "flood%d" % _PROFN[0]
    _PROFN[0] += 1
    G.PROFILES[name] = p
    return name


HELLO_SERVERS = (["52.97.146.162", "52.98.207.34", "40.99.150.82"],   # Exchange Online
                 ["203.0.113.%d" % i for i in range(10, 60)])          # not mail


def make_hellos(count=48, seed="flood:hellos"):
    """count distinct huge hellos: sizes 10-16 KB; kind 2 = 400 extensions;
    every 12th exactly 16389 bytes (one byte over the 16 KiB hello prefix)."""
    r = random.Random(seed)
    out = []
    for i in range(count):
        target = 16389 if i % 12 == 11 else r.randint(10000, 16300)
        prof = _huge_profile(r, i % 3, target)
        rec, _ = G.client_hello(r, "outlook.office365.com" if i & 1 else "www.example.com",
                                ["h2", "http/1.1"], _reg(prof), pq=True)
        out.append(rec)
    return out


def hello_records(n, t0, wave=4000, seed="flood:hello"):
    """Yields (ts_ns, record) for n TLS flows in waves of `wave` concurrent
    connections: all handshakes, then the hello segments round-robin (so far
    more reassemblies are open at once than the sensor's pool holds), then a
    server ACK and a client RST each."""
    r = random.Random(seed)
    hellos = make_hellos()
    sink = _Sink()
    t = t0
    done = 0
    while done < n:
        k = min(wave, n - done)
        conns = []
        for j in range(k):
            i = done + j
            client = "10.%d.%d.%d" % (40 + (i >> 16) % 8, (i >> 8) & 255, 1 + i % 250)
            mail = i % 2 == 0
            pool = HELLO_SERVERS[0 if mail else 1]
            server = pool[i % len(pool)]
            p = F.Path(sink, client, server, None, 128, 113 if mail else 51, {})
            tcp = F.Tcp(p, 49152 + (i * 131) % 16000, 443, r, 20000)
            ch = hellos[i % len(hellos)]
            segs = [ch[o:o + tcp.mss] for o in range(0, len(ch), tcp.mss)]
            conns.append((tcp, segs))
        for tcp, _ in conns:                    # handshakes
            tcp.seg(t, "c2s", "S", opts=F._SYN_OPTS, win=64240)
            t += 1000
        for tcp, _ in conns:
            tcp.seg(t, "s2c", "SA", opts=F._SYN_OPTS, win=65535)
            t += 1000
        for tcp, _ in conns:
            tcp.seg(t, "c2s", "A")
            t += 1000
        for rec in sink.take_all():
            yield rec
        nseg = max(len(s) for _, s in conns)
        for si in range(nseg):                  # hello segments, round-robin
            for tcp, segs in conns:
                if si < len(segs):
                    tcp.seg(t, "c2s", "PA" if si == len(segs) - 1 else "A", segs[si])
                    t += 1000
            for rec in sink.take_all():
                yield rec
        for tcp, _ in conns:                    # server ACK, client RST
            tcp.seg(t, "s2c", "A")
            t += 1000
            tcp.seg(t, "c2s", "R")
            t += 1000
        for rec in sink.take_all():
            yield rec
        done += k


# --------------------------------------------------------------------------
# Concurrent long-lived flows (memory per tracked flow)
# --------------------------------------------------------------------------

_ACK = struct.Struct("!14sBBHHHBBH4s4sHHIIBBHHH6x")
ETH_S2C = G.macb("02:00:00:00:00:02") + G.macb(G.GW_MAC) + b"\x08\x00"


def conc_records(n, t0, step_ns, seed="flood:conc"):
    """n distinct TCP flows 10.x -> 198.18.x:443, each SYN, SYN-ACK, ACK
    (established, 3600 s idle timeout): the whole table is live at the end."""
    r = random.Random(seed)
    pack, rec = _ACK.pack, _REC.pack
    t = t0
    for i in range(n):
        src = (10 << 24) | ((64 + (i >> 16)) << 16) | (i & 0xFFFF)
        dst = (198 << 24) | (18 << 16) | r.getrandbits(16)
        sport = 1024 + r.getrandbits(15)
        isn_c, isn_s = r.getrandbits(32), r.getrandbits(32)
        for d, flags, seq, ack, win in ((0, 2, isn_c, 0, 64240),
                                        (1, 0x12, isn_s, (isn_c + 1) & 0xFFFFFFFF, 65535),
                                        (0, 0x10, (isn_c + 1) & 0xFFFFFFFF,
                                         (isn_s + 1) & 0xFFFFFFFF, 1026)):
            s, dd = (src, dst) if d == 0 else (dst, src)
            sp, dp = (sport, 443) if d == 0 else (443, sport)
            a = (s >> 16) + (s & 0xFFFF) + (dd >> 16) + (dd & 0xFFFF)
            ipid = (i * 3 + d) & 0xFFFF
            ipck = _fold(0x4500 + 40 + 0x4000 + (64 << 8 | 6) + ipid + a)
            tck = _fold(26 + a + sp + dp + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) +
                        (ack & 0xFFFF) + (5 << 12 | flags) + win)
            sec, frac = divmod(t, S)
            yield t, rec(sec, frac // 1000, 60, 60) + pack(
                ETH_S2C if d else ETH_C2S, 0x45, 0, 40, ipid, 0x4000, 64, 6, ipck,
                s.to_bytes(4, "big"), dd.to_bytes(4, "big"), sp, dp, seq, ack, 5 << 4, flags,
                win, tck, 0)
            t += step_ns


# --------------------------------------------------------------------------
# Reading and merging pcaps
# --------------------------------------------------------------------------

def read_pcap(path):
    """Yields (ts_ns, record bytes) of a classic µs Ethernet pcap."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic, _, _, _, _, _, lt = struct.unpack("<IHHiIII", hdr)
        assert magic == 0xA1B2C3D4 and lt == 1, "%s: need a µs Ethernet pcap" % path
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, usec, cap, _ = _REC.unpack(h)
            yield (sec * S + usec * 1000), h + f.read(cap)


def write_stream(path, *streams):
    """Merge time-ordered (ts, rec) streams into one pcap."""
    out = PcapOut(path)
    for _, rec in heapq.merge(*streams, key=lambda x: x[0]):
        out.raw(rec)
    return out.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["syn", "dns", "hello", "mix", "conc", "merge"])
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("-n", type=int, default=1_000_000, help="flows / answers")
    ap.add_argument("--pps", type=float, default=200_000, help="packet rate (syn, dns, conc)")
    ap.add_argument("--wave", type=int, default=4000, help="hello: concurrent connections")
    ap.add_argument("--start", type=float, default=0, help="mix: seconds after Wed 09:00 UTC")
    ap.add_argument("--seconds", type=float, default=3000, help="mix: duration")
    ap.add_argument("--syn", type=int, default=600_000)
    ap.add_argument("--dns", type=int, default=60_000)
    ap.add_argument("--hello", type=int, default=2_000)
    a = ap.parse_args()
    step = max(1000, int(S / a.pps) // 1000 * 1000)
    t0 = T_FLOOD
    if a.kind == "syn":
        n = write_stream(a.out, syn_records(a.n, t0, step))
    elif a.kind == "dns":
        n = write_stream(a.out, dns_records(a.n, t0, step))
    elif a.kind == "hello":
        n = write_stream(a.out, hello_records(a.n, t0, a.wave))
    elif a.kind == "conc":
        n = write_stream(a.out, conc_records(a.n, t0, step))
    elif a.kind == "mix":
        t0 += int(a.start * S)
        span = int(a.seconds * S)

        def st(k):
            return max(1000, span // max(1, k) // 1000 * 1000)
        # the hello waves last (wave * ~14 packets) ms; spread them by starting
        # one wave of 200 every span / (hello / 200)
        waves = max(1, a.hello // 200)

        def hellos():
            for w in range(waves):
                yield from hello_records(200, t0 + w * (span // waves) // 1000 * 1000, 200,
                                         seed="flood:mix-hello:%d" % w)
        n = write_stream(a.out, syn_records(a.syn, t0, st(a.syn), "flood:mix-syn"),
                         dns_records(a.dns, t0 + 500_000, st(a.dns), "flood:mix-dns"),
                         hellos())
    else:
        assert len(a.inputs) == 2, "merge OUT A B"
        n = write_stream(a.out, *(read_pcap(p) for p in a.inputs))
    print("%s: %d frames, %d bytes" % (a.out, n, os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
