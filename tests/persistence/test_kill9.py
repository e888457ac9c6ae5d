"""An acknowledged write survives `kill -9` of the server and a restart on the same data
directory: trails (resource store) and CloudTrail events (telemetry journal)."""

from __future__ import annotations

import os
import signal
import socket
import stat
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


def client(port, service):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def test_state_survives_kill_9(tmp_path):
    port = free_port()
    proc = start(tmp_path, port)
    try:
        ct = client(port, "cloudtrail")
        arn = ct.create_trail(Name="durable", S3BucketName="b", TagsList=[{"Key": "k", "Value": "v"}])["TrailARN"]
        ct.start_logging(Name="durable")
        client(port, "sts").get_caller_identity()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    assert stat.S_IMODE(os.stat(tmp_path / "root.key").st_mode) == 0o600
    port = free_port()
    proc = start(tmp_path, port)
    try:
        ct = client(port, "cloudtrail")
        trail = ct.get_trail(Name="durable")["Trail"]
        assert trail["TrailARN"] == arn
        assert ct.get_trail_status(Name="durable")["IsLogging"] is True
        assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "k", "Value": "v"}]
        names = {e["EventName"] for e in ct.lookup_events(MaxResults=50)["Events"]}
        assert {"CreateTrail", "StartLogging", "GetCallerIdentity"} <= names
    finally:
        proc.terminate()
        proc.wait(10)


def test_secrets_are_not_stored_in_clear(tmp_path):
    port = free_port()
    proc = start(tmp_path, port)
    try:
        sts = client(port, "sts")
        sts.get_caller_identity()
        # a credential made through the test hook: its secret must be sealed at rest
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        url = f"http://127.0.0.1:{port}/_mamori/principals"
        body = b'{"userName": "sealed"}'
        req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials("test", "test"), "mamori", "us-east-1").add_auth(req)
        secret = requests.post(url, data=body, headers=dict(req.prepare().headers), timeout=10).json()["SecretAccessKey"]
    finally:
        proc.terminate()
        proc.wait(10)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in blob
