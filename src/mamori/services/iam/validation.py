"""Input checks IAM makes beyond the model's length constraints, and IAM's errors.

The protocol layer checks lengths and `required`; it only *searches* model patterns
(Smithy patterns are unanchored), so the name and path rules IAM really enforces
(whole-string `[\\w+=,.@-]+`, `/.../`) are checked here, with the same message form.
(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)
"""

from __future__ import annotations

import base64
import re
from typing import Any, Callable, Sequence

from mamori.errors import AwsError

NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)
PATH_RE = re.compile(r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)")
PATH_PREFIX_RE = re.compile(r"\u002F[\u0021-\u007E]*")
TAG_RE = re.compile(r"[\w\s+=.:/@-]*", re.UNICODE)

MAX_TAGS = 50


# -- errors -------------------------------------------------------------------------------


def no_such_entity(message: str) -> AwsError:
    return AwsError(message, code="NoSuchEntity", status=404)


def already_exists(message: str) -> AwsError:
    return AwsError(message, code="EntityAlreadyExists", status=409)


def delete_conflict(message: str) -> AwsError:
    return AwsError(message, code="DeleteConflict", status=409)


def limit_exceeded(message: str) -> AwsError:
    return AwsError(message, code="LimitExceeded", status=409)


def invalid_input(message: str) -> AwsError:
    return AwsError(message, code="InvalidInput", status=400)


def unmodifiable(message: str) -> AwsError:
    return AwsError(message, code="UnmodifiableEntity", status=400)


def malformed(message: str) -> AwsError:
    return AwsError(message, code="MalformedPolicyDocument", status=400)


def validation_error(member: str, value: Any, constraint: str) -> AwsError:
    return AwsError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
        code="ValidationError",
        status=400,
    )


# -- names and paths ----------------------------------------------------------------------


def check_name(value: str, member: str, max_len: int = 64) -> str:
    if not isinstance(value, str) or not value:
        raise validation_error(member, value, "Member must have length greater than or equal to 1")
    if len(value) > max_len:
        raise validation_error(member, value, f"Member must have length less than or equal to {max_len}")
    if not NAME_RE.fullmatch(value):
        raise validation_error(member, value, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_path(value: str | None, member: str = "path") -> str:
    if value is None:
        return "/"
    if len(value) > 512:
        raise validation_error(member, value, "Member must have length less than or equal to 512")
    if not PATH_RE.fullmatch(value):
        raise validation_error(
            member, value, "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )
    return value


def check_path_prefix(value: str | None, member: str = "pathPrefix") -> str:
    if value is None:
        return "/"
    if not PATH_PREFIX_RE.fullmatch(value):
        raise validation_error(member, value, "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*")
    return value


# -- tags -----------------------------------------------------------------------------------


def check_tags(tags: Sequence[dict[str, str]] | None) -> list[dict[str, str]]:
    """Validate a Tags list; duplicate keys (case-insensitive) are InvalidInput."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, tag in enumerate(tags or [], 1):
        key, value = tag.get("Key", ""), tag.get("Value", "")
        if not key or len(key) > 128:
            raise validation_error(f"tags.{i}.member.key", key, "Member must have length less than or equal to 128")
        if len(value) > 256:
            raise validation_error(f"tags.{i}.member.value", value, "Member must have length less than or equal to 256")
        if not TAG_RE.fullmatch(key):
            raise validation_error(
                f"tags.{i}.member.key", key, "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
            )
        if key.lower().startswith("aws:"):
            raise invalid_input("User-defined tag keys can't start with 'aws:'.")
        if key.lower() in seen:
            raise invalid_input("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(key.lower())
        out.append({"Key": key, "Value": value})
    if len(out) > MAX_TAGS:
        raise limit_exceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return out


def merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """TagX: a key already there (any case) gets the new value."""
    merged = {t["Key"].lower(): dict(t) for t in current}
    for t in new:
        old = merged.get(t["Key"].lower())
        merged[t["Key"].lower()] = {"Key": old["Key"] if old else t["Key"], "Value": t["Value"]}
    out = list(merged.values())
    if len(out) > MAX_TAGS:
        raise limit_exceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return out


def remove_tags(current: list[dict[str, str]], keys: Sequence[str]) -> list[dict[str, str]]:
    drop = {k.lower() for k in keys}
    return [t for t in current if t["Key"].lower() not in drop]


def tag_conditions(tags: Sequence[dict[str, str]]) -> dict[str, Any]:
    """aws:RequestTag/K and aws:TagKeys for a request that carries tags."""
    if not tags:
        return {}
    cond: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags}
    cond["aws:TagKeys"] = [t["Key"] for t in tags]
    return cond


def resource_tag_conditions(doc: dict[str, Any] | None) -> dict[str, Any]:
    return {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in (doc or {}).get("Tags", [])}


# -- pagination -----------------------------------------------------------------------------


def paginate(
    items: Sequence[Any], request: dict[str, Any], member: str, render: Callable[[Any], Any] = lambda x: x
) -> dict[str, Any]:
    """IAM pagination: `MaxItems` (1..1000, default 100), an opaque `Marker`, and
    `IsTruncated` always present."""
    max_items = request.get("MaxItems") or 100
    if not 1 <= int(max_items) <= 1000:
        raise validation_error("maxItems", max_items, "Member must have value less than or equal to 1000")
    start = 0
    marker = request.get("Marker")
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid_input("Invalid Marker.") from None
    page = items[start : start + int(max_items)]
    out: dict[str, Any] = {member: [render(x) for x in page]}
    end = start + len(page)
    out["IsTruncated"] = end < len(items)
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return out
