"""The request context a provider receives, and the authorization contract.

A provider method is `(ctx, request) -> response`. Everything it may know about the
call comes from `ctx`: account, region, principal, request id, source ip, the clock,
the stores, the bus. It never sees HTTP.

`ctx.authorize(action, resource, conditions)` is the only way to get a decision. The
pipeline checks that every operation asked for one (fail closed): an operation that
returns without a decision is a bug, an error in strict mode (tests) and a logged error
otherwise. Until the IAM engine lands the decision is: the account's root is allowed
everything in its own account; every other principal is denied.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mamori.errors import AccessDenied

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime


@dataclass(frozen=True)
class Principal:
    """Who made the call, as CloudTrail's `userIdentity` describes it.

    type: Root | IAMUser | AssumedRole | FederatedUser | Anonymous | AWSService
        (a service acting as itself, e.g. EventBridge delivering to an SNS topic;
        its `arn` is the service principal name, "events.amazonaws.com")
    principal_id: account id (Root), AIDA... (IAMUser), AROA...:session (AssumedRole)
    session: for temporary credentials, CloudTrail's `sessionContext` (issuer,
        attributes with creationDate and mfaAuthenticated, sourceIdentity)
    """

    type: str
    account_id: str
    arn: str
    principal_id: str
    user_name: str | None = None
    access_key_id: str | None = None
    session: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    mfa_authenticated: bool = False

    @property
    def is_root(self) -> bool:
        return self.type == "Root"

    @classmethod
    def service(cls, name: str, account_id: str) -> "Principal":
        """A service principal ("events.amazonaws.com") acting in `account_id`: only a
        resource policy naming it can allow what it does."""
        return cls(type="AWSService", account_id=account_id, arn=name, principal_id=name)

    @classmethod
    def root(cls, account_id: str, access_key_id: str | None = None) -> "Principal":
        return cls(
            type="Root",
            account_id=account_id,
            arn=f"arn:aws:iam::{account_id}:root",
            principal_id=account_id,
            access_key_id=access_key_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "accountId": self.account_id,
            "arn": self.arn,
            "principalId": self.principal_id,
            "userName": self.user_name,
            "accessKeyId": self.access_key_id,
            "session": self.session,
            "tags": dict(self.tags),
            "mfaAuthenticated": self.mfa_authenticated,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Principal":
        return cls(
            type=doc["type"],
            account_id=doc["accountId"],
            arn=doc["arn"],
            principal_id=doc["principalId"],
            user_name=doc.get("userName"),
            access_key_id=doc.get("accessKeyId"),
            session=doc.get("session"),
            tags=dict(doc.get("tags") or {}),
            mfa_authenticated=bool(doc.get("mfaAuthenticated")),
        )


@dataclass
class Decision:
    """An authorization answer with its reasons (the IAM engine fills `reasons` with the
    statements that caused it; `mamori explain` renders them)."""

    action: str
    resource: str
    allowed: bool
    kind: str  # "allow" | "explicit_deny" | "implicit_deny" | "not_required"
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "allowed": self.allowed,
            "kind": self.kind,
            "reasons": self.reasons,
        }


@dataclass
class RequestContext:
    runtime: "Runtime"
    request_id: str
    account_id: str
    region: str
    principal: Principal
    service: str  # botocore service name
    operation: str  # AWS operation name, e.g. "GetCallerIdentity"
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    secure_transport: bool = False
    decisions: list[Decision] = field(default_factory=list)
    # Filled by providers for CloudTrail's `resources` and by the recorder.
    resources: list[dict[str, str]] = field(default_factory=list)
    # Service principals this call came through, outermost first: a forward access
    # session (S3 asking KMS for a data key on the caller's behalf) sets
    # aws:CalledVia / aws:ViaAWSService and CloudTrail's `invokedBy`.
    called_via: list[str] = field(default_factory=list)
    # Keys the calling service vouches for: aws:SourceArn, aws:SourceAccount (the
    # confused-deputy guards of resource policies that trust a service principal).
    source_keys: dict[str, str] = field(default_factory=dict)

    # -- time ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def time(self) -> float:
        return self.runtime.clock.time()

    # -- stores ----------------------------------------------------------------------

    @property
    def store(self):
        return self.runtime.store

    @property
    def telemetry(self):
        return self.runtime.telemetry

    # -- authorization -----------------------------------------------------------------

    def authorize(
        self,
        action: str,
        resource: str = "*",
        conditions: dict[str, Any] | None = None,
    ) -> Decision:
        """Ask for the decision on `action` over `resource`; raise AccessDenied if denied.

        `action` is `service:Operation` as IAM spells it; `resource` the ARN (or "*" for
        actions that take no resource); `conditions` the service-specific condition keys.
        """
        decision = self.runtime.authorizer(self, action, resource, conditions or {})
        self.decisions.append(decision)
        if not decision.allowed:
            raise AccessDenied(denial_message(self.principal, decision), decision=decision)
        return decision

    def authorize_pass_role(self, role_arn: str, to_service: str, associated_resource: str | None = None) -> Decision:
        """`iam:PassRole` for a role handed to a service (an instance profile's role for
        EC2, a trail's CloudWatch Logs role, a rule target's role). AWS checks it as part
        of the operation that passes the role; the caller needs it besides the operation.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"""
        keys = {"iam:PassedToService": to_service}
        if associated_resource:
            keys["iam:AssociatedResourceArn"] = associated_resource
        return self.authorize("iam:PassRole", role_arn, keys)

    def no_authorization_required(self, action: str, why: str) -> Decision:
        """For the few operations AWS answers for any authenticated caller (e.g.
        `sts:GetCallerIdentity`). Records that no permission was needed, and why."""
        decision = Decision(action, "*", True, "not_required", [{"reason": why}])
        self.decisions.append(decision)
        return decision

    # -- events ----------------------------------------------------------------------

    def emit(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        resources: list[str] | None = None,
    ) -> None:
        """Publish an AWS service event (EventBridge envelope) on the internal bus."""
        self.runtime.bus.publish(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": detail_type,
                "source": source,
                "account": self.account_id,
                "time": self.runtime.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": list(resources or []),
                "detail": detail,
            }
        )


# Reserved condition keys: how a provider hands the authorizer the resource-based
# policy that applies (bucket policy, key policy, queue policy, role trust policy).
# They never reach the policy engine as condition keys.
RESOURCE_POLICY = "__resource_policy__"  # the document: JSON text or dict (None: the resource has none)
RESOURCE_POLICY_KIND = "__resource_policy_kind__"  # "resource" (default) | "trust"
RESOURCE_POLICY_REQUIRED = "__resource_policy_required__"  # True: must allow by itself (KMS key policies)
RESOURCE_ACCOUNT = "__resource_account__"  # the resource's owner when it is not the caller's account


def with_resource_policy(
    conditions: dict[str, Any] | None,
    policy: Any,
    *,
    kind: str = "resource",
    required: bool = False,
    account: str | None = None,
) -> dict[str, Any]:
    """`conditions` plus the resource policy of the resource being acted on, e.g.
    `ctx.authorize("sqs:SendMessage", queue_arn, with_resource_policy({}, queue_policy))`."""
    out = dict(conditions or {})
    out[RESOURCE_POLICY] = policy
    if kind != "resource":
        out[RESOURCE_POLICY_KIND] = kind
    if required:
        out[RESOURCE_POLICY_REQUIRED] = True
    if account:
        out[RESOURCE_ACCOUNT] = account
    return out


def denial_message(principal: Principal, decision: Decision) -> str:
    """AWS's access-denied text, e.g.

    User: arn:aws:iam::111122223333:user/bob is not authorized to perform:
    cloudtrail:LookupEvents because no identity-based policy allows the
    cloudtrail:LookupEvents action

    (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)
    """
    for reason in decision.reasons:
        if "denialMessage" in reason:  # the IAM engine's own text, per denial variant
            return reason["denialMessage"]
    on = "" if decision.resource in ("*", "") else f" on resource: {decision.resource}"
    head = f"User: {principal.arn} is not authorized to perform: {decision.action}{on}"
    for reason in decision.reasons:
        if "message" in reason:
            return f"{head} {reason['message']}"
    if decision.kind == "explicit_deny":
        return f"{head} with an explicit deny"
    return f"{head} because no identity-based policy allows the {decision.action} action"


def default_authorizer(ctx: RequestContext, action: str, resource: str, conditions: dict[str, Any]) -> Decision:
    """Before the IAM engine: root of the account is allowed in its own account;
    every other principal is implicitly denied."""
    principal = ctx.principal
    if principal.is_root and principal.account_id == ctx.account_id:
        return Decision(action, resource, True, "allow", [{"reason": "account root user"}])
    return Decision(action, resource, False, "implicit_deny", [{"reason": "no policy engine yet"}])
