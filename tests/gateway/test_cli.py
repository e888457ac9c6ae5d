"""The `mamori` command against a running server."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(mamori, *args):
    env = dict(os.environ, MAMORI_ENDPOINT=mamori.endpoint_url,
               MAMORI_ROOT_ACCESS_KEY_ID=mamori.access_key_id, MAMORI_ROOT_SECRET_ACCESS_KEY=mamori.secret_access_key)
    return subprocess.run([sys.executable, "-m", "mamori", *args], env=env, capture_output=True, text=True, timeout=60)


def test_env_prints_export_lines():
    out = subprocess.run([sys.executable, "-m", "mamori", "env", "--port", "4599"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert "export AWS_ENDPOINT_URL=http://localhost:4599" in lines
    assert any(line.startswith("export AWS_ACCESS_KEY_ID=") for line in lines)
    assert any(line.startswith("export AWS_DEFAULT_REGION=") for line in lines)


def test_clock_commands(mamori, mamori_clock):
    out = run_cli(mamori, "clock", "freeze")
    assert out.returncode == 0, out.stderr
    assert "(frozen)" in out.stdout
    before = mamori_clock.now()
    out = run_cli(mamori, "clock", "advance", "2d")
    assert out.returncode == 0, out.stderr
    assert abs(mamori_clock.now() - (before + 2 * 86400)) < 1e-6
    out = run_cli(mamori, "clock", "resume")
    assert out.returncode == 0 and "(frozen)" not in out.stdout


def test_coverage_counts_come_from_providers():
    out = subprocess.run([sys.executable, "-m", "mamori", "coverage"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    rows = {line.split("|")[1].strip(): line for line in out.stdout.splitlines()[2:]}
    sts = [c.strip() for c in rows["sts"].split("|")[1:-1]]
    assert sts[0] == "sts" and int(sts[1]) >= 1 and int(sts[2]) == 11


def test_reset_forgets_state():
    from mamori.testing.plugin import MamoriServer

    server = MamoriServer.start()
    try:
        ct = server.client("cloudtrail")
        ct.create_trail(Name="to-forget", S3BucketName="b")
        out = run_cli(server, "reset")
        assert out.returncode == 0 and out.stdout.strip() == "reset"
        assert ct.describe_trails()["trailList"] == []
        # the event history is gone too: only the DescribeTrails just made remains
        names = [e["EventName"] for e in ct.lookup_events()["Events"]]
        assert names == ["DescribeTrails"]
    finally:
        server.stop()


def test_explain_prints_the_decision(mamori):
    creds = mamori.create_principal("explain-erin")
    ct = mamori.client("cloudtrail", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    try:
        ct.list_trails()
    except Exception as exc:  # noqa: BLE001 - the denial is the point
        request_id = exc.response["ResponseMetadata"]["RequestId"]
    out = run_cli(mamori, "explain", request_id)
    assert out.returncode == 0, out.stderr
    assert "DENIED" in out.stdout and "cloudtrail:ListTrails" in out.stdout
