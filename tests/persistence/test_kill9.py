"""An acknowledged write survives `kill -9` of the server and a restart on the same data
directory: trails (resource store) and CloudTrail events (telemetry journal)."""

from __future__ import annotations

import os
import stat

import pytest

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def test_state_survives_kill_9(tmp_path):
    server = ServerProcess.start(tmp_path)
    try:
        ct = server.client("cloudtrail")
        arn = ct.create_trail(Name="durable", S3BucketName="b", TagsList=[{"Key": "k", "Value": "v"}])["TrailARN"]
        ct.start_logging(Name="durable")
        server.client("sts").get_caller_identity()
    finally:
        server.kill()

    assert stat.S_IMODE(os.stat(tmp_path / "root.key").st_mode) == 0o600
    server = ServerProcess.start(tmp_path)
    try:
        ct = server.client("cloudtrail")
        trail = ct.get_trail(Name="durable")["Trail"]
        assert trail["TrailARN"] == arn
        assert ct.get_trail_status(Name="durable")["IsLogging"] is True
        assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "k", "Value": "v"}]
        names = {e["EventName"] for e in ct.lookup_events(MaxResults=50)["Events"]}
        assert {"CreateTrail", "StartLogging", "GetCallerIdentity"} <= names
    finally:
        server.stop()


def test_secrets_are_not_stored_in_clear(tmp_path):
    server = ServerProcess.start(tmp_path)
    try:
        server.client("sts").get_caller_identity()
        # a credential made through the test hook: its secret must be sealed at rest
        secret = server.create_principal("sealed")["SecretAccessKey"]
    finally:
        server.stop()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in blob
