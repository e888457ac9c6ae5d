"""Pending delivery retries are kept in the resource store: a server killed with
`kill -9` between two retries re-arms them at start and carries on with the same
attempt count, then sends the event to the DLQ with AWS's attributes once the retry
policy runs out. Also the retry schedule itself (exponential backoff with jitter)
against MaximumEventAgeInSeconds."""

from __future__ import annotations

import json
import time

import pytest
from events_helpers import Endpoint, receive_all, unique

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def _wait_for(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _pending(server) -> list[dict]:
    return [r["doc"] for r in server.admin("GET", "state")["resources"] if r["kind"] == "events:pending-retry"]


def _queue_for_events(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn}]})})
    return url, arn


def _failing_destination(events, url: str, retry_policy: dict, dlq_arn: str) -> tuple[str, str, str]:
    conn = events.create_connection(Name=unique("c"), AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}})["ConnectionArn"]
    dest = events.create_api_destination(Name=unique("d"), ConnectionArn=conn, InvocationEndpoint=url,
                                         HttpMethod="POST")["ApiDestinationArn"]
    source = unique("app")
    rule_arn = events.put_rule(Name=unique("r"), EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    out = events.put_targets(Rule=rule_arn.rsplit("/", 1)[1], Targets=[{
        "Id": "dest", "Arn": dest, "RetryPolicy": retry_policy, "DeadLetterConfig": {"Arn": dlq_arn}}])
    assert out["FailedEntryCount"] == 0, out
    return source, rule_arn, dest


def test_pending_retry_survives_kill_9_and_ends_in_the_dlq(tmp_path):
    endpoint = Endpoint()
    endpoint.statuses = [500] * 50
    server = ServerProcess.start(tmp_path)
    try:
        server.admin("POST", "clock", {"action": "freeze"})
        events, sqs = server.client("events"), server.client("sqs")
        dlq_url, dlq_arn = _queue_for_events(sqs, "dlq")
        source, rule_arn, dest = _failing_destination(
            events, endpoint.url + "/down", {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}, dlq_arn)
        event_id = events.put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": "{}"}])["Entries"][0][
            "EventId"]
        assert len(endpoint.wait("/down", 1)) == 1
        [doc] = _wait_for(lambda: [d for d in _pending(server) if d["attempt"] == 1], "the first stored retry")
        assert doc["event"]["id"] == event_id and doc["target"]["Arn"] == dest
        server.admin("POST", "clock", {"action": "advance", "duration": 1})  # first backoff is at most 1 s
        assert len(endpoint.wait("/down", 2)) == 2
        _wait_for(lambda: [d for d in _pending(server) if d["attempt"] == 2], "the second stored retry")
    finally:
        server.kill()

    server = ServerProcess.start(tmp_path)
    try:
        [doc] = _pending(server)
        assert doc["attempt"] == 2 and doc["event"]["id"] == event_id
        server.admin("POST", "clock", {"action": "advance", "duration": 600})
        # the retries left after the crash (attempts 2 and 3), not a fresh series
        assert len(endpoint.wait("/down", 4)) == 4
        sqs = server.client("sqs")
        [message] = _wait_for(lambda: receive_all(sqs, dlq_url, attributes=True), "the DLQ message")
        attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attrs == {"RULE_ARN": rule_arn, "TARGET_ARN": dest, "ERROR_CODE": "ERROR_FROM_TARGET",
                         "ERROR_MESSAGE": attrs["ERROR_MESSAGE"], "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
                         "RETRY_ATTEMPTS": "3"}
        assert "500" in attrs["ERROR_MESSAGE"]
        assert json.loads(message["Body"])["id"] == event_id
        assert _pending(server) == []
        assert len(endpoint.calls("/down")) == 4
    finally:
        server.stop()
        endpoint.close()


