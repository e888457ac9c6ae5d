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
