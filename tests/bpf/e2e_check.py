#!/usr/bin/python3
"""e2e_check.py MODE DUMP.jsonl OFFLINE.jsonl FILESIZE NFLOWS

Checks what mailtap-bpfdump saw on the server's veth during the
end-to-end test (run-tier.sh) against the offline path on a tcpdump
capture of the same link and against what the server sent:

- NFLOWS TLS flows 198.18.0.1:* -> 198.18.0.2:443, one flow_start each,
  at least one flow_end (FIN/RST) each;
- payload bytes per direction equal to the offline path's (both count the
  IP total length, so GSO super-packets agree); packets and frame bytes
  equal too, except that TC counts a GSO super-packet as gso_segs packets
  plus their headers (kernel >= offline then); XDP sees ingress only
  (client -> server);
- server -> client payload = FILESIZE + TLS handshake and record overhead
  (between FILESIZE and FILESIZE + 16 KiB);
- the first client segment of every flow is a TLS ClientHello carrying
  the SNI outlook.office365.com;
- no ring-buffer loss, no short or foreign records.
Prints ok/FAIL lines.
"""
import json
import sys

mode, dump, offline, size, nflows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fails = []


def check(name, cond, why):
    if cond:
        print(f"ok e2e-{mode}-{name}")
    else:
        print(f"FAIL e2e-{mode}-{name}: {why}")


recs = [json.loads(l) for l in open(dump) if l.startswith("{")]
flows = {r["a_port"]: r for r in recs if r["event"] == "flow" and r["proto"] == "TCP"
         and r["a_ip"] == "198.18.0.1" and r["b_ip"] == "198.18.0.2" and r["b_port"] == 443}
starts = [r for r in recs if r["event"] == "flow_start"]
ends = [r for r in recs if r["event"] == "flow_end"]
pays = [r for r in recs if r["event"] == "payload"]
stats = [r for r in recs if r["event"] == "stats"]
off = {}
for l in open(offline):
    o = json.loads(l)
    if o["proto"] == "TCP" and o["dest_port"] == 443 and o["src_ip"] == "198.18.0.1":
        off.setdefault(o["src_port"], []).append(o)

check("flows", len(flows) == nflows, f"{len(flows)} TLS flows in the map, expected {nflows}")
check("flow-start", len({r["a_port"] for r in starts}) == nflows and len(starts) == nflows,
      f"{len(starts)} flow_start records for {len({r['a_port'] for r in starts})} flows")
check("flow-end", all(any(e["a_port"] == p for e in ends) for p in flows),
      f"flows without flow_end: {[p for p in flows if not any(e['a_port'] == p for e in ends)]}")

why = []
for port, f in flows.items():
    if f["client"] != "a":
        why.append(f"{port}: client is {f['client']}")
    o = off.get(port)
    if not o or len(o) != 1:
        why.append(f"{port}: {len(o or [])} offline records")
        continue
    o = o[0]
    dirs = [("ab", "toserver")] if mode.startswith("xdp") else [("ab", "toserver"), ("ba", "toclient")]
    for k, u in dirs:
        if f[f"payload_bytes_{k}"] != o[f"payload_bytes_{u}"]:
            why.append(f"{port} payload_{k} {f[f'payload_bytes_{k}']} != offline {o[f'payload_bytes_{u}']}")
        if mode == "tc":
            okp = f[f"pkts_{k}"] >= o[f"pkts_{u}"] and f[f"bytes_{k}"] >= o[f"bytes_{u}"]
        else:
            okp = f[f"pkts_{k}"] == o[f"pkts_{u}"] and f[f"bytes_{k}"] == o[f"bytes_{u}"]
        if not okp:
            why.append(f"{port} {k}: pkts {f[f'pkts_{k}']} bytes {f[f'bytes_{k}']} vs offline "
                       f"{o[f'pkts_{u}']} {o[f'bytes_{u}']}")
    if mode.startswith("xdp") and (f["pkts_ba"] or f["bytes_ba"]):
        why.append(f"{port}: XDP counted egress traffic")
    if mode == "tc" and not (size <= f["payload_bytes_ba"] <= size + 16384):
        why.append(f"{port}: server sent {f['payload_bytes_ba']} payload bytes for a {size}-byte file")
check("counts", not why and flows, "; ".join(why[:4]) or "no flows")

sni = "outlook.office365.com".encode().hex()
hello = [p for p in pays if p["seg_no"] == 0]
bad = [p["a_port"] for p in hello if not (p["data_hex"].startswith("1603") and sni in p["data_hex"])]
check("clienthello", len(hello) == nflows and not bad and {p["a_port"] for p in hello} == set(flows),
      f"{len(hello)} first segments, without SNI: {bad}")
check("client-dir", all(p["dir"] == "ab" for p in pays), "payload records from the server side")

s = stats[-1] if stats else {}
check("no-loss", s and s["rb_full"] == 0 and s["user_short"] == 0 and s["user_bad_abi"] == 0
      and s["user_unknown"] == 0 and s["flow_map_full"] == 0,
      f"stats {s}")
