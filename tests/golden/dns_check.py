#!/usr/bin/python3
"""dns_check.py DNS_DUMP PCAP... -- mailtap's DNS answers against tshark's.

DNS_DUMP is tests/tools/dns-dump.c built against libmailtap.a: it decodes each
frame with decode_packet() and prints what dns_response_parse() makes of every
UDP/TCP payload from source port 53 (TCP: each message dns_tcp_next() takes
off the segment), one JSON line per message.

The oracle is tshark 4.0 (-T pdml, IP defragmentation off so frames line up
with dns-dump, which does not reassemble fragments).  From tshark's tree we
take, per response, the question name, rcode, and the records of the ANSWER
section only (owner, type, class, TTL, address or CNAME target); tshark's
flat dns.a/dns.aaaa fields would mix in authority/additional glue, which
mailtap ignores on purpose.  From those records the script derives what
app-dns.h says mailtap must report: the CNAME chain from the question name
(class IN, any order, at most DNS_MAX_CNAMES links, a loop ends it) and the
class IN A/AAAA records whose owner is on the chain, in wire order, at most
DNS_MAX_ANSWERS.

Per capture:
  - every message mailtap parses OK must match a tshark response in the same
    frame (same position among the frame's responses): same question name
    (case-insensitive), rcode, CNAME chain and A/AAAA answers with TTLs
    (TTLs with the top bit set read as 0, RFC 2181);  a difference is a FAIL,
    whether or not tshark calls the frame malformed;
  - a message mailtap calls TRUNCATED/INVALID that tshark decodes without an
    error is a FAIL unless one of the expected reasons below explains it;
  - tshark responses mailtap does not see (IP fragments, DNS split across TCP
    segments) are counted.

Expected differences (not failures):
  - DNS_MAX_ANSWERS (32) / DNS_MAX_CNAMES (8): mailtap keeps the first ones
    and sets CAPPED; the oracle applies the same limits.
  - Names with a character outside a-z 0-9 '-' '_' (after lower-casing) are
    "bad" on purpose: a bad question name makes the message INVALID, a bad
    owner or CNAME target is never matched.  The oracle applies the same rule
    to tshark's text (tshark escapes unprintable bytes, so they show up as
    bad too).  A '.' inside a label cannot be told from a label boundary in
    tshark's text; no capture here has one.
  - IP fragments: dns-dump does not reassemble (decode_packet() does not; the
    app layer's own 32-slot reassembly is not exercised here).  The first
    fragment is reported "skipped"; tshark's view of the same partial message
    (defragmentation off) is counted, not compared.
  - DNS over TCP: mailtap parses only messages that start a segment; one
    split across segments (FRAME_TRUNCATED in dns-dump) is counted, and
    tshark's reassembled message in a later frame is not compared.
  - DNS inside ICMP error quotes: tshark decodes it, mailtap does not look.
  - tshark decodes a response to or from port 53; mailtap only from source
    port 53 (counted as "not from port 53").
  - tshark malformed, mailtap OK with the same data: mailtap checks only the
    rdata of IN A/AAAA/CNAME records, so e.g. a PTR target with a 0x40 label
    or a broken A6 record in the authority section (fuzz-2006-06-26-2594
    frames 345, 684) is not its concern; the answers it reports still agree.
  - tshark shows a name it cannot decode as "<Name too long>", "<Unknown
    extended label>" ...: such a response counts as malformed on tshark's
    side (malformed_dns.pcap: a 1252-byte second question name).

Prints ok/FAIL per capture and "#summary PASSED FAILED".
"""
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

DNS_MAX_ANSWERS = 32
DNS_MAX_CNAMES = 8
PI_ERROR = 0x00800000  # epan/proto.h: expert severity "Error"
GOOD_NAME = re.compile(r"^(\.|[a-z0-9_-]+(\.[a-z0-9_-]+)*)$")

# Messages mailtap rejects that tshark decodes without an error, and why
# (capture basename -> {frame: reason}).  Keep empty unless understood.
EXPECTED_REJECTS = {
}


def tshark_name(show):
    """tshark's text of a name -> mailtap's form (lower case, '.' for root)."""
    if show == "<Root>":
        return "."
    return show.lower()


def good(name):
    return bool(GOOD_NAME.match(name)) and len(name) <= 253


def walk_fields(elem):
    for f in elem.iter("field"):
        yield f


