"""TagResource / UntagResource / ListTagsForResource on CloudWatch resources."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def _alarm(cw, mamori):
    """A metric alarm to tag (created through PutMetricAlarm once the alarms exist)."""
    name = "tagged-" + uuid.uuid4().hex[:8]
    try:
        cw.put_metric_alarm(AlarmName=name, MetricName="m", Namespace="Tags/Test", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                            Tags=[{"Key": "team", "Value": "ops"}])
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] != 501:
            raise
        # Until PutMetricAlarm lands: a resource stored under an alarm ARN is what
        # makes an ARN taggable.
        arn = f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:alarm:{name}"
        mamori._server.config.app.runtime.store.put(arn, {"AlarmName": name, "AlarmArn": arn}, kind="cloudwatch:alarm",
                                                    account_id=mamori.account_id, region=mamori.region)
    return f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:alarm:{name}"


def test_tag_untag_list(cw, mamori):
    arn = _alarm(cw, mamori)
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "sec"}])
    tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags["env"] == "prod" and tags["team"] == "sec"
    cw.untag_resource(ResourceARN=arn, TagKeys=["env"])
    tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert "env" not in tags and tags["team"] == "sec"


def test_unknown_resource(cw, mamori):
    arn = f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:alarm:no-such-{uuid.uuid4().hex[:6]}"
    for call in (lambda: cw.list_tags_for_resource(ResourceARN=arn),
                 lambda: cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]),
                 lambda: cw.untag_resource(ResourceARN=arn, TagKeys=["a"])):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_not_a_cloudwatch_arn(cw):
    with pytest.raises(ClientError) as err:
        cw.list_tags_for_resource(ResourceARN="arn:aws:sqs:us-east-1:000000000000:queue")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_reserved_prefix_and_limit(cw_json, mamori):
    arn = _alarm(cw_json, mamori)
    with pytest.raises(ClientError) as err:
        cw_json.tag_resource(ResourceARN=arn, Tags=[{"Key": "aws:x", "Value": "y"}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    cw_json.tag_resource(ResourceARN=arn, Tags=[{"Key": "first", "Value": "v"}])
    with pytest.raises(ClientError) as err:  # 50 more make 51
        cw_json.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert err.value.response["Error"]["Code"] == "LimitExceededException"
