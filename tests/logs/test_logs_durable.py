"""Acknowledged log events survive `kill -9` of a persistent server and a restart, and
the ids (`eventId`, `@ptr`) keep growing after it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest
import requests
from botocore.config import Config

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir, port):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamori", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_mamori/health", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(proc.stderr.read().decode())


def logs_client(port):
    return boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def test_log_events_survive_kill_9(tmp_path):
    now = int(time.time() * 1000)
    port = free_port()
    proc = start(tmp_path, port)
    try:
        logs = logs_client(port)
        logs.create_log_group(logGroupName="durable")
        logs.create_log_stream(logGroupName="durable", logStreamName="s")
        logs.put_retention_policy(logGroupName="durable", retentionInDays=7)
        logs.put_log_events(logGroupName="durable", logStreamName="s",
                            logEvents=[{"timestamp": now + i, "message": f"event {i}"} for i in range(1000)])
        first_ids = {e["eventId"] for e in logs.filter_log_events(logGroupName="durable")["events"]}
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    port = free_port()
    proc = start(tmp_path, port)
    try:
        logs = logs_client(port)
        assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 7
        events = logs.get_log_events(logGroupName="durable", logStreamName="s", startFromHead=True)["events"]
        assert [e["message"] for e in events] == [f"event {i}" for i in range(1000)]
        logs.put_log_events(logGroupName="durable", logStreamName="s",
                            logEvents=[{"timestamp": now + 2000, "message": "after restart"}])
        new = logs.filter_log_events(logGroupName="durable", filterPattern='"after restart"')["events"]
        assert len(new) == 1 and new[0]["eventId"] not in first_ids
    finally:
        proc.terminate()
        proc.wait(10)