def parse_dns(proto):
    """One <proto name="dns"> element -> dict, or None for a query."""
    d = {"qnames": [], "answers": [], "rcode": None, "response": False, "opcode": None,
         "ancount": None}
    for f in proto.iter("field"):
        n = f.get("name")
        if n == "dns.flags.response":
            d["response"] = f.get("show") == "1"
        elif n == "dns.flags.rcode":
            d["rcode"] = int(f.get("show"), 0)
        elif n == "dns.flags.opcode":
            d["opcode"] = int(f.get("show"), 0)
        elif n == "dns.count.answers":
            d["ancount"] = int(f.get("show"), 0)
        elif n == "dns.qry.name":
            d["qnames"].append(f.get("show"))
    if not d["response"]:
        return None
    # the answer section: the unnamed subtree whose text is "Answers"
    for sec in proto.findall("field"):
        if sec.get("name") != "" or sec.get("show") != "Answers":
            continue
        for rr in sec.findall("field"):
            rec = {"name": None, "type": None, "class": None, "ttl": None, "data": None}
            for f in rr.iter("field"):
                n = f.get("name")
                if n == "dns.resp.name" and rec["name"] is None:
                    rec["name"] = tshark_name(f.get("show"))
                elif n == "dns.resp.type" and rec["type"] is None:
                    rec["type"] = int(f.get("show"), 0)
                elif n == "dns.resp.class" and rec["class"] is None:
                    rec["class"] = int(f.get("show"), 0) & 0x7fff
                elif n == "dns.resp.ttl" and rec["ttl"] is None:
                    rec["ttl"] = int(f.get("show"), 0)
                elif n in ("dns.a", "dns.aaaa") and rec["data"] is None:
                    rec["data"] = f.get("show")
                elif n == "dns.cname" and rec["data"] is None:
                    rec["data"] = tshark_name(f.get("show"))
            d["answers"].append(rec)
    return d


