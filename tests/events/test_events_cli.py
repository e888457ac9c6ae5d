"""The AWS CLI and `mamori clock advance` as real processes: a scheduled rule created
with `aws events put-rule` fires when the clock is advanced from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from events_helpers import unique


def aws(mamori, *args, config=None):
    env = dict(os.environ, **mamori.env())
    if config:
        env["AWS_CONFIG_FILE"] = str(config)
    out = subprocess.run(["aws", *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def mamori_cli(mamori, *args):
    env = dict(os.environ, MAMORI_ENDPOINT=mamori.endpoint_url, MAMORI_ROOT_ACCESS_KEY_ID=mamori.access_key_id,
               MAMORI_ROOT_SECRET_ACCESS_KEY=mamori.secret_access_key)
    out = subprocess.run([sys.executable, "-m", "mamori", *args], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_scheduled_rule_fires_on_mamori_clock_advance(mamori, mamori_clock, endpoint, tmp_path):
    mamori_clock.freeze()
    config = tmp_path / "aws-config"  # the CLI would otherwise fetch an http:// argument's content
    config.write_text("[default]\ncli_follow_urlparam = false\n")
    conn = aws(mamori, "events", "create-connection", "--name", unique("c"), "--authorization-type", "API_KEY",
               "--auth-parameters", json.dumps({"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}))
    dest = aws(mamori, "events", "create-api-destination", "--name", unique("d"), "--connection-arn",
               conn["ConnectionArn"], "--invocation-endpoint", endpoint.url + "/cli", "--http-method", "POST", config=config)
    rule = unique("rule")
    rule_arn = aws(mamori, "events", "put-rule", "--name", rule, "--schedule-expression", "rate(10 minutes)")["RuleArn"]
    aws(mamori, "events", "put-targets", "--rule", rule, "--targets",
        json.dumps([{"Id": "d", "Arn": dest["ApiDestinationArn"]}]))
    mamori_cli(mamori, "clock", "advance", "25m")
    calls = endpoint.wait("/cli", 2)
    assert len(calls) == 2
    assert all(json.loads(c["body"])["resources"] == [rule_arn] for c in calls)
    aws(mamori, "events", "disable-rule", "--name", rule)
    described = aws(mamori, "events", "describe-rule", "--name", rule)
    assert described["State"] == "DISABLED"
