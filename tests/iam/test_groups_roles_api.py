"""Groups and membership, roles and trust policies, service-linked roles, instance
profiles."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from iam_helpers import ALLOW_S3, EC2_TRUST, error_of


def test_group_lifecycle_and_membership(iam, uid, mamori):
    group, user = f"devs-{uid}", f"dev-{uid}"
    g = iam.create_group(GroupName=group, Path="/teams/")["Group"]
    assert g["GroupId"].startswith("AGPA") and g["Arn"] == f"arn:aws:iam::{mamori.account_id}:group/teams/{group}"
    with pytest.raises(ClientError) as exc:
        iam.create_group(GroupName=group)
    assert error_of(exc) == ("EntityAlreadyExists", 409)
    assert group in [x["GroupName"] for x in iam.list_groups(PathPrefix="/teams/")["Groups"]]

    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    members = iam.get_group(GroupName=group)
    assert members["Group"]["GroupName"] == group
    assert [u["UserName"] for u in members["Users"]] == [user]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]

    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName=group)
    assert error_of(exc) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=user)
    assert error_of(exc) == ("DeleteConflict", 409)

    iam.update_group(GroupName=group, NewGroupName=f"{group}-2")
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=user)["Groups"]] == [f"{group}-2"]

    iam.remove_user_from_group(GroupName=f"{group}-2", UserName=user)
    with pytest.raises(ClientError) as exc:
        iam.remove_user_from_group(GroupName=f"{group}-2", UserName=user)
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert iam.get_group(GroupName=f"{group}-2")["Users"] == []
    iam.delete_group(GroupName=f"{group}-2")
    iam.delete_user(UserName=user)
    with pytest.raises(ClientError) as exc:
        iam.get_group(GroupName=f"{group}-2")
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_group_policies(iam, uid):
    group = f"gp-{uid}"
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="inline", PolicyDocument=ALLOW_S3)
    assert iam.get_group_policy(GroupName=group, PolicyName="inline")["PolicyDocument"]["Version"] == "2012-10-17"
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["inline"]
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]] == ["IAMReadOnlyAccess"]
    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName=group)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_group_policy(GroupName=group, PolicyName="inline")
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []
    iam.delete_group(GroupName=group)


def test_role_lifecycle(iam, uid, mamori):
    name = f"app-{uid}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST, Description="app role",
                           MaxSessionDuration=7200, Tags=[{"Key": "env", "Value": "dev"}])["Role"]
    assert role["RoleId"].startswith("AROA") and role["Arn"] == f"arn:aws:iam::{mamori.account_id}:role/{name}"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert role["MaxSessionDuration"] == 7200

    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "app role" and got["Tags"] == [{"Key": "env", "Value": "dev"}]
    assert got["RoleLastUsed"] == {}
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 43200
    desc = iam.update_role_description(RoleName=name, Description="new")["Role"]
    assert desc["Description"] == "new"

    trust = json.loads(EC2_TRUST)
    trust["Statement"][0]["Principal"] = {"Service": "lambda.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == trust

    iam.tag_role(RoleName=name, Tags=[{"Key": "owner", "Value": "me"}])
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "owner", "Value": "me"}]

    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=name)
    assert error_of(exc) == ("NoSuchEntity", 404)


@pytest.mark.parametrize("duration", [3599, 43201])
def test_max_session_duration_bounds(iam_raw, uid, duration):
    with pytest.raises(ClientError) as exc:
        iam_raw.create_role(RoleName=f"d-{uid}", AssumeRolePolicyDocument=EC2_TRUST, MaxSessionDuration=duration)
    assert error_of(exc) == ("ValidationError", 400)


def test_trust_policy_needs_a_principal(iam, uid):
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=f"t-{uid}", AssumeRolePolicyDocument=ALLOW_S3)
    assert error_of(exc) == ("MalformedPolicyDocument", 400)


def test_role_policies_and_boundary(iam, uid):
    name = f"rp-{uid}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=ALLOW_S3)
    assert iam.get_role_policy(RoleName=name, PolicyName="s3")["RoleName"] == name
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["s3"]
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"][0]["PolicyName"] == "AmazonS3FullAccess"
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("AmazonS3ReadOnlyAccess")
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.delete_role_permissions_boundary(RoleName=name)
    iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    iam.delete_role_policy(RoleName=name, PolicyName="s3")
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    iam.delete_role(RoleName=name)


def test_service_linked_role(iam, mamori):
    role = iam.create_service_linked_role(AWSServiceName="elasticloadbalancing.amazonaws.com", CustomSuffix="mamori")["Role"]
    assert role["Path"] == "/aws-service-role/elasticloadbalancing.amazonaws.com/"
    assert role["RoleName"] == "AWSServiceRoleForElasticLoadBalancing_mamori"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "elasticloadbalancing.amazonaws.com"}
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName=role["RoleName"], Description="x")
    assert error_of(exc) == ("UnmodifiableEntity", 400)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=role["RoleName"])
    assert error_of(exc) == ("UnmodifiableEntity", 400)
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName="not-a-service")
    assert error_of(exc) == ("InvalidInput", 400)
    task = iam.delete_service_linked_role(RoleName=role["RoleName"])["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/elasticloadbalancing.amazonaws.com/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=role["RoleName"])
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_instance_profiles(iam, uid, mamori):
    name, role = f"ip-{uid}", f"iprole-{uid}"
    ip = iam.create_instance_profile(InstanceProfileName=name, Tags=[{"Key": "k", "Value": "v"}])["InstanceProfile"]
    assert ip["InstanceProfileId"].startswith("AIPA") and ip["Roles"] == []
    assert ip["Arn"] == f"arn:aws:iam::{mamori.account_id}:instance-profile/{name}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]] == [role]
    with pytest.raises(ClientError) as exc:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    assert error_of(exc) == ("LimitExceeded", 409)
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [name]
    assert name in [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    with pytest.raises(ClientError) as exc:
        iam.delete_instance_profile(InstanceProfileName=name)
    assert error_of(exc) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=role)
    assert error_of(exc) == ("DeleteConflict", 409)

    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "x", "Value": "y"}])
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["k"])
    assert iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"] == [{"Key": "x", "Value": "y"}]

    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as exc:
        iam.get_instance_profile(InstanceProfileName=name)
    assert error_of(exc) == ("NoSuchEntity", 404)
