"""Typed AWS errors.

Providers, the protocol layer and the gateway raise `AwsError` (or a subclass) where a
problem is found. The serializer of the request's protocol turns it into that
protocol's error shape (JSON `__type`, query `ErrorResponse`, S3 `Error`, CBOR body,
EC2 `Response/Errors`). Anything that is not an `AwsError` becomes `InternalFailure`,
logged with the request id and never shown as a traceback.

`code` is the error code exactly as it goes on the wire (for query services the model's
`awsQueryError.code` when it has one, e.g. IAM's `NoSuchEntity`).
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error AWS would answer. `fields` are extra members of the modeled error shape
    (e.g. S3's `BucketName`), serialized next to code and message."""

    code: str = "InternalFailure"
    status: int = 400
    sender_fault: bool = True

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        sender_fault: bool | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if sender_fault is not None:
            self.sender_fault = sender_fault
        self.fields: dict[str, Any] = dict(fields or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {self.status}, {self.message!r})"


def error(code: str, message: str = "", status: int = 400, **fields: Any) -> AwsError:
    """Shorthand for a one-off modeled error: `raise error("TrailNotFoundException", ...)`."""
    return AwsError(message, code=code, status=status, fields=fields)


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class ServiceUnavailable(AwsError):
    code = "ServiceUnavailable"
    status = 503
    sender_fault = False


class NotImplementedOperation(AwsError):
    """An operation of a known service that mamori does not implement yet."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


class UnknownService(AwsError):
    code = "UnknownService"
    status = 400


class UnknownOperation(AwsError):
    """The service is known but the request names no operation of it.

    AWS answers JSON services with `UnknownOperationException` and query services with
    `InvalidAction`; the gateway picks the code by protocol."""

    code = "UnknownOperationException"
    status = 400


class ValidationError(AwsError):
    """Input that fails the model's constraints. The protocol layer picks the code AWS
    uses for the service (`ValidationException` for JSON services, `ValidationError` for
    query services, `InvalidParameterValue` for EC2...)."""

    code = "ValidationException"
    status = 400


class SerializationError(AwsError):
    """A body that can't be parsed for the protocol (bad JSON, CBOR or XML)."""

    code = "SerializationException"
    status = 400


class AccessDenied(AwsError):
    """A denied authorization decision. The gateway renders the code per service
    (`AccessDeniedException` for JSON services, `AccessDenied` for query and S3,
    `UnauthorizedOperation` for EC2)."""

    code = "AccessDeniedException"
    status = 400

    def __init__(self, message: str, *, decision: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.decision = decision


# --- authentication (SigV4); the authenticator maps these to S3's codes for S3 ---


class AuthError(AwsError):
    status = 403


class MissingAuthenticationToken(AuthError):
    code = "MissingAuthenticationTokenException"


class IncompleteSignature(AuthError):
    code = "IncompleteSignatureException"


class InvalidClientTokenId(AuthError):
    code = "InvalidClientTokenId"


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"


class ExpiredToken(AuthError):
    code = "ExpiredTokenException"


class RequestExpired(AuthError):
    """Request time too far from the server's real time (SigV4 allows 15 minutes)."""

    code = "InvalidSignatureException"
