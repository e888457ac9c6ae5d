"""SQS messages, indexed: SQLite (its own database, `queues.sqlite3`, WAL) kept apart from the
resource store, whose change log is AWS Config's history and has no place for messages.

Tables (named migrations, applied in order at open):
  messages   one row per message: queue ARN, MessageId, seq (per queue), available (clock
             time it can next be received: end of its delay or of its visibility timeout),
             sent, received (last receive time, NULL while never received), grp (FIFO
             message group), receive_count, first_receive, receipt (nonce of the last
             receipt handle), blob (the sealed message: body, attributes, digests), key
             (the KMS-encrypted data key that sealed it, SSE-KMS only) and source
             (DeadLetterQueueSourceArn, once moved to a dead-letter queue).
             Index (queue, available, seq): a receive reads only the rows it returns
             (standard queues), counts are index ranges; index (queue, sent) for retention.
  counters   per queue: the last seq handed out (FIFO SequenceNumber, receive order).
  dedup      FIFO deduplication ids with the time seen and the first send's answer.
  tasks      message move tasks: handle, source queue ARN, status, JSON doc.
  deleted    when each queue was last deleted (a name is reusable 60 seconds later).

Durability as the resource store: an acknowledged write is in the WAL file. One
connection, guarded by a lock (sends come from the event loop and from service worker
threads: SNS and EventBridge deliveries). Only this module writes SQL for messages.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mamori.store.sqlite import SqliteStore, connect

DB_FILE = "queues.sqlite3"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE messages (
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            available REAL NOT NULL,
            sent REAL NOT NULL,
            received REAL,
            grp TEXT,
            receive_count INTEGER NOT NULL DEFAULT 0,
            first_receive REAL,
            receipt TEXT,
            blob BLOB NOT NULL,
            key BLOB,
            source TEXT,
            PRIMARY KEY (queue, id)
        );
        CREATE INDEX messages_available ON messages(queue, available, seq);
        CREATE INDEX messages_sent ON messages(queue, sent);
        CREATE TABLE counters (queue TEXT PRIMARY KEY, seq INTEGER NOT NULL);
        CREATE TABLE dedup (
            queue TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, result TEXT NOT NULL,
            PRIMARY KEY (queue, id)
        );
        CREATE INDEX dedup_at ON dedup(queue, at);
        CREATE TABLE tasks (
            handle TEXT PRIMARY KEY, source TEXT NOT NULL, status TEXT NOT NULL,
            started REAL NOT NULL, doc TEXT NOT NULL
        );
        CREATE INDEX tasks_source ON tasks(source, started);
        """,
    ),
    (
        "0002_deleted_queues",
        """
        CREATE TABLE deleted (queue TEXT PRIMARY KEY, at REAL NOT NULL);
        """,
    ),
]

_COLUMNS = ("queue, id, seq, available, sent, received, grp, receive_count, first_receive, receipt, blob, key, "
            "source")


@dataclass(slots=True)
class StoredMessage:
    queue: str
    id: str
    seq: int
    available: float
    sent: float
    received: float | None
    grp: str | None
    receive_count: int
    first_receive: float | None
    receipt: str | None
    blob: bytes
    key: bytes | None
    source: str | None = None  # DeadLetterQueueSourceArn once moved to a dead-letter queue

    def row(self) -> tuple:
        return (self.queue, self.id, self.seq, self.available, self.sent, self.received, self.grp,
                self.receive_count, self.first_receive, self.receipt, self.blob, self.key, self.source)


