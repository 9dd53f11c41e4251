#!/usr/bin/env python3
"""check-dashboard.py DASHBOARD SCRAPE... -- every metric, label and label
value the dashboard's PromQL expressions use exists in the scrapes of a
running sensor (Prometheus text format), and every metric is documented
in docs/metrics.md.  Prints "ok NAME ..." / "FAIL NAME: why" lines."""
import json
import re
import sys

# labels Prometheus adds to every series of a target at scrape time
TARGET_LABELS = {"instance", "job"}
# PromQL words that look like identifiers but are not metrics or labels
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset"}


def scraped(paths):
    """{metric: {label: {values}}} from Prometheus text exposition files."""
    series = {}
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+')
    pair = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for p in paths:
        for line in open(p):
            m = sample.match(line)
            if not m or line.startswith("#"):
                continue
            labels = series.setdefault(m.group(1), {})
            for k, v in pair.findall(m.group(3) or ""):
                labels.setdefault(k, set()).add(v)
    return series


def exprs(dash):
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"], t.get("legendFormat", "")))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and q:
            out.append(("variable " + v["name"], q, ""))
    return out


def main():
    dash = json.load(open(sys.argv[1]))
    series = scraped(sys.argv[2:])
    docs = open("docs/metrics.md").read()
    documented = set(re.findall(r"^\| `(mailtap_[a-z0-9_]+)`", docs, re.M))
    failed = 0
    used_metrics = set()
    for title, expr, legend in exprs(dash):
        problems = []
        metrics = set(re.findall(r"\b(mailtap_[a-zA-Z0-9_]+)\b", expr))
        used_metrics |= metrics
        if not metrics:
            problems.append("no mailtap metric in the expression")
        for m in sorted(metrics):
            if m not in series:
                problems.append(f"{m} not in the scrape")
            if m not in documented:
                problems.append(f"{m} not in docs/metrics.md")
        # labels of those metrics the scrape shows, plus the target's
        have = set(TARGET_LABELS)
        for m in metrics:
            have |= set(series.get(m, {}))
        # grouping labels: by (...), without (...), on (...), label_values(m, l)
        used = set()
        for grp in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
            used |= {l.strip() for l in grp.split(",") if l.strip()}
        used |= set(re.findall(r"label_values\([^,]+,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)", expr))
        used |= set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))
        # matchers: metric{label OP "value"}
        for m, body in re.findall(r"\b(mailtap_[a-zA-Z0-9_]+)\s*\{([^}]*)\}", expr):
            for lab, op, val in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"', body):
                used.add(lab)
                if op == "=" and "$" not in val and lab not in TARGET_LABELS and \
                        val not in series.get(m, {}).get(lab, set()):
                    problems.append(f'{m}{{{lab}="{val}"}}: no such value in the scrape')
        for lab in sorted(used - KEYWORDS):
            if lab not in have:
                problems.append(f"label {lab} on none of {', '.join(sorted(metrics))}")
        if problems:
            failed += 1
            print(f"FAIL dashboard-expr {title!r}: " + "; ".join(problems) + f" [{expr}]")
    print(f"# {len(exprs(dash))} expressions, {len(used_metrics)} metrics used of {len(series)} scraped")
    # the panels the issue asks for are there
    for want in ("mailtap_packets_total", "mailtap_drops_total", "mailtap_flows_active",
                 "mailtap_alerts_total", "mailtap_spool_depth", "mailtap_redis_delivered_total"):
        if want not in used_metrics:
            failed += 1
            print(f"FAIL dashboard-covers: {want} is on no panel")
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
