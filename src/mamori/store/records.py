"""Plain records the stores hand out (no SQL here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Credential:
    """An access key and whom it authenticates.

    `secret_access_key` is clear text in memory only; the resource store keeps it
    encrypted with the data directory's root key. Temporary credentials (ASIA...) carry
    the SHA-256 of their session token (the token itself is never stored) and an
    expiry in epoch seconds on the mamori clock.
    """

    access_key_id: str
    secret_access_key: str
    account_id: str
    principal: dict[str, Any]  # Principal.to_json()
    status: str = "Active"  # Active | Inactive
    session_token_sha256: str | None = None
    expires_at: float | None = None
    created_at: float = 0.0
    last_used: dict[str, Any] = field(default_factory=dict)
