"""Trails deliver their events to CloudWatch Logs (mixed into the provider).

A logging trail with `CloudWatchLogsLogGroupArn` and `CloudWatchLogsRoleArn` sends every
event it logs to that log group: CloudTrail assumes the role as cloudtrail.amazonaws.com
(its trust policy must allow that) and, as that role, creates the log stream
`<account>_CloudTrail_<region>` (one per Region the events come from) and puts each event
as one log event, the record's JSON as the message and its event time as the timestamp.
When the role or its permissions don't allow it, nothing is delivered and
GetTrailStatus says why (`LatestCloudWatchLogsDeliveryError`); the events wait for the
next attempt. This is how metric filters and alarms on CloudTrail events work
(unauthorized calls, root use, policy changes).
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-log-group-log-stream-naming-for-cloudtrail.html

Which events a trail logs: its Region (every Region for a multi-Region trail; global
service events, recorded in us-east-1, unless IncludeGlobalServiceEvents is false), then
its event selectors: basic selectors by ReadWriteType and management events (their data
resources name S3, Lambda and DynamoDB, which mamori does not have yet), advanced
selectors by their field selectors (eventCategory, readOnly, eventSource, eventName,
resources.type, resources.ARN). Delivery runs every DELIVERY_SECONDS of the mamori clock;
a trail's position in the event stream is kept in its document.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.internal import assume_role_as_service

log = logging.getLogger("mamori.cloudtrail")

DELIVERY_SECONDS = 30
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_000_000  # PutLogEvents: 1,048,576 bytes, each event's size plus 26
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000  # and the events of one batch within 24 hours
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com"})
DATA_RESOURCE_TYPES = {"sqs.amazonaws.com": "AWS::SQS::Queue", "sns.amazonaws.com": "AWS::SNS::Topic",
                       "s3.amazonaws.com": "AWS::S3::Object"}


class DeliveryMixin:
    runtime: Any

    def deliver_to_logs(self, due: float | None = None) -> None:
        """One delivery round for every trail that sends to CloudWatch Logs. When the
        clock jumps ahead, the scheduler runs the rounds it missed one after another:
        only the last does the work (a round delivers everything new anyway)."""
        if due is not None and due + DELIVERY_SECONDS <= self.runtime.clock.time():
            return
        for trail in self.runtime.store.list("cloudtrail:trail"):
            if trail.get("_logging") and trail.get("CloudWatchLogsLogGroupArn") and trail.get("CloudWatchLogsRoleArn"):
                try:
                    self._deliver_trail(trail)
                except Exception:  # noqa: BLE001 - one trail's failure must not stop the others
                    log.exception("CloudTrail delivery of %s to CloudWatch Logs failed", trail["TrailARN"])

    def _deliver_trail(self, trail: dict[str, Any]) -> None:
        account = trail["TrailARN"].split(":")[4]
        regions = None if trail.get("IsMultiRegionTrail") else [trail["HomeRegion"]]
        if regions is not None and trail.get("IncludeGlobalServiceEvents", True) and "us-east-1" not in regions:
            regions = None  # global service events come from us-east-1: filtered below
        since = max(float(trail.get("_StartLoggingTime") or 0), float(trail.get("_cwlSince") or 0))
        cursor = int(trail.get("_cwlSeq") or 0)
        rows = self.runtime.telemetry.records_after(account, cursor, since, regions=regions)
        if not rows:
            return
        events = [(when, record) for _, when, record in rows if _logs(trail, record)]
        error = None
        if events:
            try:
                self._put(trail, account, events)
            except AwsError as exc:
                error = exc.code
        now = self.runtime.clock.time()
        fresh = self.runtime.store.get(trail["TrailARN"])
        if fresh is None:
            return
        if error is None:
            fresh["_cwlSeq"] = rows[-1][0]
            if events:
                fresh["_cwlTime"] = now
            fresh.pop("_cwlError", None)
        else:
            fresh["_cwlError"] = error
        self.runtime.store.put(fresh["TrailARN"], fresh, kind="cloudtrail:trail", account_id=account,
                               region=fresh["HomeRegion"], log=False)

    def _put(self, trail: dict[str, Any], account: str, events: list[tuple[float, dict[str, Any]]]) -> None:
        principal = assume_role_as_service(self.runtime, trail["CloudWatchLogsRoleArn"], "cloudtrail.amazonaws.com",
                                           account, session_name="CloudTrailDelivery", source_arn=trail["TrailARN"],
                                           region=trail["HomeRegion"])
        parts = trail["CloudWatchLogsLogGroupArn"].split(":")
        region, group = parts[3], parts[6] if len(parts) > 6 else ""

        def call(operation: str, params: dict[str, Any]) -> None:
            # CloudTrail's own delivery calls are not events of the trail.
            self.runtime.invoke("logs", operation, params, principal=principal, account_id=account, region=region,
                                record=False)

        by_stream: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        for when, record in events:
            by_stream.setdefault(f"{account}_CloudTrail_{record.get('awsRegion', region)}", []).append((when, record))
        for stream, records in by_stream.items():
            try:
                call("CreateLogStream", {"logGroupName": group, "logStreamName": stream})
            except AwsError as exc:
                if exc.code != "ResourceAlreadyExistsException":
                    raise
            batch: list[dict[str, Any]] = []
            size = 0
            for when, record in sorted(records, key=lambda item: item[0]):
                message = json.dumps({k: v for k, v in record.items() if not k.startswith("_")}, separators=(",", ":"))
                cost = len(message.encode()) + 26
                stamp = int(when * 1000)
                if batch and (len(batch) >= MAX_BATCH_EVENTS or size + cost > MAX_BATCH_BYTES
                              or stamp - batch[0]["timestamp"] >= MAX_BATCH_SPAN_MS):
                    call("PutLogEvents", {"logGroupName": group, "logStreamName": stream, "logEvents": batch})
                    batch, size = [], 0
                batch.append({"timestamp": stamp, "message": message})
                size += cost
            if batch:
                call("PutLogEvents", {"logGroupName": group, "logStreamName": stream, "logEvents": batch})


def _logs(trail: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether the trail logs this event (its Region and global events, then selectors)."""
    source = record.get("eventSource", "")
    region = record.get("awsRegion")
    if source in GLOBAL_SOURCES and not trail.get("IncludeGlobalServiceEvents", True):
        return False
    if not trail.get("IsMultiRegionTrail") and region != trail["HomeRegion"] and source not in GLOBAL_SOURCES:
        return False
    advanced = trail.get("_advanced_event_selectors")
    if advanced:
        return any(_advanced_match(selector, record) for selector in advanced)
    for selector in trail.get("_event_selectors") or []:
        if record.get("managementEvent", True):
            if not selector.get("IncludeManagementEvents", True):
                continue
            if source in (selector.get("ExcludeManagementEventSources") or []):
                continue
            kind = selector.get("ReadWriteType", "All")
            if kind == "All" or (kind == "ReadOnly") == bool(record.get("readOnly")):
                return True
    return False


