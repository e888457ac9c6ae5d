"""The one source of time.

Everything that depends on time (alarm periods, schedules, key deletion windows,
session expiry, retention) reads `Clock.now()`. Tests and users freeze, advance and
resume it (`mamori clock advance 1h`, the admin API, the pytest fixture). SigV4 request
time checks do not use it: they compare with the real wall clock, as AWS does.

The clock's state is an offset from real time plus an optional frozen instant, so an
advanced clock keeps ticking at real speed until frozen.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Callable

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """'90', '1h', '1h30m', '2d', '45s' -> seconds. Raises ValueError on anything else."""
    text = text.strip()
    if not text:
        raise ValueError("empty duration")
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"invalid duration {text!r}")
    return total


class Clock:
    def __init__(self, *, offset: float = 0.0, frozen_at: float | None = None) -> None:
        self._offset = offset
        self._frozen_at = frozen_at
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    # -- reading ---------------------------------------------------------------------

    def time(self) -> float:
        """Epoch seconds on the mamori clock."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def state(self) -> dict:
        now = self.time()
        return {
            "now": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "epoch": now,
            "frozen": self.frozen,
            "offsetSeconds": now - time.time(),
        }

    # -- steering --------------------------------------------------------------------

    def freeze(self, at: datetime | float | None = None) -> None:
        with self._lock:
            if at is None:
                self._frozen_at = self.time()
            else:
                self._frozen_at = at.timestamp() if isinstance(at, datetime) else float(at)
        self._changed()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        self._changed()

    def resume(self) -> None:
        """Unfreeze; time goes on from where it stood (the offset keeps the jump)."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
        self._changed()

    def reset(self) -> None:
        with self._lock:
            self._offset, self._frozen_at = 0.0, None
        self._changed()

    def restore(self, state: dict) -> None:
        """Load what `snapshot()` saved (persistent mode keeps the clock across restarts)."""
        with self._lock:
            self._offset = float(state.get("offset", 0.0))
            frozen = state.get("frozen_at")
            self._frozen_at = None if frozen is None else float(frozen)

    def snapshot(self) -> dict:
        return {"offset": self._offset, "frozen_at": self._frozen_at}

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called after every freeze/advance/resume (the scheduler catches up at once)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()


def iso(ts: float | datetime) -> str:
    """AWS's timestamp text: 2026-11-28T19:28:54Z."""
    if isinstance(ts, datetime):
        ts = ts.timestamp()
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


__all__ = ["Clock", "parse_duration", "iso", "as_datetime", "timedelta"]
