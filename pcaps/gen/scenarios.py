#!/usr/bin/python3
"""Labelled scoring scenarios for mailtap: three days of a small organisation's
cloud-mail traffic, benign only (quiet.pcap) or with incidents (incidents.pcap),
and one day without history whose incidents all start in the first hour
(firsthour.pcap).

    /usr/bin/python3 pcaps/gen/scenarios.py --out build/scenarios [--only NAME] [-j N]

Writes <name>.pcap and <name>.labels.json for each scenario into the output
directory (not into git: the captures are generated at test time).  The suite
is described in pcaps/scenarios/README.md.

Reuses generate.py's building blocks (ClientHello, server flight, DNS
messages, pcap writer, MACs, address classes) and fastpkt.py's struct-based
frame builder.  Deterministic: every random choice comes from random.Random
seeded with fixed strings, every time from fixed scenario times; two runs give
byte-identical files.  Nothing is sent on a network.
"""

import argparse
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as G  # noqa: E402
import fastpkt as F   # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

S = 10**9                                   # ns per second
T0 = G.utc_ns(2026, 3, 2, 0, 0, 0)          # Monday 00:00 UTC
HOURS = 72                                  # Mon, Tue, Wed
LEARN_H = 48                                # Mon + Tue: benign only
WORK = (8, 18)                              # Mon-Fri 08:00-18:00 UTC


def at(day, h, m=0, s=0):
    return T0 + ((day * 24 + h) * 3600 + m * 60 + s) * S


def us(x):
    """Round a float ns time to whole microseconds (pcap us resolution)."""
    return int(x) // 1000 * 1000


