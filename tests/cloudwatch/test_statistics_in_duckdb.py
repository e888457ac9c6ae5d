"""GetMetricData computes its statistics in DuckDB (store/metrics.py: statistic_series,
percentile_series, bounded_series); GetMetricStatistics computes the extended ones in
Python from the sorted values (statistics.py). The two must agree on every statistic,
for weighted values (Values/Counts), several buckets and periods - and both must give
the values of test_statistics.py's table, worked out by hand."""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timezone

import pytest
from test_statistics import EXTENDED, VALUES

STATS = list(EXTENDED) + ["p0.1", "p100", "TM(:20)", "WM(20:)", "PR(5:30)", "TC(20:40)", "TS(:25%)", "tm99", "wm10",
                          "TM(5%:)", "IQM", "SampleCount", "Sum", "Average", "Minimum", "Maximum"]


def _data(cw, ns, name, stat, period, start, end):
    out = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {
        "Metric": {"Namespace": ns, "MetricName": name}, "Period": period, "Stat": stat}}],
        StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    [r] = out["MetricDataResults"]
    return {t.timestamp(): v for t, v in zip(r["Timestamps"], r["Values"])}


def _statistics(cw, ns, name, stat, period, start, end):
    kind = {"Statistics": [stat]} if stat in ("SampleCount", "Sum", "Average", "Minimum", "Maximum") else {"ExtendedStatistics": [stat]}
    points = cw.get_metric_statistics(Namespace=ns, MetricName=name, StartTime=start, EndTime=end, Period=period, **kind)["Datapoints"]
    out = {}
    for p in points:
        value = p[stat] if stat in p else p.get("ExtendedStatistics", {}).get(stat)
        if value is not None:
            out[p["Timestamp"].timestamp()] = value
    return out


def test_the_hand_worked_table(cw_json):
    ns, t = "Stats/" + uuid.uuid4().hex[:8], (int(time.time()) // 60) * 60 - 600
    cw_json.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "lat", "Timestamp": t + 7, "Values": VALUES}])
    start, end = datetime.fromtimestamp(t, timezone.utc), datetime.fromtimestamp(t + 60, timezone.utc)
    got = {stat: _data(cw_json, ns, "lat", stat, 60, start, end) for stat in EXTENDED}
    assert {stat: points[float(t)] for stat, points in got.items()} == pytest.approx(EXTENDED)


@pytest.mark.parametrize("period", [60, 180])
def test_duckdb_and_python_agree(cw_json, period):
    cw = cw_json
    ns, t = "Stats/" + uuid.uuid4().hex[:8], (int(time.time()) // 60) * 60 - 900
    rng = random.Random(period)
    data = []
    for minute in range(6):
        values = sorted({float(rng.randint(1, 50)) for _ in range(40)})
        data.append({"MetricName": "w", "Timestamp": t + 60 * minute + 3, "Values": values,
                     "Counts": [float(rng.randint(1, 3)) for _ in values]})
    # a statistic set that is not one repeated value: its bucket has no extended statistic
    data.append({"MetricName": "w", "Timestamp": t + 6 * 60 + 3,
                 "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4}})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    start, end = datetime.fromtimestamp(t, timezone.utc), datetime.fromtimestamp(t + 9 * 60, timezone.utc)
    for stat in STATS:
        in_duckdb = _data(cw, ns, "w", stat, period, start, end)
        in_python = _statistics(cw, ns, "w", stat, period, start, end)
        assert in_duckdb == pytest.approx(in_python), stat
        assert len(in_duckdb) >= 2, stat
