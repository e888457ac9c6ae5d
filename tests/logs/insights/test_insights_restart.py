"""A finished query's results survive `kill -9` of the server and a restart on the same
data directory; queries over the persisted events run again after the restart."""

from __future__ import annotations

import time

import pytest

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def wait(logs, qid):
    deadline = time.monotonic() + 30
    while True:
        out = logs.get_query_results(queryId=qid)
        if out["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def test_query_results_survive_kill_9(tmp_path):
    server = ServerProcess.start(tmp_path)
    try:
        logs = server.client("logs")
        now = int(server.admin("GET", "clock")["epoch"])
        logs.create_log_group(logGroupName="/durable/insights")
        logs.create_log_stream(logGroupName="/durable/insights", logStreamName="s")
        logs.put_log_events(logGroupName="/durable/insights", logStreamName="s", logEvents=[
            {"timestamp": (now - 60) * 1000 + i, "message": f"{'ERROR' if i % 3 == 0 else 'INFO'} event {i}"}
            for i in range(30)])
        qid = logs.start_query(logGroupName="/durable/insights", startTime=now - 120, endTime=now + 60,
                               queryString="filter @message like /ERROR/ | stats count(*) as n")["queryId"]
        before = wait(logs, qid)
        assert before["status"] == "Complete" and before["results"] == [[{"field": "n", "value": "10"}]]
    finally:
        server.kill()
    server = ServerProcess.start(tmp_path)
    try:
        logs = server.client("logs")
        after = logs.get_query_results(queryId=qid)
        assert after["status"] == "Complete"
        assert after["results"] == before["results"] and after["statistics"] == before["statistics"]
        again = wait(logs, logs.start_query(logGroupName="/durable/insights", startTime=now - 120, endTime=now + 60,
                                            queryString="stats count(*) as n, sum(strlen(@message)) as b")["queryId"])
        assert again["results"] == [[{"field": "n", "value": "30"},
                                      {"field": "b", "value": str(int(again["statistics"]["bytesScanned"]))}]]
    finally:
        server.stop()
