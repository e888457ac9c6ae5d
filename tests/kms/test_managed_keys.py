"""AWS managed keys: `alias/aws/<service>` names a key KMS creates on first use by its
service (or when the alias is described); every principal of the account may use it
through that service, nobody may use or manage it directly."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def code(call, **kw):
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"]


def test_describing_a_predefined_alias_creates_the_managed_key(mamori):
    kms = mamori.client("kms", region_name="eu-central-1")
    meta = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS" and meta["KeyState"] == "Enabled" and meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"] == meta["KeyId"]
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/aws/secretsmanager"] == meta["KeyId"]
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    # Nobody uses or manages it directly: its policy serves only calls through the service.
    assert code(kms.encrypt, KeyId=meta["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert code(kms.disable_key, KeyId=meta["KeyId"]) == "AccessDeniedException"
    assert code(kms.schedule_key_deletion, KeyId=meta["KeyId"]) == "AccessDeniedException"


def test_other_calls_do_not_create_it_and_unknown_aws_aliases_stay_missing(mamori):
    kms = mamori.client("kms", region_name="ap-south-1")
    assert code(kms.encrypt, KeyId="alias/aws/sns", Plaintext=b"x") == "NotFoundException"
    assert code(kms.describe_key, KeyId="alias/aws/not-a-service") == "NotFoundException"
    assert "alias/aws/sns" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}


def test_sqs_queue_encrypted_with_the_sqs_managed_key(mamori):
    sqs = mamori.client("sqs", region_name="eu-west-3")
    url = sqs.create_queue(QueueName=f"managed-{uuid.uuid4().hex[:8]}",
                           Attributes={"KmsMasterKeyId": "alias/aws/sqs"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="sealed with the AWS managed key")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "sealed with the AWS managed key"
    kms = mamori.client("kms", region_name="eu-west-3")
    meta = kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