def _field(record: dict[str, Any], name: str) -> list[str]:
    if name == "eventCategory":
        return [record.get("eventCategory") or ("Management" if record.get("managementEvent", True) else "Data")]
    if name == "readOnly":
        return ["true" if record.get("readOnly") else "false"]
    if name in ("eventSource", "eventName", "errorCode", "eventType"):
        return [str(record.get(name, ""))]
    if name == "resources.type":
        kinds = [str(r.get("type", "")) for r in record.get("resources") or []]
        default = DATA_RESOURCE_TYPES.get(record.get("eventSource", ""))
        return kinds or ([default] if default else [])
    if name == "resources.ARN":
        return [str(r.get("ARN", "")) for r in record.get("resources") or []]
    if name == "userIdentity.arn":
        return [str((record.get("userIdentity") or {}).get("arn", ""))]
    return []


def _advanced_match(selector: dict[str, Any], record: dict[str, Any]) -> bool:
    """An advanced event selector: every field selector must hold (any of its Equals /
    StartsWith / EndsWith values, none of its Not* values)."""
    for fs in selector.get("FieldSelectors") or []:
        values = _field(record, fs.get("Field", ""))
        if not values:
            values = [""]

        def any_of(test: Any, options: list[str] | None) -> bool:
            return bool(options) and any(test(v, o) for v in values for o in options)

        if fs.get("Equals") and not any_of(lambda v, o: v == o, fs["Equals"]):
            return False
        if fs.get("StartsWith") and not any_of(lambda v, o: v.startswith(o), fs["StartsWith"]):
            return False
        if fs.get("EndsWith") and not any_of(lambda v, o: v.endswith(o), fs["EndsWith"]):
            return False
        if any_of(lambda v, o: v == o, fs.get("NotEquals")):
            return False
        if any_of(lambda v, o: v.startswith(o), fs.get("NotStartsWith")):
            return False
        if any_of(lambda v, o: v.endswith(o), fs.get("NotEndsWith")):
            return False
    return True
