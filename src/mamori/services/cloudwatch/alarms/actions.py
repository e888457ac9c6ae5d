"""What an alarm state change sends out: the "CloudWatch Alarm State Change" event
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html)
and the SNS notification JSON (AWS's sample payload, aws-semantics.md 5G).

    aws_time(t)                 2015-06-03T17:43:27.123+0000
    state_event(alarm, old)     the EventBridge envelope's detail
    sns_message(alarm, old)     (Subject, Message JSON text)
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)", "eu-central-1": "EU (Frankfurt)", "eu-north-1": "EU (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)", "sa-east-1": "South America (Sao Paulo)", "ca-central-1": "Canada (Central)",
}


def aws_time(t: float) -> str:
    d = datetime.fromtimestamp(t, timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


def _state(alarm: dict, which: str) -> dict:
    s = alarm[which]
    out = {"value": s["value"], "reason": s["reason"], "timestamp": aws_time(s["time"])}
    if s.get("data"):
        out["reasonData"] = s["data"]
    return out


def _metrics(alarm: dict) -> list[dict]:
    if alarm.get("Metrics"):
        out = []
        for q in alarm["Metrics"]:
            item = {"id": q["Id"], "returnData": q.get("ReturnData", True)}
            if q.get("Expression"):
                item["expression"] = q["Expression"]
                item["label"] = q.get("Label", q["Id"])
            if q.get("MetricStat"):
                ms = q["MetricStat"]
                item["metricStat"] = {"metric": {"namespace": ms["Metric"].get("Namespace"), "name": ms["Metric"].get("MetricName"),
                                                 "dimensions": {d["Name"]: d["Value"] for d in ms["Metric"].get("Dimensions") or []}},
                                      "period": ms["Period"], "stat": ms["Stat"]}
            out.append(item)
        return out
    return [{"id": "m1", "returnData": True, "metricStat": {
        "metric": {"namespace": alarm.get("Namespace"), "name": alarm.get("MetricName"),
                   "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}},
        "period": alarm.get("Period"), "stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic")}}]


def state_event(alarm: dict, previous: dict, suppressed: tuple[str, str] | None = None) -> dict:
    detail = {
        "alarmName": alarm["AlarmName"],
        "state": _state(alarm, "state"),
        "previousState": _state({"state": previous}, "state"),
        "configuration": {"description": alarm.get("AlarmDescription")},
    }
    if alarm["type"] == "MetricAlarm":
        detail["configuration"]["metrics"] = _metrics(alarm)
    else:
        detail["configuration"]["alarmRule"] = alarm["AlarmRule"]
        detail["configuration"]["actionsSuppressor"] = alarm.get("ActionsSuppressor")
        if suppressed:
            detail["state"]["actionsSuppressedBy"], detail["state"]["actionsSuppressedReason"] = suppressed
    return detail


def sns_message(alarm: dict, previous: dict) -> tuple[str, str]:
    region = alarm["region"]
    state = alarm["state"]
    body = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": alarm["account"],
        "AlarmConfigurationUpdatedTimestamp": aws_time(alarm["updated"]),
        "NewStateValue": state["value"],
        "NewStateReason": state["reason"],
        "StateChangeTime": aws_time(state["time"]),
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": previous["value"],
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
    }
    if alarm["type"] == "MetricAlarm":
        trigger = {
            "Period": alarm.get("Period"), "EvaluationPeriods": alarm["EvaluationPeriods"],
            "DatapointsToAlarm": alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]),
            "ComparisonOperator": alarm["ComparisonOperator"], "Threshold": alarm.get("Threshold"),
            "TreatMissingData": alarm.get("TreatMissingData", "missing"),
            "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", ""),
        }
        if alarm.get("MetricName"):
            trigger.update({
                "MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"],
                "StatisticType": "ExtendedStatistic" if alarm.get("ExtendedStatistic") else "Statistic",
                "Statistic": (alarm.get("ExtendedStatistic") or alarm.get("Statistic", "")).upper(),
                "Unit": alarm.get("Unit"),
                "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or []],
            })
        else:
            trigger["Metrics"] = _metrics(alarm)
        body["Trigger"] = trigger
    else:
        body["AlarmRule"] = alarm["AlarmRule"]
    subject = f'{state["value"]}: "{alarm["AlarmName"]}" in {REGION_NAMES.get(region, region)}'
    return subject[:100], json.dumps(body)


_CONFIG_KEYS = {
    "AlarmDescription": "description", "ActionsEnabled": "actionsEnabled", "AlarmActions": "alarmActions",
    "OKActions": "okActions", "InsufficientDataActions": "insufficientDataActions", "EvaluationPeriods": "evaluationPeriods",
    "DatapointsToAlarm": "datapointsToAlarm", "Threshold": "threshold", "ComparisonOperator": "comparisonOperator",
    "TreatMissingData": "treatMissingData", "ThresholdMetricId": "thresholdMetricId", "AlarmRule": "alarmRule",
    "ActionsSuppressor": "actionsSuppressor", "ActionsSuppressorWaitPeriod": "actionsSuppressorWaitPeriod",
    "ActionsSuppressorExtensionPeriod": "actionsSuppressorExtensionPeriod",
}


def configuration(alarm: dict) -> dict:
    out = {camel: alarm[key] for key, camel in _CONFIG_KEYS.items() if key in alarm}
    if alarm["type"] == "MetricAlarm":
        out["metrics"] = _metrics(alarm)
    return out


def configuration_event(alarm: dict, operation: str, previous: dict | None = None) -> dict:
    """detail of "CloudWatch Alarm Configuration Change" (cloudwatch-and-eventbridge.html):
    operation create | update | delete, the alarm's state, its configuration and, on an
    update, the previous configuration."""
    detail = {"alarmName": alarm["AlarmName"], "operation": operation,
              "state": {"value": alarm["state"]["value"], "timestamp": aws_time(alarm["state"]["time"])},
              "configuration": configuration(alarm)}
    if previous is not None:
        detail["previousConfiguration"] = configuration(previous)
    return detail
