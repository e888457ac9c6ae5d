"""Alarm history: what DescribeAlarmHistory keeps, for how long, and the HistoryData JSON
of ConfigurationUpdate items.

    RETENTION                 how long history items are kept, by the mamori clock
    alarm_json(alarm)         an alarm's configuration as history data spells it
    configuration_data(...)   HistoryData of a create / update / delete

Retention: CloudWatch keeps the history of an alarm, deleted or not, for two weeks
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/cli/cli-mon-describe-alarm-history.html:
"retains the history of active and deleted alarms for two weeks"; the AWS blog
https://aws.amazon.com/blogs/mt/extending-and-exploring-alarm-history-in-amazon-cloudwatch-part-1/
speaks of "the standard 14 day alarm history"). The current API reference only says the
history outlives the alarm; no AWS page found gives 30 days.

ConfigurationUpdate data, as AWS writes it (DescribeAlarmHistory output quoted in public
repositories, e.g. `{"version":"1.0","type":"Create","createdAlarm":{"alarmName":...,
"alarmArn":...,"alarmConfigurationUpdatedTimestamp":"2022-11-02T15:55:30.959+0000",
"namespace":...,"metricName":...,"statistic":"Sum","period":60,"dimensions":[{"value":
"PutItem","name":"Operation"}],"threshold":1.0,"comparisonOperator":...,
"evaluationPeriods":1,"stateValue":"INSUFFICIENT_DATA","stateUpdatedTimestamp":...,
"actionsEnabled":true,"alarmActions":[...],"insufficientDataActions":[],"okactions":[]}}`
- camel case, and `okactions` in lower case). Updates carry `updatedAlarm` and deletions
`deletedAlarm` with the same shape (by analogy: no sample of those was found).
"""

from __future__ import annotations

from typing import Any

from mamori.services.cloudwatch.alarms.actions import aws_time

RETENTION = 14 * 86400
HISTORY_TYPES = ("ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction")

# (API member, history data key) in the order AWS writes them
_FIELDS = (
    ("AlarmName", "alarmName"), ("AlarmDescription", "alarmDescription"), ("AlarmArn", "alarmArn"),
    (None, "alarmConfigurationUpdatedTimestamp"), ("Namespace", "namespace"), ("MetricName", "metricName"),
    ("Statistic", "statistic"), ("ExtendedStatistic", "extendedStatistic"), ("Period", "period"), ("Unit", "unit"),
    ("Dimensions", "dimensions"), ("Metrics", "metrics"), ("Threshold", "threshold"),
    ("ThresholdMetricId", "thresholdMetricId"), ("ComparisonOperator", "comparisonOperator"),
    ("EvaluationPeriods", "evaluationPeriods"), ("DatapointsToAlarm", "datapointsToAlarm"),
    ("TreatMissingData", "treatMissingData"), ("EvaluateLowSampleCountPercentile", "evaluateLowSampleCountPercentile"),
    ("AlarmRule", "alarmRule"), ("ActionsSuppressor", "actionsSuppressor"),
    ("ActionsSuppressorWaitPeriod", "actionsSuppressorWaitPeriod"),
    ("ActionsSuppressorExtensionPeriod", "actionsSuppressorExtensionPeriod"),
    (None, "stateValue"), (None, "stateUpdatedTimestamp"), ("ActionsEnabled", "actionsEnabled"),
    ("AlarmActions", "alarmActions"), ("InsufficientDataActions", "insufficientDataActions"), ("OKActions", "okactions"),
)


def _metric_query(q: dict) -> dict:
    out: dict[str, Any] = {"id": q["Id"]}
    if q.get("MetricStat"):
        ms = q["MetricStat"]
        metric = ms.get("Metric") or {}
        out["metricStat"] = {"metric": {"namespace": metric.get("Namespace"), "metricName": metric.get("MetricName"),
                                        "dimensions": [{"value": d["Value"], "name": d["Name"]} for d in metric.get("Dimensions") or []]},
                             "period": ms.get("Period"), "stat": ms.get("Stat")}
    if q.get("Expression"):
        out["expression"] = q["Expression"]
    if q.get("Label"):
        out["label"] = q["Label"]
    out["returnData"] = q.get("ReturnData", True)
    return out


def alarm_json(alarm: dict) -> dict:
    out: dict[str, Any] = {}
    for member, key in _FIELDS:
        if key == "alarmConfigurationUpdatedTimestamp":
            out[key] = aws_time(alarm["updated"])
        elif key == "stateValue":
            out[key] = alarm["state"]["value"]
        elif key == "stateUpdatedTimestamp":
            out[key] = aws_time(alarm["state"]["time"])
        elif member == "Dimensions" and alarm.get("MetricName"):
            out[key] = [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or []]
        elif member == "Metrics" and alarm.get("Metrics"):
            out[key] = [_metric_query(q) for q in alarm["Metrics"]]
        elif member == "Threshold" and alarm.get("Threshold") is not None:
            out[key] = float(alarm["Threshold"])
        elif member in ("Dimensions", "Metrics", "Threshold"):
            continue
        elif member is not None and alarm.get(member) is not None:
            out[key] = alarm[member]
    return out


def configuration_data(kind: str, alarm: dict) -> dict:
    """HistoryData of a ConfigurationUpdate: kind Create | Update | Delete."""
    key = {"Create": "createdAlarm", "Update": "updatedAlarm", "Delete": "deletedAlarm"}[kind]
    return {"version": "1.0", "type": kind, key: alarm_json(alarm)}
