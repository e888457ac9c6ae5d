"""Amazon EventBridge (service "events", JSON 1.1, `AWSEvents.<Op>`).

    buses        create/describe/list/update/delete_event_bus, put/remove_permission
                 (bus policies, enforced on PutEvents through the IAM authorizer)
    rules        put/describe/list/delete/enable/disable_rule, list_rule_names_by_target
    targets      put/remove_targets, list_targets_by_rule (delivery: targets.py)
    events       put_events, test_event_pattern (the pattern engine: patterns.py)
    tags         tag_resource, untag_resource, list_tags_for_resource
    archives.py  archives and replays;  connections.py  connections and API destinations
    endpoints.py global endpoints;  partners.py  partner event sources (both sides)
    schedules.py rate()/cron() evaluated on the mamori clock (runtime.scheduler)
    routing.py   an event on a bus -> archives and matching rules -> targets

AWS service events: everything published on mamori's internal bus (the gateway's "AWS
API Call via CloudTrail" for mutating calls, other services' own events) is routed to
the default bus of its account and region in `setup()`.

Facts: https://docs.aws.amazon.com/eventbridge/latest/APIReference/Welcome.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from mamori.errors import AccessDenied, AwsError, error
from mamori.gateway.context import RequestContext, with_resource_policy
from mamori.services.base import Provider
from mamori.services.events import inputs
from mamori.services.events.archives import ArchivesMixin
from mamori.services.events.connections import ConnectionsMixin
from mamori.services.events.endpoints import EndpointsMixin, primary_bus
from mamori.services.events.model import (
    API_DESTINATION,
    ARCHIVE,
    BUS,
    CONNECTION,
    DEFAULT,
    RULE,
    RULE_NAME,
    default_bus,
    load_bus,
    not_found,
    page,
    public,
    resolve_bus,
    rule_arn,
    rule_for,
    tags_out,
    validation,
)
from mamori.services.events.partners import PartnersMixin, bus_matched, matching_source
from mamori.services.events.patterns import (
    Num,
    PatternError,
    compile_pattern,
    parse_json,
    to_plain,
)
from mamori.services.events.routing import Router
from mamori.services.events.schedules import ScheduleError, parse_schedule

MAX_BUSES = 100
MAX_TARGETS_PER_RULE = 5
MAX_ENTRY_BYTES = 256 * 1024
RULE_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def pattern_error(reason: str) -> AwsError:
    return error("InvalidEventPatternException", f"Event pattern is not valid. Reason: {reason}")


def _tag_conditions(tags: list[dict[str, str]] | None) -> dict[str, Any]:
    if not tags:
        return {}
    out: dict[str, Any] = {"aws:TagKeys": [t["Key"] for t in tags]}
    for tag in tags:
        out[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
    return out


INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _within_limits(value: Any, depth: int = 0) -> bool:
    """PutEvents' Detail: nesting up to 1,000 levels, integers that fit int64
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html)."""
    if depth > 1000:
        return False
    if isinstance(value, dict):
        return all(_within_limits(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_within_limits(v, depth + 1) for v in value)
    if isinstance(value, Num) and value.text.lstrip("-").isdigit():
        return INT64[0] <= int(value.text) <= INT64[1]
    return True


def entry_size(entry: dict[str, Any]) -> int:
    """A PutEvents entry's size as AWS counts it: 14 bytes for Time, then the UTF-8
    bytes of Source, DetailType, Detail and each Resource
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html)."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len((entry.get(key) or "").encode("utf-8"))
    size += sum(len(r.encode("utf-8")) for r in entry.get("Resources") or [])
    return size


