"""The internal event bus.

Services publish AWS events (EventBridge envelope: version, id, detail-type, source,
account, time, region, resources, detail); EventBridge, Config and the detectors
subscribe. Delivery is synchronous and in order on the publishing thread, so a handler
must be quick; slow work belongs to the scheduler. A failing subscriber is logged and
never breaks the publisher's request.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("mamori.bus")

Event = dict[str, Any]
Handler = Callable[[Event], None]


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[Callable[[Event], bool] | None, Handler]] = []

    def subscribe(self, handler: Handler, where: Callable[[Event], bool] | None = None) -> Callable[[], None]:
        """Register `handler` for every event (or those `where` accepts); returns an
        unsubscribe function."""
        entry = (where, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for where, handler in list(self._subscribers):
            try:
                if where is None or where(event):
                    handler(event)
            except Exception:  # noqa: BLE001 - a subscriber's bug must not fail the caller
                log.exception("bus subscriber %r failed on %s", handler, event.get("detail-type"))
