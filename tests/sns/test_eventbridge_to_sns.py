"""End to end through boto3: PutEvents -> EventBridge rule -> SNS topic -> an SQS queue
and a confirmed HTTP subscriber; both get AWS's JSON notification, whose signature
verifies with the certificate from SigningCertURL."""

from __future__ import annotations

import json
import uuid

import requests
from sns_helpers import body, verify, wait_for

NOTIFICATION_KEYS = {"Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature",
                     "SigningCertURL", "UnsubscribeURL"}
EVENT_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def test_put_events_rule_topic_queue_and_http(mamori, subscriber):
    sns, sqs, events = mamori.client("sns"), mamori.client("sqs"), mamori.client("events")
    suffix = uuid.uuid4().hex[:8]
    topic = sns.create_topic(Name=f"eb-{suffix}", Attributes={"SignatureVersion": "2"})["TopicArn"]
    url = sqs.create_queue(QueueName=f"eb-{suffix}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue,
                                                "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/events")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    assert requests.get(body(item)["SubscribeURL"], timeout=10).status_code == 200

    source = f"my.app.{suffix}"
    events.put_rule(Name=f"to-sns-{suffix}", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=f"to-sns-{suffix}", Targets=[{"Id": "topic", "Arn": topic}])
    out = events.put_events(Entries=[{"Source": source, "DetailType": "Order Placed",
                                      "Detail": json.dumps({"order": 42})}])
    assert out["FailedEntryCount"] == 0
    event_id = out["Entries"][0]["EventId"]

    def from_queue():
        return sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")
    [message] = wait_for(from_queue, what="the queue's notification")
    [posted] = wait_for(lambda: subscriber.messages("Notification"), what="the HTTP notification")
    for note in (json.loads(message["Body"]), body(posted)):
        assert set(note) == NOTIFICATION_KEYS
        assert note["Type"] == "Notification" and note["TopicArn"] == topic and note["SignatureVersion"] == "2"
        event = json.loads(note["Message"])
        assert set(event) == EVENT_KEYS
        assert event["id"] == event_id and event["source"] == source and event["detail"] == {"order": 42}
        assert event["detail-type"] == "Order Placed" and event["account"] == mamori.account_id
        verify(note)
    assert json.loads(message["Body"])["MessageId"] == body(posted)["MessageId"]
