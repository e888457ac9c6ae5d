"""`mamori mail [ADDRESS]` prints the local mailbox of a running server."""

from __future__ import annotations

import os
import subprocess
import sys


def test_mamori_mail_prints_the_mailbox(mamori):
    sns = mamori.client("sns")
    arn = sns.create_topic(Name="cli-mail")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="cli@example.com")
    env = dict(os.environ, MAMORI_ENDPOINT=mamori.endpoint_url,
               MAMORI_ROOT_ACCESS_KEY_ID=mamori.access_key_id, MAMORI_ROOT_SECRET_ACCESS_KEY=mamori.secret_access_key)
    out = subprocess.run([sys.executable, "-m", "mamori", "mail", "cli@example.com"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "To: cli@example.com" in out.stdout and arn in out.stdout
    other = subprocess.run([sys.executable, "-m", "mamori", "mail", "nobody@example.com"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 0 and "cli@example.com" not in other.stdout
