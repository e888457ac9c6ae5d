"""Alarms live in the resource store: after a restart on the same data directory they
are described as before and the clock-driven evaluation picks them up again."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from mamori.config import Config
from mamori.testing.plugin import ClockControl, MamoriServer


def test_alarm_evaluates_after_restart(tmp_path):
    config = dict(data_dir=tmp_path, strict=True)
    first = MamoriServer.start(Config(**config))
    try:
        clock = ClockControl(first)
        b = math.floor(clock.now() / 60) * 60 + 60
        clock.freeze(b + 5)
        cw = first.client("cloudwatch")
        cw.put_metric_alarm(AlarmName="durable", Namespace="Mamori/Restart", MetricName="m", Statistic="Maximum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
        cw.put_metric_data(Namespace="Mamori/Restart", MetricData=[
            {"MetricName": "m", "Value": 5.0, "Timestamp": datetime.fromtimestamp(b + 10, timezone.utc)}])
    finally:
        first.stop()
    second = MamoriServer.start(Config(**config))
    try:
        clock = ClockControl(second)
        cw = second.client("cloudwatch")
        [alarm] = cw.describe_alarms(AlarmNames=["durable"])["MetricAlarms"]
        assert alarm["StateValue"] == "INSUFFICIENT_DATA"
        clock.freeze(b + 65)
        [alarm] = cw.describe_alarms(AlarmNames=["durable"])["MetricAlarms"]
        assert alarm["StateValue"] == "ALARM", alarm["StateReason"]
        history = cw.describe_alarm_history(AlarmName="durable")["AlarmHistoryItems"]
        assert {i["HistoryItemType"] for i in history} == {"ConfigurationUpdate", "StateUpdate"}
    finally:
        second.stop()
