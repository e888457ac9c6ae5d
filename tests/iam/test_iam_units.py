"""Pure parts of the IAM provider: name/path/tag checks, pagination, the managed
policy data files, and the assembly of the provider from its mixins."""

from __future__ import annotations

import inspect

import pytest

from mamori.errors import AwsError
from mamori.policy import parse_policy
from mamori.services.iam import ids, repository
from mamori.services.iam.provider import IamProvider
from mamori.services.iam.validation import check_name, check_path, check_tags, merge_tags, paginate


@pytest.mark.parametrize("name,ok", [("alice", True), ("a+b=c,d.e@f-g_h", True), ("a b", False), ("a/b", False),
                                     ("", False), ("x" * 64, True), ("x" * 65, False), ("é", False)])
def test_names(name, ok):
    if ok:
        assert check_name(name, "userName") == name
    else:
        with pytest.raises(AwsError) as exc:
            check_name(name, "userName")
        assert exc.value.code == "ValidationError"


@pytest.mark.parametrize("path,ok", [("/", True), ("/a/b/", True), ("a/", False), ("/a", False), ("//", False),
                                     ("/" + "a" * 510 + "/", True), ("/" + "a" * 511 + "/", False)])
def test_paths(path, ok):
    if ok:
        assert check_path(path) == path
    else:
        with pytest.raises(AwsError):
            check_path(path)


def test_tags_rules():
    assert check_tags([{"Key": "team", "Value": "a"}]) == [{"Key": "team", "Value": "a"}]
    for bad, code in [([{"Key": "aws:x", "Value": ""}], "InvalidInput"),
                      ([{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}], "InvalidInput"),
                      ([{"Key": f"k{i}", "Value": ""} for i in range(51)], "LimitExceeded")]:
        with pytest.raises(AwsError) as exc:
            check_tags(bad)
        assert exc.value.code == code
    merged = merge_tags([{"Key": "Team", "Value": "a"}], [{"Key": "team", "Value": "b"}, {"Key": "x", "Value": "y"}])
    assert merged == [{"Key": "Team", "Value": "b"}, {"Key": "x", "Value": "y"}]


def test_pagination_markers():
    items = list(range(7))
    first = paginate(items, {"MaxItems": 3}, "Items")
    assert first["Items"] == [0, 1, 2] and first["IsTruncated"] is True
    second = paginate(items, {"MaxItems": 3, "Marker": first["Marker"]}, "Items")
    third = paginate(items, {"MaxItems": 3, "Marker": second["Marker"]}, "Items")
    assert second["Items"] == [3, 4, 5] and third["Items"] == [6]
    assert third["IsTruncated"] is False and "Marker" not in third


def test_ids_have_aws_shapes():
    assert len(ids.new_unique_id("AIDA")) == 21 and ids.new_unique_id("AROA").startswith("AROA")
    key = ids.new_access_key_id()
    assert len(key) == 20 and key.startswith("AKIA")
    assert len(ids.new_secret_access_key()) == 40


EXPECTED_MANAGED = {
    "AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "SecurityAudit", "IAMFullAccess",
    "IAMReadOnlyAccess", "IAMUserChangePassword", "AWSCloudTrail_FullAccess", "AWSCloudTrail_ReadOnlyAccess",
    "AWSKeyManagementServicePowerUser", "CloudWatchFullAccess", "CloudWatchReadOnlyAccess",
    "CloudWatchLogsFullAccess", "CloudWatchLogsReadOnlyAccess", "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess",
    "AmazonSNSFullAccess", "AmazonSQSFullAccess", "AmazonEventBridgeFullAccess", "AmazonGuardDutyFullAccess",
    "AmazonEC2FullAccess", "AmazonVPCFullAccess",
}  # fmt: skip


def test_managed_policies_are_valid_identity_policies():
    docs = {d["PolicyName"]: d for d in repository.aws_managed_policies()}
    assert EXPECTED_MANAGED <= set(docs)
    for name, doc in docs.items():
        assert doc["Arn"] == f"arn:aws:iam::aws:policy/{name}"
        assert doc["PolicyId"].startswith("ANPA") and len(doc["PolicyId"]) == 21
        parse_policy(doc["Versions"][doc["DefaultVersionId"]]["Document"], "identity")


def test_mixins_do_not_shadow_each_other():
    """Every method of every family mixin reaches the provider (no name defined twice)."""
    seen: dict[str, str] = {}
    for cls in IamProvider.__mro__[1:]:
        if cls.__module__.startswith("mamori.services.iam."):
            for name, _ in inspect.getmembers(cls, inspect.isfunction):
                if name in cls.__dict__:
                    assert name not in seen or seen[name] == cls.__name__, f"{name} in {seen.get(name)} and {cls.__name__}"
                    seen[name] = cls.__name__
