"""Resource policies handed to the authorizer by providers (`with_resource_policy`), and
EC2-style encoded denial messages decoded by STS.

No provider of mamori passes a resource policy yet (S3, SNS, SQS and KMS aren't
there), so this runs its own server with three small stand-in providers: SNS topics
whose policy the test sets, a KMS key whose key policy must allow by itself, and EC2's
DescribeInstances. Everything else is the real server: IAM, STS, the pipeline.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mamori.gateway.context import with_resource_policy
from mamori.services.base import Provider
from mamori.testing.plugin import MamoriServer

OTHER_ACCOUNT = "999988887777"
POLICIES: dict[str, Any] = {}  # resource ARN -> its policy, set by the tests


class TopicsStandIn(Provider):
    service = "sns"

    def get_topic_attributes(self, ctx, request):
        arn = request["TopicArn"]
        ctx.authorize("sns:GetTopicAttributes", arn,
                      with_resource_policy({}, POLICIES.get(arn), account=arn.split(":")[4]))
        return {"Attributes": {"TopicArn": arn}}


class KeysStandIn(Provider):
    service = "kms"

    def describe_key(self, ctx, request):
        arn = f"arn:aws:kms:{ctx.region}:{ctx.account_id}:key/{request['KeyId']}"
        ctx.authorize("kms:DescribeKey", arn, with_resource_policy({}, POLICIES.get(arn), required=True))
        return {"KeyMetadata": {"KeyId": request["KeyId"], "Arn": arn}}


class InstancesStandIn(Provider):
    service = "ec2"

    def describe_instances(self, ctx, request):
        ctx.authorize("ec2:DescribeInstances")
        return {"Reservations": []}


@pytest.fixture(scope="module")
def server():
    srv = MamoriServer.start(extra_providers={"sns": TopicsStandIn, "kms": KeysStandIn, "ec2": InstancesStandIn})
    try:
        yield srv
    finally:
        srv.stop()


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture
def user(server):
    iam = server.client("iam")
    name = f"rp-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        pass

    u = User()
    u.name, u.arn = name, arn
    u.client = lambda service, **kw: server.client(
        service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw)
    u.allow = lambda *statements: iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(doc(*statements)))
    return u


def topic(server, account=None):
    arn = f"arn:aws:sns:{server.region}:{account or server.account_id}:t-{uuid.uuid4().hex[:8]}"
    return arn


def error_of(call, **kw):
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]


def test_resource_policy_naming_the_user_is_enough(server, user):
    arn = topic(server)
    sns = user.client("sns")
    err = error_of(sns.get_topic_attributes, TopicArn=arn)
    assert err["Message"] == (f"User: {user.arn} is not authorized to perform: sns:GetTopicAttributes on resource: {arn} "
                              "because no identity-based policy allows the sns:GetTopicAttributes action")
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sns:GetTopicAttributes", "Resource": arn})
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn


def test_account_principal_only_delegates(server, user):
    arn = topic(server)
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": server.account_id}, "Action": "sns:*", "Resource": arn})
    sns = user.client("sns")
    assert error_of(sns.get_topic_attributes, TopicArn=arn)["Code"] == "AccessDenied"
    user.allow({"Effect": "Allow", "Action": "sns:GetTopicAttributes", "Resource": "*"})
    assert sns.get_topic_attributes(TopicArn=arn)


def test_explicit_deny_in_the_resource_policy_binds_admins_and_root(server, user):
    server.client("iam").attach_user_policy(UserName=user.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    arn = topic(server)
    POLICIES[arn] = doc({"Sid": "NoReads", "Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": arn})
    err = error_of(user.client("sns").get_topic_attributes, TopicArn=arn)
    assert err["Message"] == (f"User: {user.arn} is not authorized to perform: sns:GetTopicAttributes on resource: {arn} "
                              "with an explicit deny in a resource-based policy")
    with pytest.raises(ClientError) as denied:
        server.client("sns").get_topic_attributes(TopicArn=arn)
    explained = server.explain(denied.value.response["ResponseMetadata"]["RequestId"])
    assert any(r.get("sid") == "NoReads" and r.get("deciding") for r in explained["decisions"][0]["reasons"])


def test_cross_account_needs_both_sides(server, user):
    arn = topic(server, OTHER_ACCOUNT)
    user.allow({"Effect": "Allow", "Action": "sns:GetTopicAttributes", "Resource": "*"})
    sns = user.client("sns")
    err = error_of(sns.get_topic_attributes, TopicArn=arn)
    assert err["Message"].endswith("because no resource-based policy allows the sns:GetTopicAttributes action")
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": server.account_id}, "Action": "sns:GetTopicAttributes",
                         "Resource": arn})
    assert sns.get_topic_attributes(TopicArn=arn)
    # root of the caller's account is no exception across accounts
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sns:GetTopicAttributes", "Resource": arn})
    assert error_of(server.client("sns").get_topic_attributes, TopicArn=arn)["Code"] == "AccessDenied"


def test_required_key_policy_must_allow_by_itself(server, user):
    server.client("iam").attach_user_policy(UserName=user.name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key_id = str(uuid.uuid4())
    arn = f"arn:aws:kms:{server.region}:{server.account_id}:key/{key_id}"
    kms = user.client("kms")
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/nobody"},
                         "Action": "kms:*", "Resource": "*"})
    err = error_of(kms.describe_key, KeyId=key_id)
    assert err["Code"] == "AccessDeniedException"
    assert err["Message"].endswith("because no resource-based policy allows the kms:DescribeKey action")
    # the default key policy: the account is trusted, IAM policies decide
    POLICIES[arn] = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                         "Action": "kms:*", "Resource": "*"})
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == arn


def test_ec2_denials_carry_an_encoded_message_sts_decodes(server, user):
    err = error_of(user.client("ec2").describe_instances)
    assert err["Code"] == "UnauthorizedOperation"
    message = err["Message"]
    assert message.startswith(f"You are not authorized to perform this operation. User: {user.arn} is not authorized "
                              "to perform: ec2:DescribeInstances because no identity-based policy allows the "
                              "ec2:DescribeInstances action. Encoded authorization failure message: ")
    blob = message.rsplit(" ", 1)[-1]
    sts = user.client("sts")
    assert error_of(sts.decode_authorization_message, EncodedMessage=blob)["Code"] == "AccessDenied"
    user.allow({"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"})
    decoded = json.loads(sts.decode_authorization_message(EncodedMessage=blob)["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["action"] == "ec2:DescribeInstances"
    assert decoded["context"]["principal"]["arn"] == user.arn
    keys = {c["key"] for c in decoded["context"]["conditions"]["items"]}
    assert {"aws:username", "aws:SourceIp", "aws:RequestedRegion"} <= keys
    tampered = blob[:-4] + ("AAAA" if blob[-4:] != "AAAA" else "BBBB")
    assert error_of(sts.decode_authorization_message, EncodedMessage=tampered)["Code"] == "InvalidAuthorizationMessageException"
