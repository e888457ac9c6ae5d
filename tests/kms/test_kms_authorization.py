"""KMS authorization with real IAM users: the key policy is the primary authority (the
default key policy delegates to IAM), grants allow what they name (with encryption
context constraints), explicit denies win, KMS condition keys."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def user(mamori):
    iam = mamori.client("iam")
    name = f"kms-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        pass

    u = User()
    u.name, u.arn = name, f"arn:aws:iam::{mamori.account_id}:user/{name}"
    u.client = lambda service, **kw: mamori.client(
        service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw)
    u.allow = lambda *statements: iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)}))
    return u


def code(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"]


def test_default_key_policy_delegates_to_iam(mamori, user):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    mine = user.client("kms")
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"x") == "AccessDeniedException"
    user.allow({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:team": "blue"}}})
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext={"team": "red"}) == \
        "AccessDeniedException"
    ct = mine.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"team": "blue"})["CiphertextBlob"]
    assert mine.decrypt(CiphertextBlob=ct, EncryptionContext={"team": "blue"})["Plaintext"] == b"x"


def test_key_policy_without_root_locks_iam_out(mamori, user):
    kms = mamori.client("kms")
    root = f"arn:aws:iam::{mamori.account_id}:root"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:PutKeyPolicy", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:DescribeKey", "Resource": "*"}]}
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    user.allow({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    mine = user.client("kms")
    # The root statements delegate only PutKeyPolicy/DescribeKey to IAM.
    assert mine.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"x") == "AccessDeniedException"
    policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "kms:Encrypt",
                                "Resource": "*"})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    mine.encrypt(KeyId=key_id, Plaintext=b"x")


def test_grant_allows_what_it_names_with_constraints(mamori, user):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    mine = user.client("kms")
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Encrypt", "Decrypt"],
                             Constraints={"EncryptionContextSubset": {"app": "x"}}, Name="g1",
                             RetiringPrincipal=f"arn:aws:iam::{mamori.account_id}:root")
    again = kms.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Encrypt", "Decrypt"],
                             Constraints={"EncryptionContextSubset": {"app": "x"}}, Name="g1",
                             RetiringPrincipal=f"arn:aws:iam::{mamori.account_id}:root")
    assert again["GrantId"] == grant["GrantId"]
    ct = mine.encrypt(KeyId=key_id, Plaintext=b"p", EncryptionContext={"app": "x", "more": "1"},
                      GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert mine.decrypt(CiphertextBlob=ct, EncryptionContext={"app": "x", "more": "1"})["Plaintext"] == b"p"
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"p", EncryptionContext={"app": "y"}) == "AccessDeniedException"
    assert code(mine.generate_data_key, KeyId=key_id, KeySpec="AES_256",
                EncryptionContext={"app": "x"}) == "AccessDeniedException"
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"p", EncryptionContext={"app": "x"},
                GrantTokens=["not-a-token"]) == "InvalidGrantTokenException"
    grants = kms.list_grants(KeyId=key_id)["Grants"]
    assert [g["GrantId"] for g in grants] == [grant["GrantId"]]
    assert grants[0]["Operations"] == ["Encrypt", "Decrypt"]
    assert kms.list_retirable_grants(RetiringPrincipal=f"arn:aws:iam::{mamori.account_id}:root")["Grants"]
    # An explicit deny in IAM still wins over the grant.
    mamori.client("iam").put_user_policy(UserName=user.name, PolicyName="deny", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]}))
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"p", EncryptionContext={"app": "x"}) == "AccessDeniedException"
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert code(mine.decrypt, CiphertextBlob=ct, EncryptionContext={"app": "x", "more": "1"}) == \
        "AccessDeniedException"
    g2 = kms.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt", "RetireGrant"])
    mine.retire_grant(GrantToken=g2["GrantToken"])
    assert kms.list_grants(KeyId=key_id)["Grants"] == []


def test_condition_keys_key_spec_and_caller_account(mamori, user):
    kms = mamori.client("kms")
    sym = kms.create_key()["KeyMetadata"]["KeyId"]
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    user.allow({"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
                "Condition": {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT",
                                               "kms:CallerAccount": mamori.account_id}}})
    mine = user.client("kms")
    mine.describe_key(KeyId=sym)
    assert code(mine.describe_key, KeyId=hmac) == "AccessDeniedException"


def test_cross_account_use_needs_key_policy_and_iam(mamori):
    other = "444455556666"
    creds = mamori.create_principal(f"x-{uuid.uuid4().hex[:6]}", account_id=other)
    theirs = mamori.client("kms", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"])
    kms = mamori.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as e:
        theirs.encrypt(KeyId=arn, Plaintext=b"x")
    assert not key_policy_matched(mamori, e)
    root = f"arn:aws:iam::{mamori.account_id}:root"
    kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"}, "Action": "kms:Encrypt",
         "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": other}}}]}))
    # The key policy now trusts the other account; its own IAM policies must still allow
    # (the hook's user has none), which is what the denial names now.
    with pytest.raises(ClientError) as e:
        theirs.encrypt(KeyId=arn, Plaintext=b"x")
    assert "because no identity-based policy allows the kms:Encrypt action" in e.value.response["Error"]["Message"]
    assert key_policy_matched(mamori, e)


def key_policy_matched(mamori, e) -> bool:
    """Whether a statement of the key policy matched the denied call (mamori's explain)."""
    explained = mamori.explain(e.value.response["ResponseMetadata"]["RequestId"])
    return any(r.get("policyKind") == "resource" and r.get("matched")
               for d in explained["decisions"] for r in d["reasons"])


def test_grant_operations_and_request_alias_condition_keys(mamori, user):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/ck-{key_id[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    user.allow(
        {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "DescribeKey"]},
                       "Bool": {"kms:GrantIsForAWSResource": "false"}}},
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:RequestAlias": alias}}})
    mine = user.client("kms")
    mine.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt"])
    assert code(mine.create_grant, KeyId=key_id, GranteePrincipal=user.arn,
                Operations=["Decrypt", "Encrypt"]) == "AccessDeniedException"
    mine.encrypt(KeyId=alias, Plaintext=b"x")
    assert code(mine.encrypt, KeyId=key_id, Plaintext=b"x") == "AccessDeniedException"


def test_grant_can_only_create_narrower_grants(mamori, user):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt", "CreateGrant"],
                     Constraints={"EncryptionContextSubset": {"team": "a"}})
    mine = user.client("kms")
    narrower = {"EncryptionContextSubset": {"team": "a", "env": "prod"}}
    mine.create_grant(KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt"], Constraints=narrower)
    assert code(mine.create_grant, KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt"]) == \
        "AccessDeniedException"
    assert code(mine.create_grant, KeyId=key_id, GranteePrincipal=user.arn, Operations=["Decrypt", "Encrypt"],
                Constraints=narrower) == "AccessDeniedException"
