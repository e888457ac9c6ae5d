"""Bus resource policies decide cross-account PutEvents, through the IAM engine: another
account's root (here acting through the in-process runtime, as mamori has one root
credential) is refused until the bus policy names its account, and refused again once
the statement is removed; a rule in the other account whose target is this bus needs
the same policy."""

from __future__ import annotations

import json

import pytest
from events_helpers import receive_all, unique

from mamori.errors import AwsError
from mamori.gateway.context import Principal

OTHER = "444455556666"


@pytest.fixture
def runtime(mamori):
    return mamori._server.config.app.runtime


def as_other(runtime, operation: str, params: dict) -> dict:
    return runtime.invoke("events", operation, params, principal=Principal.root(OTHER), region="us-east-1")


def test_bus_policy_decides_cross_account_put_events(mamori, events, runtime, make_queue):
    sqs = mamori.client("sqs")
    bus = unique("shared")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    rule = unique("r")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["partner.app"]}))
    url, queue_arn = make_queue()
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    entry = {"Source": "partner.app", "DetailType": "Ping", "Detail": '{"n": 1}', "EventBusName": bus_arn}

    with pytest.raises(AwsError) as info:
        as_other(runtime, "PutEvents", {"Entries": [entry]})
    assert info.value.code == "AccessDeniedException"
    assert receive_all(sqs, url) == []

    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="other")
    out = as_other(runtime, "PutEvents", {"Entries": [entry]})
    assert out["FailedEntryCount"] == 0
    [message] = receive_all(sqs, url, expect=1)
    body = json.loads(message["Body"])
    assert body["id"] == out["Entries"][0]["EventId"]
    assert body["account"] == OTHER  # the sender's account, as AWS writes it

    events.remove_permission(EventBusName=bus, StatementId="other")
    with pytest.raises(AwsError) as info:
        as_other(runtime, "PutEvents", {"Entries": [entry]})
    assert info.value.code == "AccessDeniedException"


def test_policy_condition_on_source_is_enforced(events, runtime):
    bus = unique("conditional")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_permission(EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "only-orders", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "events:PutEvents", "Resource": bus_arn,
        "Condition": {"StringEquals": {"events:source": "orders.app"}}}]}))
    ok = {"Source": "orders.app", "DetailType": "Ping", "Detail": "{}", "EventBusName": bus_arn}
    other = {"Source": "billing.app", "DetailType": "Ping", "Detail": "{}", "EventBusName": bus_arn}
    out = as_other(runtime, "PutEvents", {"Entries": [ok, other]})
    assert out["FailedEntryCount"] == 1
    assert "EventId" in out["Entries"][0] and out["Entries"][1]["ErrorCode"] == "AccessDeniedException"


def test_rule_in_another_account_targets_this_bus(mamori, events, runtime, make_queue):
    sqs = mamori.client("sqs")
    bus = unique("central")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    rule = unique("r")
    source = unique("app")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    url, queue_arn = make_queue()
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    forward = unique("forward")
    as_other(runtime, "PutRule", {"Name": forward, "EventPattern": json.dumps({"source": [source]})})
    as_other(runtime, "PutTargets", {"Rule": forward, "Targets": [{"Id": "central", "Arn": bus_arn}]})
    entry = {"Source": source, "DetailType": "Ping", "Detail": "{}"}

    as_other(runtime, "PutEvents", {"Entries": [entry]})
    assert receive_all(sqs, url) == []  # no bus policy: the delivery fails
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="fwd")
    out = as_other(runtime, "PutEvents", {"Entries": [entry]})
    [message] = receive_all(sqs, url, expect=1)
    body = json.loads(message["Body"])
    assert body["id"] == out["Entries"][0]["EventId"] and body["account"] == OTHER
