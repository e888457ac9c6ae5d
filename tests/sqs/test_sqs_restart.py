"""Messages, in-flight state, FIFO deduplication and a running message move task survive
`kill -9` of the server and a restart on the same data directory."""

from __future__ import annotations

import json

import pytest

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def test_queue_store_survives_kill_9(tmp_path):
    server = ServerProcess.start(tmp_path)
    try:
        sqs = server.client("sqs")
        server.admin("POST", "clock", {"action": "freeze"})
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
        held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0]
        fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        first = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
        sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": f"d{i}"} for i in range(3)])
        dest = sqs.create_queue(QueueName="dest")["QueueUrl"]
        dest_arn = sqs.get_queue_attributes(QueueUrl=dest, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn, MaxNumberOfMessagesPerSecond=1)
        assert src
    finally:
        server.kill()

    server = ServerProcess.start(tmp_path)
    try:
        sqs = server.client("sqs")
        bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
        assert len(bodies) == 2 and held["Body"] not in bodies  # still in flight after the restart
        again = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
        assert again["MessageId"] == first["MessageId"]
        [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        assert task["Status"] == "RUNNING" and task["ApproximateNumberOfMessagesToMove"] == 3
        server.admin("POST", "clock", {"action": "advance", "duration": 5})
        [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 3
        moved = sqs.receive_message(QueueUrl=dest, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in moved) == ["d0", "d1", "d2"]
    finally:
        server.stop()
