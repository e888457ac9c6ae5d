"""Subscription filter policies (FilterPolicyScope MessageAttributes or MessageBody),
matched with the EventBridge pattern engine (services/events/patterns.py), whose
operators SNS shares: exact, prefix, suffix, equals-ignore-case, anything-but, numeric,
exists, cidr ("IP address matching"), $or.
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html"""

from __future__ import annotations

import json
from typing import Any


def _attribute_value(attr: dict[str, Any]) -> Any:
    kind = attr.get("DataType", "String")
    value = attr.get("StringValue")
    if kind.startswith("Number"):
        try:
            return float(value) if "." in str(value) or "e" in str(value).lower() else int(value)
        except (TypeError, ValueError):
            return value
    if kind.startswith("String.Array"):
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value
    if kind.startswith("Binary"):
        return None  # binary attributes never match a filter policy
    return value


def matches(policy_text: str, scope: str, message: str, attributes: dict[str, Any]) -> bool:
    from mamori.services.events.patterns import compile_pattern

    pattern = compile_pattern(policy_text)
    if scope == "MessageBody":
        try:
            body = json.loads(message)
        except ValueError:
            return False
        return isinstance(body, dict) and pattern.matches(body)
    event = {name: v for name, attr in attributes.items() if (v := _attribute_value(attr)) is not None}
    return pattern.matches(event)


MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_BYTES = 256 * 1024
NUMERIC_LIMIT = 1e9


def _shape(node: Any, nested: list[bool]) -> tuple[int, int]:
    """(leaf keys, value combinations) of a policy object; `nested` records whether any
    key holds an object rather than an array."""
    keys, combinations = 0, 1
    for key, value in node.items():
        if key == "$or" and isinstance(value, list):
            branches = [_shape(b, nested) for b in value if isinstance(b, dict)]
            keys += max((k for k, _ in branches), default=0)
            combinations *= max(sum(c for _, c in branches), 1)
        elif isinstance(value, dict):
            nested.append(True)
            k, c = _shape(value, nested)
            keys, combinations = keys + k, combinations * c
        elif isinstance(value, list):
            keys += 1
            combinations *= max(len(value), 1)
            for item in value:
                numeric = item.get("numeric") if isinstance(item, dict) else None
                if isinstance(numeric, list):
                    for bound in numeric:
                        if isinstance(bound, (int, float)) and not isinstance(bound, bool) \
                                and abs(bound) > NUMERIC_LIMIT:
                            raise ValueError("Numeric values must be between -1.0E9 and 1.0E9")
    return keys, combinations


def validate(policy_text: str, scope: str = "MessageAttributes") -> str | None:
    """An error message for a policy SNS would refuse, or None: the pattern language,
    at most 5 keys and 150 combinations of values, numbers within +-1e9, at most 256 KB,
    no nesting when the scope is MessageAttributes.
    https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"""
    from mamori.services.events.patterns import PatternError, compile_pattern

    if len(policy_text.encode()) > MAX_BYTES:
        return "Filter policy can not be larger than 256 KB"
    try:
        compile_pattern(policy_text)
        doc = json.loads(policy_text)
        nested: list[bool] = []
        keys, combinations = _shape(doc, nested) if isinstance(doc, dict) else (0, 1)
    except (PatternError, ValueError) as exc:
        return str(exc)
    if nested and scope == "MessageAttributes":
        return "Filter policy scope MessageAttributes does not support nested filter policy"
    if keys > MAX_KEYS:
        return f"Filter policy can not have more than {MAX_KEYS} keys"
    if combinations > MAX_COMBINATIONS:
        return "Filter policy is too complex"
    return None
