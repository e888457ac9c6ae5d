"""IAM roles: Create/Get/List/Update/DeleteRole, trust policies
(UpdateAssumeRolePolicy), role tags, the role's policies, and service-linked roles.

- The trust policy is validated as a trust policy (Principal required) and returned
  URL-encoded like every IAM policy document.
- `MaxSessionDuration` is 3600..43200 seconds (doc: API_CreateRole.html).
- `RoleLastUsed` is written by STS through `repository.record_role_use`.
- Service-linked roles live under `/aws-service-role/<service>/` and only "AWS" may
  change them: UpdateRole, attach, boundary and DeleteRole answer UnmodifiableEntity;
  DeleteServiceLinkedRole deletes them (at once, the task reports SUCCEEDED).
  (doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html)
"""

from __future__ import annotations

import uuid
from typing import Any

from mamori.gateway.context import RequestContext
from mamori.policy import PolicyKind, policy_size
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import encoded, stamp, to_datetime
from mamori.services.iam.entity_policies import EntityPolicies, boundary_condition
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    delete_conflict,
    invalid_input,
    limit_exceeded,
    no_such_entity,
    paginate,
    resource_tag_conditions,
    tag_conditions,
    validation_error,
)

SLR_PATH = "/aws-service-role/"
TRUST_QUOTA = 2048

# Role names AWS gives the service-linked roles of common services; others get
# "AWSServiceRoleFor" + the service's first label, capitalized.
SLR_NAMES = {
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "guardduty.amazonaws.com": "AWSServiceRoleForAmazonGuardDuty",
    "config.amazonaws.com": "AWSServiceRoleForConfig",
    "cloudtrail.amazonaws.com": "AWSServiceRoleForCloudTrail",
    "organizations.amazonaws.com": "AWSServiceRoleForOrganizations",
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
    "events.amazonaws.com": "AWSServiceRoleForCloudWatchEvents",
    "securityhub.amazonaws.com": "AWSServiceRoleForSecurityHub",
    "access-analyzer.amazonaws.com": "AWSServiceRoleForAccessAnalyzer",
    "support.amazonaws.com": "AWSServiceRoleForSupport",
    "trustedadvisor.amazonaws.com": "AWSServiceRoleForTrustedAdvisor",
}


def role_out(doc: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": doc["Path"],
        "RoleName": doc["RoleName"],
        "RoleId": doc["RoleId"],
        "Arn": doc["Arn"],
        "CreateDate": to_datetime(doc["CreateDate"]),
        "AssumeRolePolicyDocument": encoded(doc["AssumeRolePolicyDocument"]),
        "MaxSessionDuration": doc.get("MaxSessionDuration", 3600),
    }
    if doc.get("Description"):
        out["Description"] = doc["Description"]
    if full:
        if doc.get("PermissionsBoundary"):
            out["PermissionsBoundary"] = dict(doc["PermissionsBoundary"])
        if doc.get("Tags"):
            out["Tags"] = list(doc["Tags"])
        last = doc.get("RoleLastUsed") or {}
        out["RoleLastUsed"] = (
            {"LastUsedDate": to_datetime(last["LastUsedDate"]), "Region": last.get("Region", "")} if last else {}
        )
    return out


def _max_session(value: Any) -> int:
    if value is None:
        return 3600
    if not 3600 <= int(value) <= 43200:
        raise validation_error(
            "maxSessionDuration", value, "Member must have value less than or equal to 43200"
            if int(value) > 43200 else "Member must have value greater than or equal to 3600"
        )
    return int(value)


