"""Log events: PutLogEvents (AWS's batch validation), GetLogEvents (forward/backward
tokens), FilterLogEvents (filter patterns, paged scans), GetLogRecord (`@ptr`).

Events are written in one vectorized insert per request (store/logs.py). Metric
filters of the group see every accepted event (filters.py publishes their values).
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html

Groups with a KMS key (encryption.py): PutLogEvents seals the messages with the group's
data key, every read opens the sealed events it returns (`_unseal`), asking KMS for the
data key each request, so a disabled key fails reads and writes at once. Logs
Insights (queries.py) opens sealed events with encryption.data_key / encryption.aad and
store/logs.py prepare_query.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import islice
from operator import le
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    group_arn,
    group_name,
    invalid,
    load_group,
    make_token,
    read_token,
    resource_policy_conditions,
    resource_tag_keys,
    stream_arn,
)
from mamori.services.logs import encryption
from mamori.services.logs.masking import masker
from mamori.services.logs.patterns import compile_pattern
from mamori.store import logs as events_store

MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 1_048_576  # "Each log event can be no larger than 1 MB" (current PutLogEvents reference)
DAY_MS = 86_400_000
FILTER_SCAN = 50_000  # rows one FilterLogEvents call examines before it hands back a token
CHUNK = 5_000


class EventOperations:
    def put_log_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """The whole batch is checked with list-wide operations (no per-event Python
        objects): byte count from one join, order with one comparison of the stamp list,
        the too-old / expired / too-new edges by bisection (the stamps are sorted once
        the order check passed), then one insert."""
        group, stream = request["logGroupName"], request["logStreamName"]
        target = stream_arn(ctx, group, stream)
        ctx.authorize("logs:PutLogEvents", target, resource_policy_conditions(ctx, target))
        doc = load_group(ctx, group)
        self._stream(ctx, group, stream)
        events = request["logEvents"]
        stamps = [e["timestamp"] for e in events]
        messages = [e["message"] for e in events]
        joined = "".join(messages)
        total = (len(joined) if joined.isascii() else len(joined.encode("utf-8"))) + EVENT_OVERHEAD * len(messages)
        if total > MAX_BATCH_BYTES:
            for m in messages:  # which limit: one event's, or the batch's
                size = len(m.encode("utf-8")) + EVENT_OVERHEAD
                if size > MAX_EVENT_BYTES:
                    raise invalid(f"Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}")
            raise invalid(f"Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}")
        if not all(map(le, stamps, islice(stamps, 1, None))):
            raise invalid("Log events in a single PutLogEvents request must be in chronological order.")
        now = int(ctx.time() * 1000)
        too_new_at = now + 2 * 3_600_000
        too_old_before = now - 14 * DAY_MS
        retention = doc.get("retentionInDays")
        # Index fields of RejectedLogEventsInfo: tooNewLogEventStartIndex is inclusive, the
        # two end indexes exclusive (one too-old event answers tooOldLogEventEndIndex 1).
        # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_RejectedLogEventsInfo.html
        rejected: dict[str, int] = {}
        lo = 0
        if retention:
            lo = bisect_left(stamps, now - retention * DAY_MS)
            if lo:
                rejected["expiredLogEventEndIndex"] = lo
        old = bisect_left(stamps, too_old_before)
        if old > lo:
            rejected["tooOldLogEventEndIndex"] = old
            lo = old
        hi = bisect_right(stamps, too_new_at)
        if hi < len(stamps):
            rejected["tooNewLogEventStartIndex"] = hi
        if hi <= lo:
            stamps, messages = [], []
        elif lo or hi < len(stamps):
            stamps, messages = stamps[lo:hi], messages[lo:hi]
        # "For valid events ... the time span in a single batch cannot exceed 24 hours."
        if stamps and stamps[-1] - stamps[0] > DAY_MS:
            raise invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
        seal = encryption.sealing_key(self.runtime, ctx, doc) if doc.get("kmsKeyId") else None
        last = events_store.append(ctx.telemetry, ctx.account_id, ctx.region, group, stream, stamps, messages, now,
                                   seal=seal)
        if stamps:
            self.publish_metric_filters(ctx, group, stamps, messages)
        # Sequence tokens are accepted and ignored; a token is still returned.
        out: dict[str, Any] = {"nextSequenceToken": f"{last:056d}"}
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    # -- reads -------------------------------------------------------------------------------

    def _reader(self, ctx: RequestContext, doc: dict[str, Any], unmask: bool) -> Any:
        policy = doc.get("_dataProtection")
        if not policy:
            return None
        if unmask:
            ctx.authorize("logs:Unmask", doc["logGroupArn"], resource_tag_keys(doc))
            return None
        mask = masker(policy)
        since = int(doc.get("_dataProtectionTime") or 0)
        # AWS masks events as they are ingested: those from before the policy stay as
        # they were (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDataProtectionPolicy.html).
        return lambda message, ingested: mask(message) if ingested >= since else message

    def _unseal(self, ctx: RequestContext, doc: dict[str, Any], rows: list[tuple], keys: Any = None) -> list[tuple]:
        """Open the sealed events among `rows` (groups that ever had a KMS key)."""
        if not rows or not doc.get("_dataKeys"):
            return rows
        return events_store.unseal(ctx.telemetry, ctx.account_id, ctx.region, doc["logGroupName"], rows,
                                   keys or encryption.opener(self.runtime, ctx, doc),
                                   encryption.aad(ctx, None, doc["logGroupName"]))

    def get_log_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = group_name(request)
        stream = request["logStreamName"]
        ctx.authorize("logs:GetLogEvents", stream_arn(ctx, group, stream))
        doc = load_group(ctx, group)
        self._stream(ctx, group, stream)
        mask = self._reader(ctx, doc, bool(request.get("unmask")))
        limit = request.get("limit") or 10_000
        start, end = request.get("startTime"), request.get("endTime")
        token = request.get("nextToken")
        args = dict(streams=[stream], start=start, end=end, limit=limit)
        cursor: tuple[int, int] | None = None
        if token:
            direction, cursor = _read_cursor(token)
            if direction == "f":
                rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, after=cursor, **args)
            else:
                rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, before=cursor,
                                         descending=True, **args)[::-1]
        elif request.get("startFromHead"):
            rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, **args)
        else:
            rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, descending=True, **args)[::-1]
        rows = self._unseal(ctx, doc, rows)
        rows = _within_response_size(rows, keep_last=bool(token and token.startswith("b/"))
                                     or (not token and not request.get("startFromHead")))
        events = [{"timestamp": r[2], "message": mask(r[4], r[3]) if mask else r[4], "ingestionTime": r[3]} for r in rows]
        if rows:
            forward, backward = (rows[-1][2], rows[-1][0]), (rows[0][2], rows[0][0])
        else:
            forward = backward = cursor or ((-(2 ** 62), 0) if request.get("startFromHead") or not token
                                            else (2 ** 62, 0))
        return {"events": events, "nextForwardToken": _cursor("f", forward),
                "nextBackwardToken": _cursor("b", backward)}

    def filter_log_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = group_name(request)
        ctx.authorize("logs:FilterLogEvents", group_arn(ctx, name=group))
        doc = load_group(ctx, group)
        names, prefix = request.get("logStreamNames"), request.get("logStreamNamePrefix")
        if names and prefix:
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        start, end = request.get("startTime"), request.get("endTime")
        if start is not None and end is not None and start > end:
            raise invalid("startTime must be less than or equal to endTime.")
        pattern = compile_pattern(request.get("filterPattern"))
        mask = self._reader(ctx, doc, bool(request.get("unmask")))
        limit = request.get("limit") or 10_000
        after = None
        if request.get("nextToken"):
            state = read_token(request["nextToken"])
            try:
                after = (int(state["ts"]), int(state["id"]))
            except (KeyError, TypeError, ValueError):
                raise invalid("The specified nextToken is invalid.") from None
        sealed = bool(doc.get("_dataKeys"))
        required = None if sealed else pattern.required  # sealed messages are not searchable in SQL
        keys = encryption.opener(self.runtime, ctx, doc) if sealed else None
        found: list[dict[str, Any]] = []
        scanned = 0
        more = False
        last: tuple[int, int] | None = after
        # endTime is inclusive for FilterLogEvents.
        end_excl = end + 1 if end is not None else None
        while True:
            rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, streams=names,
                                     stream_prefix=prefix, start=start, end=end_excl, after=last, limit=CHUNK,
                                     contains=required)
            for row in self._unseal(ctx, doc, rows, keys):
                last = (row[2], row[0])
                scanned += 1
                if pattern.kind == "all" or pattern.matches(row[4]):
                    found.append({"logStreamName": row[1], "timestamp": row[2],
                                  "message": mask(row[4], row[3]) if mask else row[4], "ingestionTime": row[3],
                                  "eventId": str(row[0])})
                    if len(found) >= limit:
                        break
            if len(found) >= limit or (scanned >= FILTER_SCAN and len(rows) == CHUNK):
                more = bool(rows)
                break
            if len(rows) < CHUNK:
                break
        out: dict[str, Any] = {"events": found, "searchedLogStreams": []}
        if more and last is not None:
            probe = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, streams=names,
                                      stream_prefix=prefix, start=start, end=end_excl, after=last, limit=1,
                                      contains=required)
            if probe:
                out["nextToken"] = make_token({"ts": last[0], "id": last[1]})
        return out

    def get_log_record(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        parsed = events_store.parse_pointer(request["logRecordPointer"])
        if parsed is None or parsed[0] != ctx.account_id or parsed[1] != ctx.region:
            ctx.authorize("logs:GetLogRecord", "*")
            raise invalid("The specified log record pointer is invalid.")
        account, region, group, event_id = parsed
        arn = group_arn(ctx, name=group)
        ctx.authorize("logs:GetLogRecord", arn)
        doc = ctx.store.get(arn)
        row = events_store.get(ctx.telemetry, account, region, group, event_id) if doc else None
        if row is None:
            raise error("ResourceNotFoundException", "The specified log record does not exist.")
        mask = self._reader(ctx, doc, bool(request.get("unmask")))
        row = self._unseal(ctx, doc, [row])[0]
        message = mask(row[4], row[3]) if mask else row[4]
        return {"logRecord": {"@message": message, "@timestamp": str(row[2]), "@logStream": row[1],
                              "@log": f"{account}:{group}", "@ingestionTime": str(row[3]),
                              "@ptr": request["logRecordPointer"]}}


    def get_log_group_fields(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """Fields of the events in the 15 minutes before `time` (default: now), with the
        share of events that have each. JSON events contribute their keys (nested keys
        joined with dots, arrays indexed), as Logs Insights discovers them.
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogGroupFields.html"""
        group = group_name(request)
        ctx.authorize("logs:GetLogGroupFields", group_arn(ctx, name=group))
        doc = load_group(ctx, group)
        at = request.get("time")
        end = int((at if at is not None else ctx.time()) * 1000)
        rows = events_store.read(ctx.telemetry, ctx.account_id, ctx.region, group, start=end - 900_000,
                                 end=end + 1, limit=10_000, descending=True)
        rows = self._unseal(ctx, doc, rows)
        counts: dict[str, int] = {}
        for row in rows:
            for name in _json_fields(row[4]):
                counts[name] = counts.get(name, 0) + 1
        fields = [{"name": "@timestamp", "percent": 100}, {"name": "@message", "percent": 100}] if rows else []
        fields += [{"name": k, "percent": round(100 * v / len(rows))} for k, v in sorted(counts.items())]
        return {"logGroupFields": fields}


def _within_response_size(rows: list[tuple], keep_last: bool) -> list[tuple]:
    """GetLogEvents returns "as many log events as can fit in a response size of 1 MB"
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html),
    counted here as PutLogEvents counts a batch: UTF-8 bytes plus 26 per event."""
    total, kept = 0, []
    for row in (reversed(rows) if keep_last else rows):
        total += len(row[4].encode("utf-8")) + EVENT_OVERHEAD
        if total > MAX_BATCH_BYTES and kept:
            break
        kept.append(row)
    return kept[::-1] if keep_last else kept


def _json_fields(message: str) -> list[str]:
    import json

    start = message.find("{")
    if start < 0:
        return []
    try:
        doc = json.loads(message[start:])
    except ValueError:
        return []
    out: list[str] = []

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{prefix}.{i}")
        elif prefix:
            out.append(prefix)

    if isinstance(doc, dict):
        walk(doc, "")
    return out[:200]


def _cursor(direction: str, at: tuple[int, int]) -> str:
    return f"{direction}/{at[0]}/{at[1]}"


def _read_cursor(token: str) -> tuple[str, tuple[int, int]]:
    try:
        direction, ts, ident = token.split("/")
        if direction not in ("f", "b"):
            raise ValueError
        return direction, (int(ts), int(ident))
    except ValueError:
        raise invalid("The specified nextToken is invalid.") from None
