"""SQS benchmark (not a test): SendMessage, ReceiveMessage and DeleteMessage throughput,
mamori beside moto's server in one run, through boto3 on one connection each.

    python bench/sqs_bench.py [-n 1000]

Send: n messages of 256 bytes. Receive+Delete: one message received (MaxNumberOfMessages=1)
and deleted per iteration, until the n sent messages are gone.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, compare_with_moto, measure, server  # noqa: E402


def run_one(kind: str, n: int) -> dict[str, dict[str, float]]:
    with server(kind) as (endpoint, _startup, _proc):
        sqs = client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        body = "x" * 256
        out = {"SendMessage": measure(lambda: sqs.send_message(QueueUrl=url, MessageBody=body), n)}
        handles: list[str] = []

        def receive() -> None:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600).get("Messages", [])
            handles.extend(m["ReceiptHandle"] for m in msgs)

        out["ReceiveMessage"] = measure(receive, n)

        def delete() -> None:
            if handles:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=handles.pop())

        out["DeleteMessage"] = measure(delete, n)
        return out


if __name__ == "__main__":
    compare_with_moto("SQS bench", run_one, 1000)
