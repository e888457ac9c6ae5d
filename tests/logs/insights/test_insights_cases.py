"""The Insights query cases (data/insights_cases.json) through boto3 StartQuery and
GetQueryResults, each compared with rows computed here in Python from the events."""

from __future__ import annotations

import ipaddress  # noqa: F401 - used by the expectations
import json
import math  # noqa: F401 - used by the expectations
import re
import statistics  # noqa: F401 - used by the expectations
from pathlib import Path

import pytest

from tests.logs.insights.conftest import run_query
from tests.logs.insights.events import num_text, ts_text

CASES = json.loads((Path(__file__).parent / "data" / "insights_cases.json").read_text())


def rows(events, *names):
    out = []
    for e in events:
        out.append({n: e.get(n) for n in names if e.get(n) is not None})
    return out


def recent(events):
    return sorted(events, key=lambda e: (e.ts, e.n), reverse=True)


def by(events, key):
    groups: dict = {}
    for e in events:
        groups.setdefault(key(e), []).append(e)
    return groups


def dedup(events, *names):
    seen, out = set(), []
    for e in events:
        k = tuple(e.get(n) for n in names)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def dedup_keep_nulls(events, *names):
    """dedup as the docs describe it: events with a null in any field are all kept."""
    seen, out = set(), []
    for e in events:
        k = tuple(e.get(n) for n in names)
        if None in k:
            out.append(e)
        elif k not in seen:
            seen.add(k)
            out.append(e)
    return out


def subnet(value, cidr) -> str:
    """isIpInSubnet written with the ipaddress module: '1' / '0' as the engine shows booleans."""
    try:
        return "1" if ipaddress.ip_address(value) in ipaddress.ip_network(cidr) else "0"
    except ValueError:
        return "0"


LEVEL_LABELS = {"INFO": "Info", "WARN": "Warning", "ERROR": "Error", "DEBUG": "Debug"}


def patterns(events, template):
    """Expected `pattern` rows for events whose clusters are known in advance: template(e)
    gives the pattern of an event (its variable parts already written as <*>) and its
    level word. Ordered as the engine orders them: most events first, then by pattern."""
    groups: dict = {}
    for e in events:
        groups.setdefault(template(e), []).append(e)
    total = len(events)
    rows = [{"@pattern": p, "@sampleCount": str(len(v)), "@ratio": num_text(len(v) / total),
             "@severityLabel": LEVEL_LABELS.get(level, "Unknown")} for (p, level), v in groups.items()]
    return sorted(rows, key=lambda r: (-int(r["@sampleCount"]), r["@pattern"]))


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        if a[k] != b[k]:
            try:
                if not math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9, abs_tol=1e-9):
                    return False
            except ValueError:
                return False
    return True


def canon(r: dict) -> str:
    return json.dumps(r, sort_keys=True)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_insights_case(loaded, case):
    E = loaded["events"]
    env = {"E": E, "S": lambda s: [e for e in E if e.stream == s], "rows": rows, "recent": recent, "by": by,
           "dedup": dedup, "n": num_text, "T": ts_text, "default": lambda evs: rows(evs, "@timestamp", "@message"),
           "BASE": loaded["base"], "re": re, "math": math, "statistics": statistics,
           "ipaddress": ipaddress, "json": json, "subnet": subnet, "patterns": patterns,
           "dedup_keep_nulls": dedup_keep_nulls}
    expected = eval(case["expect"], env)  # noqa: S307 - our own data file
    query = case["query"].replace("{base}", str(loaded["base"]))
    _, out = run_query(loaded["logs"], [loaded["group"]], query, loaded["start"], loaded["end"])
    assert out["status"] == "Complete", out
    got = []
    for row in out["results"]:
        fields = {f["field"]: f["value"] for f in row}
        if not any(word in query for word in ("stats", "pattern", "diff")):  # rows that are events
            assert "@ptr" in fields
        fields.pop("@ptr", None)
        got.append(fields)
    assert len(got) == len(expected), (got[:5], expected[:5])
    if not case["ordered"]:
        got.sort(key=canon)
        expected = sorted(expected, key=canon)
    for g, x in zip(got, expected):
        assert same(g, x), (g, x)


def test_case_count():
    assert len(CASES) >= 80
