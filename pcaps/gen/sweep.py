#!/usr/bin/python3
"""Parameter-sweep captures for mailtap's detection (pcaps/sweep/README.md).

    /usr/bin/python3 pcaps/gen/sweep.py --out DIR --size ci|full [-j N]

Writes learned.pcap (several days of an organisation, incidents on the last
day, after mailtap's default 24 h learning period) and dayone.pcap (a run
without history that starts at 08:00 on a Monday; every incident starts in
its first hour), each with <name>.labels.json.  The incidents are drawn from
ranges of behaviour (beacon period, jitter, per-connection size, duration;
bulk volume and duration) crossed with identity variants (IPv4 / IPv6 / VLAN,
SNI / DNS only / IP only, common / unique TLS client, workstation / never
seen host); every drawn parameter is recorded in the incident's label.

Reuses scenarios.py's building blocks (Ctx, Host, session(), dns(), the
benign behaviours, NAMES, the TLS profiles) by importing it; nothing in
scenarios.py is changed.  Deterministic (random.Random with fixed string
seeds, fixed times), nothing is sent on a network, the captures are
generated at test time (not in git).
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenarios as SC  # noqa: E402

G, F = SC.G, SC.F
S = SC.S
us, lognorm, at, is_work, rfc3339 = SC.us, SC.lognorm, SC.at, SC.is_work, SC.rfc3339
ALPN_WEB = SC.ALPN_WEB
T0 = SC.T0                                   # Monday 2026-03-02 00:00 UTC
MIN = 60 * S
HOUR = 3600 * S
DAY = 86400 * S

SIZES = {
    # hosts: benign background; learned_days: length of learned.pcap;
    # dayone_hours: length of dayone.pcap from Monday 08:00; per_class: incidents
    # per class per capture
    "ci": dict(hosts=100, learned_days=2, dayone_hours=20, per_class=4),
    "full": dict(hosts=300, learned_days=4, dayone_hours=30, per_class=12),
}

# --------------------------------------------------------------------------
# Names and profiles beyond scenarios.py (added to its tables in memory only)
# --------------------------------------------------------------------------

SC.NAMES.setdefault("pop.gmail.com", (
    "google", ["142.251.127.108", "142.251.127.109"], ["2a00:1450:4013:c03::6c"],
    lambda ips, q: [("pop.gmail.com", "CNAME", 300, "gmail-pop.l.google.com")] +
    [("gmail-pop.l.google.com", q, 300, ip) for ip in ips]))
for _a in SC.NAMES["pop.gmail.com"][1] + SC.NAMES["pop.gmail.com"][2]:
    SC._check_addr("google", _a)

# Go crypto/tls (a monitoring probe written in Go): its own JA4, seen from the
# start of every capture, never used by an attacker
G.PROFILES.setdefault("gotls", dict(
    ciphers=[0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009,
             0xC013, 0xC00A, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035, 0xC012, 0x000A],
    groups=[0x001D, 0x0017, 0x0018, 0x0019], shares=[0x001D], grease=False,
    sigalgs=[0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603,
             0x0201, 0x0203],
    omit={0x0012, 0x0023}))
PROFILE_NOTE = dict(SC.PROFILE_NOTE, gotls="Go crypto/tls (monitoring probe)")

# catalog ranges of the Microsoft 365 entries that list the port: IP-only identity
_MS_NETS = {}
for _p in SC._CAT["providers"]:
    if _p["id"] != "microsoft365":
        continue
    for _e in _p["entries"]:
        for _port in _e["ports"]:
            if "outlook.office365.com" in _e.get("hosts", []) or \
                    "smtp.office365.com" in _e.get("hosts", []):
                _MS_NETS.setdefault(int(_port), []).extend(
                    ipaddress.ip_network(c) for c in _e.get("cidrs", []))
_POOL_ADDRS = {a for v in SC.NAMES.values() for a in v[1] + v[2]}


def ip_only_server(r, port, v6):
    """An address in the catalog's published Microsoft 365 range for that port that no
    DNS answer in the capture ever names (so only the address range identifies it)."""
    nets = [n for n in _MS_NETS[port] if n.version == (6 if v6 else 4) and
            n.num_addresses >= 65536]
    while True:
        n = r.choice(nets)
        a = n.network_address + r.randrange(256, min(n.num_addresses, 1 << 24) - 256)
        if str(a) not in _POOL_ADDRS:
            SC._check_addr("microsoft365", str(a))
            return str(a)


def logu(r, lo, hi):
    return math.exp(r.uniform(math.log(lo), math.log(hi)))


def client_for(name, port, client):
    """(tls profile, ALPN) of a client that is common in the organisation for this
    endpoint, or unique (CPython ssl, never used by a benign host)."""
    if client == "unique":
        return ("python", ["http/1.1"]) if port == 443 else ("python", None)
    if port == 443:
        if name in ("outlook.office365.com", "graph.microsoft.com"):
            return "schannel", ALPN_WEB
        return "chrome", ALPN_WEB
    if port == 993:
        return "nss", ["imap"]
    if port == 995:
        return "nss", None
    if port == 587:
        return "postfix", None
    return "nss", None                          # 465: phones


# --------------------------------------------------------------------------
# Capture context: the scenario time base (T0 = Monday 00:00) with our span
# --------------------------------------------------------------------------

class Ctx(SC.Ctx):
    def __init__(self, name, description, start, end):
        super().__init__(name, description)
        self.start, self.end = start, end
        self.stats = F.Stats(T0, -(-(end - T0) // HOUR))
        self.incidents_by_id = {}


class Host(SC.Host):
    pass


# --------------------------------------------------------------------------
# Benign behaviours beyond scenarios.py
# --------------------------------------------------------------------------

def idle_phone(ctx, h, start, end, *, name):
    """Phone mail app with IMAP IDLE: one long-lived connection per hour or so (login,
    select, IDLE), renewed every ~9-10 min with a tiny DONE/IDLE exchange, now and then
    a new mail; then it reconnects."""
    r = random.Random("%s:%s:idle" % (ctx.name, h.ip))
    t = start + int(r.uniform(0, 600)) * S
    while t < end:
        ex = [(2, 230, 380 + r.randint(-4, 4)), (30, 42, 910 + r.randint(-8, 8)),
              (25, 80, 1150 + r.randint(-20, 20)), (10, 14, 30)]
        span = r.uniform(50, 70) * 60
        el = 0.0
        while True:
            g = r.uniform(540, 600)
            if el + g > span:
                break
            el += g
            if r.random() < (0.15 if is_work(t + int(el) * S) else 0.03):
                ex.append((g * 1000, 20, 60))                       # * EXISTS
                ex.append((200, 90, lognorm(r, 30000, 1.0) + 2000))  # fetch
                ex.append((100, 14, 30))                              # IDLE again
            else:
                ex.append((g * 1000, 8, 40 + r.randint(-2, 2)))       # DONE / IDLE
        ex.append((1000, 30, 90))
        last = ctx.session(h, us(t), name, 993, "nss", ["imap"], ex, rng=r, rate=3e6,
                           close_by="c2s")
        t = max(last, t) + int(r.uniform(1, 20)) * S


def pop_poller(ctx, h, start, end, *, name, interval):
    """POP3 client (995) polling every few minutes: USER/PASS/STAT/UIDL/QUIT, now and
    then a RETR of a new message."""
    r = random.Random("%s:%s:pop" % (ctx.name, h.ip))
    t = start + int(r.uniform(0, interval)) * S
    while t < end:
        ex = [(2, 16, 30), (10, 18, 40), (10, 6, 20), (10, 6, 120 + r.randint(0, 40))]
        if r.random() < (0.2 if is_work(t) else 0.04):
            ex.append((20, 10, lognorm(r, 25000, 1.0) + 1500))
        ex.append((10, 6, 20))
        ctx.session(h, us(t), name, 995, "nss", None, ex, rng=r, rate=3e6)
        t += (interval + int(r.uniform(-10, 10))) * S


def probe(ctx, h, start, end, *, name, port):
    """Monitoring probe: logs in every 5 min around the clock from the very start of
    the capture, near-identical sizes, its own (Go) client."""
    r = random.Random("%s:%s:probe" % (ctx.name, h.ip))
    t = start
    while t < end:
        if port == 993:
            ex = [(2, 230, 380 + r.randint(-1, 1)), (15, 42, 910 + r.randint(-2, 2)),
                  (10, 30, 90)]
        else:
            ex = [(2, 80, 40), (10, 60, 50 + r.randint(-1, 1)), (5, 30, 50)]
        ctx.session(h, us(t), name, port, "gotls", None, ex, rng=r, rate=5e6)
        t += int((300 + r.uniform(-1, 1)) * 1e6) * 1000


def backup(ctx, h, start, end):
    """Archiving host: a tiny health check every hour, and every night at 01:00-03:00 a
    pull of a few hundred MB to 2 GB from outlook.office365.com spread over an hour
    or more (the journal / archive export)."""
    r = random.Random("%s:%s:backup" % (ctx.name, h.ip))
    t = start + int(r.uniform(0, 300)) * S
    while t < end:
        ctx.session(h, us(t), "outlook.office365.com", 443, "schannel", ALPN_WEB,
                    [(5, r.randint(900, 1500), lognorm(r, 4000, 0.3) + 500)], rng=r)
        t += int(3600 * r.uniform(0.97, 1.03)) * S
    day = (start - T0) // DAY
    while True:
        t = at(day, 1) + int(r.uniform(0, 30 * 60)) * S
        minutes = r.uniform(60, 120)
        if t < start:
            day += 1
            continue
        if t + int(minutes * 60 + 1200) * S > end:
            break
        total = int(logu(r, 300e6, 2e9))
        transfer(ctx, h, None, t, minutes, total, name="outlook.office365.com", port=443,
                 profile="schannel", alpn=ALPN_WEB, conns=r.randint(2, 5), rng=r)
        day += 1


def list_server(ctx, h, start, end, *, name="smtp.gmail.com"):
    """Mailing-list server (Postfix/Mailman) submitting via SMTP/587 all day every day:
    many small messages, a connection every 30-120 s (3-10 min at night)."""
    r = random.Random("%s:%s:list" % (ctx.name, h.ip))
    t = start + int(r.uniform(0, 60)) * S
    while t < end:
        work = is_work(t)
        ex = [(2, 80, 40)]
        for _ in range(r.randint(2, 10) if work else r.randint(1, 3)):
            ex += [(5, 120, 80), (5, lognorm(r, 15000, 0.8) + 800, 60)]
        ex.append((5, 30, 50))
        last = ctx.session(h, us(t), name, 587, "postfix", None, ex, rng=r, rate=20e6)
        gap = r.uniform(30, 120) if work else r.uniform(180, 600)
        t = max(last, t + int(gap) * S)


def outlook_attach(ctx, h, start, end, when):
    """An Outlook desktop user who sends one or two large attachments (10-40 MB) in the
    run, each in an ordinary-looking extra session."""
    r = random.Random("%s:%s:attach" % (ctx.name, h.ip))
    SC.outlook_sync(ctx, h, start, end, laptop=False)
    for t in when:
        ctx.session(h, us(t), "outlook.office365.com", 443, "schannel", ALPN_WEB,
                    [(5, r.randint(800, 1500), r.randint(2000, 9000)),
                     (r.randint(2000, 9000), int(r.uniform(10e6, 40e6)),
                      r.randint(900, 2500))], rng=r, rate=6e6)


# --------------------------------------------------------------------------
# Incident traffic
# --------------------------------------------------------------------------

def transfer(ctx, h, tag, start, minutes, total, *, name, port, profile, alpn,
             conns=1, upload=False, sni=True, dns=True, server=None, rng=None):
    """About `total` bytes spread over `minutes` in `conns` consecutive connections of
    request/response exchanges (SMTP: messages).  Returns the last packet time."""
    r = rng or random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    smtp = port in (465, 587)
    n = max(int(math.ceil(total / (12e6 if smtp else 8e6))), int(minutes / 3), conns, 1)
    sizes = [r.uniform(0.7, 1.3) for _ in range(n)]
    k = total / sum(sizes)
    sizes = [max(1000, int(s * k)) for s in sizes]
    sizes[-1] += total - sum(sizes)
    step = minutes * 60.0 / n
    rate = max(30e6 if not upload else 10e6, 3.0 * total / (minutes * 60))
    per = -(-n // conns)
    t = start
    last = start
    for c in range(conns):
        chunk = sizes[c * per:(c + 1) * per]
        if not chunk:
            break
        ex = [(2, 80, 40)] if smtp else []
        for i, s in enumerate(chunk):
            # exchanges about every `step` seconds from start to end: the gap after
            # the previous exchange less the time this one takes on the wire
            gap = 5 if i == 0 else max(5.0, step * 1000 * r.uniform(0.92, 1.0) -
                                       s / rate * 1000)
            if smtp:
                ex += [(gap, 120, 80), (5, s, 60)]
            elif upload:
                ex.append((gap, s, r.randint(300, 900)))
            else:
                ex.append((gap, r.randint(400, 1300), s))
        if smtp:
            ex.append((5, 30, 50))
        last = ctx.session(h, us(t), name, port, profile, alpn, ex, sni=sni, dns=dns,
                           server=server, rng=r, tag=tag, rate=rate)
        t = max(last + 2 * S, start + int((c + 1) * per * step) * S)
    return last


def beacon(ctx, h, tag, start, p, *, name, port, profile, alpn, sni, dns, server):
    """A new TLS connection every interval_s (+- jitter * interval_s), each a small
    request and a response of bytes_per_conn (+-2 %), for `hours`."""
    r = random.Random("%s:%s:%s" % (ctx.name, h.ip, tag))
    t = start
    end = start + int(p["hours"] * 3600) * S
    req = r.randint(400, 2000)
    rate = 40e6
    while t < end:
        ex = [(3, req + r.randint(-req // 100, req // 100),
               int(p["bytes_per_conn"] * r.uniform(0.98, 1.02)))]
        ctx.session(h, us(t), name, port, profile, alpn, ex, sni=sni, dns=dns, server=server,
                    rng=r, tag=tag, rate=rate)
        t += int(p["interval_s"] * (1 + r.uniform(-p["jitter"], p["jitter"])) * 1e6) * 1000


# --------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------

class Alloc:
    """Addresses per family: benign hosts and attackers from separate blocks."""

    def __init__(self):
        self.n = {}

    def next(self, fam, attacker=False):
        k = (fam, attacker)
        i = self.n[k] = self.n.get(k, 0) + 1
        if fam == "v4":
            return ("10.20.%d.%d" % (200 + i // 200, 10 + i % 200)) if attacker else \
                "10.20.%d.%d" % (1 + i // 200, 10 + i % 200)
        if fam == "branch":
            return "192.168.50.%d" % ((200 + i) if attacker else (100 + i))
        if fam == "v6":
            return "fd00:20::%x:%x" % (0xad if attacker else 1, i)
        if fam == "vlan":
            return "10.30.5.%d" % ((200 + i) if attacker else (20 + i))
        raise ValueError(fam)


def pick_family(r):
    x = r.random()
    return "v4" if x < 0.72 else "branch" if x < 0.80 else "v6" if x < 0.90 else "vlan"


# role, ci count, full count (sums: 100, 300)
ROLES = [
    ("outlook_desktop", 20, 62), ("outlook_laptop", 22, 68), ("heavy_user", 2, 5),
    ("webmail_owa", 12, 36), ("webmail_gmail", 7, 22), ("attachment", 4, 10),
    ("idle_phone", 9, 26), ("mobile_imap", 9, 26), ("pop", 4, 10), ("probe", 1, 2),
    ("backup", 1, 2), ("list_server", 1, 1), ("relay", 2, 3), ("new_laptop", 6, 27),
]
for _s, _i in (("ci", 1), ("full", 2)):
    assert sum(x[_i] for x in ROLES) == SIZES[_s]["hosts"], _s
FIXED_V4 = {"probe", "backup", "list_server", "relay"}


def background(ctx, size, alloc):
    """The benign organisation: (host, behaviour) pairs."""
    r = random.Random("%s:background" % ctx.name)
    start, end = ctx.start, ctx.end
    nday = -(-(end - T0) // DAY)
    jobs = []
    col = 1 if size == "ci" else 2
    for kind_role, *counts in ROLES:
        for i in range(counts[col - 1]):
            role = kind_role
            fam = "v4" if role in FIXED_V4 else pick_family(r)
            ip = alloc.next(fam)
            kw = dict(vlan=30 if fam == "vlan" else None)
            if role in ("idle_phone", "mobile_imap", "pop", "probe", "backup", "list_server",
                        "relay"):
                kw["cttl"] = 64
            fn = notes = None
            if role in ("outlook_desktop", "outlook_laptop"):
                lap = role == "outlook_laptop"
                graph = r.random() < 0.25
                notes = ("Outlook on a laptop, syncs every ~5 min while in the office"
                         if lap else "Outlook desktop left on, syncs every ~5 min around "
                         "the clock") + ("; also polls Graph every ~10 min" if graph else "")
                fn = (lambda lap, graph: lambda c, h: (
                    SC.outlook_sync(c, h, start, end, laptop=lap),
                    graph and SC.graph_sync(c, h, start, end)))(lap, graph)
                role = "outlook_sync"
            elif role == "heavy_user":
                notes = "Shared-mailbox desktop: 2-3.4 MB per sync in working hours"
                fn = lambda c, h: SC.outlook_sync(c, h, start, end, laptop=False, heavy=True)
            elif role in ("webmail_owa", "webmail_gmail"):
                name = "outlook.office.com" if role == "webmail_owa" else "mail.google.com"
                notes = "Browser mail on %s in working hours" % name
                fn = (lambda n: lambda c, h: SC.webmail(c, h, start, end, name=n))(name)
                role = "webmail"
            elif role == "attachment":
                when = attach_times(r, start, end, nday, 1 + (i % 2))
                notes = "sends large attachments (10-40 MB) at %s" % ", ".join(
                    rfc3339(w) for w in when)
                if i % 2 == 0:
                    att = [when[0], int(r.uniform(10e6, 40e6)), False]
                    fn = (lambda att: lambda c, h: SC.webmail(
                        c, h, start, end, name="outlook.office.com", attach=att))(att)
                    notes = "OWA user who " + notes
                else:
                    fn = (lambda w: lambda c, h: outlook_attach(c, h, start, end, w))(when)
                    notes = "Outlook desktop user who " + notes
                role = "occasional_attachment"
            elif role == "idle_phone":
                name = r.choice(["imap.gmail.com", "outlook.office365.com"])
                notes = "Phone with IMAP IDLE on %s:993: one long connection per hour" % name
                fn = (lambda n: lambda c, h: idle_phone(c, h, start, end, name=n))(name)
            elif role == "mobile_imap":
                name = r.choice(["imap.gmail.com", "outlook.office365.com"])
                notes = "Phone polling %s:993 every 15 min day and night" % name
                fn = (lambda n: lambda c, h: SC.mobile_imap(c, h, start, end, name=n))(name)
            elif role == "pop":
                name = r.choice(["outlook.office365.com", "pop.gmail.com"])
                iv = r.randint(180, 600)
                notes = "POP3 client polling %s:995 every %d s" % (name, iv)
                fn = (lambda n, iv: lambda c, h: pop_poller(c, h, start, end, name=n,
                                                            interval=iv))(name, iv)
            elif role == "probe":
                name, port = (("outlook.office365.com", 993), ("smtp.office365.com", 587))[i % 2]
                notes = "Monitoring probe: logs in to %s:%d every 5 min from the start" % (
                    name, port)
                fn = (lambda n, p: lambda c, h: probe(c, h, start, end, name=n, port=p))(
                    name, port)
            elif role == "backup":
                notes = ("Archiving host: hourly health check; every night 01:00-03:00 "
                         "pulls 0.3-2 GB from outlook.office365.com over 1-2 h")
                fn = lambda c, h: backup(c, h, start, end)
            elif role == "list_server":
                notes = "Mailing-list server submitting to smtp.gmail.com:587 all day"
                fn = lambda c, h: list_server(c, h, start, end)
            elif role == "relay":
                notes = "Mail relay (Postfix) submitting to smtp.office365.com:587 all day"
                fn = lambda c, h: SC.relay(c, h, start, end)
            elif role == "new_laptop":
                d = r.randint(1, nday - 1) if nday > 1 and ctx.start == T0 else 0
                appear = max(start + 90 * MIN, at(d, 8, 30)) + int(r.uniform(0, 4 * 3600)) * S
                appear = min(appear, end - 3 * HOUR)
                notes = ("New laptop first seen %s: ordinary Outlook sync with the "
                         "organisation's usual JA4" % rfc3339(appear))
                fn = (lambda a: lambda c, h: SC.outlook_sync(c, h, a, end, laptop=True))(appear)
            h = Host(ctx, ip, role, notes=notes, **kw)
            jobs.append((h, fn))
    return jobs


def attach_times(r, start, end, nday, k):
    out = []
    for _ in range(k):
        for _try in range(50):
            d = r.randrange(nday)
            t = at(d, 10) + int(r.uniform(0, 6 * 3600)) * S
            if start + HOUR <= t <= end - 2 * HOUR and (d % 7) < 5:
                out.append(t)
                break
    return sorted(out)


# --------------------------------------------------------------------------
# Incidents
# --------------------------------------------------------------------------

CLASSES = ("beacon", "bulk_download", "bulk_upload")
KIND = {"beacon": ("beaconing", ["new_client", "bulk_download", "off_hours"]),
        "bulk_download": ("bulk_download", ["new_client", "off_hours", "beaconing"]),
        "bulk_upload": ("bulk_upload", ["new_client", "off_hours", "beaconing"])}
TARGETS = {
    # class -> (named targets, IP-only targets: Microsoft 365 endpoints with catalog ranges)
    "beacon": ([("graph.microsoft.com", 443), ("outlook.office365.com", 443),
                ("gmail.googleapis.com", 443), ("mail.google.com", 443)],
               [("outlook.office365.com", 443), ("outlook.office.com", 443)]),
    "bulk_download": ([("outlook.office365.com", 443), ("outlook.office.com", 443),
                       ("mail.google.com", 443), ("gmail.googleapis.com", 443),
                       ("imap.gmail.com", 993), ("outlook.office365.com", 993),
                       ("outlook.office365.com", 995), ("graph.microsoft.com", 443)],
                      [("outlook.office365.com", 443), ("outlook.office365.com", 993),
                       ("outlook.office365.com", 995), ("outlook.office.com", 443)]),
    "bulk_upload": ([("outlook.office.com", 443), ("mail.google.com", 443),
                     ("smtp.office365.com", 587), ("smtp.gmail.com", 465)],
                    [("outlook.office.com", 443), ("smtp.office365.com", 587)]),
}
BASELINES = ("outlook_desktop", "outlook_laptop", "webmail_owa", "webmail_gmail")


def balanced(r, values, n):
    out = [values[i % len(values)] for i in range(n)]
    r.shuffle(out)
    return out


def draw_incidents(ctx, kind, per_class):
    """Parameters of every incident of one capture (deterministic per capture)."""
    out = []
    for cls in CLASSES:
        r = random.Random("%s:draw:%s" % (ctx.name, cls))
        fams = balanced(r, ["ipv4", "ipv6", "vlan"], per_class)
        idents = balanced(r, ["sni", "dns", "ip"], per_class)
        clients = balanced(r, ["common", "unique"], per_class)
        actors = balanced(r, ["workstation", "never_seen"], per_class)
        for i in range(per_class):
            p = dict(family=fams[i], ident=idents[i], client=clients[i], actor=actors[i])
            named, iponly = TARGETS[cls]
            name, port = r.choice(iponly if p["ident"] == "ip" else named)
            p.update(name=name, port=port)
            if cls == "beacon":
                p["interval_s"] = round(logu(r, 60, 3600), 1)
                p["jitter"] = round(r.uniform(0, 0.10), 4)
                p["hours"] = round(logu(r, 1, 12), 3)
                conns = p["hours"] * 3600 / p["interval_s"]
                while True:              # keep a beacon's total at most 3 GB
                    p["bytes_per_conn"] = int(logu(r, 5e3, 20e6))
                    if conns * p["bytes_per_conn"] <= 3e9:
                        break
                p["total_bytes"] = int(conns * p["bytes_per_conn"])
                dur_s = p["hours"] * 3600
            else:
                p["total_bytes"] = int(logu(r, 50e6, 5e9))
                p["minutes"] = round(logu(r, 5, 480), 2)
                p["conns"] = 1 if r.random() < 0.3 else int(round(logu(r, 2, 12)))
                p["direction"] = "upload" if cls == "bulk_upload" else "download"
                dur_s = p["minutes"] * 60
            p["mb_per_hour"] = round(p["total_bytes"] / 1e6 / (dur_s / 3600), 3)
            if kind == "dayone":
                st = ctx.start + int(r.uniform(0, 50 * 60)) * S
            else:
                lo = at((ctx.end - T0) // DAY - 1, 0, 10)
                hi = ctx.end - int(dur_s + 3600) * S
                st = lo + int(r.uniform(0, max(0, (hi - lo) // S))) * S
            p["start_offset_min"] = round((st - ctx.start) / MIN, 1)
            p["baseline_role"] = r.choice(BASELINES) if p["actor"] == "workstation" else None
            out.append((cls, i, st, p))
    return out


def add_attackers(ctx, kind, per_class, alloc, jobs):
    start, end = ctx.start, ctx.end
    for cls, i, st, p in draw_incidents(ctx, kind, per_class):
        fam = {"ipv4": "v4", "ipv6": "v6", "vlan": "vlan"}[p["family"]]
        rr = random.Random("%s:attacker:%s:%d" % (ctx.name, cls, i))
        if fam == "v4" and rr.random() < 0.25:
            fam = "branch"
        ip = alloc.next(fam, attacker=True)
        iid = "%s-%s-%02d" % (kind, cls.replace("_", ""), i)
        base = p["baseline_role"]
        notes = "%s; incident %s" % (base or "no mail history before its incident", iid)
        h = Host(ctx, ip, "attacker", baseline_role={
            "outlook_desktop": "outlook_sync", "outlook_laptop": "outlook_sync",
            "webmail_owa": "webmail", "webmail_gmail": "webmail"}.get(base),
            vlan=30 if fam == "vlan" else None, notes=notes)
        if base in ("outlook_desktop", "outlook_laptop"):
            lap = base == "outlook_laptop"
            jobs.append((h, (lambda lap: lambda c, h: SC.outlook_sync(
                c, h, start, end, laptop=lap))(lap)))
        elif base:
            n = "outlook.office.com" if base == "webmail_owa" else "mail.google.com"
            jobs.append((h, (lambda n: lambda c, h: SC.webmail(c, h, start, end, name=n))(n)))
        k, also = KIND[cls]
        prov, service = SC._catalog_service(p["name"], p["port"])
        SC.add_incident(ctx, id=iid, kind=k, host=ip, provider=prov, service=service,
                        also_acceptable_kinds=list(also), cls=cls, params=p,
                        detail=describe(cls, p))
        profile, alpn = client_for(p["name"], p["port"], p["client"])
        sni = p["ident"] == "sni"
        dns = p["ident"] != "ip"
        server = ip_only_server(rr, p["port"], fam == "v6") if not dns else None
        p["server_ip"] = server
        p["tls_profile"] = profile
        if cls == "beacon":
            jobs.append((h, (lambda iid, st, p, profile, alpn, sni, dns, server:
                             lambda c, h: beacon(c, h, iid, st, p, name=p["name"],
                                                 port=p["port"], profile=profile, alpn=alpn,
                                                 sni=sni, dns=dns, server=server))(
                iid, st, p, profile, alpn, sni, dns, server)))
        else:
            jobs.append((h, (lambda iid, st, p, profile, alpn, sni, dns, server:
                             lambda c, h: transfer(
                                 c, h, iid, st, p["minutes"], p["total_bytes"],
                                 name=p["name"], port=p["port"], profile=profile, alpn=alpn,
                                 conns=p["conns"], upload=p["direction"] == "upload",
                                 sni=sni, dns=dns, server=server))(
                iid, st, p, profile, alpn, sni, dns, server)))


def describe(cls, p):
    who = ("a workstation (%s)" % p["baseline_role"]) if p["actor"] == "workstation" else \
        "a host with no mail history"
    how = {"sni": "with SNI", "dns": "without SNI (DNS answer just before)",
           "ip": "without SNI or DNS (catalog address range only)"}[p["ident"]]
    if cls == "beacon":
        return ("%s: a new TLS connection to %s:%d every %.0f s (+-%.1f %%) for %.2f h, "
                "%d bytes each, %s, %s client, %s" % (
                    who, p["name"], p["port"], p["interval_s"], p["jitter"] * 100,
                    p["hours"], p["bytes_per_conn"], how, p["client"], p["family"]))
    return ("%s: %.1f MB %s %s:%d over %.1f min in %d connection(s), %s, %s client, %s" % (
        who, p["total_bytes"] / 1e6, "up to" if p["direction"] == "upload" else "down from",
        p["name"], p["port"], p["minutes"], p["conns"], how, p["client"], p["family"]))


# --------------------------------------------------------------------------
# Captures
# --------------------------------------------------------------------------

def build(kind, size):
    cfg = SIZES[size]
    if kind == "learned":
        start = T0
        end = T0 + cfg["learned_days"] * DAY
        desc = ("%d days of an organisation of %d benign hosts; %d incidents per class on the "
                "last day, after mailtap's default 24 h learning period" % (
                    cfg["learned_days"], cfg["hosts"], cfg["per_class"]))
    else:
        start = at(0, 8)
        end = start + cfg["dayone_hours"] * HOUR
        desc = ("A run without history: %d h from Monday 08:00 of the same kind of "
                "organisation (own seeds); every incident (%d per class) starts in the first "
                "hour" % (cfg["dayone_hours"], cfg["per_class"]))
    ctx = Ctx("sweep-%s-%s" % (size, kind), desc, start, end)
    alloc = Alloc()
    jobs = background(ctx, size, alloc)
    add_attackers(ctx, kind, cfg["per_class"], alloc, jobs)
    for h, fn in jobs:
        fn(ctx, h)
    return ctx


def generator_sha256():
    hsh = hashlib.sha256()
    for f in ("sweep.py", "scenarios.py", "fastpkt.py", "generate.py"):
        with open(os.path.join(HERE, f), "rb") as fh:
            hsh.update(fh.read())
    return hsh.hexdigest()


def save(ctx, kind, size, outdir):
    recs = sorted(ctx.out.recs, key=lambda r: (r[0], r[1]))
    ctx.out.recs = []
    path = os.path.join(outdir, kind + ".pcap")
    G.write_pcap(path + ".tmp", SC._Cap, recs)
    os.replace(path + ".tmp", path)
    first, last = recs[0][0], recs[-1][0]
    hosts = []
    host_days = 0.0
    for h in ctx.hosts:
        clients = []
        for c in sorted(h.clients.values(), key=lambda c: (c["first"], c["server_port"])):
            e = dict(c)
            e["first_seen"] = rfc3339(e.pop("first"))
            e["last_seen"] = rfc3339(e.pop("last"))
            e["tls_profile_note"] = PROFILE_NOTE[e["tls_profile"]]
            clients.append(e)
        hf = min((c["first"] for c in h.clients.values()), default=None)
        hl = max((c["last"] for c in h.clients.values()), default=None)
        days = round((last - hf) / DAY, 4) if hf is not None else 0.0
        benign = h.role != "attacker"
        if benign:
            host_days += days
        vol = []
        for key in sorted({(c["provider"], c["service"]) for c in h.clients.values()}):
            a = ctx.stats.by.get((h.ip,) + key)
            if a:
                vol.append({"provider": key[0], "service": key[1],
                            "toclient_total": sum(a[0]), "toserver_total": sum(a[1]),
                            "toclient_max_hour": max(a[0]), "toserver_max_hour": max(a[1])})
        hosts.append({"ip": h.ip, "role": h.role, "benign": benign,
                      "baseline_role": h.baseline_role,
                      "vlan": [h.vlan] if h.vlan else None, "resolver": h.resolver,
                      "notes": h.notes,
                      "first_seen": rfc3339(hf) if hf else None,
                      "last_seen": rfc3339(hl) if hl else None,
                      "days_present": days, "clients": clients, "volume": vol})
    incidents = []
    for i in ctx.incidents:
        a = ctx.stats.by.get(("incident", i["id"]), [[0], [0]])
        h = ctx.host(i["host"])
        p = i["params"]
        incidents.append({
            "id": i["id"], "class": i["cls"], "kind": i["kind"],
            "also_acceptable_kinds": i["also_acceptable_kinds"],
            "host": i["host"], "vlan": [h.vlan] if h.vlan else None,
            "provider": i["provider"], "service": i["service"],
            "sni": sorted(i["_sni"], key=str)[0],
            "dns_name": i["_dns_name"] if p["ident"] != "ip" else None,
            "server_port": i["_server_port"], "server_ip": p["server_ip"],
            "ja4": sorted(i["_ja4"]),
            "start": rfc3339(i["_first"]), "end": rfc3339(i["_last"] + S - 1),
            "alert_deadline": rfc3339(i["_last"] + S - 1 + 1800 * S),
            "start_ts_us": i["_first"] // 1000, "end_ts_us": i["_last"] // 1000,
            "sessions": i["_sessions"],
            "payload_bytes_toclient": sum(a[0]), "payload_bytes_toserver": sum(a[1]),
            "params": p, "detail": i["detail"]})
    lab = {
        "file": kind + ".pcap",
        "kind": kind,
        "size": size,
        "generator": "pcaps/gen/sweep.py",
        "generator_sha256": generator_sha256(),
        "description": ctx.description,
        "start": rfc3339(ctx.start), "end": rfc3339(ctx.end),
        "first_ts_us": first // 1000, "last_ts_us": last // 1000,
        "learning": {"start": rfc3339(first), "end": rfc3339(first + 24 * HOUR),
                     "hours": 24,
                     "note": "mailtap's default --learning (24 h of packet time from the "
                             "first packet); learned.pcap has every incident after it, "
                             "dayone.pcap has every incident in its first hour"},
        "working_hours": {"days": "Mon-Fri", "start": "08:00", "end": "18:00", "tz": "UTC"},
        "frames": len(recs), "wire_bytes": sum(r[3] for r in recs),
        "truncated_frames": sum(1 for r in recs if len(r[2]) < r[3]),
        "tcp_sessions": ctx.sessions,
        "benign_hosts": sum(1 for h in hosts if h["benign"]),
        "benign_host_days": round(host_days, 3),
        "conventions": {
            "benign_host_days": "sum over benign hosts of (last packet of the capture - the "
                                "host's first session) in days",
            "incident window": "[start, end] = first and last packet of the incident's "
                               "sessions; an alert is expected by alert_deadline = end + 30 min",
            "params": "every drawn parameter of the incident: family (ipv4/ipv6/vlan), ident "
                      "(sni / dns: no SNI, DNS answer just before / ip: no SNI, no DNS, "
                      "catalog address range), client (common in the organisation / unique), "
                      "actor (workstation with mail history / never_seen); beacon: "
                      "interval_s, jitter (fraction of the interval), bytes_per_conn, hours; "
                      "bulk: total_bytes, minutes, conns",
            "benign": "hosts with benign=true must never alert; attacker hosts behave like "
                      "baseline_role outside their incident (none when never_seen)",
        },
        "hosts": hosts,
        "incidents": incidents,
    }
    with open(os.path.join(outdir, kind + ".labels.json.tmp"), "w") as f:
        json.dump(lab, f, indent=1)
        f.write("\n")
    os.replace(os.path.join(outdir, kind + ".labels.json.tmp"),
               os.path.join(outdir, kind + ".labels.json"))
    return len(recs), os.path.getsize(path)


def run_one(args):
    kind, size, outdir = args
    t = time.time()
    c = time.process_time()
    ctx = build(kind, size)
    frames, nbytes = save(ctx, kind, size, outdir)
    return kind, frames, nbytes, time.time() - t, time.process_time() - c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--size", choices=sorted(SIZES), default="ci")
    ap.add_argument("--only", action="append", choices=["learned", "dayone"],
                    help="generate only this capture (repeatable)")
    ap.add_argument("-j", type=int, default=min(2, os.cpu_count() or 1),
                    help="parallel processes (default 2)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    jobs = [(k, a.size, a.out) for k in (a.only or ["learned", "dayone"])]
    if a.j > 1 and len(jobs) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(a.j, len(jobs))) as pool:
            res = pool.map(run_one, jobs)
    else:
        res = [run_one(j) for j in jobs]
    for kind, frames, nbytes, dt, cpu in res:
        print("%-14s %9d frames %12d bytes %6.1f s (%.1f s CPU)" % (
            kind + ".pcap", frames, nbytes, dt, cpu))


if __name__ == "__main__":
    main()
