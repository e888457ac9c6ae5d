"""Logs Insights operations around the engine: bad queries, statistics, @ptr, limits,
StopQuery, DescribeQueries, query definitions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.logs.insights.conftest import run_query


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.mark.parametrize("query, fragment", [
    ("filter (level = 'x'", "expected ')' at position 19"),
    ("stats count(*) by", "at position 17"),
    ("fields a |", "expected a command"),
    ("filter level = 'x", "unterminated string starting at position 15"),
    ("bogus level", "expected a command"),
    ("unnest tags", "expected 'into' after the field of unnest at position 11"),
    ("stats count(*) by bin(5m) | anomaly", "'anomaly' at position 28 works on the patterns of the pattern command"),
    ("join t", "the command 'join' at position 0 is not supported by mamori"),
    ("lookup t", "the command 'lookup' at position 0 is not supported by mamori"),
    ("stats rate(latency, 5m) by bin(5m)", "the time-series function rate() is not supported"),
    ("fields bogusfn(level)", "the function bogusfn() is not supported by mamori yet"),
    ("fields a | SOURCE logGroups()", "SOURCE at position 11 must be the first command"),
    ("SOURCE logGroups(namePrefix: ['a', 'b', 'c', 'd', 'e', 'f'])", "namePrefix takes 1 to 5 values"),
    ("filterIndex level > 3", "filterIndex at position 12 takes 'field = value'"),
    ("diff lastYear", "expected previousDay, previousWeek or previousMonth after diff"),
    ("stats count(*) | pattern @message", "'pattern' at position 17 needs log events"),
    ("fields isIpv4InSubnet(srcAddr, '2001:db8::/32')", "is not an IPv4 subnet"),
    ("stats level", "is not an aggregate function"),
    ("fields count(*)", "can only be used in stats"),
    ("parse @message '* *' as a", "2 '*' but 1 names"),
    ("dedup level | stats count(*)", "'stats' at position 14: the only command that can follow dedup is limit"),
    ("display @entity.KeyAttributes.Type", "the field @entity (the entity of Explore related telemetry)"),
    ("limit 0", "between 1 and 100000"),
    ("limit 100001", "between 1 and 100000"),
    ("stats count(*) as c | display level", "not available after stats"),
])
def test_malformed_queries_name_the_problem(loaded, query, fragment):
    with pytest.raises(ClientError) as exc:
        loaded["logs"].start_query(logGroupName=loaded["group"], startTime=loaded["start"], endTime=loaded["end"],
                                   queryString=query)
    assert code(exc) == "MalformedQueryException"
    assert fragment in exc.value.response["Error"]["Message"]


def test_statistics_and_ptr(loaded):
    logs = loaded["logs"]
    E = loaded["events"]
    _, out = run_query(logs, [loaded["group"]], "filter level = 'ERROR' | display level", loaded["start"], loaded["end"])
    errors = [e for e in E if e.get("level") == "ERROR"]
    assert out["statistics"]["recordsScanned"] == len(E)
    assert out["statistics"]["recordsMatched"] == len(errors)
    assert out["statistics"]["bytesScanned"] == sum(len(e.message) for e in E)
    ptr = {f["field"]: f["value"] for f in out["results"][0]}["@ptr"]
    record = logs.get_log_record(logRecordPointer=ptr)["logRecord"]
    assert '"level": "ERROR"' in record["@message"]


@pytest.mark.parametrize("query", ["stats count(*) by bin(5m)", "stats count(*) as c by service | stats sum(c) as n",
                                   "fields strlen(@message) as n | stats avg(n) by @logStream | sort @logStream"])
def test_statistics_when_every_event_reaches_stats(loaded, query):
    E = loaded["events"]
    _, out = run_query(loaded["logs"], [loaded["group"]], query, loaded["start"], loaded["end"])
    assert out["statistics"]["recordsScanned"] == len(E)
    assert out["statistics"]["recordsMatched"] == len(E)
    assert out["statistics"]["bytesScanned"] == sum(len(e.message) for e in E)


def test_statistics_of_filter_then_stats(loaded):
    E = loaded["events"]
    _, out = run_query(loaded["logs"], [loaded["group"]], "filter level = 'ERROR' | stats count(*) by service",
                       loaded["start"], loaded["end"])
    assert out["statistics"] == {"recordsMatched": len([e for e in E if e.get("level") == "ERROR"]),
                                 "recordsScanned": len(E), "bytesScanned": sum(len(e.message) for e in E),
                                 "logGroupsScanned": 1}
    _, out = run_query(loaded["logs"], [loaded["group"]], "filter level = 'NOPE' | stats count(*) by service",
                       loaded["start"], loaded["end"])
    assert out["results"] == []
    assert out["statistics"] == {"recordsMatched": 0, "recordsScanned": len(E),
                                 "bytesScanned": sum(len(e.message) for e in E), "logGroupsScanned": 1}


def test_statistics_of_filter_without_stats(loaded):
    E = loaded["events"]
    _, out = run_query(loaded["logs"], [loaded["group"]], "filter @logStream = 'vpc' | limit 3", loaded["start"],
                       loaded["end"])
    assert len(out["results"]) == 3
    assert out["statistics"]["recordsMatched"] == len([e for e in E if e.stream == "vpc"])
    assert out["statistics"]["recordsScanned"] == len(E)


def test_time_range_and_limit_parameter(loaded):
    logs, E = loaded["logs"], loaded["events"]
    first = min(e.ts for e in E)
    start = first // 1000 + 600
    end = start + 600
    _, out = run_query(logs, [loaded["group"]], "stats count(*) as c", start, end)
    want = len([e for e in E if start * 1000 <= e.ts <= end * 1000 + 999])
    assert out["results"] == [[{"field": "c", "value": str(want)}]]
    _, out = run_query(logs, [loaded["group"]], "display @message", loaded["start"], loaded["end"], limit=7)
    assert len(out["results"]) == 7


def test_groups_by_arn_and_unknown_group(loaded, mamori):
    logs = loaded["logs"]
    arn = logs.describe_log_groups(logGroupNamePrefix=loaded["group"])["logGroups"][0]["arn"].rstrip(":*")
    qid = logs.start_query(logGroupIdentifiers=[arn], startTime=loaded["start"], endTime=loaded["end"],
                           queryString="stats count(*) as c")["queryId"]
    assert qid
    with pytest.raises(ClientError) as exc:
        logs.start_query(logGroupName="/no/such/group", startTime=loaded["start"], endTime=loaded["end"],
                         queryString="stats count(*)")
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.start_query(logGroupName=loaded["group"], startTime=10, endTime=5, queryString="stats count(*)")
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.get_query_results(queryId="00000000-0000-0000-0000-000000000000")
    assert code(exc) == "ResourceNotFoundException"


def test_describe_and_stop_queries(loaded):
    logs = loaded["logs"]
    qid, out = run_query(logs, [loaded["group"]], "stats count(*) by @logStream", loaded["start"], loaded["end"])
    listed = logs.describe_queries(logGroupName=loaded["group"])["queries"]
    mine = [q for q in listed if q["queryId"] == qid]
    assert mine and mine[0]["status"] == "Complete" and mine[0]["queryString"] == "stats count(*) by @logStream"
    assert all(q["status"] == "Complete" for q in logs.describe_queries(status="Complete")["queries"])
    with pytest.raises(ClientError) as exc:
        logs.stop_query(queryId=qid)  # already complete
    assert code(exc) == "InvalidParameterException"


def test_query_definitions(loaded):
    logs = loaded["logs"]
    def_id = logs.put_query_definition(name="ins/errors", queryString="filter level = 'ERROR'",
                                       logGroupNames=[loaded["group"]])["queryDefinitionId"]
    got = logs.describe_query_definitions(queryDefinitionNamePrefix="ins/")["queryDefinitions"]
    assert [(d["queryDefinitionId"], d["queryString"]) for d in got] == [(def_id, "filter level = 'ERROR'")]
    logs.put_query_definition(queryDefinitionId=def_id, name="ins/errors", queryString="filter level = 'WARN'")
    got = logs.describe_query_definitions(queryDefinitionNamePrefix="ins/")["queryDefinitions"]
    assert got[0]["queryString"] == "filter level = 'WARN'"
    assert logs.delete_query_definition(queryDefinitionId=def_id)["success"] is True
    assert logs.describe_query_definitions(queryDefinitionNamePrefix="ins/")["queryDefinitions"] == []
    with pytest.raises(ClientError) as exc:
        logs.delete_query_definition(queryDefinitionId=def_id)
    assert code(exc) == "ResourceNotFoundException"


def test_limit_parameter_range(loaded):
    logs = loaded["logs"]
    with pytest.raises(ClientError) as exc:
        logs.start_query(logGroupName=loaded["group"], startTime=loaded["start"], endTime=loaded["end"],
                         queryString="stats count(*)", limit=100_001)
    assert "less than or equal to 100000" in exc.value.response["Error"]["Message"]
    _, out = run_query(logs, [loaded["group"]], "display @message", loaded["start"], loaded["end"], limit=100_000)
    assert out["status"] == "Complete" and len(out["results"]) == len(loaded["events"])
