"""Metric data points in the telemetry store (DuckDB).

Two tables:

  metric_ids     one row per metric: id, account, region, namespace, name, dims (the
                 dimensions as canonical JSON `[[name, value], ...]` sorted by name),
                 last_put (mamori clock time of the newest PutMetricData for it)
  metric_points  one row per stored sample or statistic set:
                 mid     the metric's id
                 seq     a row sequence number (replaying the journal is idempotent)
                 ts      the timestamp, epoch seconds, floored to the storage resolution
                 res     storage resolution, 1 (high resolution) or 60
                 unit    index into UNITS
                 n, s, lo, hi   sample count, sum, minimum, maximum
                 v       the raw value for a sample (n = its count), NULL for a statistic set

Writes are cheap and durable: `append` writes CSV lines to `metrics.journal` (one
`os.write` per request: once it returns the OS holds the data) and keeps them pending;
pending rows move into DuckDB in one vectorized `read_csv` when enough gather or before
any query (read-your-writes). At open, rows left in the journal by a crash are loaded,
skipping those whose `seq` is already in the table.

Roll-up (`roll_up(now)`), as AWS keeps data: sub-minute data for 3 hours, then its
timestamps are floored to the minute; 1-minute data for 15 days, then to 5 minutes;
5-minute for 63 days, then to the hour; everything older than 455 days is dropped.
Rolling up merges rows with the same metric, timestamp, unit and raw value (counts add
up), and statistic sets of one timestamp into one set, so every statistic stays exact,
percentiles included. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

UNITS = (
    "None", "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second",
)
UNIT_CODE = {u: i for i, u in enumerate(UNITS)}

JOURNAL_FILE = "metrics.journal"
BATCH_ROWS = 50_000

# (age in seconds after which, resolution the timestamps are floored to)
ROLL_UP = ((3 * 3600, 60), (15 * 86400, 300), (63 * 86400, 3600))
RETENTION = 455 * 86400

DDL = """
CREATE TABLE IF NOT EXISTS metric_ids (
    id INTEGER PRIMARY KEY,
    account VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    namespace VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    dims VARCHAR NOT NULL,
    last_put DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS metric_points (
    mid INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    ts DOUBLE NOT NULL,
    res SMALLINT NOT NULL,
    unit SMALLINT NOT NULL,
    n DOUBLE NOT NULL,
    s DOUBLE NOT NULL,
    lo DOUBLE NOT NULL,
    hi DOUBLE NOT NULL,
    v DOUBLE
);
"""

_CSV_COLUMNS = (
    "{'mid': 'INTEGER', 'seq': 'BIGINT', 'ts': 'DOUBLE', 'res': 'SMALLINT', 'unit': 'SMALLINT', "
    "'n': 'DOUBLE', 's': 'DOUBLE', 'lo': 'DOUBLE', 'hi': 'DOUBLE', 'v': 'DOUBLE'}"
)

# The basic statistics as DuckDB aggregates over the stored rows (fixed texts, never
# built from a request).
BASIC_SQL = {
    "SampleCount": "sum(n)", "Sum": "sum(s)", "Average": "sum(s) / sum(n)", "Minimum": "min(lo)", "Maximum": "max(hi)",
}

MetricKey = tuple[str, str, str, str, str]  # account, region, namespace, name, dims JSON


def dims_key(dimensions: Iterable[dict[str, str]] | None) -> str:
    """Canonical form of a dimension list: order does not make a different metric."""
    pairs = sorted((d["Name"], d["Value"]) for d in dimensions or ())
    return json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)


def dims_from_key(key: str) -> list[dict[str, str]]:
    return [{"Name": n, "Value": v} for n, v in json.loads(key)]


class MetricStore:
    """The metric data set; one per runtime (the CloudWatch provider owns it)."""

    def __init__(self, telemetry: Any, data_dir: Path | None) -> None:
        self.telemetry = telemetry
        self.lock: threading.RLock = telemetry.lock
        self._tmp = None if data_dir is not None else tempfile.mkdtemp(prefix="mamori-metrics-")
        self._journal = Path(data_dir or self._tmp) / JOURNAL_FILE
        self._ids: dict[MetricKey, int] = {}
        self._dims_cache: dict[tuple, str] = {}
        self._last_put: dict[int, float] = {}
        self._dirty_last_put: set[int] = set()
        self._pending = 0
        self._seq = 0
        self._next_id = 1
        with self.lock:
            telemetry.schema("metrics", DDL)
            conn = telemetry.connection()
            for row in conn.execute("SELECT id, account, region, namespace, name, dims, last_put FROM metric_ids").fetchall():
                self._ids[(row[1], row[2], row[3], row[4], row[5])] = row[0]
                self._last_put[row[0]] = row[6]
                self._next_id = max(self._next_id, row[0] + 1)
            self._seq = int(conn.execute("SELECT coalesce(max(seq), 0) FROM metric_points").fetchone()[0])
            leftover = self._journal.exists() and self._journal.stat().st_size > 0
            self._fd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if leftover:
                self._pending = 1
                self.flush()
        telemetry.on_reset(self._clear)

    # -- writing ---------------------------------------------------------------------

    def dims_key(self, dimensions: Iterable[dict[str, str]] | None) -> str:
        """`dims_key`, memoized (it runs for every datum of every PutMetricData)."""
        pairs = tuple(sorted((d["Name"], d["Value"]) for d in dimensions or ()))
        key = self._dims_cache.get(pairs)
        if key is None:
            key = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)
            if len(self._dims_cache) > 100_000:
                self._dims_cache.clear()
            self._dims_cache[pairs] = key
        return key

    def metric_id(self, account: str, region: str, namespace: str, name: str, dims: str, now: float) -> int:
        key = (account, region, namespace, name, dims)
        mid = self._ids.get(key)
        if mid is None:
            with self.lock:  # noqa: SIM117 - checked again under the lock
                mid = self._ids.get(key)
                if mid is None:
                    mid = self._next_id
                    self._next_id += 1
                    self.telemetry.connection().execute(
                        "INSERT INTO metric_ids VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [mid, account, region, namespace, name, dims, now],
                    )
                    self._ids[key] = mid
        self._last_put[mid] = now
        self._dirty_last_put.add(mid)
        return mid

    def append_points(self, account: str, region: str, namespace: str, rows: list[tuple], now: float) -> None:
        """Rows of (name, dims key, ts, res, unit, n, s, lo, hi, v) of one namespace: the
        metric ids resolved (new metrics created) and the journal written in one pass,
        durable when this returns. PutMetricData's hot path: one line of CSV per row, the
        value formatted once when the row is a single sample."""
        if not rows:
            return
        ids = self._ids
        with self.lock:
            last_put = self._last_put
            dirty = self._dirty_last_put
            seq = self._seq
            lines = []
            for name, dims, ts, res, unit, n, s, lo, hi, v in rows:
                key = (account, region, namespace, name, dims)
                mid = ids.get(key)
                if mid is None:
                    mid = self.metric_id(account, region, namespace, name, dims, now)
                last_put[mid] = now
                dirty.add(mid)
                seq += 1
                if n == 1.0 and v is not None and v == s == lo == hi:
                    x = repr(v)
                    lines.append(f"{mid},{seq},{ts!r},{res},{unit},1.0,{x},{x},{x},{x}\n")
                else:
                    lines.append(f"{mid},{seq},{ts!r},{res},{unit},{n!r},{s!r},{lo!r},{hi!r},{'' if v is None else repr(v)}\n")
            os.write(self._fd, "".join(lines).encode())
            self._seq = seq
            self._pending += len(rows)
            if self._pending >= BATCH_ROWS:
                self.flush()

    def append(self, rows: list[tuple[int, float, int, int, float, float, float, float, float | None]]) -> None:
        """Rows of (mid, ts, res, unit, n, s, lo, hi, v); durable when this returns."""
        if not rows:
            return
        with self.lock:
            lines = []
            seq = self._seq
            for mid, ts, res, unit, n, s, lo, hi, v in rows:
                seq += 1
                lines.append(f"{mid},{seq},{ts!r},{res},{unit},{n!r},{s!r},{lo!r},{hi!r},{'' if v is None else repr(v)}\n")
            os.write(self._fd, "".join(lines).encode())
            self._seq = seq
            self._pending += len(rows)
            if self._pending >= BATCH_ROWS:
                self.flush()

    def flush(self) -> None:
        with self.lock:
            if not self._pending and not self._dirty_last_put:
                return
            conn = self.telemetry.connection()
            if self._pending:
                conn.execute(
                    "INSERT INTO metric_points SELECT * FROM read_csv(?, columns = " + _CSV_COLUMNS + ", header = false, "
                    "auto_detect = false, nullstr = '') WHERE seq > (SELECT coalesce(max(seq), 0) FROM metric_points)",
                    [str(self._journal)],
                )
                os.ftruncate(self._fd, 0)
                self._pending = 0
            if self._dirty_last_put:
                pairs = [(mid, self._last_put[mid]) for mid in self._dirty_last_put]
                conn.execute(
                    "UPDATE metric_ids SET last_put = u.t FROM (SELECT unnest(?) AS i, unnest(?) AS t) u WHERE id = u.i",
                    [[p[0] for p in pairs], [p[1] for p in pairs]],
                )
                self._dirty_last_put.clear()

    # -- reading ---------------------------------------------------------------------

    def find(self, account: str, region: str, namespace: str, name: str, dims: str) -> int | None:
        return self._ids.get((account, region, namespace, name, dims))

    def metrics(self, account: str, region: str) -> list[tuple[int, str, str, str, float]]:
        """(id, namespace, name, dims JSON, last_put) of every metric of an account and Region."""
        with self.lock:  # scheduler jobs (alarms) may read while a request adds a metric
            items = list(self._ids.items())
            last_put = dict(self._last_put)
        return [
            (mid, key[2], key[3], key[4], last_put.get(mid, 0.0))
            for key, mid in items
            if key[0] == account and key[1] == region
        ]

    def _query(self, sql: str, args: list[Any]) -> list[tuple]:
        """Run a read over metric_points with every pending point loaded first."""
        with self.lock:
            self.flush()
            return self.telemetry.connection().execute(sql, args).fetchall()

    def aggregates(
        self, mids: list[int], start: float, end: float, period: int, origin: float, now: float,
        unit: int | None = None, by_unit: bool = False,
    ) -> list[tuple]:
        """(mid, bucket start, [unit,] n, sum, min, max) per period bucket with data.
        Buckets are `origin + k * period`; only points with start <= ts < end count."""
        if not mids:
            return []
        unit_sql = " AND unit = ?" if unit is not None else ""
        group = ", unit" if by_unit else ""
        sql = (
            f"SELECT mid, ? + floor((ts - ?) / ?) * ? AS b{group}, sum(n), sum(s), min(lo), max(hi) "
            f"FROM metric_points WHERE list_contains(?, mid) AND ts >= ? AND ts < ? AND ts >= ?{unit_sql} "
            f"GROUP BY mid, b{group} ORDER BY mid, b"
        )
        args: list[Any] = [origin, origin, period, period, mids, start, end, now - RETENTION]
        if unit is not None:
            args.append(unit)
        return self._query(sql, args)

    def statistic_series(
        self, mid: int, start: float, end: float, period: int, origin: float, now: float,
        statistic: str, unit: int | None = None,
    ) -> list[tuple[float, float]]:
        """(bucket start, value) ascending of one basic statistic (a BASIC_SQL key) of one
        metric, aggregated by DuckDB: one GROUP BY on the bucket number, whatever the
        period (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic)."""
        unit_sql = " AND unit = ?" if unit is not None else ""
        sql = (
            f"SELECT ? + floor((ts - ?) / ?) * ? AS b, {BASIC_SQL[statistic]} "
            f"FROM metric_points WHERE mid = ? AND ts >= ? AND ts < ? AND ts >= ?{unit_sql} GROUP BY b ORDER BY b"
        )
        args: list[Any] = [origin, origin, period, period, mid, start, end, now - RETENTION]
        if unit is not None:
            args.append(unit)
        return self._query(sql, args)

    def percentile_series(
        self, mid: int, start: float, end: float, period: int, origin: float, now: float,
        percent: float, unit: int | None = None,
    ) -> list[tuple[float, float]]:
        """(bucket start, pNN) ascending, nearest rank (the smallest value with at least
        `percent`% of the samples at or below it, as statistics.percentile), computed by
        DuckDB with a running count per bucket. Buckets holding a statistic set that is
        not one repeated value have no percentile (see `distributions`)."""
        unit_sql = " AND unit = ?" if unit is not None else ""
        sql = (
            f"WITH g AS ({_values_by_bucket(unit_sql)}), "
            "w AS (SELECT k, x, ok, sum(c) OVER (PARTITION BY k ORDER BY x ROWS UNBOUNDED PRECEDING) AS cum, "
            "sum(c) OVER (PARTITION BY k) AS tot FROM g) "
            "SELECT ? + k * ? AS b, min(x) FILTER (WHERE cum >= greatest(1, ceil(? / 100.0 * tot - 1e-9))) "
            "FROM w GROUP BY k HAVING bool_and(ok) AND sum(tot) > 0 ORDER BY k"
        )
        args: list[Any] = [origin, period, mid, start, end, now - RETENTION]
        if unit is not None:
            args.append(unit)
        args += [origin, period, percent]
        return self._query(sql, args)

    def bounded_series(
        self, mid: int, start: float, end: float, period: int, origin: float, now: float,
        kind: str, low: float | None, high: float | None, percent: bool, unit: int | None = None,
    ) -> list[tuple[float, float | None]]:
        """(bucket start, value) ascending of a bounded extended statistic (kind TM, WM,
        TC, TS or PR, statistics.py's definitions) computed by DuckDB: values with their
        counts per bucket, a running count for percent bounds (nearest rank, as
        statistics.percentile), then the kept values' sums. None where the statistic
        has no value (nothing within the bounds); buckets of statistic sets that are
        not one repeated value are left out (see `distributions`)."""
        unit_sql = " AND unit = ?" if unit is not None else ""
        args: list[Any] = [origin, period, mid, start, end, now - RETENTION]
        if unit is not None:
            args.append(unit)

        def bound(value: float | None, upper: bool) -> str:
            if value is None or (percent and not upper and not value) or (percent and upper and value >= 100):
                return "NULL"
            args.append(float(value))
            if not percent:
                return "?"
            return "min(x) FILTER (WHERE cum >= greatest(1, ceil(? / 100.0 * tot - 1e-9)))"

        lo_sql, hi_sql = bound(low, False), bound(high, True)
        kept = "(b.lo_b IS NULL OR w.x > b.lo_b) AND (b.hi_b IS NULL OR w.x <= b.hi_b)"
        value = {
            "TM": f"sum(w.x * w.c) FILTER (WHERE {kept}) / nullif(sum(w.c) FILTER (WHERE {kept}), 0)",
            "TS": f"CASE WHEN sum(w.c) FILTER (WHERE {kept}) > 0 THEN sum(w.x * w.c) FILTER (WHERE {kept}) END",
            "TC": f"coalesce(sum(w.c) FILTER (WHERE {kept}), 0)",
            "PR": f"100.0 * coalesce(sum(w.c) FILTER (WHERE {kept}), 0) / b.tot",
            "WM": "sum(least(greatest(w.x, coalesce(b.lo_b, b.xmin)), coalesce(b.hi_b, b.xmax)) * w.c) / b.tot",
        }[kind]
        args += [origin, period]
        sql = (
            f"WITH g AS ({_values_by_bucket(unit_sql)}), "
            "w AS (SELECT k, x, c, ok, sum(c) OVER (PARTITION BY k ORDER BY x ROWS UNBOUNDED PRECEDING) AS cum, "
            "sum(c) OVER (PARTITION BY k) AS tot FROM g), "
            f"b AS (SELECT k, bool_and(ok) AS ok, any_value(tot) AS tot, min(x) AS xmin, max(x) AS xmax, "
            f"{lo_sql} AS lo_b, {hi_sql} AS hi_b FROM w GROUP BY k) "
            f"SELECT ? + b.k * ? AS t, {value} FROM w JOIN b ON w.k = b.k WHERE b.ok AND b.tot > 0 "
            "GROUP BY b.k, b.tot, b.xmin, b.xmax, b.lo_b, b.hi_b ORDER BY b.k"
        )
        return self._query(sql, args)

    def distributions(
        self, mids: list[int], start: float, end: float, period: int, origin: float, now: float,
        unit: int | None = None, by_unit: bool = False,
    ) -> list[tuple]:
        """(mid, bucket, [unit,] value, count, exact) rows ordered by value within a
        bucket, for percentile-type statistics. Statistic sets count as values only
        when they are one value repeated (SampleCount 1, or Min = Max); otherwise the
        row comes back with exact = False and the bucket has no percentile."""
        if not mids:
            return []
        unit_sql = " AND unit = ?" if unit is not None else ""
        group = ", unit" if by_unit else ""
        sql = (
            f"SELECT mid, ? + floor((ts - ?) / ?) * ? AS b{group}, coalesce(v, lo) AS x, sum(n), "
            f"bool_and(v IS NOT NULL OR n = 1 OR lo = hi) "
            f"FROM metric_points WHERE list_contains(?, mid) AND ts >= ? AND ts < ? AND ts >= ?{unit_sql} "
            f"GROUP BY mid, b{group}, x ORDER BY mid, b{group}, x"
        )
        args: list[Any] = [origin, origin, period, period, mids, start, end, now - RETENTION]
        if unit is not None:
            args.append(unit)
        return self._query(sql, args)

    def oldest_resolution(self, mids: list[int]) -> int:
        with self.lock:
            self.flush()
            row = self.telemetry.connection().execute(
                "SELECT min(res) FROM metric_points WHERE list_contains(?, mid)", [mids]
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else 60

    # -- roll-up and retention ---------------------------------------------------------

    def roll_up(self, now: float) -> None:
        """Floor old timestamps to the coarser resolution and merge rows (see module doc)."""
        with self.lock:
            self.flush()
            conn = self.telemetry.connection()
            conn.execute("DELETE FROM metric_points WHERE ts < ?", [now - RETENTION])
            for age, res in ROLL_UP:
                cutoff = now - age
                where = f"ts < {cutoff!r} AND ts <> floor(ts / {res}) * {res}"
                if not conn.execute(f"SELECT count(*) FROM metric_points WHERE {where}").fetchone()[0]:
                    continue
                conn.execute("BEGIN TRANSACTION")
                try:
                    conn.execute(
                        f"CREATE TEMP TABLE rolled AS SELECT mid, max(seq) AS seq, floor(ts / {res}) * {res} AS ts, "
                        f"max(res) AS res, unit, sum(n) AS n, sum(s) AS s, min(lo) AS lo, max(hi) AS hi, v "
                        f"FROM metric_points WHERE {where} GROUP BY mid, floor(ts / {res}) * {res}, unit, v"
                    )
                    conn.execute(f"DELETE FROM metric_points WHERE {where}")
                    conn.execute("INSERT INTO metric_points SELECT mid, seq, ts, res, unit, n, s, lo, hi, v FROM rolled")
                    conn.execute("DROP TABLE rolled")
                    conn.execute("COMMIT")
                except Exception:
                    conn.execute("ROLLBACK")
                    raise

    # -- lifecycle -------------------------------------------------------------------

    def _clear(self) -> None:
        with self.lock:
            os.ftruncate(self._fd, 0)
            self._pending = 0
            self._dirty_last_put.clear()
            self._ids.clear()
            self._last_put.clear()
            conn = self.telemetry.connection()
            conn.execute("DELETE FROM metric_points")
            conn.execute("DELETE FROM metric_ids")

    def close(self) -> None:
        with self.lock:
            try:
                self.flush()
            finally:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
                if self._tmp is not None:
                    shutil.rmtree(self._tmp, ignore_errors=True)


# -- what mamori's services did, for the metrics AWS publishes about them ------------------
#
# Read-only aggregates over data sets other modules own (the CloudTrail journal of
# store/telemetry.py, the log events of store/logs.py), for CloudWatch's service
# metrics (services/cloudwatch/service_metrics.py). Both take the rows added since a
# row number (CloudTrail's seq, the log event id: both only grow, whatever the clock
# does) and answer per minute of the rows' own times, with the newest row number seen.


def api_call_counts(telemetry: Any, after_seq: int) -> tuple[list[tuple[str, str, str, str, float, int]], int]:
    """([(account, region, event source, operation, minute start, calls)], newest seq)
    for the API calls recorded (CloudTrail) after `after_seq`."""
    telemetry.flush()
    with telemetry.lock:
        conn = telemetry.connection()
        newest = int(conn.execute("SELECT coalesce(max(seq), 0) FROM cloudtrail_events").fetchone()[0])
        if newest <= after_seq:
            return [], after_seq
        rows = conn.execute(
            "SELECT account, region, event_source, event_name, floor(event_time / 60) * 60 AS minute, count(*) "
            "FROM cloudtrail_events WHERE seq > ? AND seq <= ? AND event_name IS NOT NULL GROUP BY ALL ORDER BY ALL",
            [after_seq, newest],
        ).fetchall()
    return rows, newest


def log_ingestion(telemetry: Any, after_id: int) -> tuple[list[tuple[str, str, str, float, int, int]], int]:
    """([(account, region, log group, minute start, events, bytes)], newest id) for the
    log events stored after event id `after_id`, by minute of ingestion: bytes are the
    messages' UTF-8 size (a sealed event's is its ciphertext's: AES-GCM keeps the
    length, less the 12-byte nonce and 16-byte tag)."""
    from mamori.store import logs

    logs.sync(telemetry)
    with telemetry.lock:
        conn = telemetry.connection()
        try:
            newest = int(conn.execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - no Logs data set in this runtime yet
            if "log_events" in str(exc):
                return [], after_id
            raise
        if newest <= after_id:
            return [], after_id
        # The size column holds each message's UTF-8 length (the plaintext's for sealed
        # events). Summing a CASE over strlen and the sealed blobs instead tripped a
        # DuckDB 2.0 bug (the sum narrowed to INT8, then overflowed or came out wrong).
        rows = conn.execute(
            "SELECT account, region, log_group, floor(ingestion_time / 60000) * 60 AS minute, count(*), "
            "coalesce(sum(size), 0)::BIGINT FROM log_events WHERE id > ? AND id <= ? GROUP BY ALL ORDER BY ALL",
            [after_id, newest],
        ).fetchall()
    return rows, newest


def _values_by_bucket(unit_sql: str) -> str:
    """One metric's points as (bucket number k, value x, count c, ok) - ok is false for a
    statistic set that is not one repeated value - for the percentile-type statistics.
    Parameters: origin, period, mid, start, end, retention cut-off[, unit]."""
    return ("SELECT floor((ts - ?) / ?) AS k, coalesce(v, lo) AS x, sum(n) AS c, "
            "bool_and(v IS NOT NULL OR n = 1 OR lo = hi) AS ok "
            f"FROM metric_points WHERE mid = ? AND ts >= ? AND ts < ? AND ts >= ?{unit_sql} GROUP BY k, x")
