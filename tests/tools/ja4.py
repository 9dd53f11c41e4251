#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# ja4.py -- an independent JA4 (TLS client, "a_b_c" form) derivation from
# tshark's dissection, used as the oracle for userspace/app-tls.c.  It shares
# no code with the C parser: tshark (4.0 has no JA4 field) decodes each
# ClientHello to PDML and this script rebuilds JA4 from the decoded fields
# per FoxIO-LLC/ja4 technical_details/JA4.md.  Output: one line per hello,
# "<pcap> <frame> <tcp.stream> <ja4> <ja3 from tshark>".
#
# Usage: tests/tools/ja4.py [-r] FILE.pcap...   (-r adds the raw JA4_r string)
import hashlib
import subprocess
import sys
import xml.etree.ElementTree as ET

TLS_VERSIONS = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
    0x0002: "s2", 0xfeff: "d1", 0xfefd: "d2", 0xfefc: "d3",
}


def is_grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def hash12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def num(field):
    """Integer value of a PDML field from its 'show' text (dec or 0x hex)."""
    return int(field.get("show"), 0)


def children(node, name):
    return [f for f in node.iter("field") if f.get("name") == name]


def alpn_chars(raw):
    """JA4 ALPN part from the first protocol's raw bytes."""
    if not raw:
        return "00"
    a, z = raw[0], raw[-1]
    alnum = lambda c: chr(c).isascii() and chr(c).isalnum()
    if alnum(a) and alnum(z):
        return chr(a) + chr(z)
    h = raw.hex()
    return h[0] + h[-1]


def ja4_of(hs, raw_out=False):
    """hs: the PDML <field name="tls.handshake"> of one ClientHello."""
    legacy = int(children(hs, "tls.handshake.version")[0].get("show"), 16)
    ciphers = [int(f.get("value"), 16) for f in children(hs, "tls.handshake.ciphersuite")]
    ext_types, sigalgs, versions, alpn_raw = [], [], [], None
    # An extension is the PDML node that directly holds extension.type.
    for ext in hs.iter("field"):
        t = [c for c in ext if c.get("name") == "tls.handshake.extension.type"]
        if not t:
            continue
        etype = num(t[0])
        ext_types.append(etype)
        if etype == 0x000d:
            sigalgs = [int(f.get("value"), 16) for f in children(ext, "tls.handshake.sig_hash_alg")]
        elif etype == 0x002b:
            versions = [int(f.get("value"), 16) for f in children(ext, "tls.handshake.extensions.supported_version")]
        elif etype == 0x0010:
            strs = children(ext, "tls.handshake.extensions_alpn_str")
            alpn_raw = bytes.fromhex(strs[0].get("value")) if strs else None

    vers = [v for v in versions if not is_grease(v)]
    version = max(vers) if vers else legacy
    ciphers = [c for c in ciphers if not is_grease(c)]
    exts = [e for e in ext_types if not is_grease(e)]
    sigalgs = [s for s in sigalgs if not is_grease(s)]

    a = "t%s%s%02d%02d%s" % (TLS_VERSIONS.get(version, "00"),
                             "d" if 0x0000 in exts else "i",
                             min(len(ciphers), 99), min(len(exts), 99),
                             alpn_chars(alpn_raw))
    b_raw = ",".join("%04x" % c for c in sorted(ciphers))
    c_raw = ",".join("%04x" % e for e in sorted(exts) if e not in (0x0000, 0x0010))
    if c_raw and sigalgs:
        c_raw += "_" + ",".join("%04x" % s for s in sigalgs)
    ja4 = "%s_%s_%s" % (a, hash12(b_raw), hash12(c_raw))
    return ja4 + (" %s_%s_%s" % (a, b_raw, c_raw) if raw_out else "")


def main(argv):
    raw_out = "-r" in argv
    for pcap in [a for a in argv if a != "-r"]:
        run = subprocess.run(["tshark", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", pcap, "-Y", "tls.handshake.type == 1", "-T", "pdml"],
                             capture_output=True)
        if run.returncode != 0:  # e.g. a capture cut short: keep what was decoded
            print("%s: tshark exit %d" % (pcap, run.returncode), file=sys.stderr)
        try:
            pdml = ET.fromstring(run.stdout)
        except ET.ParseError:
            continue
        for packet in pdml.iter("packet"):
            frame = stream = ja3 = "-"
            for f in packet.iter("field"):
                if f.get("name") == "frame.number":
                    frame = f.get("show")
                elif f.get("name") == "tcp.stream":
                    stream = f.get("show")
                elif f.get("name") == "tls.handshake.ja3":
                    ja3 = f.get("show")
            for hs in packet.iter("field"):
                if hs.get("name") != "tls.handshake":
                    continue
                types = [c for c in hs if c.get("name") == "tls.handshake.type"]
                if types and num(types[0]) == 1:
                    print(pcap, frame, stream, ja4_of(hs, raw_out), ja3)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
