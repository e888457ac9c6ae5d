"""Delivery retries on the mamori clock and redrive to an SQS dead-letter queue.

A failing HTTP endpoint (HTTP 500) is retried by the subscription's delivery policy,
each retry falling due when the clock passes it; when the policy is used up the
notification goes to the RedrivePolicy's queue with the attributes RequestID, ErrorCode
and ErrorMessage. An SQS subscriber the topic may not write to is a client error:
redriven at once, without retries.
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from sns_helpers import body, wait_for


@pytest.fixture
def sns(mamori):
    return mamori.client("sns")


@pytest.fixture
def sqs(mamori):
    return mamori.client("sqs")


def queue_for(sqs, name, topic=None):
    """A queue; with `topic`, its policy lets that topic's SNS deliveries in."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if topic:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    return url, arn


def receive(sqs, url, count=1):
    def probe():
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        return out.get("Messages")
    return wait_for(probe, what=f"a message in {url}")


def test_failing_http_endpoint_lands_in_the_dlq_after_the_retry_policy(sns, sqs, subscriber, mamori_clock):
    mamori_clock.freeze()
    topic = sns.create_topic(Name="retry-http")["TopicArn"]
    dlq_url, dlq_arn = queue_for(sqs, "retry-http-dlq", topic)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/down")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    assert requests.get(body(item)["SubscribeURL"], timeout=10).status_code == 200
    [sub] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    arn = sub["SubscriptionArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 0, "numMinDelayRetries": 0,
                                     "numMaxDelayRetries": 0, "minDelayTarget": 10, "maxDelayTarget": 10,
                                     "backoffFunction": "linear"}}
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
    subscriber.status = 500

    published = sns.publish(TopicArn=topic, Message="will fail", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "test"}})["MessageId"]
    wait_for(lambda: len(subscriber.messages("Notification")) == 1, what="the first attempt")
    # the first retry is due 10 s (of mamori time) after the failure, not before
    mamori_clock.advance(5)
    time.sleep(0.3)
    assert len(subscriber.messages("Notification")) == 1
    for expected in (2, 3, 4):
        def arrived(n=expected):
            if len(subscriber.messages("Notification")) >= n:
                return True
            mamori_clock.advance(10)  # over-advancing is harmless: due retries run at once
            return False
        wait_for(arrived, what=f"attempt {expected}")
    [message] = receive(sqs, dlq_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert set(attributes) == {"RequestID", "ErrorCode", "ErrorMessage"}
    assert attributes["ErrorCode"] == "500" and "500" in attributes["ErrorMessage"]
    note = json.loads(message["Body"])
    assert note["Type"] == "Notification" and note["MessageId"] == published and note["Message"] == "will fail"
    assert note["TopicArn"] == topic and note["Signature"]
    # given up: no further attempt however far the clock goes
    mamori_clock.advance(3600)
    time.sleep(0.3)
    assert len(subscriber.messages("Notification")) == 4
    assert {m["headers"]["x-amz-sns-message-id"] for m in subscriber.messages("Notification")} == {published}


def test_http_endpoint_that_recovers_gets_the_retry_once(sns, subscriber, mamori_clock):
    mamori_clock.freeze()
    topic = sns.create_topic(Name="retry-recover")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/flaky")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    requests.get(body(item)["SubscribeURL"], timeout=10)
    subscriber.status = 503
    sns.publish(TopicArn=topic, Message="eventually")
    wait_for(lambda: subscriber.messages("Notification"), what="the first attempt")
    subscriber.status = 200

    def retried():
        if len(subscriber.messages("Notification")) >= 2:
            return True
        mamori_clock.advance(20)  # AWS's default: 3 retries, 20 seconds apart
        return False
    wait_for(retried, what="the retry")
    mamori_clock.advance(120)
    time.sleep(0.3)
    assert len(subscriber.messages("Notification")) == 2
    # 4xx counts as delivered, as AWS counts it: no retry
    subscriber.status = 404
    sns.publish(TopicArn=topic, Message="not found is final")
    wait_for(lambda: len(subscriber.messages("Notification")) == 3)
    mamori_clock.advance(120)
    time.sleep(0.3)
    assert len(subscriber.messages("Notification")) == 3


def test_sqs_subscriber_without_access_is_redriven_at_once(sns, sqs):
    topic = sns.create_topic(Name="redrive-sqs")["TopicArn"]
    closed_url, closed_arn = queue_for(sqs, "redrive-closed")  # no policy for SNS
    dlq_url, dlq_arn = queue_for(sqs, "redrive-sqs-dlq", topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=closed_arn, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}), "RawMessageDelivery": "true"})["SubscriptionArn"]
    assert json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn}
    sns.publish(TopicArn=topic, Message="raw body", MessageAttributes={"team": {"DataType": "String",
                                                                               "StringValue": "sec"}})
    [message] = receive(sqs, dlq_url)
    assert message["Body"] == "raw body"
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["team"] == "sec" and attributes["RequestID"]
    assert attributes["ErrorCode"] and attributes["ErrorMessage"]
    assert sqs.receive_message(QueueUrl=closed_url).get("Messages") is None


def test_redrive_policy_validation(sns):
    topic = sns.create_topic(Name="redrive-bad")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:x")["SubscriptionArn"]
    for bad in ("{not json", json.dumps({"deadLetterTargetArn": "arn:aws:sns:us-east-1:000000000000:t"}),
                json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:q.fifo"}), json.dumps({})):
        with pytest.raises(Exception) as err:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue=bad)
        assert err.value.response["Error"]["Code"] == "InvalidParameter", bad


def test_unsubscribing_stops_pending_retries(sns, subscriber, mamori_clock):
    mamori_clock.freeze()
    topic = sns.create_topic(Name="retry-stop")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/stop")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    requests.get(body(item)["SubscribeURL"], timeout=10)
    [sub] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    subscriber.status = 500
    sns.publish(TopicArn=topic, Message="doomed")
    wait_for(lambda: subscriber.messages("Notification"), what="the first attempt")
    sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    wait_for(lambda: subscriber.messages("UnsubscribeConfirmation"))
    mamori_clock.advance(600)
    time.sleep(0.3)
    assert len(subscriber.messages("Notification")) == 1


def test_unreachable_endpoint_without_retries_goes_to_the_dlq_at_once(sns, sqs, subscriber):
    topic = sns.create_topic(Name="retry-gone")["TopicArn"]
    dlq_url, dlq_arn = queue_for(sqs, "retry-gone-dlq", topic)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/gone", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}),
        "RawMessageDelivery": "true",
        "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 0, "minDelayTarget": 1,
                                                             "maxDelayTarget": 1}})})
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    requests.get(body(item)["SubscribeURL"], timeout=10)
    subscriber.close()  # the endpoint goes away: connection refused
    sns.publish(TopicArn=topic, Message="nobody home", MessageAttributes={
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})
    [message] = receive(sqs, dlq_url)
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"]["StringValue"] == "EndpointUnreachable"
    assert "Connection" in attributes["ErrorMessage"]["StringValue"]
    assert attributes["blob"]["BinaryValue"] == b"\x00\xff"  # raw delivery: the publisher's attributes too
    assert message["Body"] == "nobody home"
