"""Long polling: ReceiveMessage calls waiting for a queue, woken without blocking the server.

A waiting receive is a coroutine on the server's event loop holding an `asyncio.Event`
registered under its queue ARN. A send to that queue (from the loop or from a worker
thread: SNS and EventBridge deliveries) and any change of the mamori clock (a message
may have become visible, or the wait may be over) set the events through
`loop.call_soon_threadsafe`, so the waiter looks again. Nothing here is persistent: a
waiting request ends with its connection.
"""

from __future__ import annotations

import asyncio
import threading


class Waiters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_queue: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def register(self, queue_arn: str) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._by_queue.setdefault(queue_arn, set()).add(entry)
        return entry

    def unregister(self, queue_arn: str, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            waiting = self._by_queue.get(queue_arn)
            if waiting is not None:
                waiting.discard(entry)
                if not waiting:
                    del self._by_queue[queue_arn]

    def notify(self, queue_arn: str) -> None:
        if not self._by_queue:  # the common case: nobody waits (no lock, no work)
            return
        with self._lock:
            entries = list(self._by_queue.get(queue_arn, ()))
        self._wake(entries)

    def notify_all(self) -> None:
        with self._lock:
            entries = [e for waiting in self._by_queue.values() for e in waiting]
        self._wake(entries)

    @staticmethod
    def _wake(entries: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        for loop, event in entries:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed: the server is stopping
                pass
