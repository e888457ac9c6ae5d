"""Tags of CloudWatch resources: TagResource, UntagResource, ListTagsForResource.

Taggable resources are alarms, Contributor Insights rules and metric streams
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_TagResource.html).
A resource exists when the resource store holds a document under its ARN (alarms are
stored by the alarms code under their ARN). Tags live apart from the resource's own
document, under the key `tags:<ARN>` (kind `cloudwatch:tags`), so the code that owns a
resource never has to know about them; `save_tags` / `resource_tags` / `drop_tags`
are the API for that code (PutMetricAlarm's Tags, DeleteAlarms).
"""

from __future__ import annotations

import re
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import invalid

KIND = "cloudwatch:tags"
MAX_TAGS = 50
ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]*):(\d{12}):(alarm|insight-rule|metric-stream)[:/](.+)$")


def _key(arn: str) -> str:
    return f"tags:{arn}"


class TagOperations:
    """Mixin of the CloudWatch provider (needs `self.runtime`)."""

    def resource_tags(self, arn: str) -> dict[str, str]:
        doc = self.runtime.store.get(_key(arn))
        return dict(doc["Tags"]) if doc else {}

    def save_tags(self, account_id: str, arn: str, tags: dict[str, str]) -> None:
        if tags:
            self.runtime.store.put(_key(arn), {"ResourceARN": arn, "Tags": tags}, kind=KIND, account_id=account_id)
        else:
            self.runtime.store.delete(_key(arn))

    def drop_tags(self, arn: str) -> None:
        self.runtime.store.delete(_key(arn))

    def _tagged_resource(self, ctx: RequestContext, arn: str) -> None:
        m = ARN.match(arn or "")
        if not m:
            raise invalid(f"The value {arn} for parameter ResourceARN is invalid.")
        if m.group(2) != ctx.account_id or (m.group(1) and m.group(1) != ctx.region) or ctx.store.get(arn) is None:
            kind = {"alarm": "Alarm", "insight-rule": "Insight rule", "metric-stream": "Metric stream"}[m.group(3)]
            raise AwsError(f"{kind} {m.group(4)} does not exist.", code="ResourceNotFoundException",
                           fields={"ResourceType": kind, "ResourceId": m.group(4)})

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        new = request.get("Tags") or []
        conditions: dict[str, Any] = {"aws:TagKeys": [t["Key"] for t in new]}
        for t in new:
            conditions[f"aws:RequestTag/{t['Key']}"] = t["Value"]
        current = self.resource_tags(arn)
        for k, v in current.items():
            conditions[f"aws:ResourceTag/{k}"] = v
        ctx.authorize("cloudwatch:TagResource", arn, conditions)
        self._tagged_resource(ctx, arn)
        for t in new:
            if t["Key"].startswith("aws:"):
                raise invalid(f"Invalid tag key {t['Key']}: the aws: prefix is reserved for AWS use.")
        merged = {**current, **{t["Key"]: t["Value"] for t in new}}
        if len(merged) > MAX_TAGS:
            raise AwsError(f"A resource can have at most {MAX_TAGS} tags.", code="LimitExceededException")
        self.save_tags(ctx.account_id, arn, merged)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        keys = request.get("TagKeys") or []
        current = self.resource_tags(arn)
        conditions: dict[str, Any] = {"aws:TagKeys": list(keys)}
        for k, v in current.items():
            conditions[f"aws:ResourceTag/{k}"] = v
        ctx.authorize("cloudwatch:UntagResource", arn, conditions)
        self._tagged_resource(ctx, arn)
        for k in keys:
            current.pop(k, None)
        self.save_tags(ctx.account_id, arn, current)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        current = self.resource_tags(arn)
        ctx.authorize("cloudwatch:ListTagsForResource", arn, {f"aws:ResourceTag/{k}": v for k, v in current.items()})
        self._tagged_resource(ctx, arn)
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(current.items())]}
