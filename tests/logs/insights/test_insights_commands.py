"""Insights commands that depend on the account around the query (SOURCE, filterIndex
with an index policy, unmask with a data protection policy and logs:Unmask, diff over two
windows) and the limits: pages of GetQueryResults, results kept 7 days, the time range,
Infrequent Access log groups, the concurrency quota."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.logs.insights.conftest import run_query

MASK_POLICY = {"Name": "p", "Version": "2021-06-01", "Statement": [
    {"Sid": "a", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
     "Operation": {"Audit": {"FindingsDestination": {}}}},
    {"Sid": "b", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],
     "Operation": {"Deidentify": {"MaskConfig": {}}}}]}


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def now_ms(mamori) -> int:
    return int(mamori.admin("GET", "clock")["epoch"] * 1000)


def make_group(logs, name: str, messages: list[str], at: int, **kw) -> None:
    logs.create_log_group(logGroupName=name, **kw)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    logs.put_log_events(logGroupName=name, logStreamName="s",
                        logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(messages)])


def query(logs, query_string, start, end, **kw):
    qid = logs.start_query(startTime=start, endTime=end, queryString=query_string, **kw)["queryId"]
    deadline = time.monotonic() + 30
    while True:
        out = logs.get_query_results(queryId=qid)
        if out["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            assert out["status"] == "Complete", out
            return qid, [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in out["results"]]
        time.sleep(0.02)


def test_source_selects_groups_by_prefix_and_class(mamori):
    logs = mamori.client("logs")
    tag = uuid.uuid4().hex[:6]
    at = now_ms(mamori) - 60_000
    make_group(logs, f"/src-{tag}/a", ["a1", "a2"], at)
    make_group(logs, f"/src-{tag}/b", ["b1"], at)
    make_group(logs, f"/src-{tag}/ia", ["ia1", "ia2", "ia3"], at, logGroupClass="INFREQUENT_ACCESS")
    make_group(logs, f"/other-{tag}", ["o1"], at)
    start, end = at // 1000 - 5, at // 1000 + 60
    qid, rows = query(logs, f"SOURCE logGroups(namePrefix: ['/src-{tag}/']) | stats count(*) as n by @log",
                      start, end)
    assert sorted((r["@log"], r["n"]) for r in rows) == [
        (f"000000000000:/src-{tag}/a", "2"), (f"000000000000:/src-{tag}/b", "1")]
    assert logs.list_log_groups_for_query(queryId=qid)["logGroupIdentifiers"] == [
        f"arn:aws:logs:us-east-1:000000000000:log-group:/src-{tag}/a",
        f"arn:aws:logs:us-east-1:000000000000:log-group:/src-{tag}/b"]
    with pytest.raises(ClientError) as exc:
        logs.list_log_groups_for_query(queryId="00000000-0000-0000-0000-000000000000")
    assert code(exc) == "ResourceNotFoundException"
    _, rows = query(logs, f"SOURCE logGroups(namePrefix: ['/src-{tag}/', '/other-{tag}'], class: ['INFREQUENT_ACCESS']) "
                    "| stats count(*) as n", start, end)
    assert rows == [{"n": "3"}]
    _, rows = query(logs, f"SOURCE logGroups(namePrefix: ['/src-{tag}/a'], accountIdentifier: ['000000000000']) "
                    "| display @message", start, end)
    assert rows == [{"@message": "a2"}, {"@message": "a1"}]
    _, rows = query(logs, f"SOURCE logGroups(namePrefix: ['/src-{tag}/a'], accountIdentifier: ['111122223333']) "
                    "| display @message", start, end)
    assert rows == []
    with pytest.raises(ClientError) as exc:  # SOURCE or named groups, not both
        logs.start_query(logGroupName=f"/other-{tag}", startTime=start, endTime=end,
                         queryString=f"SOURCE logGroups(namePrefix: ['/src-{tag}/']) | stats count(*)")
    assert code(exc) == "InvalidParameterException"


def test_infrequent_access_refuses_pattern_diff_unmask_filter_index(mamori):
    logs = mamori.client("logs")
    name = f"/ia-{uuid.uuid4().hex[:6]}"
    at = now_ms(mamori) - 60_000
    make_group(logs, name, ["x 1", "x 2"], at, logGroupClass="INFREQUENT_ACCESS")
    for q, word in [("pattern @message", "pattern"), ("diff", "diff"), ("unmask @message", "unmask"),
                    ("filterIndex @logStream = 's'", "filterIndex")]:
        with pytest.raises(ClientError) as exc:
            logs.start_query(logGroupName=name, startTime=at // 1000 - 5, endTime=at // 1000 + 60, queryString=q)
        assert code(exc) == "MalformedQueryException"
        assert f"'{word}' is not supported for log groups in the Infrequent Access log class" in \
            exc.value.response["Error"]["Message"]
    _, rows = query(logs, "stats count(*) as n", at // 1000 - 5, at // 1000 + 60, logGroupName=name)
    assert rows == [{"n": "2"}]


def test_filter_index_uses_index_policies(mamori):
    logs = mamori.client("logs")
    tag = uuid.uuid4().hex[:6]
    at = now_ms(mamori) - 60_000
    indexed, plain = f"/fi-{tag}/indexed", f"/fi-{tag}/plain"
    messages = [json.dumps({"requestId": f"r{i % 3}", "n": i}) for i in range(9)]
    logs.create_log_group(logGroupName=indexed)
    logs.put_index_policy(logGroupIdentifier=indexed, policyDocument=json.dumps({"Fields": ["requestId"]}))
    logs.create_log_stream(logGroupName=indexed, logStreamName="s")
    logs.put_log_events(logGroupName=indexed, logStreamName="s",
                        logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(messages)])
    make_group(logs, plain, messages, at)
    start, end = at // 1000 - 5, at // 1000 + 60
    _, by_index = query(logs, "filterIndex requestId = 'r1' | display n", start, end,
                        logGroupNames=[indexed, plain])
    _, by_filter = query(logs, "filter requestId = 'r1' | display n", start, end, logGroupName=indexed)
    assert by_index == by_filter == [{"n": "7"}, {"n": "4"}, {"n": "1"}]
    qid, rows = query(logs, "filterIndex requestId in ['r0', 'r2'] | stats count(*) as c", start, end,
                      logGroupNames=[indexed, plain])
    assert rows == [{"c": "6"}]  # the group without the index is skipped
    assert logs.list_log_groups_for_query(queryId=qid)["logGroupIdentifiers"] == [
        f"arn:aws:logs:us-east-1:000000000000:log-group:{indexed}"]
    stats = logs.get_query_results(queryId=qid)["statistics"]
    assert stats["logGroupsScanned"] == 1 and stats["estimatedRecordsSkipped"] == len(messages)
    assert stats["estimatedBytesSkipped"] == sum(len(m) for m in messages)
    # an account-level field index policy indexes the other group too
    logs.put_account_policy(policyName=f"idx-{tag}", policyType="FIELD_INDEX_POLICY",
                            policyDocument=json.dumps({"Fields": ["requestId"]}),
                            selectionCriteria=f'LogGroupNamePrefix IN ["/fi-{tag}/plain"]')
    try:
        later = now_ms(mamori)
        logs.put_log_events(logGroupName=plain, logStreamName="s",
                            logEvents=[{"timestamp": later, "message": json.dumps({"requestId": "r1", "n": 99})}])
        _, rows = query(logs, "filterIndex requestId = 'r1' | display n", start, later // 1000 + 5,
                        logGroupNames=[indexed, plain])
        # only events ingested after the index was created come from the newly indexed group
        assert rows == [{"n": "99"}, {"n": "7"}, {"n": "4"}, {"n": "1"}]
    finally:
        logs.delete_account_policy(policyName=f"idx-{tag}", policyType="FIELD_INDEX_POLICY")


def test_masked_until_unmask_with_permission(mamori):
    logs = mamori.client("logs")
    name = f"/mask-{uuid.uuid4().hex[:6]}"
    at = now_ms(mamori) - 60_000
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    # ingested before the policy: never masked (AWS masks as events are ingested)
    mamori.admin("POST", "clock", {"action": "freeze", "at": at / 1000 + 50})
    try:
        logs.put_log_events(logGroupName=name, logStreamName="s",
                            logEvents=[{"timestamp": at - 1, "message": "old dave@example.net"}])
    finally:
        mamori.admin("POST", "clock", {"action": "reset"})
    logs.put_data_protection_policy(logGroupIdentifier=name, policyDocument=json.dumps(MASK_POLICY))
    time.sleep(0.01)  # the events below are ingested after the policy
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[
        {"timestamp": at, "message": json.dumps({"user": "bob@example.com", "n": 1})},
        {"timestamp": at + 1, "message": "login by carol@example.org ok"}])
    start, end = at // 1000 - 5, at // 1000 + 60
    _, rows = query(logs, "filter @message like /old/ | display @message", start, end, logGroupName=name)
    assert rows == [{"@message": "old dave@example.net"}]
    _, rows = query(logs, "filter @message not like /old/ | display @message", start, end, logGroupName=name)
    assert rows == [{"@message": "login by " + "*" * 17 + " ok"},
                    {"@message": json.dumps({"user": "*" * 15, "n": 1})}]
    _, rows = query(logs, "filter @message like /example/ | stats count(*) as c", start, end, logGroupName=name)
    assert rows == [{"c": "1"}]  # the query sees the masked text (only the old event shows its address)
    _, rows = query(logs, "filter @message not like /old/ | fields user | display user, @message | unmask @message",
                    start, end, logGroupName=name)
    assert rows == [{"@message": "login by carol@example.org ok"},
                    {"user": "bob@example.com", "@message": json.dumps({"user": "bob@example.com", "n": 1})}]
    iam = mamori.client("iam")
    user = f"insights-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="q", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:StartQuery",
                                                                              "logs:GetQueryResults"],
                                               "Resource": "*"}]}))
    reader = mamori.client("logs", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    _, rows = query(reader, "sort @timestamp desc | display @message | limit 1", start, end, logGroupName=name)
    assert rows == [{"@message": "login by " + "*" * 17 + " ok"}]
    with pytest.raises(ClientError) as exc:
        reader.start_query(logGroupName=name, startTime=start, endTime=end, queryString="unmask @message")
    assert code(exc) == "AccessDeniedException"
    assert "logs:Unmask" in exc.value.response["Error"]["Message"]


def test_diff_compares_with_the_previous_window(mamori):
    logs = mamori.client("logs")
    name = f"/diff-{uuid.uuid4().hex[:6]}"
    now = now_ms(mamori)
    start = now // 1000 - 600          # current window: the last 10 minutes
    end = now // 1000
    cur_start = start * 1000
    prev = cur_start - (end * 1000 + 999 - cur_start + 1)
    events = []
    for i in range(6):  # previous window: 6 logins, 2 timeouts
        events.append((prev + 1000 + i * 1000, f"user u{i} logged in"))
    for i in range(2):
        events.append((prev + 10_000 + i * 1000, f"request {i} timed out after 30s"))
    for i in range(3):  # current window: 3 logins, 4 disk errors
        events.append((cur_start + 1000 + i * 1000, f"user u{i} logged in"))
    for i in range(4):
        events.append((cur_start + 10_000 + i * 1000, f"ERROR disk sda{i} full"))
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    logs.put_log_events(logGroupName=name, logStreamName="s",
                        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])
    qid, rows = query(logs, "diff", start, end, logGroupName=name)
    assert rows == [
        {"@pattern": "ERROR disk <*> full", "@sampleCount": "4", "@previousSampleCount": "0",
         "@changeInSampleCount": "4", "@severityLabel": "Error"},
        {"@pattern": "user <*> logged in", "@sampleCount": "3", "@previousSampleCount": "6",
         "@changeInSampleCount": "-3", "@severityLabel": "Unknown"},
        {"@pattern": "request <*> timed out after <*>", "@sampleCount": "0", "@previousSampleCount": "2",
         "@changeInSampleCount": "-2", "@severityLabel": "Unknown"},
    ]
    stats = logs.get_query_results(queryId=qid)["statistics"]
    assert stats["recordsMatched"] == 7 and stats["recordsScanned"] == 15
    _, rows = query(logs, "pattern @message | display @pattern, @sampleCount, @tokens", start, end, logGroupName=name)
    assert rows[0]["@pattern"] == "ERROR disk <*> full" and rows[0]["@sampleCount"] == "4"
    assert json.loads(rows[0]["@tokens"]) == [{
        "dynamicTokenPosition": 1, "isDynamic": True, "tokenString": "<*>", "inferredTokenName": "Token-1",
        "enumerations": {"sda0": 1, "sda1": 1, "sda2": 1, "sda3": 1}}]
    _, rows = query(logs, "pattern @message | display @visualization, @sampleCount", start, end, logGroupName=name)
    for row in rows:
        bins = json.loads(row["@visualization"])
        assert sum(bins.values()) == int(row["@sampleCount"])
        assert all(cur_start <= int(b) <= end * 1000 + 999 for b in bins)


def test_results_paged_and_kept_seven_days(loaded, mamori_clock):
    logs, E = loaded["logs"], loaded["events"]
    qid, out = run_query(logs, [loaded["group"]], "display @message", loaded["start"], loaded["end"])
    assert len(out["results"]) == len(E) and "nextToken" not in out
    first = logs.get_query_results(queryId=qid, maxItems=100)
    assert len(first["results"]) == 100 and first["nextToken"]
    second = logs.get_query_results(queryId=qid, maxItems=100, nextToken=first["nextToken"])
    third = logs.get_query_results(queryId=qid, maxItems=100, nextToken=second["nextToken"])
    assert "nextToken" not in third
    assert first["results"] + second["results"] + third["results"] == out["results"]
    mamori_clock.advance("6d")
    assert logs.get_query_results(queryId=qid)["status"] == "Complete"
    mamori_clock.advance("1d1h")
    with pytest.raises(ClientError) as exc:
        logs.get_query_results(queryId=qid)
    assert code(exc) == "ResourceNotFoundException"
    assert qid not in [q["queryId"] for q in logs.describe_queries()["queries"]]


def test_time_range_before_the_group_existed(loaded):
    logs = loaded["logs"]
    old = loaded["base"] // 1000 - 30 * 86400
    with pytest.raises(ClientError) as exc:
        logs.start_query(logGroupName=loaded["group"], startTime=old, endTime=old + 60, queryString="stats count(*)")
    assert code(exc) == "MalformedQueryException"
    assert "before the log groups creation time" in exc.value.response["Error"]["Message"]


def test_too_many_log_groups(loaded):
    with pytest.raises(ClientError) as exc:
        loaded["logs"].start_query(logGroupNames=[f"/g{i}" for i in range(51)], startTime=loaded["start"],
                                   endTime=loaded["end"], queryString="stats count(*)")
    assert code(exc) == "InvalidParameterException"


def test_diff_previous_day_compares_the_same_hours(mamori):
    logs = mamori.client("logs")
    name = f"/diffday-{uuid.uuid4().hex[:6]}"
    now = now_ms(mamori)
    start, end = now // 1000 - 600, now // 1000
    day = 86_400_000
    cur_start = start * 1000
    events = [(cur_start - day + 5000 + i, f"job {i} done") for i in range(3)]     # same hour, a day earlier
    events += [(cur_start - day // 2 + i, f"job {i} done") for i in range(5)]      # between: in neither window
    events += [(cur_start + 5000 + i, f"job {i} done") for i in range(4)]          # now
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    for batch in (events[:3], events[3:8], events[8:]):  # a batch spans at most 24 hours
        logs.put_log_events(logGroupName=name, logStreamName="s",
                            logEvents=[{"timestamp": t, "message": m} for t, m in batch])
    qid, rows = query(logs, "diff previousDay", start, end, logGroupName=name)
    assert rows == [{"@pattern": "job <*> done", "@sampleCount": "4", "@previousSampleCount": "3",
                     "@changeInSampleCount": "1", "@severityLabel": "Unknown"}]
    assert logs.get_query_results(queryId=qid)["statistics"]["recordsScanned"] == 7
    _, rows = query(logs, "diff", start, end, logGroupName=name)  # the 10 minutes before: nothing
    assert rows == [{"@pattern": "job <*> done", "@sampleCount": "4", "@previousSampleCount": "0",
                     "@changeInSampleCount": "4", "@severityLabel": "Unknown"}]


def test_stop_query_cancels(loaded):
    logs = loaded["logs"]
    qids = [logs.start_query(logGroupName=loaded["group"], startTime=loaded["start"], endTime=loaded["end"],
                             queryString="fields jsonParse(@message) as j | unnest j.tags into t | "
                                         "stats count(*) by t, @logStream")["queryId"] for _ in range(6)]
    stopped = []
    for qid in qids:
        try:
            assert logs.stop_query(queryId=qid)["success"] is True
            stopped.append(qid)
        except ClientError as exc:  # it finished first
            assert exc.response["Error"]["Code"] == "InvalidParameterException"
            assert "is not running" in exc.response["Error"]["Message"]
    for qid in qids:
        status = logs.get_query_results(queryId=qid)["status"]
        assert status == ("Cancelled" if qid in stopped else "Complete")


def test_start_query_honours_resource_tag_conditions(mamori):
    logs, iam = mamori.client("logs"), mamori.client("iam")
    tag = uuid.uuid4().hex[:6]
    at = now_ms(mamori) - 60_000
    make_group(logs, f"/tagged-{tag}/a", ["a"], at, tags={"team": "a"})
    make_group(logs, f"/tagged-{tag}/b", ["b"], at, tags={"team": "b"})
    user = f"team-a-{tag}"
    iam.create_user(UserName=user)
    creds = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="q", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["logs:StartQuery", "logs:GetQueryResults"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}}]}))
    reader = mamori.client("logs", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    start, end = at // 1000 - 5, at // 1000 + 60
    _, rows = query(reader, "display @message", start, end, logGroupName=f"/tagged-{tag}/a")
    assert rows == [{"@message": "a"}]
    with pytest.raises(ClientError) as exc:
        reader.start_query(logGroupName=f"/tagged-{tag}/b", startTime=start, endTime=end, queryString="display @message")
    assert code(exc) == "AccessDeniedException"
