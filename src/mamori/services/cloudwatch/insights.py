"""Contributor Insights rules (stored and described, not evaluated) and the two
operations mamori refuses by name.

    put_insight_rule / describe_insight_rules / delete_insight_rules
    enable_insight_rules / disable_insight_rules
    put_managed_insight_rules / list_managed_insight_rules
    get_insight_rule_report     NotImplemented: rules are not run over log events
    get_metric_widget_image     NotImplemented: mamori renders no graphs

A rule is a resource of kind "cloudwatch:insight-rule" under its ARN
(`arn:aws:cloudwatch:REGION:ACCOUNT:insight-rule/NAME`, taggable through tags.py).
Facts (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutInsightRule.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html):
the definition is JSON with `Schema` {"Name": "CloudWatchLogRule", "Version": 1},
`LogGroupNames` or `LogGroupARNs`, `LogFormat` JSON or CLF, `Contribution` with 1 to 4
`Keys`, and `AggregateOn` Count or Sum; RuleState ENABLED (default) or DISABLED;
DescribeInsightRules shows Schema as "CloudWatchLogRule/1" (the CLI's example output).
Managed rules come from a template for an AWS resource; mamori keeps the ones put,
named `<TemplateName>-<resource name>`, with ManagedRule true, and cannot list the
templates AWS would offer for a resource it does not run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.errors import AwsError, NotImplementedOperation
from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import missing
from mamori.services.cloudwatch.streams import _read_token, _tag_conditions, _token

RULE_KIND = "cloudwatch:insight-rule"
RULE_NAME = re.compile(r"^[\x20-\x7E]{1,128}$")
TEMPLATE = re.compile(r"^[0-9A-Za-z][\-._0-9A-Za-z]{0,126}[0-9A-Za-z]$")
STATES = ("ENABLED", "DISABLED")
PAGE = 500


def _bad(message: str) -> AwsError:
    return AwsError(message, code="InvalidParameterValueException")


def check_definition(text: str) -> dict:
    """The parsed rule definition, or InvalidParameterValueException saying what is wrong."""
    try:
        rule = json.loads(text)
    except ValueError:
        raise _bad("The rule definition is not valid JSON.") from None
    if not isinstance(rule, dict):
        raise _bad("The rule definition must be a JSON object.")
    schema = rule.get("Schema")
    if not isinstance(schema, dict) or schema.get("Name") != "CloudWatchLogRule" or schema.get("Version") != 1:
        raise _bad('The rule definition must have "Schema": {"Name": "CloudWatchLogRule", "Version": 1}.')
    groups = rule.get("LogGroupNames") or rule.get("LogGroupARNs")
    if not isinstance(groups, list) or not groups:
        raise _bad("The rule definition must name at least one log group in LogGroupNames or LogGroupARNs.")
    if rule.get("LogFormat") not in ("JSON", "CLF"):
        raise _bad("LogFormat must be JSON or CLF.")
    contribution = rule.get("Contribution")
    if not isinstance(contribution, dict):
        raise _bad("The rule definition must have a Contribution object.")
    keys = contribution.get("Keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= 4:
        raise _bad("Contribution.Keys must list 1 to 4 keys.")
    if rule.get("AggregateOn") not in ("Count", "Sum"):
        raise _bad("AggregateOn must be Count or Sum.")
    if rule["AggregateOn"] == "Sum" and not contribution.get("ValueOf"):
        raise _bad("AggregateOn Sum needs Contribution.ValueOf.")
    return rule


class InsightRuleOperations:
    """Mixin of the CloudWatch provider (needs `self.runtime`, tags.py's save_tags)."""

    def _rule_arn(self, ctx: RequestContext, name: str) -> str:
        return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:insight-rule/{name}"

    def put_insight_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("RuleName") or ""
        arn = self._rule_arn(ctx, name)
        tags = request.get("Tags") or []
        ctx.authorize("cloudwatch:PutInsightRule", arn, _tag_conditions(tags))
        if not RULE_NAME.match(name):
            raise _bad(f"The value {name} for parameter RuleName is invalid.")
        state = request.get("RuleState") or "ENABLED"
        if state not in STATES:
            raise _bad(f"The value {state} for parameter RuleState is invalid. Valid values are ENABLED and DISABLED.")
        definition = request.get("RuleDefinition")
        if not definition:
            raise AwsError("The parameter RuleDefinition is required.", code="MissingRequiredParameterException")
        check_definition(definition)
        old = ctx.store.get(arn)
        if old is not None and old.get("ManagedRule"):
            raise _bad(f"The rule {name} is a managed rule and cannot be changed with PutInsightRule.")
        doc = {"Name": name, "State": state, "Schema": "CloudWatchLogRule/1", "Definition": definition,
               "ManagedRule": False, "ApplyOnTransformedLogs": bool(request.get("ApplyOnTransformedLogs"))}
        ctx.store.put(arn, doc, kind=RULE_KIND, account_id=ctx.account_id, region=ctx.region)
        if tags and old is None:
            self.save_tags(ctx.account_id, arn, {t["Key"]: t["Value"] for t in tags})
        return {}

    def describe_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DescribeInsightRules")
        rules = sorted((d for d in ctx.store.list(RULE_KIND, account_id=ctx.account_id, region=ctx.region)
                        if "Definition" in d), key=lambda d: d["Name"])
        limit = request.get("MaxResults") or PAGE
        start = _read_token(request.get("NextToken"))
        page = rules[start:start + limit]
        out: dict[str, Any] = {"InsightRules": [
            {k: d[k] for k in ("Name", "State", "Schema", "Definition", "ManagedRule", "ApplyOnTransformedLogs")}
            for d in page]}
        if start + limit < len(rules):
            out["NextToken"] = _token(start + limit)
        return out

    def _each_rule(self, ctx: RequestContext, request: dict[str, Any], action: str, change) -> dict[str, Any]:
        """Batch operations on rules: unknown rules come back as Failures, the rest act."""
        names = request.get("RuleNames")
        if not names:
            raise missing("The parameter RuleNames is required.")
        for name in names:
            ctx.authorize(action, self._rule_arn(ctx, name))
        failures = []
        for name in names:
            arn = self._rule_arn(ctx, name)
            doc = ctx.store.get(arn)
            if doc is None:
                failures.append({"FailureResource": name, "ExceptionType": "ResourceNotFoundException",
                                 "FailureCode": "404", "FailureDescription": f"Rule {name} does not exist."})
                continue
            change(arn, doc)
        return {"Failures": failures}

    def delete_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def delete(arn: str, doc: dict) -> None:
            ctx.store.delete(arn)
            self.drop_tags(arn)

        return self._each_rule(ctx, request, "cloudwatch:DeleteInsightRules", delete)

    def _set_rule_state(self, ctx: RequestContext, request: dict[str, Any], action: str, state: str) -> dict[str, Any]:
        def switch(arn: str, doc: dict) -> None:
            doc["State"] = state
            ctx.store.put(arn, doc, kind=RULE_KIND, account_id=ctx.account_id, region=ctx.region)

        return self._each_rule(ctx, request, action, switch)

    def enable_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_rule_state(ctx, request, "cloudwatch:EnableInsightRules", "ENABLED")

    def disable_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_rule_state(ctx, request, "cloudwatch:DisableInsightRules", "DISABLED")

    # -- managed rules -------------------------------------------------------------------

    def put_managed_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rules = request.get("ManagedRules")
        if not rules:
            raise missing("The parameter ManagedRules is required.")
        plans = []
        for rule in rules:
            template, resource = rule.get("TemplateName") or "", rule.get("ResourceARN") or ""
            name = f"{template}-{resource.rsplit('/', 1)[-1].rsplit(':', 1)[-1]}"[:128]
            arn = self._rule_arn(ctx, name)
            ctx.authorize("cloudwatch:PutManagedInsightRules", arn, _tag_conditions(rule.get("Tags") or []))
            plans.append((rule, template, resource, name, arn))
        failures = []
        for rule, template, resource, name, arn in plans:
            if not TEMPLATE.match(template) or not resource.startswith("arn:"):
                failures.append({"FailureResource": resource or template, "ExceptionType": "InvalidParameterValueException",
                                 "FailureCode": "400", "FailureDescription": "TemplateName and ResourceARN must be valid."})
                continue
            old = ctx.store.get(arn)
            doc = {"Name": name, "State": old["State"] if old else "ENABLED", "Schema": "CloudWatchLogRule/1",
                   "Definition": json.dumps({"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "TemplateName": template,
                                             "ResourceARN": resource}),
                   "ManagedRule": True, "ApplyOnTransformedLogs": False, "TemplateName": template, "ResourceARN": resource}
            ctx.store.put(arn, doc, kind=RULE_KIND, account_id=ctx.account_id, region=ctx.region)
            if rule.get("Tags") and old is None:
                self.save_tags(ctx.account_id, arn, {t["Key"]: t["Value"] for t in rule["Tags"]})
        return {"Failures": failures}

    def list_managed_insight_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        resource = request.get("ResourceARN")
        ctx.authorize("cloudwatch:ListManagedInsightRules", resource or "*")
        if not resource:
            raise missing("The parameter ResourceARN is required.")
        if not resource.startswith("arn:"):
            raise _bad(f"The value {resource} for parameter ResourceARN is invalid.")
        rules = sorted((d for d in ctx.store.list(RULE_KIND, account_id=ctx.account_id, region=ctx.region)
                        if d.get("ManagedRule") and d.get("ResourceARN") == resource), key=lambda d: d["Name"])
        limit = request.get("MaxResults") or PAGE
        start = _read_token(request.get("NextToken"))
        out: dict[str, Any] = {"ManagedRules": [
            {"TemplateName": d["TemplateName"], "ResourceARN": d["ResourceARN"],
             "RuleState": {"RuleName": d["Name"], "State": d["State"]}} for d in rules[start:start + limit]]}
        if start + limit < len(rules):
            out["NextToken"] = _token(start + limit)
        return out

    # -- what mamori does not do -------------------------------------------------------

    def get_insight_rule_report(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("RuleName") or ""
        arn = self._rule_arn(ctx, name)
        ctx.authorize("cloudwatch:GetInsightRuleReport", arn)
        if ctx.store.get(arn) is None:
            raise AwsError(f"Rule {name} does not exist.", code="ResourceNotFoundException", status=404)
        raise NotImplementedOperation(
            "GetInsightRuleReport is not implemented by mamori: Contributor Insights rules are stored and described, "
            "but mamori does not run them over log events, so it has no contributors to report.")

    def get_metric_widget_image(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:GetMetricWidgetImage")
        try:
            widget = json.loads(request.get("MetricWidget") or "")
        except ValueError:
            raise AwsError("The MetricWidget parameter is not valid JSON.", code="InvalidParameterValue") from None
        if not isinstance(widget, dict):
            raise AwsError("The MetricWidget parameter must be a JSON object.", code="InvalidParameterValue")
        raise NotImplementedOperation(
            "GetMetricWidgetImage is not implemented by mamori: it renders no graph images. "
            "GetMetricData returns the same data points.")
