"""Instance profiles: Create/Get/List/DeleteInstanceProfile, Add/RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole and instance-profile tags. One role per profile
(doc: reference_iam-quotas.html, "Roles in an instance profile: 1").
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.roles import role_out
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    delete_conflict,
    limit_exceeded,
    no_such_entity,
    paginate,
    tag_conditions,
)


class InstanceProfiles(IamOperations):
    def _ip_out(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        roles = []
        for name in doc.get("Roles", []):
            role = repo.role(ctx.store, ctx.account_id, name)
            if role:
                out = role_out(role, full=False)
                roles.append(out)
        out: dict[str, Any] = {
            "Path": doc["Path"],
            "InstanceProfileName": doc["InstanceProfileName"],
            "InstanceProfileId": doc["InstanceProfileId"],
            "Arn": doc["Arn"],
            "CreateDate": to_datetime(doc["CreateDate"]),
            "Roles": roles,
        }
        if doc.get("Tags"):
            out["Tags"] = list(doc["Tags"])
        return out

    def create_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["InstanceProfileName"], "instanceProfileName", 128)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        arn = repo.entity_arn(ctx.account_id, "instance-profile", path, name)
        ctx.authorize("iam:CreateInstanceProfile", arn, tag_conditions(tags))
        if repo.arn_by_name(ctx.store, ctx.account_id, "instance-profile", name):
            raise already_exists(f"Instance Profile {name} already exists.")
        doc = {
            "Path": path,
            "InstanceProfileName": name,
            "InstanceProfileId": ids.new_unique_id("AIPA"),
            "Arn": arn,
            "CreateDate": stamp(ctx),
            "Roles": [],
            "Tags": tags,
        }
        with self.writing(ctx) as store:
            repo.save(store, "instance-profile", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "instance-profile", name, arn, doc["InstanceProfileId"])
        return {"InstanceProfile": self._ip_out(ctx, doc)}

    def get_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        ctx.authorize("iam:GetInstanceProfile", self.arn_for(ctx, "instance-profile", name))
        return {"InstanceProfile": self._ip_out(ctx, self.require(ctx, "instance-profile", name))}

    def list_instance_profiles(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListInstanceProfiles", f"arn:aws:iam::{ctx.account_id}:instance-profile/")
        prefix = check_path_prefix(request.get("PathPrefix"))
        docs = [d for d in repo.list_family(ctx.store, ctx.account_id, "instance-profile") if d["Path"].startswith(prefix)]
        docs.sort(key=lambda d: d["InstanceProfileName"].lower())
        return paginate(docs, request, "InstanceProfiles", lambda d: self._ip_out(ctx, d))

    def delete_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        ctx.authorize("iam:DeleteInstanceProfile", self.arn_for(ctx, "instance-profile", name))
        doc = self.require(ctx, "instance-profile", name)
        if doc.get("Roles"):
            raise delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, "instance-profile", doc["InstanceProfileName"], doc["InstanceProfileId"])
        return {}

    def add_role_to_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        ctx.authorize("iam:AddRoleToInstanceProfile", self.arn_for(ctx, "instance-profile", name))
        doc = self.require(ctx, "instance-profile", name)
        role = self.require(ctx, "role", request["RoleName"])
        # The role goes to EC2 through the profile: the caller must be allowed to pass it.
        ctx.authorize_pass_role(role["Arn"], "ec2.amazonaws.com")
        if role["RoleName"] in doc.get("Roles", []):
            raise limit_exceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
        if doc.get("Roles"):
            raise limit_exceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
        doc["Roles"] = [role["RoleName"]]
        with self.writing(ctx) as store:
            repo.save(store, "instance-profile", ctx.account_id, doc)
        return {}

    def remove_role_from_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        ctx.authorize("iam:RemoveRoleFromInstanceProfile", self.arn_for(ctx, "instance-profile", name))
        doc = self.require(ctx, "instance-profile", name)
        role_name = request["RoleName"]
        if role_name not in doc.get("Roles", []):
            raise no_such_entity(f"The role with name {role_name} cannot be found.")
        doc["Roles"] = [r for r in doc["Roles"] if r != role_name]
        with self.writing(ctx) as store:
            repo.save(store, "instance-profile", ctx.account_id, doc)
        return {}

    def list_instance_profiles_for_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        ctx.authorize("iam:ListInstanceProfilesForRole", self.arn_for(ctx, "role", name))
        role = self.require(ctx, "role", name)
        docs = [d for d in repo.list_family(ctx.store, ctx.account_id, "instance-profile") if role["RoleName"] in d.get("Roles", [])]
        docs.sort(key=lambda d: d["InstanceProfileName"].lower())
        return paginate(docs, request, "InstanceProfiles", lambda d: self._ip_out(ctx, d))

    # -- tags -------------------------------------------------------------------------------

    def tag_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.tag_named(ctx, "instance-profile", "iam:TagInstanceProfile", request["InstanceProfileName"], request["Tags"])

    def untag_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.untag_named(ctx, "instance-profile", "iam:UntagInstanceProfile", request["InstanceProfileName"], request["TagKeys"])

    def list_instance_profile_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_named_tags(ctx, "instance-profile", "iam:ListInstanceProfileTags", request["InstanceProfileName"], request)
