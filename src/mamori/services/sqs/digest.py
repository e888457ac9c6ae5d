"""MD5 digests SQS returns and boto3 verifies: of the body, and of message attributes.

Attributes digest: for each attribute sorted by name, the name, the data type (each as a
4-byte big-endian length and UTF-8 bytes), one transport byte (1 string/number, 2 binary)
and the value (4-byte length + bytes); MD5 over the concatenation.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any


def md5_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def _chunk(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_attributes(attributes: dict[str, Any]) -> str | None:
    if not attributes:
        return None
    out = b""
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = attr["DataType"]
        out += _chunk(name.encode()) + _chunk(data_type.encode())
        if data_type.startswith("Binary"):
            value = attr["BinaryValue"]
            out += b"\x02" + _chunk(value if isinstance(value, bytes) else bytes(value))
        else:
            out += b"\x01" + _chunk(attr["StringValue"].encode())
    return hashlib.md5(out).hexdigest()
