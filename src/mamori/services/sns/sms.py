"""SMS (mixed into the provider): account SMS attributes, opted-out numbers, the SMS
sandbox, and text messages written to the local outbox (kind "sns-outbox", protocol
"sms") instead of a phone network.

    get_sms_attributes / set_sms_attributes      kind "sns-sms-attributes", one per account+region
    check_if_phone_number_is_opted_out / opt_in_phone_number / list_phone_numbers_opted_out
                                                 kind "sns-sms-optout"; numbers opt out by
                                                 replying STOP in AWS, here through
                                                 `opt_out(runtime, account, region, number)`
    create/delete/verify_sms_sandbox_phone_number, list_sms_sandbox_phone_numbers,
    get_sms_sandbox_account_status               kind "sns-sms-sandbox"; the one-time password
                                                 is "sent" to the outbox; accounts start
                                                 in the sandbox, as new AWS accounts do
    list_origination_numbers                     none are provisioned locally

In the sandbox, texts go only to verified sandbox numbers; others are recorded as failed.
https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox.html
https://docs.aws.amazon.com/sns/latest/api/API_SetSMSAttributes.html
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.sns.paging import page

ATTRIBUTES = "sns-sms-attributes"
OPTOUT = "sns-sms-optout"
SANDBOX = "sns-sms-sandbox"
_PHONE = re.compile(r"^\+?[1-9][0-9]{1,14}$")
SMS_ATTRIBUTES = {"MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate",
                  "DefaultSenderID", "DefaultSMSType", "UsageReportS3Bucket"}


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def normalize(number: str | None, field: str = "PhoneNumber") -> str:
    number = (number or "").replace(" ", "").replace("-", "")
    if not _PHONE.match(number):
        raise _invalid(f"Invalid parameter: {field}")
    return number if number.startswith("+") else "+" + number


def opt_out(runtime: Any, account: str, region: str, number: str) -> None:
    """A subscriber replied STOP: `number` no longer gets texts from this account."""
    number = normalize(number)
    runtime.store.put(f"mamori:sns-optout:{account}:{region}:{number}",
                      {"phoneNumber": number, "time": runtime.clock.time()},
                      kind=OPTOUT, account_id=account, region=region)


class SmsMixin:
    runtime: Any

    # -- attributes ------------------------------------------------------------------

    def _sms_attrs_arn(self, ctx: RequestContext) -> str:
        return f"mamori:sns-sms-attributes:{ctx.account_id}:{ctx.region}"

    def get_sms_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:GetSMSAttributes", "*", {})
        doc = ctx.store.get(self._sms_attrs_arn(ctx)) or {"attributes": {}}
        attrs = dict(doc["attributes"])
        wanted = request.get("attributes")
        if wanted:
            attrs = {k: v for k, v in attrs.items() if k in wanted}
        return {"attributes": attrs}

    def set_sms_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:SetSMSAttributes", "*", {})
        given = request.get("attributes") or {}
        for name, value in given.items():
            if name not in SMS_ATTRIBUTES:
                raise _invalid(f"Invalid parameter: {name}")
            if name == "DefaultSMSType" and value not in ("Promotional", "Transactional"):
                raise _invalid("Invalid parameter: DefaultSMSType")
            if name == "MonthlySpendLimit" and not str(value).isdigit():
                raise _invalid("Invalid parameter: MonthlySpendLimit")
            if name == "DeliveryStatusSuccessSamplingRate" and not (str(value).isdigit() and 0 <= int(value) <= 100):
                raise _invalid("Invalid parameter: DeliveryStatusSuccessSamplingRate")
        arn = self._sms_attrs_arn(ctx)
        doc = ctx.store.get(arn) or {"attributes": {}}
        doc["attributes"].update(given)
        ctx.store.put(arn, doc, kind=ATTRIBUTES, account_id=ctx.account_id, region=ctx.region)
        return {}

    # -- opt-out ---------------------------------------------------------------------

    def _opted_out(self, store: Any, account: str, region: str, number: str) -> bool:
        return store.get(f"mamori:sns-optout:{account}:{region}:{number}") is not None

    def check_if_phone_number_is_opted_out(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:CheckIfPhoneNumberIsOptedOut", "*", {})
        number = normalize(request.get("phoneNumber"), "phoneNumber")
        return {"isOptedOut": self._opted_out(ctx.store, ctx.account_id, ctx.region, number)}

    def opt_in_phone_number(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:OptInPhoneNumber", "*", {})
        number = normalize(request.get("phoneNumber"), "phoneNumber")
        arn = f"mamori:sns-optout:{ctx.account_id}:{ctx.region}:{number}"
        if ctx.store.get(arn) is not None:
            # a number can be opted back in only once every 30 days
            # (https://docs.aws.amazon.com/sns/latest/api/API_OptInPhoneNumber.html)
            optin_arn = f"mamori:sns-optin:{ctx.account_id}:{ctx.region}:{number}"
            last = ctx.store.get(optin_arn)
            if last is not None and ctx.time() - last["optedIn"] < 30 * 86400:
                raise _invalid("Invalid parameter: phoneNumber can be opted in only once every 30 days")
            ctx.store.delete(arn)
            ctx.store.put(optin_arn, {"optedIn": ctx.time()}, kind="sns-sms-optin", account_id=ctx.account_id,
                          region=ctx.region)
        return {}

    def list_phone_numbers_opted_out(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListPhoneNumbersOptedOut", "*", {})
        numbers = [d["phoneNumber"] for d in ctx.store.list(OPTOUT, account_id=ctx.account_id, region=ctx.region)]
        return page(numbers, request, "phoneNumbers", token="nextToken")

    # -- sandbox ---------------------------------------------------------------------

    def get_sms_sandbox_account_status(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:GetSMSSandboxAccountStatus", "*", {})
        return {"IsInSandbox": True}

    def _sandbox_arn(self, ctx: RequestContext, number: str) -> str:
        return f"mamori:sns-sandbox:{ctx.account_id}:{ctx.region}:{number}"

    def create_sms_sandbox_phone_number(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:CreateSMSSandboxPhoneNumber", "*", {})
        number = normalize(request.get("PhoneNumber"))
        language = request.get("LanguageCode") or "en-US"
        if self._opted_out(ctx.store, ctx.account_id, ctx.region, number):
            raise error("OptedOut", "Phone number is opted out.", status=400)
        code = f"{secrets.randbelow(10**6):06d}"
        doc = {"PhoneNumber": number, "Status": "Pending", "LanguageCode": language}
        ctx.store.put(self._sandbox_arn(ctx, number), doc, kind=SANDBOX, account_id=ctx.account_id,
                      region=ctx.region, secret=code.encode())
        self._outbox(ctx.store, ctx.account_id, ctx.region, None, "sms", number,
                     f"Your verification code is {code}", "delivered")
        return {}

    def verify_sms_sandbox_phone_number(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:VerifySMSSandboxPhoneNumber", "*", {})
        number = normalize(request.get("PhoneNumber"))
        arn = self._sandbox_arn(ctx, number)
        doc = ctx.store.get(arn)
        if doc is None:
            raise error("ResourceNotFound", "Can't find the phone number in the SMS sandbox.", status=404)
        if doc["Status"] != "Verified":
            expected = (ctx.store.get_secret(arn) or b"").decode()
            if not secrets.compare_digest(expected, request.get("OneTimePassword") or ""):
                raise error("VerificationException", "Invalid one-time password.", status=400, Status="Pending")
            doc["Status"] = "Verified"
            ctx.store.put(arn, doc, kind=SANDBOX, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_sms_sandbox_phone_number(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:DeleteSMSSandboxPhoneNumber", "*", {})
        number = normalize(request.get("PhoneNumber"))
        if not ctx.store.delete(self._sandbox_arn(ctx, number)):
            raise error("ResourceNotFound", "Can't find the phone number in the SMS sandbox.", status=404)
        return {}

    def list_sms_sandbox_phone_numbers(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListSMSSandboxPhoneNumbers", "*", {})
        size = request.get("MaxResults") or 100
        if not 1 <= size <= 100:
            raise _invalid("Invalid parameter: MaxResults")
        docs = ctx.store.list(SANDBOX, account_id=ctx.account_id, region=ctx.region)
        return page([{"PhoneNumber": d["PhoneNumber"], "Status": d["Status"]} for d in docs], request,
                    "PhoneNumbers", size=size)

    def list_origination_numbers(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListOriginationNumbers", "*", {})
        size = request.get("MaxResults")
        if size is not None and not 1 <= size <= 30:
            raise error("ValidationException", "MaxResults must be between 1 and 30", status=400)
        return {"PhoneNumbers": []}

    # -- sending ---------------------------------------------------------------------

    def _sms_out(self, ctx: RequestContext, account: str, region: str, number: str, text: str, message_id: str,
                 sub_arn: str | None, attributes: dict[str, Any] | None = None) -> bool:
        store = ctx.store
        number = normalize(number)
        status, reason = "delivered", ""
        if self._opted_out(store, account, region, number):
            status, reason = "failed", "The phone number has opted out of receiving SMS messages from this account"
        else:
            sandboxed = store.get(f"mamori:sns-sandbox:{account}:{region}:{number}")
            if sandboxed is None or sandboxed.get("Status") != "Verified":
                status, reason = "failed", ("The account is in the SMS sandbox and the destination is not a "
                                            "verified sandbox phone number")
        defaults = (store.get(f"mamori:sns-sms-attributes:{account}:{region}") or {"attributes": {}})["attributes"]
        given = {k: v.get("StringValue") for k, v in (attributes or {}).items()}
        out = {"MessageId": message_id, "Message": text,
               "SMSType": given.get("AWS.SNS.SMS.SMSType") or defaults.get("DefaultSMSType") or "Promotional"}
        sender = given.get("AWS.SNS.SMS.SenderID") or defaults.get("DefaultSenderID")
        if sender:
            out["SenderID"] = sender
        self._outbox(store, account, region, sub_arn, "sms", number, out, status, reason)
        return status == "delivered"
