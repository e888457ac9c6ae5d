"""Timestamps on the wire: parse and format the three formats AWS protocols use.

- `iso8601`        `2024-05-01T12:00:00Z` / `2024-05-01T12:00:00.123Z` (query, ec2 and
                   rest-xml bodies; rest query strings)
- `unixTimestamp`  epoch seconds, a number with up to millisecond fraction (json and
                   rest-json bodies; CBOR uses it under tag 1)
- `rfc822`         `Wed, 01 May 2024 12:00:00 GMT` (rest headers)

A member's `timestampFormat` trait overrides the protocol's default; `format_for`
resolves it. Parsing is lenient about which of the three formats arrives (clients in the
wild send ISO strings to JSON services and numbers in query strings); formatting is
strict. Values out of `datetime`'s range and garbage raise `ValueError`; each protocol
turns that into its own AwsError.

Smithy timestamps carry millisecond precision; we format milliseconds only when the
value has them so second-precision values stay short, as AWS writes them.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from botocore.model import Shape

ISO8601 = "iso8601"
UNIX = "unixTimestamp"
RFC822 = "rfc822"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def format_for(shape: Shape | None, default: str) -> str:
    """The member's `timestampFormat` trait, else the protocol's default."""
    if shape is not None:
        fmt = shape.serialization.get("timestampFormat")
        if fmt:
            return _canonical(fmt)
    return default


def _canonical(fmt: str) -> str:
    low = fmt.lower()
    if low == "unixtimestamp":
        return UNIX
    if low == "rfc822":
        return RFC822
    return ISO8601


def from_epoch(seconds: float) -> datetime:
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"not a timestamp: {seconds!r}")
    # timedelta keeps microseconds exact where float division would round oddly.
    whole = math.floor(seconds)
    millis = round((seconds - whole) * 1000)
    try:
        return _EPOCH + timedelta(seconds=whole, milliseconds=millis)
    except OverflowError as exc:
        raise ValueError(f"timestamp out of range: {seconds!r}") from exc


def parse(value: Any, fmt: str | None = None) -> datetime:
    """A wire value (str or number) -> tz-aware UTC datetime. Raises ValueError."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch(value)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if _NUMBER_RE.match(text):
        return from_epoch(float(text))
    match = _ISO_RE.match(text)
    if match:
        return _parse_iso(match)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not a timestamp: {value!r}") from exc
    if parsed is None:  # pragma: no cover - older Pythons returned None
        raise ValueError(f"not a timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_iso(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(sign * offset)
    try:
        dt = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"not a timestamp: {match.string!r}") from exc
    return dt.astimezone(timezone.utc)


def to_datetime(value: Any) -> datetime:
    """What providers hand us (datetime, epoch number, ISO string) -> aware datetime."""
    return parse(value)


def format(value: Any, fmt: str) -> str | int | float:  # noqa: A001 - the module's verb
    """An output value -> its wire form in `fmt` (numbers for unixTimestamp)."""
    if fmt == UNIX and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        # An epoch number stays a number (to the millisecond), without a datetime between:
        # GetMetricData answers 100,000 timestamps a page.
        whole = math.floor(value)
        millis = round((value - whole) * 1000)
        if millis == 1000:
            whole, millis = whole + 1, 0
        return whole + millis / 1000 if millis else int(whole)
    dt = to_datetime(value).astimezone(timezone.utc)
    millis = dt.microsecond // 1000
    if fmt == UNIX:
        seconds = int((dt.replace(microsecond=0) - _EPOCH).total_seconds())
        return seconds + millis / 1000 if millis else seconds
    if fmt == RFC822:
        return format_datetime(dt.replace(microsecond=0), usegmt=True)
    base = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
        f"T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    return f"{base}.{millis:03d}Z" if millis else base + "Z"
