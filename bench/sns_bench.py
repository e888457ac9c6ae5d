"""SNS benchmark (not a test): Publish to a topic with 10 SQS subscribers, mamori beside
moto's server in one run, through boto3 on one connection each.

    python bench/sns_bench.py [-n 500]

Each Publish of a 256-byte message fans out to 10 queues (AWS's JSON envelope, signed,
into each queue), so one call is 10 deliveries. Queue policies let sns.amazonaws.com
send, as AWS requires (moto ignores them).
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, compare_with_moto, measure, server  # noqa: E402

SUBSCRIBERS = 10


def run_one(kind: str, n: int) -> dict[str, dict[str, float]]:
    with server(kind) as (endpoint, _startup, _proc):
        sns, sqs = client(endpoint, "sns"), client(endpoint, "sqs")
        topic = sns.create_topic(Name="bench")["TopicArn"]
        for i in range(SUBSCRIBERS):
            url = sqs.create_queue(QueueName=f"bench-{i}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                    "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        body = "x" * 256
        out = {f"Publish ({SUBSCRIBERS} SQS subscribers)": measure(lambda: sns.publish(TopicArn=topic, Message=body), n)}
        last = sqs.get_queue_url(QueueName=f"bench-{SUBSCRIBERS - 1}")["QueueUrl"]
        got = sqs.get_queue_attributes(QueueUrl=last, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        print(f"{kind}: {got['ApproximateNumberOfMessages']} messages in the last queue", file=sys.stderr)
        return out


if __name__ == "__main__":
    compare_with_moto("SNS bench", run_one, 500)
