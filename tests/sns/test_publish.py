"""Publish and PublishBatch: FIFO topics (SQS subscribers only, groups, deduplication),
message attribute validation, the 256 KiB limit, MessageStructure=json, Subject, batch
limits, KMS-encrypted topics (GenerateDataKey and Decrypt for the caller) and topic
policies enforced for IAM users."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from sns_helpers import wait_for


@pytest.fixture
def sns(mamori):
    return mamori.client("sns")


@pytest.fixture
def sqs(mamori):
    return mamori.client("sqs")


@pytest.fixture
def user(mamori):
    """A fresh IAM user; `client(service)` acts as the user, `allow(actions, resource)`
    gives it an inline policy."""
    iam = mamori.client("iam")
    name = f"sns-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        arn = f"arn:aws:iam::{mamori.account_id}:user/{name}"

        @staticmethod
        def client(service):
            return mamori.client(service, aws_access_key_id=key["AccessKeyId"],
                                 aws_secret_access_key=key["SecretAccessKey"])

        @staticmethod
        def allow(actions, resource="*", sid="p"):
            iam.put_user_policy(UserName=name, PolicyName=sid, PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))

    return User


def code(err):
    return err.value.response["Error"]["Code"]


def open_queue(sqs, name, topic):
    url = sqs.create_queue(QueueName=name, **({"Attributes": {"FifoQueue": "true"}} if name.endswith(".fifo") else {}))
    url = url["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": arn,
                                                "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    return url, arn


def test_fifo_topic_delivers_to_fifo_queues_with_groups_and_dedup(sns, sqs):
    topic = sns.create_topic(Name="orders-q.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/x")
    assert code(err) == "InvalidParameter"
    plain_url, plain_arn = open_queue(sqs, "orders-plain", topic)
    with pytest.raises(ClientError) as err:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=plain_arn)
    assert code(err) == "InvalidParameter"  # FIFO topics deliver to FIFO queues only
    url, arn = open_queue(sqs, "orders-q.fifo", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    first = sns.publish(TopicArn=topic, Message="one", MessageGroupId="customer-1", MessageDeduplicationId="d1")
    again = sns.publish(TopicArn=topic, Message="one", MessageGroupId="customer-1", MessageDeduplicationId="d1")
    assert again["MessageId"] == first["MessageId"] and first["SequenceNumber"]
    sns.publish(TopicArn=topic, Message="two", MessageGroupId="customer-1", MessageDeduplicationId="d2")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    bodies = [json.loads(m["Body"]) for m in got]
    assert [b["Message"] for b in bodies] == ["one", "two"]  # deduplicated, in order
    assert bodies[0]["SequenceNumber"] == first["SequenceNumber"]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"customer-1"}

    standard = sns.create_topic(Name="plain-q")["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.subscribe(TopicArn=standard, Protocol="sqs", Endpoint=arn)
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=standard, Message="x", MessageDeduplicationId="d")
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.create_topic(Name="orders-q.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    assert code(err) == "InvalidParameter"  # exists with other attributes


def test_message_attribute_validation(sns):
    topic = sns.create_topic(Name="attrs")["TopicArn"]
    cases = [
        {"a": {"DataType": "Float", "StringValue": "1"}},
        {"a": {"DataType": "Number", "StringValue": "one"}},
        {"AWS.reserved": {"DataType": "String", "StringValue": "x"}},
        {"bad name!": {"DataType": "String", "StringValue": "x"}},
        {"a": {"DataType": "String", "StringValue": ""}},
        {"a": {"DataType": "Binary", "StringValue": "x"}},
        {"a": {"DataType": "String.Array", "StringValue": "not an array"}},
    ]
    for attrs in cases:
        with pytest.raises(ClientError) as err:
            sns.publish(TopicArn=topic, Message="m", MessageAttributes=attrs)
        assert code(err) == "ParameterValueInvalid", attrs
    ok = {"n": {"DataType": "Number.float", "StringValue": "-1.5e3"},
          "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
          "s": {"DataType": "String.Array", "StringValue": '["a", 1]'}}
    assert sns.publish(TopicArn=topic, Message="m", MessageAttributes=ok)["MessageId"]


def test_size_subject_and_structure(sns):
    topic = sns.create_topic(Name="limits")["TopicArn"]
    # the limit counts the attributes too: 262,144 bytes in all
    attrs = {"k": {"DataType": "String", "StringValue": "v" * 10}}
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=topic, Message="x" * (262144 - 10), MessageAttributes=attrs)
    assert code(err) == "InvalidParameter"
    assert sns.publish(TopicArn=topic, Message="x" * (262144 - 20), MessageAttributes=attrs)["MessageId"]
    for subject in ("two\nlines", "x" * 101):
        with pytest.raises(ClientError) as err:
            sns.publish(TopicArn=topic, Message="m", Subject=subject)
        assert code(err) == "InvalidParameter"
    for message in ('{"email": "no default"}', "not json"):
        with pytest.raises(ClientError) as err:
            sns.publish(TopicArn=topic, Message=message, MessageStructure="json")
        assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=topic, TargetArn=topic, Message="m")
    assert code(err) == "InvalidParameter"


def test_structured_message_per_protocol_to_queue(sns, sqs):
    topic = sns.create_topic(Name="structured")["TopicArn"]
    url, arn = open_queue(sqs, "structured", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "sqs": "for queues"}),
                MessageAttributes={"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    [message] = wait_for(lambda: sqs.receive_message(QueueUrl=url).get("Messages"))
    note = json.loads(message["Body"])
    assert note["Message"] == "for queues"
    assert note["MessageAttributes"] == {"b": {"Type": "Binary", "Value": "AAE="}}
    assert note["UnsubscribeURL"].endswith("&SubscriptionArn=" + sns.list_subscriptions_by_topic(
        TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"])


def test_publish_batch_limits(sns):
    topic = sns.create_topic(Name="batch-limits")["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": "bad id!", "Message": "m"}])
    assert code(err) == "InvalidBatchEntryId"
    with pytest.raises(ClientError) as err:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": str(i), "Message": "m"} for i in range(11)])
    assert code(err) == "TooManyEntriesInBatchRequest"
    with pytest.raises(ClientError) as err:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "x" * 200000}, {"Id": "b", "Message": "x" * 100000}])
    assert code(err) == "BatchRequestTooLong"
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok", "Message": "m"},
        {"Id": "badattr", "Message": "m", "MessageAttributes": {"a": {"DataType": "Nope", "StringValue": "1"}}}])
    assert [e["Id"] for e in out["Successful"]] == ["ok"]
    assert out["Failed"] == [{"Id": "badattr", "Code": "ParameterValueInvalid", "SenderFault": True,
                              "Message": out["Failed"][0]["Message"]}]


def test_kms_topic_needs_generate_data_key_and_decrypt(mamori, sns, user):
    kms = mamori.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    topic = sns.create_topic(Name="sse-user", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    user.allow(["sns:Publish", "kms:GenerateDataKey"])
    client = user.client("sns")
    with pytest.raises(ClientError) as err:
        client.publish(TopicArn=topic, Message="secret")
    assert code(err) == "KMSAccessDenied"
    user.allow(["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"])
    assert client.publish(TopicArn=topic, Message="secret")["MessageId"]


def test_topic_policy_enforced_for_users(mamori, sns, user):
    topic = sns.create_topic(Name=f"guarded-{uuid.uuid4().hex[:6]}")["TopicArn"]
    client = user.client("sns")
    with pytest.raises(ClientError) as err:
        client.publish(TopicArn=topic, Message="m")
    assert code(err) == "AuthorizationError"
    # the topic policy alone can grant a principal of the same account
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": ["sns:Publish", "sns:Subscribe"],
             "Resource": topic},
            {"Effect": "Deny", "Principal": "*", "Action": "sns:Subscribe", "Resource": topic,
             "Condition": {"StringEquals": {"sns:Protocol": "http"}}}]}))
    assert client.publish(TopicArn=topic, Message="m")["MessageId"]
    assert client.subscribe(TopicArn=topic, Protocol="email", Endpoint="u@example.com")["SubscriptionArn"]
    with pytest.raises(ClientError) as err:
        client.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/")
    assert code(err) == "AuthorizationError"
    # an explicit deny in the topic policy wins over the user's own allow
    user.allow(["sns:*"])
    assert client.get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic
    with pytest.raises(ClientError) as err:
        client.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/")
    assert code(err) == "AuthorizationError"


def test_cloudwatch_metrics_of_a_topic(mamori, sns, sqs, mamori_clock):
    import datetime

    mamori_clock.freeze()
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, arn = open_queue(sqs, name, topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"kind": ["alert"]}))
    alert = {"kind": {"DataType": "String", "StringValue": "alert"}}
    sns.publish(TopicArn=topic, Message="12345", MessageAttributes=alert)
    sns.publish(TopicArn=topic, Message="filtered", MessageAttributes={"kind": {"DataType": "String",
                                                                               "StringValue": "info"}})
    cloudwatch = mamori.client("cloudwatch")
    now = datetime.datetime.fromtimestamp(mamori_clock.now(), datetime.UTC)

    def total(metric):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SNS", MetricName=metric, Dimensions=[{"Name": "TopicName", "Value": name}],
            StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
            Period=600, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)
    assert total("NumberOfMessagesPublished") == 2
    assert total("NumberOfNotificationsDelivered") == 1
    assert total("NumberOfNotificationsFilteredOut") == 1
    assert total("PublishSize") == len("12345") + len("kind") + len("String") + len("alert") + len("filtered") + \
        len("kind") + len("String") + len("info")


def test_queue_of_another_account_confirms_from_the_queue(mamori, sns):
    """The topic's owner subscribes another account's queue: the confirmation goes into
    the queue, and the queue's owner confirms with the token (signed, cross-account)."""
    from sns_helpers import verify

    from mamori.gateway.context import Principal

    runtime = mamori._server.config.app.runtime
    other = Principal.root("222233334444")

    def as_other(service, operation, params):
        return runtime.invoke(service, operation, params, principal=other, region=mamori.region)

    topic = sns.create_topic(Name=f"xacct-{uuid.uuid4().hex[:6]}")["TopicArn"]
    url = as_other("sqs", "CreateQueue", {"QueueName": "xacct-queue"})["QueueUrl"]
    queue = f"arn:aws:sqs:{mamori.region}:222233334444:xacct-queue"
    as_other("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue,
                                                "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})}})
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"] == "pending confirmation"
    [message] = as_other("sqs", "ReceiveMessage", {"QueueUrl": url})["Messages"]
    confirmation = json.loads(message["Body"])
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic
    verify(confirmation)
    as_other("sqs", "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})
    sns.publish(TopicArn=topic, Message="before confirmation")
    assert not as_other("sqs", "ReceiveMessage", {"QueueUrl": url}).get("Messages")
    arn = as_other("sns", "ConfirmSubscription", {"TopicArn": topic, "Token": confirmation["Token"]})["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    sns.publish(TopicArn=topic, Message="after confirmation")
    [note] = as_other("sqs", "ReceiveMessage", {"QueueUrl": url})["Messages"]
    assert json.loads(note["Body"])["Message"] == "after confirmation"


def test_fifo_archive_and_replay(mamori, sns, sqs, mamori_clock):
    import datetime

    mamori_clock.freeze()
    name = f"archived-{uuid.uuid4().hex[:6]}"
    topic = sns.create_topic(Name=name + ".fifo", Attributes={
        "FifoTopic": "true", "ArchivePolicy": json.dumps({"MessageRetentionPeriod": "7"})})["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["BeginningArchiveTime"].endswith("Z")
    live_url, live = open_queue(sqs, name + "-live.fifo", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=live)

    def iso(epoch):
        return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat().replace("+00:00", "Z")
    start = mamori_clock.now()
    for i in range(3):
        sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        mamori_clock.advance(60)
    originals = {json.loads(m["Body"])["MessageId"]: json.loads(m["Body"])
                 for m in sqs.receive_message(QueueUrl=live_url, MaxNumberOfMessages=10)["Messages"]}
    assert len(originals) == 3

    # a new subscriber replays the whole archive
    replay_url, replay = open_queue(sqs, name + "-replay.fifo", topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=replay, ReturnSubscriptionArn=True, Attributes={
        "ReplayPolicy": json.dumps({"PointType": "Timestamp", "StartingPoint": iso(start - 1)})})["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["ReplayStatus"] == "Completed"
    replayed = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=replay_url, MaxNumberOfMessages=10)["Messages"]]
    assert [r["Message"] for r in replayed] == ["m0", "m1", "m2"]
    for r in replayed:
        assert r["Replayed"] is True
        assert r["Timestamp"] == originals[r["MessageId"]]["Timestamp"]
        assert r["SequenceNumber"] == originals[r["MessageId"]]["SequenceNumber"]

    # a window: only the second message
    window_url, window = open_queue(sqs, name + "-window.fifo", topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=window, ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="ReplayPolicy", AttributeValue=json.dumps({
        "PointType": "Timestamp", "StartingPoint": iso(start + 30), "EndingPoint": iso(start + 90)}))
    [only] = sqs.receive_message(QueueUrl=window_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(only["Body"])["Message"] == "m1"

    # past the retention the archive is gone
    mamori_clock.advance("8d")
    kept = [r for r in mamori.admin("GET", "state")["resources"] if r["kind"] == "sns-archive" and topic in r["arn"]]
    assert kept == []

    standard = sns.create_topic(Name=name)["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.set_topic_attributes(TopicArn=standard, AttributeName="ArchivePolicy",
                                 AttributeValue=json.dumps({"MessageRetentionPeriod": "7"}))
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="ArchivePolicy",
                                 AttributeValue=json.dumps({"MessageRetentionPeriod": "400"}))
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="ReplayPolicy",
                                        AttributeValue=json.dumps({"PointType": "Timestamp"}))
    assert code(err) == "InvalidParameter"
