"""Identifiers IAM hands out, with AWS's shapes.

Unique ids are 21 characters: a 4-letter prefix naming the kind (AIDA user, AGPA
group, AROA role, ANPA policy, AIPA instance profile) and 17 base32 characters. Access
key ids are 20 characters (AKIA long-term, ASIA temporary); secrets 40 characters.
(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids)
"""

from __future__ import annotations

import secrets
import string

_BASE32 = string.ascii_uppercase + "234567"
_SECRET = string.ascii_letters + string.digits + "+/"


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(16))


def new_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET) for _ in range(40))


def new_unique_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(17))
