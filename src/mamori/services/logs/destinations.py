"""Cross-account subscription destinations (PutDestination, PutDestinationPolicy,
DescribeDestinations, DeleteDestination), account-level policies (PutAccountPolicy,
DescribeAccountPolicies, DeleteAccountPolicy) and field index policies (PutIndexPolicy,
DescribeIndexPolicies, DeleteIndexPolicy). Stored and validated; nothing is delivered.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDestination.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    GROUP,
    group_arn,
    group_name,
    invalid,
    make_token,
    public,
    request_tag_keys,
    resource_tag_keys,
    token_offset,
)

DESTINATION = "logs:destination"
ACCOUNT_POLICY = "logs:account-policy"
TARGET = re.compile(r"^arn:aws[\w-]*:(kinesis|firehose|lambda):[a-z0-9-]+:\d{12}:.+$")


def _json_doc(text: str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError
        return doc
    except ValueError:
        raise invalid(f"Invalid {what}: the document is not a valid JSON object.") from None


class DestinationOperations:
    # -- destinations --------------------------------------------------------------------

    def _destination_arn(self, ctx: RequestContext, name: str) -> str:
        return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:destination:{name}"

    def put_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["destinationName"]
        arn = self._destination_arn(ctx, name)
        tags = request.get("tags") or {}
        ctx.authorize("logs:PutDestination", arn, request_tag_keys(tags))
        if not TARGET.match(request["targetArn"]):
            raise invalid("Invalid targetArn: must be a Kinesis stream, Firehose delivery stream or Lambda function.")
        ctx.authorize_pass_role(request["roleArn"], "logs.amazonaws.com", arn)
        existing = ctx.store.get(arn)
        doc = {"destinationName": name, "targetArn": request["targetArn"], "roleArn": request["roleArn"],
               "arn": arn, "creationTime": existing["creationTime"] if existing else int(ctx.time() * 1000),
               "_tags": {**((existing or {}).get("_tags") or {}), **tags}}
        if existing and existing.get("accessPolicy"):
            doc["accessPolicy"] = existing["accessPolicy"]
        ctx.store.put(arn, doc, kind=DESTINATION, account_id=ctx.account_id, region=ctx.region)
        return {"destination": public(doc)}

    def put_destination_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._destination_arn(ctx, request["destinationName"])
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutDestinationPolicy", arn, resource_tag_keys(doc or {}))
        _json_doc(request["accessPolicy"], "access policy")
        if doc is None:
            raise error("ResourceNotFoundException", "The specified destination does not exist.")
        doc["accessPolicy"] = request["accessPolicy"]
        ctx.store.put(arn, doc, kind=DESTINATION, account_id=ctx.account_id, region=ctx.region)
        return {}

    def describe_destinations(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeDestinations", "*")
        prefix = request.get("DestinationNamePrefix") or ""
        items = sorted((public(d) for d in ctx.store.list(DESTINATION, account_id=ctx.account_id, region=ctx.region)
                        if d["destinationName"].startswith(prefix)), key=lambda d: d["destinationName"])
        limit = request.get("limit") or 50
        start = token_offset(request)
        out: dict[str, Any] = {"destinations": items[start:start + limit]}
        if start + limit < len(items):
            out["nextToken"] = make_token({"offset": start + limit})
        return out

    def delete_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._destination_arn(ctx, request["destinationName"])
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteDestination", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise error("ResourceNotFoundException", "The specified destination does not exist.")
        ctx.store.delete(arn)
        return {}

    # -- account policies ----------------------------------------------------------------

    def _account_policy_key(self, ctx: RequestContext, kind: str, name: str) -> str:
        return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:account-policy:{kind}/{name}"

    def put_account_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:PutAccountPolicy", "*")
        kind = request["policyType"]
        _json_doc(request["policyDocument"], "policy document")
        scope = request.get("scope", "ALL")
        if kind == "DATA_PROTECTION_POLICY" and request.get("selectionCriteria"):
            raise invalid("selectionCriteria is not supported for DATA_PROTECTION_POLICY.")
        policy = {"policyName": request["policyName"], "policyDocument": request["policyDocument"],
                  "lastUpdatedTime": int(ctx.time() * 1000), "policyType": kind, "scope": scope,
                  "accountId": ctx.account_id}
        if request.get("selectionCriteria"):
            policy["selectionCriteria"] = request["selectionCriteria"]
        ctx.store.put(self._account_policy_key(ctx, kind, request["policyName"]), policy, kind=ACCOUNT_POLICY,
                      account_id=ctx.account_id, region=ctx.region)
        return {"accountPolicy": policy}

    def describe_account_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeAccountPolicies", "*")
        items = [p for p in ctx.store.list(ACCOUNT_POLICY, account_id=ctx.account_id, region=ctx.region)
                 if p["policyType"] == request["policyType"]
                 and (not request.get("policyName") or p["policyName"] == request["policyName"])]
        return {"accountPolicies": sorted(items, key=lambda p: p["policyName"])}

    def delete_account_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DeleteAccountPolicy", "*")
        if not ctx.store.delete(self._account_policy_key(ctx, request["policyType"], request["policyName"])):
            raise error("ResourceNotFoundException", "Policy with name [%s] does not exist" % request["policyName"])
        return {}

    # -- field index policies --------------------------------------------------------------

    def put_index_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name({"logGroupIdentifier": request["logGroupIdentifier"]})
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutIndexPolicy", arn, resource_tag_keys(doc or {}))
        policy = _json_doc(request["policyDocument"], "index policy")
        fields = policy.get("Fields")
        if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields) or len(fields) > 20:
            raise invalid("Invalid index policy: Fields must be a list of at most 20 field names.")
        if doc is None:
            raise error("ResourceNotFoundException", "The specified log group does not exist.")
        doc["_indexPolicy"] = {"logGroupIdentifier": doc["logGroupArn"], "lastUpdateTime": int(ctx.time() * 1000),
                               "policyDocument": request["policyDocument"], "policyName": "log-group-index-policy",
                               "source": "LOG_GROUP"}
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {"indexPolicy": doc["_indexPolicy"]}

    def describe_index_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        out = []
        for ident in request["logGroupIdentifiers"]:
            arn = group_arn(ctx, name=group_name({"logGroupIdentifier": ident}))
            doc = ctx.store.get(arn)
            ctx.authorize("logs:DescribeIndexPolicies", arn, resource_tag_keys(doc or {}))
            if doc is None:
                raise error("ResourceNotFoundException", "The specified log group does not exist.")
            if doc.get("_indexPolicy"):
                out.append(doc["_indexPolicy"])
        return {"indexPolicies": out}

    def delete_index_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = group_arn(ctx, name=group_name({"logGroupIdentifier": request["logGroupIdentifier"]}))
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteIndexPolicy", arn, resource_tag_keys(doc or {}))
        if doc is None or not doc.get("_indexPolicy"):
            raise error("ResourceNotFoundException", "The specified index policy does not exist.")
        doc.pop("_indexPolicy")
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {}

    def describe_field_indexes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """The fields the groups' index policies (the group's own, else account-level
        FIELD_INDEX_POLICY policies that select it) index, with the first and last event
        time of the events that have each field; fields no event has yet are left out.
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeFieldIndexes.html"""
        from mamori.store import logs as events_store

        ctx.authorize("logs:DescribeFieldIndexes", "*")
        now = int(ctx.time() * 1000)
        out = []
        for ident in request["logGroupIdentifiers"]:
            name = group_name({"logGroupIdentifier": ident})
            doc = ctx.store.get(group_arn(ctx, name=name))
            if doc is None:
                raise error("ResourceNotFoundException", "The specified log group does not exist.")
            fields = self._indexed_fields(ctx, doc)
            ranges = events_store.field_time_ranges(ctx.telemetry, ctx.account_id, ctx.region, name, fields)
            for field in fields:
                if field in ranges:
                    out.append({"logGroupIdentifier": doc["logGroupArn"], "fieldIndexName": field,
                                "lastScanTime": now, "firstEventTime": ranges[field][0],
                                "lastEventTime": ranges[field][1], "type": "FIELD_INDEX"})
        return {"fieldIndexes": out}

    def _indexed_fields(self, ctx: RequestContext, doc: dict[str, Any]) -> list[str]:
        policy = doc.get("_indexPolicy")
        if policy:
            return list(_json_doc(policy["policyDocument"], "index policy").get("Fields") or [])
        fields: list[str] = []
        for p in ctx.store.list(ACCOUNT_POLICY, account_id=ctx.account_id, region=ctx.region):
            if p["policyType"] != "FIELD_INDEX_POLICY" or not _selects(p.get("selectionCriteria"), doc["logGroupName"]):
                continue
            for f in _json_doc(p["policyDocument"], "index policy").get("Fields") or []:
                if f not in fields:
                    fields.append(f)
        return fields


def _selects(criteria: str | None, group: str) -> bool:
    """Account-level index policies select groups by `LogGroupNamePrefix IN ["a", "b"]`
    (no criteria: every group)."""
    if not criteria:
        return True
    _, _, values = criteria.partition(" IN ")
    try:
        prefixes = json.loads(values)
    except ValueError:
        return False
    return any(group.startswith(p) for p in prefixes if isinstance(p, str))
