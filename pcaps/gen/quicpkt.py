#!/usr/bin/python3
"""QUIC packets for the scenario captures: client Initials per RFC 9001 and a
struct-based QUIC connection model on top of fastpkt.Path.

    /usr/bin/python3 pcaps/gen/quicpkt.py --selftest

Client side (what a sensor can read): Initial packets protected as RFC 9001
section 5 says -- keys from the client's first Destination Connection ID
(HKDF-Extract with the version's salt, HKDF-Expand-Label "client in", then
"quic key/iv/hp", "quicv2 ..." for v2), AES-128-GCM payload protection and
AES-128-ECB header protection -- carrying a TLS 1.3 ClientHello (generate.py's
client_hello, with an empty legacy_session_id and the quic_transport_parameters
extension 0x39) in CRYPTO frames.  Versions 1 and 2 (RFC 9369).  A hello that
does not fit in one Initial is split over two, and each Initial's CRYPTO data
is cut into several frames that are shuffled with PING and PADDING frames
between them, as Chrome does ("chaos protection").  Every datagram carrying
an Initial is padded to at least 1200 bytes.

Server side and 1-RTT: the server's Initial is protected with the server
Initial keys (an ACK and a CRYPTO frame with a ServerHello), so tshark
opens it too; Handshake and 1-RTT packets are opaque random bytes with valid
long / short header shapes (nobody has their keys).  Bulk 1-RTT data is
written like fastpkt's GRO segments for TCP: up to 43 full-size QUIC packets
merged into one UDP datagram (as UDP GRO on a capture host shows them) whose
UDP length and IP total length are the full size, captured to caplen 96.

--selftest checks the key schedule and packet protection against the
RFC 9001 Appendix A vectors (client and server keys, the protected client
Initial of A.2 byte for byte) and RFC 9369 Appendix A.1 (v2 keys).

Deterministic: every random byte comes from the caller's random.Random.
Needs python3-cryptography (Debian package) for AES.
"""

import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as G  # noqa: E402
import fastpkt as F   # noqa: E402

V1 = 0x00000001
V2 = 0x6B3343CF
SALT = {V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
        V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")}
LABEL = {V1: b"quic ", V2: b"quicv2 "}
# long-header packet type bits (RFC 9000 17.2, RFC 9369 3.2)
TYPES = {V1: {"initial": 0, "0rtt": 1, "handshake": 2, "retry": 3},
         V2: {"initial": 1, "0rtt": 2, "handshake": 3, "retry": 0}}
TAG = 16

# --------------------------------------------------------------------------
# Key schedule (RFC 9001 5.1, 5.2; RFC 8446 7.1)
# --------------------------------------------------------------------------


def varint(n, size=None):
    """RFC 9000 16 variable-length integer (minimal unless size is given)."""
    if size is None:
        size = 1 if n < 0x40 else 2 if n < 0x4000 else 4 if n < 0x40000000 else 8
    assert n < 1 << (8 * size - 2), (n, size)
    b = n.to_bytes(size, "big")
    return bytes([b[0] | {1: 0, 2: 0x40, 4: 0x80, 8: 0xC0}[size]]) + b[1:]


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret, label, length, context=b""):
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + bytes([len(context)]) + context
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


class Keys:
    """Initial keys of one side (client or server) for a version and the
    client's original Destination Connection ID."""

    def __init__(self, version, dcid, server=False):
        self.version = version
        initial = hkdf_extract(SALT[version], dcid)
        sec = hkdf_expand_label(initial, b"server in" if server else b"client in", 32)
        lab = LABEL[version]
        self.key = hkdf_expand_label(sec, lab + b"key", 16)
        self.iv = hkdf_expand_label(sec, lab + b"iv", 12)
        self.hp = hkdf_expand_label(sec, lab + b"hp", 16)
        self._aead = AESGCM(self.key)
        self._ecb = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()

    def seal(self, pn, aad, plaintext):
        nonce = (int.from_bytes(self.iv, "big") ^ pn).to_bytes(12, "big")
        return self._aead.encrypt(nonce, plaintext, aad)

    def mask(self, sample):
        return self._ecb.update(sample)


# --------------------------------------------------------------------------
# Frames and packets
# --------------------------------------------------------------------------

PING = b"\x01"


def crypto_frame(off, data):
    return b"\x06" + varint(off) + varint(len(data)) + data


def ack_frame(largest, delay=0, first_range=None):
    """ACK (0x02): largest, delay, no further ranges, first range."""
    return b"\x02" + varint(largest) + varint(delay) + varint(0) + \
        varint(largest if first_range is None else first_range)


