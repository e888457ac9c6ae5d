"""The `Condition` element: an operator table plus the three wrappers.

(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
 https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html)

- `OPERATORS` maps a base operator name to an `Operator`: its family, whether it is
  negated, how a policy value is compiled and how one request value is compared.
- `compile_condition(operator_text, key, values, variables)` wraps a base operator with
  `...IfExists`, `ForAllValues:` / `ForAnyValue:` and returns a `Condition`.
- `Condition.test(ctx)` answers True/False for a `ContextView` (keys case-insensitive).

Logic: several values for one key are OR'ed; for a negated operator (StringNotEquals,
NotIpAddress, ...) the request value must match none of them (NOR). A key absent from
the request makes positive operators false and negated ones true, `...IfExists` true,
`ForAllValues` true and `ForAnyValue` false. An empty string or empty list counts as
absent (doc: "an empty string is treated as null").

Request values that can't be read as the operator's type (a service sending "abc" for a
numeric key) raise `ConditionTypeError`; the evaluator turns that into an error on the
decision, which then cannot be Allow (fail closed, §1A item 11).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from mamori.policy.variables import Template, parse_template, template_text
from mamori.policy.wildcards import ArnGlob, Glob


class ConditionTypeError(Exception):
    """A request value that the operator can't compare (evaluation error)."""


class BadConditionValue(ValueError):
    """A policy value the operator can't read (validation error at parse time)."""


class ContextView:
    """Request context with case-insensitive keys, lowercased lazily on first use so a
    decision that never reaches a condition pays nothing."""

    __slots__ = ("_raw", "_lower")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._lower: dict[str, Any] | None = None

    def get(self, key_lower: str) -> Any:
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): v for k, v in self._raw.items()}
        return lower.get(key_lower)


# --- request value readers (one per family) -------------------------------------------


def _as_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def _as_number(v: Any) -> float:
    if isinstance(v, bool):
        raise ConditionTypeError(f"not a number: {v!r}")
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        raise ConditionTypeError(f"not a number: {v!r}") from None


def parse_date(text: str) -> float:
    """W3C ISO-8601 (`2020-01-01`, `2020-01-01T00:00:01Z`, with offset or fraction) or
    epoch seconds -> epoch seconds."""
    s = text.strip()
    if not s:
        raise ValueError("empty date")
    if s.lstrip("-").replace(".", "", 1).isdigit():
        return float(s)
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _as_date(v: Any) -> float:
    if isinstance(v, bool):
        raise ConditionTypeError(f"not a date: {v!r}")
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return v.timestamp()
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return parse_date(str(v))
    except ValueError:
        raise ConditionTypeError(f"not a date: {v!r}") from None


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    try:
        return base64.b64decode(str(v), validate=True)
    except (binascii.Error, ValueError):
        raise ConditionTypeError(f"not base64: {v!r}") from None


def _as_ip(v: Any):
    try:
        return ipaddress.ip_address(str(v).strip())
    except ValueError:
        raise ConditionTypeError(f"not an IP address: {v!r}") from None


# --- policy value compilers and comparisons -------------------------------------------
#
# A compiled policy value is either a constant (no variables) or a Template rendered per
# request; `_resolve` hides that difference and returns None for "unresolvable variable".


@dataclass(frozen=True)
class Operator:
    name: str
    family: str  # string | numeric | date | bool | binary | ip | arn | null
    negated: bool
    variables: bool  # policy variables are substituted in values
    compile: Callable[[str, bool], Any]  # (policy text, variables enabled) -> compiled
    compare: Callable[[Any, Any], bool]  # (compiled-and-resolved policy value, request value)
    read: Callable[[Any], Any]  # request value -> comparable


class _Dyn:
    """A policy value with variables: rendered per request by `make`."""

    __slots__ = ("template", "make")

    def __init__(self, template: Template, make: Callable[[list], Any]) -> None:
        self.template = template
        self.make = make


def _resolve(compiled: Any, lookup: Callable[[str], Any]) -> Any:
    if type(compiled) is _Dyn:
        tokens = compiled.template.render(lookup)
        return None if tokens is None else compiled.make(tokens)
    return compiled


def _c_equals(text: str, variables: bool) -> Any:
    t = parse_template(text, variables=variables, wildcards=False)
    if t.has_vars:
        return _Dyn(t, template_text)
    return template_text(list(t.tokens))  # `${$}` and friends unescaped


def _c_equals_ic(text: str, variables: bool) -> Any:
    t = parse_template(text, variables=variables, wildcards=False)
    if t.has_vars:
        return _Dyn(t, lambda tokens: template_text(tokens).lower())
    return template_text(list(t.tokens)).lower()


def _c_like(text: str, variables: bool) -> Any:
    t = parse_template(text, variables=variables, wildcards=True)
    if t.has_vars:
        return _Dyn(t, Glob)
    return Glob(t.tokens)


def _c_arn(text: str, variables: bool) -> Any:
    t = parse_template(text, variables=variables, wildcards=True)
    if t.has_vars:
        return _Dyn(t, ArnGlob)
    return ArnGlob(t.tokens)


def _c_number(text: str, variables: bool) -> Any:
    try:
        return float(str(text).strip())
    except ValueError:
        raise BadConditionValue(text) from None


def _c_date(text: str, variables: bool) -> Any:
    try:
        return parse_date(str(text))
    except ValueError:
        raise BadConditionValue(text) from None


def _c_bool(text: str, variables: bool) -> Any:
    t = parse_template(text, variables=variables, wildcards=False)
    if t.has_vars:
        return _Dyn(t, lambda tokens: template_text(tokens).lower())
    return template_text(list(t.tokens)).lower()


def _c_binary(text: str, variables: bool) -> Any:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadConditionValue(text) from None


