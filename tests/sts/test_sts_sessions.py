"""STS sessions through boto3: session tags (transitive along a chain), source identity,
what GetSessionToken and federated credentials may call, MFA errors, packed size,
DecodeAuthorizationMessage, and CloudTrail keeping no secret."""

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


def error_of(call, **kw):
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]


@pytest.fixture
def alice(mamori):
    iam = mamori.client("iam")
    name = f"alice-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="sts", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": "*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "arn": user["Arn"], "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def make_role(mamori, trusted_arn, actions=("sts:AssumeRole",), permissions=None):
    iam = mamori.client("iam")
    name = f"role-{uuid.uuid4().hex[:8]}"
    trust = doc({"Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": list(actions)})
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc(*(permissions or [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity", "cloudtrail:ListTrails"],
         "Resource": "*"}])))
    return role


# -- session tags -------------------------------------------------------------------------


def test_session_tags_need_tag_session_in_the_trust_policy(mamori, alice):
    role = make_role(mamori, alice["arn"])  # trusts sts:AssumeRole only
    sts = as_creds(mamori, alice, "sts")
    err = error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="tagged", Tags=[{"Key": "team", "Value": "red"}])
    assert err["Code"] == "AccessDenied"
    assert err["Message"] == f"User: {alice['arn']} is not authorized to perform: sts:TagSession on resource: {role['Arn']}"
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="untagged")["Credentials"]


def test_session_tags_are_principal_tags_and_transitive_ones_follow_the_chain(mamori, alice):
    tag_trail = {"Effect": "Allow", "Action": "cloudtrail:DescribeTrails", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}}}
    first = make_role(mamori, alice["arn"], ("sts:AssumeRole", "sts:TagSession"), [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"}, tag_trail])
    second = make_role(mamori, first["Arn"], ("sts:AssumeRole", "sts:TagSession"), [tag_trail])
    out = as_creds(mamori, alice, "sts").assume_role(
        RoleArn=first["Arn"], RoleSessionName="hop1", Tags=[{"Key": "team", "Value": "red"}, {"Key": "desk", "Value": "7"}],
        TransitiveTagKeys=["team"])
    assert 0 < out["PackedPolicySize"] <= 100
    hop1 = out["Credentials"]
    assert "trailList" in as_creds(mamori, hop1, "cloudtrail").describe_trails()
    chained = as_creds(mamori, hop1, "sts")
    # an inherited transitive key can't be passed again
    err = error_of(chained.assume_role, RoleArn=second["Arn"], RoleSessionName="hop2", Tags=[{"Key": "TEAM", "Value": "blue"}])
    assert err["Code"] == "ValidationError"
    hop2 = chained.assume_role(RoleArn=second["Arn"], RoleSessionName="hop2")["Credentials"]
    assert "trailList" in as_creds(mamori, hop2, "cloudtrail").describe_trails()  # team=red came along


def test_bad_session_tags(mamori, alice):
    role = make_role(mamori, alice["arn"], ("sts:AssumeRole", "sts:TagSession"))
    sts = as_creds(mamori, alice, "sts")
    cases = [
        ({"Tags": [{"Key": "aws:team", "Value": "x"}]}, "ValidationError"),
        ({"Tags": [{"Key": "Team", "Value": "x"}, {"Key": "team", "Value": "y"}]}, "ValidationError"),
        ({"Tags": [{"Key": "team", "Value": "x"}], "TransitiveTagKeys": ["other"]}, "ValidationError"),
        ({"Tags": [{"Key": f"k{n}", "Value": "v" * 200} for n in range(12)]}, "PackedPolicyTooLarge"),
    ]
    for extra, code in cases:
        assert error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="bad", **extra)["Code"] == code, extra


# -- source identity ----------------------------------------------------------------------


def test_source_identity_is_kept_along_the_chain(mamori, alice):
    role = make_role(mamori, alice["arn"])
    sts = as_creds(mamori, alice, "sts")
    err = error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="si", SourceIdentity="alice-laptop")
    assert err["Message"] == f"User: {alice['arn']} is not authorized to perform: sts:SetSourceIdentity on resource: {role['Arn']}"

    first = make_role(mamori, alice["arn"], ("sts:AssumeRole", "sts:SetSourceIdentity"))
    second = make_role(mamori, first["Arn"], ("sts:AssumeRole", "sts:SetSourceIdentity"), [
        {"Effect": "Allow", "Action": "cloudtrail:ListTrails", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceIdentity": "alice-laptop"}}}])
    out = sts.assume_role(RoleArn=first["Arn"], RoleSessionName="si", SourceIdentity="alice-laptop")
    assert out["SourceIdentity"] == "alice-laptop"
    chained = as_creds(mamori, out["Credentials"], "sts")
    assert error_of(chained.assume_role, RoleArn=second["Arn"], RoleSessionName="si2",
                    SourceIdentity="someone-else")["Code"] == "ValidationError"
    out2 = chained.assume_role(RoleArn=second["Arn"], RoleSessionName="si2")
    assert out2["SourceIdentity"] == "alice-laptop"
    ct = as_creds(mamori, out2["Credentials"], "cloudtrail")
    assert "Trails" in ct.list_trails()
    events = mamori.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "AccessKeyId", "AttributeValue": out2["Credentials"]["AccessKeyId"]}])["Events"]
    identity = json.loads(events[0]["CloudTrailEvent"])["userIdentity"]
    assert identity["sessionContext"]["sourceIdentity"] == "alice-laptop"


