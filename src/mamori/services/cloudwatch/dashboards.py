"""Dashboards: PutDashboard (with DashboardValidationMessages), GetDashboard,
ListDashboards, DeleteDashboards.

Dashboards are global per account (ARN `arn:aws:cloudwatch::ACCOUNT:dashboard/NAME`,
no Region), kept in the resource store as kind `cloudwatch:dashboard`.

Body checks follow the dashboard body structure reference
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
a JSON object with a `widgets` array (at most 500); each widget an object with a known
`type`, a `properties` object, and optional integer `x` (0-23), `y` (>= 0), `width`
(1-24), `height` (1-1000); metric widgets need `metrics` or a `query`, text widgets a
`markdown`. Errors reject the body (InvalidParameterInput with the messages); unknown
top-level keys only warn (the dashboard is saved and the messages returned).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import invalid

KIND = "cloudwatch:dashboard"
NAME = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
PREFIX = re.compile(r"^[A-Za-z0-9_.\-]{0,255}$")
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
TOP_LEVEL = ("widgets", "start", "end", "periodOverride", "variables")
MAX_WIDGETS = 500
MAX_BODY = 1024 * 1024  # 1 MB


def dashboard_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudwatch::{account}:dashboard/{name}"


def check_body(text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(errors, warnings) as DashboardValidationMessage dicts."""
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []

    def err(path: str, message: str) -> None:
        errors.append({"DataPath": path, "Message": message})

    if len(text.encode()) > MAX_BODY:
        err("", "The dashboard body must not be larger than 1 MB")
        return errors, warnings
    try:
        body = json.loads(text)
    except ValueError as exc:
        err("", f"The field DashboardBody must be a valid JSON object: {exc.msg} at position {exc.pos}")
        return errors, warnings
    if not isinstance(body, dict):
        err("", "The field DashboardBody must be a valid JSON object")
        return errors, warnings
    for key in body:
        if key not in TOP_LEVEL:
            warnings.append({"DataPath": f"/{key}", "Message": "Should NOT have additional properties"})
    widgets = body.get("widgets")
    if widgets is None:
        err("", "Should have required property 'widgets'")
        return errors, warnings
    if not isinstance(widgets, list):
        err("/widgets", "Should be array")
        return errors, warnings
    if len(widgets) > MAX_WIDGETS:
        err("/widgets", f"Should NOT have more than {MAX_WIDGETS} items")
    for i, w in enumerate(widgets):
        path = f"/widgets/{i}"
        if not isinstance(w, dict):
            err(path, "Should be object")
            continue
        kind = w.get("type")
        if kind is None:
            err(path, "Should have required property 'type'")
        elif kind not in WIDGET_TYPES:
            err(f"{path}/type", f"Should be equal to one of the allowed values: {', '.join(WIDGET_TYPES)}")
        for key, low, high in (("x", 0, 23), ("y", 0, None), ("width", 1, 24), ("height", 1, 1000)):
            if key in w:
                v = w[key]
                if not isinstance(v, int) or isinstance(v, bool):
                    err(f"{path}/{key}", "Should be integer")
                elif v < low:
                    err(f"{path}/{key}", f"Should be >= {low}")
                elif high is not None and v > high:
                    err(f"{path}/{key}", f"Should be <= {high}")
        props = w.get("properties")
        if props is None:
            err(path, "Should have required property 'properties'")
            continue
        if not isinstance(props, dict):
            err(f"{path}/properties", "Should be object")
            continue
        if kind == "metric":
            if "metrics" not in props and "annotations" not in props and "query" not in props:
                # The three messages AWS gives a metric widget without metrics (seen in the wild).
                err(f"{path}/properties", "Should have required property 'metrics'")
                err(f"{path}/properties", "The metric widget should have specified a region and a data source or "
                    "an alarm annotation")
                err(f"{path}/properties", "Should have required property 'annotations'")
            elif "metrics" in props and not isinstance(props["metrics"], list):
                err(f"{path}/properties/metrics", "Should be array")
            for j, m in enumerate(props.get("metrics") or [] if isinstance(props.get("metrics"), list) else []):
                if not isinstance(m, list):
                    err(f"{path}/properties/metrics/{j}", "Should be array")
        elif kind == "text":
            if "markdown" not in props:
                err(f"{path}/properties", "Should have required property 'markdown'")
        elif kind == "log":
            if "query" not in props:
                err(f"{path}/properties", "Should have required property 'query'")
        elif kind == "alarm":
            if not isinstance(props.get("alarms"), list):
                err(f"{path}/properties", "Should have required property 'alarms'")
            elif not props["alarms"]:
                err(f"{path}/properties/alarms", "Should NOT have less than 1 items")
    return errors, warnings


