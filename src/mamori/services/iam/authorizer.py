"""Enforcement: the IAM decision on every call.

Installed as `runtime.authorizer` (by STS's and IAM's `setup()`). For each
`ctx.authorize(action, resource, conditions)` it

1. applies the limits of the session kind that AWS enforces outside policies
   (GetSessionToken credentials without MFA can't call IAM; federated users can't call
   IAM; both may call only a few STS actions);
2. gathers the principal's policies from the IAM store: the user's inline and attached
   policies and its groups', or the role's for a role session; the permissions
   boundary; the session policies the temporary credential carries; the resource
   policy a provider passes under the reserved keys of `gateway/context.py`
   (`with_resource_policy`: bucket, queue and key policies, role trust policies);
3. builds the request context: the global condition keys of the call, then the
   provider's service keys;
4. asks the pure engine (`mamori.policy.evaluate`) and answers a Decision whose
   reasons are the engine's (every statement when denied, for `mamori explain`) and
   whose denial text is AWS's variant for what denied, with an encoded authorization
   message for the services that use one (EC2).

Compiled policy sets are cached per (account, principal ARN, access key) and keyed by
the account's IAM version counter, which every IAM write bumps: a decision costs a
dictionary lookup plus the engine's few microseconds. The account's root user in its
own account is allowed without the engine unless a resource policy is involved.

Not modeled: SCPs and RCPs (mamori has no Organizations), VPC endpoint policies.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mamori.errors import AwsError
from mamori.gateway.context import (
    RESOURCE_ACCOUNT,
    RESOURCE_POLICY,
    RESOURCE_POLICY_KIND,
    RESOURCE_POLICY_REQUIRED,
    Decision,
    Principal,
    RequestContext,
)
from mamori.policy import (
    PolicyError,
    PolicyKind,
    PolicySet,
    Request,
    denial_message,
    evaluate,
    parse_policy,
)
from mamori.services.iam import repository as repo

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

_EVERYTHING = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
# Stand-ins that allow nothing, for a missing role (trust) or an unreadable policy.
_NOTHING = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "mamori:Nothing", "Resource": "*"}]}'
_NOBODY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "nobody.mamori.invalid"}, "Action": "mamori:Nothing"}]}
_KINDS = {"Allow": "allow", "ExplicitDeny": "explicit_deny", "ImplicitDeny": "implicit_deny"}
_RESERVED = (RESOURCE_POLICY, RESOURCE_POLICY_KIND, RESOURCE_POLICY_REQUIRED, RESOURCE_ACCOUNT)
_PRINCIPAL_TYPES = {"IAMUser": "User", "Root": "Account"}  # aws:PrincipalType values

# What temporary credentials may do in STS besides what their policies allow
# (doc: id_credentials_temp_request.html, "Comparing the AWS STS API operations").
_STS_ALLOWED = {
    "GetSessionToken": frozenset({"sts:assumerole", "sts:tagsession", "sts:setsourceidentity"}),
    "GetFederationToken": frozenset(),
}
_MAX_CACHED = 4096


class IamAuthorizer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # (account, principal ARN, access key) -> (IAM version, policies, principal tags)
        self._sets: dict[tuple[str, str, str], tuple[int, PolicySet, dict[str, str]]] = {}
        # (kind, document text) -> compiled resource policy
        self._resource_policies: dict[tuple[str, str], Any] = {}

    def __call__(self, ctx: RequestContext, action: str, resource: str, conditions: dict[str, Any]) -> Decision:
        principal = ctx.principal
        resource_policy = None
        resource_account = ctx.account_id
        if any(key in conditions for key in _RESERVED):
            conditions = dict(conditions)
            resource_account = conditions.pop(RESOURCE_ACCOUNT, None) or ctx.account_id
            kind = conditions.pop(RESOURCE_POLICY_KIND, "resource")
            required = bool(conditions.pop(RESOURCE_POLICY_REQUIRED, False))
            if RESOURCE_POLICY in conditions:
                resource_policy = (kind, required, conditions.pop(RESOURCE_POLICY))
        session = principal.session or {}
        if session.get("kind") in _STS_ALLOWED:
            limited = self._session_limits(ctx, session["kind"], action, resource)
            if limited is not None:
                return limited
        if principal.is_root and principal.account_id == resource_account and resource_policy is None:
            # The root user holds every permission in its own account; only a resource
            # policy (or SCPs, not modeled) could take one away.
            return Decision(action, resource, True, "allow", [{"reason": "account root user"}])

        policies, tags = self.policy_set(ctx)
        if resource_policy is not None:
            kind, required, document = resource_policy
            trust = kind == "trust"
            compiled = self._resource_policy(document, PolicyKind.TRUST if trust else PolicyKind.RESOURCE)
            if compiled is not None or trust or required:
                label = f"{resource} ({'trust' if trust else 'resource'} policy)"
                if compiled is None:
                    # A role that doesn't exist trusts nobody; an unreadable policy allows nothing.
                    compiled = self._resource_policy(_NOBODY, PolicyKind.TRUST if trust else PolicyKind.RESOURCE)
                # An identity policy alone never lets anyone assume a role, nor use a
                # KMS key: those resource policies must allow by themselves.
                policies = replace(policies, resource=(label, compiled), resource_is_required=trust or required)
        request = Request(
            principal_arn=principal.arn,
            principal_account=principal.account_id,
            principal_type=principal.type,
            action=action,
            resource=resource or "*",
            resource_account=resource_account,
            context=self.context(ctx, conditions, tags),
            principal_ids=_principal_ids(principal),
        )
        verdict = evaluate(request, policies)
        if verdict.allowed:
            return Decision(action, resource, True, "allow", [r.to_json() for r in verdict.reasons])
        # Denials are rare: evaluate again with every statement's outcome for `explain`.
        verdict = evaluate(request, policies, explain=True)
        message = denial_message(request, verdict)
        reasons: list[dict[str, Any]] = [{"deniedBy": verdict.denied_by, "denialMessage": message}]
        reasons += [r.to_json() for r in verdict.reasons]
        if verdict.errors:
            reasons.append({"errors": list(verdict.errors)})
        decision = Decision(action, resource, False, _KINDS[verdict.effect], reasons)
        self._encode_for_service(ctx, decision, request, verdict)
        return decision

    # -- session kinds ------------------------------------------------------------------

    def _session_limits(self, ctx: RequestContext, kind: str, action: str, resource: str) -> Decision | None:
        """GetSessionToken credentials call IAM only with MFA, federated users never;
        in STS each may call only a few operations (GetCallerIdentity always)."""
        principal = ctx.principal
        service, _, _ = action.partition(":")
        service = service.lower()
        if service == "iam" and (kind == "GetFederationToken" or not principal.mfa_authenticated):
            decision = Decision(action, resource, False, "implicit_deny", [{
                "reason": f"temporary credentials from {kind} can't call IAM"
                + ("" if kind == "GetFederationToken" else " unless MFA was used to get them"),
            }])
            ctx.decisions.append(decision)
            # What AWS answers: the token is not valid for IAM.
            raise AwsError("The security token included in the request is invalid", code="InvalidClientTokenId",
                           status=403)
        if service == "sts" and action.lower() not in _STS_ALLOWED[kind]:
            message = f"Cannot call {action.partition(':')[2]} with session credentials"
            return Decision(action, resource, False, "implicit_deny", [{
                "reason": f"temporary credentials from {kind} can't call {action}",
                "denialMessage": message,
            }])
        return None

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
        entity = store.get(role_arn or issuer or principal.arn)
        identity: list[tuple[str, Any]] = []
        boundary = None
        if entity is not None:
            entities = [entity]
            if not role_arn:
                entities += repo.groups_of_user(store, principal.account_id, entity["UserName"])
            for item in entities:
                arn = item["Arn"]
                for name, text in repo.inline_policies(store, arn).items():
                    compiled = _compile(text)
                    if compiled is not None:
                        identity.append((f"{arn}:inline/{name}", compiled))
                for policy_arn in repo.attached_policy_arns(store, arn):
                    managed = repo.managed_policy(store, policy_arn)
                    compiled = _compile(managed["Document"]) if managed else None
                    if compiled is not None:
                        identity.append((policy_arn, compiled))
            boundary_arn = repo.permissions_boundary(store, entity["Arn"])  # user's or role's
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
        # Session tags override the entity's tags with the same key, case-insensitively
        # (doc: id_session-tags.html).
        tags = dict(repo.tags(store, entity["Arn"])) if entity is not None and not federated else {}
        for tag_key, value in principal.tags.items():
            for existing in [k for k in tags if k.lower() == tag_key.lower()]:
                del tags[existing]
            tags[tag_key] = value
        if len(self._sets) >= _MAX_CACHED:
            self._sets.clear()  # sessions come and go; keep the cache bounded
        self._sets[key] = (version, result, tags)
        return result, tags

    def _resource_policy(self, document: Any, kind: PolicyKind) -> Any:
        if document is None:
            return None
        text = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
        key = (kind.value, text)
        if key not in self._resource_policies:
            if len(self._resource_policies) >= _MAX_CACHED:
                self._resource_policies.clear()
            self._resource_policies[key] = _compile(text, kind)
        return self._resource_policies[key]

    # -- context ---------------------------------------------------------------------------

    def context(self, ctx: RequestContext, conditions: dict[str, Any], principal_tags: dict[str, str]) -> dict[str, Any]:
        """Global condition keys, then the provider's service keys.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"""
        p = ctx.principal
        session = p.session or {}
        now = ctx.time()
        keys: dict[str, Any] = {
            "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now)),
            "aws:SecureTransport": "true" if ctx.secure_transport else "false",
            "aws:SourceIp": ctx.source_ip,
            "aws:RequestedRegion": ctx.region,
            # a role session's aws:PrincipalArn is the role's ARN, never the session's
            "aws:PrincipalArn": session.get("roleArn") or p.arn,
            "aws:PrincipalAccount": p.account_id,
            "aws:PrincipalType": _PRINCIPAL_TYPES.get(p.type, p.type),
            "aws:PrincipalIsAWSService": "false",
            "aws:userid": p.principal_id,
            "aws:ViaAWSService": "false",
        }
        if p.type == "AWSService":
            # A service acting as itself: no principal ARN or account keys, its name instead
            # (reference_policies_condition-keys.html, aws:PrincipalServiceName).
            for absent in ("aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "aws:userid"):
                del keys[absent]
            keys["aws:PrincipalIsAWSService"] = "true"
            keys["aws:PrincipalServiceName"] = p.arn
        if ctx.called_via:
            # Forward access sessions: the caller's identity, through these services.
            keys["aws:ViaAWSService"] = "true"
            keys["aws:CalledVia"] = list(ctx.called_via)
            keys["aws:CalledViaFirst"] = ctx.called_via[0]
            keys["aws:CalledViaLast"] = ctx.called_via[-1]
        keys.update(ctx.source_keys)
        if p.type == "IAMUser" and p.user_name:
            keys["aws:username"] = p.user_name
        issued = session.get("tokenIssueTime")
        if issued is not None:
            # Only temporary credentials carry the MFA key: "The key is not present when
            # an API or CLI command is called with long-term credentials, such as user
            # access key pairs." (reference_policies_condition-keys.html)
            keys["aws:MultiFactorAuthPresent"] = "true" if p.mfa_authenticated else "false"
            keys["aws:TokenIssueTime"] = datetime.fromtimestamp(issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if p.mfa_authenticated:
                keys["aws:MultiFactorAuthAge"] = str(int(now - issued))
        if session.get("sourceIdentity"):
            keys["aws:SourceIdentity"] = session["sourceIdentity"]
        for tag_key, value in principal_tags.items():
            keys[f"aws:PrincipalTag/{tag_key}"] = value
        keys.update(conditions)
        return keys

    # -- encoded messages -------------------------------------------------------------------

    def _encode_for_service(self, ctx: RequestContext, decision: Decision, request: Request, verdict: Any) -> None:
        from mamori.services.sts import authorization_message as encoded

        if ctx.service not in encoded.ENCODING_SERVICES:
            return
        matched = [
            {"statementId": r.sid or f"#{r.statement_index}", "effect": r.effect.upper(), "policyId": r.policy_id}
            for r in verdict.reasons if r.matched
        ]
        doc = encoded.document(ctx.principal, request.action, request.resource, False,
                               verdict.effect == "ExplicitDeny", matched, dict(request.context))
        blob = encoded.encode(self.runtime.secrets, doc)
        head = decision.reasons[0]
        head["denialMessage"] = (f"You are not authorized to perform this operation. {head['denialMessage']}. "
                                 f"Encoded authorization failure message: {blob}")


def _principal_ids(principal: Principal) -> frozenset[str]:
    """What a Principal element may name to match this caller: its ARN, its account,
    the role or issuer behind a session, unique ids (kept by trust policies whose
    entity was deleted)."""
    ids = {principal.arn, principal.account_id, f"arn:aws:iam::{principal.account_id}:root", principal.principal_id}
    session = principal.session or {}
    for key in ("roleArn", "issuerArn"):
        if session.get(key):
            ids.add(session[key])
    issuer = session.get("sessionIssuer") or {}
    if issuer.get("principalId"):
        ids.add(issuer["principalId"])
    return frozenset(ids)


def _compile(text: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> Any:
    if text is None:
        return None
    try:
        return parse_policy(json.loads(text) if isinstance(text, str) else text, kind)
    except (PolicyError, ValueError):
        return None
