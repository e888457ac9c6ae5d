"""Subscription destinations, account policies and field index policies."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def logs(mamori):
    return mamori.client("logs")


def test_destinations(logs):
    name = f"dest-{uuid.uuid4().hex[:6]}"
    target = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    role = "arn:aws:iam::000000000000:role/CWLtoKinesis"
    dest = logs.put_destination(destinationName=name, targetArn=target, roleArn=role, tags={"a": "1"})["destination"]
    assert dest["arn"] == f"arn:aws:logs:us-east-1:000000000000:destination:{name}"
    assert logs.list_tags_for_resource(resourceArn=dest["arn"])["tags"] == {"a": "1"}
    with pytest.raises(ClientError) as exc:
        logs.put_destination(destinationName=name + "x", targetArn="arn:aws:sqs:us-east-1:000000000000:q",
                             roleArn=role)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": "111122223333"}, "Action": "logs:PutSubscriptionFilter", "Resource": dest["arn"]}]})
    logs.put_destination_policy(destinationName=name, accessPolicy=policy)
    found = logs.describe_destinations(DestinationNamePrefix=name)["destinations"]
    assert [(d["destinationName"], d["accessPolicy"]) for d in found] == [(name, policy)]
    logs.delete_destination(destinationName=name)
    assert logs.describe_destinations(DestinationNamePrefix=name)["destinations"] == []
    with pytest.raises(ClientError) as exc:
        logs.delete_destination(destinationName=name)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_account_policies(logs):
    name = f"acct-{uuid.uuid4().hex[:6]}"
    doc = json.dumps({"DestinationArn": "arn:aws:lambda:us-east-1:000000000000:function:f", "FilterPattern": ""})
    out = logs.put_account_policy(policyName=name, policyDocument=doc, policyType="SUBSCRIPTION_FILTER_POLICY",
                                  scope="ALL")["accountPolicy"]
    assert out["accountId"] == "000000000000"
    listed = logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY", policyName=name)
    assert [p["policyName"] for p in listed["accountPolicies"]] == [name]
    assert logs.describe_account_policies(policyType="FIELD_INDEX_POLICY", policyName=name)["accountPolicies"] == []
    with pytest.raises(ClientError) as exc:
        logs.put_account_policy(policyName=name, policyDocument="nope", policyType="FIELD_INDEX_POLICY")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    logs.delete_account_policy(policyName=name, policyType="SUBSCRIPTION_FILTER_POLICY")
    with pytest.raises(ClientError) as exc:
        logs.delete_account_policy(policyName=name, policyType="SUBSCRIPTION_FILTER_POLICY")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_index_policies(logs):
    group = f"/idx/{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)
    doc = json.dumps({"Fields": ["requestId", "userId"]})
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=doc)
    got = logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"]
    assert [json.loads(p["policyDocument"]) for p in got] == [{"Fields": ["requestId", "userId"]}]
    with pytest.raises(ClientError) as exc:
        logs.put_index_policy(logGroupIdentifier=group, policyDocument=json.dumps({"Fields": "x"}))
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    # DescribeFieldIndexes: indexed fields some event has, with the events' time range.
    assert logs.describe_field_indexes(logGroupIdentifiers=[group])["fieldIndexes"] == []
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": now, "message": json.dumps({"requestId": "r1", "n": 1})},
        {"timestamp": now + 5, "message": "requestId plain text"},
        {"timestamp": now + 9, "message": json.dumps({"requestId": "r2", "user": {"id": 7}})}])
    found = logs.describe_field_indexes(logGroupIdentifiers=[group])["fieldIndexes"]
    assert [(f["fieldIndexName"], f["firstEventTime"], f["lastEventTime"], f["type"]) for f in found] == [
        ("requestId", now, now + 9, "FIELD_INDEX")]
    assert found[0]["logGroupIdentifier"].endswith(f":log-group:{group}")
    logs.delete_index_policy(logGroupIdentifier=group)
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []
    # Without its own policy, account-level FIELD_INDEX_POLICY policies that select the group apply.
    logs.put_account_policy(policyName=f"idx-{uuid.uuid4().hex[:6]}", policyType="FIELD_INDEX_POLICY",
                            policyDocument=json.dumps({"Fields": ["user.id", "nothing"]}),
                            selectionCriteria=f'LogGroupNamePrefix IN ["{group}"]')
    found = logs.describe_field_indexes(logGroupIdentifiers=[group])["fieldIndexes"]
    assert [(f["fieldIndexName"], f["firstEventTime"]) for f in found] == [("user.id", now + 9)]
    with pytest.raises(ClientError) as exc:
        logs.describe_field_indexes(logGroupIdentifiers=[group + "-missing"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)
