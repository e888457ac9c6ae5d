"""Encryption at rest: SSE-SQS by default, SSE-KMS with a customer key. With SSE-KMS,
SendMessage needs kms:GenerateDataKey and ReceiveMessage kms:Decrypt for the caller
(through sqs.amazonaws.com), data keys are reused for KmsDataKeyReusePeriodSeconds, and a
disabled key fails with SQS's KMS.* errors. Stored bodies never hold the plaintext."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def _user(mamori, actions: list[str], resource: str = "*"):
    iam = mamori.client("iam")
    name = f"sqs-kms-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:*"], "Resource": "*"},
        *([{"Effect": "Allow", "Action": actions, "Resource": resource}] if actions else [])]}))
    return mamori.client("sqs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def _stored_blobs(mamori, queue_arn: str) -> list[bytes]:
    server = getattr(mamori, "_server", None)
    if server is None:
        pytest.skip("needs the in-process test server to look at the queue store")
    qstore = server.config.app.runtime.providers["sqs"].qstore
    return [m.blob for m in qstore.oldest(queue_arn, 100)]


def test_sse_sqs_by_default_and_kms_queue_roundtrip(mamori):
    sqs, kms = mamori.client("sqs"), mamori.client("kms")
    plain = sqs.create_queue(QueueName=f"sse-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]
    assert attrs["SqsManagedSseEnabled"] == "true" and "KmsMasterKeyId" not in attrs
    sqs.send_message(QueueUrl=plain, MessageBody="top secret sqs")
    assert all(b"top secret" not in blob for blob in _stored_blobs(mamori, attrs["QueueArn"]))

    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = sqs.create_queue(QueueName=f"kms-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == key_id and attrs["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attrs["SqsManagedSseEnabled"] == "false"
    sqs.send_message(QueueUrl=url, MessageBody="top secret kms",
                     MessageAttributes={"a": {"DataType": "String", "StringValue": "attr secret"}})
    blobs = _stored_blobs(mamori, attrs["QueueArn"])
    assert blobs and all(b"top secret" not in b and b"attr secret" not in b for b in blobs)
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert got["Body"] == "top secret kms" and got["MessageAttributes"]["a"]["StringValue"] == "attr secret"

    # back to SSE-SQS; the reuse period only exists with a KMS key
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attrs and "KmsDataKeyReusePeriodSeconds" not in attrs
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsDataKeyReusePeriodSeconds": "59"})
    assert exc.value.response["Error"]["Code"] == "InvalidAttributeValue"


def test_kms_permissions_of_producer_and_consumer(mamori):
    sqs, kms = mamori.client("sqs"), mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = sqs.create_queue(QueueName=f"kmsp-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
    nothing = _user(mamori, [])
    with pytest.raises(ClientError) as exc:
        nothing.send_message(QueueUrl=url, MessageBody="x")
    assert exc.value.response["Error"]["Code"] == "KMS.AccessDeniedException"
    assert "kms:GenerateDataKey" in exc.value.response["Error"]["Message"]

    producer = _user(mamori, ["kms:GenerateDataKey"])
    producer.send_message(QueueUrl=url, MessageBody="for consumers only")
    with pytest.raises(ClientError) as exc:
        producer.receive_message(QueueUrl=url)
    assert exc.value.response["Error"]["Code"] == "KMS.AccessDeniedException"
    assert "kms:Decrypt" in exc.value.response["Error"]["Message"]

    consumer = _user(mamori, ["kms:Decrypt"])
    assert consumer.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "for consumers only"


def test_disabled_key_after_the_reuse_period(mamori, mamori_clock):
    mamori_clock.freeze()
    sqs, kms = mamori.client("sqs"), mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = sqs.create_queue(QueueName=f"kmsd-{uuid.uuid4().hex[:8]}", Attributes={
        "KmsMasterKeyId": key_id, "KmsDataKeyReusePeriodSeconds": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="before")
    kms.disable_key(KeyId=key_id)
    sqs.send_message(QueueUrl=url, MessageBody="cached data key")  # within the reuse period
    mamori_clock.advance(61)
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="after")
    assert exc.value.response["Error"]["Code"] == "KMS.DisabledException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=url)
    assert exc.value.response["Error"]["Code"] == "KMS.DisabledException"
    kms.enable_key(KeyId=key_id)
    bodies = {m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]}
    assert bodies == {"before", "cached data key"}


def test_unknown_key(mamori):
    sqs = mamori.client("sqs")
    url = sqs.create_queue(QueueName=f"kmsn-{uuid.uuid4().hex[:8]}",
                           Attributes={"KmsMasterKeyId": str(uuid.uuid4())})["QueueUrl"]
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert exc.value.response["Error"]["Code"] == "KMS.NotFoundException"


def test_key_usable_only_through_sqs(mamori):
    """kms:ViaService: the caller may use the key through SQS and not directly (the
    pattern of AWS's managed key for SQS)."""
    sqs, kms, iam = mamori.client("sqs"), mamori.client("kms"), mamori.client("iam")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name = f"via-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    creds = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{mamori.region}.amazonaws.com"}}}]}))
    as_user = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"]}
    with pytest.raises(ClientError):
        mamori.client("kms", **as_user).generate_data_key(KeyId=key_id, KeySpec="AES_256")
    url = sqs.create_queue(QueueName=f"kmsv-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
    user_sqs = mamori.client("sqs", **as_user)
    user_sqs.send_message(QueueUrl=url, MessageBody="through sqs")
    assert user_sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "through sqs"


def test_sns_delivers_to_a_kms_queue_only_when_the_key_policy_allows_sns(mamori):
    """AWS's well-known gotcha: SNS (as sns.amazonaws.com) needs kms:GenerateDataKey and
    kms:Decrypt on the queue's key, granted by the key policy."""
    sqs, sns, kms = mamori.client("sqs"), mamori.client("sns"), mamori.client("kms")
    account = mamori.account_id
    admin = {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"}
    allow_sns = {"Sid": "sns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                 "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
    topic = sns.create_topic(Name=f"kms-t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    urls = {}
    for label, statements in (("open", [admin, allow_sns]), ("closed", [admin])):
        key_id = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))[
            "KeyMetadata"]["KeyId"]
        url = sqs.create_queue(QueueName=f"kms-{label}-{uuid.uuid4().hex[:8]}",
                               Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
             "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        urls[label] = url
    sns.publish(TopicArn=topic, Message="sealed news")
    assert sqs.receive_message(QueueUrl=urls["open"])["Messages"][0]["Body"] == "sealed news"
    assert "Messages" not in sqs.receive_message(QueueUrl=urls["closed"])
