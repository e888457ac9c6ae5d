"""GetMetricStatistics: basic and extended statistics, units, period alignment, the
1,440 data point limit, and retention / roll-up driven by the clock."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError


def _ns() -> str:
    return "Stats/" + uuid.uuid4().hex[:8]


VALUES = [float(v) for v in range(1, 101)]


def _mean(xs):
    return sum(xs) / len(xs)


EXTENDED = {
    "p50": 50.0,
    "p90": 90.0,
    "p99.9": 100.0,
    "tm90": _mean(VALUES[:90]),
    "IQM": _mean(VALUES[25:75]),
    "TM(10%:90%)": _mean(VALUES[10:90]),
    "TM(20:30)": _mean([v for v in VALUES if 20 < v <= 30]),
    "wm90": _mean([min(v, 90.0) for v in VALUES]),
    "WM(10%:90%)": _mean([min(max(v, 10.0), 90.0) for v in VALUES]),
    "PR(:50)": 50.0,
    "PR(10:20)": 10.0,
    "tc50": 50.0,
    "TC(10%:90%)": 80.0,
    "ts50": sum(VALUES[:50]),
    "TS(10%:90%)": sum(VALUES[10:90]),
}


def test_every_extended_statistic(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 600
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "lat", "Timestamp": t + 7, "Values": VALUES}])
    names = list(EXTENDED)
    got = {}
    for chunk in (names[:10], names[10:]):
        [dp] = cw.get_metric_statistics(Namespace=ns, MetricName="lat", StartTime=t, EndTime=t + 60, Period=60,
                                        ExtendedStatistics=chunk)["Datapoints"]
        got.update(dp["ExtendedStatistics"])
    assert got == pytest.approx(EXTENDED)


def test_percentiles_need_raw_values(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 600
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": t, "StatisticValues": {"SampleCount": 5, "Sum": 20, "Minimum": 1, "Maximum": 9}},
        {"MetricName": "m", "Timestamp": t + 60, "StatisticValues": {"SampleCount": 3, "Sum": 12, "Minimum": 4, "Maximum": 4}},
    ])
    dps = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t, EndTime=t + 120, Period=60,
                                   ExtendedStatistics=["p50"], Statistics=["Sum"])["Datapoints"]
    assert [dp["ExtendedStatistics"] for dp in dps] == [{}, {"p50": 4.0}]
    assert [dp["Sum"] for dp in dps] == [20.0, 12.0]


def test_units_are_reported_per_unit_and_filter(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 600
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": t, "Value": 1.0, "Unit": "Seconds"},
        {"MetricName": "m", "Timestamp": t, "Value": 500.0, "Unit": "Milliseconds"},
    ])
    dps = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t, EndTime=t + 60, Period=60, Statistics=["Sum"])["Datapoints"]
    assert sorted((dp["Unit"], dp["Sum"]) for dp in dps) == [("Milliseconds", 500.0), ("Seconds", 1.0)]
    dps = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t, EndTime=t + 60, Period=60,
                                   Statistics=["Sum"], Unit="Seconds")["Datapoints"]
    assert [(dp["Unit"], dp["Sum"]) for dp in dps] == [("Seconds", 1.0)]
    dps = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t, EndTime=t + 60, Period=60,
                                   Statistics=["Sum"], Unit="Bytes")["Datapoints"]
    assert dps == []


def test_period_buckets_and_start_rounding(cw):
    ns, t = _ns(), (int(time.time()) // 3600) * 3600 - 3600
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": t + i * 60, "Value": float(i)} for i in range(10)
    ])
    # StartTime 12:00:34 rounds down to the minute; 5-minute buckets from there.
    dps = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t + 34, EndTime=t + 600, Period=300,
                                   Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(dp["Timestamp"].timestamp() - t, dp["Sum"], dp["SampleCount"]) for dp in dps] == [
        (0, 0 + 1 + 2 + 3 + 4, 5), (300, 5 + 6 + 7 + 8 + 9, 5)]


def test_the_1440_datapoint_limit(cw):
    t = (int(time.time()) // 60) * 60 - 86400
    with pytest.raises(ClientError) as err:
        cw.get_metric_statistics(Namespace=_ns(), MetricName="m", StartTime=t, EndTime=t + 1441 * 60, Period=60,
                                 Statistics=["Sum"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert err.value.response["Error"]["Message"] == (
        "You have requested up to 1441 datapoints, which exceeds the limit of 1440. "
        "You may reduce the datapoints requested by increasing Period, or decreasing the time range.")
    out = cw.get_metric_statistics(Namespace=_ns(), MetricName="m", StartTime=t, EndTime=t + 1440 * 60, Period=60,
                                   Statistics=["Sum"])
    assert out["Datapoints"] == []


@pytest.mark.parametrize("kwargs, code", [
    ({"Statistics": []}, "MissingParameter"),
    ({"Statistics": ["Median"]}, "ValidationError"),
    ({"ExtendedStatistics": ["p101"]}, "InvalidParameterValue"),
    ({"ExtendedStatistics": ["TM(10%:20)"]}, "InvalidParameterValue"),
    ({"Statistics": ["Sum"], "Period": 45}, "InvalidParameterValue"),
    ({"Statistics": ["Sum"], "EndTime": "start"}, "InvalidParameterValue"),
], ids=["none", "bad-stat", "p101", "mixed-bounds", "period-45", "start=end"])
def test_statistics_validation(cw, kwargs, code):
    t = int(time.time()) - 600
    args = {"Namespace": "X", "MetricName": "m", "StartTime": t, "EndTime": t + 300, "Period": 60}
    args.update(kwargs)
    if args["EndTime"] == "start":
        args["EndTime"] = args["StartTime"]
    if not args.get("Statistics"):
        args.pop("Statistics", None)
    with pytest.raises(ClientError) as err:
        cw.get_metric_statistics(**args)
    # An enum the model constrains is refused by the protocol layer in its own words.
    assert err.value.response["Error"]["Code"] in ((code, "ValidationException") if code == "ValidationError" else (code,))
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_roll_up_and_retention_follow_the_clock(cw_json, mamori_clock):
    cw = cw_json
    mamori_clock.freeze()
    now = mamori_clock.now()
    t = (int(now) // 60) * 60 - 120
    ns = _ns()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "hr", "Timestamp": t + s, "Values": [float(s), 100.0], "StorageResolution": 1} for s in (5, 15, 25)
    ])

    def stats(period, ext=("p50",)):
        return cw.get_metric_statistics(Namespace=ns, MetricName="hr", StartTime=t, EndTime=t + 60, Period=period,
                                        Statistics=["Sum", "SampleCount"], ExtendedStatistics=list(ext))["Datapoints"]

    assert len(stats(10)) == 3
    mamori_clock.advance("4h")  # past 3 hours: 1-second data is kept at 1 minute only
    [dp] = stats(60)
    assert (dp["Sum"], dp["SampleCount"], dp["ExtendedStatistics"]["p50"]) == (345.0, 6.0, 25.0)
    assert stats(10) == []  # sub-minute periods find nothing that old
    mamori_clock.advance("16d")  # past 15 days: 5-minute periods only
    assert cw.get_metric_statistics(Namespace=ns, MetricName="hr", StartTime=t, EndTime=t + 300, Period=60,
                                    Statistics=["Sum"])["Datapoints"] == []
    [dp] = cw.get_metric_statistics(Namespace=ns, MetricName="hr", StartTime=t, EndTime=t + 300, Period=300,
                                    Statistics=["Sum"], ExtendedStatistics=["p50"])["Datapoints"]
    assert dp["Sum"] == 345.0 and dp["ExtendedStatistics"]["p50"] == 25.0
    mamori_clock.advance("440d")  # past 455 days: gone
    assert cw.get_metric_statistics(Namespace=ns, MetricName="hr", StartTime=t - 3600, EndTime=t + 3600, Period=3600,
                                    Statistics=["Sum"])["Datapoints"] == []
