"""SimulatePrincipalPolicy and SimulateCustomPolicy through the policy engine.

SimulatePrincipalPolicy gathers the policies of a user (its own, its groups'), a group
or a role (inline and attached, plus the permissions boundary), adds the given
PolicyInputList, and evaluates every action x resource. SimulateCustomPolicy evaluates
only the given policies. Resource policies can be supplied (ResourcePolicy).
(doc: https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)
"""

from __future__ import annotations

from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.policy import (
    Policy,
    PolicyError,
    PolicyKind,
    PolicySet,
    Request,
    evaluate,
    parse_policy,
)
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations
from mamori.services.iam.validation import (
    invalid_input,
    malformed,
    no_such_entity,
    paginate,
)

DECISION = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}


def _parse(text: str, kind: PolicyKind) -> Policy:
    try:
        return parse_policy(text, kind)
    except PolicyError as exc:
        raise malformed(exc.message) from None


def _context(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    """ContextEntries -> condition context. Values stay strings for scalar types; the
    *List types become lists (multivalued keys)."""
    out: dict[str, Any] = {}
    for e in entries or []:
        values = list(e.get("ContextKeyValues") or [])
        kind = e.get("ContextKeyType", "string")
        out[e["ContextKeyName"]] = values if kind.endswith("List") else (values[0] if values else None)
    return out


class Simulation(IamOperations):
    def _principal_policies(self, ctx: RequestContext, arn: str) -> tuple[list[tuple[str, str, Policy]], tuple[str, Policy] | None, str, str]:
        """(identity policies as (id, source type, Policy), boundary, principal type, name)."""
        doc = ctx.store.get(arn) if arn.startswith(f"arn:aws:iam::{ctx.account_id}:") else None
        family = repo.family_of(arn)
        if doc is None or family not in ("user", "group", "role"):
            raise no_such_entity(f"Entity {arn} does not exist.")
        found: list[tuple[str, str, Policy]] = []

        def add(entity: dict[str, Any], source: str) -> None:
            for name, text in entity.get("InlinePolicies", {}).items():
                found.append((name, source, _parse(text, PolicyKind.IDENTITY)))
            for policy_arn in entity.get("AttachedPolicies", []):
                managed = repo.managed_policy(ctx.store, policy_arn)
                if managed:
                    kind = "aws-managed" if policy_arn.startswith(repo.AWS_POLICY_PREFIX) else "user-managed"
                    found.append((policy_arn, kind, _parse(managed["Document"], PolicyKind.IDENTITY)))

        add(doc, family)
        if family == "user":
            for g in repo.groups_of_user(ctx.store, ctx.account_id, doc["UserName"]):
                add(g, "group")
        boundary = None
        b_arn = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if b_arn:
            managed = repo.managed_policy(ctx.store, b_arn)
            if managed:
                boundary = (b_arn, _parse(managed["Document"], PolicyKind.BOUNDARY))
        ptype = {"user": "IAMUser", "role": "AssumedRole", "group": "IAMUser"}[family]
        return found, boundary, ptype, doc.get("UserName") or doc.get("RoleName") or doc.get("GroupName")

    def _run(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        identity: list[tuple[str, str, Policy]],
        boundary: tuple[str, Policy] | None,
        principal_arn: str,
        principal_type: str,
        principal_ids: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        for i, text in enumerate(request.get("PolicyInputList") or [], 1):
            identity.append((f"PolicyInputList.{i}", "none", _parse(text, PolicyKind.IDENTITY)))
        for i, text in enumerate(request.get("PermissionsBoundaryPolicyInputList") or [], 1):
            boundary = (f"PermissionsBoundaryPolicyInputList.{i}", _parse(text, PolicyKind.BOUNDARY))
        resource_policy = None
        if request.get("ResourcePolicy"):
            resource_policy = ("ResourcePolicy", _parse(request["ResourcePolicy"], PolicyKind.RESOURCE))
        kinds = {pid: source for pid, source, _ in identity}
        policies = PolicySet(
            identity=[(pid, p) for pid, _, p in identity], boundary=boundary, resource=resource_policy
        )
        context = _context(request.get("ContextEntries"))
        owner = request.get("ResourceOwner")
        caller = request.get("CallerArn") or principal_arn
        results = []
        for action in request["ActionNames"]:
            if ":" not in action:
                raise invalid_input(f"Action {action} is not valid: actions must be service:Operation.")
            for resource in request.get("ResourceArns") or ["*"]:
                req = Request(
                    principal_arn=caller,
                    principal_account=ctx.account_id,
                    principal_type=principal_type,
                    action=action,
                    resource=resource,
                    resource_account=repo.account_of(owner) if owner else None,
                    context=context,
                    principal_ids=principal_ids | {caller},
                )
                decision = evaluate(req, policies, explain=True)
                matched = [
                    {"SourcePolicyId": r.policy_id, "SourcePolicyType": kinds.get(r.policy_id, "resource" if r.policy_id == "ResourcePolicy" else "none")}
                    for r in decision.reasons
                    if r.matched and r.deciding and r.policy_kind != "boundary" and decision.effect != "ImplicitDeny"
                ]
                result: dict[str, Any] = {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": DECISION[decision.effect],
                    "MatchedStatements": matched,
                    "MissingContextValues": [],
                }
                if boundary is not None:
                    in_boundary = any(r.matched and r.policy_kind == "boundary" and r.effect == "Allow" for r in decision.reasons)
                    result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": in_boundary}
                if resource_policy is not None:
                    result["EvalDecisionDetails"] = {"IAM Policy": DECISION[decision.effect]}
                results.append(result)
        return paginate(results, request, "EvaluationResults")

    def simulate_principal_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicySourceArn"]
        ctx.authorize("iam:SimulatePrincipalPolicy", arn)
        identity, boundary, ptype, _ = self._principal_policies(ctx, arn)
        doc = ctx.store.get(arn) or {}
        ids = frozenset(x for x in (doc.get("UserId"), doc.get("RoleId")) if x)
        if ptype == "AssumedRole" and not request.get("CallerArn"):
            ptype = "IAMUser"  # the role's own ARN stands for its sessions
        try:
            return self._run(ctx, request, identity, boundary, arn, ptype, ids)
        except PolicyError as exc:  # pragma: no cover - parse errors are mapped above
            raise AwsError(exc.message, code="PolicyEvaluation", status=500) from None

    def simulate_custom_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:SimulateCustomPolicy", "*")
        caller = request.get("CallerArn") or f"arn:aws:iam::{ctx.account_id}:user/simulated"
        return self._run(ctx, request, [], None, caller, "IAMUser")
