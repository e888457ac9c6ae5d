"""Log groups, streams, PutLogEvents validation, GetLogEvents paging, retention by the
clock, tags, deletion protection, policies, export tasks, GetLogRecord."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from mamori.store.logs import pointer


@pytest.fixture
def logs(mamori):
    return mamori.client("logs")


@pytest.fixture
def group(logs):
    name = f"/test/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s1")
    yield name
    try:
        logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
        logs.delete_log_group(logGroupName=name)
    except ClientError:
        pass


def now_ms(clock) -> int:
    return int(clock.now() * 1000)


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def test_group_lifecycle(logs):
    name = f"/life/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, tags={"team": "a"}, logGroupClass="INFREQUENT_ACCESS")
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=name)
    assert code(exc) == "ResourceAlreadyExistsException"
    found = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in found] == [name]
    assert found[0]["logGroupClass"] == "INFREQUENT_ACCESS"
    assert found[0]["arn"].endswith(f"log-group:{name}:*")
    listed = logs.list_log_groups(logGroupNamePattern=name.split("/")[-1])["logGroups"]
    assert [g["logGroupName"] for g in listed] == [name]
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "a"}
    logs.tag_log_group(logGroupName=name, tags={"env": "dev"})
    logs.untag_log_group(logGroupName=name, tags=["team"])
    arn = found[0]["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"x": "1"})
    logs.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"x": "1"}
    # A key that does not exist is refused (working keys: test_logs_kms.py).
    key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(ClientError) as exc:
        logs.associate_kms_key(logGroupName=name, kmsKeyId=key)
    assert code(exc) == "InvalidParameterException"
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=True)
    with pytest.raises(ClientError) as exc:
        logs.delete_log_group(logGroupName=name)
    assert code(exc) == "ValidationException"
    assert "deletion protection" in str(exc.value)
    # "deletion protection blocks all deletion operations" (PutLogGroupDeletionProtection): streams too.
    logs.create_log_stream(logGroupName=name, logStreamName="kept")
    with pytest.raises(ClientError) as exc:
        logs.delete_log_stream(logGroupName=name, logStreamName="kept")
    assert code(exc) == "ValidationException"
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=name)["logStreams"]] == ["kept"]
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)
    with pytest.raises(ClientError) as exc:
        logs.delete_log_group(logGroupName=name)
    assert code(exc) == "ResourceNotFoundException"


def test_delivery_class_keeps_events_one_day(logs):
    name = f"/delivery/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, logGroupClass="DELIVERY")
    try:
        found = logs.describe_log_groups(logGroupNamePrefix=name, logGroupClass="DELIVERY")["logGroups"]
        assert [(g["logGroupClass"], g["retentionInDays"]) for g in found] == [("DELIVERY", 1)]
        with pytest.raises(ClientError) as exc:
            logs.put_retention_policy(logGroupName=name, retentionInDays=7)
        assert code(exc) == "InvalidParameterException"
        assert logs.describe_log_groups(logGroupNamePrefix=name, logGroupClass="STANDARD")["logGroups"] == []
    finally:
        logs.delete_log_group(logGroupName=name)


def test_bad_names_and_retention_values(logs, group):
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="bad name!")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName=group, logStreamName="s1")
    assert code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName="/nope/" + uuid.uuid4().hex, logStreamName="s")
    assert code(exc) == "ResourceNotFoundException"


def test_put_log_events_validation(logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="s1",
                            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}])
    assert code(exc) == "InvalidParameterException"
    assert "chronological order" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="s1",
                            logEvents=[{"timestamp": now - 25 * 3600_000, "message": "a"},
                                       {"timestamp": now, "message": "b"}])
    assert code(exc) == "InvalidParameterException"
    assert "24 hours" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="s1",
                            logEvents=[{"timestamp": now, "message": "x" * 200_000}] * 6)
    assert code(exc) == "InvalidParameterException"
    assert "1048576" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="s1",
                            logEvents=[{"timestamp": now, "message": "x"}] * 10001)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": now, "message": "x"}])
    assert code(exc) == "ResourceNotFoundException"
    assert exc.value.response["Error"]["Message"] == "The specified log stream does not exist."
    # Too old, too new and expired events are reported, the rest are stored.
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", sequenceToken="anything", logEvents=[
        {"timestamp": now - 15 * 86400_000, "message": "old"},
        {"timestamp": now - 15 * 86400_000 + 1, "message": "old2"},
        {"timestamp": now - 14 * 86400_000 + 60_000, "message": "ok1"},
        {"timestamp": now - 14 * 86400_000 + 60_001, "message": "ok2"},
    ])
    # The end indexes are exclusive: AWS answers {"tooOldLogEventEndIndex": 1} for one
    # too-old event (https://github.com/aws/aws-for-fluent-bit/issues/523).
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now, "message": "ok3"}, {"timestamp": now + 3 * 3600_000, "message": "new"}])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    got = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["ok1", "ok2", "ok3"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now - 2 * 86400_000, "message": "expired"}, {"timestamp": now, "message": "ok4"}])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    # All three kinds in one batch: past the 30-day retention, past 14 days, past 2 hours ahead.
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now - 31 * 86400_000, "message": "expired"},
        {"timestamp": now - 20 * 86400_000, "message": "old"},
        {"timestamp": now - 3600_000, "message": "ok5"},
        {"timestamp": now + 2 * 3600_000, "message": "ok6"},
        {"timestamp": now + 2 * 3600_000 + 1, "message": "new"}])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1, "tooOldLogEventEndIndex": 2,
                                            "tooNewLogEventStartIndex": 4}
    assert out["nextSequenceToken"]
    got = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)["events"]
    # by timestamp; ok1 and ok2 went with the 1-day retention
    assert [e["message"] for e in got] == ["ok5", "ok3", "ok4", "ok6"]
    # Nothing accepted: still an answer with the rejections, nothing stored.
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now + 3 * 3600_000, "message": "new"}])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 0}


def test_get_log_events_paging(logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now - 1000 + i, "message": f"m{i}"} for i in range(25)])
    # Without startFromHead: the newest events.
    last = logs.get_log_events(logGroupName=group, logStreamName="s1", limit=10)
    assert [e["message"] for e in last["events"]] == [f"m{i}" for i in range(15, 25)]
    back = logs.get_log_events(logGroupName=group, logStreamName="s1", limit=10, nextToken=last["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == [f"m{i}" for i in range(5, 15)]
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName="s1", limit=7, **kw)
        if not page["events"]:
            assert page["nextForwardToken"] == token  # the end: the same token comes back
            break
        seen += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert seen == [f"m{i}" for i in range(25)]
    window = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True,
                                 startTime=now - 990, endTime=now - 985)["events"]
    assert [e["message"] for e in window] == [f"m{i}" for i in range(10, 15)]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert streams[0]["logStreamName"] == "s1"
    assert streams[0]["lastEventTimestamp"] == now - 1000 + 24
    # FilterLogEvents pages with nextToken and interleaves streams by time.
    logs.create_log_stream(logGroupName=group, logStreamName="s2")
    logs.put_log_events(logGroupName=group, logStreamName="s2", logEvents=[{"timestamp": now - 500, "message": "m-s2"}])
    seen, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, limit=4, **({"nextToken": token} if token else {}))
        seen += [e["message"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"m{i}" for i in range(25)] + ["m-s2"]
    only = logs.filter_log_events(logGroupName=group, logStreamNames=["s2"])["events"]
    assert [(e["logStreamName"], e["message"]) for e in only] == [("s2", "m-s2")]
    logs.delete_log_stream(logGroupName=group, logStreamName="s2")
    assert logs.filter_log_events(logGroupName=group, filterPattern="m-s2")["events"] == []


def test_retention_deletes_by_clock(logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now - 3600_000, "message": "older"},
                                   {"timestamp": now, "message": "newer"}])
    logs.put_retention_policy(logGroupName=group, retentionInDays=3)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 3
    mamori_clock.advance(3 * 86400 - 1800)  # "older" is now past 3 days, "newer" is not
    msgs = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s1",
                                                       startFromHead=True)["events"]]
    assert msgs == ["newer"]
    mamori_clock.advance(7200)
    assert logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)["events"] == []
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_get_log_record_and_masking(mamori, logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now, "message": "user bob@example.com from 10.1.2.3"}])
    policy = {"Name": "p", "Version": "2021-06-01", "Statement": [
        {"Sid": "audit", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Audit": {"FindingsDestination": {}}}},
        {"Sid": "redact", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Deidentify": {"MaskConfig": {}}}}]}
    with pytest.raises(ClientError) as exc:
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument="{}")
    assert code(exc) == "InvalidParameterException"
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps(policy))
    assert json.loads(logs.get_data_protection_policy(logGroupIdentifier=group)["policyDocument"]) == policy
    masked = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)["events"][0]["message"]
    assert masked == "user " + "*" * len("bob@example.com") + " from 10.1.2.3"
    clear = logs.filter_log_events(logGroupName=group, unmask=True)["events"][0]
    assert clear["message"] == "user bob@example.com from 10.1.2.3"
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["dataProtectionStatus"] == "ACTIVATED"
    ptr = pointer("000000000000", "us-east-1", group, int(clear["eventId"]))
    record = logs.get_log_record(logRecordPointer=ptr)["logRecord"]
    assert record["@message"].startswith("user ***")
    assert record["@logStream"] == "s1"
    assert logs.get_log_record(logRecordPointer=ptr, unmask=True)["logRecord"]["@message"] == clear["message"]
    with pytest.raises(ClientError) as exc:
        logs.get_log_record(logRecordPointer="garbage")
    assert code(exc) == "InvalidParameterException"
    logs.delete_data_protection_policy(logGroupIdentifier=group)
    assert "policyDocument" not in logs.get_data_protection_policy(logGroupIdentifier=group)


def test_unmask_needs_permission(mamori, logs, group, mamori_clock):
    policy = {"Name": "p", "Version": "2021-06-01", "Statement": [
        {"Sid": "a", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Audit": {"FindingsDestination": {}}}},
        {"Sid": "b", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Deidentify": {"MaskConfig": {}}}}]}
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps(policy))
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now_ms(mamori_clock), "message": "a@b.io"}])
    iam = mamori.client("iam")
    user = f"reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:GetLogEvents",
                                                                              "logs:FilterLogEvents"],
                                               "Resource": "*"}]}))
    reader = mamori.client("logs", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"])
    got = reader.filter_log_events(logGroupName=group)["events"][0]["message"]
    assert got == "******"
    with pytest.raises(ClientError) as exc:
        reader.filter_log_events(logGroupName=group, unmask=True)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_resource_policies_and_export_tasks(logs, group):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "route53.amazonaws.com"}, "Action": "logs:PutLogEvents", "Resource": "*"}]})
    name = f"p-{uuid.uuid4().hex[:6]}"
    out = logs.put_resource_policy(policyName=name, policyDocument=doc)["resourcePolicy"]
    assert out["policyName"] == name
    assert name in [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]]
    with pytest.raises(ClientError) as exc:
        logs.put_resource_policy(policyName=name + "x", policyDocument="not json")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    logs.delete_resource_policy(policyName=name)
    with pytest.raises(ClientError) as exc:
        logs.delete_resource_policy(policyName=name)
    assert code(exc) == "ResourceNotFoundException"
    for t in logs.describe_export_tasks(statusCode="PENDING")["exportTasks"]:
        logs.cancel_export_task(taskId=t["taskId"])
    task = logs.create_export_task(logGroupName=group, fromTime=0, to=10**12, destination="bucket")["taskId"]
    with pytest.raises(ClientError) as exc:
        logs.create_export_task(logGroupName=group, fromTime=0, to=10**12, destination="bucket")
    assert code(exc) == "LimitExceededException"
    listed = logs.describe_export_tasks(taskId=task)["exportTasks"]
    assert listed[0]["status"]["code"] == "PENDING" and listed[0]["logGroupName"] == group
    logs.cancel_export_task(taskId=task)
    assert logs.describe_export_tasks(taskId=task)["exportTasks"][0]["status"]["code"] == "CANCELLED"
    with pytest.raises(ClientError) as exc:
        logs.cancel_export_task(taskId=task)
    assert code(exc) == "InvalidOperationException"


def test_subscription_and_metric_filters(logs, group):
    dest = "arn:aws:lambda:us-east-1:000000000000:function:f"
    logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="ERROR", destinationArn=dest)
    logs.put_subscription_filter(logGroupName=group, filterName="b", filterPattern="", destinationArn=dest)
    with pytest.raises(ClientError) as exc:
        logs.put_subscription_filter(logGroupName=group, filterName="c", filterPattern="", destinationArn=dest)
    assert code(exc) == "LimitExceededException"
    with pytest.raises(ClientError) as exc:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="",
                                     destinationArn="arn:aws:sqs:us-east-1:000000000000:q")
    assert code(exc) == "InvalidParameterException"
    subs = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [s["filterName"] for s in subs] == ["a", "b"]
    logs.delete_subscription_filter(logGroupName=group, filterName="a")
    logs.put_metric_filter(logGroupName=group, filterName="lat", filterPattern="{ $.latency > 0 }",
                           metricTransformations=[{"metricName": "Latency", "metricNamespace": "App",
                                                   "metricValue": "$.latency"}])
    with pytest.raises(ClientError) as exc:
        logs.put_metric_filter(logGroupName=group, filterName="bad", filterPattern="{ $.a = ",
                               metricTransformations=[{"metricName": "M", "metricNamespace": "App",
                                                       "metricValue": "1"}])
    assert code(exc) == "InvalidParameterException"
    found = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in found] == ["lat"]
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 1
    logs.delete_metric_filter(logGroupName=group, filterName="lat")
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []


def test_log_group_fields_and_bearer_tokens(logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": now - 2000, "message": json.dumps({"user": {"id": 1}, "tags": ["a"]})},
        {"timestamp": now - 1000, "message": json.dumps({"user": {"id": 2}, "level": "INFO"})},
        {"timestamp": now - 500, "message": "plain"},
        {"timestamp": now - 400, "message": "plain again"}])
    fields = {f["name"]: f["percent"] for f in logs.get_log_group_fields(logGroupName=group)["logGroupFields"]}
    assert fields == {"@timestamp": 100, "@message": 100, "user.id": 50, "tags.0": 25, "level": 25}
    logs.put_bearer_token_authentication(logGroupIdentifier=group, bearerTokenAuthenticationEnabled=True)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["bearerTokenAuthenticationEnabled"]


def test_get_log_events_stops_at_one_megabyte(logs, group, mamori_clock):
    mamori_clock.freeze()
    now = now_ms(mamori_clock)
    big = "x" * 300_000
    for i in range(5):
        logs.put_log_events(logGroupName=group, logStreamName="s1",
                            logEvents=[{"timestamp": now - 100 + i, "message": f"{i}{big}"}])
    head = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)
    assert [e["message"][0] for e in head["events"]] == ["0", "1", "2"]
    rest = logs.get_log_events(logGroupName=group, logStreamName="s1", nextToken=head["nextForwardToken"])
    assert [e["message"][0] for e in rest["events"]] == ["3", "4"]
    tail = logs.get_log_events(logGroupName=group, logStreamName="s1")
    assert [e["message"][0] for e in tail["events"]] == ["2", "3", "4"]


@pytest.mark.parametrize("call", [
    lambda logs, g: logs.describe_log_streams(logGroupName=g, nextToken="bm90IGpzb24"),
    lambda logs, g: logs.describe_metric_filters(logGroupName=g, nextToken="eyJvZmZzZXQiOiJ4In0="),
    lambda logs, g: logs.filter_log_events(logGroupName=g, nextToken="e30="),
    lambda logs, g: logs.get_log_events(logGroupName=g, logStreamName="s1", nextToken="x/1/2"),
    lambda logs, g: logs.describe_log_groups(nextToken="eyJhZnRlciI6IDV9"),
])
def test_bad_tokens_are_refused(logs, group, call):
    if "describe_log_groups" in call.__code__.co_names:
        call(logs, group)  # an unreadable position just starts from the first group
        return
    with pytest.raises(ClientError) as exc:
        call(logs, group)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


def test_many_ellipses_do_not_hang(logs):
    message = " ".join(f"f{i}" for i in range(400))
    got = logs.test_metric_filter(filterPattern="[..., a = nope, ..., b = nope2, ..., c]", logEventMessages=[message])
    assert got["matches"] == []


def test_events_from_before_the_data_protection_policy_stay_clear(logs, group, mamori_clock):
    """AWS masks events as they are ingested: a policy does not reach back."""
    mamori_clock.freeze()
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now_ms(mamori_clock), "message": "before carol@example.com"}])
    mamori_clock.advance(60)
    policy = {"Name": "p", "Version": "2021-06-01", "Statement": [
        {"Sid": "a", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Audit": {"FindingsDestination": {}}}},
        {"Sid": "b", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
         "Operation": {"Deidentify": {"MaskConfig": {}}}}]}
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps(policy))
    mamori_clock.advance(60)
    logs.put_log_events(logGroupName=group, logStreamName="s1",
                        logEvents=[{"timestamp": now_ms(mamori_clock), "message": "after dave@example.com"}])
    expected = ["before carol@example.com", "after " + "*" * len("dave@example.com")]
    got = logs.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True)["events"]
    assert [e["message"] for e in got] == expected
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == expected
