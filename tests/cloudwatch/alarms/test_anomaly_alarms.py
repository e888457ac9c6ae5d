"""Anomaly detection alarms: the band model of band.py (mean ± width × standard
deviation of the 14 days before the range) trained on stored history."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

from alarm_helpers import boundary, put

_n = itertools.count()


def test_band_alarm_goes_to_alarm_outside_the_band(cw, mamori_clock):
    name = f"anomaly-{next(_n)}"
    b = boundary(mamori_clock)
    for k in range(20):  # training: 9, 11, 9, 11 ... -> mean 10, stddev 1
        put(cw, "Mamori/Anomaly", name, b - 600 - 60 * k + 1, 9.0 if k % 2 else 11.0)
    metric = {"Namespace": "Mamori/Anomaly", "MetricName": name, "Dimensions": []}
    cw.put_anomaly_detector(SingleMetricAnomalyDetector={**metric, "Stat": "Average"})
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold",
                        ThresholdMetricId="ad1", Metrics=[
                            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}, "ReturnData": True},
                            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True}])
    put(cw, "Mamori/Anomaly", name, b + 1, 11.5)  # inside [8, 12]
    mamori_clock.advance(60)
    [a] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert a["StateValue"] == "OK", a["StateReason"]
    put(cw, "Mamori/Anomaly", name, b + 61, 50.0)
    mamori_clock.advance(60)
    [a] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert a["StateValue"] == "ALARM"
    assert a["StateReason"].startswith("Thresholds Crossed: 1 out of the last 1 datapoints [50.0 (")
    assert "greater than the upper thresholds [12.0]" in a["StateReason"]
    data = json.loads(a["StateReasonData"])
    assert data["recentUpperThresholds"] == [12.0] and data["recentLowerThresholds"] == [8.0]
    assert a["ThresholdMetricId"] == "ad1" and "Threshold" not in a

    # the same band through GetMetricData's ANOMALY_DETECTION_BAND
    got = cw.get_metric_data(StartTime=datetime.fromtimestamp(b, timezone.utc), EndTime=datetime.fromtimestamp(b + 120, timezone.utc),
                             MetricDataQueries=[
                                 {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}, "ReturnData": False},
                                 {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"}])["MetricDataResults"]
    values = sorted({v for r in got for v in r["Values"]})
    assert values == [8.0, 12.0]
    cw.delete_alarms(AlarmNames=[name])


def test_untrained_band_counts_as_missing(cw_json, mamori_clock):
    cw = cw_json
    name = f"untrained-{next(_n)}"
    b = boundary(mamori_clock)
    metric = {"Namespace": "Mamori/Anomaly", "MetricName": name, "Dimensions": []}
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, ComparisonOperator="GreaterThanUpperThreshold",
                        ThresholdMetricId="ad1", Metrics=[
                            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}, "ReturnData": True},
                            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1)"}])
    put(cw, "Mamori/Anomaly", name, b + 1, 500.0)
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="setup")
    mamori_clock.advance(60)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    cw.delete_alarms(AlarmNames=[name])