class Roles(EntityPolicies):
    def _trust(self, text: Any) -> str:
        text = self.check_document(text, PolicyKind.TRUST)
        if policy_size(text) > TRUST_QUOTA:
            raise limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_QUOTA}")
        return text

    def _guard_slr(self, doc: dict[str, Any]) -> None:
        if doc["Path"].startswith(SLR_PATH):
            raise self.unmodifiable_slr(doc)

    def _new_role(
        self, ctx: RequestContext, name: str, path: str, trust: str, request: dict[str, Any], tags: list
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Path": path,
            "RoleName": name,
            "RoleId": ids.new_unique_id("AROA"),
            "Arn": repo.entity_arn(ctx.account_id, "role", path, name),
            "CreateDate": stamp(ctx),
            "AssumeRolePolicyDocument": trust,
            "Description": request.get("Description") or "",
            "MaxSessionDuration": _max_session(request.get("MaxSessionDuration")),
            "Tags": tags,
            "RoleLastUsed": {},
            "AttachedPolicies": [],
            "InlinePolicies": {},
        }
        return doc

    def create_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["RoleName"], "roleName", 64)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        boundary = request.get("PermissionsBoundary")
        conditions = tag_conditions(tags)
        if boundary:
            conditions["iam:PermissionsBoundary"] = boundary
        ctx.authorize("iam:CreateRole", repo.entity_arn(ctx.account_id, "role", path, name), conditions)
        if path.startswith(SLR_PATH):
            raise invalid_input("Path /aws-service-role/ is reserved for service-linked roles.")
        trust = self._trust(request["AssumeRolePolicyDocument"])
        doc = self._new_role(ctx, name, path, trust, request, tags)
        if repo.arn_by_name(ctx.store, ctx.account_id, "role", name):
            raise already_exists(f"Role with name {name} already exists.")
        policy = self.boundary_policy(ctx, boundary) if boundary else None
        if boundary:
            doc["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
        with self.writing(ctx) as store:
            repo.save(store, "role", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "role", name, doc["Arn"], doc["RoleId"])
            if policy:
                self._count(store, ctx, policy, "PermissionsBoundaryUsageCount", +1)
        out = role_out(doc)
        out.pop("RoleLastUsed", None)
        return {"Role": out}

    def get_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetRole", self.arn_for(ctx, "role", request["RoleName"]))
        return {"Role": role_out(self.require(ctx, "role", request["RoleName"]))}

    def list_roles(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListRoles", f"arn:aws:iam::{ctx.account_id}:role/")
        prefix = check_path_prefix(request.get("PathPrefix"))
        roles = [r for r in repo.list_family(ctx.store, ctx.account_id, "role") if r["Path"].startswith(prefix)]
        roles.sort(key=lambda r: r["RoleName"].lower())
        return paginate(roles, request, "Roles", lambda r: role_out(r, full=False))

    def update_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._update(ctx, "iam:UpdateRole", request)
        return {}

    def update_role_description(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._update(ctx, "iam:UpdateRoleDescription", request)
        return {"Role": role_out(doc)}

    def _update(self, ctx: RequestContext, action: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        doc = repo.role(ctx.store, ctx.account_id, name)
        ctx.authorize(action, self.arn_for(ctx, "role", name), {**boundary_condition(doc), **resource_tag_conditions(doc)})
        doc = self.require(ctx, "role", name)
        self._guard_slr(doc)
        if request.get("Description") is not None:
            doc["Description"] = request["Description"]
        if request.get("MaxSessionDuration") is not None:
            doc["MaxSessionDuration"] = _max_session(request["MaxSessionDuration"])
        with self.writing(ctx) as store:
            repo.save(store, "role", ctx.account_id, doc)
        return doc

    def update_assume_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        doc = repo.role(ctx.store, ctx.account_id, name)
        ctx.authorize("iam:UpdateAssumeRolePolicy", self.arn_for(ctx, "role", name), {**boundary_condition(doc), **resource_tag_conditions(doc)})
        doc = self.require(ctx, "role", name)
        self._guard_slr(doc)
        doc["AssumeRolePolicyDocument"] = self._trust(request["PolicyDocument"])
        with self.writing(ctx) as store:
            repo.save(store, "role", ctx.account_id, doc)
        return {}

    def delete_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        doc = repo.role(ctx.store, ctx.account_id, name)
        ctx.authorize("iam:DeleteRole", self.arn_for(ctx, "role", name), {**boundary_condition(doc), **resource_tag_conditions(doc)})
        doc = self.require(ctx, "role", name)
        self._guard_slr(doc)
        self._delete_role(ctx, doc)
        return {}

    def _delete_role(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        for profile in repo.list_family(ctx.store, ctx.account_id, "instance-profile"):
            if doc["RoleName"] in profile.get("Roles", []):
                raise delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        if doc.get("InlinePolicies"):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if doc.get("AttachedPolicies") and not doc["Path"].startswith(SLR_PATH):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        boundary = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, "role", doc["RoleName"], doc["RoleId"])
            if boundary and store.get(boundary):
                self._count(store, ctx, store.get(boundary), "PermissionsBoundaryUsageCount", -1)

    # -- tags -------------------------------------------------------------------------------

    def tag_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.tag_named(ctx, "role", "iam:TagRole", request["RoleName"], request["Tags"])

    def untag_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.untag_named(ctx, "role", "iam:UntagRole", request["RoleName"], request["TagKeys"])

    def list_role_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_named_tags(ctx, "role", "iam:ListRoleTags", request["RoleName"], request)

    # -- policies ---------------------------------------------------------------------------

    def put_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = repo.role(ctx.store, ctx.account_id, request["RoleName"])
        if doc:
            self._guard_slr(doc)
        return self.put_inline(ctx, "role", request)

    def get_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "role", request)

    def delete_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "role", request)

    def list_role_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "role", request)

    def attach_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "role", request)

    def detach_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "role", request)

    def list_attached_role_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "role", request)

    def put_role_permissions_boundary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.put_boundary(ctx, "role", request)

    def delete_role_permissions_boundary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete_boundary(ctx, "role", request)

    # -- service-linked roles -----------------------------------------------------------------

    def create_service_linked_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        service = request["AWSServiceName"]
        base = SLR_NAMES.get(service) or "AWSServiceRoleFor" + service.split(".")[0].replace("-", " ").title().replace(" ", "")
        suffix = request.get("CustomSuffix")
        name = f"{base}_{suffix}" if suffix else base
        path = f"{SLR_PATH}{service}/"
        ctx.authorize("iam:CreateServiceLinkedRole", repo.entity_arn(ctx.account_id, "role", path, name), {"iam:AWSServiceName": service})
        if not service.endswith(".amazonaws.com") or service.count(".") < 2:
            raise invalid_input(f"Unrecognized service principal provided: {service}")
        check_name(name, "customSuffix", 64)
        if repo.arn_by_name(ctx.store, ctx.account_id, "role", name):
            raise invalid_input(f"Service role name {name} has been taken in this account, please try a different suffix.")
        trust = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"'
            + service
            + '"},"Action":"sts:AssumeRole"}]}'
        )
        doc = self._new_role(ctx, name, path, trust, {"Description": request.get("Description")}, [])
        with self.writing(ctx) as store:
            repo.save(store, "role", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "role", name, doc["Arn"], doc["RoleId"])
        out = role_out(doc)
        out.pop("RoleLastUsed", None)
        return {"Role": out}

    def delete_service_linked_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        ctx.authorize("iam:DeleteServiceLinkedRole", self.arn_for(ctx, "role", name))
        doc = self.require(ctx, "role", name)
        if not doc["Path"].startswith(SLR_PATH):
            raise invalid_input(f"Role {name} is not a service-linked role.")
        task = f"task{doc['Path']}{name}/{uuid.uuid4()}"
        doc["InlinePolicies"] = {}
        self._delete_role(ctx, doc)
        with self.writing(ctx) as store:
            store.put(
                f"arn:aws:iam::{ctx.account_id}:mamori/slr-deletion/{task}",
                {"DeletionTaskId": task, "Status": "SUCCEEDED", "RoleName": name},
                kind="iam:slr-deletion",
                account_id=ctx.account_id,
                region="",
            )
        return {"DeletionTaskId": task}

    def get_service_linked_role_deletion_status(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        task_id = request["DeletionTaskId"]
        ctx.authorize("iam:GetServiceLinkedRoleDeletionStatus", f"arn:aws:iam::{ctx.account_id}:role{SLR_PATH}*")
        task = ctx.store.get(f"arn:aws:iam::{ctx.account_id}:mamori/slr-deletion/{task_id}")
        if task is None:
            raise no_such_entity(f"Deletion task {task_id} cannot be found.")
        return {"Status": task["Status"]}
