"""Generated events for the Insights cases, and an independent Python reading of them.

`generate(base_ms)` gives (stream, ts, message) for JSON app logs, plain text lines,
VPC flow log lines (version 2) and CloudTrail records. `Event` reads fields the way
Logs Insights discovers them, written without the engine, for expected rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re

SERVICES = ["api", "auth", "billing", "search"]
LEVELS = ["INFO", "WARN", "ERROR", "DEBUG", "INFO"]
VPC = ["version", "accountId", "interfaceId", "srcAddr", "dstAddr", "srcPort", "dstPort", "protocol",
       "packets", "bytes", "start", "end", "action", "logStatus"]


def generate(base_ms: int, count: int = 240) -> list[tuple[str, int, str]]:
    out = []
    for i in range(count):
        ts = base_ms + i * 13_000 + (i % 7) * 11
        kind = i % 8
        svc, lvl = SERVICES[i % 4], LEVELS[i % 5]
        if kind in (0, 1, 4, 5):
            doc = {"service": svc, "level": lvl, "status": [200, 201, 404, 500, 503][i % 5],
                   "latency": (i * 37) % 900 + 0.5 * (i % 2), "user": {"id": f"u{i % 6}", "name": f"name{i % 3}"},
                   "tags": ["t" + str(i % 2), "x"], "msg": f"request {i} done"}
            if i % 10 == 0:
                doc["trace"] = f"trace-{i}"
            out.append(("app", ts, json.dumps(doc)))
        elif kind in (2, 6):
            act = ["login", "logout", "read", "write"][i % 4]
            out.append(("text", ts, f"{lvl} [{svc}] user=u{i % 6} action={act} took {(i * 13) % 500}ms"))
        elif kind == 3:
            src = f"10.0.{i % 3}.{i % 250}"
            dst = f"172.16.{i % 2}.{(i * 7) % 250}"
            action = "ACCEPT" if i % 3 else "REJECT"
            out.append(("vpc", ts, f"2 123456789012 eni-0a{i % 4} {src} {dst} {1000 + i} {[22, 443, 80][i % 3]} 6 "
                                   f"{i % 20 + 1} {(i % 20 + 1) * 60} {ts // 1000} {ts // 1000 + 60} {action} OK"))
        else:
            name = ["GetObject", "PutObject", "ListBuckets", "DeleteObject"][i % 4]
            rec = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": name,
                   "awsRegion": "us-east-1", "sourceIPAddress": f"192.0.2.{i % 9}",
                   "userIdentity": {"type": "IAMUser", "userName": f"user{i % 3}", "accountId": "123456789012"},
                   "requestParameters": {"bucketName": f"bucket-{i % 2}"}}
            if i % 3 == 0:
                rec["errorCode"] = "AccessDenied"
            out.append(("trail", ts, json.dumps(rec)))
    # Lambda invocations: START, an application line, END, REPORT (X-Ray on every other one)
    for k in range(6):
        rid = f"8fc6f963-411b-58b5-8483-a32130c0f4{k:02d}"
        t0 = base_ms + 5_000 + k * 400_000
        report = (f"REPORT RequestId: {rid}\tDuration: {100 + k * 37.25} ms\tBilled Duration: {101 + k * 38} ms\t"
                  f"Memory Size: 128 MB\tMax Memory Used: {60 + k} MB\t")
        if k % 2:
            report += f"\nXRAY TraceId: 1-61c86fa4-59b3c6d9{k:08d}\tSegmentId: 107ea78a5750a8{k:02d}\tSampled: true\t"
        out += [("lambda", t0, f"START RequestId: {rid} Version: $LATEST"),
                ("lambda", t0 + 1, f"2024-01-01T00:00:00.000Z\t{rid}\tINFO\thandled order {k}"),
                ("lambda", t0 + 2, f"END RequestId: {rid}"),
                ("lambda", t0 + 3, report)]
    out.sort(key=lambda e: e[1])
    # JSON events with IPv6 (and one IPv4) client addresses, after the others
    for k, client in enumerate(NET_CLIENTS):
        out.append(("net", base_ms + count * 13_000 + k * 10_000,
                    json.dumps({"kind": "net", "client": client, "size": k * 10, "ok": k % 2 == 0})))
    return out


LAMBDA = {"@type": (None, 0), "@requestId": (None, 0), "@duration": ("Duration", 1),
          "@billedDuration": ("Billed Duration", 1), "@memorySize": ("Memory Size", 1_000_000),
          "@maxMemoryUsed": ("Max Memory Used", 1_000_000), "@xrayTraceId": ("XRAY TraceId", 0),
          "@xraySegmentId": ("SegmentId", 0)}
NET_CLIENTS = ["2001:db8::1", "2001:db8:0:1::5", "2001:db9::7", "fe80::1ff:fe23:4567:890a", "::1",
               "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "10.0.0.1", "2001:db8::ffff:1"]


def ts_text(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def num_text(x) -> str | None:
    if x is None:
        return None
    x = float(x)
    if x.is_integer():
        return str(int(x))
    return repr(round(x, 10))


class Event:
    def __init__(self, n: int, stream: str, ts: int, message: str, group: str, account: str) -> None:
        self.n, self.stream, self.ts, self.message = n, stream, ts, message
        self.group, self.account = group, account
        try:
            self.json = json.loads(message) if message.startswith("{") else None
        except ValueError:
            self.json = None
        parts = message.split(" ")
        self.vpc = dict(zip(VPC, parts)) if message.startswith("2 ") and len(parts) == 14 else None

    def get(self, name: str) -> str | None:
        if name == "@timestamp":
            return ts_text(self.ts)
        if name == "@message":
            return self.message
        if name == "@logStream":
            return self.stream
        if name == "@log":
            return f"{self.account}:{self.group}"
        value = self.json
        if value is not None:
            for part in name.split("."):
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    value = None
                    break
            if value is not None:
                if isinstance(value, bool):
                    return "true" if value else "false"
                if isinstance(value, (dict, list)):
                    return json.dumps(value, separators=(",", ":"))
                return str(value)
        if self.vpc and name in self.vpc:
            return self.vpc[name]
        if name in LAMBDA:
            return self.lambda_field(name)
        return None

    def lambda_field(self, name: str) -> str | None:
        """The fields of Lambda's START / END / REPORT lines, read with str.split."""
        kind = self.message.split(" ", 1)[0]
        if kind not in ("START", "END", "REPORT") or not self.message.startswith(kind + " RequestId: "):
            return None
        if name == "@type":
            return kind
        if name == "@requestId":
            return self.message.split()[2]
        parts = {}
        for piece in self.message.replace("\n", "\t").split("\t"):
            key, _, value = piece.partition(": ")
            parts[key.strip()] = value
        if kind != "REPORT":
            return None
        key, unit_scale = LAMBDA[name]
        if key not in parts:
            return None
        value = parts[key].split(" ")[0]
        return num_text(float(value) * unit_scale) if unit_scale else value

    def num(self, name: str) -> float | None:
        v = self.get(name)
        try:
            return float(v) if v is not None else None
        except ValueError:
            return None

    def like(self, pattern: str, name: str = "@message", flags: int = 0) -> bool:
        v = self.get(name)
        return v is not None and re.search(pattern, v, flags) is not None
