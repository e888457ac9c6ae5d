"""Global endpoints (two buses in two Regions behind one PutEvents endpoint).

An endpoint is kept as a resource of kind `events:endpoint` in its home Region; mamori
has no Route 53 health checks, so an endpoint stays ACTIVE and PutEvents with its
EndpointId goes to the primary Region's bus (failover never triggers).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-global-endpoints.html
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.events.model import BUS_ARN, not_found, validation

ENDPOINT = "events:endpoint"
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
FIELDS = ("Name", "Description", "Arn", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn", "EndpointId",
          "EndpointUrl", "State", "StateReason", "CreationTime", "LastModifiedTime")


def _arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:events:{ctx.region}:{ctx.account_id}:endpoint/{name}"


def _check(ctx: RequestContext, doc: dict[str, Any]) -> None:
    buses = doc["EventBuses"]
    regions = []
    for bus in buses:
        m = BUS_ARN.match(bus.get("EventBusArn", ""))
        if m is None:
            raise validation(f"Parameter EventBuses is not valid. Reason: {bus.get('EventBusArn')} is not an event "
                             "bus ARN.")
        if m.group(2) != ctx.account_id:
            raise validation("Parameter EventBuses is not valid. Reason: event buses must be in your account.")
        regions.append(m.group(1))
    if len(set(regions)) != 2:
        raise validation("Parameter EventBuses is not valid. Reason: the two event buses must be in different "
                         "Regions.")
    if ctx.region not in regions:
        raise validation("Parameter EventBuses is not valid. Reason: one event bus must be in the endpoint's "
                         "Region.")
    names = {b["EventBusArn"].rsplit("/", 1)[-1] for b in buses}
    if len(names) != 1:
        raise validation("Parameter EventBuses is not valid. Reason: both event buses must have the same name.")
    failover = (doc.get("RoutingConfig") or {}).get("FailoverConfig") or {}
    secondary = (failover.get("Secondary") or {}).get("Route")
    if secondary not in regions or secondary == ctx.region:
        raise validation("Parameter RoutingConfig.FailoverConfig.Secondary.Route is not valid. Reason: it must be "
                         "the Region of the other event bus.")


def primary_bus(ctx: RequestContext, store: Any, endpoint_id: str) -> str:
    """The bus ARN PutEvents with `EndpointId` delivers to (the home Region's)."""
    for doc in store.list(ENDPOINT, account_id=ctx.account_id):
        if doc["EndpointId"] == endpoint_id:
            home = doc["Arn"].split(":")[3]
            for bus in doc["EventBuses"]:
                if bus["EventBusArn"].split(":")[3] == home:
                    return bus["EventBusArn"]
    raise validation(f"Parameter EndpointId is not valid. Reason: endpoint {endpoint_id} does not exist.")


class EndpointsMixin:
    runtime: Any

    def _endpoint(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = ctx.store.get(_arn(ctx, name))
        if doc is None:
            raise not_found(f"Endpoint {name} does not exist.")
        return doc

    def create_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn = _arn(ctx, name)
        ctx.authorize("events:CreateEndpoint", arn)
        if not ENDPOINT_NAME.match(name):
            raise validation("Endpoint name must match [A-Za-z0-9\\-_]+ and be at most 64 characters.")
        if ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", f"Endpoint {name} already exists.")
        if request.get("RoleArn"):
            ctx.authorize_pass_role(request["RoleArn"], "events.amazonaws.com", arn)
        endpoint_id = f"{secrets.token_hex(5)[:5]}.{secrets.token_hex(5)[:5]}"
        now = ctx.time()
        doc = {"Name": name, "Arn": arn, "RoutingConfig": request["RoutingConfig"],
               "ReplicationConfig": request.get("ReplicationConfig") or {"State": "ENABLED"},
               "EventBuses": request["EventBuses"], "EndpointId": endpoint_id,
               "EndpointUrl": f"https://{endpoint_id}.endpoint.events.amazonaws.com", "State": "ACTIVE",
               "CreationTime": now, "LastModifiedTime": now}
        for key in ("Description", "RoleArn"):
            if request.get(key) is not None:
                doc[key] = request[key]
        _check(ctx, doc)
        ctx.store.put(arn, doc, kind=ENDPOINT, account_id=ctx.account_id, region=ctx.region)
        return {k: doc[k] for k in ("Name", "Arn", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn",
                                    "State") if k in doc}

    def describe_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DescribeEndpoint", _arn(ctx, name))
        doc = self._endpoint(ctx, name)
        return {k: doc[k] for k in FIELDS if k in doc}

    def list_endpoints(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListEndpoints")
        prefix = request.get("NamePrefix") or ""
        home = request.get("HomeRegion")
        items = [{k: d[k] for k in FIELDS if k in d}
                 for d in sorted(ctx.store.list(ENDPOINT, account_id=ctx.account_id), key=lambda d: d["Name"])
                 if d["Name"].startswith(prefix) and (not home or d["Arn"].split(":")[3] == home)]
        return {"Endpoints": items}

    def update_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:UpdateEndpoint", _arn(ctx, name))
        doc = self._endpoint(ctx, name)
        for key in ("Description", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn"):
            if request.get(key) is not None:
                doc[key] = request[key]
        _check(ctx, doc)
        doc["LastModifiedTime"] = ctx.time()
        ctx.store.put(doc["Arn"], doc, kind=ENDPOINT, account_id=ctx.account_id, region=ctx.region)
        return {k: doc[k] for k in ("Name", "Arn", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn",
                                    "EndpointId", "EndpointUrl", "State") if k in doc}

    def delete_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DeleteEndpoint", _arn(ctx, name))
        doc = self._endpoint(ctx, name)
        ctx.store.delete(doc["Arn"])
        return {}
