"""mamori's IAM policy language: parse, validate, evaluate, explain. Pure: no I/O and no
imports from services, gateway or store.

    document.py    policy text -> compiled Policy (PolicyKind, PolicyError, size quotas)
    wildcards.py   `*` / `?` matchers (Glob, ArnGlob, ResourceGlob); no regexes
    variables.py   `${aws:username}`, defaults, `${*}` escapes
    conditions.py  condition operator table, IfExists / ForAllValues / ForAnyValue
    evaluate.py    evaluate(Request, PolicySet) -> Decision; denial_message
    explain.py     Decision -> text lines for `mamori explain`
"""

from mamori.policy.document import (
    SIZE_QUOTAS,
    Policy,
    PolicyError,
    PolicyKind,
    PolicyTooLarge,
    check_size,
    parse_policy,
    policy_size,
)
from mamori.policy.evaluate import Decision, PolicySet, Reason, Request, denial_message, evaluate
from mamori.policy.explain import explain_lines

__all__ = [
    "SIZE_QUOTAS",
    "Decision",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicySet",
    "PolicyTooLarge",
    "Reason",
    "Request",
    "check_size",
    "denial_message",
    "evaluate",
    "explain_lines",
    "parse_policy",
    "policy_size",
]
