"""STS flows through boto3: assume role (external id, session policy, chaining), MFA
through GetSessionToken, expiry on the mamori clock."""

from __future__ import annotations

import json
import uuid

import pyotp
import pytest
from botocore.exceptions import ClientError


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def as_creds(mamori, creds, service, **kw):
    return mamori.client(service, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds.get("SessionToken"), **kw)


@pytest.fixture
def alice(mamori):
    iam = mamori.client("iam")
    name = f"alice-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetSessionToken"], "Resource": "*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "arn": user["Arn"], "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def make_role(mamori, trusted_arn, *, external_id=None, condition=None, max_session=3600):
    iam = mamori.client("iam")
    name = f"role-{uuid.uuid4().hex[:8]}"
    statement = {"Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    if condition:
        statement["Condition"] = condition
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(statement), MaxSessionDuration=max_session)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="trails", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["cloudtrail:*", "sts:AssumeRole"], "Resource": "*"}))
    return role


def test_assume_role_and_act_as_the_session(mamori, alice):
    role = make_role(mamori, alice["arn"])
    sts = as_creds(mamori, alice, "sts")
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{mamori.account_id}:assumed-role/{role['RoleName']}/s1"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s1"
    ident = as_creds(mamori, creds, "sts").get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert "trailList" in as_creds(mamori, creds, "cloudtrail").describe_trails()
    # without the session token the key is not valid
    no_token = mamori.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        no_token.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    # the CloudTrail record shows the session, and no secret
    events = mamori.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}])["Events"]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["userIdentity"]["type"] == "AssumedRole"
    assert record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role["Arn"]
    assume = [e for e in mamori.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}])["Events"]
        if creds["AccessKeyId"] in e["CloudTrailEvent"]]
    assert assume and creds["SecretAccessKey"] not in assume[0]["CloudTrailEvent"]
    assert creds["SessionToken"] not in assume[0]["CloudTrailEvent"]


def test_external_id(mamori, alice):
    role = make_role(mamori, alice["arn"], external_id="secret-handshake")
    sts = as_creds(mamori, alice, "sts")
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["Error"]["Message"] == (
        f"User: {alice['arn']} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess", ExternalId="wrong")
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sess", ExternalId="secret-handshake")["Credentials"]


def test_untrusted_caller_and_root_are_refused(mamori, alice):
    role = make_role(mamori, f"arn:aws:iam::{mamori.account_id}:user/somebody-else")
    with pytest.raises(ClientError) as err:
        as_creds(mamori, alice, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="sess")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as err:
        mamori.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="sess")
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_session_policy_narrows_the_role(mamori, alice):
    role = make_role(mamori, alice["arn"])
    creds = as_creds(mamori, alice, "sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="narrow",
        Policy=doc({"Effect": "Allow", "Action": "cloudtrail:ListTrails", "Resource": "*"}))["Credentials"]
    ct = as_creds(mamori, creds, "cloudtrail")
    assert "Trails" in ct.list_trails()
    with pytest.raises(ClientError) as err:
        ct.describe_trails()
    assert err.value.response["Error"]["Message"].endswith(
        "because no session policy allows the cloudtrail:DescribeTrails action")


def test_role_chaining_is_capped_at_one_hour(mamori, alice):
    first = make_role(mamori, alice["arn"])
    second = make_role(mamori, first["Arn"], max_session=43200)
    creds = as_creds(mamori, alice, "sts").assume_role(RoleArn=first["Arn"], RoleSessionName="hop1")["Credentials"]
    chained = as_creds(mamori, creds, "sts")
    with pytest.raises(ClientError) as err:
        chained.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=7200)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "1 hour session limit" in err.value.response["Error"]["Message"]
    out = chained.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2", DurationSeconds=3600)
    assert out["AssumedRoleUser"]["Arn"].endswith(f"{second['RoleName']}/hop2")


def test_duration_above_max_session(mamori, alice):
    role = make_role(mamori, alice["arn"], max_session=3600)
    with pytest.raises(ClientError) as err:
        as_creds(mamori, alice, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="sess", DurationSeconds=7200)
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_mfa_session_unlocks_guarded_action(mamori, alice, mamori_clock):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=alice["name"], PolicyName="mfa-trails", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "cloudtrail:DescribeTrails", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}))
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=alice["name"])["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    mamori_clock.freeze()
    now = mamori_clock.now()
    iam.enable_mfa_device(UserName=alice["name"], SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    with pytest.raises(ClientError):
        as_creds(mamori, alice, "cloudtrail").describe_trails()  # long-term keys: no MFA
    mamori_clock.advance("30s")
    creds = as_creds(mamori, alice, "sts").get_session_token(
        SerialNumber=device["SerialNumber"], TokenCode=totp.at(mamori_clock.now()))["Credentials"]
    assert "trailList" in as_creds(mamori, creds, "cloudtrail").describe_trails()
    plain = as_creds(mamori, alice, "sts").get_session_token()["Credentials"]
    with pytest.raises(ClientError):
        as_creds(mamori, plain, "cloudtrail").describe_trails()


def test_temporary_credentials_expire_on_the_clock(mamori, alice, mamori_clock):
    role = make_role(mamori, alice["arn"])
    creds = as_creds(mamori, alice, "sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900)["Credentials"]
    sts = as_creds(mamori, creds, "sts")
    assert sts.get_caller_identity()["Arn"].endswith("/short")
    mamori_clock.advance("16m")
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"


def test_federation_token_is_the_intersection(mamori, alice):
    sts = as_creds(mamori, alice, "sts")
    mamori.client("iam").put_user_policy(UserName=alice["name"], PolicyName="fed", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["sts:GetFederationToken", "cloudtrail:ListTrails", "cloudtrail:DescribeTrails"],
         "Resource": "*"}))
    out = sts.get_federation_token(Name="fed-bob", Policy=doc({"Effect": "Allow", "Action": "cloudtrail:ListTrails", "Resource": "*"}))
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{mamori.account_id}:federated-user/fed-bob"
    assert out["FederatedUser"]["FederatedUserId"] == f"{mamori.account_id}:fed-bob"
    fed = as_creds(mamori, out["Credentials"], "cloudtrail")
    assert "Trails" in fed.list_trails()
    with pytest.raises(ClientError):  # the user may, the session policy doesn't
        fed.describe_trails()
    assert as_creds(mamori, out["Credentials"], "sts").get_caller_identity()["Arn"] == out["FederatedUser"]["Arn"]
    # without a session policy a federated user has no permissions at all
    bare = sts.get_federation_token(Name="fed-none")["Credentials"]
    with pytest.raises(ClientError):
        as_creds(mamori, bare, "cloudtrail").list_trails()


def test_get_access_key_info(mamori, alice):
    assert mamori.client("sts").get_access_key_info(AccessKeyId=alice["AccessKeyId"])["Account"] == mamori.account_id
    with pytest.raises(ClientError) as err:
        mamori.client("sts").get_access_key_info(AccessKeyId="AKIAUNKNOWNKEY000000")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
