"""Rules delivering to real SQS queues (and SNS topics): PutEvents -> rule -> queue with
AWS's envelope, a sample of the pattern cases through real rules, scheduled rules on
the clock, input transformers, dead-letter queues with AWS's error attributes, and
"AWS API Call via CloudTrail" events of mutating calls.

Queues are created with boto3 and given a queue policy that allows
events.amazonaws.com, as AWS requires: EventBridge sends as the service principal and
the queue policy decides.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from events_helpers import receive_all, unique

CASES = json.loads((Path(__file__).parent / "pattern_cases.json").read_text())
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


@pytest.fixture(scope="module")
def sqs(mamori):
    return mamori.client("sqs")


def put_rule(events, pattern=None, bus="default", **kw):
    name = unique("rule")
    if pattern is not None:
        kw["EventPattern"] = json.dumps(pattern)
    arn = events.put_rule(Name=name, EventBusName=bus, **kw)["RuleArn"]
    return name, arn


def add_target(events, rule, target, bus="default"):
    out = events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": unique("t"), **target}])
    assert out["FailedEntryCount"] == 0, out


def put(events, source, detail, detail_type="Thing Happened", **kw):
    out = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), **kw}])
    assert out["FailedEntryCount"] == 0, out
    return out["Entries"][0]["EventId"]


def test_put_events_rule_to_queue(mamori, events, sqs, make_queue):
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source], "detail": {"kind": ["order"]}})
    url, arn = make_queue(source_arn=rule_arn)
    add_target(events, name, {"Arn": arn})
    event_id = put(events, source, {"kind": "order", "total": 12.5},
                   Resources=["arn:aws:s3:::bucket"])
    put(events, source, {"kind": "refund"})  # no match
    [message] = receive_all(sqs, url, expect=1)
    body = json.loads(message["Body"])
    assert set(body) == ENVELOPE_KEYS
    assert body["id"] == event_id and body["version"] == "0" and body["source"] == source
    assert body["detail-type"] == "Thing Happened" and body["detail"] == {"kind": "order", "total": 12.5}
    assert body["account"] == mamori.account_id and body["region"] == mamori.region
    assert body["resources"] == ["arn:aws:s3:::bucket"]
    assert body["time"].endswith("Z") and len(body["time"]) == 20
    assert receive_all(sqs, url) == []


def _deliverable(case):
    ev = case.get("event")
    if ev is None or not set(ev) <= {"source", "detail-type", "detail", "resources"}:
        return False
    if str(ev.get("source", "")).startswith("aws.") or not all(isinstance(r, str) for r in ev.get("resources", [])):
        return False
    return True


SAMPLE = [c for c in CASES if _deliverable(c)][::5]


def test_sample_of_pattern_cases_through_real_rules(events, sqs, make_queue):
    assert len(SAMPLE) >= 25
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    url, arn = make_queue()
    for i, case in enumerate(SAMPLE):
        rule, _ = put_rule(events, case["pattern"], bus=bus)
        add_target(events, rule, {"Arn": arn, "InputTransformer": {
            "InputPathsMap": {"id": "$.id"}, "InputTemplate": f'{{"case": {i}, "id": <id>}}'}}, bus=bus)
    ids = []
    for case in SAMPLE:
        ev = case["event"]
        ids.append(put(events, ev.get("source", "test.source"), ev.get("detail", {}),
                       detail_type=ev.get("detail-type", "Test Event"), Resources=ev.get("resources", []),
                       EventBusName=bus))
    arrived = {(m["case"], m["id"]) for m in (json.loads(x["Body"]) for x in receive_all(sqs, url))}
    for i, case in enumerate(SAMPLE):
        assert ((i, ids[i]) in arrived) is case["match"], case["name"]


def test_scheduled_rule_fires_on_clock_advance(events, sqs, make_queue, mamori_clock):
    mamori_clock.freeze()
    name, rule_arn = put_rule(events, ScheduleExpression="rate(1 hour)")
    url, arn = make_queue(source_arn=rule_arn)
    add_target(events, name, {"Arn": arn})
    mamori_clock.advance("3h")
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, expect=3)]
    assert len(bodies) == 3
    assert {b["detail-type"] for b in bodies} == {"Scheduled Event"}
    assert all(b["resources"] == [rule_arn] and b["source"] == "aws.events" for b in bodies)
    assert len({b["time"] for b in bodies}) == 3
    events.disable_rule(Name=name)  # leave nothing firing for other tests that move the clock


def test_input_transformer_output_as_aws_writes_it(events, sqs, make_queue):
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    url, arn = make_queue()
    add_target(events, name, {"Arn": arn, "InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": '"<instance> is in state <state>"'}})
    url2, arn2 = make_queue()
    add_target(events, name, {"Arn": arn2, "InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": '{"instance": <instance>, "state": <state>, "rule": <aws.events.rule-arn>}'}})
    put(events, source, {"instance-id": "i-0123456789", "state": "RUNNING"})
    assert receive_all(sqs, url, expect=1)[0]["Body"] == '"i-0123456789 is in state RUNNING"'
    assert receive_all(sqs, url2, expect=1)[0]["Body"] == \
        f'{{"instance": "i-0123456789", "state": "RUNNING", "rule": "{rule_arn}"}}'


def test_input_transformer_reserved_variables_and_objects_in_strings(events, sqs, make_queue, mamori_clock):
    """<aws.events.event> is the event without `detail`, <aws.events.event.json> the
    whole event, both JSON values; <aws.events.event.ingestion-time> ISO 8601; an object
    referenced inside a string loses its internal quotes
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html)."""
    mamori_clock.freeze()
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    url, arn = make_queue()
    add_target(events, name, {"Arn": arn, "InputTransformer": {
        "InputPathsMap": {"inner": "$.detail.inner", "n": "$.detail.n", "flag": "$.detail.flag"},
        "InputTemplate": '{"msg": "Detail is <inner>", "n": <n>, "flag": <flag>, "event": <aws.events.event>, '
                         '"full": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>, '
                         '"name": "<aws.events.rule-name>"}'}})
    detail = {"inner": {"resource-id": "i-1", "state": "running"}, "n": 5, "flag": True}
    event_id = put(events, source, detail)
    [message] = receive_all(sqs, url, expect=1)
    body = message["Body"]
    assert body.startswith('{"msg": "Detail is {resource-id: i-1, state: running}", "n": 5, "flag": true, ')
    doc = json.loads(body)
    assert doc["event"]["id"] == event_id and "detail" not in doc["event"]
    assert set(doc["event"]) == ENVELOPE_KEYS - {"detail"}
    assert doc["full"]["detail"] == detail and doc["full"]["id"] == event_id
    expected_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mamori_clock.now()))
    assert doc["at"] == expected_at
    assert doc["name"] == name


def test_failed_delivery_goes_to_dlq_with_error_attributes(events, sqs, make_queue):
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    dlq_url, dlq_arn = make_queue()
    _, closed_arn = make_queue(allow_events=False)  # no queue policy: EventBridge may not send
    missing_arn = closed_arn.rsplit(":", 1)[0] + ":" + unique("missing")
    add_target(events, name, {"Arn": closed_arn, "DeadLetterConfig": {"Arn": dlq_arn}})
    add_target(events, name, {"Arn": missing_arn, "DeadLetterConfig": {"Arn": dlq_arn},
                              "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}})
    event_id = put(events, source, {"x": 1})
    messages = receive_all(sqs, dlq_url, expect=2, attributes=True)
    assert len(messages) == 2
    by_target = {}
    for m in messages:
        attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
        by_target[attrs["TARGET_ARN"]] = attrs
        assert json.loads(m["Body"])["id"] == event_id
        assert attrs["RULE_ARN"] == rule_arn
        assert attrs["RETRY_ATTEMPTS"] == "0"  # permission and missing-resource errors aren't retried
        assert attrs["ERROR_MESSAGE"]
    assert by_target[closed_arn]["ERROR_CODE"] == "NO_PERMISSIONS"
    assert by_target[missing_arn]["ERROR_CODE"] == "NO_RESOURCE"


def test_iam_create_user_reaches_a_queue(mamori, events, sqs, make_queue):
    user = unique("ct")
    name, rule_arn = put_rule(events, {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
                                       "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["CreateUser"],
                                                  "requestParameters": {"userName": [user]}}})
    url, arn = make_queue(source_arn=rule_arn)
    add_target(events, name, {"Arn": arn})
    mamori.client("iam").create_user(UserName=user)
    mamori.client("iam").get_user(UserName=user)  # read-only: not delivered
    [message] = receive_all(sqs, url, expect=1)
    event = json.loads(message["Body"])
    # AWS's envelope: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
    assert set(event) == ENVELOPE_KEYS
    assert (event["version"], event["source"], event["detail-type"]) == ("0", "aws.iam", "AWS API Call via CloudTrail")
    assert event["account"] == mamori.account_id and event["region"] == "us-east-1" and event["resources"] == []
    assert event["time"].endswith("Z") and len(event["time"]) == 20
    detail = event["detail"]
    assert {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
            "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "eventType",
            "managementEvent", "recipientAccountId", "eventCategory", "readOnly"} <= set(detail)
    assert detail["eventName"] == "CreateUser" and detail["eventSource"] == "iam.amazonaws.com"
    assert detail["requestParameters"]["userName"] == user
    assert detail["responseElements"]["user"]["userName"] == user
    assert detail["userIdentity"]["accountId"] == mamori.account_id
    assert (detail["eventType"], detail["managementEvent"], detail["readOnly"]) == ("AwsApiCall", True, False)
    assert detail["eventTime"] == event["time"] and detail["recipientAccountId"] == mamori.account_id
    assert receive_all(sqs, url) == []


def test_rule_to_sns_topic_to_queue(mamori, events, sqs, make_queue):
    sns = mamori.client("sns")
    topic = sns.create_topic(Name=unique("topic"))["TopicArn"]
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                "Action": "sns:Publish", "Resource": topic}]}))
    url, queue_arn = make_queue(allow_events=False)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue_arn,
                                                "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    add_target(events, name, {"Arn": topic})
    event_id = put(events, source, {"via": "sns"})
    [message] = receive_all(sqs, url, expect=1)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert json.loads(envelope["Message"])["id"] == event_id


def test_retries_exhausted_go_to_dlq(events, sqs, make_queue, endpoint, mamori_clock):
    mamori_clock.freeze()
    conn = events.create_connection(Name=unique("c"), AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
    dest = events.create_api_destination(Name=unique("d"), ConnectionArn=conn, InvocationEndpoint=endpoint.url + "/down",
                                         HttpMethod="POST")["ApiDestinationArn"]
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    dlq_url, dlq_arn = make_queue()
    add_target(events, name, {"Arn": dest, "DeadLetterConfig": {"Arn": dlq_arn},
                              "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}})
    endpoint.statuses = [500] * 10
    event_id = put(events, source, {"x": 1})
    endpoint.wait("/down", 1)
    assert receive_all(sqs, dlq_url) == []
    mamori_clock.advance(60)
    assert len(endpoint.wait("/down", 3)) == 3  # the first call and two retries
    time.sleep(0.3)  # the last failure reaches the DLQ from the HTTP worker
    [message] = receive_all(sqs, dlq_url, expect=1, attributes=True)
    attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "ERROR_FROM_TARGET"
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["RETRY_ATTEMPTS"] == "2" and attrs["RULE_ARN"] == rule_arn and attrs["TARGET_ARN"] == dest
    assert json.loads(message["Body"])["id"] == event_id


def test_fifo_queue_target_needs_a_message_group(events, sqs):
    url = sqs.create_queue(QueueName=unique("q") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn}]})})
    source = unique("app")
    name, _ = put_rule(events, {"source": [source]})
    out = events.put_targets(Rule=name, Targets=[{"Id": "f", "Arn": arn}])
    assert out["FailedEntryCount"] == 1 and out["FailedEntries"][0]["ErrorCode"] == "ValidationException"
    add_target(events, name, {"Arn": arn, "SqsParameters": {"MessageGroupId": "orders"}})
    event_id = put(events, source, {"n": 1})
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["MessageGroupId"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in got] == [event_id]
    assert got[0]["Attributes"]["MessageGroupId"] == "orders"


def test_target_of_a_service_mamori_lacks_is_a_failed_invocation(mamori, events, sqs, make_queue, mamori_clock):
    source = unique("app")
    name, rule_arn = put_rule(events, {"source": [source]})
    dlq_url, dlq_arn = make_queue()
    function = f"arn:aws:lambda:{mamori.region}:{mamori.account_id}:function:handler"
    add_target(events, name, {"Arn": function, "DeadLetterConfig": {"Arn": dlq_arn}})
    put(events, source, {})
    [message] = receive_all(sqs, dlq_url, expect=1, attributes=True)
    attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attrs["TARGET_ARN"] == function and attrs["ERROR_CODE"] == "NO_RESOURCE"
    assert "does not deliver to lambda targets yet" in attrs["ERROR_MESSAGE"]
    cw = mamori.client("cloudwatch")
    now = mamori_clock.now()

    def total(metric):
        out = cw.get_metric_statistics(Namespace="AWS/Events", MetricName=metric,
                                       Dimensions=[{"Name": "RuleName", "Value": name}], StartTime=now - 3600,
                                       EndTime=now + 3600, Period=60, Statistics=["Sum"])
        return sum(p["Sum"] for p in out["Datapoints"])

    assert total("FailedInvocations") == 1
    assert total("InvocationsSentToDlq") == 1
