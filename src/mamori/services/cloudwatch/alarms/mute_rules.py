"""Alarm mute rules (PutAlarmMuteRule, GetAlarmMuteRule, ListAlarmMuteRules,
DeleteAlarmMuteRule): while a rule is active, the actions of the alarms it targets do
not run (the state still changes). Schedules: `at(yyyy-mm-ddThh:mm[:ss])` (ONE_TIME) or
`cron(min hour day-of-month month day-of-week)` (RECURRING), each opening a window of
`Duration` (ISO 8601, PT1M .. P15D) in `Timezone` (UTC by default), bounded by
StartDate/ExpireDate.

    MuteRuleOperations   the operations and `muted(alarm, t)`
    schedule_active(rule, t)   whether a rule's window is open at t
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import epoch

MUTE_KIND = "cloudwatch:alarm-mute-rule"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)\)$")
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _invalid(message: str) -> AwsError:
    return AwsError(message, code="InvalidParameterValue")


def parse_duration(text: str) -> int:
    m = _DURATION.match(text or "")
    if not m or not any(m.groups()):
        raise _invalid(f"The value {text} for parameter Duration is invalid.")
    d, h, mi, s = (int(x or 0) for x in m.groups())
    seconds = d * 86400 + h * 3600 + mi * 60 + s
    if seconds < 60 or seconds > 15 * 86400:
        raise _invalid("Duration must be between PT1M and P15D.")
    return seconds


def _field(text: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            a, b = lo, hi
        elif "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
        else:
            a = b = int(part)
        if a < lo or b > hi or a > b or step < 1:
            raise ValueError(part)
        out.update(range(a, b + 1, step))
    return out


def parse_cron(expression: str) -> list[set[int]]:
    m = _CRON.match(expression)
    if not m:
        raise ValueError(expression)
    fields = [_field(t, lo, hi) for t, (lo, hi) in zip(m.groups(), _RANGES)]
    if 7 in fields[4]:
        fields[4].add(0)
    return fields


def _tz(name: str | None):
    if not name or name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def validate_schedule(rule: dict) -> str:
    schedule = (rule or {}).get("Schedule") or {}
    expr = schedule.get("Expression") or ""
    parse_duration(schedule.get("Duration") or "")
    try:
        _tz(schedule.get("Timezone"))
    except Exception:  # noqa: BLE001 - an unknown zone name
        raise _invalid(f"The value {schedule.get('Timezone')} for parameter Timezone is invalid.") from None
    if _AT.match(expr):
        return "ONE_TIME"
    try:
        parse_cron(expr)
    except ValueError:
        raise _invalid(f"The value {expr} for parameter Expression is invalid.") from None
    return "RECURRING"


def schedule_active(rule: dict, t: float) -> bool:
    if rule.get("StartDate") is not None and t < rule["StartDate"]:
        return False
    if rule.get("ExpireDate") is not None and t >= rule["ExpireDate"]:
        return False
    schedule = rule["Rule"]["Schedule"]
    duration = parse_duration(schedule["Duration"])
    tz = _tz(schedule.get("Timezone"))
    at = _AT.match(schedule["Expression"])
    if at:
        text = at.group(1) if len(at.group(1)) > 16 else at.group(1) + ":00"
        start = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=tz).timestamp()
        return start <= t < start + duration
    minute, hour, dom, month, dow = parse_cron(schedule["Expression"])
    now = datetime.fromtimestamp(t, tz).replace(second=0, microsecond=0)
    for back in range(0, duration // 60 + 1):
        c = now - timedelta(minutes=back)
        if t - c.timestamp() >= duration:
            break
        if c.minute in minute and c.hour in hour and c.month in month and c.day in dom and (c.isoweekday() % 7) in dow:
            return True
    return False


def _status(rule: dict, t: float) -> str:
    if rule.get("ExpireDate") is not None and t >= rule["ExpireDate"]:
        return "EXPIRED"
    return "ACTIVE" if schedule_active(rule, t) else "SCHEDULED"


class MuteRuleOperations:
    def _mute_arn(self, ctx: RequestContext, name: str) -> str:
        return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm-mute-rule:{name}"

    def put_alarm_mute_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._mute_arn(ctx, request["Name"])
        ctx.authorize("cloudwatch:PutAlarmMuteRule", arn)
        mute_type = validate_schedule(request.get("Rule"))
        doc = {k: request[k] for k in ("Name", "Description", "Rule", "MuteTargets") if k in request}
        for k in ("StartDate", "ExpireDate"):
            if request.get(k) is not None:
                doc[k] = epoch(request[k])
        if doc.get("StartDate") is not None and doc.get("ExpireDate") is not None and doc["ExpireDate"] <= doc["StartDate"]:
            raise _invalid("ExpireDate must be later than StartDate.")
        doc.update(AlarmMuteRuleArn=arn, MuteType=mute_type, LastUpdatedTimestamp=ctx.time())
        self.runtime.store.put(arn, doc, kind=MUTE_KIND, account_id=ctx.account_id, region=ctx.region)
        return {}

    def get_alarm_mute_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._mute_arn(ctx, request["AlarmMuteRuleName"])
        ctx.authorize("cloudwatch:GetAlarmMuteRule", arn)
        doc = self.runtime.store.get(arn)
        if doc is None:
            raise AwsError(f"Alarm mute rule {request['AlarmMuteRuleName']} does not exist.", code="ResourceNotFoundException", status=404)
        return {**doc, "Status": _status(doc, ctx.time())}

    def list_alarm_mute_rules(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:ListAlarmMuteRules", "*")
        now = ctx.time()
        rules = sorted(self.runtime.store.list(MUTE_KIND, account_id=ctx.account_id, region=ctx.region), key=lambda r: r["Name"])
        if request.get("AlarmName"):
            rules = [r for r in rules if request["AlarmName"] in ((r.get("MuteTargets") or {}).get("AlarmNames") or [])]
        out = [{"AlarmMuteRuleArn": r["AlarmMuteRuleArn"], "Status": _status(r, now), "MuteType": r["MuteType"],
                "LastUpdatedTimestamp": r["LastUpdatedTimestamp"], **({"ExpireDate": r["ExpireDate"]} if r.get("ExpireDate") else {})}
               for r in rules]
        if request.get("Statuses"):
            out = [r for r in out if r["Status"] in request["Statuses"]]
        return {"AlarmMuteRuleSummaries": out}

    def delete_alarm_mute_rule(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._mute_arn(ctx, request["AlarmMuteRuleName"])
        ctx.authorize("cloudwatch:DeleteAlarmMuteRule", arn)
        self.runtime.store.delete(arn)
        return {}

    def muted(self, alarm: dict, t: float) -> bool:
        for r in self.runtime.store.list(MUTE_KIND, account_id=alarm["account"], region=alarm["region"]):
            if alarm["AlarmName"] in ((r.get("MuteTargets") or {}).get("AlarmNames") or []) and schedule_active(r, t):
                return True
        return False
