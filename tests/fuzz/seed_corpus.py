#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""seed_corpus.py -- build libFuzzer seed corpora from capture files.

usage: seed_corpus.py [--small] OUTDIR PCAP...

Reads pcap and pcapng files with the standard library only (no tshark, no
scapy) and writes one directory per harness under OUTDIR, in the input
formats the harnesses document (tests/fuzz/fuzz-*.c):

  decode/         selector byte (link type) + one frame, one per frame "shape"
  tls/            port selector + the first client bytes of a TCP flow that
                  starts with a TLS record or talks to a STARTTLS port
  stream-prefix/  the same client streams as real segments (seq, payload)
  dns/            selector + UDP payloads and TCP payloads of port 53
  pcap/           the first packets of each capture, same format as the file
  agg/            config byte + the IP packets of a few flows, with times
  quic/           selector 0 + the first client datagrams of UDP flows that
                  start with a QUIC long header or go to port 443
  catalog/        deploy/catalog.json and the unit-test catalogs

--small keeps few, short seeds per harness: that is the committed corpus
under tests/fuzz/corpus/ (under 1 MB).  Without it everything found is
written (build-fuzz/corpus/, not committed).  File names are content
hashes, so a rerun only adds what is new.
"""
import glob
import hashlib
import os
import struct
import sys

# libpcap DLT as pcap_datalink() reports it -> fuzz-decode selector index
DLT_SELECTOR = {1: 0, 113: 3, 276: 4, 12: 5, 101: 5, 228: 7, 229: 8, 0: 9, 108: 10}
TLS_PORTS = [0, 25, 587, 2525, 143, 110, 443, 993]
STARTTLS_PORTS = {25, 587, 2525, 143, 110}


# --- reading captures -------------------------------------------------------

def read_pcap(data):
    """Yield (linktype, ts_ns, caplen_bytes, wirelen) from a classic pcap."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if caplen > len(data) - off:
            return
        ts = sec * 10**9 + (frac if nano else frac * 1000)
        yield linktype, ts, data[off:off + caplen], wirelen, off + caplen
        off += caplen


def read_pcapng(data):
    """Yield (linktype, ts_ns, frame, wirelen, end_offset) from a pcapng file."""
    off, e, ifaces = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:  # IDB (assume microsecond resolution)
            ifaces.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:  # EPB
            ifid, hi, lo, caplen, wirelen = struct.unpack(e + "IIIII", body[:20])
            if ifid < len(ifaces) and caplen <= len(body) - 20:
                yield ifaces[ifid], ((hi << 32) | lo) * 1000, body[20:20 + caplen], \
                    wirelen, off + blen
        elif btype == 3 and len(body) >= 4 and ifaces:  # SPB
            wirelen = struct.unpack(e + "I", body[:4])[0]
            yield ifaces[0], 0, body[4:4 + wirelen], wirelen, off + blen
        off += blen


