"""SNS fan-out benchmark (not a test): Publish to a topic with 10 SQS subscribers (raw
message delivery), mamori beside moto's server in one run, through boto3 on one
connection each.

    python bench/sns_bench.py [-n 500]

Rows:
- Publish: Publish calls per second (each answered call).
- Publish delivered x10: publishes per second counted end to end, i.e. n divided by the
  time from the first publish until all 10 queues hold every message (a publish counts
  as done only once all its 10 copies can be received). Both servers deliver to SQS
  before Publish answers, so the two rows should be close; if a server delivered in the
  background, the second row is the honest one.
After the run every queue is checked to hold exactly the number of messages published
(warm-up included) with the raw body; the script fails loudly otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, compare_with_moto, measure, server  # noqa: E402

SUBSCRIBERS = 10


def _queue_policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})


def _counts(sqs, urls: list[str]) -> list[int]:
    return [int(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages"])
                ["Attributes"]["ApproximateNumberOfMessages"]) for u in urls]


def run_one(kind: str, n: int) -> dict[str, dict[str, float]]:
    with server(kind) as (endpoint, _startup, _proc):
        sns, sqs = client(endpoint, "sns"), client(endpoint, "sqs")
        topic = sns.create_topic(Name="bench")["TopicArn"]
        urls = []
        for i in range(SUBSCRIBERS):
            url = sqs.create_queue(QueueName=f"bench-{i}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _queue_policy(arn, topic)})
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
            urls.append(url)
        body = "x" * 256
        published = 0

        def publish() -> None:
            nonlocal published
            sns.publish(TopicArn=topic, Message=body)
            published += 1

        started = time.perf_counter()
        result = measure(publish, n)
        deadline = time.perf_counter() + 60
        while True:
            counts = _counts(sqs, urls)
            if all(c == published for c in counts) or time.perf_counter() > deadline:
                break
            time.sleep(0.05)
        end_to_end = time.perf_counter() - started
        if counts != [published] * SUBSCRIBERS:
            raise SystemExit(f"{kind}: queues hold {counts}, expected {published} each")
        sample = sqs.receive_message(QueueUrl=urls[-1])["Messages"][0]["Body"]
        if sample != body:
            raise SystemExit(f"{kind}: raw delivery expected, got {sample[:80]!r}")
        print(f"{kind}: all {SUBSCRIBERS} queues hold {published} raw messages", file=sys.stderr)
        return {"Publish": result,
                f"Publish delivered x{SUBSCRIBERS}": {"ops": published / end_to_end, "p50_ms": result["p50_ms"],
                                                      "p99_ms": result["p99_ms"]}}


if __name__ == "__main__":
    compare_with_moto(f"SNS bench: Publish to {SUBSCRIBERS} SQS subscribers (raw)", run_one, 500)
