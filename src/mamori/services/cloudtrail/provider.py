"""AWS CloudTrail: event history (`LookupEvents`) and trails.

Every call to mamori is recorded by the gateway (gateway/record.py) into the telemetry
store; this provider reads them back the way CloudTrail's event history does, and
manages trails as resources (kind `cloudtrail:trail`, keyed by the trail ARN in its
home region). The S3 bucket of a trail is not checked yet: S3 is not implemented.

Facts: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.base import Provider
from mamori.services.cloudtrail.delivery import DELIVERY_SECONDS, DeliveryMixin
from mamori.store.telemetry import LOOKUP_ATTRIBUTES

KIND = "cloudtrail:trail"
TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$")
DEFAULT_SELECTORS = [
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}
]
# Members of GetTrail's Trail shape; everything else in the document is internal.
TRAIL_FIELDS = (
    "Name", "S3BucketName", "S3KeyPrefix", "SnsTopicName", "SnsTopicARN", "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail", "HomeRegion", "TrailARN", "LogFileValidationEnabled", "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn", "KmsKeyId", "HasCustomEventSelectors", "HasInsightSelectors", "IsOrganizationTrail",
)


def trail_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def check_trail_name(name: str) -> None:
    """AWS's naming rules: 3-128 characters; letters, digits, periods, underscores and
    dashes; start and end with a letter or digit; no '._', '-_', '..' style runs; not an
    IP address."""
    if not TRAIL_NAME.match(name):
        if not name[:1].isalnum():
            raise error("InvalidTrailNameException", "Trail name must starts with a letter or number.")
        if not name[-1:].isalnum():
            raise error("InvalidTrailNameException", "Trail name must ends with a letter or number.")
        if not 3 <= len(name) <= 128:
            raise error("InvalidTrailNameException", "Trail name too short. Minimum allowed length: 3 characters. "
                        "Specified name length: %d characters." % len(name) if len(name) < 3
                        else "Trail name too long. Maximum allowed length: 128 characters.")
        raise error("InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase "
                    "letters, numbers, periods (.), hyphens (-), and underscores (_).")
    if re.search(r"[._-]{2}", name):
        raise error("InvalidTrailNameException", "Trail name must not contain adjacent periods, underscores or dashes.")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise error("InvalidTrailNameException", "Trail name must not be in IP address format.")


class CloudTrailProvider(DeliveryMixin, Provider):
    service = "cloudtrail"

    def setup(self) -> None:
        self.runtime.scheduler.every(DELIVERY_SECONDS, self.deliver_to_logs, "cloudtrail-logs-delivery")

    # -- lookup --------------------------------------------------------------------------

    def lookup_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudtrail:LookupEvents")
        attributes = request.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
        attribute = None
        if attributes:
            key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
            if key not in LOOKUP_ATTRIBUTES:
                raise error("InvalidLookupAttributesException", f"Lookup attribute key {key} is not valid.")
            attribute = (key, value)
        start, end = request.get("StartTime"), request.get("EndTime")
        if start is not None and end is not None and start > end:
            raise error("InvalidTimeRangeException", "Start time must be before end time.")
        limit = request.get("MaxResults", 50)
        if not 1 <= limit <= 50:
            raise error("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        category = request.get("EventCategory")
        if category == "insight":
            return {"Events": []}  # no Insights events are generated yet
        fingerprint = hashlib.sha256(
            json.dumps([attribute, _epoch(start), _epoch(end), ctx.account_id, ctx.region], default=str).encode()
        ).hexdigest()[:16]
        after = None
        if request.get("NextToken"):
            after = _read_token(request["NextToken"], fingerprint)
        records, cursor = ctx.telemetry.lookup_events(
            account_id=ctx.account_id, region=ctx.region, now=ctx.time(), start=_epoch(start), end=_epoch(end),
            attribute=attribute, limit=limit, after=after,
        )
        out: dict[str, Any] = {"Events": [_event(r) for r in records]}
        if cursor:
            out["NextToken"] = _make_token(cursor, fingerprint)
        return out

    # -- trails --------------------------------------------------------------------------

    def create_trail(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn = trail_arn(ctx.region, ctx.account_id, name)
        ctx.authorize("cloudtrail:CreateTrail", arn, _request_tag_conditions(request.get("TagsList")))
        check_trail_name(name)
        if self._find(ctx, name, quiet=True) is not None:
            raise error("TrailAlreadyExistsException", f"Trail {name} already exists for customer: {ctx.account_id}")
        trail = {
            "Name": name,
            "S3BucketName": request["S3BucketName"],
            "IncludeGlobalServiceEvents": request.get("IncludeGlobalServiceEvents", True),
            "IsMultiRegionTrail": request.get("IsMultiRegionTrail", False),
            "HomeRegion": ctx.region,
            "TrailARN": arn,
            "LogFileValidationEnabled": request.get("EnableLogFileValidation", False),
            "HasCustomEventSelectors": False,
            "HasInsightSelectors": False,
            "IsOrganizationTrail": request.get("IsOrganizationTrail", False),
            "_logging": False,
            "_tags": {t["Key"]: t.get("Value", "") for t in request.get("TagsList") or []},
            "_event_selectors": DEFAULT_SELECTORS,
        }
        self._apply_options(ctx, trail, request)
        ctx.store.put(arn, trail, kind=KIND, account_id=ctx.account_id, region=ctx.region)
        ctx.resources.append({"ARN": arn, "accountId": ctx.account_id, "type": "AWS::CloudTrail::Trail"})
        return _public(trail)

    def update_trail(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["Name"], home_only=True)
        ctx.authorize("cloudtrail:UpdateTrail", trail["TrailARN"])
        for source, target in (
            ("S3BucketName", "S3BucketName"),
            ("IncludeGlobalServiceEvents", "IncludeGlobalServiceEvents"),
            ("IsMultiRegionTrail", "IsMultiRegionTrail"),
            ("EnableLogFileValidation", "LogFileValidationEnabled"),
            ("IsOrganizationTrail", "IsOrganizationTrail"),
        ):
            if source in request:
                trail[target] = request[source]
        self._apply_options(ctx, trail, request)
        self._save(ctx, trail)
        return _public(trail)

    def delete_trail(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["Name"], home_only=True)
        ctx.authorize("cloudtrail:DeleteTrail", trail["TrailARN"])
        ctx.store.delete(trail["TrailARN"])
        return {}

    def get_trail(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["Name"])
        ctx.authorize("cloudtrail:GetTrail", trail["TrailARN"])
        return {"Trail": _public(trail)}

    def describe_trails(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudtrail:DescribeTrails")
        wanted = request.get("trailNameList")
        include_shadow = request.get("includeShadowTrails", True)
        trails = []
        for trail in self._visible(ctx):
            if not include_shadow and trail["HomeRegion"] != ctx.region:
                continue
            if wanted and trail["Name"] not in wanted and trail["TrailARN"] not in wanted:
                continue
            trails.append(_public(trail))
        return {"trailList": trails}

    def list_trails(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudtrail:ListTrails")
        trails = ctx.store.list(KIND, account_id=ctx.account_id)
        return {"Trails": [{"TrailARN": t["TrailARN"], "Name": t["Name"], "HomeRegion": t["HomeRegion"]} for t in trails]}

    def start_logging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_logging(ctx, request, True)

    def stop_logging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_logging(ctx, request, False)

    def get_trail_status(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["Name"])
        ctx.authorize("cloudtrail:GetTrailStatus", trail["TrailARN"])
        out: dict[str, Any] = {"IsLogging": trail.get("_logging", False)}
        for key in ("StartLoggingTime", "StopLoggingTime"):
            if trail.get("_" + key):
                out[key] = datetime.fromtimestamp(trail["_" + key], UTC)
        if trail.get("_cwlTime"):
            out["LatestCloudWatchLogsDeliveryTime"] = datetime.fromtimestamp(trail["_cwlTime"], UTC)
        if trail.get("_cwlError"):
            out["LatestCloudWatchLogsDeliveryError"] = trail["_cwlError"]
        return out

    def put_event_selectors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["TrailName"], home_only=True)
        ctx.authorize("cloudtrail:PutEventSelectors", trail["TrailARN"])
        basic, advanced = request.get("EventSelectors"), request.get("AdvancedEventSelectors")
        if (basic is None) == (advanced is None):
            raise error("InvalidParameterCombinationException",
                        "You must specify either EventSelectors or AdvancedEventSelectors, but not both.")
        if basic is not None:
            if len(basic) > 5:
                raise error("InvalidEventSelectorsException", "You can specify up to 5 event selectors per trail.")
            trail["_event_selectors"] = [
                {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                 "ExcludeManagementEventSources": [], **s} for s in basic
            ]
            trail.pop("_advanced_event_selectors", None)
        else:
            trail["_advanced_event_selectors"] = advanced
            trail.pop("_event_selectors", None)
        trail["HasCustomEventSelectors"] = True
        self._save(ctx, trail)
        out: dict[str, Any] = {"TrailARN": trail["TrailARN"]}
        if basic is not None:
            out["EventSelectors"] = trail["_event_selectors"]
        else:
            out["AdvancedEventSelectors"] = advanced
        return out

    def get_event_selectors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._find(ctx, request["TrailName"])
        ctx.authorize("cloudtrail:GetEventSelectors", trail["TrailARN"])
        out: dict[str, Any] = {"TrailARN": trail["TrailARN"]}
        if "_advanced_event_selectors" in trail:
            out["AdvancedEventSelectors"] = trail["_advanced_event_selectors"]
        else:
            out["EventSelectors"] = trail.get("_event_selectors", DEFAULT_SELECTORS)
        return out

    # -- tags ----------------------------------------------------------------------------

    def add_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._by_arn(ctx, request["ResourceId"])
        tags = request.get("TagsList") or []
        ctx.authorize("cloudtrail:AddTags", trail["TrailARN"], _request_tag_conditions(tags))
        merged = dict(trail.get("_tags") or {})
        merged.update({t["Key"]: t.get("Value", "") for t in tags})
        if len(merged) > 50:
            raise error("TagsLimitExceededException", "The number of tags per trail has exceeded the permitted amount. Currently, the limit is 50.")
        trail["_tags"] = merged
        self._save(ctx, trail)
        return {}

    def remove_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        trail = self._by_arn(ctx, request["ResourceId"])
        tags = request.get("TagsList") or []
        ctx.authorize("cloudtrail:RemoveTags", trail["TrailARN"], {"aws:TagKeys": [t["Key"] for t in tags]})
        remaining = dict(trail.get("_tags") or {})
        for tag in tags:
            remaining.pop(tag["Key"], None)
        trail["_tags"] = remaining
        self._save(ctx, trail)
        return {}

    def list_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ids = request.get("ResourceIdList") or []
        trails = [self._by_arn(ctx, arn) for arn in ids]
        for trail in trails:
            ctx.authorize("cloudtrail:ListTags", trail["TrailARN"])
        if not trails:
            ctx.authorize("cloudtrail:ListTags")
        return {
            "ResourceTagList": [
                {"ResourceId": t["TrailARN"], "TagsList": [{"Key": k, "Value": v} for k, v in (t.get("_tags") or {}).items()]}
                for t in trails
            ]
        }

    # -- helpers -------------------------------------------------------------------------

    def _set_logging(self, ctx: RequestContext, request: dict[str, Any], on: bool) -> dict[str, Any]:
        trail = self._find(ctx, request["Name"], home_only=True)
        ctx.authorize("cloudtrail:StartLogging" if on else "cloudtrail:StopLogging", trail["TrailARN"])
        trail["_logging"] = on
        trail["_StartLoggingTime" if on else "_StopLoggingTime"] = ctx.time()
        self._save(ctx, trail)
        return {}

    def _apply_options(self, ctx: RequestContext, trail: dict[str, Any], request: dict[str, Any]) -> None:
        if request.get("CloudWatchLogsLogGroupArn") and request["CloudWatchLogsLogGroupArn"] != trail.get(
                "CloudWatchLogsLogGroupArn"):
            trail["_cwlSince"] = ctx.time()  # a new destination gets the events from now on
        for key in ("S3KeyPrefix", "CloudWatchLogsLogGroupArn", "CloudWatchLogsRoleArn"):
            if key in request:
                trail[key] = request[key]
        if request.get("CloudWatchLogsRoleArn"):
            # CloudTrail assumes this role to deliver to the log group: passing it needs
            # iam:PassRole (cloudtrail/latest/userguide/security_iam_id-based-policy-examples.html).
            ctx.authorize_pass_role(request["CloudWatchLogsRoleArn"], "cloudtrail.amazonaws.com", trail["TrailARN"])
        if bool(trail.get("CloudWatchLogsLogGroupArn")) != bool(trail.get("CloudWatchLogsRoleArn")):
            raise error("InvalidCloudWatchLogsLogGroupArnException" if trail.get("CloudWatchLogsRoleArn")
                        else "InvalidCloudWatchLogsRoleArnException",
                        "You must specify both a log group and a role, or neither.")
        if "SnsTopicName" in request:
            topic = request["SnsTopicName"]
            if topic:
                trail["SnsTopicName"] = topic
                trail["SnsTopicARN"] = topic if topic.startswith("arn:") else f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{topic}"
            else:
                trail.pop("SnsTopicName", None)
                trail.pop("SnsTopicARN", None)
        if "KmsKeyId" in request:
            key = request["KmsKeyId"]
            if key and not key.startswith("arn:"):
                key = f"arn:aws:kms:{ctx.region}:{ctx.account_id}:{key if key.startswith('alias/') else 'key/' + key}"
            trail["KmsKeyId"] = key or None

    def _visible(self, ctx: RequestContext) -> list[dict[str, Any]]:
        """Trails of this region, and multi-region trails of other regions (their
        "shadow trails" are visible everywhere)."""
        return [
            t for t in ctx.store.list(KIND, account_id=ctx.account_id)
            if t["HomeRegion"] == ctx.region or t.get("IsMultiRegionTrail")
        ]

    def _find(self, ctx: RequestContext, name_or_arn: str, *, quiet: bool = False, home_only: bool = False) -> dict[str, Any] | None:
        for trail in self._visible(ctx):
            if name_or_arn in (trail["Name"], trail["TrailARN"]):
                if home_only and trail["HomeRegion"] != ctx.region:
                    raise error("InvalidHomeRegionException",
                                "This operation must be called from the trail's home region.")
                return trail
        if quiet:
            return None
        # No decision was possible on a trail that doesn't exist; ask for one on the
        # name as given so the answer (allowed -> not found, denied -> access denied)
        # is what AWS gives.
        ctx.authorize(f"cloudtrail:{ctx.operation}", trail_arn(ctx.region, ctx.account_id, name_or_arn.rsplit("/", 1)[-1]))
        raise error("TrailNotFoundException", f"Unknown trail: {name_or_arn} for the user: {ctx.account_id}")

    def _by_arn(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        trail = ctx.store.get(arn) if arn.startswith("arn:") else None
        if trail is None:
            ctx.authorize(f"cloudtrail:{ctx.operation}", arn if arn.startswith("arn:") else "*")
            if not arn.startswith("arn:"):
                raise error("InvalidTrailNameException", f"Resource ID {arn} is not a valid trail ARN.")
            raise error("ResourceNotFoundException", f"Resource {arn} does not exist.")
        return trail

    def _save(self, ctx: RequestContext, trail: dict[str, Any]) -> None:
        ctx.store.put(trail["TrailARN"], trail, kind=KIND, account_id=ctx.account_id, region=trail["HomeRegion"])


def _public(trail: dict[str, Any]) -> dict[str, Any]:
    return {k: trail[k] for k in TRAIL_FIELDS if trail.get(k) is not None}


def _request_tag_conditions(tags: list[dict[str, str]] | None) -> dict[str, Any]:
    if not tags:
        return {}
    conditions: dict[str, Any] = {"aws:TagKeys": [t["Key"] for t in tags]}
    for tag in tags:
        conditions[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
    return conditions


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _event(record: dict[str, Any]) -> dict[str, Any]:
    identity = record.get("userIdentity") or {}
    username = identity.get("userName")
    if username is None and identity.get("type") == "AssumedRole":
        username = identity.get("arn", "").rsplit("/", 1)[-1]
    if username is None and identity.get("type") == "Root":
        username = "root"
    event: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "EventSource": record["eventSource"],
        "Resources": [{"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in record.get("resources") or []],
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    if identity.get("accessKeyId"):
        event["AccessKeyId"] = identity["accessKeyId"]
    if username:
        event["Username"] = username
    return event


def _make_token(cursor: str, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"c": cursor, "f": fingerprint}).encode()).decode()


def _read_token(token: str, fingerprint: str) -> str:
    """A token is only valid with the parameters of the call that returned it."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if doc["f"] == fingerprint:
            return str(doc["c"])
    except (ValueError, KeyError, TypeError):
        pass
    raise error("InvalidNextTokenException", "Invalid NextToken.")
