"""RFC 6238 TOTP (the codes of a virtual MFA device): HMAC-SHA1, 30-second steps,
6 digits, over the RFC 4226 HOTP dynamic truncation. Time comes from the caller (the
mamori clock), never from here.

    new_seed() -> 20 random bytes        base32(seed) -> 'JBSWY3DP...' (no padding)
    code(seed, t) -> '123456'            otpauth_uri(...) -> the QR code's text
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP = 30
DIGITS = 6


def new_seed() -> bytes:
    return secrets.token_bytes(20)


def base32(seed: bytes) -> str:
    # AWS's Base32StringSeed is 64 characters for its 40-byte seeds; authenticator apps
    # accept unpadded base32 of any length.
    return base64.b32encode(seed).decode().rstrip("=")


def from_base32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(seed: bytes, counter: int, digits: int = DIGITS) -> str:
    mac = hmac.new(seed, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def counter_at(t: float) -> int:
    return int(t // STEP)


def code(seed: bytes, t: float) -> str:
    return hotp(seed, counter_at(t))


def find_pair(seed: bytes, code1: str, code2: str, t: float, window: int) -> int | None:
    """The counter of `code2` when `code1`, `code2` are the codes of two consecutive
    steps within `window` steps of time `t` (either side), else None."""
    now = counter_at(t)
    for c in range(now - window, now + window + 1):
        if hmac.compare_digest(hotp(seed, c), code1) and hmac.compare_digest(hotp(seed, c + 1), code2):
            return c + 1
    return None


def otpauth_uri(seed: bytes, label: str, issuer: str = "Amazon Web Services") -> str:
    return (
        f"otpauth://totp/{quote(issuer)}:{quote(label)}?secret={base32(seed)}"
        f"&issuer={quote(issuer)}&algorithm=SHA1&digits={DIGITS}&period={STEP}"
    )