def _c_ip(text: str, variables: bool) -> Any:
    try:
        # a bare address is a /32 (or /128) network (doc: Conditions_IPAddress)
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise BadConditionValue(text) from None


def _c_null(text: str, variables: bool) -> Any:
    low = text.lower()
    if low not in ("true", "false"):
        raise BadConditionValue(text)
    return low == "true"


def _ip_in(net: Any, ip: Any) -> bool:
    return ip.version == net.version and ip in net


OPERATORS: dict[str, Operator] = {}


def _op(name, family, negated, variables, compile, compare, read):
    OPERATORS[name.lower()] = Operator(name, family, negated, variables, compile, compare, read)


_eq = lambda p, v: p == v  # noqa: E731
_glob = lambda p, v: p.match(v)  # noqa: E731
for _neg, _name in ((False, "StringEquals"), (True, "StringNotEquals")):
    _op(_name, "string", _neg, True, _c_equals, _eq, _as_str)
for _neg, _name in ((False, "StringEqualsIgnoreCase"), (True, "StringNotEqualsIgnoreCase")):
    _op(_name, "string", _neg, True, _c_equals_ic, _eq, lambda v: _as_str(v).lower())
for _neg, _name in ((False, "StringLike"), (True, "StringNotLike")):
    _op(_name, "string", _neg, True, _c_like, _glob, _as_str)
for _name, _cmp, _neg in (
    ("Equals", lambda p, v: v == p, False),
    ("NotEquals", lambda p, v: v == p, True),
    ("LessThan", lambda p, v: v < p, False),
    ("LessThanEquals", lambda p, v: v <= p, False),
    ("GreaterThan", lambda p, v: v > p, False),
    ("GreaterThanEquals", lambda p, v: v >= p, False),
):
    _op("Numeric" + _name, "numeric", _neg, False, _c_number, _cmp, _as_number)
    _op("Date" + _name, "date", _neg, False, _c_date, _cmp, _as_date)
_op("Bool", "bool", False, True, _c_bool, _eq, lambda v: _as_str(v).lower())
_op("BinaryEquals", "binary", False, False, _c_binary, _eq, _as_bytes)
_op("IpAddress", "ip", False, False, _c_ip, _ip_in, _as_ip)
_op("NotIpAddress", "ip", True, False, _c_ip, _ip_in, _as_ip)
# ArnEquals and ArnLike behave the same (doc: Conditions_ARN)
for _neg, _name in ((False, "ArnEquals"), (False, "ArnLike"), (True, "ArnNotEquals"), (True, "ArnNotLike")):
    _op(_name, "arn", _neg, True, _c_arn, _glob, _as_str)
_op("Null", "null", False, False, _c_null, _eq, lambda v: v)


def _is_absent(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, set, frozenset)) and not value)


@dataclass
class Condition:
    operator: str  # as written in the policy, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written
    key_lower: str
    raw_values: tuple
    op: Operator
    qualifier: str | None  # None | "ForAllValues" | "ForAnyValue"
    if_exists: bool
    values: tuple = field(default_factory=tuple)

    def test(self, ctx: ContextView) -> bool:
        raw = ctx.get(self.key_lower)
        op = self.op
        if op.family == "null":
            absent = _is_absent(raw)
            # several values OR'ed: {"k": ["true", "false"]} is always true
            return any(v == absent for v in self.values)
        if _is_absent(raw):
            if self.qualifier == "ForAllValues":
                return True
            if self.if_exists:
                return True
            if self.qualifier == "ForAnyValue":
                return False
            return op.negated
        lookup = ctx.get
        policy = [_resolve(c, lookup) for c in self.values] if op.variables else self.values
        compare, read, negated = op.compare, op.read, op.negated

        def matches_any(v: Any) -> bool:
            rv = read(v)
            for p in policy:
                if p is not None and compare(p, rv):
                    return True
            return False

        if isinstance(raw, (list, tuple, set, frozenset)):
            items = [v for v in raw if v != ""]
            if self.qualifier == "ForAllValues":
                # every request value must pass the (possibly negated) test
                return all(matches_any(v) != negated for v in items)
            if not items:
                return self.qualifier != "ForAnyValue" and (self.if_exists or negated)
            if negated:
                hits = [not matches_any(v) for v in items]
                return any(hits) if self.qualifier == "ForAnyValue" else all(hits)
            return any(matches_any(v) for v in items)
        return matches_any(raw) != negated

    def describe(self) -> dict[str, Any]:
        vals = list(self.raw_values)
        return {"operator": self.operator, "key": self.key, "expected": vals[0] if len(vals) == 1 else vals}


def compile_condition(operator_text: str, key: str, values: list, *, variables: bool) -> Condition:
    """Compile one `"Operator": {"key": values}` entry. Raises `KeyError` for an unknown
    operator and `BadConditionValue` for a value the operator can't read."""
    name = operator_text
    qualifier = None
    if ":" in name:
        prefix, _, rest = name.partition(":")
        if prefix.lower() == "forallvalues":
            qualifier = "ForAllValues"
        elif prefix.lower() == "foranyvalue":
            qualifier = "ForAnyValue"
        else:
            raise KeyError(operator_text)
        name = rest
    if_exists = False
    low = name.lower()
    if low.endswith("ifexists") and low != "ifexists":
        if_exists = True
        low = low[: -len("ifexists")]
    op = OPERATORS.get(low)
    if op is None or (if_exists and op.family == "null") or (qualifier and op.family == "null"):
        raise KeyError(operator_text)
    texts = tuple(_value_text(v) for v in values)
    compiled = tuple(op.compile(t, variables and op.variables) for t in texts)
    return Condition(operator_text, key, key.lower(), texts, op, qualifier, if_exists, compiled)


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return v
    raise BadConditionValue(repr(v))
