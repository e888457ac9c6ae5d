"""DescribeAlarmHistory: every item type with its HistoryData as AWS writes it, the
filters, history outliving the alarm, and the two-week retention by the mamori clock
(alarms/history.py cites the sources)."""

from __future__ import annotations

import itertools
import json

from alarm_helpers import boundary

_n = itertools.count()


def _items(cw, name, kind=None, **kw):
    args = {"AlarmName": name, **kw}
    if kind:
        args["HistoryItemType"] = kind
    return cw.describe_alarm_history(**args)["AlarmHistoryItems"]


def test_every_item_type_and_its_data(mamori, mamori_clock, cw2):
    cw = cw2
    name = f"history-{next(_n)}"
    topic = mamori.client("sns").create_topic(Name=f"history-{next(_n)}")["TopicArn"]
    boundary(mamori_clock)
    cw.put_metric_alarm(AlarmName=name, AlarmDescription="disk", Namespace="Mamori/History", MetricName="Used",
                        Dimensions=[{"Name": "Disk", "Value": "sda"}], Statistic="Maximum", Period=60, EvaluationPeriods=2,
                        DatapointsToAlarm=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=[topic])
    [created] = _items(cw, name, "ConfigurationUpdate")
    assert created["HistorySummary"] == f'Alarm "{name}" created' and created["AlarmType"] == "MetricAlarm"
    data = json.loads(created["HistoryData"])
    assert data["version"] == "1.0" and data["type"] == "Create"
    alarm = data["createdAlarm"]
    assert list(alarm) == ["alarmName", "alarmDescription", "alarmArn", "alarmConfigurationUpdatedTimestamp", "namespace",
                           "metricName", "statistic", "period", "dimensions", "threshold", "comparisonOperator",
                           "evaluationPeriods", "datapointsToAlarm", "treatMissingData", "stateValue",
                           "stateUpdatedTimestamp", "actionsEnabled", "alarmActions", "insufficientDataActions", "okactions"]
    assert alarm["dimensions"] == [{"value": "sda", "name": "Disk"}] and alarm["threshold"] == 90.0
    assert alarm["stateValue"] == "INSUFFICIENT_DATA" and alarm["okactions"] == [] and alarm["alarmActions"] == [topic]
    assert alarm["alarmConfigurationUpdatedTimestamp"].endswith("+0000")

    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/History", MetricName="Used", Statistic="Maximum", Period=60,
                        EvaluationPeriods=2, Threshold=95, ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic])
    updated = _items(cw, name, "ConfigurationUpdate")[0]  # newest first
    assert updated["HistorySummary"] == f'Alarm "{name}" updated'
    assert json.loads(updated["HistoryData"])["updatedAlarm"]["threshold"] == 95.0

    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="by hand", StateReasonData='{"k": 1}')
    [state] = _items(cw, name, "StateUpdate")
    assert state["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(state["HistoryData"]) == {
        "version": "1.0",
        "oldState": {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"},
        "newState": {"stateValue": "ALARM", "stateReason": "by hand", "stateReasonData": {"k": 1}}}

    [action] = _items(cw, name, "Action")
    assert action["HistorySummary"] == f"Successfully executed action {topic}"
    acted = json.loads(action["HistoryData"])
    assert acted["actionState"] == "Succeeded" and acted["notificationResource"] == topic
    assert json.loads(acted["publishedMessage"])["NewStateValue"] == "ALARM"

    # contributor items exist only for multi-time-series alarms, which mamori does not evaluate
    assert _items(cw, name, "AlarmContributorStateUpdate") == [] and _items(cw, name, "AlarmContributorAction") == []
    everything = _items(cw, name)
    assert {i["HistoryItemType"] for i in everything} == {"ConfigurationUpdate", "StateUpdate", "Action"}
    ascending = _items(cw, name, ScanBy="TimestampAscending")
    assert [i["Timestamp"] for i in ascending] == sorted(i["Timestamp"] for i in everything)
    assert json.loads(ascending[0]["HistoryData"])["type"] == "Create"

    cw.delete_alarms(AlarmNames=[name])
    deleted = _items(cw, name, "ConfigurationUpdate")[0]
    assert deleted["HistorySummary"] == f'Alarm "{name}" deleted'
    assert json.loads(deleted["HistoryData"])["deletedAlarm"]["alarmName"] == name
    assert len(_items(cw, name)) == len(everything) + 1  # the history outlives the alarm


def test_history_is_kept_two_weeks(cw_json, mamori_clock):
    cw = cw_json
    name = f"history-retention-{next(_n)}"
    boundary(mamori_clock)
    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/History", MetricName="Old", Statistic="Sum", Period=3600,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.delete_alarms(AlarmNames=[name])
    mamori_clock.advance(13 * 86400)
    assert len(_items(cw, name)) == 2  # created, deleted
    mamori_clock.advance(86400 + 3600)
    assert _items(cw, name) == []
