#!/usr/bin/python3
"""Deterministic scenario capture generator for mailtap.

    /usr/bin/python3 pcaps/gen/generate.py [OUTDIR]      (default: pcaps/)

Writes the scenario captures and, next to each, <name>.labels.json with the
ground truth per TCP/UDP session.  Nothing is sent on a network: scapy is used
only to build packet bytes, and the pcap / pcapng files are written by the small
writers below so that each record's captured length and on-wire length are
under our control.

Determinism: every random choice comes from random.Random seeded with a fixed
string, every timestamp is derived from fixed scenario start times, and nothing
reads the clock, so two runs give byte-identical files (see pcaps/README.md).

Conventions (also in pcaps/README.md):
  * Sessions are TCP connections or UDP request/response pairs; "client" is the
    side that sent the first packet (the SYN for TCP).
  * Application-data phase: every TCP segment sent after the client's TLS
    Finished flight whose frame is longer than 128 bytes is written with
    caplen = 128 and len = full frame length.  Handshakes, ClientHellos, the
    server's first flight, pure ACKs, FIN/RST and DNS are written in full.
  * Ethernet frames shorter than 60 bytes are zero-padded to 60, as a tap sees
    them (the padding is counted in the frame length, never in payload bytes).
"""

import calendar
import ipaddress
import json
import logging
import os
import random
import struct
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

SNAPLEN = 65535
TRUNC = 128
GW_MAC = "02:00:00:00:00:01"

LINKTYPES = {"eth": (1, "EN10MB"), "raw": (101, "RAW"),
             "sll": (113, "LINUX_SLL"), "sll2": (276, "LINUX_SLL2")}

# Address classes.  Exchange Online: detection.md 5.1 (IDs 1/2); Google: goog.json
# entries used here.  Every external address used below is asserted against these.
RANGES = {
    "exchange_online": [
        "13.107.6.152/31", "13.107.18.10/31", "13.107.128.0/22", "23.103.160.0/20",
        "40.96.0.0/13", "40.104.0.0/15", "52.96.0.0/14", "131.253.33.215/32",
        "132.245.0.0/16", "150.171.32.0/22", "204.79.197.215/32",
        "2603:1006::/40", "2603:1016::/36", "2603:1026::/36", "2603:1036::/36",
        "2603:1046::/36", "2603:1056::/36"],
    "google": ["142.250.0.0/15", "2a00:1450::/32"],
    "documentation": ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"],
    "internal": ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"],
}
_NETS = {k: [ipaddress.ip_network(n) for n in v] for k, v in RANGES.items()}


def addr_class(ip):
    a = ipaddress.ip_address(ip)
    for k, nets in _NETS.items():
        if any(a.version == n.version and a in n for n in nets):
            return k
    raise ValueError("address %s is in none of the allowed ranges" % ip)


def utc_ns(y, mo, d, h, mi, s):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 10**9


def iso(ts_ns, ns):
    sec, frac = divmod(ts_ns, 10**9)
    base = "%04d-%02d-%02dT%02d:%02d:%02d" % tuple(time.gmtime(sec)[:6])
    return base + (".%09dZ" % frac if ns else ".%06dZ" % (frac // 1000))


def macb(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def host_mac(ip):
    a = ipaddress.ip_address(ip)
    b = a.packed
    return "02:00:%02x:%02x:%02x:%02x" % (b[-4], b[-3], b[-2], b[-1]) if a.version == 4 \
        else "02:06:%02x:%02x:%02x:%02x" % (b[-4], b[-3], b[-2], b[-1])


# --------------------------------------------------------------------------
# Capture container and writers
# --------------------------------------------------------------------------

class Capture:
    def __init__(self, name, link, fmt="pcap", ns=False, description=""):
        self.name = name            # file name, e.g. "demo.pcap"
        self.link = link
        self.fmt = fmt              # "pcap" or "pcapng"
        self.ns = ns                # nanosecond timestamps (pcap magic 0xa1b23c4d)
        self.description = description
        self.recs = []              # (ts_ns, order, stored_bytes, wire_len, meta)
        self.sessions = []
        self.extra = []             # frames that belong to no labelled session
        self._order = 0
        self._ipid = {}
        self.rng = random.Random("cap:" + name)

    def dt(self, rng, lo_us, hi_us=None):
        """A positive time step in ns: whole microseconds, plus 1..999 ns in ns captures."""
        v = lo_us if hi_us is None else rng.randint(lo_us, hi_us)
        v = v * 1000
        if self.ns:
            v += rng.randint(1, 999)
        return v

    def next_ipid(self, ip):
        if ip not in self._ipid:
            self._ipid[ip] = random.Random("ipid:" + ip).randint(0x1000, 0xefff)
        self._ipid[ip] = (self._ipid[ip] + 1) & 0xFFFF
        return self._ipid[ip]

    def add(self, ts, frame, truncate, meta):
        assert self.ns or ts % 1000 == 0, "us capture with sub-us timestamp"
        caplen = min(len(frame), TRUNC) if truncate else len(frame)
        self.recs.append((ts, self._order, frame[:caplen], len(frame), meta))
        self._order += 1

    def sorted_recs(self):
        return sorted(self.recs, key=lambda r: (r[0], r[1]))


def write_pcap(path, cap, recs):
    magic = 0xA1B23C4D if cap.ns else 0xA1B2C3D4
    lt = LINKTYPES[cap.link.kind][0]
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, lt)]
    for ts, _, data, wire, _m in recs:
        sec, frac = divmod(ts, 10**9)
        sub = frac if cap.ns else frac // 1000
        out.append(struct.pack("<IIII", sec, sub, len(data), wire))
        out.append(data)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def _ngopt(code, val):
    return struct.pack("<HH", code, len(val)) + _pad4(val)


def _ngblock(btype, body):
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(path, cap, recs, comments=None):
    """SHB + one IDB (if_tsresol = 6, microseconds) + one EPB per record."""
    comments = comments or {}
    lt = LINKTYPES[cap.link.kind][0]
    out = []
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += _ngopt(4, b"mailtap pcaps/gen/generate.py") + _ngopt(0, b"")
    out.append(_ngblock(0x0A0D0D0A, shb))
    idb = struct.pack("<HHI", lt, 0, SNAPLEN)
    idb += _ngopt(2, b"tap0") + _ngopt(9, bytes([6])) + _ngopt(0, b"")
    out.append(_ngblock(0x00000001, idb))
    for i, (ts, _, data, wire, _m) in enumerate(recs):
        t = ts // 1000
        body = struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(data), wire)
        body += _pad4(data)
        if i in comments:
            body += _ngopt(1, comments[i].encode()) + _ngopt(0, b"")
        out.append(_ngblock(0x00000006, body))
    with open(path, "wb") as f:
        f.write(b"".join(out))


# --------------------------------------------------------------------------
# Link layers
# --------------------------------------------------------------------------

