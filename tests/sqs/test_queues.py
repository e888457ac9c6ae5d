"""SQS through boto3: queues, messages (boto3 checks the MD5 digests), visibility by the
clock, DLQ, FIFO dedup, batches, tags, permissions, and a service principal allowed by
the queue policy."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def test_send_receive_delete_with_attributes(mamori, mamori_clock):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName="q1")["QueueUrl"]
    assert url.endswith("/q1")
    assert sqs.get_queue_url(QueueName="q1")["QueueUrl"] == url
    attrs = {"s": {"DataType": "String", "StringValue": "héllo"},
             "n": {"DataType": "Number", "StringValue": "42"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="hi ✓", MessageAttributes=attrs)
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
    assert got[0]["Body"] == "hi ✓" and got[0]["MessageId"] == sent["MessageId"]
    assert got[0]["MessageAttributes"]["n"]["StringValue"] == "42"
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    mamori_clock.advance(31)
    again = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    mamori_clock.advance(31)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.get_queue_url(QueueName="nope")
    assert exc.value.response["Error"]["Code"] in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def test_attributes_batches_visibility_and_purge(mamori, mamori_clock):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName="q2", Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5"})
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["VisibilityTimeout"] == "10" and a["DelaySeconds"] == "5" and a["QueueArn"].endswith(":q2")
    r = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    assert len(r["Successful"]) == 3
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # delayed
    mamori_clock.advance(6)
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in msgs] == ["m0", "m1", "m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"], VisibilityTimeout=100)
    sqs.change_message_visibility_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": msgs[1]["ReceiptHandle"],
                                                                "VisibilityTimeout": 100}])
    mamori_clock.advance(11)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["m2"]
    d = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"]}])
    assert d["Successful"] == [{"Id": "a"}]
    sqs.purge_queue(QueueUrl=url)
    mamori_clock.advance(200)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    assert exc.value.response["Error"]["Code"] == "InvalidAttributeValue"


def test_dead_letter_queue_and_fifo(mamori, mamori_clock):
    sqs = mamori.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}), "VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src)["Messages"]
        mamori_clock.advance(2)
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Body"] == "poison"
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]

    fifo = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true",
                                                            "ContentBasedDeduplication": "true"})["QueueUrl"]
    first = sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="g")
    assert sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="g")["MessageId"] == first["MessageId"]
    sqs.send_message(QueueUrl=fifo, MessageBody="b", MessageGroupId="g")
    one = sqs.receive_message(QueueUrl=fifo)["Messages"]
    assert [m["Body"] for m in one] == ["a"]
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo)  # group g is in flight


def test_tags_permissions_list_delete(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName="tagged", tags={"team": "a"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.add_permission(QueueUrl=url, Label="p", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert "p" in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.remove_permission(QueueUrl=url, Label="p")
    assert url in sqs.list_queues(QueueNamePrefix="tag")["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError):
        sqs.get_queue_url(QueueName="tagged")
