"""Metric math through GetMetricData: every case of data/metric_math_cases.json.

Each case's expected series is computed here, in plain Python over the input series
(the `py` text of the case with a few helpers below), independently of mamori's
evaluator, and compared with what GetMetricData returns."""

from __future__ import annotations

import json
import math
import statistics
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

DATA = json.loads((Path(__file__).parent / "data" / "metric_math_cases.json").read_text())
PERIOD = 60
POINTS = 10


@pytest.fixture(scope="module")
def world(mamori, cw_models):
    from cw_clients import client_for

    cw = client_for(mamori, cw_models, "json")
    ns = "MathCases/" + uuid.uuid4().hex[:8]
    search_ns = "MathSearch" + uuid.uuid4().hex[:8]
    t0 = (int(time.time()) // 3600) * 3600 - 2 * 3600
    data = []
    for mid, points in DATA["inputs"].items():
        for i, v in points.items():
            data.append({"MetricName": mid, "Value": v, "Timestamp": t0 + int(i) * PERIOD})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    data = []
    for host, points in DATA["search"].items():
        for i, v in points.items():
            data.append({"MetricName": "load", "Dimensions": [{"Name": "Host", "Value": host}], "Value": v,
                         "Timestamp": t0 + int(i) * PERIOD})
    cw.put_metric_data(Namespace=search_ns, MetricData=data)
    return {"cw": cw, "ns": ns, "search_ns": search_ns, "t0": t0}


def _queries(world, expr: str, helpers: dict[str, str]) -> list[dict]:
    queries = [
        {"Id": mid, "MetricStat": {"Metric": {"Namespace": world["ns"], "MetricName": mid}, "Period": PERIOD, "Stat": "Sum"},
         "ReturnData": False}
        for mid in ("m1", "m2", "m3", "m4")
    ]
    for hid, text in helpers.items():
        queries.append({"Id": hid, "Expression": text, "ReturnData": False})
    queries.append({"Id": "out", "Expression": expr.replace("$NS", world["search_ns"])})
    return queries


def _expected(world, text: str):
    t0 = world["t0"]
    series = {k: {int(i): float(v) for i, v in pts.items()} for k, pts in DATA["inputs"].items()}
    search = {k: {int(i): float(v) for i, v in pts.items()} for k, pts in DATA["search"].items()}
    grid = list(range(POINTS))

    def fill_repeat(s):
        out, last = {}, None
        for t in grid:
            last = s.get(t, last)
            if last is not None:
                out[t] = last
        return out

    def fill_linear(s):
        known = sorted(s)
        out = {}
        for t in grid:
            if t in s:
                out[t] = s[t]
                continue
            before = [k for k in known if k < t]
            after = [k for k in known if k > t]
            if before and after:
                k0, k1 = before[-1], after[0]
                out[t] = s[k0] + (s[k1] - s[k0]) * (t - k0) / (k1 - k0)
        return out

    def pairs(s):
        keys = sorted(s)
        return [(k0, s[k0], k1, s[k1]) for k0, k1 in zip(keys, keys[1:])]

    def per_t(fn, *ss):
        times = sorted({t for s in ss for t in s})
        return {t: float(fn([s[t] for s in ss if t in s])) for t in times}

    env = {
        "a": series["m1"], "b": series["m2"], "c": series["m3"], "s1": search["h1"], "s2": search["h2"],
        "grid": grid, "math": math, "statistics": statistics, "fill_repeat": fill_repeat, "fill_linear": fill_linear,
        "pairs": pairs, "per_t": per_t, "utc": lambda t: datetime.fromtimestamp(t0 + t * PERIOD, timezone.utc),
        "epoch_of": lambda t: float(t0 + t * PERIOD),
    }
    return eval(text, env)  # noqa: S307 - test data written by us


def _as_indexed(world, result) -> dict[int, float]:
    out = {}
    for ts, v in zip(result["Timestamps"], result["Values"]):
        offset = ts.timestamp() - world["t0"]
        assert offset % PERIOD == 0
        out[int(offset // PERIOD)] = v
    return out


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["expr"] for c in DATA["cases"]])
def test_metric_math_case(world, case):
    t0 = world["t0"]
    resp = world["cw"].get_metric_data(
        MetricDataQueries=_queries(world, case["expr"], case.get("with", {})),
        StartTime=t0, EndTime=t0 + POINTS * PERIOD, ScanBy="TimestampAscending",
    )
    results = [r for r in resp["MetricDataResults"] if r["Id"] == "out"]
    assert all(r["StatusCode"] == "Complete" for r in results)
    expected = _expected(world, case["py"])
    if isinstance(expected, dict):
        assert len(results) == 1
        got = _as_indexed(world, results[0])
        assert got == pytest.approx({int(k): float(v) for k, v in expected.items()})
    else:
        got = [_as_indexed(world, r) for r in results]
        assert got == [pytest.approx({int(k): float(v) for k, v in e.items()}) for e in expected]


@pytest.mark.parametrize("case", DATA["errors"], ids=[c["expr"] for c in DATA["errors"]])
def test_metric_math_error(world, case, mamori):
    provider = mamori._server.config.app.runtime.providers["cloudwatch"]
    if case.get("unless_provider_has") and hasattr(provider, case["unless_provider_has"]):
        pytest.skip(f"the provider has {case['unless_provider_has']}: the case no longer is an error")
    t0 = world["t0"]
    with pytest.raises(ClientError) as err:
        world["cw"].get_metric_data(
            MetricDataQueries=_queries(world, case["expr"], {}), StartTime=t0, EndTime=t0 + POINTS * PERIOD,
        )
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert case["message"] in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