class Link:
    """kind: eth | sll | sll2 | raw; eth may carry vlans=[outer, inner] or mpls labels."""

    def __init__(self, kind="eth", vlans=(), mpls=()):
        self.kind = kind
        self.vlans = list(vlans)
        self.mpls = list(mpls)

    def wrap(self, l3, v6, d, cmac):
        et = 0x86DD if v6 else 0x0800
        sender = cmac if d == "c2s" else GW_MAC
        if self.kind == "raw":
            return l3
        if self.kind == "sll":
            pkttype = 4 if d == "c2s" else 0      # PACKET_OUTGOING / PACKET_HOST
            return struct.pack("!HHH8sH", pkttype, 1, 6, macb(sender), et) + l3
        if self.kind == "sll2":
            pkttype = 4 if d == "c2s" else 0
            return struct.pack("!HHIHBB8s", et, 0, 2, 1, pkttype, 6, macb(sender)) + l3
        src, dst = (cmac, GW_MAC) if d == "c2s" else (GW_MAC, cmac)
        if len(self.vlans) == 2:
            p = Ether(dst=dst, src=src, type=0x88A8) / \
                Dot1AD(prio=0, vlan=self.vlans[0], type=0x8100) / \
                Dot1Q(prio=0, vlan=self.vlans[1], type=et)
        elif len(self.vlans) == 1:
            p = Ether(dst=dst, src=src, type=0x8100) / Dot1Q(prio=0, vlan=self.vlans[0], type=et)
        elif self.mpls:
            p = Ether(dst=dst, src=src, type=0x8847)
            for i, lab in enumerate(self.mpls):
                p = p / MPLS(label=lab, cos=0, s=1 if i == len(self.mpls) - 1 else 0, ttl=63)
        else:
            p = Ether(dst=dst, src=src, type=et)
        f = bytes(p / Raw(l3))
        if len(f) < 60:
            f += b"\0" * (60 - len(f))
        return f


# --------------------------------------------------------------------------
# Sessions and flows
# --------------------------------------------------------------------------

SERVER_TTL = {"exchange_online": 113, "google": 57, "documentation": 51, "internal": 63}
MAIL_SERVICES = ("exchange_online", "gmail")


class Session:
    def __init__(self, cap, proto, cip, cport, sip, sport, role, *, sni=None,
                 dns_name=None, service=None, alpn=None, notes=None, dns=None):
        self.cap = cap
        self.id = "%s-%02d" % (cap.name.split(".")[0], len(cap.sessions) + 1)
        cap.sessions.append(self)
        self.proto, self.cip, self.cport, self.sip, self.sport = proto, cip, cport, sip, sport
        self.role, self.sni, self.dns_name, self.service = role, sni, dns_name, service
        self.alpn, self.notes, self.dns = alpn, notes, dns
        self.end, self.closed_by = "none", None
        self.stream = {"c2s": 0, "s2c": 0}
        self.frag = None
        self.client_hello = None
        cls = addr_class(sip)
        if service == "exchange_online":
            assert cls == "exchange_online", (sip, cls)
        elif service == "gmail":
            assert cls == "google", (sip, cls)
        elif proto == "tcp":
            assert cls in ("documentation",), (sip, cls)
        assert addr_class(cip) == "internal", cip


class Flow:
    """Emits packets of one session: builds L3/L4 with scapy, wraps in the link layer."""

    def __init__(self, cap, sess, rng, cttl=128):
        self.cap, self.s, self.rng = cap, sess, rng
        self.v6 = ":" in sess.cip
        self.cmac = host_mac(sess.cip)
        self.cttl = cttl
        self.sttl = SERVER_TTL[addr_class(sess.sip)]

    def ip(self, d, l4):
        src, dst = (self.s.cip, self.s.sip) if d == "c2s" else (self.s.sip, self.s.cip)
        ttl = self.cttl if d == "c2s" else self.sttl
        if self.v6:
            return IPv6(src=src, dst=dst, hlim=ttl, tc=0, fl=0) / l4
        return IP(src=src, dst=dst, ttl=ttl, id=self.cap.next_ipid(src), flags="DF", tos=0) / l4

    def emit(self, t, d, l3bytes, payload_len, truncate=False):
        frame = self.cap.link.wrap(l3bytes, self.v6, d, self.cmac)
        self.cap.add(t, frame, truncate, {"s": self.s, "d": d, "pl": payload_len})


def other(d):
    return "s2c" if d == "c2s" else "c2s"


def syn_opts(mss):
    return [("MSS", mss), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None),
            ("SAckOK", b"")]


