"""Log events in the telemetry store (DuckDB).

The table both the Logs API (PutLogEvents, GetLogEvents, FilterLogEvents, retention)
and Logs Insights (queries compiled to SQL) read. One row per event:

  id              BIGINT, unique across the store; `@ptr` is built from it
  account, region the log group's owner and Region
  log_group       the log group name
  log_stream      the log stream name
  ts              the event's timestamp, milliseconds since the epoch
  ingestion_time  when mamori accepted it (mamori clock), milliseconds
  message         the event text

Only this module (and the SQL the Insights compiler emits against this table) touches
it; the Logs provider goes through the functions here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

TABLE = "log_events"

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id BIGINT NOT NULL,
    account VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    log_group VARCHAR NOT NULL,
    log_stream VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    ingestion_time BIGINT NOT NULL,
    message VARCHAR NOT NULL
);
"""


def ensure(telemetry: Any) -> None:
    """Create the table (once per process) and clear it on `mamori reset`."""
    if "logs" in getattr(telemetry, "_schemas", ()):
        return
    telemetry.schema("logs", DDL)

    def clear() -> None:
        telemetry.connection().execute(f"DELETE FROM {TABLE}")

    telemetry.on_reset(clear)


def pointer(account: str, region: str, log_group: str, event_id: int) -> str:
    """`@ptr`: opaque to callers, enough for GetLogRecord to find the event again."""
    raw = json.dumps([account, region, log_group, event_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_pointer(ptr: str) -> tuple[str, str, str, int] | None:
    try:
        raw = base64.urlsafe_b64decode(ptr + "=" * (-len(ptr) % 4))
        account, region, log_group, event_id = json.loads(raw)
        return str(account), str(region), str(log_group), int(event_id)
    except (ValueError, TypeError):
        return None
