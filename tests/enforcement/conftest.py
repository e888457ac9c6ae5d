"""Fixtures shared by the enforcement tests."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def user(mamori):
    """A fresh IAM user with an access key, and clients acting as that user."""
    iam = mamori.client("iam")
    name = f"enf-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        pass

    u = User()
    u.name, u.arn = name, f"arn:aws:iam::{mamori.account_id}:user/{name}"
    u.client = lambda service, **kw: mamori.client(
        service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw)
    return u
