"""IAM users: Create/Get/List/Update/DeleteUser, user tags, and the user's inline
policies, attachments and permissions boundary (through entity_policies).

(doc: https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html - a user
with access keys, a login profile, MFA devices, group memberships or policies can't be
deleted: DeleteConflict.)
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import Principal, RequestContext
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import stamp, to_datetime
from mamori.services.iam.entity_policies import EntityPolicies, boundary_condition
from mamori.services.iam.user_credentials import (
    CERT_KIND,
    CRED_KIND,
    SSH_KIND,
    user_credentials_of,
)
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    delete_conflict,
    paginate,
    resource_tag_conditions,
    tag_conditions,
)


def user_out(doc: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": doc["Path"],
        "UserName": doc["UserName"],
        "UserId": doc["UserId"],
        "Arn": doc["Arn"],
        "CreateDate": to_datetime(doc["CreateDate"]),
    }
    if doc.get("PasswordLastUsed"):
        out["PasswordLastUsed"] = to_datetime(doc["PasswordLastUsed"])
    if full:
        if doc.get("PermissionsBoundary"):
            out["PermissionsBoundary"] = dict(doc["PermissionsBoundary"])
        if doc.get("Tags"):
            out["Tags"] = list(doc["Tags"])
    return out


def user_principal(doc: dict[str, Any], account: str, access_key_id: str | None) -> Principal:
    return Principal(
        type="IAMUser",
        account_id=account,
        arn=doc["Arn"],
        principal_id=doc["UserId"],
        user_name=doc["UserName"],
        access_key_id=access_key_id,
    )


_CREDENTIAL_CONFLICT = {
    SSH_KIND: "Cannot delete entity, must delete SSH public keys first.",
    CERT_KIND: "Cannot delete entity, must delete signing certificates first.",
    CRED_KIND: "Cannot delete entity, must delete service specific credentials first.",
}


class Users(EntityPolicies):
    def create_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["UserName"], "userName", 64)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        arn = repo.entity_arn(ctx.account_id, "user", path, name)
        conditions = tag_conditions(tags)
        boundary = request.get("PermissionsBoundary")
        if boundary:
            conditions["iam:PermissionsBoundary"] = boundary
        ctx.authorize("iam:CreateUser", arn, conditions)
        if repo.arn_by_name(ctx.store, ctx.account_id, "user", name):
            raise already_exists(f"User with name {name} already exists.")
        doc: dict[str, Any] = {
            "Path": path,
            "UserName": name,
            "UserId": ids.new_unique_id("AIDA"),
            "Arn": arn,
            "CreateDate": stamp(ctx),
            "Tags": tags,
            "Groups": [],
            "AttachedPolicies": [],
            "InlinePolicies": {},
        }
        policy = self.boundary_policy(ctx, boundary) if boundary else None
        if boundary:
            doc["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
        with self.writing(ctx) as store:
            repo.save(store, "user", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "user", name, arn, doc["UserId"])
            if policy:
                self._count(store, ctx, policy, "PermissionsBoundaryUsageCount", +1)
        return {"User": user_out(doc)}

    def get_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName")
        principal = ctx.principal
        if not name:
            # Without a name: the caller itself (root answers its account identity).
            ctx.authorize("iam:GetUser", principal.arn)
            if principal.is_root:
                root = {"UserId": principal.account_id, "Arn": principal.arn, "CreateDate": to_datetime(stamp(ctx))}
                return {"User": root}
            name = principal.user_name or ""
            if principal.type != "IAMUser":
                from mamori.services.iam.validation import validation_error

                raise validation_error("userName", None, "Must specify userName when calling with non-User credentials")
        ctx.authorize("iam:GetUser", self.arn_for(ctx, "user", name))
        return {"User": user_out(self.require(ctx, "user", name))}

    def list_users(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListUsers", f"arn:aws:iam::{ctx.account_id}:user/")
        prefix = check_path_prefix(request.get("PathPrefix"))
        users = [u for u in repo.list_family(ctx.store, ctx.account_id, "user") if u["Path"].startswith(prefix)]
        users.sort(key=lambda u: u["UserName"].lower())
        return paginate(users, request, "Users", lambda u: user_out(u, full=False))

    def update_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        new_name = check_name(request["NewUserName"], "newUserName", 64) if request.get("NewUserName") else None
        new_path = check_path(request["NewPath"], "newPath") if request.get("NewPath") else None
        doc = repo.user(ctx.store, ctx.account_id, name)
        ctx.authorize("iam:UpdateUser", self.arn_for(ctx, "user", name), {**boundary_condition(doc), **resource_tag_conditions(doc)})
        doc = self.require(ctx, "user", name)
        if new_name and new_name.lower() != doc["UserName"].lower() and repo.arn_by_name(ctx.store, ctx.account_id, "user", new_name):
            raise already_exists(f"User with name {new_name} already exists.")
        old_name, old_arn = doc["UserName"], doc["Arn"]
        doc["UserName"] = new_name or old_name
        doc["Path"] = new_path or doc["Path"]
        doc["Arn"] = repo.entity_arn(ctx.account_id, "user", doc["Path"], doc["UserName"])
        with self.writing(ctx) as store:
            if old_arn != doc["Arn"]:
                store.delete(old_arn)
            repo.unindex(store, ctx.account_id, "user", old_name, None)
            repo.save(store, "user", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "user", doc["UserName"], doc["Arn"], doc["UserId"])
            self._follow_user(store, ctx, old_name, old_arn, doc)
        return {}

    def _follow_user(self, store: Any, ctx: RequestContext, old_name: str, old_arn: str, doc: dict[str, Any]) -> None:
        """A renamed or moved user keeps its keys, MFA devices and login profile."""
        for cred in store.list_credentials(ctx.account_id, principal_arn=old_arn):
            cred.principal = user_principal(doc, ctx.account_id, cred.access_key_id).to_json()
            store.put_credential(cred)
        for device in store.list("iam:mfa", account_id=ctx.account_id):
            if device.get("UserName") == old_name:
                device["UserName"] = doc["UserName"]
                store.put(device["SerialNumber"], device, kind="iam:mfa", account_id=ctx.account_id, region="",
                          secret=store.get_secret(device["SerialNumber"]))
        old_key = repo.login_profile_key(ctx.account_id, old_name)
        profile = store.get(old_key)
        if profile is not None:
            secret = store.get_secret(old_key)
            store.delete(old_key)
            profile["UserName"] = doc["UserName"]
            store.put(repo.login_profile_key(ctx.account_id, doc["UserName"]), profile, kind="iam:login-profile",
                      account_id=ctx.account_id, region="", secret=secret)

    def delete_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        doc = repo.user(ctx.store, ctx.account_id, name)
        ctx.authorize("iam:DeleteUser", self.arn_for(ctx, "user", name), {**boundary_condition(doc), **resource_tag_conditions(doc)})
        doc = self.require(ctx, "user", name)
        store = ctx.store
        if store.list_credentials(ctx.account_id, principal_arn=doc["Arn"]):
            raise delete_conflict("Cannot delete entity, must delete access keys first.")
        if store.get(repo.login_profile_key(ctx.account_id, doc["UserName"])):
            raise delete_conflict("Cannot delete entity, must delete login profile first.")
        if repo.mfa_devices(store, ctx.account_id, doc["UserName"]):
            raise delete_conflict("Cannot delete entity, must delete MFA device first.")
        for kind in user_credentials_of(store, ctx.account_id, doc["UserName"]):
            raise delete_conflict(_CREDENTIAL_CONFLICT[kind])
        if doc.get("Groups"):
            raise delete_conflict("Cannot delete entity, must remove user from all groups first.")
        if doc.get("InlinePolicies"):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if doc.get("AttachedPolicies"):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        boundary = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, "user", doc["UserName"], doc["UserId"])
            if boundary and store.get(boundary):
                self._count(store, ctx, store.get(boundary), "PermissionsBoundaryUsageCount", -1)
        return {}

    # -- tags ---------------------------------------------------------------------------

    def tag_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.tag_named(ctx, "user", "iam:TagUser", request["UserName"], request["Tags"])

    def untag_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.untag_named(ctx, "user", "iam:UntagUser", request["UserName"], request["TagKeys"])

    def list_user_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_named_tags(ctx, "user", "iam:ListUserTags", request["UserName"], request)

    # -- policies -------------------------------------------------------------------------

    def put_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.put_inline(ctx, "user", request)

    def get_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "user", request)

    def delete_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "user", request)

    def list_user_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "user", request)

    def attach_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "user", request)

    def detach_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "user", request)

    def list_attached_user_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "user", request)

    def put_user_permissions_boundary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.put_boundary(ctx, "user", request)

    def delete_user_permissions_boundary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete_boundary(ctx, "user", request)