def tshark_responses(pcap):
    """frame -> {"dns": [responses], "error": bool, "l4": proto, "sport53": bool}"""
    p = subprocess.Popen(
        ["tshark", "-n", "-r", pcap, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
         "-Y", "dns.flags.response == 1", "-T", "pdml"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    frames = {}
    try:
        for _ev, pkt in ET.iterparse(p.stdout):
            if pkt.tag != "packet":
                continue
            num = None
            error = False
            icmp = False
            sport = None
            dns = []
            for proto in pkt.findall("proto"):
                pn = proto.get("name")
                if pn == "frame":
                    for f in proto.findall("field"):
                        if f.get("name") == "frame.number":
                            num = int(f.get("show"))
                elif pn in ("icmp", "icmpv6"):
                    icmp = True
                elif pn in ("udp", "tcp") and sport is None:
                    for f in proto.findall("field"):
                        if f.get("name") in ("udp.srcport", "tcp.srcport"):
                            sport = int(f.get("show"))
                elif pn == "_ws.malformed":
                    error = True
                elif pn == "dns":
                    r = parse_dns(proto)
                    if r is not None:
                        dns.append(r)
                for f in proto.iter("field"):
                    fn, show = f.get("name") or "", f.get("show") or ""
                    if fn == "_ws.expert.severity" and int(show, 0) >= PI_ERROR:
                        error = True
                    elif fn == "_ws.malformed":
                        error = True
                    elif pn == "dns" and fn.startswith("dns.") and show.startswith("<") \
                            and show.endswith(">") and show != "<Root>":
                        # "<Name too long>", "<Unknown extended label>", ...:
                        # tshark could not decode a name either
                        error = True
            if num is not None and dns and not icmp:
                frames[num] = {"dns": dns, "error": error, "sport53": sport == 53}
            pkt.clear()
    except ET.ParseError:
        pass  # a capture tshark stops reading (cut short): keep what we have
    p.stdout.close()
    p.wait()
    return frames


def expected(t):
    """What app-dns.h says mailtap reports for tshark's response t."""
    qname = tshark_name(t["qnames"][0]) if t["qnames"] else ""
    chain = [qname]
    recs = [r for r in t["answers"] if r["class"] == 1]
    if t["opcode"] != 0 or not t["qnames"]:
        return qname, [], []
    cnames = []
    # app-dns.c dns_chain_follow(): walk the section again while the last
    # walk added a link; within a walk the tail moves as links are found.
    tail, added, walk, done = qname, True, 0, False
    while added and walk <= DNS_MAX_CNAMES and not done:
        added = False
        walk += 1
        for r in recs:
            if r["type"] != 5 or r["name"] != tail:
                continue
            target = r["data"]
            if target is None or not good(target) or target in chain or \
                    len(cnames) == DNS_MAX_CNAMES:
                done = True
                break
            cnames.append(target)
            chain.append(target)
            tail = target
            added = True
    answers = []
    for r in recs:
        if r["type"] not in (1, 28) or r["name"] not in chain or r["data"] is None:
            continue
        if len(answers) == DNS_MAX_ANSWERS:
            break
        ttl = r["ttl"] if r["ttl"] is not None and r["ttl"] < 0x80000000 else 0
        answers.append((r["data"], ttl))
    return qname, cnames, answers


def dump(tool, pcap):
    out = subprocess.run([tool, pcap], capture_output=True, text=True, check=False).stdout
    frames = {}
    for line in out.splitlines():
        m = json.loads(line)
        frames.setdefault(m["frame"], []).append(m)
    return frames


def reject_reason(t):
    """Why mailtap may refuse a response tshark decodes: None if no reason."""
    if t["qnames"] and not good(tshark_name(t["qnames"][0])):
        return "question name outside the allowed set"
    return None


def check(tool, pcap):
    base = pcap.rsplit("/", 1)[-1]
    t_frames = tshark_responses(pcap)
    m_frames = dump(tool, pcap)
    bad = []
    n = {"ok_same": 0, "ok_malformed_same": 0, "rejected_both": 0, "rejected_expected": 0,
         "fragment": 0, "tcp_split": 0, "tshark_only": 0, "not_port53": 0}
    for frame in sorted(m_frames):
        msgs = m_frames[frame]
        tl = t_frames.get(frame, {"dns": [], "error": False})
        resp = [m for m in msgs if m.get("result") != "NOT_RESPONSE"]
        for i, m in enumerate(resp):
            if "skipped" in m:
                n["fragment"] += 1
                continue
            r = m["result"]
            if r.startswith("FRAME_"):
                n["tcp_split"] += 1
                continue
            t = tl["dns"][i] if i < len(tl["dns"]) else None
            if r == "OK":
                if t is None:
                    bad.append("  frame %d msg %d: mailtap OK (%s), tshark finds no response"
                               % (frame, m["msg"], m["qname"]))
                    continue
                qname, cnames, answers = expected(t)
                got = (m["qname"], m["rcode"], m["cnames"],
                       [(a["addr"], a["ttl"]) for a in m["answers"]])
                want = (qname, t["rcode"], cnames, answers)
                if got != want:
                    bad.append("  frame %d msg %d%s:\n    mailtap %s\n    tshark  %s"
                               % (frame, m["msg"], " (tshark: malformed)" if tl["error"] else "",
                                  got, want))
                elif tl["error"]:
                    n["ok_malformed_same"] += 1
                else:
                    n["ok_same"] += 1
            else:
                if t is None or tl["error"]:
                    n["rejected_both"] += 1
                    continue
                why = EXPECTED_REJECTS.get(base, {}).get(frame) or reject_reason(t)
                if why:
                    n["rejected_expected"] += 1
                    continue
                bad.append("  frame %d msg %d: mailtap %s, tshark decodes it cleanly: %s %s"
                           % (frame, m["msg"], r, t["qnames"][:1],
                              [(a["name"], a["type"], a["data"]) for a in t["answers"]][:4]))
        # the rest of tshark's responses in a frame mailtap saw (TCP) are below
    for frame, tl in t_frames.items():
        msgs = m_frames.get(frame, [])
        if any("skipped" in m for m in msgs):
            continue  # a first fragment: counted above
        extra = max(0, len(tl["dns"]) - len(msgs))
        if not tl["sport53"]:
            n["not_port53"] += extra  # tshark decodes DNS on either port
        else:
            n["tshark_only"] += extra
            if extra:
                bad.append("  frame %d: %d tshark response(s) from port 53 that dns-dump "
                           "does not report" % (frame, extra))
    total = sum(len(v["dns"]) for v in t_frames.values())
    return bad, total, n


def main():
    tool, pcaps = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for pcap in pcaps:
        bad, total, n = check(tool, pcap)
        counts = ("%d tshark responses; mailtap OK and equal %d (of which tshark-malformed %d), "
                  "rejected by both %d, rejected as expected %d, fragments skipped %d, "
                  "TCP split %d, not from port 53 %d, tshark only %d" %
                  (total, n["ok_same"] + n["ok_malformed_same"], n["ok_malformed_same"],
                   n["rejected_both"], n["rejected_expected"], n["fragment"], n["tcp_split"],
                   n["not_port53"], n["tshark_only"]))
        if bad:
            failed += 1
            print("FAIL %s (%s)" % (pcap, counts))
            print("\n".join(bad[:10]))
            if len(bad) > 10:
                print("  ... %d more" % (len(bad) - 10))
        else:
            passed += 1
            print("ok   %s (%s)" % (pcap, counts))
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
