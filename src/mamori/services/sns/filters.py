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


def validate(policy_text: str) -> str | None:
    """An error message for a policy SNS would refuse, or None."""
    from mamori.services.events.patterns import PatternError, compile_pattern

    try:
        compile_pattern(policy_text)
    except (PatternError, ValueError) as exc:
        return str(exc)
    return None
