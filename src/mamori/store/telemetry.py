"""The telemetry store (data plane): DuckDB, for high-volume append-mostly data.

CloudTrail records now; log events, metric data and flow log records later.

Recording must be cheap (it happens on every request) and durable across `kill -9`:
`record_event` appends one JSON line to `<data-dir>/cloudtrail.journal` (a plain
write: once it returns the OS holds the data) and keeps the record pending in memory.
Pending records move into DuckDB in batches - when enough have gathered (the full
journal is renamed aside and a thread loads it while records go on into a new one), or
before any query (read-your-writes) - and the journal is truncated after the batch
commits. At open, a journal (or one set aside) left behind by a crash is replayed; replays are idempotent because
`event_id` is the primary key. In ephemeral mode DuckDB runs in memory and the journal
lives in a private temporary folder. A batch is loaded by one vectorized DuckDB read of
the journal (a row-by-row insert costs ~100 µs a record; this costs a few).

DuckDB is imported on first use: it costs ~50 ms, and start-up time matters.
Only this module writes SQL for telemetry.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger("mamori.telemetry")

DB_FILE = "telemetry.duckdb"
JOURNAL_FILE = "cloudtrail.journal"
BATCH = 2048
PARALLEL_THREADS = max(1, min(4, os.cpu_count() or 1))
LOADING_SUFFIX = ".loading"  # a full journal while a thread loads it into DuckDB
RETENTION_SECONDS = 90 * 86400  # LookupEvents sees the last 90 days

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
        self._pending = 0
        self._seq = 0
        self._schemas: set[str] = set()
        self._resetters: list[Any] = []
        self._closers: list[Any] = []
        self._loader: threading.Thread | None = None
        self._parallel_lock = threading.Lock()
        self._parallel_users = 0
        # Ephemeral mode keeps its journal in a private temporary folder: the batch
        # load below is one vectorized DuckDB read of the journal either way.
        self._tmp = None if data_dir is not None else tempfile.mkdtemp(prefix="mamori-")
        self._journal = Path(data_dir or self._tmp) / JOURNAL_FILE
        self._aside = self._journal.with_name(JOURNAL_FILE + LOADING_SUFFIX)  # a full journal being loaded
        leftover = (self._journal.exists() and self._journal.stat().st_size > 0) or \
            self._aside.exists()
        self._journal_fd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if leftover:  # a crash left records behind: load them now
            self._pending = 1
            self.flush()

    @classmethod
    def open(cls, data_dir: Path | None) -> "TelemetryStore":
        return cls(data_dir)

    # -- DuckDB, opened lazily --------------------------------------------------------------

    def _conn(self) -> Any:
        if self._db is None:
            import duckdb

            target = ":memory:" if self._dir is None else str(Path(self._dir) / DB_FILE)
            self._db = duckdb.connect(target)
            # One thread: mamori shares its two cores with its clients, and each DuckDB
            # thread keeps buffers of its own (RSS).
            self._db.execute("SET threads = 1")
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

    # -- other data sets -------------------------------------------------------------------
    #
    # Each data set (log events, metric data, ...) lives in its own module under store/
    # (store/logs.py, store/metrics.py) that creates its tables through `schema()` and
    # queries through `connection()` (on the event loop thread, holding `lock`) or
    # `cursor()` (a connection of its own for a worker thread: DuckDB runs queries
    # on several cursors at once). `on_reset` registers what `mamori reset` must clear.

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def connection(self) -> Any:
        """The DuckDB connection; hold `lock` while using it."""
        return self._conn()

    def cursor(self) -> Any:
        """A DuckDB connection of its own, for work off the event loop thread."""
        with self._lock:
            return self._conn().cursor()

    def schema(self, name: str, ddl: str) -> None:
        """Run `ddl` (idempotent CREATE ... IF NOT EXISTS statements) once per process."""
        with self._lock:
            if name not in self._schemas:
                self._conn().execute(ddl)
                self._schemas.add(name)

    @contextmanager
    def parallel(self, cursor: Any) -> Iterator[None]:
        """DuckDB on every core (at most 4) while a heavy read runs on `cursor` (a Logs
        Insights query); otherwise the store keeps one thread: its clients share the
        machine, and each DuckDB thread keeps buffers of its own. `threads` is a setting
        of the whole database, so the last reader done sets it back."""
        with self._parallel_lock:
            self._parallel_users += 1
            if self._parallel_users == 1:
                cursor.execute(f"SET threads = {PARALLEL_THREADS}")
        try:
            yield
        finally:
            with self._parallel_lock:
                self._parallel_users -= 1
                if self._parallel_users == 0:
                    cursor.execute("SET threads = 1")

    def on_reset(self, clear: Any) -> None:
        self._resetters.append(clear)

    @property
    def folder(self) -> Path:
        """Where data sets keep files of their own (journals): the data directory, or the
        private temporary folder of an ephemeral store."""
        return self._journal.parent

    def on_close(self, close: Any) -> None:
        """`close()` runs when the store closes, before DuckDB does (a data set's writer
        thread finishing its work)."""
        self._closers.append(close)

    # -- CloudTrail -----------------------------------------------------------------------

    def record_event(self, record: dict[str, Any]) -> None:
        """Append one record to the journal; it reaches DuckDB with the next batch."""
        with self._lock:
            self._seq += 1
            line = json.dumps({"i": _index(record, self._seq), "r": record}, separators=(",", ":"), default=str)
            os.write(self._journal_fd, line.encode("utf-8") + b"\n")
            self._pending += 1
            if self._pending >= BATCH and self._loader is None:
                self._load_behind()

    def _load_behind(self) -> None:
        """A full journal is renamed aside and loaded by a thread of its own (DuckDB runs
        the load without the GIL, on the other core), while records go on into a fresh
        journal (call holding the lock). A crash mid-load leaves the renamed file, which
        the next start loads (event_id keeps the load idempotent)."""
        aside = self._aside
        os.close(self._journal_fd)
        os.replace(self._journal, aside)
        self._journal_fd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pending = 0
        cursor = self._conn().cursor()

        def load() -> None:
            try:
                _load_journal(cursor, aside)
                aside.unlink()
            except Exception:  # noqa: BLE001 - the file stays for flush() or the next start
                log.exception("could not load CloudTrail records from %s", aside)
            finally:
                cursor.close()

        self._loader = threading.Thread(target=load, name="mamori-cloudtrail-load", daemon=True)
        self._loader.start()

    def flush(self) -> None:
        """Every record into DuckDB (before a read): wait for a load in progress, then
        load the journal in one vectorized statement and truncate it. Loading is
        idempotent (event_id is the key), so a crash between the two is safe."""
        with self._lock:
            if self._loader is not None:
                self._loader.join()
                self._loader = None
            aside = self._aside
            if aside.exists():  # left by a crash, or by a load that failed
                _load_journal(self._conn(), aside)
                aside.unlink()
            if not self._pending:
                return
            conn = self._conn()
            _load_journal(conn, self._journal)
            row = conn.execute("SELECT coalesce(max(seq), 0) FROM cloudtrail_events").fetchone()
            self._seq = max(self._seq, int(row[0]))
            os.ftruncate(self._journal_fd, 0)
            self._pending = 0

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

    def records_after(self, account_id: str, seq: int, since: float, *, regions: list[str] | None = None,
                      limit: int = 5000) -> list[tuple[int, float, dict[str, Any]]]:
        """(seq, event time, record) of an account's records after `seq` with an event
        time from `since` on (in `regions` if given), oldest first: what a trail delivers."""
        with self._lock:
            self.flush()
            sql = ("SELECT seq, event_time, record FROM cloudtrail_events WHERE account = ? AND seq > ? "
                   "AND event_time >= ?")
            args: list[Any] = [account_id, seq, since]
            if regions is not None:
                sql += " AND list_contains(?::VARCHAR[], region)"
                args.append(regions)
            sql += " ORDER BY seq LIMIT ?"
            args.append(limit)
            rows = self._conn().execute(sql, args).fetchall()
        return [(int(n), float(t), json.loads(text)) for n, t, text in rows]

    def principal_activity(self, account_id: str, arns: list[str]) -> list[tuple[str, str, str, float]]:
        """(principal ARN, event source, region, last event time) of the calls these
        principals made - a user's own, or a role's sessions (by session issuer) - for
        IAM's last-accessed reports. Failed authentications never reach CloudTrail."""
        if not arns:
            return []
        with self._lock:
            self.flush()
            rows = self._conn().execute(
                """
                SELECT who, event_source, arg_max(region, event_time), max(event_time) FROM (
                    SELECT coalesce(json_extract_string(record, '$.userIdentity.sessionContext.sessionIssuer.arn'),
                                    json_extract_string(record, '$.userIdentity.arn')) AS who,
                           event_source, region, event_time
                    FROM cloudtrail_events WHERE account = ?
                ) WHERE list_contains(?, who) GROUP BY who, event_source
                """,
                [account_id, list(arns)],
            ).fetchall()
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    # -- lifecycle ------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            if self._loader is not None:
                self._loader.join()
                self._loader = None
            self._aside.unlink(missing_ok=True)
            self._pending = 0
            os.ftruncate(self._journal_fd, 0)
            if self._db is not None:
                self._db.execute("DELETE FROM cloudtrail_events")
            for clear in self._resetters:
                clear()

    def close(self) -> None:
        for close in self._closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing goes on
                log.exception("closing a telemetry data set failed")
        self._closers.clear()
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
                if self._tmp is not None:
                    shutil.rmtree(self._tmp, ignore_errors=True)


