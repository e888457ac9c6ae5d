"""Render a `Decision` as text lines for `mamori explain` (and the admin API).

The decision already carries everything (Cedar's idea: the answer is the decision plus
the statements that caused it plus any errors); this module only formats it:

    Allow
      + identity  user/alice/inline/read  statement ReadLogs (Allow)
      - resource  key-policy  statement #1 (Allow): Condition StringEquals kms:ViaService
          expected 's3.us-east-1.amazonaws.com', got None
"""

from __future__ import annotations

from mamori.policy.evaluate import Decision, Reason, Request, denial_message


def _line(r: Reason) -> str:
    where = f"{r.policy_kind:<9} {r.policy_id}"
    if r.statement_index < 0:
        return f"  + {where}  (full access of the account root user)"
    what = f"statement {r.label} ({r.effect})"
    if r.matched:
        mark = "+" if r.deciding else "="
        return f"  {mark} {where}  {what}"
    detail = f"{r.failed} did not match"
    if r.condition:
        c = r.condition
        detail = f"{r.failed} {c['operator']} {c['key']} expected {c['expected']!r}, got {c.get('actual')!r}"
    return f"  - {where}  {what}: {detail}"


def explain_lines(request: Request, decision: Decision) -> list[str]:
    """Text lines: the effect, the denial message when denied, then one line per reason
    (`+` deciding, `=` matched but not needed, `-` relevant but not matching) and errors."""
    head = decision.effect
    if decision.denied_by:
        head += f" (denied by: {decision.denied_by})"
    lines = [head, f"  {request.principal_arn} -> {request.action} on {request.resource}"]
    if not decision.allowed:
        lines.append("  " + denial_message(request, decision))
    lines.extend(_line(r) for r in decision.reasons)
    lines.extend(f"  ! error: {e}" for e in decision.errors)
    return lines


__all__ = ["explain_lines"]
