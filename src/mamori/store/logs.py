"""Log events in the telemetry store (DuckDB).

The table both the Logs API (PutLogEvents, GetLogEvents, FilterLogEvents, retention)
and Logs Insights (queries compiled to SQL) read. One row per event:

  id              BIGINT, unique across the store; `@ptr` is built from it
  account, region the log group's owner and Region
  log_group       the log group name
  log_stream      the log stream name
  ts              the event's timestamp, milliseconds since the epoch
  ingestion_time  when mamori accepted it (mamori clock), milliseconds
  message         the event text ('' for an event sealed with a KMS data key: a real
                  event's message is never empty, PutLogEvents requires 1 character)
  size            the message's length in bytes (its plaintext's for a sealed event)

Events of a log group with a KMS key are sealed: `log_events_sealed` holds, by the same
id, the name of the group's data key that sealed it and nonce || AES-GCM ciphertext+tag
of the message (associated data: the log group ARN). The data keys themselves (their
KMS ciphertext) live with the log group in the resource store; plaintext data keys only
ever pass through memory. Readers of sealed events hand in the plaintext data keys they
got from KMS: `unseal()` for the Logs API, `prepare_query()` for Logs Insights.

Ingestion is write-behind: PutLogEvents appends its batch as one line to
`<data-dir>/logs.journal` (a plain write: it survives kill -9) and hands it to a writer
thread, which inserts it with one vectorized INSERT on a cursor of its own while the
server goes on (DuckDB runs the insert without the GIL, on the other core). Readers call
`sync()` first, so every read sees every accepted event (read-your-writes). The journal
is truncated whenever the writer has caught up; at start, batches left in it by a crash
are inserted again, less the ids already stored. Events of groups with a KMS key are
inserted at once (they are sealed first). Ids come from a counter kept on the telemetry
store, started from the table's max(id) the first time it is needed in a process.

Only this module (and the SQL the Insights compiler emits against this table) touches
it; the Logs provider goes through the functions here.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from typing import Any, Callable

log = logging.getLogger("mamori.logs")

TABLE = "log_events"
SEALED = "log_events_sealed"
NONCE = 12  # bytes of AES-GCM nonce in front of each sealed message
JOURNAL = "logs.journal"
MAX_QUEUED = 64  # batches accepted but not yet stored, before PutLogEvents waits

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id BIGINT NOT NULL,
    account VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    log_group VARCHAR NOT NULL,
    log_stream VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    ingestion_time BIGINT NOT NULL,
    message VARCHAR NOT NULL,
    size INTEGER
);
CREATE TABLE IF NOT EXISTS {SEALED} (
    id BIGINT NOT NULL,
    account VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    log_group VARCHAR NOT NULL,
    log_stream VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    data_key VARCHAR NOT NULL,
    sealed BLOB NOT NULL
);
-- size: the message's length in bytes (of the plaintext for sealed events), so that Logs
-- Insights counts bytesScanned without reading the messages. Data directories from
-- before the column get it filled once here.
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS size INTEGER;
UPDATE {TABLE} AS e SET size = octet_length(s.sealed) - {NONCE + 16} FROM {SEALED} AS s
    WHERE e.size IS NULL AND e.id = s.id;
UPDATE {TABLE} SET size = strlen(message) WHERE size IS NULL;
"""


def ensure(telemetry: Any) -> None:
    """Create the tables and the writer (once per process), replay what a crash left in
    the journal, and clear the tables on `mamori reset`."""
    if getattr(telemetry, "_logs_writer", None) is not None:
        return
    with telemetry.lock:
        if getattr(telemetry, "_logs_writer", None) is not None:
            return
        telemetry.schema("logs", DDL)
        writer = _Writer(telemetry)
        telemetry._logs_writer = writer

    def clear() -> None:
        # Runs holding the telemetry lock, from the event loop: once synced, the writer
        # is idle and nothing else submits.
        writer.sync()
        conn = telemetry.connection()
        conn.execute(f"DELETE FROM {TABLE}")
        conn.execute(f"DELETE FROM {SEALED}")

    telemetry.on_reset(clear)
    telemetry.on_close(writer.close)


def recover(telemetry: Any) -> None:
    """At start: store what a crash left in the journal. Nothing is opened when the
    journal is empty, so that DuckDB (tens of MiB) opens on the first use of Logs."""
    path = telemetry.folder / JOURNAL
    if path.exists() and path.stat().st_size > 0:
        ensure(telemetry)


def sync(telemetry: Any) -> None:
    """Wait until every accepted event is in the table (call before reading it)."""
    writer = getattr(telemetry, "_logs_writer", None)
    if writer is not None:
        writer.sync()


