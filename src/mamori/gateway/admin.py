"""The admin API under `/_mamori/` (no S3 bucket can be named `_mamori`).

    GET  /_mamori/health                 no auth: status, version, services
    GET  /_mamori/sns/<name>.pem         no auth: an SNS signing certificate (SigningCertURL)
    POST /_mamori/reset                  forget all state
    GET  /_mamori/clock                  the clock's state
    POST /_mamori/clock                  {"action": "freeze"|"advance"|"resume"|"reset",
                                          "duration": "1h"|seconds, "at": epoch|ISO}
    GET  /_mamori/state                  every resource as JSON (no secrets)
    GET  /_mamori/explain/<request-id>   the authorization decisions of a recent request
    POST /_mamori/principals             test hook until IAM lands: an IAM-user-like
                                          principal with an access key
                                          {"userName": "bob", "accountId": "..."}

Every route but health needs a SigV4 request signed with the root credentials of the
default account (any service name in the scope); anything else is 403.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mamori import __version__
from mamori.clock import parse_duration
from mamori.errors import AwsError
from mamori.gateway.context import Principal
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.services.iam.ids import new_access_key_id, new_secret_access_key, new_unique_id
from mamori.store.records import Credential

if TYPE_CHECKING:  # pragma: no cover
    from mamori.gateway.pipeline import Pipeline
    from mamori.runtime import Runtime


def _json(status: int, doc: Any) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(doc, default=str).encode())


class Admin:
    def __init__(self, runtime: "Runtime", pipeline: "Pipeline") -> None:
        self.runtime = runtime
        self.pipeline = pipeline

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path[len("/_mamori/"):].strip("/")
        try:
            if path == "health" and request.method == "GET":
                return _json(200, self.health())
            if path.startswith("sns/") and path.endswith(".pem") and request.method == "GET":
                # SNS's SigningCertURL: public, as AWS serves its signing certificates
                from mamori.services.sns.signing import certificate_pem

                pem = certificate_pem(self.runtime, path[len("sns/"):-len(".pem")])
                if pem is None:
                    return _json(404, {"error": "NotFound", "message": "no such signing certificate"})
                return HttpResponse(200, [("Content-Type", "application/x-x509-ca-cert")], pem)
            self._require_root(request)
            body = json.loads(request.body or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                return _json(400, {"error": "the body must be a JSON object"})
            if path == "reset" and request.method == "POST":
                self.runtime.reset()
                return _json(200, {"reset": True})
            if path == "clock":
                if request.method == "POST":
                    self.steer_clock(body)
                return _json(200, self.runtime.clock.state())
            if path == "state" and request.method == "GET":
                return _json(200, {"resources": self.runtime.store.export(), "clock": self.runtime.clock.state()})
            if path.startswith("explain/") and request.method == "GET":
                found = self.pipeline.decisions.get(path.split("/", 1)[1])
                if found is None:
                    return _json(404, {"error": "no decision recorded for that request id"})
                return _json(200, found)
            if path == "principals" and request.method == "POST":
                return _json(200, self.create_principal(body))
            if path == "mail" and request.method == "GET":
                from mamori.services.sns.mail import mailbox

                return _json(200, {"mail": mailbox(self.runtime)})
        except AwsError as exc:
            return _json(exc.status, {"error": exc.code, "message": exc.message})
        except (ValueError, KeyError, TypeError) as exc:
            return _json(400, {"error": "BadRequest", "message": str(exc)})
        return _json(404, {"error": "NotFound", "message": f"no admin route {request.method} /_mamori/{path}"})

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "services": sorted(self.runtime.providers)}

    def _require_root(self, request: HttpRequest) -> None:
        from mamori.gateway.authenticate import authenticate

        root = self.runtime.root_credential()
        try:
            result = authenticate(
                request,
                lambda key: root if key == root.access_key_id else None,
                now=time.time(),
                clock_now=self.runtime.clock.time(),
                s3=False,
                protocol="rest-json",
                max_skew=self.runtime.config.max_skew_seconds,
            )
        except AwsError as exc:
            raise AwsError(f"The admin API needs a request signed with the root credentials ({exc.code}).", code="AccessDenied", status=403) from None
        if result.principal is None or not result.principal.is_root:
            raise AwsError("The admin API needs a request signed with the root credentials.", code="AccessDenied", status=403)

    def steer_clock(self, body: dict[str, Any]) -> None:
        clock = self.runtime.clock
        action = body.get("action")
        if action == "freeze":
            at = body.get("at")
            if isinstance(at, str):
                at = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
            clock.freeze(at)
        elif action == "advance":
            duration = body.get("duration", body.get("seconds"))
            seconds = parse_duration(str(duration)) if duration is not None else None
            if seconds is None:
                raise ValueError("advance needs a duration, e.g. {\"duration\": \"1h\"}")
            clock.advance(seconds)
        elif action == "resume":
            clock.resume()
        elif action == "reset":
            clock.reset()
        else:
            raise ValueError("action must be one of freeze, advance, resume, reset")
        self.runtime.scheduler.run_due()

    def create_principal(self, body: dict[str, Any]) -> dict[str, Any]:
        account = str(body.get("accountId") or self.runtime.config.account_id)
        name = str(body["userName"])
        key_id = new_access_key_id()
        principal = Principal(
            type="IAMUser",
            account_id=account,
            arn=f"arn:aws:iam::{account}:user/{name}",
            principal_id=new_unique_id("AIDA"),
            user_name=name,
            access_key_id=key_id,
        )
        secret = new_secret_access_key()
        self.runtime.store.put_credential(
            Credential(
                access_key_id=key_id,
                secret_access_key=secret,
                account_id=account,
                principal=principal.to_json(),
                created_at=self.runtime.clock.time(),
            )
        )
        return {"AccessKeyId": key_id, "SecretAccessKey": secret, "Arn": principal.arn, "UserId": principal.principal_id}
