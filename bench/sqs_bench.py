"""SQS benchmark (not a test): SendMessage, ReceiveMessage and DeleteMessage throughput,
mamori beside moto's server in one run, through boto3 on one connection each.

    python bench/sqs_bench.py [-n 1000]

Send: n messages of 256 bytes. Receive+Delete: one message received (MaxNumberOfMessages=1)
and deleted per iteration, until the n sent messages are gone.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, measure, server  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    results = {kind: run_one(kind, args.n) for kind in ("moto", "mamori")}
    print(f"SQS bench, n={args.n}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print("| operation | mamori ops/s | moto ops/s | mamori/moto | mamori p50 ms | moto p50 ms |")
    print("|---|---|---|---|---|---|")
    for op in results["mamori"]:
        m, o = results["mamori"][op], results["moto"][op]
        print(f"| {op} | {m['ops']:.0f} | {o['ops']:.0f} | {m['ops'] / o['ops']:.2f}x | {m['p50_ms']:.2f} | "
              f"{o['p50_ms']:.2f} |")


if __name__ == "__main__":
    main()
