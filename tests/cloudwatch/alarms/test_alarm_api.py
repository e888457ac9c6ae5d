"""PutMetricAlarm validation, DescribeAlarms filters and paging, DescribeAlarmsForMetric,
SetAlarmState errors, DeleteAlarms, history, anomaly detectors, metric math alarms."""

from __future__ import annotations

import itertools
import json

import pytest
from alarm_helpers import boundary, put
from botocore.exceptions import ClientError

_n = itertools.count()
BASE = dict(Namespace="Mamori/Api", MetricName="Latency", Statistic="Average", Period=60, EvaluationPeriods=1,
            Threshold=1.0, ComparisonOperator="GreaterThanThreshold")


def _code(err):
    return err.value.response["Error"]["Code"]


@pytest.mark.parametrize("change,code", [
    ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
    ({"Period": 45}, "ValidationError"),
    ({"Period": 3600, "EvaluationPeriods": 200}, "ValidationError"),
    ({"Period": 60, "EvaluationPeriods": 1441}, "ValidationError"),
    ({"EvaluationPeriods": 2, "DatapointsToAlarm": 3}, "ValidationError"),
    ({"TreatMissingData": "sometimes"}, "InvalidParameterValue"),
    ({"Statistic": "Median"}, "ValidationError"),
    ({"AlarmActions": ["arn:aws:sns:us-east-1:000000000000:t"] * 6}, "ValidationError"),
    ({"AlarmDescription": "x" * 1025}, "ValidationError"),
    ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ValidationError"),
    ({"Metrics": [{"Id": "m1", "Expression": "1"}]}, "InvalidParameterCombination"),
    ({"EvaluateLowSampleCountPercentile": "maybe"}, "InvalidParameterValue"),
])
def test_put_metric_alarm_validation(cw, change, code):
    with pytest.raises(ClientError) as err:
        cw.put_metric_alarm(AlarmName="invalid", **{**BASE, **change})
    # model constraints (enums, lengths) are checked by the gateway, which names the
    # JSON/CBOR error ValidationException and the query one ValidationError
    assert _code(err) == code or (code == "ValidationError" and _code(err) == "ValidationException")


def test_math_alarm_needs_one_returned_series(cw_json):
    with pytest.raises(ClientError) as err:
        cw_json.put_metric_alarm(AlarmName="math", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                 Metrics=[{"Id": "a", "Expression": "1"}, {"Id": "b", "Expression": "2"}])
    assert _code(err) == "ValidationError"


def test_describe_filters_paging_and_update(cw, mamori_clock):
    mamori_clock.freeze()  # no evaluation may undo SetAlarmState during the test
    k = next(_n)
    names = [f"f{k}-{i:02d}" for i in range(5)]
    topic = "arn:aws:sns:us-east-1:000000000000:filters"
    for i, name in enumerate(names):
        cw.put_metric_alarm(AlarmName=name, **BASE, AlarmActions=[topic] if i % 2 else [],
                            Dimensions=[{"Name": "Host", "Value": f"h{i}"}])
    got = cw.describe_alarms(AlarmNamePrefix=f"f{k}-")["MetricAlarms"]
    assert [a["AlarmName"] for a in got] == names
    first = cw.describe_alarms(AlarmNamePrefix=f"f{k}-", MaxRecords=2)
    assert len(first["MetricAlarms"]) == 2 and first["NextToken"]
    rest = cw.describe_alarms(AlarmNamePrefix=f"f{k}-", MaxRecords=10, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == names[2:]
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=f"f{k}-", ActionPrefix=topic)["MetricAlarms"]] == [names[1], names[3]]
    cw.set_alarm_state(AlarmName=names[4], StateValue="OK", StateReason="by hand", StateReasonData='{"why": "test"}')
    ok = cw.describe_alarms(AlarmNamePrefix=f"f{k}-", StateValue="OK")["MetricAlarms"]
    assert [a["AlarmName"] for a in ok] == [names[4]] and json.loads(ok[0]["StateReasonData"]) == {"why": "test"}
    assert cw.describe_alarms(AlarmNamePrefix=f"f{k}-", AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []
    # an update overwrites the configuration and keeps the state
    cw.put_metric_alarm(AlarmName=names[4], **{**BASE, "Threshold": 9.0})
    [a] = cw.describe_alarms(AlarmNames=[names[4]])["MetricAlarms"]
    assert a["Threshold"] == 9.0 and a["StateValue"] == "OK" and "Dimensions" not in a or a["Dimensions"] == []
    kinds = {json.loads(i["HistoryData"])["type"] for i in cw.describe_alarm_history(
        AlarmName=names[4], HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]}
    assert kinds == {"Create", "Update"}

    found = cw.describe_alarms_for_metric(Namespace="Mamori/Api", MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "h2"}])
    assert [a["AlarmName"] for a in found["MetricAlarms"]] == [names[2]]
    cw.delete_alarms(AlarmNames=names)
    with pytest.raises(ClientError) as err:
        cw.delete_alarms(AlarmNames=[names[0]])
    assert _code(err) == "ResourceNotFound"


