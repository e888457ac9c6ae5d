"""Archives (events kept as they reach a bus) and replays (sent back through the bus's rules).

An archive captures every event on its source bus that its optional pattern matches,
except replayed ones. Each archived event is a resource of kind `events:archived:NAME`
(so listing one archive is one indexed query). A replay sends the archived events whose
time falls in [EventStartTime, EventEndTime) back to the bus, with a `replay-name`
field added, to every rule (or the rules in FilterArns); it runs to completion at once.
Events older than the archive's RetentionDays are dropped when the archive is read or
replayed (`expire`).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.events.model import (
    ARCHIVE,
    ARCHIVE_NAME,
    BUS_ARN,
    REPLAY,
    not_found,
    simple_arn,
    validation,
)
from mamori.services.events.patterns import PatternError, compile_pattern

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

ARCHIVE_FIELDS = ("ArchiveArn", "ArchiveName", "EventSourceArn", "Description", "EventPattern", "State",
                  "StateReason", "RetentionDays", "SizeBytes", "EventCount", "CreationTime")


def _event_time(event: dict[str, Any]) -> float:
    try:
        return datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (KeyError, ValueError, TypeError):
        return 0.0


def capture(runtime: Runtime, bus_arn: str, event: dict[str, Any], pattern_of: Callable[[str], Any],
            candidates: list[dict[str, Any]]) -> None:
    m = BUS_ARN.match(bus_arn)
    if m is None:
        return
    for archive in candidates:
        if archive.get("EventSourceArn") != bus_arn or archive.get("State") != "ENABLED":
            continue
        text = archive.get("EventPattern")
        if text:
            pattern = pattern_of(text)
            if pattern is None or not pattern.matches(event):
                continue
        body = json.dumps(event, separators=(",", ":"))
        runtime.store.put(f"{archive['ArchiveArn']}/event/{event['id']}",
                          {"event": event, "time": _event_time(event), "received": runtime.clock.time()},
                          kind=f"events:archived:{archive['ArchiveName']}", account_id=m.group(2), region=m.group(1), log=False)
        archive = runtime.store.get(archive["ArchiveArn"]) or archive  # current counts
        archive["EventCount"] = archive.get("EventCount", 0) + 1
        archive["SizeBytes"] = archive.get("SizeBytes", 0) + len(body.encode())
        runtime.store.put(archive["ArchiveArn"], archive, kind=ARCHIVE, account_id=m.group(2), region=m.group(1))


def expire(runtime: Runtime, archive: dict[str, Any]) -> dict[str, Any]:
    """Drop the archived events older than the archive's RetentionDays (0: kept for
    ever), on the mamori clock, and fix its counts; returns the archive. Done when the
    archive is read or replayed, so a clock jump needs no job."""
    retention = archive.get("RetentionDays") or 0
    if not retention:
        return archive
    parts = archive["ArchiveArn"].split(":")
    oldest = runtime.clock.time() - retention * 86_400
    items = runtime.store.list(f"events:archived:{archive['ArchiveName']}", account_id=parts[4], region=parts[3])
    gone = [i for i in items if i["received"] < oldest]
    if not gone:
        return archive
    with runtime.store.transaction():
        for item in gone:
            runtime.store.delete(f"{archive['ArchiveArn']}/event/{item['event']['id']}", log=False)
        archive = runtime.store.get(archive["ArchiveArn"]) or archive
        archive["EventCount"] = max(0, archive.get("EventCount", 0) - len(gone))
        size = sum(len(json.dumps(i["event"], separators=(",", ":")).encode()) for i in gone)
        archive["SizeBytes"] = max(0, archive.get("SizeBytes", 0) - size)
        runtime.store.put(archive["ArchiveArn"], archive, kind=ARCHIVE, account_id=parts[4], region=parts[3])
    return archive


class ArchivesMixin:
    runtime: Any

    def _archive(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = ctx.store.get(simple_arn(ctx.region, ctx.account_id, "archive", name))
        if doc is None:
            raise not_found(f"Archive {name} does not exist.")
        return doc

    def create_archive(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ArchiveName"]
        arn = simple_arn(ctx.region, ctx.account_id, "archive", name)
        ctx.authorize("events:CreateArchive", arn)
        if not ARCHIVE_NAME.match(name):
            raise validation("Archive name must match [\\.\\-_A-Za-z0-9]+ and be at most 48 characters.")
        if ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", f"Archive {name} already exists.")
        source = request["EventSourceArn"]
        m = BUS_ARN.match(source)
        if m is None or (not source.endswith(":event-bus/default") and ctx.store.get(source) is None):
            raise not_found(f"Event bus {source.rsplit('/', 1)[-1]} does not exist.")
        if request.get("EventPattern"):
            self._check_pattern(request["EventPattern"])
        doc = {"ArchiveArn": arn, "ArchiveName": name, "EventSourceArn": source, "State": "ENABLED",
               "RetentionDays": request.get("RetentionDays", 0), "SizeBytes": 0, "EventCount": 0,
               "CreationTime": ctx.time()}
        for key in ("Description", "EventPattern"):
            if request.get(key) is not None:
                doc[key] = request[key]
        ctx.store.put(arn, doc, kind=ARCHIVE, account_id=ctx.account_id, region=ctx.region)
        self.router.changed()  # type: ignore[attr-defined]
        return {"ArchiveArn": arn, "State": "ENABLED", "CreationTime": doc["CreationTime"]}

    @staticmethod
    def _check_pattern(text: str) -> None:
        try:
            compile_pattern(text)
        except PatternError as exc:
            raise error("InvalidEventPatternException", f"Event pattern is not valid. Reason: {exc.reason}") from None

    def describe_archive(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ArchiveName"]
        ctx.authorize("events:DescribeArchive", simple_arn(ctx.region, ctx.account_id, "archive", name))
        doc = expire(self.runtime, self._archive(ctx, name))
        return {k: doc[k] for k in ARCHIVE_FIELDS if k in doc}

    def list_archives(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListArchives")
        prefix = request.get("NamePrefix") or ""
        items = []
        for doc in sorted(ctx.store.list(ARCHIVE, account_id=ctx.account_id, region=ctx.region),
                          key=lambda d: d["ArchiveName"]):
            if not doc["ArchiveName"].startswith(prefix):
                continue
            if request.get("EventSourceArn") and doc["EventSourceArn"] != request["EventSourceArn"]:
                continue
            if request.get("State") and doc["State"] != request["State"]:
                continue
            doc = expire(self.runtime, doc)
            items.append({k: doc[k] for k in ("ArchiveName", "EventSourceArn", "State", "StateReason",
                                              "RetentionDays", "SizeBytes", "EventCount", "CreationTime") if k in doc})
        return {"Archives": items}

    def update_archive(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ArchiveName"]
        ctx.authorize("events:UpdateArchive", simple_arn(ctx.region, ctx.account_id, "archive", name))
        doc = self._archive(ctx, name)
        if request.get("EventPattern"):
            self._check_pattern(request["EventPattern"])
        for key in ("Description", "EventPattern", "RetentionDays"):
            if key in request:
                doc[key] = request[key]
        ctx.store.put(doc["ArchiveArn"], doc, kind=ARCHIVE, account_id=ctx.account_id, region=ctx.region)
        self.router.changed()  # type: ignore[attr-defined]
        return {"ArchiveArn": doc["ArchiveArn"], "State": doc["State"], "CreationTime": doc["CreationTime"]}

    def delete_archive(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ArchiveName"]
        ctx.authorize("events:DeleteArchive", simple_arn(ctx.region, ctx.account_id, "archive", name))
        doc = self._archive(ctx, name)
        with ctx.store.transaction():
            for item in ctx.store.list(f"events:archived:{name}", account_id=ctx.account_id, region=ctx.region):
                ctx.store.delete(f"{doc['ArchiveArn']}/event/{item['event']['id']}", log=False)
            ctx.store.delete(doc["ArchiveArn"])
        self.router.changed()  # type: ignore[attr-defined]
        return {}

    # -- replays -----------------------------------------------------------------------------

    def start_replay(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ReplayName"]
        arn = simple_arn(ctx.region, ctx.account_id, "replay", name)
        ctx.authorize("events:StartReplay", arn)
        if ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", f"Replay {name} already exists.")
        source = request["EventSourceArn"]
        archive = ctx.store.get(source)
        if archive is None or not source.split(":", 5)[-1].startswith("archive/"):
            raise not_found(f"Archive {source.rsplit('/', 1)[-1]} does not exist.")
        archive = expire(self.runtime, archive)
        start, end = request["EventStartTime"], request["EventEndTime"]
        start = start.timestamp() if isinstance(start, datetime) else float(start)
        end = end.timestamp() if isinstance(end, datetime) else float(end)
        if start >= end:
            raise validation("Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                             "EventEndTime.")
        destination = request["Destination"]
        if destination.get("Arn") != archive["EventSourceArn"]:
            raise validation("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                             "permitted.")
        began = ctx.time()
        doc = {"ReplayName": name, "ReplayArn": arn, "EventSourceArn": source, "Destination": destination,
               "EventStartTime": start, "EventEndTime": end, "State": "RUNNING", "ReplayStartTime": began}
        if request.get("Description"):
            doc["Description"] = request["Description"]
        ctx.store.put(arn, doc, kind=REPLAY, account_id=ctx.account_id, region=ctx.region)
        retention = archive.get("RetentionDays") or 0
        items = ctx.store.list(f"events:archived:{archive['ArchiveName']}", account_id=ctx.account_id,
                               region=ctx.region)
        last = None
        for item in sorted(items, key=lambda i: i["time"]):
            if not start <= item["time"] < end:
                continue
            if retention and item["received"] < began - retention * 86400:
                continue
            event = dict(item["event"], **{"replay-name": name})
            self.router.route(destination["Arn"], event, replay_name=name,  # type: ignore[attr-defined]
                              only_rules=destination.get("FilterArns") or None)
            last = item["time"]
        doc["State"] = "COMPLETED"
        doc["ReplayEndTime"] = ctx.time()
        if last is not None:
            doc["EventLastReplayedTime"] = last
        ctx.store.put(arn, doc, kind=REPLAY, account_id=ctx.account_id, region=ctx.region)
        return {"ReplayArn": arn, "State": "STARTING", "ReplayStartTime": began}

    def _replay(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = ctx.store.get(simple_arn(ctx.region, ctx.account_id, "replay", name))
        if doc is None:
            raise not_found(f"Replay {name} does not exist.")
        return doc

    def describe_replay(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ReplayName"]
        ctx.authorize("events:DescribeReplay", simple_arn(ctx.region, ctx.account_id, "replay", name))
        return dict(self._replay(ctx, name))

    def list_replays(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListReplays")
        prefix = request.get("NamePrefix") or ""
        items = []
        for doc in sorted(ctx.store.list(REPLAY, account_id=ctx.account_id, region=ctx.region),
                          key=lambda d: d["ReplayName"]):
            if not doc["ReplayName"].startswith(prefix):
                continue
            if request.get("State") and doc["State"] != request["State"]:
                continue
            if request.get("EventSourceArn") and doc["EventSourceArn"] != request["EventSourceArn"]:
                continue
            items.append({k: doc[k] for k in ("ReplayName", "EventSourceArn", "State", "StateReason",
                                              "EventStartTime", "EventEndTime", "EventLastReplayedTime",
                                              "ReplayStartTime", "ReplayEndTime") if k in doc})
        return {"Replays": items}

    def cancel_replay(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ReplayName"]
        arn = simple_arn(ctx.region, ctx.account_id, "replay", name)
        ctx.authorize("events:CancelReplay", arn)
        doc = self._replay(ctx, name)
        if doc["State"] not in ("STARTING", "RUNNING"):
            raise error("IllegalStatusException", f"Replay {name} is not in a valid state for this operation.")
        doc["State"] = "CANCELLED"
        ctx.store.put(arn, doc, kind=REPLAY, account_id=ctx.account_id, region=ctx.region)
        return {"ReplayArn": arn, "State": "CANCELLING"}
