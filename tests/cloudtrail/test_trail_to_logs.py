"""A trail sends its events to CloudWatch Logs through the role it is given, and the
classic detection built on it works end to end: a metric filter on unauthorized calls,
an alarm on its metric, the alarm's state changed by a denied call."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def _trail_to_logs(mamori, *, allow_logs: bool):
    iam, logs, ct = mamori.client("iam"), mamori.client("logs"), mamori.client("cloudtrail")
    suffix = uuid.uuid4().hex[:8]
    group = f"CloudTrail/{suffix}"
    logs.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:{mamori.region}:{mamori.account_id}:log-group:{group}:*"
    role = iam.create_role(RoleName=f"trail-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    if allow_logs:
        iam.put_role_policy(RoleName=f"trail-{suffix}", PolicyName="deliver", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                                    "Resource": group_arn}]}))
    name = f"trail-{suffix}"
    ct.create_trail(Name=name, S3BucketName="audit", CloudWatchLogsLogGroupArn=group_arn, CloudWatchLogsRoleArn=role)
    ct.start_logging(Name=name)
    return name, group


def test_trail_delivers_events_and_an_unauthorized_call_raises_the_alarm(mamori, mamori_clock):
    mamori_clock.freeze()
    name, group = _trail_to_logs(mamori, allow_logs=True)
    logs, cw, iam = mamori.client("logs"), mamori.client("cloudwatch"), mamori.client("iam")
    metric = f"UnauthorizedAPICalls-{uuid.uuid4().hex[:6]}"
    logs.put_metric_filter(logGroupName=group, filterName="unauthorized", filterPattern=(
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'),
        metricTransformations=[{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}])
    cw.put_metric_alarm(AlarmName=metric, Namespace="CISBenchmark", MetricName=metric, Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching")
    user = f"intruder-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    intruder = mamori.client("cloudwatch", aws_access_key_id=key["AccessKeyId"],
                             aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError):
        intruder.delete_alarms(AlarmNames=[metric])
    mamori_clock.advance(60)  # a delivery round
    stream = f"{mamori.account_id}_CloudTrail_{mamori.region}"
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    records = [json.loads(e["message"]) for e in events]
    denied = [r for r in records if r.get("eventName") == "DeleteAlarms"]
    assert denied and denied[0]["errorCode"] == "AccessDenied"
    assert denied[0]["userIdentity"]["userName"] == user
    assert not any(k.startswith("_") for r in records for k in r)
    status = mamori.client("cloudtrail").get_trail_status(Name=name)
    assert "LatestCloudWatchLogsDeliveryTime" in status and "LatestCloudWatchLogsDeliveryError" not in status
    mamori_clock.advance(120)  # the alarm evaluates the minute the metric got its datapoint
    alarm = cw.describe_alarms(AlarmNames=[metric])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"


def test_a_role_that_may_not_write_leaves_an_error_in_the_trail_status(mamori, mamori_clock):
    mamori_clock.freeze()
    name, group = _trail_to_logs(mamori, allow_logs=False)
    mamori.client("sts").get_caller_identity()
    mamori_clock.advance(60)
    status = mamori.client("cloudtrail").get_trail_status(Name=name)
    assert status["LatestCloudWatchLogsDeliveryError"] == "AccessDeniedException"
    assert mamori.client("logs").describe_log_streams(logGroupName=group)["logStreams"] == []
