"""iam:PassRole: handing a role to a service needs permission to pass that role, with
iam:PassedToService naming the service (id_roles_use_passrole.html)."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def role(mamori):
    iam = mamori.client("iam")
    name = f"passed-{uuid.uuid4().hex[:8]}"
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]


def pass_to(service, role_arn):
    return {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": service}}}


def test_instance_profile_needs_pass_role_to_ec2(mamori, user, role):
    iam = mamori.client("iam")
    profile = f"prof-{uuid.uuid4().hex[:8]}"
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.put_user_policy(UserName=user.name, PolicyName="profiles", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile", "Resource": "*"}))
    as_user = user.client("iam")
    with pytest.raises(ClientError) as err:
        as_user.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: iam:PassRole on resource: {role['Arn']} "
        "because no identity-based policy allows the iam:PassRole action")
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []

    # passing it to another service is not enough: iam:PassedToService must be EC2
    iam.put_user_policy(UserName=user.name, PolicyName="pass", PolicyDocument=doc(pass_to("lambda.amazonaws.com", role["Arn"])))
    with pytest.raises(ClientError):
        as_user.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])

    iam.put_user_policy(UserName=user.name, PolicyName="pass", PolicyDocument=doc(pass_to("ec2.amazonaws.com", role["Arn"])))
    as_user.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])
    roles = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == [role["RoleName"]]


def test_trail_logs_role_needs_pass_role_to_cloudtrail(mamori, user, role):
    group = f"arn:aws:logs:{mamori.region}:{mamori.account_id}:log-group:trail-logs:*"
    mamori.client("iam").put_user_policy(UserName=user.name, PolicyName="trails", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["cloudtrail:CreateTrail", "cloudtrail:UpdateTrail"], "Resource": "*"}))
    ct = user.client("cloudtrail")
    name = f"t-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=name, S3BucketName="bucket", CloudWatchLogsLogGroupArn=group, CloudWatchLogsRoleArn=role["Arn"])
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole" in err.value.response["Error"]["Message"]
    assert mamori.client("cloudtrail").describe_trails(trailNameList=[name])["trailList"] == []

    ct.create_trail(Name=name, S3BucketName="bucket")  # no role passed: no PassRole needed
    with pytest.raises(ClientError):
        ct.update_trail(Name=name, CloudWatchLogsLogGroupArn=group, CloudWatchLogsRoleArn=role["Arn"])
    mamori.client("iam").put_user_policy(UserName=user.name, PolicyName="pass", PolicyDocument=doc(
        pass_to("cloudtrail.amazonaws.com", role["Arn"])))
    trail = ct.update_trail(Name=name, CloudWatchLogsLogGroupArn=group, CloudWatchLogsRoleArn=role["Arn"])
    assert trail["CloudWatchLogsRoleArn"] == role["Arn"]