class Tcp(Flow):
    def __init__(self, cap, sess, rng, rtt_ms, cttl=128):
        super().__init__(cap, sess, rng, cttl)
        self.mss = 1440 if self.v6 else 1460
        self.isn = {"c2s": rng.getrandbits(32), "s2c": rng.getrandbits(32)}
        self.nxt = dict(self.isn)
        self.rtt = rtt_ms * 10**6
        self.app = False          # application-data phase: long frames are truncated
        self.win = {"c2s": 1026, "s2c": 16385}

    def seg(self, t, d, flags, payload=b"", seq=None, new=True, opts=None, win=None):
        if seq is None:
            seq = self.nxt[d]
            self.nxt[d] = (seq + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)) \
                & 0xFFFFFFFF
        if new:
            self.s.stream[d] += len(payload)
        ack = self.nxt[other(d)] if "A" in flags else 0
        sp, dp = (self.s.cport, self.s.sport) if d == "c2s" else (self.s.sport, self.s.cport)
        l4 = TCP(sport=sp, dport=dp, seq=seq, ack=ack, flags=flags,
                 window=win if win is not None else self.win[d], urgptr=0,
                 options=opts or [])
        if payload:
            l4 = l4 / Raw(payload)
        frame_l3 = bytes(self.ip(d, l4))
        self.emit(t, d, frame_l3, len(payload), truncate=self.app)

    def handshake(self, t):
        self.seg(t, "c2s", "S", opts=syn_opts(self.mss), win=64240)
        t += self.rtt
        self.seg(t, "s2c", "SA", opts=syn_opts(self.mss), win=65535)
        t += self.cap.dt(self.rng, 40, 120)
        self.seg(t, "c2s", "A")
        return t

    def send(self, t, d, data, gap_us=25, acks=True, ack_last=True):
        """Send data as MSS-sized segments; the receiver ACKs every second segment.
        Returns (time of last data segment, time of last packet)."""
        chunks = [data[i:i + self.mss] for i in range(0, len(data), self.mss)]
        last_any = t
        for i, c in enumerate(chunks):
            if i:
                t += self.cap.dt(self.rng, gap_us, gap_us + 3)
            self.seg(t, d, "PA" if i == len(chunks) - 1 else "A", c)
            last_any = max(last_any, t)
            final = i == len(chunks) - 1
            if acks and (i % 2 == 1 or final) and (ack_last or not final):
                if d == "s2c":       # the client is near the capture point
                    at = t + self.cap.dt(self.rng, 30, 90)
                else:                # the server's ACK arrives one RTT later
                    at = t + self.rtt + self.cap.dt(self.rng, 1, 20)
                self.seg(at, other(d), "A")
                last_any = max(last_any, at)
        return t, last_any

    def tls(self, t, ch, flight, split=None):
        """ClientHello (optionally split into the given segment sizes, in order),
        server flight, client CCS+Finished.  Returns time of client Finished."""
        self.s.client_hello = {"record_bytes": len(ch),
                               "segments": len(split) if split else -(-len(ch) // self.mss)}
        t += self.cap.dt(self.rng, 60, 200)
        if split:
            off = 0
            for i, n in enumerate(split):
                if i:
                    t += self.cap.dt(self.rng, 15, 30)
                self.seg(t, "c2s", "PA" if i == len(split) - 1 else "A", ch[off:off + n])
                off += n
            assert off == len(ch)
            tch = t
        else:
            tch, _ = self.send(t, "c2s", ch, gap_us=15, acks=False)
        t = tch + self.rtt + self.cap.dt(self.rng, 800, 3000)
        tf, _ = self.send(t, "s2c", flight, gap_us=30, ack_last=False)
        t = tf + self.cap.dt(self.rng, 300, 1500)
        self.seg(t, "c2s", "PA", tls_ccs() + tls_appdata(self.rng, 53, single=True))
        self.app = True
        return t

    def exchange(self, t, req, resp, delay_ms=(5, 60), gap_us=240, up_gap_us=600):
        """Client request of req bytes, server response of resp bytes.  Returns last time."""
        treq, _ = self.send(t, "c2s", tls_appdata(self.rng, req), gap_us=up_gap_us)
        t = treq + self.rtt + self.cap.dt(self.rng, delay_ms[0] * 1000, delay_ms[1] * 1000)
        if resp:
            self.last_resp = tls_appdata(self.rng, resp)
            _, last = self.send(t, "s2c", self.last_resp, gap_us=gap_us)
            return last
        return t

    def fin(self, t, by="c2s"):
        self.s.end, self.s.closed_by = "fin", "client" if by == "c2s" else "server"
        self.seg(t, by, "FA")
        if by == "c2s":
            t += self.rtt
            self.seg(t, "s2c", "FA")
            t += self.cap.dt(self.rng, 40, 120)
            self.seg(t, "c2s", "A")
        else:
            t += self.cap.dt(self.rng, 100, 400)
            self.seg(t, "c2s", "FA")
            t += self.rtt
            self.seg(t, "s2c", "A")
        return t

    def rst(self, t, by="c2s"):
        self.s.end, self.s.closed_by = "rst", "client" if by == "c2s" else "server"
        self.seg(t, by, "RA", win=0)
        return t


class Udp(Flow):
    def dgram(self, t, d, payload):
        sp, dp = (self.s.cport, self.s.sport) if d == "c2s" else (self.s.sport, self.s.cport)
        l3 = bytes(self.ip(d, UDP(sport=sp, dport=dp) / Raw(payload)))
        self.s.stream[d] += len(payload)
        self.emit(t, d, l3, len(payload))


# --------------------------------------------------------------------------
# TLS and DNS message builders (raw bytes)
# --------------------------------------------------------------------------

def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(t, body):
    return u16(t) + vec16(body)


PROFILES = {
    # Outlook on Windows (schannel-like)
    "schannel": dict(
        ciphers=[0x1302, 0x1301, 0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024, 0xC023, 0xC028,
                 0xC027, 0xC00A, 0xC009, 0xC014, 0xC013, 0x009D, 0x009C, 0x003D, 0x003C,
                 0x0035, 0x002F],
        groups=[0x001D, 0x0017, 0x0018], shares=[0x001D], grease=False),
    # browser (Chromium-like, with GREASE values)
    "chrome": dict(
        ciphers=[0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035],
        groups=[0x001D, 0x0017, 0x0018], shares=[0x001D], grease=True),
    # mail client (NSS-like)
    "nss": dict(
        ciphers=[0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030,
                 0xC00A, 0xC009, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035],
        groups=[0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101], shares=[0x001D, 0x0017],
        grease=False),
}
SHARE_LEN = {0x001D: 32, 0x0017: 65, 0x11EC: 1216}   # X25519MLKEM768: 1184 + 32
SERVER_SHARE_LEN = {0x001D: 32, 0x0017: 65, 0x11EC: 1120}
SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201]


def client_hello(rng, sni, alpn, profile="schannel", pq=False):
    """A TLS 1.3 ClientHello record.  Returns (record bytes, info dict for labels)."""
    p = PROFILES[profile]
    groups = list(p["groups"])
    shares = list(p["shares"])
    if pq:
        groups.insert(0, 0x11EC)
        shares.insert(0, 0x11EC)
    ciphers = list(p["ciphers"])
    G = 0x0A0A
    exts = []
    if p["grease"]:
        ciphers.insert(0, G)
        exts.append(ext(0x1A1A, b""))
    if sni is not None:
        name = sni.encode()
        exts.append(ext(0x0000, vec16(u8(0) + vec16(name))))
    exts.append(ext(0x0017, b""))                         # extended_master_secret
    exts.append(ext(0xFF01, b"\x00"))                     # renegotiation_info
    gl = ([0x2A2A] if p["grease"] else []) + groups
    exts.append(ext(0x000A, vec16(b"".join(u16(g) for g in gl))))
    exts.append(ext(0x000B, vec8(b"\x00")))               # ec_point_formats
    exts.append(ext(0x0023, b""))                         # session_ticket
    if alpn:
        exts.append(ext(0x0010, vec16(b"".join(vec8(a.encode()) for a in alpn))))
    exts.append(ext(0x0005, b"\x01\x00\x00\x00\x00"))    # status_request
    exts.append(ext(0x000D, vec16(b"".join(u16(s) for s in p.get("sigalgs", SIGALGS)))))
    exts.append(ext(0x0012, b""))                         # signed_certificate_timestamp
    ks = b""
    if p["grease"]:
        ks += u16(0x2A2A) + vec16(b"\x00")
    for g in shares:
        ks += u16(g) + vec16(rng.randbytes(SHARE_LEN[g]))
    exts.append(ext(0x0033, vec16(ks)))                   # key_share
    exts.append(ext(0x002D, vec8(b"\x01")))               # psk_key_exchange_modes
    sv = ([0x3A3A] if p["grease"] else []) + [0x0304, 0x0303]
    exts.append(ext(0x002B, vec8(b"".join(u16(v) for v in sv))))
    if p["grease"]:
        exts.append(ext(0x4A4A, b"\x00"))
    # optional profile keys (used by scenarios.py; absent in the profiles above):
    # "omit": extension types to leave out, "extra": [(type, body)] appended
    if p.get("omit"):
        exts = [e for e in exts if struct.unpack("!H", e[:2])[0] not in p["omit"]]
    exts += [ext(et, eb) for et, eb in p.get("extra", ())]
    body = u16(0x0303) + rng.randbytes(32) + vec8(rng.randbytes(32))
    body += vec16(b"".join(u16(c) for c in ciphers)) + vec8(b"\x00") + vec16(b"".join(exts))
    hs = u8(1) + u24(len(body)) + body
    rec = u8(22) + u16(0x0301) + vec16(hs)
    info = {"record_bytes": len(rec), "sni": sni, "alpn": alpn, "groups": groups,
            "key_shares": shares, "versions": ["0x0304", "0x0303"]}
    return rec, info


def server_flight(rng, group=0x001D, cert_bytes=4200):
    """ServerHello + ChangeCipherSpec + one encrypted-handshake record."""
    body = u16(0x0303) + rng.randbytes(32) + vec8(rng.randbytes(32)) + u16(0x1302) + u8(0)
    exts = ext(0x002B, u16(0x0304)) + \
        ext(0x0033, u16(group) + vec16(rng.randbytes(SERVER_SHARE_LEN[group])))
    body += vec16(exts)
    hs = u8(2) + u24(len(body)) + body
    return u8(22) + u16(0x0303) + vec16(hs) + tls_ccs() + \
        tls_appdata(rng, cert_bytes + 5, single=True)


def tls_ccs():
    return b"\x14\x03\x03\x00\x01\x01"


def tls_appdata(rng, n, single=False):
    """n bytes of TLS application_data records (max 16401-byte bodies)."""
    assert n >= 6
    if single:
        return b"\x17\x03\x03" + u16(n - 5) + rng.randbytes(n - 5)
    out = []
    rem = n
    while rem:
        body = min(16401, rem - 5)
        left = rem - 5 - body
        if 0 < left < 6:
            body -= 6
        out.append(b"\x17\x03\x03" + u16(body) + rng.randbytes(body))
        rem -= body + 5
    return b"".join(out)


QTYPES = {"A": 1, "AAAA": 28, "CNAME": 5}


def dns_message(qid, qname, qtype, answers, response, edns=1232):
    """A DNS message with name compression.  answers: [(name, type, ttl, value)]."""
    comp = {}
    msg = bytearray()

    def name(n):
        labels = n.rstrip(".").split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if suffix in comp:
                msg.extend(u16(0xC000 | comp[suffix]))
                return
            if len(msg) < 0x3FFF:
                comp[suffix] = len(msg)
            lab = labels[i].encode()
            msg.extend(u8(len(lab)) + lab)
        msg.append(0)

    flags = 0x8180 if response else 0x0100
    msg.extend(struct.pack("!HHHHHH", qid, flags, 1, len(answers) if response else 0, 0,
                           1 if edns else 0))
    name(qname)
    msg.extend(u16(QTYPES[qtype]) + u16(1))
    if response:
        for n, t, ttl, val in answers:
            name(n)
            msg.extend(u16(QTYPES[t]) + u16(1) + struct.pack("!I", ttl))
            if t == "CNAME":
                lenpos = len(msg)
                msg.extend(b"\0\0")
                name(val)
                struct.pack_into("!H", msg, lenpos, len(msg) - lenpos - 2)
            else:
                rd = ipaddress.ip_address(val).packed
                msg.extend(vec16(rd))
    if edns:
        msg.extend(b"\x00" + u16(41) + u16(edns) + b"\0\0\0\0" + u16(0))
    return bytes(msg)


# Illustrative resolution chains (names as published; chain shapes as commonly seen).
def ms_chain(site, ips, qtype="A"):
    edge = "%s-efz.ms-acdc.office.com" % site
    ans = [("outlook.office365.com", "CNAME", 60, "outlook.ha.office365.com"),
           ("outlook.ha.office365.com", "CNAME", 30, "outlook.ms-acdc.office.com"),
           ("outlook.ms-acdc.office.com", "CNAME", 20, edge)]
    return ans + [(edge, qtype, 10, ip) for ip in ips]


def dns_lookup(cap, t, client, qname, qtype, answers, rng, resolver=None, cttl=128,
               notes=None):
    """UDP query from client to the resolver and its answer.  Returns (t_answer, session)."""
    resolver = resolver or ("fd00:1::53" if ":" in client else "10.0.0.53")
    cport = rng.randint(49152, 65535)
    qid = rng.getrandbits(16)
    addrs = [a[3] for a in answers if a[1] in ("A", "AAAA")]
    sess = Session(cap, "udp", client, cport, resolver, 53, "dns", notes=notes,
                   dns={"qname": qname, "qtype": qtype, "rcode": "NOERROR",
                        "answers": [{"name": n, "type": ty, "ttl": ttl, "data": v}
                                    for n, ty, ttl, v in answers],
                        "addresses": addrs})
    f = Udp(cap, sess, rng, cttl)
    f.dgram(t, "c2s", dns_message(qid, qname, qtype, [], False))
    t += cap.dt(rng, 900, 4000)
    f.dgram(t, "s2c", dns_message(qid, qname, qtype, answers, True))
    return t, sess


# --------------------------------------------------------------------------
# Session recipes
# --------------------------------------------------------------------------

def tls_session(cap, t, client, server, port, rng, *, sni, dns_name, service, role,
                alpn=("h2", "http/1.1"), profile="schannel", pq=False, rtt_ms=18,
                exchanges=(), end="fin", end_by="c2s", cttl=128, cert=4200,
                ch_split=None, notes=None, sni_in_hello="same"):
    """One TLS-over-TCP session.  exchanges: [(think_ms, req_bytes, resp_bytes)].
    Returns (flow, time of last packet)."""
    hello_sni = sni if sni_in_hello == "same" else sni_in_hello
    ch, chinfo = client_hello(rng, hello_sni, list(alpn) if alpn else None, profile, pq)
    cport = rng.randint(49152, 65535)
    sess = Session(cap, "tcp", client, cport, server, port, role, sni=hello_sni,
                   dns_name=dns_name, service=service, alpn=list(alpn) if alpn else None,
                   notes=notes)
    f = Tcp(cap, sess, rng, rtt_ms, cttl)
    t = f.handshake(t)
    t = f.tls(t, ch, server_flight(rng, 0x11EC if pq else 0x001D, cert), split=ch_split)
    sess.client_hello.update({k: v for k, v in chinfo.items() if k not in ("sni", "alpn")})
    for think_ms, req, resp in exchanges:
        t += cap.dt(rng, think_ms * 1000, think_ms * 1000 + 900)
        t = f.exchange(t, req, resp)
    t += cap.dt(rng, 200000, 900000)
    if end == "fin":
        t = f.fin(t, end_by)
    elif end == "rst":
        t = f.rst(t, end_by)
    return f, t


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

MS_V4 = ["52.97.146.162", "52.98.207.34", "40.99.150.82", "40.97.120.242"]
MS_V6 = ["2603:1006:40::a2", "2603:1036:301:8::2"]
GMAIL_WEB = "142.250.185.69"
GMAIL_IMAP = "142.251.9.108"
GMAIL_V6 = "2a00:1450:4001:82b::2005"
WEB1 = "203.0.113.10"
WEB2 = "198.51.100.25"


def sec(s):
    return s * 10**9


def outlook_lookup(cap, t, host, rng, qtype="A", ips=None, site="FRA", cttl=128):
    ips = ips or MS_V4[:2]
    return dns_lookup(cap, t, host, "outlook.office365.com", qtype,
                      ms_chain(site, ips, qtype), rng, cttl=cttl)


def scen_demo():
    cap = Capture("demo.pcap", Link("eth"), description=(
        "Small office, Monday 2026-03-02 from 09:00:00 UTC. 10.1.0.11 Outlook "
        "(outlook.office365.com:443, one PQ ClientHello > 1500 bytes in two segments, "
        "one 1.2 MB upload, one session closed by RST); 10.1.0.12 Gmail web "
        "(mail.google.com:443) and IMAP (imap.gmail.com:993, still open at the end); "
        "10.1.0.13 non-mail web (www.example.com, cdn.example.net); 10.1.0.66 bulk "
        "download of ~8 MB from outlook.office365.com in one 20-minute TLS session."))
    T = utc_ns(2026, 3, 2, 9, 0, 0)
    H11, H12, H13, H66 = "10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.66"

    # --- 10.1.0.11: Outlook desktop ----------------------------------------------
    r = random.Random("demo:h11")
    t, _ = outlook_lookup(cap, T, H11, r)
    tls_session(cap, t + cap.dt(r, 300, 900), H11, MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign", pq=True,
                exchanges=[(5, 900, 28000), (400, 1400, 61000), (2500, 700, 9000)],
                notes="ClientHello with X25519MLKEM768 key share (1216 bytes), "
                      "larger than one MSS: sent as two TCP segments")
    t, _ = outlook_lookup(cap, T + sec(150), H11, r, ips=[MS_V4[1], MS_V4[0]])
    tls_session(cap, t + cap.dt(r, 300, 900), H11, MS_V4[1], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 1100, 14000), (8000, 1250000, 2200), (1500, 800, 6000)],
                notes="sends a message with a 1.2 MB attachment (upload)")
    t, _ = outlook_lookup(cap, T + sec(480), H11, r, ips=[MS_V4[2], MS_V4[3]], site="AMS")
    tls_session(cap, t + cap.dt(r, 300, 900), H11, MS_V4[2], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign", rtt_ms=24,
                exchanges=[(5, 700, 5200), (30000, 650, 3100)], end="rst",
                notes="closed by a client RST")
    t, _ = outlook_lookup(cap, T + sec(900), H11, r)
    tls_session(cap, t + cap.dt(r, 300, 900), H11, MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 900, 22000), (1200, 700, 4000)])

    # --- 10.1.0.12: Gmail in the browser and IMAP sync ----------------------------
    r = random.Random("demo:h12")
    t, _ = dns_lookup(cap, T + sec(20), H12, "mail.google.com", "A",
                      [("mail.google.com", "A", 300, GMAIL_WEB)], r, cttl=64)
    tls_session(cap, t + cap.dt(r, 200, 600), H12, GMAIL_WEB, 443, r,
                sni="mail.google.com", dns_name="mail.google.com", service="gmail",
                role="benign", profile="chrome", rtt_ms=9, cttl=64, cert=3900,
                exchanges=[(3, 1800, 95000), (150, 900, 210000), (4000, 1200, 38000),
                           (20000, 700, 1500)], end_by="s2c",
                notes="closed by the server (server FIN first)")
    t, _ = dns_lookup(cap, T + sec(40), H12, "imap.gmail.com", "A",
                      [("imap.gmail.com", "CNAME", 300, "gmail-imap.l.google.com"),
                       ("gmail-imap.l.google.com", "A", 300, GMAIL_IMAP)], r, cttl=64)
    tls_session(cap, t + cap.dt(r, 200, 600), H12, GMAIL_IMAP, 993, r,
                sni="imap.gmail.com", dns_name="imap.gmail.com", service="gmail",
                role="benign", alpn=("imap",), profile="nss", rtt_ms=11, cttl=64,
                cert=3900,
                exchanges=[(2, 120, 180), (40, 300, 2600), (30, 200, 520000),
                           (300000, 60, 90), (300000, 60, 90), (300000, 60, 4500),
                           (290000, 60, 90)],
                end="none", notes="IMAP IDLE; still open when the capture ends")
    t, _ = dns_lookup(cap, T + sec(720), H12, "mail.google.com", "A",
                      [("mail.google.com", "A", 300, GMAIL_WEB)], r, cttl=64)
    tls_session(cap, t + cap.dt(r, 200, 600), H12, GMAIL_WEB, 443, r,
                sni="mail.google.com", dns_name="mail.google.com", service="gmail",
                role="benign", profile="chrome", rtt_ms=9, cttl=64, cert=3900,
                exchanges=[(3, 1500, 41000), (2000, 900, 7000)])

    # --- 10.1.0.13: non-mail browsing ------------------------------------------
    r = random.Random("demo:h13")
    t, _ = dns_lookup(cap, T + sec(60), H13, "www.example.com", "A",
                      [("www.example.com", "A", 3600, WEB1)], r)
    tls_session(cap, t + cap.dt(r, 200, 600), H13, WEB1, 443, r,
                sni="www.example.com", dns_name="www.example.com", service=None,
                role="non_mail", profile="chrome", rtt_ms=30, cert=2800,
                exchanges=[(3, 1600, 120000), (900, 800, 64000)])
    t, _ = dns_lookup(cap, T + sec(360), H13, "cdn.example.net", "A",
                      [("cdn.example.net", "A", 600, WEB2)], r)
    tls_session(cap, t + cap.dt(r, 200, 600), H13, WEB2, 443, r,
                sni="cdn.example.net", dns_name="cdn.example.net", service=None,
                role="non_mail", profile="chrome", rtt_ms=35, cert=2800,
                exchanges=[(3, 900, 300000)])

    # --- 10.1.0.66: bulk download --------------------------------------------------
    r = random.Random("demo:h66")
    t, _ = outlook_lookup(cap, T + sec(300), H66, r, ips=[MS_V4[1], MS_V4[0]])
    sizes = [r.randint(150000, 250000) for _ in range(40)]
    scale = 8_000_000 / sum(sizes)
    sizes = [int(s * scale) for s in sizes]
    sizes[-1] += 8_000_000 - sum(sizes)
    ex = [(5, 1000, 30000)] + [(29700, r.randint(600, 900), s) for s in sizes]
    tls_session(cap, t + cap.dt(r, 300, 900), H66, MS_V4[1], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="bulk_download", exchanges=ex,
                notes="~8 MB server->client in one TLS session lasting about 20 minutes "
                      "(40 responses of 150-250 kB, one every ~30 s)")
    return cap


