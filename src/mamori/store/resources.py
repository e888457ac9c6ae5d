"""The resource store (control plane): SQLite in WAL mode.

Tables (created by the named migrations below, applied in order at open):
  resources    arn PK, kind, account, region, doc (JSON as Describe/Get returns it),
               secret (sealed blob or NULL), created, updated
  changes      the change log: seq, arn, kind, account, region, action
               (create|update|delete), time (mamori clock), doc. Appended in the same
               transaction as the write; AWS Config's history will read it.
  credentials  access keys: id PK, account, principal (JSON), secret (sealed), status,
               token_sha256, expires, created, last_used (JSON)
  meta         small runtime state (clock, counters): key PK, value (JSON)

Durability: WAL with synchronous=NORMAL. A commit has been written to the WAL file when
it returns, so it survives `kill -9` of the process (the OS holds the data); only a
power loss may lose the last transactions, which is the trade AWS's local peers make
too. One connection serves all calls, guarded by a lock: the server runs providers on
its event loop thread, so writes are serialized anyway (one writer).

Only this module writes SQL for resources.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable

from mamori.store.records import Credential
from mamori.store.secrets import SecretBox
from mamori.store.sqlite import SqliteStore, connect

DB_FILE = "resources.sqlite3"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE resources (
            arn TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            doc TEXT NOT NULL,
            secret BLOB,
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        CREATE INDEX resources_kind ON resources(kind, account, region, created);
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            arn TEXT NOT NULL,
            kind TEXT NOT NULL,
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            action TEXT NOT NULL,
            time REAL NOT NULL,
            doc TEXT
        );
        CREATE INDEX changes_arn ON changes(arn, seq);
        CREATE TABLE credentials (
            id TEXT PRIMARY KEY,
            account TEXT NOT NULL,
            principal TEXT NOT NULL,
            principal_arn TEXT NOT NULL,
            secret BLOB NOT NULL,
            status TEXT NOT NULL,
            token_sha256 TEXT,
            expires REAL,
            created REAL NOT NULL,
            last_used TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX credentials_principal ON credentials(account, principal_arn);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
]


class ResourceStore(SqliteStore):
    MIGRATIONS = MIGRATIONS

    def __init__(self, conn: sqlite3.Connection, box: SecretBox, now: Callable[[], float]) -> None:
        super().__init__(conn)
        self._box = box
        self._now = now
        # Credentials are read on every request: keep the opened ones in memory. All
        # writes go through this store, so invalidating on write keeps it exact.
        self._credentials: dict[str, Credential | None] = {}
        self._meta: dict[str, Any] = {}  # same for meta values (the IAM version counter)
        self._migrate()

    @classmethod
    def open(
        cls, data_dir: Path | None, box: SecretBox, *, now: Callable[[], float] = time.time
    ) -> "ResourceStore":
        conn = connect(data_dir, DB_FILE)
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(conn, box, now)

    # -- resources ----------------------------------------------------------------------

    def get(self, arn: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM resources WHERE arn = ?", (arn,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(
        self,
        arn: str,
        doc: dict[str, Any],
        *,
        kind: str,
        account_id: str,
        region: str = "",
        secret: bytes | None = None,
        log: bool = True,
    ) -> None:
        """Create or replace a resource. `log=False` keeps it out of the change log:
        for a service's own high-volume bookkeeping (pending deliveries, archived events,
        mailboxes), which is not configuration anyone audits."""
        text = json.dumps(doc, default=_json_default, separators=(",", ":"))
        sealed = self._box.seal(secret, arn.encode()) if secret is not None else None
        now = self._now()
        with self.transaction():
            existing = self._conn.execute("SELECT secret FROM resources WHERE arn = ?", (arn,)).fetchone()
            if existing is None:
                self._conn.execute(
                    "INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (arn, kind, account_id, region, text, sealed, now, now),
                )
                action = "create"
            else:
                self._conn.execute(
                    "UPDATE resources SET kind = ?, account = ?, region = ?, doc = ?, secret = ?, updated = ? WHERE arn = ?",
                    (kind, account_id, region, text, sealed if secret is not None else existing[0], now, arn),
                )
                action = "update"
            if log:
                self._conn.execute(
                    "INSERT INTO changes (arn, kind, account, region, action, time, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (arn, kind, account_id, region, action, now, text),
                )

    def delete(self, arn: str, *, log: bool = True) -> bool:
        with self.transaction():
            row = self._conn.execute("SELECT kind, account, region FROM resources WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                return False
            self._conn.execute("DELETE FROM resources WHERE arn = ?", (arn,))
            if log:
                self._conn.execute(
                    "INSERT INTO changes (arn, kind, account, region, action, time, doc) VALUES (?, ?, ?, ?, 'delete', ?, NULL)",
                    (arn, row[0], row[1], row[2], self._now()),
                )
        return True

    def list(self, kind: str, *, account_id: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT doc FROM resources WHERE kind = ?", [kind]
        if account_id is not None:
            sql += " AND account = ?"
            args.append(account_id)
        if region is not None:
            sql += " AND region = ?"
            args.append(region)
        sql += " ORDER BY created, rowid"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def get_secret(self, arn: str) -> bytes | None:
        with self._lock:
            row = self._conn.execute("SELECT secret FROM resources WHERE arn = ?", (arn,)).fetchone()
        if row is None or row[0] is None:
            return None
        return self._box.open_sealed(row[0], arn.encode())

    def changes(self, *, since: int = 0, arn: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql, args = "SELECT seq, arn, kind, account, region, action, time, doc FROM changes WHERE seq > ?", [since]
        if arn is not None:
            sql += " AND arn = ?"
            args.append(arn)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            {
                "seq": r[0], "arn": r[1], "kind": r[2], "account": r[3], "region": r[4],
                "action": r[5], "time": r[6], "doc": json.loads(r[7]) if r[7] else None,
            }
            for r in rows
        ]

    # -- credentials --------------------------------------------------------------------

    def put_credential(self, cred: Credential) -> None:
        self._credentials.pop(cred.access_key_id, None)
        sealed = self._box.seal(cred.secret_access_key.encode(), cred.access_key_id.encode())
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO credentials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cred.access_key_id, cred.account_id, json.dumps(cred.principal), cred.principal.get("arn", ""),
                    sealed, cred.status, cred.session_token_sha256, cred.expires_at,
                    cred.created_at or self._now(), json.dumps(cred.last_used),
                ),
            )

    def get_credential(self, access_key_id: str) -> Credential | None:
        if access_key_id in self._credentials:
            return self._credentials[access_key_id]
        with self._lock:
            row = self._conn.execute(
                "SELECT id, account, principal, secret, status, token_sha256, expires, created, last_used "
                "FROM credentials WHERE id = ?",
                (access_key_id,),
            ).fetchone()
        cred = self._credential(row) if row else None
        if self._depth == 0:  # a read inside a transaction may yet be rolled back
            if len(self._credentials) > 10_000:
                self._credentials.clear()
            self._credentials[access_key_id] = cred
        return cred

    def delete_credential(self, access_key_id: str) -> bool:
        self._credentials.pop(access_key_id, None)
        with self.transaction():
            cur = self._conn.execute("DELETE FROM credentials WHERE id = ?", (access_key_id,))
        return cur.rowcount > 0

    def list_credentials(self, account_id: str, principal_arn: str | None = None) -> list[Credential]:
        sql = ("SELECT id, account, principal, secret, status, token_sha256, expires, created, last_used "
               "FROM credentials WHERE account = ?")
        args: list[Any] = [account_id]
        if principal_arn is not None:
            sql += " AND principal_arn = ?"
            args.append(principal_arn)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY created", args).fetchall()
        return [self._credential(r) for r in rows]

    def _credential(self, row: tuple) -> Credential:
        return Credential(
            access_key_id=row[0],
            secret_access_key=self._box.open_sealed(row[3], row[0].encode()).decode(),
            account_id=row[1],
            principal=json.loads(row[2]),
            status=row[4],
            session_token_sha256=row[5],
            expires_at=row[6],
            created_at=row[7],
            last_used=json.loads(row[8]),
        )

    # -- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        if key in self._meta:
            value = self._meta[key]
            return default if value is None else json.loads(value)
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if self._depth == 0:
                self._meta[key] = row[0] if row else None
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self._meta.pop(key, None)
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, default=_json_default)))

    # -- whole store --------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT arn, kind, account, region, doc FROM resources ORDER BY created, rowid"
            ).fetchall()
        return [{"arn": r[0], "kind": r[1], "account": r[2], "region": r[3], "doc": json.loads(r[4])} for r in rows]

    def reset(self) -> None:
        self._credentials.clear()
        self._meta.clear()
        with self.transaction():
            for table in ("resources", "changes", "credentials", "meta"):
                self._conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _json_default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
