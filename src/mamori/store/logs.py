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


# -- the Logs API's reads and writes ---------------------------------------------------------
#
# Column order of the rows below: (id, ts, ingestion_time, message).

def _next_ids(conn: Any, telemetry: Any, count: int) -> int:
    """First of `count` fresh ids: read from the table under the lock, so that any other
    writer of the table (and a restart) can never hand out an id twice."""
    return int(conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {TABLE}").fetchone()[0])


def append(telemetry: Any, account: str, region: str, log_group: str, log_stream: str,
           events: list[tuple[int, str]], ingestion_time: int) -> list[int]:
    """Insert a batch of (timestamp ms, message) in one vectorized statement; returns ids."""
    ensure(telemetry)
    if not events:
        return []
    with telemetry.lock:
        conn = telemetry.connection()
        first = _next_ids(conn, telemetry, len(events))
        # One statement for the whole batch: the ids come from range(), the columns
        # from two lists (unnest() side by side zips them).
        conn.execute(
            f"INSERT INTO {TABLE} SELECT unnest(range(?, ?)), ?, ?, ?, ?, unnest(?::BIGINT[]), ?, "
            "unnest(?::VARCHAR[])",
            [first, first + len(events), account, region, log_group, log_stream, [e[0] for e in events],
             ingestion_time, [e[1] for e in events]],
        )
        return list(range(first, first + len(events)))


def read(telemetry: Any, account: str, region: str, log_group: str, *, streams: list[str] | None = None,
         stream_prefix: str | None = None, start: int | None = None, end: int | None = None,
         after: tuple[int, int] | None = None, before: tuple[int, int] | None = None,
         descending: bool = False, limit: int | None = None,
         contains: list[str] | None = None) -> list[tuple[int, str, int, int, str]]:
    """Events of a group as (id, stream, ts, ingestion_time, message), ordered by (ts, id).
    `after`/`before` are (ts, id) cursors; `end` is exclusive as in GetLogEvents;
    `contains` are substrings every returned message has (case-sensitive)."""
    ensure(telemetry)
    sql = [f"SELECT id, log_stream, ts, ingestion_time, message FROM {TABLE} "
           "WHERE account = ? AND region = ? AND log_group = ?"]
    args: list[Any] = [account, region, log_group]
    if streams is not None:
        sql.append("AND list_contains(?::VARCHAR[], log_stream)")
        args.append(streams)
    if stream_prefix:
        sql.append("AND starts_with(log_stream, ?)")
        args.append(stream_prefix)
    if start is not None:
        sql.append("AND ts >= ?")
        args.append(start)
    if end is not None:
        sql.append("AND ts < ?")
        args.append(end)
    for term in contains or ():
        sql.append("AND contains(message, ?)")
        args.append(term)
    if after is not None:
        sql.append("AND (ts > ? OR (ts = ? AND id > ?))")
        args += [after[0], after[0], after[1]]
    if before is not None:
        sql.append("AND (ts < ? OR (ts = ? AND id < ?))")
        args += [before[0], before[0], before[1]]
    sql.append("ORDER BY ts DESC, id DESC" if descending else "ORDER BY ts, id")
    if limit is not None:
        sql.append(f"LIMIT {int(limit)}")
    with telemetry.lock:
        return telemetry.connection().execute(" ".join(sql), args).fetchall()


def get(telemetry: Any, account: str, region: str, log_group: str, event_id: int) -> tuple | None:
    ensure(telemetry)
    with telemetry.lock:
        return telemetry.connection().execute(
            f"SELECT id, log_stream, ts, ingestion_time, message FROM {TABLE} "
            "WHERE account = ? AND region = ? AND log_group = ? AND id = ?",
            [account, region, log_group, event_id]).fetchone()


def stream_stats(telemetry: Any, account: str, region: str, log_group: str) -> dict[str, tuple[int, int, int, int]]:
    """stream -> (first ts, last ts, last ingestion time, stored bytes)."""
    ensure(telemetry)
    with telemetry.lock:
        rows = telemetry.connection().execute(
            f"SELECT log_stream, min(ts), max(ts), max(ingestion_time), sum(strlen(message)) FROM {TABLE} "
            "WHERE account = ? AND region = ? AND log_group = ? GROUP BY log_stream",
            [account, region, log_group]).fetchall()
    return {r[0]: (r[1], r[2], r[3], int(r[4] or 0)) for r in rows}


def delete(telemetry: Any, account: str, region: str, log_group: str, *, stream: str | None = None,
           older_than: int | None = None) -> int:
    """Delete a group's events (one stream's, or those with ts < older_than)."""
    ensure(telemetry)
    sql = f"DELETE FROM {TABLE} WHERE account = ? AND region = ? AND log_group = ?"
    args: list[Any] = [account, region, log_group]
    if stream is not None:
        sql += " AND log_stream = ?"
        args.append(stream)
    if older_than is not None:
        sql += " AND ts < ?"
        args.append(older_than)
    with telemetry.lock:
        cur = telemetry.connection().execute(sql, args)
        row = cur.fetchone()
        return int(row[0]) if row else 0
