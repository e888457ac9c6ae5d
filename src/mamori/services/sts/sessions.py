"""What a new STS session carries, checked as AWS checks it: session policies and their
packed size, session tags (with the transitive ones a role chain inherits) and the
source identity.

    session_policies(store, request)           -> (texts, packed bytes)
    session_tags(request, caller_session)       -> SessionTags
    source_identity(request, caller_session)    -> str | None
    packed_percent(policy_bytes, tags)          -> int, raising PackedPolicyTooLarge

AWS packs the inline policy, the managed policy ARNs and the session tags into a
compressed binary form with its own limit and reports how full it is as
`PackedPolicySize` (a percentage). The format is not public; mamori counts the plain
text against the documented 2,048-character budget, which gives the same answer for
the cases the docs describe (a small policy: a few percent; a policy or tags past the
plain-text limits: refused).
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mamori.errors import AwsError, error
from mamori.policy import PolicyError, PolicyKind, parse_policy, policy_size
from mamori.services.iam import repository as repo

PACKED_LIMIT = 2048


def validation(message: str) -> AwsError:
    return error("ValidationError", message)


def session_policies(store: Any, request: dict[str, Any]) -> tuple[list[str], int]:
    """The inline `Policy` and the documents of `PolicyArns`, validated; and the packed
    size they take (characters of the inline policy without whitespace, plus the ARNs)."""
    texts: list[str] = []
    size = 0
    if request.get("Policy") is not None:
        text = request["Policy"]
        try:
            parse_policy(json.loads(text), PolicyKind.SESSION)
        except ValueError:
            raise error("MalformedPolicyDocument", "The policy is not in the valid JSON format.") from None
        except PolicyError as exc:
            raise error("MalformedPolicyDocument", str(exc) or "The policy is not in the valid JSON format.") from None
        texts.append(text)
        size += policy_size(text)
    for item in request.get("PolicyArns") or []:
        arn = item.get("arn") or ""
        managed = repo.managed_policy(store, arn)
        if managed is None:
            raise error("MalformedPolicyDocument", f"The policy {arn} does not exist or is not attachable.")
        texts.append(managed["Document"])
        size += len(arn)
    return texts, size


@dataclass
class SessionTags:
    """The tags of a new session: what the caller passed plus what it inherited."""

    tags: dict[str, str] = field(default_factory=dict)  # every session tag, inherited first
    transitive: list[str] = field(default_factory=list)  # keys that follow the next hop
    requested: dict[str, str] = field(default_factory=dict)  # only those of this request
    requested_transitive: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.tags)

    def size(self) -> int:
        return sum(len(k) + len(v) for k, v in self.tags.items())

    def conditions(self) -> dict[str, Any]:
        """The keys `sts:TagSession` is decided on (doc: id_session-tags.html,
        "Permissions required to add session tags")."""
        out: dict[str, Any] = {}
        if self.requested:
            out["aws:TagKeys"] = list(self.requested)
            for key, value in self.requested.items():
                out[f"aws:RequestTag/{key}"] = value
        if self.requested_transitive:
            out["sts:TransitiveTagKeys"] = list(self.requested_transitive)
        return out


def session_tags(request: dict[str, Any], caller_session: dict[str, Any] | None, *, allow_transitive: bool = True) -> SessionTags:
    """Tag keys are case-insensitive but keep their case. A key may not start with
    `aws:`, appear twice, or repeat a transitive tag inherited from the calling
    session; `TransitiveTagKeys` must name tags being passed."""
    caller_session = caller_session or {}
    inherited_keys = [k for k in caller_session.get("transitiveTagKeys") or []]
    inherited = {k: v for k, v in (caller_session.get("sessionTags") or {}).items() if k in inherited_keys}
    requested: dict[str, str] = {}
    seen: set[str] = set()
    for tag in request.get("Tags") or []:
        key, value = tag["Key"], tag.get("Value", "")
        if key.lower().startswith("aws:"):
            raise validation(f"Tag key {key} is not valid: tag keys may not start with 'aws:'.")
        if key.lower() in seen:
            raise validation("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(key.lower())
        requested[key] = value
    inherited_lower = {k.lower() for k in inherited}
    for key in requested:
        if key.lower() in inherited_lower:
            # "If you pass a session tag with the same key as an inherited tag, the
            # operation fails." (API_AssumeRole.html, Tags)
            raise validation(f"The session tag {key} has the same key as a transitive tag inherited from the "
                             "calling session.")
    transitive_requested = list(request.get("TransitiveTagKeys") or [])
    if transitive_requested and not allow_transitive:
        raise validation("TransitiveTagKeys can't be set for a federated user session.")
    for key in transitive_requested:
        if key.lower() not in seen:
            raise validation(f"The transitive tag key {key} is not one of the session tags of this request.")
    requested_lower = {k.lower(): k for k in requested}
    transitive = list(inherited) + [requested_lower[k.lower()] for k in transitive_requested]
    return SessionTags({**inherited, **requested}, transitive, requested, transitive_requested)


def source_identity(request: dict[str, Any], caller_session: dict[str, Any] | None) -> str | None:
    """The source identity of the new session: the one inherited along a role chain,
    which can't change, or the one set now.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html"""
    inherited = (caller_session or {}).get("sourceIdentity")
    asked = request.get("SourceIdentity")
    if asked is not None and asked.lower().startswith("aws:"):
        raise validation("SourceIdentity may not start with 'aws:'.")
    if inherited is not None:
        if asked is not None and asked != inherited:
            raise validation("The source identity of a role chain can't be changed: the calling session has "
                             f"source identity {inherited}.")
        return inherited
    return asked


def packed_percent(policy_bytes: int, tags: SessionTags) -> int:
    """`PackedPolicySize`, refusing past 100% with AWS's two texts (policies, tags)."""
    percent = -(-(policy_bytes + tags.size()) * 100 // PACKED_LIMIT)  # ceiling
    if percent > 100:
        if policy_bytes > PACKED_LIMIT or not tags.any:
            raise error("PackedPolicyTooLarge",
                        f"Packed policy consumes {percent}% of allotted space, please use smaller policy.")
        raise error("PackedPolicyTooLarge", f"Packed size of session tags consumes {percent}% of allotted space.")
    return percent