def _insert_plain(conn: Any, batch: list[Any]) -> None:
    first, account, region, log_group, log_stream, ingestion_time, stamps, messages = batch
    conn.execute(
        f"INSERT INTO {TABLE} SELECT ? + row_number() OVER () - 1, ?, ?, ?, ?, b.ts, ?, b.m, strlen(b.m) "
        "FROM (SELECT unnest(?::BIGINT[]) AS ts, unnest(?::VARCHAR[]) AS m) b",
        [first, account, region, log_group, log_stream, ingestion_time, stamps, messages])


class _Writer:
    """The journal and the thread that moves its batches into DuckDB."""

    def __init__(self, telemetry: Any) -> None:
        self.telemetry = telemetry
        self.path = telemetry.folder / JOURNAL
        self.cond = threading.Condition()
        self.lock = threading.Lock()  # one writer of the tables at a time
        self.queue: list[list[Any]] = []
        self.busy = False
        self.failed = False
        self.closed = False
        self._replay()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.thread = threading.Thread(target=self._run, name="mamori-logs-writer", daemon=True)
        self.thread.start()

    def _replay(self) -> None:
        """Insert the batches a crash left in the journal (called holding the telemetry lock)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        conn = self.telemetry.connection()
        stored = int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}").fetchone()[0])
        replayed = 0
        for line in self.path.read_bytes().splitlines():
            try:
                batch = json.loads(line)
            except ValueError:
                continue  # the torn last line of a crash: its request was never answered
            first, stamps = int(batch[0]), batch[6]
            skip = max(0, stored - first + 1)
            if skip >= len(stamps):
                continue
            batch[0], batch[6], batch[7] = first + skip, stamps[skip:], batch[7][skip:]
            _insert_plain(conn, batch)
            replayed += len(batch[6])
        os.truncate(self.path, 0)
        if replayed:
            log.info("replayed %d log events from the journal", replayed)

    def submit(self, batch: list[Any]) -> None:
        line = _dumps(batch) + b"\n"
        with self.cond:
            while len(self.queue) >= MAX_QUEUED and not self.closed:
                self.cond.wait()  # the writer is behind: hold the caller, not the memory
            os.write(self.fd, line)
            self.queue.append(batch)
            self.cond.notify_all()

    def sync(self) -> None:
        with self.cond:
            while (self.queue or self.busy) and not self.closed and self.thread.is_alive():
                self.cond.wait(0.5)
            if self.queue and not self.thread.is_alive():
                # The writer is gone (it could not even open its cursor): store here.
                batches, self.queue = self.queue, []
                with self.lock, self.telemetry.lock:
                    for batch in batches:
                        _insert_plain(self.telemetry.connection(), batch)
                self.cond.notify_all()

    def _run(self) -> None:
        cursor = self.telemetry.cursor()
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait()
                if not self.queue:
                    return
                batches, self.queue = self.queue, []
                self.busy = True
            try:
                with self.lock:
                    for batch in batches:
                        _insert_plain(cursor, batch)
            except Exception:  # noqa: BLE001 - the journal keeps them for the next start
                self.failed = True
                log.exception("could not store %d batches of log events", len(batches))
            with self.cond:
                self.busy = False
                if not self.queue and not self.failed:
                    os.ftruncate(self.fd, 0)
                self.cond.notify_all()

    def close(self) -> None:
        self.sync()
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.thread.join(timeout=10)
        os.close(self.fd)


def _dumps(batch: list[Any]) -> bytes:
    try:
        from orjson import dumps
    except ImportError:  # pragma: no cover - orjson is a dependency on CPython
        return json.dumps(batch, separators=(",", ":")).encode("utf-8")
    return dumps(batch)


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
# Column order of the rows read below: (id, stream, ts, ingestion_time, message).

def _reserve_ids(conn: Any, telemetry: Any, count: int) -> int:
    """First of `count` fresh ids (call holding the lock). The counter lives on the
    telemetry store; a process starts it after the largest id stored, so that neither
    a restart nor another writer of the table hands out an id twice."""
    first = getattr(telemetry, "_logs_next_id", None)
    if first is None:
        first = int(conn.execute(
            f"SELECT greatest((SELECT coalesce(max(id), 0) FROM {TABLE}), "
            f"(SELECT coalesce(max(id), 0)  FROM {SEALED})) + 1").fetchone()[0])
    telemetry._logs_next_id = first + count
    return first


def append(telemetry: Any, account: str, region: str, log_group: str, log_stream: str,
           stamps: list[int], messages: list[str], ingestion_time: int, *,
           seal: tuple[str, bytes, bytes] | None = None) -> int:
    """Insert a batch (timestamps in ms, messages, same length) with one statement;
    returns the id of the last event (0 for an empty batch).

    seal = (data key name, plaintext data key, associated data): the messages are
    stored sealed with AES-GCM under that key instead of in clear."""
    ensure(telemetry)
    n = len(stamps)
    if not n:
        return 0
    writer = telemetry._logs_writer
    with telemetry.lock:
        first = _reserve_ids(telemetry.connection(), telemetry, n)
    if seal is None:
        writer.submit([first, account, region, log_group, log_stream, ingestion_time, stamps, messages])
        return first + n - 1
    name, key, aad = seal
    sealed = _seal(key, aad, messages)
    with writer.lock, telemetry.lock:
        conn = telemetry.connection()
        conn.execute("BEGIN")
        try:
            conn.execute(
                f"INSERT INTO {TABLE} SELECT ? + row_number() OVER () - 1, ?, ?, ?, ?, b.ts, ?, '', b.n "
                "FROM (SELECT unnest(?::BIGINT[]) AS ts, unnest(?::INTEGER[]) AS n) b",
                [first, account, region, log_group, log_stream, ingestion_time, stamps,
                 [len(m.encode()) for m in messages]])
            conn.execute(
                f"INSERT INTO {SEALED} SELECT ? + row_number() OVER () - 1, ?, ?, ?, ?, b.ts, ?, b.s "
                "FROM (SELECT unnest(?::BIGINT[]) AS ts, unnest(?::BLOB[]) AS s) b",
                [first, account, region, log_group, log_stream, name, stamps, sealed])
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        return first + n - 1


def _seal(key: bytes, aad: bytes, messages: list[str]) -> list[bytes]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    encrypt = AESGCM(key).encrypt
    nonces = os.urandom(NONCE * len(messages))  # one random nonce per event
    out = []
    for i, message in enumerate(messages):
        nonce = nonces[i * NONCE:(i + 1) * NONCE]
        out.append(nonce + encrypt(nonce, message.encode("utf-8"), aad))
    return out


def _open(key: bytes, aad: bytes, blob: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key).decrypt(blob[:NONCE], blob[NONCE:], aad).decode("utf-8")


def sealed_keys(telemetry: Any, account: str, region: str, log_groups: list[str], *,
                start: int | None = None, end: int | None = None) -> dict[str, set[str]]:
    """log group -> names of the data keys that sealed its stored events (in [start, end]
    when given): which keys a reader has to ask KMS for."""
    ensure(telemetry)
    sql = (f"SELECT DISTINCT log_group, data_key FROM {SEALED} WHERE account = ? AND region = ? "
           "AND list_contains(?::VARCHAR[], log_group)")
    args: list[Any] = [account, region, log_groups]
    if start is not None:
        sql += " AND ts >= ?"
        args.append(start)
    if end is not None:
        sql += " AND ts <= ?"
        args.append(end)
    with telemetry.lock:
        rows = telemetry.connection().execute(sql, args).fetchall()
    out: dict[str, set[str]] = {}
    for group, name in rows:
        out.setdefault(group, set()).add(name)
    return out


def unseal(telemetry: Any, account: str, region: str, log_group: str, rows: list[tuple],
           keys: Callable[[set[str]], dict[str, bytes]], aad: bytes) -> list[tuple]:
    """Rows as `read` returns them, with the messages of sealed events opened. `keys`
    gets the names of the data keys needed and returns their plaintext (or raises the
    error KMS gave: a disabled key fails the read, as in AWS)."""
    sealed = [r for r in rows if r[4] == ""]
    if not sealed:
        return rows
    ids = [r[0] for r in sealed]
    stamps = [r[2] for r in sealed]
    with telemetry.lock:  # the ts bounds let DuckDB skip row groups (events arrive roughly in time order)
        found = telemetry.connection().execute(
            f"SELECT id, data_key, sealed FROM {SEALED} WHERE account = ? AND region = ? AND log_group = ? "
            "AND ts >= ? AND ts <= ? AND id IN (SELECT unnest(?::BIGINT[]))",
            [account, region, log_group, min(stamps), max(stamps), ids]).fetchall()
    if not found:
        return rows
    plain = keys({name for _, name, _ in found})
    opened = {i: _open(plain[name], aad, bytes(blob)) for i, name, blob in found}
    return [r if r[0] not in opened else (*r[:4], opened[r[0]]) for r in rows]


def prepare_query(cursor: Any, account: str, region: str, log_groups: list[str], start: int, end: int,
                  keys: dict[tuple[str, str], bytes], aad: Callable[[str], bytes]) -> None:
    """For Logs Insights over log groups with sealed events: on `cursor` (a connection of
    the query's own), a temporary table named like the events table, holding the
    groups' events in [start, end] with sealed messages opened, shadows the stored
    table (DuckDB looks in the temp schema first), so the compiled SQL runs unchanged.
    `keys`: (log group, data key name) -> plaintext data key (sealed_keys() says which
    are needed); `aad(group)` the associated data the group's events were sealed with.
    Nothing is created when no event in range is sealed."""
    rows = cursor.execute(
        f"SELECT id, log_group, data_key, sealed FROM {SEALED} WHERE account = ? AND region = ? "
        "AND list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?",
        [account, region, log_groups, start, end]).fetchall()
    if not rows:
        return
    ids, messages = [], []
    for event_id, group, name, blob in rows:
        ids.append(event_id)
        messages.append(_open(keys[(group, name)], aad(group), bytes(blob)))
    cursor.execute(
        f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT * FROM main.{TABLE} WHERE account = ? AND region = ? "
        "AND list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?",
        [account, region, log_groups, start, end])
    cursor.execute(
        f"UPDATE temp.{TABLE} AS e SET message = o.m FROM (SELECT unnest(?::BIGINT[]) AS id, "
        "unnest(?::VARCHAR[]) AS m) o WHERE e.id = o.id", [ids, messages])


def read(telemetry: Any, account: str, region: str, log_group: str, *, streams: list[str] | None = None,
         stream_prefix: str | None = None, start: int | None = None, end: int | None = None,
         after: tuple[int, int] | None = None, before: tuple[int, int] | None = None,
         descending: bool = False, limit: int | None = None,
         contains: list[str] | None = None) -> list[tuple[int, str, int, int, str]]:
    """Events of a group as (id, stream, ts, ingestion_time, message), ordered by (ts, id).
    `after`/`before` are (ts, id) cursors; `end` is exclusive as in GetLogEvents;
    `contains` are substrings every returned message has (case-sensitive; leave it out
    for groups with sealed events, whose stored message is empty)."""
    ensure(telemetry)
    sync(telemetry)
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
    sync(telemetry)
    with telemetry.lock:
        return telemetry.connection().execute(
            f"SELECT id, log_stream, ts, ingestion_time, message FROM {TABLE} "
            "WHERE account = ? AND region = ? AND log_group = ? AND id = ?",
            [account, region, log_group, event_id]).fetchone()


def stream_stats(telemetry: Any, account: str, region: str, log_group: str) -> dict[str, tuple[int, int, int, int]]:
    """stream -> (first ts, last ts, last ingestion time, stored bytes). Stored bytes count
    the messages' UTF-8 bytes (the plaintext's for sealed events: the `size` column)."""
    ensure(telemetry)
    sync(telemetry)
    with telemetry.lock:
        rows = telemetry.connection().execute(
            f"SELECT log_stream, min(ts), max(ts), max(ingestion_time), sum(coalesce(size, strlen(message))) "
            f"FROM {TABLE} WHERE account = ? AND region = ? AND log_group = ? GROUP BY log_stream",
            [account, region, log_group]).fetchall()
    return {r[0]: (r[1], r[2], r[3], int(r[4] or 0)) for r in rows}


def delete(telemetry: Any, account: str, region: str, log_group: str, *, stream: str | None = None,
           older_than: int | None = None) -> int:
    """Delete a group's events (one stream's, or those with ts < older_than)."""
    ensure(telemetry)
    where = "WHERE account = ? AND region = ? AND log_group = ?"
    args: list[Any] = [account, region, log_group]
    if stream is not None:
        where += " AND log_stream = ?"
        args.append(stream)
    if older_than is not None:
        where += " AND ts < ?"
        args.append(older_than)
    sync(telemetry)
    with telemetry._logs_writer.lock, telemetry.lock:
        conn = telemetry.connection()
        conn.execute(f"DELETE FROM {SEALED} {where}", args)
        row = conn.execute(f"DELETE FROM {TABLE} {where}", args).fetchone()
        return int(row[0]) if row else 0


def field_time_ranges(telemetry: Any, account: str, region: str, log_group: str,
                      fields: list[str]) -> dict[str, tuple[int, int]]:
    """field -> (first, last) timestamp of the group's JSON events that have it (a
    dotted name walks into nested objects), for DescribeFieldIndexes. Fields no event
    has are left out. Sealed events are not looked into."""
    ensure(telemetry)
    sync(telemetry)
    if not fields:
        return {}
    cols = []
    for i, name in enumerate(fields):
        path = "$." + ".".join('"' + part.replace('"', '\\"') + '"' for part in name.split("."))
        cond = f"json_extract(j, '{path.replace(chr(39), chr(39) * 2)}') IS NOT NULL"
        cols.append(f"min(ts) FILTER (WHERE {cond}), max(ts) FILTER (WHERE {cond})")
    with telemetry.lock:
        row = telemetry.connection().execute(
            f"SELECT {', '.join(cols)} FROM (SELECT ts, message::JSON AS j FROM {TABLE} "
            "WHERE account = ? AND region = ? AND log_group = ? AND left(message, 1) = '{' "
            "AND json_valid(message))", [account, region, log_group]).fetchone()
    return {name: (row[2 * i], row[2 * i + 1]) for i, name in enumerate(fields) if row[2 * i] is not None}