def long_packet(keys, ptype, dcid, scid, pn, payload, *, token=b"", pn_len=1, size=None):
    """A protected long-header packet of type ptype ("initial", "handshake",
    "0rtt") with packet number pn.  size: pad the payload with PADDING
    frames so that the packet is exactly size bytes."""
    v = keys.version
    b0 = 0xC0 | TYPES[v][ptype] << 4 | (pn_len - 1)
    hdr = bytes([b0]) + struct.pack("!I", v) + bytes([len(dcid)]) + dcid + \
        bytes([len(scid)]) + scid
    if ptype == "initial":
        hdr += varint(len(token)) + token
    # the sample (16 bytes, 4 past the start of the packet number) must exist
    payload += b"\0" * max(0, 4 - pn_len - len(payload))
    if size is not None:
        room = size - (len(hdr) + 2 + pn_len + len(payload) + TAG)
        assert room >= 0, (size, len(payload))
        payload += b"\0" * room
    hdr += varint(pn_len + len(payload) + TAG, 2)
    pn_off = len(hdr)
    hdr += (pn & ((1 << (8 * pn_len)) - 1)).to_bytes(pn_len, "big")
    ct = keys.seal(pn, hdr, payload)
    mask = keys.mask(ct[4 - pn_len:4 - pn_len + 16])
    out = bytearray(hdr + ct)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[pn_off + i] ^= mask[1 + i]
    return bytes(out)


