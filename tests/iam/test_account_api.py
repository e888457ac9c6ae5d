"""Account alias, GetAccountSummary, GetAccountAuthorizationDetails, the credential
report, and policy simulation."""

from __future__ import annotations

import csv
import io
import json

import pytest
from botocore.exceptions import ClientError

from iam_helpers import ALLOW_S3, DENY_S3_DELETE, error_of


def test_account_alias(iam, uid):
    alias = f"mamori-{uid}"
    iam.create_account_alias(AccountAlias=alias)
    try:
        assert iam.list_account_aliases()["AccountAliases"] == [alias]
        with pytest.raises(ClientError) as exc:
            iam.create_account_alias(AccountAlias="Bad_Alias")
        assert error_of(exc) == ("ValidationError", 400)
    finally:
        iam.delete_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == []
    with pytest.raises(ClientError) as exc:
        iam.delete_account_alias(AccountAlias=alias)
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_account_summary_counts(iam, uid):
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName=f"sum-{uid}")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["AccessKeysPerUserQuota"] == 2 and after["VersionsPerPolicyQuota"] == 5
    iam.delete_user(UserName=f"sum-{uid}")


def test_account_authorization_details(iam, uid):
    user, group = f"aad-{uid}", f"aadg-{uid}"
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=ALLOW_S3)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/SecurityAudit")
    details = iam.get_account_authorization_details(Filter=["User", "AWSManagedPolicy"], MaxItems=1000)
    mine = [u for u in details["UserDetailList"] if u["UserName"] == user][0]
    assert mine["GroupList"] == [group]
    assert mine["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "s3:*"
    assert mine["AttachedManagedPolicies"] == [{"PolicyName": "SecurityAudit", "PolicyArn": "arn:aws:iam::aws:policy/SecurityAudit"}]
    assert details["GroupDetailList"] == []
    assert "SecurityAudit" in [p["PolicyName"] for p in details["Policies"]]
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/SecurityAudit")
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)


def test_credential_report(iam, uid, mamori, mamori_clock):
    name = f"cr-{uid}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    mamori_clock.advance("5h")  # any earlier report is now stale
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert rows[0]["user"] == "<root_account>" and rows[0]["arn"] == f"arn:aws:iam::{mamori.account_id}:root"
    mine = [r for r in rows if r["user"] == name][0]
    assert mine["arn"] == f"arn:aws:iam::{mamori.account_id}:user/{name}"
    assert mine["password_enabled"] == "false" and mine["mfa_active"] == "false"
    assert mine["access_key_1_active"] == "true" and mine["access_key_2_active"] == "false"
    mamori_clock.advance("5h")
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert error_of(exc) == ("ReportExpired", 410)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_simulate_principal_policy(iam, uid, mamori):
    user, group = f"sim-{uid}", f"simg-{uid}"
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="s3", PolicyDocument=ALLOW_S3)
    iam.put_user_policy(UserName=user, PolicyName="nodelete", PolicyDocument=DENY_S3_DELETE)
    arn = f"arn:aws:iam::{mamori.account_id}:user/{user}"
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:DeleteBucket", "ec2:RunInstances"]
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"s3:GetObject": "allowed", "s3:DeleteBucket": "explicitDeny", "ec2:RunInstances": "implicitDeny"}
    allowed = [r for r in results if r["EvalActionName"] == "s3:GetObject"][0]
    assert allowed["MatchedStatements"][0]["SourcePolicyId"] == "s3"
    assert allowed["MatchedStatements"][0]["SourcePolicyType"] == "group"

    bounded = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:PutObject"],
        PermissionsBoundaryPolicyInputList=[json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})],
    )["EvaluationResults"][0]
    assert bounded["EvalDecision"] == "implicitDeny"
    assert bounded["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    with pytest.raises(ClientError) as exc:
        iam.simulate_principal_policy(PolicySourceArn=f"{arn}-missing", ActionNames=["s3:GetObject"])
    assert error_of(exc) == ("NoSuchEntity", 404)
    iam.delete_user_policy(UserName=user, PolicyName="nodelete")
    iam.delete_group_policy(GroupName=group, PolicyName="s3")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)


def test_simulate_custom_policy(iam):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})
    results = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/key", "arn:aws:s3:::other/key"],
        ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert [(r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("arn:aws:s3:::bucket/key", "allowed"), ("arn:aws:s3:::other/key", "implicitDeny")]
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"])
    assert error_of(exc) == ("MalformedPolicyDocument", 400)