# Types of the index columns, in table order (the record itself comes last).
_INDEX_TYPES = (
    "VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "DOUBLE", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
    "VARCHAR[]", "VARCHAR[]", "BOOLEAN",
)


def _index(record: dict[str, Any], seq: int) -> list[Any]:
    """The columns LookupEvents filters on, computed once when the record is made."""
    identity = record.get("userIdentity") or {}
    username = identity.get("userName")
    if username is None and identity.get("type") == "AssumedRole":
        username = (identity.get("arn") or "").rsplit("/", 1)[-1]
    if username is None and identity.get("type") == "Root":
        username = "root"
    resources = record.get("resources") or []
    return [
        record.get("eventID"),
        seq,
        record.get("recipientAccountId", ""),
        record.get("awsRegion", ""),
        record.pop("_epoch", 0.0),
        record.get("eventName"),
        record.get("eventSource"),
        "true" if record.get("readOnly") else "false",
        username,
        identity.get("accessKeyId"),
        [r.get("type") for r in resources if r.get("type")],
        [r.get("ARN") for r in resources if r.get("ARN")],
        bool(record.get("managementEvent", True)),
    ]


def _load_journal(conn: Any, path: Path) -> None:
    """INSERT OR IGNORE the journal's records at `path` in one vectorized read."""
    columns = ", ".join(
        f"CAST(json_extract(j, '$.i[{n}]') AS {kind})" if kind != "VARCHAR" else f"json_extract_string(j, '$.i[{n}]')"
        for n, kind in enumerate(_INDEX_TYPES)
    )
    conn.execute(
        f"INSERT OR IGNORE INTO cloudtrail_events SELECT {columns}, json_extract(j, '$.r')::VARCHAR "
        "FROM read_csv(?, columns = {'j': 'VARCHAR'}, delim = '\x01', quote = '', escape = '', "
        "header = false, auto_detect = false, ignore_errors = true)",
        [str(path)],
    )
