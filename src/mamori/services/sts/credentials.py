"""Temporary credentials: `ASIA...` key id, a 40-character secret and a random session
token (base64, ~240 characters: clients must not assume a maximum size).

The store keeps the secret sealed and only the SHA-256 of the token; the expiry is on
the mamori clock, so `mamori clock advance` expires sessions and the authenticator
answers `ExpiredToken`.
https://docs.aws.amazon.com/STS/latest/APIReference/API_Credentials.html
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mamori.gateway.context import Principal
from mamori.services.iam.ids import new_access_key_id, new_secret_access_key
from mamori.store.records import Credential


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(store: Any, principal: Principal, *, now: float, expires: float) -> dict[str, Any]:
    """Store a temporary credential for `principal`; return the API's `Credentials`."""
    key_id = new_access_key_id("ASIA")
    secret = new_secret_access_key()
    token = base64.b64encode(secrets.token_bytes(180)).decode()
    principal = replace(principal, access_key_id=key_id)
    store.put_credential(Credential(
        access_key_id=key_id, secret_access_key=secret, account_id=principal.account_id,
        principal=principal.to_json(), session_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=expires, created_at=now,
    ))
    return {"AccessKeyId": key_id, "SecretAccessKey": secret, "SessionToken": token,
            "Expiration": datetime.fromtimestamp(expires, UTC)}