# -- who may call what ----------------------------------------------------------------------


def test_root_cannot_assume_roles(mamori, alice):
    role = make_role(mamori, f"arn:aws:iam::{mamori.account_id}:root")
    err = error_of(mamori.client("sts").assume_role, RoleArn=role["Arn"], RoleSessionName="root")
    assert (err["Code"], err["Message"]) == ("AccessDenied", "Roles may not be assumed by root accounts.")


def test_missing_role_is_access_denied(mamori, alice):
    arn = f"arn:aws:iam::{mamori.account_id}:role/no-such-role-{uuid.uuid4().hex[:6]}"
    err = error_of(as_creds(mamori, alice, "sts").assume_role, RoleArn=arn, RoleSessionName="s1")
    assert err["Message"] == f"User: {alice['arn']} is not authorized to perform: sts:AssumeRole on resource: {arn}"


def test_get_session_token_needs_no_permission_and_limits_its_credentials(mamori, alice, mamori_clock):
    iam = mamori.client("iam")
    name = f"nopol-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    bare = as_creds(mamori, key, "sts")
    creds = bare.get_session_token(DurationSeconds=900)["Credentials"]  # no policy at all: still works
    session_sts = as_creds(mamori, creds, "sts")
    assert session_sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    err = error_of(session_sts.get_session_token)
    assert (err["Code"], err["Message"]) == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert error_of(session_sts.get_access_key_info, AccessKeyId=key["AccessKeyId"])["Code"] == "AccessDenied"
    # without MFA, GetSessionToken credentials can't call IAM at all
    err = error_of(as_creds(mamori, creds, "iam").get_user)
    assert err["Code"] == "InvalidClientTokenId"
    assert "trailList" in as_creds(mamori, creds, "cloudtrail").describe_trails()
    # root's sessions last one hour whatever is asked
    root = mamori.client("sts").get_session_token(DurationSeconds=7200)["Credentials"]
    mamori_clock.advance("61m")
    assert error_of(as_creds(mamori, root, "sts").get_caller_identity)["Code"] == "ExpiredToken"


def test_mfa_session_may_call_iam_and_bad_codes_are_refused(mamori, alice, mamori_clock):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=alice["name"], PolicyName="self", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": alice["arn"]}))
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=alice["name"])["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    mamori_clock.freeze()
    now = mamori_clock.now()
    iam.enable_mfa_device(UserName=alice["name"], SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    sts = as_creds(mamori, alice, "sts")
    mamori_clock.advance("30s")
    wrong = "000000" if totp.at(mamori_clock.now()) != "000000" else "111111"
    err = error_of(sts.get_session_token, SerialNumber=device["SerialNumber"], TokenCode=wrong)
    assert (err["Code"], err["Message"]) == ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
    creds = sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode=totp.at(mamori_clock.now()))["Credentials"]
    assert as_creds(mamori, creds, "iam").get_user()["User"]["Arn"] == alice["arn"]


def test_federated_users_cannot_call_iam(mamori, alice):
    iam = mamori.client("iam")
    iam.put_user_policy(UserName=alice["name"], PolicyName="fed", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    out = as_creds(mamori, alice, "sts").get_federation_token(
        Name="fed-carol", Policy=doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert error_of(as_creds(mamori, out["Credentials"], "iam").list_users)["Code"] == "InvalidClientTokenId"
    fed_sts = as_creds(mamori, out["Credentials"], "sts")
    assert fed_sts.get_caller_identity()["Arn"] == out["FederatedUser"]["Arn"]
    assert error_of(fed_sts.get_federation_token, Name="again")["Code"] == "AccessDenied"


# -- sizes, messages, records ---------------------------------------------------------------


def test_session_policy_too_large(mamori, alice):
    role = make_role(mamori, alice["arn"])
    big = doc(*[{"Sid": f"S{n}", "Effect": "Allow", "Action": "cloudtrail:ListTrails",
                 "Resource": f"arn:aws:cloudtrail:us-east-1:{mamori.account_id}:trail/{'x' * 60}{n}"} for n in range(20)])
    err = error_of(as_creds(mamori, alice, "sts").assume_role, RoleArn=role["Arn"], RoleSessionName="big", Policy=big)
    assert err["Code"] == "PackedPolicyTooLarge"
    assert err["Message"].startswith("Packed policy consumes ") and "% of allotted space" in err["Message"]
    bad = error_of(as_creds(mamori, alice, "sts").assume_role, RoleArn=role["Arn"], RoleSessionName="bad", Policy="{not json")
    assert bad["Code"] == "MalformedPolicyDocument"


def test_decode_authorization_message_refuses_what_it_did_not_write(mamori):
    err = error_of(mamori.client("sts").decode_authorization_message, EncodedMessage="bm90LWEtbWVzc2FnZQ")
    assert err["Code"] == "InvalidAuthorizationMessageException"


def test_cloudtrail_keeps_no_temporary_secret(mamori, alice):
    issued = []
    sts = as_creds(mamori, alice, "sts")
    issued.append(mamori.client("sts").get_session_token()["Credentials"])
    mamori.client("iam").put_user_policy(UserName=alice["name"], PolicyName="fed", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}))
    issued.append(sts.get_federation_token(Name="fed-dave")["Credentials"])
    role = make_role(mamori, alice["arn"])
    issued.append(sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ct")["Credentials"])
    ct = mamori.client("cloudtrail")
    records = [e["CloudTrailEvent"] for name in ("GetSessionToken", "GetFederationToken", "AssumeRole")
               for e in ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]]
    # Get* calls are read-only (no responseElements); AssumeRole's names the new key
    assert any(issued[-1]["AccessKeyId"] in r for r in records)
    for creds in issued:
        for record in records:
            assert creds["SecretAccessKey"] not in record and creds["SessionToken"] not in record


def test_role_session_context_keys(mamori, alice):
    iam = mamori.client("iam")
    name = f"ctx-{uuid.uuid4().hex[:8]}"
    trust = doc({"Effect": "Allow", "Principal": {"AWS": alice["arn"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]})
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "blue"}])["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc({
        "Effect": "Allow", "Action": "cloudtrail:DescribeTrails", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red", "aws:PrincipalType": "AssumedRole",
                                       "aws:PrincipalArn": role["Arn"], "aws:MultiFactorAuthPresent": "false"}}}))
    sts = as_creds(mamori, alice, "sts")
    plain = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="plain")["Credentials"]
    assert error_of(as_creds(mamori, plain, "cloudtrail").describe_trails)["Code"] == "AccessDeniedException"
    # a session tag overrides the role's tag of the same key, whatever its case
    red = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="red", Tags=[{"Key": "Team", "Value": "red"}])["Credentials"]
    assert "trailList" in as_creds(mamori, red, "cloudtrail").describe_trails()


