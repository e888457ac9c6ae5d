"""Fixtures of the EventBridge tests: a local HTTP endpoint (API destinations, OAuth
token endpoint), and SQS queues that allow EventBridge to send (a queue policy for
events.amazonaws.com, as AWS requires)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from events_helpers import Endpoint, unique


@pytest.fixture
def endpoint():
    ep = Endpoint()
    try:
        yield ep
    finally:
        ep.close()


@pytest.fixture
def events(mamori):
    return mamori.client("events")


@pytest.fixture
def make_queue(mamori):
    """Create a queue whose policy lets EventBridge send to it (optionally only for
    one rule ARN); returns (url, arn)."""
    sqs = mamori.client("sqs")

    def make(name: str | None = None, allow_events: bool = True, source_arn: str | None = None):
        url = sqs.create_queue(QueueName=name or unique("q"))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if allow_events:
            statement: dict[str, Any] = {"Sid": "events", "Effect": "Allow",
                                         "Principal": {"Service": "events.amazonaws.com"},
                                         "Action": "sqs:SendMessage", "Resource": arn}
            if source_arn:
                statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source_arn}}
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]})})
        return url, arn

    return make


