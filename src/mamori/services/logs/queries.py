"""Logs Insights operations (mixin of LogsProvider): StartQuery, GetQueryResults,
StopQuery, DescribeQueries, ListLogGroupsForQuery and the query definitions.

A query is a resource-store doc (kind logs:query) holding its status, statistics and,
once complete, its rows. StartQuery parses and compiles the query at once (a bad query
is a MalformedQueryException naming the position), then runs the SQL on a worker
thread with a DuckDB cursor of its own, off the event loop. GetQueryResults waits a
little (at most WAIT_SECONDS, without blocking the event loop) for a query about to
finish, so that a client polling right after StartQuery sees it Complete.

Before the SQL runs, the cursor may get a temporary `log_events` shadowing the stored
table for this query's groups and range (DuckDB looks in the temp schema first):
sealed events opened with their data keys (store/logs.py prepare_query, for groups with
a KMS key), and messages masked by the groups' data protection policies unless the
query has `unmask` (which needs logs:Unmask on every group).

Limits (CloudWatch Logs quotas and the StartQuery / GetQueryResults references):
100 concurrent queries per account and Region, 50 log groups per query (or a SOURCE
command), `limit` 1..100,000 rows read 10,000 per GetQueryResults page, a query times out
after 60 minutes, results are kept for 7 days.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatchLogs-Insights-Query-History.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    GROUP,
    group_arn,
    invalid,
    make_token,
    not_found,
    read_token,
    resource_tag_keys,
)
from mamori.store import logs as events_store

QUERY = "logs:query"
RESULTS = "logs:query-results"  # a query's rows, apart from its doc (listing stays light)
DEFINITION = "logs:query-definition"
ACCOUNT_POLICY = "logs:account-policy"
MAX_CONCURRENT = 100     # concurrent Logs Insights QL queries per account and Region
MAX_GROUPS = 50          # log groups per query
MAX_SOURCE_GROUPS = 10_000  # log groups a SOURCE command may select
DEFAULT_LIMIT = 10_000
PAGE = 10_000            # rows per GetQueryResults page
TIMEOUT_SECONDS = 3600   # a query times out after 60 minutes
KEEP_SECONDS = 7 * 86400  # results of a query are retrievable for 7 days
WAIT_SECONDS = 0.5       # GetQueryResults waits this long for a running query to finish
ACTIVE = ("Scheduled", "Running")
NOT_FOR_INFREQUENT = ("pattern", "diff", "unmask", "filterindex")


def _query_arn(ctx: RequestContext, query_id: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:query:{query_id}"


def _definition_arn(ctx: RequestContext, def_id: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:query-definition:{def_id}"


def _format(value: Any, typ: str) -> str | None:
    if value is None:
        return None
    if typ == "time":
        t = dt.datetime.fromtimestamp(int(value) / 1000, dt.timezone.utc)
        return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(round(value, 10))
    return str(value)


def _months_back(ms: int) -> int:
    """The same time one calendar month earlier (day clamped to the month's length)."""
    import calendar
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    year, month = (t.year, t.month - 1) if t.month > 1 else (t.year - 1, 12)
    day = min(t.day, calendar.monthrange(year, month)[1])
    return int(t.replace(year=year, month=month, day=day).timestamp() * 1000)


def _previous_window(start_ms: int, end_ms: int, period: str) -> tuple[int, int]:
    """The comparison window of `diff` (inclusive bounds, ms): the period of equal length
    just before, or the same times a day, a week or a calendar month earlier.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Diff.html"""
    if period == "previousDay":
        return start_ms - 86_400_000, end_ms - 86_400_000
    if period == "previousWeek":
        return start_ms - 7 * 86_400_000, end_ms - 7 * 86_400_000
    if period == "previousMonth":
        return _months_back(start_ms), _months_back(end_ms)
    return start_ms - (end_ms - start_ms + 1), start_ms - 1


class QueryOperations:
    """Logs Insights: the mixin LogsProvider inherits."""

    def _query_pool(self) -> Any:
        pool = getattr(self, "_insights_pool", None)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor
            pool = self._insights_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="logs-insights")
            self._insights_jobs: dict[str, Any] = {}
            self._insights_cursors: dict[str, Any] = {}
            self._status_lock()
        return pool

    def _status_lock(self) -> Any:
        """Held around every read-check-write of a query's status (worker threads finish
        queries while StopQuery and the timeout change them on the event loop)."""
        lock = getattr(self, "_insights_lock", None)
        if lock is None:
            import threading
            lock = self._insights_lock = threading.RLock()
        return lock

    # -- StartQuery ----------------------------------------------------------------------
    def start_query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        from mamori.services.logs.insights.compiler import Compiler
        from mamori.services.logs.insights.lexer import MalformedQuery
        from mamori.services.logs.insights.parser import parse

        language = request.get("queryLanguage") or "CWLI"
        query = request.get("queryString", "")
        try:
            commands = parse(query) if language == "CWLI" else None
        except MalformedQuery as exc:
            commands = exc
        source = commands[0].source if isinstance(commands, list) and commands[0].kind == "source" else None
        if source is not None:
            if any(request.get(k) for k in ("logGroupName", "logGroupNames", "logGroupIdentifiers")):
                raise invalid("A query with a SOURCE command must not also name log groups "
                              "(logGroupName, logGroupNames or logGroupIdentifiers)")
            docs = self._source_groups(ctx, source)
            for doc in docs:
                ctx.authorize("logs:StartQuery", group_arn(ctx, name=doc["logGroupName"]), resource_tag_keys(doc))
            if not docs:
                ctx.authorize("logs:StartQuery", group_arn(ctx, name="*"))
            names = [d["logGroupName"] for d in docs]
        else:
            names = self._query_groups(request)
            found = {name: ctx.store.get(group_arn(ctx, name=name)) for name in names}
            for name in names:
                ctx.authorize("logs:StartQuery", group_arn(ctx, name=name), resource_tag_keys(found[name] or {}))
        if language != "CWLI":
            raise invalid(f"Query language {language} is not supported by mamori yet")
        start, end = request["startTime"], request["endTime"]
        if end < start:
            raise invalid("End time should not be before the start time")
        limit = request.get("limit") or DEFAULT_LIMIT
        if source is None:
            docs = []
            for name in names:
                doc = found[name]
                if doc is None:
                    raise error("ResourceNotFoundException", f"Log group '{name}' does not exist for account ID "
                                f"'{ctx.account_id}' (Service: AWSLogs; Status Code: 400)")
                docs.append(doc)
        if isinstance(commands, Exception):
            raise error("MalformedQueryException", str(commands), queryCompileError={"message": str(commands)})
        by_name = {d["logGroupName"]: d for d in docs}
        analyzed = set(by_name)  # filterIndex on a field narrows the log groups the query reads

        def indexed(name: str) -> dict[str, int]:
            groups = self._indexed(ctx, by_name, name)
            analyzed.intersection_update(groups)
            return groups
        try:
            compiled = Compiler(indexed).compile(commands, limit, "log_events")
        except MalformedQuery as exc:
            raise error("MalformedQueryException", str(exc), queryCompileError={"message": str(exc)}) from None
        now = ctx.time()
        self._check_range(docs, start, end, now)
        for doc in docs:
            if doc.get("logGroupClass") == "INFREQUENT_ACCESS":
                bad = sorted(compiled.commands & set(NOT_FOR_INFREQUENT))
                if bad:
                    msg = (f"The command '{'filterIndex' if bad[0] == 'filterindex' else bad[0]}' is not supported "
                           f"for log groups in the Infrequent Access log class ('{doc['logGroupName']}')")
                    raise error("MalformedQueryException", msg, queryCompileError={"message": msg})
        if compiled.unmask:
            for doc in docs:
                ctx.authorize("logs:Unmask", group_arn(ctx, name=doc["logGroupName"]), resource_tag_keys(doc))
        # the queries of this account and Region a worker has not finished (a query left
        # active by a restart reads as Failed: only this process's workers run queries)
        prefix = _query_arn(ctx, "")
        running = [a for a, f in getattr(self, "_insights_jobs", {}).items() if a.startswith(prefix) and not f.done()]
        if len(running) >= MAX_CONCURRENT:
            raise error("LimitExceededException", "Account maximum query concurrency limit of "
                        f"[{MAX_CONCURRENT}] reached.")
        start_ms, end_ms = int(start) * 1000, int(end) * 1000 + 999
        read_from, previous = start_ms, (-1, -1)
        if compiled.pattern is not None and compiled.pattern.diff is not None:
            previous = _previous_window(start_ms, end_ms, compiled.pattern.diff)
            read_from = min(start_ms, previous[0])
        job = {"account": ctx.account_id, "region": ctx.region, "groups": names, "start": start_ms,
               "end": end_ms, "read_from": read_from, "previous": previous,
               "scanned_groups": len([n for n in names if n in analyzed]),
               "skipped_groups": [n for n in names if n not in analyzed],
               "masks": {} if compiled.unmask else {d["logGroupName"]: (d["_dataProtection"],
                                                                        int(d.get("_dataProtectionTime") or 0))
                                                    for d in docs if d.get("_dataProtection")},
               "keys": self._sealed_keys(ctx, docs, read_from, end_ms)}
        query_id = str(uuid.uuid4())
        arn = _query_arn(ctx, query_id)
        doc = {"queryId": query_id, "queryString": query, "status": "Scheduled", "createTime": int(now * 1000),
               "logGroupNames": names, "queryLanguage": language,
               "analyzed": [n for n in names if n in analyzed],
               "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}}
        ctx.store.put(arn, doc, kind=QUERY, account_id=ctx.account_id, region=ctx.region)
        pool = self._query_pool()
        for done in [a for a, f in self._insights_jobs.items() if f.done()]:  # never polled again
            self._insights_jobs.pop(done, None)
        self._insights_jobs[arn] = pool.submit(self._run_query, ctx.store, ctx.telemetry, arn, compiled, job)
        return {"queryId": query_id}

    def _tag_keys(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        """aws:ResourceTag/* condition keys of a log group ('*' and groups gone: none)."""
        doc = ctx.store.get(group_arn(ctx, name=name)) if name != "*" else None
        return resource_tag_keys(doc or {})

    def _query_groups(self, request: dict[str, Any]) -> list[str]:
        given = [k for k in ("logGroupName", "logGroupNames", "logGroupIdentifiers") if request.get(k)]
        if len(given) > 1:
            raise invalid("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified")
        if not given:
            raise invalid("Log group name or identifiers must be specified")
        raw = request[given[0]]
        raw = [raw] if isinstance(raw, str) else list(raw)
        if len(raw) > MAX_GROUPS:
            raise invalid(f"Maximum number of log groups ({MAX_GROUPS}) exceeded")
        names = []
        for ident in raw:
            if ident.startswith("arn:"):
                parts = ident.split(":")
                if len(parts) < 7 or parts[5] != "log-group" or ident.endswith("*"):
                    raise invalid(f"Invalid log group identifier: {ident}")
                ident = parts[6]
            if ident not in names:
                names.append(ident)
        return names

    def _source_groups(self, ctx: RequestContext, source: dict[str, Any]) -> list[dict[str, Any]]:
        """The log groups SOURCE logGroups(...) selects: by name prefix (any, when none is
        given), account (only this account's groups exist here) and class (Standard when
        none is given). https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Source.html"""
        prefixes = source.get("namePrefix") or [""]
        accounts = source.get("accountIdentifiers")
        classes = {c.upper() for c in source.get("class") or ["STANDARD"]}
        if accounts is not None and ctx.account_id not in accounts:
            return []
        docs = [d for d in ctx.store.list(GROUP, account_id=ctx.account_id, region=ctx.region)
                if any(d["logGroupName"].startswith(p) for p in prefixes)
                and d.get("logGroupClass", "STANDARD") in classes]
        if len(docs) > MAX_SOURCE_GROUPS:
            raise error("LimitExceededException", f"The SOURCE command selected more than {MAX_SOURCE_GROUPS} "
                        "log groups")
        return sorted(docs, key=lambda d: d["logGroupName"])

    def _indexed(self, ctx: RequestContext, docs: dict[str, dict], name: str) -> dict[str, int]:
        """Groups of the query with a field index on `name` (from their index policy or an
        account FIELD_INDEX_POLICY) -> the time (ms) the index was created."""
        import json as _json
        out: dict[str, int] = {}
        for group, doc in docs.items():
            policy = doc.get("_indexPolicy")
            if policy:
                try:
                    fields = _json.loads(policy["policyDocument"]).get("Fields") or []
                except (ValueError, AttributeError):
                    fields = []
                if name in fields:
                    out[group] = int(policy.get("lastUpdateTime") or 0)
        for policy in ctx.store.list(ACCOUNT_POLICY, account_id=ctx.account_id, region=ctx.region):
            if policy.get("policyType") != "FIELD_INDEX_POLICY":
                continue
            try:
                fields = _json.loads(policy["policyDocument"]).get("Fields") or []
            except (ValueError, AttributeError):
                continue
            if name not in fields:
                continue
            prefixes = _selection_prefixes(policy.get("selectionCriteria"))
            for group in docs:
                if group not in out and (prefixes is None or any(group.startswith(p) for p in prefixes)):
                    out[group] = int(policy.get("lastUpdatedTime") or 0)
        return out

    def _check_range(self, docs: list[dict], start: int, end: int, now: float) -> None:
        """A query whose whole range is before the log groups were created, or older than
        what their retention keeps, is refused (message as AWS reports it)."""
        if not docs:
            return
        end_ms = int(end) * 1000 + 999
        created = min(int(d.get("creationTime") or 0) for d in docs)
        kept = [int(now * 1000) - int(d["retentionInDays"]) * 86_400_000 for d in docs if d.get("retentionInDays")]
        oldest_kept = min(kept) if len(kept) == len(docs) else None
        if end_ms < created or (oldest_kept is not None and end_ms < oldest_kept):
            msg = ("Query's end date and time is either before the log groups creation time or exceeds the "
                   "log groups log retention settings")
            raise error("MalformedQueryException", msg, queryCompileError={"message": msg})

    def _sealed_keys(self, ctx: RequestContext, docs: list[dict], start: int, end: int) -> dict:
        """Plaintext data keys for the sealed events in range (groups with a KMS key), asked
        from KMS now, as the caller's request: a disabled key fails the query here."""
        sealed_keys = getattr(events_store, "sealed_keys", None)
        if sealed_keys is None or not any(d.get("_dataKeys") for d in docs):
            return {}
        from mamori.services.logs import encryption
        wanted = sealed_keys(ctx.telemetry, ctx.account_id, ctx.region,
                             [d["logGroupName"] for d in docs if d.get("_dataKeys")], start=start, end=end)
        by_name = {d["logGroupName"]: d for d in docs}
        keys: dict[tuple[str, str], bytes] = {}
        for group, names in wanted.items():
            for key_name in names:
                keys[(group, key_name)] = encryption.data_key(ctx.runtime, ctx, by_name[group], key_name)
        aads = {g: encryption.aad(ctx, ctx.account_id, g) for g in wanted}
        return {"keys": keys, "aad": aads}

    # -- running ---------------------------------------------------------------------------
    def _run_query(self, store: Any, telemetry: Any, arn: str, compiled: Any, job: dict) -> None:
        doc = store.get(arn)
        if doc is None or doc["status"] != "Scheduled":
            return
        account, region = arn.split(":")[4], arn.split(":")[3]
        try:
            events_store.ensure(telemetry)
            events_store.sync(telemetry)
            cur = telemetry.cursor()
            self._insights_cursors[arn] = cur  # StopQuery interrupts it
            try:
                self._prepare(cur, job)
                with telemetry.parallel(cur):
                    if compiled.pattern is not None:
                        results, stats = self._run_pattern(cur, compiled, job)
                    else:
                        results, stats = self._run_sql(cur, compiled, job)
                if job["skipped_groups"]:  # filterIndex skipped the groups not indexed on its field
                    n, size = cur.execute(
                        "SELECT count(*), sum(size) FROM log_events WHERE account = ? AND region = ? AND "
                        "list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?",
                        [job["account"], job["region"], job["skipped_groups"], job["start"], job["end"]]).fetchone()
                    stats.update(estimatedRecordsSkipped=float(n or 0), estimatedBytesSkipped=float(size or 0))
            finally:
                self._insights_cursors.pop(arn, None)
                cur.close()
            store.put(arn + "/results", {"rows": results}, kind=RESULTS, account_id=account, region=region)
            with self._status_lock():
                doc = store.get(arn)
                if doc is None or doc["status"] not in ACTIVE:
                    return  # stopped or timed out meanwhile
                doc["statistics"] = {**stats, "logGroupsScanned": float(job["scanned_groups"])}
                doc["status"] = "Complete"
                store.put(arn, doc, kind=QUERY, account_id=account, region=region)
        except Exception as exc:  # a query error is the query's Failed status, never a crash
            with self._status_lock():
                doc = store.get(arn) or doc
                if doc["status"] not in ACTIVE:
                    return
                doc["status"] = "Failed"
                doc["error"] = str(exc).splitlines()[0][:500]
                store.put(arn, doc, kind=QUERY, account_id=account, region=region)

    def _params(self, job: dict, start: int | None = None) -> list:
        return [job["account"], job["region"], job["groups"], job["start"] if start is None else start, job["end"]]

    def _prepare(self, cur: Any, job: dict) -> None:
        """Shadow log_events on this cursor when some events must be opened or masked."""
        keys = job.get("keys") or {}
        if keys:
            events_store.prepare_query(cur, job["account"], job["region"], job["groups"], job["read_from"],
                                       job["end"], keys["keys"], lambda g: keys["aad"][g])
        if not job["masks"]:
            return
        from mamori.services.logs.masking import masker
        shadowed = bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND "
                                    "table_name = 'log_events'").fetchone()[0])
        if not shadowed:
            cur.execute("CREATE TEMP TABLE log_events AS SELECT * FROM main.log_events WHERE account = ? AND "
                        "region = ? AND list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?",
                        self._params(job, job["read_from"]))
        for group, (policy, since) in sorted(job["masks"].items()):
            # events are masked as they are ingested: those from before the policy are not
            # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDataProtectionPolicy.html
            mask = masker(policy)
            rows = cur.execute("SELECT id, message FROM temp.log_events WHERE log_group = ? AND ingestion_time >= ?",
                               [group, since]).fetchall()
            changed = [(i, mask(m)) for i, m in rows]
            changed = [(i, m) for (i, m), (_, old) in zip(changed, rows) if m != old]
            if changed:
                cur.execute("UPDATE temp.log_events AS e SET message = o.m FROM (SELECT unnest(?::BIGINT[]) AS id, "
                            "unnest(?::VARCHAR[]) AS m) o WHERE e.id = o.id AND e.log_group = ?",
                            [[i for i, _ in changed], [m for _, m in changed], group])

    def _run_sql(self, cur: Any, compiled: Any, job: dict) -> tuple[list, dict]:
        params = self._params(job) * compiled.base_refs
        rows = cur.execute(compiled.sql, params).fetchall()
        ncols = len(compiled.columns)
        if rows:
            matched, scanned, scanned_bytes = rows[0][-3:]
        else:
            scanned, matched, scanned_bytes = cur.execute(compiled.stats_sql, self._params(job)).fetchone()
        results = []
        for row in rows:
            out = []
            for (name, typ), value in zip(compiled.columns, row[:ncols]):
                text = _format(value, typ)
                if text is not None:
                    out.append({"field": name, "value": text})
            if compiled.events:
                acct, region, group, event_id = row[ncols:ncols + 4]
                out.append({"field": "@ptr", "value": events_store.pointer(acct, region, group, event_id)})
            results.append(out)
        return results, {"recordsMatched": float(matched or 0), "recordsScanned": float(scanned or 0),
                         "bytesScanned": float(scanned_bytes or 0)}

    def _run_pattern(self, cur: Any, compiled: Any, job: dict) -> tuple[list, dict]:
        from mamori.services.logs.insights import anomalies, clusters
        plan = compiled.pattern
        start, end = job["start"], job["end"]
        bin_ms = max(1000, -(-(end - start + 1) // 10))
        prev_start, prev_end = job["previous"]
        sql = (plan.input_sql.replace("$bin_start", str(int(start))).replace("$bin_ms", str(int(bin_ms)))
               .replace("$cur_start", str(int(start))).replace("$prev_start", str(int(prev_start)))
               .replace("$prev_end", str(int(prev_end))))
        t0 = width = 0
        if plan.anomaly:
            # the span anomalies.py cuts into bins: the queried groups' events in the time
            # range, before any filter
            first, last = cur.execute(
                "SELECT min(ts), max(ts) FROM log_events WHERE account = ? AND region = ? AND "
                "list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?",
                self._params(job, job["read_from"])).fetchone()
            t0 = int(first if first is not None else start)
            width = max(1, -(-(int(last if last is not None else end) - t0 + 1) // anomalies.BINS))
            sql = sql.replace("$fbin_start", str(t0)).replace("$fbin_ms", str(width))
        found = cur.execute(sql, self._params(job, job["read_from"])).fetchall()
        fine: dict[str, dict[int, list]] = {}
        if plan.anomaly:  # no previous window: every row is current; fold the fine bins away
            merged: dict[tuple, list] = {}
            for v, b, is_cur, is_prev, n, ts, event_id, fbin in found:
                per = fine.setdefault(v, {}).setdefault(int(fbin), [0, ts])
                per[0] += int(n)
                per[1] = min(per[1], ts)
                m = merged.get((v, b, is_cur, is_prev))
                if m is None:
                    merged[(v, b, is_cur, is_prev)] = [v, b, is_cur, is_prev, int(n), ts, event_id]
                else:
                    m[4] += int(n)
                    if (ts, event_id) < (m[5], m[6]):
                        m[5], m[6] = ts, event_id
            found = [tuple(m) for m in merged.values()]
        # both windows are scanned (AWS: a comparison costs a query over the combined range)
        scanned, scanned_bytes = cur.execute(
            "SELECT count(*), sum(size) FROM log_events WHERE account = ? AND region = ? AND "
            "list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ? AND (ts >= ? OR ts BETWEEN ? AND ?)",
            self._params(job, job["read_from"]) + [start, prev_start, prev_end]).fetchone()
        rows = []  # (value, bin, in the current window, events, first ts, first id)
        for v, b, is_cur, is_prev, n, ts, event_id in found:
            if is_cur:
                rows.append((v, b, True, n, ts, event_id))
            if is_prev:
                rows.append((v, b, False, n, ts, event_id))
        matched = sum(int(r[3]) for r in rows if r[2])
        if plan.anomaly:
            table = anomalies.anomaly_rows(rows, fine, start, bin_ms, t0, width)
            cur.execute("CREATE TEMP TABLE _patterns (pattern VARCHAR, ratio DOUBLE, sample_count BIGINT, "
                        "severity VARCHAR, tokens VARCHAR, visualization VARCHAR, ts BIGINT, anomaly_type VARCHAR, "
                        "description VARCHAR, priority VARCHAR, score DOUBLE, anomalous BOOLEAN, "
                        "priority_rank INTEGER)")
        elif plan.diff is None:
            table = clusters.pattern_rows(rows, start, bin_ms)
            cur.execute("CREATE TEMP TABLE _patterns (pattern VARCHAR, ratio DOUBLE, sample_count BIGINT, "
                        "severity VARCHAR, tokens VARCHAR, visualization VARCHAR)")
        else:
            table = clusters.diff_rows(rows)
            cur.execute("CREATE TEMP TABLE _patterns (pattern VARCHAR, sample_count BIGINT, previous_count BIGINT, "
                        "change BIGINT, severity VARCHAR)")
        if table:
            cur.executemany(f"INSERT INTO _patterns VALUES ({', '.join('?' * len(table[0]))})", table)
        out = cur.execute(plan.post.sql).fetchall()
        results = []
        for row in out:
            results.append([{"field": name, "value": text} for (name, typ), value in zip(plan.post.columns, row)
                             if (text := _format(value, typ)) is not None])
        return results, {"recordsMatched": float(matched), "recordsScanned": float(scanned or 0),
                         "bytesScanned": float(scanned_bytes or 0)}

    def _refresh(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        """A query still active an hour after it started has timed out; one no worker of
        this process runs was interrupted by a restart of mamori."""
        if doc["status"] not in ACTIVE:
            return doc
        with self._status_lock():
            return self._refresh_locked(ctx, doc)

    def _refresh_locked(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        arn = _query_arn(ctx, doc["queryId"])
        doc = ctx.store.get(arn) or doc
        if doc["status"] not in ACTIVE:
            return doc
        if ctx.time() * 1000 - doc["createTime"] > TIMEOUT_SECONDS * 1000:
            doc["status"] = "Timeout"
            cur = getattr(self, "_insights_cursors", {}).get(arn)
            if cur is not None:  # its statement stops now
                try:
                    cur.interrupt()
                except Exception:  # noqa: BLE001 - already finished or closed
                    pass
        elif arn not in getattr(self, "_insights_jobs", {}):
            doc["status"] = "Failed"
            doc["error"] = "The query was interrupted by a restart of mamori."
        else:
            return doc
        ctx.store.put(arn, doc, kind=QUERY, account_id=ctx.account_id, region=ctx.region)
        return doc

    def _expired(self, ctx: RequestContext, doc: dict[str, Any]) -> bool:
        """Results are retrievable for 7 days; then the query is gone."""
        if ctx.time() * 1000 - doc["createTime"] > KEEP_SECONDS * 1000:
            ctx.store.delete(_query_arn(ctx, doc["queryId"]))
            ctx.store.delete(_query_arn(ctx, doc["queryId"]) + "/results")
            return True
        return False

    def _load_query(self, ctx: RequestContext, query_id: str) -> dict[str, Any]:
        doc = ctx.store.get(_query_arn(ctx, query_id))
        if doc is None or self._expired(ctx, doc):
            raise error("ResourceNotFoundException", f"Query does not exist. Query ID: {query_id}")
        return self._refresh(ctx, doc)

    # -- GetQueryResults / StopQuery / DescribeQueries --------------------------------------
    async def get_query_results(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request["queryId"]
        arn = _query_arn(ctx, query_id)
        doc = ctx.store.get(arn)
        groups = doc["logGroupNames"] if doc else ["*"]
        for name in groups or ["*"]:
            ctx.authorize("logs:GetQueryResults", group_arn(ctx, name=name), self._tag_keys(ctx, name))
        job = getattr(self, "_insights_jobs", {}).get(arn)
        if doc is not None and doc["status"] in ACTIVE and job is not None:
            # asyncio.wait neither raises for a job that failed or was cancelled nor cancels it
            # on timeout: the doc says how it ended
            await asyncio.wait({asyncio.wrap_future(job)}, timeout=WAIT_SECONDS)
        if job is not None and job.done():
            self._insights_jobs.pop(arn, None)
        doc = self._load_query(ctx, query_id)
        status = doc["status"]
        if status == "Scheduled" and job is not None and job.running():
            status = "Running"
        stored = ctx.store.get(arn + "/results") if status == "Complete" else None
        rows = stored["rows"] if stored else doc.get("results", [])
        size = request.get("maxItems") or PAGE
        offset = 0
        if request.get("nextToken"):
            try:
                state = read_token(request["nextToken"])
                if state.get("q") != query_id:
                    raise ValueError
                offset = int(state["o"])
            except (ValueError, KeyError, TypeError):
                raise invalid("The specified nextToken is not valid.") from None
        out: dict[str, Any] = {"queryLanguage": doc.get("queryLanguage", "CWLI"), "status": status,
                               "statistics": doc["statistics"], "results": rows[offset:offset + size]}
        if offset + size < len(rows):
            out["nextToken"] = make_token({"q": query_id, "o": offset + size})
        return out

    def stop_query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request["queryId"]
        doc = ctx.store.get(_query_arn(ctx, query_id))
        for name in (doc["logGroupNames"] if doc else ["*"]) or ["*"]:
            ctx.authorize("logs:StopQuery", group_arn(ctx, name=name), self._tag_keys(ctx, name))
        arn = _query_arn(ctx, query_id)
        with self._status_lock():
            doc = self._load_query(ctx, query_id)
            if doc["status"] not in ACTIVE:
                raise invalid(f"Query {query_id} is not running (status {doc['status']})")
            doc["status"] = "Cancelled"
            ctx.store.put(arn, doc, kind=QUERY, account_id=ctx.account_id, region=ctx.region)
        job = getattr(self, "_insights_jobs", {}).get(arn)
        if job is not None and not job.cancel():  # not started yet: it never will
            cur = self._insights_cursors.get(arn)
            if cur is not None:
                try:
                    cur.interrupt()  # a running statement stops at once
                except Exception:  # noqa: BLE001 - already finished or closed
                    pass
        return {"success": True}

    def list_log_groups_for_query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """The log groups a query read: those SOURCE selected or the request named, less
        those a filterIndex skipped (not indexed on its field).
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_ListLogGroupsForQuery.html"""
        ctx.authorize("logs:ListLogGroupsForQuery", "*")
        query_id = request["queryId"]
        doc = self._load_query(ctx, query_id)
        arns = [group_arn(ctx, name=n) for n in doc.get("analyzed", doc["logGroupNames"])]
        offset = 0
        if request.get("nextToken"):
            try:
                state = read_token(request["nextToken"])
                if state.get("g") != query_id:
                    raise ValueError
                offset = int(state["o"])
            except (ValueError, KeyError, TypeError):
                raise invalid("The specified nextToken is not valid.") from None
        size = request.get("maxResults") or 50
        out: dict[str, Any] = {"logGroupIdentifiers": arns[offset:offset + size]}
        if offset + size < len(arns):
            out["nextToken"] = make_token({"g": query_id, "o": offset + size})
        return out

    def describe_queries(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = request.get("logGroupName")
        ctx.authorize("logs:DescribeQueries", group_arn(ctx, name=group) if group else "*",
                      self._tag_keys(ctx, group) if group else {})
        docs = [self._refresh(ctx, d) for d in ctx.store.list(QUERY, account_id=ctx.account_id, region=ctx.region)
                if not self._expired(ctx, d)]
        docs.sort(key=lambda d: d["createTime"], reverse=True)
        if group:
            docs = [d for d in docs if group in d["logGroupNames"]]
        if request.get("status"):
            docs = [d for d in docs if d["status"] == request["status"]]
        if request.get("queryLanguage"):
            docs = [d for d in docs if d.get("queryLanguage", "CWLI") == request["queryLanguage"]]
        start = int(request.get("nextToken") or 0) if str(request.get("nextToken") or "0").isdigit() else 0
        size = request.get("maxResults") or 1000
        page = docs[start:start + size]
        jobs = getattr(self, "_insights_jobs", {})

        def status(d: dict[str, Any]) -> str:
            job = jobs.get(_query_arn(ctx, d["queryId"]))
            return "Running" if d["status"] == "Scheduled" and job is not None and job.running() else d["status"]
        out: dict[str, Any] = {"queries": [
            {"queryLanguage": d.get("queryLanguage", "CWLI"), "queryId": d["queryId"], "queryString": d["queryString"],
             "status": status(d), "createTime": d["createTime"],
             **({"logGroupName": d["logGroupNames"][0]} if d["logGroupNames"] else {})}
            for d in page]}
        if start + size < len(docs):
            out["nextToken"] = str(start + size)
        return out

    # -- query definitions ----------------------------------------------------------------
    def put_query_definition(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def_id = request.get("queryDefinitionId")
        ctx.authorize("logs:PutQueryDefinition", "*")
        if def_id:
            old = ctx.store.get(_definition_arn(ctx, def_id))
            if old is None:
                raise not_found("query definition")
        else:
            if len(ctx.store.list(DEFINITION, account_id=ctx.account_id, region=ctx.region)) >= 1000:
                raise error("LimitExceededException", "Query definition limit of [1000] reached.")
            def_id = str(uuid.uuid4())
        doc = {"queryLanguage": request.get("queryLanguage") or "CWLI", "queryDefinitionId": def_id,
               "name": request["name"], "queryString": request["queryString"],
               "lastModified": int(ctx.time() * 1000), "logGroupNames": request.get("logGroupNames") or []}
        if request.get("parameters"):
            doc["parameters"] = request["parameters"]
        ctx.store.put(_definition_arn(ctx, def_id), doc, kind=DEFINITION, account_id=ctx.account_id,
                      region=ctx.region)
        return {"queryDefinitionId": def_id}

    def describe_query_definitions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeQueryDefinitions", "*")
        docs = ctx.store.list(DEFINITION, account_id=ctx.account_id, region=ctx.region)
        prefix = request.get("queryDefinitionNamePrefix")
        if prefix:
            docs = [d for d in docs if d["name"].startswith(prefix)]
        if request.get("queryLanguage"):
            docs = [d for d in docs if d.get("queryLanguage", "CWLI") == request["queryLanguage"]]
        docs.sort(key=lambda d: d["name"])
        token = str(request.get("nextToken") or "0")
        start = int(token) if token.isdigit() else 0
        size = request.get("maxResults") or 1000
        out: dict[str, Any] = {"queryDefinitions": docs[start:start + size]}
        if start + size < len(docs):
            out["nextToken"] = str(start + size)
        return out

    def delete_query_definition(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DeleteQueryDefinition", "*")
        arn = _definition_arn(ctx, request["queryDefinitionId"])
        if ctx.store.get(arn) is None:
            raise not_found("query definition")
        ctx.store.delete(arn)
        return {"success": True}


def _selection_prefixes(criteria: str | None) -> list[str] | None:
    """`LogGroupNamePrefix IN ["a", "b"]` of an account policy -> ["a", "b"]; None = all."""
    if not criteria:
        return None
    import re
    m = re.search(r"LogGroupNamePrefix\s+IN\s*\[(.*)\]", criteria)
    if not m:
        return None
    return re.findall(r'"([^"]*)"', m.group(1))
