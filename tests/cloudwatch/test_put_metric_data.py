"""PutMetricData: storage and every validation, in CBOR, JSON and query."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError


def _ns() -> str:
    return "Test/" + uuid.uuid4().hex[:8]


def _error(call, **kw):
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"], \
        err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _stats(cw, ns, name, start, end, period=60, stats=("SampleCount", "Sum", "Minimum", "Maximum", "Average"), **kw):
    out = cw.get_metric_statistics(Namespace=ns, MetricName=name, StartTime=start, EndTime=end, Period=period,
                                   Statistics=list(stats), **kw)
    return out["Datapoints"]


def test_values_counts_and_statistic_sets_aggregate(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 600
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "lat", "Timestamp": t, "Value": 10.0, "Unit": "Milliseconds"},
        {"MetricName": "lat", "Timestamp": t + 5, "Values": [1.0, 2.0, 3.0], "Counts": [1, 2, 3], "Unit": "Milliseconds"},
        {"MetricName": "lat", "Timestamp": t + 30, "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 4, "Sum": 40, "Minimum": 5, "Maximum": 15}},
    ])
    [dp] = _stats(cw, ns, "lat", t, t + 60)
    assert dp["SampleCount"] == 1 + 6 + 4
    assert dp["Sum"] == 10 + (1 + 4 + 9) + 40
    assert dp["Minimum"] == 1 and dp["Maximum"] == 15
    assert dp["Average"] == pytest.approx(64 / 11)
    assert dp["Unit"] == "Milliseconds"


def test_aws_namespaces_are_refused(cw):
    code, message, status = _error(cw.put_metric_data, Namespace="AWS/EC2",
                                   MetricData=[{"MetricName": "CPUUtilization", "Value": 1.0}])
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message == "The value AWS/ for parameter Namespace is invalid."


@pytest.mark.parametrize("datum, code, fragment", [
    ({"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
     "InvalidParameterCombination", "mutually exclusive"),
    ({"MetricName": "m", "Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination", "mutually exclusive"),
    ({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue", "same size"),
    ({"MetricName": "m", "Values": [float(i) for i in range(151)]}, "InvalidParameterValue", "150"),
    ({"MetricName": "m", "Value": 2.0 ** 361}, "InvalidParameterValue", "MetricData.member.1.Value"),
    ({"MetricName": "m", "Value": 1.0, "StorageResolution": 30}, "InvalidParameterValue", "StorageResolution"),
    ({"MetricName": "m", "Value": 1.0, "Timestamp": time.time() - 15 * 86400}, "InvalidParameterValue",
     "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks."),
    ({"MetricName": "m", "Value": 1.0, "Timestamp": time.time() + 3 * 3600}, "InvalidParameterValue", "two hours"),
    ({"MetricName": "m", "StatisticValues": {"SampleCount": 2, "Sum": 1, "Minimum": 5, "Maximum": 1}},
     "InvalidParameterValue", "Maximum"),
    ({"MetricName": "m", "StatisticValues": {"SampleCount": 0, "Sum": 1, "Minimum": 1, "Maximum": 1}},
     "InvalidParameterValue", "SampleCount"),
    ({"MetricName": "m"}, "InvalidParameterCombination", "At least one of the parameters MetricData.member.1.Value"),
    ({"MetricName": "m", "Value": 1.0, "Counts": [1.0]}, "InvalidParameterCombination", "Counts"),
    ({"MetricName": "m", "Value": 1.0, "Dimensions": [{"Name": "a", "Value": "1"}, {"Name": "a", "Value": "2"}]},
     "InvalidParameterValue", "duplicate"),
], ids=["value+stats", "value+values", "counts-size", "151-values", "too-big", "resolution", "old", "future",
        "min>max", "count0", "no-value", "counts-alone", "dup-dimension"])
def test_datum_validation(cw, datum, code, fragment):
    got_code, message, status = _error(cw.put_metric_data, Namespace=_ns(), MetricData=[datum])
    assert (got_code, status) == (code, 400)
    assert fragment in message


def test_dimension_and_datum_limits(cw_json):
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    code, message, _ = _error(cw_json.put_metric_data, Namespace=_ns(),
                              MetricData=[{"MetricName": "m", "Value": 1.0, "Dimensions": dims}])
    assert code in ("InvalidParameterValue", "ValidationError", "ValidationException")
    code, message, _ = _error(cw_json.put_metric_data, Namespace=_ns(),
                              MetricData=[{"MetricName": "m", "Value": 1.0}] * 1001)
    assert code in ("InvalidParameterValue", "ValidationError", "ValidationException")


def test_bad_unit_is_refused(mamori, cw_models):
    from cw_clients import client_for
    from botocore.config import Config

    cw = client_for(mamori, cw_models, "json", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    code, _, status = _error(cw.put_metric_data, Namespace=_ns(), MetricData=[{"MetricName": "m", "Value": 1.0, "Unit": "Furlongs"}])
    assert status == 400 and code in ("InvalidParameterValue", "ValidationError", "ValidationException")


def test_high_resolution_keeps_seconds(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 120
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "hr", "Timestamp": t + s, "Value": float(s), "StorageResolution": 1} for s in (1, 11, 21)
    ] + [{"MetricName": "std", "Timestamp": t + s, "Value": float(s)} for s in (1, 11, 21)])
    hr = _stats(cw, ns, "hr", t, t + 60, period=10, stats=("Sum",))
    assert [(dp["Timestamp"].timestamp() - t, dp["Sum"]) for dp in hr] == [(0, 1.0), (10, 11.0), (20, 21.0)]
    std = _stats(cw, ns, "std", t, t + 60, period=10, stats=("Sum",))
    assert [(dp["Timestamp"].timestamp() - t, dp["Sum"]) for dp in std] == [(0, 33.0)]


def test_dimension_order_does_not_make_a_new_metric(cw):
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 120
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": t, "Value": 1.0, "Dimensions": [{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}]},
        {"MetricName": "m", "Timestamp": t, "Value": 2.0, "Dimensions": [{"Name": "b", "Value": "2"}, {"Name": "a", "Value": "1"}]},
    ])
    assert len(cw.list_metrics(Namespace=ns)["Metrics"]) == 1
    [dp] = _stats(cw, ns, "m", t, t + 60, stats=("Sum",), Dimensions=[{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}])
    assert dp["Sum"] == 3.0


def test_a_full_batch_arrives_compressed_and_is_stored(cw):
    # botocore gzips PutMetricData bodies past 10 KiB (Content-Encoding: gzip).
    ns, t = _ns(), (int(time.time()) // 60) * 60 - 300
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "big", "Timestamp": t, "Values": [float(i), float(i + 1000)], "Counts": [1, 2]} for i in range(1000)
    ])
    [dp] = _stats(cw, ns, "big", t, t + 60, stats=("SampleCount", "Sum"))
    assert dp["SampleCount"] == 3000
    assert dp["Sum"] == sum(i + 2 * (i + 1000) for i in range(1000))


def test_every_datum_out_of_range_is_named(cw_json):
    old = time.time() - 20 * 86400
    with pytest.raises(ClientError) as err:
        cw_json.put_metric_data(Namespace=_ns(), MetricData=[
            {"MetricName": "m", "Value": 1.0, "Timestamp": old},
            {"MetricName": "m", "Value": 1.0},
            {"MetricName": "m", "Value": 1.0, "Timestamp": old}])
    assert err.value.response["Error"]["Message"].split("\n") == [
        "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.",
        "The parameter MetricData.member.3.Timestamp must specify a time within the past two weeks."]
