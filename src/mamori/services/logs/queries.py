"""Logs Insights operations (mixin of LogsProvider): StartQuery, GetQueryResults,
StopQuery, DescribeQueries and the query definitions.

A query is a resource-store doc (kind logs:query) holding its status, statistics and,
once complete, its rows. StartQuery parses and compiles the query at once (a bad query
is a MalformedQueryException naming the position), then runs the SQL on a worker
thread with a DuckDB cursor of its own, off the event loop.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import group_arn, invalid, not_found
from mamori.store import logs as events_store

QUERY = "logs:query"
DEFINITION = "logs:query-definition"
MAX_CONCURRENT = 30      # concurrent CWLI queries per account (CloudWatch Logs quotas)
MAX_GROUPS = 50          # log groups per query
DEFAULT_LIMIT = 10000
TIMEOUT_SECONDS = 3600   # a query times out after 60 minutes
ACTIVE = ("Scheduled", "Running")


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


class QueryOperations:
    """Logs Insights: the mixin LogsProvider inherits."""

    def _query_pool(self) -> Any:
        pool = getattr(self, "_insights_pool", None)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor
            pool = self._insights_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="logs-insights")
        return pool

    # -- StartQuery ----------------------------------------------------------------------
    def start_query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        from mamori.services.logs.insights.compiler import compile_query
        from mamori.services.logs.insights.lexer import MalformedQuery

        language = request.get("queryLanguage") or "CWLI"
        names = self._query_groups(request)
        for name in names:
            ctx.authorize("logs:StartQuery", group_arn(ctx, name=name))
        if language != "CWLI":
            raise invalid(f"Query language {language} is not supported by mamori yet")
        start, end = request["startTime"], request["endTime"]
        if end < start:
            raise invalid("End time should not be before the start time")
        limit = request.get("limit") or DEFAULT_LIMIT
        if limit > DEFAULT_LIMIT:
            raise invalid("Limit cannot be greater than 10000")
        for name in names:
            if ctx.store.get(group_arn(ctx, name=name)) is None:
                raise error("ResourceNotFoundException", f"Log group '{name}' does not exist for account ID "
                            f"'{ctx.account_id}' (Service: AWSLogs; Status Code: 400)")
        query = request.get("queryString", "")
        try:
            compiled = compile_query(query, limit)
        except MalformedQuery as exc:
            raise error("MalformedQueryException", str(exc),
                        queryCompileError={"message": str(exc)}) from None
        now = ctx.time()
        running = [d for d in ctx.store.list(QUERY, account_id=ctx.account_id, region=ctx.region)
                   if self._refresh(ctx, d)["status"] in ACTIVE]
        if len(running) >= MAX_CONCURRENT:
            raise error("LimitExceededException", "Account maximum query concurrency limit of "
                        f"[{MAX_CONCURRENT}] reached.")
        query_id = str(uuid.uuid4())
        arn = _query_arn(ctx, query_id)
        doc = {"queryId": query_id, "queryString": query, "status": "Scheduled", "createTime": int(now * 1000),
               "logGroupNames": names, "queryLanguage": language, "results": [],
               "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}}
        ctx.store.put(arn, doc, kind=QUERY, account_id=ctx.account_id, region=ctx.region)
        params = [ctx.account_id, ctx.region, names, int(start) * 1000, int(end) * 1000 + 999]
        self._query_pool().submit(self._run_query, ctx.store, ctx.telemetry, arn, compiled, params)
        return {"queryId": query_id}

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
                if len(parts) < 7 or parts[5] != "log-group":
                    raise invalid(f"Invalid log group identifier: {ident}")
                ident = parts[6]
            if ident not in names:
                names.append(ident)
        return names

    def _run_query(self, store: Any, telemetry: Any, arn: str, compiled: Any, params: list) -> None:
        doc = store.get(arn)
        if doc is None or doc["status"] != "Scheduled":
            return
        doc["status"] = "Running"
        store.put(arn, doc, kind=QUERY, account_id=arn.split(":")[4], region=arn.split(":")[3])
        try:
            events_store.ensure(telemetry)
            cur = telemetry.cursor()
            try:
                rows = cur.execute(compiled.sql, params).fetchall()
                stats = cur.execute(compiled.stats_sql, params).fetchone()
            finally:
                cur.close()
            results = []
            ncols = len(compiled.columns)
            for row in rows:
                out = []
                for (name, typ), value in zip(compiled.columns, row[:ncols]):
                    text = _format(value, typ)
                    if text is not None:
                        out.append({"field": name, "value": text})
                if compiled.events:
                    acct, region, group, event_id = row[ncols:]
                    out.append({"field": "@ptr", "value": events_store.pointer(acct, region, group, event_id)})
                results.append(out)
            doc = store.get(arn)
            if doc is None or doc["status"] != "Running":
                return  # stopped meanwhile
            doc["results"] = results
            doc["statistics"] = {"recordsMatched": float(stats[1] or 0), "recordsScanned": float(stats[0] or 0),
                                 "bytesScanned": float(stats[2] or 0)}
            doc["status"] = "Complete"
        except Exception as exc:  # a query error is the query's Failed status, never a crash
            doc = store.get(arn) or doc
            doc["status"] = "Failed"
            doc["error"] = str(exc).splitlines()[0][:500]
        store.put(arn, doc, kind=QUERY, account_id=arn.split(":")[4], region=arn.split(":")[3])

    def _refresh(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        """A query still active an hour after it started has timed out."""
        if doc["status"] in ACTIVE and ctx.time() * 1000 - doc["createTime"] > TIMEOUT_SECONDS * 1000:
            doc["status"] = "Timeout"
            ctx.store.put(_query_arn(ctx, doc["queryId"]), doc, kind=QUERY, account_id=ctx.account_id,
                          region=ctx.region)
        return doc

    def _load_query(self, ctx: RequestContext, query_id: str) -> dict[str, Any]:
        doc = ctx.store.get(_query_arn(ctx, query_id))
        if doc is None:
            raise error("ResourceNotFoundException", f"Query does not exist. Query ID: {query_id}")
        return self._refresh(ctx, doc)

    # -- GetQueryResults / StopQuery / DescribeQueries --------------------------------------
    def get_query_results(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request["queryId"]
        doc = ctx.store.get(_query_arn(ctx, query_id))
        groups = doc["logGroupNames"] if doc else ["*"]
        for name in groups:
            ctx.authorize("logs:GetQueryResults", group_arn(ctx, name=name))
        doc = self._load_query(ctx, query_id)
        out: dict[str, Any] = {"queryLanguage": doc.get("queryLanguage", "CWLI"), "status": doc["status"],
                               "statistics": doc["statistics"], "results": doc["results"]}
        return out

    def stop_query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request["queryId"]
        doc = ctx.store.get(_query_arn(ctx, query_id))
        for name in (doc["logGroupNames"] if doc else ["*"]):
            ctx.authorize("logs:StopQuery", group_arn(ctx, name=name))
        doc = self._load_query(ctx, query_id)
        if doc["status"] not in ACTIVE:
            raise invalid(f"Query {query_id} is not running (status {doc['status']})")
        doc["status"] = "Cancelled"
        ctx.store.put(_query_arn(ctx, query_id), doc, kind=QUERY, account_id=ctx.account_id, region=ctx.region)
        return {"success": True}

    def describe_queries(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = request.get("logGroupName")
        ctx.authorize("logs:DescribeQueries", group_arn(ctx, name=group) if group else "*")
        docs = [self._refresh(ctx, d) for d in ctx.store.list(QUERY, account_id=ctx.account_id, region=ctx.region)]
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
        out: dict[str, Any] = {"queries": [
            {"queryLanguage": d.get("queryLanguage", "CWLI"), "queryId": d["queryId"], "queryString": d["queryString"],
             "status": d["status"], "createTime": d["createTime"], "logGroupName": d["logGroupNames"][0]}
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
