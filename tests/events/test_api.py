"""EventBridge control plane through boto3: buses, bus policies (enforced), rules,
targets, PutEvents limits and per-entry errors, tags, and AWS service events."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from events_helpers import unique


def signed_json(mamori, target: str, body: dict) -> dict:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=mamori.endpoint_url + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(mamori.access_key_id, mamori.secret_access_key), "events", mamori.region).add_auth(req)
    resp = requests.post(mamori.endpoint_url + "/", data=data, headers=dict(req.prepare().headers), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def code_of(info) -> str:
    return info.value.response["Error"]["Code"]


# -- buses ---------------------------------------------------------------------------------


def test_bus_lifecycle(events, mamori):
    name = unique("bus")
    created = events.create_event_bus(Name=name, Description="orders", Tags=[{"Key": "team", "Value": "a"}])
    arn = created["EventBusArn"]
    assert arn == f"arn:aws:events:{mamori.region}:{mamori.account_id}:event-bus/{name}"
    described = events.describe_event_bus(Name=name)
    assert described["Name"] == name and described["Description"] == "orders"
    assert "CreationTime" in described
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names and name in names
    assert [b["Name"] for b in events.list_event_buses(NamePrefix=name)["EventBuses"]] == [name]
    events.update_event_bus(Name=name, Description="changed")
    assert events.describe_event_bus(Name=arn)["Description"] == "changed"
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name=name)
    assert code_of(info) == "ResourceAlreadyExistsException"
    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as info:
        events.describe_event_bus(Name=name)
    assert code_of(info) == "ResourceNotFoundException"


def test_default_bus_always_exists_and_cannot_be_deleted_or_created(events):
    assert events.describe_event_bus()["Name"] == "default"
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="default")
    assert code_of(info) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        events.delete_event_bus(Name="default")
    assert code_of(info) == "ValidationException"


def test_partner_style_bus_names_are_refused(events):
    # A name starting with "aws." needs EventSourceName, and then a partner event source
    # of that name offered to the account (test_partners.py creates one).
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="aws.partner/example.com/123/orders")
    assert code_of(info) == "ValidationException"
    assert info.value.response["Error"]["Message"] == "EventBus name starting with 'aws.' is not valid."
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="aws.orders")
    assert code_of(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="aws.partner/example.com/123/orders",
                                EventSourceName="aws.partner/example.com/123/orders")
    assert code_of(info) == "ResourceNotFoundException"
    assert "aws.partner/example.com/123/orders" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="orders", EventSourceName="aws.partner/example.com/123/orders")
    assert code_of(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="team/orders")
    assert code_of(info) == "ValidationException"


def test_bus_policy_put_and_remove(events):
    name = unique("bus")
    events.create_event_bus(Name=name)
    events.put_permission(EventBusName=name, Action="events:PutEvents", Principal="111122223333",
                          StatementId="acct")
    policy = json.loads(events.describe_event_bus(Name=name)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Sid"] == "acct" and statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    with pytest.raises(ClientError) as info:
        events.put_permission(EventBusName=name, Action="events:PutEvents", Principal="111122223333",
                              StatementId="acct")
    assert code_of(info) == "ResourceAlreadyExistsException"
    events.remove_permission(EventBusName=name, StatementId="acct")
    assert json.loads(events.describe_event_bus(Name=name)["Policy"])["Statement"] == []
    with pytest.raises(ClientError) as info:
        events.remove_permission(EventBusName=name, StatementId="nope")
    assert code_of(info) == "ResourceNotFoundException"
    events.remove_permission(EventBusName=name, RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus(Name=name)


# -- rules --------------------------------------------------------------------------------


def test_rule_lifecycle(events, mamori):
    name = unique("rule")
    pattern = json.dumps({"source": ["my.app"]})
    arn = events.put_rule(Name=name, EventPattern=pattern, Description="d",
                          Tags=[{"Key": "k", "Value": "v"}])["RuleArn"]
    assert arn == f"arn:aws:events:{mamori.region}:{mamori.account_id}:rule/{name}"
    rule = events.describe_rule(Name=name)
    assert rule["State"] == "ENABLED" and rule["EventPattern"] == pattern and rule["EventBusName"] == "default"
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "ENABLED"
    assert name in [r["Name"] for r in events.list_rules(NamePrefix=name)["Rules"]]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:some-q"}])
    assert events.list_rule_names_by_target(TargetArn="arn:aws:sqs:us-east-1:000000000000:some-q")["RuleNames"] \
        == [name]
    with pytest.raises(ClientError) as info:
        events.delete_rule(Name=name)
    assert code_of(info) == "ValidationException"
    out = events.remove_targets(Rule=name, Ids=["q", "unknown"])
    assert out["FailedEntryCount"] == 1 and out["FailedEntries"][0]["TargetId"] == "unknown"
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    events.delete_rule(Name=name)
    with pytest.raises(ClientError) as info:
        events.describe_rule(Name=name)
    assert code_of(info) == "ResourceNotFoundException"


def test_rule_on_custom_bus_has_bus_in_arn(events, mamori):
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    name = unique("rule")
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))["RuleArn"]
    assert arn.endswith(f":rule/{bus}/{name}")
    assert [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]] == [name]
    assert events.list_rules(EventBusName="default", NamePrefix=name)["Rules"] == []
    with pytest.raises(ClientError) as info:
        events.put_rule(Name=unique("r"), EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert code_of(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.put_rule(Name=unique("r"), EventBusName=unique("missing"), EventPattern='{"source": ["x"]}')
    assert code_of(info) == "ResourceNotFoundException"


def test_rule_needs_pattern_or_schedule_and_valid_name(events):
    with pytest.raises(ClientError) as info:
        events.put_rule(Name=unique("r"))
    assert code_of(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="bad name!", EventPattern='{"source": ["x"]}')
    assert code_of(info) == "ValidationException"


def test_targets_limit_per_rule(events):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern='{"source": ["x"]}')
    targets = [{"Id": f"t{i}", "Arn": f"arn:aws:sqs:us-east-1:000000000000:q{i}"} for i in range(6)]
    out = events.put_targets(Rule=name, Targets=targets)
    assert out["FailedEntryCount"] == 1 and out["FailedEntries"][0]["ErrorCode"] == "LimitExceededException"


def test_tag_and_untag(events):
    name = unique("rule")
    arn = events.put_rule(Name=name, EventPattern='{"source": ["x"]}')["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as info:
        events.tag_resource(ResourceARN=arn.replace(name, unique("none")), Tags=[{"Key": "a", "Value": "1"}])
    assert code_of(info) == "ResourceNotFoundException"


# -- PutEvents --------------------------------------------------------------------------------


def test_put_events_per_entry_errors(events):
    out = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "ok", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "no detail"},
        {"Source": "my.app", "DetailType": "array", "Detail": "[1]"},
        {"Source": "my.app", "DetailType": "broken", "Detail": "{"},
        {"Source": "aws.ec2", "DetailType": "reserved", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "bus", "Detail": "{}", "EventBusName": unique("missing")},
        {"Source": "my.app", "DetailType": "int64", "Detail": '{"n": 9223372036854775808}'},
    ])
    codes = [e.get("ErrorCode") for e in out["Entries"]]
    assert codes == [None, "InvalidArgument", "MalformedDetail", "MalformedDetail",
                     "NotAuthorizedForSourceException", "ResourceNotFoundException", "MalformedDetail"]
    assert out["FailedEntryCount"] == 6
    assert uuid.UUID(out["Entries"][0]["EventId"])


def test_put_events_size_and_count_limits(events):
    big = json.dumps({"x": "a" * (256 * 1024)})
    with pytest.raises(ClientError) as info:
        events.put_events(Entries=[{"Source": "my.app", "DetailType": "big", "Detail": big}])
    assert code_of(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.put_events(Entries=[{"Source": "my.app", "DetailType": "x", "Detail": "{}"}] * 11)
    assert code_of(info) == "ValidationException"


# -- authorization --------------------------------------------------------------------------


@pytest.fixture
def user_events(mamori):
    iam = mamori.client("iam")
    name = unique("ebuser")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = mamori.client("events", aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])
    return iam, name, client


def test_user_needs_permissions(user_events, mamori):
    iam, name, client = user_events
    with pytest.raises(ClientError) as info:
        client.list_rules()
    assert code_of(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as info:
        client.put_events(Entries=[{"Source": "my.app", "DetailType": "x", "Detail": "{}"}])
    assert code_of(info) == "AccessDeniedException"
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*",
                                                "Condition": {"StringEquals": {"events:source": "allowed.app"}}}]}))
    out = client.put_events(Entries=[{"Source": "allowed.app", "DetailType": "x", "Detail": "{}"},
                                     {"Source": "other.app", "DetailType": "x", "Detail": "{}"}])
    assert out["FailedEntryCount"] == 1
    assert out["Entries"][1]["ErrorCode"] == "AccessDeniedException"


def test_bus_policy_is_enforced(mamori, events, user_events):
    iam, name, client = user_events
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}))
    bus = unique("bus")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    entry = {"Source": "x.app", "DetailType": "x", "Detail": "{}", "EventBusName": bus}
    assert client.put_events(Entries=[entry])["FailedEntryCount"] == 0
    events.put_permission(EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "deny-user", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{mamori.account_id}:user/{name}"},
        "Action": "events:PutEvents", "Resource": arn}]}))
    with pytest.raises(ClientError) as info:
        client.put_events(Entries=[entry])
    assert code_of(info) == "AccessDeniedException"
    assert client.put_events(Entries=[dict(entry, EventBusName="default")])["FailedEntryCount"] == 0


def test_other_account_needs_the_bus_policy(mamori, events):
    other = mamori.create_principal(unique("other"), account_id="444455556666")
    client = mamori.client("events", aws_access_key_id=other["AccessKeyId"],
                           aws_secret_access_key=other["SecretAccessKey"])
    arn = events.create_event_bus(Name=unique("bus"))["EventBusArn"]
    with pytest.raises(ClientError) as info:
        client.put_events(Entries=[{"Source": "x.app", "DetailType": "x", "Detail": "{}", "EventBusName": arn}])
    assert code_of(info) == "AccessDeniedException"


# -- global endpoints and partner event sources ----------------------------------------------


def test_global_endpoint_lifecycle_and_put_events(mamori, events):
    name = unique("bus")
    primary = events.create_event_bus(Name=name)["EventBusArn"]
    west = mamori.client("events", region_name="us-west-2")
    secondary = west.create_event_bus(Name=name)["EventBusArn"]
    endpoint_name = unique("ep")
    routing = {"FailoverConfig": {"Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/abc"},
                                  "Secondary": {"Route": "us-west-2"}}}
    created = events.create_endpoint(Name=endpoint_name, RoutingConfig=routing,
                                     EventBuses=[{"EventBusArn": primary}, {"EventBusArn": secondary}])
    assert created["State"] == "ACTIVE"
    described = events.describe_endpoint(Name=endpoint_name)
    assert described["EndpointUrl"].startswith("https://") and described["EndpointId"]
    assert endpoint_name in [e["Name"] for e in events.list_endpoints(NamePrefix=endpoint_name)["Endpoints"]]
    events.update_endpoint(Name=endpoint_name, Description="two regions")
    assert events.describe_endpoint(Name=endpoint_name)["Description"] == "two regions"
    archive = unique("arch")
    events.create_archive(ArchiveName=archive, EventSourceArn=primary)
    # boto3 signs PutEvents with an EndpointId using SigV4a (needs awscrt): sign it with
    # SigV4 by hand, as a client without the CRT does against a local endpoint.
    out = signed_json(mamori, "AWSEvents.PutEvents", {
        "EndpointId": described["EndpointId"],
        "Entries": [{"Source": "ep.app", "DetailType": "x", "Detail": "{}", "EventBusName": name}]})
    assert out["FailedEntryCount"] == 0
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 1
    with pytest.raises(ClientError) as info:
        events.create_endpoint(Name=unique("ep"), RoutingConfig=routing,
                               EventBuses=[{"EventBusArn": primary}, {"EventBusArn": primary}])
    assert code_of(info) == "ValidationException"
    events.delete_endpoint(Name=endpoint_name)
    with pytest.raises(ClientError) as info:
        events.describe_endpoint(Name=endpoint_name)
    assert code_of(info) == "ResourceNotFoundException"
