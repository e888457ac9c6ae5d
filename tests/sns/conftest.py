"""Fixtures of the SNS tests (helpers in sns_helpers.py)."""

from __future__ import annotations

import pytest
from sns_helpers import Subscriber


@pytest.fixture
def subscriber():
    sub = Subscriber()
    try:
        yield sub
    finally:
        sub.close()
