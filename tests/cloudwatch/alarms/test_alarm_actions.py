"""An alarm breaching through PutMetricData + the clock: the state-change event reaches
EventBridge (a rule delivering to a log group), the SNS action gets AWS's notification
JSON (recorded in the Action history item until SNS runs in mamori), Auto Scaling
actions are recorded, and DisableAlarmActions stops actions but not state changes."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

from alarm_helpers import Sink, boundary, put

_n = itertools.count()


def _event_sink(mamori, name):
    events = mamori.client("events")
    sink = Sink()
    conn = events.create_connection(Name=f"c-{name}", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
    dest = events.create_api_destination(Name=f"d-{name}", ConnectionArn=conn, InvocationEndpoint=sink.url,
                                         HttpMethod="POST")["ApiDestinationArn"]
    events.put_rule(Name=f"alarms-{name}", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], "detail": {"alarmName": [name]}}))
    events.put_rule(Name=f"config-{name}", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm Configuration Change"], "detail": {"alarmName": [name]}}))
    events.put_targets(Rule=f"config-{name}", Targets=[{"Id": "sink", "Arn": dest}])
    events.put_targets(Rule=f"alarms-{name}", Targets=[{"Id": "sink", "Arn": dest}])
    return sink


def test_breach_emits_event_and_notification(mamori, mamori_clock, cw):
    name = f"cpu-high-{next(_n)}"
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:ops"
    scaling = (f"arn:aws:autoscaling:{mamori.region}:{mamori.account_id}:scalingPolicy:1a2b:autoScalingGroupName/web:"
               "policyName/down")
    seen = _event_sink(mamori, name)
    b = boundary(mamori_clock)
    cw.put_metric_alarm(AlarmName=name, AlarmDescription="CPU too high", Namespace="Mamori/App", MetricName=name,
                        Dimensions=[{"Name": "Host", "Value": "web-1"}], Statistic="Average", Period=60,
                        EvaluationPeriods=1, Threshold=50.0, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=[topic], OKActions=[scaling])
    seen.wait(1)  # the creation event arrives before the state change is caused
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["StateReason"] == "Unchecked: Initial alarm creation"
    put(cw, "Mamori/App", name, b + 10, 99.5, [{"Name": "Host", "Value": "web-1"}])
    mamori_clock.advance(60)  # the period [b, b+60) ends and is evaluated at b+60
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    # AWS's words for an alarm without DatapointsToAlarm (alarms/reason.py cites examples)
    at = datetime.fromtimestamp(b, timezone.utc)
    assert alarm["StateReason"] == (f"Threshold Crossed: 1 datapoint [99.5 ({at:%d/%m/%y %H:%M:%S})] was greater than "
                                    "the threshold (50.0).")
    data = json.loads(alarm["StateReasonData"])
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert list(data) == ["version", "queryDate", "startDate", "statistic", "period", "recentDatapoints", "threshold",
                          "evaluatedDatapoints"]
    assert data["statistic"] == "Average" and data["period"] == 60 and data["recentDatapoints"] == [99.5]
    assert data["threshold"] == 50.0 and data["version"] == "1.0" and data["startDate"] == stamp
    assert data["evaluatedDatapoints"] == [{"timestamp": stamp, "sampleCount": 1.0, "value": 99.5}]

    [created, event] = seen.wait(2)
    assert created["detail-type"] == "CloudWatch Alarm Configuration Change" and created["detail"]["operation"] == "create"
    assert created["detail"]["configuration"]["alarmActions"] == [topic]
    assert created["detail"]["state"]["value"] == "INSUFFICIENT_DATA"
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [alarm["AlarmArn"]] and event["account"] == mamori.account_id
    detail = event["detail"]
    assert detail["alarmName"] == name and detail["state"]["value"] == "ALARM"
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert detail["state"]["reason"] == alarm["StateReason"]
    assert detail["configuration"]["description"] == "CPU too high"
    assert detail["configuration"]["metrics"][0]["metricStat"]["metric"] == {
        "namespace": "Mamori/App", "name": name, "dimensions": {"Host": "web-1"}}

    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    [sns] = [a for a in actions if topic in a["HistorySummary"]]
    message = json.loads(json.loads(sns["HistoryData"])["publishedMessage"])
    assert message["AlarmName"] == name and message["AlarmDescription"] == "CPU too high"
    assert message["NewStateValue"] == "ALARM" and message["OldStateValue"] == "INSUFFICIENT_DATA"
    assert message["AWSAccountId"] == mamori.account_id and message["AlarmArn"] == alarm["AlarmArn"]
    assert message["NewStateReason"] == alarm["StateReason"]
    assert message["StateChangeTime"].endswith("+0000")
    trigger = message["Trigger"]
    assert trigger["MetricName"] == name and trigger["Namespace"] == "Mamori/App"
    assert trigger["StatisticType"] == "Statistic" and trigger["Statistic"] == "AVERAGE"
    assert trigger["Dimensions"] == [{"value": "web-1", "name": "Host"}] and trigger["Unit"] is None
    assert trigger["Threshold"] == 50.0 and trigger["ComparisonOperator"] == "GreaterThanThreshold"
    assert trigger["EvaluationPeriods"] == 1 and trigger["Period"] == 60

    states = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert states[0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(states[0]["HistoryData"])["newState"]["stateValue"] == "ALARM"

    # back under the threshold: OK, and the Auto Scaling OK action is recorded
    put(cw, "Mamori/App", name, b + 70, 10.0, [{"Name": "Host", "Value": "web-1"}])
    mamori_clock.advance(60)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    summaries = [a["HistorySummary"] for a in cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]]
    assert f"Successfully executed action {scaling}" in summaries
    assert [e["detail"]["state"]["value"] for e in seen.wait(3)][1:] == ["ALARM", "OK"]

    # actions disabled: the state still changes, no action runs
    cw.disable_alarm_actions(AlarmNames=[name])
    # deliveries run on worker threads: wait for each configuration event before the
    # next change, so the order they arrive in is the order they were emitted in
    seen.wait(4)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    put(cw, "Mamori/App", name, b + 130, 70.0, [{"Name": "Host", "Value": "web-1"}])
    mamori_clock.advance(60)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM"
    after = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert len(after) == len(summaries)
    cw.enable_alarm_actions(AlarmNames=[name])
    seen.wait(6)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is True
    cw.delete_alarms(AlarmNames=[name])
    operations = [e["detail"].get("operation") for e in seen.wait(7) if e["detail-type"].endswith("Configuration Change")]
    assert operations == ["create", "update", "update", "delete"]  # disable/enable actions are updates
    seen.close()
    # history outlives the alarm
    assert cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]


def test_actions_fire_only_on_transitions(mamori, mamori_clock, cw_json):
    cw = cw_json
    name = f"steady-{next(_n)}"
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:ops"
    b = boundary(mamori_clock)
    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/App", MetricName=name, Statistic="Maximum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        AlarmActions=[topic])
    for i in range(3):
        put(cw, "Mamori/App", name, b + 60 * i + 1, 5.0)
    mamori_clock.advance(180)
    items = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert len(items) == 1
