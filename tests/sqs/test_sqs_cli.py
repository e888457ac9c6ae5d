"""The AWS CLI as a real process against SQS: create a queue, send with attributes,
receive with long polling (the message is already there), delete, purge, and a move task
listing (the CLI's own MD5 checks run on every send and receive)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid


def aws(mamori, *args):
    env = dict(os.environ, **mamori.env())
    # --endpoint-url: the CLI's SQS customization resolves its legacy endpoint otherwise
    out = subprocess.run(["aws", "sqs", *args, "--output", "json", "--endpoint-url", mamori.endpoint_url], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_cli_round_trip(mamori):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    url = aws(mamori, "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=60")["QueueUrl"]
    sent = aws(mamori, "send-message", "--queue-url", url, "--message-body", "from the cli",
               "--message-attributes", '{"kind": {"DataType": "String", "StringValue": "cli"}}')
    got = aws(mamori, "receive-message", "--queue-url", url, "--wait-time-seconds", "5",
              "--message-attribute-names", "All", "--attribute-names", "All")["Messages"][0]
    assert got["MessageId"] == sent["MessageId"] and got["Body"] == "from the cli"
    assert got["MessageAttributes"]["kind"]["StringValue"] == "cli"
    aws(mamori, "delete-message", "--queue-url", url, "--receipt-handle", got["ReceiptHandle"])
    attrs = aws(mamori, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["VisibilityTimeout"] == "60"
    dlq = aws(mamori, "create-queue", "--queue-name", name + "-dlq")["QueueUrl"]
    dlq_arn = aws(mamori, "get-queue-attributes", "--queue-url", dlq, "--attribute-names", "QueueArn")["Attributes"]
    aws(mamori, "set-queue-attributes", "--queue-url", url, "--attributes", json.dumps({"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": "3"})}))
    assert aws(mamori, "list-message-move-tasks", "--source-arn", dlq_arn["QueueArn"])["Results"] == []
