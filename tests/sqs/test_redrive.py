"""Dead-letter queues: RedrivePolicy validation, RedriveAllowPolicy (allowAll, denyAll,
byQueue) enforced when a source names its DLQ, and message move tasks redriving a DLQ
back to its sources or to another queue at a rate, on the mamori clock."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _redrive(dlq_arn: str, count: int = 1) -> str:
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(count)})


def _count(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def _code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def test_redrive_allow_policy_is_enforced(mamori):
    sqs = mamori.client("sqs")
    closed = sqs.create_queue(QueueName=_name("deny"), Attributes={
        "RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})["QueueUrl"]
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=_name("src"), Attributes={"RedrivePolicy": _redrive(_arn(sqs, closed))})
    assert _code(exc) == "InvalidParameterValue" and "RedrivePolicy" in exc.value.response["Error"]["Message"]

    allowed_src = sqs.create_queue(QueueName=_name("src"))["QueueUrl"]
    other_src = sqs.create_queue(QueueName=_name("src"))["QueueUrl"]
    by_queue = sqs.create_queue(QueueName=_name("byq"), Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [_arn(sqs, allowed_src)]})})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=allowed_src, Attributes={"RedrivePolicy": _redrive(_arn(sqs, by_queue))})
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=other_src, Attributes={"RedrivePolicy": _redrive(_arn(sqs, by_queue))})
    assert _code(exc) == "InvalidParameterValue"
    assert sqs.list_dead_letter_source_queues(QueueUrl=by_queue)["queueUrls"] == [allowed_src]

    # allowAll is the default
    open_dlq = sqs.create_queue(QueueName=_name("open"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=other_src, Attributes={"RedrivePolicy": _redrive(_arn(sqs, open_dlq))})


@pytest.mark.parametrize("policy", [
    "not json",
    json.dumps({"redrivePermission": "sometimes"}),
    json.dumps({"redrivePermission": "byQueue"}),
    json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [f"arn:aws:sqs:us-east-1:000000000000:q{i}"
                                                                    for i in range(11)]}),
    json.dumps({"redrivePermission": "allowAll", "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:q"]}),
])
def test_invalid_redrive_allow_policies(mamori, policy):
    with pytest.raises(ClientError) as exc:
        mamori.client("sqs").create_queue(QueueName=_name("bad"), Attributes={"RedriveAllowPolicy": policy})
    assert _code(exc) == "InvalidParameterValue"


def test_invalid_redrive_policies(mamori):
    sqs = mamori.client("sqs")
    dlq_arn = _arn(sqs, sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"])
    fifo_arn = _arn(sqs, sqs.create_queue(QueueName=_name("dlq") + ".fifo",
                                          Attributes={"FifoQueue": "true"})["QueueUrl"])
    missing = f"arn:aws:sqs:{mamori.region}:{mamori.account_id}:{_name('none')}"
    for policy in (_redrive(dlq_arn, 0), _redrive(dlq_arn, 1001), _redrive(missing), _redrive(fifo_arn),
                   json.dumps({"deadLetterTargetArn": dlq_arn}), "[]"):
        with pytest.raises(ClientError) as exc:
            sqs.create_queue(QueueName=_name("src"), Attributes={"RedrivePolicy": policy})
        assert _code(exc) == "InvalidParameterValue", policy


def _fill_dlq(mamori, mamori_clock, n: int):
    """A source queue whose n messages were all moved to its DLQ (maxReceiveCount 1)."""
    sqs = mamori.client("sqs")
    dlq = sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"]
    src = sqs.create_queue(QueueName=_name("src"), Attributes={
        "RedrivePolicy": _redrive(_arn(sqs, dlq)), "VisibilityTimeout": "5"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=src, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(n)])
    assert len(sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)["Messages"]) == n
    mamori_clock.advance(6)
    assert "Messages" not in sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)  # all moved
    assert _count(sqs, dlq) == n
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == _arn(sqs, src)
    return sqs, src, dlq


def test_move_task_redrives_back_to_the_source(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs, src, dlq = _fill_dlq(mamori, mamori_clock, 3)
    handle = sqs.start_message_move_task(SourceArn=_arn(sqs, dlq))["TaskHandle"]
    [task] = sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq))["Results"]
    assert task["Status"] == "RUNNING" and task["TaskHandle"] == handle
    assert task["ApproximateNumberOfMessagesToMove"] == 3 and "DestinationArn" not in task
    mamori_clock.advance(1)
    [task] = sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq), MaxResults=10)["Results"]
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 3
    assert "TaskHandle" not in task
    assert _count(sqs, dlq) == 0
    back = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in back) == ["m0", "m1", "m2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}
    with pytest.raises(ClientError) as exc:
        sqs.cancel_message_move_task(TaskHandle=handle)  # no longer running
    assert _code(exc) == "ResourceNotFoundException"


def test_move_task_at_a_rate_to_a_destination_and_cancel(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs, _src, dlq = _fill_dlq(mamori, mamori_clock, 5)
    dest = sqs.create_queue(QueueName=_name("dest"))["QueueUrl"]
    handle = sqs.start_message_move_task(SourceArn=_arn(sqs, dlq), DestinationArn=_arn(sqs, dest),
                                         MaxNumberOfMessagesPerSecond=2)["TaskHandle"]
    with pytest.raises(ClientError) as exc:  # one active task per queue
        sqs.start_message_move_task(SourceArn=_arn(sqs, dlq))
    assert _code(exc) in ("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation")
    mamori_clock.advance(1)
    [task] = sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq))["Results"]
    assert task["ApproximateNumberOfMessagesMoved"] == 2 and task["MaxNumberOfMessagesPerSecond"] == 2
    assert task["DestinationArn"] == _arn(sqs, dest)
    assert sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"] == 2
    mamori_clock.advance(5)
    assert sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq))["Results"][0]["Status"] == "CANCELLED"
    assert _count(sqs, dest) == 2 and _count(sqs, dlq) == 3


def test_move_task_errors(mamori):
    sqs = mamori.client("sqs")
    plain = sqs.create_queue(QueueName=_name("plain"))["QueueUrl"]
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=_arn(sqs, plain))
    assert _code(exc) == "InvalidParameterValue"  # not anyone's dead-letter queue
    missing = f"arn:aws:sqs:{mamori.region}:{mamori.account_id}:{_name('none')}"
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=missing)
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        sqs.list_message_move_tasks(SourceArn=missing)
    assert _code(exc) == "ResourceNotFoundException"
    dlq = sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"]
    sqs.create_queue(QueueName=_name("src"), Attributes={"RedrivePolicy": _redrive(_arn(sqs, dlq))})
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=_arn(sqs, dlq), MaxNumberOfMessagesPerSecond=501)
    assert _code(exc) == "InvalidParameterValue"
    assert sqs.list_message_move_tasks(SourceArn=_arn(sqs, dlq))["Results"] == []
    with pytest.raises(ClientError) as exc:
        sqs.cancel_message_move_task(TaskHandle="bm90LWEtaGFuZGxl")
    assert _code(exc) == "ResourceNotFoundException"
