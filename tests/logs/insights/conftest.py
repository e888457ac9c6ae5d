"""A log group filled with the generated events (once per module), and a query runner."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.logs.insights.events import Event, generate


def run_query(logs, groups, query, start, end, **kw):
    qid = logs.start_query(logGroupNames=groups, startTime=start, endTime=end, queryString=query, **kw)["queryId"]
    deadline = time.monotonic() + 60
    while True:
        out = logs.get_query_results(queryId=qid)
        if out["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            return qid, out
        time.sleep(0.02)


@pytest.fixture(scope="module")
def loaded(mamori):
    logs = mamori.client("logs")
    group = f"/insights/{uuid.uuid4().hex[:8]}"
    now_ms = int(mamori.admin("GET", "clock")["epoch"] * 1000)
    # The group exists from before its events: a query ending before a group's creation
    # time is refused, as AWS does.
    mamori.admin("POST", "clock", {"action": "freeze", "at": now_ms / 1000 - 7200})
    try:
        logs.create_log_group(logGroupName=group)
    finally:
        mamori.admin("POST", "clock", {"action": "reset"})
    now_ms = int(mamori.admin("GET", "clock")["epoch"] * 1000)
    base = now_ms - 3_600_000 - now_ms % 1000
    generated = generate(base)
    streams: dict[str, list] = {}
    for stream, ts, message in generated:
        streams.setdefault(stream, []).append({"timestamp": ts, "message": message})
    for stream, evs in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=evs)
    account = mamori.client("sts").get_caller_identity()["Account"]
    events = [Event(i, stream, ts, message, group, account) for i, (stream, ts, message) in enumerate(generated)]
    return {"logs": logs, "group": group, "base": base, "events": events, "mamori": mamori,
            "start": base // 1000 - 1, "end": now_ms // 1000 + 1}
