"""Alarm mute rules: stored, listed with their status by the clock, and muting the
actions of the alarms they target while their window is open."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from alarm_helpers import boundary
from botocore.exceptions import ClientError

_n = itertools.count()


def test_one_time_mute_rule_mutes_actions(mamori, mamori_clock, cw_json):
    cw = cw_json
    k = next(_n)
    alarm, rule_name = f"muted-{k}", f"window-{k}"
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:ops"
    b = boundary(mamori_clock)
    start = datetime.fromtimestamp(b + 600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    cw.put_alarm_mute_rule(Name=rule_name, Description="deploy", Rule={"Schedule": {"Expression": f"at({start})", "Duration": "PT30M"}},
                           MuteTargets={"AlarmNames": [alarm]})
    got = cw.get_alarm_mute_rule(AlarmMuteRuleName=rule_name)
    assert got["Status"] == "SCHEDULED" and got["MuteType"] == "ONE_TIME" and got["Description"] == "deploy"
    cw.put_metric_alarm(AlarmName=alarm, Namespace="Mamori/Mute", MetricName=alarm, Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="ignore", AlarmActions=[topic])
    mamori_clock.advance(660)
    assert cw.get_alarm_mute_rule(AlarmMuteRuleName=rule_name)["Status"] == "ACTIVE"
    [summary] = [r for r in cw.list_alarm_mute_rules(AlarmName=alarm)["AlarmMuteRuleSummaries"]]
    assert summary["Status"] == "ACTIVE" and summary["AlarmMuteRuleArn"].endswith(f":alarm-mute-rule:{rule_name}")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="muted")
    assert not cw.describe_alarm_history(AlarmName=alarm, HistoryItemType="Action")["AlarmHistoryItems"]
    mamori_clock.advance(1800)
    assert cw.get_alarm_mute_rule(AlarmMuteRuleName=rule_name)["Status"] == "SCHEDULED"
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="x")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="not muted")
    assert len(cw.describe_alarm_history(AlarmName=alarm, HistoryItemType="Action")["AlarmHistoryItems"]) == 1
    assert cw.describe_alarm_contributors(AlarmName=alarm)["AlarmContributors"] == []
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=rule_name)
    with pytest.raises(ClientError) as err:
        cw.get_alarm_mute_rule(AlarmMuteRuleName=rule_name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    cw.delete_alarms(AlarmNames=[alarm])


def test_recurring_rule_and_bad_schedules(cw_json):
    cw = cw_json
    name = f"nightly-{next(_n)}"
    cw.put_alarm_mute_rule(Name=name, Rule={"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT4H", "Timezone": "Europe/London"}},
                           MuteTargets={"AlarmNames": ["a"]})
    assert cw.get_alarm_mute_rule(AlarmMuteRuleName=name)["MuteType"] == "RECURRING"
    for expr, duration in (("cron(61 2 * * *)", "PT1H"), ("sometimes", "PT1H"), ("cron(0 2 * * *)", "P16D"), ("cron(0 2 * * *)", "PT30S")):
        with pytest.raises(ClientError) as err:
            cw.put_alarm_mute_rule(Name="bad", Rule={"Schedule": {"Expression": expr, "Duration": duration}})
        assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=name)
