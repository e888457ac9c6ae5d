"""Event history: every call, failed and denied ones included, found by LookupEvents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError


def lookup(ct, key, value, **kw):
    return ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)["Events"]


def test_successful_call_is_recorded_with_root_identity(mamori):
    ct = mamori.client("cloudtrail")
    trail = f"rec-{uuid.uuid4().hex[:8]}"
    arn = ct.create_trail(Name=trail, S3BucketName="b")["TrailARN"]
    events = lookup(ct, "ResourceName", arn)
    assert [e["EventName"] for e in events] == ["CreateTrail"]
    event = events[0]
    assert event["ReadOnly"] == "false" and event["EventSource"] == "cloudtrail.amazonaws.com"
    record = json.loads(event["CloudTrailEvent"])
    assert record["userIdentity"]["type"] == "Root"
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{mamori.account_id}:root"
    assert record["requestParameters"]["name"] == trail
    assert record["responseElements"]["trailARN"] == arn
    assert record["eventVersion"] == "1.11" and record["recipientAccountId"] == mamori.account_id
    assert record["awsRegion"] == mamori.region and record["eventType"] == "AwsApiCall"


def test_failed_call_is_recorded_with_error(mamori):
    ct = mamori.client("cloudtrail")
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        ct.get_trail(Name=missing)
    request_id = err.value.response["ResponseMetadata"]["RequestId"]
    events = [e for e in lookup(ct, "EventName", "GetTrail") if json.loads(e["CloudTrailEvent"])["requestID"] == request_id]
    assert len(events) == 1
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["errorCode"] == "TrailNotFoundException"
    assert missing in record["errorMessage"]
    assert record["responseElements"] is None and record["readOnly"] is True


def test_denied_call_is_recorded_with_the_callers_identity(mamori):
    creds = mamori.create_principal(f"eve-{uuid.uuid4().hex[:6]}")
    theirs = mamori.client("cloudtrail", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        theirs.create_trail(Name="nope", S3BucketName="b")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    events = lookup(mamori.client("cloudtrail"), "AccessKeyId", creds["AccessKeyId"])
    assert len(events) == 1
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["errorCode"] == "AccessDeniedException"
    assert record["userIdentity"] == {
        "type": "IAMUser", "principalId": creds["UserId"], "arn": creds["Arn"],
        "accountId": mamori.account_id, "accessKeyId": creds["AccessKeyId"], "userName": creds["Arn"].rsplit("/", 1)[1],
    }
    assert events[0]["Username"] == creds["Arn"].rsplit("/", 1)[1]


def test_lookup_attributes_and_validation(mamori):
    ct = mamori.client("cloudtrail")
    mamori.client("sts").get_caller_identity()
    sts_events = lookup(ct, "EventSource", "sts.amazonaws.com", MaxResults=5)
    assert sts_events and all(e["EventSource"] == "sts.amazonaws.com" for e in sts_events)
    read_only = lookup(ct, "ReadOnly", "true", MaxResults=5)
    assert read_only and all(e["ReadOnly"] == "true" for e in read_only)
    assert all(e["Username"] == "root" for e in lookup(ct, "Username", "root", MaxResults=5))
    with pytest.raises(ClientError) as err:
        ct.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "a"}, {"AttributeKey": "ReadOnly", "AttributeValue": "true"}])
    assert err.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    now = datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        ct.lookup_events(StartTime=now, EndTime=now - timedelta(hours=1))
    assert err.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as err:
        ct.lookup_events(MaxResults=51)
    assert err.value.response["Error"]["Code"] == "InvalidMaxResultsException"
    with pytest.raises(ClientError) as err:
        ct.lookup_events(NextToken="bogus")
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_pagination_newest_first_and_time_range(mamori):
    ct = mamori.client("cloudtrail")
    tag = uuid.uuid4().hex[:8]
    arns = [ct.create_trail(Name=f"page-{tag}-{i}", S3BucketName="b")["TrailARN"] for i in range(5)]
    first = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}], MaxResults=2)
    seen = [json.loads(e["CloudTrailEvent"])["responseElements"]["trailARN"] for e in first["Events"]]
    assert seen == arns[::-1][:2]  # newest first
    second = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}],
                              MaxResults=2, NextToken=first["NextToken"])
    seen += [json.loads(e["CloudTrailEvent"])["responseElements"]["trailARN"] for e in second["Events"]]
    assert seen == arns[::-1][:4]
    with pytest.raises(ClientError) as err:  # a token is bound to its parameters
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteTrail"}],
                         NextToken=first["NextToken"])
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"
    future = datetime.now(UTC) + timedelta(days=1)
    assert ct.lookup_events(StartTime=future, EndTime=future + timedelta(hours=1))["Events"] == []


def test_old_events_leave_the_90_day_window(mamori, mamori_clock):
    ct = mamori.client("cloudtrail")
    trail = f"old-{uuid.uuid4().hex[:8]}"
    arn = ct.create_trail(Name=trail, S3BucketName="b")["TrailARN"]
    assert lookup(ct, "ResourceName", arn)
    mamori_clock.advance("91d")
    assert lookup(ct, "ResourceName", arn) == []


def test_aws_cli_lookup_events(mamori, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(mamori.env(), AWS_CONFIG_FILE=str(tmp_path / "c"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "c"))
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "cloudtrail", "lookup-events", "--max-results", "3",
         "--lookup-attributes", "AttributeKey=EventName,AttributeValue=GetCallerIdentity", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert all(e["EventName"] == "GetCallerIdentity" for e in events)


def _put_log_events_record(mamori, message_size):
    logs, ct = mamori.client("logs"), mamori.client("cloudtrail")
    group = f"/big/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now, "message": "m" * message_size} for _ in range(100)]
    request_id = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)["ResponseMetadata"]["RequestId"]
    found = [json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "EventName", "PutLogEvents")]
    return next(r for r in found if r["requestID"] == request_id), group


def test_request_parameters_past_100_kb_are_omitted(mamori):
    """CloudTrail keeps 100 KB of requestParameters; past that the field is dropped and
    `omitted` is true (a 1,000-event PutLogEvents batch is usually past it)."""
    small, group = _put_log_events_record(mamori, 10)
    assert small["requestParameters"]["logGroupName"] == group
    assert len(small["requestParameters"]["logEvents"]) == 100 and "omitted" not in small
    big, _ = _put_log_events_record(mamori, 1100)
    assert big["requestParameters"] is None and big["omitted"] is True
    assert big["eventName"] == "PutLogEvents" and big["userIdentity"]["type"] == "Root"


def test_iam_is_recorded_in_us_east_1_whatever_region_the_client_names(mamori):
    """IAM is a global service: CloudTrail records its calls in us-east-1."""
    user = f"global-{uuid.uuid4().hex[:8]}"
    mamori.client("iam", region_name="eu-west-1").create_user(UserName=user)
    east = lookup(mamori.client("cloudtrail", region_name="us-east-1"), "EventName", "CreateUser")
    [record] = [json.loads(e["CloudTrailEvent"]) for e in east if user in e["CloudTrailEvent"]]
    assert record["awsRegion"] == "us-east-1" and record["requestParameters"]["userName"] == user
    west = mamori.client("cloudtrail", region_name="eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])["Events"]
    assert not [e for e in west if user in e["CloudTrailEvent"]]