def is_work(t):
    sec = (t - T0) // S
    day, h = divmod(sec // 3600, 24)
    wd = (0 + day) % 7                       # T0 is a Monday
    return wd < 5 and WORK[0] <= h < WORK[1]


def rfc3339(t_ns):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_ns // S))


def lognorm(r, median, sigma):
    return int(median * math.exp(r.gauss(0, sigma)))


# --------------------------------------------------------------------------
# Names, addresses, services
# --------------------------------------------------------------------------

_CAT = json.load(open(os.path.join(REPO, "deploy", "catalog.json")))
_PROV_NETS = {}
for _p in _CAT["providers"]:
    for _e in _p["entries"]:
        for _c in _e.get("cidrs", []):
            _PROV_NETS.setdefault(_p["id"], []).append(ipaddress.ip_network(_c))
# Google publishes no client-access ranges in the catalog; goog.json (as in generate.py)
_PROV_NETS.setdefault("google", []).extend(ipaddress.ip_network(n) for n in G.RANGES["google"])


def _check_addr(provider, ip):
    a = ipaddress.ip_address(ip)
    assert any(a.version == n.version and a in n for n in _PROV_NETS[provider]), (provider, ip)


def _catalog_service(name, port):
    for p in _CAT["providers"]:
        for e in p["entries"]:
            if name in e.get("hosts", []) and str(port) in e["ports"]:
                return p["id"], e["ports"][str(port)]
    raise KeyError((name, port))


def _ms_chain(name, first_cname, site, ips, qtype):
    edge = "%s-efz.ms-acdc.office.com" % site
    ans = [(name, "CNAME", 60, first_cname)]
    if first_cname != "outlook.ms-acdc.office.com" and first_cname.endswith("office365.com"):
        ans.append((first_cname, "CNAME", 30, "outlook.ms-acdc.office.com"))
        first_cname = "outlook.ms-acdc.office.com"
    ans.append((first_cname, "CNAME", 20, edge))
    return ans + [(edge, qtype, 10, ip) for ip in ips]


# name -> (provider, v4 pool, v6 pool, answer builder(ips, qtype))
NAMES = {
    "outlook.office365.com": ("microsoft365",
                              ["52.97.146.162", "52.98.207.34", "40.99.150.82", "52.97.183.18"],
                              ["2603:1006:40::a2", "2603:1026:c02:2c::2"],
                              lambda ips, q: _ms_chain("outlook.office365.com",
                                                       "outlook.ha.office365.com", "FRA", ips, q)),
    "outlook.office.com": ("microsoft365", ["52.96.88.146", "40.97.156.114"],
                           ["2603:1036:301:8::2"],
                           lambda ips, q: _ms_chain("outlook.office.com",
                                                    "outlook.ha.office365.com", "AMS", ips, q)),
    "smtp.office365.com": ("microsoft365", ["52.98.59.2", "40.99.204.162"],
                           ["2603:1026:c06:1::2"],
                           lambda ips, q: _ms_chain("smtp.office365.com",
                                                    "smtp.ms-acdc.office.com", "FRA", ips, q)),
    "graph.microsoft.com": ("microsoft365", ["20.190.151.68", "40.126.32.134"],
                            ["2603:1006:2000::13"],
                            lambda ips, q: [
                                ("graph.microsoft.com", "CNAME", 300,
                                 "ags.privatelink.msidentity.com"),
                                ("ags.privatelink.msidentity.com", "CNAME", 300,
                                 "www.tm.ags.privatelink.msidentity.com")] +
                            [("www.tm.ags.privatelink.msidentity.com", q, 30, ip) for ip in ips]),
    "imap.gmail.com": ("google", ["142.251.9.108", "142.251.9.109"], ["2a00:1450:4013:c00::6c"],
                       lambda ips, q: [("imap.gmail.com", "CNAME", 300,
                                        "gmail-imap.l.google.com")] +
                       [("gmail-imap.l.google.com", q, 300, ip) for ip in ips]),
    "smtp.gmail.com": ("google", ["142.250.102.108", "142.250.102.109"],
                       ["2a00:1450:4013:c04::6d"],
                       lambda ips, q: [("smtp.gmail.com", "CNAME", 300,
                                        "gmail-smtp-msa.l.google.com")] +
                       [("gmail-smtp-msa.l.google.com", q, 300, ip) for ip in ips]),
    "mail.google.com": ("google", ["142.250.185.69", "142.250.185.37"],
                        ["2a00:1450:4001:82b::2005"],
                        lambda ips, q: [("mail.google.com", "CNAME", 300,
                                         "googlemail.l.google.com")] +
                        [("googlemail.l.google.com", q, 300, ip) for ip in ips]),
    "gmail.googleapis.com": ("google", ["142.250.186.74", "142.250.186.106"],
                             ["2a00:1450:4001:830::200a"],
                             lambda ips, q: [("gmail.googleapis.com", q, 300, ip) for ip in ips]),
}
for _n, (_prov, _v4, _v6, _) in NAMES.items():
    for _a in _v4 + _v6:
        _check_addr(_prov, _a)
SERVER_TTL = {"microsoft365": 113, "google": 57}
RTT_MS = {"microsoft365": 18, "google": 10}

# TLS client profiles beyond generate.py's schannel / chrome / nss
G.PROFILES.setdefault("ios", dict(
    ciphers=[0x1301, 0x1302, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xC02F, 0xCCA8, 0xC00A,
             0xC009, 0xC014, 0xC013, 0x009D, 0x009C, 0x0035, 0x002F, 0xC008, 0xC012, 0x000A],
    groups=[0x001D, 0x0017, 0x0018, 0x0019], shares=[0x001D], grease=True,
    sigalgs=[0x0403, 0x0804, 0x0401, 0x0503, 0x0203, 0x0805, 0x0805, 0x0501, 0x0806, 0x0601,
             0x0201]))
# CPython ssl.create_default_context() on OpenSSL 3 (imaplib, exchangelib, requests)
G.PROFILES.setdefault("python", dict(
    ciphers=[0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC024,
             0xC028, 0xC023, 0xC027, 0x009F, 0x009E, 0x006B, 0x0067, 0x00FF],
    groups=[0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104],
    shares=[0x001D], grease=False,
    sigalgs=[0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B, 0x0804, 0x0805,
             0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602],
    omit={0xFF01, 0x0005, 0x0012}, extra=[(0x0016, b""), (0x0031, b"")]))
# Postfix on OpenSSL 3 (the mail relay): OpenSSL's default cipher list
G.PROFILES.setdefault("postfix", dict(
    ciphers=[0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0x009F, 0xCCA9, 0xCCA8, 0xCCAA, 0xC02B,
             0xC02F, 0x009E, 0xC024, 0xC028, 0x006B, 0xC023, 0xC027, 0x0067, 0xC00A, 0xC014,
             0x0039, 0xC009, 0xC013, 0x0033, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F,
             0x00FF],
    groups=[0x001D, 0x0017, 0x001E, 0x0019, 0x0018], shares=[0x001D], grease=False,
    omit={0xFF01, 0x0005, 0x0012}, extra=[(0x0016, b"")]))

ALPN_WEB = ["h2", "http/1.1"]
PROFILE_NOTE = {
    "schannel": "Windows schannel (Outlook desktop, PowerShell)",
    "chrome": "Chromium browser (GREASE)",
    "nss": "NSS-like mail client (Android/Thunderbird-style)",
    "ios": "Apple iOS Mail-like (GREASE, different cipher list)",
    "python": "CPython ssl default context on OpenSSL 3 (script)",
    "postfix": "Postfix on OpenSSL 3 (mail relay)",
}


# --------------------------------------------------------------------------
# Capture context
# --------------------------------------------------------------------------

class Host:
    def __init__(self, ctx, ip, role, *, vlan=None, resolver=None, cttl=128, notes="",
                 baseline_role=None):
        self.ctx, self.ip, self.role, self.vlan, self.cttl = ctx, ip, role, vlan, cttl
        self.v6 = ":" in ip
        assert G.addr_class(ip) == "internal", ip
        if resolver is None:
            resolver = "fd00:20::53" if self.v6 else \
                ("192.168.50.53" if ip.startswith("192.168.") else "10.20.0.53")
        self.resolver = resolver
        self.notes = notes
        self.baseline_role = baseline_role
        self.rng = random.Random("%s:%s" % (ctx.name, ip))
        self.clients = {}          # (provider, service, sni, port, ja4) -> info
        self.presence = {}
        self._port = random.Random("%s:%s:ports" % (ctx.name, ip)).randint(49152, 60000)
        ctx.hosts.append(self)

    def next_port(self, r):
        """Ephemeral ports increase per connection (as Windows and Linux allocate them),
        so a 5-tuple is not reused within the run."""
        self._port += r.randint(1, 3)
        if self._port > 65535:
            self._port -= 65535 - 49152
        return self._port

    def day_presence(self, day):
        """(arrive, leave) ns for an office worker on that day (own seeded rng)."""
        if day not in self.presence:
            r = random.Random("%s:%s:presence:%d" % (self.ctx.name, self.ip, day))
            a = at(day, 7, 40) + int(r.uniform(0, 50 * 60)) * S
            lv = at(day, 17, 20) + int(r.uniform(0, 60 * 60)) * S
            self.presence[day] = (a, lv)
        return self.presence[day]

    def present(self, t):
        day = (t - T0) // (86400 * S)
        if (day % 7) >= 5:
            return False
        a, lv = self.day_presence(day)
        return a <= t < lv


class Ctx:
    def __init__(self, name, description, start=None, end=None, history_h=LEARN_H,
                 first_hour=False):
        """start/end: the capture's span (default Monday 00:00 -> Thursday 00:00);
        history_h: hours of benign-only traffic before the incident day (the labels'
        learning_* volume totals); first_hour: every incident starts in the capture's
        first hour, inside mailtap's learning period (firsthour.pcap)."""
        self.name, self.description = name, description
        self.start = START if start is None else start
        self.end = END if end is None else end
        self.history_h, self.first_hour = history_h, first_hour
        self.out = F.Out()
        self.stats = F.Stats(self.start, (self.end - self.start) // (3600 * S))
        self.ipid = {}
        self.hosts = []
        self.incidents = []
        self.sessions = 0

    def host(self, ip):
        return next(h for h in self.hosts if h.ip == ip)

    def dns(self, h, t, name, r):
        prov, v4, v6, build = NAMES[name]
        pool = list(v6 if h.v6 else v4)
        r.shuffle(pool)
        qtype = "AAAA" if h.v6 else "A"
        answers = build(pool, qtype)
        p = F.Path(self.out, h.ip, h.resolver, h.vlan, h.cttl, 64, self.ipid)
        u = F.Udp(p, r.randint(49152, 65535), 53)
        qid = r.getrandbits(16)
        u.dgram(t, "c2s", G.dns_message(qid, name, qtype, [], False))
        t += r.randint(900, 4000) * 1000
        u.dgram(t, "s2c", G.dns_message(qid, name, qtype, answers, True))
        return t, pool[0]

    def session(self, h, t, name, port, profile, alpn, exchanges, *, sni=True, rng=None,
                tag=None, rate=40e6, close_by="c2s", dns=True, server=None):
        """DNS lookup (unless dns=False), TCP + (STARTTLS) + TLS, exchanges
        [(gap_ms, req_bytes, resp_bytes)], FIN.  Returns the time of the last packet."""
        r = rng or h.rng
        prov, service = _catalog_service(name, port)
        if dns:
            t, sip = self.dns(h, t, name, r)
            t += r.randint(200, 900) * 1000
        else:
            sip = server or NAMES[name][2 if h.v6 else 1][0]
        ch, _ = G.client_hello(r, name if sni else None, alpn, profile)
        ja4 = F.ja4(ch)
        key = (h.ip, prov, service)
        k = (prov, service, name if sni else None, port, ja4)
        c = h.clients.get(k)
        if c is None:
            c = h.clients[k] = {"provider": prov, "service": service,
                                "sni": name if sni else None,
                                "dns_name": name, "server_port": port, "ja4": ja4,
                                "tls_profile": profile, "first": t, "last": t, "sessions": 0}
        c["last"] = t
        c["sessions"] += 1
        p = F.Path(self.out, h.ip, sip, h.vlan, h.cttl, SERVER_TTL[prov], self.ipid)
        rtt = RTT_MS[prov] * 1000 + r.randint(-1500, 1500)
        tcp = F.Tcp(p, h.next_port(r), port, r, rtt, self.stats, key,
                    ("incident", tag) if tag else None)
        t = tcp.open(t)
        if port == 587:
            t = tcp.smtp_starttls(t, name)
        t = tcp.tls(t, ch, G.server_flight(r, 0x001D, r.randint(3600, 4400)))
        for gap_ms, req, resp in exchanges:
            t += int(gap_ms * 1000) * 1000 + r.randint(0, 900) * 1000
            t = tcp.exchange(t, req, resp, rate_bps=rate)
        t += r.randint(50000, 400000) * 1000
        tcp.fin(t, close_by)
        self.sessions += 1
        if tag:
            inc = self.incidents_by_id[tag]
            inc["_first"] = min(inc.get("_first", tcp.first), tcp.first)
            inc["_last"] = max(inc.get("_last", tcp.last), tcp.last)
            inc["_sessions"] = inc.get("_sessions", 0) + 1
            inc.setdefault("_ja4", set()).add(ja4)
            inc.setdefault("_sni", set()).add(name if sni else None)
            inc["_server_port"] = port
            inc["_dns_name"] = name
        return tcp.last


# --------------------------------------------------------------------------
# Benign behaviours
# --------------------------------------------------------------------------

def outlook_sync(ctx, h, start, end, *, laptop, name="outlook.office365.com",
                 profile="schannel", heavy=False, interval=300):
    """Outlook desktop: one short TLS connection per sync, every ~5 min +-15 %,
    variable sizes; desktops sync around the clock, laptops only when present."""
    r = h.rng
    t = start + int(r.uniform(0, interval)) * S
    while t < end:
        if not laptop or h.present(t):
            work = is_work(t)
            if heavy and work:
                resp = int(r.uniform(2.0e6, 3.4e6))
            else:
                resp = lognorm(r, 40000 if work else 6000, 0.8) + 2000
            ex = [(5, r.randint(700, 2500), resp)]
            if work and r.random() < 0.04:                  # opens a mail with an attachment
                ex.append((r.randint(500, 8000), r.randint(800, 1500),
                           int(r.uniform(0.3e6, 3e6))))
            if work and r.random() < 0.02:                  # sends a mail with attachment
                ex.append((r.randint(500, 8000), int(r.uniform(20e3, 1.5e6)),
                           r.randint(900, 2500)))
            ctx.session(h, us(t), name, 443, profile, ALPN_WEB, ex)
        t += int(interval * r.uniform(0.85, 1.15)) * S


def graph_sync(ctx, h, start, end, interval=600):
    """An Outlook add-in / Teams-like poller of Graph: every ~10 min +-20 %, when present."""
    r = random.Random("%s:%s:graph" % (ctx.name, h.ip))
    t = start + int(r.uniform(0, interval)) * S
    while t < end:
        if h.present(t) and is_work(t):
            ctx.session(h, us(t), "graph.microsoft.com", 443, "schannel", ALPN_WEB,
                        [(5, r.randint(800, 1500), lognorm(r, 3000, 0.6) + 500)], rng=r)
        t += int(interval * r.uniform(0.8, 1.2)) * S


def webmail(ctx, h, start, end, *, name, mean_gap_min=25, attach=None):
    """Browser mail (OWA / Gmail web) in working hours: sessions of 4-15 requests."""
    r = h.rng
    day0 = (start - T0) // (86400 * S)
    day1 = (end - T0 - 1) // (86400 * S)
    for day in range(day0, day1 + 1):
        a, lv = h.day_presence(day)
        t = max(a, start) + int(r.uniform(0, 600)) * S
        while t < min(lv, end):
            n = r.randint(4, 15)
            ex = []
            for _ in range(n):
                resp = lognorm(r, 60000, 1.0) + 3000
                if r.random() < 0.05:
                    resp = int(r.uniform(1e6, 5e6))
                req = r.randint(600, 3000)
                if r.random() < 0.03:
                    req = int(r.uniform(100e3, 1e6))
                ex.append((r.randint(2000, 60000), req, resp))
            if attach and not attach[2] and a <= attach[0] < lv and t >= attach[0]:
                # the one large attachment of the run, inside an ordinary session
                t = attach[0]
                ex.insert(min(3, len(ex)), (20000, attach[1], r.randint(1500, 3000)))
                attach[2] = True
            last = ctx.session(h, us(t), name, 443, "chrome", ALPN_WEB, ex, rate=12e6)
            t = max(last, t) + int(r.expovariate(1.0 / (mean_gap_min * 60))) * S


def mobile_imap(ctx, h, start, end, *, name, profile="nss", interval=900, rng=None):
    """Phone mail app polling IMAP every 15 min +-20 s, day and night; near-identical
    tiny polls, sometimes a new mail."""
    r = rng or h.rng
    t = start + int(r.uniform(0, interval)) * S
    while t < end:
        work = is_work(t)
        ex = [(2, 230, 380 + r.randint(-4, 4)), (30, 42, 910 + r.randint(-8, 8)),
               (25, 80, 1150 + r.randint(-20, 20))]
        if r.random() < (0.10 if work else 0.02):
            ex.append((40, 90, lognorm(r, 40000, 1.0) + 2000))
        ex.append((20, 30, 90))
        last = ctx.session(h, us(t), name, 993, profile, ["imap"], ex, rng=r, rate=3e6)
        if name == "imap.gmail.com" and h.present(t) and r.random() < 0.04:
            # the user sends a mail from the phone: SMTP over implicit TLS (465)
            ctx.session(h, last + r.randint(5, 90) * S, "smtp.gmail.com", 465, profile, None,
                        [(2, 60, 180), (5, 90, 40), (5, lognorm(r, 30000, 1.2) + 500, 60),
                         (5, 30, 50)], rng=r, rate=3e6)
        t += (interval + int(r.uniform(-20, 20))) * S


def relay(ctx, h, start, end, *, name="smtp.office365.com"):
    """The organisation's mail relay (Postfix) submitting via SMTP/587 all day, every
    day: 1-3 messages per connection, a connection every 1-2 min (3-5 min at night)."""
    r = h.rng
    t = start + int(r.uniform(0, 60)) * S
    while t < end:
        work = is_work(t)
        ex = [(2, 80, 40)]
        for _ in range(r.randint(1, 3)):
            ex += [(5, 120, 80), (5, lognorm(r, 500000, 1.0) + 2000, 60)]
        ex.append((5, 30, 50))
        last = ctx.session(h, us(t), name, 587, "postfix", None, ex, rate=25e6)
        gap = r.uniform(60, 120) if work else r.uniform(180, 300)
        t = max(last, t + int(gap) * S)


# --------------------------------------------------------------------------
# Incidents
# --------------------------------------------------------------------------

def add_incident(ctx, **kw):
    kw.setdefault("also_acceptable_kinds", [])
    ctx.incidents.append(kw)
    ctx.incidents_by_id = {i["id"]: i for i in ctx.incidents}
    return kw["id"]


def harvest(ctx, h, tag, start, minutes, total, *, name, port=443, profile, alpn=ALPN_WEB,
            sni=True, conns=4, resp_mean=3e6, upload=False, rate=30e6):
    """Bulk transfer of about `total` bytes spread evenly over `minutes`, in `conns`
    consecutive connections of many request/response exchanges."""
    r = random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    n = max(1, int(total / resp_mean))
    sizes = [r.uniform(0.8, 1.2) for _ in range(n)]
    k = total / sum(sizes)
    sizes = [int(s * k) for s in sizes]
    sizes[-1] += total - sum(sizes)
    step = minutes * 60.0 / n
    per = -(-n // conns)
    t = start
    for c in range(conns):
        chunk = sizes[c * per:(c + 1) * per]
        if not chunk:
            break
        ex = []
        for i, s in enumerate(chunk):
            gap = 5 if i == 0 else step * 1000 * r.uniform(0.6, 1.0)
            ex.append((gap, s, r.randint(300, 900)) if upload else
                      (gap, r.randint(700, 1300), s))
        last = ctx.session(h, us(t), name, port, profile, alpn, ex, sni=sni, rng=r, tag=tag,
                           rate=rate)
        t = max(last + 2 * S, start + int((c + 1) * per * step) * S)


def drip(ctx, h, tag, start, hours, per_hour, *, name="outlook.office365.com",
         profile="schannel"):
    """Slow drip: an extra sync-like connection every ~5 min (+-15 %) pulling
    per_hour/12 +-25 % each: never a burst."""
    r = random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    t = start + int(r.uniform(10, 60)) * S
    end = start + hours * 3600 * S
    while t < end - 120 * S:
        ex = [(5, r.randint(700, 1500), int(per_hour / 12 * r.uniform(0.75, 1.25)))]
        ctx.session(h, us(t), name, 443, profile, ALPN_WEB, ex, rng=r, tag=tag, rate=8e6)
        t += int(300 * r.uniform(0.85, 1.15)) * S


def beacon(ctx, h, tag, start, hours, *, period=60, jitter=2, name="graph.microsoft.com"):
    """A script polling Graph: new connection every 60 s +-2 s, near-identical sizes."""
    r = random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    t = start
    end = start + hours * 3600 * S
    while t < end:
        ex = [(3, 1180 + r.randint(-6, 6), 2410 + r.randint(-15, 15))]
        ctx.session(h, us(t), name, 443, "schannel", None, ex, rng=r, tag=tag)
        t += int((period + r.uniform(-jitter, jitter)) * 1e6) * 1000


def smtp_push(ctx, h, tag, start, minutes, total, *, name="smtp.office365.com",
              profile="python", conns=6):
    """Bulk upload by SMTP submission: many ~5 MB messages over a few connections."""
    r = random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    n = int(total / 5e6)
    sizes = [int(5e6 * r.uniform(0.7, 1.3)) for _ in range(n)]
    sizes[-1] += total - sum(sizes)
    step = minutes * 60.0 / n
    per = -(-n // conns)
    t = start
    for c in range(conns):
        chunk = sizes[c * per:(c + 1) * per]
        ex = [(2, 80, 40)]
        for s in chunk:
            ex += [(step * 1000 * r.uniform(0.5, 0.9), 120, 80), (5, s, 60)]
        ex.append((5, 30, 50))
        last = ctx.session(h, us(t), name, 587, profile, None, ex, rng=r, tag=tag, rate=10e6)
        t = max(last + 2 * S, start + int((c + 1) * per * step) * S)


# --------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------

START, END = at(0, 0), at(3, 0)
DAY3 = at(2, 0)


def background(ctx):
    """Benign hosts shared by every scenario (each capture has its own seeds)."""
    hs = []

    def H(ip, role, fn, notes, **kw):
        h = Host(ctx, ip, role, notes=notes, **kw)
        hs.append((h, fn))
        return h

    for ip in ("10.20.1.11", "10.20.1.12", "10.20.1.13", "10.20.1.14"):
        H(ip, "outlook_sync", lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
          "Outlook desktop left on: syncs every ~5 min +-15 % around the clock "
          "(tiny at night), a few MB/hour in working hours")
    for ip in ("10.20.1.15", "10.20.1.16", "10.20.1.17", "10.20.1.18"):
        H(ip, "outlook_sync", lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=True),
          "Outlook on a laptop: syncs every ~5 min while in the office (about 07:40-18:20)")
    for ip in ("10.20.1.12", "10.20.1.16"):
        h = ctx.host(ip)
        h.notes += "; also polls graph.microsoft.com every ~10 min +-20 % in working hours"
        hs.append((h, lambda c, h: graph_sync(c, h, c.start, c.end)))
    H("10.20.1.19", "heavy_user",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False, heavy=True),
      "Shared-mailbox desktop: 2-3.4 MB per sync, ~30 MB/hour every working day: far above "
      "its peers, but stable (its own baseline)")
    for ip, name in (("10.20.2.21", "outlook.office.com"), ("10.20.2.22", "outlook.office.com"),
                     ("10.20.2.23", "outlook.office.com"), ("10.20.2.24", "mail.google.com"),
                     ("10.20.2.25", "mail.google.com")):
        H(ip, "webmail", (lambda n: lambda c, h: webmail(c, h, c.start, c.end, name=n))(name),
          "Browser mail on %s in working hours only" % name)
    H("10.20.8.31", "mobile_imap",
      lambda c, h: mobile_imap(c, h, c.start, c.end, name="imap.gmail.com"),
      "Phone polling imap.gmail.com every 15 min +-20 s day and night, near-identical "
      "tiny polls", cttl=64)
    H("10.20.8.32", "mobile_imap",
      lambda c, h: mobile_imap(c, h, c.start, c.end, name="outlook.office365.com"),
      "Phone polling outlook.office365.com:993 every 15 min +-20 s day and night", cttl=64)
    H("10.20.0.25", "relay", lambda c, h: relay(c, h, c.start, c.end),
      "Mail relay (Postfix) submitting to smtp.office365.com:587 all day every day: "
      "~50-90 MB/hour in working hours, ~25 MB/hour at night", cttl=64)
    H("10.30.5.11", "outlook_sync", lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop on VLAN 30 (802.1Q tagged)", vlan=30)
    H("10.30.5.12", "webmail",
      lambda c, h: webmail(c, h, c.start, c.end, name="outlook.office.com"),
      "OWA user on VLAN 30 (802.1Q tagged)", vlan=30)
    H("fd00:20::11", "outlook_sync", lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop on IPv6 only")
    H("fd00:20::12", "webmail", lambda c, h: webmail(c, h, c.start, c.end, name="mail.google.com"),
      "Gmail web user on IPv6 only")
    H("192.168.50.11", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=True),
      "Branch office laptop (own resolver 192.168.50.53)")
    H("192.168.50.12", "mobile_imap",
      lambda c, h: mobile_imap(c, h, c.start, c.end, name="imap.gmail.com"),
      "Branch office phone polling imap.gmail.com", cttl=64)

    # hard benign cases on day 3
    att = [at(2, 11, 15), 25_000_000, False]
    H("10.20.2.26", "occasional_attachment",
      lambda c, h: webmail(c, h, c.start, c.end, name="outlook.office.com", attach=att),
      "OWA user who, on Wednesday around 11:15, sends one 25 MB attachment inside an "
      "ordinary session (one large upload: must not alert)")
    H("10.20.1.40", "new_laptop",
      lambda c, h: outlook_sync(c, h, at(2, 8, 40), c.end, laptop=True),
      "New employee's laptop, first seen Wednesday ~08:40, ordinary Outlook sync with the "
      "organisation's usual Outlook JA4 (new host, ordinary volume: must not alert)")

    def phone(c, h):
        switch = at(2, 7, 10)
        r = random.Random("%s:%s:phone" % (c.name, h.ip))
        mobile_imap(c, h, c.start, switch, name="imap.gmail.com", profile="nss", rng=r)
        mobile_imap(c, h, switch + 200 * S, c.end, name="imap.gmail.com", profile="ios", rng=r)
    H("10.20.8.33", "new_phone", phone,
      "Phone polling imap.gmail.com; replaced on Wednesday 07:10 by a new phone (same "
      "address, iOS-like ClientHello: a JA4 never seen in the organisation) with the "
      "same ordinary polling (new JA4, ordinary volume: must not alert)", cttl=64)
    return hs


def scen_quiet():
    ctx = Ctx("quiet", "Benign only: three days (Mon-Wed) of a small organisation's "
                       "Microsoft 365 and Gmail traffic, including the hard benign cases "
                       "(relay, heavy user, night-time polling, one large attachment, a "
                       "new laptop and a new phone on day 3). No host may alert.")
    ctx.incidents_by_id = {}
    for h, fn in background(ctx):
        fn(ctx, h)
    return ctx


# When each incident starts: (incidents.pcap, firsthour.pcap).  incidents.pcap has
# them on Wednesday after two learning days; firsthour.pcap (Wednesday only, no
# history) has every one start in its first hour, 00:10-00:50, at night.
WHEN = {
    "harvest-ews": (at(2, 10, 0), at(2, 0, 15)),
    "slow-drip": (at(2, 8, 0), at(2, 0, 10)),
    "smtp-push": (at(2, 14, 0), at(2, 0, 25)),
    "graph-beacon": (at(2, 9, 0), at(2, 0, 10)),
    "night-burst": (at(2, 2, 30), at(2, 0, 30)),
    "python-ews": (at(2, 11, 0), at(2, 0, 20)),
    "nosni-harvest": (at(2, 13, 0), at(2, 0, 35)),
    "ipv6-gmail-api": (at(2, 15, 0), at(2, 0, 40)),
    "vlan-owa-upload": (at(2, 16, 0), at(2, 0, 45)),
    "night-new-imap": (at(2, 3, 10), at(2, 0, 50)),
}


def hm(t):
    return time.strftime("%H:%M", time.gmtime(t // S))


def attackers(ctx, jobs):
    """The ten attacker hosts and their incidents (incidents.pcap, firsthour.pcap).
    Each host behaves like its baseline_role over the whole capture; the incident
    starts at WHEN[id] (firsthour: in the first hour, at night, so "off_hours" is
    also acceptable for every incident there)."""
    fh = ctx.first_hour

    def W(iid):
        return WHEN[iid][1 if fh else 0]

    def A(ip, baseline_role, fn, notes, **kw):
        h = Host(ctx, ip, "attacker", baseline_role=baseline_role, notes=notes, **kw)
        jobs.append((h, fn))
        return h

    def I(**kw):
        if fh:
            also = kw.setdefault("also_acceptable_kinds", [])
            if kw["kind"] != "off_hours" and "off_hours" not in also:
                also.append("off_hours")
            kw["detail"] += ("; firsthour.pcap: starts %s UTC (night) in the first hour of a "
                             "run without history, inside the learning period" % hm(W(kw["id"])))
        return add_incident(ctx, **kw)

    def span(iid, minutes):
        return "%s-%s" % (hm(W(iid)), hm(W(iid) + minutes * 60 * S))

    # 1: mailbox harvesting over EWS, same client as usual, pure volume
    A("10.20.1.51", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop; EWS mailbox harvest Wednesday %s" % hm(W("harvest-ews")))
    iid = I(id="harvest-ews", kind="bulk_download", host="10.20.1.51",
            provider="microsoft365", service="web",
            detail="~600 MB from outlook.office365.com:443 in 30 min with the "
                   "host's usual Outlook (schannel) JA4; the host normally pulls "
                   "~1-2 MB/hour")
    jobs.append((ctx.host("10.20.1.51"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 30, 600_000_000, name="outlook.office365.com",
        profile="schannel", conns=3)))

    # 2: slow drip over 10 hours (incidents.pcap: the working day)
    A("10.20.1.52", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=True),
      "Outlook laptop; slow drip Wednesday %s" % (
          span("slow-drip", 600) if fh else "08:00-18:00"))
    iid = I(id="slow-drip", kind="bulk_download", host="10.20.1.52",
            provider="microsoft365", service="web",
            detail="25 MB/hour for 10 hours (~250 MB) from outlook.office365.com "
                   "in sync-sized connections every ~5 min (2.1 MB +-25 % each), "
                   "same JA4 as its Outlook: 10-20x its normal hourly volume, "
                   "never a burst, and below the heavy user's normal rate")
    jobs.append((ctx.host("10.20.1.52"), lambda c, h, i=iid: drip(
        c, h, i, W(i), 10, 25_000_000)))

    # 3: bulk upload by SMTP submission from an ordinary OWA user
    A("10.20.2.53", "webmail",
      lambda c, h: webmail(c, h, c.start, c.end, name="outlook.office.com"),
      "OWA user; pushes ~300 MB by SMTP submission Wednesday %s" % span("smtp-push", 60))
    iid = I(id="smtp-push", kind="bulk_upload", host="10.20.2.53",
            provider="microsoft365", service="smtp",
            also_acceptable_kinds=["new_client"],
            detail="~300 MB client->server to smtp.office365.com:587 (STARTTLS) in "
                   "one hour, ~5 MB messages over 6 connections, python-like JA4; "
                   "the host never used SMTP before, and the relay's stable "
                   "50-90 MB/hour makes the SMTP peer baseline high")
    jobs.append((ctx.host("10.20.2.53"), lambda c, h, i=iid: smtp_push(
        c, h, i, W(i), 60, 300_000_000)))

    # 4: low-volume beaconing to Graph
    A("10.20.1.54", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop; a script polls graph.microsoft.com every 60 s Wednesday %s"
      % span("graph-beacon", 360))
    iid = I(id="graph-beacon", kind="beaconing", host="10.20.1.54",
            provider="microsoft365", service="api",
            also_acceptable_kinds=["new_client"],
            detail="a new TLS connection to graph.microsoft.com every 60 s +-2 s "
                   "for 6 hours (~360), request 1180+-6 and response 2410+-15 "
                   "bytes of TLS payload, schannel hello without ALPN; ~1.5 MB in "
                   "total, so no volume signal; the host never used Graph")
    jobs.append((ctx.host("10.20.1.54"), lambda c, h, i=iid: beacon(
        c, h, i, W(i), 6)))

    # 5: night-time burst over Gmail web
    A("10.20.2.55", "webmail",
      lambda c, h: webmail(c, h, c.start, c.end, name="mail.google.com"),
      "Gmail web user; 150 MB burst Wednesday %s" % hm(W("night-burst")))
    iid = I(id="night-burst", kind="off_hours", host="10.20.2.55",
            provider="google", service="web",
            also_acceptable_kinds=["bulk_download"],
            detail="~150 MB from mail.google.com:443 between %s and %s UTC "
                   "with the host's usual Chromium JA4; the host is never active "
                   "at night" % tuple(span("night-burst", 20).split("-")))
    jobs.append((ctx.host("10.20.2.55"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 20, 150_000_000, name="mail.google.com", profile="chrome",
        conns=2)))

    # 6: new client fingerprint with volume
    A("10.20.1.56", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop; a python EWS client pulls 80 MB Wednesday %s" % hm(W("python-ews")))
    iid = I(id="python-ews", kind="new_client", host="10.20.1.56",
            provider="microsoft365", service="web",
            also_acceptable_kinds=["bulk_download"],
            detail="~80 MB from outlook.office365.com:443 in 30 min with a "
                   "CPython/OpenSSL JA4 never seen in the organisation, from a "
                   "host whose Outlook keeps syncing as usual")
    jobs.append((ctx.host("10.20.1.56"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 30, 80_000_000, name="outlook.office365.com", profile="python",
        alpn=["http/1.1"], conns=2, resp_mean=1e6)))

    # 7: harvest without SNI, identified by the client's DNS answer
    A("10.20.1.57", "outlook_sync",
      lambda c, h: outlook_sync(c, h, c.start, c.end, laptop=False),
      "Outlook desktop; harvest without SNI Wednesday %s" % hm(W("nosni-harvest")))
    iid = I(id="nosni-harvest", kind="bulk_download", host="10.20.1.57",
            provider="microsoft365", service="web",
            also_acceptable_kinds=["new_client"],
            detail="~400 MB in 40 min over TLS without server_name to an "
                   "outlook.office365.com address the host resolved just before "
                   "(the name is known only from DNS); the hello without SNI has a "
                   "JA4 starting t13i, new for this host")
    jobs.append((ctx.host("10.20.1.57"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 40, 400_000_000, name="outlook.office365.com",
        profile="schannel", sni=False, conns=4)))

    # 8: IPv6 host, Gmail API
    A("fd00:20::58", "webmail",
      lambda c, h: webmail(c, h, c.start, c.end, name="mail.google.com"),
      "Gmail web user on IPv6; Gmail API export Wednesday %s" % hm(W("ipv6-gmail-api")))
    iid = I(id="ipv6-gmail-api", kind="bulk_download", host="fd00:20::58",
            provider="google", service="api",
            also_acceptable_kinds=["new_client"],
            detail="~300 MB from gmail.googleapis.com:443 over IPv6 in 40 min "
                   "(Chromium JA4, new service for the host)")
    jobs.append((ctx.host("fd00:20::58"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 40, 300_000_000, name="gmail.googleapis.com",
        profile="chrome", conns=3)))

    # 9: VLAN-tagged host, webmail upload
    A("10.30.5.59", "webmail",
      lambda c, h: webmail(c, h, c.start, c.end, name="outlook.office.com"),
      "OWA user on VLAN 30; uploads 250 MB through OWA Wednesday %s"
      % hm(W("vlan-owa-upload")), vlan=30)
    iid = I(id="vlan-owa-upload", kind="bulk_upload", host="10.30.5.59",
            provider="microsoft365", service="web",
            detail="~250 MB client->server to outlook.office.com:443 in 45 min "
                   "(802.1Q VLAN 30, the host's usual Chromium JA4): exfiltration "
                   "as webmail attachments")
    jobs.append((ctx.host("10.30.5.59"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 45, 250_000_000, name="outlook.office.com", profile="chrome",
        conns=3, upload=True, resp_mean=5e6, rate=8e6)))

    # 10: never-seen host, night, IMAP: all three signals
    A("192.168.50.60", None, lambda c, h: None,
      "Never seen before: IMAP harvest of a Gmail mailbox Wednesday %s (branch office)"
      % hm(W("night-new-imap")), cttl=64)
    iid = I(id="night-new-imap", kind="bulk_download", host="192.168.50.60",
            provider="google", service="imap",
            also_acceptable_kinds=["off_hours", "new_client"],
            detail="~500 MB from imap.gmail.com:993 between %s and %s UTC by "
                   "a host never seen before, CPython imaplib JA4: bulk, night and "
                   "new at once" % tuple(span("night-new-imap", 30).split("-")))
    jobs.append((ctx.host("192.168.50.60"), lambda c, h, i=iid: harvest(
        c, h, i, W(i), 30, 500_000_000, name="imap.gmail.com", port=993,
        profile="python", alpn=None, conns=2)))


def scen_incidents():
    ctx = Ctx("incidents", "The same kind of organisation as quiet.pcap (own seeds) plus "
                           "ten attacker hosts; each behaves like an ordinary user during "
                           "the learning period (Mon-Tue) and has one labelled incident on "
                           "Wednesday or the night before.")
    ctx.incidents_by_id = {}
    jobs = background(ctx)
    attackers(ctx, jobs)
    for h, fn in jobs:
        fn(ctx, h)
    return ctx


def scen_firsthour():
    ctx = Ctx("firsthour", "The same organisation as incidents.pcap (own seeds) over one "
                           "day, Wednesday 00:00 -> Thursday 00:00 UTC, with no learning days "
                           "before it: mailtap starts without --state, and each of the ten "
                           "incidents of incidents.pcap (same host, role, service, volume, "
                           "client and identity) starts in the first hour (00:10-00:50, "
                           "night), inside the learning period.",
              start=DAY3, end=END, history_h=0, first_hour=True)
    ctx.incidents_by_id = {}
    jobs = background(ctx)
    attackers(ctx, jobs)
    for h, fn in jobs:
        fn(ctx, h)
    return ctx


def scen_demo():
    """A small office for `make demo`: a few ordinary users and two
    incidents, so the demo shows what mailtap reports in seconds."""
    ctx = Ctx("demo", "make demo: a small office over three days (Mon-Wed): Outlook "
                      "laptops, webmail users and a phone, plus a mailbox harvest on "
                      "Wednesday morning and a Graph polling script in the afternoon.")
    ctx.incidents_by_id = {}
    jobs = []

    def H(ip, role, fn, notes, **kw):
        jobs.append((Host(ctx, ip, role, notes=notes, **kw), fn))

    for ip in ("10.1.0.11", "10.1.0.12", "10.1.0.13"):
        H(ip, "outlook_sync", lambda c, h: outlook_sync(c, h, START, END, laptop=True),
          "Outlook on a laptop, in the office about 07:40-18:20")
    for ip, name in (("10.1.0.21", "outlook.office.com"), ("10.1.0.22", "mail.google.com")):
        H(ip, "webmail", (lambda n: lambda c, h: webmail(c, h, START, END, name=n))(name),
          "Browser mail on %s in working hours" % name)
    H("10.1.0.31", "mobile_imap",
      lambda c, h: mobile_imap(c, h, START, END, name="imap.gmail.com"),
      "Phone polling imap.gmail.com every 15 min day and night", cttl=64)
    h = Host(ctx, "10.1.0.66", "attacker", baseline_role="outlook_sync",
             notes="Outlook laptop; mailbox harvest Wednesday 10:00, then a Graph script")
    jobs.append((h, lambda c, h: outlook_sync(c, h, START, END, laptop=True)))
    iid = add_incident(ctx, id="demo-harvest", kind="bulk_download", host="10.1.0.66",
                       provider="microsoft365", service="web",
                       detail="~500 MB from outlook.office365.com in 30 min with the host's "
                              "usual Outlook JA4")
    jobs.append((h, lambda c, h, i=iid: harvest(
        c, h, i, at(2, 10, 0), 30, 500_000_000, name="outlook.office365.com",
        profile="schannel", conns=3)))
    iid = add_incident(ctx, id="demo-beacon", kind="beaconing", host="10.1.0.66",
                       provider="microsoft365", service="api",
                       also_acceptable_kinds=["new_client"],
                       detail="a script polls graph.microsoft.com every 60 s for 3 hours")
    jobs.append((h, lambda c, h, i=iid: beacon(c, h, i, at(2, 13, 0), 3)))
    for hh, fn in jobs:
        fn(ctx, hh)
    return ctx


SCENARIOS = {"quiet": scen_quiet, "incidents": scen_incidents, "firsthour": scen_firsthour,
             "demo": scen_demo}


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def generator_sha256():
    hsh = hashlib.sha256()
    for f in ("scenarios.py", "fastpkt.py", "generate.py"):
        with open(os.path.join(HERE, f), "rb") as fh:
            hsh.update(fh.read())
    return hsh.hexdigest()


class _Cap:
    ns = False

    class link:
        kind = "eth"


def save(ctx, outdir):
    recs = sorted(ctx.out.recs, key=lambda r: (r[0], r[1]))
    path = os.path.join(outdir, ctx.name + ".pcap")
    G.write_pcap(path + ".tmp", _Cap, recs)
    os.replace(path + ".tmp", path)

    def vol(key):
        a = ctx.stats.by.get(key)
        if a is None:
            return None
        down, up = a
        lh = ctx.history_h          # benign-only hours before Wednesday (firsthour: none)
        return {"toclient_hourly": down, "toserver_hourly": up,
                "learning_toclient_total": sum(down[:lh]),
                "learning_toserver_total": sum(up[:lh]),
                "learning_toclient_max_hour": max(down[:lh], default=0),
                "learning_toserver_max_hour": max(up[:lh], default=0),
                "day3_toclient_total": sum(down[lh:]), "day3_toserver_total": sum(up[lh:])}

    hosts = []
    for h in ctx.hosts:
        clients = []
        for c in sorted(h.clients.values(), key=lambda c: (c["first"], c["server_port"])):
            e = dict(c)
            e["first_seen"] = rfc3339(e.pop("first"))
            e["last_seen"] = rfc3339(e.pop("last"))
            e["tls_profile_note"] = PROFILE_NOTE[e["tls_profile"]]
            clients.append(e)
        svcs = sorted({(c["provider"], c["service"]) for c in h.clients.values()})
        hosts.append({
            "ip": h.ip, "role": h.role, "benign": h.role != "attacker",
            "baseline_role": h.baseline_role,
            "vlan": [h.vlan] if h.vlan else None, "resolver": h.resolver,
            "notes": h.notes, "clients": clients,
            "volume": [dict(provider=p, service=s, **vol((h.ip, p, s))) for p, s in svcs
                       if vol((h.ip, p, s))]})
    incidents = []
    for i in ctx.incidents:
        a = ctx.stats.by.get(("incident", i["id"]), [[0], [0]])
        h = ctx.host(i["host"])
        incidents.append({
            "id": i["id"], "kind": i["kind"],
            "also_acceptable_kinds": i["also_acceptable_kinds"],
            "host": i["host"], "vlan": [h.vlan] if h.vlan else None,
            "provider": i["provider"], "service": i["service"],
            "sni": sorted(i["_sni"], key=str)[0], "dns_name": i["_dns_name"],
            "server_port": i["_server_port"],
            "ja4": sorted(i["_ja4"]),
            "start": rfc3339(i["_first"]), "end": rfc3339(i["_last"] + S - 1),
            "alert_deadline": rfc3339(i["_last"] + S - 1 + 1800 * S),
            "sessions": i["_sessions"],
            "payload_bytes_toclient": sum(a[0]), "payload_bytes_toserver": sum(a[1]),
            "detail": i["detail"]})
    if ctx.first_hour:
        # mailtap's default --learning: 24 h of packet time from the first packet; it
        # covers the whole capture, incidents included
        learning = {"start": rfc3339(recs[0][0]), "end": rfc3339(recs[0][0] + 24 * 3600 * S),
                    "hours": 24,
                    "note": "mailtap's default learning period (24 h from the first packet; "
                            "it now gates only novelty and the host's own baseline); no "
                            "history before it, every incident starts in its first hour"}
    else:
        learning = {"start": rfc3339(START), "end": rfc3339(START + LEARN_H * 3600 * S),
                    "hours": LEARN_H,
                    "note": "benign traffic only; every incident starts after it"}
    lab = {
        "file": ctx.name + ".pcap",
        "generator": "pcaps/gen/scenarios.py",
        "generator_sha256": generator_sha256(),
        "description": ctx.description,
        "start": rfc3339(ctx.start), "end": rfc3339(ctx.end),
        "first_ts_us": recs[0][0] // 1000, "last_ts_us": recs[-1][0] // 1000,
        "first_hour": ctx.first_hour,
        "learning": learning,
        "working_hours": {"days": "Mon-Fri", "start": "08:00", "end": "18:00", "tz": "UTC"},
        "frames": len(recs), "wire_bytes": sum(r[3] for r in recs),
        "truncated_frames": sum(1 for r in recs if len(r[2]) < r[3]),
        "tcp_sessions": ctx.sessions,
        "conventions": {
            "bulk frames": "application data is written as GRO-sized TCP segments (IP total "
                           "length up to ~63 kB) with caplen %d and the full on-wire len; "
                           "handshakes, ClientHellos, the ServerHello, SMTP/STARTTLS "
                           "prelude and DNS are captured in full" % F.TRUNC,
            "volume": "payload bytes (TCP payload from the IP length) per host x provider x "
                      "service per hour of packet time since start (index 0 = %s "
                      "00:00 UTC); DNS not included%s" % (
                          time.strftime("%A", time.gmtime(ctx.start // S)),
                          "; no benign-only hours precede Wednesday, so the learning_* "
                          "totals and maxima are 0 and day3_* cover the whole capture"
                          if ctx.first_hour else ""),
            "incident window": "[start, end] = first and last packet of the incident's "
                               "sessions; an alert is expected by alert_deadline = end + 30 min" +
                               ("; first_hour: every incident starts in the capture's first "
                                "hour, inside the learning period (its alerts carry "
                                "learning: true)" if ctx.first_hour else ""),
            "benign": "hosts with benign=true must never alert; attacker hosts behave like "
                      "baseline_role outside their incident",
        },
        "hosts": hosts,
        "incidents": incidents,
    }
    text = json.dumps(lab, indent=1)
    # keep the hourly volume arrays on one line each
    text = re.sub(r"\[\n\s+(\d+(?:,\n\s+\d+)*)\n\s+\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)
    assert json.loads(text) == lab
    with open(os.path.join(outdir, ctx.name + ".labels.json"), "w") as f:
        f.write(text + "\n")
    return len(recs), os.path.getsize(path)


def run_one(args):
    name, outdir = args
    t = time.time()
    ctx = SCENARIOS[name]()
    frames, size = save(ctx, outdir)
    return name, frames, size, time.time() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS),
                    help="generate only this scenario (repeatable)")
    ap.add_argument("-j", type=int, default=min(2, os.cpu_count() or 1),
                    help="parallel processes (default 2)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    names = a.only or ["quiet", "incidents", "firsthour"]
    jobs = [(n, a.out) for n in names]
    if a.j > 1 and len(jobs) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(a.j, len(jobs))) as pool:
            res = pool.map(run_one, jobs)
    else:
        res = [run_one(j) for j in jobs]
    for name, frames, size, dt in res:
        print("%-16s %8d frames %11d bytes %6.1f s" % (name + ".pcap", frames, size, dt))


if __name__ == "__main__":
    main()
