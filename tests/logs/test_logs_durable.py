"""Acknowledged log events survive `kill -9` of a persistent server and a restart, and
the ids (`eventId`, `@ptr`) keep growing after it."""

from __future__ import annotations

import time

import pytest

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def test_log_events_survive_kill_9(tmp_path):
    now = int(time.time() * 1000)
    server = ServerProcess.start(tmp_path)
    try:
        logs = server.client("logs")
        logs.create_log_group(logGroupName="durable")
        logs.create_log_stream(logGroupName="durable", logStreamName="s")
        logs.put_retention_policy(logGroupName="durable", retentionInDays=7)
        logs.put_log_events(logGroupName="durable", logStreamName="s",
                            logEvents=[{"timestamp": now + i, "message": f"event {i}"} for i in range(1000)])
        first_ids = {e["eventId"] for e in logs.filter_log_events(logGroupName="durable")["events"]}
    finally:
        server.kill()

    server = ServerProcess.start(tmp_path)
    try:
        logs = server.client("logs")
        assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 7
        events = logs.get_log_events(logGroupName="durable", logStreamName="s", startFromHead=True)["events"]
        assert [e["message"] for e in events] == [f"event {i}" for i in range(1000)]
        logs.put_log_events(logGroupName="durable", logStreamName="s",
                            logEvents=[{"timestamp": now + 2000, "message": "after restart"}])
        new = logs.filter_log_events(logGroupName="durable", filterPattern='"after restart"')["events"]
        assert len(new) == 1 and new[0]["eventId"] not in first_ids
    finally:
        server.stop()
