"""Managed policies and their versions, policy tags, ListEntitiesForPolicy, AWS
managed policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from iam_helpers import ALLOW_S3, DENY_S3_DELETE, EC2_TRUST, error_of


def test_policy_versions(iam, uid, mamori):
    p = iam.create_policy(PolicyName=f"v-{uid}", Path="/team/", PolicyDocument=ALLOW_S3, Description="d",
                          Tags=[{"Key": "a", "Value": "b"}])["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{mamori.account_id}:policy/team/v-{uid}"
    assert p["PolicyId"].startswith("ANPA") and p["DefaultVersionId"] == "v1" and p["AttachmentCount"] == 0
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=f"v-{uid}", PolicyDocument=ALLOW_S3)
    assert error_of(exc) == ("EntityAlreadyExists", 409)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "d"

    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=DENY_S3_DELETE, SetAsDefault=(i == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{i}" and v["IsDefaultVersion"] == (i == 3)
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3)
    assert error_of(exc) == ("LimitExceeded", 409)

    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2", "v3", "v4", "v5"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Effect"] == "Deny"

    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)  # other versions left
    assert error_of(exc) == ("DeleteConflict", 409)
    for vid in ("v2", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=vid)
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]

    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "c", "Value": "d"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "c", "Value": "d"}]

    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_malformed_policy_documents(iam, uid):
    for bad in ["not json", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}),
                EC2_TRUST]:
        with pytest.raises(ClientError) as exc:
            iam.create_policy(PolicyName=f"bad-{uid}", PolicyDocument=bad)
        assert error_of(exc) == ("MalformedPolicyDocument", 400)


def test_aws_managed_policies(iam):
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["PolicyName"] == "AdministratorAccess" and p["IsAttachable"] is True
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert doc["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    names = {x["PolicyName"] for x in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    assert {"ReadOnlyAccess", "IAMUserChangePassword", "AWSCloudTrail_ReadOnlyAccess", "AmazonVPCFullAccess"} <= names
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3)
    assert error_of(exc) == ("UnmodifiableEntity", 400)
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(exc) == ("UnmodifiableEntity", 400)


def test_list_policies_scopes_and_entities(iam, uid):
    arn = iam.create_policy(PolicyName=f"ent-{uid}", PolicyDocument=ALLOW_S3)["Policy"]["Arn"]
    local = {x["Arn"] for x in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]}
    assert arn in local and not any(a.startswith("arn:aws:iam::aws:") for a in local)
    user, group, role = f"eu-{uid}", f"eg-{uid}", f"er-{uid}"
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)

    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [role]
    only_policy = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert only_policy["PolicyRoles"] == []
    only_users = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User")
    assert only_users["PolicyGroups"] == [] and len(only_users["PolicyUsers"]) == 1
    attached = {x["Arn"] for x in iam.list_policies(Scope="Local", OnlyAttached=True, MaxItems=1000)["Policies"]}
    assert arn in attached
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)
    iam.delete_policy(PolicyArn=arn)
