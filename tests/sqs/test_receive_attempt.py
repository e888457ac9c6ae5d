"""FIFO ReceiveRequestAttemptId: a receive retried with the same attempt id within five
minutes gets the same messages and receipt handles, unless one of them was deleted or
had its visibility changed meanwhile; after five minutes it is a new receive."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def fifo(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=f"attempt-{uuid.uuid4().hex[:8]}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true",
                                       "VisibilityTimeout": "600"})["QueueUrl"]
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 2}")
    return sqs, url


def _received(answer):
    return [(m["Body"], m["ReceiptHandle"]) for m in answer.get("Messages", [])]


def test_retry_with_the_same_attempt_id_gets_the_same_messages(fifo, mamori_clock):
    sqs, url = fifo
    first = _received(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1"))
    assert [body for body, _ in first] == ["m0", "m2"]  # one group, in order
    again = _received(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1"))
    assert again == first
    other = _received(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-2"))
    assert [body for body, _ in other] == ["m1", "m3"]
    # a message of the first answer deleted: the retry is a receive like any other
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0][1])
    assert _received(sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="try-1")) == []


def test_attempt_ids_expire_after_five_minutes_and_visibility_changes_count(fifo, mamori_clock):
    sqs, url = fifo
    mamori_clock.freeze()
    first = _received(sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a"))
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0][1], VisibilityTimeout=0)
    changed = _received(sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a"))
    assert [b for b, _ in changed] == ["m0"] and changed[0][1] != first[0][1]  # received anew
    assert _received(sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a")) == changed
    mamori_clock.advance(301)  # the attempt id is forgotten: a new receive (m0's group is in flight)
    assert [b for b, _ in _received(sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a"))] == ["m1"]
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="x" * 129)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Error"]["Message"].startswith(f"Value {'x' * 129} for parameter ReceiveRequestAttemptId is invalid.")