def read_capture(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return data, "pcapng", list(read_pcapng(data))
    return data, "pcap", list(read_pcap(data))


# --- a small decoder, enough to find flows ----------------------------------

def strip_link(linktype, f):
    """Return (ip_bytes, decode-selector) or (None, sel)."""
    sel = DLT_SELECTOR.get(linktype)
    try:
        if linktype == 1:
            et, off = struct.unpack(">H", f[12:14])[0], 14
            while et in (0x8100, 0x88A8, 0x9100):
                et, off = struct.unpack(">H", f[off + 2:off + 4])[0], off + 4
            if et in (0x8847, 0x8848):
                while True:
                    lab = struct.unpack(">I", f[off:off + 4])[0]
                    off += 4
                    if lab & 0x100:
                        break
                return f[off:], sel
            return (f[off:] if et in (0x0800, 0x86DD) else None), sel
        if linktype == 113:
            return f[16:], sel
        if linktype == 276:
            return f[20:], sel
        if linktype in (0, 108):
            return f[4:], sel
        if linktype in (12, 101, 228, 229):
            return f, sel
    except (struct.error, IndexError):
        pass
    return None, sel


def parse_ip(ip):
    """Return dict(src, dst, proto, sport, dport, seq, flags, payload) or None."""
    try:
        v = ip[0] >> 4
        if v == 4:
            ihl = (ip[0] & 15) * 4
            tot = struct.unpack(">H", ip[2:4])[0]
            if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
                return None  # fragment
            proto, src, dst = ip[9], ip[12:16], ip[16:20]
            l4 = ip[ihl:tot] if tot >= ihl else ip[ihl:]
        elif v == 6:
            plen = struct.unpack(">H", ip[4:6])[0]
            proto, src, dst = ip[6], ip[8:24], ip[24:40]
            l4 = ip[40:40 + plen]
            while proto in (0, 43, 60):
                proto, l4 = l4[0], l4[(l4[1] + 1) * 8:]
            if proto == 44:
                return None
        else:
            return None
        if proto == 6 and len(l4) >= 20:
            sport, dport, seq = struct.unpack(">HHI", l4[:8])
            doff = (l4[12] >> 4) * 4
            return dict(src=src, dst=dst, proto=6, sport=sport, dport=dport, seq=seq,
                        flags=l4[13], payload=l4[doff:])
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack(">HH", l4[:4])
            return dict(src=src, dst=dst, proto=17, sport=sport, dport=dport, seq=0,
                        flags=0, payload=l4[8:])
        return dict(src=src, dst=dst, proto=proto, sport=0, dport=0, seq=0, flags=0,
                    payload=b"")
    except (struct.error, IndexError):
        return None


# --- writing ----------------------------------------------------------------

class Out:
    def __init__(self, root, small):
        self.root, self.small, self.count = root, small, {}

    def put(self, target, blob, limit):
        n = self.count.get(target, 0)
        if self.small and n >= limit:
            return
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        name = os.path.join(d, hashlib.sha1(blob).hexdigest()[:16])
        if not os.path.exists(name):
            with open(name, "wb") as f:
                f.write(blob)
            self.count[target] = n + 1


def shape(sel, ip, p):
    """A coarse key so --small keeps one frame per kind of packet."""
    if ip is None:
        return (sel, "non-ip")
    if p is None:
        return (sel, ip[0] >> 4 if ip else -1, "frag-or-bad")
    port = min(p["sport"], p["dport"])
    return (sel, ip[0] >> 4, p["proto"], port if port < 1024 else "hi",
            p["flags"] & 0x17, len(p["payload"]) > 0)


def main():
    args = sys.argv[1:]
    small = "--small" in args
    args = [a for a in args if a != "--small"]
    if len(args) < 2:
        sys.exit(__doc__)
    out = Out(args[0], small)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    seen_shapes = {}  # shape -> frames kept (1 with --small, else up to 30)
    for path in args[1:]:
        try:
            data, fmt, recs = read_capture(path)
        except OSError:
            continue
        if not recs:
            continue
        # pcap: the first packets of the file, in its own format
        npk = 12 if small else 64
        if len(recs) > 0:
            end = recs[min(npk, len(recs)) - 1][4]
            if not small or end <= 24000:
                out.put("pcap", data[:end], 40)
            elif small:
                out.put("pcap", data[:recs[min(3, len(recs)) - 1][4]], 40)
        flows = {}
        for lt, ts, frame, wirelen, _ in recs:
            ip, sel = strip_link(lt, frame)
            p = parse_ip(ip) if ip else None
            if sel is not None:
                k = shape(sel, ip, p)
                if seen_shapes.get(k, 0) < (1 if small else 30):
                    seen_shapes[k] = seen_shapes.get(k, 0) + 1
                    out.put("decode", bytes([sel]) + frame[:4095], 250)
            if p is None or p["proto"] not in (6, 17):
                continue
            key = tuple(sorted([(p["src"], p["sport"]), (p["dst"], p["dport"])])) + (p["proto"],)
            flows.setdefault(key, []).append((ts, ip, p))
            # DNS answers: UDP and TCP payloads from port 53
            if p["sport"] == 53 and p["payload"]:
                if p["proto"] == 17:
                    out.put("dns", b"\x07" + p["payload"][:8191], 60)
                else:
                    out.put("dns", b"\x06" + p["payload"][:8191], 60)

        for key, pkts in flows.items():
            first = pkts[0][2]
            if first["proto"] == 17 and first["payload"][:1] and \
                    (first["payload"][0] & 0x80 or first["dport"] == 443):
                # quic: selector 0 + the first client datagrams, length-prefixed
                cli = [p for _, _, p in pkts if p["src"] == first["src"] and
                       p["sport"] == first["sport"] and p["payload"]]
                rec = bytearray([0])
                for p in cli[:2 if small else 6]:
                    rec += struct.pack(">H", len(p["payload"])) + p["payload"]
                out.put("quic", bytes(rec), 20)
            if first["proto"] != 6:
                continue
            # client: sender of the SYN, else the side with the higher port
            syn = [p for _, _, p in pkts if p["flags"] & 0x12 == 0x02]
            c = syn[0] if syn else (first if first["sport"] > first["dport"] else None)
            if c is None:
                c = dict(src=first["dst"], sport=first["dport"], dport=first["sport"])
            segs = [p for _, _, p in pkts if p["src"] == c["src"] and p["sport"] == c["sport"]]
            data_segs = [p for p in segs if p["payload"]]
            if not data_segs:
                continue
            sport = c["dport"]
            isn = (syn[0]["seq"] + 1) if syn else data_segs[0]["seq"]
            # client stream in sequence order, first 16 KiB
            buf = bytearray()
            for p in sorted(data_segs, key=lambda p: (p["seq"] - isn) & 0xFFFFFFFF):
                off = (p["seq"] - isn) & 0xFFFFFFFF
                if off <= len(buf) < 16384:
                    buf += p["payload"][len(buf) - off:]
            buf = bytes(buf[:16384])
            is_tls = buf[:1] == b"\x16"
            if is_tls or sport in STARTTLS_PORTS:
                psel = TLS_PORTS.index(sport) if sport in TLS_PORTS else 0
                cut = buf if not small else buf[:12000]
                out.put("tls", bytes([psel]) + cut, 40)
                # stream-prefix: cap 16384 (selector 6), ISN set first
                sp = bytearray([6, 1]) + struct.pack(">I", isn)
                for p in data_segs[:16]:
                    off = (p["seq"] - isn) & 0xFFFFFFFF
                    pl = p["payload"][:2048 if small else 65535]
                    if off < 65536:
                        sp += bytes([0]) + struct.pack(">HH", off, len(pl)) + pl
                    else:
                        sp += bytes([192]) + struct.pack(">IH", p["seq"], len(pl)) + pl
                out.put("stream-prefix", bytes(sp), 30)
            # agg: the flow's IP packets as raw records, with time steps
            rec, prev = bytearray([0x01]), pkts[0][0]
            for ts, ip, p in pkts[:40 if small else 400]:
                d = max(0, ts - prev) // 10**6  # ms
                prev = ts
                dt = min(d, 63) if d < 64 else (0x40 | min(d // 100, 63)) if d < 6400 \
                    else (0x80 | min(d // 1000, 63))
                body = ip[:1500]
                rec += bytes([dt, 0]) + struct.pack(">H", len(body)) + body
            if len(rec) > 1 and (not small or len(rec) < 30000):
                out.put("agg", bytes(rec), 30)

    for f in [os.path.join(repo, "deploy", "catalog.json")] + \
            sorted(glob.glob(os.path.join(repo, "tests", "unit", "data", "catalog-*.json"))):
        try:
            with open(f, "rb") as fh:
                out.put("catalog", fh.read(), 30)
        except OSError:
            pass
    for t in sorted(out.count):
        print("%-14s %d new seeds" % (t, out.count[t]))


if __name__ == "__main__":
    main()
