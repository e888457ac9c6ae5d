"""Enforcement: the IAM decision on every call.

Installed as `runtime.authorizer` by the IAM provider. For each `ctx.authorize(action,
resource, conditions)` it builds the request context (global condition keys from the
call, service keys from the provider), gathers the principal's policies from the IAM
store (the user's inline and attached policies, its groups', its permissions boundary)
and asks the pure engine (`mamori.policy.evaluate`) for the decision, with reasons.

Compiled policy sets are cached per (account, principal ARN) and keyed by the account's
IAM version counter, which every IAM write bumps: a decision costs a dictionary lookup
plus the engine's few microseconds.

Not yet: role sessions (AssumeRole comes with the rest of STS), resource policies
passed by providers, SCPs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mamori.gateway.context import Decision, RequestContext
from mamori.policy import PolicyError, PolicyKind, PolicySet, Request, denial_message, evaluate, parse_policy
from mamori.services.iam import repository as repo

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

_EVERYTHING = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
# Stand-ins that allow nothing, for a missing role (trust) or an unreadable policy.
_EMPTY_TRUST = parse_policy({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "nobody.mamori.invalid"}, "Action": "sts:AssumeRole"}]}, PolicyKind.TRUST)
_NOTHING = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "mamori:Nothing", "Resource": "*"}]}'
_KINDS = {"Allow": "allow", "ExplicitDeny": "explicit_deny", "ImplicitDeny": "implicit_deny"}


class IamAuthorizer:
    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        # (account, principal ARN, access key) -> (IAM version, policies, principal tags)
        self._sets: dict[tuple[str, str, str], tuple[int, PolicySet, dict[str, str]]] = {}

    def __call__(self, ctx: RequestContext, action: str, resource: str, conditions: dict[str, Any]) -> Decision:
        principal = ctx.principal
        if principal.is_root and principal.account_id == ctx.account_id:
            # The root user holds every permission in its own account; only SCPs and
            # resource policies could take one away, and neither exists here yet.
            return Decision(action, resource, True, "allow", [{"reason": "account root user"}])
        policies, tags = self.policy_set(ctx)
        if "__trust_policy__" in conditions:
            # sts:AssumeRole: the role's trust policy is the resource policy, and it
            # must allow (an identity policy alone never lets anyone assume a role).
            conditions = dict(conditions)
            trust = _compile(conditions.pop("__trust_policy__"), PolicyKind.TRUST)
            policies = replace(policies, resource=(f"{resource} (trust policy)", trust or _EMPTY_TRUST),
                               resource_is_required=True)
        ids = {principal.arn, principal.account_id, f"arn:aws:iam::{principal.account_id}:root"}
        if principal.session and principal.session.get("roleArn"):
            ids.add(principal.session["roleArn"])
        request = Request(
            principal_arn=principal.arn,
            principal_account=principal.account_id,
            principal_type=principal.type,
            action=action,
            resource=resource or "*",
            resource_account=ctx.account_id,
            context=self.context(ctx, conditions, tags),
            principal_ids=frozenset(ids),
        )
        verdict = evaluate(request, policies)
        if verdict.allowed:
            return Decision(action, resource, True, "allow", [r.to_json() for r in verdict.reasons])
        # Denials are rare: evaluate again with every statement's outcome for `explain`.
        verdict = evaluate(request, policies, explain=True)
        reasons = [{"deniedBy": verdict.denied_by, "denialMessage": denial_message(request, verdict)}]
        reasons += [r.to_json() for r in verdict.reasons]
        return Decision(action, resource, False, _KINDS[verdict.effect], reasons)

    # -- policies --------------------------------------------------------------------------

    def policy_set(self, ctx: RequestContext) -> tuple[PolicySet, dict[str, str]]:
        """The principal's policies and tags, compiled once per IAM version."""
        principal = ctx.principal
        if principal.type not in ("IAMUser", "AssumedRole", "FederatedUser"):
            return PolicySet(), {}
        store = ctx.store
        key = (principal.account_id, principal.arn, principal.access_key_id or "")
        version = repo.version(store, principal.account_id)
        cached = self._sets.get(key)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        session = principal.session or {}
        role_arn = session.get("roleArn")
        federated = principal.type == "FederatedUser"
        issuer = session.get("issuerArn") if federated else None
        user = store.get(role_arn or issuer or principal.arn)
        identity: list[tuple[str, Any]] = []
        boundary = None
        if user is not None:
            entities = [user]
            if not role_arn:
                entities += repo.groups_of_user(store, principal.account_id, user["UserName"])
            for entity in entities:
                arn = entity["Arn"]
                for name, text in repo.inline_policies(store, arn).items():
                    compiled = _compile(text)
                    if compiled is not None:
                        identity.append((f"{arn}:inline/{name}", compiled))
                for policy_arn in repo.attached_policy_arns(store, arn):
                    managed = repo.managed_policy(store, policy_arn)
                    compiled = _compile(managed["Document"]) if managed else None
                    if compiled is not None:
                        identity.append((policy_arn, compiled))
            boundary_arn = repo.permissions_boundary(store, user["Arn"])  # user's or role's
            if boundary_arn:
                managed = repo.managed_policy(store, boundary_arn)
                compiled = _compile(managed["Document"]) if managed else None
                # A boundary that can't be read allows nothing (fail closed).
                boundary = (boundary_arn, compiled if compiled is not None else _compile(_NOTHING))
        session_policies = tuple(
            (f"session policy {n}", _compile(text) or _compile(_NOTHING))
            for n, text in enumerate(session.get("sessionPolicies") or [])
        )
        if federated and issuer and issuer.endswith(":root"):
            identity.append(("account root user", _compile(_EVERYTHING)))
        result = PolicySet(identity=tuple(identity), boundary=boundary, session=session_policies,
                           session_kind="role" if role_arn else "federated" if federated else None)
        tags = {**(repo.tags(store, user["Arn"]) if user is not None else {}), **principal.tags}
        self._sets[key] = (version, result, tags)
        return result, tags

    # -- context ---------------------------------------------------------------------------

    def context(self, ctx: RequestContext, conditions: dict[str, Any], principal_tags: dict[str, str]) -> dict[str, Any]:
        """Global condition keys, then the provider's service keys.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"""
        p = ctx.principal
        now = ctx.time()
        keys: dict[str, Any] = {
            "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now)),
            "aws:SecureTransport": "true" if ctx.secure_transport else "false",
            "aws:SourceIp": ctx.source_ip,
            "aws:RequestedRegion": ctx.region,
            "aws:PrincipalArn": p.arn,
            "aws:PrincipalAccount": p.account_id,
            "aws:PrincipalType": {"IAMUser": "User"}.get(p.type, p.type),
            "aws:userid": p.principal_id,
            "aws:ViaAWSService": "false",
        }
        if p.type == "IAMUser" and p.user_name:
            keys["aws:username"] = p.user_name
        issued = (p.session or {}).get("tokenIssueTime")
        if issued is not None:
            # Only temporary credentials carry the MFA key: "The key is not present when
            # an API or CLI command is called with long-term credentials, such as user
            # access key pairs." (reference_policies_condition-keys.html)
            keys["aws:MultiFactorAuthPresent"] = "true" if p.mfa_authenticated else "false"
            keys["aws:TokenIssueTime"] = datetime.fromtimestamp(issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if p.mfa_authenticated:
                keys["aws:MultiFactorAuthAge"] = str(int(now - issued))
        for tag_key, value in p.tags.items():
            keys[f"aws:PrincipalTag/{tag_key}"] = value
        for tag_key, value in principal_tags.items():
            keys[f"aws:PrincipalTag/{tag_key}"] = value
        keys.update(conditions)
        return keys


def _compile(text: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> Any:
    if text is None:
        return None
    try:
        return parse_policy(json.loads(text) if isinstance(text, str) else text, kind)
    except (PolicyError, ValueError):
        return None
