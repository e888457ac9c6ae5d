"""Metric streams, the OTel enrichment switch, Contributor Insights rules and managed
rules: stored, described, started/stopped, tagged; GetInsightRuleReport and
GetMetricWidgetImage refused by name. In every protocol CloudWatch speaks."""

from __future__ import annotations

import itertools
import json

import pytest
from botocore.exceptions import ClientError

_n = itertools.count()

RULE = {
    "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
    "LogGroupNames": ["/app/web"],
    "LogFormat": "JSON",
    "Contribution": {"Keys": ["$.ip"], "Filters": []},
    "AggregateOn": "Count",
}


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_metric_stream_lifecycle(mamori, cw):
    name = f"stream-{next(_n)}"
    firehose = f"arn:aws:firehose:{mamori.region}:{mamori.account_id}:deliverystream/metrics"
    role = f"arn:aws:iam::{mamori.account_id}:role/streams"
    arn = cw.put_metric_stream(Name=name, FirehoseArn=firehose, RoleArn=role, OutputFormat="json",
                               IncludeFilters=[{"Namespace": "AWS/EC2", "MetricNames": ["CPUUtilization"]}],
                               StatisticsConfigurations=[{"IncludeMetrics": [{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"}],
                                                          "AdditionalStatistics": ["p99"]}],
                               Tags=[{"Key": "team", "Value": "ops"}])["Arn"]
    assert arn == f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:metric-stream/{name}"
    got = cw.get_metric_stream(Name=name)
    assert got["State"] == "running" and got["OutputFormat"] == "json" and got["FirehoseArn"] == firehose
    assert got["IncludeFilters"] == [{"Namespace": "AWS/EC2", "MetricNames": ["CPUUtilization"]}]
    assert got["StatisticsConfigurations"][0]["AdditionalStatistics"] == ["p99"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]

    cw.stop_metric_streams(Names=[name])
    assert cw.get_metric_stream(Name=name)["State"] == "stopped"
    # an update keeps the state
    cw.put_metric_stream(Name=name, FirehoseArn=firehose, RoleArn=role, OutputFormat="opentelemetry1.0")
    again = cw.get_metric_stream(Name=name)
    assert again["State"] == "stopped" and again["OutputFormat"] == "opentelemetry1.0"
    assert again["CreationDate"] == got["CreationDate"]
    cw.start_metric_streams(Names=[name])
    entries = [e for e in cw.list_metric_streams()["Entries"] if e["Name"] == name]
    assert [(e["State"], e["Arn"]) for e in entries] == [("running", arn)]

    cw.delete_metric_stream(Name=name)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_stream(Name=name)
    assert _code(exc) == "ResourceNotFoundException"
    cw.delete_metric_stream(Name=name)  # deleting again succeeds


def test_metric_stream_validation(mamori, cw):
    firehose = f"arn:aws:firehose:{mamori.region}:{mamori.account_id}:deliverystream/metrics"
    role = f"arn:aws:iam::{mamori.account_id}:role/streams"
    with pytest.raises(ClientError) as exc:
        cw.put_metric_stream(Name="both", FirehoseArn=firehose, RoleArn=role, OutputFormat="json",
                             IncludeFilters=[{"Namespace": "A"}], ExcludeFilters=[{"Namespace": "B"}])
    assert _code(exc) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as exc:
        cw.put_metric_stream(Name="bad-stat", FirehoseArn=firehose, RoleArn=role, OutputFormat="json",
                             StatisticsConfigurations=[{"IncludeMetrics": [{"Namespace": "A", "MetricName": "m"}],
                                                        "AdditionalStatistics": ["TM(10%:90%)"]}])
    assert "percentiles" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        cw.start_metric_streams(Names=["no-such-stream"])
    assert _code(exc) == "InvalidParameterValue"


def test_otel_enrichment_switch(cw):
    cw.stop_otel_enrichment()
    assert cw.get_otel_enrichment()["Status"] == "Stopped"
    cw.start_otel_enrichment()
    assert cw.get_otel_enrichment()["Status"] == "Running"
    cw.stop_otel_enrichment()
    assert cw.get_otel_enrichment()["Status"] == "Stopped"


def test_insight_rules(mamori, cw):
    name = f"top-ips-{next(_n)}"
    other = f"top-paths-{next(_n)}"
    cw.put_insight_rule(RuleName=name, RuleDefinition=json.dumps(RULE), Tags=[{"Key": "env", "Value": "dev"}])
    cw.put_insight_rule(RuleName=other, RuleState="DISABLED", RuleDefinition=json.dumps(dict(RULE, AggregateOn="Sum",
                        Contribution={"Keys": ["$.path"], "ValueOf": "$.bytes"})))
    rules = {r["Name"]: r for r in cw.describe_insight_rules()["InsightRules"]}
    assert rules[name]["State"] == "ENABLED" and rules[name]["Schema"] == "CloudWatchLogRule/1"
    assert json.loads(rules[name]["Definition"]) == RULE and rules[name]["ManagedRule"] is False
    assert rules[other]["State"] == "DISABLED"
    arn = f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:insight-rule/{name}"
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]

    out = cw.disable_insight_rules(RuleNames=[name, "nope"])
    assert [f["FailureResource"] for f in out["Failures"]] == ["nope"]
    assert out["Failures"][0]["ExceptionType"] == "ResourceNotFoundException"
    assert cw.enable_insight_rules(RuleNames=[other])["Failures"] == []
    states = {r["Name"]: r["State"] for r in cw.describe_insight_rules()["InsightRules"]}
    assert states[name] == "DISABLED" and states[other] == "ENABLED"

    with pytest.raises(ClientError) as exc:
        cw.get_insight_rule_report(RuleName=name, StartTime=0, EndTime=3600, Period=60)
    assert _code(exc) == "NotImplemented" and "GetInsightRuleReport" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        cw.get_insight_rule_report(RuleName="nope", StartTime=0, EndTime=3600, Period=60)
    assert _code(exc) == "ResourceNotFoundException"

    assert cw.delete_insight_rules(RuleNames=[name, other])["Failures"] == []
    left = {r["Name"] for r in cw.describe_insight_rules()["InsightRules"]}
    assert not {name, other} & left


@pytest.mark.parametrize("definition, words", [
    ("{not json", "not valid JSON"),
    (json.dumps(dict(RULE, Schema={"Name": "Other", "Version": 1})), "CloudWatchLogRule"),
    (json.dumps(dict(RULE, LogFormat="XML")), "LogFormat"),
    (json.dumps(dict(RULE, Contribution={"Keys": []})), "1 to 4 keys"),
    (json.dumps(dict(RULE, Contribution={"Keys": ["a", "b", "c", "d", "e"]})), "1 to 4 keys"),
    (json.dumps(dict(RULE, AggregateOn="Max")), "AggregateOn"),
    (json.dumps({k: v for k, v in RULE.items() if k != "LogGroupNames"}), "log group"),
])
def test_insight_rule_definition_is_checked(cw_json, definition, words):
    with pytest.raises(ClientError) as exc:
        cw_json.put_insight_rule(RuleName="bad-rule", RuleDefinition=definition)
    # InvalidParameterValueException, whose query code SDKs see (awsQueryCompatible)
    assert _code(exc) == "InvalidParameterValue" and words in exc.value.response["Error"]["Message"]


def test_managed_insight_rules(mamori, cw):
    table = f"arn:aws:dynamodb:{mamori.region}:{mamori.account_id}:table/orders-{next(_n)}"
    out = cw.put_managed_insight_rules(ManagedRules=[
        {"TemplateName": "DynamoDBContributorInsights-PKC", "ResourceARN": table},
        {"TemplateName": "DynamoDBContributorInsights-PKC", "ResourceARN": "orders"}])
    assert [f["FailureResource"] for f in out["Failures"]] == ["orders"]
    [managed] = cw.list_managed_insight_rules(ResourceARN=table)["ManagedRules"]
    assert managed["TemplateName"] == "DynamoDBContributorInsights-PKC" and managed["ResourceARN"] == table
    assert managed["RuleState"]["State"] == "ENABLED"
    rule = managed["RuleState"]["RuleName"]
    [described] = [r for r in cw.describe_insight_rules()["InsightRules"] if r["Name"] == rule]
    assert described["ManagedRule"] is True
    with pytest.raises(ClientError) as exc:  # managed rules are not edited as custom rules
        cw.put_insight_rule(RuleName=rule, RuleDefinition=json.dumps(RULE))
    assert _code(exc) == "InvalidParameterValue"
    cw.disable_insight_rules(RuleNames=[rule])
    assert cw.list_managed_insight_rules(ResourceARN=table)["ManagedRules"][0]["RuleState"]["State"] == "DISABLED"
    cw.delete_insight_rules(RuleNames=[rule])
    assert cw.list_managed_insight_rules(ResourceARN=table)["ManagedRules"] == []


def test_metric_widget_image_is_refused_by_name(cw):
    widget = {"metrics": [["AWS/EC2", "CPUUtilization"]], "view": "timeSeries"}
    with pytest.raises(ClientError) as exc:
        cw.get_metric_widget_image(MetricWidget=json.dumps(widget))
    assert _code(exc) == "NotImplemented"
    assert "GetMetricWidgetImage is not implemented by mamori" in exc.value.response["Error"]["Message"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
