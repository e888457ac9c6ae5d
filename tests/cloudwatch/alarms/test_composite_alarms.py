"""Composite alarms: the AlarmRule over three metric alarms, the children/parents
filters, and an actions suppressor (Alarm, WaitPeriod)."""

from __future__ import annotations

import itertools
import json

import pytest
from alarm_helpers import boundary
from botocore.exceptions import ClientError

_n = itertools.count()


def _metric_alarm(cw, name):
    # TreatMissingData=ignore: with no data the evaluation keeps what SetAlarmState set
    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/Composite", MetricName=name, Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="ignore")


def _state(cw, name):
    r = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    return (r["CompositeAlarms"] + r["MetricAlarms"])[0]


def test_rule_over_three_alarms(mamori, cw):
    k = next(_n)
    a, b, c, top = f"db-{k}", f"api-{k}", f"queue-{k}", f"service-{k}"
    for name in (a, b, c):
        _metric_alarm(cw, name)
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:pager"
    cw.put_composite_alarm(AlarmName=top, AlarmRule=f'ALARM({a}) AND (ALARM("{b}") OR NOT OK({c}))', AlarmActions=[topic])
    assert _state(cw, top)["StateValue"] == "OK"  # evaluated at creation: ALARM(a) is false

    def set_(name, value):
        cw.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")

    set_(c, "OK")
    set_(a, "ALARM")
    assert _state(cw, top)["StateValue"] == "OK"  # b not in ALARM, c is OK
    set_(b, "ALARM")
    alarm = _state(cw, top)
    assert alarm["StateValue"] == "ALARM"
    arn_b = _state(cw, b)["AlarmArn"]
    assert alarm["StateReason"].startswith(f"{arn_b} transitioned to ALARM at ")
    triggering = json.loads(alarm["StateReasonData"])["triggeringAlarms"]
    assert {t["arn"] for t in triggering} == {_state(cw, x)["AlarmArn"] for x in (a, b, c)}
    set_(b, "OK")
    assert _state(cw, top)["StateValue"] == "OK"
    set_(c, "INSUFFICIENT_DATA")  # NOT OK(c) is true
    assert _state(cw, top)["StateValue"] == "ALARM"
    set_(a, "OK")
    assert _state(cw, top)["StateValue"] == "OK"
    summaries = [i["HistorySummary"] for i in cw.describe_alarm_history(
        AlarmName=top, AlarmTypes=["CompositeAlarm"], HistoryItemType="StateUpdate", ScanBy="TimestampAscending")["AlarmHistoryItems"]]
    assert summaries == ["Alarm updated from INSUFFICIENT_DATA to OK", "Alarm updated from OK to ALARM",
                         "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]
    # without AlarmTypes only metric alarms' history comes back (API_DescribeAlarmHistory.html)
    assert cw.describe_alarm_history(AlarmName=top, HistoryItemType="Action")["AlarmHistoryItems"] == []
    actions = cw.describe_alarm_history(AlarmName=top, AlarmTypes=["CompositeAlarm"], HistoryItemType="Action")["AlarmHistoryItems"]
    assert len(actions) == 2 and all(topic in i["HistorySummary"] for i in actions)
    msg = json.loads(json.loads(actions[0]["HistoryData"])["publishedMessage"])
    assert msg["AlarmRule"].startswith("ALARM(") and msg["NewStateValue"] == "ALARM"

    kids = cw.describe_alarms(ChildrenOfAlarmName=top)["MetricAlarms"]
    assert sorted(x["AlarmName"] for x in kids) == sorted([a, b, c])
    parents = cw.describe_alarms(ParentsOfAlarmName=a)["CompositeAlarms"]
    assert [p["AlarmName"] for p in parents] == [top]
    with pytest.raises(ClientError) as err:  # a child of a composite can't go first
        cw.delete_alarms(AlarmNames=[a])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    cw.delete_alarms(AlarmNames=[top, a, b, c])


def test_suppressor_suppresses_actions(mamori, mamori_clock, cw):
    k = next(_n)
    child, maint, top = f"errors-{k}", f"maintenance-{k}", f"frontend-{k}"
    _metric_alarm(cw, child)
    _metric_alarm(cw, maint)
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:pager"
    cw.put_composite_alarm(AlarmName=top, AlarmRule=f"ALARM({child})", AlarmActions=[topic],
                           ActionsSuppressor=maint, ActionsSuppressorWaitPeriod=120, ActionsSuppressorExtensionPeriod=60)
    alarm = _state(cw, top)
    assert alarm["ActionsSuppressor"].endswith(f":alarm:{maint}") and alarm["ActionsSuppressorWaitPeriod"] == 120

    def actions():
        return cw.describe_alarm_history(AlarmName=top, AlarmTypes=["CompositeAlarm"], HistoryItemType="Action")["AlarmHistoryItems"]

    def set_(name, value):
        cw.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")

    # the suppressor in ALARM: the composite changes state, its actions don't run
    set_(maint, "ALARM")
    set_(child, "ALARM")
    alarm = _state(cw, top)
    assert alarm["StateValue"] == "ALARM" and alarm["ActionsSuppressedBy"] == "Alarm"
    assert alarm["ActionsSuppressedReason"]
    set_(child, "OK")
    set_(maint, "OK")
    # within the extension period after the suppressor left ALARM: still suppressed
    set_(child, "ALARM")
    assert _state(cw, top)["ActionsSuppressedBy"] == "ExtensionPeriod"
    set_(child, "OK")
    boundary(mamori_clock)
    mamori_clock.advance(120)  # past the extension period
    assert not actions()

    # the suppressor stays OK through the wait period: the actions run after it
    set_(child, "ALARM")
    assert _state(cw, top)["StateValue"] == "ALARM" and not actions()
    mamori_clock.advance(130)
    [done] = actions()
    assert json.loads(json.loads(done["HistoryData"])["publishedMessage"])["NewStateValue"] == "ALARM"

    # the suppressor goes to ALARM within the wait period: suppressed by WaitPeriod
    set_(child, "OK")
    set_(child, "ALARM")
    set_(maint, "ALARM")
    mamori_clock.advance(130)
    assert _state(cw, top)["ActionsSuppressedBy"] == "WaitPeriod"
    assert len(actions()) == 1
    cw.delete_alarms(AlarmNames=[top])
    cw.delete_alarms(AlarmNames=[child, maint])


@pytest.mark.parametrize("rule_text", ["ALARM(x", "ALARM() AND TRUE", "FOO(x)", "TRUE AND", "(TRUE"])
def test_bad_rules(cw_json, rule_text):
    with pytest.raises(ClientError) as err:
        cw_json.put_composite_alarm(AlarmName="bad", AlarmRule=rule_text)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_rule_naming_a_missing_alarm(cw_json):
    with pytest.raises(ClientError) as err:
        cw_json.put_composite_alarm(AlarmName="bad", AlarmRule="ALARM(nowhere-to-be-found)")
    assert "nowhere-to-be-found" in err.value.response["Error"]["Message"]


def test_constant_rules(cw_json):
    cw_json.put_composite_alarm(AlarmName="always", AlarmRule="TRUE OR FALSE")
    cw_json.put_composite_alarm(AlarmName="never", AlarmRule="NOT TRUE")
    assert _state(cw_json, "always")["StateValue"] == "ALARM" and _state(cw_json, "never")["StateValue"] == "OK"
    cw_json.delete_alarms(AlarmNames=["always", "never"])


def test_cycle_stops_evaluation(cw_json):
    cw = cw_json
    k = next(_n)
    child, a, b = f"leaf-{k}", f"ring-a-{k}", f"ring-b-{k}"
    _metric_alarm(cw, child)
    cw.put_composite_alarm(AlarmName=a, AlarmRule=f"ALARM({child})")
    cw.put_composite_alarm(AlarmName=b, AlarmRule=f"NOT ALARM({a})")
    cw.put_composite_alarm(AlarmName=a, AlarmRule=f"ALARM({child}) OR ALARM({b})")  # a cycle: allowed
    cw.set_alarm_state(AlarmName=child, StateValue="ALARM", StateReason="test")  # must not loop forever
    assert _state(cw, a)["StateValue"] in ("OK", "ALARM")
    with pytest.raises(ClientError):
        cw.delete_alarms(AlarmNames=[a])


def test_math_and_anomaly_alarm_action_limits(cw_json):
    metrics = [{"Id": "m", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "x"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
               {"Id": "e", "Expression": "m * 2"}]
    with pytest.raises(ClientError):
        cw_json.put_metric_alarm(AlarmName="m-ec2", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                 Metrics=metrics, AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"])
