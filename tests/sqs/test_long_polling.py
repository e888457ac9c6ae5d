"""Long polling on the mamori clock: a ReceiveMessage with WaitTimeSeconds waits without
blocking the server, and ends when a message arrives, becomes visible, or the wait time
passes on the clock. Each receive runs in a thread with its own client while the test
sends through another."""

from __future__ import annotations

import threading
import time
import uuid

import pytest


def _background_receive(mamori, **kwargs):
    client = mamori.client("sqs")
    out: dict = {}

    def run() -> None:
        started = time.monotonic()
        out["response"] = client.receive_message(**kwargs)
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.fixture
def queue(mamori):
    sqs = mamori.client("sqs")
    return sqs.create_queue(QueueName=f"lp-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def test_waiting_receive_gets_a_message_sent_meanwhile(mamori, mamori_clock, queue):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    thread, out = _background_receive(mamori, QueueUrl=queue, WaitTimeSeconds=20)
    thread.join(0.5)
    assert thread.is_alive()  # waiting: the queue is empty and the clock stands still
    # the server keeps answering other calls while the receive waits
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    sent = sqs.send_message(QueueUrl=queue, MessageBody="wake up")
    thread.join(10)
    assert not thread.is_alive()
    assert [m["MessageId"] for m in out["response"]["Messages"]] == [sent["MessageId"]]


def test_advancing_the_clock_past_the_wait_ends_it_empty(mamori, mamori_clock, queue):
    mamori_clock.freeze()
    thread, out = _background_receive(mamori, QueueUrl=queue, WaitTimeSeconds=5)
    thread.join(0.5)
    assert thread.is_alive()
    mamori_clock.advance(3)  # not yet
    thread.join(0.5)
    assert thread.is_alive()
    mamori_clock.advance(3)
    thread.join(10)
    assert not thread.is_alive()
    assert "Messages" not in out["response"]


def test_delayed_message_ends_the_wait_when_the_clock_makes_it_visible(mamori, mamori_clock, queue):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=10)
    thread, out = _background_receive(mamori, QueueUrl=queue, WaitTimeSeconds=20)
    thread.join(0.5)
    assert thread.is_alive()
    mamori_clock.advance(10)
    thread.join(10)
    assert out["response"]["Messages"][0]["Body"] == "later"


def test_queue_default_wait_and_short_poll(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=f"lpq-{uuid.uuid4().hex[:8]}",
                           Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    # WaitTimeSeconds=0 overrides the queue's long polling: answers at once
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    thread, out = _background_receive(mamori, QueueUrl=url)  # the queue's 20 s apply
    thread.join(0.5)
    assert thread.is_alive()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}])
    thread.join(10)
    assert out["response"]["Messages"]


def test_visibility_timeout_expiry_by_the_clock_wakes_a_waiter(mamori, mamori_clock, queue):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=30)["Messages"][0]
    thread, out = _background_receive(mamori, QueueUrl=queue, WaitTimeSeconds=20, AttributeNames=["All"])
    thread.join(0.5)
    assert thread.is_alive()  # the only message is in flight
    mamori_clock.advance(30)
    thread.join(10)
    again = out["response"]["Messages"][0]
    assert again["MessageId"] == first["MessageId"] and again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]


def test_wait_time_out_of_range(mamori, queue):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as exc:
        mamori.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=21)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_frozen_clock_never_hangs_the_caller_past_the_wait_in_real_time(mamori, mamori_clock, queue):
    mamori_clock.freeze()
    thread, out = _background_receive(mamori, QueueUrl=queue, WaitTimeSeconds=1)
    thread.join(10)
    assert not thread.is_alive() and "Messages" not in out["response"]
    assert out["seconds"] >= 0.9
