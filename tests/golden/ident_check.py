#!/usr/bin/python3
"""ident_check.py MAILTAP PCAP... -- TLS identification against tshark.

JA4 is not in tshark 4.0: tests/tools/ja4.py rebuilds it from tshark's
decoded fields (no code shared with the C parser); every (JA3, JA4) pair
mailtap reports must be one the oracle derived for the same capture.

For every ClientHello tshark finds (TCP reassembly on, out-of-order
reassembly on), take its flow's SNI and JA3; for every session mailtap
reports with --all-flows, take its sni and ja3; they must agree flow by
flow.  A flow whose hello mailtap could not see (too many holes, pool
full) shows up as a difference too.

Prints ok/FAIL per capture and "#summary PASSED FAILED".
"""
import json
import subprocess
import sys

# Captures where tshark finds a hello that mailtap, by design, does not
# parse, and why.
EXPECTED_MISSES = {
    # one hello lies inside a GTP-U tunnel (mailtap does not decode tunnels);
    # the other has zero compression methods and a stray byte where the
    # extensions length belongs: malformed, and mailtap calls it so
    "tls_invalid_reads.pcap": {("10.191.139.17", 58552, "54.221.224.45", 443),
                               ("192.168.10.101", 3967, "206.33.61.113", 443)},
    # the hello's middle segment is missing from the capture: nothing to parse
    "tls_missing_ch_frag.pcap": {("192.168.0.1", 33063, "10.10.10.1", 443)},
}


def tshark_hellos(pcap):
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-o", "tcp.reassemble_out_of_order:TRUE",
         "-Y", "tls.handshake.type == 1 && tcp", "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.dstport", "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3"],
        capture_output=True, text=True, check=False).stdout
    hellos = {}
    for line in out.splitlines():
        f = line.split("|")
        src = (f[0] or f[1]).split(",")[-1]
        dst = (f[3] or f[4]).split(",")[-1]
        key = (src, int(f[2]), dst, int(f[5]))
        if not f[6] and not f[7]:
            continue  # an SSLv2-format hello: no SNI or JA3 to compare
        # several hellos per flow (retransmission, HelloRetry): keep the first
        hellos.setdefault(key, (f[6].split(",")[0], f[7].split(",")[0]))
    return hellos


def oracle_ja4(pcap):
    out = subprocess.run(["/usr/bin/python3", "tests/tools/ja4.py", pcap],
                         capture_output=True, text=True, check=False).stdout
    return {(f[4], f[3]) for f in (l.split() for l in out.splitlines()) if len(f) >= 5}


def mailtap_hellos(mailtap, pcap):
    out = subprocess.run([mailtap, "-q", "-r", pcap, "--sessions", "-", "--all-flows", "--interim", "0"],
                         capture_output=True, text=True, check=False).stdout
    hellos = {}
    ja4s = set()
    for line in out.splitlines():
        s = json.loads(line)
        if s.get("ja3"):
            hellos[(s["src_ip"], s["src_port"], s["dest_ip"], s["dest_port"])] = (s.get("sni", ""), s["ja3"])
            ja4s.add((s["ja3"], s.get("ja4", "")))
    return hellos, ja4s


def main():
    mailtap, pcaps = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for pcap in pcaps:
        t = tshark_hellos(pcap)
        m, m_ja4 = mailtap_hellos(mailtap, pcap)
        misses = EXPECTED_MISSES.get(pcap.rsplit("/", 1)[-1], set())
        bad = []
        for k in sorted(set(t) | set(m), key=str):
            if k in misses and k not in m:
                continue
            if t.get(k) != m.get(k):
                bad.append("  %s: tshark %s mailtap %s" % (k, t.get(k), m.get(k)))
        o_ja4 = oracle_ja4(pcap) if m_ja4 else set()
        for pair in sorted(m_ja4 - o_ja4):
            bad.append("  ja3/ja4 %s not derived by tests/tools/ja4.py" % (pair,))
        if bad:
            failed += 1
            print("FAIL %s" % pcap)
            print("\n".join(bad[:10]))
        else:
            passed += 1
            print("ok   %s (%d hellos, %d JA4 checked)" % (pcap, len(t), len(m_ja4)))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
