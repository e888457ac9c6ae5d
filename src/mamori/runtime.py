"""The runtime: everything one mamori process holds, opened and closed together.

config, clock, bus, scheduler, the resource store and the telemetry store, the service
providers and the authorizer. There is exactly one Runtime per server; nothing in
mamori reaches state any other way (no module-level globals).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from mamori.bus import Bus
from mamori.clock import Clock
from mamori.config import Config
from mamori.gateway.context import Decision, RequestContext, default_authorizer
from mamori.scheduler import Scheduler
from mamori.services.base import Provider, discover
from mamori.store.records import Credential

log = logging.getLogger("mamori")

Authorizer = Callable[[RequestContext, str, str, dict[str, Any]], Decision]


class Runtime:
    def __init__(self, config: Config, extra_providers: dict[str, type[Provider]] | None = None) -> None:
        from mamori.store.resources import ResourceStore
        from mamori.store.secrets import SecretBox
        from mamori.store.telemetry import TelemetryStore

        self.config = config
        self.clock = Clock()
        self.bus = Bus()
        self.scheduler = Scheduler(self.clock)
        data_dir = config.resolved_data_dir()
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.secrets = SecretBox.open(data_dir)
        self.store = ResourceStore.open(data_dir, self.secrets, now=self.clock.time)
        self.telemetry = TelemetryStore.open(data_dir)
        saved_clock = self.store.get_meta("clock")
        if saved_clock:
            self.clock.restore(saved_clock)
        self.clock.on_change(self._save_clock)
        self.authorizer: Authorizer = default_authorizer
        # Role sessions services hold (gateway/internal.py assume_role_as_service).
        self.service_sessions: dict[tuple[str, str, str], tuple[Any, float]] = {}
        classes = {**discover(), **(extra_providers or {})}
        self.providers: dict[str, Provider] = {name: cls(self) for name, cls in sorted(classes.items())}
        for provider in self.providers.values():
            provider.setup()

    # -- identity ----------------------------------------------------------------------

    def root_credential(self) -> Credential:
        from mamori.gateway.context import Principal

        cached = getattr(self, "_root_credential", None)
        if cached is not None:
            return cached
        cfg = self.config
        self._root_credential = Credential(
            access_key_id=cfg.root_access_key_id,
            secret_access_key=cfg.root_secret_access_key,
            account_id=cfg.account_id,
            principal=Principal.root(cfg.account_id, cfg.root_access_key_id).to_json(),
        )
        return self._root_credential

    def lookup_credential(self, access_key_id: str) -> Credential | None:
        """The credential an access key id names: the configured root first, then the store."""
        if access_key_id == self.config.root_access_key_id:
            return self.root_credential()
        return self.store.get_credential(access_key_id)

    # -- calls between services --------------------------------------------------------

    def invoke(self, service: str, operation: str, params: dict[str, Any], **how: Any) -> dict[str, Any]:
        """One service calling another through its public API: see gateway/internal.py."""
        from mamori.gateway.internal import invoke

        return invoke(self, service, operation, params, **how)

    # -- lifecycle -------------------------------------------------------------------

    def _save_clock(self) -> None:
        self.store.set_meta("clock", self.clock.snapshot())

    def reset(self) -> None:
        """Forget all state (resources, credentials, telemetry) and reset the clock."""
        self.store.reset()
        self.telemetry.reset()
        self.clock.reset()
        self.service_sessions.clear()
        for provider in self.providers.values():
            reset = getattr(provider, "reset", None)
            if callable(reset):
                reset()

    def close(self) -> None:
        try:
            self.telemetry.close()
        finally:
            self.store.close()
