#!/usr/bin/python3
"""Fast frame builder for the long scenario captures (pcaps/gen/scenarios.py).

generate.py builds every packet with scapy, which is fine for a few thousand
frames but far too slow for three days of an office's mail traffic.  This
module builds Ethernet (optionally 802.1Q) + IPv4/IPv6 + TCP/UDP frames with
struct, and models what a capture host with GRO shows: a bulk transfer is a
few TCP segments of up to ~63 kB IP length each, written with a short
captured length and the full on-wire length.

Everything else (ClientHellos, server flights, DNS messages, pcap writer,
MAC addresses) comes from generate.py.

Checksums: IPv4 header checksums are exact.  TCP/UDP checksums are computed
over the pseudo header, the header and the captured payload with the bytes
that were cut off by truncation taken as zeros (so they are exact for every
frame written in full).
"""

import hashlib
import struct

import generate as G

TRUNC = 96               # captured length of application-data frames
GRO_SEGS = 43            # a GRO'd segment holds up to 43 full-size segments

F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 1, 2, 4, 8, 16
_FL = {"F": F_FIN, "S": F_SYN, "R": F_RST, "P": F_PSH, "A": F_ACK}

_SYN_OPTS = struct.pack("!BBH", 2, 4, 0) + b"\x01\x03\x03\x08\x01\x01\x04\x02"


def csum(data, init=0):
    if len(data) & 1:
        data += b"\0"
    s = init + sum(struct.unpack("!%dH" % (len(data) >> 1), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _ck(s):
    return (~s) & 0xFFFF


def ip_bytes(ip):
    import ipaddress
    return ipaddress.ip_address(ip).packed


class Out:
    """Records of one capture: (ts_ns, order, stored bytes, wire length, None)."""

    def __init__(self):
        self.recs = []

    def add(self, ts_ns, data, wire):
        self.recs.append((ts_ns, len(self.recs), data, wire, None))


class Stats:
    """Payload byte counters per (key) per hour of packet time."""

    def __init__(self, t0_ns, hours):
        self.t0, self.hours = t0_ns, hours
        self.by = {}

    def add(self, key, t, d, n):
        if key is None or not n:
            return
        h = (t - self.t0) // (3600 * 10**9)
        if not 0 <= h < self.hours:
            return
        a = self.by.get(key)
        if a is None:
            a = self.by[key] = [[0] * self.hours, [0] * self.hours]
        a[0 if d == "s2c" else 1][h] += n


class Path:
    """Link + network addressing between an internal host and a server."""

    def __init__(self, out, cip, sip, vlan=None, cttl=128, sttl=113, ipid=None):
        self.out = out
        self.v6 = ":" in cip
        assert self.v6 == (":" in sip)
        self.c, self.s = ip_bytes(cip), ip_bytes(sip)
        self.cttl, self.sttl = cttl, sttl
        cm, gm = G.macb(G.host_mac(cip)), G.macb(G.GW_MAC)
        et = struct.pack("!H", 0x86DD if self.v6 else 0x0800)
        tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
        self.eth = {"c2s": gm + cm + tag + et, "s2c": cm + gm + tag + et}
        self.ipid = ipid if ipid is not None else {}

    def _next_id(self, d):
        k = (self.c if d == "c2s" else self.s)
        v = self.ipid.get(k)
        if v is None:
            v = int.from_bytes(hashlib.sha256(k).digest()[:2], "big")
        v = (v + 1) & 0xFFFF
        self.ipid[k] = v
        return v

    def frame(self, t, d, proto, l4hdr, payload, plen, caplen=None):
        """l4hdr with a zero checksum field; payload = captured prefix of plen bytes.
        caplen None: the whole frame is stored.  Returns nothing."""
        src, dst = (self.c, self.s) if d == "c2s" else (self.s, self.c)
        l4len = len(l4hdr) + plen
        if self.v6:
            ip = struct.pack("!IHBB", 0x60000000, l4len, proto,
                             self.cttl if d == "c2s" else self.sttl) + src + dst
            pseudo = csum(src + dst + struct.pack("!IxxxB", l4len, proto))
        else:
            h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + l4len, self._next_id(d), 0x4000,
                            self.cttl if d == "c2s" else self.sttl, proto, 0, src, dst)
            ip = h[:10] + struct.pack("!H", _ck(csum(h))) + h[12:]
            pseudo = csum(src + dst + struct.pack("!xBH", proto, l4len))
        off = 16 if proto == 6 else 6
        c = _ck(csum(l4hdr + payload, pseudo))
        if proto == 17 and c == 0:
            c = 0xFFFF
        l4 = l4hdr[:off] + struct.pack("!H", c) + l4hdr[off + 2:]
        eth = self.eth[d]
        wire = len(eth) + len(ip) + l4len
        data = eth + ip + l4 + payload
        if caplen is None:
            assert len(payload) == plen
            if wire < 60:
                data += b"\0" * (60 - wire)
                wire = 60
        else:
            data = data[:caplen]
        self.out.add(t, data, wire)


class Udp:
    def __init__(self, path, cport, sport):
        self.p, self.cport, self.sport = path, cport, sport

    def dgram(self, t, d, payload):
        sp, dp = (self.cport, self.sport) if d == "c2s" else (self.sport, self.cport)
        hdr = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0)
        self.p.frame(t, d, 17, hdr, payload, len(payload))


