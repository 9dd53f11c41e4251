#!/usr/bin/python3
"""QUIC scoring scenario for mailtap (quic.pcap) and the QUIC/TLS pair
captures of tests/quic.

    /usr/bin/python3 pcaps/gen/quicscen.py --out build/scenarios        # quic.pcap
    /usr/bin/python3 pcaps/gen/quicscen.py --pair DIR                   # pair-tls/pair-quic

quic.pcap: a small organisation over three days (Mon-Wed, learning Mon+Tue)
built from scenarios.py's behaviours, whose Gmail web users reach
mail.google.com over HTTP/3 (QUIC v1 on UDP 443, Chrome-like client
Initials from quicpkt.py), plus two incidents on Wednesday over QUIC: a
bulk upload and a bulk download through Gmail web.  Described in
pcaps/scenarios/README.md.

The pair captures hold the same sessions (same host, server, request and
response sizes) once over TLS/TCP and once over QUIC, for tests/quic/run-tier.sh.

Deterministic: random.Random seeded with fixed strings, fixed times, and the
QUIC connection IDs and key shares come from those generators.  Nothing is
sent on a network.  The existing captures (scenarios.py) are not changed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastpkt as F    # noqa: E402
import quicpkt as Q    # noqa: E402
import scenarios as SC  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
S = SC.S
at, us, hm = SC.at, SC.us, SC.hm

GEN_FILES = ("scenarios.py", "fastpkt.py", "generate.py", "quicpkt.py", "quicscen.py")
QUIC_NAMES = {"mail.google.com", "outlook.office.com"}
SC.PROFILE_NOTE.setdefault(
    "chrome_quic", "Chromium over QUIC (HTTP/3: h3, TLS 1.3 suites only, transport "
                   "parameters; X25519MLKEM768 key share, so the hello spans two Initials)")


def generator_sha256():
    hsh = hashlib.sha256()
    for f in GEN_FILES:
        with open(os.path.join(HERE, f), "rb") as fh:
            hsh.update(fh.read())
    return hsh.hexdigest()


class QCtx(SC.Ctx):
    """scenarios.Ctx whose web sessions from a QUIC host go over QUIC."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.quic_sessions = 0
        self.incidents_by_id = {}

    def session(self, h, t, name, port, profile, alpn, exchanges, *, sni=True, rng=None,
                tag=None, rate=40e6, close_by="c2s", dns=True, server=None, quic=None):
        r = rng or h.rng
        if quic is None:
            share = getattr(h, "quic", 0.0)
            quic = bool(share) and name in QUIC_NAMES and port == 443 and sni and \
                (share >= 1 or r.random() < share)
        if not quic:
            return super().session(h, t, name, port, profile, alpn, exchanges, sni=sni, rng=rng,
                                   tag=tag, rate=rate, close_by=close_by, dns=dns, server=server)
        version = getattr(h, "quic_version", Q.V1)
        pq = getattr(h, "quic_pq", True)
        prov, service = SC._catalog_service(name, port)
        if dns:
            t, sip = self.dns(h, t, name, r)
            t += r.randint(200, 900) * 1000
        else:
            sip = server or SC.NAMES[name][2 if h.v6 else 1][0]
        hello, ja4 = Q.client_hello(r, name, ["h3"], "chrome_quic", pq=pq, version=version)
        key = (h.ip, prov, service)
        k = (prov, service, name, port, ja4)
        c = h.clients.get(k)
        if c is None:
            c = h.clients[k] = {"provider": prov, "service": service, "sni": name,
                                "dns_name": name, "server_port": port, "ja4": ja4,
                                "tls_profile": "chrome_quic", "first": t, "last": t,
                                "sessions": 0, "transport": "quic",
                                "quic_version": "2" if version == Q.V2 else "1"}
        c["last"] = t
        c["sessions"] += 1
        p = F.Path(self.out, h.ip, sip, h.vlan, h.cttl, SC.SERVER_TTL[prov], self.ipid)
        rtt = SC.RTT_MS[prov] * 1000 + r.randint(-1500, 1500)
        conn = Q.Conn(p, h.next_port(r), port, r, rtt, self.stats, key,
                      ("incident", tag) if tag else None, version=version)
        t = conn.handshake(t, hello, cert_bytes=r.randint(3600, 4400))
        for gap_ms, req, resp in exchanges:
            t2 = t + int(gap_ms * 1000) * 1000 + r.randint(0, 900) * 1000
            conn.idle(t, t2)
            t = conn.exchange(t2, req, resp, rate_bps=rate)
        t += r.randint(50000, 400000) * 1000
        conn.close(t)
        self.quic_sessions += 1
        if tag:
            inc = self.incidents_by_id[tag]
            inc["_first"] = min(inc.get("_first", conn.first), conn.first)
            inc["_last"] = max(inc.get("_last", conn.last), conn.last)
            inc["_sessions"] = inc.get("_sessions", 0) + 1
            inc.setdefault("_ja4", set()).add(ja4)
            inc.setdefault("_sni", set()).add(name)
            inc["_server_port"] = port
            inc["_dns_name"] = name
            inc["_transport"] = "quic"
        return conn.last


