"""Partner event sources: the SaaS partner's side and the customer's side.

In AWS only onboarded SaaS partners may call the partner operations; in mamori any
account can play the partner, so a test can stand in for one:

    partner   create_partner_event_source(Name, Account)  offers a source to an account
              describe/list_partner_event_source(s), list_partner_event_source_accounts,
              delete_partner_event_source, put_partner_events
    customer  list/describe_event_source(s), activate/deactivate_event_source, and
              CreateEventBus(Name=<source name>, EventSourceName=<source name>), which
              matches a partner event bus to the source (the source becomes ACTIVE)

A source is stored once per customer account (kind `events:event-source`) under an
internal key; its public ARN has no account, `arn:aws:events:REGION::event-source/NAME`.
PutPartnerEvents delivers an entry to the partner bus of every account whose source is
ACTIVE and has its bus; the event's `account` is the customer's, its `source` the
source name.

States (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_EventSource.html,
API_DeactivateEventSource.html): PENDING until the customer creates the matching bus,
ACTIVE once matched, PENDING again when deactivated; a PENDING source expires after two
weeks (reads show it DELETED); DELETED when the partner deletes it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.events.model import bus_arn, not_found, page, validation

EVENT_SOURCE = "events:event-source"
SOURCE_NAME = re.compile(r"^aws\.partner(/[\.\-_A-Za-z0-9]+){2,}$")
PENDING_LIFETIME = 14 * 86_400  # "If it remains in PENDING state for more than two weeks, it is deleted."
MAX_PARTNER_ENTRIES = 20


def source_arn(region: str, name: str) -> str:
    return f"arn:aws:events:{region}::event-source/{name}"


def _key(region: str, account: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:mamori-event-source/{name}"


def _check_name(name: str, member: str = "name") -> None:
    if not SOURCE_NAME.match(name) or len(name) > 256:
        raise validation(f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
                         "Member must satisfy regular expression pattern: aws\\.partner(/[\\.\\-_A-Za-z0-9]+){2,}")


def _state(doc: dict[str, Any], now: float) -> str:
    if doc["State"] == "PENDING" and doc.get("ExpirationTime") and now > doc["ExpirationTime"]:
        return "DELETED"
    return doc["State"]


def _customer_view(doc: dict[str, Any], now: float) -> dict[str, Any]:
    out = {"Arn": doc["Arn"], "CreatedBy": doc["CreatedBy"], "CreationTime": doc["CreationTime"],
           "Name": doc["Name"], "State": _state(doc, now)}
    if out["State"] == "PENDING" and doc.get("ExpirationTime"):
        out["ExpirationTime"] = doc["ExpirationTime"]
    return out


def matching_source(ctx: RequestContext, name: str) -> dict[str, Any] | None:
    """The account's live (not DELETED) event source of that name, for CreateEventBus."""
    doc = ctx.store.get(_key(ctx.region, ctx.account_id, name))
    if doc is None or _state(doc, ctx.time()) == "DELETED":
        return None
    return doc


def bus_matched(ctx: RequestContext, name: str) -> None:
    """CreateEventBus made the partner bus of source `name`: the source is ACTIVE."""
    key = _key(ctx.region, ctx.account_id, name)
    doc = ctx.store.get(key)
    if doc is not None:
        doc["State"] = "ACTIVE"
        doc.pop("ExpirationTime", None)
        ctx.store.put(key, doc, kind=EVENT_SOURCE, account_id=ctx.account_id, region=ctx.region)


