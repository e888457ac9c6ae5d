"""The clock and the scheduler as engines (no server needed)."""

from __future__ import annotations

import pytest

from mamori.clock import Clock, parse_duration
from mamori.scheduler import Scheduler

DURATIONS = [("90", 90), ("45s", 45), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("1.5h", 5400)]


@pytest.mark.parametrize("text,seconds", DURATIONS)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "1h 2", "-5m", "abc"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_scheduler_catches_up_every_missed_period_in_order():
    clock = Clock(frozen_at=1_000_000.0)
    scheduler = Scheduler(clock)
    seen: list[float] = []
    scheduler.every(60, seen.append, "minutely")
    clock.advance(59)
    assert seen == []
    clock.advance(60 * 5 + 1)  # advancing runs due work at once
    assert seen == [1_000_060.0 + 60 * i for i in range(6)]


def test_one_shot_job_and_cancel():
    clock = Clock(frozen_at=0.0)
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.at(100, lambda due: ran.append("a"), "a")
    cancelled = scheduler.at(100, lambda due: ran.append("b"), "b")
    scheduler.cancel(cancelled)
    clock.advance(100)
    clock.advance(1000)
    assert ran == ["a"]


def test_failing_job_does_not_stop_others():
    clock = Clock(frozen_at=0.0)
    scheduler = Scheduler(clock)
    ran: list[float] = []

    def broken(due):
        raise RuntimeError("boom")

    scheduler.every(10, broken, "broken")
    scheduler.every(10, ran.append, "ok")
    clock.advance(30)
    assert ran == [10.0, 20.0, 30.0]


def test_periodic_jobs_follow_the_clock_back():
    """After the clock is set back (a test's reset), an hourly job runs within the next
    hour again instead of waiting for the far-future time it was due at."""
    clock = Clock(frozen_at=1_000_000.0)
    scheduler = Scheduler(clock)
    seen: list[float] = []
    scheduler.every(3600, seen.append, "hourly")
    once: list[float] = []
    scheduler.at(1_000_000.0 + 5 * 86400, once.append, "later")
    clock.advance(3 * 86400)
    ran = len(seen)
    assert ran == 72
    clock.freeze(1_000_000.0)  # back three days
    clock.advance(3600)
    assert len(seen) == ran + 1 and seen[-1] == 1_000_000.0 + 3600
    assert once == []  # one-shot work keeps its time
    clock.advance(5 * 86400)
    assert once == [1_000_000.0 + 5 * 86400]