# --------------------------------------------------------------------------
# quic.pcap
# --------------------------------------------------------------------------

def scen_quic():
    ctx = QCtx("quic", "A small organisation over three days (Mon-Wed) whose Gmail web "
                       "users reach mail.google.com over HTTP/3 (QUIC v1, UDP 443, "
                       "Chrome-like Initials), besides Outlook, OWA and a phone over "
                       "TCP; two attacker hosts behave like QUIC Gmail users during "
                       "learning (Mon-Tue) and each has one incident over QUIC on "
                       "Wednesday: a bulk upload and a bulk download.")
    jobs = []

    def H(ip, role, fn, notes, quic=0.0, **kw):
        h = SC.Host(ctx, ip, role, notes=notes, **kw)
        h.quic = quic
        jobs.append((h, fn))
        return h

    def web(name, attach=None):
        return lambda c, h: SC.webmail(c, h, c.start, c.end, name=name, attach=attach)

    for ip in ("10.20.1.11", "10.20.1.12"):
        H(ip, "outlook_sync", lambda c, h: SC.outlook_sync(c, h, c.start, c.end, laptop=False),
          "Outlook desktop left on: syncs every ~5 min +-15 % around the clock (TCP)")
    H("10.20.1.15", "outlook_sync",
      lambda c, h: SC.outlook_sync(c, h, c.start, c.end, laptop=True),
      "Outlook on a laptop, in the office about 07:40-18:20 (TCP)")
    h = ctx.host("10.20.1.12")
    h.notes += "; also polls graph.microsoft.com every ~10 min +-20 % in working hours"
    jobs.append((h, lambda c, h: SC.graph_sync(c, h, c.start, c.end)))
    H("10.20.2.21", "webmail", web("outlook.office.com"),
      "OWA in working hours over TLS/TCP (its browser does not use QUIC)")
    for ip in ("10.20.2.24", "10.20.2.27"):
        H(ip, "webmail", web("mail.google.com"),
          "Gmail web in working hours, every session over QUIC (HTTP/3)", quic=1.0)
    H("10.20.2.25", "webmail", web("mail.google.com"),
      "Gmail web in working hours; ~80 % of the sessions over QUIC, the rest over "
      "TLS/TCP (Chrome's TCP fallback): the host has both a q13 and a t13 JA4", quic=0.8)
    H("fd00:20::12", "webmail", web("mail.google.com"),
      "Gmail web over QUIC on IPv6 only", quic=1.0)
    att = [at(2, 11, 15), 25_000_000, False]
    H("10.20.2.28", "occasional_attachment", web("mail.google.com", att),
      "Gmail web over QUIC; on Wednesday around 11:15 sends one 25 MB attachment inside "
      "an ordinary session (one large upload over QUIC: must not alert)", quic=1.0)
    H("10.20.8.31", "mobile_imap",
      lambda c, h: SC.mobile_imap(c, h, c.start, c.end, name="imap.gmail.com"),
      "Phone polling imap.gmail.com every 15 min +-20 s day and night (TCP)", cttl=64)

    def A(ip, fn, notes):
        h = SC.Host(ctx, ip, "attacker", baseline_role="webmail", notes=notes)
        h.quic = 1.0
        jobs.append((h, fn))
        return h

    up_t, down_t = at(2, 14, 0), at(2, 10, 0)
    A("10.20.2.61", web("mail.google.com"),
      "Gmail web over QUIC; uploads 250 MB through Gmail web over QUIC Wednesday %s"
      % hm(up_t))
    iid = SC.add_incident(
        ctx, id="quic-gmail-upload", kind="bulk_upload", host="10.20.2.61",
        provider="google", service="web",
        detail="~250 MB client->server to mail.google.com over QUIC (UDP 443, HTTP/3) in "
               "35 min, 3 connections, the host's usual Chrome QUIC JA4: exfiltration as "
               "webmail attachments (the QUIC twin of vlan-owa-upload)")
    jobs.append((ctx.host("10.20.2.61"), lambda c, h, i=iid: SC.harvest(
        c, h, i, up_t, 35, 250_000_000, name="mail.google.com", profile="chrome",
        conns=3, upload=True, resp_mean=5e6, rate=8e6)))
    A("10.20.2.62", web("mail.google.com"),
      "Gmail web over QUIC; downloads 300 MB through Gmail web over QUIC Wednesday %s"
      % hm(down_t))
    iid = SC.add_incident(
        ctx, id="quic-gmail-download", kind="bulk_download", host="10.20.2.62",
        provider="google", service="web",
        detail="~300 MB server->client from mail.google.com over QUIC (UDP 443, HTTP/3) in "
               "30 min, 3 connections, the host's usual Chrome QUIC JA4: a mailbox "
               "harvest through the web client (the QUIC twin of harvest-ews)")
    jobs.append((ctx.host("10.20.2.62"), lambda c, h, i=iid: SC.harvest(
        c, h, i, down_t, 30, 300_000_000, name="mail.google.com", profile="chrome",
        conns=3)))
    for h, fn in jobs:
        fn(ctx, h)
    return ctx


