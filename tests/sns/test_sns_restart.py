"""What SNS keeps across `kill -9` and a restart on the same data directory: the signing
key (the same certificate signs after the restart, its private key sealed at rest) and
pending HTTP retries, re-armed from the store and run when the clock passes them."""

from __future__ import annotations

import pytest
import requests
from sns_helpers import body, verify, wait_for

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def test_signing_key_and_pending_retry_survive_kill_9(tmp_path, subscriber):
    server = ServerProcess.start(tmp_path)
    try:
        sns = server.client("sns")
        topic = sns.create_topic(Name="durable")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/d")
        [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
        before = body(item)
        verify(before)
        assert requests.get(before["SubscribeURL"], timeout=10).status_code == 200
        server.admin("POST", "clock", {"action": "freeze"})
        subscriber.status = 500
        published = sns.publish(TopicArn=topic, Message="across a crash")["MessageId"]
        wait_for(lambda: subscriber.messages("Notification"), what="the first attempt")
        # the worker stores the retry just after the answer: wait for it to be written
        wait_for(lambda: any(r["kind"] == "sns-http-delivery" and r["doc"]["attempt"] == 1
                             for r in server.admin("GET", "state")["resources"]), what="the stored retry")
    finally:
        server.kill()
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    subscriber.status = 200
    server = ServerProcess.start(tmp_path)
    try:
        server.admin("POST", "clock", {"action": "advance", "duration": 21})
        wait_for(lambda: len(subscriber.messages("Notification")) >= 2, what="the retry after the restart")
        retried = body(subscriber.messages("Notification")[-1])
        assert retried["MessageId"] == published
        # a retry resends the message signed before the crash; the new process (on another
        # port here) serves the same certificate, since the key pair survived
        name = before["SigningCertURL"].rsplit("/", 1)[1]
        assert retried["SigningCertURL"].endswith("/" + name)
        verify(dict(retried, SigningCertURL=f"{server.endpoint_url}/_mamori/sns/{name}"))
        sns = server.client("sns")
        sns.publish(TopicArn=topic, Message="after the restart")
        fresh = wait_for(lambda: [body(m) for m in subscriber.messages("Notification")
                                  if body(m)["Message"] == "after the restart"])[0]
        assert fresh["SigningCertURL"].endswith("/" + name)
        verify(fresh)
    finally:
        server.stop()