class Tcp:
    """One TCP connection.  Times are integer ns (whole microseconds)."""

    def __init__(self, path, cport, sport, rng, rtt_us, stats=None, key=None, tag=None):
        self.p, self.cport, self.sport, self.rng = path, cport, sport, rng
        self.rtt = rtt_us * 1000
        self.mss = 1440 if path.v6 else 1460
        self.nxt = {"c2s": rng.getrandbits(32), "s2c": rng.getrandbits(32)}
        self.app = False
        self.stats, self.key, self.tag = stats, key, tag
        self.first = self.last = None
        self.bytes = {"c2s": 0, "s2c": 0}

    def us(self, lo, hi=None):
        return (lo if hi is None else self.rng.randint(lo, hi)) * 1000

    def seg(self, t, d, flags, payload=b"", plen=None, opts=b"", win=None, caplen=None):
        plen = len(payload) if plen is None else plen
        fl = 0
        for ch in flags:
            fl |= _FL[ch]
        seq = self.nxt[d]
        self.nxt[d] = (seq + plen + (1 if fl & (F_SYN | F_FIN) else 0)) & 0xFFFFFFFF
        o = "s2c" if d == "c2s" else "c2s"
        ack = self.nxt[o] if fl & F_ACK else 0
        sp, dp = (self.cport, self.sport) if d == "c2s" else (self.sport, self.cport)
        if win is None:
            win = 1026 if d == "c2s" else 16385
        hdr = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, (5 + len(opts) // 4) << 4, fl,
                          win, 0, 0) + opts
        self.p.frame(t, d, 6, hdr, payload, plen, caplen)
        if self.first is None:
            self.first = t
        self.last = max(self.last or t, t)
        if plen:
            self.bytes[d] += plen
            if self.stats is not None:
                self.stats.add(self.key, t, d, plen)
                if self.tag is not None:
                    self.stats.add(self.tag, t, d, plen)

    # --- phases ---------------------------------------------------------------
    def open(self, t):
        self.seg(t, "c2s", "S", opts=_SYN_OPTS[:2] + struct.pack("!H", self.mss) + _SYN_OPTS[4:],
                 win=64240)
        t += self.rtt
        self.seg(t, "s2c", "SA", opts=_SYN_OPTS[:2] + struct.pack("!H", self.mss) + _SYN_OPTS[4:],
                 win=65535)
        t += self.us(40, 120)
        self.seg(t, "c2s", "A")
        return t

    def plain(self, t, d, text):
        """A small cleartext message (SMTP / IMAP greeting etc.), written in full."""
        self.seg(t, d, "PA", text)
        return t

    def smtp_starttls(self, t, host):
        """SMTP submission prelude up to the server's go-ahead for TLS."""
        t += self.rtt + self.us(20000, 60000)
        self.plain(t, "s2c", b"220 %s Microsoft ESMTP MAIL Service ready\r\n" % host.encode()
                   if "office365" in host else
                   b"220 smtp.gmail.com ESMTP a640c23a62f3a-ab7f0b8c1fesm1 - gsmtp\r\n")
        t += self.us(200, 900)
        self.plain(t, "c2s", b"EHLO client.corp.example\r\n")
        t += self.rtt + self.us(300, 2000)
        self.plain(t, "s2c", b"250-%s Hello [10.0.0.1]\r\n250-SIZE 157286400\r\n"
                   b"250-PIPELINING\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n"
                   b"250 CHUNKING\r\n" % host.encode())
        t += self.us(200, 900)
        self.plain(t, "c2s", b"STARTTLS\r\n")
        t += self.rtt + self.us(300, 2000)
        self.plain(t, "s2c", b"220 2.0.0 SMTP server ready\r\n")
        return t

    def tls(self, t, ch, flight):
        """ClientHello (full, MSS segments), server flight as one GRO segment whose
        ServerHello + CCS are captured, client CCS + Finished.  Returns time."""
        t += self.us(60, 200)
        for i in range(0, len(ch), self.mss):
            if i:
                t += self.us(15, 30)
            self.seg(t, "c2s", "PA" if i + self.mss >= len(ch) else "A", ch[i:i + self.mss])
        t += self.rtt + self.us(800, 3000)
        # ServerHello length from its record header, + CCS (6) + next record header (5)
        keep = 5 + struct.unpack("!H", flight[3:5])[0] + 6 + 5
        hl = len(self.p.eth["s2c"]) + (40 if self.p.v6 else 20) + 20
        self.seg(t, "s2c", "PA", flight[:keep], plen=len(flight), caplen=hl + keep)
        t += self.us(30, 90)
        self.seg(t, "c2s", "A")
        t += self.us(300, 1500)
        self.seg(t, "c2s", "PA", G.tls_ccs() + G.tls_appdata(self.rng, 53, single=True))
        self.app = True
        return t

    def send(self, t, d, n, rate_bps=40e6):
        """n bytes of TLS application data as GRO segments (truncated frames), each
        ACKed by the receiver.  rate in bytes/s.  Returns the time of the last packet."""
        hl = len(self.p.eth[d]) + (40 if self.p.v6 else 20) + 20
        room = TRUNC - hl
        maxseg = GRO_SEGS * self.mss
        n = max(n, 6)
        last = t
        while n > 0:
            k = min(n, maxseg)
            # every segment's captured bytes start with an application_data record
            # header: tshark cannot see record boundaries in truncated frames and would
            # otherwise parse random bytes as records
            pre = b"\x17\x03\x03" + struct.pack("!H", max(1, min(16401, n - 5)))
            pre += self.rng.randbytes(max(0, min(room, k) - 5))
            pre = pre[:k]
            if hl + k <= TRUNC:
                self.seg(t, d, "PA", pre, plen=k)
            else:
                self.seg(t, d, "PA" if n == k else "A", pre, plen=k, caplen=TRUNC)
            n -= k
            o = "s2c" if d == "c2s" else "c2s"
            at = t + (self.us(30, 90) if d == "s2c" else self.rtt + self.us(1, 20))
            self.seg(at, o, "A")
            last = max(last, at)
            if n > 0:
                t += max(1000, int(k / rate_bps * 1e9) // 1000 * 1000)
        return last

    def exchange(self, t, req, resp, delay_us=(5000, 60000), rate_bps=40e6):
        t = self.send(t, "c2s", req, rate_bps)
        t += self.rtt + self.us(*delay_us)
        if resp:
            t = self.send(t, "s2c", resp, rate_bps)
        return t

    def fin(self, t, by="c2s"):
        o = "s2c" if by == "c2s" else "c2s"
        self.seg(t, by, "FA")
        t += self.rtt if by == "c2s" else self.us(100, 400)
        self.seg(t, o, "FA")
        t += self.us(40, 120) if by == "c2s" else self.rtt
        self.seg(t, by, "A")
        return t


# --------------------------------------------------------------------------
# JA4 (FoxIO JA4 "a_b_c", TLS over TCP) of a ClientHello record we built
# --------------------------------------------------------------------------

_VER = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}


