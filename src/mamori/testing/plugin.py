"""pytest plugin (entry point `pytest11: mamori`): a real mamori server for your tests.

    def test_identity(mamori):
        sts = mamori.client("sts")
        assert sts.get_caller_identity()["Account"] == mamori.account_id

    def test_expiry(mamori, mamori_clock):
        mamori_clock.advance("1h")        # the server's clock, through its admin API

`mamori` (session scope) runs an ephemeral in-process server on a free port of
127.0.0.1 in a background thread, in strict mode (an operation that answers without an
authorization decision is an error). Set `MAMORI_TEST_ENDPOINT` to use a server you
started yourself instead. `mamori_clock` (function scope) steers the server's clock and
puts it back to real time after the test.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from mamori.config import Config


class MamoriServer:
    """Endpoint, credentials and helpers of a running mamori server."""

    def __init__(self, endpoint_url: str, config: Config) -> None:
        self.endpoint_url = endpoint_url
        self.config = config
        self.access_key_id = config.root_access_key_id
        self.secret_access_key = config.root_secret_access_key
        self.region = config.region
        self.account_id = config.account_id
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- clients ---------------------------------------------------------------------

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client for this server, root credentials unless others are given."""
        import boto3
        from botocore.config import Config as BotoConfig

        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault("region_name", self.region)
        kwargs.setdefault("aws_access_key_id", self.access_key_id)
        kwargs.setdefault("aws_secret_access_key", self.secret_access_key)
        kwargs.setdefault("config", BotoConfig(retries={"max_attempts": 1}))
        return boto3.client(service_name, **kwargs)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess (the AWS CLI) talking to this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    # -- admin API -------------------------------------------------------------------

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        url = f"{self.endpoint_url}/_mamori/{path.lstrip('/')}"
        data = json.dumps(body).encode() if body is not None else None
        req = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(self.access_key_id, self.secret_access_key), "mamori", self.region).add_auth(req)
        resp = requests.request(method, url, data=data, headers=dict(req.prepare().headers), timeout=30)
        if resp.status_code >= 400:
            raise RuntimeError(f"admin {method} {path}: {resp.status_code} {resp.text}")
        return resp.json()

    def create_principal(self, user_name: str, account_id: str | None = None) -> dict[str, str]:
        """Test hook until IAM lands: an IAM-user principal with an access key."""
        body = {"userName": user_name}
        if account_id:
            body["accountId"] = account_id
        return self.admin("POST", "principals", body)

    def explain(self, request_id: str) -> dict[str, Any]:
        return self.admin("GET", f"explain/{request_id}")

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def start(cls, config: Config | None = None, extra_providers: dict[str, Any] | None = None) -> "MamoriServer":
        import uvicorn

        from mamori.app import MamoriApp

        config = config or Config(ephemeral=True, strict=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config.port = port
        uv_config = uvicorn.Config(
            MamoriApp(config, extra_providers=extra_providers), host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
        )
        server = uvicorn.Server(uv_config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mamori-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("mamori test server did not start")
            time.sleep(0.01)
        self = cls(f"http://127.0.0.1:{port}", config)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)


class ServerProcess(MamoriServer):
    """`mamori serve` as a real process on a data directory, for tests of what survives
    `kill -9` and a restart. The clients and the admin API are `MamoriServer`'s.

        server = ServerProcess.start(tmp_path)
        ...
        server.kill()                       # SIGKILL: no shutdown, no flush
        server = ServerProcess.start(tmp_path)
    """

    def __init__(self, endpoint_url: str, config: Config, process: Any) -> None:
        super().__init__(endpoint_url, config)
        self.process = process

    @classmethod
    def start(cls, data_dir: Any, timeout: float = 30.0) -> "ServerProcess":  # type: ignore[override]
        import subprocess
        import sys

        import requests

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "mamori", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{endpoint}/_mamori/health", timeout=1).ok:
                    return cls(endpoint, Config(port=port), process)
            except requests.ConnectionError:
                time.sleep(0.05)
        process.kill()
        raise RuntimeError(process.stderr.read().decode())

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed or closed."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class ClockControl:
    def __init__(self, server: MamoriServer) -> None:
        self.server = server

    def now(self) -> float:
        return self.server.admin("GET", "clock")["epoch"]

    def freeze(self, at: float | str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"action": "freeze"}
        if at is not None:
            body["at"] = at
        return self.server.admin("POST", "clock", body)

    def advance(self, duration: str | float) -> dict[str, Any]:
        return self.server.admin("POST", "clock", {"action": "advance", "duration": duration})

    def resume(self) -> dict[str, Any]:
        return self.server.admin("POST", "clock", {"action": "resume"})

    def reset(self) -> dict[str, Any]:
        return self.server.admin("POST", "clock", {"action": "reset"})


@pytest.fixture(scope="session")
def mamori() -> Iterator[MamoriServer]:
    external = os.environ.get("MAMORI_TEST_ENDPOINT")
    if external:
        yield MamoriServer(external.rstrip("/"), Config())
        return
    server = MamoriServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mamori_clock(mamori: MamoriServer) -> Iterator[ClockControl]:
    control = ClockControl(mamori)
    try:
        yield control
    finally:
        control.reset()
