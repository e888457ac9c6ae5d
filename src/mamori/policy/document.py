"""Policy documents: parse and validate JSON policy text into compiled `Policy` objects.

- `PolicyKind`: which kind of policy the text is (identity, resource, trust, boundary,
  session, scp, rcp); the kind decides which elements are required or forbidden.
- `parse_policy(text_or_obj, kind)` -> `Policy`, or raises `PolicyError` with AWS's
  `MalformedPolicyDocument` message. AWS publishes no catalogue of these messages; the
  texts come from real error output (see aws-semantics.md §1B/§1F).
- `Policy` holds `Statement`s compiled once: action globs (lowercased; actions are
  case-insensitive), resource matchers (case-sensitive), principal sets, conditions.
  Statements are indexed by exact lowercased action so the evaluator only looks at the
  statements that can apply; statements with wildcard actions or `NotAction` sit in a
  separate list that is always scanned.
- Sizes: `policy_size` counts characters excluding whitespace, the way IAM's quotas do
  (doc: reference_iam-quotas.html); `SIZE_QUOTAS` lists them. The services apply them,
  since the limit is often an aggregate (all inline policies of a user).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mamori.policy.conditions import BadConditionValue, Condition, compile_condition
from mamori.policy.variables import parse_template
from mamori.policy.wildcards import Glob, ResourceGlob


class PolicyKind(str, enum.Enum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"


class PolicyError(Exception):
    """A policy document AWS would refuse. `code` is the AWS error code (IAM's
    `MalformedPolicyDocument` unless said otherwise); the services map it to their own
    (S3 `MalformedPolicy`, KMS `MalformedPolicyDocumentException`)."""

    def __init__(self, message: str, code: str = "MalformedPolicyDocument") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PolicyTooLarge(PolicyError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="LimitExceeded")


# Characters excluding whitespace (doc: reference_iam-quotas.html, "IAM and STS
# character limits"). Inline limits are per entity, for all its inline policies together.
SIZE_QUOTAS = {
    "user_inline": 2048,
    "group_inline": 5120,
    "role_inline": 10240,
    "managed": 6144,
    "trust": 2048,  # AssumeRolePolicySizeQuota default (adjustable)
    "session": 2048,  # plaintext inline session policy
    "kms_key": 32768,  # bytes, KMS key policy
}

_WS = re.compile(r"\s+")


def policy_size(text: str) -> int:
    """Size as IAM counts it: characters excluding whitespace."""
    return len(_WS.sub("", text))


def check_size(text: str, quota: int, message: str) -> None:
    if policy_size(text) > quota:
        raise PolicyTooLarge(message)


# --- messages ---------------------------------------------------------------------------

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"
VERSION = "Policy document must be version 2012-10-17 or greater."
SID_UNIQUE = "Statement IDs (SID) in a single policy must be unique."
SID_CHARS = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
NO_PRINCIPAL = "Missing required field Principal"
HAS_PRINCIPAL = "Policy document should not specify a principal."
VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
RESOURCE_VENDOR = "Resource vendor must be fully qualified and cannot contain regexes."

_IDENTITY_KINDS = {PolicyKind.IDENTITY, PolicyKind.BOUNDARY}
_PRINCIPAL_REQUIRED = {PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP}
_IAM_SID_KINDS = {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.TRUST, PolicyKind.SESSION}
_STATEMENT_KEYS = {
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
}  # fmt: skip
_TOP_KEYS = {"Version", "Id", "Statement"}
_SID_RE = re.compile(r"^[0-9A-Za-z]*$")
_VENDOR_RE = re.compile(r"^[a-zA-Z0-9\-.]+$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_PARTITIONS = ("aws",)


# --- compiled objects ---------------------------------------------------------------------


@dataclass
class PrincipalSet:
    """A `Principal` / `NotPrincipal` element. `any` for `"*"` / `{"AWS": "*"}`; the rest
    are exact strings per type (`AWS` values normalized: a bare account id becomes the
    account's root ARN, since both mean "the account")."""

    any: bool = False
    aws: frozenset[str] = frozenset()
    service: frozenset[str] = frozenset()
    federated: frozenset[str] = frozenset()
    canonical: frozenset[str] = frozenset()
    raw: Any = None

    def all_values(self) -> frozenset[str]:
        return self.aws | self.service | self.federated | self.canonical


@dataclass
class Statement:
    index: int
    sid: str | None
    effect: str  # "Allow" | "Deny"
    allow: bool
    actions: tuple[Glob, ...]
    not_action: bool
    resources: tuple  # ResourceGlob or Template (when variables are present)
    resource_any: bool  # Resource "*" (fast path)
    not_resource: bool
    has_resource: bool  # trust policies may omit Resource
    principal: PrincipalSet | None
    not_principal: bool
    conditions: tuple[Condition, ...]
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"#{self.index}"


@dataclass
class Policy:
    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    by_action: dict[str, tuple[Statement, ...]]  # exact lowercased action -> statements
    wild_by_service: dict[str, tuple[Statement, ...]]  # `s3:Get*` -> under "s3"
    wild: tuple[Statement, ...]  # `*`, NotAction: candidates for every action
    document: dict = field(repr=False, default_factory=dict)

    def candidates(self, action_lower: str) -> tuple[tuple[Statement, ...], ...]:
        """The statements that may apply to an action: exact hits (action already
        known to match), then wildcard statements of its service, then the rest."""
        service = action_lower.partition(":")[0]
        return self.by_action.get(action_lower, ()), self.wild_by_service.get(service, ()), self.wild


# --- parsing ------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            # "a key must not repeat inside one statement" (doc: reference_policies_grammar.html)
            raise PolicyError(SYNTAX)
        out[k] = v
    return out


def _check_chars(text: str) -> None:
    # Only TAB, LF, CR and U+0020..U+00FF (doc: reference_iam-quotas.html); the API
    # models enforce this as a pattern, so AWS answers it as a validation error.
    for ch in text:
        o = ord(ch)
        if not (o == 9 or o == 10 or o == 13 or 0x20 <= o <= 0xFF):
            raise PolicyError(
                "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
                code="ValidationError",
            )


def _strings(value: Any, *, empty_message: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if not value:
            raise PolicyError(empty_message)
        if not all(isinstance(v, str) for v in value):
            raise PolicyError(SYNTAX)
        return value
    raise PolicyError(SYNTAX)


def parse_policy(text_or_obj: Any, kind: PolicyKind | str) -> Policy:
    """Parse and validate a policy; raise `PolicyError` as AWS would."""
    kind = PolicyKind(kind)
    if isinstance(text_or_obj, (bytes, bytearray)):
        text_or_obj = bytes(text_or_obj).decode("utf-8", "replace")
    if isinstance(text_or_obj, str):
        _check_chars(text_or_obj)
        try:
            doc = json.loads(text_or_obj, object_pairs_hook=_no_duplicate_keys)
        except PolicyError:
            raise
        except (ValueError, RecursionError):
            raise PolicyError(SYNTAX) from None
    else:
        doc = text_or_obj
    if not isinstance(doc, dict):
        raise PolicyError(SYNTAX)
    if any(k not in _TOP_KEYS for k in doc):
        raise PolicyError(SYNTAX)
    version = doc.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(VERSION if kind in _IDENTITY_KINDS else LEGACY)
    if kind in _IDENTITY_KINDS and version != "2012-10-17":
        raise PolicyError(VERSION)
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise PolicyError(SYNTAX)
    raw_statements = doc.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyError(SYNTAX)
    # Policy variables are literal text unless Version is 2012-10-17 (doc: reference_policies_variables.html)
    variables = version == "2012-10-17"
    statements = tuple(_parse_statement(i, s, kind, variables) for i, s in enumerate(raw_statements))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise PolicyError(SID_UNIQUE)
    by_action: dict[str, list[Statement]] = {}
    by_service: dict[str, list[Statement]] = {}
    wild: list[Statement] = []
    for st in statements:
        if st.not_action or any(g.has_wildcard for g in st.actions):
            vendors = [g.text.lower().partition(":") for g in st.actions]
            if st.not_action or any(not sep or "*" in v or "?" in v for v, sep, _ in vendors):
                wild.append(st)
            else:
                for v in dict.fromkeys(v for v, _, _ in vendors):
                    by_service.setdefault(v, []).append(st)
            continue
        for g in st.actions:
            bucket = by_action.setdefault(g.literal, [])
            if not bucket or bucket[-1] is not st:
                bucket.append(st)
    return Policy(
        kind=kind,
        version=version,
        id=doc.get("Id"),
        statements=statements,
        by_action={k: tuple(v) for k, v in by_action.items()},
        wild_by_service={k: tuple(v) for k, v in by_service.items()},
        wild=tuple(wild),
        document=doc,
    )


def _parse_statement(index: int, raw: Any, kind: PolicyKind, variables: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(SYNTAX)
    if any(k not in _STATEMENT_KEYS for k in raw):
        raise PolicyError(SYNTAX)
    if ("Action" in raw and "NotAction" in raw) or ("Resource" in raw and "NotResource" in raw):
        raise PolicyError(SYNTAX)
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(SYNTAX)
    effect = raw.get("Effect")
    # case-sensitive: "allow" is refused (aws-semantics.md §1B item 16)
    if effect not in ("Allow", "Deny"):
        raise PolicyError(SYNTAX)
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise PolicyError(SYNTAX)
        if kind in _IAM_SID_KINDS and not _SID_RE.match(sid):
            raise PolicyError(SID_CHARS)

    # principals
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if has_principal and kind not in _PRINCIPAL_REQUIRED:
        raise PolicyError(HAS_PRINCIPAL)
    if not has_principal and kind in _PRINCIPAL_REQUIRED:
        raise PolicyError(NO_PRINCIPAL)
    if "NotPrincipal" in raw and kind in (PolicyKind.TRUST, PolicyKind.RCP):
        # not allowed in role trust policies, SCPs or RCPs (doc: reference_policies_elements_notprincipal.html)
        raise PolicyError(SYNTAX)
    principal = None
    if has_principal:
        principal = _parse_principal(raw.get("Principal", raw.get("NotPrincipal")), kind)

    # actions
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError(NO_ACTIONS)
    not_action = "NotAction" in raw
    actions = _strings(raw["NotAction" if not_action else "Action"], empty_message=NO_ACTIONS)
    for a in actions:
        _check_action(a)
    action_globs = tuple(Glob.parse(a, ignore_case=True) for a in actions)

    # resources
    has_resource = "Resource" in raw or "NotResource" in raw
    if not has_resource and kind != PolicyKind.TRUST:
        raise PolicyError(NO_RESOURCES)
    not_resource = "NotResource" in raw
    resources: tuple = ()
    resource_any = False
    if has_resource:
        texts = _strings(raw["NotResource" if not_resource else "Resource"], empty_message=NO_RESOURCES)
        compiled = []
        for r in texts:
            _check_resource(r)
            t = parse_template(r, variables=variables, wildcards=True)
            if t.has_vars:
                compiled.append(t)
            else:
                g = ResourceGlob(t.tokens)
                if g.whole.kind == "any":
                    resource_any = True
                compiled.append(g)
        resources = tuple(compiled)
        resource_any = resource_any and not not_resource

    # conditions
    conditions: list[Condition] = []
    if "Condition" in raw:
        block = raw["Condition"]
        if not isinstance(block, dict):
            raise PolicyError(SYNTAX)
        for op_text, entries in block.items():
            if not isinstance(entries, dict):
                raise PolicyError(SYNTAX)
            for key, values in entries.items():
                if ":" not in key:
                    raise PolicyError(VENDOR)
                if not isinstance(values, list):
                    values = [values]
                try:
                    conditions.append(compile_condition(op_text, key, values, variables=variables))
                except (KeyError, BadConditionValue):
                    raise PolicyError(SYNTAX) from None

    return Statement(
        index=index,
        sid=sid or None,
        effect=effect,
        allow=effect == "Allow",
        actions=action_globs,
        not_action=not_action,
        resources=resources,
        resource_any=resource_any,
        not_resource=not_resource,
        has_resource=has_resource,
        principal=principal,
        not_principal="NotPrincipal" in raw,
        conditions=tuple(conditions),
        raw=raw,
    )


def _check_action(action: str) -> None:
    if action == "*":
        return
    parts = action.split(":")
    if len(parts) == 1:
        raise PolicyError(VENDOR)
    if len(parts) > 2:
        raise PolicyError(ONE_COLON)
    if not _VENDOR_RE.match(parts[0]):
        raise PolicyError(f"Vendor {parts[0]} is not valid")


def _check_resource(resource: str) -> None:
    if resource == "*":
        return
    parts = resource.split(":")
    if len(parts) < 2 or parts[0] != "arn":
        raise PolicyError(f'Resource {resource} must be in ARN format or "*".')
    partition = parts[1]
    if partition not in _PARTITIONS:
        rest = parts[2:]
        fill = [rest[0] if rest and rest[0] else "*"]
        fill.append(rest[1] if len(rest) > 1 else "*")
        fill.append(rest[2] if len(rest) > 2 else "*")
        fill.append(":".join(rest[3:]) if len(rest) > 3 else "*")
        raise PolicyError(f'Partition "{partition}" is not valid for resource "arn:{partition}:{":".join(fill)}".')
    if len(parts) < 3 or not parts[2] or "*" in parts[2] or "?" in parts[2]:
        raise PolicyError(RESOURCE_VENDOR)
    if len(parts) >= 4 and parts[3]:
        if parts[2] == "iam":
            raise PolicyError(f"IAM resource {resource} cannot contain region information.")
        if parts[2] == "s3":
            raise PolicyError(f"Resource {resource} can not contain region information.")


def _parse_principal(value: Any, kind: PolicyKind) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(any=True, raw=value)
    if not isinstance(value, dict) or not value:
        raise PolicyError(SYNTAX)
    sets: dict[str, set[str]] = {"AWS": set(), "Service": set(), "Federated": set(), "CanonicalUser": set()}
    any_ = False
    for ptype, pvals in value.items():
        if ptype not in sets:
            raise PolicyError(SYNTAX)
        vals = _strings(pvals, empty_message=SYNTAX)
        for v in vals:
            if ptype == "AWS":
                if v == "*":
                    any_ = True
                    continue
                if _ACCOUNT_RE.match(v):
                    v = f"arn:aws:iam::{v}:root"
                elif "*" in v or "?" in v or not (v.startswith("arn:") or _is_unique_id(v)):
                    # partial wildcards are refused (doc: reference_policies_elements_principal.html)
                    raise PolicyError(f'Invalid principal in policy: "AWS":"{v}"')
            elif "*" in v and not (ptype == "CanonicalUser" or v == "*"):
                raise PolicyError(f'Invalid principal in policy: "{ptype}":"{v}"')
            sets[ptype].add(v)
    return PrincipalSet(
        any=any_,
        aws=frozenset(sets["AWS"]),
        service=frozenset(sets["Service"]),
        federated=frozenset(sets["Federated"]),
        canonical=frozenset(sets["CanonicalUser"]),
        raw=value,
    )


def _is_unique_id(v: str) -> bool:
    # A trust policy whose user/role was deleted shows the bare unique id (AIDA..., AROA...)
    return len(v) >= 16 and v[:4] in ("AIDA", "AROA") and v.isalnum()


__all__ = [
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyTooLarge",
    "PrincipalSet",
    "SIZE_QUOTAS",
    "Statement",
    "check_size",
    "parse_policy",
    "policy_size",
]