def _grease(v):
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def ja4(rec):
    b = rec[5 + 4:]
    legacy = struct.unpack("!H", b[:2])[0]
    p = 2 + 32
    p += 1 + b[p]
    n = struct.unpack("!H", b[p:p + 2])[0]
    ciphers = [c for c in struct.unpack("!%dH" % (n // 2), b[p + 2:p + 2 + n]) if not _grease(c)]
    p += 2 + n
    p += 1 + b[p]
    end = p + 2 + struct.unpack("!H", b[p:p + 2])[0]
    p += 2
    exts, sig, vers, alpn = [], [], [], None
    while p < end:
        et, el = struct.unpack("!HH", b[p:p + 4])
        body = b[p + 4:p + 4 + el]
        p += 4 + el
        if _grease(et):
            continue
        exts.append(et)
        if et == 0x000D:
            sig = list(struct.unpack("!%dH" % ((el - 2) // 2), body[2:]))
        elif et == 0x002B:
            vers = [v for v in struct.unpack("!%dH" % (body[0] // 2), body[1:]) if not _grease(v)]
        elif et == 0x0010 and el > 2:
            alpn = body[3:3 + body[2]]
    v = _VER.get(max(vers) if vers else legacy, "00")
    a = "t" + v + ("d" if 0 in exts else "i") + "%02d%02d" % (min(len(ciphers), 99),
                                                             min(len(exts), 99))
    if not alpn:
        a += "00"
    elif chr(alpn[0]).isalnum() and chr(alpn[-1]).isalnum() and alpn.isascii():
        a += chr(alpn[0]) + chr(alpn[-1])
    else:
        a += alpn.hex()[0] + alpn.hex()[-1]

    def h12(s):
        return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"
    bb = h12(",".join("%04x" % c for c in sorted(ciphers)))
    cs = ",".join("%04x" % e for e in sorted(x for x in exts if x not in (0, 0x10)))
    if sig:
        cs += "_" + ",".join("%04x" % s for s in sig)
    return "%s_%s_%s" % (a, bb, h12(cs))
