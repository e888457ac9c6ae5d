"""TOTP of virtual MFA devices: RFC 6238 test vectors (SHA1, truncated to 6 digits)
and agreement with pyotp."""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.services.iam import totp

RFC_SEED = b"12345678901234567890"
# RFC 6238 appendix B, SHA1 column; the 8-digit values' last 6 digits.
RFC_VECTORS = [
    (59, "287082"),
    (1111111109, "081804"),
    (1111111111, "050471"),
    (1234567890, "005924"),
    (2000000000, "279037"),
    (20000000000, "353130"),
]


@pytest.mark.parametrize("t,expected", RFC_VECTORS)
def test_rfc6238_vectors(t, expected):
    assert totp.code(RFC_SEED, t) == expected


@settings(max_examples=50, deadline=None, derandomize=True)
@given(seed=st.binary(min_size=20, max_size=40), t=st.integers(min_value=0, max_value=4_000_000_000))
def test_agrees_with_pyotp(seed, t):
    assert totp.code(seed, t) == pyotp.TOTP(totp.base32(seed)).at(t)


def test_base32_round_trip_and_pair_search():
    seed = totp.new_seed()
    assert len(seed) == 20
    assert totp.from_base32(totp.base32(seed)) == seed
    t = 1_700_000_000
    c1, c2 = totp.code(seed, t - 30), totp.code(seed, t)
    assert totp.find_pair(seed, c1, c2, t, window=2) == totp.counter_at(t)
    assert totp.find_pair(seed, c2, c1, t, window=2) is None
    assert totp.find_pair(seed, c1, c2, t + 3600, window=2) is None


def test_otpauth_uri_names_the_secret():
    seed = b"\x01" * 20
    uri = totp.otpauth_uri(seed, "dev@123456789012")
    assert uri.startswith("otpauth://totp/Amazon%20Web%20Services:dev%40123456789012?secret=")
    assert f"secret={totp.base32(seed)}" in uri
    parsed = pyotp.parse_uri(uri)
    assert parsed.now() == pyotp.TOTP(totp.base32(seed)).now()
