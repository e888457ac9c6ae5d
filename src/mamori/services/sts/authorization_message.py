"""Encoded authorization failure messages (EC2 style) and their decoding.

Some services (EC2 first) end their access-denied message with "Encoded authorization
failure message: <blob>"; only `sts:DecodeAuthorizationMessage` turns the blob back
into the decision context: allowed, explicit deny, the statements that matched, the
principal, action, resource and condition keys.
https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html

The blob is the JSON document sealed (AES-GCM) with the data directory's root key, then
URL-safe base64: opaque to the caller, tamper-evident, and decodable only by the mamori
that wrote it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidTag

from mamori.errors import AwsError, error

# Services whose denials carry an encoded message.
ENCODING_SERVICES = frozenset({"ec2"})
_AAD = b"mamori:sts:authorization-message"


def document(principal: Any, action: str, resource: str, allowed: bool, explicit: bool,
             matched: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, Any]:
    """The decoded form, in the shape AWS documents (lists as `{"items": [...]}`)."""
    conditions = []
    for key in sorted(context):
        value = context[key]
        values = value if isinstance(value, list) else [value]
        conditions.append({"key": key, "values": {"items": [{"value": str(v)} for v in values]}})
    return {
        "allowed": allowed,
        "explicitDeny": explicit,
        "matchedStatements": {"items": matched},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal.principal_id, "name": principal.user_name or principal.arn.rsplit("/", 1)[-1],
                          "arn": principal.arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": conditions},
        },
    }


def encode(secrets: Any, doc: dict[str, Any]) -> str:
    sealed = secrets.seal(json.dumps(doc, separators=(",", ":")).encode(), _AAD)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def decode(secrets: Any, blob: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(blob.strip() + "=" * (-len(blob.strip()) % 4))
        return json.loads(secrets.open_sealed(raw, _AAD))
    except (ValueError, InvalidTag, TypeError):
        raise invalid() from None


def invalid() -> AwsError:
    return error("InvalidAuthorizationMessageException",
                 "The error message was malformed or has expired and can't be decoded.")
