#!/usr/bin/python3
"""gen_bulk.py OUT.pcap -- a small capture that makes mailtap alert on its
first day: one internal host downloads 100 MB from Outlook on the web in
ten minutes (a mailbox harvest) while a neighbour reads Gmail.  Frames come
from pcaps/gen/fastpkt.py (GRO-sized segments, truncated), so it is quick
(about a second) and deterministic."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "pcaps", "gen"))
import fastpkt as F  # noqa: E402
import generate as G  # noqa: E402


class _Cap:
    ns = False

    class link:
        kind = "eth"


def session(out, r, t, host, server, sni, resp, profile="schannel", exchanges=1):
    p = F.Path(out, host, server)
    tcp = F.Tcp(p, r.randint(49152, 65535), 443, r, 18000)
    t = tcp.open(t)
    ch, _ = G.client_hello(r, sni, ["h2", "http/1.1"], profile)
    t = tcp.tls(t, ch, G.server_flight(r, 0x001D, 4200))
    for _ in range(exchanges):
        t = tcp.exchange(t + 50_000_000, 2000, resp)
    return tcp.fin(t + 300_000_000)


def main():
    out = F.Out()
    r = random.Random("formats-bulk")
    T = G.utc_ns(2026, 3, 4, 10, 0, 0)
    for i in range(5):
        session(out, r, T + i * 120 * 10**9, "10.1.0.66", "52.97.146.162",
                "outlook.office365.com", 20_000_000)
    session(out, r, T + 30 * 10**9, "10.1.0.12", "142.250.185.69", "mail.google.com",
            40_000, profile="chrome", exchanges=3)
    recs = sorted(out.recs, key=lambda x: (x[0], x[1]))
    G.write_pcap(sys.argv[1], _Cap, recs)


if __name__ == "__main__":
    main()
