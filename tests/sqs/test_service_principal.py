"""SNS delivers into a queue as the service principal sns.amazonaws.com: allowed only by
the queue policy."""

from __future__ import annotations

import json


def _policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})


def test_sns_delivers_only_when_the_queue_policy_allows(mamori):
    sqs, sns = mamori.client("sqs"), mamori.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    open_url = sqs.create_queue(QueueName="allowed")["QueueUrl"]
    closed_url = sqs.create_queue(QueueName="closed")["QueueUrl"]
    open_arn = sqs.get_queue_attributes(QueueUrl=open_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    closed_arn = sqs.get_queue_attributes(QueueUrl=closed_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=open_url, Attributes={"Policy": _policy(open_arn, topic)})
    for arn in (open_arn, closed_arn):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello")
    got = sqs.receive_message(QueueUrl=open_url)["Messages"]
    assert json.loads(got[0]["Body"])["Message"] == "hello"
    assert "Messages" not in sqs.receive_message(QueueUrl=closed_url)