def _dump(lab, path):
    text = json.dumps(lab, indent=1)
    text = re.sub(r"\[\n\s+(\d+(?:,\n\s+\d+)*)\n\s+\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)
    assert json.loads(text) == lab
    with open(path, "w") as f:
        f.write(text + "\n")


def save(ctx, outdir):
    """scenarios.save, then the QUIC fields: generator hash over the five
    generator files, quic_sessions, each client's transport, each incident's."""
    SC.generator_sha256 = generator_sha256
    frames, size = SC.save(ctx, outdir)
    path = os.path.join(outdir, ctx.name + ".labels.json")
    lab = json.load(open(path))
    lab["generator"] = "pcaps/gen/quicscen.py"
    out = {}
    for k, v in lab.items():
        out[k] = v
        if k == "tcp_sessions":
            out["quic_sessions"] = ctx.quic_sessions
    lab = out
    lab["conventions"]["quic"] = (
        "QUIC sessions are UDP 443 flows: the client's Initials (one or two datagrams of "
        "1250 bytes, RFC 9001 protection, ClientHello with SNI in CRYPTO frames) and the "
        "server's Initial are written in full; Handshake and 1-RTT packets are opaque; bulk "
        "1-RTT data is up to 43 full-size packets merged into one UDP datagram (UDP GRO) "
        "with caplen %d and the full UDP/IP length; volume counts UDP payload bytes"
        % F.TRUNC)
    for h in lab["hosts"]:
        for c in h["clients"]:
            c.setdefault("transport", "tcp")
    trans = {i["id"]: i.get("_transport", "tcp") for i in ctx.incidents}
    for i in lab["incidents"]:
        i["transport"] = trans[i["id"]]
    _dump(lab, path)
    return frames, size


# --------------------------------------------------------------------------
# pair captures (tests/quic)
# --------------------------------------------------------------------------

# (host, name, version, pq, exchanges [(gap_ms, req, resp)]): the same sessions
# over TLS (pair-tls.pcap) and over QUIC (pair-quic.pcap)
PAIR = [
    ("10.20.2.24", "mail.google.com", Q.V1, True,
     [(5, 1500, 2_000_000), (3000, 800, 60_000), (20000, 250_000, 1200), (2000, 900, 45_000)]),
    ("fd00:20::12", "mail.google.com", Q.V1, True,
     [(5, 1200, 800_000), (40000, 700, 30_000)]),
    ("10.20.2.25", "mail.google.com", Q.V2, False,
     [(5, 1000, 5_000_000), (1000, 3_000_000, 900)]),
    ("10.20.2.26", "outlook.office.com", Q.V1, False,
     [(5, 1100, 300_000), (5000, 600, 12_000)]),
]


def scen_pair(quic):
    name = "pair-quic" if quic else "pair-tls"
    ctx = QCtx(name, "the same four web sessions over %s" % ("QUIC" if quic else "TLS/TCP"),
               start=SC.at(2, 0), end=SC.at(2, 1))
    for i, (ip, sname, ver, pq, ex) in enumerate(PAIR):
        h = SC.Host(ctx, ip, "webmail", notes="pair session %d" % i)
        h.quic_version, h.quic_pq = ver, pq
        r = random.Random("pair:%s" % ip)
        ctx.session(h, SC.at(2, 0, 5 * i + 1), sname, 443, "chrome", SC.ALPN_WEB, ex, rng=r,
                    quic=quic)
    return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", help="output directory for quic.pcap + quic.labels.json")
    g.add_argument("--pair", help="output directory for pair-tls.pcap and pair-quic.pcap")
    a = ap.parse_args()
    if a.pair:
        os.makedirs(a.pair, exist_ok=True)
        for quic in (False, True):
            t = time.time()
            ctx = scen_pair(quic)
            frames, size = save(ctx, a.pair)
            print("%-16s %8d frames %11d bytes %6.1f s" % (ctx.name + ".pcap", frames, size,
                                                           time.time() - t))
        return
    os.makedirs(a.out, exist_ok=True)
    t = time.time()
    ctx = scen_quic()
    frames, size = save(ctx, a.out)
    print("%-16s %8d frames %11d bytes %6.1f s" % ("quic.pcap", frames, size, time.time() - t))


if __name__ == "__main__":
    main()
