"""An event on a bus: archive it, find the rules whose pattern matches, deliver to targets.

Also the schedules of rules (rate/cron on the mamori clock through runtime.scheduler)
and the entry of AWS service events from mamori's internal bus (to the default bus of
the event's account and region).

Loops: each delivery carries the buses it has passed through; an event is never routed
into a bus it already visited (a rule on bus A targeting bus B whose rule targets A).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mamori.errors import AwsError
from mamori.gateway.context import Principal, RequestContext, with_resource_policy
from mamori.services.events import archives, connections, metrics
from mamori.services.events.model import BUS_ARN, DEFAULT, RULE, bus_arn
from mamori.services.events.patterns import Pattern, PatternError, compile_pattern
from mamori.services.events.schedules import Rate, ScheduleError, parse_schedule
from mamori.services.events.targets import Deliverer, Failure

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.events")

ALL_MANAGEMENT = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
MATCHING_STATES = ("ENABLED", ALL_MANAGEMENT)
# Read-only management events reach only rules in state ALL_MANAGEMENT, and AWS tells
# them by name: Describe*, Get* and List*, except STS's two Get calls that issue
# credentials. Other read-only calls (KMS Encrypt, CloudTrail LookupEvents) reach every
# enabled rule.
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
_QUIET_PREFIXES = ("Describe", "Get", "List")
_CHANGE_EVENTS_NAMED_GET = frozenset({"GetFederationToken", "GetSessionToken"})


def quiet_management_event(event: dict[str, Any]) -> bool:
    if event.get("detail-type") != "AWS API Call via CloudTrail":
        return False
    name = str((event.get("detail") or {}).get("eventName", ""))
    return name.startswith(_QUIET_PREFIXES) and name not in _CHANGE_EVENTS_NAMED_GET


class Router:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tokens = connections.TokenCache()  # OAuth access tokens of connections
        self.deliverer = Deliverer(runtime, self.route_to_bus_target,
                                   lambda target, payload, rule_arn: connections.invoke_api_destination(
                                       runtime, target, payload, rule_arn, self.tokens))
        self._patterns: dict[str, Pattern | None] = {}
        self._jobs: dict[str, Any] = {}
        # Rules and archives per (account, region), read once and dropped on every write
        # by the provider (`changed()`): the internal bus calls `route` for every
        # mutating API call, which must stay cheap when nothing listens.
        self._rules: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._archives: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def changed(self) -> None:
        self._rules.clear()
        self._archives.clear()

    def rules_of(self, account: str, region: str) -> list[dict[str, Any]]:
        key = (account, region)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = self.runtime.store.list(RULE, account_id=account, region=region)
        return rules

    def archives_of(self, account: str, region: str) -> list[dict[str, Any]]:
        key = (account, region)
        found = self._archives.get(key)
        if found is None:
            found = self._archives[key] = self.runtime.store.list(archives.ARCHIVE, account_id=account,
                                                                  region=region)
        return found

    # -- patterns ------------------------------------------------------------------------

    def pattern(self, text: str) -> Pattern | None:
        compiled = self._patterns.get(text)
        if compiled is None and text not in self._patterns:
            try:
                compiled = compile_pattern(text)
            except PatternError:
                compiled = None
            if len(self._patterns) > 10_000:
                self._patterns.clear()
            self._patterns[text] = compiled
        return compiled

    # -- routing -----------------------------------------------------------------------------

    def service_event(self, event: dict[str, Any]) -> None:
        """An AWS service event from mamori's internal bus -> the default bus."""
        account, region = event.get("account"), event.get("region")
        if not account or not region:
            return
        detail = event.get("detail")
        if isinstance(detail, dict) and detail.get("managementEvent") is False:
            return  # data events reach EventBridge only through a trail that logs them
        if quiet_management_event(event):
            if any(rule.get("State") == ALL_MANAGEMENT for rule in self.rules_of(account, region)):
                self.route(bus_arn(region, account, DEFAULT), event, states=(ALL_MANAGEMENT,))
            return
        self.route(bus_arn(region, account, DEFAULT), event)

    def route(self, arn: str, event: dict[str, Any], hops: tuple[str, ...] = (), *,
              replay_name: str | None = None, only_rules: list[str] | None = None,
              states: tuple[str, ...] = MATCHING_STATES) -> int:
        """Route `event` on bus `arn`; returns how many rules matched."""
        if arn in hops:
            log.warning("event %s not routed back into bus %s (loop)", event.get("id"), arn)
            return 0
        hops = hops + (arn,)
        m = BUS_ARN.match(arn)
        if m is None:
            return 0
        region, account, bus_name = m.group(1), m.group(2), m.group(3)
        if bus_name != DEFAULT and self.runtime.store.get(arn) is None:
            return 0
        if replay_name is None and states is MATCHING_STATES and self.archives_of(account, region):
            archives.capture(self.runtime, arn, event, self.pattern, self.archives_of(account, region))
        matched = 0
        for rule in self.rules_of(account, region):
            if rule.get("EventBusName") != bus_name or rule.get("State") not in states:
                continue
            if only_rules is not None and rule["Arn"] not in only_rules:
                continue
            text = rule.get("EventPattern")
            if not text:
                continue
            pattern = self.pattern(text)
            if pattern is None or not pattern.matches(event):
                continue
            matched += 1
            metrics.count(self.runtime, rule, "TriggeredRules", "MatchedEvents")
            for target in rule.get("_targets", []):
                self.deliverer.deliver(rule, target, event, hops)
        return matched

    def route_to_bus_target(self, target_arn: str, event: dict[str, Any], hops: tuple[str, ...],
                            source_rule: dict[str, Any]) -> None:
        """A rule's event-bus target. Another account's bus must allow the rule's account
        through its bus policy (events:PutEvents), as in AWS."""
        m = BUS_ARN.match(target_arn)
        if m is None:
            raise Failure("NO_RESOURCE", f"{target_arn} is not an event bus ARN.", False)
        region, account, name = m.group(1), m.group(2), m.group(3)
        bus = self.runtime.store.get(target_arn)
        if bus is None and name != DEFAULT:
            raise Failure("NO_RESOURCE", f"Event bus {name} does not exist.", False)
        source_account = source_rule["Arn"].split(":")[4]
        if account != source_account:
            ctx = RequestContext(
                runtime=self.runtime, request_id=str(uuid.uuid4()), account_id=account, region=region,
                principal=Principal.root(source_account), service="events", operation="PutEvents",
            )
            decision = self.runtime.authorizer(ctx, "events:PutEvents", target_arn, with_resource_policy(
                {"events:source": event.get("source"), "events:detail-type": event.get("detail-type")},
                (bus or {}).get("Policy"), account=account))
            if not decision.allowed:
                raise Failure("NO_PERMISSIONS", f"Account {source_account} is not authorized to put events to "
                              f"{target_arn}.", False)
        self.route(target_arn, event, hops)

    # -- schedules ---------------------------------------------------------------------------

    def arm_all_schedules(self) -> None:
        for rule in self.runtime.store.list(RULE):
            self.arm_schedule(rule)

    def cancel_all_schedules(self) -> None:
        for arn in list(self._jobs):
            self.cancel_schedule(arn)

    def cancel_schedule(self, arn: str) -> None:
        entry = self._jobs.pop(arn, None)
        if entry is not None:
            self.runtime.scheduler.cancel(entry)

    def arm_schedule(self, rule: dict[str, Any]) -> None:
        arn = rule["Arn"]
        self.cancel_schedule(arn)
        expression = rule.get("ScheduleExpression")
        if not expression or rule.get("State") not in MATCHING_STATES:
            return
        try:
            schedule = parse_schedule(expression)
        except ScheduleError:
            return
        start = float(rule.get("_schedule_start") or self.runtime.clock.time())
        first = schedule.next_after(start, self.runtime.clock.time())
        if first == float("inf"):
            return
        if isinstance(schedule, Rate):
            self._jobs[arn] = self.runtime.scheduler.every(
                schedule.seconds, lambda due: self._fire(arn, due), f"events-rule:{arn}", start=first)
        else:
            def fire_cron(due: float) -> None:
                self._fire(arn, due)
                if arn in self._jobs:
                    following = schedule.next_after(start, due)
                    if following != float("inf"):
                        self._jobs[arn] = self.runtime.scheduler.at(following, fire_cron, f"events-rule:{arn}")
            self._jobs[arn] = self.runtime.scheduler.at(first, fire_cron, f"events-rule:{arn}")

    def _fire(self, arn: str, due: float) -> None:
        rule = self.runtime.store.get(arn)
        if rule is None or rule.get("State") not in MATCHING_STATES:
            self.cancel_schedule(arn)
            return
        parts = arn.split(":")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": parts[4],
            "time": datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": parts[3],
            "resources": [arn],
            "detail": {},
        }
        for target in rule.get("_targets", []):
            try:
                self.deliverer.deliver(rule, target, event, at=due)
            except AwsError:  # pragma: no cover - deliver handles its own failures
                log.exception("scheduled delivery failed")

