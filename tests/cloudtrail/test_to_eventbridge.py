"""CloudTrail -> EventBridge: every management event reaches the default bus as "AWS API
Call via CloudTrail", failed calls included; Describe/Get/List calls reach only rules in
state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, while other read-only calls (KMS
Encrypt) reach every enabled rule.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def _queue(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=f"ct-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": arn}]})})
    return url, arn


def _rule(mamori, pattern, state="ENABLED"):
    events = mamori.client("events")
    name = f"ct-{uuid.uuid4().hex[:10]}"
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)
    url, arn = _queue(mamori)
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _names(mamori, url, expect, settle=1.0):
    """eventName of every event in the queue: waits for `expect` of them, then a little
    longer so that extra (wrong) deliveries would show."""
    sqs = mamori.client("sqs")
    names: list[str] = []
    deadline = time.monotonic() + 10
    settled_at = None
    while time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            detail = json.loads(m["Body"])["detail"]
            names.append(detail["eventName"] + (f":{detail['errorCode']}" if "errorCode" in detail else ""))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(names) >= expect:
            settled_at = settled_at or time.monotonic()
            if time.monotonic() - settled_at > settle:
                break
        time.sleep(0.05)
    return sorted(names)


def test_read_only_calls_reach_only_rules_that_ask_for_all_management_events(mamori):
    user = f"ct-{uuid.uuid4().hex[:8]}"
    pattern = {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
               "detail": {"requestParameters": {"userName": [user]}}}
    changes = _rule(mamori, pattern)
    everything = _rule(mamori, pattern, state="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    iam = mamori.client("iam")
    iam.create_user(UserName=user)
    iam.get_user(UserName=user)
    with pytest.raises(ClientError):
        iam.create_user(UserName=user)
    assert _names(mamori, changes, 2) == ["CreateUser", "CreateUser:EntityAlreadyExists"]
    assert _names(mamori, everything, 3) == ["CreateUser", "CreateUser:EntityAlreadyExists", "GetUser"]


def test_read_only_call_not_named_describe_get_or_list_reaches_enabled_rules(mamori):
    kms = mamori.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    url = _rule(mamori, {"source": ["aws.kms"], "detail": {"eventName": ["Encrypt", "DescribeKey"],
                                                           "requestParameters": {"keyId": [key]}}})
    kms.describe_key(KeyId=key)
    kms.encrypt(KeyId=key, Plaintext=b"secret")
    assert _names(mamori, url, 1) == ["Encrypt"]
