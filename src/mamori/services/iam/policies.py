"""Managed policies: Create/Get/List/DeletePolicy, versions
(Create/Get/List/DeletePolicyVersion, SetDefaultPolicyVersion), policy tags and
ListEntitiesForPolicy.

A customer managed policy keeps at most five versions (LimitExceeded), exactly one of
them the default; the default can't be deleted (DeleteConflict) and a policy with
other versions or attachments can't be deleted either.
(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html)

AWS managed policies (arn:aws:iam::aws:policy/...) come from data files; they can be
read and attached in every account but not changed (UnmodifiableEntity). Their
AttachmentCount is the account's, counted on read.
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import RequestContext
from mamori.policy import PolicyKind, policy_size
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, encoded, stamp, to_datetime
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    delete_conflict,
    invalid_input,
    limit_exceeded,
    merge_tags,
    no_such_entity,
    paginate,
    remove_tags,
    resource_tag_conditions,
    tag_conditions,
    unmodifiable,
)

MAX_VERSIONS = 5
MANAGED_QUOTA = 6144


def policy_out(doc: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PolicyName": doc["PolicyName"],
        "PolicyId": doc["PolicyId"],
        "Arn": doc["Arn"],
        "Path": doc["Path"],
        "DefaultVersionId": doc["DefaultVersionId"],
        "AttachmentCount": doc.get("AttachmentCount", 0),
        "PermissionsBoundaryUsageCount": doc.get("PermissionsBoundaryUsageCount", 0),
        "IsAttachable": doc.get("IsAttachable", True),
        "CreateDate": to_datetime(doc["CreateDate"]),
        "UpdateDate": to_datetime(doc["UpdateDate"]),
    }
    if full:
        if doc.get("Description"):
            out["Description"] = doc["Description"]
        if doc.get("Tags"):
            out["Tags"] = list(doc["Tags"])
    return out


def version_out(doc: dict[str, Any], vid: str, *, document: bool = True) -> dict[str, Any]:
    v = doc["Versions"][vid]
    out: dict[str, Any] = {
        "VersionId": vid,
        "IsDefaultVersion": vid == doc["DefaultVersionId"],
        "CreateDate": to_datetime(v["CreateDate"]),
    }
    if document:
        out["Document"] = encoded(v["Document"])
    return out


def _version_order(vid: str) -> int:
    return int(vid[1:])


class Policies(IamOperations):
    def _managed_text(self, text: Any) -> str:
        text = self.check_document(text, PolicyKind.IDENTITY)
        if policy_size(text) > MANAGED_QUOTA:
            raise limit_exceeded(f"Cannot exceed quota for PolicySize: {MANAGED_QUOTA}")
        return text

    def _local(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        """A customer managed policy for a change; AWS managed ones are read-only."""
        doc = self.require_policy(ctx, arn)
        if arn.startswith(repo.AWS_POLICY_PREFIX):
            raise unmodifiable(f"Cannot modify the AWS managed policy {arn}.")
        return doc

    def _with_counts(self, ctx: RequestContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill the account's AttachmentCount / boundary usage into AWS managed policies."""
        aws = [d for d in docs if d["Arn"].startswith(repo.AWS_POLICY_PREFIX)]
        if not aws:
            return docs
        attached: dict[str, int] = {}
        bounded: dict[str, int] = {}
        for _, entity in repo.iter_attached(ctx.store, ctx.account_id):
            for arn in entity.get("AttachedPolicies", []):
                attached[arn] = attached.get(arn, 0) + 1
            b = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if b:
                bounded[b] = bounded.get(b, 0) + 1
        for d in aws:
            d["AttachmentCount"] = attached.get(d["Arn"], 0)
            d["PermissionsBoundaryUsageCount"] = bounded.get(d["Arn"], 0)
        return docs

    # -- policies ---------------------------------------------------------------------------

    def create_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["PolicyName"], "policyName", 128)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        arn = repo.entity_arn(ctx.account_id, "policy", path, name)
        ctx.authorize("iam:CreatePolicy", arn, tag_conditions(tags))
        text = self._managed_text(request["PolicyDocument"])
        if repo.arn_by_name(ctx.store, ctx.account_id, "policy", name):
            raise already_exists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        now = stamp(ctx)
        doc = {
            "PolicyName": name,
            "PolicyId": ids.new_unique_id("ANPA"),
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": "v1",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "Description": request.get("Description") or "",
            "CreateDate": now,
            "UpdateDate": now,
            "Tags": tags,
            "Versions": {"v1": {"Document": text, "CreateDate": now}},
            "NextVersion": 2,
        }
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
            repo.index(store, ctx.account_id, "policy", name, arn, doc["PolicyId"])
        out = policy_out(doc)
        out.pop("Description", None)
        return {"Policy": out}

    def get_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:GetPolicy", arn)
        doc = self.require_policy(ctx, arn)
        return {"Policy": policy_out(self._with_counts(ctx, [doc])[0])}

    def list_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListPolicies", f"arn:aws:iam::{ctx.account_id}:policy/")
        scope = request.get("Scope") or "All"
        prefix = check_path_prefix(request.get("PathPrefix"))
        docs: list[dict[str, Any]] = []
        if scope in ("All", "AWS"):
            docs += repo.aws_managed_policies()
        if scope in ("All", "Local"):
            docs += repo.list_family(ctx.store, ctx.account_id, "policy")
        docs = [d for d in self._with_counts(ctx, docs) if d["Path"].startswith(prefix)]
        if request.get("OnlyAttached"):
            docs = [d for d in docs if d.get("AttachmentCount", 0) or d.get("PermissionsBoundaryUsageCount", 0)]
        usage = request.get("PolicyUsageFilter")
        if usage == "PermissionsPolicy":
            docs = [d for d in docs if d.get("AttachmentCount", 0)] if request.get("OnlyAttached") else docs
        elif usage == "PermissionsBoundary" and request.get("OnlyAttached"):
            docs = [d for d in docs if d.get("PermissionsBoundaryUsageCount", 0)]
        docs.sort(key=lambda d: (d["PolicyName"].lower(), d["Arn"]))
        return paginate(docs, request, "Policies", lambda d: policy_out(d, full=False))

    def delete_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:DeletePolicy", arn)
        doc = self._local(ctx, arn)
        if doc.get("AttachmentCount", 0):
            raise delete_conflict("Cannot delete a policy attached to entities.")
        if doc.get("PermissionsBoundaryUsageCount", 0):
            raise delete_conflict("Cannot delete a policy attached to entities as a permissions boundary.")
        if len(doc["Versions"]) > 1:
            raise delete_conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the "
                "policy's versions. The default version is deleted with the policy."
            )
        with self.writing(ctx) as store:
            store.delete(arn)
            repo.unindex(store, ctx.account_id, "policy", doc["PolicyName"], doc["PolicyId"])
        return {}

    # -- versions ---------------------------------------------------------------------------

    def create_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:CreatePolicyVersion", arn)
        doc = self._local(ctx, arn)
        text = self._managed_text(request["PolicyDocument"])
        if len(doc["Versions"]) >= MAX_VERSIONS:
            raise limit_exceeded(
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, "
                "you must delete an existing version."
            )
        vid = f"v{doc['NextVersion']}"
        now = stamp(ctx)
        doc["NextVersion"] += 1
        doc["Versions"][vid] = {"Document": text, "CreateDate": now}
        if request.get("SetAsDefault"):
            doc["DefaultVersionId"] = vid
        doc["UpdateDate"] = now
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
        return {"PolicyVersion": version_out(doc, vid, document=False)}

    def get_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn, vid = request["PolicyArn"], request["VersionId"]
        ctx.authorize("iam:GetPolicyVersion", arn)
        doc = self.require_policy(ctx, arn)
        if vid not in doc["Versions"]:
            raise no_such_entity(f"Policy {arn} version {vid} does not exist or is not attachable.")
        return {"PolicyVersion": version_out(doc, vid)}

    def list_policy_versions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:ListPolicyVersions", arn)
        doc = self.require_policy(ctx, arn)
        vids = sorted(doc["Versions"], key=_version_order, reverse=True)
        return paginate(vids, request, "Versions", lambda v: version_out(doc, v, document=False))

    def delete_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn, vid = request["PolicyArn"], request["VersionId"]
        ctx.authorize("iam:DeletePolicyVersion", arn)
        doc = self._local(ctx, arn)
        if vid not in doc["Versions"]:
            raise no_such_entity(f"Policy {arn} version {vid} does not exist or is not attachable.")
        if vid == doc["DefaultVersionId"]:
            raise delete_conflict("Cannot delete the default version of a policy.")
        del doc["Versions"][vid]
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
        return {}

    def set_default_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn, vid = request["PolicyArn"], request["VersionId"]
        ctx.authorize("iam:SetDefaultPolicyVersion", arn)
        doc = self._local(ctx, arn)
        if vid not in doc["Versions"]:
            raise no_such_entity(f"Policy {arn} version {vid} does not exist or is not attachable.")
        doc["DefaultVersionId"] = vid
        doc["UpdateDate"] = stamp(ctx)
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
        return {}

    # -- tags -------------------------------------------------------------------------------

    def tag_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        tags = check_tags(request["Tags"])
        existing = ctx.store.get(arn) if not arn.startswith(repo.AWS_POLICY_PREFIX) else None
        ctx.authorize("iam:TagPolicy", arn, {**tag_conditions(tags), **resource_tag_conditions(existing)})
        doc = self._local(ctx, arn)
        doc["Tags"] = merge_tags(doc.get("Tags", []), tags)
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
        return {}

    def untag_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        keys = list(request["TagKeys"])
        ctx.authorize("iam:UntagPolicy", arn, {"aws:TagKeys": keys})
        doc = self._local(ctx, arn)
        doc["Tags"] = remove_tags(doc.get("Tags", []), keys)
        with self.writing(ctx) as store:
            repo.save(store, "policy", ctx.account_id, doc)
        return {}

    def list_policy_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:ListPolicyTags", arn)
        doc = self.require_policy(ctx, arn)
        return paginate(doc.get("Tags", []), request, "Tags")

    # -- who uses a policy --------------------------------------------------------------------

    def list_entities_for_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        ctx.authorize("iam:ListEntitiesForPolicy", arn)
        self.require_policy(ctx, arn)
        wanted = request.get("EntityFilter")
        usage = request.get("PolicyUsageFilter")
        prefix = check_path_prefix(request.get("PathPrefix"))
        if wanted in ("LocalManagedPolicy", "AWSManagedPolicy"):
            is_aws = arn.startswith(repo.AWS_POLICY_PREFIX)
            if (wanted == "AWSManagedPolicy") != is_aws:
                return {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], "IsTruncated": False}
            wanted = None
        elif wanted not in (None, "User", "Role", "Group"):
            raise invalid_input(f"Invalid EntityFilter {wanted}.")
        found: list[tuple[str, dict[str, Any]]] = []
        for family, doc in repo.iter_attached(ctx.store, ctx.account_id):
            if wanted and family != wanted.lower():
                continue
            if not doc["Path"].startswith(prefix):
                continue
            as_policy = arn in doc.get("AttachedPolicies", [])
            as_boundary = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") == arn
            if (usage == "PermissionsPolicy" and as_policy) or (usage == "PermissionsBoundary" and as_boundary) or (
                usage is None and (as_policy or as_boundary)
            ):
                found.append((family, doc))
        page = paginate(found, request, "Entities")
        out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], "IsTruncated": page["IsTruncated"]}
        for family, doc in page["Entities"]:
            if family == "user":
                out["PolicyUsers"].append({"UserName": doc["UserName"], "UserId": doc["UserId"]})
            elif family == "group":
                out["PolicyGroups"].append({"GroupName": doc["GroupName"], "GroupId": doc["GroupId"]})
            else:
                out["PolicyRoles"].append({"RoleName": doc["RoleName"], "RoleId": doc["RoleId"]})
        if "Marker" in page:
            out["Marker"] = page["Marker"]
        return out
