"""Access keys, virtual MFA devices (real TOTP against the mamori clock), login
profiles, ChangePassword and the account password policy."""

from __future__ import annotations


import pyotp
import pytest
from botocore.exceptions import ClientError

from iam_helpers import error_of

# ChangePassword is allowed by the caller's own policies (IAMUserChangePassword), so it
# needs the IAM authorizer (services/iam/authorizer.py); before it lands only root is
# allowed anything.


def test_access_keys(iam, uid, mamori):
    name = f"keys-{uid}"
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]
    assert first["AccessKeyId"].startswith("AKIA") and len(first["AccessKeyId"]) == 20
    assert len(first["SecretAccessKey"]) == 40 and first["Status"] == "Active"
    second = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=name)
    assert error_of(exc) == ("LimitExceeded", 409)
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all("SecretAccessKey" not in k for k in listed)

    # the new key authenticates as the user
    sts = mamori.client("sts", aws_access_key_id=first["AccessKeyId"], aws_secret_access_key=first["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{mamori.account_id}:user/{name}"

    last = iam.get_access_key_last_used(AccessKeyId=first["AccessKeyId"])
    assert last["UserName"] == name and "Region" in last["AccessKeyLastUsed"]

    iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert statuses[first["AccessKeyId"]] == "Inactive"
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc)[0] == "InvalidClientTokenId"

    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.delete_access_key(UserName=name, AccessKeyId=first["AccessKeyId"])
    iam.delete_access_key(UserName=name, AccessKeyId=second["AccessKeyId"])
    with pytest.raises(ClientError) as exc:
        iam.delete_access_key(UserName=name, AccessKeyId=second["AccessKeyId"])
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=name)


def test_virtual_mfa_device(iam, uid, mamori, mamori_clock):
    user, device = f"mfa-{uid}", f"dev-{uid}"
    iam.create_user(UserName=user)
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=device, Tags=[{"Key": "k", "Value": "v"}])["VirtualMFADevice"]
    serial = created["SerialNumber"]
    assert serial == f"arn:aws:iam::{mamori.account_id}:mfa/{device}"
    assert created["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    seed = created["Base32StringSeed"].decode()
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in unassigned]

    mamori_clock.freeze(1_800_000_000)
    totp = pyotp.TOTP(seed)
    now = mamori_clock.now()
    with pytest.raises(ClientError) as exc:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="000000", AuthenticationCode2="000001")
    assert error_of(exc) == ("InvalidAuthenticationCode", 403)
    iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assert iam.get_mfa_device(SerialNumber=serial, UserName=user)["UserName"] == user
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert {d["SerialNumber"]: d["User"]["UserName"] for d in assigned}[serial] == user

    mamori_clock.advance("10m")
    later = mamori_clock.now()
    iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp.at(later - 30), AuthenticationCode2=totp.at(later))

    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "x", "Value": "y"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["k"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "x", "Value": "y"}]

    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_of(exc) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=user)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as exc:
        iam.list_mfa_device_tags(SerialNumber=serial)
    assert error_of(exc) == ("NoSuchEntity", 404)
    iam.delete_user(UserName=user)


def test_login_profile_and_password_policy(iam, uid, mamori):
    name = f"pw-{uid}"
    iam.create_user(UserName=name)
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True, RequireSymbols=True,
                                       AllowUsersToChangePassword=True, PasswordReusePrevention=2)
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        assert policy["MinimumPasswordLength"] == 12 and policy["RequireNumbers"] is True
        assert policy["PasswordReusePrevention"] == 2

        with pytest.raises(ClientError) as exc:
            iam.create_login_profile(UserName=name, Password="short1!")
        assert error_of(exc) == ("PasswordPolicyViolation", 400)
        with pytest.raises(ClientError) as exc:
            iam.create_login_profile(UserName=name, Password="longenoughbutnodigits!")
        assert error_of(exc) == ("PasswordPolicyViolation", 400)

        profile = iam.create_login_profile(UserName=name, Password="correct-horse-1!", PasswordResetRequired=True)["LoginProfile"]
        assert profile["UserName"] == name and profile["PasswordResetRequired"] is True
        with pytest.raises(ClientError) as exc:
            iam.create_login_profile(UserName=name, Password="correct-horse-1!")
        assert error_of(exc) == ("EntityAlreadyExists", 409)
        iam.update_login_profile(UserName=name, PasswordResetRequired=False)
        assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
        iam.update_login_profile(UserName=name, Password="another-Passw0rd!")
        with pytest.raises(ClientError) as exc:
            iam.update_login_profile(UserName=name, Password="correct-horse-1!")  # one of the last 2
        assert error_of(exc) == ("PasswordPolicyViolation", 400)

        with pytest.raises(ClientError) as exc:
            iam.delete_user(UserName=name)
        assert error_of(exc) == ("DeleteConflict", 409)
        iam.delete_login_profile(UserName=name)
        with pytest.raises(ClientError) as exc:
            iam.get_login_profile(UserName=name)
        assert error_of(exc) == ("NoSuchEntity", 404)
        iam.delete_user(UserName=name)
    finally:
        iam.delete_account_password_policy()
    with pytest.raises(ClientError) as exc:
        iam.get_account_password_policy()
    assert error_of(exc) == ("NoSuchEntity", 404)


def test_change_password(iam, uid, mamori):
    name = f"chpw-{uid}"
    iam.create_user(UserName=name)
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True, AllowUsersToChangePassword=True,
                                       PasswordReusePrevention=2)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.create_login_profile(UserName=name, Password="correct-horse-1!")
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
    own = mamori.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    try:
        own.change_password(OldPassword="correct-horse-1!", NewPassword="battery-staple-2!")
        with pytest.raises(ClientError) as exc:
            own.change_password(OldPassword="battery-staple-2!", NewPassword="correct-horse-1!")  # reused
        assert error_of(exc) == ("PasswordPolicyViolation", 400)
        with pytest.raises(ClientError) as exc:
            own.change_password(OldPassword="wrong-password-9!", NewPassword="another-one-3!x")
        assert error_of(exc) == ("InvalidInput", 400)
        with pytest.raises(ClientError) as exc:
            own.change_password(OldPassword="battery-staple-2!", NewPassword="short1")
        assert error_of(exc) == ("PasswordPolicyViolation", 400)
    finally:
        iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_login_profile(UserName=name)
        iam.delete_user(UserName=name)
        iam.delete_account_password_policy()
