"""IAM on alarms: PutMetricAlarm scoped to alarm ARNs, DeleteAlarms denied, tags
given at creation; and EvaluateLowSampleCountPercentile=ignore keeping the state."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from alarm_helpers import boundary
from botocore.exceptions import ClientError

from cw_clients import client_for

ALARM = dict(Namespace="Mamori/Iam", MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
             ComparisonOperator="GreaterThanThreshold")


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "query"])
def test_put_metric_alarm_scoped_to_alarm_names(mamori, cw_models, protocol):
    iam = mamori.client("iam")
    name = f"alarm-user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="alarms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"],
         "Resource": f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:alarm:app-*"}]}))
    cw = client_for(mamori, cw_models, protocol, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    own = f"app-{uuid.uuid4().hex[:6]}"
    cw.put_metric_alarm(AlarmName=own, **ALARM)
    with pytest.raises(ClientError) as err:
        cw.put_metric_alarm(AlarmName="db-critical", **ALARM)
    assert err.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")  # query, CBOR
    with pytest.raises(ClientError) as err:
        cw.delete_alarms(AlarmNames=[own])
    assert err.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")  # query, CBOR
    mamori.client("cloudwatch").delete_alarms(AlarmNames=[own])


def test_tags_given_at_creation(mamori, cw_json):
    name = f"tagged-{uuid.uuid4().hex[:6]}"
    cw_json.put_metric_alarm(AlarmName=name, **ALARM, Tags=[{"Key": "team", "Value": "ops"}])
    arn = cw_json.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    assert cw_json.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]
    cw_json.delete_alarms(AlarmNames=[name])


def test_low_sample_count_percentile(cw_json, mamori_clock):
    cw = cw_json
    b = boundary(mamori_clock)
    name = f"p99-{uuid.uuid4().hex[:6]}"
    cw.put_metric_data(Namespace="Mamori/Iam", MetricData=[{"MetricName": name, "Values": [500.0] * 5,
                                                            "Timestamp": datetime.fromtimestamp(b + 1, timezone.utc)}])
    for mode, want in (("ignore", "OK"), ("evaluate", "ALARM")):
        alarm = f"{name}-{mode}"
        cw.put_metric_alarm(AlarmName=alarm, Namespace="Mamori/Iam", MetricName=name, ExtendedStatistic="p99", Period=60,
                            EvaluationPeriods=1, Threshold=100.0, ComparisonOperator="GreaterThanThreshold",
                            EvaluateLowSampleCountPercentile=mode)
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="setup")
    mamori_clock.advance(60)
    for mode, want in (("ignore", "OK"), ("evaluate", "ALARM")):
        # 5 samples are fewer than the 1,000 p99 needs: "ignore" keeps the state
        assert cw.describe_alarms(AlarmNames=[f"{name}-{mode}"])["MetricAlarms"][0]["StateValue"] == want
    cw.delete_alarms(AlarmNames=[f"{name}-ignore", f"{name}-evaluate"])
