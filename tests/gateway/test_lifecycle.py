"""`mamori serve` stops cleanly on SIGTERM (stores flushed and closed), and management
events are published on the internal bus as "AWS API Call via CloudTrail" events."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import boto3
import requests
from botocore.config import Config

from mamori.config import Config as MamoriConfig
from mamori.testing.plugin import MamoriServer


def test_sigterm_flushes_and_exits(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mamori", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_mamori/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        sts = boto3.client("sts", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
        sts.get_caller_identity()
        assert (tmp_path / "cloudtrail.journal").stat().st_size > 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "export AWS_ENDPOINT_URL=" in out and "root credentials" in out
    # flushed into DuckDB on the way out: nothing left to replay
    assert (tmp_path / "cloudtrail.journal").stat().st_size == 0
    assert (tmp_path / "telemetry.duckdb").exists()


def test_mutating_calls_reach_the_bus():
    server = MamoriServer.start(MamoriConfig(ephemeral=True, strict=True))
    try:
        runtime = server._server.config.app.runtime
        seen = []
        runtime.bus.subscribe(seen.append, where=lambda e: e["detail-type"] == "AWS API Call via CloudTrail")
        server.client("sts").get_caller_identity()  # read-only: published, EventBridge decides
        server.client("cloudtrail").create_trail(Name="bus-trail", S3BucketName="b")
        assert [(e["detail"]["eventName"], e["detail"]["readOnly"]) for e in seen] == [
            ("GetCallerIdentity", True), ("CreateTrail", False)]
        event = seen[1]
        assert event["source"] == "aws.cloudtrail" and event["account"] == server.account_id
        assert event["detail"]["requestParameters"]["name"] == "bus-trail"
    finally:
        server.stop()
