#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen_hostile.py -- write the hostile capture files of tests/hostile/files/.

usage: gen_hostile.py [OUTDIR]      (default: tests/hostile/files)

Each file breaks one rule of the pcap or pcapng format (or pushes one field
to an extreme) and otherwise holds a valid TCP SYN frame, so a reader that
recovers still has something to decode.  Deterministic: rerunning gives
the same bytes.  The expectation for each file is in EXPECT below and in
tests/hostile/README.md; run-tier.sh checks them.
"""
import os
import struct
import sys

# Ethernet / IPv4 / TCP SYN 192.0.2.1:40000 -> 40.96.1.2:443 (54 bytes)
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
IP = bytes.fromhex("45000028000100004006" "0000" "c0000201" "28600102")
TCP = struct.pack(">HHIIBBHHH", 40000, 443, 1000, 0, 0x50, 0x02, 65535, 0, 0)
FRAME = ETH + IP + TCP
assert len(FRAME) == 54

# What run-tier.sh expects: "read" = exit 0 (file fully readable),
# "fail" = exit 1 with one stderr line naming the file,
# "any" = exit 0 or 1 (libpcap versions differ), with the same rule for 1.
EXPECT = {}


def pcap_header(magic=0xA1B2C3D4, snaplen=65535, linktype=1, e="<"):
    return struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, caplen=None, wirelen=None, sec=1700000000, frac=0, e="<"):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return struct.pack(e + "IIII", sec, frac, caplen, wirelen) + data


def block(btype, body, e="<", blen=None):
    pad = (-len(body)) % 4
    n = 12 + len(body) + pad if blen is None else blen
    return struct.pack(e + "II", btype, n) + body + b"\0" * pad + struct.pack(e + "I", n)


def shb(bom=0x1A2B3C4D, e="<"):
    return block(0x0A0D0D0A, struct.pack(e + "IHHq", bom, 1, 0, -1), e)


def idb(linktype=1, snaplen=65535, e="<"):
    return block(1, struct.pack(e + "HHI", linktype, 0, snaplen), e)


def epb(data, ifid=0, ts_us=1700000000 * 10**6, e="<"):
    return block(6, struct.pack(e + "IIIII", ifid, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                len(data), len(data)) + data, e)


def files():
    good = pcap_record(FRAME)
    yield "wrong-magic.pcap", "fail", pcap_header(magic=0xDEADBEEF) + good
    yield "truncated-global-header.pcap", "fail", pcap_header()[:10]
    yield "empty.pcap", "fail", b""
    # snaplen 0 in the header: libpcap treats it as "no limit"
    yield "snaplen-0.pcap", "any", pcap_header(snaplen=0) + good
    # record caplen 100 > file snaplen 64 (libpcap >= 1.10 tolerates it up to
    # its own maximum and clamps; older ones fail the read)
    yield "caplen-gt-snaplen.pcap", "any", \
        pcap_header(snaplen=64) + pcap_record(FRAME + b"\0" * 46, caplen=100)
    # record caplen 300000 > 256 KiB: libpcap refuses the record
    yield "caplen-huge.pcap", "fail", \
        pcap_header() + good + pcap_record(b"\0" * 64, caplen=300000) + \
        b"\0" * 1000
    # a record whose caplen runs past the end of the file
    yield "record-past-eof.pcap", "fail", \
        pcap_header() + good + pcap_record(FRAME, caplen=1000)
    # ns-resolution file with the largest timestamp a record can hold
    yield "nanosec-huge-ts.pcap", "read", \
        pcap_header(magic=0xA1B23C4D) + \
        pcap_record(FRAME, sec=0xFFFFFFFF, frac=999999999) + \
        pcap_record(FRAME, sec=0xFFFFFFFF, frac=0xFFFFFFFF) + \
        pcap_record(FRAME, sec=0, frac=0)
    # pcapng: a block type nobody defined (must be skipped), then a packet
    yield "pcapng-unknown-block.pcapng", "read", \
        shb() + idb() + block(0x7EADBEEF, b"\x01\x02\x03\x04" * 3) + epb(FRAME)
    # pcapng: an EPB whose block length claims ~2 GiB
    yield "pcapng-oversized-block.pcapng", "fail", \
        shb() + idb() + epb(FRAME) + block(6, b"\0" * 20 + FRAME, blen=0x7FFFFFF0)
    # pcapng: a section header whose byte-order magic is neither order
    yield "pcapng-bad-bom.pcapng", "fail", shb(bom=0xDEADBEEF) + idb() + epb(FRAME)
    # pcapng: interface with a link type nobody assigned; its packet must be
    # counted, not decoded
    yield "pcapng-unknown-linktype.pcapng", "read", shb() + idb(linktype=0xFFF0) + epb(FRAME)
    # pcapng: second section with a bad byte-order magic after good packets
    yield "pcapng-bad-second-section.pcapng", "any", \
        shb() + idb() + epb(FRAME) + shb(bom=0x12345678) + idb() + epb(FRAME)
    # classic pcap with a link type nobody assigned
    yield "unknown-linktype.pcap", "read", pcap_header(linktype=0xFFF0) + good


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "files")
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, expect, data in files():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        lines.append("%s %s\n" % (name, expect))
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expect.txt"), "w") as f:
        f.write("# file expectation (read: exit 0; fail: exit 1 + one error line; "
                "any: either) -- written by gen_hostile.py\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
