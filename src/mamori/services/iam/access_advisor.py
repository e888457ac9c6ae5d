"""Least-privilege helpers: which services a principal's policies allow and when it last
used them (access advisor), which of its policies grant a service, and which condition
keys its policies use.

- GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails(WithEntities): the
  services an entity's policies allow, each with the last call CloudTrail recorded from
  it (a user's own calls, a role's sessions; for a group its members; for a managed
  policy the entities it is attached to). The job completes at once.
  (access_policies_last-accessed.html)
- ListPoliciesGrantingServiceAccess: the inline and managed policies (the user's own and
  its groups') with an Allow statement whose actions reach the service namespace.
- GetContextKeysForCustomPolicy / GetContextKeysForPrincipalPolicy: the condition keys
  the policies name, each once.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Iterable

from mamori.gateway.context import RequestContext
from mamori.policy.wildcards import Glob
from mamori.protocol.model import service_model
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.validation import (
    invalid_input,
    malformed,
    no_such_entity,
    paginate,
)

JOB_KIND = "iam:access-report"
# IAM namespaces whose botocore signing name differs.
_NAMESPACE = {"monitoring": "cloudwatch"}


def _statements(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise malformed("Syntax errors in policy.") from None
    if not isinstance(doc, dict):
        raise malformed("Syntax errors in policy.")
    statements = doc.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def condition_keys(texts: Iterable[str]) -> list[str]:
    """The condition keys the documents use, in order of appearance, each once (IAM
    compares keys without regard to case)."""
    seen: dict[str, str] = {}
    for text in texts:
        for statement in _statements(text):
            for block in (statement.get("Condition") or {}).values():
                if isinstance(block, dict):
                    for key in block:
                        seen.setdefault(key.lower(), key)
    return list(seen.values())


def grants(text: str, namespace: str) -> bool:
    """Whether an Allow statement of the document reaches any action of `namespace`."""
    for statement in _statements(text):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            # NotAction allows every action it doesn't list: the service is reached unless
            # one listed pattern covers all of it ("*" or "svc:*").
            if not any(_covers_service(p, namespace) for p in _listed(statement["NotAction"])):
                return True
            continue
        if any(_service_glob(p).match(namespace) for p in _listed(statement.get("Action"))):
            return True
    return False


def _service_glob(action: str) -> Glob:
    """The service part of an action pattern ("kms:Get*" -> "kms"; "*" stays "*")."""
    service, sep, _ = action.partition(":")
    return Glob.parse(service if sep else action, ignore_case=True)


def _covers_service(action: str, namespace: str) -> bool:
    service, sep, name = action.partition(":")
    return action == "*" or (bool(sep) and name == "*" and _service_glob(action).match(namespace))


def _known_services() -> dict[str, str]:
    """IAM namespace -> service name, for the services mamori serves."""
    from mamori.services.base import discover

    out = {}
    for name in discover():
        meta = service_model(name).metadata
        namespace = meta.get("signingName") or meta.get("endpointPrefix") or name
        out[_NAMESPACE.get(namespace, namespace)] = meta.get("serviceFullName", name)
    return out


class AccessAdvisor(IamOperations):
    # -- which policies of an entity -----------------------------------------------------------

    def _entity(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        doc = ctx.store.get(arn) if arn.startswith(f"arn:aws:iam::{ctx.account_id}:") else None
        if doc is None and arn.startswith(repo.AWS_POLICY_PREFIX + "/"):
            doc = repo.aws_managed_policy(arn)
        if doc is None or repo.family_of(arn) not in ("user", "group", "role", "policy"):
            raise no_such_entity(f"Entity {arn} does not exist.")
        return doc

    def _documents(self, ctx: RequestContext, arn: str) -> list[dict[str, Any]]:
        """[{PolicyName, PolicyType, PolicyArn?, EntityType?, EntityName?, Document}] of the
        entity and, for a user, its groups."""
        doc = self._entity(ctx, arn)
        family = repo.family_of(arn)
        if family == "policy":
            return [{"PolicyName": doc["PolicyName"], "PolicyType": "MANAGED", "PolicyArn": arn,
                     "Document": repo.managed_policy(ctx.store, arn)["Document"]}]
        out = []
        owners = [(doc, family)]
        if family == "user":
            owners += [(g, "group") for g in repo.groups_of_user(ctx.store, ctx.account_id, doc["UserName"])]
        for owner, kind in owners:
            name = owner.get("UserName") or owner.get("GroupName") or owner.get("RoleName")
            for policy_name, text in owner.get("InlinePolicies", {}).items():
                out.append({"PolicyName": policy_name, "PolicyType": "INLINE", "EntityType": kind.upper(),
                            "EntityName": name, "Document": text})
            for policy_arn in owner.get("AttachedPolicies", []):
                managed = repo.managed_policy(ctx.store, policy_arn)
                if managed:
                    out.append({"PolicyName": policy_arn.rsplit("/", 1)[-1], "PolicyType": "MANAGED",
                                "PolicyArn": policy_arn, "Document": managed["Document"]})
        return out

    # -- condition keys -------------------------------------------------------------------------

    def get_context_keys_for_custom_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetContextKeysForCustomPolicy", "*")
        return {"ContextKeyNames": condition_keys(request["PolicyInputList"])}

    def get_context_keys_for_principal_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicySourceArn"]
        ctx.authorize("iam:GetContextKeysForPrincipalPolicy", arn)
        if repo.family_of(arn) not in ("user", "group", "role"):
            raise invalid_input(f"Invalid ARN {arn}: only users, groups and roles are principals.")
        texts = [d["Document"] for d in self._documents(ctx, arn)] + list(request.get("PolicyInputList") or [])
        return {"ContextKeyNames": condition_keys(texts)}

    # -- policies granting a service --------------------------------------------------------------

    def list_policies_granting_service_access(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["Arn"]
        ctx.authorize("iam:ListPoliciesGrantingServiceAccess", arn)
        if repo.family_of(arn) not in ("user", "group", "role"):
            raise invalid_input(f"Invalid ARN {arn}: only users, groups and roles have policies.")
        documents = self._documents(ctx, arn)
        out = []
        for namespace in request["ServiceNamespaces"]:
            policies = [{k: v for k, v in d.items() if k != "Document"} for d in documents if grants(d["Document"], namespace)]
            out.append({"ServiceNamespace": namespace, "Policies": policies})
        return {"PoliciesGrantingServiceAccess": out, "IsTruncated": False}

    # -- last accessed ----------------------------------------------------------------------------

    def generate_service_last_accessed_details(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["Arn"]
        ctx.authorize("iam:GenerateServiceLastAccessedDetails", arn)
        granularity = request.get("Granularity") or "SERVICE_LEVEL"
        self._entity(ctx, arn)
        documents = [d["Document"] for d in self._documents(ctx, arn)]
        principals = self._principals_behind(ctx, arn)
        activity = ctx.telemetry.principal_activity(ctx.account_id, [p["Arn"] for p in principals])
        services = []
        for namespace, full_name in sorted(_known_services().items()):
            if not any(grants(text, namespace) for text in documents):
                continue
            entry: dict[str, Any] = {"ServiceName": full_name, "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 0}
            used = [a for a in activity if a[1].split(".")[0] in (namespace, _reverse(namespace))]
            if used:
                who, _, region, when = max(used, key=lambda a: a[3])
                entry.update(LastAuthenticated=_iso(when), LastAuthenticatedEntity=who, LastAuthenticatedRegion=region,
                             TotalAuthenticatedEntities=len({a[0] for a in used}))
            services.append(entry)
        job_id = str(uuid.uuid4())
        job = {"JobId": job_id, "JobType": granularity, "JobStatus": "COMPLETED", "JobCreationDate": stamp(ctx),
               "JobCompletionDate": stamp(ctx), "Arn": arn, "ServicesLastAccessed": services,
               "Entities": {ns: [self._entity_detail(p, activity, ns) for p in principals]
                            for ns in (s["ServiceNamespace"] for s in services)}}
        ctx.store.put(f"arn:aws:iam::{ctx.account_id}:mamori/access-report/{job_id}", job, kind=JOB_KIND,
                      account_id=ctx.account_id, region="")
        return {"JobId": job_id}

    def _job(self, ctx: RequestContext, job_id: str) -> dict[str, Any]:
        job = ctx.store.get(f"arn:aws:iam::{ctx.account_id}:mamori/access-report/{job_id}")
        if job is None:
            raise no_such_entity(f"No such job {job_id}.")
        return job

    def get_service_last_accessed_details(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetServiceLastAccessedDetails", "*")
        job = self._job(ctx, request["JobId"])
        page = paginate([_dates(s) for s in job["ServicesLastAccessed"]], request, "ServicesLastAccessed")
        return {"JobStatus": job["JobStatus"], "JobType": job["JobType"], "JobCreationDate": to_datetime(job["JobCreationDate"]),
                "JobCompletionDate": to_datetime(job["JobCompletionDate"]), **page}

    def get_service_last_accessed_details_with_entities(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetServiceLastAccessedDetailsWithEntities", "*")
        job = self._job(ctx, request["JobId"])
        entities = job["Entities"].get(request["ServiceNamespace"], [])
        page = paginate([_dates(e) for e in entities], request, "EntityDetailsList")
        return {"JobStatus": job["JobStatus"], "JobCreationDate": to_datetime(job["JobCreationDate"]),
                "JobCompletionDate": to_datetime(job["JobCompletionDate"]), **page}

    def _principals_behind(self, ctx: RequestContext, arn: str) -> list[dict[str, Any]]:
        """The users and roles whose calls count for `arn`'s report."""
        family = repo.family_of(arn)
        if family in ("user", "role"):
            return [ctx.store.get(arn)]
        if family == "group":
            return [u for u in repo.list_family(ctx.store, ctx.account_id, "user") if _group_name(arn) in u.get("Groups", [])]
        return [doc for fam, doc in repo.iter_attached(ctx.store, ctx.account_id)
                if fam in ("user", "role") and arn in doc.get("AttachedPolicies", [])]

    @staticmethod
    def _entity_detail(doc: dict[str, Any], activity: list[tuple[str, str, str, float]], namespace: str) -> dict[str, Any]:
        kind = "USER" if "UserName" in doc else "ROLE"
        info = {"Arn": doc["Arn"], "Name": doc.get("UserName") or doc.get("RoleName"), "Type": kind,
                "Id": doc.get("UserId") or doc.get("RoleId"), "Path": doc.get("Path", "/")}
        times = [a[3] for a in activity if a[0] == doc["Arn"] and a[1].split(".")[0] in (namespace, _reverse(namespace))]
        out: dict[str, Any] = {"EntityInfo": info}
        if times:
            out["LastAuthenticated"] = _iso(max(times))
        return out


def _group_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _reverse(namespace: str) -> str:
    return {v: k for k, v in _NAMESPACE.items()}.get(namespace, namespace)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dates(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    if "LastAuthenticated" in out:
        out["LastAuthenticated"] = to_datetime(out["LastAuthenticated"])
    return out
