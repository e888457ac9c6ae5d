"""Every CloudWatch operation, called through boto3 in each protocol CloudWatch speaks
(CBOR, JSON 1.0, query): one scenario per protocol walks the whole API, checks each
answer, and at the end the operations it called are the model's whole list.

It also pins how a request that breaks a model constraint is answered in each
protocol (see test_model_validation_error_in_each_protocol)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

_n = itertools.count()

RULE = json.dumps({"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/app"], "LogFormat": "JSON",
                   "Contribution": {"Keys": ["$.ip"]}, "AggregateOn": "Count"})


class Recorder:
    """Wraps the client: remembers which operations were called."""

    def __init__(self, client) -> None:
        self.client = client
        self.called: set[str] = set()

    def __getattr__(self, name):
        method = getattr(self.client, name)
        self.called.add(name)
        return method

    def refused(self, name: str, code: str, **kwargs) -> ClientError:
        with pytest.raises(ClientError) as exc:
            getattr(self, name)(**kwargs)
        assert exc.value.response["Error"]["Code"] == code, exc.value.response["Error"]
        return exc.value


def test_every_operation(mamori, cw):
    k = next(_n)
    c = Recorder(cw)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    ns, metric, dims = f"Mamori/Every{k}", "Requests", [{"Name": "Host", "Value": "a"}]
    alarm, composite, rule, stream = f"every-{k}", f"every-{k}-all", f"every-rule-{k}", f"every-stream-{k}"

    # metrics
    c.put_metric_data(Namespace=ns, MetricData=[{"MetricName": metric, "Dimensions": dims, "Value": v,
                                                 "Timestamp": now - timedelta(minutes=i)} for i, v in enumerate([1.0, 2.0, 3.0])])
    stats = c.get_metric_statistics(Namespace=ns, MetricName=metric, Dimensions=dims, StartTime=now - timedelta(minutes=5),
                                    EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert sorted(p["Sum"] for p in stats["Datapoints"]) == [1.0, 2.0, 3.0]
    data = c.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": metric,
                             "Dimensions": dims}, "Period": 300, "Stat": "Sum"}}, {"Id": "e", "Expression": "m * 2"}],
                             StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1))
    assert {r["Id"]: sum(r["Values"]) for r in data["MetricDataResults"]} == {"m": 6.0, "e": 12.0}
    assert c.list_metrics(Namespace=ns)["Metrics"] == [{"Namespace": ns, "MetricName": metric, "Dimensions": dims}]

    # alarms
    c.put_metric_alarm(AlarmName=alarm, Namespace=ns, MetricName=metric, Dimensions=dims, Statistic="Sum", Period=60,
                       EvaluationPeriods=1, Threshold=100.0, ComparisonOperator="GreaterThanThreshold",
                       Tags=[{"Key": "team", "Value": "a"}])
    c.put_composite_alarm(AlarmName=composite, AlarmRule=f"ALARM({alarm})")
    c.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    assert c.describe_alarms(AlarmNames=[composite], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]["StateValue"] == "ALARM"
    assert [a["AlarmName"] for a in c.describe_alarms_for_metric(Namespace=ns, MetricName=metric, Dimensions=dims)["MetricAlarms"]] == [alarm]
    assert c.describe_alarm_history(AlarmName=alarm, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert c.describe_alarm_contributors(AlarmName=alarm)["AlarmContributors"] == []
    c.disable_alarm_actions(AlarmNames=[alarm])
    c.enable_alarm_actions(AlarmNames=[alarm])
    arn = c.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    c.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    c.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert c.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]

    mute = f"every-mute-{k}"
    c.put_alarm_mute_rule(Name=mute, Rule={"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT1H"}},
                          MuteTargets={"AlarmNames": [alarm]})
    assert c.get_alarm_mute_rule(AlarmMuteRuleName=mute)["Name"] == mute
    summaries = c.list_alarm_mute_rules(AlarmName=alarm)["AlarmMuteRuleSummaries"]
    assert [r["AlarmMuteRuleArn"].rsplit(":", 1)[-1].rsplit("/", 1)[-1] for r in summaries] == [mute]
    c.delete_alarm_mute_rule(AlarmMuteRuleName=mute)

    detector = {"Namespace": ns, "MetricName": metric, "Dimensions": dims, "Stat": "Average"}
    c.put_anomaly_detector(SingleMetricAnomalyDetector=detector)
    assert c.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"][0]["SingleMetricAnomalyDetector"]["Stat"] == "Average"
    c.delete_anomaly_detector(SingleMetricAnomalyDetector=detector)
    c.delete_alarms(AlarmNames=[composite])
    c.delete_alarms(AlarmNames=[alarm])

    # dashboards
    board = f"every-{k}"
    body = json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "hi"}}]})
    assert c.put_dashboard(DashboardName=board, DashboardBody=body)["DashboardValidationMessages"] == []
    assert json.loads(c.get_dashboard(DashboardName=board)["DashboardBody"]) == json.loads(body)
    assert board in [d["DashboardName"] for d in c.list_dashboards(DashboardNamePrefix=board)["DashboardEntries"]]
    c.delete_dashboards(DashboardNames=[board])

    # metric streams and OTel enrichment
    c.put_metric_stream(Name=stream, FirehoseArn=f"arn:aws:firehose:{mamori.region}:{mamori.account_id}:deliverystream/f",
                        RoleArn=f"arn:aws:iam::{mamori.account_id}:role/r", OutputFormat="json")
    c.stop_metric_streams(Names=[stream])
    assert c.get_metric_stream(Name=stream)["State"] == "stopped"
    c.start_metric_streams(Names=[stream])
    assert stream in [e["Name"] for e in c.list_metric_streams()["Entries"]]
    c.delete_metric_stream(Name=stream)
    c.start_otel_enrichment()
    assert c.get_otel_enrichment()["Status"] == "Running"
    c.stop_otel_enrichment()

    # Contributor Insights
    c.put_insight_rule(RuleName=rule, RuleDefinition=RULE)
    assert c.disable_insight_rules(RuleNames=[rule])["Failures"] == []
    assert c.enable_insight_rules(RuleNames=[rule])["Failures"] == []
    assert rule in [r["Name"] for r in c.describe_insight_rules()["InsightRules"]]
    c.refused("get_insight_rule_report", "NotImplemented", RuleName=rule, StartTime=now - timedelta(hours=1), EndTime=now, Period=60)
    assert c.delete_insight_rules(RuleNames=[rule])["Failures"] == []
    table = f"arn:aws:dynamodb:{mamori.region}:{mamori.account_id}:table/every-{k}"
    assert c.put_managed_insight_rules(ManagedRules=[{"TemplateName": "DynamoDBContributorInsights-PKC", "ResourceARN": table}])["Failures"] == []
    [managed] = c.list_managed_insight_rules(ResourceARN=table)["ManagedRules"]
    c.delete_insight_rules(RuleNames=[managed["RuleState"]["RuleName"]])
    c.refused("get_metric_widget_image", "NotImplemented", MetricWidget=json.dumps({"metrics": [[ns, metric]]}))

    model = botocore.session.get_session().get_service_model("cloudwatch")
    assert c.called == {xform_name(op) for op in model.operation_names}


def test_model_validation_error_in_each_protocol(cw):
    """A value the model forbids (MaxRecords above 100) is a 400 with AWS's '1 validation
    error detected' text in every protocol. The query protocol answers ValidationError,
    CloudWatch's code for it (AWS CLI users see "An error occurred (ValidationError) ...
    1 validation error detected: Value at 'alarmActions' failed to satisfy constraint").
    In JSON and CBOR the gateway's code is ValidationException (see the report: AWS's
    query-compatible services give SDKs ValidationError there too)."""
    with pytest.raises(ClientError) as exc:
        cw.describe_alarms(MaxRecords=1000)
    error = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Message"].startswith("1 validation error detected: Value '1000' at 'maxRecords' failed to satisfy constraint")
    if cw.meta.service_model.protocol == "query":
        assert error["Code"] == "ValidationError"
    else:
        assert error["Code"] in ("ValidationException", "ValidationError")
