"""IAM decisions on real calls: a user's policies, its groups', its boundary, conditions,
with AWS's denial texts, CloudTrail records and `explain`."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def denied(call, **kw):
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response


def test_no_policy_means_implicit_deny(mamori, user):
    resp = denied(user.client("cloudtrail").describe_trails)
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: cloudtrail:DescribeTrails "
        "because no identity-based policy allows the cloudtrail:DescribeTrails action")


def test_inline_policy_allows_exactly_what_it_says(mamori, user):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=user.name, PolicyName="trails",
                        PolicyDocument=doc({"Effect": "Allow", "Action": "cloudtrail:Describe*", "Resource": "*"}))
    ct = user.client("cloudtrail")
    assert "trailList" in ct.describe_trails()
    resp = denied(ct.create_trail, Name="x", S3BucketName="b")
    assert resp["Error"]["Code"] == "AccessDeniedException"
    # the cache follows IAM writes: removing the policy takes the permission away
    iam.delete_user_policy(UserName=user.name, PolicyName="trails")
    assert denied(ct.describe_trails)["Error"]["Code"] == "AccessDeniedException"


def test_explicit_deny_in_a_group_wins(mamori, user):
    iam = mamori.client("iam")
    group = f"g-{uuid.uuid4().hex[:8]}"
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user.name)
    iam.attach_user_policy(UserName=user.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_group_policy(GroupName=group, PolicyName="no-trails",
                         PolicyDocument=doc({"Sid": "NoTrails", "Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}))
    assert user.client("iam").get_user()["User"]["UserName"] == user.name
    resp = denied(user.client("cloudtrail").list_trails)
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: cloudtrail:ListTrails "
        "with an explicit deny in an identity-based policy")
    explained = mamori.explain(resp["ResponseMetadata"]["RequestId"])
    decision = explained["decisions"][0]
    assert decision["kind"] == "explicit_deny"
    assert any(r.get("sid") == "NoTrails" for r in decision["reasons"])


def test_permissions_boundary_caps_the_user(mamori, user):
    iam = mamori.client("iam")
    boundary = iam.create_policy(
        PolicyName=f"b-{uuid.uuid4().hex[:8]}",
        PolicyDocument=doc({"Effect": "Allow", "Action": "cloudtrail:List*", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    ct = user.client("cloudtrail")
    assert "Trails" in ct.list_trails()
    resp = denied(ct.describe_trails)
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: cloudtrail:DescribeTrails "
        "because no permissions boundary allows the cloudtrail:DescribeTrails action")


def test_conditions_on_region_and_resource(mamori, user):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=user.name, PolicyName="west-only", PolicyDocument=doc({
        "Effect": "Allow", "Action": "cloudtrail:*",
        "Resource": f"arn:aws:cloudtrail:*:{mamori.account_id}:trail/team-*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }))
    west = user.client("cloudtrail", region_name="eu-west-1")
    name = f"team-{uuid.uuid4().hex[:6]}"
    assert west.create_trail(Name=name, S3BucketName="b")["Name"] == name
    resp = denied(west.create_trail, Name=f"other-{uuid.uuid4().hex[:6]}", S3BucketName="b")
    assert "on resource: arn:aws:cloudtrail:eu-west-1:" in resp["Error"]["Message"]
    east = user.client("cloudtrail", region_name="us-east-1")
    assert denied(east.create_trail, Name=f"team-{uuid.uuid4().hex[:6]}", S3BucketName="b")["Error"]["Code"] == "AccessDeniedException"


def test_policy_variables_scope_a_user_to_itself(mamori, user):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=user.name, PolicyName="self", PolicyDocument=doc({
        "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"],
        "Resource": "arn:aws:iam::*:user/${aws:username}",
    }))
    me = user.client("iam")
    assert me.get_user(UserName=user.name)["User"]["Arn"] == user.arn
    assert denied(me.get_user, UserName="someone-else")["Error"]["Code"] == "AccessDenied"


def test_denied_call_is_in_cloudtrail(mamori, user):
    resp = denied(user.client("cloudtrail").get_trail, Name="anything")
    request_id = resp["ResponseMetadata"]["RequestId"]
    events = mamori.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user.name}])["Events"]
    [record] = [json.loads(e["CloudTrailEvent"]) for e in events if json.loads(e["CloudTrailEvent"])["requestID"] == request_id]
    assert record["errorCode"] == "AccessDeniedException"
    assert record["errorMessage"].startswith(f"User: {user.arn} is not authorized to perform: cloudtrail:GetTrail")
    assert record["userIdentity"]["type"] == "IAMUser" and record["userIdentity"]["userName"] == user.name


def test_get_caller_identity_needs_no_permission(mamori, user):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=user.name, PolicyName="deny-all",
                        PolicyDocument=doc({"Effect": "Deny", "Action": "*", "Resource": "*"}))
    # "you can still perform this operation" even with an explicit deny
    assert user.client("sts").get_caller_identity()["Arn"] == user.arn


@pytest.mark.parametrize("service,call", [("sqs", "list_queues"), ("cloudwatch", "list_metrics")])
def test_query_compatible_services_deny_as_their_query_api_did(mamori, user, service, call):
    """SQS and CloudWatch speak JSON now, but keep the query protocol's error: code
    AccessDenied, HTTP 403, and the x-amzn-query-error header that SDKs read it from."""
    resp = denied(getattr(user.client(service), call))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == "AccessDenied;Sender"
    assert f"is not authorized to perform: {service}:" in resp["Error"]["Message"]
