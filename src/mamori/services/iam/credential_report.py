"""The credential report: GenerateCredentialReport / GetCredentialReport.

A CSV with the columns AWS documents, one row for the root user (`<root_account>`)
and one per IAM user; timestamps ISO 8601 with `+00:00`, `N/A` where a value does not
apply, `no_information` for a password never used, `not_supported` for the root's
password columns. A report younger than four hours is served again instead of being
regenerated; GetCredentialReport on an older one answers ReportExpired.
(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html)
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any, Iterable

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.passwords import next_rotation

COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]  # fmt: skip
MAX_AGE = 4 * 3600
NA = "N/A"


def iso(value: datetime | str | None) -> str:
    if value is None or value == "":
        return NA
    if isinstance(value, str):
        value = to_datetime(value) if value.endswith("Z") else datetime.fromisoformat(value)
    assert value is not None
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def key_columns(key: dict[str, Any] | None) -> list[str]:
    """active, last_rotated, last_used_date, last_used_region, last_used_service."""
    if key is None:
        return ["false", NA, NA, NA, NA]
    used = key.get("last_used_date")
    return [
        "true" if key["active"] else "false",
        iso(key["created"]),
        iso(used) if used else NA,
        key.get("last_used_region") or NA if used else NA,
        key.get("last_used_service") or NA if used else NA,
    ]


def render(rows: Iterable[dict[str, Any]]) -> str:
    """rows: {"user", "arn", "created", "password": None | {"last_used", "last_changed",
    "next_rotation"}, "mfa": bool, "keys": [key dicts], "root": bool} -> CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        pw = row.get("password")
        if row.get("root"):
            password = ["not_supported", iso(pw.get("last_used")) if pw and pw.get("last_used") else "no_information",
                        "not_supported", "not_supported"]
        elif pw is None:
            password = ["false", NA, NA, NA]
        else:
            password = [
                "true",
                iso(pw["last_used"]) if pw.get("last_used") else "no_information",
                iso(pw.get("last_changed")),
                iso(pw.get("next_rotation")),
            ]
        keys = list(row.get("keys", []))[:2]
        keys += [None] * (2 - len(keys))
        line = [row["user"], row["arn"], iso(row["created"]), *password, "true" if row.get("mfa") else "false"]
        line += key_columns(keys[0]) + key_columns(keys[1])
        line += ["false", NA, "false", NA]
        writer.writerow(line)
    return out.getvalue()


def _key_row(cred: Any) -> dict[str, Any]:
    last = cred.last_used or {}
    used = last.get("time", last.get("LastUsedDate"))
    if isinstance(used, (int, float)):
        used = datetime.fromtimestamp(used, tz=timezone.utc)
    return {
        "active": cred.status == "Active",
        "created": datetime.fromtimestamp(cred.created_at, tz=timezone.utc) if cred.created_at else None,
        "last_used_date": used,
        "last_used_region": last.get("region", last.get("Region")),
        "last_used_service": last.get("service", last.get("ServiceName")),
    }


class CredentialReport(IamOperations):
    def _report_key(self, ctx: RequestContext) -> str:
        return f"arn:aws:iam::{ctx.account_id}:mamori/credential-report"

    def _account_created(self, ctx: RequestContext) -> str:
        """When mamori first saw the account (the root row's user_creation_time)."""
        settings = repo.account_settings(ctx.store, ctx.account_id)
        if not settings.get("CreateDate"):
            settings["CreateDate"] = stamp(ctx)
            ctx.store.put(repo.account_key(ctx.account_id), settings, kind="iam:account", account_id=ctx.account_id, region="")
        return settings["CreateDate"]

    def _rows(self, ctx: RequestContext) -> list[dict[str, Any]]:
        store, account = ctx.store, ctx.account_id
        policy = repo.account_settings(store, account).get("PasswordPolicy")
        creds = [c for c in store.list_credentials(account) if c.principal.get("type") == "IAMUser" and not c.session_token_sha256]
        rows: list[dict[str, Any]] = [
            {"user": "<root_account>", "arn": f"arn:aws:iam::{account}:root", "root": True,
             "created": self._account_created(ctx),
             "mfa": False, "keys": []}
        ]
        for user in sorted(repo.list_family(store, account, "user"), key=lambda u: u["UserName"].lower()):
            profile = store.get(repo.login_profile_key(account, user["UserName"]))
            password = None
            if profile:
                password = {
                    "last_used": user.get("PasswordLastUsed"),
                    "last_changed": profile.get("PasswordLastChanged"),
                    "next_rotation": next_rotation(profile, policy),
                }
            keys = sorted((c for c in creds if c.principal.get("arn") == user["Arn"]), key=lambda c: c.created_at)
            rows.append(
                {
                    "user": user["UserName"],
                    "arn": user["Arn"],
                    "created": user["CreateDate"],
                    "password": password,
                    "mfa": bool(repo.mfa_devices(store, account, user["UserName"])),
                    "keys": [_key_row(c) for c in keys],
                }
            )
        return rows

    def generate_credential_report(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GenerateCredentialReport", "*")
        current = ctx.store.get(self._report_key(ctx))
        if current and ctx.time() - current["GeneratedEpoch"] < MAX_AGE:
            return {"State": "COMPLETE"}
        doc = {"GeneratedTime": stamp(ctx), "GeneratedEpoch": ctx.time(), "Content": render(self._rows(ctx))}
        ctx.store.put(self._report_key(ctx), doc, kind="iam:credential-report", account_id=ctx.account_id, region="")
        return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}

    def get_credential_report(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetCredentialReport", "*")
        doc = ctx.store.get(self._report_key(ctx))
        if doc is None:
            raise AwsError(
                f"Credential report for account {ctx.account_id} does not exist. Use GenerateCredentialReport to generate a report.",
                code="ReportNotPresent",
                status=410,
            )
        if ctx.time() - doc["GeneratedEpoch"] >= MAX_AGE:
            raise AwsError(
                "The credential report has expired. Use GenerateCredentialReport to generate a new report.",
                code="ReportExpired",
                status=410,
            )
        return {"Content": doc["Content"].encode(), "ReportFormat": "text/csv", "GeneratedTime": to_datetime(doc["GeneratedTime"])}
