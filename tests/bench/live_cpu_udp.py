#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""live_cpu_udp.py -- the bounded non-mail UDP load of bench-live-cpu.sh.

  live_cpu_udp.py sink ADDR PORT0 NPORTS SECONDS
      bind NPORTS UDP sockets on ADDR:PORT0.. and never read them (the kernel
      drops what overflows the receive buffers: no ICMP port-unreachable
      replies, no CPU spent receiving); exit after SECONDS
  live_cpu_udp.py send SRC DST PORT0 NPORTS COUNT SIZE SECONDS
      send COUNT datagrams of SIZE payload bytes from SRC (NPORTS source
      ports) to DST:PORT0.. round-robin, as fast as one core allows; stop
      after COUNT datagrams or SECONDS, whichever comes first; print the
      number sent, the process's own CPU seconds (user + system: with
      veth, the receiving side's softirq work -- the capture hooks included
      -- mostly runs in the sender's context) and the seconds it took

Only ever used between the network namespaces bench-live-cpu.sh creates.
"""
import resource
import socket
import sys
import time


def sink(addr, port0, nports, seconds):
    socks = []
    for i in range(nports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((addr, port0 + i))
        socks.append(s)
    print("ready", flush=True)
    time.sleep(seconds)


def send(src, dst, port0, nports, count, size, seconds):
    socks = []
    for i in range(nports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        socks.append(s)
    targets = [(dst, port0 + i) for i in range(nports)]
    payload = b"\x5a" * size
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    end = t0 + seconds
    sent = 0
    pairs = [(socks[i], targets[(i * 7) % nports]) for i in range(nports)]
    while sent < count:
        for s, t in pairs:
            try:
                s.sendto(payload, t)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            sent += 1
            if sent >= count:
                break
        if (sent & 0x3FFF) < nports and time.monotonic() > end:
            break
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(sent, "%.6f" % cpu, "%.6f" % (time.monotonic() - t0))


def main(argv):
    if len(argv) == 6 and argv[1] == "sink":
        sink(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif len(argv) == 9 and argv[1] == "send":
        send(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), int(argv[7]), float(argv[8]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