def test_pending_retry_delivered_after_a_restart(tmp_path):
    endpoint = Endpoint()
    endpoint.statuses = [503]
    server = ServerProcess.start(tmp_path)
    try:
        server.admin("POST", "clock", {"action": "freeze"})
        events, sqs = server.client("events"), server.client("sqs")
        _, dlq_arn = _queue_for_events(sqs, "dlq")
        source, _, _ = _failing_destination(events, endpoint.url + "/later", {}, dlq_arn)
        events.put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": '{"n": 7}'}])
        endpoint.wait("/later", 1)
        _wait_for(lambda: _pending(server), "the stored retry")
    finally:
        server.kill()
    server = ServerProcess.start(tmp_path)
    try:
        server.admin("POST", "clock", {"action": "advance", "duration": 5})
        calls = endpoint.wait("/later", 2)
        assert len(calls) == 2 and json.loads(calls[1]["body"])["detail"] == {"n": 7}
        _wait_for(lambda: _pending(server) == [], "the retry to be forgotten")
    finally:
        server.stop()
        endpoint.close()


def test_event_age_limit_ends_retries(mamori, mamori_clock, endpoint, make_queue):
    """Backoff doubles from about 1 s (with jitter: each wait is between half and all of
    1, 2, 4, 8, 16, 32 s), so 60 s of event age allow 5 to 7 retries before the age
    limit stops them."""
    mamori_clock.freeze()
    events, sqs = mamori.client("events"), mamori.client("sqs")
    dlq_url, dlq_arn = make_queue()
    endpoint.statuses = [502] * 50
    source, rule_arn, dest = _failing_destination(
        events, endpoint.url + "/aging", {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60}, dlq_arn)
    events.put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": "{}"}])
    endpoint.wait("/aging", 1)
    for _ in range(12):  # 10 s steps, each retry's worker finishing before the next step
        mamori_clock.advance(10)
        time.sleep(0.1)
    [message] = _wait_for(lambda: receive_all(sqs, dlq_url, attributes=True), "the DLQ message")
    attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    calls = len(endpoint.calls("/aging"))
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attrs["RETRY_ATTEMPTS"] == str(calls - 1)
    assert 6 <= calls <= 8, calls


def test_http_call_in_flight_at_a_crash_is_made_again(tmp_path):
    """PutEvents answered, the HTTP call still waiting for the endpoint when the server
    is killed: the stored attempt runs again at start (at-least-once, as AWS promises
    for an accepted event)."""
    endpoint = Endpoint()
    endpoint.delays = [30.0]  # the first call hangs past the kill
    server = ServerProcess.start(tmp_path)
    try:
        server.admin("POST", "clock", {"action": "freeze"})
        events, sqs = server.client("events"), server.client("sqs")
        _, dlq_arn = _queue_for_events(sqs, "dlq")
        source, _, _ = _failing_destination(events, endpoint.url + "/slow", {}, dlq_arn)
        event_id = events.put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": '{"n": 1}'}])[
            "Entries"][0]["EventId"]
        _wait_for(lambda: endpoint.calls("/slow"), "the first call to start")
        [doc] = _pending(server)
        assert doc["attempt"] == 0 and doc["event"]["id"] == event_id
    finally:
        server.kill()
    server = ServerProcess.start(tmp_path)
    try:
        calls = endpoint.wait("/slow", 2)
        assert len(calls) == 2 and json.loads(calls[1]["body"])["id"] == event_id
        _wait_for(lambda: _pending(server) == [], "the delivered attempt to be forgotten")
    finally:
        server.stop()
        endpoint.close()


def test_reset_forgets_pending_retries():
    from mamori.testing.plugin import MamoriServer

    endpoint = Endpoint()
    endpoint.statuses = [500] * 10
    server = MamoriServer.start()
    try:
        server.admin("POST", "clock", {"action": "freeze"})
        events, sqs = server.client("events"), server.client("sqs")
        _, dlq_arn = _queue_for_events(sqs, "dlq")
        source, _, _ = _failing_destination(events, endpoint.url + "/gone", {}, dlq_arn)
        events.put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": "{}"}])
        endpoint.wait("/gone", 1)
        _wait_for(lambda: [d for d in _pending(server) if d["attempt"] == 1], "the stored retry")
        server.admin("POST", "reset")
        assert _pending(server) == []
        server.admin("POST", "clock", {"action": "freeze"})
        server.admin("POST", "clock", {"action": "advance", "duration": 3600})
        assert len(endpoint.wait("/gone", 2, timeout=1)) == 1  # the armed retry was cancelled
    finally:
        server.stop()
        endpoint.close()
