"""Partner event sources, both sides: an account playing the SaaS partner offers a
source to customer accounts, the customer matches it with a partner event bus, and
PutPartnerEvents reaches the customer's rules on that bus while the source is ACTIVE."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from events_helpers import receive_all, unique

OTHER = "444455556666"


def code_of(info) -> str:
    return info.value.response["Error"]["Code"]


@pytest.fixture
def source_name() -> str:
    return f"aws.partner/example.com/{uuid.uuid4().hex[:10]}/orders"


def partner_put(events, source: str, detail: dict) -> dict:
    return events.put_partner_events(Entries=[{"Source": source, "DetailType": "Order Placed",
                                                "Detail": json.dumps(detail), "Resources": ["urn:order:1"]}])


def test_partner_offers_a_source_and_the_customer_sees_it(mamori, events, source_name):
    arn = events.create_partner_event_source(Name=source_name, Account=mamori.account_id)["EventSourceArn"]
    assert arn == f"arn:aws:events:{mamori.region}::event-source/{source_name}"
    events.create_partner_event_source(Name=source_name, Account=OTHER)
    with pytest.raises(ClientError) as info:
        events.create_partner_event_source(Name=source_name, Account=OTHER)
    assert code_of(info) == "ResourceAlreadyExistsException"

    described = events.describe_partner_event_source(Name=source_name)
    assert (described["Arn"], described["Name"]) == (arn, source_name)
    listed = events.list_partner_event_sources(NamePrefix=source_name.rsplit("/", 1)[0] + "/")["PartnerEventSources"]
    assert listed == [{"Arn": arn, "Name": source_name}]
    accounts = events.list_partner_event_source_accounts(EventSourceName=source_name)["PartnerEventSourceAccounts"]
    assert [a["Account"] for a in accounts] == sorted([mamori.account_id, OTHER])
    assert {a["State"] for a in accounts} == {"PENDING"}
    assert all(a["ExpirationTime"] > a["CreationTime"] for a in accounts)

    [mine] = [s for s in events.list_event_sources(NamePrefix="aws.partner/example.com/")["EventSources"]
              if s["Name"] == source_name]
    assert mine["Arn"] == arn and mine["State"] == "PENDING" and mine["CreatedBy"] == "example.com"
    assert events.describe_event_source(Name=source_name)["State"] == "PENDING"

    with pytest.raises(ClientError) as info:
        events.describe_partner_event_source(Name="aws.partner/example.com/none/x")
    assert code_of(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        events.list_partner_event_source_accounts(EventSourceName="aws.partner/example.com/none/x")
    assert code_of(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        events.create_partner_event_source(Name="example.com/orders", Account=OTHER)
    assert code_of(info) == "ValidationException"


def test_partner_events_reach_the_matched_bus_while_active(mamori, events, make_queue, source_name):
    sqs = mamori.client("sqs")
    events.create_partner_event_source(Name=source_name, Account=mamori.account_id)
    before = partner_put(events, source_name, {"n": 0})
    assert before["FailedEntryCount"] == 0  # accepted, but no bus yet: nobody receives it

    bus = events.create_event_bus(Name=source_name, EventSourceName=source_name)["EventBusArn"]
    assert bus == f"arn:aws:events:{mamori.region}:{mamori.account_id}:event-bus/{source_name}"
    state = events.describe_event_source(Name=source_name)
    assert state["State"] == "ACTIVE" and "ExpirationTime" not in state
    rule = unique("partner-rule")
    rule_arn = events.put_rule(Name=rule, EventBusName=source_name,
                               EventPattern=json.dumps({"source": [source_name]}))["RuleArn"]
    assert rule_arn.endswith(f":rule/{source_name}/{rule}")
    url, queue_arn = make_queue()
    events.put_targets(Rule=rule, EventBusName=source_name, Targets=[{"Id": "q", "Arn": queue_arn}])

    out = partner_put(events, source_name, {"n": 1})
    [message] = receive_all(sqs, url, expect=1)
    body = json.loads(message["Body"])
    assert body["id"] == out["Entries"][0]["EventId"]
    assert (body["source"], body["detail-type"], body["detail"]) == (source_name, "Order Placed", {"n": 1})
    assert body["account"] == mamori.account_id and body["resources"] == ["urn:order:1"]

    events.deactivate_event_source(Name=source_name)
    assert events.describe_event_source(Name=source_name)["State"] == "PENDING"
    partner_put(events, source_name, {"n": 2})
    assert receive_all(sqs, url) == []
    events.activate_event_source(Name=source_name)
    partner_put(events, source_name, {"n": 3})
    assert [json.loads(m["Body"])["detail"] for m in receive_all(sqs, url, expect=1)] == [{"n": 3}]

    events.delete_partner_event_source(Name=source_name, Account=mamori.account_id)
    assert events.describe_event_source(Name=source_name)["State"] == "DELETED"
    with pytest.raises(ClientError) as info:
        events.activate_event_source(Name=source_name)
    assert code_of(info) == "InvalidStateException"
    assert events.describe_event_bus(Name=source_name)["Arn"] == bus  # the bus stays


def test_put_partner_events_per_entry_errors(events, source_name, mamori):
    events.create_partner_event_source(Name=source_name, Account=mamori.account_id)
    out = events.put_partner_events(Entries=[
        {"Source": source_name, "DetailType": "ok", "Detail": "{}"},
        {"Source": "aws.partner/example.com/not-mine/x", "DetailType": "no", "Detail": "{}"},
        {"Source": source_name, "DetailType": "bad", "Detail": "[1]"},
        {"Source": source_name, "Detail": "{}"},
    ])
    assert out["FailedEntryCount"] == 3
    codes = [e.get("ErrorCode") for e in out["Entries"]]
    assert codes == [None, "NotAuthorizedForSourceException", "MalformedDetail", "InvalidArgument"]
    assert out["Entries"][0]["EventId"]


def test_partner_bus_needs_its_source(events, source_name, mamori):
    events.create_partner_event_source(Name=source_name, Account=OTHER)  # offered to another account
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name=source_name, EventSourceName=source_name)
    assert code_of(info) == "ResourceNotFoundException"


def test_partner_operations_need_permissions(mamori):
    user = mamori.create_principal(unique("no-perms"))
    client = mamori.client("events", aws_access_key_id=user["AccessKeyId"],
                           aws_secret_access_key=user["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        client.create_partner_event_source(Name="aws.partner/example.com/p/x", Account=OTHER)
    assert code_of(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as info:
        client.put_partner_events(Entries=[{"Source": "aws.partner/example.com/p/x", "DetailType": "d",
                                            "Detail": "{}"}])
    assert code_of(info) == "AccessDeniedException"


def test_pending_source_expires_after_two_weeks():
    """A source nobody matches (or one deactivated) is deleted after two weeks in
    PENDING (API_DeactivateEventSource.html); a dedicated server, as the clock moves
    15 days."""
    from mamori.testing.plugin import MamoriServer

    server = MamoriServer.start()
    try:
        server.admin("POST", "clock", {"action": "freeze"})
        events = server.client("events")
        name = "aws.partner/example.com/expiry/orders"
        events.create_partner_event_source(Name=name, Account=server.account_id)
        pending = events.describe_event_source(Name=name)
        assert pending["State"] == "PENDING"
        assert (pending["ExpirationTime"] - pending["CreationTime"]).total_seconds() == 14 * 86400
        server.admin("POST", "clock", {"action": "advance", "duration": "13d"})
        assert events.describe_event_source(Name=name)["State"] == "PENDING"
        server.admin("POST", "clock", {"action": "advance", "duration": "2d"})
        assert events.describe_event_source(Name=name)["State"] == "DELETED"
        with pytest.raises(ClientError) as info:
            events.create_event_bus(Name=name, EventSourceName=name)
        assert code_of(info) == "ResourceNotFoundException"
        # the partner may offer it again once it is gone
        events.create_partner_event_source(Name=name, Account=server.account_id)
        assert events.describe_event_source(Name=name)["State"] == "PENDING"
    finally:
        server.stop()
