"""Queue semantics on the mamori clock: delay queues and message timers, retention,
FIFO deduplication (5 minutes, queue or group scope) and message groups, fair-queue
groups on standard queues, MD5 digests (boto3 checks them), system attributes, queue
policies for other principals, tags, batch errors and attribute validation."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _counts(sqs, url: str) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def _bodies(sqs, url: str, **kw) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kw).get("Messages", [])]


def test_delay_queue_and_message_timers(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("delay"), Attributes={"DelaySeconds": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="timer 0", DelaySeconds=0)  # a timer overrides the queue's delay
    sqs.send_message(QueueUrl=url, MessageBody="timer 60", DelaySeconds=60)
    assert _counts(sqs, url) == (1, 0, 2)
    assert _bodies(sqs, url, VisibilityTimeout=600) == ["timer 0"]
    assert _counts(sqs, url) == (0, 1, 2)
    mamori_clock.advance(30)
    assert _bodies(sqs, url, VisibilityTimeout=600) == ["queue delay"]
    mamori_clock.advance(30)
    assert _bodies(sqs, url, VisibilityTimeout=600) == ["timer 60"]
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_retention_by_the_clock(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("ret"), Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    mamori_clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    mamori_clock.advance(31)  # "old" is 61 s old
    assert _counts(sqs, url) == (1, 0, 0)
    assert _bodies(sqs, url) == ["young"]
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "59"})
    assert exc.value.response["Error"]["Code"] == "InvalidAttributeValue"


def test_fifo_deduplication_window_and_scope(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("dd") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as exc:  # no content-based deduplication, no id
        sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="a", MessageDeduplicationId="d")
    assert exc.value.response["Error"]["Code"] == "MissingParameter"
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    again = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g2", MessageDeduplicationId="d1")
    assert again["MessageId"] == first["MessageId"] and again["SequenceNumber"] == first["SequenceNumber"]
    mamori_clock.advance(301)
    later = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    assert later["MessageId"] != first["MessageId"] and int(later["SequenceNumber"]) > int(first["SequenceNumber"])
    assert _counts(sqs, url)[0] == 2

    scoped = sqs.create_queue(QueueName=_name("ds") + ".fifo", Attributes={
        "FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})["QueueUrl"]
    a = sqs.send_message(QueueUrl=scoped, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="same")
    b = sqs.send_message(QueueUrl=scoped, MessageBody="x", MessageGroupId="g2", MessageDeduplicationId="same")
    assert a["MessageId"] != b["MessageId"]
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=scoped, MessageBody="x", MessageGroupId="g1", DelaySeconds=5)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_fifo_groups_in_order_one_consumer_at_a_time(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("grp") + ".fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})["QueueUrl"]
    for group, body in (("A", "a1"), ("B", "b1"), ("A", "a2"), ("B", "b2"), ("A", "a3")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    # as many messages of one group as possible, oldest group first, in order
    assert [m["Body"] for m in first] == ["a1", "a2"]
    assert first[0]["Attributes"]["MessageGroupId"] == "A" and "SequenceNumber" in first[0]["Attributes"]
    assert first[0]["Attributes"]["SequenceNumber"] < first[1]["Attributes"]["SequenceNumber"]
    b = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in b] == ["b1", "b2"]  # group A is in flight: a3 waits
    assert _bodies(sqs, url) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert _bodies(sqs, url) == []  # a2 still in flight
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"])
    assert _bodies(sqs, url, VisibilityTimeout=600) == ["a3"]
    mamori_clock.advance(31)  # b1 and b2 become visible again
    assert _bodies(sqs, url) == ["b1", "b2"]


def test_standard_queue_takes_message_groups_not_dedup_ids(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("fair"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="tenant", MessageGroupId="tenant-1")
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert got["Attributes"]["MessageGroupId"] == "tenant-1" and "SequenceNumber" not in got["Attributes"]
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_digests_attributes_and_system_attributes(mamori):
    sqs = mamori.client("sqs")  # botocore checks every MD5 it is given and fails the call on a mismatch
    url = sqs.create_queue(QueueName=_name("md5"))["QueueUrl"]
    attrs = {"s": {"DataType": "String", "StringValue": "ünïcode ✓"},
             "n": {"DataType": "Number.float", "StringValue": "-1.5e3"},
             "b": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
             "c": {"DataType": "String.custom", "StringValue": ""}}
    with pytest.raises(ClientError):  # empty string values are refused
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)
    attrs["c"]["StringValue"] = "custom"
    sent = sqs.send_message(QueueUrl=url, MessageBody="body ✓\r\n\t", MessageAttributes=attrs,
                            MessageSystemAttributes={"AWSTraceHeader": {
                                "DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5("body ✓\r\n\t".encode()).hexdigest()
    assert "MD5OfMessageSystemAttributes" in sent
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "fine", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "bad", "MessageBody": "\u0000"}])
    assert [e["Id"] for e in batch["Successful"]] == ["ok"]
    assert batch["Failed"][0]["Id"] == "bad" and batch["Failed"][0]["Code"] == "InvalidMessageContents"
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                               MessageSystemAttributeNames=["AWSTraceHeader", "SenderId"])["Messages"]
    first = next(m for m in msgs if m["MessageId"] == sent["MessageId"])
    assert first["Body"] == "body ✓\r\n\t" and first["MessageAttributes"]["b"]["BinaryValue"] == bytes(range(256))
    assert first["Attributes"]["AWSTraceHeader"].startswith("Root=1-")
    assert first["Attributes"]["SenderId"] == mamori.account_id
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert exc.value.response["Error"]["Code"] == "InvalidAttributeName"
    only = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["s"], VisibilityTimeout=0)
    assert only.get("Messages", [{}])[0].get("MessageAttributes", {}).keys() <= {"s", "k"}


def test_message_size_and_attribute_names(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("size"), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"] == {
        "MaximumMessageSize": "1024"}
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1000,
                         MessageAttributes={"pad": {"DataType": "String", "StringValue": "y" * 30}})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    default = sqs.create_queue(QueueName=_name("size"))["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=default, AttributeNames=["MaximumMessageSize"])["Attributes"][
        "MaximumMessageSize"] == "1048576"
    sqs.send_message(QueueUrl=default, MessageBody="x" * 1_000_000)
    for bad in ("AWS.reserved", ".lead", "trail.", "two..dots", "spa ce", "x" * 257):
        with pytest.raises(ClientError) as exc:
            sqs.send_message(QueueUrl=default, MessageBody="m",
                             MessageAttributes={bad: {"DataType": "String", "StringValue": "v"}})
        assert exc.value.response["Error"]["Code"] == "InvalidParameterValue", bad
    sqs.send_message(QueueUrl=default, MessageBody="m",
                     MessageAttributes={"ok.name-1_x": {"DataType": "String", "StringValue": "v"}})


def test_batch_limits(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("batch"))["QueueUrl"]
    cases = [([], "AWS.SimpleQueueService.EmptyBatchRequest"),
             ([{"Id": str(i), "MessageBody": "x"} for i in range(11)],
              "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
             ([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}],
              "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
             ([{"Id": "bad id!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
             ([{"Id": "a", "MessageBody": "x" * 600_000}, {"Id": "b", "MessageBody": "y" * 500_000}],
              "AWS.SimpleQueueService.BatchRequestTooLong")]
    for entries, code in cases:
        with pytest.raises(ClientError) as exc:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert exc.value.response["Error"]["Code"] == code


def test_visibility_errors_and_purge_limit(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("vis"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)["Messages"][0]["ReceiptHandle"]
    mamori_clock.advance(6)
    with pytest.raises(ClientError) as exc:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert exc.value.response["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    with pytest.raises(ClientError) as exc:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert exc.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    sqs.send_message(QueueUrl=url, MessageBody="long")
    long = sqs.receive_message(QueueUrl=url, VisibilityTimeout=40000)["Messages"][0]["ReceiptHandle"]
    mamori_clock.advance(10000)
    with pytest.raises(ClientError) as exc:  # 12 hours at most from the receive
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=long, VisibilityTimeout=40000)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=long, VisibilityTimeout=30000)
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.purge_queue(QueueUrl=url)
    assert exc.value.response["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    mamori_clock.advance(60)
    sqs.purge_queue(QueueUrl=url)


def test_queue_policy_decides_for_other_principals(mamori):
    sqs, iam = mamori.client("sqs"), mamori.client("iam")
    url = sqs.create_queue(QueueName=_name("pol"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    user = _name("sender")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = mamori.client("sqs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:  # no identity policy, no queue policy
        theirs.send_message(QueueUrl=url, MessageBody="knock")
    assert exc.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    user_arn = f"arn:aws:iam::{mamori.account_id}:user/{user}"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sqs:SendMessage", "Resource": arn}]})})
    assert theirs.send_message(QueueUrl=url, MessageBody="knock")["MessageId"]
    with pytest.raises(ClientError):
        theirs.receive_message(QueueUrl=url)  # only SendMessage was granted

    other = mamori.create_principal(_name("ext"), account_id="111122223333")
    outside = mamori.client("sqs", aws_access_key_id=other["AccessKeyId"],
                            aws_secret_access_key=other["SecretAccessKey"])
    sqs.add_permission(QueueUrl=url, Label="ext", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    statement = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert statement["Statement"][-1]["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    with pytest.raises(ClientError):  # cross-account: its own identity policy must allow too
        outside.send_message(QueueUrl=url, MessageBody="knock")
    with pytest.raises(ClientError) as exc:
        sqs.add_permission(QueueUrl=url, Label="ext", AWSAccountIds=["111122223333"], Actions=["ReceiveMessage"])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="ext")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    with pytest.raises(ClientError):
        theirs.send_message(QueueUrl=url, MessageBody="knock")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_tags_and_attribute_validation(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=_name("tags"), tags={"a": "1"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(49)})
    with pytest.raises(ClientError):
        sqs.tag_queue(QueueUrl=url, Tags={"one-too-many": "v"})
    sqs.untag_queue(QueueUrl=url, TagKeys=[f"k{i}" for i in range(49)])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1"}
    for attrs, code in (({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
                        ({"Nope": "1"}, "InvalidAttributeName"),
                        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
                        ({"Policy": "{not json"}, "InvalidAttributeValue"),
                        ({"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Perhaps", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]})},
                         "InvalidAttributeValue"),
                        ({"Policy": json.dumps({"Version": "2012-10-17", "Statement": [  # no Principal
                            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})}, "InvalidAttributeValue")):
        with pytest.raises(ClientError) as exc:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        assert exc.value.response["Error"]["Code"] == code, attrs
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=_name("tags"), Attributes={"FifoQueue": "true"})  # no .fifo suffix
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=url.rsplit("/", 1)[1], Attributes={"VisibilityTimeout": "1"})
    assert exc.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert sqs.create_queue(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url  # same attributes: idempotent
    page = sqs.list_queues(QueueNamePrefix="tags-", MaxResults=1)
    assert len(page["QueueUrls"]) == 1


def test_name_reusable_60_seconds_after_delete(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs = mamori.client("sqs")
    name = _name("gone")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="lost")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=name)
    assert exc.value.response["Error"]["Code"] == "AWS.SimpleQueueService.QueueDeletedRecently"
    mamori_clock.advance(60)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # nothing of the old queue survives


def test_access_by_resource_tag(mamori):
    sqs, iam = mamori.client("sqs"), mamori.client("iam")
    mine = sqs.create_queue(QueueName=_name("abac"), tags={"team": "blue"})["QueueUrl"]
    theirs = sqs.create_queue(QueueName=_name("abac"), tags={"team": "red"})["QueueUrl"]
    user = _name("blue")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}}]}))
    blue = mamori.client("sqs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert blue.send_message(QueueUrl=mine, MessageBody="ok")["MessageId"]
    with pytest.raises(ClientError):
        blue.send_message(QueueUrl=theirs, MessageBody="no")
