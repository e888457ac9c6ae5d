"""Fixtures of the IAM API tests: a boto3 IAM client on the session's mamori server
and unique names (the server is shared by the whole session)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def iam(mamori):
    return mamori.client("iam")


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:10]


@pytest.fixture
def iam_raw(mamori):
    """An IAM client that skips boto3's own parameter checks, so the server's are seen."""
    from botocore.config import Config

    return mamori.client("iam", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