def opaque_long(rng, version, ptype, dcid, scid, size):
    """A long-header packet (Handshake, 0-RTT) of exactly size bytes whose
    protected bits and payload are random: its keys are not derivable."""
    b0 = 0xC0 | TYPES[version][ptype] << 4 | rng.getrandbits(4)
    hdr = bytes([b0]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid + \
        bytes([len(scid)]) + scid
    n = size - len(hdr) - 2
    assert n >= 20, size
    return hdr + varint(n, 2) + rng.randbytes(n)


def short_header(rng, dcid, size):
    """A 1-RTT packet of size bytes: header form 0, fixed bit 1, the
    protected bits random, the DCID, then random bytes."""
    return bytes([0x40 | rng.getrandbits(6)]) + dcid + rng.randbytes(size - 1 - len(dcid))


def short_header_prefix(rng, dcid, keep):
    return (bytes([0x40 | rng.getrandbits(6)]) + dcid + rng.randbytes(max(0, keep)))[:keep]


# --------------------------------------------------------------------------
# TLS for QUIC
# --------------------------------------------------------------------------

# Chrome over QUIC: TLS 1.3 suites only, GREASE, h3, ALPS, certificate
# compression, transport parameters; no EMS / renegotiation_info / point
# formats / session_ticket / OCSP / SCT (JA4 q13d0310h3_55b375c5d22e_...)
G.PROFILES.setdefault("chrome_quic", dict(
    ciphers=[0x1301, 0x1302, 0x1303], groups=[0x001D, 0x0017, 0x0018], shares=[0x001D],
    grease=True,
    sigalgs=[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
    omit={0x0017, 0xFF01, 0x000B, 0x0023, 0x0005, 0x0012}))


def transport_parameters(rng, scid, version=V1):
    """Chrome-like quic_transport_parameters (RFC 9000 18.2)."""
    def tp(i, v):
        return varint(i) + varint(len(v)) + v
    vi = struct.pack("!II", version, version) + (struct.pack("!I", V1) if version != V1 else b"")
    grease_id = 31 * rng.randint(1, 1000) + 27
    return b"".join([
        tp(0x01, varint(30000)),            # max_idle_timeout (ms)
        tp(0x03, varint(1472)),             # max_udp_payload_size
        tp(0x04, varint(15728640)),         # initial_max_data
        tp(0x05, varint(6291456)),          # initial_max_stream_data_bidi_local
        tp(0x06, varint(6291456)),          # ..._bidi_remote
        tp(0x07, varint(6291456)),          # ..._uni
        tp(0x08, varint(100)),              # initial_max_streams_bidi
        tp(0x09, varint(103)),              # initial_max_streams_uni
        tp(0x0F, scid),                     # initial_source_connection_id
        tp(0x20, varint(65536)),            # max_datagram_frame_size
        tp(0x11, vi),                       # version_information (RFC 9368)
        tp(0x2AB2, b""),                    # grease_quic_bit
        tp(grease_id, rng.randbytes(rng.randint(1, 16))),
    ])


def client_hello(rng, sni, alpn=("h3",), profile="chrome_quic", pq=False, scid=b"",
                 version=V1):
    """A ClientHello handshake message for QUIC (no record header, empty
    legacy_session_id, quic_transport_parameters).  Returns (hs bytes, ja4)."""
    p = dict(G.PROFILES[profile])
    p["extra"] = list(p.get("extra", ())) + [
        (0x001B, b"\x02\x00\x02"),                                  # compress_certificate: brotli
        (0x4469, G.vec16(G.vec8(b"h3"))),                           # application_settings
        (0x0039, transport_parameters(rng, scid, version))]
    key = "_quic_" + profile
    G.PROFILES[key] = p
    rec, _ = G.client_hello(rng, sni, list(alpn) if alpn else None, key, pq=pq)
    hs = rec[5:]
    body = hs[4:]
    assert body[34] == 32
    body = body[:34] + b"\x00" + body[35 + 32:]                    # empty session id
    hs = b"\x01" + G.u24(len(body)) + body
    return hs, ja4(hs)


def ja4(hs):
    """JA4 of a QUIC ClientHello handshake message (q prefix)."""
    return "q" + F.ja4(b"\x16\x03\x01" + G.u16(len(hs)) + hs)[1:]


def server_hello(rng, group=0x001D):
    body = G.u16(0x0303) + rng.randbytes(32) + G.vec8(b"") + G.u16(0x1301) + G.u8(0)
    exts = G.ext(0x002B, G.u16(0x0304)) + \
        G.ext(0x0033, G.u16(group) + G.vec16(rng.randbytes(G.SERVER_SHARE_LEN[group])))
    body += G.vec16(exts)
    return b"\x02" + G.u24(len(body)) + body


def client_initials(rng, keys, dcid, scid, hello, *, pn=0, size=1200, chaos=True):
    """The client's first flight: one or two Initial packets (one per
    datagram, each exactly size bytes) carrying hello in CRYPTO frames.
    chaos: split each Initial's part of the hello into 2-4 CRYPTO frames and
    shuffle them with 1-3 PINGs and PADDING runs (Chrome)."""
    hdr = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + 1    # token 0, Length 2, pn 1
    room = size - hdr - TAG
    # bytes of hello per packet, leaving room for frame headers and padding
    cap = room - 40 - rng.randint(0, 60)
    parts, off = [], 0
    while off < len(hello):
        n = min(cap, len(hello) - off)
        parts.append((off, hello[off:off + n]))
        off += n
    out = []
    for i, (off, data) in enumerate(parts):
        if not chaos:
            payload = crypto_frame(off, data)
        else:
            k = rng.randint(2, 4) if len(data) > 64 else 1
            cuts = sorted(rng.sample(range(1, len(data)), k - 1)) if k > 1 else []
            bounds = [0] + cuts + [len(data)]
            frames = [crypto_frame(off + a, data[a:b]) for a, b in zip(bounds, bounds[1:])]
            frames += [PING] * rng.randint(1, 3)
            left = room - sum(len(f) for f in frames)
            assert left >= 0
            runs = rng.randint(1, 3)
            cut = sorted(rng.randint(0, left) for _ in range(runs - 1))
            frames += [b"\0" * (b - a) for a, b in zip([0] + cut, cut + [left]) if b > a]
            rng.shuffle(frames)
            payload = b"".join(frames)
        out.append(long_packet(keys, "initial", dcid, scid, pn + i, payload, size=size))
        assert len(out[-1]) == size
    return out


# --------------------------------------------------------------------------
# A QUIC connection on a fastpkt.Path
# --------------------------------------------------------------------------

MAX_S2C = 1350          # UDP payload of a full-size server packet (Google)
MAX_C2S = 1250          # Chrome's initial maximum packet size
GRO_PKTS = 43           # packets merged into one captured datagram (as fastpkt's TCP)


class Conn:
    """One QUIC connection (HTTP/3).  Times are integer ns (whole us).  Stats
    count UDP payload bytes, as fastpkt.Tcp counts TCP payload bytes."""

    def __init__(self, path, cport, sport, rng, rtt_us, stats=None, key=None, tag=None,
                 version=V1, dcid_len=8, scid=b"", server_cid_len=8):
        self.p, self.cport, self.sport, self.rng = path, cport, sport, rng
        self.rtt = rtt_us * 1000
        self.version = version
        self.odcid = rng.randbytes(dcid_len)          # client's first DCID: Initial keys
        self.ccid = scid                               # client's CID (Chrome: empty)
        self.scid = rng.randbytes(server_cid_len)      # the server's chosen CID
        self.ckeys = Keys(version, self.odcid)
        self.skeys = Keys(version, self.odcid, server=True)
        self.stats, self.key, self.tag = stats, key, tag
        self.first = self.last = None
        self.bytes = {"c2s": 0, "s2c": 0}
        self.dgrams = {"c2s": 0, "s2c": 0}

    def us(self, lo, hi=None):
        return (lo if hi is None else self.rng.randint(lo, hi)) * 1000

    def dgram(self, t, d, payload, plen=None):
        """One UDP datagram; payload is its captured prefix when plen is larger
        (truncated frame, caplen fastpkt.TRUNC)."""
        plen = len(payload) if plen is None else plen
        sp, dp = (self.cport, self.sport) if d == "c2s" else (self.sport, self.cport)
        hdr = struct.pack("!HHHH", sp, dp, 8 + plen, 0)
        if plen == len(payload):
            self.p.frame(t, d, 17, hdr, payload, plen)
        else:
            self.p.frame(t, d, 17, hdr, payload, plen, caplen=F.TRUNC)
        if self.first is None:
            self.first = t
        self.last = max(self.last or t, t)
        self.bytes[d] += plen
        self.dgrams[d] += 1
        if self.stats is not None:
            self.stats.add(self.key, t, d, plen)
            if self.tag is not None:
                self.stats.add(self.tag, t, d, plen)

    def _dcid(self, d):
        return self.scid if d == "c2s" else self.ccid

    def handshake(self, t, hello, *, size=1250, cert_bytes=4000):
        """Client Initial(s) with the hello, the server's Initial + Handshake
        flight (~cert_bytes), the client's Initial ACK + Handshake Finished,
        the server's HANDSHAKE_DONE.  Returns the time of the last packet."""
        r = self.rng
        ini = client_initials(r, self.ckeys, self.odcid, self.ccid, hello, size=size)
        for i, pkt in enumerate(ini):
            if i:
                t += self.us(20, 80)
            self.dgram(t, "c2s", pkt)
        # server: Initial (ACK + ServerHello) coalesced with the first Handshake
        # packet, then Handshake packets with the certificate chain
        t += self.rtt + self.us(800, 3000)
        sini = long_packet(self.skeys, "initial", self.ccid, self.scid, 0,
                           ack_frame(len(ini) - 1) + crypto_frame(0, server_hello(r)), pn_len=2)
        left = cert_bytes
        first = True
        while left > 0:
            room = MAX_S2C - (len(sini) if first else 0)
            n = min(room, left + 40)
            pkt = (sini if first else b"") + opaque_long(r, self.version, "handshake", self.ccid,
                                                        self.scid, max(n, 60))
            self.dgram(t, "s2c", pkt)
            left -= n
            first = False
            t += self.us(10, 40)
        # client: Initial ACK padded to fill the datagram with the Handshake Finished
        t += self.us(300, 1500)
        hsk = opaque_long(r, self.version, "handshake", self.scid, self.ccid, 90)
        cini = long_packet(self.ckeys, "initial", self.scid, self.ccid, len(ini),
                           ack_frame(0), size=size - len(hsk))
        self.dgram(t, "c2s", cini + hsk)
        # server: HANDSHAKE_DONE, NEW_TOKEN, SETTINGS in a 1-RTT packet
        t += self.rtt + self.us(100, 600)
        self.dgram(t, "s2c", short_header(r, self.ccid, r.randint(180, 260)))
        return t

    def send(self, t, d, n, rate_bps=40e6):
        """n bytes of HTTP/3 data in full-size 1-RTT packets; up to GRO_PKTS of
        them are written as one merged, truncated datagram, which the receiver
        ACKs.  Returns the time of the last packet."""
        r = self.rng
        mtu = MAX_S2C if d == "s2c" else MAX_C2S
        dcid = self._dcid(d)
        ovh = 1 + len(dcid) + 2 + TAG + 5               # header, pn, tag, STREAM frame header
        per = mtu - ovh
        npk = max(1, -(-n // per))
        wire = n + npk * ovh
        o = "s2c" if d == "c2s" else "c2s"
        last = t
        while wire > 0:
            k = min(wire, GRO_PKTS * mtu)
            if k <= mtu:
                self.dgram(t, d, short_header(r, dcid, max(k, 24)))
            else:
                hl = len(self.p.eth[d]) + (40 if self.p.v6 else 20) + 8
                self.dgram(t, d, short_header_prefix(r, dcid, F.TRUNC - hl), plen=k)
            wire -= k
            at = t + (self.us(30, 90) if d == "s2c" else self.rtt + self.us(1, 20))
            self.dgram(at, o, short_header(r, self._dcid(o), r.randint(30, 45)))   # ACK
            last = max(last, at)
            if wire > 0:
                t += max(1000, int(k / rate_bps * 1e9) // 1000 * 1000)
        return last

    def exchange(self, t, req, resp, delay_us=(5000, 60000), rate_bps=40e6):
        t = self.send(t, "c2s", req, rate_bps)
        t += self.rtt + self.us(*delay_us)
        if resp:
            t = self.send(t, "s2c", resp, rate_bps)
        return t

    def idle(self, t, until, every_s=15):
        """Keep-alive while the connection waits: a PING from the client every
        ~15 s (Chrome's ping timeout) and the server's ACK.  Returns the time."""
        while until - t > every_s * 10**9:
            t += every_s * 10**9 + self.us(0, 200000)
            self.dgram(t, "c2s", short_header(self.rng, self.scid, self.rng.randint(30, 40)))
            t += self.rtt + self.us(50, 400)
            self.dgram(t, "s2c", short_header(self.rng, self.ccid, self.rng.randint(30, 40)))
        return t

    def close(self, t):
        """The client's CONNECTION_CLOSE (no answer)."""
        self.dgram(t, "c2s", short_header(self.rng, self.scid, self.rng.randint(40, 60)))
        return t


# --------------------------------------------------------------------------
# Self-test: RFC 9001 Appendix A, RFC 9369 Appendix A.1
# --------------------------------------------------------------------------

_A2_CRYPTO = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004130113"
    "02010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce1"
    "5d43e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806"
    "048000ffff")
# sha256 of the 1200-byte protected client Initial of RFC 9001 A.2, and its
# first and last 32 bytes (the whole packet is in tests/unit/test-app-quic.c)
_A2_SHA256 = "73fa0210cb4a5a17dc10b9dc98e5cc359ba1c20fe7c0e93a9e1dcb473c37e097"
_A2_HEAD = "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
_A2_TAIL = "8b4c8d169a44e55c88d4a9a7f9474241e221af44860018ab0856972e194cd934"


def selftest(full_vector=None):
    dcid = bytes.fromhex("8394c8f03e515708")
    c = Keys(V1, dcid)
    assert (c.key.hex(), c.iv.hex(), c.hp.hex()) == (
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
        "9f50449e04a0e810283a1e9933adedd2"), "RFC 9001 A.1 client keys"
    s = Keys(V1, dcid, server=True)
    assert (s.key.hex(), s.iv.hex(), s.hp.hex()) == (
        "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e",
        "c206b8d9b9f0f37644430b490eeaa314"), "RFC 9001 A.1 server keys"
    v2 = Keys(V2, dcid)
    assert (v2.key.hex(), v2.iv.hex(), v2.hp.hex()) == (
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
        "45b95e15235d6f45a6b19cbcb0294ba9"), "RFC 9369 A.1 client keys"
    # A.2: packet number 2 in 4 bytes, the CRYPTO frame padded to 1162 bytes
    pkt = long_packet(c, "initial", dcid, b"", 2, _A2_CRYPTO, pn_len=4, size=1200)
    assert len(pkt) == 1200
    assert pkt[:32].hex() == _A2_HEAD, "RFC 9001 A.2 header / first bytes"
    assert pkt[-32:].hex() == _A2_TAIL, "RFC 9001 A.2 last bytes (tag)"
    assert hashlib.sha256(pkt).hexdigest() == _A2_SHA256, "RFC 9001 A.2 protected packet"
    if full_vector is not None:
        assert pkt == full_vector, "RFC 9001 A.2 protected packet (unit test copy)"
    return pkt


def _vector_from_unit_test():
    """The whole A.2 packet from tests/unit/test-app-quic.c, if present."""
    import re
    p = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "unit",
                     "test-app-quic.c")
    try:
        src = open(p).read()
    except OSError:
        return None
    m = re.search(r"rfc9001_a2_protected\[1200\] = \{(.*?)\};", src, re.S)
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1))) if m else None


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        vec = _vector_from_unit_test()
        pkt = selftest(vec)
        print("quicpkt selftest ok: RFC 9001 A.1 keys (client, server), RFC 9369 A.1 keys, "
              "A.2 protected Initial %s (sha256 %s)"
              % ("identical to the unit test's 1200 bytes" if vec else "head/tail match",
                 hashlib.sha256(pkt).hexdigest()[:16]))
    else:
        print(__doc__)
