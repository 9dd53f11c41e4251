#!/usr/bin/python3
"""split_pcap.py IN HEAD TAIL T -- split a classic pcap at Unix time T.

HEAD gets the global header and every record before T; TAIL gets the
records from T on, without a global header, so `cat HEAD TAIL` is IN
again (and a reader fed HEAD then TAIL sees one capture)."""
import struct
import sys

src, head, tail, t = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
data = open(src, "rb").read()
magic = data[:4]
le = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
ns = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
e = "<" if le else ">"
off = 24
with open(head, "wb") as h, open(tail, "wb") as tl:
    h.write(data[:24])
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        rec = data[off:off + 16 + caplen]
        ts = sec + frac / (1e9 if ns else 1e6)
        (h if ts < t else tl).write(rec)
        off += 16 + caplen
