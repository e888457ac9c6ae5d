"""Real client libraries and records: the AWS Encryption SDK through mamori's KMS (with
an encryption context, across a rotation), and CloudTrail records that never show
plaintexts, data keys or private keys."""

from __future__ import annotations

import base64
import json

import botocore.session


def test_encryption_sdk_round_trip_across_rotation(mamori, monkeypatch):
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", mamori.endpoint_url)
    session = botocore.session.Session()
    session.set_credentials(mamori.access_key_id, mamori.secret_access_key)
    kms = mamori.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[arn], botocore_session=session)
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    context = {"purpose": "acceptance", "tenant": "t1"}
    message, _ = client.encrypt(source=b"through the SDK" * 10, key_provider=provider, encryption_context=context)
    kms.rotate_key_on_demand(KeyId=arn)
    plaintext, header = client.decrypt(source=message, key_provider=provider)
    assert plaintext == b"through the SDK" * 10
    assert all(header.encryption_context[k] == v for k, v in context.items())
    after, _ = client.encrypt(source=b"after rotation", key_provider=provider, encryption_context=context)
    assert client.decrypt(source=after, key_provider=provider)[0] == b"after rotation"


def test_cloudtrail_records_hide_secrets(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    secret = b"the-plaintext-nobody-may-see"
    ct = kms.encrypt(KeyId=key_id, Plaintext=secret)["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=ct)
    events = mamori.client("cloudtrail").lookup_events(MaxResults=50)["Events"]
    text = json.dumps([e["CloudTrailEvent"] for e in events])
    assert "GenerateDataKey" in text and "Decrypt" in text
    for value in (dk["Plaintext"], pair["PrivateKeyPlaintext"], secret):
        assert base64.b64encode(value).decode() not in text
    assert secret.decode() not in text
