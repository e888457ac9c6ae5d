"""The request pipeline: one path for every call.

    route -> authenticate -> parse -> dispatch -> serialize      (then, always) record

Each step is a small method that reads and fills one `Exchange`. Adding a step is adding
a line to `STEPS`. Any `AwsError` raised by a step ends the chain and is serialized in
the request's own protocol; anything else becomes `InternalFailure`, logged with the
request id, never a traceback on the wire. `record` runs last for every request that
reached a service operation, failed and denied ones included.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mamori.errors import (
    AccessDenied,
    AwsError,
    InternalFailure,
    NotImplementedOperation,
)
from mamori.gateway.context import Principal, RequestContext
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.gateway.routing import Router
from mamori.protocol.base import ProtocolCodec, codec_for, detect_protocol
from mamori.protocol.model import OperationModel, ServiceModel, protocol_model

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.gateway")

# Services whose anonymous (unsigned) requests go on to authorization instead of
# failing authentication: S3 serves public buckets and presigned-less public reads.
ANONYMOUS_SERVICES = frozenset({"s3"})
# Single operations AWS answers without a signature: an SNS endpoint owner confirms
# through the SubscribeURL it was sent (the token authenticates) and leaves through the
# UnsubscribeURL (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html,
# API_Unsubscribe.html). The provider decides what an anonymous caller may do.
ANONYMOUS_OPERATIONS = frozenset({("sns", "ConfirmSubscription"), ("sns", "Unsubscribe")})
# Global services run in one Region whatever Region the client names: their calls are
# recorded by CloudTrail (and reach EventBridge) in us-east-1, and aws:RequestedRegion
# is us-east-1 for them.
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-global-service-events
GLOBAL_SERVICES = {"iam": "us-east-1"}
# How many recent requests `mamori explain` can still explain (memory: about 1 KB each).
RECENT_DECISIONS = 2_000


@dataclass
class Exchange:
    """One request on its way through the pipeline."""

    request: HttpRequest
    request_id: str
    started: float
    service: str | None = None
    model: ServiceModel | None = None
    protocol: str | None = None
    codec: ProtocolCodec | None = None
    operation: OperationModel | None = None
    principal: Principal | None = None
    access_key_id: str | None = None
    account_id: str | None = None
    region: str | None = None
    params: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    error: AwsError | None = None
    response: HttpResponse | None = None
    ctx: RequestContext | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Pipeline:
    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        self.router = Router(list(runtime.providers))
        self.steps = (self.route, self.authenticate, self.parse, self.dispatch, self.serialize)
        # Recent decisions by request id, for `mamori explain` (bounded).
        self.decisions: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def handle(self, request: HttpRequest) -> HttpResponse:
        ex = Exchange(request, str(uuid.uuid4()), time.time())
        try:
            for step in self.steps:
                result = step(ex)
                if inspect.isawaitable(result):
                    await result
        except AwsError as exc:
            ex.error = exc
        except Exception:  # noqa: BLE001 - the one place unexpected failures are caught
            log.exception("internal failure in request %s", ex.request_id)
            ex.error = InternalFailure("We encountered an internal error. Please try again.")
        if ex.error is not None:
            self.serialize_error(ex)
        try:
            self.record(ex)
        except Exception:  # noqa: BLE001 - recording must never change the answer
            log.exception("could not record request %s", ex.request_id)
        assert ex.response is not None
        return ex.response

    # -- steps -----------------------------------------------------------------------

    def route(self, ex: Exchange) -> None:
        from mamori.gateway.authenticate import signing_info

        info = signing_info(ex.request)
        ex.extra["signing"] = info
        ex.service = self.router.service_for(ex.request, info.service if info else None)
        ex.model = self.router.model(ex.service)
        probe = ex.request  # a gzip body (see gunzip) is looked into, not replaced, before SigV4
        if ex.service != "s3" and "gzip" in ex.request.headers.get("content-encoding", "").lower():
            probe = ex.request.with_body(gunzip(ex.request.body))
        ex.protocol = detect_protocol(ex.model, probe)
        ex.model = protocol_model(ex.service, ex.protocol)  # SQS's query wire has a model of its own
        ex.codec = codec_for(ex.protocol)
        ex.operation = ex.codec.find_operation(ex.model, probe)
        if ex.operation is None:
            raise unknown_operation(ex)

    def authenticate(self, ex: Exchange) -> None:
        from mamori.gateway.authenticate import auth_error, authenticate

        assert ex.model is not None and ex.operation is not None
        result = authenticate(
            ex.request,
            self.runtime.lookup_credential,
            now=time.time(),
            clock_now=self.runtime.clock.time(),
            s3=ex.service == "s3",
            protocol=ex.protocol or "",
            max_skew=self.runtime.config.max_skew_seconds,
        )
        if result.body is not ex.request.body:
            ex.request = ex.request.with_body(result.body)
        if result.principal is None:
            if (ex.service not in ANONYMOUS_SERVICES and not operation_allows_anonymous(ex.operation)
                    and (ex.service, ex.operation.name) not in ANONYMOUS_OPERATIONS):
                raise auth_error("missing", s3=False, protocol=ex.protocol or "")
            ex.principal = Principal(
                type="Anonymous", account_id="anonymous", arn="*", principal_id="anonymous"
            )
            ex.account_id = self.runtime.config.account_id
        else:
            ex.principal = result.principal
            ex.access_key_id = result.credential.access_key_id if result.credential else None
            ex.account_id = result.principal.account_id
        ex.region = result.region or self.runtime.config.region
        if ex.service in GLOBAL_SERVICES:
            ex.region = GLOBAL_SERVICES[ex.service]

    def parse(self, ex: Exchange) -> None:
        assert ex.codec is not None and ex.operation is not None
        if ex.protocol in RPC_PROTOCOLS and "gzip" in ex.request.headers.get("content-encoding", "").lower():
            ex.request = ex.request.with_body(gunzip(ex.request.body))
        ex.params = ex.codec.parse_request(ex.operation, ex.request)

    async def dispatch(self, ex: Exchange) -> None:
        assert ex.service and ex.operation and ex.principal and ex.account_id and ex.region
        provider = self.runtime.providers[ex.service]
        handler = provider.handler(ex.operation.name)
        ctx = ex.ctx = RequestContext(
            runtime=self.runtime,
            request_id=ex.request_id,
            account_id=ex.account_id,
            region=ex.region,
            principal=ex.principal,
            service=ex.service,
            operation=ex.operation.name,
            source_ip=ex.request.source_ip,
            user_agent=ex.request.headers.get("user-agent", ""),
            secure_transport=ex.request.scheme == "https",
        )
        if handler is None:
            raise NotImplementedOperation(
                f"The operation {ex.operation.name} of {ex.model.metadata.get('serviceId', ex.service)} "
                "is not implemented by mamori yet."
            )
        try:
            output = handler(ctx, ex.params or {})
            if inspect.isawaitable(output):
                output = await output
        except AccessDenied as exc:
            raise access_denied(ex, exc) from None
        finally:
            self._remember_decisions(ex)
        if not ctx.decisions:
            # Fail closed: an operation must ask for a decision before it acts.
            log.error("operation %s.%s returned without an authorization decision", ex.service, ex.operation.name)
            if self.runtime.config.strict:
                raise InternalFailure(
                    f"{ex.service}:{ex.operation.name} returned without an authorization decision"
                )
        ex.output = output or {}

    def serialize(self, ex: Exchange) -> None:
        assert ex.codec is not None and ex.operation is not None
        ex.response = ex.codec.serialize_response(ex.operation, ex.output or {}, ex.request_id)

    def serialize_error(self, ex: Exchange) -> None:
        assert ex.error is not None
        codec, model = ex.codec, ex.model
        if codec is None or model is None:
            codec, model = fallback_codec(ex.request)
        try:
            ex.response = codec.serialize_error(model, ex.operation, ex.error, ex.request_id)
        except Exception:  # noqa: BLE001
            log.exception("could not serialize error for request %s", ex.request_id)
            ex.response = HttpResponse(500, [("Content-Type", "text/plain")], b"InternalFailure")

    def record(self, ex: Exchange) -> None:
        """CloudTrail: one record per call that reached an operation. Calls that failed
        authentication are not recorded: no identity, as in AWS."""
        if ex.operation is None or ex.principal is None:
            return
        from mamori.gateway.record import build_record

        ctx = ex.ctx or RequestContext(
            runtime=self.runtime,
            request_id=ex.request_id,
            account_id=ex.account_id or self.runtime.config.account_id,
            region=ex.region or self.runtime.config.region,
            principal=ex.principal,
            service=ex.service or "",
            operation=ex.operation.name,
            source_ip=ex.request.source_ip,
            user_agent=ex.request.headers.get("user-agent", ""),
        )
        record = build_record(
            ctx,
            ex.operation,
            ex.params,
            ex.output if ex.error is None else None,
            ex.error,
            user_agent=ctx.user_agent,
            event_time=self.runtime.clock.time(),
            request_size=len(ex.request.body or b""),
        )
        self.runtime.telemetry.record_event(record)
        # Every management event goes to EventBridge, failed calls too (rules match
        # errorCode "AccessDenied"); the router keeps Describe/Get/List calls for rules
        # in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
        if record.get("managementEvent", True):
            detail = {k: v for k, v in record.items() if not k.startswith("_")}
            self.runtime.bus.publish(
                {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "AWS API Call via CloudTrail",
                    "source": "aws." + (record.get("eventSource", "").split(".")[0] or ex.service or ""),
                    "account": ctx.account_id,
                    "time": record.get("eventTime"),
                    "region": ctx.region,
                    "resources": [],
                    "detail": detail,
                }
            )

    # -- helpers ---------------------------------------------------------------------

    def _remember_decisions(self, ex: Exchange) -> None:
        ctx = ex.ctx
        if ctx is None:
            return
        self.decisions[ex.request_id] = {
            "requestId": ex.request_id,
            "service": ex.service,
            "operation": ex.operation.name if ex.operation else None,
            "principal": ctx.principal.arn,
            "decisions": [d.to_json() for d in ctx.decisions],
        }
        while len(self.decisions) > RECENT_DECISIONS:
            self.decisions.popitem(last=False)


def operation_allows_anonymous(operation: OperationModel) -> bool:
    """Operations the model marks as unauthenticated (STS AssumeRoleWithWebIdentity,
    AssumeRoleWithSAML, Cognito's public calls)."""
    if operation.metadata.get("authtype") == "none":
        return True
    auth = operation._operation_model.get("auth") or []
    return "smithy.api#noAuth" in auth or operation._operation_model.get("authtype") == "none"


def unknown_operation(ex: Exchange) -> AwsError:
    protocol = ex.protocol or ""
    if protocol in ("query", "ec2"):
        action = ex.request.form.get("Action", "")
        if not action:
            return AwsError("Could not find operation to invoke.", code="MissingAction")
        return AwsError(f"The action {action} is not valid for this web service.", code="InvalidAction")
    if protocol in ("json", "smithy-rpc-v2-cbor"):
        return AwsError("", code="UnknownOperationException")
    return AwsError(
        f"No operation of {ex.service} matches {ex.request.method} {ex.request.raw_path}",
        code="UnknownOperationException",
        status=404,
    )


def access_denied(ex: Exchange, exc: AccessDenied) -> AwsError:
    """The service's own access-denied error: JSON services `AccessDeniedException`
    (HTTP 400), query services and S3 `AccessDenied` (403), EC2 `UnauthorizedOperation`
    (403). Services that left the query protocol (`awsQueryCompatible`: SQS, CloudWatch)
    keep its answer in JSON and CBOR too, so SDKs see the same code either way."""
    protocol = ex.protocol or ""
    compatible = ex.model is not None and "awsQueryCompatible" in ex.model.metadata
    if protocol in ("json", "smithy-rpc-v2-cbor") and not compatible:
        code, status = "AccessDeniedException", 400
    elif protocol == "rest-json":
        code, status = "AccessDeniedException", 403
    elif protocol == "ec2":
        code, status = "UnauthorizedOperation", 403
    else:
        code, status = "AccessDenied", 403
    error = AccessDenied(exc.message, decision=exc.decision, code=code, status=status)
    return error


_FALLBACK_MODELS: dict[str, ServiceModel] = {}


def fallback_codec(request: HttpRequest) -> tuple[ProtocolCodec, ServiceModel]:
    """A codec and minimal model to answer an error before a service was found."""
    if "x-amz-target" in request.headers:
        protocol = "json"
    elif request.headers.get("smithy-protocol") == "rpc-v2-cbor":
        protocol = "smithy-rpc-v2-cbor"
    elif "Action" in request.form:
        protocol = "query"
    else:
        protocol = "rest-xml"
    model = _FALLBACK_MODELS.get(protocol)
    if model is None:
        model = _FALLBACK_MODELS[protocol] = ServiceModel(
            {
                "metadata": {
                    "protocol": protocol,
                    "protocols": [protocol],
                    "jsonVersion": "1.1",
                    "apiVersion": "2006-03-01",
                    "endpointPrefix": "s3" if protocol == "rest-xml" else "mamori",
                    "serviceId": "mamori",
                    "signatureVersion": "v4",
                },
                "operations": {},
                "shapes": {},
            },
            service_name="s3" if protocol == "rest-xml" else "mamori",
        )
    return codec_for(protocol), model


# botocore compresses the bodies of operations with the `requestcompression` trait
# (CloudWatch PutMetricData) past 10 KiB: `Content-Encoding: gzip`. RPC protocols only
# (in S3 the header describes the object). Signed over the compressed bytes, so this
# runs after authentication. https://smithy.io/2.0/spec/behavior-traits.html#requestcompression-trait
RPC_PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor", "ec2")
MAX_INFLATED = 16 * 1024 * 1024


def gunzip(body: bytes) -> bytes:
    import zlib

    from mamori.errors import SerializationError

    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(body, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise SerializationError("The decompressed request body is too large")
        return out
    except zlib.error:
        raise SerializationError("The request body is not valid gzip data") from None
