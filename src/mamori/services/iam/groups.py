"""IAM groups: Create/Get/List/Update/DeleteGroup, membership
(AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser) and the group's policies.

Membership is kept on the user document (`Groups`, names) because the authorizer asks
"which groups is this user in" on every request; "who is in this group" (GetGroup,
DeleteGroup) scans the account's users, which only those rarer calls pay for.
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import stamp, to_datetime
from mamori.services.iam.entity_policies import EntityPolicies
from mamori.services.iam.users import user_out
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    delete_conflict,
    limit_exceeded,
    no_such_entity,
    paginate,
)

MAX_GROUPS_PER_USER = 10


def group_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "Path": doc["Path"],
        "GroupName": doc["GroupName"],
        "GroupId": doc["GroupId"],
        "Arn": doc["Arn"],
        "CreateDate": to_datetime(doc["CreateDate"]),
    }


class Groups(EntityPolicies):
    def _members(self, ctx: RequestContext, group_name: str) -> list[dict[str, Any]]:
        low = group_name.lower()
        users = [u for u in repo.list_family(ctx.store, ctx.account_id, "user") if low in (g.lower() for g in u.get("Groups", []))]
        return sorted(users, key=lambda u: u["UserName"].lower())

    def create_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["GroupName"], "groupName", 128)
        path = check_path(request.get("Path"))
        arn = repo.entity_arn(ctx.account_id, "group", path, name)
        ctx.authorize("iam:CreateGroup", arn)
        if repo.arn_by_name(ctx.store, ctx.account_id, "group", name):
            raise already_exists(f"Group with name {name} already exists.")
        doc = {
            "Path": path,
            "GroupName": name,
            "GroupId": ids.new_unique_id("AGPA"),
            "Arn": arn,
            "CreateDate": stamp(ctx),
            "AttachedPolicies": [],
            "InlinePolicies": {},
        }
        with self.writing(ctx) as store:
            repo.save(store, "group", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "group", name, arn, doc["GroupId"])
        return {"Group": group_out(doc)}

    def get_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        ctx.authorize("iam:GetGroup", self.arn_for(ctx, "group", name))
        doc = self.require(ctx, "group", name)
        out = paginate(self._members(ctx, doc["GroupName"]), request, "Users", lambda u: user_out(u, full=False))
        out["Group"] = group_out(doc)
        return out

    def list_groups(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListGroups", f"arn:aws:iam::{ctx.account_id}:group/")
        prefix = check_path_prefix(request.get("PathPrefix"))
        groups = [g for g in repo.list_family(ctx.store, ctx.account_id, "group") if g["Path"].startswith(prefix)]
        groups.sort(key=lambda g: g["GroupName"].lower())
        return paginate(groups, request, "Groups", group_out)

    def update_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        new_name = check_name(request["NewGroupName"], "newGroupName", 128) if request.get("NewGroupName") else None
        new_path = check_path(request["NewPath"], "newPath") if request.get("NewPath") else None
        ctx.authorize("iam:UpdateGroup", self.arn_for(ctx, "group", name))
        doc = self.require(ctx, "group", name)
        if new_name and new_name.lower() != doc["GroupName"].lower() and repo.arn_by_name(ctx.store, ctx.account_id, "group", new_name):
            raise already_exists(f"Group with name {new_name} already exists.")
        old_name, old_arn = doc["GroupName"], doc["Arn"]
        members = self._members(ctx, old_name)
        doc["GroupName"] = new_name or old_name
        doc["Path"] = new_path or doc["Path"]
        doc["Arn"] = repo.entity_arn(ctx.account_id, "group", doc["Path"], doc["GroupName"])
        with self.writing(ctx) as store:
            if old_arn != doc["Arn"]:
                store.delete(old_arn)
            repo.unindex(store, ctx.account_id, "group", old_name, None)
            repo.save(store, "group", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "group", doc["GroupName"], doc["Arn"], doc["GroupId"])
            for user in members:
                user["Groups"] = [doc["GroupName"] if g.lower() == old_name.lower() else g for g in user["Groups"]]
                repo.save(store, "user", ctx.account_id, user)
        return {}

    def delete_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        ctx.authorize("iam:DeleteGroup", self.arn_for(ctx, "group", name))
        doc = self.require(ctx, "group", name)
        if self._members(ctx, doc["GroupName"]):
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        if doc.get("InlinePolicies"):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if doc.get("AttachedPolicies"):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, "group", doc["GroupName"], doc["GroupId"])
        return {}

    # -- membership -------------------------------------------------------------------------

    def add_user_to_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:AddUserToGroup", self.arn_for(ctx, "group", request["GroupName"]))
        group = self.require(ctx, "group", request["GroupName"])
        user = self.require(ctx, "user", request["UserName"])
        groups = list(user.get("Groups", []))
        if group["GroupName"].lower() in (g.lower() for g in groups):
            return {}
        if len(groups) >= MAX_GROUPS_PER_USER:
            raise limit_exceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
        user["Groups"] = groups + [group["GroupName"]]
        with self.writing(ctx) as store:
            repo.save(store, "user", ctx.account_id, user)
        return {}

    def remove_user_from_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:RemoveUserFromGroup", self.arn_for(ctx, "group", request["GroupName"]))
        group = self.require(ctx, "group", request["GroupName"])
        user = self.require(ctx, "user", request["UserName"])
        low = group["GroupName"].lower()
        if low not in (g.lower() for g in user.get("Groups", [])):
            raise no_such_entity(f"The user with name {user['UserName']} cannot be found in group {group['GroupName']}.")
        user["Groups"] = [g for g in user["Groups"] if g.lower() != low]
        with self.writing(ctx) as store:
            repo.save(store, "user", ctx.account_id, user)
        return {}

    def list_groups_for_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListGroupsForUser", self.arn_for(ctx, "user", request["UserName"]))
        user = self.require(ctx, "user", request["UserName"])
        groups = repo.groups_of_user(ctx.store, ctx.account_id, user["UserName"])
        return paginate(groups, request, "Groups", group_out)

    # -- policies ---------------------------------------------------------------------------

    def put_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.put_inline(ctx, "group", request)

    def get_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "group", request)

    def delete_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "group", request)

    def list_group_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "group", request)

    def attach_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "group", request)

    def detach_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "group", request)

    def list_attached_group_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "group", request)
