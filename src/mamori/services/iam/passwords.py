"""Console passwords: login profiles (Create/Get/Update/DeleteLoginProfile),
ChangePassword, and the account password policy
(Update/Get/DeleteAccountPasswordPolicy).

Passwords are kept as PBKDF2-SHA256 hashes, sealed as the login profile row's secret
together with the hashes of earlier passwords (PasswordReusePrevention).
Without an account policy AWS applies its default: at least 8 characters and three of
uppercase, lowercase, numbers and symbols.
(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from datetime import timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.validation import (
    already_exists,
    no_such_entity,
    validation_error,
)

SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
ITERATIONS = 100_000


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS).hex()


def seal(password: str, history: list[dict[str, str]] | None = None) -> str:
    salt = secrets.token_hex(16)
    return json.dumps({"salt": salt, "hash": _hash(password, salt), "history": history or []})


def matches(sealed: dict[str, Any], password: str) -> bool:
    return hmac.compare_digest(_hash(password, sealed["salt"]), sealed["hash"])


def violation(message: str) -> AwsError:
    return AwsError(message, code="PasswordPolicyViolation", status=400)


def check_password(password: str, policy: dict[str, Any] | None, previous: list[dict[str, Any]] = ()) -> None:
    """Raise PasswordPolicyViolation naming the first rule the password breaks."""
    classes = [
        any(c in string.ascii_uppercase for c in password),
        any(c in string.ascii_lowercase for c in password),
        any(c in string.digits for c in password),
        any(not c.isalnum() for c in password),
    ]
    if not policy:
        if len(password) < 8 or sum(classes) < 3:
            raise violation(
                "Password does not conform to the account password policy: at least 8 characters and "
                "three of uppercase letters, lowercase letters, numbers and symbols."
            )
        return
    rules = [
        (len(password) < policy.get("MinimumPasswordLength", 8),
         f"Password should have a minimum length of {policy.get('MinimumPasswordLength', 8)}"),
        (policy.get("RequireUppercaseCharacters") and not classes[0], "Password should have at least one uppercase letter"),
        (policy.get("RequireLowercaseCharacters") and not classes[1], "Password should have at least one lowercase letter"),
        (policy.get("RequireNumbers") and not classes[2], "Password should have at least one number"),
        (policy.get("RequireSymbols") and not classes[3], "Password should have at least one symbol"),
    ]
    for broken, message in rules:
        if broken:
            raise violation(message)
    reuse = int(policy.get("PasswordReusePrevention") or 0)
    if reuse and any(matches(old, password) for old in list(previous)[-reuse:]):
        raise violation("Password should not be one of your previous passwords")


class Passwords(IamOperations):
    def _policy(self, ctx: RequestContext) -> dict[str, Any] | None:
        return repo.account_settings(ctx.store, ctx.account_id).get("PasswordPolicy")

    def _profile(self, ctx: RequestContext, user_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        key = repo.login_profile_key(ctx.account_id, user_name)
        doc = ctx.store.get(key)
        if doc is None:
            raise no_such_entity(f"Login Profile for User {user_name} cannot be found.")
        secret = ctx.store.get_secret(key)
        return doc, json.loads(secret.decode() if isinstance(secret, bytes) else secret)

    def _put_profile(self, store: Any, ctx: RequestContext, doc: dict[str, Any], sealed: str) -> None:
        store.put(repo.login_profile_key(ctx.account_id, doc["UserName"]), doc, kind="iam:login-profile",
                  account_id=ctx.account_id, region="", secret=sealed.encode())

    def _history(self, sealed: dict[str, Any]) -> list[dict[str, Any]]:
        return (sealed.get("history", []) + [{"salt": sealed["salt"], "hash": sealed["hash"]}])[-24:]

    def create_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName") or ctx.principal.user_name or ""
        ctx.authorize("iam:CreateLoginProfile", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        if ctx.store.get(repo.login_profile_key(ctx.account_id, user["UserName"])):
            raise already_exists(f"Login Profile for user {user['UserName']} already exists.")
        password = request.get("Password")
        if not password:
            raise validation_error("password", "", "Member must not be null")
        check_password(password, self._policy(ctx))
        doc = {
            "UserName": user["UserName"],
            "CreateDate": stamp(ctx),
            "PasswordResetRequired": bool(request.get("PasswordResetRequired")),
            "PasswordLastChanged": stamp(ctx),
        }
        with self.writing(ctx) as store:
            self._put_profile(store, ctx, doc, seal(password))
        return {"LoginProfile": self._profile_out(doc)}

    def _profile_out(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "UserName": doc["UserName"],
            "CreateDate": to_datetime(doc["CreateDate"]),
            "PasswordResetRequired": doc["PasswordResetRequired"],
        }

    def get_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName") or ctx.principal.user_name or ""
        ctx.authorize("iam:GetLoginProfile", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        doc, _ = self._profile(ctx, user["UserName"])
        return {"LoginProfile": self._profile_out(doc)}

    def update_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        ctx.authorize("iam:UpdateLoginProfile", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        doc, sealed = self._profile(ctx, user["UserName"])
        new_secret = json.dumps(sealed)
        if request.get("Password"):
            check_password(request["Password"], self._policy(ctx), self._history(sealed))
            new_secret = seal(request["Password"], self._history(sealed))
            doc["PasswordLastChanged"] = stamp(ctx)
        if request.get("PasswordResetRequired") is not None:
            doc["PasswordResetRequired"] = bool(request["PasswordResetRequired"])
        with self.writing(ctx) as store:
            self._put_profile(store, ctx, doc, new_secret)
        return {}

    def delete_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName") or ctx.principal.user_name or ""
        ctx.authorize("iam:DeleteLoginProfile", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        self._profile(ctx, user["UserName"])
        with self.writing(ctx) as store:
            store.delete(repo.login_profile_key(ctx.account_id, user["UserName"]))
        return {}

    def change_password(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        principal = ctx.principal
        ctx.authorize("iam:ChangePassword", principal.arn)
        if principal.type != "IAMUser" or not principal.user_name:
            raise AwsError("Only IAM users can change their own password.", code="InvalidUserType", status=400)
        doc, sealed = self._profile(ctx, principal.user_name)
        if not matches(sealed, request["OldPassword"]):
            raise AwsError("The old password is not correct.", code="InvalidInput", status=400)
        policy = self._policy(ctx)
        if policy is not None and policy.get("AllowUsersToChangePassword") is False:
            raise AwsError("The account password policy does not allow users to change their password.",
                           code="AccessDenied", status=403)
        check_password(request["NewPassword"], policy, self._history(sealed))
        doc["PasswordLastChanged"] = stamp(ctx)
        doc["PasswordResetRequired"] = False
        with self.writing(ctx) as store:
            self._put_profile(store, ctx, doc, seal(request["NewPassword"], self._history(sealed)))
        return {}

    # -- account password policy ------------------------------------------------------------

    def update_account_password_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:UpdateAccountPasswordPolicy", "*")
        policy: dict[str, Any] = {
            "MinimumPasswordLength": int(request.get("MinimumPasswordLength") or 8),
            "RequireSymbols": bool(request.get("RequireSymbols")),
            "RequireNumbers": bool(request.get("RequireNumbers")),
            "RequireUppercaseCharacters": bool(request.get("RequireUppercaseCharacters")),
            "RequireLowercaseCharacters": bool(request.get("RequireLowercaseCharacters")),
            "AllowUsersToChangePassword": bool(request.get("AllowUsersToChangePassword")),
            "HardExpiry": bool(request.get("HardExpiry")),
        }
        if not 6 <= policy["MinimumPasswordLength"] <= 128:
            raise validation_error("minimumPasswordLength", policy["MinimumPasswordLength"],
                                   "Member must have value greater than or equal to 6")
        for member in ("MaxPasswordAge", "PasswordReusePrevention"):
            if request.get(member):
                policy[member] = int(request[member])
        policy["ExpirePasswords"] = bool(policy.get("MaxPasswordAge"))
        settings = repo.account_settings(ctx.store, ctx.account_id)
        settings["PasswordPolicy"] = policy
        with self.writing(ctx) as store:
            store.put(repo.account_key(ctx.account_id), settings, kind="iam:account", account_id=ctx.account_id, region="")
        return {}

    def get_account_password_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetAccountPasswordPolicy", "*")
        policy = self._policy(ctx)
        if policy is None:
            raise no_such_entity(f"The Password Policy with domain name {ctx.account_id} cannot be found.")
        return {"PasswordPolicy": dict(policy)}

    def delete_account_password_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:DeleteAccountPasswordPolicy", "*")
        settings = repo.account_settings(ctx.store, ctx.account_id)
        if "PasswordPolicy" not in settings:
            raise no_such_entity(f"The account policy with name {ctx.account_id} cannot be found.")
        del settings["PasswordPolicy"]
        with self.writing(ctx) as store:
            store.put(repo.account_key(ctx.account_id), settings, kind="iam:account", account_id=ctx.account_id, region="")
        return {}


def next_rotation(doc: dict[str, Any], policy: dict[str, Any] | None) -> str | None:
    """When the password expires under MaxPasswordAge (for the credential report)."""
    if not policy or not policy.get("MaxPasswordAge"):
        return None
    changed = to_datetime(doc.get("PasswordLastChanged") or doc["CreateDate"])
    assert changed is not None
    return (changed + timedelta(days=int(policy["MaxPasswordAge"]))).isoformat()
