"""Data protection: the managed data identifiers mamori recognises and masking.

A group's data protection policy (PutDataProtectionPolicy) names data identifiers in a
`Deidentify` statement; reads (GetLogEvents, FilterLogEvents, GetLogRecord) return the
matches masked with asterisks unless the caller asks `unmask` and holds `logs:Unmask`.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.services.logs.common import invalid

PREFIX = "arn:aws:dataprotection::aws:data-identifier/"

IDENTIFIERS: dict[str, re.Pattern] = {
    "EmailAddress": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "IpAddress": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    "AwsSecretKey": re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
    "CreditCardNumber": re.compile(r"\b(?:\d[ -]?){13,16}\b"),
    "Ssn-US": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "PhoneNumber-US": re.compile(r"\b\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b"),
}


def parse_policy(text: str) -> list[re.Pattern]:
    """Validate a data protection policy document; return the patterns it masks."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise invalid("Invalid data protection policy: the policy document is not valid JSON.") from None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or not statements:
        raise invalid("Invalid data protection policy: Statement is required.")
    operations = set()
    masked: list[re.Pattern] = []
    for st in statements:
        if not isinstance(st, dict) or not isinstance(st.get("DataIdentifier"), list) or not st["DataIdentifier"]:
            raise invalid("Invalid data protection policy: each statement needs DataIdentifier.")
        op = st.get("Operation")
        if not isinstance(op, dict) or len(op) != 1:
            raise invalid("Invalid data protection policy: each statement needs exactly one Operation.")
        kind = next(iter(op))
        if kind not in ("Audit", "Deidentify"):
            raise invalid(f"Invalid data protection policy: unsupported operation {kind}.")
        operations.add(kind)
        for ident in st["DataIdentifier"]:
            name = ident[len(PREFIX):] if isinstance(ident, str) and ident.startswith(PREFIX) else None
            if name is None or name not in IDENTIFIERS:
                raise invalid(f"Invalid data protection policy: unsupported data identifier {ident}.")
            if kind == "Deidentify":
                masked.append(IDENTIFIERS[name])
    if operations != {"Audit", "Deidentify"}:
        raise invalid("Invalid data protection policy: exactly one Audit and one Deidentify statement are required.")
    return masked


def masker(policy_text: str | None) -> Any:
    if not policy_text:
        return None
    patterns = parse_policy(policy_text)

    def mask(message: str) -> str:
        for rx in patterns:
            message = rx.sub(lambda m: "*" * len(m.group(0)), message)
        return message

    return mask
