#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""dnstool.py -- the live tier's tiny DNS: one A record, UDP only.

  dnstool.py serve ADDR NAME IP [SECONDS]  answer NAME -> IP (TTL 600) on ADDR:53,
                                           NXDOMAIN for anything else; exit after
                                           SECONDS (default 60)
  dnstool.py query SERVER NAME             ask SERVER once (3 s), print the address

Only ever used between the tier's own network namespaces.
"""
import socket
import struct
import sys
import time


def qname_at(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def serve(addr, name, ip, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    end = time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            msg, peer = s.recvfrom(512)
        except socket.timeout:
            break
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        if flags & 0x8000 or qd != 1:
            continue
        q, off = qname_at(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        if q == name.lower() and qtype == 1:
            answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 600, 4) + socket.inet_aton(ip)
            resp = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer
        else:
            resp = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        s.sendto(resp, peer)


def query(server, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    msg = struct.pack("!HHHHHH", 0x4d54, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", 1, 1)
    s.sendto(msg, (server, 53))
    resp, _ = s.recvfrom(512)
    an = struct.unpack("!H", resp[6:8])[0]
    if not an:
        sys.exit("no answer")
    print(socket.inet_ntoa(resp[-4:]))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 60)
    elif len(sys.argv) == 4 and sys.argv[1] == "query":
        query(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
