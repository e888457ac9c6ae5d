"""What every SQS operation family shares: queue lookup by URL, authorization with the
queue policy, errors, the queue document and its URL.

Queue doc: kind "sqs-queue", ARN arn:aws:sqs:REGION:ACCOUNT:NAME, in the resource store
(control plane). Messages are in the queue store (store/queues.py).
Queue URL: <endpoint>/ACCOUNT/NAME; any URL whose last two path segments are
ACCOUNT/NAME is accepted (so https://sqs.REGION.amazonaws.com/ACCOUNT/NAME too).
"""

from __future__ import annotations

import re
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext, with_resource_policy

QUEUE_KIND = "sqs-queue"
_REGION_HOST = re.compile(r"^(?:https?:)?/*sqs\.([a-z0-9-]+)\.")


def not_found() -> Exception:
    return error("QueueDoesNotExist", "The specified queue does not exist.", status=400)


def invalid_value(name: str, value: Any, reason: str) -> Exception:
    return error("InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Reason: {reason}",
                 status=400)


def arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a queue ARN, or None if it is not one."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        return None
    return parts[3], parts[4], parts[5]


class QueueAccess:
    """Mixed into the provider: finding and authorizing queues."""

    runtime: Any

    def url(self, doc: dict[str, Any]) -> str:
        return f"{self.runtime.config.endpoint}/{doc['account']}/{doc['name']}"

    def queue(self, ctx: RequestContext, url: Any) -> dict[str, Any]:
        if not isinstance(url, str) or not url:
            raise error("InvalidAddress", "The address is not valid for this endpoint.", status=400)
        parts = [p for p in url.split("?")[0].split("/") if p]
        if len(parts) < 2:
            raise not_found()
        account, name = parts[-2], parts[-1]
        region = ctx.region
        host = _REGION_HOST.match(url)
        if host and host.group(1) != "localhost":
            region = host.group(1)
        doc = ctx.store.get(f"arn:aws:sqs:{region}:{account}:{name}")
        if doc is None:
            raise not_found()
        return doc

    def authorize(self, ctx: RequestContext, action: str, doc: dict[str, Any]) -> None:
        policy = doc["attributes"].get("Policy")
        ctx.resources = [{"ARN": doc["arn"], "accountId": doc["account"], "type": "AWS::SQS::Queue"}]
        # SQS authorizes by resource tags (ABAC): aws:ResourceTag/<key>
        conditions = {f"aws:ResourceTag/{k}": v for k, v in doc["tags"].items()} if doc.get("tags") else {}
        ctx.authorize(action, doc["arn"], with_resource_policy(conditions, policy or None, account=doc["account"]))

    def save(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        ctx.store.put(doc["arn"], doc, kind=QUEUE_KIND, account_id=doc["account"], region=doc["region"])
