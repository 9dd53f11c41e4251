#!/usr/bin/python3
"""bounds.py MAILTAP MAX_FLOWS -- bytes of every bounded table of mailtap at
its configured capacity, one "NAME BYTES" line each.

Structure sizes are read from MAILTAP's debug info with gdb when gdb is
installed (so the bound follows the code); otherwise the sizes below are
used (read from build/mailtap, x86-64, -O2 -g, when this file was written).
Capacities are the defaults of docs/sessions.md and docs/detection.md
(flow table --max-flows, 65536 identification slots, 1024 hello
reassemblies, 65536 DNS cache entries, score tables 8192/256/65536/4096/
65536/4096 and 8192 beacon streams); each pool is calloc'd once, so RSS grows only as slots are
used and can never pass this sum."""
import subprocess
import sys

SIZES = {"flow": 240, "flow_ident": 928, "reasm_slot": 16496, "dns_cache_entry": 296,
         "lru_node": 12, "pair_key": 60, "pair": 6424, "peer_key": 40, "peer": 32800,
         "hp_key": 89, "seen": 8, "net_addr": 20, "count_key": 80, "alert_key": 56,
         "alert_state": 96, "stream_key": 97, "stream": 3288}


def gdb_sizes(binary):
    cmd = ["gdb", "-batch", "-nx"]
    for k in SIZES:
        cmd += ["-ex", "print sizeof(struct %s)" % k]
    try:
        out = subprocess.run(cmd + [binary], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None, "built-in"
    vals = [int(l.split("=")[1]) for l in out.splitlines() if l.startswith("$")]
    if len(vals) != len(SIZES):
        return None, "built-in"
    return dict(zip(SIZES, vals)), "gdb"


def pow2(n):
    p = 1
    while p < n:
        p <<= 1
    return p


def r8(n):
    return (n + 7) & ~7


def main():
    binary, max_flows = sys.argv[1], int(sys.argv[2])
    s, src = gdb_sizes(binary)
    s = s or SIZES

    def lru(cap, k, v):
        return cap * (r8(s["lru_node"] + k) + r8(v)) + pow2(cap) * 4

    t = {
        "flows": max_flows * s["flow"] + pow2(max_flows) * 4,
        "idents": 65536 * s["flow_ident"],
        "reasm": 1024 * s["reasm_slot"],
        "dns_cache": 65536 * s["dns_cache_entry"] + pow2(65536) * 4,
        "score": (lru(8192, s["pair_key"], s["pair"]) + lru(256, s["peer_key"], s["peer"]) +
                  lru(65536, s["hp_key"], s["seen"]) + lru(4096, s["count_key"], 4) +
                  lru(65536, s["net_addr"], s["seen"]) +
                  lru(4096, s["alert_key"], s["alert_state"]) +
                  lru(8192, s["stream_key"], s["stream"])),
    }
    print("sizes %s flow=%d ident=%d reasm=%d dns=%d pair=%d" % (
        src, s["flow"], s["flow_ident"], s["reasm_slot"], s["dns_cache_entry"], s["pair"]))
    for k, v in t.items():
        print(k, v)


if __name__ == "__main__":
    main()