def test_assume_role_with_mfa_when_the_trust_policy_asks_for_it(mamori, alice, mamori_clock):
    iam = mamori.client("iam")
    name = f"mfa-role-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({
        "Effect": "Allow", "Principal": {"AWS": alice["arn"]}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}))["Role"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{alice['name']}-r")["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    mamori_clock.freeze()
    now = mamori_clock.now()
    iam.enable_mfa_device(UserName=alice["name"], SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    sts = as_creds(mamori, alice, "sts")
    assert error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="nomfa")["Code"] == "AccessDenied"
    err = error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="half", SerialNumber=device["SerialNumber"])
    assert err["Message"] == "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."
    mamori_clock.advance("30s")
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="withmfa", SerialNumber=device["SerialNumber"],
                          TokenCode=totp.at(mamori_clock.now()))
    creds = out["Credentials"]
    as_creds(mamori, creds, "sts").get_caller_identity()
    events = mamori.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}])["Events"]
    context = json.loads(events[0]["CloudTrailEvent"])["userIdentity"]["sessionContext"]
    assert context["attributes"]["mfaAuthenticated"] == "true"


def test_explain_shows_the_trust_policy_condition_that_failed(mamori, alice):
    iam = mamori.client("iam")
    name = f"ext-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({
        "Sid": "PartnerOnly", "Effect": "Allow", "Principal": {"AWS": alice["arn"]}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "handshake"}}}))["Role"]
    with pytest.raises(ClientError) as err:
        as_creds(mamori, alice, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="xx", ExternalId="wrong")
    decision = mamori.explain(err.value.response["ResponseMetadata"]["RequestId"])["decisions"][-1]
    assert decision["action"] == "sts:AssumeRole" and decision["kind"] == "implicit_deny"
    [reason] = [r for r in decision["reasons"] if r.get("sid") == "PartnerOnly"]
    assert reason["policyKind"] == "trust" and reason["failed"] == "Condition"
    assert reason["condition"]["actual"] == "wrong"


@pytest.mark.parametrize("extra, where", [
    ({"RoleSessionName": "bad name!"}, "roleSessionName"),
    ({"ExternalId": "a b"}, "externalId"),
    ({"SourceIdentity": "aws:me"}, "sourceIdentity"),
    ({"TokenCode": "12ab56", "SerialNumber": "arn:aws:iam::000000000000:mfa/x"}, "tokenCode"),
])
def test_parameters_are_validated_before_anything_else(mamori, extra, where):
    params = {"RoleArn": f"arn:aws:iam::{mamori.account_id}:role/whatever", "RoleSessionName": "fine", **extra}
    err = error_of(mamori.client("sts").assume_role, **params)  # as root: validation comes first
    assert err["Code"] == "ValidationError"
    assert f"at '{where}' failed to satisfy constraint" in err["Message"]
