"""The read API the authorizer and STS use (repository.py), on a real in-memory
resource store filled through the IAM API's own write path."""

from __future__ import annotations

import json

import pyotp
import pytest

from mamori.services.iam import repository as repo
from mamori.store.resources import ResourceStore
from mamori.store.secrets import SecretBox

from iam_helpers import ALLOW_S3, EC2_TRUST


def test_reads_after_api_writes(iam, uid, mamori):
    """Through the server: what the API wrote, the repository reads."""
    user, group, role = f"repo-{uid}", f"repog-{uid}", f"repor-{uid}"
    created = iam.create_user(UserName=user, Path="/r/", Tags=[{"Key": "team", "Value": "blue"}],
                              PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3FullAccess")["User"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=ALLOW_S3)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)

    # the test server runs in this process (MAMORI_TEST_ENDPOINT unset): read its store
    if mamori._server is None:
        pytest.skip("external server: no access to its store")
    store = mamori._server.config.app.runtime.store if hasattr(mamori._server.config, "app") else None
    if store is None:
        pytest.skip("store of the test server not reachable")
    account = mamori.account_id
    doc = repo.user(store, account, user.upper())
    assert doc["UserId"] == created["UserId"]
    assert repo.user_by_id(store, account, created["UserId"])["Arn"] == created["Arn"]
    assert [g["GroupName"] for g in repo.groups_of_user(store, account, user)] == [group]
    assert json.loads(repo.inline_policies(store, repo.group(store, account, group)["Arn"])["g"]) == json.loads(ALLOW_S3)
    assert repo.attached_policy_arns(store, created["Arn"]) == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert repo.permissions_boundary(store, created["Arn"]) == "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    assert repo.tags(store, created["Arn"]) == {"team": "blue"}
    assert repo.role(store, account, role)["RoleName"] == role


def test_version_counter_and_indexes():
    store = ResourceStore.open(None, SecretBox.open(None))
    account = "111122223333"
    assert repo.version(store, account) == 0
    arn = repo.entity_arn(account, "user", "/x/", "Bob")
    with store.transaction():
        repo.save(store, "user", account, {"UserName": "Bob", "UserId": "AIDAEXAMPLEEXAMPLE123", "Arn": arn, "Path": "/x/",
                                           "Tags": [{"Key": "k", "Value": "v"}], "Groups": [], "InlinePolicies": {},
                                           "AttachedPolicies": []})
        repo.index(store, account, "user", "Bob", arn, "AIDAEXAMPLEEXAMPLE123")
        v1 = repo.bump(store, account)
    assert repo.version(store, account) == v1 > 0
    assert repo.bump(store, account) == v1 + 1
    assert repo.user(store, account, "bob")["Arn"] == arn
    assert repo.user_by_id(store, account, "AIDAEXAMPLEEXAMPLE123")["UserName"] == "Bob"
    assert repo.role(store, account, "Bob") is None  # families do not mix
    assert repo.user(store, "999999999999", "bob") is None  # nor accounts
    assert repo.tags(store, arn) == {"k": "v"}
    managed = repo.managed_policy(store, "arn:aws:iam::aws:policy/AdministratorAccess")
    assert json.loads(managed["Document"])["Statement"][0]["Action"] == "*"
    assert repo.managed_policy(store, "arn:aws:iam::aws:policy/NoSuchPolicy") is None


def test_check_mfa_code_is_single_use():
    from mamori.services.iam import totp

    store = ResourceStore.open(None, SecretBox.open(None))
    account = "111122223333"
    serial = f"arn:aws:iam::{account}:mfa/dev"
    seed = totp.new_seed()
    store.put(serial, {"SerialNumber": serial, "UserName": "bob", "EnableDate": "2024-01-01T00:00:00Z"},
              kind="iam:mfa", account_id=account, secret=totp.base32(seed).encode())
    t = 1_800_000_000
    code = pyotp.TOTP(totp.base32(seed)).at(t)
    assert repo.check_mfa_code(store, serial, code, t) is True
    assert repo.check_mfa_code(store, serial, code, t) is False  # replay
    assert repo.check_mfa_code(store, serial, pyotp.TOTP(totp.base32(seed)).at(t + 30), t + 30) is True
    assert [d["SerialNumber"] for d in repo.mfa_devices(store, account, "BOB")] == [serial]
