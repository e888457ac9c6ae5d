"""Resource policies (PutResourcePolicy, DescribeResourcePolicies, DeleteResourcePolicy),
data protection policies (Put/Get/DeleteDataProtectionPolicy) and export tasks
(CreateExportTask, DescribeExportTasks, CancelExportTask: stored; delivery to S3 comes
when S3 exists, so tasks stay PENDING until cancelled).
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateExportTask.html
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    EXPORT_TASK,
    GROUP,
    RESOURCE_POLICY,
    group_arn,
    group_name,
    invalid,
    load_group,
    make_token,
    public,
    resource_tag_keys,
    token_offset,
)
from mamori.services.logs.masking import parse_policy

MAX_RESOURCE_POLICIES = 10


class PolicyOperations:
    # -- resource policies ---------------------------------------------------------------

    def put_resource_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:PutResourcePolicy", "*")
        name = request.get("policyName")
        text = request.get("policyDocument")
        if not name or not text:
            raise invalid("policyName and policyDocument are required.")
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or "Statement" not in doc:
                raise ValueError
        except ValueError:
            raise error("MalformedPolicyDocumentException", "Policy document is not valid JSON with a Statement.") from None
        key = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:resource-policy:{name}"
        existing = ctx.store.get(key)
        expected = request.get("expectedRevisionId")
        if expected is not None and (existing is None or existing["revisionId"] != expected):
            raise error("OperationAbortedException", "The revision ID does not match the current revision.")
        if existing is None and len(self._policies(ctx)) >= MAX_RESOURCE_POLICIES:
            raise error("LimitExceededException", "Resource limit exceeded.")
        policy = {"policyName": name, "policyDocument": text, "lastUpdatedTime": int(ctx.time() * 1000),
                  "policyScope": "ACCOUNT", "revisionId": uuid.uuid4().hex}
        if request.get("resourceArn"):
            policy.update(resourceArn=request["resourceArn"], policyScope="RESOURCE")
        ctx.store.put(key, policy, kind=RESOURCE_POLICY, account_id=ctx.account_id, region=ctx.region)
        return {"resourcePolicy": policy, "revisionId": policy["revisionId"]}

    def describe_resource_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeResourcePolicies", "*")
        return {"resourcePolicies": sorted(self._policies(ctx), key=lambda p: p["policyName"])}

    def delete_resource_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DeleteResourcePolicy", "*")
        key = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:resource-policy:{request.get('policyName')}"
        if not ctx.store.delete(key):
            raise error("ResourceNotFoundException", "Policy with name [%s] does not exist" % request.get("policyName"))
        return {}

    def _policies(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return ctx.store.list(RESOURCE_POLICY, account_id=ctx.account_id, region=ctx.region)

    # -- data protection -----------------------------------------------------------------

    def put_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name({"logGroupIdentifier": request["logGroupIdentifier"]})
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutDataProtectionPolicy", arn, resource_tag_keys(doc or {}))
        parse_policy(request["policyDocument"])
        if doc is None:
            raise error("ResourceNotFoundException", "The specified log group does not exist.")
        doc["_dataProtection"] = request["policyDocument"]
        doc["_dataProtectionTime"] = int(ctx.time() * 1000)
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {"logGroupIdentifier": request["logGroupIdentifier"], "policyDocument": request["policyDocument"],
                "lastUpdatedTime": doc["_dataProtectionTime"]}

    def get_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name({"logGroupIdentifier": request["logGroupIdentifier"]})
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:GetDataProtectionPolicy", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise error("ResourceNotFoundException", "The specified log group does not exist.")
        out: dict[str, Any] = {"logGroupIdentifier": request["logGroupIdentifier"]}
        if doc.get("_dataProtection"):
            out.update(policyDocument=doc["_dataProtection"], lastUpdatedTime=doc["_dataProtectionTime"])
        return out

    def delete_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = group_name({"logGroupIdentifier": request["logGroupIdentifier"]})
        arn = group_arn(ctx, name=name)
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteDataProtectionPolicy", arn, resource_tag_keys(doc or {}))
        if doc is None:
            raise error("ResourceNotFoundException", "The specified log group does not exist.")
        if not doc.get("_dataProtection"):
            raise error("ResourceNotFoundException", "The specified data protection policy does not exist.")
        doc.pop("_dataProtection", None)
        doc.pop("_dataProtectionTime", None)
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {}

    # -- export tasks --------------------------------------------------------------------

    def create_export_task(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = request["logGroupName"]
        ctx.authorize("logs:CreateExportTask", group_arn(ctx, name=group))
        load_group(ctx, group)
        if request["from"] > request["to"]:
            raise invalid("The from time must be before the to time.")
        active = [t for t in self._tasks(ctx) if t["status"]["code"] in ("PENDING", "RUNNING")]
        if active:
            # One active export task per account at a time.
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
            raise error("LimitExceededException", "Resource limit exceeded.")
        task_id = str(uuid.uuid4())
        task = {"taskId": task_id, "taskName": request.get("taskName", task_id), "logGroupName": group,
                "from": request["from"], "to": request["to"], "destination": request["destination"],
                "destinationPrefix": request.get("destinationPrefix", "exportedlogs"),
                "status": {"code": "PENDING", "message": "Pending"},
                "executionInfo": {"creationTime": int(ctx.time() * 1000)}}
        if request.get("logStreamNamePrefix"):
            task["_streamPrefix"] = request["logStreamNamePrefix"]
        key = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:export-task:{task_id}"
        ctx.store.put(key, task, kind=EXPORT_TASK, account_id=ctx.account_id, region=ctx.region)
        return {"taskId": task_id}

    def describe_export_tasks(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeExportTasks", "*")
        tasks = sorted(self._tasks(ctx), key=lambda t: (t["executionInfo"]["creationTime"], t["taskId"]))
        if request.get("taskId"):
            tasks = [t for t in tasks if t["taskId"] == request["taskId"]]
        if request.get("statusCode"):
            tasks = [t for t in tasks if t["status"]["code"] == request["statusCode"]]
        limit = request.get("limit") or 50
        start = token_offset(request)
        out: dict[str, Any] = {"exportTasks": [public(t) for t in tasks[start:start + limit]]}
        if start + limit < len(tasks):
            out["nextToken"] = make_token({"offset": start + limit})
        return out

    def cancel_export_task(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:CancelExportTask", "*")
        key = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:export-task:{request['taskId']}"
        task = ctx.store.get(key)
        if task is None:
            raise error("ResourceNotFoundException", "The specified export task does not exist.")
        if task["status"]["code"] not in ("PENDING", "RUNNING"):
            raise error("InvalidOperationException", "The specified export task has already finished.")
        task["status"] = {"code": "CANCELLED", "message": "Cancelled by user"}
        task["executionInfo"]["completionTime"] = int(ctx.time() * 1000)
        ctx.store.put(key, task, kind=EXPORT_TASK, account_id=ctx.account_id, region=ctx.region)
        return {}

    def _tasks(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return ctx.store.list(EXPORT_TASK, account_id=ctx.account_id, region=ctx.region)