class QueueStore(SqliteStore):
    MIGRATIONS = MIGRATIONS

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self._migrate()

    @classmethod
    def open(cls, data_dir: Path | None) -> "QueueStore":
        return cls(connect(data_dir, DB_FILE))

    # -- messages ---------------------------------------------------------------------

    def next_seq(self, queue: str) -> int:
        with self.transaction():
            row = self._conn.execute("UPDATE counters SET seq = seq + 1 WHERE queue = ? RETURNING seq",
                                     (queue,)).fetchone()
            if row is None:
                self._conn.execute("INSERT INTO counters VALUES (?, 1)", (queue,))
                return 1
            return row[0]

    def insert(self, msg: StoredMessage) -> None:
        with self._lock:
            self._conn.execute(f"INSERT OR REPLACE INTO messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               msg.row())

    def get(self, queue: str, message_id: str) -> StoredMessage | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND id = ?",
                                     (queue, message_id)).fetchone()
        return StoredMessage(*row) if row else None

    def available(self, queue: str, now: float, limit: int) -> list[StoredMessage]:
        """Up to `limit` receivable messages, earliest available first (standard queues)."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND available <= ? ORDER BY available, seq LIMIT ?",
                (queue, now, limit)).fetchall()
        return [StoredMessage(*r) for r in rows]

    def in_order(self, queue: str, now: float, page: int = 100) -> Iterator[StoredMessage]:
        """Receivable messages in send order (FIFO queues), a page at a time (no cursor stays
        open while the caller writes); the caller stops when it has enough."""
        after = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND available <= ? AND seq > ? "
                    "ORDER BY seq LIMIT ?", (queue, now, after, page)).fetchall()
            for r in rows:
                yield StoredMessage(*r)
            if len(rows) < page:
                return
            after = rows[-1][2]

    def blocked_groups(self, queue: str, now: float) -> set[str]:
        """FIFO groups with a message in flight (received, visibility timeout not over)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT grp FROM messages WHERE queue = ? AND available > ? AND received IS NOT NULL",
                (queue, now)).fetchall()
        return {r[0] for r in rows}

    def mark_received(self, msg: StoredMessage) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE messages SET available = ?, received = ?, receive_count = ?, first_receive = ?, receipt = ? "
                "WHERE queue = ? AND id = ?",
                (msg.available, msg.received, msg.receive_count, msg.first_receive, msg.receipt, msg.queue, msg.id))

    def set_available(self, queue: str, message_id: str, when: float) -> None:
        with self._lock:
            self._conn.execute("UPDATE messages SET available = ? WHERE queue = ? AND id = ?", (when, queue, message_id))

    def delete(self, queue: str, message_id: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE queue = ? AND id = ?",
                                      (queue, message_id)).rowcount > 0

    def expire(self, queue: str, sent_before: float) -> int:
        """Retention: drop messages sent at or before `sent_before`."""
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE queue = ? AND sent <= ?",
                                      (queue, sent_before)).rowcount

    def counts(self, queue: str, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) message counts."""
        with self._lock:
            visible = self._conn.execute("SELECT COUNT(*) FROM messages WHERE queue = ? AND available <= ?",
                                         (queue, now)).fetchone()[0]
            row = self._conn.execute(
                "SELECT COUNT(received), COUNT(*) - COUNT(received) FROM messages WHERE queue = ? AND available > ?",
                (queue, now)).fetchone()
        return visible, row[0] or 0, row[1] or 0

    def next_available(self, queue: str, after: float) -> float | None:
        """When the next message not receivable now becomes receivable."""
        with self._lock:
            row = self._conn.execute("SELECT MIN(available) FROM messages WHERE queue = ? AND available > ?",
                                     (queue, after)).fetchone()
        return row[0] if row else None

    def oldest(self, queue: str, limit: int) -> list[StoredMessage]:
        """Messages in send order, whatever their visibility (message move tasks)."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE queue = ? ORDER BY seq LIMIT ?",
                                      (queue, limit)).fetchall()
        return [StoredMessage(*r) for r in rows]

    def extent(self, queue: str) -> tuple[int, int]:
        """(number of messages, highest seq) of a queue."""
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*), MAX(seq) FROM messages WHERE queue = ?", (queue,)).fetchone()
        return row[0], row[1] or 0

    def count(self, queue: str) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM messages WHERE queue = ?", (queue,)).fetchone()[0]

    def purge(self, queue: str) -> int:
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE queue = ?", (queue,)).rowcount

    def drop_queue(self, queue: str, at: float) -> None:
        with self.transaction():
            for table in ("messages", "counters", "dedup"):
                self._conn.execute(f"DELETE FROM {table} WHERE queue = ?", (queue,))  # noqa: S608 - fixed names
            self._conn.execute("INSERT OR REPLACE INTO deleted VALUES (?, ?)", (queue, at))

    def deleted_at(self, queue: str) -> float | None:
        with self._lock:
            row = self._conn.execute("SELECT at FROM deleted WHERE queue = ?", (queue,)).fetchone()
        return row[0] if row else None

    # -- FIFO deduplication -------------------------------------------------------------

    def seen(self, queue: str, dedup_id: str, since: float) -> dict[str, Any] | None:
        """The answer to the first send with this deduplication id after `since`, if any."""
        with self._lock:
            self._conn.execute("DELETE FROM dedup WHERE queue = ? AND at <= ?", (queue, since))
            row = self._conn.execute("SELECT result FROM dedup WHERE queue = ? AND id = ?",
                                     (queue, dedup_id)).fetchone()
        return json.loads(row[0]) if row else None

    def remember(self, queue: str, dedup_id: str, at: float, result: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO dedup VALUES (?, ?, ?, ?)",
                               (queue, dedup_id, at, json.dumps(result)))

    # -- message move tasks -------------------------------------------------------------

    def put_task(self, handle: str, source: str, status: str, started: float, doc: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
                               (handle, source, status, started, json.dumps(doc)))

    def get_task(self, handle: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM tasks WHERE handle = ?", (handle,)).fetchone()
        return json.loads(row[0]) if row else None

    def tasks(self, source: str | None = None, status: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql, args = "SELECT doc FROM tasks WHERE 1 = 1", []
        if source is not None:
            sql += " AND source = ?"
            args.append(source)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY started DESC, rowid DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- whole store ------------------------------------------------------------------

    def reset(self) -> None:
        with self.transaction():
            for table in ("messages", "counters", "dedup", "tasks", "deleted"):
                self._conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        with self._lock:
            self._conn.close()
