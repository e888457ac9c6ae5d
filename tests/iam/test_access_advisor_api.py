"""Access advisor (last-accessed reports from CloudTrail), policies granting a service,
and the condition keys of policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def worker(iam, uid, mamori):
    """A user allowed STS and CloudTrail reads (inline) and IAM reads (through a group)."""
    name = f"adv-{uid}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="trail", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["cloudtrail:Describe*", "sts:GetCallerIdentity"], "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:RequestedRegion": "us-east-1"}}}))
    group = f"readers-{uid}"
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = lambda service: mamori.client(  # noqa: E731
        service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    return name, group, client


def test_last_accessed_report_comes_from_cloudtrail(iam, worker, mamori):
    name, group, client = worker
    arn = f"arn:aws:iam::{mamori.account_id}:user/{name}"
    client("cloudtrail").describe_trails()

    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    report = iam.get_service_last_accessed_details(JobId=job)
    assert report["JobStatus"] == "COMPLETED"
    services = {s["ServiceNamespace"]: s for s in report["ServicesLastAccessed"]}
    assert {"cloudtrail", "sts", "iam"} <= set(services) and "kms" not in services
    used = services["cloudtrail"]
    assert used["LastAuthenticatedEntity"] == arn and used["TotalAuthenticatedEntities"] == 1
    assert used["LastAuthenticatedRegion"] == mamori.region
    assert "LastAuthenticated" not in services["iam"]  # allowed, never used

    # a group's report names its members
    job = iam.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{mamori.account_id}:group/{group}")["JobId"]
    details = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    assert [e["EntityInfo"]["Name"] for e in details["EntityDetailsList"]] == [name]

    with pytest.raises(ClientError) as exc:
        iam.get_service_last_accessed_details(JobId="00000000-0000-0000-0000-000000000000")
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_policies_granting_service_access(iam, worker, mamori):
    name, group, _ = worker
    answer = iam.list_policies_granting_service_access(
        Arn=f"arn:aws:iam::{mamori.account_id}:user/{name}", ServiceNamespaces=["cloudtrail", "iam", "kms"])
    by_service = {g["ServiceNamespace"]: g["Policies"] for g in answer["PoliciesGrantingServiceAccess"]}
    assert by_service["cloudtrail"] == [{"PolicyName": "trail", "PolicyType": "INLINE", "EntityType": "USER", "EntityName": name}]
    assert by_service["iam"] == [{"PolicyName": "IAMReadOnlyAccess", "PolicyType": "MANAGED",
                                  "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}]
    assert by_service["kms"] == []


def test_context_keys(iam, worker, mamori):
    name, _, _ = worker
    custom = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                  "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "StringLike": {"s3:prefix": "home/*"}}},
                 {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"AWS:SourceIP": "x"}}})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[custom])["ContextKeyNames"] == ["aws:SourceIp", "s3:prefix"]
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{mamori.account_id}:user/{name}", PolicyInputList=[custom])["ContextKeyNames"]
    assert set(keys) == {"aws:SecureTransport", "aws:RequestedRegion", "aws:SourceIp", "s3:prefix"}


def test_sts_preferences_show_in_the_account_summary(iam):
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
