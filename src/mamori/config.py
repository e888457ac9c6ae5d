"""Server configuration: flags first, then environment variables, then defaults.

Environment variables (for teams and test suites that use other values):
  MAMORI_HOST, MAMORI_PORT, MAMORI_DATA_DIR, MAMORI_EPHEMERAL=1,
  MAMORI_ACCOUNT_ID (default 000000000000), MAMORI_ROOT_ACCESS_KEY_ID (default test),
  MAMORI_ROOT_SECRET_ACCESS_KEY (default test), MAMORI_REGION (default us-east-1),
  MAMORI_STRICT=1 (an operation that returns without an authorization decision fails).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mamori", appauthor=False))


@dataclass
class Config:
    host: str = field(default_factory=lambda: os.environ.get("MAMORI_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("MAMORI_PORT", "4566")))
    data_dir: Path | None = field(
        default_factory=lambda: Path(os.environ["MAMORI_DATA_DIR"]) if os.environ.get("MAMORI_DATA_DIR") else None
    )
    ephemeral: bool = field(default_factory=lambda: _env_flag("MAMORI_EPHEMERAL"))
    account_id: str = field(default_factory=lambda: os.environ.get("MAMORI_ACCOUNT_ID", "000000000000"))
    root_access_key_id: str = field(default_factory=lambda: os.environ.get("MAMORI_ROOT_ACCESS_KEY_ID", "test"))
    root_secret_access_key: str = field(
        default_factory=lambda: os.environ.get("MAMORI_ROOT_SECRET_ACCESS_KEY", "test")
    )
    region: str = field(default_factory=lambda: os.environ.get("MAMORI_REGION", "us-east-1"))
    strict: bool = field(default_factory=lambda: _env_flag("MAMORI_STRICT"))
    # Allowed distance between a request's X-Amz-Date and the real clock (SigV4: 15 min).
    max_skew_seconds: int = 900

    def resolved_data_dir(self) -> Path | None:
        if self.ephemeral:
            return None
        return self.data_dir or default_data_dir()

    @property
    def endpoint(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"
