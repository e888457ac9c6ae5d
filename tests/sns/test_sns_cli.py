"""The AWS CLI as a real process: an HTTP endpoint subscribed with `aws sns subscribe`
(the CLI must not fetch the http:// argument, hence cli_follow_urlparam = false),
confirmed with `aws sns confirm-subscription`, then `aws sns publish` with message
attributes reaches it, signed."""

from __future__ import annotations

import json
import os
import subprocess

from sns_helpers import body, verify, wait_for


def aws(mamori, config, *args):
    env = dict(os.environ, **mamori.env(), AWS_CONFIG_FILE=str(config))
    out = subprocess.run(["aws", *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_cli_subscribe_confirm_publish(mamori, subscriber, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\ncli_follow_urlparam = false\n")
    topic = aws(mamori, config, "sns", "create-topic", "--name", "cli-topic",
                "--attributes", "SignatureVersion=2")["TopicArn"]
    assert aws(mamori, config, "sns", "subscribe", "--topic-arn", topic, "--protocol", "http",
               "--notification-endpoint", subscriber.url + "/cli")["SubscriptionArn"] == "pending confirmation"
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    arn = aws(mamori, config, "sns", "confirm-subscription", "--topic-arn", topic,
              "--token", body(item)["Token"])["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    out = aws(mamori, config, "sns", "publish", "--topic-arn", topic, "--message", "from the CLI",
              "--message-attributes", json.dumps({"team": {"DataType": "String", "StringValue": "sec"}}))
    [posted] = wait_for(lambda: subscriber.messages("Notification"))
    note = body(posted)
    assert note["MessageId"] == out["MessageId"] and note["Message"] == "from the CLI"
    assert note["MessageAttributes"] == {"team": {"Type": "String", "Value": "sec"}}
    verify(note)
