#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check_live.py MODE LIVE.jsonl REF.jsonl FILESIZE [REF_DROPS] -- the live tier's checks.

LIVE.jsonl: the session records `mailtap -i IF --capture MODE` wrote.
REF.jsonl:  `mailtap -r` on the tcpdump capture of the same link (the
            offline path, exact per frame as tcpdump saw them).
FILESIZE:   bytes of the file every client downloaded.
REF_DROPS:  packets tcpdump reported "dropped by kernel": the reference is
            then incomplete and the payload/frames comparisons say so.

The tier's clients made four TLS connections: three to outlook.office365.com
on 198.18.0.2:443 (two curl, one openssl s_client) and one to
mail.testmail.example on 198.18.0.3:993 (curl, address learned from a DNS
answer).  Checked, one "ok"/"FAIL" line each:

  sessions   four mail sessions, one per client connection, no others
  ident      SNI and provider of each; the 993 flow also has dns_name
  payload    payload bytes per direction equal to the offline path on the
             tcpdump capture (both take the IP total length)
  frames     packets and wire bytes: equal to the capture for pcap and
             ebpf-xdp; for ebpf-tc at least the capture's, and the extra
             bytes are headers of the extra packets, 54 to 94 bytes each
             (TC counts a GSO super-packet as gso_segs packets plus their
             headers; tcpdump records it as one frame)
  app-bytes  server->client payload within [FILESIZE, FILESIZE + 64 KiB]: TLS
             records add ~1-2 %, and retransmissions on a loaded host add
             more (they count as payload on the wire, as in Zeek)
             (TLS handshake and record overhead), client->server within
             [200, 4 KiB] (ClientHello, Finished, one HTTP request)
  end        end_reason "fin" (both FINs, then the 5 s close linger ran out
             on the capture clock before SIGTERM)
"""
import json
import sys


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                if r.get("event_type") == "session" and r.get("dest_port") in (443, 993):
                    out.append(r)
    return out


def main():
    mode, live_p, ref_p, fsize = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ref_drops = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    live, ref = load(live_p), load(ref_p)
    fails = 0

    def ok(name):
        print(f"ok {mode}:{name}")

    def bad(name, why):
        nonlocal fails
        fails += 1
        print(f"FAIL {mode}:{name}: {why}")

    key = lambda r: (r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"])
    lk = {key(r): r for r in live}
    rk = {key(r): r for r in ref}
    n443 = sum(1 for r in live if r["dest_port"] == 443)
    n993 = sum(1 for r in live if r["dest_port"] == 993)
    if len(live) == 4 and len(lk) == 4 and n443 == 3 and n993 == 1 and set(lk) == set(rk):
        ok("sessions")
    else:
        bad("sessions", f"live {len(live)} ({n443} to 443, {n993} to 993), reference {len(ref)}; "
            f"only live {sorted(set(lk) - set(rk))}, only reference {sorted(set(rk) - set(lk))}")

    why = []
    for r in live:
        if r["dest_port"] == 443:
            exp = ("outlook.office365.com", "microsoft365", "198.18.0.2")
        else:
            exp = ("mail.testmail.example", "testmail", "198.18.0.3")
        got = (r.get("sni"), r.get("provider"), r.get("dest_ip"))
        if got != exp:
            why.append(f"{r['src_port']}: {got} != {exp}")
        if r["dest_port"] == 993 and r.get("dns_name") != "mail.testmail.example":
            why.append(f"{r['src_port']}: dns_name {r.get('dns_name')!r}")
    if not live:
        why.append("no sessions")
    (bad("ident", "; ".join(why)) if why else ok("ident"))

    why, frames = [], []
    for k, r in lk.items():
        f = rk.get(k)
        if not f:
            continue
        for fld in ("payload_bytes_toserver", "payload_bytes_toclient"):
            if r[fld] != f[fld]:
                why.append(f"{k[1]} {fld} {r[fld]} != {f[fld]}")
        for d in ("toserver", "toclient"):
            lp, rp = r["pkts_" + d], f["pkts_" + d]
            lb, rb = r["bytes_" + d], f["bytes_" + d]
            if mode == "ebpf-tc":
                xp, xb = lp - rp, lb - rb
                good = xp >= 0 and 54 * xp <= xb <= 94 * xp
                if good and xp:
                    print(f"# {mode}: {k[1]} {d}: {lp} packets {lb} bytes, capture {rp} frames "
                          f"{rb} bytes (GSO: {xp} more packets, {xb} header bytes)")
            else:
                good = lp == rp and lb == rb
            if not good:
                frames.append(f"{k[1]} {d}: {lp} packets {lb} bytes vs capture {rp} frames {rb} bytes")
    if not lk:
        why.append("no sessions")
    if ref_drops and (why or frames):
        note = f"the reference tcpdump dropped {ref_drops} packets (machine overloaded?): "
        why = [note + "; ".join(why)] if why else why
        frames = [note + "; ".join(frames)] if frames else frames
    (bad("payload", "; ".join(why)) if why else ok("payload"))
    (bad("frames", "; ".join(frames)) if frames or not lk else ok("frames"))

    why = []
    for r in live:
        sc, cs = r["payload_bytes_toclient"], r["payload_bytes_toserver"]
        if not (fsize <= sc <= fsize + 65536):
            why.append(f"{r['src_port']} toclient {sc} not in [{fsize}, {fsize + 65536}]")
        if not (200 <= cs <= 4096):
            why.append(f"{r['src_port']} toserver {cs} not in [200, 4096]")
    if not live:
        why.append("no sessions")
    (bad("app-bytes", "; ".join(why)) if why else ok("app-bytes"))

    ends = sorted({r.get("end_reason") for r in live})
    (ok("end") if live and ends == ["fin"] else bad("end", f"end reasons {ends}"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
