"""The Insights query cases (data/insights_cases.json) through boto3 StartQuery and
GetQueryResults, each compared with rows computed here in Python from the events."""

from __future__ import annotations

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
           "BASE": loaded["base"], "re": re, "math": math, "statistics": statistics}
    expected = eval(case["expect"], env)  # noqa: S307 - our own data file
    query = case["query"].replace("{base}", str(loaded["base"]))
    _, out = run_query(loaded["logs"], [loaded["group"]], query, loaded["start"], loaded["end"])
    assert out["status"] == "Complete", out
    got = []
    for row in out["results"]:
        fields = {f["field"]: f["value"] for f in row}
        if "stats" not in query:
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
