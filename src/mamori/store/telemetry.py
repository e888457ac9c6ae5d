"""The telemetry store (data plane): DuckDB, for high-volume append-mostly data.

CloudTrail records now; log events, metric data and flow log records later.

Recording must be cheap (it happens on every request) and durable across `kill -9`:
`record_event` appends one JSON line to `<data-dir>/cloudtrail.journal` (a plain
write: once it returns the OS holds the data) and keeps the record pending in memory.
Pending records move into DuckDB in batches - when enough have gathered, or before any
query (read-your-writes) - and the journal is truncated after the batch commits. At
open, a journal left behind by a crash is replayed; replays are idempotent because
`event_id` is the primary key. In ephemeral mode DuckDB runs in memory, no journal.

DuckDB is imported on first use: it costs ~50 ms, and start-up time matters.
Only this module writes SQL for telemetry.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

DB_FILE = "telemetry.duckdb"
JOURNAL_FILE = "cloudtrail.journal"
BATCH = 512
RETENTION_SECONDS = 90 * 86400  # LookupEvents sees the last 90 days

_COLUMNS = (
    "event_id", "seq", "account", "region", "event_time", "event_name", "event_source",
    "read_only", "username", "access_key_id", "resource_types", "resource_names", "management", "record",
)
LOOKUP_ATTRIBUTES = {
    "EventId": "event_id",
    "EventName": "event_name",
    "ReadOnly": "read_only",
    "Username": "username",
    "EventSource": "event_source",
    "AccessKeyId": "access_key_id",
    "ResourceType": "resource_types",
    "ResourceName": "resource_names",
}


class TelemetryStore:
    def __init__(self, data_dir: Path | None) -> None:
        self._dir = data_dir
        self._db: Any = None
        self._lock = threading.RLock()
        self._pending: list[dict[str, Any]] = []
        self._seq = 0
        self._journal_fd: int | None = None
        if data_dir is not None:
            path = Path(data_dir) / JOURNAL_FILE
            if path.exists() and path.stat().st_size > 0:
                self._replay(path)
            self._journal_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    @classmethod
    def open(cls, data_dir: Path | None) -> "TelemetryStore":
        return cls(data_dir)

    # -- DuckDB, opened lazily --------------------------------------------------------------

    def _conn(self) -> Any:
        if self._db is None:
            import duckdb

            target = ":memory:" if self._dir is None else str(Path(self._dir) / DB_FILE)
            self._db = duckdb.connect(target)
            self._db.execute(
                """
                CREATE TABLE IF NOT EXISTS cloudtrail_events (
                    event_id VARCHAR PRIMARY KEY,
                    seq BIGINT NOT NULL,
                    account VARCHAR NOT NULL,
                    region VARCHAR NOT NULL,
                    event_time DOUBLE NOT NULL,
                    event_name VARCHAR,
                    event_source VARCHAR,
                    read_only VARCHAR,
                    username VARCHAR,
                    access_key_id VARCHAR,
                    resource_types VARCHAR[],
                    resource_names VARCHAR[],
                    management BOOLEAN,
                    record VARCHAR NOT NULL
                )
                """
            )
            row = self._db.execute("SELECT coalesce(max(seq), 0) FROM cloudtrail_events").fetchone()
            self._seq = max(self._seq, int(row[0]))
        return self._db

    # -- CloudTrail -----------------------------------------------------------------------

    def record_event(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str)
        with self._lock:
            if self._journal_fd is not None:
                os.write(self._journal_fd, line.encode("utf-8") + b"\n")
            self._pending.append(record)
            if len(self._pending) >= BATCH:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            rows = self._pending
            self._pending = []
            self._insert(rows)
            if self._journal_fd is not None:
                os.ftruncate(self._journal_fd, 0)

    def _insert(self, records: list[dict[str, Any]]) -> None:
        conn = self._conn()
        params: list[Any] = []
        for record in records:
            self._seq += 1
            params.extend(_row(record, self._seq))
        placeholders = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
        for start in range(0, len(records), 200):  # bounded statement size
            chunk = params[start * len(_COLUMNS) : (start + 200) * len(_COLUMNS)]
            count = len(chunk) // len(_COLUMNS)
            conn.execute(
                f"INSERT OR IGNORE INTO cloudtrail_events VALUES {', '.join([placeholders] * count)}",
                chunk,
            )

    def _replay(self, path: Path) -> None:
        records = []
        with open(path, "rb") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a line torn by the crash
        if records:
            self._insert(records)
        with open(path, "wb"):
            pass

    def lookup_events(
        self,
        *,
        account_id: str,
        region: str,
        now: float,
        start: float | None = None,
        end: float | None = None,
        attribute: tuple[str, str] | None = None,
        limit: int = 50,
        after: str | None = None,
        management_only: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """CloudTrail records newest first; `after` is the cursor a previous page returned."""
        with self._lock:
            self.flush()
            sql = ["SELECT record, event_time, seq FROM cloudtrail_events WHERE account = ? AND region = ? AND event_time >= ?"]
            args: list[Any] = [account_id, region, now - RETENTION_SECONDS]
            if management_only:
                sql.append("AND management")
            if start is not None:
                sql.append("AND event_time >= ?")
                args.append(start)
            if end is not None:
                sql.append("AND event_time <= ?")
                args.append(end)
            if attribute is not None:
                column = LOOKUP_ATTRIBUTES[attribute[0]]
                if column in ("resource_types", "resource_names"):
                    sql.append(f"AND list_contains({column}, ?)")
                else:
                    sql.append(f"AND {column} = ?")
                args.append(attribute[1])
            if after:
                event_time, seq = after.split(":")
                sql.append("AND (event_time < ? OR (event_time = ? AND seq < ?))")
                args.extend([float(event_time), float(event_time), int(seq)])
            sql.append("ORDER BY event_time DESC, seq DESC LIMIT ?")
            args.append(limit + 1)
            rows = self._conn().execute(" ".join(sql), args).fetchall()
        page = rows[:limit]
        cursor = f"{page[-1][1]!r}:{page[-1][2]}" if len(rows) > limit else None
        return [json.loads(r[0]) for r in page], cursor

    # -- lifecycle ------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._pending = []
            if self._journal_fd is not None:
                os.ftruncate(self._journal_fd, 0)
            if self._db is not None:
                self._db.execute("DELETE FROM cloudtrail_events")

    def close(self) -> None:
        with self._lock:
            try:
                self.flush()
            finally:
                if self._db is not None:
                    self._db.close()
                    self._db = None
                if self._journal_fd is not None:
                    os.close(self._journal_fd)
                    self._journal_fd = None


def _row(record: dict[str, Any], seq: int) -> list[Any]:
    from datetime import datetime

    identity = record.get("userIdentity") or {}
    username = identity.get("userName")
    if username is None and identity.get("type") == "AssumedRole":
        username = (identity.get("arn") or "").rsplit("/", 1)[-1]
    if username is None and identity.get("type") == "Root":
        username = "root"
    resources = record.get("resources") or []
    event_time = record.get("eventTime", "")
    try:
        epoch = datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        epoch = 0.0
    return [
        record.get("eventID"),
        seq,
        record.get("recipientAccountId", ""),
        record.get("awsRegion", ""),
        record.get("_epoch", epoch),
        record.get("eventName"),
        record.get("eventSource"),
        "true" if record.get("readOnly") else "false",
        username,
        identity.get("accessKeyId"),
        [r.get("type") for r in resources if r.get("type")],
        [r.get("ARN") for r in resources if r.get("ARN")],
        bool(record.get("managementEvent", True)),
        json.dumps({k: v for k, v in record.items() if k != "_epoch"}, separators=(",", ":"), default=str),
    ]
