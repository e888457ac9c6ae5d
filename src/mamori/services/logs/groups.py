"""Log groups and log streams: create, describe, delete, retention, KMS key association,
tags (by group name and by ARN), deletion protection.

Retention: a scheduler job (`expire`) deletes events older than a group's retention
from the telemetry store as the mamori clock advances.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
"""

from __future__ import annotations

import re
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    GROUP,
    METRIC_FILTER,
    STREAM,
    SUBSCRIPTION_FILTER,
    group_arn,
    group_name,
    invalid,
    load_group,
    make_token,
    not_found,
    public,
    read_token,
    request_tag_keys,
    resource_policy_conditions,
    resource_tag_keys,
    stream_arn,
    token_offset,
)
from mamori.services.logs import encryption
from mamori.store import logs as events_store

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                  2922, 3288, 3653)
CLASSES = ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
KMS_ARN = re.compile(r"^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key/[\w-]+$")


def _check_tags(tags: dict[str, str] | None) -> None:
    if not tags:
        return
    if len(tags) > 50:
        raise invalid("Too many tags: a log group can have at most 50 tags.")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise invalid("Tag keys cannot start with the 'aws:' prefix.")


class GroupOperations:
    # -- log groups ---------------------------------------------------------------------------

    def create_log_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["logGroupName"]
        arn = group_arn(ctx, name=name)
        tags = request.get("tags") or {}
        ctx.authorize("logs:CreateLogGroup", arn, request_tag_keys(tags))
        if tags:
            ctx.authorize("logs:TagResource", arn, request_tag_keys(tags))
        _check_tags(tags)
        cls = request.get("logGroupClass", "STANDARD")
        if cls not in CLASSES:
            raise invalid(f"Invalid log group class: {cls}")
        kms = request.get("kmsKeyId")
        if kms is not None and not KMS_ARN.match(kms):
            raise invalid("Specified KMS key ARN is invalid.")
        if ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", "The specified log group already exists")
        doc: dict[str, Any] = {
            "logGroupName": name,
            "creationTime": int(ctx.time() * 1000),
            "metricFilterCount": 0,
            "arn": arn + ":*",
            "storedBytes": 0,
            "logGroupClass": cls,
            "logGroupArn": arn,
            "deletionProtectionEnabled": bool(request.get("deletionProtectionEnabled", False)),
            "_tags": dict(tags),
        }
        if cls == "DELIVERY":
            # "Log events in log groups in the Delivery class are kept in CloudWatch Logs for
            # only one day." (CreateLogGroup, logGroupClass)
            doc["retentionInDays"] = 1
        if kms:
            doc["kmsKeyId"] = kms
            encryption.new_data_key(self.runtime, ctx, doc, kms)  # fails as AWS fails for an unusable key
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        ctx.resources.append({"ARN": arn, "accountId": ctx.account_id, "type": "AWS::Logs::LogGroup"})
        return {}

    def delete_log_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["logGroupName"]
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteLogGroup", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        if doc.get("deletionProtectionEnabled"):
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/protecting-log-groups-from-deletion.html
            raise error("ValidationException",
                        "Cannot delete log group with deletion protection enabled. Disable deletion protection first.")
        with ctx.store.transaction():
            for kind in (STREAM, METRIC_FILTER, SUBSCRIPTION_FILTER):
                for child in ctx.store.list(kind, account_id=ctx.account_id, region=ctx.region):
                    if child.get("_group") == name:
                        ctx.store.delete(child["_key"])
            ctx.store.delete(arn)
        events_store.delete(ctx.telemetry, ctx.account_id, ctx.region, name)
        return {}

    def put_log_group_deletion_protection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name(request, name_key="_", id_key="logGroupIdentifier")
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutLogGroupDeletionProtection", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        doc["deletionProtectionEnabled"] = bool(request["deletionProtectionEnabled"])
        self._save_group(ctx, doc)
        return {}

    def put_bearer_token_authentication(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name(request, name_key="_", id_key="logGroupIdentifier")
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutBearerTokenAuthentication", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        doc["bearerTokenAuthenticationEnabled"] = bool(request["bearerTokenAuthenticationEnabled"])
        self._save_group(ctx, doc)
        return {}

    def describe_log_groups(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeLogGroups", f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:*")
        prefix, pattern = request.get("logGroupNamePrefix"), request.get("logGroupNamePattern")
        if prefix and pattern:
            raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        idents = request.get("logGroupIdentifiers")
        wanted = {group_name({"logGroupIdentifier": i}) for i in idents} if idents else None
        groups = self._groups(ctx)
        out = []
        for g in groups:
            name = g["logGroupName"]
            if prefix and not name.startswith(prefix):
                continue
            if pattern and pattern.lower() not in name.lower():
                continue
            if wanted is not None and name not in wanted:
                continue
            if request.get("logGroupClass") and g.get("logGroupClass") != request["logGroupClass"]:
                continue
            out.append(g)
        return self._page(out, request, "logGroups", "logGroupName", self._describe_group, ctx)

    def list_log_groups(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:ListLogGroups", f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:*")
        pattern = request.get("logGroupNamePattern")
        out = [g for g in self._groups(ctx)
               if (not pattern or pattern.lower() in g["logGroupName"].lower())
               and (not request.get("logGroupClass") or g.get("logGroupClass") == request["logGroupClass"])]
        return self._page(out, request, "logGroups", "logGroupName",
                          lambda _c, g: {"logGroupName": g["logGroupName"], "logGroupArn": g["logGroupArn"],
                                         "logGroupClass": g.get("logGroupClass", "STANDARD")}, ctx,
                          limit_key="limit")

    def _groups(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return sorted(ctx.store.list(GROUP, account_id=ctx.account_id, region=ctx.region),
                      key=lambda g: g["logGroupName"])

    def _describe_group(self, ctx: RequestContext, g: dict[str, Any]) -> dict[str, Any]:
        out = public(g)
        stats = events_store.stream_stats(ctx.telemetry, ctx.account_id, ctx.region, g["logGroupName"])
        out["storedBytes"] = sum(s[3] for s in stats.values())
        out["metricFilterCount"] = sum(1 for f in ctx.store.list(METRIC_FILTER, account_id=ctx.account_id,
                                                                  region=ctx.region) if f["_group"] == g["logGroupName"])
        if g.get("_dataProtection"):
            out["dataProtectionStatus"] = "ACTIVATED"
        return out

    def _page(self, items: list[dict[str, Any]], request: dict[str, Any], key: str, sort_key: str, render: Any,
              ctx: RequestContext, limit_key: str = "limit") -> dict[str, Any]:
        limit = request.get(limit_key) or 50
        start = 0
        if request.get("nextToken"):
            after = str(read_token(request["nextToken"]).get("after", ""))
            start = next((i for i, it in enumerate(items) if it[sort_key] > after), len(items))
        page = items[start:start + limit]
        out: dict[str, Any] = {key: [render(ctx, it) for it in page]}
        if start + limit < len(items):
            out["nextToken"] = make_token({"after": page[-1][sort_key]})
        return out

    def _save_group(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        ctx.store.put(doc["logGroupArn"], doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)

    # -- retention -----------------------------------------------------------------------------

    def put_retention_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["logGroupName"]
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutRetentionPolicy", arn, resource_tag_keys(doc or {}))
        days = request["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise invalid(f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
                          f"constraint: Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]")
        if doc is None:
            raise not_found()
        if doc.get("logGroupClass") == "DELIVERY":
            raise invalid("The retention of a log group of the DELIVERY class is one day and can't be changed.")
        doc["retentionInDays"] = days
        self._save_group(ctx, doc)
        self.expire(ctx.time())
        return {}

    def delete_retention_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["logGroupName"]
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteRetentionPolicy", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        doc.pop("retentionInDays", None)
        self._save_group(ctx, doc)
        return {}

    def expire(self, due: float) -> None:
        """Scheduler job: delete events older than each group's retention. Runs missed
        while the clock jumps are skipped: only the cut-off at the present matters."""
        now = self.runtime.clock.time()
        if due < now - 3600:
            return
        for g in self.runtime.store.list(GROUP):
            days = g.get("retentionInDays")
            if not days:
                continue
            region, account = g["logGroupArn"].split(":")[3:5]
            cutoff = int((now - days * 86400) * 1000)
            events_store.delete(self.runtime.telemetry, account, region, g["logGroupName"], older_than=cutoff)

    # -- KMS -----------------------------------------------------------------------------------

    def associate_kms_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("logGroupName")
        if not name:
            raise invalid("Associating a KMS key with query results is not supported yet.")
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:AssociateKmsKey", arn, resource_tag_keys(doc or {}))
        if not KMS_ARN.match(request["kmsKeyId"]):
            raise invalid("Specified KMS key ARN is invalid.")
        if doc is None:
            raise not_found()
        encryption.new_data_key(self.runtime, ctx, doc, request["kmsKeyId"])
        doc["kmsKeyId"] = request["kmsKeyId"]
        self._save_group(ctx, doc)
        return {}

    def disassociate_kms_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("logGroupName")
        if not name:
            raise invalid("Disassociating a KMS key from query results is not supported yet.")
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DisassociateKmsKey", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        # Events written so far stay sealed with their data key (kept in `_dataKeys`).
        doc.pop("kmsKeyId", None)
        doc.pop("_dataKey", None)
        self._save_group(ctx, doc)
        return {}

    # -- tags ----------------------------------------------------------------------------------

    def tag_log_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, group_arn(ctx, name=request["logGroupName"]), request["tags"], "logs:TagLogGroup")

    def untag_log_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, group_arn(ctx, name=request["logGroupName"]), request["tags"], "logs:UntagLogGroup")

    def list_tags_log_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = group_arn(ctx, name=request["logGroupName"])
        doc = ctx.store.get(arn)
        ctx.authorize("logs:ListTagsLogGroup", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise not_found()
        return {"tags": dict(doc.get("_tags") or {})}

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, _strip(request["resourceArn"]), request["tags"], "logs:TagResource")

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, _strip(request["resourceArn"]), request["tagKeys"], "logs:UntagResource")

    def list_tags_for_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = _strip(request["resourceArn"])
        doc = ctx.store.get(arn)
        ctx.authorize("logs:ListTagsForResource", arn, resource_tag_keys(doc or {}))
        if doc is None or "_tags" not in doc:
            raise error("ResourceNotFoundException", f"The specified resource does not exist: {request['resourceArn']}")
        return {"tags": dict(doc["_tags"])}

    def _tag(self, ctx: RequestContext, arn: str, tags: dict[str, str], action: str) -> dict[str, Any]:
        doc = ctx.store.get(arn)
        ctx.authorize(action, arn, {**resource_tag_keys(doc or {}), **request_tag_keys(tags)})
        if doc is None or "_tags" not in doc:
            raise not_found() if ":log-group:" in arn else error(
                "ResourceNotFoundException", f"The specified resource does not exist: {arn}")
        merged = {**doc["_tags"], **tags}
        _check_tags(tags)
        if len(merged) > 50:
            raise invalid("Too many tags: a log group can have at most 50 tags.")
        doc["_tags"] = merged
        ctx.store.put(arn, doc, kind=_kind(doc), account_id=ctx.account_id, region=ctx.region)
        return {}

    def _untag(self, ctx: RequestContext, arn: str, keys: list[str], action: str) -> dict[str, Any]:
        doc = ctx.store.get(arn)
        ctx.authorize(action, arn, {**resource_tag_keys(doc or {}), "aws:TagKeys": list(keys)})
        if doc is None or "_tags" not in doc:
            raise not_found()
        doc["_tags"] = {k: v for k, v in doc["_tags"].items() if k not in keys}
        ctx.store.put(arn, doc, kind=_kind(doc), account_id=ctx.account_id, region=ctx.region)
        return {}

    # -- log streams ---------------------------------------------------------------------------

    def create_log_stream(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["logStreamName"]
        arn = stream_arn(ctx, group, name)
        ctx.authorize("logs:CreateLogStream", arn, resource_policy_conditions(ctx, arn))
        load_group(ctx, group)
        if ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", "The specified log stream already exists")
        doc = {"logStreamName": name, "creationTime": int(ctx.time() * 1000), "arn": arn, "storedBytes": 0,
               "_group": group, "_key": arn}
        ctx.store.put(arn, doc, kind=STREAM, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_log_stream(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["logStreamName"]
        arn = stream_arn(ctx, group, name)
        ctx.authorize("logs:DeleteLogStream", arn)
        doc = load_group(ctx, group)
        if ctx.store.get(arn) is None:
            raise not_found("log stream")
        if doc.get("deletionProtectionEnabled"):
            raise error("ValidationException",
                        "Cannot delete log stream in a log group with deletion protection enabled. "
                        "Disable deletion protection first.")
        ctx.store.delete(arn)
        events_store.delete(ctx.telemetry, ctx.account_id, ctx.region, group, stream=name)
        return {}

    def describe_log_streams(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = group_name(request)
        ctx.authorize("logs:DescribeLogStreams", group_arn(ctx, name=group) + ":log-stream:*")
        load_group(ctx, group)
        order = request.get("orderBy", "LogStreamName")
        prefix = request.get("logStreamNamePrefix")
        if prefix and order == "LastEventTime":
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        stats = events_store.stream_stats(ctx.telemetry, ctx.account_id, ctx.region, group)
        streams = []
        for s in ctx.store.list(STREAM, account_id=ctx.account_id, region=ctx.region):
            if s["_group"] != group or (prefix and not s["logStreamName"].startswith(prefix)):
                continue
            out = public(s)
            if s["logStreamName"] in stats:
                first, last, ingested, size = stats[s["logStreamName"]]
                out.update(firstEventTimestamp=first, lastEventTimestamp=last, lastIngestionTime=ingested,
                           storedBytes=size)
            streams.append(out)
        if order == "LastEventTime":
            streams.sort(key=lambda s: (s.get("lastEventTimestamp", 0), s["logStreamName"]))
        else:
            streams.sort(key=lambda s: s["logStreamName"])
        if request.get("descending"):
            streams.reverse()
        limit = request.get("limit") or 50
        start = token_offset(request)
        page = streams[start:start + limit]
        result: dict[str, Any] = {"logStreams": page}
        if start + limit < len(streams):
            result["nextToken"] = make_token({"offset": start + limit})
        return result

    def _stream(self, ctx: RequestContext, group: str, stream: str) -> dict[str, Any]:
        doc = ctx.store.get(stream_arn(ctx, group, stream))
        if doc is None:
            raise not_found("log stream")
        return doc


def _strip(arn: str) -> str:
    return arn[:-2] if arn.endswith(":*") else arn


def _kind(doc: dict[str, Any]) -> str:
    """Tags by ARN reach log groups and destinations."""
    return "logs:destination" if "destinationName" in doc else GROUP
