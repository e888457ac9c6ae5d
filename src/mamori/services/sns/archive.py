"""Message archiving and replay for FIFO topics (mixed into the provider).

A FIFO topic with `ArchivePolicy` `{"MessageRetentionPeriod": "<days, 1-365>"}` keeps
every published message (kind "sns-archive", keyed by topic and sequence number) for
that many days on the clock; `BeginningArchiveTime` tells from when. A subscription's
`ReplayPolicy` `{"PointType": "Timestamp", "StartingPoint": <ISO time>, "EndingPoint":
<ISO time, optional>}` redelivers the archived messages of that window to it, in order,
through its filter policy, with their original MessageId and Timestamp;
`ReplayStatus` says how it went. AWS's docs say a replayed message "contains the
attribute Replayed" without showing where: mamori puts `"Replayed": true` in the JSON
envelope (raw deliveries carry the message alone).
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-archiving-replay.html
https://docs.aws.amazon.com/sns/latest/dg/message-archiving-and-replay-subscriber.html
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.sns.delivery import freeze_attributes, thaw_attributes

KIND = "sns-archive"
DAY = 86400


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def retention_days(policy_text: str | None) -> int | None:
    """Days of an ArchivePolicy, None when there is none; InvalidParameter if malformed."""
    if not policy_text or policy_text.strip() in ("", "{}"):
        return None
    try:
        doc = json.loads(policy_text)
        days = int(doc["MessageRetentionPeriod"])
    except (ValueError, KeyError, TypeError):
        raise _invalid("Invalid parameter: ArchivePolicy Reason: MessageRetentionPeriod must be a number "
                       "of days") from None
    if not 1 <= days <= 365:
        raise _invalid("Invalid parameter: ArchivePolicy Reason: MessageRetentionPeriod must be between 1 and 365")
    return days


def _instant(text: Any, name: str) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _invalid(f"Invalid parameter: ReplayPolicy Reason: {name} must be an ISO 8601 timestamp") from None


def check_replay_policy(text: str) -> tuple[float, float | None]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise _invalid("Invalid parameter: ReplayPolicy Reason: not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("PointType") != "Timestamp" or "StartingPoint" not in doc:
        raise _invalid("Invalid parameter: ReplayPolicy Reason: PointType Timestamp and StartingPoint are required")
    start = _instant(doc["StartingPoint"], "StartingPoint")
    end = _instant(doc["EndingPoint"], "EndingPoint") if doc.get("EndingPoint") else None
    if end is not None and end < start:
        raise _invalid("Invalid parameter: ReplayPolicy Reason: EndingPoint must be after StartingPoint")
    return start, end


class ArchiveMixin:
    runtime: Any

    def _archive(self, topic: dict[str, Any], request: dict[str, Any], message_id: str, sequence: str,
                 now: float, stamp: str) -> None:
        if retention_days(topic["Attributes"].get("ArchivePolicy")) is None:
            return
        attrs = freeze_attributes(request.get("MessageAttributes") or {})
        doc = {"topic": topic["arn"], "time": now, "stamp": stamp, "MessageId": message_id,
               "SequenceNumber": sequence, "Message": request["Message"], "Subject": request.get("Subject"),
               "MessageStructure": request.get("MessageStructure"), "MessageGroupId": request.get("MessageGroupId"),
               "MessageAttributes": attrs}
        self.runtime.store.put(f"mamori:sns-archive:{topic['arn']}:{sequence}:{message_id}", doc, kind=KIND,
                               account_id=topic["account"], region=topic["region"], log=False)

    def _archived(self, topic: dict[str, Any]) -> list[dict[str, Any]]:
        docs = self.runtime.store.list(KIND, account_id=topic["account"], region=topic["region"])
        return sorted((d for d in docs if d["topic"] == topic["arn"]), key=lambda d: d["SequenceNumber"])

    def _expire_archives(self, now: float) -> None:
        store = self.runtime.store
        for doc in store.list(KIND):
            topic = store.get(doc["topic"])
            days = retention_days(topic["Attributes"].get("ArchivePolicy")) if topic else None
            if days is None or now - doc["time"] > days * DAY:
                store.delete(f"mamori:sns-archive:{doc['topic']}:{doc['SequenceNumber']}:{doc['MessageId']}", log=False)

    def _replay(self, ctx: RequestContext, topic: dict[str, Any], sub: dict[str, Any]) -> str:
        """Redeliver the policy's window of the archive to `sub`; its ReplayStatus."""
        start, end = check_replay_policy(sub["Attributes"]["ReplayPolicy"])
        for n, doc in enumerate(self._archived(topic)):
            if doc["time"] < start or (end is not None and doc["time"] > end):
                continue
            attrs = thaw_attributes(doc["MessageAttributes"])
            request = {"Message": doc["Message"], "MessageAttributes": attrs, "MessageGroupId": doc["MessageGroupId"],
                       "_stamp": doc["stamp"], "_replayed": True,
                       "_dedup": f"{doc['MessageId']}-replay-{int(ctx.time() * 1000)}-{n}"}
            if doc.get("Subject"):
                request["Subject"] = doc["Subject"]
            if doc.get("MessageStructure") == "json":
                request["MessageStructure"] = "json"
                request["_structured"] = json.loads(doc["Message"])
            if self._wanted(sub, request):
                self._fan_out(ctx, topic, [sub], doc["MessageId"], request, doc["SequenceNumber"])
        return "Completed"