class PartnersMixin:
    runtime: Any
    router: Any

    # -- partner side ----------------------------------------------------------------------

    def _offered(self, ctx: RequestContext, name: str) -> list[dict[str, Any]]:
        """The caller's (the partner's) source `name`, one document per customer account."""
        return [d for d in ctx.store.list(EVENT_SOURCE, region=ctx.region)
                if d["Name"] == name and d["_partner"] == ctx.account_id]

    def create_partner_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, account = request["Name"], request["Account"]
        arn = source_arn(ctx.region, name)
        ctx.authorize("events:CreatePartnerEventSource", arn)
        _check_name(name)
        if not re.fullmatch(r"\d{12}", account):
            raise validation(f"1 validation error detected: Value '{account}' at 'account' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: \\d{12}")
        key = _key(ctx.region, account, name)
        existing = ctx.store.get(key)
        if existing is not None and _state(existing, ctx.time()) != "DELETED":
            raise error("ResourceAlreadyExistsException", f"Event source {name} already exists.")
        taken = [d for d in ctx.store.list(EVENT_SOURCE, region=ctx.region)
                 if d["Name"] == name and d["_partner"] != ctx.account_id]
        if taken:
            raise error("ResourceAlreadyExistsException", f"Event source {name} already exists.")
        now = ctx.time()
        doc = {"Arn": arn, "Name": name, "CreatedBy": name.split("/")[1], "CreationTime": now,
               "ExpirationTime": now + PENDING_LIFETIME, "State": "PENDING", "_partner": ctx.account_id,
               "_account": account}
        if ctx.store.get(bus_arn(ctx.region, account, name)) is not None:
            doc["State"] = "ACTIVE"  # the customer kept the bus of an earlier source of that name
            doc.pop("ExpirationTime")
        ctx.store.put(key, doc, kind=EVENT_SOURCE, account_id=account, region=ctx.region)
        return {"EventSourceArn": arn}

    def describe_partner_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DescribePartnerEventSource", source_arn(ctx.region, name))
        if not self._offered(ctx, name):
            raise not_found(f"Event source {name} does not exist.")
        return {"Arn": source_arn(ctx.region, name), "Name": name}

    def list_partner_event_sources(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListPartnerEventSources")
        prefix = request["NamePrefix"]
        names = sorted({d["Name"] for d in ctx.store.list(EVENT_SOURCE, region=ctx.region)
                        if d["_partner"] == ctx.account_id and d["Name"].startswith(prefix)})
        items = [{"Arn": source_arn(ctx.region, n), "Name": n} for n in names]
        return page(items, request, "PartnerEventSources")

    def list_partner_event_source_accounts(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EventSourceName"]
        ctx.authorize("events:ListPartnerEventSourceAccounts", source_arn(ctx.region, name))
        offered = self._offered(ctx, name)
        if not offered:
            raise not_found(f"Event source {name} does not exist.")
        now = ctx.time()
        items = []
        for doc in sorted(offered, key=lambda d: d["_account"]):
            item = {"Account": doc["_account"], "CreationTime": doc["CreationTime"], "State": _state(doc, now)}
            if item["State"] == "PENDING" and doc.get("ExpirationTime"):
                item["ExpirationTime"] = doc["ExpirationTime"]
            items.append(item)
        return page(items, request, "PartnerEventSourceAccounts")

    def delete_partner_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, account = request["Name"], request["Account"]
        ctx.authorize("events:DeletePartnerEventSource", source_arn(ctx.region, name))
        key = _key(ctx.region, account, name)
        doc = ctx.store.get(key)
        if doc is not None and doc["_partner"] == ctx.account_id:
            # The customer's partner bus stays; the source shows DELETED to the customer.
            doc["State"] = "DELETED"
            doc.pop("ExpirationTime", None)
            ctx.store.put(key, doc, kind=EVENT_SOURCE, account_id=account, region=ctx.region)
        return {}

    def put_partner_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:PutPartnerEvents")
        entries = request.get("Entries") or []
        if len(entries) > MAX_PARTNER_ENTRIES:
            raise validation(f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                             f"Member must have length less than or equal to {MAX_PARTNER_ENTRIES}")
        from mamori.services.events.provider import MAX_ENTRY_BYTES, entry_size, parse_detail

        if sum(entry_size(e) for e in entries) > MAX_ENTRY_BYTES:
            raise validation("Total size of the entries in the request is over the limit.")
        results: list[dict[str, Any]] = []
        deliveries: list[tuple[str, dict[str, Any]]] = []
        now = ctx.time()
        for entry in entries:
            source = entry.get("Source")
            missing = next((k for k in ("Source", "DetailType", "Detail") if not entry.get(k)), None)
            if missing:
                results.append({"ErrorCode": "InvalidArgument",
                                "ErrorMessage": f"Parameter {missing} is not valid. Reason: {missing} is a required "
                                                "argument."})
                continue
            offered = self._offered(ctx, source)
            if not offered:
                results.append({"ErrorCode": "NotAuthorizedForSourceException",
                                "ErrorMessage": "Not authorized for the source."})
                continue
            detail = parse_detail(entry["Detail"])
            if detail is None:
                results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
                continue
            event_id = str(uuid.uuid4())
            when = entry.get("Time")
            if isinstance(when, datetime):
                when = when.timestamp()
            moment = datetime.fromtimestamp(when if when is not None else now, tz=UTC)
            for doc in offered:
                if _state(doc, now) != "ACTIVE":
                    continue
                bus = bus_arn(ctx.region, doc["_account"], source)
                if ctx.store.get(bus) is None:
                    continue
                deliveries.append((bus, {
                    "version": "0", "id": event_id, "detail-type": entry["DetailType"], "source": source,
                    "account": doc["_account"], "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": ctx.region, "resources": list(entry.get("Resources") or []), "detail": detail,
                }))
            results.append({"EventId": event_id})
        for bus, event in deliveries:
            self.router.route(bus, event)
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    # -- customer side ---------------------------------------------------------------------

    def _source(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = ctx.store.get(_key(ctx.region, ctx.account_id, name))
        if doc is None:
            raise not_found(f"Event source {name} does not exist.")
        return doc

    def list_event_sources(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListEventSources")
        prefix = request.get("NamePrefix") or ""
        now = ctx.time()
        items = [_customer_view(d, now) for d in sorted(
            ctx.store.list(EVENT_SOURCE, account_id=ctx.account_id, region=ctx.region), key=lambda d: d["Name"])
            if d["Name"].startswith(prefix)]
        return page(items, request, "EventSources")

    def describe_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DescribeEventSource", source_arn(ctx.region, name))
        return _customer_view(self._source(ctx, name), ctx.time())

    def activate_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_source_state(ctx, request["Name"], "events:ActivateEventSource", "ACTIVE")

    def deactivate_event_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_source_state(ctx, request["Name"], "events:DeactivateEventSource", "PENDING")

    def _set_source_state(self, ctx: RequestContext, name: str, action: str, state: str) -> dict[str, Any]:
        ctx.authorize(action, source_arn(ctx.region, name))
        doc = self._source(ctx, name)
        now = ctx.time()
        current = _state(doc, now)
        if current == "DELETED":
            raise error("InvalidStateException", f"Event source {name} is in state DELETED.")
        if state == "ACTIVE" and ctx.store.get(bus_arn(ctx.region, ctx.account_id, name)) is None:
            raise error("InvalidStateException", f"Event source {name} has no matching event bus.")
        if current != state:
            doc["State"] = state
            if state == "PENDING":
                doc["ExpirationTime"] = now + PENDING_LIFETIME
            else:
                doc.pop("ExpirationTime", None)
            ctx.store.put(_key(ctx.region, ctx.account_id, name), doc, kind=EVENT_SOURCE,
                          account_id=ctx.account_id, region=ctx.region)
        return {}


