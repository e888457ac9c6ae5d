"""Policies of a user, group or role, written once for the three families: inline
policies (Put/Get/Delete/List*Policy), managed-policy attachments
(Attach/Detach/ListAttached*Policies) and permissions boundaries (users and roles).

Quotas (doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
10 managed policies per entity; inline policy text per entity, all policies together,
2,048 (user) / 5,120 (group) / 10,240 (role) characters excluding whitespace.
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import RequestContext
from mamori.policy import PolicyKind, policy_size
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, encoded
from mamori.services.iam.validation import (
    check_name,
    check_path_prefix,
    invalid_input,
    limit_exceeded,
    no_such_entity,
    paginate,
)

NAME_MEMBER = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
TITLE = {"user": "User", "group": "Group", "role": "Role"}
INLINE_QUOTA = {"user": 2048, "group": 5120, "role": 10240}
MAX_ATTACHED = 10


def boundary_condition(doc: dict[str, Any] | None) -> dict[str, Any]:
    boundary = (doc or {}).get("PermissionsBoundary")
    return {"iam:PermissionsBoundary": boundary["PermissionsBoundaryArn"]} if boundary else {}


class EntityPolicies(IamOperations):
    # -- inline -----------------------------------------------------------------------------

    def put_inline(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        policy_name = check_name(request["PolicyName"], "policyName", 128)
        arn = self.arn_for(ctx, family, name)
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(f"iam:Put{TITLE[family]}Policy", arn, boundary_condition(doc))
        doc = self.require(ctx, family, name)
        text = self.check_document(request["PolicyDocument"], PolicyKind.IDENTITY)
        inline = dict(doc.get("InlinePolicies", {}))
        inline[policy_name] = text
        if sum(policy_size(t) for t in inline.values()) > INLINE_QUOTA[family]:
            raise limit_exceeded(
                f"Maximum policy size of {INLINE_QUOTA[family]} bytes exceeded for {family} {doc[NAME_MEMBER[family]]}"
            )
        doc["InlinePolicies"] = inline
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
        return {}

    def get_inline(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        ctx.authorize(f"iam:Get{TITLE[family]}Policy", self.arn_for(ctx, family, name))
        doc = self.require(ctx, family, name)
        text = doc.get("InlinePolicies", {}).get(request["PolicyName"])
        if text is None:
            raise no_such_entity(f"The {family} policy with name {request['PolicyName']} cannot be found.")
        return {
            NAME_MEMBER[family]: doc[NAME_MEMBER[family]],
            "PolicyName": request["PolicyName"],
            "PolicyDocument": encoded(text),
        }

    def delete_inline(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(f"iam:Delete{TITLE[family]}Policy", self.arn_for(ctx, family, name), boundary_condition(doc))
        doc = self.require(ctx, family, name)
        inline = dict(doc.get("InlinePolicies", {}))
        if request["PolicyName"] not in inline:
            raise no_such_entity(f"The {family} policy with name {request['PolicyName']} cannot be found.")
        del inline[request["PolicyName"]]
        doc["InlinePolicies"] = inline
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
        return {}

    def list_inline(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        ctx.authorize(f"iam:List{TITLE[family]}Policies", self.arn_for(ctx, family, name))
        doc = self.require(ctx, family, name)
        return paginate(sorted(doc.get("InlinePolicies", {})), request, "PolicyNames")

    # -- managed attachments ---------------------------------------------------------------

    def attach(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name, policy_arn = request[NAME_MEMBER[family]], request["PolicyArn"]
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(
            f"iam:Attach{TITLE[family]}Policy",
            self.arn_for(ctx, family, name),
            {"iam:PolicyARN": policy_arn, **boundary_condition(doc)},
        )
        doc = self.require(ctx, family, name)
        policy = self.require_policy(ctx, policy_arn)
        if family == "role" and doc.get("Path", "").startswith("/aws-service-role/"):
            raise self.unmodifiable_slr(doc)
        attached = list(doc.get("AttachedPolicies", []))
        if policy_arn in attached:
            return {}
        if len(attached) >= MAX_ATTACHED:
            raise limit_exceeded(f"Cannot exceed quota for PoliciesPer{TITLE[family]}: {MAX_ATTACHED}")
        attached.append(policy_arn)
        doc["AttachedPolicies"] = attached
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
            self._count(store, ctx, policy, "AttachmentCount", +1)
        return {}

    def detach(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name, policy_arn = request[NAME_MEMBER[family]], request["PolicyArn"]
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(
            f"iam:Detach{TITLE[family]}Policy",
            self.arn_for(ctx, family, name),
            {"iam:PolicyARN": policy_arn, **boundary_condition(doc)},
        )
        doc = self.require(ctx, family, name)
        attached = list(doc.get("AttachedPolicies", []))
        if policy_arn not in attached:
            raise no_such_entity(f"Policy {policy_arn} was not found.")
        attached.remove(policy_arn)
        doc["AttachedPolicies"] = attached
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
            policy = ctx.store.get(policy_arn)
            if policy:
                self._count(store, ctx, policy, "AttachmentCount", -1)
        return {}

    def list_attached(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        ctx.authorize(f"iam:ListAttached{TITLE[family]}Policies", self.arn_for(ctx, family, name))
        doc = self.require(ctx, family, name)
        prefix = check_path_prefix(request.get("PathPrefix"))
        items = []
        for arn in doc.get("AttachedPolicies", []):
            policy = repo.aws_managed_policy(arn) if arn.startswith(repo.AWS_POLICY_PREFIX) else ctx.store.get(arn)
            if policy and policy["Path"].startswith(prefix):
                items.append({"PolicyName": policy["PolicyName"], "PolicyArn": arn})
        return paginate(items, request, "AttachedPolicies")

    def _count(self, store: Any, ctx: RequestContext, policy: dict[str, Any], member: str, delta: int) -> None:
        # AWS managed policies are shared data files: their counts are computed on read.
        if policy["Arn"].startswith(repo.AWS_POLICY_PREFIX):
            return
        fresh = store.get(policy["Arn"]) or policy
        fresh[member] = max(0, int(fresh.get(member, 0)) + delta)
        repo.save(store, "policy", ctx.account_id, fresh)

    # -- permissions boundaries -------------------------------------------------------------

    def put_boundary(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name, boundary_arn = request[NAME_MEMBER[family]], request["PermissionsBoundary"]
        ctx.authorize(
            f"iam:Put{TITLE[family]}PermissionsBoundary",
            self.arn_for(ctx, family, name),
            {"iam:PermissionsBoundary": boundary_arn},
        )
        doc = self.require(ctx, family, name)
        policy = self.boundary_policy(ctx, boundary_arn)
        if family == "role" and doc.get("Path", "").startswith("/aws-service-role/"):
            raise self.unmodifiable_slr(doc)
        old = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        doc["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary_arn}
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
            if old != boundary_arn:
                if old and store.get(old):
                    self._count(store, ctx, store.get(old), "PermissionsBoundaryUsageCount", -1)
                self._count(store, ctx, policy, "PermissionsBoundaryUsageCount", +1)
        return {}

    def delete_boundary(self, ctx: RequestContext, family: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request[NAME_MEMBER[family]]
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(f"iam:Delete{TITLE[family]}PermissionsBoundary", self.arn_for(ctx, family, name), boundary_condition(doc))
        doc = self.require(ctx, family, name)
        old = (doc.pop("PermissionsBoundary", None) or {}).get("PermissionsBoundaryArn")
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
            if old and store.get(old):
                self._count(store, ctx, store.get(old), "PermissionsBoundaryUsageCount", -1)
        return {}

    def boundary_policy(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        """The managed policy a boundary ARN names; AWS answers InvalidInput for a bad
        ARN and NoSuchEntity for a missing policy."""
        if not arn.startswith("arn:aws:iam::") or ":policy/" not in arn:
            raise invalid_input(f"ARN {arn} is not valid.")
        return self.require_policy(ctx, arn)

    def unmodifiable_slr(self, doc: dict[str, Any]) -> Exception:
        from mamori.services.iam.validation import unmodifiable

        return unmodifiable(
            f"Cannot perform the operation on the protected role '{doc['RoleName']}' - this role is only modifiable by AWS"
        )
