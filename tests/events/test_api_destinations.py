"""Connections and API destinations: rules calling a local HTTP endpoint with the
connection's auth, retries on the mamori clock, input transformers as AWS writes them,
scheduled rules, bus-to-bus targets, archives and replays."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from events_helpers import unique


def connection(events, kind="BASIC", **auth):
    params = {
        "BASIC": {"BasicAuthParameters": {"Username": "user", "Password": "s3cret"}},
        "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-value-1"}},
    }.get(kind, auth)
    name = unique("conn")
    arn = events.create_connection(Name=name, AuthorizationType=kind, AuthParameters=params)["ConnectionArn"]
    return name, arn


def destination(events, conn_arn, url, method="POST"):
    name = unique("dest")
    arn = events.create_api_destination(Name=name, ConnectionArn=conn_arn, InvocationEndpoint=url,
                                        HttpMethod=method, InvocationRateLimitPerSecond=10)["ApiDestinationArn"]
    return name, arn


def rule_to(events, target: dict, pattern=None, **kw):
    name = unique("rule")
    if pattern is not None:
        kw["EventPattern"] = json.dumps(pattern)
    arn = events.put_rule(Name=name, **kw)["RuleArn"]
    out = events.put_targets(Rule=name, EventBusName=kw.get("EventBusName", "default"),
                             Targets=[{"Id": "t1", **target}])
    assert out["FailedEntryCount"] == 0, out
    return name, arn


def put(events, source, detail, detail_type="Thing Happened", **kw):
    out = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                                      **kw}])
    assert out["FailedEntryCount"] == 0, out
    return out["Entries"][0]["EventId"]


def test_connection_lifecycle_hides_secrets(events):
    name, arn = connection(events, "BASIC")
    described = events.describe_connection(Name=name)
    assert described["ConnectionState"] == "AUTHORIZED"
    assert described["AuthParameters"]["BasicAuthParameters"] == {"Username": "user"}
    assert "s3cret" not in json.dumps(described, default=str)
    assert any(c["Name"] == name for c in events.list_connections(NamePrefix=name[:8])["Connections"])
    events.update_connection(Name=name, Description="d",
                             AuthParameters={"BasicAuthParameters": {"Username": "u2", "Password": "p2"}})
    assert events.describe_connection(Name=name)["AuthParameters"]["BasicAuthParameters"]["Username"] == "u2"
    assert events.deauthorize_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
    events.delete_connection(Name=name)
    with pytest.raises(ClientError) as info:
        events.describe_connection(Name=name)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_connection_needs_the_parameters_of_its_type(events):
    with pytest.raises(ClientError) as info:
        events.create_connection(Name=unique("c"), AuthorizationType="API_KEY", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_api_destination_lifecycle(events, endpoint):
    _, conn_arn = connection(events)
    name, arn = destination(events, conn_arn, endpoint.url + "/hook")
    d = events.describe_api_destination(Name=name)
    assert d["ApiDestinationState"] == "ACTIVE" and d["HttpMethod"] == "POST"
    assert any(x["Name"] == name for x in events.list_api_destinations()["ApiDestinations"])
    events.update_api_destination(Name=name, HttpMethod="PUT")
    assert events.describe_api_destination(Name=name)["HttpMethod"] == "PUT"
    events.delete_api_destination(Name=name)
    with pytest.raises(ClientError):
        events.describe_api_destination(Name=name)


def test_rule_calls_api_destination_with_basic_auth(events, endpoint):
    _, conn_arn = connection(events, "BASIC")
    _, dest_arn = destination(events, conn_arn, endpoint.url + "/hook")
    source = unique("app")
    rule_to(events, {"Arn": dest_arn, "HttpParameters": {"HeaderParameters": {"x-extra": "1"}}},
            {"source": [source]})
    event_id = put(events, source, {"n": 1})
    put(events, unique("other"), {"n": 2})  # not matched
    put(events, source, {"n": 3}, Time=datetime(2021, 5, 4, 3, 2, 1, tzinfo=UTC))
    # deliveries run on worker threads: they may arrive in either order
    calls = sorted(endpoint.wait("/hook", 2), key=lambda c: json.loads(c["body"])["detail"]["n"])
    call, timed = calls
    assert json.loads(timed["body"])["time"] == "2021-05-04T03:02:01Z"
    assert call["method"] == "POST"
    assert call["headers"]["authorization"] == "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert call["headers"]["x-extra"] == "1"
    body = json.loads(call["body"])
    assert body["id"] == event_id and body["detail"] == {"n": 1} and body["source"] == source
    assert set(body) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                         "detail"}


def test_api_key_and_oauth_connections(events, endpoint):
    _, key_conn = connection(events, "API_KEY")
    _, key_dest = destination(events, key_conn, endpoint.url + "/key")
    name = unique("conn")
    oauth_conn = events.create_connection(Name=name, AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
        "OAuthParameters": {"ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
                            "AuthorizationEndpoint": endpoint.url + "/token", "HttpMethod": "POST"}})["ConnectionArn"]
    _, oauth_dest = destination(events, oauth_conn, endpoint.url + "/oauth")
    source = unique("app")
    rule_to(events, {"Arn": key_dest}, {"source": [source]})
    rule_to(events, {"Arn": oauth_dest}, {"source": [source]})
    put(events, source, {})
    assert endpoint.wait("/key", 1)[0]["headers"]["x-api-key"] == "key-value-1"
    token_call = endpoint.wait("/token", 1)[0]
    assert token_call["headers"]["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert "grant_type=client_credentials" in token_call["body"]
    assert endpoint.wait("/oauth", 1)[0]["headers"]["authorization"] == "Bearer tok-1"


def test_oauth_token_reused_until_it_expires_or_is_refused(events, endpoint, mamori_clock):
    """The token is kept while valid, fetched again within 60 s of its expiry, and after
    a 401 the retry gets a fresh one (eb-target-connection-auth.html)."""
    mamori_clock.freeze()
    endpoint.token_lifetime = 300
    conn = events.create_connection(Name=unique("conn"), AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
        "OAuthParameters": {"ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
                            "AuthorizationEndpoint": endpoint.url + "/token", "HttpMethod": "POST"}})["ConnectionArn"]
    _, dest = destination(events, conn, endpoint.url + "/api")
    source = unique("app")
    rule_to(events, {"Arn": dest}, {"source": [source]})
    put(events, source, {"n": 1})
    endpoint.wait("/api", 1)
    put(events, source, {"n": 2})
    calls = endpoint.wait("/api", 2)
    assert [c["headers"]["authorization"] for c in calls] == ["Bearer tok-1", "Bearer tok-1"]
    assert len(endpoint.calls("/token")) == 1
    mamori_clock.advance(250)  # 50 s left: refreshed before use
    put(events, source, {"n": 3})
    assert endpoint.wait("/api", 3)[-1]["headers"]["authorization"] == "Bearer tok-2"
    endpoint.statuses = [401]
    put(events, source, {"n": 4})
    endpoint.wait("/api", 4)
    mamori_clock.advance(1)  # the retry
    calls = endpoint.wait("/api", 5)
    assert [c["headers"]["authorization"] for c in calls[3:]] == ["Bearer tok-2", "Bearer tok-3"]
    assert json.loads(calls[4]["body"])["detail"] == {"n": 4}


def test_retriable_failure_retried_on_the_clock(events, endpoint, mamori_clock):
    mamori_clock.freeze()
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/flaky")
    source = unique("app")
    rule_to(events, {"Arn": dest}, {"source": [source]})
    endpoint.statuses = [503, 500]
    put(events, source, {"x": 1})
    assert len(endpoint.wait("/flaky", 1)) == 1
    mamori_clock.advance(1)
    assert len(endpoint.wait("/flaky", 2)) == 2
    mamori_clock.advance(2)
    assert len(endpoint.wait("/flaky", 3)) == 3  # third attempt answered 200: no more
    mamori_clock.advance(600)
    assert len(endpoint.wait("/flaky", 4, timeout=1)) == 3


def test_client_error_is_not_retried(events, endpoint, mamori_clock):
    mamori_clock.freeze()
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/bad")
    source = unique("app")
    rule_to(events, {"Arn": dest}, {"source": [source]})
    endpoint.statuses = [400]
    put(events, source, {})
    mamori_clock.advance(600)
    assert len(endpoint.wait("/bad", 2, timeout=1)) == 1


def test_input_transformer_as_aws_writes_it(events, endpoint):
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/t")
    source = unique("app")
    rule_name, rule_arn = rule_to(events, {"Arn": dest, "InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance", "state": "$.detail.state", "count": "$.detail.count",
                          "tags": "$.detail.tags", "first": "$.resources[0]", "missing": "$.detail.nothing"},
        "InputTemplate": '{"instance": <instance>, "count": <count>, "tags": <tags>, "first": <first>, '
                         '"missing": <missing>, "text": "<instance> is \\"<state>\\" (<count>)", '
                         '"rule": <aws.events.rule-name>}',
    }}, {"source": [source]})
    put(events, source, {"instance": "i-0123", "state": 'say "hi"', "count": 3, "tags": ["a", "b"]},
        Resources=["arn:aws:ec2:us-east-1:111122223333:instance/i-0123"])
    body = endpoint.wait("/t", 1)[0]["body"]
    # Bare placeholders become JSON values (strings quoted); inside a string literal the
    # value goes in as it is: "EventBridge doesn't escape values extracted by Input
    # Path" (eb-transform-target-input.html, common issues), so quotes in a value break
    # the JSON, as they do in AWS.
    assert body == ('{"instance": "i-0123", "count": 3, "tags": ["a","b"], '
                    '"first": "arn:aws:ec2:us-east-1:111122223333:instance/i-0123", "missing": null, '
                    f'"text": "i-0123 is \\"say "hi"\\" (3)", "rule": "{rule_name}"}}')


def test_plain_text_template_and_input_path_and_constant(events, endpoint):
    _, conn = connection(events)
    _, d1 = destination(events, conn, endpoint.url + "/plain")
    _, d2 = destination(events, conn, endpoint.url + "/path")
    _, d3 = destination(events, conn, endpoint.url + "/const")
    source = unique("app")
    rule_to(events, {"Arn": d1, "InputTransformer": {"InputPathsMap": {"i": "$.detail.instance"},
                                                      "InputTemplate": "<i> is in state <aws.events.rule-name>x"}},
            {"source": [source]})
    rule_to(events, {"Arn": d2, "InputPath": "$.detail.inner"}, {"source": [source]})
    rule_to(events, {"Arn": d3, "Input": '{"fixed": true}'}, {"source": [source]})
    put(events, source, {"instance": "i-9", "inner": {"k": [1, 2]}})
    assert endpoint.wait("/plain", 1)[0]["body"].startswith("i-9 is in state rule-")
    assert json.loads(endpoint.wait("/path", 1)[0]["body"]) == {"k": [1, 2]}
    assert endpoint.wait("/const", 1)[0]["body"] == '{"fixed": true}'


def test_put_targets_refuses_bad_inputs(events):
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    out = events.put_targets(Rule=name, Targets=[
        {"Id": "a", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "Input": "{", },
        {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "Input": "{}", "InputPath": "$.detail"},
        {"Id": "c", "Arn": "arn:aws:sqs:us-east-1:000000000000:q",
         "InputTransformer": {"InputPathsMap": {"x": "$.detail"}, "InputTemplate": '{"a": <x>'}},
        {"Id": "d", "Arn": "arn:aws:sqs:us-east-1:000000000000:q",
         "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq.fifo"}},
        {"Id": "e", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "Input": "{}"},
    ])
    assert out["FailedEntryCount"] == 4
    assert [f["TargetId"] for f in out["FailedEntries"]] == ["a", "b", "c", "d"]
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["e"]


def test_scheduled_rule_fires_when_the_clock_advances(events, endpoint, mamori_clock):
    mamori_clock.freeze()
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/sched")
    name, arn = rule_to(events, {"Arn": dest}, ScheduleExpression="rate(5 minutes)")
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "rate(5 minutes)"
    mamori_clock.advance(299)
    assert endpoint.wait("/sched", 1, timeout=0.5) == []
    mamori_clock.advance("6m")  # 659 s after creation: runs at 300 and 600
    calls = endpoint.wait("/sched", 2)
    assert len(calls) == 2
    body = json.loads(calls[0]["body"])
    assert body["detail-type"] == "Scheduled Event" and body["source"] == "aws.events"
    assert body["resources"] == [arn] and body["detail"] == {}
    events.disable_rule(Name=name)
    mamori_clock.advance("1h")
    assert len(endpoint.wait("/sched", 3, timeout=0.5)) == 2
    events.remove_targets(Rule=name, Ids=["t1"])
    events.delete_rule(Name=name)


def test_cron_rule_fires_at_its_minute(events, endpoint, mamori_clock):
    mamori_clock.freeze("2030-01-01T11:58:00Z")
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/cron")
    name, _ = rule_to(events, {"Arn": dest}, ScheduleExpression="cron(0 12 * * ? *)")
    mamori_clock.advance("1m")
    assert endpoint.wait("/cron", 1, timeout=0.5) == []
    mamori_clock.advance("2m")
    [call] = endpoint.wait("/cron", 1)
    assert json.loads(call["body"])["time"] == "2030-01-01T12:00:00Z"
    mamori_clock.advance("2d")
    assert [json.loads(c["body"])["time"] for c in endpoint.wait("/cron", 3)] == [
        "2030-01-01T12:00:00Z", "2030-01-02T12:00:00Z", "2030-01-03T12:00:00Z"]
    events.disable_rule(Name=name)


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 seconds)", "cron(0 12 * * * *)",
    "cron(0 12 ? * ? *)", "cron(0 12 * *)", "cron(60 12 * * ? *)", "cron(0 12 ? * 3#1,6#3 *)", "every 5 minutes",
])
def test_invalid_schedule_expressions(events, expression):
    with pytest.raises(ClientError) as info:
        events.put_rule(Name=unique("r"), ScheduleExpression=expression)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == "Parameter ScheduleExpression is not valid."


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(2 hours)", "rate(1 day)", "cron(0/15 * * * ? *)", "cron(0 18 ? * MON-FRI *)",
    "cron(15 10 ? * 6L 2019-2099)", "cron(0 8 1W * ? *)", "cron(0 9 L * ? *)", "cron(0 10 ? * 3#2 *)",
])
def test_valid_schedule_expressions(events, expression):
    name = unique("r")
    events.put_rule(Name=name, ScheduleExpression=expression, State="DISABLED")
    events.delete_rule(Name=name)


def test_event_bus_target_and_loop_guard(events, endpoint):
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/bus")
    bus = unique("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("app")
    default_arn = events.describe_event_bus()["Arn"]
    rule_to(events, {"Arn": bus_arn}, {"source": [source]})
    rule_to(events, {"Arn": default_arn}, {"source": [source]}, EventBusName=bus)  # back: a loop
    rule_to(events, {"Arn": dest}, {"source": [source]}, EventBusName=bus)
    event_id = put(events, source, {"hop": 1})
    calls = endpoint.wait("/bus", 2, timeout=1)
    assert len(calls) == 1
    assert json.loads(calls[0]["body"])["id"] == event_id  # the event itself, not a copy


def test_archive_and_replay(events, endpoint, mamori_clock):
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/replay")
    bus = unique("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("app")
    archive = unique("arch")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn,
                                        EventPattern=json.dumps({"detail": {"keep": [True]}}))["ArchiveArn"]
    start = mamori_clock.now() - 60
    put(events, source, {"keep": True, "n": 1}, EventBusName=bus)
    put(events, source, {"keep": False, "n": 2}, EventBusName=bus)
    described = events.describe_archive(ArchiveName=archive)
    assert described["EventCount"] == 1 and described["State"] == "ENABLED"
    assert any(a["ArchiveName"] == archive for a in events.list_archives(EventSourceArn=bus_arn)["Archives"])
    rule_name, rule_arn = rule_to(events, {"Arn": dest}, {"source": [source]}, EventBusName=bus)
    replay = unique("replay")
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start,
                        EventEndTime=mamori_clock.now() + 60, Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    [call] = endpoint.wait("/replay", 1)
    body = json.loads(call["body"])
    assert body["detail"]["n"] == 1 and body["replay-name"] == replay
    assert events.describe_replay(ReplayName=replay)["State"] == "COMPLETED"
    assert any(r["ReplayName"] == replay for r in events.list_replays()["Replays"])
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 1  # replayed events aren't archived
    with pytest.raises(ClientError) as info:
        events.cancel_replay(ReplayName=replay)
    assert info.value.response["Error"]["Code"] == "IllegalStatusException"
    events.update_archive(ArchiveName=archive, RetentionDays=7)
    assert events.describe_archive(ArchiveName=archive)["RetentionDays"] == 7
    events.delete_archive(ArchiveName=archive)
    with pytest.raises(ClientError):
        events.describe_archive(ArchiveName=archive)


def test_cloudtrail_api_call_event_reaches_the_default_bus(mamori, events, endpoint):
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/trail")
    user = unique("ctuser")
    rule_to(events, {"Arn": dest}, {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
                                    "detail": {"eventName": ["CreateUser"],
                                               "requestParameters": {"userName": [user]}}})
    mamori.client("iam").create_user(UserName=user)
    mamori.client("iam").list_users()  # read-only: not delivered
    [call] = endpoint.wait("/trail", 1)
    event = json.loads(call["body"])
    assert event["detail-type"] == "AWS API Call via CloudTrail" and event["source"] == "aws.iam"
    assert event["account"] == mamori.account_id and event["version"] == "0"
    detail = event["detail"]
    assert detail["eventSource"] == "iam.amazonaws.com" and detail["eventName"] == "CreateUser"
    assert detail["requestParameters"]["userName"] == user
    assert detail["eventType"] == "AwsApiCall"


def test_rule_metrics_in_cloudwatch(mamori, events, endpoint, mamori_clock):
    mamori_clock.freeze()
    _, conn = connection(events)
    _, ok = destination(events, conn, endpoint.url + "/ok")
    _, closed = destination(events, conn, "http://127.0.0.1:9/nothing-listens")
    source = unique("app")
    rule, _ = rule_to(events, {"Arn": ok}, {"source": [source]})
    events.put_targets(Rule=rule, Targets=[{"Id": "closed", "Arn": closed,
                                            "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    put(events, source, {})
    put(events, source, {})
    endpoint.wait("/ok", 2)
    cw = mamori.client("cloudwatch")
    now = mamori_clock.now()

    def total(metric):
        out = cw.get_metric_statistics(Namespace="AWS/Events", MetricName=metric,
                                       Dimensions=[{"Name": "RuleName", "Value": rule}], StartTime=now - 600,
                                       EndTime=now + 600, Period=60, Statistics=["Sum"])
        return sum(p["Sum"] for p in out["Datapoints"])

    for _ in range(50):  # the refused connections finish on the HTTP workers
        if total("FailedInvocations") == 2:
            break
        time.sleep(0.05)
    assert total("TriggeredRules") == 2
    assert total("InvocationAttempts") == 4
    assert total("Invocations") == 4
    assert total("FailedInvocations") == 2


def test_cloudwatch_alarm_state_change_reaches_a_rule(mamori, events, endpoint):
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/alarm")
    alarm = unique("alarm")
    rule_to(events, {"Arn": dest}, {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
                                    "detail": {"alarmName": [alarm], "state": {"value": ["ALARM"]}}})
    cw = mamori.client("cloudwatch")
    cw.put_metric_alarm(AlarmName=alarm, MetricName="Errors", Namespace="App", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="testing")
    [call] = endpoint.wait("/alarm", 1)
    event = json.loads(call["body"])
    assert event["detail-type"] == "CloudWatch Alarm State Change" and event["source"] == "aws.cloudwatch"
    assert event["detail"]["alarmName"] == alarm and event["detail"]["state"]["value"] == "ALARM"
    assert event["resources"][0].endswith(f":alarm:{alarm}")


def test_archived_events_expire_after_their_retention(events, endpoint, mamori_clock):
    mamori_clock.freeze()
    _, conn = connection(events)
    _, dest = destination(events, conn, endpoint.url + "/kept")
    bus = unique("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("app")
    archive = unique("arch")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn, RetentionDays=1)["ArchiveArn"]
    start = mamori_clock.now() - 60
    put(events, source, {"n": 1}, EventBusName=bus)
    mamori_clock.advance("12h")
    put(events, source, {"n": 2}, EventBusName=bus)
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 2
    mamori_clock.advance("13h")  # the first is 25 h old, the second 13 h
    described = events.describe_archive(ArchiveName=archive)
    assert described["EventCount"] == 1 and described["SizeBytes"] > 0
    [listed] = [a for a in events.list_archives(NamePrefix=archive)["Archives"]]
    assert listed["EventCount"] == 1
    _, rule_arn = rule_to(events, {"Arn": dest}, {"source": [source]}, EventBusName=bus)
    events.start_replay(ReplayName=unique("replay"), EventSourceArn=archive_arn, EventStartTime=start,
                        EventEndTime=mamori_clock.now(), Destination={"Arn": bus_arn})
    assert [json.loads(c["body"])["detail"] for c in endpoint.wait("/kept", 1)] == [{"n": 2}]
    mamori_clock.advance("1d")
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 0
    assert events.describe_archive(ArchiveName=archive)["SizeBytes"] == 0
