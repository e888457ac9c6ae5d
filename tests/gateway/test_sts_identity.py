"""The smallest real operation, through boto3 and the AWS CLI against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError


def test_boto3_root_identity(mamori):
    ident = mamori.client("sts").get_caller_identity()
    assert ident["Account"] == mamori.account_id
    assert ident["Arn"] == f"arn:aws:iam::{mamori.account_id}:root"
    assert ident["UserId"] == mamori.account_id


def test_boto3_user_identity(mamori):
    creds = mamori.create_principal("identity-alice")
    sts = mamori.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{mamori.account_id}:user/identity-alice"
    assert ident["UserId"] == creds["UserId"] and ident["UserId"].startswith("AIDA")


def test_identity_region_comes_from_the_request(mamori):
    # The call is signed for eu-west-1; the answer is the same account everywhere.
    ident = mamori.client("sts", region_name="eu-west-1").get_caller_identity()
    assert ident["Account"] == mamori.account_id


def test_aws_cli_with_only_environment(mamori, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(mamori.env())
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "sts", "get-caller-identity", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["Account"] == mamori.account_id
    assert doc["Arn"].endswith(":root")


def test_unknown_access_key_is_refused(mamori):
    sts = mamori.client("sts", aws_access_key_id="AKIANOTAREALKEY00000", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret_is_refused(mamori):
    sts = mamori.client("sts", aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "not-the-secret" not in str(err.value.response)
