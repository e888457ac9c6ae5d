"""watchtower (a real logging handler) ships Python logs into mamori; they come back
through GetLogEvents, FilterLogEvents and a Logs Insights query."""

from __future__ import annotations

import json
import logging
import time
import uuid

import watchtower


def test_watchtower_ships_logs(mamori, monkeypatch):
    # watchtower asks STS for the account through a default boto3 client: point the
    # environment at mamori.
    for key, value in mamori.env().items():
        monkeypatch.setenv(key, value)
    logs = mamori.client("logs")
    group = f"/watchtower/{uuid.uuid4().hex[:8]}"
    handler = watchtower.CloudWatchLogHandler(log_group_name=group, log_stream_name="app", boto3_client=logs,
                                              send_interval=1, log_group_retention_days=7,
                                              log_group_tags={"shipper": "watchtower"})
    logger = logging.getLogger(f"wt-{uuid.uuid4().hex[:6]}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        logger.info("hello from watchtower")
        logger.warning({"event": "structured", "count": 3})
        for i in range(50):
            logger.info("line %d", i)
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()
    events = logs.get_log_events(logGroupName=group, logStreamName="app", startFromHead=True)["events"]
    messages = [e["message"] for e in events]
    assert messages[0] == "hello from watchtower"
    assert json.loads(messages[1]) == {"event": "structured", "count": 3}
    assert messages[2:] == [f"line {i}" for i in range(50)]
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["retentionInDays"] == 7
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"shipper": "watchtower"}
    structured = logs.filter_log_events(logGroupName=group, filterPattern='{ $.event = "structured" }')["events"]
    assert len(structured) == 1
    now = int(time.time())
    query_id = logs.start_query(logGroupName=group, startTime=now - 600, endTime=now + 600,
                                queryString='filter event = "structured" or @message like /^line 4/ '
                                            '| stats count(*) as n, sum(count) as total')["queryId"]
    deadline = time.monotonic() + 20
    while True:  # the query runs on a worker thread: poll as a client would
        result = logs.get_query_results(queryId=query_id)
        if result["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert result["status"] == "Complete"
    rows = [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in result["results"]]
    expected = 1 + sum(m.startswith("line 4") for m in messages)  # the structured one, line 4, 40..49
    assert [(r["n"], float(r["total"])) for r in rows] == [(str(expected), 3.0)]
    logs.delete_log_group(logGroupName=group)