def parse_detail(text: str) -> dict[str, Any] | None:
    """An entry's Detail as plain Python values, None when it isn't a JSON object within
    AWS's limits."""
    try:
        detail = parse_json(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(detail, dict) or not _within_limits(detail):
        return None
    return to_plain(detail)



class EventsProvider(ArchivesMixin, ConnectionsMixin, EndpointsMixin, PartnersMixin, Provider):
    service = "events"

    def setup(self) -> None:
        self.router = Router(self.runtime)
        self.router.arm_all_schedules()
        self.router.deliverer.rearm_retries()
        self.runtime.bus.subscribe(self.router.service_event)

    def reset(self) -> None:
        self.router.cancel_all_schedules()
        self.router.deliverer.cancel_retries()
        self.router.tokens.clear()
        self.router.changed()

    # -- buses ---------------------------------------------------------------------------

    def create_event_bus(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn, _, _, _ = resolve_bus(ctx, name)
        ctx.authorize("events:CreateEventBus", arn, _tag_conditions(request.get("Tags")))
        if name == DEFAULT or ctx.store.get(arn) is not None:
            raise error("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
        source = request.get("EventSourceName")
        partner = bool(source)
        if partner:
            # A partner bus matches an event source offered to this account, and its
            # name is the source's name (API_CreateEventBus.html).
            if source != name:
                raise validation("Event bus name must match the name of the event source.")
            if matching_source(ctx, name) is None:
                raise not_found(f"Event source {name} does not exist.")
        elif name.startswith("aws."):
            # AWS's answer to a partner-style name without EventSourceName (seen in
            # hashicorp/terraform-provider-aws#35065).
            raise validation("EventBus name starting with 'aws.' is not valid.")
        elif "/" in name:
            raise validation("Event bus name must not contain '/'.")
        custom = [b for b in ctx.store.list(BUS, account_id=ctx.account_id, region=ctx.region) if b["Name"] != DEFAULT]
        if len(custom) + 1 >= MAX_BUSES:  # the default bus counts too
            raise error("LimitExceededException", f"The requested resource exceeds the maximum number allowed "
                        f"({MAX_BUSES} event buses).")
        now = ctx.time()
        doc: dict[str, Any] = {"Name": name, "Arn": arn, "CreationTime": now, "LastModifiedTime": now,
                               "_tags": {t["Key"]: t["Value"] for t in request.get("Tags") or []}}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
            if request.get(key) is not None:
                doc[key] = request[key]
        ctx.store.put(arn, doc, kind=BUS, account_id=ctx.account_id, region=ctx.region)
        if partner:
            bus_matched(ctx, name)
        out = {"EventBusArn": arn}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
            if key in doc:
                out[key] = doc[key]
        return out

    def describe_event_bus(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn, _, account, _ = resolve_bus(ctx, request.get("Name"))
        bus = ctx.store.get(arn)
        ctx.authorize("events:DescribeEventBus", arn,
                      with_resource_policy({}, (bus or {}).get("Policy"), account=account))
        bus = load_bus(ctx, ctx.store, arn)
        return public(bus)

    def list_event_buses(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListEventBuses")
        default_arn, _, _, _ = resolve_bus(ctx, DEFAULT)
        buses = {b["Arn"]: b for b in ctx.store.list(BUS, account_id=ctx.account_id, region=ctx.region)}
        buses.setdefault(default_arn, default_bus(default_arn))
        prefix = request.get("NamePrefix") or ""
        items = [public(b) for _, b in sorted(buses.items()) if b["Name"].startswith(prefix)]
        return page(items, request, "EventBuses")

    def update_event_bus(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bus = load_bus(ctx, ctx.store, request.get("Name"))
        ctx.authorize("events:UpdateEventBus", bus["Arn"])
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
            if key in request:
                bus[key] = request[key]
        bus["LastModifiedTime"] = ctx.time()
        self._save_bus(ctx, bus)
        return {k: bus[k] for k in ("Arn", "Name", "Description", "KmsKeyIdentifier", "DeadLetterConfig") if k in bus}

    def delete_event_bus(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn, _, _, _ = resolve_bus(ctx, name)
        ctx.authorize("events:DeleteEventBus", arn)
        if name == DEFAULT:
            raise validation("Cannot delete event bus default.")
        for rule in self._rules(ctx.account_id, ctx.region, name):
            self.router.cancel_schedule(rule["Arn"])
            ctx.store.delete(rule["Arn"])
        ctx.store.delete(arn)
        self.router.changed()
        return {}

    def _save_bus(self, ctx: RequestContext, bus: dict[str, Any]) -> None:
        _, region, account, _ = resolve_bus(ctx, bus["Arn"])
        bus.setdefault("_tags", {})
        ctx.store.put(bus["Arn"], bus, kind=BUS, account_id=account, region=region)

    # -- bus policies ------------------------------------------------------------------------

    def put_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bus = load_bus(ctx, ctx.store, request.get("EventBusName"))
        ctx.authorize("events:PutPermission", bus["Arn"])
        if request.get("Policy"):
            try:
                policy = json.loads(request["Policy"])
            except ValueError:
                raise validation("The policy is not valid JSON.") from None
            if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
                raise validation("The policy must contain a Statement list.")
        else:
            sid, principal, action = request.get("StatementId"), request.get("Principal"), request.get("Action")
            if not (sid and principal and action):
                raise validation("Parameters StatementId, Principal and Action are required when Policy is not "
                                 "given.")
            if action != "events:PutEvents":
                raise validation("Provided value in parameter 'action' is not supported.")
            policy = json.loads(bus["Policy"]) if bus.get("Policy") else {"Version": "2012-10-17", "Statement": []}
            if any(s.get("Sid") == sid for s in policy["Statement"]):
                raise error("ResourceAlreadyExistsException", "Statement with the provided id already exists.")
            statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": bus["Arn"]}
            if principal == "*":
                statement["Principal"] = "*"
            elif principal.isdigit():
                statement["Principal"] = {"AWS": f"arn:aws:iam::{principal}:root"}
            else:
                statement["Principal"] = {"AWS": principal}
            condition = request.get("Condition")
            if condition:
                if principal != "*":
                    raise validation("Condition can only be set when Principal is '*'.")
                statement["Condition"] = {"StringEquals": {condition["Key"]: condition["Value"]}}
            policy["Statement"].append(statement)
        text = json.dumps(policy)
        if len(text) > 10_240:
            raise error("PolicyLengthExceededException", "The policy is longer than 10240 characters.")
        bus["Policy"] = text
        bus["LastModifiedTime"] = ctx.time()
        self._save_bus(ctx, bus)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bus = load_bus(ctx, ctx.store, request.get("EventBusName"))
        ctx.authorize("events:RemovePermission", bus["Arn"])
        if request.get("RemoveAllPermissions"):
            bus.pop("Policy", None)
        else:
            sid = request.get("StatementId")
            policy = json.loads(bus["Policy"]) if bus.get("Policy") else {"Statement": []}
            remaining = [s for s in policy["Statement"] if s.get("Sid") != sid]
            if len(remaining) == len(policy["Statement"]):
                raise not_found("Statement with the provided id does not exist.")
            policy["Statement"] = remaining
            bus["Policy"] = json.dumps(policy)
        self._save_bus(ctx, bus)
        return {}

    # -- rules -----------------------------------------------------------------------------

    def _rules(self, account: str, region: str, bus_name: str | None = None) -> list[dict[str, Any]]:
        rules = self.runtime.store.list(RULE, account_id=account, region=region)
        return [r for r in rules if bus_name is None or r.get("EventBusName") == bus_name]

    def put_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        bus = load_bus(ctx, ctx.store, request.get("EventBusName"))
        _, region, account, bus_name = resolve_bus(ctx, bus["Arn"])
        arn = rule_arn(region, account, bus_name, name)
        pattern_text = request.get("EventPattern")
        conditions = _tag_conditions(request.get("Tags"))
        if pattern_text:
            try:
                doc = json.loads(pattern_text)
                if isinstance(doc, dict):
                    for key, cond in (("source", "events:source"), ("detail-type", "events:detail-type")):
                        if isinstance(doc.get(key), list):
                            conditions[cond] = [v for v in doc[key] if isinstance(v, str)]
            except ValueError:
                pass
        conditions["events:creatorAccount"] = ctx.account_id
        ctx.authorize("events:PutRule", arn, conditions)
        if not RULE_NAME.match(name):
            raise validation(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        schedule = request.get("ScheduleExpression")
        if not pattern_text and not schedule:
            raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if pattern_text:
            if len(pattern_text) > 4096:
                raise validation("Event pattern is too long.")
            try:
                compile_pattern(pattern_text)
            except PatternError as exc:
                raise pattern_error(exc.reason) from None
        if schedule:
            if bus_name != DEFAULT:
                raise validation("ScheduleExpression is supported only on the default event bus.")
            try:
                parse_schedule(schedule)
            except ScheduleError:
                raise validation("Parameter ScheduleExpression is not valid.") from None
        state = request.get("State") or "ENABLED"
        if state not in RULE_STATES:
            raise validation(f"1 validation error detected: Value '{state}' at 'state' failed to satisfy "
                             f"constraint: Member must satisfy enum value set: [{', '.join(RULE_STATES)}]")
        if request.get("RoleArn"):
            ctx.authorize_pass_role(request["RoleArn"], "events.amazonaws.com", arn)
        existing = ctx.store.get(arn)
        rule: dict[str, Any] = {
            "Name": name, "Arn": arn, "State": state, "EventBusName": bus_name, "CreatedBy": ctx.account_id,
            "_targets": (existing or {}).get("_targets", []),
            "_tags": dict((existing or {}).get("_tags") or {}),
        }
        for key in ("EventPattern", "ScheduleExpression", "Description", "RoleArn"):
            if request.get(key) is not None:
                rule[key] = request[key]
        rule["_tags"].update({t["Key"]: t["Value"] for t in request.get("Tags") or []})
        same_schedule = existing and existing.get("ScheduleExpression") == schedule and existing.get("State") == state
        rule["_schedule_start"] = existing.get("_schedule_start", ctx.time()) if same_schedule else ctx.time()
        ctx.store.put(arn, rule, kind=RULE, account_id=account, region=region)
        self.router.changed()
        ctx.resources.append({"ARN": arn, "accountId": account, "type": "AWS::Events::Rule"})
        self.router.arm_schedule(rule)
        return {"RuleArn": arn}

    def describe_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule_authorized(ctx, "events:DescribeRule", request["Name"], request.get("EventBusName"))
        return public(rule)

    def _rule_authorized(self, ctx: RequestContext, action: str, name: str, bus: str | None,
                         conditions: dict[str, Any] | None = None) -> dict[str, Any]:
        bus_arn, region, account, bus_name = resolve_bus(ctx, bus)
        ctx.authorize(action, rule_arn(region, account, bus_name, name), conditions)
        return rule_for(ctx, ctx.store, name, bus)

    def delete_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bus_arn, region, account, bus_name = resolve_bus(ctx, request.get("EventBusName"))
        arn = rule_arn(region, account, bus_name, request["Name"])
        ctx.authorize("events:DeleteRule", arn)
        rule = ctx.store.get(arn)
        if rule is None:
            return {}  # deleting a rule that doesn't exist succeeds, as in AWS
        if rule.get("_targets"):
            raise validation("Rule can't be deleted since it has targets.")
        if rule.get("ManagedBy") and not request.get("Force"):
            raise error("ManagedRuleException", f"Rule {rule['Name']} is managed by {rule['ManagedBy']}.")
        self.router.cancel_schedule(arn)
        ctx.store.delete(arn)
        self.router.changed()
        return {}

    def enable_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, request, "ENABLED", "events:EnableRule")

    def disable_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, request, "DISABLED", "events:DisableRule")

    def _set_state(self, ctx: RequestContext, request: dict[str, Any], state: str, action: str) -> dict[str, Any]:
        rule = self._rule_authorized(ctx, action, request["Name"], request.get("EventBusName"))
        if rule["State"] != state:
            rule["State"] = state
            rule["_schedule_start"] = ctx.time()
            self._save_rule(ctx, rule)
            self.router.arm_schedule(rule)
        return {}

    def _save_rule(self, ctx: RequestContext, rule: dict[str, Any]) -> None:
        parts = rule["Arn"].split(":")
        ctx.store.put(rule["Arn"], rule, kind=RULE, account_id=parts[4], region=parts[3])
        self.router.changed()

    def list_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListRules")
        bus = load_bus(ctx, ctx.store, request.get("EventBusName"))
        _, region, account, bus_name = resolve_bus(ctx, bus["Arn"])
        prefix = request.get("NamePrefix") or ""
        rules = sorted((r for r in self._rules(account, region, bus_name) if r["Name"].startswith(prefix)),
                       key=lambda r: r["Name"])
        return page([public(r) for r in rules], request, "Rules")

    def list_rule_names_by_target(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListRuleNamesByTarget")
        bus = load_bus(ctx, ctx.store, request.get("EventBusName"))
        _, region, account, bus_name = resolve_bus(ctx, bus["Arn"])
        names = sorted(r["Name"] for r in self._rules(account, region, bus_name)
                       if any(t["Arn"] == request["TargetArn"] for t in r.get("_targets", [])))
        return page(names, request, "RuleNames")

    # -- targets -----------------------------------------------------------------------------

    def put_targets(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        targets = request.get("Targets") or []
        bus_arn, region, account, bus_name = resolve_bus(ctx, request.get("EventBusName"))
        arn = rule_arn(region, account, bus_name, request["Rule"])
        ctx.authorize("events:PutTargets", arn, {"events:TargetArn": [t.get("Arn", "") for t in targets]})
        rule = rule_for(ctx, ctx.store, request["Rule"], request.get("EventBusName"))
        current = {t["Id"]: t for t in rule.get("_targets", [])}
        failed = []
        for target in targets:
            problem = self._check_target(ctx, rule, target)
            if problem is None and target["Id"] not in current and len(current) >= MAX_TARGETS_PER_RULE:
                problem = ("LimitExceededException",
                           f"The requested resource exceeds the maximum number allowed ({MAX_TARGETS_PER_RULE}).")
            if problem is not None:
                failed.append({"TargetId": target.get("Id", ""), "ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            current[target["Id"]] = target
        rule["_targets"] = list(current.values())
        self._save_rule(ctx, rule)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _check_target(self, ctx: RequestContext, rule: dict[str, Any], target: dict[str, Any]) -> tuple[str, str] | None:
        if not target.get("Id") or not target.get("Arn"):
            return ("ValidationException", "Target Id and Arn are required.")
        problem = inputs.check_target_input(target)
        if problem is not None:
            return (problem.code, problem.message)
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq is not None:
            if not dlq.startswith("arn:aws:sqs:"):
                return ("ValidationException", "Only SQS queues are supported as dead-letter queues.")
            if dlq.endswith(".fifo"):
                return ("ValidationException", "FIFO queues are not supported as dead-letter queues.")
        retry = target.get("RetryPolicy") or {}
        if not 0 <= retry.get("MaximumRetryAttempts", 0) <= 185:
            return ("ValidationException", "MaximumRetryAttempts must be between 0 and 185.")
        if not 60 <= retry.get("MaximumEventAgeInSeconds", 60) <= 86_400:
            return ("ValidationException", "MaximumEventAgeInSeconds must be between 60 and 86400.")
        if target["Arn"].endswith(".fifo") and target["Arn"].startswith("arn:aws:sqs:"):
            if not (target.get("SqsParameters") or {}).get("MessageGroupId"):
                return ("ValidationException", "Parameter(s) SqsParameters must be specified for target: "
                        f"{target['Id']}.")
        if target.get("RoleArn"):
            try:
                ctx.authorize_pass_role(target["RoleArn"], "events.amazonaws.com", rule["Arn"])
            except AccessDenied as exc:
                return ("AccessDeniedException", exc.message)
        return None

    def remove_targets(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule_authorized(ctx, "events:RemoveTargets", request["Rule"], request.get("EventBusName"))
        ids = set(request.get("Ids") or [])
        known = {t["Id"] for t in rule.get("_targets", [])}
        rule["_targets"] = [t for t in rule.get("_targets", []) if t["Id"] not in ids]
        self._save_rule(ctx, rule)
        failed = [{"TargetId": i, "ErrorCode": "ResourceNotFoundException",
                   "ErrorMessage": f"Target {i} does not exist."} for i in sorted(ids - known)]
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def list_targets_by_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule_authorized(ctx, "events:ListTargetsByRule", request["Rule"], request.get("EventBusName"))
        return page(list(rule.get("_targets", [])), request, "Targets")

    # -- events ----------------------------------------------------------------------------

    def put_events(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        entries = request.get("Entries") or []
        total = sum(entry_size(e) for e in entries)
        if total > MAX_ENTRY_BYTES:
            ctx.authorize("events:PutEvents", resolve_bus(ctx, entries[0].get("EventBusName"))[0])
            raise validation("Total size of the entries in the request is over the limit.")
        if request.get("EndpointId"):
            # A global endpoint sends to its primary Region's bus (no failover in mamori).
            ctx.authorize("events:PutEvents", resolve_bus(ctx, None)[0])
            target_bus = primary_bus(ctx, ctx.store, request["EndpointId"])
            entries = [dict(e, EventBusName=target_bus) for e in entries]
        results: list[dict[str, Any]] = []
        accepted: list[tuple[str, dict[str, Any]]] = []
        denied: AccessDenied | None = None
        for entry in entries:
            try:
                bus_arn, event = self._entry(ctx, entry)
            except AccessDenied as exc:
                denied = exc
                results.append({"ErrorCode": "AccessDeniedException", "ErrorMessage": exc.message})
                continue
            except AwsError as exc:
                results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
                continue
            results.append({"EventId": event["id"]})
            accepted.append((bus_arn, event))
        if denied is not None and not accepted and all(r.get("ErrorCode") == "AccessDeniedException" for r in results):
            raise denied
        if not ctx.decisions:
            ctx.authorize("events:PutEvents", resolve_bus(ctx, None)[0])
        for bus_arn, event in accepted:
            self.router.route(bus_arn, event)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


    def _entry(self, ctx: RequestContext, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bus_arn, region, account, bus_name = resolve_bus(ctx, entry.get("EventBusName"))
        bus = ctx.store.get(bus_arn)
        conditions: dict[str, Any] = {}
        if entry.get("Source"):
            conditions["events:source"] = entry["Source"]
        if entry.get("DetailType"):
            conditions["events:detail-type"] = entry["DetailType"]
        ctx.authorize("events:PutEvents", bus_arn,
                      with_resource_policy(conditions, (bus or {}).get("Policy"), account=account))
        if bus is None and bus_name != DEFAULT:
            raise not_found(f"Event bus {bus_name} does not exist.")
        for key in ("Source", "DetailType", "Detail"):
            if not entry.get(key):
                raise error("InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument.")
        if entry["Source"].startswith("aws."):
            raise error("NotAuthorizedForSourceException", "Not authorized for the source.")
        detail = parse_detail(entry["Detail"])
        if detail is None:
            raise error("MalformedDetail", "Detail is malformed.")
        when = entry.get("Time")
        if isinstance(when, datetime):
            when = when.timestamp()
        moment = datetime.fromtimestamp(when if when is not None else ctx.time(), tz=ctx.now().tzinfo)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": ctx.account_id,
            "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": list(entry.get("Resources") or []),
            "detail": detail,
        }
        return bus_arn, event

    def test_event_pattern(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:TestEventPattern")
        try:
            pattern = compile_pattern(request["EventPattern"])
        except PatternError as exc:
            raise pattern_error(exc.reason) from None
        try:
            event = parse_json(request["Event"])
        except (ValueError, RecursionError):
            raise validation("Parameter Event is not valid.") from None
        required = ("id", "account", "source", "time", "region", "resources", "detail-type")
        if not isinstance(event, dict) or any(k not in event for k in required):
            raise validation("Parameter Event is not valid.")
        return {"Result": pattern.matches(event)}

    # -- tags ------------------------------------------------------------------------------

    def _taggable(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        doc = ctx.store.get(arn)
        if doc is None and arn.endswith(":event-bus/default"):
            doc = default_bus(arn)
        if doc is None:
            kind = arn.split(":")[5].split("/")[0] if arn.count(":") >= 5 else ""
            label = {"rule": "Rule", "event-bus": "Event bus"}.get(kind, "Resource")
            name = arn.rsplit("/", 1)[-1]
            raise not_found(f"{label} {name} does not exist.")
        return doc

    def _kind_of(self, arn: str) -> str:
        resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
        return {"rule": RULE, "event-bus": BUS, "archive": ARCHIVE, "connection": CONNECTION,
                "api-destination": API_DESTINATION}.get(resource.split("/")[0], "")

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        ctx.authorize("events:TagResource", arn, _tag_conditions(request.get("Tags")))
        doc = self._taggable(ctx, arn)
        tags = dict(doc.get("_tags") or {})
        tags.update({t["Key"]: t["Value"] for t in request.get("Tags") or []})
        if len(tags) > 50:
            raise error("LimitExceededException", "The number of tags exceeds the limit of 50.")
        doc["_tags"] = tags
        self._store_tagged(arn, doc)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        keys = request.get("TagKeys") or []
        ctx.authorize("events:UntagResource", arn, {"aws:TagKeys": keys})
        doc = self._taggable(ctx, arn)
        doc["_tags"] = {k: v for k, v in (doc.get("_tags") or {}).items() if k not in keys}
        self._store_tagged(arn, doc)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceARN"]
        ctx.authorize("events:ListTagsForResource", arn)
        return {"Tags": tags_out(self._taggable(ctx, arn).get("_tags") or {})}

    def _store_tagged(self, arn: str, doc: dict[str, Any]) -> None:
        parts = arn.split(":")
        self.runtime.store.put(arn, doc, kind=self._kind_of(arn), account_id=parts[4], region=parts[3])
        self.router.changed()
