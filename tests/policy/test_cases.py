"""Data-driven tests of the IAM policy engine: every case of cases.json.

- `cases`: policies in (by kind), a request, the expected effect, the deciding
  statements and, when denied, AWS's denial message. Each case runs twice: without
  `explain` (the fast path the gateway uses) and with it (which must agree and must
  flag the same deciding statements).
- `validation`: policy text -> MalformedPolicyDocument message (or OK).
- `sizes`: IAM's size counting (characters excluding whitespace) and quota errors.
- A coverage test asserts every numbered item of aws-semantics.md section 1 has at
  least one case, except the few whose behaviour lives outside the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamori.policy import (
    SIZE_QUOTAS,
    PolicyError,
    PolicySet,
    PolicyTooLarge,
    Request,
    check_size,
    denial_message,
    evaluate,
    explain_lines,
    parse_policy,
    policy_size,
)

DATA = json.loads((Path(__file__).parent / "cases.json").read_text())
PRINCIPALS = DATA["principals"]

# Items of section 1 whose behaviour is not the engine's: they are tested where they live.
ELSEWHERE = {
    64: "IAM service: entity counts and name limits",
    66: "gateway: query-protocol AccessDenied shape",
    67: "gateway: JSON-protocol AccessDeniedException shape",
    68: "gateway: EC2 UnauthorizedOperation shape",
    69: "sts provider: GetCallerIdentity needs no authorization",
}


def _compile(entries, kind):
    return [(pid, parse_policy(doc, kind)) for pid, doc in entries]


def build(case):
    p = case["policies"]
    resource = None
    if "resource" in p:
        pid, doc, kind = p["resource"]
        resource = (pid, parse_policy(doc, kind))
    policies = PolicySet(
        identity=_compile(p.get("identity", []), "identity"),
        boundary=(p["boundary"][0], parse_policy(p["boundary"][1], "boundary")) if "boundary" in p else None,
        session=_compile(p.get("session", []), "session"),
        session_kind=p.get("session_kind"),
        resource=resource,
        resource_is_required=p.get("resource_is_required", False),
        scps=[_compile(level, "scp") for level in p.get("scps", [])],
        rcps=[_compile(level, "rcp") for level in p.get("rcps", [])],
    )
    r = case["request"]
    who = PRINCIPALS[r["principal"]]
    request = Request(
        principal_arn=who["arn"],
        principal_account=who["account"],
        principal_type=who["type"],
        action=r["action"],
        resource=r.get("resource", "*"),
        resource_account=r.get("resource_account"),
        context=r.get("context", {}),
        principal_ids=frozenset(who["ids"] + r.get("principal_ids", [])),
    )
    return request, policies


def _keys(reasons):
    return sorted((r.policy_id, r.sid if r.sid else r.statement_index) for r in reasons)


def _expected_keys(case):
    return sorted((pid, label) for pid, label in case["expect"]["reasons"])


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_case(case):
    request, policies = build(case)
    expect = case["expect"]
    decision = evaluate(request, policies)
    assert decision.effect == expect["effect"], (decision, explain_lines(request, evaluate(request, policies, explain=True)))
    if expect["effect"] != "ImplicitDeny":
        assert _keys(decision.reasons) == _expected_keys(case)
    if "message" in expect:
        assert decision.denied_by == expect["denied_by"]
        assert denial_message(request, decision) == expect["message"]
    assert bool(decision.errors) == bool(expect.get("errors"))

    explained = evaluate(request, policies, explain=True)
    assert explained.effect == decision.effect
    assert explained.denied_by == decision.denied_by
    if expect["effect"] != "ImplicitDeny":
        assert _keys(explained.deciding()) == _expected_keys(case)
    assert explain_lines(request, explained)[0].startswith(decision.effect)


@pytest.mark.parametrize("case", DATA["validation"], ids=[c["id"] for c in DATA["validation"]])
def test_validation(case):
    doc = case.get("text", case.get("policy"))
    if case["error"] is None:
        parse_policy(doc, case["kind"])
        return
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, case["kind"])
    assert info.value.message == case["error"]
    assert info.value.code == case["code"]


@pytest.mark.parametrize("case", DATA["sizes"], ids=[c["id"] for c in DATA["sizes"]])
def test_sizes(case):
    if "size" in case:
        assert policy_size(case["text"]) == case["size"]
        return
    quota = SIZE_QUOTAS[case["quota"]]
    text = "x" * case["chars"] + " \n\t" * case.get("pad", 0)
    message = case["message"] or "unused"
    if case["message"] is None:
        check_size(text, quota, message)
        return
    with pytest.raises(PolicyTooLarge) as info:
        check_size(text, quota, case["message"])
    assert info.value.code == "LimitExceeded"
    assert info.value.message == case["message"]


def test_every_section_1_item_is_covered():
    covered = set()
    for group in ("cases", "validation", "sizes"):
        for c in DATA[group]:
            covered.update(i for i in c["items"] if isinstance(i, int))
    missing = [i for i in range(1, 70) if i not in covered and i not in ELSEWHERE]
    assert not missing, f"aws-semantics.md section 1 items without a case: {missing}"


def test_enough_cases():
    assert len(DATA["cases"]) >= 200
    assert len(DATA["validation"]) >= 40
    assert sum(1 for c in DATA["cases"] if c.get("e2e")) >= 40
    ids = [c["id"] for c in DATA["cases"]]
    assert len(ids) == len(set(ids))