def scen_vlan():
    cap = Capture("vlan.pcap", Link("eth", vlans=[100]), description=(
        "802.1Q VLAN 100: Outlook and Gmail sessions with their DNS; then one Outlook "
        "session (and its DNS) under QinQ: 802.1ad outer VLAN 200, 802.1Q inner 100."))
    T = utc_ns(2026, 3, 2, 10, 0, 0)
    r = random.Random("vlan")
    t, _ = outlook_lookup(cap, T, "10.1.0.21", r)
    tls_session(cap, t + cap.dt(r, 300, 900), "10.1.0.21", MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 900, 26000), (500, 700, 8000)])
    t, _ = dns_lookup(cap, T + sec(5), "10.1.0.22", "mail.google.com", "A",
                      [("mail.google.com", "A", 300, GMAIL_WEB)], r, cttl=64)
    tls_session(cap, t + cap.dt(r, 200, 600), "10.1.0.22", GMAIL_WEB, 443, r,
                sni="mail.google.com", dns_name="mail.google.com", service="gmail",
                role="benign", profile="chrome", rtt_ms=9, cttl=64,
                exchanges=[(3, 1500, 60000)])
    cap.link = Link("eth", vlans=[200, 100])
    t, _ = outlook_lookup(cap, T + sec(20), "10.1.0.23", r, ips=[MS_V4[2]], site="AMS")
    tls_session(cap, t + cap.dt(r, 300, 900), "10.1.0.23", MS_V4[2], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 900, 18000)])
    return cap


