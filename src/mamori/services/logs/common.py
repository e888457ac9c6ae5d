"""Shared pieces of the Logs provider: ARNs, resource kinds, lookups, errors, tokens.

Resources live in the resource store keyed by ARN:
  logs:log-group           arn:aws:logs:R:A:log-group:NAME (doc shaped like LogGroup)
  logs:log-stream          ...:log-group:NAME:log-stream:STREAM
  logs:metric-filter       ...:log-group:NAME:metric-filter:FILTER (internal key)
  logs:subscription-filter ...:log-group:NAME:subscription-filter:FILTER (internal key)
  logs:resource-policy     arn:aws:logs:R:A:resource-policy:NAME (internal key)
  logs:export-task         arn:aws:logs:R:A:export-task:ID (internal key)
Log events are in the telemetry store (store/logs.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext

GROUP = "logs:log-group"
STREAM = "logs:log-stream"
METRIC_FILTER = "logs:metric-filter"
SUBSCRIPTION_FILTER = "logs:subscription-filter"
RESOURCE_POLICY = "logs:resource-policy"
EXPORT_TASK = "logs:export-task"


def group_arn(ctx_or_region: Any, account: str | None = None, name: str = "") -> str:
    if isinstance(ctx_or_region, RequestContext):
        return f"arn:aws:logs:{ctx_or_region.region}:{ctx_or_region.account_id}:log-group:{name}"
    return f"arn:aws:logs:{ctx_or_region}:{account}:log-group:{name}"


def stream_arn(ctx: RequestContext, group: str, stream: str) -> str:
    return f"{group_arn(ctx, name=group)}:log-stream:{stream}"


def not_found(what: str = "log group") -> Exception:
    return error("ResourceNotFoundException", f"The specified {what} does not exist.")


def invalid(message: str) -> Exception:
    return error("InvalidParameterException", message)


def group_name(request: dict[str, Any], *, name_key: str = "logGroupName",
               id_key: str = "logGroupIdentifier") -> str:
    """The group named by name or identifier (a name or an ARN, with or without `:*`)."""
    name, ident = request.get(name_key), request.get(id_key)
    if name and ident:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if ident:
        if ident.startswith("arn:"):
            parts = ident.split(":")
            if len(parts) < 7 or parts[5] != "log-group":
                raise invalid("Invalid log group identifier")
            return parts[6]
        return ident
    if not name:
        raise invalid("Should provide either name or ARN of the log group")
    return name


def load_group(ctx: RequestContext, name: str) -> dict[str, Any]:
    doc = ctx.store.get(group_arn(ctx, name=name))
    if doc is None:
        raise not_found()
    return doc


def resource_tag_keys(doc: dict[str, Any]) -> dict[str, Any]:
    return {f"aws:ResourceTag/{k}": v for k, v in (doc.get("_tags") or {}).items()}


def request_tag_keys(tags: dict[str, str] | None) -> dict[str, Any]:
    if not tags:
        return {}
    out: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    out["aws:TagKeys"] = list(tags)
    return out


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def make_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def read_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(state, dict):
            raise ValueError
        return state
    except (ValueError, TypeError):
        raise invalid("The specified nextToken is invalid.") from None


def token_offset(request: dict[str, Any]) -> int:
    """The offset a list operation's nextToken carries (0 without a token)."""
    if not request.get("nextToken"):
        return 0
    value = read_token(request["nextToken"]).get("offset", 0)
    if not isinstance(value, int) or value < 0:
        raise invalid("The specified nextToken is invalid.")
    return value


def resource_policy_conditions(ctx: Any, arn: str) -> dict[str, Any]:
    """The account's Logs resource policies that apply to `arn`, as one document for the
    authorizer (how services such as EventBridge and Route 53 are allowed to write into
    log groups). No policies: no resource policy at all.
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html"""

    from mamori.gateway.context import with_resource_policy

    statements: list[Any] = []
    for policy in ctx.store.list(RESOURCE_POLICY, account_id=ctx.account_id, region=ctx.region):
        scoped = policy.get("resourceArn")
        if scoped and not arn.startswith(scoped.removesuffix(":*").removesuffix("*")):
            continue
        try:
            found = json.loads(policy["policyDocument"]).get("Statement", [])
        except (ValueError, AttributeError):
            continue
        statements.extend(found if isinstance(found, list) else [found])
    if not statements:
        return {}
    return with_resource_policy({}, {"Version": "2012-10-17", "Statement": statements})
