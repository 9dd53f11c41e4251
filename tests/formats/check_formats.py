#!/usr/bin/python3
"""check_formats.py eve|ecs SCHEMA NAME=FILE.jsonl... -- check mailtap's
--format eve / --format ecs records against the ecosystem's own schemas.

eve: every record validates against Suricata's EVE JSON schema
(../shared/reference/schemas/suricata-eve-schema.json, python3-jsonschema)
once its `mailtap` object is taken out, and `mailtap` is the only top-level
key the schema does not know (the schema forbids unknown keys, so the
validation itself proves that everything else is EVE).  Also: the timestamp
looks like Suricata's, flow_id is a positive integer below 2^53, alerts carry
a signature id of mailtap's range and a severity of 1-3, QUIC flows carry
quic{} and not tls{}.

ecs: every leaf field outside `mailtap` is a field of the ECS field list
(ecs-fields.csv) with a value of its type (keyword: string, long: integer,
float: number, ip: an address, date: an ISO 8601 time, boolean), in an array
where ECS says the field is one.

Prints "ok NAME" / "FAIL NAME: why" per file and "#summary PASSED FAILED".
"""
import csv
import datetime
import ipaddress
import json
import re
import sys

import jsonschema

EVE_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+0000$")
SID_MIN, SID_MAX = 9000001, 9000099


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_eve(schema, recs):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    v = cls(schema)
    known = set(schema["properties"])
    for i, r in enumerate(recs):
        where = "record %d (%s)" % (i + 1, r.get("event_type"))
        unknown = set(r) - known
        if unknown - {"mailtap"}:
            return "%s: keys EVE does not know besides mailtap: %s" % (
                where, sorted(unknown - {"mailtap"}))
        if "mailtap" in known:
            return "the schema knows a `mailtap` key: the test's premise is gone"
        if not isinstance(r.get("mailtap"), dict):
            return "%s: no mailtap extension object" % where
        bare = {k: x for k, x in r.items() if k != "mailtap"}
        errs = sorted(v.iter_errors(bare), key=lambda e: list(e.path))
        if errs:
            e = errs[0]
            return "%s: %s at %s" % (where, e.message, "/".join(map(str, e.path)) or "/")
        if not EVE_TS.match(r["timestamp"]):
            return "%s: timestamp %r is not Suricata's form" % (where, r["timestamp"])
        if r["event_type"] == "flow":
            fid = r.get("flow_id")
            if not isinstance(fid, int) or not 0 < fid < 2 ** 53:
                return "%s: flow_id %r" % (where, fid)
            for k in ("start", "end"):
                if not EVE_TS.match(r["flow"][k]):
                    return "%s: flow.%s %r" % (where, k, r["flow"][k])
            if r.get("app_proto") == "quic" and "tls" in r:
                return "%s: a QUIC flow with tls{}" % where
        elif r["event_type"] == "alert":
            a = r["alert"]
            if not SID_MIN <= a["signature_id"] <= SID_MAX:
                return "%s: signature_id %d outside %d..%d" % (where, a["signature_id"],
                                                               SID_MIN, SID_MAX)
            if a["severity"] not in (1, 2, 3) or a["gid"] != 1 or a["action"] != "allowed":
                return "%s: alert %r" % (where, a)
            if not a["signature"].startswith("MAILTAP " + r["mailtap"]["kind"] + ":"):
                return "%s: signature %r does not name kind %s" % (
                    where, a["signature"], r["mailtap"]["kind"])
        else:
            return "%s: event_type %r" % (where, r["event_type"])
    return None


def ecs_fields(path):
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out[row["Field"]] = (row["Type"], row["Normalization"])
    return out


STRINGS = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text"}
INTS = {"long", "integer", "short", "byte", "unsigned_long"}
FLOATS = {"float", "double", "half_float", "scaled_float"}


def ecs_value_ok(typ, x):
    if typ in STRINGS:
        return isinstance(x, str)
    if typ in INTS:
        return isinstance(x, int) and not isinstance(x, bool)
    if typ in FLOATS:
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    if typ == "boolean":
        return isinstance(x, bool)
    if typ == "ip":
        try:
            ipaddress.ip_address(x)
            return True
        except (ValueError, TypeError):
            return False
    if typ == "date":
        try:
            datetime.datetime.fromisoformat(x.replace("Z", "+00:00"))
            return True
        except (ValueError, AttributeError):
            return False
    if typ in ("object", "flattened", "nested"):
        return True
    return False


def leaves(obj, prefix=""):
    for k, x in obj.items():
        path = prefix + k
        if isinstance(x, dict):
            yield from leaves(x, path + ".")
        else:
            yield path, x


def check_ecs(fields, recs):
    for i, r in enumerate(recs):
        where = "record %d (%s)" % (i + 1, r.get("event", {}).get("dataset"))
        if "@timestamp" not in r or not isinstance(r.get("mailtap", {}), dict):
            return "%s: no @timestamp or a mailtap that is not an object" % where
        if "mailtap" in fields:
            return "ECS has a `mailtap` field: the test's premise is gone"
        for path, x in leaves({k: v for k, v in r.items() if k != "mailtap"}):
            if path not in fields:
                return "%s: %s is not an ECS field" % (where, path)
            typ, norm = fields[path]
            if norm == "array" and not isinstance(x, list):
                return "%s: %s must be an array" % (where, path)
            for e in (x if isinstance(x, list) else [x]):
                if not ecs_value_ok(typ, e):
                    return "%s: %s = %r is not an ECS %s" % (where, path, e, typ)
    return None


def main():
    mode, ref = sys.argv[1], sys.argv[2]
    passed = failed = 0
    if mode == "eve":
        with open(ref) as f:
            schema = json.load(f)
        check = lambda recs: check_eve(schema, recs)  # noqa: E731
    else:
        fields = ecs_fields(ref)
        check = lambda recs: check_ecs(fields, recs)  # noqa: E731
    for arg in sys.argv[3:]:
        name, path = arg.split("=", 1)
        recs = load(path)
        why = "no records" if not recs else check(recs)
        if why:
            print("FAIL %s %s: %s" % (mode, name, why))
            failed += 1
        else:
            print("ok %s %s (%d records)" % (mode, name, len(recs)))
            passed += 1
    print("#summary %d %d" % (passed, failed))


if __name__ == "__main__":
    main()
