"""Access keys of IAM users: Create/List/Update/DeleteAccessKey, GetAccessKeyLastUsed.

Keys live in the store's credential table (secret sealed at rest), not in documents:
the authenticator looks them up by id on every request and refuses `Inactive` ones.
Two keys per user at most (doc: reference_iam-quotas.html). The secret is returned
once, by CreateAccessKey. Without `UserName` the caller's own user is meant
(doc: API_CreateAccessKey.html).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.iam import ids
from mamori.services.iam.base import IamOperations
from mamori.services.iam.users import user_principal
from mamori.services.iam.validation import (
    invalid_input,
    limit_exceeded,
    no_such_entity,
    paginate,
    validation_error,
)
from mamori.store.records import Credential

MAX_KEYS = 2


def _dt(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch else None


def _last_used_date(cred: Credential) -> datetime | None:
    """`Credential.last_used` as the authenticator writes it: an epoch under `time`
    (or `LastUsedDate`, epoch or ISO)."""
    last = cred.last_used or {}
    value = last.get("time", last.get("LastUsedDate"))
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _dt(float(value))
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class AccessKeys(IamOperations):
    def _user_name(self, ctx: RequestContext, request: dict[str, Any]) -> str:
        name = request.get("UserName")
        if name:
            return name
        if ctx.principal.type == "IAMUser" and ctx.principal.user_name:
            return ctx.principal.user_name
        if ctx.principal.is_root:
            raise invalid_input("mamori does not manage access keys of the root user; pass UserName.")
        raise validation_error("userName", None, "Must specify userName when calling with non-User credentials")

    def _keys_of(self, ctx: RequestContext, user_arn: str) -> list[Credential]:
        keys = [c for c in ctx.store.list_credentials(ctx.account_id, principal_arn=user_arn) if not c.session_token_sha256]
        return sorted(keys, key=lambda c: (c.created_at, c.access_key_id))

    def _key(self, ctx: RequestContext, user: dict[str, Any], key_id: str) -> Credential:
        cred = ctx.store.get_credential(key_id)
        if cred is None or cred.account_id != ctx.account_id or cred.principal.get("arn") != user["Arn"]:
            raise no_such_entity(f"The Access Key with id {key_id} cannot be found.")
        return cred

    def create_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, request)
        ctx.authorize("iam:CreateAccessKey", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        if len(self._keys_of(ctx, user["Arn"])) >= MAX_KEYS:
            raise limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}")
        key_id, secret = ids.new_access_key_id("AKIA"), ids.new_secret_access_key()
        now = ctx.time()
        cred = Credential(
            access_key_id=key_id,
            secret_access_key=secret,
            account_id=ctx.account_id,
            principal=user_principal(user, ctx.account_id, key_id).to_json(),
            status="Active",
            created_at=now,
        )
        with self.writing(ctx) as store:
            store.put_credential(cred)
        return {
            "AccessKey": {
                "UserName": user["UserName"],
                "AccessKeyId": key_id,
                "Status": "Active",
                "SecretAccessKey": secret,
                "CreateDate": _dt(now),
            }
        }

    def list_access_keys(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, request)
        ctx.authorize("iam:ListAccessKeys", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        return paginate(
            self._keys_of(ctx, user["Arn"]),
            request,
            "AccessKeyMetadata",
            lambda c: {"UserName": user["UserName"], "AccessKeyId": c.access_key_id, "Status": c.status, "CreateDate": _dt(c.created_at)},
        )

    def update_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, request)
        ctx.authorize("iam:UpdateAccessKey", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        cred = self._key(ctx, user, request["AccessKeyId"])
        if request["Status"] not in ("Active", "Inactive"):
            raise validation_error("status", request["Status"], "Member must satisfy enum value set: [Active, Inactive]")
        cred.status = request["Status"]
        with self.writing(ctx) as store:
            store.put_credential(cred)
        return {}

    def delete_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, request)
        ctx.authorize("iam:DeleteAccessKey", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        cred = self._key(ctx, user, request["AccessKeyId"])
        with self.writing(ctx) as store:
            store.delete_credential(cred.access_key_id)
        return {}

    def get_access_key_last_used(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        key_id = request["AccessKeyId"]
        cred = ctx.store.get_credential(key_id)
        owned = cred is not None and cred.account_id == ctx.account_id and cred.principal.get("type") == "IAMUser"
        ctx.authorize("iam:GetAccessKeyLastUsed", cred.principal["arn"] if owned else f"arn:aws:iam::{ctx.account_id}:user/*")
        if not owned:
            raise no_such_entity(f"The Access Key with id {key_id} cannot be found.")
        last = cred.last_used or {}
        used = _last_used_date(cred)
        info: dict[str, Any] = {
            "ServiceName": last.get("service", last.get("ServiceName", "N/A")) if used else "N/A",
            "Region": last.get("region", last.get("Region", "N/A")) if used else "N/A",
        }
        if used:
            info["LastUsedDate"] = used
        return {"UserName": cred.principal.get("userName"), "AccessKeyLastUsed": info}
