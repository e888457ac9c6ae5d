"""KMS encryption at rest of log groups: the key policy must allow the Logs service
principal for the group's ARN; events are sealed with a data key from KMS; reads open
them; a disabled key or one pending deletion stops ingestion and reads; events written
before AssociateKmsKey / after DisassociateKmsKey are plain; the DuckDB file does not
hold the message of a sealed event."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from mamori.store.logs import pointer
from mamori.testing.plugin import ServerProcess


@pytest.fixture
def logs(mamori):
    return mamori.client("logs")


@pytest.fixture
def kms(mamori):
    return mamori.client("kms")


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def group_arn(mamori, name: str) -> str:
    return f"arn:aws:logs:{mamori.region}:{mamori.account_id}:log-group:{name}"


def logs_key(kms, account: str, region: str, group_arn_value: str) -> str:
    """A key whose policy lets CloudWatch Logs use it for one log group, as the AWS guide
    shows (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "logs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn_value}}},
    ]}
    return kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def put(logs, group: str, messages: list[str], stream: str = "s") -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])


def messages(logs, group: str, stream: str = "s") -> list[str]:
    return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream,
                                                        startFromHead=True)["events"]]


def test_key_policy_must_allow_logs_for_the_group(mamori, logs, kms):
    name = f"/kms/{uuid.uuid4().hex[:8]}"
    plain_key = kms.create_key()["KeyMetadata"]["Arn"]  # default policy: the account only
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=name, kmsKeyId=plain_key)
    assert code(exc) == "AccessDeniedException"
    assert exc.value.response["Error"]["Message"] == (
        f"The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn(mamori, name)}'")
    other = logs_key(kms, mamori.account_id, mamori.region, group_arn(mamori, "/some/other/group"))
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=name, kmsKeyId=other)
    assert code(exc) == "AccessDeniedException"
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    logs.create_log_group(logGroupName=name)
    with pytest.raises(ClientError) as exc:
        logs.associate_kms_key(logGroupName=name, kmsKeyId=other)
    assert code(exc) == "AccessDeniedException"
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]