def scen_ipv6():
    cap = Capture("ipv6.pcap", Link("eth"), description=(
        "IPv6: fd00:1::11 to Exchange Online (2603:1006::/40) and Gmail "
        "(2a00:1450::/32), names from AAAA answers (CNAME chain for Microsoft)."))
    T = utc_ns(2026, 3, 2, 10, 30, 0)
    r = random.Random("ipv6")
    c = "fd00:1::11"
    t, _ = outlook_lookup(cap, T, c, r, qtype="AAAA", ips=MS_V6)
    tls_session(cap, t + cap.dt(r, 300, 900), c, MS_V6[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 900, 30000), (700, 800, 12000)])
    t, _ = dns_lookup(cap, T + sec(8), c, "mail.google.com", "AAAA",
                      [("mail.google.com", "AAAA", 300, GMAIL_V6)], r)
    tls_session(cap, t + cap.dt(r, 200, 600), c, GMAIL_V6, 443, r,
                sni="mail.google.com", dns_name="mail.google.com", service="gmail",
                role="benign", profile="chrome", rtt_ms=10,
                exchanges=[(3, 1500, 45000)], end_by="s2c")
    return cap


def scen_mpls():
    cap = Capture("mpls.pcap", Link("eth", mpls=[1001]), description=(
        "MPLS: one Outlook session (and DNS) under one label (1001), one Gmail IMAP "
        "session (and DNS) under a two-label stack (2001, 3001)."))
    T = utc_ns(2026, 3, 2, 11, 0, 0)
    r = random.Random("mpls")
    t, _ = outlook_lookup(cap, T, "10.2.0.11", r)
    s1 = len(cap.sessions)
    tls_session(cap, t + cap.dt(r, 300, 900), "10.2.0.11", MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign", exchanges=[(5, 900, 20000)])
    for s in cap.sessions[s1 - 1:]:
        s.mpls = [1001]
    cap.link = Link("eth", mpls=[2001, 3001])
    s2 = len(cap.sessions)
    t, _ = dns_lookup(cap, T + sec(10), "10.2.0.12", "imap.gmail.com", "A",
                      [("imap.gmail.com", "CNAME", 300, "gmail-imap.l.google.com"),
                       ("gmail-imap.l.google.com", "A", 300, GMAIL_IMAP)], r, cttl=64)
    tls_session(cap, t + cap.dt(r, 200, 600), "10.2.0.12", GMAIL_IMAP, 993, r,
                sni="imap.gmail.com", dns_name="imap.gmail.com", service="gmail",
                role="benign", alpn=("imap",), profile="nss", rtt_ms=11, cttl=64,
                exchanges=[(2, 120, 180), (40, 300, 24000)])
    for s in cap.sessions[s2:]:
        s.mpls = [2001, 3001]
    return cap


def scen_single(name, link, desc, hour, ns=False, host="10.3.0.11"):
    cap = Capture(name, link, ns=ns, description=desc)
    T = utc_ns(2026, 3, 2, hour, 0, 0)
    r = random.Random(name)
    if ns:
        T += 123456789
    t, _ = outlook_lookup(cap, T, host, r)
    tls_session(cap, t + cap.dt(r, 300, 900), host, MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign",
                exchanges=[(5, 900, 24000), (600, 700, 9000)])
    return cap


def scen_outoforder():
    cap = Capture("outoforder.pcap", Link("eth"), description=(
        "ClientHello split over three TCP segments (the cut falls inside the SNI) "
        "captured in the order 1st, 3rd, 2nd; later one server data segment is "
        "retransmitted (a duplicate of an already captured segment) and the client "
        "answers with a duplicate ACK."))
    T = utc_ns(2026, 3, 2, 14, 0, 0)
    r = random.Random("outoforder")
    H = "10.1.0.31"
    t, _ = outlook_lookup(cap, T, H, r)
    ch, chinfo = client_hello(r, "outlook.office365.com", ["h2", "http/1.1"])
    cut1 = ch.index(b"outlook.office365.com") + 8
    cut2 = cut1 + 150
    cport = r.randint(49152, 65535)
    sess = Session(cap, "tcp", H, cport, MS_V4[0], 443, "benign",
                   sni="outlook.office365.com", dns_name="outlook.office365.com",
                   service="exchange_online", alpn=["h2", "http/1.1"],
                   notes="ClientHello segments captured out of order (1,3,2); "
                         "one retransmitted server segment")
    f = Tcp(cap, sess, r, 18)
    t = f.handshake(t + cap.dt(r, 300, 900))
    base = f.nxt["c2s"]
    segs = [(0, cut1), (cut2, len(ch)), (cut1, cut2)]
    t += cap.dt(r, 60, 200)
    for i, (a, b) in enumerate(segs):
        if i:
            t += cap.dt(r, 15, 40)
        f.seg(t, "c2s", "PA" if b == len(ch) else "A", ch[a:b],
              seq=(base + a) & 0xFFFFFFFF)
    f.nxt["c2s"] = (base + len(ch)) & 0xFFFFFFFF
    sess.client_hello = {"record_bytes": len(ch), "segments": 3,
                         "capture_order": [1, 3, 2], "segment_bytes": [cut1, cut2 - cut1,
                                                                     len(ch) - cut2]}
    sess.client_hello.update({k: v for k, v in chinfo.items() if k not in ("sni", "alpn")})
    t = t + f.rtt + cap.dt(r, 800, 3000)
    tf, _ = f.send(t, "s2c", server_flight(r), gap_us=30, ack_last=False)
    t = tf + cap.dt(r, 300, 1500)
    f.seg(t, "c2s", "PA", tls_ccs() + tls_appdata(r, 53, single=True))
    f.app = True
    t = f.exchange(t + cap.dt(r, 50, 200), 900, 30000)
    # spurious retransmission of the 3rd segment of that response
    resp_start = f.nxt["s2c"] - 30000
    seq3 = (resp_start + 2 * f.mss) & 0xFFFFFFFF
    data3 = f.last_resp[2 * f.mss:3 * f.mss]
    t += cap.dt(r, 200000, 210000)
    f.seg(t, "s2c", "A", data3, seq=seq3, new=False)
    t += cap.dt(r, 30, 90)
    f.seg(t, "c2s", "A")
    t = f.exchange(t + cap.dt(r, 500000, 900000), 700, 6000)
    f.fin(t + cap.dt(r, 300000, 600000))
    return cap


def scen_nosni():
    cap = Capture("nosni.pcap", Link("eth"), description=(
        "One host reaches outlook.office365.com three ways: a ClientHello without "
        "SNI to an address from the client's DNS answer; one with neither SNI nor "
        "DNS, identifiable only by IP range; and one with SNI."))
    T = utc_ns(2026, 3, 2, 15, 0, 0)
    r = random.Random("nosni")
    H = "10.1.0.41"
    t, _ = outlook_lookup(cap, T, H, r, ips=[MS_V4[1], MS_V4[0]])
    tls_session(cap, t + cap.dt(r, 300, 900), H, MS_V4[1], 443, r,
                sni=None, dns_name="outlook.office365.com", service="exchange_online",
                role="benign", exchanges=[(5, 900, 21000)],
                notes="no server_name extension; name only from DNS")
    tls_session(cap, T + sec(30), H, MS_V4[3], 443, r,
                sni=None, dns_name=None, service="exchange_online", role="benign",
                exchanges=[(5, 800, 15000)], end="rst",
                notes="no SNI, no DNS: identified only by the Exchange Online IP range")
    # the same host and service once more, this time with SNI: the three
    # sessions must be classified alike, each by its own evidence
    tls_session(cap, T + sec(60), H, MS_V4[0], 443, r,
                sni="outlook.office365.com", dns_name="outlook.office365.com",
                service="exchange_online", role="benign", exchanges=[(5, 700, 12000)],
                notes="SNI present: identified by SNI")
    return cap


def scen_fragments():
    cap = Capture("fragments.pcap", Link("eth"), description=(
        "A DNS answer for outlook.office365.com (CNAME chain + 40 A records) sent as "
        "two IPv4 fragments (resolver path MTU 576), followed by a TLS session without "
        "SNI to one of the answered addresses; then garbage fragments: an overlapping "
        "pair, an orphan non-first fragment, an unfinished first fragment and a "
        "fragment that would end beyond 65535 bytes."))
    T = utc_ns(2026, 3, 2, 16, 0, 0)
    r = random.Random("fragments")
    H = "10.1.0.51"
    ips = ["52.96.%d.%d" % (r.randint(0, 255), r.randint(1, 254)) for _ in range(39)]
    ips = [MS_V4[0]] + ips
    answers = ms_chain("FRA", ips)
    cport = r.randint(49152, 65535)
    qid = r.getrandbits(16)
    sess = Session(cap, "udp", H, cport, "10.0.0.53", 53, "dns",
                   notes="answer fragmented into two IPv4 fragments",
                   dns={"qname": "outlook.office365.com", "qtype": "A", "rcode": "NOERROR",
                        "answers": [{"name": n, "type": ty, "ttl": ttl, "data": v}
                                    for n, ty, ttl, v in answers],
                        "addresses": ips})
    f = Udp(cap, sess, r)
    f.dgram(T, "c2s", dns_message(qid, "outlook.office365.com", "A", [], False))
    resp = dns_message(qid, "outlook.office365.com", "A", answers, True)
    assert 552 < len(resp) + 8 <= 1104, len(resp)
    udp = bytes(IP(src="10.0.0.53", dst=H) / UDP(sport=53, dport=cport) / Raw(resp))[20:]
    ipid = cap.next_ipid("10.0.0.53")
    t = T + cap.dt(r, 1500, 3000)
    for off, part, mf in ((0, udp[:552], True), (552, udp[552:], False)):
        l3 = bytes(IP(src="10.0.0.53", dst=H, ttl=63, id=ipid, flags="MF" if mf else 0,
                      frag=off // 8, proto=17) / Raw(part))
        f.emit(t, "s2c", l3, len(resp) if not mf else 0)
        t += cap.dt(r, 5, 15)
    sess.stream["s2c"] += len(resp)
    sess.frag = {"s2c_frames": 2, "s2c_datagrams": 1, "ip_id": ipid,
                 "note": "payload_bytes counts the reassembled UDP payload once"}
    tls_session(cap, t + cap.dt(r, 300, 900), H, MS_V4[0], 443, r,
                sni=None, dns_name="outlook.office365.com", service="exchange_online",
                role="benign", exchanges=[(5, 900, 16000)],
                notes="no SNI; name only from the fragmented DNS answer")

    # garbage fragments (no labelled session)
    t = T + sec(20)
    cmac = host_mac(H)

    def raw_frag(src, dst, ipid, off_bytes, mf, payload, desc, ttl=51):
        nonlocal t
        l3 = bytes(IP(src=src, dst=dst, ttl=ttl, id=ipid, flags="MF" if mf else 0,
                      frag=off_bytes // 8, proto=17) / Raw(payload))
        frame = cap.link.wrap(l3, False, "s2c", cmac)
        cap.add(t, frame, False, {"s": None, "d": "s2c", "pl": 0, "desc": desc})
        t += cap.dt(r, 2000, 9000)

    g_udp = bytes(UDP(sport=4444, dport=5555, len=8 + 64) / Raw(b"A" * 64))
    raw_frag("198.51.100.7", H, 0x4242, 0, True, g_udp[:40],
             "overlap: first fragment, bytes 0-39 (UDP 4444->5555)")
    raw_frag("198.51.100.7", H, 0x4242, 24, False, b"B" * 48,
             "overlap: last fragment at offset 24 overlapping bytes 24-39 with "
             "different content")
    raw_frag("203.0.113.50", H, 0x5151, 1480, False, b"C" * 120,
             "orphan non-first fragment (offset 1480), no first fragment ever seen")
    raw_frag("198.51.100.8", H, 0x6161, 0, True,
             bytes(UDP(sport=53, dport=40000, len=8 + 2000)) + b"D" * 64,
             "unfinished first fragment (MF set, UDP 53->40000), the rest never arrives")
    raw_frag("198.51.100.9", H, 0x7171, 65528, False, b"E" * 100,
             "fragment at offset 65528 with 100 bytes: would end beyond 65535")
    for ts, _, data, wire, m in cap.recs:
        if m["s"] is None:
            cap.extra.append({"ts_us": ts // 1000, "wire_bytes": wire,
                              "description": m["desc"]})
    return cap


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------

def labels(cap, recs, sessions):
    stats = {id(s): {d: {"packets": 0, "wire_bytes": 0, "captured_bytes": 0,
                         "payload_bytes": 0} for d in ("c2s", "s2c")} for s in sessions}
    first, last = {}, {}
    for ts, _, data, wire, m in recs:
        s = m["s"]
        if s is None or id(s) not in stats:
            continue
        st = stats[id(s)][m["d"]]
        st["packets"] += 1
        st["wire_bytes"] += wire
        st["captured_bytes"] += len(data)
        st["payload_bytes"] += m["pl"]
        first.setdefault(id(s), ts)
        last[id(s)] = ts
    out = []
    for s in sessions:
        st = stats[id(s)]
        for d in st:
            st[d]["stream_bytes"] = s.stream[d]
        svc = s.service
        ident = None
        if svc in MAIL_SERVICES:
            ident = "sni" if s.sni else ("dns" if s.dns_name else "ip")
        e = {"id": s.id, "proto": s.proto,
             "client_ip": s.cip, "client_port": s.cport,
             "server_ip": s.sip, "server_port": s.sport,
             "vlan": list(cap.vlan_of[id(s)]) if cap.vlan_of.get(id(s)) else None}
        if getattr(s, "mpls", None):
            e["mpls"] = s.mpls
        e.update({"sni": s.sni, "alpn": s.alpn, "dns_name": s.dns_name,
                  "service": svc, "mail": svc in MAIL_SERVICES, "identified_by": ident,
                  "role": s.role,
                  "first_ts_us": first[id(s)] // 1000, "last_ts_us": last[id(s)] // 1000,
                  "first_time": iso(first[id(s)], cap.ns),
                  "last_time": iso(last[id(s)], cap.ns),
                  "c2s": st["c2s"], "s2c": st["s2c"],
                  "end": s.end, "closed_by": s.closed_by})
        if cap.ns:
            e["first_ts_ns"] = first[id(s)]
            e["last_ts_ns"] = last[id(s)]
        if s.client_hello:
            e["client_hello"] = s.client_hello
        if s.dns:
            e["dns"] = s.dns
        if s.frag:
            e["fragmented"] = s.frag
        if s.notes:
            e["notes"] = s.notes
        out.append(e)
    lt, ltname = LINKTYPES[cap.link.kind]
    fmt = ("pcapng" if cap.fmt == "pcapng" else "pcap")
    return {
        "file": cap.name,
        "generator": "pcaps/gen/generate.py",
        "description": cap.description,
        "format": fmt,
        "magic": None if fmt == "pcapng" else ("0xa1b23c4d" if cap.ns else "0xa1b2c3d4"),
        "ts_resolution": "ns" if cap.ns else "us",
        "linktype": lt, "linktype_name": ltname, "snaplen": SNAPLEN,
        "frames": len(recs),
        "truncated_frames": sum(1 for r in recs if len(r[2]) < r[3]),
        "truncated_caplen": TRUNC,
        "wire_bytes": sum(r[3] for r in recs),
        "first_ts_us": recs[0][0] // 1000, "last_ts_us": recs[-1][0] // 1000,
        "conventions": {
            "client": "sender of the first packet (the SYN for TCP)",
            "packets": "link-layer frames (capture records) in that direction",
            "wire_bytes": "sum of record len (on-wire frame length, link header and "
                          "Ethernet padding included) = tshark frame.len",
            "captured_bytes": "sum of record caplen",
            "payload_bytes": "sum of TCP/UDP payload lengths as sent on the wire "
                             "(from the IP length; retransmissions included)",
            "stream_bytes": "distinct payload bytes (retransmissions excluded)",
            "end": "fin | rst | none (still open at end of capture)",
        },
        "sessions": out,
        "extra_frames": cap.extra,
    }


# --------------------------------------------------------------------------

def vlan_map(cap):
    """Which VLAN stack each session was emitted with (from the frame bytes)."""
    m = {}
    for ts, _, data, wire, meta in cap.recs:
        s = meta["s"]
        if s is None or id(s) in m:
            continue
        if cap.link.kind != "eth":
            m[id(s)] = None
            continue
        et = struct.unpack("!H", data[12:14])[0]
        if et == 0x88A8:
            m[id(s)] = (struct.unpack("!H", data[14:16])[0] & 0xFFF,
                        struct.unpack("!H", data[18:20])[0] & 0xFFF)
        elif et == 0x8100:
            m[id(s)] = (struct.unpack("!H", data[14:16])[0] & 0xFFF,)
        else:
            m[id(s)] = None
    return m


def save(outdir, cap, recs=None, sessions=None, comments=None):
    recs = recs if recs is not None else cap.sorted_recs()
    sessions = sessions if sessions is not None else cap.sessions
    cap.vlan_of = vlan_map(cap)
    path = os.path.join(outdir, cap.name)
    if cap.fmt == "pcapng":
        write_pcapng(path, cap, recs, comments)
    else:
        write_pcap(path, cap, recs)
    base = cap.name.rsplit(".", 1)[0]
    with open(os.path.join(outdir, base + ".labels.json"), "w") as f:
        json.dump(labels(cap, recs, sessions), f, indent=1)
        f.write("\n")
    print("%-18s %6d frames %9d bytes" % (cap.name, len(recs), os.path.getsize(path)))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(outdir, exist_ok=True)

    demo = scen_demo()
    save(outdir, demo)

    # demo-ng: the Gmail user's packets (10.1.0.12) from demo, as pcapng
    ng = Capture("demo-ng.pcapng", Link("eth"), fmt="pcapng", description=(
        "The packets of host 10.1.0.12 (Gmail web + IMAP, with DNS) from demo.pcap, "
        "unchanged, written as pcapng (SHB, IDB with if_tsresol=6, EPB)."))
    ng.recs = [rec for rec in demo.recs if rec[4]["s"].cip == "10.1.0.12"]
    ng_sessions = [s for s in demo.sessions if s.cip == "10.1.0.12"]
    recs = ng.sorted_recs()
    save(outdir, ng, recs, ng_sessions,
         comments={0: "mailtap scenario: Gmail user 10.1.0.12, slice of demo.pcap"})

    for cap in (scen_vlan(), scen_ipv6(), scen_mpls(),
                scen_single("sll.pcap", Link("sll"),
                            "Linux cooked capture v1 (DLT_LINUX_SLL): one Outlook session "
                            "with its DNS, captured on the client host.", 12),
                scen_single("sll2.pcap", Link("sll2"),
                            "Linux cooked capture v2 (DLT_LINUX_SLL2, ifindex 2): one "
                            "Outlook session with its DNS, captured on the client host.",
                            12),
                scen_single("rawip.pcap", Link("raw"),
                            "LINKTYPE_RAW (101): IPv4 header first, no link header; one "
                            "Outlook session with its DNS.", 13),
                scen_single("nanosec.pcap", Link("eth"),
                            "Nanosecond pcap (magic 0xa1b23c4d): one Outlook session with "
                            "its DNS; timestamps are not multiples of 1000 ns.", 13,
                            ns=True),
                scen_outoforder(), scen_nosni(), scen_fragments()):
        save(outdir, cap)


if __name__ == "__main__":
    main()
