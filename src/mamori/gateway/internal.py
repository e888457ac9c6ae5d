"""Calls one service makes to another, through the other's public provider API.

AWS services call each other in two ways, and mamori keeps both apart:

- on a caller's behalf (a *forward access session*): S3 asks KMS for a data key with
  the identity of whoever called S3. The callee sees the original principal, with
  `aws:ViaAWSService` true and `aws:CalledVia` naming the calling service
  (reference_policies_condition-keys.html#condition-keys-calledvia); `kms:ViaService`
  and similar keys are the callee's business. Use `invoke(..., parent=ctx, via=...)`.
- as itself: EventBridge delivering to an SNS topic, CloudWatch publishing an alarm
  notification. The principal is the service (`Principal.service("events.amazonaws.com",
  account)`), and only a resource policy that names it allows the call (topic policy,
  queue policy, key policy). Use `invoke(..., principal=Principal.service(...))`.

A service that acts with a customer's role (a trail writing to CloudWatch Logs, a topic
logging delivery status) first assumes it as itself: `assume_role_as_service` returns
that session's principal, for `invoke(..., principal=...)`.

Either way the callee's operation runs exactly as it would for a request from the
network: the same handler, the same `ctx.authorize`, the same errors (an `AwsError` is
raised to the calling service, which decides what its own caller sees), and a
CloudTrail record with `invokedBy`. Parameters and results are the Python shapes the
handler takes and returns (botocore member names; blobs as bytes).
"""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import TYPE_CHECKING, Any

from mamori.errors import AwsError, NotImplementedOperation
from mamori.gateway.context import Principal, RequestContext
from mamori.protocol.model import operation as operation_model

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.internal")
SERVICE_SESSION_SECONDS = 3600


def invoke(
    runtime: "Runtime",
    service: str,
    operation: str,
    params: dict[str, Any],
    *,
    parent: RequestContext | None = None,
    via: str | None = None,
    principal: Principal | None = None,
    account_id: str | None = None,
    region: str | None = None,
    source_arn: str | None = None,
    source_account: str | None = None,
    record: bool = True,
) -> dict[str, Any]:
    """Run `service:operation` with `params` and return its output.

    parent + via: on the parent's caller's behalf, through service principal `via`
    ("s3.amazonaws.com"). principal: as that principal (usually a service principal).
    Account and region default to the parent's (or the principal's account and the
    configured region). source_arn / source_account: the resource on whose behalf a
    service principal acts (an alarm, a rule), for aws:SourceArn / aws:SourceAccount
    (and SNS's older aws:SourceOwner) in the callee's resource policy.
    """
    if principal is None:
        if parent is None:
            raise ValueError("invoke needs a parent context or a principal")
        principal = parent.principal
    provider = runtime.providers.get(service)
    handler = provider.handler(operation) if provider is not None else None
    if handler is None:
        raise NotImplementedOperation(f"The operation {operation} of {service} is not implemented by mamori yet.")
    called_via = list(parent.called_via) if parent is not None else []
    if via:
        called_via.append(via)
    ctx = RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        account_id=account_id or (parent.account_id if parent else principal.account_id),
        region=region or (parent.region if parent else runtime.config.region),
        principal=principal,
        service=service,
        operation=operation,
        source_ip=via or (principal.arn if principal.type == "AWSService" else "127.0.0.1"),
        user_agent=via or principal.arn,
        called_via=called_via or ([principal.arn] if principal.type == "AWSService" else []),
    )
    if source_arn:
        ctx.source_keys["aws:SourceArn"] = source_arn
    if source_account:
        ctx.source_keys["aws:SourceAccount"] = source_account
        ctx.source_keys["aws:SourceOwner"] = source_account
    error: AwsError | None = None
    output: dict[str, Any] | None = None
    try:
        result = handler(ctx, dict(params))
        if inspect.isawaitable(result):  # pragma: no cover - providers called inside are synchronous
            raise TypeError(f"{service}:{operation} is asynchronous and can't be invoked internally")
        if not ctx.decisions:
            raise AwsError(f"{service}:{operation} returned without an authorization decision",
                           code="InternalFailure", status=500)
        output = result or {}
        return output
    except AwsError as exc:  # AccessDenied included: the calling service decides what to answer
        error = exc
        raise
    finally:
        if record:
            _record(runtime, ctx, provider, operation, params, output, error)


def _record(runtime: "Runtime", ctx: RequestContext, provider: Any, operation: str, params: dict[str, Any],
            output: dict[str, Any] | None, error: AwsError | None) -> None:
    from mamori.gateway.record import build_record

    try:
        model = operation_model(ctx.service, operation)
        rec = build_record(ctx, model, params, output, error, user_agent=ctx.user_agent,
                           event_time=runtime.clock.time())
        runtime.telemetry.record_event(rec)
    except Exception:  # noqa: BLE001 - recording must never break the calling service
        log.exception("could not record internal call %s:%s", ctx.service, operation)


def assume_role_as_service(runtime: "Runtime", role_arn: str, service: str, account: str, *, session_name: str,
                           source_arn: str, region: str | None = None) -> Principal:
    """The principal of a session of `role_arn` assumed by `service` ("sns.amazonaws.com")
    for the resource `source_arn` of `account`: AssumeRole as the service principal, which
    the role's trust policy must allow (AwsError otherwise). Sessions are kept until a
    minute before they expire, as a service reuses its credentials."""
    now = runtime.clock.time()
    key = (role_arn, service, source_arn)
    cached = runtime.service_sessions.get(key)
    if cached is not None and cached[1] > now + 60:
        return cached[0]
    out = invoke(runtime, "sts", "AssumeRole",
                 {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": SERVICE_SESSION_SECONDS},
                 principal=Principal.service(service, account), region=region, source_arn=source_arn,
                 source_account=account)
    credential = runtime.lookup_credential(out["Credentials"]["AccessKeyId"])
    principal = Principal.from_json(credential.principal)
    runtime.service_sessions[key] = (principal, now + SERVICE_SESSION_SECONDS)
    return principal
