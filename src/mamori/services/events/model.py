"""EventBridge resources in the resource store: kinds, ARNs, names and lookups.

Kinds (documents shaped like the Describe* outputs; internal members start with `_`):
  events:event-bus       arn:aws:events:REGION:ACCT:event-bus/NAME (the default bus exists
                         implicitly and is stored on first write)
  events:rule            arn:aws:events:REGION:ACCT:rule/NAME (default bus) or
                         rule/BUS/NAME; `_targets` holds the targets in PutTargets shape
  events:archive         arn:aws:events:REGION:ACCT:archive/NAME
  events:archived:NAME   one archived event (kind per archive, so an archive lists fast)
  events:replay          arn:aws:events:REGION:ACCT:replay/NAME
  events:connection      arn:aws:events:REGION:ACCT:connection/NAME/UUID (auth secrets
                         sealed in the store's secret column)
  events:api-destination arn:aws:events:REGION:ACCT:api-destination/NAME/UUID
  events:event-source    a partner event source offered to one account (partners.py),
                         key arn:aws:events:REGION:ACCT:mamori-event-source/NAME
  events:pending-retry   a delivery waiting for its next attempt (targets.py), key
                         arn:aws:events:REGION:ACCT:mamori-pending-retry/UUID

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
"""

from __future__ import annotations

import re
from typing import Any

from mamori.errors import AwsError, error

BUS = "events:event-bus"
RULE = "events:rule"
ARCHIVE = "events:archive"
REPLAY = "events:replay"
CONNECTION = "events:connection"
API_DESTINATION = "events:api-destination"
DEFAULT = "default"

BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
RULE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
ARCHIVE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,48}$")
CONNECTION_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus/(.+)$")


def bus_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def rule_arn(region: str, account: str, bus: str, name: str) -> str:
    if bus == DEFAULT:
        return f"arn:aws:events:{region}:{account}:rule/{name}"
    return f"arn:aws:events:{region}:{account}:rule/{bus}/{name}"


def simple_arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:{kind}/{name}"


def not_found(what: str) -> AwsError:
    return error("ResourceNotFoundException", what)


def validation(message: str) -> AwsError:
    return error("ValidationException", message)


def resolve_bus(ctx: Any, name_or_arn: str | None) -> tuple[str, str, str, str]:
    """EventBusName (name or ARN) -> (arn, region, account, name)."""
    value = name_or_arn or DEFAULT
    m = BUS_ARN.match(value)
    if m:
        return value, m.group(1), m.group(2), m.group(3)
    if not BUS_NAME.match(value):
        raise validation(f"1 validation error detected: Value '{value}' at 'eventBusName' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+")
    return bus_arn(ctx.region, ctx.account_id, value), ctx.region, ctx.account_id, value


def load_bus(ctx: Any, store: Any, name_or_arn: str | None) -> dict[str, Any]:
    arn, region, account, name = resolve_bus(ctx, name_or_arn)
    doc = store.get(arn)
    if doc is None:
        if name == DEFAULT:
            return default_bus(arn, name)
        raise not_found(f"Event bus {name} does not exist.")
    return doc


def default_bus(arn: str, name: str = DEFAULT) -> dict[str, Any]:
    return {"Name": name, "Arn": arn, "_tags": {}}


def rule_for(ctx: Any, store: Any, name: str, bus: str | None) -> dict[str, Any]:
    bus_doc = load_bus(ctx, store, bus)
    _, region, account, bus_name = resolve_bus(ctx, bus_doc["Arn"])
    doc = store.get(rule_arn(region, account, bus_name, name))
    if doc is None:
        raise not_found(f"Rule {name} does not exist on EventBus {bus_name}.")
    return doc


def tags_out(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def page(items: list[Any], request: dict[str, Any], key: str) -> dict[str, Any]:
    """One page of a List* answer: `Limit` items (default 100) from `NextToken` on."""
    start = 0
    if request.get("NextToken"):
        try:
            start = int(request["NextToken"])
        except ValueError:
            raise validation("The NextToken provided is invalid.") from None
    limit = request.get("Limit") or 100
    out: dict[str, Any] = {key: items[start:start + limit]}
    if start + limit < len(items):
        out["NextToken"] = str(start + limit)
    return out
