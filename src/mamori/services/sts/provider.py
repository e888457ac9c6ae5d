"""AWS Security Token Service.

Only `GetCallerIdentity` ships with the gateway; the rest of STS (AssumeRole,
GetSessionToken, ...) comes with the IAM issue.
"""

from __future__ import annotations

from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.base import Provider


class StsProvider(Provider):
    service = "sts"

    def get_caller_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        # "No permissions are required to perform this operation. If an administrator
        # attaches a policy to your identity that explicitly denies access to the
        # sts:GetCallerIdentity action, you can still perform this operation."
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        ctx.no_authorization_required("sts:GetCallerIdentity", "GetCallerIdentity needs no permission")
        principal = ctx.principal
        return {"UserId": principal.principal_id, "Account": principal.account_id, "Arn": principal.arn}
