"""Periodic work driven by the clock.

Jobs run when the mamori clock passes their due time: alarms evaluating each period,
scheduled rules, key deletion windows, retention. A background task ticks once a second
of real time; when the clock is advanced (`mamori clock advance 1h`) the scheduler
catches up at once, running each job for every period it missed (a job sees the due
time it runs for, so an alarm evaluates each missed minute in order).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from mamori.clock import Clock

log = logging.getLogger("mamori.scheduler")

# A job gets the clock time it is due at (epoch seconds).
Job = Callable[[float], None]


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    name: str = field(compare=False)
    every: float | None = field(compare=False)
    job: Job = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    # Catching up after a long advance is bounded so a 10-year jump can't hang the
    # server: past this many runs of one job, it skips to the present.
    MAX_CATCH_UP = 100_000

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._task: asyncio.Task | None = None
        self._last = clock.time()
        clock.on_change(self._clock_changed)

    def every(self, seconds: float, job: Job, name: str, *, start: float | None = None) -> _Entry:
        """Run `job` every `seconds` of clock time, first at `start` (default: one period from now)."""
        if seconds <= 0:
            raise ValueError("period must be positive")
        first = start if start is not None else self.clock.time() + seconds
        return self._push(_Entry(first, next(self._seq), name, seconds, job))

    def at(self, when: float, job: Job, name: str) -> _Entry:
        """Run `job` once when the clock reaches `when`."""
        return self._push(_Entry(when, next(self._seq), name, None, job))

    def cancel(self, entry: _Entry) -> None:
        entry.cancelled = True

    def _push(self, entry: _Entry) -> _Entry:
        with self._lock:
            heapq.heappush(self._heap, entry)
        return entry

    def _clock_changed(self) -> None:
        now = self.clock.time()
        if now < self._last:
            self._rewind(now)
        self._last = now
        self.run_due()

    def _rewind(self, now: float) -> None:
        """The clock went back (a test's clock reset, `mamori clock reset`): a periodic
        job due more than one period ahead would sleep through the time that follows, so
        it is pulled back by whole periods to within one period from now. One-shot jobs keep their time."""
        with self._lock:
            for entry in self._heap:
                if entry.every is not None and entry.due > now + entry.every:
                    # whole periods back, so a job aligned to boundaries stays aligned
                    periods = math.ceil((entry.due - now - entry.every) / entry.every)
                    entry.due -= periods * entry.every
            heapq.heapify(self._heap)

    def run_due(self) -> int:
        """Run every job that is due on the clock now; returns how many runs happened."""
        ran = 0
        now = self.clock.time()
        with self._lock:
            runs_of: dict[int, int] = {}
            while self._heap and self._heap[0].due <= now:
                entry = heapq.heappop(self._heap)
                if entry.cancelled:
                    continue
                try:
                    entry.job(entry.due)
                except Exception:  # noqa: BLE001 - one job's bug must not stop the others
                    log.exception("scheduled job %s failed", entry.name)
                ran += 1
                if entry.every is not None:
                    count = runs_of[entry.seq] = runs_of.get(entry.seq, 0) + 1
                    entry.due += entry.every
                    if count >= self.MAX_CATCH_UP and entry.due <= now:
                        skipped = (now - entry.due) // entry.every + 1
                        entry.due += skipped * entry.every
                    heapq.heappush(self._heap, entry)
        return ran

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.run_due()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()
