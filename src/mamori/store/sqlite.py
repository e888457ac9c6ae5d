"""What the SQLite stores share: opening the database file (or memory), versioned
migrations, and nested transactions.

    class MyStore(SqliteStore):
        MIGRATIONS = [("0001-init", "CREATE TABLE ...; CREATE INDEX ...")]

    conn = connect(data_dir, "my.sqlite3")       # None: in memory
    store = MyStore(conn)                        # applies what MIGRATIONS adds
    with store.transaction(): ...                # nested calls join the outer one
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def connect(data_dir: Path | None, file_name: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), shared across threads
    under the store's lock; WAL on disk."""
    if data_dir is None:
        return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn = sqlite3.connect(str(Path(data_dir) / file_name), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SqliteStore:
    MIGRATIONS: list[tuple[str, str]] = []

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0

    def _migrate(self) -> None:
        """Apply the migrations not applied yet, each in a transaction of its own."""
        with self._lock:
            self._conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
            done = {row[0] for row in self._conn.execute("SELECT name FROM migrations")}
            for name, sql in self.MIGRATIONS:
                if name in done:
                    continue
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in sql.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together; nested calls join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")
