"""ASGI application: lifespan (open the runtime, start the scheduler, close the stores)
and the HTTP entry point that hands each request to the admin API or the pipeline.

Kept as a bare ASGI callable (no web framework): the pipeline is the framework, and
every microsecond here is paid by every AWS call.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from mamori.config import Config
from mamori.gateway.http import HttpRequest, HttpResponse

log = logging.getLogger("mamori")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ADMIN_PREFIX = "/_mamori/"


class MamoriApp:
    def __init__(self, config: Config, runtime: Any = None, extra_providers: dict[str, Any] | None = None) -> None:
        self.config = config
        self.extra_providers = extra_providers
        self.runtime = runtime
        self.pipeline = None
        self.admin = None
        if runtime is not None:
            self._wire(runtime)

    def _wire(self, runtime: Any) -> None:
        from mamori.gateway.admin import Admin
        from mamori.gateway.pipeline import Pipeline

        self.runtime = runtime
        self.pipeline = Pipeline(runtime)
        self.admin = Admin(runtime, self.pipeline)

    def open(self) -> None:
        if self.runtime is None:
            from mamori.runtime import Runtime

            self._wire(Runtime(self.config, self.extra_providers))

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.open()
                    self.runtime.scheduler.start()
                except Exception as exc:  # noqa: BLE001
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.runtime.scheduler.stop()
                    self.close()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if "?" in path:  # some servers include the query in raw_path
            path = path.split("?", 1)[0]
        client = scope.get("client")
        request = HttpRequest(
            method=scope["method"],
            raw_path=path,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            header_list=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]],
            body=b"".join(chunks),
            source_ip=client[0] if client else "127.0.0.1",
            scheme=scope.get("scheme", "http"),
        )
        if self.pipeline is None:
            response = HttpResponse(503, [("Content-Type", "text/plain")], b"mamori is starting")
        elif path.startswith(ADMIN_PREFIX):
            response = await self.admin.handle(request)
        else:
            response = await self.pipeline.handle(request)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        body = response.body
        if not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if request.method == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})
