#!/usr/bin/python3
"""ident_check.py MAILTAP PCAP... -- TLS and QUIC identification against tshark.

JA4 is not in tshark 4.0: tests/tools/ja4.py rebuilds it from tshark's
decoded fields (no code shared with the C parser); every (JA3, JA4) pair
mailtap reports must be one the oracle derived for the same capture.

For every ClientHello tshark finds (TCP reassembly on, out-of-order
reassembly on), take its flow's SNI and JA3; for every session mailtap
reports with --all-flows, take its sni and ja3; they must agree flow by
flow.  A flow whose hello mailtap could not see (too many holes, pool
full) shows up as a difference too.

QUIC: for every ClientHello tshark decrypts from QUIC Initials
(tls.desegment_ssl_records on) and every gQUIC CHLO it reads, take the
flow's version, SNI, first ALPN protocol and JA3; mailtap's sessions with
app_proto "quic" must show the same quic_version, sni, alpn and ja3, and
their JA4 ('q' prefix) must be the one tests/tools/ja4.py derives (it
prints 't') for that JA3.  A QUIC flow tshark finds no hello in must still
be app_proto quic in mailtap with the right version.

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


# QUIC captures where mailtap and tshark differ by design, and why:
# flow -> what mailtap reports instead of tshark's (version, sni, alpn, ja3).
QUIC_EXPECTED = {
    # reserved versions 0x?a?a?a?a force Version Negotiation: no Initial keys
    # exist for them (RFC 9000 15); tshark tries draft-29 keys anyway
    "quic_interop_V.pcapng": "no-keys",
    # SNI "server4:443" is not a host name: the TLS parser flags it (as it
    # does over TCP) and reports none; the ALPN, JA3 and JA4 still compare
    "quic-go-retry.pcap": "sni-invalid",
    # tshark 4.0.17 fails the checktag of the v1 Initial sent after the
    # Version Negotiation and shows no hello; mailtap opens it (SNI localhost)
    "quic_vn.pcap": "tshark-no-hello",
}


def quic_version_name(v):
    """mailtap's quic_version spelling of a version number."""
    if v == 1:
        return "1"
    if v == 0x6b3343cf:
        return "2"
    if v >> 8 == 0xff0000:
        return "draft-%d" % (v & 0xff)
    names = {0xfaceb001: "mvfst-22", 0xfaceb002: "mvfst-27", 0xfaceb00e: "mvfst-exp"}
    if v in names:
        return names[v]
    b = v.to_bytes(4, "big")
    if chr(b[0]) in "QT" and all(0x30 <= c <= 0x39 for c in b[1:]):
        return b.decode()
    return "0x%08x" % v


def tshark_quic(pcap):
    """flow -> (version, sni, first alpn, ja3) of its first hello; flows
    where tshark sees QUIC but no hello map to (version, "", "", "")."""
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-o", "tls.desegment_ssl_records:TRUE",
         "-Y", "quic.version || gquic.tag.sni", "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "udp.dstport", "-e", "quic.version", "-e", "gquic.version",
         "-e", "tls.handshake.extensions_server_name", "-e", "gquic.tag.sni",
         "-e", "tls.handshake.extensions_alpn_str", "-e", "tls.handshake.ja3", "-e", "tls.handshake.type"],
        capture_output=True, text=True, check=False).stdout
    flows = {}
    for line in out.splitlines():
        f = line.split("|")
        if not f[2]:
            continue
        src = (f[0] or f[1]).split(",")[-1]
        dst = (f[3] or f[4]).split(",")[-1]
        key = (src, int(f[2]), dst, int(f[5]))
        if f[7]:
            ver = f[7].split(",")[0]
        elif f[6]:
            ver = quic_version_name(int(f[6].split(",")[0], 16))
        else:
            continue
        hello = "1" in f[12].split(",") or f[9]
        cur = flows.get(key)
        if hello and (cur is None or not cur[4]):
            flows[key] = (ver, (f[8] or f[9]).split(",")[0], f[10].split(",")[0], f[11].split(",")[0], True)
        elif cur is None:
            # a server Initial (tshark keys flows by who sent first) is not the client
            flows[key] = (ver, "", "", "", False)
    # tshark keys a flow by the sender of each packet: drop the server's
    # side of a flow whose client side is there
    order = {k: i for i, k in enumerate(flows)}

    def client_side(k, v):
        r = (k[2], k[3], k[0], k[1])
        return v[4] or r not in flows or (not flows[r][4] and order[k] < order[r])
    return {k: v[:4] for k, v in flows.items() if client_side(k, v)}


def mailtap_quic(out):
    flows, pairs = {}, set()
    for line in out.splitlines():
        s = json.loads(line)
        if s.get("app_proto") != "quic":
            continue
        flows[(s["src_ip"], s["src_port"], s["dest_ip"], s["dest_port"])] = (
            s.get("quic_version", ""), s.get("sni", ""), s.get("alpn", ""), s.get("ja3", ""))
        if s.get("ja3"):
            pairs.add((s["ja3"], "t" + s.get("ja4", "")[1:]))
    return flows, pairs


def quic_compare(pcap, mailtap_out):
    """(number of QUIC flows compared, list of differences)."""
    t = tshark_quic(pcap)
    m, pairs = mailtap_quic(mailtap_out)
    why = QUIC_EXPECTED.get(pcap.rsplit("/", 1)[-1])
    bad = []
    # tshark lists server-first flows (a server Initial seen before the
    # client's) under the server's address; mailtap names the client
    for k in sorted(set(t) | set(m), key=str):
        tv, mv = t.get(k), m.get(k)
        if tv is None and (k[2], k[3], k[0], k[1]) in t:
            continue
        if mv is None and (k[2], k[3], k[0], k[1]) in m:
            mv = m[(k[2], k[3], k[0], k[1])]
        if tv == mv:
            continue
        if tv and mv and why == "no-keys" and tv[0] == mv[0] and mv[1:] == ("", "", ""):
            continue
        if tv and mv and why == "sni-invalid" and (tv[0], tv[2], tv[3]) == (mv[0], mv[2], mv[3]) and not mv[1]:
            continue
        if tv and mv and why == "tshark-no-hello" and tv[1:] == ("", "", ""):
            continue  # and mailtap names the version its hello came in
        bad.append("  quic %s: tshark %s mailtap %s" % (k, tv, mv))
    if pairs and why != "tshark-no-hello":
        o = oracle_ja4(pcap)
        for pair in sorted(pairs - o):
            bad.append("  quic ja3/ja4 %s not derived by tests/tools/ja4.py" % (pair,))
    return len(t), bad


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
        if s.get("ja3") and s["proto"] == "TCP":
            hellos[(s["src_ip"], s["src_port"], s["dest_ip"], s["dest_port"])] = (s.get("sni", ""), s["ja3"])
            ja4s.add((s["ja3"], s.get("ja4", "")))
    return hellos, ja4s, out


def main():
    mailtap, pcaps = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for pcap in pcaps:
        t = tshark_hellos(pcap)
        m, m_ja4, m_out = mailtap_hellos(mailtap, pcap)
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
        nq, qbad = quic_compare(pcap, m_out)
        bad += qbad
        if bad:
            failed += 1
            print("FAIL %s" % pcap)
            print("\n".join(bad[:10]))
        else:
            passed += 1
            print("ok   %s (%d hellos, %d JA4 checked%s)" % (pcap, len(t), len(m_ja4),
                                                       ", %d QUIC flows" % nq if nq else ""))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
