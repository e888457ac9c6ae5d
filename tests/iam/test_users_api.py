"""Users, user tags, inline and attached user policies, permissions boundaries."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from iam_helpers import ALLOW_S3, error_of


def test_user_lifecycle(iam, uid, mamori):
    name = f"alice-{uid}"
    created = iam.create_user(UserName=name, Path="/eng/", Tags=[{"Key": "team", "Value": "red"}])["User"]
    assert created["UserName"] == name and created["Path"] == "/eng/"
    assert created["Arn"] == f"arn:aws:iam::{mamori.account_id}:user/eng/{name}"
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    assert created["Tags"] == [{"Key": "team", "Value": "red"}]

    got = iam.get_user(UserName=name.upper())["User"]  # names are case-insensitive
    assert got["UserId"] == created["UserId"] and got["UserName"] == name

    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name.upper())
    assert error_of(exc) == ("EntityAlreadyExists", 409)

    listed = iam.list_users(PathPrefix="/eng/")["Users"]
    assert name in [u["UserName"] for u in listed]
    assert all("Tags" not in u for u in listed)

    iam.update_user(UserName=name, NewUserName=f"{name}-2", NewPath="/ops/")
    moved = iam.get_user(UserName=f"{name}-2")["User"]
    assert moved["Path"] == "/ops/" and moved["UserId"] == created["UserId"]
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=name)
    assert error_of(exc) == ("NoSuchEntity", 404)

    iam.delete_user(UserName=f"{name}-2")
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=f"{name}-2")
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert "cannot be found" in exc.value.response["Error"]["Message"]


def test_get_user_without_name_is_the_caller(iam, mamori):
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{mamori.account_id}:root"
    assert me["UserId"] == mamori.account_id


@pytest.mark.parametrize("bad", ["has space", "slash/name", "x" * 65])
def test_invalid_user_names(iam_raw, bad):
    with pytest.raises(ClientError) as exc:
        iam_raw.create_user(UserName=bad)
    assert error_of(exc) == ("ValidationError", 400)


def test_invalid_path(iam, uid):
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=f"p-{uid}", Path="no-slashes")
    assert error_of(exc) == ("ValidationError", 400)


def test_list_users_paginates(iam, uid):
    names = [f"page-{uid}-{i}" for i in range(5)]
    for n in names:
        iam.create_user(UserName=n, Path=f"/page{uid}/")
    seen, marker = [], None
    while True:
        kwargs = {"PathPrefix": f"/page{uid}/", "MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = iam.list_users(**kwargs)
        seen += [u["UserName"] for u in page["Users"]]
        assert len(page["Users"]) <= 2
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert seen == sorted(names)
    for n in names:
        iam.delete_user(UserName=n)


def test_user_tags(iam, uid):
    name = f"tags-{uid}"
    iam.create_user(UserName=name)
    iam.tag_user(UserName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "A", "Value": "3"}])  # same key, other case: replaced
    tags = iam.list_user_tags(UserName=name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "3"), ("b", "2")]
    iam.untag_user(UserName=name, TagKeys=["b"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "a", "Value": "3"}]
    with pytest.raises(ClientError) as exc:
        iam.tag_user(UserName=name, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert error_of(exc) == ("InvalidInput", 400)
    iam.delete_user(UserName=name)


def test_inline_user_policies(iam, uid):
    name = f"inline-{uid}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=ALLOW_S3)
    got = iam.get_user_policy(UserName=name, PolicyName="s3")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:*"  # boto3 decoded the URL-encoded JSON
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["s3"]

    with pytest.raises(ClientError) as exc:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}')
    assert error_of(exc) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error_of(exc) == ("DeleteConflict", 409)

    iam.delete_user_policy(UserName=name, PolicyName="s3")
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    with pytest.raises(ClientError) as exc:
        iam.get_user_policy(UserName=name, PolicyName="s3")
    assert error_of(exc) == ("NoSuchEntity", 404)
    iam.delete_user(UserName=name)


def test_attach_detach_user_policies(iam, uid):
    name = f"attach-{uid}"
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"p-{uid}", PolicyDocument=ALLOW_S3)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert {a["PolicyArn"] for a in attached} == {arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1

    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName=name, PolicyArn=f"{arn}-missing")
    assert error_of(exc) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error_of(exc) == ("DeleteConflict", 409)

    iam.detach_user_policy(UserName=name, PolicyArn=arn)
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(ClientError) as exc:
        iam.detach_user_policy(UserName=name, PolicyArn=arn)
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.delete_user(UserName=name)
    iam.delete_policy(PolicyArn=arn)


def test_ten_managed_policies_per_user(iam, uid):
    name = f"ten-{uid}"
    iam.create_user(UserName=name)
    arns = [iam.create_policy(PolicyName=f"ten-{uid}-{i}", PolicyDocument=ALLOW_S3)["Policy"]["Arn"] for i in range(11)]
    for arn in arns[:10]:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName=name, PolicyArn=arns[10])
    assert error_of(exc) == ("LimitExceeded", 409)
    for arn in arns[:10]:
        iam.detach_user_policy(UserName=name, PolicyArn=arn)
    for arn in arns:
        iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=name)


def test_user_permissions_boundary(iam, uid):
    name = f"bound-{uid}"
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    user = iam.create_user(UserName=name, PermissionsBoundary=boundary)["User"]
    assert user["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
    custom = iam.create_policy(PolicyName=f"b-{uid}", PolicyDocument=ALLOW_S3)["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=custom)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == custom
    assert iam.get_policy(PolicyArn=custom)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    with pytest.raises(ClientError) as exc:
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary="arn:aws:s3:::not-a-policy-arn")
    assert error_of(exc) == ("InvalidInput", 400)
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    assert iam.get_policy(PolicyArn=custom)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    iam.delete_user(UserName=name)
    iam.delete_policy(PolicyArn=custom)
