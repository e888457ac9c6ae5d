"""What every IAM resource family shares: time, writes, lookups that raise AWS's
NoSuchEntity, the ARN to authorize on, policy-document checks and output helpers.

Each family module (users.py, groups.py, ...) defines a mixin of `IamOperations`;
provider.py assembles them into the one `IamProvider`.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.policy import PolicyError, PolicyKind, parse_policy
from mamori.services.iam import repository as repo
from mamori.services.iam.validation import (
    check_tags,
    malformed,
    merge_tags,
    no_such_entity,
    paginate,
    remove_tags,
    resource_tag_conditions,
    tag_conditions,
)

ISO = "%Y-%m-%dT%H:%M:%SZ"

# What NoSuchEntity says for each family (doc: the IAM API reference's examples).
_MISSING = {
    "user": "The user with name {} cannot be found.",
    "group": "The group with name {} cannot be found.",
    "role": "The role with name {} cannot be found.",
    "instance-profile": "Instance Profile {} cannot be found.",
    "server-certificate": "The Server Certificate with name {} cannot be found.",
}


def stamp(ctx: RequestContext) -> str:
    return ctx.now().astimezone(timezone.utc).strftime(ISO)


def to_datetime(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, ISO).replace(tzinfo=timezone.utc)


def encoded(document: str) -> str:
    """IAM returns policy documents URL-encoded (boto3 decodes them back)."""
    return quote(document, safe="")


def document_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class IamOperations:
    """Helpers for the operation mixins."""

    # -- writes ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, ctx: RequestContext) -> Iterator[Any]:
        """One transaction per mutating operation; bumps the account's IAM version."""
        store = ctx.store
        with store.transaction():
            yield store
            repo.bump(store, ctx.account_id)

    # -- lookups --------------------------------------------------------------------------

    def arn_for(self, ctx: RequestContext, family: str, name: str) -> str:
        """The ARN to authorize on: the entity's own (with its path) when it exists,
        else the ARN it would have at path `/` (as IAM reports for missing entities)."""
        return repo.arn_by_name(ctx.store, ctx.account_id, family, name) or repo.entity_arn(
            ctx.account_id, family, "/", name
        )

    def require(self, ctx: RequestContext, family: str, name: str) -> dict[str, Any]:
        doc = repo.by_name(ctx.store, ctx.account_id, family, name)
        if doc is None:
            raise no_such_entity(_MISSING[family].format(name))
        return doc

    # -- tags of named entities (users, roles, instance profiles) ---------------------------

    def tag_named(self, ctx: RequestContext, family: str, action: str, name: str, tags: Any) -> dict[str, Any]:
        tags = check_tags(tags)
        existing = repo.by_name(ctx.store, ctx.account_id, family, name)
        conditions = {**tag_conditions(tags), **resource_tag_conditions(existing)}
        ctx.authorize(action, self.arn_for(ctx, family, name), conditions)
        doc = self.require(ctx, family, name)
        doc["Tags"] = merge_tags(doc.get("Tags", []), tags)
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
        return {}

    def untag_named(self, ctx: RequestContext, family: str, action: str, name: str, keys: Any) -> dict[str, Any]:
        keys = list(keys)
        existing = repo.by_name(ctx.store, ctx.account_id, family, name)
        ctx.authorize(action, self.arn_for(ctx, family, name), {"aws:TagKeys": keys, **resource_tag_conditions(existing)})
        doc = self.require(ctx, family, name)
        doc["Tags"] = remove_tags(doc.get("Tags", []), keys)
        with self.writing(ctx) as store:
            repo.save(store, family, ctx.account_id, doc)
        return {}

    def list_named_tags(self, ctx: RequestContext, family: str, action: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize(action, self.arn_for(ctx, family, name))
        return paginate(self.require(ctx, family, name).get("Tags", []), request, "Tags")

    def require_policy(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        if arn.startswith(repo.AWS_POLICY_PREFIX + "/"):
            doc = repo.aws_managed_policy(arn)
        else:
            doc = ctx.store.get(arn) if arn.startswith("arn:aws:iam::") else None
            if doc is not None and "PolicyId" not in doc:
                doc = None
        if doc is None:
            if not arn.startswith("arn:"):
                raise AwsError(f"ARN {arn} is not valid.", code="InvalidInput", status=400)
            raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
        return doc

    # -- policy documents -------------------------------------------------------------------

    def check_document(self, text: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> str:
        text = document_text(text)
        try:
            parse_policy(text, kind)
        except PolicyError as exc:
            if exc.code == "MalformedPolicyDocument":
                raise malformed(exc.message) from None
            raise AwsError(exc.message, code=exc.code, status=409 if exc.code == "LimitExceeded" else 400) from None
        return text