def invalid_body_message(errors: list[dict[str, str]]) -> str:
    """AWS's text for a rejected body: the count, then the errors as JSON, e.g.
    `The dashboard body is invalid, there are 1 validation errors:\n[\n  {\n    "dataPath":
    "/widgets/0/properties/alarms", ...` (as CloudFormation users see it in the wild)."""
    listed = [{"dataPath": e["DataPath"], "message": e["Message"]} for e in errors]
    return f"The dashboard body is invalid, there are {len(errors)} validation errors:\n{json.dumps(listed, indent=2)}"


class DashboardOperations:
    """Mixin of the CloudWatch provider."""

    def put_dashboard(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("DashboardName") or ""
        arn = dashboard_arn(ctx.account_id, name)
        ctx.authorize("cloudwatch:PutDashboard", arn)
        if not NAME.match(name):
            raise AwsError(
                "The value for field DashboardName contains invalid characters. It can only contain "
                "alphanumerics, dash (-) and underscore (_).",
                code="InvalidParameterInput",
                fields={"dashboardValidationMessages": [{"DataPath": "DashboardName", "Message": "Invalid characters"}]},
            )
        body = request.get("DashboardBody") or ""
        errors, warnings = check_body(body)
        if errors:
            raise AwsError(invalid_body_message(errors), code="InvalidParameterInput",
                           fields={"dashboardValidationMessages": errors})
        doc = {
            "DashboardName": name,
            "DashboardArn": arn,
            "DashboardBody": body,
            "LastModified": ctx.time(),
            "Size": len(body.encode()),
        }
        ctx.store.put(arn, doc, kind=KIND, account_id=ctx.account_id, region="")
        ctx.resources.append({"ARN": arn, "accountId": ctx.account_id, "type": "AWS::CloudWatch::Dashboard"})
        return {"DashboardValidationMessages": warnings}

    def get_dashboard(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("DashboardName") or ""
        arn = dashboard_arn(ctx.account_id, name)
        ctx.authorize("cloudwatch:GetDashboard", arn)
        doc = ctx.store.get(arn)
        if doc is None:
            # AWS's words (https://github.com/hashicorp/terraform-provider-aws/issues/25548)
            raise AwsError(f"Dashboard {name} does not exist", code="DashboardNotFoundError")
        return {"DashboardArn": arn, "DashboardBody": doc["DashboardBody"], "DashboardName": name}

    def list_dashboards(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:ListDashboards")
        prefix = request.get("DashboardNamePrefix") or ""
        if not PREFIX.match(prefix):
            raise invalid("The value for field DashboardNamePrefix contains invalid characters. It can only contain "
                          "alphanumerics, dash (-), underscore (_) and period (.).")
        docs = [d for d in ctx.store.list(KIND, account_id=ctx.account_id) if d["DashboardName"].startswith(prefix)]
        docs.sort(key=lambda d: d["DashboardName"])
        start = 0
        if request.get("NextToken"):
            try:
                start = int(request["NextToken"])
            except ValueError:
                raise AwsError("The service cannot process the token.", code="InvalidNextToken") from None
        page = docs[start:start + 1000]
        out: dict[str, Any] = {"DashboardEntries": [
            {"DashboardName": d["DashboardName"], "DashboardArn": d["DashboardArn"], "LastModified": d["LastModified"],
             "Size": d["Size"]} for d in page
        ]}
        if start + 1000 < len(docs):
            out["NextToken"] = str(start + 1000)
        return out

    def delete_dashboards(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        names = request.get("DashboardNames") or []
        arns = [dashboard_arn(ctx.account_id, n) for n in names]
        if not arns:  # nothing named: decided on the account's dashboards, deletes nothing
            ctx.authorize("cloudwatch:DeleteDashboards", dashboard_arn(ctx.account_id, "*"))
        for arn in arns:
            ctx.authorize("cloudwatch:DeleteDashboards", arn)
        # All or nothing: one unknown name fails the call and deletes none.
        for name, arn in zip(names, arns):
            if ctx.store.get(arn) is None:
                raise AwsError(f"Dashboard {name} does not exist", code="DashboardNotFoundError")
        with ctx.store.transaction():
            for arn in arns:
                ctx.store.delete(arn)
        return {}
