"""The decision: `evaluate(request, policies) -> Decision` and AWS's denial text.

(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
 .../reference_policies_evaluation-logic-cross-account.html,
 .../reference_policies_evaluation-logic_policy-eval-denyallow.html)

A pure function of (Request, PolicySet). Like Cedar's authorizer it answers a decision
plus the statements that caused it plus any errors:

1. Every applicable policy is scanned once, in the order RCPs, SCPs, resource policy,
   identity policies, permissions boundary, session policies. A matching `Deny` anywhere
   is final (`ExplicitDeny`); without `explain` the scan stops there.
2. RCPs / SCPs: each level on the root -> OU -> account path must have an `Allow`.
3. Resource policy: the *kind* of principal an allowing statement named matters in the
   same account (aws-semantics.md §1A item 5):
   - `exact` (user ARN, role-session ARN, federated-user ARN, `*`) -> final Allow, the
     implicit denies of identity policies, boundary and session policies are ignored;
   - `role` (the role ARN for a role session, or the IAM user for its
     GetFederationToken session) -> identity policy not needed, boundary and session
     policy still apply;
   - `account` (`"AWS": "111122223333"`) -> only delegates: an identity allow is needed.
   KMS key policies and role trust policies (`resource_is_required`) must allow in any
   case; cross-account requests need both the resource side and the principal side.
4. Identity policies (root of the principal's account: allowed), boundary, session.

Errors (a request value a condition operator can't read) are collected and make the
decision a deny (never default to allow, §1A item 11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from mamori.policy.conditions import ConditionTypeError, ContextView
from mamori.policy.document import Policy, PolicyKind, PrincipalSet, Statement
from mamori.policy.variables import Template
from mamori.policy.wildcards import ResourceGlob

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Request:
    """What is being decided. `context` keys are condition keys in any case;
    `principal_ids` are the identities a Principal element can match (user ARN, role ARN
    and session ARN, account root ARN, service principal, federated provider, unique
    ids); `principal_arn` is always one of them."""

    principal_arn: str
    principal_account: str
    principal_type: str  # Root | IAMUser | AssumedRole | FederatedUser | Anonymous | AWSService
    action: str
    resource: str = "*"
    resource_account: str | None = None  # None: same account as the principal
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PolicySet:
    """Everything that applies to one request."""

    identity: Sequence[tuple[str, Policy]] = ()
    boundary: tuple[str, Policy] | None = None
    session: Sequence[tuple[str, Policy]] = ()
    session_kind: str | None = None  # None | "role" | "federated"
    resource: tuple[str, Policy] | None = None
    resource_is_required: bool = False  # KMS key policies, role trust policies
    scps: Sequence[Sequence[tuple[str, Policy]]] = ()
    rcps: Sequence[Sequence[tuple[str, Policy]]] = ()


@dataclass
class Reason:
    """One statement's part in a decision. `matched` statements applied to the request;
    for relevant non-matching ones (`explain=True`), `failed` names the element that did
    not match and `condition` the failing condition (operator, key, expected, actual)."""

    policy_id: str
    policy_kind: str
    statement_index: int
    sid: str | None
    effect: str
    matched: bool = True
    deciding: bool = False
    failed: str | None = None  # "Resource" | "Principal" | "Condition" | "Error"
    condition: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"#{self.statement_index}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policyId": self.policy_id,
            "policyKind": self.policy_kind,
            "statement": self.statement_index,
            "sid": self.sid,
            "effect": self.effect,
            "matched": self.matched,
            "deciding": self.deciding,
        }
        if self.failed:
            out["failed"] = self.failed
        if self.condition:
            out["condition"] = self.condition
        return out


@dataclass
class Decision:
    effect: str  # "Allow" | "ExplicitDeny" | "ImplicitDeny"
    reasons: list[Reason] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    denied_by: str | None = None  # explicit | scp | rcp | identity | boundary | session | resource | error
    resource_kind: str | None = None  # "resource" | "trust": which resource policy the request met

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"

    def deciding(self) -> list[Reason]:
        return [r for r in self.reasons if r.deciding]

    def to_json(self) -> dict[str, Any]:
        return {
            "effect": self.effect,
            "deniedBy": self.denied_by,
            "reasons": [r.to_json() for r in self.reasons],
            "errors": list(self.errors),
        }


ROOT_REASON_ID = "(account root user)"

# strength of a resource-policy grant, by the kind of principal it named
_EXACT, _ROLE, _ACCOUNT = 3, 2, 1


class _Scan:
    """Per-decision scratch state: the request, matched statements, errors."""

    __slots__ = (
        "req", "action_l", "ctx", "explain", "has_boundary", "errors", "reasons",
        "deny", "account_root", "ids",
    )  # fmt: skip

    def __init__(self, req: Request, explain: bool, has_boundary: bool) -> None:
        self.req = req
        self.action_l = req.action.lower()
        self.ctx = ContextView(req.context or _EMPTY)
        self.explain = explain
        self.has_boundary = has_boundary
        self.errors: list[str] = []
        self.reasons: list[Reason] = []
        self.deny: tuple[str, str, Statement] | None = None
        self.account_root: str | None = None
        self.ids: frozenset[str] | None = None

    # -- one policy ---------------------------------------------------------------------

    def scan(self, pid: str, policy: Policy, kind: str, allows: list, principals: bool = False) -> int:
        """Scan one policy; append allowing statements to `allows`; return the strongest
        principal class among them (resource policies) or 1 when something allowed."""
        exact, by_service, wild = policy.candidates(self.action_l)
        best = 0
        for group, action_known in ((exact, True), (by_service, False), (wild, False)):
            for st in group:
                if not action_known and not self._action(st):
                    continue
                strength = self._applies(pid, kind, st, principals)
                if not strength:
                    continue
                if st.allow:
                    allows.append((pid, kind, st, strength))
                    if self.explain:
                        self.reasons.append(Reason(pid, kind, st.index, st.sid, st.effect))
                    if strength > best:
                        best = strength
                else:
                    if self.deny is None:
                        self.deny = (pid, kind, st)
                    if self.explain:
                        self.reasons.append(Reason(pid, kind, st.index, st.sid, st.effect))
                    else:
                        return best
        return best

    def _action(self, st: Statement) -> bool:
        a = self.action_l
        hit = False
        for g in st.actions:
            if g.match(a):
                hit = True
                break
        return hit != st.not_action

    def _applies(self, pid: str, kind: str, st: Statement, principals: bool) -> int:
        """0 when the statement does not apply; otherwise its principal class (3 when
        the policy kind has no Principal element)."""
        strength = _EXACT
        if st.has_resource and not st.resource_any and not self._resource(st):
            return self._miss(pid, kind, st, "Resource")
        if principals and st.principal is not None:
            strength = self._principal(st)
            if not strength:
                return self._miss(pid, kind, st, "Principal")
        if st.conditions:
            ctx = self.ctx
            for cond in st.conditions:
                try:
                    ok = cond.test(ctx)
                except ConditionTypeError as exc:
                    self.errors.append(f"{pid} {st.label}: {cond.operator} {cond.key}: {exc}")
                    return self._miss(pid, kind, st, "Error", cond)
                if not ok:
                    return self._miss(pid, kind, st, "Condition", cond)
        return strength

    def _miss(self, pid: str, kind: str, st: Statement, element: str, cond: Any = None) -> int:
        if self.explain:
            detail = None
            if cond is not None:
                detail = cond.describe()
                detail["actual"] = self.ctx.get(cond.key_lower)
            self.reasons.append(Reason(pid, kind, st.index, st.sid, st.effect, False, False, element, detail))
        return 0

    def _resource(self, st: Statement) -> bool:
        resource = self.req.resource
        hit = False
        for r in st.resources:
            if type(r) is Template:
                tokens = r.render(self.ctx.get)
                # an unresolvable variable makes the entry match nothing (doc: reference_policies_variables.html)
                m = tokens is not None and ResourceGlob(tokens).match(resource)
            else:
                m = r.match(resource)
            if m:
                hit = True
                break
        return hit != st.not_resource

    # -- principals --------------------------------------------------------------------

    def _principal_ids(self) -> frozenset[str]:
        if self.ids is None:
            req = self.req
            self.account_root = f"arn:aws:iam::{req.principal_account}:root"
            self.ids = req.principal_ids | {req.principal_arn}
        return self.ids

    def _classify(self, pset: PrincipalSet) -> int:
        req = self.req
        ptype = req.principal_type
        if pset.any:
            return _EXACT
        ids = self._principal_ids()
        best = 0
        for v in pset.aws:
            if v == self.account_root:
                if ptype == "Root":
                    return _EXACT
                if ptype not in ("Anonymous", "AWSService"):
                    best = max(best, _ACCOUNT)
            elif v in ids:
                if ptype == "AssumedRole" and ":role/" in v:
                    best = max(best, _ROLE)
                elif ptype == "FederatedUser" and ":user/" in v:
                    best = max(best, _ROLE)
                else:
                    return _EXACT
        if pset.service or pset.federated or pset.canonical:
            if not ids.isdisjoint(pset.service | pset.federated | pset.canonical):
                return _EXACT
        return best

    def _principal(self, st: Statement) -> int:
        pset = st.principal
        assert pset is not None
        if not st.not_principal:
            return self._classify(pset)
        # NotPrincipal: AWS checks the account, then the role, then the session, so a
        # principal is exempt only when every link of its chain is listed; with Deny it
        # always applies to principals that have a permissions boundary
        # (doc: reference_policies_elements_notprincipal.html).
        if not st.allow and self.has_boundary:
            return _EXACT
        if pset.any:
            return 0
        req = self.req
        self._principal_ids()
        listed = pset.all_values()
        if req.principal_type in ("Anonymous", "AWSService"):
            return 0 if req.principal_arn in listed else _EXACT
        chain = [self.account_root, req.principal_arn]
        if req.principal_type == "AssumedRole":
            chain.extend(i for i in req.principal_ids if ":role/" in i)
        for link in chain:
            if link not in listed:
                return _EXACT
        return 0


def evaluate(request: Request, policies: PolicySet, *, explain: bool = False) -> Decision:
    """Decide `request` under `policies`; see the module docstring for the order."""
    scan = _Scan(request, explain, policies.boundary is not None)

    def explicit_deny() -> Decision:
        pid, kind, st = scan.deny  # type: ignore[misc]
        reasons = scan.reasons if explain else []
        deciding = Reason(pid, kind, st.index, st.sid, st.effect, True, True)
        for r in reasons:
            if r.matched and r.policy_id == pid and r.statement_index == st.index and r.policy_kind == kind:
                r.deciding = True
                break
        else:
            reasons.append(deciding)
        return Decision("ExplicitDeny", reasons, scan.errors, "explicit")

    # 1. scan everything (deny sweep), collecting allows per stage
    rcp_allows: list = []
    rcp_ok = True
    for level in policies.rcps:
        level_ok = False
        for pid, pol in level:
            level_ok = bool(scan.scan(pid, pol, "rcp", rcp_allows, principals=True)) or level_ok
            if scan.deny and not explain:
                return explicit_deny()
        rcp_ok = rcp_ok and level_ok
    scp_allows: list = []
    scp_ok = True
    for level in policies.scps:
        level_ok = False
        for pid, pol in level:
            level_ok = bool(scan.scan(pid, pol, "scp", scp_allows)) or level_ok
            if scan.deny and not explain:
                return explicit_deny()
        scp_ok = scp_ok and level_ok
    res_allows: list = []
    res_class = 0
    res_kind = "resource"
    if policies.resource is not None:
        pid, pol = policies.resource
        res_kind = pol.kind.value if pol.kind in (PolicyKind.TRUST,) else "resource"
        res_class = scan.scan(pid, pol, res_kind, res_allows, principals=True)
        if scan.deny and not explain:
            return explicit_deny()
    id_allows: list = []
    for pid, pol in policies.identity:
        scan.scan(pid, pol, "identity", id_allows)
        if scan.deny and not explain:
            return explicit_deny()
    b_allows: list = []
    if policies.boundary is not None:
        pid, pol = policies.boundary
        scan.scan(pid, pol, "boundary", b_allows)
        if scan.deny and not explain:
            return explicit_deny()
    s_allows: list = []
    for pid, pol in policies.session:
        scan.scan(pid, pol, "session", s_allows)
        if scan.deny and not explain:
            return explicit_deny()
    if scan.deny:
        return explicit_deny()

    # 2. combine the stages
    req = request
    ptype = req.principal_type
    same_account = req.resource_account is None or req.resource_account == req.principal_account
    used: list[list] = [rcp_allows, scp_allows]

    def deny(stage: str) -> Decision:
        # an evaluation error anywhere fails the request (aws-semantics.md §1A item 11)
        stage = "error" if scan.errors else stage
        return Decision("ImplicitDeny", scan.reasons if explain else [], scan.errors, stage, res_kind)

    def strongest(allows: list) -> list:
        # the grant came from the statements naming the principal most directly
        return [a for a in allows if a[3] == res_class]

    if not rcp_ok:
        return deny("rcp")
    if not scp_ok:
        return deny("scp")

    if ptype in ("Anonymous", "AWSService"):
        # no identity side: only a resource policy naming them (or `*`) can allow
        if res_class < _EXACT:
            return deny("resource")
        used.append(strongest(res_allows))
        return _allow(scan, used, explain)

    identity_ok = ptype == "Root" or bool(id_allows)
    boundary_ok = ptype == "Root" or policies.boundary is None or bool(b_allows)
    if ptype == "Root" or policies.session_kind is None:
        session_ok = True
    elif policies.session:
        session_ok = bool(s_allows)
    else:
        # a role session without session policy keeps the role's permissions; a
        # GetFederationToken session without one has none (doc: id_credentials_temp_request.html)
        session_ok = policies.session_kind != "federated"

    def principal_side(need_identity: bool) -> Decision | None:
        if need_identity:
            if not identity_ok:
                return deny("identity")
            used.append(id_allows if ptype != "Root" else [(ROOT_REASON_ID, "identity", None, 0)])
        if not boundary_ok:
            return deny("boundary")
        if not session_ok:
            return deny("session")
        used.append(b_allows)
        used.append(s_allows)
        return None

    if not same_account:
        # cross-account: the principal's account and the resource's account must both allow
        failed = principal_side(True)
        if failed:
            return failed
        if not res_class:
            return deny("resource")
        used.append(res_allows)
        return _allow(scan, used, explain)

    if policies.resource_is_required and not res_class:
        return deny("resource")
    if res_class == _EXACT:
        used.append(strongest(res_allows))
        return _allow(scan, used, explain)
    if res_class == _ROLE:
        failed = principal_side(False)
        if failed:
            return failed
        used.append(strongest(res_allows))
        return _allow(scan, used, explain)
    failed = principal_side(True)
    if failed:
        return failed
    if policies.resource_is_required:
        used.append(res_allows)
    return _allow(scan, used, explain)


def _allow(scan: _Scan, used: list[list], explain: bool) -> Decision:
    if scan.errors:
        return Decision("ImplicitDeny", scan.reasons if explain else [], scan.errors, "error")
    if not explain:
        deciding = [
            Reason(pid, kind, -1, None, "Allow", True, True)
            if st is None
            else Reason(pid, kind, st.index, st.sid, st.effect, True, True)
            for stage in used
            for pid, kind, st, _ in stage
        ]
        return Decision("Allow", deciding, [], None)
    # explain: every recorded statement, the ones that formed the grant flagged
    keys = {(pid, kind, st.index if st is not None else -1) for stage in used for pid, kind, st, _ in stage}
    for r in scan.reasons:
        if r.matched and (r.policy_id, r.policy_kind, r.statement_index) in keys:
            r.deciding = True
    if (ROOT_REASON_ID, "identity", -1) in keys:
        scan.reasons.append(Reason(ROOT_REASON_ID, "identity", -1, None, "Allow", True, True))
    return Decision("Allow", scan.reasons, [], None)


# --- AWS's access-denied text ------------------------------------------------------------

_TYPE_NAMES = {
    "identity": "identity-based",
    "resource": "resource-based",
    "trust": "role trust",
    "boundary": "permissions boundary",
    "session": "session",
    "scp": "service control",
    "rcp": "resource control",
}


def denial_message(request: Request, decision: Decision) -> str:
    """`User: ARN is not authorized to perform: ACTION on resource: RES because ...`
    (doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
    Only one policy type is named even when several denied."""
    on = "" if request.resource in ("*", "") else f" on resource: {request.resource}"
    head = f"User: {request.principal_arn} is not authorized to perform: {request.action}{on}"
    by = decision.denied_by
    action = request.action
    if by == "explicit":
        kind = next((r.policy_kind for r in decision.reasons if r.deciding and r.effect == "Deny"), "identity")
        if kind == "boundary":
            return f"{head} with an explicit deny in a permissions boundary"
        name = _TYPE_NAMES.get(kind, kind)
        article = "an" if name[0] in "aeiou" else "a"
        return f"{head} with an explicit deny in {article} {name} policy"
    if by == "scp":
        # AWS names SCP denials "explicit" even when no SCP allowed (implicit deny)
        return f"{head} with an explicit deny in a service control policy"
    if by == "rcp":
        return f"{head} with an explicit deny in a resource control policy"
    if by == "identity":
        return f"{head} because no identity-based policy allows the {action} action"
    if by == "boundary":
        return f"{head} because no permissions boundary allows the {action} action"
    if by == "session":
        return f"{head} because no session policy allows the {action} action"
    if by == "resource":
        if decision.resource_kind == "trust":
            # STS answers trust-policy denials without a reason clause
            # ("... is not authorized to perform: sts:AssumeRole on resource: ROLE")
            return head
        return f"{head} because no resource-based policy allows the {action} action"
    return head


__all__ = ["Decision", "PolicySet", "Reason", "Request", "denial_message", "evaluate"]