def test_sealed_events_read_back_and_stop_with_the_key(mamori, logs, kms):
    name = f"/kms/{uuid.uuid4().hex[:8]}"
    key = logs_key(kms, mamori.account_id, mamori.region, group_arn(mamori, name))
    logs.create_log_group(logGroupName=name, kmsKeyId=key)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["kmsKeyId"] == key
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    put(logs, name, ["ERROR disk full", "INFO fine", "ERROR again ünïcode"])
    assert messages(logs, name) == ["ERROR disk full", "INFO fine", "ERROR again ünïcode"]
    found = logs.filter_log_events(logGroupName=name, filterPattern="ERROR")["events"]
    assert [e["message"] for e in found] == ["ERROR disk full", "ERROR again ünïcode"]
    ptr = pointer(mamori.account_id, mamori.region, name, int(found[0]["eventId"]))
    assert logs.get_log_record(logRecordPointer=ptr)["logRecord"]["@message"] == "ERROR disk full"
    stream = logs.describe_log_streams(logGroupName=name)["logStreams"][0]
    assert stream["storedBytes"] == len("ERROR disk fullINFO fineERROR again ünïcode".encode())

    # KMS saw Logs ask for the data key as the service principal.
    trail = mamori.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}], MaxResults=50)["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in trail]
    assert {"type": "AWSService", "invokedBy": f"logs.{mamori.region}.amazonaws.com"} in [
        r["userIdentity"] for r in records]

    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as exc:
        put(logs, name, ["while disabled"])
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        messages(logs, name)
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=name)
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.get_log_record(logRecordPointer=ptr)
    assert code(exc) == "InvalidParameterException"

    kms.enable_key(KeyId=key)
    put(logs, name, ["after enable"])
    assert messages(logs, name)[-1] == "after enable"

    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        put(logs, name, ["pending deletion"])
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        messages(logs, name)
    assert code(exc) == "InvalidParameterException"
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    assert len(messages(logs, name)) == 4

    # A key policy that stops allowing Logs: AccessDeniedException for writes and reads.
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{mamori.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"}]}))
    with pytest.raises(ClientError) as exc:
        put(logs, name, ["policy changed"])
    assert code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        messages(logs, name)
    assert code(exc) == "AccessDeniedException"


def test_associate_and_disassociate_keep_each_events_key(mamori, logs, kms):
    name = f"/kms/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    put(logs, name, ["plain before"])
    key = logs_key(kms, mamori.account_id, mamori.region, group_arn(mamori, name))
    logs.associate_kms_key(logGroupName=name, kmsKeyId=key)
    put(logs, name, ["sealed while associated"])
    logs.disassociate_kms_key(logGroupName=name)
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    put(logs, name, ["plain after"])
    assert messages(logs, name) == ["plain before", "sealed while associated", "plain after"]
    query = logs.filter_log_events(logGroupName=name, filterPattern='"sealed while"')["events"]
    assert [e["message"] for e in query] == ["sealed while associated"]

    # The sealed event still needs the key after the disassociation; the plain ones don't.
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as exc:
        messages(logs, name)
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:  # searching the group means opening the sealed event
        logs.filter_log_events(logGroupName=name, filterPattern='"plain"')
    assert code(exc) == "InvalidParameterException"
    kms.enable_key(KeyId=key)
    assert messages(logs, name)[1] == "sealed while associated"


@pytest.mark.slow
def test_sealed_messages_are_not_in_the_database_file(tmp_path):
    import duckdb

    server = ServerProcess.start(tmp_path)
    try:
        logs, kms = server.client("logs"), server.client("kms")
        arn = f"arn:aws:logs:{server.region}:{server.account_id}:log-group:secret"
        key = logs_key(kms, server.account_id, server.region, arn)
        logs.create_log_group(logGroupName="secret", kmsKeyId=key)
        logs.create_log_group(logGroupName="open")
        for group in ("secret", "open"):
            logs.create_log_stream(logGroupName=group, logStreamName="s")
            put(logs, group, [f"marker-{group}-{i}" for i in range(100)])
        assert messages(logs, "secret")[:2] == ["marker-secret-0", "marker-secret-1"]
    finally:
        server.stop()
    db = duckdb.connect(str(tmp_path / "telemetry.duckdb"), read_only=True)
    try:
        stored = [m for (m,) in db.execute("SELECT message FROM log_events").fetchall()]
        blobs = b"".join(bytes(b) for (b,) in db.execute("SELECT sealed FROM log_events_sealed").fetchall())
    finally:
        db.close()
    assert sum(m.startswith("marker-open-") for m in stored) == 100
    assert not any("secret" in m for m in stored)
    assert len(blobs) > 100 * len("marker-secret-00") and b"marker-secret" not in blobs


def test_logs_insights_reads_sealed_events(mamori, logs, kms):
    name = f"/kms/{uuid.uuid4().hex[:8]}"
    key = logs_key(kms, mamori.account_id, mamori.region, group_arn(mamori, name))
    logs.create_log_group(logGroupName=name, kmsKeyId=key)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    put(logs, name, ["ERROR one", "INFO two", "ERROR three"])
    now = int(time.time())
    query_id = logs.start_query(logGroupName=name, startTime=now - 600, endTime=now + 600,
                                queryString="filter @message like /ERROR/ | fields @message | sort @timestamp asc")["queryId"]
    deadline = time.monotonic() + 10
    while True:
        out = logs.get_query_results(queryId=query_id)
        if out["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert out["status"] == "Complete"
    rows = [{f["field"]: f["value"] for f in row} for row in out["results"]]
    assert [r["@message"] for r in rows] == ["ERROR one", "ERROR three"]


def test_retention_deletes_sealed_events(mamori, logs, kms, mamori_clock):
    mamori_clock.freeze()
    name = f"/kms/{uuid.uuid4().hex[:8]}"
    key = logs_key(kms, mamori.account_id, mamori.region, group_arn(mamori, name))
    logs.create_log_group(logGroupName=name, kmsKeyId=key)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = int(mamori_clock.now() * 1000)
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[
        {"timestamp": now - 3600_000, "message": "older"}, {"timestamp": now, "message": "newer"}])
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    mamori_clock.advance(86400 - 1800)
    assert messages(logs, name) == ["newer"]
    assert logs.describe_log_streams(logGroupName=name)["logStreams"][0]["storedBytes"] == len("newer")
    mamori_clock.advance(7200)
    assert messages(logs, name) == []
