"""No secret reaches a CloudTrail record: members the model marks sensitive, and secret
outputs like access keys, are hidden before the record exists."""

from __future__ import annotations

import json
import uuid


def records_for(mamori, event_name, needle):
    ct = mamori.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}])["Events"]
    return [e["CloudTrailEvent"] for e in events if needle in e["CloudTrailEvent"]]


def test_password_is_hidden(mamori):
    iam = mamori.client("iam")
    user = f"redact-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    password = "Sup3r-Secret-" + uuid.uuid4().hex
    iam.create_login_profile(UserName=user, Password=password, PasswordResetRequired=False)
    [raw] = records_for(mamori, "CreateLoginProfile", user)
    assert password not in raw
    record = json.loads(raw)
    assert record["requestParameters"]["password"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert record["requestParameters"]["userName"] == user


def test_new_secret_access_key_is_hidden(mamori):
    iam = mamori.client("iam")
    user = f"keys-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    [raw] = records_for(mamori, "CreateAccessKey", user)
    assert key["SecretAccessKey"] not in raw
    record = json.loads(raw)
    assert record["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]
    assert record["responseElements"]["accessKey"]["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"


def test_get_session_token_record_shows_the_key_id_but_no_secret(mamori):
    creds = mamori.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    [raw] = records_for(mamori, "GetSessionToken", creds["AccessKeyId"])
    assert creds["SecretAccessKey"] not in raw and creds["SessionToken"] not in raw
    issued = json.loads(raw)["responseElements"]["credentials"]
    assert issued["accessKeyId"] == creds["AccessKeyId"]
    assert issued["secretAccessKey"] == issued["sessionToken"] == "HIDDEN_DUE_TO_SECURITY_REASONS"


def test_message_contents_are_data_events_with_hidden_bodies(mamori):
    """SQS SendMessage/ReceiveMessage and SNS Publish are data events: left out of event
    history, and their records hide the message (as CloudTrail's SendMessage record
    shows "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS")."""
    sqs, sns, ct = mamori.client("sqs"), mamori.client("sns"), mamori.client("cloudtrail")
    name = f"secret-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="card 4111-1111-1111-1111")["ResponseMetadata"]["RequestId"]
    sqs.receive_message(QueueUrl=url)
    topic = sns.create_topic(Name=name)["TopicArn"]
    published = sns.publish(TopicArn=topic, Message="password hunter2")["ResponseMetadata"]["RequestId"]
    history = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                  "AttributeValue": "sqs.amazonaws.com"}])["Events"]
    assert "CreateQueue" in {e["EventName"] for e in history}
    assert not {"SendMessage", "ReceiveMessage"} & {e["EventName"] for e in history}
    runtime = mamori._server.config.app.runtime
    runtime.telemetry.flush()
    with runtime.telemetry.lock:
        rows = runtime.telemetry.connection().execute(
            "SELECT record FROM cloudtrail_events WHERE event_name IN ('SendMessage', 'ReceiveMessage', 'Publish')"
        ).fetchall()
    records = {r["requestID"]: r for r in (json.loads(row[0]) for row in rows)}
    assert records[sent]["requestParameters"]["messageBody"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert records[sent]["managementEvent"] is False and records[sent]["eventCategory"] == "Data"
    assert records[published]["requestParameters"]["message"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    text = " ".join(row[0] for row in rows)
    assert "4111-1111" not in text and "hunter2" not in text