def test_set_alarm_state_errors(cw):
    with pytest.raises(ClientError) as err:
        cw.set_alarm_state(AlarmName="no-such-alarm", StateValue="OK", StateReason="x")
    assert _code(err) == "ResourceNotFound"
    name = f"s-{next(_n)}"
    cw.put_metric_alarm(AlarmName=name, **BASE)
    with pytest.raises(ClientError) as err:
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x", StateReasonData="{not json")
    assert _code(err) == "InvalidFormat"
    cw.delete_alarms(AlarmNames=[name])


def test_math_alarm_evaluates(cw_json, mamori_clock):
    cw = cw_json
    name = f"ratio-{next(_n)}"
    b = boundary(mamori_clock)
    put(cw, "Mamori/Math", "Errors", b + 1, 30.0)
    put(cw, "Mamori/Math", "Requests", b + 2, 100.0)
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanThreshold", Metrics=[
        {"Id": "e", "MetricStat": {"Metric": {"Namespace": "Mamori/Math", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"},
         "ReturnData": False},
        {"Id": "r", "MetricStat": {"Metric": {"Namespace": "Mamori/Math", "MetricName": "Requests"}, "Period": 60, "Stat": "Sum"},
         "ReturnData": False},
        {"Id": "pct", "Expression": "100 * e / r", "Label": "error rate", "ReturnData": True}])
    mamori_clock.advance(60)
    [a] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert a["StateValue"] == "ALARM" and "[30.0 (" in a["StateReason"]
    assert "statistic" not in json.loads(a["StateReasonData"])  # math alarms omit it
    cw.delete_alarms(AlarmNames=[name])


def test_anomaly_detectors(cw):
    k = next(_n)
    metric = {"Namespace": "Mamori/Anomaly", "MetricName": f"m{k}", "Dimensions": [{"Name": "Host", "Value": "a"}], "Stat": "Average"}
    cw.put_anomaly_detector(SingleMetricAnomalyDetector=metric)
    got = cw.describe_anomaly_detectors(Namespace="Mamori/Anomaly", MetricName=f"m{k}")["AnomalyDetectors"]
    assert len(got) == 1 and got[0]["SingleMetricAnomalyDetector"]["Stat"] == "Average"
    cw.delete_anomaly_detector(SingleMetricAnomalyDetector=metric)
    assert cw.describe_anomaly_detectors(Namespace="Mamori/Anomaly", MetricName=f"m{k}")["AnomalyDetectors"] == []
    with pytest.raises(ClientError) as err:
        cw.delete_anomaly_detector(SingleMetricAnomalyDetector=metric)
    assert _code(err) == "ResourceNotFound"


def test_long_clock_advance_stays_fast(cw_json, mamori_clock):
    import time

    name = f"long-{next(_n)}"
    boundary(mamori_clock)
    cw_json.put_metric_alarm(AlarmName=name, Namespace="Mamori/Long", MetricName=name, Statistic="Sum", Period=60,
                             EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cw_json.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="setup")
    started = time.monotonic()
    mamori_clock.advance(3 * 86400)  # older missed minutes are skipped, the last day evaluated
    assert time.monotonic() - started < 60
    assert cw_json.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    b = boundary(mamori_clock)
    put(cw_json, "Mamori/Long", name, b + 1, 5.0)
    mamori_clock.advance(60)
    assert cw_json.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM"
    cw_json.delete_alarms(AlarmNames=[name])


def test_high_resolution_alarm_evaluates_every_ten_seconds(cw_json, mamori_clock):
    from datetime import datetime, timezone

    name = f"fast-{next(_n)}"
    b = boundary(mamori_clock, 10)  # frozen at b + 5
    cw_json.put_metric_data(Namespace="Mamori/Fast", MetricData=[{
        "MetricName": name, "Value": 9.0, "StorageResolution": 1, "Timestamp": datetime.fromtimestamp(b + 1, timezone.utc)}])
    cw_json.put_metric_alarm(AlarmName=name, Namespace="Mamori/Fast", MetricName=name, Statistic="Maximum", Period=10,
                             EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold")
    mamori_clock.advance(10)  # the period [b, b+10) is evaluated at b+10
    [a] = cw_json.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert a["StateValue"] == "ALARM" and json.loads(a["StateReasonData"])["period"] == 10
    cw_json.delete_alarms(AlarmNames=[name])
